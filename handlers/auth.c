/*
 * Accounts, the /api/auth routes: signup, login, me, password change,
 * logout.
 *
 * Passwords are hashed and checked here, with no transaction open: a
 * login is two autocommitted statements around the (slow, on purpose)
 * hash, so a worker busy hashing holds no lock and no snapshot.  With
 * an Idempotency-Key the write transaction is opened by write_enter()
 * once the hashing is done (these routes are ROUTE_HASHES), and
 * hashing_allowed() refuses to hash should one ever be open.
 * Nothing here logs or echoes a password, a hash or a token.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "handlers/handlers.h"
#include "handlers/model.h"

#define EMAIL_MAX	255
#define USERNAME_MIN	3
#define USERNAME_MAX	30

#define MSG_EMAIL	"must be an email address (one @, a dot in the " \
			    "domain, printable ASCII, no spaces)"
#define MSG_USERNAME	"must be 3-30 characters of A-Z, a-z, 0-9, _ . -"
#define MSG_IDENTIFIER	"must be an email address or a username"

/*
 * 1 if s is an email address as the schema accepts it (users_email_shape):
 * at most 255 characters of printable ASCII without spaces, exactly
 * one '@' with something before it, and a domain with a dot that has
 * something on both sides.
 */
int
auth_email_is_valid(const char *s)
{
	const char	*at = NULL, *p, *dot;
	size_t		 len;

	if (s == NULL || (len = strlen(s)) < 5 || len > EMAIL_MAX)
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p <= ' ' || *p > '~')
			return 0;
		if (*p == '@') {
			if (at != NULL)
				return 0;
			at = p;
		}
	}
	if (at == NULL || at == s || at[1] == '\0')
		return 0;
	/* A dot inside the domain: not its first or last character. */
	dot = strchr(at + 2, '.');
	return dot != NULL && dot[1] != '\0';
}

/* 1 if s is 3-30 characters of [A-Za-z0-9_.-]. */
int
auth_username_is_valid(const char *s)
{
	size_t	 n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '_' || s[n] == '.' || s[n] == '-'))
			return 0;
	return n >= USERNAME_MIN && n <= USERNAME_MAX;
}

/*
 * Record an error and return 1 when member key of body is a string
 * that is not well-formed UTF-8 (see jv_utf8_is_valid).
 */
int
auth_string_is_bad_utf8(json_object *body, const char *key,
    struct field_errors *fe)
{
	json_object	*v;

	if (!json_object_object_get_ex(body, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    jv_utf8_is_valid(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v)))
		return 0;
	field_errors_add(fe, key, "must be valid UTF-8");
	return 1;
}

/*
 * Read a required string member of the body (which may be NULL: no
 * body) of minc-maxc characters; NULL once an error is recorded.
 */
static const char *
required_string(json_object *body, const char *key, size_t minc,
    size_t maxc, struct field_errors *fe, size_t *len)
{
	json_object	*v;
	const char	*s = NULL;

	if (auth_string_is_bad_utf8(body, key, fe))
		return NULL;
	switch (jv_string(body, key, key, minc, maxc, fe, &s)) {
	case JV_ABSENT:
		field_errors_add(fe, key, "is required");
		return NULL;
	case JV_BAD:
		return NULL;
	default:
		break;
	}
	if (len != NULL) {
		json_object_object_get_ex(body, key, &v);
		*len = (size_t)json_object_get_string_len(v);
	}
	return s;
}

/*
 * Validate a signup body (NULL: none): 0 with the email, the username
 * and the password (borrowed from body) and the password's length in
 * bytes, or -1 with every error recorded in fe.  Pure: the fuzz target
 * fuzz_signup calls it.
 */
int
auth_signup_check(json_object *body, struct field_errors *fe,
    const char **email, const char **username, const char **pw,
    size_t *pwlen)
{
	size_t	 n = fe->count;

	*pwlen = 0;
	*email = required_string(body, "email", 1, EMAIL_MAX, fe, NULL);
	if (*email != NULL && !auth_email_is_valid(*email))
		field_errors_add(fe, "email", MSG_EMAIL);
	*username = required_string(body, "username", USERNAME_MIN,
	    USERNAME_MAX, fe, NULL);
	if (*username != NULL && !auth_username_is_valid(*username))
		field_errors_add(fe, "username", MSG_USERNAME);
	*pw = required_string(body, "password", PASSWORD_MIN_CHARS,
	    PASSWORD_MAX_CHARS, fe, pwlen);
	return fe->count > n ? -1 : 0;
}

/*
 * Issue a token for acct and answer status with
 * {"user":<json>,"token":"…","expiresAt":"…"}, or {"token","expiresAt"}
 * when json is NULL.
 */
static void
reply_token(struct ctx *c, int status, const struct db_account *acct,
    const char *json)
{
	struct buf	 b = BUF_INIT;
	char		*token, expires[TOKEN_EXPIRES_LEN + 1];

	if ((token = token_issue(c->cfg, acct->id, acct->username,
	    acct->email, acct->token_version, c->now)) == NULL) {
		reply_problem(c, 500, NULL, "Internal server error",
		    "An unexpected error occurred.");
		return;
	}
	token_expires_at(c->cfg, c->now, expires);
	buf_putc(&b, '{');
	if (json != NULL) {
		buf_puts(&b, "\"user\":");
		buf_puts(&b, json);
		buf_putc(&b, ',');
	}
	buf_puts(&b, "\"token\":");
	buf_json_str(&b, token, strlen(token));
	buf_puts(&b, ",\"expiresAt\":\"");
	buf_puts(&b, expires);
	buf_puts(&b, "\"}");
	http_response_json(c->resp, status, b.data, b.len);
	sodium_memzero(b.data, b.len);
	buf_release(&b);
	sodium_memzero(token, strlen(token));
	free(token);
}

/*
 * 0 when no transaction is open, so a password may be hashed now; else
 * -1 with a 500 written (a bug: hashing would hold the transaction's
 * locks and snapshot for the length of the hash).
 */
static int
hashing_allowed(struct ctx *c)
{
	if (!db_in_transaction(c->db))
		return 0;
	log_msg("error", "%s: a transaction is open where a password is "
	    "hashed", c->route->pattern);
	reply_problem(c, 500, NULL, "Internal server error",
	    "An unexpected error occurred.");
	return -1;
}

/* The client address the throttles count by ("-" when unknown). */
static const char *
client_address(const struct ctx *c)
{
	const char	*a = c->req->remote_addr;

	return a != NULL && *a != '\0' && strlen(a) <= 64 ? a : "-";
}

static void
throttle_limits(const struct config *cfg, struct db_throttle_limits *l)
{
	l->each_max = cfg->login_max_failures;
	l->each_window_s = cfg->login_window_s;
	l->total_max = cfg->login_account_max;
	l->total_window_s = cfg->login_account_window_s;
}

static void
reply_too_many(struct ctx *c, int retry_after, const char *what)
{
	http_set_header(c->resp, "Retry-After", "%d", retry_after);
	reply_problem(c, 429, "too-many-attempts", what,
	    "Too many failed attempts; retry after the number of seconds "
	    "in Retry-After.");
}

static void
reply_bad_credentials(struct ctx *c)
{
	http_set_header(c->resp, "WWW-Authenticate", "Bearer realm=\"api\"");
	reply_problem(c, 401, "invalid-credentials",
	    "Invalid email or password",
	    "No account matches this email (or username) and password.");
}

/*
 * POST /api/auth/signup {email, username, password} -> 201 {user, token,
 * expiresAt}.  409 when the email or the username is taken
 * (case-insensitively).
 */
void
auth_signup(struct ctx *c)
{
	struct field_errors	 fe;
	struct db_account	 acct;
	struct buf		 extra = BUF_INIT;
	const char		*email, *username, *pw, *field;
	char			 hash[PASSWORD_HASH_MAX];
	size_t			 pwlen = 0;
	enum db_status		 s;

	memset(&acct, 0, sizeof(acct));
	field_errors_init(&fe);
	if (auth_signup_check(c->body, &fe, &email, &username, &pw,
	    &pwlen) != 0) {
		field_errors_problem(&fe, c->resp, "Validation failed");
		goto out;
	}
	if (hashing_allowed(c) != 0)
		goto out;
	if (password_hash(c->cfg, pw, pwlen, hash) != 0) {
		reply_problem(c, 500, NULL, "Internal server error",
		    "An unexpected error occurred.");
		goto out;
	}
	if (write_enter(c) != 0) {
		sodium_memzero(hash, sizeof(hash));
		goto out;
	}
	s = db_user_create(c->db, email, username, hash, &acct);
	sodium_memzero(hash, sizeof(hash));
	if (s == DB_UNIQUE && (field = db_user_conflict_field(c->db)) != NULL) {
		buf_printf(&extra, "\"errors\":[{\"field\":\"%s\","
		    "\"message\":\"is already taken\"}]", field);
		http_problem(c->resp, 409, "already-exists",
		    strcmp(field, "email") == 0 ? "Email already registered" :
		    "Username already taken",
		    strcmp(field, "email") == 0 ?
		    "email: an account with this email already exists" :
		    "username: an account with this username already exists",
		    extra.data);
		goto out;
	}
	if (s != DB_OK) {
		reply_db_error(c, s);
		goto out;
	}
	http_set_header(c->resp, "Location", "/api/users/%s", acct.username);
	reply_token(c, 201, &acct, acct.json);
out:
	buf_release(&extra);
	field_errors_release(&fe);
	db_account_release(&acct);
}

/*
 * POST /api/auth/login {email, password} -> 200 {user, token,
 * expiresAt}; email may hold the username instead.  A wrong password
 * and an unknown account get the same 401 after the same work.  The
 * attempt is throttled per identifier and client address (a delay that
 * grows) under a ceiling per identifier: over either, 429 with
 * Retry-After whatever the password.  A right password over a bcrypt
 * hash (or an Argon2id hash of another cost) is re-hashed now.
 */
void
auth_login(struct ctx *c)
{
	struct field_errors	 fe;
	struct db_account	 acct;
	struct db_throttle	 th;
	struct db_throttle_limits lim;
	const char		*ident, *pw;
	char			 hash[PASSWORD_HASH_MAX];
	size_t			 pwlen = 0;
	enum password_result	 r;
	enum db_status		 s;
	int			 found = 0, rehash = 0;

	memset(&acct, 0, sizeof(acct));
	field_errors_init(&fe);
	ident = required_string(c->body, "email", 1, EMAIL_MAX, &fe, NULL);
	if (ident != NULL && !auth_email_is_valid(ident) &&
	    !auth_username_is_valid(ident))
		field_errors_add(&fe, "email", MSG_IDENTIFIER);
	pw = required_string(c->body, "password", 1, PASSWORD_MAX_CHARS, &fe,
	    &pwlen);
	if (fe.count > 0) {
		field_errors_problem(&fe, c->resp, "Validation failed");
		goto out;
	}
	throttle_limits(c->cfg, &lim);
	s = db_login_begin(c->db, ident, client_address(c), &lim, &th, &acct,
	    &found);
	if (s != DB_OK) {
		reply_db_error(c, s);
		goto out;
	}
	if (!th.allowed) {
		reply_too_many(c, th.retry_after, "Too many failed login attempts");
		goto out;
	}
	if (hashing_allowed(c) != 0)
		goto out;
	if (found)
		r = password_verify(c->cfg, acct.password_hash, pw, pwlen);
	else {
		password_burn(c->cfg, pw, pwlen);
		r = PASSWORD_MISMATCH;
	}
	if (r != PASSWORD_MATCH && r != PASSWORD_MATCH_REHASH) {
		if (r == PASSWORD_UNUSABLE)
			log_msg("warn", "login: account %s has a stored hash of "
			    "no known form", acct.id);
		reply_bad_credentials(c);
		goto out;
	}
	if (r == PASSWORD_MATCH_REHASH &&
	    password_hash(c->cfg, pw, pwlen, hash) == 0)
		rehash = 1;
	if (write_enter(c) != 0)
		goto out;
	s = db_login_finish(c->db, ident, client_address(c),
	    acct.password_hash, rehash ? hash : NULL, &acct);
	if (s == DB_NOT_FOUND) {
		reply_bad_credentials(c);
		goto out;
	}
	if (s != DB_OK) {
		reply_db_error(c, s);
		goto out;
	}
	reply_token(c, 200, &acct, acct.json);
out:
	if (rehash)
		sodium_memzero(hash, sizeof(hash));
	field_errors_release(&fe);
	db_account_release(&acct);
}

/*
 * GET /api/auth/me (and GET /api/users/me) -> 200 {user}, with the
 * write budget in RateLimit-Limit/Remaining/Reset (read, not spent).
 */
void
auth_me(struct ctx *c)
{
	struct db_budget b;
	char		*json = NULL;
	enum db_status	 s;

	s = db_user_me_budget(c->db, c->user.id, c->user.ver,
	    c->cfg->write_window_s, &json, &b);
	if (s == DB_NOT_FOUND)
		reply_unauthorized(c, 1);
	else if (s != DB_OK)
		reply_db_error(c, s);
	else {
		ratelimit_headers(c->resp, c->cfg->write_limit, b.used,
		    b.reset_s);
		reply_json_wrapped(c, 200, "user", json);
	}
	free(json);
}

/*
 * POST /api/auth/password {currentPassword, newPassword} -> 200 {token,
 * expiresAt}: a fresh token for the caller; the token version goes up,
 * so every token issued before (the caller's included) is refused from
 * now on.  A wrong current password is 403; those attempts are
 * throttled per token and per client address, never per account, so
 * the owner on another device can always change it.
 */
void
auth_password(struct ctx *c)
{
	struct field_errors	 fe;
	struct db_throttle	 th;
	struct db_throttle_limits lim;
	struct db_account	 acct;
	const char		*cur, *next;
	char			 hash[PASSWORD_HASH_MAX], *stored = NULL;
	size_t			 curlen = 0, nextlen = 0;
	enum password_result	 r;
	enum db_status		 s;

	memset(&acct, 0, sizeof(acct));
	field_errors_init(&fe);
	hash[0] = '\0';
	cur = required_string(c->body, "currentPassword", 1,
	    PASSWORD_MAX_CHARS, &fe, &curlen);
	next = required_string(c->body, "newPassword", PASSWORD_MIN_CHARS,
	    PASSWORD_MAX_CHARS, &fe, &nextlen);
	if (fe.count > 0) {
		field_errors_problem(&fe, c->resp, "Validation failed");
		goto out;
	}
	throttle_limits(c->cfg, &lim);
	s = db_password_begin(c->db, c->user.id, c->user.ver, c->user.tid,
	    client_address(c), &lim, &th, &stored);
	if (s == DB_NOT_FOUND) {
		reply_unauthorized(c, 1);
		goto out;
	}
	if (s != DB_OK) {
		reply_db_error(c, s);
		goto out;
	}
	if (!th.allowed) {
		reply_too_many(c, th.retry_after,
		    "Too many failed password attempts");
		goto out;
	}
	if (hashing_allowed(c) != 0)
		goto out;
	r = password_verify(c->cfg, stored, cur, curlen);
	if (r != PASSWORD_MATCH && r != PASSWORD_MATCH_REHASH) {
		http_problem(c->resp, 403, "wrong-password",
		    "Current password is incorrect",
		    "currentPassword: is incorrect",
		    "\"errors\":[{\"field\":\"currentPassword\","
		    "\"message\":\"is incorrect\"}]");
		goto out;
	}
	if (password_hash(c->cfg, next, nextlen, hash) != 0) {
		reply_problem(c, 500, NULL, "Internal server error",
		    "An unexpected error occurred.");
		goto out;
	}
	if (write_enter(c) != 0)
		goto out;
	s = db_password_set(c->db, c->user.id, c->user.ver, client_address(c),
	    hash, &acct);
	if (s == DB_NOT_FOUND)
		reply_unauthorized(c, 1);
	else if (s != DB_OK)
		reply_db_error(c, s);
	else
		reply_token(c, 200, &acct, NULL);
out:
	sodium_memzero(hash, sizeof(hash));
	if (stored != NULL) {
		sodium_memzero(stored, strlen(stored));
		free(stored);
	}
	field_errors_release(&fe);
	db_account_release(&acct);
}

/*
 * POST /api/auth/logout -> 204: the token of this request is refused
 * from now on (until it would have expired); the account's other
 * tokens are not.
 */
void
auth_logout(struct ctx *c)
{
	enum db_status	 s;

	s = db_token_revoke(c->db, c->user.id, c->user.ver, c->user.tid,
	    c->user.exp);
	reply_no_content(c, s);
}

/*
 * POST /api/auth/logout-all -> 204: every token of the account, this
 * one included, is refused from now on; the password stays.
 */
void
auth_logout_all(struct ctx *c)
{
	enum db_status	 s;

	s = db_tokens_revoke_all(c->db, c->user.id, c->user.ver);
	reply_no_content(c, s);
}
