/*
 * The database layer: the only code that includes libpq-fe.h.  One
 * connection per worker process, opened lazily and reopened by itself
 * after PostgreSQL comes back.  Handlers call the resource functions
 * declared here and get plain values back, never a PGresult.
 */
#ifndef MP_DB_H
#define MP_DB_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* How a database call ended; db_status_http() maps it to a status. */
enum db_status {
	DB_OK = 0,
	DB_NOT_FOUND,		/* no such row (resource functions) */
	DB_UNIQUE,		/* 23505 unique_violation */
	DB_INVALID,		/* 23514, 23502, 22xxx: data the schema refuses */
	DB_FOREIGN_KEY,		/* 23503 */
	DB_RETRY,		/* 40001, 40P01: retry the transaction */
	DB_UNAVAILABLE,		/* connection lost, server shutting down,
				   statement timeout: answer 503 */
	DB_ERROR		/* anything else: a bug, answer 500 */
};

struct db_config {
	const char	*conninfo;		/* DATABASE_URL */
	int		 connect_timeout_s;
	int		 statement_timeout_ms;
};

struct db	*db_new(const struct db_config *);
void		 db_free(struct db *);
int		 db_connected(struct db *);
void		 db_end_request(struct db *);
int		 db_begin(struct db *);
int		 db_commit(struct db *);
void		 db_rollback(struct db *);
int		 db_in_transaction(struct db *);
const char	*db_status_name(enum db_status);
int		 db_status_http(enum db_status);
const char	*db_last_constraint(struct db *);

/* Migrations (db/migrate.c). */
int		 db_migrate(struct db *, int *applied);
int		 db_latest_migration(void);

/* Operations (db/ops.c). */
enum db_status	 db_ready(struct db *, int *schema_version);
enum db_status	 db_metrics(struct db *, char **text);

#endif
