-- 0020: live updates (issue 14).  What a write changes that an open
-- page wants to hear about is written, in the write's own transaction,
-- to an outbox; `mpapi relay` takes the committed rows and publishes
-- them to nginx's nchan module, which holds the subscribers (see
-- doc/API.md, "Live updates", and cli/relay.c).
--
-- Why an outbox and not NOTIFY payloads:
--  - a rolled-back write leaves no row, so nothing is ever published
--    for it (NOTIFY is transactional too, but see the next two);
--  - a relay that is down, or an nginx that is, loses nothing: the
--    rows wait, and are published when both are back;
--  - a NOTIFY payload is capped at 8000 bytes and the queue is shared
--    by the whole cluster; a row has neither limit.
-- NOTIFY is still used, payload-less, to wake an idle relay at once.
-- It is sent only while the relay says it is idle (live_wakeup.armed):
-- a notifying transaction holds a database-wide lock from its
-- pre-commit to the end of its commit, so under load every write would
-- queue behind every other one's WAL flush; a busy relay polls the
-- outbox at its coalescing interval instead, and needs no wake-up.
--
-- The rows are made by triggers, so every path that changes an item
-- (routes, cascades, counters moved by other items' triggers) is
-- covered, and a private item's changes are routed to its owner's
-- channel here, in one place:
--  - loop:<id>, song:<id> (public items only): "counters" (likes,
--    plays, remixes moved), "changed" (a new version), "removed"
--    (deleted or made private);
--  - user:<id>: "sync" (the user's sync feed moved: users.change_seq,
--    which every feed entry takes, see 0001), "like" (another user
--    liked one of the user's items), "counters" of the user's private
--    items.

CREATE TABLE live_outbox (
	id		bigserial PRIMARY KEY,
	channel		text NOT NULL
	    CONSTRAINT live_outbox_channel_shape
	    CHECK (channel ~ '^(loop|song|user):[0-9a-f-]{36}$'),
	event		text NOT NULL
	    CONSTRAINT live_outbox_event_values
	    CHECK (event IN ('counters', 'changed', 'removed', 'sync', 'like')),
	-- What the relay coalesces on, with channel and event: of the
	-- rows of one (channel, event, item) waiting at once, only the
	-- newest is published (its data is the latest state).
	item		text NOT NULL DEFAULT '',
	data		jsonb NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- A queue: rows live for milliseconds, so vacuum it often.
ALTER TABLE live_outbox SET (autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0);

-- One row: whether a relay is waiting for a NOTIFY (see above).  Off
-- while none runs: a relay turns it on when it goes idle, off when it
-- is busy or stops.
CREATE TABLE live_wakeup (
	one		boolean PRIMARY KEY DEFAULT true CHECK (one),
	armed		boolean NOT NULL DEFAULT false
);
INSERT INTO live_wakeup DEFAULT VALUES;

-- One row: the relay's counters, for the workers' /metrics.  The relay
-- adds to them in the transaction that takes the rows it published, so
-- they survive a relay restart and count each published row once.
-- lag_buckets: how many messages were published within each bound of
-- doc/API.md's histogram (0.005 ... 10 s, then the rest), not
-- cumulative.
CREATE TABLE live_relay (
	one		boolean PRIMARY KEY DEFAULT true CHECK (one),
	published	bigint NOT NULL DEFAULT 0,
	coalesced	bigint NOT NULL DEFAULT 0,
	failed		bigint NOT NULL DEFAULT 0,
	db_reconnects	bigint NOT NULL DEFAULT 0,
	nginx_reconnects bigint NOT NULL DEFAULT 0,
	starts		bigint NOT NULL DEFAULT 0,
	lag_count	bigint NOT NULL DEFAULT 0,
	lag_sum_s	double precision NOT NULL DEFAULT 0,
	lag_buckets	bigint[] NOT NULL
	    DEFAULT '{0,0,0,0,0,0,0,0,0,0,0,0}'
	    CONSTRAINT live_relay_buckets_length
	    CHECK (cardinality(lag_buckets) = 12),
	pid		integer,
	seen_at		timestamptz,
	-- nchan's own status (nchan_stub_status), as the relay last read it.
	subscribers	bigint,
	channels	bigint,
	stored_messages	bigint
);
INSERT INTO live_relay DEFAULT VALUES;

-- Queue one message: a row, and a wake-up for an idle relay.
CREATE FUNCTION live_emit(p_channel text, p_event text, p_item text,
    p_data jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO live_outbox (channel, event, item, data)
	    VALUES (p_channel, p_event, p_item, p_data);
	IF (SELECT w.armed FROM live_wakeup w) THEN
		PERFORM pg_notify('mpapi_live', '');
	END IF;
END
$$;

-- A loop or song row changed: counters (of a public item on its own
-- channel, of a private one on its owner's), a new version ("changed"
-- on a public item's channel), or it stopped being public ("removed").
-- The owner hears of new versions through "sync" (users_live below).
-- p_counters is NULL when no counter moved.
CREATE FUNCTION live_item_update(p_kind text, p_id uuid, p_owner uuid,
    p_was_public boolean, p_is_public boolean, p_new_version boolean,
    p_version int, p_counters jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	v_chan	text := p_kind || ':' || p_id;
BEGIN
	IF p_is_public THEN
		IF p_new_version OR NOT p_was_public THEN
			PERFORM live_emit(v_chan, 'changed', p_id::text,
			    jsonb_build_object('type', p_kind, 'id', p_id,
			    'version', p_version));
		END IF;
		IF p_counters IS NOT NULL THEN
			PERFORM live_emit(v_chan, 'counters', p_id::text,
			    p_counters);
		END IF;
		RETURN;
	END IF;
	IF p_was_public THEN
		PERFORM live_emit(v_chan, 'removed', p_id::text,
		    jsonb_build_object('type', p_kind, 'id', p_id));
	END IF;
	IF p_counters IS NOT NULL THEN
		PERFORM live_emit('user:' || p_owner, 'counters', v_chan,
		    p_counters);
	END IF;
END
$$;

CREATE FUNCTION loops_live() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM live_item_update('loop', NEW.id, NEW.user_id, OLD.is_public,
	    NEW.is_public, NEW.version <> OLD.version, NEW.version,
	    CASE WHEN (NEW.likes_count, NEW.plays_count, NEW.remixes_count)
		IS DISTINCT FROM
		(OLD.likes_count, OLD.plays_count, OLD.remixes_count)
	    THEN jsonb_build_object('type', 'loop', 'id', NEW.id,
		'version', NEW.version, 'likesCount', NEW.likes_count,
		'playsCount', NEW.plays_count,
		'remixesCount', NEW.remixes_count) END);
	RETURN NULL;
END
$$;

CREATE FUNCTION songs_live() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM live_item_update('song', NEW.id, NEW.user_id, OLD.is_public,
	    NEW.is_public, NEW.version <> OLD.version, NEW.version,
	    CASE WHEN (NEW.likes_count, NEW.plays_count)
		IS DISTINCT FROM (OLD.likes_count, OLD.plays_count)
	    THEN jsonb_build_object('type', 'song', 'id', NEW.id,
		'version', NEW.version, 'likesCount', NEW.likes_count,
		'playsCount', NEW.plays_count) END);
	RETURN NULL;
END
$$;

-- A public item was deleted: "removed" on its channel.
CREATE FUNCTION items_live_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_kind	text := CASE TG_TABLE_NAME WHEN 'loops' THEN 'loop'
		    ELSE 'song' END;
BEGIN
	IF OLD.is_public THEN
		PERFORM live_emit(v_kind || ':' || OLD.id, 'removed',
		    OLD.id::text, jsonb_build_object('type', v_kind,
		    'id', OLD.id));
	END IF;
	RETURN NULL;
END
$$;

-- Another user liked one of the owner's items: "like" on the owner's
-- channel, with the count after it.  Named to fire after the
-- *_likes_count trigger (same event: triggers fire in name order), so
-- the count read here includes this like.
CREATE FUNCTION likes_live() RETURNS trigger
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
		SELECT l.user_id, l.likes_count INTO v_owner, v_count
		    FROM loops l WHERE l.id = v_item;
	ELSE
		v_kind := 'song';
		v_item := NEW.song_id;
		SELECT s.user_id, s.likes_count INTO v_owner, v_count
		    FROM songs s WHERE s.id = v_item;
	END IF;
	IF v_owner IS NOT NULL AND v_owner <> NEW.user_id THEN
		PERFORM live_emit('user:' || v_owner, 'like',
		    v_kind || ':' || v_item, jsonb_build_object('type', v_kind,
		    'id', v_item, 'likesCount', v_count));
	END IF;
	RETURN NULL;
END
$$;

-- The user's sync feed moved (every feed entry takes the owner's next
-- users.change_seq, 0001): "sync" on the user's channel.  The relay
-- turns changeSeq into the cursor a pull to the end of the feed would
-- hand out at that point.
CREATE FUNCTION users_live() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM live_emit('user:' || NEW.id, 'sync', '',
	    jsonb_build_object('changeSeq', NEW.change_seq));
	RETURN NULL;
END
$$;

-- The WHEN clauses keep updates that move nothing of the above (a new
-- change number only) from calling a function at all.
CREATE TRIGGER loops_live AFTER UPDATE ON loops
    FOR EACH ROW WHEN (OLD.version <> NEW.version
	OR OLD.is_public <> NEW.is_public
	OR OLD.likes_count <> NEW.likes_count
	OR OLD.plays_count <> NEW.plays_count
	OR OLD.remixes_count <> NEW.remixes_count)
    EXECUTE FUNCTION loops_live();
CREATE TRIGGER loops_live_delete AFTER DELETE ON loops
    FOR EACH ROW EXECUTE FUNCTION items_live_delete();
CREATE TRIGGER songs_live AFTER UPDATE ON songs
    FOR EACH ROW WHEN (OLD.version <> NEW.version
	OR OLD.is_public <> NEW.is_public
	OR OLD.likes_count <> NEW.likes_count
	OR OLD.plays_count <> NEW.plays_count)
    EXECUTE FUNCTION songs_live();
CREATE TRIGGER songs_live_delete AFTER DELETE ON songs
    FOR EACH ROW EXECUTE FUNCTION items_live_delete();
CREATE TRIGGER loop_likes_live AFTER INSERT ON loop_likes
    FOR EACH ROW EXECUTE FUNCTION likes_live();
CREATE TRIGGER song_likes_live AFTER INSERT ON song_likes
    FOR EACH ROW EXECUTE FUNCTION likes_live();
CREATE TRIGGER users_live AFTER UPDATE OF change_seq ON users
    FOR EACH ROW WHEN (NEW.change_seq > OLD.change_seq)
    EXECUTE FUNCTION users_live();
