/*
 * SEARCH cost on a big folder: compiles and matches searches over N
 * generated messages of about 4 KiB each, all in memory (the store's part,
 * fetching, is not measured).  Prints the time of each search and the
 * peak resident memory before and after.
 * usage: search_bench [N]   (default 10000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "privsep/msg.h"
#include "privsep/params.h"
#include "workers/imap_parse.h"
#include "workers/imap_search.h"

static long
peak_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char *const words[] = {
	"meeting", "report", "quarterly", "invoice", "lunch", "project",
	"deadline", "review", "budget", "schedule", "customer", "release",
	"draft", "proposal", "thanks", "regards", "tomorrow", "update",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static size_t
gen(char *out, size_t cap, uint32_t i, unsigned *seed)
{
	size_t o = (size_t)snprintf(out, cap,
	    "From: Sender %u <sender%u@example.org>\n"
	    "To: Reader <reader@example.org>\n"
	    "Subject: %s %s %u\n"
	    "Date: Thu, %u Dec 2026 10:00:00 +0000\n"
	    "Message-ID: <%u@example.org>\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "\n", i % 97, i % 97, words[i % NWORDS], words[(i / 3) % NWORDS], i,
	    1 + i % 28, i);

	while (o + 80 < cap && o < 4096 - 80) {
		size_t col = 0;

		while (col < 70) {
			const char *w = words[(unsigned)rand_r(seed) % NWORDS];
			size_t n = strlen(w);

			memcpy(out + o, w, n);
			out[o + n] = ' ';
			o += n + 1;
			col += n + 1;
		}
		out[o++] = '\n';
	}
	return o;
}

static void
run(struct imap_cmd *c, const char *keys, struct sc_view *v, char **msg,
    size_t *len)
{
	char line[512];
	struct imap_search *s;
	const char *code, *why;
	size_t n = (size_t)snprintf(line, sizeof(line), "a SEARCH %s\r\n", keys);
	uint32_t hits = 0, fetched = 0;
	long rss0 = peak_kib();
	double t0 = now();

	imap_cmd_reset(c, sizeof(line));
	if (imap_cmd_line(c, line, n) != IMAP_DONE ||
	    imap_search_compile(c, &s, &code, &why) < 0) {
		fprintf(stderr, "%s: does not compile\n", keys);
		exit(1);
	}
	for (uint32_t i = 0; i < v->n; i++) {
		int r = imap_search_match(s, i + 1, v->n, &v->m[i], v, NULL, 0);

		if (r < 0) {
			fetched++;
			r = imap_search_match(s, i + 1, v->n, &v->m[i], v,
			    (const unsigned char *)msg[i], len[i]);
		}
		hits += (uint32_t)r;
	}
	imap_search_free(s);
	printf("SEARCH %-28s %u messages, %u read, %u match: %.3f s, "
	    "peak RSS %ld -> %ld KiB\n", keys, v->n, fetched, hits, now() - t0,
	    rss0, peak_kib());
}

int
main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 10000;
	struct sc_view v = { 0 };
	char **msg = calloc(n, sizeof(*msg));
	size_t *len = calloc(n, sizeof(*len)), total = 0;
	unsigned seed = 1;
	struct imap_cmd *c = imap_cmd_new();

	v.n = n;
	v.m = calloc(n, sizeof(*v.m));
	for (uint32_t i = 0; i < n; i++) {
		msg[i] = malloc(4096 + 256);
		len[i] = gen(msg[i], 4096 + 256, i, &seed);
		total += len[i];
		v.m[i].uid = i + 1;
		v.m[i].flags = i % 10 == 0 ? 0 : VF_SEEN;
		v.m[i].size = len[i];
		v.m[i].date = 1796169599ull + (i % 30) * 86400ull;
	}
	printf("%u messages, %zu bytes; peak RSS %ld KiB before searching\n",
	    n, total, peak_kib());
	run(c, "UNSEEN", &v, msg, len);
	run(c, "TEXT foo", &v, msg, len);
	run(c, "TEXT deadline", &v, msg, len);
	run(c, "BODY \"regards tomorrow\"", &v, msg, len);
	run(c, "SUBJECT invoice", &v, msg, len);
	run(c, "UNSEEN TEXT foo", &v, msg, len);
	run(c, "OR FROM sender5 SENTSINCE 20-Dec-2026", &v, msg, len);
	for (uint32_t i = 0; i < n; i++)
		free(msg[i]);
	free(msg);
	free(len);
	free(v.m);
	imap_cmd_free(c);
	return 0;
}
