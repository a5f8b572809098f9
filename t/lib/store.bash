# Set-up for the store-only tests (load after lib/helpers): they start the
# real store (posternd -X store) through t/tools/ipcpeer, the way the
# master does, and play the workers on its channels.  No daemon runs.
#
#   store_setup NAME...   $SD: a fresh directory with spool/ and accounts
#                         (NAME:hash of NAMEpw for each NAME); PEER_OPTS
#                         makes ipcpeer drop to the daemon's users when
#                         run as root.  Write $SD/aliases to have aliases.
#   store_teardown        unmounts a spool a test mounted; removes $SD.
#   peer                  ipcpeer on $SD (-A $SD/aliases if it exists),
#                         its script on stdin, its log in $SD/log.

store_setup() {
	ensure_users
	SD=$(mktemp -d "${TMPDIR:-/tmp}/postern-store.XXXXXX")
	chmod 755 "$SD"
	mkdir "$SD/spool"
	local name
	for name in "$@"; do
		echo "$name:$(hash_pw "${name}pw")"
	done >"$SD/accounts"
	PEER_OPTS=()
	if is_root; then PEER_OPTS=(-u _postern-store -w _postern); fi
}

store_teardown() {
	[ -n "${SD:-}" ] || return 0
	if mountpoint -q "$SD/spool" 2>/dev/null; then umount "$SD/spool"; fi
	rm -rf "$SD"
}

peer() {
	local aliases=()
	[ -f "$SD/aliases" ] && aliases=(-A "$SD/aliases")
	"$BUILD/t/ipcpeer" "${PEER_OPTS[@]}" -l "$SD/log" "${aliases[@]}" "$SD/spool" "$SD/accounts"
}

# Script lines for ipcpeer: deliver N...: an SMTP channel s delivering the
# generated messages @N to alice; login CHAN...: IMAP channels logged
# in as alice.
deliver() {
	local n
	echo "chan s smtp"
	for n in "$@"; do echo "append s s@example.org alice @$n"; done
}

login() {
	local c
	for c in "$@"; do echo "chan $c imap"; echo "imapauth $c alice alicepw"; done
}
