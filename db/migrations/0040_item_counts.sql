-- 0040: likes and plays live in narrow counter tables (issue 15).
--
-- loops.likes_count and plays_count were columns of loops, in the
-- indexes of the top and popular sorts, so every like or play was a
-- non-HOT update of the loop's row: a new copy of the whole row (the
-- steps and chords) and an entry in each of the 11 indexes of loops,
-- three of them GIN.  They move to loop_counts (and song_counts, the
-- same for songs): one narrow row per item, made by a trigger when the
-- item is made, deleted with it (ON DELETE CASCADE).  A like or play
-- now writes that row and its three b-tree indexes; loops is not
-- written at all.
--
-- The sorts stay index-backed and their cursors exact: the counter
-- tables carry the indexes of top and popular, partial on is_public as
-- before, so is_public is kept here too (a copy of the item's, moved
-- by the item's BEFORE UPDATE trigger in the same transaction).  Those
-- indexes hold the counts, so an update of a count is never HOT (no
-- index on a count would mean no index-backed sort); fillfactor 80
-- keeps the new version on the row's page.
--
-- remixes_count stays on loops: it is in no index, it moves when a
-- remix is made or deleted (rare next to likes and plays), and that is
-- already a write of the loop's own kind.
--
-- Lock order, the same on every path (so no two of them deadlock):
-- the item's row, then its counter row, then users rows.  A like takes
-- the item's row FOR KEY SHARE (the foreign key check of the like row
-- takes that lock anyway), then the counter row, then the liker's
-- users row for the like's change number; an edit of is_public takes
-- the item's row, the counter row (BEFORE UPDATE), then the owner's
-- (owner_change); a delete takes the item's row first.
--
-- A like is one write of its row: the change number goes in with the
-- insert (0011 inserted the row and then updated it, a second non-HOT
-- write of the same row).  The counter row's lock, taken before, makes
-- "not liked yet" exact, so the number is taken only for a like that
-- is made.

CREATE TABLE loop_counts (
	loop_id		uuid PRIMARY KEY REFERENCES loops (id) ON DELETE CASCADE,
	is_public	boolean NOT NULL,
	likes_count	integer NOT NULL DEFAULT 0 CHECK (likes_count >= 0),
	plays_count	bigint NOT NULL DEFAULT 0 CHECK (plays_count >= 0)
) WITH (fillfactor = 80, parallel_workers = 0);

CREATE TABLE song_counts (
	song_id		uuid PRIMARY KEY REFERENCES songs (id) ON DELETE CASCADE,
	is_public	boolean NOT NULL,
	likes_count	integer NOT NULL DEFAULT 0 CHECK (likes_count >= 0),
	plays_count	bigint NOT NULL DEFAULT 0 CHECK (plays_count >= 0)
) WITH (fillfactor = 80, parallel_workers = 0);

LOCK TABLE loops, songs, loop_likes, song_likes IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO loop_counts (loop_id, is_public, likes_count, plays_count)
SELECT l.id, l.is_public, l.likes_count, l.plays_count FROM loops l;
INSERT INTO song_counts (song_id, is_public, likes_count, plays_count)
SELECT s.id, s.is_public, s.likes_count, s.plays_count FROM songs s;

-- Keyset paging of top and popular, as loops_public_top/popular were.
CREATE INDEX loop_counts_public_top ON loop_counts (likes_count DESC,
    loop_id DESC) WHERE is_public;
CREATE INDEX loop_counts_public_popular ON loop_counts (plays_count DESC,
    loop_id DESC) WHERE is_public;
CREATE INDEX song_counts_public_top ON song_counts (likes_count DESC,
    song_id DESC) WHERE is_public;
CREATE INDEX song_counts_public_popular ON song_counts (plays_count DESC,
    song_id DESC) WHERE is_public;

-- The live triggers' WHEN clauses name the old columns: made again below.
DROP TRIGGER loops_live ON loops;
DROP TRIGGER songs_live ON songs;
DROP INDEX loops_public_top, loops_public_popular, songs_public_top,
    songs_public_popular;
ALTER TABLE loops DROP COLUMN likes_count, DROP COLUMN plays_count;
ALTER TABLE songs DROP COLUMN likes_count, DROP COLUMN plays_count;

------------------------------------------------------------------------
-- the counter rows follow their items
------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION loops_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.version := item_first_version('loop', NEW.id);
	NEW.remixes_count := 0;
	NEW.change_seq := owner_change(NEW.user_id, 1, NEW.is_public::int, 0, 0);
	RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION songs_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.version := item_first_version('song', NEW.id);
	NEW.change_seq := owner_change(NEW.user_id, 0, 0, 1, NEW.is_public::int);
	RETURN NEW;
END
$$;

-- As 0011, and the new loop's counter row.
CREATE OR REPLACE FUNCTION loops_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO loop_counts (loop_id, is_public)
	    VALUES (NEW.id, NEW.is_public);
	IF NEW.parent_loop_id IS NOT NULL THEN
		UPDATE loops SET remixes_count = remixes_count + 1
		    WHERE id = NEW.parent_loop_id;
	END IF;
	IF NEW.version > 1 AND NEW.is_public THEN
		PERFORM loop_access_changed(NEW.id, NEW.user_id, true);
	END IF;
	RETURN NULL;
END
$$;

CREATE FUNCTION songs_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO song_counts (song_id, is_public)
	    VALUES (NEW.id, NEW.is_public);
	RETURN NULL;
END
$$;
CREATE TRIGGER songs_after_insert AFTER INSERT ON songs
    FOR EACH ROW EXECUTE FUNCTION songs_after_insert();

-- As 0011; a change of is_public is copied to the counter row first
-- (before owner_change takes the owner's row: the lock order above).
CREATE OR REPLACE FUNCTION loops_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.is_public IS DISTINCT FROM OLD.is_public THEN
		UPDATE loop_counts c SET is_public = NEW.is_public
		    WHERE c.loop_id = NEW.id;
	END IF;
	IF (NEW.name, NEW.bars, NEW.color, NEW.bpm, NEW.chord_progression,
	    NEW.icon_sequence, NEW.schema_version, NEW.is_public)
	    IS DISTINCT FROM
	    (OLD.name, OLD.bars, OLD.color, OLD.bpm, OLD.chord_progression,
	    OLD.icon_sequence, OLD.schema_version, OLD.is_public) THEN
		NEW.version := OLD.version + 1;
		NEW.updated_at := now();
		NEW.change_seq := owner_change(NEW.user_id, 0,
		    NEW.is_public::int - OLD.is_public::int, 0, 0);
	ELSE
		NEW.version := OLD.version;
		NEW.updated_at := OLD.updated_at;
		IF NEW.parent_loop_id IS DISTINCT FROM OLD.parent_loop_id THEN
			NEW.change_seq := coalesce(owner_change(NEW.user_id,
			    0, 0, 0, 0), OLD.change_seq);
		ELSE
			NEW.change_seq := OLD.change_seq;
		END IF;
	END IF;
	NEW.created_at := OLD.created_at;
	NEW.user_id := OLD.user_id;
	RETURN NEW;
END
$$;

-- As 0001, with the same copy of is_public.
CREATE OR REPLACE FUNCTION songs_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.is_public IS DISTINCT FROM OLD.is_public THEN
		UPDATE song_counts c SET is_public = NEW.is_public
		    WHERE c.song_id = NEW.id;
	END IF;
	IF (NEW.name, NEW.bpm, NEW.time_signature, NEW.timeline,
	    NEW.total_bars, NEW.schema_version, NEW.is_public)
	    IS DISTINCT FROM
	    (OLD.name, OLD.bpm, OLD.time_signature, OLD.timeline,
	    OLD.total_bars, OLD.schema_version, OLD.is_public) THEN
		NEW.version := OLD.version + 1;
		NEW.updated_at := now();
		NEW.change_seq := owner_change(NEW.user_id, 0, 0, 0,
		    NEW.is_public::int - OLD.is_public::int);
	ELSE
		NEW.version := OLD.version;
		NEW.updated_at := OLD.updated_at;
		NEW.change_seq := OLD.change_seq;
	END IF;
	NEW.created_at := OLD.created_at;
	NEW.user_id := OLD.user_id;
	RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION loop_likes_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		UPDATE loop_counts SET likes_count = likes_count + 1
		    WHERE loop_id = NEW.loop_id;
	ELSE
		UPDATE loop_counts SET likes_count = likes_count - 1
		    WHERE loop_id = OLD.loop_id AND likes_count > 0;
	END IF;
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION song_likes_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		UPDATE song_counts SET likes_count = likes_count + 1
		    WHERE song_id = NEW.song_id;
	ELSE
		UPDATE song_counts SET likes_count = likes_count - 1
		    WHERE song_id = OLD.song_id AND likes_count > 0;
	END IF;
	RETURN NULL;
END
$$;

------------------------------------------------------------------------
-- likes and plays (0003, 0011)
------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION item_like(p_kind text, p_user uuid, p_ver int,
    p_item uuid, p_on boolean)
RETURNS TABLE (me_ok boolean, found boolean, likes_count bigint,
    liked boolean)
LANGUAGE plpgsql AS $$
DECLARE
	v_me	uuid;
	v_moved	boolean;
BEGIN
	SELECT u.id INTO v_me FROM users u
	    WHERE u.id = p_user AND u.token_version = p_ver;
	IF v_me IS NULL THEN
		RETURN QUERY SELECT false, false, 0::bigint, false;
		RETURN;
	END IF;
	IF p_kind = 'loop' THEN
		PERFORM 1 FROM loops l
		    WHERE l.id = p_item AND (l.is_public OR l.user_id = v_me)
		    FOR KEY SHARE;
		IF NOT FOUND THEN
			RETURN QUERY SELECT true, false, 0::bigint, false;
			RETURN;
		END IF;
		IF p_on THEN
			PERFORM 1 FROM loop_counts c WHERE c.loop_id = p_item
			    FOR NO KEY UPDATE;
			INSERT INTO loop_likes (user_id, loop_id, change_seq)
			    SELECT v_me, p_item, owner_change(v_me, 0, 0, 0, 0)
			    WHERE NOT EXISTS (SELECT 1 FROM loop_likes k
				WHERE k.user_id = v_me AND k.loop_id = p_item)
			    ON CONFLICT DO NOTHING;
			IF FOUND THEN
				DELETE FROM sync_marks m WHERE m.user_id = v_me
				    AND m.topic = 'unlike' AND m.kind = 'loop'
				    AND m.item_id = p_item;
			END IF;
		ELSE
			DELETE FROM loop_likes k
			    WHERE k.user_id = v_me AND k.loop_id = p_item;
			IF FOUND THEN
				PERFORM sync_mark(v_me, 'unlike', 'loop', p_item,
				    false);
			END IF;
		END IF;
		RETURN QUERY SELECT true, true, c.likes_count::bigint, p_on
		    FROM loop_counts c WHERE c.loop_id = p_item;
	ELSIF p_kind = 'song' THEN
		PERFORM 1 FROM songs s
		    WHERE s.id = p_item AND (s.is_public OR s.user_id = v_me)
		    FOR KEY SHARE;
		IF NOT FOUND THEN
			RETURN QUERY SELECT true, false, 0::bigint, false;
			RETURN;
		END IF;
		IF p_on THEN
			PERFORM 1 FROM song_counts c WHERE c.song_id = p_item
			    FOR NO KEY UPDATE;
			INSERT INTO song_likes (user_id, song_id, change_seq)
			    SELECT v_me, p_item, owner_change(v_me, 0, 0, 0, 0)
			    WHERE NOT EXISTS (SELECT 1 FROM song_likes k
				WHERE k.user_id = v_me AND k.song_id = p_item)
			    ON CONFLICT DO NOTHING;
			IF FOUND THEN
				DELETE FROM sync_marks m WHERE m.user_id = v_me
				    AND m.topic = 'unlike' AND m.kind = 'song'
				    AND m.item_id = p_item;
			END IF;
		ELSE
			DELETE FROM song_likes k
			    WHERE k.user_id = v_me AND k.song_id = p_item;
			IF FOUND THEN
				PERFORM sync_mark(v_me, 'unlike', 'song', p_item,
				    false);
			END IF;
		END IF;
		RETURN QUERY SELECT true, true, c.likes_count::bigint, p_on
		    FROM song_counts c WHERE c.song_id = p_item;
	ELSE
		RAISE EXCEPTION 'item_like: unknown kind %', p_kind;
	END IF;
	-- Deleted between the check and here: the caller answers 404.
	IF NOT FOUND THEN
		RETURN QUERY SELECT true, false, 0::bigint, false;
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION item_play(p_kind text, p_user uuid, p_ver int,
    p_listener text, p_item uuid)
RETURNS TABLE (me_ok boolean, found boolean, plays_count bigint)
LANGUAGE plpgsql AS $$
DECLARE
	v_me	uuid;
	v_who	text;
	v_count	bigint;
BEGIN
	IF p_user IS NOT NULL THEN
		SELECT u.id INTO v_me FROM users u
		    WHERE u.id = p_user AND u.token_version = p_ver;
		IF v_me IS NULL THEN
			RETURN QUERY SELECT false, false, 0::bigint;
			RETURN;
		END IF;
		v_who := 'u:' || v_me::text;
	ELSE
		v_who := 'a:' || coalesce(p_listener, '');
	END IF;
	IF p_kind = 'loop' THEN
		PERFORM 1 FROM loops l WHERE l.id = p_item
		    AND (l.is_public OR l.user_id IS NOT DISTINCT FROM v_me);
	ELSIF p_kind = 'song' THEN
		PERFORM 1 FROM songs s WHERE s.id = p_item
		    AND (s.is_public OR s.user_id IS NOT DISTINCT FROM v_me);
	ELSE
		RAISE EXCEPTION 'item_play: unknown kind %', p_kind;
	END IF;
	IF NOT FOUND THEN
		RETURN QUERY SELECT true, false, 0::bigint;
		RETURN;
	END IF;
	INSERT INTO play_marks (item_id, listener, minute)
	    VALUES (p_item, v_who, date_trunc('minute', now()))
	    ON CONFLICT DO NOTHING;
	IF FOUND THEN
		IF p_kind = 'loop' THEN
			UPDATE loop_counts c SET plays_count = c.plays_count + 1
			    WHERE c.loop_id = p_item
			    RETURNING c.plays_count INTO v_count;
		ELSE
			UPDATE song_counts c SET plays_count = c.plays_count + 1
			    WHERE c.song_id = p_item
			    RETURNING c.plays_count INTO v_count;
		END IF;
	ELSIF p_kind = 'loop' THEN
		SELECT c.plays_count INTO v_count FROM loop_counts c
		    WHERE c.loop_id = p_item;
	ELSE
		SELECT c.plays_count INTO v_count FROM song_counts c
		    WHERE c.song_id = p_item;
	END IF;
	IF v_count IS NULL THEN
		RETURN QUERY SELECT true, false, 0::bigint;
		RETURN;
	END IF;
	RETURN QUERY SELECT true, true, v_count;
END
$$;

------------------------------------------------------------------------
-- JSON shapes (0001, 0004): the same members, the counts from the
-- counter row.
--
-- Two forms of each.  The statements that read many items or run most
-- (GET by id, the lists: db/items.c) join the counter rows themselves
-- and hand them in: loop_json(l, c, owner_name, liked) is one
-- expression, inlined into the statement like 0001's.  Every other
-- caller keeps loop_json(l, owner_name, liked), which reads the
-- counts with loop_counts_of() (plpgsql, so its plan is kept for the
-- session; a SQL function with a join or a sub-select is never inlined
-- and is planned again at every statement, which made GET by id 2.7
-- times slower).  Both shape the same members in the same order.  A
-- row made in the same statement (a create's CTE) has its counter row
-- out of the statement's sight: NULL, counts 0, which they are.
------------------------------------------------------------------------
CREATE FUNCTION loop_counts_of(p_loop uuid) RETURNS loop_counts
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	c	loop_counts;
BEGIN
	SELECT * INTO c FROM loop_counts x WHERE x.loop_id = p_loop;
	RETURN c;
END
$$;

CREATE FUNCTION song_counts_of(p_song uuid) RETURNS song_counts
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	c	song_counts;
BEGIN
	SELECT * INTO c FROM song_counts x WHERE x.song_id = p_song;
	RETURN c;
END
$$;

CREATE FUNCTION loop_json(l loops, c loop_counts, owner_name text,
    liked boolean) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object(
	    'id', l.id, 'userId', l.user_id, 'username', owner_name,
	    'name', l.name, 'bars', l.bars, 'color', l.color, 'bpm', l.bpm,
	    'chordProgression', l.chord_progression,
	    'iconSequence', l.icon_sequence,
	    'schemaVersion', l.schema_version, 'isPublic', l.is_public,
	    'parentLoopId', l.parent_loop_id,
	    'playsCount', coalesce(c.plays_count, 0),
	    'likesCount', coalesce(c.likes_count, 0),
	    'remixesCount', l.remixes_count, 'likedByMe', coalesce(liked, false),
	    'version', l.version,
	    'createdAt', api_ts(l.created_at), 'updatedAt', api_ts(l.updated_at))
$$;

CREATE OR REPLACE FUNCTION loop_json(l loops, owner_name text, liked boolean)
RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object(
	    'id', l.id, 'userId', l.user_id, 'username', owner_name,
	    'name', l.name, 'bars', l.bars, 'color', l.color, 'bpm', l.bpm,
	    'chordProgression', l.chord_progression,
	    'iconSequence', l.icon_sequence,
	    'schemaVersion', l.schema_version, 'isPublic', l.is_public,
	    'parentLoopId', l.parent_loop_id,
	    'playsCount', coalesce((loop_counts_of(l.id)).plays_count, 0),
	    'likesCount', coalesce((loop_counts_of(l.id)).likes_count, 0),
	    'remixesCount', l.remixes_count, 'likedByMe', coalesce(liked, false),
	    'version', l.version,
	    'createdAt', api_ts(l.created_at), 'updatedAt', api_ts(l.updated_at))
$$;

CREATE OR REPLACE FUNCTION song_json(s songs, owner_name text, liked boolean)
RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object(
	    'id', s.id, 'userId', s.user_id, 'username', owner_name,
	    'name', s.name, 'bpm', s.bpm, 'timeSignature', s.time_signature,
	    'timeline', s.timeline, 'totalBars', s.total_bars,
	    'schemaVersion', s.schema_version, 'isPublic', s.is_public,
	    'playsCount', coalesce((song_counts_of(s.id)).plays_count, 0),
	    'likesCount', coalesce((song_counts_of(s.id)).likes_count, 0),
	    'likedByMe', coalesce(liked, false), 'version', s.version,
	    'createdAt', api_ts(s.created_at), 'updatedAt', api_ts(s.updated_at))
$$;

CREATE FUNCTION song_view_json(s songs, c song_counts, owner_name text,
    liked boolean, viewer uuid) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object(
	    'id', s.id, 'userId', s.user_id, 'username', owner_name,
	    'name', s.name, 'bpm', s.bpm, 'timeSignature', s.time_signature,
	    'timeline', song_timeline_view(s.timeline, viewer),
	    'totalBars', s.total_bars,
	    'schemaVersion', s.schema_version, 'isPublic', s.is_public,
	    'playsCount', coalesce(c.plays_count, 0),
	    'likesCount', coalesce(c.likes_count, 0),
	    'likedByMe', coalesce(liked, false), 'version', s.version,
	    'createdAt', api_ts(s.created_at), 'updatedAt', api_ts(s.updated_at))
$$;

CREATE OR REPLACE FUNCTION song_view_json(s songs, owner_name text,
    liked boolean, viewer uuid) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object(
	    'id', s.id, 'userId', s.user_id, 'username', owner_name,
	    'name', s.name, 'bpm', s.bpm, 'timeSignature', s.time_signature,
	    'timeline', song_timeline_view(s.timeline, viewer),
	    'totalBars', s.total_bars,
	    'schemaVersion', s.schema_version, 'isPublic', s.is_public,
	    'playsCount', coalesce((song_counts_of(s.id)).plays_count, 0),
	    'likesCount', coalesce((song_counts_of(s.id)).likes_count, 0),
	    'likedByMe', coalesce(liked, false), 'version', s.version,
	    'createdAt', api_ts(s.created_at), 'updatedAt', api_ts(s.updated_at))
$$;

------------------------------------------------------------------------
-- live updates (0020): "counters" now come from the counter rows
-- (likes, plays) and from loops (remixes), each with all three counts.
------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION loops_live() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_likes	integer;
	v_plays	bigint;
BEGIN
	IF NEW.remixes_count <> OLD.remixes_count THEN
		SELECT c.likes_count, c.plays_count INTO v_likes, v_plays
		    FROM loop_counts c WHERE c.loop_id = NEW.id;
	END IF;
	PERFORM live_item_update('loop', NEW.id, NEW.user_id, OLD.is_public,
	    NEW.is_public, NEW.version <> OLD.version, NEW.version,
	    CASE WHEN NEW.remixes_count <> OLD.remixes_count
	    THEN jsonb_build_object('type', 'loop', 'id', NEW.id,
		'version', NEW.version, 'likesCount', coalesce(v_likes, 0),
		'playsCount', coalesce(v_plays, 0),
		'remixesCount', NEW.remixes_count) END);
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION songs_live() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM live_item_update('song', NEW.id, NEW.user_id, OLD.is_public,
	    NEW.is_public, NEW.version <> OLD.version, NEW.version, NULL);
	RETURN NULL;
END
$$;

-- A count moved: "counters" as loops_live sent them.  Nothing when the
-- item is gone (its delete cascading to its likes moves its count).
CREATE FUNCTION loop_counts_live() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	l	record;
BEGIN
	SELECT x.user_id, x.is_public, x.version, x.remixes_count INTO l
	    FROM loops x WHERE x.id = NEW.loop_id;
	IF FOUND THEN
		PERFORM live_item_update('loop', NEW.loop_id, l.user_id,
		    l.is_public, l.is_public, false, l.version,
		    jsonb_build_object('type', 'loop', 'id', NEW.loop_id,
		    'version', l.version, 'likesCount', NEW.likes_count,
		    'playsCount', NEW.plays_count,
		    'remixesCount', l.remixes_count));
	END IF;
	RETURN NULL;
END
$$;

CREATE FUNCTION song_counts_live() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	s	record;
BEGIN
	SELECT x.user_id, x.is_public, x.version INTO s
	    FROM songs x WHERE x.id = NEW.song_id;
	IF FOUND THEN
		PERFORM live_item_update('song', NEW.song_id, s.user_id,
		    s.is_public, s.is_public, false, s.version,
		    jsonb_build_object('type', 'song', 'id', NEW.song_id,
		    'version', s.version, 'likesCount', NEW.likes_count,
		    'playsCount', NEW.plays_count));
	END IF;
	RETURN NULL;
END
$$;

-- As 0020, the count from the counter row (moved by the *_likes_count
-- trigger, which fires first).
CREATE OR REPLACE FUNCTION likes_live() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_kind	text;
	v_item	uuid;
	v_owner	uuid;
	v_count	bigint;
BEGIN
	IF TG_TABLE_NAME = 'loop_likes' THEN
		v_kind := 'loop';
		v_item := NEW.loop_id;
		SELECT l.user_id, c.likes_count INTO v_owner, v_count
		    FROM loops l JOIN loop_counts c ON c.loop_id = l.id
		    WHERE l.id = v_item;
	ELSE
		v_kind := 'song';
		v_item := NEW.song_id;
		SELECT s.user_id, c.likes_count INTO v_owner, v_count
		    FROM songs s JOIN song_counts c ON c.song_id = s.id
		    WHERE s.id = v_item;
	END IF;
	IF v_owner IS NOT NULL AND v_owner <> NEW.user_id THEN
		PERFORM live_emit('user:' || v_owner, 'like',
		    v_kind || ':' || v_item, jsonb_build_object('type', v_kind,
		    'id', v_item, 'likesCount', v_count));
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER loops_live AFTER UPDATE ON loops
    FOR EACH ROW WHEN (OLD.version <> NEW.version
	OR OLD.is_public <> NEW.is_public
	OR OLD.remixes_count <> NEW.remixes_count)
    EXECUTE FUNCTION loops_live();
CREATE TRIGGER songs_live AFTER UPDATE ON songs
    FOR EACH ROW WHEN (OLD.version <> NEW.version
	OR OLD.is_public <> NEW.is_public)
    EXECUTE FUNCTION songs_live();
CREATE TRIGGER loop_counts_live AFTER UPDATE ON loop_counts
    FOR EACH ROW WHEN (OLD.likes_count <> NEW.likes_count
	OR OLD.plays_count <> NEW.plays_count)
    EXECUTE FUNCTION loop_counts_live();
CREATE TRIGGER song_counts_live AFTER UPDATE ON song_counts
    FOR EACH ROW WHEN (OLD.likes_count <> NEW.likes_count
	OR OLD.plays_count <> NEW.plays_count)
    EXECUTE FUNCTION song_counts_live();
