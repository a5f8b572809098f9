#!/usr/bin/env bats
# IMAP EXPUNGE, COPY and MOVE in the store (store/store_expunge.c): the
# \Deleted messages of a view leave the folder by the crash-safe rewrite
# POP3's UPDATE uses, the UIDNEXT floor raised first; other views learn it
# at VIEW_SYNC; COPY/MOVE file messages into another folder with new UIDs
# (COPYUID), MOVE expunging the sources once the copies are durable.

load lib/helpers
load lib/store

setup() { store_setup alice bob; export IPCPEER_PASS=alicepw; }
teardown() { store_teardown; }


@test "EXPUNGE of every \\Deleted message, of a UID set, of none; another view learns at sync" {
	run peer < <(echo start; deliver 1 2 3 4 5 6; login i j; cat <<'END'
select i INBOX
select j INBOX
expunge i
store i add deleted - 1-2,4-5
expunge i 2-4
store i add - Kw 6
expunge i
changed j 300
sync j
select i INBOX
END
	)
	echo "$output"
	grep -q '^expunge 0 m=0$' <<<"$output"
	grep -q '^expunge 0 m=2 2 4$' <<<"$output"
	grep -q '^expunge 0 m=2 1 5$' <<<"$output"
	[[ "$output" == *"changed 1"* ]]
	for u in 1 2 4 5; do grep -q "^exp $u\$" <<<"$output"; done
	grep -q '^flag 6 .* Kw$' <<<"$output"
	grep -q '^sync 0 uidnext=7 exp=4 new=0 flag=1 nkw=1$' <<<"$output"
	# what is left: 3 and 6, their UIDs kept
	[ "$(grep '^msg ' <<<"$output" | tail -2 | cut -d' ' -f2 | tr '\n' ' ')" = "3 6 " ]
	[ "$(grep -c '^From ' "$SD/spool/alice")" -eq 2 ]
}

@test "EXAMINE refuses EXPUNGE; the last UIDs expunged are never given again" {
	run peer < <(echo start; deliver 1 2 3; login i; cat <<'END'
examine i INBOX
expunge i
select i INBOX
store i add deleted - 2-3
expunge i
restart
END
	deliver 4; login i; echo "select i INBOX")
	echo "$output"
	grep -q '^expunge 8 The folder is read-only' <<<"$output"
	grep -q '^expunge 0 m=2 2 3$' <<<"$output"
	grep -q '^msg 4 ' <<<"$output"
	grep -q 'uidnext=5' <<<"$(tail -1 <<<"$output")"
}

@test "a POP3 snapshot and COMMIT still delete exactly what they marked after an IMAP expunge" {
	run peer < <(echo start; deliver 1 2 3 4; login i; cat <<'END'
chan p pop3
auth p alice alicepw
dele p 3
select i INBOX
store i add deleted - 1
expunge i
retr p 4
commit p
select i INBOX
END
	)
	echo "$output"
	grep -q '^expunge 0 m=1 1$' <<<"$output"
	grep -q '^retr 0 ' <<<"$output"
	grep -q '^commit 0 1$' <<<"$output"
	[ "$(grep '^msg ' <<<"$output" | tail -2 | cut -d' ' -f2 | tr '\n' ' ')" = "2 4 " ]
	grep -q 'Subject: message 2' "$SD/spool/alice"
	grep -q 'Subject: message 4' "$SD/spool/alice"
	! grep -q 'Subject: message [13]$' "$SD/spool/alice"
}

@test "kill -9 during EXPUNGE: every acknowledged message present once, expunged ones gone, UIDs kept" {
	run timeout 150 bash -c 'echo "faults expunge 50 120 alice" | "$0" "${@}"' \
		"$BUILD/t/ipcpeer" "${PEER_OPTS[@]}" -l "$SD/log" "$SD/spool" "$SD/accounts"
	echo "$output" | tail -20
	[[ "$output" == *"faults ok kills=50 "* ]]
}

@test "COPY keeps flags and keywords, gives new UIDs (COPYUID), into a folder and into INBOX" {
	run peer < <(echo start; deliver 1 2 3; login i j; cat <<'END'
fcreate i Work
select j Work
select i INBOX
store i add seen,flagged Todo 2
copy i Work 1-2
copy i Work 3
changed j 300
sync j
select i Work
copy i INBOX 1
select i INBOX
END
	)
	echo "$output"
	grep -q '^copy 0 uidvalidity=[0-9]* m=2 1:1 2:2$' <<<"$output"
	grep -q '^copy 0 uidvalidity=[0-9]* m=1 3:3$' <<<"$output"
	grep -q '^copy 0 uidvalidity=[0-9]* m=1 1:4$' <<<"$output"
	[[ "$output" == *"changed 1"* ]]
	grep -q '^new 2 seen,flagged,recent .* Todo$' <<<"$output"
	grep -q '^sync 0 uidnext=4 exp=0 new=3 flag=0 nkw=1$' <<<"$output"
	# INBOX: the three, and the copy of Work's 1 as UID 4, not \Recent-less
	[ "$(grep -c '^From ' "$SD/spool/alice")" -eq 4 ]
	[ "$(grep -c '^X-Postern: ' "$SD/spool/.folders/alice/f00000001")" -eq 3 ] ||
		[ "$(cat "$SD/spool/.folders/alice"/f0000000* | grep -c '^X-Postern: ')" -eq 3 ]
	# every UIDL distinct
	[ "$(grep -h '^X-Postern: ' "$SD/spool/alice" "$SD/spool/.folders/alice"/f0* |
		awk '{print $2}' | sort | uniq -d | wc -l)" -eq 0 ]
}

@test "MOVE: the sources leave, the other view learns; to a missing folder; to the same folder" {
	run peer < <(echo start; deliver 1 2 3 4; login i j; cat <<'END'
fcreate i Archive
fcreate i Parent/Child
fdelete i Parent
select j INBOX
select i INBOX
move i Archive 2-3
move i Nowhere 1
move i Parent 1
store i add answered - 4
move i INBOX 4
changed j 300
sync j
fetch i whole 1
END
	)
	echo "$output"
	grep -q '^move 0 uidvalidity=[0-9]* m=2 2:1 3:2$' <<<"$output"
	grep -q '^move 5 Folder does not exist' <<<"$output"
	grep -q '^move 8 Folder cannot hold messages' <<<"$output"
	# within the same folder: a new UID, the old one gone, flags kept
	grep -q '^move 0 uidvalidity=[0-9]* m=1 4:5$' <<<"$output"
	for u in 2 3 4; do grep -q "^exp $u\$" <<<"$output"; done
	grep -q '^new 5 answered' <<<"$output"
	grep -q '^fetch 0 m=1 1:' <<<"$output"
	[ "$(grep -c '^From ' "$SD/spool/alice")" -eq 2 ]
}

@test "COPY honours the quota and leaves the target as it was" {
	PEER_OPTS+=(-q 800)
	run peer < <(echo start; deliver 1 2 3; login i; cat <<'END'
fcreate i Work
select i INBOX
copy i Work 1
copy i Work 1-3
select i Work
END
	)
	echo "$output"
	grep -q '^copy 0 uidvalidity=[0-9]* m=1 1:1$' <<<"$output"
	grep -q '^copy 3 ' <<<"$output"
	grep -q 'select 0 .* n=1 ' <<<"$output"
}

@test "kill -9 during MOVE: each message in the source, the target or both before the answer, the target only after" {
	run timeout 150 bash -c 'echo "faults move 40 100 alice" | "$0" "${@}"' \
		"$BUILD/t/ipcpeer" "${PEER_OPTS[@]}" -l "$SD/log" "$SD/spool" "$SD/accounts"
	echo "$output" | tail -20
	[[ "$output" == *"faults ok kills=40 "* ]]
}
