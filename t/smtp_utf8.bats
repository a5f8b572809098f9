#!/usr/bin/env bats
# SMTP: SMTPUTF8 (RFC 6531) -- UTF-8 addresses with the SMTPUTF8 parameter,
# refused without it, invalid UTF-8 refused; 8BITMIME bodies kept.

load lib/helpers

setup() {
	postern_setup
	TOOL="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"
}
teardown() { postern_teardown; }

@test "a UTF-8 sender with SMTPUTF8 is accepted and delivered (UTF8SMTP)" {
	postern_start
	run $TOOL utf8-send "$SMTP_PORT"
	[ "$status" -eq 0 ]
	wait_for mbox_count_is alice 1
	grep -q '^Return-Path: <jörg@bücher.example>$' "$(mbox_path alice)"
	grep -q 'with UTF8SMTP id ' "$(mbox_path alice)"
	grep -q '^Ümlauts ünd ß$' "$(mbox_path alice)"
}

@test "a UTF-8 address without SMTPUTF8: 553 5.6.7; invalid UTF-8: 501" {
	postern_start
	run bash -c "printf 'EHLO c.example\r\nMAIL FROM:<j\xc3\xb6rg@remote.example>\r\nMAIL FROM:<j\xc3rg@remote.example> SMTPUTF8\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<j\xc3\xb6rg@example.org>\r\nQUIT\r\n' | $TOOL raw $SMTP_PORT 7"
	[[ "$output" == *$'553 5.6.7 Non-ASCII sender address needs SMTPUTF8\r\n501 5.1.7 Bad sender address syntax\r\n250 2.1.0 Ok\r\n553 5.6.7'* ]]
}

@test "UTF-8 local part of a local domain is looked up (unknown here: 550 5.1.1)" {
	postern_start
	run bash -c "printf 'EHLO c.example\r\nMAIL FROM:<a@remote.example> SMTPUTF8\r\nRCPT TO:<j\xc3\xb6rg@example.org>\r\nQUIT\r\n' | $TOOL raw $SMTP_PORT 5"
	[[ "$output" == *$'250 2.1.0 Ok\r\n550 5.1.1'* ]]
}

@test "after HELO, ESMTP parameters are refused (555), plain SMTP still works" {
	postern_start
	run $TOOL chat "$SMTP_PORT" "HELO c.example" "MAIL FROM:<a@remote.example> SIZE=10" \
		"MAIL FROM:<a@remote.example>" "RCPT TO:<bob@example.org>" "QUIT"
	[[ "$output" == *$'555 5.5.4 Unsupported MAIL parameter\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r'* ]]
}
