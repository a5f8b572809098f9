#!/usr/bin/env bats
# make install makes a runnable system: the layout under DESTDIR, the jail
# directory (empty-dir) it creates, the installed sample config run by the
# installed posternd with the installed directories (as root: chroot into
# the installed jail, spool created by the daemon), and a missing parent
# of spool or empty-dir named as FILE:LINE by posternd -n and at start-up.

load lib/helpers

setup() {
	postern_setup
	DEST=$PT_DIR/dest
	run make -C "$T_TOP" --no-print-directory BUILD="$BUILD" install DESTDIR="$DEST"
	echo "$output"
	[ "$status" -eq 0 ]
}
teardown() { postern_teardown; }

# The installed sample, made runnable here: its files and directories
# inside DEST, its listeners on this test's loopback ports.
installed_conf() {
	sed -e "s|^accounts .*|accounts $PT_DIR/accounts|" \
	    -e "s|^aliases .*|aliases $PT_DIR/aliases|" \
	    -e "s|^spool .*|spool $DEST/var/spool/postern|" \
	    -e "s|^empty-dir .*|empty-dir $DEST/var/lib/postern/empty|" \
	    -e "s|^pidfile .*|pidfile $PT_DIR/postern.pid|" \
	    -e "/^listen /d" \
	    "$DEST/etc/postern/postern.conf.sample" >"$PT_CONF"
	printf 'listen smtp 127.0.0.1:%s\nlisten pop3 127.0.0.1:%s\n' \
	    "$SMTP_PORT" "$POP3_PORT" >>"$PT_CONF"
	mkdir -p "$DEST/var/spool"
}

@test "make install DESTDIR: binary, man pages, sample, unit, and the jail directory" {
	[ "$(stat -c %a "$DEST/usr/local/sbin/posternd")" = 755 ]
	[ -f "$DEST/usr/local/share/man/man8/posternd.8" ]
	[ -f "$DEST/usr/local/share/man/man5/postern.conf.5" ]
	[ -f "$DEST/etc/postern/postern.conf.sample" ]
	unit=$DEST/usr/local/lib/systemd/system/postern.service
	grep -qx "ExecStart=/usr/local/sbin/posternd -f /etc/postern/postern.conf" "$unit"
	grep -qx "StateDirectory=postern" "$unit"
	! grep -q "@SBINDIR@" "$unit"
	# the sample's empty-dir, as posternd wants it: a directory, mode
	# 0755, empty (owned by whoever ran make install: root in production)
	[ "$(grep '^empty-dir' "$DEST/etc/postern/postern.conf.sample" | awk '{print $2}')" = \
	    /var/lib/postern/empty ]
	[ -d "$DEST/var/lib/postern/empty" ]
	[ "$(stat -c %a "$DEST/var/lib/postern/empty")" = 755 ]
	[ "$(stat -c %a "$DEST/var/lib/postern")" = 755 ]
	[ -z "$(ls -A "$DEST/var/lib/postern/empty")" ]
	# and uninstall takes it away again
	run make -C "$T_TOP" --no-print-directory BUILD="$BUILD" uninstall DESTDIR="$DEST"
	[ "$status" -eq 0 ]
	[ ! -e "$DEST/usr/local/sbin/posternd" ] && [ ! -e "$DEST/var/lib/postern" ]
}

@test "the installed posternd runs the installed sample with the installed directories" {
	require_root
	installed_conf
	run "$DEST/usr/local/sbin/posternd" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -eq 0 ]
	POSTERND=$DEST/usr/local/sbin/posternd postern_start
	# the daemon made the spool for the store's user, and jailed the workers
	grep -q "created spool $DEST/var/spool/postern owned by _postern-store" "$PT_LOG"
	[ "$(stat -c '%U %a' "$DEST/var/spool/postern")" = "_postern-store 700" ]
	pid=$(postern_pids smtp | head -n 1)
	[ "$(readlink "/proc/$pid/root")" = "$DEST/var/lib/postern/empty" ]
	run swaks --server "127.0.0.1:$SMTP_PORT" --from a@example.net --to alice@example.org --silent 2
	[ "$status" -eq 0 ]
	PT_SPOOL=$DEST/var/spool/postern wait_for mbox_count_is alice 1
}

@test "posternd -n: a missing parent of empty-dir or spool is an error at the key's line" {
	installed_conf
	rm -rf "$DEST/var/lib/postern" "$DEST/var/spool"
	run "$POSTERND" -n -f "$PT_CONF"
	echo "$output"
	[ "$status" -eq 1 ]
	sl=$(grep -n '^spool' "$PT_CONF" | cut -d: -f1)
	[[ "$output" == *"$PT_CONF:$sl: spool: $DEST/var/spool/postern: its parent $DEST/var/spool does not exist"* ]]
	if is_root; then
		el=$(grep -n '^empty-dir' "$PT_CONF" | cut -d: -f1)
		[[ "$output" == *"$PT_CONF:$el: empty-dir: $DEST/var/lib/postern/empty: its parent $DEST/var/lib/postern does not exist"* ]]
		[[ "$output" == *"$PT_CONF: 2 errors"* ]]
	fi
}

@test "posternd refuses to start with the same FILE:LINE message, before binding anything" {
	installed_conf
	rm -rf "$DEST/var/spool"
	run timeout 20 "$POSTERND" -d -f "$PT_CONF"
	echo "$output"
	[ "$status" -eq 1 ]
	sl=$(grep -n '^spool' "$PT_CONF" | cut -d: -f1)
	[[ "$output" == *"$PT_CONF:$sl: spool: $DEST/var/spool/postern: its parent $DEST/var/spool does not exist"* ]]
	[[ "$output" != *"listening on"* ]]
}
