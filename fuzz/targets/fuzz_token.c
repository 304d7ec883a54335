/*
 * Bearer tokens: token_from_header on the Authorization header, then
 * token_verify, whose own checks (shape, canonical base64url, the JOSE
 * header) run before libjwt sees anything and whose claim checks run
 * after.  The first byte picks what the rest is:
 *
 *   even  an Authorization header as a client sends it.  Property: it
 *         never verifies (it is not signed with our secret).
 *   odd   "<JOSE header JSON>\n<claims JSON>", which the target signs
 *         with our secret (HS256) so that libjwt accepts it and the
 *         claim checks are reached.  Property: what verifies has
 *         alg HS256 and no crit, our iss and aud, a UUID sub, an exp
 *         in the future and a ver of 1..2^31-1.
 *
 * Every input also checks a token we issue verifies, and one with a
 * character of its signature changed does not.
 */
#include <jwt.h>

#include "fuzzlib.h"

#define NOW	1780000000

static char *
b64(const void *p, size_t n)
{
	size_t	 sz = sodium_base64_ENCODED_LEN(n,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char	*s = malloc(sz);

	sodium_bin2base64(s, sz, p, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

/* header.claims signed with the fuzz secret (caller frees). */
static char *
sign(const char *hdr, size_t hlen, const char *claims, size_t clen)
{
	const struct config		*cfg = fuzz_config();
	crypto_auth_hmacsha256_state	 st;
	unsigned char			 mac[crypto_auth_hmacsha256_BYTES];
	char				*h, *c, *m, *tok;
	size_t				 n;

	h = b64(hdr, hlen);
	c = b64(claims, clen);
	n = strlen(h) + 1 + strlen(c);
	tok = malloc(n + 64);
	snprintf(tok, n + 1, "%s.%s", h, c);
	crypto_auth_hmacsha256_init(&st, cfg->jwt_secret, cfg->jwt_secret_len);
	crypto_auth_hmacsha256_update(&st, (unsigned char *)tok, n);
	crypto_auth_hmacsha256_final(&st, mac);
	m = b64(mac, sizeof(mac));
	strcat(tok, ".");
	strcat(tok, m);
	free(h);
	free(c);
	free(m);
	return tok;
}

static void
check_claims(const char *tok, const struct auth_user *u)
{
	json_object	*h = NULL;
	unsigned char	 bin[4096];
	size_t		 n;
	char		 err[160];

	FUZZ_CHECK(u->valid && uuid_is_valid(u->id), "sub %s", u->id);
	FUZZ_CHECK(u->exp > NOW && u->iat > 0 && u->iat <= NOW + 60,
	    "exp %lld iat %lld", u->exp, u->iat);
	FUZZ_CHECK(u->ver >= 1 && u->ver <= 2147483647LL, "ver %lld", u->ver);
	FUZZ_CHECK(sodium_base642bin(bin, sizeof(bin) - 1, tok,
	    strcspn(tok, "."), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0, "header b64");
	bin[n] = '\0';		/* json_parse_object reads s[len] too */
	FUZZ_CHECK(json_parse_object((char *)bin, n, &h, err,
	    sizeof(err)) == 0, "header JSON");
	FUZZ_CHECK(json_object_object_get_ex(h, "alg", NULL) &&
	    strcmp(json_object_get_string(json_object_object_get(h, "alg")),
	    "HS256") == 0 && !json_object_object_get_ex(h, "crit", NULL),
	    "header %.*s", (int)n, bin);
	json_object_put(h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct config	*cfg = fuzz_config();
	struct auth_user	 u;
	const char		*tok, *nl;
	char			*s, *signed_tok, *ours;
	size_t			 at;

	if (size < 1 || size > 8192)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	memset(&u, 0, sizeof(u));
	if (data[0] % 2 == 0) {
		if (token_from_header(s, &tok) == 0) {
			FUZZ_CHECK(*tok != '\0' && *tok != ' ', "empty token");
			FUZZ_CHECK(token_verify(cfg, tok, NOW, &u) != 0 &&
			    !u.valid, "an unsigned token verified: %s", tok);
		}
	} else if ((nl = memchr(s, '\n', size - 1)) != NULL) {
		signed_tok = sign(s, (size_t)(nl - s), nl + 1,
		    size - 1 - (size_t)(nl - s) - 1);
		if (token_verify(cfg, signed_tok, NOW, &u) == 0)
			check_claims(signed_tok, &u);
		else
			FUZZ_CHECK(!u.valid, "refused but marked valid");
		free(signed_tok);
	}
	free(s);
	/* One of ours, and the same with its signature changed. */
	if (data[0] == 0xff) {
		ours = token_issue(cfg, "6f1c2a44-0b55-4c8e-9a55-2f1e3d4c5b6a",
		    "user_1", "u@example.org", 1, NOW);
		FUZZ_CHECK(ours != NULL && token_verify(cfg, ours, NOW, &u) == 0,
		    "our own token refused");
		at = strlen(ours) - 1 - (size > 1 ? data[1] % 40 : 0);
		ours[at] = ours[at] == 'A' ? 'B' : 'A';
		FUZZ_CHECK(token_verify(cfg, ours, NOW, &u) != 0,
		    "a tampered token verified: %s", ours);
		free(ours);
	}
	return 0;
}
