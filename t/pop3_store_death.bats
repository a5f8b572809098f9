#!/usr/bin/env bats
# The store dies during a POP3 session: the session gets -ERR [SYS/TEMP]
# (never a false +OK), nothing is deleted, and once the master has
# restarted the store a new session works.

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

@test "store killed mid-session: DELE/QUIT get [SYS/TEMP], nothing deleted" {
	store=$(postern_pids store)
	[ -n "$store" ]
	run python3 "$MAILCLIENT" pop3-store-kill "$POP3_PORT" "$store" dele
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = ok ]
	wait_for pop3_count_is alice alicepw 2
}

@test "store killed before RETR: -ERR [SYS/TEMP], the session ends" {
	store=$(postern_pids store)
	run python3 "$MAILCLIENT" pop3-store-kill "$POP3_PORT" "$store" retr
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = ok ]
	wait_for pop3_count_is alice alicepw 2
}
