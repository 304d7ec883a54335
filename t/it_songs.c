/* Integration: the songs routes, through nginx, workers and PostgreSQL. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itfixture.h"
#include "t/itlib.h"

#define NO_SUCH_LOOP	"0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b"

/* A loop of w's, public or private, made in the database; id into out. */
static void
loop_of(const struct itfx_user *w, int is_public, char *out, size_t sz)
{
	char	*id = itfx_db_loop(w->id, "a loop", 4, is_public);

	snprintf(out, sz, "%s", id);
	free(id);
}

/* Create a song from body as w; its id into id (when not NULL). */
static void
create(const struct itfx_user *w, const char *body, char *id, size_t sz)
{
	struct it_resp	 r;

	itfx_req("POST", "/api/songs", w, NULL, body, &r);
	cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
	if (id != NULL)
		snprintf(id, sz, "%s", it_str(r.json, "song.id"));
	it_resp_free(&r);
}

/* A song body whose one block uses loop. */
static void
body_with(char *out, size_t sz, const char *loop, int is_public)
{
	snprintf(out, sz, "{\"name\":\"Song\",\"bpm\":110,\"isPublic\":%s,"
	    "\"timeline\":[{\"id\":\"b1\",\"loopId\":\"%s\",\"startBar\":0,"
	    "\"bars\":4}]}", is_public ? "true" : "false", loop);
}

/*
 * A song of w through the API (public or not) whose one block uses a
 * new loop of w's (public or not); the ids into loop and id.
 */
static void
song_of(const struct itfx_user *w, int loop_public, int is_public,
    char *loop, size_t lsz, char *id, size_t isz)
{
	char	 body[512];

	loop_of(w, loop_public, loop, lsz);
	body_with(body, sizeof(body), loop, is_public);
	create(w, body, id, isz);
}

/* POST body as w must be 400 naming field, and write no song. */
static void
refused(const struct itfx_user *w, const char *body, const char *field)
{
	struct it_resp	 r;
	long long	 before;

	before = itfx_songs_of(w);
	itfx_req("POST", "/api/songs", w, NULL, body, &r);
	cr_assert_eq(r.status, 400, "%d %s", r.status, r.body);
	cr_assert_str_eq(it_header(&r, "content-type"),
	    "application/problem+json");
	cr_assert_str_eq(it_str(r.json, "error"), "Validation failed");
	cr_assert(itfx_names_field(&r, field), "%s not named: %s", field, r.body);
	it_resp_free(&r);
	cr_assert_eq(itfx_songs_of(w), before, "a song was written");
}

static void
path_of(char *out, size_t sz, const char *id, const char *suffix)
{
	snprintf(out, sz, "/api/songs/%s%s", id, suffix);
}

Test(songs, creating_a_song_answers_201_with_location_etag_and_the_computed_totalbars)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 loop[40], body[512], loc[128];

	itfx_signup(&a);
	loop_of(&a, 0, loop, sizeof(loop));
	snprintf(body, sizeof(body), "{\"name\":\"Verse\",\"bpm\":128,"
	    "\"timeSignature\":\"3/4\",\"timeline\":["
	    "{\"id\":\"x\",\"loopId\":\"%s\",\"startBar\":0,\"bars\":4,"
	    "\"color\":\"#00FF7f\"},"
	    "{\"id\":\"y\",\"loopId\":\"%s\",\"startBar\":10,\"bars\":6}]}",
	    loop, loop);
	itfx_req("POST", "/api/songs", &a, NULL, body, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(loc, sizeof(loc), "%s/api/songs/%s", it_mount(),
	    it_str(r.json, "song.id"));
	cr_assert_str_eq(it_header(&r, "location"), loc);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v1\"");
	cr_assert_eq(it_int(r.json, "song.totalBars"), 16);
	cr_assert_eq(it_int(r.json, "song.bpm"), 128);
	cr_assert_str_eq(it_str(r.json, "song.timeSignature"), "3/4");
	cr_assert_str_eq(it_str(r.json, "song.username"), a.username);
	cr_assert_str_eq(it_str(r.json, "song.userId"), a.id);
	cr_assert_str_eq(it_str(r.json, "song.timeline.0.color"), "#00FF7f");
	cr_assert_null(it_get(r.json, "song.timeline.0.missing"));
	cr_assert_eq(it_int(r.json, "song.version"), 1);
	cr_assert_eq(it_int(r.json, "song.schemaVersion"), 1);
	cr_assert_not(json_object_get_boolean(it_get(r.json, "song.isPublic")));
	cr_assert_not(json_object_get_boolean(it_get(r.json,
	    "song.likedByMe")));
	cr_assert_eq(it_int(r.json, "song.playsCount"), 0);
	cr_assert_eq(it_int(r.json, "song.likesCount"), 0);
	cr_assert_eq(strlen(it_str(r.json, "song.createdAt")), 24);
	it_resp_free(&r);
	cr_assert_eq(itfx_songs_of(&a), 1);
}

Test(songs, a_client_sent_totalbars_is_ignored_and_recomputed)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 loop[40], body[512], id[40], path[96];
	const char	*p[1];

	itfx_signup(&a);
	loop_of(&a, 0, loop, sizeof(loop));
	snprintf(body, sizeof(body), "{\"name\":\"S\",\"bpm\":100,"
	    "\"totalBars\":999,\"timeline\":[{\"id\":\"x\",\"loopId\":\"%s\","
	    "\"startBar\":4,\"bars\":8}]}", loop);
	create(&a, body, id, sizeof(id));
	p[0] = id;
	cr_assert_eq(it_db_count("SELECT total_bars FROM songs "
	    "WHERE id = $1::uuid", 1, p), 12);
	path_of(path, sizeof(path), id, "");
	itfx_req("PATCH", path, &a, NULL, "{\"totalBars\":1,\"name\":\"T\"}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(it_int(r.json, "song.totalBars"), 12);
	it_resp_free(&r);
}

Test(songs, an_unknown_time_signature_is_400_and_nothing_is_written)
{
	struct itfx_user	 a;

	itfx_signup(&a);
	refused(&a, "{\"name\":\"S\",\"bpm\":100,\"timeSignature\":\"6/8\"}",
	    "timeSignature");
}

Test(songs, a_missing_bpm_is_400_and_nothing_is_written)
{
	struct itfx_user	 a;

	itfx_signup(&a);
	refused(&a, "{\"name\":\"S\"}", "bpm");
	refused(&a, "{\"name\":\"S\",\"bpm\":301}", "bpm");
}

Test(songs, a_block_pointing_at_another_users_private_loop_is_400_naming_the_block)
{
	struct itfx_user	 a, b;
	char		 mine[40], theirs[40], body[512];

	itfx_signup(&a);
	itfx_signup(&b);
	loop_of(&a, 0, mine, sizeof(mine));
	loop_of(&b, 0, theirs, sizeof(theirs));
	snprintf(body, sizeof(body), "{\"name\":\"S\",\"bpm\":100,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"%s\",\"startBar\":0,\"bars\":1},"
	    "{\"id\":\"b\",\"loopId\":\"%s\",\"startBar\":1,\"bars\":1}]}",
	    mine, theirs);
	refused(&a, body, "timeline[1].loopId");
}

Test(songs, a_block_pointing_at_a_deleted_loop_is_400_naming_the_block)
{
	struct itfx_user	 a;
	char		 loop[40], body[512];
	const char	*p[1];

	itfx_signup(&a);
	loop_of(&a, 1, loop, sizeof(loop));
	p[0] = loop;
	it_db_count("WITH d AS (DELETE FROM loops WHERE id = $1::uuid "
	    "RETURNING 1) SELECT count(*) FROM d", 1, p);
	body_with(body, sizeof(body), loop, 0);
	refused(&a, body, "timeline[0].loopId");
	body_with(body, sizeof(body), NO_SUCH_LOOP, 0);
	refused(&a, body, "timeline[0].loopId");
}

Test(songs, a_block_with_a_malformed_loop_id_is_400_naming_the_block)
{
	struct itfx_user	 a;

	itfx_signup(&a);
	refused(&a, "{\"name\":\"S\",\"bpm\":100,\"timeline\":[{\"id\":\"a\","
	    "\"loopId\":\"not-a-uuid'; DROP TABLE songs;--\",\"startBar\":0,"
	    "\"bars\":1}]}", "timeline[0].loopId");
	refused(&a, "{\"name\":\"S\",\"bpm\":100,\"timeline\":[{\"id\":\"a\","
	    "\"loopId\":42,\"startBar\":0,\"bars\":1}]}", "timeline[0].loopId");
}

Test(songs, duplicate_block_ids_are_400_naming_the_later_block)
{
	struct itfx_user	 a;
	char		 loop[40], body[512];

	itfx_signup(&a);
	loop_of(&a, 0, loop, sizeof(loop));
	snprintf(body, sizeof(body), "{\"name\":\"S\",\"bpm\":100,\"timeline\":["
	    "{\"id\":\"same\",\"loopId\":\"%s\",\"startBar\":0,\"bars\":1},"
	    "{\"id\":\"same\",\"loopId\":\"%s\",\"startBar\":1,\"bars\":1}]}",
	    loop, loop);
	refused(&a, body, "timeline[1].id");
}

Test(songs, a_negative_startbar_is_400)
{
	struct itfx_user	 a;
	char		 loop[40], body[512];

	itfx_signup(&a);
	loop_of(&a, 0, loop, sizeof(loop));
	snprintf(body, sizeof(body), "{\"name\":\"S\",\"bpm\":100,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"%s\",\"startBar\":-1,\"bars\":1}]}",
	    loop);
	refused(&a, body, "timeline[0].startBar");
	snprintf(body, sizeof(body), "{\"name\":\"S\",\"bpm\":100,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"%s\",\"startBar\":4090,\"bars\":7}]}",
	    loop);
	refused(&a, body, "timeline[0].bars");
}

/* A body of n blocks, all using loop. */
static char *
blocks(const char *loop, size_t n)
{
	struct buf	 b = BUF_INIT;
	size_t		 i;

	buf_puts(&b, "{\"name\":\"Long\",\"bpm\":100,\"timeline\":[");
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s{\"id\":\"b%zu\",\"loopId\":\"%s\","
		    "\"startBar\":%zu,\"bars\":4}", i ? "," : "", i, loop,
		    i * 4);
	buf_puts(&b, "]}");
	return buf_detach(&b);
}

Test(songs, a_timeline_of_513_blocks_is_400_and_512_are_accepted)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 loop[40], *body;

	itfx_signup(&a);
	loop_of(&a, 0, loop, sizeof(loop));
	body = blocks(loop, 513);
	refused(&a, body, "timeline");
	free(body);
	body = blocks(loop, 512);
	itfx_req("POST", "/api/songs", &a, NULL, body, &r);
	free(body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_eq(it_int(r.json, "song.totalBars"), 2048);
	cr_assert_eq(json_object_array_length(it_get(r.json,
	    "song.timeline")), 512);
	it_resp_free(&r);
}

Test(songs, wrong_types_are_400_naming_every_field)
{
	struct itfx_user	 a;
	struct it_resp	 r;

	itfx_signup(&a);
	itfx_req("POST", "/api/songs", &a, NULL, "{\"name\":[],\"bpm\":\"fast\","
	    "\"timeSignature\":null,\"timeline\":{\"id\":1},\"isPublic\":1,"
	    "\"schemaVersion\":1.5}", &r);
	cr_assert_eq(r.status, 400);
	cr_assert(itfx_names_field(&r, "name"));
	cr_assert(itfx_names_field(&r, "bpm"));
	cr_assert(itfx_names_field(&r, "timeSignature"));
	cr_assert(itfx_names_field(&r, "timeline"));
	cr_assert(itfx_names_field(&r, "isPublic"));
	cr_assert(itfx_names_field(&r, "schemaVersion"));
	it_resp_free(&r);
	refused(&a, "{\"name\":\"S\",\"bpm\":100,\"timeline\":[[]]}",
	    "timeline[0]");
	cr_assert_eq(itfx_songs_of(&a), 0);
}

Test(songs, a_block_may_use_the_owners_private_loops_and_anyones_public_loops)
{
	struct itfx_user	 a, b;
	char		 mine[40], theirs[40], body[512];

	itfx_signup(&a);
	itfx_signup(&b);
	loop_of(&a, 0, mine, sizeof(mine));
	loop_of(&b, 1, theirs, sizeof(theirs));
	snprintf(body, sizeof(body), "{\"name\":\"S\",\"bpm\":100,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"%s\",\"startBar\":0,\"bars\":1},"
	    "{\"id\":\"b\",\"loopId\":\"%s\",\"startBar\":1,\"bars\":1}]}",
	    mine, theirs);
	create(&a, body, NULL, 0);
}

Test(songs, get_answers_the_song_with_its_etag_and_if_none_match_gives_304)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 loop[40], id[40], path[96];

	itfx_signup(&a);
	song_of(&a, 0, 1, loop, sizeof(loop), id, sizeof(id));
	path_of(path, sizeof(path), id, "");
	itfx_req("GET", path, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v1\"");
	cr_assert_str_eq(it_str(r.json, "song.id"), id);
	it_resp_free(&r);
	itfx_req("GET", path, NULL, (const char *[]){ "If-None-Match: \"v0\", W/\"v1\"", NULL }, NULL, &r);
	cr_assert_eq(r.status, 304);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v1\"");
	cr_assert_eq(r.body_len, 0);
	it_resp_free(&r);
	itfx_req("GET", path, NULL, (const char *[]){ "If-None-Match: \"v2\"", NULL }, NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
}

Test(songs, a_private_song_is_404_to_another_user_and_to_anonymous)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 loop[40], id[40], path[96];

	itfx_signup(&a);
	itfx_signup(&b);
	song_of(&a, 0, 0, loop, sizeof(loop), id, sizeof(id));
	path_of(path, sizeof(path), id, "");
	itfx_req("GET", path, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(it_str(r.json, "error"), "Song not found");
	it_resp_free(&r);
	itfx_req("GET", path, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	it_resp_free(&r);
	itfx_req("GET", path, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
}

Test(songs, a_private_song_changed_liked_played_or_deleted_by_another_user_is_404_and_unchanged)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 loop[40], id[40], path[128];
	const char	*p[1];
	const char	*const methods[] = { "PUT", "PATCH", "DELETE" };
	size_t		 i;

	itfx_signup(&a);
	itfx_signup(&b);
	song_of(&a, 0, 0, loop, sizeof(loop), id, sizeof(id));
	path_of(path, sizeof(path), id, "");
	for (i = 0; i < 3; i++) {
		itfx_req(methods[i], path, &b, NULL, i < 2 ?
		    "{\"name\":\"Mine now\",\"bpm\":100}" : NULL, &r);
		cr_assert_eq(r.status, 404, "%s: %d", methods[i], r.status);
		cr_assert_str_eq(it_str(r.json, "error"), "Song not found");
		it_resp_free(&r);
	}
	path_of(path, sizeof(path), id, "/like");
	itfx_req("PUT", path, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	it_resp_free(&r);
	path_of(path, sizeof(path), id, "/plays");
	itfx_req("POST", path, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	it_resp_free(&r);
	p[0] = id;
	cr_assert_eq(it_db_count("SELECT count(*) FROM songs JOIN song_counts "
	    "ON song_id = id WHERE id = "
	    "$1::uuid AND name = 'Song' AND version = 1 AND likes_count = 0 "
	    "AND plays_count = 0", 1, p), 1);
	cr_assert_eq(it_db_count("SELECT count(*) FROM song_likes WHERE "
	    "song_id = $1::uuid", 1, p), 0);
}

Test(songs, a_public_song_changed_or_deleted_by_another_user_is_403_and_unchanged)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 loop[40], id[40], path[128];
	const char	*p[1];

	itfx_signup(&a);
	itfx_signup(&b);
	song_of(&a, 1, 1, loop, sizeof(loop), id, sizeof(id));
	path_of(path, sizeof(path), id, "");
	itfx_req("PATCH", path, &b, NULL, "{\"name\":\"Mine now\"}", &r);
	cr_assert_eq(r.status, 403);
	it_resp_free(&r);
	itfx_req("PUT", path, &b, NULL, "{\"name\":\"Mine now\",\"bpm\":100}", &r);
	cr_assert_eq(r.status, 403);
	it_resp_free(&r);
	itfx_req("DELETE", path, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 403);
	it_resp_free(&r);
	p[0] = id;
	cr_assert_eq(it_db_count("SELECT count(*) FROM songs WHERE id = "
	    "$1::uuid AND name = 'Song' AND version = 1", 1, p), 1);
}

Test(songs, malformed_ids_in_paths_are_404)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	const char	*const paths[] = { "/api/songs/12",
	    "/api/songs/6f1c2a44-0b55-4c8e-9a55-2f1e3d4c5b6",
	    "/api/songs/%27%20OR%201=1" };
	size_t		 i;

	itfx_signup(&a);
	for (i = 0; i < 3; i++) {
		itfx_req("GET", paths[i], &a, NULL, NULL, &r);
		cr_assert_eq(r.status, 404, "%s", paths[i]);
		cr_assert_str_eq(it_str(r.json, "error"), "Song not found");
		it_resp_free(&r);
		itfx_req("PATCH", paths[i], &a, NULL, "{\"bpm\":100}", &r);
		cr_assert_eq(r.status, 404);
		it_resp_free(&r);
		itfx_req("PUT", paths[i], &a, NULL, "{\"name\":\"S\",\"bpm\":100}", &r);
		cr_assert_eq(r.status, 404);
		it_resp_free(&r);
		itfx_req("DELETE", paths[i], &a, NULL, NULL, &r);
		cr_assert_eq(r.status, 404);
		it_resp_free(&r);
	}
	itfx_req("PUT", "/api/songs/12/like", &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	it_resp_free(&r);
	itfx_req("DELETE", "/api/songs/12/like", &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	it_resp_free(&r);
	itfx_req("POST", "/api/songs/12/plays", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	it_resp_free(&r);
	cr_assert_eq(itfx_songs_of(&a), 0);
}

Test(songs, writes_need_a_token_and_a_token_of_a_deleted_user_is_401)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	const char	*p[1];

	itfx_req("POST", "/api/songs", NULL, NULL, "{\"name\":\"S\",\"bpm\":100}", &r);
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(it_str(r.json, "error"), "No token provided");
	it_resp_free(&r);
	itfx_signup(&a);
	p[0] = a.id;
	it_db_count("WITH d AS (DELETE FROM users WHERE id = $1::uuid "
	    "RETURNING 1) SELECT count(*) FROM d", 1, p);
	itfx_req("POST", "/api/songs", &a, NULL, "{\"name\":\"S\",\"bpm\":100}", &r);
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(it_str(r.json, "error"), "Invalid or expired token");
	it_resp_free(&r);
	itfx_req("GET", "/api/songs", &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 401);
	it_resp_free(&r);
	cr_assert_eq(itfx_songs_of(&a), 0);
}

Test(songs, expand_loops_answers_the_song_and_every_loop_it_uses_that_the_caller_may_see)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 mine[40], pub[40], body[1024], id[40], path[128];

	itfx_signup(&a);
	itfx_signup(&b);
	loop_of(&a, 0, mine, sizeof(mine));
	loop_of(&a, 1, pub, sizeof(pub));
	snprintf(body, sizeof(body), "{\"name\":\"S\",\"bpm\":100,"
	    "\"isPublic\":true,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"%s\",\"startBar\":0,\"bars\":4},"
	    "{\"id\":\"b\",\"loopId\":\"%s\",\"startBar\":4,\"bars\":4},"
	    "{\"id\":\"c\",\"loopId\":\"%s\",\"startBar\":8,\"bars\":4}]}",
	    pub, mine, pub);
	create(&a, body, id, sizeof(id));
	path_of(path, sizeof(path), id, "?expand=loops");
	itfx_req("GET", path, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v1\"");
	cr_assert_str_eq(it_str(r.json, "song.id"), id);
	cr_assert_eq(json_object_array_length(it_get(r.json, "loops")), 2);
	cr_assert_str_eq(it_str(r.json, "loops.0.id"), pub);
	cr_assert_str_eq(it_str(r.json, "loops.1.id"), mine);
	cr_assert_str_eq(it_str(r.json, "loops.0.name"), "a loop");
	it_resp_free(&r);
	/* Another user sees the public loop only; the private block is
	 * missing for them. */
	itfx_req("GET", path, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_object_array_length(it_get(r.json, "loops")), 1);
	cr_assert_str_eq(it_str(r.json, "loops.0.id"), pub);
	cr_assert(json_object_get_boolean(it_get(r.json,
	    "song.timeline.1.missing")));
	cr_assert_null(it_get(r.json, "song.timeline.0.missing"));
	it_resp_free(&r);
	path_of(path, sizeof(path), id, "?expand=everything");
	itfx_req("GET", path, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(it_str(r.json, "detail"), "expand") != NULL);
	it_resp_free(&r);
}

Test(songs, a_loop_deleted_after_the_song_was_saved_shows_as_a_missing_block)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 keep[40], gone[40], other[40], body[1024], id[40];
	char		 path[128];
	const char	*p[1];

	itfx_signup(&a);
	loop_of(&a, 0, keep, sizeof(keep));
	loop_of(&a, 0, gone, sizeof(gone));
	snprintf(body, sizeof(body), "{\"name\":\"S\",\"bpm\":100,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"%s\",\"startBar\":0,\"bars\":4},"
	    "{\"id\":\"b\",\"loopId\":\"%s\",\"startBar\":4,\"bars\":4}]}",
	    keep, gone);
	create(&a, body, id, sizeof(id));
	p[0] = gone;
	it_db_count("WITH d AS (DELETE FROM loops WHERE id = $1::uuid "
	    "RETURNING 1) SELECT count(*) FROM d", 1, p);
	path_of(path, sizeof(path), id, "");
	itfx_req("GET", path, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(json_object_get_boolean(it_get(r.json,
	    "song.timeline.1.missing")));
	cr_assert_str_eq(it_str(r.json, "song.timeline.1.loopId"), gone);
	cr_assert_null(it_get(r.json, "song.timeline.0.missing"));
	it_resp_free(&r);
	path_of(path, sizeof(path), id, "?expand=loops");
	itfx_req("GET", path, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(json_object_array_length(it_get(r.json, "loops")), 1);
	cr_assert_str_eq(it_str(r.json, "loops.0.id"), keep);
	it_resp_free(&r);
	/* The song can still be edited; a timeline naming the gone loop
	 * again is refused. */
	path_of(path, sizeof(path), id, "");
	itfx_req("PATCH", path, &a, NULL, "{\"name\":\"Renamed\"}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_object_get_boolean(it_get(r.json,
	    "song.timeline.1.missing")));
	it_resp_free(&r);
	/* Saving the same arrangement again (an offline client's PUT)
	 * works: references the song already had are not judged again. */
	snprintf(body, sizeof(body), "{\"name\":\"S\",\"bpm\":100,"
	    "\"timeline\":[{\"id\":\"a\",\"loopId\":\"%s\",\"startBar\":0,"
	    "\"bars\":4},{\"id\":\"b\",\"loopId\":\"%s\",\"startBar\":4,"
	    "\"bars\":4,\"missing\":true}]}", keep, gone);
	itfx_req("PUT", path, &a, NULL, body, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_object_get_boolean(it_get(r.json,
	    "song.timeline.1.missing")));
	it_resp_free(&r);
	/* A deleted loop the song did not use is refused. */
	loop_of(&a, 0, other, sizeof(other));
	p[0] = other;
	it_db_count("WITH d AS (DELETE FROM loops WHERE id = $1::uuid "
	    "RETURNING 1) SELECT count(*) FROM d", 1, p);
	body_with(body, sizeof(body), other, 0);
	itfx_req("PUT", path, &a, NULL, body, &r);
	cr_assert_eq(r.status, 400);
	cr_assert(itfx_names_field(&r, "timeline[0].loopId"));
	it_resp_free(&r);
	p[0] = id;
	cr_assert_eq(it_db_count("SELECT count(*) FROM songs WHERE id = "
	    "$1::uuid AND timeline @> '[{\"id\":\"b\"}]'", 1, p), 1);
}

Test(songs, a_loop_made_private_later_is_missing_for_others_but_not_for_its_owner)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 loop[40], body[512], id[40], path[96];
	const char	*p[1];

	itfx_signup(&a);
	itfx_signup(&b);
	loop_of(&b, 1, loop, sizeof(loop));
	body_with(body, sizeof(body), loop, 1);
	create(&a, body, id, sizeof(id));
	p[0] = loop;
	it_db_count("WITH u AS (UPDATE loops SET is_public = false WHERE "
	    "id = $1::uuid RETURNING 1) SELECT count(*) FROM u", 1, p);
	path_of(path, sizeof(path), id, "");
	itfx_req("GET", path, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(json_object_get_boolean(it_get(r.json,
	    "song.timeline.0.missing")));
	it_resp_free(&r);
	itfx_req("GET", path, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_null(it_get(r.json, "song.timeline.0.missing"));
	it_resp_free(&r);
	/* Anonymous callers have a statement of their own: the same view. */
	itfx_req("GET", path, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(json_object_get_boolean(it_get(r.json,
	    "song.timeline.0.missing")));
	cr_assert_not(json_object_get_boolean(it_get(r.json,
	    "song.likedByMe")));
	it_resp_free(&r);
}

Test(songs, put_replaces_the_whole_song_and_restores_defaults)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 loop[40], body[512], id[40], path[96];

	itfx_signup(&a);
	loop_of(&a, 0, loop, sizeof(loop));
	snprintf(body, sizeof(body), "{\"name\":\"S\",\"bpm\":100,"
	    "\"timeSignature\":\"3/4\",\"schemaVersion\":2,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"%s\",\"startBar\":0,\"bars\":4}]}",
	    loop);
	create(&a, body, id, sizeof(id));
	path_of(path, sizeof(path), id, "");
	/* The old client sends id and updatedAt too: ignored. */
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"updatedAt\":"
	    "\"2020-01-01T00:00:00Z\",\"name\":\"Replaced\",\"bpm\":90}", id);
	itfx_req("PUT", path, &a, NULL, body, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v2\"");
	cr_assert_str_eq(it_str(r.json, "song.name"), "Replaced");
	cr_assert_str_eq(it_str(r.json, "song.timeSignature"), "4/4");
	cr_assert_eq(it_int(r.json, "song.schemaVersion"), 1);
	cr_assert_eq(json_object_array_length(it_get(r.json,
	    "song.timeline")), 0);
	cr_assert_eq(it_int(r.json, "song.totalBars"), 0);
	cr_assert_eq(it_int(r.json, "song.version"), 2);
	it_resp_free(&r);
}

Test(songs, put_to_a_song_that_does_not_exist_is_404_and_creates_nothing)
{
	struct itfx_user	 a;
	struct it_resp	 r;

	itfx_signup(&a);
	itfx_req("PUT", "/api/songs/" NO_SUCH_LOOP, &a, NULL,
	    "{\"name\":\"S\",\"bpm\":100}", &r);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(it_str(r.json, "error"), "Song not found");
	it_resp_free(&r);
	cr_assert_eq(itfx_songs_of(&a), 0);
}

Test(songs, put_with_if_none_match_star_creates_at_the_client_id_and_is_412_when_it_exists)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 id[40], path[96], loc[384], *fresh;
	const char	*p[1];

	itfx_signup(&a);
	itfx_signup(&b);
	fresh = it_db_text("SELECT gen_random_uuid()", 0, NULL);
	snprintf(id, sizeof(id), "%s", fresh);
	free(fresh);
	path_of(path, sizeof(path), id, "");
	itfx_req("PUT", path, &a, (const char *[]){ "If-None-Match: *", NULL },
	    "{\"name\":\"Offline\",\"bpm\":100}", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "song.id"), id);
	snprintf(loc, sizeof(loc), "%s%s", it_mount(), path);
	cr_assert_str_eq(it_header(&r, "location"), loc);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v1\"");
	it_resp_free(&r);
	itfx_req("PUT", path, &a, (const char *[]){ "If-None-Match: *", NULL },
	    "{\"name\":\"Again\",\"bpm\":100}", &r);
	cr_assert_eq(r.status, 412);
	it_resp_free(&r);
	itfx_req("PUT", path, &b, (const char *[]){ "If-None-Match: *", NULL },
	    "{\"name\":\"Theirs\",\"bpm\":100}", &r);
	cr_assert_eq(r.status, 412);
	it_resp_free(&r);
	p[0] = id;
	cr_assert_eq(it_db_count("SELECT count(*) FROM songs WHERE id = "
	    "$1::uuid AND name = 'Offline' AND version = 1", 1, p), 1);
	/* The refused creates moved no counter. */
	p[0] = a.id;
	cr_assert_eq(it_db_count("SELECT songs_count FROM users WHERE "
	    "id = $1::uuid", 1, p), 1);
	p[0] = b.id;
	cr_assert_eq(it_db_count("SELECT songs_count FROM users WHERE "
	    "id = $1::uuid", 1, p), 0);
}

Test(songs, patch_merges_the_members_given_and_bumps_the_version)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 loop[40], id[40], path[96];

	itfx_signup(&a);
	song_of(&a, 0, 0, loop, sizeof(loop), id, sizeof(id));
	path_of(path, sizeof(path), id, "");
	itfx_req("PATCH", path, &a, (const char *[]){ "Content-Type: application/merge-patch+json", NULL },
	    "{\"bpm\":140,\"isPublic\":true}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(it_int(r.json, "song.bpm"), 140);
	cr_assert(json_object_get_boolean(it_get(r.json, "song.isPublic")));
	cr_assert_str_eq(it_str(r.json, "song.name"), "Song");
	cr_assert_eq(it_int(r.json, "song.totalBars"), 4);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v2\"");
	it_resp_free(&r);
	/* null removes: a default comes back; name has none. */
	itfx_req("PATCH", path, &a, NULL, "{\"isPublic\":null}", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not(json_object_get_boolean(it_get(r.json,
	    "song.isPublic")));
	it_resp_free(&r);
	itfx_req("PATCH", path, &a, NULL, "{\"name\":null}", &r);
	cr_assert_eq(r.status, 400);
	cr_assert(itfx_names_field(&r, "name"));
	it_resp_free(&r);
	itfx_req("PATCH", path, &a, NULL, "{\"timeSignature\":\"6/8\"}", &r);
	cr_assert_eq(r.status, 400);
	cr_assert(itfx_names_field(&r, "timeSignature"));
	it_resp_free(&r);
	itfx_req("GET", path, &a, NULL, NULL, &r);
	cr_assert_eq(it_int(r.json, "song.version"), 3);
	cr_assert_str_eq(it_str(r.json, "song.timeSignature"), "4/4");
	it_resp_free(&r);
}

Test(songs, a_stale_if_match_is_412_with_the_current_song_and_changes_nothing)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 loop[40], id[40], path[96];
	const char	*p[1];

	itfx_signup(&a);
	song_of(&a, 0, 0, loop, sizeof(loop), id, sizeof(id));
	path_of(path, sizeof(path), id, "");
	itfx_req("PATCH", path, &a, (const char *[]){ "If-Match: \"v1\"", NULL }, "{\"name\":\"Two\"}", &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	itfx_req("PATCH", path, &a, (const char *[]){ "If-Match: \"v1\"", NULL }, "{\"name\":\"Three\"}",
	    &r);
	cr_assert_eq(r.status, 412);
	cr_assert_str_eq(it_str(r.json, "song.name"), "Two");
	cr_assert_eq(it_int(r.json, "song.version"), 2);
	cr_assert_str_eq(it_header(&r, "etag"), "\"v2\"");
	it_resp_free(&r);
	itfx_req("PUT", path, &a, (const char *[]){ "If-Match: W/\"v2\"", NULL },
	    "{\"name\":\"Four\",\"bpm\":100}", &r);
	cr_assert_eq(r.status, 412, "a weak tag never matches If-Match");
	it_resp_free(&r);
	itfx_req("DELETE", path, &a, (const char *[]){ "If-Match: \"v1\"", NULL }, NULL, &r);
	cr_assert_eq(r.status, 412);
	cr_assert_str_eq(it_str(r.json, "song.name"), "Two");
	it_resp_free(&r);
	p[0] = id;
	cr_assert_eq(it_db_count("SELECT count(*) FROM songs WHERE id = "
	    "$1::uuid AND name = 'Two' AND version = 2", 1, p), 1);
	itfx_req("DELETE", path, &a, (const char *[]){ "If-Match: \"v7\", \"v2\"", NULL }, NULL, &r);
	cr_assert_eq(r.status, 204);
	it_resp_free(&r);
}

Test(songs, a_stale_body_version_is_409_with_the_current_song)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 loop[40], id[40], path[96];

	itfx_signup(&a);
	song_of(&a, 0, 0, loop, sizeof(loop), id, sizeof(id));
	path_of(path, sizeof(path), id, "");
	itfx_req("PATCH", path, &a, NULL, "{\"name\":\"Two\",\"version\":1}", &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	itfx_req("PUT", path, &a, NULL, "{\"name\":\"Three\",\"bpm\":100,\"version\":1}",
	    &r);
	cr_assert_eq(r.status, 409);
	cr_assert_str_eq(it_str(r.json, "song.name"), "Two");
	it_resp_free(&r);
	itfx_req("PATCH", path, &a, NULL, "{\"version\":\"2\"}", &r);
	cr_assert_eq(r.status, 400);
	cr_assert(itfx_names_field(&r, "version"));
	it_resp_free(&r);
}

Test(songs, likes_and_plays_by_others_never_fail_the_owners_conditional_edit)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 loop[40], id[40], path[96];

	itfx_signup(&a);
	itfx_signup(&b);
	song_of(&a, 1, 1, loop, sizeof(loop), id, sizeof(id));
	path_of(path, sizeof(path), id, "/like");
	itfx_req("PUT", path, &b, NULL, NULL, &r);
	it_resp_free(&r);
	path_of(path, sizeof(path), id, "/plays");
	itfx_req("POST", path, &b, NULL, NULL, &r);
	it_resp_free(&r);
	path_of(path, sizeof(path), id, "");
	itfx_req("PATCH", path, &a, (const char *[]){ "If-Match: \"v1\"", NULL }, "{\"bpm\":99}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
}

Test(songs, delete_is_204_then_404_and_leaves_a_tombstone)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 loop[40], id[40], path[96];
	const char	*p[1];

	itfx_signup(&a);
	song_of(&a, 0, 1, loop, sizeof(loop), id, sizeof(id));
	path_of(path, sizeof(path), id, "");
	itfx_req("DELETE", path, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 204);
	cr_assert_eq(r.body_len, 0);
	it_resp_free(&r);
	itfx_req("DELETE", path, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	it_resp_free(&r);
	p[0] = id;
	cr_assert_eq(it_db_count("SELECT count(*) FROM tombstones WHERE "
	    "kind = 'song' AND item_id = $1::uuid", 1, p), 1);
	p[0] = a.id;
	cr_assert_eq(it_db_count("SELECT songs_count + public_songs_count "
	    "FROM users WHERE id = $1::uuid", 1, p), 0);
}

Test(songs, like_and_unlike_are_idempotent_and_counted)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 loop[40], id[40], path[96];
	int		 i;

	itfx_signup(&a);
	itfx_signup(&b);
	song_of(&a, 0, 1, loop, sizeof(loop), id, sizeof(id));
	path_of(path, sizeof(path), id, "/like");
	for (i = 0; i < 2; i++) {
		itfx_req("PUT", path, &b, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert_eq(it_int(r.json, "likesCount"), 1);
		cr_assert(json_object_get_boolean(it_get(r.json,
		    "likedByMe")));
		it_resp_free(&r);
	}
	path_of(path, sizeof(path), id, "");
	itfx_req("GET", path, &b, NULL, NULL, &r);
	cr_assert(json_object_get_boolean(it_get(r.json, "song.likedByMe")));
	cr_assert_eq(it_int(r.json, "song.likesCount"), 1);
	cr_assert_eq(it_int(r.json, "song.version"), 1);
	it_resp_free(&r);
	itfx_req("GET", path, &a, NULL, NULL, &r);
	cr_assert_not(json_object_get_boolean(it_get(r.json,
	    "song.likedByMe")));
	it_resp_free(&r);
	path_of(path, sizeof(path), id, "/like");
	for (i = 0; i < 2; i++) {
		itfx_req("DELETE", path, &b, NULL, NULL, &r);
		cr_assert_eq(r.status, 200);
		cr_assert_eq(it_int(r.json, "likesCount"), 0);
		cr_assert_not(json_object_get_boolean(it_get(r.json,
		    "likedByMe")));
		it_resp_free(&r);
	}
	itfx_req("PUT", path, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 401);
	it_resp_free(&r);
}

#define RACERS	12

Test(songs, concurrent_likes_and_unlikes_leave_likescount_exact)
{
	struct itfx_user	 owner, fans[RACERS];
	struct it_resp	 r;
	char		 loop[40], id[40], path[96];
	const char	*p[1];
	pid_t		 pids[RACERS];
	int		 i, st;

	itfx_signup(&owner);
	for (i = 0; i < RACERS; i++)
		itfx_signup(&fans[i]);
	song_of(&owner, 1, 1, loop, sizeof(loop), id, sizeof(id));
	path_of(path, sizeof(path), id, "/like");
	for (i = 0; i < RACERS; i++) {
		if ((pids[i] = fork()) == 0) {
			int ok = 1, k;
			/* Every fan likes three times; odd fans then
			 * unlike twice. */
			for (k = 0; k < 3; k++) {
				ok &= it_request("PUT", path, (const char *[])
				    { fans[i].auth, NULL }, NULL, &r) == 0 &&
				    r.status == 200;
				it_resp_free(&r);
			}
			for (k = 0; k < 2 && i % 2 == 1; k++) {
				ok &= it_request("DELETE", path,
				    (const char *[]){ fans[i].auth, NULL },
				    NULL, &r) == 0 && r.status == 200;
				it_resp_free(&r);
			}
			_exit(ok ? 0 : 1);
		}
		cr_assert_gt(pids[i], 0);
	}
	for (i = 0; i < RACERS; i++) {
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	p[0] = id;
	cr_assert_eq(it_db_count("SELECT likes_count FROM song_counts WHERE "
	    "song_id = $1::uuid", 1, p), RACERS / 2);
	cr_assert_eq(it_db_count("SELECT count(*) FROM song_likes WHERE "
	    "song_id = $1::uuid", 1, p), RACERS / 2);
}

Test(songs, concurrent_creates_and_deletes_leave_songscount_exact)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	const char	*p[1];
	pid_t		 pids[RACERS];
	int		 i, st;

	itfx_signup(&a);
	for (i = 0; i < RACERS; i++) {
		if ((pids[i] = fork()) == 0) {
			const char *h[] = { a.auth, NULL };
			char path[96];
			int ok;

			ok = it_request("POST", "/api/songs", h, i % 3 == 0 ?
			    "{\"name\":\"P\",\"bpm\":100,\"isPublic\":true}" :
			    "{\"name\":\"Q\",\"bpm\":100}", &r) == 0 &&
			    r.status == 201;
			if (ok && i % 2 == 0) {
				snprintf(path, sizeof(path), "/api/songs/%s",
				    it_str(r.json, "song.id"));
				it_resp_free(&r);
				ok = it_request("DELETE", path, h, NULL,
				    &r) == 0 && r.status == 204;
			}
			it_resp_free(&r);
			_exit(ok ? 0 : 1);
		}
		cr_assert_gt(pids[i], 0);
	}
	for (i = 0; i < RACERS; i++) {
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	p[0] = a.id;
	cr_assert_eq(it_db_count("SELECT songs_count FROM users WHERE "
	    "id = $1::uuid", 1, p), RACERS / 2);
	cr_assert_eq(itfx_songs_of(&a), RACERS / 2);
	cr_assert_eq(it_db_count("SELECT public_songs_count FROM users "
	    "WHERE id = $1::uuid", 1, p), it_db_count("SELECT count(*) FROM "
	    "songs WHERE user_id = $1::uuid AND is_public", 1, p));
}

Test(songs, plays_count_once_per_listener_per_minute)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	char		 loop[40], id[40], path[96];
	long long	 first;

	itfx_signup(&a);
	itfx_signup(&b);
	song_of(&a, 1, 1, loop, sizeof(loop), id, sizeof(id));
	path_of(path, sizeof(path), id, "/plays");
	itfx_req("POST", path, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 202, "%s", r.body);
	first = it_int(r.json, "playsCount");
	cr_assert_eq(first, 1);
	it_resp_free(&r);
	itfx_req("POST", path, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 202);
	/* Unless the minute turned between the two, still 1. */
	cr_assert_leq(it_int(r.json, "playsCount"), 2);
	it_resp_free(&r);
	itfx_req("POST", path, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 202);
	cr_assert_geq(it_int(r.json, "playsCount"), 2);
	it_resp_free(&r);
}

/* The ids of a list answer, in order, joined by ','. */
static void
ids_of(const struct it_resp *r, struct buf *out)
{
	json_object	*a = it_get(r->json, "songs");
	size_t		 i;

	cr_assert_not_null(a, "%s", r->body);
	for (i = 0; i < json_object_array_length(a); i++)
		buf_printf(out, "%s,", it_str(json_object_array_get_idx(a, i),
		    "id"));
}

Test(songs, lists_follow_the_visibility_rules)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	struct buf	 ids = BUF_INIT;
	char		 pub[40], priv[40], path[160];

	itfx_signup(&a);
	itfx_signup(&b);
	create(&a, "{\"name\":\"pub\",\"bpm\":100,\"isPublic\":true}", pub,
	    sizeof(pub));
	create(&a, "{\"name\":\"priv\",\"bpm\":100}", priv, sizeof(priv));
	/* The owner's default list: both. */
	itfx_req("GET", "/api/songs", &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	ids_of(&r, &ids);
	cr_assert(strstr(ids.data, pub) && strstr(ids.data, priv));
	it_resp_free(&r);
	buf_reset(&ids);
	/* Another user filtering by the owner: the public one only. */
	snprintf(path, sizeof(path), "/api/songs?user=%s", a.username);
	itfx_req("GET", path, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	ids_of(&r, &ids);
	cr_assert_str_eq(ids.data, (snprintf(path, sizeof(path), "%s,", pub),
	    path));
	it_resp_free(&r);
	buf_reset(&ids);
	/* The owner filtering by themself: both. */
	snprintf(path, sizeof(path), "/api/songs?user=%s&limit=100", a.username);
	itfx_req("GET", path, &a, NULL, NULL, &r);
	ids_of(&r, &ids);
	cr_assert(strstr(ids.data, pub) && strstr(ids.data, priv));
	it_resp_free(&r);
	buf_reset(&ids);
	/* B's own list is empty; anonymous and public=true see the public
	 * one, never the private one. */
	itfx_req("GET", "/api/songs", &b, NULL, NULL, &r);
	cr_assert_eq(json_object_array_length(it_get(r.json, "songs")), 0);
	cr_assert_null(it_get(r.json, "nextCursor"));
	it_resp_free(&r);
	itfx_req("GET", "/api/songs?public=true&limit=100", &b, NULL, NULL, &r);
	ids_of(&r, &ids);
	cr_assert(strstr(ids.data, pub) != NULL);
	cr_assert(strstr(ids.data, priv) == NULL);
	it_resp_free(&r);
	buf_reset(&ids);
	itfx_req("GET", "/api/songs?limit=100", NULL, NULL, NULL, &r);
	ids_of(&r, &ids);
	cr_assert(strstr(ids.data, priv) == NULL);
	it_resp_free(&r);
	buf_release(&ids);
}

Test(songs, keyset_paging_walks_every_song_once_in_each_sort_with_link_headers)
{
	static const char *const sorts[] = { "new", "top", "popular",
	    "updated" };
	struct itfx_user	 a, b;
	struct it_resp	 r;
	struct buf	 seen = BUF_INIT;
	char		 ids[7][40], path[512], *next;
	const char	*link;
	size_t		 i, s, pages, n;

	itfx_signup(&a);
	itfx_signup(&b);
	for (i = 0; i < 7; i++)
		create(&a, "{\"name\":\"p\",\"bpm\":100}", ids[i],
		    sizeof(ids[i]));
	/* Likes and plays to sort by. */
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/api/songs/%s/plays", ids[i]);
		itfx_req("POST", path, &a, NULL, NULL, &r);
		it_resp_free(&r);
	}
	for (s = 0; s < 4; s++) {
		buf_reset(&seen);
		snprintf(path, sizeof(path), "/api/songs?sort=%s&limit=3",
		    sorts[s]);
		for (pages = n = 0; pages < 10; pages++) {
			itfx_req("GET", path, &a, NULL, NULL, &r);
			cr_assert_eq(r.status, 200, "%s", r.body);
			ids_of(&r, &seen);
			n += json_object_array_length(it_get(r.json, "songs"));
			if (it_str(r.json, "nextCursor") == NULL) {
				cr_assert_null(it_header(&r, "link"));
				it_resp_free(&r);
				break;
			}
			link = it_header(&r, "link");
			cr_assert_not_null(link);
			cr_assert(strstr(link, "rel=\"next\"") != NULL);
			next = strchr(link, '<');
			cr_assert_not_null(next);
			snprintf(path, sizeof(path), "%.*s",
			    (int)(strchr(next, '>') - next - 1), next + 1);
			memmove(path, it_unmount(path),
			    strlen(it_unmount(path)) + 1);
			cr_assert(strstr(path, it_str(r.json,
			    "nextCursor")) != NULL);
			it_resp_free(&r);
		}
		cr_assert_eq(n, 7, "sort %s: %zu songs in %zu pages",
		    sorts[s], n, pages + 1);
		cr_assert_eq(pages, 2);
		for (i = 0; i < 7; i++)
			cr_assert(strstr(seen.data, ids[i]) != NULL);
	}
	/* Newest first. */
	itfx_req("GET", "/api/songs?limit=1", &a, NULL, NULL, &r);
	cr_assert_str_eq(it_str(r.json, "songs.0.id"), ids[6]);
	it_resp_free(&r);
	/* The most played first. */
	itfx_req("GET", "/api/songs?sort=popular&limit=7", &a, NULL, NULL, &r);
	cr_assert_eq(it_int(r.json, "songs.0.playsCount"), 1);
	cr_assert_eq(it_int(r.json, "songs.3.playsCount"), 0);
	it_resp_free(&r);
	/* offset, for old clients. */
	itfx_req("GET", "/api/songs?limit=2&offset=6", &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(json_object_array_length(it_get(r.json, "songs")), 1);
	cr_assert_str_eq(it_str(r.json, "songs.0.id"), ids[0]);
	it_resp_free(&r);
	itfx_req("GET", "/api/songs?offset=600", &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(json_object_array_length(it_get(r.json, "songs")), 0);
	it_resp_free(&r);
	buf_release(&seen);
}

Test(songs, bad_list_parameters_are_400_naming_the_parameter)
{
	struct itfx_user	 a, b;
	struct it_resp	 r, first;
	char		 path[512];
	static const struct {
		const char	*query;
		const char	*param;
	} bad[] = {
		{ "sort=best", "sort" },
		{ "limit=0", "limit" },
		{ "limit=101", "limit" },
		{ "limit=ten", "limit" },
		{ "offset=-1", "offset" },
		{ "public=maybe", "public" },
		{ "cursor=garbage", "cursor" },
	};
	size_t		 i;

	itfx_signup(&a);
	itfx_signup(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/api/songs?%s", bad[i].query);
		itfx_req("GET", path, &a, NULL, NULL, &r);
		cr_assert_eq(r.status, 400, "%s: %d", bad[i].query, r.status);
		cr_assert(strncmp(it_str(r.json, "detail"), bad[i].param,
		    strlen(bad[i].param)) == 0, "%s", r.body);
		it_resp_free(&r);
	}
	/* A cursor of one list is refused by another. */
	create(&a, "{\"name\":\"1\",\"bpm\":100}", NULL, 0);
	create(&a, "{\"name\":\"2\",\"bpm\":100}", NULL, 0);
	itfx_req("GET", "/api/songs?limit=1", &a, NULL, NULL, &first);
	cr_assert_not_null(it_str(first.json, "nextCursor"));
	snprintf(path, sizeof(path), "/api/songs?limit=1&cursor=%s",
	    it_str(first.json, "nextCursor"));
	itfx_req("GET", path, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 400, "another user's list");
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/songs?limit=1&sort=top&cursor=%s",
	    it_str(first.json, "nextCursor"));
	itfx_req("GET", path, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 400, "another sort");
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/songs?limit=1&cursor=%s",
	    it_str(first.json, "nextCursor"));
	itfx_req("GET", path, &a, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "the same list");
	it_resp_free(&r);
	it_resp_free(&first);
}

Test(songs, a_post_retried_with_its_idempotency_key_creates_one_song)
{
	struct itfx_user	 a;
	struct it_resp	 r1, r2;
	char		 key[64], hdr[96];
	const char	*h[3];

	itfx_signup(&a);
	it_unique(key, sizeof(key), "song-key-");
	snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", key);
	h[0] = a.auth;
	h[1] = hdr;
	h[2] = NULL;
	cr_assert_eq(it_request("POST", "/api/songs", h,
	    "{\"name\":\"Once\",\"bpm\":100}", &r1), 0);
	cr_assert_eq(r1.status, 201, "%s", r1.body);
	cr_assert_eq(it_request("POST", "/api/songs", h,
	    "{\"name\":\"Once\",\"bpm\":100}", &r2), 0);
	cr_assert_eq(r2.status, 201, "%s", r2.body);
	cr_assert_str_eq(it_header(&r2, "idempotent-replayed"), "true");
	cr_assert_str_eq(it_str(r2.json, "song.id"), it_str(r1.json,
	    "song.id"));
	it_resp_free(&r1);
	it_resp_free(&r2);
	cr_assert_eq(itfx_songs_of(&a), 1);
}

Test(songs, a_put_without_ispublic_keeps_the_stored_visibility)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 id[40], path[96];

	itfx_signup(&a);
	create(&a, "{\"name\":\"S\",\"bpm\":100,\"isPublic\":true}", id,
	    sizeof(id));
	path_of(path, sizeof(path), id, "");
	itfx_req("PUT", path, &a, NULL, "{\"name\":\"T\",\"bpm\":101}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_object_get_boolean(it_get(r.json, "song.isPublic")));
	cr_assert_str_eq(it_str(r.json, "song.name"), "T");
	it_resp_free(&r);
}
