/* Maintenance commands run from the command line, not over HTTP. */
#ifndef MP_COMMANDS_H
#define MP_COMMANDS_H

#include <stdio.h>

#include "base/settings.h"
#include "db/db.h"

int	command_users_import(struct db *db, const struct config *cfg,
	    const char *path);
int	command_purge(struct db *db, const struct config *cfg);
int	command_migrate_status(struct db *db, FILE *out);

/* The reader behind users import (cli/commands.c). */
enum import_col {
	IMPORT_ID,
	IMPORT_EMAIL,
	IMPORT_USERNAME,
	IMPORT_PASSWORD_HASH,
	IMPORT_DISPLAY_NAME,
	IMPORT_AVATAR_URL,
	IMPORT_CREATED_AT,
	IMPORT__MAX
};

struct import_reader {
	FILE		*f;
	int		 jsonl;		/* JSON Lines, else CSV */
	int		 map[64];	/* CSV column -> import_col or -1 */
	size_t		 ncols;
	size_t		 line;		/* next line to read, from 1 */
};

struct import_record {
	char		*v[IMPORT__MAX];	/* owned; NULL when absent */
	size_t		 line;
};

int		 import_open(struct import_reader *ir, FILE *f,
		    const char **err);
int		 import_next(struct import_reader *ir, struct import_record *r,
		    const char **err);
void		 import_record_release(struct import_record *r);
const char	*import_check(struct import_record *r,
		    struct db_user_import *u, const char **note);

#endif
