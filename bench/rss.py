#!/usr/bin/env python3
"""Total memory of process trees: rss.py PID...  (the trees under them).
Prints: rss_kib= pss_kib= procs="""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

if len(sys.argv) < 2:
    sys.exit(__doc__)
rss, pss, n = benchlib.tree_memory([int(p) for p in sys.argv[1:]])
print("rss_kib=%d pss_kib=%d procs=%d" % (rss, pss, n))
