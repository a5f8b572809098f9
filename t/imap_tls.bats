#!/usr/bin/env bats
# IMAP over TLS: STARTTLS (RFC 3501 6.2.1, with LOGINDISABLED before it
# when plaintext-auth is tls) and implicit TLS on the imaps port (RFC 8314),
# with openssl s_client, curl and Python's imaplib.

load lib/helpers
load lib/tls

setup() {
	tls_setup
	ports=$(free_ports 2)
	IMAP_PORT=$(sed -n 1p <<<"$ports")
	IMAPS_PORT=$(sed -n 2p <<<"$ports")
	PT_EXTRA="$PT_EXTRA
listen imap 127.0.0.1:$IMAP_PORT
listen imaps 127.0.0.1:$IMAPS_PORT
imap-min-spare 1"
	export IMAP_PORT IMAPS_PORT
}
teardown() { postern_teardown; }

@test "openssl s_client -starttls imap, and on the imaps port" {
	postern_start
	wait_for greets "$IMAP_PORT" "* OK "
	run bash -c "printf 'a CAPABILITY\nb LOGIN alice alicepw\nc LIST \"\" %%\nd LOGOUT\n' | timeout 10 openssl s_client -connect 127.0.0.1:$IMAP_PORT \
		-starttls imap -crlf -ign_eof -CAfile '$PT_CERT' 2>&1"
	echo "$output"
	[[ "$output" == *"Verify return code: 0 (ok)"* ]]
	[[ "$output" =~ New,\ TLSv1\.[23] ]]
	# after STARTTLS the capability list no longer offers it
	grep -q '^\* CAPABILITY IMAP4rev1 ' <<<"$output"
	! grep '^\* CAPABILITY' <<<"$output" | grep -q STARTTLS
	grep -q '^b OK \[CAPABILITY ' <<<"$output"
	grep -q '^\* LIST (\\HasNoChildren) "/" "INBOX"' <<<"$output"
	run bash -c "printf 'a LOGIN alice alicepw\nb LOGOUT\n' | timeout 10 openssl s_client -connect 127.0.0.1:$IMAPS_PORT \
		-crlf -ign_eof -CAfile '$PT_CERT' 2>&1"
	echo "$output"
	[[ "$output" == *"Verify return code: 0 (ok)"* ]]
	grep -q '^\* OK \[CAPABILITY IMAP4rev1 .*\] postern ready' <<<"$output"
	grep -q '^a OK \[CAPABILITY ' <<<"$output"
}

@test "plaintext-auth tls: LOGINDISABLED before STARTTLS, AUTH=PLAIN after it, and a login over TLS works" {
	PT_EXTRA="$PT_EXTRA
plaintext-auth tls"
	postern_start
	wait_for greets "$IMAP_PORT" "* OK "
	run python3 "$MAILCLIENT" imap-starttls "$IMAP_PORT" "$PT_CERT" alice alicepw
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^before: .*STARTTLS' <<<"$output"
	grep -q '^before: .*LOGINDISABLED' <<<"$output"
	! grep '^before:' <<<"$output" | grep -q 'AUTH=PLAIN'
	grep -q '^after: .*AUTH=PLAIN' <<<"$output"
	! grep '^after:' <<<"$output" | grep -q 'STARTTLS\|LOGINDISABLED'
	grep -qx 'login: OK' <<<"$output"
}

@test "commands pipelined after STARTTLS are thrown away, never run over TLS" {
	postern_start
	wait_for greets "$IMAP_PORT" "* OK "
	run python3 "$MAILCLIENT" tls-inject imap "$IMAP_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "bytes sent after STARTTLS discarded" "$PT_LOG"
}

@test "curl over imaps:// and imap:// with --ssl-reqd" {
	postern_start
	wait_for greets "$IMAP_PORT" "* OK "
	swaks --server "127.0.0.1:$SMTP_PORT" --to alice@example.org --from s@example.net \
		--header "Subject: over tls" --body "secret" >/dev/null
	wait_for mbox_count_is alice 1
	run curl -sS --max-time 10 --cacert "$PT_CERT" --resolve "mail.example.org:$IMAPS_PORT:127.0.0.1" \
		"imaps://alice:alicepw@mail.example.org:$IMAPS_PORT/INBOX;UID=1;SECTION=HEADER.FIELDS%20(SUBJECT)"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^Subject: over tls' <<<"$output"
	run curl -sS --max-time 10 --ssl-reqd --cacert "$PT_CERT" \
		--resolve "mail.example.org:$IMAP_PORT:127.0.0.1" \
		"imap://alice:alicepw@mail.example.org:$IMAP_PORT/"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qF '* LIST (\HasNoChildren) "/" "INBOX"' <<<"$output"
}
