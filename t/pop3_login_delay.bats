#!/usr/bin/env bats
# LOGIN-DELAY (RFC 2449 6.8, 8.1.1): with login-delay set, a second login to
# the same account within that many seconds gets -ERR [LOGIN-DELAY];
# other accounts are not held up, and the delay runs out.

load lib/helpers
load lib/pop3

setup() { postern_setup; }
teardown() { postern_teardown; }

@test "a second login within login-delay gets -ERR [LOGIN-DELAY], then succeeds" {
	postern_conf_set login-delay 3
	postern_start
	run pop3_batch 'CAPA\r\nUSER alice\r\nPASS alicepw\r\nQUIT\r\n'
	echo "$output"
	[[ "$output" == *"LOGIN-DELAY 3"* ]]
	[[ "$output" != *"-ERR"* ]]
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nQUIT\r\n'
	echo "$output"
	[[ "$output" == *"-ERR [LOGIN-DELAY] "* ]]
	# another account is not delayed
	run pop3_batch 'USER bob\r\nPASS bobpw\r\nSTAT\r\nQUIT\r\n'
	echo "$output"
	[[ "$output" != *"LOGIN-DELAY"* ]]
	grep -q '^+OK 0 0' <<<"$output"
	sleep 3.2
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nSTAT\r\nQUIT\r\n'
	echo "$output"
	[[ "$output" != *"LOGIN-DELAY"* ]]
	grep -q '^+OK 0 0' <<<"$output"
}

@test "without login-delay two logins in a row both succeed" {
	postern_start
	for i in 1 2; do
		run pop3_batch 'USER alice\r\nPASS alicepw\r\nSTAT\r\nQUIT\r\n'
		echo "$output"
		grep -q '^+OK 0 0' <<<"$output"
	done
}
