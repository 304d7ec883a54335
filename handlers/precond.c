/*
 * Preconditions of an item write, as the request states them:
 * If-Match, If-None-Match and the body's "version" (doc/API.md,
 * "Loops", "Versions and preconditions").  Parsed here into plain
 * values; the database checks them in the statement that writes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/items.h"

/*
 * Read If-Match, If-None-Match and the body's "version" into p.
 * Returns 0 (p is the caller's: item_precond_release), or -1 once a
 * 400 naming the bad one is written.  If-None-Match with entity tags
 * is a GET matter; on writes only "*" means something.  Any number of
 * entity tags is kept: none is dropped, whatever its place.
 */
int
item_precond_parse(struct ctx *c, json_object *body, struct item_precond *p)
{
	struct field_errors fe;
	const char	*h;
	long long	*none, v;
	size_t		 nnone;
	int		 any;

	memset(p, 0, sizeof(*p));
	p->body_version = -1;
	field_errors_init(&fe);
	if ((h = http_header(c->req, "If-Match")) != NULL) {
		p->match_header = 1;
		if (etag_parse_list(h, &p->versions, &p->nversions, &any) != 0)
			field_errors_add(&fe, "If-Match",
			    "must be * or a list of entity tags");
		else if (!any)
			p->match_list = 1;
	}
	if ((h = http_header(c->req, "If-None-Match")) != NULL) {
		if (etag_parse_list(h, &none, &nnone, &any) != 0)
			field_errors_add(&fe, "If-None-Match",
			    "must be * or a list of entity tags");
		else {
			free(none);
			if (any)
				p->create_only = 1;
		}
	}
	if (body != NULL && jv_integer_literal(body, "version", "version", 1,
	    INT32_MAX, &fe, &v) == JV_OK)
		p->body_version = v;
	if (fe.count > 0) {
		field_errors_problem(&fe, c->resp, "Invalid precondition");
		field_errors_release(&fe);
		item_precond_release(p);
		return -1;
	}
	field_errors_release(&fe);
	return 0;
}

void
item_precond_release(struct item_precond *p)
{
	free(p->versions);
	p->versions = NULL;
	p->nversions = 0;
}

/* 1 when If-Match lists version (p->match_list set). */
int
item_precond_lists(const struct item_precond *p, long long version)
{
	size_t	 i;

	for (i = 0; i < p->nversions; i++)
		if (p->versions[i] == version)
			return 1;
	return 0;
}

/*
 * The condition a write hands to db/: the versions If-Match accepts
 * (borrowed from p), or none at all for an item that must not exist
 * (If-None-Match: *), and the body's version.
 */
void
item_precond_cond(const struct item_precond *p, struct item_cond *cond)
{
	memset(cond, 0, sizeof(*cond));
	cond->body_version = p->body_version;
	if (p->create_only)
		cond->match = 1;	/* no version can satisfy it */
	else if (p->match_list) {
		cond->match = 1;
		cond->versions = p->versions;
		cond->nversions = p->nversions;
	}
}
