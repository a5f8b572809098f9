/* Role names: see proc.h. */
#include <string.h>

#include "proc.h"

static const char *const role_names[ROLE_MAX] = {
	[ROLE_MASTER] = "master",
	[ROLE_STORE] = "store",
	[ROLE_SMTP] = "smtp",
	[ROLE_POP3] = "pop3",
	[ROLE_KEYHOLDER] = "keyholder",
	[ROLE_CONTROL] = "control",
	[ROLE_AUTH] = "auth",
	[ROLE_IMAP] = "imap",
};

const char *
role_name(enum role r)
{
	return (r >= 0 && r < ROLE_MAX) ? role_names[r] : "?";
}

int
role_from_name(const char *name)
{
	for (int r = 0; r < ROLE_MAX; r++)
		if (strcmp(role_names[r], name) == 0)
			return r;
	return -1;
}
