-- 0041: a loop's JSON is rendered when the loop is written, not each
-- time it is read (issue 15).
--
-- loop_json (0001, 0040) builds a loop's JSON at every read with
-- json_build_object: the steps and chords go through jsonb's output,
-- the two times through to_char (api_ts), once per row of every page.
-- On the public feed that building cost more than the index walk:
-- pgbench on the feed statement (1 000 000 loops, 16 clients, 5 s x 3)
-- ran 2 750 tps with loop_json, 4 275 with the plain columns (JSON to
-- be made in the worker), 7 250 with the rendered members stored (the
-- statement only joins text); bench/README.md, "Lists: where the
-- JSON is made".
--
-- So the members that only the loop's own row decides are kept
-- rendered in two columns, written by a BEFORE trigger whenever one of
-- them changes:
--   shown_body   "name" : ..., ..., "parentLoopId" : ...
--   shown_times  "createdAt" : "...", "updatedAt" : "..."
-- (json_build_object's own text of those members, without the braces,
-- so the result is byte for byte what loop_json gives).  The members
-- that move without the row changing are joined at read time by
-- loop_text(): id and userId (cheap), the owner's username (renames),
-- the counts (loop_counts), remixesCount (kept on the row but moved by
-- others' remixes, so not rendered), likedByMe (the caller's) and the
-- version.  loop_text returns text in loop_json's member order and
-- spacing: the reads that hand the JSON to the worker as text (GET by
-- id and the lists, db/items.c) use it; aggregates that nest loops in
-- other JSON keep loop_json.  t/it_shown.c holds them equal.
--
-- The cost: shown_body repeats the steps and chords as text (about
-- 1.2 kB a loop, ~0.5 kB once PostgreSQL compresses it: loops grows
-- by about a third), and each insert or content update renders once.
------------------------------------------------------------------------

-- The rendered members of a loop row's own, from its values (the seed
-- of bench/ renders with them while triggers are off).
CREATE FUNCTION loop_shown_body(name text, bars smallint, color text,
    bpm smallint, chord_progression jsonb, icon_sequence jsonb,
    schema_version integer, is_public boolean, parent_loop_id uuid)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT substr(t, 2, length(t) - 2)
	FROM (SELECT json_build_object(
	    'name', name, 'bars', bars, 'color', color, 'bpm', bpm,
	    'chordProgression', chord_progression,
	    'iconSequence', icon_sequence,
	    'schemaVersion', schema_version, 'isPublic', is_public,
	    'parentLoopId', parent_loop_id)::text AS t) s
$$;

CREATE FUNCTION loop_shown_times(created_at timestamptz,
    updated_at timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT substr(t, 2, length(t) - 2)
	FROM (SELECT json_build_object('createdAt', api_ts(created_at),
	    'updatedAt', api_ts(updated_at))::text AS t) s
$$;

ALTER TABLE loops ADD COLUMN shown_body text, ADD COLUMN shown_times text;

-- The loops there are: rendered with every trigger of loops off (the
-- write bumps no version, change number or live event: nothing a
-- client sees has changed).
ALTER TABLE loops DISABLE TRIGGER USER;
UPDATE loops SET
    shown_body = loop_shown_body(name, bars, color, bpm, chord_progression,
	icon_sequence, schema_version, is_public, parent_loop_id),
    shown_times = loop_shown_times(created_at, updated_at);
ALTER TABLE loops ENABLE TRIGGER USER;
ALTER TABLE loops ALTER COLUMN shown_body SET NOT NULL,
    ALTER COLUMN shown_times SET NOT NULL;

-- After loops_before_insert / loops_before_update (BEFORE triggers run
-- in name order), so it renders the row as it will be stored.  An
-- update that changes none of the rendered members (a remix counted,
-- an unchanged PUT) keeps the rendering it had.
CREATE FUNCTION loops_shown() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE'
	   AND (NEW.name, NEW.bars, NEW.color, NEW.bpm, NEW.chord_progression,
		NEW.icon_sequence, NEW.schema_version, NEW.is_public,
		NEW.parent_loop_id, NEW.created_at, NEW.updated_at)
	       IS NOT DISTINCT FROM
	       (OLD.name, OLD.bars, OLD.color, OLD.bpm, OLD.chord_progression,
		OLD.icon_sequence, OLD.schema_version, OLD.is_public,
		OLD.parent_loop_id, OLD.created_at, OLD.updated_at)
	   AND NEW.shown_body IS NOT NULL AND NEW.shown_times IS NOT NULL THEN
		NEW.shown_body := OLD.shown_body;
		NEW.shown_times := OLD.shown_times;
		RETURN NEW;
	END IF;
	NEW.shown_body := loop_shown_body(NEW.name, NEW.bars, NEW.color,
	    NEW.bpm, NEW.chord_progression, NEW.icon_sequence,
	    NEW.schema_version, NEW.is_public, NEW.parent_loop_id);
	NEW.shown_times := loop_shown_times(NEW.created_at, NEW.updated_at);
	RETURN NEW;
END
$$;
CREATE TRIGGER loops_shown BEFORE INSERT OR UPDATE ON loops
    FOR EACH ROW EXECUTE FUNCTION loops_shown();

-- A loop's JSON as text, the same bytes as loop_json(l, c, owner_name,
-- liked)::text (0040): one expression, inlined into the statement.
CREATE FUNCTION loop_text(l loops, c loop_counts, owner_name text,
    liked boolean) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT '{"id" : "' || l.id::text || '", "userId" : "' ||
	    l.user_id::text || '", "username" : ' ||
	    coalesce(to_json(owner_name)::text, 'null') || ', ' ||
	    l.shown_body || ', "playsCount" : ' ||
	    coalesce(c.plays_count, 0)::text || ', "likesCount" : ' ||
	    coalesce(c.likes_count, 0)::text || ', "remixesCount" : ' ||
	    l.remixes_count::text || ', "likedByMe" : ' ||
	    coalesce(liked, false)::text || ', "version" : ' ||
	    l.version::text || ', ' || l.shown_times || '}'
$$;
