/*
 * The sync feed: one owner's loop and song changes and deletions, likes
 * and unlikes, and changes of access to other users' loops the owner's
 * songs use, after a change number, in change-number order, in one
 * statement (one snapshot, one round trip).
 *
 * Why a cursor never skips a change that commits late: every change
 * the feed reports (an item's content, a deletion, a like or unlike, a
 * remix losing its parent, another user's loop that the owner's songs
 * use going or coming back) takes the owner's next users.change_seq
 * under the owner's users-row lock, held to commit (owner_change() in
 * 0001_schema.sql), so one owner's changes commit in change-number
 * order.  The snapshot of this statement therefore holds every change
 * numbered up to the users.change_seq it sees and none above it; a
 * page ending at the end of the feed hands out that number as the
 * cursor, and anything committing later gets a higher one.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "db/db_int.h"

/*
 * $1 user, $2 token version, $3 position (entries after it), $4 the
 * mark (deletions, unlikes and access changes after it; -1: this
 * snapshot's change_seq, for a pull without a cursor, whose client has
 * nothing to delete), $5 page size.  Nothing is read when the mark is
 * below the owner's sync floor (the caller answers 410).
 *
 * The feed, in change-number order, from six sources, each walked by
 * its (user_id, change_seq) index and cut at $5 + 1 rows:
 *   src 1 loops, 2 songs           the owner's items (after $3)
 *   src 3 tombstones               deleted items (after the mark)
 *   src 4 loop_likes, 5 song_likes the owner's likes (after $3)
 *   src 6 sync_marks 'unlike'      likes taken back (after the mark)
 *   src 7/8 sync_marks 'access'    other users' loops the owner's
 *                                  songs use, gone (7) or back (8)
 * A page never holds one entry twice: an item and its tombstone (or
 * two tombstones of one id, deleted, created again and deleted again)
 * share the namespace 'i', a like and an unlike 'l', access marks 'a';
 * the page ends before the first entry whose (namespace, kind, id) came
 * earlier in it, so a client applying a page in any order is right and
 * sees such changes in their order, one page after the other.
 */
static struct db_stmt st_sync = DB_STMT_RO("sync_pull",
    "WITH me AS (SELECT u.id, u.username, u.change_seq, u.sync_floor, "
    "CASE WHEN $4::bigint < 0 THEN greatest(u.change_seq, u.sync_floor) "
    "ELSE greatest($3::bigint, $4::bigint) END AS mark "
    "FROM users u WHERE u.id = $1::uuid AND u.token_version = $2::int), "
    "ok AS (SELECT * FROM me WHERE me.sync_floor <= me.mark), "
    "feed AS ("
    "(SELECT l.change_seq AS seq, 1 AS src, 'loop' AS kind, l.id, "
    "NULL::timestamptz AS at FROM ok JOIN loops l ON l.user_id = ok.id "
    "WHERE l.change_seq > $3::bigint "
    "ORDER BY l.change_seq LIMIT $5::int + 1) "
    "UNION ALL "
    "(SELECT s.change_seq, 2, 'song', s.id, NULL FROM ok "
    "JOIN songs s ON s.user_id = ok.id WHERE s.change_seq > $3::bigint "
    "ORDER BY s.change_seq LIMIT $5::int + 1) "
    "UNION ALL "
    "(SELECT t.change_seq, 3, t.kind, t.item_id, t.deleted_at FROM ok "
    "JOIN tombstones t ON t.user_id = ok.id WHERE t.change_seq > ok.mark "
    "ORDER BY t.change_seq LIMIT $5::int + 1) "
    "UNION ALL "
    "(SELECT k.change_seq, 4, 'loop', k.loop_id, k.created_at FROM ok "
    "JOIN loop_likes k ON k.user_id = ok.id "
    "WHERE k.change_seq > $3::bigint "
    "ORDER BY k.change_seq LIMIT $5::int + 1) "
    "UNION ALL "
    "(SELECT k.change_seq, 5, 'song', k.song_id, k.created_at FROM ok "
    "JOIN song_likes k ON k.user_id = ok.id "
    "WHERE k.change_seq > $3::bigint "
    "ORDER BY k.change_seq LIMIT $5::int + 1) "
    "UNION ALL "
    "(SELECT m.change_seq, CASE WHEN m.topic = 'unlike' THEN 6 "
    "WHEN m.available THEN 8 ELSE 7 END, m.kind, m.item_id, m.at "
    "FROM ok JOIN sync_marks m ON m.user_id = ok.id "
    "WHERE m.change_seq > ok.mark "
    "ORDER BY m.change_seq LIMIT $5::int + 1)), "
    "win AS (SELECT f.*, row_number() OVER (PARTITION BY "
    "CASE WHEN f.src <= 3 THEN 'i' WHEN f.src <= 6 THEN 'l' ELSE 'a' END, "
    "f.kind, f.id ORDER BY f.seq) AS nth "
    "FROM (SELECT * FROM feed ORDER BY seq LIMIT $5::int + 1) f), "
    "shown AS (SELECT * FROM win WHERE win.seq < coalesce((SELECT "
    "min(w.seq) FROM win w WHERE w.nth > 1), 9223372036854775807) "
    "ORDER BY win.seq LIMIT $5::int) "
    "SELECT (SELECT count(*) FROM me), "
    "(SELECT change_seq FROM me), (SELECT sync_floor FROM me), "
    "(SELECT mark FROM me), "
    "(SELECT count(*) FROM win) > (SELECT count(*) FROM shown), "
    "(SELECT max(seq) FROM shown), "
    "coalesce((SELECT json_agg(loop_json(l, c, me.username, EXISTS ("
    "SELECT 1 FROM loop_likes k WHERE k.user_id = me.id "
    "AND k.loop_id = l.id)) ORDER BY sh.seq) "
    "FROM shown sh JOIN loops l ON l.id = sh.id "
    "LEFT JOIN loop_counts c ON c.loop_id = l.id CROSS JOIN me "
    "WHERE sh.src = 1), '[]')::text, "
    "coalesce((SELECT json_agg(song_view_json(s, c, me.username, EXISTS ("
    "SELECT 1 FROM song_likes k WHERE k.user_id = me.id "
    "AND k.song_id = s.id), me.id) ORDER BY sh.seq) "
    "FROM shown sh JOIN songs s ON s.id = sh.id "
    "LEFT JOIN song_counts c ON c.song_id = s.id CROSS JOIN me "
    "WHERE sh.src = 2), '[]')::text, "
    "coalesce((SELECT json_agg(json_build_object('type', sh.kind, "
    "'id', sh.id, 'deletedAt', api_ts(sh.at)) ORDER BY sh.seq) "
    "FROM shown sh WHERE sh.src = 3), '[]')::text, "
    "coalesce((SELECT json_agg(json_build_object('type', sh.kind, "
    "'id', sh.id, 'likedByMe', sh.src <> 6, 'at', api_ts(sh.at)) "
    "ORDER BY sh.seq) FROM shown sh WHERE sh.src IN (4, 5, 6)), "
    "'[]')::text, "
    "coalesce((SELECT json_agg(json_build_object('type', sh.kind, "
    "'id', sh.id, 'at', api_ts(sh.at)) ORDER BY sh.seq) "
    "FROM shown sh WHERE sh.src = 7), '[]')::text, "
    "coalesce((SELECT json_agg(json_build_object('type', sh.kind, "
    "'id', sh.id, 'at', api_ts(sh.at)) ORDER BY sh.seq) "
    "FROM shown sh WHERE sh.src = 8), '[]')::text", 5);

static long long
num(PGresult *res, int col)
{
	const char	*v = db_value(res, 0, col);

	return v != NULL ? atoll(v) : 0;
}

void
db_sync_page_release(struct db_sync_page *p)
{
	free(p->loops);
	free(p->songs);
	free(p->deleted);
	free(p->likes);
	free(p->unavailable);
	free(p->available);
	memset(p, 0, sizeof(*p));
}

/*
 * One page of the caller's feed after position pos (see st_sync for
 * mark; pass -1 without a cursor).  On DB_OK *p is filled (strings
 * owned by p: db_sync_page_release); p->known is 0 when the token's
 * user or version is gone, p->expired 1 when mark is below the sync
 * floor (then nothing else is read).
 */
enum db_status
db_sync_page(struct db *db, const char *user_id, long long token_ver,
    long long pos, long long mark, int limit, struct db_sync_page *p)
{
	char		 ver[24], spos[24], smark[24], slimit[16];
	const char	*params[5];
	PGresult	*res;
	enum db_status	 s;
	const char	*v;

	memset(p, 0, sizeof(*p));
	snprintf(ver, sizeof(ver), "%lld", token_ver);
	snprintf(spos, sizeof(spos), "%lld", pos);
	snprintf(smark, sizeof(smark), "%lld", mark);
	snprintf(slimit, sizeof(slimit), "%d", limit);
	params[0] = user_id;
	params[1] = ver;
	params[2] = spos;
	params[3] = smark;
	params[4] = slimit;
	if ((s = db_exec(db, &st_sync, params, &res)) != DB_OK)
		return s;
	p->known = num(res, 0) == 1;
	if (p->known) {
		p->change_seq = num(res, 1);
		p->floor = num(res, 2);
		p->mark = num(res, 3);
		p->expired = p->floor > p->mark;
		v = db_value(res, 0, 4);
		p->has_more = v != NULL && strcmp(v, "t") == 0;
		p->last_seq = num(res, 5);
		p->loops = xstrdup(PQgetvalue(res, 0, 6));
		p->songs = xstrdup(PQgetvalue(res, 0, 7));
		p->deleted = xstrdup(PQgetvalue(res, 0, 8));
		p->likes = xstrdup(PQgetvalue(res, 0, 9));
		p->unavailable = xstrdup(PQgetvalue(res, 0, 10));
		p->available = xstrdup(PQgetvalue(res, 0, 11));
	}
	PQclear(res);
	return DB_OK;
}
