#!/usr/bin/env bats
# SMTP: recipient rules -- local domains only (no relay), unknown users,
# aliases once per account, postmaster, the recipient limit.

load lib/helpers

setup() {
	postern_setup
	TOOL="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"
}
teardown() { postern_teardown; }

@test "other domains are never relayed: 550 5.7.1" {
	postern_start
	run $TOOL chat "$SMTP_PORT" "EHLO c.example" "MAIL FROM:<alice@example.org>" \
		"RCPT TO:<someone@remote.example>" "RCPT TO:<alice@example.org.evil.example>" \
		"RCPT TO:<alice@[127.0.0.1]>" "RCPT TO:<@example.org:x@remote.example>" \
		"RCPT TO:<alice%remote.example@example.org>" "QUIT"
	[ "$(grep -c '^550 5.7.1' <<<"$output")" -eq 4 ]
	# the %-hack is a local part here: no such user
	[[ "$output" == *"550 5.1.1 <alice%remote.example@example.org>"* ]]
	grep -q 'relay denied' "$PT_LOG"
}

@test "unknown local user: 550 5.1.1; domains are case-insensitive" {
	postern_start
	run $TOOL chat "$SMTP_PORT" "EHLO c.example" "MAIL FROM:<a@remote.example>" \
		"RCPT TO:<nobody@example.org>" "RCPT TO:<alice@EXAMPLE.ORG>" "RCPT TO:<bob@Example.Net>" "QUIT"
	[[ "$output" == *$'550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r'* ]]
}

@test "quoted local part and source route reach the account" {
	postern_start
	printf 'EHLO c.example\r\nMAIL FROM:<"x y"@remote.example>\r\nRCPT TO:<"carol"@example.org>\r\nRCPT TO:<@relay.example,@b.example:bob@example.org>\r\nDATA\r\nSubject: q\r\n\r\nq\r\n.\r\nQUIT\r\n' >"$PT_DIR/in"
	run $TOOL raw "$SMTP_PORT" 7 <"$PT_DIR/in"
	[[ "$output" == *$'250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354'* ]]
	wait_for mbox_count_is carol 1
	[ "$(mbox_count bob)" -eq 1 ]
}

@test "an alias and its members listed together: one copy each" {
	postern_start
	printf 'EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<team@example.org>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<team@example.net>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: once\r\n\r\nonce\r\n.\r\nQUIT\r\n' >"$PT_DIR/in"
	run $TOOL raw "$SMTP_PORT" 9 <"$PT_DIR/in"
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	wait_for mbox_count_is alice 1
	[ "$(mbox_count bob)" -eq 1 ]
	[ "$(grep -c '^Subject: once$' "$(mbox_path alice)")" -eq 1 ]
	# four RCPTs, two accounts: one delivery line each
	[ "$(grep -c ' delivery msgid=.* status=sent ' "$PT_LOG")" -eq 2 ]
	[ "$(grep -c ' delivery msgid=.* account=alice size=' "$PT_LOG")" -eq 1 ]
	[ "$(grep -c ' delivery msgid=.* account=bob size=' "$PT_LOG")" -eq 1 ]
}

@test "postmaster in every local domain and bare <postmaster>" {
	postern_start
	run $TOOL chat "$SMTP_PORT" "EHLO c.example" "MAIL FROM:<>" "RCPT TO:<postmaster@example.org>" \
		"RCPT TO:<PostMaster@example.net>" "RCPT TO:<postmaster>" "RCPT TO:<postmaster@remote.example>" "QUIT"
	[ "$(grep -c '^250 2.1.5' <<<"$output")" -eq 3 ]
	[[ "$output" == *"550 5.7.1 <postmaster@remote.example>"* ]]
}

@test "1001 recipients: 452 4.5.3 beyond max-recipients, the message still goes" {
	postern_conf_set max-recipients 1000
	postern_conf_set max-bad-commands 5
	postern_start
	$TOOL many-rcpts "$SMTP_PORT" 1001 >"$PT_DIR/out"
	[ "$(grep -c '^250 2.1.5' "$PT_DIR/out")" -eq 1000 ]
	[ "$(grep -c '^452 4.5.3 Too many recipients' "$PT_DIR/out")" -eq 1 ]
	grep -q '^250 2.0.0 Ok: queued as' "$PT_DIR/out"
	wait_for mbox_count_is carol 1
	[ "$(mbox_count alice)" -eq 1 ]
	[ "$(mbox_count bob)" -eq 1 ]
}

@test "default max-recipients is 100" {
	postern_start
	run $TOOL rcpt-limit "$SMTP_PORT" 101
	[ "$output" = "100 1" ]
}
