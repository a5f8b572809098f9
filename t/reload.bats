#!/usr/bin/env bats
# SIGHUP: a good config replaces the workers without cutting sessions;
# a bad one is logged and the old one kept.

load lib/helpers

setup() { postern_setup; }
teardown() { postern_teardown; }

@test "a config error is reported as file:line and the daemon does not start" {
	echo "bogus-key 1" >>"$PT_CONF"
	run "$POSTERND" -d -f "$PT_CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$PT_CONF:"*": "*"bogus-key"* ]]
	! greets "$SMTP_PORT" "220"
}

@test "SIGHUP with a changed hostname: new sessions greet with it, an open session stays up" {
	postern_start
	python3 "$MAILCLIENT" reload-hostname "$SMTP_PORT" "$PT_PID" "$PT_CONF"
	grep -q "reload: configuration" "$PT_LOG"
}

@test "SIGHUP with a broken config keeps serving with the old one" {
	postern_start
	echo "max-recipients lots" >>"$PT_CONF"
	kill -HUP "$PT_PID"
	wait_for grep -q "keeping the running configuration" "$PT_LOG"
	grep -q "$PT_CONF:[0-9]*: " "$PT_LOG"
	greets "$SMTP_PORT" "220 mail.example.org"
	kill -0 "$PT_PID"
}

@test "SIGHUP turns IMAP on (a new imap listener serves) and applies the imap keys" {
	postern_start
	IMAP_PORT=$(free_ports 1)
	printf 'listen imap 127.0.0.1:%s\nimap-min-spare 1\nmax-sessions-per-user 1\n' \
		"$IMAP_PORT" >>"$PT_CONF"
	kill -HUP "$PT_PID"
	wait_for grep -q "reload: configuration" "$PT_LOG"
	wait_for greets "$IMAP_PORT" "* OK "
	run python3 "$MAILCLIENT" imap-logins "$IMAP_PORT" alice alicepw 2
	echo "$output"
	grep -q '^login 1 OK ' <<<"$output"
	grep -q '^login 2 NO .*max-sessions-per-user=1' <<<"$output"
	greets "$SMTP_PORT" "220 mail.example.org"
}
