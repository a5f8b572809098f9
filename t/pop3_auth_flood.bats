#!/usr/bin/env bats
# A wrong-password flood on one account slows the
# guessers, not the owner.  40 clients, each from its own 127.0.1.x
# address, fail logins on alice; alice logs in from 127.0.0.2 during the
# flood and is answered within 1 s, while a guesser's next answer is held.

load lib/helpers
load lib/pop3

setup() {
	postern_setup
	postern_conf_set pop3-max 64
	postern_conf_set pop3-min-spare 8
	postern_start
}
teardown() { postern_teardown; }

# flood SECONDS: runs the flood; prints the owner's PASS time and answer,
# then a flooding address's PASS time and answer, then the flood's count.
flood() {
	timeout 120 python3 - "$POP3_PORT" "$1" <<'PY'
import socket, sys, threading, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
stop = time.time() + secs
fails = [0]
lock = threading.Lock()

def session(src, user, pw, tries, until=None):
    """One session from src: up to tries PASS (none after until); (seconds,
    answer) of the last."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30,
                                 source_address=(src, 0))
    f = s.makefile("rb")
    f.readline()
    out = (0.0, "")
    for _ in range(tries):
        if until is not None and time.time() > until:
            break
        s.sendall(b"USER " + user + b"\r\n")
        if not f.readline():
            break
        t = time.time()
        s.sendall(b"PASS " + pw + b"\r\n")
        line = f.readline().decode().rstrip()
        out = (time.time() - t, line)
        if not line.startswith("-ERR [AUTH] invalid"):
            break
        with lock:
            fails[0] += 1
    s.close()
    return out

def guesser(i):
    n = 0
    while time.time() < stop and n < 200:
        n += 1
        try:
            session("127.0.1.%d" % i, b"alice", b"guess%d" % n, 3, stop)
        except OSError:
            time.sleep(0.1)

threads = [threading.Thread(target=guesser, args=(i,), daemon=True)
           for i in range(1, 41)]
for t in threads:
    t.start()
time.sleep(secs / 2)
owner = session("127.0.0.2", b"alice", b"alicepw", 1)
guess = session("127.0.1.7", b"alice", b"alicepw", 1)
print("%.3f %s" % owner)
print("%.3f %s" % guess)
for t in threads:
    t.join(timeout=40)
print(fails[0])
PY
}

@test "40 addresses flooding one account: the owner from another address logs in within 1 s" {
	run flood 8
	echo "$output"
	read -r t_owner a_owner <<<"${lines[0]}"
	read -r t_guess a_guess <<<"${lines[1]}"
	# the flood really ran: every address failed (the account's count is
	# then high enough for a 10 s delay on each further wrong password)
	[ "${lines[2]}" -ge 40 ]
	[[ "$a_owner" == "+OK maildrop has 0 messages"* ]]
	python3 -c "import sys; sys.exit(not ($t_owner < 1.0))"
	# a guessing address is answered late even with the right password
	python3 -c "import sys; sys.exit(not ($t_guess >= 1.0))"
	grep -q "alice from 127.0.0.2: 0 messages" "$PT_LOG"
}
