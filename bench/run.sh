#!/bin/sh
# make bench: postern side by side with Postfix (local(8) mbox delivery)
# and Dovecot (POP3) on the same machine, the same accounts, the same mbox
# content, loopback high ports.
#
#   sh bench/run.sh BUILD/posternd
#
# Environment: BENCH_ROUNDS (default 7, at least 3), BENCH_TMPDIR (where
# the temporary instance directory goes, default /var/tmp: a disk, not a
# tmpfs, so that fsync means something), BENCH_KEEP=1 keeps the directory,
# BENCH_WORKLOADS (default all: "smtp_small smtp_large pop3_retr pop3_dele
# login login_flood imap_login imap_sync imap_bodies imap_flags imap_append
# imap_delete imap_idle imap_scale imap_mixed") runs only those in the
# rounds, for profiling one of them, IMAP_DELETE_ROUNDS (default 1): how
# many rounds run imap_delete, BENCH_IMAP_ROUNDS: see imap_rounds_ok,
# BENCH_POOLS=spare runs postern with 8 + 10 spare workers instead of its
# default pools, BENCH_FLOOD_SCHED=normal runs login_flood's flood client
# at nice 0 instead of SCHED_IDLE (bench/loginflood.py), BENCH_FLOOD_TRACE=
# FILE has it append every delivery's due time and latency to FILE.
# Needs root: it creates system users, starts Postfix and Dovecot, and
# postern drops privileges as in production.  Prints one line per metric
# and leaves the same table in BUILD/bench-results.txt.
set -eu

POSTERND=${1:?usage: sh bench/run.sh BUILD/posternd}
ROUNDS=${BENCH_ROUNDS:-7}
WORKLOADS=${BENCH_WORKLOADS:-smtp_small smtp_large pop3_retr pop3_dele login login_flood imap_login imap_sync imap_bodies imap_flags imap_append imap_delete imap_idle imap_scale imap_mixed}
HERE=$(cd "$(dirname "$0")" && pwd)
POSTERND=$(cd "$(dirname "$POSTERND")" && pwd)/$(basename "$POSTERND")
OUT=$(dirname "$POSTERND")/bench-results.txt
DOMAIN=bench.test
NACC=10
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in bench/

say() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (system users, Postfix, Dovecot, postern's privilege drop)"
[ -x "$POSTERND" ] || die "$POSTERND is not executable: build it first"
[ "$ROUNDS" -ge 1 ] 2>/dev/null || die "BENCH_ROUNDS must be a number"
[ "$ROUNDS" -ge 3 ] || say "warning: $ROUNDS rounds; a median wants at least 3"

# ---- the peers, from Debian packages -------------------------------------

install_peers() {
	pkgs=
	{ command -v postfix && command -v smtp-source && command -v smtp-sink; } >/dev/null 2>&1 ||
		pkgs="postfix"
	{ command -v dovecot && [ -x /usr/lib/dovecot/pop3 ]; } >/dev/null 2>&1 ||
		pkgs="$pkgs dovecot-pop3d"
	[ -x /usr/lib/dovecot/imap ] || pkgs="$pkgs dovecot-imapd"
	[ -n "$pkgs" ] || return 0
	command -v apt-get >/dev/null || die "missing$pkgs and no apt-get to install them"
	say "installing$pkgs"
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >/dev/null ||
		{ DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >/dev/null; } ||
		die "apt-get install$pkgs failed"
}

add_user() {   # add_user NAME [--system]
	getent passwd "$1" >/dev/null && return 0
	useradd $2 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$1" ||
		die "useradd $1 failed"
}

install_peers
for u in _postern _postern-store _postern-key _postern-auth; do add_user "$u" --system; done
# the accounts are real users: local(8) delivers as the recipient, and
# Dovecot reads as the recipient (uid >= 1000, above first_valid_uid)
i=1
while [ $i -le $NACC ]; do add_user "$(printf bench%02d $i)" ""; i=$((i + 1)); done

# ---- the temporary directory and the ports -------------------------------

B=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/postern-bench.XXXXXX")
chmod 755 "$B"
PT_PID=
PT2_PID=
SINK_PID=
PF_DIR=$B/postfix
DC_CONF=$B/dovecot/dovecot.conf

cleanup() {
	set +e
	if [ -n "$PT_PID" ]; then
		kill -TERM "$PT_PID" 2>/dev/null
		n=0
		while kill -0 "$PT_PID" 2>/dev/null && [ $n -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
		kill -KILL "$PT_PID" 2>/dev/null
	fi
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
	[ -n "$PT2_PID" ] && kill -TERM "$PT2_PID" 2>/dev/null
	[ -f "$PF_DIR/etc/main.cf" ] && postfix -c "$PF_DIR/etc" stop >/dev/null 2>&1
	if [ -f "$B/dovecot/run/master.pid" ]; then
		doveadm -c "$DC_CONF" stop >/dev/null 2>&1 ||
			kill "$(cat "$B/dovecot/run/master.pid")" 2>/dev/null
	fi
	sleep 1
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "kept $B"
	else
		rm -rf "$B"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# free_ports N: N TCP ports free on 127.0.0.1 now.  Another program may take
# one before a server binds it, so every start below checks that its own
# server answers and retries with fresh ports.
free_ports() {
	python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

RES=$B/results.tsv
: >"$RES"
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RES"; }
kv() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# waits up to 10 s for a greeting: greets PORT PREFIX
greets() {
	python3 - "$1" "$2" <<'PY'
import socket, sys, time
end = time.monotonic() + 10
while time.monotonic() < end:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
        ok = s.makefile("rb").readline().decode("latin-1").startswith(sys.argv[2])
        s.sendall(b"QUIT\r\n")
        s.close()
        if ok:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
}

# ---- the accounts: the same SHA-512 crypt hashes on both sides -----------

mkdir -p "$B/postern/empty" "$B/peer/spool" "$B/tmpl" "$PF_DIR/etc" "$PF_DIR/queue" \
	"$PF_DIR/data" "$B/dovecot/run" "$B/dovecot/state" "$B/dovecot/home"
chmod 755 "$B/postern" "$B/postern/empty" "$B/peer" "$B/dovecot"
chmod 1777 "$B/peer/spool"    # local(8) and Dovecot dotlock there as the user
: >"$B/postern/accounts"
: >"$B/dovecot/passwd"
i=1
while [ $i -le $NACC ]; do
	u=$(printf bench%02d $i)
	h=$(openssl passwd -6 -salt "postern$u" "${u}pw")
	uid=$(id -u "$u") gid=$(id -g "$u")
	echo "$u:$h" >>"$B/postern/accounts"
	echo "$u:{SHA512-CRYPT}$h:$uid:$gid::$B/dovecot/home/$u::" >>"$B/dovecot/passwd"
	mkdir -p "$B/dovecot/home/$u/mail"
	chown -R "$u:" "$B/dovecot/home/$u"
	chmod 700 "$B/dovecot/home/$u"
	i=$((i + 1))
done
chmod 600 "$B/postern/accounts"
chown root:dovecot "$B/dovecot/passwd"
chmod 640 "$B/dovecot/passwd"

# ---- postern --------------------------------------------------------------

# postern runs with its default pools (2 spare workers per service, grown
# on demand up to 50), as the peers run with theirs; BENCH_POOLS=spare
# keeps a worker waiting for every parallel session of the workloads
SPARE_POOLS='smtp-min-spare 8
smtp-max 32
pop3-min-spare 10
pop3-max 32'
pools_conf() {
	[ "${BENCH_POOLS:-default}" = spare ] && echo "$SPARE_POOLS"
	return 0
}

postern_conf() {
	cat >"$B/postern/postern.conf" <<EOF
# bench/run.sh: the defaults, but for the per-address limits
hostname bench.localhost
domain $DOMAIN
listen smtp 127.0.0.1:$PT_SMTP
listen pop3 127.0.0.1:$PT_POP3
listen imap 127.0.0.1:$PT_IMAP
spool $B/postern/spool
accounts $B/postern/accounts
user _postern
store-user _postern-store
key-user _postern-key
auth-user _postern-auth
empty-dir $B/postern/empty
pidfile $B/postern/postern.pid
control-socket $B/postern/control.sock
$(pools_conf)
max-sessions-per-ip 0
max-conn-per-ip-per-minute 0
imap-max-sessions-per-ip 0
max-sessions-per-user 0
shutdown-grace 2s
EOF
}

start_postern() {
	tries=0
	while :; do
		tries=$((tries + 1))
		set -- $(free_ports 3)
		PT_SMTP=$1 PT_POP3=$2 PT_IMAP=$3
		postern_conf
		if [ $tries -eq 1 ]; then
			"$POSTERND" -n -f "$B/postern/postern.conf" || die "postern rejects its bench config"
		fi
		"$POSTERND" -d -f "$B/postern/postern.conf" >>"$B/postern/postern.log" 2>&1 &
		PT_PID=$!
		if greets "$PT_SMTP" "220 bench.localhost" && greets "$PT_POP3" "+OK" &&
		    greets "$PT_IMAP" "* OK" && kill -0 "$PT_PID" 2>/dev/null &&
		    grep -q "listening on 127.0.0.1:$PT_SMTP (smtp)" "$B/postern/postern.log"; then
			return 0
		fi
		kill -TERM "$PT_PID" 2>/dev/null || true
		wait "$PT_PID" 2>/dev/null || true
		PT_PID=
		[ $tries -lt 3 ] || { tail -20 "$B/postern/postern.log" >&2; die "postern did not come up"; }
		say "postern did not come up on ports $PT_SMTP/$PT_POP3/$PT_IMAP; trying others"
	done
}
start_postern
PT_SPOOL=$B/postern/spool
PT_OWNER=_postern-store

# ---- Postfix: a private instance, local(8) into mbox files ----------------

cat >"$PF_DIR/etc/main.cf" <<EOF
# bench/run.sh: Postfix defaults except where a private instance needs a
# setting; durability as shipped (queue and mailbox fsync'ed)
compatibility_level = 3.6
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.localhost
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination = $DOMAIN
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
mail_spool_directory = $B/peer/spool
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
# Debian's default main.cf sets biff = no as well
biff = no
EOF
# Debian's master.cf with the upstream default of no chroot (a chroot would
# need a copy of /etc files under the queue) and smtpd on a high port
chown postfix: "$PF_DIR/data"
tries=0
while :; do
	tries=$((tries + 1))
	PF_SMTP=$(free_ports 1)
	awk -v port="$PF_SMTP" '
		/^#/ || /^[ \t]/ || NF < 8 { print; next }
		$1 == "smtp" && $2 == "inet" { $1 = "127.0.0.1:" port }
		{ $5 = "n"; print }' /usr/share/postfix/master.cf.dist >"$PF_DIR/etc/master.cf"
	postfix -c "$PF_DIR/etc" check >/dev/null 2>&1 || true
	if postfix -c "$PF_DIR/etc" start >/dev/null 2>&1; then
		greets "$PF_SMTP" "220 bench.localhost ESMTP Postfix" && break
		postfix -c "$PF_DIR/etc" stop >/dev/null 2>&1 || true
	fi
	[ $tries -lt 3 ] || { tail -20 "$PF_DIR/maillog" >&2 2>/dev/null; die "postfix did not come up"; }
	say "postfix did not come up on port $PF_SMTP; trying another"
	sleep 1
done
PF_SPOOL=$B/peer/spool

# ---- Dovecot: a private instance, POP3 and IMAP over the same spool -------

dovecot_conf() {
	cat >"$DC_CONF" <<EOF
# bench/run.sh: Dovecot defaults except where a private instance needs a
# setting
base_dir = $B/dovecot/run
state_dir = $B/dovecot/state
instance_name = postern-bench
protocols = pop3 imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
log_path = $B/dovecot/dovecot.log
mail_location = mbox:~/mail:INBOX=$B/peer/spool/%u
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT $B/dovecot/passwd
}
userdb {
  driver = passwd-file
  args = $B/dovecot/passwd
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $DC_POP3
  }
  inet_listener pop3s {
    port = 0
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DC_IMAP
  }
  inet_listener imaps {
    port = 0
  }
}
# the per-address limit off, as on postern's side: every client is 127.0.0.1
mail_max_userip_connections = 100000
EOF
}
tries=0
while :; do
	tries=$((tries + 1))
	set -- $(free_ports 2)
	DC_POP3=$1 DC_IMAP=$2
	dovecot_conf
	if dovecot -c "$DC_CONF" 2>>"$B/dovecot/start.log"; then
		greets "$DC_POP3" "+OK Dovecot" && greets "$DC_IMAP" "* OK" && break
		doveadm -c "$DC_CONF" stop >/dev/null 2>&1 || true
	fi
	[ $tries -lt 3 ] || { tail -20 "$B/dovecot/dovecot.log" "$B/dovecot/start.log" >&2; die "dovecot did not come up"; }
	say "dovecot did not come up on ports $DC_POP3/$DC_IMAP; trying others"
	sleep 1
done

pt_root() { echo "$PT_PID"; }
pf_root() { cat "$PF_DIR/queue/pid/master.pid" 2>/dev/null | tr -d ' '; }
dc_root() { cat "$B/dovecot/run/master.pid" 2>/dev/null; }

# ---- the mailboxes between runs ------------------------------------------

# empty_spools: every account's mbox empty (and postern's index gone)
empty_spools() {
	i=1
	while [ $i -le $NACC ]; do
		u=$(printf bench%02d $i)
		install -m 600 -o "$PT_OWNER" -g "$(id -g "$PT_OWNER")" /dev/null "$PT_SPOOL/$u"
		install -m 600 -o "$u" -g "$(id -g "$u")" /dev/null "$PF_SPOOL/$u"
		rm -f "$PT_SPOOL/.$u.idx"
		i=$((i + 1))
	done
}

# fill_spools: the POP3 workload's mailboxes, byte for byte the same on
# both sides, no index on either side
fill_spools() {
	i=1
	while [ $i -le $NACC ]; do
		u=$(printf bench%02d $i)
		install -m 600 -o "$PT_OWNER" -g "$(id -g "$PT_OWNER")" "$B/tmpl/$u" "$PT_SPOOL/$u"
		install -m 600 -o "$u" -g "$(id -g "$u")" "$B/tmpl/$u" "$PF_SPOOL/$u"
		rm -f "$PT_SPOOL/.$u.idx"
		rm -rf "$B/dovecot/home/$u/mail"
		install -d -m 700 -o "$u" -g "$(id -g "$u")" "$B/dovecot/home/$u/mail"
		i=$((i + 1))
	done
}

settle() { sync; sleep 1; }

# ---- the workloads ----------------------------------------------------------

# smtp SIDE KIND: one SMTP run (small: 2000 x 4 KiB; large: 200 x 1 MiB)
smtp() {
	side=$1 kind=$2
	if [ "$side" = postern ]; then port=$PT_SMTP spool=$PT_SPOOL root=$(pt_root)
	else port=$PF_SMTP spool=$PF_SPOOL root=$(pf_root); fi
	empty_spools
	settle
	if [ "$kind" = small ]; then
		r=$(python3 "$HERE/smtprun.py" --port "$port" --domain "$DOMAIN" --count 2000 \
			--size 4096 --sessions 8 --chunk 25 --spool "$spool" --root-pid "$root" \
			--timeout 240) || die "SMTP small against $side failed"
		record smtp_small_cpu_ms "$side" "$(kv "$r" cpu_ms_per_msg)"
		record smtp_small_client_cpu_ms "$side" "$(kv "$r" client_cpu_ms_per_msg)"
		record smtp_small_msgs_s "$side" "$(kv "$r" msgs_s)"
		record smtp_small_mb_s "$side" "$(kv "$r" mb_s)"
		record rss_peak_smtp_small_mib "$side" "$(mib "$(kv "$r" peak_rss_kib)")"
		record pss_peak_smtp_small_mib "$side" "$(mib "$(kv "$r" peak_pss_kib)")"
		record procs_peak_smtp_small "$side" "$(kv "$r" peak_procs)"
	else
		r=$(python3 "$HERE/smtprun.py" --port "$port" --domain "$DOMAIN" --count 200 \
			--size 1048576 --sessions 8 --chunk 5 --spool "$spool" --root-pid "$root" \
			--no-rss --timeout 240) || die "SMTP large against $side failed"
		record smtp_large_cpu_ms "$side" "$(kv "$r" cpu_ms_per_msg)"
		record smtp_large_mb_s "$side" "$(kv "$r" mb_s)"
		record smtp_large_msgs_s "$side" "$(kv "$r" msgs_s)"
	fi
	say "smtp $kind $side: $r"
}

# pop3 SIDE retr|dele: 10 accounts x 500 x 4 KiB, 10 sessions
pop3() {
	side=$1 mode=$2
	if [ "$side" = postern ]; then port=$PT_POP3 root=$(pt_root)
	else port=$DC_POP3 root=$(dc_root); fi
	fill_spools
	settle
	if [ "$mode" = dele ]; then
		r=$(python3 "$HERE/pop3load.py" fetch "$port" $NACC --dele --root="$root") ||
			die "POP3 DELE against $side failed"
	else
		r=$(python3 "$HERE/pop3load.py" fetch "$port" $NACC --root="$root") ||
			die "POP3 RETR against $side failed"
	fi
	[ "$(kv "$r" msgs)" -eq $((NACC * 500)) ] || die "POP3 $mode $side: $(kv "$r" msgs) messages"
	record "pop3_${mode}_msgs_s" "$side" "$(kv "$r" msgs_s)"
	record "pop3_${mode}_mb_s" "$side" "$(kv "$r" mb_s)"
	record "pop3_${mode}_cpu_ms" "$side" "$(kv "$r" cpu_ms_per_msg)"
	record "pop3_${mode}_client_cpu_ms" "$side" "$(kv "$r" client_cpu_ms_per_msg)"
	say "pop3 $mode $side: $r"
}

# ---- IMAP (issue 15, first half): bench/imapload.py -------------------------
# imap_login imap_sync imap_bodies imap_flags imap_append imap_delete.
# Mailboxes: the POP3 ones (bodies), and made once per run in $B/tmpl_imap
# (10,000 x 4 KiB, rich headers: sync, flags) and $B/tmpl_imap100
# (10,000 x 10 KiB = 100 MB: delete); IMAP_DELETE_ROUNDS (default 1) is how
# many rounds run imap_delete (a one-message EXPUNGE rewrites 100 MB).

IMAP_DELETE_ROUNDS=${IMAP_DELETE_ROUNDS:-1}

# imap_side SIDE: port, root, spool and Dovecot's or postern's name for it
imap_side() {
	if [ "$1" = postern ]; then port=$PT_IMAP root=$(pt_root) spool=$PT_SPOOL
	else port=$DC_IMAP root=$(dc_root) spool=$PF_SPOOL; fi
}

# imap_clear [ACCOUNT...]: no IMAP state on either side for those accounts
# (default all): postern's folder area and index, Dovecot's ~/mail
# (other folders, the index files of every folder, INBOX's included)
imap_clear() {
	[ $# -gt 0 ] || set -- $(i=1; while [ $i -le $NACC ]; do printf 'bench%02d ' $i; i=$((i + 1)); done)
	for u in "$@"; do
		rm -rf "$PT_SPOOL/.folders/$u"
		rm -f "$PT_SPOOL/.$u.idx"
		rm -rf "$B/dovecot/home/$u/mail"
		install -d -m 700 -o "$u" -g "$(id -g "$u")" "$B/dovecot/home/$u/mail"
	done
}

# imap_inbox ACCOUNT FILE: the account's INBOX is FILE on both sides, byte
# for byte, and neither side has any IMAP state for it
imap_inbox() {
	install -m 600 -o "$PT_OWNER" -g "$(id -g "$PT_OWNER")" "$2" "$PT_SPOOL/$1"
	install -m 600 -o "$1" -g "$(id -g "$1")" "$2" "$PF_SPOOL/$1"
	imap_clear "$1"
}

imap_templates() {
	[ -f "$B/tmpl_imap/bench01" ] ||
		python3 "$HERE/mkmbox.py" "$B/tmpl_imap" 1 10000 4096 "$DOMAIN" --rich
	[ -f "$B/tmpl_imap100/bench01" ] ||
		python3 "$HERE/mkmbox.py" "$B/tmpl_imap100" 1 10000 10240 "$DOMAIN" --rich
}

# imap_login SIDE: 200 sequential LOGIN + LOGOUT, then 1000 by 20 clients
imap_login() {
	imap_side "$1"
	empty_spools
	imap_clear
	settle
	r=$(python3 "$HERE/imapload.py" login "$port" --accounts=$NACC --n=200 --par-n=1000 \
		--par=20 --root="$root" --max-s=300) || die "IMAP logins against $1 failed"
	record imap_login_p50_ms "$1" "$(kv "$r" p50_ms)"
	record imap_login_p95_ms "$1" "$(kv "$r" p95_ms)"
	record imap_login_cpu_ms "$1" "$(kv "$r" cpu_ms_per_login)"
	record imap_logins_s "$1" "$(kv "$r" logins_s)"
	record imap_login_par_cpu_ms "$1" "$(kv "$r" par_cpu_ms_per_login)"
	record imap_login_client_cpu_ms "$1" "$(kv "$r" client_cpu_ms_per_login)"
	say "imap login $1: $r"
}

# imap_sync SIDE: SELECT + UID FETCH 1:* of a 10,000-message INBOX never
# opened by IMAP, then the same again in a new session (warm)
imap_sync() {
	imap_side "$1"
	imap_inbox bench01 "$B/tmpl_imap/bench01"
	settle
	r=$(python3 "$HERE/imapload.py" sync "$port" --user=bench01 --expect=10000 --again \
		--root="$root" --max-s=300) || die "IMAP sync against $1 failed"
	record imap_sync_msgs_s "$1" "$(kv "$r" msgs_s)"
	record imap_sync_ms "$1" "$(kv "$r" sync_ms)"
	record imap_sync_select_ms "$1" "$(kv "$r" select_ms)"
	record imap_sync_cpu_ms "$1" "$(kv "$r" cpu_ms_per_msg)"
	record imap_sync_client_cpu_ms "$1" "$(kv "$r" client_cpu_ms_per_msg)"
	record imap_resync_msgs_s "$1" "$(kv "$r" warm_msgs_s)"
	record imap_resync_ms "$1" "$(kv "$r" warm_sync_ms)"
	record imap_resync_cpu_ms "$1" "$(kv "$r" warm_cpu_ms_per_msg)"
	say "imap sync $1: $r"
}

# imap_bodies SIDE: FETCH n BODY.PEEK[] of the POP3 mailboxes, 10 clients
imap_bodies() {
	imap_side "$1"
	fill_spools
	imap_clear
	settle
	r=$(python3 "$HERE/imapload.py" bodies "$port" --accounts=$NACC --expect=500 \
		--root="$root" --max-s=300) || die "IMAP bodies against $1 failed"
	record imap_bodies_msgs_s "$1" "$(kv "$r" msgs_s)"
	record imap_bodies_mb_s "$1" "$(kv "$r" mb_s)"
	record imap_bodies_cpu_ms "$1" "$(kv "$r" cpu_ms_per_msg)"
	record imap_bodies_client_cpu_ms "$1" "$(kv "$r" client_cpu_ms_per_msg)"
	say "imap bodies $1: $r"
}

# imap_flags SIDE: UID STORE 1:* +FLAGS.SILENT (\Seen) on 10,000 messages,
# then 1000 single-message STOREs
imap_flags() {
	imap_side "$1"
	imap_inbox bench01 "$B/tmpl_imap/bench01"
	settle
	r=$(python3 "$HERE/imapload.py" flags "$port" --user=bench01 --expect=10000 \
		--singles=1000 --root="$root" --max-s=300) || die "IMAP flags against $1 failed"
	record imap_store_all_ms "$1" "$(kv "$r" store_all_ms)"
	record imap_store_all_msgs_s "$1" "$(kv "$r" store_all_msgs_s)"
	record imap_store_p50_ms "$1" "$(kv "$r" store_p50_ms)"
	record imap_store_p95_ms "$1" "$(kv "$r" store_p95_ms)"
	record imap_stores_s "$1" "$(kv "$r" stores_s)"
	record imap_store_cpu_ms "$1" "$(kv "$r" cpu_ms_per_store)"
	record imap_store_client_cpu_ms "$1" "$(kv "$r" client_cpu_ms_per_store)"
	say "imap flags $1: $r"
}

# imap_append SIDE: 2000 x 4 KiB APPENDs to INBOX, 8 clients (bench01..08)
imap_append() {
	imap_side "$1"
	empty_spools
	imap_clear
	settle
	i=1 boxes=
	while [ $i -le 8 ]; do boxes="$boxes --mbox=$spool/$(printf bench%02d $i)"; i=$((i + 1)); done
	r=$(python3 "$HERE/imapload.py" append "$port" --clients=8 --count=2000 --size=4096 \
		$boxes --root="$root" --max-s=300) || die "IMAP APPEND against $1 failed"
	record imap_append_msgs_s "$1" "$(kv "$r" msgs_s)"
	record imap_append_cpu_ms "$1" "$(kv "$r" cpu_ms_per_msg)"
	record imap_append_client_cpu_ms "$1" "$(kv "$r" client_cpu_ms_per_msg)"
	say "imap append $1: $r"
}

# imap_delete SIDE: one delete then 100 in a row from the middle of a
# 100 MB INBOX (STORE \Deleted + EXPUNGE), then the same with UID MOVE to
# Trash on a fresh copy; only in the first IMAP_DELETE_ROUNDS rounds
imap_delete() {
	[ "$round" -le "$IMAP_DELETE_ROUNDS" ] || return 0
	imap_side "$1"
	for how in expunge move; do
		imap_inbox bench01 "$B/tmpl_imap100/bench01"
		settle
		mv=
		[ $how = move ] && mv=--move
		r=$(python3 "$HERE/imapload.py" delete "$port" --user=bench01 --expect=10000 \
			--n=100 $mv --root="$root" --max-s=500) || die "IMAP delete ($how) against $1 failed"
		record "imap_${how}_one_ms" "$1" "$(kv "$r" one_ms)"
		record "imap_${how}100_p50_ms" "$1" "$(kv "$r" p50_ms)"
		record "imap_${how}100_p95_ms" "$1" "$(kv "$r" p95_ms)"
		record "imap_${how}100_total_s" "$1" "$(kv "$r" total_s)"
		record "imap_${how}_cpu_ms" "$1" "$(kv "$r" cpu_ms_per_delete)"
		say "imap delete ($how) $1: $r"
	done
}
# ---- end of IMAP (issue 15, first half) -------------------------------------

# login SIDE: 200 sequential logins (USER/PASS) on the emptied mailboxes
login() {
	side=$1
	if [ "$side" = postern ]; then port=$PT_POP3 root=$(pt_root)
	else port=$DC_POP3 root=$(dc_root); fi
	empty_spools
	settle
	r=$(python3 "$HERE/pop3load.py" login "$port" $NACC 200 --root="$root") || die "logins against $side failed"
	record login_p50_ms "$side" "$(kv "$r" p50_ms)"
	record login_p99_ms "$side" "$(kv "$r" p99_ms)"
	record login_cpu_ms "$side" "$(kv "$r" cpu_ms_per_login)"
	say "login $side: $r"
}

# login_flood: SMTP delivery latency alone, then while 500 client addresses
# of 127.0.0.0/8 fail POP3 logins as fast as postern answers them (the
# per-address limits are off in this config).  postern only:
# the row measures postern against itself.  Every round floods from
# addresses postern has not seen yet (127.ROUND.x.y).
login_flood() {
	empty_spools
	settle
	r=$(python3 "$HERE/loginflood.py" --smtp "$PT_SMTP" --pop3 "$PT_POP3" --domain "$DOMAIN" \
		--accounts $NACC --addrs 500 --base "$round" --rate 50 --secs 20 \
		--max-s 120 --flood-sched "${BENCH_FLOOD_SCHED:-idle}" \
		${BENCH_FLOOD_TRACE:+--trace "$BENCH_FLOOD_TRACE"}) ||
		die "login flood against postern failed"
	record flood_alone_delivery_p50_ms postern "$(kv "$r" alone_p50_ms)"
	record flood_alone_delivery_p99_ms postern "$(kv "$r" alone_p99_ms)"
	record flood_delivery_p50_ms postern "$(kv "$r" flood_p50_ms)"
	record flood_delivery_p99_ms postern "$(kv "$r" flood_p99_ms)"
	record flood_delivery_max_ms postern "$(kv "$r" flood_max_ms)"
	record flood_failed_logins_s postern "$(kv "$r" flood_fail_s)"
	say "login flood postern: $r"
}

# ==== IMAP idle, scale and mixed (issue 15, second half) =====================
# imap_idle, imap_scale, imap_mixed: bench/imapidle.py, bench/imapscale.py,
# bench/imapmixed.py.  Own functions, own state; see BENCH.md "IMAP".

# imap_rounds_ok WORKLOAD: imap_idle and imap_scale run in the first 3
# rounds, imap_mixed in the first only (BENCH_IMAP_ROUNDS=N: the first N
# for all three), to keep the default make bench near 20 minutes
imap_rounds_ok() {
	cap=${BENCH_IMAP_ROUNDS:-3}
	[ "$1" != imap_mixed ] || cap=${BENCH_IMAP_ROUNDS:-1}
	[ "$round" -le "$cap" ]
}

# imap_state_reset: both sides' IMAP state gone besides the INBOX files
# (postern: its folder area .folders/ACCOUNT; Dovecot: ~/mail with the
# index files and the other folders)
imap_state_reset() {
	i=1
	while [ $i -le $NACC ]; do
		u=$(printf bench%02d $i)
		rm -rf "$PT_SPOOL/.folders/$u" "$PT_SPOOL/.$u.idx"
		rm -rf "$B/dovecot/home/$u/mail"
		install -d -m 700 -o "$u" -g "$(id -g "$u")" "$B/dovecot/home/$u/mail"
		i=$((i + 1))
	done
}

# postern_restart, dovecot_restart [EXTRA]: stop the server and start it
# again (postern on fresh ports, Dovecot on its own with EXTRA config lines
# after its bench config): no process of it, and so no cache of it, is left
postern_restart() {
	kill -TERM "$PT_PID" 2>/dev/null || true
	n=0
	while kill -0 "$PT_PID" 2>/dev/null && [ $n -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
	kill -KILL "$PT_PID" 2>/dev/null || true
	wait "$PT_PID" 2>/dev/null || true
	PT_PID=
	start_postern
}
dovecot_restart() {
	dpid=$(dc_root)
	doveadm -c "$DC_CONF" stop >/dev/null 2>&1 || kill "$dpid" 2>/dev/null || true
	n=0
	while [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null && [ $n -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
	dovecot_conf
	[ -z "${1:-}" ] || printf '%s\n' "$1" >>"$DC_CONF"
	dovecot -c "$DC_CONF" 2>>"$B/dovecot/start.log" || die "dovecot did not restart"
	{ greets "$DC_POP3" "+OK Dovecot" && greets "$DC_IMAP" "* OK"; } ||
		die "dovecot did not come back on ports $DC_POP3/$DC_IMAP"
}

# the only Dovecot setting imap_idle changes: every imap process keeps a
# connection to the stats (and log) service, whose client_limit is
# default_client_limit = 1000; at 1000 sessions Dovecot logs "service(stats):
# client_limit (1000) reached" and new sessions wait 5 s each on it.
# service imap's process_limit (1024) and imap-login's are enough.
DC_IDLE_LIMITS='# bench/run.sh, imap_idle only: 1000 imap processes
default_client_limit = 2000'

# imap_idle SIDE: 1000 sessions idling over the 10 (empty) INBOXes; PSS per
# session and delivery 250 -> EXISTS latency (postern: its SMTP; the peer:
# Postfix SMTP -> local(8) -> Dovecot notices)
imap_idle() {
	side=$1
	if [ "$side" = postern ]; then imap=$PT_IMAP smtp=$PT_SMTP root=$(pt_root) spool=$PT_SPOOL
	else imap=$DC_IMAP smtp=$PF_SMTP root=$(dc_root) spool=$PF_SPOOL; fi
	[ "$side" = postern ] || { dovecot_restart "$DC_IDLE_LIMITS"; imap=$DC_IMAP root=$(dc_root); }
	empty_spools
	imap_state_reset
	settle
	r=$(python3 "$HERE/imapidle.py" --imap "$imap" --smtp "$smtp" --domain "$DOMAIN" \
		--accounts $NACC --sessions "${IMAP_IDLE_SESSIONS:-1000}" --deliveries 20 \
		--spool "$spool" --root "$root" --max-s 400) || die "IMAP IDLE against $side failed"
	[ "$side" = postern ] || dovecot_restart
	record imap_idle_pss_per_session_kib "$side" "$(kv "$r" pss_per_session_kib)"
	record imap_idle_pss_total_mib "$side" "$(mib "$(kv "$r" pss_idling_kib)")"
	record imap_idle_procs "$side" "$(kv "$r" procs_idling)"
	record imap_idle_exists_p50_ms "$side" "$(kv "$r" exists_p50_ms)"
	record imap_idle_exists_p99_ms "$side" "$(kv "$r" exists_p99_ms)"
	record imap_idle_exists_max_ms "$side" "$(kv "$r" exists_max_ms)"
	record imap_idle_in_mbox_p50_ms "$side" "$(kv "$r" mbox_p50_ms)"
	record imap_idle_setup_s "$side" "$(kv "$r" setup_s)"
	record imap_idle_cpu_ms_session_min "$side" "$(kv "$r" server_cpu_ms_per_session_min)"
	record imap_idle_client_cpu_ms "$side" "$(kv "$r" client_cpu_ms_per_session)"
	say "imap_idle $side: $r"
}
# imap_scale: one INBOX (bench01) of 10,000 (~100 MB) and of 100,000 (~1 GB)
# messages, written once per run into $B/big, copied for each measurement
IMAP_BIG=$B/big
imap_cold() {   # imap_cold SIDE: restart the server, its files out of the page cache
	if [ "$1" = postern ]; then
		postern_restart
		python3 "$HERE/imapscale.py" evict "$PT_SPOOL" >/dev/null || die "evict failed"
	else
		dovecot_restart
		python3 "$HERE/imapscale.py" evict "$PF_SPOOL/bench01" "$B/dovecot/home/bench01" \
			>/dev/null || die "evict failed"
	fi
}
imap_scale_one() {   # imap_scale_one SIDE 10k|100k MESSAGES
	side=$1 size=$2 nmsg=$3 su=bench01
	empty_spools
	imap_state_reset
	if [ "$side" = postern ]; then
		install -m 600 -o "$PT_OWNER" -g "$(id -g "$PT_OWNER")" "$IMAP_BIG/m$size" "$PT_SPOOL/$su"
	else
		install -m 600 -o "$su" -g "$(id -g "$su")" "$IMAP_BIG/m$size" "$PF_SPOOL/$su"
	fi
	# the first SELECT ever (postern gives the messages UIDs: rewrites the file)
	imap_cold "$side"
	if [ "$side" = postern ]; then imap=$PT_IMAP root=$(pt_root); else imap=$DC_IMAP root=$(dc_root); fi
	r=$(python3 "$HERE/imapscale.py" select "$imap" $su "$nmsg" --root "$root" --max-s 600) ||
		die "imap_scale $size first SELECT against $side failed"
	record "imap_scale_${size}_first_select_ms" "$side" "$(kv "$r" select_ms)"
	say "imap_scale $size $side, first SELECT: $r"
	# cold (a restart, no page cache) and warm, with UIDs in place
	imap_cold "$side"
	if [ "$side" = postern ]; then
		imap=$PT_IMAP pop=$PT_POP3 smtp=$PT_SMTP root=$(pt_root) mbox=$PT_SPOOL/$su
	else
		imap=$DC_IMAP pop=$DC_POP3 smtp=$PF_SMTP root=$(dc_root) mbox=$PF_SPOOL/$su
	fi
	r=$(python3 "$HERE/imapscale.py" select "$imap" $su "$nmsg" --root "$root" --max-s 600) ||
		die "imap_scale $size cold SELECT against $side failed"
	record "imap_scale_${size}_cold_select_ms" "$side" "$(kv "$r" select_ms)"
	record "imap_scale_${size}_warm_select_ms" "$side" "$(kv "$r" select2_ms)"
	say "imap_scale $size $side, cold and warm SELECT: $r"
	r=$(python3 "$HERE/imapscale.py" pop3 "$pop" $su "$nmsg" --max-s 600) ||
		die "imap_scale $size POP3 against $side failed"
	record "imap_scale_${size}_pop3_list_ms" "$side" "$(kv "$r" total_ms)"
	say "imap_scale $size $side, POP3 login + LIST: $r"
	r=$(python3 "$HERE/imapscale.py" deliver "$smtp" $su "$DOMAIN" "$mbox" --max-s 60) ||
		die "imap_scale $size delivery against $side failed"
	record "imap_scale_${size}_delivery_ms" "$side" "$(kv "$r" smtp_250_ms)"
	record "imap_scale_${size}_in_mbox_ms" "$side" "$(kv "$r" in_mbox_ms)"
	say "imap_scale $size $side, one delivery: $r"
}
# the only Postfix setting imap_scale changes: local(8) refuses to append
# to a mailbox over mailbox_size_limit (default 51200000 bytes: "File too
# large", the delivery bounced), so for the peer's turn it is 0 (no limit)
pf_mailbox_limit() {   # pf_mailbox_limit 0|default
	if [ "$1" = default ]; then postconf -c "$PF_DIR/etc" -X mailbox_size_limit
	else postconf -c "$PF_DIR/etc" -e "mailbox_size_limit = $1"; fi
	postfix -c "$PF_DIR/etc" reload >/dev/null 2>&1 || die "postfix reload failed"
	sleep 1
}
imap_scale() {
	if [ ! -f "$IMAP_BIG/m100k" ]; then
		say "imap_scale: writing the 10,000 and 100,000-message INBOXes (once per run)"
		python3 "$HERE/imapscale.py" mkbig "$IMAP_BIG" "$DOMAIN" bench01 ||
			die "imap_scale: writing the mailboxes failed"
	fi
	[ "$1" = postern ] || pf_mailbox_limit 0
	imap_scale_one "$1" 10k 10000
	imap_scale_one "$1" 100k 100000
	[ "$1" = postern ] || pf_mailbox_limit default
	empty_spools
	imap_state_reset
}
# imap_mixed SIDE: 60 s of SMTP deliveries (20/s), POP3 (RETR + DELE) and
# IMAP sessions together, on the POP3 workload's mailboxes; every operation
# checked, an error fails the run
imap_mixed() {
	side=$1
	if [ "$side" = postern ]; then smtp=$PT_SMTP pop=$PT_POP3 imap=$PT_IMAP root=$(pt_root)
	else smtp=$PF_SMTP pop=$DC_POP3 imap=$DC_IMAP root=$(dc_root); fi
	fill_spools
	imap_state_reset
	settle
	if [ "$side" = postern ]; then
		r=$(python3 "$HERE/imapmixed.py" --smtp "$smtp" --pop3 "$pop" --imap "$imap" \
			--domain "$DOMAIN" --accounts $NACC --secs 60 --rate 20 --root "$root") ||
			die "imap_mixed against $side failed: $r"
	else
		# the peer's server CPU: Postfix and Dovecot.  Its errors are
		# recorded (imap_mixed_errors) and do not stop the bench: they are
		# the peer's, not the harness's (BENCH.md "imap_mixed")
		r=$(python3 "$HERE/imapmixed.py" --smtp "$smtp" --pop3 "$pop" --imap "$imap" \
			--domain "$DOMAIN" --accounts $NACC --secs 60 --rate 20 --root "$root" \
			--root "$(pf_root)") || say "warning: imap_mixed against $side had errors"
		[ -n "$(kv "$r" errors)" ] || die "imap_mixed against $side gave no counts"
		say "imap_mixed $side: $(grep -c 'status=deferred' "$PF_DIR/maillog" 2>/dev/null) deferred deliveries in Postfix's log so far"
	fi
	record imap_mixed_smtp_s "$side" "$(kv "$r" smtp_s)"
	record imap_mixed_smtp_p50_ms "$side" "$(kv "$r" smtp_p50_ms)"
	record imap_mixed_smtp_p99_ms "$side" "$(kv "$r" smtp_p99_ms)"
	record imap_mixed_pop3_msgs_s "$side" "$(kv "$r" pop3_msgs_s)"
	record imap_mixed_pop3_session_p50_ms "$side" "$(kv "$r" pop3_session_p50_ms)"
	record imap_mixed_pop3_session_p99_ms "$side" "$(kv "$r" pop3_session_p99_ms)"
	record imap_mixed_imap_ops_s "$side" "$(kv "$r" imap_ops_s)"
	record imap_mixed_imap_op_p50_ms "$side" "$(kv "$r" imap_op_p50_ms)"
	record imap_mixed_imap_op_p99_ms "$side" "$(kv "$r" imap_op_p99_ms)"
	record imap_mixed_errors "$side" "$(kv "$r" errors)"
	record imap_mixed_imap_warnings "$side" "$(kv "$r" imap_warnings)"
	record imap_mixed_cpu_ms_s "$side" "$(kv "$r" server_cpu_ms_per_s)"
	record imap_mixed_client_cpu_ms_s "$side" "$(kv "$r" client_cpu_ms_per_s)"
	say "imap_mixed $side: $r"
}
# ==== end of IMAP idle, scale and mixed ======================================

# ---- the machine's own limits ----------------------------------------------

say "machine limits"
for n in 1 2 3; do
	record fsync_per_s machine "$(python3 "$HERE/fsyncrate.py" "$B" 2)"
	w=$(dd if=/dev/zero of="$B/ddprobe" bs=1M count=256 conv=fsync 2>&1 |
		sed -n 's/.* s, \([0-9.]*\) MB\/s.*/\1/p; s/.* s, \([0-9.]*\) GB\/s.*/\1 GB/p')
	rm -f "$B/ddprobe"
	case $w in *GB) w=$(awk -v g="${w% GB}" 'BEGIN { print g * 1000 }') ;; esac
	record seq_write_mb_s machine "$w"
done
SINK_PORT=$(free_ports 1)
smtp-sink -u postfix "127.0.0.1:$SINK_PORT" 256 >"$B/smtp-sink.log" 2>&1 &
SINK_PID=$!
greets "$SINK_PORT" "220 " || { cat "$B/smtp-sink.log" >&2; die "smtp-sink did not come up on $SINK_PORT"; }
for n in 1 2 3; do
	r=$(python3 "$HERE/smtprun.py" --port "$SINK_PORT" --domain "$DOMAIN" --count 2000 \
		--size 4096 --sessions 8 --chunk 25 --timeout 120) || die "smtp-sink run failed"
	record sink_small_msgs_s machine "$(kv "$r" msgs_s)"
	record sink_small_client_cpu_ms machine "$(kv "$r" client_cpu_ms_per_msg)"
	r=$(python3 "$HERE/smtprun.py" --port "$SINK_PORT" --domain "$DOMAIN" --count 200 \
		--size 1048576 --sessions 8 --chunk 5 --timeout 120) || die "smtp-sink run failed"
	record sink_large_mb_s machine "$(kv "$r" mb_s)"
done
kill "$SINK_PID" 2>/dev/null || true
wait "$SINK_PID" 2>/dev/null || true
SINK_PID=

# ---- idle memory: every process of each server, before any load -----------

# idle_sample NAME ROOT: 3 samples, a second apart, of the processes under
# ROOT (a postern) and of Postfix + Dovecot: rss_NAME_mib, pss_NAME_mib,
# procs_NAME.  Leaves the last sample in $a (postern) and $b (peers).
idle_sample() {
	for n in 1 2 3; do
		a=$(python3 "$HERE/rss.py" "$2")
		b=$(python3 "$HERE/rss.py" "$(pf_root)" "$(dc_root)")
		record "rss_$1_mib" postern "$(mib "$(kv "$a" rss_kib)")"
		record "rss_$1_mib" peer "$(mib "$(kv "$b" rss_kib)")"
		record "pss_$1_mib" postern "$(mib "$(kv "$a" pss_kib)")"
		record "pss_$1_mib" peer "$(mib "$(kv "$b" pss_kib)")"
		record "procs_$1" postern "$(kv "$a" procs)"
		record "procs_$1" peer "$(kv "$b" procs)"
		sleep 1
	done
}

sleep 3
idle_sample idle "$(pt_root)"
say "idle: postern $a; postfix+dovecot $b"

# the same with 8 + 10 spare workers (a worker waiting for every parallel
# session of the workloads), for context: each idle worker is one more
# process of libc + libcrypto
set -- $(free_ports 2)
mkdir -m 755 "$B/postern-spare" "$B/postern-spare/empty"
grep -v -e '^smtp-' -e '^pop3-' -e '^listen ' -e '^empty-dir ' -e '^pidfile ' -e '^spool ' \
	-e '^control-socket ' "$B/postern/postern.conf" >"$B/postern-spare/postern.conf"
printf 'listen smtp 127.0.0.1:%s\nlisten pop3 127.0.0.1:%s\nempty-dir %s\npidfile %s\nspool %s\ncontrol-socket %s\n%s\n' \
	"$1" "$2" "$B/postern-spare/empty" "$B/postern-spare/pid" "$B/postern-spare/spool" \
	"$B/postern-spare/control.sock" "$SPARE_POOLS" >>"$B/postern-spare/postern.conf"
"$POSTERND" -d -f "$B/postern-spare/postern.conf" >>"$B/postern-spare/log" 2>&1 &
PT2_PID=$!
if greets "$1" "220 " && greets "$2" "+OK"; then
	sleep 3
	idle_sample idle_spare_pools "$PT2_PID"
	say "idle, 8 + 10 spare workers: postern $a"
else
	say "warning: postern with spare pools did not come up; see $B/postern-spare/log"
fi
kill -TERM "$PT2_PID" 2>/dev/null || true
n=0
while kill -0 "$PT2_PID" 2>/dev/null && [ $n -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
kill -KILL "$PT2_PID" 2>/dev/null || true
wait "$PT2_PID" 2>/dev/null || true
PT2_PID=
set --

# ---- the rounds: postern and the peer alternately -------------------------

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

python3 "$HERE/mkmbox.py" "$B/tmpl" $NACC 500 4096 "$DOMAIN"
case " $WORKLOADS " in *" imap_sync "* | *" imap_flags "* | *" imap_delete "*) imap_templates ;; esac
round=1
while [ $round -le "$ROUNDS" ]; do
	say "round $round of $ROUNDS"
	for w in $WORKLOADS; do
		for s in postern peer; do
			case $w in
			smtp_small) smtp $s small ;;
			smtp_large) smtp $s large ;;
			pop3_retr) pop3 $s retr ;;
			pop3_dele) pop3 $s dele ;;
			login) login $s ;;
			login_flood) if [ "$s" = postern ]; then login_flood; fi ;;
			imap_login) imap_login $s ;;
			imap_sync) imap_sync $s ;;
			imap_bodies) imap_bodies $s ;;
			imap_flags) imap_flags $s ;;
			imap_append) imap_append $s ;;
			imap_delete) imap_delete $s ;;
			imap_idle|imap_scale|imap_mixed)   # IMAP idle/scale/mixed
				if imap_rounds_ok $w; then $w $s; fi ;;
			*) die "BENCH_WORKLOADS: unknown workload $w" ;;
			esac
		done
	done
	round=$((round + 1))
done
empty_spools

{
	echo "postern bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $ROUNDS rounds"
	echo "command: make bench  (sh bench/run.sh $POSTERND)"
	echo "postern: $(cd "$HERE/.." && git rev-parse --short HEAD 2>/dev/null || echo '?')" \
		"(plus uncommitted changes: $(cd "$HERE/.." && git status --short -uno 2>/dev/null | wc -l) files)"
	echo "peers: Postfix $(postconf -d -h mail_version 2>/dev/null), Dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1)"
	echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1))," \
		"$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
		"kernel $(uname -r), temp dir on $(df -PT "$B" | awk 'NR == 2 { print $2 }')" \
		"($(df -P "$B" | awk 'NR == 2 { print $1 }'))"
	echo "load average (1/5/15 min) before the rounds: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	python3 "$HERE/report.py" "$RES"
} | tee "$OUT"
say "table saved in $OUT"
