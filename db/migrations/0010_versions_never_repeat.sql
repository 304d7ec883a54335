-- 0010: a version never repeats for an id (issue 11, section 1).
--
-- A loop or song deleted and created again at the same id (PUT with
-- If-None-Match: *) used to start again at version 1, so a stale
-- client's If-Match: "v1" matched content it never saw.  Every delete
-- now records the highest version the id had, and a create at that id
-- continues after it.  The record outlives the tombstone (tombstones
-- are purged after MP_TOMBSTONE_DAYS, a stale copy can be older) and
-- the owner (another account may create at a free id), so it has no
-- foreign key and is never purged: one small row per deleted id.
--
-- Ids deleted before this migration left no record of their versions;
-- those start again at 1 once, as before.

CREATE TABLE retired_items (
	kind		text NOT NULL CHECK (kind IN ('loop', 'song')),
	item_id		uuid NOT NULL,
	version		integer NOT NULL,
	PRIMARY KEY (kind, item_id)
);

-- Remember that OLD's id had version OLD.version (or more).
CREATE FUNCTION item_retire(p_kind text, p_id uuid, p_version int)
RETURNS void
LANGUAGE sql AS $$
	INSERT INTO retired_items AS r (kind, item_id, version)
	VALUES (p_kind, p_id, p_version)
	ON CONFLICT (kind, item_id)
	    DO UPDATE SET version = greatest(r.version, EXCLUDED.version)
$$;

-- The first version of an item created at id: 1, or one more than
-- the highest version an earlier item at that id had.  One primary-key
-- probe; a server-minted id finds nothing.
CREATE FUNCTION item_first_version(p_kind text, p_id uuid) RETURNS integer
LANGUAGE sql STABLE AS $$
	SELECT 1 + coalesce((SELECT r.version FROM retired_items r
	    WHERE r.kind = p_kind AND r.item_id = p_id), 0)
$$;

CREATE OR REPLACE FUNCTION loops_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.version := item_first_version('loop', NEW.id);
	NEW.plays_count := 0;
	NEW.likes_count := 0;
	NEW.remixes_count := 0;
	NEW.change_seq := owner_change(NEW.user_id, 1, NEW.is_public::int, 0, 0);
	RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION songs_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.version := item_first_version('song', NEW.id);
	NEW.plays_count := 0;
	NEW.likes_count := 0;
	NEW.change_seq := owner_change(NEW.user_id, 0, 0, 1, NEW.is_public::int);
	RETURN NEW;
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
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION songs_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	seq bigint;
BEGIN
	PERFORM item_retire('song', OLD.id, OLD.version);
	seq := owner_change(OLD.user_id, 0, 0, -1, -OLD.is_public::int);
	IF seq IS NOT NULL THEN
		INSERT INTO tombstones (user_id, change_seq, kind, item_id)
		    VALUES (OLD.user_id, seq, 'song', OLD.id);
	END IF;
	RETURN NULL;
END
$$;
