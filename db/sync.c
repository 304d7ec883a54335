/*
 * The sync feed: one owner's loop and song changes and deletions after
 * a change number, in change-number order, in one statement (one
 * snapshot, one round trip).
 *
 * Why a cursor never skips a change that commits late: every content
 * change of a loop or song takes the owner's next users.change_seq
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

#include "fcgi/buf.h"
#include "db/db_int.h"

/*
 * $1 user, $2 token version, $3 position (items after it), $4 the
 * tombstone mark (deletions after it; -1: this snapshot's change_seq,
 * for a pull without a cursor, whose client has nothing to delete),
 * $5 page size.  Nothing is read when the mark is below the owner's
 * sync floor (the caller answers 410).  A tombstone of an item that
 * exists again (re-created at its id with PUT + If-None-Match: *) is
 * left out: the item itself comes later in the feed.
 */
static struct db_stmt st_sync = DB_STMT_RO("sync_pull",
    "WITH me AS (SELECT u.id, u.username, u.change_seq, u.sync_floor, "
    "CASE WHEN $4::bigint < 0 THEN greatest(u.change_seq, u.sync_floor) "
    "ELSE greatest($3::bigint, $4::bigint) END AS mark "
    "FROM users u WHERE u.id = $1::uuid AND u.token_version = $2::int), "
    "feed AS ("
    "(SELECT l.change_seq AS seq, 1 AS kind, l.id FROM me "
    "JOIN loops l ON l.user_id = me.id "
    "WHERE l.change_seq > $3::bigint AND me.sync_floor <= me.mark "
    "ORDER BY l.change_seq LIMIT $5::int + 1) "
    "UNION ALL "
    "(SELECT s.change_seq, 2, s.id FROM me "
    "JOIN songs s ON s.user_id = me.id "
    "WHERE s.change_seq > $3::bigint AND me.sync_floor <= me.mark "
    "ORDER BY s.change_seq LIMIT $5::int + 1) "
    "UNION ALL "
    "(SELECT t.change_seq, 3, t.item_id FROM me "
    "JOIN tombstones t ON t.user_id = me.id "
    "WHERE t.change_seq > me.mark AND me.sync_floor <= me.mark "
    "AND NOT EXISTS (SELECT 1 FROM loops x WHERE t.kind = 'loop' "
    "AND x.id = t.item_id AND x.user_id = me.id) "
    "AND NOT EXISTS (SELECT 1 FROM songs x WHERE t.kind = 'song' "
    "AND x.id = t.item_id AND x.user_id = me.id) "
    "ORDER BY t.change_seq LIMIT $5::int + 1)), "
    "page AS (SELECT * FROM feed ORDER BY seq LIMIT $5::int + 1), "
    "shown AS (SELECT * FROM page ORDER BY seq LIMIT $5::int) "
    "SELECT (SELECT count(*) FROM me), "
    "(SELECT change_seq FROM me), (SELECT sync_floor FROM me), "
    "(SELECT mark FROM me), "
    "(SELECT count(*) FROM page) > $5::int, "
    "(SELECT max(seq) FROM shown), "
    "coalesce((SELECT json_agg(loop_json(l, me.username, EXISTS ("
    "SELECT 1 FROM loop_likes k WHERE k.user_id = me.id "
    "AND k.loop_id = l.id)) ORDER BY sh.seq) "
    "FROM shown sh JOIN loops l ON l.id = sh.id CROSS JOIN me "
    "WHERE sh.kind = 1), '[]')::text, "
    "coalesce((SELECT json_agg(song_json(s, me.username, EXISTS ("
    "SELECT 1 FROM song_likes k WHERE k.user_id = me.id "
    "AND k.song_id = s.id)) ORDER BY sh.seq) "
    "FROM shown sh JOIN songs s ON s.id = sh.id CROSS JOIN me "
    "WHERE sh.kind = 2), '[]')::text, "
    "coalesce((SELECT json_agg(json_build_object('type', t.kind, "
    "'id', t.item_id, 'deletedAt', api_ts(t.deleted_at)) ORDER BY sh.seq) "
    "FROM shown sh CROSS JOIN me JOIN tombstones t "
    "ON t.user_id = me.id AND t.change_seq = sh.seq "
    "WHERE sh.kind = 3), '[]')::text", 5);

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
	}
	PQclear(res);
	return DB_OK;
}
