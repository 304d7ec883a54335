#include "config.h"

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "fcgi/http.h"

static json_object *
member(json_object *o, const char *k)
{
	json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, k, &v), "missing %s", k);
	return v;
}

Test(problem, has_the_rfc9457_members_and_the_error_string)
{
	struct http_response r;
	json_object *o;

	http_response_init(&r);
	http_set_header(&r, "X-Request-Id", "req-1");
	http_problem(&r, 404, "not-found", "Loop not found", NULL, NULL);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(r.content_type, "application/problem+json");
	o = json_tokener_parse(r.body.data);
	cr_assert_not_null(o);
	cr_assert_str_eq(json_object_get_string(member(o, "type")),
	    "https://api.musicplayground.dev/problems/not-found");
	cr_assert_str_eq(json_object_get_string(member(o, "title")), "Not Found");
	cr_assert_eq(json_object_get_int(member(o, "status")), 404);
	cr_assert_str_eq(json_object_get_string(member(o, "detail")),
	    "Loop not found");
	cr_assert_str_eq(json_object_get_string(member(o, "error")),
	    "Loop not found");
	cr_assert_str_eq(json_object_get_string(member(o, "instance")),
	    "urn:request:req-1");
	json_object_put(o);
	http_response_release(&r);
}

Test(problem, without_type_is_about_blank)
{
	struct buf b = BUF_INIT;
	json_object *o;

	http_problem_body(&b, 500, NULL, "Internal server error", "x", NULL,
	    NULL);
	o = json_tokener_parse(b.data);
	cr_assert_str_eq(json_object_get_string(member(o, "type")),
	    "about:blank");
	cr_assert_not(json_object_object_get_ex(o, "instance", NULL));
	json_object_put(o);
	buf_release(&b);
}

Test(problem, escapes_strings)
{
	struct buf b = BUF_INIT;
	json_object *o;

	http_problem_body(&b, 400, "validation", "bad \"x\"\n\\", "d\x01", NULL,
	    NULL);
	o = json_tokener_parse(b.data);
	cr_assert_not_null(o, "%s", b.data);
	cr_assert_str_eq(json_object_get_string(member(o, "error")),
	    "bad \"x\"\n\\");
	cr_assert_str_eq(json_object_get_string(member(o, "detail")), "d\x01");
	json_object_put(o);
	buf_release(&b);
}

Test(problem, validation_lists_every_field_and_names_the_first)
{
	struct http_response r;
	struct field_errors fe;
	json_object *o, *errs;

	http_response_init(&r);
	field_errors_init(&fe);
	field_errors_add(&fe, "name", "must be 1-100 characters");
	field_errors_addf(&fe, "must be an integer 0-127",
	    "iconSequence[%d].pitch", 3);
	field_errors_problem(&fe, &r, "Validation failed");
	cr_assert_eq(r.status, 400);
	o = json_tokener_parse(r.body.data);
	errs = member(o, "errors");
	cr_assert_eq(json_object_array_length(errs), 2);
	cr_assert_str_eq(json_object_get_string(member(
	    json_object_array_get_idx(errs, 1), "field")),
	    "iconSequence[3].pitch");
	cr_assert_str_eq(json_object_get_string(member(o, "detail")),
	    "name: must be 1-100 characters");
	json_object_put(o);
	field_errors_release(&fe);
	http_response_release(&r);
}

Test(problem, headers_with_line_breaks_are_refused)
{
	struct http_response r;

	http_response_init(&r);
	http_set_header(&r, "Location", "/a\r\nSet-Cookie: x=1");
	cr_assert_null(http_get_header(&r, "Location"));
	http_set_header(&r, "Location", "/a");
	http_set_header(&r, "location", "/b");
	cr_assert_str_eq(http_get_header(&r, "Location"), "/b");
	cr_assert_eq(r.nheaders, 1);
	http_response_release(&r);
}

Test(problem, serialized_response_has_status_length_and_body)
{
	struct http_response r;
	struct buf b = BUF_INIT;

	http_response_init(&r);
	http_response_json(&r, 201, "{}", 2);
	http_set_header(&r, "ETag", "\"1\"");
	http_response_serialize(&r, &b);
	cr_assert_str_eq(b.data, "Status: 201 Created\r\n"
	    "Content-Type: application/json\r\nETag: \"1\"\r\n"
	    "Content-Length: 2\r\n\r\n{}");
	buf_release(&b);
	r.head_only = 1;
	http_response_serialize(&r, &b);
	cr_assert(strstr(b.data, "Content-Length: 2\r\n\r\n") != NULL);
	cr_assert_eq(b.data[b.len - 1], '\n');
	buf_release(&b);
	http_response_release(&r);
}

/* The 24-header limit dropped the 25th silently; now the list grows. */
Test(problem, a_response_keeps_every_header_past_the_first_room)
{
	static const char *const names[] = { "X-A0", "X-A1", "X-A2",
	    "X-A3", "X-A4", "X-A5", "X-A6", "X-A7", "X-A8", "X-A9", "X-B0",
	    "X-B1", "X-B2", "X-B3", "X-B4", "X-B5", "X-B6", "X-B7", "X-B8",
	    "X-B9", "X-C0", "X-C1", "X-C2", "X-C3", "X-C4", "X-C5", "X-C6",
	    "X-C7", "X-C8", "X-C9", "X-D0", "X-D1", "X-D2", "X-D3", "X-D4",
	    "X-D5", "X-D6", "X-D7", "X-D8", "X-D9" };
	const size_t n = sizeof(names) / sizeof(names[0]);
	struct http_response r;
	struct buf b = BUF_INIT;
	char want[32];
	size_t i;

	cr_assert_gt(n, 2 * HTTP_HEADERS_FIRST);
	http_response_init(&r);
	for (i = 0; i < n; i++)
		http_set_header(&r, names[i], "v%zu", i);
	cr_assert_eq(r.nheaders, n);
	http_response_empty(&r, 204);
	http_response_serialize(&r, &b);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "v%zu", i);
		cr_assert_str_eq(http_get_header(&r, names[i]), want);
		snprintf(want, sizeof(want), "\r\n%s: v%zu\r\n", names[i], i);
		cr_assert_not_null(strstr(b.data, want), "%s is missing",
		    names[i]);
	}
	buf_release(&b);
	/* A reset response keeps its room and takes as many again. */
	http_response_reset(&r);
	cr_assert_eq(r.nheaders, 0);
	for (i = 0; i < n; i++)
		http_set_header(&r, names[n - 1 - i], "w%zu", i);
	cr_assert_eq(r.nheaders, n);
	cr_assert_str_eq(http_get_header(&r, "X-A0"), "w39");
	http_response_release(&r);
}
