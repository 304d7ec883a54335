/*
 * Building blocks shared by the resource handlers (loops, songs, sync):
 * the opaque paging cursor, query names and entity tags.  All pure.
 * The typed reads of JSON members are base/json.h's.
 */
#ifndef MP_MODEL_H
#define MP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "base/json.h"
#include "fcgi/http.h"
#include "base/settings.h"

/*
 * An opaque keyset cursor: the sort key of the last row (an integer,
 * e.g. a count or microseconds since the epoch), its id, and a hash of
 * the list's filters, signed so a client can neither forge nor reuse
 * it on another list.
 */
struct page_cursor {
	int64_t		 key;
	char		 id[37];
	uint64_t	 filter;
};

char		*cursor_encode(const struct config *, const char *purpose,
		    const struct page_cursor *);
int		 cursor_decode(const struct config *, const char *purpose,
		    const char *text, struct page_cursor *);
uint64_t	 cursor_filter_hash(const char *);
int		 page_limit(const char *query, int def, int max, int *limit);
size_t		 query_check_names(const char *query,
		    const char *const *known, const char *const *more,
		    struct field_errors *);

/* Entity tags: strong, "v<version>". */
#define ETAG_MAX	32
#define ETAG_LIST_MAX	16

void		 etag_format(char *, size_t, long long version);
int		 etag_parse_list(const char *header, long long *versions,
		    size_t max, size_t *n, int *any);
int		 etag_none_match(const char *header, long long version);

#endif
