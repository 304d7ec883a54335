/*
 * Helpers shared by the accounts integration tests (it_auth, it_users,
 * it_auth_ops): requests with a bearer token, problem+json checks,
 * accounts made with a chosen password, and tokens crafted with
 * libjwt under the stack's own secret.
 */
#ifndef MP_ITAUTH_H
#define MP_ITAUTH_H

#include <stddef.h>

#include "t/itlib.h"

struct ia_user {
	char	 id[40];
	char	 username[40];
	char	 email[64];
	char	 password[64];
	char	 token[1024];
};

/*
 * Per-test set-up: send from a loopback address derived from the pid
 * (nginx limits logins per address; see it_source).
 */
void	 ia_init(void);

/* Send method path with an optional bearer token and JSON body. */
void	 ia_send(const char *method, const char *path, const char *token,
	    const char *body, struct it_resp *);
/* The same with one more header line ("Name: value"). */
void	 ia_send_h(const char *method, const char *path, const char *token,
	    const char *header, const char *body, struct it_resp *);

/* Sign up a fresh user with a password of its own; asserts 201. */
void	 ia_new_user(struct ia_user *);
/* POST /api/auth/login {email: ident, password}. */
void	 ia_login(const char *ident, const char *password, struct it_resp *);

/*
 * Assert r is problem+json with status and type slug; when field is
 * not NULL, errors[] must name it.
 */
void	 ia_assert_problem(const struct it_resp *, int status,
	    const char *type, const char *field);
/* Assert a 401 of the invalid-token kind (header and body). */
void	 ia_assert_invalid_token(const struct it_resp *);

/* 1 when member key of the object at path is present and null. */
int	 ia_is_null(json_object *, const char *path, const char *key);

/* Rows of users whose email or username is name (case-insensitive). */
long long ia_count_users(const char *name);

/* The stack's JWT secret (the file's bytes, as the workers use them). */
char	*ia_secret(size_t *len);

/*
 * A token made with libjwt: alg "HS256", "HS512" or "none", signed
 * with key (NULL: the stack's secret), the usual claims of user u with
 * iat and exp relative to now, token version ver, and iss/aud as given
 * (NULL: the service's defaults).  Caller frees.
 */
char	*ia_craft(const char *alg, const char *key, const struct ia_user *u,
	    long long ver, long long iat_delta, long long exp_delta,
	    const char *iss, const char *aud);

/*
 * A token of exactly this header and payload (JSON texts), signed
 * HS256 with the stack's secret.  Caller frees.
 */
char	*ia_craft_raw(const char *header, const char *payload);
/*
 * The usual claims of u with token version ver (iat 10 s ago, exp in
 * an hour) and, when extra is not NULL, its members added.  Caller
 * frees.
 */
char	*ia_claims(const struct ia_user *, long long ver, const char *extra);

#endif
