/*
 * Every limit used at run time, one place, a comment each (popa3d
 * params.h): timeouts, caps and sizes, with the unit in the name (_MS
 * milliseconds, _S seconds, _BYTES, _COUNT).  One value has one name.
 * The limits an administrator may change have a config key (privsep/conf.h,
 * master/parse.c) and are not here; these are the ceilings the code is
 * built around.  The protocol and format sizes below (LIM_*) are lengths
 * in bytes unless their comment says otherwise.
 */
#ifndef POSTERN_PARAMS_H
#define POSTERN_PARAMS_H

/* An account or alias name: also a file name in the spool. */
#define LIM_NAME            64
/* An RFC 5321 path: 256 octets including the angle brackets (4.5.3.1.3). */
#define LIM_PATH            256
/* A local part: 64 octets (RFC 5321 4.5.3.1.1). */
#define LIM_LOCAL           64
/* A domain: 255 octets (RFC 5321 4.5.3.1.2). */
#define LIM_DOMAIN          255
/* A POP3 UID: 1..70 printable characters (RFC 1939 7). */
#define LIM_UID             70
/* A password as the POP3 worker may pass it on. */
#define LIM_PASSWORD        256
/* A client address in text, with room for IPv6 and a port. */
#define LIM_ADDR            64
/* A session id in text. */
#define LIM_SESSID          24
/* Accounts one APPEND may name (after alias expansion and dedup). */
#define LIM_APPEND_ACCOUNTS 1000
/* Accounts one alias may expand to. */
#define LIM_ALIAS_EXPANSION 1000
/* One log line. */
#define LIM_LOGLINE         1024
/* MSG_RETR body lines meaning "the whole message". */
#define LIM_ALL_LINES       0xffffffffu
/* Messages a RETR may ask for beyond the one asked (POP3 read-ahead), and
 * the bytes they may add to the answer: the first message always comes
 * whole, whatever its size. */
#define LIM_RETR_AHEAD      63
#define LIM_RETR_AHEAD_BYTES (1024u * 1024u)
/* DELE marks one MSG_DELE may carry. */
#define LIM_DELE_BATCH      1024
/* The SMTP command line, CRLF included (RFC 5321 4.5.3.1.4). */
#define LIM_SMTP_CMDLINE    512
/* The POP3 command line, CRLF included (RFC 2449 4). */
#define LIM_POP3_CMDLINE    255
/* A POP3 argument (RFC 2449 4). */
#define LIM_POP3_ARG        40

/* ------------------------------------------------ timeouts, every process */

/* How often the master's and the control process's loops wake when
 * nothing happens, to run their timers. */
#define TICK_MS                   250

/* ------------------------------------------------------ workers: store */

/*
 * How long a worker waits for the store: one request (a recipient lookup,
 * a POP3 login or listing), and one that fsyncs or rewrites a mailbox
 * (an SMTP APPEND, a POP3 COMMIT).  A store that is stopped or wedged must
 * give the client a temporary error (4xx, -ERR [SYS/TEMP]), not a hang;
 * both are far above what a healthy store takes, even for a 25 MB message.
 * An append that completes after we gave up is delivered and the client,
 * told 451, sends it again: a duplicate, never a loss.
 */
#define STORE_REPLY_TIMEOUT_MS    10000
#define STORE_COMMIT_TIMEOUT_MS   25000
/* Answers a worker may owe the store's pipelined requests at once
 * (workers/storecli.h store_send()). */
#define STORE_OWED_MAX_COUNT      32

/* ------------------------------------------------- workers: the session */

/* Waiting for the master's MSG_ADMIT after a busy status; no answer
 * admits. */
#define ADMIT_WAIT_MS             5000
/* The connection's input buffer: at least the largest DATA line we
 * accept. */
#define CONN_INBUF_BYTES          (128 * 1024)
/* The connection's output buffer. */
/* A response line a session formats (conn_vline), CRLF included: POP3's
 * and IMAP's own lines; message bytes and long lists go as they are */
#define CONN_LINE_BYTES           1024
/* A keyholder whose files did not load waits this long at most for the
 * master to read its answer and act, before it exits */
#define KEYHOLDER_FAIL_WAIT_MS    10000
/* The first and the last bytes kept of an over-long line (conn.c): an
 * IMAP tag and a literal announcement "{4294967295+}\r\n" fit. */
#define CONN_OVERLONG_KEEP        72
#define CONN_OUTBUF_BYTES         (64 * 1024)
/* Flushing a full output buffer in the middle of a reply. */
#define CONN_OUTBUF_FULL_MS       300000
/* The goodbye line when the session is shut down under us. */
#define CONN_GOODBYE_MS           2000
/* The last bytes of a session, after the protocol is done with it. */
#define SESSION_FINAL_FLUSH_MS    10000
/* A TLS handshake must finish within this, whatever the session timeout. */
#define TLS_HANDSHAKE_MS          30000
/* Waiting for the keyholder's answer to one request. */
#define TLS_KEYHOLDER_MS          10000

/* --------------------------------------------------------- workers: SMTP */

/* A reply line we compose (RFC 5321 4.5.3.1.5: 512 with CRLF). */
#define SMTP_REPLY_MAX_BYTES      512
/* The recipients part of the per-message log line. */
#define SMTP_LOG_RCPTS_MAX_BYTES  400
/* The DATA spool's write buffer. */
#define DATA_BUF_BYTES            16384

/* --------------------------------------------------------- workers: POP3 */

/* The session timeout when the config gives none (RFC 1939: at least 10
 * minutes). */
#define POP3_TIMEOUT_DEFAULT_MS   600000u
/* The most a worker waits on the store's login delay. */
#define POP3_LOGIN_DELAY_MAX_MS   60000u
/* Bad commands before we hang up. */
#define POP3_BAD_COMMANDS_MAX_COUNT 50
/* Messages in a snapshot a worker accepts. */
#define POP3_SNAPSHOT_MAX_COUNT   1000000u
/* The last bytes of a POP3 session after QUIT or an error. */
#define POP3_FINAL_FLUSH_MS       5000
/* Input bytes dot-stuffed per step; the output of one step is at most
 * 2 * P3_OUT_CHUNK_BYTES + 2 (every byte a '\n' or a line-leading '.'). */
#define P3_OUT_CHUNK_BYTES        8192

/* --------------------------------------------------------- workers: IMAP */

/* The command line before login, CRLF included: the default of the
 * pre-login limit (RFC 7162 4 recommends at least 8192). */
#define IMAP_LINE_PRELOGIN_BYTES  8192
/* The command line after login, CRLF included: the default of
 * imap-max-line-length (a UID set of a big folder fits). */
#define IMAP_LINE_DEFAULT_BYTES   (64 * 1024)
/* The most any configured line limit may be; also the bytes one command
 * may keep in the parser (its lines and its in-memory literals). */
#define IMAP_CMD_MAX_BYTES        (256 * 1024)
/* A tag (RFC 3501 9: 1*<ASTRING-CHAR except "+">). */
#define IMAP_TAG_MAX_BYTES        64
/* A non-synchronising literal {N+} (RFC 7888 LITERAL-: at most 4096). */
#define IMAP_LITERAL_NONSYNC_MAX_BYTES 4096
/* A literal the parser keeps in memory (a name, a password, a SEARCH
 * string); APPEND's message literal is taken by the session instead and
 * bounded by max-message-size. */
#define IMAP_LITERAL_INLINE_MAX_BYTES  (64 * 1024)
/* Parenthesised lists nested in one command. */
#define IMAP_NEST_MAX_COUNT       16
/* Tokens (atoms, strings, lists) in one command. */
#define IMAP_TOKENS_MAX_COUNT     8192
/* Ranges in one sequence set: more than a 64 KiB line can hold ("1,"
 * is 2 bytes), so only a raised line limit meets it. */
#define IMAP_SEQSET_MAX_COUNT     32768
/* Sections (BODY[...]) in one FETCH, and header names in one of them. */
#define IMAP_FETCH_SECTIONS_MAX_COUNT 64
#define IMAP_FETCH_FIELDS_MAX_COUNT   128
/* Part numbers in one section ("1.2.3" is 3). */
#define IMAP_SECTION_PARTS_MAX_COUNT  32
/* Keywords in one STORE or APPEND flag list. */
#define IMAP_FLAG_KEYWORDS_MAX_COUNT  128
/* ID (RFC 2971 3.3): pairs, and the bytes of a field and of a value. */
#define IMAP_ID_PAIRS_MAX_COUNT   30
#define IMAP_ID_FIELD_MAX_BYTES   30
#define IMAP_ID_VALUE_MAX_BYTES   1024
/* A mailbox name decoded from modified UTF-7 to UTF-8, NUL included. */
#define IMAP_MAILBOX_MAX_BYTES    1024
/* IDLE: an untagged "* OK" this often, so that no NAT box or client
 * timer takes a quiet session for dead (Dovecot: 2 minutes) */
#define IMAP_IDLE_KEEPALIVE_MS    (2u * 60u * 1000u)
/* MSG_FETCH: UIDs a request may name, and the bytes an answer carries
 * (at least one message, whatever its size) */
#define IMAP_FETCH_BATCH_MAX_COUNT 1024
#define IMAP_FETCH_BATCH_MAX_BYTES (8u * 1024u * 1024u)
/* FETCH of headers reads this much of a message first (doubled until the
 * blank line after its header is in it): most headers fit */
#define HEADER_READ_FIRST_BYTES    (16u * 1024u)

/* SEARCH (imap_search.h): NOT, OR and parenthesised lists nested in one
 * program (the parser bounds lists to IMAP_NEST_MAX_COUNT, this bounds
 * "NOT NOT NOT ..." and "OR OR OR ..." chains too), and the string keys
 * (BODY TEXT SUBJECT HEADER ...) in one: each one reads every message
 * once, so this bounds the CPU a search costs per message byte. */
#define IMAP_SEARCH_NEST_MAX_COUNT    64
#define IMAP_SEARCH_STRKEYS_MAX_COUNT 64

/* ----------------------------------------- workers: IMAP MIME (mime.h) */

/* Header lines (a folded field counts each of its lines) and bytes parsed
 * in one part's header; past either, the header ends there and the rest
 * of the part is its body: nothing fails, nothing is dropped. */
#define MIME_HDR_LINES_MAX_COUNT  10000
#define MIME_HDR_MAX_BYTES        (1024 * 1024)
/* Nesting of multiparts and message/rfc822 parts (the message itself is
 * depth 0); a container deeper than this is served as text/plain. */
#define MIME_NEST_MAX_COUNT       16
/* Parts in one message, the message itself included; parts found past it
 * stay inside their parent's bytes, not listed. */
#define MIME_PARTS_MAX_COUNT      1000
/* Addresses (group markers included) listed per ENVELOPE address field. */
#define MIME_ADDR_MAX_COUNT       1000
/* A multipart boundary (RFC 2046 5.1.1: 1..70); a longer one, or one with
 * CR, LF or NUL, makes the part text/plain. */
#define MIME_BOUNDARY_MAX_BYTES   200
/* RFC 2231 segments ("name*0*=...") joined in one parameter list; past
 * it the rest are listed as they are written. */
#define MIME_RFC2231_SEGMENTS_MAX_COUNT 256
/* One ENVELOPE, BODY[STRUCTURE] or synthesized section text. */
#define MIME_OUT_MAX_BYTES        (16 * 1024 * 1024)
/* Part numbers in one section spec ("1.2.3"), and field names in one
 * HEADER.FIELDS list. */
#define MIME_SECTION_PARTS_MAX_COUNT  64
#define MIME_SECTION_FIELDS_MAX_COUNT 256

/* ------------------------------------------------------------ the store */

/* Worker channels the store serves at once. */
#define STORE_CHANNELS_MAX_COUNT  4096
/* Pipelined DELEs read from one channel in one pass. */
#define STORE_DELE_PASS_COUNT     64
/* An APPEND memfd may exceed max-message-size by this (our headers). */
#define APPEND_MEMFD_SLACK_BYTES  (64u * 1024)
/* An APPEND body up to this is read; a larger one is mapped. */
#define APPEND_READ_MAX_BYTES     (256u * 1024)
/* The latest internal date an IMAP APPEND may give (Unix seconds): the
 * last second of the year 9999, the most RFC 3501's date-time can say. */
#define IMAP_APPEND_DATE_MAX      253402300799ull
/* Mailbox descriptors kept open between group commits. */
#define MBCACHE_MAX_COUNT         32
/* Waiting for a mailbox's fcntl lock and dotlock. */
#define MB_LOCK_TIMEOUT_MS        2000
/* A dotlock older than this is stale (another tool died holding it). */
#define MB_DOTLOCK_STALE_S        300
/* The store's dotlock source file is remade when older than this. */
#define LKSRC_MAX_AGE_S           60
/* Marked (deleted) messages a RETR read-ahead skips over at most. */
#define RETR_SKIP_MAX_COUNT       4096
/* Accounts whose last login time is kept for LOGIN-DELAY. */
#define LOGIN_SLOTS_COUNT         4096
/* Bytes of the last From_ line looked at for mailbox statistics. */
#define FROM_LINE_MAX_BYTES       256
/* Bytes read of the accounts or aliases file. */
#define ACC_FILE_MAX_BYTES        (64u * 1024 * 1024)
/* The error text of loading the accounts and aliases files. */
#define ACCOUNTS_ERR_MAX_BYTES    4000

/* ------------------------------------------- the store: IMAP folders */

/*
 * Folder names and the per-account folder table (store/foldername.c,
 * store/foldertab.c; issue 13).  The *_DEFAULT_* values are the limits on
 * what a client may create; the *_CEIL_* values bound what the table
 * parser accepts and what a future config key may raise a default to, so
 * that lowering a limit never makes an existing table unreadable.
 *
 * A name is counted in UTF-8 bytes, the separator '/' included.  1024
 * bytes hold a 16-deep tree of 60-byte components, or about 340 CJK
 * characters (3 bytes each); no name ever becomes a path, so the file
 * system's limits do not apply to the whole name.  One component is
 * capped at 255 bytes, what every file system and other IMAP servers
 * (Dovecot) take, so a tree can be exported or migrated as it is.
 */
#define FOLDER_NAME_DEFAULT_BYTES        1024
#define FOLDER_NAME_CEIL_BYTES           2048
/* The least max-folder-name-length: every special-use name fits, and a
 * little more. */
#define FOLDER_NAME_MIN_BYTES            16
#define FOLDER_COMPONENT_MAX_BYTES       255
/* Components of a name ("a/b/c" is 3). */
#define FOLDER_DEPTH_DEFAULT_COUNT       16
#define FOLDER_DEPTH_CEIL_COUNT          64
/* Entries of one account's folder table, INBOX and \Noselect names
 * included.  Thunderbird and K-9 users with years of per-project folders
 * reach a few hundred. */
#define FOLDERS_DEFAULT_COUNT            1000
#define FOLDERS_CEIL_COUNT               10000
/* A folder table file: every entry at the ceilings, plus its fields. */
#define FOLDERTAB_LINE_FIELDS_BYTES      80
#define FOLDERTAB_FILE_MAX_BYTES \
	((size_t)FOLDERS_CEIL_COUNT * (FOLDER_NAME_CEIL_BYTES + FOLDERTAB_LINE_FIELDS_BYTES) + 256)

/* ------------------------------------ the store: IMAP flags and keywords */

/* An IMAP keyword (a user flag such as $Forwarded or Junk), in bytes. */
#define IMAP_KEYWORD_MAX_BYTES    50
/* Keywords one folder may have: the default of the per-folder limit, and
 * the ceiling any configured limit is held to (the X-Postern line and the
 * flag journal's records are sized for it; store/xpostern.h,
 * store/flagjournal.h). */
#define FOLDER_KEYWORDS_DEFAULT_COUNT 64
#define FOLDER_KEYWORDS_MAX_COUNT 256
/* A flag journal larger than this takes no more records (the store folds
 * it into the mbox first) and is replayed no further: the replay of a
 * folder reads at most this much. */
#define FJ_JOURNAL_MAX_BYTES      (64u * 1024 * 1024)
/* Deferred compaction (store/store_expunge.c): an EXPUNGE in a folder
 * file of at least compact-min-size (this default) hides the messages
 * with one flag journal record each and leaves the rewrite for later;
 * the file is rewritten once the hidden bytes reach
 * 1/COMPACT_DEAD_FRACTION of it (or by the next rewrite for another
 * reason).  8 MiB rewrites in about 60 ms on a virtual disk (BENCH.md). */
#define COMPACT_MIN_SIZE_DEFAULT  ((uint64_t)8 * 1024 * 1024)
#define COMPACT_DEAD_FRACTION     4
/* The store's scheduler slice (sched_setattr sched_runtime, Linux 6.12
 * and later; privsep/proc.c proc_latency_hint()).  The store works in
 * bursts of 20-200 us and every delivery waits on it several times (the
 * request, each I/O completion inside its fsync); with the default slice
 * (0.7-3 ms) a woken store waits for a busy CPU's current task to finish
 * its slice, which the kernel notices at the next tick (4 ms at HZ=250).
 * A slice shorter than the current task's lets the woken store preempt
 * it.  It gives the store no more CPU than before (its nice is
 * unchanged), only a shorter wait for it.  100 us is the kernel's
 * minimum.  Measured in BENCH.md (login_flood). */
#define STORE_SLICE_NS            100000u
/* One append to a flag journal (one write(2)): a caller with more splits. */
#define FJ_BATCH_MAX_BYTES        (4u * 1024 * 1024)
/* The buffer a flag journal is replayed through: memory use of a replay
 * does not grow with the journal. */
#define FJ_READ_BUF_BYTES         (64u * 1024)

/* ----------------------------------------- the store: password checks */

/* Password checks waiting for the auth process (one a channel). */
#define AUTHQ_MAX_COUNT           4096
/* Verdicts taken from the auth process in one pass. */
#define AUTH_READ_PASS_COUNT      256
/* Entries in each of the guess throttle's tables (least recently used
 * evicted). */
#define THR_TAB_COUNT             1024
/* One failure forgotten per this long. */
#define THR_DECAY_MS              120000u
/* The delay after the first failure (doubled by each next), and the
 * longest the throttle puts on an answer. */
#define THR_FIRST_DELAY_MS        1000u
#define THR_MAX_DELAY_MS          10000u
/* Failures counted per entry at most (the counter saturates). */
#define THR_FAILS_MAX_COUNT       1000
/* A failed answer holds an account's guess slot at least this long. */
#define THR_SLOT_MIN_MS           1000u
/* Failed answers in their delay, per account. */
#define THR_ACCT_GUESSES_COUNT    8
/* Failures of one address on one account that make it a suspect. */
#define THR_PAIR_SUSPECT_COUNT    3

/* ------------------------------------------------------------ the master */

/* An extra idle worker lives this long. */
#define POOL_IDLE_MS              3000
/* A pool that turned a client away as full (every worker busy) in the
 * last POOL_FULL_PACE_MS starts its workers one at a time,
 * POOL_FULL_START_GAP_MS apart (master/pools.c pool_adjust()).  A worker
 * start is a fork + exec of posternd, 2-3 ms of CPU; a flood that keeps a
 * POP3 pool full replaces up to pop3-max workers at once whenever their
 * sessions end together, and 50 starts at once took both CPUs of a
 * 2-CPU machine for 75 ms, during which deliveries waited (BENCH.md
 * login_flood).  A full pool serves no more clients by starting faster;
 * one that is not full starts a burst's workers together. */
#define POOL_FULL_PACE_MS         2000
#define POOL_FULL_START_GAP_MS    4
/* Respawn delay after an early death: the first, and the ceiling. */
#define BACKOFF_MIN_MS            100
#define BACKOFF_MAX_MS            10000
/* The store dying sooner than this after its start is "early". */
#define EARLY_DEATH_MS            2000
/* After shutdown-grace, this long before SIGKILL. */
#define STOP_SLACK_MS             3000
/* After SIGKILL, this long for the children to be reaped. */
#define STOP_KILL_WAIT_MS         1000
/* Messages read from one child's channel in one pass. */
#define CHILD_READ_PASS_COUNT     64
/* listen(2) backlog of the mail listeners. */
#define LISTEN_BACKLOG_COUNT      512
/* Client addresses the admission rate limit remembers per service, and
 * its window (the "per minute"). */
#define ADMIT_RATE_SLOTS_COUNT    4096
#define ADMIT_RATE_WINDOW_MS      60000
/* refusal log lines: at most this many a kind (service and reason) in a
 * window, then one line with the count of the rest (master/status.c) */
#define REFUSAL_LOG_LINES_COUNT   10
#define REFUSAL_LOG_WINDOW_MS     10000
/* Descriptors each worker costs the busiest process (master/fdlimit.c
 * explains the count), and those every process needs of its own. */
#define FD_PER_WORKER_COUNT       4
#define FD_FIXED_COUNT            96
/* A config file larger than this is refused. */
#define CONF_FILE_MAX_BYTES       (1024 * 1024)
/* One config line, comment included. */
#define CONF_LINE_MAX_BYTES       4096

/* --------------------------------------------------------- the keyholder */

/* Worker channels the keyholder serves at once. */
#define KH_CHANNELS_MAX_COUNT     4096
/* A certificate or key file larger than this is refused. */
#define KH_FILE_MAX_BYTES         (256 * 1024)

/* ------------------------------------------- the control socket, posternctl */

/* Control connections served at once. */
#define CTL_CLIENTS_MAX_COUNT     16
/* A control client's time to send its request line. */
#define CTL_READ_MS               5000
/* The master or the store's time to answer a control request. */
#define CTL_ANSWER_MS             10000
/* A control client's time to read the answer. */
#define CTL_WRITE_MS              10000
/* Control connections accepted per wake-up. */
#define CTL_ACCEPT_BURST_COUNT    64
/* Messages read from the master or the store in one pass. */
#define CTL_READ_PASS_COUNT       16
/* listen(2) backlog of the control socket. */
#define CTL_BACKLOG_COUNT         64
/* A control request line, LF included, and an answer. */
#define CTL_LINE_MAX_BYTES        256
#define CTL_OUT_MAX_BYTES         (256 * 1024)
/* Sessions listed in one snapshot (all are counted). */
#define CTL_SESSIONS_MAX_COUNT    256
/* posternctl: the whole answer, and for "stop" the daemon to be gone. */
#define POSTERNCTL_ANSWER_MS      20000
#define POSTERNCTL_STOP_WAIT_MS   60000
/* posternctl stop: how often it looks whether the daemon is gone. */
#define POSTERNCTL_STOP_POLL_MS   100

#endif
