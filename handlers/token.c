#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jwt.h>
#include <sodium.h>

#include "handlers/handlers.h"

#define TOKEN_MAX	4096
#define IAT_LEEWAY	60	/* seconds a token's iat may lie in the future */

/*
 * Sign a token for the user: HS256 with claims sub and id (the user
 * id), username, email, ver, iss, aud, iat and exp.  Returns a string
 * the caller frees, or NULL.
 */
char *
token_issue(const struct config *cfg, const char *user_id,
    const char *username, const char *email, long long ver, time_t now)
{
	jwt_t	*j = NULL;
	char	*tok = NULL, *out = NULL;

	if (cfg->jwt_secret_len < 32 || jwt_new(&j) != 0)
		return NULL;
	if (jwt_add_grant(j, "sub", user_id) != 0 ||
	    jwt_add_grant(j, "id", user_id) != 0 ||
	    jwt_add_grant(j, "username", username) != 0 ||
	    jwt_add_grant(j, "email", email) != 0 ||
	    jwt_add_grant(j, "iss", cfg->jwt_issuer) != 0 ||
	    jwt_add_grant(j, "aud", cfg->jwt_audience) != 0 ||
	    jwt_add_grant_int(j, "ver", (long)ver) != 0 ||
	    jwt_add_grant_int(j, "iat", (long)now) != 0 ||
	    jwt_add_grant_int(j, "exp", (long)(now + cfg->token_ttl_s)) != 0 ||
	    jwt_set_alg(j, JWT_ALG_HS256, cfg->jwt_secret,
	    (int)cfg->jwt_secret_len) != 0)
		goto out;
	if ((tok = jwt_encode_str(j)) == NULL)
		goto out;
	out = xstrdup(tok);
	free(tok);
out:
	jwt_free(j);
	return out;
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
 * it.  Defence in depth: libjwt compares signatures as text.
 */
static int
token_shape_ok(const char *tok)
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
		if (i == 2 && binlen != crypto_auth_hmacsha256_BYTES)
			return 0;
		if (dot != NULL)
			p = dot + 1;
	}
	return 1;
}

/*
 * Verify a bearer token: HS256 only (libjwt 1.10 would accept "none"
 * with an empty key and checks no claim, so every check is here), a
 * signature by our secret, exp in the future, iat not beyond a small
 * leeway ahead, nbf passed if present, our iss and aud, a UUID subject
 * and a token version.  Returns 0 and fills u, or -1.
 */
int
token_verify(const struct config *cfg, const char *tok, time_t now,
    struct auth_user *u)
{
	jwt_t		*j = NULL;
	const char	*sub, *iss, *aud, *name;
	long		 exp, iat, nbf, ver;
	int		 rc = -1;

	u->valid = 0;
	if (cfg->jwt_secret_len < 32 || tok == NULL || *tok == '\0' ||
	    strlen(tok) > TOKEN_MAX || !token_shape_ok(tok))
		return -1;
	if (jwt_decode(&j, tok, cfg->jwt_secret, (int)cfg->jwt_secret_len) != 0)
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
	if (errno != ENOENT && (errno != 0 || nbf <= 0 ||
	    (long long)nbf > (long long)now + IAT_LEEWAY))
		goto out;
	ver = int_claim(j, "ver");
	if (errno != 0 || ver <= 0)
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
	memcpy(u->id, sub, UUID_LEN + 1);
	strcpy(u->username, name);
	u->iat = iat;
	u->ver = ver;
	u->valid = 1;
	rc = 0;
out:
	jwt_free(j);
	return rc;
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
