/*
 * What loops and songs share in the database: read one, delete one,
 * like, play, and list with filters and keyset paging.  Every
 * statement is written out as SQL once per kind, next to the function
 * that runs it (the two kinds' texts differ in their table names and
 * in the song's viewer argument); only the lists are built, from
 * fragments, because their filter set is dynamic (see "Lists" below).
 * The column and parameter conventions are in db/items_int.h.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "base/log.h"
#include "db/items_int.h"

/*
 * The statements below share the conventions of db/items_int.h: $1 the
 * caller (NULL when anonymous), $2 its token version, $3 the item, and
 * the columns me_ok, outcome, version, owner, json.  "me" is the
 * caller's row while the token holds; me_ok is true for anonymous
 * callers or when that row exists.  A song is shown to a viewer:
 * song_view_json takes the caller ($1) and marks the blocks whose loop
 * the viewer cannot get "missing" (migration 0004); loops need none.
 * The statements that read items join their counter rows (c) and hand
 * them to loop_text / song_view_json (migrations 0040, 0041): a loop's
 * own members are rendered when it is written (0041), so a read only
 * joins text.
 */

/*
 * What a GET by id selects after its me_ok column: the outcome and the
 * item row v that a LATERAL finds (none: 'missing'), whose select list
 * goes on with the rendering j.
 */
#define GET_COLUMNS							\
    "       CASE WHEN v.version IS NULL THEN 'missing' ELSE 'ok' END, "	\
    "       v.version, v.user_id, v.j "					\
    "FROM (SELECT 1) one "						\
    "LEFT JOIN LATERAL ( "						\
    "    SELECT x.version, x.user_id, "

/* GET one loop: visible when public or the caller's. */
static struct db_stmt st_get_loop = DB_STMT_RO("item_get_loop",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), " GET_COLUMNS
    "           loop_text(x, c, o.username, "
    "                     EXISTS (SELECT 1 FROM loop_likes k "
    "                             WHERE k.user_id = $1::uuid "
    "                               AND k.loop_id = x.id)) AS j "
    "    FROM loops x JOIN users o ON o.id = x.user_id "
    "    LEFT JOIN loop_counts c ON c.loop_id = x.id "
    "    WHERE x.id = $3::uuid "
    "      AND (x.is_public OR x.user_id = (SELECT me.id FROM me)) "
    ") v ON true", 3);

/* GET one song, the same way. */
static struct db_stmt st_get_song = DB_STMT_RO("item_get_song",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), " GET_COLUMNS
    "           song_view_json(x, c, o.username, "
    "                          EXISTS (SELECT 1 FROM song_likes k "
    "                                  WHERE k.user_id = $1::uuid "
    "                                    AND k.song_id = x.id), "
    "                          $1::uuid) AS j "
    "    FROM songs x JOIN users o ON o.id = x.user_id "
    "    LEFT JOIN song_counts c ON c.song_id = x.id "
    "    WHERE x.id = $3::uuid "
    "      AND (x.is_public OR x.user_id = (SELECT me.id FROM me)) "
    ") v ON true", 3);

static struct db_stmt *const st_get[ITEM__MAX] = {
	&st_get_loop, &st_get_song
};

/*
 * GET one item for an anonymous caller ($1 the item), the same columns:
 * only a public item, not liked.  The hottest read has no caller to
 * look up: without the me CTE, its InitPlans and the like probe, a
 * backend spends about 20 us less on each (bench/README.md, "GET for
 * an anonymous caller").
 */
static struct db_stmt st_get_loop_anon = DB_STMT_RO("item_get_loop_anon",
    "SELECT true, " GET_COLUMNS
    "           loop_text(x, c, o.username, false) AS j "
    "    FROM loops x JOIN users o ON o.id = x.user_id "
    "    LEFT JOIN loop_counts c ON c.loop_id = x.id "
    "    WHERE x.id = $1::uuid AND x.is_public "
    ") v ON true", 1);

static struct db_stmt st_get_song_anon = DB_STMT_RO("item_get_song_anon",
    "SELECT true, " GET_COLUMNS
    "           song_view_json(x, c, o.username, false, NULL::uuid) AS j "
    "    FROM songs x JOIN users o ON o.id = x.user_id "
    "    LEFT JOIN song_counts c ON c.song_id = x.id "
    "    WHERE x.id = $1::uuid AND x.is_public "
    ") v ON true", 1);

static struct db_stmt *const st_get_anon[ITEM__MAX] = {
	&st_get_loop_anon, &st_get_song_anon
};

/*
 * DELETE a loop, If-Match in $4.  The row is locked first (FOR
 * UPDATE), so the outcome is decided on its latest version.  par locks
 * the parent loop before the loop's own row, the order remixing takes
 * them in, so deleting a remix while its parent is remixed cannot
 * deadlock.
 */
static struct db_stmt st_delete_loop = DB_STMT("item_delete_loop",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int), "
    "par AS (SELECT p.id FROM loops p "
    "        WHERE p.id = (SELECT x.parent_loop_id FROM loops x "
    "                      WHERE x.id = $3::uuid) "
    "        FOR NO KEY UPDATE), "
    "cur AS (SELECT x.* FROM loops x "
    "        WHERE x.id = $3::uuid AND (SELECT count(*) FROM par) >= 0 "
    "        FOR UPDATE), "
    "del AS (DELETE FROM loops x USING cur, me "
    "        WHERE x.id = cur.id AND cur.user_id = me.id "
    "          AND ($4::int[] IS NULL OR cur.version = ANY ($4::int[])) "
    "        RETURNING x.id) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), "
    "       CASE WHEN EXISTS (SELECT 1 FROM del) THEN 'ok' "
    "            WHEN c.id IS NULL "
    "              OR NOT (c.is_public OR c.user_id = m.id) THEN 'missing' "
    "            WHEN c.user_id <> m.id THEN 'forbidden' "
    "            ELSE 'precondition' END, "
    "       c.version, c.user_id, "
    "       CASE WHEN c.id IS NOT NULL AND c.user_id = m.id "
    "             AND NOT EXISTS (SELECT 1 FROM del) "
    "            THEN loop_json(c::loops, m.username, "
    "                           EXISTS (SELECT 1 FROM loop_likes k "
    "                                   WHERE k.user_id = m.id "
    "                                     AND k.loop_id = c.id)) END "
    "FROM (SELECT 1) one "
    "LEFT JOIN me m ON true "
    "LEFT JOIN cur c ON true", 4);

/* DELETE a song, If-Match in $4; a song has no parent to lock. */
static struct db_stmt st_delete_song = DB_STMT("item_delete_song",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int), "
    "cur AS (SELECT x.* FROM songs x WHERE x.id = $3::uuid FOR UPDATE), "
    "del AS (DELETE FROM songs x USING cur, me "
    "        WHERE x.id = cur.id AND cur.user_id = me.id "
    "          AND ($4::int[] IS NULL OR cur.version = ANY ($4::int[])) "
    "        RETURNING x.id) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), "
    "       CASE WHEN EXISTS (SELECT 1 FROM del) THEN 'ok' "
    "            WHEN c.id IS NULL "
    "              OR NOT (c.is_public OR c.user_id = m.id) THEN 'missing' "
    "            WHEN c.user_id <> m.id THEN 'forbidden' "
    "            ELSE 'precondition' END, "
    "       c.version, c.user_id, "
    "       CASE WHEN c.id IS NOT NULL AND c.user_id = m.id "
    "             AND NOT EXISTS (SELECT 1 FROM del) "
    "            THEN song_view_json(c::songs, m.username, "
    "                                EXISTS (SELECT 1 FROM song_likes k "
    "                                        WHERE k.user_id = m.id "
    "                                          AND k.song_id = c.id), "
    "                                $1::uuid) END "
    "FROM (SELECT 1) one "
    "LEFT JOIN me m ON true "
    "LEFT JOIN cur c ON true", 4);

static struct db_stmt *const st_delete[ITEM__MAX] = {
	&st_delete_loop, &st_delete_song
};

/* Like ($4 true) or unlike: one call of item_like() (0003, 0040). */
static struct db_stmt st_like_loop = DB_STMT("item_like_loop",
    "SELECT me_ok, found, likes_count, liked "
    "FROM item_like('loop', $1::uuid, $2::int, $3::uuid, $4::boolean)", 4);

static struct db_stmt st_like_song = DB_STMT("item_like_song",
    "SELECT me_ok, found, likes_count, liked "
    "FROM item_like('song', $1::uuid, $2::int, $3::uuid, $4::boolean)", 4);

static struct db_stmt *const st_like[ITEM__MAX] = {
	&st_like_loop, &st_like_song
};

/* A play by listener $4 (used when anonymous): item_play() (0003, 0040). */
static struct db_stmt st_play_loop = DB_STMT("item_play_loop",
    "SELECT me_ok, found, plays_count "
    "FROM item_play('loop', $1::uuid, $2::int, $4::text, $3::uuid)", 4);

static struct db_stmt st_play_song = DB_STMT("item_play_song",
    "SELECT me_ok, found, plays_count "
    "FROM item_play('song', $1::uuid, $2::int, $4::text, $3::uuid)", 4);

static struct db_stmt *const st_play[ITEM__MAX] = {
	&st_play_loop, &st_play_song
};

/*
 * The caller's liked loops that the caller may still see, newest like
 * first (ties by id), $3 rows.  The key of a row is its like's time in
 * microseconds since the epoch.
 */
static struct db_stmt st_liked_loop = DB_STMT_RO("item_liked_loop",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), p.k, p.id, p.j "
    "FROM (SELECT 1) one "
    "LEFT JOIN LATERAL ( "
    "    SELECT (extract(epoch FROM k.created_at) * 1000000)::bigint AS k, "
    "           x.id, loop_text(x, c, o.username, true) AS j "
    "    FROM loop_likes k "
    "    JOIN loops x ON x.id = k.loop_id "
    "    JOIN users o ON o.id = x.user_id "
    "    LEFT JOIN loop_counts c ON c.loop_id = x.id "
    "    WHERE k.user_id = (SELECT me.id FROM me) "
    "      AND (x.is_public OR x.user_id = k.user_id) "
    "    ORDER BY k.created_at DESC, k.loop_id DESC LIMIT $3::int "
    ") p ON true "
    "ORDER BY p.k DESC, p.id DESC", 3);

/* The same after the cursor: the like at $4 (microseconds) of loop $5. */
static struct db_stmt st_liked_loop_after = DB_STMT_RO("item_liked_loop_after",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), p.k, p.id, p.j "
    "FROM (SELECT 1) one "
    "LEFT JOIN LATERAL ( "
    "    SELECT (extract(epoch FROM k.created_at) * 1000000)::bigint AS k, "
    "           x.id, loop_text(x, c, o.username, true) AS j "
    "    FROM loop_likes k "
    "    JOIN loops x ON x.id = k.loop_id "
    "    JOIN users o ON o.id = x.user_id "
    "    LEFT JOIN loop_counts c ON c.loop_id = x.id "
    "    WHERE k.user_id = (SELECT me.id FROM me) "
    "      AND (x.is_public OR x.user_id = k.user_id) "
    "      AND (k.created_at, k.loop_id) < "
    "          ('epoch'::timestamptz + $4::bigint * interval '1 microsecond', "
    "           $5::uuid) "
    "    ORDER BY k.created_at DESC, k.loop_id DESC LIMIT $3::int "
    ") p ON true "
    "ORDER BY p.k DESC, p.id DESC", 5);

/* The caller's liked songs, as st_liked_loop. */
static struct db_stmt st_liked_song = DB_STMT_RO("item_liked_song",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), p.k, p.id, p.j "
    "FROM (SELECT 1) one "
    "LEFT JOIN LATERAL ( "
    "    SELECT (extract(epoch FROM k.created_at) * 1000000)::bigint AS k, "
    "           x.id, song_view_json(x, c, o.username, true, $1::uuid) AS j "
    "    FROM song_likes k "
    "    JOIN songs x ON x.id = k.song_id "
    "    JOIN users o ON o.id = x.user_id "
    "    LEFT JOIN song_counts c ON c.song_id = x.id "
    "    WHERE k.user_id = (SELECT me.id FROM me) "
    "      AND (x.is_public OR x.user_id = k.user_id) "
    "    ORDER BY k.created_at DESC, k.song_id DESC LIMIT $3::int "
    ") p ON true "
    "ORDER BY p.k DESC, p.id DESC", 3);

/* The same after the cursor: the like at $4 (microseconds) of song $5. */
static struct db_stmt st_liked_song_after = DB_STMT_RO("item_liked_song_after",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), p.k, p.id, p.j "
    "FROM (SELECT 1) one "
    "LEFT JOIN LATERAL ( "
    "    SELECT (extract(epoch FROM k.created_at) * 1000000)::bigint AS k, "
    "           x.id, song_view_json(x, c, o.username, true, $1::uuid) AS j "
    "    FROM song_likes k "
    "    JOIN songs x ON x.id = k.song_id "
    "    JOIN users o ON o.id = x.user_id "
    "    LEFT JOIN song_counts c ON c.song_id = x.id "
    "    WHERE k.user_id = (SELECT me.id FROM me) "
    "      AND (x.is_public OR x.user_id = k.user_id) "
    "      AND (k.created_at, k.song_id) < "
    "          ('epoch'::timestamptz + $4::bigint * interval '1 microsecond', "
    "           $5::uuid) "
    "    ORDER BY k.created_at DESC, k.song_id DESC LIMIT $3::int "
    ") p ON true "
    "ORDER BY p.k DESC, p.id DESC", 5);

/* [kind][has a cursor] */
static struct db_stmt *const st_liked[ITEM__MAX][2] = {
	{ &st_liked_loop, &st_liked_loop_after },
	{ &st_liked_song, &st_liked_song_after },
};

void
item_result_release(struct item_result *r)
{
	free(r->json);
	memset(r, 0, sizeof(*r));
}

void
item_page_release(struct item_page *p)
{
	size_t	 i;

	for (i = 0; i < p->n; i++)
		free(p->rows[i].json);
	free(p->rows);
	memset(p, 0, sizeof(*p));
}

static enum item_outcome
outcome_parse(const char *s)
{
	if (s == NULL)
		return ITEM_MISSING;
	if (strcmp(s, "ok") == 0)
		return ITEM_OK;
	if (strcmp(s, "created") == 0)
		return ITEM_CREATED;
	if (strcmp(s, "forbidden") == 0)
		return ITEM_FORBIDDEN;
	if (strcmp(s, "precondition") == 0)
		return ITEM_PRECONDITION;
	if (strcmp(s, "conflict") == 0)
		return ITEM_CONFLICT;
	if (strcmp(s, "invalid") == 0)
		return ITEM_INVALID;
	return ITEM_MISSING;
}

/*
 * Run an item statement that follows the column convention of
 * db/items_int.h and fill r (r->json is r's; item_result_release).
 */
enum db_status
db_item_exec(struct db *db, struct db_stmt *st, const char *const *params,
    struct item_result *r)
{
	PGresult	*res;
	enum db_status	 s;
	const char	*v;

	memset(r, 0, sizeof(*r));
	if ((s = db_exec(db, st, params, &res)) != DB_OK)
		return s;
	if (PQntuples(res) != 1 || PQnfields(res) < 5) {
		PQclear(res);
		return DB_ERROR;
	}
	v = db_value(res, 0, 0);
	if (v == NULL || strcmp(v, "t") != 0) {
		r->outcome = ITEM_BAD_TOKEN;
		PQclear(res);
		return DB_OK;
	}
	r->outcome = outcome_parse(db_value(res, 0, 1));
	if ((v = db_value(res, 0, 2)) != NULL)
		r->version = strtoll(v, NULL, 10);
	if ((v = db_value(res, 0, 3)) != NULL)
		snprintf(r->owner, sizeof(r->owner), "%s", v);
	if ((v = db_value(res, 0, 4)) != NULL)
		r->json = xstrdup(v);
	if (PQnfields(res) > 5 && (v = db_value(res, 0, 5)) != NULL)
		snprintf(r->id, sizeof(r->id), "%s", v);
	PQclear(res);
	return DB_OK;
}

/* $1 and $2 of every item statement: the caller and its token version. */
void
db_item_caller_params(const struct item_caller *who, char *ver, size_t versz,
    const char **p)
{
	snprintf(ver, versz, "%lld", who->ver);
	p[0] = who->id;
	p[1] = who->id != NULL ? ver : NULL;
}


/*
 * The If-Match condition of cond as an int[] parameter: *p NULL for no
 * condition, else "{v1,v2,...}" in out.  A version outside 1..INT32_MAX
 * is left out: no stored version (an int) can equal it, so it cannot
 * match, and an empty list is a condition no version holds.
 */
static void
cond_param(const struct item_cond *cond, struct buf *out, const char **p)
{
	size_t	 i, n = 0;

	*p = NULL;
	if (!cond->match)
		return;
	buf_putc(out, '{');
	for (i = 0; i < cond->nversions; i++) {
		if (cond->versions[i] < 1 || cond->versions[i] > INT32_MAX)
			continue;
		buf_printf(out, "%s%lld", n++ > 0 ? "," : "",
		    cond->versions[i]);
	}
	buf_putc(out, '}');
	*p = out->data;
}

/*
 * Run a kind's create statement st ($1 caller, $2 token version, $3 id
 * or NULL for a new one, $4 the validated document): ITEM_CREATED with
 * the item, or ITEM_PRECONDITION when id exists already (created there
 * meanwhile: the primary key said so).  r is the caller's.
 */
enum db_status
db_item_create_with(struct db *db, struct db_stmt *st,
    const struct item_caller *who, const char *id, const char *doc,
    struct item_result *r)
{
	const char	*p[4];
	char		 ver[24];
	enum db_status	 s;

	db_item_caller_params(who, ver, sizeof(ver), p);
	p[2] = id;
	p[3] = doc;
	s = db_item_exec(db, st, p, r);
	if (s == DB_UNIQUE && id != NULL) {
		r->outcome = ITEM_PRECONDITION;
		s = DB_OK;
	}
	return s;
}

/*
 * Run a kind's replace statement st ($1-$4 as for create, $5 the
 * If-Match versions, $6 the body's version or NULL): ITEM_OK with the
 * new item; ITEM_PRECONDITION / ITEM_CONFLICT with the current one;
 * ITEM_MISSING, ITEM_FORBIDDEN, ITEM_INVALID.
 */
enum db_status
db_item_replace_with(struct db *db, struct db_stmt *st,
    const struct item_caller *who, const char *id, const char *doc,
    const struct item_cond *cond, struct item_result *r)
{
	struct buf	 match = BUF_INIT;
	const char	*p[6];
	char		 ver[24], bv[24];
	enum db_status	 s;

	db_item_caller_params(who, ver, sizeof(ver), p);
	p[2] = id;
	p[3] = doc;
	cond_param(cond, &match, &p[4]);
	p[5] = NULL;
	if (cond->body_version >= 0) {
		snprintf(bv, sizeof(bv), "%lld", cond->body_version);
		p[5] = bv;
	}
	s = db_item_exec(db, st, p, r);
	buf_release(&match);
	return s;
}

/*
 * One item as the caller may see it: ITEM_OK with json, ITEM_MISSING
 * when it does not exist or is someone else's private item.
 */
enum db_status
db_item_get(struct db *db, enum item_kind kind, const struct item_caller *who,
    const char *id, struct item_result *r)
{
	const char	*p[3];
	char		 ver[24];

	if (who->id == NULL) {
		p[0] = id;
		return db_item_exec(db, st_get_anon[kind], p, r);
	}
	db_item_caller_params(who, ver, sizeof(ver), p);
	p[2] = id;
	return db_item_exec(db, st_get[kind], p, r);
}

/*
 * Delete the caller's item if cond holds.  ITEM_OK when deleted;
 * ITEM_PRECONDITION comes with the current item in r->json.
 */
enum db_status
db_item_delete(struct db *db, enum item_kind kind,
    const struct item_caller *who, const char *id, const struct item_cond *cond,
    struct item_result *r)
{
	struct buf	 match = BUF_INIT;
	const char	*p[4];
	char		 ver[24];
	enum db_status	 s;

	db_item_caller_params(who, ver, sizeof(ver), p);
	p[2] = id;
	cond_param(cond, &match, &p[3]);
	s = db_item_exec(db, st_delete[kind], p, r);
	buf_release(&match);
	return s;
}

/* Read the (me_ok, found, count[, flag]) row of item_like/item_play. */
static enum db_status
counter_result(struct db *db, struct db_stmt *st, const char *const *p,
    struct item_result *r)
{
	PGresult	*res;
	enum db_status	 s;
	const char	*v;

	memset(r, 0, sizeof(*r));
	if ((s = db_exec(db, st, p, &res)) != DB_OK) {
		/* Deleted between the visibility check and the insert. */
		if (s == DB_FOREIGN_KEY) {
			r->outcome = ITEM_MISSING;
			return DB_OK;
		}
		return s;
	}
	if (PQntuples(res) < 1) {
		PQclear(res);
		return DB_ERROR;
	}
	if ((v = db_value(res, 0, 0)) == NULL || strcmp(v, "t") != 0)
		r->outcome = ITEM_BAD_TOKEN;
	else if ((v = db_value(res, 0, 1)) == NULL || strcmp(v, "t") != 0)
		r->outcome = ITEM_MISSING;
	else {
		r->outcome = ITEM_OK;
		if ((v = db_value(res, 0, 2)) != NULL)
			r->count = strtoll(v, NULL, 10);
		if (PQnfields(res) > 3 && (v = db_value(res, 0, 3)) != NULL)
			r->flag = strcmp(v, "t") == 0;
	}
	PQclear(res);
	return DB_OK;
}

/*
 * Like (on) or unlike an item the caller may see; idempotent.  ITEM_OK
 * with r->count = likes after the change and r->flag = liked.
 */
enum db_status
db_item_like(struct db *db, enum item_kind kind, const struct item_caller *who,
    const char *id, int on, struct item_result *r)
{
	const char	*p[4];
	char		 ver[24];

	db_item_caller_params(who, ver, sizeof(ver), p);
	p[2] = id;
	p[3] = on ? "true" : "false";
	return counter_result(db, st_like[kind], p, r);
}

/*
 * Count a play by the caller (or, anonymous, by listener: the client
 * address), at most one per listener per item per minute.  ITEM_OK
 * with r->count = plays after it.
 */
enum db_status
db_item_play(struct db *db, enum item_kind kind, const struct item_caller *who,
    const char *listener, const char *id, struct item_result *r)
{
	const char	*p[4];
	char		 ver[24];

	db_item_caller_params(who, ver, sizeof(ver), p);
	p[2] = id;
	p[3] = listener != NULL ? listener : "";
	return counter_result(db, st_play[kind], p, r);
}

/* Fill page from the (me_ok, key, id, json) rows of a list statement. */
static enum db_status
page_rows(PGresult *res, struct item_page *page)
{
	const char	*v;
	int		 i;

	if ((v = db_value(res, 0, 0)) == NULL || strcmp(v, "t") != 0) {
		page->bad_token = 1;
		return DB_OK;
	}
	page->rows = xcalloc((size_t)PQntuples(res) + 1, sizeof(*page->rows));
	for (i = 0; i < PQntuples(res); i++) {
		if (db_value(res, i, 2) == NULL)
			continue;	/* the empty page's one row */
		page->rows[page->n].key = strtoll(PQgetvalue(res, i, 1), NULL,
		    10);
		snprintf(page->rows[page->n].id, sizeof(page->rows[0].id),
		    "%s", PQgetvalue(res, i, 2));
		page->rows[page->n].json = xstrdup(PQgetvalue(res, i, 3));
		page->n++;
	}
	return DB_OK;
}

/*
 * One page of the items of kind the caller likes (see st_liked): at
 * most limit rows, after the like (key, id) when has_cursor.  *page is
 * the caller's (item_page_release).
 */
enum db_status
db_item_liked(struct db *db, enum item_kind kind, const struct item_caller *who,
    int limit, int has_cursor, long long key, const char *id,
    struct item_page *page)
{
	const char	*p[5];
	char		 ver[24], lim[16], k[24];
	PGresult	*res;
	enum db_status	 s;

	memset(page, 0, sizeof(*page));
	db_item_caller_params(who, ver, sizeof(ver), p);
	snprintf(lim, sizeof(lim), "%d", limit);
	snprintf(k, sizeof(k), "%lld", key);
	p[2] = lim;
	p[3] = k;
	p[4] = id;
	if ((s = db_exec(db, st_liked[kind][has_cursor ? 1 : 0], p, &res)) !=
	    DB_OK)
		return s;
	s = page_rows(res, page);
	PQclear(res);
	return s;
}

/*
 * Lists: the one place where SQL is built rather than written out.
 * The filter set is really dynamic: 4 sorts x 3 scopes x 2^10
 * combinations of optional filters (user, bars, bpmMin, bpmMax,
 * parent, cursor, chord, sound, q, offset), and each combination wants
 * a statement of its own, for a plan that uses the sort's index (a
 * single text with "($n IS NULL OR ...)" for every filter would not
 * get one).  So each combination is its own SQL text, built from the
 * constant fragments below (input only ever travels as parameters),
 * prepared once per connection under a name derived from the text,
 * and cached here for the life of the process.
 *
 * Without a containment (chord, sound) or name (q) filter, a page is
 * one walk down the sort's index from the cursor: a page deep in the
 * list costs what the first costs.
 * With one, the planner cannot know how many rows match (jsonb
 * containment has no statistics once a value is over 1 kB, and a
 * loop's iconSequence is), yet the right plan depends on it: walking
 * the sort index and filtering is best for common values (most
 * chords and sounds), a GIN bitmap scan then a sort is best for rare
 * ones, and each is ruinous for the other kind (a bitmap of half a
 * million rows; a walk of the whole index for a value nobody uses).
 * So the statement does both, bounded: it walks at most WALK_WINDOW
 * rows of the sort index and keeps the hits; if that gives the page
 * (or the window held every candidate), that is the answer; only
 * otherwise, when the value is provably rare (under about 2% of the
 * window), does it run the GIN-served query, whose result is then
 * small.  The GIN query sorts by "column + 0" so the planner cannot
 * turn it back into an index walk.
 */

/* The names that differ between the kinds (constants, never input). */
struct kind_sql {
	const char	*table;		/* "loops" */
	const char	*likes;		/* "loop_likes" */
	const char	*fk;		/* "loop_id" */
	const char	*counts;	/* "loop_counts" (migration 0040) */
	const char	*json;		/* "loop_text" */
	const char	*json_tail;	/* more arguments of json, after liked:
					   a song is shown to a viewer ($1) */
};

static const struct kind_sql kinds[ITEM__MAX] = {
	{ "loops", "loop_likes", "loop_id", "loop_counts", "loop_text", "" },
	{ "songs", "song_likes", "song_id", "song_counts", "song_view_json",
	    ", $1::uuid" },
};

/* The caller's row while the token holds, and me_ok (db/items_int.h). */
#define LIST_ME_CTE							\
	"me AS (SELECT u.id, u.username FROM users u "			\
	"WHERE u.id = $1::uuid AND u.token_version = $2::int)"
#define LIST_ME_OK	"($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me))"

/*
 * The most parameters a list statement can take: caller and token
 * version, user, bars, bpmMin, bpmMax, parent, the cursor's key and
 * id, chord, sound, q, LIMIT, OFFSET and the walk's need (15), with
 * room to spare.  A spec that wants more is refused with DB_ERROR and
 * a log line naming the bound (sqlb.overflow), never truncated.
 */
#define LIST_MAX_PARAMS	20
#define WALK_WINDOW	"1000"

struct sqlb {
	struct buf	 sql;
	const char	*params[LIST_MAX_PARAMS];
	int		 n;
	int		 overflow;	/* a parameter did not fit */
};

/* Append to out a placeholder for value, with a cast ("uuid"). */
static void
sqlb_param(struct sqlb *b, struct buf *out, const char *value,
    const char *cast)
{
	if (b->n == LIST_MAX_PARAMS) {
		b->overflow = 1;
		return;
	}
	b->params[b->n++] = value;
	buf_printf(out, "$%d::%s", b->n, cast);
}

/* [{"<key>":"<value>"}]: a jsonb containment pattern for an array. */
static char *
containment(const char *key, const char *value)
{
	struct buf	 b = BUF_INIT;

	buf_puts(&b, "[{");
	buf_json_str(&b, key, strlen(key));
	buf_putc(&b, ':');
	buf_json_str(&b, value, strlen(value));
	buf_puts(&b, "}]");
	return buf_detach(&b);
}

/* An ILIKE pattern matching text that contains s, wildcards escaped. */
static char *
contains_pattern(const char *s)
{
	struct buf	 b = BUF_INIT;

	buf_putc(&b, '%');
	for (; *s != '\0'; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			buf_putc(&b, '\\');
		buf_putc(&b, *s);
	}
	buf_putc(&b, '%');
	return buf_detach(&b);
}

struct list_stmt {
	struct db_stmt	 st;
	char		*sql;
	char		 name[32];
	struct list_stmt *next;
};

#define LIST_BUCKETS	64
static struct list_stmt *list_cache[LIST_BUCKETS];

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* The cached statement for sql (nparams parameters). */
static struct db_stmt *
list_stmt(const char *sql, int nparams)
{
	struct list_stmt *ls;
	uint64_t	 h;

	h = fnv1a(sql);
	for (ls = list_cache[h % LIST_BUCKETS]; ls != NULL; ls = ls->next)
		if (strcmp(ls->sql, sql) == 0)
			return &ls->st;
	ls = xcalloc(1, sizeof(*ls));
	ls->sql = xstrdup(sql);
	snprintf(ls->name, sizeof(ls->name), "item_list_%016llx",
	    (unsigned long long)h);
	ls->st.name = ls->name;
	ls->st.sql = ls->sql;
	ls->st.nparams = nparams;
	ls->st.readonly = 1;
	ls->next = list_cache[h % LIST_BUCKETS];
	list_cache[h % LIST_BUCKETS] = ls;
	return &ls->st;
}

/*
 * Per sort: the column, its key as a bigint (microseconds for times),
 * the cast that turns a cursor key back, the column in a form no
 * index provides (for the GIN-served query), and whether it is a
 * count.  The counts are the counter row's (c, migration 0040), whose
 * table holds the index of the sort, partial on its copy of is_public:
 * such a list reads the items joined to their counter rows and walks
 * the counter table's index, the tie broken by its id column.
 */
static const struct {
	const char	*col;
	const char	*key;
	const char	*cursor_cast;
	const char	*unindexed;
	int		 counter;
} sorts[ITEM_SORT__MAX] = {
	{ "x.created_at", "(extract(epoch FROM x.created_at) * 1000000)::bigint",
	    "timestamp", "(x.created_at + interval '0 s')", 0 },
	{ "c.likes_count", "c.likes_count::bigint", "int",
	    "(c.likes_count + 0)", 1 },
	{ "c.plays_count", "c.plays_count", "bigint", "(c.plays_count + 0)", 1 },
	{ "x.updated_at", "(extract(epoch FROM x.updated_at) * 1000000)::bigint",
	    "timestamp", "(x.updated_at + interval '0 s')", 0 },
};

/*
 * The rows a list walks (from: the items, joined to their counter rows
 * c for a count sort), the sort's tie-breaking id ("x.id", or the
 * counter row's for a count sort, whose index ends in it), and the
 * join that brings c to the rows being shaped when from has not
 * (the JSON takes the counts from c).
 */
static void
list_from(const struct item_list_spec *spec, struct buf *from,
    struct buf *id, struct buf *shape)
{
	const struct kind_sql *k = &kinds[spec->kind];

	buf_printf(from, "%s x", k->table);
	if (sorts[spec->sort].counter) {
		buf_printf(from, " JOIN %s c ON c.%s = x.id", k->counts, k->fk);
		buf_printf(id, "c.%s", k->fk);
		buf_puts(shape, "");
	} else {
		buf_puts(id, "x.id");
		buf_printf(shape, " JOIN %s c ON c.%s = x.id", k->counts,
		    k->fk);
	}
}

/*
 * The WHERE conditions of spec into base (scope, user, the cheap
 * filters and the cursor, its tie broken by id) and sparse (the
 * containment and name filters), registering their parameters in b.
 * num holds the texts
 * of numeric parameters, owned[0..2] the patterns built from the
 * chord, sound and name filters (the caller frees them).
 */
static void
list_conditions(struct sqlb *b, const struct item_list_spec *spec,
    const char *id, struct buf *base, struct buf *sparse, char num[][24],
    char **owned)
{
	int	 n = 0;

	switch (spec->scope) {
	case ITEM_SCOPE_OWN:
		buf_puts(base, "x.user_id = $1::uuid");
		break;
	case ITEM_SCOPE_VISIBLE:
		buf_puts(base, "(x.is_public OR x.user_id = $1::uuid)");
		break;
	default:
		buf_puts(base, "x.is_public");
		if (sorts[spec->sort].counter)
			buf_puts(base, " AND c.is_public");
		break;
	}
	if (spec->user != NULL) {
		buf_puts(base, " AND x.user_id = (SELECT u2.id FROM users u2 "
		    "WHERE lower(u2.username) = lower(");
		sqlb_param(b, base, spec->user, "text");
		buf_puts(base, "))");
	}
	if (spec->bars > 0) {
		snprintf(num[n], sizeof(num[n]), "%d", spec->bars);
		buf_puts(base, " AND x.bars = ");
		sqlb_param(b, base, num[n++], "smallint");
	}
	if (spec->bpm_min >= 0) {
		snprintf(num[n], sizeof(num[n]), "%d", spec->bpm_min);
		buf_puts(base, " AND x.bpm >= ");
		sqlb_param(b, base, num[n++], "smallint");
	}
	if (spec->bpm_max >= 0) {
		snprintf(num[n], sizeof(num[n]), "%d", spec->bpm_max);
		buf_puts(base, " AND x.bpm <= ");
		sqlb_param(b, base, num[n++], "smallint");
	}
	if (spec->parent != NULL) {
		buf_puts(base, " AND x.parent_loop_id = ");
		sqlb_param(b, base, spec->parent, "uuid");
	}
	if (spec->has_cursor) {
		snprintf(num[n], sizeof(num[n]), "%lld", spec->cursor_key);
		buf_printf(base, " AND (%s, %s) < (", sorts[spec->sort].col, id);
		if (strcmp(sorts[spec->sort].cursor_cast, "timestamp") == 0) {
			buf_puts(base, "'epoch'::timestamptz + ");
			sqlb_param(b, base, num[n++], "bigint");
			buf_puts(base, " * interval '1 microsecond'");
		} else
			sqlb_param(b, base, num[n++],
			    sorts[spec->sort].cursor_cast);
		buf_puts(base, ", ");
		sqlb_param(b, base, spec->cursor_id, "uuid");
		buf_puts(base, ")");
	}
	if (spec->chord != NULL) {
		owned[0] = containment("chord", spec->chord);
		buf_puts(sparse, " AND x.chord_progression @> ");
		sqlb_param(b, sparse, owned[0], "jsonb");
	}
	if (spec->sound != NULL) {
		owned[1] = containment("soundId", spec->sound);
		buf_puts(sparse, " AND x.icon_sequence @> ");
		sqlb_param(b, sparse, owned[1], "jsonb");
	}
	if (spec->name_contains != NULL) {
		owned[2] = contains_pattern(spec->name_contains);
		buf_puts(sparse, " AND x.name ILIKE ");
		sqlb_param(b, sparse, owned[2], "text");
	}
}

/*
 * A number as SQL: literal when it is one of the few values clients
 * use (page sizes 10, 20, 25, 50 and 100, plus the look-ahead row), a
 * parameter otherwise.  A literal LIMIT lets PostgreSQL settle on a
 * generic plan after a few executions (with LIMIT $n it costs a
 * generic plan for 10% of the table, prefers custom plans and plans
 * again on every call, which costs more than the query); the set is
 * small so the number of statement shapes stays bounded.
 */
static void
list_number(struct sqlb *b, struct buf *out, const char *text, int literal)
{
	if (literal)
		buf_puts(out, text);
	else
		sqlb_param(b, out, text, "bigint");
}

static int
common_limit(long long n)
{
	return n == 11 || n == 21 || n == 26 || n == 51 || n == 101;
}

/*
 * One page of a list: spec->limit rows at most, in the sort's order
 * (descending, ties broken by id), after the cursor if there is one.
 * *page is the caller's (item_page_release).
 */
enum db_status
db_item_list(struct db *db, const struct item_list_spec *spec,
    struct item_page *page)
{
	const struct kind_sql *k = &kinds[spec->kind];
	struct sqlb	 b;
	struct buf	 base = BUF_INIT, sparse = BUF_INIT, liked = BUF_INIT;
	struct buf	 lim = BUF_INIT, off = BUF_INIT, need = BUF_INIT;
	struct buf	 from = BUF_INIT, id = BUF_INIT, shape = BUF_INIT;
	PGresult	*res;
	enum db_status	 s;
	char		 ver[24], limt[24], offt[24], needt[24], num[8][24];
	char		*owned[3] = { NULL, NULL, NULL };
	const char	*col;
	long long	 offset;
	size_t		 i;

	memset(page, 0, sizeof(*page));
	memset(&b, 0, sizeof(b));
	if (spec->kind != ITEM_LOOP && (spec->chord != NULL ||
	    spec->sound != NULL || spec->bars > 0 || spec->bpm_min >= 0 ||
	    spec->bpm_max >= 0 || spec->parent != NULL ||
	    spec->name_contains != NULL))
		return DB_ERROR;	/* a loop filter on another kind */
	offset = spec->offset > 0 ? spec->offset : 0;
	snprintf(ver, sizeof(ver), "%lld", spec->who.ver);
	snprintf(limt, sizeof(limt), "%d", spec->limit);
	snprintf(offt, sizeof(offt), "%lld", offset);
	snprintf(needt, sizeof(needt), "%lld", (long long)spec->limit + offset);
	b.params[0] = spec->who.id;
	b.params[1] = spec->who.id != NULL ? ver : NULL;
	b.n = 2;
	list_from(spec, &from, &id, &shape);
	list_conditions(&b, spec, id.data, &base, &sparse, num, owned);
	list_number(&b, &lim, limt, common_limit(spec->limit));
	buf_puts(&off, " ");
	if (offset > 0) {
		buf_puts(&off, "OFFSET ");
		list_number(&b, &off, offt, 0);
	}
	if (sparse.len > 0)
		list_number(&b, &need, needt, offset == 0 &&
		    common_limit(spec->limit));
	col = sorts[spec->sort].col;
	if (spec->who.id != NULL)
		buf_printf(&liked, "EXISTS (SELECT 1 FROM %s k WHERE "
		    "k.user_id = $1::uuid AND k.%s = x.id)", k->likes, k->fk);
	else
		buf_puts(&liked, "false");

	buf_puts(&b.sql, "WITH " LIST_ME_CTE);
	if (sparse.len == 0) {
		/* One walk down the sort's index, shaping rows as it goes. */
		buf_printf(&b.sql, " SELECT " LIST_ME_OK ", p.k, p.id, p.j "
		    "FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT %s AS k, "
		    "x.id, %s(x, c, o.username, %s%s) AS j FROM %s%s "
		    "JOIN users o ON o.id = x.user_id WHERE %s "
		    "ORDER BY %s DESC, %s DESC LIMIT %s%s) p ON true "
		    "ORDER BY p.k DESC, p.id DESC", sorts[spec->sort].key,
		    k->json, liked.data, k->json_tail, from.data, shape.data,
		    base.data, col, id.data, lim.data, off.data);
	} else {
		/* Walk a bounded window, else ask the GIN indexes. */
		buf_printf(&b.sql, ", walk AS MATERIALIZED (SELECT x.id, x.k "
		    "FROM (SELECT x.*, %s AS k FROM %s WHERE %s "
		    "ORDER BY %s DESC, %s DESC LIMIT " WALK_WINDOW ") x "
		    "WHERE true%s LIMIT %s), ", sorts[spec->sort].key,
		    from.data, base.data, col, id.data, sparse.data,
		    need.data);
		buf_printf(&b.sql, "enough AS (SELECT (SELECT count(*) FROM "
		    "walk) >= %s OR (SELECT count(*) FROM (SELECT 1 FROM %s "
		    "WHERE %s LIMIT " WALK_WINDOW ") n) < " WALK_WINDOW
		    " AS ok), ", need.data, from.data, base.data);
		buf_printf(&b.sql, "ids AS ((SELECT walk.id, walk.k FROM walk "
		    "WHERE (SELECT ok FROM enough) ORDER BY walk.k DESC, "
		    "walk.id DESC LIMIT %s%s) UNION ALL (SELECT x.id, %s AS k "
		    "FROM %s WHERE NOT (SELECT ok FROM enough) AND %s%s "
		    "ORDER BY %s DESC, x.id DESC LIMIT %s%s)) ", lim.data,
		    off.data, sorts[spec->sort].key, from.data, base.data,
		    sparse.data, sorts[spec->sort].unindexed, lim.data,
		    off.data);
		buf_printf(&b.sql, "SELECT " LIST_ME_OK ", p.k, p.id, p.j "
		    "FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT ids.k, x.id, "
		    "%s(x, c, o.username, %s%s) AS j FROM ids JOIN %s x "
		    "ON x.id = ids.id JOIN %s c ON c.%s = x.id "
		    "JOIN users o ON o.id = x.user_id) p "
		    "ON true ORDER BY p.k DESC, p.id DESC", k->json,
		    liked.data, k->json_tail, k->table, k->counts, k->fk);
	}
	buf_release(&lim);
	buf_release(&off);
	buf_release(&need);
	buf_release(&from);
	buf_release(&id);
	buf_release(&shape);

	if (b.overflow) {
		log_msg("error", "a list statement needs more than %d "
		    "parameters (LIST_MAX_PARAMS, db/items.c)", LIST_MAX_PARAMS);
		s = DB_ERROR;
	} else
		s = db_exec(db, list_stmt(b.sql.data, b.n), b.params, &res);
	for (i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		free(owned[i]);
	buf_release(&b.sql);
	buf_release(&base);
	buf_release(&sparse);
	buf_release(&liked);
	if (s != DB_OK)
		return s;
	s = page_rows(res, page);
	PQclear(res);
	return s;
}
