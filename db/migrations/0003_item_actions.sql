-- 0003: likes and plays of loops and songs as one function call each,
-- so a like or a play is one round trip that also answers with the
-- exact counter after the change (each statement inside a function
-- sees the effects of the ones before it, which one SQL statement with
-- data-modifying CTEs would not).
--
-- Both take the kind ('loop' or 'song'), the caller as the token says
-- (user id and token version; the check that the account still
-- accepts the token is folded in here), and the item id.  An item is
-- visible when it is public or the caller's own; an invisible item
-- answers found = false exactly like a missing one.

CREATE FUNCTION item_like(p_kind text, p_user uuid, p_ver int, p_item uuid,
    p_on boolean)
RETURNS TABLE (me_ok boolean, found boolean, likes_count bigint,
    liked boolean)
LANGUAGE plpgsql AS $$
DECLARE
	v_me	uuid;
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

-- One counted play per listener (the user id, or the client address
-- for anonymous callers) per item per calendar minute.  p_user NULL
-- means anonymous; p_listener is then the address.
CREATE FUNCTION item_play(p_kind text, p_user uuid, p_ver int,
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
			UPDATE loops l SET plays_count = l.plays_count + 1
			    WHERE l.id = p_item RETURNING l.plays_count INTO v_count;
		ELSE
			UPDATE songs s SET plays_count = s.plays_count + 1
			    WHERE s.id = p_item RETURNING s.plays_count INTO v_count;
		END IF;
	ELSIF p_kind = 'loop' THEN
		SELECT l.plays_count INTO v_count FROM loops l WHERE l.id = p_item;
	ELSE
		SELECT s.plays_count INTO v_count FROM songs s WHERE s.id = p_item;
	END IF;
	IF v_count IS NULL THEN
		RETURN QUERY SELECT true, false, 0::bigint;
		RETURN;
	END IF;
	RETURN QUERY SELECT true, true, v_count;
END
$$;

-- No parallel scans of items.  A list statement (db/items.c) carries a
-- branch that runs only for rare filter values; planned as a parallel
-- scan, its Gather launched two worker processes on every call even
-- when the branch was skipped (about 8 ms each time).  An API serving
-- many small requests gains nothing from parallel query on 2 cores.
ALTER TABLE loops SET (parallel_workers = 0);
ALTER TABLE songs SET (parallel_workers = 0);
