#!/usr/bin/env bats
# Slow clients: a client that sends nothing, or trickles one byte a second,
# holds one worker at most until smtp-timeout (then 421 4.4.2 and the worker
# serves the next client); 200 idle connections from one address do not
# keep a well-behaved client from another address from delivering.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

RES="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"

# One serving worker (plus the master's refusing extra), a 3 s timeout.
one_worker_3s() {
	postern_conf_set smtp-max 1
	postern_conf_set smtp-min-spare 1
	postern_conf_set smtp-timeout 3s
	postern_start
}

@test "a silent client holds the only worker until smtp-timeout, gets 421 4.4.2, the worker serves again" {
	one_worker_3s
	run timeout 40 $RES slow "$SMTP_PORT" 3 silent
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "timeout during command" "$PT_LOG"
}

@test "a client trickling one byte a second is cut at smtp-timeout, not kept alive by each byte" {
	one_worker_3s
	run timeout 40 $RES slow "$SMTP_PORT" 3 trickle
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "200 idle connections from 127.0.0.1 and one real delivery from 127.0.0.2" {
	postern_conf_set max-sessions-per-ip 10
	postern_conf_set limits-exempt none   # the flood comes from loopback
	postern_conf_set smtp-max 30
	postern_conf_set smtp-timeout 60s
	postern_start
	run timeout 90 $RES flood "$SMTP_PORT" 200 10 20
	echo "$output"
	[ "$status" -eq 0 ]
	wait_for mbox_count_is alice 1
	# the pool stayed within its max (+1 refusing worker)
	[ "$(postern_pids smtp | grep -c .)" -le 31 ]
}
