#!/usr/bin/env bats
# The keyholder: certificate checks (posternd -n and at start), renewal by
# SIGHUP, robustness against broken handshakes, and the private key never
# in a worker's memory.

load lib/helpers
load lib/tls

setup() { tls_setup; }
teardown() {
	# (the key-memory test's TLS sessions, if it failed while they were held)
	if [ -n "${TLS_HOLD:-}" ]; then kill "$TLS_HOLD" 2>/dev/null || true; fi
	postern_teardown
}

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
	run python3 "$MAILCLIENT" tls-renewal "$SMTPS_PORT" "$PT_PID" "$PT_DIR" "$new"
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
	run python3 "$MAILCLIENT" tls-hostile "$SMTPS_PORT" "$POP3S_PORT" "$SMTP_PORT"
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
	# handshakes that stay open while the workers are read
	python3 "$MAILCLIENT" tls-hold "$SMTPS_PORT" "$POP3S_PORT" "$POP3_PORT" "$PT_DIR" \
		>"$PT_DIR/tls-hold.out" 2>&1 &
	TLS_HOLD=$!
	wait_for test -e "$PT_DIR/tls.held"
	run python3 - "$PT_PID" "$PT_KEY" "$der" <<'PY'
import os, re, subprocess, sys
master, keyfile, derfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]

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
print("no key material in any worker")
PY
	echo "$output"
	touch "$PT_DIR/tls.release"
	hold_status=0
	wait "$TLS_HOLD" || hold_status=$?
	TLS_HOLD=
	cat "$PT_DIR/tls-hold.out"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no key material in any worker"* ]]
	# every held session was still up and QUIT cleanly
	[ "$hold_status" -eq 0 ]
	grep -qx released "$PT_DIR/tls-hold.out"
}
