#!/usr/bin/env bats
# The store's IMAP channel, end to end through t/tools/ipcpeer: login
# (MSG_IMAP_AUTH), the account's folder area and table, and the folder
# requests (LIST, CREATE, DELETE, RENAME, SUBSCRIBE).  Statuses: 0 OK,
# 1 TEMPFAIL, 5 NOSUCH, 6 EXISTS, 7 LIMIT, 8 CANNOT (privsep/msg.h).

load lib/helpers
load lib/store

setup() {
	store_setup alice bob
	FA="$SD/spool/.folders/alice"
}

teardown() { store_teardown; }

# every path in the spool, relative, sorted
spool_tree() {
	(cd "$SD/spool" && find . -mindepth 1 | LC_ALL=C sort)
}

@test "the first login makes the folder area, the table and the special-use folders; the second changes nothing" {
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
flist i
END
	echo "$output"
	[ "${lines[2]}" = "imapauth 0 delay=0 account=alice" ]
	[ "${lines[3]}" = "folder Archive sub archive" ]
	[ "${lines[4]}" = "folder Drafts sub drafts" ]
	[ "${lines[5]}" = "folder INBOX sub -" ]
	[ "${lines[6]}" = "folder Junk sub junk" ]
	[ "${lines[7]}" = "folder Sent sub sent" ]
	[ "${lines[8]}" = "folder Trash sub trash" ]
	[ "${lines[9]}" = "flist 0 n=6" ]
	[ "$(stat -c %a "$SD/spool/.folders")" = 700 ]
	[ "$(stat -c %a "$FA")" = 700 ]
	for id in 1 2 3 4 5; do
		f="$FA/f0000000$id"
		[ -f "$f" ] && [ ! -L "$f" ]
		[ "$(stat -c %a "$f")" = 600 ]
		[ ! -s "$f" ]
	done
	[ "$(stat -c %a "$FA/folders")" = 600 ]
	head -n 1 "$FA/folders" | grep -qx 'postern-folders 1'
	grep -q ' sent Sent$' "$FA/folders"
	# nothing else anywhere: no area for bob, no INBOX file made
	[ "$(spool_tree)" = "$(printf '%s\n' ./.folders ./.folders/alice \
		./.folders/alice/f00000001 ./.folders/alice/f00000002 ./.folders/alice/f00000003 \
		./.folders/alice/f00000004 ./.folders/alice/f00000005 ./.folders/alice/folders)" ]
	cp "$FA/folders" "$SD/table.1"
	before=$(spool_tree; stat -c '%i %Y' "$FA/folders")
	sleep 1.1
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
chan j imap
imapauth j alice alicepw
flist j
END
	echo "$output"
	[ "${lines[2]}" = "imapauth 0 delay=0 account=alice" ]
	[ "${lines[4]}" = "imapauth 0 delay=0 account=alice" ]
	[ "${lines[11]}" = "flist 0 n=6" ]
	cmp "$FA/folders" "$SD/table.1"
	[ "$(spool_tree; stat -c '%i %Y' "$FA/folders")" = "$before" ]
}

@test "LIST shows \\Noselect parents, children, subscriptions and special use" {
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
fcreate i Work/2026/Q1
fcreate i Work/2025
fsub i Work/2026
fcreate i My\sFolder
fsub i My\sfolder
flist i
END
	echo "$output"
	[ "${lines[3]}" = "fcreate 0" ]
	[ "${lines[4]}" = "fcreate 0" ]
	[ "${lines[5]}" = "fsub 0" ]
	[ "${lines[6]}" = "fcreate 0" ]
	[ "${lines[7]}" = "fsub 0" ]
	[[ "$output" == *"folder My\\sFolder sub -"* ]]
	[[ "$output" == *"folder Work noselect,children -"* ]]
	[[ "$output" == *"folder Work/2025 - -"* ]]
	[[ "$output" == *"folder Work/2026 noselect,sub,children -"* ]]
	[[ "$output" == *"folder Work/2026/Q1 - -"* ]]
	[[ "$output" == *"flist 0 n=11"* ]]
	# parents come before their children
	w=$(printf '%s\n' "${lines[@]}" | grep -n '^folder Work ' | cut -d: -f1)
	q=$(printf '%s\n' "${lines[@]}" | grep -n '^folder Work/2026/Q1 ' | cut -d: -f1)
	[ "$w" -lt "$q" ]
}

@test "CREATE, DELETE, RENAME, SUBSCRIBE with hierarchy; a folder keeps its file through RENAME" {
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
fcreate i Work
fcreate i Work/Old
fcreate i WORK
fcreate i INBOX
fcreate i inbox/Sub
frename i Work Jobs
frename i Jobs Jobs/Deeper
frename i Jobs Sent
frename i Nosuch X
frename i Jobs jobs
fdelete i INBOX
frename i INBOX Elsewhere
fdelete i Jobs
fdelete i Jobs
fsub i Jobs
funsub i Jobs
fdelete i jobs/Old
fdelete i Jobs
funsub i Trash
funsub i Trash
fsub i Trash
fdelete i Trash
funsub i Trash
flist i
END
	echo "$output"
	[ "${lines[3]}" = "fcreate 0" ]
	[ "${lines[4]}" = "fcreate 0" ]
	[ "${lines[5]}" = "fcreate 6 Folder already exists" ]
	[ "${lines[6]}" = "fcreate 6 Folder already exists" ]
	[ "${lines[7]}" = "fcreate 0" ]
	[ "${lines[8]}" = "frename 0" ]
	[ "${lines[9]}" = "frename 8 Folder cannot be renamed below itself" ]
	[ "${lines[10]}" = "frename 6 Folder cannot be renamed: the new name exists" ]
	[ "${lines[11]}" = "frename 5 Folder does not exist" ]
	[ "${lines[12]}" = "frename 0" ]
	[ "${lines[13]}" = "fdelete 8 Folder is INBOX, which cannot be deleted" ]
	# INBOX (no mail yet) to a new, empty folder
	[ "${lines[14]}" = "frename 0" ]
	# a folder with sub-folders keeps its name as \Noselect; then it holds
	# no mail and cannot be deleted again (RFC 3501 6.3.4)
	[ "${lines[15]}" = "fdelete 0" ]
	[[ "${lines[16]}" == "fdelete 8 Folder has sub-folders and holds no mail itself"* ]]
	[ "${lines[17]}" = "fsub 0" ]
	[ "${lines[18]}" = "funsub 0" ]
	[ "${lines[19]}" = "fdelete 0" ]
	[ "${lines[20]}" = "fdelete 5 Folder does not exist" ]
	[ "${lines[21]}" = "funsub 0" ]
	[ "${lines[22]}" = "funsub 5 Folder is not subscribed" ]
	[ "${lines[23]}" = "fsub 0" ]
	# a deleted subscribed folder stays as a name for its subscription
	[ "${lines[24]}" = "fdelete 0" ]
	[ "${lines[25]}" = "funsub 0" ]
	[[ "$output" == *"folder INBOX sub,children -"* ]]
	[[ "$output" == *"folder INBOX/Sub - -"* ]]
	[[ "$output" == *"folder Elsewhere - -"* ]]
	[[ "$output" != *"folder jobs"* && "$output" != *"folder Jobs"* && "$output" != *"folder Work"* ]]
	[[ "$output" != *"folder Trash"* ]]
	# Work (f6) and Work/Old (f7) went; INBOX/Sub (f8) and the rest stay
	[ ! -e "$FA/f00000006" ] && [ ! -e "$FA/f00000007" ] && [ ! -e "$FA/f00000003" ]
	[ -f "$FA/f00000008" ] && [ -f "$FA/f00000009" ] && [ -f "$FA/f00000001" ]
}

@test "RENAME keeps the file, UIDVALIDITY and sub-folders; the table says so" {
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
fcreate i Work/Old
fcreate i Work
frename i Work Archiv/Jobs
flist i
END
	echo "$output"
	[ "${lines[5]}" = "frename 0" ]
	[[ "$output" == *"folder Archiv noselect,children -"* ]]
	[[ "$output" == *"folder Archiv/Jobs children -"* ]]
	[[ "$output" == *"folder Archiv/Jobs/Old - -"* ]]
	grep -q '^f 7 [0-9]* 1 - - Archiv/Jobs$' "$FA/folders"
	grep -q '^f 6 [0-9]* 1 - - Archiv/Jobs/Old$' "$FA/folders"
	[ -f "$FA/f00000006" ] && [ -f "$FA/f00000007" ]
}

@test "hostile names: a clean refusal or a folder of this account only, nothing outside its area" {
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
fcreate i ../x
fcreate i a/../../b
fcreate i a\x00b
fcreate i 50%
fcreate i a*
fcreate i .hidden
fcreate i a/.b
fcreate i a//b
fcreate i /abs
fcreate i trail/
fcreate i @empty
fcreate i \xff\xfe
fcreate i a\x0ab
fcreate i \xe2\x80\xaeevil
fcreate i ../bob
fcreate i bob
fcreate i ..\x2fbob
fdelete i ../bob
fsub i ../../etc/passwd
frename i bob ../bob
frename i bob .bob
flist i
alive i
END
	echo "$output"
	[ "${lines[3]}" = "fcreate 8 Folder has a '.' or '..' component" ]
	[ "${lines[4]}" = "fcreate 8 Folder has a '.' or '..' component" ]
	[ "${lines[5]}" = "fcreate 8 Folder holds a NUL byte" ]
	[ "${lines[6]}" = "fcreate 8 Folder holds a LIST wildcard ('%' or '*')" ]
	[ "${lines[7]}" = "fcreate 8 Folder holds a LIST wildcard ('%' or '*')" ]
	[ "${lines[8]}" = "fcreate 8 Folder has a component starting with '.'" ]
	[ "${lines[9]}" = "fcreate 8 Folder has a component starting with '.'" ]
	[[ "${lines[10]}" == "fcreate 8 Folder has an empty component"* ]]
	[[ "${lines[11]}" == "fcreate 8 Folder has an empty component"* ]]
	[[ "${lines[12]}" == "fcreate 8 Folder has an empty component"* ]]
	[ "${lines[13]}" = "fcreate 8 Folder is empty" ]
	[[ "${lines[14]}" == "fcreate 8 "* ]]
	[ "${lines[15]}" = "fcreate 8 Folder holds a control character" ]
	[ "${lines[16]}" = "fcreate 8 Folder holds a bidirectional control" ]
	[ "${lines[17]}" = "fcreate 8 Folder has a '.' or '..' component" ]
	# "bob" is only a folder name of alice's
	[ "${lines[18]}" = "fcreate 0" ]
	[ "${lines[19]}" = "fcreate 8 Folder has a '.' or '..' component" ]
	[ "${lines[20]}" = "fdelete 8 Folder has a '.' or '..' component" ]
	[ "${lines[21]}" = "fsub 8 Folder has a '.' or '..' component" ]
	[ "${lines[22]}" = "frename 8 New name has a '.' or '..' component" ]
	[ "${lines[23]}" = "frename 8 New name has a component starting with '.'" ]
	[[ "$output" == *"folder bob - -"* ]]
	[ "${lines[-1]}" = "alive i" ]
	# the only new path is the file of alice's folder "bob"
	[ "$(spool_tree)" = "$(printf '%s\n' ./.folders ./.folders/alice \
		./.folders/alice/f00000001 ./.folders/alice/f00000002 ./.folders/alice/f00000003 \
		./.folders/alice/f00000004 ./.folders/alice/f00000005 ./.folders/alice/f00000006 \
		./.folders/alice/folders)" ]
	[ ! -e "$SD/x" ] && [ ! -e "$SD/b" ] && [ ! -e "$SD/spool/bob" ]
}

@test "names differing only in case or Unicode normalization are one folder" {
	# Rechnungen / RECHNUNGEN; Greek ΈΡΓΑ / έργα; Cyrillic ПОЧТА / почта;
	# é precomposed, then e + U+0301 (refused: one spelling only); the
	# Kelvin sign (NFC makes it K)
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
fcreate i Rechnungen
fcreate i RECHNUNGEN
fcreate i \xce\x88\xce\xa1\xce\x93\xce\x91
fcreate i \xce\xad\xcf\x81\xce\xb3\xce\xb1
fcreate i \xd0\x9f\xd0\x9e\xd0\xa7\xd0\xa2\xd0\x90
fcreate i \xd0\xbf\xd0\xbe\xd1\x87\xd1\x82\xd0\xb0
fcreate i caf\xc3\xa9
fcreate i cafe\xcc\x81
fcreate i CAF\xc3\x89
fcreate i \xe2\x84\xaaelvin
fdelete i rechnungen
fdelete i Rechnungen
END
	echo "$output"
	[ "${lines[3]}" = "fcreate 0" ]
	[ "${lines[4]}" = "fcreate 6 Folder already exists" ]
	[ "${lines[5]}" = "fcreate 0" ]
	[ "${lines[6]}" = "fcreate 6 Folder already exists" ]
	[ "${lines[7]}" = "fcreate 0" ]
	[ "${lines[8]}" = "fcreate 6 Folder already exists" ]
	[ "${lines[9]}" = "fcreate 0" ]
	[[ "${lines[10]}" == "fcreate 8 Folder holds a combining mark"* ]]
	[ "${lines[11]}" = "fcreate 6 Folder already exists" ]
	[ "${lines[12]}" = "fcreate 8 Folder holds a sign Unicode normalization replaces" ]
	[ "${lines[13]}" = "fdelete 0" ]
	[ "${lines[14]}" = "fdelete 5 Folder does not exist" ]
}

@test "long and deep names: LIMIT within the ceiling, a name beyond the ceiling drops the channel" {
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
fcreate i @name:1024
fcreate i @name:1025
fcreate i @name:2048
fcreate i @comp:255
fcreate i @comp:256
fcreate i a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p
fcreate i a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q
frename i @comp:255 @name:1025
chan j imap
imapauth j alice alicepw
fcreate j @name:2049
alive j
chan k imap
imapauth k alice alicepw
fcreate k @name:10000
alive k
chan l imap
imapauth l alice alicepw
frename l @name:3000 x
alive l
flist i
END
	echo "$output"
	[ "${lines[3]}" = "fcreate 0" ]
	[ "${lines[4]}" = "fcreate 7 Folder is too long" ]
	[ "${lines[5]}" = "fcreate 7 Folder is too long" ]
	[ "${lines[6]}" = "fcreate 0" ]
	[ "${lines[7]}" = "fcreate 7 Folder has a component longer than 255 bytes" ]
	[ "${lines[8]}" = "fcreate 0" ]
	[ "${lines[9]}" = "fcreate 7 Folder is nested too deep" ]
	[ "${lines[10]}" = "frename 7 New name is too long" ]
	[ "${lines[13]}" = "fcreate eof" ]
	[ "${lines[14]}" = "eof j" ]
	[ "${lines[17]}" = "fcreate eof" ]
	[ "${lines[18]}" = "eof k" ]
	[ "${lines[21]}" = "frename eof" ]
	[ "${lines[22]}" = "eof l" ]
	grep -q "imap channel of worker .* dropped: payload size out of range (MSG_FOLDER_CREATE, 2053 bytes)" "$SD/log"
	grep -q "imap channel of worker .* dropped: payload size out of range (MSG_FOLDER_CREATE, 10004 bytes)" "$SD/log"
	grep -q "imap channel of worker .* dropped: folder name longer than the ceiling (MSG_FOLDER_RENAME)" "$SD/log"
	# nothing of the refused names was made: INBOX and 5 special, the
	# 1024-byte name (6 levels), the 255-byte one, a..p (16 levels)
	[ "${lines[-1]}" = "flist 0 n=29" ]
	[ "$(grep -c '^f ' "$FA/folders")" -eq $((6 + 6 + 1 + 16)) ]
}

@test "max-folders, max-folder-name-length and max-folder-depth come from the config" {
	PEER_OPTS+=(-F 9 -L 20 -D 2)
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
fcreate i a/b
fcreate i a/b/c
fcreate i aaaaaaaaaaaaaaaaaaaaa
fcreate i aaaaaaaaaaaaaaaaaaaa
fcreate i x/y
fcreate i z
fcreate i zz
frename i z q/r
frename i z q
END
	echo "$output"
	[ "${lines[2]}" = "imapauth 0 delay=0 account=alice" ]
	[ "${lines[3]}" = "fcreate 0" ]
	[ "${lines[4]}" = "fcreate 7 Folder is nested too deep" ]
	[ "${lines[5]}" = "fcreate 7 Folder is too long" ]
	[ "${lines[6]}" = "fcreate 0" ]
	# 6 + a + a/b + the 20-byte one = 9
	[ "${lines[7]}" = "fcreate 7 Folder cannot be made: the account has too many folders" ]
	[ "${lines[8]}" = "fcreate 7 Folder cannot be made: the account has too many folders" ]
	[ "${lines[9]}" = "fcreate 7 Folder cannot be made: the account has too many folders" ]
	[ "${lines[10]}" = "frename 5 Folder does not exist" ]
	[ "${lines[11]}" = "frename 5 Folder does not exist" ]
}

@test "imap-special-use: the configured list only, none at all, and a later login adds a new one" {
	PEER_OPTS+=(-U 0x5)
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
flist i
END
	echo "$output"
	[ "${lines[3]}" = "folder INBOX sub -" ]
	[ "${lines[4]}" = "folder Sent sub sent" ]
	[ "${lines[5]}" = "folder Trash sub trash" ]
	[ "${lines[6]}" = "flist 0 n=3" ]
	PEER_OPTS=("${PEER_OPTS[@]:0:${#PEER_OPTS[@]}-2}" -U 0)
	run peer <<'END'
start
chan i imap
imapauth i bob bobpw
flist i
END
	echo "$output"
	[ "${lines[3]}" = "folder INBOX sub -" ]
	[ "${lines[4]}" = "flist 0 n=1" ]
	[ "$(ls "$SD/spool/.folders/bob")" = folders ]
	PEER_OPTS=("${PEER_OPTS[@]:0:${#PEER_OPTS[@]}-2}" -U 0x8)
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
flist i
END
	echo "$output"
	[[ "$output" == *"folder Junk sub junk"* ]]
	[[ "$output" == *"flist 0 n=4"* ]]
	[ -f "$FA/f00000003" ]
}

@test "folder requests before login, and from SMTP and POP3 channels, drop the channel; others keep working" {
	run peer <<'END'
start
chan good imap
imapauth good alice alicepw
chan early imap
flist early
chan early2 imap
fcreate early2 X
chan s smtp
fcreate s X
chan p pop3
auth p alice alicepw
flist p
chan s2 smtp
imapauth s2 alice alicepw
chan p2 pop3
imapauth p2 alice alicepw
chan twice imap
imapauth twice alice alicepw
imapauth twice alice alicepw
chan pop imap
imapauth pop alice alicepw
auth pop alice alicepw
fcreate good StillHere
flist good
END
	echo "$output"
	[ "${lines[2]}" = "imapauth 0 delay=0 account=alice" ]
	[ "${lines[4]}" = "flist eof" ]
	[ "${lines[6]}" = "fcreate eof" ]
	[ "${lines[8]}" = "fcreate eof" ]
	[[ "${lines[10]}" == "auth 0 "* ]]
	[ "${lines[11]}" = "flist eof" ]
	[ "${lines[13]}" = "imapauth eof" ]
	[ "${lines[15]}" = "imapauth eof" ]
	[ "${lines[17]}" = "imapauth 0 delay=0 account=alice" ]
	[ "${lines[18]}" = "imapauth eof" ]
	[ "${lines[20]}" = "imapauth 0 delay=0 account=alice" ]
	[ "${lines[21]}" = "auth -1 delay=0" ]
	[ "${lines[22]}" = "fcreate 0" ]
	[[ "$output" == *"folder StillHere - -"* ]]
	grep -q "imap channel of worker .* dropped: request before authentication (MSG_FOLDER_LIST" "$SD/log"
	grep -q "smtp channel of worker .* dropped: request not allowed on this kind of channel (MSG_FOLDER_CREATE" "$SD/log"
	grep -q "pop3 channel of worker .* dropped: request not allowed on this kind of channel (MSG_FOLDER_LIST" "$SD/log"
	grep -q "pop3 channel of worker .* dropped: request not allowed on this kind of channel (MSG_IMAP_AUTH" "$SD/log"
	grep -q "imap channel of worker .* dropped: request not allowed in this state (MSG_IMAP_AUTH" "$SD/log"
	grep -q "imap channel of worker .* dropped: request not allowed on this kind of channel (MSG_AUTH" "$SD/log"
	# the refused channels made nothing
	[ "$(grep -c '^f ' "$FA/folders")" -eq 7 ]
}

@test "malformed folder requests drop the channel: bad sizes, SUBSCRIBE neither on nor off, a descriptor" {
	run peer <<'END'
start
chan a imap
imapauth a alice alicepw
raw a MSG_FOLDER_LIST 4
alive a
chan b imap
imapauth b alice alicepw
raw b MSG_FOLDER_CREATE 3
chan c imap
imapauth c alice alicepw
raw c MSG_FOLDER_RENAME 4
chan d imap
imapauth d alice alicepw
raw d MSG_FOLDER_SUBSCRIBE 8 memfd
chan e imap
imapauth e alice alicepw
raw e MSG_FOLDER_DELETE 9
chan ok imap
imapauth ok alice alicepw
raw ok MSG_FOLDER_SUBSCRIBE 8
END
	echo "$output"
	[ "${lines[3]}" = "raw eof" ]
	[ "${lines[4]}" = "eof a" ]
	[ "${lines[7]}" = "raw eof" ]
	[ "${lines[10]}" = "raw eof" ]
	[ "${lines[13]}" = "raw eof" ]
	# u32 len 0 + 5 stray bytes
	[ "${lines[16]}" = "raw eof" ]
	# off, the empty name: a clean refusal
	[ "${lines[19]}" = "raw answered" ]
	grep -q "payload size out of range (MSG_FOLDER_LIST, 4 bytes)" "$SD/log"
	grep -q "unexpected descriptor" "$SD/log"
	grep -q "trailing bytes after the request (MSG_FOLDER_DELETE)" "$SD/log"
}

@test "wrong password and unknown user look the same; failures are throttled as for POP3" {
	run peer <<'END'
start
chan i imap
imapauth i alice wrong 192.0.2.1
imapauth i nosuch wrong 192.0.2.2
imapauth i ../../etc/passwd x 192.0.2.3
imapauth i alice wrong 192.0.2.1
imapauth i nosuch wrong 192.0.2.2
imapauth i alice alicepw 192.0.2.77
END
	echo "$output"
	[ "${lines[2]}" = "imapauth 1 delay=0" ]
	[ "${lines[3]}" = "imapauth 1 delay=0" ]
	[ "${lines[4]}" = "imapauth 1 delay=0" ]
	[ "${lines[5]}" = "imapauth 1 delay=1000" ]
	[ "${lines[6]}" = "imapauth 1 delay=1000" ]
	[ "${lines[7]}" = "imapauth 0 delay=0 account=alice" ]
	# no folder area for a name that failed
	[ "$(ls "$SD/spool/.folders")" = alice ]
}

@test "IMAP logins lock nothing: with POP3 on the account, and several at once" {
	run peer <<'END'
start
chan p pop3
auth p alice alicepw
chan i imap
imapauth i alice alicepw
chan j imap
imapauth j alice alicepw
chan q pop3
auth q alice alicepw
fcreate i Shared
flist j
END
	echo "$output"
	[[ "${lines[2]}" == "auth 0 "* ]]
	[ "${lines[4]}" = "imapauth 0 delay=0 account=alice" ]
	[ "${lines[6]}" = "imapauth 0 delay=0 account=alice" ]
	# [IN-USE] is between POP3 sessions only
	[[ "${lines[8]}" == "auth 2 "* ]]
	[ "${lines[9]}" = "fcreate 0" ]
	[[ "$output" == *"folder Shared - -"* ]]
}

@test "the table survives a store restart" {
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
fcreate i Keep/Me
fsub i Keep/Me
frename i Keep Kept
restart
chan j imap
imapauth j alice alicepw
flist j
END
	echo "$output"
	[ "${lines[6]}" = "started" ]
	[ "${lines[8]}" = "imapauth 0 delay=0 account=alice" ]
	[[ "$output" == *"folder Kept noselect,children -"* ]]
	[[ "$output" == *"folder Kept/Me sub -"* ]]
	[[ "$output" == *"flist 0 n=8"* ]]
}

@test "a damaged table: the login is a temporary failure, the log names the file, the file is left as it is" {
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
END
	[ "${lines[2]}" = "imapauth 0 delay=0 account=alice" ]
	sed -i 's/ Sent$/ Sant/' "$FA/folders"
	cp "$FA/folders" "$SD/damaged"
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
chan j imap
imapauth j bob bobpw
fcreate j Fine
END
	echo "$output"
	[ "${lines[2]}" = "imapauth 3 delay=0" ]
	[ "${lines[4]}" = "imapauth 0 delay=0 account=bob" ]
	[ "${lines[5]}" = "fcreate 0" ]
	cmp "$FA/folders" "$SD/damaged"
	grep -q "folder table $SD/spool/.folders/alice/folders fails its checksum" "$SD/log"
}

@test "CREATE: a file left by a crash before its table was saved is replaced by an empty one" {
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
END
	# as if a CREATE had made f6 and died before saving the table
	printf 'From x\nleft over\n' >"$FA/f00000006"
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
fcreate i New
END
	echo "$output"
	[ "${lines[3]}" = "fcreate 0" ]
	grep -q '^f 6 [0-9]* 1 - - New$' "$FA/folders"
	[ -f "$FA/f00000006" ] && [ ! -s "$FA/f00000006" ]
}

@test "RENAME INBOX moves its mail to a new folder, INBOX stays and is empty; a POP3 snapshot keeps reading" {
	run peer <<'END'
start
chan s smtp
append s a@example.org alice @1
append s a@example.org alice @2
append s a@example.org alice @3
chan p pop3
auth p alice alicepw
chan i imap
imapauth i alice alicepw
fcreate i Other
frename i INBOX Other
frename i INBOX Old/Mail
retr p 2
release p
chan q pop3
auth q alice alicepw
release q
append s a@example.org alice @4
flist i
END
	echo "$output"
	[[ "${lines[6]}" == "auth 0 delay=0 count=3 "* ]]
	[ "${lines[9]}" = "fcreate 0" ]
	[ "${lines[10]}" = "frename 6 New name already exists" ]
	[ "${lines[11]}" = "frename 0" ]
	[[ "${lines[12]}" == "retr 0 len="* ]]
	[[ "${lines[15]}" == "auth 0 delay=0 count=0 "* ]]
	[ "${lines[17]}" = "append 0 delivered" ]
	[[ "$output" == *"folder INBOX sub -"* ]]
	[[ "$output" == *"folder Old noselect,children -"* ]]
	[[ "$output" == *"folder Old/Mail - -"* ]]
	# the new folder's file (f7) holds the three messages, whole, once each
	[ "$(grep -c '^Subject: message [123]$' "$FA/f00000007")" -eq 3 ]
	[ "$(grep -c '^From ' "$FA/f00000007")" -eq 3 ]
	grep -q '^end 3$' "$FA/f00000007"
	# INBOX has only what came after
	[ "$(grep -c '^Subject: message' "$SD/spool/alice")" -eq 1 ]
	grep -q '^Subject: message 4$' "$SD/spool/alice"
	grep -q "INBOX renamed: 3 messages moved to folder f00000007" "$SD/log"
}

@test "kill -9 during RENAME INBOX: each message in INBOX, in the new folder or in both, never in neither" {
	local iter n k
	n=0
	for iter in $(seq 1 25); do
		script="start
chan s smtp
"
		for k in 1 2 3 4; do
			n=$((n + 1))
			script+="append s a@example.org alice @$n
"
		done
		script+="chan i imap
imapauth i alice alicepw
killafter $(( (RANDOM % 40) * 100 ))
frename i INBOX Moved$iter
"
		run peer <<<"$script"
		echo "$output"
		[ "${lines[0]}" = "started" ]
		[ "$(printf '%s\n' "${lines[@]}" | grep -c '^append 0 delivered$')" -eq 4 ]
		[ "${lines[7]}" = "imapauth 0 delay=0 account=alice" ]
		# the table parses (the next login needs it) and every file it
		# names exists
		while read -r id; do
			[ -f "$FA/$(printf 'f%08x' "$id")" ] || { echo "table names missing f$id"; false; }
		done < <(awk '$1 == "f" && $2 != 0 && $5 !~ /n/ { print $2 }' "$FA/folders")
		# every message so far: somewhere, and at most once in each
		# file that counts (INBOX and the files the table names)
		files=("$SD/spool/alice")
		while read -r id; do files+=("$FA/$(printf 'f%08x' "$id")"); done \
			< <(awk '$1 == "f" && $2 != 0 && $5 !~ /n/ { print $2 }' "$FA/folders")
		for m in $(seq 1 "$n"); do
			found=0
			for f in "${files[@]}"; do
				[ -f "$f" ] || continue
				c=$(grep -c "^Subject: message $m\$" "$f" || true)
				[ "$c" -le 1 ] || { echo "message $m twice in $f"; false; }
				found=$((found + c))
			done
			[ "$found" -ge 1 ] || { echo "message $m lost (iteration $iter)"; false; }
		done
	done
	# and the account still works
	run peer <<'END'
start
chan i imap
imapauth i alice alicepw
flist i
END
	[ "${lines[2]}" = "imapauth 0 delay=0 account=alice" ]
}
