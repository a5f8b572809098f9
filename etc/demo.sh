#!/bin/sh
# `make run`: a demo instance under ./demo/ (git-ignored) on 127.0.0.1 high
# ports, in the foreground, logging to the terminal.  Works as root (the
# daemon then drops to the _postern users, created here if missing) and as
# a normal user (no chroot, no user switch; still sandboxed).
set -eu
BIN=${1:-build/posternd}
TOP=$(pwd)
D=$TOP/demo
SMTP=${DEMO_SMTP_PORT:-2525}
POP3=${DEMO_POP3_PORT:-1110}

mkdir -p "$D"
chmod 755 "$D"
mkdir -p "$D/empty"
chmod 755 "$D/empty"
if [ ! -f "$D/accounts" ]; then
	for u in alice bob; do
		printf '%s:%s\n' "$u" "$(openssl passwd -6 "${u}pw")"
	done >"$D/accounts"
	chmod 600 "$D/accounts"
fi
[ -f "$D/aliases" ] || printf 'team: alice, bob\n' >"$D/aliases"
if [ "$(id -u)" -eq 0 ]; then
	for u in _postern _postern-store _postern-key; do
		getent passwd "$u" >/dev/null || {
			echo "creating system user $u for the demo"
			useradd --system --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin "$u"
		}
	done
fi
cat >"$D/postern.conf" <<EOC
# demo configuration written by etc/demo.sh
hostname localhost
domain example.org
listen smtp 127.0.0.1:$SMTP
listen pop3 127.0.0.1:$POP3
spool $D/spool
accounts $D/accounts
aliases $D/aliases
empty-dir $D/empty
pidfile $D/postern.pid
smtp-min-spare 2
pop3-min-spare 2
EOC
"$BIN" -n -f "$D/postern.conf"
cat <<EOM

postern demo: accounts alice (password alicepw) and bob (bobpw), domain example.org
  send:   swaks --server 127.0.0.1:$SMTP --to alice@example.org
  fetch:  curl -s pop3://alice:alicepw@127.0.0.1:$POP3/1
  by hand: nc -C 127.0.0.1 $SMTP     nc -C 127.0.0.1 $POP3
  mailboxes: $D/spool/        stop: Ctrl-C

EOM
exec "$BIN" -d -f "$D/postern.conf"
