#!/usr/bin/env bats
# posternctl(8) against the real daemon: status, who, mailbox, stats
# (--prometheus), reload, stop, check, the exit codes, who may use the
# socket, and clients of the socket that misbehave.

load lib/helpers
load lib/pop3
load lib/tls

setup() { postern_setup; }
teardown() {
	[ -n "${HOLD_PID:-}" ] && kill "$HOLD_PID" 2>/dev/null
	postern_teardown
}

ctl() { "$POSTERNCTL" -f "$PT_CONF" "$@"; }

# A POP3 session held open in the background: connects, says so in
# $PT_DIR/held.1, logs in as $1 when $PT_DIR/go.login appears, says so
# in held.2, quits when $PT_DIR/go.quit appears (each wait at most 20 s).
hold_pop3() {
	python3 "$MAILCLIENT" pop3-hold "$POP3_PORT" "$PT_DIR" "$1" "$2" &
	HOLD_PID=$!
}

who_has() { ctl who | grep -Eq "$1"; }

@test "status: up since, master pid, store and keyholder, pools, sessions and counters" {
	postern_conf_set pop3-min-spare 1
	postern_conf_set pop3-max 7
	postern_start
	run ctl status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ up-since:\ 20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T ]]
	[[ "$output" == *"master-pid: $PT_PID"* ]]
	[[ "$output" == *"config: $PT_CONF"* ]]
	[[ "$output" == *"store: running pid=$(postern_pids store) restarts=0"* ]]
	[[ "$output" == *"keyholder: not-used"* ]]
	[[ "$output" == *"auth: running pid=$(postern_pids auth) restarts=0"* ]]
	[[ "$output" =~ pool\ smtp:\ busy=[0-9]+\ idle=[0-9]+\ min-spare=2\ max=20 ]]
	[[ "$output" =~ pool\ pop3:\ busy=[0-9]+\ idle=[0-9]+\ min-spare=1\ max=7 ]]
	[[ "$output" == *"sessions-now: 0"* ]]
	[[ "$output" == *"delivered: messages=0 recipients=0"* ]]
	[[ "$output" == *"logins: ok=0 failed=0"* ]]
	[[ "$output" == *"refused: per-ip=0 rate=0 pool-full=0 relay=0 unknown-recipient=0"* ]]
	[[ "$output" == *"tempfail: store-unavailable=0"* ]]
}

@test "status counts deliveries, refusals, logins and sessions" {
	postern_start
	smtp_quick alice@example.org one "first"
	smtp_quick team@example.org two "to alice and bob"
	run python3 "$MAILCLIENT" chat "$SMTP_PORT" "EHLO x" "MAIL FROM:<a@example.com>" \
		"RCPT TO:<nobody@example.org>" "RCPT TO:<x@elsewhere.test>" "QUIT"
	[[ "$output" == *"550 5.1.1"* ]]
	[[ "$output" == *"550 5.7.1"* ]]
	pop3_batch "USER alice\r\nPASS wrong\r\nQUIT\r\n" >/dev/null
	pop3_batch "USER bob\r\nPASS bobpw\r\nQUIT\r\n" >/dev/null
	run ctl status
	echo "$output"
	[[ "$output" == *"delivered: messages=2 recipients=3"* ]]
	[[ "$output" == *" relay=1 unknown-recipient=1 "* ]]
	[[ "$output" == *"logins: ok=1 failed=1"* ]]
	[[ "$output" =~ sessions-total:\ smtp=([0-9]+)\ pop3=([0-9]+) ]]
	[ "${BASH_REMATCH[1]}" -ge 3 ]
	[ "${BASH_REMATCH[2]}" -ge 2 ]
}

@test "who: a live POP3 session, with its account once logged in" {
	postern_start
	run ctl who
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "SERVICE"*"CLIENT"*"ACCOUNT"*"DURATION"*"PID" ]]
	[ "${#lines[@]}" -eq 1 ]
	hold_pop3 alice alicepw
	wait_for test -e "$PT_DIR/held.1"
	wait_for who_has '^pop3 +127\.0\.0\.1 +- '
	touch "$PT_DIR/go.login"
	wait_for test -s "$PT_DIR/held.2"
	grep -q '^+OK' "$PT_DIR/held.2"
	wait_for who_has '^pop3 +127\.0\.0\.1 +alice +[0-9]+s +[0-9]+$'
	run ctl status
	[[ "$output" == *"sessions-now: 1"* ]]
	[[ "$output" =~ \ \ pop3\ +127\.0\.0\.1\ +alice ]]
	touch "$PT_DIR/go.quit"
	wait "$HOLD_PID"
	HOLD_PID=
	wait_for eval '[ "$(ctl who | grep -c .)" -eq 1 ]'
}

@test "status counts the master's own refusals: per-ip" {
	postern_conf_set max-sessions-per-ip 1
	postern_conf_set limits-exempt none   # loopback is exempt by default
	postern_start
	# the start-up probe's session is over
	wait_for eval '[ "$(ctl who | grep -c .)" -eq 1 ]'
	hold_pop3 alice alicepw
	wait_for test -e "$PT_DIR/held.1"
	wait_for who_has '^pop3 +127\.0\.0\.1 '
	run python3 "$MAILCLIENT" greet "127.0.0.1:$POP3_PORT"
	echo "$output"
	[[ "$output" == *"-ERR [SYS/TEMP] too many connections from your address"* ]]
	run ctl status
	echo "$output"
	[[ "$output" == *"refused: per-ip=1 rate=0 pool-full=0 "* ]]
	[[ "$output" =~ sessions-total:\ smtp=[0-9]+\ pop3=2 ]]
	touch "$PT_DIR/go.login" "$PT_DIR/go.quit"
	wait "$HOLD_PID"
	HOLD_PID=
}

@test "mailbox NAME: messages, bytes, last delivery and index state" {
	postern_start
	run ctl mailbox carol
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"messages: 0"* ]]
	[[ "$output" == *"last-delivery: never"* ]]
	smtp_quick carol@example.org one "first"
	smtp_quick carol@example.org two "second"
	smtp_quick carol@example.org three "third"
	run ctl mailbox carol
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"mailbox: carol"* ]]
	[[ "$output" == *"messages: 3"* ]]
	[[ "$output" == *"bytes: $(stat -c %s "$(mbox_path carol)")"* ]]
	[[ "$output" =~ last-delivery:\ [A-Z][a-z][a-z]\ [A-Z][a-z][a-z]\ +[0-9]+\ [0-9:]{8}\ 20[0-9][0-9] ]]
	[[ "$output" == *"index: "* ]]
	# after a POP3 login the index describes the mailbox
	[ "$(pop3_count carol carolpw)" = 3 ]
	run ctl mailbox CAROL
	[[ "$output" == *"messages: 3"* ]]
	[[ "$output" == *"index: current"* ]]
	run ctl mailbox nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"no such account"* ]]
	run ctl mailbox ../etc
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a valid mailbox name"* ]]
	run ctl mailbox x.lock
	[ "$status" -eq 1 ]
	[[ "$output" == *"no such account"* ]]
	# none of that dropped the control process's store channel
	run ctl mailbox carol
	[[ "$output" == *"messages: 3"* ]]
}

@test "reload applies a changed config; a broken one is named with file:line and not applied" {
	postern_start
	sed -i 's/^hostname mail.example.org/hostname mx2.example.org/' "$PT_CONF"
	run ctl reload
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"configuration reloaded"* ]]
	wait_for greets "$SMTP_PORT" "220 mx2.example.org"
	grep -q "posternctl reload by uid 0" "$PT_LOG" || ! is_root
	echo "max-recipients lots" >>"$PT_CONF"
	line=$(grep -n "^max-recipients lots" "$PT_CONF" | cut -d: -f1)
	run ctl reload
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$PT_CONF:$line: max-recipients"* ]]
	[[ "$output" == *"not reloading"* ]]
	# -s skips the client's own check: the daemon refuses it and says so
	run "$POSTERNCTL" -f /nonexistent -s "$PT_CTL" reload
	[ "$status" -eq 1 ]
	[[ "$output" == *"running one is kept"* ]]
	greets "$SMTP_PORT" "220 mx2.example.org"
}

@test "stop stops the daemon and removes the socket; then: not running, exit 3" {
	postern_start
	run ctl stop
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"stopping"* ]]
	[[ "$output" == *"stopped"* ]]
	wait_for eval '! kill -0 "$PT_PID"'
	[ ! -e "$PT_CTL" ]
	! greets "$SMTP_PORT" "220"
	PT_PID=
	run ctl status
	[ "$status" -eq 3 ]
	[[ "$output" == *"the daemon is not running"* ]]
}

@test "check: same as posternd -n; a bad config is named with file:line" {
	run ctl check
	[ "$status" -eq 0 ]
	[[ "$output" == *"configuration OK"* ]]
	echo "bogus-key 1" >>"$PT_CONF"
	echo "control-mode 0666" >>"$PT_CONF"
	n=$(grep -c . "$PT_CONF")
	run ctl check
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$PT_CONF:$((n - 1)): unknown keyword \"bogus-key\""* ]]
	[[ "$output" == *"$PT_CONF:$n: control-mode: 0666 lets every local user"* ]]
	run "$POSTERND" -n -f "$PT_CONF"
	[ "$status" -eq 1 ]
}

@test "check: a control-group that does not exist is named with file:line" {
	echo "control-group no-such-group-xyz" >>"$PT_CONF"
	n=$(grep -c . "$PT_CONF")
	run ctl check
	[ "$status" -eq 1 ]
	[[ "$output" == *"$PT_CONF:$n: control-group: no group \"no-such-group-xyz\""* ]]
}

@test "stats --prometheus: HELP and TYPE lines, metric names, labels and values parse" {
	postern_start
	smtp_quick alice@example.org one "first"
	run ctl stats --prometheus
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$PT_DIR/metrics.prom"
	run python3 - "$PT_DIR/metrics.prom" <<'PY'
import re, sys
name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
sample = re.compile(r"^(%s)(\{(%s=\"[^\"\\\n]*\")(,%s=\"[^\"\\\n]*\")*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)$"
                    % (name_re, name_re, name_re))
helps, types, samples = {}, {}, {}
for n, line in enumerate(open(sys.argv[1]).read().splitlines(), 1):
    if line.startswith("# HELP "):
        name, text = line[7:].split(" ", 1)
        assert re.fullmatch(name_re, name) and text, (n, line)
        assert name not in helps, ("HELP twice", name)
        helps[name] = text
    elif line.startswith("# TYPE "):
        name, t = line[7:].split(" ")
        assert t in ("counter", "gauge"), (n, line)
        assert name in helps and name not in samples, ("TYPE after samples", name)
        types[name] = t
    else:
        m = sample.match(line)
        assert m, ("not a sample line", n, line)
        name = m.group(1)
        assert name in types, ("sample without TYPE", name)
        if types[name] == "counter":
            assert name.endswith("_total"), name
        samples.setdefault(name, []).append((m.group(2) or "", float(m.group(5))))
for want in ("postern_sessions_total", "postern_messages_delivered_total",
             "postern_refused_total", "postern_tempfail_total", "postern_logins_total",
             "postern_workers", "postern_start_time_seconds", "postern_process_up",
             "postern_process_restarts_total"):
    assert want in samples, ("missing", want)
assert samples["postern_messages_delivered_total"] == [("", 1.0)], samples["postern_messages_delivered_total"]
assert any(l == '{service="smtp"}' and v >= 1 for l, v in samples["postern_sessions_total"])
assert any(l == '{reason="unknown-recipient"}' for l, v in samples["postern_refused_total"])
assert any(l == '{process="store"}' and v == 1 for l, v in samples["postern_process_up"])
print("ok")
PY
	echo "$output"
	run ctl stats
	[ "$status" -eq 0 ]
	[[ "$output" == *"delivered.messages 1"* ]]
	[[ "$output" == *"refused.relay 0"* ]]
}

@test "a store restart shows in status; the control process comes back with it" {
	postern_start
	old=$(postern_pids store)
	kill -KILL "$old"
	wait_for eval '[ -n "$(postern_pids store)" ] && [ "$(postern_pids store)" != "$old" ]'
	wait_for eval 'ctl status | grep -q "^store: running pid=[0-9]* restarts=1$"'
	smtp_quick carol@example.org one "after the restart"
	wait_for eval 'ctl mailbox carol | grep -q "^messages: 1$"'
}

@test "an auth process restart shows in status and stats" {
	postern_start
	old=$(postern_pids auth)
	kill -KILL "$old"
	wait_for eval '[ -n "$(postern_pids auth)" ] && [ "$(postern_pids auth)" != "$old" ]'
	wait_for eval 'ctl status | grep -q "^auth: running pid=$(postern_pids auth) restarts=1$"'
	run ctl stats --prometheus
	[[ "$output" == *'postern_process_up{process="auth"} 1'* ]]
	[[ "$output" == *'postern_process_restarts_total{process="auth"} 1'* ]]
}

@test "the socket's mode and group decide who may use it" {
	require_root
	getent group _postern-ctltest >/dev/null || groupadd --system _postern-ctltest
	postern_conf_set control-group _postern-ctltest
	postern_conf_set control-mode 0660
	postern_start
	[ "$(stat -c '%U %G %a' "$PT_CTL")" = "root _postern-ctltest 660" ]
	gid=$(getent group _postern-ctltest | cut -d: -f3)
	# nobody, not in the group: refused by the kernel, exit 4
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$POSTERNCTL" -s "$PT_CTL" status
	echo "$output"
	[ "$status" -eq 4 ]
	[[ "$output" == *"permission denied on $PT_CTL"* ]]
	[[ "$output" == *"_postern-ctltest"* ]] || [[ "$output" == *"run it as root"* ]]
	# the same user in the group: served
	run setpriv --reuid=nobody --regid=nogroup --groups="$gid" "$POSTERNCTL" -s "$PT_CTL" status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"master-pid: $PT_PID"* ]]
}

control_gone() { [ -z "$(postern_pids control)" ]; }

@test "the control process starts on demand and exits after control-max-idle" {
	postern_conf_set control-max-idle 1s
	postern_start
	# none while nobody asks
	sleep 1
	[ -z "$(postern_pids control)" ]
	run "$POSTERNCTL" -s "$PT_CTL" status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"master-pid: $PT_PID"* ]]
	first=$(postern_pids control)
	[ -n "$first" ]
	# idle for a second: gone, and not counted as a death
	WAIT_SECS=10 wait_for control_gone
	run "$POSTERNCTL" -s "$PT_CTL" status
	[ "$status" -eq 0 ]
	[[ "$output" == *"master-pid: $PT_PID"* ]]
	second=$(postern_pids control)
	[ -n "$second" ] && [ "$second" != "$first" ]
	! grep -q "control died" "$PT_LOG"
	! grep -q "control.*exited with status" "$PT_LOG"
}

@test "hostile clients: garbage, a 1 MB line and silent connections harm nobody" {
	postern_conf_set control-max-idle 1h
	postern_start
	"$POSTERNCTL" -s "$PT_CTL" status >/dev/null
	ctlpid=$(postern_pids control)
	[ -n "$ctlpid" ]
	run python3 - "$PT_CTL" "$POSTERNCTL" <<'PY'
import socket, subprocess, sys, time
path, ctl = sys.argv[1], sys.argv[2]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)      # blocking: waits while the backlog is full
    s.settimeout(15)
    return s
def answer(s):
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        out += b
    return out
def status_ok():
    t = time.time()
    r = subprocess.run([ctl, "-s", path, "status"], capture_output=True, timeout=20)
    assert r.returncode == 0 and b"master-pid:" in r.stdout, r
    return time.time() - t
# garbage: a clear error
for junk in (b"\x00\xff\xfe garbage\n", b"status now please\n", b"\n", b"STATUS\n",
             b"mailbox\n", b"mailbox a/b\n", b"stats wrong\n"):
    s = conn(); s.sendall(junk)
    a = answer(s)
    assert a.startswith(b"-ERR "), (junk, a)
# a 1 MB line without a newline: refused, the connection closed
s = conn()
try:
    s.sendall(b"x" * (1 << 20))
except (BrokenPipeError, ConnectionResetError):
    pass
a = answer(s)
assert a == b"" or a.startswith(b"-ERR request line too long"), a
# silent clients hold a slot each, but others are served at once
silent = [conn() for _ in range(5)]
assert status_ok() < 3
# more silent ones than slots: the extra get an error at once, not a hang
silent += [conn() for _ in range(20)]
t = time.time()
s = conn()
try:
    s.sendall(b"status\n")
except (BrokenPipeError, ConnectionResetError):
    pass    # turned away before it could even send
a = answer(s)
assert time.time() - t < 3, "a client hung"
assert a.startswith(b"-ERR too many control connections") or a.startswith(b"+OK"), a
# the silent ones time out; then everyone is served again
for x in silent[:5]:
    a = answer(x)
    assert a.startswith(b"-ERR timeout waiting for the request") or a == b"", a
for x in silent:
    x.close()
deadline = time.time() + 15
while True:
    try:
        status_ok()
        break
    except AssertionError:
        assert time.time() < deadline
        time.sleep(0.5)
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "ok" ]
	# the same control process served all of it, and the daemon still works
	[ "$(postern_pids control)" = "$ctlpid" ]
	grep -q "control: uid [0-9]*: bad request" "$PT_LOG"
	greets "$SMTP_PORT" "220 "
}

@test "usage errors exit 2; a missing socket exits 3" {
	run "$POSTERNCTL" frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: posternctl"* ]]
	run "$POSTERNCTL" mailbox
	[ "$status" -eq 2 ]
	run "$POSTERNCTL" -s "$PT_DIR/none.sock" status
	[ "$status" -eq 3 ]
	[[ "$output" == *"not running"* ]]
}

@test "a control socket that cannot be made is logged; mail is still served" {
	postern_conf_set control-socket /nonexistent-postern-dir/sub/control.sock
	postern_start
	grep -q "control-socket /nonexistent-postern-dir/sub/control.sock: cannot create its directory; running without it" "$PT_LOG"
	[ -z "$(postern_pids control)" ]
	smtp_quick alice@example.org one "still delivered"
	wait_for mbox_count_is alice 1
}

@test "a second daemon does not take over a control socket in use" {
	postern_start
	ports=$(free_ports 2)
	sed -e "s/:$SMTP_PORT\$/:$(sed -n 1p <<<"$ports")/" \
	    -e "s/:$POP3_PORT\$/:$(sed -n 2p <<<"$ports")/" \
	    -e "s|^pidfile .*|pidfile $PT_DIR/second.pid|" "$PT_CONF" >"$PT_DIR/second.conf"
	run timeout 20 "$POSTERND" -d -f "$PT_DIR/second.conf"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"control-socket $PT_CTL: another posternd is running there"* ]]
	run ctl status
	[[ "$output" == *"master-pid: $PT_PID"* ]]
}

@test "with TLS: the keyholder's state and restarts in status and stats" {
	tls_make_cert "$PT_DIR" server
	printf 'tls-cert %s\ntls-key %s\n' "$PT_DIR/server.crt" "$PT_DIR/server.key" >>"$PT_CONF"
	postern_start
	wait_for eval 'ctl status | grep -q "^keyholder: running pid=$(postern_pids keyholder) restarts=0$"'
	old=$(postern_pids keyholder)
	kill -KILL "$old"
	wait_for eval 'ctl status | grep -Eq "^keyholder: running pid=[0-9]+ restarts=1$"'
	run ctl stats --prometheus
	[[ "$output" == *'postern_process_restarts_total{process="keyholder"} 1'* ]]
	[[ "$output" == *'postern_process_up{process="keyholder"} 1'* ]]
}
