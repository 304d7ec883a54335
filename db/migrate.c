#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "base/log.h"
#include "db/db_int.h"
#include "db/migrations.h"

/* The advisory lock that serialises migrators ("mpapimig"). */
#define MIGRATE_LOCK	"7020584870937225575"

/* The version the compiled program expects the schema to be at. */
int
db_latest_migration(void)
{
	return migrations_count == 0 ? 0 :
	    migrations[migrations_count - 1].version;
}

static int
exec_ok(PGconn *c, const char *sql)
{
	PGresult	*res;
	int		 ok;

	res = PQexec(c, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		log_msg("error", "migrate: %.*s",
		    (int)strcspn(PQresultErrorMessage(res), "\n"),
		    PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* 1 if version is recorded in schema_migrations, 0 if not, -1 on error. */
static int
applied_already(PGconn *c, int version)
{
	PGresult	*res;
	const char	*p[1];
	char		 v[16];
	int		 r;

	snprintf(v, sizeof(v), "%d", version);
	p[0] = v;
	res = PQexecParams(c, "SELECT 1 FROM schema_migrations "
	    "WHERE version = $1::int", 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		r = -1;
	else
		r = PQntuples(res) > 0;
	PQclear(res);
	return r;
}

static int
record(PGconn *c, const struct migration *m)
{
	PGresult	*res;
	const char	*p[2];
	char		 v[16];
	int		 ok;

	snprintf(v, sizeof(v), "%d", m->version);
	p[0] = v;
	p[1] = m->name;
	res = PQexecParams(c, "INSERT INTO schema_migrations (version, name) "
	    "VALUES ($1::int, $2)", 2, NULL, p, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	return ok;
}

/*
 * Open a transaction that holds the migrators' lock, with no statement
 * timeout: the lock is transaction-scoped (pg_advisory_xact_lock), and
 * the timeout SET LOCAL, so nothing outlives the transaction and
 * `mpapi migrate` works through a pooler in transaction mode as well
 * as straight to PostgreSQL (a session lock or SET would stay on a
 * pooled server connection for its next client).
 */
static int
begin_locked(PGconn *c)
{
	return exec_ok(c, "BEGIN; SET LOCAL statement_timeout = 0; "
	    "SET LOCAL idle_in_transaction_session_timeout = 0; "
	    "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")");
}

/*
 * Apply every compiled-in migration not yet recorded, each in its own
 * transaction, which first takes the migrators' lock and then looks
 * whether the migration is recorded: two migrators at once are safe
 * (the second waits, then finds it applied).  Forward-only.  Returns 0
 * and the number applied in *applied, or -1 (the failing migration is
 * rolled back and logged).
 */
int
db_migrate(struct db *db, int *applied)
{
	PGconn	*c;
	size_t	 i;
	int	 r;

	*applied = 0;
	if (!db_connected(db))
		return -1;
	c = db_conn(db);
	if (!begin_locked(c))
		goto fail;
	if (!exec_ok(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version integer PRIMARY KEY, name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())") ||
	    !exec_ok(c, "COMMIT"))
		goto fail;
	for (i = 0; i < migrations_count; i++) {
		if (!begin_locked(c))
			goto fail;
		if ((r = applied_already(c, migrations[i].version)) < 0)
			goto fail;
		if (r == 1) {
			if (!exec_ok(c, "COMMIT"))
				goto fail;
			continue;
		}
		if (!exec_ok(c, migrations[i].sql) || !record(c, &migrations[i])) {
			log_msg("error", "migration %s failed", migrations[i].name);
			goto fail;
		}
		if (!exec_ok(c, "COMMIT"))
			goto fail;
		log_msg("info", "applied migration %s", migrations[i].name);
		(*applied)++;
	}
	return 0;
fail:
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		exec_ok(c, "ROLLBACK");
	return -1;
}

/*
 * What is applied: for each compiled-in migration whether the database
 * records it (and when), and the recorded versions this build does not
 * know (a newer binary migrated this database).  A database without a
 * schema_migrations table has nothing applied.  Returns 0 and fills
 * *st (release it with db_migration_state_release), or -1 when the
 * database cannot be read.
 */
int
db_migration_state(struct db *db, struct db_migration_state *st)
{
	PGresult	*res;
	PGconn		*c;
	size_t		 i;
	int		 r, v;

	memset(st, 0, sizeof(*st));
	st->latest = db_latest_migration();
	st->n = migrations_count;
	st->items = xcalloc(migrations_count + 1, sizeof(*st->items));
	for (i = 0; i < migrations_count; i++) {
		st->items[i].version = migrations[i].version;
		st->items[i].name = migrations[i].name;
	}
	if (!db_connected(db))
		return -1;
	c = db_conn(db);
	res = PQexec(c, "SELECT to_regclass('schema_migrations') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return -1;
	}
	r = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!r) {
		st->pending = (int)migrations_count;
		return 0;
	}
	res = PQexec(c, "SELECT version, to_char(applied_at AT TIME ZONE "
	    "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	    "FROM schema_migrations ORDER BY version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_msg("error", "migrate: %.*s",
		    (int)strcspn(PQresultErrorMessage(res), "\n"),
		    PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	for (r = 0; r < PQntuples(res); r++) {
		v = atoi(PQgetvalue(res, r, 0));
		if (v > st->current)
			st->current = v;
		for (i = 0; i < migrations_count; i++)
			if (migrations[i].version == v)
				break;
		if (i == migrations_count) {
			st->unknown++;
			continue;
		}
		st->items[i].applied = 1;
		snprintf(st->items[i].applied_at,
		    sizeof(st->items[i].applied_at), "%s",
		    PQgetvalue(res, r, 1));
	}
	PQclear(res);
	for (i = 0; i < migrations_count; i++)
		if (!st->items[i].applied)
			st->pending++;
	return 0;
}

/* Free what db_migration_state filled in. */
void
db_migration_state_release(struct db_migration_state *st)
{
	free(st->items);
	memset(st, 0, sizeof(*st));
}
