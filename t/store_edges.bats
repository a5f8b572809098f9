#!/usr/bin/env bats
# Store paths the other files leave alone: the quota, postmaster, an
# account named twice in one delivery, and the accounts/aliases check of
# posternd -n.  (COVERAGE.md: these were the store's untested lines.)

load lib/helpers
load lib/store

setup() { postern_setup; }
teardown() {
	postern_teardown
	store_teardown
}

# sendmsg FROM TO... : one message of ~2 KB; prints the DATA reply code
# (or the RCPT refusal), never raises
sendmsg() {
	python3 "$MAILCLIENT" send-codes "$SMTP_PORT" "$@"
}

@test "quota: a delivery that would pass it is refused 552 5.2.2, the mailbox unchanged" {
	postern_conf_set quota 5K
	postern_start
	run sendmsg s@example.com alice@example.org
	[ "$output" = 250 ]
	run sendmsg s@example.com alice@example.org
	[ "$output" = 250 ]
	before=$(stat -c %s "$(mbox_path alice)")
	run sendmsg s@example.com alice@example.org
	[[ "$output" == "552 5.2.2"* ]]
	[ "$(stat -c %s "$(mbox_path alice)")" -eq "$before" ]
	[ "$(mbox_count alice)" -eq 2 ]
	grep -q "over quota" "$PT_LOG"
	# bob is not full: the quota is per mailbox
	run sendmsg s@example.com bob@example.org
	[ "$output" = 250 ]
}

@test "postmaster goes to the postmaster account, or to the first account without one" {
	postern_conf_set postmaster bob
	postern_start
	run sendmsg s@example.com postmaster@example.org
	[ "$output" = 250 ]
	wait_for mbox_count_is bob 1
	[ "$(mbox_count alice)" -eq 0 ]
	postern_stop
	grep -v '^postmaster' "$PT_CONF" >"$PT_CONF.new" && mv "$PT_CONF.new" "$PT_CONF"
	postern_start
	run sendmsg s@example.com PostMaster@example.org
	[ "$output" = 250 ]
	wait_for mbox_count_is alice 1
}

@test "an account named directly and through an alias gets one copy" {
	postern_start
	run sendmsg s@example.com alice@example.org team@example.org
	[ "$output" = 250 ]
	[ "$(mbox_count alice)" -eq 1 ]
	[ "$(mbox_count bob)" -eq 1 ]
}

@test "posternd -n: broken accounts and aliases are reported FILE:LINE, and counted" {
	printf 'alice:$6$x$y\nnocolon\n' >"$PT_DIR/accounts"
	printf 'team alice\nempty: ,\n' >"$PT_DIR/aliases"
	run "$POSTERND" -n -f "$PT_CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$PT_DIR/accounts:2: expected name:hash"* ]]
	[[ "$output" == *"$PT_DIR/aliases:1: expected alias"* ]]
	[[ "$output" == *"$PT_DIR/aliases:2: alias empty: no names"* ]]
	[[ "$output" == *"3 errors"* ]]
}

@test "posternd -n: an aliases file that cannot be opened is an error" {
	rm -f "$PT_DIR/aliases"
	run "$POSTERND" -n -f "$PT_CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$PT_DIR/aliases"* ]]
}

# The store alone, through t/tools/ipcpeer (t/lib/store.bash), with the
# accounts of postern_setup.
peer_setup() {
	store_setup alice bob carol
	echo "team: alice, bob" >"$SD/aliases"
}

@test "store: APPEND to an unknown account is refused, a repeated account gets one copy" {
	peer_setup
	run peer <<'END'
start
chan s smtp
append s a@example.org nosuch @1
append s a@example.org alice,alice,bob @2
alive s
END
	echo "$output"
	[ "${lines[2]}" = "append 5 no such account nosuch" ]
	[ "${lines[3]}" = "append 0 delivered" ]
	[ "$(grep -c '^From ' "$SD/spool/alice")" -eq 1 ]
	[ "$(grep -c '^From ' "$SD/spool/bob")" -eq 1 ]
}

@test "store: DELE and RETR of a deleted message answer no-such; the channel lives" {
	peer_setup
	run peer <<'END'
start
chan s smtp
append s a@example.org alice @1
chan p pop3
auth p alice alicepw
dele p 1
dele p 1
retr p 1
undo p
retr p 1
END
	echo "$output"
	[ "${lines[5]}" = "dele 0" ]
	[ "${lines[6]}" = "dele 5" ]
	[[ "${lines[7]}" == "retr 5"* ]]
	[ "${lines[8]}" = "undo 0" ]
	[[ "${lines[9]}" == "retr 0 len="* ]]
}

@test "store: an APPEND naming an invalid mailbox drops that channel only" {
	peer_setup
	run peer <<'END'
start
chan s smtp
chan t smtp
append s a@example.org ../etc @1
alive s
append t a@example.org alice @2
END
	echo "$output"
	[ "${lines[4]}" = "eof s" ]
	[ "${lines[5]}" = "append 0 delivered" ]
	grep -q "APPEND names an invalid mailbox" "$SD/log"
}

@test "store: an alias whose expansion does not fit one answer is a temporary failure" {
	peer_setup
	# 1000 accounts of 64-character names: 68 KB of names, over one message
	python3 - "$SD" <<'PY'
import sys
d = sys.argv[1]
names = ["u%063d" % i for i in range(1000)]
with open(d + "/accounts", "a") as f:
    for n in names:
        f.write(n + ":$6$x$y\n")
with open(d + "/aliases", "a") as f:
    f.write("everyone: " + ", ".join(names) + "\n")
PY
	run peer <<'END'
start
chan s smtp
lookup s everyone
lookup s team
END
	echo "${output:0:400}"
	[ "${lines[2]}" = "lookup 2" ]
	[ "${lines[3]}" = "lookup 0 alice bob" ]
	grep -q "alias everyone expands beyond one message" "$SD/log"
}
