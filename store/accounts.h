/*
 * The accounts and aliases tables.  The master opens the files and hands
 * the store their descriptors; the store reads and parses them here.
 *
 *   accounts:  name:crypt-hash        (one a line; '#' comments, blank lines)
 *   aliases:   alias: name, name, ... (names are accounts or other aliases;
 *              never a file, a program or a remote address)
 *
 * Names are stored lower case and must pass mailbox_name_ok().  Nested
 * aliases are expanded at load (deduplicated, at most LIM_ALIAS_EXPANSION
 * accounts); a loop, an unknown target or a duplicate is an error reported
 * as "FILE:LINE: message".  On error the caller keeps its previous tables.
 */
#ifndef POSTERN_ACCOUNTS_H
#define POSTERN_ACCOUNTS_H

#include <stddef.h>
#include "../privsep/params.h"
#include "pwcost.h"

struct account {
	char name[LIM_NAME + 1];
	char *hash;                  /* NULL in the store (acctab_drop_hashes) */
	int line;
};

struct alias {
	char name[LIM_NAME + 1];
	int line;
	size_t ntargets;
	char (*targets)[LIM_NAME + 1];
	size_t nexp;
	size_t *exp;                 /* indices into acc[] */
};

struct acctab {
	struct account *acc;         /* sorted by name */
	size_t nacc;
	struct alias *al;            /* sorted by name */
	size_t nal;
	char first[LIM_NAME + 1];    /* the first account in the file */
	struct pwcost cost;          /* dummy hashes: the same crypt work for
					every name (pwcost.h) */
};

/* Makes a name lower case in place. */
void name_lower(char *s);

/* alfd -1: no aliases.  0 ok; -1 with *why holding one
 * "FILE:LINE: message" a line (privsep/util.h). */
int acctab_load(struct acctab *t, int accfd, const char *accpath,
    int alfd, const char *alpath, const char **why);
void acctab_free(struct acctab *t);
/* Wipes and frees every hash and the dummy: the store keeps the names
 * (recipients, aliases, mailboxes) and the auth process the hashes.
 * acct_find() still works; auth_verify() then finds no hash. */
void acctab_drop_hashes(struct acctab *t);

const struct account *acct_find(const struct acctab *t, const char *name);
const struct alias *alias_find(const struct acctab *t, const char *name);

/*
 * Resolves a lower-case name: an account -> itself, an alias -> its
 * expansion.  *names points into the table (valid until the next load).
 * 0 found, -1 unknown.
 */
int acct_resolve(const struct acctab *t, const char *name,
    const char **one, const struct alias **al);

#endif
