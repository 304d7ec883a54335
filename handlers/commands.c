#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "fcgi/log.h"
#include "handlers/commands.h"

/*
 * Load accounts exported from the old system.  Implemented with the
 * accounts issue (#3); until then it refuses, saying so.
 */
int
command_users_import(struct db *db, const struct config *cfg,
    const char *path)
{
	(void)db;
	(void)cfg;
	log_msg("error", "users import %s: not available in this build", path);
	return EXIT_FAILURE;
}

#define PURGE_BATCH	1000

/* Delete one kind in batches until a batch comes back short. */
static int
purge_all(struct db *db, enum db_purge_what what, int age, const char *name)
{
	long long	 n, total = 0;
	enum db_status	 s;

	do {
		if ((s = db_purge(db, what, age, PURGE_BATCH, &n)) != DB_OK) {
			log_msg("error", "purge %s: %s", name,
			    db_status_name(s));
			return -1;
		}
		total += n;
	} while (n >= PURGE_BATCH);
	log_msg("info", "purge: %lld %s deleted", total, name);
	return 0;
}

/*
 * Periodic clean-up (run it from cron or a systemd timer, say hourly):
 * Idempotency-Keys older than MP_IDEMPOTENCY_TTL, sync tombstones older
 * than MP_TOMBSTONE_DAYS (raising each owner's sync floor, so older
 * cursors are answered 410), play marks older than ten minutes, and
 * write budgets whose window has ended.  Each kind goes in batches of
 * PURGE_BATCH rows in index order, each batch its own transaction, so
 * a purge never holds many locks or scans a table.  Two purges never
 * run at once (a session advisory lock).  Returns the exit status.
 */
int
command_purge(struct db *db, const struct config *cfg)
{
	enum db_status	 s;
	int		 got, rc = EXIT_SUCCESS;

	if ((s = db_purge_lock(db, 1, &got)) != DB_OK) {
		log_msg("error", "purge: %s", db_status_name(s));
		return EXIT_FAILURE;
	}
	if (!got) {
		log_msg("warn", "purge: another purge is running");
		return EXIT_SUCCESS;
	}
	if (purge_all(db, DB_PURGE_KEYS, cfg->idempotency_ttl_s,
	    "idempotency keys") != 0 ||
	    purge_all(db, DB_PURGE_TOMBSTONES, cfg->tombstone_days,
	    "tombstones") != 0 ||
	    purge_all(db, DB_PURGE_PLAY_MARKS, 0, "play marks") != 0 ||
	    purge_all(db, DB_PURGE_BUDGETS, cfg->write_window_s,
	    "write budgets") != 0)
		rc = EXIT_FAILURE;
	(void)db_purge_lock(db, 0, &got);
	return rc;
}
