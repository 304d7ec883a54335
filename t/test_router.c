#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fcgi/http.h"

/* The router is generic: any table, read through a pattern function. */
struct troute {
	enum http_method	 method;
	const char		*pattern;
};

static const struct troute table[] = {
	{ HTTP_GET,	"/health" },
	{ HTTP_GET,	"/api/loops" },
	{ HTTP_POST,	"/api/loops" },
	{ HTTP_GET,	"/api/loops/:id" },
	{ HTTP_PUT,	"/api/loops/:id" },
	{ HTTP_DELETE,	"/api/loops/:id" },
	{ HTTP_PUT,	"/api/loops/:id/like" },
	{ HTTP_GET,	"/api/users/:username" },
};
#define N (sizeof(table) / sizeof(table[0]))

static const char *
pattern_of(const void *t, size_t i, enum http_method *method)
{
	const struct troute	*r = (const struct troute *)t + i;

	*method = r->method;
	return r->pattern;
}

struct m {
	enum route_result	 r;
	size_t			 idx;
	char			*params[HTTP_MAX_PARAMS];
	size_t			 np;
	struct buf		 allow;
};

static void
run(struct m *m, enum http_method meth, const char *path)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->allow);
	m->r = route_match(table, N, pattern_of, meth, path, &m->idx,
	    m->params, &m->np, &m->allow);
}

static void
done(struct m *m)
{
	while (m->np > 0)
		free(m->params[--m->np]);
	buf_release(&m->allow);
}

Test(router, matches_a_literal_path)
{
	struct m m;

	run(&m, HTTP_GET, "/health");
	cr_assert_eq(m.r, ROUTE_FOUND);
	cr_assert_eq(m.idx, 0);
	cr_assert_eq(m.np, 0);
	done(&m);
}

Test(router, captures_a_parameter)
{
	struct m m;

	run(&m, HTTP_PUT, "/api/loops/abc/like");
	cr_assert_eq(m.r, ROUTE_FOUND);
	cr_assert_eq(m.idx, 6);
	cr_assert_eq(m.np, 1);
	cr_assert_str_eq(m.params[0], "abc");
	done(&m);
}

Test(router, picks_the_route_by_method)
{
	struct m m;

	run(&m, HTTP_DELETE, "/api/loops/x");
	cr_assert_eq(m.r, ROUTE_FOUND);
	cr_assert_eq(m.idx, 5);
	done(&m);
}

Test(router, unknown_path_is_not_found)
{
	struct m m;

	run(&m, HTTP_GET, "/api/nothing");
	cr_assert_eq(m.r, ROUTE_NOT_FOUND);
	done(&m);
	run(&m, HTTP_GET, "/api/loops/x/y/z");
	cr_assert_eq(m.r, ROUTE_NOT_FOUND);
	done(&m);
}

Test(router, known_path_with_wrong_method_lists_allowed_methods)
{
	struct m m;

	run(&m, HTTP_PATCH, "/api/loops");
	cr_assert_eq(m.r, ROUTE_BAD_METHOD);
	cr_assert_str_eq(m.allow.data, "GET, HEAD, POST, OPTIONS");
	done(&m);
}

Test(router, head_is_served_by_get)
{
	struct m m;

	run(&m, HTTP_HEAD, "/api/loops/1");
	cr_assert_eq(m.r, ROUTE_FOUND);
	cr_assert_eq(m.idx, 3);
	done(&m);
}

Test(router, one_trailing_slash_is_ignored)
{
	struct m m;

	run(&m, HTTP_GET, "/api/loops/");
	cr_assert_eq(m.r, ROUTE_FOUND);
	cr_assert_eq(m.idx, 1);
	done(&m);
}

Test(router, empty_segments_do_not_match)
{
	struct m m;

	run(&m, HTTP_GET, "/api//loops");
	cr_assert_eq(m.r, ROUTE_BAD_PATH);
	done(&m);
	run(&m, HTTP_GET, "/api/loops//");
	cr_assert_neq(m.r, ROUTE_FOUND);
	done(&m);
}

Test(router, percent_encoded_parameters_are_decoded)
{
	struct m m;

	run(&m, HTTP_GET, "/api/users/al%69ce");
	cr_assert_eq(m.r, ROUTE_FOUND);
	cr_assert_str_eq(m.params[0], "alice");
	done(&m);
}

Test(router, encoded_slash_stays_inside_one_segment)
{
	struct m m;

	run(&m, HTTP_GET, "/api/loops/a%2Fb");
	cr_assert_eq(m.r, ROUTE_FOUND);
	cr_assert_eq(m.idx, 3);
	cr_assert_str_eq(m.params[0], "a/b");
	done(&m);
}

Test(router, encoded_literal_segments_match)
{
	struct m m;

	run(&m, HTTP_GET, "/api/%6coops");
	cr_assert_eq(m.r, ROUTE_FOUND);
	cr_assert_eq(m.idx, 1);
	done(&m);
}

Test(router, malformed_or_nul_escapes_are_bad_paths)
{
	struct m m;

	run(&m, HTTP_GET, "/api/loops/%zz");
	cr_assert_eq(m.r, ROUTE_BAD_PATH);
	done(&m);
	run(&m, HTTP_GET, "/api/loops/%4");
	cr_assert_eq(m.r, ROUTE_BAD_PATH);
	done(&m);
	run(&m, HTTP_GET, "/api/loops/a%00b");
	cr_assert_eq(m.r, ROUTE_BAD_PATH);
	done(&m);
}

Test(router, relative_paths_are_bad)
{
	struct m m;

	run(&m, HTTP_GET, "health");
	cr_assert_eq(m.r, ROUTE_BAD_PATH);
	done(&m);
}

Test(router, unknown_method_on_known_path_is_bad_method)
{
	struct m m;

	run(&m, HTTP_METHOD__MAX, "/health");
	cr_assert_eq(m.r, ROUTE_BAD_METHOD);
	cr_assert_str_eq(m.allow.data, "GET, HEAD, OPTIONS");
	done(&m);
}
