-- pgbench: the statement GET /api/loops/:id runs for an anonymous caller
-- (db/items.c, st_get_loop_anon), on a random seeded loop.
\set n random(1, :nloops)
SELECT true, CASE WHEN v.version IS NULL THEN 'missing' ELSE 'ok' END,
    v.version, v.user_id, v.j
FROM (SELECT 1) one LEFT JOIN LATERAL (
    SELECT x.version, x.user_id, loop_text(x, c, o.username, false) AS j
    FROM loops x JOIN users o ON o.id = x.user_id
    LEFT JOIN loop_counts c ON c.loop_id = x.id
    WHERE x.id = ('00000000-0000-4000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid
    AND x.is_public) v ON true;
