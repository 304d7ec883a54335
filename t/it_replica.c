/*
 * Integration: the read replica (issue 16).  deploy/dev's test stack
 * runs a streaming standby of its PostgreSQL (pg_basebackup -R); these
 * tests point the workers at it (`read-via replica`) and back at the
 * end.  Where a read was served is told by /metrics: the counters
 * mpapi_replica_reads_total and mpapi_replica_fallbacks_total{reason}
 * add up every worker's counts, which each worker adds to PostgreSQL
 * at most once a second after its requests (or a second into its
 * idleness): a count is read once settled (metric_settled), and a count
 * moved by a read is waited for (metric_reaches).  The test stack's MP_READ_MAX_LAG_MS is
 * ten minutes, so a replica paused for the length of a test is within
 * the threshold and serves anonymous reads stale: that is the rule
 * asserted (past the threshold they would go to the primary, reason
 * "lag").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include <criterion/criterion.h>

#include "t/itfixture.h"

/* The value of one metric line ("name" or "name{labels}"), or -1. */
static long long
metric(const char *series)
{
	struct it_resp	 r;
	const char	*p;
	size_t		 n = strlen(series);
	long long	 v = -1;

	cr_assert_eq(it_request("GET", "/metrics", NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	for (p = r.body; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			v = atoll(p + n + 1);
			break;
		}
	}
	it_resp_free(&r);
	cr_assert_geq(v, 0, "no metric %s", series);
	return v;
}

/*
 * How long a worker may keep a count before it is in /metrics: its
 * flush period (RC_FLUSH_MS) plus its idle accept timeout, with room.
 */
#define SETTLE_MS	2500

/* The value of series once every worker's counts are in. */
static long long
metric_settled(const char *series)
{
	usleep(SETTLE_MS * 1000);
	return metric(series);
}

/*
 * Wait (up to twice SETTLE_MS) for series to reach want; then it must
 * be want exactly, no more.
 */
static void
metric_reaches(const char *series, long long want)
{
	long long	 v = metric(series);
	int		 i;

	for (i = 0; i < 2 * SETTLE_MS / 100 && v < want; i++) {
		usleep(100 * 1000);
		v = metric(series);
	}
	if (v == want) {		/* nothing more on its way */
		usleep(SETTLE_MS * 1000);
		v = metric(series);
	}
	cr_assert_eq(v, want, "%s is %lld, not %lld", series, v, want);
}

#define READS	"mpapi_replica_reads_total"
#define DOWN	"mpapi_replica_fallbacks_total{reason=\"down\"}"
#define LAG	"mpapi_replica_fallbacks_total{reason=\"lag\"}"
#define BEHIND	"mpapi_replica_fallbacks_total{reason=\"behind\"}"

static void
wait_ready(void)
{
	struct it_resp	 r;
	int		 i, st = 0;

	for (i = 0; i < 100 && st != 200; i++) {
		if (it_request("GET", "/ready", NULL, NULL, &r) == 0) {
			st = r.status;
			it_resp_free(&r);
		}
		if (st != 200)
			usleep(100 * 1000);
	}
	cr_assert_eq(st, 200, "/ready after switching the workers");
}

static void
setup(void)
{
	if (getenv("MP_TEST_CTL") == NULL)
		cr_skip_test("needs deploy/dev's stack control (MP_TEST_CTL)");
	cr_assert_eq(it_ctl("replica-start"), 0);
	cr_assert_eq(it_ctl("replica-resume"), 0);
	cr_assert_eq(it_ctl("read-via replica"), 0);
	wait_ready();
}

static void
teardown(void)
{
	if (getenv("MP_TEST_CTL") == NULL)
		return;
	(void)it_ctl("replica-start");
	(void)it_ctl("replica-resume");
	(void)it_ctl("read-via primary");
	wait_ready();
}

TestSuite(replica, .init = setup, .fini = teardown);

/*
 * Create a public loop as u, with an Idempotency-Key when keyed (its
 * commit reads the position in its own round trip): its id, and the
 * X-Read-After it came with.
 */
static void
create_loop(const struct itfx_user *u, int keyed, char *id, size_t idsz,
    char *lsn, size_t lsnsz)
{
	struct it_resp	 r;
	char		 name[64], key[96];
	const char	*h, *extra[2] = { key, NULL };
	char		 hi[16], lo[16], end;

	it_unique(name, sizeof(name), "replica");
	snprintf(key, sizeof(key), "Idempotency-Key: %s", name);
	itfx_req("POST", "/api/loops", u, keyed ? extra : NULL,
	    itfx_loop_body(name, 1), &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(id, idsz, "%s", it_str(r.json, "loop.id"));
	h = it_header(&r, "x-read-after");
	cr_assert_not_null(h, "a write's answer carries X-Read-After");
	cr_assert_eq(sscanf(h, "%9[0-9A-F]/%9[0-9A-F]%c", hi, lo, &end), 2,
	    "X-Read-After: %s", h);
	cr_assert(strlen(hi) <= 8 && strlen(lo) <= 8, "X-Read-After: %s", h);
	snprintf(lsn, lsnsz, "X-Read-After: %s", h);
	it_resp_free(&r);
}

static void
create(const struct itfx_user *u, char *id, size_t idsz, char *lsn,
    size_t lsnsz)
{
	create_loop(u, 0, id, idsz, lsn, lsnsz);
}

/* GET path as u (NULL: anonymous) with one extra header line or none. */
static void
get(const char *path, const struct itfx_user *u, const char *line,
    struct it_resp *r)
{
	const char	*extra[2] = { line, NULL };

	itfx_req("GET", path, u, line != NULL ? extra : NULL, NULL, r);
}

Test(replica, a_read_that_carries_its_writes_position_sees_the_write)
{
	struct itfx_user u;
	struct it_resp	 r;
	char		 id[64], lsn[64], path[128];
	long long	 served;

	itfx_db_user(&u);
	create(&u, id, sizeof(id), lsn, sizeof(lsn));
	served = metric_settled(READS) + metric(BEHIND);
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	get(path, &u, lsn, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "loop.id"), id);
	it_resp_free(&r);
	/* The replica once it has replayed it, else the primary. */
	usleep(SETTLE_MS * 1000);
	cr_assert_eq(metric(READS) + metric(BEHIND), served + 1);
}

Test(replica, with_replay_paused_a_read_after_a_keyed_write_goes_to_the_primary_and_anonymous_reads_are_stale)
{
	struct itfx_user u;
	struct it_resp	 r;
	char		 id[64], lsn[64], path[128], list[160];
	long long	 reads, behind, lag;
	int		 i;

	itfx_db_user(&u);
	cr_assert_eq(it_ctl("replica-pause"), 0);
	create_loop(&u, 1, id, sizeof(id), lsn, sizeof(lsn));
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	snprintf(list, sizeof(list), "/api/loops?user=%s", u.username);

	behind = metric_settled(BEHIND);
	reads = metric(READS);
	lag = metric(LAG);
	get(path, &u, lsn, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "loop.id"), id);
	it_resp_free(&r);
	/* Not replayed within MP_READ_AFTER_WAIT_MS: the primary. */
	metric_reaches(BEHIND, behind + 1);

	/* Anonymous: the replica, within the lag threshold, stale. */
	get(list, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strstr(r.body, id) == NULL, "a paused replica has not "
	    "replayed the new loop: %s", r.body);
	it_resp_free(&r);
	get(path, NULL, NULL, &r);
	cr_assert_eq(r.status, 404, "%s", r.body);
	it_resp_free(&r);
	metric_reaches(READS, reads + 2);
	cr_assert_eq(metric(LAG), lag);

	cr_assert_eq(it_ctl("replica-resume"), 0);
	for (i = 0; i < 100; i++) {
		get(list, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		if (strstr(r.body, id) != NULL) {
			it_resp_free(&r);
			break;
		}
		it_resp_free(&r);
		usleep(100 * 1000);
	}
	cr_assert_lt(i, 100, "the resumed replica never showed the loop");
}

Test(replica, with_the_replica_down_reads_go_to_the_primary_and_come_back_after)
{
	struct itfx_user u;
	struct it_resp	 r;
	char		 id[64], lsn[64], list[160];
	long long	 down, reads;
	int		 i;

	itfx_db_user(&u);
	create(&u, id, sizeof(id), lsn, sizeof(lsn));
	snprintf(list, sizeof(list), "/api/loops?user=%s", u.username);
	cr_assert_eq(it_ctl("replica-stop"), 0);
	down = metric_settled(DOWN);
	get(list, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strstr(r.body, id) != NULL, "the primary has it: %s",
	    r.body);
	it_resp_free(&r);
	for (i = 0; i < 2 * SETTLE_MS / 100 && metric(DOWN) < down + 1; i++)
		usleep(100 * 1000);
	cr_assert_geq(metric(DOWN), down + 1);

	cr_assert_eq(it_ctl("replica-start"), 0);
	/* Reconnected after its back-off (a second): served by it again. */
	reads = metric(READS);
	for (i = 0; i < 100 && metric(READS) == reads; i++) {
		get(list, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		it_resp_free(&r);
		if (metric(READS) == reads)
			usleep(100 * 1000);
	}
	cr_assert_gt(metric(READS), reads, "reads never went back to the "
	    "replica");
}

/*
 * The lag threshold: with the workers restarted on an
 * MP_READ_MAX_LAG_MS of 300 ms (it_ctl passes this process's
 * environment on to deploy/dev; the next test's setup restarts them on
 * the stack's own), a replica whose replay has been paused for longer
 * with WAL waiting is not read from: an anonymous read goes to the
 * primary, counted "lag", and sees what the replica has not replayed.
 */
Test(replica, a_replica_lagging_past_the_threshold_is_not_read_from)
{
	struct itfx_user u;
	struct it_resp	 r;
	char		 id[64], lsn[64], path[128];
	long long	 lag, reads;

	cr_assert_eq(setenv("MP_READ_MAX_LAG_MS", "300", 1), 0);
	cr_assert_eq(it_ctl("read-via replica"), 0);
	wait_ready();
	itfx_db_user(&u);
	cr_assert_eq(it_ctl("replica-pause"), 0);
	create(&u, id, sizeof(id), lsn, sizeof(lsn));
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	lag = metric_settled(LAG);	/* also waits past the threshold */
	reads = metric(READS);
	get(path, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "the primary has it: %s", r.body);
	cr_assert_str_eq(it_str(r.json, "loop.id"), id);
	it_resp_free(&r);
	metric_reaches(LAG, lag + 1);
	cr_assert_eq(metric(READS), reads, "not served by the replica");
	cr_assert_eq(unsetenv("MP_READ_MAX_LAG_MS"), 0);
}

/* A count the replica's SQL gives (deploy/dev replica-query), or -1. */
static long long
replica_count(const char *sql)
{
	char		 verb[512];
	char		*out;
	long long	 v = -1;

	snprintf(verb, sizeof(verb), "replica-query \"%s\"", sql);
	if ((out = it_ctl_output(verb)) != NULL && *out >= '0' && *out <= '9')
		v = atoll(out);
	free(out);
	return v;
}

/* Poll (up to 10 s) until the replica's count sql is at least 1. */
static int
replica_shows(const char *sql)
{
	int	 i;

	for (i = 0; i < 100; i++) {
		if (replica_count(sql) > 0)
			return 1;
		usleep(100 * 1000);
	}
	return 0;
}

/*
 * A read in flight on the replica when the replica goes down is run
 * again on the primary: 200, counted as a fallback (down), never a
 * 503.  The read is held on the replica by a lock the primary takes (an
 * ACCESS EXCLUSIVE lock is replayed on the standby, where it blocks the
 * table's readers) until the replica has been stopped under it; the
 * primary's rerun waits for the same lock, released after.
 */
Test(replica, a_read_in_flight_when_the_replica_goes_down_is_answered_by_the_primary)
{
	struct itfx_user u;
	struct it_resp	 r;
	char		 id[64], lsn[64], path[128];
	long long	 down, reads;
	pid_t		 child;
	int		 st, i;

	itfx_db_user(&u);
	create(&u, id, sizeof(id), lsn, sizeof(lsn));
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	for (i = 0; i < 100; i++) {	/* the replica has the loop */
		get(path, NULL, NULL, &r);
		st = r.status;
		it_resp_free(&r);
		if (st == 200)
			break;
		usleep(100 * 1000);
	}
	cr_assert_eq(st, 200, "the replica never showed the loop");
	down = metric_settled(DOWN);
	reads = metric(READS);

	cr_assert_eq(it_db_exec("BEGIN"), 0);
	cr_assert_eq(it_db_exec("LOCK TABLE loops IN ACCESS EXCLUSIVE MODE"),
	    0);
	cr_assert(replica_shows("SELECT count(*) FROM pg_locks WHERE "
	    "relation = 'loops'::regclass AND mode = 'AccessExclusiveLock' "
	    "AND granted"), "the lock never reached the replica");
	if ((child = fork()) == 0) {
		int ok = it_request("GET", path, NULL, NULL, &r) == 0 &&
		    r.status == 200;
		_exit(ok ? 0 : 1);
	}
	cr_assert_gt(child, 0);
	cr_assert(replica_shows("SELECT count(*) FROM pg_stat_activity "
	    "WHERE backend_type = 'client backend' AND "
	    "wait_event_type = 'Lock'"), "the read never waited on the "
	    "replica");
	cr_assert_eq(it_ctl("replica-stop"), 0);
	usleep(300 * 1000);		/* the rerun waits on the primary */
	cr_assert_eq(it_db_exec("COMMIT"), 0);
	cr_assert_eq(waitpid(child, &st, 0), child);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "the read in flight was not answered 200");
	metric_reaches(DOWN, down + 1);
	cr_assert_eq(metric(READS), reads, "counted as served by the replica");
}

Test(replica, a_malformed_read_after_is_a_400_and_writes_nothing)
{
	static const char *const bad[] = {
		"X-Read-After: ", "X-Read-After: 0/", "X-Read-After: /0",
		"X-Read-After: 123456789/0", "X-Read-After: 0/0 x",
		"X-Read-After: g/0", "X-Read-After: 0/0/0",
		"X-Read-After: -1/0", NULL
	};
	struct itfx_user u;
	struct it_resp	 r;
	const char	*extra[2] = { NULL, NULL };
	size_t		 i;

	itfx_db_user(&u);
	for (i = 0; bad[i] != NULL; i++) {
		extra[0] = bad[i];
		itfx_req("POST", "/api/loops", &u, extra,
		    itfx_loop_body("Never", 1), &r);
		itfx_assert_problem(&r, 400, "bad-request", NULL);
		it_resp_free(&r);
		itfx_req("GET", "/api/loops", NULL, extra, NULL, &r);
		itfx_assert_problem(&r, 400, "bad-request", NULL);
		it_resp_free(&r);
	}
	cr_assert_eq(itfx_loops_of(&u), 0);
	/* Well-formed, in either letter case: accepted. */
	extra[0] = "X-Read-After: 0/a0";
	itfx_req("GET", "/api/loops", NULL, extra, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
}
