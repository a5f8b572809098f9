#!/usr/bin/env bats
# IPv6: listeners on [::1] next to the 127.0.0.1 ones.  A message comes in
# over ::1 (the Received line says [IPv6:::1]) and goes out over ::1; the
# per-address limit counts ::1 apart from 127.0.0.1, and counts IPv6
# clients by their /64 (in a network namespace of its own, with test
# addresses on its loopback).  Skipped, saying so, on a machine without an
# IPv6 loopback.

load lib/helpers

# Prints N free TCP ports on ::1.
free_ports6() {
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET6)
    s.bind(("::1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

setup() {
	python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ||
		skip "no IPv6 loopback (::1) on this machine"
	postern_setup
	read -r V6_SMTP V6_POP3 <<<"$(free_ports6 2)"
	printf 'listen smtp [::1]:%s\nlisten pop3 [::1]:%s\n' "$V6_SMTP" "$V6_POP3" >>"$PT_CONF"
}

teardown() { postern_teardown; }

@test "SMTP in and POP3 out over ::1; the Received line names [IPv6:::1]" {
	postern_start
	run python3 "$MAILCLIENT" v6-roundtrip "$V6_SMTP" "$V6_POP3"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Received: from client.example.net ([IPv6:::1])"* ]]
	grep -q "client=::1" "$PT_LOG"
}

@test "per-address limit: ::1 is one address, 127.0.0.1 another" {
	postern_conf_set max-sessions-per-ip 1
	postern_conf_set limits-exempt none   # loopback is exempt by default
	postern_start
	run python3 "$MAILCLIENT" greet "[::1]:$V6_SMTP" "[::1]:$V6_SMTP" "127.0.0.1:$SMTP_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == "220 "* ]]         # the first from ::1
	[[ "${lines[1]}" == "421 4.7.0 "* ]]   # the second from ::1
	[[ "${lines[2]}" == "220 "* ]]         # 127.0.0.1
	grep -q "refusing ::1: too many sessions from this address" "$PT_LOG"
}

@test "::1 is exempt from the per-address limits by default" {
	postern_conf_set max-sessions-per-ip 1
	postern_start
	run python3 "$MAILCLIENT" greet --burst "[::1]:$V6_SMTP" "[::1]:$V6_SMTP" "[::1]:$V6_SMTP"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	for l in "${lines[@]}"; do [[ "$l" == "220 "* ]]; done
}

@test "IPv6 clients are counted by their /64: rotating addresses does not dodge the limit" {
	require_root
	command -v unshare >/dev/null && command -v ip >/dev/null ||
		skip "needs unshare (util-linux) and ip (iproute2)"
	unshare -n true 2>/dev/null || skip "cannot make a network namespace here"
	postern_conf_set max-sessions-per-ip 2
	postern_conf_set limits-exempt none
	# a network namespace of its own: its loopback gets 2001:db8:1:2::1-3
	# (one /64) and 2001:db8:1:3::1 (the next); the daemon and the clients
	# run inside it, and it is gone when the script ends
	run timeout 60 unshare -n bash -c '
		ip link set lo up || exit 1
		for a in 2001:db8:1:2::1 2001:db8:1:2::2 2001:db8:1:2::3 2001:db8:1:3::1; do
			ip -6 addr add "$a/64" dev lo nodad || exit 1
		done
		"$POSTERND" -d -f "$PT_CONF" >>"$PT_LOG" 2>&1 &
		pid=$!
		trap "kill -TERM $pid; wait $pid" EXIT
		# postern is up once ::1 is greeted
		for _ in $(seq 100); do
			python3 "$MAILCLIENT" greet "::1@[::1]:$1" >/dev/null 2>&1 && break
			sleep 0.1
		done
		python3 "$MAILCLIENT" greet "2001:db8:1:2::1@[::1]:$1" "2001:db8:1:2::2@[::1]:$1" \
			"2001:db8:1:2::3@[::1]:$1" "2001:db8:1:3::1@[::1]:$1"
	' sh "$V6_SMTP"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[0]}" == "220 "* ]]   # 2001:db8:1:2::1
	[[ "${lines[1]}" == "220 "* ]]   # 2001:db8:1:2::2
	[[ "${lines[2]}" == "421 "* ]]   # 2001:db8:1:2::3
	[[ "${lines[3]}" == "220 "* ]]   # 2001:db8:1:3::1
	grep -q "refusing 2001:db8:1:2::3: too many sessions from this address" "$PT_LOG"
}
