#!/usr/bin/env bats
# Daemon mode (pidfile, detached), running as a normal user, make install.

load lib/helpers

setup() { postern_setup; }
teardown() {
	if [ -f "$PT_DIR/postern.pid" ]; then
		kill -TERM "$(cat "$PT_DIR/postern.pid")" 2>/dev/null || true
		sleep 1
	fi
	postern_teardown
}

@test "without -d: detaches, writes the pidfile, serves, and SIGTERM removes the pidfile" {
	run "$POSTERND" -f "$PT_CONF"
	[ "$status" -eq 0 ]
	wait_for test -s "$PT_DIR/postern.pid"
	pid=$(cat "$PT_DIR/postern.pid")
	kill -0 "$pid"
	# detached: its own session, and the command above has returned
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ]
	wait_for greets "$SMTP_PORT" "220 mail.example.org"
	wait_for greets "$POP3_PORT" "+OK"
	kill -TERM "$pid"
	wait_for sh -c "! kill -0 $pid 2>/dev/null"
	[ ! -e "$PT_DIR/postern.pid" ]
}

@test "started by a normal user: serves mail, unjailed but sandboxed, and says so" {
	require_root
	# the whole daemon as nobody: no chroot, no uid switch, still seccomp
	chown -R nobody "$PT_DIR"
	postern_conf_set user nobody
	postern_conf_set store-user nobody-store-unused
	run setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$POSTERND" -n -f "$PT_CONF"
	[ "$status" -eq 0 ]
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		"$POSTERND" -d -f "$PT_CONF" >>"$PT_LOG" 2>&1 &
	PT_PID=$!
	wait_for greets "$SMTP_PORT" "220 "
	wait_for greets "$POP3_PORT" "+OK"
	grep -q "not root" "$PT_LOG"
	run swaks --server "127.0.0.1:$SMTP_PORT" --from a@example.net --to alice@example.org --silent 2
	[ "$status" -eq 0 ]
	wait_for mbox_count_is alice 1
	[ "$(stat -c %U "$(mbox_path alice)")" = nobody ]
	for pid in $(postern_pids store) $(postern_pids smtp); do
		[ "$(awk '$1 == "Uid:" { print $2 }' /proc/$pid/status)" -eq "$(id -u nobody)" ]
		[ "$(awk '$1 == "Seccomp:" { print $2 }' /proc/$pid/status)" -eq 2 ]
		[ "$(awk '$1 == "NoNewPrivs:" { print $2 }' /proc/$pid/status)" -eq 1 ]
	done
}

@test "make install honours PREFIX and DESTDIR" {
	dest=$PT_DIR/dest
	run make -C "$T_TOP" --no-print-directory BUILD="$BUILD" install DESTDIR="$dest" PREFIX=/opt/pt SYSCONFDIR=/opt/pt/etc
	echo "$output"
	[ "$status" -eq 0 ]
	[ -x "$dest/opt/pt/sbin/posternd" ]
	[ -f "$dest/opt/pt/share/man/man8/posternd.8" ]
	[ -f "$dest/opt/pt/share/man/man5/postern.conf.5" ]
	[ -f "$dest/opt/pt/etc/postern/postern.conf.sample" ]
	grep -q "ExecStart=/opt/pt/sbin/posternd" "$dest/opt/pt/lib/systemd/system/postern.service"
	# nothing outside DESTDIR
	[ ! -e /opt/pt ]
}
