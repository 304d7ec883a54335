#include "config.h"

#include "handlers/handlers.h"
#include "handlers/items.h"
#include "handlers/live.h"

/*
 * The route table: method, pattern, handler, flags and the handler's
 * arg (for the item routes, the kind of item: handlers/items.h).
 * Order matters only between patterns that could match the same path.
 */
const struct route app_routes[] = {
	/* Operations (handlers/ops.c). */
	{ HTTP_GET,	"/health",		ops_health,	0, NULL },
	{ HTTP_GET,	"/api/health",		ops_health,	0, NULL },
	{ HTTP_GET,	"/ready",		ops_ready,	0, NULL },
	{ HTTP_GET,	"/metrics",		ops_metrics,	0, NULL },

	/* The contract and the problem types (handlers/apidoc.c). */
	{ HTTP_GET,	"/api/openapi.json",	apidoc_openapi_get, 0, NULL },
	{ HTTP_GET,	"/problems",		apidoc_problems_list, 0, NULL },
	{ HTTP_GET,	"/problems/:slug",	apidoc_problem_get, 0, NULL },

	/* Loops (handlers/items.c and item_list.c; remix: loops.c). */
	{ HTTP_GET,	"/api/loops",		item_list,
	    ROUTE_AUTH_OPTIONAL | ROUTE_READ_REPLICA,
	    &loop_items },
	{ HTTP_POST,	"/api/loops",		item_create,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE | ROUTE_IDEMPOTENT,
	    &loop_items },
	{ HTTP_GET,	"/api/loops/:id",	item_get,
	    ROUTE_AUTH_OPTIONAL | ROUTE_READ_REPLICA,
	    &loop_items },
	{ HTTP_PUT,	"/api/loops/:id",	item_put,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE,
	    &loop_items },
	{ HTTP_PATCH,	"/api/loops/:id",	item_patch,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE,
	    &loop_items },
	{ HTTP_DELETE,	"/api/loops/:id",	item_delete,
	    ROUTE_AUTH | ROUTE_WRITE,
	    &loop_items },
	{ HTTP_POST,	"/api/loops/:id/remix",	loops_remix,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE | ROUTE_IDEMPOTENT,
	    &loop_items },
	{ HTTP_POST,	"/api/loops/:id/duplicate", loops_remix,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE | ROUTE_IDEMPOTENT,
	    &loop_items },
	{ HTTP_PUT,	"/api/loops/:id/like",	item_like,
	    ROUTE_AUTH | ROUTE_WRITE,
	    &loop_items },
	{ HTTP_DELETE,	"/api/loops/:id/like",	item_unlike,
	    ROUTE_AUTH | ROUTE_WRITE,
	    &loop_items },
	{ HTTP_POST,	"/api/loops/:id/plays",	item_play,
	    ROUTE_AUTH_OPTIONAL | ROUTE_IDEMPOTENT,
	    &loop_items },

	/* Songs (handlers/items.c and item_list.c; expand: songs.c). */
	{ HTTP_GET,	"/api/songs",		item_list,
	    ROUTE_AUTH_OPTIONAL | ROUTE_READ_REPLICA,
	    &song_items },
	{ HTTP_POST,	"/api/songs",		item_create,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE | ROUTE_IDEMPOTENT,
	    &song_items },
	{ HTTP_GET,	"/api/songs/:id",	songs_get,
	    ROUTE_AUTH_OPTIONAL | ROUTE_READ_REPLICA,
	    &song_items },
	{ HTTP_PUT,	"/api/songs/:id",	item_put,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE,
	    &song_items },
	{ HTTP_PATCH,	"/api/songs/:id",	item_patch,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE,
	    &song_items },
	{ HTTP_DELETE,	"/api/songs/:id",	item_delete,
	    ROUTE_AUTH | ROUTE_WRITE,
	    &song_items },
	{ HTTP_PUT,	"/api/songs/:id/like",	item_like,
	    ROUTE_AUTH | ROUTE_WRITE,
	    &song_items },
	{ HTTP_DELETE,	"/api/songs/:id/like",	item_unlike,
	    ROUTE_AUTH | ROUTE_WRITE,
	    &song_items },
	{ HTTP_POST,	"/api/songs/:id/plays",	item_play,
	    ROUTE_AUTH_OPTIONAL | ROUTE_IDEMPOTENT,
	    &song_items },

	/* Accounts (handlers/auth.c, handlers/users.c). */
	/*
	 * The password change, logouts and account deletion revoke
	 * tokens: they are never refused by the write budget (no
	 * ROUTE_WRITE), so a thief who spends it cannot stop the owner.
	 */
	{ HTTP_POST,	"/api/auth/signup",	auth_signup,
	    ROUTE_BODY | ROUTE_IDEMPOTENT | ROUTE_HASHES, NULL },
	{ HTTP_POST,	"/api/auth/login",	auth_login,
	    ROUTE_BODY | ROUTE_IDEMPOTENT | ROUTE_HASHES, NULL },
	{ HTTP_GET,	"/api/auth/me",		auth_me,
	    ROUTE_AUTH, NULL },
	{ HTTP_POST,	"/api/auth/password",	auth_password,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_IDEMPOTENT | ROUTE_HASHES, NULL },
	{ HTTP_POST,	"/api/auth/logout",	auth_logout,
	    ROUTE_AUTH | ROUTE_IDEMPOTENT, NULL },
	{ HTTP_POST,	"/api/auth/logout-all",	auth_logout_all,
	    ROUTE_AUTH | ROUTE_IDEMPOTENT, NULL },
	{ HTTP_GET,	"/api/users/me",	auth_me,
	    ROUTE_AUTH, NULL },
	{ HTTP_PATCH,	"/api/users/me",	users_update_me,
	    ROUTE_AUTH | ROUTE_BODY | ROUTE_WRITE, NULL },
	{ HTTP_DELETE,	"/api/users/me",	users_delete_me,
	    ROUTE_AUTH, NULL },
	{ HTTP_GET,	"/api/users/:username",	users_get,
	    ROUTE_AUTH_OPTIONAL | ROUTE_READ_REPLICA, NULL },

	/* The caller's likes (handlers/likes.c). */
	{ HTTP_GET,	"/api/users/me/likes",	users_likes,
	    ROUTE_AUTH | ROUTE_READ_REPLICA, NULL },

	/* Sync feed (handlers/sync.c). */
	{ HTTP_GET,	"/api/sync",		sync_pull,
	    ROUTE_AUTH, NULL },

	/* Live updates: nginx's check of a subscription (handlers/live.c). */
	{ HTTP_GET,	"/api/live/auth",	live_authorize,
	    ROUTE_AUTH_OPTIONAL, NULL },
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
