#!/usr/bin/env bats
# Privilege separation invariants 1-3, read from /proc (needs root).

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

status_field() { awk -v k="$2:" '$1 == k { print $2, $3, $4, $5 }' /proc/$1/status; }

check_dropped() {
	local pid=$1 user=$2 jail=$3 uid gid
	uid=$(id -u "$user")
	gid=$(id -g "$user")
	# real, effective, saved and fs ids are all the role's user
	[ "$(status_field "$pid" Uid)" = "$uid $uid $uid $uid" ]
	[ "$(status_field "$pid" Gid)" = "$gid $gid $gid $gid" ]
	# no supplementary groups
	[ -z "$(awk '$1 == "Groups:" { $1 = ""; print }' /proc/$pid/status | tr -d ' ')" ]
	for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
		[ "$(status_field "$pid" $cap | awk '{print $1}')" = "0000000000000000" ]
	done
	[ "$(status_field "$pid" NoNewPrivs | awk '{print $1}')" = "1" ]
	[ "$(status_field "$pid" Seccomp | awk '{print $1}')" = "2" ]
	[ "$(readlink /proc/$pid/root)" = "$jail" ]
	# RLIMIT_CORE 0
	grep -E '^Max core file size +0 +0' /proc/$pid/limits
}

@test "as root: workers run as the user, jailed in the empty dir, no caps, seccomp" {
	require_root
	printf 'listen imap 127.0.0.1:%s\nimap-min-spare 1\n' "$(free_ports 1)" >>"$PT_CONF"
	postern_start
	wait_for role_count_ge smtp 1
	wait_for role_count_ge imap 1
	for pid in $(postern_pids smtp) $(postern_pids pop3) $(postern_pids imap); do
		check_dropped "$pid" _postern "$PT_DIR/empty"
	done
}

@test "as root: the store runs as store-user, jailed in the spool" {
	require_root
	postern_start
	pid=$(postern_pids store)
	[ -n "$pid" ]
	check_dropped "$pid" _postern-store "$PT_SPOOL"
	# the spool belongs to the store user, mode 0700
	[ "$(stat -c '%U %a' "$PT_SPOOL")" = "_postern-store 700" ]
}

@test "as root: the control process runs as the user, jailed in the empty dir, no caps, seccomp" {
	require_root
	postern_start
	control_wake
	wait_for role_count_ge control 1
	pid=$(postern_pids control)
	check_dropped "$pid" _postern "$PT_DIR/empty"
	# it holds the control socket, and no listening TCP socket
	ls -l /proc/$pid/fd | grep -q socket
	[ "$(readlink /proc/$pid/fd/6 | cut -d: -f1)" = socket ]
	! ls -l /proc/$pid/fd/7 2>/dev/null
}

@test "as root: the auth process runs as auth-user, jailed in the empty dir, no caps, seccomp" {
	require_root
	postern_start
	wait_for role_count_ge auth 1
	pid=$(postern_pids auth)
	[ -n "$pid" ]
	check_dropped "$pid" _postern-auth "$PT_DIR/empty"
	# a uid of its own: not the workers', the store's or the keyholder's
	for u in _postern _postern-store _postern-key; do
		[ "$(id -u "$u")" -ne "$(id -u _postern-auth)" ]
	done
}

@test "as root: only the master is root" {
	require_root
	postern_start
	for pid in $(pgrep -P "$PT_PID"); do
		[ "$(awk '$1 == "Uid:" { print $2 }' /proc/$pid/status)" -ne 0 ]
	done
	[ "$(awk '$1 == "Uid:" { print $3 }' /proc/$PT_PID/status)" -eq 0 ]
}

@test "as a normal user: no_new_privs and seccomp still on, and the log says so" {
	postern_start
	control_wake
	wait_for role_count_ge control 1
	for pid in $(postern_pids smtp) $(postern_pids pop3) $(postern_pids store) \
	    $(postern_pids control) $(postern_pids auth); do
		[ "$(status_field "$pid" NoNewPrivs | awk '{print $1}')" = "1" ]
		[ "$(status_field "$pid" Seccomp | awk '{print $1}')" = "2" ]
	done
	if ! is_root; then
		grep -q "not root" "$PT_LOG"
	fi
}
