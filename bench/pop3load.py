#!/usr/bin/env python3
"""POP3 workloads against 127.0.0.1:PORT.

  pop3load.py fetch PORT ACCOUNTS [--dele] [--root=PID]...
      one process per account, all started together: USER/PASS, LIST,
      RETR every message (and DELE it with --dele), QUIT.  The clock runs
      from the moment every process is ready until the last QUIT answer.
      Prints: elapsed= msgs= bytes= msgs_s= mb_s=  (MB = 10^6 bytes of
      message text as sent on the wire, dot-stuffing and CR LF included),
      and client_cpu_ms_per_msg= (the client processes' own CPU, from the
      first command to the last answer, per message).
  pop3load.py login PORT ACCOUNTS N [--root=PID]...
      N logins one after another over the accounts: connect, greeting,
      USER, PASS, +OK (timed), QUIT.  Prints: p50_ms= p99_ms= mean_ms= n=

--root=PID: also print the CPU time the process tree under PID spent per
message (per login), from /proc.

Passwords are the account name followed by "pw".  No pipelining: one
command, one answer, as a plain client does.  Every answer is checked;
any -ERR or short read fails the run.
"""
import multiprocessing as mp
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

TIMEOUT = 60.0


class Client(benchlib.LineConn):
    max_line = 65536

    def __init__(self, port):
        super().__init__(port, timeout=TIMEOUT)

    def ok(self):
        ln = self.line()
        if not ln.startswith(b"+OK"):
            raise RuntimeError("server said: %r" % ln[:200])
        return ln

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.ok()

    def multiline(self):
        """The rest of a multi-line answer, up to and without ".\\r\\n"."""
        start = 0
        while True:
            if self.buf.startswith(b".\r\n"):
                del self.buf[:3]
                return b""
            i = self.buf.find(b"\r\n.\r\n", start)
            if i >= 0:
                body = bytes(self.buf[:i + 2])
                del self.buf[:i + 5]
                return body
            start = max(0, len(self.buf) - 4)
            self.fill()

    def close(self):
        self.s.close()


def login(c, user):
    c.ok()                       # greeting
    c.cmd("USER " + user)
    c.cmd("PASS " + user + "pw")


def fetch_one(args):
    port, user, dele, barrier = args
    c = Client(port)
    barrier.wait(TIMEOUT)
    t = os.times()
    cpu0 = t.user + t.system
    login(c, user)
    c.cmd("LIST")
    sizes = []
    for ln in c.multiline().split(b"\r\n"):
        if ln:
            n, sz = ln.split()
            sizes.append((int(n), int(sz)))
    nbytes = 0
    for n, sz in sizes:
        c.cmd("RETR %d" % n)
        body = c.multiline()
        if len(body) != sz:
            raise RuntimeError("%s: RETR %d: %d octets, LIST said %d" % (user, n, len(body), sz))
        nbytes += len(body)
        if dele:
            c.cmd("DELE %d" % n)
    c.cmd("QUIT")
    c.close()
    t = os.times()
    return len(sizes), nbytes, t.user + t.system - cpu0


def _worker(args, q):
    try:
        q.put(("ok", fetch_one(args)))
    except Exception as e:  # reported by the parent
        q.put(("err", "%s: %s" % (args[1], e)))


def fetch(port, naccts, dele, roots):
    users = ["bench%02d" % (i + 1) for i in range(naccts)]
    barrier = mp.Barrier(naccts + 1)
    q = mp.Queue()
    procs = [mp.Process(target=_worker, args=((port, u, dele, barrier), q)) for u in users]
    for p in procs:
        p.start()
    barrier.wait(TIMEOUT)
    cpu0 = benchlib.tree_cpu(roots)
    t0 = time.monotonic()
    msgs = nbytes = 0
    ccpu = 0.0
    errs = []
    for _ in procs:
        st, v = q.get(timeout=600)
        if st == "ok":
            msgs += v[0]
            nbytes += v[1]
            ccpu += v[2]
        else:
            errs.append(v)
    el = time.monotonic() - t0
    cpu = benchlib.tree_cpu(roots) - cpu0
    for p in procs:
        p.join(10)
    if errs:
        sys.exit("pop3load: " + "; ".join(errs))
    print("elapsed=%.3f msgs=%d bytes=%d msgs_s=%.1f mb_s=%.2f cpu_ms_per_msg=%.3f "
          "client_cpu_ms_per_msg=%.3f" %
          (el, msgs, nbytes, msgs / el, nbytes / el / 1e6, cpu * 1000 / max(msgs, 1),
           ccpu * 1000 / max(msgs, 1)))


def logins(port, naccts, n, roots):
    lat = []
    cpu0 = benchlib.tree_cpu(roots)
    for i in range(n):
        user = "bench%02d" % (i % naccts + 1)
        t0 = time.monotonic()
        c = Client(port)
        login(c, user)
        lat.append((time.monotonic() - t0) * 1000)
        c.cmd("QUIT")
        c.close()
    cpu = benchlib.tree_cpu(roots) - cpu0
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(round(p / 100.0 * (len(lat) - 1))))]
    print("p50_ms=%.2f p99_ms=%.2f mean_ms=%.2f n=%d cpu_ms_per_login=%.3f" %
          (pct(50), pct(99), sum(lat) / len(lat), len(lat), cpu * 1000 / n))


def main():
    a = sys.argv[1:]
    roots = [int(x[7:]) for x in a if x.startswith("--root=")]
    a = [x for x in a if not x.startswith("--root=")]
    if len(a) >= 3 and a[0] == "fetch":
        fetch(int(a[1]), int(a[2]), "--dele" in a[3:], roots)
    elif len(a) == 4 and a[0] == "login":
        logins(int(a[1]), int(a[2]), int(a[3]), roots)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
