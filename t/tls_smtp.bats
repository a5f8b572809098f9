#!/usr/bin/env bats
# SMTP over TLS: STARTTLS (RFC 3207) and implicit TLS (smtps, RFC 8314).

load lib/helpers
load lib/tls

setup() {
	tls_setup
	postern_start
}
teardown() { postern_teardown; }

@test "openssl s_client -starttls smtp: TLS 1.2+ and our certificate" {
	run bash -c "printf 'EHLO client.example\nQUIT\n' | timeout 10 openssl s_client \
		-connect 127.0.0.1:$SMTP_PORT -starttls smtp -crlf -ign_eof -CAfile '$PT_CERT' \
		-verify_hostname mail.example.org 2>&1"
	echo "$output"
	[[ "$output" == *"Verify return code: 0 (ok)"* ]]
	[[ "$output" =~ New,\ TLSv1\.[23] ]]
	# the EHLO after the handshake no longer offers STARTTLS
	[[ "$output" == *"250-mail.example.org Hello client.example"* ]]
	[[ "$output" != *"250-STARTTLS"* && "$output" != *"250 STARTTLS"* ]]
	[[ "$output" == *"221 "* ]]
	grep -q "TLS established with 127.0.0.1: TLSv1.[23]" "$PT_LOG"
}

@test "openssl s_client on the smtps port: greeting after the handshake" {
	run bash -c "printf 'QUIT\n' | timeout 10 openssl s_client -connect 127.0.0.1:$SMTPS_PORT \
		-crlf -ign_eof -CAfile '$PT_CERT' 2>&1"
	echo "$output"
	[[ "$output" == *"Verify return code: 0 (ok)"* ]]
	[[ "$output" == *"220 mail.example.org"* ]]
	[[ "$output" == *"221 "* ]]
}

@test "swaks --tls and swaks --tlsc deliver; Received says ESMTPS" {
	run swaks --server "127.0.0.1:$SMTP_PORT" --tls --to alice@example.org \
		--from sender@example.net --body "over starttls"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"TLS started with cipher TLSv1."* ]]
	run swaks --server "127.0.0.1:$SMTPS_PORT" --tlsc --to bob@example.org \
		--from sender@example.net --body "over smtps"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_for mbox_count_is alice 1
	wait_for mbox_count_is bob 1
	grep -q "with ESMTPS" "$(mbox_path alice)"
	# the protocol and cipher are recorded (RFC 8314 7.4)
	grep -qE "^	\(using TLSv1\.[23] with cipher [A-Z0-9_-]+ \([0-9]+/[0-9]+ bits\)\)$" "$(mbox_path alice)"
	grep -q "with ESMTPS" "$(mbox_path bob)"
}

@test "python smtplib starttls: full transaction, state reset, second STARTTLS refused" {
	run python3 "$MAILCLIENT" smtp-starttls-tour "$SMTP_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *done* ]]
	wait_for mbox_count_is carol 1
	grep -q "with ESMTPS" "$(mbox_path carol)"
}

@test "STARTTLS injection: a command in the same packet gets no answer" {
	run python3 "$MAILCLIENT" tls-inject smtp "$SMTP_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "bytes sent after STARTTLS discarded" "$PT_LOG"
}

@test "TLS 1.1 is refused, TLS 1.2 and 1.3 are accepted" {
	# SECLEVEL=0 so that the client would offer TLS 1.1: the refusal is ours
	run timeout 10 openssl s_client -connect "127.0.0.1:$SMTPS_PORT" -tls1_1 \
		-cipher 'DEFAULT:@SECLEVEL=0' </dev/null
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" != *"New, TLSv1.1"* ]]
	run timeout 10 openssl s_client -connect "127.0.0.1:$SMTP_PORT" -starttls smtp \
		-tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null
	[ "$status" -ne 0 ]
	run bash -c "timeout 10 openssl s_client -connect 127.0.0.1:$SMTPS_PORT -tls1_2 </dev/null 2>&1"
	[[ "$output" == *"New, TLSv1.2"* ]]
	run bash -c "timeout 10 openssl s_client -connect 127.0.0.1:$SMTPS_PORT -tls1_3 </dev/null 2>&1"
	[[ "$output" == *"New, TLSv1.3"* ]]
	grep -q "TLS handshake with 127.0.0.1 failed" "$PT_LOG"
	tls_smtps_greets
}
