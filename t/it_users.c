/*
 * Integration: the /api/users routes through nginx against PostgreSQL:
 * profile changes, public profiles, account deletion and what it takes
 * with it.  Loops, songs and likes are written straight into the
 * database here, so these tests need nothing of the loops and songs
 * routes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itfixture.h"

TestSuite(profile, .init = itfx_init);
TestSuite(public, .init = itfx_init);
TestSuite(deletion, .init = itfx_init);

static char *
column(const char *id, const char *col)
{
	const char	*p[1] = { id };
	char		 sql[160];

	snprintf(sql, sizeof(sql), "SELECT coalesce(%s, '<null>') FROM users "
	    "WHERE id = $1::uuid", col);
	return it_db_text(sql, 1, p);
}

static void
patch(const char *token, const char *body, struct it_resp *r)
{
	itfx_send("PATCH", "/api/users/me", token, body, r);
}

/* Profile changes. */

Test(profile, patch_sets_display_name_and_avatar_and_me_shows_them)
{
	struct itfx_user	 u;
	struct it_resp	 r;

	itfx_signup(&u);
	patch(u.token, "{\"displayName\":\"Ada \xf0\x9f\x8e\xb5 Lovelace\","
	    "\"avatarUrl\":\"https://cdn.example.com/a.png?s=64\"}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "user.displayName"),
	    "Ada \xf0\x9f\x8e\xb5 Lovelace");
	cr_assert_str_eq(it_str(r.json, "user.avatarUrl"),
	    "https://cdn.example.com/a.png?s=64");
	cr_assert_str_eq(it_str(r.json, "user.email"), u.email);
	cr_assert_str_eq(it_str(r.json, "user.id"), u.id);
	it_resp_free(&r);
	itfx_send("GET", "/api/auth/me", u.token, NULL, &r);
	cr_assert_str_eq(it_str(r.json, "user.displayName"),
	    "Ada \xf0\x9f\x8e\xb5 Lovelace");
	cr_assert_str_eq(it_str(r.json, "user.avatarUrl"),
	    "https://cdn.example.com/a.png?s=64");
	it_resp_free(&r);

	/* One field alone leaves the other. */
	patch(u.token, "{\"displayName\":\"Ada\"}", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(it_str(r.json, "user.avatarUrl"),
	    "https://cdn.example.com/a.png?s=64");
	it_resp_free(&r);
}

Test(profile, null_clears_a_field_and_the_display_name_falls_back_to_the_username)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	char		*v;

	itfx_signup(&u);
	patch(u.token, "{\"displayName\":\"Someone\",\"avatarUrl\":"
	    "\"http://x.io/a.png\"}", &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	patch(u.token, "{\"displayName\":null,\"avatarUrl\":null}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "user.displayName"), u.username);
	cr_assert(itfx_is_null(r.json, "user", "avatarUrl"), "%s", r.body);
	it_resp_free(&r);
	v = column(u.id, "display_name");
	cr_assert_str_eq(v, "<null>");
	free(v);
}

Test(profile, merge_patch_type_an_empty_object_and_unknown_members_are_accepted)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	const char	*h[] = { NULL, "Content-Type: application/merge-patch+json",
	    NULL };
	char		 bearer[1200];

	itfx_signup(&u);
	snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", u.token);
	h[0] = bearer;
	cr_assert_eq(it_request("PATCH", "/api/users/me", h,
	    "{\"displayName\":\"Merged\"}", &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "user.displayName"), "Merged");
	it_resp_free(&r);
	patch(u.token, "{}", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(it_str(r.json, "user.displayName"), "Merged");
	it_resp_free(&r);
	/* email and username are not changed here: ignored like others. */
	patch(u.token, "{\"email\":\"new@example.com\",\"username\":\"newname\","
	    "\"createdAt\":\"2000-01-01T00:00:00.000Z\",\"extra\":[1]}", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(it_str(r.json, "user.email"), u.email);
	cr_assert_str_eq(it_str(r.json, "user.username"), u.username);
	it_resp_free(&r);
}

static void
assert_patch_refused(const struct itfx_user *u, const char *body,
    const char *field, const char *type)
{
	struct it_resp	 r;
	char		*dn, *av;

	patch(u->token, body, &r);
	itfx_assert_problem(&r, 400, type, field);
	it_resp_free(&r);
	dn = column(u->id, "display_name");
	av = column(u->id, "avatar_url");
	cr_assert_str_eq(dn, "Before", "changed by %s", body);
	cr_assert_str_eq(av, "https://x.io/before.png", "changed by %s", body);
	free(dn);
	free(av);
}

Test(profile, bad_values_are_400_naming_the_field_and_change_nothing)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	struct buf	 b = BUF_INIT;
	int		 i;

	itfx_signup(&u);
	patch(u.token, "{\"displayName\":\"Before\",\"avatarUrl\":"
	    "\"https://x.io/before.png\"}", &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);

	buf_puts(&b, "{\"displayName\":\"");
	for (i = 0; i < 51; i++)
		buf_putc(&b, 'd');
	buf_puts(&b, "\",\"avatarUrl\":\"https://x.io/ok.png\"}");
	assert_patch_refused(&u, b.data, "displayName", "validation");
	buf_release(&b);
	assert_patch_refused(&u, "{\"displayName\":\"\"}", "displayName",
	    "validation");
	assert_patch_refused(&u, "{\"displayName\":5}", "displayName",
	    "validation");
	assert_patch_refused(&u, "{\"displayName\":\"a\\u0000b\"}",
	    "displayName", "validation");
	assert_patch_refused(&u, "{\"displayName\":\"line\\nbreak\"}",
	    "displayName", "validation");
	assert_patch_refused(&u, "{\"displayName\":\"over\xc0\x80long\"}",
	    "displayName", "validation");
	assert_patch_refused(&u, "{\"displayName\":\"sur\xed\xa0\x80rogate\"}",
	    "displayName", "validation");
	assert_patch_refused(&u, "{\"avatarUrl\":\"javascript:alert(1)\"}",
	    "avatarUrl", "validation");
	assert_patch_refused(&u, "{\"avatarUrl\":\"https://x.io/a b.png\"}",
	    "avatarUrl", "validation");
	assert_patch_refused(&u, "{\"avatarUrl\":true}", "avatarUrl",
	    "validation");
	buf_puts(&b, "{\"avatarUrl\":\"https://x.io/");
	for (i = 0; i < 2100; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "\"}");
	assert_patch_refused(&u, b.data, "avatarUrl", "validation");
	buf_release(&b);
	/* Both at once: both named. */
	patch(u.token, "{\"displayName\":7,\"avatarUrl\":\"ftp://x\"}", &r);
	itfx_assert_problem(&r, 400, "validation", "displayName");
	itfx_assert_problem(&r, 400, "validation", "avatarUrl");
	it_resp_free(&r);
	assert_patch_refused(&u, "{\"displayName\":", NULL, "malformed-json");
	assert_patch_refused(&u, "{\"displayName\":\"x\xff\"}", NULL,
	    "malformed-json");
}

Test(profile, patch_needs_a_token_and_a_json_body)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	const char	*h[] = { NULL, "Content-Type: text/plain", NULL };
	char		 bearer[1200];

	itfx_signup(&u);
	patch(NULL, "{\"displayName\":\"x\"}", &r);
	itfx_assert_problem(&r, 401, "unauthorized", NULL);
	it_resp_free(&r);
	snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", u.token);
	h[0] = bearer;
	cr_assert_eq(it_request("PATCH", "/api/users/me", h,
	    "{\"displayName\":\"x\"}", &r), 0);
	itfx_assert_problem(&r, 415, "unsupported-media-type", NULL);
	it_resp_free(&r);
}

Test(profile, get_users_me_is_the_same_as_auth_me)
{
	struct itfx_user	 u;
	struct it_resp	 a, b;

	itfx_signup(&u);
	itfx_send("GET", "/api/auth/me", u.token, NULL, &a);
	itfx_send("GET", "/api/users/me", u.token, NULL, &b);
	cr_assert_eq(a.status, 200);
	cr_assert_eq(b.status, 200);
	cr_assert_str_eq(a.body, b.body);
	it_resp_free(&a);
	it_resp_free(&b);
	itfx_send("GET", "/api/users/me", NULL, NULL, &a);
	itfx_assert_problem(&a, 401, "unauthorized", NULL);
	it_resp_free(&a);
}

/* Public profiles. */

Test(public, a_profile_has_the_public_fields_and_counts_of_public_items_only)
{
	struct itfx_user	 u, viewer;
	struct it_resp	 r;
	char		 path[96], *ids[6];
	int		 i;

	itfx_signup(&u);
	itfx_signup(&viewer);
	patch(u.token, "{\"displayName\":\"Pub Lic\",\"avatarUrl\":"
	    "\"https://x.io/p.png\"}", &r);
	it_resp_free(&r);
	ids[0] = itfx_db_loop(u.id, "a loop", 4, 1);
	ids[1] = itfx_db_loop(u.id, "a loop", 4, 1);
	ids[2] = itfx_db_loop(u.id, "a loop", 4, 0);
	ids[3] = itfx_db_song(u.id, "a song", 120, 1);
	ids[4] = itfx_db_song(u.id, "a song", 120, 0);
	ids[5] = itfx_db_song(u.id, "a song", 120, 0);
	snprintf(path, sizeof(path), "/api/users/%s", u.username);
	itfx_send("GET", path, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "user.id"), u.id);
	cr_assert_str_eq(it_str(r.json, "user.username"), u.username);
	cr_assert_str_eq(it_str(r.json, "user.displayName"), "Pub Lic");
	cr_assert_str_eq(it_str(r.json, "user.avatarUrl"), "https://x.io/p.png");
	cr_assert_eq(strlen(it_str(r.json, "user.createdAt")), 24);
	cr_assert_eq(it_int(r.json, "user.loopsCount"), 2);
	cr_assert_eq(it_int(r.json, "user.songsCount"), 1);
	cr_assert_null(it_get(r.json, "user.email"), "no email: %s", r.body);
	cr_assert(strstr(r.body, u.email) == NULL);
	it_resp_free(&r);

	/* With a token (any caller), the same. */
	itfx_send("GET", path, viewer.token, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(it_int(r.json, "user.loopsCount"), 2);
	cr_assert_null(it_get(r.json, "user.email"));
	it_resp_free(&r);
	for (i = 0; i < 6; i++)
		free(ids[i]);
}

Test(public, usernames_match_in_any_case_and_unknown_or_impossible_ones_are_404)
{
	struct itfx_user	 u;
	struct it_resp	 r;
	char		 path[96];
	size_t		 i;

	itfx_signup(&u);
	snprintf(path, sizeof(path), "/api/users/%s", u.username);
	for (i = strlen("/api/users/"); path[i] != '\0'; i++)
		if (path[i] >= 'a' && path[i] <= 'z')
			path[i] = (char)(path[i] - 32);
	itfx_send("GET", path, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
	cr_assert_str_eq(it_str(r.json, "user.username"), u.username);
	it_resp_free(&r);

	itfx_send("GET", "/api/users/nobody_has_this_name", NULL, NULL, &r);
	itfx_assert_problem(&r, 404, "not-found", NULL);
	cr_assert_str_eq(it_str(r.json, "error"), "User not found");
	it_resp_free(&r);
	itfx_send("GET", "/api/users/ab", NULL, NULL, &r);
	itfx_assert_problem(&r, 404, "not-found", NULL);
	it_resp_free(&r);
	itfx_send("GET", "/api/users/has%20space", NULL, NULL, &r);
	itfx_assert_problem(&r, 404, "not-found", NULL);
	it_resp_free(&r);
	itfx_send("GET", "/api/users/%27%3B--", NULL, NULL, &r);
	itfx_assert_problem(&r, 404, "not-found", NULL);
	it_resp_free(&r);
}

Test(public, a_token_that_is_no_longer_good_is_401_even_here)
{
	struct itfx_user	 u, gone;
	struct it_resp	 r;
	char		 path[96];

	itfx_signup(&u);
	itfx_signup(&gone);
	itfx_send("DELETE", "/api/users/me", gone.token, NULL, &r);
	cr_assert_eq(r.status, 204);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/users/%s", u.username);
	itfx_send("GET", path, gone.token, NULL, &r);
	itfx_assert_invalid_token(&r);
	it_resp_free(&r);
	itfx_send("GET", path, "garbage.token.here", NULL, &r);
	itfx_assert_invalid_token(&r);
	it_resp_free(&r);
}

/* Deletion. */

static long long
count(const char *sql, const char *id)
{
	const char	*p[1] = { id };

	return it_db_count(sql, 1, p);
}

static void
like_loop(const char *user, const char *loop)
{
	const char	*p[2] = { user, loop };

	cr_assert_eq(it_db_count("INSERT INTO loop_likes (user_id, loop_id) "
	    "VALUES ($1::uuid, $2::uuid) RETURNING 1", 2, p), 1);
}

static void
like_song(const char *user, const char *song)
{
	const char	*p[2] = { user, song };

	cr_assert_eq(it_db_count("INSERT INTO song_likes (user_id, song_id) "
	    "VALUES ($1::uuid, $2::uuid) RETURNING 1", 2, p), 1);
}

Test(deletion, deletes_everything_the_account_owns_and_fixes_counters_elsewhere)
{
	struct itfx_user	 a, b;
	struct it_resp	 r;
	const char	*p[2];
	char		*a_loop, *a_song, *b_loop, *b_song, *b_remix, *a_remix;
	char		 path[96];

	itfx_signup(&a);
	itfx_signup(&b);
	a_loop = itfx_db_loop(a.id, "a loop", 4, 1);
	a_song = itfx_db_song(a.id, "a song", 120, 1);
	b_loop = itfx_db_loop(b.id, "a loop", 4, 1);
	b_song = itfx_db_song(b.id, "a song", 120, 1);
	/* Likes both ways. */
	like_loop(a.id, b_loop);
	like_song(a.id, b_song);
	like_loop(b.id, a_loop);
	like_song(b.id, a_song);
	/* b remixed a's loop; a remixed b's loop. */
	p[0] = b.id;
	p[1] = a_loop;
	b_remix = it_db_text("INSERT INTO loops (user_id, name, bars, "
	    "parent_loop_id) VALUES ($1::uuid, 'remix', 4, $2::uuid) "
	    "RETURNING id", 2, p);
	p[0] = a.id;
	p[1] = b_loop;
	a_remix = it_db_text("INSERT INTO loops (user_id, name, bars, "
	    "parent_loop_id) VALUES ($1::uuid, 'remix', 4, $2::uuid) "
	    "RETURNING id", 2, p);
	cr_assert_not_null(b_remix);
	cr_assert_not_null(a_remix);
	p[0] = a.id;
	cr_assert_eq(it_db_count("INSERT INTO idempotency_keys (user_id, "
	    "idem_key, request_hash, response_status) VALUES ($1::uuid, 'k-1', "
	    "'\\x00'::bytea, 201) RETURNING 1", 1, p), 1);
	cr_assert_eq(it_db_count("INSERT INTO write_budgets (user_id, "
	    "window_start, used) VALUES ($1::uuid, now(), 3) RETURNING 1", 1,
	    p), 1);
	cr_assert_eq(count("SELECT likes_count FROM loop_counts "
	    "WHERE loop_id = $1::uuid",
	    b_loop), 1);
	cr_assert_eq(count("SELECT likes_count FROM song_counts "
	    "WHERE song_id = $1::uuid",
	    b_song), 1);
	cr_assert_eq(count("SELECT remixes_count FROM loops "
	    "WHERE id = $1::uuid", b_loop), 1);

	itfx_send("DELETE", "/api/users/me", a.token, NULL, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	cr_assert_eq(r.body_len, 0);
	it_resp_free(&r);

	/* Everything of a is gone. */
	cr_assert_eq(count("SELECT count(*) FROM users WHERE id = $1::uuid",
	    a.id), 0);
	cr_assert_eq(count("SELECT count(*) FROM loops WHERE user_id = "
	    "$1::uuid", a.id), 0);
	cr_assert_eq(count("SELECT count(*) FROM songs WHERE user_id = "
	    "$1::uuid", a.id), 0);
	cr_assert_eq(count("SELECT count(*) FROM loop_likes WHERE user_id = "
	    "$1::uuid", a.id), 0);
	cr_assert_eq(count("SELECT count(*) FROM song_likes WHERE user_id = "
	    "$1::uuid", a.id), 0);
	cr_assert_eq(count("SELECT count(*) FROM idempotency_keys WHERE "
	    "user_id = $1::uuid", a.id), 0);
	cr_assert_eq(count("SELECT count(*) FROM write_budgets WHERE "
	    "user_id = $1::uuid", a.id), 0);
	cr_assert_eq(count("SELECT count(*) FROM tombstones WHERE "
	    "user_id = $1::uuid", a.id), 0);
	/* b's likes of a's items went with them. */
	cr_assert_eq(count("SELECT count(*) FROM loop_likes WHERE user_id = "
	    "$1::uuid", b.id), 0);
	cr_assert_eq(count("SELECT count(*) FROM song_likes WHERE user_id = "
	    "$1::uuid", b.id), 0);

	/* Counters a had raised on b's items are down again. */
	cr_assert_eq(count("SELECT likes_count FROM loop_counts "
	    "WHERE loop_id = $1::uuid",
	    b_loop), 0);
	cr_assert_eq(count("SELECT likes_count FROM song_counts "
	    "WHERE song_id = $1::uuid",
	    b_song), 0);
	cr_assert_eq(count("SELECT remixes_count FROM loops "
	    "WHERE id = $1::uuid", b_loop), 0);
	/* b's remix of a's loop stays, now without a parent. */
	cr_assert_eq(count("SELECT count(*) FROM loops WHERE id = $1::uuid "
	    "AND parent_loop_id IS NULL", b_remix), 1);
	/* b's own counts are intact. */
	cr_assert_eq(count("SELECT loops_count FROM users WHERE id = $1::uuid",
	    b.id), 2);
	cr_assert_eq(count("SELECT public_loops_count FROM users "
	    "WHERE id = $1::uuid", b.id), 1);
	cr_assert_eq(count("SELECT songs_count FROM users WHERE id = $1::uuid",
	    b.id), 1);

	/* The account answers no more. */
	itfx_send("GET", "/api/auth/me", a.token, NULL, &r);
	itfx_assert_invalid_token(&r);
	it_resp_free(&r);
	itfx_login(a.email, a.password, &r);
	itfx_assert_problem(&r, 401, "invalid-credentials", NULL);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/users/%s", a.username);
	itfx_send("GET", path, NULL, NULL, &r);
	itfx_assert_problem(&r, 404, "not-found", NULL);
	it_resp_free(&r);
	itfx_send("DELETE", "/api/users/me", a.token, NULL, &r);
	itfx_assert_invalid_token(&r);
	it_resp_free(&r);
	free(a_loop);
	free(a_song);
	free(b_loop);
	free(b_song);
	free(b_remix);
	free(a_remix);
}

Test(deletion, the_name_and_email_are_free_again_afterwards)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		 body[256];

	itfx_signup(&a);
	itfx_send("DELETE", "/api/users/me", a.token, NULL, &r);
	cr_assert_eq(r.status, 204);
	it_resp_free(&r);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"username\":\"%s\","
	    "\"password\":\"another password\"}", a.email, a.username);
	itfx_send("POST", "/api/auth/signup", NULL, body, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_neq(it_str(r.json, "user.id"), a.id);
	it_resp_free(&r);
	itfx_send("GET", "/api/auth/me", a.token, NULL, &r);
	itfx_assert_invalid_token(&r);	/* the old token is not the new one's */
	it_resp_free(&r);
}

Test(deletion, needs_a_current_token_and_leaves_the_account_otherwise)
{
	struct itfx_user	 a;
	struct it_resp	 r;
	char		*stale;

	itfx_signup(&a);
	itfx_send("DELETE", "/api/users/me", NULL, NULL, &r);
	itfx_assert_problem(&r, 401, "unauthorized", NULL);
	it_resp_free(&r);
	stale = itfx_craft("HS256", NULL, &a, 1, -10, 3600, NULL, NULL);
	itfx_send("POST", "/api/auth/password", a.token, "{\"currentPassword\":"
	    "\"ignored\",\"newPassword\":\"ignored too\"}", &r);
	it_resp_free(&r);	/* 403: wrong current; nothing changes */
	itfx_send("DELETE", "/api/users/me", "not.a.token", NULL, &r);
	itfx_assert_invalid_token(&r);
	it_resp_free(&r);
	cr_assert_eq(count("SELECT count(*) FROM users WHERE id = $1::uuid",
	    a.id), 1);
	/* After a password change the older token cannot delete. */
	{
		struct buf	 b = BUF_INIT;

		buf_printf(&b, "{\"currentPassword\":\"%s\","
		    "\"newPassword\":\"a new passphrase\"}", a.password);
		itfx_send("POST", "/api/auth/password", a.token, b.data, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		it_resp_free(&r);
		buf_release(&b);
	}
	itfx_send("DELETE", "/api/users/me", stale, NULL, &r);
	itfx_assert_invalid_token(&r);
	it_resp_free(&r);
	cr_assert_eq(count("SELECT count(*) FROM users WHERE id = $1::uuid",
	    a.id), 1);
	free(stale);
}
