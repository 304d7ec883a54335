/*
 * Integration: GET /api/sync through nginx.  Changes are made straight
 * in the database (the triggers of 0001 stamp them exactly as the
 * routes' writes do), so these tests need no loop or song route, and
 * the concurrency test can hold transactions open to commit late.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itlib.h"
#include "t/itfixture.h"

/* Run a statement with one parameter on a connection of this test. */
static void
db_run(const char *sql, const char *a)
{
	static PGconn	*c;
	const char	*p[1] = { a };

	if (c == NULL)
		c = itfx_conn();
	cr_assert_not_null(c);
	cr_assert_eq(itfx_exec(c, sql, 1, p), 0, "%s", sql);
}

/* GET /api/sync with query (may be "") as u; asserts the status. */
static void
pull(const struct itfx_user *u, const char *query, int want, struct it_resp *r)
{
	const char	*h[] = { u->auth, NULL };
	char		 path[1024];

	snprintf(path, sizeof(path), "/api/sync%s%s", *query ? "?" : "",
	    query);
	cr_assert_eq(it_request("GET", path, h, NULL, r), 0, "no response");
	cr_assert_eq(r->status, want, "GET %s: %d %s", path, r->status,
	    r->body);
}

static size_t
count(json_object *o, const char *member)
{
	json_object	*a = it_get(o, member);

	cr_assert(a != NULL && json_object_is_type(a, json_type_array),
	    "no array %s", member);
	return json_object_array_length(a);
}

static int
has_id(json_object *o, const char *member, const char *id)
{
	json_object	*a = it_get(o, member);
	size_t		 i;

	for (i = 0; a != NULL && i < json_object_array_length(a); i++)
		if (strcmp(it_str(json_object_array_get_idx(a, i), "id"),
		    id) == 0)
			return 1;
	return 0;
}

Test(sync, without_a_token_is_401)
{
	struct it_resp	 r;

	cr_assert_eq(it_request("GET", "/api/sync", NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 401);
	it_resp_free(&r);
}

Test(sync, a_first_pull_returns_every_loop_and_song_of_the_caller_only)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		*l1, *l2, *s1, *other;

	itfx_db_user(&a);
	itfx_db_user(&b);
	l1 = itfx_db_loop(a.id, "one", 1, -1);
	l2 = itfx_db_loop(a.id, "two", 1, -1);
	s1 = itfx_db_song(a.id, "song", 100, -1);
	other = itfx_db_loop(b.id, "not yours", 1, -1);
	pull(&a, "", 200, &r);
	cr_assert_eq(count(r.json, "loops"), 2);
	cr_assert_eq(count(r.json, "songs"), 1);
	cr_assert_eq(count(r.json, "deleted"), 0);
	cr_assert(has_id(r.json, "loops", l1) && has_id(r.json, "loops", l2));
	cr_assert(has_id(r.json, "songs", s1));
	cr_assert(!has_id(r.json, "loops", other));
	cr_assert_eq(json_object_get_boolean(it_get(r.json, "hasMore")), 0);
	cr_assert_not_null(it_str(r.json, "cursor"));
	it_resp_free(&r);
	free(l1);
	free(l2);
	free(s1);
	free(other);
}

Test(sync, items_have_the_shape_of_a_single_get)
{
	static const char *const loop_fields[] = { "id", "userId", "username",
	    "name", "bars", "color", "bpm", "chordProgression",
	    "iconSequence", "schemaVersion", "isPublic", "parentLoopId",
	    "playsCount", "likesCount", "remixesCount", "likedByMe",
	    "version", "createdAt", "updatedAt" };
	static const char *const song_fields[] = { "id", "userId", "username",
	    "name", "bpm", "timeSignature", "timeline", "totalBars",
	    "schemaVersion", "isPublic", "playsCount", "likesCount",
	    "likedByMe", "version", "createdAt", "updatedAt" };
	struct itfx_user	 a;
	struct it_resp	 r;
	json_object	*l, *s;
	size_t		 i;

	itfx_db_user(&a);
	free(itfx_db_loop(a.id, "shape", 1, -1));
	free(itfx_db_song(a.id, "shape", 100, -1));
	pull(&a, "", 200, &r);
	l = it_get(r.json, "loops.0");
	s = it_get(r.json, "songs.0");
	for (i = 0; i < sizeof(loop_fields) / sizeof(loop_fields[0]); i++)
		cr_assert(json_object_object_get_ex(l, loop_fields[i], NULL),
		    "loop.%s", loop_fields[i]);
	for (i = 0; i < sizeof(song_fields) / sizeof(song_fields[0]); i++)
		cr_assert(json_object_object_get_ex(s, song_fields[i], NULL),
		    "song.%s", song_fields[i]);
	cr_assert_str_eq(it_str(l, "userId"), a.id);
	cr_assert_eq(it_int(l, "version"), 1);
	cr_assert_eq(strlen(it_str(l, "updatedAt")), 24);
	it_resp_free(&r);
}

Test(sync, pages_follow_the_order_of_changes_and_end_with_has_more_false)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	json_object	*loops;
	char		*ids[5], q[512], *cursor = NULL, name[8];
	size_t		 i, seen = 0;
	int		 pages = 0, more;

	itfx_db_user(&a);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "l%zu", i);
		ids[i] = itfx_db_loop(a.id, name, 1, -1);
	}
	db_run("UPDATE loops SET bpm = 41 WHERE id = $1::uuid", ids[0]);
	do {
		if (cursor == NULL)
			snprintf(q, sizeof(q), "limit=2");
		else
			snprintf(q, sizeof(q), "limit=2&since=%s", cursor);
		pull(&a, q, 200, &r);
		loops = it_get(r.json, "loops");
		for (i = 0; i < json_object_array_length(loops); i++, seen++)
			cr_assert_str_eq(it_str(json_object_array_get_idx(loops,
			    i), "id"), ids[(seen + 1) % 5],
			    "out of order at %zu", seen);
		more = json_object_get_boolean(it_get(r.json, "hasMore"));
		free(cursor);
		cursor = strdup(it_str(r.json, "cursor"));
		it_resp_free(&r);
		pages++;
	} while (more && pages < 10);
	cr_assert_eq(seen, 5);
	cr_assert_eq(pages, 3);
	/* At the end, the cursor gives an empty page. */
	snprintf(q, sizeof(q), "since=%s", cursor);
	pull(&a, q, 200, &r);
	cr_assert_eq(count(r.json, "loops"), 0);
	cr_assert_eq(json_object_get_boolean(it_get(r.json, "hasMore")), 0);
	it_resp_free(&r);
	free(cursor);
	for (i = 0; i < 5; i++)
		free(ids[i]);
}

Test(sync, edits_and_deletions_after_the_cursor_come_in_the_next_pull)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		*keep, *edit, *gone, *song, q[512], *cursor;
	json_object	*d;

	itfx_db_user(&a);
	keep = itfx_db_loop(a.id, "keep", 1, -1);
	edit = itfx_db_loop(a.id, "edit", 1, -1);
	gone = itfx_db_loop(a.id, "gone", 1, -1);
	song = itfx_db_song(a.id, "song", 100, -1);
	pull(&a, "", 200, &r);
	cursor = strdup(it_str(r.json, "cursor"));
	it_resp_free(&r);

	db_run("UPDATE loops SET bpm = 99 WHERE id = $1::uuid", edit);
	db_run("DELETE FROM loops WHERE id = $1::uuid", gone);
	db_run("DELETE FROM songs WHERE id = $1::uuid", song);
	snprintf(q, sizeof(q), "since=%s", cursor);
	pull(&a, q, 200, &r);
	cr_assert_eq(count(r.json, "loops"), 1);
	cr_assert_str_eq(it_str(r.json, "loops.0.id"), edit);
	cr_assert_eq(it_int(r.json, "loops.0.bpm"), 99);
	cr_assert_eq(it_int(r.json, "loops.0.version"), 2);
	cr_assert_eq(count(r.json, "deleted"), 2);
	d = it_get(r.json, "deleted.0");
	cr_assert_str_eq(it_str(d, "type"), "loop");
	cr_assert_str_eq(it_str(d, "id"), gone);
	cr_assert_eq(strlen(it_str(d, "deletedAt")), 24);
	cr_assert_str_eq(it_str(r.json, "deleted.1.type"), "song");
	cr_assert_str_eq(it_str(r.json, "deleted.1.id"), song);
	cr_assert(!has_id(r.json, "loops", keep));
	it_resp_free(&r);
	free(cursor);
	free(keep);
	free(edit);
	free(gone);
	free(song);
}

Test(sync, counter_changes_by_others_put_nothing_in_the_feed)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		*loop, q[512], *cursor;
	const char	*p[2];

	itfx_db_user(&a);
	itfx_db_user(&b);
	loop = itfx_db_loop(a.id, "liked", 1, -1);
	pull(&a, "", 200, &r);
	cursor = strdup(it_str(r.json, "cursor"));
	it_resp_free(&r);
	p[0] = b.id;
	p[1] = loop;
	cr_assert_eq(it_db_count("WITH l AS (INSERT INTO loop_likes "
	    "(user_id, loop_id) VALUES ($1::uuid, $2::uuid) RETURNING 1) "
	    "SELECT count(*) FROM l", 2, p), 1);
	db_run("UPDATE loop_counts SET plays_count = plays_count + 5 "
	    "WHERE loop_id = $1::uuid", loop);
	snprintf(q, sizeof(q), "since=%s", cursor);
	pull(&a, q, 200, &r);
	cr_assert_eq(count(r.json, "loops"), 0);
	it_resp_free(&r);
	free(cursor);
	free(loop);
}

/* A request as u through the API; asserts the status. */
static void
api(const struct itfx_user *u, const char *method, const char *path,
    const char *header, const char *body, int want, struct it_resp *r)
{
	const char	*h[3] = { u->auth, header, NULL };

	cr_assert_eq(it_request(method, path, h, body, r), 0, "no response");
	cr_assert_eq(r->status, want, "%s %s: %d %s", method, path, r->status,
	    r->body);
}

/* Create a loop of u through the API; returns its id (caller frees). */
static char *
api_loop(const struct itfx_user *u, const char *name, int is_public)
{
	struct it_resp	 r;
	char		 body[256], *id;

	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"bars\":1,"
	    "\"isPublic\":%s}", name, is_public ? "true" : "false");
	api(u, "POST", "/api/loops", NULL, body, 201, &r);
	id = strdup(it_str(r.json, "loop.id"));
	it_resp_free(&r);
	return id;
}

/* The cursor at the end of u's feed (caller frees). */
static char *
cursor_now(const struct itfx_user *u)
{
	struct it_resp	 r;
	char		*cursor = NULL, q[512];
	int		 more;

	do {
		if (cursor == NULL)
			snprintf(q, sizeof(q), "limit=100");
		else
			snprintf(q, sizeof(q), "limit=100&since=%s", cursor);
		pull(u, q, 200, &r);
		more = json_object_get_boolean(it_get(r.json, "hasMore"));
		free(cursor);
		cursor = strdup(it_str(r.json, "cursor"));
		it_resp_free(&r);
	} while (more);
	return cursor;
}

/* Pull u's feed after cursor (replaced by the new one). */
static void
pull_after(const struct itfx_user *u, char **cursor, const char *more_query,
    struct it_resp *r)
{
	char	 q[768];

	snprintf(q, sizeof(q), "since=%s%s", *cursor, more_query);
	pull(u, q, 200, r);
	free(*cursor);
	*cursor = strdup(it_str(r->json, "cursor"));
}

Test(sync, a_loop_deleted_and_created_again_comes_as_its_tombstone_then_the_item_in_that_order)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		*loop, *cursor, path[128];

	itfx_db_user(&a);
	loop = api_loop(&a, "phoenix", 0);
	cursor = cursor_now(&a);
	snprintf(path, sizeof(path), "/api/loops/%s", loop);
	api(&a, "DELETE", path, NULL, NULL, 204, &r);
	it_resp_free(&r);
	api(&a, "PUT", path, "If-None-Match: *", "{\"name\":\"again\","
	    "\"bars\":2}", 201, &r);
	cr_assert_eq(it_int(r.json, "loop.version"), 2);
	it_resp_free(&r);

	/* First the tombstone, alone on its page... */
	pull_after(&a, &cursor, "", &r);
	cr_assert_eq(count(r.json, "deleted"), 1, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "deleted.0.id"), loop);
	cr_assert_str_eq(it_str(r.json, "deleted.0.type"), "loop");
	cr_assert_eq(count(r.json, "loops"), 0);
	cr_assert_eq(json_object_get_boolean(it_get(r.json, "hasMore")), 1);
	it_resp_free(&r);
	/* ... then the item created again, at version 2. */
	pull_after(&a, &cursor, "", &r);
	cr_assert_eq(count(r.json, "deleted"), 0, "%s", r.body);
	cr_assert_eq(count(r.json, "loops"), 1);
	cr_assert_str_eq(it_str(r.json, "loops.0.id"), loop);
	cr_assert_str_eq(it_str(r.json, "loops.0.name"), "again");
	cr_assert_eq(it_int(r.json, "loops.0.version"), 2);
	cr_assert_eq(json_object_get_boolean(it_get(r.json, "hasMore")), 0);
	it_resp_free(&r);

	/* The client, holding v1, cannot write over v2. */
	api(&a, "PATCH", path, "If-Match: \"v1\"", "{\"name\":\"stale\"}", 412,
	    &r);
	cr_assert_eq(it_int(r.json, "loop.version"), 2);
	it_resp_free(&r);
	/* A client starting over gets the item only. */
	pull(&a, "", 200, &r);
	cr_assert(has_id(r.json, "loops", loop));
	cr_assert_eq(count(r.json, "deleted"), 0);
	it_resp_free(&r);
	free(cursor);
	free(loop);
}

Test(sync, a_song_deleted_and_created_again_comes_as_its_tombstone_then_the_song)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		*song, *cursor, path[128];

	itfx_db_user(&a);
	song = itfx_db_song(a.id, "verse", 100, -1);
	cursor = cursor_now(&a);
	snprintf(path, sizeof(path), "/api/songs/%s", song);
	api(&a, "PATCH", path, NULL, "{\"bpm\":101}", 200, &r);
	it_resp_free(&r);
	api(&a, "DELETE", path, NULL, NULL, 204, &r);
	it_resp_free(&r);
	api(&a, "PUT", path, "If-None-Match: *", "{\"name\":\"chorus\","
	    "\"bpm\":90}", 201, &r);
	cr_assert_eq(it_int(r.json, "song.version"), 3);
	it_resp_free(&r);
	pull_after(&a, &cursor, "", &r);
	cr_assert_eq(count(r.json, "deleted"), 1, "%s", r.body);
	cr_assert_eq(count(r.json, "songs"), 0);
	it_resp_free(&r);
	pull_after(&a, &cursor, "", &r);
	cr_assert_eq(count(r.json, "songs"), 1, "%s", r.body);
	cr_assert_eq(it_int(r.json, "songs.0.version"), 3);
	it_resp_free(&r);
	free(cursor);
	free(song);
}

Test(sync, a_remix_whose_parent_is_deleted_comes_again_with_parent_loop_id_null_and_its_version)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		*parent, *cursor, path[128], remix[40], etag[32], h[64];

	itfx_db_user(&a);
	itfx_db_user(&b);
	parent = api_loop(&a, "original", 1);
	snprintf(path, sizeof(path), "/api/loops/%s/remix", parent);
	api(&b, "POST", path, NULL, NULL, 201, &r);
	snprintf(remix, sizeof(remix), "%s", it_str(r.json, "loop.id"));
	snprintf(etag, sizeof(etag), "%s", it_header(&r, "etag"));
	cr_assert_str_eq(it_str(r.json, "loop.parentLoopId"), parent);
	it_resp_free(&r);
	cursor = cursor_now(&b);

	snprintf(path, sizeof(path), "/api/loops/%s", parent);
	api(&a, "DELETE", path, NULL, NULL, 204, &r);	/* not b's edit */
	it_resp_free(&r);
	pull_after(&b, &cursor, "", &r);
	cr_assert_eq(count(r.json, "loops"), 1, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "loops.0.id"), remix);
	cr_assert(json_object_is_type(it_get(r.json, "loops.0.parentLoopId"),
	    json_type_null), "%s", r.body);
	cr_assert_eq(it_int(r.json, "loops.0.version"), 1);
	cr_assert_eq(count(r.json, "deleted"), 0);
	it_resp_free(&r);
	/* No edit of b's: b's If-Match still holds. */
	snprintf(path, sizeof(path), "/api/loops/%s", remix);
	snprintf(h, sizeof(h), "If-Match: %s", etag);
	api(&b, "PATCH", path, h, "{\"bpm\":77}", 200, &r);
	it_resp_free(&r);
	/* And a's feed has only the deletion. */
	pull(&a, "", 200, &r);
	cr_assert_eq(count(r.json, "loops"), 0);
	it_resp_free(&r);
	free(cursor);
	free(parent);
}

static json_object *
entry_for(json_object *o, const char *member, const char *id)
{
	json_object	*a = it_get(o, member), *e;
	size_t		 i;

	for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		if (strcmp(it_str(e, "id"), id) == 0)
			return e;
	}
	return NULL;
}

Test(sync, the_callers_likes_and_unlikes_from_any_device_come_in_likes)
{
	struct itfx_user	 u, owner;
	struct it_resp	 r;
	char		*l1, *l2, *l3, *own, *song, *cursor, path[128];
	json_object	*e;
	const char	*p[2];

	itfx_db_user(&u);
	itfx_db_user(&owner);
	l1 = api_loop(&owner, "one", 1);
	l2 = api_loop(&owner, "two", 1);
	l3 = api_loop(&owner, "three", 1);
	own = api_loop(&u, "own", 0);
	song = itfx_db_song(owner.id, "tune", 100, -1);
	db_run("UPDATE songs SET is_public = true WHERE id = $1::uuid", song);
	snprintf(path, sizeof(path), "/api/loops/%s/like", l1);
	api(&u, "PUT", path, NULL, NULL, 200, &r);
	it_resp_free(&r);

	/* A first pull carries the likes there are. */
	pull(&u, "", 200, &r);
	cr_assert_eq(count(r.json, "likes"), 1, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "likes.0.id"), l1);
	cr_assert_str_eq(it_str(r.json, "likes.0.type"), "loop");
	cr_assert_eq(json_object_get_boolean(it_get(r.json,
	    "likes.0.likedByMe")), 1);
	cr_assert_eq(strlen(it_str(r.json, "likes.0.at")), 24);
	cursor = strdup(it_str(r.json, "cursor"));
	it_resp_free(&r);

	/* Another device (another token of u's: the same account). */
	snprintf(path, sizeof(path), "/api/loops/%s/like", l2);
	api(&u, "PUT", path, NULL, NULL, 200, &r);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/loops/%s/like", l1);
	api(&u, "DELETE", path, NULL, NULL, 200, &r);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/loops/%s/like", own);
	api(&u, "PUT", path, NULL, NULL, 200, &r);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/songs/%s/like", song);
	api(&u, "PUT", path, NULL, NULL, 200, &r);
	it_resp_free(&r);
	/* Liked and unliked between two pulls: one entry, its last state. */
	snprintf(path, sizeof(path), "/api/loops/%s/like", l3);
	api(&u, "PUT", path, NULL, NULL, 200, &r);
	it_resp_free(&r);
	api(&u, "DELETE", path, NULL, NULL, 200, &r);
	it_resp_free(&r);
	/* Idempotent repeats change nothing and add nothing. */
	snprintf(path, sizeof(path), "/api/loops/%s/like", l2);
	api(&u, "PUT", path, NULL, NULL, 200, &r);
	it_resp_free(&r);
	/* Likes by others are not the caller's. */
	p[0] = owner.id;
	p[1] = l2;
	cr_assert_eq(it_db_count("SELECT count(*) FROM item_like('loop', "
	    "$1::uuid, 1, $2::uuid, true)", 2, p), 1);

	pull_after(&u, &cursor, "", &r);
	cr_assert_eq(count(r.json, "likes"), 5, "%s", r.body);
	cr_assert_not_null(e = entry_for(r.json, "likes", l2));
	cr_assert_eq(json_object_get_boolean(it_get(e, "likedByMe")), 1);
	cr_assert_not_null(e = entry_for(r.json, "likes", l1));
	cr_assert_eq(json_object_get_boolean(it_get(e, "likedByMe")), 0);
	cr_assert_eq(strlen(it_str(e, "at")), 24);
	cr_assert_not_null(e = entry_for(r.json, "likes", l3));
	cr_assert_eq(json_object_get_boolean(it_get(e, "likedByMe")), 0);
	cr_assert_not_null(e = entry_for(r.json, "likes", own));
	cr_assert_eq(json_object_get_boolean(it_get(e, "likedByMe")), 1);
	cr_assert_not_null(e = entry_for(r.json, "likes", song));
	cr_assert_str_eq(it_str(e, "type"), "song");
	/* The own loop's counter moved, but it was no edit: not in loops. */
	cr_assert_eq(count(r.json, "loops"), 0, "%s", r.body);
	it_resp_free(&r);
	pull_after(&u, &cursor, "", &r);
	cr_assert_eq(count(r.json, "likes"), 0);
	it_resp_free(&r);
	/* Unlikes go with the deletion retention: a fresh pull has none. */
	pull(&u, "", 200, &r);
	cr_assert_eq(count(r.json, "likes"), 3, "%s", r.body);
	cr_assert_null(entry_for(r.json, "likes", l1));
	cr_assert_null(entry_for(r.json, "likes", l3));
	it_resp_free(&r);
	free(cursor);
	free(l1);
	free(l2);
	free(l3);
	free(own);
	free(song);
}

Test(sync, unlike_marks_are_purged_with_the_tombstones_and_older_cursors_get_410)
{
	struct itfx_user	 u, owner;
	struct it_resp	 r;
	char		*l1, *cursor, path[128], q[512];

	itfx_db_user(&u);
	itfx_db_user(&owner);
	l1 = api_loop(&owner, "one", 1);
	snprintf(path, sizeof(path), "/api/loops/%s/like", l1);
	api(&u, "PUT", path, NULL, NULL, 200, &r);
	it_resp_free(&r);
	cursor = cursor_now(&u);
	api(&u, "DELETE", path, NULL, NULL, 200, &r);
	it_resp_free(&r);
	db_run("UPDATE sync_marks SET at = now() - interval '31 days' "
	    "WHERE user_id = $1::uuid", u.id);
	cr_assert_eq(it_ctl("purge"), 0, "deploy/dev purge failed");
	cr_assert_eq(it_db_count("SELECT count(*) FROM sync_marks "
	    "WHERE user_id = $1::uuid", 1, (const char *const[]){ u.id }), 0);
	snprintf(q, sizeof(q), "since=%s", cursor);
	pull(&u, q, 410, &r);
	it_resp_free(&r);
	free(cursor);
	free(l1);
}

/* A song of s_owner using loop (straight in the database). */
static char *
db_song_using(const struct itfx_user *s_owner, const char *loop)
{
	const char	*p[2] = { s_owner->id, loop };
	char		*id;

	id = it_db_text("INSERT INTO songs (user_id, name, bpm, timeline, "
	    "total_bars) VALUES ($1::uuid, 'uses', 100, jsonb_build_array("
	    "jsonb_build_object('id', 'b1', 'loopId', $2::text, 'startBar', 0, "
	    "'bars', 4)), 4) RETURNING id", 2, p);
	cr_assert_not_null(id);
	return id;
}

Test(sync, another_users_loop_used_by_the_callers_song_going_private_or_deleted_comes_in_unavailable)
{
	struct itfx_user	 u, a, c;
	struct it_resp	 r;
	char		*l1, *l2, *song, *cursor, *cursor_c, path[128];
	json_object	*e;

	itfx_db_user(&u);
	itfx_db_user(&a);
	itfx_db_user(&c);
	l1 = api_loop(&a, "goes private", 1);
	l2 = api_loop(&a, "goes away", 1);
	song = db_song_using(&u, l1);
	free(db_song_using(&u, l2));
	free(db_song_using(&u, l2));	/* two songs, one mark */
	cursor = cursor_now(&u);
	cursor_c = cursor_now(&c);

	snprintf(path, sizeof(path), "/api/loops/%s", l1);
	api(&a, "PATCH", path, NULL, "{\"isPublic\":false}", 200, &r);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/loops/%s", l2);
	api(&a, "DELETE", path, NULL, NULL, 204, &r);
	it_resp_free(&r);

	pull_after(&u, &cursor, "", &r);
	cr_assert_eq(count(r.json, "unavailable"), 2, "%s", r.body);
	cr_assert_not_null(e = entry_for(r.json, "unavailable", l1));
	cr_assert_str_eq(it_str(e, "type"), "loop");
	cr_assert_eq(strlen(it_str(e, "at")), 24);
	cr_assert_not_null(entry_for(r.json, "unavailable", l2));
	cr_assert_eq(count(r.json, "available"), 0);
	/* Not the caller's songs' change: no song, no version. */
	cr_assert_eq(count(r.json, "songs"), 0);
	it_resp_free(&r);
	/* The song as GET shows it: the blocks are missing. */
	snprintf(path, sizeof(path), "/api/songs/%s", song);
	api(&u, "GET", path, NULL, NULL, 200, &r);
	cr_assert_eq(json_object_get_boolean(it_get(r.json,
	    "song.timeline.0.missing")), 1);
	cr_assert_eq(it_int(r.json, "song.version"), 1);
	it_resp_free(&r);
	/* And a fresh pull shows the song as GET does. */
	pull(&u, "", 200, &r);
	cr_assert_not_null(e = entry_for(r.json, "songs", song));
	cr_assert_eq(json_object_get_boolean(it_get(e, "timeline.0.missing")),
	    1, "%s", r.body);
	it_resp_free(&r);

	/* Public again: available. */
	snprintf(path, sizeof(path), "/api/loops/%s", l1);
	api(&a, "PATCH", path, NULL, "{\"isPublic\":true}", 200, &r);
	it_resp_free(&r);
	pull_after(&u, &cursor, "", &r);
	cr_assert_eq(count(r.json, "available"), 1, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "available.0.id"), l1);
	cr_assert_eq(count(r.json, "unavailable"), 0);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/songs/%s", song);
	api(&u, "GET", path, NULL, NULL, 200, &r);
	cr_assert_null(it_get(r.json, "song.timeline.0.missing"));
	it_resp_free(&r);

	/* Users whose songs do not use them, and the owner, hear nothing. */
	pull_after(&c, &cursor_c, "", &r);
	cr_assert_eq(count(r.json, "unavailable"), 0);
	cr_assert_eq(count(r.json, "available"), 0);
	it_resp_free(&r);
	pull(&a, "", 200, &r);
	cr_assert_eq(count(r.json, "unavailable"), 0);
	it_resp_free(&r);
	free(cursor);
	free(cursor_c);
	free(l1);
	free(l2);
	free(song);
}

Test(sync, a_loop_created_again_at_its_id_public_comes_in_available)
{
	struct itfx_user	 u, a;
	struct it_resp	 r;
	char		*l1, *cursor, path[128];

	itfx_db_user(&u);
	itfx_db_user(&a);
	l1 = api_loop(&a, "comes back", 1);
	free(db_song_using(&u, l1));
	snprintf(path, sizeof(path), "/api/loops/%s", l1);
	api(&a, "DELETE", path, NULL, NULL, 204, &r);
	it_resp_free(&r);
	cursor = cursor_now(&u);
	api(&a, "PUT", path, "If-None-Match: *", "{\"name\":\"back\","
	    "\"bars\":1,\"isPublic\":true}", 201, &r);
	it_resp_free(&r);
	pull_after(&u, &cursor, "", &r);
	cr_assert_eq(count(r.json, "available"), 1, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "available.0.id"), l1);
	it_resp_free(&r);
	free(cursor);
	free(l1);
}

static void
assert_bad_param(const struct itfx_user *u, const char *query, const char *field)
{
	struct it_resp	 r;

	pull(u, query, 400, &r);
	cr_assert_str_eq(it_header(&r, "content-type"),
	    "application/problem+json");
	cr_assert_str_eq(it_str(r.json, "errors.0.field"), field, "%s",
	    r.body);
	it_resp_free(&r);
}

Test(sync, a_garbled_forged_or_foreign_cursor_or_a_bad_limit_is_400)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 q[512], *cursor;
	size_t		 n;

	itfx_db_user(&a);
	itfx_db_user(&b);
	pull(&b, "", 200, &r);
	cursor = strdup(it_str(r.json, "cursor"));
	it_resp_free(&r);
	snprintf(q, sizeof(q), "since=%s", cursor);
	assert_bad_param(&a, q, "since");		/* b's cursor */
	n = strlen(q);
	q[n - 3] = q[n - 3] == 'A' ? 'B' : 'A';
	assert_bad_param(&b, q, "since");		/* altered */
	assert_bad_param(&a, "since=bm90IGEgY3Vyc29y", "since");
	assert_bad_param(&a, "since=%ZZ", "since");
	assert_bad_param(&a, "limit=0", "limit");
	assert_bad_param(&a, "limit=101", "limit");
	assert_bad_param(&a, "limit=ten", "limit");
	assert_bad_param(&a, "limit=-1", "limit");
	pull(&a, "since=&limit=100", 200, &r);		/* empty: start over */
	it_resp_free(&r);
	free(cursor);
}

Test(sync, a_cursor_older_than_the_tombstone_retention_is_410)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		*l1, *l2, q[512], *cursor;

	itfx_db_user(&a);
	l1 = itfx_db_loop(a.id, "old", 1, -1);
	l2 = itfx_db_loop(a.id, "kept", 1, -1);
	pull(&a, "", 200, &r);
	cursor = strdup(it_str(r.json, "cursor"));
	it_resp_free(&r);
	db_run("DELETE FROM loops WHERE id = $1::uuid", l1);
	/* The deletion is older than MP_TOMBSTONE_DAYS (30): purge forgets it. */
	db_run("UPDATE tombstones SET deleted_at = now() - interval '31 days' "
	    "WHERE item_id = $1::uuid", l1);
	cr_assert_eq(it_ctl("purge"), 0, "deploy/dev purge failed");
	cr_assert_eq(it_db_count("SELECT count(*) FROM tombstones "
	    "WHERE user_id = $1::uuid", 1, (const char *const[]){ a.id }), 0);
	cr_assert_gt(it_db_count("SELECT sync_floor FROM users "
	    "WHERE id = $1::uuid", 1, (const char *const[]){ a.id }), 0);
	snprintf(q, sizeof(q), "since=%s", cursor);
	pull(&a, q, 410, &r);
	cr_assert_str_eq(it_header(&r, "content-type"),
	    "application/problem+json");
	cr_assert(strstr(it_str(r.json, "type"), "sync-cursor-expired") != NULL);
	it_resp_free(&r);
	/* Starting over works, and carries what is left. */
	pull(&a, "", 200, &r);
	cr_assert_eq(count(r.json, "loops"), 1);
	cr_assert_str_eq(it_str(r.json, "loops.0.id"), l2);
	free(cursor);
	cursor = strdup(it_str(r.json, "cursor"));
	it_resp_free(&r);
	snprintf(q, sizeof(q), "since=%s", cursor);
	pull(&a, q, 200, &r);
	it_resp_free(&r);
	free(cursor);
	free(l1);
	free(l2);
}

/*
 * Convergence under concurrency: writers create, edit, remix and
 * delete the user's loops and songs and like and unlike them, from
 * connections of their own, each change in a transaction held open a
 * little before it commits (so commits land late and out of start
 * order); a client pulls all the while.  After the writers stop, one
 * last pull to the end must leave the client with exactly the server's
 * loops (versions and parents: deleting a loop sets its remixes'
 * parentLoopId to null, which is no edit of theirs), songs and likes.
 */
#define WRITERS		3
#define WRITER_OPS	15
#define REPLICA_MAX	512

struct writer {
	const char	*user;
	const char	*auth;		/* Authorization header line */
	const char	*other;		/* another user, whose loops U uses */
	const char	*other_auth;
	unsigned	 seed;
	int		 index;		/* 0 .. WRITERS - 1 */
	int		 failed;
	int		*running;	/* writers not yet done */
};

static const char *const writer_sql[] = {
	"INSERT INTO loops (user_id, name, bars) VALUES ($1::uuid, 'w', 1)",
	"INSERT INTO songs (user_id, name, bpm) VALUES ($1::uuid, 'w', 90)",
	"UPDATE loops SET bpm = 40 + (random() * 200)::int WHERE id = "
	    "(SELECT id FROM loops WHERE user_id = $1::uuid ORDER BY random() "
	    "LIMIT 1)",
	"UPDATE songs SET name = 'e' || (random() * 1000)::int WHERE id = "
	    "(SELECT id FROM songs WHERE user_id = $1::uuid ORDER BY random() "
	    "LIMIT 1)",
	"DELETE FROM loops WHERE id = (SELECT id FROM loops WHERE user_id = "
	    "$1::uuid ORDER BY random() LIMIT 1)",
	"DELETE FROM songs WHERE id = (SELECT id FROM songs WHERE user_id = "
	    "$1::uuid ORDER BY random() LIMIT 1)",
	/* A remix of one of the user's loops (parent_loop_id set). */
	"INSERT INTO loops (user_id, name, bars, parent_loop_id) "
	    "SELECT $1::uuid, 'r', 1, id FROM loops WHERE user_id = $1::uuid "
	    "ORDER BY random() LIMIT 1",
	/* Likes and unlikes as the routes make them (migration 0011). */
	"SELECT count(*) FROM item_like('loop', $1::uuid, 1, (SELECT id FROM "
	    "loops WHERE user_id = $1::uuid ORDER BY random() LIMIT 1), true)",
	"SELECT count(*) FROM item_like('loop', $1::uuid, 1, (SELECT loop_id "
	    "FROM loop_likes WHERE user_id = $1::uuid ORDER BY random() "
	    "LIMIT 1), false)",
	"SELECT count(*) FROM item_like('song', $1::uuid, 1, (SELECT id FROM "
	    "songs WHERE user_id = $1::uuid ORDER BY random() LIMIT 1), "
	    "random() < 0.6)",
};

/*
 * One writer: WRITER_OPS transactions of one to three random changes
 * each, held open up to 20 ms before the commit.  Each transaction
 * first locks the owner's users row, as the service's writes of one
 * user are serialised by their write budget row: without it, random
 * row-lock orders deadlock (and each deadlock costs a second).  A
 * transaction that fails anyway is rolled back and does not count; a
 * lost connection fails the test.
 */
static void *
writer_main(void *arg)
{
	struct writer	*w = arg;
	const char	*p[1] = { w->user };
	PGconn		*c;
	int		 i, k, n, bad;

	if ((c = itfx_conn()) == NULL) {
		w->failed = 1;
		__atomic_sub_fetch(w->running, 1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	for (i = 0; i < WRITER_OPS; i++) {
		bad = itfx_exec(c, "BEGIN", 0, NULL) != 0 ||
		    itfx_exec(c, "SELECT 1 FROM users WHERE id = $1::uuid "
		    "FOR NO KEY UPDATE", 1, p) != 0;
		n = 1 + (int)(rand_r(&w->seed) % 3);
		for (k = 0; k < n && !bad; k++)
			bad = itfx_exec(c, writer_sql[rand_r(&w->seed) %
			    (sizeof(writer_sql) / sizeof(writer_sql[0]))], 1,
			    p) != 0;
		if (!bad)
			bad = itfx_exec(c, "SELECT pg_sleep(random() * 0.02)",
			    0, NULL) != 0;
		(void)itfx_exec(c, bad ? "ROLLBACK" : "COMMIT", 0, NULL);
		if (PQstatus(c) != CONNECTION_OK) {
			w->failed = 1;
			break;
		}
	}
	PQfinish(c);
	__atomic_sub_fetch(w->running, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* The client's copy: items (id, version, parent) and likes. */
struct replica {
	char		 id[REPLICA_MAX][40];
	long long	 version[REPLICA_MAX];
	char		 parent[REPLICA_MAX][40];	/* "" for none */
	size_t		 n;
	char		 liked[REPLICA_MAX][48];	/* "loop:<id>" */
	size_t		 nliked;
};

static void
replica_put(struct replica *rp, const char *id, long long version,
    const char *parent)
{
	size_t	 i;

	for (i = 0; i < rp->n && strcmp(rp->id[i], id) != 0; i++)
		;
	if (i == rp->n) {
		cr_assert_lt(rp->n, REPLICA_MAX);
		snprintf(rp->id[rp->n++], sizeof(rp->id[0]), "%s", id);
	}
	rp->version[i] = version;
	snprintf(rp->parent[i], sizeof(rp->parent[0]), "%s",
	    parent != NULL ? parent : "");
}

static void
replica_drop(struct replica *rp, const char *id)
{
	size_t	 i;

	for (i = 0; i < rp->n; i++)
		if (strcmp(rp->id[i], id) == 0) {
			rp->n--;
			memmove(rp->id[i], rp->id[rp->n], sizeof(rp->id[0]));
			memmove(rp->parent[i], rp->parent[rp->n],
			    sizeof(rp->parent[0]));
			rp->version[i] = rp->version[rp->n];
			return;
		}
}

static void
replica_like(struct replica *rp, const char *type, const char *id, int on)
{
	char	 key[48];
	size_t	 i;

	snprintf(key, sizeof(key), "%s:%s", type, id);
	for (i = 0; i < rp->nliked && strcmp(rp->liked[i], key) != 0; i++)
		;
	if (on && i == rp->nliked) {
		cr_assert_lt(rp->nliked, REPLICA_MAX);
		memcpy(rp->liked[rp->nliked++], key, sizeof(key));
	} else if (!on && i < rp->nliked) {
		rp->nliked--;
		memmove(rp->liked[i], rp->liked[rp->nliked], sizeof(key));
	}
}

/* One pull applied to rp; returns hasMore and replaces *cursor. */
static int
replica_pull(const struct itfx_user *u, struct replica *rp, char **cursor)
{
	struct it_resp	 r;
	json_object	*a, *o;
	char		 q[512];
	size_t		 i;
	int		 more;

	if (*cursor == NULL)
		snprintf(q, sizeof(q), "limit=3");
	else
		snprintf(q, sizeof(q), "limit=3&since=%s", *cursor);
	pull(u, q, 200, &r);
	/* Within a page no id comes twice: the order does not matter. */
	a = it_get(r.json, "deleted");
	for (i = 0; i < json_object_array_length(a); i++) {
		o = json_object_array_get_idx(a, i);
		replica_drop(rp, it_str(o, "id"));
		/* An item's likes go with it. */
		replica_like(rp, it_str(o, "type"), it_str(o, "id"), 0);
	}
	a = it_get(r.json, "loops");
	for (i = 0; i < json_object_array_length(a); i++) {
		o = json_object_array_get_idx(a, i);
		replica_put(rp, it_str(o, "id"), it_int(o, "version"),
		    it_str(o, "parentLoopId"));
	}
	a = it_get(r.json, "songs");
	for (i = 0; i < json_object_array_length(a); i++) {
		o = json_object_array_get_idx(a, i);
		replica_put(rp, it_str(o, "id"), it_int(o, "version"), NULL);
	}
	a = it_get(r.json, "likes");
	for (i = 0; i < json_object_array_length(a); i++) {
		o = json_object_array_get_idx(a, i);
		replica_like(rp, it_str(o, "type"), it_str(o, "id"),
		    json_object_get_boolean(it_get(o, "likedByMe")));
	}
	more = json_object_get_boolean(it_get(r.json, "hasMore"));
	free(*cursor);
	*cursor = strdup(it_str(r.json, "cursor"));
	it_resp_free(&r);
	return more;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The client's copy as "id:version:parent,..." in id order, then "|"
 * and its likes "type:id,..." in order, keeping only likes of items
 * that still exist when exist is set (a like of another user's item
 * goes with the item without a word to the liker: doc/API.md).  The
 * caller frees.
 */
static char *
replica_text(const struct replica *rp, int exist)
{
	struct buf	 b = BUF_INIT;
	const char	*order[REPLICA_MAX], *p[1];
	char		 line[REPLICA_MAX][128];
	size_t		 i, n = 0;

	for (i = 0; i < rp->n; i++) {
		snprintf(line[i], sizeof(line[0]), "%s:%lld:%s", rp->id[i],
		    rp->version[i], rp->parent[i]);
		order[i] = line[i];
	}
	qsort(order, rp->n, sizeof(order[0]), cmp_str);
	buf_puts(&b, "");
	for (i = 0; i < rp->n; i++)
		buf_printf(&b, "%s%s", i ? "," : "", order[i]);
	buf_puts(&b, "|");
	for (i = 0; i < rp->nliked; i++) {
		p[0] = strchr(rp->liked[i], ':') + 1;
		if (exist && it_db_count("SELECT (SELECT count(*) FROM loops "
		    "WHERE id = $1::uuid) + (SELECT count(*) FROM songs WHERE "
		    "id = $1::uuid)", 1, p) == 0)
			continue;
		order[n++] = rp->liked[i];
	}
	qsort(order, n, sizeof(order[0]), cmp_str);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? "," : "", order[i]);
	return buf_detach(&b);
}

static void
assert_replica_is_the_server(const struct itfx_user *u, const struct replica *rp,
    int round)
{
	const char	*p[1] = { u->id };
	char		*server, *client;

	server = it_db_text("SELECT coalesce((SELECT string_agg(id::text || ':' "
	    "|| version || ':' || coalesce(parent, ''), ',' ORDER BY id::text || "
	    "':' || version || ':' || coalesce(parent, '')) FROM (SELECT id, "
	    "version, parent_loop_id::text AS parent FROM loops "
	    "WHERE user_id = $1::uuid UNION ALL SELECT id, version, NULL "
	    "FROM songs WHERE user_id = $1::uuid) x), '') || '|' || "
	    "coalesce((SELECT string_agg(k, ',' ORDER BY k) FROM ("
	    "SELECT 'loop:' || loop_id AS k FROM loop_likes "
	    "WHERE user_id = $1::uuid UNION ALL SELECT 'song:' || song_id "
	    "FROM song_likes WHERE user_id = $1::uuid) y), '')", 1, p);
	cr_assert_not_null(server);
	client = replica_text(rp, 1);
	cr_assert_str_eq(client, server, "round %d: the client's copy differs",
	    round);
	free(client);
	free(server);
}

/*
 * Rounds of the convergence test: a fresh user with some loops and a
 * song (and another user with public loops), WRITERS writers running
 * writer_fn, a client pulling all the while, then one last pull to the
 * end.  Returns how many pages said hasMore (the test is only worth
 * something if some did); *orphans (remixes whose parent was deleted)
 * and *likes (likes and unlikes) count what the rounds left for the
 * client to get right.
 */
static int
converge_rounds(int rounds, void *(*writer_fn)(void *), int *orphans,
    int *likes)
{
	struct writer	 w[WRITERS];
	pthread_t	 t[WRITERS];
	struct replica	*rp;
	struct itfx_user	 u, o;
	const char	*p[1];
	char		*cursor, name[16];
	int		 round, i, pulls, running, more, pages = 0;

	rp = calloc(1, sizeof(*rp));
	for (round = 0; round < rounds; round++) {
		itfx_db_user(&u);
		itfx_db_user(&o);
		for (i = 0; i < 10; i++) {
			snprintf(name, sizeof(name), "pre%d", i);
			free(itfx_db_loop(u.id, name, 1, -1));
			free(itfx_db_loop(o.id, name, 1, -1));
		}
		db_run("UPDATE loops SET is_public = true WHERE user_id = "
		    "$1::uuid", o.id);
		free(itfx_db_song(u.id, "pre", 100, -1));
		memset(rp, 0, sizeof(*rp));
		cursor = NULL;
		running = WRITERS;
		for (i = 0; i < WRITERS; i++) {
			w[i].running = &running;
			w[i].user = u.id;
			w[i].auth = u.auth;
			w[i].other = o.id;
			w[i].other_auth = o.auth;
			w[i].seed = (unsigned)(round * 131 + i * 17 + getpid());
			w[i].index = i;
			w[i].failed = 0;
			cr_assert_eq(pthread_create(&t[i], NULL, writer_fn,
			    &w[i]), 0);
		}
		/* Pull all the while they write. */
		for (pulls = 0; __atomic_load_n(&running, __ATOMIC_SEQ_CST) > 0;
		    pulls++) {
			more = replica_pull(&u, rp, &cursor);
			pages += more;
			if (!more)
				usleep(10000);
		}
		for (i = 0; i < WRITERS; i++) {
			pthread_join(t[i], NULL);
			cr_assert(!w[i].failed, "writer %d failed", i);
		}
		/* The final pull, to the end. */
		while (replica_pull(&u, rp, &cursor))
			;
		assert_replica_is_the_server(&u, rp, round);
		p[0] = u.id;
		*orphans += (int)it_db_count("SELECT count(*) FROM loops "
		    "WHERE user_id = $1::uuid AND parent_loop_id IS NULL AND "
		    "(name = 'r' OR name LIKE 'Remix of %')", 1, p);
		*likes += (int)it_db_count("SELECT (SELECT count(*) FROM "
		    "loop_likes WHERE user_id = $1::uuid) + (SELECT count(*) "
		    "FROM sync_marks WHERE user_id = $1::uuid)", 1, p);
		cr_log_info("round %d: %d pulls during the writes", round,
		    pulls);
		free(cursor);
	}
	free(rp);
	return pages;
}

Test(sync, a_client_pulling_during_concurrent_writes_converges_to_the_server,
    .timeout = 300)
{
	int	 pages, orphans = 0, likes = 0;

	pages = converge_rounds(20, writer_main, &orphans, &likes);
	cr_assert_gt(pages, 20, "only %d pages had more to come", pages);
	cr_assert_gt(orphans, 0, "no round deleted a parent of a remix");
	cr_assert_gt(likes, 0, "no round liked anything");
}

/*
 * The last write of writer 0 in the API rounds: once writer 1's remix
 * of the other user's "pre0" exists (it is writer 1's first request,
 * so this waits at most a moment), the other user deletes "pre0",
 * while the client still pulls.  Sets w->failed when it cannot.
 */
static void
delete_remixed_pre0(PGconn *c, struct writer *w, const char *const *ho)
{
	struct it_resp	 r;
	const char	*p[1] = { w->other };
	char		 path[128];
	PGresult	*res;
	int		 tries;

	for (tries = 0; tries < 500; tries++) {
		res = PQexecParams(c, "SELECT l.id FROM loops l WHERE "
		    "l.user_id = $1::uuid AND l.name = 'pre0' AND EXISTS "
		    "(SELECT 1 FROM loops x WHERE x.parent_loop_id = l.id)", 1,
		    NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1) {
			snprintf(path, sizeof(path), "/api/loops/%s",
			    PQgetvalue(res, 0, 0));
			PQclear(res);
			if (it_request("DELETE", path, ho, NULL, &r) != 0) {
				w->failed = 1;
				return;
			}
			if (r.status != 204) {
				fprintf(stderr, "api writer: DELETE %s: %d\n",
				    path, r.status);
				w->failed = 1;
			}
			it_resp_free(&r);
			return;
		}
		PQclear(res);
		usleep(20000);
	}
	fprintf(stderr, "api writer: no remix of pre0 appeared\n");
	w->failed = 1;
}

/*
 * The same through the API, as clients would: writers of the user
 * create (POST), edit (PATCH), delete (DELETE), remix (POST …/remix)
 * loops, the user's own and the other user's public ones, and like and
 * unlike them (PUT/DELETE …/like); one more writer, the other user,
 * deletes its loops -- parents of the user's remixes, loops the user
 * liked -- and makes new ones.  A 404 is fine (someone deleted the
 * loop first); anything else but success fails the test.
 */
static void *
api_writer_main(void *arg)
{
	struct writer	*w = arg;
	struct it_resp	 r;
	const char	*h[2] = { w->auth, NULL }, *ho[2] = { w->other_auth, NULL };
	const char	*p[1], *method;
	char		 path[128], body[256], *id;
	PGresult	*res;
	PGconn		*c;
	int		 i, op, rc, as_other, want;

	if ((c = itfx_conn()) == NULL) {
		w->failed = 1;
		__atomic_sub_fetch(w->running, 1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	for (i = 0; i < WRITER_OPS && !w->failed; i++) {
		/*
		 * 0 create, 1 edit, 2 delete, 3 remix, 4-5 like, 6 unlike;
		 * writer 0 is the other user every third time (create or
		 * delete one of its public loops).
		 */
		op = (int)(rand_r(&w->seed) % 7);
		as_other = w->index == 0 && i % 3 == 2;
		if (as_other)
			op = rand_r(&w->seed) % 3 == 0 ? 0 : 2;
		p[0] = as_other || (op >= 3 && rand_r(&w->seed) % 2 == 0) ?
		    w->other : w->user;
		/*
		 * Every round has a remix whose parent goes, whatever the
		 * dice say: writer 1 first remixes the other user's "pre0",
		 * writer 0 ends by deleting it (see below); the dice never
		 * pick "pre0" or its remixes.
		 */
		if (w->index == 1 && i == 0) {
			op = 3;
			p[0] = w->other;
		}
		id = NULL;
		if (op > 0) {
			res = PQexecParams(c, w->index == 1 && i == 0 ?
			    "SELECT id FROM loops WHERE user_id = $1::uuid AND "
			    "name = 'pre0'" : "SELECT id FROM loops WHERE "
			    "user_id = $1::uuid AND name NOT IN ('pre0', "
			    "'Remix of pre0') ORDER BY random() LIMIT 1", 1,
			    NULL, p, NULL, NULL, 0);
			if (PQresultStatus(res) == PGRES_TUPLES_OK &&
			    PQntuples(res) == 1)
				id = strdup(PQgetvalue(res, 0, 0));
			PQclear(res);
		}
		if (id == NULL)
			op = 0;
		want = 200;
		method = "PUT";
		body[0] = '\0';
		switch (op) {
		case 0:
			snprintf(path, sizeof(path), "/api/loops");
			snprintf(body, sizeof(body), "{\"name\":\"api\","
			    "\"bars\":1,\"isPublic\":%s}", as_other ? "true" :
			    "false");
			method = "POST";
			want = 201;
			break;
		case 1:
			snprintf(path, sizeof(path), "/api/loops/%s", id);
			snprintf(body, sizeof(body), "{\"bpm\":%u}",
			    40 + rand_r(&w->seed) % 200);
			method = "PATCH";
			break;
		case 2:
			snprintf(path, sizeof(path), "/api/loops/%s", id);
			method = "DELETE";
			want = 204;
			break;
		case 3:
			snprintf(path, sizeof(path), "/api/loops/%s/remix", id);
			method = "POST";
			want = 201;
			break;
		default:
			snprintf(path, sizeof(path), "/api/loops/%s/like", id);
			method = op == 6 ? "DELETE" : "PUT";
			break;
		}
		rc = it_request(method, path, as_other ? ho : h,
		    body[0] != '\0' ? body : NULL, &r);
		/* Only a loop someone deleted first may be a 404. */
		if (rc != 0 || (r.status != want && !(op > 0 &&
		    r.status == 404))) {
			fprintf(stderr, "api writer: %s %s: %d %s\n", method,
			    path, rc == 0 ? r.status : -1,
			    rc == 0 && r.body != NULL ? r.body : "");
			w->failed = 1;
		}
		if (rc == 0)
			it_resp_free(&r);
		free(id);
	}
	if (w->index == 0 && !w->failed)
		delete_remixed_pre0(c, w, ho);
	PQfinish(c);
	__atomic_sub_fetch(w->running, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

Test(sync, a_client_pulling_during_concurrent_api_writes_converges,
    .timeout = 300)
{
	int	 orphans = 0, likes = 0;

	converge_rounds(5, api_writer_main, &orphans, &likes);
	cr_assert_gt(orphans, 0, "no round deleted a parent of a remix");
	cr_assert_gt(likes, 0, "no round liked anything");
}
