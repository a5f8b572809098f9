#!/usr/bin/env python3
"""Summarises the benchmark's results file.

Input lines: METRIC <TAB> SIDE <TAB> VALUE, SIDE being postern, peer or
machine; one line per measurement (per round).  Prints one line per metric:
median, min and max for each side and the ratio of the medians
postern/peer, and the median of the per-round ratios (each round runs
postern and the peer back to back, so that ratio is the one least moved by
other load on the machine), then the targets with met/MISSED.

usage: report.py RESULTS PEERNAME-FOR-EACH-METRIC...   (see run.sh)
"""
import statistics
import sys

# metric, unit, peer's name, target ratio and its direction (None: none)
METRICS = [
    ("smtp_small_msgs_s", "msg/s", "Postfix", 3.0, ">="),
    ("smtp_small_mb_s", "MB/s", "Postfix", None, None),
    ("smtp_large_mb_s", "MB/s", "Postfix", 1.5, ">="),
    ("smtp_large_msgs_s", "msg/s", "Postfix", None, None),
    ("pop3_retr_msgs_s", "msg/s", "Dovecot", 2.0, ">="),
    ("pop3_retr_mb_s", "MB/s", "Dovecot", None, None),
    ("pop3_dele_msgs_s", "msg/s", "Dovecot", 2.0, ">="),
    ("pop3_dele_mb_s", "MB/s", "Dovecot", None, None),
    ("smtp_small_cpu_ms", "ms/msg", "Postfix", None, None),
    ("smtp_small_client_cpu_ms", "ms/msg", "Postfix", None, None),
    ("smtp_large_cpu_ms", "ms/msg", "Postfix", None, None),
    ("pop3_retr_cpu_ms", "ms/msg", "Dovecot", None, None),
    ("pop3_dele_cpu_ms", "ms/msg", "Dovecot", None, None),
    ("pop3_retr_client_cpu_ms", "ms/msg", "Dovecot", None, None),
    ("pop3_dele_client_cpu_ms", "ms/msg", "Dovecot", None, None),
    ("login_cpu_ms", "ms/login", "Dovecot", None, None),
    ("login_p50_ms", "ms", "Dovecot", None, None),
    ("login_p99_ms", "ms", "Dovecot", None, None),
    ("rss_idle_mib", "MiB", "Postfix+Dovecot", 0.5, "<="),
    ("pss_idle_mib", "MiB", "Postfix+Dovecot", None, None),
    ("procs_idle", "procs", "Postfix+Dovecot", None, None),
    ("rss_idle_spare_pools_mib", "MiB", "Postfix+Dovecot", None, None),
    ("procs_idle_spare_pools", "procs", "Postfix+Dovecot", None, None),
    ("rss_peak_smtp_small_mib", "MiB", "Postfix", None, None),
    ("pss_peak_smtp_small_mib", "MiB", "Postfix", None, None),
    ("procs_peak_smtp_small", "procs", "Postfix", None, None),
    ("flood_alone_delivery_p50_ms", "ms", "-", None, None),
    ("flood_alone_delivery_p99_ms", "ms", "-", None, None),
    ("flood_delivery_p50_ms", "ms", "-", None, None),
    ("flood_delivery_p99_ms", "ms", "-", None, None),
    ("flood_delivery_max_ms", "ms", "-", None, None),
    ("flood_failed_logins_s", "fail/s", "-", None, None),
    # IMAP (issue 15, first half: bench/imapload.py)
    ("imap_login_p50_ms", "ms", "Dovecot", 0.5, "<="),
    ("imap_login_p95_ms", "ms", "Dovecot", 0.5, "<="),
    ("imap_login_cpu_ms", "ms/login", "Dovecot", None, None),
    ("imap_logins_s", "login/s", "Dovecot", 2.0, ">="),
    ("imap_login_par_cpu_ms", "ms/login", "Dovecot", None, None),
    ("imap_login_client_cpu_ms", "ms/login", "Dovecot", None, None),
    ("imap_sync_msgs_s", "msg/s", "Dovecot", 2.0, ">="),
    ("imap_sync_ms", "ms", "Dovecot", None, None),
    ("imap_sync_select_ms", "ms", "Dovecot", None, None),
    ("imap_sync_cpu_ms", "ms/msg", "Dovecot", None, None),
    ("imap_sync_client_cpu_ms", "ms/msg", "Dovecot", None, None),
    ("imap_resync_msgs_s", "msg/s", "Dovecot", 2.0, ">="),
    ("imap_resync_ms", "ms", "Dovecot", None, None),
    ("imap_resync_cpu_ms", "ms/msg", "Dovecot", None, None),
    ("imap_bodies_msgs_s", "msg/s", "Dovecot", 2.0, ">="),
    ("imap_bodies_mb_s", "MB/s", "Dovecot", None, None),
    ("imap_bodies_cpu_ms", "ms/msg", "Dovecot", None, None),
    ("imap_bodies_client_cpu_ms", "ms/msg", "Dovecot", None, None),
    ("imap_store_all_msgs_s", "msg/s", "Dovecot", 2.0, ">="),
    ("imap_store_all_ms", "ms", "Dovecot", None, None),
    ("imap_stores_s", "store/s", "Dovecot", 2.0, ">="),
    ("imap_store_p50_ms", "ms", "Dovecot", None, None),
    ("imap_store_p95_ms", "ms", "Dovecot", None, None),
    ("imap_store_cpu_ms", "ms/store", "Dovecot", None, None),
    ("imap_store_client_cpu_ms", "ms/store", "Dovecot", None, None),
    ("imap_append_msgs_s", "msg/s", "Dovecot", 2.0, ">="),
    ("imap_append_cpu_ms", "ms/msg", "Dovecot", None, None),
    ("imap_append_client_cpu_ms", "ms/msg", "Dovecot", None, None),
    ("imap_expunge_one_ms", "ms", "Dovecot", 1.0, "<="),
    ("imap_expunge100_p50_ms", "ms", "Dovecot", 1.0, "<="),
    ("imap_expunge100_p95_ms", "ms", "Dovecot", None, None),
    ("imap_expunge100_total_s", "s", "Dovecot", None, None),
    ("imap_expunge_cpu_ms", "ms/del", "Dovecot", None, None),
    ("imap_move_one_ms", "ms", "Dovecot", 1.0, "<="),
    ("imap_move100_p50_ms", "ms", "Dovecot", 1.0, "<="),
    ("imap_move100_p95_ms", "ms", "Dovecot", None, None),
    ("imap_move100_total_s", "s", "Dovecot", None, None),
    ("imap_move_cpu_ms", "ms/del", "Dovecot", None, None),
]
# ---- IMAP idle, scale and mixed (issue 15; bench/imapidle.py, bench/imapscale.py,
# bench/imapmixed.py): rows, the absolute target, the 10k -> 100k growth
METRICS += [
    ("imap_idle_pss_per_session_kib", "KiB", "Dovecot", 1.0, "<="),
    ("imap_idle_pss_total_mib", "MiB", "Dovecot", None, None),
    ("imap_idle_procs", "procs", "Dovecot", None, None),
    ("imap_idle_exists_p50_ms", "ms", "Dovecot", None, None),
    ("imap_idle_exists_p99_ms", "ms", "Dovecot", None, None),
    ("imap_idle_exists_max_ms", "ms", "Dovecot", None, None),
    ("imap_idle_in_mbox_p50_ms", "ms", "Dovecot", None, None),
    ("imap_idle_setup_s", "s", "Dovecot", None, None),
    ("imap_idle_cpu_ms_session_min", "ms/s/min", "Dovecot", None, None),
    ("imap_idle_client_cpu_ms", "ms/sess", "Dovecot", None, None),
]
IMAP_SCALE = ["first_select_ms", "cold_select_ms", "warm_select_ms", "pop3_list_ms",
              "delivery_ms", "in_mbox_ms"]
for _size in ("10k", "100k"):
    METRICS += [("imap_scale_%s_%s" % (_size, _m), "ms", "Dovecot", None, None)
                for _m in IMAP_SCALE]
METRICS += [
    ("imap_mixed_smtp_s", "msg/s", "Postfix", None, None),
    ("imap_mixed_smtp_p50_ms", "ms", "Postfix", None, None),
    ("imap_mixed_smtp_p99_ms", "ms", "Postfix", None, None),
    ("imap_mixed_pop3_msgs_s", "msg/s", "Dovecot", None, None),
    ("imap_mixed_pop3_session_p50_ms", "ms", "Dovecot", None, None),
    ("imap_mixed_pop3_session_p99_ms", "ms", "Dovecot", None, None),
    ("imap_mixed_imap_ops_s", "ops/s", "Dovecot", None, None),
    ("imap_mixed_imap_op_p50_ms", "ms", "Dovecot", None, None),
    ("imap_mixed_imap_op_p99_ms", "ms", "Dovecot", None, None),
    ("imap_mixed_errors", "errors", "Dovecot", None, None),
    ("imap_mixed_imap_warnings", "NO", "Dovecot", None, None),
    ("imap_mixed_cpu_ms_s", "ms/s", "Postfix+Dovecot", None, None),
    ("imap_mixed_client_cpu_ms_s", "ms/s", "Postfix+Dovecot", None, None),
]
# postern's median against a fixed bound: metric, bound, direction, what
ABS_TARGETS = [
    ("imap_idle_exists_p99_ms", 1000.0, "<=", "delivery 250 -> EXISTS in IDLE, p99 (ms)"),
]
# how a row grows from the 10,000 to the 100,000-message INBOX
GROWTH = [("imap_scale_100k_" + _m, "imap_scale_10k_" + _m) for _m in IMAP_SCALE]
# ---- end of IMAP idle, scale and mixed
# postern against itself: delivery p99 under a login
# flood at most 2x the p99 alone, medians over the rounds
SELF_TARGETS = [
    ("flood_delivery_p99_ms", "flood_alone_delivery_p99_ms", 2.0,
     "delivery p99 under a login flood / alone"),
]
MACHINE = [
    ("fsync_per_s", "fsync/s"),
    ("seq_write_mb_s", "MB/s"),
    ("sink_small_msgs_s", "msg/s"),
    ("sink_small_client_cpu_ms", "ms/msg"),
    ("sink_large_mb_s", "MB/s"),
]


def fmt(v):
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def trio(vals):
    if not vals:
        return "-", None
    med = statistics.median(vals)
    return "%s [%s..%s]" % (fmt(med), fmt(min(vals)), fmt(max(vals))), med


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    data = {}
    with open(sys.argv[1]) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            try:
                data.setdefault((parts[0], parts[1]), []).append(float(parts[2]))
            except ValueError:
                continue
    print("%-27s %-8s %-26s %-26s %-16s %-8s %s" %
          ("metric", "unit", "postern median [min..max]", "peer median [min..max]",
           "peer", "ratio", "per-round ratio [min..max]"))
    verdicts = []
    for name, unit, peer, target, way in METRICS:
        a_s, a = trio(data.get((name, "postern"), []))
        b_s, b = trio(data.get((name, "peer"), []))
        if a is None and b is None:
            continue
        ratio = "%.2f" % (a / b) if a is not None and b else "-"
        av, bv = data.get((name, "postern"), []), data.get((name, "peer"), [])
        pairs = [x / y for x, y in zip(av, bv) if y]
        paired = "-"
        if len(pairs) > 1 and len(av) == len(bv):
            paired = "%.2f [%.2f..%.2f]" % (statistics.median(pairs), min(pairs), max(pairs))
        print("%-27s %-8s %-26s %-26s %-16s %-8s %s" % (name, unit, a_s, b_s, peer, ratio, paired))
        if target is not None and ratio != "-":
            r = a / b
            ok = r >= target if way == ">=" else r <= target
            verdicts.append("%-26s postern/%s = %.2f, target %s %.1f: %s" %
                            (name, peer, r, way, target, "met" if ok else "MISSED"))
    print()
    print("machine limits (median [min..max]):")
    for name, unit in MACHINE:
        s, v = trio(data.get((name, "machine"), []))
        if v is not None:
            print("  %-24s %-8s %s" % (name, unit, s))
    for num, den, target, what in SELF_TARGETS:
        a = data.get((num, "postern"), [])
        b = data.get((den, "postern"), [])
        if a and b and statistics.median(b):
            r = statistics.median(a) / statistics.median(b)
            verdicts.append("%-26s %s = %.2f, target <= %.1f: %s" %
                            (num, what, r, target, "met" if r <= target else "MISSED"))
    for name, bound, way, what in ABS_TARGETS:
        a = data.get((name, "postern"), [])
        if a:
            m = statistics.median(a)
            ok = m <= bound if way == "<=" else m >= bound
            verdicts.append("%-26s %s = %s, target %s %s: %s" %
                            (name, what, fmt(m), way, fmt(bound), "met" if ok else "MISSED"))
    growth = []
    for big, small in GROWTH:
        row = []
        for side in ("postern", "peer"):
            a, b = data.get((big, side), []), data.get((small, side), [])
            if a and b and statistics.median(b):
                row.append("%s x%.1f" % (side, statistics.median(a) / statistics.median(b)))
        if row:
            growth.append("  %-30s %s" % (big[len("imap_scale_100k_"):], ", ".join(row)))
    if growth:
        print()
        print("imap_scale, 10,000 -> 100,000 messages (ratio of medians):")
        for g in growth:
            print(g)
    print()
    print("targets:")
    for v in verdicts:
        print("  " + v)


if __name__ == "__main__":
    main()
