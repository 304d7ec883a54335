/*
 * Accounts, the /api/auth routes: signup, login, me, password change.
 *
 * Passwords are hashed and checked here, with no transaction open: a
 * login is two autocommitted statements around the (slow, on purpose)
 * hash, so a worker busy hashing holds no lock and no snapshot.
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

/* {"user":<json>,"token":"<token>"} with status. */
static void
reply_user_token(struct ctx *c, int status, const char *json,
    const char *token)
{
	struct buf	 b = BUF_INIT;

	buf_puts(&b, "{\"user\":");
	buf_puts(&b, json);
	buf_puts(&b, ",\"token\":");
	buf_json_str(&b, token, strlen(token));
	buf_putc(&b, '}');
	http_response_json(c->resp, status, b.data, b.len);
	sodium_memzero(b.data, b.len);
	buf_release(&b);
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
 * POST /api/auth/signup {email, username, password} -> 201 {user, token}.
 * 409 when the email or the username is taken (case-insensitively).
 */
void
auth_signup(struct ctx *c)
{
	struct field_errors	 fe;
	struct db_account	 acct;
	struct buf		 extra = BUF_INIT;
	const char		*email, *username, *pw, *field;
	char			 hash[PASSWORD_HASH_MAX], *token = NULL;
	size_t			 pwlen = 0;
	enum db_status		 s;

	memset(&acct, 0, sizeof(acct));
	field_errors_init(&fe);
	email = required_string(c->body, "email", 1, EMAIL_MAX, &fe, NULL);
	if (email != NULL && !auth_email_is_valid(email))
		field_errors_add(&fe, "email", MSG_EMAIL);
	username = required_string(c->body, "username", USERNAME_MIN,
	    USERNAME_MAX, &fe, NULL);
	if (username != NULL && !auth_username_is_valid(username))
		field_errors_add(&fe, "username", MSG_USERNAME);
	pw = required_string(c->body, "password", PASSWORD_MIN_CHARS,
	    PASSWORD_MAX_CHARS, &fe, &pwlen);
	if (fe.count > 0) {
		field_errors_problem(&fe, c->resp, "Validation failed");
		goto out;
	}
	if (password_hash(c->cfg, pw, pwlen, hash) != 0) {
		reply_problem(c, 500, NULL, "Internal server error",
		    "An unexpected error occurred.");
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
	if ((token = token_issue(c->cfg, acct.id, acct.username, acct.email,
	    acct.token_version, c->now)) == NULL) {
		reply_problem(c, 500, NULL, "Internal server error",
		    "An unexpected error occurred.");
		goto out;
	}
	http_set_header(c->resp, "Location", "/api/users/%s", acct.username);
	reply_user_token(c, 201, acct.json, token);
out:
	if (token != NULL) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
	buf_release(&extra);
	field_errors_release(&fe);
	db_account_release(&acct);
}

/*
 * POST /api/auth/login {email, password} -> 200 {user, token}; email
 * may hold the username instead.  A wrong password and an unknown
 * account get the same 401 after the same work; an identifier that
 * used up its attempts gets 429 with Retry-After whatever the
 * password.  A right password over a bcrypt hash (or an Argon2id hash
 * of another cost) is re-hashed now.
 */
void
auth_login(struct ctx *c)
{
	struct field_errors	 fe;
	struct db_account	 acct;
	struct db_throttle	 th;
	const char		*ident, *pw;
	char			 hash[PASSWORD_HASH_MAX], *token = NULL;
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
	s = db_login_begin(c->db, ident, c->cfg->login_max_failures,
	    c->cfg->login_window_s, &th, &acct, &found);
	if (s != DB_OK) {
		reply_db_error(c, s);
		goto out;
	}
	if (!th.allowed) {
		reply_too_many(c, th.retry_after, "Too many failed login attempts");
		goto out;
	}
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
	s = db_login_finish(c->db, ident, acct.password_hash,
	    rehash ? hash : NULL, &acct);
	if (rehash)
		sodium_memzero(hash, sizeof(hash));
	if (s == DB_NOT_FOUND) {
		reply_bad_credentials(c);
		goto out;
	}
	if (s != DB_OK) {
		reply_db_error(c, s);
		goto out;
	}
	if ((token = token_issue(c->cfg, acct.id, acct.username, acct.email,
	    acct.token_version, c->now)) == NULL) {
		reply_problem(c, 500, NULL, "Internal server error",
		    "An unexpected error occurred.");
		goto out;
	}
	reply_user_token(c, 200, acct.json, token);
out:
	if (token != NULL) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
	field_errors_release(&fe);
	db_account_release(&acct);
}

/* GET /api/auth/me (and GET /api/users/me) -> 200 {user}. */
void
auth_me(struct ctx *c)
{
	char		*json = NULL;
	enum db_status	 s;

	s = db_user_me(c->db, c->user.id, c->user.ver, &json);
	if (s == DB_NOT_FOUND)
		reply_unauthorized(c, 1);
	else if (s != DB_OK)
		reply_db_error(c, s);
	else
		reply_json_wrapped(c, 200, "user", json);
	free(json);
}

/*
 * POST /api/auth/password {currentPassword, newPassword} -> 204.  The
 * token version goes up, so every token issued before (the caller's
 * included) is refused from now on.  A wrong current password is 403;
 * those attempts are throttled per account like logins.
 */
void
auth_password(struct ctx *c)
{
	struct field_errors	 fe;
	struct db_throttle	 th;
	const char		*cur, *next;
	char			 hash[PASSWORD_HASH_MAX], *stored = NULL;
	size_t			 curlen = 0, nextlen = 0;
	enum password_result	 r;
	enum db_status		 s;

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
	s = db_password_begin(c->db, c->user.id, c->user.ver,
	    c->cfg->login_max_failures, c->cfg->login_window_s, &th, &stored);
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
	s = db_password_set(c->db, c->user.id, c->user.ver, hash);
	if (s == DB_NOT_FOUND)
		reply_unauthorized(c, 1);
	else if (s != DB_OK)
		reply_db_error(c, s);
	else
		http_response_empty(c->resp, 204);
out:
	sodium_memzero(hash, sizeof(hash));
	if (stored != NULL) {
		sodium_memzero(stored, strlen(stored));
		free(stored);
	}
	field_errors_release(&fe);
}
