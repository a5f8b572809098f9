#!/usr/bin/env bats
# Daemon mode logs to syslog(3) with the configured syslog-facility (and
# -d to stderr, which every other test reads).  A private mount namespace
# gets its own /dev/log, a socket this test reads, so the machine's syslog
# is neither needed nor touched.

load lib/helpers

setup() {
	require_root
	command -v unshare >/dev/null || skip "needs unshare (util-linux)"
	unshare -m true 2>/dev/null || skip "cannot make a mount namespace here"
	postern_setup
}
teardown() { postern_teardown; }

@test "daemon mode: delivery lines reach syslog with facility local5, ident postern" {
	postern_conf_set syslog-facility local5
	SYSLOG_OUT=$PT_DIR/syslog.out
	export SYSLOG_OUT
	run timeout 60 unshare -m --propagation private bash -c '
		set -e
		D=$PT_DIR/dev
		mkdir "$D"
		mount -t tmpfs -o mode=755 tmpfs "$D"
		for n in null zero full random urandom; do
			touch "$D/$n"
			mount --bind "/dev/$n" "$D/$n"
		done
		python3 - "$D/log" "$SYSLOG_OUT" <<"PY" &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1)
end = time.time() + 50
with open(sys.argv[2], "ab", buffering=0) as out:
    while time.time() < end:
        try:
            out.write(s.recv(4096).rstrip(b"\n") + b"\n")
        except socket.timeout:
            pass
PY
		listener=$!
		for _ in $(seq 50); do [ -S "$D/log" ] && break; sleep 0.1; done
		mount --bind "$D" /dev
		"$POSTERND" -f "$PT_CONF"
		wait_greet() {
			python3 "$MAILCLIENT" greets "$SMTP_PORT" 220
		}
		for _ in $(seq 100); do wait_greet 2>/dev/null && break; sleep 0.1; done
		swaks --server "127.0.0.1:$SMTP_PORT" --from a@example.net --to team@example.org --silent 2
		for _ in $(seq 100); do grep -q "status=sent" "$SYSLOG_OUT" 2>/dev/null && break; sleep 0.1; done
		pid=$(cat "$PT_DIR/postern.pid")
		kill -TERM "$pid"
		for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill "$listener"
	'
	echo "$output"
	cat "$SYSLOG_OUT"
	[ "$status" -eq 0 ]
	# <174> = local5 (21) * 8 + info (6); the ident is postern[master pid]
	grep -qE '^<174>.* postern\[[0-9]+\]: smtp\[[0-9]+\]: smtp [0-9a-f]+: delivery msgid=[0-9a-f]+\.1 from=<a@example.net> to=<alice@example.org> orig_to=<team@example.org> account=alice size=[0-9]+ delay=[0-9.]+ dsn=2\.0\.0 status=sent \(delivered to mailbox\)$' "$SYSLOG_OUT"
	grep -qE '^<174>.* postern\[[0-9]+\]: posternd: postern starting' "$SYSLOG_OUT"
	# nothing at another facility
	! grep -vqE '^<1(7[2-9]|8[0-7])>' "$SYSLOG_OUT"
	# nothing of it went to the terminal
	[[ "$output" != *"delivery msgid"* ]]
}
