#!/usr/bin/env bats
# Connection limits (master/admit.c): sessions per client address,
# connections per address per minute, and the pool's total.  Beyond each,
# SMTP answers "421 4.7.0" and POP3 "-ERR [SYS/TEMP]" and closes, exactly
# at the N+1th session; a client from another address (127.0.0.2) is not
# affected by the per-address limits; a full pool starts its workers one
# at a time.  Every client here is on loopback,
# which limits-exempt spares by default: the tests of the limits set
# `limits-exempt none`, and the last tests check the exemption and the
# defaults themselves.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

RES="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"

@test "SMTP: the 4th concurrent session from one address gets 421 4.7.0; 127.0.0.2 is served" {
	postern_conf_set max-sessions-per-ip 3
	postern_conf_set limits-exempt none
	postern_start
	run timeout 60 $RES limit smtp "$SMTP_PORT" 3 "421 4.7.0" ok
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "refusing 127.0.0.1: too many sessions from this address" "$PT_LOG"
	! grep -q "refusing 127.0.0.2" "$PT_LOG"
}

@test "POP3: the 4th concurrent session from one address gets -ERR [SYS/TEMP]; 127.0.0.2 is served" {
	postern_conf_set max-sessions-per-ip 3
	postern_conf_set limits-exempt none
	postern_start
	run timeout 60 $RES limit pop3 "$POP3_PORT" 3 "-ERR [SYS/TEMP]" ok
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "pop3: refusing 127.0.0.1: too many sessions from this address" "$PT_LOG"
}

@test "SMTP: the 6th connection in a minute from one address gets 421 4.7.0; 127.0.0.2 is served" {
	postern_conf_set max-conn-per-ip-per-minute 5
	postern_conf_set limits-exempt none
	postern_start
	# from 127.0.0.3: postern_start's readiness probes (127.0.0.1) do not count
	run timeout 60 $RES rate smtp "$SMTP_PORT" 5 "421 4.7.0" 127.0.0.3
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "refusing 127.0.0.3: too many connections per minute" "$PT_LOG"
}

@test "POP3: the 6th connection in a minute from one address gets -ERR [SYS/TEMP]" {
	postern_conf_set max-conn-per-ip-per-minute 5
	postern_conf_set limits-exempt none
	postern_start
	run timeout 60 $RES rate pop3 "$POP3_PORT" 5 "-ERR [SYS/TEMP]" 127.0.0.3
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "SMTP total: with smtp-max 3 the 4th concurrent session gets 421 4.7.0, from any address" {
	postern_conf_set smtp-max 3
	postern_start
	run timeout 60 $RES limit smtp "$SMTP_PORT" 3 "421 4.7.0" refused
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "smtp: refusing 127.0.0.1: every worker is busy" "$PT_LOG"
	# max serving workers plus the one that refuses, never more
	[ "$(postern_pids smtp | grep -c .)" -le 4 ]
}

@test "POP3 total: with pop3-max 2 the 3rd concurrent session gets -ERR [SYS/TEMP]" {
	postern_conf_set pop3-max 2
	postern_start
	run timeout 60 $RES limit pop3 "$POP3_PORT" 2 "-ERR [SYS/TEMP]" refused
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "pop3: refusing 127.0.0.1: every worker is busy" "$PT_LOG"
}

@test "a burst of refusals: 10 lines with the address, then one line with the count of the rest" {
	postern_conf_set smtp-min-spare 1
	postern_conf_set smtp-max 1
	postern_start
	run timeout 60 $RES burst smtp "$SMTP_PORT" 1 30 "421 4.7.0"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'smtp: refusing 127.0.1.[0-9]*: every worker is busy' "$PT_LOG")" -eq 10 ]
	# the window's count comes when it ends (10 s), with no new refusal
	WAIT_SECS=20 wait_for grep -q "smtp: refused 20 more clients in 10 s: every worker is busy" "$PT_LOG"
	[ "$(grep -c 'smtp: refus' "$PT_LOG")" -eq 11 ]
}

# conn PORT SRC NSEQ [NCON]: NSEQ sessions one after another from SRC, then
# NCON (default NSEQ) at once; prints each greeting's first word, on "seq"
# then "con" lines; every socket operation times out after 10 s.
conn() {
	python3 "$MAILCLIENT" greetings "$@"
}

@test "limits-exempt default: loopback is spared both per-address limits" {
	postern_conf_set max-sessions-per-ip 3
	postern_conf_set max-conn-per-ip-per-minute 5
	postern_start
	run conn "$SMTP_PORT" 127.0.0.3 8
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^seq 220$' <<<"$output")" -eq 8 ]
	[ "$(grep -c '^con 220$' <<<"$output")" -eq 8 ]
	! grep -q "refusing" "$PT_LOG"
}

@test "limits-exempt 127.0.0.2/32 ::1: 127.0.0.2 is spared, 127.0.0.3 is limited" {
	postern_conf_set max-conn-per-ip-per-minute 5
	postern_conf_set limits-exempt 127.0.0.2/32 ::1
	postern_start
	run conn "$POP3_PORT" 127.0.0.2 7
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^seq +OK$' <<<"$output")" -eq 7 ]
	run timeout 60 $RES rate pop3 "$POP3_PORT" 5 "-ERR [SYS/TEMP]" 127.0.0.3
	echo "$output"
	[ "$status" -eq 0 ]
	! grep -q "refusing 127.0.0.2" "$PT_LOG"
}

@test "default limits: an office behind one NAT address (100 connections a minute, 15 at once) is served" {
	# the defaults, not the helper's 0s, and no exemption for loopback
	sed -i -e '/^max-sessions-per-ip /d' -e '/^max-conn-per-ip-per-minute /d' "$PT_CONF"
	postern_conf_set limits-exempt none
	postern_start
	run conn "$SMTP_PORT" 127.0.0.3 85 15
	echo "$output" | sort | uniq -c
	[ "$status" -eq 0 ]
	[ "$(grep -c '^seq 220$' <<<"$output")" -eq 85 ]
	[ "$(grep -c '^con 220$' <<<"$output")" -eq 15 ]
	! grep -q "refusing" "$PT_LOG"
}

# One line from a POP3 server, the client bound to 127.0.0.3.
pop3_first_line() {
	python3 "$MAILCLIENT" greet --quit "127.0.0.3@127.0.0.1:$POP3_PORT"
}

@test "a client turned away is no session: the POP3 worker that refused it is not recycled" {
	postern_conf_set max-conn-per-ip-per-minute 1
	postern_conf_set limits-exempt none
	postern_conf_set pop3-min-spare 1
	postern_conf_set pop3-max 1
	postern_start
	run pop3_first_line
	[[ "$output" == "+OK"* ]]
	# that session recycled its worker (pop3 sessions 1): the next one is up
	wait_for eval '[ "$(postern_pids pop3 | grep -c .)" -eq 1 ]'
	pid=$(postern_pids pop3)
	sleep 0.5
	[ "$(postern_pids pop3)" = "$pid" ]
	for _ in 1 2 3 4 5; do
		run pop3_first_line
		[[ "$output" == "-ERR [SYS/TEMP]"* ]]
	done
	# the pool may have started its overflow worker meanwhile; the one
	# that refused is still there (before, each refusal recycled it)
	kill -0 "$pid"
	! grep -q "pop3\[$pid\] exited" "$PT_LOG"
}

@test "a full pool starts its workers one at a time (4 ms apart), not all at once" {
	postern_conf_set pop3-min-spare 0
	postern_conf_set pop3-max 20
	postern_start
	# 20 sessions, one turned away, the 20 QUIT, 20 new ones together
	coproc BURST { $RES refill pop3 "$POP3_PORT" 20 "$PT_DIR/burst.done"; }
	read -r -t 60 -u "${BURST[0]}" line1
	read -r -t 60 -u "${BURST[0]}" line2
	read -r -t 60 -u "${BURST[0]}" line3
	[ "$(tr ' ' '\n' <<<"$line1" | grep -c '^+OK$')" -eq 20 ]
	[ "$line2" = "-ERR" ]
	[ "$(tr ' ' '\n' <<<"$line3" | grep -c '^+OK$')" -eq 20 ]
	# the 20 workers of the second burst: started after the refusal, one
	# every 4 ms, so their fork times span 76 ms at least (all at once,
	# they spanned a few ms).  /proc/PID/stat field 22, in clock ticks.
	hz=$(getconf CLK_TCK)
	span=$(for pid in $(postern_pids pop3); do awk '{ print $22 }' /proc/$pid/stat; done |
	    sort -n | tail -20 | awk -v hz="$hz" 'NR == 1 { a = $1 } { b = $1 } END { print int((b - a) * 1000 / hz) }')
	touch "$PT_DIR/burst.done"
	wait "$BURST_PID" || true
	echo "the second burst's workers were forked over $span ms"
	[ "$span" -ge 50 ]
}
