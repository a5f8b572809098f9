#!/usr/bin/env bats
# IMAP folders end to end: Python imaplib and curl against the real daemon
# (LIST, LSUB, CREATE, DELETE, RENAME, SUBSCRIBE; the special-use folders
# of the first login; names in modified UTF-7 on the wire, UTF-8 in the
# store's folder table).  The store side alone is t/store_imap_folders.bats.

load lib/helpers
load lib/imap

setup() { imap_setup; }
teardown() { postern_teardown; }

@test "imaplib: special-use folders at first login, CREATE/SUBSCRIBE/RENAME/DELETE, LIST patterns" {
	imap_start
	run python3 "$MAILCLIENT" imap-folders "$IMAP_PORT" alice alicepw
	echo "$output"
	[ "$status" -eq 0 ]
	# the first login made the special-use folders
	has() { grep -qxF -- "$1" <<<"$output"; }
	has 'list OK (\HasNoChildren \Archive) "/" "Archive" | (\HasNoChildren \Drafts) "/" "Drafts" | (\HasNoChildren) "/" "INBOX" | (\HasNoChildren \Junk) "/" "Junk" | (\HasNoChildren \Sent) "/" "Sent" | (\HasNoChildren \Trash) "/" "Trash"'
	has 'create Work/2026 OK CREATE completed'
	has 'create again NO [ALREADYEXISTS] Folder already exists'
	grep -q '^lsub OK .*| () "/" "Work/2026"$' <<<"$output"
	has 'list Work/% OK (\HasNoChildren) "/" "Work/2026"'
	has 'rename OK RENAME completed'
	grep -q '^delete INBOX NO \[CANNOT\] ' <<<"$output"
	grep -q '^delete nosuch NO \[NONEXISTENT\] ' <<<"$output"
	# % is one level: Archive (now with a child), the new UTF-7 name, no Work
	line=$(grep '^list % OK' <<<"$output")
	[[ "$line" == *'(\HasChildren \Archive) "/" "Archive"'* ]]
	[[ "$line" == *'"Entw&APw-rfe"'* ]]
	[[ "$line" != *Work* && "$line" != *2026* ]]
	has 'list Deep* OK (\Noselect \HasChildren) "/" "Deep" | (\Noselect \HasChildren) "/" "Deep/er" | (\HasNoChildren) "/" "Deep/er/est"'
	grep -q '^delete parent NO \[CANNOT\] ' <<<"$output"
	grep -q '^bad name NO \[CANNOT\] ' <<<"$output"
	grep -q '^bad utf7 BAD .*Invalid mailbox name' <<<"$output"
	# UTF-8 in the store's table; only generated file names on disk
	grep -qx "f [0-9]* [0-9]* 1 - - Entwürfe" "$PT_SPOOL/.folders/alice/folders"
	! ls "$PT_SPOOL/.folders/alice" | grep -qv '^f[0-9a-f]\{8\}$\|^folders$'
}

@test "curl lists the folders over imap://" {
	imap_start
	run curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u alice:alicepw
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qF '* LIST (\HasNoChildren) "/" "INBOX"' <<<"$output"
	grep -qF '* LIST (\HasNoChildren \Sent) "/" "Sent"' <<<"$output"
	run curl -sS --max-time 10 "imap://127.0.0.1:$IMAP_PORT/" -u alice:wrong
	[ "$status" -ne 0 ]
}

@test "imap-special-use none: the first login makes no folder" {
	postern_conf_set imap-special-use none
	imap_start
	run imap_batch 'a LOGIN bob bobpw\r\nb LIST "" *\r\nc LOGOUT\r\n'
	echo "$output"
	[ "${lines[2]}" = '* LIST (\HasNoChildren) "/" "INBOX"' ]
	[ "${lines[3]}" = "b OK LIST completed" ]
}

@test "LIST with an empty pattern names the separator; LIST-EXTENDED is refused" {
	imap_start
	run imap_batch 'a LOGIN bob bobpw\r\nb LIST "" ""\r\nc LIST (SUBSCRIBED) "" *\r\nd LOGOUT\r\n'
	echo "$output"
	[ "${lines[2]}" = '* LIST (\Noselect) "/" ""' ]
	[ "${lines[3]}" = "b OK LIST completed" ]
	[[ "${lines[4]}" == "c BAD "* ]]
}
