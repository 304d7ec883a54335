/*
 * Integration: who may do what (issue 17).  A table, not code: every
 * route of the contract (doc/openapi.json, paths x methods) and of the
 * route table (handlers/routes.c) has one row, saying what status each
 * caller gets on each kind of item:
 *
 *   callers  the owner, another user, anonymous, a deleted user's
 *            token, and the owner's token from before a password change
 *   items    the owner's public item, the owner's private item, an id
 *            that names nothing
 *
 * Every cell is played in a world of its own (fresh users and items,
 * made in the database), so a DELETE or a logout in one cell cannot
 * change the next.  A request that is refused, and every read, must
 * leave the world's rows exactly as they were (compared in the
 * database).  Every response is also checked for the headers every
 * route owes: X-Content-Type-Options: nosniff, no Server version,
 * Cache-Control: no-store or private when a token was sent.
 *
 * A route the table does not know fails the test: the table is
 * compared with the contract's operations and with the route table,
 * both ways.  Through nginx against PostgreSQL.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <sodium.h>

#include "base/buf.h"
#include "handlers/handlers.h"
#include "t/itauth.h"
#include "t/itlib.h"
#include "t/itsse.h"

TestSuite(matrix, .timeout = 600);

enum caller { C_OWNER, C_OTHER, C_ANON, C_DELETED, C_STALE, C__MAX };
enum item { I_PUBLIC, I_PRIVATE, I_MISSING, I__MAX };

static const char *const caller_names[C__MAX] = {
	"owner", "other user", "anonymous", "deleted user's token",
	"token from before a password change",
};
static const char *const item_names[I__MAX] = {
	"public item", "private item", "missing item",
};

/* What the path's parameter names, per item kind. */
enum subject {
	S_NONE,		/* no parameter: every item column is the same */
	S_LOOP,		/* {id}: the owner's public/private loop, no loop */
	S_SONG,		/* {id}: the same for songs */
	S_USER,		/* {username}: the owner's name (profiles are all
			   public: the private column is the same), no user */
	S_SLUG,		/* {slug}: a problem type, no such type */
	S_LIVE,		/* ?channels=: a public loop's channel, the owner's
			   user channel, a loop id that names nothing */
};

/* Where a route comes from. */
#define F_CONTRACT	0x1	/* in doc/openapi.json */
#define F_ROUTES	0x2	/* in handlers/routes.c */
#define F_BOTH		(F_CONTRACT | F_ROUTES)
#define F_TOKEN		0x4	/* the route reads the token: Cache-Control
				   must be no-store or private when one
				   is sent */
#define F_STREAM	0x8	/* an event stream: the status line only */
#define F_LOCALHOST	0x10	/* sent from 127.0.0.1 (the operator's
				   routes answer nobody else) */

/* Bodies that are made per cell. */
#define BODY_SIGNUP	"@signup"
#define BODY_LOGIN	"@login"

/*
 * One row per route.  expect: the statuses of the five callers in
 * order (owner|other|anonymous|deleted|stale), each one status for
 * S_NONE or three (public private missing) otherwise.
 */
struct row {
	const char	*method;
	const char	*path;		/* as the contract writes it */
	enum subject	 subject;
	const char	*query;		/* appended after "?", or NULL */
	const char	*body;		/* JSON, BODY_*, or NULL */
	unsigned	 flags;
	const char	*expect;
};

#define LOOP_BODY	"{\"name\":\"matrix\",\"bars\":1}"
#define SONG_BODY	"{\"name\":\"matrix\",\"bpm\":100}"
#define ANY_TOKEN_401	"401 401 401|401 401 401"

static const struct row rows[] = {
	/* Operations and the contract: no token is read. */
	{ "GET", "/health", S_NONE, NULL, NULL, F_BOTH,
	    "200|200|200|200|200" },
	{ "GET", "/api/health", S_NONE, NULL, NULL, F_BOTH,
	    "200|200|200|200|200" },
	{ "GET", "/ready", S_NONE, NULL, NULL, F_BOTH,
	    "200|200|200|200|200" },
	{ "GET", "/metrics", S_NONE, NULL, NULL, F_BOTH | F_LOCALHOST,
	    "200|200|200|200|200" },
	{ "GET", "/api/openapi.json", S_NONE, NULL, NULL, F_BOTH,
	    "200|200|200|200|200" },
	{ "GET", "/problems", S_NONE, NULL, NULL, F_BOTH,
	    "200|200|200|200|200" },
	{ "GET", "/problems/{slug}", S_SLUG, NULL, NULL, F_BOTH,
	    "200 200 404|200 200 404|200 200 404|200 200 404|200 200 404" },

	/* Accounts. */
	{ "POST", "/api/auth/signup", S_NONE, NULL, BODY_SIGNUP, F_BOTH,
	    "201|201|201|201|201" },
	{ "POST", "/api/auth/login", S_NONE, NULL, BODY_LOGIN, F_BOTH,
	    "200|200|200|200|200" },
	{ "GET", "/api/auth/me", S_NONE, NULL, NULL, F_BOTH | F_TOKEN,
	    "200|200|401|401|401" },
	/* The fixture users' password is not the one sent: 403. */
	{ "POST", "/api/auth/password", S_NONE, NULL,
	    "{\"currentPassword\":\"not-the-password\","
	    "\"newPassword\":\"a-new-password\"}", F_BOTH | F_TOKEN,
	    "403|403|401|401|401" },
	{ "POST", "/api/auth/logout", S_NONE, NULL, NULL, F_BOTH | F_TOKEN,
	    "204|204|401|401|401" },
	{ "POST", "/api/auth/logout-all", S_NONE, NULL, NULL,
	    F_BOTH | F_TOKEN, "204|204|401|401|401" },
	{ "GET", "/api/users/me", S_NONE, NULL, NULL, F_BOTH | F_TOKEN,
	    "200|200|401|401|401" },
	{ "PATCH", "/api/users/me", S_NONE, NULL,
	    "{\"displayName\":\"Matrix\"}", F_BOTH | F_TOKEN,
	    "200|200|401|401|401" },
	{ "DELETE", "/api/users/me", S_NONE, NULL, NULL, F_BOTH | F_TOKEN,
	    "204|204|401|401|401" },
	{ "GET", "/api/users/me/likes", S_NONE, "type=loop", NULL,
	    F_BOTH | F_TOKEN, "200|200|401|401|401" },
	{ "GET", "/api/users/{username}", S_USER, NULL, NULL,
	    F_BOTH | F_TOKEN,
	    "200 200 404|200 200 404|200 200 404|" ANY_TOKEN_401 },
	{ "GET", "/api/sync", S_NONE, NULL, NULL, F_BOTH | F_TOKEN,
	    "200|200|401|401|401" },

	/* Loops. */
	{ "GET", "/api/loops", S_NONE, NULL, NULL, F_BOTH | F_TOKEN,
	    "200|200|200|401|401" },
	{ "POST", "/api/loops", S_NONE, NULL, LOOP_BODY, F_BOTH | F_TOKEN,
	    "201|201|401|401|401" },
	{ "GET", "/api/loops/{id}", S_LOOP, NULL, NULL, F_BOTH | F_TOKEN,
	    "200 200 404|200 404 404|200 404 404|" ANY_TOKEN_401 },
	{ "PUT", "/api/loops/{id}", S_LOOP, NULL, LOOP_BODY,
	    F_BOTH | F_TOKEN,
	    "200 200 404|403 404 404|401 401 401|" ANY_TOKEN_401 },
	{ "PATCH", "/api/loops/{id}", S_LOOP, NULL, "{\"name\":\"patched\"}",
	    F_BOTH | F_TOKEN,
	    "200 200 404|403 404 404|401 401 401|" ANY_TOKEN_401 },
	{ "DELETE", "/api/loops/{id}", S_LOOP, NULL, NULL, F_BOTH | F_TOKEN,
	    "204 204 404|403 404 404|401 401 401|" ANY_TOKEN_401 },
	{ "POST", "/api/loops/{id}/remix", S_LOOP, NULL, "{}",
	    F_BOTH | F_TOKEN,
	    "201 201 404|201 404 404|401 401 401|" ANY_TOKEN_401 },
	{ "POST", "/api/loops/{id}/duplicate", S_LOOP, NULL, "{}",
	    F_BOTH | F_TOKEN,
	    "201 201 404|201 404 404|401 401 401|" ANY_TOKEN_401 },
	{ "PUT", "/api/loops/{id}/like", S_LOOP, NULL, NULL, F_BOTH | F_TOKEN,
	    "200 200 404|200 404 404|401 401 401|" ANY_TOKEN_401 },
	{ "DELETE", "/api/loops/{id}/like", S_LOOP, NULL, NULL,
	    F_BOTH | F_TOKEN,
	    "200 200 404|200 404 404|401 401 401|" ANY_TOKEN_401 },
	{ "POST", "/api/loops/{id}/plays", S_LOOP, NULL, NULL,
	    F_BOTH | F_TOKEN,
	    "202 202 404|202 404 404|202 404 404|" ANY_TOKEN_401 },

	/* Songs. */
	{ "GET", "/api/songs", S_NONE, NULL, NULL, F_BOTH | F_TOKEN,
	    "200|200|200|401|401" },
	{ "POST", "/api/songs", S_NONE, NULL, SONG_BODY, F_BOTH | F_TOKEN,
	    "201|201|401|401|401" },
	{ "GET", "/api/songs/{id}", S_SONG, NULL, NULL, F_BOTH | F_TOKEN,
	    "200 200 404|200 404 404|200 404 404|" ANY_TOKEN_401 },
	{ "PUT", "/api/songs/{id}", S_SONG, NULL, SONG_BODY,
	    F_BOTH | F_TOKEN,
	    "200 200 404|403 404 404|401 401 401|" ANY_TOKEN_401 },
	{ "PATCH", "/api/songs/{id}", S_SONG, NULL, "{\"name\":\"patched\"}",
	    F_BOTH | F_TOKEN,
	    "200 200 404|403 404 404|401 401 401|" ANY_TOKEN_401 },
	{ "DELETE", "/api/songs/{id}", S_SONG, NULL, NULL, F_BOTH | F_TOKEN,
	    "204 204 404|403 404 404|401 401 401|" ANY_TOKEN_401 },
	{ "PUT", "/api/songs/{id}/like", S_SONG, NULL, NULL, F_BOTH | F_TOKEN,
	    "200 200 404|200 404 404|401 401 401|" ANY_TOKEN_401 },
	{ "DELETE", "/api/songs/{id}/like", S_SONG, NULL, NULL,
	    F_BOTH | F_TOKEN,
	    "200 200 404|200 404 404|401 401 401|" ANY_TOKEN_401 },
	{ "POST", "/api/songs/{id}/plays", S_SONG, NULL, NULL,
	    F_BOTH | F_TOKEN,
	    "202 202 404|202 404 404|202 404 404|" ANY_TOKEN_401 },

	/*
	 * Live updates: nginx holds the stream (not in the route table);
	 * a public channel is anyone's, a user channel its user's only,
	 * any loop id may be subscribed to.
	 */
	{ "GET", "/api/live", S_LIVE, NULL, NULL, F_CONTRACT | F_TOKEN |
	    F_STREAM,
	    "200 200 200|200 403 200|200 401 200|" ANY_TOKEN_401 },
	/*
	 * nginx's subrequest for /api/live (not in the contract): asked
	 * directly, from outside, it is an unknown route, whoever asks.
	 */
	{ "GET", "/api/live/auth", S_LIVE, NULL, NULL, F_ROUTES | F_TOKEN,
	    "404 404 404|404 404 404|404 404 404|404 404 404|404 404 404" },
};

#define NROWS	(sizeof(rows) / sizeof(rows[0]))

/* The statuses a row expects of caller c on item i. */
static int
expected(const struct row *r, enum caller c, enum item i)
{
	const char	*p = r->expect;
	int		 k, n;

	for (k = 0; k < (int)c; k++) {
		p = strchr(p, '|');
		cr_assert_not_null(p, "%s %s: expect has fewer than 5 callers",
		    r->method, r->path);
		p++;
	}
	if (r->subject == S_NONE)
		return atoi(p);
	for (k = 0; k < (int)i; k++) {
		while (*p != ' ' && *p != '|' && *p != '\0')
			p++;
		cr_assert_eq(*p, ' ', "%s %s: expect needs 3 items per caller",
		    r->method, r->path);
		p++;
	}
	n = atoi(p);
	return n;
}

/* A contract path with {x} as the route table writes it (:x). */
static void
route_pattern(const char *path, char *out, size_t sz)
{
	size_t	 o = 0;

	for (; *path != '\0' && o + 1 < sz; path++) {
		if (*path == '{')
			out[o++] = ':';
		else if (*path != '}')
			out[o++] = *path;
	}
	out[o] = '\0';
}

static const struct row *
find_row(const char *method, const char *path)
{
	size_t	 k;

	for (k = 0; k < NROWS; k++)
		if (strcasecmp(rows[k].method, method) == 0 &&
		    strcmp(rows[k].path, path) == 0)
			return &rows[k];
	return NULL;
}

static json_object *
contract(void)
{
	const char	*top = getenv("top_srcdir");
	char		 path[1024];
	json_object	*doc;

	if (top == NULL || *top == '\0')
		top = getenv("MP_TEST_SRCDIR");
	snprintf(path, sizeof(path), "%s/doc/openapi.json",
	    top != NULL && *top != '\0' ? top : ".");
	doc = json_object_from_file(path);
	cr_assert_not_null(doc, "cannot read %s", path);
	return doc;
}

Test(matrix, every_operation_of_the_contract_has_a_row_and_every_row_is_in_it)
{
	static const char *const methods[] = { "get", "put", "post", "patch",
	    "delete", "head", "options", "trace" };
	json_object	*doc, *paths, *op;
	const struct row *r;
	struct buf	 missing = BUF_INIT, stale = BUF_INIT;
	size_t		 k, m;

	doc = contract();
	cr_assert(json_object_object_get_ex(doc, "paths", &paths));
	json_object_object_foreach(paths, path, item) {
		for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			if (!json_object_object_get_ex(item, methods[m], &op))
				continue;
			r = find_row(methods[m], path);
			if (r == NULL || !(r->flags & F_CONTRACT)) {
				buf_puts(&missing, " ");
				buf_puts(&missing, methods[m]);
				buf_puts(&missing, " ");
				buf_puts(&missing, path);
			}
		}
	}
	for (k = 0; k < NROWS; k++) {
		json_object	*pitem;
		char		 lower[16];

		if (!(rows[k].flags & F_CONTRACT))
			continue;
		for (m = 0; rows[k].method[m] != '\0' && m + 1 < sizeof(lower); m++)
			lower[m] = (char)(rows[k].method[m] | 0x20);
		lower[m] = '\0';
		if (!json_object_object_get_ex(paths, rows[k].path, &pitem) ||
		    !json_object_object_get_ex(pitem, lower, &op)) {
			buf_puts(&stale, " ");
			buf_puts(&stale, rows[k].method);
			buf_puts(&stale, " ");
			buf_puts(&stale, rows[k].path);
		}
	}
	cr_expect_eq(missing.len, 0,
	    "operations of doc/openapi.json the matrix has no row for:%s",
	    missing.data ? missing.data : "");
	cr_expect_eq(stale.len, 0,
	    "rows marked F_CONTRACT that doc/openapi.json does not have:%s",
	    stale.data ? stale.data : "");
	buf_release(&missing);
	buf_release(&stale);
	json_object_put(doc);
}

Test(matrix, every_route_of_the_route_table_has_a_row_and_every_row_is_in_it)
{
	struct buf	 missing = BUF_INIT, stale = BUF_INIT;
	char		 pat[256];
	size_t		 k, j;
	int		 found;

	for (j = 0; j < app_routes_count; j++) {
		const char *method = http_method_name(app_routes[j].method);

		found = 0;
		for (k = 0; k < NROWS; k++) {
			route_pattern(rows[k].path, pat, sizeof(pat));
			if ((rows[k].flags & F_ROUTES) &&
			    strcasecmp(rows[k].method, method) == 0 &&
			    strcmp(pat, app_routes[j].pattern) == 0)
				found = 1;
		}
		if (!found) {
			buf_puts(&missing, " ");
			buf_puts(&missing, method);
			buf_puts(&missing, " ");
			buf_puts(&missing, app_routes[j].pattern);
		}
	}
	for (k = 0; k < NROWS; k++) {
		if (!(rows[k].flags & F_ROUTES))
			continue;
		route_pattern(rows[k].path, pat, sizeof(pat));
		found = 0;
		for (j = 0; j < app_routes_count; j++)
			if (strcasecmp(rows[k].method,
			    http_method_name(app_routes[j].method)) == 0 &&
			    strcmp(pat, app_routes[j].pattern) == 0)
				found = 1;
		if (!found) {
			buf_puts(&stale, " ");
			buf_puts(&stale, rows[k].method);
			buf_puts(&stale, " ");
			buf_puts(&stale, rows[k].path);
		}
	}
	cr_expect_eq(missing.len, 0,
	    "routes of handlers/routes.c the matrix has no row for:%s",
	    missing.data ? missing.data : "");
	cr_expect_eq(stale.len, 0,
	    "rows marked F_ROUTES that handlers/routes.c does not have:%s",
	    stale.data ? stale.data : "");
	buf_release(&missing);
	buf_release(&stale);
}

/*
 * One cell's world: the owner (current token, and one from before its
 * password change), another user, a deleted user's token, and the
 * owner's public and private loop and song.
 */
struct world {
	char	 owner[40], owner_name[40], other[40], deleted[40];
	char	*owner_token, *stale_token, *other_token, *deleted_token;
	char	 loop_pub[40], loop_priv[40], song_pub[40], song_priv[40];
	char	 ids[200];	/* {owner,other} as a uuid[] literal */
};

static struct config	 cfg;
static int		 cfg_loaded;
static unsigned		 cell_seq;

static void
load_config(void)
{
	const char	*path, *err;

	if (cfg_loaded)
		return;
	path = getenv("MP_TEST_JWT_SECRET_FILE");
	cr_assert_not_null(path, "MP_TEST_JWT_SECRET_FILE is not set");
	cr_assert(sodium_init() >= 0);
	setenv("JWT_SECRET_FILE", path, 1);
	cr_assert_eq(config_load(&cfg, &err), 0, "config: %s", err);
	cfg_loaded = 1;
}

/* A user made in the database; its id and name into id/name. */
static void
db_user(char *id, size_t isz, char *name, size_t nsz)
{
	char		 n[32], email[64], *uid;
	const char	*p[2];

	it_unique(n, sizeof(n), "mx");
	snprintf(email, sizeof(email), "%s@example.com", n);
	p[0] = email;
	p[1] = n;
	uid = it_db_text("INSERT INTO users (email, username, password_hash) "
	    "VALUES ($1, $2, '$argon2id$fixture') RETURNING id", 2, p);
	cr_assert_not_null(uid, "cannot make a user");
	snprintf(id, isz, "%s", uid);
	if (name != NULL)
		snprintf(name, nsz, "%s", n);
	free(uid);
}

static char *
token_for(const char *id, const char *name, long long ver)
{
	char	 email[64], *t;

	snprintf(email, sizeof(email), "%s@example.com", name);
	t = token_issue(&cfg, id, name, email, ver, time(NULL));
	cr_assert_not_null(t, "cannot sign a token");
	return t;
}

static void
db_item(char *out, size_t sz, const char *table, const char *user,
    int pub)
{
	char		 sql[256], *id;
	const char	*p[2] = { user, pub ? "true" : "false" };

	if (strcmp(table, "loops") == 0)
		snprintf(sql, sizeof(sql), "INSERT INTO loops (user_id, name, "
		    "bars, is_public) VALUES ($1, 'matrix', 1, $2) "
		    "RETURNING id");
	else
		snprintf(sql, sizeof(sql), "INSERT INTO songs (user_id, name, "
		    "bpm, is_public) VALUES ($1, 'matrix', 100, $2) "
		    "RETURNING id");
	id = it_db_text(sql, 2, p);
	cr_assert_not_null(id, "cannot make an item in %s", table);
	snprintf(out, sz, "%s", id);
	free(id);
}

static void
world_init(struct world *w)
{
	char		 other_name[40], deleted_name[40];
	const char	*p[1];

	memset(w, 0, sizeof(*w));
	load_config();
	db_user(w->owner, sizeof(w->owner), w->owner_name,
	    sizeof(w->owner_name));
	db_user(w->other, sizeof(w->other), other_name, sizeof(other_name));
	db_user(w->deleted, sizeof(w->deleted), deleted_name,
	    sizeof(deleted_name));
	/* The owner changed its password: version 2 is current. */
	p[0] = w->owner;
	cr_assert_eq(it_db_count("WITH u AS (UPDATE users SET token_version "
	    "= 2 WHERE id = $1 RETURNING 1) SELECT count(*) FROM u", 1, p), 1);
	w->stale_token = token_for(w->owner, w->owner_name, 1);
	w->owner_token = token_for(w->owner, w->owner_name, 2);
	w->other_token = token_for(w->other, other_name, 1);
	w->deleted_token = token_for(w->deleted, deleted_name, 1);
	p[0] = w->deleted;
	cr_assert_eq(it_db_count("WITH u AS (DELETE FROM users WHERE id = $1 "
	    "RETURNING 1) SELECT count(*) FROM u", 1, p), 1);
	db_item(w->loop_pub, sizeof(w->loop_pub), "loops", w->owner, 1);
	db_item(w->loop_priv, sizeof(w->loop_priv), "loops", w->owner, 0);
	db_item(w->song_pub, sizeof(w->song_pub), "songs", w->owner, 1);
	db_item(w->song_priv, sizeof(w->song_priv), "songs", w->owner, 0);
	snprintf(w->ids, sizeof(w->ids), "{%s,%s,%s}", w->owner, w->other,
	    w->deleted);
}

static void
world_release(struct world *w)
{
	free(w->owner_token);
	free(w->stale_token);
	free(w->other_token);
	free(w->deleted_token);
}

/*
 * Everything of the world's users, as one text: their rows, their
 * items, likes and remixes of their items, their signed-out tokens.
 * Equal texts: nothing was written.
 */
static char *
world_state(const struct world *w)
{
	const char	*p[1] = { w->ids };
	char		*s;

	s = it_db_text(
	    "SELECT md5(concat_ws('|',"
	    " (SELECT string_agg(row_to_json(u)::text, ',' ORDER BY id)"
	    "    FROM users u WHERE id = ANY($1::uuid[])),"
	    " (SELECT string_agg(row_to_json(l)::text, ',' ORDER BY id)"
	    "    FROM loops l WHERE user_id = ANY($1::uuid[])"
	    "    OR parent_loop_id IN (SELECT id FROM loops"
	    "        WHERE user_id = ANY($1::uuid[]))),"
	    " (SELECT string_agg(row_to_json(s)::text, ',' ORDER BY id)"
	    "    FROM songs s WHERE user_id = ANY($1::uuid[])),"
	    " (SELECT string_agg(row_to_json(k)::text, ',' ORDER BY"
	    "    user_id, loop_id) FROM loop_likes k"
	    "    WHERE user_id = ANY($1::uuid[]) OR loop_id IN (SELECT id"
	    "    FROM loops WHERE user_id = ANY($1::uuid[]))),"
	    " (SELECT string_agg(row_to_json(k)::text, ',' ORDER BY"
	    "    user_id, song_id) FROM song_likes k"
	    "    WHERE user_id = ANY($1::uuid[]) OR song_id IN (SELECT id"
	    "    FROM songs WHERE user_id = ANY($1::uuid[]))),"
	    " (SELECT count(*) FROM revoked_tokens"
	    "    WHERE user_id = ANY($1::uuid[]))))", 1, p);
	cr_assert_not_null(s, "cannot read the world's state");
	return s;
}

static const char *
token_of(const struct world *w, enum caller c)
{
	switch (c) {
	case C_OWNER:
		return w->owner_token;
	case C_OTHER:
		return w->other_token;
	case C_DELETED:
		return w->deleted_token;
	case C_STALE:
		return w->stale_token;
	default:
		return NULL;
	}
}

/* The target of row r on item i in world w. */
static void
target(const struct row *r, const struct world *w, enum item i,
    char *out, size_t sz)
{
	char		 path[512], missing[40], *p;
	const char	*arg = NULL;
	char		*param;
	unsigned char	 rnd[16];

	randombytes_buf(rnd, sizeof(rnd));
	snprintf(missing, sizeof(missing), "%02x%02x%02x%02x-%02x%02x-4%x%02x-"
	    "8%x%02x-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
	    rnd[3], rnd[4], rnd[5], rnd[6] & 15, rnd[7], rnd[8] & 15, rnd[9],
	    rnd[10], rnd[11], rnd[12], rnd[13], rnd[14], rnd[15]);
	switch (r->subject) {
	case S_LOOP:
		arg = i == I_PUBLIC ? w->loop_pub : i == I_PRIVATE ?
		    w->loop_priv : missing;
		break;
	case S_SONG:
		arg = i == I_PUBLIC ? w->song_pub : i == I_PRIVATE ?
		    w->song_priv : missing;
		break;
	case S_USER:
		arg = i == I_MISSING ? "nobody-by-this-name" : w->owner_name;
		break;
	case S_SLUG:
		arg = i == I_MISSING ? "no-such-problem" : "not-found";
		break;
	default:
		break;
	}
	snprintf(path, sizeof(path), "%s", r->path);
	if (arg != NULL && (param = strchr(path, '{')) != NULL) {
		char	 rest[256];

		p = strchr(param, '}');
		cr_assert_not_null(p);
		snprintf(rest, sizeof(rest), "%s", p + 1);
		snprintf(param, sizeof(path) - (size_t)(param - path),
		    "%s%s", arg, rest);
	}
	if (r->subject == S_LIVE)
		snprintf(out, sz, "%s?channels=%s:%s", path,
		    i == I_PRIVATE ? "user" : "loop",
		    i == I_PUBLIC ? w->loop_pub : i == I_PRIVATE ? w->owner :
		    missing);
	else if (r->query != NULL)
		snprintf(out, sz, "%s?%s", path, r->query);
	else
		snprintf(out, sz, "%s", path);
}

/* The headers every answer owes; a message into why when one fails. */
static int
headers_ok(const struct row *r, const struct it_resp *resp, int token_sent,
    char *why, size_t sz)
{
	const char	*v;

	v = it_header(resp, "x-content-type-options");
	if (v == NULL || strcasecmp(v, "nosniff") != 0) {
		snprintf(why, sz, "X-Content-Type-Options is %s",
		    v ? v : "missing");
		return 0;
	}
	v = it_header(resp, "server");
	if (v != NULL && strpbrk(v, "/0123456789") != NULL) {
		snprintf(why, sz, "Server names a version: %s", v);
		return 0;
	}
	v = it_header(resp, "cache-control");
	if ((r->flags & F_TOKEN) && token_sent && (v == NULL ||
	    (strstr(v, "no-store") == NULL && strstr(v, "private") == NULL))) {
		snprintf(why, sz, "an answer to a request with a token has "
		    "Cache-Control %s", v ? v : "missing");
		return 0;
	}
	return 1;
}

/* Play one cell; its failures, one line each, are added to fails. */
static void
play(const struct row *r, enum caller c, enum item i, struct buf *fails)
{
	struct world	 w;
	struct it_resp	 resp;
	char		 tgt[600], auth[1200], why[300], line[1200];
	char		 body[512], ip[32], *before, *after;
	const char	*h[3] = { NULL, NULL, NULL };
	const char	*tok, *b = r->body;
	static struct ia_user login_user;
	static int	 have_login_user;
	int		 want, got, n = 0;

	unsigned	 seq = ++cell_seq, pid = (unsigned)getpid();

	/* Each cell from an address of its own: nginx limits per address. */
	snprintf(ip, sizeof(ip), "127.%u.%u.%u", 1 + (pid % 250),
	    1 + (seq / 250) % 250, 1 + seq % 250);
	if (b != NULL && strcmp(b, BODY_LOGIN) == 0 && !have_login_user) {
		it_source(ip);
		ia_new_user(&login_user);
		have_login_user = 1;
	}
	it_source(r->flags & F_LOCALHOST ? "127.0.0.1" : ip);
	world_init(&w);
	target(r, &w, i, tgt, sizeof(tgt));
	if ((tok = token_of(&w, c)) != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
		h[n++] = auth;
	}
	if (b != NULL && strcmp(b, BODY_SIGNUP) == 0) {
		char	 name[32];

		it_unique(name, sizeof(name), "mxs");
		snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
		    "\"username\":\"%s\",\"password\":\"matrix-password\"}",
		    name, name);
		b = body;
	} else if (b != NULL && strcmp(b, BODY_LOGIN) == 0) {
		snprintf(body, sizeof(body), "{\"email\":\"%s\","
		    "\"password\":\"%s\"}", login_user.email,
		    login_user.password);
		b = body;
	}
	want = expected(r, c, i);
	before = world_state(&w);
	if (r->flags & F_STREAM) {
		struct it_sse	 s;

		h[n++] = "Accept: text/event-stream";
		cr_assert_eq(it_sse_open(&s, tgt, h), 0, "no answer to %s",
		    tgt);
		got = s.head.status;
		if (!headers_ok(r, &s.head, tok != NULL, why, sizeof(why))) {
			snprintf(line, sizeof(line), "\n  %s %s, %s, %s: %s",
			    r->method, r->path, caller_names[c],
			    item_names[i], why);
			buf_puts(fails, line);
		}
		it_sse_close(&s);
	} else {
		cr_assert_eq(it_request(r->method, tgt, h, b, &resp), 0,
		    "no answer to %s %s", r->method, tgt);
		got = resp.status;
		if (!headers_ok(r, &resp, tok != NULL, why, sizeof(why))) {
			snprintf(line, sizeof(line), "\n  %s %s, %s, %s: %s",
			    r->method, r->path, caller_names[c],
			    item_names[i], why);
			buf_puts(fails, line);
		}
		if (got != want) {
			snprintf(line, sizeof(line), "\n  %s %s, %s, %s: %d, "
			    "want %d (%.200s)", r->method, r->path,
			    caller_names[c], item_names[i], got, want,
			    resp.body ? resp.body : "");
			buf_puts(fails, line);
		}
		it_resp_free(&resp);
	}
	if ((r->flags & F_STREAM) && got != want) {
		snprintf(line, sizeof(line), "\n  %s %s, %s, %s: %d, want %d",
		    r->method, r->path, caller_names[c], item_names[i], got,
		    want);
		buf_puts(fails, line);
	}
	after = world_state(&w);
	/* A refusal, and any read, writes nothing. */
	if ((got >= 300 || strcmp(r->method, "GET") == 0) &&
	    strcmp(before, after) != 0) {
		snprintf(line, sizeof(line), "\n  %s %s, %s, %s: answered %d "
		    "but the rows changed", r->method, r->path,
		    caller_names[c], item_names[i], got);
		buf_puts(fails, line);
	}
	free(before);
	free(after);
	world_release(&w);
}

static void
play_rows(const char *prefix)
{
	struct buf	 fails = BUF_INIT;
	size_t		 k, cells = 0;
	int		 c, i;

	for (k = 0; k < NROWS; k++) {
		if (strncmp(rows[k].path, prefix, strlen(prefix)) != 0)
			continue;
		for (c = 0; c < C__MAX; c++)
			for (i = 0; i < (rows[k].subject == S_NONE ? 1 : I__MAX);
			    i++) {
				play(&rows[k], (enum caller)c, (enum item)i,
				    &fails);
				cells++;
			}
	}
	cr_assert_gt(cells, 0, "no row under %s", prefix);
	cr_expect_eq(fails.len, 0, "%zu cells under %s, failed:%s", cells,
	    prefix, fails.data ? fails.data : "");
	buf_release(&fails);
}

Test(matrix, every_caller_gets_the_status_the_contract_says_on_loops)
{
	play_rows("/api/loops");
}

Test(matrix, every_caller_gets_the_status_the_contract_says_on_songs)
{
	play_rows("/api/songs");
}

Test(matrix, every_caller_gets_the_status_the_contract_says_on_accounts)
{
	play_rows("/api/auth");
	play_rows("/api/users");
	play_rows("/api/sync");
}

Test(matrix, every_caller_gets_the_status_the_contract_says_on_live_updates)
{
	play_rows("/api/live");
}

Test(matrix, every_caller_gets_the_status_the_contract_says_on_operations)
{
	play_rows("/health");
	play_rows("/api/health");
	play_rows("/ready");
	play_rows("/metrics");
	play_rows("/api/openapi.json");
	play_rows("/problems");
}

/*
 * CORS on every route: an allowed origin (the test stack allows
 * http://127.0.0.1:* as development does) is echoed with credentials,
 * never as "*"; any other origin gets no CORS header at all.  As the
 * owner, on the public item.
 */
static void
cors_row(const struct row *r, const char *origin, int allowed,
    struct buf *fails)
{
	struct world	 w;
	struct it_resp	 resp, *head;
	struct it_sse	 s;
	char		 tgt[600], auth[1200], oh[200], line[600], body[512];
	const char	*h[4] = { NULL, NULL, NULL, NULL }, *acao, *acac, *b;
	char		 ip[32];
	unsigned	 seq = ++cell_seq, pid = (unsigned)getpid();
	int		 n = 0, stream = (r->flags & F_STREAM) != 0;

	snprintf(ip, sizeof(ip), "127.%u.%u.%u", 1 + (pid % 250),
	    1 + (seq / 250) % 250, 1 + seq % 250);
	it_source(r->flags & F_LOCALHOST ? "127.0.0.1" : ip);
	world_init(&w);
	target(r, &w, I_PUBLIC, tgt, sizeof(tgt));
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    w.owner_token);
	snprintf(oh, sizeof(oh), "Origin: %s", origin);
	h[n++] = auth;
	h[n++] = oh;
	b = r->body;
	if (b != NULL && (strcmp(b, BODY_SIGNUP) == 0 ||
	    strcmp(b, BODY_LOGIN) == 0)) {
		/* Only the headers matter here: a body that is refused. */
		snprintf(body, sizeof(body), "{}");
		b = body;
	}
	if (stream) {
		h[n++] = "Accept: text/event-stream";
		cr_assert_eq(it_sse_open(&s, tgt, h), 0);
		head = &s.head;
	} else {
		cr_assert_eq(it_request(r->method, tgt, h, b, &resp), 0);
		head = &resp;
	}
	acao = it_header(head, "access-control-allow-origin");
	acac = it_header(head, "access-control-allow-credentials");
	if (acao != NULL && strcmp(acao, "*") == 0) {
		snprintf(line, sizeof(line), "\n  %s %s from %s: "
		    "Access-Control-Allow-Origin: *", r->method, r->path, origin);
		buf_puts(fails, line);
	} else if (allowed && (acao == NULL || strcmp(acao, origin) != 0 ||
	    acac == NULL || strcmp(acac, "true") != 0)) {
		snprintf(line, sizeof(line), "\n  %s %s from %s (%d): "
		    "Allow-Origin %s, Allow-Credentials %s", r->method, r->path,
		    origin, head->status, acao ? acao : "missing",
		    acac ? acac : "missing");
		buf_puts(fails, line);
	} else if (!allowed && (acao != NULL || acac != NULL)) {
		snprintf(line, sizeof(line), "\n  %s %s from %s (%d): CORS "
		    "headers for an origin not configured (%s)", r->method,
		    r->path, origin, head->status, acao ? acao : "");
		buf_puts(fails, line);
	}
	if (stream)
		it_sse_close(&s);
	else
		it_resp_free(&resp);
	world_release(&w);
}

Test(matrix, every_route_echoes_a_configured_origin_with_credentials_and_never_a_star)
{
	struct buf	 fails = BUF_INIT;
	size_t		 k;

	for (k = 0; k < NROWS; k++)
		cors_row(&rows[k], "http://127.0.0.1:5173", 1, &fails);
	cr_expect_eq(fails.len, 0, "failed:%s", fails.data ? fails.data : "");
	buf_release(&fails);
}

Test(matrix, every_route_gives_an_origin_not_configured_no_cors_header)
{
	struct buf	 fails = BUF_INIT;
	size_t		 k;

	for (k = 0; k < NROWS; k++) {
		cors_row(&rows[k], "https://evil.example", 0, &fails);
		cors_row(&rows[k], "http://127.0.0.1.evil.example:5173", 0,
		    &fails);
		cors_row(&rows[k], "null", 0, &fails);
	}
	cr_expect_eq(fails.len, 0, "failed:%s", fails.data ? fails.data : "");
	buf_release(&fails);
}
