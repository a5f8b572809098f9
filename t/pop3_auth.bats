#!/usr/bin/env bats
# POP3 authentication: unknown user and wrong password look the same (text
# and timing), failures are slowed down and counted, the connection closes
# after max-auth-failures, the plaintext policy, and the right password
# still works after failures.

load lib/helpers
load lib/pop3

setup() {
	postern_setup
	postern_start
}
teardown() { postern_teardown; }

# Seconds (float) the PASS answer took, and the answer: "0.012 -ERR ..."
timed_pass() {
	python3 "$MAILCLIENT" pop3-timed-pass "$POP3_PORT" "$1" "$2"
}

@test "unknown user and wrong password: same answer, similar time" {
	read -r t_bad a_bad < <(timed_pass alice wrongpw)
	postern_stop
	postern_start
	read -r t_unk a_unk < <(timed_pass nosuchuser wrongpw)
	[ "$a_bad" = "-ERR [AUTH] invalid user name or password" ]
	[ "$a_unk" = "$a_bad" ]
	python3 -c "import sys; d = abs($t_bad - $t_unk); print(d); sys.exit(d > 0.3)"
}

@test "USER answers +OK whatever the name" {
	run pop3_batch 'USER alice\r\nUSER nosuchuser\r\nUSER ../../etc/passwd\r\nQUIT\r\n'
	[ "${lines[1]}" = "+OK send PASS" ]
	[ "${lines[2]}" = "+OK send PASS" ]
	[ "${lines[3]}" = "+OK send PASS" ]
}

@test "failed logins are slowed down, and the right password still works" {
	read -r t1 a1 < <(timed_pass alice bad1)
	read -r t2 a2 < <(timed_pass alice bad2)
	read -r t3 a3 < <(timed_pass alice alicepw)
	[ "$a1" = "-ERR [AUTH] invalid user name or password" ]
	[ "$a2" = "$a1" ]
	[[ $a3 == "+OK maildrop has 0 messages"* ]]
	python3 -c "import sys; sys.exit(not ($t2 >= 0.9 and $t2 >= $t1))"
}

@test "after max-auth-failures the connection is closed" {
	postern_stop
	postern_conf_set max-auth-failures 2
	postern_start
	run pop3_batch 'USER alice\r\nPASS x\r\nUSER alice\r\nPASS y\r\nUSER alice\r\nPASS alicepw\r\n'
	[ "${lines[2]}" = "-ERR [AUTH] invalid user name or password" ]
	[ "${lines[4]}" = "-ERR [AUTH] too many failures" ]
	[ "${#lines[@]}" -eq 5 ]
	wait_for grep -q 'pop3 session .*end=too many auth failures' "$PT_LOG"
}

@test "AUTH PLAIN failures count too and answer the same text" {
	bad=$(printf '\0alice\0nope' | base64 -w0)
	unk=$(printf '\0nobody\0nope' | base64 -w0)
	run pop3_batch "AUTH PLAIN $bad\r\nAUTH PLAIN $unk\r\nAUTH PLAIN $bad\r\nQUIT\r\n"
	[ "${lines[1]}" = "-ERR [AUTH] invalid user name or password" ]
	[ "${lines[2]}" = "${lines[1]}" ]
	[ "${lines[3]}" = "-ERR [AUTH] too many failures" ]
}

@test "plaintext-auth tls refuses USER/PASS and AUTH PLAIN even on loopback" {
	postern_stop
	postern_conf_set plaintext-auth tls
	postern_start
	run pop3_batch 'CAPA\r\nUSER alice\r\nPASS alicepw\r\nAUTH PLAIN AGFsaWNlAGFsaWNlcHc=\r\nQUIT\r\n'
	! printf '%s\n' "${lines[@]}" | grep -qx 'USER'
	! printf '%s\n' "${lines[@]}" | grep -q '^SASL'
	msg="-ERR [AUTH] plaintext authentication disallowed on non-TLS connections; use STLS"
	n=$(printf '%s\n' "${lines[@]}" | grep -cxF -- "$msg")
	[ "$n" -eq 2 ]   # USER and AUTH (PASS then says USER first)
	printf '%s\n' "${lines[@]}" | grep -qx -- '-ERR USER first'
}

@test "plaintext-auth always allows it" {
	postern_stop
	postern_conf_set plaintext-auth always
	postern_start
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nQUIT\r\n'
	[[ ${lines[2]} == "+OK maildrop has"* ]]
}

@test "the password never appears in the log" {
	pop3_batch 'USER alice\r\nPASS s3cr3t-pw\r\nUSER alice\r\nPASS alicepw\r\nQUIT\r\n' >/dev/null
	postern_stop
	! grep -q 's3cr3t-pw\|alicepw' "$PT_LOG"
}
