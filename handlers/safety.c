/*
 * Pure parts of safe retries and limits: Idempotency-Key validation,
 * the request fingerprint, sealing stored answers, replaying them, and
 * the RateLimit header fields.  No database here (see handlers/writes.c
 * and db/writes.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "handlers/handlers.h"
#include "handlers/model.h"

/*
 * Copy the key of an Idempotency-Key header value into out (at least
 * IDEM_KEY_MAX + 1 bytes): one pair of surrounding double quotes is
 * stripped (the draft's sf-string form), and what is left must be
 * 1-255 printable ASCII characters.  Returns 0, or -1 when invalid.
 */
int
idem_key_parse(const char *h, char *out, size_t outsz)
{
	size_t	 i, n;

	if (h == NULL || outsz < IDEM_KEY_MAX + 1)
		return -1;
	n = strlen(h);
	if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
		h++;
		n -= 2;
	}
	if (n < 1 || n > IDEM_KEY_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if (h[i] < 0x20 || h[i] > 0x7e)
			return -1;
	memcpy(out, h, n);
	out[n] = '\0';
	return 0;
}

/*
 * The fingerprint a key is bound to: HMAC-SHA-256 of the method, the
 * path, the query and the raw body, each ended by a NUL so no two
 * requests share an encoding.  Keyed (with a key derived from the
 * token secret) rather than a bare SHA-256, because a signup or login
 * body holds a password: the stored fingerprint must not be a fast,
 * unsalted hash of it.
 */
void
idem_fingerprint(const struct config *cfg, const char *method,
    const char *path, const char *query, const char *body, size_t len,
    unsigned char out[DB_FINGERPRINT_LEN])
{
	crypto_auth_hmacsha256_state	 st;
	unsigned char			 key[32];
	static const unsigned char	 nul = 0;

	secret_key(cfg, "mpapi idempotency fingerprint v1", key);
	crypto_auth_hmacsha256_init(&st, key, sizeof(key));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)method,
	    strlen(method));
	crypto_auth_hmacsha256_update(&st, &nul, 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)path,
	    strlen(path));
	crypto_auth_hmacsha256_update(&st, &nul, 1);
	if (query != NULL)
		crypto_auth_hmacsha256_update(&st,
		    (const unsigned char *)query, strlen(query));
	crypto_auth_hmacsha256_update(&st, &nul, 1);
	if (body != NULL && len > 0)
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)body,
		    len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(key, sizeof(key));
}

/*
 * Seal a response body for storage (it may hold a bearer token, as
 * signup and login answers do): XSalsa20-Poly1305 under a key derived
 * from the token secret, random nonce first, URL-safe base64.  Returns
 * the text, which the caller frees.
 */
char *
idem_seal(const struct config *cfg, const char *body, size_t len)
{
	unsigned char	 key[crypto_secretbox_KEYBYTES], *box;
	size_t		 boxlen, outsz;
	char		*out;

	boxlen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	box = xmalloc(boxlen);
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	secret_key(cfg, "mpapi idempotency body v1", key);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES,
	    (const unsigned char *)(body != NULL ? body : ""), len, box, key);
	sodium_memzero(key, sizeof(key));
	outsz = sodium_base64_ENCODED_LEN(boxlen,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	out = xmalloc(outsz);
	sodium_bin2base64(out, outsz, box, boxlen,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	free(box);
	return out;
}

/*
 * Open what idem_seal made.  Returns the body (NUL-terminated, length
 * in *len; the caller frees), or NULL when it does not open (garbled,
 * or sealed under another secret).
 */
char *
idem_open(const struct config *cfg, const char *sealed, size_t *len)
{
	unsigned char	 key[crypto_secretbox_KEYBYTES], *box;
	size_t		 boxlen, n;
	char		*out;

	*len = 0;
	n = strlen(sealed);
	box = xmalloc(n + 1);
	if (sodium_base642bin(box, n + 1, sealed, n, NULL, &boxlen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    boxlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
		free(box);
		return NULL;
	}
	n = boxlen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	out = xmalloc(n + 1);
	secret_key(cfg, "mpapi idempotency body v1", key);
	if (crypto_secretbox_open_easy((unsigned char *)out,
	    box + crypto_secretbox_NONCEBYTES,
	    boxlen - crypto_secretbox_NONCEBYTES, box, key) != 0) {
		sodium_memzero(key, sizeof(key));
		free(box);
		free(out);
		return NULL;
	}
	sodium_memzero(key, sizeof(key));
	free(box);
	out[n] = '\0';
	*len = n;
	return out;
}

/* The response headers a replay repeats; the rest are recomputed. */
static const char *const stored_headers[] = { "Location", "ETag" };

/*
 * The headers of r worth storing with its body, as a JSON object
 * ({"Content-Type":…,"Location":…,"ETag":…}) appended to out.
 */
void
idem_headers_json(const struct http_response *r, struct buf *out)
{
	const char	*v;
	size_t		 i;
	int		 first = 1;

	buf_putc(out, '{');
	if (r->content_type != NULL) {
		buf_puts(out, "\"Content-Type\":");
		buf_json_str(out, r->content_type, strlen(r->content_type));
		first = 0;
	}
	for (i = 0; i < sizeof(stored_headers) / sizeof(stored_headers[0]);
	    i++) {
		if ((v = http_get_header(r, stored_headers[i])) == NULL)
			continue;
		if (!first)
			buf_putc(out, ',');
		buf_json_str(out, stored_headers[i], strlen(stored_headers[i]));
		buf_putc(out, ':');
		buf_json_str(out, v, strlen(v));
		first = 0;
	}
	buf_putc(out, '}');
}

static const char *
static_content_type(const char *ct)
{
	static const char *const known[] = {
		"application/json",
		"application/problem+json",
	};
	size_t	 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(ct, known[i]) == 0)
			return known[i];
	return NULL;
}

/*
 * Answer with a stored response: its status, the stored headers
 * (headers_json, from idem_headers_json), body (len bytes) and
 * Idempotent-Replayed: true.  Returns 0, or -1 when headers_json is
 * not what idem_headers_json writes (r is then untouched).
 */
int
idem_replay(struct http_response *r, int status, const char *headers_json,
    const char *body, size_t len)
{
	json_object	*h, *v;
	const char	*ct = NULL;
	size_t		 i;

	if (status < 100 || status > 599 ||
	    (h = json_tokener_parse(headers_json)) == NULL)
		return -1;
	if (!json_object_is_type(h, json_type_object)) {
		json_object_put(h);
		return -1;
	}
	if (json_object_object_get_ex(h, "Content-Type", &v) &&
	    json_object_is_type(v, json_type_string))
		ct = json_object_get_string(v);
	r->status = status;
	r->content_type = ct != NULL ? static_content_type(ct) : NULL;
	if (ct != NULL && r->content_type == NULL)
		http_set_header(r, "Content-Type", "%s", ct);
	for (i = 0; i < sizeof(stored_headers) / sizeof(stored_headers[0]);
	    i++)
		if (json_object_object_get_ex(h, stored_headers[i], &v) &&
		    json_object_is_type(v, json_type_string))
			http_set_header(r, stored_headers[i], "%s",
			    json_object_get_string(v));
	http_set_header(r, "Idempotent-Replayed", "true");
	buf_reset(&r->body);
	buf_append(&r->body, body, len);
	r->written = 1;
	json_object_put(h);
	return 0;
}

/*
 * The RateLimit header fields (draft-ietf-httpapi-ratelimit-headers,
 * the three-field form): the limit, what is left, and the seconds
 * until the window ends.
 */
void
ratelimit_headers(struct http_response *r, long long limit, long long used,
    long long reset_s)
{
	long long	 left;

	left = limit - used;
	if (left < 0)
		left = 0;
	if (reset_s < 1)
		reset_s = 1;
	http_set_header(r, "RateLimit-Limit", "%lld", limit);
	http_set_header(r, "RateLimit-Remaining", "%lld", left);
	http_set_header(r, "RateLimit-Reset", "%lld", reset_s);
}
