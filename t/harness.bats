#!/usr/bin/env bats
# The test harness itself: postern_start survives a listening port that
# another program took between free_ports() and the daemon's bind.

load lib/helpers

setup() { postern_setup; }
teardown() {
	[ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
	postern_teardown
}

@test "postern_start picks new ports when one was taken meanwhile" {
	taken=$SMTP_PORT
	python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
print("bound", flush=True); time.sleep(60)' "$taken" >"$PT_DIR/holder.out" &
	HOLDER=$!
	wait_for grep -q bound "$PT_DIR/holder.out"
	postern_start
	[ "$SMTP_PORT" != "$taken" ]
	grep -q "Address already in use" "$PT_LOG"
	grep -q "^listen smtp 127.0.0.1:$SMTP_PORT\$" "$PT_CONF"
	greets "$SMTP_PORT" "220 "
}
