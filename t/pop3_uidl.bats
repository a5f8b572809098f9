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
