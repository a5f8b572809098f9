#!/usr/bin/env bats
# The seccomp allowlists are enforced: in the probe build (make probe-build,
# privsep/sandbox.c -DPOSTERN_SECCOMP_PROBE) a process whose role is named
# in POSTERN_SECCOMP_PROBE calls socket(2) right after its filter is in
# place.  socket(2) is in no role's allowlist, so the kernel must kill it
# with SIGSYS (31); the master logs that and respawns it with back-off, and
# the other roles keep serving.

load lib/helpers
load lib/probe

setup() { probe_setup; }

teardown() { postern_teardown; }

# probe_start ROLE: the probe build, with ROLE's processes calling socket(2).
probe_start() {
	POSTERN_SECCOMP_PROBE=$1 "$PROBED" -d -f "$PT_CONF" >>"$PT_LOG" 2>&1 &
	PT_PID=$!
	export PT_PID
}

# Distinct pids of ROLE that the master saw die by SIGSYS.
sigsys_kills() {
	grep -o "$1\[[0-9]*\] killed by signal 31" "$PT_LOG" | sort -u | grep -c . || true
}
sigsys_kills_ge() { [ "$(sigsys_kills "$1")" -ge "$2" ]; }

# The probe ran in ROLE, got killed, and socket(2) never returned.
assert_probe_killed() {
	wait_for grep -q "$1\[[0-9]*\]: seccomp probe: $1 calls socket(2)" "$PT_LOG"
	wait_for sigsys_kills_ge "$1" 1
	! grep -q "the filter let it through" "$PT_LOG"
}

# Respawned (a second process died the same way) but throttled: after the
# first death, at most a handful of restarts in `secs` seconds (the back-off
# doubles from 100 ms; a tight loop would make hundreds).
assert_respawned_with_backoff() {
	local role=$1 secs=$2 max=$3 n
	WAIT_SECS=10 wait_for sigsys_kills_ge "$role" 2
	sleep "$secs"
	n=$(sigsys_kills "$role")
	echo "# $role: $n SIGSYS deaths" >&3
	[ "$n" -le "$max" ]
	kill -0 "$PT_PID"    # the master itself lives on
}

@test "probe build without the variable: serves normally" {
	POSTERND=$PROBED postern_start
	greets "$SMTP_PORT" "220 "
	! grep -q "seccomp probe" "$PT_LOG"
	! grep -q "killed by signal" "$PT_LOG"
}

@test "store calls socket(2): killed by SIGSYS, respawned with back-off" {
	probe_start store
	assert_probe_killed store
	assert_respawned_with_backoff store 4 10
	grep -q "store died; restarting it" "$PT_LOG"
}

@test "smtp worker calls socket(2): killed by SIGSYS, respawned with back-off; POP3 unaffected" {
	probe_start smtp
	assert_probe_killed smtp
	wait_for grep -q "smtp worker died before serving; next start in" "$PT_LOG"
	# two spares start together, then the back-off throttles the pool
	assert_respawned_with_backoff smtp 4 16
	wait_for greets "$POP3_PORT" "+OK"
	[ "$(sigsys_kills pop3)" -eq 0 ]
	[ "$(sigsys_kills store)" -eq 0 ]
}

@test "pop3 worker calls socket(2): killed by SIGSYS, respawned with back-off; SMTP unaffected" {
	probe_start pop3
	assert_probe_killed pop3
	wait_for grep -q "pop3 worker died before serving; next start in" "$PT_LOG"
	assert_respawned_with_backoff pop3 4 16
	wait_for greets "$SMTP_PORT" "220 "
	[ "$(sigsys_kills smtp)" -eq 0 ]
	[ "$(sigsys_kills store)" -eq 0 ]
}

@test "imap worker calls socket(2): killed by SIGSYS, respawned with back-off; SMTP and POP3 unaffected" {
	IMAP_PORT=$(free_ports 1)
	printf 'listen imap 127.0.0.1:%s\nimap-min-spare 2\n' "$IMAP_PORT" >>"$PT_CONF"
	probe_start imap
	assert_probe_killed imap
	wait_for grep -q "imap worker died before serving; next start in" "$PT_LOG"
	assert_respawned_with_backoff imap 4 16
	wait_for greets "$SMTP_PORT" "220 "
	wait_for greets "$POP3_PORT" "+OK"
	[ "$(sigsys_kills smtp)" -eq 0 ]
	[ "$(sigsys_kills pop3)" -eq 0 ]
	[ "$(sigsys_kills store)" -eq 0 ]
}

@test "auth process calls socket(2): killed by SIGSYS, respawned with back-off; SMTP delivers" {
	load lib/pop3
	probe_start auth
	assert_probe_killed auth
	assert_respawned_with_backoff auth 4 10
	# deliveries never wait for the auth process
	wait_for greets "$SMTP_PORT" "220 "
	smtp_quick alice@example.org during "auth is down"
	wait_for mbox_count_is alice 1
	[ "$(sigsys_kills store)" -eq 0 ]
	[ "$(sigsys_kills smtp)" -eq 0 ]
	! grep -q "store died" "$PT_LOG"
}

@test "keyholder calls socket(2): killed by SIGSYS, respawned with back-off" {
	load lib/tls
	command -v openssl >/dev/null || skip "openssl(1) is needed to make a certificate"
	tls_make_cert "$PT_DIR" server
	printf 'tls-cert %s\ntls-key %s\n' "$PT_DIR/server.crt" "$PT_DIR/server.key" >>"$PT_CONF"
	# the keyholder exists only with TLS; check this build starts it at all
	POSTERND=$PROBED postern_start || skip "TLS does not come up in this build yet"
	[ -n "$(postern_pids keyholder)" ] || skip "no keyholder process in this build yet"
	postern_stop
	: >"$PT_LOG"
	probe_start keyholder
	assert_probe_killed keyholder
	assert_respawned_with_backoff keyholder 4 10
	[ "$(sigsys_kills store)" -eq 0 ]
}

@test "control process calls socket(2): killed by SIGSYS, respawned with back-off; mail unaffected" {
	probe_start control
	control_wake
	assert_probe_killed control
	assert_respawned_with_backoff control 4 10
	grep -q "control died; restarting it" "$PT_LOG"
	greets "$SMTP_PORT" "220 "
	greets "$POP3_PORT" "+OK"
}
