/*
 * Integration: the micro-cache of the lists in nginx (issue 15;
 * deploy/nginx/mpapi.conf, "Micro-cache"; doc/API.md, "Caching").  The
 * test stack runs without it (the suite reads back at once, as
 * anonymous, what it has just written); these tests switch it on
 * (`deploy/dev micro-cache on`, nginx reloaded) and off again.  What
 * they hold it to: an anonymous GET of a list is answered from the
 * cache for at most a second, with its own X-Request-Id; a signed-in
 * caller is never answered from it and never fills it; nor are a
 * reader of its own write (X-Read-After), a conditional GET, another
 * method or a status other than 200.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "t/itfixture.h"

/*
 * After a reload, until nginx's new workers answer: an anonymous list
 * carries X-Cache exactly when the micro-cache is on.  Returns 1 when
 * it came to be so within 10 s.
 */
static int
cache_is(int on)
{
	struct it_resp	 r;
	int		 i, now = !on;

	for (i = 0; i < 100 && now != on; i++) {
		if (i > 0)
			usleep(100 * 1000);
		itfx_req("GET", "/api/loops?limit=1", NULL, NULL, NULL, &r);
		now = r.status == 200 && it_header(&r, "x-cache") != NULL;
		it_resp_free(&r);
	}
	return now == on;
}

static void
setup(void)
{
	if (getenv("MP_TEST_CTL") == NULL)
		cr_skip_test("needs deploy/dev's stack control (MP_TEST_CTL)");
	cr_assert_eq(it_ctl("micro-cache on"), 0);
	cr_assert(cache_is(1), "the micro-cache never came on");
}

static void
teardown(void)
{
	if (getenv("MP_TEST_CTL") == NULL)
		return;
	(void)it_ctl("micro-cache off");
	cr_assert(cache_is(0), "the micro-cache never went off");
}

TestSuite(micro, .init = setup, .fini = teardown);

/* GET path (u NULL: anonymous) with one extra header line or none. */
static void
get(const char *path, const struct itfx_user *u, const char *line,
    struct it_resp *r)
{
	const char	*extra[2] = { line, NULL };

	itfx_req("GET", path, u, line != NULL ? extra : NULL, NULL, r);
	cr_assert_gt(r->status, 0);
}

static const char *
cache_of(const struct it_resp *r)
{
	const char	*h = it_header(r, "x-cache");

	return h != NULL ? h : "(none)";
}

Test(micro, an_anonymous_list_is_served_from_the_cache_to_the_end_of_its_second_with_its_own_request_id)
{
	struct itfx_user u;
	struct it_resp	 a, b, c;
	char		 path[160], name[64], id[64];
	int		 i, seen;

	itfx_db_user(&u);
	free(itfx_db_loop(u.id, "first", 4, 1));
	snprintf(path, sizeof(path), "/api/loops?user=%s", u.username);
	/*
	 * Two in a row: the second is the first's answer, unless a second
	 * began between them (then the entry has expired: again).
	 */
	for (i = 0; i < 5; i++) {
		get(path, NULL, "X-Request-Id: micro-a", &a);
		cr_assert_eq(a.status, 200, "%s", a.body);
		cr_assert(i > 0 || strcmp(cache_of(&a), "MISS") == 0,
		    "%s", cache_of(&a));
		get(path, NULL, "X-Request-Id: micro-b", &b);
		cr_assert_eq(b.status, 200, "%s", b.body);
		if (strcmp(cache_of(&b), "HIT") == 0)
			break;
		cr_assert_str_eq(cache_of(&b), "EXPIRED");
		it_resp_free(&a);
		it_resp_free(&b);
	}
	cr_assert_lt(i, 5, "never a hit");
	cr_assert_str_eq(a.body, b.body);
	cr_assert_str_eq(it_header(&a, "x-request-id"), "micro-a");
	cr_assert_str_eq(it_header(&b, "x-request-id"), "micro-b",
	    "a cached answer carries this request's id, not the filler's");
	cr_assert_not_null(it_header(&b, "x-content-type-options"));

	/* A new public loop: not in the cached list, in it a second on. */
	it_unique(name, sizeof(name), "micro");
	itfx_loop(&u, itfx_loop_body(name, 1), id, sizeof(id));
	get(path, NULL, NULL, &c);
	if (strcmp(cache_of(&c), "HIT") == 0)
		cr_assert(strstr(c.body, id) == NULL, "a hit is the cached "
		    "answer: %s", c.body);
	it_resp_free(&c);
	/*
	 * An entry is kept to the end of the second it was answered in,
	 * and every entry there is was answered before the write: a
	 * second after it, none is left.
	 */
	usleep(1050 * 1000);
	get(path, NULL, NULL, &c);
	cr_assert_eq(c.status, 200, "%s", c.body);
	seen = strstr(c.body, id) != NULL;
	cr_assert(seen, "a second after the write, still stale (%s): %s",
	    cache_of(&c), c.body);
	it_resp_free(&c);
	for (i = 0; i < 5; i++) {	/* cached again */
		get(path, NULL, NULL, &c);
		seen = strcmp(cache_of(&c), "HIT") == 0;
		it_resp_free(&c);
		if (seen)
			break;
	}
	cr_assert_lt(i, 5, "never cached again");
	cr_assert_null(it_header(&a, "x-accel-expires"), "nginx's own");
	it_resp_free(&a);
	it_resp_free(&b);
}

Test(micro, a_signed_in_caller_is_never_answered_from_the_cache_nor_fills_it)
{
	struct itfx_user u;
	struct it_resp	 r;
	char		 path[160], *priv, *pub;
	int		 i;

	itfx_db_user(&u);
	pub = itfx_db_loop(u.id, "public", 4, 1);
	priv = itfx_db_loop(u.id, "private", 4, 0);
	snprintf(path, sizeof(path), "/api/loops?user=%s", u.username);
	for (i = 0; i < 2; i++) {
		get(path, &u, NULL, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert_str_eq(cache_of(&r), "BYPASS");
		cr_assert(strstr(r.body, priv) != NULL, "the owner sees the "
		    "private loop: %s", r.body);
		it_resp_free(&r);
	}
	get(path, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(cache_of(&r), "MISS", "the signed-in answers were "
	    "not stored");
	cr_assert(strstr(r.body, pub) != NULL, "%s", r.body);
	cr_assert(strstr(r.body, priv) == NULL, "an anonymous list shows "
	    "no private loop: %s", r.body);
	it_resp_free(&r);
	/* The cached anonymous answer is not a signed-in caller's either. */
	get(path, &u, NULL, &r);
	cr_assert_str_eq(cache_of(&r), "BYPASS");
	cr_assert(strstr(r.body, priv) != NULL, "%s", r.body);
	it_resp_free(&r);
	free(pub);
	free(priv);
}

Test(micro, a_read_after_header_a_conditional_get_a_write_and_an_error_are_never_cached)
{
	struct itfx_user u;
	struct it_resp	 r;
	char		 path[160];
	int		 i;

	itfx_db_user(&u);
	free(itfx_db_loop(u.id, "one", 4, 1));
	snprintf(path, sizeof(path), "/api/loops?user=%s&limit=5", u.username);
	get(path, NULL, NULL, &r);
	cr_assert_str_eq(cache_of(&r), "MISS");
	it_resp_free(&r);
	get(path, NULL, "X-Read-After: 0/0", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(cache_of(&r), "BYPASS");
	it_resp_free(&r);
	get(path, NULL, "If-None-Match: \"v1\"", &r);
	cr_assert_eq(r.status, 200, "the workers answer it: %s", r.body);
	cr_assert_str_eq(cache_of(&r), "BYPASS");
	it_resp_free(&r);
	itfx_req("POST", "/api/loops", NULL, NULL, itfx_loop_body("x", 1), &r);
	cr_assert_eq(r.status, 401, "%s", r.body);
	cr_assert_null(it_header(&r, "x-cache"), "a POST never meets the "
	    "cache: %s", cache_of(&r));
	it_resp_free(&r);
	for (i = 0; i < 2; i++) {	/* a 400 is asked of the workers each time */
		get("/api/loops?limit=nonsense", NULL, NULL, &r);
		cr_assert_eq(r.status, 400, "%s", r.body);
		cr_assert_str_eq(cache_of(&r), "MISS");
		it_resp_free(&r);
	}
	get("/api/loops/00000000-0000-4000-8000-000000000000", NULL, NULL, &r);
	cr_assert_eq(r.status, 404, "%s", r.body);
	cr_assert_null(it_header(&r, "x-cache"), "items are not cached");
	it_resp_free(&r);
}
