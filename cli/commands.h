/* Maintenance commands run from the command line, not over HTTP. */
#ifndef MP_COMMANDS_H
#define MP_COMMANDS_H

#include <stdio.h>

#include "base/settings.h"
#include "db/db.h"

int	command_users_import(struct db *, const struct config *, const char *);
int	command_purge(struct db *, const struct config *);
int	command_migrate_status(struct db *, FILE *);

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

int		 import_open(struct import_reader *, FILE *, const char **);
int		 import_next(struct import_reader *, struct import_record *,
		    const char **);
void		 import_record_release(struct import_record *);
const char	*import_check(struct import_record *, struct db_user_import *,
		    const char **note);

#endif
