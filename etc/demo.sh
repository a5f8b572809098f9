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
SMTPS=${DEMO_SMTPS_PORT:-4465}
POP3S=${DEMO_POP3S_PORT:-9995}
IMAP=${DEMO_IMAP_PORT:-1143}
IMAPS=${DEMO_IMAPS_PORT:-9993}

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
# a self-signed demo certificate (EC P-256), made once; the key is read
# only by the master, which hands it to the keyholder
if [ ! -f "$D/cert.pem" ] || [ ! -f "$D/key.pem" ]; then
	echo "making a self-signed demo certificate for localhost in $D/cert.pem"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/key.pem" -out "$D/cert.pem" -days 365 \
		-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		2>/dev/null
	chmod 600 "$D/key.pem"
fi
if [ "$(id -u)" -eq 0 ]; then
	for u in _postern _postern-store _postern-key _postern-auth; do
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
listen smtps 127.0.0.1:$SMTPS
listen pop3s 127.0.0.1:$POP3S
listen imap 127.0.0.1:$IMAP
listen imaps 127.0.0.1:$IMAPS
tls-cert $D/cert.pem
tls-key $D/key.pem
spool $D/spool
accounts $D/accounts
aliases $D/aliases
empty-dir $D/empty
pidfile $D/postern.pid
control-socket $D/control.sock
smtp-min-spare 2
pop3-min-spare 2
imap-min-spare 2
EOC
"$BIN" -n -f "$D/postern.conf"
cat <<EOM

postern demo: accounts alice (password alicepw) and bob (bobpw), domain example.org
  send:   swaks --server 127.0.0.1:$SMTP --to alice@example.org
  fetch:  curl -s pop3://alice:alicepw@127.0.0.1:$POP3/1
  by hand: nc -C 127.0.0.1 $SMTP     nc -C 127.0.0.1 $POP3
  TLS (self-signed demo certificate $D/cert.pem):
    openssl s_client -connect 127.0.0.1:$SMTP -starttls smtp -crlf -CAfile $D/cert.pem
    openssl s_client -connect 127.0.0.1:$POP3 -starttls pop3 -crlf -CAfile $D/cert.pem
    openssl s_client -connect 127.0.0.1:$SMTPS -crlf -CAfile $D/cert.pem     (smtps)
    openssl s_client -connect 127.0.0.1:$POP3S -crlf -CAfile $D/cert.pem     (pop3s)
    swaks --server 127.0.0.1:$SMTP --tls --to alice@example.org
    curl -s --ssl-reqd --cacert $D/cert.pem pop3://alice:alicepw@localhost:$POP3/1
  IMAP (STARTTLS on $IMAP, implicit TLS on $IMAPS):
    curl -s imap://alice:alicepw@127.0.0.1:$IMAP/INBOX\;UID=1
    curl -s --cacert $D/cert.pem imaps://alice:alicepw@localhost:$IMAPS/
    openssl s_client -connect 127.0.0.1:$IMAP -starttls imap -crlf -CAfile $D/cert.pem
    neomutt -f imaps://alice@localhost:$IMAPS/INBOX      (set ssl_ca_certificates_file=$D/cert.pem)
    mbsync: IMAPAccount demo / Host localhost / Port $IMAPS / User alice / Pass alicepw /
            SSLType IMAPS / CertificateFile $D/cert.pem  (then an IMAPStore and a Channel)
  state:  $(dirname "$BIN")/posternctl -f $D/postern.conf status   (also: who, stats, mailbox alice)
  mailboxes: $D/spool/        stop: Ctrl-C

EOM
exec "$BIN" -d -f "$D/postern.conf"
