# Shared bats helpers: a fresh postern instance per test on 127.0.0.1 high
# ports: the functions below, each with a comment; every wait is bounded.

T_TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$T_TOP/$BUILD ;; esac
POSTERND=${POSTERND:-$BUILD/posternd}
POSTERNCTL=${POSTERNCTL:-$BUILD/posternctl}
# the one client that speaks SMTP and POP3 by hand: python3 "$MAILCLIENT" CMD
MAILCLIENT=$T_TOP/t/lib/mailclient.py
export BUILD POSTERND POSTERNCTL MAILCLIENT

is_root() { [ "$(id -u)" -eq 0 ]; }

# Skips the test with a reason unless running as root.
require_root() {
	is_root || skip "needs root (privilege drop, chroot, mounts): run the suite as root, as CI does"
}

# Prints N free TCP ports on 127.0.0.1, one per line.
free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
PY
}

# The system users the daemon drops to when started as root.
ensure_users() {
	is_root || return 0
	local u
	for u in _postern _postern-store _postern-key _postern-auth; do
		getent passwd "$u" >/dev/null ||
			useradd --system --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin "$u" >/dev/null 2>&1 || true
	done
}

hash_pw() { openssl passwd -6 -salt "postern$1" "$1"; }

postern_setup() {
	ensure_users
	PT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/postern-t.XXXXXX")
	chmod 755 "$PT_DIR"
	local ports
	ports=$(free_ports 4)
	SMTP_PORT=$(sed -n 1p <<<"$ports")
	POP3_PORT=$(sed -n 2p <<<"$ports")
	SMTPS_PORT=$(sed -n 3p <<<"$ports")
	POP3S_PORT=$(sed -n 4p <<<"$ports")
	PT_SPOOL=$PT_DIR/spool
	PT_CONF=$PT_DIR/postern.conf
	PT_LOG=$PT_DIR/postern.log
	PT_EXTRA=${PT_EXTRA:-}
	mkdir -m 755 "$PT_DIR/empty"
	{
		echo "alice:$(hash_pw alicepw)"
		echo "bob:$(hash_pw bobpw)"
		echo "carol:$(hash_pw carolpw)"
	} >"$PT_DIR/accounts"
	printf 'team: alice, bob\n' >"$PT_DIR/aliases"
	cat >"$PT_CONF" <<EOC
# written by t/lib/helpers.bash
hostname mail.example.org
domain example.org
domain example.net
listen smtp 127.0.0.1:$SMTP_PORT
listen pop3 127.0.0.1:$POP3_PORT
spool $PT_SPOOL
accounts $PT_DIR/accounts
aliases $PT_DIR/aliases
user _postern
store-user _postern-store
key-user _postern-key
auth-user _postern-auth
empty-dir $PT_DIR/empty
pidfile $PT_DIR/postern.pid
control-socket $PT_DIR/control.sock
smtp-min-spare 2
smtp-max 20
pop3-min-spare 2
pop3-max 20
shutdown-grace 2s
# every test client comes from 127.0.0.1: the per-address limits are off
# here, and t/admission_limits.bats turns them on
max-sessions-per-ip 0
max-conn-per-ip-per-minute 0
EOC
	PT_CTL=$PT_DIR/control.sock
	export PT_DIR PT_SPOOL PT_CONF PT_LOG PT_CTL SMTP_PORT POP3_PORT SMTPS_PORT POP3S_PORT
}

# postern_conf_set KEY VALUE...: replaces (or adds) a single-valued key.
postern_conf_set() {
	local key=$1
	shift
	grep -v "^$key[[:space:]]" "$PT_CONF" >"$PT_CONF.new" || true
	echo "$key $*" >>"$PT_CONF.new"
	mv "$PT_CONF.new" "$PT_CONF"
}

# The greeting on PORT starts with PREFIX (QUIT sent): greets PORT PREFIX
greets() {
	python3 "$MAILCLIENT" greets "$1" "$2"
}

# control_wake: a client on the control socket, so that the master starts
# the control process (it runs on demand, control-max-idle); the client
# leaves at once, the process stays for control-max-idle.
control_wake() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.close()' "$PT_CTL"
}

# wait_for CMD...: retries for up to ${WAIT_SECS:-10} s.
wait_for() {
	local deadline=$((SECONDS + ${WAIT_SECS:-10}))
	while ! "$@" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

postern_start() {
	local try from old new
	if [ -n "$PT_EXTRA" ]; then
		printf '%s\n' "$PT_EXTRA" >>"$PT_CONF"
	fi
	for try in 1 2 3; do
		from=0
		[ -f "$PT_LOG" ] && from=$(wc -c <"$PT_LOG")
		# PT_ARGS: more options for posternd (-v for the debug log)
		# shellcheck disable=SC2086
		"$POSTERND" -d ${PT_ARGS:-} -f "$PT_CONF" >>"$PT_LOG" 2>&1 &
		PT_PID=$!
		export PT_PID
		if wait_for greets "$SMTP_PORT" "220 " && wait_for greets "$POP3_PORT" "+OK"; then
			return 0
		fi
		# free_ports() hands out ports that are free at that moment; another
		# program may take one before the daemon binds it: new ports, again
		kill -0 "$PT_PID" 2>/dev/null && break
		wait "$PT_PID" 2>/dev/null || true
		tail -c +"$((from + 1))" "$PT_LOG" | grep -q "Address already in use" || break
		for old in SMTP_PORT POP3_PORT SMTPS_PORT POP3S_PORT; do
			new=$(free_ports 1)
			sed -i -E "/^listen /s/:${!old}\$/:$new/" "$PT_CONF"
			printf -v "$old" '%s' "$new"
		done
		echo "(a listening port was taken meanwhile: try $((try + 1)) with new ports)" >>"$PT_LOG"
	done
	echo "postern did not come up; log:" >&2
	cat "$PT_LOG" >&2
	return 1
}

postern_stop() {
	[ -n "${PT_PID:-}" ] || return 0
	kill -TERM "$PT_PID" 2>/dev/null || true
	local deadline=$((SECONDS + 15))
	while kill -0 "$PT_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	if kill -0 "$PT_PID" 2>/dev/null; then
		pkill -KILL -P "$PT_PID" 2>/dev/null || true
		kill -KILL "$PT_PID" 2>/dev/null || true
	fi
	wait "$PT_PID" 2>/dev/null || true
	PT_PID=
}

postern_teardown() {
	postern_stop
	if [ -n "${PT_LOG:-}" ] && [ -f "$PT_LOG" ]; then
		echo "--- postern log (last 60 lines) ---"
		tail -n 60 "$PT_LOG"
	fi
	# (a setup that skipped before postern_setup leaves no PT_DIR)
	if [ -n "${PT_DIR:-}" ]; then
		rm -rf "$PT_DIR"
	fi
}

# Pids of the master's children in a role (store smtp pop3 keyholder).
postern_pids() {
	pgrep -P "$PT_PID" -f "posternd -X $1( |\$)" || true
}

mbox_path() { echo "$PT_SPOOL/$1"; }

# chars STRING N: STRING N times over, no newline (long lines for tests).
chars() {
	local s
	printf -v s "%$2s" ""
	printf '%s' "${s// /$1}"
}

# Number of messages in a mailbox (postern's own From_ lines).
mbox_count() {
	local f
	f=$(mbox_path "$1")
	[ -f "$f" ] || { echo 0; return; }
	grep -c '^X-Postern: uid=' "$f" || true
}

# role_count_ge ROLE N / role_count_le ROLE N: for wait_for, evaluated anew
# at every try (a "$(...)" argument would be evaluated only once).
role_count_ge() { [ "$(postern_pids "$1" | grep -c .)" -ge "$2" ]; }
role_count_le() { [ "$(postern_pids "$1" | grep -c .)" -le "$2" ]; }
mbox_count_is() { [ "$(mbox_count "$1")" -eq "$2" ]; }
