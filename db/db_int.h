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

enum db_status	 db_exec(struct db *, struct db_stmt *,
		    const char *const *params, PGresult **out);
enum db_status	 db_exec_simple(struct db *, const char *sql);
enum db_status	 db_classify(struct db *, PGresult *);
PGconn		*db_conn(struct db *);

/* Borrowed column value of row 0, or NULL when SQL NULL or absent. */
const char	*db_value(PGresult *, int row, int col);

#endif
