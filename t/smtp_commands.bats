#!/usr/bin/env bats
# SMTP: every command and its reply codes (RFC 5321, enhanced codes RFC 3463).

load lib/helpers

setup() {
	postern_setup
	TOOL="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"
}
teardown() { postern_teardown; }

chat() { $TOOL chat "$SMTP_PORT" "$@"; }

@test "greeting, EHLO keywords, HELO" {
	postern_start
	run chat "EHLO client.example" "HELO client.example" "QUIT"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == $'220 mail.example.org ESMTP postern\r' ]]
	[[ "$output" == *$'250-mail.example.org Hello client.example [127.0.0.1]\r'* ]]
	for kw in PIPELINING "SIZE 26214400" 8BITMIME ENHANCEDSTATUSCODES SMTPUTF8; do
		[[ "$output" == *"250-$kw"$'\r'* ]]
	done
	[[ "$output" != *STARTTLS* ]]
	[[ "$output" == *$'\n250 mail.example.org\r'* ]]
	[[ "$output" == *$'221 2.0.0 mail.example.org Bye\r'* ]]
}

@test "SIZE keyword follows max-message-size" {
	postern_conf_set max-message-size 1M
	postern_start
	run chat "EHLO c.example" "QUIT"
	[[ "$output" == *$'250-SIZE 1048576\r'* ]]
}

@test "NOOP, RSET, HELP, QUIT" {
	postern_start
	run chat "NOOP" "NOOP anything" "RSET" "RSET x" "HELP" "HELP MAIL" "QUIT x" "QUIT"
	[[ "$output" == *$'250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n501 5.5.4'* ]]
	[[ "$output" == *"214-2.0.0"*"HELO EHLO MAIL RCPT DATA RSET NOOP QUIT"*"HELP VRFY EXPN VERB"*$'214 2.0.0 End of HELP info\r'* ]]
	[ "$(grep -c '^214 ' <<<"$output")" -eq 2 ]
	[[ "$output" == *$'501 5.5.4 Syntax error: no parameters allowed\r\n221 2.0.0'* ]]
}

@test "bad sequence is 503 5.5.1, unknown command 500 5.5.2" {
	postern_start
	run chat "MAIL FROM:<a@remote.example>" "RCPT TO:<alice@example.org>" "DATA" \
		"EHLO c.example" "RCPT TO:<alice@example.org>" "DATA" \
		"MAIL FROM:<a@remote.example>" "MAIL FROM:<a@remote.example>" "DATA" \
		"FROB" "MAILFROM:<a@b.example>" "QUIT"
	[ "$(grep -c '^503 5.5.1' <<<"$output")" -eq 6 ]
	[[ "$output" == *$'554 5.5.1 Error: no valid recipients\r'* ]]
	[ "$(grep -c '^500 5.5.2' <<<"$output")" -eq 2 ]
	[[ "$output" == *"221 2.0.0"* ]]
}

@test "HELO/EHLO need a valid name" {
	postern_start
	run chat "EHLO" "HELO" "EHLO bad(name)" "EHLO a b" "EHLO [192.0.2.1]" "QUIT"
	[ "$(grep -c '^501 5.5.4' <<<"$output")" -eq 4 ]
	[[ "$output" == *$'250-mail.example.org Hello [192.0.2.1]'* ]]
}

@test "VRFY off: 252; EXPN off: 502 (nothing to harvest)" {
	postern_start
	run chat "VRFY alice" "VRFY nobody" "EXPN team" "QUIT"
	[ "$(grep -c '^252 2.5.2 Cannot VRFY user' <<<"$output")" -eq 2 ]
	[[ "$output" == *$'502 5.5.1'* ]]
	[[ "$output" != *alice@* ]]
}

@test "VRFY and EXPN on: the real answers" {
	PT_EXTRA=$'vrfy on\nexpn on'
	postern_start
	run chat "VRFY alice" "VRFY <bob@example.net>" "VRFY nobody" "EXPN team" "EXPN nobody" "QUIT"
	[[ "$output" == *$'250 2.1.5 <alice@example.org>\r'* ]]
	[[ "$output" == *$'250 2.1.5 <bob@example.net>\r'* ]]
	[[ "$output" == *$'250-2.1.5 <alice@example.org>\r\n250 2.1.5 <bob@example.org>\r'* ]]
	[ "$(grep -c '^550 5.1.1' <<<"$output")" -eq 2 ]
}

@test "VERB on: 250 and the session's detail is logged; off: 502" {
	postern_start
	run chat "VERB" "NOOP" "QUIT"
	[[ "$output" == *$'250 2.0.0 Verbose logging enabled for this session\r'* ]]
	wait_for grep -q '>>> 250 2.0.0 Ok' "$PT_LOG"
	postern_stop
	postern_conf_set verb off
	postern_start
	run chat "VERB" "QUIT"
	[[ "$output" == *$'502 5.5.1'* ]]
}

@test "STARTTLS is neither advertised nor accepted without a certificate" {
	postern_start
	run chat "EHLO c.example" "STARTTLS" "QUIT"
	[[ "$output" != *"250-STARTTLS"* ]]
	[[ "$output" == *$'\r\n454 4.7.0 '* ]]
}

@test "a full transaction: 250 2.1.0, 250 2.1.5, 354, 250 2.0.0 queued" {
	postern_start
	printf 'EHLO c.example\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n' >"$PT_DIR/in"
	printf 'Subject: t\r\n\r\nhello\r\n.\r\nQUIT\r\n' >>"$PT_DIR/in"
	run $TOOL raw "$SMTP_PORT" 7 <"$PT_DIR/in"
	[[ "$output" == *$'250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as '* ]]
	[[ "$output" == *"221 2.0.0"* ]]
	wait_for mbox_count_is alice 1
	grep -q '^hello$' "$(mbox_path alice)"
	grep -qE ' delivery msgid=[0-9a-f]+\.1 .* to=<alice@example.org> .* status=sent ' "$PT_LOG"
}

@test "too many bad commands: 421 4.7.0 and the connection closes" {
	postern_conf_set max-bad-commands 3
	postern_start
	run chat "FOO" "BAR" "BAZ" "NOOP"
	[[ "$output" == *$'421 4.7.0 mail.example.org Too many errors'* ]]
	[[ "$output" != *"250 2.0.0 Ok"* ]]
}

@test "idle client: 421 4.4.2 Timeout" {
	postern_conf_set smtp-timeout 1s
	postern_start
	# greeting, then 421 (or the close)
	run $TOOL raw "$SMTP_PORT" 2 </dev/null
	[[ "$output" == *"421 4.4.2 mail.example.org Timeout"* ]]
}
