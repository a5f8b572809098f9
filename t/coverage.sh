#!/bin/sh
# make coverage, after the build: runs the whole suite on a --coverage
# build and reports line coverage per directory (gcov).  See COVERAGE.md.
#   t/coverage.sh BUILD        (BUILD defaults to build-cov)
# Writes BUILD/test-output.txt (the suite's TAP) and BUILD/coverage.txt
# (per file: lines run / lines, and every line never run).  Exits 1 when a
# test fails that is not expected to fail in a coverage build.
BUILD=${1:-build-cov}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
[ -x "$BUILD/posternd" ] || { echo "coverage: $BUILD/posternd is missing (make coverage builds it)" >&2; exit 1; }
command -v gcov >/dev/null 2>&1 || { echo "coverage: gcov is not installed" >&2; exit 1; }

# Fresh counters.  Each .gcda is created empty and mode 0666 so that every
# role's uid (_postern, _postern-store, _postern-key, _postern-auth, root) can merge into
# it: gcov rewrites an existing file in place and treats an empty one as
# new.  The jailed processes reach it through privsep/sandbox.c's
# POSTERN_COVERAGE hook.
for d in "$BUILD" "$BUILD-probe"; do
	[ -d "$d" ] || continue
	find "$d" -name '*.gcno' | while read -r g; do
		f=${g%.gcno}.gcda
		rm -f "$f"
		: >"$f"
		chmod 0666 "$f"
	done
done
if [ "$(id -u)" -eq 0 ]; then
	# the roles' uids must be able to walk down to the .gcda files
	p=$top/$BUILD
	while [ "$p" != / ]; do
		[ -n "$(find "$p" -maxdepth 0 -perm -o+x)" ] ||
			echo "coverage: warning: $p is not searchable by others; jailed processes will lose their counters" >&2
		p=$(dirname "$p")
	done
fi

echo "coverage: running the suite on $BUILD (takes a while)"
BUILD=$BUILD sh t/run-tests.sh >"$BUILD/test-output.txt" 2>&1
suite=$?
tail -n 1 "$BUILD/test-output.txt"

# Tests that check the sandbox itself: in this build the filters allow what
# gcov needs at exit (openat, fchdir, mkdir) and every jailed process holds
# a descriptor of the real root, so these may fail here and only here.
expected='test_sandbox|seccomp|no file|cannot open|descriptor'
unexpected=0
grep -E '^(=== |not ok )' "$BUILD/test-output.txt" | awk '
	/^=== / { label = substr($0, 5); next }
	{ print label ": " $0 }' >"$BUILD/failed.txt"
if [ -s "$BUILD/failed.txt" ]; then
	echo "coverage: failed tests:"
	while IFS= read -r l; do
		if printf '%s\n' "$l" | grep -qiE "$expected"; then
			echo "  (expected in a coverage build: the sandbox is widened for gcov) $l"
		else
			echo "  UNEXPECTED $l"
			unexpected=$((unexpected + 1))
		fi
	done <"$BUILD/failed.txt"
fi

# A source edited after its object was built makes gcov's line numbers lie.
for src in privsep/*.c store/*.c workers/*.c master/*.c; do
	o=$BUILD/${src%.c}.gcno
	[ -f "$o" ] && [ "$src" -nt "$o" ] &&
		echo "coverage: warning: $src changed after it was built; its lines may be off (run make coverage again)" >&2
done

# gcov, one source at a time, annotated to stdout; summarised in python.
find "$BUILD" -name '*.gcda' -size 0 -delete
for dir in privsep store workers master; do
	for src in "$dir"/*.c; do
		obj=$BUILD/${src%.c}.gcno
		[ -f "$obj" ] || continue
		echo "@@FILE $src"
		if [ -f "$BUILD/${src%.c}.gcda" ]; then
			gcov -t -o "$BUILD/$dir" "$src" 2>/dev/null
		fi
	done
done >"$BUILD/gcov.out"

python3 - "$BUILD" <<'PY'
import re, sys
build = sys.argv[1]
files = {}          # src -> (run, total, [(lineno, text)])
cur = None          # the file being read
keep = False        # inside its own chunk (not an included header's)
for line in open(f"{build}/gcov.out", encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if line.startswith("@@FILE "):
        cur = line[7:]
        files[cur] = [0, 0, []]
        keep = False
        continue
    m = re.match(r"\s*([^:]+):\s*(\d+):(.*)$", line)
    if not m or cur is None:
        continue
    count, no, text = m.group(1).strip(), int(m.group(2)), m.group(3)
    if no == 0:
        if text.startswith("Source:"):
            keep = text[7:] == cur
        continue
    if not keep or count == "-":
        continue
    f = files[cur]
    f[1] += 1
    if count.startswith("#") or count.startswith("="):
        f[2].append((no, text))
    else:
        f[0] += 1
# a file whose object never ran: every line is unexecuted but gcov said nothing
dirs = {}
for src, (run, total, miss) in files.items():
    d = src.split("/")[0] + "/"
    a = dirs.setdefault(d, [0, 0])
    a[0] += run
    a[1] += total
with open(f"{build}/coverage.txt", "w") as out:
    out.write("postern line coverage (gcov), whole suite\n\n")
    for src in sorted(files):
        run, total, miss = files[src]
        pct = 100.0 * run / total if total else 0.0
        out.write(f"{src:28s} {run:5d}/{total:<5d} {pct:6.1f}%\n")
    for src in sorted(files):
        run, total, miss = files[src]
        if not miss:
            continue
        out.write(f"\n== {src}: {len(miss)} lines never run\n")
        for no, text in miss:
            out.write(f"{no:6d}: {text}\n")
print()
print("line coverage (gcov), whole suite")
print(f"{'directory':12s} {'lines run':>10s} {'lines':>7s} {'cover':>7s}")
for d in ("workers/", "store/", "privsep/", "master/"):
    if d not in dirs:
        continue
    run, total = dirs[d]
    pct = 100.0 * run / total if total else 0.0
    goal = "" if d == "master/" else ("  ok (>= 85%)" if pct >= 85.0 else "  below 85%")
    print(f"{d:12s} {run:10d} {total:7d} {pct:6.1f}%{goal}")
print(f"per file, with every line never run: {build}/coverage.txt")
PY

[ "$unexpected" -eq 0 ] || { echo "coverage: $unexpected unexpected test failure(s); see $BUILD/test-output.txt"; exit 1; }
[ "$suite" -eq 0 ] || echo "coverage: every failure above is expected in this build"
exit 0
