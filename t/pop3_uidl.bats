#!/usr/bin/env bats
# UIDL: unique within the maildrop, stable across sessions, deletions and
# a daemon restart (RFC 1939 7).

load helpers
load pop3_lib

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

# write_dup_mbox FILE: a mailbox another tool merged together (a restore):
# two messages share a 40-character X-Postern UID, and "abc", "abc",
# "abc-1" -- the "-N" a store would give the second "abc" is already the
# third message's own UID.  Subjects m1..m5 tell the messages apart.
write_dup_mbox() {
	python3 - "$1" <<'PY'
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
u40 = b"0123456789abcdef0123456789abcdef01234567"
assert len(u40) == 40
data = rec(u40, b"m1") + rec(u40, b"m2") + rec(b"abc", b"m3") + rec(b"abc", b"m4") + \
    rec(b"abc-1", b"m5")
open(sys.argv[1], "wb").write(data)
PY
}

uidls_of() {
	pop3_batch "USER $1\r\nPASS $2\r\nUIDL\r\nQUIT\r\n" |
		sed -n '/^+OK unique-id/,/^\.$/p' | sed '1d;$d'
}

@test "duplicate UIDs in a merged mailbox: unique, and a survivor keeps its UIDL after DELE + QUIT" {
	store=$(postern_pids store)
	write_dup_mbox "$PT_SPOOL/bob"
	if is_root; then chown _postern-store "$PT_SPOOL/bob"; fi
	chmod 600 "$PT_SPOOL/bob"
	before=$(uidls_of bob bobpw)
	echo "before: $before"
	[ "$(wc -l <<<"$before")" -eq 5 ]
	# unique, and 1..70 printable characters
	[ "$(cut -d' ' -f2 <<<"$before" | sort -u | wc -l)" -eq 5 ]
	while read -r n u; do [[ $u =~ ^[!-~]{1,70}$ ]]; done <<<"$before"
	# the third message keeps its own "abc-1"; the first of each pair its UID
	[ "$(sed -n 's/^1 //p' <<<"$before")" = 0123456789abcdef0123456789abcdef01234567 ]
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
	# the store never died (it did, under AddressSanitizer, before)
	[ "$(postern_pids store)" = "$store" ]
	# and it stays so across a restart (no index: the UIDs are in the file)
	postern_stop
	rm -f "$PT_SPOOL/.bob.idx"
	postern_start
	[ "$(uidls_of bob bobpw)" = "$want" ]
}
