#!/usr/bin/env python3
"""Writes the POP3 workload's mailboxes: ACCOUNTS mbox files (bench01...)
of MESSAGES messages each, every message SIZE bytes on disk (headers and
body, LF line ends), plain mbox that both postern and Dovecot read.
The content depends only on the arguments, so both sides get the same
bytes.

usage: mkmbox.py OUTDIR ACCOUNTS MESSAGES SIZE DOMAIN [--rich]

--rich: headers as a mail client's folder has them (the IMAP workloads):
two Received lines, From and To with display names, a Subject, Date and
Message-ID that differ per message, MIME-Version and Content-Type; the
message is still SIZE bytes.
"""
import os
import sys

FROM_LINE = b"From sender@client.%s Thu Nov 27 12:00:00 2025\n"


def rich_head(domain, acct, i):
    day, sec = 1 + i % 28, i % 86400
    date = "%s, %02d Nov 2025 %02d:%02d:%02d +0100" % (
        ("Sat", "Sun", "Mon", "Tue", "Wed", "Thu", "Fri")[(day - 1) % 7], day,
        sec // 3600, sec // 60 % 60, sec % 60)
    return (
        "Return-Path: <sender{k}@client.{d}>\n"
        "Received: from mx.client.{d} (mx.client.{d} [192.0.2.{r}])\n"
        "\tby bench.localhost with ESMTP id {a}{i:08d}\n"
        "\tfor <{a}@{d}>; {t}\n"
        "Received: from [198.51.100.{r}] by mx.client.{d}; {t}\n"
        "From: \"Sender Number {k}\" <sender{k}@client.{d}>\n"
        "To: \"Bench Account {a}\" <{a}@{d}>\n"
        "Subject: Re: quarterly report, part {i} of the bench run\n"
        "Date: {t}\n"
        "Message-ID: <{i}.{a}.20251127@client.{d}>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
    ).format(d=domain, a=acct, i=i, k=i % 97, r=1 + i % 250, t=date).encode()


def message(domain, acct, i, size, rich=False):
    head = rich_head(domain, acct, i) if rich else (
        "Return-Path: <sender@client.{d}>\n"
        "From: <sender@client.{d}>\n"
        "To: <{a}@{d}>\n"
        "Subject: bench message {i}\n"
        "Date: Thu, 27 Nov 2025 12:00:00 +0000\n"
        "Message-Id: <{a}.{i}@client.{d}>\n"
        "\n"
    ).format(d=domain, a=acct, i=i).encode()
    body = bytearray()
    n = 0
    while len(head) + len(body) < size:
        body += b"%d%s\n" % (n, b"X" * 76)
        n += 1
    msg = bytes(head + body)[:size]
    if not msg.endswith(b"\n"):
        msg = msg[:-1] + b"\n"
    return msg


def main():
    args = [a for a in sys.argv[1:] if a != "--rich"]
    rich = len(args) != len(sys.argv) - 1
    if len(args) != 5:
        sys.exit(__doc__)
    out, nacc, nmsg, size, domain = (args[0], int(args[1]), int(args[2]),
                                     int(args[3]), args[4])
    os.makedirs(out, exist_ok=True)
    fl = FROM_LINE % domain.encode()
    for a in range(1, nacc + 1):
        acct = "bench%02d" % a
        with open(os.path.join(out, acct), "wb") as f:
            for i in range(1, nmsg + 1):
                # the blank line after each message separates it from the next
                f.write(fl + message(domain, acct, i, size, rich) + b"\n")


if __name__ == "__main__":
    main()
