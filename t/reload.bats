#!/usr/bin/env bats
# SIGHUP: a good config replaces the workers without cutting sessions;
# a bad one is logged and the old one kept.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

@test "a config error is reported as file:line and the daemon does not start" {
	echo "bogus-key 1" >>"$PT_CONF"
	run "$POSTERND" -d -f "$PT_CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$PT_CONF:"*": "*"bogus-key"* ]]
	! greets "$SMTP_PORT" "220"
}

@test "SIGHUP with a changed hostname: new sessions greet with it, an open session stays up" {
	postern_start
	python3 - "$SMTP_PORT" "$PT_PID" "$PT_CONF" <<'PY'
import os, signal, socket, sys, time
port, pid, conf = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
old = socket.create_connection(("127.0.0.1", port), timeout=10)
of = old.makefile("rb")
assert of.readline().startswith(b"220 mail.example.org ")
text = open(conf).read().replace("hostname mail.example.org", "hostname mx2.example.org")
open(conf, "w").write(text)
os.kill(pid, signal.SIGHUP)
deadline = time.time() + 10
while True:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    g = f.readline()
    s.sendall(b"QUIT\r\n"); f.readline(); s.close()
    if g.startswith(b"220 mx2.example.org "):
        break
    assert time.time() < deadline, "new hostname never seen: %r" % g
    time.sleep(0.2)
# the session opened before the reload still works
old.sendall(b"NOOP\r\n")
assert of.readline().startswith(b"250"), "old session cut"
old.sendall(b"QUIT\r\n")
assert of.readline().startswith(b"221")
PY
	grep -q "reload: configuration" "$PT_LOG"
}

@test "SIGHUP with a broken config keeps serving with the old one" {
	postern_start
	echo "max-recipients lots" >>"$PT_CONF"
	kill -HUP "$PT_PID"
	wait_for grep -q "keeping the running configuration" "$PT_LOG"
	grep -q "$PT_CONF:[0-9]*: " "$PT_LOG"
	greets "$SMTP_PORT" "220 mail.example.org"
	kill -0 "$PT_PID"
}
