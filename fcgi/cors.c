#include "config.h"

#include <string.h>
#include <strings.h>

#include "fcgi/http.h"

/*
 * Cross-origin access for the browser client.  The allowed origins
 * are an exact, comma-separated list (MP_CORS_ORIGINS); a trailing
 * "*" in an entry allows any port ("http://localhost:*"), which
 * development uses.  Nothing else is a pattern.
 */

static int
origin_entry_matches(const char *entry, size_t elen, const char *origin)
{
	size_t	 olen = strlen(origin), i;

	if (elen >= 2 && entry[elen - 1] == '*' && entry[elen - 2] == ':') {
		/* "scheme://host:*": same prefix, then digits only. */
		if (olen <= elen - 1 || strncasecmp(entry, origin, elen - 1) != 0)
			return 0;
		for (i = elen - 1; i < olen; i++)
			if (origin[i] < '0' || origin[i] > '9')
				return 0;
		return 1;
	}
	return olen == elen && strncasecmp(entry, origin, elen) == 0;
}

/* 1 when origin is in the comma-separated list allowed. */
int
cors_origin_allowed(const char *allowed, const char *origin)
{
	const char	*p, *comma;
	size_t		 n;

	if (allowed == NULL || origin == NULL || *origin == '\0' ||
	    strpbrk(origin, " \t\r\n,") != NULL)
		return 0;
	for (p = allowed; *p != '\0'; p = comma ? comma + 1 : p + n) {
		while (*p == ' ')
			p++;
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n > 0 && origin_entry_matches(p, n, origin))
			return 1;
		if (comma == NULL)
			break;
	}
	return 0;
}

/*
 * Add the CORS headers to a response for a request from origin (the
 * Origin header, or NULL).  A preflight (OPTIONS with
 * Access-Control-Request-Method) also gets the methods and headers a
 * client may use.  Every response varies by Origin.
 */
void
cors_apply(struct http_response *r, const char *allowed, const char *origin,
    int preflight)
{
	http_set_header(r, "Vary", "Origin");
	if (!cors_origin_allowed(allowed, origin))
		return;
	http_set_header(r, "Access-Control-Allow-Origin", "%s", origin);
	http_set_header(r, "Access-Control-Allow-Credentials", "true");
	http_set_header(r, "Access-Control-Expose-Headers", "ETag, Location, "
	    "Link, Retry-After, X-Request-Id, Idempotent-Replayed, "
	    "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
	    "X-Read-After");
	if (preflight) {
		http_set_header(r, "Access-Control-Allow-Methods",
		    "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
		http_set_header(r, "Access-Control-Allow-Headers",
		    "Authorization, Content-Type, If-Match, If-None-Match, "
		    "Idempotency-Key, X-Request-Id, X-Read-After");
		http_set_header(r, "Access-Control-Max-Age", "600");
	}
}
