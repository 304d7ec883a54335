/*
 * Integration: a loop's members rendered when it is written (issue 15;
 * migration 0041).  GET /api/loops/:id and the lists answer with
 * loop_text(), which joins the stored shown_body / shown_times to the
 * members that move without the row (owner's name, counts, likedByMe,
 * remixes, version).  What these hold: after every kind of write the
 * bytes served are exactly the bytes loop_json (which builds from the
 * columns, 0040) gives for the row as it is now, and every loop in the
 * database renders as loop_json does.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "t/itfixture.h"

TestSuite(shown);

/* loop_json of loop id as the database builds it now, for viewer u. */
static char *
built(const char *id, const char *viewer)
{
	const char	*p[2] = { id, viewer };

	return it_db_text("SELECT loop_json(x, c, o.username, EXISTS ("
	    "SELECT 1 FROM loop_likes k WHERE k.loop_id = x.id "
	    "AND k.user_id = $2::uuid))::text FROM loops x "
	    "JOIN users o ON o.id = x.user_id "
	    "LEFT JOIN loop_counts c ON c.loop_id = x.id WHERE x.id = $1::uuid",
	    2, p);
}

/*
 * GET of the loop and the list of its owner's loops, as u (NULL:
 * anonymous): each carries loop_json's bytes for it.
 */
static void
assert_served_as_built(const char *id, const char *owner_name,
    const struct itfx_user *u, const char *when)
{
	struct it_resp	 r;
	char		 path[192];
	char		*want;

	want = built(id, u != NULL ? u->id : NULL);
	cr_assert_not_null(want, "%s: no loop %s", when, id);
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	itfx_req("GET", path, u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s: %d %s", when, r.status, r.body);
	cr_assert_not_null(strstr(r.body, want),
	    "%s: GET served\n%s\nwhere loop_json builds\n%s", when, r.body, want);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/loops?user=%s&limit=100", owner_name);
	itfx_req("GET", path, u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s: %d %s", when, r.status, r.body);
	cr_assert_not_null(strstr(r.body, want),
	    "%s: the list served\n%s\nwhere loop_json builds\n%s", when, r.body,
	    want);
	it_resp_free(&r);
	free(want);
}

static void
send_ok(const char *method, const char *path, const struct itfx_user *u,
    const char *body, int status)
{
	struct it_resp	 r;

	itfx_req(method, path, u, NULL, body, &r);
	cr_assert_eq(r.status, status, "%s %s: %d %s", method, path, r.status,
	    r.body);
	it_resp_free(&r);
}

Test(shown, a_loop_is_served_byte_for_byte_as_loop_json_builds_it_after_every_kind_of_write)
{
	struct itfx_user a, b;
	struct it_resp	 r;
	char		 id[64], remix[64], path[192], newname[64];
	const char	*p[2];

	itfx_db_user(&a);
	itfx_db_user(&b);
	/* A name JSON must escape: quotes, a backslash, a slash, non-ASCII. */
	itfx_loop(&a, itfx_loop_body("Say \\\"hi\\\" \\\\ </b> caf\\u00e9 \\u266b",
	    1), id, sizeof(id));
	assert_served_as_built(id, a.username, NULL, "created");
	assert_served_as_built(id, a.username, &a, "created, to its owner");

	snprintf(path, sizeof(path), "/api/loops/%s", id);
	send_ok("PATCH", path, &a, "{\"name\":\"Tab\\tand \\u0001 too\","
	    "\"bpm\":141,\"color\":\"#00AA11\",\"chordProgression\":"
	    "[{\"bar\":0,\"chord\":\"G7\"}]}", 200);
	assert_served_as_built(id, a.username, NULL, "patched");

	snprintf(path, sizeof(path), "/api/loops/%s/like", id);
	send_ok("PUT", path, &b, NULL, 200);
	assert_served_as_built(id, a.username, &b, "liked, to the liker");
	assert_served_as_built(id, a.username, NULL, "liked, anonymous");

	/* A remix counts on the parent's row without changing its content. */
	snprintf(path, sizeof(path), "/api/loops/%s/remix", id);
	itfx_req("POST", path, &b, NULL, NULL, &r);
	cr_assert_eq(r.status, 201, "remix: %d %s", r.status, r.body);
	snprintf(remix, sizeof(remix), "%s", it_str(r.json, "loop.id"));
	it_resp_free(&r);
	assert_served_as_built(id, a.username, NULL, "remixed");
	assert_served_as_built(remix, b.username, &b, "the remix");

	/* The owner's new name shows at once: it is never rendered. */
	it_unique(newname, sizeof(newname), "shown");
	p[0] = newname;
	p[1] = a.id;
	cr_assert_eq(it_db_count("WITH u AS (UPDATE users SET username = $1 "
	    "WHERE id = $2::uuid RETURNING 1) SELECT count(*) FROM u", 2, p), 1);
	assert_served_as_built(id, newname, NULL, "its owner renamed");

	/* The parent deleted: the remix's parentLoopId goes null. */
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	send_ok("DELETE", path, &a, NULL, 204);
	assert_served_as_built(remix, b.username, &b, "its parent deleted");
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loops WHERE id = $1::uuid "
	    "AND parent_loop_id IS NULL AND shown_body LIKE "
	    "'%\"parentLoopId\" : null'", remix), 1);
}

Test(shown, an_update_that_changes_no_rendered_member_keeps_the_rendering)
{
	struct itfx_user a;
	char		*id;
	long long	 n;

	itfx_db_user(&a);
	id = itfx_db_loop(a.id, "kept", 2, 1);
	n = itfx_count1("WITH before AS (SELECT shown_body, shown_times "
	    "FROM loops WHERE id = $1::uuid), "
	    "u AS (UPDATE loops SET remixes_count = remixes_count + 1 "
	    "WHERE id = $1::uuid RETURNING shown_body, shown_times) "
	    "SELECT count(*) FROM before, u WHERE before.shown_body = "
	    "u.shown_body AND before.shown_times = u.shown_times", id);
	cr_assert_eq(n, 1);
	/* And a content change renders again, updatedAt with it. */
	n = itfx_count1("WITH before AS (SELECT shown_body, shown_times "
	    "FROM loops WHERE id = $1::uuid), "
	    "u AS (UPDATE loops SET name = 'renamed' "
	    "WHERE id = $1::uuid RETURNING shown_body, shown_times, "
	    "loop_shown_body(name, bars, color, bpm, chord_progression, "
	    "icon_sequence, schema_version, is_public, parent_loop_id) AS b) "
	    "SELECT count(*) FROM before, u WHERE u.shown_body <> "
	    "before.shown_body AND u.shown_body = u.b "
	    "AND u.shown_body LIKE '\"name\" : \"renamed\",%'", id);
	cr_assert_eq(n, 1);
	free(id);
}

Test(shown, every_loop_in_the_database_renders_as_loop_json_builds_it)
{
	struct itfx_user a;
	char		*id;

	itfx_db_user(&a);
	id = itfx_db_loop(a.id, "one at least", 8, 0);
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loops x "
	    "JOIN users o ON o.id = x.user_id "
	    "LEFT JOIN loop_counts c ON c.loop_id = x.id "
	    "CROSS JOIN (VALUES (true), (false), (NULL::boolean)) v(liked) "
	    "WHERE loop_text(x, c, o.username, v.liked) IS DISTINCT FROM "
	    "loop_json(x, c, o.username, v.liked)::text", NULL), 0);
	cr_assert_gt(itfx_count1("SELECT count(*) FROM loops", NULL), 0);
	free(id);
}
