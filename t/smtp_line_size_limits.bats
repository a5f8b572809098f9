#!/usr/bin/env bats
# SMTP: limits -- command line length, NUL bytes, a 100 MB line, message
# size declared and undeclared, DATA line length.  Memory stays bounded.

load lib/helpers

setup() {
	postern_setup
	TOOL="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"
}
teardown() { postern_teardown; }

# Peak resident memory (kB) of the SMTP workers.
smtp_peak_kb() {
	local p max=0 v
	for p in $(postern_pids smtp); do
		v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
		[ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
	done
	echo "$max"
}

@test "command line of 512 octets accepted, 513 refused with 500 5.5.2, session goes on" {
	postern_start
	a=$(printf 'A%.0s' $(seq 505))
	run $TOOL chat "$SMTP_PORT" "NOOP $a" "NOOP ${a}B" "NOOP"
	[[ "$output" == *$'250 2.0.0 Ok\r\n500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r'* ]]
}

@test "a 64 KiB command line: 500 5.5.2, session goes on" {
	postern_start
	# greeting, 500, 250, 221
	run bash -c "python3 -c 'import sys; sys.stdout.buffer.write(b\"MAIL FROM:<\" + b\"a\" * 65536 + b\"@example.org>\\r\\nNOOP\\r\\nQUIT\\r\\n\")' | $TOOL raw $SMTP_PORT 4"
	[[ "$output" == *$'500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n221 2.0.0'* ]]
}

@test "NUL bytes void a command: 500 5.5.2" {
	postern_start
	run bash -c "printf 'EHLO c.example\r\nNO\0OP\r\nMAIL FROM:<a\0@remote.example>\r\nNOOP\r\nQUIT\r\n' | $TOOL raw $SMTP_PORT 6"
	[ "$(grep -c '^500 5.5.2 Error: NUL character in command' <<<"$output")" -eq 2 ]
	[[ "$output" == *$'250 2.0.0 Ok\r\n221 2.0.0'* ]]
}

@test "a 100 MB line without a newline: bounded memory, the session ends cleanly" {
	postern_start
	run $TOOL bigline "$SMTP_PORT" 100
	echo "$output"
	[[ "$output" == *$'500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n221 2.0.0'* ]]
	peak=$(smtp_peak_kb)
	echo "peak RSS of the smtp workers: ${peak} kB"
	[ "$peak" -lt 32768 ]
	# the daemon still serves
	run $TOOL chat "$SMTP_PORT" "QUIT"
	[[ "$output" == *"221 2.0.0"* ]]
}

@test "SIZE declared over the limit: 552 5.3.4 at MAIL" {
	postern_conf_set max-message-size 10K
	postern_start
	run $TOOL chat "$SMTP_PORT" "EHLO c.example" "MAIL FROM:<a@remote.example> SIZE=10241" \
		"MAIL FROM:<a@remote.example> SIZE=10240" "QUIT"
	[[ "$output" == *$'552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.1.0 Ok\r'* ]]
}

@test "SIZE undeclared, message over the limit: 552 5.3.4 after DATA, nothing delivered" {
	postern_conf_set max-message-size 10K
	postern_start
	run python3 - "$SMTP_PORT" <<'PY'
import smtplib, sys
c = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
c.ehlo("c.example")
c.mail("a@remote.example")
c.rcpt("alice@example.org")
code, msg = c.data(b"Subject: big\r\n\r\n" + b"0123456789" * 60 * 20 + b"\r\n")
print(code, msg.decode())
c.mail("a@remote.example")
c.rcpt("alice@example.org")
print(c.data(b"Subject: small\r\n\r\nsmall\r\n")[0])
c.quit()
PY
	[[ "${lines[0]}" == "552 5.3.4"* ]]
	[ "${lines[1]}" = 250 ]
	wait_for mbox_count_is alice 1
	! grep -q '^Subject: big' "$(mbox_path alice)"
	grep -q 'outcome=rejected (too big)' "$PT_LOG"
}

@test "a DATA line over max-line-length refuses the message (5xx), the session survives" {
	postern_conf_set max-line-length 1000
	postern_start
	run python3 - "$SMTP_PORT" <<'PY'
import smtplib, sys
c = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
c.ehlo("c.example")
c.mail("a@remote.example")
c.rcpt("alice@example.org")
print(c.data(b"Subject: long\r\n\r\n" + b"x" * 999 + b"\r\n")[0])
c.mail("a@remote.example")
c.rcpt("alice@example.org")
print(c.data(b"Subject: ok\r\n\r\n" + b"x" * 998 + b"\r\n")[0])
c.quit()
PY
	[[ "${lines[0]}" == 5* ]]
	[ "${lines[1]}" = 250 ]
	wait_for mbox_count_is alice 1
	grep -q '^Subject: ok$' "$(mbox_path alice)"
}

@test "default max-line-length accepts 64 KiB lines (real mail breaks the 1000 rule)" {
	postern_start
	run python3 - "$SMTP_PORT" <<'PY'
import smtplib, sys
c = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
c.ehlo("c.example")
c.mail("a@remote.example")
c.rcpt("bob@example.org")
print(c.data(b"Subject: wide\r\n\r\n" + b"w" * 60000 + b"\r\n")[0])
c.quit()
PY
	[ "$output" = 250 ]
	wait_for mbox_count_is bob 1
}

@test "DATA timeout: 421 4.4.2 and nothing delivered" {
	postern_conf_set smtp-data-timeout 1s
	postern_start
	# greeting, EHLO, MAIL, RCPT, 354, then 421
	run $TOOL raw "$SMTP_PORT" 6 < <(printf 'EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nSubject: half\r\n')
	[[ "$output" == *"421 4.4.2 mail.example.org Timeout"* ]]
	[ "$(mbox_count alice)" -eq 0 ]
}
