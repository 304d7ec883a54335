/*
 * Entity-tag lists (If-Match on PUT/PATCH/DELETE, If-None-Match on GET
 * and PUT): etag_parse_list, etag_none_match.  Properties: never more
 * versions than the room given; a list that parses is matched by
 * etag_none_match for each version it names (weak comparison); the tag
 * we format for a version parses back to exactly that version.
 */
#include <limits.h>

#include "fuzzlib.h"
#include "handlers/model.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long long	 vs[ETAG_LIST_MAX], v1;
	char		*h, tag[ETAG_MAX];
	size_t		 n, i;
	int		 any;

	if (size > 16 * 1024)
		return 0;
	h = fuzz_str(data, size);
	if (etag_parse_list(h, vs, ETAG_LIST_MAX, &n, &any) == 0) {
		FUZZ_CHECK(n <= ETAG_LIST_MAX, "%zu versions", n);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(etag_none_match(h, vs[i]), "v%lld listed "
			    "but not matched", vs[i]);
		if (any)
			FUZZ_CHECK(etag_none_match(h, 12345), "* not matched");
	}
	(void)etag_none_match(h, 1);
	free(h);
	/* Our own tags, for a version taken from the input. */
	v1 = 0;
	memcpy(&v1, data, size < sizeof(v1) ? size : sizeof(v1));
	if (v1 < 0)
		v1 = v1 == LLONG_MIN ? 0 : -v1;
	etag_format(tag, sizeof(tag), v1);
	FUZZ_CHECK(etag_parse_list(tag, vs, 1, &n, &any) == 0 && n == 1 &&
	    vs[0] == v1 && !any, "%s does not parse back", tag);
	FUZZ_CHECK(etag_none_match(tag, v1), "%s does not match", tag);
	return 0;
}
