#include "config.h"

#include "handlers/handlers.h"

/*
 * The route table: method, pattern, handler, flags.  Order matters
 * only between patterns that could match the same path.
 */
const struct route app_routes[] = {
	/* Operations (handlers/ops.c). */
	{ HTTP_GET,	"/health",		ops_health,	0 },
	{ HTTP_GET,	"/api/health",		ops_health,	0 },
	{ HTTP_GET,	"/ready",		ops_ready,	0 },
	{ HTTP_GET,	"/metrics",		ops_metrics,	0 },

	/* Sync feed (handlers/sync.c). */
	{ HTTP_GET,	"/api/sync",		sync_pull,	ROUTE_AUTH },
};

const size_t app_routes_count = sizeof(app_routes) / sizeof(app_routes[0]);
