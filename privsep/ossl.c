/* OpenSSL's error queue as text: see ossl.h. */
#include <openssl/err.h>

#include "ossl.h"
#include "util.h"

const char *
ossl_reason(void)
{
	static char buf[160];
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		strlcpy_(buf, "unknown OpenSSL error", sizeof(buf));
	else
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}
