/*
 * mpapi relay (cli/relay.c): publishes to nginx's nchan what the write
 * transactions queued (db/live.c).  The pure parts are declared here for
 * the unit tests (t/test_live.c).
 */
#ifndef MP_RELAY_H
#define MP_RELAY_H

#include <stddef.h>

#include "base/buf.h"
#include "base/settings.h"
#include "db/db.h"

int	relay_run(int listen_fd, const struct config *cfg);
size_t	relay_coalesce(const struct db_live_row *rows, size_t n, size_t *keep);
int	relay_message(const struct config *cfg, const struct db_live_row *row,
	    struct buf *out);
int	relay_lag_bucket(double seconds);
int	relay_status_parse(const char *text, struct db_live_status *st);

#endif
