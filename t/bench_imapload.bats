#!/usr/bin/env bats
# bench/imapload.py, the IMAP load generator of `make bench`, against a
# real postern with small counts: every sub-command does its work and
# prints its numbers, and a run that does not do the work it was asked
# for (a wrong count, the time limit) fails instead of printing a rate.

load lib/helpers
load lib/imap

BENCH=$BATS_TEST_DIRNAME/../bench

setup() {
	imap_setup
	imap_start
	python3 "$BENCH/mkmbox.py" "$PT_DIR/tmpl" 2 40 2048 example.org --rich
	install -m 600 -o _postern-store -g "$(id -g _postern-store)" "$PT_DIR/tmpl/bench01" "$PT_SPOOL/alice"
	install -m 600 -o _postern-store -g "$(id -g _postern-store)" "$PT_DIR/tmpl/bench02" "$PT_SPOOL/bob"
}
teardown() { postern_teardown; }

kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

@test "mkmbox --rich: client headers, every message SIZE bytes, the plain form unchanged" {
	[ "$(grep -c '^From sender@client.example.org ' "$PT_DIR/tmpl/bench01")" -eq 40 ]
	[ "$(grep -c '^Message-ID: <[0-9]*.bench01.20251127@client.example.org>$' "$PT_DIR/tmpl/bench01")" -eq 40 ]
	[ "$(grep -c '^From: "Sender Number [0-9]*" <sender[0-9]*@client.example.org>$' "$PT_DIR/tmpl/bench01")" -eq 40 ]
	grep -qx 'Date: Sun, 02 Nov 2025 00:00:01 +0100' "$PT_DIR/tmpl/bench01"
	# 40 x (From_ line + 2048 bytes + the blank line)
	from=$(head -1 "$PT_DIR/tmpl/bench01" | wc -c)
	[ "$(wc -c <"$PT_DIR/tmpl/bench01")" -eq $((40 * (from + 2048 + 1))) ]
	python3 "$BENCH/mkmbox.py" "$PT_DIR/plain" 1 3 2048 example.org
	grep -qx 'Message-Id: <bench01.3@client.example.org>' "$PT_DIR/plain/bench01"
	[ "$(grep -c '^Received:' "$PT_DIR/plain/bench01")" -eq 0 ]
}

@test "imapload sync: the first and the warm sync of every message, each response checked" {
	run python3 "$BENCH/imapload.py" sync "$IMAP_PORT" --user=alice --expect=40 --again \
		--root="$PT_PID" --max-s=60
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(kv "$output" n)" -eq 40 ]
	for k in select_ms fetch_ms sync_ms msgs_s warm_sync_ms warm_msgs_s cpu_ms_per_msg client_cpu_ms_per_msg; do
		[ -n "$(kv "$output" $k)" ]
	done
	# the first SELECT gave the messages their UIDs
	[ "$(grep -c '^X-Postern: .*imapuid=' "$PT_SPOOL/alice")" -eq 40 ]
	# a count that does not match fails the run, with no rate printed
	run python3 "$BENCH/imapload.py" sync "$IMAP_PORT" --user=alice --expect=41 --max-s=60
	echo "$output"
	[ "$status" -eq 1 ]
	grep -q 'failed: SELECT: 40 messages, expected 41' <<<"$output"
	[[ $output != *msgs_s=* ]]
}

@test "imapload flags: STORE 1:* then single STOREs, every flag checked" {
	run python3 "$BENCH/imapload.py" flags "$IMAP_PORT" --user=alice --expect=40 --singles=10 \
		--root="$PT_PID" --max-s=60
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(kv "$output" singles)" -eq 10 ]
	for k in store_all_ms store_all_msgs_s store_p50_ms store_p95_ms stores_s; do
		[ -n "$(kv "$output" $k)" ]
	done
	run imap_batch 'a LOGIN alice alicepw\r\nb SELECT INBOX\r\nc SEARCH UNSEEN\r\nd SEARCH FLAGGED\r\ne LOGOUT\r\n'
	echo "$output"
	grep -qx '\* SEARCH' <<<"$output"
	[ "$(grep '^\* SEARCH [0-9]' <<<"$output" | wc -w)" -eq 12 ]
}

@test "imapload delete: EXPUNGE and MOVE of the middle message, counted down" {
	run python3 "$BENCH/imapload.py" delete "$IMAP_PORT" --user=alice --expect=40 --n=5 \
		--root="$PT_PID" --max-s=60
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(kv "$output" n)" -eq 5 ]
	[ -n "$(kv "$output" one_ms)" ] && [ -n "$(kv "$output" p95_ms)" ]
	wait_for mbox_count_is alice 34
	run python3 "$BENCH/imapload.py" delete "$IMAP_PORT" --user=alice --expect=34 --n=3 --move \
		--max-s=60
	echo "$output"
	[ "$status" -eq 0 ]
	wait_for mbox_count_is alice 30
	run imap_batch 'a LOGIN alice alicepw\r\nb STATUS Trash (MESSAGES)\r\nc LOGOUT\r\n'
	echo "$output"
	grep -q '^\* STATUS "\?Trash"\? (MESSAGES 4)' <<<"$output"
}

@test "imapload bodies, append and login with named accounts" {
	run python3 "$BENCH/imapload.py" bodies "$IMAP_PORT" --users=alice,bob --accounts=2 \
		--expect=40 --root="$PT_PID" --max-s=60
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(kv "$output" msgs)" -eq 80 ]
	[ "$(kv "$output" bytes)" -gt $((80 * 2048)) ]
	run python3 "$BENCH/imapload.py" append "$IMAP_PORT" --users=alice,bob --clients=2 \
		--count=10 --size=4096 --mbox="$PT_SPOOL/alice" --mbox="$PT_SPOOL/bob" \
		--root="$PT_PID" --max-s=60
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(kv "$output" in_mbox)" -eq 10 ]
	[ "$(mbox_count alice)" -eq 45 ] && [ "$(mbox_count bob)" -eq 45 ]
	run python3 "$BENCH/imapload.py" login "$IMAP_PORT" --users=alice,bob,carol --accounts=3 \
		--n=6 --par-n=6 --par=3 --root="$PT_PID" --max-s=60
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(kv "$output" n)" -eq 6 ] && [ "$(kv "$output" par_n)" -eq 6 ]
	[ -n "$(kv "$output" p95_ms)" ] && [ -n "$(kv "$output" logins_s)" ]
}

@test "imapload: a NO fails the run, and so does the time limit" {
	run python3 "$BENCH/imapload.py" sync "$IMAP_PORT" --user=nobody --expect=1 --max-s=60
	echo "$output"
	[ "$status" -eq 1 ]
	grep -q 'failed: LOGIN nobody' <<<"$output"
	run python3 "$BENCH/imapload.py" bodies "$IMAP_PORT" --users=alice,bob --accounts=2 \
		--expect=40 --max-s=0.05
	echo "$output"
	[ "$status" -eq 1 ]
	grep -q 'over the --max-s limit' <<<"$output"
}
