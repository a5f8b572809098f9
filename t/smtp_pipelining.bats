#!/usr/bin/env bats
# SMTP: PIPELINING (RFC 2920) -- every reply, in order, however the bytes are split.

load lib/helpers

setup() {
	postern_setup
	postern_conf_set max-conn-per-ip-per-minute 0
	postern_conf_set max-sessions-per-ip 0
	TOOL="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"
}
teardown() { postern_teardown; }

@test "a pipelined batch split into two writes at every offset" {
	postern_start
	run $TOOL splits "$SMTP_PORT"
	echo "$output" | tail -5
	[ "$status" -eq 0 ]
	[[ "$output" == *"bad=0"* ]]
	# every split delivered its message: one per offset to bob
	n=$(sed -n 's/^splits=\([0-9]*\).*/\1/p' <<<"$output")
	wait_for mbox_count_is bob "$n"
}

@test "a whole session in one write, byte by byte, and in one packet" {
	postern_start
	run $TOOL steps "$SMTP_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_for mbox_count_is alice 3
}

@test "replies to a long pipelined batch are not lost (output larger than a socket buffer)" {
	postern_start
	run $TOOL help-flood "$SMTP_PORT" 3000
	[ "$output" = "3000 True" ]
}
