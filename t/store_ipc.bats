#!/usr/bin/env bats
# The store's channel rules, end to end: t/tools/ipcpeer starts the real
# store (posternd -X store) the way the master does and plays honest and
# hostile workers on its channels.  A hostile channel is closed and logged;
# a channel opened before it keeps working.

load lib/helpers
load lib/store

setup() {
	store_setup alice bob
	echo "team: alice, bob" >"$SD/aliases"
}

teardown() { store_teardown; }

@test "honest SMTP and POP3 channels: lookup, append, auth, retr, dele, commit" {
	run peer <<'END'
start
chan s smtp
lookup s Alice
lookup s team
lookup s nosuch
lookup s POSTMASTER
lookup s ../etc
append s a@example.org alice,bob @1
append s a@example.org alice @2
chan p pop3
auth p alice alicepw
retr p 1
retr p 2 0
dele p 1
commit p
auth p alice alicepw
END
	echo "$output"
	[ "${lines[0]}" = "started" ]
	[ "${lines[2]}" = "lookup 0 alice" ]
	[ "${lines[3]}" = "lookup 0 alice bob" ]
	[ "${lines[4]}" = "lookup 1" ]
	[ "${lines[5]}" = "lookup 0 alice" ]
	[ "${lines[6]}" = "lookup 1" ]
	[ "${lines[7]}" = "append 0 delivered" ]
	[ "${lines[8]}" = "append 0 delivered" ]
	[[ "${lines[10]}" == "auth 0 delay=0 count=2 "* ]]
	[[ "${lines[11]}" == "retr 0 len="* ]]
	[[ "${lines[12]}" == "retr 0 len="* ]]
	[ "${lines[13]}" = "dele 0" ]
	[ "${lines[14]}" = "commit 0 1" ]
	[[ "${lines[15]}" == "auth 0 delay=0 count=1 "* ]]
	grep -q "^From a@example.org" "$SD/spool/bob"
}

@test "an SMTP channel asking RETR is dropped; another channel keeps working" {
	run peer <<'END'
start
chan good smtp
chan bad smtp
raw bad MSG_RETR 8
alive bad
lookup good alice
append good a@example.org alice @1
END
	echo "$output"
	[ "${lines[3]}" = "raw eof" ]
	[ "${lines[4]}" = "eof bad" ]
	[ "${lines[5]}" = "lookup 0 alice" ]
	[ "${lines[6]}" = "append 0 delivered" ]
	grep -q "request not allowed on this kind of channel (MSG_RETR" "$SD/log"
}

@test "a POP3 channel asking before AUTH is dropped" {
	run peer <<'END'
start
chan good pop3
chan bad pop3
retr bad 1
auth good alice alicepw
END
	echo "$output"
	[ "${lines[3]}" = "retr eof" ]
	[[ "${lines[4]}" == "auth 0 "* ]]
	grep -q "request before authentication" "$SD/log"
}

@test "a POP3 channel asking LOOKUP or APPEND is dropped" {
	run peer <<'END'
start
chan p pop3
lookup p alice
chan q pop3
append q a@b alice @1
END
	echo "$output"
	[ "${lines[2]}" = "lookup eof" ]
	[ "${lines[4]}" = "append eof" ]
	[ ! -e "$SD/spool/alice" ]
}

@test "a message number outside the snapshot drops the channel" {
	run peer <<'END'
start
chan s smtp
append s a@example.org alice @1
chan p pop3
auth p alice alicepw
retr p 2
chan q pop3
auth q bob bobpw
dele q 1
chan r pop3
auth r alice alicepw
retr r 0
END
	echo "$output"
	[ "${lines[5]}" = "retr eof" ]
	[[ "${lines[7]}" == "auth 0 delay=0 count=0 "* ]]
	[ "${lines[8]}" = "dele eof" ]
	[[ "${lines[10]}" == "auth 0 "* ]]
	[ "${lines[11]}" = "retr eof" ]
	grep -q "outside the snapshot" "$SD/log"
}

@test "RETR read-ahead: the unmarked messages that follow, bounded in count and bytes" {
	# five messages of 300 KiB, then two small ones
	for i in 1 2 3 4 5; do
		python3 -c "import sys; sys.stdout.write('Subject: big $i\n\n' + ('x' * 99 + '\n') * 3072)" \
			>"$SD/big$i"
	done
	printf 'Subject: small\n\nhello\n' >"$SD/small"
	run peer <<END
start
chan s smtp
append s a@example.org alice $SD/big1
append s a@example.org alice $SD/big2
append s a@example.org alice $SD/big3
append s a@example.org alice $SD/big4
append s a@example.org alice $SD/big5
append s a@example.org alice $SD/small
append s a@example.org alice $SD/small
chan p pop3
auth p alice alicepw
retr p 2 4294967295 $SD/one
ahead p 1 63 $SD/many
ahead p 6 63
ahead p 6 0
deles p 5 6
ahead p 4 63
ahead p 5 63
deles p 2 2
deles p 5
ahead p 1 1
ahead p 3 64
END
	echo "$output"
	[[ "${lines[10]}" == "auth 0 delay=0 count=7 "* ]]
	[[ "${lines[11]}" == "retr 0 len="* ]]
	# 1 MiB of read-ahead: messages 2, 3, 4 (300 KiB each), not 5
	[[ "${lines[12]}" =~ ^"ahead 0 n=4 1:"[0-9]+" 2:"[0-9]+" 3:"[0-9]+" 4:"[0-9]+$ ]]
	[ "${lines[13]}" = "ahead 0 n=2 6:51 7:51" ]
	[ "${lines[14]}" = "ahead 0 n=1 6:51" ]
	[ "${lines[15]}" = "deles 0" ]
	# the marked 5 and 6 are skipped; a marked message itself is STORE_NOSUCH (5)
	[[ "${lines[16]}" =~ ^"ahead 0 n=2 4:"[0-9]+" 7:51"$ ]]
	[ "${lines[17]}" = "ahead 5 n=0" ]
	# a number twice: refused, and nothing marked by it
	[ "${lines[18]}" = "deles 5" ]
	[ "${lines[19]}" = "deles 5" ]
	[[ "${lines[20]}" =~ ^"ahead 0 n=2 1:"[0-9]+" 2:"[0-9]+$ ]]
	# more than LIM_RETR_AHEAD drops the channel
	[ "${lines[21]}" = "ahead eof" ]
	grep -q "RETR read-ahead out of range" "$SD/log"
	# message 2 inside the read-ahead is byte for byte the one RETR gives
	one=$(wc -c <"$SD/one")
	len1=$(sed -n 's/^ahead 0 n=4 1:\([0-9]*\) .*/\1/p' <<<"${lines[12]}")
	cmp <(tail -c +$((len1 + 1)) "$SD/many" | head -c "$one") "$SD/one"
}

@test "a mailbox changed under a POP3 session by another tool: RETR is a temporary error, never other bytes" {
	run peer <<END
start
chan s smtp
append s a@example.org alice @1
append s a@example.org alice @2
chan p pop3
auth p alice alicepw
sh dd if=/dev/zero of=$SD/spool/alice bs=1 count=8 conv=notrunc 2>/dev/null
retr p 1
ahead p 2 5
sh truncate -s 10 $SD/spool/alice
retr p 2
release p
END
	echo "$output"
	[[ "${lines[5]}" == "auth 0 delay=0 count=2 "* ]]
	[ "${lines[6]}" = "sh 0" ]
	# the first From_ line is gone (STORE_TEMPFAIL = 1); the second is there
	[ "${lines[7]}" = "retr 1 len=0" ]
	[[ "${lines[8]}" =~ ^"ahead 0 n=1 2:"[0-9]+$ ]]
	# and then the file is cut short
	[ "${lines[9]}" = "sh 0" ]
	[ "${lines[10]}" = "retr 1 len=0" ]
	[ "${lines[11]}" = "release 0" ]
	grep -q "store: reading message 1 of alice" "$SD/log"
}

@test "malformed frames: truncated, bad length, oversize, two descriptors" {
	run peer <<'END'
start
chan keep smtp
chan a smtp
trunc a
alive a
chan b smtp
badlen b
alive b
chan c smtp
oversize c
alive c
chan d pop3
twofds d
alive d
lookup keep bob
END
	echo "$output"
	[ "${lines[4]}" = "eof a" ]
	[ "${lines[7]}" = "eof b" ]
	[ "${lines[10]}" = "eof c" ]
	[ "${lines[13]}" = "eof d" ]
	[ "${lines[14]}" = "lookup 0 bob" ]
	grep -q "malformed frame" "$SD/log"
}

@test "unknown type, trailing bytes, a descriptor where none belongs" {
	run peer <<'END'
start
chan keep pop3
chan a smtp
raw a 9999 0
chan b smtp
raw b MSG_LOOKUP 8
chan c smtp
raw c MSG_LOOKUP 5 memfd
chan d smtp
raw d MSG_CONF 0
auth keep bob bobpw
END
	echo "$output"
	[ "${lines[3]}" = "raw eof" ]
	[ "${lines[5]}" = "raw eof" ]
	[ "${lines[7]}" = "raw eof" ]
	[ "${lines[9]}" = "raw eof" ]
	[[ "${lines[10]}" == "auth 0 "* ]]
	grep -q "trailing bytes" "$SD/log"
	grep -q "unexpected descriptor" "$SD/log"
	grep -q "request type not allowed" "$SD/log"
}

@test "an APPEND with an unsealed memfd drops the channel and writes nothing" {
	run peer <<'END'
start
chan keep smtp
chan bad smtp
unsealed bad alice
append keep a@example.org bob @1
END
	echo "$output"
	[ "${lines[3]}" = "append eof" ]
	[ "${lines[4]}" = "append 0 delivered" ]
	[ ! -s "$SD/spool/alice" ]
	grep -q "not sealed" "$SD/log"
}

@test "a mailbox is bound to one channel at a time" {
	run peer <<'END'
start
chan p pop3
chan q pop3
auth p alice alicepw
auth q alice alicepw
release p
auth q alice alicepw
close q
chan r pop3
auth r alice alicepw
END
	echo "$output"
	[[ "${lines[3]}" == "auth 0 "* ]]
	[[ "${lines[4]}" == "auth 2 "* ]]
	[ "${lines[5]}" = "release 0" ]
	[[ "${lines[6]}" == "auth 0 "* ]]
	[[ "${lines[9]}" == "auth 0 "* ]]
}

@test "failed AUTH: same answer for unknown names, delay grows" {
	run peer <<'END'
start
chan p pop3
auth p alice wrong 192.0.2.1
auth p alice wrong 192.0.2.1
auth p nosuch wrong 192.0.2.9
auth p ../../etc/passwd x 192.0.2.10
auth p alice alicepw 192.0.2.77
END
	echo "$output"
	[ "${lines[2]}" = "auth 1 delay=0" ]
	[ "${lines[3]}" = "auth 1 delay=1000" ]
	[ "${lines[4]}" = "auth 1 delay=0" ]
	[ "${lines[5]}" = "auth 1 delay=0" ]
	# the owner from an address with no failures is not held up
	[[ "${lines[6]}" == "auth 0 delay=0 "* ]]
}

@test "a broken accounts file on reload keeps the previous tables" {
	printf 'carol:x\n.bad:y\nbob:z\nbob:w\n' >"$SD/accounts.bad"
	run peer <<END
start
chan s smtp
sh cp "$SD/accounts" "$SD/accounts.good"; cp "$SD/accounts.bad" "$SD/accounts"
hup
lookup s bob
lookup s carol
sh cp "$SD/accounts.good" "$SD/accounts"
hup
END
	echo "$output"
	[[ "${lines[3]}" == "accounts error: $SD/accounts:2: invalid account name"* ]]
	[[ "${lines[3]}" == *"|$SD/accounts:4: duplicate account bob (first at line 3)" ]]
	[ "${lines[4]}" = "lookup 0 bob" ]
	[ "${lines[5]}" = "lookup 1" ]
	[ "${lines[7]}" = "accounts ok" ]
	grep -q "keeping the previous ones" "$SD/log"
}

@test "nonsense on the master's control channel is logged and ignored" {
	run peer <<'END'
start
chan s smtp
ctlraw MSG_CHANNEL 3
ctlraw MSG_CHANNEL 8
ctlraw MSG_ACCOUNTS 0 memfd
ctlraw MSG_ACCOUNTS 4
ctlraw MSG_CONF 10
ctlraw MSG_LOOKUP 0
ctlraw MSG_STATUS 12
lookup s alice
alive s
END
	echo "$output"
	[ "${lines[0]}" = "started" ]
	for i in 2 3 4 5 6 7 8; do [ "${lines[$i]}" = "ctlraw sent" ]; done
	# the store still serves the channel it had
	[ "${lines[9]}" = "lookup 0 alice" ]
	[ "${lines[10]}" = "alive s" ]
	grep -q "malformed MSG_CHANNEL from the master" "$SD/log"
	grep -q "bad MSG_CONF from the master ignored" "$SD/log"
	grep -q "unexpected MSG_LOOKUP from the master" "$SD/log"
}
