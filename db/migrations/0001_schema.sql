-- 0001: the whole schema the contract needs.
--
-- Invariants the database can keep, it keeps: ranges are CHECKs, names
-- are unique case-insensitively, counters move in the same transaction
-- as the rows they count (triggers), and every change to a loop or song
-- takes a per-owner sequence number under the owner's row lock, so the
-- sync feed sees changes in commit order (see doc/API.md, "Sync").

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- RFC 3339 UTC with milliseconds, the one timestamp format of the API.
CREATE FUNCTION api_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

------------------------------------------------------------------------
-- users
------------------------------------------------------------------------
CREATE TABLE users (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	email			text NOT NULL
	    CONSTRAINT users_email_shape CHECK (char_length(email) <= 255
		AND email ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@[:space:][:cntrl:]]+$'),
	username		text NOT NULL
	    CONSTRAINT users_username_shape CHECK (username ~ '^[A-Za-z0-9_.-]{3,30}$'),
	password_hash		text NOT NULL
	    CONSTRAINT users_password_hash_shape CHECK (password_hash ~ '^\$(argon2id|2[aby])\$'),
	display_name		text
	    CONSTRAINT users_display_name_length CHECK (char_length(display_name) BETWEEN 1 AND 50),
	avatar_url		text
	    CONSTRAINT users_avatar_url_shape CHECK (char_length(avatar_url) <= 2048
		AND avatar_url ~ '^https?://[^[:space:][:cntrl:]]+$'),
	-- Tokens carry this number ("ver"); a password change bumps it,
	-- which refuses every token issued before.
	token_version		integer NOT NULL DEFAULT 1,
	-- Sync feed: the last sequence number handed to one of this
	-- user's changes, and the highest one whose tombstone was purged.
	change_seq		bigint NOT NULL DEFAULT 0,
	sync_floor		bigint NOT NULL DEFAULT 0,
	loops_count		integer NOT NULL DEFAULT 0 CHECK (loops_count >= 0),
	public_loops_count	integer NOT NULL DEFAULT 0 CHECK (public_loops_count >= 0),
	songs_count		integer NOT NULL DEFAULT 0 CHECK (songs_count >= 0),
	public_songs_count	integer NOT NULL DEFAULT 0 CHECK (public_songs_count >= 0),
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- Failed logins per account identifier (lower-cased email or username,
-- whether or not such an account exists, so the answers for known and
-- unknown accounts are the same).
CREATE TABLE login_failures (
	account		text PRIMARY KEY,
	failures	integer NOT NULL,
	window_start	timestamptz NOT NULL
);

CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END
$$;

CREATE TRIGGER users_updated_at BEFORE UPDATE OF email, username,
    password_hash, display_name, avatar_url ON users
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Take the owner's next change number and apply counter deltas in one
-- row update.  The row lock it takes is held to commit, so one owner's
-- changes commit in sequence order.  NULL when the owner is gone (the
-- row is being deleted in this very transaction).
CREATE FUNCTION owner_change(owner uuid, d_loops int, d_public_loops int,
    d_songs int, d_public_songs int) RETURNS bigint
LANGUAGE sql AS $$
	UPDATE users SET change_seq = change_seq + 1,
	    loops_count = loops_count + d_loops,
	    public_loops_count = public_loops_count + d_public_loops,
	    songs_count = songs_count + d_songs,
	    public_songs_count = public_songs_count + d_public_songs
	WHERE id = owner
	RETURNING change_seq
$$;

------------------------------------------------------------------------
-- loops
------------------------------------------------------------------------

-- Element checks behind the C validator: a backstop, not the first line.
CREATE FUNCTION loop_chords_ok(cp jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT jsonb_typeof(cp) = 'array' AND jsonb_array_length(cp) <= 64
	    AND NOT jsonb_path_exists(cp, 'strict $[*] ? (@.type() != "object")')
	    AND NOT jsonb_path_exists(cp, 'lax $[*] ? (!(
		@.type() == "object" &&
		exists(@.bar) && @.bar.type() == "number" &&
		@.bar >= 0 && @.bar <= 15 && @.bar == @.bar.floor() &&
		exists(@.chord) && @.chord.type() == "string" &&
		@.chord like_regex "^.{1,20}$" flag "s"))')
$$;

CREATE FUNCTION loop_steps_ok(seq jsonb, bars int) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT jsonb_typeof(seq) = 'array' AND jsonb_array_length(seq) <= 1024
	    AND NOT jsonb_path_exists(seq, 'strict $[*] ? (@.type() != "object")')
	    AND NOT jsonb_path_exists(seq, 'lax $[*] ? (!(
		@.type() == "object" &&
		exists(@.bar) && @.bar.type() == "number" &&
		@.bar >= 0 && @.bar <= $maxbar && @.bar == @.bar.floor() &&
		exists(@.row) && @.row.type() == "number" &&
		@.row >= 0 && @.row <= 3 && @.row == @.row.floor() &&
		exists(@.soundId) && @.soundId.type() == "string" &&
		@.soundId like_regex "^.{1,64}$" flag "s" &&
		exists(@.velocity) && @.velocity.type() == "number" &&
		@.velocity >= 0 && @.velocity <= 1 &&
		exists(@.pitch) && @.pitch.type() == "number" &&
		@.pitch >= 0 && @.pitch <= 127 && @.pitch == @.pitch.floor() &&
		exists(@.duration16) && @.duration16.type() == "number" &&
		@.duration16 >= 1 && @.duration16 <= 64 &&
		@.duration16 == @.duration16.floor()))',
	    jsonb_build_object('maxbar', greatest(63, bars * 16 - 1)))
$$;

CREATE TABLE loops (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id			uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name			text NOT NULL
	    CONSTRAINT loops_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
	bars			smallint NOT NULL
	    CONSTRAINT loops_bars_values CHECK (bars IN (1, 2, 4, 8)),
	color			text NOT NULL DEFAULT '#FFD11A'
	    CONSTRAINT loops_color_hex CHECK (color ~ '^#[0-9A-Fa-f]{6}$'),
	bpm			smallint NOT NULL DEFAULT 120
	    CONSTRAINT loops_bpm_range CHECK (bpm BETWEEN 40 AND 300),
	chord_progression	jsonb NOT NULL DEFAULT '[]'
	    CONSTRAINT loops_chord_progression_ok CHECK (loop_chords_ok(chord_progression)),
	icon_sequence		jsonb NOT NULL DEFAULT '[]'
	    CONSTRAINT loops_icon_sequence_ok CHECK (loop_steps_ok(icon_sequence, bars)),
	schema_version		integer NOT NULL DEFAULT 1
	    CONSTRAINT loops_schema_version_range CHECK (schema_version BETWEEN 1 AND 1000000),
	is_public		boolean NOT NULL DEFAULT false,
	parent_loop_id		uuid REFERENCES loops (id) ON DELETE SET NULL,
	plays_count		bigint NOT NULL DEFAULT 0 CHECK (plays_count >= 0),
	likes_count		integer NOT NULL DEFAULT 0 CHECK (likes_count >= 0),
	remixes_count		integer NOT NULL DEFAULT 0 CHECK (remixes_count >= 0),
	version			integer NOT NULL DEFAULT 1,
	change_seq		bigint NOT NULL DEFAULT 0,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);

-- Keyset paging: one index per public sort order, ending in id.
CREATE INDEX loops_public_new ON loops (created_at DESC, id DESC) WHERE is_public;
CREATE INDEX loops_public_top ON loops (likes_count DESC, id DESC) WHERE is_public;
CREATE INDEX loops_public_popular ON loops (plays_count DESC, id DESC) WHERE is_public;
CREATE INDEX loops_public_updated ON loops (updated_at DESC, id DESC) WHERE is_public;
CREATE INDEX loops_user_new ON loops (user_id, created_at DESC, id DESC);
CREATE INDEX loops_parent_new ON loops (parent_loop_id, created_at DESC, id DESC)
    WHERE parent_loop_id IS NOT NULL;
CREATE INDEX loops_user_sync ON loops (user_id, change_seq);
-- Containment filters (?chord=, ?sound=) and name search (?q=).
CREATE INDEX loops_chord_progression_gin ON loops USING gin (chord_progression jsonb_path_ops);
CREATE INDEX loops_icon_sequence_gin ON loops USING gin (icon_sequence jsonb_path_ops);
CREATE INDEX loops_name_trgm ON loops USING gin (name gin_trgm_ops);

CREATE TABLE loop_likes (
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	loop_id		uuid NOT NULL REFERENCES loops (id) ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, loop_id)
);
CREATE INDEX loop_likes_loop ON loop_likes (loop_id);

------------------------------------------------------------------------
-- songs
------------------------------------------------------------------------
CREATE FUNCTION song_timeline_ok(tl jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT jsonb_typeof(tl) = 'array' AND jsonb_array_length(tl) <= 512
	    AND NOT jsonb_path_exists(tl, 'strict $[*] ? (@.type() != "object")')
	    AND NOT jsonb_path_exists(tl, 'lax $[*] ? (!(
		@.type() == "object" &&
		exists(@.id) && @.id.type() == "string" &&
		@.id like_regex "^.{1,64}$" flag "s" &&
		exists(@.loopId) && @.loopId.type() == "string" &&
		@.loopId like_regex "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$" &&
		exists(@.startBar) && @.startBar.type() == "number" &&
		@.startBar >= 0 && @.startBar == @.startBar.floor() &&
		exists(@.bars) && @.bars.type() == "number" &&
		@.bars >= 1 && @.bars == @.bars.floor() &&
		@.startBar + @.bars <= 4096))')
$$;

CREATE TABLE songs (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id			uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name			text NOT NULL
	    CONSTRAINT songs_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
	bpm			smallint NOT NULL
	    CONSTRAINT songs_bpm_range CHECK (bpm BETWEEN 40 AND 300),
	time_signature		text NOT NULL DEFAULT '4/4'
	    CONSTRAINT songs_time_signature_values CHECK (time_signature IN ('4/4', '3/4')),
	timeline		jsonb NOT NULL DEFAULT '[]'
	    CONSTRAINT songs_timeline_ok CHECK (song_timeline_ok(timeline)),
	total_bars		integer NOT NULL DEFAULT 0
	    CONSTRAINT songs_total_bars_range CHECK (total_bars BETWEEN 0 AND 4096),
	schema_version		integer NOT NULL DEFAULT 1
	    CONSTRAINT songs_schema_version_range CHECK (schema_version BETWEEN 1 AND 1000000),
	is_public		boolean NOT NULL DEFAULT false,
	plays_count		bigint NOT NULL DEFAULT 0 CHECK (plays_count >= 0),
	likes_count		integer NOT NULL DEFAULT 0 CHECK (likes_count >= 0),
	version			integer NOT NULL DEFAULT 1,
	change_seq		bigint NOT NULL DEFAULT 0,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX songs_public_new ON songs (created_at DESC, id DESC) WHERE is_public;
CREATE INDEX songs_public_top ON songs (likes_count DESC, id DESC) WHERE is_public;
CREATE INDEX songs_public_popular ON songs (plays_count DESC, id DESC) WHERE is_public;
CREATE INDEX songs_public_updated ON songs (updated_at DESC, id DESC) WHERE is_public;
CREATE INDEX songs_user_new ON songs (user_id, created_at DESC, id DESC);
CREATE INDEX songs_user_sync ON songs (user_id, change_seq);
CREATE INDEX songs_timeline_gin ON songs USING gin (timeline jsonb_path_ops);

CREATE TABLE song_likes (
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	song_id		uuid NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, song_id)
);
CREATE INDEX song_likes_song ON song_likes (song_id);

-- One counted play per listener (user id, or client address when
-- anonymous) per item per minute.  Unlogged: after a crash it is
-- empty, which at worst counts one extra play.
CREATE UNLOGGED TABLE play_marks (
	item_id		uuid NOT NULL,
	listener	text NOT NULL,
	minute		timestamptz NOT NULL,
	PRIMARY KEY (item_id, listener, minute)
);
CREATE INDEX play_marks_minute ON play_marks (minute);

------------------------------------------------------------------------
-- sync tombstones
------------------------------------------------------------------------
CREATE TABLE tombstones (
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	change_seq	bigint NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('loop', 'song')),
	item_id		uuid NOT NULL,
	deleted_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, change_seq)
);
CREATE INDEX tombstones_deleted_at ON tombstones (deleted_at);

------------------------------------------------------------------------
-- idempotency keys and write budgets
------------------------------------------------------------------------
CREATE TABLE idempotency_keys (
	-- The caller's id; NULL for anonymous POSTs (signup, login),
	-- whose keys share one scope and rely on the body fingerprint.
	user_id			uuid REFERENCES users (id) ON DELETE CASCADE,
	idem_key		text NOT NULL
	    CONSTRAINT idempotency_keys_key_shape CHECK (idem_key ~ '^[\x20-\x7e]{1,255}$'),
	request_hash		bytea NOT NULL,
	response_status		smallint NOT NULL,
	response_headers	jsonb NOT NULL DEFAULT '{}',
	response_body		text NOT NULL DEFAULT '',
	created_at		timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX idempotency_keys_scope
    ON idempotency_keys (coalesce(user_id, '00000000-0000-0000-0000-000000000000'::uuid), idem_key);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Fixed-window write counters, one row per user.  Unlogged: a crash
-- forgets the counts, which only ever errs toward serving.
CREATE UNLOGGED TABLE write_budgets (
	user_id		uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	window_start	timestamptz NOT NULL,
	used		integer NOT NULL
);

------------------------------------------------------------------------
-- triggers: versions, change numbers, tombstones, counters
------------------------------------------------------------------------
CREATE FUNCTION loops_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.version := 1;
	NEW.plays_count := 0;
	NEW.likes_count := 0;
	NEW.remixes_count := 0;
	NEW.change_seq := owner_change(NEW.user_id, 1, NEW.is_public::int, 0, 0);
	RETURN NEW;
END
$$;

CREATE FUNCTION loops_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.parent_loop_id IS NOT NULL THEN
		UPDATE loops SET remixes_count = remixes_count + 1
		    WHERE id = NEW.parent_loop_id;
	END IF;
	RETURN NULL;
END
$$;

-- Content changes bump version, updated_at and the change number;
-- counter updates (likes, plays, remixes by others) change none of
-- them, so they never fail an owner's conditional edit.
CREATE FUNCTION loops_before_update() RETURNS trigger
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
		NEW.change_seq := OLD.change_seq;
	END IF;
	NEW.created_at := OLD.created_at;
	NEW.user_id := OLD.user_id;
	RETURN NEW;
END
$$;

CREATE FUNCTION loops_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	seq bigint;
BEGIN
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

CREATE TRIGGER loops_before_insert BEFORE INSERT ON loops
    FOR EACH ROW EXECUTE FUNCTION loops_before_insert();
CREATE TRIGGER loops_after_insert AFTER INSERT ON loops
    FOR EACH ROW EXECUTE FUNCTION loops_after_insert();
CREATE TRIGGER loops_before_update BEFORE UPDATE ON loops
    FOR EACH ROW EXECUTE FUNCTION loops_before_update();
CREATE TRIGGER loops_after_delete AFTER DELETE ON loops
    FOR EACH ROW EXECUTE FUNCTION loops_after_delete();

CREATE FUNCTION loop_likes_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		UPDATE loops SET likes_count = likes_count + 1 WHERE id = NEW.loop_id;
	ELSE
		UPDATE loops SET likes_count = likes_count - 1
		    WHERE id = OLD.loop_id AND likes_count > 0;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER loop_likes_count AFTER INSERT OR DELETE ON loop_likes
    FOR EACH ROW EXECUTE FUNCTION loop_likes_count();

CREATE FUNCTION songs_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.version := 1;
	NEW.plays_count := 0;
	NEW.likes_count := 0;
	NEW.change_seq := owner_change(NEW.user_id, 0, 0, 1, NEW.is_public::int);
	RETURN NEW;
END
$$;

CREATE FUNCTION songs_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
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

CREATE FUNCTION songs_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	seq bigint;
BEGIN
	seq := owner_change(OLD.user_id, 0, 0, -1, -OLD.is_public::int);
	IF seq IS NOT NULL THEN
		INSERT INTO tombstones (user_id, change_seq, kind, item_id)
		    VALUES (OLD.user_id, seq, 'song', OLD.id);
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER songs_before_insert BEFORE INSERT ON songs
    FOR EACH ROW EXECUTE FUNCTION songs_before_insert();
CREATE TRIGGER songs_before_update BEFORE UPDATE ON songs
    FOR EACH ROW EXECUTE FUNCTION songs_before_update();
CREATE TRIGGER songs_after_delete AFTER DELETE ON songs
    FOR EACH ROW EXECUTE FUNCTION songs_after_delete();

CREATE FUNCTION song_likes_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		UPDATE songs SET likes_count = likes_count + 1 WHERE id = NEW.song_id;
	ELSE
		UPDATE songs SET likes_count = likes_count - 1
		    WHERE id = OLD.song_id AND likes_count > 0;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER song_likes_count AFTER INSERT OR DELETE ON song_likes
    FOR EACH ROW EXECUTE FUNCTION song_likes_count();

------------------------------------------------------------------------
-- JSON shapes, built where the data is (one round trip per read)
------------------------------------------------------------------------
CREATE FUNCTION loop_json(l loops, owner_name text, liked boolean) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object(
	    'id', l.id, 'userId', l.user_id, 'username', owner_name,
	    'name', l.name, 'bars', l.bars, 'color', l.color, 'bpm', l.bpm,
	    'chordProgression', l.chord_progression,
	    'iconSequence', l.icon_sequence,
	    'schemaVersion', l.schema_version, 'isPublic', l.is_public,
	    'parentLoopId', l.parent_loop_id,
	    'playsCount', l.plays_count, 'likesCount', l.likes_count,
	    'remixesCount', l.remixes_count, 'likedByMe', coalesce(liked, false),
	    'version', l.version,
	    'createdAt', api_ts(l.created_at), 'updatedAt', api_ts(l.updated_at))
$$;

CREATE FUNCTION song_json(s songs, owner_name text, liked boolean) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object(
	    'id', s.id, 'userId', s.user_id, 'username', owner_name,
	    'name', s.name, 'bpm', s.bpm, 'timeSignature', s.time_signature,
	    'timeline', s.timeline, 'totalBars', s.total_bars,
	    'schemaVersion', s.schema_version, 'isPublic', s.is_public,
	    'playsCount', s.plays_count, 'likesCount', s.likes_count,
	    'likedByMe', coalesce(liked, false), 'version', s.version,
	    'createdAt', api_ts(s.created_at), 'updatedAt', api_ts(s.updated_at))
$$;

CREATE FUNCTION user_json(u users) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object(
	    'id', u.id, 'email', u.email, 'username', u.username,
	    'displayName', coalesce(u.display_name, u.username),
	    'avatarUrl', u.avatar_url, 'createdAt', api_ts(u.created_at))
$$;

CREATE FUNCTION user_public_json(u users) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object(
	    'id', u.id, 'username', u.username,
	    'displayName', coalesce(u.display_name, u.username),
	    'avatarUrl', u.avatar_url, 'createdAt', api_ts(u.created_at),
	    'loopsCount', u.public_loops_count, 'songsCount', u.public_songs_count)
$$;
