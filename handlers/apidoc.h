/*
 * The documents the program serves about itself: the OpenAPI document
 * (GET /api/openapi.json) and the explanation of each problem type
 * (GET /problems, GET /problems/:slug, what the type URIs resolve to).
 * Their text is compiled in by handlers/embed-docs.sh from
 * doc/openapi.json and the "Problem types" section of doc/API.md.
 */
#ifndef MP_APIDOC_H
#define MP_APIDOC_H

#include <stddef.h>

struct apidoc_problem {
	const char	*slug;		/* "validation", ... */
	const char	*text;		/* its entry in doc/API.md */
};

extern const char			apidoc_openapi[];
extern const size_t			apidoc_openapi_len;
extern const char			apidoc_openapi_etag[];
extern const char			apidoc_problems_all[];
extern const char			apidoc_problems_etag[];
extern const struct apidoc_problem	apidoc_problems[];
extern const size_t			apidoc_problems_count;

#endif
