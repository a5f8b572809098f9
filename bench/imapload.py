#!/usr/bin/env python3
"""IMAP workloads against 127.0.0.1:PORT (issue 15, first half).

  imapload.py login PORT [--accounts=10] [--n=200] [--par-n=1000] [--par=20]
      N logins one after another over the accounts: connect, greeting,
      LOGIN, LOGOUT (untagged BYE and tagged OK); then PAR-N logins by PAR
      client processes at once.  Prints p50_ms= p95_ms= (connect to the
      tagged OK of LOGOUT), login_p50_ms= (connect to LOGIN's OK),
      cpu_ms_per_login= (sequential part), logins_s=, par_cpu_ms_per_login=,
      client_cpu_ms_per_login= (the parallel part).
  imapload.py sync PORT --user=U --expect=N [--again]
      LOGIN (not timed), then SELECT INBOX and
      UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE
      BODY.PEEK[HEADER.FIELDS (From To Subject Date Message-ID)]);
      every one of the N FETCH responses checked.  With --again, a second
      session does the same over the now indexed mailbox.
      Prints select_ms= fetch_ms= sync_ms= msgs_s= (N / sync time) and,
      with --again, the same prefixed with warm_.
  imapload.py bodies PORT [--accounts=10] [--expect=500]
      one process per account, all together: LOGIN, SELECT INBOX,
      FETCH 1:* (RFC822.SIZE) (not timed), then FETCH n BODY.PEEK[] for
      every message, one at a time, each body's size checked against
      RFC822.SIZE.  Prints msgs= bytes= msgs_s= mb_s= (MB = 10^6 bytes of
      message text as sent).
  imapload.py flags PORT --user=U --expect=N [--singles=1000]
      SELECT INBOX (not timed: the first access), then
      UID STORE 1:* +FLAGS.SILENT (\\Seen) (timed; every message checked
      \\Seen afterwards, not timed), then SINGLES single-message
      UID STORE uid +FLAGS (\\Flagged), each awaited and its FETCH checked.
      Prints store_all_ms= store_all_msgs_s= store_p50_ms= store_p95_ms=
      stores_s=.
  imapload.py append PORT [--clients=8] [--count=2000] [--size=4096]
      [--mbox=PATH]...
      CLIENTS processes, each logged in to its own account (bench01...),
      APPEND COUNT/CLIENTS messages of SIZE octets (CR LF lines) to its
      INBOX with a synchronizing literal, each awaited.  With --mbox, the
      messages in those files are counted before and after: the
      difference must be COUNT.  Prints msgs= msgs_s= mb_s=.
  imapload.py delete PORT --user=U --expect=N [--n=100] [--move]
      SELECT INBOX (not timed), then one delete of the middle message
      (UID STORE uid +FLAGS.SILENT (\\Deleted), EXPUNGE; with --move:
      UID MOVE uid Trash), timed to the last tagged OK; then N more, one
      after another, each of the middle message of what is left.  Every
      EXPUNGE response checked and EXISTS counted down.  Prints
      one_ms= p50_ms= p95_ms= total_s= n=.

Every sub-command takes --root=PID (repeatable): the CPU time the process
trees under those pids spent during the timed part, from /proc, printed
as cpu_ms_per_* ; and --max-s=S (default 300): the whole run fails if it
takes longer.  The client's own CPU time (os.times of every client
process, over the timed part) is printed as client_cpu_ms_per_*.

The accounts are bench01, bench02, ... (as many as a sub-command needs);
--users=A,B,... names them instead (login, bodies, append: in that order,
reused round robin by login).  Passwords are the account name followed by
"pw".  One command at a time
and no pipelining, as a plain client does.  Every tagged answer must be
OK and every count must match; anything else fails the run (exit status
1, a message on stderr), so no rate is ever printed for work not done.

The IMAP class is importable by the other IMAP load generators.
"""
import multiprocessing
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

SYNC_ITEMS = ("(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE "
              "BODY.PEEK[HEADER.FIELDS (From To Subject Date Message-ID)])")

_MP = multiprocessing.get_context("fork")


class Failed(Exception):
    pass


class Deadline:
    """A wall-clock limit: left() is the seconds remaining, or Failed."""

    def __init__(self, secs):
        self.end = time.monotonic() + secs
        self.secs = secs

    def left(self):
        r = self.end - time.monotonic()
        if r <= 0:
            raise Failed("over the --max-s limit of %g s" % self.secs)
        return r

    def check_timeout(self):
        """After a socket timeout: Failed if it was (nearly) the limit's."""
        if time.monotonic() > self.end - 0.05:
            raise Failed("over the --max-s limit of %g s" % self.secs)


class Imap:
    """A minimal synchronous IMAP client over a raw socket.

    A response is (text, literals): the text of one logical response line
    with each literal's place kept as "{N}" and the literals' bytes in
    order.  command() returns (untagged responses, tagged text) and raises
    Failed on a NO, BAD or a closed connection."""

    def __init__(self, port, deadline, host="127.0.0.1"):
        self.deadline = deadline
        self.s = socket.create_connection((host, port), timeout=min(60, deadline.left()))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0
        self.ntag = 0

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def _fill(self):
        if self.pos > 1 << 20:
            del self.buf[:self.pos]
            self.pos = 0
        self.s.settimeout(min(60, self.deadline.left()))
        try:
            d = self.s.recv(1 << 18)
        except socket.timeout:
            self.deadline.check_timeout()
            raise Failed("no answer from the server within 60 s")
        if not d:
            raise Failed("connection closed by the server")
        self.buf += d

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                ln = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return ln
            if len(self.buf) - self.pos > 1 << 20:
                raise Failed("response line over 1 MiB")
            self._fill()

    def _bytes(self, n):
        while len(self.buf) - self.pos < n:
            self._fill()
        b = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return b

    def response(self):
        """One response line, its literals read in."""
        parts = []
        lits = []
        while True:
            ln = self._line()
            parts.append(ln)
            if ln.endswith(b"}"):
                j = ln.rfind(b"{")
                if j >= 0 and ln[j + 1:-1].isdigit():
                    lits.append(self._bytes(int(ln[j + 1:-1])))
                    continue
            return b"".join(parts), lits

    def greeting(self):
        t, _ = self.response()
        if not t.startswith(b"* OK"):
            raise Failed("greeting: %r" % t[:200])
        return t

    def send(self, data):
        self.s.settimeout(min(60, self.deadline.left()))
        try:
            self.s.sendall(data)
        except socket.timeout:
            self.deadline.check_timeout()
            raise Failed("the server took nothing for 60 s")

    def tag(self):
        self.ntag += 1
        return b"a%d" % self.ntag

    def wait(self, tag, what):
        """The untagged responses up to TAG's answer, which must be OK."""
        untagged = []
        while True:
            t, lits = self.response()
            if t.startswith(tag + b" "):
                if t[len(tag) + 1:len(tag) + 4] != b"OK ":
                    raise Failed("%s: %r" % (what, t[:300]))
                return untagged, t
            if t.startswith(b"+"):
                raise Failed("%s: unexpected continuation %r" % (what, t[:200]))
            untagged.append((t, lits))

    def command(self, text):
        tag = self.tag()
        self.send(tag + b" " + text.encode() + b"\r\n")
        return self.wait(tag, text[:60])

    def append(self, mailbox, msg, flags="()"):
        """APPEND with a synchronizing literal: the line, the server's "+",
        then the message."""
        tag = self.tag()
        self.send(b"%s APPEND %s %s {%d}\r\n" % (tag, mailbox.encode(), flags.encode(), len(msg)))
        t, _ = self.response()
        if not t.startswith(b"+"):
            raise Failed("APPEND: %r" % t[:200])
        self.send(msg + b"\r\n")
        return self.wait(tag, "APPEND")

    def login(self, user):
        self.greeting()
        return self.command('LOGIN %s "%spw"' % (user, user))

    def select(self, box="INBOX"):
        """SELECT: (number of messages from EXISTS, untagged, tagged)."""
        untagged, t = self.command("SELECT " + box)
        exists = None
        for u, _ in untagged:
            if u.startswith(b"* ") and u.endswith(b" EXISTS"):
                exists = int(u.split()[1])
        if exists is None:
            raise Failed("SELECT %s: no EXISTS" % box)
        return exists, untagged, t

    def logout(self):
        untagged, _ = self.command("LOGOUT")
        if not any(u.startswith(b"* BYE") for u, _ in untagged):
            raise Failed("LOGOUT: no BYE")
        self.close()


# ---- helpers ----------------------------------------------------------------

def fetch_item(text, name):
    """The value of a simple FETCH item (a number or a parenthesised list)."""
    i = text.find(b" " + name + b" ")
    if i < 0:
        i = text.find(b"(" + name + b" ")
        if i < 0:
            return None
    i += len(name) + 2
    if text[i:i + 1] == b"(":
        return text[i:text.index(b")", i) + 1]
    j = i
    while j < len(text) and text[j:j + 1] not in (b" ", b")"):
        j += 1
    return text[i:j]


def is_fetch(text):
    p = text.split(b" ", 3)
    return len(p) >= 3 and p[0] == b"*" and p[2] == b"FETCH" and p[1].isdigit()


def pct(vals, p):
    v = sorted(vals)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def cpu_self():
    t = os.times()
    return t.user + t.system


def message(acct, i, size):
    """A SIZE-octet message with CR LF line ends for APPEND."""
    head = ("From: Bench Sender <sender@client.bench.test>\r\n"
            "To: <%s@bench.test>\r\n"
            "Subject: appended message %d\r\n"
            "Date: Thu, 27 Nov 2025 12:00:00 +0000\r\n"
            "Message-ID: <%s.append.%d@client.bench.test>\r\n"
            "\r\n" % (acct, i, acct, i)).encode()
    body = bytearray()
    n = 0
    while len(head) + len(body) < size:
        body += b"%d%s\r\n" % (n, b"A" * 70)
        n += 1
    msg = bytes(head + body)[:size]
    if not msg.endswith(b"\r\n"):
        msg = msg[:-2] + b"\r\n"
    return msg


# ---- parallel clients ---------------------------------------------------------

def _child(fn, arg, max_s, barrier, q):
    try:
        dl = Deadline(max_s)
        state = fn(arg, dl, None)          # preparation, not timed
        barrier.wait(min(60, dl.left()))
        c0 = cpu_self()
        res = fn(arg, dl, state)           # the timed part
        q.put(("ok", res, cpu_self() - c0, time.monotonic()))
    except Exception as e:  # reported by the parent
        try:
            barrier.abort()
        except Exception:
            pass
        q.put(("err", "%s: %s" % (arg, e), 0, 0))


def parallel(fn, args, max_s, roots):
    """Runs fn(arg, deadline, None) (set-up) then fn(arg, deadline, state)
    (timed) in one process per arg, the timed parts started together.
    Returns (results, elapsed, client cpu s, server cpu s)."""
    barrier = _MP.Barrier(len(args) + 1)
    q = _MP.Queue()
    procs = [_MP.Process(target=_child, args=(fn, a, max_s, barrier, q)) for a in args]
    for p in procs:
        p.start()
    dl = Deadline(max_s)
    try:
        barrier.wait(min(60, dl.left()))
    except Exception:
        pass
    t0 = time.monotonic()
    cpu0 = benchlib.tree_cpu(roots)
    res, errs, ccpu, tend = [], [], 0.0, t0
    for _ in procs:
        try:
            st, v, c, te = q.get(timeout=max(0.1, dl.end - time.monotonic()))
        except Exception:
            errs.append("over the --max-s limit of %g s" % max_s)
            break
        if st == "ok":
            res.append(v)
            ccpu += c
            tend = max(tend, te)
        else:
            errs.append(v)
    cpu = benchlib.tree_cpu(roots) - cpu0
    for p in procs:
        p.join(1)
        if p.is_alive():
            p.kill()
            p.join(1)
    if errs:
        raise Failed("; ".join(errs[:5]))
    return res, tend - t0, ccpu, cpu


# ---- the workloads ------------------------------------------------------------

def accounts(o, n):
    """n account names: --users, or bench01, bench02, ..."""
    if o.users:
        if len(o.users) < n:
            raise Failed("--users names %d accounts, %d needed" % (len(o.users), n))
        return o.users[:n]
    return ["bench%02d" % (i + 1) for i in range(n)]


def one_login(port, user, dl):
    t0 = time.monotonic()
    c = Imap(port, dl)
    c.login(user)
    t1 = time.monotonic()
    c.logout()
    t2 = time.monotonic()
    return (t1 - t0) * 1000, (t2 - t0) * 1000


def _par_logins(arg, dl, state):
    port, users, n = arg
    if state is None:
        return True
    for i in range(n):
        one_login(port, users[i % len(users)], dl)
    return n


def w_login(o, dl, roots):
    users = accounts(o, o.accounts)
    lat, llat = [], []
    cpu0, c0 = benchlib.tree_cpu(roots), cpu_self()
    for i in range(o.n):
        a, b = one_login(o.port, users[i % len(users)], dl)
        llat.append(a)
        lat.append(b)
    cpu, ccpu = benchlib.tree_cpu(roots) - cpu0, cpu_self() - c0
    out = {"n": o.n, "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
           "login_p50_ms": pct(llat, 50), "login_p95_ms": pct(llat, 95),
           "cpu_ms_per_login": cpu * 1000 / o.n,
           "client_cpu_ms_seq_login": ccpu * 1000 / o.n}
    if o.par_n:
        per = o.par_n // o.par
        if per * o.par != o.par_n:
            raise Failed("--par-n must be a multiple of --par")
        args = [(o.port, users[k % len(users):] + users[:k % len(users)], per)
                for k in range(o.par)]
        res, el, ccpu, cpu = parallel(_par_logins, args, dl.left(), roots)
        done = sum(res)
        if done != o.par_n:
            raise Failed("%d parallel logins of %d" % (done, o.par_n))
        out.update(par_n=done, par=o.par, par_elapsed=el, logins_s=done / el,
                   par_cpu_ms_per_login=cpu * 1000 / done,
                   client_cpu_ms_per_login=ccpu * 1000 / done)
    return out


def sync_once(port, user, expect, dl):
    c = Imap(port, dl)
    c.login(user)
    c0 = cpu_self()
    t0 = time.monotonic()
    exists, _, _ = c.select()
    t1 = time.monotonic()
    if exists != expect:
        raise Failed("SELECT: %d messages, expected %d" % (exists, expect))
    untagged, _ = c.command("UID FETCH 1:* " + SYNC_ITEMS)
    t2 = time.monotonic()
    ccpu = cpu_self() - c0
    n = 0
    uids = set()
    for text, lits in untagged:
        if not is_fetch(text):
            continue
        n += 1
        uid = fetch_item(text, b"UID")
        size = fetch_item(text, b"RFC822.SIZE")
        if uid is None or size is None or b"INTERNALDATE" not in text or \
                b"ENVELOPE (" not in text or b"FLAGS (" not in text:
            raise Failed("FETCH response without every item: %r" % text[:300])
        uids.add(int(uid))
        hdr = lits[-1] if lits else b""
        if b"Message-ID:" not in hdr and b"Message-Id:" not in hdr and \
                b"message-id:" not in hdr.lower():
            raise Failed("FETCH %s: no Message-ID in the header fields: %r" % (uid, hdr[:200]))
    if n != expect or len(uids) != expect:
        raise Failed("UID FETCH 1:*: %d responses (%d UIDs), expected %d" % (n, len(uids), expect))
    c.logout()
    return (t1 - t0) * 1000, (t2 - t1) * 1000, ccpu


def w_sync(o, dl, roots):
    out = {}
    for pre in ("", "warm_") if o.again else ("",):
        cpu0 = benchlib.tree_cpu(roots)
        sel, fet, ccpu = sync_once(o.port, o.user, o.expect, dl)
        cpu = benchlib.tree_cpu(roots) - cpu0
        tot = sel + fet
        out.update({pre + "select_ms": sel, pre + "fetch_ms": fet, pre + "sync_ms": tot,
                    pre + "msgs_s": o.expect / (tot / 1000),
                    pre + "cpu_ms_per_msg": cpu * 1000 / o.expect,
                    pre + "client_cpu_ms_per_msg": ccpu * 1000 / o.expect})
    out["n"] = o.expect
    return out


def _bodies(arg, dl, state):
    port, user, expect = arg
    if state is None:
        c = Imap(port, dl)
        c.login(user)
        exists, _, _ = c.select()
        if exists != expect:
            raise Failed("SELECT: %d messages, expected %d" % (exists, expect))
        untagged, _ = c.command("FETCH 1:* (RFC822.SIZE)")
        sizes = {}
        for text, _ in untagged:
            if is_fetch(text):
                sizes[int(text.split()[1])] = int(fetch_item(text, b"RFC822.SIZE"))
        if len(sizes) != expect:
            raise Failed("FETCH 1:* (RFC822.SIZE): %d answers" % len(sizes))
        return c, sizes
    c, sizes = state
    nbytes = 0
    for n in range(1, expect + 1):
        untagged, _ = c.command("FETCH %d BODY.PEEK[]" % n)
        body = None
        for text, lits in untagged:
            if is_fetch(text) and int(text.split()[1]) == n and b"BODY[]" in text and lits:
                body = lits[0]
        if body is None:
            raise Failed("FETCH %d BODY.PEEK[]: no body in the answer" % n)
        if len(body) != sizes[n]:
            raise Failed("FETCH %d BODY.PEEK[]: %d octets, RFC822.SIZE said %d" %
                         (n, len(body), sizes[n]))
        nbytes += len(body)
    c.logout()
    return expect, nbytes


def w_bodies(o, dl, roots):
    args = [(o.port, u, o.expect) for u in accounts(o, o.accounts)]
    res, el, ccpu, cpu = parallel(_bodies, args, dl.left(), roots)
    msgs = sum(r[0] for r in res)
    nbytes = sum(r[1] for r in res)
    if msgs != o.accounts * o.expect:
        raise Failed("%d bodies, expected %d" % (msgs, o.accounts * o.expect))
    return {"elapsed": el, "msgs": msgs, "bytes": nbytes, "msgs_s": msgs / el,
            "mb_s": nbytes / el / 1e6, "cpu_ms_per_msg": cpu * 1000 / msgs,
            "client_cpu_ms_per_msg": ccpu * 1000 / msgs}


def all_uids(c, expect):
    untagged, _ = c.command("UID FETCH 1:* (UID FLAGS)")
    out = []
    for text, _ in untagged:
        if is_fetch(text):
            out.append((int(fetch_item(text, b"UID")), fetch_item(text, b"FLAGS")))
    if len(out) != expect:
        raise Failed("UID FETCH 1:* (UID FLAGS): %d answers, expected %d" % (len(out), expect))
    return out


def w_flags(o, dl, roots):
    c = Imap(o.port, dl)
    c.login(o.user)
    exists, _, _ = c.select()
    if exists != o.expect:
        raise Failed("SELECT: %d messages, expected %d" % (exists, o.expect))
    uids = [u for u, _ in all_uids(c, o.expect)]
    cpu0, c0, t0 = benchlib.tree_cpu(roots), cpu_self(), time.monotonic()
    c.command("UID STORE 1:* +FLAGS.SILENT (\\Seen)")
    all_ms = (time.monotonic() - t0) * 1000
    cpu_all, ccpu_all = benchlib.tree_cpu(roots) - cpu0, cpu_self() - c0
    unseen = [u for u, f in all_uids(c, o.expect) if b"\\Seen" not in f]
    if unseen:
        raise Failed("after UID STORE 1:* +FLAGS.SILENT (\\Seen): %d messages not \\Seen" %
                     len(unseen))
    # the single STOREs: UIDs spread over the whole mailbox
    step = max(1, len(uids) // o.singles)
    pick = [uids[(k * step) % len(uids)] for k in range(o.singles)]
    lat = []
    cpu0, c0, t0 = benchlib.tree_cpu(roots), cpu_self(), time.monotonic()
    for u in pick:
        s0 = time.monotonic()
        untagged, _ = c.command("UID STORE %d +FLAGS (\\Flagged)" % u)
        lat.append((time.monotonic() - s0) * 1000)
        if not any(is_fetch(t) and b"\\Flagged" in t for t, _ in untagged):
            raise Failed("UID STORE %d +FLAGS (\\Flagged): no FETCH with the flag" % u)
    el = time.monotonic() - t0
    cpu, ccpu = benchlib.tree_cpu(roots) - cpu0, cpu_self() - c0
    c.logout()
    return {"n": o.expect, "store_all_ms": all_ms, "store_all_msgs_s": o.expect / (all_ms / 1000),
            "store_all_cpu_ms": cpu_all * 1000, "store_all_client_cpu_ms": ccpu_all * 1000,
            "singles": len(pick), "store_p50_ms": pct(lat, 50), "store_p95_ms": pct(lat, 95),
            "stores_s": len(pick) / el, "cpu_ms_per_store": cpu * 1000 / len(pick),
            "client_cpu_ms_per_store": ccpu * 1000 / len(pick)}


def _appends(arg, dl, state):
    port, user, n, size = arg
    if state is None:
        c = Imap(port, dl)
        c.login(user)
        return c, [message(user, i, size) for i in range(n)]
    c, msgs = state
    for m in msgs:
        c.append("INBOX", m)
    c.logout()
    return n, n * size


def w_append(o, dl, roots):
    per = o.count // o.clients
    if per * o.clients != o.count:
        raise Failed("--count must be a multiple of --clients")
    counter = benchlib.MboxCounter(o.mbox) if o.mbox else None
    before = counter.count() if counter else 0
    args = [(o.port, u, per, o.size) for u in accounts(o, o.clients)]
    res, el, ccpu, cpu = parallel(_appends, args, dl.left(), roots)
    msgs = sum(r[0] for r in res)
    nbytes = sum(r[1] for r in res)
    if msgs != o.count:
        raise Failed("%d APPENDs answered OK, expected %d" % (msgs, o.count))
    out = {"elapsed": el, "msgs": msgs, "msgs_s": msgs / el, "mb_s": nbytes / el / 1e6,
           "cpu_ms_per_msg": cpu * 1000 / msgs, "client_cpu_ms_per_msg": ccpu * 1000 / msgs}
    if counter:
        got = counter.count() - before
        if got != o.count:
            raise Failed("%d messages more in the mbox files, expected %d" % (got, o.count))
        out["in_mbox"] = got
    return out


def delete_one(c, uids, move):
    """Deletes the middle message of UIDS (a list kept in order): returns
    the time in ms to the last tagged OK."""
    k = len(uids) // 2
    u = uids[k]
    t0 = time.monotonic()
    if move:
        untagged, _ = c.command("UID MOVE %d Trash" % u)
    else:
        c.command("UID STORE %d +FLAGS.SILENT (\\Deleted)" % u)
        untagged, _ = c.command("EXPUNGE")
    ms = (time.monotonic() - t0) * 1000
    exp = [t for t, _ in untagged if t.startswith(b"* ") and t.endswith(b" EXPUNGE")]
    if len(exp) != 1 or int(exp[0].split()[1]) != k + 1:
        raise Failed("deleting UID %d (message %d): EXPUNGE responses %r" % (u, k + 1, exp[:3]))
    del uids[k]
    return ms


def w_delete(o, dl, roots):
    c = Imap(o.port, dl)
    c.login(o.user)
    if o.move:
        tag = c.tag()
        c.send(tag + b" CREATE Trash\r\n")
        try:
            c.wait(tag, "CREATE Trash")
        except Failed as e:      # an existing Trash is fine
            if "ALREADYEXISTS" not in str(e) and "exists" not in str(e).lower():
                raise
    exists, _, _ = c.select()
    if exists != o.expect:
        raise Failed("SELECT: %d messages, expected %d" % (exists, o.expect))
    uids = [u for u, _ in all_uids(c, o.expect)]
    cpu0, c0 = benchlib.tree_cpu(roots), cpu_self()
    one = delete_one(c, uids, o.move)
    lat = []
    t0 = time.monotonic()
    for _ in range(o.n):
        lat.append(delete_one(c, uids, o.move))
    total = time.monotonic() - t0
    cpu, ccpu = benchlib.tree_cpu(roots) - cpu0, cpu_self() - c0
    exists, _, _ = c.select()
    if exists != o.expect - o.n - 1:
        raise Failed("after %d deletes: %d messages, expected %d" %
                     (o.n + 1, exists, o.expect - o.n - 1))
    if o.move:
        tex, _, _ = c.select("Trash")
        if tex < o.n + 1:
            raise Failed("Trash holds %d messages after %d moves" % (tex, o.n + 1))
    c.logout()
    return {"one_ms": one, "n": o.n, "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
            "total_s": total, "cpu_ms_per_delete": cpu * 1000 / (o.n + 1),
            "client_cpu_ms_per_delete": ccpu * 1000 / (o.n + 1)}


# ---- the command line ---------------------------------------------------------

class Opts:
    pass


def parse(argv):
    if len(argv) < 2 or argv[0] not in WORKLOADS:
        sys.exit(__doc__)
    o = Opts()
    o.cmd, o.port = argv[0], int(argv[1])
    o.roots, o.mbox, o.users = [], [], []
    o.max_s, o.accounts, o.n, o.par_n, o.par = 300.0, 10, 200, 1000, 20
    o.user, o.expect, o.again, o.singles = "bench01", 500, False, 1000
    o.clients, o.count, o.size, o.move = 8, 2000, 4096, False
    if o.cmd == "delete":
        o.n = 100
    ints = ("accounts", "n", "par_n", "par", "expect", "singles", "clients", "count", "size")
    for a in argv[2:]:
        k, _, v = a[2:].partition("=")
        k = k.replace("-", "_")
        if not a.startswith("--"):
            sys.exit("imapload: unexpected argument %r" % a)
        if k == "root":
            o.roots.append(int(v))
        elif k == "mbox":
            o.mbox.append(v)
        elif k == "max_s":
            o.max_s = float(v)
        elif k in ints:
            setattr(o, k, int(v))
        elif k == "user":
            o.user = v
        elif k == "users":
            o.users = [u for u in v.split(",") if u]
        elif k in ("again", "move") and not v:
            setattr(o, k, True)
        else:
            sys.exit("imapload: unknown option %r" % a)
    return o


WORKLOADS = {"login": w_login, "sync": w_sync, "bodies": w_bodies, "flags": w_flags,
             "append": w_append, "delete": w_delete}


def main():
    o = parse(sys.argv[1:])
    dl = Deadline(o.max_s)
    try:
        out = WORKLOADS[o.cmd](o, dl, o.roots)
    except (Failed, OSError, ValueError, TypeError) as e:
        sys.exit("imapload %s: failed: %s" % (o.cmd, e))
    print(" ".join("%s=%s" % (k, ("%.3f" % v) if isinstance(v, float) else v)
                   for k, v in out.items()))


if __name__ == "__main__":
    main()
