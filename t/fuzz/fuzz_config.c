/*
 * libFuzzer target for the config parser (master/parse.c).  Any input must
 * parse without a crash or a sanitizer report, and a file the parser
 * accepts must pass the same check the children run on the wire.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "master/parse.h"
#include "privsep/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c;
	static FILE *devnull;
	int n;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	n = conf_parse_buf("fuzz.conf", (const char *)data, size, &c, devnull);
	if (n < 0 || (n == 0 && !conf_wire_ok(&c)))
		abort();
	return 0;
}
