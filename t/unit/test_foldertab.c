/* The per-account folder table (store/foldertab.c): format, checks,
 * edits, atomic save. */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "privsep/params.h"
#include "store/foldertab.h"

#define NOW 1764900000u

static struct folder_limits lim;

static uint64_t
fnv(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* body + its end line (count of "f " lines, the right sum): static. */
static const char *
sealed(const char *body)
{
	static char buf[8192];
	size_t n = strlen(body), count = 0;

	for (const char *p = body; (p = strstr(p, "\nf ")) != NULL; p++)
		count++;
	snprintf(buf, sizeof(buf), "%s", body);
	snprintf(buf + n, sizeof(buf) - n, "end %zu %016llx\n", count,
	    (unsigned long long)fnv(body, n));
	return buf;
}

static int
parses(const char *text, const char **why)
{
	struct foldertab t;
	int r;

	*why = NULL;
	r = foldertab_parse(&t, text, strlen(text), why);
	if (r == 0)
		foldertab_free(&t);
	return r;
}

static struct folder *
find(struct foldertab *t, const char *name)
{
	return foldertab_find(t, name, strlen(name), NULL);
}

static int
create(struct foldertab *t, const char *name, const char **why)
{
	*why = NULL;
	return foldertab_create(t, name, strlen(name), &lim, NOW, NULL, why);
}

/* serialize -> parse -> serialize gives the same bytes and entries */
static int
round_trip(const struct foldertab *t)
{
	struct foldertab u;
	size_t n1, n2;
	char *a = foldertab_serialize(t, &n1), *b;
	const char *why;
	int ok;

	if (foldertab_parse(&u, a, n1, &why) != 0) {
		printf("# round trip: %s\n%s", why, a);
		free(a);
		return 0;
	}
	b = foldertab_serialize(&u, &n2);
	ok = n1 == n2 && memcmp(a, b, n1) == 0 && u.n == t->n &&
	    u.next_id == t->next_id && u.next_uidvalidity == t->next_uidvalidity;
	for (size_t i = 0; ok && i < t->n; i++)
		ok = strcmp(u.v[i].name, t->v[i].name) == 0 && u.v[i].id == t->v[i].id &&
		    u.v[i].uidvalidity == t->v[i].uidvalidity &&
		    u.v[i].uidnext == t->v[i].uidnext && u.v[i].flags == t->v[i].flags &&
		    u.v[i].use == t->v[i].use;
	foldertab_free(&u);
	free(a);
	free(b);
	return ok;
}

static void
test_format(void)
{
	struct foldertab t;
	const char *why;
	char *text;
	size_t n;
	int all_fail;

	foldertab_new(&t, NOW);
	CHECK(t.n == 1 && strcmp(t.v[0].name, "INBOX") == 0 && t.v[0].uidvalidity == NOW &&
	    t.v[0].uidnext == 1 && t.v[0].flags == FF_SUBSCRIBED && t.v[0].id == 0,
	    "a new table: INBOX only, subscribed, UIDVALIDITY now");
	CHECK(round_trip(&t), "round trip of a new table");
	CHECK(foldertab_add_special(&t, FU_ALL, &lim, NOW, &why) == 5, "five special-use folders made");
	CHECK(create(&t, "Work/2026", &why) == 0, "Work/2026 made");
	CHECK(foldertab_set_uidnext(&t, "INBOX", 5, 58, &why) == 0, "INBOX UIDNEXT 58");
	CHECK(round_trip(&t), "round trip of a table with folders, parents and uses");
	text = foldertab_serialize(&t, &n);
	printf("# the example table:\n");
	for (char *p = text; *p; ) {
		char *e = strchr(p, '\n');

		printf("#   %.*s\n", (int)(e - p), p);
		p = e + 1;
	}
	CHECK(strcmp(text, "postern-folders 1\nnext 7 1764900007\n"
	    "f 5 1764900005 1 s archive Archive\nf 2 1764900002 1 s drafts Drafts\n"
	    "f 0 1764900000 58 s - INBOX\nf 4 1764900004 1 s junk Junk\n"
	    "f 1 1764900001 1 s sent Sent\nf 3 1764900003 1 s trash Trash\n"
	    "f 0 0 0 n - Work\nf 6 1764900006 1 - - Work/2026\nend 8 1868b5e916b8a852\n") == 0,
	    "the table is byte for byte the example of store/foldertab.h");
	CHECK(strncmp(text, "postern-folders 1\nnext 7 1764900007\n", 36) == 0,
	    "version line and counters");
	CHECK(strstr(text, "\nf 0 1764900000 58 s - INBOX\n") != NULL, "the INBOX line");
	CHECK(strstr(text, "\nf 1 1764900001 1 s sent Sent\n") != NULL, "the Sent line");
	CHECK(strstr(text, "\nf 0 0 0 n - Work\n") != NULL, "the \\Noselect parent line");
	CHECK(strstr(text, "\nf 6 1764900006 1 - - Work/2026\n") != NULL, "the Work/2026 line");

	/* torn: every proper prefix fails */
	all_fail = 1;
	for (size_t k = 0; k < n; k++) {
		struct foldertab u;

		if (foldertab_parse(&u, text, k, &why) == 0) {
			all_fail = 0;
			foldertab_free(&u);
			printf("# prefix %zu parsed\n", k);
		}
	}
	CHECK(all_fail, "every one of the %zu torn prefixes is refused", n);
	{
		struct foldertab u;

		foldertab_parse(&u, text, n - 20, &why);
		CHECK(why != NULL && strstr(why, "torn") != NULL, "a torn table says so: %s", why);
	}
	/* damaged: every byte changed fails */
	all_fail = 1;
	for (size_t k = 0; k < n; k++) {
		static const unsigned char flips[] = { 0x01, 0x20, 0x80 };

		for (size_t f = 0; f < sizeof(flips); f++) {
			struct foldertab u;
			char save = text[k];

			text[k] = (char)(text[k] ^ flips[f]);
			if (foldertab_parse(&u, text, n, &why) == 0) {
				all_fail = 0;
				foldertab_free(&u);
				printf("# byte %zu ^ %02x parsed\n", k, flips[f]);
			}
			text[k] = save;
		}
	}
	CHECK(all_fail, "every single-byte change of the %zu bytes is refused", n);
	text[40] ^= 1;
	{
		struct foldertab u;

		CHECK(foldertab_parse(&u, text, n, &why) == -1 && strstr(why, "checksum") != NULL,
		    "a damaged table says so: %s", why);
	}
	free(text);
	foldertab_free(&t);
}

static void
test_strict(void)
{
	const char *why;
	const char *hdr = "postern-folders 1\nnext 5 1764900005\n";
	char body[4096];
	struct {
		const char *entries;
		const char *label;
		const char *why;     /* in the reason */
	} bad[] = {
		{ "f 0 1764900000 1 s - INBOX\nf 1 1764900001 1 - - Work\nf 2 1764900002 1 - - work\n",
		  "two names with one key (Work, work)", "second entry" },
		{ "f 0 1764900000 1 s - INBOX\nf 2 1764900002 1 - - \xc3\x89T\xc3\x89\nf 1 1764900001 1 - - \xc3\xa9t\xc3\xa9\n",
		  "two names with one key (ETE, ete with acutes)", "second entry" },
		{ "f 0 1764900000 1 s - INBOX\nf 1 1764900001 1 - - Work\nf 2 1764900002 1 - - Work\n",
		  "the same name twice", "second entry" },
		{ "f 0 1764900000 1 s - INBOX\nf 1 1764900001 1 - - y\nf 2 1764900002 1 - - x\n",
		  "out of order", "out of order" },
		{ "f 1 1764900001 1 - - Work\n", "no INBOX", "no INBOX" },
		{ "f 0 1764900000 1 s - inbox\n", "INBOX not canonical", "canonical" },
		{ "f 0 0 0 ns - INBOX\n", "INBOX without a folder", "do not fit" },
		{ "f 0 1764900000 1 s - INBOX\nf 1 1764900001 1 - - ../x\n", "a name ../x", "'..'" },
		{ "f 0 1764900000 1 s - INBOX\nf 1 1764900001 1 - - x%b\n", "a name with %", "wildcard" },
		{ "f 0 1764900000 1 s - INBOX\nf 1 1764900001 1 - - .hidden\n", "a name with a leading dot", "'.'" },
		{ "f 0 1764900000 1 s - INBOX\nf 1 1764900001 1 - - x/b\n", "a missing parent", "without its parent" },
		{ "f 0 1764900000 1 s - INBOX\nf 1 1764900001 1 - - X\nf 2 1764900002 1 - - x/b\n",
		  "a parent spelled otherwise", "otherwise" },
		{ "f 0 1764900000 1 s - INBOX\nf 0 0 0 n - x\n", "a name with no folder, child or subscription",
		  "neither" },
		{ "f 0 1764900000 1 s - INBOX\nf 1 1764900001 1 - - x\nf 1 1764900002 1 - - y\n",
		  "a file id twice", "twice" },
		{ "f 0 1764900000 1 s - INBOX\nf 1 1764900001 1 - - x\nf 2 1764900001 1 - - y\n",
		  "a UIDVALIDITY twice", "twice" },
		{ "f 0 1764900000 1 s - INBOX\nf 5 1764900001 1 - - x\n", "a file id not below next", "do not fit" },
		{ "f 0 1764900009 1 s - INBOX\n", "a UIDVALIDITY not below next", "do not fit" },
		{ "f 0 1764900000 1 s - INBOX\nf 1 0 1 - - x\n", "a folder with UIDVALIDITY 0", "do not fit" },
		{ "f 0 1764900000 1 s - INBOX\nf 1 1764900001 0 - - x\n", "a folder with UIDNEXT 0", "do not fit" },
		{ "f 0 1764900000 1 s - INBOX\nf 0 1764900001 1 - - x\n", "a folder with file id 0", "do not fit" },
		{ "f 0 1764900000 1 s - INBOX\nf 1 1764900001 1 ns - x\n", "no folder but a file id", "do not fit" },
		{ "f 0 1764900000 1 s - INBOX\nf 0 0 0 ns sent x\n", "no folder but a special use", "do not fit" },
		{ "f 0 1764900000 01 s - INBOX\n", "a leading zero", "not a folder entry" },
		{ "f 0 1764900000 4294967296 s - INBOX\n", "a number beyond 32 bits", "not a folder entry" },
		{ "f 0 1764900000 1 sn - INBOX\n", "flags out of order", "not a folder entry" },
		{ "f 0 1764900000 1 x - INBOX\n", "an unknown flag", "not a folder entry" },
		{ "f 0 1764900000 1 s drafts,sent INBOX\n", "uses out of order", "not a folder entry" },
		{ "f 0 1764900000 1 s sent,sent INBOX\n", "a use twice", "not a folder entry" },
		{ "f 0 1764900000 1 s flagged INBOX\n", "an unknown use", "not a folder entry" },
		{ "f 0  1764900000 1 s - INBOX\n", "two spaces", "not a folder entry" },
		{ "f 0 1764900000 1 s - INBOX\r\n", "a CR", "control" },
		{ "f 0 1764900000 1 s - \n", "an empty name", "empty" },
		{ "g 0 1764900000 1 s - INBOX\n", "an unknown line", "not a folder entry" },
	};

	snprintf(body, sizeof(body), "%sf 0 1764900000 1 s - INBOX\nf 1 1764900001 1 - - x\n", hdr);
	CHECK(parses(sealed(body), &why) == 0, "a minimal table parses (%s)", why ? why : "ok");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "%s%s", hdr, bad[i].entries);
		CHECK(parses(sealed(body), &why) == -1 && why != NULL && strstr(why, bad[i].why),
		    "refused: %s (%s)", bad[i].label, why ? why : "parsed");
	}
	CHECK(parses(sealed("postern-folders 2\nnext 1 1764900001\nf 0 1764900000 1 s - INBOX\n"),
	    &why) == -1 && strstr(why, "version 2") != NULL, "another version: %s", why);
	CHECK(parses(sealed("postern-folders 1\nnext 0 1764900001\nf 0 1764900000 1 s - INBOX\n"),
	    &why) == -1, "next id 0 refused");
	{
		char t[256];

		snprintf(t, sizeof(t), "%s", sealed("postern-folders 1\nnext 1 1764900001\nf 0 1764900000 1 s - INBOX\n"));
		*strstr(t, "end 1") = 'e';
		memcpy(strstr(t, "end 1"), "end 2", 5);
		CHECK(parses(t, &why) == -1, "an end count that is not the entries' (%s)", why);
	}
	CHECK(parses("", &why) == -1 && strstr(why, "torn"), "an empty file: %s", why);
	{
		char *huge = malloc(FOLDERTAB_FILE_MAX_BYTES + 1);
		struct foldertab t;

		memset(huge, 'a', FOLDERTAB_FILE_MAX_BYTES + 1);
		CHECK(foldertab_parse(&t, huge, FOLDERTAB_FILE_MAX_BYTES + 1, &why) == -1 &&
		    strstr(why, "too large"), "a file over FOLDERTAB_FILE_MAX_BYTES: %s", why);
		free(huge);
	}
	{
		char t[128];

		memcpy(t, "postern-folders 1\nnext 1 1764900001\nf 0 1764900000 1 s - INBOX\n", 63);
		t[20] = '\0';
		CHECK(foldertab_parse(&(struct foldertab){ 0 }, t, 63, &why) == -1,
		    "a NUL byte refused");
	}
}

static void
test_create_delete(void)
{
	struct foldertab t;
	struct folder *f;
	const char *why;
	uint32_t gone, uv1;

	foldertab_new(&t, NOW);
	CHECK(create(&t, "INBOX", &why) == -1 && strstr(why, "exists"), "CREATE INBOX refused");
	CHECK(create(&t, "inbox", &why) == -1, "CREATE inbox refused");
	CHECK(create(&t, "Inbox/Sub", &why) == 0 && find(&t, "INBOX/sub") != NULL &&
	    strcmp(find(&t, "iNbOx/SUB")->name, "INBOX/Sub") == 0 && find(&t, "iNbOx") == &t.v[0],
	    "INBOX in any case is INBOX: Inbox/Sub is INBOX/Sub");
	CHECK(create(&t, "Caf\xc3\xa9", &why) == 0 && create(&t, "CAF\xc3\x89", &why) == -1 &&
	    strstr(why, "exists") && create(&t, "Cafe\xcc\x81", &why) == -1 && strstr(why, "combining"),
	    "Cafe-acute: the upper case and the decomposed spellings are not a second folder");
	CHECK(create(&t, "Work", &why) == 0, "CREATE Work");
	CHECK(create(&t, "WORK", &why) == -1 && strstr(why, "exists"),
	    "CREATE WORK refused: exists (%s)", why);
	CHECK(create(&t, "../x", &why) == -1 && why != NULL, "CREATE ../x refused (%s)", why);
	CHECK(create(&t, "a/../../b", &why) == -1, "CREATE a/../../b refused");
	f = find(&t, "work");
	CHECK(f != NULL && strcmp(f->name, "Work") == 0 && f->id == 3 && f->uidvalidity == NOW + 3,
	    "lookup by another case finds Work, file id 3");
	uv1 = f ? f->uidvalidity : 0;
	CHECK(create(&t, "work/2026/Q1", &why) == 0, "CREATE work/2026/Q1");
	CHECK((f = find(&t, "Work/2026/Q1")) != NULL && strcmp(f->name, "Work/2026/Q1") == 0,
	    "the parent's spelling is taken: Work/2026/Q1");
	CHECK((f = find(&t, "Work/2026")) != NULL && (f->flags & FF_NOFOLDER) && f->id == 0,
	    "the missing parent Work/2026 is a \\Noselect name");
	CHECK(foldertab_has_children(&t, find(&t, "Work")) &&
	    !foldertab_has_children(&t, find(&t, "Work/2026/Q1")), "has_children");
	CHECK(foldertab_is_below(find(&t, "Work"), find(&t, "Work/2026/Q1")) &&
	    !foldertab_is_below(find(&t, "Work/2026/Q1"), find(&t, "Work")), "is_below");
	CHECK(create(&t, "\xc5\xbf", &why) == 0 && create(&t, "S/x", &why) == 0 &&
	    (f = find(&t, "s/x")) != NULL && strcmp(f->name, "\xc5\xbf/x") == 0,
	    "a parent spelled with another length (long s, S) is respelled: %s", f ? f->name : why);
	CHECK(round_trip(&t), "round trip after creates");
	CHECK(create(&t, "Work/2026", &why) == 0 && !(find(&t, "Work/2026")->flags & FF_NOFOLDER) &&
	    find(&t, "Work/2026")->id != 0, "CREATE of a \\Noselect name makes it a folder");

	CHECK(foldertab_delete(&t, "INBOX", 5, &gone, &why) == -1 && strstr(why, "INBOX"),
	    "DELETE INBOX refused: %s", why);
	CHECK(foldertab_delete(&t, "Work", 4, &gone, &why) == 0 && gone == 3 &&
	    (find(&t, "Work")->flags & FF_NOFOLDER), "DELETE Work (with children): kept \\Noselect, file 3 gone");
	CHECK(foldertab_delete(&t, "Work", 4, &gone, &why) == -1 && strstr(why, "sub-folders"),
	    "DELETE of a \\Noselect name with children refused: %s", why);
	CHECK(foldertab_delete(&t, "Work/2026/Q1", 12, &gone, &why) == 0 && gone != 0 &&
	    find(&t, "Work/2026/Q1") == NULL && find(&t, "Work/2026") != NULL,
	    "DELETE the leaf: gone, its folder parent stays");
	CHECK(foldertab_delete(&t, "work/2026", 9, &gone, &why) == 0 &&
	    find(&t, "Work/2026") == NULL && find(&t, "Work") == NULL && t.n == 5,
	    "DELETE the last child: the \\Noselect parent goes too");
	CHECK(foldertab_delete(&t, "Nope", 4, &gone, &why) == -1 && strstr(why, "does not exist"),
	    "DELETE of a missing name: %s", why);
	CHECK(create(&t, "Work", &why) == 0 && find(&t, "Work")->uidvalidity > uv1,
	    "a folder made again gets a new UIDVALIDITY");
	CHECK(foldertab_subscribe(&t, "Work", 4, 1, &why) == 0 &&
	    foldertab_delete(&t, "Work", 4, &gone, &why) == 0 && (f = find(&t, "Work")) != NULL &&
	    f->flags == (FF_NOFOLDER | FF_SUBSCRIBED),
	    "DELETE of a subscribed folder keeps the subscription (RFC 3501 6.3.6)");
	CHECK(round_trip(&t), "round trip with a subscription-only name");
	CHECK(foldertab_delete(&t, "Work", 4, &gone, &why) == -1, "DELETE of a subscription-only name refused");
	CHECK(foldertab_subscribe(&t, "Work", 4, 0, &why) == 0 && find(&t, "Work") == NULL,
	    "UNSUBSCRIBE of it removes the name");
	CHECK(foldertab_subscribe(&t, "Gone", 4, 1, &why) == -1, "SUBSCRIBE of a missing name refused");
	CHECK(foldertab_subscribe(&t, "INBOX", 5, 0, &why) == 0 &&
	    foldertab_subscribe(&t, "INBOX", 5, 0, &why) == -1, "UNSUBSCRIBE twice refused");
	CHECK(foldertab_set_uidnext(&t, "INBOX", 5, 10, &why) == 0 &&
	    foldertab_set_uidnext(&t, "INBOX", 5, 9, &why) == -1 &&
	    find(&t, "INBOX")->uidnext == 10, "UIDNEXT never goes down");
	CHECK(foldertab_set_use(&t, "INBOX", 5, 0x40, &why) == -1, "an unknown use refused");
	foldertab_free(&t);

	foldertab_new(&t, 0);
	CHECK(t.v[0].uidvalidity == 1, "a clock at 0 still gives UIDVALIDITY 1");
	foldertab_free(&t);
	foldertab_new(&t, NOW);
	t.next_id = UINT32_MAX;
	CHECK(create(&t, "x/y", &why) == -1 && t.n == 1, "file ids used up: refused, nothing left behind");
	foldertab_free(&t);
}

static void
test_limits(void)
{
	struct foldertab t;
	struct folder_limits small = { 20, 3, 6 };
	const char *why;
	char nm[32];
	int made = 0;

	foldertab_new(&t, NOW);
	for (int i = 0; i < 10; i++) {
		snprintf(nm, sizeof(nm), "f%d", i);
		if (foldertab_create(&t, nm, strlen(nm), &small, NOW, NULL, &why) == 0)
			made++;
	}
	CHECK(made == 5 && t.n == 6 && strstr(why, "too many"),
	    "6 entries at most: INBOX and 5 folders (%s)", why);
	foldertab_free(&t);
	foldertab_new(&t, NOW);
	CHECK(foldertab_create(&t, "a/b/c/d", 7, &small, NOW, NULL, &why) == -1, "depth 4 > 3 refused");
	CHECK(foldertab_create(&t, "p/q/r", 5, &small, NOW, NULL, &why) == 0 && t.n == 4,
	    "depth 3: two \\Noselect parents made");
	CHECK(foldertab_create(&t, "s/t/u", 5, &small, NOW, NULL, &why) == -1 && t.n == 4,
	    "parents count against the limit: refused, nothing added");
	foldertab_free(&t);

	/* the default: 1000 entries */
	foldertab_new(&t, NOW);
	made = 0;
	for (int i = 0; i < 1005; i++) {
		snprintf(nm, sizeof(nm), "Folder %d", i);
		made += create(&t, nm, &why) == 0;
	}
	CHECK(made == FOLDERS_DEFAULT_COUNT - 1 && t.n == FOLDERS_DEFAULT_COUNT,
	    "default: %d entries at most", FOLDERS_DEFAULT_COUNT);
	CHECK(round_trip(&t), "round trip of 1000 entries");
	foldertab_free(&t);
}

static void
test_rename(void)
{
	struct foldertab t;
	struct folder *f;
	struct folder_limits small = { 12, 4, 100 };
	const char *why;
	uint32_t id_a, uv_a, id_c, gone;

	foldertab_new(&t, NOW);
	create(&t, "a", &why);
	create(&t, "a/b/c", &why);
	create(&t, "a/d", &why);
	create(&t, "ab", &why);
	foldertab_subscribe(&t, "a/d", 3, 1, &why);
	foldertab_set_use(&t, "a", 1, FU_ARCHIVE, &why);
	id_a = find(&t, "a")->id;
	uv_a = find(&t, "a")->uidvalidity;
	id_c = find(&t, "a/b/c")->id;
	CHECK(foldertab_rename(&t, "A", 1, "x/y", 3, &lim, &why) == 0, "RENAME A x/y (%s)",
	    why ? why : "ok");
	CHECK(find(&t, "a") == NULL && find(&t, "a/b") == NULL && find(&t, "a/b/c") == NULL &&
	    find(&t, "a/d") == NULL, "the old names are gone");
	CHECK((f = find(&t, "x/y")) != NULL && f->id == id_a && f->uidvalidity == uv_a &&
	    f->use == FU_ARCHIVE, "x/y keeps a's file, UIDVALIDITY and use");
	CHECK((f = find(&t, "x/y/b/c")) != NULL && f->id == id_c && strcmp(f->name, "x/y/b/c") == 0,
	    "the subtree moved: x/y/b/c keeps its file");
	CHECK((f = find(&t, "x/y/b")) != NULL && (f->flags & FF_NOFOLDER), "x/y/b is still \\Noselect");
	CHECK((f = find(&t, "x/y/d")) != NULL && (f->flags & FF_SUBSCRIBED), "x/y/d keeps its subscription");
	CHECK((f = find(&t, "x")) != NULL && (f->flags & FF_NOFOLDER), "the new parent x is made");
	CHECK(find(&t, "ab") != NULL && find(&t, "ab")->id != 0, "ab (a prefix, not a child) stays");
	CHECK(round_trip(&t), "round trip after RENAME of a subtree");

	CHECK(foldertab_rename(&t, "x/y", 3, "x/y/z", 5, &lim, &why) == -1 && strstr(why, "below"),
	    "RENAME below itself refused: %s", why);
	CHECK(foldertab_rename(&t, "x/y", 3, "AB", 2, &lim, &why) == -1 && strstr(why, "exists"),
	    "RENAME onto an existing folder (other case) refused: %s", why);
	CHECK(foldertab_rename(&t, "x", 1, "ab", 2, &lim, &why) == -1, "RENAME onto an existing name refused");
	CHECK(foldertab_rename(&t, "INBOX", 5, "Old", 3, &lim, &why) == -1 && strstr(why, "INBOX"),
	    "RENAME INBOX refused here (the handler moves the mail): %s", why);
	CHECK(foldertab_rename(&t, "x/y", 3, "INBOX", 5, &lim, &why) == -1, "RENAME to INBOX refused");
	CHECK(foldertab_rename(&t, "nope", 4, "z", 1, &lim, &why) == -1 && strstr(why, "does not exist"),
	    "RENAME of a missing folder refused");
	CHECK(foldertab_rename(&t, "x/y", 3, "../z", 4, &lim, &why) == -1, "RENAME to ../z refused");
	CHECK(foldertab_rename(&t, "x/y", 3, "p/q", 3, &small, &why) == 0,
	    "RENAME x/y p/q within small limits (%s)", why ? why : "ok");
	CHECK(foldertab_rename(&t, "p/q", 3, "p/r/s", 5, &small, &why) == -1 && strstr(why, "deep"),
	    "RENAME refused when a name below would be too deep: %s", why);
	CHECK(foldertab_rename(&t, "p/q", 3, "abcdefghij", 10, &small, &why) == -1 && strstr(why, "long"),
	    "RENAME refused when a name below would be too long: %s", why);
	CHECK(find(&t, "p/q/b/c") != NULL && find(&t, "abcdefghij") == NULL,
	    "a refused RENAME changes nothing");
	CHECK(foldertab_rename(&t, "p/q", 3, "P/Q", 3, &lim, &why) == 0 &&
	    (f = find(&t, "p/q")) != NULL && strcmp(f->name, "p/Q") == 0 &&
	    (f = find(&t, "p/q/b/c")) != NULL && strcmp(f->name, "p/Q/b/c") == 0,
	    "RENAME to another case respells the folder and its subtree (parent spelling kept)");
	CHECK(foldertab_rename(&t, "p/Q", 3, "p/Q", 3, &lim, &why) == -1, "RENAME to itself refused");
	CHECK(round_trip(&t), "round trip after respelling");

	/* a name kept only for its subscription is taken over */
	create(&t, "Old", &why);
	foldertab_subscribe(&t, "Old", 3, 1, &why);
	foldertab_delete(&t, "Old", 3, &gone, &why);
	CHECK(foldertab_rename(&t, "ab", 2, "old", 3, &lim, &why) == 0 &&
	    (f = find(&t, "OLD")) != NULL && !(f->flags & FF_NOFOLDER) &&
	    (f->flags & FF_SUBSCRIBED) && find(&t, "ab") == NULL,
	    "RENAME onto a subscription-only name takes it over");
	CHECK(create(&t, "INBOX/sub", &why) == 0 &&
	    foldertab_rename(&t, "inbox/sub", 9, "Top", 3, &lim, &why) == 0 && find(&t, "Top") != NULL,
	    "RENAME of INBOX/sub works");
	CHECK(round_trip(&t), "round trip at the end");
	foldertab_free(&t);
}

static void
test_special(void)
{
	struct foldertab t;
	const char *why;
	struct folder *f;

	foldertab_new(&t, NOW);
	create(&t, "Sent", &why);
	CHECK(foldertab_add_special(&t, FU_SENT | FU_TRASH, &lim, NOW, &why) == 1,
	    "an existing Sent gets \\Sent; Trash is made");
	CHECK((f = find(&t, "Sent")) != NULL && f->use == FU_SENT && f->id == 1,
	    "Sent is the folder that existed");
	CHECK((f = find(&t, "Trash")) != NULL && f->use == FU_TRASH && (f->flags & FF_SUBSCRIBED),
	    "Trash made subscribed");
	CHECK(find(&t, "Drafts") == NULL, "uses not asked for are not made");
	foldertab_set_use(&t, "Trash", 5, 0, &why);
	create(&t, "Papierkorb", &why);
	foldertab_set_use(&t, "Papierkorb", 10, FU_TRASH, &why);
	CHECK(foldertab_add_special(&t, FU_ALL, &lim, NOW, &why) == 3 &&
	    find(&t, "Trash")->use == 0 && find(&t, "Junk") != NULL && find(&t, "Drafts") != NULL &&
	    find(&t, "Archive") != NULL, "a use another folder holds is not given again");
	CHECK(foldertab_add_special(&t, FU_ALL, &lim, NOW, &why) == 0, "a second call makes nothing");
	CHECK(round_trip(&t), "round trip with uses");
	foldertab_free(&t);
	{
		char fn[FOLDERTAB_FILE_NAME_BYTES];

		foldertab_file_name(42, fn);
		CHECK(strcmp(fn, "f0000002a") == 0, "file name of id 42: %s", fn);
		foldertab_file_name(UINT32_MAX, fn);
		CHECK(strcmp(fn, "fffffffff") == 0, "file name of the largest id fits");
	}
}

static char *
file_text(int dfd, const char *name, size_t *n)
{
	static char buf[65536];
	int fd = openat(dfd, name, O_RDONLY);
	ssize_t r;

	if (fd == -1)
		return NULL;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r < 0)
		return NULL;
	buf[r] = '\0';
	*n = (size_t)r;
	return buf;
}

static void
test_files(void)
{
	char dir[] = "/tmp/test_foldertab.XXXXXX", cmd[128], *old, *disk;
	struct foldertab t, u;
	const char *why;
	size_t n, on;
	int dfd;

	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		exit(1);
	CHECK(foldertab_load(dfd, &t, NOW, &why) == 1 && t.n == 1 &&
	    strcmp(t.v[0].name, "INBOX") == 0, "a missing table means INBOX only");
	foldertab_add_special(&t, FU_ALL, &lim, NOW, &why);
	CHECK(foldertab_save(dfd, &t, &why) == 0, "saved (%s)", why ? why : "ok");
	old = foldertab_serialize(&t, &on);
	disk = file_text(dfd, FOLDERTAB_FILE, &n);
	CHECK(disk != NULL && n == on && memcmp(disk, old, n) == 0, "the file holds the serialized table");
	CHECK(faccessat(dfd, FOLDERTAB_TMP, F_OK, 0) == -1, "no temporary file is left");
	CHECK(foldertab_load(dfd, &u, NOW + 100, &why) == 0 && u.n == t.n &&
	    find(&u, "INBOX")->uidvalidity == NOW, "loaded again: same table, same UIDVALIDITY");
	foldertab_free(&u);

	/* a failed write leaves the old file: the temporary name is taken */
	create(&t, "New", &why);
	CHECK(mkdirat(dfd, FOLDERTAB_TMP, 0700) == 0, "(a directory in the temporary file's way)");
	CHECK(foldertab_save(dfd, &t, &why) == -1 && why != NULL, "save refused: %s", why);
	disk = file_text(dfd, FOLDERTAB_FILE, &n);
	CHECK(disk != NULL && n == on && memcmp(disk, old, n) == 0, "the old table is untouched");
	unlinkat(dfd, FOLDERTAB_TMP, AT_REMOVEDIR);

	/* a failed write leaves the old file: the write fails half-way */
	{
		struct rlimit rl, save;
		pid_t pid;
		int st;

		pid = fork();
		if (pid == 0) {
			signal(SIGXFSZ, SIG_IGN);
			getrlimit(RLIMIT_FSIZE, &save);
			rl = save;
			rl.rlim_cur = 100;
			setrlimit(RLIMIT_FSIZE, &rl);
			_exit(foldertab_save(dfd, &t, &why) == -1 && strstr(why, "File too large") ? 0 : 1);
		}
		waitpid(pid, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "save with a 100-byte file size limit fails");
	}
	disk = file_text(dfd, FOLDERTAB_FILE, &n);
	CHECK(disk != NULL && n == on && memcmp(disk, old, n) == 0, "the old table is untouched");
	CHECK(faccessat(dfd, FOLDERTAB_TMP, F_OK, 0) == -1, "the partial temporary file is removed");

	/* a stale temporary file from a crash is replaced */
	{
		int fd = openat(dfd, FOLDERTAB_TMP, O_WRONLY | O_CREAT, 0600);

		CHECK(fd >= 0 && write(fd, "junk", 4) == 4 && close(fd) == 0, "(a stale temporary file)");
	}
	CHECK(foldertab_save(dfd, &t, &why) == 0 && foldertab_load(dfd, &u, NOW, &why) == 0 &&
	    find(&u, "New") != NULL, "saved over a stale temporary file");
	foldertab_free(&u);
	free(old);

	/* a damaged file is an error, and is left as it is */
	{
		int fd = openat(dfd, FOLDERTAB_FILE, O_WRONLY);

		CHECK(fd >= 0 && pwrite(fd, "X", 1, 30) == 1 && close(fd) == 0, "(one byte damaged)");
		old = file_text(dfd, FOLDERTAB_FILE, &on);
		old = strndup(old, on);
		CHECK(foldertab_load(dfd, &u, NOW, &why) == -1 && strstr(why, "checksum"),
		    "a damaged table is an error, not INBOX only: %s", why);
		disk = file_text(dfd, FOLDERTAB_FILE, &n);
		CHECK(n == on && memcmp(disk, old, n) == 0, "the damaged file is not reset");
		free(old);
	}
	/* torn: the file cut short (a crash of another writer, a full disk) */
	CHECK(foldertab_save(dfd, &t, &why) == 0, "(saved whole again)");
	{
		int fd = openat(dfd, FOLDERTAB_FILE, O_WRONLY);
		struct stat st;

		CHECK(fd >= 0 && fstat(fd, &st) == 0 && ftruncate(fd, st.st_size - 10) == 0 &&
		    close(fd) == 0, "(file cut by 10 bytes)");
		CHECK(foldertab_load(dfd, &u, NOW, &why) == -1 && strstr(why, "torn"),
		    "a torn table is an error: %s", why);
	}
	/* not a regular file, or a link: refused */
	CHECK(unlinkat(dfd, FOLDERTAB_FILE, 0) == 0 && symlinkat("/etc/passwd", dfd, FOLDERTAB_FILE) == 0 &&
	    foldertab_load(dfd, &u, NOW, &why) == -1, "a symbolic link is refused: %s", why);
	CHECK(unlinkat(dfd, FOLDERTAB_FILE, 0) == 0 && mkdirat(dfd, FOLDERTAB_FILE, 0700) == 0 &&
	    foldertab_load(dfd, &u, NOW, &why) == -1, "a directory is refused: %s", why);
	foldertab_free(&t);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	close(dfd);
	if (system(cmd) != 0)
		exit(1);
}

int
main(void)
{
	folder_limits_default(&lim);
	test_format();
	test_strict();
	test_create_delete();
	test_limits();
	test_rename();
	test_special();
	test_files();
	return check_done();
}
