# Helpers for the t/pop3_*.bats files (load after lib/helpers); the
# sockets are spoken by t/lib/mailclient.py.
#
#   pop3_batch 'CMD\r\nCMD\r\n...'   sends the batch in one write (\r \n \x00
#                                    escapes), half-closes, prints the whole
#                                    transcript with CRs removed.
#   pop3_batch_raw ...               the same, CRs kept (for byte checks).
#   smtp_send FROM TO FILE           delivers FILE (a bare LF becomes CRLF)
#                                    over SMTP (mailclient.py send-text).
#   smtp_quick TO SUBJECT BODY       a small message.
#   pop3_count USER PASS             the message count STAT reports.
#   pop3_count_is USER PASS N        the same, as a test for wait_for.

pop3_batch_raw() {
	python3 "$MAILCLIENT" pop3-batch "$POP3_PORT" "$1"
}

pop3_batch() {
	pop3_batch_raw "$1" | tr -d '\r'
}

smtp_send() {
	python3 "$MAILCLIENT" send-text "$SMTP_PORT" "$1" "$2" "$3"
}

smtp_quick() {
	local f
	f=$(mktemp "$PT_DIR/msg.XXXXXX")
	printf 'From: sender@example.com\nTo: %s\nSubject: %s\n\n%s\n' "$1" "$2" "$3" >"$f"
	smtp_send sender@example.com "$1" "$f"
	rm -f "$f"
}

# Number of messages STAT reports for USER PASS.
pop3_count() {
	pop3_batch "USER $1\r\nPASS $2\r\nSTAT\r\nQUIT\r\n" |
		sed -n 's/^+OK \([0-9][0-9]*\) [0-9][0-9]*$/\1/p'
}

# pop3_count_is USER PASS N: for wait_for (asks again on every try).
pop3_count_is() { [ "$(pop3_count "$1" "$2")" = "$3" ]; }
