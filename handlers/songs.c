/*
 * Songs: arrangements of loops on a timeline.  Each handler validates
 * its input (handlers/song_valid.c), makes one call into db/songs.c
 * (one statement) and shapes the answer: ETag on every response that
 * carries one song, 304 for a matching If-None-Match, 412/409 with
 * the current song for a failed If-Match or a stale body version.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/handlers.h"
#include "handlers/model.h"

#define SONG_LIST_DEFAULT	20
#define SONG_LIST_MAX		100
#define SONG_OFFSET_MAX		1000000000LL

static const char *const sort_names[SONG_SORT__MAX] = {
	"new", "top", "popular", "updated"
};

static const char *
caller(struct ctx *c)
{
	return c->user.valid ? c->user.id : NULL;
}

static void
reply_song_not_found(struct ctx *c)
{
	reply_problem(c, 404, "not-found", "Song not found",
	    "No song with this id, or it is private.");
}

static void
set_etag(struct ctx *c, long long version)
{
	char	 tag[ETAG_MAX];

	etag_format(tag, sizeof(tag), version);
	http_set_header(c->resp, "ETag", "%s", tag);
}

/* status with {"song": json} and the song's ETag. */
static void
reply_song(struct ctx *c, int status, const struct song_row *r)
{
	set_etag(c, r->version);
	reply_json_wrapped(c, status, "song", r->json);
}

/*
 * A problem that carries the current song (412, 409): the client can
 * merge and retry without another GET.
 */
static void
reply_song_problem(struct ctx *c, int status, const char *type,
    const char *error, const char *detail, const struct song_row *r)
{
	struct buf	 extra = BUF_INIT;

	if (r->json != NULL) {
		set_etag(c, r->version);
		buf_puts(&extra, "\"song\":");
		buf_puts(&extra, r->json);
	}
	http_problem(c->resp, status, type, error, detail, extra.data);
	buf_release(&extra);
}

/*
 * If-Match as a PostgreSQL int array of the versions it accepts, into
 * out: NULL (*ok set) when absent or "*" (any current song; a missing
 * one is 404 first), "{}" when it lists nothing of ours (so it fails).
 */
static const char *
if_match_versions(struct ctx *c, struct buf *out)
{
	const char	*h;
	long long	 vs[ETAG_LIST_MAX];
	size_t		 n, i;
	int		 any;

	if ((h = http_header(c->req, "If-Match")) == NULL)
		return NULL;
	buf_putc(out, '{');
	if (etag_parse_list(h, vs, ETAG_LIST_MAX, &n, &any) == 0) {
		if (any)
			return NULL;
		for (i = 0; i < n; i++) {
			if (vs[i] < 1 || vs[i] > INT_MAX)
				continue;
			buf_printf(out, "%s%lld", out->len > 1 ? "," : "",
			    vs[i]);
		}
	}
	buf_putc(out, '}');
	return out->data;
}

/*
 * The song's version as the body states it (optimistic locking
 * without headers): 0 when absent, -1 when malformed (recorded).
 */
static long long
body_version(json_object *body, struct field_errors *fe)
{
	long long	 v;

	switch (jv_int(body, "version", "version", 1, INT_MAX, fe, &v)) {
	case JV_OK:
		return v;
	case JV_ABSENT:
		return 0;
	default:
		return -1;
	}
}

/*
 * Refused loop ids (comma-separated, from db/) as field errors at the
 * blocks naming them; answers 400.
 */
static void
reply_bad_loops(struct ctx *c, json_object *doc, char *bad)
{
	struct field_errors	 fe;
	const char		*ids[SONG_MAX_BLOCKS];
	size_t			 n = 0;
	char			*p, *save = NULL;

	for (p = strtok_r(bad, ",", &save); p != NULL && n < SONG_MAX_BLOCKS;
	    p = strtok_r(NULL, ",", &save))
		ids[n++] = p;
	field_errors_init(&fe);
	song_bad_loop_errors(doc, ids, n, &fe);
	field_errors_problem(&fe, c->resp, "Validation failed");
	field_errors_release(&fe);
}

/* Validate the body for mode; NULL once a 400 has been written. */
static json_object *
validated(struct ctx *c, enum song_mode mode, long long *version)
{
	struct field_errors	 fe;
	json_object		*doc, *empty = NULL, *body = c->body;

	field_errors_init(&fe);
	if (body == NULL)
		body = empty = json_object_new_object();
	doc = song_validate(body, mode, &fe);
	if (version != NULL)
		*version = body_version(body, &fe);
	if (fe.count > 0) {
		json_object_put(doc);
		doc = NULL;
		field_errors_problem(&fe, c->resp, "Validation failed");
	}
	field_errors_release(&fe);
	json_object_put(empty);
	return doc;
}

/* GET /api/songs/:id[?expand=loops] */
void
songs_get(struct ctx *c)
{
	struct song_row	 r;
	struct buf	 b = BUF_INIT;
	const char	*id = c->req->params[0];
	char		*ex = NULL;
	int		 expand = 0, q;
	enum db_status	 s;

	memset(&r, 0, sizeof(r));
	if (!uuid_is_valid(id)) {
		reply_song_not_found(c);
		return;
	}
	if ((q = http_query_get(c->req->query, "expand", &ex)) != 0) {
		if (q < 0 || strcmp(ex, "loops") != 0) {
			free(ex);
			reply_problem(c, 400, "bad-parameter", "Bad parameter",
			    "expand: must be \"loops\"");
			return;
		}
		expand = 1;
		free(ex);
	}
	if ((s = db_song_get(c->db, caller(c), c->user.ver, id, expand,
	    &r)) != DB_OK)
		reply_db_error(c, s);
	else if (!r.auth_ok)
		reply_unauthorized(c, 1);
	else if (!r.found)
		reply_song_not_found(c);
	else if (expand) {
		/* The loops may change without the song's version moving:
		 * an expanded answer is never 304. */
		set_etag(c, r.version);
		buf_printf(&b, "{\"song\":%s,\"loops\":%s}", r.json,
		    r.loops != NULL ? r.loops : "[]");
		http_response_json(c->resp, 200, b.data, b.len);
	} else if (etag_none_match(http_header(c->req, "If-None-Match"),
	    r.version)) {
		set_etag(c, r.version);
		http_response_empty(c->resp, 304);
	} else
		reply_song(c, 200, &r);
	buf_release(&b);
	song_row_release(&r);
}

/*
 * Insert doc as a new song (at id when not NULL) and answer 201 with
 * Location; 412 when id is taken (create-only PUT).
 */
static void
create(struct ctx *c, const char *id, json_object *doc)
{
	struct song_row	 r;
	char		*text;
	enum db_status	 s;

	text = jv_serialize(doc);
	if ((s = db_song_create(c->db, c->user.id, c->user.ver, id, text,
	    &r)) != DB_OK)
		reply_db_error(c, s);
	else if (!r.auth_ok)
		reply_unauthorized(c, 1);
	else if (r.bad_loops != NULL)
		reply_bad_loops(c, doc, r.bad_loops);
	else if (!r.done)
		reply_problem(c, 412, "precondition-failed",
		    "Precondition Failed", "If-None-Match: * and a song with "
		    "this id exists.");
	else {
		http_set_header(c->resp, "Location", "/api/songs/%s", r.id);
		reply_song(c, 201, &r);
	}
	free(text);
	song_row_release(&r);
}

/* POST /api/songs */
void
songs_create(struct ctx *c)
{
	json_object	*doc;

	if ((doc = validated(c, SONG_FULL, NULL)) == NULL)
		return;
	create(c, NULL, doc);
	json_object_put(doc);
}

/* PUT and PATCH /api/songs/:id: write doc over the song. */
static void
update(struct ctx *c, json_object *doc, long long version)
{
	struct song_row	 r;
	struct buf	 im = BUF_INIT;
	const char	*id = c->req->params[0];
	char		*text;
	enum db_status	 s;

	text = jv_serialize(doc);
	s = db_song_update(c->db, c->user.id, c->user.ver, id, text,
	    if_match_versions(c, &im), version, &r);
	if (s != DB_OK)
		reply_db_error(c, s);
	else if (!r.auth_ok)
		reply_unauthorized(c, 1);
	else if (!r.found)
		reply_song_not_found(c);
	else if (!r.owner)
		reply_problem(c, 403, "forbidden", "Forbidden",
		    "Only the owner may change this song.");
	else if (r.precondition)
		reply_song_problem(c, 412, "precondition-failed",
		    "Precondition Failed", "If-Match does not match the "
		    "current version; the current song is included.", &r);
	else if (r.conflict)
		reply_song_problem(c, 409, "version-conflict",
		    "Version conflict", "The version sent is not the current "
		    "one; the current song is included.", &r);
	else if (r.bad_loops != NULL)
		reply_bad_loops(c, doc, r.bad_loops);
	else
		reply_song(c, 200, &r);
	free(text);
	buf_release(&im);
	song_row_release(&r);
}

/*
 * PUT /api/songs/:id: full replace; with If-None-Match: * it creates
 * the song at this client-chosen id instead (412 if it exists).
 */
void
songs_replace(struct ctx *c)
{
	json_object	*doc;
	const char	*inm;
	long long	 version, vs[ETAG_LIST_MAX];
	size_t		 n;
	int		 any;

	if (!uuid_is_valid(c->req->params[0])) {
		reply_song_not_found(c);
		return;
	}
	if ((doc = validated(c, SONG_FULL, &version)) == NULL)
		return;
	if ((inm = http_header(c->req, "If-None-Match")) != NULL &&
	    etag_parse_list(inm, vs, ETAG_LIST_MAX, &n, &any) == 0 && any)
		create(c, c->req->params[0], doc);
	else
		update(c, doc, version);
	json_object_put(doc);
}

/* PATCH /api/songs/:id: JSON merge patch (RFC 7396). */
void
songs_patch(struct ctx *c)
{
	json_object	*doc;
	long long	 version;

	if (!uuid_is_valid(c->req->params[0])) {
		reply_song_not_found(c);
		return;
	}
	if ((doc = validated(c, SONG_PATCH, &version)) == NULL)
		return;
	update(c, doc, version);
	json_object_put(doc);
}

/* DELETE /api/songs/:id */
void
songs_delete(struct ctx *c)
{
	struct song_row	 r;
	struct buf	 im = BUF_INIT;
	const char	*id = c->req->params[0];
	enum db_status	 s;

	memset(&r, 0, sizeof(r));
	if (!uuid_is_valid(id)) {
		reply_song_not_found(c);
		return;
	}
	s = db_song_delete(c->db, c->user.id, c->user.ver, id,
	    if_match_versions(c, &im), &r);
	if (s != DB_OK)
		reply_db_error(c, s);
	else if (!r.auth_ok)
		reply_unauthorized(c, 1);
	else if (!r.found)
		reply_song_not_found(c);
	else if (!r.owner)
		reply_problem(c, 403, "forbidden", "Forbidden",
		    "Only the owner may delete this song.");
	else if (r.precondition)
		reply_song_problem(c, 412, "precondition-failed",
		    "Precondition Failed", "If-Match does not match the "
		    "current version; the current song is included.", &r);
	else
		http_response_empty(c->resp, 204);
	buf_release(&im);
	song_row_release(&r);
}

static void
like(struct ctx *c, int on)
{
	struct song_row	 r;
	struct buf	 b = BUF_INIT;
	const char	*id = c->req->params[0];
	enum db_status	 s;

	memset(&r, 0, sizeof(r));
	if (!uuid_is_valid(id)) {
		reply_song_not_found(c);
		return;
	}
	if ((s = db_song_like(c->db, c->user.id, c->user.ver, id, on,
	    &r)) != DB_OK)
		reply_db_error(c, s);
	else if (!r.auth_ok)
		reply_unauthorized(c, 1);
	else if (!r.found)
		reply_song_not_found(c);
	else {
		buf_printf(&b, "{\"likesCount\":%lld,\"likedByMe\":%s}",
		    r.count, on ? "true" : "false");
		http_response_json(c->resp, 200, b.data, b.len);
	}
	buf_release(&b);
	song_row_release(&r);
}

/* PUT /api/songs/:id/like */
void
songs_like(struct ctx *c)
{
	like(c, 1);
}

/* DELETE /api/songs/:id/like */
void
songs_unlike(struct ctx *c)
{
	like(c, 0);
}

/*
 * POST /api/songs/:id/plays: one counted play per listener (the user,
 * or the client address when anonymous) per song per minute.
 */
void
songs_play(struct ctx *c)
{
	struct song_row	 r;
	struct buf	 b = BUF_INIT, who = BUF_INIT;
	const char	*id = c->req->params[0];
	enum db_status	 s;

	memset(&r, 0, sizeof(r));
	if (!uuid_is_valid(id)) {
		reply_song_not_found(c);
		return;
	}
	if (c->user.valid)
		buf_printf(&who, "u:%s", c->user.id);
	else
		buf_printf(&who, "a:%s", c->req->remote_addr != NULL ?
		    c->req->remote_addr : "-");
	if ((s = db_song_play(c->db, caller(c), c->user.ver, id, who.data,
	    &r)) != DB_OK)
		reply_db_error(c, s);
	else if (!r.auth_ok)
		reply_unauthorized(c, 1);
	else if (!r.found)
		reply_song_not_found(c);
	else {
		buf_printf(&b, "{\"playsCount\":%lld}", r.count);
		http_response_json(c->resp, 202, b.data, b.len);
	}
	buf_release(&b);
	buf_release(&who);
	song_row_release(&r);
}

/* A boolean query flag: absent/"false"/"0" 0, ""/"true"/"1" 1, else -1. */
static int
query_flag(const char *query, const char *name)
{
	char	*v;
	int	 r;

	if ((r = http_query_get(query, name, &v)) <= 0)
		return r;
	if (strcmp(v, "") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0)
		r = 1;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		r = 0;
	else
		r = -1;
	free(v);
	return r;
}

/* The offset parameter (NULL: 0): digits, at most SONG_OFFSET_MAX. */
static int
parse_offset(const char *v, long long *out)
{
	char	*end;

	*out = 0;
	if (v == NULL)
		return 0;
	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return *end != '\0' || errno != 0 || *out > SONG_OFFSET_MAX ? -1 : 0;
}

static void
reply_bad_parameter(struct ctx *c, const char *detail)
{
	reply_problem(c, 400, "bad-parameter", "Bad parameter", detail);
}

/* GET /api/songs */
void
songs_list(struct ctx *c)
{
	struct song_list_query	 q;
	struct song_page	 page;
	struct page_cursor	 cur;
	struct buf		 scope = BUF_INIT, body = BUF_INIT;
	struct buf		 link = BUF_INIT;
	const char		*query = c->req->query;
	char			*sort = NULL, *user = NULL, *cursor = NULL;
	char			*offset = NULL, *next = NULL;
	char			 purpose[32];
	int			 pub, i;
	size_t			 k;
	enum db_status		 s;

	memset(&q, 0, sizeof(q));
	memset(&page, 0, sizeof(page));
	q.viewer = caller(c);
	q.ver = c->user.ver;
	if (http_query_get(query, "sort", &sort) < 0)
		goto bad_sort;
	for (i = 0; sort != NULL && i < SONG_SORT__MAX; i++)
		if (strcmp(sort, sort_names[i]) == 0)
			break;
	if (i == SONG_SORT__MAX)
		goto bad_sort;
	q.sort = sort != NULL ? (enum song_sort)i : SONG_SORT_NEW;
	if (page_limit(query, SONG_LIST_DEFAULT, SONG_LIST_MAX,
	    &q.limit) != 0) {
		reply_bad_parameter(c, "limit: must be an integer 1-100");
		goto out;
	}
	if ((pub = query_flag(query, "public")) < 0) {
		reply_bad_parameter(c, "public: must be true or false");
		goto out;
	}
	if (http_query_get(query, "offset", &offset) < 0 ||
	    parse_offset(offset, &q.offset) != 0) {
		reply_bad_parameter(c, "offset: must be an integer "
		    "0-1000000000");
		goto out;
	}
	if (http_query_get(query, "user", &user) < 0 || (user != NULL &&
	    (user[0] == '\0' || strlen(user) > 64))) {
		reply_bad_parameter(c, "user: must be a username");
		goto out;
	}
	/* Scope: one user's songs, the caller's own, or the public feed. */
	if (user != NULL) {
		q.username = user;
		buf_puts(&scope, "user:");
		for (k = 0; user[k] != '\0'; k++)
			buf_putc(&scope, (char)tolower((unsigned char)user[k]));
	} else if (c->user.valid && !pub) {
		q.user_id = c->user.id;
		buf_printf(&scope, "own:%s", c->user.id);
	} else {
		q.public_feed = 1;
		buf_puts(&scope, "public");
	}
	snprintf(purpose, sizeof(purpose), "songs:%s", sort_names[q.sort]);
	if (http_query_get(query, "cursor", &cursor) < 0 || (cursor != NULL &&
	    (cursor_decode(c->cfg, purpose, cursor, &cur) != 0 ||
	    cur.filter != cursor_filter_hash(scope.data)))) {
		reply_bad_parameter(c, "cursor: not a cursor of this list");
		goto out;
	}
	if (cursor != NULL) {
		q.cursor_id = cur.id;
		q.cursor_key = cur.key;
	}
	if ((s = db_song_list(c->db, &q, &page)) != DB_OK) {
		reply_db_error(c, s);
		goto out;
	}
	if (!page.auth_ok) {
		reply_unauthorized(c, 1);
		goto out;
	}
	if (page.more) {
		cur.key = page.last_key;
		memcpy(cur.id, page.last_id, sizeof(cur.id));
		cur.filter = cursor_filter_hash(scope.data);
		next = cursor_encode(c->cfg, purpose, &cur);
	}
	buf_printf(&body, "{\"songs\":%s,\"nextCursor\":", page.json);
	if (next != NULL) {
		buf_printf(&body, "\"%s\"}", next);
		buf_printf(&link, "</api/songs?sort=%s&limit=%d",
		    sort_names[q.sort], q.limit);
		if (user != NULL) {
			buf_puts(&link, "&user=");
			for (k = 0; user[k] != '\0'; k++)
				if (isalnum((unsigned char)user[k]) ||
				    strchr("_.-", user[k]) != NULL)
					buf_putc(&link, user[k]);
				else
					buf_printf(&link, "%%%02X",
					    (unsigned char)user[k]);
		} else if (pub)
			buf_puts(&link, "&public=true");
		buf_printf(&link, "&cursor=%s>; rel=\"next\"", next);
		http_set_header(c->resp, "Link", "%s", link.data);
	} else
		buf_puts(&body, "null}");
	http_response_json(c->resp, 200, body.data, body.len);
	goto out;
bad_sort:
	reply_bad_parameter(c, "sort: must be new, top, popular or updated");
out:
	free(sort);
	free(user);
	free(cursor);
	free(offset);
	free(next);
	free(page.json);
	buf_release(&scope);
	buf_release(&body);
	buf_release(&link);
}
