/*
 * GET /api/sync?since=<cursor>&limit=<n>: the caller's loops and songs
 * changed since the cursor, the deletions among them, the caller's
 * likes and unlikes, the loops of others that the caller's songs use
 * and that went away or came back, a new cursor and hasMore.  See doc/API.md, "Sync feed", and db/sync.c for why no late
 * commit is ever skipped.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers/handlers.h"
#include "handlers/model.h"

#define SYNC_LIMIT_DEFAULT	100
#define SYNC_LIMIT_MAX		100
#define SYNC_CURSOR_PURPOSE	"sync"

static const char *const sync_params[] = { "since", "limit", NULL };

/*
 * The opaque cursor for user_id at position pos with tombstone mark
 * mark: the shared signed cursor (handlers/model.c) with the position
 * as its key, the user as its id and the mark as its filter, so it
 * cannot be forged, altered or used by another user.  Returns a string
 * the caller frees, or NULL for a malformed user id.
 */
char *
sync_cursor_encode(const struct config *cfg, const char *user_id,
    long long pos, long long mark)
{
	struct page_cursor	 pc;

	if (!uuid_is_valid(user_id))
		return NULL;
	memset(&pc, 0, sizeof(pc));
	pc.key = pos;
	snprintf(pc.id, sizeof(pc.id), "%s", user_id);
	pc.filter = (uint64_t)mark;
	return cursor_encode(cfg, SYNC_CURSOR_PURPOSE, &pc);
}

/*
 * Decode text, a cursor that sync_cursor_encode made for user_id.
 * Returns 0 with *pos and *mark, or -1 for anything garbled, forged,
 * made for another list or for another user.
 */
int
sync_cursor_decode(const struct config *cfg, const char *user_id,
    const char *text, long long *pos, long long *mark)
{
	struct page_cursor	 pc;

	if (cursor_decode(cfg, SYNC_CURSOR_PURPOSE, text, &pc) != 0 ||
	    strcasecmp(pc.id, user_id) != 0 || pc.key < 0 ||
	    pc.filter > INT64_MAX)
		return -1;
	*pos = pc.key;
	*mark = (long long)pc.filter;
	return 0;
}

static void
reply_sync(struct ctx *c, const struct db_sync_page *p, const char *cursor)
{
	struct buf	 b = BUF_INIT;

	buf_puts(&b, "{\"loops\":");
	buf_puts(&b, p->loops);
	buf_puts(&b, ",\"songs\":");
	buf_puts(&b, p->songs);
	buf_puts(&b, ",\"deleted\":");
	buf_puts(&b, p->deleted);
	buf_puts(&b, ",\"likes\":");
	buf_puts(&b, p->likes);
	buf_puts(&b, ",\"unavailable\":");
	buf_puts(&b, p->unavailable);
	buf_puts(&b, ",\"available\":");
	buf_puts(&b, p->available);
	buf_puts(&b, ",\"cursor\":");
	buf_json_str(&b, cursor, strlen(cursor));
	buf_printf(&b, ",\"hasMore\":%s}", p->has_more ? "true" : "false");
	http_response_json(c->resp, 200, b.data, b.len);
	buf_release(&b);
}

/* GET /api/sync */
void
sync_pull(struct ctx *c)
{
	struct field_errors	 fe;
	struct db_sync_page	 p;
	enum db_status		 s;
	char			*since = NULL, *cursor = NULL;
	long long		 pos = 0, mark = -1, npos, nmark;
	int			 limit = SYNC_LIMIT_DEFAULT, have;

	memset(&p, 0, sizeof(p));
	field_errors_init(&fe);
	have = http_query_get(c->req->query, "since", &since);
	if (have < 0 || (have > 0 && *since != '\0' &&
	    sync_cursor_decode(c->cfg, c->user.id, since, &pos, &mark) != 0))
		field_errors_add(&fe, "since", "is not a cursor this API "
		    "issued to you; omit it to start over");
	if (page_limit(c->req->query, SYNC_LIMIT_DEFAULT, SYNC_LIMIT_MAX,
	    &limit) != 0)
		field_errors_add(&fe, "limit", "must be an integer 1-100");
	query_check_names(c->req->query, sync_params, NULL, &fe);
	if (fe.count > 0) {
		field_errors_problem(&fe, c->resp, "Invalid query parameter");
		goto out;
	}
	s = db_sync_page(c->db, c->user.id, c->user.ver, pos, mark, limit, &p);
	if (s != DB_OK) {
		reply_db_error(c, s);
		goto out;
	}
	if (!p.known) {
		reply_unauthorized(c, 1);
		goto out;
	}
	if (p.expired) {
		reply_problem(c, 410, "sync-cursor-expired",
		    "Sync cursor expired", "Deletions older than this cursor "
		    "have been forgotten; pull again without since and "
		    "replace the local copy.");
		goto out;
	}
	/*
	 * Mid-feed the position is the last change handed out; at the end
	 * it is the owner's change number in this snapshot, below which
	 * everything has committed (see db/sync.c).
	 */
	npos = p.has_more ? p.last_seq : p.change_seq;
	if (npos < pos)
		npos = pos;
	nmark = p.mark > npos ? p.mark : npos;
	if ((cursor = sync_cursor_encode(c->cfg, c->user.id, npos,
	    nmark)) == NULL) {
		reply_problem(c, 500, NULL, "Internal server error",
		    "An unexpected error occurred.");
		goto out;
	}
	reply_sync(c, &p, cursor);
out:
	free(cursor);
	free(since);
	db_sync_page_release(&p);
	field_errors_release(&fe);
}
