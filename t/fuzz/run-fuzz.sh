#!/bin/sh
# Runs every libFuzzer target for a set time on its seed corpus.
# usage: run-fuzz.sh BUILD_DIR SECONDS
dir=$1
secs=${2:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
failed=0
passed=0
for bin in "$dir"/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin" | sed 's/^fuzz_//')
	seeds=$top/t/fuzz/corpus/$name
	work=$(mktemp -d)
	[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null
	echo "=== fuzz $name for ${secs}s"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$top/t/fuzz/" "$work" >"$work.log" 2>&1; then
		tail -n 2 "$work.log"
		echo "ok - fuzz $name: no finding in ${secs}s"
		passed=$((passed + 1))
	else
		tail -n 40 "$work.log"
		echo "not ok - fuzz $name: finding (artifact in t/fuzz/)"
		failed=$((failed + 1))
	fi
	rm -rf "$work" "$work.log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
