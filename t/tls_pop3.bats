#!/usr/bin/env bats
# POP3 over TLS: STLS (RFC 2595) and implicit TLS (pop3s, RFC 8314).

load lib/helpers
load lib/tls

setup() { tls_setup; }
teardown() { postern_teardown; }

deliver() {
	swaks --server "127.0.0.1:$SMTP_PORT" --to "$1" --from sender@example.net \
		--header "Subject: $2" --body "$2" >/dev/null
}

@test "openssl s_client -starttls pop3 and on the pop3s port" {
	postern_start
	run bash -c "printf 'CAPA\nQUIT\n' | timeout 10 openssl s_client -connect 127.0.0.1:$POP3_PORT \
		-starttls pop3 -crlf -ign_eof -CAfile '$PT_CERT' 2>&1"
	echo "$output"
	[[ "$output" == *"Verify return code: 0 (ok)"* ]]
	[[ "$output" =~ New,\ TLSv1\.[23] ]]
	[[ "$output" == *"+OK capability list follows"* ]]
	# after STLS the capability list no longer offers it
	! grep -qx $'STLS\r\\?' <<<"$output"
	run bash -c "printf 'QUIT\n' | timeout 10 openssl s_client -connect 127.0.0.1:$POP3S_PORT \
		-crlf -ign_eof -CAfile '$PT_CERT' 2>&1"
	echo "$output"
	[[ "$output" == *"Verify return code: 0 (ok)"* ]]
	[[ "$output" == *"+OK postern"* ]]
}

@test "python poplib stls: CAPA before and after, login, retrieve" {
	postern_start
	deliver alice@example.org "over-stls"
	wait_for mbox_count_is alice 1
	run python3 - "$POP3_PORT" <<'PY'
import poplib, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
caps = p.capa()
assert "STLS" in caps, caps
p.stls(context=ctx)
caps = p.capa()
assert "STLS" not in caps, caps
try:
    p._shortcmd("STLS")
    print("second STLS accepted")
    sys.exit(1)
except poplib.error_proto as e:
    print("second STLS:", e)
p.user("alice")
p.pass_("alicepw")
n, size = p.stat()
assert n == 1, n
body = b"\n".join(p.retr(1)[1])
assert b"over-stls" in body, body
p.quit()
print("done")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *done* ]]
}

@test "plaintext-auth tls: USER refused before STLS, allowed after" {
	postern_conf_set plaintext-auth tls
	postern_start
	run python3 - "$POP3_PORT" <<'PY'
import poplib, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
assert "USER" not in p.capa()
try:
    p.user("alice")
    print("USER accepted without TLS")
    sys.exit(1)
except poplib.error_proto as e:
    print("before STLS:", e)
p.stls(context=ctx)
caps = p.capa()
assert "USER" in caps and "SASL" in caps, caps
p.user("alice")
p.pass_("alicepw")
p.quit()
print("done")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *done* ]]
}

@test "curl --ssl-reqd (STLS) and pop3s round trips" {
	postern_start
	deliver bob@example.org "first-for-bob"
	wait_for mbox_count_is bob 1
	run curl -s --max-time 10 --ssl-reqd -k "pop3://bob:bobpw@127.0.0.1:$POP3_PORT/1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"first-for-bob"* ]]
	run curl -s --max-time 10 -k "pop3s://bob:bobpw@127.0.0.1:$POP3S_PORT/1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"first-for-bob"* ]]
}

@test "STLS injection: a USER in the same packet gets no answer" {
	postern_start
	run python3 "$MAILCLIENT" tls-inject pop3 "$POP3_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "bytes sent after STLS discarded" "$PT_LOG"
}

@test "a 3 MB message over STARTTLS comes back byte for byte over STLS and pop3s" {
	postern_start
	run python3 - "$SMTP_PORT" "$POP3_PORT" "$POP3S_PORT" <<'PY'
import hashlib, os, poplib, smtplib, ssl, sys, base64
smtp, pop3, pop3s = (int(a) for a in sys.argv[1:4])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
body = base64.encodebytes(os.urandom(3 * 1024 * 1024 // 4 * 3))   # CRLF-free lines
msg = b"Subject: big\r\n\r\n" + body.replace(b"\n", b"\r\n")
s = smtplib.SMTP("127.0.0.1", smtp, timeout=30)
s.starttls(context=ctx)
s.ehlo("x")
s.sendmail("a@example.net", ["alice@example.org"], msg)
s.quit()
want = hashlib.sha256(body).hexdigest()
for p in (lambda: poplib.POP3("127.0.0.1", pop3, timeout=30),
          lambda: poplib.POP3_SSL("127.0.0.1", pop3s, timeout=30, context=ctx)):
    c = p()
    if not isinstance(c, poplib.POP3_SSL):
        c.stls(context=ctx)
    c.user("alice"); c.pass_("alicepw")
    lines = c.retr(1)[1]
    got = b"\n".join(lines[lines.index(b"") + 1:]) + b"\n"
    c.quit()
    assert hashlib.sha256(got).hexdigest() == want, "body differs"
print("3 MB round trips intact")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"round trips intact"* ]]
}
