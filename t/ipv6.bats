#!/usr/bin/env bats
# IPv6: listeners on [::1] next to the 127.0.0.1 ones.  A message comes in
# over ::1 (the Received line says [IPv6:::1]) and goes out over ::1; the
# per-address limit counts ::1 apart from 127.0.0.1.  Skipped, saying so,
# on a machine without an IPv6 loopback.

load helpers

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
