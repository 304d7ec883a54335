#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fcgi/http.h"

#define MAX_SEGMENTS	16

/*
 * Split the raw path into percent-decoded segments.  A single trailing
 * slash is ignored ("/api/loops/" is "/api/loops"); an empty segment
 * elsewhere, a malformed escape or an encoded NUL fails.  Returns the
 * number of segments or -1; the caller frees seg[0..n).
 */
static int
split_path(const char *path, char **seg)
{
	const char	*p, *slash;
	size_t		 len;
	int		 n;

	if (path[0] != '/')
		return -1;
	len = strlen(path);
	if (len > 1 && path[len - 1] == '/') {
		len--;
		if (path[len - 1] == '/')
			return -1;
	}
	n = 0;
	if (len == 1)
		return 0;
	for (p = path + 1; p < path + len; p = slash + 1) {
		slash = memchr(p, '/', (size_t)(path + len - p));
		if (slash == NULL)
			slash = path + len;
		if (slash == p || n == MAX_SEGMENTS ||
		    http_percent_decode(p, (size_t)(slash - p), &seg[n]) != 0)
			goto fail;
		n++;
	}
	return n;
fail:
	while (n > 0)
		free(seg[--n]);
	return -1;
}

/*
 * Does pattern match the segments?  On a match the :params are copied
 * into params (caller frees) and *nparams is set.
 */
static int
match_one(const char *pattern, char **seg, int nseg, char **params,
    size_t *nparams)
{
	const char	*p, *end;
	size_t		 len, np;
	int		 i;

	np = 0;
	p = pattern + 1;
	for (i = 0; i < nseg; i++) {
		if (*p == '\0')
			return 0;
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (*p != ':' && (strlen(seg[i]) != len ||
		    strncmp(seg[i], p, len) != 0))
			return 0;
		p += len;
		if (*p == '/')
			p++;
	}
	if (*p != '\0')
		return 0;
	/* A match: collect the parameters. */
	p = pattern + 1;
	for (i = 0; i < nseg; i++) {
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (*p == ':' && np < HTTP_MAX_PARAMS)
			params[np++] = xstrdup(seg[i]);
		p += len;
		if (*p == '/')
			p++;
	}
	*nparams = np;
	return 1;
}

/*
 * Find the route for method and raw path in table[0..n).  HEAD is
 * served by GET routes.  ROUTE_FOUND sets *index and the decoded
 * params; ROUTE_BAD_METHOD writes the Allow list into allow;
 * ROUTE_BAD_PATH is a path that cannot be decoded (answer 404 too).
 */
enum route_result
route_match(const void *table, size_t n, route_pattern_fn pattern_of,
    enum http_method method, const char *path, size_t *index, char **params,
    size_t *nparams, struct buf *allow)
{
	char		*seg[MAX_SEGMENTS], *scratch[HTTP_MAX_PARAMS];
	size_t		 i, j, ns;
	unsigned	 seen;
	int		 nseg, any;
	enum http_method want, m;
	const char	*pattern;

	*nparams = 0;
	if ((nseg = split_path(path, seg)) < 0)
		return ROUTE_BAD_PATH;
	want = method == HTTP_HEAD ? HTTP_GET : method;
	any = 0;
	seen = 0;
	for (i = 0; i < n; i++) {
		pattern = pattern_of(table, i, &m);
		if (m == want &&
		    match_one(pattern, seg, nseg, params, nparams)) {
			*index = i;
			while (nseg > 0)
				free(seg[--nseg]);
			return ROUTE_FOUND;
		}
	}
	for (i = 0; i < n; i++) {
		pattern = pattern_of(table, i, &m);
		if (!match_one(pattern, seg, nseg, scratch, &ns))
			continue;
		for (j = 0; j < ns; j++)
			free(scratch[j]);
		any = 1;
		seen |= 1u << m;
		if (m == HTTP_GET)
			seen |= 1u << HTTP_HEAD;
	}
	while (nseg > 0)
		free(seg[--nseg]);
	if (!any)
		return ROUTE_NOT_FOUND;
	if (allow != NULL) {
		for (i = 0; i < HTTP_METHOD__MAX; i++)
			if (seen & (1u << i)) {
				if (allow->len > 0)
					buf_puts(allow, ", ");
				buf_puts(allow, http_method_name(i));
			}
		if (allow->len > 0)
			buf_puts(allow, ", ");
		buf_puts(allow, "OPTIONS");
	}
	return ROUTE_BAD_METHOD;
}
