#!/usr/bin/env bats
# Round trip: messages sent over SMTP come back through POP3 RETR byte for
# byte (after the Return-Path and Received trace headers postern prepends):
# bodies with "." lines, "From " lines, 8-bit bytes, and a 20 MB message.
# The octet count of LIST and "+OK n octets" equals the bytes RETR sends
# before dot-stuffing.

load lib/helpers
load lib/pop3

setup() {
	postern_setup
	postern_start
}
teardown() { postern_teardown; }

# roundtrip FILE...: sends each file (CRLF lines) to alice over SMTP, then
# RETRs each over a raw socket and compares.
roundtrip() {
	python3 "$MAILCLIENT" roundtrip "$SMTP_PORT" "$POP3_PORT" "$@"
}

@test "dot lines, From lines and 8-bit bytes come back byte for byte" {
	printf 'Subject: dots\r\n\r\n.\r\n..\r\n...\r\n.leading dot\r\nend.\r\n. \r\n.\r\nlast\r\n' >"$PT_DIR/m1"
	printf 'Subject: from\r\n\r\nFrom me\r\n>From you\r\n>>From x\r\nFrom\r\n From y\r\nFrom \r\n' >"$PT_DIR/m2"
	python3 - "$PT_DIR/m3" <<'PY'
import sys
body = b"Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
body += "Grüße, naïve café — ☃\r\n".encode()
for start in range(0x80, 0x100, 32):
    body += bytes(range(start, start + 32)) + b"\r\n"
body += b"\r\n\r\ntrailing empty lines above\r\n"
open(sys.argv[1], "wb").write(body)
PY
	printf 'Subject: x\r\nX-Postern: uid=forged len=1\r\n\r\nX-Postern: uid=forged len=1\r\nFrom fake@example.com Mon Jan  1 00:00:00 2024\r\n' >"$PT_DIR/m4"
	run roundtrip "$PT_DIR/m1" "$PT_DIR/m2" "$PT_DIR/m3" "$PT_DIR/m4"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok 4" ]
}

@test "a 20 MB message comes back byte for byte" {
	python3 - "$PT_DIR/big" <<'PY'
import random, sys
r = random.Random(7)
out = [b"Subject: big\r\n\r\n"]
n = 0
alpha = bytes(range(0x21, 0x7f)) + bytes(range(0x80, 0x100))
while n < 20 * 1024 * 1024:
    k = r.randrange(0, 200)
    if k < 3:
        l = b"." * (k + 1)
    elif k < 5:
        l = b"From line " + str(n).encode()
    else:
        l = bytes(r.choice(alpha) for _ in range(r.randrange(0, 120)))
    out.append(l + b"\r\n")
    n += len(l) + 2
open(sys.argv[1], "wb").write(b"".join(out))
PY
	run roundtrip "$PT_DIR/big"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok 1" ]
}

@test "TOP of a message delivered over SMTP: headers, blank line, n lines" {
	printf 'Subject: top\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n' >"$PT_DIR/m"
	smtp_send sender@example.com alice@example.org "$PT_DIR/m"
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nTOP 1 2\r\nQUIT\r\n'
	out=$(printf '%s\n' "${lines[@]}" | sed -n '/^+OK top/,/^\.$/p')
	printf '%s\n' "$out" | grep -qx 'Subject: top'
	printf '%s\n' "$out" | grep -qx 'line 1'
	printf '%s\n' "$out" | grep -qx '\.\.line 2'
	! printf '%s\n' "$out" | grep -q 'line 3'
}
