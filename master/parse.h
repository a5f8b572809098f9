/*
 * The configuration file parser (postern.conf(5)).  Only the master reads
 * the file; children get the parsed struct conf over IPC.
 *
 * Both functions start from conf_defaults(), read every line, and report
 * every error (not just the first) as "FILE:LINE: message", one a line.
 * Errors about the file as a whole (no domain, no listen, a missing default
 * accounts file) are reported at line 0.  They return the number of errors;
 * with 0 errors *c is complete and consistent.
 */
#ifndef POSTERN_PARSE_H
#define POSTERN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "../privsep/params.h"
#include "../privsep/conf.h"

/* Reads path (at most CONF_FILE_MAX_BYTES bytes); errors go to stderr. */
int conf_parse_file(const char *path, struct conf *c);

/* Parses len bytes of text (which may contain anything, NUL included);
 * name is the file name used in messages and stored in c->path. */
int conf_parse_buf(const char *name, const char *text, size_t len,
    struct conf *c, FILE *errs);

/* The directories the daemon needs (spool; empty-dir when as_root, the
 * only case it is used): each exists as a directory, or its parent does,
 * as posternd creates only the last component.  Reports each problem as
 * "FILE:LINE: key: ..." (line 0 for a default) on errs; returns the
 * number of problems.  posternd -n and the start-up call it. */
int conf_check_dirs(const struct conf *c, FILE *errs, bool as_root);

#endif
