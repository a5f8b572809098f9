#!/usr/bin/env bats
# Faults under load: kill -9 of workers and of the store at random moments
# during a stream of deliveries loses no acknowledged message and shows no
# partial one; SIGSTOP of the store for 30 s ends every client operation in
# bounded time (an answer or a temporary error, never a permanent one or a
# false success) and everything works again after SIGCONT.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

RES="python3 $BATS_TEST_DIRNAME/lib/mailclient.py"

# Strict: the raw mbox parses whole, and POP3 sees the same count.
check_mailbox() {
	run $RES check-mbox "$(mbox_path alice)" "$PT_DIR/acked"
	echo "$output"
	[ "$status" -eq 0 ]
	parsed=$(sed -n 's/^\([0-9]*\) messages whole.*/\1/p' <<<"$output")
	run $RES pop3-stat "$POP3_PORT" alice alicepw
	echo "pop3 STAT: $output, parsed: $parsed"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^$parsed\ [0-9]+$ ]]
}

@test "kill -9 of workers and the store during a delivery stream: every 250 kept once, nothing partial" {
	postern_start
	: >"$PT_DIR/acked"
	$RES stream "$SMTP_PORT" 40 "$PT_DIR/acked" alice@example.org >"$PT_DIR/stream.out" 2>&1 &
	client=$!
	kills=0 store_kills=0 deadline=$((SECONDS + 90))
	while [ "$kills" -lt 30 ] && [ "$SECONDS" -lt "$deadline" ]; do
		sleep "0.$((RANDOM % 9 + 3))"
		victim=
		if [ $((kills % 5)) -eq 4 ]; then
			# every 5th kill is the store's, once it has run 3 s (a store
			# that dies young is restarted with back-off)
			WAIT_SECS=8 wait_for sh -c "p=\$(pgrep -P $PT_PID -f 'posternd -X store\$'); [ -n \"\$p\" ] && [ \$(( \$(awk '{print int(\$1*100)}' /proc/uptime) - \$(awk '{print \$22}' /proc/\$p/stat) )) -ge 300 ]" || true
			sleep "0.$((RANDOM % 9))"
			victim=$(postern_pids store)
		fi
		if [ -z "$victim" ]; then
			victim=$(postern_pids smtp | shuf -n 1)
		fi
		[ -n "$victim" ] || continue
		is_store=0
		[ "$victim" = "$(postern_pids store)" ] && is_store=1
		if kill -9 "$victim" 2>/dev/null; then
			kills=$((kills + 1))
			store_kills=$((store_kills + is_store))
		fi
	done
	wait "$client"
	cat "$PT_DIR/stream.out"
	echo "# $kills kills ($store_kills of the store); $(tail -1 "$PT_DIR/stream.out")" >&3
	[ "$kills" -ge 30 ]
	[ "$store_kills" -ge 5 ]
	[ "$(grep -c "store\[[0-9]*\] killed by signal 9" "$PT_LOG")" -eq "$store_kills" ]
	grep -q "^sent .* acknowledged" "$PT_DIR/stream.out"
	[ "$(grep -c . "$PT_DIR/acked")" -ge 20 ]
	# recovered: a delivery after the storm succeeds
	WAIT_SECS=20 wait_for swaks --server "127.0.0.1:$SMTP_PORT" --from a@example.com \
		--to bob@example.org --silent 2
	check_mailbox
}

@test "SIGSTOP of the store for 30 s: temporary errors, not hangs; full recovery after SIGCONT" {
	postern_start
	: >"$PT_DIR/acked"
	store=$(postern_pids store)
	[ -n "$store" ]
	run timeout 120 $RES stopped "$SMTP_PORT" "$POP3_PORT" "$store" 30 "$PT_DIR/acked"
	echo "$output"
	kill -CONT "$store" 2>/dev/null || true
	[ "$status" -eq 0 ]
	echo "# $(grep 'temporary errors' <<<"$output")" >&3
	check_mailbox
}
