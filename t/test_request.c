#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fcgi/http.h"

struct mem {
	const char	*data;
	size_t		 len, off;
};

static int
mem_read(void *arg, char *p, int n)
{
	struct mem	*m = arg;
	size_t		 k;

	k = m->len - m->off;
	if (k > (size_t)n)
		k = (size_t)n;
	memcpy(p, m->data + m->off, k);
	m->off += k;
	return (int)k;
}

/* The CGI params as libfcgi hands them over (it never writes them). */
static char *const *
envp(const char **a)
{
	union { const char **c; char *const *m; } u;

	u.c = a;
	return u.m;
}

static int
read_with(const char **env, const char *body, size_t max, struct http_request *req)
{
	struct mem	 m = { body, strlen(body), 0 };

	http_request_init(req, envp(env));
	return http_request_read_body(req, mem_read, &m, max);
}

Test(request, parses_method_path_and_query)
{
	const char *env[] = { "REQUEST_METHOD=PATCH",
	    "REQUEST_URI=/api/loops/1?limit=5&q=a+b%21", NULL };
	struct http_request req;
	char *v;

	http_request_init(&req, envp(env));
	cr_assert_eq(req.method, HTTP_PATCH);
	cr_assert_str_eq(req.path, "/api/loops/1");
	cr_assert_str_eq(req.query, "limit=5&q=a+b%21");
	cr_assert_eq(http_query_get(req.query, "q", &v), 1);
	cr_assert_str_eq(v, "a b!");
	free(v);
	cr_assert_eq(http_query_get(req.query, "nope", &v), 0);
	http_request_release(&req);
}

Test(request, query_plus_sign_encoded_stays_plus)
{
	char *v;

	cr_assert_eq(http_query_get("chord=%2B7", "chord", &v), 1);
	cr_assert_str_eq(v, "+7");
	free(v);
}

Test(request, malformed_query_escape_is_reported)
{
	char *v;

	cr_assert_eq(http_query_get("a=%G1", "a", &v), -1);
	cr_assert_null(v);
}

Test(request, unknown_method_is_marked)
{
	const char *env[] = { "REQUEST_METHOD=BREW", "REQUEST_URI=/", NULL };
	struct http_request req;

	http_request_init(&req, envp(env));
	cr_assert_eq(req.method, HTTP_METHOD__MAX);
	http_request_release(&req);
}

Test(request, headers_are_read_from_http_params)
{
	const char *env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/",
	    "HTTP_IF_NONE_MATCH=\"3\"", NULL };
	struct http_request req;

	http_request_init(&req, envp(env));
	cr_assert_str_eq(http_header(&req, "If-None-Match"), "\"3\"");
	cr_assert_null(http_header(&req, "If-Match"));
	http_request_release(&req);
}

Test(request, sane_request_id_is_kept_and_insane_one_replaced)
{
	const char *ok[] = { "REQUEST_URI=/", "HTTP_X_REQUEST_ID=abc-123", NULL };
	const char *bad[] = { "REQUEST_URI=/", "HTTP_X_REQUEST_ID=a b\"c", NULL };
	struct http_request req;

	http_request_init(&req, envp(ok));
	cr_assert_str_eq(req.request_id, "abc-123");
	http_request_release(&req);
	http_request_init(&req, envp(bad));
	cr_assert_eq(strlen(req.request_id), 32);
	cr_assert_neq(strcmp(req.request_id, "a b\"c"), 0);
	http_request_release(&req);
}

Test(request, missing_content_length_means_no_body)
{
	const char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/", NULL };
	struct http_request req;

	cr_assert_eq(read_with(env, "{\"a\":1}", 100, &req), 0);
	cr_assert_null(req.body);
	http_request_release(&req);
}

Test(request, body_is_read_to_the_announced_length)
{
	const char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
	    "CONTENT_LENGTH=7", "CONTENT_TYPE=application/json; charset=utf-8",
	    NULL };
	struct http_request req;

	cr_assert_eq(read_with(env, "{\"a\":1}", 100, &req), 0);
	cr_assert_str_eq(req.body, "{\"a\":1}");
	cr_assert_eq(req.body_len, 7);
	http_request_release(&req);
}

Test(request, content_length_longer_than_the_body_is_400)
{
	const char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
	    "CONTENT_LENGTH=20", "CONTENT_TYPE=application/json", NULL };
	struct http_request req;

	cr_assert_eq(read_with(env, "{\"a\":1}", 100, &req), 400);
	cr_assert_null(req.body);
	http_request_release(&req);
}

Test(request, malformed_content_length_is_400)
{
	static const char *badcl[] = { "-1", "+7", " 7", "7 ", "0x10", "1e3" };
	struct http_request req;
	char cl[32];
	size_t i;

	for (i = 0; i < sizeof(badcl) / sizeof(badcl[0]); i++) {
		const char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/", cl,
		    "CONTENT_TYPE=application/json", NULL };

		snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%s", badcl[i]);
		cr_assert_eq(read_with(env, "{\"a\":1}", 100, &req), 400,
		    "CONTENT_LENGTH=%s", badcl[i]);
		http_request_release(&req);
	}
}

Test(request, body_over_the_limit_is_413_before_reading)
{
	const char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
	    "CONTENT_LENGTH=101", "CONTENT_TYPE=application/json", NULL };
	const char *huge[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
	    "CONTENT_LENGTH=99999999999999999999999999",
	    "CONTENT_TYPE=application/json", NULL };
	struct http_request req;

	cr_assert_eq(read_with(env, "", 100, &req), 413);
	cr_assert_null(req.body);
	http_request_release(&req);
	cr_assert_eq(read_with(huge, "", 100, &req), 413);
	http_request_release(&req);
}

Test(request, non_json_content_type_is_415)
{
	const char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
	    "CONTENT_LENGTH=3", "CONTENT_TYPE=text/plain", NULL };
	const char *none[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/",
	    "CONTENT_LENGTH=3", NULL };
	struct http_request req;

	cr_assert_eq(read_with(env, "a=1", 100, &req), 415);
	http_request_release(&req);
	cr_assert_eq(read_with(none, "a=1", 100, &req), 415);
	http_request_release(&req);
}

Test(request, merge_patch_type_is_only_for_patch)
{
	cr_assert(http_content_type_is_json("application/merge-patch+json", 1));
	cr_assert_not(http_content_type_is_json("application/merge-patch+json", 0));
	cr_assert(http_content_type_is_json("Application/JSON", 0));
	cr_assert_not(http_content_type_is_json("application/jsonx", 0));
	cr_assert_not(http_content_type_is_json(NULL, 0));
}

Test(request, cors_allows_listed_origins_and_port_wildcards_only)
{
	const char *list = "https://app.example.com, http://localhost:*";

	cr_assert(cors_origin_allowed(list, "https://app.example.com"));
	cr_assert(cors_origin_allowed(list, "http://localhost:5173"));
	cr_assert_not(cors_origin_allowed(list, "http://localhost:5173x"));
	cr_assert_not(cors_origin_allowed(list, "http://localhost:"));
	cr_assert_not(cors_origin_allowed(list, "https://app.example.com.evil"));
	cr_assert_not(cors_origin_allowed(list, "http://evil.com"));
	cr_assert_not(cors_origin_allowed("", "http://localhost:1"));
	cr_assert_not(cors_origin_allowed(list, NULL));
}

Test(request, cors_headers_echo_an_allowed_origin_and_answer_preflights)
{
	struct http_response r;

	http_response_init(&r);
	cors_apply(&r, "http://localhost:*", "http://localhost:5173", 1);
	cr_assert_str_eq(http_get_header(&r, "Access-Control-Allow-Origin"),
	    "http://localhost:5173");
	cr_assert_not_null(http_get_header(&r, "Access-Control-Allow-Headers"));
	cr_assert_str_eq(http_get_header(&r, "Vary"), "Origin");
	http_response_release(&r);
	http_response_init(&r);
	cors_apply(&r, "http://localhost:*", "http://evil.com", 1);
	cr_assert_null(http_get_header(&r, "Access-Control-Allow-Origin"));
	http_response_release(&r);
}
