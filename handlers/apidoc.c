/*
 * GET /api/openapi.json, GET /problems and GET /problems/:slug: static
 * documents of this build (see handlers/apidoc.h).  Cacheable, unlike
 * every other answer: a strong ETag of the bytes, Cache-Control
 * public for five minutes, and 304 for an If-None-Match that names
 * the tag.
 */
#include "config.h"

#include <string.h>

#include "handlers/handlers.h"
#include "handlers/apidoc.h"

#define APIDOC_CACHE	"public, max-age=300"
#define APIDOC_TYPE_URI	"https://api.musicplayground.dev/problems/"

/*
 * 1 when the If-None-Match header (a list of entity tags, or "*")
 * names tag, by the weak comparison of RFC 9110 section 8.8.3.2.
 */
static int
none_match(const char *header, const char *tag)
{
	const char	*p, *end;
	size_t		 n = strlen(tag);

	if (header == NULL)
		return 0;
	for (p = header; *p != '\0'; p = end) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		end = p;
		if (*end == '"' && (end = strchr(end + 1, '"')) != NULL)
			end++;
		else
			end = p + strcspn(p, ",");
		if ((size_t)(end - p) == n && strncmp(p, tag, n) == 0)
			return 1;
		if (*end == '\0')
			break;
	}
	return 0;
}

/* Answer 200 with the document (len bytes of type), or 304. */
static void
reply_static(struct ctx *c, const char *type, const char *etag,
    const char *body, size_t len)
{
	http_set_header(c->resp, "ETag", "%s", etag);
	http_set_header(c->resp, "Cache-Control", APIDOC_CACHE);
	if (none_match(http_header(c->req, "If-None-Match"), etag)) {
		http_response_empty(c->resp, 304);
		return;
	}
	http_response_json(c->resp, 200, body, len);
	c->resp->content_type = type;
}

/* GET /api/openapi.json: the OpenAPI 3.1 document of this build. */
void
apidoc_openapi_get(struct ctx *c)
{
	reply_static(c, "application/json", apidoc_openapi_etag,
	    apidoc_openapi, apidoc_openapi_len);
}

/* GET /problems: every problem type, explained (plain text). */
void
apidoc_problems_list(struct ctx *c)
{
	reply_static(c, "text/plain; charset=utf-8", apidoc_problems_etag,
	    apidoc_problems_all, strlen(apidoc_problems_all));
}

/*
 * GET /problems/:slug: what the type URI .../problems/<slug> resolves
 * to, its entry in doc/API.md; 404 for a type that does not exist.
 */
void
apidoc_problem_get(struct ctx *c)
{
	struct buf	 b = BUF_INIT;
	const char	*slug;
	size_t		 i;

	slug = c->req->nparams > 0 ? c->req->params[0] : "";
	for (i = 0; i < apidoc_problems_count; i++)
		if (strcmp(apidoc_problems[i].slug, slug) == 0)
			break;
	if (i == apidoc_problems_count) {
		reply_problem(c, 404, "not-found", "Problem type not found",
		    "No problem type has this name; GET /problems lists them.");
		return;
	}
	buf_printf(&b, "%s%s\n\n%s\nFrom the \"Problem types\" section of "
	    "doc/API.md, the Music Playground API reference.  Every type: "
	    "/problems\n", APIDOC_TYPE_URI, slug, apidoc_problems[i].text);
	reply_static(c, "text/plain; charset=utf-8", apidoc_problems_etag,
	    b.data, b.len);
	buf_release(&b);
}
