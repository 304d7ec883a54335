#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jwt.h>
#include <sodium.h>

#include "handlers/handlers.h"

#define TOKEN_MAX	4096
#define IAT_LEEWAY	60	/* seconds a token's iat may lie in the future */
#define NBF_LEEWAY	5	/* seconds of clock skew allowed on nbf */
#define VER_MAX		2147483647LL	/* users.token_version is an integer */
#define JTI_BYTES	16	/* random bytes of an issued token's jti */
#define JTI_MAX		64	/* longest jti accepted */

void
token_key_id(const unsigned char *key, size_t len,
    char out[TOKEN_KID_LEN + 1])
{
	unsigned char	 h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, key, len);
	sodium_bin2base64(out, TOKEN_KID_LEN + 1, h, 9,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/*
 * Sign a token for the user: HS256 with the current secret, its key
 * id in the header's "kid" (see token_key_id), and claims jti (16 random bytes,
 * base64url: what tells this token apart from every other, for
 * POST /api/auth/logout), sub and id (the user id), username, email,
 * ver, iss, aud, iat and exp.  Returns a string the caller frees, or
 * NULL.
 */
char *
token_issue(const struct config *cfg, const char *user_id,
    const char *username, const char *email, long long ver, time_t now)
{
	jwt_t		*j = NULL;
	unsigned char	 rnd[JTI_BYTES];
	char		 jti[sodium_base64_ENCODED_LEN(JTI_BYTES,
			    sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char		*tok = NULL, *out = NULL, kid[TOKEN_KID_LEN + 1];

	if (cfg->jwt_secret_len < 32 || jwt_new(&j) != 0)
		return NULL;
	token_key_id(cfg->jwt_secret, cfg->jwt_secret_len, kid);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(jti, sizeof(jti), rnd, sizeof(rnd),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (jwt_add_grant(j, "jti", jti) != 0 ||
	    jwt_add_grant(j, "sub", user_id) != 0 ||
	    jwt_add_grant(j, "id", user_id) != 0 ||
	    jwt_add_grant(j, "username", username) != 0 ||
	    jwt_add_grant(j, "email", email) != 0 ||
	    jwt_add_grant(j, "iss", cfg->jwt_issuer) != 0 ||
	    jwt_add_grant(j, "aud", cfg->jwt_audience) != 0 ||
	    jwt_add_grant_int(j, "ver", (long)ver) != 0 ||
	    jwt_add_grant_int(j, "iat", (long)now) != 0 ||
	    jwt_add_grant_int(j, "exp", (long)(now + cfg->token_ttl_s)) != 0 ||
	    jwt_set_alg(j, JWT_ALG_HS256, cfg->jwt_secret,
	    (int)cfg->jwt_secret_len) != 0 ||
	    jwt_add_header(j, "kid", kid) != 0)
		goto out;
	if ((tok = jwt_encode_str(j)) == NULL)
		goto out;
	out = xstrdup(tok);
	free(tok);
out:
	jwt_free(j);
	return out;
}

/*
 * When a token issued at now expires (its exp), as the API writes
 * timestamps: RFC 3339, UTC, milliseconds.
 */
void
token_expires_at(const struct config *cfg, time_t now,
    char out[TOKEN_EXPIRES_LEN + 1])
{
	struct tm	 tm;
	time_t		 exp = now + (time_t)cfg->token_ttl_s;

	if (gmtime_r(&exp, &tm) == NULL ||
	    strftime(out, TOKEN_EXPIRES_LEN + 1, "%Y-%m-%dT%H:%M:%S.000Z",
	    &tm) != TOKEN_EXPIRES_LEN)
		snprintf(out, TOKEN_EXPIRES_LEN + 1, "%s",
		    "1970-01-01T00:00:00.000Z");
}

/* An integer claim; 0 with errno set when absent or not an integer. */
static long
int_claim(jwt_t *j, const char *name)
{
	long	 v;

	v = jwt_get_grant_int(j, name);
	if (errno == 0 && v == 0)
		errno = EINVAL;	/* libjwt reads "12" and 1.5 as 0, errno 0 */
	return v;
}

/*
 * 1 if tok has the one shape an HS256 token of ours can have: three
 * non-empty segments of base64url without padding, each decoding
 * canonically (no stray bits in the last character), the third to the
 * 32 bytes of an HMAC-SHA256.  Checked before libjwt parses
 * anything: its own base64 decoding is lenient (it maps the standard
 * alphabet and padding too), so only the canonical form ever reaches
 * it.  Defence in depth: libjwt compares signatures as text.  The
 * decoded header (NUL-terminated) is left in hdr, hdrsz bytes.
 */
static int
token_shape_ok(const char *tok, char *hdr, size_t hdrsz, size_t *hdrlen)
{
	unsigned char	 bin[TOKEN_MAX];
	const char	*p, *dot;
	size_t		 len, binlen;
	int		 i;

	p = tok;
	for (i = 0; i < 3; i++) {
		dot = strchr(p, '.');
		if ((i < 2) != (dot != NULL))
			return 0;
		len = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (len == 0 || strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_") != len)
			return 0;
		if (sodium_base642bin(bin, sizeof(bin), p, len, NULL, &binlen,
		    NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
			return 0;
		if (i == 0) {
			if (binlen >= hdrsz)
				return 0;
			memcpy(hdr, bin, binlen);
			hdr[binlen] = '\0';
			*hdrlen = binlen;
		}
		if (i == 2 && binlen != crypto_auth_hmacsha256_BYTES)
			return 0;
		if (dot != NULL)
			p = dot + 1;
	}
	return 1;
}

/*
 * 1 if the JOSE header (len bytes of JSON) is one we accept: an object
 * whose "alg" is exactly "HS256" (libjwt matches it in any letter
 * case), that has no "crit" member (RFC 7515 4.1.11 makes the
 * extensions named there mandatory to understand, and we understand
 * none, so a token carrying any is refused), and whose "kid", when
 * there is one, is a string of TOKEN_KID_LEN characters: it is copied
 * into kid ("" when absent).  Other members ("typ", ...) are ignored.
 */
static int
token_header_ok(const char *hdr, size_t len, char kid[TOKEN_KID_LEN + 1])
{
	json_object	*o = NULL, *alg, *k;
	char		 err[160];
	int		 ok = 0;

	kid[0] = '\0';
	if (memchr(hdr, '\0', len) != NULL ||
	    json_parse_object(hdr, len, &o, err, sizeof(err)) != 0)
		return 0;
	if (json_object_object_get_ex(o, "alg", &alg) &&
	    json_object_is_type(alg, json_type_string) &&
	    strcmp(json_object_get_string(alg), "HS256") == 0 &&
	    !json_object_object_get_ex(o, "crit", NULL))
		ok = 1;
	if (ok && json_object_object_get_ex(o, "kid", &k)) {
		if (!json_object_is_type(k, json_type_string) ||
		    json_object_get_string_len(k) != TOKEN_KID_LEN)
			ok = 0;
		else
			memcpy(kid, json_object_get_string(k),
			    TOKEN_KID_LEN + 1);
	}
	json_object_put(o);
	return ok;
}

/*
 * Decode tok with the key its kid names (the current secret, or the
 * previous one while a rotation runs); a token without kid (signed
 * before key ids existed) is tried with the current secret, then the
 * previous.  A kid that names neither is refused.  Returns 0 with *j
 * set (caller frees), or -1.
 */
static int
token_decode(const struct config *cfg, const char *tok, const char *kid,
    jwt_t **j)
{
	char	 cur[TOKEN_KID_LEN + 1], prev[TOKEN_KID_LEN + 1];
	int	 has_prev = cfg->jwt_previous_secret_len >= 32;

	*j = NULL;
	if (*kid != '\0') {
		token_key_id(cfg->jwt_secret, cfg->jwt_secret_len, cur);
		if (strcmp(kid, cur) == 0)
			return jwt_decode(j, tok, cfg->jwt_secret,
			    (int)cfg->jwt_secret_len) == 0 ? 0 : -1;
		if (!has_prev)
			return -1;
		token_key_id(cfg->jwt_previous_secret,
		    cfg->jwt_previous_secret_len, prev);
		if (strcmp(kid, prev) != 0)
			return -1;
		return jwt_decode(j, tok, cfg->jwt_previous_secret,
		    (int)cfg->jwt_previous_secret_len) == 0 ? 0 : -1;
	}
	if (jwt_decode(j, tok, cfg->jwt_secret, (int)cfg->jwt_secret_len) == 0)
		return 0;
	*j = NULL;
	if (has_prev && jwt_decode(j, tok, cfg->jwt_previous_secret,
	    (int)cfg->jwt_previous_secret_len) == 0)
		return 0;
	*j = NULL;
	return -1;
}

/*
 * The token's identity into u->tid: its jti when it has one (1-64
 * base64url characters; every token issued here does), else "s." and
 * its signature, which is unique to it (tokens issued before jti
 * existed).  Returns 0, or -1 for a jti of another shape.
 */
static int
token_id(jwt_t *j, const char *tok, struct auth_user *u)
{
	const char	*jti;
	char		*raw;
	size_t		 n;

	if ((jti = jwt_get_grant(j, "jti")) == NULL &&
	    (raw = jwt_get_grants_json(j, "jti")) != NULL) {
		free(raw);		/* present, but not a string */
		return -1;
	}
	if (jti != NULL) {
		n = strlen(jti);
		if (n == 0 || n > JTI_MAX || strspn(jti,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_") != n)
			return -1;
		memcpy(u->tid, jti, n + 1);
		return 0;
	}
	snprintf(u->tid, sizeof(u->tid), "s.%s", strrchr(tok, '.') + 1);
	return 0;
}

/*
 * Tokens this process verified lately (issue 15: a full verification,
 * libjwt's parse of the claims and OpenSSL's HMAC, is ~210 000
 * instructions, more than the rest of a like).  A token is the same
 * string on every request of a session, and what verification decides
 * from it alone never changes; only the time checks do.  So a token
 * that verified is kept by a hash of everything the verdict depends
 * on — the token, both secrets, issuer and audience — with the time
 * window in which it is valid (from its iat and nbf, less their
 * leeways, to its exp); a later request with the same token inside
 * the window gets the same user without libjwt.  A token that failed
 * is never kept (each try pays the full check).  The cache is this
 * process's own: a hit answers exactly what a full check would, so no
 * worker depends on another's.  Revocation (logout, a password change)
 * is not a property of the token: the database checks it on every
 * request, as without the cache.
 */
#define TOKEN_SEEN_SLOTS	64

struct token_seen {
	unsigned char		 hash[crypto_generichash_BYTES];
	long long		 from;		/* valid while from <= now */
	struct auth_user	 u;		/* and now < u.exp */
};

static struct token_seen	 token_seen[TOKEN_SEEN_SLOTS];

static void
seen_hash(const struct config *cfg, const char *tok,
    unsigned char h[crypto_generichash_BYTES])
{
	crypto_generichash_state	 st;
	unsigned char			 n[8];
	size_t				 len[5];
	int				 i;

	len[0] = strlen(tok);
	len[1] = cfg->jwt_secret_len;
	len[2] = cfg->jwt_previous_secret_len;
	len[3] = cfg->jwt_issuer != NULL ? strlen(cfg->jwt_issuer) : 0;
	len[4] = cfg->jwt_audience != NULL ? strlen(cfg->jwt_audience) : 0;
	crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
	for (i = 0; i < 5; i++) {	/* lengths first: no two inputs */
		n[0] = (unsigned char)(len[i] >> 24);	/* concatenate */
		n[1] = (unsigned char)(len[i] >> 16);	/* alike */
		n[2] = (unsigned char)(len[i] >> 8);
		n[3] = (unsigned char)len[i];
		crypto_generichash_update(&st, n, 4);
	}
	crypto_generichash_update(&st, (const unsigned char *)tok, len[0]);
	crypto_generichash_update(&st, cfg->jwt_secret, len[1]);
	if (len[2] > 0)
		crypto_generichash_update(&st, cfg->jwt_previous_secret,
		    len[2]);
	if (len[3] > 0)
		crypto_generichash_update(&st,
		    (const unsigned char *)cfg->jwt_issuer, len[3]);
	if (len[4] > 0)
		crypto_generichash_update(&st,
		    (const unsigned char *)cfg->jwt_audience, len[4]);
	crypto_generichash_final(&st, h, crypto_generichash_BYTES);
}

static struct token_seen *
seen_slot(const unsigned char h[crypto_generichash_BYTES])
{
	return &token_seen[(h[0] | (unsigned)h[1] << 8) % TOKEN_SEEN_SLOTS];
}

/*
 * Verify a bearer token: a header of alg "HS256" exactly and no
 * "crit", a signature by the key its "kid" names (token_decode) (libjwt 1.10 would accept "none" with an empty key, "hs256"
 * in any case, and checks no claim, so every check is here), a
 * signature by our secret, exp in the future, iat at most IAT_LEEWAY
 * seconds ahead, nbf (if present) at most NBF_LEEWAY seconds ahead,
 * our iss and aud, a UUID subject, a token version 1-2^31-1 and a
 * well-formed jti if there is one.  Returns 0 and fills u, or -1; on
 * success *from is the earliest time at which the same checks pass.
 */
static int
token_verify_full(const struct config *cfg, const char *tok, time_t now,
    struct auth_user *u, long long *from)
{
	jwt_t		*j = NULL;
	const char	*sub, *iss, *aud, *name;
	char		 hdr[TOKEN_MAX], kid[TOKEN_KID_LEN + 1];
	size_t		 hdrlen = 0;
	long		 exp, iat, nbf, ver;
	int		 rc = -1, has_nbf;

	u->valid = 0;
	if (cfg->jwt_secret_len < 32 || tok == NULL || *tok == '\0' ||
	    strlen(tok) > TOKEN_MAX ||
	    !token_shape_ok(tok, hdr, sizeof(hdr), &hdrlen) ||
	    !token_header_ok(hdr, hdrlen, kid))
		return -1;
	if (token_decode(cfg, tok, kid, &j) != 0)
		return -1;
	if (jwt_get_alg(j) != JWT_ALG_HS256)
		goto out;
	exp = int_claim(j, "exp");
	if (errno != 0 || exp <= 0 || (long long)now >= (long long)exp)
		goto out;
	iat = int_claim(j, "iat");
	if (errno != 0 || iat <= 0 || (long long)iat > (long long)now + IAT_LEEWAY)
		goto out;
	nbf = jwt_get_grant_int(j, "nbf");
	has_nbf = errno != ENOENT;
	if (has_nbf && (errno != 0 || nbf <= 0 ||
	    (long long)nbf > (long long)now + NBF_LEEWAY))
		goto out;
	ver = int_claim(j, "ver");
	if (errno != 0 || ver <= 0 || (long long)ver > VER_MAX)
		goto out;
	if ((iss = jwt_get_grant(j, "iss")) == NULL ||
	    strcmp(iss, cfg->jwt_issuer) != 0)
		goto out;
	if ((aud = jwt_get_grant(j, "aud")) == NULL ||
	    strcmp(aud, cfg->jwt_audience) != 0)
		goto out;
	if ((sub = jwt_get_grant(j, "sub")) == NULL || !uuid_is_valid(sub))
		goto out;
	if ((name = jwt_get_grant(j, "username")) == NULL ||
	    strlen(name) >= sizeof(u->username))
		goto out;
	if (token_id(j, tok, u) != 0)
		goto out;
	memcpy(u->id, sub, UUID_LEN + 1);
	strcpy(u->username, name);
	u->iat = iat;
	u->exp = exp;
	u->ver = ver;
	u->valid = 1;
	*from = (long long)iat - IAT_LEEWAY;
	if (has_nbf && (long long)nbf - NBF_LEEWAY > *from)
		*from = (long long)nbf - NBF_LEEWAY;
	rc = 0;
out:
	jwt_free(j);
	return rc;
}

/*
 * Verify a bearer token (token_verify_full says what is checked),
 * through the cache of tokens this process verified lately (see
 * token_seen above).  Returns 0 and fills u, or -1.
 */
int
token_verify(const struct config *cfg, const char *tok, time_t now,
    struct auth_user *u)
{
	unsigned char		 h[crypto_generichash_BYTES];
	struct token_seen	*e;
	long long		 from;
	int			 present = u->present;

	u->valid = 0;
	if (cfg->jwt_secret_len < 32 || tok == NULL || *tok == '\0' ||
	    strlen(tok) > TOKEN_MAX)
		return -1;
	seen_hash(cfg, tok, h);
	e = seen_slot(h);
	if (e->u.valid && sodium_memcmp(e->hash, h, sizeof(h)) == 0 &&
	    e->from <= (long long)now && (long long)now < e->u.exp) {
		*u = e->u;
		u->present = present;
		return 0;
	}
	if (token_verify_full(cfg, tok, now, u, &from) != 0)
		return -1;
	memcpy(e->hash, h, sizeof(h));
	e->from = from;
	e->u = *u;
	return 0;
}

/*
 * Take the token out of an Authorization header value.  Returns 0 with
 * *token pointing into the value for "Bearer <token>" (scheme matched
 * case-insensitively), -1 for any other scheme or an empty token.
 */
int
token_from_header(const char *h, const char **token)
{
	*token = NULL;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return -1;
	h += 7;
	while (*h == ' ')
		h++;
	if (*h == '\0')
		return -1;
	*token = h;
	return 0;
}
