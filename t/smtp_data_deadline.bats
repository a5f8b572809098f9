#!/usr/bin/env bats
# A client that trickles its DATA cannot hold a worker past
# smtp-data-deadline, however it paces the blocks.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

@test "DATA trickled a byte at a time: 421 4.4.2 at the deadline, nothing delivered" {
	postern_conf_set smtp-data-timeout 5s
	postern_conf_set smtp-data-deadline 3s
	postern_start
	run timeout 30 python3 - "$SMTP_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
f = s.makefile("rb")
def rd():
    while True:
        l = f.readline()
        if l[3:4] != b"-":
            return l
assert rd().startswith(b"220")
for c in (b"EHLO t\r\n", b"MAIL FROM:<a@example.net>\r\n", b"RCPT TO:<alice@example.org>\r\n", b"DATA\r\n"):
    s.sendall(c)
    r = rd()
assert r.startswith(b"354"), r
t0 = time.time()
line = None
try:
    # one byte every 0.5 s: each block well inside smtp-data-timeout
    for i in range(40):
        s.sendall(b"x")
        time.sleep(0.5)
except OSError:
    pass
s.settimeout(5)
line = f.readline()
took = time.time() - t0
print(line, round(took, 1))
assert line.startswith(b"421 4.4.2"), line
assert 2.5 < took < 8, took
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(mbox_count alice)" -eq 0 ]
}
