#!/usr/bin/env bats
# The tools the tests call are installed and able to do what the tests ask
# (t/check-tools.sh): without them a TLS or client test fails with a
# confusing message, or skips, far from the cause.  t/run-tests.sh runs
# this file first.  Also: t/install-deps.sh installs every package that
# t/check-tools.sh names, and the check really names what is missing.

@test "every tool the tests call is installed (else: the tool and its Debian package)" {
	run sh "$BATS_TEST_DIRNAME/check-tools.sh"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "install-deps.sh installs every package check-tools.sh names" {
	local p missing=""
	for p in $(sh "$BATS_TEST_DIRNAME/check-tools.sh" list); do
		sh "$BATS_TEST_DIRNAME/install-deps.sh" list | grep -qx "$p" ||
			missing="$missing $p"
	done
	echo "not in t/install-deps.sh:$missing"
	[ -z "$missing" ]
}

@test "a missing tool is named with its package and the apt-get line" {
	local bin
	bin=$(mktemp -d "${TMPDIR:-/tmp}/postern-tools.XXXXXX")
	# a PATH with a shell and the probes' helpers, but no swaks, curl, perl ...
	ln -s "$(command -v sh)" "$bin/sh"
	ln -s "$(command -v grep)" "$bin/grep"
	ln -s "$(command -v cut)" "$bin/cut"
	run env PATH="$bin" sh "$BATS_TEST_DIRNAME/check-tools.sh"
	rm -rf "$bin"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"missing: swaks (Debian package swaks)"* ]]
	[[ "$output" == *"missing: swaks --tls (Perl Net::SSLeay) (Debian package libnet-ssleay-perl)"* ]]
	[[ "$output" == *"apt-get install -y"*" libnet-ssleay-perl "* ]]
}
