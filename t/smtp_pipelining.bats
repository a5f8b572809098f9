#!/usr/bin/env bats
# SMTP: PIPELINING (RFC 2920) -- every reply, in order, however the bytes are split.

load lib/helpers

setup() {
	postern_setup
	postern_conf_set max-conn-per-ip-per-minute 0
	postern_conf_set max-sessions-per-ip 0
	TOOL="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"
}
teardown() { postern_teardown; }

@test "a pipelined batch split into two writes at every offset" {
	postern_start
	run $TOOL splits "$SMTP_PORT"
	echo "$output" | tail -5
	[ "$status" -eq 0 ]
	[[ "$output" == *"bad=0"* ]]
	# every split delivered its message: one per offset to bob
	n=$(sed -n 's/^splits=\([0-9]*\).*/\1/p' <<<"$output")
	wait_for mbox_count_is bob "$n"
}

@test "a whole session in one write, byte by byte, and in one packet" {
	postern_start
	run python3 - "$SMTP_PORT" <<'PY'
import socket, sys, time
sess = (b"EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\n"
        b"DATA\r\nSubject: bytewise\r\n\r\nx\r\n.\r\nNOOP\r\nQUIT\r\n")
def run(step):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    for i in range(0, len(sess), step):
        s.sendall(sess[i:i + step])
        if step == 1:
            time.sleep(0.001)
    buf = b""
    t = time.time()
    while time.time() - t < 10:
        b = s.recv(4096)
        if not b:
            break
        buf += b
    return [l[:3] for l in buf.split(b"\r\n") if len(l) > 3 and l[3:4] == b" "]
want = [b"220", b"250", b"250", b"250", b"354", b"250", b"250", b"221"]
for step in (1, 7, 10000):
    got = run(step)
    print(step, b" ".join(got).decode())
    assert got == want, got
PY
	echo "$output"
	[ "$status" -eq 0 ]
	wait_for mbox_count_is alice 3
}

@test "replies to a long pipelined batch are not lost (output larger than a socket buffer)" {
	postern_start
	run python3 - "$SMTP_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"EHLO c.example\r\n" + b"HELP\r\n" * 3000 + b"QUIT\r\n")
buf = b""
t = time.time()
while time.time() - t < 20:
    b = s.recv(65536)
    if not b:
        break
    buf += b
print(buf.count(b"\r\n214 2.0.0 End of HELP info\r\n"), buf.endswith(b"Bye\r\n"))
PY
	[ "$output" = "3000 True" ]
}
