#!/usr/bin/env python3
"""fsync rate of a filesystem: append 4 KiB and fsync, for a fixed time.

usage: fsyncrate.py DIR [SECONDS]   prints "fsyncs/s"
"""
import os
import sys
import time


def main():
    d = sys.argv[1]
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    path = os.path.join(d, "fsync-probe")
    buf = b"x" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    n = 0
    t0 = time.monotonic()
    end = t0 + secs
    try:
        while n < 10_000_000:
            os.write(fd, buf)
            os.fsync(fd)
            n += 1
            if (n & 15) == 0 and time.monotonic() >= end:
                break
        el = time.monotonic() - t0
    finally:
        os.close(fd)
        os.unlink(path)
    print("%.0f" % (n / el))


if __name__ == "__main__":
    main()
