#!/usr/bin/env bats
# `make run` (etc/demo.sh): the demo instance serves SMTP, POP3 and IMAP,
# with STARTTLS and implicit TLS, on the ports it prints.

load lib/helpers

setup() {
	DEMO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/postern-demo.XXXXXX")
	chmod 755 "$DEMO_DIR"
	ports=$(free_ports 6)
	export DEMO_SMTP_PORT=$(sed -n 1p <<<"$ports") DEMO_POP3_PORT=$(sed -n 2p <<<"$ports")
	export DEMO_SMTPS_PORT=$(sed -n 3p <<<"$ports") DEMO_POP3S_PORT=$(sed -n 4p <<<"$ports")
	export DEMO_IMAP_PORT=$(sed -n 5p <<<"$ports") DEMO_IMAPS_PORT=$(sed -n 6p <<<"$ports")
	DEMO_SH=$(cd "$BATS_TEST_DIRNAME/.." && pwd)/etc/demo.sh
}

teardown() {
	[ -n "${DEMO_PID:-}" ] && kill "$DEMO_PID" 2>/dev/null
	[ -n "${DEMO_PID:-}" ] && wait "$DEMO_PID" 2>/dev/null || true
	rm -rf "$DEMO_DIR"
}

@test "make run's demo serves IMAP with STARTTLS and on the imaps port, and prints how to connect" {
	(cd "$DEMO_DIR" && exec sh "$DEMO_SH" "$POSTERND") >"$DEMO_DIR/out" 2>&1 &
	DEMO_PID=$!
	wait_for greets "$DEMO_IMAP_PORT" "* OK "
	grep -q "IMAP (STARTTLS on $DEMO_IMAP_PORT, implicit TLS on $DEMO_IMAPS_PORT)" "$DEMO_DIR/out"
	grep -q "neomutt" "$DEMO_DIR/out"
	grep -q "mbsync" "$DEMO_DIR/out"
	cert=$DEMO_DIR/demo/cert.pem
	wait_for greets "$DEMO_SMTP_PORT" "220 "
	swaks --server "127.0.0.1:$DEMO_SMTP_PORT" --to alice@example.org \
		--header "Subject: demo" --body "hello demo" >/dev/null
	wait_for grep -q '^Subject: demo' "$DEMO_DIR/demo/spool/alice"
	run curl -sS --max-time 10 --ssl-reqd --cacert "$cert" \
		"imap://alice:alicepw@localhost:$DEMO_IMAP_PORT/INBOX;UID=1"
	echo "$output"
	grep -q '^Subject: demo' <<<"$output"
	run curl -sS --max-time 10 --cacert "$cert" "imaps://alice:alicepw@localhost:$DEMO_IMAPS_PORT/"
	echo "$output"
	grep -qF '* LIST (\HasNoChildren) "/" "INBOX"' <<<"$output"
}
