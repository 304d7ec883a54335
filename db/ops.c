#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "db/db_int.h"

static struct db_stmt st_ready = DB_STMT_RO("ops_ready",
    "SELECT coalesce(max(version), 0) FROM schema_migrations", 0);

static struct db_stmt st_connections = DB_STMT_RO("ops_connections",
    "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity "
    "WHERE application_name LIKE 'mpapi-%' GROUP BY 1 ORDER BY 1", 0);

static struct db_stmt st_rows = DB_STMT_RO("ops_rows",
    "SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind = 'r' "
    "AND c.relname IN ('users', 'loops', 'songs', 'loop_likes', "
    "'song_likes', 'idempotency_keys', 'tombstones') ORDER BY 1", 0);

/*
 * The schema version the database is at.  A missing schema_migrations
 * table (42P01: nothing migrated yet) is an answer, version 0; any
 * other failure is the database's (down, or an error), never read as
 * "schema behind" (under PgBouncer a 26000 once made /ready flap with
 * schemaVersion 0).
 */
enum db_status
db_ready(struct db *db, int *schema_version)
{
	PGresult	*res;
	enum db_status	 s;

	*schema_version = 0;
	s = db_exec(db, &st_ready, NULL, &res);
	if (s == DB_ERROR && strcmp(db_last_sqlstate(db), "42P01") == 0)
		return DB_OK;	/* no schema_migrations table yet */
	if (s != DB_OK)
		return s;
	*schema_version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_OK;
}

/*
 * Prometheus text for the operator: this service's connections by
 * state, the schema version and row estimates.  *text is the caller's.
 */
enum db_status
db_metrics(struct db *db, char **text)
{
	struct buf	 b = BUF_INIT;
	PGresult	*res;
	enum db_status	 s;
	int		 i, version;

	*text = NULL;
	if ((s = db_ready(db, &version)) != DB_OK)
		return s;
	if ((s = db_exec(db, &st_connections, NULL, &res)) != DB_OK)
		return s;
	buf_puts(&b, "# HELP mpapi_db_connections Database connections of "
	    "this service by state.\n# TYPE mpapi_db_connections gauge\n");
	for (i = 0; i < PQntuples(res); i++)
		buf_printf(&b, "mpapi_db_connections{state=\"%s\"} %s\n",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	PQclear(res);
	buf_printf(&b, "# HELP mpapi_schema_version Migration the database "
	    "is at.\n# TYPE mpapi_schema_version gauge\n"
	    "mpapi_schema_version %d\n", version);
	buf_printf(&b, "# HELP mpapi_schema_expected_version Migration this "
	    "build expects.\n# TYPE mpapi_schema_expected_version gauge\n"
	    "mpapi_schema_expected_version %d\n", db_latest_migration());
	if (version > 0) {
		if ((s = db_exec(db, &st_rows, NULL, &res)) != DB_OK) {
			buf_release(&b);
			return s;
		}
		buf_puts(&b, "# HELP mpapi_table_rows_estimate Planner row "
		    "estimate per table.\n"
		    "# TYPE mpapi_table_rows_estimate gauge\n");
		for (i = 0; i < PQntuples(res); i++)
			buf_printf(&b, "mpapi_table_rows_estimate{table=\"%s\"} "
			    "%s\n", PQgetvalue(res, i, 0),
			    PQgetvalue(res, i, 1));
		PQclear(res);
	}
	if ((s = db_replica_metrics(db, &b)) != DB_OK ||
	    (s = db_live_metrics(db, version, &b)) != DB_OK) {
		buf_release(&b);
		return s;
	}
	*text = buf_detach(&b);
	return DB_OK;
}
