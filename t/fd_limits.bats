#!/usr/bin/env bats
# Descriptor limits: the master sizes RLIMIT_NOFILE from the pools at
# start (raising the soft limit up to the hard one) or refuses to start,
# naming both numbers; a small limit that fits works (no fixed floor such
# as 256); clients beyond the pool get 421 while deliveries go on; a store
# that runs out of descriptors anyway loses that one worker's channel
# (logged) and serves on.  Every wait is bounded.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

# start_limited SPEC: posternd in the foreground under "ulimit SPEC"
# (e.g. "-n 128" sets soft and hard, "-Sn 300" the soft one only).
start_limited() {
	# shellcheck disable=SC2086
	( ulimit $1 && exec "$POSTERND" -d -f "$PT_CONF" ) >>"$PT_LOG" 2>&1 &
	PT_PID=$!
	export PT_PID
}

# flood PORT N SECS: opens N connections and holds them; prints how many
# got 220 and 421 (and "silent" for no answer in SECS), then, on two of
# the held 220 sessions, delivers a message each and prints "delivered K".
flood() {
	timeout $(($3 + 90)) python3 "$MAILCLIENT" fd-flood "$1" "$2" "$3"
}

@test "ulimit -n 128 with pools of 20: a clear start-up error naming both numbers" {
	start_limited "-n 128"
	# it must exit by itself, at once, with the reason
	for _ in $(seq 50); do kill -0 "$PT_PID" 2>/dev/null || break; sleep 0.1; done
	run kill -0 "$PT_PID"
	[ "$status" -ne 0 ]
	wait "$PT_PID" || rc=$?
	[ "${rc:-0}" -ne 0 ]
	PT_PID=
	cat "$PT_LOG"
	grep -q "smtp-max 20 and pop3-max 20 need 264 descriptors, the hard limit (ulimit -Hn) is 128" "$PT_LOG"
	# posternd -n under the same limit says the same
	run bash -c "ulimit -n 128 && '$POSTERND' -n -f '$PT_CONF'"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"need 264 descriptors, the hard limit (ulimit -Hn) is 128"* ]]
}

@test "ulimit -n 200 with small pools: starts and delivers (no floor of 256)" {
	postern_conf_set smtp-max 5
	postern_conf_set pop3-max 5
	start_limited "-n 200"
	wait_for greets "$SMTP_PORT" "220 "
	wait_for greets "$POP3_PORT" "+OK"
	run python3 "$MAILCLIENT" chat "$SMTP_PORT" "HELO t" \
		"MAIL FROM:<a@example.net>" "RCPT TO:<alice@example.org>" "DATA" \
		$'Subject: t\r\n\r\nbody\r\n.' "QUIT"
	echo "$output"
	[[ "$output" == *"221 2.0.0"* ]]
	[ "$(mbox_count alice)" -eq 1 ]
	! grep -q "exited with status\|died" "$PT_LOG"
}

@test "ulimit -n 300 with smtp-max 300: refused at start, naming both numbers" {
	postern_conf_set smtp-max 300
	start_limited "-n 300"
	for _ in $(seq 50); do kill -0 "$PT_PID" 2>/dev/null || break; sleep 0.1; done
	run kill -0 "$PT_PID"
	[ "$status" -ne 0 ]
	PT_PID=
	grep -q "smtp-max 300 and pop3-max 20 need 1384 descriptors, the hard limit (ulimit -Hn) is 300" "$PT_LOG"
}

@test "soft limit 300, hard higher, smtp-max 300: raised at start; 330 idle clients get 220 or 421, never silence" {
	postern_conf_set smtp-max 300
	postern_conf_set smtp-min-spare 0
	start_limited "-Sn 300"
	WAIT_SECS=20 wait_for greets "$SMTP_PORT" "220 "
	store=$(postern_pids store)
	run flood "$SMTP_PORT" 330 60
	echo "$output"
	[ "$status" -eq 0 ]
	# 300 served and 30 refused; a master slowed down (under ASan) may
	# not answer MSG_ADMIT in time, and the worker then admits: no 421
	read -r _ served _ refused _ silent <<<"${lines[0]}"
	[ "$silent" -eq 0 ] && [ $((served + refused)) -eq 330 ] && [ "$served" -ge 300 ]
	[ "${lines[-1]}" = "delivered 2" ]
	[ "$(postern_pids store)" = "$store" ]
	! grep -q "exited with status\|died" "$PT_LOG"
	[ "$(mbox_count alice)" -eq 2 ]
}

@test "ulimit -n 300, pools that fit: 300 idle clients, the excess get 421, deliveries go on, no restart" {
	postern_conf_set smtp-max 40
	postern_conf_set pop3-max 8
	start_limited "-n 300"
	wait_for greets "$SMTP_PORT" "220 "
	store=$(postern_pids store)
	run flood "$SMTP_PORT" 300 30
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 40 421 260 silent 0" ]
	[ "${lines[-1]}" = "delivered 2" ]
	[ "$(postern_pids store)" = "$store" ]
	! grep -q "exited with status\|died" "$PT_LOG"
	# once they are gone, a new client is served
	WAIT_SECS=15 wait_for greets "$SMTP_PORT" "220 "
}

@test "the store out of descriptors: that channel is lost and logged, the store serves on" {
	ensure_users
	SD=$PT_DIR/store
	mkdir -p "$SD/spool"
	opts=()
	if is_root; then
		chown _postern-store "$SD/spool"
		opts=(-u _postern-store -w _postern)
	fi
	{
		echo start
		for i in $(seq 30); do echo "chan c$i smtp"; done
		echo "lookup c1 alice"
		echo "alive c30"
		for i in $(seq 2 12); do echo "close c$i"; done
		echo "chan d smtp"
		echo "lookup d alice"
	} >"$SD/script"
	# the store may hold 24 descriptors: about 16 channels
	run timeout 60 "$BUILD/t/ipcpeer" -N 24 "${opts[@]}" -l "$SD/log" \
		-A "$PT_DIR/aliases" "$SD/spool" "$PT_DIR/accounts" <"$SD/script"
	echo "$output"
	cat "$SD/log"
	[ "$status" -eq 0 ]
	[[ "$output" == *"lookup 0 alice"*"eof c30"*"chan d"*"lookup 0 alice"* ]]
	grep -q "store: a message from the master came without its descriptor" "$SD/log"
	! grep -q "control channel" "$SD/log"
}

@test "SIGHUP with pools that no longer fit the hard limit: the running configuration stays" {
	start_limited "-n 300"
	wait_for greets "$SMTP_PORT" "220 "
	postern_conf_set smtp-max 100
	kill -HUP "$PT_PID"
	wait_for grep -q "reload: descriptor limit too low: smtp-max 100 and pop3-max 20 need 584 descriptors, the hard limit (ulimit -Hn) is 300; .*keeping the running configuration" "$PT_LOG"
	greets "$SMTP_PORT" "220 "
	! grep -q "configuration .* in effect" "$PT_LOG"
}
