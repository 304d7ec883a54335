/*
 * The loop writes that are not shared with songs: create, replace and
 * remix.  Each is one statement following the conventions of
 * db/items_int.h.  The document ($4) is the validated, normalised
 * loop as JSON text; PostgreSQL's jsonb keeps every number's value as
 * sent (0.123 stays 0.123; 1e2 becomes 100).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "db/items_int.h"

/*
 * Create, at $3 (the client's id, for PUT with If-None-Match: *) or at
 * a new id ($3 NULL).  An id that exists is 'precondition', with the
 * existing loop when the caller may see it.  Not ON CONFLICT DO
 * NOTHING: the BEFORE INSERT trigger moves the owner's counters before
 * the conflict is found, and DO NOTHING would keep that move.  Two
 * creates of one id at once: the second fails on the primary key,
 * which db_loop_create() answers as 'precondition' too.
 */
static struct db_stmt st_create = DB_STMT("loop_create",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int), "
    "d AS (SELECT $4::jsonb AS d), "
    "ins AS (INSERT INTO loops AS x (id, user_id, name, bars, color, bpm, "
    "                                chord_progression, icon_sequence, "
    "                                schema_version, is_public) "
    "        SELECT coalesce($3::uuid, gen_random_uuid()), me.id, "
    "               d.d->>'name', (d.d->>'bars')::smallint, d.d->>'color', "
    "               (d.d->>'bpm')::smallint, d.d->'chordProgression', "
    "               d.d->'iconSequence', (d.d->>'schemaVersion')::int, "
    "               coalesce((d.d->>'isPublic')::boolean, false) "
    "        FROM me, d "
    "        WHERE NOT EXISTS (SELECT 1 FROM loops y WHERE y.id = $3::uuid) "
    "        RETURNING x.*), "
    "cur AS (SELECT x.* FROM loops x WHERE x.id = $3::uuid) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), "
    "       CASE WHEN i.id IS NOT NULL THEN 'created' "
    "            ELSE 'precondition' END, "
    "       CASE WHEN i.id IS NOT NULL THEN i.version "
    "            WHEN c.is_public OR c.user_id = m.id THEN c.version END, "
    "       CASE WHEN i.id IS NOT NULL THEN i.user_id "
    "            WHEN c.is_public OR c.user_id = m.id THEN c.user_id END, "
    "       CASE WHEN i.id IS NOT NULL "
    "            THEN loop_json(i::loops, m.username, false) "
    "            WHEN c.is_public OR c.user_id = m.id "
    "            THEN loop_json(c::loops, o.username, "
    "                           EXISTS (SELECT 1 FROM loop_likes k "
    "                                   WHERE k.user_id = m.id "
    "                                     AND k.loop_id = c.id)) END, "
    "       i.id "
    "FROM (SELECT 1) one "
    "LEFT JOIN me m ON true "
    "LEFT JOIN ins i ON true "
    "LEFT JOIN cur c ON true "
    "LEFT JOIN users o ON o.id = c.user_id", 4);

/*
 * Full replace of the caller's loop $3 by document $4, if $5 (If-Match
 * versions, NULL: any) and $6 (the body's version, NULL: any) hold.
 * The row is locked first, so the check and the outcome are decided on
 * its latest version; a missing isPublic keeps the stored one.
 */
static struct db_stmt st_replace = DB_STMT("loop_replace",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int), "
    "cur AS (SELECT x.* FROM loops x WHERE x.id = $3::uuid "
    "        FOR NO KEY UPDATE), "
    "d AS (SELECT $4::jsonb AS d), "
    "upd AS (UPDATE loops x "
    "        SET name = d.d->>'name', bars = (d.d->>'bars')::smallint, "
    "            color = d.d->>'color', bpm = (d.d->>'bpm')::smallint, "
    "            chord_progression = d.d->'chordProgression', "
    "            icon_sequence = d.d->'iconSequence', "
    "            schema_version = (d.d->>'schemaVersion')::int, "
    "            is_public = coalesce((d.d->>'isPublic')::boolean, "
    "                                 cur.is_public) "
    "        FROM cur, me, d "
    "        WHERE x.id = cur.id AND cur.user_id = me.id "
    "          AND ($5::int[] IS NULL OR cur.version = ANY ($5::int[])) "
    "          AND ($6::int IS NULL OR cur.version = $6::int) "
    "        RETURNING x.*) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), "
    "       CASE WHEN w.id IS NOT NULL THEN 'ok' "
    "            WHEN c.id IS NULL "
    "              OR NOT (c.is_public OR c.user_id = m.id) THEN 'missing' "
    "            WHEN c.user_id <> m.id THEN 'forbidden' "
    "            WHEN $5::int[] IS NOT NULL "
    "             AND NOT (c.version = ANY ($5::int[])) THEN 'precondition' "
    "            ELSE 'conflict' END, "
    "       CASE WHEN w.id IS NOT NULL THEN w.version "
    "            WHEN c.user_id = m.id THEN c.version END, "
    "       c.user_id, "
    "       CASE WHEN w.id IS NOT NULL "
    "            THEN loop_json(w::loops, m.username, "
    "                           EXISTS (SELECT 1 FROM loop_likes k "
    "                                   WHERE k.user_id = m.id "
    "                                     AND k.loop_id = w.id)) "
    "            WHEN c.user_id = m.id "
    "            THEN loop_json(c::loops, m.username, "
    "                           EXISTS (SELECT 1 FROM loop_likes k "
    "                                   WHERE k.user_id = m.id "
    "                                     AND k.loop_id = c.id)) END "
    "FROM (SELECT 1) one "
    "LEFT JOIN me m ON true "
    "LEFT JOIN cur c ON true "
    "LEFT JOIN upd w ON true", 6);

/*
 * Remix: a copy of loop $3 (public or the caller's) owned by the
 * caller, named $4 or "Remix of <name>", public if $5.  The source row
 * is locked before the insert touches the caller's row (the owner
 * counters), the same order an edit of the source takes.
 */
static struct db_stmt st_remix = DB_STMT("loop_remix",
    "WITH me AS (SELECT u.id, u.username FROM users u "
    "            WHERE u.id = $1::uuid AND u.token_version = $2::int), "
    "src AS (SELECT x.* FROM loops x "
    "        WHERE x.id = $3::uuid "
    "          AND (x.is_public OR x.user_id = (SELECT me.id FROM me)) "
    "        FOR NO KEY UPDATE), "
    "ins AS (INSERT INTO loops AS x (user_id, name, bars, color, bpm, "
    "                                chord_progression, icon_sequence, "
    "                                schema_version, is_public, "
    "                                parent_loop_id) "
    "        SELECT me.id, "
    "               coalesce($4::text, left('Remix of ' || src.name, 100)), "
    "               src.bars, src.color, src.bpm, src.chord_progression, "
    "               src.icon_sequence, src.schema_version, "
    "               coalesce($5::boolean, false), src.id "
    "        FROM me, src "
    "        RETURNING x.*) "
    "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), "
    "       CASE WHEN i.id IS NOT NULL THEN 'created' ELSE 'missing' END, "
    "       i.version, i.user_id, "
    "       CASE WHEN i.id IS NOT NULL "
    "            THEN loop_json(i::loops, m.username, false) END, "
    "       i.id "
    "FROM (SELECT 1) one "
    "LEFT JOIN me m ON true "
    "LEFT JOIN ins i ON true", 5);

/*
 * Create a loop owned by the caller, at id (NULL: a new one).
 * ITEM_CREATED with the loop, or ITEM_PRECONDITION when id exists
 * (with that loop if the caller may see it).
 */
enum db_status
db_loop_create(struct db *db, const struct item_caller *who, const char *id,
    const char *doc, struct item_result *r)
{
	return db_item_create_with(db, &st_create, who, id, doc, r);
}

/*
 * Replace the caller's loop id by doc if cond holds.  ITEM_OK with the
 * new loop; ITEM_PRECONDITION / ITEM_CONFLICT with the current one;
 * ITEM_MISSING, ITEM_FORBIDDEN.
 */
enum db_status
db_loop_replace(struct db *db, const struct item_caller *who, const char *id,
    const char *doc, const struct item_cond *cond, struct item_result *r)
{
	return db_item_replace_with(db, &st_replace, who, id, doc, cond, r);
}

/*
 * Remix loop id for the caller: name (NULL: "Remix of <name>", cut to
 * 100 characters), public if is_public > 0 (< 0: the default, private).
 * ITEM_CREATED with the new loop, or ITEM_MISSING.
 */
enum db_status
db_loop_remix(struct db *db, const struct item_caller *who, const char *id,
    const char *name, int is_public, struct item_result *r)
{
	const char	*p[5];
	char		 ver[24];

	db_item_caller_params(who, ver, sizeof(ver), p);
	p[2] = id;
	p[3] = name;
	p[4] = is_public < 0 ? NULL : (is_public ? "true" : "false");
	return db_item_exec(db, &st_remix, p, r);
}
