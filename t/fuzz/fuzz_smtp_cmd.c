/*
 * libFuzzer target: the SMTP command-line parsers (workers/smtp_parse.c).
 * The input is one command line (cut at LIM_SMTP_CMDLINE, NUL-terminated
 * where the session would void it); every parser that could see it runs.
 */
#include <stdint.h>
#include <string.h>

#include "workers/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[LIM_SMTP_CMDLINE + 1], copy[LIM_SMTP_CMDLINE + 1];
	struct smtp_addr a;
	struct smtp_mail_params mp;
	enum smtp_verb v;
	char *arg = NULL, *params = NULL;
	const char *end;
	size_t n = size < LIM_SMTP_CMDLINE ? size : LIM_SMTP_CMDLINE;

	memcpy(line, data, n);
	line[n] = '\0';     /* a NUL inside voids the command in the session */
	n = strlen(line);
	memcpy(copy, line, n + 1);

	v = smtp_parse_verb(line, &arg);
	if (v == V_NONE)
		arg = line;
	(void)smtp_verb_name(v);
	(void)smtp_parse_helo_arg(arg);
	(void)smtp_parse_vrfy_arg(arg, &a);
	if (smtp_parse_path(arg, PATH_NULL_OK | PATH_POSTMASTER_OK, &a, &end) == SP_OK) {
		/* the results are bounded and terminated */
		if (strlen(a.local) > LIM_LOCAL || strlen(a.domain) > LIM_DOMAIN ||
		    strlen(a.text) > LIM_PATH)
			__builtin_trap();
		if (strpbrk(a.text, "`|$\r\n") != NULL)
			__builtin_trap();
	}
	memcpy(line, copy, n + 1);
	if (smtp_parse_path_arg(line + (n > 4 ? 5 : 0), "FROM:", PATH_NULL_OK, &a,
	    &params) == SP_OK) {
		(void)smtp_parse_mail_params(params, true, &mp);
	}
	memcpy(line, copy, n + 1);
	if (smtp_parse_path_arg(line + (n > 4 ? 5 : 0), "TO:", PATH_POSTMASTER_OK, &a,
	    &params) == SP_OK)
		(void)smtp_parse_rcpt_params(params, true);
	memcpy(line, copy, n + 1);
	(void)smtp_parse_mail_params(line, true, &mp);
	memcpy(line, copy, n + 1);
	(void)smtp_parse_mail_params(line, false, &mp);
	(void)smtp_utf8_valid((const unsigned char *)copy, n);
	return 0;
}
