#!/usr/bin/env bats
# POP3: every command of RFC 1939 / 2449 / 5034 and its answer, by hand
# over a raw socket (the way nc or telnet would), against the real daemon.

load lib/helpers
load lib/pop3

setup() {
	postern_setup
	postern_start
	smtp_quick alice@example.org first "body one"
	smtp_quick alice@example.org second "body two
.
a dot line above"
	wait_for mbox_count_is alice 2
}
teardown() { postern_teardown; }

@test "greeting is +OK postern ready, QUIT in AUTHORIZATION signs off" {
	run pop3_batch 'QUIT\r\n'
	[[ ${lines[0]} == "+OK postern ready"* ]]
	[ "${lines[1]}" = "+OK postern signing off" ]
	[ "${#lines[@]}" -eq 2 ]
}

@test "CAPA lists the capabilities, with USER and SASL PLAIN on loopback" {
	run pop3_batch 'CAPA\r\nQUIT\r\n'
	[ "${lines[1]}" = "+OK capability list follows" ]
	for cap in USER "SASL PLAIN" TOP UIDL RESP-CODES AUTH-RESP-CODE \
	    PIPELINING "EXPIRE NEVER" "IMPLEMENTATION postern"; do
		printf '%s\n' "${lines[@]}" | grep -qx "$cap"
	done
	! printf '%s\n' "${lines[@]}" | grep -q '^STLS'
	! printf '%s\n' "${lines[@]}" | grep -q '^LOGIN-DELAY'
	printf '%s\n' "${lines[@]}" | grep -qx '\.'
}

@test "LOGIN-DELAY appears in CAPA when configured" {
	postern_stop
	postern_conf_set login-delay 5m
	postern_start
	run pop3_batch 'CAPA\r\nQUIT\r\n'
	printf '%s\n' "${lines[@]}" | grep -qx 'LOGIN-DELAY 300'
}

@test "USER PASS STAT LIST UIDL NOOP QUIT" {
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nSTAT\r\nLIST\r\nLIST 2\r\nUIDL\r\nUIDL 1\r\nNOOP\r\nQUIT\r\n'
	[ "${lines[1]}" = "+OK send PASS" ]
	[[ ${lines[2]} =~ ^\+OK\ maildrop\ has\ 2\ messages\ \([0-9]+\ octets\)$ ]]
	[[ ${lines[3]} =~ ^\+OK\ 2\ ([0-9]+)$ ]]
	total=${BASH_REMATCH[1]}
	[[ ${lines[4]} == "+OK 2 messages ($total octets)" ]]
	[[ ${lines[5]} =~ ^1\ ([0-9]+)$ ]]; s1=${BASH_REMATCH[1]}
	[[ ${lines[6]} =~ ^2\ ([0-9]+)$ ]]; s2=${BASH_REMATCH[1]}
	[ $((s1 + s2)) -eq "$total" ]
	[ "${lines[7]}" = "." ]
	[ "${lines[8]}" = "+OK 2 $s2" ]
	[ "${lines[9]}" = "+OK unique-id listing follows" ]
	[[ ${lines[10]} =~ ^1\ ([!-~]{1,70})$ ]]; u1=${BASH_REMATCH[1]}
	[[ ${lines[11]} =~ ^2\ ([!-~]{1,70})$ ]]; u2=${BASH_REMATCH[1]}
	[ "$u1" != "$u2" ]
	[ "${lines[12]}" = "." ]
	[ "${lines[13]}" = "+OK 1 $u1" ]
	[ "${lines[14]}" = "+OK" ]
	[ "${lines[15]}" = "+OK postern signing off (0 messages deleted)" ]
}

@test "RETR sends the message CRLF, dot-stuffed, with the LIST octet count" {
	pop3_batch_raw 'USER alice\r\nPASS alicepw\r\nLIST 2\r\nRETR 2\r\nQUIT\r\n' >"$PT_DIR/out"
	run python3 - "$PT_DIR/out" <<'PY'
import re, sys
d = open(sys.argv[1], "rb").read()
size = int(re.search(rb"\r\n\+OK 2 (\d+)\r\n", d).group(1))
m = re.search(rb"\r\n\+OK (\d+) octets\r\n", d)
assert int(m.group(1)) == size, (m.group(1), size)
start = m.end()
end = d.index(b"\r\n.\r\n", start) + 2
body = d[start:end]
assert b"\n" not in body.replace(b"\r\n", b""), "bare LF"
assert b"\r\n..\r\na dot line above\r\n" in body, "dot line not stuffed"
unstuffed = re.sub(rb"(?m)^\.", b"", body)
assert len(unstuffed) == size, (len(unstuffed), size)
assert d[end:].startswith(b".\r\n+OK postern signing off")
print("ok")
PY
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "TOP n 0 gives the header and the blank line; more lines than the body gives all" {
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nTOP 1 0\r\nTOP 1 500\r\nRETR 1\r\nQUIT\r\n'
	[ "${lines[3]}" = "+OK top of message follows" ]
	out=$output   # (bats drops empty lines from ${lines[@]})
	top0=$(printf '%s\n' "$out" | sed -n '4,/^\.$/p')
	printf '%s\n' "$top0" | grep -q '^Subject: first$'
	! printf '%s\n' "$top0" | grep -q 'body one'
	# the last two lines: the blank line, then the terminator
	[ "$(printf '%s\n' "$top0" | tail -2 | head -1)" = "" ]
	# TOP 1 500 == RETR 1 body
	top500=$(printf '%s\n' "$out" | awk '/^\+OK top/{n++} n==2' | sed -n '2,/^\.$/p')
	retr=$(printf '%s\n' "$out" | awk '/^\+OK [0-9]+ octets$/{f=1;next} f' | sed -n '1,/^\.$/p')
	[ -n "$retr" ]
	[ "$top500" = "$retr" ]
	printf '%s\n' "$retr" | grep -qx 'body one'
}

@test "DELE, RSET, and a deleted message is -ERR for everything but RSET" {
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nDELE 1\r\nRETR 1\r\nTOP 1 0\r\nLIST 1\r\nUIDL 1\r\nDELE 1\r\nSTAT\r\nRSET\r\nSTAT\r\nLIST 1\r\nQUIT\r\n'
	[ "${lines[3]}" = "+OK message 1 deleted" ]
	for i in 4 5 6 7 8; do [[ ${lines[$i]} == "-ERR message 1 already deleted" ]]; done
	[[ ${lines[9]} =~ ^\+OK\ 1\ [0-9]+$ ]]
	[[ ${lines[10]} == "+OK maildrop has 2 messages"* ]]
	[[ ${lines[11]} =~ ^\+OK\ 2\ [0-9]+$ ]]
	[[ ${lines[12]} =~ ^\+OK\ 1\ [0-9]+$ ]]
	[ "${lines[13]}" = "+OK postern signing off (0 messages deleted)" ]
	[ "$(pop3_count alice alicepw)" = 2 ]
}

@test "AUTH PLAIN with an initial response" {
	resp=$(printf '\0alice\0alicepw' | base64 -w0)
	run pop3_batch "AUTH PLAIN $resp\r\nSTAT\r\nQUIT\r\n"
	[[ ${lines[1]} == "+OK maildrop has 2 messages"* ]]
	[[ ${lines[2]} =~ ^\+OK\ 2\ [0-9]+$ ]]
}

@test "AUTH PLAIN without initial response, authzid = authcid, and * cancels" {
	resp=$(printf 'alice\0alice\0alicepw' | base64 -w0)
	run pop3_batch "AUTH PLAIN\r\n$resp\r\nQUIT\r\n"
	[ "${lines[1]}" = "+ " ]
	[[ ${lines[2]} == "+OK maildrop has 2 messages"* ]]
	run pop3_batch 'AUTH PLAIN\r\n*\r\nQUIT\r\n'
	[ "${lines[1]}" = "+ " ]
	[ "${lines[2]}" = "-ERR authentication cancelled" ]
	[ "${lines[3]}" = "+OK postern signing off" ]
}

@test "AUTH PLAIN: another authzid, bad base64, unknown mechanism are refused" {
	resp=$(printf 'bob\0alice\0alicepw' | base64 -w0)
	run pop3_batch "AUTH PLAIN $resp\r\nAUTH PLAIN AGFsaWNl=AGFs\r\nAUTH PLAIN !!!!\r\nAUTH CRAM-MD5\r\nAUTH\r\nQUIT\r\n"
	[ "${lines[1]}" = "-ERR [AUTH] malformed PLAIN response" ]
	[ "${lines[2]}" = "-ERR [AUTH] malformed PLAIN response" ]
	[ "${lines[3]}" = "-ERR [AUTH] malformed PLAIN response" ]
	[ "${lines[4]}" = "-ERR unsupported authentication mechanism" ]
	[ "${lines[5]}" = "+OK" ]
	[ "${lines[6]}" = "PLAIN" ]
	[ "${lines[7]}" = "." ]
}

@test "APOP is not offered; unknown commands and wrong states are -ERR" {
	run pop3_batch 'APOP alice c4c9334bac560ecc979e58001b3e22fb\r\nSTAT\r\nRETR 1\r\nXTND XLST\r\nUSER alice\r\nPASS alicepw\r\nUSER bob\r\nPASS bobpw\r\nAUTH PLAIN\r\nQUIT\r\n'
	[ "${lines[1]}" = "-ERR APOP not supported" ]
	[ "${lines[2]}" = "-ERR STAT not valid in this state" ]
	[ "${lines[3]}" = "-ERR RETR not valid in this state" ]
	[ "${lines[4]}" = "-ERR unknown command" ]
	[[ ${lines[6]} == "+OK maildrop has 2"* ]]
	[ "${lines[7]}" = "-ERR USER not valid in this state" ]
	[ "${lines[8]}" = "-ERR PASS not valid in this state" ]
	[ "${lines[9]}" = "-ERR AUTH not valid in this state" ]
	! grep -q '^ *APOP\|<.*@.*>' <<<"${lines[0]}"
}

@test "STLS is refused without TLS configured" {
	run pop3_batch 'STLS\r\nQUIT\r\n'
	[ "${lines[1]}" = "-ERR STLS not available" ]
}

@test "one log line per session with id, client, account, counts, bytes, end" {
	pop3_batch 'USER alice\r\nPASS alicepw\r\nRETR 1\r\nDELE 2\r\nQUIT\r\n' >/dev/null
	wait_for grep -q 'pop3 session .* account=alice retrieved=1 deleted=1 sent=[0-9]* end=quit' "$PT_LOG"
	grep 'pop3 session .* account=alice' "$PT_LOG" | grep -q 'client=127.0.0.1'
}
