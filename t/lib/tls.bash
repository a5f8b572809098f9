# TLS helpers for t/tls_*.bats (load after helpers).  Every wait is bounded.

# tls_make_cert DIR NAME [rsa|ec]: DIR/NAME.crt + DIR/NAME.key, self-signed
# for mail.example.org, key readable by the owner only.
tls_make_cert() {
	local dir=$1 name=$2 type=${3:-rsa} opt
	if [ "$type" = ec ]; then
		opt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
	else
		opt=(-newkey rsa:2048)
	fi
	openssl req -x509 "${opt[@]}" -nodes -keyout "$dir/$name.key" \
		-out "$dir/$name.crt" -days 2 -subj "/CN=mail.example.org" \
		-addext "subjectAltName=DNS:mail.example.org" 2>/dev/null
	chmod 600 "$dir/$name.key"
}

# tls_setup [rsa|ec]: postern_setup plus a certificate, tls-cert/tls-key and
# the implicit-TLS listeners smtps $SMTPS_PORT and pop3s $POP3S_PORT.
tls_setup() {
	postern_setup
	tls_make_cert "$PT_DIR" server "${1:-rsa}"
	PT_CERT=$PT_DIR/server.crt
	PT_KEY=$PT_DIR/server.key
	PT_EXTRA="tls-cert $PT_CERT
tls-key $PT_KEY
listen smtps 127.0.0.1:$SMTPS_PORT
listen pop3s 127.0.0.1:$POP3S_PORT"
	export PT_CERT PT_KEY
}

# SHA-256 fingerprint of the certificate a port presents:
#   tls_fingerprint PORT [smtp|pop3]   (second argument: STARTTLS first)
tls_fingerprint() {
	local st=()
	[ -n "${2:-}" ] && st=(-starttls "$2")
	timeout 10 openssl s_client -connect "127.0.0.1:$1" "${st[@]}" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//'
}

# Fingerprint of a certificate file.
tls_file_fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'
}

# The worker pool is still serving TLS: a full SMTPS greeting comes back.
tls_smtps_greets() {
	printf 'QUIT\r\n' | timeout 10 openssl s_client -connect "127.0.0.1:$SMTPS_PORT" \
		-quiet -ign_eof 2>/dev/null | grep -q '^220 '
}
