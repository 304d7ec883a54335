-- pgbench: the statement GET /api/loops/:id runs (db/items.c, st_get_loop,
-- loops, anonymous caller), on a random seeded loop.
\set n random(1, :nloops)
WITH me AS (SELECT u.id, u.username FROM users u
    WHERE u.id = NULL::uuid AND u.token_version = NULL::int)
SELECT (NULL::uuid IS NULL OR EXISTS (SELECT 1 FROM me)),
    CASE WHEN v.version IS NULL THEN 'missing' ELSE 'ok' END,
    v.version, v.user_id, v.j
FROM (SELECT 1) one LEFT JOIN LATERAL (
    SELECT x.version, x.user_id, loop_text(x, c, o.username,
	EXISTS (SELECT 1 FROM loop_likes k
	    WHERE k.user_id = NULL::uuid AND k.loop_id = x.id)) AS j
    FROM loops x JOIN users o ON o.id = x.user_id
    LEFT JOIN loop_counts c ON c.loop_id = x.id
    WHERE x.id = ('00000000-0000-4000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid
    AND (x.is_public OR x.user_id = (SELECT me.id FROM me))) v ON true;
