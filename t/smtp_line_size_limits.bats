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
	run $TOOL raw "$SMTP_PORT" 4 < <(printf 'MAIL FROM:<%s@example.org>\r\nNOOP\r\nQUIT\r\n' "$(chars a 65536)")
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
	printf 'Subject: big\r\n\r\n%s\r\n' "$(chars 0123456789 1200)" >"$PT_DIR/big"
	printf 'Subject: small\r\n\r\nsmall\r\n' >"$PT_DIR/small"
	run $TOOL data-codes "$SMTP_PORT" a@remote.example alice@example.org "$PT_DIR/big" "$PT_DIR/small"
	echo "$output"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == "552 5.3.4"* ]]
	[[ "${lines[1]}" == "250 "* ]]
	wait_for mbox_count_is alice 1
	! grep -q '^Subject: big' "$(mbox_path alice)"
	grep -q 'outcome=rejected (too big)' "$PT_LOG"
}

@test "a DATA line over max-line-length refuses the message (5xx), the session survives" {
	postern_conf_set max-line-length 1000
	postern_start
	printf 'Subject: long\r\n\r\n%s\r\n' "$(chars x 999)" >"$PT_DIR/long"
	printf 'Subject: ok\r\n\r\n%s\r\n' "$(chars x 998)" >"$PT_DIR/ok"
	run $TOOL data-codes "$SMTP_PORT" a@remote.example alice@example.org "$PT_DIR/long" "$PT_DIR/ok"
	echo "$output"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == 5* ]]
	[[ "${lines[1]}" == "250 "* ]]
	wait_for mbox_count_is alice 1
	grep -q '^Subject: ok$' "$(mbox_path alice)"
}

@test "default max-line-length accepts 64 KiB lines (real mail breaks the 1000 rule)" {
	postern_start
	printf 'Subject: wide\r\n\r\n%s\r\n' "$(chars w 60000)" >"$PT_DIR/wide"
	run $TOOL data-codes "$SMTP_PORT" a@remote.example bob@example.org "$PT_DIR/wide"
	echo "$output"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "250 "* ]]
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
