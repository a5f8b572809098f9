#!/usr/bin/env bash
# The cost of an IMAP EXPUNGE of one message from a large folder (issue
# 13): a MESSAGES x SIZE INBOX (bench/mkmbox.py, ~100 MB by default), made
# UID-complete by a first SELECT, then ROUNDS times: STORE +FLAGS \Deleted
# on one message in the middle, EXPUNGE, each timed through ipcpeer
# against the real store (posternd -X store); the page cache is warm.
# COMPACT=SIZE sets compact-min-size (default 8M: a 100 MB folder defers
# the rewrite, store/store_expunge.c); COMPACT=100G measures the
# immediate rewrite every EXPUNGE did before deferred compaction.
#
# usage: bench/expunge_cost.sh [MESSAGES [SIZE [ROUNDS]]]   (as root, after
#        make tests-build; BUILD=build by default)
set -eu
MESSAGES=${1:-10000}
SIZE=${2:-10240}
ROUNDS=${3:-5}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
export POSTERND=$BUILD/posternd IPCPEER_PASS=alicepw
D=$(mktemp -d "${TMPDIR:-/tmp}/postern-bench.XXXXXX")
trap 'rm -rf "$D"' EXIT
chmod 755 "$D"
mkdir "$D/spool"
echo "alice:$(openssl passwd -6 -salt postern alicepw)" >"$D/accounts"
python3 "$TOP/bench/mkmbox.py" "$D/mk" 1 "$MESSAGES" "$SIZE" example.org
mv "$D/mk/bench01" "$D/spool/alice"
chown -R _postern-store "$D/spool/alice" 2>/dev/null || true
now() { echo "sh date +%s%N >>$D/t"; }
{
	echo start
	echo "chan i imap"
	echo "imapauth i alice alicepw"
	now; echo "select i INBOX"; now
	for r in $(seq 1 "$ROUNDS"); do
		u=$((MESSAGES / 2 + r))
		now; echo "store i add deleted - $u"; now
		now; echo "expunge i"; now
	done
} | "$BUILD/t/ipcpeer" -u _postern-store -w _postern ${COMPACT:+-C $(numfmt --from=iec "$COMPACT")} -l "$D/log" "$D/spool" "$D/accounts" |
	grep -E '^(select|store|expunge) ' >"$D/out"
python3 - "$D/t" "$D/out" "$(stat -c %s "$D/spool/alice")" <<'PY'
import sys
t = [int(x) for x in open(sys.argv[1])]
out = open(sys.argv[2]).read().split("\n")
ms = [(t[i + 1] - t[i]) / 1e6 for i in range(0, len(t), 2)]
print("folder after: %.1f MB; answers: %s" % (int(sys.argv[3]) / 1e6,
      " | ".join(l for l in out if l)[:300]))
print("first SELECT (UIDs given: one rewrite): %.0f ms" % ms[0])
st = sorted(ms[1::2])
ex = sorted(ms[2::2])
print("STORE +FLAGS \\Deleted (journal append + fsync): median %.1f ms (min %.1f, max %.1f)"
      % (st[len(st) // 2], st[0], st[-1]))
print("EXPUNGE of one message: median %.1f ms (min %.1f, max %.1f)"
      % (ex[len(ex) // 2], ex[0], ex[-1]))
PY
