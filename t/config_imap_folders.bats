#!/usr/bin/env bats
# posternd -n -f FILE and the IMAP folder keys (imap-special-use,
# max-folders, max-folder-name-length, max-folder-depth): good values
# pass, each bad one is named FILE:LINE.  The daemon is never started.

POSTERND=${POSTERND:-${BUILD:-build}/posternd}

setup() {
	[ -x "$POSTERND" ] || { echo "no $POSTERND: run make first" >&2; return 1; }
	CT_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/postern-config.XXXXXX")
	ACC="$CT_DIR/accounts"
	printf 'alice:%s\n' '$6$saltsalt$fxtrgNr0//Ip0B6ss2a/TCLvMdsw5Nx6dknvHShinRxCFbPDFOF1FjlGij8xWCb0jfJjN/ydBgMw3Go6NrTo21' > "$ACC"
	CONF="$CT_DIR/postern.conf"
	cat > "$CONF" <<EOF2
hostname mail.example.org
domain example.org
listen smtp 127.0.0.1:2525
spool $CT_DIR/spool
empty-dir $CT_DIR/empty
accounts $ACC
EOF2
}

teardown() {
	[ -n "${CT_DIR:-}" ] && rm -rf "$CT_DIR"
}

check() {
	run "$POSTERND" -n -f "$1"
}

line_of() {
	grep -n -- "$1" "$CONF" | head -n 1 | cut -d: -f1
}

@test "imap folders: the sample's values, none, and the extremes pass" {
	cat >> "$CONF" <<'EOF2'
imap-special-use  sent drafts trash junk archive
max-folders       1000
max-folder-name-length 1024
max-folder-depth  16
EOF2
	check "$CONF"
	echo "$output"
	[ "$status" -eq 0 ]
	sed -i '/^imap-special-use\|^max-folder/d' "$CONF"
	printf 'imap-special-use none\nmax-folders 1\nmax-folder-name-length 16\nmax-folder-depth 1\n' >> "$CONF"
	check "$CONF"
	echo "$output"
	[ "$status" -eq 0 ]
	sed -i '/^imap-special-use\|^max-folder/d' "$CONF"
	printf 'imap-special-use archive\nmax-folders 10000\nmax-folder-name-length 2048\nmax-folder-depth 64\n' >> "$CONF"
	check "$CONF"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "imap-special-use: an unknown use, one listed twice, none with others, no value" {
	printf 'imap-special-use sent outbox\n' >> "$CONF"
	check "$CONF"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of 'sent outbox'): imap-special-use: unknown use \"outbox\" (sent, drafts, trash, junk, archive, or none)"* ]]
	sed -i '$d' "$CONF"
	printf 'imap-special-use trash junk trash\n' >> "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of 'junk trash'): imap-special-use: trash is listed twice"* ]]
	sed -i '$d' "$CONF"
	printf 'imap-special-use none sent\n' >> "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of 'none sent'): imap-special-use: none stands alone"* ]]
	sed -i '$d' "$CONF"
	printf 'imap-special-use\n' >> "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of '^imap-special-use$'): imap-special-use: missing value"* ]]
	sed -i '$d' "$CONF"
	printf 'imap-special-use sent\nimap-special-use trash\n' >> "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of 'use trash'): imap-special-use: already set at line $(line_of 'use sent')"* ]]
}

@test "max-folders, max-folder-name-length, max-folder-depth: out of range, not numbers" {
	cat >> "$CONF" <<'EOF2'
max-folders 0
max-folder-name-length 15
max-folder-depth 65
EOF2
	check "$CONF"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of 'max-folders 0'): max-folders: 0 is out of range (1 to 10000)"* ]]
	[[ "$output" == *"$CONF:$(line_of 'length 15'): max-folder-name-length: 15 is out of range (16 to 2048)"* ]]
	[[ "$output" == *"$CONF:$(line_of 'depth 65'): max-folder-depth: 65 is out of range (1 to 64)"* ]]
	sed -i '/^max-folder/d' "$CONF"
	cat >> "$CONF" <<'EOF2'
max-folders 10001
max-folder-name-length 2049
max-folder-depth many
EOF2
	check "$CONF"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of 'max-folders 10001'): max-folders: 10001 is out of range (1 to 10000)"* ]]
	[[ "$output" == *"$CONF:$(line_of 'length 2049'): max-folder-name-length: 2049 is out of range (16 to 2048)"* ]]
	[[ "$output" == *"$CONF:$(line_of 'depth many'): max-folder-depth: \"many\" is not a number"* ]]
}

@test "max-folders must leave room for INBOX and the special-use folders" {
	printf 'max-folders 5\n' >> "$CONF"
	check "$CONF"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of 'max-folders 5'): max-folders: 5 leaves no room for INBOX and the 5 imap-special-use folders (at least 6)"* ]]
	printf 'imap-special-use sent trash\n' >> "$CONF"
	check "$CONF"
	echo "$output"
	[ "$status" -eq 0 ]
	sed -i 's/^max-folders 5$/max-folders 2/' "$CONF"
	check "$CONF"
	[ "$status" -eq 1 ]
	# the later of the two lines
	[[ "$output" == *"$CONF:$(line_of 'use sent trash'): max-folders: 2 leaves no room"* ]]
}

@test "max-keywords and pop3-sets-seen: good values pass, bad ones are named" {
	printf 'max-keywords 1\npop3-sets-seen no\n' >> "$CONF"
	check "$CONF"
	echo "$output"
	[ "$status" -eq 0 ]
	sed -i '/^max-keywords\|^pop3-sets-seen/d' "$CONF"
	printf 'max-keywords 256\npop3-sets-seen yes\n' >> "$CONF"
	check "$CONF"
	[ "$status" -eq 0 ]
	sed -i '/^max-keywords\|^pop3-sets-seen/d' "$CONF"
	printf 'max-keywords 257\npop3-sets-seen maybe\n' >> "$CONF"
	check "$CONF"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF:$(line_of 'max-keywords 257'): max-keywords: 257 is out of range (1 to 256)"* ]]
	[[ "$output" == *"$CONF:$(line_of 'sets-seen maybe'): pop3-sets-seen"* ]]
}
