#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "handlers/model.h"

/*
 * 1 if s[0..len) is well-formed UTF-8 (RFC 3629): no overlong forms
 * (so no C0 80 standing in for NUL), no surrogates, nothing above
 * U+10FFFF.  json-c's own check lets all three through.
 */
int
jv_utf8_is_valid(const char *str, size_t len)
{
	const unsigned char	*s = (const unsigned char *)str;
	unsigned		 cp, min;
	size_t			 i = 0, n, k;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Code points in s[0..n) (s is valid UTF-8: the parser checked it). */
size_t
jv_utf8_length(const char *s, size_t n)
{
	size_t	 i, k = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			k++;
	return k;
}

/*
 * Read string member key of o (path names it in errors): a string of
 * minchars..maxchars code points with no NUL.  null counts as absent
 * only for optional members; the caller decides what absent means.
 */
enum jv_result
jv_string(json_object *o, const char *key, const char *path, size_t minchars,
    size_t maxchars, struct field_errors *fe, const char **out)
{
	json_object	*v;
	const char	*s;
	size_t		 len, chars;
	char		 msg[96];

	if (!json_object_object_get_ex(o, key, &v))
		return JV_ABSENT;
	if (!json_object_is_type(v, json_type_string)) {
		field_errors_add(fe, path, "must be a string");
		return JV_BAD;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len) {
		field_errors_add(fe, path, "must not contain NUL characters");
		return JV_BAD;
	}
	if (!jv_utf8_is_valid(s, len)) {
		field_errors_add(fe, path, "must be valid UTF-8");
		return JV_BAD;
	}
	chars = jv_utf8_length(s, len);
	if (chars < minchars || chars > maxchars) {
		snprintf(msg, sizeof(msg), "must be %zu-%zu characters",
		    minchars, maxchars);
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	*out = s;
	return JV_OK;
}

/*
 * Read an integer member in [min, max], by its spelling: only JSON
 * integer literals count (4.0, "4" and 4.5 are refused): json-c would
 * coerce them silently.
 */
enum jv_result
jv_int_literal(json_object *o, const char *key, const char *path,
    long long min, long long max, struct field_errors *fe, long long *out)
{
	json_object	*v;
	long long	 n;
	char		 msg[96];

	if (!json_object_object_get_ex(o, key, &v))
		return JV_ABSENT;
	snprintf(msg, sizeof(msg), "must be an integer %lld-%lld", min, max);
	if (!json_object_is_type(v, json_type_int)) {
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	errno = 0;
	n = json_object_get_int64(v);
	if (errno != 0 || n < min || n > max || n == INT64_MAX ||
	    n == INT64_MIN) {
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	*out = n;
	return JV_OK;
}

/*
 * Read the text of a JSON number (the grammar of RFC 8259, which the
 * body parser has checked) as an exact decimal.  Returns 0, or -1 when
 * text is not such a number.  Never rounds: 1e-20000 is not 0, and
 * 120.0000000000000001 is not 120.
 */
int
jv_decimal_read(const char *text, struct jv_decimal *d)
{
	const char	*p = text, *first = NULL, *last = NULL;
	long long	 intdigits = 0, fracdigits = 0, pos = 0, exp = 0;
	long long	 fpos = 0, lpos = 0;
	int		 eneg = 0, frac = 0;

	memset(d, 0, sizeof(*d));
	if (*p == '-') {
		d->neg = 1;
		p++;
	}
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p) || (*p == '.' && !frac); p++) {
		if (*p == '.') {
			frac = 1;
			if (!isdigit((unsigned char)p[1]))
				return -1;
			continue;
		}
		if (*p != '0') {
			if (first == NULL) {
				first = p;
				fpos = pos;
			}
			last = p;
			lpos = pos;
		}
		if (frac)
			fracdigits++;
		else
			intdigits++;
		pos++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			eneg = *p++ == '-';
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++)
			if (exp < JV_EXP_SATURATED)
				exp = exp * 10 + (*p - '0');
		if (eneg)
			exp = -exp;
	}
	if (*p != '\0')
		return -1;
	d->exp = exp;
	d->scale = fracdigits - exp > 0 ? fracdigits - exp : 0;
	if (first == NULL)
		return 0;
	d->nsig = (size_t)(lpos - fpos + 1);
	d->lead = intdigits - 1 - fpos + exp;
	for (pos = 0; first <= last && pos < JV_DECIMAL_HEAD; first++)
		if (*first != '.')
			d->head[pos++] = *first;
	return 0;
}

/*
 * 1 when PostgreSQL 15's numeric input (what a jsonb cast uses) takes
 * the number d was read from: an exponent of magnitude below
 * INT_MAX / 2, a display scale (digits after the point, the exponent
 * applied) of at most 16383, and, unless the value is 0, a weight in
 * base 10000 that fits in int16 -- at most 131072 digits before the
 * point.  (numeric.c: set_var_from_str and make_result.)
 */
int
jv_decimal_fits_numeric(const struct jv_decimal *d)
{
	long long	 w;

	if (d->exp >= JV_NUMERIC_EXP_LIMIT || d->exp <= -JV_NUMERIC_EXP_LIMIT)
		return 0;
	if (d->scale > JV_NUMERIC_SCALE_MAX)
		return 0;
	if (d->nsig == 0)
		return 1;
	w = d->lead >= 0 ? d->lead / 4 : -((-d->lead + 3) / 4);
	return w >= -32768 && w <= 32767;
}

/* 1 when d is an integer (no significant digit after the point). */
int
jv_decimal_is_integer(const struct jv_decimal *d)
{
	return d->nsig == 0 || d->lead - (long long)d->nsig + 1 >= 0;
}

/* The sign of d compared with b: -1, 0 or 1. */
int
jv_decimal_cmp(const struct jv_decimal *d, long long b)
{
	unsigned long long mag;
	char		 bd[24];
	size_t		 n, i;
	int		 sd, sb, c = 0;

	sd = d->nsig == 0 ? 0 : d->neg ? -1 : 1;
	sb = b < 0 ? -1 : b > 0;
	if (sd != sb)
		return sd < sb ? -1 : 1;
	if (sd == 0)
		return 0;
	mag = b < 0 ? (unsigned long long)(-(b + 1)) + 1 :
	    (unsigned long long)b;
	n = (size_t)snprintf(bd, sizeof(bd), "%llu", mag);
	if (d->lead != (long long)n - 1)
		c = d->lead < (long long)n - 1 ? -1 : 1;
	for (i = 0; c == 0 && i < n; i++) {
		char	 dc = i < d->nsig ? d->head[i] : '0';

		if (dc != bd[i])
			c = dc < bd[i] ? -1 : 1;
	}
	if (c == 0 && d->nsig > n)
		c = 1;
	return sd > 0 ? c : -c;
}

/* The decimal that number member v holds; -1 when v is no number. */
static int
decimal_of(json_object *v, struct jv_decimal *d)
{
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return -1;
	/* A parsed double serialises as the text it came with. */
	return jv_decimal_read(json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN), d);
}

static void
out_of_numeric(struct field_errors *fe, const char *path)
{
	field_errors_add(fe, path, "must be a number PostgreSQL can store "
	    "(at most 131072 digits before the decimal point and 16383 "
	    "after it)");
}

/*
 * Like jv_int_literal, but by the JSON value rather than its spelling: a
 * number with no fractional part counts as the integer it equals
 * (100, 1e2 and 100.0 all read 100; 60.5 and 100.0000000000000001 do
 * not), as JSON Schema's "integer" and JavaScript clients see it.
 * The value is read exactly from its text, never through a double,
 * and text PostgreSQL's numeric cannot read is refused as such
 * (jv_decimal_fits_numeric).  Strings never count.
 */
enum jv_result
jv_int_value(json_object *o, const char *key, const char *path, long long min,
    long long max, struct field_errors *fe, long long *out)
{
	struct jv_decimal d;
	json_object	*v;
	unsigned long long n = 0;
	long long	 i;
	char		 msg[96];

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_double))
		return jv_int_literal(o, key, path, min, max, fe, out);
	if (decimal_of(v, &d) != 0 || !jv_decimal_fits_numeric(&d)) {
		out_of_numeric(fe, path);
		return JV_BAD;
	}
	if (!jv_decimal_is_integer(&d) || jv_decimal_cmp(&d, min) < 0 ||
	    jv_decimal_cmp(&d, max) > 0) {
		snprintf(msg, sizeof(msg), "must be an integer %lld-%lld", min,
		    max);
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	/* In [min, max]: at most 19 digits, all of them in head. */
	for (i = 0; i < (long long)d.nsig; i++)
		n = n * 10 + (unsigned long long)(d.head[i] - '0');
	for (; i <= d.lead; i++)
		n *= 10;
	*out = d.neg && n > 0 ? -(long long)(n - 1) - 1 : (long long)n;
	return JV_OK;
}

/*
 * Read a number member (integer or decimal) in [min, max], judged
 * exactly on its text, with at most maxscale digits after the decimal
 * point as PostgreSQL stores it (0.5e-3 has 4).  *out borrows the
 * member itself, so its original text survives re-serialisation
 * (0.123 stays 0.123).
 */
enum jv_result
jv_number(json_object *o, const char *key, const char *path, long long min,
    long long max, int maxscale, struct field_errors *fe, json_object **out)
{
	struct jv_decimal d;
	json_object	*v;
	char		 msg[96];

	if (!json_object_object_get_ex(o, key, &v))
		return JV_ABSENT;
	snprintf(msg, sizeof(msg), "must be a number %lld-%lld", min, max);
	if (decimal_of(v, &d) != 0) {
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	if (!jv_decimal_fits_numeric(&d)) {
		out_of_numeric(fe, path);
		return JV_BAD;
	}
	if (jv_decimal_cmp(&d, min) < 0 || jv_decimal_cmp(&d, max) > 0) {
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	if (d.scale > maxscale) {
		snprintf(msg, sizeof(msg), "must have at most %d digits after "
		    "the decimal point", maxscale);
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	*out = v;
	return JV_OK;
}

enum jv_result
jv_bool(json_object *o, const char *key, const char *path,
    struct field_errors *fe, int *out)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, key, &v))
		return JV_ABSENT;
	if (!json_object_is_type(v, json_type_boolean)) {
		field_errors_add(fe, path, "must be true or false");
		return JV_BAD;
	}
	*out = json_object_get_boolean(v);
	return JV_OK;
}

/* Read an array member of at most maxlen elements (borrowed). */
enum jv_result
jv_array(json_object *o, const char *key, const char *path, size_t maxlen,
    struct field_errors *fe, json_object **out)
{
	json_object	*v;
	char		 msg[96];

	if (!json_object_object_get_ex(o, key, &v))
		return JV_ABSENT;
	if (!json_object_is_type(v, json_type_array)) {
		field_errors_add(fe, path, "must be an array");
		return JV_BAD;
	}
	if (json_object_array_length(v) > maxlen) {
		snprintf(msg, sizeof(msg), "must have at most %zu elements",
		    maxlen);
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	*out = v;
	return JV_OK;
}

/* 1 for "#RRGGBB" (hex digits of either case). */
int
jv_is_hex_color(const char *s)
{
	int	 i;

	if (s == NULL || s[0] != '#')
		return 0;
	for (i = 1; i < 7; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[7] == '\0';
}

/* Compact JSON text of o; the caller frees it. */
char *
jv_serialize(json_object *o)
{
	return xstrdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Cursor wire form: version, key, id, filter, then a 16-byte MAC. */
#define CURSOR_VERSION	1
#define CURSOR_BODY	(1 + 8 + 16 + 8)
#define CURSOR_MAC	16
#define CURSOR_RAW	(CURSOR_BODY + CURSOR_MAC)

/*
 * The key of one use of the token secret (cursors, Idempotency-Key
 * fingerprints, sealed answers): BLAKE2b of purpose, its NUL, then the
 * secret.  Every use derives its key this one way, under a purpose of
 * its own.
 */
void
secret_key(const struct config *cfg, const char *purpose,
    unsigned char key[SECRET_KEY_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, SECRET_KEY_LEN);
	crypto_generichash_update(&st, (const unsigned char *)purpose,
	    strlen(purpose) + 1);
	crypto_generichash_update(&st, cfg->jwt_secret, cfg->jwt_secret_len);
	crypto_generichash_final(&st, key, SECRET_KEY_LEN);
}

static void
cursor_mac(const struct config *cfg, const char *purpose,
    const unsigned char *body, unsigned char *mac)
{
	crypto_generichash_state st;
	unsigned char		 key[SECRET_KEY_LEN];

	/* v2: the key derivation every use of the secret shares. */
	secret_key(cfg, "mpapi cursor v2", key);
	crypto_generichash_init(&st, key, sizeof(key), CURSOR_MAC);
	crypto_generichash_update(&st, (const unsigned char *)purpose,
	    strlen(purpose) + 1);
	crypto_generichash_update(&st, body, CURSOR_BODY);
	crypto_generichash_final(&st, mac, CURSOR_MAC);
	sodium_memzero(key, sizeof(key));
}

static void
put64(unsigned char *p, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	int	 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Encode c for the list named by purpose ("loops:new").  Returns a
 * URL-safe string the caller frees, or NULL for a malformed id.
 */
char *
cursor_encode(const struct config *cfg, const char *purpose,
    const struct page_cursor *c)
{
	unsigned char	 raw[CURSOR_RAW];
	char		 hex[33], *out;
	size_t		 i, j, outsz;

	for (i = j = 0; c->id[i] != '\0' && j < 32; i++)
		if (c->id[i] != '-')
			hex[j++] = c->id[i];
	hex[j] = '\0';
	raw[0] = CURSOR_VERSION;
	put64(raw + 1, (uint64_t)c->key);
	if (j != 32 || sodium_hex2bin(raw + 9, 16, hex, 32, NULL, NULL,
	    NULL) != 0)
		return NULL;
	put64(raw + 25, c->filter);
	cursor_mac(cfg, purpose, raw, raw + CURSOR_BODY);
	outsz = sodium_base64_ENCODED_LEN(CURSOR_RAW,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	out = xmalloc(outsz);
	sodium_bin2base64(out, outsz, raw, CURSOR_RAW,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/*
 * Decode and authenticate text for purpose.  Returns 0 and fills c, or
 * -1 for anything garbled, forged or made for another list.
 */
int
cursor_decode(const struct config *cfg, const char *purpose, const char *text,
    struct page_cursor *c)
{
	unsigned char	 raw[CURSOR_RAW], mac[CURSOR_MAC];
	size_t		 len;
	char		 hex[33];

	if (text == NULL || strlen(text) > 2 * CURSOR_RAW)
		return -1;
	if (sodium_base642bin(raw, sizeof(raw), text, strlen(text), NULL,
	    &len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len != CURSOR_RAW || raw[0] != CURSOR_VERSION)
		return -1;
	cursor_mac(cfg, purpose, raw, mac);
	if (sodium_memcmp(mac, raw + CURSOR_BODY, CURSOR_MAC) != 0)
		return -1;
	c->key = (int64_t)get64(raw + 1);
	sodium_bin2hex(hex, sizeof(hex), raw + 9, 16);
	snprintf(c->id, sizeof(c->id), "%.8s-%.4s-%.4s-%.4s-%.12s", hex,
	    hex + 8, hex + 12, hex + 16, hex + 20);
	c->filter = get64(raw + 25);
	return 0;
}

/* A 64-bit hash of a list's normalised filter string. */
uint64_t
cursor_filter_hash(const char *s)
{
	unsigned char	 h[8];

	crypto_generichash(h, sizeof(h), (const unsigned char *)s, strlen(s),
	    NULL, 0);
	return get64(h);
}

/*
 * The limit query parameter: absent → def; otherwise digits only, in
 * 1..max.  Returns 0, or -1 for a bad value (answer 400 naming it).
 */
int
page_limit(const char *query, int def, int max, int *limit)
{
	char	*v, *end;
	long	 n;
	int	 r;

	*limit = def;
	if ((r = http_query_get(query, "limit", &v)) == 0)
		return 0;
	if (r < 0)
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	r = (*v == '\0' || *end != '\0' || !isdigit((unsigned char)*v) ||
	    errno != 0 || n < 1 || n > max) ? -1 : 0;
	free(v);
	if (r == 0)
		*limit = (int)n;
	return r;
}

/*
 * Record in fe one error for every parameter of query (raw, as the
 * request has it) whose name is in neither known nor more (each a
 * NULL-terminated list; more may be NULL), so that a misspelt filter
 * is a 400 rather than a list that silently ignores it.  A name is
 * compared as sent (as http_query_get does) and reported with bytes
 * other than printable ASCII replaced by '?', cut to 64 characters.
 * Empty segments ("a=1&&b=2") are no parameters.  Returns the number
 * of unknown parameters.
 */
size_t
query_check_names(const char *query, const char *const *known,
    const char *const *more, struct field_errors *fe)
{
	const char	*p, *amp;
	const char *const *k;
	char		 name[65];
	size_t		 n, klen, i, bad = 0;
	int		 found;

	for (p = query; p != NULL && *p != '\0'; p = amp ? amp + 1 : NULL) {
		amp = strchr(p, '&');
		n = amp ? (size_t)(amp - p) : strlen(p);
		if (n == 0)
			continue;
		klen = strcspn(p, "=&");
		if (klen > n)
			klen = n;
		found = 0;
		for (k = known; !found && k != NULL && *k != NULL; k++)
			found = strlen(*k) == klen && strncmp(*k, p, klen) == 0;
		for (k = more; !found && k != NULL && *k != NULL; k++)
			found = strlen(*k) == klen && strncmp(*k, p, klen) == 0;
		if (found)
			continue;
		for (i = 0; i < klen && i < sizeof(name) - 1; i++)
			name[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
		name[i] = '\0';
		field_errors_add(fe, name, "is not a parameter of this list");
		bad++;
	}
	return bad;
}

void
etag_format(char *out, size_t sz, long long version)
{
	snprintf(out, sz, "\"v%lld\"", version);
}

/*
 * Parse an If-Match / If-None-Match list: "*", or strong tags
 * "v<version>" separated by commas.  Weak tags (W/"...") and tags not
 * of our form are skipped: they can never match strongly.  Returns 0
 * with *any for "*" and every version listed in *versions (*n of
 * them; the array grows with the list, the caller frees it, NULL when
 * none), or -1 when the header is malformed (*versions NULL).
 */
int
etag_parse_list(const char *h, long long **versions, size_t *n, int *any)
{
	const char	*p = h, *q;
	char		*end;
	long long	 v, *vs = NULL;
	size_t		 cap = 0;
	int		 weak;

	*n = 0;
	*any = 0;
	*versions = NULL;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '*') {
			*any = 1;
			p++;
			continue;
		}
		weak = 0;
		if (p[0] == 'W' && p[1] == '/') {
			weak = 1;
			p += 2;
		}
		if (*p != '"' || (q = strchr(p + 1, '"')) == NULL) {
			free(vs);
			*n = 0;
			return -1;
		}
		if (!weak && p[1] == 'v' && isdigit((unsigned char)p[2])) {
			errno = 0;
			v = strtoll(p + 2, &end, 10);
			if (end == q && errno == 0) {
				if (*n == cap) {
					cap = cap == 0 ? 8 : cap * 2;
					vs = xrealloc(vs, cap * sizeof(*vs));
				}
				vs[(*n)++] = v;
			}
		}
		p = q + 1;
	}
	*versions = vs;
	return 0;
}

/*
 * If-None-Match for a GET: 1 when it matches the current version
 * (answer 304), by weak comparison as RFC 9110 says.
 */
int
etag_none_match(const char *h, long long version)
{
	char	*copy, *p;
	size_t	 i, n;
	long long *vs;
	int	 any, r = 0;

	if (h == NULL)
		return 0;
	copy = xstrdup(h);
	/* Weak comparison: drop every W/ before parsing. */
	for (p = copy; (p = strstr(p, "W/\"")) != NULL; )
		memmove(p, p + 2, strlen(p + 2) + 1);
	if (etag_parse_list(copy, &vs, &n, &any) == 0) {
		if (any)
			r = 1;
		for (i = 0; i < n; i++)
			if (vs[i] == version)
				r = 1;
		free(vs);
	}
	free(copy);
	return r;
}
