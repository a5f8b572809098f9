# The seccomp probe build (make probe-build; privsep/sandbox.c built with
# -DPOSTERN_SECCOMP_PROBE): a process named in POSTERN_SECCOMP_PROBE acts as
# an attacker right after its filter is in place.  Never installed.

PROBED=${PROBED:-$BUILD-probe/posternd}

# setup() of a probe test: the probe build (made if missing), then the usual
# instance's files.
probe_setup() {
	if [ ! -x "$PROBED" ]; then
		make -C "$T_TOP" --no-print-directory BUILD="${BUILD#"$T_TOP"/}" probe-build \
			>/dev/null 2>&1 || true
	fi
	[ -x "$PROBED" ] || skip "no probe build at $PROBED (make probe-build failed)"
	postern_setup
}
