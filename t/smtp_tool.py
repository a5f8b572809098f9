#!/usr/bin/env python3
"""SMTP test client for the t/smtp_*.bats files.  Every wait is bounded.

  raw PORT N           send stdin's bytes at once, print the replies until
                       N final reply lines (the greeting counts) or close
  chat PORT LINE...    greeting, then each LINE + CRLF waiting for its reply;
                       prints every reply
  splits PORT          one pipelined batch split into two writes at every
                       offset; checks every reply arrives, in order
  bigline PORT MB      EHLO, then MB MiB without a newline, streamed, then
                       CRLF QUIT; prints the replies after it
  send PORT FROM TO... FILE   smtplib: send FILE's bytes (CRLF lines) as is
  parallel PORT C M    C clients x M messages each (smtplib, threads);
                       prints the number of 250 answers
  mbox-bodies MBOX     prints each message of an mbox, mboxrd-unquoted,
                       without postern's From_/X-Postern/Return-Path lines
                       and the Received header, separated by a NUL byte
"""
import socket
import smtplib
import sys
import threading
import time

TIMEOUT = 10


def connect(port):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
    return s


def read_replies(s, want, deadline=None):
    """Reads until `want` final reply lines arrived; returns the bytes."""
    buf = b""
    deadline = deadline or time.time() + TIMEOUT
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
    with smtplib.SMTP("127.0.0.1", int(port), timeout=TIMEOUT) as c:
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


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    cmd, args = sys.argv[1], sys.argv[2:]
    {
        "raw": cmd_raw, "chat": cmd_chat, "splits": cmd_splits,
        "bigline": cmd_bigline, "send": cmd_send, "parallel": cmd_parallel,
        "mbox-bodies": cmd_mbox_bodies,
    }[cmd](*args)


if __name__ == "__main__":
    main()
