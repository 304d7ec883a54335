/*
 * Item lists: GET /api/loops, GET /api/songs (item_list) and GET
 * /api/users/me/likes?type=… (item_liked).  The query is parsed here
 * into a struct item_list_spec of plain values (the kind's own filters
 * through ops->list_filters); db_item_list turns it into SQL.  See
 * doc/API.md, "Loops", list.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/items.h"

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
 * Write {"<plural>":[…],"nextCursor":…} of the first limit rows of
 * page into out.  Returns the cursor after them (bound to purpose and
 * filter; caller frees), or NULL when the page is the last.
 */
static char *
page_write(struct ctx *c, const char *plural, const char *purpose,
    uint64_t filter, const struct item_page *page, int limit,
    struct buf *out)
{
	struct page_cursor cur;
	char		*next = NULL;
	size_t		 i;

	buf_putc(out, '{');
	buf_json_str(out, plural, strlen(plural));
	buf_puts(out, ":[");
	for (i = 0; i < page->n && i < (size_t)limit; i++) {
		if (i > 0)
			buf_putc(out, ',');
		buf_puts(out, page->rows[i].json);
	}
	buf_puts(out, "],\"nextCursor\":");
	if (page->n > (size_t)limit) {
		memset(&cur, 0, sizeof(cur));
		cur.key = page->rows[limit - 1].key;
		snprintf(cur.id, sizeof(cur.id), "%s", page->rows[limit - 1].id);
		cur.filter = filter;
		next = cursor_encode(c->cfg, purpose, &cur);
	}
	if (next != NULL)
		buf_printf(out, "\"%s\"}", next);	/* URL-safe base64 */
	else
		buf_puts(out, "null}");
	return next;
}

/*
 * GET list: the caller's items, or public ones, filtered, in the
 * requested order, one keyset page at a time.
 */
void
item_list(struct ctx *c)
{
	const struct item_ops *ops = item_ops_of(c);
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
		if (!auth_username_is_valid(user))
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
	next = page_write(c, ops->plural, purpose,
	    cursor_filter_hash(hashed.data), &page, limit, &out);
	if (next != NULL) {
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
	}
	/*
	 * An anonymous list is every anonymous caller's: a cache in front
	 * may keep it to the end of this second, never longer (nginx's
	 * micro-cache, deploy/nginx/mpapi.conf; nginx does not pass
	 * X-Accel-Expires on to the client).
	 */
	if (!c->user.present)
		http_set_header(c->resp, "X-Accel-Expires", "@%lld",
		    (long long)c->now);
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
	next = page_write(c, ops->plural, purpose, bound, &page, limit, &out);
	if (next != NULL)
		http_set_header(c->resp, "Link", "</api/users/me/likes?type=%s&"
		    "limit=%d&cursor=%s>; rel=\"next\"", ops->key, limit, next);
	http_response_json(c->resp, 200, out.data, out.len);
done:
	field_errors_release(&fe);
	item_page_release(&page);
	buf_release(&out);
	free(cursor);
	free(next);
}
