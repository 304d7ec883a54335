-- bench/explain.sql: the plans of the list statements db/items.c builds
-- (anonymous caller, public feed, sort=new), as EXPLAIN ANALYZE on the
-- seeded data: the first page, a page deep in the feed (keyset from
-- the 10 000th row), the same deep page by OFFSET (what old clients
-- do), and the ?chord= and ?sound= filters.  Run by bench/run
-- (BENCH_EXPLAIN=1); the output is in bench/README.md.
\set ON_ERROR_STOP 1
\pset pager off
PREPARE feed(uuid, int, int) AS
WITH me AS (SELECT u.id, u.username FROM users u WHERE u.id = $1::uuid AND u.token_version = $2::int)
SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), p.k, p.id, p.j FROM (SELECT 1) one LEFT JOIN LATERAL (
  SELECT (extract(epoch FROM x.created_at) * 1000000)::bigint AS k, x.id, loop_json(x, c, o.username, false) AS j
  FROM loops x JOIN loop_counts c ON c.loop_id = x.id JOIN users o ON o.id = x.user_id WHERE x.is_public
  ORDER BY x.created_at DESC, x.id DESC LIMIT $3::int) p ON true ORDER BY p.k DESC, p.id DESC;
PREPARE page(uuid, int, int, bigint, uuid) AS
WITH me AS (SELECT u.id, u.username FROM users u WHERE u.id = $1::uuid AND u.token_version = $2::int)
SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), p.k, p.id, p.j FROM (SELECT 1) one LEFT JOIN LATERAL (
  SELECT (extract(epoch FROM x.created_at) * 1000000)::bigint AS k, x.id, loop_json(x, c, o.username, false) AS j
  FROM loops x JOIN loop_counts c ON c.loop_id = x.id JOIN users o ON o.id = x.user_id WHERE x.is_public
  AND (x.created_at, x.id) < ('epoch'::timestamptz + $4::bigint * interval '1 microsecond', $5::uuid)
  ORDER BY x.created_at DESC, x.id DESC LIMIT $3::int) p ON true ORDER BY p.k DESC, p.id DESC;
PREPARE byoffset(uuid, int, int, bigint) AS
WITH me AS (SELECT u.id, u.username FROM users u WHERE u.id = $1::uuid AND u.token_version = $2::int)
SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), p.k, p.id, p.j FROM (SELECT 1) one LEFT JOIN LATERAL (
  SELECT (extract(epoch FROM x.created_at) * 1000000)::bigint AS k, x.id, loop_json(x, c, o.username, false) AS j
  FROM loops x JOIN loop_counts c ON c.loop_id = x.id JOIN users o ON o.id = x.user_id WHERE x.is_public
  ORDER BY x.created_at DESC, x.id DESC LIMIT $3::int OFFSET $4::bigint) p ON true ORDER BY p.k DESC, p.id DESC;
PREPARE chord(uuid, int, int, jsonb) AS
WITH me AS (SELECT u.id, u.username FROM users u WHERE u.id = $1::uuid AND u.token_version = $2::int)
SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), p.k, p.id, p.j FROM (SELECT 1) one LEFT JOIN LATERAL (
  SELECT (extract(epoch FROM x.created_at) * 1000000)::bigint AS k, x.id, loop_json(x, c, o.username, false) AS j
  FROM loops x JOIN loop_counts c ON c.loop_id = x.id JOIN users o ON o.id = x.user_id WHERE x.is_public AND x.chord_progression @> $4::jsonb
  ORDER BY x.created_at DESC, x.id DESC LIMIT $3::int) p ON true ORDER BY p.k DESC, p.id DESC;
PREPARE sound(uuid, int, int, jsonb) AS
WITH me AS (SELECT u.id, u.username FROM users u WHERE u.id = $1::uuid AND u.token_version = $2::int)
SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), p.k, p.id, p.j FROM (SELECT 1) one LEFT JOIN LATERAL (
  SELECT (extract(epoch FROM x.created_at) * 1000000)::bigint AS k, x.id, loop_json(x, c, o.username, false) AS j
  FROM loops x JOIN loop_counts c ON c.loop_id = x.id JOIN users o ON o.id = x.user_id WHERE x.is_public AND x.icon_sequence @> $4::jsonb
  ORDER BY x.created_at DESC, x.id DESC LIMIT $3::int) p ON true ORDER BY p.k DESC, p.id DESC;
SELECT (extract(epoch FROM created_at) * 1000000)::bigint AS deep_k, id AS deep_id
FROM loops WHERE is_public ORDER BY created_at DESC, id DESC OFFSET 9999 LIMIT 1 \gset
\echo '== first page'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE feed(NULL, NULL, 21);
\echo '== page 501 by cursor (after row 10000)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE page(NULL, NULL, 21, :deep_k, :'deep_id');
\echo '== page 501 by offset (old clients)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE byoffset(NULL, NULL, 21, 10000);
\echo '== ?chord=Am7 (about 1 loop in 10)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE chord(NULL, NULL, 21, '[{"chord":"Am7"}]');
\echo '== ?chord=Fmaj7 (1 in 100: the second chord of 10 in 100)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE chord(NULL, NULL, 21, '[{"chord":"Bb"}]');
\echo '== ?sound=vocal'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE sound(NULL, NULL, 21, '[{"soundId":"vocal"}]');
-- sort=top and sort=popular (issue 15): the counts are the counter
-- rows' (loop_counts, migration 0040), walked by its partial indexes.
PREPARE top(uuid, int, int) AS
WITH me AS (SELECT u.id, u.username FROM users u WHERE u.id = $1::uuid AND u.token_version = $2::int)
SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), p.k, p.id, p.j FROM (SELECT 1) one LEFT JOIN LATERAL (
  SELECT c.likes_count::bigint AS k, x.id, loop_json(x, c, o.username, false) AS j
  FROM loops x JOIN loop_counts c ON c.loop_id = x.id JOIN users o ON o.id = x.user_id
  WHERE x.is_public AND c.is_public
  ORDER BY c.likes_count DESC, c.loop_id DESC LIMIT $3::int) p ON true ORDER BY p.k DESC, p.id DESC;
PREPARE toppage(uuid, int, int, int, uuid) AS
WITH me AS (SELECT u.id, u.username FROM users u WHERE u.id = $1::uuid AND u.token_version = $2::int)
SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), p.k, p.id, p.j FROM (SELECT 1) one LEFT JOIN LATERAL (
  SELECT c.likes_count::bigint AS k, x.id, loop_json(x, c, o.username, false) AS j
  FROM loops x JOIN loop_counts c ON c.loop_id = x.id JOIN users o ON o.id = x.user_id
  WHERE x.is_public AND c.is_public AND (c.likes_count, c.loop_id) < ($4::int, $5::uuid)
  ORDER BY c.likes_count DESC, c.loop_id DESC LIMIT $3::int) p ON true ORDER BY p.k DESC, p.id DESC;
PREPARE popular(uuid, int, int) AS
WITH me AS (SELECT u.id, u.username FROM users u WHERE u.id = $1::uuid AND u.token_version = $2::int)
SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)), p.k, p.id, p.j FROM (SELECT 1) one LEFT JOIN LATERAL (
  SELECT c.plays_count AS k, x.id, loop_json(x, c, o.username, false) AS j
  FROM loops x JOIN loop_counts c ON c.loop_id = x.id JOIN users o ON o.id = x.user_id
  WHERE x.is_public AND c.is_public
  ORDER BY c.plays_count DESC, c.loop_id DESC LIMIT $3::int) p ON true ORDER BY p.k DESC, p.id DESC;
SELECT likes_count AS top_k, loop_id AS top_id FROM loop_counts WHERE is_public
ORDER BY likes_count DESC, loop_id DESC OFFSET 4999 LIMIT 1 \gset
\echo '== sort=top, first page'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE top(NULL, NULL, 21);
\echo '== sort=top, page 251 by cursor (after row 5000)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE toppage(NULL, NULL, 21, :top_k, :'top_id');
\echo '== sort=popular, first page'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE popular(NULL, NULL, 21);
