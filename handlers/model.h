/*
 * Building blocks shared by the resource handlers (loops, songs, sync):
 * typed reads of JSON members with range checks that record field
 * errors, the opaque paging cursor, and entity tags.  All pure.
 */
#ifndef MP_MODEL_H
#define MP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "fcgi/http.h"
#include "fcgi/settings.h"

/* What a typed member read found. */
enum jv_result {
	JV_ABSENT,		/* member missing (or null when nullable) */
	JV_OK,			/* present and valid: *out set */
	JV_BAD			/* present and invalid: an error was recorded */
};

size_t		 jv_utf8_length(const char *, size_t);
int		 jv_utf8_is_valid(const char *, size_t);
enum jv_result	 jv_string(json_object *, const char *key, const char *path,
		    size_t minchars, size_t maxchars, struct field_errors *,
		    const char **out);
enum jv_result	 jv_int(json_object *, const char *key, const char *path,
		    long long min, long long max, struct field_errors *,
		    long long *out);
enum jv_result	 jv_integer(json_object *, const char *key, const char *path,
		    long long min, long long max, struct field_errors *,
		    long long *out);
enum jv_result	 jv_number(json_object *, const char *key, const char *path,
		    double min, double max, struct field_errors *,
		    json_object **out);
enum jv_result	 jv_bool(json_object *, const char *key, const char *path,
		    struct field_errors *, int *out);
enum jv_result	 jv_array(json_object *, const char *key, const char *path,
		    size_t maxlen, struct field_errors *, json_object **out);
int		 jv_is_hex_color(const char *);
char		*jv_serialize(json_object *);

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
