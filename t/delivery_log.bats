#!/usr/bin/env bats
# Logs an administrator can grep (posternd(8) LOGS): one line per delivery
# per recipient account, as Postfix's status= lines, with the message id
# the client was given, the sender, the recipient and the alias it came
# through, the size, the delay, the DSN code and the status with its
# reason; and one line per POP3 session end.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

ID='[0-9a-f]+\.[0-9]+'

# send FROM RCPT...: one message; prints the message id from "250 ... queued as ID"
send() {
	python3 "$MAILCLIENT" send-report "$SMTP_PORT" "$@"
}

@test "a delivery to an alias and to an account: one status=sent line per account, exact fields" {
	postern_start
	run send sender@example.net team@example.org carol@example.org
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^250\ 2\.0\.0\ Ok:\ queued\ as\ ($ID)$ ]]
	id=${BASH_REMATCH[1]}
	wait_for mbox_count_is carol 1
	grep "delivery msgid=$id " "$PT_LOG"
	[ "$(grep -c "delivery msgid=$id " "$PT_LOG")" -eq 3 ]
	# the size is the message as the client sent it (28 bytes of DATA,
	# without the Received: line postern adds), on every account's line;
	# no per-message outcome= line besides them (that one is for messages
	# the store never saw)
	size=size=28
	! grep -q "msgid=$id .*outcome=" "$PT_LOG"
	for who in alice bob; do
		grep -qE "smtp [0-9a-f]+: delivery msgid=$id from=<sender@example.net> to=<$who@example.org> orig_to=<team@example.org> account=$who $size delay=[0-9]+\.[0-9]{3} dsn=2\.0\.0 status=sent \(delivered to mailbox\)$" "$PT_LOG"
	done
	grep -qE "smtp [0-9a-f]+: delivery msgid=$id from=<sender@example.net> to=<carol@example.org> account=carol $size delay=[0-9]+\.[0-9]{3} dsn=2\.0\.0 status=sent \(delivered to mailbox\)$" "$PT_LOG"
	! grep -E "delivery msgid=$id .*to=<carol@example.org> orig_to=" "$PT_LOG"
}

@test "postmaster and a null sender: orig_to names postmaster, from=<>" {
	postern_conf_set postmaster bob
	postern_start
	run send "" postmaster@example.net
	echo "$output"
	[[ "$output" =~ queued\ as\ ($ID)$ ]]
	id=${BASH_REMATCH[1]}
	grep -qE "delivery msgid=$id from=<> to=<bob@example.net> orig_to=<postmaster@example.net> account=bob size=[0-9]+ delay=[0-9.]+ dsn=2\.0\.0 status=sent \(delivered to mailbox\)$" "$PT_LOG"
}

@test "a temporary failure: status=deferred with the DSN code and the reason, for each account" {
	postern_start
	# bob's mailbox cannot be opened: the store defers the whole message
	mkdir "$PT_SPOOL/bob"
	run send sender@example.net team@example.org
	echo "$output"
	[[ "${lines[0]}" == "451 4.3.0 "* ]]
	line=$(grep -E "delivery msgid=$ID from=<sender@example.net> to=<bob@example.org>" "$PT_LOG")
	echo "$line"
	[[ "$line" =~ orig_to=\<team@example.org\>\ account=bob\ size=[0-9]+\ delay=[0-9]+\.[0-9]{3}\ dsn=4\.3\.0\ status=deferred\ \(mailbox\ bob\ unavailable\)$ ]]
	grep -qE "delivery msgid=$ID from=<sender@example.net> to=<alice@example.org> orig_to=<team@example.org> account=alice size=[0-9]+ delay=[0-9.]+ dsn=4\.3\.0 status=deferred \(mailbox bob unavailable\)$" "$PT_LOG"
	! grep -q "status=sent" "$PT_LOG"
	[ "$(mbox_count alice)" -eq 0 ]
}

@test "one line per POP3 session end, with the account and what was done" {
	postern_start
	run send sender@example.net alice@example.org
	[ "$status" -eq 0 ]
	wait_for mbox_count_is alice 1
	run python3 "$MAILCLIENT" pop3-take "$POP3_PORT" alice alicepw 1
	[ "$status" -eq 0 ]
	wait_for grep -q "account=alice retrieved=1 deleted=1" "$PT_LOG"
	[ "$(grep -cE "pop3 session [0-9a-f]+: client=127\.0\.0\.1 account=alice retrieved=1 deleted=1 sent=[0-9]+ end=quit$" "$PT_LOG")" -eq 1 ]
}
