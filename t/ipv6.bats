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
	run python3 - "$V6_SMTP" "$V6_POP3" <<'PY'
import poplib, smtplib, sys
smtp_port, pop3_port = int(sys.argv[1]), int(sys.argv[2])
s = smtplib.SMTP("::1", smtp_port, timeout=20)
s.ehlo("client.example.net")
s.sendmail("a@example.net", ["alice@example.org"],
           b"Subject: over six\r\n\r\nhello over IPv6\r\n")
s.quit()
p = poplib.POP3("::1", pop3_port, timeout=20)
p.user("alice")
p.pass_("alicepw")
resp, lines, octets = p.retr(1)
p.quit()
text = b"\n".join(lines).decode()
print(text)
assert "hello over IPv6" in text
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Received: from client.example.net ([IPv6:::1])"* ]]
	grep -q "client=::1" "$PT_LOG"
}

@test "per-address limit: ::1 is one address, 127.0.0.1 another" {
	postern_conf_set max-sessions-per-ip 1
	postern_conf_set limits-exempt none   # loopback is exempt by default
	postern_start
	run python3 - "$V6_SMTP" "$SMTP_PORT" <<'PY'
import socket, sys
v6, v4 = int(sys.argv[1]), int(sys.argv[2])
first = socket.create_connection(("::1", v6), timeout=10)
print("first ::1:", first.recv(200).decode().strip())
second = socket.create_connection(("::1", v6), timeout=10)
print("second ::1:", second.recv(200).decode().strip())
other = socket.create_connection(("127.0.0.1", v4), timeout=10)
print("127.0.0.1:", other.recv(200).decode().strip())
for s in (first, second, other):
    s.close()
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "first ::1: 220 "* ]]
	[[ "${lines[1]}" == "second ::1: 421 4.7.0 "* ]]
	[[ "${lines[2]}" == "127.0.0.1: 220 "* ]]
	grep -q "refusing ::1: too many sessions from this address" "$PT_LOG"
}

@test "::1 is exempt from the per-address limits by default" {
	postern_conf_set max-sessions-per-ip 1
	postern_start
	run python3 - "$V6_SMTP" <<'PY'
import socket, sys
held = [socket.create_connection(("::1", int(sys.argv[1])), timeout=10) for _ in range(3)]
for s in held:
    print(s.recv(200).decode().split(" ")[0])
    s.close()
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '220\n220\n220')" ]
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
		python3 - "$1" <<"PY"
import socket, sys, time
port = int(sys.argv[1])
def greet(src):
    s = socket.socket(socket.AF_INET6)
    s.settimeout(10)
    s.bind((src, 0))
    s.connect(("::1", port))
    return s, s.recv(200).decode().split(" ")[0]
deadline = time.time() + 10
while True:
    try:
        s, g = greet("::1")
        s.close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("postern did not come up")
        time.sleep(0.1)
held = []
for src in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3", "2001:db8:1:3::1"):
    s, g = greet(src)
    print(src, g)
    held.append(s)
for s in held:
    s.close()
PY
	' sh "$V6_SMTP"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "2001:db8:1:2::1 220" ]
	[ "${lines[1]}" = "2001:db8:1:2::2 220" ]
	[ "${lines[2]}" = "2001:db8:1:2::3 421" ]
	[ "${lines[3]}" = "2001:db8:1:3::1 220" ]
	grep -q "refusing 2001:db8:1:2::3: too many sessions from this address" "$PT_LOG"
}
