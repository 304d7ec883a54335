/*
 * Integration: one tour of every route, run by deploy/dev test through
 * each front end (MP_TEST_FRONTEND): nginx -> FastCGI pool, Apache
 * mod_proxy_fcgi -> pool (at /pool), Apache mod_fcgid (at /app) and
 * Apache mod_cgid -> plain CGI behind a shared host's .htaccess (at
 * /shared).  Every route is called at least once, with auth, bodies,
 * conditional requests and idempotency; the Location and Link headers
 * must carry the front end's mount point (MP_TEST_URL's path), and the
 * request's JSON log line must reach the log the front end keeps
 * (MP_TEST_SERVER_LOG).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itfixture.h"
#include "t/itlib.h"

static const char *
frontend(void)
{
	const char	*f = getenv("MP_TEST_FRONTEND");

	return f != NULL ? f : "nginx";
}

/* The mount point followed by path, for comparing with Location. */
static const char *
mounted(const char *path)
{
	static char	 out[512];

	snprintf(out, sizeof(out), "%s%s", it_mount(), path);
	return out;
}

static const char *
loop_body(const char *name, int is_public)
{
	static char	 b[1024];

	snprintf(b, sizeof(b), "{\"name\":\"%s\",\"bars\":4,\"bpm\":96,"
	    "\"isPublic\":%s,\"chordProgression\":[{\"bar\":0,\"chord\":"
	    "\"Am7\"}],\"iconSequence\":[{\"bar\":0,\"row\":0,\"soundId\":"
	    "\"kick\",\"pitch\":36,\"velocity\":0.9}]}", name,
	    is_public ? "true" : "false");
	return b;
}

/* Create a loop as w; its id into id. */
static void
make_loop(const struct itfx_user *w, const char *name, char *id, size_t sz)
{
	struct it_resp	 r;

	itfx_req("POST", "/api/loops", w, NULL, loop_body(name, 1), &r);
	cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
	snprintf(id, sz, "%s", it_str(r.json, "loop.id"));
	it_resp_free(&r);
}

/* POST body to /api/auth/login (200): w with the new token into out. */
static void
log_in(const struct itfx_user *w, const char *body, struct itfx_user *out)
{
	struct it_resp	 r;

	itfx_req("POST", "/api/auth/login", NULL, NULL, body, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_not_null(it_str(r.json, "token"), "%s", r.body);
	*out = *w;
	itfx_use_token(out, it_str(r.json, "token"));
	it_resp_free(&r);
}

Test(front, the_operations_routes_answer_and_metrics_are_for_localhost_only)
{
	struct it_resp r;

	itfx_req("GET", "/health", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "status"), "ok");
	cr_assert_not_null(it_header(&r, "x-request-id"));
	it_resp_free(&r);
	itfx_req("GET", "/api/health", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	itfx_req("HEAD", "/health", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 0);
	it_resp_free(&r);
	itfx_req("GET", "/ready", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "status"), "ready");
	cr_assert_geq(it_int(r.json, "schemaVersion"),
	    it_int(r.json, "expectedSchemaVersion"));
	it_resp_free(&r);
	itfx_req("GET", "/metrics", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, "mpapi_schema_version "));
	it_resp_free(&r);
	it_source("127.0.0.2");
	itfx_req("GET", "/metrics", NULL, NULL, NULL, &r);
	it_source(NULL);
	cr_assert_eq(r.status, 403, "/metrics from another address: %d",
	    r.status);
	cr_assert_null(strstr(r.body != NULL ? r.body : "", "mpapi_"));
	cr_assert_str_eq(it_header(&r, "content-type"),
	    "application/problem+json");
	cr_assert_not_null(strstr(it_str(r.json, "type"), "/forbidden"), "%s",
	    r.body);
	cr_assert_not_null(it_header(&r, "x-request-id"));
	it_resp_free(&r);
}

Test(front, accounts_sign_up_log_in_out_and_pass_the_authorization_header_through)
{
	struct it_resp r;
	struct itfx_user w, again;
	char body[256], path[128];
	const char *bad[] = { "Authorization: Bearer not.a.token", NULL };

	itfx_signup(&w);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}",
	    w.email, w.password);
	itfx_req("POST", "/api/auth/login", NULL, NULL, body, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_not_null(it_str(r.json, "token"));
	it_resp_free(&r);

	itfx_req("GET", "/api/auth/me", &w, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "the token did not reach the program "
	    "through %s: %d %s", frontend(), r.status, r.body);
	cr_assert_str_eq(it_str(r.json, "user.username"), w.username);
	it_resp_free(&r);
	itfx_req("GET", "/api/auth/me", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(it_str(r.json, "error"), "No token provided");
	cr_assert_not_null(it_header(&r, "www-authenticate"));
	it_resp_free(&r);
	itfx_req("GET", "/api/auth/me", NULL, bad, NULL, &r);
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(it_str(r.json, "error"), "Invalid or expired token");
	it_resp_free(&r);

	itfx_req("GET", "/api/users/me", &w, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	itfx_req("PATCH", "/api/users/me", &w, NULL, "{\"displayName\":\"Front\"}",
	    &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "user.displayName"), "Front");
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/users/%s", w.username);
	itfx_req("GET", path, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(it_str(r.json, "user.displayName"), "Front");
	it_resp_free(&r);

	snprintf(body, sizeof(body), "{\"currentPassword\":\"%s\","
	    "\"newPassword\":\"battery staple horse\"}", w.password);
	itfx_req("POST", "/api/auth/password", &w, NULL, body, &r);
	cr_assert(r.status == 200 || r.status == 204, "%d %s", r.status,
	    r.body);
	it_resp_free(&r);
	itfx_req("GET", "/api/auth/me", &w, NULL, NULL, &r);
	cr_assert_eq(r.status, 401, "a token from before the change still "
	    "works");
	it_resp_free(&r);

	snprintf(body, sizeof(body), "{\"email\":\"%s\","
	    "\"password\":\"battery staple horse\"}", w.username);
	log_in(&w, body, &again);
	itfx_req("POST", "/api/auth/logout", &again, NULL, NULL, &r);
	cr_assert(r.status == 204 || r.status == 200, "%d %s", r.status,
	    r.body);
	it_resp_free(&r);
	itfx_req("GET", "/api/auth/me", &again, NULL, NULL, &r);
	cr_assert_eq(r.status, 401, "a token still works after its logout");
	it_resp_free(&r);

	log_in(&w, body, &again);
	itfx_req("POST", "/api/auth/logout-all", &again, NULL, NULL, &r);
	cr_assert(r.status == 204 || r.status == 200, "%d %s", r.status,
	    r.body);
	it_resp_free(&r);
	itfx_req("GET", "/api/auth/me", &again, NULL, NULL, &r);
	cr_assert_eq(r.status, 401, "a token still works after logout-all");
	it_resp_free(&r);

	log_in(&w, body, &again);
	itfx_req("DELETE", "/api/users/me", &again, NULL, NULL, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	it_resp_free(&r);
	cr_assert_eq(it_db_count("SELECT count(*) FROM users WHERE id = "
	    "$1::uuid", 1, (const char *const[]){ w.id }), 0);
}

Test(front, signup_answers_201_with_a_location_under_the_mount_point)
{
	struct it_resp r;
	char name[32], body[256], want[128];

	it_unique(name, sizeof(name), "f");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":\"correct horse battery\"}",
	    name, name);
	itfx_req("POST", "/api/auth/signup", NULL, NULL, body, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(want, sizeof(want), "/api/users/%s", name);
	cr_assert_str_eq(it_header(&r, "location"), mounted(want));
	it_resp_free(&r);
}

Test(front, a_loop_is_created_once_read_conditionally_edited_liked_played_remixed_and_deleted)
{
	struct it_resp r, again;
	struct itfx_user w, other;
	char key[128], id[64], path[160], etag[64], hdr[128], want[160];
	const char *keyed[2] = { key, NULL };
	const char *inm[2] = { hdr, NULL };
	const char *stale[] = { "If-Match: \"999\"", NULL };
	const char *create_only[] = { "If-None-Match: *", NULL };
	const char *mp[] = { "Content-Type: application/merge-patch+json",
	    NULL };
	char fresh[40];

	itfx_signup(&w);
	itfx_signup(&other);
	it_unique(fresh, sizeof(fresh), "k");
	snprintf(key, sizeof(key), "Idempotency-Key: front-%s", fresh);
	itfx_req("POST", "/api/loops", &w, keyed, loop_body("Front loop", 1), &r);
	cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
	snprintf(id, sizeof(id), "%s", it_str(r.json, "loop.id"));
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	cr_assert_str_eq(it_header(&r, "location"), mounted(path));
	cr_assert_not_null(it_header(&r, "etag"));
	cr_assert_not_null(it_header(&r, "ratelimit-limit"));
	itfx_req("POST", "/api/loops", &w, keyed, loop_body("Front loop", 1),
	    &again);
	cr_assert_eq(again.status, 201);
	cr_assert_str_eq(it_header(&again, "idempotent-replayed"), "true");
	cr_assert_str_eq(it_header(&again, "location"), mounted(path));
	cr_assert_str_eq(it_str(again.json, "loop.id"), id);
	it_resp_free(&again);
	it_resp_free(&r);
	cr_assert_eq(it_db_count("SELECT count(*) FROM loops WHERE user_id = "
	    "$1::uuid", 1, (const char *const[]){ w.id }), 1,
	    "a replayed POST created a second loop");

	itfx_req("GET", path, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	snprintf(etag, sizeof(etag), "%s", it_header(&r, "etag"));
	it_resp_free(&r);
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
	itfx_req("GET", path, NULL, inm, NULL, &r);
	cr_assert_eq(r.status, 304, "%d", r.status);
	cr_assert_eq(r.body_len, 0);
	it_resp_free(&r);

	itfx_req("PUT", path, &w, stale, loop_body("Stale edit", 1), &r);
	cr_assert_eq(r.status, 412, "%d %s", r.status, r.body);
	cr_assert_str_eq(it_str(r.json, "loop.name"), "Front loop");
	it_resp_free(&r);
	snprintf(hdr, sizeof(hdr), "If-Match: %s", etag);
	itfx_req("PUT", path, &w, inm, loop_body("Replaced", 1), &r);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	cr_assert_eq(it_int(r.json, "loop.version"), 2);
	it_resp_free(&r);
	itfx_req("PATCH", path, &w, mp, "{\"bpm\":140}", &r);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	cr_assert_eq(it_int(r.json, "loop.bpm"), 140);
	cr_assert_str_eq(it_str(r.json, "loop.name"), "Replaced");
	it_resp_free(&r);
	itfx_req("PATCH", path, &other, NULL, "{\"bpm\":100}", &r);
	cr_assert_eq(r.status, 403, "%d %s", r.status, r.body);
	it_resp_free(&r);

	snprintf(path, sizeof(path), "/api/loops/%s/like", id);
	itfx_req("PUT", path, &other, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	cr_assert_eq(it_int(r.json, "likesCount"), 1);
	it_resp_free(&r);
	itfx_req("DELETE", path, &other, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(it_int(r.json, "likesCount"), 0);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/loops/%s/plays", id);
	itfx_req("POST", path, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 202, "%d %s", r.status, r.body);
	cr_assert_eq(it_int(r.json, "playsCount"), 1);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/loops/%s/remix", id);
	itfx_req("POST", path, &other, NULL, NULL, &r);
	cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
	cr_assert_str_eq(it_str(r.json, "loop.parentLoopId"), id);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/loops/%s/duplicate", id);
	itfx_req("POST", path, &other, NULL, "{\"name\":\"Old client copy\"}", &r);
	cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
	cr_assert_str_eq(it_str(r.json, "loop.name"), "Old client copy");
	it_resp_free(&r);

	{
		char	*uuid = it_db_text("SELECT gen_random_uuid()::text", 0,
		    NULL);

		cr_assert_not_null(uuid);
		snprintf(path, sizeof(path), "/api/loops/%s", uuid);
		free(uuid);
	}
	itfx_req("PUT", path, &w, create_only, loop_body("Offline id", 0), &r);
	cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
	cr_assert_str_eq(it_header(&r, "location"), mounted(path));
	it_resp_free(&r);
	itfx_req("PUT", path, &w, create_only, loop_body("Offline id", 0), &r);
	cr_assert_eq(r.status, 412);
	it_resp_free(&r);

	snprintf(path, sizeof(path), "/api/loops/%s", id);
	itfx_req("DELETE", path, &w, NULL, NULL, &r);
	cr_assert_eq(r.status, 204, "%d %s", r.status, r.body);
	it_resp_free(&r);
	itfx_req("GET", path, &w, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(it_str(r.json, "error"), "Loop not found");
	it_resp_free(&r);
	snprintf(want, sizeof(want), "%s", id);
	cr_assert_eq(it_db_count("SELECT count(*) FROM loops WHERE id = "
	    "$1::uuid", 1, (const char *const[]){ want }), 0);
}

/* Walk a list by its Link headers; returns the number of items seen. */
static int
walk(const char *first, const struct itfx_user *w, const char *plural,
    int *pages)
{
	struct it_resp r;
	json_object *items;
	const char *link, *end;
	char path[512], target[512], base[64];
	int total = 0;

	snprintf(path, sizeof(path), "%s", first);
	snprintf(base, sizeof(base), "<%s/api/%s?", it_mount(), plural);
	*pages = 0;
	for (;;) {
		itfx_req("GET", path, w, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "%s: %d %s", path, r.status, r.body);
		items = it_get(r.json, plural);
		cr_assert_not_null(items);
		total += (int)json_object_array_length(items);
		(*pages)++;
		if ((link = it_header(&r, "link")) == NULL) {
			it_resp_free(&r);
			return total;
		}
		cr_assert(strncmp(link, base, strlen(base)) == 0,
		    "the Link does not carry the mount point: %s", link);
		cr_assert((end = strchr(link, '>')) != NULL);
		snprintf(target, sizeof(target), "%.*s", (int)(end - link - 1),
		    link + 1);
		snprintf(path, sizeof(path), "%s", it_unmount(target));
		it_resp_free(&r);
		cr_assert_lt(*pages, 10);
	}
}

Test(front, lists_page_by_links_that_carry_the_mount_point)
{
	struct it_resp r;
	struct itfx_user w;
	char id[64], body[512];
	int i, pages;

	itfx_signup(&w);
	for (i = 0; i < 3; i++)
		make_loop(&w, "Paged", id, sizeof(id));
	cr_assert_eq(walk("/api/loops?limit=2", &w, "loops", &pages), 3);
	cr_assert_eq(pages, 2);
	itfx_req("GET", "/api/loops?public=true&limit=1&sort=top", NULL, NULL,
	    NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);

	for (i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "{\"name\":\"Paged song\","
		    "\"bpm\":100,\"timeline\":[{\"id\":\"b\",\"loopId\":\"%s\","
		    "\"startBar\":0,\"bars\":4}]}", id);
		itfx_req("POST", "/api/songs", &w, NULL, body, &r);
		cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
		it_resp_free(&r);
	}
	cr_assert_eq(walk("/api/songs?limit=2", &w, "songs", &pages), 3);
	cr_assert_eq(pages, 2);
}

Test(front, a_song_is_created_expanded_edited_liked_played_and_deleted)
{
	struct it_resp r;
	struct itfx_user w, other;
	char loop[64], id[64], path[160], body[512], hdr[128];
	const char *im[2] = { hdr, NULL };
	const char *keyed[] = { "Idempotency-Key: song-play-1", NULL };

	itfx_signup(&w);
	itfx_signup(&other);
	make_loop(&w, "For a song", loop, sizeof(loop));
	snprintf(body, sizeof(body), "{\"name\":\"Front song\",\"bpm\":110,"
	    "\"isPublic\":true,\"timeline\":[{\"id\":\"b1\",\"loopId\":\"%s\","
	    "\"startBar\":0,\"bars\":4}]}", loop);
	itfx_req("POST", "/api/songs", &w, NULL, body, &r);
	cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
	snprintf(id, sizeof(id), "%s", it_str(r.json, "song.id"));
	snprintf(path, sizeof(path), "/api/songs/%s", id);
	cr_assert_str_eq(it_header(&r, "location"), mounted(path));
	cr_assert_eq(it_int(r.json, "song.totalBars"), 4);
	snprintf(hdr, sizeof(hdr), "If-Match: %s", it_header(&r, "etag"));
	it_resp_free(&r);

	snprintf(path, sizeof(path), "/api/songs/%s?expand=loops", id);
	itfx_req("GET", path, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	cr_assert_str_eq(it_str(r.json, "loops.0.id"), loop);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/songs/%s", id);
	snprintf(body, sizeof(body), "{\"name\":\"Replaced song\",\"bpm\":120,"
	    "\"isPublic\":true,\"timeline\":[{\"id\":\"b1\",\"loopId\":\"%s\","
	    "\"startBar\":2,\"bars\":4}]}", loop);
	itfx_req("PUT", path, &w, im, body, &r);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	cr_assert_eq(it_int(r.json, "song.totalBars"), 6);
	it_resp_free(&r);
	itfx_req("PATCH", path, &w, NULL, "{\"timeSignature\":\"3/4\"}", &r);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	cr_assert_str_eq(it_str(r.json, "song.timeSignature"), "3/4");
	it_resp_free(&r);

	snprintf(path, sizeof(path), "/api/songs/%s/like", id);
	itfx_req("PUT", path, &other, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	cr_assert_eq(it_int(r.json, "likesCount"), 1);
	it_resp_free(&r);
	itfx_req("DELETE", path, &other, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(it_int(r.json, "likesCount"), 0);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/songs/%s/plays", id);
	itfx_req("POST", path, &other, keyed, NULL, &r);
	cr_assert_eq(r.status, 202, "%d %s", r.status, r.body);
	it_resp_free(&r);

	snprintf(path, sizeof(path), "/api/songs/%s", id);
	itfx_req("DELETE", path, &w, NULL, NULL, &r);
	cr_assert_eq(r.status, 204, "%d %s", r.status, r.body);
	it_resp_free(&r);
	itfx_req("GET", path, &w, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	it_resp_free(&r);
}

Test(front, the_sync_feed_returns_own_changes_and_tombstones)
{
	struct it_resp r;
	struct itfx_user w;
	char id[64], path[512], cursor[256];

	itfx_signup(&w);
	make_loop(&w, "Synced", id, sizeof(id));
	itfx_req("GET", "/api/sync", &w, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	cr_assert_str_eq(it_str(r.json, "loops.0.id"), id);
	snprintf(cursor, sizeof(cursor), "%s", it_str(r.json, "cursor"));
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	itfx_req("DELETE", path, &w, NULL, NULL, &r);
	cr_assert_eq(r.status, 204);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/sync?since=%s", cursor);
	itfx_req("GET", path, &w, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	cr_assert_str_eq(it_str(r.json, "deleted.0.id"), id);
	it_resp_free(&r);
}

Test(front, bad_requests_get_the_same_problem_answers_and_write_nothing)
{
	struct it_resp r;
	struct itfx_user w;
	const char *text[] = { "Content-Type: text/plain", NULL };
	const char *pre[] = { "Origin: http://localhost:5173",
	    "Access-Control-Request-Method: PUT", NULL };

	itfx_signup(&w);
	itfx_req("GET", "/api/no-such-route", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(it_header(&r, "content-type"),
	    "application/problem+json");
	cr_assert_str_eq(it_str(r.json, "error"), "Route not found");
	it_resp_free(&r);
	itfx_req("DELETE", "/health", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(it_header(&r, "allow"), "GET, HEAD, OPTIONS");
	it_resp_free(&r);
	itfx_req("OPTIONS", "/api/loops", NULL, pre, NULL, &r);
	cr_assert_eq(r.status, 204, "%d", r.status);
	cr_assert_str_eq(it_header(&r, "access-control-allow-origin"),
	    "http://localhost:5173");
	it_resp_free(&r);
	itfx_req("POST", "/api/loops", &w, NULL, "{\"name\":", &r);
	cr_assert_eq(r.status, 400);
	cr_assert_not_null(strstr(it_str(r.json, "type"), "malformed-json"));
	it_resp_free(&r);
	itfx_req("POST", "/api/loops", &w, text, loop_body("Text", 1), &r);
	cr_assert_eq(r.status, 415, "%d %s", r.status, r.body);
	it_resp_free(&r);
	itfx_req("POST", "/api/loops", &w, NULL, "{\"name\":\"\",\"bars\":3}", &r);
	cr_assert_eq(r.status, 400);
	cr_assert_not_null(it_get(r.json, "errors.0.field"));
	it_resp_free(&r);
	cr_assert_eq(it_db_count("SELECT count(*) FROM loops WHERE user_id = "
	    "$1::uuid", 1, (const char *const[]){ w.id }), 0);
}

/*
 * The log line of the request with id rid from MP_TEST_SERVER_LOG
 * (the front end's log: the pool's stderr, or Apache's error log for
 * the programs Apache starts), waiting a little for it; NULL if absent.
 */
static char *
log_line(const char *rid)
{
	const char *path = getenv("MP_TEST_SERVER_LOG");
	char *line = NULL, key[256], *found = NULL;
	size_t cap = 0;
	FILE *f;
	int i;

	cr_assert_not_null(path, "MP_TEST_SERVER_LOG is not set");
	snprintf(key, sizeof(key), "\"requestId\":\"%s\"", rid);
	for (i = 0; i < 50 && found == NULL; i++) {
		if ((f = fopen(path, "r")) == NULL)
			cr_assert_fail("cannot read %s", path);
		while (found == NULL && getline(&line, &cap, f) >= 0)
			if (strstr(line, key) != NULL && strstr(line,
			    "\"route\"") != NULL)
				found = strdup(strstr(line, "{\"time\""));
		fclose(f);
		if (found == NULL)
			usleep(100 * 1000);
	}
	free(line);
	return found;
}

static long
pid_of(const char *line)
{
	const char *p = strstr(line, "\"pid\":");

	return p != NULL ? atol(p + 6) : -1;
}

Test(front, each_request_leaves_its_json_log_line_in_the_front_ends_log)
{
	struct it_resp r;
	char rid[64], hdr[160], *line;
	const char *h[2] = { hdr, NULL };

	it_unique(rid, sizeof(rid), "front-log-");
	snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", rid);
	itfx_req("GET", "/api/loops/00000000-0000-4000-8000-000000000000", NULL, h,
	    NULL, &r);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(it_header(&r, "x-request-id"), rid);
	it_resp_free(&r);
	line = log_line(rid);
	cr_assert_not_null(line, "no log line for %s in %s", rid,
	    getenv("MP_TEST_SERVER_LOG"));
	cr_assert_not_null(strstr(line, "\"route\":\"/api/loops/:id\""), "%s",
	    line);
	cr_assert_not_null(strstr(line, "\"status\":404"), "%s", line);
	cr_assert_not_null(strstr(line, "\"method\":\"GET\""), "%s", line);
	free(line);
}

Test(front, plain_cgi_serves_each_request_in_a_process_of_its_own)
{
	struct it_resp r;
	char rid[3][64], hdr[256], *line;
	const char *h[2] = { hdr, NULL };
	long pid[3];
	int i;

	if (strcmp(frontend(), "cgi") != 0)
		cr_skip_test("only the CGI front end starts a process per "
		    "request");
	for (i = 0; i < 3; i++) {
		it_unique(rid[i], sizeof(rid[i]), "front-cgi-");
		snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", rid[i]);
		itfx_req("GET", "/health", NULL, h, NULL, &r);
		cr_assert_eq(r.status, 200);
		it_resp_free(&r);
	}
	for (i = 0; i < 3; i++) {
		line = log_line(rid[i]);
		cr_assert_not_null(line, "no log line for %s", rid[i]);
		pid[i] = pid_of(line);
		free(line);
		cr_assert_gt(pid[i], 0);
	}
	cr_assert(pid[0] != pid[1] && pid[1] != pid[2] && pid[0] != pid[2],
	    "one process served two requests: %ld %ld %ld", pid[0], pid[1],
	    pid[2]);
	for (i = 0; i < 3; i++)
		cr_assert_neq(kill((pid_t)pid[i], 0), 0,
		    "the CGI process %ld is still running", pid[i]);
}

/*
 * The pid of the last "supervisor N started" line of the front end's
 * log, or -1 when no supervisor logs there (Apache starts the programs).
 */
static long
supervisor_pid_logged(void)
{
	const char *path = getenv("MP_TEST_SERVER_LOG");
	char *line = NULL, *p;
	size_t cap = 0;
	long pid = -1;
	FILE *f;

	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return -1;
	while (getline(&line, &cap, f) >= 0)
		if ((p = strstr(line, "\"msg\":\"supervisor ")) != NULL &&
		    strstr(p, " started ") != NULL)
			pid = atol(p + strlen("\"msg\":\"supervisor "));
	free(line);
	fclose(f);
	return pid;
}

/*
 * The log caches its process id (one getpid per process, issue 15): a
 * worker the supervisor forked must log its own, not the supervisor's.
 */
Test(front, a_pool_worker_logs_its_own_pid_not_the_supervisors)
{
	struct it_resp r;
	char rid[64], hdr[160], *line;
	const char *h[2] = { hdr, NULL };
	long sup, pid;

	if ((sup = supervisor_pid_logged()) < 0)
		cr_skip_test("no supervisor logs to this front end's log");
	it_unique(rid, sizeof(rid), "front-pid-");
	snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", rid);
	itfx_req("GET", "/health", NULL, h, NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	line = log_line(rid);
	cr_assert_not_null(line, "no log line for %s", rid);
	pid = pid_of(line);
	free(line);
	cr_assert_gt(pid, 0);
	cr_assert_neq(pid, sup, "the worker logged the supervisor's pid %ld",
	    sup);
	cr_assert_eq(kill((pid_t)pid, 0), 0, "no process %ld", pid);
}
