/*
 * Integration: the service behind PgBouncer in transaction mode
 * (issue 16).  deploy/dev test runs this in its pgbouncer pass, where
 * the workers' DATABASE_URL is the PgBouncer of the test stack (a pool
 * of 3 server connections for 4 workers, so their transactions really
 * share sessions); each test first checks that the traffic went
 * through it (PgBouncer's own transaction count grows).  The failures
 * reproduced: named prepared statements colliding across pooled server
 * connections (42P05 "already exists", 26000 "does not exist": 500s
 * under parallel load), the statement timeout lost with the start-up
 * "options", the purge's session lock left on a pooled connection, and
 * /ready reading any error as "schema version 0".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "t/itlib.h"

#define LOOP_BODY "{\"name\":\"Pooled\",\"bars\":4,\"iconSequence\":" \
    "[{\"bar\":0,\"row\":0,\"soundId\":\"kick\",\"pitch\":36}]}"

/* PgBouncer's admin console: its transaction count for mpapi. */
static long long
pgb_xacts(void)
{
	const char	*url = getenv("MP_TEST_PGBOUNCER_ADMIN");
	PGconn		*c;
	PGresult	*res;
	long long	 n = -1;
	int		 i;

	cr_assert_not_null(url, "MP_TEST_PGBOUNCER_ADMIN is not set");
	c = PQconnectdb(url);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "pgbouncer: %s",
	    PQerrorMessage(c));
	res = PQexec(c, "SHOW STATS");
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	for (i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 0), "mpapi") == 0)
			n = atoll(PQgetvalue(res, i, 1));
	PQclear(res);
	PQfinish(c);
	return n;
}

/* Only in the pass whose workers go through PgBouncer. */
static void
pooled_only(void)
{
	const char	*fe = getenv("MP_TEST_FRONTEND");

	if (fe == NULL || strcmp(fe, "pgbouncer") != 0)
		cr_skip_test("the workers connect directly in this pass "
		    "(deploy/dev test runs this in its pgbouncer pass)");
}

static double
now_s(void)
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static int
child_status(pid_t pid)
{
	int	 st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/*
 * One client's round: sign up, log in, read me, list loops, create a
 * loop, read /ready.  Exit status: 0 when every answer was the one
 * expected, else the number of the step that failed.
 */
static int
client_rounds(int rounds)
{
	struct it_resp	 r;
	char		 tok[1024], id[64], name[64], auth[1100], body[256];
	const char	*h[2];
	int		 i;

	for (i = 0; i < rounds; i++) {
		if (it_signup(tok, sizeof(tok), id, sizeof(id), name,
		    sizeof(name)) != 0)
			return 1;
		snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
		    "\"password\":\"correct horse battery\"}", name);
		if (it_request("POST", "/api/auth/login", NULL, body, &r) != 0)
			return 2;
		if (r.status != 200)
			return 2;
		it_resp_free(&r);
		it_bearer(auth, sizeof(auth), tok);
		h[0] = auth;
		h[1] = NULL;
		if (it_request("GET", "/api/users/me", h, NULL, &r) != 0 ||
		    r.status != 200)
			return 3;
		it_resp_free(&r);
		if (it_request("GET", "/api/loops?limit=5", NULL, NULL, &r) != 0
		    || r.status != 200)
			return 4;
		it_resp_free(&r);
		if (it_request("POST", "/api/loops", h, LOOP_BODY,
		    &r) != 0 || r.status != 201)
			return 5;
		it_resp_free(&r);
		if (it_request("GET", "/ready", NULL, NULL, &r) != 0 ||
		    r.status != 200)
			return 6;
		it_resp_free(&r);
	}
	return 0;
}

#define CLIENTS	8
#define ROUNDS	6

Test(pgbouncer, signups_logins_lists_and_ready_in_parallel_through_pgbouncer_all_succeed)
{
	static const char *step[] = { "", "signup", "login", "me", "list",
	    "create", "ready" };
	pid_t		 pid[CLIENTS];
	long long	 before, after;
	int		 i, st;

	pooled_only();
	before = pgb_xacts();
	for (i = 0; i < CLIENTS; i++) {
		if ((pid[i] = fork()) == 0)
			_exit(client_rounds(ROUNDS));
		cr_assert_gt(pid[i], 0);
	}
	for (i = 0; i < CLIENTS; i++) {
		st = child_status(pid[i]);
		cr_expect_eq(st, 0, "client %d failed at %s", i,
		    st > 0 && st < 7 ? step[st] : "?");
	}
	after = pgb_xacts();
	/* Each round is at least 6 transactions, through PgBouncer. */
	cr_assert_geq(after - before, CLIENTS * ROUNDS * 6,
	    "PgBouncer saw %lld transactions", after - before);
}

/*
 * A request whose statement waits for a lock the test holds (LOCK
 * TABLE loops): the answer it gets, and how long it took.  Exit 0 when
 * it was 503 within 4..9 s (the stack's timeout is 5 s).
 */
static pid_t
blocked_request(const char *method, const char *path,
    const char *const *h, const char *body)
{
	struct it_resp	 r;
	double		 t0, dt;
	pid_t		 pid;
	int		 ok;

	if ((pid = fork()) != 0)
		return pid;
	t0 = now_s();
	ok = it_request(method, path, h, body, &r) == 0;
	dt = now_s() - t0;
	if (!ok)
		_exit(2);
	fprintf(stderr, "%s %s: %d after %.1f s\n", method, path, r.status, dt);
	_exit(r.status == 503 && dt >= 4.0 && dt < 9.0 ? 0 : 1);
}

/* 1 once pid has exited (not reaped: child_status still reads it). */
static int
exited(pid_t pid)
{
	siginfo_t	 si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT)
	    == 0 && si.si_pid == pid;
}

/*
 * Both passes: directly the timeout is the session's, through
 * PgBouncer each transaction's (SET LOCAL); no start-up options either
 * way.
 */
Test(pgbouncer, statements_blocked_by_a_lock_are_cut_by_the_statement_timeout)
{
	char		 tok[1024], auth[1100], tok2[1024], auth2[1100], key[80];
	const char	*h[2], *hk[3];
	long long	 before, loops;
	pid_t		 read, write, keyed;
	int		 i;

	/* Two users: one user's writes queue on its budget row. */
	cr_assert_eq(it_signup(tok, sizeof(tok), NULL, 0, NULL, 0), 0);
	cr_assert_eq(it_signup(tok2, sizeof(tok2), NULL, 0, NULL, 0), 0);
	it_bearer(auth, sizeof(auth), tok);
	it_bearer(auth2, sizeof(auth2), tok2);
	h[0] = auth;
	hk[0] = auth2;
	h[1] = NULL;
	it_unique(key, sizeof(key), "Idempotency-Key: pgb");
	hk[1] = key;
	hk[2] = NULL;
	before = pgb_xacts();
	loops = it_db_count("SELECT count(*) FROM loops", 0, NULL);
	cr_assert_eq(it_db_exec("BEGIN"), 0);
	cr_assert_eq(it_db_exec("LOCK TABLE loops IN ACCESS EXCLUSIVE MODE"), 0);
	/* A read (autocommit), a keyless write (gated), a keyed write (BEGIN). */
	read = blocked_request("GET", "/api/loops", NULL, NULL);
	write = blocked_request("POST", "/api/loops", h, LOOP_BODY);
	keyed = blocked_request("POST", "/api/loops", hk, LOOP_BODY);
	/* Hold the lock until all three answered, or 12 s. */
	for (i = 0; i < 120 && !(exited(read) && exited(write) &&
	    exited(keyed)); i++)
		usleep(100 * 1000);
	cr_assert_eq(it_db_exec("COMMIT"), 0);
	cr_expect_eq(child_status(read), 0, "the read was not cut at 5 s");
	cr_expect_eq(child_status(write), 0, "the write was not cut at 5 s");
	cr_expect_eq(child_status(keyed), 0, "the keyed write was not cut");
	cr_assert_eq(it_db_count("SELECT count(*) FROM loops", 0, NULL), loops,
	    "a cut write left a loop");
	if (getenv("MP_TEST_FRONTEND") != NULL &&
	    strcmp(getenv("MP_TEST_FRONTEND"), "pgbouncer") == 0)
		cr_assert_gt(pgb_xacts(), before);
}

/* Run `mpapi purge` with this conninfo; its output in *out. */
static int
purge_with(const char *conninfo, char **out)
{
	char	 cmd[2048];
	FILE	*p;
	size_t	 n = 0, cap = 8192;
	int	 st;

	snprintf(cmd, sizeof(cmd), "env -u LSAN_OPTIONS DATABASE_URL='%s' "
	    "MP_ENV=development '%s' purge 2>&1", conninfo,
	    getenv("MP_TEST_MPAPI"));
	cr_assert_not_null(p = popen(cmd, "r"));
	*out = calloc(1, cap);
	while (n + 1 < cap && fgets(*out + n, (int)(cap - n), p) != NULL)
		n += strlen(*out + n);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
old_key(const char *key)
{
	const char	*p[1] = { key };

	cr_assert_eq(it_db_count("WITH i AS (INSERT INTO idempotency_keys "
	    "(user_id, idem_key, request_hash, response_status, "
	    "response_headers, response_body, created_at) VALUES (NULL, $1, "
	    "'\\x00', 201, '{}', '{}', now() - interval '3 days') "
	    "RETURNING 1) SELECT count(*) FROM i", 1, p), 1);
}

static long long
key_rows(const char *key)
{
	const char	*p[1] = { key };

	return it_db_count("SELECT count(*) FROM idempotency_keys "
	    "WHERE idem_key = $1", 1, p);
}

Test(pgbouncer, purges_through_pgbouncer_hold_no_lock_after_them_and_a_direct_purge_still_runs)
{
	const char	*pooled = getenv("MP_TEST_PGBOUNCER_URL");
	char		 k1[64], k2[64], *out;
	pid_t		 pid[4];
	int		 i;

	cr_assert_not_null(pooled, "MP_TEST_PGBOUNCER_URL is not set");
	it_unique(k1, sizeof(k1), "old-pooled-");
	it_unique(k2, sizeof(k2), "old-direct-");
	old_key(k1);
	/* Four at once through the pool: their batches take turns. */
	for (i = 0; i < 4; i++) {
		if ((pid[i] = fork()) == 0) {
			int rc = purge_with(pooled, &out);

			if (rc != 0)
				fprintf(stderr, "%s", out);
			_exit(rc);
		}
	}
	for (i = 0; i < 4; i++)
		cr_expect_eq(child_status(pid[i]), 0, "a pooled purge failed");
	cr_assert_eq(key_rows(k1), 0, "the pooled purges left the old key");
	/* No session anywhere holds the purge lock now. */
	cr_assert_eq(it_db_count("SELECT count(*) FROM pg_locks "
	    "WHERE locktype = 'advisory' AND objid = "
	    "(hashtextextended('mpapi purge', 0) & 4294967295)::bigint::oid",
	    0, NULL), 0);
	old_key(k2);
	cr_assert_eq(purge_with(getenv("MP_TEST_DATABASE_URL"), &out), 0,
	    "%s", out);
	cr_assert_null(strstr(out, "another purge is running"), "%s", out);
	free(out);
	cr_assert_eq(key_rows(k2), 0, "the direct purge did not run");
}

Test(pgbouncer, a_purge_that_finds_another_purges_batch_running_stops_and_says_so)
{
	char	*out;

	cr_assert_eq(it_db_exec("BEGIN"), 0);
	cr_assert_eq(it_db_exec("SELECT pg_advisory_xact_lock("
	    "hashtextextended('mpapi purge', 0))"), 0);
	cr_assert_eq(purge_with(getenv("MP_TEST_PGBOUNCER_URL"), &out), 0);
	cr_assert_eq(it_db_exec("COMMIT"), 0);
	cr_assert_not_null(strstr(out, "another purge is running"), "%s", out);
	free(out);
}

/*
 * /ready: a schema behind is 503 with both versions; a database that
 * answers with an error is 503 without them (it was read as "version
 * 0", and /ready flapped with a pooler's 26000).
 */
Test(pgbouncer, ready_tells_a_schema_behind_from_a_database_error)
{
	struct it_resp	 r;
	char		*latest;
	const char	*p[1];

	latest = it_db_text("SELECT max(version)::text FROM schema_migrations",
	    0, NULL);
	cr_assert_not_null(latest);
	p[0] = latest;
	/* Behind: the newest migration is not recorded (for a moment:
	   a copy is put back). */
	cr_assert_eq(it_db_exec("CREATE TEMP TABLE mig AS "
	    "SELECT * FROM schema_migrations"), 0);
	cr_assert_eq(it_db_count("WITH d AS (DELETE FROM schema_migrations "
	    "WHERE version = $1::int RETURNING 1) SELECT count(*) FROM d",
	    1, p), 1);
	cr_assert_eq(it_request("GET", "/ready", NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 503);
	cr_expect_eq(it_int(r.json, "schemaVersion"), it_db_count(
	    "SELECT max(version) FROM schema_migrations", 0, NULL), "%s",
	    r.body);
	cr_expect_eq(it_int(r.json, "expectedSchemaVersion"), atoi(latest));
	it_resp_free(&r);
	cr_assert_eq(it_db_exec("INSERT INTO schema_migrations "
	    "SELECT * FROM mig WHERE version NOT IN "
	    "(SELECT version FROM schema_migrations)"), 0);
	/* An error (no privilege on the table): not "version 0". */
	cr_assert_eq(it_db_exec("REVOKE SELECT ON schema_migrations "
	    "FROM CURRENT_USER"), 0);
	cr_assert_eq(it_request("GET", "/ready", NULL, NULL, &r), 0);
	cr_assert_eq(it_db_exec("GRANT SELECT ON schema_migrations "
	    "TO CURRENT_USER"), 0);
	cr_expect_eq(r.status, 503);
	cr_expect_null(it_get(r.json, "schemaVersion"),
	    "a database error read as a schema version: %s", r.body);
	cr_expect_not_null(strstr(it_str(r.json, "detail"), "error"),
	    "%s", r.body);
	it_resp_free(&r);
	cr_assert_eq(it_request("GET", "/ready", NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	free(latest);
}
