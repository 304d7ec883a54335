/*
 * The song statements that are not shared with loops: create, replace
 * (PUT and, through handlers/items.c, PATCH) and the expanded read.
 * Each is one statement following the conventions of db/items_int.h;
 * reading one, deleting, likes, plays and lists are db/items.c's.
 *
 * What is the songs' own: every loop a timeline names must be one the
 * owner may use (their own, or public).  The check is one query over
 * the whole timeline (song_unusable_loops, migration 0004), inside the
 * statement that writes; a refusal is the outcome 'invalid' with the
 * errors array built here, naming each block (timeline[i].loopId).
 * References the stored song already has are not judged again, so a
 * song whose loop has gone can still be saved (the block shows
 * "missing": true, see song_view_json).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "db/items_int.h"

/*
 * In every statement here song_view_json(row, owner name, liked, $1)
 * is the song as the caller ($1) sees it, and b.ids the loops of the
 * document's timeline the owner may not use (song_unusable_loops); a
 * refusal's errors array names each such block of the document d.d.
 */

/*
 * Create, at $3 (the client's id, for PUT with If-None-Match: *) or at
 * a new id ($3 NULL), from document $4.  An id that exists is
 * 'precondition' (with that song when the caller may see it), judged
 * before the loops; a refused loop is 'invalid'.  Not ON CONFLICT DO
 * NOTHING: the BEFORE INSERT trigger moves the owner's counters before
 * a conflict is found, and DO NOTHING would keep that move.
 */
static struct db_stmt st_create = DB_STMT("song_create",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int), "
    "d AS (SELECT $4::jsonb AS d), "
    "cur AS (SELECT x.* FROM songs x WHERE x.id = $3::uuid), "
    "b AS (SELECT song_unusable_loops(d.d->'timeline', $1::uuid, NULL) AS ids "
    "      FROM d), "
    "ins AS (INSERT INTO songs AS x (id, user_id, name, bpm, time_signature, "
    "                                timeline, total_bars, schema_version, "
    "                                is_public) "
    "        SELECT coalesce($3::uuid, gen_random_uuid()), me.id, "
    "               d.d->>'name', (d.d->>'bpm')::smallint, "
    "               d.d->>'timeSignature', d.d->'timeline', "
    "               (d.d->>'totalBars')::int, (d.d->>'schemaVersion')::int, "
    "               coalesce((d.d->>'isPublic')::boolean, false) "
    "        FROM me, d, b "
    "        WHERE cardinality(b.ids) = 0 AND NOT EXISTS (SELECT 1 FROM cur) "
    "        RETURNING x.*) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), "
    "       CASE WHEN i.id IS NOT NULL THEN 'created' "
    "            WHEN c.id IS NOT NULL THEN 'precondition' "
    "            ELSE 'invalid' END, "
    "       CASE WHEN i.id IS NOT NULL THEN i.version "
    "            WHEN c.is_public OR c.user_id = m.id THEN c.version END, "
    "       CASE WHEN i.id IS NOT NULL THEN i.user_id "
    "            WHEN c.is_public OR c.user_id = m.id THEN c.user_id END, "
    "       CASE WHEN i.id IS NOT NULL "
    "            THEN song_view_json(i::songs, m.username, "
    "                                EXISTS (SELECT 1 FROM song_likes k "
    "                                        WHERE k.user_id = $1::uuid "
    "                                          AND k.song_id = i.id), "
    "                                $1::uuid) "
    "            WHEN c.is_public OR c.user_id = m.id "
    "            THEN song_view_json(c::songs, o.username, "
    "                                EXISTS (SELECT 1 FROM song_likes k "
    "                                        WHERE k.user_id = $1::uuid "
    "                                          AND k.song_id = c.id), "
    "                                $1::uuid) "
    "            WHEN c.id IS NULL "
    "            THEN (SELECT json_agg(json_build_object( "
    "                           'field', "
    "                           'timeline[' || (t.ord - 1) || '].loopId', "
    "                           'message', "
    "                           'must be a loop you own or a public loop') "
    "                         ORDER BY t.ord) "
    "                  FROM jsonb_array_elements(d.d->'timeline') "
    "                       WITH ORDINALITY AS t(e, ord) "
    "                  WHERE t.e->>'loopId' = ANY (b.ids)) END, "
    "       i.id "
    "FROM (SELECT 1) one "
    "CROSS JOIN d "
    "CROSS JOIN b "
    "LEFT JOIN me m ON true "
    "LEFT JOIN ins i ON true "
    "LEFT JOIN cur c ON true "
    "LEFT JOIN users o ON o.id = c.user_id", 4);

/*
 * Full replace of the caller's song $3 by document $4, if $5 (If-Match
 * versions, NULL: any) and $6 (the body's version, NULL: any) hold and
 * every loop newly named is usable (references the stored song already
 * has are not judged again).  The row is locked first, so the checks
 * and the outcome are decided on its latest version; a missing
 * isPublic keeps the stored one.  Outcomes in the order of
 * handlers/items.c: missing, forbidden, precondition, conflict, then
 * invalid (the loops).
 */
static struct db_stmt st_replace = DB_STMT("song_replace",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int), "
    "cur AS (SELECT x.* FROM songs x WHERE x.id = $3::uuid "
    "        FOR NO KEY UPDATE), "
    "d AS (SELECT $4::jsonb AS d), "
    "b AS (SELECT song_unusable_loops(d.d->'timeline', cur.user_id, "
    "                                 cur.timeline) AS ids "
    "      FROM d, cur, me WHERE cur.user_id = me.id), "
    "upd AS (UPDATE songs x "
    "        SET name = d.d->>'name', bpm = (d.d->>'bpm')::smallint, "
    "            time_signature = d.d->>'timeSignature', "
    "            timeline = d.d->'timeline', "
    "            total_bars = (d.d->>'totalBars')::int, "
    "            schema_version = (d.d->>'schemaVersion')::int, "
    "            is_public = coalesce((d.d->>'isPublic')::boolean, "
    "                                 cur.is_public) "
    "        FROM cur, me, d, b "
    "        WHERE x.id = cur.id AND cur.user_id = me.id "
    "          AND ($5::int[] IS NULL OR cur.version = ANY ($5::int[])) "
    "          AND ($6::int IS NULL OR cur.version = $6::int) "
    "          AND cardinality(b.ids) = 0 "
    "        RETURNING x.*) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), "
    "       CASE WHEN w.id IS NOT NULL THEN 'ok' "
    "            WHEN c.id IS NULL "
    "              OR NOT (c.is_public OR c.user_id = m.id) THEN 'missing' "
    "            WHEN c.user_id <> m.id THEN 'forbidden' "
    "            WHEN $5::int[] IS NOT NULL "
    "             AND NOT (c.version = ANY ($5::int[])) THEN 'precondition' "
    "            WHEN $6::int IS NOT NULL AND c.version <> $6::int "
    "            THEN 'conflict' "
    "            ELSE 'invalid' END, "
    "       CASE WHEN w.id IS NOT NULL THEN w.version "
    "            WHEN c.user_id = m.id THEN c.version END, "
    "       c.user_id, "
    "       CASE WHEN w.id IS NOT NULL "
    "            THEN song_view_json(w::songs, m.username, "
    "                                EXISTS (SELECT 1 FROM song_likes k "
    "                                        WHERE k.user_id = $1::uuid "
    "                                          AND k.song_id = w.id), "
    "                                $1::uuid) "
    "            WHEN c.user_id = m.id "
    "             AND ($5::int[] IS NOT NULL "
    "                  AND NOT (c.version = ANY ($5::int[])) "
    "                  OR $6::int IS NOT NULL AND c.version <> $6::int) "
    "            THEN song_view_json(c::songs, m.username, "
    "                                EXISTS (SELECT 1 FROM song_likes k "
    "                                        WHERE k.user_id = $1::uuid "
    "                                          AND k.song_id = c.id), "
    "                                $1::uuid) "
    "            WHEN c.user_id = m.id "
    "            THEN (SELECT json_agg(json_build_object( "
    "                           'field', "
    "                           'timeline[' || (t.ord - 1) || '].loopId', "
    "                           'message', "
    "                           'must be a loop you own or a public loop') "
    "                         ORDER BY t.ord) "
    "                  FROM jsonb_array_elements(d.d->'timeline') "
    "                       WITH ORDINALITY AS t(e, ord) "
    "                  WHERE t.e->>'loopId' = ANY (b.ids)) END "
    "FROM (SELECT 1) one "
    "CROSS JOIN d "
    "LEFT JOIN me m ON true "
    "LEFT JOIN cur c ON true "
    "LEFT JOIN upd w ON true "
    "LEFT JOIN b ON true", 6);

/*
 * GET with ?expand=loops: the item is {"song": …, "loops": […],
 * "omittedLoops": […]}, in one statement.  The loops of song x's
 * timeline, as the caller ($1) may see them: every distinct visible
 * loop once, in order of first use (u), as loop_json shapes it.  The
 * loops go into "loops" while the running total of their JSON text
 * stays within DB_SONG_EXPAND_MAX bytes (the one constant pasted in,
 * shared with db/db.h); the ids of the rest go into "omittedLoops"
 * (the client reads them with GET /api/loops/:id).  Lengths are
 * measured first (r) and only the loops that fit are built.
 */
static struct db_stmt st_get_expanded = DB_STMT_RO("song_get_expanded",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), "
    "       CASE WHEN v.version IS NULL THEN 'missing' ELSE 'ok' END, "
    "       v.version, v.user_id, v.j "
    "FROM (SELECT 1) one "
    "LEFT JOIN LATERAL ( "
    "    SELECT x.version, x.user_id, "
    "           json_build_object( "
    "               'song', song_view_json(x::songs, o.username, "
    "                                      EXISTS (SELECT 1 FROM song_likes k "
    "                                              WHERE k.user_id = $1::uuid "
    "                                                AND k.song_id = x.id), "
    "                                      $1::uuid), "
    "               'loops', e.loops, "
    "               'omittedLoops', e.omitted) AS j "
    "    FROM songs x "
    "    JOIN users o ON o.id = x.user_id "
    "    CROSS JOIN LATERAL ( "
    "        SELECT coalesce(json_agg(loop_json(l, lc, w.username, t.liked) "
    "                                 ORDER BY t.ord) "
    "                        FILTER (WHERE t.fits), '[]') AS loops, "
    "               coalesce(json_agg(t.id ORDER BY t.ord) "
    "                        FILTER (WHERE NOT t.fits), '[]') AS omitted "
    "        FROM (SELECT r.ord, r.id, r.liked, "
    "                     sum(r.n) OVER (ORDER BY r.ord) <= "
    "                     " DB_XSTR(DB_SONG_EXPAND_MAX) " AS fits "
    "              FROM (SELECT u.ord, u.id, k.liked, "
    "                           octet_length(loop_json(l2, lc2, w2.username, "
    "                                                  k.liked)::text) AS n "
    "                    FROM (SELECT (b->>'loopId')::uuid AS id, "
    "                                 min(tt.ord) AS ord "
    "                          FROM jsonb_array_elements(x.timeline) "
    "                               WITH ORDINALITY AS tt(b, ord) "
    "                          GROUP BY 1) u "
    "                    JOIN loops l2 ON l2.id = u.id "
    "                     AND (l2.is_public OR l2.user_id = $1::uuid) "
    "                    JOIN users w2 ON w2.id = l2.user_id "
    "                    LEFT JOIN loop_counts lc2 ON lc2.loop_id = l2.id "
    "                    CROSS JOIN LATERAL ( "
    "                        SELECT EXISTS (SELECT 1 FROM loop_likes q "
    "                                       WHERE q.loop_id = l2.id "
    "                                         AND q.user_id = $1::uuid) "
    "                               AS liked) k) r) t "
    "        JOIN loops l ON l.id = t.id "
    "        JOIN users w ON w.id = l.user_id "
    "        LEFT JOIN loop_counts lc ON lc.loop_id = l.id) e "
    "    WHERE x.id = $3::uuid "
    "      AND (x.is_public OR x.user_id = (SELECT me.id FROM me)) "
    ") v ON true", 3);

/*
 * Create a song owned by the caller, at id (NULL: a new one), from doc
 * (the validated document as JSON text).  ITEM_CREATED with the song;
 * ITEM_PRECONDITION when id exists (with that song if the caller may
 * see it); ITEM_INVALID with the errors array when a block names a
 * loop the caller may not use.  r is the caller's (item_result_release).
 */
enum db_status
db_song_create(struct db *db, const struct item_caller *who, const char *id,
    const char *doc, struct item_result *r)
{
	return db_item_create_with(db, &st_create, who, id, doc, r);
}

/*
 * Replace the caller's song id by doc if cond holds.  ITEM_OK with the
 * new song; ITEM_PRECONDITION / ITEM_CONFLICT with the current one;
 * ITEM_INVALID with the errors array; ITEM_MISSING, ITEM_FORBIDDEN.
 */
enum db_status
db_song_replace(struct db *db, const struct item_caller *who, const char *id,
    const char *doc, const struct item_cond *cond, struct item_result *r)
{
	return db_item_replace_with(db, &st_replace, who, id, doc, cond, r);
}

/*
 * One song with the loops it uses, as the caller may see them:
 * ITEM_OK with r->json = {"song":…,"loops":[…],"omittedLoops":[…]}
 * (at most DB_SONG_EXPAND_MAX bytes of loops) and r->version the
 * song's; ITEM_MISSING for a missing or someone else's private song.
 */
enum db_status
db_song_get_expanded(struct db *db, const struct item_caller *who,
    const char *id, struct item_result *r)
{
	const char	*p[3];
	char		 ver[24];

	db_item_caller_params(who, ver, sizeof(ver), p);
	p[2] = id;
	return db_item_exec(db, &st_get_expanded, p, r);
}
