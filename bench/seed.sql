-- bench/seed.sql: :n public loops with deterministic ids
-- (00000000-0000-4000-8000-<n in hex>), spread over 1000 owners
-- (00000000-0000-4000-9000-<k in hex>), with chords, steps, likes and
-- plays varied enough for the filters and sorts to have work to do.
-- Run as a superuser: triggers are off while seeding (one owner row
-- would otherwise be updated once per loop), so the owners' counters
-- are set at the end.  Idempotent: rows that exist are kept.
\set ON_ERROR_STOP 1
SET session_replication_role = replica;
INSERT INTO users (id, email, username, password_hash)
SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(k), 12, '0'))::uuid,
    'bench' || k || '@example.com', 'bench' || k, '$argon2id$bench'
FROM generate_series(1, 1000) k
ON CONFLICT DO NOTHING;
-- The secondary indexes of loops (and of its counter rows) go while the rows go in and are built
-- again afterwards, in the same transaction (a failure leaves the
-- schema as it was): one sorted build each instead of a million index
-- insertions, three of them into GIN indexes.  What makes a million
-- loops in well under 5 minutes here.
BEGIN;
SET LOCAL maintenance_work_mem = '256MB';
CREATE TEMP TABLE seed_indexes ON COMMIT DROP AS
SELECT i.indexrelid::regclass::text AS name,
    pg_get_indexdef(i.indexrelid) AS def
FROM pg_index i
WHERE i.indrelid IN ('loops'::regclass, 'loop_counts'::regclass) AND NOT EXISTS (
    SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO $$
DECLARE r record;
BEGIN
	FOR r IN SELECT name FROM seed_indexes LOOP
		EXECUTE 'DROP INDEX ' || r.name;
	END LOOP;
END
$$;
-- The steps of a loop depend on n % 16 only and its chords on n % 100,
-- so each distinct value is built once (arrays p.steps and p.chords)
-- rather than once a row: the same rows, built several times faster.
-- Triggers are off, so the rows come with their rendered members
-- (migration 0041) made here, by the functions the trigger calls.
INSERT INTO loops (id, user_id, name, bars, color, bpm, chord_progression,
    icon_sequence, is_public, created_at, updated_at, shown_body, shown_times)
SELECT r.*,
    loop_shown_body(r.name, r.bars, r.color, r.bpm, r.chords, r.steps, 1,
	r.is_public, NULL),
    loop_shown_times(r.created_at, r.updated_at)
FROM (
WITH p AS (
    SELECT (SELECT array_agg(jsonb_build_array(
		jsonb_build_object('bar', 0, 'chord', (ARRAY['I', 'ii', 'IV',
		    'V', 'vi', 'Am7', 'Cmaj7', 'G7', 'Dm9', 'E7'])[1 + c % 10]),
		jsonb_build_object('bar', 1, 'chord', (ARRAY['I', 'ii', 'IV',
		    'V', 'vi', 'Fmaj7', 'Bb', 'G7', 'Dm9', 'E7'])[1 + c / 10]))
		ORDER BY c)
	    FROM generate_series(0, 99) c) AS chords,
	(SELECT array_agg((SELECT jsonb_agg(jsonb_build_object('bar', s * 4,
		'row', s % 4, 'soundId', (ARRAY['kick', 'snare', 'hihat',
		'clap', 'lead', 'pad', 'pluck', 'arp', 'sub', 'wobble', 'riser',
		'impact', 'sweep', 'glitch', 'vocal', 'noise'])[1 + (k + s) % 16],
		'velocity', 0.8, 'pitch', 36 + s, 'duration16', 1))
		FROM generate_series(0, 7) s) ORDER BY k)
	    FROM generate_series(0, 15) k) AS steps)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid AS id,
    ('00000000-0000-4000-9000-' || lpad(to_hex(1 + n % 1000), 12, '0'))::uuid
	AS user_id,
    'Loop ' || n || (ARRAY[' sunrise', ' night drive', ' groove', ' chill',
	' bounce'])[1 + n % 5] AS name,
    (ARRAY[1, 2, 4, 8])[1 + n % 4]::smallint AS bars, '#FFD11A' AS color,
    (60 + n % 180)::smallint AS bpm,
    p.chords[1 + n % 10 + 10 * ((n / 10) % 10)] AS chords,
    p.steps[1 + n % 16] AS steps,
    true AS is_public, now() - n * interval '1 second' AS created_at,
    now() - n * interval '1 second' AS updated_at
FROM p, generate_series(1, :n) n
) r
ON CONFLICT DO NOTHING;
-- Their counter rows (migration 0040; the trigger that makes them is off).
INSERT INTO loop_counts (loop_id, is_public, likes_count, plays_count)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, true,
    (n::bigint * 7919) % 1000, (n::bigint * 104729) % 100000
FROM generate_series(1, :n) n
ON CONFLICT DO NOTHING;
DO $$
DECLARE r record;
BEGIN
	FOR r IN SELECT def FROM seed_indexes LOOP
		EXECUTE r.def;
	END LOOP;
END
$$;
COMMIT;
UPDATE users u SET loops_count = x.c, public_loops_count = x.p
FROM (SELECT user_id, count(*) AS c, count(*) FILTER (WHERE is_public) AS p
    FROM loops GROUP BY 1) x
WHERE x.user_id = u.id;
SET session_replication_role = origin;
VACUUM ANALYZE loops;
VACUUM ANALYZE loop_counts;
VACUUM ANALYZE users;
