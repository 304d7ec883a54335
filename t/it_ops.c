/* Integration: operations routes and the process model, through nginx. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "t/itlib.h"

static void
get(const char *path, struct it_resp *r)
{
	cr_assert_eq(it_request("GET", path, NULL, NULL, r), 0,
	    "no response for GET %s", path);
}

Test(ops, health_answers_ok_with_a_timestamp)
{
	struct it_resp r;

	get("/health", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(it_str(r.json, "status"), "ok");
	cr_assert_eq(strlen(it_str(r.json, "timestamp")), 24);
	cr_assert_str_eq(it_header(&r, "content-type"), "application/json");
	cr_assert_not_null(it_header(&r, "x-request-id"));
	it_resp_free(&r);
}

Test(ops, ready_reports_the_schema_version)
{
	struct it_resp r;

	get("/ready", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "status"), "ready");
	cr_assert_gt(it_int(r.json, "schemaVersion"), 0);
	it_resp_free(&r);
}

Test(ops, metrics_are_prometheus_text_with_connections_and_version)
{
	struct it_resp r;

	get("/metrics", &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strncmp(it_header(&r, "content-type"), "text/plain", 10) == 0);
	cr_assert(strstr(r.body, "mpapi_db_connections{state=\"active\"}") != NULL,
	    "%s", r.body);
	cr_assert(strstr(r.body, "mpapi_schema_version ") != NULL);
	it_resp_free(&r);
}

Test(ops, an_incoming_sane_request_id_is_echoed)
{
	const char *h[] = { "X-Request-Id: it-ops-42", NULL };
	struct it_resp r;

	cr_assert_eq(it_request("GET", "/health", h, NULL, &r), 0);
	cr_assert_str_eq(it_header(&r, "x-request-id"), "it-ops-42");
	it_resp_free(&r);
}

Test(ops, unknown_route_is_404_problem_json)
{
	struct it_resp r;

	get("/api/does-not-exist", &r);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(it_header(&r, "content-type"),
	    "application/problem+json");
	cr_assert_str_eq(it_str(r.json, "error"), "Route not found");
	cr_assert_eq(it_int(r.json, "status"), 404);
	it_resp_free(&r);
}

Test(ops, wrong_method_is_405_with_allow)
{
	struct it_resp r;

	cr_assert_eq(it_request("DELETE", "/health", NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(it_header(&r, "allow"), "GET, HEAD, OPTIONS");
	it_resp_free(&r);
}

Test(ops, a_body_over_the_limit_is_413_problem_json)
{
	struct it_resp r;
	char *body;
	size_t n = 2 * 1024 * 1024;

	body = it_padded_object(n);
	cr_assert_eq(it_request("POST", "/health", NULL, body, &r), 0);
	cr_assert_eq(r.status, 413);
	cr_assert_str_eq(it_header(&r, "content-type"),
	    "application/problem+json");
	cr_assert_eq(it_int(r.json, "status"), 413);
	it_resp_free(&r);
	free(body);
}

Test(ops, ready_is_503_while_postgres_is_down_and_200_once_it_is_back)
{
	struct it_resp r;
	char *before, *after;
	int i;

	before = it_ctl_output("worker-pids");
	cr_assert_not_null(before);
	cr_assert_eq(it_ctl("pg-stop"), 0);
	for (i = 0; i < 8; i++) {	/* every worker sees the outage */
		get("/ready", &r);
		cr_assert_eq(r.status, 503);
		cr_assert_not_null(it_header(&r, "retry-after"));
		cr_assert(strstr(r.body, "postgres") == NULL);
		it_resp_free(&r);
	}
	get("/health", &r);
	cr_assert_eq(r.status, 200);	/* liveness does not need the db */
	it_resp_free(&r);
	cr_assert_eq(it_ctl("pg-start"), 0);
	for (i = 0; i < 8; i++) {
		get("/ready", &r);
		cr_assert_eq(r.status, 200, "after restart: %d %s", r.status,
		    r.body);
		it_resp_free(&r);
	}
	after = it_ctl_output("worker-pids");
	cr_assert_str_eq(before, after, "workers were restarted");
	free(before);
	free(after);
}

/*
 * Whether the newline-separated list holds pid as a whole line.  A
 * substring test is wrong here: pid 557 is inside 5579.
 */
static int
pid_listed(const char *list, long pid)
{
	const char *p = list;
	char *end;

	while (*p != '\0') {
		long v = strtol(p, &end, 10);

		if (end != p && v == pid && (*end == '\n' || *end == '\0'))
			return 1;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return 0;
}

/* No pid of list a is in list b. */
static int
all_differ(const char *a, const char *b)
{
	const char *p = a;
	char *end;

	while (*p != '\0') {
		long v = strtol(p, &end, 10);

		if (end != p && pid_listed(b, v))
			return 0;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return 1;
}

Test(ops, a_worker_killed_with_sigkill_is_replaced)
{
	struct it_resp r;
	char *pids, *again;
	long victim;
	int i;

	pids = it_ctl_output("worker-pids");
	cr_assert_not_null(pids);
	victim = atol(pids);
	cr_assert_gt(victim, 1);
	cr_assert_eq(kill((pid_t)victim, SIGKILL), 0);
	usleep(300 * 1000);
	for (i = 0; i < 20; i++) {
		get("/ready", &r);
		cr_assert_eq(r.status, 200);
		it_resp_free(&r);
	}
	for (i = 0; i < 30; i++) {	/* the supervisor refills the slot */
		again = it_ctl_output("worker-pids");
		if (again != NULL && strcmp(again, pids) != 0 &&
		    strchr(again, '\n') != NULL)
			break;
		free(again);
		again = NULL;
		usleep(200 * 1000);
	}
	cr_assert_not_null(again, "no replacement worker appeared");
	cr_assert(!pid_listed(again, victim), "victim still listed");
	cr_assert_eq(strlen(pids) > 0, 1);
	free(pids);
	free(again);
}

Test(ops, migrations_run_twice_are_a_no_op_and_two_at_once_do_not_fail)
{
	long long before, after;

	before = it_db_count("SELECT count(*) FROM schema_migrations", 0, NULL);
	cr_assert_gt(before, 0);
	cr_assert_eq(it_ctl("migrate"), 0);
	cr_assert_eq(it_ctl("migrate-twice-at-once"), 0);
	after = it_db_count("SELECT count(*) FROM schema_migrations", 0, NULL);
	cr_assert_eq(before, after);
}

/*
 * Fork a child that sends GET path and exits 0 if the status is want.
 * Returns its pid.
 */
static pid_t
request_in_child(const char *path, int want)
{
	struct it_resp r;
	pid_t pid;
	int ok;

	if ((pid = fork()) != 0)
		return pid;
	ok = it_request("GET", path, NULL, NULL, &r) == 0 && r.status == want;
	_exit(ok ? 0 : 1);
}

static int
child_ok(pid_t pid)
{
	int st;

	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0;
}

Test(ops, sighup_replaces_every_worker_while_requests_in_flight_finish)
{
	struct it_resp r;
	char *before, *after = NULL;
	pid_t slow[3];
	int i;

	before = it_ctl_output("worker-pids");
	cr_assert_not_null(before);
	/* Hold a lock /ready needs, so its requests stay in flight. */
	cr_assert_eq(it_db_exec("BEGIN"), 0);
	cr_assert_eq(it_db_exec("LOCK TABLE schema_migrations"), 0);
	for (i = 0; i < 3; i++)
		slow[i] = request_in_child("/ready", 200);
	usleep(300 * 1000);
	cr_assert_eq(it_ctl("restart-workers"), 0);
	usleep(300 * 1000);
	cr_assert_eq(it_db_exec("COMMIT"), 0);
	for (i = 0; i < 3; i++)
		cr_assert(child_ok(slow[i]), "an in-flight request failed");
	for (i = 0; i < 50; i++) {
		free(after);
		after = it_ctl_output("worker-pids");
		if (after != NULL && all_differ(before, after) &&
		    strlen(after) > 0)
			break;
		usleep(100 * 1000);
	}
	cr_assert(all_differ(before, after), "old workers remain:\n%s\n%s",
	    before, after);
	for (i = 0; i < 10; i++) {
		get("/ready", &r);
		cr_assert_eq(r.status, 200);
		it_resp_free(&r);
	}
	free(before);
	free(after);
}

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A kept FastCGI connection pins its worker while it is idle (a libfcgi
 * worker waits on it instead of accepting); the shipped site keeps
 * none (deploy/nginx/mpapi.conf: bench/keepalive found it does not
 * pay).  With every worker held, requests queue behind them; once the
 * workers are free those must be answered at once, not left behind
 * idle kept connections.  (With keepalive 8 over the 4 workers and a
 * 60 s keepalive_timeout, the queued reads failed after 31 s.)
 */
Test(ops, requests_queued_behind_busy_workers_are_answered_once_they_free_not_held_by_kept_connections)
{
	char	*pids, *p;
	pid_t	 held[32], queued[64];
	int	 n = 0, i;
	double	 t0, took;

	pids = it_ctl_output("worker-pids");
	cr_assert_not_null(pids);
	for (p = pids; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	free(pids);
	cr_assert(n >= 2 && n <= 16, "%d workers", n);
	/* A round of reads first: kept connections, were any, left idle. */
	for (i = 0; i < 2 * n; i++)
		queued[i] = request_in_child("/api/loops?limit=1", 200);
	for (i = 0; i < 2 * n; i++)
		cr_assert(child_ok(queued[i]), "a read failed");
	/* Every worker held by a read that waits for a lock. */
	cr_assert_eq(it_db_exec("BEGIN"), 0);
	cr_assert_eq(it_db_exec("LOCK TABLE schema_migrations"), 0);
	for (i = 0; i < n; i++)
		held[i] = request_in_child("/ready", 200);
	usleep(500 * 1000);
	for (i = 0; i < 3 * n; i++)
		queued[i] = request_in_child("/api/loops?limit=1", 200);
	usleep(300 * 1000);
	t0 = now_s();
	cr_assert_eq(it_db_exec("COMMIT"), 0);
	for (i = 0; i < n; i++)
		cr_assert(child_ok(held[i]), "a held read failed");
	for (i = 0; i < 3 * n; i++)
		cr_assert(child_ok(queued[i]), "a queued read failed");
	took = now_s() - t0;
	/*
	 * A bound for a wait, not a speed: the queued reads need a few
	 * milliseconds each.  Kept idle connections that held every worker
	 * would hold them until a worker gives one up (about two seconds)
	 * or, without that, until nginx's keepalive_timeout.
	 */
	cr_assert_lt(took, 1.5, "the queued reads took %.1f s: held behind "
	    "idle kept connections", took);
}

Test(ops, a_browser_preflight_from_an_allowed_origin_is_answered)
{
	const char *h[] = { "Origin: http://localhost:5173",
	    "Access-Control-Request-Method: PUT",
	    "Access-Control-Request-Headers: authorization, if-match", NULL };
	const char *evil[] = { "Origin: http://evil.example", NULL };
	struct it_resp r;

	cr_assert_eq(it_request("OPTIONS", "/health", h, NULL, &r), 0);
	cr_assert_eq(r.status, 204);
	cr_assert_str_eq(it_header(&r, "access-control-allow-origin"),
	    "http://localhost:5173");
	cr_assert(strstr(it_header(&r, "access-control-allow-methods"), "PUT"));
	it_resp_free(&r);
	cr_assert_eq(it_request("GET", "/health", evil, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_null(it_header(&r, "access-control-allow-origin"));
	it_resp_free(&r);
}
