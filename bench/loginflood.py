#!/usr/bin/env python3
"""SMTP delivery latency alone, and while a POP3 login flood runs (a login
flood must not reach deliveries).

  loginflood.py --smtp PORT --pop3 PORT --domain DOMAIN [--accounts N]
                [--rate R] [--secs S] [--addrs N] [--base N] [--max-s S]
                [--flood-sched idle|normal] [--trace FILE]

Phase 1: deliveries in one SMTP session (4 KiB each, to the accounts in
turn) at a fixed rate (--rate, default 30/s) for --secs seconds (default
10).  The latency of each is the time from when its final "." was due to
the "250" (the store's append and fsync, the durable part); a delivery
that could not be sent on time because the one before it was still
waiting counts its lateness too, so a stall of the store shows in every
delivery due during it (no coordinated omission).
Phase 2: a separate process opens POP3 sessions from ADDRS source addresses
in 127.0.0.0/8 (127.B.x.y, B from --base so that every run starts with
addresses the server has not seen), each failing logins (USER of an
unknown name, PASS wrong) as fast as the server answers, and reconnecting
when it closes; after a second of that, the same deliveries again.
The flood stops when they are done, or at --max-s seconds (then the run
fails); every flood client is bounded in attempts too.  A client the
server turns away (every POP3 worker busy) comes back a second later: the
row measures password checks, not a connection flood (each refusal costs
postern a worker process: the admission limits' ground).

The flood's process runs as SCHED_IDLE (--flood-sched idle, the default):
the attacker's CPU is not the server's.  On this 2-CPU loopback bench the
flood client itself takes 1.5-2 s of CPU in bursts of up to 27 ms (500
asyncio connections answered at once), and at nice 0 the delivery client,
the SMTP worker and the store each wait up to a scheduler tick (4 ms at
HZ=250) behind it (measured with perf sched, BENCH.md "login_flood"): the
row then measured the load generator.  As SCHED_IDLE it still takes every
idle cycle, so the flood's rate (failed logins/s, refused sessions) is the
same; --flood-sched normal runs it at nice 0 as before.

--trace FILE appends "due latency_ms" for every delivery of both phases
(CLOCK_MONOTONIC seconds, comparable with perf sched -k CLOCK_MONOTONIC).

Prints: alone_p50_ms= alone_p99_ms= flood_p50_ms= flood_p99_ms=
flood_max_ms= flood_fail_s= (failed logins per second answered during
phase 2) flood_refused= (sessions turned away) n_alone= n_flood= (deliveries timed)
"""
import argparse
import asyncio
import gc
import multiprocessing as mp
import os
import socket
import sys
import time

MAX_ATTEMPTS_PER_CLIENT = 2000
REFUSED_WAIT_S = 1.0    # a client turned away (every worker busy) comes back later
BODY = ("Subject: flood bench\r\n\r\n" + ("x" * 76 + "\r\n") * 52).encode()


class Smtp:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")
        self.expect(b"220")
        self.cmd(b"EHLO bench.localhost", b"250")

    def expect(self, code):
        while True:
            ln = self.f.readline()
            if not ln:
                raise RuntimeError("SMTP connection closed")
            if ln[3:4] != b"-":
                break
        if not ln.startswith(code):
            raise RuntimeError("SMTP: expected %r, got %r" % (code, ln))

    def cmd(self, line, code):
        self.s.sendall(line + b"\r\n")
        self.expect(code)

    def deliver(self, rcpt, due):
        """One delivery whose final "." is due at time due (monotonic):
        the latency counts from then, or from when it was sent if that
        was later, so a stall delays every delivery due during it."""
        self.cmd(b"MAIL FROM:<bench@example.net>", b"250")
        self.cmd(b"RCPT TO:<" + rcpt.encode() + b">", b"250")
        self.cmd(b"DATA", b"354")
        self.s.sendall(BODY)
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
        self.s.sendall(b".\r\n")
        self.expect(b"250")
        return (time.monotonic() - due) * 1000


def deliveries(port, domain, naccts, rate, secs, trace=None):
    """Deliveries at a fixed rate (open loop) for secs seconds."""
    c = Smtp(port)
    lat = []
    # a collection in the measuring client would count as server latency
    gc.collect()
    gc.disable()
    t0 = time.monotonic() + 0.05
    n = int(rate * secs)
    for i in range(n):
        lat.append(c.deliver("bench%02d@%s" % (i % naccts + 1, domain), t0 + i / rate))
    c.cmd(b"QUIT", b"221")
    gc.enable()
    if trace:
        with open(trace, "a") as f:
            for i, ms in enumerate(lat):
                f.write("%.6f %.3f\n" % (t0 + i / rate, ms))
    lat.sort()
    return lat


def pct(lat, p):
    return lat[min(len(lat) - 1, int(round(p / 100.0 * (len(lat) - 1))))]


async def flood_client(port, addr, stop, counts):
    n = 0
    while not stop.is_set() and n < MAX_ATTEMPTS_PER_CLIENT:
        w = None
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.bind((addr, 0))
            await asyncio.get_running_loop().sock_connect(s, ("127.0.0.1", port))
            r, w = await asyncio.open_connection(sock=s)
            greet = await asyncio.wait_for(r.readline(), 30)
            if not greet.startswith(b"+OK"):
                counts["refused"] += 1
                await asyncio.sleep(REFUSED_WAIT_S)
                continue
            while not stop.is_set() and n < MAX_ATTEMPTS_PER_CLIENT:
                n += 1
                w.write(b"USER x%s-%d\r\nPASS wrong\r\n" % (addr.encode(), n))
                await w.drain()
                a = await asyncio.wait_for(r.readline(), 60)
                if not a.startswith(b"+OK"):
                    break
                a = await asyncio.wait_for(r.readline(), 60)
                if not a.startswith(b"-ERR"):
                    break
                counts["failed"] += 1
                if b"too many" in a:
                    break
        except (OSError, asyncio.TimeoutError, ConnectionError):
            await asyncio.sleep(0.05)
        finally:
            if w is not None:
                w.close()


def flood_main(port, addrs, base, max_s, sched, started, stop_ev, out):
    if sched == "idle":
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    async def run():
        stop = asyncio.Event()
        counts = {"failed": 0, "refused": 0}
        # addresses 127.B.x.y, y in 1..250
        tasks = [asyncio.ensure_future(flood_client(
            port, "127.%d.%d.%d" % (base % 254 + 1, i // 250, i % 250 + 1), stop, counts))
            for i in range(addrs)]
        started.set()
        end = time.monotonic() + max_s
        t0 = time.monotonic()
        while not stop_ev.is_set() and time.monotonic() < end:
            await asyncio.sleep(0.1)
        el = time.monotonic() - t0
        stop.set()
        await asyncio.wait(tasks, timeout=5)
        out.put((counts["failed"], counts["refused"], el))
    asyncio.run(run())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smtp", type=int, required=True)
    ap.add_argument("--pop3", type=int, required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--accounts", type=int, default=10)
    ap.add_argument("--rate", type=float, default=30)
    ap.add_argument("--secs", type=float, default=10)
    ap.add_argument("--addrs", type=int, default=500)
    ap.add_argument("--base", type=int, default=0)
    ap.add_argument("--max-s", type=float, default=120)
    ap.add_argument("--flood-sched", choices=("idle", "normal"), default="idle")
    ap.add_argument("--trace")
    a = ap.parse_args()

    alone = deliveries(a.smtp, a.domain, a.accounts, a.rate, a.secs, a.trace)
    started, stop_ev, out = mp.Event(), mp.Event(), mp.Queue()
    p = mp.Process(target=flood_main,
                   args=(a.pop3, a.addrs, a.base, a.max_s, a.flood_sched,
                         started, stop_ev, out))
    p.start()
    started.wait(10)
    time.sleep(1.0)
    try:
        flood = deliveries(a.smtp, a.domain, a.accounts, a.rate, a.secs, a.trace)
    finally:
        stop_ev.set()
    failed, refused, el = out.get(timeout=a.max_s + 30)
    p.join(10)
    if el >= a.max_s:
        sys.exit("loginflood: the deliveries did not finish within %.0f s" % a.max_s)
    print("alone_p50_ms=%.2f alone_p99_ms=%.2f flood_p50_ms=%.2f flood_p99_ms=%.2f "
          "flood_max_ms=%.2f flood_fail_s=%.1f flood_refused=%d n_alone=%d n_flood=%d" %
          (pct(alone, 50), pct(alone, 99), pct(flood, 50), pct(flood, 99),
           flood[-1], failed / el, refused, len(alone), len(flood)))


if __name__ == "__main__":
    main()
