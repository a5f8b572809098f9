#!/usr/bin/env bats
# The store dies during a POP3 session: the session gets -ERR [SYS/TEMP]
# (never a false +OK), nothing is deleted, and once the master has
# restarted the store a new session works.

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

@test "store killed mid-session: DELE/QUIT get [SYS/TEMP], nothing deleted" {
	store=$(postern_pids store)
	[ -n "$store" ]
	run python3 - "$POP3_PORT" "$store" <<'PY'
import os, signal, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rb"); f.readline()
def cmd(c):
    s.sendall(c + b"\r\n")
    return f.readline().decode().rstrip("\r\n")
cmd(b"USER alice")
assert cmd(b"PASS alicepw").startswith("+OK maildrop has 2")
assert cmd(b"DELE 1") == "+OK message 1 deleted"
os.kill(int(sys.argv[2]), signal.SIGKILL)
time.sleep(0.5)
r = cmd(b"QUIT")
assert r.startswith("-ERR [SYS/TEMP]"), r
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = ok ]
	wait_for pop3_count_is alice alicepw 2
}

@test "store killed before RETR: -ERR [SYS/TEMP], the session ends" {
	store=$(postern_pids store)
	run python3 - "$POP3_PORT" "$store" <<'PY'
import os, signal, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rb"); f.readline()
s.sendall(b"USER alice\r\nPASS alicepw\r\n"); f.readline(); f.readline()
os.kill(int(sys.argv[2]), signal.SIGKILL)
time.sleep(0.5)
s.sendall(b"RETR 1\r\n")
r = f.readline()
assert r.startswith(b"-ERR [SYS/TEMP]"), r
assert f.readline() == b""
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = ok ]
	wait_for pop3_count_is alice alicepw 2
}
