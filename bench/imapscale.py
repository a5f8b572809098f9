#!/usr/bin/env python3
"""IMAP at scale: one big INBOX, timed against 127.0.0.1.

  imapscale.py mkbig DIR DOMAIN USER
      writes DIR/m10k (10,000 messages, ~100 MB) and DIR/m100k (100,000
      messages, ~1 GB; its first 10,000 messages are m10k's), plain mbox,
      messages of 6..14 KiB (mean ~10 KiB) addressed to USER; the bytes
      depend only on the arguments, so both sides get the same file.
  imapscale.py select PORT USER EXPECT [--max-s S] [--root PID]...
      connect, LOGIN (not timed), SELECT INBOX timed to its tagged OK, the
      EXISTS checked against EXPECT, LOGOUT; then the same again in a new
      session (the warm SELECT).  Prints select_ms= select2_ms=
      client_cpu_ms= server_cpu_ms= (the first SELECT's).
  imapscale.py pop3 PORT USER EXPECT [--max-s S]
      connect, USER/PASS, LIST (its count checked against EXPECT), QUIT.
      Prints login_ms= (connect to +OK of PASS) list_ms= total_ms=.
  imapscale.py deliver PORT USER DOMAIN MBOX [--max-s S]
      one 4 KiB message by SMTP on an open session (EHLO done): MAIL, RCPT,
      DATA timed to the 250, then the mbox watched (every 5 ms) until the
      message's Message-Id is in its tail.  Prints smtp_250_ms= in_mbox_ms=
      (both from MAIL FROM).
  imapscale.py evict PATH...
      sync, then drop every file under the paths from the page cache
      (posix_fadvise DONTNEED): a cold read of the mailbox and of the
      server's index files, without dropping the whole machine's caches.

Passwords are the account name followed by "pw".  Every answer is checked:
a NO/BAD/-ERR, a wrong count or the --max-s deadline (default 600 s) fails
the run (exit status 1, the reason on stderr).
"""
import os
import resource
import smtplib
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


class Fail(Exception):
    pass


FROM_LINE = b"From sender@client.%s Thu Nov 27 12:00:00 2025\n"


def mkbig(out, domain, user):
    os.makedirs(out, exist_ok=True)
    fl = FROM_LINE % domain.encode()
    line = b"X" * 76
    body = b"".join(b"%05d%s\n" % (n, line) for n in range(200))   # 16.2 KB
    small = open(os.path.join(out, "m10k.tmp"), "wb")
    big = open(os.path.join(out, "m100k.tmp"), "wb")
    chunk = []
    for i in range(1, 100001):
        head = ("Return-Path: <sender@client.{d}>\n"
                "From: Sender {i} <sender@client.{d}>\n"
                "To: <{u}@{d}>\n"
                "Subject: scale message {i}\n"
                "Date: Thu, 27 Nov 2025 12:00:00 +0000\n"
                "Message-Id: <scale.{i}@client.{d}>\n"
                "\n").format(d=domain, u=user, i=i).encode()
        # 6..14 KiB in 82-byte lines, spread by a fixed sequence
        nlines = 75 + (i * 7919) % 100
        chunk.append(fl + head + body[:nlines * 82] + b"\n")
        if i % 1000 == 0:
            data = b"".join(chunk)
            chunk = []
            big.write(data)
            if i <= 10000:
                small.write(data)
    small.close()
    big.close()
    os.rename(os.path.join(out, "m10k.tmp"), os.path.join(out, "m10k"))
    os.rename(os.path.join(out, "m100k.tmp"), os.path.join(out, "m100k"))


def evict(paths):
    os.sync()
    n = 0
    for p in paths:
        files = [p] if os.path.isfile(p) else [
            os.path.join(d, f) for d, _, fs in os.walk(p) for f in fs]
        for f in files:
            try:
                fd = os.open(f, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                n += 1
            finally:
                os.close(fd)
    print("evicted=%d" % n)


class Conn(benchlib.LineConn):
    error = Fail

    def __init__(self, port, deadline):
        self.deadline = deadline
        super().__init__(port, timeout=self.left())

    def left(self):
        t = self.deadline - time.monotonic()
        if t <= 0:
            raise Fail("--max-s deadline passed")
        return t

    def fill(self):
        self.s.settimeout(self.left())
        try:
            super().fill()
        except socket.timeout:
            raise Fail("--max-s deadline passed waiting for the server")

    def send(self, text):
        self.s.settimeout(self.left())
        self.s.sendall(text.encode() + b"\r\n")

    def imap(self, tag, text):
        """Sends a command; returns its untagged lines after a tagged OK."""
        self.send("%s %s" % (tag, text))
        out = []
        while True:
            ln = self.line()
            if ln.endswith(b"}"):
                raise Fail("unexpected literal: %r" % ln[:200])
            if ln.startswith(tag.encode() + b" "):
                if not ln[len(tag) + 1:].upper().startswith(b"OK"):
                    raise Fail("%s: server said %r" % (text.split()[0], ln[:200]))
                return out
            out.append(ln)

    def pop3(self, text):
        self.send(text)
        ln = self.line()
        if not ln.startswith(b"+OK"):
            raise Fail("%s: server said %r" % (text.split()[0], ln[:200]))
        return ln

    def close(self):
        self.s.close()


def select_once(port, user, expect, deadline):
    c = Conn(port, deadline)
    if not c.line().startswith(b"* OK"):
        raise Fail("no IMAP greeting")
    c.imap("a", "LOGIN %s %spw" % (user, user))
    t0 = time.monotonic()
    lines = c.imap("b", "SELECT INBOX")
    el = time.monotonic() - t0
    n = [int(ln.split()[1]) for ln in lines
         if ln.startswith(b"* ") and ln.upper().endswith(b" EXISTS")]
    if n != [expect]:
        raise Fail("SELECT INBOX: EXISTS %s, expected %d" % (n, expect))
    c.imap("c", "LOGOUT")
    c.close()
    return el


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def select(port, user, expect, deadline, roots):
    c0 = cpu_s()
    cpu0 = benchlib.tree_cpu(roots)
    first = select_once(port, user, expect, deadline)
    scpu = benchlib.tree_cpu(roots) - cpu0
    c1 = cpu_s()
    second = select_once(port, user, expect, deadline)
    print("select_ms=%.1f select2_ms=%.1f server_cpu_ms=%.0f client_cpu_ms=%.1f" %
          (first * 1000, second * 1000, scpu * 1000,
           (c1 - c0) * 1000))


def pop3(port, user, expect, deadline):
    t0 = time.monotonic()
    c = Conn(port, deadline)
    if not c.line().startswith(b"+OK"):
        raise Fail("no POP3 greeting")
    c.pop3("USER " + user)
    c.pop3("PASS " + user + "pw")
    t1 = time.monotonic()
    c.pop3("LIST")
    n = 0
    while True:
        ln = c.line()
        if ln == b".":
            break
        n += 1
    t2 = time.monotonic()
    if n != expect:
        raise Fail("LIST: %d messages, expected %d" % (n, expect))
    c.pop3("QUIT")
    c.close()
    print("login_ms=%.1f list_ms=%.1f total_ms=%.1f" %
          ((t1 - t0) * 1000, (t2 - t1) * 1000, (t2 - t0) * 1000))


def deliver(port, user, domain, mbox, deadline):
    mid = "<scale.delivery.%d.%d@client.%s>" % (os.getpid(), time.time_ns(), domain)
    body = "".join("%04d %s\r\n" % (n, "Y" * 74) for n in range(50))
    msg = ("From: <scale@client.{d}>\r\nTo: <{u}@{d}>\r\nSubject: scale delivery\r\n"
           "Message-Id: {m}\r\n\r\n{b}").format(d=domain, u=user, m=mid, b=body).encode()
    size0 = os.path.getsize(mbox)
    s = smtplib.SMTP("127.0.0.1", port, timeout=max(1, deadline - time.monotonic()))
    s.ehlo("client." + domain)
    t0 = time.monotonic()
    refused = s.sendmail("scale@client." + domain, [user + "@" + domain], msg)
    t250 = time.monotonic()
    if refused:
        raise Fail("SMTP refused %r" % refused)
    s.quit()
    want = mid.encode()
    n = 0
    while True:
        size = os.path.getsize(mbox)
        if size > size0:
            with open(mbox, "rb") as f:
                f.seek(max(0, size - 16384))
                if want in f.read():
                    break
        n += 1
        if time.monotonic() > deadline or n > 10 ** 6:
            raise Fail("the message did not reach %s" % mbox)
        time.sleep(0.005)
    tin = time.monotonic()
    print("smtp_250_ms=%.1f in_mbox_ms=%.1f" % ((t250 - t0) * 1000, (tin - t0) * 1000))


def main():
    a = sys.argv[1:]
    max_s = 600.0
    roots = []
    rest = []
    i = 0
    while i < len(a):
        if a[i] == "--max-s" and i + 1 < len(a):
            max_s = float(a[i + 1])
            i += 2
        elif a[i] == "--root" and i + 1 < len(a):
            roots.append(int(a[i + 1]))
            i += 2
        else:
            rest.append(a[i])
            i += 1
    deadline = time.monotonic() + max_s
    try:
        if len(rest) == 4 and rest[0] == "mkbig":
            mkbig(rest[1], rest[2], rest[3])
        elif len(rest) >= 2 and rest[0] == "evict":
            evict(rest[1:])
        elif len(rest) == 4 and rest[0] == "select":
            select(int(rest[1]), rest[2], int(rest[3]), deadline, roots)
        elif len(rest) == 4 and rest[0] == "pop3":
            pop3(int(rest[1]), rest[2], int(rest[3]), deadline)
        elif len(rest) == 5 and rest[0] == "deliver":
            deliver(int(rest[1]), rest[2], rest[3], rest[4], deadline)
        else:
            sys.exit(__doc__)
    except (Fail, OSError, smtplib.SMTPException) as e:
        sys.exit("imapscale: %s" % e)


if __name__ == "__main__":
    main()
