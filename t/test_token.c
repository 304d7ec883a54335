/*
 * Unit: bearer tokens (handlers/token.c).  Tokens under test are made
 * here by hand (base64url + HMAC from libsodium), so every header and
 * claim can be exactly what an attacker would send.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "handlers/handlers.h"
#include "handlers/model.h"

#define SECRET	"unit-test-secret-0123456789-abcdefghijklmnop"
#define OTHER	"another-secret-0123456789-abcdefghijklmnopqr"
#define UID	"6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
#define NOW	1800000000LL

static struct config cfg;

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.jwt_secret, SECRET, strlen(SECRET));
	cfg.jwt_secret_len = strlen(SECRET);
	cfg.jwt_issuer = "music-playground-api";
	cfg.jwt_audience = "music-playground";
	cfg.token_ttl_s = 604800;
}

TestSuite(token, .init = setup);

enum sig { SIG_HS256, SIG_HS512, SIG_NONE };

static void
b64url(char *out, size_t sz, const void *bin, size_t len)
{
	cr_assert(sz >= sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING));
	sodium_bin2base64(out, sz, bin, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* header.payload.signature, signed with key as sig says. */
static char *
make(const char *header, const char *payload, enum sig sig, const char *key)
{
	char		 h[1024], p[2048], s[256], *out;
	unsigned char	 mac[64];
	size_t		 maclen = 0;
	char		 signing[3200];

	b64url(h, sizeof(h), header, strlen(header));
	b64url(p, sizeof(p), payload, strlen(payload));
	snprintf(signing, sizeof(signing), "%s.%s", h, p);
	if (sig == SIG_HS256) {
		crypto_auth_hmacsha256_state st;
		crypto_auth_hmacsha256_init(&st, (const unsigned char *)key,
		    strlen(key));
		crypto_auth_hmacsha256_update(&st,
		    (const unsigned char *)signing, strlen(signing));
		crypto_auth_hmacsha256_final(&st, mac);
		maclen = 32;
	} else if (sig == SIG_HS512) {
		crypto_auth_hmacsha512_state st;
		crypto_auth_hmacsha512_init(&st, (const unsigned char *)key,
		    strlen(key));
		crypto_auth_hmacsha512_update(&st,
		    (const unsigned char *)signing, strlen(signing));
		crypto_auth_hmacsha512_final(&st, mac);
		maclen = 64;
	}
	s[0] = '\0';
	if (maclen > 0)
		b64url(s, sizeof(s), mac, maclen);
	out = malloc(strlen(signing) + strlen(s) + 2);
	sprintf(out, "%s.%s", signing, s);
	return out;
}

#define HS256	"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* The claims of a good token, with iat and exp given. */
static void
claims(char *out, size_t sz, long long iat, long long exp)
{
	snprintf(out, sz, "{\"sub\":\"" UID "\",\"id\":\"" UID "\","
	    "\"username\":\"alice\",\"email\":\"alice@example.com\","
	    "\"iss\":\"music-playground-api\",\"aud\":\"music-playground\","
	    "\"ver\":3,\"iat\":%lld,\"exp\":%lld}", iat, exp);
}

static int
verify(const char *tok)
{
	struct auth_user	 u;

	memset(&u, 0, sizeof(u));
	return token_verify(&cfg, tok, (time_t)NOW, &u);
}

static int
verify_made(const char *header, const char *payload, enum sig sig,
    const char *key)
{
	char	*t;
	int	 rc;

	t = make(header, payload, sig, key);
	rc = verify(t);
	free(t);
	return rc;
}

Test(token, an_issued_token_verifies_and_carries_the_user)
{
	struct auth_user	 u;
	char			*t;

	t = token_issue(&cfg, UID, "alice", "alice@example.com", 7,
	    (time_t)NOW);
	cr_assert_not_null(t);
	memset(&u, 0, sizeof(u));
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW, &u), 0);
	cr_assert(u.valid);
	cr_assert_str_eq(u.id, UID);
	cr_assert_str_eq(u.username, "alice");
	cr_assert_eq(u.ver, 7);
	cr_assert_eq(u.iat, NOW);
	free(t);
}

Test(token, an_issued_token_has_the_contract_claims_and_header)
{
	char		*t, *dot, hdr[256], pl[1024];
	size_t		 n;

	t = token_issue(&cfg, UID, "alice", "alice@example.com", 1,
	    (time_t)NOW);
	cr_assert_not_null(t);
	dot = strchr(t, '.');
	cr_assert_eq(sodium_base642bin((unsigned char *)hdr, sizeof(hdr) - 1,
	    t, (size_t)(dot - t), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	hdr[n] = '\0';
	cr_assert(strstr(hdr, "\"alg\":\"HS256\"") != NULL, "%s", hdr);
	cr_assert_eq(sodium_base642bin((unsigned char *)pl, sizeof(pl) - 1,
	    dot + 1, strcspn(dot + 1, "."), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	pl[n] = '\0';
	cr_assert(strstr(pl, "\"sub\":\"" UID "\"") != NULL, "%s", pl);
	cr_assert(strstr(pl, "\"id\":\"" UID "\"") != NULL, "%s", pl);
	cr_assert(strstr(pl, "\"username\":\"alice\"") != NULL, "%s", pl);
	cr_assert(strstr(pl, "\"email\":\"alice@example.com\"") != NULL);
	cr_assert(strstr(pl, "\"iat\":1800000000") != NULL, "%s", pl);
	cr_assert(strstr(pl, "\"exp\":1800604800") != NULL, "%s", pl);
	cr_assert(strstr(pl, "\"ver\":1") != NULL, "%s", pl);
	free(t);
}

Test(token, a_hand_made_hs256_token_with_good_claims_verifies)
{
	char	 c[512];

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	cr_assert_eq(verify_made(HS256, c, SIG_HS256, SECRET), 0);
}

Test(token, a_token_expired_by_one_second_is_refused)
{
	char	 c[512];

	claims(c, sizeof(c), NOW - 3600, NOW - 1);
	cr_assert_eq(verify_made(HS256, c, SIG_HS256, SECRET), -1);
	claims(c, sizeof(c), NOW - 3600, NOW);
	cr_assert_eq(verify_made(HS256, c, SIG_HS256, SECRET), -1,
	    "exp is exclusive");
	claims(c, sizeof(c), NOW - 3600, NOW + 1);
	cr_assert_eq(verify_made(HS256, c, SIG_HS256, SECRET), 0);
}

Test(token, alg_none_is_refused_with_or_without_a_signature)
{
	char	 c[512], *t, *good, *forged;

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	cr_assert_eq(verify_made("{\"alg\":\"none\",\"typ\":\"JWT\"}", c,
	    SIG_NONE, SECRET), -1);
	cr_assert_eq(verify_made("{\"alg\":\"none\"}", c, SIG_HS256, SECRET),
	    -1);
	cr_assert_eq(verify_made("{\"alg\":\"None\"}", c, SIG_NONE, SECRET),
	    -1);
	cr_assert_eq(verify_made("{\"typ\":\"JWT\"}", c, SIG_NONE, SECRET), -1);
	/* A good token's signature moved onto an alg:none header. */
	good = make(HS256, c, SIG_HS256, SECRET);
	t = make("{\"alg\":\"none\"}", c, SIG_NONE, SECRET);
	forged = malloc(strlen(t) + 64);
	sprintf(forged, "%s%s", t, strrchr(good, '.') + 1);
	cr_assert_eq(verify(forged), -1);
	free(good);
	free(t);
	free(forged);
}

Test(token, hs512_and_hs384_are_refused_even_with_the_right_key)
{
	char	 c[512];

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	cr_assert_eq(verify_made("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", c,
	    SIG_HS512, SECRET), -1);
	/* An HS256 MAC under an HS512 header, and the reverse. */
	cr_assert_eq(verify_made("{\"alg\":\"HS512\"}", c, SIG_HS256, SECRET),
	    -1);
	cr_assert_eq(verify_made(HS256, c, SIG_HS512, SECRET), -1);
	cr_assert_eq(verify_made("{\"alg\":\"HS384\"}", c, SIG_HS256, SECRET),
	    -1);
	cr_assert_eq(verify_made("{\"alg\":\"RS256\"}", c, SIG_HS256, SECRET),
	    -1);
}

Test(token, a_token_signed_with_another_key_is_refused)
{
	char	 c[512];

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	cr_assert_eq(verify_made(HS256, c, SIG_HS256, OTHER), -1);
	cr_assert_eq(verify_made(HS256, c, SIG_HS256, ""), -1);
}

Test(token, a_token_whose_claims_were_edited_is_refused)
{
	char	 c[512], c2[512], *good, *evil, *t;

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	claims(c2, sizeof(c2), NOW - 10, NOW + 999999);
	good = make(HS256, c, SIG_HS256, SECRET);
	t = make(HS256, c2, SIG_HS256, OTHER);
	/* The edited payload with the original signature. */
	*strrchr(t, '.') = '\0';
	evil = malloc(strlen(t) + 64);
	sprintf(evil, "%s%s", t, strrchr(good, '.'));
	cr_assert_eq(verify(evil), -1);
	free(good);
	free(t);
	free(evil);
}

Test(token, cut_tokens_are_refused)
{
	char	 c[512], *t, *cut;
	size_t	 n, i;

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	t = make(HS256, c, SIG_HS256, SECRET);
	n = strlen(t);
	cut = strdup(t);
	for (i = 1; i < n; i += 7) {	/* every length short of whole */
		memcpy(cut, t, n);
		cut[n - i] = '\0';
		cr_assert_eq(verify(cut), -1, "cut by %zu", i);
	}
	/* Header and payload only, with and without the last dot. */
	strcpy(cut, t);
	*(strrchr(cut, '.') + 1) = '\0';
	cr_assert_eq(verify(cut), -1);
	*strrchr(cut, '.') = '\0';
	cr_assert_eq(verify(cut), -1);
	/* A segment missing in the middle. */
	snprintf(cut, n + 1, ".%s", strchr(t, '.') + 1);
	cr_assert_eq(verify(cut), -1);
	free(t);
	free(cut);
}

Test(token, padded_or_re_encoded_tokens_are_refused)
{
	char	 c[512], *t, buf[2048];
	size_t	 n;

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	t = make(HS256, c, SIG_HS256, SECRET);
	cr_assert_eq(verify(t), 0);
	snprintf(buf, sizeof(buf), "%s=", t);
	cr_assert_eq(verify(buf), -1, "base64 padding");
	snprintf(buf, sizeof(buf), "%s==", t);
	cr_assert_eq(verify(buf), -1);
	snprintf(buf, sizeof(buf), "%s.", t);
	cr_assert_eq(verify(buf), -1, "a fourth segment");
	snprintf(buf, sizeof(buf), "%s.e30", t);
	cr_assert_eq(verify(buf), -1);
	snprintf(buf, sizeof(buf), "%sA", t);
	cr_assert_eq(verify(buf), -1, "an extra character");
	snprintf(buf, sizeof(buf), "%s ", t);
	cr_assert_eq(verify(buf), -1, "trailing space");
	snprintf(buf, sizeof(buf), " %s", t);
	cr_assert_eq(verify(buf), -1, "leading space");
	/* Standard base64 instead of base64url, where they differ. */
	snprintf(buf, sizeof(buf), "%s", t);
	for (n = 0; buf[n] != '\0'; n++) {
		if (buf[n] == '-')
			buf[n] = '+';
		else if (buf[n] == '_')
			buf[n] = '/';
	}
	if (strcmp(buf, t) != 0)
		cr_assert_eq(verify(buf), -1, "standard alphabet");
	/*
	 * The signature's last character carries 4 unused bits: another
	 * character with the same 2 used bits decodes to the same MAC.
	 */
	snprintf(buf, sizeof(buf), "%s", t);
	n = strlen(buf) - 1;
	buf[n] = buf[n] == 'A' ? 'B' : (char)(buf[n] ^ 1);
	cr_assert_eq(verify(buf), -1, "non-canonical last character");
	free(t);
}

Test(token, an_iat_in_the_future_beyond_the_leeway_is_refused)
{
	char	 c[512];

	claims(c, sizeof(c), NOW + 61, NOW + 3600);
	cr_assert_eq(verify_made(HS256, c, SIG_HS256, SECRET), -1);
	claims(c, sizeof(c), NOW + 3000, NOW + 3600);
	cr_assert_eq(verify_made(HS256, c, SIG_HS256, SECRET), -1);
	claims(c, sizeof(c), NOW + 30, NOW + 3600);
	cr_assert_eq(verify_made(HS256, c, SIG_HS256, SECRET), 0,
	    "a little clock skew is fine");
}

static void
assert_refused(const char *payload, const char *why)
{
	cr_assert_eq(verify_made(HS256, payload, SIG_HS256, SECRET), -1,
	    "%s: %s", why, payload);
}

#define GOOD_REST "\"username\":\"alice\",\"ver\":1,\"iat\":1799999990"

Test(token, a_wrong_or_missing_issuer_or_audience_is_refused)
{
	assert_refused("{\"sub\":\"" UID "\",\"iss\":\"evil\","
	    "\"aud\":\"music-playground\",\"exp\":1800003600," GOOD_REST "}",
	    "iss");
	assert_refused("{\"sub\":\"" UID "\",\"iss\":\"music-playground-api\","
	    "\"aud\":\"evil\",\"exp\":1800003600," GOOD_REST "}", "aud");
	assert_refused("{\"sub\":\"" UID "\",\"aud\":\"music-playground\","
	    "\"exp\":1800003600," GOOD_REST "}", "no iss");
	assert_refused("{\"sub\":\"" UID "\",\"iss\":\"music-playground-api\","
	    "\"exp\":1800003600," GOOD_REST "}", "no aud");
	assert_refused("{\"sub\":\"" UID "\",\"iss\":\"music-playground-api\","
	    "\"aud\":[\"music-playground\"],\"exp\":1800003600," GOOD_REST "}",
	    "aud as an array");
}

#define ISS_AUD "\"iss\":\"music-playground-api\",\"aud\":\"music-playground\""

Test(token, a_missing_or_malformed_exp_is_refused)
{
	assert_refused("{\"sub\":\"" UID "\"," ISS_AUD "," GOOD_REST "}",
	    "no exp");
	assert_refused("{\"sub\":\"" UID "\"," ISS_AUD ",\"exp\":\"1800003600\","
	    GOOD_REST "}", "exp as a string");
	assert_refused("{\"sub\":\"" UID "\"," ISS_AUD ",\"exp\":1800003600.5,"
	    GOOD_REST "}", "exp as a real");
	assert_refused("{\"sub\":\"" UID "\"," ISS_AUD ",\"exp\":null,"
	    GOOD_REST "}", "exp null");
	assert_refused("{\"sub\":\"" UID "\"," ISS_AUD ",\"exp\":-1,"
	    GOOD_REST "}", "exp negative");
}

Test(token, other_missing_or_malformed_claims_are_refused)
{
	assert_refused("{\"sub\":\"" UID "\"," ISS_AUD ",\"exp\":1800003600,"
	    "\"username\":\"alice\",\"ver\":1}", "no iat");
	assert_refused("{\"sub\":\"" UID "\"," ISS_AUD ",\"exp\":1800003600,"
	    "\"username\":\"alice\",\"iat\":1799999990}", "no ver");
	assert_refused("{\"sub\":\"" UID "\"," ISS_AUD ",\"exp\":1800003600,"
	    "\"username\":\"alice\",\"ver\":0,\"iat\":1799999990}", "ver 0");
	assert_refused("{\"sub\":\"not-a-uuid\"," ISS_AUD ",\"exp\":1800003600,"
	    GOOD_REST "}", "sub not a uuid");
	assert_refused("{" ISS_AUD ",\"exp\":1800003600," GOOD_REST "}",
	    "no sub");
	assert_refused("{\"sub\":\"" UID "\"," ISS_AUD ",\"exp\":1800003600,"
	    "\"ver\":1,\"iat\":1799999990}", "no username");
	assert_refused("{\"sub\":\"" UID "\"," ISS_AUD ",\"exp\":1800003600,"
	    "\"nbf\":1800000600," GOOD_REST "}", "nbf in the future");
	assert_refused("not json", "payload not json");
}

/* The payload of a good token with one member replaced or added. */
static void
claims_with(char *out, size_t sz, const char *extra)
{
	snprintf(out, sz, "{\"sub\":\"" UID "\"," ISS_AUD ",\"exp\":1800003600,"
	    "\"username\":\"alice\",\"iat\":1799999990%s%s}",
	    extra[0] != '\0' ? "," : "", extra);
}

/* A payload (claims_with's extra members) and whether it verifies. */
struct claims_row {
	const char	*extra;
	int		 want;		/* verify_made's answer: 0 or -1 */
	const char	*why;
};

static void
assert_claims_rows(const struct claims_row *rows, size_t n)
{
	char	 c[512];
	size_t	 i;

	for (i = 0; i < n; i++) {
		claims_with(c, sizeof(c), rows[i].extra);
		cr_assert_eq(verify_made(HS256, c, SIG_HS256, SECRET),
		    rows[i].want, "%s: %s", rows[i].why, c);
	}
}

Test(token, an_nbf_more_than_5_seconds_ahead_is_refused)
{
	static const struct claims_row rows[] = {
		{ "\"ver\":1,\"nbf\":1800000006", -1, "nbf 6 s ahead" },
		{ "\"ver\":1,\"nbf\":1800000030", -1,
		    "nbf 30 s ahead (inside the iat leeway)" },
		{ "\"ver\":1,\"nbf\":1800000060", -1, "nbf 60 s ahead" },
		{ "\"ver\":1,\"nbf\":1800000005", 0,
		    "5 s of clock skew are allowed" },
		{ "\"ver\":1,\"nbf\":1800000000", 0, "nbf now" },
		{ "\"ver\":1,\"nbf\":\"1800000000\"", -1, "nbf as a string" },
	};

	assert_claims_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* A token header and whether a good payload under it verifies. */
struct header_row {
	const char	*header;
	int		 want;		/* verify_made's answer: 0 or -1 */
	const char	*why;
};

static void
assert_header_rows(const struct header_row *rows, size_t n)
{
	char	 c[512];
	size_t	 i;

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	for (i = 0; i < n; i++)
		cr_assert_eq(verify_made(rows[i].header, c, SIG_HS256, SECRET),
		    rows[i].want, "%s: %s", rows[i].why, rows[i].header);
}

Test(token, alg_must_be_hs256_in_upper_case_exactly)
{
	static const struct header_row rows[] = {
		{ "{\"alg\":\"hs256\",\"typ\":\"JWT\"}", -1, "lower case" },
		{ "{\"alg\":\"Hs256\"}", -1, "mixed case" },
		{ "{\"alg\":\"HS256 \"}", -1, "trailing space" },
		{ "{\"alg\":[\"HS256\"]}", -1, "an array" },
		{ "[\"HS256\"]", -1, "a header that is not an object" },
		{ "{\"alg\":\"HS256\",}", -1,
		    "a header that is not strict JSON" },
		{ "{\"alg\":\"HS256\"}", 0, "no typ is fine" },
	};

	assert_header_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(token, a_crit_header_is_refused_whatever_it_names)
{
	static const struct header_row rows[] = {
		{ "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"crit\":[\"exp\"]}", -1,
		    "crit exp" },
		{ "{\"alg\":\"HS256\",\"crit\":[\"x-acme\"],\"x-acme\":1}", -1,
		    "an unknown extension" },
		{ "{\"alg\":\"HS256\",\"crit\":[]}", -1,
		    "an empty crit (itself invalid)" },
		{ "{\"alg\":\"HS256\",\"crit\":null}", -1, "crit null" },
		{ "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"x-acme\":1}", 0,
		    "other unknown header members are ignored" },
	};

	assert_header_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(token, a_ver_of_2_to_the_31_or_more_is_refused)
{
	static const struct claims_row rows[] = {
		{ "\"ver\":2147483648", -1, "ver 2^31" },
		{ "\"ver\":4294967297", -1, "ver 2^32 + 1" },
		{ "\"ver\":9223372036854775807", -1, "ver 2^63 - 1" },
		{ "\"ver\":99999999999999999999", -1, "ver beyond 64 bits" },
		{ "\"ver\":-1", -1, "ver negative" },
		{ "\"ver\":2147483647", 0, "2^31 - 1 is the largest version" },
	};

	assert_claims_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(token, every_issued_token_has_a_jti_of_its_own_which_verify_reports)
{
	struct auth_user	 u1, u2;
	char			*a, *b;

	a = token_issue(&cfg, UID, "alice", "alice@example.com", 1,
	    (time_t)NOW);
	b = token_issue(&cfg, UID, "alice", "alice@example.com", 1,
	    (time_t)NOW);
	cr_assert(a != NULL && b != NULL);
	cr_assert_str_neq(a, b, "two tokens of one second still differ");
	memset(&u1, 0, sizeof(u1));
	memset(&u2, 0, sizeof(u2));
	cr_assert_eq(token_verify(&cfg, a, (time_t)NOW, &u1), 0);
	cr_assert_eq(token_verify(&cfg, b, (time_t)NOW, &u2), 0);
	cr_assert_eq(strlen(u1.tid), 22, "%s", u1.tid);
	cr_assert_str_neq(u1.tid, u2.tid);
	cr_assert_eq(u1.exp, NOW + 604800);
	free(a);
	free(b);
}

Test(token, a_token_without_jti_is_known_by_its_signature_and_a_bad_jti_is_refused)
{
	struct auth_user	 u;
	char			 c[512], *t;

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	t = make(HS256, c, SIG_HS256, SECRET);
	memset(&u, 0, sizeof(u));
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW, &u), 0);
	cr_assert(strncmp(u.tid, "s.", 2) == 0, "%s", u.tid);
	cr_assert_str_eq(u.tid + 2, strrchr(t, '.') + 1);
	free(t);
	claims_with(c, sizeof(c), "\"ver\":1,\"jti\":\"a b\"");
	assert_refused(c, "jti with a space");
	claims_with(c, sizeof(c), "\"ver\":1,\"jti\":\"\"");
	assert_refused(c, "empty jti");
	claims_with(c, sizeof(c), "\"ver\":1,\"jti\":12");
	assert_refused(c, "jti a number");
	claims_with(c, sizeof(c), "\"ver\":1,\"jti\":\"aaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
	assert_refused(c, "jti of 65 characters");
	claims_with(c, sizeof(c), "\"ver\":1,\"jti\":\"Ab-_09\"");
	cr_assert_eq(verify_made(HS256, c, SIG_HS256, SECRET), 0);
}

Test(token, an_overlong_or_empty_token_is_refused)
{
	char	*big;

	big = malloc(5000);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	big[100] = '.';
	big[200] = '.';
	cr_assert_eq(verify(big), -1);
	free(big);
	cr_assert_eq(verify(""), -1);
	cr_assert_eq(verify(".."), -1);
	cr_assert_eq(verify("a.b.c"), -1);
}

Test(token, nothing_verifies_or_is_issued_with_a_secret_under_32_bytes)
{
	char	 c[512], *t;

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	t = make(HS256, c, SIG_HS256, "short");
	cfg.jwt_secret_len = 5;
	memcpy(cfg.jwt_secret, "short", 5);
	cr_assert_eq(verify(t), -1);
	cr_assert_null(token_issue(&cfg, UID, "alice", "a@b.co", 1,
	    (time_t)NOW));
	free(t);
}

Test(token, only_the_bearer_scheme_yields_a_token)
{
	const char	*tok;

	cr_assert_eq(token_from_header("Bearer abc.def.ghi", &tok), 0);
	cr_assert_str_eq(tok, "abc.def.ghi");
	cr_assert_eq(token_from_header("bearer abc", &tok), 0,
	    "the scheme is case-insensitive (RFC 9110)");
	cr_assert_eq(token_from_header("Bearer   abc", &tok), 0);
	cr_assert_str_eq(tok, "abc");
	cr_assert_eq(token_from_header("Basic YWxpY2U6c2VjcmV0", &tok), -1);
	cr_assert_eq(token_from_header("Token abc", &tok), -1);
	cr_assert_eq(token_from_header("JWT abc", &tok), -1);
	cr_assert_eq(token_from_header("Bearerabc", &tok), -1);
	cr_assert_eq(token_from_header("Bearer", &tok), -1);
	cr_assert_eq(token_from_header("Bearer    ", &tok), -1);
	cr_assert_eq(token_from_header("abc.def.ghi", &tok), -1);
	cr_assert_eq(token_from_header("", &tok), -1);
}

/* The secret comes from the environment; config_load enforces it. */

static void
clear_secret_env(void)
{
	unsetenv("JWT_SECRET");
	unsetenv("JWT_SECRET_FILE");
	unsetenv("MP_ENV");
}

Test(secret, production_refuses_to_start_without_a_secret_of_32_bytes)
{
	struct config	 c;
	const char	*err = NULL;

	clear_secret_env();
	cr_assert_eq(config_load(&c, &err), -1);
	cr_assert(strstr(err, "JWT_SECRET") != NULL, "%s", err);
	setenv("JWT_SECRET", "0123456789012345678901234567890", 1);	/* 31 */
	cr_assert_eq(config_load(&c, &err), -1);
	setenv("JWT_SECRET", "01234567890123456789012345678901", 1);	/* 32 */
	cr_assert_eq(config_load(&c, &err), 0, "%s", err);
	cr_assert_eq(c.jwt_secret_len, 32);
	cr_assert(memcmp(c.jwt_secret, "01234567890123456789012345678901",
	    32) == 0);
}

Test(secret, development_without_a_secret_makes_a_random_one)
{
	struct config	 a, b;
	const char	*err = NULL;

	clear_secret_env();
	setenv("MP_ENV", "development", 1);
	cr_assert_eq(config_load(&a, &err), 0, "%s", err);
	cr_assert_geq(a.jwt_secret_len, 32);
	cr_assert_eq(config_load(&b, &err), 0);
	cr_assert(memcmp(a.jwt_secret, b.jwt_secret, a.jwt_secret_len) != 0);
	/* A short one given is still refused, even in development. */
	setenv("JWT_SECRET", "short", 1);
	cr_assert_eq(config_load(&a, &err), -1);
}

Test(secret, a_secret_file_is_read_whole_without_its_final_newline)
{
	struct config	 c;
	const char	*err = NULL;
	char		 path[] = "/tmp/mpapi-secret-XXXXXX";
	int		 fd;

	clear_secret_env();
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==\n",
	    49), 49);
	close(fd);
	setenv("JWT_SECRET_FILE", path, 1);
	setenv("JWT_SECRET", "ignored-when-a-file-is-named-0123456789", 1);
	cr_assert_eq(config_load(&c, &err), 0, "%s", err);
	cr_assert_eq(c.jwt_secret_len, 48);
	cr_assert(memcmp(c.jwt_secret,
	    "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==", 48) == 0);
	unlink(path);
	cr_assert_eq(config_load(&c, &err), -1, "an unreadable file");
}

/*
 * A secret longer than the 512 bytes the configuration holds is refused
 * at start-up, never cut (a cut one would sign with another key than
 * the one given), from the variable or the file, current or previous.
 */
Test(secret, a_secret_over_512_bytes_is_refused_not_cut)
{
	struct config	 c;
	const char	*err = NULL;
	char		 big[600], path[] = "/tmp/mpapi-secret-XXXXXX";
	int		 fd;

	clear_secret_env();
	memset(big, 'k', sizeof(big));
	big[512] = '\0';
	setenv("JWT_SECRET", big, 1);			/* 512: the most */
	cr_assert_eq(config_load(&c, &err), 0, "%s", err);
	cr_assert_eq(c.jwt_secret_len, 512);
	big[512] = 'k';
	big[513] = '\0';
	setenv("JWT_SECRET", big, 1);			/* 513 */
	cr_assert_eq(config_load(&c, &err), -1);
	cr_assert(strstr(err, "more than 512 bytes") != NULL, "%s", err);
	setenv("JWT_SECRET", "01234567890123456789012345678901", 1);
	setenv("JWT_PREVIOUS_SECRET", big, 1);
	cr_assert_eq(config_load(&c, &err), -1);
	cr_assert(strstr(err, "JWT_PREVIOUS_SECRET") != NULL, "%s", err);
	unsetenv("JWT_PREVIOUS_SECRET");

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, big, 512), 512);
	cr_assert_eq(write(fd, "\n", 1), 1);
	close(fd);
	setenv("JWT_SECRET_FILE", path, 1);		/* 512 and a newline */
	cr_assert_eq(config_load(&c, &err), 0, "%s", err);
	cr_assert_eq(c.jwt_secret_len, 512);
	fd = open(path, O_WRONLY | O_APPEND);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "kk", 2), 2);		/* 515 bytes in all */
	close(fd);
	cr_assert_eq(config_load(&c, &err), -1);
	cr_assert(strstr(err, "more than 512 bytes") != NULL, "%s", err);
	unlink(path);
	clear_secret_env();
}

/* Key rotation: two secrets at once, the header's kid naming the key. */

/* The header of a token as text (into hdr). */
static void
header_of(const char *t, char *hdr, size_t sz)
{
	size_t	 n;

	cr_assert_eq(sodium_base642bin((unsigned char *)hdr, sz - 1, t,
	    strcspn(t, "."), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	hdr[n] = '\0';
}

/* cfg after a rotation: OTHER signs, SECRET is the previous one. */
static void
rotate(void)
{
	memcpy(cfg.jwt_previous_secret, cfg.jwt_secret, cfg.jwt_secret_len);
	cfg.jwt_previous_secret_len = cfg.jwt_secret_len;
	memcpy(cfg.jwt_secret, OTHER, strlen(OTHER));
	cfg.jwt_secret_len = strlen(OTHER);
}

/* "kid":"<kid of key>", as a header member. */
static void
kid_member(char *out, size_t sz, const char *key)
{
	char	 kid[TOKEN_KID_LEN + 1];

	token_key_id((const unsigned char *)key, strlen(key), kid);
	snprintf(out, sz, "\"kid\":\"%s\"", kid);
}

/* The header {"alg":"HS256","kid":"<kid of key>"}. */
static void
kid_header(char *out, size_t sz, const char *key)
{
	char	 kid[TOKEN_KID_LEN + 1];

	token_key_id((const unsigned char *)key, strlen(key), kid);
	snprintf(out, sz, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
	    kid);
}

Test(token, an_issued_token_names_the_key_that_signed_it_in_kid)
{
	char	*t, hdr[256], want[128];

	t = token_issue(&cfg, UID, "alice", "alice@example.com", 1,
	    (time_t)NOW);
	cr_assert_not_null(t);
	header_of(t, hdr, sizeof(hdr));
	kid_member(want, sizeof(want), SECRET);
	cr_assert(strstr(hdr, want) != NULL, "%s has no %s", hdr, want);
	free(t);
}

Test(token, the_key_id_is_12_base64url_characters_and_differs_per_secret)
{
	char	 a[TOKEN_KID_LEN + 1], b[TOKEN_KID_LEN + 1];

	token_key_id((const unsigned char *)SECRET, strlen(SECRET), a);
	token_key_id((const unsigned char *)OTHER, strlen(OTHER), b);
	cr_assert_eq(strlen(a), TOKEN_KID_LEN);
	cr_assert_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_"), TOKEN_KID_LEN);
	cr_assert_str_neq(a, b);
}

Test(token, after_a_rotation_a_token_of_the_previous_secret_verifies_until_it_expires)
{
	struct auth_user	 u;
	char			*old;

	old = token_issue(&cfg, UID, "alice", "alice@example.com", 1,
	    (time_t)NOW);
	rotate();
	memset(&u, 0, sizeof(u));
	cr_assert_eq(token_verify(&cfg, old, (time_t)NOW + 60, &u), 0);
	cr_assert_str_eq(u.id, UID);
	cr_assert_eq(token_verify(&cfg, old, (time_t)NOW + 604800, &u), -1,
	    "dead at exp like any other");
	/* The previous secret dropped (after MP_TOKEN_TTL): refused. */
	cfg.jwt_previous_secret_len = 0;
	cr_assert_eq(token_verify(&cfg, old, (time_t)NOW + 60, &u), -1);
	free(old);
}

Test(token, after_a_rotation_new_tokens_are_signed_with_the_new_secret)
{
	struct config	 only_old = cfg, only_new;
	struct auth_user u;
	char		*t, hdr[256], want[128];

	rotate();
	only_new = cfg;
	only_new.jwt_previous_secret_len = 0;
	t = token_issue(&cfg, UID, "alice", "alice@example.com", 1,
	    (time_t)NOW);
	cr_assert_not_null(t);
	header_of(t, hdr, sizeof(hdr));
	kid_member(want, sizeof(want), OTHER);
	cr_assert(strstr(hdr, want) != NULL, "%s has no %s", hdr, want);
	cr_assert_eq(token_verify(&only_new, t, (time_t)NOW, &u), 0);
	cr_assert_eq(token_verify(&only_old, t, (time_t)NOW, &u), -1,
	    "the old secret alone does not verify it");
	free(t);
}

Test(token, a_token_without_kid_is_tried_with_the_current_then_the_previous_secret)
{
	char	 c[512];

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	rotate();
	cr_assert_eq(verify_made(HS256, c, SIG_HS256, OTHER), 0, "current");
	cr_assert_eq(verify_made(HS256, c, SIG_HS256, SECRET), 0, "previous");
	cr_assert_eq(verify_made(HS256, c, SIG_HS256,
	    "a-third-secret-nobody-configured-0123456789"), -1, "neither");
}

Test(token, a_kid_that_names_no_configured_key_is_refused)
{
	char	 c[512], h[128];

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	/* Signed by the secret, but naming a key we do not have. */
	kid_header(h, sizeof(h), OTHER);
	cr_assert_eq(verify_made(h, c, SIG_HS256, SECRET), -1);
	cr_assert_eq(verify_made("{\"alg\":\"HS256\",\"kid\":\"k1\"}", c,
	    SIG_HS256, SECRET), -1, "a kid of another shape");
	cr_assert_eq(verify_made("{\"alg\":\"HS256\",\"kid\":12}", c,
	    SIG_HS256, SECRET), -1, "a kid that is not a string");
	cr_assert_eq(verify_made("{\"alg\":\"HS256\",\"kid\":null}", c,
	    SIG_HS256, SECRET), -1, "kid null");
	kid_header(h, sizeof(h), SECRET);
	cr_assert_eq(verify_made(h, c, SIG_HS256, SECRET), 0,
	    "its own kid verifies");
}

Test(token, a_kid_naming_one_key_with_a_signature_by_the_other_is_refused)
{
	char	 c[512], h[128];

	claims(c, sizeof(c), NOW - 10, NOW + 3600);
	rotate();
	kid_header(h, sizeof(h), OTHER);
	cr_assert_eq(verify_made(h, c, SIG_HS256, SECRET), -1,
	    "kid of the current key, signed by the previous");
	kid_header(h, sizeof(h), SECRET);
	cr_assert_eq(verify_made(h, c, SIG_HS256, OTHER), -1,
	    "kid of the previous key, signed by the current");
	cr_assert_eq(verify_made(h, c, SIG_HS256, SECRET), 0);
}

Test(token, the_previous_secret_comes_from_the_environment_and_must_be_32_bytes)
{
	struct config	 c;
	const char	*err = NULL;

	unsetenv("JWT_SECRET_FILE");
	unsetenv("JWT_PREVIOUS_SECRET_FILE");
	setenv("JWT_SECRET", OTHER, 1);
	setenv("JWT_PREVIOUS_SECRET", SECRET, 1);
	cr_assert_eq(config_load(&c, &err), 0, "%s", err ? err : "");
	cr_assert_eq(c.jwt_previous_secret_len, strlen(SECRET));
	cr_assert_eq(memcmp(c.jwt_previous_secret, SECRET, strlen(SECRET)), 0);
	cr_assert_eq(c.jwt_secret_len, strlen(OTHER));
	setenv("JWT_PREVIOUS_SECRET", "short", 1);
	cr_assert_eq(config_load(&c, &err), -1);
	cr_assert_not_null(strstr(err, "JWT_PREVIOUS_SECRET"), "%s", err);
	unsetenv("JWT_PREVIOUS_SECRET");
	cr_assert_eq(config_load(&c, &err), 0);
	cr_assert_eq(c.jwt_previous_secret_len, 0, "none by default");
	setenv("JWT_PREVIOUS_SECRET_FILE", "/nonexistent/previous", 1);
	cr_assert_eq(config_load(&c, &err), -1);
	cr_assert_not_null(strstr(err, "JWT_PREVIOUS_SECRET_FILE"), "%s", err);
	unsetenv("JWT_PREVIOUS_SECRET_FILE");
	unsetenv("JWT_SECRET");
}

Test(token, a_paging_or_sync_cursor_signed_before_a_rotation_still_decodes_during_it)
{
	struct page_cursor	 c = { 7, "0b7c2e1a-1d2f-4c3b-9a8e-7f6d5c4b3a21",
				    3 }, d;
	char			*old, *fresh;

	old = cursor_encode(&cfg, "loops:new", &c);
	cr_assert_not_null(old);
	rotate();
	cr_assert_eq(cursor_decode(&cfg, "loops:new", old, &d), 0);
	cr_assert_str_eq(d.id, c.id);
	fresh = cursor_encode(&cfg, "loops:new", &c);
	cr_assert_str_neq(fresh, old, "new cursors use the new secret");
	cr_assert_eq(cursor_decode(&cfg, "loops:other", old, &d), -1,
	    "still bound to its list");
	cfg.jwt_previous_secret_len = 0;
	cr_assert_eq(cursor_decode(&cfg, "loops:new", old, &d), -1,
	    "the previous secret dropped: refused");
	cr_assert_eq(cursor_decode(&cfg, "loops:new", fresh, &d), 0);
	free(old);
	free(fresh);
}

/*
 * The cache of verified tokens (token_seen in handlers/token.c): a
 * token verified once is answered again without libjwt, and the answer
 * must be what a full check gives at that time and under that
 * configuration.
 */
Test(token, a_token_verified_again_gives_the_same_user_until_its_exp_and_not_before_its_iat)
{
	struct auth_user	 u, again;
	char			 c[512], *t;

	claims(c, sizeof(c), NOW, NOW + 3600);
	t = make(HS256, c, SIG_HS256, SECRET);
	memset(&u, 0, sizeof(u));
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW, &u), 0);
	memset(&again, 0, sizeof(again));
	again.present = 1;
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW + 10, &again), 0);
	cr_assert(again.valid);
	cr_assert_eq(again.present, 1, "the caller's own flag is kept");
	cr_assert_str_eq(again.id, u.id);
	cr_assert_str_eq(again.username, "alice");
	cr_assert_str_eq(again.tid, u.tid);
	cr_assert_eq(again.ver, 3);
	cr_assert_eq(again.exp, NOW + 3600);
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW + 3599, &again), 0);
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW + 3600, &again), -1,
	    "dead at exp, verified before or not");
	cr_assert_not(again.valid);
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW - 61, &again), -1,
	    "iat more than 60 s ahead of the clock");
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW - 60, &again), 0);
	free(t);
}

Test(token, a_verified_token_with_nbf_is_refused_before_nbf_even_once_verified)
{
	struct auth_user	 u;
	char			 c[512], *t;

	snprintf(c, sizeof(c), "{\"sub\":\"" UID "\",\"username\":\"alice\","
	    "\"iss\":\"music-playground-api\",\"aud\":\"music-playground\","
	    "\"ver\":1,\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}", NOW - 100,
	    NOW, NOW + 3600);
	t = make(HS256, c, SIG_HS256, SECRET);
	memset(&u, 0, sizeof(u));
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW, &u), 0);
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW - 5, &u), 0,
	    "within nbf's 5 s of skew");
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW - 6, &u), -1);
	free(t);
}

Test(token, a_verified_token_is_refused_once_the_secret_issuer_or_audience_changes)
{
	struct config		 keep = cfg;
	struct auth_user	 u;
	char			 c[512], *t;

	claims(c, sizeof(c), NOW, NOW + 3600);
	t = make(HS256, c, SIG_HS256, SECRET);
	memset(&u, 0, sizeof(u));
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW, &u), 0);
	memcpy(cfg.jwt_secret, OTHER, strlen(OTHER));
	cfg.jwt_secret_len = strlen(OTHER);
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW, &u), -1,
	    "another secret");
	cfg = keep;
	cfg.jwt_issuer = "someone-else";
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW, &u), -1,
	    "another issuer");
	cfg = keep;
	cfg.jwt_audience = "someone-else";
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW, &u), -1,
	    "another audience");
	cfg = keep;
	cr_assert_eq(token_verify(&cfg, t, (time_t)NOW, &u), 0);
	free(t);
}

Test(token, many_tokens_verified_in_turn_each_still_verifies_and_a_forged_one_never_does)
{
	struct auth_user	 u;
	char			 c[512], *t[200], *forged;
	int			 i, round;

	for (i = 0; i < 200; i++) {
		claims(c, sizeof(c), NOW - i, NOW + 3600);
		t[i] = make(HS256, c, SIG_HS256, SECRET);
	}
	for (round = 0; round < 2; round++)
		for (i = 0; i < 200; i++) {
			memset(&u, 0, sizeof(u));
			cr_assert_eq(token_verify(&cfg, t[i], (time_t)NOW, &u),
			    0, "token %d, round %d", i, round);
			cr_assert_eq(u.iat, NOW - i);
		}
	claims(c, sizeof(c), NOW, NOW + 3600);
	forged = make(HS256, c, SIG_HS256, OTHER);
	for (i = 0; i < 3; i++)
		cr_assert_eq(verify(forged), -1);
	for (i = 0; i < 200; i++)
		free(t[i]);
	free(forged);
}
