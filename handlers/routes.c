#include "config.h"

#include "handlers/handlers.h"
#include "handlers/live.h"

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

	/* The contract and the problem types (handlers/apidoc.c). */
	{ HTTP_GET,	"/api/openapi.json",	apidoc_openapi_get, 0 },
	{ HTTP_GET,	"/problems",		apidoc_problems_list, 0 },
	{ HTTP_GET,	"/problems/:slug",	apidoc_problem_get, 0 },

	/* Loops (handlers/loops.c). */
	{ HTTP_GET,	"/api/loops",		loops_list,	ROUTE_AUTH_OPTIONAL },
	{ HTTP_POST,	"/api/loops",		loops_create,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE | ROUTE_IDEMPOTENT },
	{ HTTP_GET,	"/api/loops/:id",	loops_get,	ROUTE_AUTH_OPTIONAL },
	{ HTTP_PUT,	"/api/loops/:id",	loops_put,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE },
	{ HTTP_PATCH,	"/api/loops/:id",	loops_patch,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE },
	{ HTTP_DELETE,	"/api/loops/:id",	loops_delete,
	    ROUTE_AUTH | ROUTE_WRITE },
	{ HTTP_POST,	"/api/loops/:id/remix",	loops_remix,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE | ROUTE_IDEMPOTENT },
	{ HTTP_POST,	"/api/loops/:id/duplicate", loops_remix,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE | ROUTE_IDEMPOTENT },
	{ HTTP_PUT,	"/api/loops/:id/like",	loops_like,
	    ROUTE_AUTH | ROUTE_WRITE },
	{ HTTP_DELETE,	"/api/loops/:id/like",	loops_unlike,
	    ROUTE_AUTH | ROUTE_WRITE },
	{ HTTP_POST,	"/api/loops/:id/plays",	loops_play,
	    ROUTE_AUTH_OPTIONAL | ROUTE_IDEMPOTENT },

	/* Songs (handlers/songs.c). */
	{ HTTP_GET,	"/api/songs",		songs_list,	ROUTE_AUTH_OPTIONAL },
	{ HTTP_POST,	"/api/songs",		songs_create,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE | ROUTE_IDEMPOTENT },
	{ HTTP_GET,	"/api/songs/:id",	songs_get,	ROUTE_AUTH_OPTIONAL },
	{ HTTP_PUT,	"/api/songs/:id",	songs_replace,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE },
	{ HTTP_PATCH,	"/api/songs/:id",	songs_patch,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE },
	{ HTTP_DELETE,	"/api/songs/:id",	songs_delete,
	    ROUTE_AUTH | ROUTE_WRITE },
	{ HTTP_PUT,	"/api/songs/:id/like",	songs_like,
	    ROUTE_AUTH | ROUTE_WRITE },
	{ HTTP_DELETE,	"/api/songs/:id/like",	songs_unlike,
	    ROUTE_AUTH | ROUTE_WRITE },
	{ HTTP_POST,	"/api/songs/:id/plays",	songs_play,
	    ROUTE_AUTH_OPTIONAL | ROUTE_IDEMPOTENT },

	/* Accounts (handlers/auth.c, handlers/users.c). */
	/*
	 * The password change, logouts and account deletion revoke
	 * tokens: they are never refused by the write budget (no
	 * ROUTE_WRITE), so a thief who spends it cannot stop the owner.
	 */
	{ HTTP_POST,	"/api/auth/signup",	auth_signup,
	    ROUTE_BODY | ROUTE_IDEMPOTENT | ROUTE_HASHES },
	{ HTTP_POST,	"/api/auth/login",	auth_login,
	    ROUTE_BODY | ROUTE_IDEMPOTENT | ROUTE_HASHES },
	{ HTTP_GET,	"/api/auth/me",		auth_me,	ROUTE_AUTH },
	{ HTTP_POST,	"/api/auth/password",	auth_password,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_IDEMPOTENT | ROUTE_HASHES },
	{ HTTP_POST,	"/api/auth/logout",	auth_logout,
	    ROUTE_AUTH | ROUTE_IDEMPOTENT },
	{ HTTP_POST,	"/api/auth/logout-all",	auth_logout_all,
	    ROUTE_AUTH | ROUTE_IDEMPOTENT },
	{ HTTP_GET,	"/api/users/me",	auth_me,	ROUTE_AUTH },
	{ HTTP_PATCH,	"/api/users/me",	users_update_me,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE },
	{ HTTP_DELETE,	"/api/users/me",	users_delete_me,
	    ROUTE_AUTH },
	{ HTTP_GET,	"/api/users/:username",	users_get,
	    ROUTE_AUTH_OPTIONAL },

	/* The caller's likes (handlers/likes.c). */
	{ HTTP_GET,	"/api/users/me/likes",	users_likes,	ROUTE_AUTH },

	/* Sync feed (handlers/sync.c). */
	{ HTTP_GET,	"/api/sync",		sync_pull,	ROUTE_AUTH },

	/* Live updates: nginx's check of a subscription (handlers/live.c). */
	{ HTTP_GET,	"/api/live/auth",	live_authorize,
	    ROUTE_AUTH_OPTIONAL },
};

const size_t app_routes_count = sizeof(app_routes) / sizeof(app_routes[0]);

/* The router's view of route i of table (an app_routes). */
const char *
app_route_pattern(const void *table, size_t i, enum http_method *method)
{
	const struct route	*r = (const struct route *)table + i;

	*method = r->method;
	return r->pattern;
}
