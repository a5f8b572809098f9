#!/usr/bin/env bats
# IMAP: the session before and around login, by hand over a raw socket
# (greeting, CAPABILITY in each state, LOGIN and AUTHENTICATE PLAIN, the
# plaintext policy, NOOP ID ENABLE NAMESPACE LOGOUT) and the parser's
# guarantees end to end: over-long lines, NUL, bare LF, literals
# (synchronising and LITERAL-), a refused command's literal never run,
# max-bad-commands, max-auth-failures.

load lib/helpers
load lib/imap

setup() { imap_setup; }
teardown() { postern_teardown; }

@test "greeting and CAPABILITY before login: IMAP4rev1, AUTH=PLAIN on loopback, no LOGINDISABLED" {
	imap_start
	run imap_batch 'a CAPABILITY\r\nb LOGOUT\r\n'
	echo "$output"
	[[ "${lines[0]}" == "* OK [CAPABILITY IMAP4rev1 "*"] postern ready" ]]
	[[ "${lines[1]}" == "* CAPABILITY IMAP4rev1 "* ]]
	for cap in LITERAL- ID ENABLE AUTH=PLAIN SASL-IR; do
		[[ " ${lines[1]} " == *" $cap "* ]]
	done
	[[ "${lines[1]}" != *LOGINDISABLED* ]]
	[[ "${lines[1]}" != *STARTTLS* ]]     # no certificate configured
	[[ "${lines[1]}" != *NAMESPACE* ]]    # only after login
	[ "${lines[2]}" = "a OK CAPABILITY completed" ]
	[ "${lines[3]}" = "* BYE Logging out" ]
	[ "${lines[4]}" = "b OK LOGOUT completed" ]
	[ "${#lines[@]}" -eq 5 ]
}

@test "LOGIN: a wrong password and an unknown user get the same answer; the right one logs in" {
	imap_start
	run imap_batch 'a LOGIN alice wrong\r\nb LOGIN nosuch wrong\r\nc LOGIN alice alicepw\r\nd LOGOUT\r\n'
	echo "$output"
	[ "${lines[1]}" = "a NO [AUTHENTICATIONFAILED] Authentication failed." ]
	[ "${lines[2]}" = "b NO [AUTHENTICATIONFAILED] Authentication failed." ]
	[[ "${lines[3]}" == "c OK [CAPABILITY IMAP4rev1 "*" NAMESPACE "*"] Logged in" ]]
	[[ "${lines[3]}" != *AUTH=PLAIN* ]]
	[ "${lines[5]}" = "d OK LOGOUT completed" ]
	grep -q "imap session .* account=alice .*end=logout" "$PT_LOG"
}

@test "LOGIN with quoted strings and a synchronising literal password" {
	imap_start
	run imap_batch 'a LOGIN "alice" {7}\r\nalicepw\r\nb NAMESPACE\r\nc LOGOUT\r\n'
	echo "$output"
	[ "${lines[1]}" = "+ Ready for literal data" ]
	[[ "${lines[2]}" == "a OK [CAPABILITY "*"] Logged in" ]]
	[ "${lines[3]}" = '* NAMESPACE (("" "/")) NIL NIL' ]
	[ "${lines[4]}" = "b OK NAMESPACE completed" ]
}

@test "AUTHENTICATE PLAIN: with SASL-IR, after a continuation, and cancelled" {
	imap_start
	ir=$(printf '\0alice\0alicepw' | base64)
	run imap_batch "a AUTHENTICATE PLAIN $ir\r\nb LOGOUT\r\n"
	echo "$output"
	[[ "${lines[1]}" == "a OK [CAPABILITY "*"] Logged in" ]]
	run imap_batch "a AUTHENTICATE PLAIN\r\n$ir\r\nb LOGOUT\r\n"
	echo "$output"
	[ "${lines[1]}" = "+ " ]
	[[ "${lines[2]}" == "a OK [CAPABILITY "*"] Logged in" ]]
	run imap_batch 'a AUTHENTICATE PLAIN\r\n*\r\nb AUTHENTICATE CRAM-MD5\r\nc LOGOUT\r\n'
	echo "$output"
	[ "${lines[2]}" = "a BAD Authentication cancelled" ]
	[ "${lines[3]}" = "b NO [CANNOT] Unsupported authentication mechanism" ]
}

@test "plaintext-auth tls: LOGINDISABLED, and LOGIN is refused without reaching the store" {
	postern_conf_set plaintext-auth tls
	imap_start
	run imap_batch 'a CAPABILITY\r\nb LOGIN alice alicepw\r\nc AUTHENTICATE PLAIN AGFsaWNlAGFsaWNlcHc=\r\nd LOGOUT\r\n'
	echo "$output"
	[[ " ${lines[1]} " == *" LOGINDISABLED "* ]]
	[[ "${lines[1]}" != *AUTH=PLAIN* ]]
	[[ "${lines[3]}" == "b NO [PRIVACYREQUIRED] "* ]]
	[[ "${lines[4]}" == "c NO [PRIVACYREQUIRED] "* ]]
	! grep -q "login failed" "$PT_LOG"
}

@test "commands need their state: before login BAD, selected-state commands BAD without a mailbox" {
	imap_start
	run imap_batch 'a LIST "" *\r\nb FETCH 1 FLAGS\r\nc LOGIN alice alicepw\r\nd FETCH 1 FLAGS\r\ne UID STORE 1 +FLAGS (\\Seen)\r\nf ENABLE CONDSTORE\r\ng LOGOUT\r\n'
	echo "$output"
	[ "${lines[1]}" = "a BAD Log in first" ]
	[ "${lines[2]}" = "b BAD Log in first" ]
	[ "${lines[4]}" = "d BAD No mailbox selected" ]
	[ "${lines[5]}" = "e BAD No mailbox selected" ]
	[ "${lines[6]}" = "* ENABLED" ]
	[ "${lines[7]}" = "f OK ENABLE completed" ]
}

@test "NOOP, ID and LOGOUT in every state" {
	imap_start
	run imap_batch 'a NOOP\r\nb ID ("name" "test")\r\nc LOGOUT\r\n'
	echo "$output"
	[ "${lines[1]}" = "a OK NOOP completed" ]
	[ "${lines[2]}" = '* ID ("name" "postern")' ]
	[ "${lines[3]}" = "b OK ID completed" ]
}

@test "a NUL, a bare LF and a syntax error get BAD; the session goes on" {
	imap_start
	run imap_batch 'a NO\x00OP\r\nb NOOP\nc  NOOP\r\nd NOOP\r\ne LOGOUT\r\n'
	echo "$output"
	[[ "${lines[1]}" == "a BAD "* ]]
	[[ "${lines[2]}" == "b BAD "* ]]
	[[ "${lines[3]}" == "c BAD "* ]]
	[ "${lines[4]}" = "d OK NOOP completed" ]
	[ "${lines[6]}" = "e OK LOGOUT completed" ]
}

@test "an over-long line before login is BAD and skipped, its trailing literal too" {
	imap_start
	long=$(chars A 9000)
	# the literal's bytes after the long line look like a command: never run
	run imap_batch "t1 NOOP $long {18+}\r\nx2 LOGIN alice alicepw\r\nt3 NOOP\r\nt4 LOGOUT\r\n"
	echo "$output" | cut -c1-200
	[[ "${lines[1]}" == "t1 BAD "* ]]
	[[ "$output" != *"x2 OK"* ]]
	[ "${lines[2]}" = "t3 OK NOOP completed" ]
	[ "${lines[4]}" = "t4 OK LOGOUT completed" ]
}

@test "a LITERAL- over 4 KiB is refused and its bytes are thrown away, never run" {
	imap_start
	lit="x1 LOGIN alice alicepw
$(chars y 5000)"
	run imap_batch "a LOGIN alice {${#lit}+}\r\n$lit\r\nb NOOP\r\nc LOGOUT\r\n"
	echo "$output" | cut -c1-200
	[[ "${lines[1]}" == "a BAD [TOOBIG] "* ]]
	[[ "$output" != *"x1 OK"* ]]
	[ "${lines[2]}" = "b OK NOOP completed" ]
}

@test "max-bad-commands ends the session with BYE" {
	postern_conf_set max-bad-commands 3
	imap_start
	run imap_batch 'a FOO\r\nb BAR\r\nc BAZ\r\nd NOOP\r\n'
	echo "$output"
	[[ "${lines[1]}" == "a BAD "* ]]
	[[ "${lines[3]}" == "c BAD "* ]]
	[ "${lines[4]}" = "* BYE Too many invalid commands" ]
	[ "${#lines[@]}" -eq 5 ]
}

@test "max-auth-failures ends the session with BYE" {
	postern_conf_set max-auth-failures 2
	imap_start
	run imap_batch 'a LOGIN alice x\r\nb LOGIN alice y\r\nc LOGIN alice alicepw\r\n'
	echo "$output"
	[ "${lines[1]}" = "a NO [AUTHENTICATIONFAILED] Authentication failed." ]
	[ "${lines[2]}" = "b NO [AUTHENTICATIONFAILED] Authentication failed." ]
	[ "${lines[3]}" = "* BYE Too many invalid authentication attempts" ]
	[ "${#lines[@]}" -eq 4 ]
}

@test "posternd -n accepts the imap keys and names a bad one with file:line" {
	printf 'imap-timeout 10m\n' >>"$PT_CONF"
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$PT_CONF:$(wc -l <"$PT_CONF"): imap-timeout: "* ]]
	sed -i '$d' "$PT_CONF"
	printf 'imap-timeout 2h\nimap-max-line-length 128K\nimap-sessions-per-worker 5\nimap-max-sessions-per-ip 0\nlisten imaps 127.0.0.1:9\n' >>"$PT_CONF"
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[[ "$output" == *"listen: imaps 127.0.0.1:9 needs tls-cert and tls-key"* ]]
	sed -i '$d' "$PT_CONF"
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "max-sessions-per-user: one account's sessions from one address are bounded, as Dovecot's mail_max_userip_connections" {
	postern_conf_set max-sessions-per-user 2
	imap_start
	run python3 "$MAILCLIENT" imap-logins "$IMAP_PORT" alice alicepw 3
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^login 1 OK ' <<<"$output"
	grep -q '^login 2 OK ' <<<"$output"
	grep -q '^login 3 NO .*\[UNAVAILABLE\] Maximum number of connections from user+IP exceeded (max-sessions-per-user=2)' <<<"$output"
	grep -qx 'after a logout OK' <<<"$output"
	# another account from the same address is not counted with alice's
	run imap_batch 'a LOGIN bob bobpw\r\nb LOGOUT\r\n'
	[[ "${lines[1]}" == "a OK "* ]]
}

@test "imap-min-spare 0 (the default): no IMAP worker waits at idle; each login gets one started for it" {
	postern_conf_set imap-min-spare 0
	imap_start
	imap_workers() { pgrep -P "$PT_PID" -f -- '-X imap' | wc -l; }
	# the greeting above took a worker started on demand; it is gone with
	# its session (imap-sessions-per-worker 1)
	local n=0
	while [ "$(imap_workers)" -gt 0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	[ "$(imap_workers)" -eq 0 ]
	for i in 1 2 3; do
		run imap_batch $'a LOGIN alice alicepw\r\nb LOGOUT\r\n'
		echo "$output"
		grep -q '^a OK' <<<"$output"
	done
	n=0
	while [ "$(imap_workers)" -gt 0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	[ "$(imap_workers)" -eq 0 ]
}
