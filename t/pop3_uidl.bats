#!/usr/bin/env bats
# UIDL: unique within the maildrop, stable across sessions, deletions and
# a daemon restart (RFC 1939 7).

load lib/helpers
load lib/pop3

setup() {
	postern_setup
	postern_start
	for i in 1 2 3; do smtp_quick alice@example.org same same; done
	wait_for mbox_count_is alice 3
}
teardown() { postern_teardown; }

uidls() {
	pop3_batch 'USER alice\r\nPASS alicepw\r\nUIDL\r\nQUIT\r\n' |
		sed -n '/^+OK unique-id/,/^\.$/p' | sed '1d;$d'
}

@test "UIDs are 1..70 printable characters and unique, even for identical messages" {
	run uidls
	[ "${#lines[@]}" -eq 3 ]
	for l in "${lines[@]}"; do [[ $l =~ ^[1-3]\ [!-~]{1,70}$ ]]; done
	[ "$(printf '%s\n' "${lines[@]}" | cut -d' ' -f2 | sort -u | wc -l)" -eq 3 ]
}

@test "UIDL is stable across sessions and after a deletion" {
	before=$(uidls)
	[ "$before" = "$(uidls)" ]
	u2=$(sed -n 's/^2 //p' <<<"$before")
	u3=$(sed -n 's/^3 //p' <<<"$before")
	pop3_batch 'USER alice\r\nPASS alicepw\r\nDELE 1\r\nQUIT\r\n' >/dev/null
	after=$(uidls)
	[ "$after" = "$(printf '1 %s\n2 %s' "$u2" "$u3")" ]
}

@test "UIDL is stable across a daemon restart" {
	before=$(uidls)
	postern_stop
	postern_start
	[ "$before" = "$(uidls)" ]
}

@test "UIDL n agrees with the listing" {
	all=$(uidls)
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nUIDL 2\r\nQUIT\r\n'
	[ "${lines[3]}" = "+OK $(sed -n '2p' <<<"$all")" ]
}

# write_mbox FILE UID...: a mailbox another tool merged together (a
# restore), one message a UID, "Subject: m1", "m2"... in file order.
write_mbox() {
	python3 - "$@" <<'PY'
import sys
def rec(uid, subj):
    head = b"From old@example.com Mon Jan  1 00:00:00 2024\n"
    rest = b"Return-Path: <old@example.com>\nSubject: " + subj + b"\n\nbody of " + subj + b"\n\n"
    base = len(head) + len(rest) + len(b"X-Postern: uid=" + uid + b" len=\n")
    for d in range(1, 20):
        if len(str(base + d)) == d:
            total = base + d
            break
    r = head + b"X-Postern: uid=" + uid + b" len=" + str(total).encode() + b"\n" + rest
    assert len(r) == total
    return r
data = b"".join(rec(u.encode(), b"m%d" % (i + 1)) for i, u in enumerate(sys.argv[2:]))
open(sys.argv[1], "wb").write(data)
PY
	if is_root; then chown _postern-store "$1"; fi
	chmod 600 "$1"
}

U40=0123456789abcdef0123456789abcdef01234567

uidls_of() {
	pop3_batch "USER $1\r\nPASS $2\r\nUIDL\r\nQUIT\r\n" |
		sed -n '/^+OK unique-id/,/^\.$/p' | sed '1d;$d'
}

@test "a duplicated 40-character UID: the store lists it (it overflowed its listing buffer) and serves on" {
	store=$(postern_pids store)
	write_mbox "$PT_SPOOL/carol" $U40 $U40 $U40
	run uidls_of carol carolpw
	echo "$output"
	[ "${lines[0]}" = "1 $U40" ]
	[ "${lines[1]}" = "2 $U40-1" ]
	[ "${lines[2]}" = "3 $U40-2" ]
	[ "$(postern_pids store)" = "$store" ]
	smtp_quick alice@example.org after after
	wait_for mbox_count_is alice 4
}

@test "duplicate UIDs in a merged mailbox: unique, and a survivor keeps its UIDL after DELE + QUIT" {
	store=$(postern_pids store)
	# two messages share a 40-character UID, and "abc", "abc", "abc-1":
	# the "-1" the second "abc" would get is the third one's own UID
	write_mbox "$PT_SPOOL/bob" $U40 $U40 abc abc abc-1
	before=$(uidls_of bob bobpw)
	echo "before: $before"
	[ "$(wc -l <<<"$before")" -eq 5 ]
	# unique, and 1..70 printable characters
	[ "$(cut -d' ' -f2 <<<"$before" | sort -u | wc -l)" -eq 5 ]
	while read -r n u; do [[ $u =~ ^[!-~]{1,70}$ ]]; done <<<"$before"
	# the third message keeps its own "abc-1"; the first of each pair its UID
	[ "$(sed -n 's/^1 //p' <<<"$before")" = $U40 ]
	[ "$(sed -n 's/^3 //p' <<<"$before")" = abc ]
	[ "$(sed -n 's/^5 //p' <<<"$before")" = abc-1 ]
	# the first of the 40-character pair and the second "abc" go
	run pop3_batch 'USER bob\r\nPASS bobpw\r\nDELE 1\r\nDELE 4\r\nQUIT\r\n'
	echo "$output"
	[[ "${lines[$((${#lines[@]} - 1))]}" == "+OK"* ]]
	after=$(uidls_of bob bobpw)
	echo "after: $after"
	want=$(printf '1 %s\n2 %s\n3 %s' "$(sed -n 's/^2 //p' <<<"$before")" \
		"$(sed -n 's/^3 //p' <<<"$before")" "$(sed -n 's/^5 //p' <<<"$before")")
	[ "$after" = "$want" ]
	# exactly m1 and m4 are gone
	[ "$(grep '^Subject: ' "$PT_SPOOL/bob" | tr '\n' ' ')" = "Subject: m2 Subject: m3 Subject: m5 " ]
	# the store never died
	[ "$(postern_pids store)" = "$store" ]
	# and it stays so across a restart (no index: the UIDs are in the file)
	postern_stop
	rm -f "$PT_SPOOL/.bob.idx"
	postern_start
	[ "$(uidls_of bob bobpw)" = "$want" ]
}
