/*
 * libFuzzer target for the POP3 command parser: the command line, the
 * numbers in it, and the AUTH PLAIN response (base64, then SASL PLAIN).
 * The input is one command line as the session would pass it (without the
 * line ending); inputs longer than the line limit exercise P3E_LINELONG.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "workers/pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pop3_cmd cmd;
	unsigned char dec[P3_SASL_LINE];
	char user[LIM_NAME + 1], pass[LIM_PASSWORD];
	uint32_t v;
	long n;

	if (pop3_parse_line((const char *)data, size, &cmd) == P3E_OK) {
		for (int i = 0; i < cmd.nargs; i++) {
			if (strlen(cmd.arg[i]) >= sizeof(cmd.arg[i]))
				__builtin_trap();
			if (pop3_parse_num(cmd.arg[i], 0, UINT32_MAX, &v) == 0 &&
			    (cmd.arg[i][0] < '0' || cmd.arg[i][0] > '9'))
				__builtin_trap();
		}
		if (cmd.verb == P3_AUTH && cmd.nargs == 2) {
			n = pop3_b64_decode(cmd.arg[1], strlen(cmd.arg[1]),
			    dec, sizeof(dec));
			if (n >= 0)
				(void)pop3_sasl_plain(dec, (size_t)n, user, pass);
		}
	}
	/* the raw input as a continuation line and as a PLAIN message */
	if (size < P3_SASL_LINE) {
		n = pop3_b64_decode((const char *)data, size, dec, sizeof(dec));
		if (n > (long)sizeof(dec))
			__builtin_trap();
		if (pop3_sasl_plain(data, size, user, pass) == 0 &&
		    (strlen(user) == 0 || strlen(user) > LIM_NAME))
			__builtin_trap();
	}
	return 0;
}
