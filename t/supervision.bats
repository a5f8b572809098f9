#!/usr/bin/env bats
# Supervision: respawn after kill -9, back-off, SIGTERM, pool growth and shrink.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

smtp_greeting() { greets "$SMTP_PORT" "220 "; }

# smtp_burst N: opens N SMTP connections at once, then reads each greeting;
# prints how many were "220 ".
smtp_burst() {
	local i targets=()
	for ((i = 0; i < $1; i++)); do targets+=("127.0.0.1:$SMTP_PORT"); done
	python3 "$MAILCLIENT" greet --burst --quit --timeout 20 "${targets[@]}" >"$PT_DIR/burst" || return
	grep -c '^220 ' "$PT_DIR/burst"
}

@test "kill -9 of a worker: it is replaced and a new connection is served" {
	postern_start
	victim=$(postern_pids smtp | head -1)
	[ -n "$victim" ]
	kill -9 "$victim"
	wait_for sh -c "! kill -0 $victim 2>/dev/null"
	wait_for role_count_ge smtp 2
	! postern_pids smtp | grep -qx "$victim"
	smtp_greeting
	grep -q "killed by signal 9" "$PT_LOG"
}

@test "kill -9 of the store: it is restarted and mail flows again" {
	postern_start
	old=$(postern_pids store)
	kill -9 "$old"
	wait_for role_count_ge store 1
	wait_for sh -c "[ \"\$(pgrep -P $PT_PID -f 'posternd -X store')\" != '$old' ]"
	new=$(postern_pids store)
	[ -n "$new" ] && [ "$new" != "$old" ]
	# workers were recycled onto the new store: a delivery succeeds
	WAIT_SECS=15 wait_for swaks --server 127.0.0.1:$SMTP_PORT --from a@example.com \
		--to alice@example.org --silent 2
	[ "$(mbox_count alice)" -ge 1 ]
}

@test "SIGTERM: master and every child are gone within the deadline" {
	postern_start
	kids=$(pgrep -P "$PT_PID" | tr '\n' ' ')
	[ -n "$kids" ]
	start=$SECONDS
	kill -TERM "$PT_PID"
	WAIT_SECS=8 wait_for sh -c "! kill -0 $PT_PID 2>/dev/null"
	for k in $kids; do ! kill -0 "$k" 2>/dev/null; done
	[ $((SECONDS - start)) -le 8 ]
	PT_PID=
}

@test "SIGTERM: a session in progress gets 421 when the grace runs out" {
	postern_start
	python3 "$MAILCLIENT" sigterm-421 "$SMTP_PORT" "$PT_PID"
	WAIT_SECS=10 wait_for sh -c "! kill -0 $PT_PID 2>/dev/null"
	PT_PID=
}

@test "50 parallel connections are all greeted, and the pool shrinks back when idle" {
	postern_conf_set smtp-max 60
	postern_conf_set smtp-min-spare 2
	postern_start
	run smtp_burst 50
	[ "$status" -eq 0 ]
	[ "$output" = "50" ]
	n=$(postern_pids smtp | grep -c .)
	[ "$n" -ge 50 ]
	# idle extras are retired after a few seconds
	WAIT_SECS=20 wait_for role_count_le smtp 4
}

@test "pop3-min-spare 0: no POP3 worker waits; a client is served on demand" {
	postern_conf_set pop3-min-spare 0
	postern_start
	# postern_start's probe was served; its worker is recycled, none waits
	WAIT_SECS=20 wait_for role_count_le pop3 0
	run python3 "$MAILCLIENT" pop3-stat "$POP3_PORT" alice alicepw
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "0 0" ]
	WAIT_SECS=20 wait_for role_count_le pop3 0
}

@test "a burst grows the pool by the connections waiting in the listen queue" {
	PT_ARGS=-v
	postern_conf_set smtp-min-spare 1
	postern_conf_set smtp-max 40
	postern_start
	run smtp_burst 30
	[ "$status" -eq 0 ]
	[ "$output" = "30" ]
	grep -E "smtp pool: [0-9]+ connections waiting" "$PT_LOG"
}

@test "a worker that dies before serving is respawned with back-off" {
	postern_start
	# kill fresh idle workers repeatedly: the master must not spin
	for i in 1 2 3 4 5 6; do
		for p in $(postern_pids smtp); do kill -9 "$p" 2>/dev/null || true; done
		sleep 0.2
	done
	grep -q "died before serving; next start in" "$PT_LOG"
	# and it still recovers
	WAIT_SECS=20 wait_for role_count_ge smtp 1
	WAIT_SECS=20 wait_for smtp_greeting
}
