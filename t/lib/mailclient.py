#!/usr/bin/env python3
"""The one hand-speaking mail client of the tests: every bats file that
talks SMTP or POP3 byte by byte (rather than through swaks, curl or
openssl s_client) calls this file.  Every wait is bounded; the scenario
commands exit 0 when their checks hold and print what they saw (failures
as "FAIL: ...").

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

TLS
  tls-inject smtp|pop3 PORT
                       STARTTLS (or STLS) with a command behind it in the
                       same write; after the handshake that command gets
                       no answer for 2 s; then QUIT is answered

Mailbox
  mbox-bodies MBOX     prints each message of an mbox, mboxrd-unquoted,
                       without postern's From_/X-Postern/Return-Path lines
                       and the Received header, separated by a NUL byte

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


def after_upgrade(sock, quit_ok):
    """TLS handshake on sock; no answer may come for 2 s (the command
    injected behind STARTTLS/STLS was discarded); QUIT gets quit_ok."""
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
    t.sendall(b"QUIT\r\n")
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
    else:
        assert f.readline().startswith(b"+OK")
        s.sendall(b"STLS\r\nUSER x\r\n")            # one write: USER is injected
        line = f.readline()
        assert line.startswith(b"+OK"), line
        after_upgrade(s, "+OK")
        print("no answer to the injected USER")


COMMANDS = {
    "raw": cmd_raw, "chat": cmd_chat, "splits": cmd_splits,
    "bigline": cmd_bigline, "send": cmd_send, "send-text": cmd_send_text,
    "parallel": cmd_parallel, "pop3-batch": cmd_pop3_batch,
    "tls-inject": cmd_tls_inject, "mbox-bodies": cmd_mbox_bodies,
    "limit": cmd_limit, "burst": cmd_burst, "rate": cmd_rate, "slow": cmd_slow,
    "flood": flood_collect, "sessions": cmd_sessions, "abuse": cmd_abuse,
    "stream": cmd_stream, "stopped": cmd_stopped, "check-mbox": cmd_check_mbox,
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
