#!/bin/sh
# Runs every test: the C unit tests in $BUILD/t/, then every bats file in
# t/.  Counts TAP results and ends with one line: N passed, N failed[, N skipped].
BUILD=${BUILD:-build}
export BUILD
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0

run_tap() {
	# $1: a label; the rest: the command producing TAP
	label=$1
	shift
	echo "=== $label"
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -cE '^ok [0-9]+' "$out" | head -1)
	s=$(grep -cE '^ok [0-9]+.*# ?skip' "$out" | head -1)
	f=$(grep -cE '^not ok [0-9]+' "$out" | head -1)
	passed=$((passed + p - s))
	skipped=$((skipped + s))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $label exited with status $rc without a failing test point"
		failed=$((failed + 1))
	fi
}

passed=0 failed=0 skipped=0
for t in "$BUILD"/t/test_*; do
	[ -x "$t" ] || continue
	run_tap "unit $(basename "$t")" "$t"
done
if command -v bats >/dev/null 2>&1; then
	# t/tools_present.bats first: a missing tool is named before the tests
	# that need it fail for a reason far from the cause
	files=${BATS_FILES:-"t/tools_present.bats $(ls t/*.bats | grep -v '^t/tools_present.bats$')"}
	for f in $files; do
		[ -f "$f" ] || continue
		run_tap "bats $f" bats --tap "$f"
	done
else
	echo "not ok - bats is not installed (apt-get install bats)"
	failed=$((failed + 1))
fi
[ "$failed" -eq 0 ] || status=1
echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
exit $status
