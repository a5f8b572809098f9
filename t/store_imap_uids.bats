#!/usr/bin/env bats
# IMAP UIDs at delivery (store/mbcache.c, store/store_smtp.c): an account
# with a folder table whose INBOX is "UID-complete" (every message has an
# IMAP UID, strictly ascending) gets each delivery written with the next
# UID, max(the table's INBOX UIDNEXT, the last UID + 1); otherwise a
# delivery writes no UID, as before IMAP.  A UID is never given twice.

load lib/helpers
load lib/store

setup() {
	store_setup alice bob
	OWNER=$(id -un)
	if is_root; then OWNER=_postern-store; fi
}

teardown() { store_teardown; }

# mktab NAME UIDNEXT: the folder table of NAME, INBOX only, as the store
# writes it (the checksum is the FNV-1a of the lines before "end")
mktab() {
	mkdir -p "$SD/spool/.folders/$1"
	python3 - "$SD/spool/.folders/$1/folders" "$2" <<'END'
import sys
body = "postern-folders 1\nnext 1 1764900001\nf 0 1764900000 %s s - INBOX\n" % sys.argv[2]
h = 0xcbf29ce484222325
for b in body.encode():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
open(sys.argv[1], "w").write(body + "end 1 %016x\n" % h)
END
	chmod 700 "$SD/spool/.folders" "$SD/spool/.folders/$1"
	chown -R "$OWNER" "$SD/spool/.folders"
}

# imapuids NAME: the IMAP UID of each message of NAME, "-" for none
imapuids() {
	awk 'prev ~ /^From / && /^X-Postern: / {
		u = "-"; for (i = 1; i <= NF; i++) if ($i ~ /^imapuid=/) u = substr($i, 9)
		printf "%s%s", sep, u; sep = " " } { prev = $0 } END { print "" }' "$SD/spool/$1"
}

# uidls NAME: the UIDL of each message's X-Postern line
uidls() {
	awk 'prev ~ /^From / && /^X-Postern: / { printf "%s%s", sep, substr($2, 5); sep = " " }
		{ prev = $0 } END { print "" }' "$SD/spool/$1"
}

appends() {   # appends NAME N...: a script delivering messages N... to NAME
	local name=$1 n
	shift
	echo start
	echo "chan s smtp"
	for n in "$@"; do echo "append s a@example.org $name @$n"; done
}

@test "no folder table: deliveries write the X-Postern line as before" {
	run peer < <(appends alice 1 2)
	echo "$output"
	[ "${lines[2]}" = "append 0 delivered" ]
	[ "${lines[3]}" = "append 0 delivered" ]
	[ "$(imapuids alice)" = "- -" ]
	[ "$(grep -c '^X-Postern: uid=[0-9a-f]\{28\} len=[0-9]*$' "$SD/spool/alice")" -eq 2 ]
	[ ! -e "$SD/spool/.folders" ]
}

@test "a folder table: consecutive UIDs from its INBOX UIDNEXT, kept across a store restart" {
	mktab alice 58
	run peer < <(appends alice 1 2 3; echo restart; echo "chan t smtp"
		echo "append t a@example.org alice @4")
	echo "$output"
	[ "$(grep -c 'append 0 delivered' <<<"$output")" -eq 4 ]
	[ "$(imapuids alice)" = "58 59 60 61" ]
	# a POP3 listing sees the same messages: the UIDL is the line's
	run peer < <(echo start; echo "chan p pop3"; echo "auth p alice alicepw"; echo "list p")
	echo "$output"
	[[ "$output" == *"count=4"* ]]
	for u in $(uidls alice); do [[ "$output" == *"$u"* ]]; done
}

@test "the next UID follows the last one in the file when the table's is lower, the table's when higher" {
	mktab alice 10
	run peer < <(appends alice 1 2)
	[ "$(imapuids alice)" = "10 11" ]
	mktab alice 3
	run peer < <(appends alice 3)
	[ "$(imapuids alice)" = "10 11 12" ]
	mktab alice 100
	run peer < <(appends alice 4)
	[ "$(imapuids alice)" = "10 11 12 100" ]
}

@test "an INBOX with a message without a UID: deliveries write none (the IMAP side assigns them)" {
	run peer < <(appends alice 1)
	mktab alice 1
	run peer < <(appends alice 2 3)
	echo "$output"
	[ "$(imapuids alice)" = "- - -" ]
}

@test "UIDs out of order in the file (another tool): deliveries write none" {
	mktab alice 10
	run peer < <(appends alice 1 2)
	[ "$(imapuids alice)" = "10 11" ]
	sed -i '0,/imapuid=10/s//imapuid=12/' "$SD/spool/alice"
	rm -f "$SD/spool/.alice.idx"
	run peer < <(appends alice 3)
	echo "$output"
	[ "${lines[2]}" = "append 0 delivered" ]
	[ "$(imapuids alice)" = "12 11 -" ]
}

@test "one delivery to two accounts: each mailbox's own UID state, one UIDL" {
	mktab alice 7
	run peer < <(echo start; echo "chan s smtp"; echo "append s a@example.org alice,bob @1")
	echo "$output"
	[ "${lines[2]}" = "append 0 delivered" ]
	[ "$(imapuids alice)" = "7" ]
	[ "$(imapuids bob)" = "-" ]
	[ "$(uidls alice)" = "$(uidls bob)" ]
}

@test "a delivery undone (quota of another recipient) burns its UID: a gap, never a reuse" {
	mktab alice 20
	run peer < <(appends bob 1)
	size=$(stat -c %s "$SD/spool/bob")
	run peer < <(appends bob 2)
	# alice takes two messages, bob (two already) not a third
	PEER_OPTS+=(-q $((size * 5 / 2)))
	run peer < <(echo start; echo "chan s smtp"
		echo "append s a@example.org alice @1"
		echo "append s a@example.org alice,bob @2"
		echo "append s a@example.org alice @3")
	echo "$output"
	[ "${lines[2]}" = "append 0 delivered" ]
	[ "${lines[3]}" = "append 3 mailbox bob over quota" ]
	[ "${lines[4]}" = "append 0 delivered" ]
	[ "$(imapuids alice)" = "20 22" ]
}

@test "a POP3 COMMIT that deletes the highest UIDs raises the table's UIDNEXT first: no reuse after a restart" {
	mktab alice 1
	run peer < <(appends alice 1 2 3)
	[ "$(imapuids alice)" = "1 2 3" ]
	run peer < <(echo start; echo "chan p pop3"; echo "auth p alice alicepw"
		echo "dele p 3"; echo "dele p 2"; echo "commit p")
	echo "$output"
	[[ "$output" == *"commit 0"* ]]
	[ "$(imapuids alice)" = "1" ]
	grep -q "^f 0 1764900000 4 s - INBOX$" "$SD/spool/.folders/alice/folders"
	run peer < <(appends alice 4)
	[ "$(imapuids alice)" = "1 4" ]
}
