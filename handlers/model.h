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

/*
 * The text of a JSON number read as an exact decimal: the value is 0
 * when nsig is 0, else (-1)^neg x 0.d1d2...dn x 10^(lead + 1), where
 * d1...dn are its significant digits (no leading or trailing zeros;
 * head holds the first JV_DECIMAL_HEAD of them).  scale is the number
 * of digits after the point once the exponent is applied, as
 * PostgreSQL's numeric counts them (trailing zeros included), and exp
 * the exponent as written (saturated far beyond any limit).
 */
#define JV_DECIMAL_HEAD		20
#define JV_EXP_SATURATED	1000000000000000LL
#define JV_NUMERIC_EXP_LIMIT	1073741823LL	/* INT_MAX / 2 */
#define JV_NUMERIC_SCALE_MAX	16383		/* NUMERIC_DSCALE_MAX */

struct jv_decimal {
	int		 neg;
	size_t		 nsig;
	char		 head[JV_DECIMAL_HEAD + 1];
	long long	 lead;
	long long	 scale;
	long long	 exp;
};

int		 jv_decimal_read(const char *text, struct jv_decimal *d);
int		 jv_decimal_fits_numeric(const struct jv_decimal *d);
int		 jv_decimal_is_integer(const struct jv_decimal *d);
int		 jv_decimal_cmp(const struct jv_decimal *d, long long n);

/* What a typed member read found. */
enum jv_result {
	JV_ABSENT,		/* member missing (or null when nullable) */
	JV_OK,			/* present and valid: *out set */
	JV_BAD			/* present and invalid: an error was recorded */
};

size_t		 jv_utf8_length(const char *s, size_t len);
int		 jv_utf8_is_valid(const char *s, size_t len);
enum jv_result	 jv_string(json_object *obj, const char *key, const char *path,
		    size_t minchars, size_t maxchars, struct field_errors *fe,
		    const char **out);
enum jv_result	 jv_int_literal(json_object *obj, const char *key,
		    const char *path, long long min, long long max,
		    struct field_errors *fe, long long *out);
enum jv_result	 jv_int_value(json_object *obj, const char *key,
		    const char *path, long long min, long long max,
		    struct field_errors *fe, long long *out);
enum jv_result	 jv_number(json_object *obj, const char *key, const char *path,
		    long long min, long long max, int maxscale,
		    struct field_errors *fe, json_object **out);
enum jv_result	 jv_bool(json_object *obj, const char *key, const char *path,
		    struct field_errors *fe, int *out);
enum jv_result	 jv_array(json_object *obj, const char *key, const char *path,
		    size_t maxlen, struct field_errors *fe, json_object **out);
int		 jv_is_hex_color(const char *s);
char		*jv_serialize(json_object *obj);

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

char		*cursor_encode(const struct config *cfg, const char *purpose,
		    const struct page_cursor *cur);
int		 cursor_decode(const struct config *cfg, const char *purpose,
		    const char *text, struct page_cursor *cur);
uint64_t	 cursor_filter_hash(const char *filters);
int		 page_limit(const char *query, int def, int max, int *limit);
size_t		 query_check_names(const char *query,
		    const char *const *known, const char *const *more,
		    struct field_errors *fe);

/* Keys derived from the token secret, one per purpose. */
#define SECRET_KEY_LEN	32

void		 secret_key(const struct config *cfg, const char *purpose,
		    unsigned char key[SECRET_KEY_LEN]);

/* Entity tags: strong, "v<version>". */
#define ETAG_MAX	32

void		 etag_format(char *out, size_t outsz, long long version);
int		 etag_parse_list(const char *header, long long **versions,
		    size_t *n, int *any);
int		 etag_none_match(const char *header, long long version);

#endif
