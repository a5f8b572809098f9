#!/usr/bin/env bats
# A mailbox that is a symbolic link, a hard link or a FIFO is refused and
# logged (temporary failure for that delivery); the store never blocks on
# it and keeps serving every other mailbox.

load lib/helpers
load lib/store

setup() {
	store_setup alice bob
	OWNER=$(id -un)
	if is_root; then OWNER=_postern-store; fi
	echo "secret" >"$SD/target"
}

teardown() { store_teardown; }

deliver_script() {
	cat <<'END'
start
chan s smtp
append s a@example.org alice @1
append s a@example.org bob @2
chan p pop3
auth p alice alicepw
chan q pop3
auth q bob bobpw
END
}

@test "a symlinked mailbox is refused, the target untouched" {
	ln -s "$SD/target" "$SD/spool/alice"
	run peer < <(deliver_script)
	echo "$output"
	[[ "${lines[2]}" == "append 1 "* ]]
	[ "${lines[3]}" = "append 0 delivered" ]
	[ "${lines[5]}" = "auth 3 delay=0" ]
	[[ "${lines[7]}" == "auth 0 delay=0 count=1 "* ]]
	[ "$(cat "$SD/target")" = "secret" ]
	grep -q "mailbox alice is a symbolic link: refused" "$SD/log"
}

@test "a hard-linked mailbox is refused" {
	touch "$SD/spool/alice"
	chown "$OWNER" "$SD/spool/alice"
	ln "$SD/spool/alice" "$SD/spool/.alice-second-link"
	run peer < <(deliver_script)
	echo "$output"
	[[ "${lines[2]}" == "append 1 "* ]]
	[ "${lines[3]}" = "append 0 delivered" ]
	[ ! -s "$SD/spool/alice" ]
	grep -q "mailbox alice refused: more than one link" "$SD/log"
}

@test "a FIFO mailbox never blocks the store" {
	mkfifo "$SD/spool/alice"
	chown "$OWNER" "$SD/spool/alice"
	run timeout 60 bash -c "'$BUILD/t/ipcpeer' ${PEER_OPTS[*]} -l '$SD/log' '$SD/spool' '$SD/accounts'" < <(deliver_script)
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[2]}" == "append 1 "* ]]
	[ "${lines[3]}" = "append 0 delivered" ]
	[ "${lines[5]}" = "auth 3 delay=0" ]
	grep -q "mailbox alice refused: not a regular file" "$SD/log"
}

@test "a mailbox owned by someone else is refused" {
	is_root || skip "needs root to make a file owned by another user"
	touch "$SD/spool/alice"
	chown root "$SD/spool/alice"
	chmod 666 "$SD/spool/alice"   # openable, so the ownership check itself is what refuses
	run peer < <(deliver_script)
	echo "$output"
	[[ "${lines[2]}" == "append 1 "* ]]
	grep -q "mailbox alice refused: not owned by the store user" "$SD/log"
}

@test "a file that is not an mbox is refused, never truncated" {
	printf 'not a mailbox\n' >"$SD/spool/alice"
	chown "$OWNER" "$SD/spool/alice"
	run peer < <(deliver_script)
	echo "$output"
	[[ "${lines[2]}" == "append 1 "* ]]
	[ "$(cat "$SD/spool/alice")" = "not a mailbox" ]
	grep -q "mailbox alice is not an mbox file" "$SD/log"
}

@test "a mailbox replaced between deliveries (a local tool's rewrite) is reopened by name" {
	run peer <<END
start
chan s smtp
append s a@example.org alice @1
sh cp -p "$SD/spool/alice" "$SD/spool/alice.rewrite" && mv "$SD/spool/alice.rewrite" "$SD/spool/alice"
append s a@example.org alice @2
END
	echo "$output"
	[ "${lines[0]}" = "started" ]
	[[ "${lines[2]}" == "append 0"* ]]
	[[ "${lines[4]}" == "append 0"* ]]
	# both messages are in the file that has the name now, none went to
	# the replaced inode the store had open
	[ "$(grep -c '^X-Postern: uid=' "$SD/spool/alice")" -eq 2 ]
}
