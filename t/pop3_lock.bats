#!/usr/bin/env bats
# The maildrop is exclusive: a second session for the same account gets
# -ERR [IN-USE] and the first one is unaffected.

load lib/helpers
load lib/pop3

setup() {
	postern_setup
	postern_start
	smtp_quick alice@example.org one "body one"
	smtp_quick alice@example.org two "body two"
	wait_for mbox_count_is alice 2
}
teardown() { postern_teardown; }

@test "second session gets -ERR [IN-USE]; the first goes on and commits" {
	run python3 - "$POP3_PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK postern ready")
    return s, f
def cmd(c, line):
    s, f = c
    s.sendall(line.encode() + b"\r\n")
    return f.readline().decode().rstrip("\r\n")
a = conn()
assert cmd(a, "USER alice").startswith("+OK")
assert cmd(a, "PASS alicepw").startswith("+OK maildrop has 2")
assert cmd(a, "DELE 1") == "+OK message 1 deleted"
b = conn()
assert cmd(b, "USER alice").startswith("+OK")
r = cmd(b, "PASS alicepw")
assert r.startswith("-ERR [IN-USE]"), r
# AUTH PLAIN gets the same answer
r = cmd(b, "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=")
assert r.startswith("-ERR [IN-USE]"), r
assert cmd(b, "QUIT") == "+OK postern signing off"
# the first session is unaffected
r = cmd(a, "STAT")
assert r.startswith("+OK 1 "), r
r = cmd(a, "QUIT")
assert r == "+OK postern signing off (1 messages deleted)", r
# and now the maildrop is free again
c = conn()
cmd(c, "USER alice")
r = cmd(c, "PASS alicepw")
assert r.startswith("+OK maildrop has 1 messages"), r
cmd(c, "QUIT")
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = ok ]
}

@test "another account is not locked by alice's session" {
	smtp_quick bob@example.org hi "for bob"
	wait_for mbox_count_is bob 1
	run python3 - "$POP3_PORT" <<'PY'
import poplib, sys
port = int(sys.argv[1])
a = poplib.POP3("127.0.0.1", port, timeout=20)
a.user("alice"); a.pass_("alicepw")
b = poplib.POP3("127.0.0.1", port, timeout=20)
b.user("bob"); b.pass_("bobpw")
assert b.stat()[0] == 1
assert a.stat()[0] == 2
b.quit(); a.quit()
print("ok")
PY
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "a dropped session releases the lock" {
	run python3 - "$POP3_PORT" <<'PY'
import socket, sys, time, poplib
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=20)
f = s.makefile("rb"); f.readline()
s.sendall(b"USER alice\r\nPASS alicepw\r\n")
f.readline(); assert f.readline().startswith(b"+OK maildrop")
f.close()
s.close()   # (a socket with a makefile() open is not really closed)
deadline = time.time() + 10
while True:
    p = poplib.POP3("127.0.0.1", port, timeout=20)
    p.user("alice")
    try:
        p.pass_("alicepw")
        break
    except poplib.error_proto as e:
        assert b"[IN-USE]" in e.args[0], e
        p.quit()
        assert time.time() < deadline, "lock never released"
        time.sleep(0.2)
assert p.stat()[0] == 2
p.quit()
print("ok")
PY
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}
