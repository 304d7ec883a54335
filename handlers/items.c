/*
 * The HTTP behaviour loops and songs share: see handlers/items.h for
 * the map.  Every handler here validates, makes one database call (a
 * PATCH makes two: read, then a write conditional on what it read)
 * and writes exactly one response.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/items.h"

#define PATCH_TRIES	5

/* 404 unless the path's :id is a UUID; *id borrows it. */
int
item_path_id(struct ctx *c, const struct item_ops *ops, const char **id)
{
	if (c->req->nparams < 1 || !uuid_is_valid(c->req->params[0])) {
		reply_problem(c, 404, "not-found", ops->not_found,
		    "No such item, or it is not visible to you.");
		return -1;
	}
	*id = c->req->params[0];
	return 0;
}

/* The caller as the statements take it (NULL id: anonymous). */
void
item_caller_of(const struct ctx *c, struct item_caller *who)
{
	who->id = c->user.valid ? c->user.id : NULL;
	who->ver = c->user.ver;
}

/* 400 listing every field error; fe is released. */
void
item_reply_invalid_body(struct ctx *c, struct field_errors *fe)
{
	field_errors_problem(fe, c->resp, "Validation failed");
	field_errors_release(fe);
}

static void
set_etag(struct ctx *c, long long version)
{
	char	 tag[ETAG_MAX];

	etag_format(tag, sizeof(tag), version);
	http_set_header(c->resp, "ETag", "%s", tag);
}

/* A problem whose body carries the current item, when there is one. */
static void
problem_with_current(struct ctx *c, const struct item_ops *ops, int status,
    const char *type, const char *error, const char *detail,
    const struct item_result *r)
{
	struct buf	 extra = BUF_INIT;

	if (r->json != NULL) {
		set_etag(c, r->version);
		buf_json_str(&extra, ops->key, strlen(ops->key));
		buf_putc(&extra, ':');
		buf_puts(&extra, r->json);
	}
	http_problem(c->resp, status, type, error, detail, extra.data);
	buf_release(&extra);
}

/*
 * Answer the outcome of an item call: ok_status (200, 201 or 204) with
 * {"<key>":item}, ETag and, for a creation, Location; or the error
 * status the outcome stands for.
 */
void
item_reply_result(struct ctx *c, const struct item_ops *ops,
    const struct item_result *r, int ok_status)
{
	struct buf	 extra;
	char		 msg[96];

	switch (r->outcome) {
	case ITEM_BAD_TOKEN:
		reply_unauthorized(c, 1);
		break;
	case ITEM_OK:
	case ITEM_CREATED:
		if (ok_status == 204) {
			http_response_empty(c->resp, 204);
			break;
		}
		if (r->json == NULL) {
			reply_db_error(c, DB_ERROR);
			break;
		}
		set_etag(c, r->version);
		if (r->outcome == ITEM_CREATED) {
			ok_status = 201;
			if (r->id[0] != '\0')
				http_set_header(c->resp, "Location", "%s/%s",
				    ops->base, r->id);
		}
		reply_json_wrapped(c, ok_status, ops->key, r->json);
		break;
	case ITEM_MISSING:
		reply_problem(c, 404, "not-found", ops->not_found,
		    "No such item, or it is not visible to you.");
		break;
	case ITEM_FORBIDDEN:
		snprintf(msg, sizeof(msg), "Only the owner may change this %s",
		    ops->key);
		reply_problem(c, 403, "forbidden", msg,
		    "It belongs to another user.");
		break;
	case ITEM_PRECONDITION:
		problem_with_current(c, ops, 412, "precondition-failed",
		    "Precondition failed", "The request's precondition "
		    "(If-Match or If-None-Match) does not hold for the current "
		    "version.", r);
		break;
	case ITEM_CONFLICT:
		problem_with_current(c, ops, 409, "version-conflict",
		    "Version conflict", "The body's version is not the "
		    "current one; merge with the current version and retry.", r);
		break;
	case ITEM_INVALID:
		/* json, if any, is the errors array the database built. */
		buf_init(&extra);
		if (r->json != NULL) {
			buf_puts(&extra, "\"errors\":");
			buf_puts(&extra, r->json);
		}
		http_problem(c->resp, 400, "validation", "Validation failed",
		    "The document refers to something it may not.", extra.data);
		buf_release(&extra);
		break;
	}
}

/*
 * Validate body (NULL: an empty object) in mode; 0 with the document
 * as JSON text in *doc (caller frees), or -1 once a 400 is written.
 */
static int
validate_body(struct ctx *c, const struct item_ops *ops, json_object *body,
    enum item_doc_mode mode, char **doc)
{
	struct field_errors fe;
	json_object	*empty = NULL, *out = NULL;
	int		 rc;

	*doc = NULL;
	field_errors_init(&fe);
	if (body == NULL)
		body = empty = json_object_new_object();
	rc = ops->validate(body, mode, &out, &fe);
	json_object_put(empty);
	if (rc != 0) {
		item_reply_invalid_body(c, &fe);
		return -1;
	}
	field_errors_release(&fe);
	*doc = jv_serialize(out);
	json_object_put(out);
	return 0;
}

/* GET one: 200 with ETag, or 304 when If-None-Match names it. */
void
item_get(struct ctx *c)
{
	const struct item_ops *ops = item_ops_of(c);
	struct item_caller who;
	struct item_result r;
	const char	*id;
	enum db_status	 s;

	if (item_path_id(c, ops, &id) != 0)
		return;
	item_caller_of(c, &who);
	if ((s = db_item_get(c->db, ops->kind, &who, id, &r)) != DB_OK) {
		reply_db_error(c, s);
		return;
	}
	if (r.outcome == ITEM_OK &&
	    etag_none_match(http_header(c->req, "If-None-Match"), r.version)) {
		set_etag(c, r.version);
		http_response_empty(c->resp, 304);
	} else
		item_reply_result(c, ops, &r, 200);
	item_result_release(&r);
}

/* POST: create, owned by the caller, at a new id. */
void
item_create(struct ctx *c)
{
	const struct item_ops *ops = item_ops_of(c);
	struct item_caller who;
	struct item_result r;
	enum db_status	 s;
	char		*doc;

	if (validate_body(c, ops, c->body, ITEM_DOC_CREATE, &doc) != 0)
		return;
	item_caller_of(c, &who);
	s = ops->create(c->db, &who, NULL, doc, &r);
	free(doc);
	if (s != DB_OK) {
		reply_db_error(c, s);
		return;
	}
	item_reply_result(c, ops, &r, 201);
	item_result_release(&r);
}

/*
 * PUT: full replace, conditional on If-Match and the body's version;
 * with If-None-Match: * a create at the client's id instead.
 */
void
item_put(struct ctx *c)
{
	const struct item_ops *ops = item_ops_of(c);
	struct item_caller who;
	struct item_result r;
	struct item_cond cond;
	struct item_precond p;
	const char	*id;
	enum db_status	 s;
	char		*doc;

	if (item_path_id(c, ops, &id) != 0 ||
	    item_precond_parse(c, c->body, &p) != 0)
		return;
	if (validate_body(c, ops, c->body, p.create_only ? ITEM_DOC_CREATE :
	    ITEM_DOC_REPLACE, &doc) != 0) {
		item_precond_release(&p);
		return;
	}
	item_caller_of(c, &who);
	if (p.create_only && p.match_header) {
		/* If-Match needs an item, If-None-Match: * needs none. */
		free(doc);
		item_precond_release(&p);
		memset(&r, 0, sizeof(r));
		r.outcome = ITEM_PRECONDITION;
		item_reply_result(c, ops, &r, 200);
		return;
	}
	if (p.create_only)
		s = ops->create(c->db, &who, id, doc, &r);
	else {
		item_precond_cond(&p, &cond);
		s = ops->replace(c->db, &who, id, doc, &cond, &r);
	}
	free(doc);
	item_precond_release(&p);
	if (s != DB_OK) {
		reply_db_error(c, s);
		return;
	}
	item_reply_result(c, ops, &r, 200);
	item_result_release(&r);
}

/*
 * PATCH: read the current item, check the request's preconditions on
 * it, apply the merge patch, validate the result as a whole, and write
 * it conditionally on the version read.  If another write landed in
 * between, start again (the client's own preconditions then decide).
 */
void
item_patch(struct ctx *c)
{
	const struct item_ops *ops = item_ops_of(c);
	struct item_caller who;
	struct item_result r, w;
	struct item_cond cond;
	struct item_precond p;
	json_object	*cur;
	const char	*id;
	enum db_status	 s;
	char		*doc;
	long long	 read_version;
	int		 tries;

	if (item_path_id(c, ops, &id) != 0 ||
	    item_precond_parse(c, c->body, &p) != 0)
		return;
	if (c->body == NULL) {
		item_precond_release(&p);
		reply_problem(c, 400, "bad-request", "A merge patch is required",
		    "Send a JSON merge patch (RFC 7396) as the body.");
		return;
	}
	item_caller_of(c, &who);
	for (tries = 0; tries < PATCH_TRIES; tries++) {
		if ((s = db_item_get(c->db, ops->kind, &who, id, &r)) != DB_OK) {
			item_precond_release(&p);
			reply_db_error(c, s);
			return;
		}
		if (r.outcome != ITEM_OK)
			goto answer;
		if (strcmp(r.owner, c->user.id) != 0)
			r.outcome = ITEM_FORBIDDEN;
		else if (p.create_only ||
		    (p.match_list && !item_precond_lists(&p, r.version)))
			r.outcome = ITEM_PRECONDITION;
		else if (p.body_version >= 0 && p.body_version != r.version)
			r.outcome = ITEM_CONFLICT;
		if (r.outcome != ITEM_OK)
			goto answer;
		if ((cur = json_tokener_parse(r.json)) == NULL) {
			item_result_release(&r);
			item_precond_release(&p);
			reply_db_error(c, DB_ERROR);
			return;
		}
		json_merge_patch(&cur, c->body);
		if (validate_body(c, ops, cur, ITEM_DOC_PATCH, &doc) != 0) {
			json_object_put(cur);
			item_result_release(&r);
			item_precond_release(&p);
			return;
		}
		json_object_put(cur);
		/* The write holds only on the version just read. */
		read_version = r.version;
		memset(&cond, 0, sizeof(cond));
		cond.match = 1;
		cond.versions = &read_version;
		cond.nversions = 1;
		cond.body_version = -1;
		s = ops->replace(c->db, &who, id, doc, &cond, &w);
		free(doc);
		item_result_release(&r);
		if (s != DB_OK) {
			item_precond_release(&p);
			reply_db_error(c, s);
			return;
		}
		if (w.outcome != ITEM_PRECONDITION) {
			item_precond_release(&p);
			item_reply_result(c, ops, &w, 200);
			item_result_release(&w);
			return;
		}
		item_result_release(&w);
	}
	item_precond_release(&p);
	http_set_header(c->resp, "Retry-After", "1");
	reply_problem(c, 503, "unavailable", "Too many concurrent edits",
	    "The item kept changing while this patch was applied; retry.");
	return;
answer:
	item_precond_release(&p);
	item_reply_result(c, ops, &r, 200);
	item_result_release(&r);
}

/* DELETE: 204, conditional on If-Match. */
void
item_delete(struct ctx *c)
{
	const struct item_ops *ops = item_ops_of(c);
	struct item_caller who;
	struct item_result r;
	struct item_cond cond;
	struct item_precond p;
	const char	*id;
	enum db_status	 s;

	if (item_path_id(c, ops, &id) != 0 ||
	    item_precond_parse(c, NULL, &p) != 0)
		return;
	item_caller_of(c, &who);
	/* If-None-Match: * cannot hold for an item that exists. */
	item_precond_cond(&p, &cond);
	s = db_item_delete(c->db, ops->kind, &who, id, &cond, &r);
	item_precond_release(&p);
	if (s != DB_OK) {
		reply_db_error(c, s);
		return;
	}
	item_reply_result(c, ops, &r, 204);
	item_result_release(&r);
}

/* PUT (on) / DELETE .../like: 200 {likesCount, likedByMe}. */
static void
like_set(struct ctx *c, const struct item_ops *ops, int on)
{
	struct item_caller who;
	struct item_result r;
	const char	*id;
	enum db_status	 s;
	char		 body[96];
	int		 n;

	if (item_path_id(c, ops, &id) != 0)
		return;
	item_caller_of(c, &who);
	if ((s = db_item_like(c->db, ops->kind, &who, id, on, &r)) != DB_OK) {
		reply_db_error(c, s);
		return;
	}
	if (r.outcome != ITEM_OK) {
		item_reply_result(c, ops, &r, 200);
		return;
	}
	n = snprintf(body, sizeof(body), "{\"likesCount\":%lld,"
	    "\"likedByMe\":%s}", r.count, r.flag ? "true" : "false");
	http_response_json(c->resp, 200, body, (size_t)n);
}

/* PUT .../like */
void
item_like(struct ctx *c)
{
	like_set(c, item_ops_of(c), 1);
}

/* DELETE .../like */
void
item_unlike(struct ctx *c)
{
	like_set(c, item_ops_of(c), 0);
}

/* POST .../plays: 202 {playsCount}. */
void
item_play(struct ctx *c)
{
	const struct item_ops *ops = item_ops_of(c);
	struct item_caller who;
	struct item_result r;
	const char	*id;
	enum db_status	 s;
	char		 body[64];
	int		 n;

	if (item_path_id(c, ops, &id) != 0)
		return;
	item_caller_of(c, &who);
	if ((s = db_item_play(c->db, ops->kind, &who, c->req->remote_addr, id,
	    &r)) != DB_OK) {
		reply_db_error(c, s);
		return;
	}
	if (r.outcome != ITEM_OK) {
		item_reply_result(c, ops, &r, 202);
		return;
	}
	n = snprintf(body, sizeof(body), "{\"playsCount\":%lld}", r.count);
	http_response_json(c->resp, 202, body, (size_t)n);
}
