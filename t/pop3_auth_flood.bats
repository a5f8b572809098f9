#!/usr/bin/env bats
# A wrong-password flood on one account slows the
# guessers, not the owner.  40 clients, each from its own 127.0.1.x
# address, fail logins on alice; alice logs in from 127.0.0.2 during the
# flood and is answered within 1 s, while a guesser's next answer is held.

load lib/helpers
load lib/pop3

setup() {
	postern_setup
	postern_conf_set pop3-max 64
	postern_conf_set pop3-min-spare 8
	postern_start
}
teardown() { postern_teardown; }

# flood SECONDS: runs the flood; prints the owner's PASS time and answer,
# then a flooding address's PASS time and answer, then the flood's count.
flood() {
	timeout 120 python3 "$MAILCLIENT" pop3-guess-flood "$POP3_PORT" "$1"
}

@test "40 addresses flooding one account: the owner from another address logs in within 1 s" {
	run flood 8
	echo "$output"
	read -r t_owner a_owner <<<"${lines[0]}"
	read -r t_guess a_guess <<<"${lines[1]}"
	# the flood really ran: every address failed (the account's count is
	# then high enough for a 10 s delay on each further wrong password)
	[ "${lines[2]}" -ge 40 ]
	[[ "$a_owner" == "+OK maildrop has 0 messages"* ]]
	python3 -c "import sys; sys.exit(not ($t_owner < 1.0))"
	# a guessing address is answered late even with the right password
	python3 -c "import sys; sys.exit(not ($t_guess >= 1.0))"
	grep -q "alice from 127.0.0.2: 0 messages" "$PT_LOG"
}
