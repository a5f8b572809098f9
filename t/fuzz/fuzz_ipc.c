/* libFuzzer: the IPC frame validator and the typed readers over any bytes. */
#include <stddef.h>
#include <stdint.h>

#include "privsep/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ipc_msg m;
	char s[256];
	const void *p;
	size_t n;
	uint32_t u;
	uint64_t q;

	if (ipc_parse(&m, data, size) == -1)
		return 0;
	m.fd = -1;
	/* walk the payload with a reader chosen by the type's low bits */
	for (int i = 0; i < 64; i++) {
		int r;
		switch ((m.hdr.type + (uint32_t)i) % 4) {
		case 0: r = ipc_get_u32(&m, &u); break;
		case 1: r = ipc_get_u64(&m, &q); break;
		case 2: r = ipc_get_str(&m, s, sizeof(s)); break;
		default: r = ipc_get_bytes(&m, &p, &n); break;
		}
		if (r == -1)
			break;
	}
	(void)ipc_end(&m);
	return 0;
}
