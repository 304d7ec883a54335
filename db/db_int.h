/*
 * Internals shared by the files of db/: the statement type and the
 * execution helpers.  Nothing outside db/ includes this.
 */
#ifndef MP_DB_INT_H
#define MP_DB_INT_H

#include <libpq-fe.h>

#include "db/db.h"

/*
 * A statement, prepared on first use on each connection.  gen records
 * the connection generation it was prepared on; a reconnect bumps the
 * generation, so every statement is prepared again (26000 otherwise).
 */
struct db_stmt {
	const char	*name;
	const char	*sql;
	int		 nparams;
	unsigned	 gen;
	int		 readonly;	/* safe to retry after a lost connection */
};

#define DB_STMT(n, q, np)	{ (n), (q), (np), 0, 0 }
#define DB_STMT_RO(n, q, np)	{ (n), (q), (np), 0, 1 }

enum db_status	 db_exec(struct db *db, struct db_stmt *st,
		    const char *const *params, PGresult **out);
enum db_status	 db_exec_simple(struct db *db, const char *sql);
enum db_status	 db_classify(struct db *db, PGresult *res);
PGconn		*db_conn(struct db *db);
unsigned	 db_generation(struct db *db);

/*
 * One step of a pipeline (db_pipeline): a prepared statement with its
 * text params, or (stmt NULL) parameterless SQL such as "BEGIN".
 */
struct db_step {
	struct db_stmt		*stmt;
	const char		*sql;
	const char *const	*params;
	PGresult		*res;		/* out, on DB_OK */
	enum db_status		 status;	/* out */
	char			 sqlstate[6];	/* out, on failure */
	char			 detail[32];	/* out, on failure */
};

#define DB_PIPELINE_MAX		8
#define DB_HANDLER_SAVEPOINT	"mp_handler"

enum db_status	 db_pipeline(struct db *db, struct db_step *steps, size_t n,
		    int restartable);
void		 db_steps_clear(struct db_step *steps, size_t n);

/* The dispatcher's write transaction (db/writes.c drives these). */
void		 db_outer_set(struct db *db, int on);
void		 db_session_lock_set(struct db *db);

/*
 * A gate: a statement sent in the same pipeline, and so the same
 * implicit transaction, as the next statement db_exec runs (one round
 * trip for both).  When the gate fails, that statement is not run and
 * db_exec returns the gate's status (DB_REFUSED for a RAISE with
 * SQLSTATE P04xx).  Only db_write_gated (db/writes.c) makes one: it
 * lives in that function's frame, is installed for the body it runs
 * and removed after it (db_gate_install), and db_exec fills in what
 * happened the first time it runs a statement meanwhile.
 */
enum db_gate_outcome {
	DB_GATE_UNUSED,		/* installed, but no statement ran */
	DB_GATE_PASSED,		/* res holds the gate's result */
	DB_GATE_REFUSED		/* sqlstate and detail say why */
};

struct db_gate {
	struct db_stmt		*stmt;
	const char *const	*params;	/* stmt->nparams, borrowed */
	enum db_gate_outcome	 outcome;
	PGresult		*res;		/* DB_GATE_PASSED: owned */
	char			 sqlstate[6];	/* DB_GATE_REFUSED */
	char			 detail[32];
};

void		 db_gate_install(struct db *db, struct db_gate *gate);

struct buf;
enum db_status	 db_replica_metrics(struct db *db, struct buf *b);

/* Borrowed value of row, col, or NULL when SQL NULL or absent. */
const char	*db_value(PGresult *res, int row, int col);

#endif
