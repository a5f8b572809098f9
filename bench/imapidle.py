#!/usr/bin/env python3
"""IMAP IDLE at scale against 127.0.0.1: the memory of idling sessions and
the latency from a delivery's 250 to the EXISTS on every idling session.

  imapidle.py --imap PORT --smtp PORT --domain DOMAIN [--accounts 10]
              [--sessions 1000] [--deliveries 20] [--root PID]...
              [--max-s 300]

1. Samples the total PSS of the process trees under the --root pids (the
   server, idle, before any session) three times, a second apart.
2. Opens SESSIONS IMAP sessions spread over the accounts (bench01...,
   password NAMEpw), at most 20 logging in at a time, all in one selectors
   loop: greeting, LOGIN, SELECT INBOX (its EXISTS noted), IDLE, "+".
3. With every session idling (and 3 s to settle), samples the PSS again:
   pss_per_session_kib = (idling - before) / SESSIONS.  The server's CPU
   while the sessions idle is sampled over the next 5 s.
4. DELIVERIES messages by SMTP, one at a time, to the accounts in turn
   (bench01, bench02, ...): each delivery's 250 starts the clock, which
   stops on each idling session of that account at its first "* N EXISTS"
   with N at least the count now due; the next delivery goes when every
   such session has seen it (or fails the run after --exists-max-s).
5. DONE on every session (each "OK" checked), LOGOUT, close.

Prints one line of key=value: sessions, setup_s, pss_before_kib,
pss_idling_kib, pss_per_session_kib, procs_before, procs_idling,
server_cpu_ms_per_session_min (CPU of the server trees per idling session
per minute), exists_n (samples), exists_p50_ms, exists_p99_ms,
exists_max_ms, smtp_p50_ms (the deliveries' own MAIL->250 time),
mbox_p50_ms (with --spool DIR: 250 -> the mbox file DIR/USER grew, the
delivery agent's share of the EXISTS latency),
client_cpu_ms_per_session (this process's CPU for the whole run per
session), pss_by_name_kib (with the sessions idling: the PSS of the
largest groups of processes by command line, NAME:KiB/PROCESSES).  Any NO/BAD, a dropped connection, a wrong count or the overall
--max-s deadline fails the run (exit status 1, the reason on stderr).
"""
import argparse
import os
import resource
import selectors
import smtplib
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


class Fail(Exception):
    pass


def pct(vals, p):
    v = sorted(vals)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def pss_by_name(roots):
    """The PSS of the trees by process (its command line, spaces as '_'):
    "name:KiB/count,...", largest first."""
    tot = {}
    for p in benchlib.tree_pids(roots):
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                name = f.read().replace(b"\0", b" ").strip().decode("latin-1")
        except OSError:
            continue
        name = "_".join(os.path.basename(w) if i == 0 else w
                        for i, w in enumerate(name.split()[:3])) or "?"
        t = tot.setdefault(name, [0, 0])
        t[0] += benchlib._kib("/proc/%d/smaps_rollup" % p, b"Pss:")
        t[1] += 1
    return ",".join("%s:%d/%d" % (k, v[0], v[1])
                    for k, v in sorted(tot.items(), key=lambda kv: -kv[1][0])[:8])


class Sess:
    """One IMAP session, driven by the loop through its states:
    connect -> greet -> login -> select -> idle -> idling -> done -> logout
    -> closed."""

    def __init__(self, idx, user):
        self.idx, self.user = idx, user
        self.sock = None
        self.buf = bytearray()
        self.state = "new"
        self.exists = -1          # the last EXISTS count seen
        self.want = None          # the EXISTS count the current delivery makes
        self.seen_at = None       # when the session saw it

    def send(self, data):
        # small commands on a fresh socket: the kernel takes them whole
        n = self.sock.send(data)
        if n != len(data):
            raise Fail("%s#%d: short send" % (self.user, self.idx))


class Idle:
    def __init__(self, a):
        self.a = a
        self.sel = selectors.DefaultSelector()
        self.sessions = [Sess(i, "bench%02d" % (i % a.accounts + 1)) for i in range(a.sessions)]
        self.deadline = time.monotonic() + a.max_s

    def check_time(self, what):
        if time.monotonic() > self.deadline:
            counts = {}
            for s in self.sessions:
                counts[s.state] = counts.get(s.state, 0) + 1
            raise Fail("--max-s %.0f s passed while %s (session states: %s)" %
                       (self.a.max_s, what, counts))

    def connect(self, s):
        s.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.sock.setblocking(False)
        s.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = s.sock.connect_ex(("127.0.0.1", self.a.imap))
        if err not in (0, 115):  # EINPROGRESS
            raise Fail("%s#%d: connect: %s" % (s.user, s.idx, os.strerror(err)))
        s.state = "greet"
        self.sel.register(s.sock, selectors.EVENT_READ, s)

    def on_line(self, s, ln):
        """One response line for session s; moves its state on."""
        if ln.endswith(b"}"):
            raise Fail("%s#%d: unexpected literal: %r" % (s.user, s.idx, ln[:200]))
        if ln.startswith(b"* "):
            w = ln.split(None, 3)
            if len(w) < 2:
                raise Fail("%s#%d: empty untagged line" % (s.user, s.idx))
            if len(w) >= 3 and w[2].upper() == b"EXISTS" and w[1].isdigit():
                s.exists = int(w[1])
                if s.want is not None and s.seen_at is None and s.exists >= s.want:
                    s.seen_at = time.monotonic()
                return
            if w[1].upper() == b"BYE" and s.state != "logout":
                raise Fail("%s#%d: server said %r" % (s.user, s.idx, ln[:200]))
            if w[1].upper() in (b"NO", b"BAD"):
                raise Fail("%s#%d: server said %r" % (s.user, s.idx, ln[:200]))
            if s.state == "greet":
                if not ln.startswith(b"* OK"):
                    raise Fail("%s#%d: greeting %r" % (s.user, s.idx, ln[:200]))
                s.send(b"a LOGIN %s %spw\r\n" % (s.user.encode(), s.user.encode()))
                s.state = "login"
            return
        if ln.startswith(b"+"):
            if s.state != "idle":
                raise Fail("%s#%d: continuation in state %s: %r" % (s.user, s.idx, s.state, ln))
            s.state = "idling"
            return
        tag, _, rest = ln.partition(b" ")
        if not rest.upper().startswith(b"OK"):
            raise Fail("%s#%d: %s: server said %r" % (s.user, s.idx, s.state, ln[:200]))
        if s.state == "login" and tag == b"a":
            s.send(b"b SELECT INBOX\r\n")
            s.state = "select"
        elif s.state == "select" and tag == b"b":
            if s.exists < 0:
                raise Fail("%s#%d: SELECT without EXISTS" % (s.user, s.idx))
            s.send(b"c IDLE\r\n")
            s.state = "idle"
        elif s.state == "done" and tag == b"c":
            s.send(b"d LOGOUT\r\n")
            s.state = "logout"
        elif s.state == "logout" and tag == b"d":
            self.sel.unregister(s.sock)
            s.sock.close()
            s.state = "closed"
        else:
            raise Fail("%s#%d: unexpected %r in state %s" % (s.user, s.idx, ln[:200], s.state))

    def poll(self, timeout):
        for key, _ in self.sel.select(timeout):
            s = key.data
            try:
                d = s.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                raise Fail("%s#%d: %s: %s" % (s.user, s.idx, s.state, e))
            if not d:
                raise Fail("%s#%d: connection closed by the server in state %s" %
                           (s.user, s.idx, s.state))
            s.buf += d
            while True:
                i = s.buf.find(b"\r\n")
                if i < 0:
                    if len(s.buf) > 65536:
                        raise Fail("%s#%d: line too long" % (s.user, s.idx))
                    break
                ln = bytes(s.buf[:i])
                del s.buf[:i + 2]
                self.on_line(s, ln)

    def open_all(self):
        todo = list(self.sessions)
        todo.reverse()
        busy = 0
        while True:
            busy = sum(1 for s in self.sessions if s.state in ("greet", "login", "select", "idle"))
            while todo and busy < self.a.parallel:
                self.connect(todo.pop())
                busy += 1
            if not todo and busy == 0:
                return
            self.check_time("opening sessions")
            self.poll(0.5)

    def deliver(self, n, user, smtp):
        msg = ("From: <idle@client.{d}>\r\nTo: <{u}@{d}>\r\nSubject: idle {n}\r\n"
               "Message-Id: <idle.{n}.{t}@client.{d}>\r\n\r\nidle bench delivery {n}\r\n"
               ).format(d=self.a.domain, u=user, n=n, t=time.time()).encode()
        t0 = time.monotonic()
        refused = smtp.sendmail("idle@client." + self.a.domain, [user + "@" + self.a.domain], msg)
        t1 = time.monotonic()
        if refused:
            raise Fail("SMTP refused %r" % refused)
        return t0, t1

    def run(self):
        a = self.a
        roots = a.root
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = a.sessions + 100
        if soft < need:
            if hard != resource.RLIM_INFINITY and hard < need:
                raise Fail("RLIMIT_NOFILE hard limit %d < %d" % (hard, need))
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        c0 = os.times()

        before = []
        for i in range(3):
            before.append(benchlib.tree_memory(roots))
            time.sleep(1)
        pss0 = statistics.median(x[1] for x in before)
        procs0 = statistics.median(x[2] for x in before)

        t0 = time.monotonic()
        self.open_all()
        setup = time.monotonic() - t0
        end = time.monotonic() + 3
        while time.monotonic() < end:
            self.poll(0.2)
        after = []
        for i in range(3):
            after.append(benchlib.tree_memory(roots))
            self.poll(1)
        pss1 = statistics.median(x[1] for x in after)
        by_name = pss_by_name(roots)
        procs1 = statistics.median(x[2] for x in after)
        cpu0 = benchlib.tree_cpu(roots)
        tc = time.monotonic()
        while time.monotonic() < tc + 5:
            self.poll(0.5)
        idle_cpu = benchlib.tree_cpu(roots) - cpu0
        idle_el = time.monotonic() - tc
        if any(s.state != "idling" for s in self.sessions):
            raise Fail("a session left IDLE before the deliveries")

        # every account's count as the sessions see it: the deliveries add to it
        count = {}
        for s in self.sessions:
            count.setdefault(s.user, set()).add(s.exists)
        for u, v in count.items():
            if len(v) != 1:
                raise Fail("%s: sessions disagree on EXISTS: %s" % (u, sorted(v)))
            count[u] = v.pop()

        lat, smtp_lat, mbox_lat = [], [], []
        smtp = smtplib.SMTP("127.0.0.1", a.smtp, timeout=60)
        smtp.ehlo("client." + a.domain)
        users = sorted(count)
        for n in range(a.deliveries):
            self.check_time("delivering")
            user = users[n % len(users)]
            mine = [s for s in self.sessions if s.user == user]
            count[user] += 1
            for s in mine:
                s.want, s.seen_at = count[user], None
            mbox = os.path.join(a.spool, user) if a.spool else None
            size0 = os.path.getsize(mbox) if mbox else 0
            ts, t250 = self.deliver(n, user, smtp)
            smtp_lat.append((t250 - ts) * 1000)
            dl = min(self.deadline, time.monotonic() + a.exists_max_s)
            in_mbox = None
            while any(s.seen_at is None for s in mine) or (mbox and in_mbox is None):
                if mbox and in_mbox is None and os.path.getsize(mbox) > size0:
                    in_mbox = time.monotonic()
                    mbox_lat.append(max(0.0, in_mbox - t250) * 1000)
                if time.monotonic() > dl:
                    miss = sum(1 for s in mine if s.seen_at is None)
                    raise Fail("delivery %d to %s: %d of %d sessions saw no EXISTS %d within "
                               "%.0f s" % (n, user, miss, len(mine), count[user], a.exists_max_s))
                self.poll(0.005 if mbox else 0.05)
            for s in mine:
                lat.append(max(0.0, s.seen_at - t250) * 1000)
                s.want = None
            # the next delivery after a pause, so that one server's work on a
            # delivery does not overlap the next
            end = time.monotonic() + a.gap_s
            while time.monotonic() < end:
                self.poll(0.05)
        smtp.quit()

        for s in self.sessions:
            s.send(b"DONE\r\n")
            s.state = "done"
        while any(s.state != "closed" for s in self.sessions):
            self.check_time("logging out")
            self.poll(0.5)
        c1 = os.times()
        ccpu = (c1.user + c1.system) - (c0.user + c0.system)
        n = a.sessions
        print("sessions=%d setup_s=%.2f pss_before_kib=%d pss_idling_kib=%d "
              "pss_per_session_kib=%.1f procs_before=%d procs_idling=%d "
              "server_cpu_ms_per_session_min=%.3f exists_n=%d exists_p50_ms=%.2f "
              "exists_p99_ms=%.2f exists_max_ms=%.2f smtp_p50_ms=%.2f "
              "client_cpu_ms_per_session=%.3f mbox_p50_ms=%s pss_by_name_kib=%s" %
              (n, setup, pss0, pss1, (pss1 - pss0) / n, procs0, procs1,
               idle_cpu * 1000 / n * 60 / idle_el, len(lat), pct(lat, 50), pct(lat, 99),
               max(lat), pct(smtp_lat, 50), ccpu * 1000 / n,
               "%.2f" % pct(mbox_lat, 50) if mbox_lat else "-", by_name))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--imap", type=int, required=True)
    ap.add_argument("--smtp", type=int, required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--accounts", type=int, default=10)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--parallel", type=int, default=20, help="sessions logging in at once")
    ap.add_argument("--deliveries", type=int, default=20)
    ap.add_argument("--gap-s", type=float, default=0.2)
    ap.add_argument("--exists-max-s", type=float, default=60)
    ap.add_argument("--spool", help="dir of the mbox files: also time 250 -> in the mbox")
    ap.add_argument("--root", type=int, action="append", default=[])
    ap.add_argument("--max-s", type=float, default=300)
    a = ap.parse_args()
    if a.sessions < 1 or a.deliveries < 1 or a.accounts < 1:
        sys.exit("imapidle: sessions, deliveries and accounts must be at least 1")
    try:
        Idle(a).run()
    except (Fail, OSError, smtplib.SMTPException) as e:
        sys.exit("imapidle: %s" % e)


if __name__ == "__main__":
    main()
