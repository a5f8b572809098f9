#!/usr/bin/env bats
# The store's IMAP APPEND (MSG_IMAP_APPEND, store/store_append.c) through
# t/tools/ipcpeer: into INBOX and into a folder, the record it writes
# (From_ line dated with the internal date, X-Postern line with the IMAP
# UID, flags and keywords, no Return-Path), UIDs shared with SMTP
# deliveries, the refusals (no such folder, NUL, quota, keywords) leaving
# the file as it was, and kill -9 during a stream of APPENDs.  Statuses:
# 0 OK, 3 QUOTA, 4 BADMSG, 5 NOSUCH, 7 LIMIT, 8 CANNOT (privsep/msg.h).

load lib/helpers
load lib/store

setup() {
	store_setup alice
	export IPCPEER_PASS=alicepw
	FA="$SD/spool/.folders/alice"
	printf 'Subject: hi\n\nbody line\n' >"$SD/m1"
}

teardown() { store_teardown; }

# lib/store's peer, with ipcpeer options (-q, -m) first
peer() {
	local aliases=()
	[ -f "$SD/aliases" ] && aliases=(-A "$SD/aliases")
	"$BUILD/t/ipcpeer" "${PEER_OPTS[@]}" "$@" -l "$SD/log" "${aliases[@]}" "$SD/spool" "$SD/accounts"
}

# "imapuid flags kw" of each record of an mbox, one line each, in file order
xp_fields() {
	python3 - "$1" <<'PY'
import re, sys
d = open(sys.argv[1], "rb").read()
for m in re.finditer(rb"^From [^\n]*\nX-Postern: ([^\n]*)\n", d, re.M):
    f = dict(re.findall(rb"(\w+)=(\([^)]*\)|\S+)", m.group(1)))
    print(" ".join(f.get(k, b"-").decode() for k in (b"imapuid", b"flags", b"kw")))
PY
}

# The mbox parses from a clean start (the lengths add up) and its IMAP
# UIDs are strictly ascending, none missing on a record: prints the count.
uids_ascending() {
	python3 - "$1" <<'PY'
import re, sys
d = open(sys.argv[1], "rb").read()
pos, last, n = 0, 0, 0
while pos < len(d):
    nl = d.index(b"\n", pos)
    assert d[pos:pos + 5] == b"From ", "no From_ line at %d" % pos
    x = d[nl + 1:d.index(b"\n", nl + 1) + 1]
    m = re.match(rb"X-Postern: uid=([0-9a-f]+) len=(\d+)(?: imapuid=(\d+))?", x)
    assert m, "no X-Postern line at %d" % pos
    assert m.group(3), "no IMAP UID at %d" % pos
    u = int(m.group(3))
    assert u > last, "UID %d after %d" % (u, last)
    last = u
    pos += int(m.group(2))
    assert d[pos - 2:pos] == b"\n\n", "bad separator before %d" % pos
    n += 1
assert pos == len(d)
print(n)
PY
}

@test "APPEND to INBOX and to a folder: UIDs 1, 2, the flags and keywords, the internal date, no Return-Path; POP3 sees it with its UIDL" {
	run peer <<END
start
chan i imap
imapauth i alice alicepw
iappend i INBOX seen,flagged 1700000000 $SD/m1 \$Forwarded,Junk,junk
iappend i inbox - 0 $SD/m1
fcreate i Work
iappend i Work answered,deleted,draft 0 $SD/m1 b,a
iappend i work - 1 $SD/m1
chan p pop3
auth p alice alicepw
list p
retr p 1 4294967295 $SD/r1
END
	echo "$output"
	[[ "${lines[3]}" =~ ^"iappend 0 uidvalidity="([0-9]+)" uid=1"$ ]]
	uv_inbox=${BASH_REMATCH[1]}
	[ "${lines[4]}" = "iappend 0 uidvalidity=$uv_inbox uid=2" ]
	[ "${lines[5]}" = "fcreate 0" ]
	[[ "${lines[6]}" =~ ^"iappend 0 uidvalidity="([0-9]+)" uid=1"$ ]]
	uv_work=${BASH_REMATCH[1]}
	[ "$uv_work" != "$uv_inbox" ]
	[ "${lines[7]}" = "iappend 0 uidvalidity=$uv_work uid=2" ]
	# the UIDVALIDITYs are the table's
	grep -q "^f 0 $uv_inbox [0-9]* s - INBOX$" "$FA/folders"
	grep -q "^f 6 $uv_work [0-9]* - - Work$" "$FA/folders"
	# the records: keywords sorted, a repeat (any case) written once
	[ "$(xp_fields "$SD/spool/alice")" = "$(printf '1 FS ($Forwarded Junk)\n2 - -')" ]
	[ "$(xp_fields "$FA/f00000006")" = "$(printf '1 DRT (a b)\n2 - -')" ]
	# the From_ line: the internal date (UTC asctime), MAILER-DAEMON
	head -n 1 "$SD/spool/alice" | grep -qx 'From MAILER-DAEMON Tue Nov 14 22:13:20 2023'
	sed -n '/^From /p' "$FA/f00000006" | tail -n 1 | grep -qx 'From MAILER-DAEMON Thu Jan  1 00:00:01 1970'
	! grep -q '^Return-Path' "$SD/spool/alice" "$FA/f00000006"
	# POP3: both INBOX messages, each with the UIDL of its X-Postern line
	[[ "${lines[9]}" == "auth 0 delay=0 count=2 "* ]]
	for n in 1 2; do
		uidl=$(sed -n 's/^X-Postern: uid=\([0-9a-f]*\) .*/\1/p' "$SD/spool/alice" | sed -n ${n}p)
		[ -n "$uidl" ]
		[[ "${lines[$((9 + n))]}" =~ ^"msg $n "[0-9]+" $uidl"$ ]]
	done
	# the message as sent (CRLF made LF), nothing added
	[ "$(cat "$SD/r1")" = "$(cat "$SD/m1")" ]
	grep -q "alice: APPEND to Work: uid 2" "$SD/log"
}

@test "CRLF becomes LF; a bare CR, a bare LF and 8-bit bytes are kept; a From line is quoted" {
	printf 'Subject: x\r\n\r\na\rb\nc\r\n\xe9t\xe9\r\nFrom me\r\nlast' >"$SD/m2"
	run peer <<END
start
chan i imap
imapauth i alice alicepw
iappend i INBOX - 0 $SD/m2
chan p pop3
auth p alice alicepw
retr p 1 4294967295 $SD/r2
END
	echo "$output"
	[ "${lines[3]}" = "iappend 0 uidvalidity=$(awk '$NF == "INBOX" { print $3 }' "$FA/folders") uid=1" ]
	printf 'Subject: x\n\na\rb\nc\n\xe9t\xe9\n>From me\nlast\n\n' >"$SD/want"
	tail -n +3 "$SD/spool/alice" | cmp - "$SD/want"
	printf 'Subject: x\n\na\rb\nc\n\xe9t\xe9\nFrom me\nlast\n' | cmp - "$SD/r2"
}

@test "no such folder, a \\Noselect name, a name that cannot be one: refused, nothing written" {
	run peer <<END
start
chan i imap
imapauth i alice alicepw
iappend i Nope - 0 $SD/m1
fcreate i A/B
iappend i A - 0 $SD/m1
iappend i a/b - 0 $SD/m1
iappend i \\x00bad - 0 $SD/m1
END
	echo "$output"
	[ "${lines[3]}" = "iappend 5 Folder does not exist" ]
	[ "${lines[4]}" = "fcreate 0" ]
	[ "${lines[5]}" = "iappend 5 Folder does not exist" ]
	[[ "${lines[6]}" == "iappend 0 uidvalidity="*" uid=1" ]]
	[ "${lines[7]}" = "iappend 8 Not a valid folder name" ]
	[ ! -e "$SD/spool/alice" ]
	[ "$(uids_ascending "$FA/f00000006")" = 1 ]
}

@test "a NUL, an empty message, one too big, a bad keyword: refused (BADMSG), the file unchanged" {
	printf 'Subject: n\n\nnul \000 here\n' >"$SD/nul"
	: >"$SD/empty"
	head -c 3000 /dev/zero | tr '\0' 'x' >"$SD/big"
	run peer -m 2000 <<END
start
chan i imap
imapauth i alice alicepw
iappend i INBOX - 0 $SD/m1
iappend i INBOX - 0 $SD/nul
iappend i INBOX - 0 $SD/empty
iappend i INBOX - 0 $SD/big
iappend i INBOX - 0 $SD/m1 ok,@long
iappend i INBOX - 0 $SD/m1 bad]kw
iappend i INBOX - 0 $SD/m1
END
	echo "$output"
	[[ "${lines[3]}" == "iappend 0 "*" uid=1" ]]
	[ "${lines[4]}" = "iappend 4 Message contains a NUL byte, which cannot be stored" ]
	[ "${lines[5]}" = "iappend 4 Empty message" ]
	[ "${lines[6]}" = "iappend 4 Message too big" ]
	[ "${lines[7]}" = "iappend 4 Invalid keyword" ]
	[ "${lines[8]}" = "iappend 4 Invalid keyword" ]
	[[ "${lines[9]}" == "iappend 0 "*" uid=2" ]]
	[ "$(uids_ascending "$SD/spool/alice")" = 2 ]
	! grep -q 'nul' "$SD/spool/alice"
}

@test "over the quota: STORE_QUOTA, the file unchanged; in a folder too" {
	run peer -q 300 <<END
start
chan i imap
imapauth i alice alicepw
fcreate i Work
iappend i INBOX - 0 $SD/m1
iappend i INBOX - 0 $SD/m1
iappend i Work - 0 $SD/m1
iappend i Work - 0 $SD/m1
sh cp $SD/spool/alice $SD/before.inbox; cp $FA/f00000006 $SD/before.work
iappend i INBOX - 0 $SD/m1
iappend i Work - 0 $SD/m1
END
	echo "$output"
	[[ "${lines[5]}" == "iappend 0 "*" uid=2" ]]
	[[ "${lines[7]}" == "iappend 0 "*" uid=2" ]]
	[ "${lines[9]}" = "iappend 3 Mailbox over quota" ]
	[ "${lines[10]}" = "iappend 3 Mailbox over quota" ]
	cmp "$SD/spool/alice" "$SD/before.inbox"
	cmp "$FA/f00000006" "$SD/before.work"
}

@test "a folder's keywords stop at the limit (64): STORE_LIMIT, nothing written" {
	{
		echo start; echo chan i imap; echo imapauth i alice alicepw
		for k in $(seq 1 8); do
			echo "iappend i INBOX - 0 $SD/m1 $(seq -s, -f "k${k}x%g" 1 8)"
		done
		echo "iappend i INBOX - 0 $SD/m1 K1X1,k8x8"
		echo "iappend i INBOX - 0 $SD/m1 new"
	} >"$SD/script"
	run peer <"$SD/script"
	echo "$output"
	[[ "${lines[11]}" == "iappend 0 "*" uid=9" ]]
	[ "${lines[12]}" = "iappend 7 Too many keywords in this folder" ]
	[ "$(uids_ascending "$SD/spool/alice")" = 9 ]
}

@test "flags beyond VF_* (\\Recent), or a date after 9999: the channel is dropped" {
	run peer <<END
start
chan i imap
imapauth i alice alicepw
iappend i INBOX recent 0 $SD/m1
chan j imap
imapauth j alice alicepw
iappend j INBOX - 253402300800 $SD/m1
chan k imap
imapauth k alice alicepw
iappend k INBOX - 253402300799 $SD/m1
chan s smtp
iappend s INBOX - 0 $SD/m1
END
	echo "$output"
	[ "${lines[3]}" = "iappend eof" ]
	[ "${lines[6]}" = "iappend eof" ]
	[[ "${lines[9]}" == "iappend 0 "*" uid=1" ]]
	[ "${lines[11]}" = "iappend eof" ]
	head -n 1 "$SD/spool/alice" | grep -qx 'From MAILER-DAEMON Fri Dec 31 23:59:59 9999'
	grep -q "APPEND flags not VF_" "$SD/log"
	grep -q "APPEND internal date after the year 9999" "$SD/log"
}

@test "an INBOX with mail delivered before the first IMAP login: its messages get UIDs first" {
	run peer <<END
start
chan s smtp
append s s@example.org alice @1
append s s@example.org alice @2
chan i imap
imapauth i alice alicepw
iappend i INBOX - 0 $SD/m1
append s s@example.org alice @3
iappend i INBOX - 0 $SD/m1
END
	echo "$output"
	[ "${lines[5]}" = "imapauth 0 delay=0 account=alice" ]
	[[ "${lines[6]}" == "iappend 0 "*" uid=3" ]]
	[ "${lines[7]}" = "append 0 delivered" ]
	[[ "${lines[8]}" == "iappend 0 "*" uid=5" ]]
	[ "$(uids_ascending "$SD/spool/alice")" = 5 ]
	grep -q "IMAP UIDs given to the messages that had none (2 messages)" "$SD/log"
}

@test "UIDs out of order (another program edited the folder): renumbered under a new UIDVALIDITY" {
	run peer <<END
start
chan i imap
imapauth i alice alicepw
fcreate i Work
iappend i Work - 0 $SD/m1
iappend i Work - 0 $SD/m1
END
	echo "$output"
	[[ "${lines[4]}" =~ ^"iappend 0 uidvalidity="([0-9]+)" uid=1"$ ]]
	uv=${BASH_REMATCH[1]}
	# swap the two UIDs in place (same length: the record lengths hold)
	sed -i 's/imapuid=1$/imapuid=X/; s/imapuid=2$/imapuid=1/; s/imapuid=X$/imapuid=2/' \
		"$FA/f00000006"
	[ "$(xp_fields "$FA/f00000006" | cut -d' ' -f1 | tr '\n' ' ')" = "2 1 " ]
	sleep 1.1
	run peer <<END
start
chan i imap
imapauth i alice alicepw
iappend i Work - 0 $SD/m1
END
	echo "$output"
	[[ "${lines[3]}" =~ ^"iappend 0 uidvalidity="([0-9]+)" uid=3"$ ]]
	[ "${BASH_REMATCH[1]}" -gt "$uv" ]
	[ "$(uids_ascending "$FA/f00000006")" = 3 ]
	grep -q "folder Work: its UIDs are out of order" "$SD/log"
	grep -q "^f 6 ${BASH_REMATCH[1]} " "$FA/folders"
}

@test "an APPEND and an SMTP delivery to one INBOX, read in one pass, 100 times: UIDs strictly ascending, none twice" {
	run peer <<END
start
chan i imap
imapauth i alice alicepw
chan s smtp
iboth s i alice 100
END
	echo "$output"
	[ "${lines[4]}" = "iboth ok=100 of 100" ]
	[ "$(uids_ascending "$SD/spool/alice")" = 200 ]
	[ "$(xp_fields "$SD/spool/alice" | cut -d' ' -f1 | sort -n | uniq -d)" = "" ]
	[ "$(xp_fields "$SD/spool/alice" | grep -c ' S -$')" = 100 ]
}

@test "a UID given to a delivery that was truncated away (another recipient over quota) is not given to an APPEND" {
	echo "bob:$(hash_pw bobpw)" >>"$SD/accounts"
	run peer -q 600 <<END
start
chan i imap
imapauth i alice alicepw
iappend i INBOX - 0 $SD/m1
chan s smtp
append s s@example.org bob @1
append s s@example.org bob @2
append s s@example.org bob @3
append s s@example.org alice,bob @4
iappend i INBOX - 0 $SD/m1
END
	echo "$output"
	[[ "${lines[3]}" == "iappend 0 "*" uid=1" ]]
	[ "${lines[7]}" = "append 3 mailbox bob over quota" ]
	[ "${lines[8]}" = "append 3 mailbox bob over quota" ]
	# alice's copy of @4 was written with UID 2, then truncated away
	[[ "${lines[9]}" == "iappend 0 "*" uid=3" ]]
	[ "$(xp_fields "$SD/spool/alice" | cut -d' ' -f1 | tr '\n' ' ')" = "1 3 " ]
}

@test "kill -9 during a stream of APPENDs: every acknowledged message once, whole; no partial one" {
	run timeout 150 bash -c 'echo "faults iappends 50 100 alice" | "$0" "${@}"' \
		"$BUILD/t/ipcpeer" "${PEER_OPTS[@]}" -l "$SD/log" "$SD/spool" "$SD/accounts"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "faults ok kills="* ]]
	kills=$(sed -n 's/.*kills=\([0-9]*\).*/\1/p' <<<"$output")
	[ "$kills" -ge 40 ]
	uids_ascending "$SD/spool/alice"
}
