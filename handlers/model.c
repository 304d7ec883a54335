#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "handlers/model.h"

/* Cursor wire form: version, key, id, filter, then a 16-byte MAC. */
#define CURSOR_VERSION	1
#define CURSOR_BODY	(1 + 8 + 16 + 8)
#define CURSOR_MAC	16
#define CURSOR_RAW	(CURSOR_BODY + CURSOR_MAC)

static void
cursor_mac(const struct config *cfg, const char *purpose,
    const unsigned char *body, unsigned char *mac)
{
	crypto_generichash_state st;
	unsigned char		 key[32];

	/* A key of its own, derived from the token secret. */
	crypto_generichash(key, sizeof(key), cfg->jwt_secret,
	    cfg->jwt_secret_len, (const unsigned char *)"mpapi cursor v1", 15);
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
 * with the versions (up to max) and *any for "*", or -1 when the
 * header is malformed.
 */
int
etag_parse_list(const char *h, long long *versions, size_t max, size_t *n,
    int *any)
{
	const char	*p = h, *q;
	char		*end;
	long long	 v;
	int		 weak;

	*n = 0;
	*any = 0;
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
		if (*p != '"' || (q = strchr(p + 1, '"')) == NULL)
			return -1;
		if (!weak && p[1] == 'v' && isdigit((unsigned char)p[2])) {
			errno = 0;
			v = strtoll(p + 2, &end, 10);
			if (end == q && errno == 0 && *n < max)
				versions[(*n)++] = v;
		}
		p = q + 1;
	}
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
	long long vs[ETAG_LIST_MAX];
	int	 any, r = 0;

	if (h == NULL)
		return 0;
	copy = xstrdup(h);
	/* Weak comparison: drop every W/ before parsing. */
	for (p = copy; (p = strstr(p, "W/\"")) != NULL; )
		memmove(p, p + 2, strlen(p + 2) + 1);
	if (etag_parse_list(copy, vs, ETAG_LIST_MAX, &n, &any) == 0) {
		if (any)
			r = 1;
		for (i = 0; i < n; i++)
			if (vs[i] == version)
				r = 1;
	}
	free(copy);
	return r;
}
