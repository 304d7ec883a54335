/*
 * Live updates (doc/API.md, "Live updates"): nginx's nchan module holds
 * the subscribers of GET /api/live and asks the workers once per
 * subscription whether it may be made (handlers/live.c); `mpapi relay`
 * publishes what the write transactions queued (cli/relay.c).
 * The pure parts are declared here for the unit tests.
 */
#ifndef MP_LIVE_H
#define MP_LIVE_H

#include <stddef.h>

#include "base/settings.h"
#include "fcgi/http.h"
#include "db/db.h"

#define LIVE_MAX_CHANNELS	100	/* per subscription */
#define LIVE_BATCH		1000	/* rows the relay takes at once */

enum live_kind {
	LIVE_LOOP,
	LIVE_SONG,
	LIVE_USER,
	LIVE__MAX
};

struct live_channel {
	enum live_kind	 kind;
	char		 id[37];	/* lower-case UUID */
};

struct live_request {
	size_t			 n;
	struct live_channel	 channels[LIVE_MAX_CHANNELS];
};

int	live_request_parse(const char *query, struct live_request *,
	    struct field_errors *);
void	live_authorize(struct ctx *);

#endif
