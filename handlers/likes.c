/*
 * GET /api/users/me/likes?type=loop|song: the caller's liked items of
 * one kind, newest like first, keyset paged (handlers/items.c,
 * item_liked).  See doc/API.md, "Your likes".
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "handlers/items.h"

static const char *const likes_params[] = { "type", "limit", "cursor", NULL };

/* GET /api/users/me/likes */
void
users_likes(struct ctx *c)
{
	struct field_errors	 fe;
	char			*type = NULL;
	int			 r;

	r = http_query_get(c->req->query, "type", &type);
	if (r == 1 && strcmp(type, "loop") == 0)
		item_liked(c, &loop_items);
	else if (r == 1 && strcmp(type, "song") == 0)
		item_liked(c, &song_items);
	else {
		field_errors_init(&fe);
		field_errors_add(&fe, "type", "must be loop or song");
		query_check_names(c->req->query, likes_params, NULL, &fe);
		field_errors_problem(&fe, c->resp, "Invalid query parameter");
		field_errors_release(&fe);
	}
	free(type);
}
