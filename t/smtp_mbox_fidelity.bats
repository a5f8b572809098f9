#!/usr/bin/env bats
# SMTP -> mbox: a message with ".", "From ", ">From " lines and 8-bit bytes
# comes back byte for byte after mboxrd unquoting.

load lib/helpers

setup() {
	postern_setup
	TOOL="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"
}
teardown() { postern_teardown; }

@test "body survives SMTP and the mbox byte for byte" {
	postern_start
	python3 - "$PT_DIR/msg" "$PT_DIR/expect" <<'PY'
import sys
lines = [
    b"From: tricky@remote.example",
    b"Subject: fidelity \xe9\xe8",
    b"",
    b".",
    b"..",
    b".leading dot",
    b"From the start of a line",
    b">From quoted once",
    b">>From quoted twice",
    b"From",
    b"Fromage",
    b" From indented",
    b"8-bit: " + bytes(range(0x80, 0x100)),
    b"tab\tand\x01\x7f controls",
    b"",
    b"From ",
    b"last line",
]
# smtplib dot-stuffs itself; CRLF line ends on the wire
open(sys.argv[1], "wb").write(b"\r\n".join(lines) + b"\r\n")
open(sys.argv[2], "wb").write(b"\n".join(lines) + b"\n")
PY
	run $TOOL send "$SMTP_PORT" sender@remote.example alice@example.org "$PT_DIR/msg"
	[ "$status" -eq 0 ]
	[[ "$output" == "refused={}" ]]
	wait_for mbox_count_is alice 1
	$TOOL mbox-bodies "$(mbox_path alice)" >"$PT_DIR/got"
	cmp "$PT_DIR/expect" "$PT_DIR/got"
	# and the mbox itself is quoted: no bare "From " line inside the message
	[ "$(grep -c '^From ' "$(mbox_path alice)")" -eq 1 ]
	grep -q '^>From the start of a line$' "$(mbox_path alice)"
	grep -q '^>>From quoted once$' "$(mbox_path alice)"
	grep -q '^>>>From quoted twice$' "$(mbox_path alice)"
}

@test "two messages in one session are two mbox entries" {
	postern_start
	printf 'Subject: one\r\n\r\nFrom one\r\n' >"$PT_DIR/m1"
	printf 'Subject: two\r\n\r\n.\r\n' >"$PT_DIR/m2"
	run $TOOL data-codes "$SMTP_PORT" s@remote.example bob@example.org "$PT_DIR/m1" "$PT_DIR/m2"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == "250 "* ]]
	[[ "${lines[1]}" == "250 "* ]]
	wait_for mbox_count_is bob 2
	$TOOL mbox-bodies "$(mbox_path bob)" | tr '\0' '|' >"$PT_DIR/got"
	[ "$(cat "$PT_DIR/got")" = $'Subject: one\n\nFrom one\n|Subject: two\n\n.' ]
}
