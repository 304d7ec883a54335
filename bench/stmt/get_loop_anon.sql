-- GET /api/loops/:id for an anonymous caller: item_get_loop_anon.
PREPARE g(uuid) AS SELECT true, CASE WHEN v.version IS NULL THEN 'missing' ELSE 'ok' END, v.version, v.user_id, v.j FROM (SELECT 1) one LEFT JOIN LATERAL ( SELECT x.version, x.user_id, loop_text(x, c, o.username, false) AS j FROM loops x JOIN users o ON o.id = x.user_id LEFT JOIN loop_counts c ON c.loop_id = x.id WHERE x.id = $1::uuid AND x.is_public ) v ON true;
EXECUTE g('ID');
