#!/usr/bin/env bats
# The keyholder: certificate checks (posternd -n and at start), renewal by
# SIGHUP, robustness against broken handshakes, and the private key never
# in a worker's memory.

load lib/helpers
load lib/tls

setup() { tls_setup; }
teardown() { postern_teardown; }

# Writes the TLS lines into the config without starting the daemon.
conf_commit() {
	printf '%s\n' "$PT_EXTRA" >>"$PT_CONF"
	PT_EXTRA=
}

@test "posternd -n: a good certificate and key pass" {
	conf_commit
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"configuration OK"* ]]
}

@test "posternd -n: a bad certificate is FILE:LINE" {
	echo "this is not a certificate" >"$PT_CERT"
	conf_commit
	local line
	line=$(grep -n '^tls-cert ' "$PT_CONF" | cut -d: -f1)
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$PT_CONF:$line: tls-cert $PT_CERT: no PEM certificate"* ]]
}

@test "posternd -n: a key that does not match is FILE:LINE, and the daemon does not start" {
	tls_make_cert "$PT_DIR" other rsa
	cp "$PT_DIR/other.key" "$PT_KEY"
	conf_commit
	local line
	line=$(grep -n '^tls-key ' "$PT_CONF" | cut -d: -f1)
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$PT_CONF:$line: tls-key $PT_KEY: the key does not match"* ]]
	run timeout 20 "$POSTERND" -d -f "$PT_CONF"
	echo "$output"
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	[[ "$output" == *"cannot start: $PT_CONF:$line: tls-key"*"does not match"* ]]
}

@test "posternd -n: a missing or unreadable file is FILE:LINE" {
	conf_commit
	local line
	line=$(grep -n '^tls-key ' "$PT_CONF" | cut -d: -f1)
	mv "$PT_KEY" "$PT_KEY.gone"
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$PT_CONF:$line: tls-key"* ]]
	mv "$PT_KEY.gone" "$PT_KEY"
	if is_root; then
		# root reads a mode-000 file; a key that is a symlink is refused
		# the way the master opens it (O_NOFOLLOW)
		mv "$PT_KEY" "$PT_KEY.real"
		ln -s "$PT_KEY.real" "$PT_KEY"
	else
		chmod 000 "$PT_KEY"
	fi
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$PT_CONF:$line: tls-key $PT_KEY: "* ]]
}

@test "tls-sni: the client's server name picks the certificate; posternd -n checks it" {
	tls_make_cert "$PT_DIR" net ec
	tls_make_cert "$PT_DIR" wild rsa
	PT_EXTRA="$PT_EXTRA
tls-sni mail.example.net $PT_DIR/net.crt $PT_DIR/net.key
tls-sni *.example.com $PT_DIR/wild.crt $PT_DIR/wild.key"
	postern_start
	local def net wild
	def=$(tls_file_fingerprint "$PT_CERT")
	net=$(tls_file_fingerprint "$PT_DIR/net.crt")
	wild=$(tls_file_fingerprint "$PT_DIR/wild.crt")
	sni_fp() {
		timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$2" \
			${3:+-starttls $3} </dev/null 2>/dev/null |
			openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//'
	}
	[ "$(sni_fp "$SMTPS_PORT" mail.example.net)" = "$net" ]
	[ "$(sni_fp "$POP3S_PORT" MAIL.EXAMPLE.NET)" = "$net" ]
	[ "$(sni_fp "$SMTP_PORT" mx.example.com smtp)" = "$wild" ]
	[ "$(sni_fp "$POP3_PORT" pop.example.com pop3)" = "$wild" ]
	[ "$(sni_fp "$SMTPS_PORT" mail.example.org)" = "$def" ]
	[ "$(sni_fp "$SMTPS_PORT" a.b.example.com)" = "$def" ]
	[ "$(tls_fingerprint "$SMTPS_PORT")" = "$def" ]
	grep -q "keyholder: 3 certificates loaded" "$PT_LOG"
	# a tls-sni key that does not belong to its certificate: FILE:LINE
	postern_stop
	cp "$PT_DIR/wild.key" "$PT_DIR/net.key"
	local line
	line=$(grep -n '^tls-sni mail.example.net ' "$PT_CONF" | cut -d: -f1)
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$PT_CONF:$line: tls-sni mail.example.net $PT_DIR/net.key: the key does not match"* ]]
}

@test "a renewed certificate and SIGHUP: new sessions see it, an open session stays up" {
	postern_start
	local old new
	old=$(tls_file_fingerprint "$PT_CERT")
	[ "$(tls_fingerprint "$SMTPS_PORT")" = "$old" ]
	[ "$(tls_fingerprint "$SMTP_PORT" smtp)" = "$old" ]
	tls_make_cert "$PT_DIR" renewed ec
	new=$(tls_file_fingerprint "$PT_DIR/renewed.crt")
	run python3 - "$SMTPS_PORT" "$PT_PID" "$PT_DIR" "$new" <<'PY'
import hashlib, os, signal, smtplib, ssl, sys, time
port, master, d, want = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
old = smtplib.SMTP_SSL("127.0.0.1", port, timeout=10, context=ctx)
old.ehlo("client.example")
os.replace(d + "/renewed.key", d + "/server.key")
os.replace(d + "/renewed.crt", d + "/server.crt")
os.kill(master, signal.SIGHUP)
def fp():
    s = smtplib.SMTP_SSL("127.0.0.1", port, timeout=10, context=ctx)
    der = s.sock.getpeercert(binary_form=True)
    s.quit()
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))
def fp_or_none():
    # a worker retired by the reload may drop a connection it had just
    # accepted; that is the reload's business, not this test's
    try:
        return fp()
    except (OSError, smtplib.SMTPException) as e:
        print("retrying after:", repr(e))
        return None
deadline = time.time() + 15
while fp_or_none() != want:
    assert time.time() < deadline, "the new certificate never appeared"
    time.sleep(0.2)
print("new sessions see the renewed certificate")
code, _ = old.noop()
assert code == 250, code
old.sendmail("a@example.net", ["alice@example.org"], b"Subject: s\r\n\r\nacross the reload\r\n")
code, _ = old.docmd("QUIT")
assert code == 221, code
print("the open session survived")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	wait_for mbox_count_is alice 1
	# the retired keyholder leaves once its workers are gone
	wait_for role_count_le keyholder 1
	[ "$(tls_fingerprint "$SMTP_PORT" smtp)" = "$new" ]
	grep -q "keyholder: 1 certificate loaded (EC key)" "$PT_LOG"
}

@test "a broken renewal and SIGHUP: logged, the running certificate stays in use" {
	postern_start
	local old
	old=$(tls_file_fingerprint "$PT_CERT")
	# a key that does not match the certificate
	tls_make_cert "$PT_DIR" other ec
	cp "$PT_DIR/other.key" "$PT_KEY"
	kill -HUP "$PT_PID"
	wait_for grep -q "reload: keeping the running certificates" "$PT_LOG"
	# still served, with the old certificate, by a working keyholder
	wait_for role_count_le keyholder 1
	[ "$(tls_fingerprint "$SMTPS_PORT")" = "$old" ]
	[ "$(tls_fingerprint "$SMTP_PORT" smtp)" = "$old" ]
	kill -0 "$PT_PID"
}

@test "handshake garbage, a ClientHello then a reset, a stalled handshake: still serving" {
	postern_start
	run python3 - "$SMTPS_PORT" "$POP3S_PORT" "$SMTP_PORT" <<'PY'
import os, socket, ssl, struct, sys, time
smtps, pop3s, smtp = (int(a) for a in sys.argv[1:4])
def client_hello():
    ctx = ssl.create_default_context()
    i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(i, o, server_hostname="mail.example.org")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return o.read()
def drain(s):
    s.settimeout(10)
    try:
        while s.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
def tls_ok(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="mail.example.org") as t:
            return t.recv(100)
for port in (smtps, pop3s):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(os.urandom(3000))
    drain(s); s.close()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"\x16\x03\x01\x00\x05hello" + b"EHLO x\r\n" * 20)
    drain(s); s.close()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(client_hello())
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()                                      # RST
print("garbage sent")
# STARTTLS followed by garbage
s = socket.create_connection(("127.0.0.1", smtp), timeout=10)
f = s.makefile("rb")
f.readline()
s.sendall(b"EHLO x\r\n")
while not f.readline().startswith(b"250 "):
    pass
s.sendall(b"STARTTLS\r\n")
assert f.readline().startswith(b"220")
s.sendall(os.urandom(500))
drain(s); s.close()
# half a ClientHello, then silence: the others keep serving meanwhile
ch = client_hello()
stalled = []
for port in (smtps, pop3s):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(ch[:len(ch) // 2])
    stalled.append(s)
time.sleep(0.5)
for port in (smtps, pop3s):
    for _ in range(3):
        greet = tls_ok(port)
        assert greet.startswith(b"220") or greet.startswith(b"+OK"), greet
print("normal TLS sessions work while handshakes stall")
for s in stalled:
    s.close()
PY
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "TLS handshake with 127.0.0.1 failed" "$PT_LOG"
	! grep -E "(smtp|pop3)\[[0-9]+\] (killed by signal|exited with status)" "$PT_LOG"
	tls_smtps_greets
	[ "$(postern_pids keyholder | wc -l)" -eq 1 ]
}

@test "the private key is in no worker's memory after handshakes (root)" {
	require_root
	postern_start
	local der
	der=$PT_DIR/key.der
	openssl pkey -in "$PT_KEY" -outform DER -out "$der"
	run python3 - "$PT_PID" "$PT_KEY" "$der" "$SMTPS_PORT" "$POP3S_PORT" "$POP3_PORT" <<'PY'
import os, poplib, re, smtplib, ssl, subprocess, sys
master, keyfile, derfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
smtps, pop3s, pop3 = (int(a) for a in sys.argv[4:7])

# the secrets: the whole DER, and d, p, q big-endian and as OpenSSL keeps
# them in memory (little-endian 64-bit limbs = the bytes reversed)
text = subprocess.run(["openssl", "rsa", "-in", keyfile, "-noout", "-text"],
                      capture_output=True, text=True, check=True).stdout
def field(name):
    m = re.search(name + r":\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
    b = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1))).lstrip(b"\0")
    return b
needles = {"key DER": open(derfile, "rb").read()}
for n in ("privateExponent", "prime1", "prime2"):
    v = field(n)
    needles[n] = v
    needles[n + " (limbs)"] = v[::-1]

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
# handshakes that stay open while the workers are read
open_sessions = [smtplib.SMTP_SSL("127.0.0.1", smtps, timeout=10, context=ctx),
                 poplib.POP3_SSL("127.0.0.1", pop3s, timeout=10, context=ctx)]
p = poplib.POP3("127.0.0.1", pop3, timeout=10)
p.stls(context=ctx)
open_sessions.append(p)
s = smtplib.SMTP_SSL("127.0.0.1", smtps, timeout=10, context=ctx)
s.ehlo("x"); s.quit()

def children(role):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = open(f"/proc/{pid}/stat").read()
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == master and b"-X" in cmd and cmd[cmd.index(b"-X") + 1] == role.encode():
            out.append(int(pid))
    return out

CHUNK = 16 << 20
OVERLAP = max(len(v) for v in needles.values())
def found_in(pid):
    hits, scanned = set(), 0
    try:
        maps, mem = open(f"/proc/{pid}/maps"), open(f"/proc/{pid}/mem", "rb", 0)
    except (ProcessLookupError, FileNotFoundError):
        return None, 0       # exited meanwhile (an idle worker the pool retired)
    with maps, mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if "r" not in parts[1] or (len(parts) > 5 and parts[5] in ("[vvar]", "[vsyscall]")):
                continue
            if hi - lo > (1 << 30):
                continue      # sanitizer shadow reservations, not data
            pos, tail = lo, b""
            while pos < hi:
                try:
                    mem.seek(pos)
                    chunk = mem.read(min(CHUNK, hi - pos))
                except OSError:
                    break
                if not chunk:
                    break
                scanned += len(chunk)
                buf = tail + chunk
                for name, v in needles.items():
                    if v in buf:
                        hits.add(name)
                tail = buf[-OVERLAP:]
                pos += len(chunk)
    return hits, scanned

workers = children("smtp") + children("pop3")
read = 0
for pid in workers:
    try:
        hits, n = found_in(pid)
    except ProcessLookupError:
        hits = None
    if hits is None:
        print(f"worker {pid}: gone before it could be read")
        continue
    read += 1
    print(f"worker {pid}: {n} bytes read, found: {sorted(hits) or 'nothing'}")
    assert not hits, f"key material in worker {pid}: {hits}"
# the three workers that hold the open TLS sessions cannot have gone
assert read >= 3, (read, workers)
# the control: the same search finds the key in the keyholder
kh = children("keyholder")
hits, n = found_in(kh[0])
print(f"keyholder {kh[0]}: {n} bytes read, found: {sorted(hits)}")
assert hits, "the search does not work: nothing found in the keyholder"
for o in open_sessions:
    o.quit()
print("no key material in any worker")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no key material in any worker"* ]]
}
