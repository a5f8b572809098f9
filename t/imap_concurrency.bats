#!/usr/bin/env bats
# One INBOX, every protocol at once (issue 13): SMTP deliveries, POP3
# sessions deleting at QUIT, two IMAP sessions flagging and expunging.
# Nothing delivered is lost or doubled; what goes, goes once.

load lib/helpers
load lib/imap

setup() { imap_setup; }
teardown() { postern_teardown; }

# 15 s of every protocol on alice's INBOX: nothing lost or doubled, and
# each of the two IMAP sessions and POP3 removed some
concurrency_run() {
	imap_start
	run timeout 120 python3 "$MAILCLIENT" imap-concurrency "$SMTP_PORT" "$POP3_PORT" \
		"$IMAP_PORT" alice alicepw 15
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^lost 0 dup 0 removed-twice 0$' <<<"$output"
	grep -q "by \[.*'imap0'.*'imap1'.*'pop3'\]" <<<"$output"
}

@test "SMTP, POP3 DELE+QUIT and two IMAP sessions expunging on one INBOX for 15 s: nothing lost, nothing twice" {
	concurrency_run
}

@test "the same with every EXPUNGE deferred (compact-min-size 0): nothing lost, nothing twice, nothing expunged comes back" {
	postern_conf_set compact-min-size 0
	concurrency_run
	# the expunges were deferred, and the store logged no trouble
	grep -q 'expunge, [1-9][0-9]* messages (hidden; the file is compacted later)' "$PT_LOG"
	! grep -qi 'store:.*\(error\|cannot\|failed\)' "$PT_LOG"
}
