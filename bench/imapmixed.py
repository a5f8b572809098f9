#!/usr/bin/env python3
"""A mixed run against one side for --secs seconds (default 60), every
operation checked:

- SMTP: one session delivering at a fixed --rate (default 20/s, open
  loop: a delivery's latency runs from when it was due to its 250), one
  4 KiB message each, to all the accounts in turn;
- POP3: --pop3-clients clients (default 2), each in a loop over its own
  accounts of the first half (bench01..05), a session every 1/--pop3-rate
  s at most (default 5/s): USER/PASS, LIST, RETR + DELE of up to 20
  messages (each RETR's size checked against LIST), QUIT;
- IMAP: --imap-clients clients (default 2), each in a loop over its own
  accounts of the second half (bench06..10): LOGIN, SELECT INBOX,
  FETCH 1:* (UID FLAGS RFC822.SIZE) (the count checked), FETCH BODY.PEEK[]
  of 5 messages (sizes checked), STORE +FLAGS (\\Seen) on 5, STORE
  +FLAGS (\\Deleted) on 1 and EXPUNGE (the "* N EXPUNGE" checked), IDLE
  until an EXISTS or 1 s, DONE, LOGOUT.  Every command is one op; the
  op latencies (imap_op_p50_ms, imap_op_p99_ms) leave out IDLE, whose
  time is the wait.

The POP3 and IMAP clients use disjoint accounts, so that no POP3 session
waits on an IMAP one; SMTP delivers to both halves.

Prints one line of key=value: secs (the load's time: rates and CPU are
over it), drain_s (the time the clients took to finish their sessions
after it), smtp_n, smtp_s, smtp_p50_ms,
smtp_p99_ms, pop3_sessions, pop3_msgs, pop3_msgs_s, pop3_session_p50_ms,
pop3_session_p99_ms, imap_sessions, imap_ops, imap_ops_s, imap_op_p50_ms,
imap_op_p99_ms, errors, imap_warnings (untagged NO: counted, not
errors), server_cpu_ms_per_s, client_cpu_ms_per_s.  Any
error fails the run (exit status 1) after the counts are printed to
stderr; a client still busy at --secs + 60 s fails it too.  A server
that does not answer a command within 60 s is an error (a stall shorter
than that is a latency).
"""
import argparse
import os
import smtplib
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


class Fail(Exception):
    pass


def pct(vals, p):
    if not vals:
        return 0.0
    v = sorted(vals)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


class Conn(benchlib.LineConn):
    error = Fail

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        d = bytes(self.buf[:n])
        del self.buf[:n]
        return d

    def response(self):
        """One response line with its literals inlined: (text, [literals])."""
        text, lits = b"", []
        while True:
            ln = self.line()
            text += ln
            if ln.endswith(b"}") and b"{" in ln:
                n = int(ln[ln.rindex(b"{") + 1:-1])
                if n > 1 << 26:
                    raise Fail("literal too long")
                lits.append(self.take(n))
                continue
            return text, lits

    def send(self, data):
        self.s.sendall(data)

    def close(self):
        self.s.close()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.errors = []
        self.smtp_lat, self.pop3_lat, self.imap_lat = [], [], []
        self.pop3_msgs = self.pop3_sessions = self.imap_sessions = self.imap_ops = 0
        self.warnings = 0
        self.warning_texts = []

    def err(self, what, e):
        with self.lock:
            self.errors.append("%s: %s" % (what, e))


class Imap:
    def __init__(self, port, st):
        self.c = Conn(port)
        self.st = st
        self.n = 0
        self.exists = 0
        self.expunged = []
        ln = self.c.line()
        if not ln.startswith(b"* OK"):
            raise Fail("IMAP greeting %r" % ln[:100])

    def cmd(self, text, bye=False):
        self.n += 1
        tag = b"t%d" % self.n
        t0 = time.monotonic()
        self.c.send(tag + b" " + text.encode() + b"\r\n")
        out = []
        while True:
            try:
                ln, lits = self.c.response()
            except OSError as e:
                raise Fail("%s: %s (%.1f s after it)" % (text, e, time.monotonic() - t0))
            if ln.startswith(tag + b" "):
                if not ln[len(tag) + 1:].startswith(b"OK"):
                    raise Fail("%s: %r" % (text, ln[:200]))
                with self.st.lock:
                    self.st.imap_lat.append((time.monotonic() - t0) * 1000)
                    self.st.imap_ops += 1
                return out
            self.untagged(ln, bye)
            out.append((ln, lits))

    def untagged(self, ln, bye=False):
        w = ln.split(None, 3)
        if len(w) >= 3 and w[1].isdigit():
            if w[2].upper() == b"EXISTS":
                self.exists = int(w[1])
            elif w[2].upper() == b"EXPUNGE":
                self.exists -= 1
                self.expunged.append(int(w[1]))
        elif len(w) >= 2 and w[1] == b"NO":
            # a warning (RFC 3501 7.1.2), e.g. Dovecot's "Mailbox is locked,
            # will abort in N seconds" while it waits on a lock: counted
            with self.st.lock:
                self.st.warnings += 1
                if len(self.st.warning_texts) < 3:
                    self.st.warning_texts.append(ln[:120].decode("latin-1"))
        elif len(w) >= 2 and (w[1] == b"BAD" or (w[1] == b"BYE" and not bye)):
            raise Fail("untagged %r" % ln[:200])


def imap_session(port, user, st, stop):
    im = Imap(port, st)
    im.cmd("LOGIN %s %spw" % (user, user))
    im.cmd("SELECT INBOX")
    before = im.exists
    sizes = {}
    for ln, _ in im.cmd("FETCH 1:* (UID FLAGS RFC822.SIZE)"):
        w = ln.split(None, 3)
        if len(w) >= 3 and w[2].upper() == b"FETCH":
            i = ln.upper().find(b"RFC822.SIZE ")
            if i < 0:
                raise Fail("FETCH without RFC822.SIZE: %r" % ln[:200])
            sizes[int(w[1])] = int(ln[i + 12:].split(b")")[0].split()[0])
    if not before <= len(sizes) <= im.exists:
        raise Fail("%s: FETCH 1:* gave %d messages, EXISTS %d..%d" %
                   (user, len(sizes), before, im.exists))
    if len(sizes) >= 5:
        for k in range(5):
            n = 1 + (k * 97 + im.n) % len(sizes)
            got = [lits for ln, lits in im.cmd("FETCH %d BODY.PEEK[]" % n) if lits]
            if len(got) != 1 or len(got[0][0]) != sizes[n]:
                raise Fail("%s: FETCH %d BODY.PEEK[]: %s octets, RFC822.SIZE %d" %
                           (user, n, [len(x[0]) for x in got], sizes[n]))
            im.cmd("STORE %d +FLAGS (\\Seen)" % n)
        n = 1 + im.n % len(sizes)
        im.cmd("STORE %d +FLAGS.SILENT (\\Deleted)" % n)
        im.expunged = []
        im.cmd("EXPUNGE")
        if im.expunged != [n]:
            raise Fail("%s: EXPUNGE of %d answered %s" % (user, n, im.expunged))
    # IDLE until a delivery shows or 1 s
    im.n += 1
    tag = b"t%d" % im.n
    t0 = time.monotonic()
    im.c.send(tag + b" IDLE\r\n")
    ln = im.c.line()
    while not ln.startswith(b"+"):
        im.untagged(ln)
        ln = im.c.line()
    seen = im.exists
    im.c.s.settimeout(0.1)
    end = time.monotonic() + 1.0
    while time.monotonic() < end and im.exists == seen and not stop.is_set():
        try:
            im.untagged(im.c.line())
        except socket.timeout:
            pass
    im.c.s.settimeout(60)
    im.c.send(b"DONE\r\n")
    while True:
        try:
            ln = im.c.line()
        except OSError as e:
            raise Fail("IDLE, DONE: %s" % e)
        if ln.startswith(tag + b" "):
            if not ln[len(tag) + 1:].startswith(b"OK"):
                raise Fail("IDLE: %r" % ln[:200])
            break
        im.untagged(ln)
    with st.lock:
        st.imap_ops += 1     # its time is the wait: not in the latencies
    im.cmd("LOGOUT", bye=True)
    im.c.close()
    with st.lock:
        st.imap_sessions += 1


def pop3_ok(c, text):
    c.send(text.encode() + b"\r\n")
    t0 = time.monotonic()
    try:
        ln = c.line()
    except OSError as e:
        raise Fail("%s: %s (%.1f s after it)" % (text.split()[0], e, time.monotonic() - t0))
    if not ln.startswith(b"+OK"):
        raise Fail("%s: %r" % (text.split()[0], ln[:200]))


def pop3_multi(c):
    out = []
    while True:
        ln = c.line()
        if ln == b".":
            return out
        out.append(ln[1:] if ln.startswith(b"..") else ln)


def pop3_session(port, user):
    c = Conn(port)
    if not c.line().startswith(b"+OK"):
        raise Fail("POP3 greeting")
    pop3_ok(c, "USER " + user)
    pop3_ok(c, "PASS " + user + "pw")
    pop3_ok(c, "LIST")
    sizes = [tuple(int(x) for x in ln.split()) for ln in pop3_multi(c)]
    n = 0
    for num, sz in sizes[:20]:
        pop3_ok(c, "RETR %d" % num)
        got = sum(len(ln) + 2 for ln in pop3_multi(c))
        if got != sz:
            raise Fail("%s: RETR %d: %d octets, LIST said %d" % (user, num, got, sz))
        pop3_ok(c, "DELE %d" % num)
        n += 1
    pop3_ok(c, "QUIT")
    c.close()
    return n


def loop(what, fn, users, st, stop, every=0.0):
    """Sessions one after another over users, each at least `every` s
    after the previous one started."""
    k = 0
    nxt = time.monotonic()
    while not stop.is_set() and k < 100000:
        user = users[k % len(users)]
        k += 1
        now = time.monotonic()
        if nxt > now:
            stop.wait(nxt - now)
            if stop.is_set():
                break
        nxt = max(now, nxt) + every
        try:
            fn(user)
        except (Fail, OSError, ValueError) as e:
            st.err("%s %s" % (what, user), e)
            time.sleep(0.5)


def smtp_loop(a, st, stop, users):
    body = "".join("%04d %s\r\n" % (n, "Z" * 74) for n in range(51))
    s = None
    t_start = time.monotonic()
    k = 0
    while not stop.is_set() and k < a.rate * (a.secs + 5):
        due = t_start + k / a.rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        user = users[k % len(users)]
        msg = ("From: <mixed@client.{d}>\r\nTo: <{u}@{d}>\r\nSubject: mixed {k}\r\n"
               "Message-Id: <mixed.{k}.{t}@client.{d}>\r\n\r\n{b}").format(
                   d=a.domain, u=user, k=k, t=time.time_ns(), b=body).encode()
        k += 1
        try:
            if s is None:
                s = smtplib.SMTP("127.0.0.1", a.smtp, timeout=30)
                s.ehlo("client." + a.domain)
            refused = s.sendmail("mixed@client." + a.domain, [user + "@" + a.domain], msg)
            if refused:
                raise Fail("refused %r" % refused)
            with st.lock:
                st.smtp_lat.append((time.monotonic() - due) * 1000)
        except (Fail, OSError, smtplib.SMTPException) as e:
            st.err("SMTP %s" % user, e)
            s = None
    if s is not None:
        try:
            s.quit()
        except (OSError, smtplib.SMTPException) as e:
            st.err("SMTP QUIT", e)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smtp", type=int, required=True)
    ap.add_argument("--pop3", type=int, required=True)
    ap.add_argument("--imap", type=int, required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--accounts", type=int, default=10)
    ap.add_argument("--secs", type=float, default=60)
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--pop3-clients", type=int, default=2)
    ap.add_argument("--pop3-rate", type=float, default=5,
                    help="POP3 sessions a second per client, at most")
    ap.add_argument("--imap-clients", type=int, default=2)
    ap.add_argument("--root", type=int, action="append", default=[])
    a = ap.parse_args()
    users = ["bench%02d" % (i + 1) for i in range(a.accounts)]
    half = len(users) // 2
    if half < max(a.pop3_clients, a.imap_clients):
        sys.exit("imapmixed: need at least one account per client in each half")
    st = Stats()
    stop = threading.Event()
    threads = [threading.Thread(target=smtp_loop, args=(a, st, stop, users), daemon=True)]
    for k in range(a.pop3_clients):
        mine = users[:half][k::a.pop3_clients]

        def pop3_fn(u):
            t0 = time.monotonic()
            n = pop3_session(a.pop3, u)
            with st.lock:
                st.pop3_lat.append((time.monotonic() - t0) * 1000)
                st.pop3_msgs += n
                st.pop3_sessions += 1
        threads.append(threading.Thread(
            target=loop, args=("POP3", pop3_fn, mine, st, stop, 1.0 / a.pop3_rate), daemon=True))
    for k in range(a.imap_clients):
        mine = users[half:][k::a.imap_clients]
        threads.append(threading.Thread(
            target=loop, args=("IMAP", lambda u: imap_session(a.imap, u, st, stop), mine, st, stop),
            daemon=True))
    c0 = os.times()
    cpu0 = benchlib.tree_cpu(a.root)
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(a.secs)
    stop.set()
    # the rates and CPU are over the load's own time; a client stuck in a
    # command past it is an error, not a slower rate
    el = time.monotonic() - t0
    with st.lock:
        counts = (len(st.smtp_lat), st.pop3_msgs, st.imap_ops)
    cpu = benchlib.tree_cpu(a.root) - cpu0
    c1 = os.times()
    for t in threads:
        t.join(max(0.1, t0 + a.secs + 60 - time.monotonic()))
    drain = time.monotonic() - t0 - el
    busy = sum(1 for t in threads if t.is_alive())
    if busy:
        st.err("run", "%d clients still busy %.0f s after the end" % (busy, drain))
    print("secs=%.1f drain_s=%.1f smtp_n=%d smtp_s=%.2f smtp_p50_ms=%.2f smtp_p99_ms=%.2f "
          "pop3_sessions=%d pop3_msgs=%d pop3_msgs_s=%.1f pop3_session_p50_ms=%.1f "
          "pop3_session_p99_ms=%.1f imap_sessions=%d imap_ops=%d imap_ops_s=%.1f "
          "imap_op_p50_ms=%.2f imap_op_p99_ms=%.2f errors=%d imap_warnings=%d "
          "server_cpu_ms_per_s=%.1f "
          "client_cpu_ms_per_s=%.1f" %
          (el, drain, len(st.smtp_lat), counts[0] / el, pct(st.smtp_lat, 50),
           pct(st.smtp_lat, 99), st.pop3_sessions, st.pop3_msgs, counts[1] / el,
           pct(st.pop3_lat, 50), pct(st.pop3_lat, 99), st.imap_sessions, st.imap_ops,
           counts[2] / el, pct(st.imap_lat, 50), pct(st.imap_lat, 99),
           len(st.errors), st.warnings, cpu * 1000 / el,
           (c1.user + c1.system - c0.user - c0.system) * 1000 / el))
    if st.warning_texts:
        sys.stderr.write("imapmixed: %d untagged NO (warnings), e.g. %s\n" %
                         (st.warnings, "; ".join(st.warning_texts)))
    if st.errors or not st.smtp_lat or not st.pop3_sessions or not st.imap_sessions:
        sys.exit("imapmixed: %d errors (first: %s); %d deliveries, %d POP3 and %d IMAP "
                 "sessions" % (len(st.errors), "; ".join(st.errors[:5]), len(st.smtp_lat),
                               st.pop3_sessions, st.imap_sessions))


if __name__ == "__main__":
    main()
