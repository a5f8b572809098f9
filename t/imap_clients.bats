#!/usr/bin/env bats
# Real IMAP clients against the real daemon: mbsync (isync) syncing both
# ways to a steady state, offlineimap3, fetchmail over IMAP.

load lib/helpers
load lib/imap
load lib/pop3

setup() {
	imap_setup
	imap_start
	smtp_quick alice@example.org first "body one"
	smtp_quick alice@example.org second "body two"
	smtp_quick alice@example.org third "body three"
	wait_for mbox_count_is alice 3
	python3 "$MAILCLIENT" imap-put "$IMAP_PORT" alice alicepw Work "work one" >/dev/null
}
teardown() { postern_teardown; }

state() { python3 "$MAILCLIENT" imap-state "$IMAP_PORT" alice alicepw; }

@test "mbsync: a two-way sync of several folders with flags, a new folder and a deletion, to a steady state" {
	D=$PT_DIR/mbsync
	mkdir -p "$D/mail"
	cat >"$D/rc" <<EOC
IMAPAccount postern
Host 127.0.0.1
Port $IMAP_PORT
User alice
Pass alicepw
SSLType None
AuthMechs PLAIN

IMAPStore remote
Account postern

MaildirStore local
Path $D/mail/
Inbox $D/mail/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
EOC
	run timeout 60 mbsync -c "$D/rc" -a
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(ls "$D/mail/INBOX/new" "$D/mail/INBOX/cur" 2>/dev/null | grep -c ',U=')" -eq 3 ]
	[ "$(ls "$D/mail/Work/new" "$D/mail/Work/cur" 2>/dev/null | grep -c ',U=')" -eq 1 ]
	# on the device: the first message read and flagged, the second
	# deleted, a new folder with a message of its own
	f1=$(grep -l '^Subject: first' "$D"/mail/INBOX/*/*)
	mv "$f1" "$D/mail/INBOX/cur/$(basename "${f1%%:2,*}"):2,FS"
	f2=$(grep -l '^Subject: second' "$D"/mail/INBOX/*/*)
	rm "$f2"
	mkdir -p "$D/mail/Local/cur" "$D/mail/Local/new" "$D/mail/Local/tmp"
	printf 'From: me@example.org\nSubject: made offline\n\nlocal body\n' \
		>"$D/mail/Local/new/1700000000.1.host"
	run timeout 60 mbsync -c "$D/rc" -a
	echo "$output"
	[ "$status" -eq 0 ]
	run state
	echo "$output"
	grep -q '^INBOX [0-9]* (.*\\Seen.*) first$' <<<"$output"
	grep -q '^INBOX [0-9]* (.*\\Flagged.*) first$' <<<"$output"
	! grep -q '^INBOX .* second$' <<<"$output"
	grep -q '^INBOX [0-9]* () third$' <<<"$output"
	grep -q '^Local [0-9]* (.*) made offline$' <<<"$output"
	grep -q '^Work [0-9]* (.*) work one$' <<<"$output"
	before=$output
	# a new message on the server comes down; then nothing changes any more
	smtp_quick alice@example.org fourth "body four"
	wait_for mbox_count_is alice 3
	run timeout 60 mbsync -c "$D/rc" -a
	[ "$status" -eq 0 ]
	grep -l '^Subject: fourth' "$D"/mail/INBOX/*/* >/dev/null
	mid=$(state)
	run timeout 60 mbsync -c "$D/rc" -a
	[ "$status" -eq 0 ]
	after=$(state)
	echo "$after"
	[ "$mid" = "$after" ]
	[ "$(find "$D/mail" -type f -name '*,U=*' | wc -l)" -eq "$(grep -c '^[A-Za-z]* [0-9]* (' <<<"$after")" ]
}

@test "fetchmail over IMAP takes every message and deletes it from the server" {
	out=$PT_DIR/fetched
	cat >"$PT_DIR/fetchmailrc" <<EOC
poll 127.0.0.1 service $IMAP_PORT protocol IMAP auth password
  user alice password alicepw sslproto '' mda "cat >>$out"
EOC
	chmod 600 "$PT_DIR/fetchmailrc"
	run timeout 60 fetchmail -f "$PT_DIR/fetchmailrc" --nokeep -v
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^Subject: ' "$out")" -eq 3 ]
	run state
	echo "$output"
	grep -q '^folder INBOX 0$' <<<"$output"
}

@test "offlineimap3 mirrors the folders into Maildirs" {
	D=$PT_DIR/oi
	mkdir -p "$D/mail"
	cat >"$D/rc" <<EOC
[general]
accounts = postern
metadata = $D/meta

[Account postern]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = $D/mail

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = $IMAP_PORT
remoteuser = alice
remotepass = alicepw
ssl = no
starttls = no
EOC
	run timeout 90 offlineimap -c "$D/rc" -o -u basic
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(find "$D/mail/INBOX" -type f | wc -l)" -eq 3 ]
	[ "$(find "$D/mail/Work" -type f | wc -l)" -eq 1 ]
	run timeout 90 offlineimap -c "$D/rc" -o -u basic
	[ "$status" -eq 0 ]
	[ "$(find "$D/mail/INBOX" -type f | wc -l)" -eq 3 ]
}
