#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "fcgi/buf.h"
#include "fcgi/log.h"
#include "db/db_int.h"

struct db {
	PGconn			*conn;
	struct db_config	 cfg;
	unsigned		 gen;		/* bumped on every (re)connect */
	char			 constraint[64]; /* of the last violation */
};

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
	free(db);
}

/*
 * (Re)open the connection.  Returns 0 when it is usable.  A failure is
 * logged without the conninfo, which may hold a password.
 */
static int
db_connect(struct db *db)
{
	const char	*keys[8], *vals[8];
	char		 app[64], cto[16], opts[96];
	int		 n = 0;

	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	snprintf(app, sizeof(app), "mpapi-%ld", (long)getpid());
	snprintf(cto, sizeof(cto), "%d", db->cfg.connect_timeout_s);
	snprintf(opts, sizeof(opts),
	    "-c statement_timeout=%d -c idle_in_transaction_session_timeout=%d",
	    db->cfg.statement_timeout_ms, db->cfg.statement_timeout_ms * 2);
	keys[n] = "dbname";		vals[n++] = db->cfg.conninfo;
	keys[n] = "application_name";	vals[n++] = app;
	keys[n] = "connect_timeout";	vals[n++] = cto;
	keys[n] = "options";		vals[n++] = opts;
	keys[n] = "client_encoding";	vals[n++] = "UTF8";
	keys[n] = NULL;			vals[n] = NULL;
	db->conn = PQconnectdbParams(keys, vals, 1);
	db->gen++;
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		log_msg("warn", "database connection failed: %.*s",
		    db->conn ? (int)strcspn(PQerrorMessage(db->conn), "\n") : 3,
		    db->conn ? PQerrorMessage(db->conn) : "oom");
		return -1;
	}
	PQsetNoticeReceiver(db->conn, NULL, NULL);
	PQsetNoticeProcessor(db->conn, notice_to_log, NULL);
	return 0;
}

/* 1 when a connection is open, connecting first if need be. */
int
db_connected(struct db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 1;
	return db_connect(db) == 0;
}

PGconn *
db_conn(struct db *db)
{
	return db->conn;
}

const char *
db_last_constraint(struct db *db)
{
	return db->constraint;
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
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return DB_OK;
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (state == NULL)
		return DB_UNAVAILABLE;	/* client side: connection lost */
	if ((cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME)) != NULL)
		snprintf(db->constraint, sizeof(db->constraint), "%s", cons);
	if (strcmp(state, "23505") == 0)
		return DB_UNIQUE;
	if (strcmp(state, "23503") == 0)
		return DB_FOREIGN_KEY;
	if (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0 ||
	    strncmp(state, "22", 2) == 0)
		return DB_INVALID;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return DB_RETRY;
	if (strncmp(state, "08", 2) == 0 || strcmp(state, "57014") == 0 ||
	    strncmp(state, "57P", 3) == 0 || strcmp(state, "53300") == 0)
		return DB_UNAVAILABLE;
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
 * Run statement st with text params (st->nparams of them).  On DB_OK
 * *out holds the result (caller PQclears); otherwise *out is NULL.
 * A read-only statement cut by a lost connection outside a transaction
 * is tried once more on a new connection; a write is not (its outcome
 * is unknown: Idempotency-Key covers that).
 */
enum db_status
db_exec(struct db *db, struct db_stmt *st, const char *const *params,
    PGresult **out)
{
	PGresult	*res;
	enum db_status	 s;
	int		 tries;

	*out = NULL;
	for (tries = 0; tries < 2; tries++) {
		if (!db_connected(db))
			return DB_UNAVAILABLE;
		if (st->gen != db->gen && (s = prepare(db, st)) != DB_OK) {
			if (s == DB_UNAVAILABLE && st->readonly && tries == 0 &&
			    PQtransactionStatus(db->conn) != PQTRANS_INTRANS &&
			    PQtransactionStatus(db->conn) != PQTRANS_INERROR)
				continue;
			return s;
		}
		res = PQexecPrepared(db->conn, st->name, st->nparams, params,
		    NULL, NULL, 0);
		s = db_classify(db, res);
		if (s == DB_OK) {
			*out = res;
			return DB_OK;
		}
		PQclear(res);
		if (s != DB_UNAVAILABLE || PQstatus(db->conn) == CONNECTION_OK ||
		    !st->readonly || tries > 0)
			return s;
	}
	return DB_UNAVAILABLE;
}

/* Run a parameterless utility statement (BEGIN, COMMIT). */
enum db_status
db_exec_simple(struct db *db, const char *sql)
{
	PGresult	*res;
	enum db_status	 s;

	if (!db_connected(db))
		return DB_UNAVAILABLE;
	res = PQexec(db->conn, sql);
	s = db_classify(db, res);
	PQclear(res);
	return s;
}

int
db_begin(struct db *db)
{
	return db_exec_simple(db, "BEGIN") == DB_OK ? 0 : -1;
}

int
db_commit(struct db *db)
{
	return db_exec_simple(db, "COMMIT") == DB_OK ? 0 : -1;
}

void
db_rollback(struct db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		(void)db_exec_simple(db, "ROLLBACK");
}

int
db_in_transaction(struct db *db)
{
	return db->conn != NULL &&
	    PQtransactionStatus(db->conn) != PQTRANS_IDLE;
}

/*
 * Called after every request: a transaction left open is a bug in a
 * handler; roll it back so it cannot leak into the next request.
 */
void
db_end_request(struct db *db)
{
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
	case DB_ERROR: return "database error";
	}
	return "?";
}

/* The HTTP status for a failed database call. */
int
db_status_http(enum db_status s)
{
	switch (s) {
	case DB_OK: return 200;
	case DB_NOT_FOUND: return 404;
	case DB_UNIQUE: return 409;
	case DB_INVALID: return 400;
	case DB_FOREIGN_KEY: return 409;
	case DB_RETRY: return 503;
	case DB_UNAVAILABLE: return 503;
	case DB_ERROR: return 500;
	}
	return 500;
}
