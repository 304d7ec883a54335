/*
 * The one fixture of the integration tests: users (made straight in
 * the database with a token the service would sign, or through the
 * signup route with a password of their own), crafted tokens, items
 * (through the API or straight in the database), requests as a user,
 * and the checks every suite makes (problem+json answers, counts of
 * rows).  Everything that can fail asserts: a fixture that cannot be
 * made fails the test that wanted it.  Built on t/itlib.h (the HTTP
 * client and the database connection).
 */
#ifndef MP_ITFIXTURE_H
#define MP_ITFIXTURE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "t/itlib.h"

struct itfx_user {
	char	 id[64];
	char	 username[64];
	char	 email[96];
	char	 password[96];		/* "" for users made in the database */
	char	 token[1024];
	char	 auth[1100];		/* "Authorization: Bearer <token>" */
};

/* ---- users and tokens ---------------------------------------------- */

/*
 * A fresh user made in the database (no password hashing, nothing of
 * the accounts routes) with a bearer token signed by the stack's
 * secret (MP_TEST_JWT_SECRET_FILE).
 */
void	 itfx_db_user(struct itfx_user *);
/* A fresh user through POST /api/auth/signup, with a password. */
void	 itfx_signup(struct itfx_user *);
/* Set u's token (and auth line) to token. */
void	 itfx_use_token(struct itfx_user *, const char *token);

/*
 * Per-test set-up of the accounts suites: send from a loopback address
 * derived from the pid (nginx limits logins per address; it_source).
 */
void	 itfx_init(void);

/* The stack's JWT secret (the file's bytes, as the workers use them). */
char	*itfx_secret(size_t *len);
/*
 * A token made with libjwt: alg "HS256", "HS512" or "none", signed
 * with key (NULL: the stack's secret), the usual claims of u with iat
 * and exp relative to now, token version ver, and iss/aud as given
 * (NULL: the service's defaults).  Caller frees.
 */
char	*itfx_craft(const char *alg, const char *key,
	    const struct itfx_user *, long long ver, long long iat_delta,
	    long long exp_delta, const char *iss, const char *aud);
/* A token of exactly this header and payload, HS256 with the secret. */
char	*itfx_craft_raw(const char *header, const char *payload);
/*
 * The usual claims of u with token version ver (iat 10 s ago, exp in
 * an hour) and, when extra is not NULL, its members added.
 */
char	*itfx_claims(const struct itfx_user *, long long ver,
	    const char *extra);

/* The exp claim of a token (its payload decoded, not verified). */
long long itfx_token_exp(const char *token);

/* ---- requests ------------------------------------------------------ */

/*
 * One request as u (NULL: anonymous) with extra header lines
 * (NULL-terminated list, or NULL).  Asserts that a response came.
 */
void	 itfx_req(const char *method, const char *path,
	    const struct itfx_user *, const char *const *extra,
	    const char *body, struct it_resp *);
/* The same with a bare token (NULL: none) and at most one extra line. */
void	 itfx_send(const char *method, const char *path, const char *token,
	    const char *body, struct it_resp *);
void	 itfx_send_h(const char *method, const char *path, const char *token,
	    const char *header, const char *body, struct it_resp *);
/* POST /api/auth/login {email: ident, password}. */
void	 itfx_login(const char *ident, const char *password,
	    struct it_resp *);

/* ---- items --------------------------------------------------------- */

/* A valid loop body named name, public or not (a static buffer). */
const char *itfx_loop_body(const char *name, int is_public);
/* Create a loop from body as u through the API (asserts 201). */
void	 itfx_loop(const struct itfx_user *, const char *body, char *id,
	    size_t idsz);
/*
 * A loop (bars long) or a song (at bpm) of owner made in the database;
 * is_public < 0 leaves the column's default.  Caller frees the id.
 */
char	*itfx_db_loop(const char *owner, const char *name, int bars,
	    int is_public);
char	*itfx_db_song(const char *owner, const char *name, int bpm,
	    int is_public);

/* ---- checks -------------------------------------------------------- */

/*
 * Assert r is problem+json with status; when type is not NULL its
 * type is that slug's URL, and when field is not NULL errors[] names
 * it (with a message).
 */
void	 itfx_assert_problem(const struct it_resp *, int status,
	    const char *type, const char *field);
/* Assert a 401 of the invalid-token kind (header and body). */
void	 itfx_assert_invalid_token(const struct it_resp *);
/* 1 if the problem body's errors[] names field. */
int	 itfx_names_field(const struct it_resp *, const char *field);
/* 1 when member key of the object at path is present and null. */
int	 itfx_is_null(json_object *, const char *path, const char *key);

/* Database checks with one text parameter (NULL: none). */
long long itfx_count1(const char *sql, const char *p1);
char	*itfx_text1(const char *sql, const char *p1);
/* Rows of u's loops, songs; of users whose email or username is name. */
long long itfx_loops_of(const struct itfx_user *);
long long itfx_songs_of(const struct itfx_user *);
long long itfx_count_users(const char *name);

/* A new connection to the test database (caller PQfinishes), or NULL. */
PGconn	*itfx_conn(void);
/* Run sql with params on c; 0 when it succeeded. */
int	 itfx_exec(PGconn *c, const char *sql, int n, const char *const *p);

/*
 * Old names, kept only while tests written against them in other
 * branches land (it_faults and it_soak use itfx_user, it_keys and
 * it_matrix the ia_ names of t/itauth.h, it_pgbouncer it_signup of
 * t/itlib.h); new tests use the names above.  itfx_user: a user made
 * in the database, its token and id copied; 0 (it asserts otherwise).
 */
int	 itfx_user(char *token, size_t tsz, char *id, size_t isz);

#endif
