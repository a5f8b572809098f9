/*
 * Hard limits, one place, a comment each (popa3d params.h).  The limits an
 * administrator may change have a config key; these are the ceilings the
 * code is built around.
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

#endif
