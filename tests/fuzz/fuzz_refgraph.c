/*
 * Fuzz the exportReferencesGraph parser and the closure walk: the input is
 * one graph file; its first path (if any) is the root.  Also feed the
 * bytes to the reference scanner in two pieces.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "refgraph.h"

static void
ignore(void *arg, size_t id)
{
	(void)arg;
	(void)id;
}

static void
scan_bytes(const uint8_t *data, size_t size)
{
	struct refscan *s = refscan_new();

	refscan_add(s, "0123456789abcdfghijklmnpqrsvwxyz", 1);
	refscan_add(s, "zyxwvsrqpnmlkjihgfdcba9876543210", 2);
	refscan_feed(s, data, size / 2);
	refscan_feed(s, data + size / 2, size - size / 2);
	refscan_take(s, ignore, NULL);
	refscan_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct refgraph *g = refgraph_new();
	char *why = NULL, **out = NULL;
	size_t nout = 0;

	if (FUZZ_TRY()) {
		if (refgraph_parse(g, (const char *)data, size, "fuzz", &why) ==
		        0 &&
		    size > 0 && data[0] == '/') {
			const uint8_t *nl = memchr(data, '\n', size);
			char *root = strndup((const char *)data,
			                     nl ? (size_t)(nl - data) : size);
			const char *roots[] = {root};
			if (refgraph_closure(g, roots, 1, &out, &nout, &why) ==
			    0)
				for (size_t i = 0; i < nout; i++)
					free(out[i]);
			free(out);
			free(root);
		}
		scan_bytes(data, size);
	}
	free(why);
	refgraph_free(g);
	return 0;
}
