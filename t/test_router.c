/*
 * Unit: the router (route_match).  One table of request lines and
 * what the router answers for each, each row a test of its own.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "fcgi/http.h"

/* The router is generic: any table, read through a pattern function. */
struct troute {
	enum http_method	 method;
	const char		*pattern;
};

static const struct troute table[] = {
	{ HTTP_GET,	"/health" },			/* 0 */
	{ HTTP_GET,	"/api/loops" },			/* 1 */
	{ HTTP_POST,	"/api/loops" },			/* 2 */
	{ HTTP_GET,	"/api/loops/:id" },		/* 3 */
	{ HTTP_PUT,	"/api/loops/:id" },		/* 4 */
	{ HTTP_DELETE,	"/api/loops/:id" },		/* 5 */
	{ HTTP_PUT,	"/api/loops/:id/like" },	/* 6 */
	{ HTTP_GET,	"/api/users/:username" },	/* 7 */
};
#define N (sizeof(table) / sizeof(table[0]))

static const char *
pattern_of(const void *t, size_t i, enum http_method *method)
{
	const struct troute	*r = (const struct troute *)t + i;

	*method = r->method;
	return r->pattern;
}

/* Anything but ROUTE_FOUND (the row does not say which refusal). */
#define NOT_FOUND_ANYHOW	(-1)
/* The row does not check the route's index. */
#define ANY			(-1)

struct row {
	const char		*what;		/* the row as a sentence */
	enum http_method	 method;
	const char		*path;
	int			 want;		/* an enum route_result */
	int			 idx;		/* the route found, or ANY */
	int			 np;		/* parameters captured, or ANY */
	const char		*param;		/* the first one, or NULL */
	const char		*allow;		/* Allow of a bad method, or NULL */
};

static const struct row rows[] = {
	{ "a literal path matches with no parameters",
	    HTTP_GET, "/health", ROUTE_FOUND, 0, 0, NULL, NULL },
	{ "a parameter is captured",
	    HTTP_PUT, "/api/loops/abc/like", ROUTE_FOUND, 6, 1, "abc", NULL },
	{ "the route is picked by the method",
	    HTTP_DELETE, "/api/loops/x", ROUTE_FOUND, 5, ANY, NULL, NULL },
	{ "an unknown path is not found",
	    HTTP_GET, "/api/nothing", ROUTE_NOT_FOUND, ANY, ANY, NULL, NULL },
	{ "a path longer than every route is not found",
	    HTTP_GET, "/api/loops/x/y/z", ROUTE_NOT_FOUND, ANY, ANY, NULL,
	    NULL },
	{ "a known path with a wrong method lists the allowed methods",
	    HTTP_PATCH, "/api/loops", ROUTE_BAD_METHOD, ANY, ANY, NULL,
	    "GET, HEAD, POST, OPTIONS" },
	{ "HEAD is served by GET",
	    HTTP_HEAD, "/api/loops/1", ROUTE_FOUND, 3, ANY, NULL, NULL },
	{ "one trailing slash is ignored",
	    HTTP_GET, "/api/loops/", ROUTE_FOUND, 1, ANY, NULL, NULL },
	{ "an empty segment inside a path makes it a bad path",
	    HTTP_GET, "/api//loops", ROUTE_BAD_PATH, ANY, ANY, NULL, NULL },
	{ "an empty segment at the end does not match",
	    HTTP_GET, "/api/loops//", NOT_FOUND_ANYHOW, ANY, ANY, NULL, NULL },
	{ "percent-encoded parameters are decoded",
	    HTTP_GET, "/api/users/al%69ce", ROUTE_FOUND, ANY, ANY, "alice",
	    NULL },
	{ "an encoded slash stays inside one segment",
	    HTTP_GET, "/api/loops/a%2Fb", ROUTE_FOUND, 3, ANY, "a/b", NULL },
	{ "encoded literal segments match",
	    HTTP_GET, "/api/%6coops", ROUTE_FOUND, 1, ANY, NULL, NULL },
	{ "a malformed escape is a bad path",
	    HTTP_GET, "/api/loops/%zz", ROUTE_BAD_PATH, ANY, ANY, NULL, NULL },
	{ "a cut-off escape is a bad path",
	    HTTP_GET, "/api/loops/%4", ROUTE_BAD_PATH, ANY, ANY, NULL, NULL },
	{ "an escaped NUL is a bad path",
	    HTTP_GET, "/api/loops/a%00b", ROUTE_BAD_PATH, ANY, ANY, NULL,
	    NULL },
	{ "a relative path is a bad path",
	    HTTP_GET, "health", ROUTE_BAD_PATH, ANY, ANY, NULL, NULL },
	{ "an unknown method on a known path is a bad method",
	    HTTP_METHOD__MAX, "/health", ROUTE_BAD_METHOD, ANY, ANY, NULL,
	    "GET, HEAD, OPTIONS" },
};

#define NROWS	(sizeof(rows) / sizeof(rows[0]))

/*
 * Each row runs as a test of its own.  The parameter is the row's
 * index, not the row: Criterion runs each test in a new process, where
 * the table's strings are at other addresses.
 */
ParameterizedTestParameters(router, every_row_gets_the_answer_it_names)
{
	static size_t	 index[NROWS];
	size_t		 i;

	for (i = 0; i < NROWS; i++)
		index[i] = i;
	return cr_make_param_array(size_t, index, NROWS);
}

ParameterizedTest(size_t *i, router, every_row_gets_the_answer_it_names)
{
	const struct row	*c = &rows[*i];
	enum route_result	 r;
	size_t			 idx = 0, np = 0;
	char			*params[HTTP_MAX_PARAMS];
	struct buf		 allow;

	memset(params, 0, sizeof(params));
	buf_init(&allow);
	r = route_match(table, N, pattern_of, c->method, c->path, &idx,
	    params, &np, &allow);
	if (c->want == NOT_FOUND_ANYHOW)
		cr_assert_neq(r, ROUTE_FOUND, "%s: %s", c->what, c->path);
	else
		cr_assert_eq((int)r, c->want, "%s: %s gave %d", c->what,
		    c->path, (int)r);
	if (c->idx != ANY)
		cr_assert_eq(idx, (size_t)c->idx, "%s: route %zu", c->what,
		    idx);
	if (c->np != ANY)
		cr_assert_eq(np, (size_t)c->np, "%s: %zu parameters", c->what,
		    np);
	if (c->param != NULL) {
		cr_assert_geq(np, 1, "%s: no parameter", c->what);
		cr_assert_str_eq(params[0], c->param, "%s", c->what);
	}
	if (c->allow != NULL)
		cr_assert_str_eq(allow.data, c->allow, "%s", c->what);
	while (np > 0)
		free(params[--np]);
	buf_release(&allow);
}
