/*
 * The router: route_match over the application's route table, with
 * the path as a client sends it (percent-encoded segments).  The first
 * byte picks the method; the rest is the raw path.  Properties: a
 * match fills exactly the pattern's :params; a 405 lists the allowed
 * methods ending in OPTIONS; and for a route the input picks (its last
 * byte), its pattern with each :param replaced by the percent-encoding
 * of a value taken from the input routes to that route (or an earlier one of the same method
 * that also matches) with the value decoded back exactly.
 */
#include "fuzzlib.h"

static size_t
count_params(const char *pattern)
{
	size_t	 n = 0;

	for (; *pattern != '\0'; pattern++)
		if (*pattern == ':')
			n++;
	return n;
}

static void
free_params(char **params, size_t n)
{
	while (n > 0)
		free(params[--n]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf		 allow = BUF_INIT, path = BUF_INIT;
	char			*params[HTTP_MAX_PARAMS], *raw, *value;
	const char		*p;
	size_t			 idx, np, i, j, vlen;
	enum route_result	 r;
	enum http_method	 m;

	if (size < 1 || size > 4096)
		return 0;
	m = (enum http_method)(data[0] % (HTTP_METHOD__MAX + 1));
	raw = fuzz_str(data + 1, size - 1);
	r = FUZZ_ROUTE_MATCH(m, raw, &idx, params, &np, &allow);
	if (r == ROUTE_FOUND) {
		FUZZ_CHECK(idx < app_routes_count, "index %zu", idx);
		FUZZ_CHECK(np == count_params(app_routes[idx].pattern),
		    "%zu params for %s", np, app_routes[idx].pattern);
		for (i = 0; i < np; i++)
			FUZZ_CHECK(params[i] != NULL && *params[i] != '\0',
			    "empty param");
		free_params(params, np);
	} else {
		FUZZ_CHECK(np == 0, "params on a miss");
		if (r == ROUTE_BAD_METHOD) {
			FUZZ_CHECK(allow.len >= 7 && strcmp(allow.data +
			    allow.len - 7, "OPTIONS") == 0, "Allow: %s",
			    allow.data);
			FUZZ_CHECK(m == HTTP_METHOD__MAX ||
			    strstr(allow.data, http_method_name(m)) == NULL ||
			    m == HTTP_OPTIONS, "Allow %s lists %s",
			    allow.data, http_method_name(m));
		}
	}
	buf_release(&allow);

	/* The value: the input up to its first NUL (at most 64 bytes,
	 * at least one). */
	value = raw;
	if ((vlen = strlen(value)) > 64)
		value[vlen = 64] = '\0';
	if (vlen == 0)
		value = "x", vlen = 1;
	i = data[size - 1] % app_routes_count;
	{
		buf_reset(&path);
		for (p = app_routes[i].pattern; *p != '\0'; ) {
			if (*p != ':') {
				buf_putc(&path, *p++);
				continue;
			}
			for (j = 0; j < vlen; j++)
				buf_printf(&path, "%%%02X",
				    (unsigned char)value[j]);
			while (*p != '\0' && *p != '/')
				p++;
		}
		r = FUZZ_ROUTE_MATCH(app_routes[i].method, path.data, &idx,
		    params, &np, NULL);
		FUZZ_CHECK(r == ROUTE_FOUND && idx <= i &&
		    app_routes[idx].method == app_routes[i].method,
		    "%s %s -> %d", http_method_name(app_routes[i].method),
		    path.data, (int)r);
		if (idx == i)
			for (j = 0; j < np; j++)
				FUZZ_CHECK(strcmp(params[j], value) == 0,
				    "param %zu of %s decoded wrong", j,
				    app_routes[i].pattern);
		free_params(params, np);
	}
	buf_release(&path);
	free(raw);
	return 0;
}
