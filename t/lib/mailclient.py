#!/usr/bin/env python3
"""The one Python mail client of the tests: every bats file that talks
SMTP, POP3 or IMAP from Python -- byte by byte, or through smtplib,
poplib or imaplib --
calls a named command of this file (rather than carrying its own client),
so that a protocol change touches one place.  swaks, curl, openssl
s_client, mpop and fetchmail are called directly.  Every wait is bounded;
the scenario commands exit 0 when their checks hold (an assert or
"FAIL: ..." otherwise) and print what they saw.

Usage: python3 t/lib/mailclient.py COMMAND ARGS...

SMTP by hand
  raw PORT N           send stdin's bytes at once, print the replies until
                       N final reply lines (the greeting counts) or close
  chat PORT LINE...    greeting, then each LINE + CRLF waiting for its reply;
                       prints every reply
  splits PORT          one pipelined batch split into two writes at every
                       offset; checks every reply arrives, in order
  bigline PORT MB      EHLO, then MB MiB without a newline, streamed, then
                       CRLF QUIT; prints the replies after it
  send PORT FROM TO... FILE    smtplib: send FILE's bytes (CRLF lines) as is
  send-text PORT FROM TO FILE  smtplib: send FILE, a bare LF made CRLF
  parallel PORT C M    C clients x M messages each (smtplib, threads);
                       prints the number of 250 answers

POP3 by hand
  pop3-batch PORT CMDS send CMDS (with \\r \\n \\x00 escapes) in one write,
                       half-close, print the whole transcript

IMAP
  imap-batch PORT CMDS the same for IMAP (t/lib/imap.bash imap_batch)
  imap-folders PORT USER PASS
                       imaplib: LIST, CREATE (a hierarchy, a non-ASCII name
                       in modified UTF-7), SUBSCRIBE/LSUB, RENAME, DELETE;
                       prints each answer
  imap-read PORT USER PASS
                       imaplib: SELECT INBOX, FETCH of every item, STATUS,
                       APPEND to Sent and back, EXAMINE; prints each answer
  imap-pop3-expunge IMAPPORT POP3PORT USER PASS
                       an IMAP view of INBOX, then POP3 DELE 1 + QUIT: the
                       view still FETCHes message 1, NOOP reports the
                       EXPUNGE
  imap-logins PORT USER PASS N
                       N sessions logged in at once (each held open):
                       prints each LOGIN's answer, then one more after the
                       first logged out
  imap-file PORT USER PASS
                       imaplib: STORE (+FLAGS, -FLAGS, FLAGS, .SILENT, a
                       keyword), COPY and MOVE (COPYUID), UID EXPUNGE,
                       EXPUNGE, CHECK, UNSELECT, NAMESPACE, ID, ENABLE;
                       prints each answer
  imap-state PORT USER PASS
                       every folder, and in each every message as
                       "FOLDER UID (FLAGS) SUBJECT" (EXAMINE: changes
                       nothing)
  imap-put PORT USER PASS FOLDER SUBJECT [FLAGS]
                       APPEND a small message (CREATE the folder first)
  imap-concurrency SMTPPORT POP3PORT IMAPPORT USER PASS SECS
                       for SECS seconds at once: SMTP deliveries of numbered
                       messages, POP3 sessions deleting the first message,
                       two IMAP sessions flagging \\Deleted and expunging
                       (each noting what it removed); then every message
                       delivered is present once or was removed: "lost L
                       dup D removed-twice R" (twice: two POP3 QUITs say
                       they deleted it, or it was removed and is there)
  imap-starttls PORT CAFILE USER PASS
                       imaplib: CAPABILITY before and after STARTTLS, LOGIN
  imap-idle PORT USER PASS SMTPPORT
                       SELECT INBOX, IDLE, a delivery over SMTP: prints the
                       untagged lines IDLE brought and the seconds it took

TLS
  tls-inject smtp|pop3|imap PORT
                       STARTTLS (or STLS) with a command behind it in the
                       same write; after the handshake that command gets
                       no answer for 2 s; then QUIT is answered

Mailbox
  mbox-bodies MBOX     prints each message of an mbox, mboxrd-unquoted,
                       without postern's From_/X-Postern/Return-Path lines
                       and the Received header, separated by a NUL byte

Connections and greetings
  greets PORT PREFIX   exit 0 if the greeting starts with PREFIX (QUIT sent),
                       1 otherwise or on any error (helpers.bash greets)
  greet [--burst] [--quit] [--timeout S] TARGET...
                       TARGET is [SRC@]HOST:PORT ([::1]:PORT for IPv6):
                       prints each greeting line in order, every connection
                       held to the end; --burst connects all before reading
                       any, --quit sends QUIT on each at the end
  greetings PORT SRC N [NCON]
                       N sessions one after another from SRC, then NCON
                       (default N) at once: "seq WORD" / "con WORD" lines
  hold PORT SECS       connect, read nothing, close after SECS
  greet-noop SMTP POP3 greeting, NOOP, QUIT on both services
  fd-flood PORT N SECS N held connections: "220 a 421 b silent c", then a
                       delivery on two of the greeted: "delivered K"
  reload-hostname PORT PID CONF
                       hostname changed in CONF + SIGHUP: new sessions
                       greet as mx2.example.org, an open session goes on
  sigterm-421 PORT PID a session after EHLO gets 421 within 6 s of SIGTERM

SMTP scenarios
  send-report PORT FROM RCPT...  every RCPT 250; prints the DATA reply
  send-codes PORT FROM RCPT...   a 2 KB message: "250", the DATA refusal
                       or each RCPT refusal as "CODE TEXT"
  data-codes PORT FROM RCPT FILE...
                       one session: MAIL, RCPT, DATA per FILE; prints each
                       DATA reply "CODE TEXT"
  smtplib-tour PORT    smtplib send_message, EHLO keywords, <>, postmaster
  utf8-send PORT       a UTF-8 sender with SMTPUTF8 BODY=8BITMIME
  noop-deadline PORT   NOOP every 0.5 s until 421 4.4.2 (2.5-6 s), closed
  slow-data PORT       5 s of DATA: 250, the session goes on
  trickle-data PORT    DATA a byte every 0.5 s: 421 4.4.2 in 2.5-8 s
  harvest PORT N       N unknown RCPTs pipelined: the reply codes, closed|open
  steps PORT           one session written 1, 7, 10000 bytes at a time
  help-flood PORT N    N HELP in one write: replies counted, QUIT answered
  many-rcpts PORT N    N RCPTs, DATA, a message: prints the transcript
  rcpt-limit PORT N    N RCPT alice: counts of 250 2.1.5 and 452 4.5.3

POP3 scenarios
  pop3-stat PORT USER PASS [HOST]  poplib: prints "COUNT SIZE"
  pop3-take PORT USER PASS N...    poplib: RETR and DELE each N, QUIT
  pop3-timed-pass PORT USER PASS   prints "SECONDS ANSWER" of PASS
  pop3-guess-flood PORT SECS       40 guessing addresses, the owner logs in
  poplib-tour PORT     poplib: every command on alice's two messages
  poplib-bodies PORT N poplib: PIPELINING offered, message i ends "body i"
  pop3-lock-inuse PORT a second session gets [IN-USE]; the first commits
  pop3-two-accounts PORT         alice and bob at once
  pop3-drop-release PORT         a dropped session releases the lock
  pop3-store-kill PORT STORE dele|retr
                       the store killed mid-session: -ERR [SYS/TEMP]
  pop3-autologout PORT DELE, then idle: autologout, nothing else
  pop3-shutdown PORT PID         DELE, then SIGTERM: -ERR [SYS/TEMP]
  pop3-late-arrival POP3 SMTP    mail arriving during a session is hidden
  pop3-hold PORT DIR USER PASS   a session driven by files in DIR
                       (held.1, go.login, held.2, go.quit)
  auth-stall POP3 SMTP AUTHPID   a PASS waits on a stopped auth process
                       while deliveries go on; AUTHPID killed: [SYS/TEMP]
  roundtrip SMTP POP3 FILE...    SMTP in, RETR out, byte for byte
  v6-roundtrip SMTP POP3         the same over ::1 (smtplib, poplib)

TLS scenarios
  smtp-starttls-tour PORT        smtplib STARTTLS: state reset, no second
  pop3-stls-tour PORT            poplib STLS: CAPA, no second, RETR
  pop3-stls-plaintext PORT       plaintext-auth tls: USER only after STLS
  tls-big-roundtrip SMTP POP3 POP3S  3 MB over STARTTLS, back over both
  tls-renewal SMTPS PID DIR FP   renewed certificate + SIGHUP
  tls-hostile SMTPS POP3S SMTP   handshake garbage, resets, stalls
  tls-hold SMTPS POP3S POP3 DIR  TLS sessions held until DIR/tls.release

Scenarios (admission limits, slow clients, memory, store faults)
  limit PROTO PORT N REFUSAL OTHER
      N concurrent sessions from 127.0.0.1 are greeted; the N+1th gets
      REFUSAL and is closed; a client from 127.0.0.2 is greeted (OTHER=ok)
      or refused too (OTHER=refused); after one session quits a new one
      from 127.0.0.1 is greeted again.
  rate PROTO PORT N REFUSAL [SRC]
      N sequential sessions from SRC (127.0.0.3: an address nobody else
      used this minute) are greeted, the N+1th gets REFUSAL; 127.0.0.2 is
      greeted.
  refill PROTO PORT N DONE
      N sessions are greeted and held, one more is turned away as full;
      the N QUIT, then N new ones connect together; prints the greetings'
      first words (N, the refused one's, N) and holds the new sessions
      until the file DONE exists (30 s at most).
  slow PORT TIMEOUT_S MODE        MODE: silent | trickle
      with smtp-max 1: a slow client holds the only worker (a second client
      gets 421 4.7.0), gets 421 4.4.2 within its timeout, and the worker
      serves a new client afterwards.
  flood PORT IDLE LIMIT DEADLINE_S
      IDLE silent connections from 127.0.0.1, then one delivery from
      127.0.0.2 that must get 250 within DEADLINE_S; exactly LIMIT idle
      ones are greeted, the rest refused with 421 4.7.0.
  sessions PORT N SECS RCPT
      N sequential SMTP sessions (EHLO MAIL RCPT DATA QUIT), stop after
      SECS; prints the count done.
  abuse PORT
      one session after another of: long lines, huge headers, many
      recipients, a pipelined flood; prints what each got.
  stream PORT SECS ACKFILE RCPT
      sequential deliveries of numbered messages for SECS seconds; each
      number answered 250 is appended to ACKFILE.  Network errors are
      expected (the tests kill processes).
  stopped SMTP_PORT POP3_PORT STORE_PID STOP_S ACKFILE
      SIGSTOP the store for STOP_S seconds under SMTP and POP3 traffic:
      every operation ends within STOP_S + 15 s with an answer or a
      temporary error, no permanent error, no 250 while stopped; both
      services work within 20 s of SIGCONT.
  check-mbox MBOX ACKFILE
      every message parses whole (From_, X-Postern len=, BEGIN/END
      markers), no number twice, every acknowledged number present.
"""
import codecs
import os
import random
import re
import selectors
import smtplib
import socket
import ssl
import sys
import threading
import time

T = 10  # default bound on any single wait, seconds


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def connect(port, src="127.0.0.1", timeout=T):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", int(port)))
    return s


def readline(s, timeout=T):
    """One line (bytes, with CRLF), b"" at EOF/timeout."""
    s.settimeout(timeout)
    buf = b""
    end = time.time() + timeout
    while not buf.endswith(b"\n") and time.time() < end:
        try:
            c = s.recv(1)
        except (socket.timeout, ConnectionError):
            break
        if not c:
            break
        buf += c
    return buf


def reply(s, timeout=T):
    """A whole SMTP reply (last line), b"" on EOF/timeout."""
    while True:
        line = readline(s, timeout)
        if len(line) < 4 or line[3:4] != b"-":
            return line


def at_eof(s, timeout=5):
    s.settimeout(timeout)
    try:
        return s.recv(4096) == b""
    except socket.timeout:
        return False
    except ConnectionError:
        return True


def greet_ok(proto, line):
    return line.startswith(b"220 ") if proto == "smtp" else line.startswith(b"+OK")


def quit(proto, s):
    try:
        s.sendall(b"QUIT\r\n")
        readline(s, 5)
    except OSError:
        pass
    s.close()


# ---- connection limits -------------------------------------------------

def open_session(proto, port, src="127.0.0.1"):
    s = connect(port, src)
    return s, readline(s)


def cmd_limit(proto, port, n, refusal, other):
    n = int(n)
    refusal = refusal.encode()
    held = []
    for i in range(n):
        s, g = open_session(proto, port)
        if not greet_ok(proto, g):
            fail("session %d of %d from 127.0.0.1 not greeted: %r" % (i + 1, n, g))
        held.append(s)
    print("held %d sessions" % n)
    s, g = open_session(proto, port)
    if not g.startswith(refusal):
        fail("session %d: wanted %r, got %r" % (n + 1, refusal, g))
    if not at_eof(s):
        fail("session %d: not closed after the refusal" % (n + 1))
    s.close()
    print("session %d refused: %s" % (n + 1, g.decode().strip()))
    s, g = open_session(proto, port, "127.0.0.2")
    if other == "ok" and not greet_ok(proto, g):
        fail("127.0.0.2 not greeted: %r" % g)
    if other == "refused" and not g.startswith(refusal):
        fail("127.0.0.2: wanted %r, got %r" % (refusal, g))
    print("127.0.0.2: %s" % g.decode().strip())
    quit(proto, s)
    # one leaves: the next one from 127.0.0.1 is served again
    quit(proto, held.pop())
    end = time.time() + T
    while True:
        s, g = open_session(proto, port)
        if greet_ok(proto, g):
            break
        s.close()
        if time.time() > end:
            fail("after one session left, still refused: %r" % g)
        time.sleep(0.1)
    print("after one left: %s" % g.decode().strip())
    held.append(s)
    for s in held:
        quit(proto, s)
    print("ok")


def cmd_burst(proto, port, n, m, refusal):
    """Holds n sessions from 127.0.0.1, then opens m more one after another,
    each from its own address 127.0.1.x, each of which must be refused
    (greeting starting with refusal, then closed)."""
    n, m = int(n), int(m)
    held = []
    for i in range(n):
        s, g = open_session(proto, port)
        if not greet_ok(proto, g):
            fail("session %d of %d not greeted: %r" % (i + 1, n, g))
        held.append(s)
    for i in range(m):
        s, g = open_session(proto, port, "127.0.1.%d" % (i % 250 + 1))
        if not g.startswith(refusal.encode()):
            fail("extra session %d: wanted %r, got %r" % (i + 1, refusal, g))
        if not at_eof(s):
            fail("extra session %d: not closed after the refusal" % (i + 1))
        s.close()
    for s in held:
        quit(proto, s)
    print("ok: %d refused" % m)


def cmd_refill(proto, port, n, done):
    """Holds n sessions (each greeted), has one more turned away as full,
    then QUITs the n at once and opens n new ones together; prints the
    greetings' first words (n, then the refused one's, then n) and holds
    the new sessions until the file done exists (30 s at most)."""
    n = int(n)
    first = [open_session(proto, port) for _ in range(n)]
    print(" ".join(g.split(b" ")[0].decode() for _, g in first))
    s, g = open_session(proto, port)
    print(g.split(b" ")[0].decode())
    s.close()
    for s, _ in first:
        quit(proto, s)
    second = [connect(port) for _ in range(n)]
    print(" ".join(readline(s).split(b" ")[0].decode() for s in second), flush=True)
    end = time.time() + 30
    while not os.path.exists(done) and time.time() < end:
        time.sleep(0.05)
    for s in second:
        s.close()


def cmd_rate(proto, port, n, refusal, src="127.0.0.3"):
    n = int(n)
    for i in range(n):
        s, g = open_session(proto, port, src)
        if not greet_ok(proto, g):
            fail("connection %d of %d from %s not greeted: %r" % (i + 1, n, src, g))
        quit(proto, s)
    s, g = open_session(proto, port, src)
    if not g.startswith(refusal.encode()):
        fail("connection %d: wanted %r, got %r" % (n + 1, refusal, g))
    if not at_eof(s):
        fail("connection %d not closed after the refusal" % (n + 1))
    print("connection %d from %s refused: %s" % (n + 1, src, g.decode().strip()))
    s, g = open_session(proto, port, "127.0.0.2")
    if not greet_ok(proto, g):
        fail("127.0.0.2 not greeted: %r" % g)
    quit(proto, s)
    print("ok")


# ---- slow clients ------------------------------------------------------

def cmd_slow(port, timeout_s, mode):
    timeout_s = float(timeout_s)
    s = connect(port)
    if not readline(s).startswith(b"220 "):
        fail("slow client not greeted")
    t0 = time.time()
    # the only serving worker is held: a second client is turned away
    s2, g2 = open_session("smtp", port)
    if not g2.startswith(b"421 4.7.0"):
        fail("while the slow client holds the worker, wanted 421 4.7.0, got %r" % g2)
    s2.close()
    got = b""
    bound = timeout_s + 4
    if mode == "silent":
        got = readline(s, bound)
    else:
        # one byte a second of a command that never ends in time
        s.settimeout(0.05)
        payload = b"NOOP " + b"x" * 100
        i = 0
        while time.time() - t0 < bound and i < len(payload):
            try:
                s.sendall(payload[i:i + 1])
            except OSError:
                break
            i += 1
            try:
                chunk = s.recv(4096)
                got += chunk
                if not chunk or got.endswith(b"\n"):
                    break
            except socket.timeout:
                pass
            time.sleep(1)
        if not got.endswith(b"\n"):
            got += readline(s, max(0.1, bound - (time.time() - t0)))
    dt = time.time() - t0
    if not got.startswith(b"421 4.4.2"):
        fail("%s client: wanted 421 4.4.2 within %.0f s, got %r after %.1f s" %
             (mode, bound, got, dt))
    if dt < timeout_s - 1:
        fail("%s client: timed out after %.1f s, before its %.0f s" % (mode, dt, timeout_s))
    if not at_eof(s):
        fail("%s client: not closed after 421 4.4.2" % mode)
    print("%s client: %s after %.1f s" % (mode, got.decode().strip(), dt))
    end = time.time() + T
    while True:
        s3, g3 = open_session("smtp", port)
        if g3.startswith(b"220 "):
            break
        s3.close()
        if time.time() > end:
            fail("the worker was not free again: %r" % g3)
        time.sleep(0.1)
    quit("smtp", s3)
    print("ok")


def deliver(port, src, rcpt, body, timeout=T):
    """One delivery; returns the reply codes seen (list of bytes lines)."""
    s = connect(port, src, timeout)
    seen = []
    try:
        seen.append(reply(s, timeout))
        for c in (b"EHLO client.example\r\n", b"MAIL FROM:<s@example.com>\r\n",
                  b"RCPT TO:<" + rcpt.encode() + b">\r\n", b"DATA\r\n"):
            s.sendall(c)
            r = reply(s, timeout)
            seen.append(r)
            if not r[:1] in (b"2", b"3"):
                return seen
        s.sendall(body + b".\r\n")
        seen.append(reply(s, timeout))
        s.sendall(b"QUIT\r\n")
        reply(s, 2)
    finally:
        s.close()
    return seen


def flood_collect(port, idle, limit, deadline):
    idle, limit, deadline = int(idle), int(limit), float(deadline)
    sel = selectors.DefaultSelector()
    state = {}
    for i in range(idle):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", int(port)))
        except BlockingIOError:
            pass
        state[s] = b""
        sel.register(s, selectors.EVENT_READ)
    print("%d idle connections open from 127.0.0.1" % idle)
    t0 = time.time()
    result = {}

    def real():
        try:
            result["seen"] = deliver(port, "127.0.0.2", "alice@example.org",
                                     b"Subject: through the flood\r\n\r\nhello\r\n",
                                     deadline)
        except OSError as e:
            result["seen"] = [repr(e).encode()]
        result["dt"] = time.time() - t0

    th = threading.Thread(target=real)
    th.start()
    # meanwhile: read what the idle ones get, without ever answering
    end = time.time() + deadline + 10
    pending = idle
    while pending and time.time() < end:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            try:
                c = s.recv(512)
            except OSError:
                c = b""
            state[s] += c
            if b"\n" in state[s] or not c:
                sel.unregister(s)
                pending -= 1
    th.join(deadline + 5)
    seen = result.get("seen", [b"no answer"])
    dt = result.get("dt", -1)
    print("delivery from 127.0.0.2: %s after %.1f s" % (seen[-1].decode(errors="replace").strip(), dt))
    greeted = sum(1 for v in state.values() if v.startswith(b"220 "))
    refused = sum(1 for v in state.values() if v.startswith(b"421 4.7.0"))
    print("idle clients: %d greeted, %d refused with 421 4.7.0, %d other" %
          (greeted, refused, idle - greeted - refused))
    for s in state:
        s.close()
    if not seen[-1].startswith(b"250") or dt > deadline:
        fail("the real delivery did not get 250 within %.0f s: %r" % (deadline, seen))
    if greeted != limit or refused != idle - limit:
        fail("wanted %d greeted and %d refused" % (limit, idle - limit))
    print("ok")


# ---- memory ------------------------------------------------------------

def cmd_sessions(port, n, secs, rcpt):
    n, secs = int(n), float(secs)
    end = time.time() + secs
    msg = b"Subject: s\r\n\r\nsmall message\r\n.\r\n"
    done = 0
    script = (b"EHLO c.example\r\nMAIL FROM:<s@example.com>\r\nRCPT TO:<" +
              rcpt.encode() + b">\r\nDATA\r\n")
    while done < n and time.time() < end:
        s = connect(int(port))
        f = s.makefile("rb")
        if not f.readline().startswith(b"220"):
            fail("session %d: no greeting" % done)
        s.sendall(script)   # PIPELINING
        codes = []
        while len(codes) < 4:
            line = f.readline()
            if not line:
                fail("session %d: closed early" % done)
            if line[3:4] != b"-":
                codes.append(line[:3])
        if codes != [b"250", b"250", b"250", b"354"]:
            fail("session %d: %r" % (done, codes))
        s.sendall(msg + b"QUIT\r\n")
        a = f.readline()
        if not a.startswith(b"250"):
            fail("session %d: DATA answered %r" % (done, a))
        f.readline()
        f.close()
        s.close()
        done += 1
    print(done)


def cmd_abuse(port):
    """Each abuse in its own session; prints one line each."""
    mib = 1 << 20

    def session():
        s = connect(port, timeout=60)
        if not reply(s).startswith(b"220"):
            fail("no greeting")
        s.sendall(b"EHLO abuse.example\r\n")
        reply(s)
        return s

    def drain_thread(s, sink):
        def run():
            s.settimeout(60)
            while True:
                try:
                    c = s.recv(1 << 16)
                except OSError:
                    break
                if not c:
                    break
                sink.append(c)
        th = threading.Thread(target=run)
        th.start()
        return th

    # 1. a 64 MiB command line without a newline
    s = session()
    sink = []
    th = drain_thread(s, sink)
    chunk = b"x" * mib
    for _ in range(64):
        s.sendall(chunk)
    s.sendall(b"\r\nNOOP\r\nQUIT\r\n")
    th.join(60)
    out = b"".join(sink)
    print("long line: %r" % out[:60])
    if b"221" not in out:
        fail("long line: the session did not go on to QUIT")
    s.close()

    # 2. huge headers: 20 MiB of header lines in one message, and one 60 KiB
    #    header line after another (refused over max-message-size)
    s = session()
    s.sendall(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
    for _ in range(3):
        reply(s)
    hdr = b"X-Filler: " + b"h" * 990 + b"\r\n"
    block = hdr * 1024
    sink = []
    th = drain_thread(s, sink)
    for _ in range(20):
        s.sendall(block)
    s.sendall(b"\r\nbody\r\n.\r\nQUIT\r\n")
    th.join(60)
    out = b"".join(sink)
    print("huge headers: %r" % out.split(b"\r\n")[:2])
    if b"221" not in out:
        fail("huge headers: the session did not reach QUIT")
    s.close()

    # 3. many recipients: 5,000 RCPT (the limit answers 452 beyond it)
    s = session()
    sink = []
    th = drain_thread(s, sink)
    buf = b"MAIL FROM:<a@example.com>\r\n"
    buf += b"".join(b"RCPT TO:<alice+%d@example.org>\r\n" % i for i in range(5000))
    buf += b"RSET\r\nQUIT\r\n"
    s.sendall(buf)
    th.join(60)
    out = b"".join(sink)
    print("many recipients: %d replies" % out.count(b"\r\n"))
    if b"221" not in out:
        fail("many recipients: the session did not reach QUIT")
    s.close()

    # 4. a pipelined flood: 200,000 NOOPs in one stream
    s = session()
    sink = []
    th = drain_thread(s, sink)
    line = b"NOOP\r\n"
    for _ in range(20):
        s.sendall(line * 10000)
    s.sendall(b"QUIT\r\n")
    th.join(60)
    out = b"".join(sink)
    print("pipelined flood: %d replies" % out.count(b"\r\n"))
    if b"221" not in out:
        fail("pipelined flood: the session did not reach QUIT")
    s.close()
    print("ok")


# ---- faults ------------------------------------------------------------

def message(num):
    lines = [b"Subject: stream %d" % num, b"", b"BEGIN %d" % num]
    lines += [b"line %d of message %d padding padding padding" % (i, num) for i in range(40)]
    lines.append(b"END %d" % num)
    return b"\r\n".join(lines) + b"\r\n"


def cmd_stream(port, secs, ackfile, rcpt):
    secs = float(secs)
    end = time.time() + secs
    num = 0
    acks = 0
    codes = {}
    with open(ackfile, "a") as af:
        while time.time() < end:
            num += 1
            try:
                seen = deliver(port, "127.0.0.1", rcpt, message(num), 40)
            except OSError:
                seen = [b"neterr"]
            last = seen[-1][:3] if seen and seen[-1] else b"eof"
            if len(seen) == 6 and last == b"250":
                af.write("%d\n" % num)
                af.flush()
                acks += 1
            codes[last] = codes.get(last, 0) + 1
            if last[:1] == b"5":
                fail("message %d: permanent error %r" % (num, seen))
            if last != b"250":
                time.sleep(0.05)
    print("sent %d, acknowledged %d, last replies %r" % (num, acks, codes))


def cmd_check_mbox(mbox, ackfile):
    import re
    acked = set(int(x) for x in open(ackfile).read().split())
    try:
        d = open(mbox, "rb").read()
    except FileNotFoundError:
        d = b""
    pos = 0
    nums = []
    while pos < len(d):
        nl = d.index(b"\n", pos)
        if d[pos:pos + 5] != b"From ":
            fail("no From_ line at offset %d" % pos)
        x = d[nl + 1:d.index(b"\n", nl + 1) + 1]
        m = re.match(rb"X-Postern: uid=([0-9a-f]+) len=(\d+)\n$", x)
        if not m:
            fail("no X-Postern line at offset %d" % pos)
        msg = d[pos:pos + int(m.group(2))]
        if len(msg) != int(m.group(2)) or not msg.endswith(b"\n\n"):
            fail("message at %d is cut short" % pos)
        b = re.search(rb"\nBEGIN (\d+)\n", msg)
        e = re.search(rb"\nEND (\d+)\n", msg)
        if not b or not e or b.group(1) != e.group(1):
            fail("message at %d is partial" % pos)
        n = int(b.group(1))
        if msg.count(b"\nline ") != 40:
            fail("message %d lacks lines" % n)
        nums.append(n)
        pos += int(m.group(2))
    from collections import Counter
    dup = set(n for n, c in Counter(nums).items() if c > 1)
    if dup:
        fail("messages present twice: %r" % sorted(dup)[:10])
    missing = acked - set(nums)
    if missing:
        fail("acknowledged but missing: %r" % sorted(missing)[:10])
    print("%d messages whole, %d acknowledged all present, %d unacknowledged present" %
          (len(nums), len(acked), len(set(nums) - acked)))
    print("ok")


def pop3_login(port, timeout):
    """USER/PASS/STAT/QUIT as alice: the last line seen."""
    s = connect(port, timeout=timeout)
    try:
        last = readline(s, timeout)
        if not last.startswith(b"+OK"):
            return last
        for c in (b"USER alice\r\n", b"PASS alicepw\r\n", b"STAT\r\n"):
            s.sendall(c)
            last = readline(s, timeout)
            if not last.startswith(b"+OK"):
                return last
        s.sendall(b"QUIT\r\n")
        readline(s, 5)
        return last
    finally:
        s.close()


def cmd_stopped(smtp_port, pop3_port, store_pid, stop_s, ackfile):
    """SIGSTOP the store for stop_s while SMTP and POP3 clients keep going;
    every operation must end (an answer or a temporary error) within
    stop_s + 15 s of its start, never with a permanent error, and some end
    with a temporary error before SIGCONT; after SIGCONT both services work
    again within 20 s."""
    import signal
    stop_s = float(stop_s)
    bound = stop_s + 15
    log = []          # (kind, start, end, outcome)
    lock = threading.Lock()
    state = {"run": True, "num": 100000}

    def smtp_loop():
        while state["run"]:
            with lock:
                state["num"] += 1
                num = state["num"]
            t0 = time.time()
            try:
                seen = deliver(smtp_port, "127.0.0.1", "alice@example.org",
                               message(num), bound + 10)
                out = seen[-1][:3] if seen[-1] else b"eof"
            except OSError as e:
                out = b"neterr"
            t1 = time.time()
            with lock:
                log.append(("smtp", t0, t1, out))
                if out == b"250" and len(seen) == 6:
                    with open(ackfile, "a") as af:
                        af.write("%d\n" % num)
            time.sleep(0.2)

    def pop3_loop():
        while state["run"]:
            t0 = time.time()
            try:
                last = pop3_login(pop3_port, bound + 10)
                out = last.strip()[:20]
            except OSError:
                out = b"neterr"
            with lock:
                log.append(("pop3", t0, time.time(), out))
            time.sleep(0.5)

    ths = [threading.Thread(target=smtp_loop), threading.Thread(target=smtp_loop),
           threading.Thread(target=pop3_loop)]
    for th in ths:
        th.start()
    time.sleep(2)
    pid = int(store_pid)
    os.kill(pid, signal.SIGSTOP)
    t_stop = time.time()
    print("store %d stopped" % pid, flush=True)
    time.sleep(stop_s)
    os.kill(pid, signal.SIGCONT)
    t_cont = time.time()
    print("store %d continued after %.1f s" % (pid, t_cont - t_stop), flush=True)
    # after SIGCONT: both services work again, within 20 s
    ok_smtp = ok_pop3 = None
    end = t_cont + 20
    while time.time() < end and (ok_smtp is None or ok_pop3 is None):
        time.sleep(0.5)
        with lock:
            for kind, a, b, out in log:
                if a >= t_cont and kind == "smtp" and out == b"250" and ok_smtp is None:
                    ok_smtp = b - t_cont
                if a >= t_cont and kind == "pop3" and out.startswith(b"+OK") and ok_pop3 is None:
                    ok_pop3 = b - t_cont
    state["run"] = False
    for th in ths:
        th.join(bound + 20)
    temp = 0
    worst = 0.0
    bad = []
    for kind, a, b, out in log:
        worst = max(worst, b - a)
        if out[:1] == b"4" or out.startswith(b"-ERR [SYS/TEMP]") or out.startswith(b"-ERR [IN-USE]"):
            temp += 1
        elif out[:1] == b"5" or (out.startswith(b"-ERR") and kind == "pop3"):
            bad.append((kind, out))
        if b - a > bound:
            bad.append((kind, "took %.1f s" % (b - a)))
        if a < t_cont and b > t_stop and out == b"250" and b < t_cont:
            bad.append((kind, "250 while the store was stopped"))
    during = [(k, round(b - a, 1), o) for k, a, b, o in log if a < t_cont and b > t_stop]
    print("operations overlapping the stop: %r" % during)
    print("%d operations, %d temporary errors, longest %.1f s (bound %.0f s)" %
          (len(log), temp, worst, bound))
    print("after SIGCONT: smtp 250 after %s s, pop3 +OK after %s s" % (
        None if ok_smtp is None else round(ok_smtp, 1),
        None if ok_pop3 is None else round(ok_pop3, 1)))
    if bad:
        fail("bad outcomes: %r" % bad[:10])
    # a stopped store gives clients temporary errors, not waits as long as
    # the stop: the workers' store timeouts are well under stop_s
    if stop_s >= 20 and not any(
            a < t_cont and b < t_cont and b > t_stop and
            (o[:1] == b"4" or o.startswith(b"-ERR [SYS/TEMP]"))
            for k, a, b, o in log):
        fail("no temporary error came back while the store was stopped")
    if ok_smtp is None or ok_pop3 is None:
        fail("not recovered within 20 s of SIGCONT")
    print("ok")


# ---- SMTP by hand ---------------------------------------------------------

def read_replies(s, want, deadline=None):
    """Reads until `want` final reply lines arrived; returns the bytes."""
    buf = b""
    deadline = deadline or time.time() + T
    while time.time() < deadline:
        finals = 0
        for line in buf.split(b"\r\n")[:-1]:
            if len(line) == 3 or (len(line) >= 4 and line[3:4] == b" "):
                finals += 1
        if finals >= want:
            break
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionError:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def codes(buf):
    out = []
    for line in buf.split(b"\r\n"):
        if len(line) >= 4 and line[3:4] == b" ":
            out.append(line[:3].decode())
        elif len(line) == 3:
            out.append(line.decode())
    return out


def cmd_raw(port, n):
    data = sys.stdin.buffer.read()
    s = connect(port)
    s.sendall(data)
    sys.stdout.buffer.write(read_replies(s, int(n)))
    s.close()


def cmd_chat(port, *lines):
    s = connect(port)
    sys.stdout.buffer.write(read_replies(s, 1))
    for line in lines:
        s.sendall(line.encode("utf-8", "surrogateescape") + b"\r\n")
        sys.stdout.buffer.write(read_replies(s, 1))
    s.close()


BATCH = (b"EHLO client.example\r\n"
         b"MAIL FROM:<sender@remote.example>\r\n"
         b"RCPT TO:<alice@example.org>\r\n"
         b"RCPT TO:<nobody@example.org>\r\n"
         b"RCPT TO:<bob@elsewhere.example>\r\n"
         b"NOOP\r\n"
         b"RSET\r\n"
         b"MAIL FROM:<>\r\n"
         b"RCPT TO:<bob@example.net>\r\n"
         b"DATA\r\n")
BATCH_CODES = ["220", "250", "250", "250", "550", "550", "250", "250", "250",
               "250", "354"]
MESSAGE = b"Subject: split\r\n\r\nbody\r\n.\r\nQUIT\r\n"


def cmd_splits(port):
    bad = 0
    for k in range(1, len(BATCH)):
        s = connect(port)
        got = read_replies(s, 1)
        s.sendall(BATCH[:k])
        time.sleep(0.003)
        s.sendall(BATCH[k:])
        got += read_replies(s, len(BATCH_CODES) - 1)
        s.sendall(MESSAGE)
        tail = read_replies(s, 2)
        c = codes(got) + codes(tail)
        want = BATCH_CODES + ["250", "221"]
        if c != want:
            bad += 1
            print("split %d: got %s" % (k, " ".join(c)))
        s.close()
    print("splits=%d bad=%d" % (len(BATCH) - 1, bad))
    sys.exit(1 if bad else 0)


def cmd_bigline(port, mb):
    s = connect(port)
    read_replies(s, 1)
    s.sendall(b"EHLO client.example\r\n")
    read_replies(s, 1)
    chunk = b"A" * 65536
    total = int(mb) * 1024 * 1024
    sent = 0
    try:
        while sent < total:
            s.sendall(chunk)
            sent += len(chunk)
        s.sendall(b"\r\nNOOP\r\nQUIT\r\n")
    except (ConnectionError, socket.timeout) as e:
        print("send failed after %d bytes: %s" % (sent, e))
    sys.stdout.buffer.write(read_replies(s, 3))
    s.close()


def cmd_send(port, sender, *rest):
    rcpts, path = list(rest[:-1]), rest[-1]
    with open(path, "rb") as f:
        msg = f.read()
    with smtplib.SMTP("127.0.0.1", int(port), timeout=T) as c:
        refused = c.sendmail(sender, rcpts, msg)
        print("refused=%r" % refused)


def cmd_parallel(port, clients, msgs):
    ok = [0]
    errors = []
    lock = threading.Lock()

    def client(i):
        try:
            with smtplib.SMTP("127.0.0.1", int(port), timeout=60) as c:
                c.ehlo("client%d.example" % i)
                for j in range(int(msgs)):
                    rcpt = "alice@example.org" if (i + j) % 2 == 0 else "bob@example.org"
                    body = ("From: c%d@remote.example\r\nSubject: p-%d-%d\r\n"
                            "Message-ID: <p-%d-%d@remote.example>\r\n\r\n"
                            "client %d message %d\r\n" % (i, i, j, i, j, i, j))
                    c.sendmail("c%d@remote.example" % i, [rcpt], body.encode())
                    with lock:
                        ok[0] += 1
        except Exception as e:  # noqa: BLE001 - report whatever failed
            with lock:
                errors.append("client %d: %r" % (i, e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(int(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    for e in errors:
        print(e)
    print("ok=%d" % ok[0])


def mbox_messages(path):
    """Splits postern's mbox into messages (From_ line + X-Postern line)."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    msgs, cur = [], None
    for i, line in enumerate(lines):
        if (line.startswith(b"From ") and i + 1 < len(lines)
                and lines[i + 1].startswith(b"X-Postern: uid=")):
            if cur is not None:
                msgs.append(cur)
            cur = []
            continue
        if cur is not None:
            cur.append(line)
    if cur is not None:
        msgs.append(cur)
    return msgs


def unquote(line):
    j = 0
    while j < len(line) and line[j:j + 1] == b">":
        j += 1
    if j > 0 and line[j:j + 5] == b"From ":
        return line[1:]
    return line


def cmd_mbox_bodies(path):
    out = []
    for m in mbox_messages(path):
        # postern's lines, then Return-Path, then our Received header
        m = [l for l in m]
        while m and (m[0].startswith(b"X-Postern:") or m[0].startswith(b"Return-Path:")):
            m.pop(0)
        if m and m[0].startswith(b"Received:"):
            m.pop(0)
            while m and m[0][:1] in (b"\t", b" "):
                m.pop(0)
        # the separator: the last line of the file split is "", the blank
        # line after each message is one more ""
        while m and m[-1] == b"":
            m.pop()
        out.append(b"\n".join(unquote(l) for l in m) + b"\n")
    sys.stdout.buffer.write(b"\0".join(out))


# ---- POP3 and TLS by hand --------------------------------------------------

def cmd_send_text(port, sender, rcpt, path):
    with open(path, "rb") as f:
        data = re.sub(rb"(?<!\r)\n", b"\r\n", f.read())
    s = smtplib.SMTP("127.0.0.1", int(port), timeout=60)
    s.sendmail(sender, [rcpt], data)
    s.quit()


def cmd_pop3_batch(port, cmds):
    data = codecs.escape_decode(cmds.encode("latin-1"))[0]
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        if not b:
            break
        out += b
    sys.stdout.buffer.write(out)


def cmd_imap_batch(port, cmds):
    cmd_pop3_batch(port, cmds)


def cmd_imap_folders(port, user, pw):
    import imaplib
    m = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)

    def show(what, call):
        try:
            typ, data = call()
        except imaplib.IMAP4.error as e:   # a BAD answer
            print(what, "BAD", str(e))
            return "BAD"
        print(what, typ, " | ".join(d.decode() if isinstance(d, bytes) else str(d)
                                    for d in data))
        return typ

    show("login", lambda: m.login(user, pw))
    show("list", lambda: m.list())
    show("create Work/2026", lambda: m.create("Work/2026"))
    show("create Work", lambda: m.create("Work"))
    # "Entw\u00fcrfe" in modified UTF-7
    show("create Entwurf", lambda: m.create("Entw&APw-rfe"))
    show("create again", lambda: m.create("work"))
    show("subscribe", lambda: m.subscribe("Work/2026"))
    show("lsub", lambda: m.lsub())
    show("list Work/%", lambda: m.list("Work/", "%"))
    show("rename", lambda: m.rename("Work/2026", "Archive/2026"))
    show("delete Work", lambda: m.delete("Work"))
    show("delete INBOX", lambda: m.delete("INBOX"))
    show("delete nosuch", lambda: m.delete("NoSuch"))
    show("list %", lambda: m.list('""', "%"))
    show("create Deep", lambda: m.create("Deep/er/est"))
    show("list Deep*", lambda: m.list('""', "Deep*"))
    show("delete parent", lambda: m.delete("Deep"))
    show("bad name", lambda: m.create("a/../b"))
    show("bad utf7", lambda: m.create("&Jjo"))
    show("logout", lambda: m.logout())


def imap_show(m):
    import imaplib

    def show(what, call):
        try:
            typ, data = call()
        except imaplib.IMAP4.error as e:   # a BAD answer
            print(what, "BAD", str(e))
            return "BAD", []
        flat = []
        for d in data:
            if isinstance(d, tuple):
                flat.append(d[0].decode("latin-1") + " " + repr(d[1]))
            elif isinstance(d, bytes):
                flat.append(d.decode("latin-1"))
            else:
                flat.append(str(d))
        print(what, typ, " | ".join(flat))
        return typ, data
    return show


def cmd_imap_read(port, user, pw):
    import imaplib
    m = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
    show = imap_show(m)
    show("login", lambda: m.login(user, pw))
    show("select", lambda: m.select("INBOX"))
    for k in ("EXISTS", "RECENT", "UIDVALIDITY", "UIDNEXT", "FLAGS", "PERMANENTFLAGS"):
        print("untagged", k, m.untagged_responses.get(k))
    show("fetch meta", lambda: m.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)"))
    show("fetch headers", lambda: m.uid(
        "FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (From Subject)])"))
    typ, data = show("fetch body", lambda: m.fetch("1", "(RFC822.SIZE BODY.PEEK[])"))
    if typ == "OK":
        head, body = data[0]
        size = int(head.decode().split("RFC822.SIZE ")[1].split()[0])
        print("body size", len(body), "RFC822.SIZE", size)
    show("fetch envelope", lambda: m.fetch("2", "(ENVELOPE BODYSTRUCTURE)"))
    show("fetch bad seq", lambda: m.fetch("99", "FLAGS"))
    show("uid fetch none", lambda: m.uid("FETCH", "90:99", "FLAGS"))
    show("status", lambda: m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT)"))
    msg = b"From: a@example.org\r\nSubject: appended\r\n\r\nhello append\r\n"
    show("append", lambda: m.append("Sent", "(\\Seen)", '"05-Dec-2026 06:00:00 +0000"', msg))
    show("append missing", lambda: m.append("NoSuch", None, None, msg))
    show("examine sent", lambda: m.select("Sent", readonly=True))
    show("fetch appended", lambda: m.fetch("1", "(FLAGS INTERNALDATE BODY.PEEK[])"))
    show("close", lambda: m.close())
    show("logout", lambda: m.logout())


def cmd_imap_logins(port, user, pw, n):
    import imaplib
    held = []
    for i in range(int(n)):
        m = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
        try:
            typ, data = m.login(user, pw)
            print("login", i + 1, typ, data[0].decode())
        except imaplib.IMAP4.error as e:
            print("login", i + 1, "NO", str(e))
        held.append(m)
    held[0].logout()
    time.sleep(0.5)
    m = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
    try:
        typ, data = m.login(user, pw)
        print("after a logout", typ)
    except imaplib.IMAP4.error as e:
        print("after a logout NO", str(e))
    held.append(m)
    for m in held[1:]:
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def cmd_imap_file(port, user, pw):
    import imaplib
    m = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
    show = imap_show(m)
    show("login", lambda: m.login(user, pw))
    show("namespace", lambda: m.namespace())
    show("id", lambda: m.xatom("ID", '("name" "imaplib")'))
    print("untagged ID", m.untagged_responses.pop("ID", None))
    show("enable", lambda: m.enable("UTF8=ACCEPT") if hasattr(m, "enable") else ("OK", []))
    show("select", lambda: m.select("INBOX"))
    print("permanentflags", m.untagged_responses.get("PERMANENTFLAGS"))
    show("store +seen", lambda: m.store("1", "+FLAGS", "(\\Seen $Important)"))
    show("store -seen", lambda: m.store("1", "-FLAGS", "(\\Seen)"))
    show("store set", lambda: m.store("2", "FLAGS", "(\\Flagged \\Answered)"))
    show("store silent", lambda: m.store("3", "+FLAGS.SILENT", "(\\Draft)"))
    show("fetch flags", lambda: m.fetch("1:3", "(FLAGS)"))
    show("create Work", lambda: m.create("Work"))
    show("copy", lambda: m.copy("1:2", "Work"))
    show("copy missing", lambda: m.copy("1", "NoSuch"))
    show("uid move", lambda: m.uid("MOVE", "3", "Work"))
    print("untagged after move", m.untagged_responses.pop("EXPUNGE", None))
    show("store deleted", lambda: m.store("1", "+FLAGS.SILENT", "(\\Deleted)"))
    show("check", lambda: m.check())
    show("expunge", lambda: m.expunge())
    show("fetch left", lambda: m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    show("unselect", lambda: m.unselect() if hasattr(m, "unselect") else m.xatom("UNSELECT"))
    show("examine Work", lambda: m.select("Work", readonly=True))
    show("work flags", lambda: m.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    show("store readonly", lambda: m.store("1", "+FLAGS", "(\\Seen)"))
    show("logout", lambda: m.logout())


def cmd_imap_state(port, user, pw):
    import imaplib
    m = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
    m.login(user, pw)
    typ, data = m.list('""', "*")
    names = []
    for d in data:
        line = d.decode()
        name = line.rsplit(' "/" ', 1)[1].strip('"')
        if "\\Noselect" not in line.split(")")[0]:
            names.append(name)
    for name in sorted(names):
        typ, data = m.select('"%s"' % name, readonly=True)
        print("folder", name, data[0].decode())
        if data[0] == b"0":
            continue
        typ, data = m.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        for d in data:
            if not isinstance(d, tuple):
                continue
            head = d[0].decode()
            uid = re.search(r"UID (\d+)", head).group(1)
            flags = re.search(r"FLAGS \(([^)]*)\)", head).group(1)
            subj = d[1].decode().strip().replace("Subject: ", "")
            print(name, uid, "(%s)" % flags, subj)
    m.logout()


def cmd_imap_put(port, user, pw, folder, subject, flags=None):
    import imaplib
    m = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
    m.login(user, pw)
    m.create(folder)
    msg = ("From: x@example.org\r\nSubject: %s\r\n\r\nbody of %s\r\n"
           % (subject, subject)).encode()
    typ, data = m.append(folder, flags, None, msg)
    print("append", typ, data[0].decode())
    m.logout()


def cmd_imap_concurrency(smtp_port, pop3_port, imap_port, user, pw, secs):
    import imaplib
    import poplib
    end = time.time() + float(secs)
    lock = threading.Lock()
    sent, removed, errors = [], [], []

    def subj_of(raw):
        m = re.search(rb"^Subject: (n[0-9]+)", raw, re.M)
        return m.group(1).decode() if m else None

    def smtp_worker():
        i = 0
        while time.time() < end:
            i += 1
            s = "n%06d" % i
            try:
                with smtplib.SMTP("127.0.0.1", int(smtp_port), timeout=20) as c:
                    c.sendmail("x@example.org", [user + "@example.org"],
                               "Subject: %s\r\n\r\nbody %s\r\n" % (s, s))
                with lock:
                    sent.append(s)
            except (OSError, smtplib.SMTPException) as e:
                errors.append("smtp %r" % e)
            time.sleep(0.01)

    def pop3_worker():
        while time.time() < end:
            try:
                p = poplib.POP3("127.0.0.1", int(pop3_port), timeout=20)
                p.user(user)
                p.pass_(pw)
                if p.stat()[0] > 0:
                    raw = b"\n".join(p.retr(1)[1])
                    p.dele(1)
                    bye = p.quit()
                    # gone by this QUIT only if the store says it deleted it
                    # (an IMAP session may have expunged it meanwhile)
                    if b"(1 messages deleted)" in bye:
                        with lock:
                            removed.append(("pop3", subj_of(raw)))
                else:
                    p.quit()
            except poplib.error_proto as e:
                if b"IN-USE" not in str(e).encode():
                    errors.append("pop3 %r" % e)
            except OSError as e:
                errors.append("pop3 %r" % e)
            time.sleep(0.2)

    def imap_worker(k):
        try:
            m = imaplib.IMAP4("127.0.0.1", int(imap_port), timeout=20)
            m.login(user, pw)
            m.select("INBOX")
            while time.time() < end:
                m.noop()
                typ, data = m.uid("SEARCH", None, "NOT DELETED")
                uids = data[0].split()
                if len(uids) >= 3:
                    uid = uids[k % 2 + 1]
                    typ, d = m.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                    subj = None
                    for x in d:
                        if isinstance(x, tuple):
                            subj = subj_of(x[1])
                    typ, _ = m.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)")
                    if typ == "OK" and subj:
                        # the other session may have expunged it first: an
                        # IMAP removal is counted as an attempt, and a
                        # message is lost only if no one tried
                        typ, d = m.uid("EXPUNGE", uid)
                        if typ == "OK":
                            with lock:
                                removed.append(("imap%d" % k, subj))
                time.sleep(0.1)
            m.logout()
        except (imaplib.IMAP4.error, OSError) as e:
            errors.append("imap%d %r" % (k, e))

    ts = [threading.Thread(target=smtp_worker), threading.Thread(target=pop3_worker),
          threading.Thread(target=imap_worker, args=(0,)),
          threading.Thread(target=imap_worker, args=(1,))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(float(secs) + 60)
    # what is left, read over IMAP
    m = imaplib.IMAP4("127.0.0.1", int(imap_port), timeout=20)
    m.login(user, pw)
    typ, data = m.select("INBOX", readonly=True)
    left = []
    if data[0] != b"0":
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        left = [subj_of(x[1]) for x in data if isinstance(x, tuple)]
    m.logout()
    gone = [s for _, s in removed]
    lost = [s for s in sent if s not in left and s not in gone]
    dup = [s for s in set(left) if left.count(s) > 1]
    # POP3 says what its QUIT deleted: no message is deleted by two
    # POP3 sessions, and none that one deleted is still there
    pop3_gone = [s for w, s in removed if w == "pop3"]
    twice = [s for s in set(pop3_gone) if pop3_gone.count(s) > 1] + \
        [s for s in set(gone) if s in left]
    print("sent", len(sent), "removed", len(gone), "by", sorted(set(w for w, _ in removed)),
          "kept", len(left))
    print("lost", len(lost), "dup", len(dup), "removed-twice", len(twice))
    for s in twice[:5]:
        print("twice:", s, [w for w, x in removed if x == s], "left" if s in left else "")
    for e in errors[:5]:
        print("error:", e)
    if lost or dup or twice or errors:
        print("FAIL:", lost[:5], dup[:5], twice[:5])
        sys.exit(1)


def cmd_imap_starttls(port, cafile, user, pw):
    import imaplib
    m = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
    print("before:", " ".join(sorted(m.capabilities)))
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    m.starttls(ssl_context=ctx)
    print("after:", " ".join(sorted(m.capabilities)))
    typ, _ = m.login(user, pw)
    print("login:", typ)
    m.logout()


def cmd_imap_pop3_expunge(port, pop3_port, user, pw):
    import imaplib
    m = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
    m.login(user, pw)
    m.select("INBOX")
    p = poplib_login(pop3_port, user, pw)
    p.dele(1)
    p.quit()
    typ, data = m.fetch("1", "(BODY.PEEK[TEXT])")
    print("fetch after pop3 dele:", typ, data[0][1].decode().strip())
    tag = m._new_tag().decode()
    m.send(("%s NOOP\r\n" % tag).encode())
    while True:
        line = m.readline().decode().strip()
        if line.startswith(tag):
            break
        print("noop:", line)
    typ, data = m.select("INBOX")
    print("exists after:", data[0].decode())
    m.logout()


def cmd_imap_idle(port, user, pw, smtp_port):
    import imaplib
    import smtplib
    m = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
    m.login(user, pw)
    m.select("INBOX")
    tag = m._new_tag().decode()
    m.send(("%s IDLE\r\n" % tag).encode())
    print("idle:", m.readline().decode().strip())
    t0 = time.time()
    with smtplib.SMTP("127.0.0.1", int(smtp_port), timeout=20) as c:
        c.sendmail("x@example.org", [user + "@example.org"],
                   "Subject: wake\r\n\r\nwake up\r\n")
    sent = time.time()
    got = []
    m.sock.settimeout(10)
    while True:
        line = m.readline().decode().strip()
        got.append(line)
        if line.endswith("EXISTS"):
            break
    print("after", round(time.time() - sent, 3), "s:", " | ".join(got))
    m.send(b"DONE\r\n")
    print("done:", m.readline().decode().strip())
    m.logout()


def after_upgrade(sock, quit_ok, quit=b"QUIT\r\n"):
    """TLS handshake on sock; no answer may come for 2 s (the command
    injected behind STARTTLS/STLS was discarded); quit gets quit_ok."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(sock, server_hostname="mail.example.org")
    t.settimeout(2)
    try:
        data = t.recv(1000)
        print("UNEXPECTED answer to the injected command:", data)
        sys.exit(1)
    except socket.timeout:
        pass
    t.settimeout(10)
    t.sendall(quit)
    first = t.recv(1000).decode()
    print("after QUIT:", first)
    assert first.startswith(quit_ok), first


def cmd_tls_inject(proto, port):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    f = s.makefile("rb")
    if proto == "smtp":
        def smtp_reply():
            lines = []
            while True:
                line = f.readline().decode()
                lines.append(line)
                if len(line) < 4 or line[3] != "-":
                    return lines
        assert smtp_reply()[0].startswith("220")
        s.sendall(b"EHLO x\r\n")
        smtp_reply()
        s.sendall(b"STARTTLS\r\nRSET\r\n")          # one write: RSET is injected
        assert smtp_reply()[0].startswith("220"), "no 220 for STARTTLS"
        after_upgrade(s, "221")
        print("no answer to the injected RSET")
    elif proto == "imap":
        assert f.readline().startswith(b"* OK")
        s.sendall(b"a STARTTLS\r\nb LOGIN alice alicepw\r\n")   # LOGIN injected
        line = f.readline()
        assert line.startswith(b"a OK"), line
        after_upgrade(s, "* BYE", b"z LOGOUT\r\n")
        print("no answer to the injected LOGIN")
    else:
        assert f.readline().startswith(b"+OK")
        s.sendall(b"STLS\r\nUSER x\r\n")            # one write: USER is injected
        line = f.readline()
        assert line.startswith(b"+OK"), line
        after_upgrade(s, "+OK")
        print("no answer to the injected USER")


# ---- shared pieces of the scenarios below ---------------------------------

def open_lines(port, timeout=T, host="127.0.0.1", src=None):
    """A connection and a line reader on it: (socket, its makefile("rb"))."""
    s = socket.create_connection((host, int(port)), timeout=timeout,
                                 source_address=(src, 0) if src else None)
    return s, s.makefile("rb")


def final_line(f):
    """The last line of an SMTP reply read from f (b"" at EOF)."""
    while True:
        line = f.readline()
        if line[3:4] != b"-":
            return line


def line_cmd(s, f, line):
    """Sends one command line (str or bytes) and reads one answer line;
    returns it decoded, CRLF stripped (POP3 answers are one line)."""
    if isinstance(line, str):
        line = line.encode()
    s.sendall(line + b"\r\n")
    return f.readline().decode().rstrip("\r\n")


def tls_ctx():
    """A client TLS context that accepts the tests' self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def poplib_login(port, user, pw, host="127.0.0.1", timeout=20):
    """poplib: connected and logged in (USER/PASS); raises on refusal."""
    import poplib
    p = poplib.POP3(host, int(port), timeout=timeout)
    p.user(user)
    p.pass_(pw)
    return p


def read_all(s, secs, until=None):
    """Everything the server sends within secs (or until the bytes `until`
    arrived, or EOF)."""
    buf = b""
    t = time.time()
    while time.time() - t < secs:
        if until is not None and until in buf:
            break
        b = s.recv(65536)
        if not b:
            break
        buf += b
    return buf


def parse_target(spec):
    """[SRC@]HOST:PORT (an IPv6 HOST in brackets) -> (src, host, port)."""
    src = None
    if "@" in spec:
        src, spec = spec.split("@", 1)
    if spec.startswith("["):
        host, port = spec[1:].split("]:", 1)
    else:
        host, port = spec.rsplit(":", 1)
    return src, host, int(port)


# ---- greetings and connections ----------------------------------------------

def cmd_greets(port, prefix):
    """The readiness check of helpers.bash: exit 0 if the greeting on PORT
    starts with PREFIX (QUIT sent), 1 otherwise or on any error."""
    try:
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=3)
        f = s.makefile("rb")
        line = f.readline().decode("latin-1")
        ok = line.startswith(prefix)
        s.sendall(b"QUIT\r\n")
        f.readline()
        s.close()
        sys.exit(0 if ok else 1)
    except Exception:  # noqa: BLE001 - any failure is "not ready"
        sys.exit(1)


def cmd_greet(*args):
    """greet [--burst] [--quit] [--timeout S] TARGET...: prints each
    TARGET's greeting line, in order; every connection is held to the end."""
    args = list(args)
    burst = quit_all = False
    timeout = T
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--burst":
            burst = True
        elif opt == "--quit":
            quit_all = True
        elif opt == "--timeout":
            timeout = float(args.pop(0))
        else:
            fail("greet: unknown option " + opt)
    held = []

    def conn(spec):
        src, host, port = parse_target(spec)
        return socket.create_connection((host, port), timeout=timeout,
                                        source_address=(src, 0) if src else None)
    if burst:
        # every connection first, then the greetings: a burst in the queue
        held = [conn(spec) for spec in args]
        for s in held:
            print(s.makefile("rb").readline().decode("latin-1").strip(), flush=True)
    else:
        for spec in args:
            s = conn(spec)
            held.append(s)
            print(s.makefile("rb").readline().decode("latin-1").strip(), flush=True)
    for s in held:
        if quit_all:
            s.sendall(b"QUIT\r\n")
        s.close()


def cmd_greetings(port, src, n, ncon=None):
    """N sessions one after another from SRC, then NCON (default N) at once;
    prints each greeting's first word on "seq" then "con" lines."""
    port, n = int(port), int(n)
    ncon = int(ncon) if ncon is not None else n

    def greet():
        s = socket.socket()
        s.settimeout(10)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        line = s.makefile("rb").readline().decode().split(" ")[0].strip()
        return s, line
    for _ in range(n):
        s, line = greet()
        print("seq", line)
        s.close()
    held = []
    for _ in range(ncon):
        s, line = greet()
        print("con", line)
        held.append(s)
    for s in held:
        s.close()


def cmd_hold(port, secs):
    """Connects, reads nothing, closes after SECS."""
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    time.sleep(float(secs))
    s.close()


def cmd_greet_noop(smtp, pop3):
    """The greeting, NOOP and QUIT on both services."""
    s, f = open_lines(smtp, 5)
    assert f.readline().startswith(b"220 mail.example.org ESMTP postern"), "smtp greeting"
    s.sendall(b"NOOP\r\n"); assert f.readline().startswith(b"250"), "smtp noop"
    s.sendall(b"QUIT\r\n"); assert f.readline().startswith(b"221"), "smtp quit"
    p, g = open_lines(pop3, 5)
    assert g.readline().startswith(b"+OK postern ready"), "pop3 greeting"
    p.sendall(b"NOOP\r\n"); assert g.readline().startswith(b"-ERR"), "pop3 noop before login"
    p.sendall(b"QUIT\r\n"); assert g.readline().startswith(b"+OK"), "pop3 quit"
    print("ok")


def cmd_fd_flood(port, n, secs):
    """Opens N connections and holds them; prints how many got 220 and 421
    (and "silent" for no answer in SECS), then, on two of the held 220
    sessions, delivers a message each and prints "delivered K"."""
    port, n, secs = int(port), int(n), float(secs)
    socks = []
    for i in range(n):
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    deadline = time.time() + secs
    got = {"220": [], "421": [], "silent": []}
    for s in socks:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            line = s.recv(512)
        except (socket.timeout, OSError):
            line = b""
        got.get(line[:3].decode("latin-1"), got["silent"]).append(s)
    print("220 %d 421 %d silent %d" % (len(got["220"]), len(got["421"]), len(got["silent"])))
    delivered = 0
    for s in got["220"][:2]:
        s.settimeout(30)    # 300 workers starting (under ASan too) share the CPU
        f = s.makefile("rb")
        try:
            for c in (b"HELO t", b"MAIL FROM:<a@example.net>", b"RCPT TO:<alice@example.org>",
                      b"DATA", b"Subject: held\r\n\r\nbody\r\n.", b"QUIT"):
                s.sendall(c + b"\r\n")
                r = f.readline()
        except OSError as e:
            r = str(e).encode()
        print("last reply", r)
        delivered += 1 if r.startswith(b"221") else 0
    print("delivered %d" % delivered)
    for s in socks:
        s.close()


def cmd_reload_hostname(port, pid, conf):
    """An open SMTP session, then the hostname changed in CONF and SIGHUP:
    new sessions greet with mx2.example.org, the open one still works."""
    import signal
    port, pid = int(port), int(pid)
    old, of = open_lines(port, 10)
    assert of.readline().startswith(b"220 mail.example.org ")
    text = open(conf).read().replace("hostname mail.example.org", "hostname mx2.example.org")
    open(conf, "w").write(text)
    os.kill(pid, signal.SIGHUP)
    deadline = time.time() + 10
    while True:
        s, f = open_lines(port, 10)
        g = f.readline()
        s.sendall(b"QUIT\r\n"); f.readline(); s.close()
        if g.startswith(b"220 mx2.example.org "):
            break
        assert time.time() < deadline, "new hostname never seen: %r" % g
        time.sleep(0.2)
    # the session opened before the reload still works
    old.sendall(b"NOOP\r\n")
    assert of.readline().startswith(b"250"), "old session cut"
    old.sendall(b"QUIT\r\n")
    assert of.readline().startswith(b"221")


def cmd_sigterm_421(port, pid):
    """A session after EHLO, then SIGTERM to PID: 421 within 6 s."""
    import signal
    s, f = open_lines(port, 10)
    assert f.readline().startswith(b"220")
    s.sendall(b"EHLO t\r\n")
    while True:
        line = f.readline()
        if line[3:4] == b" " or not line:    # (EOF: the assert below says so)
            break
    os.kill(int(pid), signal.SIGTERM)
    t0 = time.time()
    line = f.readline()
    assert line.startswith(b"421"), line
    assert time.time() - t0 < 6, "421 came too late"


# ---- SMTP scenarios ---------------------------------------------------------

def cmd_send_report(port, frm, *rcpts):
    """One message (EHLO client.example.net), every RCPT must get 250;
    prints the DATA reply: "CODE TEXT" ("250 2.0.0 Ok: queued as ID")."""
    s = smtplib.SMTP("127.0.0.1", int(port), timeout=30)
    s.ehlo("client.example.net")
    s.mail(frm)
    for r in rcpts:
        code, _ = s.rcpt(r)
        assert code == 250, (r, code)
    code, resp = s.data(b"Subject: log test\r\n\r\nhello\r\n")
    print(code, resp.decode())
    s.quit()


def cmd_send_codes(port, frm, *rcpts):
    """One message of ~2 KB (smtplib sendmail); prints "250", or the DATA
    refusal "CODE TEXT", or each RCPT refusal; never raises for those."""
    body = "Subject: t\r\n\r\n" + ("x" * 70 + "\r\n") * 28
    try:
        s = smtplib.SMTP("127.0.0.1", int(port), timeout=10)
        s.sendmail(frm, list(rcpts), body)
        print("250")
        s.quit()
    except smtplib.SMTPDataError as e:
        print(e.smtp_code, e.smtp_error.decode(errors="replace"))
    except smtplib.SMTPRecipientsRefused as e:
        for code, msg in e.recipients.values():
            print(code, msg.decode(errors="replace"))


def cmd_data_codes(port, frm, rcpt, *files):
    """One session (EHLO c.example): for each FILE MAIL FROM, RCPT TO, DATA
    with FILE's bytes; prints each DATA reply as "CODE TEXT"."""
    c = smtplib.SMTP("127.0.0.1", int(port), timeout=10)
    c.ehlo("c.example")
    for path in files:
        with open(path, "rb") as f:
            msg = f.read()
        c.mail(frm)
        c.rcpt(rcpt)
        code, text = c.data(msg)
        print(code, text.decode(errors="replace"))
    c.quit()


def cmd_smtplib_tour(port):
    """smtplib: send_message, EHLO extensions, a null sender, postmaster."""
    from email.message import EmailMessage
    m = EmailMessage()
    m["From"] = "py@remote.example"
    m["To"] = "carol@example.org"
    m["Subject"] = "via smtplib"
    m.set_content("smtplib body\n")
    with smtplib.SMTP("127.0.0.1", int(port), timeout=10) as c:
        c.send_message(m)
        code, _ = c.ehlo()
        assert code == 250
        assert c.has_extn("pipelining") and c.has_extn("size") and c.has_extn("enhancedstatuscodes")
        c.sendmail("", ["postmaster@example.net"], b"Subject: bounce\r\n\r\nnull sender\r\n")
        c.sendmail("a@remote.example", ["<postmaster>"], b"Subject: pm\r\n\r\nbare postmaster\r\n")
    print("sent")


def cmd_utf8_send(port):
    """smtplib: a UTF-8 sender with SMTPUTF8 and BODY=8BITMIME to alice."""
    with smtplib.SMTP("127.0.0.1", int(port), timeout=10) as c:
        c.ehlo("c.example")
        assert c.has_extn("smtputf8")
        c.sendmail("jörg@bücher.example", ["alice@example.org"],
                   "Subject: grüße\r\n\r\nÜmlauts ünd ß\r\n".encode(),
                   mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    print("sent")


def cmd_noop_deadline(port):
    """A NOOP every 0.5 s: 421 4.4.2 "Session time limit" after 2.5-6 s,
    then the connection is closed."""
    s, f = open_lines(port, 10)
    assert f.readline().startswith(b"220")
    t0 = time.time()
    line = b""
    for i in range(40):
        try:
            s.sendall(b"NOOP\r\n")
        except OSError:
            break
        line = f.readline()
        if not line.startswith(b"250"):
            break
        time.sleep(0.5)
    took = time.time() - t0
    print(line, round(took, 1))
    assert line.startswith(b"421 4.4.2"), line
    assert b"Session time limit" in line, line
    assert 2.5 < took < 6, took
    assert f.readline() == b""   # closed


def envelope(s, f):
    """EHLO t, MAIL, RCPT alice, DATA; asserts the greeting and the 354."""
    assert final_line(f).startswith(b"220")
    for c in (b"EHLO t\r\n", b"MAIL FROM:<a@example.net>\r\n",
              b"RCPT TO:<alice@example.org>\r\n", b"DATA\r\n"):
        s.sendall(c)
        r = final_line(f)
    assert r.startswith(b"354"), r


def cmd_slow_data(port):
    """5 s of DATA a line every 0.5 s: 250, and the session goes on."""
    s, f = open_lines(port, 10)
    envelope(s, f)
    s.sendall(b"Subject: slow\r\n\r\n")
    for i in range(10):          # 5 s of DATA, longer than the command deadline
        s.sendall(b"line %d\r\n" % i)
        time.sleep(0.5)
    s.sendall(b".\r\n")
    r = final_line(f)
    assert r.startswith(b"250"), r
    s.sendall(b"NOOP\r\n")
    r = final_line(f)
    assert r.startswith(b"250"), r
    s.sendall(b"QUIT\r\n")
    assert final_line(f).startswith(b"221")
    print("ok")


def cmd_trickle_data(port):
    """DATA one byte every 0.5 s: 421 4.4.2 after 2.5-8 s."""
    s, f = open_lines(port, 15)
    envelope(s, f)
    t0 = time.time()
    line = None
    try:
        # one byte every 0.5 s: each block well inside smtp-data-timeout
        for i in range(40):
            s.sendall(b"x")
            time.sleep(0.5)
    except OSError:
        pass
    s.settimeout(5)
    line = f.readline()
    took = time.time() - t0
    print(line, round(took, 1))
    assert line.startswith(b"421 4.4.2"), line
    assert 2.5 < took < 8, took


def cmd_harvest(port, n):
    """EHLO, MAIL, a known RCPT, then N unknown RCPTs pipelined (RSET + MAIL
    after the third); prints the reply codes in order, then "closed" or
    "open"."""
    port, n = int(port), int(n)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    out = b"EHLO t\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<alice@example.org>\r\n"
    for i in range(n):
        out += b"RCPT TO:<nobody%d@example.org>\r\n" % i
        if i == 2:
            out += b"RSET\r\nMAIL FROM:<a@example.net>\r\n"
    try:
        s.sendall(out)
    except OSError:
        pass
    buf = b""
    deadline = time.time() + 20
    closed = False
    while time.time() < deadline:
        try:
            c = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            closed = True
            break
        if not c:
            closed = True
            break
        buf += c
    codes = [l[:3].decode() for l in buf.split(b"\r\n") if l[3:4] == b" "]
    print(" ".join(codes))
    print("closed" if closed else "open")


def cmd_steps(port):
    """One whole session written 1, 7 and 10000 bytes at a time: the same
    final reply codes each time; prints "STEP CODES" for each."""
    sess = (b"EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\n"
            b"DATA\r\nSubject: bytewise\r\n\r\nx\r\n.\r\nNOOP\r\nQUIT\r\n")

    def run(step):
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
        for i in range(0, len(sess), step):
            s.sendall(sess[i:i + step])
            if step == 1:
                time.sleep(0.001)
        buf = read_all(s, 10)
        return [l[:3] for l in buf.split(b"\r\n") if len(l) > 3 and l[3:4] == b" "]
    want = [b"220", b"250", b"250", b"250", b"354", b"250", b"250", b"221"]
    for step in (1, 7, 10000):
        got = run(step)
        print(step, b" ".join(got).decode())
        assert got == want, got


def cmd_help_flood(port, n):
    """EHLO, N HELP and QUIT in one write; prints the number of complete
    HELP replies and whether the stream ended with the QUIT reply."""
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
    s.sendall(b"EHLO c.example\r\n" + b"HELP\r\n" * int(n) + b"QUIT\r\n")
    buf = read_all(s, 20)
    print(buf.count(b"\r\n214 2.0.0 End of HELP info\r\n"), buf.endswith(b"Bye\r\n"))


def cmd_many_rcpts(port, n):
    """EHLO, MAIL, N RCPTs cycling over alice bob carol team postmaster and
    DATA in one write, then a message and QUIT; prints the transcript."""
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
    batch = b"EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\n"
    users = [b"alice", b"bob", b"carol", b"team", b"postmaster"]
    for i in range(int(n)):
        batch += b"RCPT TO:<" + users[i % 5] + b"@example.org>\r\n"
    batch += b"DATA\r\n"
    s.sendall(batch)
    buf = b""
    t = time.time()
    while buf.count(b"\r\n354 ") == 0 and time.time() - t < 20:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    s.sendall(b"Subject: many\r\n\r\nmany\r\n.\r\nQUIT\r\n")
    while b"\r\n221 " not in buf and time.time() - t < 20:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    sys.stdout.write(buf.decode())


def cmd_rcpt_limit(port, n):
    """EHLO, MAIL, N times RCPT alice, QUIT in one write; prints the number
    of "250 2.1.5" and of "452 4.5.3" replies."""
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
    batch = (b"EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\n" +
             b"RCPT TO:<alice@example.org>\r\n" * int(n) + b"QUIT\r\n")
    s.sendall(batch)
    buf = read_all(s, 20, b"\r\n221 ")
    print(buf.count(b"\r\n250 2.1.5"), buf.count(b"\r\n452 4.5.3"))


# ---- POP3 scenarios ---------------------------------------------------------

def cmd_pop3_stat(port, user, pw, host="127.0.0.1"):
    """poplib: log in, print STAT's "COUNT SIZE", QUIT; raises on refusal."""
    p = poplib_login(port, user, pw, host)
    n, size = p.stat()
    print(n, size)
    p.quit()


def cmd_pop3_take(port, user, pw, *nums):
    """poplib: log in, RETR and DELE each message number, QUIT."""
    p = poplib_login(port, user, pw)
    for n in nums:
        p.retr(int(n))
        p.dele(int(n))
    p.quit()


def cmd_pop3_timed_pass(port, user, pw):
    """USER, then PASS timed: prints "SECONDS ANSWER" ("0.012 -ERR ...")."""
    s, f = open_lines(port, 30)
    f.readline()
    s.sendall(b"USER " + user.encode() + b"\r\n"); f.readline()
    t = time.time()
    s.sendall(b"PASS " + pw.encode() + b"\r\n")
    line = f.readline().decode().rstrip()
    print("%.3f %s" % (time.time() - t, line))
    s.sendall(b"QUIT\r\n"); f.readline()


def cmd_pop3_guess_flood(port, secs):
    """40 clients, each from its own 127.0.1.x, fail logins on alice for
    SECS; half-way alice logs in from 127.0.0.2 and a guessing address
    tries the right password.  Prints the owner's "SECONDS ANSWER", the
    guesser's, then the number of failed logins."""
    port, secs = int(port), float(secs)
    stop = time.time() + secs
    fails = [0]
    lock = threading.Lock()

    def session(src, user, pw, tries, until=None):
        """Up to tries PASS (none after until); (seconds, answer) of the last."""
        s, f = open_lines(port, 30, src=src)
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


def cmd_poplib_tour(port):
    """poplib: CAPA, STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP, QUIT on
    alice's two messages (the second has "." and ".. two dots" lines)."""
    import poplib
    p = poplib.POP3("127.0.0.1", int(port), timeout=20)
    assert p.getwelcome().startswith(b"+OK postern ready")
    caps = p.capa()
    for c in ("USER", "SASL", "TOP", "UIDL", "RESP-CODES", "PIPELINING"):
        assert c in caps, (c, caps)
    p.user("alice"); p.pass_("alicepw")
    n, size = p.stat()
    assert n == 2
    resp, listing, _ = p.list()
    assert sum(int(l.split()[1]) for l in listing) == size
    resp, uids, _ = p.uidl()
    assert len(set(u.split()[1] for u in uids)) == 2
    resp, lines, octets = p.retr(2)
    assert b"." in lines and b".. two dots" in lines, lines
    resp, top, _ = p.top(1, 0)
    assert top[-1] == b"" and any(l.startswith(b"Subject: first") for l in top), top
    p.dele(1)
    try:
        p.retr(1); raise SystemExit("retr of deleted message worked")
    except poplib.error_proto:
        pass
    p.rset()
    assert p.stat()[0] == 2
    p.noop()
    p.quit()
    print("ok")


def cmd_poplib_bodies(port, n):
    """poplib: CAPA has PIPELINING; alice has N messages, message i ends
    with the line "body i"."""
    import poplib
    n = int(n)
    p = poplib.POP3("127.0.0.1", int(port), timeout=20)
    caps = p.capa()
    assert "PIPELINING" in caps, caps
    p.user("alice"); p.pass_("alicepw")
    count, size = p.stat()
    assert count == n, count
    for i in range(1, n + 1):
        resp, lines, octets = p.retr(i)
        assert lines[-1] == ("body %d" % i).encode(), lines
    p.quit()
    print("ok")


def pop3_conn(port):
    s, f = open_lines(port, 20)
    assert f.readline().startswith(b"+OK postern ready")
    return s, f


def cmd_pop3_lock_inuse(port):
    """alice's two messages: a second session gets -ERR [IN-USE] (PASS and
    AUTH PLAIN); the first goes on and commits its DELE; then the maildrop
    is free again."""
    a = pop3_conn(port)
    assert line_cmd(*a, "USER alice").startswith("+OK")
    assert line_cmd(*a, "PASS alicepw").startswith("+OK maildrop has 2")
    assert line_cmd(*a, "DELE 1") == "+OK message 1 deleted"
    b = pop3_conn(port)
    assert line_cmd(*b, "USER alice").startswith("+OK")
    r = line_cmd(*b, "PASS alicepw")
    assert r.startswith("-ERR [IN-USE]"), r
    # AUTH PLAIN gets the same answer
    r = line_cmd(*b, "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=")
    assert r.startswith("-ERR [IN-USE]"), r
    assert line_cmd(*b, "QUIT") == "+OK postern signing off"
    # the first session is unaffected
    r = line_cmd(*a, "STAT")
    assert r.startswith("+OK 1 "), r
    r = line_cmd(*a, "QUIT")
    assert r == "+OK postern signing off (1 messages deleted)", r
    # and now the maildrop is free again
    c = pop3_conn(port)
    line_cmd(*c, "USER alice")
    r = line_cmd(*c, "PASS alicepw")
    assert r.startswith("+OK maildrop has 1 messages"), r
    line_cmd(*c, "QUIT")
    print("ok")


def cmd_pop3_two_accounts(port):
    """alice (2 messages) and bob (1) logged in at once."""
    a = poplib_login(port, "alice", "alicepw")
    b = poplib_login(port, "bob", "bobpw")
    assert b.stat()[0] == 1
    assert a.stat()[0] == 2
    b.quit(); a.quit()
    print("ok")


def cmd_pop3_drop_release(port):
    """alice logged in, then the connection dropped: within 10 s a new
    session logs in (only [IN-USE] meanwhile) and sees 2 messages."""
    import poplib
    s, f = open_lines(port, 20)
    f.readline()
    s.sendall(b"USER alice\r\nPASS alicepw\r\n")
    f.readline(); assert f.readline().startswith(b"+OK maildrop")
    f.close()
    s.close()   # (a socket with a makefile() open is not really closed)
    deadline = time.time() + 10
    while True:
        p = poplib.POP3("127.0.0.1", int(port), timeout=20)
        p.user("alice")
        try:
            p.pass_("alicepw")
            break
        except poplib.error_proto as e:
            assert b"[IN-USE]" in e.args[0], e
            p.quit()
            assert time.time() < deadline, "lock never released"
            time.sleep(0.2)
    assert p.stat()[0] == 2
    p.quit()
    print("ok")


def cmd_pop3_store_kill(port, store, when):
    """alice's 2 messages; the store (pid STORE) is killed -9
    when=dele: after DELE 1; QUIT must get -ERR [SYS/TEMP];
    when=retr: right after login; RETR 1 gets -ERR [SYS/TEMP], then EOF."""
    import signal
    s, f = open_lines(port, 30)
    f.readline()
    if when == "dele":
        line_cmd(s, f, b"USER alice")
        assert line_cmd(s, f, b"PASS alicepw").startswith("+OK maildrop has 2")
        assert line_cmd(s, f, b"DELE 1") == "+OK message 1 deleted"
        os.kill(int(store), signal.SIGKILL)
        time.sleep(0.5)
        r = line_cmd(s, f, b"QUIT")
        assert r.startswith("-ERR [SYS/TEMP]"), r
    elif when == "retr":
        s.sendall(b"USER alice\r\nPASS alicepw\r\n"); f.readline(); f.readline()
        os.kill(int(store), signal.SIGKILL)
        time.sleep(0.5)
        s.sendall(b"RETR 1\r\n")
        r = f.readline()
        assert r.startswith(b"-ERR [SYS/TEMP]"), r
        assert f.readline() == b""
    else:
        fail("pop3-store-kill: dele or retr, not " + when)
    print("ok")


def dele_one(port):
    """USER alice, PASS, DELE 1 in one write; the three answers read."""
    s, f = open_lines(port, 20)
    f.readline()
    s.sendall(b"USER alice\r\nPASS alicepw\r\nDELE 1\r\n")
    for _ in range(3):
        f.readline()
    return s, f


def cmd_pop3_autologout(port):
    """DELE 1, then silence: "-ERR autologout; idle for too long" after
    1.5-6 s, then EOF."""
    s, f = dele_one(port)
    t = time.time()
    line = f.readline()
    assert line == b"-ERR autologout; idle for too long\r\n", line
    assert f.readline() == b""
    assert 1.5 < time.time() - t < 6, time.time() - t
    print("ok")


def cmd_pop3_shutdown(port, pid):
    """DELE 1, then SIGTERM to the master PID: -ERR [SYS/TEMP] server
    shutting down."""
    import signal
    s, f = dele_one(port)
    os.kill(int(pid), signal.SIGTERM)
    line = f.readline()
    assert line == b"-ERR [SYS/TEMP] server shutting down\r\n", line
    print("ok")


def cmd_pop3_late_arrival(pop3, smtp):
    """alice has 3 messages; one arriving during her session is not shown
    (STAT, LIST, RETR 4); after DELE 1-3 and QUIT only it is left."""
    import poplib
    p = poplib_login(pop3, "alice", "alicepw")
    assert p.stat()[0] == 3
    s = smtplib.SMTP("127.0.0.1", int(smtp), timeout=20)
    s.sendmail("x@example.com", ["alice@example.org"], b"Subject: late\r\n\r\nlate body\r\n")
    s.quit()
    assert p.stat()[0] == 3
    assert len(p.list()[1]) == 3
    try:
        p.retr(4)
        raise SystemExit("RETR 4 worked")
    except poplib.error_proto:
        pass
    for i in (1, 2, 3):
        p.dele(i)
    p.quit()
    p = poplib_login(pop3, "alice", "alicepw")
    assert p.stat()[0] == 1
    assert b"late body" in p.retr(1)[1]
    p.quit()
    print("ok")


def cmd_pop3_hold(port, d, user, pw):
    """A POP3 session held open: connects, creates D/held.1, logs in as USER
    when D/go.login appears, writes the PASS answer to D/held.2, quits when
    D/go.quit appears (each wait at most 20 s)."""
    def wait(name):
        end = time.time() + 20
        while not os.path.exists(os.path.join(d, name)) and time.time() < end:
            time.sleep(0.05)
    s, f = open_lines(port, 20)
    f.readline()
    open(os.path.join(d, "held.1"), "w").close()
    wait("go.login")
    s.sendall(b"USER %s\r\n" % user.encode()); f.readline()
    s.sendall(b"PASS %s\r\n" % pw.encode()); ok = f.readline()
    open(os.path.join(d, "held.2"), "w").write(ok.decode())
    wait("go.quit")
    s.sendall(b"QUIT\r\n"); f.readline()


def cmd_auth_stall(pop3, smtp, auth):
    """The auth process AUTH is stopped: a PASS waits while 5 deliveries are
    answered within 2 s each; AUTH killed, the PASS gets -ERR [SYS/TEMP]."""
    import signal
    s, f = open_lines(pop3, 30)
    f.readline()
    s.sendall(b"USER alice\r\n"); f.readline()
    s.sendall(b"PASS alicepw\r\n")          # waits: the auth process is stopped
    time.sleep(0.5)
    # meanwhile the store delivers, each answer well within a second
    for i in range(5):
        t0 = time.monotonic()
        c = smtplib.SMTP("127.0.0.1", int(smtp), timeout=10)
        c.sendmail("x@example.com", ["bob@example.org"], b"Subject: %d\r\n\r\nbody\r\n" % i)
        c.quit()
        el = time.monotonic() - t0
        print("delivery %d: %.3f s" % (i, el))
        assert el < 2.0, el
    os.kill(int(auth), signal.SIGKILL)
    r = f.readline().decode().rstrip("\r\n")
    print("login answer:", r)
    assert r.startswith("-ERR [SYS/TEMP]"), r
    print("ok")


def cmd_roundtrip(sport, pport, *files):
    """Sends each FILE (CRLF lines) to alice over SMTP (BODY=8BITMIME when
    offered), then RETRs each over a raw socket: the LIST size, the octet
    count and the bytes (after the trace headers, unstuffed) must match.
    Prints "ok N"."""
    sent = [open(f, "rb").read() for f in files]
    s = smtplib.SMTP("127.0.0.1", int(sport), timeout=120)
    s.ehlo()
    opts = ["BODY=8BITMIME"] if s.has_extn("8bitmime") else []
    for m in sent:
        s.sendmail("sender@example.com", ["alice@example.org"], m, mail_options=opts)
    s.quit()

    p, f = open_lines(pport, 120)

    def line():
        l = f.readline(1 << 20)
        assert l.endswith(b"\r\n"), l[:80]
        return l
    line()
    p.sendall(b"USER alice\r\nPASS alicepw\r\nLIST\r\n")
    line(); assert line().startswith(b"+OK maildrop")
    assert line().startswith(b"+OK")
    sizes = []
    while True:
        l = line()
        if l == b".\r\n":
            break
        sizes.append(int(l.split()[1]))
    assert len(sizes) == len(sent), (sizes, len(sent))
    for i, orig in enumerate(sent, 1):
        p.sendall(b"RETR %d\r\n" % i)
        l = line()
        m = re.match(rb"\+OK (\d+) octets\r\n$", l)
        assert m, l
        octets = int(m.group(1))
        assert octets == sizes[i - 1], (octets, sizes[i - 1])
        chunks = []
        n = 0
        while True:
            l = line()
            if l == b".\r\n":
                break
            if l.startswith(b"."):
                assert l.startswith(b".."), l[:80]
                l = l[1:]
            chunks.append(l)
            n += len(l)
        got = b"".join(chunks)
        assert n == octets, (n, octets)
        # drop the trace headers postern prepends: Return-Path, then Received
        # (with its continuation lines)
        assert got.startswith(b"Return-Path: "), got[:100]
        hdr = re.match(rb"Return-Path: [^\r\n]*\r\n(Received: [^\r\n]*\r\n([ \t][^\r\n]*\r\n)*)+", got)
        assert hdr, got[:300]
        body = got[hdr.end():]
        if body != orig:
            k = next((j for j in range(min(len(body), len(orig))) if body[j] != orig[j]), None)
            raise SystemExit("message %d differs at %s: sent %r got %r" %
                             (i, k, orig[k - 20:k + 40] if k else orig[:60], body[k - 20:k + 40] if k else body[:60]))
    p.sendall(b"QUIT\r\n")
    assert line().startswith(b"+OK postern signing off")
    print("ok %d" % len(sent))


def cmd_v6_roundtrip(smtp_port, pop3_port):
    """Over ::1: smtplib delivers to alice, poplib RETRs it; prints it."""
    s = smtplib.SMTP("::1", int(smtp_port), timeout=20)
    s.ehlo("client.example.net")
    s.sendmail("a@example.net", ["alice@example.org"],
               b"Subject: over six\r\n\r\nhello over IPv6\r\n")
    s.quit()
    p = poplib_login(pop3_port, "alice", "alicepw", host="::1")
    resp, lines, octets = p.retr(1)
    p.quit()
    text = b"\n".join(lines).decode()
    print(text)
    assert "hello over IPv6" in text


# ---- TLS scenarios ----------------------------------------------------------

def cmd_smtp_starttls_tour(port):
    """smtplib: STARTTLS resets the session (MAIL before a new EHLO: 503),
    STARTTLS is no longer offered nor accepted (503), a delivery to carol."""
    ctx = tls_ctx()
    s = smtplib.SMTP("127.0.0.1", int(port), timeout=10)
    s.ehlo("client.example")
    assert s.has_extn("starttls"), s.esmtp_features
    code, _ = s.docmd("MAIL FROM:<a@example.net>")
    assert code == 250, code
    code, _ = s.docmd("RSET")
    code, _ = s.starttls(context=ctx)
    assert code == 220, code
    # RFC 3207: back at the start; MAIL before a new EHLO is out of sequence
    code, msg = s.docmd("MAIL FROM:<a@example.net>")
    print("MAIL before EHLO:", code, msg)
    assert code == 503, code
    s.ehlo("client.example")
    assert not s.has_extn("starttls"), s.esmtp_features
    code, msg = s.docmd("STARTTLS")
    print("second STARTTLS:", code, msg)
    assert code == 503, code
    s.sendmail("a@example.net", ["carol@example.org"], b"Subject: t\r\n\r\nvia smtplib\r\n")
    s.quit()
    print("done")


def cmd_pop3_stls_tour(port):
    """poplib: STLS in CAPA before, not after; a second STLS refused; login
    and RETR 1 (which holds "over-stls")."""
    import poplib
    ctx = tls_ctx()
    p = poplib.POP3("127.0.0.1", int(port), timeout=10)
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


def cmd_pop3_stls_plaintext(port):
    """plaintext-auth tls: USER neither offered nor accepted before STLS;
    after it USER and SASL are offered and alice logs in."""
    import poplib
    ctx = tls_ctx()
    p = poplib.POP3("127.0.0.1", int(port), timeout=10)
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


def cmd_tls_big_roundtrip(smtp, pop3, pop3s):
    """A 3 MB message over STARTTLS to alice comes back byte for byte over
    STLS and over pop3s."""
    import base64
    import hashlib
    import poplib
    smtp, pop3, pop3s = int(smtp), int(pop3), int(pop3s)
    ctx = tls_ctx()
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


def cmd_tls_renewal(port, master, d, want):
    """An open SMTPS session; D/renewed.{key,crt} replace D/server.* and
    SIGHUP to MASTER: within 15 s new sessions see the certificate whose
    SHA-256 fingerprint is WANT; the open session still delivers."""
    import hashlib
    import signal
    port, master = int(port), int(master)
    ctx = tls_ctx()
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


def client_hello():
    """The bytes of a TLS ClientHello."""
    ctx = ssl.create_default_context()
    i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(i, o, server_hostname="mail.example.org")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return o.read()


def cmd_tls_hostile(smtps, pop3s, smtp):
    """On SMTPS and POP3S: random bytes, a fake record with EHLOs, a
    ClientHello then a reset; STARTTLS then garbage on SMTP; then half a
    ClientHello left stalled on each while three normal TLS sessions on
    each are greeted."""
    import struct
    smtps, pop3s, smtp = int(smtps), int(pop3s), int(smtp)

    def drain(s):
        s.settimeout(10)
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout):
            pass

    def tls_ok(port):
        ctx = tls_ctx()
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
    s, f = open_lines(smtp, 10)
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


def cmd_tls_hold(smtps, pop3s, pop3, d):
    """TLS sessions held open: SMTPS, POP3S and POP3 after STLS (plus one
    SMTPS EHLO/QUIT); then creates D/tls.held, waits (at most 120 s) for
    D/tls.release and QUITs each; prints "released"."""
    import poplib
    smtps, pop3s, pop3 = int(smtps), int(pop3s), int(pop3)
    ctx = tls_ctx()
    open_sessions = [smtplib.SMTP_SSL("127.0.0.1", smtps, timeout=10, context=ctx),
                     poplib.POP3_SSL("127.0.0.1", pop3s, timeout=10, context=ctx)]
    p = poplib.POP3("127.0.0.1", pop3, timeout=10)
    p.stls(context=ctx)
    open_sessions.append(p)
    s = smtplib.SMTP_SSL("127.0.0.1", smtps, timeout=10, context=ctx)
    s.ehlo("x"); s.quit()
    open(os.path.join(d, "tls.held"), "w").close()
    end = time.time() + 120
    while not os.path.exists(os.path.join(d, "tls.release")) and time.time() < end:
        time.sleep(0.05)
    for o in open_sessions:
        o.quit()
    print("released")

COMMANDS = {
    "raw": cmd_raw, "chat": cmd_chat, "splits": cmd_splits,
    "bigline": cmd_bigline, "send": cmd_send, "send-text": cmd_send_text,
    "parallel": cmd_parallel, "pop3-batch": cmd_pop3_batch,
    "imap-batch": cmd_imap_batch, "imap-folders": cmd_imap_folders,
    "imap-read": cmd_imap_read, "imap-idle": cmd_imap_idle,
    "imap-pop3-expunge": cmd_imap_pop3_expunge, "imap-starttls": cmd_imap_starttls,
    "imap-logins": cmd_imap_logins, "imap-state": cmd_imap_state,
    "imap-file": cmd_imap_file,
    "imap-put": cmd_imap_put, "imap-concurrency": cmd_imap_concurrency,
    "tls-inject": cmd_tls_inject, "mbox-bodies": cmd_mbox_bodies,
    "limit": cmd_limit, "burst": cmd_burst, "refill": cmd_refill, "rate": cmd_rate, "slow": cmd_slow,
    "flood": flood_collect, "sessions": cmd_sessions, "abuse": cmd_abuse,
    "stream": cmd_stream, "stopped": cmd_stopped, "check-mbox": cmd_check_mbox,
    # connections and greetings
    "greets": cmd_greets, "greet": cmd_greet, "greetings": cmd_greetings,
    "hold": cmd_hold, "greet-noop": cmd_greet_noop, "fd-flood": cmd_fd_flood,
    "reload-hostname": cmd_reload_hostname, "sigterm-421": cmd_sigterm_421,
    # SMTP
    "send-report": cmd_send_report, "send-codes": cmd_send_codes,
    "data-codes": cmd_data_codes, "smtplib-tour": cmd_smtplib_tour,
    "utf8-send": cmd_utf8_send, "noop-deadline": cmd_noop_deadline,
    "slow-data": cmd_slow_data, "trickle-data": cmd_trickle_data,
    "harvest": cmd_harvest, "steps": cmd_steps, "help-flood": cmd_help_flood,
    "many-rcpts": cmd_many_rcpts, "rcpt-limit": cmd_rcpt_limit,
    # POP3
    "pop3-stat": cmd_pop3_stat, "pop3-take": cmd_pop3_take,
    "pop3-timed-pass": cmd_pop3_timed_pass, "pop3-guess-flood": cmd_pop3_guess_flood,
    "poplib-tour": cmd_poplib_tour, "poplib-bodies": cmd_poplib_bodies,
    "pop3-lock-inuse": cmd_pop3_lock_inuse, "pop3-two-accounts": cmd_pop3_two_accounts,
    "pop3-drop-release": cmd_pop3_drop_release, "pop3-store-kill": cmd_pop3_store_kill,
    "pop3-autologout": cmd_pop3_autologout, "pop3-shutdown": cmd_pop3_shutdown,
    "pop3-late-arrival": cmd_pop3_late_arrival, "pop3-hold": cmd_pop3_hold,
    "auth-stall": cmd_auth_stall, "roundtrip": cmd_roundtrip,
    "v6-roundtrip": cmd_v6_roundtrip,
    # TLS
    "smtp-starttls-tour": cmd_smtp_starttls_tour, "pop3-stls-tour": cmd_pop3_stls_tour,
    "pop3-stls-plaintext": cmd_pop3_stls_plaintext,
    "tls-big-roundtrip": cmd_tls_big_roundtrip, "tls-renewal": cmd_tls_renewal,
    "tls-hostile": cmd_tls_hostile, "tls-hold": cmd_tls_hold,
}


def main():
    a = sys.argv[1:]
    if not a or a[0] not in COMMANDS:
        print(__doc__)
        return 2
    COMMANDS[a[0]](*a[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
