/*
 * Integration: the JWT secret rotates without signing anybody out
 * (issue 17).  deploy/dev's jwt-rotate puts a new secret in
 * JWT_SECRET_FILE and the old one in JWT_PREVIOUS_SECRET_FILE and
 * restarts the workers; jwt-forget-previous drops the old one.
 * Through nginx against PostgreSQL.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "handlers/handlers.h"
#include "t/itauth.h"

static int	 rotated;

/* Never leave the stack in the middle of a rotation. */
static void
fini(void)
{
	if (rotated)
		it_ctl("jwt-forget-previous");
}

TestSuite(keys, .init = ia_init, .fini = fini, .timeout = 180);

/* The kid of a token's header into kid ("" when none). */
static void
kid_of(const char *tok, char *kid, size_t sz)
{
	unsigned char	 hdr[512];
	size_t		 n;
	json_object	*o, *k;

	cr_assert_eq(sodium_base642bin(hdr, sizeof(hdr) - 1, tok,
	    strcspn(tok, "."), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	hdr[n] = '\0';
	o = json_tokener_parse((const char *)hdr);
	cr_assert_not_null(o, "header %s", hdr);
	kid[0] = '\0';
	if (json_object_object_get_ex(o, "kid", &k))
		snprintf(kid, sz, "%s", json_object_get_string(k));
	json_object_put(o);
}

/* The kid of the stack's current secret. */
static void
current_kid(char kid[TOKEN_KID_LEN + 1])
{
	size_t	 len;
	char	*s = ia_secret(&len);

	token_key_id((const unsigned char *)s, len, kid);
	free(s);
}

/*
 * After the workers were restarted: wait until they answer (the old
 * socket file may still be there a moment while the new supervisor
 * binds).
 */
static void
wait_ready(void)
{
	struct it_resp	 r;
	int		 i, st;

	for (i = 0; i < 100; i++) {
		st = 0;
		if (it_request("GET", "/ready", NULL, NULL, &r) == 0) {
			st = r.status;
			it_resp_free(&r);
		}
		if (st == 200)
			return;
		usleep(100 * 1000);
	}
	cr_assert_fail("the workers did not come back");
}

static int
me_status(const char *token)
{
	struct it_resp	 r;
	int		 st;

	ia_send("GET", "/api/auth/me", token, NULL, &r);
	st = r.status;
	if (st == 401)
		ia_assert_invalid_token(&r);
	it_resp_free(&r);
	return st;
}

static char *
login_token(const struct ia_user *u)
{
	struct it_resp	 r;
	char		*t;

	ia_login(u->email, u->password, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	t = strdup(it_str(r.json, "token"));
	it_resp_free(&r);
	return t;
}

Test(keys, a_rotation_keeps_old_tokens_until_the_old_secret_is_dropped_and_signs_new_ones_with_the_new)
{
	struct ia_user	 u;
	char		 k1[TOKEN_KID_LEN + 1], k2[TOKEN_KID_LEN + 1];
	char		 kid[64], *newer;

	ia_new_user(&u);
	current_kid(k1);
	kid_of(u.token, kid, sizeof(kid));
	cr_assert_str_eq(kid, k1, "a token names the key that signed it");
	cr_assert_eq(me_status(u.token), 200);

	cr_assert_eq(it_ctl("jwt-rotate"), 0, "jwt-rotate failed");
	rotated = 1;
	wait_ready();
	current_kid(k2);
	cr_assert_str_neq(k1, k2, "the rotation made a new secret");
	cr_assert_eq(me_status(u.token), 200,
	    "a token of the old secret is still good");
	newer = login_token(&u);
	kid_of(newer, kid, sizeof(kid));
	cr_assert_str_eq(kid, k2, "new tokens are signed with the new key");
	cr_assert_eq(me_status(newer), 200);

	cr_assert_eq(it_ctl("jwt-forget-previous"), 0);
	rotated = 0;
	wait_ready();
	cr_assert_eq(me_status(u.token), 401,
	    "the old secret dropped: its tokens are refused");
	cr_assert_eq(me_status(newer), 200, "the new key's tokens stay good");
	free(newer);
}

Test(keys, a_token_naming_a_key_the_service_does_not_have_is_refused)
{
	struct ia_user	 u;
	char		*claims, *tok;

	ia_new_user(&u);
	claims = ia_claims(&u, 1, NULL);
	/* Signed with the stack's secret, but naming another key. */
	tok = ia_craft_raw("{\"alg\":\"HS256\",\"typ\":\"JWT\","
	    "\"kid\":\"AAAAAAAAAAAA\"}", claims);
	cr_assert_eq(me_status(tok), 401);
	free(tok);
	/* The same without kid (a token from before key ids) is good. */
	tok = ia_craft_raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims);
	cr_assert_eq(me_status(tok), 200);
	free(tok);
	free(claims);
}
