/* Maintenance commands run from the command line, not over HTTP. */
#ifndef MP_COMMANDS_H
#define MP_COMMANDS_H

#include "fcgi/settings.h"
#include "db/db.h"

int	command_users_import(struct db *, const struct config *, const char *);
int	command_purge(struct db *, const struct config *);

#endif
