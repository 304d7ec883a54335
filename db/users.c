/*
 * Accounts: every statement that reads or writes users and
 * login_failures.  Each function is one round trip.  Authenticated
 * calls take the caller's id and token version and fold the check
 * that the account still exists and still accepts that version into
 * their own statement; no row back means the token is no longer good.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "db/db_int.h"

/*
 * Throttling (migration 0006): every password check is counted by
 * auth_attempt() before the password is checked, against two keys,
 * the shared one first, and refused without counting when a key is
 * spent; auth_success() gives the attempt back when the password was
 * right.  The keys (see auth_failures):
 *   login:  'login <identifier>' from '*' (a ceiling over every
 *           address) and from the client address (a delay that grows);
 *   password change: 'password' from the client address (a ceiling
 *           over every token) and 'password <user id>' from
 *           'token <token id>' (a fixed window per token).
 * Nothing is ever counted per account alone, so no one can lock an
 * owner out from another address or with another token.
 */
#define LOGIN_SCOPE	"'login ' || lower($1)"
#define LOGIN_KEYS							\
	"ARRAY[" LOGIN_SCOPE ", " LOGIN_SCOPE "], ARRAY['*', $2::text]"
#define PASSWORD_SCOPE(id)	"('password ' || " id "::text)"
#define PASSWORD_KEYS(id, tid, addr)					\
	"ARRAY['password', " PASSWORD_SCOPE(id) "], "			\
	"ARRAY[" addr "::text, 'token ' || " tid "::text]"

static struct db_stmt st_create = DB_STMT("users_create",
    "INSERT INTO users (email, username, password_hash) "
    "VALUES ($1, $2, $3) "
    "RETURNING id, username, email, token_version, user_json(users.*)", 3);

static struct db_stmt st_login_begin = DB_STMT("users_login_begin",
    "SELECT a.allowed, a.retry_after, "
    "u.id, u.username, u.email, u.token_version, u.password_hash "
    "FROM auth_attempt(" LOGIN_KEYS ", ARRAY[false, true], "
    "ARRAY[$5::int, $3::int], ARRAY[$6::int, $4::int]) AS a "
    "LEFT JOIN LATERAL (SELECT * FROM users WHERE lower(email) = lower($1) "
    "OR lower(username) = lower($1) LIMIT 1) AS u ON true", 6);

static struct db_stmt st_login_finish = DB_STMT("users_login_finish",
    "WITH rehashed AS (UPDATE users SET password_hash = $5 "
    "WHERE $5::text IS NOT NULL AND id = $3::uuid AND password_hash = $4) "
    "SELECT u.token_version, user_json(u), "
    "auth_success(" LOGIN_KEYS ", ARRAY[false, true]) FROM users u "
    "WHERE u.id = $3::uuid AND u.password_hash = $4", 5);

static struct db_stmt st_me = DB_STMT_RO("users_me",
    "SELECT user_json(u) FROM users u "
    "WHERE u.id = $1::uuid AND u.token_version = $2::int", 2);

/* The caller, and the write budget used in the current window. */
static struct db_stmt st_me_budget = DB_STMT_RO("users_me_budget",
    "SELECT user_json(u), coalesce(b.used, 0), "
    "CASE WHEN b.user_id IS NULL THEN $3::int::bigint "
    "ELSE greatest(1, ceil(extract(epoch FROM b.window_start + "
    "make_interval(secs => $3::int) - now())))::bigint END "
    "FROM users u LEFT JOIN write_budgets b ON b.user_id = u.id "
    "AND b.window_start > now() - make_interval(secs => $3::int) "
    "WHERE u.id = $1::uuid AND u.token_version = $2::int", 3);

static struct db_stmt st_update = DB_STMT("users_update",
    "UPDATE users u SET "
    "display_name = CASE WHEN $3::boolean THEN $4 ELSE u.display_name END, "
    "avatar_url = CASE WHEN $5::boolean THEN $6 ELSE u.avatar_url END "
    "WHERE u.id = $1::uuid AND u.token_version = $2::int "
    "RETURNING user_json(u)", 6);

static struct db_stmt st_delete = DB_STMT("users_delete",
    "WITH gone AS (DELETE FROM users "
    "WHERE id = $1::uuid AND token_version = $2::int "
    "RETURNING id, email, username), "
    "forgotten AS (DELETE FROM auth_failures WHERE scope IN ("
    "SELECT 'login ' || lower(email) FROM gone UNION ALL "
    "SELECT 'login ' || lower(username) FROM gone UNION ALL "
    "SELECT " PASSWORD_SCOPE("id") " FROM gone)) "
    "SELECT count(*) FROM gone", 2);

static struct db_stmt st_public = DB_STMT_RO("users_public",
    "SELECT (SELECT user_public_json(u) FROM users u "
    "WHERE lower(u.username) = lower($1)), "
    "$2::uuid IS NULL OR EXISTS (SELECT 1 FROM users c "
    "WHERE c.id = $2::uuid AND c.token_version = $3::int)", 3);

static struct db_stmt st_password_begin = DB_STMT("users_password_begin",
    "SELECT me.password_hash, a.allowed, a.retry_after "
    "FROM users me CROSS JOIN LATERAL auth_attempt("
    PASSWORD_KEYS("me.id", "$3", "$4") ", ARRAY[false, false], "
    "ARRAY[$7::int, $5::int], ARRAY[$8::int, $6::int]) AS a "
    "WHERE me.id = $1::uuid AND me.token_version = $2::int", 8);

/*
 * The new hash and the next token version (every token issued before
 * is refused from now on); the account's signed-out tokens and its
 * per-token password failures go with the old version.
 */
static struct db_stmt st_password_set = DB_STMT("users_password_set",
    "WITH me AS (UPDATE users SET password_hash = $3, "
    "token_version = token_version + 1 "
    "WHERE id = $1::uuid AND token_version = $2::int "
    "RETURNING id, username, email, token_version), "
    "unlisted AS (DELETE FROM revoked_tokens r "
    "WHERE r.user_id IN (SELECT id FROM me)), "
    "forgotten AS (DELETE FROM auth_failures f "
    "WHERE f.scope = " PASSWORD_SCOPE("$1") " AND EXISTS (SELECT 1 FROM me)) "
    "SELECT me.token_version, me.username, me.email, "
    "auth_success(ARRAY['password'], ARRAY[$4::text], ARRAY[false]) "
    "FROM me", 4);

/* POST /api/auth/logout: this token joins the deny list until its exp. */
static struct db_stmt st_logout = DB_STMT("users_logout",
    "INSERT INTO revoked_tokens (user_id, token_id, expires_at) "
    "SELECT u.id, $3, to_timestamp($4::bigint) FROM users u "
    "WHERE u.id = $1::uuid AND u.token_version = $2::int "
    "ON CONFLICT (user_id, token_id) DO NOTHING RETURNING 1", 4);

/*
 * POST /api/auth/logout-all: the next token version, as a password
 * change does, without one.
 */
static struct db_stmt st_logout_all = DB_STMT("users_logout_all",
    "WITH me AS (UPDATE users SET token_version = token_version + 1 "
    "WHERE id = $1::uuid AND token_version = $2::int RETURNING id), "
    "unlisted AS (DELETE FROM revoked_tokens r "
    "WHERE r.user_id IN (SELECT id FROM me)), "
    "forgotten AS (DELETE FROM auth_failures f "
    "WHERE f.scope = " PASSWORD_SCOPE("$1") " AND EXISTS (SELECT 1 FROM me)) "
    "SELECT count(*) FROM me", 2);

/*
 * Timestamps of the old system are TIMESTAMP without zone, written by
 * a server on UTC; one with an offset or Z is taken as it says.
 */
static struct db_stmt st_import = DB_STMT("users_import",
    "INSERT INTO users (id, email, username, password_hash, display_name, "
    "avatar_url, created_at, updated_at) "
    "SELECT coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, "
    "coalesce(t.ts, now()), coalesce(t.ts, now()) "
    "FROM (SELECT CASE WHEN $7::text IS NULL THEN NULL "
    "WHEN $7::text ~ '([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$' "
    "THEN $7::text::timestamptz "
    "ELSE $7::text::timestamp AT TIME ZONE 'UTC' END AS ts) AS t "
    "ON CONFLICT DO NOTHING RETURNING id", 7);

static struct db_stmt st_import_present = DB_STMT_RO("users_import_present",
    "SELECT EXISTS (SELECT 1 FROM users "
    "WHERE ($1::uuid IS NULL OR id = $1::uuid) "
    "AND lower(email) = lower($2) AND lower(username) = lower($3))", 3);

/* Free what an account holds (not the struct itself). */
void
db_account_release(struct db_account *a)
{
	if (a == NULL)
		return;
	free(a->id);
	free(a->username);
	free(a->email);
	if (a->password_hash != NULL) {
		memset(a->password_hash, 0, strlen(a->password_hash));
		free(a->password_hash);
	}
	free(a->json);
	memset(a, 0, sizeof(*a));
}

/*
 * Which unique field a DB_UNIQUE from db_user_create broke: "email",
 * "username", or NULL when it was something else.
 */
const char *
db_user_conflict_field(struct db *db)
{
	const char	*c = db_last_constraint(db);

	if (strcmp(c, "users_email_key") == 0)
		return "email";
	if (strcmp(c, "users_username_key") == 0)
		return "username";
	return NULL;
}

/*
 * Insert a new account.  On DB_OK *out holds its id, username, email,
 * token version and user JSON (release with db_account_release).
 * DB_UNIQUE when the email or username is taken, case-insensitively.
 */
enum db_status
db_user_create(struct db *db, const char *email, const char *username,
    const char *hash, struct db_account *out)
{
	const char	*p[3] = { email, username, hash };
	PGresult	*res;
	enum db_status	 s;

	memset(out, 0, sizeof(*out));
	if ((s = db_exec(db, &st_create, p, &res)) != DB_OK)
		return s;
	out->id = xstrdup(PQgetvalue(res, 0, 0));
	out->username = xstrdup(PQgetvalue(res, 0, 1));
	out->email = xstrdup(PQgetvalue(res, 0, 2));
	out->token_version = atoll(PQgetvalue(res, 0, 3));
	out->json = xstrdup(PQgetvalue(res, 0, 4));
	PQclear(res);
	return DB_OK;
}

/* The limits as text parameters, in the order the statements take. */
static void
limits_params(const struct db_throttle_limits *l, char buf[4][16],
    const char **p)
{
	snprintf(buf[0], 16, "%d", l->each_max);
	snprintf(buf[1], 16, "%d", l->each_window_s);
	snprintf(buf[2], 16, "%d", l->total_max);
	snprintf(buf[3], 16, "%d", l->total_window_s);
	p[0] = buf[0];
	p[1] = buf[1];
	p[2] = buf[2];
	p[3] = buf[3];
}

static void
throttle_read(PGresult *res, int col, struct db_throttle *th)
{
	th->allowed = strcmp(PQgetvalue(res, 0, col), "t") == 0;
	th->retry_after = atoi(PQgetvalue(res, 0, col + 1));
	if (th->retry_after < 1)
		th->retry_after = 1;
}

/*
 * First half of a login, before the password is checked: count the
 * attempt against identifier (an email or a username, compared
 * lower-cased) from client address source, and look the account up.
 * th->allowed is 0 when the identifier from that address is waiting
 * out its delay, or the identifier reached its ceiling from every
 * address; th->retry_after then says for how many seconds.  *found is
 * 1 when an account matches, with its id, username, email, token
 * version and hash in *acct (release it).
 */
enum db_status
db_login_begin(struct db *db, const char *identifier, const char *source,
    const struct db_throttle_limits *lim, struct db_throttle *th,
    struct db_account *acct, int *found)
{
	char		 buf[4][16];
	const char	*p[6] = { identifier, source };
	PGresult	*res;
	enum db_status	 s;

	memset(acct, 0, sizeof(*acct));
	*found = 0;
	th->allowed = 0;
	th->retry_after = lim->each_window_s;
	limits_params(lim, buf, p + 2);
	if ((s = db_exec(db, &st_login_begin, p, &res)) != DB_OK)
		return s;
	throttle_read(res, 0, th);
	if (!PQgetisnull(res, 0, 2)) {
		*found = 1;
		acct->id = xstrdup(PQgetvalue(res, 0, 2));
		acct->username = xstrdup(PQgetvalue(res, 0, 3));
		acct->email = xstrdup(PQgetvalue(res, 0, 4));
		acct->token_version = atoll(PQgetvalue(res, 0, 5));
		acct->password_hash = xstrdup(PQgetvalue(res, 0, 6));
	}
	PQclear(res);
	return DB_OK;
}

/*
 * Second half of a login whose password was right: the identifier
 * from this address forgets its failures and the attempt no longer
 * counts towards the ceiling; store new_hash (when not NULL) in place
 * of old_hash, and fill acct->json and acct->token_version.
 * DB_NOT_FOUND when the account went away or its password changed
 * meanwhile.
 */
enum db_status
db_login_finish(struct db *db, const char *identifier, const char *source,
    const char *old_hash, const char *new_hash, struct db_account *acct)
{
	const char	*p[5] = { identifier, source, acct->id, old_hash,
	    new_hash };
	PGresult	*res;
	enum db_status	 s;

	if ((s = db_exec(db, &st_login_finish, p, &res)) != DB_OK)
		return s;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	acct->token_version = atoll(PQgetvalue(res, 0, 0));
	free(acct->json);
	acct->json = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	return DB_OK;
}

/* Read one JSON text column of row 0 into *json; DB_NOT_FOUND if none. */
static enum db_status
json_row(struct db *db, struct db_stmt *st, const char *const *p, char **json)
{
	PGresult	*res;
	enum db_status	 s;

	*json = NULL;
	if ((s = db_exec(db, st, p, &res)) != DB_OK)
		return s;
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	*json = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_OK;
}

/*
 * The caller's own user JSON (*json is the caller's to free).
 * DB_NOT_FOUND when the account is gone or no longer accepts tokens
 * of version ver.
 */
enum db_status
db_user_me(struct db *db, const char *id, long long ver, char **json)
{
	char		 vers[24];
	const char	*p[2] = { id, vers };

	snprintf(vers, sizeof(vers), "%lld", ver);
	return json_row(db, &st_me, p, json);
}

/*
 * db_user_me, and the caller's write budget in *b: writes used in the
 * current window of window_s seconds (0 when none is running) and the
 * seconds until it ends (window_s when none is running: the next write
 * starts one).  Nothing is counted.
 */
enum db_status
db_user_me_budget(struct db *db, const char *id, long long ver, int window_s,
    char **json, struct db_budget *b)
{
	char		 vers[24], wins[16];
	const char	*p[3] = { id, vers, wins };
	PGresult	*res;
	enum db_status	 s;

	*json = NULL;
	b->used = 0;
	b->reset_s = window_s;
	snprintf(vers, sizeof(vers), "%lld", ver);
	snprintf(wins, sizeof(wins), "%d", window_s);
	if ((s = db_exec(db, &st_me_budget, p, &res)) != DB_OK)
		return s;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	*json = xstrdup(PQgetvalue(res, 0, 0));
	b->used = atoll(PQgetvalue(res, 0, 1));
	b->reset_s = atoll(PQgetvalue(res, 0, 2));
	PQclear(res);
	return DB_OK;
}

/*
 * Apply a profile change and return the user JSON in *json (caller
 * frees).  A field whose set_ flag is 0 stays; a set field with a NULL
 * value is cleared.  DB_NOT_FOUND as for db_user_me.
 */
enum db_status
db_user_update(struct db *db, const char *id, long long ver,
    const struct db_profile *pr, char **json)
{
	char		 vers[24];
	const char	*p[6];

	if (!pr->set_display_name && !pr->set_avatar_url)
		return db_user_me(db, id, ver, json);
	snprintf(vers, sizeof(vers), "%lld", ver);
	p[0] = id;
	p[1] = vers;
	p[2] = pr->set_display_name ? "true" : "false";
	p[3] = pr->display_name;
	p[4] = pr->set_avatar_url ? "true" : "false";
	p[5] = pr->avatar_url;
	return json_row(db, &st_update, p, json);
}

/*
 * Delete the account and, through the schema's cascades and triggers,
 * everything it owns: loops, songs, likes (the counters those raised
 * on other people's items go down), tombstones, idempotency keys,
 * write budgets, signed-out tokens; and its throttle rows.  DB_NOT_FOUND as for
 * db_user_me.
 */
enum db_status
db_user_delete(struct db *db, const char *id, long long ver)
{
	char		 vers[24];
	const char	*p[2] = { id, vers };
	PGresult	*res;
	enum db_status	 s;
	int		 n;

	snprintf(vers, sizeof(vers), "%lld", ver);
	if ((s = db_exec(db, &st_delete, p, &res)) != DB_OK)
		return s;
	n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n == 1 ? DB_OK : DB_NOT_FOUND;
}

/*
 * A public profile by username (case-insensitive) into *json (caller
 * frees), DB_NOT_FOUND when there is none.  When caller_id is not
 * NULL (a token came), *caller_ok says whether that account still
 * accepts tokens of version caller_ver; when it is 0 *json is NULL.
 */
enum db_status
db_user_public(struct db *db, const char *username, const char *caller_id,
    long long caller_ver, int *caller_ok, char **json)
{
	char		 vers[24];
	const char	*p[3] = { username, caller_id, NULL };
	PGresult	*res;
	enum db_status	 s;

	*json = NULL;
	*caller_ok = 0;
	if (caller_id != NULL) {
		snprintf(vers, sizeof(vers), "%lld", caller_ver);
		p[2] = vers;
	}
	if ((s = db_exec(db, &st_public, p, &res)) != DB_OK)
		return s;
	*caller_ok = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	if (*caller_ok && !PQgetisnull(res, 0, 0))
		*json = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (*caller_ok && *json == NULL)
		return DB_NOT_FOUND;
	return DB_OK;
}

/*
 * First half of a password change: count the attempt against the
 * token tid and against client address source (never against the
 * account: the owner's other devices can always change it), and fetch
 * the stored hash into *hash (caller frees).  DB_NOT_FOUND when the
 * token is no longer good; th->allowed 0 when the token or the
 * address used up its attempts.
 */
enum db_status
db_password_begin(struct db *db, const char *id, long long ver,
    const char *tid, const char *source, const struct db_throttle_limits *lim,
    struct db_throttle *th, char **hash)
{
	char		 vers[24], buf[4][16];
	const char	*p[8] = { id, vers, tid, source };
	PGresult	*res;
	enum db_status	 s;

	*hash = NULL;
	th->allowed = 0;
	th->retry_after = lim->each_window_s;
	snprintf(vers, sizeof(vers), "%lld", ver);
	limits_params(lim, buf, p + 4);
	if ((s = db_exec(db, &st_password_begin, p, &res)) != DB_OK)
		return s;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	*hash = xstrdup(PQgetvalue(res, 0, 0));
	throttle_read(res, 1, th);
	PQclear(res);
	return DB_OK;
}

/*
 * Store a new hash and bump the token version, which refuses every
 * token issued before; the account's per-token failures are
 * forgotten and the attempt no longer counts against address source.
 * On DB_OK acct holds the new token version, the username and the
 * email (release it).  DB_NOT_FOUND when the token is no longer good.
 */
enum db_status
db_password_set(struct db *db, const char *id, long long ver,
    const char *source, const char *hash, struct db_account *acct)
{
	char		 vers[24];
	const char	*p[4] = { id, vers, hash, source };
	PGresult	*res;
	enum db_status	 s;

	memset(acct, 0, sizeof(*acct));
	snprintf(vers, sizeof(vers), "%lld", ver);
	if ((s = db_exec(db, &st_password_set, p, &res)) != DB_OK)
		return s;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	acct->id = xstrdup(id);
	acct->token_version = atoll(PQgetvalue(res, 0, 0));
	acct->username = xstrdup(PQgetvalue(res, 0, 1));
	acct->email = xstrdup(PQgetvalue(res, 0, 2));
	PQclear(res);
	return DB_OK;
}

/*
 * Sign out the token tid of the account (expiring at exp, seconds
 * since the epoch): it is refused from now on, the account's other
 * tokens are not.  DB_NOT_FOUND when the token is no longer good.
 */
enum db_status
db_token_revoke(struct db *db, const char *id, long long ver, const char *tid,
    long long exp)
{
	char		 vers[24], exps[24];
	const char	*p[4] = { id, vers, tid, exps };
	PGresult	*res;
	enum db_status	 s;
	int		 n;

	snprintf(vers, sizeof(vers), "%lld", ver);
	snprintf(exps, sizeof(exps), "%lld", exp);
	if ((s = db_exec(db, &st_logout, p, &res)) != DB_OK)
		return s;
	n = PQntuples(res);
	PQclear(res);
	return n == 1 ? DB_OK : DB_NOT_FOUND;
}

/*
 * Sign out every token of the account: the token version goes up, as
 * after a password change.  DB_NOT_FOUND when the token is no longer
 * good.
 */
enum db_status
db_tokens_revoke_all(struct db *db, const char *id, long long ver)
{
	char		 vers[24];
	const char	*p[2] = { id, vers };
	PGresult	*res;
	enum db_status	 s;
	int		 n;

	snprintf(vers, sizeof(vers), "%lld", ver);
	if ((s = db_exec(db, &st_logout_all, p, &res)) != DB_OK)
		return s;
	n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n == 1 ? DB_OK : DB_NOT_FOUND;
}

/*
 * Insert one account exported from the old system, its hash kept.
 * *result: DB_IMPORT_ADDED; DB_IMPORT_PRESENT when the same account
 * (id, email and username) is already there, so a second run is a
 * no-op; DB_IMPORT_CONFLICT when another account holds the id, email
 * or username.  DB_INVALID for a value the schema refuses (e.g. a
 * malformed created_at).
 */
enum db_status
db_user_import(struct db *db, const struct db_user_import *u,
    enum db_import_result *result)
{
	const char	*p[7] = { u->id, u->email, u->username,
	    u->password_hash, u->display_name, u->avatar_url, u->created_at };
	PGresult	*res;
	enum db_status	 s;
	int		 n;

	*result = DB_IMPORT_CONFLICT;
	if ((s = db_exec(db, &st_import, p, &res)) != DB_OK)
		return s;
	n = PQntuples(res);
	PQclear(res);
	if (n == 1) {
		*result = DB_IMPORT_ADDED;
		return DB_OK;
	}
	if ((s = db_exec(db, &st_import_present, p, &res)) != DB_OK)
		return s;
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		*result = DB_IMPORT_PRESENT;
	PQclear(res);
	return DB_OK;
}

