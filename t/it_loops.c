/*
 * Integration: the loop routes through nginx, the workers and
 * PostgreSQL.  Every bad input the issue names has its test, asserting
 * the status, the problem body naming the field, and that nothing was
 * written.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itfixture.h"

TestSuite(loops, .timeout = 60);

static void
path_of(char *out, size_t sz, const char *id, const char *suffix)
{
	snprintf(out, sz, "/api/loops/%s%s", id, suffix ? suffix : "");
}

static long long
version_of(const char *id)
{
	return itfx_count1("SELECT version FROM loops WHERE id = $1", id);
}

/* ------------------------------------------------------------------ */

Test(loops, create_answers_201_with_location_etag_and_defaults_filled_in)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	char		 want[128];

	itfx_db_user(&u);
	itfx_req("POST", "/api/loops", &u, NULL, "{\"name\":\"Groove\","
	    "\"bars\":\"4\",\"iconSequence\":[{\"bar\":0,\"row\":0,"
	    "\"soundId\":\"kick\",\"pitch\":36}]}", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(want, sizeof(want), "%s/api/loops/%s", it_mount(),
	    it_str(r.json, "loop.id"));
	cr_assert_str_eq(it_header(&r, "location"), want);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v1\"");
	cr_assert_str_eq(it_str(r.json, "loop.name"), "Groove");
	cr_assert_eq(it_int(r.json, "loop.bars"), 4);
	cr_assert_str_eq(it_str(r.json, "loop.color"), "#FFD11A");
	cr_assert_eq(it_int(r.json, "loop.bpm"), 120);
	cr_assert_eq(it_int(r.json, "loop.schemaVersion"), 1);
	cr_assert_eq(json_object_get_boolean(it_get(r.json, "loop.isPublic")), 0);
	cr_assert_eq(json_object_get_double(it_get(r.json,
	    "loop.iconSequence.0.velocity")), 0.8);
	cr_assert_eq(it_int(r.json, "loop.iconSequence.0.duration16"), 1);
	cr_assert_str_eq(it_str(r.json, "loop.userId"), u.id);
	cr_assert_str_eq(it_str(r.json, "loop.username"), u.username);
	cr_assert_eq(it_int(r.json, "loop.version"), 1);
	cr_assert_eq(it_int(r.json, "loop.likesCount"), 0);
	cr_assert_null(it_get(r.json, "loop.parentLoopId"));
	cr_assert_eq(strlen(it_str(r.json, "loop.updatedAt")), 24);
	cr_assert_eq(itfx_loops_of(&u), 1);
	cr_assert_eq(itfx_count1("SELECT loops_count FROM users WHERE id = $1",
	    u.id), 1);
	it_resp_free(&r);
}

Test(loops, numbers_round_trip_exactly_through_the_database)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	char		 id[40], p[80];

	itfx_db_user(&u);
	itfx_loop(&u, "{\"name\":\"n\",\"bars\":4,\"bpm\":1e2,\"iconSequence\":["
	    "{\"bar\":0,\"row\":0,\"soundId\":\"a\",\"pitch\":1,\"velocity\":0.123},"
	    "{\"bar\":1,\"row\":0,\"soundId\":\"b\",\"pitch\":1,\"velocity\":2.5E-1},"
	    "{\"bar\":2,\"row\":0,\"soundId\":\"c\",\"pitch\":1,\"velocity\":0.10}]}",
	    id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	itfx_req("GET", p, &u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "\"velocity\": 0.123") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "\"velocity\": 0.25") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "\"velocity\": 0.10") != NULL, "%s", r.body);
	cr_assert_eq(it_int(r.json, "loop.bpm"), 100);
	it_resp_free(&r);
}

Test(loops, get_answers_with_an_etag_and_304_when_if_none_match_names_it)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	const char	*h1[] = { "If-None-Match: \"v1\"", NULL };
	const char	*h2[] = { "If-None-Match: W/\"v0\", W/\"v1\"", NULL };
	const char	*h3[] = { "If-None-Match: \"v2\"", NULL };
	char		 id[40], p[80];

	itfx_db_user(&u);
	itfx_loop(&u, itfx_loop_body("etag", 1), id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	itfx_req("GET", p, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v1\"");
	it_resp_free(&r);
	itfx_req("GET", p, &u, h1, NULL, &r);
	cr_assert_eq(r.status, 304);
	cr_assert_eq(r.body_len, 0);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v1\"");
	it_resp_free(&r);
	itfx_req("GET", p, &u, h2, NULL, &r);
	cr_assert_eq(r.status, 304, "weak comparison for If-None-Match");
	it_resp_free(&r);
	itfx_req("GET", p, &u, h3, NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
}

Test(loops, a_private_loop_is_404_to_another_user_and_to_anonymous)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 id[40], p[80];

	itfx_db_user(&a);
	itfx_db_user(&b);
	itfx_loop(&a, itfx_loop_body("secret", 0), id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	itfx_req("GET", p, &b, NULL, NULL, &r);
	itfx_assert_problem(&r, 404, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "error"), "Loop not found");
	it_resp_free(&r);
	itfx_req("GET", p, NULL, NULL, NULL, &r);
	itfx_assert_problem(&r, 404, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "error"), "Loop not found");
	it_resp_free(&r);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
}

Test(loops, a_private_loop_cannot_be_liked_remixed_played_changed_or_deleted_by_another_user)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 id[40], p[96];

	itfx_db_user(&a);
	itfx_db_user(&b);
	itfx_loop(&a, itfx_loop_body("secret", 0), id, sizeof(id));
	path_of(p, sizeof(p), id, "/like");
	itfx_req("PUT", p, &b, NULL, NULL, &r);
	itfx_assert_problem(&r, 404, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "error"), "Loop not found");
	it_resp_free(&r);
	path_of(p, sizeof(p), id, "/remix");
	itfx_req("POST", p, &b, NULL, NULL, &r);
	itfx_assert_problem(&r, 404, NULL, NULL);
	it_resp_free(&r);
	path_of(p, sizeof(p), id, "/duplicate");
	itfx_req("POST", p, &b, NULL, NULL, &r);
	itfx_assert_problem(&r, 404, NULL, NULL);
	it_resp_free(&r);
	path_of(p, sizeof(p), id, "/plays");
	itfx_req("POST", p, &b, NULL, NULL, &r);
	itfx_assert_problem(&r, 404, NULL, NULL);
	it_resp_free(&r);
	path_of(p, sizeof(p), id, NULL);
	itfx_req("PUT", p, &b, NULL, itfx_loop_body("mine now", 1), &r);
	itfx_assert_problem(&r, 404, NULL, NULL);
	it_resp_free(&r);
	itfx_req("PATCH", p, &b, NULL, "{\"name\":\"x\"}", &r);
	itfx_assert_problem(&r, 404, NULL, NULL);
	it_resp_free(&r);
	itfx_req("DELETE", p, &b, NULL, NULL, &r);
	itfx_assert_problem(&r, 404, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "error"), "Loop not found");
	it_resp_free(&r);
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loop_likes WHERE loop_id "
	    "= $1", id), 0);
	cr_assert_eq(itfx_loops_of(&b), 0);
	cr_assert_eq(itfx_count1("SELECT likes_count + plays_count + "
	    "remixes_count + version FROM loops JOIN loop_counts "
	    "ON loop_id = id WHERE id = $1", id), 1);
	cr_assert_eq(itfx_count1("SELECT count(*) FROM play_marks WHERE "
	    "item_id = $1", id), 0);
}

Test(loops, only_the_owner_changes_a_public_loop_others_get_403)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 id[40], p[80], *name;

	itfx_db_user(&a);
	itfx_db_user(&b);
	itfx_loop(&a, itfx_loop_body("public", 1), id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	itfx_req("PUT", p, &b, NULL, itfx_loop_body("taken", 1), &r);
	itfx_assert_problem(&r, 403, NULL, NULL);
	it_resp_free(&r);
	itfx_req("PATCH", p, &b, NULL, "{\"name\":\"taken\"}", &r);
	itfx_assert_problem(&r, 403, NULL, NULL);
	it_resp_free(&r);
	itfx_req("DELETE", p, &b, NULL, NULL, &r);
	itfx_assert_problem(&r, 403, NULL, NULL);
	it_resp_free(&r);
	name = itfx_text1("SELECT name || version FROM loops WHERE id = $1", id);
	cr_assert_str_eq(name, "public1");
	free(name);
}

Test(loops, malformed_ids_in_paths_are_404_never_500)
{
	static const char *const ids[] = { "not-a-uuid", "123",
	    "00000000-0000-0000-0000-00000000000g", "%27%3B--",
	    "00000000000000000000000000000000", "00000000-0000-0000-0000-0000000000000" };
	static const char *const ops[][2] = { { "GET", "" }, { "PUT", "" },
	    { "PATCH", "" }, { "DELETE", "" }, { "POST", "/remix" },
	    { "POST", "/duplicate" }, { "PUT", "/like" }, { "DELETE", "/like" },
	    { "POST", "/plays" } };
	struct itfx_user	 u;
	struct it_resp	 r;
	char		 p[128];
	size_t		 i, j;

	itfx_db_user(&u);
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		for (j = 0; j < sizeof(ops) / sizeof(ops[0]); j++) {
			snprintf(p, sizeof(p), "/api/loops/%s%s", ids[i],
			    ops[j][1]);
			itfx_req(ops[j][0], p, &u, NULL,
			    strcmp(ops[j][0], "PUT") == 0 && *ops[j][1] == '\0' ?
			    itfx_loop_body("x", 0) : NULL, &r);
			cr_assert_eq(r.status, 404, "%s %s: %d %s", ops[j][0], p,
			    r.status, r.body);
			it_resp_free(&r);
		}
	cr_assert_eq(itfx_loops_of(&u), 0);
}

Test(loops, a_missing_loop_is_404_loop_not_found_for_every_route)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	const char	*id = "7d0c6c6b-63d4-4f43-9a73-2d4ff59a0c1e";
	char		 p[96];

	itfx_db_user(&u);
	path_of(p, sizeof(p), id, NULL);
	itfx_req("PUT", p, &u, NULL, itfx_loop_body("x", 0), &r);
	itfx_assert_problem(&r, 404, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "error"), "Loop not found");
	it_resp_free(&r);
	itfx_req("DELETE", p, &u, NULL, NULL, &r);
	itfx_assert_problem(&r, 404, NULL, NULL);
	it_resp_free(&r);
	path_of(p, sizeof(p), id, "/like");
	itfx_req("PUT", p, &u, NULL, NULL, &r);
	itfx_assert_problem(&r, 404, NULL, NULL);
	it_resp_free(&r);
	cr_assert_eq(itfx_loops_of(&u), 0);
}

Test(loops, put_replaces_the_loop_ignoring_the_old_clients_id_and_updated_at)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	char		 id[40], p[80], body[512];

	itfx_db_user(&u);
	itfx_loop(&u, itfx_loop_body("before", 1), id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	snprintf(body, sizeof(body), "{\"id\":\"something-else\","
	    "\"updatedAt\":\"2020-01-01T00:00:00.000Z\",\"name\":\"after\","
	    "\"bars\":2,\"color\":\"#00ff00\",\"bpm\":140,"
	    "\"chordProgression\":[],\"iconSequence\":[],\"schemaVersion\":1}");
	itfx_req("PUT", p, &u, NULL, body, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v2\"");
	cr_assert_str_eq(it_str(r.json, "loop.id"), id);
	cr_assert_str_eq(it_str(r.json, "loop.name"), "after");
	cr_assert_eq(it_int(r.json, "loop.bars"), 2);
	cr_assert_eq(it_int(r.json, "loop.version"), 2);
	cr_assert_eq(json_object_array_length(it_get(r.json,
	    "loop.iconSequence")), 0);
	cr_assert_str_neq(it_str(r.json, "loop.updatedAt"),
	    "2020-01-01T00:00:00.000Z");
	/* isPublic was not sent: an old client's PUT keeps it. */
	cr_assert_eq(json_object_get_boolean(it_get(r.json, "loop.isPublic")),
	    1);
	it_resp_free(&r);
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loops WHERE id = $1 AND "
	    "name = 'after' AND is_public AND bpm = 140", id), 1);
}

Test(loops, put_with_if_none_match_star_creates_at_the_clients_id_once)
{
	struct itfx_user	 u, v;
	struct it_resp	 r;
	const char	*h[] = { "If-None-Match: *", NULL };
	char		 id[40], p[80], want[96];

	itfx_db_user(&u);
	itfx_db_user(&v);
	snprintf(id, sizeof(id), "%s", "5b0a2f4e-8d7c-4e1a-9b3f-");
	snprintf(id + 24, sizeof(id) - 24, "%.12s", u.id + 24);
	path_of(p, sizeof(p), id, NULL);
	itfx_req("PUT", p, &u, h, itfx_loop_body("offline", 0), &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(want, sizeof(want), "%s/api/loops/%s", it_mount(), id);
	cr_assert_str_eq(it_header(&r, "location"), want);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v1\"");
	cr_assert_str_eq(it_str(r.json, "loop.id"), id);
	it_resp_free(&r);
	/* Again: it exists now. */
	itfx_req("PUT", p, &u, h, itfx_loop_body("offline again", 0), &r);
	itfx_assert_problem(&r, 412, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "loop.name"), "offline");
	it_resp_free(&r);
	/* Another user cannot take the id, nor see the private loop. */
	itfx_req("PUT", p, &v, h, itfx_loop_body("squatter", 1), &r);
	itfx_assert_problem(&r, 412, NULL, NULL);
	cr_assert_null(it_get(r.json, "loop"));
	it_resp_free(&r);
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loops WHERE id = $1 AND "
	    "name = 'offline' AND version = 1", id), 1);
	cr_assert_eq(itfx_loops_of(&v), 0);
}

Test(loops, patch_merges_into_the_current_loop_and_validates_the_result)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	const char	*mp[] = { "Content-Type: application/merge-patch+json",
	    NULL };
	char		 id[40], p[80];

	itfx_db_user(&u);
	itfx_loop(&u, "{\"name\":\"p\",\"bars\":8,\"color\":\"#123456\","
	    "\"bpm\":100,\"iconSequence\":[{\"bar\":100,\"row\":0,"
	    "\"soundId\":\"s\",\"pitch\":1,\"velocity\":0.5}]}", id,
	    sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	itfx_req("PATCH", p, &u, mp, "{\"bpm\":130,\"color\":null,\"isPublic\":true,"
	    "\"likesCount\":99}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(it_int(r.json, "loop.bpm"), 130);
	cr_assert_str_eq(it_str(r.json, "loop.color"), "#FFD11A");
	cr_assert_str_eq(it_str(r.json, "loop.name"), "p");
	cr_assert_eq(it_int(r.json, "loop.likesCount"), 0);
	cr_assert_eq(it_int(r.json, "loop.version"), 2);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v2\"");
	cr_assert_eq(json_object_get_double(it_get(r.json,
	    "loop.iconSequence.0.velocity")), 0.5);
	it_resp_free(&r);
	/* A 4-bar loop cannot keep a step on bar 100... */
	itfx_req("PATCH", p, &u, NULL, "{\"bars\":4,\"name\":\"\"}", &r);
	itfx_assert_problem(&r, 400, NULL, "iconSequence[0].bar");
	cr_assert(itfx_names_field(&r, "name"));
	it_resp_free(&r);
	cr_assert_eq(version_of(id), 2);
	/* ...unless the same patch replaces the sequence. */
	itfx_req("PATCH", p, &u, NULL, "{\"bars\":4,\"iconSequence\":[]}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(it_int(r.json, "loop.bars"), 4);
	it_resp_free(&r);
}

Test(loops, patch_with_a_stale_if_match_is_412_and_changes_nothing)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	const char	*stale[] = { "If-Match: \"v7\"", NULL };
	const char	*fresh[] = { "If-Match: \"v7\", \"v1\"", NULL };
	char		 id[40], p[80];

	itfx_db_user(&u);
	itfx_loop(&u, itfx_loop_body("pm", 0), id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	itfx_req("PATCH", p, &u, stale, "{\"name\":\"x\"}", &r);
	itfx_assert_problem(&r, 412, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "loop.name"), "pm");
	cr_assert_str_eq(it_header(&r, "etag"), "\"v1\"");
	it_resp_free(&r);
	itfx_req("PATCH", p, &u, NULL, "{\"name\":\"x\",\"version\":3}", &r);
	itfx_assert_problem(&r, 409, NULL, NULL);
	cr_assert_eq(it_int(r.json, "loop.version"), 1);
	it_resp_free(&r);
	cr_assert_eq(version_of(id), 1);
	itfx_req("PATCH", p, &u, fresh, "{\"name\":\"x\",\"version\":1}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "loop.name"), "x");
	it_resp_free(&r);
}

Test(loops, a_stale_if_match_on_put_or_delete_is_412_with_the_current_loop)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	const char	*stale[] = { "If-Match: \"v2\"", NULL };
	const char	*weak[] = { "If-Match: W/\"v1\"", NULL };
	const char	*star[] = { "If-Match: *", NULL };
	char		 id[40], p[80];

	itfx_db_user(&u);
	itfx_loop(&u, itfx_loop_body("locked", 0), id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	itfx_req("PUT", p, &u, stale, itfx_loop_body("lost update", 0), &r);
	itfx_assert_problem(&r, 412, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "loop.name"), "locked");
	cr_assert_eq(it_int(r.json, "loop.version"), 1);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v1\"");
	it_resp_free(&r);
	itfx_req("PUT", p, &u, weak, itfx_loop_body("weak", 0), &r);
	itfx_assert_problem(&r, 412, NULL, NULL);
	it_resp_free(&r);
	itfx_req("DELETE", p, &u, stale, NULL, &r);
	itfx_assert_problem(&r, 412, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "loop.id"), id);
	it_resp_free(&r);
	cr_assert_eq(version_of(id), 1);
	itfx_req("PUT", p, &u, star, itfx_loop_body("star", 0), &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
}

Test(loops, an_if_match_version_past_the_int_range_is_412_on_put_patch_and_delete_and_changes_nothing)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	const char	*huge[] = { "If-Match: \"v99999999999\"", NULL };
	const char	*huge_too[] = {
		"If-Match: \"v99999999999999999999999\", \"v2147483648\"", NULL
	};
	char		 id[40], p[80];

	itfx_db_user(&u);
	itfx_loop(&u, itfx_loop_body("big", 0), id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	itfx_req("PUT", p, &u, huge, itfx_loop_body("lost update", 0), &r);
	itfx_assert_problem(&r, 412, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "loop.name"), "big");
	it_resp_free(&r);
	itfx_req("PATCH", p, &u, huge, "{\"name\":\"x\"}", &r);
	itfx_assert_problem(&r, 412, NULL, NULL);
	it_resp_free(&r);
	itfx_req("DELETE", p, &u, huge_too, NULL, &r);
	itfx_assert_problem(&r, 412, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "loop.id"), id);
	it_resp_free(&r);
	cr_assert_eq(version_of(id), 1);
	cr_assert_eq(itfx_loops_of(&u), 1);
}

/* An If-Match of n tags "v101".."v(100+n-1)" and "v<v>", first or last. */
static void
if_match_many(char *out, size_t sz, int n, int v, int match_first)
{
	size_t	 len = 0;
	int	 i;

	len += (size_t)snprintf(out + len, sz - len, "If-Match: ");
	if (match_first)
		len += (size_t)snprintf(out + len, sz - len, "\"v%d\"", v);
	for (i = 0; i < n - 1; i++)
		len += (size_t)snprintf(out + len, sz - len, "%s\"v%d\"",
		    match_first || i > 0 ? ", " : "", 101 + i);
	if (!match_first)
		snprintf(out + len, sz - len, ", \"v%d\"", v);
}

Test(loops, an_if_match_of_forty_tags_gives_the_same_answer_whichever_place_the_match_has)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	char		 id[40], p[80], h[1024], body[64];
	const char	*hs[] = { h, NULL };
	int		 v, first;

	itfx_db_user(&u);
	itfx_loop(&u, itfx_loop_body("many", 0), id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	/* The current version among 40 tags: the write holds, either way. */
	for (v = 1, first = 0; first < 2; first++, v++) {
		if_match_many(h, sizeof(h), 40, v, first);
		snprintf(body, sizeof(body), "{\"name\":\"n%d\"}", v);
		itfx_req("PATCH", p, &u, hs, body, &r);
		cr_assert_eq(r.status, 200, "match %s: %d %s",
		    first ? "first" : "last", r.status, r.body);
		it_resp_free(&r);
	}
	cr_assert_eq(version_of(id), 3);
	/* A stale version among 40 tags: 412 either way, nothing written. */
	for (first = 0; first < 2; first++) {
		if_match_many(h, sizeof(h), 40, 1, first);
		itfx_req("PUT", p, &u, hs, itfx_loop_body("stale", 0), &r);
		itfx_assert_problem(&r, 412, NULL, NULL);
		it_resp_free(&r);
	}
	/* The 17th tag matching, as the 1st: the delete holds. */
	if_match_many(h, sizeof(h), 17, 3, 0);
	itfx_req("DELETE", p, &u, hs, NULL, &r);
	cr_assert_eq(r.status, 204, "%d %s", r.status, r.body);
	it_resp_free(&r);
	cr_assert_eq(itfx_loops_of(&u), 0);
}

Test(loops, a_stale_version_in_the_body_is_409_with_the_current_loop)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	char		 id[40], p[80];

	itfx_db_user(&u);
	itfx_loop(&u, itfx_loop_body("v", 0), id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	itfx_req("PUT", p, &u, NULL, "{\"name\":\"first\",\"bars\":4,"
	    "\"version\":1}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
	itfx_req("PUT", p, &u, NULL, "{\"name\":\"second\",\"bars\":4,"
	    "\"version\":1}", &r);
	itfx_assert_problem(&r, 409, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "loop.name"), "first");
	cr_assert_eq(it_int(r.json, "loop.version"), 2);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v2\"");
	it_resp_free(&r);
	cr_assert_eq(version_of(id), 2);
	itfx_req("PUT", p, &u, NULL, "{\"name\":\"x\",\"bars\":4,"
	    "\"version\":\"2\"}", &r);
	itfx_assert_problem(&r, 400, NULL, "version");
	it_resp_free(&r);
}

Test(loops, likes_plays_and_remixes_by_others_never_fail_the_owners_if_match)
{
	struct itfx_user	 owner, fan;
	struct it_resp	 r;
	const char	*h[] = { "If-Match: \"v1\"", NULL };
	char		 id[40], p[96], etag[32];

	itfx_db_user(&owner);
	itfx_db_user(&fan);
	itfx_loop(&owner, itfx_loop_body("shared", 1), id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	itfx_req("GET", p, &owner, NULL, NULL, &r);
	snprintf(etag, sizeof(etag), "%s", it_header(&r, "etag"));
	it_resp_free(&r);
	cr_assert_str_eq(etag, "\"v1\"");
	path_of(p, sizeof(p), id, "/like");
	itfx_req("PUT", p, &fan, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	path_of(p, sizeof(p), id, "/plays");
	itfx_req("POST", p, &fan, NULL, NULL, &r);
	cr_assert_eq(r.status, 202);
	it_resp_free(&r);
	path_of(p, sizeof(p), id, "/remix");
	itfx_req("POST", p, &fan, NULL, NULL, &r);
	cr_assert_eq(r.status, 201);
	it_resp_free(&r);
	cr_assert_eq(version_of(id), 1);
	path_of(p, sizeof(p), id, NULL);
	itfx_req("PUT", p, &owner, h, itfx_loop_body("edited", 1), &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(it_int(r.json, "loop.likesCount"), 1);
	cr_assert_eq(it_int(r.json, "loop.playsCount"), 1);
	cr_assert_eq(it_int(r.json, "loop.remixesCount"), 1);
	it_resp_free(&r);
}

Test(loops, delete_answers_204_and_its_remixes_stay_with_a_null_parent)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 id[40], rid[40], p[96];

	itfx_db_user(&a);
	itfx_db_user(&b);
	itfx_loop(&a, itfx_loop_body("parent", 1), id, sizeof(id));
	path_of(p, sizeof(p), id, "/remix");
	itfx_req("POST", p, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 201);
	snprintf(rid, sizeof(rid), "%s", it_str(r.json, "loop.id"));
	it_resp_free(&r);
	path_of(p, sizeof(p), id, NULL);
	itfx_req("DELETE", p, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	cr_assert_eq(r.body_len, 0);
	it_resp_free(&r);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	it_resp_free(&r);
	itfx_req("DELETE", p, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	it_resp_free(&r);
	path_of(p, sizeof(p), rid, NULL);
	itfx_req("GET", p, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_null(it_get(r.json, "loop.parentLoopId"));
	it_resp_free(&r);
	cr_assert_eq(itfx_loops_of(&a), 0);
	cr_assert_eq(itfx_count1("SELECT loops_count FROM users WHERE id = $1",
	    a.id), 0);
	cr_assert_eq(itfx_count1("SELECT count(*) FROM tombstones WHERE "
	    "item_id = $1", id), 1);
}

Test(loops, remix_copies_the_loop_for_the_caller_and_counts_on_the_parent)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 id[40], p[96], want[96];

	itfx_db_user(&a);
	itfx_db_user(&b);
	itfx_loop(&a, itfx_loop_body("Sunset", 1), id, sizeof(id));
	path_of(p, sizeof(p), id, "/remix");
	itfx_req("POST", p, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(want, sizeof(want), "%s/api/loops/%s", it_mount(),
	    it_str(r.json, "loop.id"));
	cr_assert_str_eq(it_header(&r, "location"), want);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v1\"");
	cr_assert_str_eq(it_str(r.json, "loop.name"), "Remix of Sunset");
	cr_assert_str_eq(it_str(r.json, "loop.parentLoopId"), id);
	cr_assert_str_eq(it_str(r.json, "loop.userId"), b.id);
	cr_assert_eq(it_int(r.json, "loop.bpm"), 96);
	cr_assert_str_eq(it_str(r.json, "loop.iconSequence.1.soundId"), "snare");
	cr_assert_eq(json_object_get_boolean(it_get(r.json, "loop.isPublic")), 0);
	it_resp_free(&r);
	path_of(p, sizeof(p), id, "/duplicate");
	itfx_req("POST", p, &b, NULL, "{\"name\":\"My take\",\"isPublic\":true}",
	    &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "loop.name"), "My take");
	cr_assert_eq(json_object_get_boolean(it_get(r.json, "loop.isPublic")), 1);
	it_resp_free(&r);
	path_of(p, sizeof(p), id, "/remix");
	itfx_req("POST", p, &b, NULL, "{\"name\":\"\"}", &r);
	itfx_assert_problem(&r, 400, NULL, "name");
	it_resp_free(&r);
	cr_assert_eq(itfx_count1("SELECT remixes_count FROM loops WHERE id = $1",
	    id), 2);
	cr_assert_eq(itfx_loops_of(&b), 2);
	cr_assert_eq(itfx_count1("SELECT public_loops_count FROM users WHERE "
	    "id = $1", b.id), 1);
}

Test(loops, a_remix_of_a_long_name_is_cut_to_100_characters)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 id[40], p[96], name[128], body[256];

	itfx_db_user(&a);
	memset(name, 'x', 100);
	name[100] = '\0';
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"bars\":1}", name);
	itfx_loop(&a, body, id, sizeof(id));
	path_of(p, sizeof(p), id, "/remix");
	itfx_req("POST", p, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_eq(strlen(it_str(r.json, "loop.name")), 100);
	cr_assert(strncmp(it_str(r.json, "loop.name"), "Remix of xxx", 12) == 0);
	it_resp_free(&r);
}

Test(loops, likes_are_idempotent_and_shown_as_liked_by_me)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 id[40], p[96];
	int		 i;

	itfx_db_user(&a);
	itfx_db_user(&b);
	itfx_loop(&a, itfx_loop_body("likeable", 1), id, sizeof(id));
	path_of(p, sizeof(p), id, "/like");
	for (i = 0; i < 2; i++) {
		itfx_req("PUT", p, &b, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert_eq(it_int(r.json, "likesCount"), 1);
		cr_assert_eq(json_object_get_boolean(it_get(r.json,
		    "likedByMe")), 1);
		it_resp_free(&r);
	}
	path_of(p, sizeof(p), id, NULL);
	itfx_req("GET", p, &b, NULL, NULL, &r);
	cr_assert_eq(json_object_get_boolean(it_get(r.json, "loop.likedByMe")), 1);
	cr_assert_eq(it_int(r.json, "loop.likesCount"), 1);
	it_resp_free(&r);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	cr_assert_eq(json_object_get_boolean(it_get(r.json, "loop.likedByMe")), 0);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?public=true&limit=100", &b, NULL, NULL, &r);
	cr_assert(strstr(r.body, "\"likedByMe\" : true") != NULL, "%s", r.body);
	it_resp_free(&r);
	path_of(p, sizeof(p), id, "/like");
	for (i = 0; i < 2; i++) {
		itfx_req("DELETE", p, &b, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert_eq(it_int(r.json, "likesCount"), 0);
		cr_assert_eq(json_object_get_boolean(it_get(r.json,
		    "likedByMe")), 0);
		it_resp_free(&r);
	}
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loop_likes WHERE "
	    "loop_id = $1", id), 0);
	itfx_req("PUT", p, NULL, NULL, NULL, &r);
	itfx_assert_problem(&r, 401, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "error"), "No token provided");
	it_resp_free(&r);
}

Test(loops, plays_count_once_per_listener_per_minute)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 id[40], p[96];

	itfx_db_user(&a);
	itfx_db_user(&b);
	itfx_loop(&a, itfx_loop_body("playable", 1), id, sizeof(id));
	path_of(p, sizeof(p), id, "/plays");
	itfx_req("POST", p, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 202, "%s", r.body);
	cr_assert_eq(it_int(r.json, "playsCount"), 1);
	it_resp_free(&r);
	itfx_req("POST", p, NULL, NULL, NULL, &r);
	cr_assert_eq(it_int(r.json, "playsCount"), 1);
	it_resp_free(&r);
	itfx_req("POST", p, &b, NULL, NULL, &r);
	cr_assert_eq(it_int(r.json, "playsCount"), 2);
	it_resp_free(&r);
	itfx_req("POST", p, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 202);
	cr_assert_eq(it_int(r.json, "playsCount"), 2);
	it_resp_free(&r);
	cr_assert_eq(itfx_count1("SELECT plays_count FROM loop_counts "
	    "WHERE loop_id = $1",
	    id), 2);
	cr_assert_eq(version_of(id), 1);
}

/* ---------------------------------------------------------------- lists */

/* The ids of a list response, comma-separated, into out. */
static void
ids_of(const struct it_resp *r, char *out, size_t sz)
{
	json_object	*a = it_get(r->json, "loops");
	size_t		 i, n = 0;

	out[0] = '\0';
	cr_assert_not_null(a, "%s", r->body);
	for (i = 0; i < json_object_array_length(a); i++)
		n += (size_t)snprintf(out + n, sz - n, "%s%s", i ? "," : "",
		    it_str(json_object_array_get_idx(a, i), "id"));
}

static size_t
count_of(const struct it_resp *r)
{
	json_object	*a = it_get(r->json, "loops");

	cr_assert_not_null(a, "%s", r->body);
	return json_object_array_length(a);
}

Test(loops, lists_follow_the_visibility_rules)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 pub[40], priv[40], bpub[40], p[128];

	itfx_db_user(&a);
	itfx_db_user(&b);
	itfx_loop(&a, itfx_loop_body("a public", 1), pub, sizeof(pub));
	itfx_loop(&a, itfx_loop_body("a private", 0), priv, sizeof(priv));
	itfx_loop(&b, itfx_loop_body("b public", 1), bpub, sizeof(bpub));
	/* Authenticated, no public=true: own loops, private included. */
	itfx_req("GET", "/api/loops", &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(count_of(&r), 2);
	cr_assert(strstr(r.body, priv) && strstr(r.body, pub));
	it_resp_free(&r);
	/* public=true: all public loops, nobody's private ones. */
	itfx_req("GET", "/api/loops?public=true&limit=100", &a, NULL, NULL, &r);
	cr_assert(strstr(r.body, pub) && strstr(r.body, bpub));
	cr_assert(strstr(r.body, priv) == NULL);
	it_resp_free(&r);
	/* Anonymous: public only. */
	itfx_req("GET", "/api/loops?limit=100", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, priv) == NULL);
	it_resp_free(&r);
	/* user=: their public loops; all of them for the caller. */
	snprintf(p, sizeof(p), "/api/loops?user=%s", a.username);
	itfx_req("GET", p, &b, NULL, NULL, &r);
	cr_assert_eq(count_of(&r), 1);
	cr_assert(strstr(r.body, pub) != NULL);
	it_resp_free(&r);
	itfx_req("GET", p, NULL, NULL, NULL, &r);
	cr_assert_eq(count_of(&r), 1);
	it_resp_free(&r);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	cr_assert_eq(count_of(&r), 2);
	it_resp_free(&r);
	snprintf(p, sizeof(p), "/api/loops?user=%s&public=true", a.username);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	cr_assert_eq(count_of(&r), 1);
	it_resp_free(&r);
	/* The old client's bare flag. */
	itfx_req("GET", "/api/loops?public&limit=100&offset=0", &a, NULL, NULL,
	    &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strstr(r.body, bpub) != NULL);
	it_resp_free(&r);
}

Test(loops, lists_filter_by_chord_sound_bars_bpm_name_and_parent)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 l1[40], l2[40], l3[40], rx[40], p[160], ids[256];

	itfx_db_user(&a);
	itfx_loop(&a, "{\"name\":\"Night drive\",\"bars\":4,\"bpm\":90,"
	    "\"chordProgression\":[{\"bar\":0,\"chord\":\"Fmaj7\"}],"
	    "\"iconSequence\":[{\"bar\":0,\"row\":0,\"soundId\":\"pad\","
	    "\"pitch\":60}]}", l1, sizeof(l1));
	itfx_loop(&a, "{\"name\":\"Morning 100%_\",\"bars\":2,\"bpm\":120,"
	    "\"chordProgression\":[{\"bar\":0,\"chord\":\"C\"}],"
	    "\"iconSequence\":[{\"bar\":0,\"row\":0,\"soundId\":\"kick\","
	    "\"pitch\":36}]}", l2, sizeof(l2));
	itfx_loop(&a, "{\"name\":\"Night owl\",\"bars\":8,\"bpm\":150,"
	    "\"chordProgression\":[{\"bar\":0,\"chord\":\"C\"},"
	    "{\"bar\":1,\"chord\":\"Fmaj7\"}]}", l3, sizeof(l3));
	snprintf(p, sizeof(p), "/api/loops/%s/remix", l1);
	itfx_req("POST", p, &a, NULL, NULL, &r);
	snprintf(rx, sizeof(rx), "%s", it_str(r.json, "loop.id"));
	it_resp_free(&r);

	itfx_req("GET", "/api/loops?chord=Fmaj7", &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_eq(count_of(&r), 3, "%s", ids);	/* l1, l3, the remix */
	cr_assert(strstr(ids, l2) == NULL);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?sound=kick", &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_str_eq(ids, l2);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?bars=8", &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_str_eq(ids, l3);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?bpmMin=100&bpmMax=130", &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_str_eq(ids, l2);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?q=NIGHT&chord=C", &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_str_eq(ids, l3);
	it_resp_free(&r);
	/* LIKE wildcards in q are literal. */
	itfx_req("GET", "/api/loops?q=100%25_", &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_str_eq(ids, l2);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?q=%25", &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_str_eq(ids, l2);
	it_resp_free(&r);
	snprintf(p, sizeof(p), "/api/loops?parent=%s", l1);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_str_eq(ids, rx);
	it_resp_free(&r);
}

Test(loops, parent_lists_public_remixes_and_the_callers_own)
{
	struct itfx_user	 a, b, c;
	struct it_resp	 r;
	char		 id[40], p[128];

	itfx_db_user(&a);
	itfx_db_user(&b);
	itfx_db_user(&c);
	itfx_loop(&a, itfx_loop_body("origin", 1), id, sizeof(id));
	snprintf(p, sizeof(p), "/api/loops/%s/remix", id);
	itfx_req("POST", p, &b, NULL, "{\"isPublic\":true}", &r);
	it_resp_free(&r);
	itfx_req("POST", p, &c, NULL, NULL, &r);		/* private */
	it_resp_free(&r);
	snprintf(p, sizeof(p), "/api/loops?parent=%s", id);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	cr_assert_eq(count_of(&r), 1);
	it_resp_free(&r);
	itfx_req("GET", p, &c, NULL, NULL, &r);
	cr_assert_eq(count_of(&r), 2);
	it_resp_free(&r);
	itfx_req("GET", p, NULL, NULL, NULL, &r);
	cr_assert_eq(count_of(&r), 1);
	it_resp_free(&r);
}

Test(loops, a_list_with_every_filter_at_once_is_answered_and_finds_its_loop)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 id[40], p[512], base[400];

	itfx_db_user(&a);
	itfx_db_user(&b);
	itfx_loop(&a, itfx_loop_body("origin", 1), id, sizeof(id));
	snprintf(p, sizeof(p), "/api/loops/%s/remix", id);
	itfx_req("POST", p, &b, NULL, "{\"isPublic\":true,"
	    "\"name\":\"50%_off\"}", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	it_resp_free(&r);
	/* Every filter, an uncommon limit: the most parameters a list takes. */
	snprintf(base, sizeof(base), "/api/loops?user=%s&public=true&sort=top&"
	    "bars=4&bpmMin=90&bpmMax=100&parent=%s&chord=Am7&sound=snare&"
	    "q=0%%25_&limit=7", b.username, id);
	itfx_req("GET", base, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(count_of(&r), 1, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "loops.0.name"), "50%_off");
	it_resp_free(&r);
	snprintf(p, sizeof(p), "%s&offset=1", base);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(count_of(&r), 0, "%s", r.body);
	it_resp_free(&r);
	/* The wildcards of q are literal: "0_" is not in the name. */
	snprintf(p, sizeof(p), "/api/loops?parent=%s&q=0_", id);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(count_of(&r), 0, "%s", r.body);
	it_resp_free(&r);
}

Test(loops, lists_sort_by_likes_plays_and_updates)
{
	struct itfx_user	 a, f1, f2;
	struct it_resp	 r;
	char		 x[40], y[40], z[40], p[128], ids[256], want[128];

	itfx_db_user(&a);
	itfx_db_user(&f1);
	itfx_db_user(&f2);
	itfx_loop(&a, itfx_loop_body("x", 0), x, sizeof(x));
	itfx_loop(&a, itfx_loop_body("y", 0), y, sizeof(y));
	itfx_loop(&a, itfx_loop_body("z", 0), z, sizeof(z));
	snprintf(p, sizeof(p), "/api/loops/%s/like", y);
	itfx_req("PUT", p, &a, NULL, NULL, &r);
	it_resp_free(&r);
	snprintf(p, sizeof(p), "/api/loops/%s/plays", x);
	itfx_req("POST", p, &a, NULL, NULL, &r);
	it_resp_free(&r);
	snprintf(p, sizeof(p), "/api/loops/%s", x);
	itfx_req("PATCH", p, &a, NULL, "{\"bpm\":91}", &r);
	it_resp_free(&r);

	itfx_req("GET", "/api/loops?sort=top", &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert(strncmp(ids, y, 36) == 0, "%s", ids);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?sort=popular", &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert(strncmp(ids, x, 36) == 0, "%s", ids);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?sort=updated", &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert(strncmp(ids, x, 36) == 0, "%s", ids);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?sort=new", &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	snprintf(want, sizeof(want), "%s,%s,%s", z, y, x);
	cr_assert_str_eq(ids, want);
	it_resp_free(&r);
}

/* One request as u (NULL: anonymous) that must answer want. */
static void
counted(const char *method, const char *path, const struct itfx_user *u,
    int want)
{
	struct it_resp	 r;

	itfx_req(method, path, u, NULL, NULL, &r);
	cr_assert_eq(r.status, want, "%s %s: %s", method, path, r.body);
	it_resp_free(&r);
}

/*
 * Likes and plays are counter rows of their own (migration 0040): a
 * like and a play show in the loop's JSON and move it in the public
 * top and popular lists (served by the counter table's indexes, which
 * are partial on its copy of isPublic), page by page with the cursor;
 * a loop made private leaves them, and a deleted loop takes its
 * counter row with it.
 */
Test(loops, likes_and_plays_move_counts_and_public_top_and_popular_order)
{
	struct itfx_user	 a, b, c;
	struct it_resp	 r;
	char		 x[40], y[40], path[256], ids[256], want[128];
	char		*cursor;

	itfx_db_user(&a);
	itfx_db_user(&b);
	itfx_db_user(&c);
	itfx_loop(&a, itfx_loop_body("counted x", 1), x, sizeof(x));
	itfx_loop(&a, itfx_loop_body("counted y", 1), y, sizeof(y));
	path_of(path, sizeof(path), y, "/like");
	counted("PUT", path, &b, 200);
	counted("PUT", path, &c, 200);
	counted("PUT", path, &c, 200);	/* liked already: counts once */
	path_of(path, sizeof(path), x, "/like");
	counted("PUT", path, &b, 200);
	path_of(path, sizeof(path), x, "/plays");
	counted("POST", path, &b, 202);
	counted("POST", path, &c, 202);
	counted("POST", path, NULL, 202);
	path_of(path, sizeof(path), y, "/plays");
	counted("POST", path, &b, 202);

	path_of(path, sizeof(path), y, "");
	itfx_req("GET", path, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(it_int(r.json, "loop.likesCount"), 2, "%s", r.body);
	cr_assert_eq(it_int(r.json, "loop.playsCount"), 1, "%s", r.body);
	it_resp_free(&r);
	itfx_req("GET", path, &c, NULL, NULL, &r);
	cr_assert_eq(json_object_get_boolean(it_get(r.json, "loop.likedByMe")),
	    1, "%s", r.body);
	it_resp_free(&r);

	snprintf(path, sizeof(path), "/api/loops?public=true&user=%s&sort=top",
	    a.username);
	itfx_req("GET", path, NULL, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	snprintf(want, sizeof(want), "%s,%s", y, x);
	cr_assert_str_eq(ids, want);
	cr_assert_eq(it_int(r.json, "loops.0.likesCount"), 2, "%s", r.body);
	cr_assert_eq(it_int(r.json, "loops.1.likesCount"), 1, "%s", r.body);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/loops?public=true&user=%s&"
	    "sort=popular", a.username);
	itfx_req("GET", path, NULL, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	snprintf(want, sizeof(want), "%s,%s", x, y);
	cr_assert_str_eq(ids, want);
	cr_assert_eq(it_int(r.json, "loops.0.playsCount"), 3, "%s", r.body);
	cr_assert_eq(it_int(r.json, "loops.1.playsCount"), 1, "%s", r.body);
	it_resp_free(&r);

	/* Page by page: the cursor carries the count and the id. */
	snprintf(path, sizeof(path), "/api/loops?public=true&user=%s&sort=top&"
	    "limit=1", a.username);
	itfx_req("GET", path, NULL, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_str_eq(ids, y);
	cursor = strdup(it_str(r.json, "nextCursor"));
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/loops?public=true&user=%s&sort=top&"
	    "limit=1&cursor=%s", a.username, cursor);
	free(cursor);
	itfx_req("GET", path, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_str_eq(ids, x);
	it_resp_free(&r);

	/* Private: out of the public lists, still in its owner's. */
	path_of(path, sizeof(path), y, "");
	itfx_req("PATCH", path, &a, NULL, "{\"isPublic\":false}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(it_int(r.json, "loop.likesCount"), 2, "%s", r.body);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/loops?public=true&user=%s&sort=top",
	    a.username);
	itfx_req("GET", path, NULL, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_str_eq(ids, x);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?sort=top", &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	snprintf(want, sizeof(want), "%s,%s", y, x);
	cr_assert_str_eq(ids, want);
	it_resp_free(&r);

	cr_assert_eq(itfx_count1("SELECT count(*) FROM loop_counts WHERE "
	    "loop_id = $1", x), 1);
	path_of(path, sizeof(path), x, "");
	counted("DELETE", path, &a, 204);
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loop_counts WHERE "
	    "loop_id = $1", x), 0);
}

/* Walk a list by its Link headers; every id once, in order. */
static void
walk(const struct itfx_user *u, const char *first, int want_total,
    int page_size)
{
	struct it_resp	 r;
	char		 path[512], seen[4096], ids[1024];
	const char	*link, *end;
	int		 pages = 0, total = 0;

	snprintf(path, sizeof(path), "%s", first);
	seen[0] = '\0';
	for (;;) {
		itfx_req("GET", path, u, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
		ids_of(&r, ids, sizeof(ids));
		total += (int)count_of(&r);
		pages++;
		cr_assert(strlen(seen) + strlen(ids) + 2 < sizeof(seen));
		if (ids[0] != '\0') {
			cr_assert(strstr(seen, ids) == NULL, "repeated %s", ids);
			strcat(seen, ids);
			strcat(seen, ",");
		}
		link = it_header(&r, "link");
		if (link == NULL) {
			cr_assert_null(it_get(r.json, "nextCursor"));
			it_resp_free(&r);
			break;
		}
		cr_assert_eq((int)count_of(&r), page_size);
		cr_assert_not_null(it_str(r.json, "nextCursor"));
		cr_assert(link[0] == '<' && (end = strchr(link, '>')) != NULL);
		cr_assert(strstr(end, "rel=\"next\"") != NULL);
		snprintf(path, sizeof(path), "%.*s", (int)(end - link - 1),
		    link + 1);
		memmove(path, it_unmount(path), strlen(it_unmount(path)) + 1);
		cr_assert(strstr(path, it_str(r.json, "nextCursor")) != NULL);
		it_resp_free(&r);
		cr_assert_lt(pages, 50);
	}
	cr_assert_eq(total, want_total);
}

Test(loops, keyset_pages_walk_the_whole_list_without_gaps_or_repeats)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 id[40], p[96], *ids, *tok, *save;
	int		 i;

	itfx_db_user(&a);
	for (i = 0; i < 4; i++)
		itfx_loop(&a, itfx_loop_body("paged", 0), id, sizeof(id));
	/* Three more sharing one created_at: ties are broken by id. */
	cr_assert_eq(itfx_count1("WITH i AS (INSERT INTO loops (user_id, name, "
	    "bars, created_at) SELECT $1, 'tied', 4, "
	    "'2026-01-01T00:00:00.123456Z' FROM generate_series(1, 3) "
	    "RETURNING 1) SELECT count(*) FROM i", a.id), 3);
	ids = itfx_text1("SELECT string_agg(id::text, ',') FROM loops WHERE "
	    "user_id = $1", a.id);
	for (i = 0, tok = strtok_r(ids, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save), i++) {
		if (i % 2)
			continue;
		path_of(p, sizeof(p), tok, "/like");
		itfx_req("PUT", p, &a, NULL, NULL, &r);
		cr_assert_eq(r.status, 200);
		it_resp_free(&r);
	}
	free(ids);
	walk(&a, "/api/loops?limit=3", 7, 3);
	walk(&a, "/api/loops?limit=2", 7, 2);
	walk(&a, "/api/loops?limit=3&sort=top", 7, 3);
	walk(&a, "/api/loops?limit=2&sort=popular&bars=4", 7, 2);
	walk(&a, "/api/loops?limit=1&sort=updated", 7, 1);
	walk(&a, "/api/loops?limit=100", 7, 100);
}

Test(loops, a_forged_garbled_or_foreign_cursor_is_400_naming_cursor)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 id[40], cur[256], p[512];
	int		 i;

	itfx_db_user(&a);
	itfx_db_user(&b);
	for (i = 0; i < 3; i++)
		itfx_loop(&a, itfx_loop_body("c", 0), id, sizeof(id));
	itfx_req("GET", "/api/loops?limit=1", &a, NULL, NULL, &r);
	snprintf(cur, sizeof(cur), "%s", it_str(r.json, "nextCursor"));
	it_resp_free(&r);
	/* Flip one character. */
	snprintf(p, sizeof(p), "/api/loops?limit=1&cursor=%s", cur);
	p[strlen(p) - 3] = p[strlen(p) - 3] == 'A' ? 'B' : 'A';
	itfx_req("GET", p, &a, NULL, NULL, &r);
	itfx_assert_problem(&r, 400, NULL, "cursor");
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?cursor=garbage!!", &a, NULL, NULL, &r);
	itfx_assert_problem(&r, 400, NULL, "cursor");
	it_resp_free(&r);
	/* Same cursor, other sort, other filters, other caller. */
	snprintf(p, sizeof(p), "/api/loops?limit=1&sort=top&cursor=%s", cur);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	itfx_assert_problem(&r, 400, NULL, "cursor");
	it_resp_free(&r);
	snprintf(p, sizeof(p), "/api/loops?limit=1&bars=4&cursor=%s", cur);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	itfx_assert_problem(&r, 400, NULL, "cursor");
	it_resp_free(&r);
	snprintf(p, sizeof(p), "/api/loops?limit=1&cursor=%s", cur);
	itfx_req("GET", p, &b, NULL, NULL, &r);
	itfx_assert_problem(&r, 400, NULL, "cursor");
	it_resp_free(&r);
	/* A different limit is fine. */
	snprintf(p, sizeof(p), "/api/loops?limit=5&cursor=%s", cur);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(count_of(&r), 2);
	it_resp_free(&r);
}

Test(loops, bad_list_parameters_are_400_naming_the_parameter)
{
	static const char *const cases[][2] = {
		{ "limit=0", "limit" }, { "limit=101", "limit" },
		{ "limit=abc", "limit" }, { "limit=-5", "limit" },
		{ "sort=best", "sort" }, { "public=maybe", "public" },
		{ "bars=3", "bars" }, { "bars=four", "bars" },
		{ "bpmMin=39", "bpmMin" }, { "bpmMax=301", "bpmMax" },
		{ "bpmMin=200&bpmMax=100", "bpmMin" },
		{ "parent=xyz", "parent" }, { "offset=-1", "offset" },
		{ "offset=1x", "offset" }, { "user=a%20b", "user" },
		{ "user=ab", "user" }, { "user=a", "user" },
		{ "chord=123456789012345678901", "chord" },
		{ "q=%ff%fe", "q" }, { "q=%zz", "q" },
		{ "offset=2&cursor=abc", "offset" },
	};
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 p[256];
	size_t		 i;

	itfx_db_user(&a);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(p, sizeof(p), "/api/loops?%s", cases[i][0]);
		itfx_req("GET", p, &a, NULL, NULL, &r);
		itfx_assert_problem(&r, 400, NULL, cases[i][1]);
		it_resp_free(&r);
	}
}

Test(loops, the_old_clients_offset_still_pages_and_a_stale_one_is_empty)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 id[40], first[1024], second[1024];
	int		 i;

	itfx_db_user(&a);
	for (i = 0; i < 3; i++)
		itfx_loop(&a, itfx_loop_body("o", 0), id, sizeof(id));
	itfx_req("GET", "/api/loops?limit=2&offset=0", &a, NULL, NULL, &r);
	ids_of(&r, first, sizeof(first));
	cr_assert_eq(count_of(&r), 2);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?limit=2&offset=2", &a, NULL, NULL, &r);
	ids_of(&r, second, sizeof(second));
	cr_assert_eq(count_of(&r), 1);
	cr_assert(strstr(first, second) == NULL);
	cr_assert_null(it_get(r.json, "nextCursor"));
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?limit=20&offset=500", &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(count_of(&r), 0);
	cr_assert_null(it_get(r.json, "nextCursor"));
	cr_assert_null(it_header(&r, "link"));
	it_resp_free(&r);
}

Test(loops, containment_filters_are_served_by_the_gin_indexes)
{
	char	*plan;

	/*
	 * The test database is small, so a sequential scan would win on
	 * cost; forbid it to see which index the planner can use.  (The
	 * plans at 100k rows are in bench/README.md.)  itlib keeps one
	 * connection, so the setting holds for the EXPLAIN below.
	 */
	free(it_db_text("SELECT set_config('enable_seqscan', 'off', false)",
	    0, NULL));
	plan = itfx_text1("EXPLAIN (FORMAT JSON) SELECT id FROM loops x "
	    "WHERE x.chord_progression @> $1::jsonb",
	    "[{\"chord\":\"Am7\"}]");
	cr_assert_not_null(plan);
	cr_assert(strstr(plan, "loops_chord_progression_gin") != NULL, "%s",
	    plan);
	free(plan);
	plan = itfx_text1("EXPLAIN (FORMAT JSON) SELECT id FROM loops x "
	    "WHERE x.icon_sequence @> $1::jsonb", "[{\"soundId\":\"kick\"}]");
	cr_assert(strstr(plan, "loops_icon_sequence_gin") != NULL, "%s", plan);
	free(plan);
	plan = itfx_text1("EXPLAIN (FORMAT JSON) SELECT id FROM loops x "
	    "WHERE x.name ILIKE $1", "%night%");
	cr_assert(strstr(plan, "loops_name_trgm") != NULL, "%s", plan);
	free(plan);
}

/* ------------------------------------------------------------ bad input */

#define S_OK	"{\"bar\":0,\"row\":0,\"soundId\":\"s\",\"pitch\":1}"
#define WITH_STEP(x) "{\"name\":\"n\",\"bars\":4,\"iconSequence\":[" S_OK "," x "]}"

static const char *const bad_bodies[][2] = {
	{ "{\"name\":\"n\",\"bars\":3}", "bars" },
	{ "{\"name\":\"n\",\"bars\":\"four\"}", "bars" },
	{ "{\"name\":\"n\",\"bars\":4,\"bpm\":39}", "bpm" },
	{ "{\"name\":\"n\",\"bars\":4,\"bpm\":301}", "bpm" },
	{ "{\"name\":\"n\",\"bars\":4,\"color\":\"#GGGGGG\"}", "color" },
	{ "{\"name\":\"n\",\"bars\":4,\"color\":\"red\"}", "color" },
	{ "{\"name\":\"\",\"bars\":4}", "name" },
	{ "{\"name\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"bars\":4}",
	    "name" },
	{ WITH_STEP("{\"bar\":1,\"row\":0,\"soundId\":\"s\",\"pitch\":128}"),
	    "iconSequence[1].pitch" },
	{ WITH_STEP("{\"bar\":1,\"row\":0,\"soundId\":\"s\",\"pitch\":60.5}"),
	    "iconSequence[1].pitch" },
	{ WITH_STEP("{\"bar\":1,\"row\":0,\"soundId\":\"s\",\"pitch\":1,"
	    "\"velocity\":-0.1}"), "iconSequence[1].velocity" },
	{ WITH_STEP("{\"bar\":1,\"row\":0,\"soundId\":\"s\",\"pitch\":1,"
	    "\"velocity\":1.1}"), "iconSequence[1].velocity" },
	{ WITH_STEP("{\"bar\":64,\"row\":0,\"soundId\":\"s\",\"pitch\":1}"),
	    "iconSequence[1].bar" },
	{ WITH_STEP("{\"bar\":1,\"row\":0,\"soundId\":\"s\",\"pitch\":1,"
	    "\"duration16\":0}"), "iconSequence[1].duration16" },
	{ WITH_STEP("{\"bar\":1,\"row\":0,\"soundId\":\"s\",\"pitch\":1,"
	    "\"duration16\":65}"), "iconSequence[1].duration16" },
	{ "{\"name\":\"n\",\"bars\":4,\"chordProgression\":[{\"bar\":0,"
	    "\"chord\":\"123456789012345678901\"}]}", "chordProgression[0].chord" },
	{ "{\"name\":\"n\",\"bars\":4,\"iconSequence\":{\"0\":{}}}",
	    "iconSequence" },
	{ "{\"name\":\"n\",\"bars\":4,\"chordProgression\":{}}",
	    "chordProgression" },
	{ "{\"name\":\"n\",\"bars\":4,\"iconSequence\":[" S_OK ",[]]}",
	    "iconSequence[1]" },
	{ "{\"name\":null,\"bars\":4}", "name" },
	{ "{\"name\":\"n\",\"bars\":null}", "bars" },
	{ "{\"name\":\"n\",\"bars\":4,\"bpm\":null}", "bpm" },
	{ "{\"name\":\"n\",\"bars\":4,\"color\":null}", "color" },
	{ "{\"name\":\"n\",\"bars\":4,\"iconSequence\":null}", "iconSequence" },
	{ "{\"name\":\"n\",\"bars\":4,\"isPublic\":null}", "isPublic" },
	{ WITH_STEP("{\"bar\":1,\"row\":0,\"soundId\":null,\"pitch\":1}"),
	    "iconSequence[1].soundId" },
	{ "{\"name\":[\"n\"],\"bars\":4}", "name" },
	{ "{\"name\":\"n\",\"bars\":4,\"bpm\":\"120\"}", "bpm" },
	{ "{\"name\":\"n\",\"bars\":4,\"isPublic\":1}", "isPublic" },
};

Test(loops, every_bad_field_on_create_is_400_naming_it_and_writes_nothing)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	size_t		 i;

	itfx_db_user(&u);
	for (i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
		itfx_req("POST", "/api/loops", &u, NULL, bad_bodies[i][0], &r);
		itfx_assert_problem(&r, 400, NULL, bad_bodies[i][1]);
		cr_assert_str_eq(it_str(r.json, "error"), "Validation failed");
		it_resp_free(&r);
	}
	cr_assert_eq(itfx_loops_of(&u), 0);
	cr_assert_eq(itfx_count1("SELECT loops_count + change_seq FROM users "
	    "WHERE id = $1", u.id), 0);
}

Test(loops, every_bad_field_on_put_and_patch_is_400_and_changes_nothing)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	char		 id[40], p[80], *before, *after;
	size_t		 i;

	itfx_db_user(&u);
	itfx_loop(&u, itfx_loop_body("keep me", 0), id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	before = itfx_text1("SELECT row_to_json(l)::text FROM loops l WHERE "
	    "id = $1", id);
	for (i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
		itfx_req("PUT", p, &u, NULL, bad_bodies[i][0], &r);
		itfx_assert_problem(&r, 400, NULL, bad_bodies[i][1]);
		it_resp_free(&r);
		/* In a merge patch a top-level null means "remove": the
		 * default comes back, which is no error. */
		if (strstr(bad_bodies[i][0], ":null") != NULL &&
		    strchr(bad_bodies[i][1], '[') == NULL &&
		    strcmp(bad_bodies[i][1], "name") != 0 &&
		    strcmp(bad_bodies[i][1], "bars") != 0)
			continue;
		itfx_req("PATCH", p, &u, NULL, bad_bodies[i][0], &r);
		itfx_assert_problem(&r, 400, NULL, bad_bodies[i][1]);
		it_resp_free(&r);
	}
	after = itfx_text1("SELECT row_to_json(l)::text FROM loops l WHERE "
	    "id = $1", id);
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
}

Test(loops, all_problems_of_a_body_are_listed_at_once)
{
	struct itfx_user	 u;
	struct it_resp	 r;

	itfx_db_user(&u);
	itfx_req("POST", "/api/loops", &u, NULL, "{\"name\":\"\",\"bars\":3,"
	    "\"bpm\":301,\"color\":\"red\",\"iconSequence\":[{\"bar\":64,\"row\":0,"
	    "\"soundId\":\"s\",\"pitch\":128}]}", &r);
	itfx_assert_problem(&r, 400, NULL, "name");
	cr_assert(itfx_names_field(&r, "bars"));
	cr_assert(itfx_names_field(&r, "bpm"));
	cr_assert(itfx_names_field(&r, "color"));
	cr_assert(itfx_names_field(&r, "iconSequence[0].pitch"));
	cr_assert_eq(json_object_array_length(it_get(r.json, "errors")), 5,
	    "%s", r.body);
	it_resp_free(&r);
	cr_assert_eq(itfx_loops_of(&u), 0);
}

Test(loops, a_2000_step_sequence_is_400_naming_icon_sequence)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	struct buf	 b = BUF_INIT;
	int		 i;

	itfx_db_user(&u);
	buf_puts(&b, "{\"name\":\"long\",\"bars\":4,\"iconSequence\":[");
	for (i = 0; i < 2000; i++)
		buf_printf(&b, "%s" S_OK, i ? "," : "");
	buf_puts(&b, "]}");
	itfx_req("POST", "/api/loops", &u, NULL, b.data, &r);
	itfx_assert_problem(&r, 400, NULL, "iconSequence");
	it_resp_free(&r);
	buf_release(&b);
	cr_assert_eq(itfx_loops_of(&u), 0);
}

Test(loops, deeply_nested_json_is_400_and_writes_nothing)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	struct buf	 b = BUF_INIT;
	int		 i;

	itfx_db_user(&u);
	buf_puts(&b, "{\"name\":\"deep\",\"bars\":4,\"iconSequence\":");
	for (i = 0; i < 10000; i++)
		buf_putc(&b, '[');
	for (i = 0; i < 10000; i++)
		buf_putc(&b, ']');
	buf_putc(&b, '}');
	itfx_req("POST", "/api/loops", &u, NULL, b.data, &r);
	itfx_assert_problem(&r, 400, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "error"), "Malformed JSON");
	cr_assert(strstr(it_str(r.json, "detail"), "nesting") != NULL, "%s",
	    r.body);
	it_resp_free(&r);
	buf_release(&b);
	cr_assert_eq(itfx_loops_of(&u), 0);
}

Test(loops, a_2_mb_body_is_413_and_writes_nothing)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	char		*body;
	size_t		 n = 2 * 1024 * 1024, len;

	itfx_db_user(&u);
	body = malloc(n + 1);
	len = (size_t)snprintf(body, n, "{\"bars\":4,\"name\":\"");
	memset(body + len, 'x', n - len - 2);
	body[n - 2] = '"';
	body[n - 1] = '}';
	body[n] = '\0';
	itfx_req("POST", "/api/loops", &u, NULL, body, &r);
	itfx_assert_problem(&r, 413, NULL, NULL);
	it_resp_free(&r);
	free(body);
	cr_assert_eq(itfx_loops_of(&u), 0);
}

Test(loops, sql_looking_strings_are_stored_and_returned_literally)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	char		 id[40], p[160], *name;
	const char	*evil = "x'); DROP TABLE loops; --";

	itfx_db_user(&u);
	itfx_loop(&u, "{\"name\":\"x'); DROP TABLE loops; --\",\"bars\":4,"
	    "\"chordProgression\":[{\"bar\":0,\"chord\":\"' OR 1=1 --\"}],"
	    "\"iconSequence\":[{\"bar\":0,\"row\":0,\"soundId\":\"\\\"; --\","
	    "\"pitch\":1}]}", id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	itfx_req("GET", p, &u, NULL, NULL, &r);
	cr_assert_str_eq(it_str(r.json, "loop.name"), evil);
	cr_assert_str_eq(it_str(r.json, "loop.chordProgression.0.chord"),
	    "' OR 1=1 --");
	cr_assert_str_eq(it_str(r.json, "loop.iconSequence.0.soundId"), "\"; --");
	it_resp_free(&r);
	name = itfx_text1("SELECT name FROM loops WHERE id = $1", id);
	cr_assert_str_eq(name, evil);
	free(name);
	itfx_req("GET", "/api/loops?q=DROP%20TABLE&chord=%27%20OR%201%3D1%20--",
	    &u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(count_of(&r), 1);
	it_resp_free(&r);
	snprintf(p, sizeof(p), "/api/loops?user=%s%%27--", u.username);
	itfx_req("GET", p, &u, NULL, NULL, &r);
	itfx_assert_problem(&r, 400, NULL, "user");
	it_resp_free(&r);
}

Test(loops, a_body_that_is_not_json_is_415_or_400)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	const char	*text[] = { "Content-Type: text/plain", NULL };
	char		 id[40], p[80];

	itfx_db_user(&u);
	itfx_req("POST", "/api/loops", &u, text, "{\"name\":\"n\",\"bars\":4}",
	    &r);
	itfx_assert_problem(&r, 415, NULL, NULL);
	it_resp_free(&r);
	itfx_req("POST", "/api/loops", &u, NULL, "{\"name\":\"n\",\"bars\":4,}",
	    &r);
	itfx_assert_problem(&r, 400, NULL, NULL);
	it_resp_free(&r);
	itfx_req("POST", "/api/loops", &u, NULL, "[1,2]", &r);
	itfx_assert_problem(&r, 400, NULL, NULL);
	it_resp_free(&r);
	cr_assert_eq(itfx_loops_of(&u), 0);
	itfx_loop(&u, itfx_loop_body("t", 0), id, sizeof(id));
	path_of(p, sizeof(p), id, NULL);
	itfx_req("PUT", p, &u, (const char *[]){ "If-Match: v1", NULL },
	    itfx_loop_body("t2", 0), &r);
	itfx_assert_problem(&r, 400, NULL, "If-Match");
	it_resp_free(&r);
	cr_assert_eq(version_of(id), 1);
}

/* ------------------------------------------------------------ tokens */

Test(loops, a_token_of_a_deleted_or_revoked_account_is_401_on_every_route)
{
	struct itfx_user	 u, v;
	struct it_resp	 r;
	char		 id[40], p[96];

	itfx_db_user(&u);
	itfx_db_user(&v);
	itfx_loop(&v, itfx_loop_body("pub", 1), id, sizeof(id));
	cr_assert_eq(itfx_count1("UPDATE users SET token_version = 2 WHERE "
	    "id = $1 RETURNING 1", u.id), 1);
	itfx_req("GET", "/api/loops", &u, NULL, NULL, &r);
	itfx_assert_problem(&r, 401, NULL, NULL);
	cr_assert_str_eq(it_str(r.json, "error"), "Invalid or expired token");
	it_resp_free(&r);
	path_of(p, sizeof(p), id, NULL);
	itfx_req("GET", p, &u, NULL, NULL, &r);
	itfx_assert_problem(&r, 401, NULL, NULL);
	it_resp_free(&r);
	itfx_req("POST", "/api/loops", &u, NULL, itfx_loop_body("x", 0), &r);
	itfx_assert_problem(&r, 401, NULL, NULL);
	it_resp_free(&r);
	path_of(p, sizeof(p), id, "/like");
	itfx_req("PUT", p, &u, NULL, NULL, &r);
	itfx_assert_problem(&r, 401, NULL, NULL);
	it_resp_free(&r);
	path_of(p, sizeof(p), id, "/plays");
	itfx_req("POST", p, &u, NULL, NULL, &r);
	itfx_assert_problem(&r, 401, NULL, NULL);
	it_resp_free(&r);
	path_of(p, sizeof(p), id, "/remix");
	itfx_req("POST", p, &u, NULL, NULL, &r);
	itfx_assert_problem(&r, 401, NULL, NULL);
	it_resp_free(&r);
	cr_assert_eq(itfx_count1("DELETE FROM users WHERE id = $1 RETURNING 1",
	    v.id), 1);
	itfx_req("GET", "/api/loops", &v, NULL, NULL, &r);
	itfx_assert_problem(&r, 401, NULL, NULL);
	it_resp_free(&r);
	cr_assert_eq(itfx_loops_of(&u), 0);
}

Test(loops, a_rare_chord_beyond_the_walked_window_is_found_through_the_index)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 rare[3][40], p[512], ids[256], want[160], *cur, secs[8];
	int		 i;

	itfx_db_user(&a);
	/* 1200 ordinary loops, straight into the table (triggers run). */
	cr_assert_eq(itfx_count1("WITH i AS (INSERT INTO loops (user_id, name, "
	    "bars, chord_progression, created_at) SELECT $1, 'common ' || g, "
	    "4, '[{\"bar\":0,\"chord\":\"I\"}]', now() - g * interval '1 ms' "
	    "FROM generate_series(1, 1200) g RETURNING 1) SELECT count(*) "
	    "FROM i", a.id), 1200);
	/* Three rare ones, older than all of them. */
	cr_assert_eq(itfx_count1("WITH i AS (INSERT INTO loops (user_id, name, "
	    "bars, chord_progression, created_at) SELECT $1, 'rare', 4, "
	    "'[{\"bar\":0,\"chord\":\"Xsus13\"}]', now() - interval '1 day' - "
	    "g * interval '1 s' FROM generate_series(0, 2) g RETURNING 1) "
	    "SELECT count(*) FROM i", a.id), 3);
	for (i = 0; i < 3; i++) {
		snprintf(secs, sizeof(secs), "%d", i);
		cur = it_db_text("SELECT id FROM loops WHERE user_id = $1 AND "
		    "name = 'rare' ORDER BY created_at DESC OFFSET $2::int", 2,
		    (const char *const[]){ a.id, secs });
		cr_assert_not_null(cur);
		snprintf(rare[i], sizeof(rare[i]), "%s", cur);
		free(cur);
	}
	itfx_req("GET", "/api/loops?chord=Xsus13&limit=2", &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_eq(count_of(&r), 2, "%s", r.body);
	snprintf(want, sizeof(want), "%s,%s", rare[0], rare[1]);
	cr_assert_str_eq(ids, want);
	cur = strdup(it_str(r.json, "nextCursor"));
	it_resp_free(&r);
	snprintf(p, sizeof(p), "/api/loops?chord=Xsus13&limit=2&cursor=%s", cur);
	free(cur);
	itfx_req("GET", p, &a, NULL, NULL, &r);
	ids_of(&r, ids, sizeof(ids));
	cr_assert_str_eq(ids, rare[2]);
	cr_assert_null(it_get(r.json, "nextCursor"));
	it_resp_free(&r);
	/* A common chord is served by the walk, deep offsets too. */
	itfx_req("GET", "/api/loops?chord=I&limit=100&offset=1100", &a, NULL,
	    NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(count_of(&r), 100);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?chord=Nope&sort=top", &a, NULL, NULL, &r);
	cr_assert_eq(count_of(&r), 0);
	it_resp_free(&r);
	itfx_req("GET", "/api/loops?q=rare&sort=updated", &a, NULL, NULL, &r);
	cr_assert_eq(count_of(&r), 3);
	it_resp_free(&r);
}
