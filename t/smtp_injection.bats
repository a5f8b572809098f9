#!/usr/bin/env bats
# SMTP: shell metacharacters in addresses are refused, and nothing is ever executed.

load lib/helpers

setup() {
	postern_setup
	TOOL="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"
	PWNED=$PT_DIR/pwned
}
teardown() { postern_teardown; }

@test "MAIL FROM:<;sleep 5;> is a syntax error, answered at once" {
	postern_start
	start=$(date +%s%N)
	run $TOOL chat "$SMTP_PORT" "EHLO c.example" "MAIL FROM:<;sleep 5;>" "MAIL FROM:<;sleep 5;@example.org>" \
		"MAIL FROM:<a@example.org;sleep 5>" "QUIT"
	end=$(date +%s%N)
	[ "$(grep -c '^501 5.1.7 Bad sender address syntax' <<<"$output")" -eq 3 ]
	[ $(( (end - start) / 1000000 )) -lt 3000 ]
}

@test "backquotes, \$( ) and pipes are refused in MAIL and RCPT, nothing runs" {
	postern_start
	run $TOOL chat "$SMTP_PORT" "EHLO c.example" \
		"MAIL FROM:<\`touch $PWNED\`@remote.example>" \
		"MAIL FROM:<\"\`touch $PWNED\`\"@remote.example>" \
		"MAIL FROM:<\$(touch $PWNED)@remote.example>" \
		"MAIL FROM:<a@remote.example>" \
		"RCPT TO:<\`touch $PWNED\`@example.org>" \
		"RCPT TO:<|touch $PWNED@example.org>" \
		"RCPT TO:<\"|touch $PWNED\"@example.org>" \
		"QUIT"
	[ "$(grep -c '^501 5.1.7' <<<"$output")" -eq 3 ]
	[ "$(grep -c '^501 5.1.3' <<<"$output")" -eq 3 ]
	sleep 1
	[ ! -e "$PWNED" ]
}

@test "quoted shell text that is RFC-valid is only ever a name: unknown user" {
	postern_start
	{
		printf 'EHLO c.example\r\nMAIL FROM:<"; touch %s;"@remote.example>\r\n' "$PWNED"
		printf 'RCPT TO:<"; touch %s;"@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n' "$PWNED"
		printf 'Subject: `touch %s`\r\n\r\n$(touch %s)\r\n.\r\nQUIT\r\n' "$PWNED" "$PWNED"
	} >"$PT_DIR/in"
	run $TOOL raw "$SMTP_PORT" 8 <"$PT_DIR/in"
	[[ "$output" == *$'250 2.1.0 Ok\r\n550 5.1.1'* ]]
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	wait_for mbox_count_is alice 1
	sleep 1
	[ ! -e "$PWNED" ]
	grep -qF "\$(touch $PWNED)" "$(mbox_path alice)"
}

@test "no address or parameter can put CR, LF or NUL into the stored data" {
	postern_start
	run bash -c "printf 'EHLO c.example\r\nMAIL FROM:<a@remote.example> ENVID=x+0D+0AFrom:evil\r\nMAIL FROM:<a\rb@remote.example>\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org> ORCPT=rfc822;x+0D+0Ay\r\nQUIT\r\n' | $TOOL raw $SMTP_PORT 7"
	[[ "$output" == *$'555 5.5.4 Unsupported MAIL parameter\r\n500 5.5.2 Error: bare CR in command\r\n250 2.1.0 Ok\r\n555 5.5.4 Unsupported RCPT parameter\r'* ]]
}
