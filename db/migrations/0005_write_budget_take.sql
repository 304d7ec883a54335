-- 0005: the write budget as a gate that can share a write's implicit
-- transaction.  Sent in one pipeline before a handler's first statement
-- (no explicit BEGIN), it counts the write and RAISEs when the token is
-- stale (P0401) or the budget is spent (P0429, DETAIL = seconds until the
-- window resets).  The error aborts the rest of the pipeline, so the
-- write never happens, and the refused attempt is not counted.
CREATE FUNCTION write_budget_take(uid uuid, ver int, lim int, win int,
    OUT used int, OUT reset_s bigint)
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO write_budgets AS b (user_id, window_start, used)
	SELECT u.id, now(), 1 FROM users u
	WHERE u.id = uid AND u.token_version = ver
	ON CONFLICT (user_id) DO UPDATE SET
	    window_start = CASE WHEN b.window_start > now() - make_interval(secs => win)
		THEN b.window_start ELSE now() END,
	    used = CASE WHEN b.window_start > now() - make_interval(secs => win)
		THEN b.used + 1 ELSE 1 END
	RETURNING b.used, greatest(1, ceil(extract(epoch FROM
	    b.window_start + make_interval(secs => win) - now())))::bigint
	INTO used, reset_s;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'stale token' USING ERRCODE = 'P0401';
	END IF;
	IF used > lim THEN
		RAISE EXCEPTION 'write budget spent'
		    USING ERRCODE = 'P0429', DETAIL = reset_s::text;
	END IF;
END
$$;
