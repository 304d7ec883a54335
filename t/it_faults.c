/*
 * Integration: faults, scripted and short (issue 17).  A mixed load --
 * keyed creates, edits, likes and reads, from several clients at once
 * -- runs through nginx while something breaks: PostgreSQL is killed
 * (pg_ctl -m immediate), workers are SIGKILLed at random, nginx is
 * reloaded, the supervisor is sent SIGHUP.  Then the answers the load
 * got are judged (only the statuses each fault allows), and the
 * database is counted: every acknowledged write is there, no keyed
 * retry made two, every counter equals the rows it counts.  Also: a
 * statement that runs into statement_timeout, and slow clients that
 * must not take workers from the others.
 *
 * it_crash.c proves acknowledged creates durable with fsync on; this
 * file is about what the clients see and the invariants, under the
 * test instance's own settings.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itlib.h"
#include "t/itfixture.h"

TestSuite(faults, .timeout = 240);

#define CLIENTS		4
#define MAX_ACKED	3000

/* What the answers may be during a fault. */
#define ALLOW_503	0x1	/* 503 problem+json with Retry-After */
#define ALLOW_REFUSED	0x2	/* no answer at all */
#define ALLOW_502	0x4	/* nginx: the worker went away mid-request */
#define ALLOW_409	0x8	/* a keyed retry while the first is in hand */

struct client {
	pthread_t	 thread;
	char		 token[1024], id[64], auth[1100];
	char		 own[64];		/* the loop it edits */
	char		*acked[MAX_ACKED];	/* creates answered 201 */
	int		 nacked;
	int		 patches;		/* edits answered 200 */
	int		 ok, s503, refused, s502, s409, bad;
	char		 bad_what[300];
	double		 late_ms;		/* slowest answer started after `back` */
	int		 late_not_ok;		/* non-2xx started 1 s after `back` */
	char		 late_what[200];
};

static struct client	 clients[CLIENTS];
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static int		 stop_load;
static unsigned		 allowed;
static double		 back_at;	/* when the fault ended; 0: not yet */
static char		 hot[64];	/* the loop everybody likes and reads */

static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
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
 * Send and judge one request.  Returns the status (0: no answer); the
 * caller frees r when the status is not 0.
 */
static int
judged(struct client *c, const char *method, const char *path,
    const char *key, const char *body, struct it_resp *r)
{
	const char	*h[3] = { c->auth, NULL, NULL };
	char		 kh[120];
	double		 t0, t1, back;
	int		 st, rc, fine, err;

	if (key != NULL) {
		snprintf(kh, sizeof(kh), "Idempotency-Key: %s", key);
		h[1] = kh;
	}
	pthread_mutex_lock(&mu);
	back = back_at;
	pthread_mutex_unlock(&mu);
	t0 = now_ms();
	errno = 0;
	rc = it_request(method, path, h, body, r);
	err = errno;
	t1 = now_ms();
	st = rc == 0 ? r->status : 0;
	pthread_mutex_lock(&mu);
	if (back_at == 0)
		back = 0;	/* a fault began while it was on its way */
	if (st >= 200 && st < 300) {
		c->ok++;
		fine = 1;
	} else if (st == 0) {
		c->refused++;
		fine = (allowed & ALLOW_REFUSED) != 0;
	} else if (st == 503) {
		c->s503++;
		fine = (allowed & ALLOW_503) && it_header(r, "retry-after") &&
		    it_header(r, "content-type") && strcmp(it_header(r,
		    "content-type"), "application/problem+json") == 0;
	} else if (st == 502) {
		c->s502++;
		fine = (allowed & ALLOW_502) != 0;
	} else if (st == 409 && key != NULL) {
		c->s409++;
		fine = (allowed & ALLOW_409) != 0;
	} else
		fine = 0;
	if (!fine && c->bad++ == 0)
		snprintf(c->bad_what, sizeof(c->bad_what), "%s %s: %d %.200s "
		    "(%s, after %.0f ms)", method, path, st,
		    st ? r->body : "(no answer)", strerror(err), t1 - t0);
	if (back > 0 && t0 >= back) {
		if (t1 - t0 > c->late_ms)
			c->late_ms = t1 - t0;
		if (t0 >= back + 1000 && !(st >= 200 && st < 300) &&
		    c->late_not_ok++ == 0)
			snprintf(c->late_what, sizeof(c->late_what),
			    "%s %s: %d", method, path, st);
	}
	pthread_mutex_unlock(&mu);
	if (rc != 0)
		memset(r, 0, sizeof(*r));
	return st;
}

/* A keyed create, sent again under its key until it is answered. */
static void
create(struct client *c, int n)
{
	struct it_resp	 r;
	char		 key[64], body[120];
	int		 tries, st;

	it_unique(key, sizeof(key), "fault-");
	snprintf(body, sizeof(body), "{\"name\":\"fault %d\",\"bars\":1}", n);
	for (tries = 0; tries < 400; tries++) {
		st = judged(c, "POST", "/api/loops", key, body, &r);
		if (st == 201 && it_str(r.json, "loop.id") != NULL) {
			pthread_mutex_lock(&mu);
			if (c->nacked < MAX_ACKED)
				c->acked[c->nacked++] = xstrdup(it_str(r.json,
				    "loop.id"));
			pthread_mutex_unlock(&mu);
			it_resp_free(&r);
			return;
		}
		if (st != 0)
			it_resp_free(&r);
		if (st != 0 && st != 502 && st != 503 && st != 504 &&
		    st != 409)
			return;		/* judged already */
		usleep(50 * 1000);
	}
}

/*
 * The load's threads take no signal: Criterion's SIGCHLD handler
 * (it_ctl runs deploy/dev) would cut their reads short (EINTR), which
 * is the client's doing, not the stack's.
 */
static void
no_signals(void)
{
	sigset_t	 all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void *
client_main(void *arg)
{
	struct client	*c = arg;
	struct it_resp	 r;
	char		 path[128], body[80];
	int		 n, st;

	no_signals();
	for (n = 0; !stopping(); n++) {
		switch (n % 4) {
		case 0:
			create(c, n);
			continue;
		case 1:
			snprintf(path, sizeof(path), "/api/loops/%s", c->own);
			snprintf(body, sizeof(body), "{\"name\":\"edit %d\"}", n);
			st = judged(c, "PATCH", path, NULL, body, &r);
			if (st == 200) {
				pthread_mutex_lock(&mu);
				c->patches++;
				pthread_mutex_unlock(&mu);
			}
			break;
		case 2:
			snprintf(path, sizeof(path), "/api/loops/%s/like", hot);
			st = judged(c, n % 8 == 2 ? "PUT" : "DELETE", path, NULL,
			    NULL, &r);
			break;
		default:
			snprintf(path, sizeof(path), "/api/loops/%s", hot);
			st = judged(c, "GET", path, NULL, NULL, &r);
			break;
		}
		if (st != 0)
			it_resp_free(&r);
		if (st != 0 && (st < 200 || st >= 300))
			usleep(20 * 1000);
		/*
		 * At most ~25 requests a second a client: 3 in 4 are writes
		 * of one account, whose budget (MP_WRITE_LIMIT, 600 an hour)
		 * must outlast a load on a fast, quiet machine too.
		 */
		usleep(40 * 1000);
	}
	return NULL;
}

static long long
total(size_t off)
{
	long long	 n = 0;
	int		 i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < CLIENTS; i++)
		n += *(int *)((char *)&clients[i] + off);
	pthread_mutex_unlock(&mu);
	return n;
}

#define TOTAL(f)	total(offsetof(struct client, f))

/* Wait until the load got n more 2xx answers (at most timeout_s). */
static void
wait_ok(long long more, int timeout_s, const char *when)
{
	long long	 want = TOTAL(ok) + more;
	time_t		 end = time(NULL) + timeout_s;

	while (TOTAL(ok) < want) {
		cr_assert_leq(time(NULL), end, "the load stalled %s", when);
		usleep(20 * 1000);
	}
}

static void
db_back(void)
{
	int	 i;

	for (i = 0; i < 100 && it_db_count("SELECT 1", 0, NULL) != 1; i++)
		usleep(100 * 1000);
}

static void
load_start(unsigned allow)
{
	struct it_resp	 r;
	const char	*h[2] = { NULL, NULL };
	int		 i;

	memset(clients, 0, sizeof(clients));
	stop_load = 0;
	back_at = 0;
	allowed = allow;
	for (i = 0; i < CLIENTS; i++) {
		struct client	*c = &clients[i];

		cr_assert_eq(itfx_user(c->token, sizeof(c->token), c->id,
		    sizeof(c->id)), 0, "cannot make a user");
		it_bearer(c->auth, sizeof(c->auth), c->token);
		h[0] = c->auth;
		cr_assert_eq(it_request("POST", "/api/loops", h,
		    i == 0 ? "{\"name\":\"hot\",\"bars\":1,\"isPublic\":true}" :
		    "{\"name\":\"own\",\"bars\":1}", &r), 0);
		cr_assert_eq(r.status, 201, "%s", r.body);
		snprintf(c->own, sizeof(c->own), "%s", it_str(r.json,
		    "loop.id"));
		if (i == 0)
			memcpy(hot, c->own, sizeof(hot));
		it_resp_free(&r);
	}
	/* Client 0 edits another loop than the one everybody reads. */
	h[0] = clients[0].auth;
	cr_assert_eq(it_request("POST", "/api/loops", h,
	    "{\"name\":\"own\",\"bars\":1}", &r), 0);
	cr_assert_eq(r.status, 201);
	snprintf(clients[0].own, sizeof(clients[0].own), "%s",
	    it_str(r.json, "loop.id"));
	it_resp_free(&r);
	for (i = 0; i < CLIENTS; i++)
		cr_assert_eq(pthread_create(&clients[i].thread, NULL,
		    client_main, &clients[i]), 0);
}

static void
load_stop(void)
{
	int	 i;

	pthread_mutex_lock(&mu);
	stop_load = 1;
	pthread_mutex_unlock(&mu);
	for (i = 0; i < CLIENTS; i++)
		pthread_join(clients[i].thread, NULL);
}

/*
 * The database after the load: every create answered 201 is there,
 * each client owns exactly what it was answered (no keyed retry made
 * two), every edit answered 200 moved the version, the hot loop's
 * likesCount equals its likes.  And no answer outside what the fault
 * allows.
 */
static void
load_check(void)
{
	struct buf	 ids = BUF_INIT;
	const char	*p[2];
	long long	 found, owned, ver, likes, rows;
	int		 i, j, acked = 0;

	db_back();
	for (i = 0; i < CLIENTS; i++) {
		struct client	*c = &clients[i];

		cr_expect_eq(c->bad, 0, "client %d: %d answers the fault does "
		    "not allow, the first: %s", i, c->bad, c->bad_what);
		buf_reset(&ids);
		buf_putc(&ids, '{');
		for (j = 0; j < c->nacked; j++)
			buf_printf(&ids, "%s%s", j ? "," : "", c->acked[j]);
		buf_putc(&ids, '}');
		p[0] = ids.data;
		found = it_db_count("SELECT count(*) FROM loops "
		    "WHERE id = ANY ($1::uuid[])", 1, p);
		cr_expect_eq(found, c->nacked, "client %d: %lld of %d creates "
		    "answered 201 are there", i, found, c->nacked);
		p[0] = c->id;
		owned = it_db_count("SELECT count(*) FROM loops WHERE user_id "
		    "= $1::uuid AND name LIKE 'fault %'", 1, p);
		cr_expect_eq(owned, c->nacked, "client %d owns %lld created "
		    "loops, was answered %d (a keyed retry made two?)", i, owned,
		    c->nacked);
		p[0] = c->own;
		ver = it_db_count("SELECT version FROM loops WHERE id = $1", 1,
		    p);
		cr_expect_geq(ver, 1 + c->patches, "client %d: version %lld "
		    "after %d edits answered 200", i, ver, c->patches);
		acked += c->nacked;
		for (j = 0; j < c->nacked; j++)
			free(c->acked[j]);
	}
	p[0] = hot;
	likes = it_db_count("SELECT likes_count FROM loop_counts "
	    "WHERE loop_id = $1", 1, p);
	rows = it_db_count("SELECT count(*) FROM loop_likes WHERE loop_id = $1",
	    1, p);
	cr_expect_eq(likes, rows, "likesCount %lld, likes %lld", likes, rows);
	cr_log_info("%d creates, %lld answers 2xx, %lld 503, %lld 502, "
	    "%lld 409, %lld unanswered", acked, TOTAL(ok), TOTAL(s503),
	    TOTAL(s502), TOTAL(s409), TOTAL(refused));
	buf_release(&ids);
}

static char *
worker_pids(void)
{
	char	*s = it_ctl_output("worker-pids");

	cr_assert_not_null(s, "worker-pids failed");
	return s;
}

static int
count_lines(const char *s)
{
	int	 n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* The pool is full again (at most timeout_s): returns the pids. */
static char *
pool_full(int want, int timeout_s)
{
	time_t	 end = time(NULL) + timeout_s;
	char	*s;

	for (;;) {
		s = worker_pids();
		if (count_lines(s) == want)
			return s;
		free(s);
		cr_assert_leq(time(NULL), end, "the pool is not back to %d "
		    "workers", want);
		usleep(100 * 1000);
	}
}

static void
pg_up_again(void)
{
	(void)it_ctl("pg-start");
}

Test(faults, postgres_killed_under_mixed_load_is_only_503_then_every_request_is_answered_and_nothing_acknowledged_is_lost,
    .fini = pg_up_again)
{
	char		*before, *after;
	double		 down_at;
	long long	 s503;
	int		 round;

	before = worker_pids();
	load_start(ALLOW_503 | ALLOW_REFUSED);
	for (round = 0; round < 2; round++) {
		wait_ok(150, 60, "before the crash");
		s503 = TOTAL(s503);
		pthread_mutex_lock(&mu);
		back_at = 0;	/* judged as outage again */
		pthread_mutex_unlock(&mu);
		cr_assert_eq(it_ctl("pg-crash"), 0);
		down_at = now_ms();
		while (TOTAL(s503) == s503 && now_ms() - down_at < 10000)
			usleep(10 * 1000);
		cr_assert_gt(TOTAL(s503), s503, "the outage was not seen");
		usleep(300 * 1000);
		cr_assert_eq(it_ctl("pg-start"), 0);
		pthread_mutex_lock(&mu);
		back_at = now_ms();
		pthread_mutex_unlock(&mu);
		wait_ok(150, 60, "after PostgreSQL came back");
		usleep(1200 * 1000);	/* a second of answers after `back` */
	}
	load_stop();
	load_check();
	after = worker_pids();
	cr_expect_str_eq(after, before, "workers were restarted: %s -> %s",
	    before, after);
	{
		double	 late = 0;
		int	 i, late_bad = 0;

		for (i = 0; i < CLIENTS; i++) {
			if (clients[i].late_ms > late)
				late = clients[i].late_ms;
			if (clients[i].late_not_ok > 0 && late_bad++ == 0)
				cr_expect_fail("a request sent a second after "
				    "PostgreSQL was back was not answered 2xx: "
				    "%s", clients[i].late_what);
		}
		cr_expect_lt(late, 1000.0, "a request sent after PostgreSQL was "
		    "back took %.0f ms", late);
		cr_log_info("slowest answer after PostgreSQL was back: %.0f ms",
		    late);
	}
	free(before);
	free(after);
}

Test(faults, workers_sigkilled_at_random_under_load_lose_nothing_acknowledged_and_the_pool_refills)
{
	char		*pids, *p, *end;
	pid_t		 list[64];
	int		 n, k, killed = 0;

	load_start(ALLOW_502 | ALLOW_503 | ALLOW_409 | ALLOW_REFUSED);
	wait_ok(100, 60, "before the kills");
	for (k = 0; k < 8; k++) {
		pids = worker_pids();
		n = 0;
		for (p = pids; *p != '\0' && n < 64; p = end) {
			long	 v = strtol(p, &end, 10);

			if (end == p)
				break;
			if (v > 0)
				list[n++] = (pid_t)v;
			while (*end == '\n')
				end++;
		}
		free(pids);
		if (n > 0 && kill(list[rand() % n], SIGKILL) == 0)
			killed++;
		usleep((useconds_t)(150 + rand() % 300) * 1000);
	}
	wait_ok(100, 60, "after the kills");
	load_stop();
	cr_assert_geq(killed, 6, "only %d workers were killed", killed);
	load_check();
	free(pool_full(4, 20));
}

Test(faults, nginx_reloaded_under_load_fails_no_request)
{
	int	 k;

	load_start(0);
	wait_ok(100, 60, "before the reloads");
	for (k = 0; k < 3; k++) {
		cr_assert_eq(it_ctl("nginx-reload"), 0);
		wait_ok(60, 60, "after a reload");
	}
	load_stop();
	load_check();
	cr_expect_eq(TOTAL(refused), 0);
}

Test(faults, the_supervisor_sent_sighup_under_load_fails_no_request)
{
	char	*before, *after;
	int	 k;

	before = worker_pids();
	load_start(0);
	wait_ok(100, 60, "before the SIGHUPs");
	for (k = 0; k < 2; k++) {
		cr_assert_eq(it_ctl("restart-workers"), 0);
		wait_ok(100, 60, "after a SIGHUP");
	}
	load_stop();
	load_check();
	after = pool_full(4, 20);
	cr_expect_str_neq(after, before, "the workers were not replaced");
	free(before);
	free(after);
}

/* A connection to the stack's nginx, or -1. */
static int
raw_connect(void)
{
	struct sockaddr_in	 sa;
	const char		*url = getenv("MP_TEST_URL"), *p;
	int			 fd;

	cr_assert_not_null(url);
	p = strrchr(url + 7, ':');
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)(p ? atoi(p + 1) : 80));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct quick {
	pthread_t	 thread;
	const char	*auth;
	double		 worst_ms;
	int		 ok, n;
};

static void *
quick_main(void *arg)
{
	struct quick	*q = arg;
	struct it_resp	 r;
	const char	*h[2] = { q->auth, NULL };
	char		 path[128];
	double		 t0, d;
	int		 i;

	no_signals();
	snprintf(path, sizeof(path), "/api/loops/%s", hot);
	for (i = 0; i < q->n; i++) {
		t0 = now_ms();
		if (it_request("GET", path, h, NULL, &r) == 0) {
			if (r.status == 200)
				q->ok++;
			it_resp_free(&r);
		}
		d = now_ms() - t0;
		if (d > q->worst_ms)
			q->worst_ms = d;
	}
	return NULL;
}

#define SLOW_BODIES	16	/* four times the pool */
#define IDLE_CONNS	64
#define QUICK_THREADS	8

Test(faults, slow_bodies_and_idle_keepalive_connections_take_no_worker_from_the_others)
{
	struct quick	 q[QUICK_THREADS];
	struct it_resp	 r;
	char		 token[1024], id[64], auth[1100], head[1400];
	const char	*h[2];
	int		 slow[SLOW_BODIES], idle[IDLE_CONNS], i, k, ok = 0;
	double		 worst = 0;

	cr_assert_eq(itfx_user(token, sizeof(token), id, sizeof(id)), 0);
	it_bearer(auth, sizeof(auth), token);
	h[0] = auth;
	h[1] = NULL;
	cr_assert_eq(it_request("POST", "/api/loops", h,
	    "{\"name\":\"hot\",\"bars\":1,\"isPublic\":true}", &r), 0);
	cr_assert_eq(r.status, 201);
	snprintf(hot, sizeof(hot), "%s", it_str(r.json, "loop.id"));
	it_resp_free(&r);

	/* Bodies announced, sent a byte at a time. */
	snprintf(head, sizeof(head), "POST /api/loops HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\n%s\r\nContent-Type: application/json\r\n"
	    "Content-Length: 64\r\n\r\n{", auth);
	for (i = 0; i < SLOW_BODIES; i++) {
		slow[i] = raw_connect();
		cr_assert_geq(slow[i], 0);
		cr_assert_gt(write(slow[i], head, strlen(head)), 0);
	}
	/* Connections that asked once and stay open, idle. */
	for (i = 0; i < IDLE_CONNS; i++) {
		static const char get[] = "GET /health HTTP/1.1\r\n"
		    "Host: 127.0.0.1\r\n\r\n";
		char	 buf[2048];

		idle[i] = raw_connect();
		cr_assert_geq(idle[i], 0);
		cr_assert_gt(write(idle[i], get, sizeof(get) - 1), 0);
		cr_assert_gt(read(idle[i], buf, sizeof(buf)), 0);
	}
	for (k = 0; k < 3; k++) {
		/* Each slow body one byte further. */
		for (i = 0; i < SLOW_BODIES; i++)
			cr_assert_eq(write(slow[i], " ", 1), 1);
		memset(q, 0, sizeof(q));
		for (i = 0; i < QUICK_THREADS; i++) {
			q[i].auth = auth;
			q[i].n = 5;
			cr_assert_eq(pthread_create(&q[i].thread, NULL,
			    quick_main, &q[i]), 0);
		}
		for (i = 0; i < QUICK_THREADS; i++) {
			pthread_join(q[i].thread, NULL);
			ok += q[i].ok;
			if (q[i].worst_ms > worst)
				worst = q[i].worst_ms;
		}
		sleep(1);
	}
	for (i = 0; i < SLOW_BODIES; i++)
		close(slow[i]);
	for (i = 0; i < IDLE_CONNS; i++)
		close(idle[i]);
	cr_expect_eq(ok, 3 * QUICK_THREADS * 5, "%d of %d parallel reads "
	    "answered 200 while %d bodies trickled in", ok,
	    3 * QUICK_THREADS * 5, SLOW_BODIES);
	cr_expect_lt(worst, 1000.0, "the slowest parallel read took %.0f ms "
	    "(a worker was held by a slow client?)", worst);
	cr_log_info("%d slow bodies, %d idle connections: %d parallel reads, "
	    "slowest %.0f ms", SLOW_BODIES, IDLE_CONNS, ok, worst);
}

Test(faults, a_statement_past_statement_timeout_is_503_problem_json_and_the_worker_serves_the_next_request)
{
	struct it_resp	 r;
	char		 token[1024], id[64], auth[1100], path[128], sql[200];
	const char	*h[2], *ct;
	PGconn		*lock;
	double		 t0, took;
	int		 i;

	cr_assert_eq(itfx_user(token, sizeof(token), id, sizeof(id)), 0);
	it_bearer(auth, sizeof(auth), token);
	h[0] = auth;
	h[1] = NULL;
	cr_assert_eq(it_request("POST", "/api/loops", h,
	    "{\"name\":\"locked\",\"bars\":1}", &r), 0);
	cr_assert_eq(r.status, 201);
	snprintf(path, sizeof(path), "/api/loops/%s", it_str(r.json, "loop.id"));
	snprintf(sql, sizeof(sql), "SELECT 1 FROM loops WHERE id = '%s' "
	    "FOR UPDATE", it_str(r.json, "loop.id"));
	it_resp_free(&r);
	/* Another session holds the row: the edit waits on its lock. */
	lock = itfx_conn();
	cr_assert_not_null(lock);
	cr_assert_eq(itfx_exec(lock, "BEGIN", 0, NULL), 0);
	cr_assert_eq(itfx_exec(lock, sql, 0, NULL), 0);
	t0 = now_ms();
	cr_assert_eq(it_request("PATCH", path, h, "{\"name\":\"waited\"}", &r),
	    0);
	took = now_ms() - t0;
	(void)itfx_exec(lock, "ROLLBACK", 0, NULL);
	PQfinish(lock);
	cr_expect(r.status == 503 || r.status == 504, "%d after %.0f ms: %s",
	    r.status, took, r.body);
	ct = it_header(&r, "content-type");
	cr_expect(ct != NULL && strcmp(ct, "application/problem+json") == 0,
	    "Content-Type %s", ct ? ct : "missing");
	cr_expect_not_null(it_get(r.json, "status"), "no problem body: %s",
	    r.body);
	it_resp_free(&r);
	/* Nothing was written, and every worker answers the next one. */
	for (i = 0; i < 8; i++) {
		cr_assert_eq(it_request("GET", path, h, NULL, &r), 0);
		cr_expect_eq(r.status, 200, "%s", r.body);
		cr_expect_str_eq(it_str(r.json, "loop.name"), "locked");
		it_resp_free(&r);
	}
	cr_log_info("the edit that waited was answered after %.0f ms", took);
}

static void
disk_restore(void)
{
	(void)it_ctl("pg-disk-restore");
}

/* A loop of about 40 kB of steps (TOASTed: it fills the table's disk). */
static char *
big_loop_body(int n)
{
	struct buf	 b = BUF_INIT;
	int		 i;

	buf_printf(&b, "{\"name\":\"disk %d\",\"bars\":8,\"iconSequence\":[", n);
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%s{\"bar\":%d,\"row\":%d,\"pitch\":%d,"
		    "\"soundId\":\"s%08x\",\"velocity\":0.%04d}", i ? "," : "",
		    i % 128, i % 4, i % 128, (unsigned)rand(), rand() % 10000);
	buf_puts(&b, "]}");
	return buf_detach(&b);
}

Test(faults, a_full_database_disk_makes_writes_503_keeps_reads_and_loses_nothing_when_space_returns,
    .fini = disk_restore)
{
	struct it_resp	 r;
	struct buf	 ids = BUF_INIT;
	char		 token[1024], id[64], auth[1100], path[128], key[64];
	char		 kh[100], *body, *acked[400];
	const char	*h[3], *p[1];
	int		 i, nacked = 0, full = 0, st;

	if (geteuid() != 0) {
		cr_log_warn("not root: no tmpfs to fill");
		return;
	}
	cr_assert_eq(itfx_user(token, sizeof(token), id, sizeof(id)), 0);
	it_bearer(auth, sizeof(auth), token);
	h[0] = auth;
	h[1] = NULL;
	h[2] = NULL;
	cr_assert_eq(it_request("POST", "/api/loops", h,
	    "{\"name\":\"before\",\"bars\":1,\"isPublic\":true}", &r), 0);
	cr_assert_eq(r.status, 201);
	snprintf(path, sizeof(path), "/api/loops/%s", it_str(r.json, "loop.id"));
	it_resp_free(&r);
	cr_assert_eq(it_ctl("pg-disk-small 1024"), 0, "pg-disk-small failed");
	/* Keyed creates until the disk is full. */
	for (i = 0; i < 400 && !full; i++) {
		it_unique(key, sizeof(key), "disk-");
		snprintf(kh, sizeof(kh), "Idempotency-Key: %s", key);
		h[1] = kh;
		body = big_loop_body(i);
		cr_assert_eq(it_request("POST", "/api/loops", h, body, &r), 0);
		free(body);
		st = r.status;
		if (st == 201)
			acked[nacked++] = xstrdup(it_str(r.json, "loop.id"));
		else {
			cr_expect_eq(st, 503, "a write on a full disk: %d %s", st,
			    r.body);
			cr_expect_not_null(it_header(&r, "retry-after"));
			cr_expect_not_null(it_get(r.json, "status"),
			    "no problem body: %s", r.body);
			full = 1;
		}
		it_resp_free(&r);
	}
	cr_assert(full, "the disk never filled (%d creates)", nacked);
	/* Writes keep failing 503; reads keep working. */
	h[1] = NULL;
	cr_assert_eq(it_request("PATCH", path, h, "{\"name\":\"renamed on a "
	    "full disk, with a name long enough to need a new tuple\"}", &r), 0);
	cr_expect(r.status == 503 || r.status == 200, "%d %s", r.status,
	    r.body);
	it_resp_free(&r);
	for (i = 0; i < 8; i++) {
		cr_assert_eq(it_request("GET", path, NULL, NULL, &r), 0);
		cr_expect_eq(r.status, 200, "a read on a full disk: %s", r.body);
		it_resp_free(&r);
	}
	cr_assert_eq(it_request("GET", "/api/loops?public=true&limit=5", NULL,
	    NULL, &r), 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
	/* Space back: writes work again, everything answered 201 is there. */
	cr_assert_eq(it_ctl("pg-disk-grow"), 0);
	body = big_loop_body(999);
	cr_assert_eq(it_request("POST", "/api/loops", h, body, &r), 0);
	free(body);
	cr_expect_eq(r.status, 201, "%s", r.body);
	it_resp_free(&r);
	buf_putc(&ids, '{');
	for (i = 0; i < nacked; i++)
		buf_printf(&ids, "%s%s", i ? "," : "", acked[i]);
	buf_putc(&ids, '}');
	p[0] = ids.data;
	cr_expect_eq(it_db_count("SELECT count(*) FROM loops WHERE id = "
	    "ANY ($1::uuid[]) AND jsonb_array_length(icon_sequence) = 1000",
	    1, p), nacked, "creates answered 201 before the disk filled");
	/* Every row of the table reads back whole. */
	cr_expect_geq(it_db_count("SELECT count(*) FROM loops WHERE "
	    "length(icon_sequence::text) > 0", 0, NULL), nacked);
	buf_release(&ids);
	for (i = 0; i < nacked; i++)
		free(acked[i]);
	cr_assert_eq(it_ctl("pg-disk-restore"), 0);
}
