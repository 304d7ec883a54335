/*
 * Integration: an acknowledged write survives a PostgreSQL crash.
 *
 * Several clients create loops through nginx with POST /api/loops, each
 * request under an Idempotency-Key of its own; a request that gets no
 * answer or a 5xx is sent again with the same key until it is answered
 * 201.  Under that load PostgreSQL is crashed (pg_ctl -m immediate:
 * every server process killed, nothing flushed on the way out), left
 * down a moment, and started again (crash recovery).  Afterwards every
 * id answered 201 must exist, and each client owns exactly the loops
 * it was answered (a retried key made one loop, never two).
 *
 * The test instance runs with fsync off for speed; this test turns the
 * cluster durable first (ALTER SYSTEM: fsync, full_page_writes and
 * synchronous_commit on, then a reload) and gives it back its own
 * settings after.  With MP_TEST_CRASH_SYNCHRONOUS_COMMIT=off it runs
 * against synchronous_commit=off instead, where a commit is answered
 * before its WAL is written: it then fails, which shows that it can.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itlib.h"
#include "t/itfixture.h"

#define CLIENTS		6
#define MAX_ACKED	2000	/* per client; the write budget is 600 */
#define ROUNDS		2	/* crashes per run */
#define BEFORE_CRASH	120	/* acknowledged creates before each crash */
#define AFTER_START	60	/* and after each start, before the next */

struct client {
	pthread_t	 thread;
	char		 token[1024];
	char		 id[64];
	char		 auth[1100];
	char		*acked[MAX_ACKED];	/* ids answered 201 */
	int		 nacked;
	int		 unavailable;		/* 5xx or no answer */
	int		 other;			/* any other status */
	char		 other_body[256];
};

static struct client	 clients[CLIENTS];
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static int		 stop_load;

static int
acked_total(void)
{
	int	 i, n = 0;

	pthread_mutex_lock(&mu);
	for (i = 0; i < CLIENTS; i++)
		n += clients[i].nacked;
	pthread_mutex_unlock(&mu);
	return n;
}

static int
unavailable_total(void)
{
	int	 i, n = 0;

	pthread_mutex_lock(&mu);
	for (i = 0; i < CLIENTS; i++)
		n += clients[i].unavailable;
	pthread_mutex_unlock(&mu);
	return n;
}

static int
stopping(void)
{
	int	 s;

	pthread_mutex_lock(&mu);
	s = stop_load;
	pthread_mutex_unlock(&mu);
	return s;
}

/*
 * One client: create, create, create...  A key is sent until it is
 * answered 201 (a retry after an outage may be a replay of a create
 * that committed), even once the load is told to stop, so that every
 * create that may have committed ends with an answer.
 */
static void *
client_main(void *arg)
{
	struct client	*c = arg;
	struct it_resp	 r;
	const char	*h[3];
	char		 key[64], kh[100], body[200];
	int		 n, tries, again;

	h[0] = c->auth;
	h[1] = kh;
	h[2] = NULL;
	for (n = 0; n < MAX_ACKED && !stopping(); n++) {
		it_unique(key, sizeof(key), "crash-");
		snprintf(kh, sizeof(kh), "Idempotency-Key: %s", key);
		snprintf(body, sizeof(body), "{\"name\":\"crash %d\",\"bars\":1,"
		    "\"bpm\":120,\"chordProgression\":[],\"iconSequence\":[]}",
		    n);
		for (tries = 0; tries < 600; tries++) {
			if (it_request("POST", "/api/loops", h, body, &r) != 0) {
				pthread_mutex_lock(&mu);
				c->unavailable++;
				pthread_mutex_unlock(&mu);
				usleep(50 * 1000);
				continue;
			}
			if (r.status == 201 && it_str(r.json, "loop.id") != NULL) {
				pthread_mutex_lock(&mu);
				c->acked[c->nacked++] = xstrdup(it_str(r.json,
				    "loop.id"));
				pthread_mutex_unlock(&mu);
				it_resp_free(&r);
				break;
			}
			/* 409: the key is still held by a request in hand. */
			again = r.status >= 500 || r.status == 409;
			pthread_mutex_lock(&mu);
			if (again)
				c->unavailable++;
			else if (c->other++ == 0)
				snprintf(c->other_body, sizeof(c->other_body),
				    "%d %s", r.status, r.body);
			pthread_mutex_unlock(&mu);
			it_resp_free(&r);
			if (!again)
				return NULL;
			usleep(50 * 1000);
		}
	}
	return NULL;
}

/* Wait (at most timeout_s) until at least n creates were answered. */
static int
wait_acked(int n, int timeout_s)
{
	time_t	 end = time(NULL) + timeout_s;

	while (acked_total() < n) {
		if (time(NULL) > end)
			return -1;
		usleep(20 * 1000);
	}
	return 0;
}

/* The test's own connection died with the server: reopen it. */
static void
db_back(void)
{
	int	 i;

	for (i = 0; i < 100 && it_db_count("SELECT 1", 0, NULL) != 1; i++)
		usleep(100 * 1000);
}

static const char *
sync_commit_wanted(void)
{
	const char	*v = getenv("MP_TEST_CRASH_SYNCHRONOUS_COMMIT");

	return v != NULL && strcmp(v, "off") == 0 ? "off" : "on";
}

static void
durable_on(void)
{
	char	 verb[64];

	cr_assert_eq(it_ctl("pg-set fsync on"), 0);
	cr_assert_eq(it_ctl("pg-set full_page_writes on"), 0);
	snprintf(verb, sizeof(verb), "pg-set synchronous_commit %s",
	    sync_commit_wanted());
	cr_assert_eq(it_ctl(verb), 0);
}

/* Whatever happened, PostgreSQL is up again with the instance's settings. */
static void
durable_off(void)
{
	(void)it_ctl("pg-start");
	(void)it_ctl("pg-reset fsync");
	(void)it_ctl("pg-reset full_page_writes");
	(void)it_ctl("pg-reset synchronous_commit");
}

static void
expect_setting(const char *name, const char *want)
{
	const char	*p[1] = { name };
	char		*v;
	int		 i;

	/* A reload reaches the backends at their next command. */
	for (i = 0; i < 50; i++) {
		v = it_db_text("SELECT current_setting($1)", 1, p);
		if (v != NULL && strcmp(v, want) == 0)
			break;
		free(v);
		v = NULL;
		usleep(100 * 1000);
	}
	cr_assert_not_null(v, "%s is not %s", name, want);
	free(v);
}

Test(crash, every_create_answered_201_survives_a_postgres_crash_under_load,
    .init = durable_on, .fini = durable_off, .timeout = 300)
{
	struct buf	 ids = BUF_INIT;
	const char	*p[2];
	long long	 found, owned;
	int		 i, j, round, acked, outage;

	expect_setting("fsync", "on");
	expect_setting("full_page_writes", "on");
	expect_setting("synchronous_commit", sync_commit_wanted());
	for (i = 0; i < CLIENTS; i++) {
		cr_assert_eq(itfx_user(clients[i].token,
		    sizeof(clients[i].token), clients[i].id,
		    sizeof(clients[i].id)), 0, "cannot make a user");
		it_bearer(clients[i].auth, sizeof(clients[i].auth),
		    clients[i].token);
	}
	for (i = 0; i < CLIENTS; i++)
		cr_assert_eq(pthread_create(&clients[i].thread, NULL,
		    client_main, &clients[i]), 0);

	for (round = 0; round < ROUNDS; round++) {
		cr_assert_eq(wait_acked(acked_total() + BEFORE_CRASH, 120), 0,
		    "the load stalled before crash %d", round + 1);
		outage = unavailable_total();
		cr_assert_eq(it_ctl("pg-crash"), 0);
		usleep(300 * 1000);
		cr_assert_eq(it_ctl("pg-start"), 0, "PostgreSQL did not "
		    "come back after crash %d", round + 1);
		cr_assert_eq(wait_acked(acked_total() + AFTER_START, 120), 0,
		    "no create was answered after crash %d", round + 1);
		cr_assert_gt(unavailable_total(), outage, "crash %d was not "
		    "seen by the load (no 503 while PostgreSQL was down)",
		    round + 1);
	}
	pthread_mutex_lock(&mu);
	stop_load = 1;
	pthread_mutex_unlock(&mu);
	for (i = 0; i < CLIENTS; i++)
		pthread_join(clients[i].thread, NULL);

	db_back();
	acked = 0;
	for (i = 0; i < CLIENTS; i++) {
		struct client	*c = &clients[i];

		cr_assert_eq(c->other, 0, "client %d: %s", i, c->other_body);
		buf_reset(&ids);
		buf_putc(&ids, '{');
		for (j = 0; j < c->nacked; j++)
			buf_printf(&ids, "%s%s", j ? "," : "", c->acked[j]);
		buf_putc(&ids, '}');
		p[0] = ids.data;
		p[1] = c->id;
		found = it_db_count("SELECT count(*) FROM loops "
		    "WHERE id = ANY ($1::uuid[])", 1, p);
		if (found != c->nacked) {
			char	*lost;

			lost = it_db_text("SELECT string_agg(a::text, ' ') "
			    "FROM unnest($1::uuid[]) a WHERE NOT EXISTS "
			    "(SELECT 1 FROM loops WHERE id = a)", 1, p);
			cr_assert_fail("client %d: %lld of %d loops answered 201 "
			    "exist after the crashes; lost: %s", i, found,
			    c->nacked, lost ? lost : "?");
		}
		owned = it_db_count("SELECT count(*) FROM loops "
		    "WHERE user_id = $1::uuid", 1, p + 1);
		cr_assert_eq(owned, c->nacked, "client %d owns %lld loops "
		    "but was answered %d", i, owned, c->nacked);
		acked += c->nacked;
		for (j = 0; j < c->nacked; j++)
			free(c->acked[j]);
	}
	buf_release(&ids);
	cr_log_info("%d creates answered 201 across %d crashes, all there",
	    acked, ROUNDS);
}
