#!/usr/bin/env bats
# Durability of the store under faults: kill -9 at random points during a
# stream of appends and during COMMIT (ipcpeer "faults": every acknowledged
# message present exactly once and whole after restart, an interrupted
# COMMIT all or nothing), and a full disk (ENOSPC on a small tmpfs spool).

load lib/helpers
load lib/store

setup() {
	store_setup alice
	export IPCPEER_PASS=alicepw
}

teardown() { store_teardown; }

# The mbox parses from a clean start: every From_ line has its X-Postern
# line and the declared lengths add up to the file size.
mbox_parses() {
	python3 - "$1" <<'PY'
import re, sys
d = open(sys.argv[1], "rb").read()
pos = 0
while pos < len(d):
    nl = d.index(b"\n", pos)
    assert d[pos:pos + 5] == b"From ", "no From_ line at %d" % pos
    x = d[nl + 1:d.index(b"\n", nl + 1) + 1]
    m = re.match(rb"X-Postern: uid=([0-9a-f]+) len=(\d+)\n$", x)
    assert m, "no X-Postern line at %d" % pos
    pos += int(m.group(2))
    assert d[pos - 2:pos] == b"\n\n", "bad separator before %d" % pos
assert pos == len(d)
PY
}

@test "kill -9 during a stream of appends: acknowledged mail survives whole" {
	run timeout 150 bash -c 'echo "faults appends 250 120 alice" | "$0" "${@}"' \
		"$BUILD/t/ipcpeer" "${PEER_OPTS[@]}" -l "$SD/log" "$SD/spool" "$SD/accounts"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "faults ok kills="* ]]
	kills=$(sed -n 's/.*kills=\([0-9]*\).*/\1/p' <<<"$output")
	[ "$kills" -ge 200 ]
	mbox_parses "$SD/spool/alice"
}

@test "kill -9 during COMMIT: the old or the new mailbox, whole" {
	run timeout 150 bash -c 'echo "faults commit 200 120 alice" | "$0" "${@}"' \
		"$BUILD/t/ipcpeer" "${PEER_OPTS[@]}" -l "$SD/log" "$SD/spool" "$SD/accounts"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "faults ok kills="* ]]
	kills=$(sed -n 's/.*kills=\([0-9]*\).*/\1/p' <<<"$output")
	[ "$kills" -ge 200 ]
	[ ! -e "$SD/spool/.alice.tmp" ] || true   # a leftover is harmless: replaced at the next COMMIT
	[ ! -s "$SD/spool/alice" ] || mbox_parses "$SD/spool/alice"
}

@test "a torn tail left by a crash is cut before anyone sees it" {
	run peer <<'END'
start
chan s smtp
append s a@example.org alice @1
append s a@example.org alice @2
kill
END
	[ "${lines[2]}" = "append 0 delivered" ]
	good=$(stat -c %s "$SD/spool/alice")
	# half of a third record, as a crash mid-write leaves it
	head -c 150 "$SD/spool/alice" >>"$SD/spool/alice"
	run peer <<'END'
start
chan p pop3
auth p alice alicepw
END
	echo "$output"
	[[ "${lines[2]}" == "auth 0 delay=0 count=2 "* ]]
	[ "$(stat -c %s "$SD/spool/alice")" -eq "$good" ]
	grep -q "mailbox alice: cut a torn tail of 150 bytes" "$SD/log"
}

@test "ENOSPC: temporary failure, nothing partial, delivery works after space is freed" {
	require_root
	mount -t tmpfs -o size=128k,mode=0700 tmpfs "$SD/spool" ||
		skip "cannot mount a tmpfs here"
	python3 -c 'import sys; sys.stdout.write("Subject: big\n\n" + ("x" * 70 + "\n") * 700)' >"$SD/big"
	run peer <<END
start
chan s smtp
append s a@example.org alice @1
sh dd if=/dev/zero of="$SD/spool/.filler" bs=1k count=90 2>/dev/null
append s a@example.org alice $SD/big
sh rm -f "$SD/spool/.filler"
append s a@example.org alice $SD/big
chan p pop3
auth p alice alicepw
END
	echo "$output"
	[ "${lines[2]}" = "append 0 delivered" ]
	[[ "${lines[4]}" == "append 2 "* ]]      # STORE_NOSPACE
	[ "${lines[6]}" = "append 0 delivered" ]
	[[ "${lines[8]}" == "auth 0 delay=0 count=2 "* ]]
	mbox_parses "$SD/spool/alice"
	grep -q "No space left on device" "$SD/log"
}
