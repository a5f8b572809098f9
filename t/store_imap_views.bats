#!/usr/bin/env bats
# The store's IMAP views (store/store_view.c; privsep/msg.h "store channel:
# IMAP views"), through ipcpeer: SELECT/EXAMINE give a channel a view of
# one folder (UIDs given to messages lacking one, POP3 UIDLs unchanged),
# FETCH reads from the file the view was made from, VIEW_SYNC tells the
# delta, MSG_CHANGED (unasked, coalesced) says there is one, UNSELECT drops
# the view.  Hostile requests drop only their channel.

load lib/helpers
load lib/store

setup() {
	store_setup alice bob
	OWNER=$(id -un)
	if is_root; then OWNER=_postern-store; fi
}

teardown() { store_teardown; }

# login CHAN USER: a script's IMAP channel logged in
login() {
	echo "chan $1 imap"
	echo "imapauth $1 $2 ${2}pw"
}

# deliver N...: generated messages N... to alice on channel s
deliver() {
	local n
	for n in "$@"; do echo "append s a@example.org alice @$n"; done
}

# uidls FILE: the UIDL of each message's X-Postern line, in file order
uidls() {
	awk 'prev ~ /^From / && /^X-Postern: / { printf "%s%s", sep, substr($2, 5); sep = " " }
		{ prev = $0 } END { print "" }' "$1"
}

# mbox FILE SPEC...: an mbox another program wrote; each SPEC "plain" (no
# X-Postern line) or "IMAPUID:FLAGS:KW" (a postern line with those fields,
# "-" none; KW space-separated keywords with "_" for a space between)
mbox() {
	python3 - "$@" <<'END'
import sys
out = open(sys.argv[1], "wb")
for i, spec in enumerate(sys.argv[2:]):
    frm = b"From other@example.org Sat Dec  5 05:53:%02d 2026\n" % i
    body = b"Subject: message %d\nFrom: x@example.org\n\nline one\n>From quoted\nend %d\n\n" % (i, i)
    if spec == "plain":
        out.write(frm + body)
        continue
    uid, flags, kw = spec.split(":")
    extra = b""
    if uid != "-": extra += b" imapuid=" + uid.encode()
    if flags != "-": extra += b" flags=" + flags.encode()
    if kw != "-": extra += b" kw=(" + kw.replace("_", " ").encode() + b")"
    uidl = b"%028x" % (0xabc000 + i)
    n = 0
    while True:
        line = b"X-Postern: uid=" + uidl + b" len=" + str(n).encode() + extra + b"\n"
        total = len(frm) + len(line) + len(body)
        if total == n: break
        n = total
    out.write(frm + line + body)
END
	chown "$OWNER" "$1"
	chmod 600 "$1"
}

@test "SELECT of an INBOX SMTP wrote: UIDs 1..n given, every POP3 UIDL and size unchanged, dates from the From_ lines" {
	run peer <<END
start
chan s smtp
$(deliver 1 2 3)
chan p pop3
auth p alice alicepw
list p
release p
$(login i alice)
select i INBOX
chan q pop3
auth q alice alicepw
list q
END
	echo "$output"
	[ "$(grep -c '^append 0 delivered' <<<"$output")" -eq 3 ]
	# the POP3 listing before and after the UIDs were written
	before=$(sed -n '/^auth 0/,/^list end/p' <<<"$output" | grep '^msg ' | head -3)
	after=$(sed -n '/^select 0/,$p' <<<"$output" | grep '^msg ')
	[ "$(wc -l <<<"$before")" -eq 3 ]
	[ "$before" = "$after" ]
	grep -q '^select 0 uidvalidity=[1-9][0-9]* uidnext=4 n=3 nkw=0$' <<<"$output"
	# uid, \Recent for the first SELECT, RFC822.SIZE = the POP3 size
	for k in 1 2 3; do
		size=$(awk -v k=$k '$1 == "msg" && $2 == k { print $3; exit }' <<<"$before")
		grep -q "^msg $k recent $size [0-9]* -$" <<<"$output"
	done
	# the internal date is the From_ line's (UTC asctime)
	d=$(grep -m1 '^From ' "$SD/spool/alice" | awk '{ print $3, $4, $5, $6, $7 }')
	want=$(date -u -d "$d" +%s)
	grep -q "^msg 1 recent [0-9]* $want -$" <<<"$output"
	# the file now has them, ascending
	[ "$(grep -c '^X-Postern: .* imapuid=[123]$' "$SD/spool/alice")" -eq 3 ]
	grep -q 'IMAP UIDs given to the messages that had none (3 messages)' "$SD/log"
}

@test "SELECT of an mbox another program wrote (no X-Postern line): UIDs given, derived UIDLs kept" {
	mbox "$SD/spool/alice" plain plain plain
	run peer <<END
start
chan p pop3
auth p alice alicepw
list p
release p
$(login i alice)
select i INBOX
fetch i whole 1,2,3 $SD/f123
chan q pop3
auth q alice alicepw
list q
retr q 1 4294967295 $SD/r1
retr q 2 4294967295 $SD/r2
retr q 3 4294967295 $SD/r3
END
	echo "$output"
	before=$(sed -n '/^auth 0/,/^list end/p' <<<"$output" | grep '^msg ' | head -3)
	after=$(sed -n '/^select 0/,$p' <<<"$output" | grep '^msg ')
	[ "$(wc -l <<<"$before")" -eq 3 ]
	[ "$before" = "$after" ]
	grep -q '^select 0 uidvalidity=[1-9][0-9]* uidnext=4 n=3 nkw=0$' <<<"$output"
	want=$(date -u -d "Sat Dec  5 05:53:01 2026" +%s)
	grep -q "^msg 2 recent [0-9]* $want -$" <<<"$output"
	# the UIDLs POP3 derived are now written in the lines, unchanged
	for u in $(uidls "$SD/spool/alice"); do grep -q " $u\$" <<<"$before"; done
	[ "$(uidls "$SD/spool/alice" | wc -w)" -eq 3 ]
	grep -q '^fetch 0 m=3 1:[0-9]* 2:[0-9]* 3:[0-9]*$' <<<"$output"
	cat "$SD/r1" "$SD/r2" "$SD/r3" | cmp - "$SD/f123"
}

@test "flags and keywords of the X-Postern lines; UIDs already there are kept and the file not rewritten; UIDNEXT raised in the table" {
	mbox "$SD/spool/alice" "5:S:-" "6:DF:\$Forwarded_work" "9:-:Work"
	sum=$(md5sum <"$SD/spool/alice")
	run peer <<END
start
$(login i alice)
examine i INBOX
sync i
flist i
END
	echo "$output"
	grep -q '^examine 0 uidvalidity=[0-9]* uidnext=10 n=3 nkw=2$' <<<"$output"
	grep -q '^msg 5 seen [0-9]* [0-9]* -$' <<<"$output"
	grep -q '^msg 6 flagged,draft [0-9]* [0-9]* \$Forwarded,work$' <<<"$output"
	# "Work" is "work" ignoring case: one keyword, the first spelling
	grep -q '^msg 9 - [0-9]* [0-9]* work$' <<<"$output"
	grep -q '^sync 0 uidnext=10 exp=0 new=0 flag=0 nkw=0$' <<<"$output"
	[ "$(md5sum <"$SD/spool/alice")" = "$sum" ]
	grep -q '^f 0 [0-9]* 10 s - INBOX$' "$SD/spool/.folders/alice/folders"
}

@test "UIDs out of order (another program edited the file): renumbered under a new UIDVALIDITY saved first, logged" {
	mbox "$SD/spool/alice" "7:-:-" "3:-:-"
	run peer <<END
start
$(login i alice)
flist i
sh grep ' INBOX\$' $SD/spool/.folders/alice/folders
select i INBOX
sh grep ' INBOX\$' $SD/spool/.folders/alice/folders
END
	echo "$output"
	old=$(grep -m1 '^f 0 ' <<<"$output" | awk '{ print $3 }')
	new=$(grep '^f 0 ' <<<"$output" | tail -1 | awk '{ print $3 }')
	[ "$new" -gt "$old" ]
	grep -q "^select 0 uidvalidity=$new uidnext=3 n=2 nkw=0\$" <<<"$output"
	grep -q '^msg 1 recent' <<<"$output"
	grep -q '^msg 2 recent' <<<"$output"
	grep -q "UIDVALIDITY $old -> $new" "$SD/log"
}

@test "an empty folder, a missing name, a \\Noselect name, an invalid name; a failed SELECT drops the view" {
	run peer <<END
start
$(login i alice)
fcreate i Work/2026
examine i Sent
select i Work/2026
select i Nope
select i Work
select i a/../b
fetch i whole 1
$(login j alice)
select j inbox
unselect j
sync j
END
	echo "$output"
	grep -q '^examine 0 uidvalidity=[1-9][0-9]* uidnext=1 n=0 nkw=0$' <<<"$output"
	grep -q '^select 0 uidvalidity=[1-9][0-9]* uidnext=1 n=0 nkw=0$' <<<"$output"
	grep -q '^select 5 Folder does not exist$' <<<"$output"
	grep -q '^select 8 Folder cannot be selected (\\Noselect: it holds no messages)$' <<<"$output"
	[ "$(grep -c '^select 8 ' <<<"$output")" -eq 2 ]
	# after a failed SELECT there is no view: FETCH drops the channel
	grep -q '^fetch eof$' <<<"$output"
	# an INBOX with no mbox yet is empty; UNSELECT, then no SYNC
	[ "$(grep -c '^select 0 uidvalidity=[1-9][0-9]* uidnext=1 n=0 nkw=0$' <<<"$output")" -eq 2 ]
	grep -q '^unselect 0$' <<<"$output"
	grep -q '^sync eof$' <<<"$output"
}

@test "FETCH whole and header: the bytes POP3 RETR and TOP 0 give, several in one answer" {
	printf 'Subject: one\r\nFrom: a@example.org\r\n\r\nbody\r\nFrom the start\r\n>From quoted\r\n.dot\r\n' >"$SD/m1"
	printf 'Subject: two\r\n\r\nsecond\r\n' >"$SD/m2"
	run peer <<END
start
chan s smtp
append s a@example.org alice $SD/m1
append s a@example.org alice $SD/m2
$(login i alice)
select i INBOX
fetch i whole 1 $SD/f1
fetch i header 1 $SD/h1
fetch i whole 1,2 $SD/f12
fetch i header 1,2 $SD/h12
chan p pop3
auth p alice alicepw
retr p 1 4294967295 $SD/r1
retr p 2 4294967295 $SD/r2
retr p 1 0 $SD/t1
retr p 2 0 $SD/t2
END
	echo "$output"
	cmp "$SD/f1" "$SD/r1"
	cmp "$SD/h1" "$SD/t1"
	cat "$SD/r1" "$SD/r2" | cmp - "$SD/f12"
	cat "$SD/t1" "$SD/t2" | cmp - "$SD/h12"
	# LF line ends, unquoted, no From_ or X-Postern line
	[ "$(grep -c $'\r' "$SD/f1")" -eq 0 ]
	grep -q '^From the start$' "$SD/f1"
	grep -q '^>From quoted$' "$SD/f1"
	[ "$(grep -c '^X-Postern' "$SD/f12")" -eq 0 ]
	[ "$(tail -c 1 "$SD/h1" | od -An -c | tr -d ' ')" = '\n' ]
	grep -q "^fetch 0 m=2 1:$(stat -c %s "$SD/r1") 2:$(stat -c %s "$SD/r2")\$" <<<"$output"
}

@test "FETCH stops at IMAP_FETCH_BATCH_MAX_BYTES, at least one message" {
	head -c 3000000 /dev/zero | tr '\0' 'x' | fold -w 998 | sed 's/$/\r/' >"$SD/body"
	{ printf 'Subject: big\r\n\r\n'; cat "$SD/body"; } >"$SD/big"
	run peer <<END
start
chan s smtp
append s a@example.org alice $SD/big
append s a@example.org alice $SD/big
append s a@example.org alice $SD/big
append s a@example.org alice $SD/big
$(login i alice)
select i INBOX
fetch i whole 1-4
fetch i whole 3-4
fetch i header 1-4
END
	echo "$output"
	# 3 MB each: two fit in 8 MiB, not three; headers are read alone
	grep -q '^fetch 0 m=2 1:[0-9]* 2:[0-9]*$' <<<"$output"
	grep -q '^fetch 0 m=2 3:[0-9]* 4:[0-9]*$' <<<"$output"
	grep -q '^fetch 0 m=4 1:[0-9][0-9] 2:[0-9][0-9] 3:[0-9][0-9] 4:[0-9][0-9]$' <<<"$output"
}

@test "FETCH of headers reads only them, as TOP 0 gives them: a header past the first read, no body, an empty header, CRLF lines" {
	python3 - "$SD/spool/alice" <<'PY'
import sys
out = open(sys.argv[1], "wb")
frm = b"From other@example.org Sat Dec  5 05:53:48 2026\n"
out.write(frm + b"Subject: long\n" + b"X-Long: " + b"y" * 70 + b"\n" * 1 + (b"X-More: " + b"z" * 70 + b"\n") * 600 + b"\nbody\n" + b"b" * 100000 + b"\n\n")
out.write(frm + b"Subject: no body\nTo: a@example.org\n\n")
out.write(frm + b"\nbody after an empty header\n>From quoted\n\n")
out.write(frm + b"Subject: crlf\r\n\r\nbody\r\n\n")
out.write(frm + b"Subject: last\n\n" + b"x" * 40000 + b"\n\n")
PY
	chown "$OWNER" "$SD/spool/alice"
	chmod 600 "$SD/spool/alice"
	run peer <<END
start
$(login i alice)
select i INBOX
fetch i header 1-5 $SD/h
fetch i whole 1-5 $SD/w
chan p pop3
auth p alice alicepw
retr p 1 0 $SD/t1
retr p 2 0 $SD/t2
retr p 3 0 $SD/t3
retr p 4 0 $SD/t4
retr p 5 0 $SD/t5
retr p 1 4294967295 $SD/r1
retr p 2 4294967295 $SD/r2
retr p 3 4294967295 $SD/r3
retr p 4 4294967295 $SD/r4
retr p 5 4294967295 $SD/r5
END
	echo "$output"
	grep -q '^fetch 0 m=5 ' <<<"$output"
	cat "$SD"/t[1-5] | cmp - "$SD/h"
	cat "$SD"/r[1-5] | cmp - "$SD/w"
	[ "$(stat -c %s "$SD/t1")" -gt 16384 ]
}

@test "deliveries while selected: one MSG_CHANGED for two, SYNC shows the new UIDs; \\Recent for one session only" {
	run peer <<END
start
chan s smtp
$(deliver 1)
$(login i alice)
select i INBOX
$(login j alice)
examine j INBOX
changed i
$(deliver 2 3)
changed i
changed j
$(deliver 4)
changed i
sync i
changed i
sync i
sync j
$(deliver 5)
changed i
changed j
$(login k alice)
select k INBOX
sync j
END
	echo "$output"
	# before any delivery none; two deliveries, one notice; none until SYNC
	[ "$(grep '^changed ' <<<"$output" | tr '\n' ' ')" = "changed 0 changed 1 changed 1 changed 0 changed 0 changed 1 changed 1 " ]
	grep -q '^select 0 uidvalidity=[0-9]* uidnext=2 n=1 nkw=0$' <<<"$output"
	grep -q '^msg 1 recent ' <<<"$output"
	# i (read-write) sees 2..4 as \Recent; j (EXAMINE) sees them without
	grep -q '^new 2 recent ' <<<"$output"
	grep -q '^new 4 recent ' <<<"$output"
	grep -q '^new 2 - ' <<<"$output"
	grep -q '^sync 0 uidnext=5 exp=0 new=3 flag=0 nkw=0$' <<<"$output"
	grep -q '^sync 0 uidnext=5 exp=0 new=0 flag=0 nkw=0$' <<<"$output"
	[ "$(grep -c '^sync 0 uidnext=5 exp=0 new=3 flag=0 nkw=0$' <<<"$output")" -eq 2 ]
	# message 5 came after i's last SYNC: k's SELECT gets it as \Recent,
	# message 1..4 not; j's later SYNC sees 5 as not recent
	grep -q '^msg 5 recent ' <<<"$output"
	grep -q '^msg 4 - ' <<<"$output"
	grep -q '^new 5 - ' <<<"$output"
}

@test "a POP3 DELE+COMMIT under an open view: the view FETCHes the message until SYNC reports it expunged" {
	run peer <<END
start
chan s smtp
$(deliver 1 2 3)
$(login i alice)
select i INBOX
fetch i whole 2 $SD/before
chan p pop3
auth p alice alicepw
dele p 2
commit p
changed i
fetch i whole 2 $SD/after
fetch i whole 1-3
sync i
fetch i whole 1,3
fetch i whole 2
$(login j alice)
select j INBOX
END
	echo "$output"
	grep -q '^commit 0 1$' <<<"$output"
	grep -q '^changed 1$' <<<"$output"
	cmp "$SD/before" "$SD/after"
	grep -q '^fetch 0 m=3 1:[0-9]* 2:[0-9]* 3:[0-9]*$' <<<"$output"
	grep -q '^exp 2$' <<<"$output"
	grep -q '^sync 0 uidnext=4 exp=1 new=0 flag=0 nkw=0$' <<<"$output"
	grep -q '^fetch 0 m=2 1:[0-9]* 3:[0-9]*$' <<<"$output"
	# once told, UID 2 is no longer in the view
	grep -q '^fetch eof$' <<<"$output"
	grep -q 'FETCH of UID 2, not in the view' "$SD/log"
	grep -q '^select 0 uidvalidity=[0-9]* uidnext=4 n=2 nkw=0$' <<<"$output"
}

@test "UIDs are never reused: the last message deleted by POP3, then a delivery, across a store restart" {
	run peer <<END
start
chan s smtp
$(deliver 1 2)
$(login i alice)
select i INBOX
unselect i
chan p pop3
auth p alice alicepw
dele p 2
commit p
restart
chan s smtp
$(deliver 3)
$(login i alice)
select i INBOX
chan q pop3
auth q alice alicepw
dele q 1
dele q 2
commit q
$(deliver 4)
select i INBOX
END
	echo "$output"
	grep -q '^select 0 uidvalidity=[0-9]* uidnext=3 n=2 nkw=0$' <<<"$output"
	grep -q '^commit 0 1$' <<<"$output"
	# UID 2 is gone; the new message is 3, not 2
	grep -q '^select 0 uidvalidity=[0-9]* uidnext=4 n=2 nkw=0$' <<<"$output"
	grep -q '^msg 3 recent ' <<<"$output"
	grep -q '^commit 0 2$' <<<"$output"
	grep -q '^select 0 uidvalidity=[0-9]* uidnext=5 n=1 nkw=0$' <<<"$output"
	grep -q '^msg 4 recent ' <<<"$output"
	[ "$(sed -n '/^unselect 0/,$p' <<<"$output" | grep -c '^msg 2 ')" -eq 0 ]
	# one UIDVALIDITY throughout
	[ "$(grep -o '^select 0 uidvalidity=[0-9]*' <<<"$output" | sort -u | wc -l)" -eq 1 ]
}

@test "mail appended without a UID while selected (another program, then a delivery that gets none): UIDs given at SYNC" {
	mbox "$SD/spool/alice" plain
	printf 'From other@example.org Sat Dec  5 06:00:00 2026\nSubject: appended\n\nhi\n\n' >"$SD/extra"
	run peer <<END
start
$(login i alice)
select i INBOX
sh cat $SD/extra >>$SD/spool/alice
chan s smtp
$(deliver 1)
sh grep -c imapuid= $SD/spool/alice
changed i
sync i
fetch i header 2,3
sync i
END
	echo "$output"
	grep -q '^select 0 uidvalidity=[0-9]* uidnext=2 n=1 nkw=0$' <<<"$output"
	# the delivery wrote no UID: the file was not UID-complete
	grep -q '^1$' <<<"$output"
	grep -q '^changed 1$' <<<"$output"
	grep -q '^new 2 recent ' <<<"$output"
	grep -q '^new 3 recent ' <<<"$output"
	grep -q '^sync 0 uidnext=4 exp=0 new=2 flag=0 nkw=0$' <<<"$output"
	grep -q '^fetch 0 m=2 2:[0-9]* 3:[0-9]*$' <<<"$output"
	grep -q '^sync 0 uidnext=4 exp=0 new=0 flag=0 nkw=0$' <<<"$output"
	[ "$(grep -c ' imapuid=[123]$' "$SD/spool/alice")" -eq 3 ]
}

@test "another program's rewrite (a new file): SYNC reports the expunged, the new, the changed flags and the grown keyword list" {
	mbox "$SD/spool/alice" "5:S:-" "6:-:-"
	mbox "$SD/new" "5:FS:Later" "7:-:-"
	run peer <<END
start
$(login i alice)
select i INBOX
fetch i whole 6 $SD/six
sh mv $SD/new $SD/spool/alice
fetch i whole 6 $SD/six-after
sync i
fetch i whole 5,7
END
	echo "$output"
	grep -q '^select 0 uidvalidity=[0-9]* uidnext=7 n=2 nkw=0$' <<<"$output"
	cmp "$SD/six" "$SD/six-after"
	grep -q '^exp 6$' <<<"$output"
	grep -q '^new 7 recent [0-9]* [0-9]* -$' <<<"$output"
	grep -q '^flag 5 seen,flagged,recent Later$' <<<"$output"
	grep -q '^sync 0 uidnext=8 exp=1 new=1 flag=1 nkw=1$' <<<"$output"
	grep -q '^fetch 0 m=2 5:[0-9]* 7:[0-9]*$' <<<"$output"
}

@test "hostile view requests drop only their channel" {
	run peer <<END
start
chan s smtp
$(deliver 1 2 3)
$(login a alice)
select a INBOX
fetch a whole 4
$(login b alice)
select b INBOX
fetch b whole 3,2
$(login c alice)
select c INBOX
fetch c whole -
$(login d alice)
select d INBOX
fetch d whole 1-1025
$(login e alice)
select e INBOX
fetch e 3 1
$(login f alice)
fetch f whole 1
$(login g alice)
sync g
$(login h alice)
unselect h
chan n imap
select n INBOX
select s INBOX
chan p pop3
auth p alice alicepw
select p INBOX
$(login ok alice)
raw ok MSG_CHANGED 0
$(login z alice)
select z INBOX
fetch z header 1-3
sync z
END
	echo "$output"
	[ "$(grep -c '^fetch eof$' <<<"$output")" -eq 6 ]
	[ "$(grep -c '^sync eof$' <<<"$output")" -eq 1 ]
	[ "$(grep -c '^unselect eof$' <<<"$output")" -eq 1 ]
	[ "$(grep -c '^select eof$' <<<"$output")" -eq 3 ]
	grep -q '^raw eof$' <<<"$output"
	grep -q 'FETCH of UID 4, not in the view' "$SD/log"
	grep -q 'FETCH UIDs not strictly ascending' "$SD/log"
	grep -q 'payload size out of range (MSG_FETCH, 8 bytes)' "$SD/log"
	grep -q 'payload size out of range (MSG_FETCH, 4108 bytes)' "$SD/log"
	grep -q 'FETCH of an unknown part' "$SD/log"
	grep -q 'request not allowed in this state (MSG_FETCH' "$SD/log"
	grep -q 'request not allowed in this state (MSG_VIEW_SYNC' "$SD/log"
	grep -q 'request not allowed in this state (MSG_UNSELECT' "$SD/log"
	grep -q 'request before authentication (MSG_SELECT' "$SD/log"
	grep -q 'smtp channel .* request not allowed on this kind of channel (MSG_SELECT' "$SD/log"
	grep -q 'pop3 channel .* request not allowed on this kind of channel (MSG_SELECT' "$SD/log"
	grep -q 'request type not allowed on a store channel (MSG_CHANGED' "$SD/log"
	# the last channel works
	grep -q '^fetch 0 m=3 1:[0-9]* 2:[0-9]* 3:[0-9]*$' <<<"$output"
	grep -q '^sync 0 uidnext=4 exp=0 new=0 flag=0 nkw=0$' <<<"$output"
}
