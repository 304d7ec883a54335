/*
 * Integration: the contract the program serves about itself, through
 * nginx: the OpenAPI document (GET /api/openapi.json) and the problem
 * types its `type` URIs resolve to (GET /problems/<slug>).  That every
 * other response matches the document is checked after the suite by
 * t/contract/validate.mjs over the responses itlib.c records.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itlib.h"

#define TYPE_BASE	"https://api.musicplayground.dev"

/* The committed doc/openapi.json, as bytes (caller frees). */
static char *
committed_document(size_t *len)
{
	struct buf	 b = BUF_INIT;
	char		 path[1024], chunk[65536];
	const char	*top = getenv("top_srcdir");
	FILE		*f;
	size_t		 n;

	snprintf(path, sizeof(path), "%s/doc/openapi.json",
	    top != NULL && *top != '\0' ? top : ".");
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return buf_detach(&b);
}

static void
get(const char *path, const char *const *headers, struct it_resp *r)
{
	cr_assert_eq(it_request("GET", path, headers, NULL, r), 0,
	    "no response for GET %s", path);
}

Test(contract, the_openapi_document_is_served_as_committed_with_a_cacheable_etag)
{
	struct it_resp	 r;
	json_object	*doc;
	const char	*etag;
	char		*want;
	size_t		 len;

	want = committed_document(&len);
	get("/api/openapi.json", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(it_header(&r, "content-type"), "application/json");
	cr_assert_eq(r.body_len, len, "served %zu bytes, committed %zu",
	    r.body_len, len);
	cr_assert(memcmp(r.body, want, len) == 0);
	doc = r.json;
	cr_assert_not_null(doc);
	cr_assert(strncmp(it_str(doc, "openapi"), "3.1.", 4) == 0);
	cr_assert_not_null(it_get(doc, "components.schemas.Loop"));
	cr_assert_not_null(it_get(doc, "components.schemas.SyncPage"));
	cr_assert_str_eq(it_header(&r, "cache-control"), "public, max-age=300");
	etag = it_header(&r, "etag");
	cr_assert_not_null(etag);
	cr_assert_eq(strlen(etag), 34, "%s", etag);
	cr_assert(etag[0] == '"' && etag[33] == '"', "%s", etag);
	free(want);
	it_resp_free(&r);
}

Test(contract, if_none_match_naming_the_documents_etag_is_304_and_any_other_is_200)
{
	struct it_resp	 r;
	char		 etag[64], h[96], weak[96];
	const char	*hs[2] = { h, NULL };

	get("/api/openapi.json", NULL, &r);
	snprintf(etag, sizeof(etag), "%s", it_header(&r, "etag"));
	it_resp_free(&r);

	snprintf(h, sizeof(h), "If-None-Match: %s", etag);
	get("/api/openapi.json", hs, &r);
	cr_assert_eq(r.status, 304);
	cr_assert_str_eq(it_header(&r, "etag"), etag);
	cr_assert_str_eq(it_header(&r, "cache-control"), "public, max-age=300");
	cr_assert_eq(r.body_len, 0);
	it_resp_free(&r);

	snprintf(weak, sizeof(weak), "If-None-Match: \"other\", W/%s", etag);
	hs[0] = weak;
	get("/api/openapi.json", hs, &r);
	cr_assert_eq(r.status, 304, "a weak tag in a list matches too");
	it_resp_free(&r);

	hs[0] = "If-None-Match: \"0123456789abcdef0123456789abcdef\"";
	get("/api/openapi.json", hs, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_gt(r.body_len, 1000);
	it_resp_free(&r);
}

Test(contract, head_of_the_document_has_its_headers_and_no_body)
{
	struct it_resp	 r;

	cr_assert_eq(it_request("HEAD", "/api/openapi.json", NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(it_header(&r, "etag"));
	cr_assert_eq(r.body_len, 0);
	it_resp_free(&r);
}

Test(contract, every_problem_type_of_the_document_resolves_to_its_explanation)
{
	struct it_resp	 d, r;
	json_object	*slugs;
	const char	*slug;
	char		 path[128], uri[160], heading[96];
	size_t		 i, n;

	get("/api/openapi.json", NULL, &d);
	slugs = it_get(d.json, "components.schemas.ProblemSlug.enum");
	cr_assert_not_null(slugs);
	n = json_object_array_length(slugs);
	cr_assert_gt(n, 20);
	for (i = 0; i < n; i++) {
		slug = json_object_get_string(json_object_array_get_idx(slugs, i));
		snprintf(path, sizeof(path), "/problems/%s", slug);
		get(path, NULL, &r);
		cr_assert_eq(r.status, 200, "GET %s: %d", path, r.status);
		cr_assert_str_eq(it_header(&r, "content-type"),
		    "text/plain; charset=utf-8");
		snprintf(uri, sizeof(uri), TYPE_BASE "/problems/%s\n", slug);
		cr_assert(strncmp(r.body, uri, strlen(uri)) == 0, "%s", r.body);
		snprintf(heading, sizeof(heading), "### `%s`", slug);
		cr_assert(strstr(r.body, heading) != NULL, "%s", r.body);
		cr_assert(strstr(r.body, "**4") != NULL ||
		    strstr(r.body, "**5") != NULL, "%s names no status", slug);
		it_resp_free(&r);
	}
	get("/problems", NULL, &r);
	cr_assert_eq(r.status, 200);
	for (i = 0; i < n; i++) {
		snprintf(heading, sizeof(heading), "### `%s`",
		    json_object_get_string(json_object_array_get_idx(slugs, i)));
		cr_assert(strstr(r.body, heading) != NULL, "%s", heading);
	}
	it_resp_free(&r);
	it_resp_free(&d);
}

Test(contract, the_type_of_a_problem_the_api_answers_resolves)
{
	static const char *const paths[] = {
		"/api/no-such-route", "/api/auth/me", "/api/loops?limit=0",
		"/api/loops/not-a-uuid",
	};
	struct it_resp	 p, r;
	const char	*type;
	size_t		 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		get(paths[i], NULL, &p);
		cr_assert_geq(p.status, 400, "%s", paths[i]);
		type = it_str(p.json, "type");
		cr_assert_not_null(type, "%s: %s", paths[i], p.body);
		cr_assert(strncmp(type, TYPE_BASE "/problems/",
		    strlen(TYPE_BASE "/problems/")) == 0, "%s", type);
		get(type + strlen(TYPE_BASE), NULL, &r);
		cr_assert_eq(r.status, 200, "%s does not resolve", type);
		it_resp_free(&r);
		it_resp_free(&p);
	}
}

Test(contract, the_health_alias_under_api_answers_like_health)
{
	struct it_resp	 r;

	get("/api/health", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(it_str(r.json, "status"), "ok");
	it_resp_free(&r);
}

Test(contract, an_unknown_problem_type_is_404_problem_json)
{
	struct it_resp	 r;

	get("/problems/no-such-type", NULL, &r);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(it_header(&r, "content-type"), "application/problem+json");
	cr_assert_str_eq(it_str(r.json, "type"), TYPE_BASE "/problems/not-found");
	it_resp_free(&r);
}
