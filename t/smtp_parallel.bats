#!/usr/bin/env bats
# SMTP: 20 clients x 20 messages in parallel, every message delivered exactly once.

load lib/helpers

setup() {
	postern_setup
	postern_conf_set max-conn-per-ip-per-minute 0
	postern_conf_set max-sessions-per-ip 0
	TOOL="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"
}
teardown() { postern_teardown; }

# delivered_is N: alice's and bob's messages add up to N (for wait_for).
delivered_is() { [ $(( $(mbox_count alice) + $(mbox_count bob) )) -eq "$1" ]; }

@test "20 clients x 20 messages: 400 delivered exactly once" {
	postern_start
	run timeout 300 $TOOL parallel "$SMTP_PORT" 20 20
	echo "$output" | tail -5
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok=400"* ]]
	wait_for delivered_is 400
	[ "$(mbox_count alice)" -eq 200 ]
	[ "$(mbox_count bob)" -eq 200 ]
	# every Message-ID exactly once
	cat "$(mbox_path alice)" "$(mbox_path bob)" | grep -o '^Message-ID: <p-[0-9]*-[0-9]*@' | sort | uniq -d >"$PT_DIR/dups"
	[ ! -s "$PT_DIR/dups" ]
	[ "$(cat "$(mbox_path alice)" "$(mbox_path bob)" | grep -c '^Message-ID: <p-')" -eq 400 ]
	[ "$(grep -c ' delivery msgid=.* status=sent (delivered to mailbox)$' "$PT_LOG")" -eq 400 ]
}
