-- 0012: a write refused by validation spends no budget (issue 11,
-- section 3).  A keyless write takes its budget as a gate on its first
-- statement (0005), which commits with that statement; when the
-- handler then refuses the request (400: a merge patch whose result is
-- invalid, a song naming a loop it may not use), the count is given
-- back.  So that the refund can only ever undo its own count, the gate
-- also returns the window the count went into, and the refund touches
-- that window only.

CREATE FUNCTION write_budget_gate(uid uuid, ver int, lim int, win int,
    OUT used int, OUT reset_s bigint, OUT window_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
	v_start	timestamptz;
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
	    b.window_start + make_interval(secs => win) - now())))::bigint,
	    b.window_start
	INTO used, reset_s, v_start;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'stale token' USING ERRCODE = 'P0401';
	END IF;
	IF used > lim THEN
		RAISE EXCEPTION 'write budget spent'
		    USING ERRCODE = 'P0429', DETAIL = reset_s::text;
	END IF;
	window_us := (extract(epoch FROM v_start) * 1000000)::bigint;
END
$$;

-- Give back one write counted in the window that started at window_us
-- (as write_budget_gate returned it); nothing once that window is over.
CREATE FUNCTION write_budget_refund(uid uuid, window_us bigint)
RETURNS void
LANGUAGE sql AS $$
	UPDATE write_budgets b SET used = b.used - 1
	WHERE b.user_id = uid AND b.used > 0
	    AND (extract(epoch FROM b.window_start) * 1000000)::bigint = window_us
$$;

-- The gate of 0006 (a signed-out token first, then the budget) with
-- the window the count went into.
CREATE FUNCTION write_gate_at(uid uuid, ver int, lim int, win int, tid text,
    OUT used int, OUT reset_s bigint, OUT window_us bigint)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM token_gate(uid, tid);
	SELECT g.used, g.reset_s, g.window_us INTO used, reset_s, window_us
	    FROM write_budget_gate(uid, ver, lim, win) g;
END
$$;
