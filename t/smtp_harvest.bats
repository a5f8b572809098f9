#!/usr/bin/env bats
# RCPT harvesting: a session that names unknown recipients gets 550 for
# each, and after max-unknown-recipients of them 421 and the connection
# closes (the client is logged).  Known recipients do not count, RSET does
# not reset the count, and a message that stays under it is delivered.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

# harvest PORT N: EHLO, MAIL, then N unknown RCPTs pipelined (with RSET +
# MAIL and a known recipient in between); prints the reply codes in order
# and "closed" when the server closed the connection.
harvest() {
	timeout 30 python3 - "$1" "$2" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
out = b"EHLO t\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<alice@example.org>\r\n"
for i in range(n):
    out += b"RCPT TO:<nobody%d@example.org>\r\n" % i
    if i == 2:
        out += b"RSET\r\nMAIL FROM:<a@example.net>\r\n"
try:
    s.sendall(out)
except OSError:
    pass
buf = b""
deadline = time.time() + 20
closed = False
while time.time() < deadline:
    try:
        c = s.recv(65536)
    except socket.timeout:
        break
    except OSError:
        closed = True
        break
    if not c:
        closed = True
        break
    buf += c
codes = [l[:3].decode() for l in buf.split(b"\r\n") if l[3:4] == b" "]
print(" ".join(codes))
print("closed" if closed else "open")
PY
}

@test "unknown recipients: 550 each, then 421 after max-unknown-recipients and close" {
	postern_conf_set max-unknown-recipients 5
	postern_start
	run harvest "$SMTP_PORT" 500
	echo "$output"
	[ "$status" -eq 0 ]
	# greeting, EHLO, MAIL, known RCPT, 3 x 550, RSET, MAIL, 2 x 550, 421
	[ "${lines[0]}" = "220 250 250 250 550 550 550 250 250 550 550 421" ]
	[ "${lines[1]}" = "closed" ]
	wait_for grep -q "too many unknown recipients (5), closing" "$PT_LOG"
	grep "too many unknown recipients" "$PT_LOG" | grep -q "127.0.0.1"
}

@test "the default limit (20) closes a session of 500 unknown recipients" {
	postern_start
	run harvest "$SMTP_PORT" 500
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(tr ' ' '\n' <<<"${lines[0]}" | grep -c '^550$')" -eq 20 ]
	[[ "${lines[0]}" == *" 550 421" ]]
	[ "${lines[1]}" = "closed" ]
}

@test "a message with a few unknown recipients under the limit is delivered" {
	postern_conf_set max-unknown-recipients 5
	postern_start
	run python3 "$BATS_TEST_DIRNAME/lib/mailclient.py" chat "$SMTP_PORT" "EHLO t" \
		"MAIL FROM:<a@example.net>" "RCPT TO:<x1@example.org>" \
		"RCPT TO:<alice@example.org>" "RCPT TO:<x2@example.org>" \
		"RCPT TO:<x3@example.org>" "RCPT TO:<x4@example.org>" "DATA" \
		$'Subject: t\r\n\r\nbody\r\n.' "QUIT"
	echo "$output"
	[[ "$output" == *"250 2.0.0 Ok: queued"* || "$output" == *$'\r\n250 2.0.0'* ]]
	[[ "$output" != *"421"* ]]
	[ "$(mbox_count alice)" -eq 1 ]
}

@test "posternd -n checks max-unknown-recipients" {
	postern_conf_set max-unknown-recipients 0
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"max-unknown-recipients"* ]]
}
