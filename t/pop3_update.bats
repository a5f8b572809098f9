#!/usr/bin/env bats
# DELE takes effect only in the UPDATE state (QUIT in TRANSACTION): a drop,
# a timeout or a shutdown deletes nothing; RSET undoes; mail that arrives
# during a session is not shown in it and is kept.

load lib/helpers
load lib/pop3

setup() {
	postern_setup
	postern_conf_set pop3-timeout 2s
	postern_start
	for i in 1 2 3; do smtp_quick alice@example.org "msg $i" "body $i"; done
	wait_for mbox_count_is alice 3
}
teardown() { postern_teardown; }

@test "DELE + QUIT deletes exactly the marked messages" {
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nDELE 1\r\nDELE 3\r\nQUIT\r\n'
	[ "${lines[-1]}" = "+OK postern signing off (2 messages deleted)" ]
	[ "$(mbox_count alice)" -eq 1 ]
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nRETR 1\r\nQUIT\r\n'
	printf '%s\n' "${lines[@]}" | grep -qx 'body 2'
	! printf '%s\n' "${lines[@]}" | grep -q 'body [13]'
}

@test "DELE + dropped connection deletes nothing" {
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nDELE 1\r\nDELE 2\r\n'
	[ "${lines[3]}" = "+OK message 1 deleted" ]
	wait_for grep -q 'pop3 session .* account=alice .*end=disconnected' "$PT_LOG"
	[ "$(mbox_count alice)" -eq 3 ]
	[ "$(pop3_count alice alicepw)" = 3 ]
}

@test "DELE + autologout deletes nothing" {
	run python3 "$MAILCLIENT" pop3-autologout "$POP3_PORT"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	[ "$(pop3_count alice alicepw)" = 3 ]
}

@test "DELE + daemon shutdown: -ERR [SYS/TEMP], nothing deleted" {
	postern_stop      # the autologout must not come before the grace ends
	postern_conf_set pop3-timeout 30s
	postern_start
	run python3 "$MAILCLIENT" pop3-shutdown "$POP3_PORT" "$PT_PID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	postern_stop
	[ "$(mbox_count alice)" -eq 3 ]
}

@test "RSET undoes every DELE" {
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nDELE 1\r\nDELE 2\r\nRSET\r\nQUIT\r\n'
	[[ ${lines[5]} == "+OK maildrop has 3 messages"* ]]
	[ "${lines[6]}" = "+OK postern signing off (0 messages deleted)" ]
	[ "$(mbox_count alice)" -eq 3 ]
}

@test "mail arriving during a session is not shown and is kept after DELE+QUIT" {
	run python3 "$MAILCLIENT" pop3-late-arrival "$POP3_PORT" "$SMTP_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = ok ]
}
