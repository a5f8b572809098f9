"""Shared pieces of the benchmark helpers: process-tree memory and
counting messages in mbox files.  Standard library only."""
import os
import socket
import threading
import time


def _stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (state first),
    or None when the process is gone."""
    try:
        with open("/proc/%s/stat" % pid, "rb") as f:
            st = f.read()
    except OSError:
        return None
    # the command name is in parentheses and may hold spaces
    return st[st.rfind(b")") + 2:].split()


def _children_map():
    """ppid -> [pid] for every process visible in /proc."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        rest = _stat_fields(d)
        if rest is not None:
            kids.setdefault(int(rest[1]), []).append(int(d))
    return kids


def tree_pids(roots):
    """Every pid in the process trees under the given root pids."""
    kids = _children_map()
    out, todo = [], [r for r in roots if r > 0]
    seen = set()
    while todo and len(out) < 100000:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        if not os.path.exists("/proc/%d" % p):
            continue
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _kib(path, key):
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_memory(roots):
    """(total RSS KiB, total PSS KiB, number of processes) of the trees."""
    pids = tree_pids(roots)
    rss = pss = 0
    for p in pids:
        rss += _kib("/proc/%d/status" % p, b"VmRSS:")
        pss += _kib("/proc/%d/smaps_rollup" % p, b"Pss:")
    return rss, pss, len(pids)


def tree_cpu(roots):
    """CPU seconds (user + system) used by the trees under the roots: every
    live process's own time plus what its reaped children used.  The
    difference of two calls is what the servers spent in between."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in tree_pids(roots):
        rest = _stat_fields(p)
        if rest is None:
            continue
        # fields 14-17 of stat(5): utime stime cutime cstime
        total += sum(int(x) for x in rest[11:15])
    return total / tick


class PeakSampler(threading.Thread):
    """Samples tree_memory(roots) every interval seconds; keeps the peak."""

    def __init__(self, roots, interval=0.1, limit_s=600):
        super().__init__(daemon=True)
        self.roots = roots
        self.interval = interval
        self.limit_s = limit_s
        self.peak_rss = self.peak_pss = self.peak_n = 0
        self.samples = 0
        self._halt = threading.Event()

    def run(self):
        end = time.monotonic() + self.limit_s
        while not self._halt.is_set() and time.monotonic() < end:
            rss, pss, n = tree_memory(self.roots)
            self.samples += 1
            if rss > self.peak_rss:
                self.peak_rss, self.peak_n = rss, n
            self.peak_pss = max(self.peak_pss, pss)
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join(5)


class MboxCounter:
    """Counts "From " envelope lines in a set of mbox files, reading only
    what was appended since the last call (files only grow during a run)."""

    PAT = b"\nFrom "

    def __init__(self, paths):
        self.st = {p: [0, b"\n", 0] for p in paths}   # offset, carry, count

    def count(self):
        total = 0
        for p, s in self.st.items():
            try:
                with open(p, "rb") as f:
                    f.seek(s[0])
                    while True:
                        chunk = f.read(1 << 22)
                        if not chunk:
                            break
                        buf = s[1] + chunk
                        s[2] += buf.count(self.PAT)
                        # a match needs 6 bytes: 5 kept ones hold no whole match
                        s[1] = buf[-5:]
                        s[0] += len(chunk)
            except FileNotFoundError:
                pass
            total += s[2]
        return total


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


class LineConn:
    """A TCP client of 127.0.0.1:port that reads CRLF lines: fill() reads
    what is there (at most 256 KiB a call), line() gives the next line
    without its CRLF.  A closed connection or a line longer than max_line
    raises self.error (RuntimeError unless a subclass names its own)."""
    error = RuntimeError
    max_line = 1 << 20

    def __init__(self, port, timeout=60.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def fill(self):
        d = self.s.recv(1 << 18)
        if not d:
            raise self.error("connection closed by the server")
        self.buf += d

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                ln = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return ln
            if len(self.buf) > self.max_line:
                raise self.error("answer line too long")
            self.fill()
