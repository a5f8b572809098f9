#!/usr/bin/env bats
# Another program (a local mail tool) rewrites a mailbox in place, keeping
# its inode: the store must never serve one message's bytes for another.
# Between sessions the index is checked entry by entry; during a session
# RETR checks the message is still where the snapshot has it and answers a
# temporary failure otherwise (SECURITY.md).

load lib/helpers
load lib/store

setup() {
	store_setup alice
	# five messages of different sizes
	for i in 1 2 3 4 5; do
		{
			printf 'Subject: m%s\n\n' "$i"
			for ((k = 0; k < i * 7; k++)); do printf 'line %s of m%s\n' "$k" "$i"; done
		} >"$SD/m$i"
		# what RETR gives back: the Return-Path line, then the message
		{ printf 'Return-Path: <a@example.org>\n'; cat "$SD/m$i"; } >"$SD/want$i"
	done
	write_swap12
}

teardown() { store_teardown; }

# $SD/swap12 FILE: exchanges the first two messages in place (same inode),
# as a tool that sorts a mailbox would; the third stays where it was.
write_swap12() {
	cat >"$SD/swap12" <<'PY'
import re, sys
path = sys.argv[1]
d = open(path, "rb").read()
recs, pos = [], 0
while pos < len(d):
    m = re.match(rb"From [^\n]*\nX-Postern: uid=\S+ len=(\d+)\n", d[pos:])
    n = int(m.group(1))
    recs.append(d[pos:pos + n])
    pos += n
recs[0], recs[1] = recs[1], recs[0]
with open(path, "r+b") as f:
    f.write(b"".join(recs))
    f.truncate()
PY
}

@test "a rewrite in place between sessions, then two deliveries: every message RETRs byte-exact" {
	run peer <<END
start
chan s smtp
append s a@example.org alice $SD/m1
append s a@example.org alice $SD/m2
append s a@example.org alice $SD/m3
chan p pop3
auth p alice alicepw
release p
sh stat -c %i "$SD/spool/alice" >"$SD/ino1"; python3 "$SD/swap12" "$SD/spool/alice"; stat -c %i "$SD/spool/alice" >"$SD/ino2"
append s a@example.org alice $SD/m4
append s a@example.org alice $SD/m5
chan q pop3
auth q alice alicepw
retr q 1 4294967295 $SD/got1
retr q 2 4294967295 $SD/got2
retr q 3 4294967295 $SD/got3
retr q 4 4294967295 $SD/got4
retr q 5 4294967295 $SD/got5
END
	echo "$output"
	[ -f "$SD/spool/.alice.idx" ]
	cmp "$SD/ino1" "$SD/ino2"    # rewritten in place
	[[ "${lines[12]}" == "auth 0 "*"count=5 "* ]]
	# the file now holds m2 m1 m3 m4 m5
	cmp "$SD/got1" "$SD/want2"
	cmp "$SD/got2" "$SD/want1"
	cmp "$SD/got3" "$SD/want3"
	cmp "$SD/got4" "$SD/want4"
	cmp "$SD/got5" "$SD/want5"
}

@test "a rewrite in place during a session: RETR gives the snapshot's message or a temporary failure, never another's" {
	run peer <<END
start
chan s smtp
append s a@example.org alice $SD/m1
append s a@example.org alice $SD/m2
append s a@example.org alice $SD/m3
chan p pop3
auth p alice alicepw
retr p 1 4294967295 $SD/before1
sh python3 "$SD/swap12" "$SD/spool/alice"
append s a@example.org alice $SD/m4
retr p 1 4294967295 $SD/got1
retr p 2 4294967295 $SD/got2
retr p 3 4294967295 $SD/got3
ahead p 3 5 $SD/ahead3
alive p
release p
chan q pop3
auth q alice alicepw
retr q 1 4294967295 $SD/again1
END
	echo "$output"
	cmp "$SD/before1" "$SD/want1"
	# messages 1 and 2 moved: a temporary failure (-ERR [SYS/TEMP]), and
	# never the other one's bytes
	[ "${lines[10]}" = "retr 1 len=0" ]
	[ "${lines[11]}" = "retr 1 len=0" ]
	[ ! -s "$SD/got1" ] && [ ! -s "$SD/got2" ]
	# message 3 did not move, and mail delivered meanwhile does not hurt it
	[[ "${lines[12]}" == "retr 0 "* ]]
	cmp "$SD/got3" "$SD/want3"
	[[ "${lines[13]}" == "ahead 0 n=1 3:"* ]]
	[ "${lines[14]}" = "alive p" ]
	grep -q "message 1 of alice is no longer where the session's snapshot has it" "$SD/log"
	# the next session sees the file as it is now
	cmp "$SD/again1" "$SD/want2"
}

@test "a mailbox replaced by rename during a session: RETR still gives the snapshot's bytes" {
	run peer <<END
start
chan s smtp
append s a@example.org alice $SD/m1
append s a@example.org alice $SD/m2
chan p pop3
auth p alice alicepw
sh cp -p "$SD/spool/alice" "$SD/spool/alice.new" && python3 "$SD/swap12" "$SD/spool/alice.new" && mv "$SD/spool/alice.new" "$SD/spool/alice"
retr p 1 4294967295 $SD/got1
retr p 2 4294967295 $SD/got2
END
	echo "$output"
	cmp "$SD/got1" "$SD/want1"
	cmp "$SD/got2" "$SD/want2"
}
