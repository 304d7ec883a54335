#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "base/log.h"
#include "db/db_int.h"

struct db {
	PGconn			*conn;
	struct db_config	 cfg;
	unsigned		 gen;		/* bumped on every (re)connect */
	char			 constraint[64]; /* of the last violation */
	int			 outer;		/* a write transaction of the
						   dispatcher is open: see
						   db_outer_set() */
	int			 retry_seen;	/* a 40001/40P01 since then */
	int			 lost_in_txn;	/* the connection died inside a
						   transaction: see txn_open() */
	int			 session_lock;	/* an advisory lock held at
						   session level: see
						   db_session_lock_set() */
	/* The gate db_write_gated installed, until its first use. */
	struct db_gate		*gate;
	size_t			 big;		/* largest message this request:
						   see db_end_request() */
	/*
	 * Found out at connect (see probe()): whether a pooler in
	 * transaction mode sits between us and PostgreSQL.  Then no
	 * session state may be relied on: statements go unnamed, and
	 * the timeouts are set in each transaction (local) unless the
	 * server's defaults (ALTER ROLE/DATABASE ... SET) already are
	 * the configured ones.
	 */
	int			 pooled;
	int			 named;		/* named prepared statements */
	int			 local_timeouts;
	char			 timeout_sql[160]; /* set_config(.., true) */
	char			 begin_sql[192];   /* BEGIN; SET LOCAL .. */
	char			 sqlstate[6];	/* of the last failure */
	/* A read replica (db_replica_attach), or this is one. */
	struct db		*replica;
	int			 is_replica;	/* statements go unnamed: the
						   db_stmt records one
						   connection's preparation */
	time_t			 down_until;	/* no reconnect before */
};

/*
 * libpq grows a connection's input and output buffers to the largest
 * message they ever carried and never shrinks them, so one 16 MB row
 * would stay in the worker for the life of the connection.  A request
 * whose statements sent or received a message over DB_BUFFER_KEEP
 * bytes ends by closing the connection; the next request opens a
 * fresh one (and prepares its statements again).
 */
#define DB_BUFFER_KEEP	(256 * 1024)

/* Note the size of one outgoing statement's parameters. */
static void
note_params(struct db *db, int n, const char *const *params)
{
	size_t	 sum = 0;
	int	 i;

	for (i = 0; params != NULL && i < n; i++)
		if (params[i] != NULL)
			sum += strlen(params[i]);
	if (sum > db->big)
		db->big = sum;
}

/* Note the largest row of res: one DataRow message each. */
static void
note_result(struct db *db, const PGresult *res)
{
	size_t	 row;
	int	 r, c, nr, nc;

	nr = PQntuples(res);
	nc = PQnfields(res);
	for (r = 0; r < nr; r++) {
		row = 0;
		for (c = 0; c < nc; c++)
			row += (size_t)PQgetlength(res, r, c);
		if (row > db->big)
			db->big = row;
	}
}

static void
notice_to_log(void *arg, const char *msg)
{
	(void)arg;
	log_msg("debug", "postgres: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* A handle that connects on first use. */
struct db *
db_new(const struct db_config *cfg)
{
	struct db	*db;

	db = xcalloc(1, sizeof(*db));
	db->cfg = *cfg;
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	db_free(db->replica);
	free(db);
}

/*
 * What sits behind the connection, found out in one round trip: the
 * backend's own pid against the one the connection's start-up message
 * reported (PgBouncer and other poolers hand the client a key of their
 * own, so the two differ), and the server's defaults of the two
 * timeouts (milliseconds).  Returns 0, or -1 when the connection
 * failed.
 */
static int
probe(struct db *db, int *pid, int *stmt_ms, int *idle_ms)
{
	PGresult	*res;
	int		 ok;

	res = PQexec(db->conn, "SELECT pg_backend_pid(), "
	    "(SELECT setting FROM pg_settings WHERE name = 'statement_timeout'), "
	    "(SELECT setting FROM pg_settings "
	    "WHERE name = 'idle_in_transaction_session_timeout')");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (ok) {
		*pid = atoi(PQgetvalue(res, 0, 0));
		*stmt_ms = atoi(PQgetvalue(res, 0, 1));
		*idle_ms = atoi(PQgetvalue(res, 0, 2));
	}
	PQclear(res);
	return ok ? 0 : -1;
}

/*
 * Decide how statements and timeouts go on the new connection.  No
 * start-up "options" are ever sent (PgBouncer refuses them, or with
 * ignore_startup_parameters drops them: the timeout would silently be
 * none).  Direct to PostgreSQL: the timeouts are set once for the
 * session and statements are prepared once per connection, as before.
 * Through a pooler in transaction mode (detected, or MP_DB_POOLER=
 * transaction): a session is shared with other clients between
 * transactions, so nothing is left on it: statements are unnamed
 * (parsed with each execution, in the same round trip) and the
 * timeouts are set with SET LOCAL in each transaction, unless the
 * server's defaults for our role or database already are ours (then
 * it costs nothing).  Returns 0 when the connection is usable.
 */
static int
configure(struct db *db)
{
	PGresult	*res;
	char		 sql[160];
	int		 pid = 0, stmt_ms = -1, idle_ms = -1, ok;
	int		 idle = db->cfg.statement_timeout_ms * 2;

	if (probe(db, &pid, &stmt_ms, &idle_ms) != 0)
		return -1;
	switch (db->cfg.pooler) {
	case DB_POOLER_NONE:
		db->pooled = 0;
		break;
	case DB_POOLER_TRANSACTION:
		db->pooled = 1;
		break;
	default:
		db->pooled = pid != PQbackendPID(db->conn);
		break;
	}
	if (db->pooled && db->cfg.session) {
		log_msg("error", "this program needs its own database "
		    "session (LISTEN, a session lock), and DATABASE_URL "
		    "goes through a pooler in transaction mode: set "
		    "DATABASE_DIRECT_URL to PostgreSQL itself");
		return -1;
	}
	db->named = !db->pooled && !db->is_replica;
	db->local_timeouts = 0;
	if (stmt_ms == db->cfg.statement_timeout_ms && idle_ms == idle)
		return 0;
	if (db->pooled) {
		db->local_timeouts = 1;
		snprintf(db->timeout_sql, sizeof(db->timeout_sql),
		    "SELECT set_config('statement_timeout', '%d', true), "
		    "set_config('idle_in_transaction_session_timeout', "
		    "'%d', true)", db->cfg.statement_timeout_ms, idle);
		snprintf(db->begin_sql, sizeof(db->begin_sql),
		    "BEGIN; SET LOCAL statement_timeout = %d; "
		    "SET LOCAL idle_in_transaction_session_timeout = %d",
		    db->cfg.statement_timeout_ms, idle);
		return 0;
	}
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d; "
	    "SET idle_in_transaction_session_timeout = %d",
	    db->cfg.statement_timeout_ms, idle);
	res = PQexec(db->conn, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	return ok ? 0 : -1;
}

/* 1 when the connection goes through a pooler in transaction mode. */
int
db_pooled(struct db *db)
{
	return db->conn != NULL && db->pooled;
}

/* Open and configure one connection; 0 when usable.  No logging. */
static int
connect_once(struct db *db, const char *const *keys,
    const char *const *vals)
{
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
		return -1;
	PQsetNoticeReceiver(db->conn, NULL, NULL);
	PQsetNoticeProcessor(db->conn, notice_to_log, NULL);
	return configure(db);
}

/*
 * (Re)open the connection.  Returns 0 when it is usable.  A failure is
 * logged without the conninfo, which may hold a password.
 */
static int
db_connect(struct db *db)
{
	const char	*keys[8], *vals[8];
	char		 app[64], cto[16];
	int		 n = 0, r;

	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	snprintf(app, sizeof(app), "mpapi-%ld", (long)getpid());
	snprintf(cto, sizeof(cto), "%d", db->cfg.connect_timeout_s);
	keys[n] = "dbname";		vals[n++] = db->cfg.conninfo;
	keys[n] = "application_name";	vals[n++] = app;
	keys[n] = "connect_timeout";	vals[n++] = cto;
	keys[n] = "client_encoding";	vals[n++] = "UTF8";
	keys[n] = NULL;			vals[n] = NULL;
	r = connect_once(db, keys, vals);
	/*
	 * PgBouncer lets a client in, then refuses its first query for a
	 * moment after a failed server login ("server login has been
	 * failing, try again later"), also just after PostgreSQL came
	 * back: one more try after 0.4 s, by when it has tried again.
	 */
	if (r != 0 && db->conn != NULL &&
	    strstr(PQerrorMessage(db->conn), "login has been failing")) {
		PQfinish(db->conn);
		usleep(400 * 1000);
		r = connect_once(db, keys, vals);
	}
	db->gen++;
	if (r != 0) {
		if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
			log_msg("warn", "database connection failed: %.*s",
			    db->conn ? (int)strcspn(PQerrorMessage(db->conn),
			    "\n") : 3, db->conn ? PQerrorMessage(db->conn) :
			    "oom");
		if (db->conn != NULL)
			PQfinish(db->conn);
		db->conn = NULL;
		return -1;
	}
	return 0;
}

/*
 * 1 when a connection is open, connecting first if need be.  Not after
 * the connection died inside a transaction, until db_end_request(): a
 * new connection would run the rest of that transaction's statements
 * one by one in autocommit.
 */
int
db_connected(struct db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 1;
	if (db->lost_in_txn)
		return 0;
	return db_connect(db) == 0;
}

/*
 * 1 if a transaction is open on the connection: sampled before a
 * statement is sent, since once the connection has died libpq reports
 * PQTRANS_UNKNOWN whatever it was.  The dispatcher's write transaction
 * counts even if the status says otherwise.
 */
static int
txn_open(struct db *db)
{
	return db->outer || (db->conn != NULL &&
	    PQtransactionStatus(db->conn) != PQTRANS_IDLE);
}

/*
 * After a failed round trip: 1 if the connection died.  One that died
 * inside a transaction (in_txn, sampled before sending) is not
 * reopened until the request ends.
 */
static int
conn_lost(struct db *db, int in_txn)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	if (in_txn)
		db->lost_in_txn = 1;
	return 1;
}

PGconn *
db_conn(struct db *db)
{
	return db->conn;
}

/* Bumped on every (re)connect: a session's state (LISTEN) is gone. */
unsigned
db_generation(struct db *db)
{
	return db->gen;
}

const char *
db_last_constraint(struct db *db)
{
	return db->constraint;
}

/* The SQLSTATE of the last failed statement ("" for none or lost). */
const char *
db_last_sqlstate(struct db *db)
{
	return db->sqlstate;
}

const char *
db_value(PGresult *res, int row, int col)
{
	if (row >= PQntuples(res) || col >= PQnfields(res) ||
	    PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

/* Sort a result into a status by its SQLSTATE. */
enum db_status
db_classify(struct db *db, PGresult *res)
{
	const char	*state, *cons;
	ExecStatusType	 st;

	db->constraint[0] = '\0';
	db->sqlstate[0] = '\0';
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return DB_OK;
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (state == NULL)
		return DB_UNAVAILABLE;	/* client side: connection lost */
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state);
	if ((cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME)) != NULL)
		snprintf(db->constraint, sizeof(db->constraint), "%s", cons);
	if (strncmp(state, "P04", 3) == 0)
		return DB_REFUSED;	/* a gate's RAISE: an answer, not a bug */
	if (strcmp(state, "23505") == 0)
		return DB_UNIQUE;
	if (strcmp(state, "23503") == 0)
		return DB_FOREIGN_KEY;
	if (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0 ||
	    strncmp(state, "22", 2) == 0)
		return DB_INVALID;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
		db->retry_seen = 1;
		return DB_RETRY;
	}
	if (strncmp(state, "08", 2) == 0 || strcmp(state, "57014") == 0 ||
	    strncmp(state, "57P", 3) == 0 || strcmp(state, "53300") == 0)
		return DB_UNAVAILABLE;
	if (strncmp(state, "53", 2) == 0) {
		/* Disk full, out of memory: the server's, for a while. */
		log_msg("error", "database out of resources %s: %.*s", state,
		    (int)strcspn(PQresultErrorMessage(res), "\n"),
		    PQresultErrorMessage(res));
		return DB_UNAVAILABLE;
	}
	log_msg("error", "database error %s: %.*s", state,
	    (int)strcspn(PQresultErrorMessage(res), "\n"),
	    PQresultErrorMessage(res));
	return DB_ERROR;
}

static enum db_status
prepare(struct db *db, struct db_stmt *st)
{
	PGresult	*res;
	enum db_status	 s;

	res = PQprepare(db->conn, st->name, st->sql, st->nparams, NULL);
	s = db_classify(db, res);
	PQclear(res);
	if (s == DB_OK)
		st->gen = db->gen;
	else if (s != DB_UNAVAILABLE)
		log_msg("error", "cannot prepare %s", st->name);
	return s;
}

/*
 * Inside the dispatcher's write transaction a failed statement leaves
 * the transaction aborted; roll back to the savepoint taken before the
 * handler, so that the handler's next statement runs (as it would have
 * in autocommit) and the transaction can still commit what came
 * before the handler (the write budget, the idempotency key lock).
 */
static void
outer_recover(struct db *db)
{
	PGresult	*res;

	if (!db->outer || db->conn == NULL ||
	    PQtransactionStatus(db->conn) != PQTRANS_INERROR)
		return;
	res = PQexec(db->conn, "ROLLBACK TO SAVEPOINT " DB_HANDLER_SAVEPOINT);
	PQclear(res);
}

/*
 * Install gate (NULL: none) to go out in one pipeline with the next
 * statement db_exec runs; it is used once, and what it did is written
 * into *gate.  The caller owns *gate and removes it (NULL) before it
 * goes out of scope.
 */
void
db_gate_install(struct db *db, struct db_gate *gate)
{
	if (gate != NULL) {
		gate->outcome = DB_GATE_UNUSED;
		gate->res = NULL;
		gate->sqlstate[0] = gate->detail[0] = '\0';
	}
	db->gate = gate;
}

/*
 * st behind the installed gate, in one pipeline with no BEGIN: both run in
 * one implicit transaction that the pipeline's sync commits (or, inside
 * an explicit transaction, as part of it).  A failing gate aborts st.
 */
static enum db_status
exec_gated(struct db *db, struct db_stmt *st, const char *const *params,
    PGresult **out)
{
	struct db_gate	*g = db->gate;
	struct db_step	 steps[2];
	enum db_status	 s;
	int		 restartable;

	db->gate = NULL;	/* used once */
	/*
	 * Two reads outside a transaction may be sent again on a new
	 * connection when the old one is found dead, as db_exec does
	 * for one read.
	 */
	restartable = g->stmt->readonly && st->readonly && !db->outer &&
	    (db->conn == NULL || PQtransactionStatus(db->conn) == PQTRANS_IDLE);
	memset(steps, 0, sizeof(steps));
	steps[0].stmt = g->stmt;
	steps[0].params = g->params;
	steps[1].stmt = st;
	steps[1].params = params;
	s = db_pipeline(db, steps, 2, restartable);
	if (steps[0].status == DB_OK) {
		g->outcome = DB_GATE_PASSED;
		g->res = steps[0].res;
		steps[0].res = NULL;
	} else if (steps[0].status == DB_REFUSED) {
		g->outcome = DB_GATE_REFUSED;
		memcpy(g->sqlstate, steps[0].sqlstate, sizeof(g->sqlstate));
		memcpy(g->detail, steps[0].detail, sizeof(g->detail));
	}
	if (s == DB_OK) {
		*out = steps[1].res;
		steps[1].res = NULL;
	}
	db_steps_clear(steps, 2);
	if (s != DB_OK)
		outer_recover(db);
	return s;
}

/*
 * st outside a transaction on a pooled connection whose timeouts are
 * not the server's defaults: in one pipeline behind the set_config()
 * that sets them for its implicit transaction (one round trip still).
 */
static enum db_status
exec_timed(struct db *db, struct db_stmt *st, const char *const *params,
    PGresult **out)
{
	struct db_step	 step;
	enum db_status	 s;

	memset(&step, 0, sizeof(step));
	step.stmt = st;
	step.params = params;
	s = db_pipeline(db, &step, 1, st->readonly);
	if (s == DB_OK) {
		*out = step.res;
		step.res = NULL;
	}
	db_steps_clear(&step, 1);
	return s;
}

/*
 * Run statement st with text params (st->nparams of them).  On DB_OK
 * *out holds the result (caller PQclears); otherwise *out is NULL.
 * A read-only statement cut by a lost connection is tried once more on
 * a new connection when no transaction was open before it was sent; a
 * write is not (its outcome is unknown: Idempotency-Key covers that),
 * nor anything inside a transaction (it died with the connection).
 */
enum db_status
db_exec(struct db *db, struct db_stmt *st, const char *const *params,
    PGresult **out)
{
	PGresult	*res;
	enum db_status	 s;
	int		 tries, in_txn;

	*out = NULL;
	if (db->gate != NULL)
		return exec_gated(db, st, params, out);
	for (tries = 0; tries < 2; tries++) {
		if (!db_connected(db))
			return DB_UNAVAILABLE;
		in_txn = txn_open(db);
		if (db->local_timeouts && !in_txn)
			return exec_timed(db, st, params, out);
		if (db->named && st->gen != db->gen &&
		    (s = prepare(db, st)) != DB_OK) {
			if (s == DB_UNAVAILABLE && conn_lost(db, in_txn) &&
			    st->readonly && !in_txn && tries == 0)
				continue;
			outer_recover(db);
			return s;
		}
		note_params(db, st->nparams, params);
		if (db->named)
			res = PQexecPrepared(db->conn, st->name, st->nparams,
			    params, NULL, NULL, 0);
		else
			res = PQexecParams(db->conn, st->sql, st->nparams,
			    NULL, params, NULL, NULL, 0);
		s = db_classify(db, res);
		if (s == DB_OK) {
			note_result(db, res);
			*out = res;
			return DB_OK;
		}
		PQclear(res);
		if (s == DB_UNAVAILABLE && conn_lost(db, in_txn) &&
		    st->readonly && !in_txn && tries == 0)
			continue;
		outer_recover(db);
		return s;
	}
	return DB_UNAVAILABLE;
}

/*
 * Run n steps in one round trip (libpq pipeline mode): each step is a
 * prepared statement (prepared in the same pipeline when this
 * connection has not seen it yet) or parameterless SQL.  Every step
 * gets its status; a step after a failed one is DB_ERROR with no
 * result.  Returns the status of the first step that failed, or DB_OK.
 * Results of DB_OK steps are the caller's to PQclear (db_steps_clear).
 * With restartable set (the pipeline opens a transaction, so nothing
 * has happened yet) a connection found dead is reopened and the
 * pipeline sent once more.
 */
enum db_status
db_pipeline(struct db *db, struct db_step *steps, size_t n, int restartable)
{
	struct {
		size_t	 step;
		int	 prepare;	/* 1: a Parse; 2: the timeouts */
	}		 slot[2 * DB_PIPELINE_MAX + 1];
	PGresult	*res;
	ExecStatusType	 rs;
	enum db_status	 first, s;
	size_t		 i, nslots, got;
	int		 tries, nulls, ok, in_txn, timed;

	if (n > DB_PIPELINE_MAX)
		return DB_ERROR;
	first = DB_UNAVAILABLE;
	for (tries = 0; tries < 2; tries++) {
		for (i = 0; i < n; i++) {
			steps[i].res = NULL;
			steps[i].status = DB_ERROR;
		}
		if (!db_connected(db))
			return DB_UNAVAILABLE;
		in_txn = txn_open(db);
		if (PQenterPipelineMode(db->conn) != 1)
			return DB_ERROR;
		ok = 1;
		nslots = 0;
		/*
		 * Pooled, outside a transaction: the timeouts first (after
		 * a BEGIN that opens the pipeline), local to the
		 * transaction the pipeline is.
		 */
		timed = db->local_timeouts && !in_txn;
		for (i = 0; i < n && ok; i++) {
			struct db_stmt	*st = steps[i].stmt;

			if (timed && (i > 0 || st != NULL ||
			    strcmp(steps[i].sql, "BEGIN") != 0)) {
				ok = PQsendQueryParams(db->conn,
				    db->timeout_sql, 0, NULL, NULL, NULL,
				    NULL, 0);
				slot[nslots].step = i;
				slot[nslots++].prepare = 2;
				timed = 0;
				if (!ok)
					break;
			}
			if (st == NULL) {
				ok = PQsendQueryParams(db->conn, steps[i].sql,
				    0, NULL, NULL, NULL, NULL, 0);
				slot[nslots].step = i;
				slot[nslots++].prepare = 0;
				continue;
			}
			if (!db->named) {
				note_params(db, st->nparams, steps[i].params);
				ok = PQsendQueryParams(db->conn, st->sql,
				    st->nparams, NULL, steps[i].params, NULL,
				    NULL, 0);
				slot[nslots].step = i;
				slot[nslots++].prepare = 0;
				continue;
			}
			if (st->gen != db->gen) {
				ok = PQsendPrepare(db->conn, st->name, st->sql,
				    st->nparams, NULL);
				slot[nslots].step = i;
				slot[nslots++].prepare = 1;
			}
			if (ok) {
				note_params(db, st->nparams, steps[i].params);
				ok = PQsendQueryPrepared(db->conn, st->name,
				    st->nparams, steps[i].params, NULL, NULL, 0);
				slot[nslots].step = i;
				slot[nslots++].prepare = 0;
			}
		}
		if (ok)
			ok = PQpipelineSync(db->conn);
		/*
		 * Collect one result per query sent (each followed by a
		 * NULL), then the sync.  Two NULLs in a row mean nothing
		 * more will come: the connection broke.
		 */
		first = DB_OK;
		got = 0;
		nulls = 0;
		while (ok) {
			if ((res = PQgetResult(db->conn)) == NULL) {
				if (++nulls > 1)
					break;
				continue;
			}
			nulls = 0;
			rs = PQresultStatus(res);
			if (rs == PGRES_PIPELINE_SYNC) {
				PQclear(res);
				break;
			}
			if (got >= nslots) {
				PQclear(res);
				continue;
			}
			i = slot[got].step;
			s = rs == PGRES_PIPELINE_ABORTED ? DB_ERROR :
			    db_classify(db, res);
			if (s != DB_OK && rs != PGRES_PIPELINE_ABORTED &&
			    first == DB_OK)
				first = s;
			if (slot[got].prepare == 2) {
				got++;
				PQclear(res);
				continue;
			}
			if (slot[got++].prepare) {
				if (s == DB_OK)
					steps[i].stmt->gen = db->gen;
				PQclear(res);
				continue;
			}
			steps[i].status = s;
			if (s != DB_OK && rs != PGRES_PIPELINE_ABORTED) {
				const char *f;

				f = PQresultErrorField(res, PG_DIAG_SQLSTATE);
				snprintf(steps[i].sqlstate,
				    sizeof(steps[i].sqlstate), "%s", f ? f : "");
				f = PQresultErrorField(res,
				    PG_DIAG_MESSAGE_DETAIL);
				snprintf(steps[i].detail,
				    sizeof(steps[i].detail), "%s", f ? f : "");
			}
			if (s == DB_OK) {
				note_result(db, res);
				steps[i].res = res;
			} else
				PQclear(res);
		}
		if (PQpipelineStatus(db->conn) != PQ_PIPELINE_OFF &&
		    PQexitPipelineMode(db->conn) != 1) {
			/* Results left unread: this connection is unusable. */
			PQfinish(db->conn);
			db->conn = NULL;
		}
		if (ok && got == nslots && first == DB_OK)
			return DB_OK;
		if (first == DB_OK)
			first = DB_UNAVAILABLE;
		if (first != DB_UNAVAILABLE || !conn_lost(db, in_txn) ||
		    !restartable || in_txn || tries > 0)
			break;
		db_steps_clear(steps, n);
		if (db->conn != NULL) {
			PQfinish(db->conn);
			db->conn = NULL;
		}
	}
	return first;
}

/* PQclear the results db_pipeline left in steps. */
void
db_steps_clear(struct db_step *steps, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		PQclear(steps[i].res);
		steps[i].res = NULL;
	}
}

/* Run a parameterless utility statement (BEGIN, COMMIT). */
enum db_status
db_exec_simple(struct db *db, const char *sql)
{
	PGresult	*res;
	enum db_status	 s;
	int		 in_txn;

	if (!db_connected(db))
		return DB_UNAVAILABLE;
	in_txn = txn_open(db);
	if (db->local_timeouts && !in_txn && strcmp(sql, "BEGIN") == 0)
		sql = db->begin_sql;
	res = PQexec(db->conn, sql);
	s = db_classify(db, res);
	PQclear(res);
	if (s == DB_UNAVAILABLE)
		(void)conn_lost(db, in_txn);
	return s;
}

/*
 * Roll back what the handler did: inside the dispatcher's write
 * transaction back to the savepoint taken before the handler ran,
 * otherwise the whole transaction.
 */
void
db_rollback(struct db *db)
{
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK ||
	    PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		return;
	if (db->outer)
		(void)db_exec_simple(db,
		    "ROLLBACK TO SAVEPOINT " DB_HANDLER_SAVEPOINT);
	else
		(void)db_exec_simple(db, "ROLLBACK");
}

int
db_in_transaction(struct db *db)
{
	return db->conn != NULL &&
	    PQtransactionStatus(db->conn) != PQTRANS_IDLE;
}

/*
 * Mark the dispatcher's write transaction open (on) or closed (off).
 * Opening clears the record of serialization failures, which
 * db_retry_seen() reports.
 */
void
db_outer_set(struct db *db, int on)
{
	db->outer = on;
	if (on)
		db->retry_seen = 0;
}

/* 1 if a statement failed with 40001/40P01 since db_outer_set(db, 1). */
int
db_retry_seen(struct db *db)
{
	return db->retry_seen;
}

/* Forget serialization failures seen so far (a gated write starts). */
void
db_retry_reset(struct db *db)
{
	db->retry_seen = 0;
}

/*
 * Called after every request: a transaction left open is a bug in a
 * handler; roll it back so it cannot leak into the next request.
 * Session-level advisory locks taken for the request are released.  A
 * connection that carried a message over DB_BUFFER_KEEP bytes is
 * closed, so that libpq's grown buffers go with it.
 */
void
db_end_request(struct db *db)
{
	PGresult	*res;
	size_t		 big = db->big;
	int		 locked = db->session_lock;

	if (db->replica != NULL)
		db_end_request(db->replica);
	db->session_lock = 0;
	db->outer = 0;
	db->lost_in_txn = 0;
	db->gate = NULL;
	db->big = 0;
	if (db->conn == NULL)
		return;
	if (PQstatus(db->conn) != CONNECTION_OK) {
		PQfinish(db->conn);
		db->conn = NULL;
		return;
	}
	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
		log_msg("error", "transaction left open by a handler");
		db_rollback(db);
	}
	if (locked) {
		res = PQexec(db->conn, "SELECT pg_advisory_unlock_all()");
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			/* A lock that might outlive the request: drop it. */
			PQfinish(db->conn);
			db->conn = NULL;
		}
		PQclear(res);
	}
	if (big > DB_BUFFER_KEEP && db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
}

/*
 * Note that this session took an advisory lock at session level (it
 * outlives transactions): db_end_request releases it after the
 * request.
 */
void
db_session_lock_set(struct db *db)
{
	db->session_lock = 1;
}

const char *
db_status_name(enum db_status s)
{
	switch (s) {
	case DB_OK: return "ok";
	case DB_NOT_FOUND: return "not found";
	case DB_UNIQUE: return "unique violation";
	case DB_INVALID: return "invalid data";
	case DB_FOREIGN_KEY: return "foreign key violation";
	case DB_RETRY: return "serialization failure";
	case DB_UNAVAILABLE: return "database unavailable";
	case DB_REFUSED: return "refused";
	case DB_ERROR: return "database error";
	}
	return "?";
}

/*
 * The replica counters: reads served by it, and reads that went to the
 * primary instead, by reason.  Each process counts its own (rc) and
 * adds them to replica_read_counts (0030) now and then
 * (db_counters_flush); /metrics reads the table.
 */
enum replica_counter {
	RC_READS,
	RC_DOWN,		/* no connection */
	RC_LAG,			/* replay lag past MP_READ_MAX_LAG_MS */
	RC_BEHIND,		/* X-Read-After not replayed in time */
	RC__MAX
};

#define RC_FLUSH_MS	1000	/* a process adds its counts at most this often */

static uint64_t	 rc[RC__MAX];		/* counted, not yet in the table */
static long long rc_flushed_ms;		/* when they last were added */

static long long now_ms(void);

static void
rc_add(enum replica_counter i)
{
	rc[i]++;
}

/* Rows of the statements below: 'reads', then the reasons. */
static struct db_stmt st_counts_add = DB_STMT("replica_counts_add",
    "UPDATE replica_read_counts AS c SET n = c.n + v.d "
    "FROM (VALUES ('reads', $1::bigint), ('down', $2::bigint), "
    "('lag', $3::bigint), ('behind', $4::bigint)) AS v (outcome, d) "
    "WHERE c.outcome = v.outcome AND v.d > 0", 4);

static struct db_stmt st_counts = DB_STMT_RO("replica_counts",
    "SELECT coalesce(sum(n) FILTER (WHERE outcome = 'reads'), 0), "
    "coalesce(sum(n) FILTER (WHERE outcome = 'down'), 0), "
    "coalesce(sum(n) FILTER (WHERE outcome = 'lag'), 0), "
    "coalesce(sum(n) FILTER (WHERE outcome = 'behind'), 0) "
    "FROM replica_read_counts", 0);

void
db_counters_flush(struct db *db, int force)
{
	char		 v[RC__MAX][24];
	const char	*p[RC__MAX];
	PGresult	*res;
	long long	 now;
	int		 i, any = 0;

	for (i = 0; i < RC__MAX; i++)
		any |= rc[i] != 0;
	now = now_ms();
	if (!any || (!force && now - rc_flushed_ms < RC_FLUSH_MS))
		return;
	for (i = 0; i < RC__MAX; i++) {
		snprintf(v[i], sizeof(v[i]), "%llu", (unsigned long long)rc[i]);
		p[i] = v[i];
	}
	rc_flushed_ms = now;
	if (db_exec(db, &st_counts_add, p, &res) != DB_OK)
		return;			/* kept: added at a later flush */
	PQclear(res);
	memset(rc, 0, sizeof(rc));
}

/*
 * Append the replica counters to b (Prometheus text), when a replica is
 * attached: this process's pending counts first added to the table,
 * then the table's sums, every worker's.
 */
enum db_status
db_replica_metrics(struct db *db, struct buf *b)
{
	static const char *const reason[RC__MAX] = {
		NULL, "down", "lag", "behind"
	};
	PGresult	*res;
	enum db_status	 s;
	int		 i;

	if (db->replica == NULL)
		return DB_OK;
	db_counters_flush(db, 1);
	if ((s = db_exec(db, &st_counts, NULL, &res)) != DB_OK)
		return s;
	buf_printf(b, "# HELP mpapi_replica_reads_total Reads served by the "
	    "read replica.\n# TYPE mpapi_replica_reads_total counter\n"
	    "mpapi_replica_reads_total %s\n", PQgetvalue(res, 0, RC_READS));
	buf_puts(b, "# HELP mpapi_replica_fallbacks_total Reads the replica "
	    "could have served that went to the primary, by reason.\n"
	    "# TYPE mpapi_replica_fallbacks_total counter\n");
	for (i = RC_DOWN; i < RC__MAX; i++)
		buf_printf(b, "mpapi_replica_fallbacks_total{reason=\"%s\"} "
		    "%s\n", reason[i], PQgetvalue(res, 0, i));
	PQclear(res);
	return DB_OK;
}

void
db_replica_attach(struct db *db, const struct db_config *cfg)
{
	db_free(db->replica);
	db->replica = db_new(cfg);
	db->replica->is_replica = 1;
}

int
db_has_replica(struct db *db)
{
	return db->replica != NULL;
}

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Where the replica is, in one round trip: whether it has replayed lsn
 * (1 when lsn is NULL), and its replay lag in milliseconds: the time
 * since the last replayed commit while received WAL waits to be
 * replayed, 0 when all of it is.  Returns 0, or -1 when the replica
 * does not answer (its connection is then closed).
 */
static int
replica_probe(struct db *r, const char *lsn, int *caught, long long *lag)
{
	PGresult	*res;
	const char	*p[1];
	int		 ok;

	p[0] = lsn;
	res = PQexecParams(r->conn, "SELECT pg_is_in_recovery() AND "
	    "coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, true), "
	    "CASE WHEN pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() "
	    "THEN coalesce((extract(epoch FROM now() - "
	    "pg_last_xact_replay_timestamp()) * 1000)::bigint, 0) "
	    "ELSE 0 END", 1, NULL, p, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (ok) {
		*caught = PQgetvalue(res, 0, 0)[0] == 't';
		*lag = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
	if (!ok) {
		PQfinish(r->conn);
		r->conn = NULL;
	}
	return ok ? 0 : -1;
}

struct db *
db_reader(struct db *db, const struct db_read_ask *ask)
{
	struct db	*r = db->replica;
	char		 lsn[40];
	long long	 lag, deadline;
	int		 caught;

	if (r == NULL || (!ask->anonymous && !ask->has_lsn))
		return db;
	if (r->conn == NULL && time(NULL) < r->down_until) {
		rc_add(RC_DOWN);
		return db;
	}
	if (!db_connected(r)) {
		r->down_until = time(NULL) + 1;
		rc_add(RC_DOWN);
		return db;
	}
	if (ask->has_lsn)
		snprintf(lsn, sizeof(lsn), "%X/%X",
		    (unsigned)(ask->lsn >> 32), (unsigned)ask->lsn);
	deadline = now_ms() + ask->wait_ms;
	for (;;) {
		if (replica_probe(r, ask->has_lsn ? lsn : NULL, &caught,
		    &lag) != 0) {
			r->down_until = time(NULL) + 1;
			rc_add(RC_DOWN);
			return db;
		}
		if (caught) {
			if (lag > ask->max_lag_ms) {
				rc_add(RC_LAG);
				return db;
			}
			rc_add(RC_READS);
			return r;
		}
		if (now_ms() >= deadline) {
			rc_add(RC_BEHIND);
			return db;
		}
		usleep(10 * 1000);
	}
}

void
db_reader_failed(struct db *r)
{
	if (!r->is_replica)
		return;
	if (rc[RC_READS] > 0)
		rc[RC_READS]--;		/* counted by db_reader, not served */
	rc_add(RC_DOWN);
	if (r->conn == NULL || PQstatus(r->conn) != CONNECTION_OK)
		r->down_until = time(NULL) + 1;
}

int
db_commit_lsn(struct db *db, uint64_t *lsn)
{
	PGresult	*res;
	unsigned	 hi, lo;
	int		 ok;

	*lsn = 0;
	if (!db_connected(db))
		return -1;
	res = PQexec(db->conn, "SELECT pg_current_wal_insert_lsn()");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    sscanf(PQgetvalue(res, 0, 0), "%X/%X", &hi, &lo) == 2;
	if (ok)
		*lsn = (uint64_t)hi << 32 | lo;
	PQclear(res);
	return ok ? 0 : -1;
}
