#!/usr/bin/env bats
# What a compromised worker can no longer do to other clients or to the
# service (SECURITY.md).  The probe build (make
# probe-build, privsep/sandbox.c -DPOSTERN_SECCOMP_PROBE) makes the worker
# named in POSTERN_SECCOMP_PROBE=ROLE:ACTION act as an attacker right after
# its filter is in place; POSTERN_SECCOMP_PROBE_UNTIL limits that to the
# workers started in the first seconds, so that their replacements serve.

load lib/helpers
load lib/probe

setup() { probe_setup; }

teardown() { postern_teardown; }

# probe_start ROLE:ACTION [SECS]: the probe build; the workers started in
# the first SECS seconds (default 3) act.  The master leads its own process
# group (setsid), as a daemon started by init does.
probe_start() {
	local until=$(($(date +%s) + ${2:-3}))
	POSTERN_SECCOMP_PROBE=$1 POSTERN_SECCOMP_PROBE_UNTIL=$until \
		setsid "$PROBED" -d -f "$PT_CONF" >>"$PT_LOG" 2>&1 &
	PT_PID=$!
	export PT_PID
	PROBE_UNTIL=$until
}

# Sleeps until the probe window is over.
probe_window_over() {
	local deadline=$((SECONDS + 10))
	while [ "$(date +%s)" -le "$PROBE_UNTIL" ] && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.2
	done
}

sigsys_kills() {
	grep -o "$1\[[0-9]*\] killed by signal 31" "$PT_LOG" | sort -u | grep -c . || true
}
sigsys_kills_ge() { [ "$(sigsys_kills "$1")" -ge "$2" ]; }

# The action ran in an smtp worker and the kernel killed it there.
assert_probe_killed() {
	wait_for grep -q "smtp\[[0-9]*\]: seccomp probe: smtp tries $1" "$PT_LOG"
	wait_for sigsys_kills_ge smtp 1
	! grep -q "the filter let it through" "$PT_LOG"
}

# Every one of N connections to PORT is greeted with PREFIX.
greets_n() {
	local port=$1 prefix=$2 n=$3 i
	for ((i = 0; i < n; i++)); do
		greets "$port" "$prefix" || return 1
	done
}

@test "a worker's shutdown(2) of the shared listener is killed; the port still serves" {
	probe_start smtp:shutdown
	assert_probe_killed shutdown
	probe_window_over
	WAIT_SECS=20 wait_for greets "$SMTP_PORT" "220 "
	greets_n "$SMTP_PORT" "220 " 3
	kill -0 "$PT_PID"
}

@test "a worker's SO_ATTACH_FILTER on the listener is killed; the port still serves" {
	probe_start smtp:filter
	assert_probe_killed filter
	probe_window_over
	WAIT_SECS=20 wait_for greets "$SMTP_PORT" "220 "
	greets_n "$SMTP_PORT" "220 " 3
}

@test "a worker's F_SETOWN on the listener is killed; the other workers serve on" {
	probe_start smtp:setown
	assert_probe_killed setown
	probe_window_over
	WAIT_SECS=20 wait_for greets "$SMTP_PORT" "220 "
	greets_n "$SMTP_PORT" "220 " 3
	greets_n "$POP3_PORT" "+OK" 2
	# SIGIO (29) would have killed every worker that shares the uid
	! grep -q "killed by signal 29" "$PT_LOG"
}

@test "a child's log line with a newline stays one line, tagged by the master" {
	probe_start smtp:log 60
	wait_for grep -q "smtp\[[0-9]*\]: seccomp probe: smtp tries log" "$PT_LOG"
	wait_for grep -q 'smtp\[[0-9]*\]: x\\x0a2026-01-01 00:00:00 store\[1\]: delivered to alice$' "$PT_LOG"
	# no line of the log starts with the forged text
	! grep -q '^2026-01-01 00:00:00 store\[1\]' "$PT_LOG"
	! grep -q '^[^ ]* [^ ]* store\[1\]:' "$PT_LOG"
	# the worker goes on serving: a log line is not misbehaviour
	greets "$SMTP_PORT" "220 "
	! grep -q "killing it" "$PT_LOG"
}

@test "a zero-length control datagram gets the worker killed and replaced" {
	probe_start smtp:empty
	wait_for grep -q "smtp\[[0-9]*\] sent an empty message; killing it" "$PT_LOG"
	pid=$(grep -o "smtp\[[0-9]*\] sent an empty message" "$PT_LOG" | head -1 | grep -o '[0-9]*')
	wait_for grep -q "smtp\[$pid\] killed by signal 9" "$PT_LOG"
	probe_window_over
	WAIT_SECS=20 wait_for greets "$SMTP_PORT" "220 "
	greets_n "$SMTP_PORT" "220 " 3
}

@test "MSG_STATUS naming 127.0.0.1 without its socket cannot lock 127.0.0.1 out" {
	postern_conf_set max-conn-per-ip-per-minute 10
	probe_start smtp:status
	wait_for grep -q "smtp\[[0-9]*\]: seccomp probe: smtp tries status" "$PT_LOG"
	wait_for grep -q "smtp\[[0-9]*\] sent a malformed MSG_STATUS; killing it" "$PT_LOG"
	probe_window_over
	WAIT_SECS=20 wait_for greets "$SMTP_PORT" "220 "
	# 40 reports were made (20 by each spare): none of them counted
	greets_n "$SMTP_PORT" "220 " 5
	! grep -q "refusing 127.0.0.1" "$PT_LOG"
}

@test "a worker reporting its store channel as the client is killed" {
	probe_start smtp:status-fd
	wait_for grep -q "smtp\[[0-9]*\] reported a client socket it did not accept; killing it" "$PT_LOG"
	probe_window_over
	WAIT_SECS=20 wait_for greets "$SMTP_PORT" "220 "
}

@test "one accepted client reported 20 times is counted once" {
	postern_conf_set max-conn-per-ip-per-minute 10
	probe_start smtp:status-reuse
	wait_for grep -q "smtp\[[0-9]*\]: seccomp probe: smtp tries status-reuse" "$PT_LOG"
	# one real client for the probe to accept; it is never greeted
	python3 "$MAILCLIENT" hold "$SMTP_PORT" 1
	wait_for grep -q "smtp\[[0-9]*\]: seccomp probe: reported one client socket 20 times" "$PT_LOG"
	probe_window_over
	# other workers started in the window probe too, each with the next
	# client (one try of greets each); then 127.0.0.1 is served
	WAIT_SECS=30 wait_for greets "$SMTP_PORT" "220 "
	n=$(grep -c "seccomp probe: reported one client socket 20 times" "$PT_LOG")
	echo "# $n probes reported their client 20 times each" >&3
	# 20 x n reports with a limit of 10 a minute: each counted once
	! grep -q "refusing 127.0.0.1" "$PT_LOG"
}
