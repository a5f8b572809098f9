#!/usr/bin/env python3
"""One SMTP workload run, measured to durable delivery.

Sends COUNT messages of SIZE payload bytes with smtp-source, SESSIONS
sessions at a time, one message per connection (smtp-source's default),
the recipients spread evenly over the accounts: the work is cut into
chunks of CHUNK messages for one account each, and SESSIONS single-session
smtp-source processes take chunks until none is left.  The clock runs from
the first connection until every message is in the mbox files (counted by
their "From " lines); with --server NAME=PID... the total RSS of the server
processes is sampled every 100 ms and the peak reported.

Prints one line: key=value pairs (elapsed, msgs_s, mb_s, at_client_end,
peak_rss_kib, peak_pss_kib, peak_procs, clients_s).
"""
import argparse
import os
import resource
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


class Watch(threading.Thread):
    """Rescans the mbox files every 20 ms while the run lasts and notes
    when the expected total was first seen (the end of that scan)."""

    def __init__(self, counter, want):
        super().__init__(daemon=True)
        self.counter, self.want = counter, want
        self.lock = threading.Lock()
        self.done_at = None
        self.last = 0
        self._halt = threading.Event()

    def scan(self):
        with self.lock:
            self.last = self.counter.count()
            if self.done_at is None and self.last >= self.want:
                self.done_at = time.monotonic()
            return self.last

    def run(self):
        n = 0
        while not self._halt.is_set() and n < 100000:
            self.scan()
            n += 1
            self._halt.wait(0.02)

    def stop(self):
        self._halt.set()
        self.join(5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--accounts", type=int, default=10)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--chunk", type=int, required=True)
    ap.add_argument("--spool", help="dir of the mbox files (omit: no delivery wait)")
    ap.add_argument("--root-pid", type=int, action="append", default=[],
                    help="sample the RSS of this process tree (repeatable)")
    ap.add_argument("--no-rss", action="store_true",
                    help="with --root-pid: CPU time only, no RSS sampling")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--smtp-source", default="smtp-source")
    a = ap.parse_args()

    if a.count % a.chunk:
        sys.exit("smtprun: count must be a multiple of chunk")
    nchunks = a.count // a.chunk
    todo = ["bench%02d" % (c % a.accounts + 1) for c in range(nchunks)]
    counter = None
    if a.spool:
        counter = benchlib.MboxCounter(
            [os.path.join(a.spool, "bench%02d" % (i + 1)) for i in range(a.accounts)])
        base = counter.count()
        watch = Watch(counter, base + a.count)
        watch.start()
    sampler = None
    if a.root_pid and not a.no_rss:
        sampler = benchlib.PeakSampler(a.root_pid, 0.1, a.timeout + 30)
        sampler.start()

    cpu0 = benchlib.tree_cpu(a.root_pid) if a.root_pid else 0
    ru0 = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    running, failed = [], 0
    while todo or running:
        while todo and len(running) < a.sessions:
            acct = todo.pop(0)
            cmd = [a.smtp_source, "-4", "-s", "1", "-m", str(a.chunk), "-l", str(a.size),
                   "-M", "client.%s" % a.domain, "-f", "sender@client.%s" % a.domain,
                   "-t", "%s@%s" % (acct, a.domain), "127.0.0.1:%d" % a.port]
            running.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE))
        still = []
        for p in running:
            if p.poll() is None:
                still.append(p)
            elif p.returncode != 0:
                failed += 1
                sys.stderr.write("smtprun: smtp-source failed: %s\n" %
                                 p.stderr.read().decode(errors="replace").strip())
        running = still
        if time.monotonic() > deadline:
            for p in running:
                p.kill()
            sys.exit("smtprun: clients did not finish within %.0f s" % a.timeout)
        if running:
            # wait for any client; bounded so new chunks start promptly
            try:
                running[0].wait(0.005)
            except subprocess.TimeoutExpired:
                pass
    t_clients = time.monotonic()
    if failed:
        if sampler:
            sampler.stop()
        sys.exit("smtprun: %d smtp-source runs failed" % failed)

    got = at_end = a.count
    t_done = t_clients
    if counter:
        at_end = watch.scan() - base
        while watch.done_at is None:
            if time.monotonic() > deadline:
                watch.stop()
                if sampler:
                    sampler.stop()
                sys.exit("smtprun: only %d of %d messages delivered within %.0f s"
                         % (watch.last - base, a.count, a.timeout))
            time.sleep(0.01)
        watch.stop()
        t_done = max(watch.done_at, t_clients)
        got = watch.scan() - base
        if got != a.count:
            sys.exit("smtprun: %d messages delivered, %d sent" % (got, a.count))
    cpu = benchlib.tree_cpu(a.root_pid) - cpu0 if a.root_pid else 0
    ru1 = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    ccpu = sum(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime for r0, r1 in zip(ru0, ru1))
    if sampler:
        sampler.stop()
    el = t_done - t0
    out = {
        "elapsed": "%.3f" % el,
        "msgs_s": "%.1f" % (a.count / el),
        "mb_s": "%.2f" % (a.count * a.size / el / 1e6),
        "clients_s": "%.3f" % (t_clients - t0),
        "at_client_end": str(at_end),
        # smtp-source processes and this script (its watcher and sampler)
        "client_cpu_ms_per_msg": "%.3f" % (ccpu * 1000 / a.count),
    }
    if a.root_pid:
        out["cpu_ms_per_msg"] = "%.3f" % (cpu * 1000 / a.count)
    if sampler:
        out["peak_rss_kib"] = str(sampler.peak_rss)
        out["peak_pss_kib"] = str(sampler.peak_pss)
        out["peak_procs"] = str(sampler.peak_n)
    print(" ".join("%s=%s" % kv for kv in out.items()))


if __name__ == "__main__":
    main()
