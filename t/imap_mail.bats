#!/usr/bin/env bats
# IMAP reading mail end to end: SMTP delivers, imaplib and curl read over
# IMAP (SELECT/EXAMINE, FETCH of every item, STATUS, APPEND, IDLE), and
# POP3 keeps working on the same INBOX with the same UIDLs.

load lib/helpers
load lib/imap
load lib/pop3

setup() {
	imap_setup
	imap_start
	smtp_quick alice@example.org first "body one"
	smtp_quick alice@example.org second "body two"
	wait_for mbox_count_is alice 2
}
teardown() { postern_teardown; }

uidl() { pop3_batch 'USER alice\r\nPASS alicepw\r\nUIDL\r\nQUIT\r\n' | grep '^[0-9]'; }

@test "SELECT gives UIDs 1..n once, FETCH serves every item, POP3's UIDLs stay what they were" {
	before=$(uidl)
	run python3 "$MAILCLIENT" imap-read "$IMAP_PORT" alice alicepw
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx "select OK 2" <<<"$output"
	grep -qx "untagged EXISTS \[b'2'\]" <<<"$output"
	grep -qx "untagged RECENT \[b'2'\]" <<<"$output"
	grep -qx "untagged UIDNEXT \[b'3'\]" <<<"$output"
	grep -q '^fetch meta OK 1 (UID 1 FLAGS (\\Recent) INTERNALDATE "[0-9][0-9]-[A-Z][a-z][a-z]-20[0-9][0-9] [0-9:]* +0000" RFC822.SIZE [0-9]*) | 2 (UID 2 ' <<<"$output"
	grep -qF "fetch headers OK 1 (UID 1 BODY[HEADER.FIELDS (From Subject)] {44} b'From: sender@example.com\r\nSubject: first\r\n\r\n'" <<<"$output"
	# the whole message: CRLF lines, Return-Path first, as many bytes as
	# RFC822.SIZE says
	grep -q "^fetch body OK 1 (RFC822.SIZE [0-9]* BODY\[\] {[0-9]*} b'Return-Path: <sender@example.com>\\\\r\\\\nReceived: " <<<"$output"
	grep -q "body one\\\\r\\\\n'" <<<"$output"
	line=$(grep '^body size' <<<"$output")
	[ "$(awk '{print $3}' <<<"$line")" = "$(awk '{print $5}' <<<"$line")" ]
	grep -qF 'fetch envelope OK 2 (ENVELOPE (NIL "second" ((NIL NIL "sender" "example.com"))' <<<"$output"
	grep -qF 'BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL))' <<<"$output"
	grep -q "^fetch bad seq BAD .*Invalid message sequence number" <<<"$output"
	grep -qx "uid fetch none OK None" <<<"$output"
	grep -qF 'status OK "INBOX" (MESSAGES 2 RECENT 0 UIDNEXT 3 UIDVALIDITY ' <<<"$output"
	grep -q ' UNSEEN 2)$' <<<"$(grep '^status OK' <<<"$output")"
	# the UIDs are in the mbox now, and every UIDL is what it was
	[ "$(grep -c '^X-Postern: .* imapuid=[12]\b' "$PT_SPOOL/alice")" -eq 2 ]
	after=$(uidl)
	[ "$before" = "$after" ]
	# a second SELECT: no message is \Recent any more, the UIDs stay
	run imap_batch 'a LOGIN alice alicepw\r\nb EXAMINE INBOX\r\nc UID FETCH 1:* (UID)\r\nd LOGOUT\r\n'
	echo "$output"
	grep -qx '\* 0 RECENT' <<<"$output"
	grep -qx 'b OK \[READ-ONLY\] EXAMINE completed' <<<"$output"
	grep -qx '\* 1 FETCH (UID 1)' <<<"$output"
	grep -qx '\* 2 FETCH (UID 2)' <<<"$output"
}

@test "IDLE: a delivery's EXISTS comes at once; NOOP reports new mail too" {
	run python3 "$MAILCLIENT" imap-idle "$IMAP_PORT" alice alicepw "$SMTP_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx 'idle: + idling' <<<"$output"
	grep -q '^after [0-9.]* s: \* 3 EXISTS$' <<<"$output"
	secs=$(sed -n 's/^after \([0-9.]*\) s:.*/\1/p' <<<"$output")
	awk -v s="$secs" 'BEGIN { exit !(s < 2) }'
	run imap_batch 'a LOGIN alice alicepw\r\nb SELECT INBOX\r\nc NOOP\r\nd LOGOUT\r\n'
	grep -qx '\* 3 EXISTS' <<<"$output"
}

@test "a message POP3 deleted stays readable by an open IMAP view until its next NOOP reports the EXPUNGE" {
	run python3 "$MAILCLIENT" imap-pop3-expunge "$IMAP_PORT" "$POP3_PORT" alice alicepw
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx 'fetch after pop3 dele: OK body one' <<<"$output"
	grep -qx 'noop: \* 1 EXPUNGE' <<<"$output"
	grep -qx 'exists after: 1' <<<"$output"
}

@test "curl fetches a message by UID over imap://" {
	run curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/INBOX;UID=2" -u alice:alicepw
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^Subject: second' <<<"$output"
	grep -q '^body two' <<<"$output"
}

@test "APPEND: APPENDUID, TRYCREATE, the message read back; over max-message-size NO [TOOBIG] without a +" {
	run python3 "$MAILCLIENT" imap-read "$IMAP_PORT" alice alicepw
	echo "$output"
	grep -q '^append OK \[APPENDUID [0-9]* 1\] APPEND completed' <<<"$output"
	grep -q '^append missing NO \[TRYCREATE\] ' <<<"$output"
	grep -qF 'fetch appended OK 1 (FLAGS (\Seen) INTERNALDATE "05-Dec-2026 06:00:00 +0000" BODY[] {56}' <<<"$output"
	postern_stop
	postern_conf_set max-message-size 1K
	imap_start
	run imap_batch 'a LOGIN alice alicepw\r\nb APPEND Sent {2000}\r\nc NOOP\r\nd LOGOUT\r\n'
	echo "$output"
	[[ "${lines[2]}" == "b NO [TOOBIG] "* ]]
	[ "${lines[3]}" = "c OK NOOP completed" ]
	! grep -q '^+ ' <<<"$output"
}

@test "SEARCH and UID SEARCH: all, header and body keys, OR, a refused charset" {
	run imap_batch 'a LOGIN alice alicepw\r\nb SELECT INBOX\r\nc SEARCH ALL\r\nd UID SEARCH SUBJECT second\r\ne SEARCH BODY "one"\r\nf SEARCH CHARSET KOI8-R ALL\r\ng SEARCH OR UNSEEN FROM nobody\r\nh SEARCH NOT TEXT body\r\ni SEARCH (\r\nj LOGOUT\r\n'
	echo "$output"
	grep -qx '\* SEARCH 1 2' <<<"$output"
	[ "$(grep -A1 '^b OK' <<<"$output" | tail -1)" = "* SEARCH 1 2" ]
	grep -qx 'c OK SEARCH completed' <<<"$output"
	[ "$(grep -B1 '^d OK' <<<"$output" | head -1)" = "* SEARCH 2" ]
	[ "$(grep -B1 '^e OK' <<<"$output" | head -1)" = "* SEARCH 1" ]
	grep -q '^f NO \[BADCHARSET (US-ASCII UTF-8)\] ' <<<"$output"
	[ "$(grep -B1 '^h OK' <<<"$output" | head -1)" = "* SEARCH" ]
	grep -q '^i BAD ' <<<"$output"
}

@test "imaplib: STORE, COPY and MOVE with COPYUID, EXPUNGE, CHECK, UNSELECT, NAMESPACE, ID, ENABLE" {
	smtp_quick alice@example.org third "body three"
	wait_for mbox_count_is alice 3
	run python3 "$MAILCLIENT" imap-file "$IMAP_PORT" alice alicepw
	echo "$output"
	[ "$status" -eq 0 ]
	has() { grep -qxF -- "$1" <<<"$output"; }
	has 'namespace OK (("" "/")) NIL NIL'
	grep -qF "untagged ID [b'(\"name\" \"postern\")']" <<<"$output"
	grep -q '^enable OK' <<<"$output"
	grep -qF 'permanentflags [b'"'"'(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)'"'"']' <<<"$output"
	has 'store +seen OK 1 (FLAGS (\Seen \Recent $Important))'
	has 'store -seen OK 1 (FLAGS (\Recent $Important))'
	has 'store set OK 2 (FLAGS (\Answered \Flagged \Recent))'
	has 'store silent OK None'
	has 'fetch flags OK 1 (FLAGS (\Recent $Important)) | 2 (FLAGS (\Answered \Flagged \Recent)) | 3 (FLAGS (\Draft \Recent))'
	grep -q '^copy OK \[COPYUID [0-9]* 1:2 1:2\] COPY completed$' <<<"$output"
	grep -q '^copy missing NO \[TRYCREATE\] ' <<<"$output"
	grep -q '^uid move OK' <<<"$output"
	grep -qF "untagged after move [b'3']" <<<"$output"
	has 'check OK CHECK completed'
	has 'expunge OK 1'
	has 'fetch left OK 1 (FLAGS (\Answered \Flagged \Recent) BODY[HEADER.FIELDS (SUBJECT)] {19} b'"'"'Subject: second\r\n\r\n'"'"' | )'
	grep -q '^unselect OK' <<<"$output"
	# flags and keywords travel with COPY and MOVE
	grep -q "^work flags OK 1 (UID 1 FLAGS (\$Important) BODY" <<<"$output"
	grep -q "| 2 (UID 2 FLAGS (\\\\Answered \\\\Flagged) BODY" <<<"$output"
	grep -q "| 3 (UID 3 FLAGS (\\\\Draft) BODY" <<<"$output"
	grep -q '^store readonly NO \[READ-ONLY\] ' <<<"$output"
}

@test "pop3-sets-seen: every message a POP3 client RETRs is \\Seen over IMAP, read-ahead ones included; TOP marks none" {
	for i in 3 4 5 6; do smtp_quick alice@example.org "m$i" "body $i"; done
	wait_for mbox_count_is alice 6
	# the first IMAP SELECT gives the UIDs
	imap_batch 'a LOGIN alice alicepw\r\nb SELECT INBOX\r\nc LOGOUT\r\n' >/dev/null
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nTOP 6 0\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\nRETR 4\r\nRETR 5\r\nQUIT\r\n'
	[[ "$output" == *"+OK postern signing off"* ]]
	run imap_batch 'a LOGIN alice alicepw\r\nb EXAMINE INBOX\r\nc FETCH 1:* (FLAGS)\r\nd LOGOUT\r\n'
	echo "$output"
	for n in 1 2 3 4 5; do
		grep -qx "\* $n FETCH (FLAGS (\\\\Seen))" <<<"$output"
	done
	grep -qx '\* 6 FETCH (FLAGS ())' <<<"$output"
}
