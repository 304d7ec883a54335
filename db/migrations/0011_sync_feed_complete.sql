-- 0011: the sync feed reports everything a client stores (issue 11,
-- section 2), and the caller's likes can be listed newest first.
--
-- Every entry of the feed is a row that carries one of its owner's
-- change numbers (users.change_seq, taken under the owner's row lock
-- by owner_change(), see 0001), so one snapshot of them all gives a
-- cursor that never skips a late commit.  Besides the owner's loops,
-- songs and tombstones:
--
--  - loop_likes / song_likes rows carry the change number of the like
--    (the caller's liked items, as "likes" with likedByMe true);
--  - sync_marks holds the rest, one row per (user, topic, item) at its
--    latest state: 'unlike' (an item the user stopped liking) and
--    'access' (a loop of another user that the user's songs use became
--    unavailable -- deleted or made private -- or available again).
--    Purged with the tombstones after MP_TOMBSTONE_DAYS.
--  - a remix whose parent is deleted (parent_loop_id set to NULL by
--    the foreign key) takes a new change number without a new version:
--    it comes back in the feed, and its owner's If-Match still holds.
--
-- Locks: a like takes the item's row (its counter) before the liker's
-- users row, as a delete takes the item's row before the users rows of
-- the remix and song owners it touches; the same order everywhere.

ALTER TABLE loop_likes ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE song_likes ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;

-- Existing likes get change numbers of their owners, oldest first.
LOCK TABLE users, loop_likes, song_likes IN SHARE ROW EXCLUSIVE MODE;
WITH l AS (
	SELECT 'loop' AS kind, k.user_id, k.loop_id AS item, k.created_at
	FROM loop_likes k
	UNION ALL
	SELECT 'song', k.user_id, k.song_id, k.created_at FROM song_likes k),
n AS (SELECT l.*, u.change_seq + row_number() OVER (PARTITION BY l.user_id
	ORDER BY l.created_at, l.kind, l.item) AS seq
	FROM l JOIN users u ON u.id = l.user_id),
ul AS (UPDATE loop_likes k SET change_seq = n.seq FROM n
	WHERE n.kind = 'loop' AND k.user_id = n.user_id AND k.loop_id = n.item),
us AS (UPDATE song_likes k SET change_seq = n.seq FROM n
	WHERE n.kind = 'song' AND k.user_id = n.user_id AND k.song_id = n.item),
c AS (SELECT n.user_id, count(*) AS cnt FROM n GROUP BY n.user_id)
UPDATE users u SET change_seq = u.change_seq + c.cnt FROM c
WHERE u.id = c.user_id;

-- The feed walks each user's likes by change number; GET
-- /api/users/me/likes walks them newest first.
CREATE INDEX loop_likes_user_sync ON loop_likes (user_id, change_seq);
CREATE INDEX song_likes_user_sync ON song_likes (user_id, change_seq);
CREATE INDEX loop_likes_user_new ON loop_likes (user_id, created_at DESC,
    loop_id DESC);
CREATE INDEX song_likes_user_new ON song_likes (user_id, created_at DESC,
    song_id DESC);

CREATE TABLE sync_marks (
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	change_seq	bigint NOT NULL,
	topic		text NOT NULL CHECK (topic IN ('unlike', 'access')),
	kind		text NOT NULL CHECK (kind IN ('loop', 'song')),
	item_id		uuid NOT NULL,
	available	boolean NOT NULL DEFAULT false,	-- 'access' only
	at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, change_seq),
	UNIQUE (user_id, topic, kind, item_id)
);
CREATE INDEX sync_marks_at ON sync_marks (at);

-- Set user's mark on (topic, kind, item) to its latest state, at the
-- user's next change number.  Nothing when the user is gone (being
-- deleted in this very transaction).
CREATE FUNCTION sync_mark(p_user uuid, p_topic text, p_kind text,
    p_item uuid, p_available boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	v_seq	bigint;
BEGIN
	v_seq := owner_change(p_user, 0, 0, 0, 0);
	IF v_seq IS NULL THEN
		RETURN;
	END IF;
	INSERT INTO sync_marks AS m (user_id, change_seq, topic, kind,
	    item_id, available, at)
	VALUES (p_user, v_seq, p_topic, p_kind, p_item, p_available, now())
	ON CONFLICT (user_id, topic, kind, item_id) DO UPDATE SET
	    change_seq = EXCLUDED.change_seq, available = EXCLUDED.available,
	    at = EXCLUDED.at;
END
$$;

-- Loop p_loop of p_owner became unavailable (p_available false:
-- deleted or made private) or available again (made public, or created
-- again at its id) to everyone else: mark it for each other user whose
-- songs use it, in user id order.  One GIN probe of the timelines.
CREATE FUNCTION loop_access_changed(p_loop uuid, p_owner uuid,
    p_available boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	v_user	uuid;
BEGIN
	FOR v_user IN SELECT DISTINCT s.user_id FROM songs s
	    WHERE s.timeline @> jsonb_build_array(jsonb_build_object(
		'loopId', p_loop::text))
	    AND s.user_id <> p_owner ORDER BY 1
	LOOP
		PERFORM sync_mark(v_user, 'access', 'loop', p_loop,
		    p_available);
	END LOOP;
END
$$;

-- Likes: as 0003, and a like or unlike that changed something takes
-- the caller's next change number (the like row carries it; an unlike
-- leaves an 'unlike' mark), after the item's counter moved.
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
		    WHERE l.id = p_item AND (l.is_public OR l.user_id = v_me);
		IF NOT FOUND THEN
			RETURN QUERY SELECT true, false, 0::bigint, false;
			RETURN;
		END IF;
		IF p_on THEN
			INSERT INTO loop_likes (user_id, loop_id)
			    VALUES (v_me, p_item) ON CONFLICT DO NOTHING;
		ELSE
			DELETE FROM loop_likes k
			    WHERE k.user_id = v_me AND k.loop_id = p_item;
		END IF;
		v_moved := FOUND;
		IF v_moved AND p_on THEN
			UPDATE loop_likes k
			    SET change_seq = owner_change(v_me, 0, 0, 0, 0)
			    WHERE k.user_id = v_me AND k.loop_id = p_item;
			DELETE FROM sync_marks m WHERE m.user_id = v_me
			    AND m.topic = 'unlike' AND m.kind = 'loop'
			    AND m.item_id = p_item;
		ELSIF v_moved THEN
			PERFORM sync_mark(v_me, 'unlike', 'loop', p_item, false);
		END IF;
		RETURN QUERY SELECT true, true, l.likes_count::bigint, p_on
		    FROM loops l WHERE l.id = p_item;
	ELSIF p_kind = 'song' THEN
		PERFORM 1 FROM songs s
		    WHERE s.id = p_item AND (s.is_public OR s.user_id = v_me);
		IF NOT FOUND THEN
			RETURN QUERY SELECT true, false, 0::bigint, false;
			RETURN;
		END IF;
		IF p_on THEN
			INSERT INTO song_likes (user_id, song_id)
			    VALUES (v_me, p_item) ON CONFLICT DO NOTHING;
		ELSE
			DELETE FROM song_likes k
			    WHERE k.user_id = v_me AND k.song_id = p_item;
		END IF;
		v_moved := FOUND;
		IF v_moved AND p_on THEN
			UPDATE song_likes k
			    SET change_seq = owner_change(v_me, 0, 0, 0, 0)
			    WHERE k.user_id = v_me AND k.song_id = p_item;
			DELETE FROM sync_marks m WHERE m.user_id = v_me
			    AND m.topic = 'unlike' AND m.kind = 'song'
			    AND m.item_id = p_item;
		ELSIF v_moved THEN
			PERFORM sync_mark(v_me, 'unlike', 'song', p_item, false);
		END IF;
		RETURN QUERY SELECT true, true, s.likes_count::bigint, p_on
		    FROM songs s WHERE s.id = p_item;
	ELSE
		RAISE EXCEPTION 'item_like: unknown kind %', p_kind;
	END IF;
	-- Deleted between the check and here: the caller answers 404.
	IF NOT FOUND THEN
		RETURN QUERY SELECT true, false, 0::bigint, false;
	END IF;
END
$$;

-- Content changes bump version, updated_at and the change number, as
-- in 0001.  A parent_loop_id set to NULL by the foreign key (the parent
-- was deleted) is no edit of the remix: no new version, but a new
-- change number, so the owner's sync feed brings the remix again.
CREATE OR REPLACE FUNCTION loops_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
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

-- A loop created again at the id of a deleted one (its version says
-- so, 0010) and public is available again to the songs that use it.
CREATE OR REPLACE FUNCTION loops_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
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

CREATE OR REPLACE FUNCTION loops_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	seq bigint;
BEGIN
	PERFORM item_retire('loop', OLD.id, OLD.version);
	seq := owner_change(OLD.user_id, -1, -OLD.is_public::int, 0, 0);
	IF seq IS NOT NULL THEN
		INSERT INTO tombstones (user_id, change_seq, kind, item_id)
		    VALUES (OLD.user_id, seq, 'loop', OLD.id);
	END IF;
	IF OLD.parent_loop_id IS NOT NULL THEN
		UPDATE loops SET remixes_count = remixes_count - 1
		    WHERE id = OLD.parent_loop_id AND remixes_count > 0;
	END IF;
	-- A private loop was unavailable to others already.
	IF OLD.is_public THEN
		PERFORM loop_access_changed(OLD.id, OLD.user_id, false);
	END IF;
	RETURN NULL;
END
$$;

CREATE FUNCTION loops_after_update_access() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM loop_access_changed(NEW.id, NEW.user_id, NEW.is_public);
	RETURN NULL;
END
$$;

CREATE TRIGGER loops_after_update_access AFTER UPDATE OF is_public ON loops
    FOR EACH ROW WHEN (OLD.is_public IS DISTINCT FROM NEW.is_public)
    EXECUTE FUNCTION loops_after_update_access();
