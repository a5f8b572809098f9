#!/usr/bin/env bats
# IMAP STORE in the store (store/store_flags.c, store/flagstate.c): flags
# and keywords go to the folder's flag journal (.folders/ACCOUNT/
# inbox.flags, f%08x.flags), fsync'ed before the answer; every reader
# (SELECT, VIEW_SYNC, STATUS) sees the journal over the X-Postern lines;
# the next rewrite of the folder folds them into the lines and resets the
# journal.  Other views learn the change at VIEW_SYNC (MSG_CHANGED).

load lib/helpers
load lib/store

setup() { store_setup alice bob; }
teardown() { store_teardown; }

# deliver N...: a script delivering generated messages N... to alice

# xflags: the flags= and kw= of each X-Postern line of alice's INBOX
xflags() {
	awk '/^X-Postern: / { f = "-"; k = "-"
		for (i = 1; i <= NF; i++) { if ($i ~ /^flags=/) f = substr($i, 7)
			if ($i ~ /^kw=/) k = $i }
		printf "%s%s/%s", sep, f, k; sep = " " } END { print "" }' "$SD/spool/alice"
}

@test "STORE +FLAGS, -FLAGS and FLAGS: the answer, the journal, another view at sync" {
	run peer < <(echo start; deliver 1 2 3; cat <<'END'
chan i imap
imapauth i alice alicepw
chan j imap
imapauth j alice alicepw
select i INBOX
select j INBOX
store i add seen,flagged - 1-2
store i add - Work,$Label1 2
store i remove flagged - 1
store i set answered Done 3
changed j 300
sync j
sync i
END
	)
	echo "$output"
	[[ "$output" == *"flag 1 seen,recent -"* ]] || [[ "$output" == *"flag 1 seen -"* ]]
	grep -q '^flag 2 seen,flagged.* Work,\$Label1$' <<<"$output" ||
		grep -q '^flag 2 seen,flagged.* \$Label1,Work$' <<<"$output"
	grep -q '^flag 3 answered.* Done$' <<<"$output"
	# j was told once, and its sync shows the three messages' new flags
	[[ "$output" == *"changed 1"* ]]
	grep -q '^sync 0 uidnext=4 exp=0 new=0 flag=3 nkw=3$' <<<"$output"
	# i's own sync shows nothing: its view has its changes
	grep -q '^sync 0 uidnext=4 exp=0 new=0 flag=0 nkw=0$' <<<"$output"
	# the journal holds them; the mbox is untouched
	[ -s "$SD/spool/.folders/alice/inbox.flags" ]
	[ "$(xflags)" = "-/- -/- -/-" ]
}

@test "flags survive a store restart (journal) and a rewrite (folded, journal reset)" {
	run peer < <(echo start; deliver 1 2 3 4; cat <<'END'
chan i imap
imapauth i alice alicepw
select i INBOX
store i add seen - 1,3
store i add deleted Urgent 4
store i add flagged Later 2
restart
chan i imap
imapauth i alice alicepw
select i INBOX
expunge i
restart
chan i imap
imapauth i alice alicepw
select i INBOX
END
	)
	echo "$output"
	# after the restart the journal's state is seen
	grep -q '^msg 1 seen' <<<"$output"
	grep -q '^msg 2 flagged.* Later$' <<<"$output"
	grep -q '^msg 4 deleted.* Urgent$' <<<"$output"
	grep -q '^expunge 0 m=1 4$' <<<"$output"
	# folded into the lines by the expunge's rewrite, the journal reset
	[ "$(xflags)" = "S/- F/kw=(Later) S/-" ]
	[ "$(stat -c %s "$SD/spool/.folders/alice/inbox.flags")" -lt 100 ]
	[ "$(grep -c '^msg ' <<<"$output")" -eq 11 ]
	[ "$(tail -1 <<<"$output" | cut -d' ' -f1-2)" = "select 0" ]
	grep -q '^msg 3 seen' <<<"$(sed -n '/^expunge/,$p' <<<"$output")"
}

@test "a POP3 COMMIT folds the INBOX journal into its rewrite" {
	run peer < <(echo start; deliver 1 2 3; cat <<'END'
chan i imap
imapauth i alice alicepw
select i INBOX
store i add answered - 3
chan p pop3
auth p alice alicepw
dele p 1
commit p
END
	)
	echo "$output"
	[[ "$output" == *"commit 0 1"* ]]
	[ "$(xflags)" = "-/- R/-" ]
}

@test "STATUS counts UNSEEN through the journal" {
	run peer < <(echo start; deliver 1 2 3; cat <<'END'
chan i imap
imapauth i alice alicepw
select i INBOX
store i add seen - 2
fstatus i INBOX
END
	)
	echo "$output"
	grep -q 'unseen=2' <<<"$output"
}

@test "EXAMINE refuses STORE; a bad keyword, the keyword limit" {
	{
		echo start; deliver 1
		echo "chan i imap"; echo "imapauth i alice alicepw"
		echo "examine i INBOX"; echo "store i add seen - 1"
		echo "select i INBOX"; echo "store i add - bad(kw 1"
		for n in $(seq 1 64); do echo "store i add - k$n 1"; done
		echo "store i add - one-too-many 1"
		echo "store i add - k7 1"
	} >"$SD/script"
	run peer <"$SD/script"
	echo "$output" | tail -5
	grep -q '^store 8 The folder is read-only' <<<"$output"
	grep -q '^store 4 ' <<<"$output"
	[ "$(grep -c '^store 0 ' <<<"$output")" -eq 65 ]
	grep -q '^store 7 Keyword one-too-many' <<<"$output"
}

@test "a UID not in the view drops the channel" {
	run peer < <(echo start; deliver 1; cat <<'END'
chan i imap
imapauth i alice alicepw
select i INBOX
store i add seen - 9
alive i
END
	)
	echo "$output"
	grep -q '^store eof' <<<"$output"
}

@test "kill -9 during flag updates: every acknowledged change kept, mail and UIDs intact" {
	export IPCPEER_PASS=alicepw
	run timeout 150 bash -c 'echo "faults flags 40 100 alice" | "$0" "${@}"' \
		"$BUILD/t/ipcpeer" "${PEER_OPTS[@]}" -l "$SD/log" "$SD/spool" "$SD/accounts"
	echo "$output" | tail -20
	[[ "$output" == *"faults ok kills=40 "* ]]
}

@test "pop3-sets-seen (default): a RETR sets \\Seen for IMAP, a TOP does not; off: neither" {
	run peer < <(echo start; deliver 1 2 3; cat <<'END'
chan i imap
imapauth i alice alicepw
select i INBOX
chan p pop3
auth p alice alicepw
retr p 1
retr p 2 0
changed i 300
sync i
release p
END
	)
	echo "$output"
	[[ "$output" == *"changed 1"* ]]
	grep -q '^flag 1 seen,recent -$' <<<"$output"
	grep -q '^sync 0 uidnext=4 exp=0 new=0 flag=1 nkw=0$' <<<"$output"
	PEER_OPTS+=(-S)
	run peer < <(cat <<'END'
start
chan p pop3
auth p alice alicepw
retr p 3
release p
chan i imap
imapauth i alice alicepw
select i INBOX
END
	)
	echo "$output"
	grep -q '^msg 1 seen ' <<<"$output"
	grep -q '^msg 2 - ' <<<"$output"
	grep -q '^msg 3 - ' <<<"$output"
}

@test "max-keywords: a lower limit refuses the next keyword, an existing one can still be set" {
	PEER_OPTS+=(-k 2)
	run peer < <(echo start; deliver 1 2; cat <<'END'
chan i imap
imapauth i alice alicepw
select i INBOX
store i add - one,two 1
store i add - three 2
store i add - two 2
END
	)
	echo "$output"
	grep -q '^store 7 Keyword three: too many keywords in this folder$' <<<"$output"
	grep -q '^flag 2 recent two$' <<<"$output"
}

@test "a folder's journal is named from its id and goes with the folder" {
	run peer < <(echo start; deliver 1; cat <<'END'
chan i imap
imapauth i alice alicepw
fcreate i Work
select i INBOX
copy i Work 1
select i Work
store i add flagged - 1
unselect i
fdelete i Work
END
	)
	echo "$output"
	grep -q '^store 0 m=1' <<<"$output"
	grep -q '^fdelete 0' <<<"$output"
	ls -a "$SD/spool/.folders/alice"
	[ -z "$(ls "$SD/spool/.folders/alice" | grep '^f0.*\.flags$')" ]
	[ -e "$SD/spool/.folders/alice/inbox.flags" ]
	! ls -a "$SD/spool/.folders/alice" | grep -q 'Work'
}
