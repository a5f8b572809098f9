#!/usr/bin/env bats
# The maildrop is exclusive: a second session for the same account gets
# -ERR [IN-USE] and the first one is unaffected.

load lib/helpers
load lib/pop3

setup() {
	postern_setup
	postern_start
	smtp_quick alice@example.org one "body one"
	smtp_quick alice@example.org two "body two"
	wait_for mbox_count_is alice 2
}
teardown() { postern_teardown; }

@test "second session gets -ERR [IN-USE]; the first goes on and commits" {
	run python3 "$MAILCLIENT" pop3-lock-inuse "$POP3_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = ok ]
}

@test "another account is not locked by alice's session" {
	smtp_quick bob@example.org hi "for bob"
	wait_for mbox_count_is bob 1
	run python3 "$MAILCLIENT" pop3-two-accounts "$POP3_PORT"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "a dropped session releases the lock" {
	run python3 "$MAILCLIENT" pop3-drop-release "$POP3_PORT"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}
