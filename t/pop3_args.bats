#!/usr/bin/env bats
# POP3 strict parsing: numbers in range, argument and line lengths, NUL,
# case-insensitive keywords, bare LF line ends.  No bad number ever reaches
# the store (it would drop the channel): the session keeps working.

load lib/helpers
load lib/pop3

LOGIN='USER alice\r\nPASS alicepw\r\n'

setup() {
	postern_setup
	postern_start
	smtp_quick alice@example.org one "body one"
	wait_for mbox_count_is alice 1
}
teardown() { postern_teardown; }

@test "bad message numbers are -ERR and the session goes on" {
	run pop3_batch "${LOGIN}LIST 4294967297\r\nLIST 4294967296\r\nRETR 0\r\nRETR -1\r\nRETR +1\r\nRETR 1x\r\nRETR 0x1\r\nRETR 2\r\nDELE 4294967295\r\nUIDL 0\r\nTOP 1 x\r\nTOP 1 -1\r\nTOP 1 4294967296\r\nTOP 0 1\r\nSTAT\r\nQUIT\r\n"
	[ "${lines[3]}" = "-ERR invalid message number" ]
	[ "${lines[4]}" = "-ERR invalid message number" ]
	[ "${lines[5]}" = "-ERR invalid message number" ]
	[ "${lines[6]}" = "-ERR invalid message number" ]
	[ "${lines[7]}" = "-ERR invalid message number" ]
	[ "${lines[8]}" = "-ERR invalid message number" ]
	[ "${lines[9]}" = "-ERR invalid message number" ]
	[ "${lines[10]}" = "-ERR no such message" ]
	[ "${lines[11]}" = "-ERR no such message" ]
	[ "${lines[12]}" = "-ERR invalid message number" ]
	[ "${lines[13]}" = "-ERR invalid number of lines" ]
	[ "${lines[14]}" = "-ERR invalid number of lines" ]
	[ "${lines[15]}" = "-ERR invalid number of lines" ]
	[ "${lines[16]}" = "-ERR invalid message number" ]
	[[ ${lines[17]} =~ ^\+OK\ 1\ [0-9]+$ ]]
	[ "${lines[18]}" = "+OK postern signing off (0 messages deleted)" ]
	# the store channel survived: nothing dropped, logged
	! grep -qi 'dropp' "$PT_LOG"
}

@test "wrong argument counts and spacing are syntax errors" {
	run pop3_batch "${LOGIN}RETR\r\nRETR 1 2\r\nTOP 1\r\nSTAT 1\r\nLIST \r\nRETR  1\r\nNOOP x\r\nQUIT\r\n"
	for i in 3 4 5 6 7 8 9; do [ "${lines[$i]}" = "-ERR syntax error" ]; done
	[ "${lines[10]}" = "+OK postern signing off (0 messages deleted)" ]
}

@test "keywords are case-insensitive, leading zeros fine" {
	run pop3_batch 'user alice\r\npAsS alicepw\r\nstat\r\nList 1\r\nuidl 001\r\nnoop\r\nquit\r\n'
	[[ ${lines[2]} == "+OK maildrop has 1 messages"* ]]
	[[ ${lines[3]} =~ ^\+OK\ 1\ [0-9]+$ ]]
	[[ ${lines[4]} =~ ^\+OK\ 1\ [0-9]+$ ]]
	[[ ${lines[5]} =~ ^\+OK\ 1\ [!-~]+$ ]]
	[ "${lines[6]}" = "+OK" ]
	[[ ${lines[7]} == "+OK postern signing off"* ]]
}

@test "arguments: 40 octets accepted, 41 refused; the password may be longer" {
	a40=$(printf 'a%.0s' $(seq 40))
	run pop3_batch "USER $a40\r\nUSER ${a40}a\r\nUSER alice\r\nPASS alicepw\r\nLIST 0000000000000000000000000000000000000001\r\nLIST 00000000000000000000000000000000000000001\r\nQUIT\r\n"
	[ "${lines[1]}" = "+OK send PASS" ]
	[ "${lines[2]}" = "-ERR argument too long" ]
	[[ ${lines[4]} == "+OK maildrop has 1"* ]]
	[[ ${lines[5]} =~ ^\+OK\ 1\ [0-9]+$ ]]
	[ "${lines[6]}" = "-ERR argument too long" ]
}

@test "command lines: 255 octets with CRLF accepted, longer refused and skipped" {
	p248=$(printf 'x%.0s' $(seq 248))
	long=$(printf 'y%.0s' $(seq 5000))
	run pop3_batch "USER alice\r\nPASS $p248\r\nNOOP $long\r\nUSER alice\r\nPASS alicepw\r\nSTAT\r\nQUIT\r\n"
	[ "${lines[1]}" = "+OK send PASS" ]
	[ "${lines[2]}" = "-ERR [AUTH] invalid user name or password" ]
	[ "${lines[3]}" = "-ERR command line too long" ]
	[[ ${lines[5]} == "+OK maildrop has 1"* ]]
	[[ ${lines[6]} =~ ^\+OK\ 1\ [0-9]+$ ]]
	p249=$(printf 'x%.0s' $(seq 249))
	run pop3_batch "USER alice\r\nPASS $p249\r\nQUIT\r\n"
	[ "${lines[2]}" = "-ERR command line too long" ]
}

@test "a NUL byte voids the line" {
	run pop3_batch 'USER alice\r\nPASS alicepw\r\nSTAT\x00\r\nDELE\x001\r\nDELE 1\x00\r\nQUIT\r\n'
	[ "${lines[3]}" = "-ERR control character in command line" ]
	[ "${lines[4]}" = "-ERR control character in command line" ]
	[ "${lines[5]}" = "-ERR control character in command line" ]
	[ "${lines[6]}" = "+OK postern signing off (0 messages deleted)" ]
	[ "$(pop3_count alice alicepw)" = 1 ]
}

@test "a NUL inside USER or PASS voids it" {
	run pop3_batch 'USER ali\x00ce\r\nUSER alice\r\nPASS alice\x00pw\r\nQUIT\r\n'
	[ "${lines[1]}" = "-ERR control character in command line" ]
	[ "${lines[2]}" = "+OK send PASS" ]
	[ "${lines[3]}" = "-ERR control character in command line" ]
}

@test "bare LF line ends are accepted (typing by hand)" {
	run pop3_batch 'USER alice\nPASS alicepw\nSTAT\nQUIT\n'
	[[ ${lines[2]} == "+OK maildrop has 1"* ]]
	[[ ${lines[3]} =~ ^\+OK\ 1\ [0-9]+$ ]]
	[[ ${lines[4]} == "+OK postern signing off"* ]]
}

@test "a bare CR or a TAB inside a line voids it" {
	run pop3_batch 'NOOP\rQUIT\r\nSTAT\t\r\nQUIT\r\n'
	[ "${lines[1]}" = "-ERR control character in command line" ]
	[ "${lines[2]}" = "-ERR control character in command line" ]
	[ "${lines[3]}" = "+OK postern signing off" ]
}
