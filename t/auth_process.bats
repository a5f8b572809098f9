#!/usr/bin/env bats
# The auth process: password checks run outside the
# store's delivery loop, in a process of their own that alone holds the
# hashes.  A stalled or dead auth process never holds deliveries up; a
# login it was checking gets -ERR [SYS/TEMP]; the master restarts it and
# SIGHUP reloads its accounts.

load lib/helpers
load lib/pop3

setup() { postern_setup; }
teardown() {
	# a stopped process would outlive the test
	local a
	for a in $(postern_pids auth); do kill -CONT "$a" 2>/dev/null || true; done
	postern_teardown
}

# login_ok USER PASS: a login that answers +OK.
login_ok() {
	pop3_batch "USER $1\r\nPASS $2\r\nQUIT\r\n" | grep -q '^+OK maildrop has'
}

@test "one auth process, a fresh exec of posternd -X auth, niced" {
	postern_start
	wait_for role_count_ge auth 1
	[ "$(postern_pids auth | grep -c .)" -eq 1 ]
	pid=$(postern_pids auth)
	tr '\0' ' ' </proc/$pid/cmdline | grep -q -- "-X auth"
	# (its /proc/PID/exe hides from anyone but root: it is not dumpable)
	! is_root || [ "$(readlink /proc/$pid/exe)" = "$(readlink /proc/$PT_PID/exe)" ]
	# it runs niced: a flood of checks takes the CPU deliveries leave over
	[ "$(awk '{ print $19 }' /proc/$pid/stat)" -eq 10 ]
	grep -q "auth\[$pid\]: auth: 3 accounts loaded" "$PT_LOG"
	login_ok alice alicepw
}

@test "a stalled auth process holds no delivery up; killed, its login gets [SYS/TEMP]; restarted, logins work" {
	postern_start
	wait_for role_count_ge auth 1
	auth=$(postern_pids auth)
	kill -STOP "$auth"
	run timeout 60 python3 "$MAILCLIENT" auth-stall "$POP3_PORT" "$SMTP_PORT" "$auth"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = ok ]
	wait_for mbox_count_is bob 5
	grep -q "auth died; restarting it" "$PT_LOG"
	wait_for role_count_ge auth 1
	[ "$(postern_pids auth)" != "$auth" ]
	wait_for login_ok alice alicepw
	# neither the workers nor the store were restarted for it
	! grep -q "recycling the workers" "$PT_LOG"
	! grep -q "store died" "$PT_LOG"
}

@test "the store restarted: the auth process gets a new channel and logins work" {
	postern_start
	wait_for role_count_ge auth 1
	auth=$(postern_pids auth)
	kill -9 "$(postern_pids store)"
	wait_for grep -q "store died; restarting it" "$PT_LOG"
	WAIT_SECS=20 wait_for login_ok alice alicepw
	[ "$(postern_pids auth)" = "$auth" ]
}

@test "SIGHUP reloads the accounts in the auth process too" {
	postern_start
	! login_ok dave davepw
	echo "dave:$(hash_pw davepw)" >>"$PT_DIR/accounts"
	# and alice's password changes
	sed -i "s|^alice:.*|alice:$(hash_pw alicenew)|" "$PT_DIR/accounts"
	kill -HUP "$PT_PID"
	wait_for grep -q "auth: 4 accounts loaded" "$PT_LOG"
	wait_for login_ok dave davepw
	login_ok alice alicenew
	! login_ok alice alicepw
}

@test "as root: the store's memory holds no password hash; the auth process's does" {
	require_root
	postern_start
	wait_for role_count_ge auth 1
	login_ok alice alicepw
	run python3 - "$(postern_pids store)" "$(postern_pids auth)" "$PT_DIR/accounts" <<'PY'
import sys
store, auth, accounts = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
# the salt+hash part of each line ("$6$postern...$..."), never in the store
needles = [l.split(":", 1)[1].strip().encode() for l in open(accounts) if ":" in l]
assert len(needles) == 3
def found(pid):
    hits = set()
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            p = line.split()
            lo, hi = (int(x, 16) for x in p[0].split("-"))
            if "r" not in p[1] or hi - lo > (1 << 30) or (len(p) > 5 and p[5] in ("[vvar]", "[vsyscall]")):
                continue
            try:
                mem.seek(lo)
                buf = mem.read(hi - lo)
            except OSError:
                continue
            for n in needles:
                if n in buf:
                    hits.add(n)
    return hits
s, a = found(store), found(auth)
print("store: %d of 3 hashes found, auth: %d of 3" % (len(s), len(a)))
assert not s, "hashes in the store's memory"
assert len(a) == 3, "the search does not work: the auth process should hold them"
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = ok ]
}

@test "posternd -n: auth-user must differ from the other users" {
	postern_conf_set auth-user _postern-store
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"auth-user: _postern-store must differ from user, store-user and key-user"* ]]
}
