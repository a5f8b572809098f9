# Helpers for the t/imap_*.bats files (load after lib/helpers); the IMAP
# sockets are spoken by t/lib/mailclient.py (imap-* commands) and curl.
#
#   imap_setup            postern_setup plus `listen imap 127.0.0.1:$IMAP_PORT`
#                         and a small imap pool
#   imap_start            postern_start, then waits for the IMAP greeting
#   imap_batch 'CMDS'     sends CMDS (\r \n \x00 escapes) in one write,
#                         half-closes, prints the transcript, CRs removed
#   imap_batch_raw 'CMDS' the same, CRs kept

imap_setup() {
	postern_setup
	IMAP_PORT=$(free_ports 1)
	cat >>"$PT_CONF" <<EOC
listen imap 127.0.0.1:$IMAP_PORT
imap-min-spare 1
imap-max 20
EOC
	export IMAP_PORT
}

imap_start() {
	postern_start
	wait_for greets "$IMAP_PORT" "* OK "
}

imap_batch_raw() {
	python3 "$MAILCLIENT" imap-batch "$IMAP_PORT" "$1"
}

imap_batch() {
	imap_batch_raw "$1" | tr -d '\r'
}
