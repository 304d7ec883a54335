/*
 * Integration, through nginx: what an offline-first client needs from
 * the API (issue 11) apart from the sync feed (t/it_sync.c) and the
 * errors nginx answers itself (t/it_nginx_errors.c): versions that
 * never repeat for an id, the caller's likes as a list, offset pages
 * that link to offset pages, unknown list parameters refused, and
 * refused writes that spend no budget.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/it_loops_util.h"

TestSuite(versions, .timeout = 60);
TestSuite(likes_list, .timeout = 60);
TestSuite(paging, .timeout = 60);
TestSuite(refused_writes, .timeout = 120);

static void
assert_problem(const struct it_resp *r, int status, const char *field)
{
	cr_assert_eq(r->status, status, "status %d, want %d: %s", r->status,
	    status, r->body);
	cr_assert_str_eq(it_header(r, "content-type"),
	    "application/problem+json");
	cr_assert_eq(it_int(r->json, "status"), status);
	if (field != NULL)
		cr_assert(itl_names_field(r, field), "%s not named in %s",
		    field, r->body);
}

/* A fresh client-chosen id. */
static void
new_id(char *out, size_t sz)
{
	char	*id;

	id = it_db_text("SELECT gen_random_uuid()::text", 0, NULL);
	cr_assert_not_null(id);
	snprintf(out, sz, "%s", id);
	free(id);
}

/* A song body with one block using loop. */
static const char *
song_body(const char *name, const char *loop, int is_public)
{
	static char	 b[512];

	snprintf(b, sizeof(b), "{\"name\":\"%s\",\"bpm\":100,\"isPublic\":%s,"
	    "\"timeline\":[{\"id\":\"b1\",\"loopId\":\"%s\",\"startBar\":0,"
	    "\"bars\":4}]}", name, is_public ? "true" : "false", loop);
	return b;
}

/*
 * Create at id with PUT + If-None-Match: * (201), bump it with
 * PATCHes to version top, delete it: the highest version it had was
 * top.
 */
static void
create_edit_delete(const struct itl_user *u, const char *kind,
    const char *id, const char *body, int top)
{
	const char	*inm[] = { "If-None-Match: *", NULL };
	struct it_resp	 r;
	char		 path[128], patch[64];
	int		 v;

	snprintf(path, sizeof(path), "/api/%s/%s", kind, id);
	itl_req("PUT", path, u, inm, body, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	it_resp_free(&r);
	for (v = 2; v <= top; v++) {
		snprintf(patch, sizeof(patch), "{\"name\":\"edit %d\"}", v);
		itl_req("PATCH", path, u, NULL, patch, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert_eq(it_int(r.json, strcmp(kind, "loops") == 0 ?
		    "loop.version" : "song.version"), v);
		it_resp_free(&r);
	}
	itl_req("DELETE", path, u, NULL, NULL, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	it_resp_free(&r);
}

/*
 * The sequence for kind ("loops"/"songs", member key): the
 * item at id is deleted at version top and created again with other
 * content; it comes back at top + 1, and a stale PATCH with If-Match
 * of any earlier version is 412 with the current item, writing nothing.
 */
static void
assert_recreated_continues(const char *kind, const char *key,
    const char *body1, const char *body2, int top)
{
	const char	*inm[] = { "If-None-Match: *", NULL };
	struct itl_user	 u;
	struct it_resp	 r;
	char		 id[40], path[128], tag[32], hdr[64], path_v[64];
	char		*name;
	int		 v;

	itl_user(&u);
	new_id(id, sizeof(id));
	create_edit_delete(&u, kind, id, body1, top);
	snprintf(path, sizeof(path), "/api/%s/%s", kind, id);
	itl_req("PUT", path, &u, inm, body2, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(path_v, sizeof(path_v), "%s.version", key);
	cr_assert_eq(it_int(r.json, path_v), top + 1, "%s", r.body);
	snprintf(tag, sizeof(tag), "\"v%d\"", top + 1);
	cr_assert_str_eq(it_header(&r, "etag"), tag);
	it_resp_free(&r);
	for (v = 1; v <= top; v++) {
		snprintf(hdr, sizeof(hdr), "If-Match: \"v%d\"", v);
		itl_req("PATCH", path, &u, (const char *const[]){ hdr, NULL },
		    "{\"name\":\"stale write\"}", &r);
		assert_problem(&r, 412, NULL);
		cr_assert_str_eq(it_header(&r, "etag"), tag);
		snprintf(path_v, sizeof(path_v), "%s.version", key);
		cr_assert_eq(it_int(r.json, path_v), top + 1);
		it_resp_free(&r);
	}
	snprintf(hdr, sizeof(hdr), "SELECT name FROM %s WHERE id = $1", kind);
	name = itl_text1(hdr, id);
	cr_assert_str_eq(name, "again");
	free(name);
	/* The current tag still works. */
	snprintf(hdr, sizeof(hdr), "If-Match: %s", tag);
	itl_req("PATCH", path, &u, (const char *const[]){ hdr, NULL },
	    "{\"name\":\"fresh write\"}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(it_int(r.json, path_v), top + 2);
	it_resp_free(&r);
}

Test(versions, a_loop_deleted_at_v1_and_created_again_is_v2_and_a_stale_if_match_v1_is_412)
{
	assert_recreated_continues("loops", "loop", itl_body("first", 0),
	    "{\"name\":\"again\",\"bars\":2}", 1);
}

Test(versions, a_loop_created_again_continues_after_the_highest_version_it_ever_had)
{
	assert_recreated_continues("loops", "loop", itl_body("first", 0),
	    "{\"name\":\"again\",\"bars\":2}", 4);
}

Test(versions, a_song_deleted_and_created_again_continues_and_a_stale_if_match_is_412)
{
	struct itl_user	 u;
	char		 loop[40], b1[512];

	itl_user(&u);
	itl_loop(&u, itl_body("public loop", 1), loop, sizeof(loop));
	snprintf(b1, sizeof(b1), "%s", song_body("first", loop, 0));
	assert_recreated_continues("songs", "song", b1,
	    "{\"name\":\"again\",\"bpm\":90}", 1);
	assert_recreated_continues("songs", "song", b1,
	    "{\"name\":\"again\",\"bpm\":90}", 3);
}

Test(versions, the_version_continues_after_the_tombstone_is_purged_and_for_another_owner)
{
	const char	*inm[] = { "If-None-Match: *", NULL };
	struct itl_user	 a, b;
	struct it_resp	 r;
	char		 id[40], path[128], sql[256];

	itl_user(&a);
	itl_user(&b);
	new_id(id, sizeof(id));
	create_edit_delete(&a, "loops", id, itl_body("old", 1), 3);
	/* The deletion is older than MP_TOMBSTONE_DAYS: purge forgets it. */
	snprintf(sql, sizeof(sql), "UPDATE tombstones SET deleted_at = now() - "
	    "interval '31 days' WHERE item_id = '%s'", id);
	cr_assert_eq(it_db_exec(sql), 0);
	cr_assert_eq(it_ctl("purge"), 0, "deploy/dev purge failed");
	cr_assert_eq(itl_count1("SELECT count(*) FROM tombstones "
	    "WHERE item_id = $1", id), 0);
	/* Another account creates at the free id: v4, not v1. */
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	itl_req("PUT", path, &b, inm, itl_body("new owner", 0), &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_eq(it_int(r.json, "loop.version"), 4);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v4\"");
	it_resp_free(&r);
}

Test(versions, a_new_item_at_a_server_minted_id_starts_at_v1)
{
	struct itl_user	 u;
	struct it_resp	 r;

	itl_user(&u);
	itl_req("POST", "/api/loops", &u, NULL, itl_body("fresh", 0), &r);
	cr_assert_eq(r.status, 201);
	cr_assert_eq(it_int(r.json, "loop.version"), 1);
	it_resp_free(&r);
}

/* ------------------------------------------------------------------ */
/* GET /api/users/me/likes */

static void
like(const struct itl_user *u, const char *kind, const char *id, int on)
{
	struct it_resp	 r;
	char		 path[128];

	snprintf(path, sizeof(path), "/api/%s/%s/like", kind, id);
	itl_req(on ? "PUT" : "DELETE", path, u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s %s: %s", on ? "PUT" : "DELETE", path,
	    r.body);
	it_resp_free(&r);
}

static const char *
nth_id(const struct it_resp *r, const char *member, size_t i)
{
	char	 path[64];

	snprintf(path, sizeof(path), "%s.%zu.id", member, i);
	return it_str(r->json, path);
}

static size_t
len_of(const struct it_resp *r, const char *member)
{
	json_object	*a = it_get(r->json, member);

	cr_assert(a != NULL && json_object_is_type(a, json_type_array),
	    "no %s in %s", member, r->body);
	return json_object_array_length(a);
}

Test(likes_list, liked_loops_come_newest_like_first_in_keyset_pages_with_link)
{
	struct itl_user	 u, owner;
	struct it_resp	 r;
	char		 l[4][40], path[1024], want[1024], *cursor;
	const char	*link;
	int		 i;

	itl_user(&u);
	itl_user(&owner);
	for (i = 0; i < 4; i++)
		itl_loop(&owner, itl_body("likeable", 1), l[i], sizeof(l[i]));
	/* Liked in the order 2, 0, 3, 1: listed 1, 3, 0, 2. */
	like(&u, "loops", l[2], 1);
	like(&u, "loops", l[0], 1);
	like(&u, "loops", l[3], 1);
	like(&u, "loops", l[1], 1);
	itl_req("GET", "/api/users/me/likes?type=loop&limit=3", &u, NULL, NULL,
	    &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(len_of(&r, "loops"), 3);
	cr_assert_str_eq(nth_id(&r, "loops", 0), l[1]);
	cr_assert_str_eq(nth_id(&r, "loops", 1), l[3]);
	cr_assert_str_eq(nth_id(&r, "loops", 2), l[0]);
	cr_assert_eq(json_object_get_boolean(it_get(r.json,
	    "loops.0.likedByMe")), 1);
	cr_assert_eq(it_int(r.json, "loops.0.likesCount"), 1);
	cr_assert_not_null(it_str(r.json, "nextCursor"));
	cursor = strdup(it_str(r.json, "nextCursor"));
	snprintf(want, sizeof(want), "</api/users/me/likes?type=loop&limit=3&"
	    "cursor=%s>; rel=\"next\"", cursor);
	cr_assert_not_null(link = it_header(&r, "link"));
	cr_assert_str_eq(link, want);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/users/me/likes?type=loop&limit=3&"
	    "cursor=%s", cursor);
	itl_req("GET", path, &u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(len_of(&r, "loops"), 1);
	cr_assert_str_eq(nth_id(&r, "loops", 0), l[2]);
	cr_assert_null(it_str(r.json, "nextCursor"));
	cr_assert_null(it_header(&r, "link"));
	it_resp_free(&r);
	free(cursor);
}

Test(likes_list, unliked_and_no_longer_visible_items_are_left_out_and_songs_list_apart)
{
	struct itl_user	 u, owner;
	struct it_resp	 r;
	char		 kept[40], unliked[40], hidden[40], mine[40], song[40];
	char		 path[128];

	itl_user(&u);
	itl_user(&owner);
	itl_loop(&owner, itl_body("kept", 1), kept, sizeof(kept));
	itl_loop(&owner, itl_body("unliked", 1), unliked, sizeof(unliked));
	itl_loop(&owner, itl_body("hidden", 1), hidden, sizeof(hidden));
	itl_loop(&u, itl_body("mine, private", 0), mine, sizeof(mine));
	like(&u, "loops", kept, 1);
	like(&u, "loops", unliked, 1);
	like(&u, "loops", hidden, 1);
	like(&u, "loops", mine, 1);
	like(&u, "loops", unliked, 0);
	snprintf(path, sizeof(path), "/api/loops/%s", hidden);
	itl_req("PATCH", path, &owner, NULL, "{\"isPublic\":false}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
	itl_req("POST", "/api/songs", &owner, NULL, song_body("tune", kept, 1),
	    &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(song, sizeof(song), "%s", it_str(r.json, "song.id"));
	it_resp_free(&r);
	like(&u, "songs", song, 1);

	itl_req("GET", "/api/users/me/likes?type=loop", &u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(len_of(&r, "loops"), 2, "%s", r.body);
	cr_assert_str_eq(nth_id(&r, "loops", 0), mine);
	cr_assert_str_eq(nth_id(&r, "loops", 1), kept);
	cr_assert_null(it_get(r.json, "songs"));
	it_resp_free(&r);
	itl_req("GET", "/api/users/me/likes?type=song", &u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(len_of(&r, "songs"), 1);
	cr_assert_str_eq(nth_id(&r, "songs", 0), song);
	cr_assert_eq(json_object_get_boolean(it_get(r.json,
	    "songs.0.likedByMe")), 1);
	it_resp_free(&r);
	/* Another user's likes are theirs. */
	itl_req("GET", "/api/users/me/likes?type=loop", &owner, NULL, NULL, &r);
	cr_assert_eq(len_of(&r, "loops"), 0);
	it_resp_free(&r);
}

Test(likes_list, a_missing_or_bad_type_a_foreign_cursor_or_an_unknown_parameter_is_400)
{
	struct itl_user	 u, other, owner;
	struct it_resp	 r;
	char		 l[2][40], path[1024], *cursor;

	itl_user(&u);
	itl_user(&other);
	itl_user(&owner);
	itl_loop(&owner, itl_body("a", 1), l[0], sizeof(l[0]));
	itl_loop(&owner, itl_body("b", 1), l[1], sizeof(l[1]));
	like(&u, "loops", l[0], 1);
	like(&u, "loops", l[1], 1);
	like(&other, "loops", l[0], 1);
	like(&other, "loops", l[1], 1);
	itl_req("GET", "/api/users/me/likes?type=loop&limit=1", &u, NULL,
	    NULL, &r);
	cursor = strdup(it_str(r.json, "nextCursor"));
	it_resp_free(&r);

	itl_req("GET", "/api/users/me/likes", &u, NULL, NULL, &r);
	assert_problem(&r, 400, "type");
	it_resp_free(&r);
	itl_req("GET", "/api/users/me/likes?type=loops", &u, NULL, NULL, &r);
	assert_problem(&r, 400, "type");
	it_resp_free(&r);
	itl_req("GET", "/api/users/me/likes?type=loop&limit=0", &u, NULL, NULL,
	    &r);
	assert_problem(&r, 400, "limit");
	it_resp_free(&r);
	itl_req("GET", "/api/users/me/likes?type=loop&sort=top", &u, NULL,
	    NULL, &r);
	assert_problem(&r, 400, "sort");
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/users/me/likes?type=loop&cursor=%s",
	    cursor);
	itl_req("GET", path, &other, NULL, NULL, &r);	/* u's cursor */
	assert_problem(&r, 400, "cursor");
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/users/me/likes?type=song&cursor=%s",
	    cursor);
	itl_req("GET", path, &u, NULL, NULL, &r);	/* the loops' cursor */
	assert_problem(&r, 400, "cursor");
	it_resp_free(&r);
	itl_req("GET", "/api/users/me/likes?type=loop", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 401);
	it_resp_free(&r);
	free(cursor);
}

/* ------------------------------------------------------------------ */
/* Offset pages, unknown parameters */

Test(paging, an_offset_page_links_to_the_next_offset_page_and_a_cursor_page_to_the_next_cursor)
{
	struct itl_user	 u;
	struct it_resp	 r;
	char		 id[3][40], next[1024], *cursor;
	const char	*link;
	size_t		 n;
	int		 i;

	itl_user(&u);
	for (i = 0; i < 3; i++)
		itl_loop(&u, itl_body("paged", 0), id[i], sizeof(id[i]));
	itl_req("GET", "/api/loops?sort=new&limit=2&offset=0", &u, NULL, NULL,
	    &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(len_of(&r, "loops"), 2);
	cr_assert_not_null(link = it_header(&r, "link"));
	cr_assert_str_eq(link,
	    "</api/loops?sort=new&limit=2&offset=2>; rel=\"next\"");
	cr_assert(strstr(link, "cursor=") == NULL);
	/* Its nextCursor works alone, and continues after the same item. */
	cursor = strdup(it_str(r.json, "nextCursor"));
	it_resp_free(&r);

	/* Following the Link: the last item, the end. */
	itl_req("GET", "/api/loops?sort=new&limit=2&offset=2", &u, NULL, NULL,
	    &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(len_of(&r, "loops"), 1);
	cr_assert_str_eq(nth_id(&r, "loops", 0), id[0]);
	cr_assert_null(it_header(&r, "link"));
	cr_assert_null(it_str(r.json, "nextCursor"));
	it_resp_free(&r);

	snprintf(next, sizeof(next), "/api/loops?sort=new&limit=1&cursor=%s",
	    cursor);
	itl_req("GET", next, &u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(nth_id(&r, "loops", 0), id[0]);
	it_resp_free(&r);

	/* A cursor page links to the next cursor, never to an offset. */
	itl_req("GET", "/api/loops?limit=1", &u, NULL, NULL, &r);
	cr_assert_not_null(link = it_header(&r, "link"));
	cr_assert(strstr(link, "offset=") == NULL, "%s", link);
	n = strlen("</api/loops?limit=1&cursor=");
	cr_assert_eq(strncmp(link, "</api/loops?limit=1&cursor=", n), 0, "%s",
	    link);
	it_resp_free(&r);
	free(cursor);
}

Test(paging, the_old_clients_public_limit_and_offset_page_through_public_loops)
{
	struct itl_user	 u;
	struct it_resp	 r;
	char		 id[40];
	const char	*link;

	itl_user(&u);
	itl_loop(&u, itl_body("old client", 1), id, sizeof(id));
	itl_loop(&u, itl_body("old client", 1), id, sizeof(id));
	itl_req("GET", "/api/loops?public&limit=1&offset=0", NULL, NULL, NULL,
	    &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(len_of(&r, "loops"), 1);
	cr_assert_not_null(link = it_header(&r, "link"));
	cr_assert_str_eq(link,
	    "</api/loops?public=true&limit=1&offset=1>; rel=\"next\"");
	it_resp_free(&r);
	itl_req("GET", "/api/loops?public=true&limit=20", &u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
}

static void
assert_unknown(const struct itl_user *u, const char *path, const char *name)
{
	struct it_resp	 r;

	itl_req("GET", path, u, NULL, NULL, &r);
	assert_problem(&r, 400, name);
	cr_assert_str_eq(it_str(r.json, "error"), "Invalid query parameter");
	it_resp_free(&r);
}

Test(paging, an_unknown_query_parameter_on_a_list_is_400_naming_it)
{
	struct itl_user	 u;
	struct it_resp	 r;
	char		 id[40];

	itl_user(&u);
	itl_loop(&u, itl_body("one", 0), id, sizeof(id));
	assert_unknown(&u, "/api/loops?liked=true", "liked");
	assert_unknown(&u, "/api/loops?public=true&sortt=top", "sortt");
	assert_unknown(NULL, "/api/loops?limit=5&page=2", "page");
	assert_unknown(&u, "/api/songs?chord=Am", "chord");	/* loops only */
	assert_unknown(&u, "/api/songs?q=x", "q");
	assert_unknown(&u, "/api/sync?since=&full=1", "full");
	assert_unknown(&u, "/api/loops?%6Cimit=5", "%6Cimit");
	/* Both named at once, with the bad value of a known one. */
	itl_req("GET", "/api/loops?limit=0&x=1", &u, NULL, NULL, &r);
	assert_problem(&r, 400, "limit");
	cr_assert(itl_names_field(&r, "x"), "%s", r.body);
	it_resp_free(&r);
	/* Every documented parameter is still known. */
	itl_req("GET", "/api/loops?public=false&user=nobody_here&sort=top&"
	    "limit=5&chord=Am&sound=kick&bars=4&bpmMin=40&bpmMax=300&q=x&"
	    "parent=" "6a3c9b1e-1f2d-4c5e-8a7b-000000000000", &u, NULL, NULL,
	    &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
	itl_req("GET", "/api/songs?public=true&user=x_y&sort=updated&limit=5&"
	    "offset=0", &u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
	/* An empty segment is no parameter. */
	itl_req("GET", "/api/loops?limit=5&&sort=new&", &u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
}

/* ------------------------------------------------------------------ */
/* A write refused with 400 spends no budget */

static long long
budget_used(const struct itl_user *u)
{
	return itl_count1("SELECT coalesce((SELECT used FROM write_budgets "
	    "WHERE user_id = $1), 0)", u->id);
}

/*
 * method path as u, with an optional header line, must be refused with
 * 400 naming field (NULL: any), carry no RateLimit headers, and leave
 * the user's budget where it was.
 */
static void
assert_refused_free(const struct itl_user *u, const char *method,
    const char *path, const char *header, const char *body,
    const char *field)
{
	const char	*h[] = { header, NULL };
	struct it_resp	 r;
	long long	 before;

	before = budget_used(u);
	itl_req(method, path, u, header ? h : NULL, body, &r);
	assert_problem(&r, 400, field);
	cr_assert_null(it_header(&r, "ratelimit-remaining"),
	    "%s %s: a refused write carries RateLimit headers", method, path);
	it_resp_free(&r);
	cr_assert_eq(budget_used(u), before, "%s %s %s spent budget", method,
	    path, header ? header : "");
}

Test(refused_writes, a_write_refused_by_validation_spends_no_budget_for_any_method_keyed_or_not)
{
	struct itl_user	 u, other;
	struct it_resp	 r;
	char		 loop[40], priv[40], song[40], path[128], key[96];
	long long	 used;

	itl_user(&u);
	itl_user(&other);
	itl_loop(&u, itl_body("mine", 0), loop, sizeof(loop));
	itl_loop(&other, itl_body("not usable", 0), priv, sizeof(priv));
	itl_req("POST", "/api/songs", &u, NULL, song_body("s", loop, 0), &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(song, sizeof(song), "%s", it_str(r.json, "song.id"));
	it_resp_free(&r);
	used = budget_used(&u);
	cr_assert_eq(used, 2);

	/* POST, without and with a key. */
	assert_refused_free(&u, "POST", "/api/loops", NULL,
	    "{\"name\":\"\",\"bars\":3}", "bars");
	snprintf(key, sizeof(key), "Idempotency-Key: refused-%s", u.name);
	assert_refused_free(&u, "POST", "/api/loops", key,
	    "{\"name\":\"x\",\"bars\":3}", "bars");
	/* The loops a song needs are judged by the database, after the gate. */
	assert_refused_free(&u, "POST", "/api/songs", NULL,
	    song_body("s", priv, 0), "timeline[0].loopId");
	snprintf(key, sizeof(key), "Idempotency-Key: refused-song-%s", u.name);
	assert_refused_free(&u, "POST", "/api/songs", key,
	    song_body("s", priv, 0), "timeline[0].loopId");
	/* PUT: a bad body, a bad If-Match, a song naming a loop it may not use. */
	snprintf(path, sizeof(path), "/api/loops/%s", loop);
	assert_refused_free(&u, "PUT", path, NULL, "{\"name\":\"x\"}", "bars");
	assert_refused_free(&u, "PUT", path, "If-Match: v1", itl_body("x", 0),
	    "If-Match");
	snprintf(path, sizeof(path), "/api/songs/%s", song);
	assert_refused_free(&u, "PUT", path, NULL, song_body("s", priv, 0),
	    "timeline[0].loopId");
	/* PATCH: the merged result is invalid (found after reading it). */
	snprintf(path, sizeof(path), "/api/loops/%s", loop);
	assert_refused_free(&u, "PATCH", path, NULL, "{\"bpm\":1000}", "bpm");
	assert_refused_free(&u, "PATCH", path, NULL, "{\"name\":null}", "name");
	snprintf(path, sizeof(path), "/api/songs/%s", song);
	assert_refused_free(&u, "PATCH", path, NULL, song_body("s", priv, 0),
	    "timeline[0].loopId");
	/* DELETE with a malformed precondition. */
	snprintf(path, sizeof(path), "/api/loops/%s", loop);
	assert_refused_free(&u, "DELETE", path, "If-Match: nonsense", NULL,
	    "If-Match");
	/* Remix with a bad name, keyed. */
	snprintf(path, sizeof(path), "/api/loops/%s/remix", loop);
	snprintf(key, sizeof(key), "Idempotency-Key: refused-remix-%s", u.name);
	assert_refused_free(&u, "POST", path, key, "{\"name\":42}", "name");
	/* PATCH /api/users/me with a bad value. */
	assert_refused_free(&u, "PATCH", "/api/users/me", NULL,
	    "{\"avatarUrl\":\"ftp://x\"}", "avatarUrl");
	cr_assert_eq(budget_used(&u), used);
	cr_assert_eq(itl_count1("SELECT count(*) FROM loops WHERE user_id = $1",
	    u.id), 1);
	cr_assert_eq(itl_count1("SELECT version FROM loops WHERE id = $1",
	    loop), 1);

	/* The next good write counts one, and says so. */
	snprintf(path, sizeof(path), "/api/loops/%s", loop);
	itl_req("PATCH", path, &u, NULL, "{\"bpm\":99}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_header(&r, "ratelimit-remaining"), "597");
	it_resp_free(&r);
	cr_assert_eq(budget_used(&u), used + 1);
}

Test(refused_writes, other_refusals_still_count)
{
	struct itl_user	 u, other;
	struct it_resp	 r;
	char		 theirs[40], path[128];
	long long	 used;

	itl_user(&u);
	itl_user(&other);
	itl_loop(&other, itl_body("public", 1), theirs, sizeof(theirs));
	used = budget_used(&u);
	snprintf(path, sizeof(path), "/api/loops/%s", theirs);
	itl_req("PATCH", path, &u, NULL, "{\"bpm\":99}", &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_not_null(it_header(&r, "ratelimit-remaining"));
	it_resp_free(&r);
	cr_assert_eq(budget_used(&u), used + 1);
}
