#!/usr/bin/env bats
# Real POP3 clients against postern: curl pop3://, python3 poplib, mpop and
# fetchmail (plain POP3 on 127.0.0.1, no TLS).

load lib/helpers
load lib/pop3

setup() {
	postern_setup
	postern_start
	smtp_quick alice@example.org "first" "hello from one"
	smtp_quick alice@example.org "second" "hello from two
.
.. two dots"
	wait_for mbox_count_is alice 2
}
teardown() { postern_teardown; }

@test "curl: LIST, RETR, DELE" {
	command -v curl >/dev/null || skip "curl not installed"
	run curl -s --max-time 20 -u alice:alicepw "pop3://127.0.0.1:$POP3_PORT/"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} =~ ^1\ [0-9]+ ]]
	run curl -s --max-time 20 -u alice:alicepw "pop3://127.0.0.1:$POP3_PORT/2"
	[ "$status" -eq 0 ]
	grep -q '^Subject: second' <<<"$output"
	# curl unstuffs: the lone dot and the two dots come back as sent
	tr -d '\r' <<<"$output" | grep -qx '\.'
	tr -d '\r' <<<"$output" | grep -qx '\.\. two dots'
	run curl -s --max-time 20 -u alice:alicepw -X 'DELE 1' -I "pop3://127.0.0.1:$POP3_PORT/"
	[ "$status" -eq 0 ]
	[ "$(pop3_count alice alicepw)" = 1 ]
	run curl -s --max-time 20 -u alice:wrong "pop3://127.0.0.1:$POP3_PORT/"
	[ "$status" -ne 0 ]
}

@test "python3 poplib: stat, list, uidl, top, retr, dele, rset, quit" {
	run python3 "$MAILCLIENT" poplib-tour "$POP3_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = ok ]
}

@test "mpop retrieves into a maildir and deletes with --keep=off" {
	command -v mpop >/dev/null || skip "mpop not installed"
	md=$PT_DIR/maildir
	mkdir -p "$md"/{cur,new,tmp}
	cat >"$PT_DIR/mpoprc" <<EOC
defaults
tls off
auth user
account t
host 127.0.0.1
port $POP3_PORT
user alice
password alicepw
delivery maildir $md
keep off
uidls_file $PT_DIR/mpop_uidls
EOC
	chmod 600 "$PT_DIR/mpoprc"
	run timeout 30 mpop -C "$PT_DIR/mpoprc" t
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(ls "$md/new" | wc -l)" -eq 2 ]
	grep -lq 'hello from one' "$md"/new/*
	[ "$(pop3_count alice alicepw)" = 0 ]
}

@test "fetchmail retrieves into an mbox via mda and deletes" {
	command -v fetchmail >/dev/null || skip "fetchmail not installed"
	out=$PT_DIR/fetched
	cat >"$PT_DIR/fetchmailrc" <<EOC
set no syslog
poll 127.0.0.1 protocol pop3 port $POP3_PORT auth password
  user alice password alicepw sslproto ''
  mda "cat >> $out"
EOC
	chmod 600 "$PT_DIR/fetchmailrc"
	run timeout 60 env HOME="$PT_DIR" fetchmail -f "$PT_DIR/fetchmailrc" \
	    --pidfile "$PT_DIR/fetchmail.pid" -i "$PT_DIR/fetchids" --nosyslog
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q 'hello from one' "$out"
	grep -q '^\.\. two dots$' "$out"
	[ "$(pop3_count alice alicepw)" = 0 ]
}
