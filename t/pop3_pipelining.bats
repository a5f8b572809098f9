#!/usr/bin/env bats
# POP3 PIPELINING (RFC 2449 6.6): many commands in one write, every answer
# in order; a batch that includes RETR of several messages and the login.

load lib/helpers
load lib/pop3

setup() {
	postern_setup
	postern_start
	for i in 1 2 3; do smtp_quick alice@example.org "msg $i" "body $i"; done
	wait_for mbox_count_is alice 3
}
teardown() { postern_teardown; }

@test "a whole session in one write gets every answer in order" {
	run pop3_batch 'CAPA\r\nUSER alice\r\nPASS alicepw\r\nSTAT\r\nLIST\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\nUIDL\r\nDELE 2\r\nSTAT\r\nRSET\r\nNOOP\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	# the sequence of status lines, in order
	seq=$(printf '%s\n' "${lines[@]}" | grep -E '^(\+OK|-ERR)' | sed 's/ .*//' | tr '\n' ' ')
	[ "$seq" = "+OK +OK +OK +OK +OK +OK +OK +OK +OK +OK +OK +OK +OK +OK +OK " ]
	out=$(printf '%s\n' "${lines[@]}")
	# RETR answers come in order
	b1=$(grep -n '^body 1$' <<<"$out" | cut -d: -f1)
	b2=$(grep -n '^body 2$' <<<"$out" | cut -d: -f1)
	b3=$(grep -n '^body 3$' <<<"$out" | cut -d: -f1)
	[ "$b1" -lt "$b2" ] && [ "$b2" -lt "$b3" ]
	grep -q '^+OK message 2 deleted$' <<<"$out"
	[ "$(printf '%s\n' "${lines[@]}" | tail -1)" = "+OK postern signing off (0 messages deleted)" ]
}

@test "500 pipelined commands, answered in order" {
	batch='USER alice\r\nPASS alicepw\r\n'
	for i in $(seq 500); do batch+="LIST $(( (i % 3) + 1 ))\r\n"; done
	batch+='QUIT\r\n'
	run pop3_batch "$batch"
	[ "${#lines[@]}" -eq 504 ]
	for i in $(seq 500); do
		[[ ${lines[$((i + 2))]} == "+OK $(( (i % 3) + 1 )) "* ]] || { echo "line $i: ${lines[$((i + 2))]}"; false; }
	done
	[[ ${lines[503]} == "+OK postern signing off"* ]]
}

@test "pipelined bad commands do not disturb the good ones" {
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nRETR 0\r\nSTAT\r\nBOGUS\r\nLIST 3\r\nRETR 9\r\nUIDL 2\r\nQUIT\r\n'
	[ "${lines[3]}" = "-ERR invalid message number" ]
	[[ ${lines[4]} =~ ^\+OK\ 3\ [0-9]+$ ]]
	[ "${lines[5]}" = "-ERR unknown command" ]
	[[ ${lines[6]} =~ ^\+OK\ 3\ [0-9]+$ ]]
	[ "${lines[7]}" = "-ERR no such message" ]
	[[ ${lines[8]} =~ ^\+OK\ 2\ [!-~]+$ ]]
	[[ ${lines[9]} == "+OK postern signing off"* ]]
}

@test "python poplib works against the pipelined server" {
	run python3 "$MAILCLIENT" poplib-bodies "$POP3_PORT" 3
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}
