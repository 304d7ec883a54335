/*
 * Integration: time (issue 17).  A mixed workload -- item reads, the
 * public feed, the sync feed, likes and unlikes, keyed creates, edits
 * -- at half of the peak this stack was just measured at, for
 * MP_SOAK_SECONDS (default 120: the CI form; bench/soak runs it for 30
 * minutes).  Every 10 s window records throughput, p50/p99 latency,
 * the workers' resident memory and the service's PostgreSQL
 * connections; at the end there must have been no error, the same
 * number of connections in every window, worker memory flat and p99
 * stable.  The figures go to MP_SOAK_REPORT (default stderr).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itlib.h"
#include "t/itfixture.h"

#define THREADS		8
#define WINDOW_S	10
#define MAX_WINDOWS	1000
#define HOT		20
#define SAMPLES		200000	/* latencies kept per window */

struct user {
	char	 token[1024], id[64], auth[1100], own[64];
};

static struct user	*users;
static int		 nusers;
static char		 hot[HOT][64];

static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static int		 stop_flag;
static double		 interval_ms;	/* per thread; 0: as fast as it goes */
static long long	 done;		/* requests answered */
static double		*lat;		/* this window's latencies */
static size_t		 nlat;
static long long	 errors;
static char		 first_error[300];

static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One request of the mix, chosen by n; returns 1 when it went well. */
static int
one(unsigned n, char *what, size_t wsz)
{
	struct user	*u = &users[(n / 10) % (unsigned)nusers];
	struct it_resp	 r;
	const char	*h[3] = { u->auth, NULL, NULL };
	const char	*m = "GET", *body = NULL;
	char		 path[160], kh[120], key[64], b[80];
	int		 rc, want = 200, ok;

	switch (n % 10) {
	case 0: case 1: case 2: case 3:
		snprintf(path, sizeof(path), "/api/loops/%s", hot[n % HOT]);
		if (n % 20 < 10)
			h[0] = NULL;	/* anonymous readers too */
		break;
	case 4:
		snprintf(path, sizeof(path), "/api/loops?public=true&limit=20");
		break;
	case 5:
		snprintf(path, sizeof(path), "/api/sync?limit=50");
		break;
	case 6:
		m = (n / 10) % 2 ? "PUT" : "DELETE";
		snprintf(path, sizeof(path), "/api/loops/%s/like",
		    hot[(n / 7) % HOT]);
		break;
	case 7:
		m = "POST";
		snprintf(path, sizeof(path), "/api/loops");
		it_unique(key, sizeof(key), "soak-");
		snprintf(kh, sizeof(kh), "Idempotency-Key: %s", key);
		h[1] = kh;
		body = "{\"name\":\"soak\",\"bars\":1}";
		want = 201;
		break;
	case 8:
		m = "PATCH";
		snprintf(path, sizeof(path), "/api/loops/%s", u->own);
		snprintf(b, sizeof(b), "{\"name\":\"soak %u\"}", n);
		body = b;
		break;
	default:
		snprintf(path, sizeof(path), "/api/songs?public=true&limit=10");
		break;
	}
	rc = it_request(m, path, h, body, &r);
	ok = rc == 0 && r.status == want;
	if (!ok) {
		struct buf	 e = BUF_INIT;

		buf_printf(&e, "%s %s: %d %.150s", m, path,
		    rc == 0 ? r.status : 0, rc == 0 ? r.body : "(no answer)");
		snprintf(what, wsz, "%s", e.data);
		buf_release(&e);
	}
	if (rc == 0)
		it_resp_free(&r);
	return ok;
}

static void *
worker_main(void *arg)
{
	unsigned	 n = (unsigned)(size_t)arg * 7919u;
	sigset_t	 all;
	char		 what[300];
	double		 next = now_ms(), t0, d, iv;
	int		 ok, s;

	/* Criterion's SIGCHLD would cut reads short (EINTR). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;; n++) {
		pthread_mutex_lock(&mu);
		s = stop_flag;
		iv = interval_ms;
		pthread_mutex_unlock(&mu);
		if (s)
			break;
		if (iv > 0) {
			next += iv;
			d = next - now_ms();
			if (d > 0)
				usleep((useconds_t)(d * 1000));
			else if (d < -1000)
				next = now_ms();	/* behind: no burst */
		}
		t0 = now_ms();
		ok = one(n, what, sizeof(what));
		d = now_ms() - t0;
		pthread_mutex_lock(&mu);
		done++;
		if (nlat < SAMPLES)
			lat[nlat++] = d;
		if (!ok && errors++ == 0)
			snprintf(first_error, sizeof(first_error), "%s", what);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

/* The workers' resident memory, in kB (VmRSS summed). */
static long long
workers_rss_kb(int *nworkers)
{
	char		*pids = it_ctl_output("worker-pids"), *p, *end;
	char		 path[64], line[256];
	long long	 kb = 0;
	FILE		*f;

	*nworkers = 0;
	cr_assert_not_null(pids);
	for (p = pids; *p != '\0'; p = end) {
		long	 pid = strtol(p, &end, 10);

		if (end == p)
			break;
		while (*end == '\n')
			end++;
		snprintf(path, sizeof(path), "/proc/%ld/status", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "VmRSS:", 6) == 0)
				kb += atoll(line + 6);
		fclose(f);
		(*nworkers)++;
	}
	free(pids);
	return kb;
}

static long long
pg_connections(void)
{
	/* The service's sessions: everything on the database but ours. */
	return it_db_count("SELECT count(*) FROM pg_stat_activity WHERE "
	    "datname = current_database() AND backend_type = 'client backend' "
	    "AND pid <> pg_backend_pid()", 0, NULL);
}

struct window {
	double		 rps, p50, p99;
	long long	 rss_kb, pgconn, errors;
	int		 workers;
};

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n == 0 ? 0 : v[n / 2];
}

Test(soak, a_mixed_load_at_half_the_peak_keeps_memory_connections_and_p99_flat_with_no_error,
    .timeout = 7200)
{
	static struct window	 w[MAX_WINDOWS];
	pthread_t	 th[THREADS];
	struct it_resp	 r;
	const char	*h[2] = { NULL, NULL }, *v;
	const char	*report = getenv("MP_SOAK_REPORT");
	double		 peak, t0, p99s[MAX_WINDOWS], early, late;
	long long	 d0, writes, min_conn, max_conn, rss_base, rss_end;
	int		 seconds = 120, nw, i, k;
	FILE		*out = stderr;

	if ((v = getenv("MP_SOAK_SECONDS")) != NULL && atoi(v) >= 30)
		seconds = atoi(v);
	lat = calloc(SAMPLES, sizeof(double));
	cr_assert_not_null(lat);
	/* Enough accounts for the write budget (MP_WRITE_LIMIT 600/h). */
	/* generous: 2000 req/s (a quiet machine's peak is well under), 2/10 writes */
	writes = (long long)seconds * 400;
	nusers = 16 + (int)(writes / 400);
	users = calloc((size_t)nusers, sizeof(*users));
	for (i = 0; i < nusers; i++) {
		cr_assert_eq(itfx_user(users[i].token, sizeof(users[i].token),
		    users[i].id, sizeof(users[i].id)), 0);
		it_bearer(users[i].auth, sizeof(users[i].auth), users[i].token);
		h[0] = users[i].auth;
		cr_assert_eq(it_request("POST", "/api/loops", h,
		    "{\"name\":\"own\",\"bars\":1}", &r), 0);
		cr_assert_eq(r.status, 201, "%s", r.body);
		snprintf(users[i].own, sizeof(users[i].own), "%s",
		    it_str(r.json, "loop.id"));
		it_resp_free(&r);
	}
	for (i = 0; i < HOT; i++) {
		h[0] = users[i % nusers].auth;
		cr_assert_eq(it_request("POST", "/api/loops", h,
		    "{\"name\":\"hot\",\"bars\":2,\"isPublic\":true}", &r), 0);
		cr_assert_eq(r.status, 201);
		snprintf(hot[i], sizeof(hot[i]), "%s", it_str(r.json, "loop.id"));
		it_resp_free(&r);
	}

	/* The peak: THREADS closed-loop clients for 8 s. */
	for (i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, worker_main,
		    (void *)(size_t)i), 0);
	sleep(2);
	pthread_mutex_lock(&mu);
	d0 = done;
	pthread_mutex_unlock(&mu);
	t0 = now_ms();
	sleep(8);
	pthread_mutex_lock(&mu);
	peak = (double)(done - d0) * 1000.0 / (now_ms() - t0);
	/* Then half of it, spread over the threads. */
	interval_ms = 1000.0 * THREADS / (peak / 2);
	nlat = 0;
	errors = 0;
	done = 0;
	pthread_mutex_unlock(&mu);

	if (report != NULL && (out = fopen(report, "w")) == NULL)
		out = stderr;
	fprintf(out, "soak: peak %.0f req/s (%d closed-loop clients), load "
	    "%.0f req/s for %d s, %d users\n", peak, THREADS, peak / 2,
	    seconds, nusers);
	fprintf(out, "%6s %8s %8s %8s %10s %7s %7s\n", "t(s)", "req/s",
	    "p50(ms)", "p99(ms)", "rss(kB)", "pgconn", "errors");
	nw = seconds / WINDOW_S;
	if (nw > MAX_WINDOWS)
		nw = MAX_WINDOWS;
	for (k = 0; k < nw; k++) {
		double	*copy;
		size_t	 n;
		long long e, dn;

		t0 = now_ms();
		sleep(WINDOW_S);
		pthread_mutex_lock(&mu);
		n = nlat;
		copy = malloc((n + 1) * sizeof(double));
		memcpy(copy, lat, n * sizeof(double));
		nlat = 0;
		e = errors;
		dn = done;
		done = 0;
		pthread_mutex_unlock(&mu);
		qsort(copy, n, sizeof(double), cmp_double);
		w[k].rps = (double)dn * 1000.0 / (now_ms() - t0);
		w[k].p50 = n ? copy[n / 2] : 0;
		w[k].p99 = n ? copy[(size_t)((double)n * 0.99)] : 0;
		w[k].errors = e;
		w[k].rss_kb = workers_rss_kb(&w[k].workers);
		w[k].pgconn = pg_connections();
		free(copy);
		fprintf(out, "%6d %8.0f %8.1f %8.1f %10lld %7lld %7lld\n",
		    (k + 1) * WINDOW_S, w[k].rps, w[k].p50, w[k].p99,
		    w[k].rss_kb, w[k].pgconn, w[k].errors);
		fflush(out);
	}
	pthread_mutex_lock(&mu);
	stop_flag = 1;
	pthread_mutex_unlock(&mu);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);

	cr_expect_eq(errors, 0, "%lld requests failed, the first: %s", errors,
	    first_error);
	min_conn = max_conn = w[0].pgconn;
	for (k = 0; k < nw; k++) {
		if (w[k].pgconn < min_conn)
			min_conn = w[k].pgconn;
		if (w[k].pgconn > max_conn)
			max_conn = w[k].pgconn;
		cr_expect_eq(w[k].workers, w[0].workers, "window %d: %d workers",
		    k, w[k].workers);
		p99s[k] = w[k].p99;
	}
	/* The relay and the workers: one session each, all along. */
	cr_expect_eq(min_conn, max_conn, "PostgreSQL connections went from "
	    "%lld to %lld", min_conn, max_conn);
	/*
	 * Memory: the median of the last third against the first third's.
	 * The tolerance is for AddressSanitizer, whose quarantine holds
	 * freed memory back (up to 256 MB a process) and so grows RSS
	 * slowly on any build it is in; a leak proper is LeakSanitizer's
	 * to find, at each worker's exit (deploy/dev test reads the log).
	 */
	{
		double	 rss[MAX_WINDOWS];
		int	 third = nw / 3 > 0 ? nw / 3 : 1;

		for (k = 0; k < nw; k++)
			rss[k] = (double)w[k].rss_kb;
		rss_base = (long long)median(rss, third);
		rss_end = (long long)median(rss + nw - third, third);
	}
	cr_expect_leq(rss_end, rss_base + rss_base / 4 + 8192, "worker RSS "
	    "grew from %lld kB to %lld kB", rss_base, rss_end);
	/* p99: the median of the last third against the first third's. */
	early = median(p99s, nw / 3 > 0 ? nw / 3 : 1);
	late = median(p99s + nw - (nw / 3 > 0 ? nw / 3 : 1),
	    nw / 3 > 0 ? nw / 3 : 1);
	cr_expect_leq(late, 3 * early + 50, "p99 went from %.1f ms to %.1f ms",
	    early, late);
	fprintf(out, "soak: %d s at %.0f req/s: %lld errors, PostgreSQL "
	    "connections %lld..%lld, worker RSS %lld -> %lld kB, p99 %.1f -> "
	    "%.1f ms (medians of the first and last thirds)\n", nw * WINDOW_S,
	    peak / 2, errors, min_conn, max_conn, rss_base, rss_end, early,
	    late);
	if (out != stderr)
		fclose(out);
	free(lat);
	free(users);
}
