/*
 * Songs: every route is one statement (one round trip), which folds in
 * the check that the caller's token is still honoured (the user exists
 * and the token version is current), the visibility rule (a private
 * song is the owner's alone), the preconditions (If-Match, body
 * version) and the check that every loop a timeline names is one the
 * owner may use (all ids in one query: song_unusable_loops in
 * migration 0004).  Counters, versions, change numbers and tombstones
 * are kept by the triggers of 0001, in the same transaction.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "fcgi/buf.h"
#include "db/db_int.h"

/* The caller, if its token is still honoured. */
#define SQL_ME	"me AS (SELECT id, username FROM users " \
	"WHERE id = $1::uuid AND token_version = $2::int)"
/* 1 when no token came, or when it is still honoured. */
#define SQL_AUTH_OK "($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me))"
/* likedByMe of song s for the caller. */
#define SQL_LIKED(s) "EXISTS (SELECT 1 FROM song_likes k " \
	"WHERE k.song_id = " s ".id AND k.user_id = (SELECT id FROM me))"
/* A song row as the caller sees it. */
#define SQL_VIEW(s, owner) "song_view_json(" s ", " owner ", " \
	SQL_LIKED(s) ", (SELECT id FROM me))"

static struct db_stmt st_get = DB_STMT_RO("song_get",
    "WITH " SQL_ME " "
    "SELECT " SQL_AUTH_OK ", x.version, x.body, x.loops "
    "FROM (SELECT 1) one LEFT JOIN LATERAL ("
    "SELECT s.version, " SQL_VIEW("s", "u.username") " AS body, "
    "CASE WHEN $4::boolean THEN "
    "song_loops_json(s.timeline, (SELECT id FROM me)) END AS loops "
    "FROM songs s JOIN users u ON u.id = s.user_id "
    "WHERE s.id = $3::uuid "
    "AND (s.is_public OR s.user_id = (SELECT id FROM me))) x ON true", 4);

/*
 * Create (POST, or PUT with If-None-Match: * at a client id).  $3 is
 * the validated document, $4 the id or NULL.  Nothing is inserted when
 * a loop is refused or the id exists (then the answer is 412 for the
 * create-only PUT).  Not ON CONFLICT DO NOTHING: the BEFORE INSERT
 * trigger moves the owner's counters before a conflict is found, and
 * DO NOTHING would keep that move.  Two creates of one id at once: the
 * second fails on the primary key, answered as taken too.
 */
static struct db_stmt st_create = DB_STMT("song_create",
    "WITH " SQL_ME ", "
    "bad AS (SELECT song_unusable_loops($3::jsonb->'timeline', $1::uuid, "
    "NULL) AS ids), "
    "ins AS (INSERT INTO songs (id, user_id, name, bpm, time_signature, "
    "timeline, total_bars, schema_version, is_public) "
    "SELECT coalesce($4::uuid, gen_random_uuid()), me.id, d->>'name', "
    "(d->>'bpm')::smallint, d->>'timeSignature', d->'timeline', "
    "(d->>'totalBars')::int, (d->>'schemaVersion')::int, "
    "(d->>'isPublic')::boolean "
    "FROM me, bad, (SELECT $3::jsonb AS d) doc "
    "WHERE cardinality(bad.ids) = 0 AND NOT EXISTS (SELECT 1 FROM songs y "
    "WHERE y.id = $4::uuid) RETURNING *) "
    "SELECT EXISTS (SELECT 1 FROM me), array_to_string(bad.ids, ','), "
    "ins.id, ins.version, "
    "song_view_json(ins::songs, me.username, false, me.id) "
    "FROM bad LEFT JOIN ins ON true LEFT JOIN me ON true", 4);

/*
 * Replace (PUT) and merge patch (PATCH) alike: $4 holds the members to
 * set (all of them for PUT), $5 the If-Match versions (NULL: none, or
 * "*"), $6 the body's version (NULL: none).  The row is locked first,
 * so the checks and the update see the same (latest) version.
 */
static struct db_stmt st_update = DB_STMT("song_update",
    "WITH " SQL_ME ", "
    "cur AS (SELECT s.* FROM songs s WHERE s.id = $3::uuid FOR UPDATE), "
    "chk AS (SELECT cur.id, "
    "(cur.is_public OR cur.user_id = me.id) AS visible, "
    "cur.user_id = me.id AS owner, "
    "($5::int[] IS NULL OR cur.version = ANY ($5::int[])) AS if_match, "
    "($6::int IS NULL OR cur.version = $6::int) AS version_ok, "
    "CASE WHEN $4::jsonb ? 'timeline' AND cur.user_id = me.id THEN "
    "song_unusable_loops($4::jsonb->'timeline', cur.user_id, "
    "cur.timeline) "
    "ELSE '{}' END AS bad "
    "FROM cur, me), "
    "upd AS (UPDATE songs s SET "
    "name = coalesce($4::jsonb->>'name', s.name), "
    "bpm = coalesce(($4::jsonb->>'bpm')::smallint, s.bpm), "
    "time_signature = coalesce($4::jsonb->>'timeSignature', "
    "s.time_signature), "
    "timeline = coalesce($4::jsonb->'timeline', s.timeline), "
    "total_bars = coalesce(($4::jsonb->>'totalBars')::int, s.total_bars), "
    "schema_version = coalesce(($4::jsonb->>'schemaVersion')::int, "
    "s.schema_version), "
    "is_public = coalesce(($4::jsonb->>'isPublic')::boolean, s.is_public) "
    "FROM chk WHERE s.id = chk.id AND chk.owner AND chk.if_match "
    "AND chk.version_ok AND cardinality(chk.bad) = 0 RETURNING s.*) "
    "SELECT EXISTS (SELECT 1 FROM me), chk.visible, chk.owner, "
    "chk.if_match, chk.version_ok, array_to_string(chk.bad, ','), "
    "upd.id IS NOT NULL, coalesce(upd.version, cur.version), "
    "CASE WHEN upd.id IS NOT NULL THEN "
    SQL_VIEW("(upd::songs)", "me.username") " "
    "WHEN chk.owner THEN " SQL_VIEW("(cur::songs)", "me.username") " END "
    "FROM (SELECT 1) one LEFT JOIN cur ON true LEFT JOIN chk ON true "
    "LEFT JOIN upd ON true LEFT JOIN me ON true", 6);

static struct db_stmt st_delete = DB_STMT("song_delete",
    "WITH " SQL_ME ", "
    "cur AS (SELECT s.* FROM songs s WHERE s.id = $3::uuid FOR UPDATE), "
    "chk AS (SELECT cur.id, "
    "(cur.is_public OR cur.user_id = me.id) AS visible, "
    "cur.user_id = me.id AS owner, "
    "($4::int[] IS NULL OR cur.version = ANY ($4::int[])) AS if_match "
    "FROM cur, me), "
    "del AS (DELETE FROM songs s USING chk WHERE s.id = chk.id "
    "AND chk.owner AND chk.if_match RETURNING s.id) "
    "SELECT EXISTS (SELECT 1 FROM me), chk.visible, chk.owner, "
    "chk.if_match, EXISTS (SELECT 1 FROM del), cur.version, "
    "CASE WHEN chk.owner AND NOT chk.if_match THEN "
    SQL_VIEW("(cur::songs)", "me.username") " END "
    "FROM (SELECT 1) one LEFT JOIN cur ON true LEFT JOIN chk ON true "
    "LEFT JOIN me ON true", 4);

/*
 * Like and unlike.  The song row is locked first (the lock the
 * counter trigger takes anyway), so the count read is the latest
 * committed one and, with this call's own change added, exact.
 */
static struct db_stmt st_like = DB_STMT("song_like",
    "WITH " SQL_ME ", "
    "s AS (SELECT s.id, s.likes_count FROM songs s, me "
    "WHERE s.id = $3::uuid AND (s.is_public OR s.user_id = me.id) "
    "FOR NO KEY UPDATE OF s), "
    "ins AS (INSERT INTO song_likes (user_id, song_id) "
    "SELECT me.id, s.id FROM me, s ON CONFLICT DO NOTHING RETURNING 1) "
    "SELECT EXISTS (SELECT 1 FROM me), s.id IS NOT NULL, "
    "s.likes_count + (SELECT count(*) FROM ins) "
    "FROM (SELECT 1) one LEFT JOIN s ON true", 3);

static struct db_stmt st_unlike = DB_STMT("song_unlike",
    "WITH " SQL_ME ", "
    "s AS (SELECT s.id, s.likes_count FROM songs s, me "
    "WHERE s.id = $3::uuid AND (s.is_public OR s.user_id = me.id) "
    "FOR NO KEY UPDATE OF s), "
    "del AS (DELETE FROM song_likes k USING me, s "
    "WHERE k.user_id = me.id AND k.song_id = s.id RETURNING 1) "
    "SELECT EXISTS (SELECT 1 FROM me), s.id IS NOT NULL, "
    "s.likes_count - (SELECT count(*) FROM del) "
    "FROM (SELECT 1) one LEFT JOIN s ON true", 3);

/*
 * A play: counted once per listener ($4) per song per minute; the
 * counter moves in the same statement, and its new value is returned.
 */
static struct db_stmt st_play = DB_STMT("song_play",
    "WITH " SQL_ME ", "
    "s AS (SELECT s.id, s.plays_count FROM songs s "
    "WHERE s.id = $3::uuid "
    "AND (s.is_public OR s.user_id = (SELECT id FROM me))), "
    "mark AS (INSERT INTO play_marks (item_id, listener, minute) "
    "SELECT s.id, $4, date_trunc('minute', now()) FROM s "
    "ON CONFLICT DO NOTHING RETURNING item_id), "
    "upd AS (UPDATE songs SET plays_count = plays_count + 1 "
    "WHERE id IN (SELECT item_id FROM mark) RETURNING plays_count) "
    "SELECT " SQL_AUTH_OK ", s.id IS NOT NULL, "
    "coalesce((SELECT plays_count FROM upd), s.plays_count) "
    "FROM (SELECT 1) one LEFT JOIN s ON true", 4);

/*
 * Lists: one statement per sort and scope, each served by its index
 * (songs_public_<sort> for the public feed, songs_user_new for one
 * user's songs) with a keyset condition on (sort key, id): the first
 * page passes NULL and compares against +infinity, so deep pages cost
 * what the first costs.  $3/$4 cursor key and id, $5 limit (one more
 * row than the page, to tell whether a next page exists), $6 offset
 * (old clients), $7/$8 the user by id or by name (user scope).
 */
#define LIST_HEAD \
	"WITH " SQL_ME " SELECT " SQL_AUTH_OK ", p.key, p.id, p.body " \
	"FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT "
#define LIST_BODY \
	" AS key, s.id, " SQL_VIEW("s", "u.username") " AS body " \
	"FROM songs s JOIN users u ON u.id = s.user_id WHERE "
#define LIST_PUBLIC "s.is_public"
#define LIST_USER \
	"s.user_id = coalesce($7::uuid, (SELECT id FROM users " \
	"WHERE lower(username) = lower($8))) " \
	"AND (s.is_public OR s.user_id = (SELECT id FROM me))"
#define TS_KEY(col) "(extract(epoch FROM s." col ") * 1000000)::bigint"
#define TS_AFTER(col) " AND (s." col ", s.id) < (coalesce('epoch'::" \
	"timestamptz + $3::bigint * interval '1 microsecond', 'infinity'), " \
	"coalesce($4::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')) " \
	"ORDER BY s." col " DESC, s.id DESC"
#define N_AFTER(col) " AND (s." col ", s.id) < (coalesce($3::bigint, " \
	"9223372036854775807), " \
	"coalesce($4::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')) " \
	"ORDER BY s." col " DESC, s.id DESC"
#define LIST_TAIL " LIMIT $5::int OFFSET $6::bigint) p ON true"

#define LIST_TS(name, scope, np, col) DB_STMT_RO(name, LIST_HEAD \
	TS_KEY(col) LIST_BODY scope TS_AFTER(col) LIST_TAIL, np)
#define LIST_N(name, scope, np, col) DB_STMT_RO(name, LIST_HEAD "s." col \
	"::bigint" LIST_BODY scope N_AFTER(col) LIST_TAIL, np)

static struct db_stmt st_list[2][SONG_SORT__MAX] = {
	{
		LIST_TS("songs_public_new", LIST_PUBLIC, 6, "created_at"),
		LIST_N("songs_public_top", LIST_PUBLIC, 6, "likes_count"),
		LIST_N("songs_public_popular", LIST_PUBLIC, 6, "plays_count"),
		LIST_TS("songs_public_updated", LIST_PUBLIC, 6, "updated_at"),
	}, {
		LIST_TS("songs_user_new", LIST_USER, 8, "created_at"),
		LIST_N("songs_user_top", LIST_USER, 8, "likes_count"),
		LIST_N("songs_user_popular", LIST_USER, 8, "plays_count"),
		LIST_TS("songs_user_updated", LIST_USER, 8, "updated_at"),
	}
};

static int
is_true(PGresult *res, int col)
{
	const char	*v = db_value(res, 0, col);

	return v != NULL && v[0] == 't';
}

static char *
dup_value(PGresult *res, int row, int col)
{
	const char	*v = db_value(res, row, col);

	return v != NULL ? xstrdup(v) : NULL;
}

static void
set_version(struct song_row *r, PGresult *res, int col)
{
	const char	*v = db_value(res, 0, col);

	r->version = v != NULL ? atoll(v) : 0;
}

/* Release what a song_row holds; it can be reused after. */
void
song_row_release(struct song_row *r)
{
	free(r->json);
	free(r->loops);
	free(r->bad_loops);
	memset(r, 0, sizeof(*r));
}

static void
ver_text(char *out, size_t sz, long long ver)
{
	snprintf(out, sz, "%lld", ver);
}

/*
 * One song as the caller (uid NULL: anonymous) sees it; with expand,
 * also the JSON array of the loops it uses that the caller may see.
 * r->found is 0 for a song that does not exist or is private to
 * another.  The caller releases r.
 */
enum db_status
db_song_get(struct db *db, const char *uid, long long ver, const char *id,
    int expand, struct song_row *r)
{
	const char	*p[4];
	char		 v[24];
	PGresult	*res;
	enum db_status	 s;

	memset(r, 0, sizeof(*r));
	ver_text(v, sizeof(v), ver);
	p[0] = uid;
	p[1] = v;
	p[2] = id;
	p[3] = expand ? "true" : "false";
	if ((s = db_exec(db, &st_get, p, &res)) != DB_OK)
		return s;
	r->auth_ok = is_true(res, 0);
	r->found = db_value(res, 0, 2) != NULL;
	set_version(r, res, 1);
	r->json = dup_value(res, 0, 2);
	r->loops = dup_value(res, 0, 3);
	PQclear(res);
	return DB_OK;
}

/*
 * Create a song owned by uid from doc (the validated document as JSON
 * text), at id when not NULL.  r->done says it was created; otherwise
 * r->bad_loops lists refused loop ids, or (none refused) the id was
 * taken.  The caller releases r.
 */
enum db_status
db_song_create(struct db *db, const char *uid, long long ver, const char *id,
    const char *doc, struct song_row *r)
{
	const char	*p[4];
	char		 v[24];
	PGresult	*res;
	enum db_status	 s;
	const char	*nid;

	memset(r, 0, sizeof(*r));
	ver_text(v, sizeof(v), ver);
	p[0] = uid;
	p[1] = v;
	p[2] = doc;
	p[3] = id;
	if ((s = db_exec(db, &st_create, p, &res)) != DB_OK) {
		if (s == DB_UNIQUE && id != NULL) {
			r->auth_ok = 1;	/* taken meanwhile: not done */
			return DB_OK;
		}
		return s;
	}
	r->auth_ok = is_true(res, 0);
	r->bad_loops = dup_value(res, 0, 1);
	if (r->bad_loops != NULL && r->bad_loops[0] == '\0') {
		free(r->bad_loops);
		r->bad_loops = NULL;
	}
	if ((nid = db_value(res, 0, 2)) != NULL) {
		r->done = r->found = r->owner = 1;
		snprintf(r->id, sizeof(r->id), "%s", nid);
	}
	set_version(r, res, 3);
	r->json = dup_value(res, 0, 4);
	PQclear(res);
	return DB_OK;
}

/*
 * Replace or merge-patch song id with the members of doc.  if_match is
 * a PostgreSQL int array of acceptable versions ("{3}") or NULL;
 * body_version is 0 when the body carried none.  On return:
 * found/owner say who may touch it; precondition (If-Match failed) and
 * conflict (body version stale) leave it unchanged with the current
 * song in r->json; bad_loops lists refused loop ids; done says it was
 * written, with the new song in r->json.  The caller releases r.
 */
enum db_status
db_song_update(struct db *db, const char *uid, long long ver, const char *id,
    const char *doc, const char *if_match, long long body_version,
    struct song_row *r)
{
	const char	*p[6];
	char		 v[24], bv[24];
	PGresult	*res;
	enum db_status	 s;

	memset(r, 0, sizeof(*r));
	ver_text(v, sizeof(v), ver);
	ver_text(bv, sizeof(bv), body_version);
	p[0] = uid;
	p[1] = v;
	p[2] = id;
	p[3] = doc;
	p[4] = if_match;
	p[5] = body_version > 0 ? bv : NULL;
	if ((s = db_exec(db, &st_update, p, &res)) != DB_OK)
		return s;
	r->auth_ok = is_true(res, 0);
	r->found = is_true(res, 1);
	r->owner = is_true(res, 2);
	r->precondition = r->found && r->owner && !is_true(res, 3);
	r->conflict = r->found && r->owner && !r->precondition &&
	    !is_true(res, 4);
	r->bad_loops = dup_value(res, 0, 5);
	if (r->bad_loops != NULL && r->bad_loops[0] == '\0') {
		free(r->bad_loops);
		r->bad_loops = NULL;
	}
	r->done = is_true(res, 6);
	set_version(r, res, 7);
	r->json = dup_value(res, 0, 8);
	snprintf(r->id, sizeof(r->id), "%s", id);
	PQclear(res);
	return DB_OK;
}

/*
 * Delete song id if uid owns it and if_match (as for db_song_update)
 * allows.  r->precondition comes with the current song in r->json.
 */
enum db_status
db_song_delete(struct db *db, const char *uid, long long ver, const char *id,
    const char *if_match, struct song_row *r)
{
	const char	*p[4];
	char		 v[24];
	PGresult	*res;
	enum db_status	 s;

	memset(r, 0, sizeof(*r));
	ver_text(v, sizeof(v), ver);
	p[0] = uid;
	p[1] = v;
	p[2] = id;
	p[3] = if_match;
	if ((s = db_exec(db, &st_delete, p, &res)) != DB_OK)
		return s;
	r->auth_ok = is_true(res, 0);
	r->found = is_true(res, 1);
	r->owner = is_true(res, 2);
	r->precondition = r->found && r->owner && !is_true(res, 3);
	r->done = is_true(res, 4);
	set_version(r, res, 5);
	r->json = dup_value(res, 0, 6);
	PQclear(res);
	return DB_OK;
}

/*
 * Like (on) or unlike song id as uid; idempotent both ways.  r->count
 * is the likes count after the call.
 */
enum db_status
db_song_like(struct db *db, const char *uid, long long ver, const char *id,
    int on, struct song_row *r)
{
	const char	*p[3];
	char		 v[24];
	PGresult	*res;
	enum db_status	 s;
	const char	*c;

	memset(r, 0, sizeof(*r));
	ver_text(v, sizeof(v), ver);
	p[0] = uid;
	p[1] = v;
	p[2] = id;
	s = db_exec(db, on ? &st_like : &st_unlike, p, &res);
	if (s == DB_FOREIGN_KEY) {	/* deleted meanwhile */
		r->auth_ok = 1;
		return DB_OK;
	}
	if (s != DB_OK)
		return s;
	r->auth_ok = is_true(res, 0);
	r->found = is_true(res, 1);
	r->liked = on;
	r->count = (c = db_value(res, 0, 2)) != NULL ? atoll(c) : 0;
	PQclear(res);
	return DB_OK;
}

/*
 * A play of song id by listener (a user or client key).  r->count is
 * the plays count after the call.
 */
enum db_status
db_song_play(struct db *db, const char *uid, long long ver, const char *id,
    const char *listener, struct song_row *r)
{
	const char	*p[4];
	char		 v[24];
	PGresult	*res;
	enum db_status	 s;
	const char	*c;

	memset(r, 0, sizeof(*r));
	ver_text(v, sizeof(v), ver);
	p[0] = uid;
	p[1] = v;
	p[2] = id;
	p[3] = listener;
	if ((s = db_exec(db, &st_play, p, &res)) != DB_OK)
		return s;
	r->auth_ok = is_true(res, 0);
	r->found = is_true(res, 1);
	r->count = (c = db_value(res, 0, 2)) != NULL ? atoll(c) : 0;
	PQclear(res);
	return DB_OK;
}

/*
 * One page of a song list.  page->json is a JSON array of at most
 * q->limit songs (the caller frees it); page->more says another page
 * follows, whose cursor is page->last_key and page->last_id.
 */
enum db_status
db_song_list(struct db *db, const struct song_list_query *q,
    struct song_page *page)
{
	const char	*p[8];
	char		 v[24], key[24], lim[16], off[24];
	struct buf	 b = BUF_INIT;
	PGresult	*res;
	enum db_status	 s;
	int		 i, n;

	memset(page, 0, sizeof(*page));
	ver_text(v, sizeof(v), q->ver);
	snprintf(key, sizeof(key), "%lld", q->cursor_key);
	snprintf(lim, sizeof(lim), "%d", q->limit + 1);
	snprintf(off, sizeof(off), "%lld", q->offset);
	p[0] = q->viewer;
	p[1] = v;
	p[2] = q->cursor_id != NULL ? key : NULL;
	p[3] = q->cursor_id;
	p[4] = lim;
	p[5] = off;
	p[6] = q->user_id;
	p[7] = q->username;
	s = db_exec(db, &st_list[q->public_feed ? 0 : 1][q->sort], p, &res);
	if (s != DB_OK)
		return s;
	page->auth_ok = is_true(res, 0);
	buf_putc(&b, '[');
	n = PQntuples(res);
	for (i = 0; i < n && i < q->limit; i++) {
		if (db_value(res, i, 3) == NULL)
			break;		/* the empty page's one NULL row */
		if (i > 0)
			buf_putc(&b, ',');
		buf_puts(&b, db_value(res, i, 3));
		page->last_key = atoll(db_value(res, i, 1));
		snprintf(page->last_id, sizeof(page->last_id), "%s",
		    db_value(res, i, 2));
		page->count++;
	}
	buf_putc(&b, ']');
	page->more = n > q->limit;
	page->json = buf_detach(&b);
	PQclear(res);
	return DB_OK;
}
