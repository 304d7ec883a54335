/*
 * Integration: safe retries (Idempotency-Key), write budgets, nginx's
 * per-IP limits and the purge command, through nginx into the workers
 * and PostgreSQL.  The keyed writes are POST /api/loops and
 * POST /api/auth/signup, the routes a client retries most.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itlib.h"
#include "t/itfixture.h"

#define LOOP_BODY	"{\"name\":\"%s\",\"bars\":1,\"bpm\":120," \
			"\"chordProgression\":[],\"iconSequence\":[]}"

struct user {
	char	 token[1024];
	char	 id[64];
	char	 auth[1100];
};

static void
new_user(struct user *u)
{
	cr_assert_eq(itfx_user(u->token, sizeof(u->token), u->id,
	    sizeof(u->id)), 0, "cannot make a user (MP_TEST_JWT_SECRET_FILE?)");
	it_bearer(u->auth, sizeof(u->auth), u->token);
}

/* POST a loop named name as u (u NULL: anonymous), with key unless NULL. */
static void
post_loop(const struct user *u, const char *key, const char *name,
    struct it_resp *r)
{
	const char	*h[3] = { NULL, NULL, NULL };
	char		 kh[600], body[256];
	int		 n = 0;

	if (u != NULL)
		h[n++] = u->auth;
	if (key != NULL) {
		snprintf(kh, sizeof(kh), "Idempotency-Key: %s", key);
		h[n++] = kh;
	}
	snprintf(body, sizeof(body), LOOP_BODY, name);
	cr_assert_eq(it_request("POST", "/api/loops", h, body, r), 0,
	    "no response");
}

static long long
loops_of(const struct user *u)
{
	const char	*p[1] = { u->id };

	return it_db_count("SELECT count(*) FROM loops WHERE user_id = $1::uuid",
	    1, p);
}

static long long
keys_of(const struct user *u)
{
	const char	*p[1] = { u->id };

	return it_db_count("SELECT count(*) FROM idempotency_keys "
	    "WHERE user_id = $1::uuid", 1, p);
}

static void
assert_problem(const struct it_resp *r, int status, const char *type)
{
	cr_assert_eq(r->status, status, "%d %s", r->status, r->body);
	cr_assert_str_eq(it_header(r, "content-type"),
	    "application/problem+json");
	cr_assert_eq(it_int(r->json, "status"), status);
	if (type != NULL)
		cr_assert(strstr(it_str(r->json, "type"), type) != NULL,
		    "type %s, wanted %s", it_str(r->json, "type"), type);
}

Test(idempotency, a_keyed_retry_replays_the_first_answer_and_creates_nothing)
{
	struct user	 u;
	struct it_resp	 a, b;

	new_user(&u);
	post_loop(&u, "retry-1", "first", &a);
	cr_assert_eq(a.status, 201, "%s", a.body);
	cr_assert_null(it_header(&a, "idempotent-replayed"));
	cr_assert_not_null(it_header(&a, "location"));
	cr_assert_not_null(it_header(&a, "etag"));
	/* The quoted form of the same key is the same key. */
	post_loop(&u, "\"retry-1\"", "first", &b);
	cr_assert_eq(b.status, 201, "%s", b.body);
	cr_assert_str_eq(it_header(&b, "idempotent-replayed"), "true");
	cr_assert_str_eq(b.body, a.body);
	cr_assert_str_eq(it_header(&b, "location"), it_header(&a, "location"));
	cr_assert_str_eq(it_header(&b, "etag"), it_header(&a, "etag"));
	cr_assert_str_eq(it_header(&b, "content-type"), "application/json");
	cr_assert_not_null(it_header(&b, "ratelimit-remaining"));
	cr_assert_str_neq(it_header(&b, "x-request-id"),
	    it_header(&a, "x-request-id"));
	cr_assert_eq(loops_of(&u), 1);
	cr_assert_eq(keys_of(&u), 1);
	it_resp_free(&a);
	it_resp_free(&b);
}

/* 50 requests with one key at once. */
#define RACERS	50

struct racer {
	const struct user	*u;
	const char		*key;
	struct it_resp		 r;
	int			 rc;
};

static void *
racer_main(void *arg)
{
	struct racer	*x = arg;
	const char	*h[3];
	char		 kh[128], body[256];

	snprintf(kh, sizeof(kh), "Idempotency-Key: %s", x->key);
	h[0] = x->u->auth;
	h[1] = kh;
	h[2] = NULL;
	snprintf(body, sizeof(body), LOOP_BODY, "raced");
	x->rc = it_request("POST", "/api/loops", h, body, &x->r);
	return NULL;
}

Test(idempotency, fifty_concurrent_posts_with_one_key_make_exactly_one_loop,
    .timeout = 120)
{
	struct racer	*x;
	pthread_t	 t[RACERS];
	struct user	 u;
	char		 key[64];
	int		 i, tries, fresh = 0, busy = 0;

	new_user(&u);
	it_unique(key, sizeof(key), "race-");
	x = calloc(RACERS, sizeof(*x));
	for (i = 0; i < RACERS; i++) {
		x[i].u = &u;
		x[i].key = key;
		cr_assert_eq(pthread_create(&t[i], NULL, racer_main, &x[i]), 0);
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < RACERS; i++) {
		cr_assert_eq(x[i].rc, 0, "racer %d got no response", i);
		if (x[i].r.status == 409) {
			/* Still running then: 409, Retry-After: 1. */
			assert_problem(&x[i].r, 409, "idempotency-key-in-use");
			cr_assert_str_eq(it_header(&x[i].r, "retry-after"), "1");
			busy++;
			for (tries = 0; tries < 100 && x[i].r.status == 409;
			    tries++) {
				it_resp_free(&x[i].r);
				usleep(20000);
				racer_main(&x[i]);
			}
		}
		cr_assert_eq(x[i].r.status, 201, "racer %d: %d %s", i,
		    x[i].r.status, x[i].r.body);
		if (it_header(&x[i].r, "idempotent-replayed") == NULL)
			fresh++;
	}
	cr_assert_eq(fresh, 1, "%d requests ran the handler", fresh);
	for (i = 1; i < RACERS; i++)
		cr_assert_str_eq(x[i].r.body, x[0].r.body,
		    "racer %d saw another body", i);
	cr_assert_eq(loops_of(&u), 1);
	cr_assert_eq(keys_of(&u), 1);
	cr_log_info("%d of %d met the first one in flight (409)", busy,
	    RACERS);
	for (i = 0; i < RACERS; i++)
		it_resp_free(&x[i].r);
	free(x);
}

Test(idempotency, a_retry_while_the_first_runs_is_409_with_retry_after)
{
	struct user	 u;
	struct it_resp	 r;
	const char	*p[1];
	char		 lock[128];
	PGconn		*c;

	new_user(&u);
	/* Hold the key's lock as the first request would. */
	snprintf(lock, sizeof(lock), "%s:inflight-1", u.id);
	p[0] = lock;
	cr_assert_not_null(c = itfx_conn());
	cr_assert_eq(itfx_exec(c, "SELECT pg_advisory_lock("
	    "hashtextextended($1, 0))", 1, p), 0);
	post_loop(&u, "inflight-1", "x", &r);
	assert_problem(&r, 409, "idempotency-key-in-use");
	cr_assert_str_eq(it_header(&r, "retry-after"), "1");
	cr_assert_eq(loops_of(&u), 0);
	it_resp_free(&r);
	/* The first request ends.  Unlock before closing: PQfinish alone
	 * returns before the server has released the lock, and the retry
	 * could still meet it. */
	cr_assert_eq(itfx_exec(c, "SELECT pg_advisory_unlock("
	    "hashtextextended($1, 0))", 1, p), 0);
	PQfinish(c);
	post_loop(&u, "inflight-1", "x", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_eq(loops_of(&u), 1);
	it_resp_free(&r);
}

Test(idempotency, the_same_key_with_another_body_is_422_and_changes_nothing)
{
	struct user	 u;
	struct it_resp	 r;

	new_user(&u);
	post_loop(&u, "reused", "one", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	it_resp_free(&r);
	post_loop(&u, "reused", "two", &r);
	assert_problem(&r, 422, "idempotency-key-reuse");
	it_resp_free(&r);
	cr_assert_eq(loops_of(&u), 1);
	cr_assert_eq(keys_of(&u), 1);
	/* The first answer is still the one stored. */
	post_loop(&u, "reused", "one", &r);
	cr_assert_eq(r.status, 201);
	cr_assert_str_eq(it_header(&r, "idempotent-replayed"), "true");
	cr_assert_str_eq(it_str(r.json, "loop.name"), "one");
	it_resp_free(&r);
}

Test(idempotency, different_users_with_the_same_key_get_two_loops)
{
	struct user	 a, b;
	struct it_resp	 ra, rb;

	new_user(&a);
	new_user(&b);
	post_loop(&a, "shared-key", "same", &ra);
	post_loop(&b, "shared-key", "same", &rb);
	cr_assert_eq(ra.status, 201, "%s", ra.body);
	cr_assert_eq(rb.status, 201, "%s", rb.body);
	cr_assert_null(it_header(&rb, "idempotent-replayed"));
	cr_assert_str_neq(it_str(ra.json, "loop.id"), it_str(rb.json, "loop.id"));
	cr_assert_eq(loops_of(&a), 1);
	cr_assert_eq(loops_of(&b), 1);
	it_resp_free(&ra);
	it_resp_free(&rb);
}

Test(idempotency, an_invalid_key_is_400_and_nothing_is_written)
{
	struct user	 u;
	struct it_resp	 r;
	char		 longkey[300];

	new_user(&u);
	memset(longkey, 'k', 256);
	longkey[256] = '\0';
	post_loop(&u, longkey, "x", &r);
	assert_problem(&r, 400, "invalid-idempotency-key");
	it_resp_free(&r);
	post_loop(&u, "", "x", &r);
	assert_problem(&r, 400, "invalid-idempotency-key");
	it_resp_free(&r);
	post_loop(&u, "\"\"", "x", &r);
	assert_problem(&r, 400, "invalid-idempotency-key");
	it_resp_free(&r);
	post_loop(&u, "caf\xc3\xa9", "x", &r);
	cr_assert_eq(r.status, 400, "%s", r.body);
	it_resp_free(&r);
	cr_assert_eq(loops_of(&u), 0);
	cr_assert_eq(keys_of(&u), 0);
	/* 255 characters is fine. */
	longkey[255] = '\0';
	post_loop(&u, longkey, "x", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	it_resp_free(&r);
	cr_assert_eq(keys_of(&u), 1);
}

Test(idempotency, a_refused_request_is_not_stored_and_its_corrected_retry_runs)
{
	struct user	 u;
	struct it_resp	 r;
	const char	*h[3];

	new_user(&u);
	h[0] = u.auth;
	h[1] = "Idempotency-Key: fix-and-retry";
	h[2] = NULL;
	cr_assert_eq(it_request("POST", "/api/loops", h,
	    "{\"name\":\"\",\"bars\":3}", &r), 0);
	cr_assert_eq(r.status, 400, "%s", r.body);
	it_resp_free(&r);
	cr_assert_eq(keys_of(&u), 0);
	post_loop(&u, "fix-and-retry", "fixed", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_null(it_header(&r, "idempotent-replayed"));
	it_resp_free(&r);
	cr_assert_eq(loops_of(&u), 1);
}

/* Whatever happens in the test, the next one finds PostgreSQL up. */
static void
pg_back(void)
{
	(void)it_ctl("pg-start");
}

Test(idempotency, a_5xx_is_not_stored_and_the_retry_runs_again, .timeout = 120,
    .fini = pg_back)
{
	struct user	 u;
	struct it_resp	 r;
	int		 i;

	new_user(&u);
	cr_assert_eq(it_ctl("pg-stop"), 0);
	post_loop(&u, "outage", "x", &r);
	cr_assert_eq(r.status, 503, "%s", r.body);
	cr_assert_not_null(it_header(&r, "retry-after"));
	it_resp_free(&r);
	cr_assert_eq(it_ctl("pg-start"), 0);
	/* The test's own connection died with the server: reopen it. */
	for (i = 0; i < 50 && it_db_count("SELECT 1", 0, NULL) != 1; i++)
		usleep(100000);
	for (i = 0; i < 50; i++) {
		post_loop(&u, "outage", "x", &r);
		if (r.status != 503)
			break;
		it_resp_free(&r);
		usleep(100000);
	}
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_null(it_header(&r, "idempotent-replayed"));
	it_resp_free(&r);
	cr_assert_eq(loops_of(&u), 1);
}

Test(idempotency, a_revoked_token_gets_no_replay)
{
	struct user	 u;
	struct it_resp	 r;
	const char	*p[1];

	new_user(&u);
	post_loop(&u, "revoked", "x", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	it_resp_free(&r);
	p[0] = u.id;
	cr_assert_eq(it_db_count("WITH x AS (UPDATE users SET token_version = "
	    "token_version + 1 WHERE id = $1::uuid RETURNING 1) "
	    "SELECT count(*) FROM x", 1, p), 1);
	post_loop(&u, "revoked", "x", &r);
	cr_assert_eq(r.status, 401, "%s", r.body);
	cr_assert_null(it_header(&r, "idempotent-replayed"));
	it_resp_free(&r);
}

Test(idempotency, an_expired_key_is_ignored_and_replaced)
{
	struct user	 u;
	struct it_resp	 a, b;
	const char	*p[1];

	new_user(&u);
	post_loop(&u, "old-key", "x", &a);
	cr_assert_eq(a.status, 201, "%s", a.body);
	p[0] = u.id;
	cr_assert_eq(it_db_count("WITH x AS (UPDATE idempotency_keys SET "
	    "created_at = now() - interval '25 hours' WHERE user_id = $1::uuid "
	    "RETURNING 1) SELECT count(*) FROM x", 1, p), 1);
	post_loop(&u, "old-key", "x", &b);
	cr_assert_eq(b.status, 201, "%s", b.body);
	cr_assert_null(it_header(&b, "idempotent-replayed"));
	cr_assert_str_neq(it_str(a.json, "loop.id"), it_str(b.json, "loop.id"));
	cr_assert_eq(loops_of(&u), 2);
	cr_assert_eq(keys_of(&u), 1);
	cr_assert_eq(it_db_count("SELECT count(*) FROM idempotency_keys WHERE "
	    "user_id = $1::uuid AND created_at > now() - interval '1 hour'",
	    1, p), 1);
	it_resp_free(&a);
	it_resp_free(&b);
}

/*
 * The worker serving a keyed POST dies (SIGKILL) while its transaction
 * is open: the test holds the caller's users row, which the loop
 * insert needs (its trigger takes the owner's next change number), so
 * the request is caught in the middle, after the key was taken and
 * the budget counted.  Nothing of it may survive, and the retry must
 * create exactly one loop.
 */
Test(idempotency, a_worker_killed_mid_request_then_a_retry_makes_one_loop,
    .timeout = 120)
{
	struct user	 u;
	struct it_resp	 r;
	const char	*p[1];
	char		*app = NULL;
	PGconn		*c;
	pid_t		 child, worker;
	int		 i, st;

	new_user(&u);
	p[0] = u.id;
	cr_assert_not_null(c = itfx_conn());
	cr_assert_eq(itfx_exec(c, "BEGIN", 0, NULL), 0);
	cr_assert_eq(itfx_exec(c, "SELECT 1 FROM users WHERE id = $1::uuid "
	    "FOR NO KEY UPDATE", 1, p), 0);
	if ((child = fork()) == 0) {
		post_loop(&u, "killed", "x", &r);
		_exit(r.status == 0 ? 1 : 0);
	}
	cr_assert_gt(child, 0);
	/* Find the worker whose statement waits for our lock. */
	for (i = 0; i < 200 && app == NULL; i++) {
		app = it_db_text("SELECT application_name FROM pg_stat_activity "
		    "WHERE application_name LIKE 'mpapi-%' AND "
		    "wait_event_type = 'Lock' AND datname = current_database() "
		    "LIMIT 1", 0, NULL);
		if (app == NULL)
			usleep(10000);
	}
	cr_assert_not_null(app, "the request never waited for the lock");
	worker = (pid_t)atol(app + strlen("mpapi-"));
	cr_assert_gt(worker, 1);
	cr_assert_eq(kill(worker, SIGKILL), 0);
	waitpid(child, &st, 0);
	/* Let go; the orphaned backend finishes its statement, then ends. */
	cr_assert_eq(itfx_exec(c, "ROLLBACK", 0, NULL), 0);
	PQfinish(c);
	p[0] = app;
	for (i = 0; i < 500; i++) {
		if (it_db_count("SELECT count(*) FROM pg_stat_activity WHERE "
		    "application_name = $1", 1, p) == 0)
			break;
		usleep(10000);
	}
	cr_assert_lt(i, 500, "the killed worker's backend lingers");
	cr_assert_eq(loops_of(&u), 0, "the killed request left a loop");
	cr_assert_eq(keys_of(&u), 0, "the killed request left its key");
	for (i = 0; i < 100; i++) {
		post_loop(&u, "killed", "x", &r);
		if (r.status != 409 && r.status != 503)
			break;
		it_resp_free(&r);
		usleep(50000);
	}
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_null(it_header(&r, "idempotent-replayed"));
	it_resp_free(&r);
	post_loop(&u, "killed", "x", &r);
	cr_assert_str_eq(it_header(&r, "idempotent-replayed"), "true");
	it_resp_free(&r);
	cr_assert_eq(loops_of(&u), 1);
	free(app);
}

static void
signup_body(char *out, size_t sz, const char *name)
{
	snprintf(out, sz, "{\"email\":\"%s@example.com\",\"username\":\"%s\","
	    "\"password\":\"correct horse battery\"}", name, name);
}

Test(idempotency, anonymous_signup_replays_and_its_token_is_not_stored_in_clear)
{
	struct it_resp	 a, b;
	const char	*h[] = { NULL, NULL };
	char		 name[32], body[256], key[64], kh[96];
	const char	*p[1];
	char		*stored;

	it_unique(name, sizeof(name), "k");
	it_unique(key, sizeof(key), "signup-");
	snprintf(kh, sizeof(kh), "Idempotency-Key: %s", key);
	h[0] = kh;
	signup_body(body, sizeof(body), name);
	cr_assert_eq(it_request("POST", "/api/auth/signup", h, body, &a), 0);
	cr_assert_eq(a.status, 201, "%s", a.body);
	cr_assert_eq(it_request("POST", "/api/auth/signup", h, body, &b), 0);
	cr_assert_eq(b.status, 201, "%s", b.body);
	cr_assert_str_eq(it_header(&b, "idempotent-replayed"), "true");
	cr_assert_str_eq(it_str(b.json, "token"), it_str(a.json, "token"));
	p[0] = key;
	stored = it_db_text("SELECT response_body FROM idempotency_keys WHERE "
	    "user_id IS NULL AND idem_key = $1", 1, p);
	cr_assert_not_null(stored);
	cr_assert_null(strstr(stored, it_str(a.json, "token")));
	cr_assert_null(strstr(stored, name));
	free(stored);
	stored = it_db_text("SELECT encode(request_hash, 'hex') FROM "
	    "idempotency_keys WHERE user_id IS NULL AND idem_key = $1", 1, p);
	cr_assert_not_null(stored);
	cr_assert_eq(strlen(stored), 64);
	free(stored);
	/* Another body under the key: 422, and no second account. */
	it_resp_free(&b);
	it_unique(name, sizeof(name), "k");
	signup_body(body, sizeof(body), name);
	cr_assert_eq(it_request("POST", "/api/auth/signup", h, body, &b), 0);
	assert_problem(&b, 422, "idempotency-key-reuse");
	p[0] = name;
	cr_assert_eq(it_db_count("SELECT count(*) FROM users WHERE "
	    "username = $1", 1, p), 0);
	it_resp_free(&a);
	it_resp_free(&b);
}

/* Write budgets. */
static long long
header_num(const struct it_resp *r, const char *name)
{
	const char	*v = it_header(r, name);

	cr_assert_not_null(v, "no %s header", name);
	return atoll(v);
}

Test(budget, the_601st_write_in_an_hour_is_429_and_other_users_are_unaffected,
    .timeout = 600)
{
	struct user	 u, other;
	struct it_resp	 r;
	const char	*p[1];
	int		 i;

	new_user(&u);
	new_user(&other);
	for (i = 1; i <= 600; i++) {
		post_loop(&u, NULL, "budget", &r);
		cr_assert_eq(r.status, 201, "write %d: %d %s", i, r.status,
		    r.body);
		cr_assert_eq(header_num(&r, "ratelimit-limit"), 600);
		cr_assert_eq(header_num(&r, "ratelimit-remaining"), 600 - i);
		cr_assert(header_num(&r, "ratelimit-reset") >= 1 &&
		    header_num(&r, "ratelimit-reset") <= 3600);
		it_resp_free(&r);
	}
	post_loop(&u, NULL, "one too many", &r);
	assert_problem(&r, 429, "rate-limited");
	cr_assert_eq(header_num(&r, "ratelimit-limit"), 600);
	cr_assert_eq(header_num(&r, "ratelimit-remaining"), 0);
	cr_assert(header_num(&r, "retry-after") >= 1 &&
	    header_num(&r, "retry-after") <= 3600);
	cr_assert_eq(header_num(&r, "retry-after"),
	    header_num(&r, "ratelimit-reset"));
	it_resp_free(&r);
	cr_assert_eq(loops_of(&u), 600);
	/* A keyed write is refused the same way, and stores nothing. */
	post_loop(&u, "over-budget", "keyed", &r);
	assert_problem(&r, 429, "rate-limited");
	it_resp_free(&r);
	cr_assert_eq(keys_of(&u), 0);
	/* Reads still work. */
	{
		const char	*h[] = { u.auth, NULL };

		cr_assert_eq(it_request("GET", "/api/sync?limit=1", h, NULL,
		    &r), 0);
		cr_assert_eq(r.status, 200);
		it_resp_free(&r);
	}
	/* Someone else writes as usual. */
	post_loop(&other, NULL, "unaffected", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_eq(header_num(&r, "ratelimit-remaining"), 599);
	it_resp_free(&r);
	/* A new window starts once this one has ended. */
	p[0] = u.id;
	cr_assert_eq(it_db_count("WITH x AS (UPDATE write_budgets SET "
	    "window_start = now() - interval '61 minutes' WHERE user_id = "
	    "$1::uuid RETURNING 1) SELECT count(*) FROM x", 1, p), 1);
	post_loop(&u, NULL, "next hour", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_eq(header_num(&r, "ratelimit-remaining"), 599);
	it_resp_free(&r);
}

Test(budget, reads_never_write_to_the_budget)
{
	struct user	 u;
	struct it_resp	 r;
	const char	*h[2];
	const char	*p[1];

	new_user(&u);
	h[0] = u.auth;
	h[1] = NULL;
	cr_assert_eq(it_request("GET", "/api/sync", h, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_null(it_header(&r, "ratelimit-remaining"));
	it_resp_free(&r);
	p[0] = u.id;
	cr_assert_eq(it_db_count("SELECT count(*) FROM write_budgets WHERE "
	    "user_id = $1::uuid", 1, p), 0);
}

Test(budget, replays_and_refusals_do_not_spend_the_budget)
{
	struct user	 u;
	struct it_resp	 r;

	new_user(&u);
	post_loop(&u, "cheap", "x", &r);
	cr_assert_eq(header_num(&r, "ratelimit-remaining"), 599);
	it_resp_free(&r);
	post_loop(&u, "cheap", "x", &r);
	cr_assert_str_eq(it_header(&r, "idempotent-replayed"), "true");
	cr_assert_eq(header_num(&r, "ratelimit-remaining"), 599);
	it_resp_free(&r);
	post_loop(&u, "cheap", "other body", &r);
	cr_assert_eq(r.status, 422);
	cr_assert_eq(header_num(&r, "ratelimit-remaining"), 599);
	it_resp_free(&r);
	post_loop(&u, NULL, "y", &r);
	cr_assert_eq(header_num(&r, "ratelimit-remaining"), 598);
	it_resp_free(&r);
}

/* nginx's per-IP limits. */
Test(nginx_limits, an_exhausted_zone_answers_429_problem_json_not_503)
{
	struct it_resp	 r;
	const char	*probe;
	int		 i, limited = 0;

	if ((probe = getenv("MP_TEST_LIMIT_PROBE")) == NULL)
		cr_skip_test("no limit probe configured (deploy/dev test "
		    "sets MP_TEST_LIMIT_PROBE)");
	/* The probe zone allows 1/min with a burst of 2. */
	for (i = 0; i < 6; i++) {
		cr_assert_eq(it_request("GET", probe, NULL, NULL, &r), 0);
		cr_assert_neq(r.status, 503, "limit_req answered 503");
		if (r.status == 429) {
			limited++;
			assert_problem(&r, 429, "rate-limited");
			cr_assert_not_null(it_header(&r, "retry-after"));
			cr_assert_not_null(it_header(&r, "x-request-id"));
		}
		it_resp_free(&r);
	}
	cr_assert_geq(limited, 3, "only %d of 6 were limited", limited);
}

static char *
slurp(const char *path)
{
	struct buf	 b = BUF_INIT;
	char		 chunk[4096];
	size_t		 n;
	FILE		*f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_detach(&b);
}

Test(nginx_limits, the_shipped_config_limits_anonymous_and_login_traffic_with_429)
{
	char		 path[1024];
	const char	*top;
	char		*conf;

	top = getenv("top_srcdir") != NULL ? getenv("top_srcdir") : ".";
	snprintf(path, sizeof(path), "%s/deploy/nginx/mpapi.conf", top);
	cr_assert_not_null(conf = slurp(path), "cannot read %s", path);
	cr_assert_not_null(strstr(conf, "\nlimit_req_status 429;"));
	cr_assert_not_null(strstr(conf, "error_page 429 = /.mpapi-error/429;"));
	cr_assert_not_null(strstr(conf,
	    "limit_req_zone $mpapi_anon_key zone=mpapi_anon:"));
	cr_assert_not_null(strstr(conf,
	    "location ~ ^/api/auth/(login|signup|password)/?$ {\n"
	    "\t\tlimit_req zone=mpapi_login"));
	cr_assert_not_null(strstr(conf,
	    "location / {\n\t\tlimit_req zone=mpapi_anon"));
	free(conf);
}

/* mpapi purge */
Test(purge, deletes_expired_keys_and_keeps_live_ones)
{
	struct user	 u;
	struct it_resp	 r;
	const char	*p[1];

	new_user(&u);
	post_loop(&u, "will-expire", "x", &r);
	it_resp_free(&r);
	post_loop(&u, "stays", "y", &r);
	it_resp_free(&r);
	p[0] = u.id;
	cr_assert_eq(it_db_count("WITH x AS (UPDATE idempotency_keys SET "
	    "created_at = now() - interval '2 days' WHERE user_id = $1::uuid "
	    "AND idem_key = 'will-expire' RETURNING 1) SELECT count(*) FROM x",
	    1, p), 1);
	cr_assert_eq(it_ctl("purge"), 0, "deploy/dev purge failed");
	cr_assert_eq(it_db_count("SELECT count(*) FROM idempotency_keys "
	    "WHERE user_id = $1::uuid AND idem_key = 'will-expire'", 1, p), 0);
	cr_assert_eq(it_db_count("SELECT count(*) FROM idempotency_keys "
	    "WHERE user_id = $1::uuid AND idem_key = 'stays'", 1, p), 1);
	cr_assert_eq(it_db_count("SELECT count(*) FROM idempotency_keys "
	    "WHERE created_at <= now() - interval '24 hours'", 0, NULL), 0);
}

/* The RateLimit-Remaining of a POST /api/loops with body, and its status. */
static long
remaining_after_post(const char *bearer, const char *body, int *status)
{
	const char *h[] = { bearer, NULL };
	struct it_resp r;
	const char *rem;
	long v = -1;

	cr_assert_eq(it_request("POST", "/api/loops", h, body, &r), 0);
	*status = r.status;
	if ((rem = it_header(&r, "ratelimit-remaining")) != NULL)
		v = atol(rem);
	it_resp_free(&r);
	return v;
}

Test(budget, a_write_refused_before_the_database_spends_nothing)
{
	char token[1024], id[64], bearer[1100];
	const char *good = "{\"name\":\"gate\",\"bars\":4}";
	long first, last;
	int status;

	cr_assert_eq(it_signup(token, sizeof(token), id, sizeof(id), NULL, 0), 0);
	it_bearer(bearer, sizeof(bearer), token);
	first = remaining_after_post(bearer, good, &status);
	cr_assert_eq(status, 201);
	cr_assert_geq(first, 0);
	(void)remaining_after_post(bearer, "{\"name\":\"\",\"bars\":3}", &status);
	cr_assert_eq(status, 400);
	last = remaining_after_post(bearer, good, &status);
	cr_assert_eq(status, 201);
	cr_assert_eq(last, first - 1, "a 400 spent budget: %ld then %ld",
	    first, last);
}

Test(purge, deletes_login_failure_counters_whose_window_has_passed)
{
	char old[64], fresh[64];
	const char *p1[1] = { old }, *p2[1] = { fresh };
	const char *ins = "INSERT INTO auth_failures (scope, source, failures, "
	    "window_start, last_failure, expires_at) "
	    "VALUES ($1, '*', 3, now() - $2::interval, now() - $2::interval, "
	    "now() - $2::interval + interval '15 minutes')";
	const char *pa[2], *pb[2];

	it_unique(old, sizeof(old), "login old@");
	it_unique(fresh, sizeof(fresh), "login fresh@");
	pa[0] = old;
	pa[1] = "2 days";
	pb[0] = fresh;
	pb[1] = "1 second";
	free(it_db_text(ins, 2, pa));
	free(it_db_text(ins, 2, pb));
	cr_assert_eq(it_ctl("purge"), 0);
	cr_assert_eq(it_db_count("SELECT count(*) FROM auth_failures "
	    "WHERE scope = $1", 1, p1), 0);
	cr_assert_eq(it_db_count("SELECT count(*) FROM auth_failures "
	    "WHERE scope = $1", 1, p2), 1);
}
