#!/usr/bin/env bats
# posternd -n -f FILE: a valid file passes; every error is named FILE:LINE
# on stderr and the exit status is 1.  The daemon is never started.

POSTERND=${POSTERND:-${BUILD:-build}/posternd}

setup() {
	[ -x "$POSTERND" ] || { echo "no $POSTERND: run make first" >&2; return 1; }
	CT_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/postern-config.XXXXXX")
	ACC="$CT_DIR/accounts"
	# a real SHA-512 crypt hash, so a content check of the file passes too
	printf 'alice:%s\n' '$6$saltsalt$fxtrgNr0//Ip0B6ss2a/TCLvMdsw5Nx6dknvHShinRxCFbPDFOF1FjlGij8xWCb0jfJjN/ydBgMw3Go6NrTo21' > "$ACC"
	printf 'team: alice\n' > "$CT_DIR/aliases"
	CONF="$CT_DIR/postern.conf"
	cat > "$CONF" <<EOF
# a small valid file
hostname mail.example.org
domain example.org
listen smtp 127.0.0.1:2525
listen pop3 [::1]:1110
spool $CT_DIR/spool
empty-dir $CT_DIR/empty
accounts $ACC
aliases $CT_DIR/aliases
EOF
}

teardown() {
	[ -n "${CT_DIR:-}" ] && rm -rf "$CT_DIR"
}

# check: runs posternd -n -f FILE, stdout+stderr in $output
check() {
	run "$POSTERND" -n -f "$1"
}

# the first line of the file matching a pattern, for line numbers
line_of() {
	grep -n -- "$1" "$CONF" | head -n 1 | cut -d: -f1
}

@test "config: a valid file exits 0 and says so" {
	check "$CONF"
	[ "$status" -eq 0 ]
	[ -z "$output" ] || [[ "$output" == *"configuration OK"* ]]
}

@test "config: an unknown keyword is reported as FILE:LINE and exits 1" {
	echo "frobnicate yes" >> "$CONF"
	n=$(line_of frobnicate)
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$n: unknown keyword \"frobnicate\""* ]]
}

@test "config: a bad size names the key and the value" {
	echo "max-message-size 25X" >> "$CONF"
	n=$(line_of max-message-size)
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$n: max-message-size: \"25X\" is not a size"* ]]
}

@test "config: an out-of-range size and a zero timeout are errors" {
	printf 'max-message-size 64G\nsmtp-timeout 0\n' >> "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of max-message-size): max-message-size: 64G is out of range"* ]]
	[[ "$output" == *"$CONF:$(line_of smtp-timeout): smtp-timeout: 0 is out of range"* ]]
}

@test "config: a duplicate listener names the first one's line" {
	first=$(line_of 'listen smtp')
	echo "listen pop3 127.0.0.1:2525" >> "$CONF"
	n=$(wc -l < "$CONF")
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$n: listen: duplicate listener 127.0.0.1:2525, first at line $first"* ]]
}

@test "config: bad listen addresses are errors" {
	printf 'listen smtp localhost:25\nlisten pop3 [::1]:70000\nlisten lmtp 127.0.0.1:24\n' >> "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of localhost): listen: \"localhost:25\" is not a numeric IPv4 address"* ]]
	[[ "$output" == *"$CONF:$(line_of 70000): listen: \"[::1]:70000\" has a bad port"* ]]
	[[ "$output" == *"$CONF:$(line_of lmtp): listen: unknown kind \"lmtp\" (smtp, pop3, smtps, pop3s, imap or imaps)"* ]]
}

@test "config: a missing accounts file is an error" {
	sed -i "s|^accounts .*|accounts $CT_DIR/nope|" "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of '^accounts'): accounts: $CT_DIR/nope: No such file or directory"* ]]
}

@test "config: an accounts path that is a directory is an error" {
	sed -i "s|^accounts .*|accounts $CT_DIR|" "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of '^accounts'): accounts: $CT_DIR is not a regular file"* ]]
}

@test "config: a duplicate single-valued key names the first line" {
	echo "hostname other.example.org" >> "$CONF"
	n=$(wc -l < "$CONF")
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$n: hostname: already set at line $(line_of '^hostname')"* ]]
}

@test "config: a relative path, missing value and extra word are errors" {
	sed -i '/^empty-dir /d' "$CONF"
	printf 'empty-dir var/empty\npidfile\nvrfy on off\n' >> "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of 'var/empty'): empty-dir: \"var/empty\" is not an absolute path"* ]]
	[[ "$output" == *"$CONF:$(line_of '^pidfile'): pidfile: missing value"* ]]
	[[ "$output" == *"$CONF:$(line_of '^vrfy'): vrfy: unexpected \"off\" after the value"* ]]
}

@test "config: the workers and the store may not share a user" {
	printf 'user _postern-store\n' >> "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of '^user'): store-user: _postern-store is also the workers' user"* ]]
}

@test "config: a file without domain or listen says so" {
	sed -i '/^domain/d; /^listen/d' "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:0: no domain"* ]]
	[[ "$output" == *"$CONF:0: no listen"* ]]
}

@test "config: several errors are all reported, each with its line" {
	printf 'bogus1\nmax-recipients many\nbogus2\nsmtp-min-spare 9\nsmtp-max 3\n' >> "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of bogus1): unknown keyword \"bogus1\""* ]]
	[[ "$output" == *"$CONF:$(line_of max-recipients): max-recipients: \"many\" is not a number"* ]]
	[[ "$output" == *"$CONF:$(line_of bogus2): unknown keyword \"bogus2\""* ]]
	[[ "$output" == *"$CONF:$(line_of smtp-max): smtp-min-spare 9 is larger than smtp-max 3"* ]]
	[ "$(grep -c "^$CONF:[0-9]*: " <<< "$output")" -eq 4 ]
}

@test "config: a config file that does not exist is an error" {
	check "$CT_DIR/missing.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CT_DIR/missing.conf"* ]]
}

@test "config: the shipped sample etc/postern.conf is valid" {
	[ -f etc/postern.conf ] || skip "etc/postern.conf not found (run from the source tree)"
	# its spool and empty-dir are under /var (make install creates
	# /var/lib/postern): here they point into the test directory
	sed -e "s|^accounts .*|accounts $ACC|" -e "s|^aliases .*|aliases $CT_DIR/aliases|" \
	    -e "s|^spool .*|spool $CT_DIR/spool|" -e "s|^empty-dir .*|empty-dir $CT_DIR/empty|" \
	    etc/postern.conf > "$CT_DIR/sample.conf"
	run "$POSTERND" -n -f "$CT_DIR/sample.conf"
	[ "$status" -eq 0 ]
}
