#!/usr/bin/env bats
# A client that trickles its DATA cannot hold a worker past
# smtp-data-deadline, however it paces the blocks.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

@test "DATA trickled a byte at a time: 421 4.4.2 at the deadline, nothing delivered" {
	postern_conf_set smtp-data-timeout 5s
	postern_conf_set smtp-data-deadline 3s
	postern_start
	run timeout 30 python3 "$MAILCLIENT" trickle-data "$SMTP_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(mbox_count alice)" -eq 0 ]
}
