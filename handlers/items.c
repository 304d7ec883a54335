/*
 * The HTTP behaviour loops and songs share: see handlers/items.h for
 * the map.  Every handler here validates, makes one database call (a
 * PATCH makes two: read, then a write conditional on what it read)
 * and writes exactly one response.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
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
item_reply_invalid_body(struct ctx *c, const struct item_ops *ops,
    struct field_errors *fe)
{
	(void)ops;
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

/* Preconditions of a write, as the request states them. */
struct precond {
	int		 match_header;	/* If-Match came */
	int		 match_list;	/* ... with entity tags, not "*" */
	long long	 match[ETAG_LIST_MAX];
	size_t		 nmatch;
	int		 create_only;	/* If-None-Match: * */
	long long	 body_version;	/* -1: none */
	char		 match_text[ETAG_LIST_MAX * 24 + 3];
};

/*
 * Read If-Match, If-None-Match and the body's "version".  Returns 0,
 * or -1 once a 400 naming the bad one is written.  If-None-Match with
 * entity tags is a GET matter; on writes only "*" means something.
 */
static int
precond_parse(struct ctx *c, json_object *body, struct precond *p)
{
	struct field_errors fe;
	const char	*h;
	long long	 none[ETAG_LIST_MAX], v;
	size_t		 i, nnone, n;
	int		 any;

	memset(p, 0, sizeof(*p));
	p->body_version = -1;
	field_errors_init(&fe);
	if ((h = http_header(c->req, "If-Match")) != NULL) {
		p->match_header = 1;
		if (etag_parse_list(h, p->match, ETAG_LIST_MAX, &p->nmatch,
		    &any) != 0)
			field_errors_add(&fe, "If-Match",
			    "must be * or a list of entity tags");
		else if (!any) {
			p->match_list = 1;
			n = 0;
			p->match_text[n++] = '{';
			for (i = 0; i < p->nmatch; i++)
				n += (size_t)snprintf(p->match_text + n,
				    sizeof(p->match_text) - n, "%s%lld",
				    i > 0 ? "," : "", p->match[i]);
			snprintf(p->match_text + n, sizeof(p->match_text) - n,
			    "}");
		}
	}
	if ((h = http_header(c->req, "If-None-Match")) != NULL) {
		if (etag_parse_list(h, none, ETAG_LIST_MAX, &nnone, &any) != 0)
			field_errors_add(&fe, "If-None-Match",
			    "must be * or a list of entity tags");
		else if (any)
			p->create_only = 1;
	}
	if (body != NULL && jv_integer_literal(body, "version", "version", 1,
	    INT32_MAX,
	    &fe, &v) == JV_OK)
		p->body_version = v;
	if (fe.count > 0) {
		field_errors_problem(&fe, c->resp, "Invalid precondition");
		field_errors_release(&fe);
		return -1;
	}
	field_errors_release(&fe);
	return 0;
}

static int
version_listed(const struct precond *p, long long v)
{
	size_t	 i;

	for (i = 0; i < p->nmatch; i++)
		if (p->match[i] == v)
			return 1;
	return 0;
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
		item_reply_invalid_body(c, ops, &fe);
		return -1;
	}
	field_errors_release(&fe);
	*doc = jv_serialize(out);
	json_object_put(out);
	return 0;
}

/* GET one: 200 with ETag, or 304 when If-None-Match names it. */
void
item_get(struct ctx *c, const struct item_ops *ops)
{
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
item_create(struct ctx *c, const struct item_ops *ops)
{
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
item_put(struct ctx *c, const struct item_ops *ops)
{
	struct item_caller who;
	struct item_result r;
	struct item_cond cond;
	struct precond	 p;
	const char	*id;
	enum db_status	 s;
	char		*doc;

	if (item_path_id(c, ops, &id) != 0 || precond_parse(c, c->body, &p) != 0)
		return;
	if (validate_body(c, ops, c->body, p.create_only ? ITEM_DOC_CREATE :
	    ITEM_DOC_REPLACE, &doc) != 0)
		return;
	item_caller_of(c, &who);
	if (p.create_only && p.match_header) {
		/* If-Match needs an item, If-None-Match: * needs none. */
		free(doc);
		memset(&r, 0, sizeof(r));
		r.outcome = ITEM_PRECONDITION;
		item_reply_result(c, ops, &r, 200);
		return;
	}
	if (p.create_only)
		s = ops->create(c->db, &who, id, doc, &r);
	else {
		cond.if_match = p.match_list ? p.match_text : NULL;
		cond.body_version = p.body_version;
		s = ops->replace(c->db, &who, id, doc, &cond, &r);
	}
	free(doc);
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
item_patch(struct ctx *c, const struct item_ops *ops)
{
	struct item_caller who;
	struct item_result r, w;
	struct item_cond cond;
	struct precond	 p;
	json_object	*cur;
	const char	*id;
	enum db_status	 s;
	char		*doc, ver[32];
	int		 tries;

	if (item_path_id(c, ops, &id) != 0 || precond_parse(c, c->body, &p) != 0)
		return;
	if (c->body == NULL) {
		reply_problem(c, 400, "bad-request", "A merge patch is required",
		    "Send a JSON merge patch (RFC 7396) as the body.");
		return;
	}
	item_caller_of(c, &who);
	for (tries = 0; tries < PATCH_TRIES; tries++) {
		if ((s = db_item_get(c->db, ops->kind, &who, id, &r)) != DB_OK) {
			reply_db_error(c, s);
			return;
		}
		if (r.outcome != ITEM_OK)
			goto answer;
		if (strcmp(r.owner, c->user.id) != 0)
			r.outcome = ITEM_FORBIDDEN;
		else if (p.create_only ||
		    (p.match_list && !version_listed(&p, r.version)))
			r.outcome = ITEM_PRECONDITION;
		else if (p.body_version >= 0 && p.body_version != r.version)
			r.outcome = ITEM_CONFLICT;
		if (r.outcome != ITEM_OK)
			goto answer;
		if ((cur = json_tokener_parse(r.json)) == NULL) {
			item_result_release(&r);
			reply_db_error(c, DB_ERROR);
			return;
		}
		json_merge_patch(&cur, c->body);
		if (validate_body(c, ops, cur, ITEM_DOC_PATCH, &doc) != 0) {
			json_object_put(cur);
			item_result_release(&r);
			return;
		}
		json_object_put(cur);
		snprintf(ver, sizeof(ver), "{%lld}", r.version);
		cond.if_match = ver;
		cond.body_version = -1;
		s = ops->replace(c->db, &who, id, doc, &cond, &w);
		free(doc);
		if (s != DB_OK) {
			item_result_release(&r);
			reply_db_error(c, s);
			return;
		}
		item_result_release(&r);
		if (w.outcome != ITEM_PRECONDITION) {
			item_reply_result(c, ops, &w, 200);
			item_result_release(&w);
			return;
		}
		item_result_release(&w);
	}
	http_set_header(c->resp, "Retry-After", "1");
	reply_problem(c, 503, "unavailable", "Too many concurrent edits",
	    "The item kept changing while this patch was applied; retry.");
	return;
answer:
	item_reply_result(c, ops, &r, 200);
	item_result_release(&r);
}

/* DELETE: 204, conditional on If-Match. */
void
item_delete(struct ctx *c, const struct item_ops *ops)
{
	struct item_caller who;
	struct item_result r;
	struct item_cond cond;
	struct precond	 p;
	const char	*id;
	enum db_status	 s;

	if (item_path_id(c, ops, &id) != 0 || precond_parse(c, NULL, &p) != 0)
		return;
	item_caller_of(c, &who);
	/* If-None-Match: * cannot hold for an item that exists. */
	cond.if_match = p.create_only ? "{}" :
	    (p.match_list ? p.match_text : NULL);
	cond.body_version = -1;
	if ((s = db_item_delete(c->db, ops->kind, &who, id, &cond, &r)) !=
	    DB_OK) {
		reply_db_error(c, s);
		return;
	}
	item_reply_result(c, ops, &r, 204);
	item_result_release(&r);
}

/* PUT (on) / DELETE .../like: 200 {likesCount, likedByMe}. */
void
item_like(struct ctx *c, const struct item_ops *ops, int on)
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

/* POST .../plays: 202 {playsCount}. */
void
item_play(struct ctx *c, const struct item_ops *ops)
{
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

/* RFC 7396: apply patch to *target (which it may replace). */
void
json_merge_patch(json_object **target, json_object *patch)
{
	struct json_object_iterator it, end;
	json_object	*val, *cur, *t;
	const char	*key;

	if (!json_object_is_type(patch, json_type_object)) {
		json_object_put(*target);
		*target = json_object_get(patch);
		return;
	}
	if (*target == NULL || !json_object_is_type(*target, json_type_object)) {
		json_object_put(*target);
		*target = json_object_new_object();
	}
	it = json_object_iter_begin(patch);
	end = json_object_iter_end(patch);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		val = json_object_iter_peek_value(&it);
		if (val == NULL) {
			json_object_object_del(*target, key);
			continue;
		}
		if (json_object_is_type(val, json_type_object)) {
			t = NULL;
			if (json_object_object_get_ex(*target, key, &cur))
				t = json_object_get(cur);
			json_merge_patch(&t, val);
			json_object_object_add(*target, key, t);
		} else
			json_object_object_add(*target, key,
			    json_object_get(val));
	}
}

/*
 * Lists.
 */
static const char *const sort_names[ITEM_SORT__MAX] = {
	"new", "top", "popular", "updated"
};

/* The parameters every item list takes; kinds add list_params. */
static const char *const list_params[] = {
	"limit", "sort", "public", "user", "offset", "cursor", NULL
};

/* The parameters of GET /api/users/me/likes. */
static const char *const liked_params[] = {
	"type", "limit", "cursor", NULL
};

static int
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int	 n, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			n = 1;
		else if ((*p & 0xf0) == 0xe0)
			n = 2;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			n = 3;
		else
			return 0;
		for (i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		if (n == 2 && ((*p == 0xe0 && p[1] < 0xa0) ||
		    (*p == 0xed && p[1] >= 0xa0)))
			return 0;
		if (n == 3 && ((*p == 0xf0 && p[1] < 0x90) ||
		    (*p == 0xf4 && p[1] >= 0x90)))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* Append name=value, percent-encoded, to the canonical query. */
static void
query_append(struct buf *q, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	if (q->len > 0)
		buf_putc(q, '&');
	buf_puts(q, name);
	buf_putc(q, '=');
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~')
			buf_putc(q, (char)*p);
		else {
			buf_putc(q, '%');
			buf_putc(q, hex[*p >> 4]);
			buf_putc(q, hex[*p & 15]);
		}
	}
}

/* Keep s alive as long as the request (returns s). */
const char *
item_list_own(struct item_list_req *lr, char *s)
{
	if (lr->nowned == ITEM_LIST_OWNED)
		abort();	/* a programming error: raise the bound */
	lr->owned[lr->nowned++] = s;
	return s;
}

/* The query parameter name: 1 present (*out, caller frees), 0, -1. */
static int
query_raw(struct ctx *c, const char *name, struct field_errors *fe,
    char **out)
{
	int	 r;

	if ((r = http_query_get(c->req->query, name, out)) < 0) {
		field_errors_add(fe, name, "is not correctly percent-encoded");
		return -1;
	}
	if (r == 1 && !utf8_valid(*out)) {
		field_errors_add(fe, name, "must be valid UTF-8");
		free(*out);
		*out = NULL;
		return -1;
	}
	return r;
}

/*
 * A string query parameter of minchars..maxchars characters.  Returns
 * 1 with *out (kept by lr), 0 when absent, -1 after recording an error.
 */
int
item_query_string(struct ctx *c, struct item_list_req *lr, const char *name,
    size_t minchars, size_t maxchars, struct field_errors *fe,
    const char **out)
{
	char	*v, msg[64];
	size_t	 n;
	int	 r;

	*out = NULL;
	if ((r = query_raw(c, name, fe, &v)) <= 0)
		return r;
	n = jv_utf8_length(v, strlen(v));
	if (n < minchars || n > maxchars) {
		snprintf(msg, sizeof(msg), "must be %zu-%zu characters",
		    minchars, maxchars);
		field_errors_add(fe, name, msg);
		free(v);
		return -1;
	}
	query_append(&lr->query, name, v);
	*out = item_list_own(lr, v);
	return 1;
}

/*
 * An integer query parameter (digits, optional '-') in min..max: 1
 * with *out, 0 when absent, -1 after recording an error.  When lr is
 * not NULL the parameter joins the list's canonical query.
 */
static int
query_int(struct ctx *c, struct item_list_req *lr, const char *name,
    long long min, long long max, struct field_errors *fe, long long *out)
{
	char	*v, *end, msg[64];
	long long n;
	int	 r;

	if ((r = query_raw(c, name, fe, &v)) <= 0)
		return r;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < min || n > max ||
	    !(isdigit((unsigned char)v[0]) || (v[0] == '-' &&
	    isdigit((unsigned char)v[1])))) {
		snprintf(msg, sizeof(msg), "must be an integer %lld-%lld", min,
		    max);
		field_errors_add(fe, name, msg);
		free(v);
		return -1;
	}
	if (lr != NULL)
		query_append(&lr->query, name, v);
	free(v);
	*out = n;
	return 1;
}

/* An integer filter in min..max, part of the list's canonical query. */
int
item_query_int(struct ctx *c, struct item_list_req *lr, const char *name,
    long long min, long long max, struct field_errors *fe, long long *out)
{
	return query_int(c, lr, name, min, max, fe, out);
}

static int
username_ok(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return 0;
	return i >= 1 && i <= 30;
}

/* Parse public=: a bare flag, true/1 or false/0. */
static int
query_public(struct ctx *c, struct item_list_req *lr, struct field_errors *fe,
    int *on)
{
	char	*v;
	int	 r;

	*on = 0;
	if ((r = query_raw(c, "public", fe, &v)) <= 0)
		return r;
	if (*v == '\0' || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*on = 1;
	else if (strcmp(v, "false") != 0 && strcmp(v, "0") != 0) {
		field_errors_add(fe, "public", "must be true or false");
		free(v);
		return -1;
	}
	query_append(&lr->query, "public", *on ? "true" : "false");
	free(v);
	return 1;
}

/*
 * GET list: the caller's items, or public ones, filtered, in the
 * requested order, one keyset page at a time.
 */
void
item_list(struct ctx *c, const struct item_ops *ops)
{
	struct item_list_req lr;
	struct item_list_spec *sp = &lr.spec;
	struct field_errors fe;
	struct page_cursor cur;
	struct item_page page;
	struct buf	 out = BUF_INIT, hashed = BUF_INIT;
	const char	*user;
	char		*cursor = NULL, *next = NULL, purpose[48], *v;
	long long	 n;
	enum db_status	 s;
	size_t		 i;
	int		 limit, pub, k;

	memset(&lr, 0, sizeof(lr));
	memset(&page, 0, sizeof(page));
	field_errors_init(&fe);
	item_caller_of(c, &sp->who);
	sp->kind = ops->kind;
	sp->offset = -1;
	sp->bpm_min = sp->bpm_max = -1;

	if (page_limit(c->req->query, 20, 100, &limit) != 0)
		field_errors_add(&fe, "limit", "must be an integer 1-100");
	sp->sort = ITEM_SORT_NEW;
	if (query_raw(c, "sort", &fe, &v) == 1) {
		for (k = 0; k < ITEM_SORT__MAX; k++)
			if (strcmp(v, sort_names[k]) == 0)
				break;
		if (k == ITEM_SORT__MAX)
			field_errors_add(&fe, "sort",
			    "must be new, top, popular or updated");
		else {
			sp->sort = (enum item_sort)k;
			query_append(&lr.query, "sort", v);
		}
		free(v);
	}
	query_public(c, &lr, &fe, &pub);
	if (item_query_string(c, &lr, "user", 1, 30, &fe, &user) == 1) {
		if (!username_ok(user))
			field_errors_add(&fe, "user", "must be a username");
		sp->user = user;
	}
	if (ops->list_filters != NULL)
		ops->list_filters(c, &lr, &fe);
	/* Not part of the canonical query: a cursor works without it. */
	if (query_int(c, NULL, "offset", 0, 100000, &fe, &n) == 1)
		sp->offset = n;
	if (query_raw(c, "cursor", &fe, &cursor) == 1 && sp->offset >= 0)
		field_errors_add(&fe, "offset", "cannot be combined with cursor");
	query_check_names(c->req->query, list_params, ops->list_params, &fe);
	if (fe.count > 0)
		goto invalid;

	/* Who sees what: see doc/API.md, "Loops", list. */
	if (sp->user != NULL || sp->parent != NULL)
		sp->scope = pub || sp->who.id == NULL ? ITEM_SCOPE_PUBLIC :
		    ITEM_SCOPE_VISIBLE;
	else
		sp->scope = sp->who.id != NULL && !pub ? ITEM_SCOPE_OWN :
		    ITEM_SCOPE_PUBLIC;

	/* The cursor is bound to this list: kind, sort, filters, caller. */
	snprintf(purpose, sizeof(purpose), "%s:%s", ops->plural,
	    sort_names[sp->sort]);
	buf_printf(&hashed, "%s|%d|%s", lr.query.data ? lr.query.data : "",
	    (int)sp->scope, sp->who.id ? sp->who.id : "-");
	if (cursor != NULL) {
		if (cursor_decode(c->cfg, purpose, cursor, &cur) != 0 ||
		    cur.filter != cursor_filter_hash(hashed.data)) {
			field_errors_add(&fe, "cursor",
			    "is not a cursor of this list");
			goto invalid;
		}
		sp->has_cursor = 1;
		sp->cursor_key = cur.key;
		sp->cursor_id = cur.id;
	}
	sp->limit = limit + 1;

	if ((s = db_item_list(c->db, sp, &page)) != DB_OK) {
		reply_db_error(c, s);
		goto done;
	}
	if (page.bad_token) {
		reply_unauthorized(c, 1);
		goto done;
	}
	buf_putc(&out, '{');
	buf_json_str(&out, ops->plural, strlen(ops->plural));
	buf_puts(&out, ":[");
	for (i = 0; i < page.n && i < (size_t)limit; i++) {
		if (i > 0)
			buf_putc(&out, ',');
		buf_puts(&out, page.rows[i].json);
	}
	buf_puts(&out, "],\"nextCursor\":");
	if (page.n > (size_t)limit) {
		memset(&cur, 0, sizeof(cur));
		cur.key = page.rows[limit - 1].key;
		snprintf(cur.id, sizeof(cur.id), "%s", page.rows[limit - 1].id);
		cur.filter = cursor_filter_hash(hashed.data);
		next = cursor_encode(c->cfg, purpose, &cur);
	}
	if (next != NULL) {
		buf_printf(&out, "\"%s\"}", next);	/* URL-safe base64 */
		/* An offset page links to the next offset page. */
		if (sp->offset >= 0)
			http_set_header(c->resp, "Link", "<%s?%s%slimit=%d&"
			    "offset=%lld>; rel=\"next\"", ops->base,
			    lr.query.data ? lr.query.data : "",
			    lr.query.len > 0 ? "&" : "", limit,
			    sp->offset + limit);
		else
			http_set_header(c->resp, "Link", "<%s?%s%slimit=%d&"
			    "cursor=%s>; rel=\"next\"", ops->base,
			    lr.query.data ? lr.query.data : "",
			    lr.query.len > 0 ? "&" : "", limit, next);
	} else
		buf_puts(&out, "null}");
	http_response_json(c->resp, 200, out.data, out.len);
	goto done;
invalid:
	field_errors_problem(&fe, c->resp, "Invalid query parameter");
done:
	field_errors_release(&fe);
	item_page_release(&page);
	for (i = 0; i < lr.nowned; i++)
		free(lr.owned[i]);
	buf_release(&lr.query);
	buf_release(&hashed);
	buf_release(&out);
	free(cursor);
	free(next);
}

/*
 * GET /api/users/me/likes?type=<kind>: the items of ops's kind the
 * caller likes and may still see, newest like first, one keyset page
 * at a time ({"<plural>":[…],"nextCursor":…} and Link, as every list).
 * The cursor is bound to the kind and the caller.
 */
void
item_liked(struct ctx *c, const struct item_ops *ops)
{
	struct field_errors fe;
	struct page_cursor cur;
	struct item_caller who;
	struct item_page page;
	struct buf	 out = BUF_INIT;
	char		*cursor = NULL, *next = NULL, purpose[48];
	uint64_t	 bound;
	enum db_status	 s;
	size_t		 i;
	int		 limit, has_cursor = 0;

	memset(&page, 0, sizeof(page));
	memset(&cur, 0, sizeof(cur));
	field_errors_init(&fe);
	item_caller_of(c, &who);
	if (page_limit(c->req->query, 20, 100, &limit) != 0)
		field_errors_add(&fe, "limit", "must be an integer 1-100");
	query_check_names(c->req->query, liked_params, NULL, &fe);
	snprintf(purpose, sizeof(purpose), "likes:%s", ops->plural);
	bound = cursor_filter_hash(c->user.id);
	if (query_raw(c, "cursor", &fe, &cursor) == 1) {
		if (cursor_decode(c->cfg, purpose, cursor, &cur) != 0 ||
		    cur.filter != bound)
			field_errors_add(&fe, "cursor",
			    "is not a cursor of this list");
		else
			has_cursor = 1;
	}
	if (fe.count > 0) {
		field_errors_problem(&fe, c->resp, "Invalid query parameter");
		goto done;
	}
	if ((s = db_item_liked(c->db, ops->kind, &who, limit + 1, has_cursor,
	    cur.key, cur.id, &page)) != DB_OK) {
		reply_db_error(c, s);
		goto done;
	}
	if (page.bad_token) {
		reply_unauthorized(c, 1);
		goto done;
	}
	buf_putc(&out, '{');
	buf_json_str(&out, ops->plural, strlen(ops->plural));
	buf_puts(&out, ":[");
	for (i = 0; i < page.n && i < (size_t)limit; i++) {
		if (i > 0)
			buf_putc(&out, ',');
		buf_puts(&out, page.rows[i].json);
	}
	buf_puts(&out, "],\"nextCursor\":");
	if (page.n > (size_t)limit) {
		memset(&cur, 0, sizeof(cur));
		cur.key = page.rows[limit - 1].key;
		snprintf(cur.id, sizeof(cur.id), "%s", page.rows[limit - 1].id);
		cur.filter = bound;
		next = cursor_encode(c->cfg, purpose, &cur);
	}
	if (next != NULL) {
		buf_printf(&out, "\"%s\"}", next);	/* URL-safe base64 */
		http_set_header(c->resp, "Link", "</api/users/me/likes?type=%s&"
		    "limit=%d&cursor=%s>; rel=\"next\"", ops->key, limit, next);
	} else
		buf_puts(&out, "null}");
	http_response_json(c->resp, 200, out.data, out.len);
done:
	field_errors_release(&fe);
	item_page_release(&page);
	buf_release(&out);
	free(cursor);
	free(next);
}
