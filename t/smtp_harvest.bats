#!/usr/bin/env bats
# RCPT harvesting: a session that names unknown recipients gets 550 for
# each, and after max-unknown-recipients of them 421 and the connection
# closes (the client is logged).  Known recipients do not count, RSET does
# not reset the count, and a message that stays under it is delivered.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

# harvest PORT N: EHLO, MAIL, then N unknown RCPTs pipelined (with RSET +
# MAIL and a known recipient in between); prints the reply codes in order
# and "closed" when the server closed the connection.
harvest() {
	timeout 30 python3 "$MAILCLIENT" harvest "$1" "$2"
}

@test "unknown recipients: 550 each, then 421 after max-unknown-recipients and close" {
	postern_conf_set max-unknown-recipients 5
	postern_start
	run harvest "$SMTP_PORT" 500
	echo "$output"
	[ "$status" -eq 0 ]
	# greeting, EHLO, MAIL, known RCPT, 3 x 550, RSET, MAIL, 2 x 550, 421
	[ "${lines[0]}" = "220 250 250 250 550 550 550 250 250 550 550 421" ]
	[ "${lines[1]}" = "closed" ]
	wait_for grep -q "too many unknown recipients (5), closing" "$PT_LOG"
	grep "too many unknown recipients" "$PT_LOG" | grep -q "127.0.0.1"
}

@test "the default limit (20) closes a session of 500 unknown recipients" {
	postern_start
	run harvest "$SMTP_PORT" 500
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(tr ' ' '\n' <<<"${lines[0]}" | grep -c '^550$')" -eq 20 ]
	[[ "${lines[0]}" == *" 550 421" ]]
	[ "${lines[1]}" = "closed" ]
}

@test "a message with a few unknown recipients under the limit is delivered" {
	postern_conf_set max-unknown-recipients 5
	postern_start
	run python3 "$MAILCLIENT" chat "$SMTP_PORT" "EHLO t" \
		"MAIL FROM:<a@example.net>" "RCPT TO:<x1@example.org>" \
		"RCPT TO:<alice@example.org>" "RCPT TO:<x2@example.org>" \
		"RCPT TO:<x3@example.org>" "RCPT TO:<x4@example.org>" "DATA" \
		$'Subject: t\r\n\r\nbody\r\n.' "QUIT"
	echo "$output"
	[[ "$output" == *"250 2.0.0 Ok: queued"* || "$output" == *$'\r\n250 2.0.0'* ]]
	[[ "$output" != *"421"* ]]
	[ "$(mbox_count alice)" -eq 1 ]
}

@test "posternd -n checks max-unknown-recipients" {
	postern_conf_set max-unknown-recipients 0
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"max-unknown-recipients"* ]]
}
