#!/usr/bin/env bats
# The process tree: one master, one store, the configured idle workers.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

count_role() { postern_pids "$1" | grep -c . || true; }

@test "one master, one store, one auth process, min-spare idle workers per service; control on demand" {
	postern_conf_set smtp-min-spare 3
	postern_conf_set pop3-min-spare 2
	postern_start
	wait_for role_count_ge smtp 3
	wait_for role_count_ge pop3 2
	# the control process only once a client asks for it
	[ "$(count_role control)" -eq 0 ]
	control_wake
	wait_for role_count_ge control 1
	[ "$(count_role store)" -eq 1 ]
	[ "$(count_role control)" -eq 1 ]
	[ "$(count_role auth)" -eq 1 ]
	[ "$(pgrep -f "posternd -d -f $PT_CONF" | grep -c .)" -eq 1 ]
	# and nothing else is a child of the master
	total=$(pgrep -P "$PT_PID" | grep -c .)
	[ "$total" -eq $(( $(count_role store) + $(count_role auth) + $(count_role smtp) +
	    $(count_role pop3) + $(count_role control) )) ]
}

@test "every child is a fresh exec of posternd with a role flag" {
	postern_start
	control_wake
	wait_for role_count_ge control 1
	for role in store auth smtp pop3 control; do
		for pid in $(postern_pids $role); do
			tr '\0' ' ' </proc/$pid/cmdline | grep -q -- "-X $role"
			# fresh exec: its own executable mapping, not a fork image
			# (/proc/PID/exe of a child, not dumpable, is root's to read)
			! is_root || [ "$(readlink /proc/$pid/exe)" = "$(readlink /proc/$PT_PID/exe)" ]
		done
	done
	# fixed descriptors: a worker has its control channel on fd 3, store on 4
	pid=$(postern_pids smtp | head -1)
	if is_root || [ -r /proc/$pid/fd/3 ]; then
		readlink /proc/$pid/fd/3 | grep -q socket
		readlink /proc/$pid/fd/4 | grep -q socket
	fi
}

@test "the greeting and QUIT/NOOP work on both services" {
	postern_start
	run python3 "$MAILCLIENT" greet-noop "$SMTP_PORT" "$POP3_PORT"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
}

# The store asks for a short scheduler slice (privsep/params.h
# STORE_SLICE_NS): woken by a delivery or an I/O completion, it preempts a
# busy CPU's task instead of waiting for the next tick.  Its nice stays
# the master's: the hint buys no CPU share.
@test "the store runs with a 100 us scheduler slice and the master's nice" {
	postern_start
	wait_for role_count_ge store 1
	pid=$(postern_pids store)
	[ "$(awk '{ print $19 }' /proc/$pid/stat)" -eq "$(awk '{ print $19 }' /proc/$PT_PID/stat)" ]
	! grep -q "sched_setattr" "$PT_LOG"
	min=6.12
	[ "$(printf '%s\n%s\n' "$min" "$(uname -r)" | sort -V | head -1)" = "$min" ] ||
		skip "custom scheduler slices need Linux $min; this is $(uname -r)"
	slice=$(awk '$1 == "se.slice" { print $3 }' /proc/$pid/sched 2>/dev/null || true)
	[ -n "$slice" ] || skip "/proc/$pid/sched shows no se.slice on this kernel"
	[ "$slice" -eq 100000 ]
}
