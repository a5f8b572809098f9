/*
 * The same crypt(3) work for every login (see pwcost.h).
 */
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "pwcost.h"

void
pwcost_scheme(const char *hash, char *key, size_t keysz)
{
	const char *last = NULL, *prev = NULL, *end;
	size_t len;

	if (keysz == 0)
		return;
	key[0] = '\0';
	if (hash[0] != '$') {
		/* traditional DES, or a locked / disabled entry ("!", "*") */
		strlcpy_(key, hash[0] == '!' || hash[0] == '*' || hash[0] == '\0' ?
		    "!" : "des", keysz);
		return;
	}
	for (const char *p = hash; *p; p++)
		if (*p == '$') {
			prev = last;
			last = p;
		}
	/* "$id$salt$hash" / "$id$params$salt$hash": up to the '$' before the
	 * salt; bcrypt "$2b$12$<salt+hash>": up to the last '$' (the cost) */
	end = hash[1] == '2' ? last : prev;
	if (end == NULL || end == hash)
		end = last;
	len = (size_t)(end - hash) + 1;
	if (len >= keysz)
		len = keysz - 1;
	memcpy(key, hash, len);
	key[len] = '\0';
}

/* A password and salt bytes nobody chose: only the cost of the dummy
 * matters, not its secrecy; no system call beyond the clock. */
static void
filler(unsigned char *b, size_t n)
{
	static uint64_t ctr;
	uint64_t x = now_ms() ^ ((uint64_t)getpid() << 32) ^ (++ctr * 0x9e3779b97f4a7c15ull);

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (unsigned char)x;
	}
}

/* crypt(random password, setting), when it gives a usable hash. */
static char *
make_dummy(const char *setting)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	unsigned char r[16];
	char pw[2 * sizeof(r) + 1], *out = NULL;
	const char *h;

	filler(r, sizeof(r));
	for (size_t i = 0; i < sizeof(r); i++)
		(void)snprintf(pw + 2 * i, 3, "%02x", r[i]);
	h = crypt_rn(pw, setting, cd, sizeof(*cd));
	if (h != NULL && h[0] != '*' && h[0] != '\0')
		out = xstrdup(h);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return out;
}

static int
find(const struct pwcost *pc, const char *key)
{
	for (size_t i = 0; i < pc->n; i++)
		if (strcmp(pc->key[i], key) == 0)
			return (int)i;
	return -1;
}

void
pwcost_build(struct pwcost *pc, const char *const *hashes, size_t n)
{
	char key[PWCOST_KEY], tried[PWCOST_MAX_SCHEMES * 4][PWCOST_KEY];
	size_t ntried = 0;

	memset(pc, 0, sizeof(*pc));
	for (size_t i = 0; i < n; i++) {
		char *d;
		int seen = 0;

		if (hashes[i] == NULL)
			continue;
		pwcost_scheme(hashes[i], key, sizeof(key));
		if (strcmp(key, "!") == 0 || find(pc, key) >= 0)
			continue;
		/* a scheme that gave no usable dummy is not tried again */
		for (size_t j = 0; j < ntried && !seen; j++)
			seen = strcmp(tried[j], key) == 0;
		if (seen)
			continue;
		if (pc->n == PWCOST_MAX_SCHEMES) {
			pc->overflow++;
			continue;
		}
		if (ntried < sizeof(tried) / sizeof(tried[0]))
			strlcpy_(tried[ntried++], key, sizeof(tried[0]));
		if ((d = make_dummy(hashes[i])) == NULL)
			continue;
		strlcpy_(pc->key[pc->n], key, sizeof(pc->key[0]));
		pc->dummy[pc->n++] = d;
	}
	if (pc->overflow > 0)
		log_warnx("accounts: more than %d password hash schemes or costs; "
		    "%zu account%s on the others can be told apart by login timing",
		    PWCOST_MAX_SCHEMES, pc->overflow, pc->overflow == 1 ? "" : "s");
	if (pc->n == 0) {
		/* nothing usable (only locked entries, or none): the default */
		char setting[CRYPT_GENSALT_OUTPUT_SIZE];
		unsigned char r[32];

		filler(r, sizeof(r));
		if (crypt_gensalt_rn(NULL, 0, (const char *)r, (int)sizeof(r), setting,
		    (int)sizeof(setting)) != NULL &&
		    (pc->dummy[0] = make_dummy(setting)) != NULL) {
			pwcost_scheme(pc->dummy[0], pc->key[0], sizeof(pc->key[0]));
			pc->n = 1;
		} else
			log_warnx("accounts: cannot make a dummy password hash of the "
			    "default scheme");
	}
}

void
pwcost_free(struct pwcost *pc)
{
	for (size_t i = 0; i < pc->n; i++)
		free(pc->dummy[i]);
	memset(pc, 0, sizeof(*pc));
}

/* crypt(pw, setting): 1 when it equals setting (constant time), 0 when
 * not, -1 when the setting is unusable. */
static int
check_one(const char *setting, const char *pw, struct crypt_data *cd)
{
	const char *h = crypt_rn(pw, setting, cd, sizeof(*cd));
	unsigned char diff = 0;
	size_t len = strlen(setting);

	if (h == NULL || h[0] == '*' || h[0] == '\0')
		return -1;
	if (strlen(h) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)(h[i] ^ setting[i]);
	return diff == 0;
}

int
pwcost_verify(const struct pwcost *pc, const char *hash, const char *pw)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	char key[PWCOST_KEY];
	int ok = 0, own = -1;

	if (hash != NULL) {
		int r = check_one(hash, pw, cd);

		ok = r == 1;
		pwcost_scheme(hash, key, sizeof(key));
		/* an unusable hash (locked, broken) cost next to nothing: it
		 * pays every dummy, like an unknown name */
		if (r != -1)
			own = find(pc, key);
	}
	for (size_t i = 0; i < pc->n; i++)
		if ((int)i != own)
			(void)check_one(pc->dummy[i], pw, cd);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}
