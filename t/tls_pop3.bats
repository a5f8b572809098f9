#!/usr/bin/env bats
# POP3 over TLS: STLS (RFC 2595) and implicit TLS (pop3s, RFC 8314).

load lib/helpers
load lib/tls

setup() { tls_setup; }
teardown() { postern_teardown; }

deliver() {
	swaks --server "127.0.0.1:$SMTP_PORT" --to "$1" --from sender@example.net \
		--header "Subject: $2" --body "$2" >/dev/null
}

@test "openssl s_client -starttls pop3 and on the pop3s port" {
	postern_start
	run bash -c "printf 'CAPA\nQUIT\n' | timeout 10 openssl s_client -connect 127.0.0.1:$POP3_PORT \
		-starttls pop3 -crlf -ign_eof -CAfile '$PT_CERT' 2>&1"
	echo "$output"
	[[ "$output" == *"Verify return code: 0 (ok)"* ]]
	[[ "$output" =~ New,\ TLSv1\.[23] ]]
	[[ "$output" == *"+OK capability list follows"* ]]
	# after STLS the capability list no longer offers it
	! grep -qx $'STLS\r\\?' <<<"$output"
	run bash -c "printf 'QUIT\n' | timeout 10 openssl s_client -connect 127.0.0.1:$POP3S_PORT \
		-crlf -ign_eof -CAfile '$PT_CERT' 2>&1"
	echo "$output"
	[[ "$output" == *"Verify return code: 0 (ok)"* ]]
	[[ "$output" == *"+OK postern"* ]]
}

@test "python poplib stls: CAPA before and after, login, retrieve" {
	postern_start
	deliver alice@example.org "over-stls"
	wait_for mbox_count_is alice 1
	run python3 "$MAILCLIENT" pop3-stls-tour "$POP3_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *done* ]]
}

@test "plaintext-auth tls: USER refused before STLS, allowed after" {
	postern_conf_set plaintext-auth tls
	postern_start
	run python3 "$MAILCLIENT" pop3-stls-plaintext "$POP3_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *done* ]]
}

@test "curl --ssl-reqd (STLS) and pop3s round trips" {
	postern_start
	deliver bob@example.org "first-for-bob"
	wait_for mbox_count_is bob 1
	run curl -s --max-time 10 --ssl-reqd -k "pop3://bob:bobpw@127.0.0.1:$POP3_PORT/1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"first-for-bob"* ]]
	run curl -s --max-time 10 -k "pop3s://bob:bobpw@127.0.0.1:$POP3S_PORT/1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"first-for-bob"* ]]
}

@test "STLS injection: a USER in the same packet gets no answer" {
	postern_start
	run python3 "$MAILCLIENT" tls-inject pop3 "$POP3_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "bytes sent after STLS discarded" "$PT_LOG"
}

@test "a 3 MB message over STARTTLS comes back byte for byte over STLS and pop3s" {
	postern_start
	run python3 "$MAILCLIENT" tls-big-roundtrip "$SMTP_PORT" "$POP3_PORT" "$POP3S_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"round trips intact"* ]]
}
