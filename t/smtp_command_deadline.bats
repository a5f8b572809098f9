#!/usr/bin/env bats
# A client that keeps a session in the command phase (a NOOP now and then,
# each well inside smtp-timeout) cannot hold a worker past
# smtp-command-deadline; time spent in DATA does not count against it.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

@test "NOOP every 0.5 s: 421 4.4.2 at the command deadline, logged" {
	postern_conf_set smtp-timeout 5s
	postern_conf_set smtp-command-deadline 3s
	postern_start
	run timeout 30 python3 "$MAILCLIENT" noop-deadline "$SMTP_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_for grep -q "command phase over its deadline" "$PT_LOG"
}

@test "a slow DATA phase does not count: the session goes on after it" {
	postern_conf_set smtp-timeout 5s
	postern_conf_set smtp-command-deadline 3s
	postern_start
	run timeout 30 python3 "$MAILCLIENT" slow-data "$SMTP_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(mbox_count alice)" -eq 1 ]
}
