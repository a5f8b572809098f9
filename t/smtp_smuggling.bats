#!/usr/bin/env bats
# SMTP: DATA ends only at CRLF.CRLF; bare CR / bare LF refuse the message
# (554 5.6.0), so nothing can be smuggled behind a fake terminator.

load lib/helpers

setup() {
	postern_setup
	TOOL="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"
}
teardown() { postern_teardown; }

# smuggle SEQ: one DATA with SEQ + a second transaction inside, then a real
# end, then a legitimate message; prints the replies.
smuggle() {
	{
		printf 'EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n'
		printf 'Subject: first\r\n\r\nfirst body'
		printf "$1"
		printf 'MAIL FROM:<evil@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n'
		printf 'Subject: SMUGGLED\r\n\r\nsmuggled\r\n.\r\n'
		printf 'MAIL FROM:<b@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n'
		printf 'Subject: legit\r\n\r\nlegit\r\n.\r\nQUIT\r\n'
	} >"$PT_DIR/in"
	$TOOL raw "$SMTP_PORT" 11 <"$PT_DIR/in"
}

check_one() {
	run smuggle "$1"
	echo "$output"
	# greeting, EHLO, MAIL, RCPT, 354, then exactly one answer for the whole
	# first DATA: 554 5.6.0; then the legit transaction
	[[ "$output" == *$'354 End data with <CR><LF>.<CR><LF>\r\n554 5.6.0 '*$'\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 '*$'\r\n250 2.0.0 Ok: queued as '* ]]
	[ "$(grep -c '^354 ' <<<"$output")" -eq 2 ]
	wait_for mbox_count_is alice 1
	sleep 0.3
	[ "$(mbox_count alice)" -eq 1 ]
	! grep -q SMUGGLED "$(mbox_path alice)"
	! grep -q 'first body' "$(mbox_path alice)"
	grep -q '^Subject: legit$' "$(mbox_path alice)"
	grep -q 'outcome=rejected (bare CR or LF)' "$PT_LOG"
}

@test 'smuggling with \n.\n' {
	postern_start
	check_one '\n.\n'
}

@test 'smuggling with \r\n.\n' {
	postern_start
	check_one '\r\n.\n'
}

@test 'smuggling with \n.\r\n' {
	postern_start
	check_one '\n.\r\n'
}

@test 'smuggling with \r.\r\n' {
	postern_start
	check_one '\r.\r\n'
}

@test 'smuggling with \r\n.\r (bare CR after the dot)' {
	postern_start
	check_one '\r\n.\r'
}

@test "bare LF or bare CR anywhere refuses the message" {
	postern_start
	for body in 'a\nb\r\n' 'a\rb\r\n' 'a\r\r\n' 'line\n'; do
		{
			printf 'EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n'
			printf "Subject: bare\r\n\r\n$body"
			printf '\r\n.\r\nQUIT\r\n'
		} >"$PT_DIR/in"
		run $TOOL raw "$SMTP_PORT" 7 <"$PT_DIR/in"
		[[ "$output" == *"554 5.6.0"* ]]
		[[ "$output" == *"221 2.0.0"* ]]
	done
	[ "$(mbox_count bob)" -eq 0 ]
}

@test "dot-stuffed lines are unstuffed, a lone dot line inside is data" {
	postern_start
	{
		printf 'EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n'
		printf 'Subject: dots\r\n\r\n..\r\n...x\r\n.y\r\nend\r\n.\r\nQUIT\r\n'
	} >"$PT_DIR/in"
	run $TOOL raw "$SMTP_PORT" 7 <"$PT_DIR/in"
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	wait_for mbox_count_is bob 1
	run $TOOL mbox-bodies "$(mbox_path bob)"
	[ "$output" = $'Subject: dots\n\n.\n..x\ny\nend' ]
}
