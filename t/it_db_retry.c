/*
 * Integration: what a worker does when its PostgreSQL connection dies.
 *
 * A read outside a transaction is tried once more on a new connection
 * (the client never sees the restart).  Inside a transaction nothing is
 * retried: the transaction died with the connection, and a statement
 * run again on a new connection would run outside it, in autocommit,
 * so the rest of the write would commit piece by piece.  The request
 * is answered 503 and nothing of it is written.
 *
 * Through nginx: PostgreSQL restarted between two requests, and a PATCH
 * whose connection is killed while its transaction is open (the test
 * holds an ACCESS EXCLUSIVE lock on loops, so the PATCH's read of the
 * loop waits inside the transaction its write-budget gate opened, and
 * the test terminates that backend).
 *
 * No route runs a read-only statement inside an explicit transaction
 * yet (a keyed write's handlers only write), so the retry rule itself
 * is also driven straight through db/ on a handle of the test's own,
 * against the same PostgreSQL: its backend is terminated while idle, or
 * inside a transaction, and the next read shows what the handle did.
 * The same handle shows what the write gate carries (db_gate_install).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "db/db.h"
#include "db/db_int.h"
#include "t/itlib.h"
#include "t/itfixture.h"

static void
pg_back(void)
{
	int	 i;

	(void)it_ctl("pg-start");
	for (i = 0; i < 100 && it_db_count("SELECT 1", 0, NULL) != 1; i++)
		usleep(100 * 1000);
}

Test(db_retry, a_read_after_postgres_restarted_between_requests_is_answered,
    .fini = pg_back, .timeout = 120)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	char		 id[64], path[128];
	int		 i, workers;

	itfx_db_user(&u);
	itfx_loop(&u, itfx_loop_body("before the restart", 0), id, sizeof(id));
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	workers = getenv("MP_WORKERS") ? atoi(getenv("MP_WORKERS")) : 4;
	/* Every worker holds a connection now. */
	for (i = 0; i < 4 * workers; i++) {
		itfx_req("GET", path, &u, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		it_resp_free(&r);
	}
	cr_assert_eq(it_ctl("pg-stop"), 0);
	cr_assert_eq(it_ctl("pg-start"), 0);
	/* Each worker finds its connection dead on its first statement. */
	for (i = 0; i < 4 * workers; i++) {
		itfx_req("GET", path, &u, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "request %d after the restart: "
		    "%d %s", i, r.status, r.body);
		cr_assert_str_eq(it_str(r.json, "loop.name"),
		    "before the restart");
		it_resp_free(&r);
	}
}

struct patcher {
	const struct itfx_user	*u;
	const char		*path;
	const char		*key;
	struct it_resp		 r;
};

static void *
patch_main(void *arg)
{
	struct patcher	*p = arg;
	char		 kh[128];
	const char	*h[] = { "Content-Type: application/merge-patch+json",
	    kh, NULL };

	snprintf(kh, sizeof(kh), "Idempotency-Key: %s", p->key);
	itfx_req("PATCH", p->path, p->u, h, "{\"name\":\"patched\"}", &p->r);
	return NULL;
}

/* The pid of the backend that waits for lock holder `holder`, or 0. */
static long long
blocked_by(int holder)
{
	char	 hp[16];
	char	*v;
	long long pid;
	int	 i;

	snprintf(hp, sizeof(hp), "%d", holder);
	for (i = 0; i < 200; i++) {
		v = itfx_text1("SELECT pid FROM pg_stat_activity "
		    "WHERE $1::int = ANY (pg_blocking_pids(pid))", hp);
		if (v != NULL) {
			pid = atoll(v);
			free(v);
			return pid;
		}
		usleep(50 * 1000);
	}
	return 0;
}

Test(db_retry, a_patch_whose_connection_dies_inside_its_transaction_is_503_and_writes_nothing,
    .timeout = 120)
{
	struct itfx_user	 u;
	struct patcher	 p;
	pthread_t	 t;
	PGconn		*lock;
	char		 id[64], path[128], key[64], victim[24];
	const char	*kp[2];
	long long	 pid;

	itfx_db_user(&u);
	itfx_loop(&u, itfx_loop_body("original", 0), id, sizeof(id));
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	it_unique(key, sizeof(key), "dies-");

	lock = itfx_conn();
	cr_assert_not_null(lock);
	cr_assert_eq(itfx_exec(lock, "BEGIN", 0, NULL), 0);
	cr_assert_eq(itfx_exec(lock, "LOCK TABLE loops IN ACCESS EXCLUSIVE "
	    "MODE", 0, NULL), 0);
	memset(&p, 0, sizeof(p));
	p.u = &u;
	p.path = path;
	p.key = key;
	cr_assert_eq(pthread_create(&t, NULL, patch_main, &p), 0);
	pid = blocked_by(PQbackendPID(lock));
	if (pid == 0)
		(void)itfx_exec(lock, "ROLLBACK", 0, NULL);
	cr_assert_gt(pid, 0, "the PATCH never waited for the lock");
	/* Its write transaction is open: BEGIN .. SAVEPOINT came first. */
	snprintf(victim, sizeof(victim), "%lld", pid);
	cr_assert_eq(itfx_count1("SELECT count(*) FROM pg_stat_activity "
	    "WHERE pid = $1::int AND xact_start < query_start", victim), 1,
	    "the waiting statement is not inside a write transaction");
	cr_assert_eq(itfx_count1("SELECT count(*) FROM (SELECT "
	    "pg_terminate_backend($1::int)) t", victim), 1);
	cr_assert_eq(itfx_exec(lock, "ROLLBACK", 0, NULL), 0);
	PQfinish(lock);
	pthread_join(t, NULL);

	cr_assert_eq(p.r.status, 503, "the PATCH was answered %d: %s",
	    p.r.status, p.r.body);
	cr_assert_not_null(it_header(&p.r, "retry-after"));
	it_resp_free(&p.r);
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loops WHERE id = $1::uuid "
	    "AND name = 'original' AND version = 1", id), 1,
	    "the loop was changed by a PATCH answered 503");
	kp[0] = u.id;
	kp[1] = key;
	cr_assert_eq(it_db_count("SELECT count(*) FROM idempotency_keys "
	    "WHERE user_id = $1::uuid AND idem_key = $2", 2, kp), 0,
	    "an answer was stored for the key");

	/* The client's retry with the same key runs afresh. */
	p.r.status = 0;
	patch_main(&p);
	cr_assert_eq(p.r.status, 200, "%s", p.r.body);
	cr_assert_null(it_header(&p.r, "idempotent-replayed"));
	cr_assert_str_eq(it_str(p.r.json, "loop.name"), "patched");
	it_resp_free(&p.r);
}

/* The handle's backend: db/ names its connections mpapi-<pid>. */
static char *
backend_of_handle(void)
{
	char	 app[32];

	snprintf(app, sizeof(app), "mpapi-%ld", (long)getpid());
	return itfx_text1("SELECT string_agg(pid::text, ' ') FROM "
	    "pg_stat_activity WHERE application_name = $1", app);
}

/*
 * A handle on the test database; with ready, connected and its read
 * statement prepared.  (Statements remember the connection generation
 * they were prepared on, so a process keeps to one handle.)
 */
static struct db *
handle(int ready)
{
	struct db_config dc;
	struct db	*db;
	int		 v;

	dc.conninfo = getenv("MP_TEST_DATABASE_URL");
	cr_assert_not_null(dc.conninfo);
	dc.connect_timeout_s = 5;
	dc.statement_timeout_ms = 5000;
	dc.pooler = DB_POOLER_AUTO;
	dc.session = 0;
	db = db_new(&dc);
	if (ready) {
		cr_assert_eq(db_ready(db, &v), DB_OK);
		cr_assert_gt(v, 0);
	}
	return db;
}

/* Terminate the handle's backend and wait until it is gone. */
static char *
kill_backend(void)
{
	char	*pid;
	int	 i;

	pid = backend_of_handle();
	cr_assert_not_null(pid, "the handle has no backend");
	cr_assert_eq(itfx_count1("SELECT count(*) FROM (SELECT "
	    "pg_terminate_backend($1::int, 5000)) t", pid), 1);
	for (i = 0; i < 100 && itfx_count1("SELECT count(*) FROM "
	    "pg_stat_activity WHERE pid = $1::int", pid) != 0; i++)
		usleep(50 * 1000);
	return pid;
}

Test(db_retry, a_read_outside_a_transaction_is_retried_once_on_a_new_connection)
{
	struct db	*db;
	char		*before, *after;
	int		 v;

	db = handle(1);
	before = kill_backend();
	cr_assert_eq(db_ready(db, &v), DB_OK, "the read was not retried");
	cr_assert_gt(v, 0);
	after = backend_of_handle();
	cr_assert_not_null(after);
	cr_assert_str_neq(before, after);
	cr_assert(strchr(after, ' ') == NULL, "more than one connection: %s",
	    after);
	free(before);
	free(after);
	db_free(db);
}

/*
 * prepared: the read's statement was prepared on the connection before
 * (it is sent as is) or not (it is prepared first): two code paths.
 */
static void
read_in_dead_transaction(int prepared)
{
	struct db	*db;
	char		*pid, *now;
	int		 v;

	db = handle(prepared);
	cr_assert_eq(db_exec_simple(db, "BEGIN"), DB_OK);
	cr_assert(db_in_transaction(db));
	pid = kill_backend();
	cr_assert_eq(db_ready(db, &v), DB_UNAVAILABLE,
	    "a read inside a transaction whose connection died was run again");
	cr_assert_null(backend_of_handle(), "a new connection was opened "
	    "inside the transaction");
	/* The transaction's next statement does not run elsewhere either. */
	cr_assert_eq(db_ready(db, &v), DB_UNAVAILABLE);
	cr_assert_neq(db_exec_simple(db, "COMMIT"), DB_OK,
	    "a dead transaction committed");
	cr_assert_null(backend_of_handle());
	/* Once the request is over the handle connects again. */
	db_end_request(db);
	cr_assert_eq(db_ready(db, &v), DB_OK);
	now = backend_of_handle();
	cr_assert_not_null(now);
	cr_assert_str_neq(now, pid);
	free(pid);
	free(now);
	db_free(db);
}

Test(db_retry, a_prepared_read_inside_a_transaction_is_not_retried_when_its_connection_dies)
{
	read_in_dead_transaction(1);
}

Test(db_retry, a_read_prepared_first_inside_a_transaction_is_not_retried_when_its_connection_dies)
{
	read_in_dead_transaction(0);
}

Test(db_retry, a_read_inside_the_dispatchers_write_transaction_is_not_retried)
{
	struct db	*db;
	struct db_write_spec	 w;
	struct db_write_outcome	 out;
	unsigned char	 fp[DB_FINGERPRINT_LEN];
	struct itfx_user u;
	char		 key[64], *pid;
	int		 v;

	itfx_db_user(&u);
	db = handle(1);
	memset(fp, 7, sizeof(fp));
	it_unique(key, sizeof(key), "dispatch-");
	memset(&w, 0, sizeof(w));
	w.user_id = u.id;
	w.token_ver = 1;
	w.budget = 1;
	w.limit = 600;
	w.window_s = 3600;
	w.key = key;
	w.fingerprint = fp;
	w.ttl_s = 60;
	db_write_outcome_init(&out);
	cr_assert_eq(db_write_begin(db, &w, &out), DB_OK);
	cr_assert_eq(out.verdict, DB_WRITE_GO);
	pid = kill_backend();
	cr_assert_eq(db_ready(db, &v), DB_UNAVAILABLE);
	cr_assert_null(backend_of_handle());
	cr_assert_neq(db_write_commit(db, &w, 1, 200, "{}", "{}", &out), DB_OK);
	cr_assert_null(backend_of_handle(), "the commit ran on a new "
	    "connection");
	db_write_outcome_release(&out);
	db_end_request(db);
	free(pid);
	db_free(db);
}

/*
 * The gate (db/conn.c, db_gate_install): its parameters are borrowed
 * for the scope of the body, so a parameter of any length and any
 * number of them reach PostgreSQL whole; it goes out with the first
 * statement only; a gate no statement met says so.
 */
static struct db_stmt st_gate_length = DB_STMT_RO("t_gate_length",
    "SELECT length($1::text)", 1);
static struct db_stmt st_gate_many = DB_STMT_RO("t_gate_many",
    "SELECT $1::int + $2::int + $3::int + $4::int + $5::int + $6::int + "
    "$7::int + $8::int + $9::int", 9);
static struct db_stmt st_gate_count = DB_STMT("t_gate_count",
    "SELECT set_config('mp.t_gate_n', (coalesce(nullif(current_setting("
    "'mp.t_gate_n', true), ''), '0')::int + $1::int)::text, false)", 1);
static struct db_stmt st_mark = DB_STMT("t_gate_mark",
    "SELECT set_config('mp.t_gate', 'ran', false)", 0);
static struct db_stmt st_read_mark = DB_STMT_RO("t_gate_read_mark",
    "SELECT coalesce(current_setting('mp.t_gate', true), ''), "
    "coalesce(current_setting('mp.t_gate_n', true), '')", 0);

/*
 * What db_write_gated does around its body: install a gate of gst with
 * p on db, run n statements st (the body), remove the gate.
 */
static void
gated_exec(struct db *db, struct db_gate *g, struct db_stmt *gst,
    const char *const *p, struct db_stmt *st, int n)
{
	PGresult	*res;
	int		 i;

	memset(g, 0, sizeof(*g));
	g->stmt = gst;
	g->params = p;
	db_gate_install(db, g);
	for (i = 0; i < n; i++) {
		cr_assert_eq(db_exec(db, st, NULL, &res), DB_OK);
		PQclear(res);
	}
	db_gate_install(db, NULL);
}

Test(db_gate, a_gate_parameter_of_300_bytes_reaches_postgresql_whole)
{
	struct db	*db;
	struct db_gate	 g;
	char		 big[301];
	const char	*p[1] = { big };

	memset(big, 'x', 300);
	big[300] = '\0';
	db = handle(1);
	gated_exec(db, &g, &st_gate_length, p, &st_read_mark, 1);
	cr_assert_eq(g.outcome, DB_GATE_PASSED);
	cr_assert_str_eq(PQgetvalue(g.res, 0, 0), "300");
	PQclear(g.res);
	db_end_request(db);
	db_free(db);
}

Test(db_gate, a_gate_of_nine_parameters_runs_whole_with_the_statement_it_rides_on)
{
	struct db	*db;
	struct db_gate	 g;
	PGresult	*res;
	const char	*p[9] = { "1", "2", "3", "4", "5", "6", "7", "8", "9" };

	db = handle(1);
	gated_exec(db, &g, &st_gate_many, p, &st_mark, 1);
	cr_assert_eq(g.outcome, DB_GATE_PASSED);
	cr_assert_str_eq(PQgetvalue(g.res, 0, 0), "45");
	PQclear(g.res);
	cr_assert_eq(db_exec(db, &st_read_mark, NULL, &res), DB_OK);
	cr_assert_str_eq(PQgetvalue(res, 0, 0), "ran",
	    "the gated statement did not run");
	PQclear(res);
	db_end_request(db);
	db_free(db);
}

Test(db_gate, a_gate_goes_out_with_the_first_statement_only)
{
	struct db	*db;
	struct db_gate	 g;
	PGresult	*res;
	const char	*p[1] = { "1" };

	db = handle(1);
	gated_exec(db, &g, &st_gate_count, p, &st_mark, 2);
	cr_assert_eq(g.outcome, DB_GATE_PASSED);
	PQclear(g.res);
	cr_assert_eq(db_exec(db, &st_read_mark, NULL, &res), DB_OK);
	cr_assert_str_eq(PQgetvalue(res, 0, 1), "1", "the gate ran %s times",
	    PQgetvalue(res, 0, 1));
	PQclear(res);
	db_end_request(db);
	db_free(db);
}

Test(db_gate, a_gate_no_statement_met_says_unused_and_runs_nothing)
{
	struct db	*db;
	struct db_gate	 g;
	PGresult	*res;
	const char	*p[1] = { "1" };

	db = handle(1);
	gated_exec(db, &g, &st_gate_count, p, &st_mark, 0);
	cr_assert_eq(g.outcome, DB_GATE_UNUSED);
	cr_assert_null(g.res);
	cr_assert_eq(db_exec(db, &st_read_mark, NULL, &res), DB_OK);
	cr_assert_str_eq(PQgetvalue(res, 0, 1), "", "the gate ran");
	PQclear(res);
	db_end_request(db);
	db_free(db);
}
