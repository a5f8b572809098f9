#!/usr/bin/env python3
"""Writes the POP3 workload's mailboxes: ACCOUNTS mbox files (bench01...)
of MESSAGES messages each, every message SIZE bytes on disk (headers and
body, LF line ends), plain mbox that both postern and Dovecot read.
The content depends only on the arguments, so both sides get the same
bytes.

usage: mkmbox.py OUTDIR ACCOUNTS MESSAGES SIZE DOMAIN
"""
import os
import sys

FROM_LINE = b"From sender@client.%s Thu Nov 27 12:00:00 2025\n"


def message(domain, acct, i, size):
    head = (
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
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    out, nacc, nmsg, size, domain = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                     int(sys.argv[4]), sys.argv[5])
    os.makedirs(out, exist_ok=True)
    fl = FROM_LINE % domain.encode()
    for a in range(1, nacc + 1):
        acct = "bench%02d" % a
        with open(os.path.join(out, acct), "wb") as f:
            for i in range(1, nmsg + 1):
                # the blank line after each message separates it from the next
                f.write(fl + message(domain, acct, i, size) + b"\n")


if __name__ == "__main__":
    main()
