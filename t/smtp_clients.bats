#!/usr/bin/env bats
# SMTP: real clients (swaks, curl smtp://, python3 smtplib) deliver into the mbox.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

@test "swaks delivers to a local account" {
	command -v swaks >/dev/null || skip "swaks not installed"
	postern_start
	run swaks --server 127.0.0.1 --port "$SMTP_PORT" --from sender@remote.example \
		--to alice@example.org --header "Subject: via swaks" --body "swaks body" --timeout 10
	[ "$status" -eq 0 ]
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	wait_for mbox_count_is alice 1
	grep -q '^Subject: via swaks$' "$(mbox_path alice)"
	grep -q '^Return-Path: <sender@remote.example>$' "$(mbox_path alice)"
	# our trace header is the first line of the message proper
	grep -A1 '^Return-Path:' "$(mbox_path alice)" | grep -q '^Received: from '
}

@test "swaks pipelining and an alias: each account once" {
	command -v swaks >/dev/null || skip "swaks not installed"
	postern_start
	run swaks --server 127.0.0.1 --port "$SMTP_PORT" --pipeline --from s@remote.example \
		--to team@example.org,alice@example.org,bob@example.net,team@example.net --timeout 10
	[ "$status" -eq 0 ]
	wait_for mbox_count_is alice 1
	[ "$(mbox_count bob)" -eq 1 ]
	sleep 0.5
	[ "$(mbox_count alice)" -eq 1 ]
	[ "$(mbox_count bob)" -eq 1 ]
}

@test "curl smtp:// uploads a message" {
	postern_start
	printf 'From: c@remote.example\r\nSubject: via curl\r\n\r\ncurl body\r\n' >"$PT_DIR/msg"
	run curl -sS --max-time 10 --url "smtp://127.0.0.1:$SMTP_PORT" \
		--mail-from c@remote.example --mail-rcpt bob@example.org --upload-file "$PT_DIR/msg"
	[ "$status" -eq 0 ]
	wait_for mbox_count_is bob 1
	grep -q '^Subject: via curl$' "$(mbox_path bob)"
	grep -q '^curl body$' "$(mbox_path bob)"
}

@test "curl gets an error for an unknown recipient" {
	postern_start
	printf 'Subject: x\r\n\r\nx\r\n' >"$PT_DIR/msg"
	run curl -sS --max-time 10 --url "smtp://127.0.0.1:$SMTP_PORT" \
		--mail-from c@remote.example --mail-rcpt nobody@example.org --upload-file "$PT_DIR/msg"
	[ "$status" -ne 0 ]
	[[ "$output" == *550* ]]
}

@test "python smtplib: send_message, null sender, postmaster" {
	postern_start
	run python3 "$MAILCLIENT" smtplib-tour "$SMTP_PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *sent* ]]
	wait_for mbox_count_is carol 1
	grep -q '^Subject: via smtplib$' "$(mbox_path carol)"
	grep -q '^Received: from .* (\[127.0.0.1\])$' "$(mbox_path carol)"
	grep -q 'by mail.example.org (postern) with ESMTP id ' "$(mbox_path carol)"
	grep -q 'for <carol@example.org>; ' "$(mbox_path carol)"
	# postmaster is the first account (alice) unless configured
	wait_for mbox_count_is alice 2
	grep -q '^Return-Path: <>$' "$(mbox_path alice)"
	grep -q '^bare postmaster$' "$(mbox_path alice)"
}
