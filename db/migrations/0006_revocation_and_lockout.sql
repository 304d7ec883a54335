-- 0006: revocation and lock-out (issue 9, item 8; doc/API.md, "Auth and
-- users").
--
-- A stolen token must never stop its owner from revoking it, and no one
-- may lock an owner out of their account by guessing wrong.  So:
--  * failed password checks are counted per (scope, source) key: a login
--    per identifier and client address (with a delay that grows) under a
--    looser ceiling per identifier from every address; a password change
--    per token and per client address -- never per account alone;
--  * single tokens can be signed out (POST /api/auth/logout) through a
--    deny list checked as the gate of every authenticated request.

DROP TABLE login_failures;

-- One throttle key per row: what was guessed at (scope) and where the
-- guesses came from (source).
--   login of an identifier     'login <lower-cased identifier>'
--     from one client address    source: the address
--     from every address         source: '*'
--   password change of a user  'password <user id>'
--     with one token             source: 'token <token id>'
--   password changes of anyone 'password'
--     from one client address    source: the address
-- A row whose expires_at has passed counts nothing (`mpapi purge`
-- deletes it).  Everything of one account is found by scope alone.
CREATE TABLE auth_failures (
	scope		text NOT NULL,
	source		text NOT NULL,
	failures	integer NOT NULL,
	window_start	timestamptz NOT NULL,
	last_failure	timestamptz NOT NULL,
	expires_at	timestamptz NOT NULL,
	PRIMARY KEY (scope, source)
);

-- Tokens signed out one by one, kept until they would have expired.
-- token_id is the token's jti (or "s." and its signature for tokens
-- issued before jti existed).
CREATE TABLE revoked_tokens (
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_id	text NOT NULL,
	expires_at	timestamptz NOT NULL,
	PRIMARY KEY (user_id, token_id)
);

-- Count one password check against every key given, or refuse it
-- without counting anything when a key is spent.  Key i is
-- (scopes[i], sources[i]).  With backoff[i] it allows lim[i] failures,
-- then wants a wait of 1, 2, 4, ... seconds (at most win[i]) after each
-- further one, and forgets them all win[i] seconds after the last one.
-- Without, it allows lim[i] failures in a fixed window of win[i]
-- seconds from the first.  The rows are locked in the order given (the
-- shared key first, by every caller), so concurrent checks cannot
-- overshoot a limit.  retry_after: seconds until every key allows one
-- more.
CREATE FUNCTION auth_attempt(scopes text[], sources text[], backoff boolean[],
    lim int[], win int[], OUT allowed boolean, OUT retry_after int)
LANGUAGE plpgsql AS $$
DECLARE
	i	int;
	f	auth_failures;
	live	boolean[] := '{}';
	wait	double precision := 0;
	w	double precision;
BEGIN
	FOR i IN 1 .. array_length(scopes, 1) LOOP
		INSERT INTO auth_failures (scope, source, failures,
		    window_start, last_failure, expires_at)
		    VALUES (scopes[i], sources[i], 0, now(), now(), now())
		    ON CONFLICT (scope, source) DO NOTHING;
		SELECT * INTO f FROM auth_failures a
		    WHERE a.scope = scopes[i] AND a.source = sources[i]
		    FOR UPDATE;
		live[i] := f.expires_at > now();
		IF live[i] AND f.failures >= lim[i] THEN
			IF backoff[i] THEN
				w := extract(epoch FROM f.last_failure - now())
				    + least(power(2, least(f.failures - lim[i], 30)),
				    win[i]);
			ELSE
				w := extract(epoch FROM f.window_start - now())
				    + win[i];
			END IF;
			wait := greatest(wait, w);
		END IF;
	END LOOP;
	IF wait > 0 THEN
		allowed := false;
		retry_after := greatest(1, ceil(wait))::int;
		RETURN;
	END IF;
	FOR i IN 1 .. array_length(scopes, 1) LOOP
		UPDATE auth_failures a SET
		    failures = CASE WHEN live[i] THEN a.failures + 1 ELSE 1 END,
		    window_start = CASE WHEN live[i] THEN a.window_start
			ELSE now() END,
		    last_failure = now(),
		    expires_at = CASE WHEN backoff[i] THEN now()
			WHEN live[i] THEN a.window_start ELSE now() END
			+ make_interval(secs => win[i])
		    WHERE a.scope = scopes[i] AND a.source = sources[i];
	END LOOP;
	allowed := true;
	retry_after := 0;
END
$$;

-- A password check that auth_attempt counted turned out right: a key
-- with forget[i] loses its failures, the others give back the one
-- attempt (so successes never count towards a ceiling).
CREATE FUNCTION auth_success(scopes text[], sources text[], forget boolean[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	i	int;
BEGIN
	FOR i IN 1 .. array_length(scopes, 1) LOOP
		IF forget[i] THEN
			DELETE FROM auth_failures a
			    WHERE a.scope = scopes[i] AND a.source = sources[i];
		ELSE
			UPDATE auth_failures a
			    SET failures = greatest(a.failures - 1, 0)
			    WHERE a.scope = scopes[i] AND a.source = sources[i];
		END IF;
	END LOOP;
END
$$;

-- The gate of an authenticated request's first statement (sent in one
-- pipeline with it): RAISEs P0401 for a token signed out by
-- POST /api/auth/logout.  Stale versions are refused by the statements
-- themselves.
CREATE FUNCTION token_gate(uid uuid, tid text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM revoked_tokens r
	    WHERE r.user_id = uid AND r.token_id = tid) THEN
		RAISE EXCEPTION 'token signed out' USING ERRCODE = 'P0401';
	END IF;
	RETURN true;
END
$$;

-- The write budget's gate (0005) behind the same check.
CREATE FUNCTION write_gate(uid uuid, ver int, lim int, win int, tid text,
    OUT used int, OUT reset_s bigint)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM token_gate(uid, tid);
	SELECT t.used, t.reset_s INTO used, reset_s
	    FROM write_budget_take(uid, ver, lim, win) t;
END
$$;
