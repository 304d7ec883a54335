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

/* Periodic clean-up; filled in with issue #6. */
int
command_purge(struct db *db, const struct config *cfg)
{
	(void)db;
	(void)cfg;
	log_msg("error", "purge: not available in this build");
	return EXIT_FAILURE;
}
