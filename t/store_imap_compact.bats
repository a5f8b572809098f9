#!/usr/bin/env bats
# Deferred compaction (store/store_expunge.c): an EXPUNGE in a folder file
# of compact-min-size or more hides the messages with FJ_EXPUNGED records
# in the flag journal (one fsync) instead of rewriting the file; every
# reader skips them (SELECT, VIEW_SYNC, STATUS, the POP3 snapshot), and
# the next rewrite drops their bytes: an EXPUNGE that would leave a
# quarter of the file hidden, a POP3 COMMIT, a RENAME of INBOX.  Here
# compact-min-size is 0 (ipcpeer -C 0): every folder defers.

load lib/helpers
load lib/store

setup() {
	store_setup alice bob
	export IPCPEER_PASS=alicepw
	PEER_OPTS+=(-C 0)
}
teardown() { store_teardown; }


froms() { grep -c '^From ' "$SD/spool/alice"; }

@test "a deferred EXPUNGE leaves the bytes, and every reader skips the message, after a restart too" {
	run peer < <(echo start; deliver 1 2 3 4 5 6 7 8; login i j; cat <<'END'
select i INBOX
select j INBOX
store i add deleted - 3
expunge i
changed j 300
fetch j whole 3
sync j
fstatus i INBOX
chan p pop3
auth p alice alicepw
release p
restart
END
	login k; cat <<'END'
select k INBOX
fstatus k INBOX
END
	)
	echo "$output"
	grep -q '^expunge 0 m=1 3$' <<<"$output"
	[[ "$output" == *"changed 1"* ]]
	# j still names 3 until its sync, and can read it
	grep -q '^fetch 0 m=1 3:' <<<"$output"
	grep -q '^exp 3$' <<<"$output"
	grep -q '^sync 0 uidnext=9 exp=1 new=0 flag=0 nkw=0$' <<<"$output"
	[ "$(grep -c '^fstatus 0 messages=7 uidnext=9 ' <<<"$output")" -eq 2 ]
	grep -q '^auth 0 delay=0 count=7 ' <<<"$output"
	# after the restart (the journal replayed): 7 messages, UID 3 gone,
	# every other UID kept
	[ "$(grep '^msg ' <<<"$output" | tail -7 | cut -d' ' -f2 | tr '\n' ' ')" = \
	    "1 2 4 5 6 7 8 " ]
	[ "$(froms)" -eq 8 ]
}

@test "the EXPUNGE that would leave a quarter of the file hidden rewrites it, dropping what was hidden" {
	run peer < <(echo start; deliver 1 2 3 4 5 6 7 8; login i; cat <<'END'
select i INBOX
store i add deleted - 2
expunge i
store i add deleted - 5
expunge i
select i INBOX
END
	)
	echo "$output"
	grep -q '^expunge 0 m=1 2$' <<<"$output"
	grep -q '^expunge 0 m=1 5$' <<<"$output"
	# 2 of 8 equal messages is a quarter: the second EXPUNGE compacted
	[ "$(froms)" -eq 6 ]
	! grep -q 'Subject: message [25]$' "$SD/spool/alice"
	[ "$(grep '^msg ' <<<"$output" | tail -6 | cut -d' ' -f2 | tr '\n' ' ')" = "1 3 4 6 7 8 " ]
	# the journal was reset by the rewrite: nothing hidden is left in it
	run peer < <(echo start; login i; echo "select i INBOX")
	[ "$(grep -c '^msg ' <<<"$output")" -eq 6 ]
}

@test "a POP3 session keeps its snapshot across a deferred EXPUNGE; its COMMIT drops the hidden message too" {
	run peer < <(echo start; deliver 1 2 3 4 5 6 7 8; login i; cat <<'END'
chan p pop3
auth p alice alicepw
select i INBOX
store i add deleted - 1
expunge i
retr p 1
dele p 4
commit p
select i INBOX
chan q pop3
auth q alice alicepw
END
	)
	echo "$output"
	grep -q '^expunge 0 m=1 1$' <<<"$output"
	grep -q '^auth 0 delay=0 count=8 ' <<<"$output"
	# the snapshot from before still reads message 1 (the file is the same)
	grep -q '^retr 0 ' <<<"$output"
	grep -q '^commit 0 1$' <<<"$output"
	# the COMMIT's rewrite took 4 and the hidden 1
	[ "$(froms)" -eq 6 ]
	! grep -q 'Subject: message [14]$' "$SD/spool/alice"
	[ "$(grep '^msg ' <<<"$output" | tail -6 | cut -d' ' -f2 | tr '\n' ' ')" = "2 3 5 6 7 8 " ]
	grep -q '^auth 0 delay=0 count=6 ' <<<"$output"
}

@test "MOVE defers the source's removal; RENAME INBOX carries the kept mail and its flags, not the hidden" {
	run peer < <(echo start; deliver 1 2 3 4 5 6 7 8; login i; cat <<'END'
fcreate i Target
select i INBOX
move i Target 2
store i add flagged - 6
frename i INBOX Old
select i Old
select i Target
select i INBOX
END
	)
	echo "$output"
	grep -q '^move 0 uidvalidity=[0-9]* m=1 2:1$' <<<"$output"
	grep -q '^frename 0' <<<"$output"
	# Old: the 7 messages left in INBOX, 6 still \Flagged, 2 not there
	old=$(sed -n '/^frename 0/,/^select 0/p' <<<"$output" | grep '^msg ')
	[ "$(wc -l <<<"$old")" -eq 7 ]
	! grep -q '^msg 2 ' <<<"$old"
	grep -q '^msg 6 flagged ' <<<"$old"
	# message 2 is in Target only: not carried into Old by the RENAME
	[ "$(cat "$SD/spool/.folders/alice/"f*[0-9] | grep -c 'Subject: message 2$')" -eq 1 ]
	[ "$(cat "$SD/spool/.folders/alice/"f*[0-9] | grep -c '^From ')" -eq 8 ]
	[ "$(froms)" -eq 0 ]
}

@test "kill -9 during deferred EXPUNGE: every acknowledged message present once, expunged ones gone, UIDs kept" {
	run timeout 150 bash -c 'echo "faults expunge 50 120 alice" | "$0" "${@}"' \
		"$BUILD/t/ipcpeer" "${PEER_OPTS[@]}" -l "$SD/log" "$SD/spool" "$SD/accounts"
	echo "$output" | tail -20
	[[ "$output" == *"faults ok kills=50 "* ]]
}

@test "kill -9 during deferred MOVE: each message in the source, the target or both, never neither" {
	run timeout 150 bash -c 'echo "faults move 50 120 alice" | "$0" "${@}"' \
		"$BUILD/t/ipcpeer" "${PEER_OPTS[@]}" -l "$SD/log" "$SD/spool" "$SD/accounts"
	echo "$output" | tail -20
	[[ "$output" == *"faults ok kills=50 "* ]]
}
