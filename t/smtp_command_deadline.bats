#!/usr/bin/env bats
# A client that keeps a session in the command phase (a NOOP now and then,
# each well inside smtp-timeout) cannot hold a worker past
# smtp-command-deadline; time spent in DATA does not count against it.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

@test "NOOP every 0.5 s: 421 4.4.2 at the command deadline, logged" {
	postern_conf_set smtp-timeout 5s
	postern_conf_set smtp-command-deadline 3s
	postern_start
	run timeout 30 python3 - "$SMTP_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
assert f.readline().startswith(b"220")
t0 = time.time()
line = b""
for i in range(40):
    try:
        s.sendall(b"NOOP\r\n")
    except OSError:
        break
    line = f.readline()
    if not line.startswith(b"250"):
        break
    time.sleep(0.5)
took = time.time() - t0
print(line, round(took, 1))
assert line.startswith(b"421 4.4.2"), line
assert b"Session time limit" in line, line
assert 2.5 < took < 6, took
assert f.readline() == b""   # closed
PY
	echo "$output"
	[ "$status" -eq 0 ]
	wait_for grep -q "command phase over its deadline" "$PT_LOG"
}

@test "a slow DATA phase does not count: the session goes on after it" {
	postern_conf_set smtp-timeout 5s
	postern_conf_set smtp-command-deadline 3s
	postern_start
	run timeout 30 python3 - "$SMTP_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
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
s.sendall(b"Subject: slow\r\n\r\n")
for i in range(10):          # 5 s of DATA, longer than the command deadline
    s.sendall(b"line %d\r\n" % i)
    time.sleep(0.5)
s.sendall(b".\r\n")
r = rd()
assert r.startswith(b"250"), r
s.sendall(b"NOOP\r\n")
r = rd()
assert r.startswith(b"250"), r
s.sendall(b"QUIT\r\n")
assert rd().startswith(b"221")
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(mbox_count alice)" -eq 1 ]
}
