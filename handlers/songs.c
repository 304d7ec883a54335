/*
 * Songs: the routes of doc/API.md, "Songs".  Everything a song shares
 * with a loop -- reading with ETag and 304, create, PUT (replace or
 * create-only), PATCH as a merge patch, DELETE, preconditions, likes,
 * plays, lists with scope, sort and keyset paging -- is the generic
 * item behaviour of handlers/items.c and db/items.c.  What is the
 * songs' own: the validator (song_valid.c), the create and replace
 * statements that check the timeline's loops (db/songs.c), and
 * ?expand=loops.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "handlers/items.h"

/* The songs as items: see handlers/items.h.  The route table's arg. */
const struct item_ops song_items = {
	ITEM_SONG, "song", "songs", "/api/songs", "Song not found",
	song_validate, db_song_create, db_song_replace, NULL, NULL
};

/*
 * GET /api/songs/:id?expand=loops: {"song":…,"loops":[…]} with the
 * song's ETag.  Never 304: the loops can change while the song's
 * version does not.
 */
static void
get_expanded(struct ctx *c)
{
	struct item_caller who;
	struct item_result r;
	const char	*id;
	char		 tag[ETAG_MAX];
	enum db_status	 s;

	if (item_path_id(c, &song_items, &id) != 0)
		return;
	item_caller_of(c, &who);
	if ((s = db_song_get_expanded(c->db, &who, id, &r)) != DB_OK) {
		reply_db_error(c, s);
		return;
	}
	if (r.outcome == ITEM_OK && r.json != NULL) {
		etag_format(tag, sizeof(tag), r.version);
		http_set_header(c->resp, "ETag", "%s", tag);
		http_response_json(c->resp, 200, r.json, strlen(r.json));
	} else
		item_reply_result(c, &song_items, &r, 200);
	item_result_release(&r);
}

void
songs_get(struct ctx *c)
{
	struct field_errors fe;
	char		*v = NULL;
	int		 q;

	if ((q = http_query_get(c->req->query, "expand", &v)) == 0) {
		item_get(c);
		return;
	}
	if (q > 0 && strcmp(v, "loops") == 0)
		get_expanded(c);
	else {
		field_errors_init(&fe);
		field_errors_add(&fe, "expand", "must be loops");
		field_errors_problem(&fe, c->resp, "Invalid query parameter");
		field_errors_release(&fe);
	}
	free(v);
}
