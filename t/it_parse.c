/*
 * Integration: what the request body parser refuses and how numbers
 * are judged (issue 9, items 4 and 5), through nginx into the workers
 * and PostgreSQL.  Every refusal is checked in the database: nothing
 * written, no write budget spent.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "handlers/model.h"
#include "t/it_loops_util.h"

static long long
loops_of(const struct itl_user *u)
{
	return itl_count1("SELECT count(*) FROM loops WHERE user_id = $1::uuid",
	    u->id);
}

static long long
songs_of(const struct itl_user *u)
{
	return itl_count1("SELECT count(*) FROM songs WHERE user_id = $1::uuid",
	    u->id);
}

/* Writes counted against u's budget (0 when no window is open). */
static long long
budget_used(const struct itl_user *u)
{
	return itl_count1("SELECT coalesce(sum(used), 0) FROM write_budgets "
	    "WHERE user_id = $1::uuid", u->id);
}

/* Send body as u, with an Idempotency-Key when keyed. */
static void
send(const char *method, const char *path, const struct itl_user *u,
    int keyed, const char *body, struct it_resp *r)
{
	const char	*h[2] = { NULL, NULL };
	char		 key[96], kh[128];

	if (keyed) {
		it_unique(key, sizeof(key), "parse-");
		snprintf(kh, sizeof(kh), "Idempotency-Key: %s", key);
		h[0] = kh;
	}
	itl_req(method, path, u, h, body, r);
}

static void
assert_malformed(const struct it_resp *r, const char *body)
{
	cr_assert_eq(r->status, 400, "%d for %.80s: %s", r->status, body,
	    r->body);
	cr_assert_str_eq(it_str(r->json, "type"),
	    "https://api.musicplayground.dev/problems/malformed-json", "%s",
	    r->body);
	cr_assert_null(it_get(r->json, "errors"));
}

/* Each form json-c accepted, in a loop body; and a song body. */
static const char *const not_json[] = {
	"{'name':\"single\",\"bars\":1}",
	"{\"name\":'single',\"bars\":1}",
	"{\"name\":\"nan\",\"bars\":1,\"bpm\":NaN}",
	"{\"name\":\"inf\",\"bars\":1,\"junk\":Infinity}",
	("{\"name\":\"-inf\",\"bars\":1,\"iconSequence\":[{\"bar\":0,\"row\":0,"
	    "\"soundId\":\"k\",\"pitch\":60,\"velocity\":-Infinity}]}"),
	"{\"name\":\"a\tb\",\"bars\":1}",
	"{\"name\":\"a\001b\",\"bars\":1}",
	"{\"name\":\"line\nbreak\",\"bars\":1}",
	"{\"name\":\"lone \\ud800\",\"bars\":1}",
	"{\"name\":\"lone \\udc00\",\"bars\":1}",
	"{\"name\":\"twice\",\"name\":\"again\",\"bars\":1}",
	"{\"name\\u0000x\":\"cut\",\"name\":\"n\",\"bars\":1}",
	"\xef\xbb\xbf{\"name\":\"bom\",\"bars\":1}",
	"{\"name\":\"deep\",\"bars\":1,\"x\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}",
	"{\"name\":\"trailing\",\"bars\":1} x",
};

Test(not_json, every_form_json_c_accepted_is_400_malformed_json_and_stores_nothing)
{
	struct itl_user	 u;
	struct it_resp	 r;
	size_t		 i;
	int		 keyed;

	itl_user(&u);
	for (keyed = 0; keyed < 2; keyed++)
		for (i = 0; i < sizeof(not_json) / sizeof(not_json[0]); i++) {
			send("POST", "/api/loops", &u, keyed, not_json[i], &r);
			assert_malformed(&r, not_json[i]);
			it_resp_free(&r);
		}
	send("POST", "/api/songs", &u, 0, "{'name':\"s\",\"bpm\":120}", &r);
	assert_malformed(&r, "song");
	it_resp_free(&r);
	send("POST", "/api/songs", &u, 0, "{\"name\":\"s\",\"bpm\":Infinity}", &r);
	assert_malformed(&r, "song");
	it_resp_free(&r);
	cr_assert_eq(loops_of(&u), 0, "a loop was stored");
	cr_assert_eq(songs_of(&u), 0, "a song was stored");
	cr_assert_eq(budget_used(&u), 0, "the write budget was spent");
}

Test(not_json, a_single_quoted_patch_of_the_profile_changes_nothing)
{
	struct itl_user	 u;
	struct it_resp	 r;
	char		*name;

	itl_user(&u);
	send("PATCH", "/api/users/me", &u, 0, "{'displayName':\"x\"}", &r);
	assert_malformed(&r, "profile");
	it_resp_free(&r);
	send("PATCH", "/api/users/me", &u, 0, "{\"displayName\":\"x\ty\"}", &r);
	assert_malformed(&r, "profile");
	it_resp_free(&r);
	name = itl_text1("SELECT coalesce(display_name, '(none)') FROM users "
	    "WHERE id = $1::uuid", u.id);
	cr_assert_str_eq(name, "(none)");
	free(name);
}

Test(not_json, a_loop_edit_that_is_not_json_leaves_the_loop_as_it_was)
{
	struct itl_user	 u;
	struct it_resp	 r;
	char		 id[64], path[128], *v;

	itl_user(&u);
	itl_loop(&u, "{\"name\":\"kept\",\"bars\":1}", id, sizeof(id));
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	send("PATCH", path, &u, 0, "{\"name\":\"tab\there\"}", &r);
	assert_malformed(&r, "patch");
	it_resp_free(&r);
	send("PUT", path, &u, 0, "{\"name\":\"nan\",\"bars\":1,\"bpm\":NaN}", &r);
	assert_malformed(&r, "put");
	it_resp_free(&r);
	v = itl_text1("SELECT name || ' v' || version FROM loops "
	    "WHERE id = $1::uuid", id);
	cr_assert_str_eq(v, "kept v1");
	free(v);
}

Test(not_json, valid_edge_cases_are_still_accepted_as_sent)
{
	struct itl_user	 u;
	struct it_resp	 r;
	char		*name;

	itl_user(&u);
	send("POST", "/api/loops", &u, 0, "\r\n {\"name\" : \"tab\\there "
	    "\\ud83c\\udfb5 \\u00e9\\/\",\"bars\":1.0e0,\"bpm\":1.2E+2,"
	    "\"unknown\":[null,true,-0,1e99999]}\t", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "loop.name"),
	    "tab\there \xf0\x9f\x8e\xb5 \xc3\xa9/");
	cr_assert_eq(it_int(r.json, "loop.bpm"), 120);
	it_resp_free(&r);
	name = itl_text1("SELECT name FROM loops WHERE user_id = $1::uuid",
	    u.id);
	cr_assert_str_eq(name, "tab\there \xf0\x9f\x8e\xb5 \xc3\xa9/");
	free(name);
}

/*
 * The numbers of issue 9 in a loop field, as JSON text.  Each passes
 * a check through a double and fails PostgreSQL's numeric.
 */
static char *
out_of_range(size_t which)
{
	struct buf	 b = BUF_INIT;
	size_t		 i;

	switch (which) {
	case 0:
		return xstrdup("1e-20000");
	case 1:
		return xstrdup("0e99999999999");
	case 2:
		return xstrdup("5e-1073741823");
	case 3:
		buf_puts(&b, "0.");
		for (i = 0; i < 20000; i++)
			buf_putc(&b, '0');
		return buf_detach(&b);
	default:
		buf_puts(&b, "1.");
		for (i = 0; i < 20000; i++)
			buf_putc(&b, '0');
		return buf_detach(&b);
	}
}
#define OUT_OF_RANGE_FORMS	5

/* A loop body with member field (a JSON path) set to number n. */
static char *
loop_with(const char *field, const char *n)
{
	struct buf	 b = BUF_INIT;

#define IS(f)	(strcmp(field, (f)) == 0 ? n : NULL)
#define OR(v, d) ((v) != NULL ? (v) : (d))
	buf_printf(&b, "{\"name\":\"n\",\"bars\":%s,\"bpm\":%s,"
	    "\"schemaVersion\":%s,\"chordProgression\":[{\"bar\":%s,"
	    "\"chord\":\"C\"}],\"iconSequence\":[{\"bar\":%s,\"row\":%s,"
	    "\"soundId\":\"kick\",\"velocity\":%s,\"pitch\":%s,"
	    "\"duration16\":%s}]}",
	    OR(IS("bars"), "1"), OR(IS("bpm"), "120"),
	    OR(IS("schemaVersion"), "1"),
	    OR(IS("chordProgression[0].bar"), "0"),
	    OR(IS("iconSequence[0].bar"), "0"),
	    OR(IS("iconSequence[0].row"), "0"),
	    OR(IS("iconSequence[0].velocity"), "0.5"),
	    OR(IS("iconSequence[0].pitch"), "60"),
	    OR(IS("iconSequence[0].duration16"), "1"));
	return buf_detach(&b);
}

static char *
song_with(const char *field, const char *n, const char *loop_id)
{
	struct buf	 b = BUF_INIT;

	buf_printf(&b, "{\"name\":\"s\",\"bpm\":%s,\"schemaVersion\":%s,"
	    "\"timeline\":[{\"id\":\"b1\",\"loopId\":\"%s\",\"startBar\":%s,"
	    "\"bars\":%s}]}",
	    OR(IS("bpm"), "120"), OR(IS("schemaVersion"), "1"), loop_id,
	    OR(IS("timeline[0].startBar"), "0"),
	    OR(IS("timeline[0].bars"), "1"));
	return buf_detach(&b);
#undef IS
#undef OR
}

static void
assert_names(const struct it_resp *r, const char *field, const char *body)
{
	cr_assert_eq(r->status, 400, "%d for %.100s: %.300s", r->status, body,
	    r->body);
	cr_assert_str_eq(it_str(r->json, "type"),
	    "https://api.musicplayground.dev/problems/validation", "%.300s",
	    r->body);
	cr_assert(itl_names_field(r, field), "%s not named: %.300s", field,
	    r->body);
}

static const char *const loop_numbers[] = {
	"bars", "bpm", "schemaVersion", "chordProgression[0].bar",
	"iconSequence[0].bar", "iconSequence[0].row",
	"iconSequence[0].velocity", "iconSequence[0].pitch",
	"iconSequence[0].duration16",
};
static const char *const song_numbers[] = {
	"bpm", "schemaVersion", "timeline[0].startBar", "timeline[0].bars",
};

Test(numbers, out_of_postgresql_range_in_any_loop_field_is_400_naming_it_and_spends_nothing)
{
	struct itl_user	 u;
	struct it_resp	 r;
	char		*n, *body;
	size_t		 f, i;
	int		 keyed;

	itl_user(&u);
	for (f = 0; f < sizeof(loop_numbers) / sizeof(loop_numbers[0]); f++)
		for (i = 0; i < OUT_OF_RANGE_FORMS; i++) {
			n = out_of_range(i);
			body = loop_with(loop_numbers[f], n);
			keyed = (int)(i % 2);
			send("POST", "/api/loops", &u, keyed, body, &r);
			assert_names(&r, loop_numbers[f], body);
			it_resp_free(&r);
			free(body);
			free(n);
		}
	cr_assert_eq(loops_of(&u), 0, "a loop was stored");
	cr_assert_eq(budget_used(&u), 0, "the write budget was spent");
}

Test(numbers, out_of_postgresql_range_in_any_song_field_is_400_naming_it_and_spends_nothing)
{
	struct itl_user	 u;
	struct it_resp	 r;
	char		 loop[64], *n, *body;
	size_t		 f, i;

	itl_user(&u);
	itl_loop(&u, "{\"name\":\"l\",\"bars\":1}", loop, sizeof(loop));
	cr_assert_eq(budget_used(&u), 1);
	for (f = 0; f < sizeof(song_numbers) / sizeof(song_numbers[0]); f++)
		for (i = 0; i < OUT_OF_RANGE_FORMS; i++) {
			n = out_of_range(i);
			body = song_with(song_numbers[f], n, loop);
			send("POST", "/api/songs", &u, (int)(i % 2), body, &r);
			assert_names(&r, song_numbers[f], body);
			it_resp_free(&r);
			free(body);
			free(n);
		}
	cr_assert_eq(songs_of(&u), 0, "a song was stored");
	cr_assert_eq(budget_used(&u), 1, "the write budget was spent");
}

Test(numbers, an_edit_with_an_out_of_range_number_changes_nothing)
{
	struct itl_user	 u;
	struct it_resp	 r;
	char		 id[64], path[128], *v;
	long long	 spent;

	itl_user(&u);
	itl_loop(&u, "{\"name\":\"kept\",\"bars\":1,\"iconSequence\":[{\"bar\":0,"
	    "\"row\":0,\"soundId\":\"k\",\"pitch\":60}]}", id, sizeof(id));
	snprintf(path, sizeof(path), "/api/loops/%s", id);
	send("PATCH", path, &u, 0, "{\"bpm\":1e-20000}", &r);
	assert_names(&r, "bpm", "patch");
	it_resp_free(&r);
	/*
	 * No budget assertion for PATCH: it reads the stored loop before
	 * it can judge the merged document, and the budget rides on that
	 * first statement (handlers/writes.c, gated_run).
	 */
	send("PATCH", path, &u, 0, "{\"iconSequence\":[{\"bar\":0,\"row\":0,"
	    "\"soundId\":\"k\",\"pitch\":60,\"velocity\":5e-1073741823}]}", &r);
	assert_names(&r, "iconSequence[0].velocity", "patch");
	it_resp_free(&r);
	spent = budget_used(&u);
	send("PUT", path, &u, 0, "{\"name\":\"x\",\"bars\":1,\"version\":"
	    "0e99999999999}", &r);
	assert_names(&r, "version", "put");
	it_resp_free(&r);
	send("PUT", path, &u, 0, "{\"name\":\"x\",\"bars\":1,\"bpm\":"
	    "5e-1073741823}", &r);
	assert_names(&r, "bpm", "put");
	it_resp_free(&r);
	cr_assert_eq(budget_used(&u), spent, "a refused PUT spent budget");
	v = itl_text1("SELECT name || ' v' || version || ' ' || bpm FROM loops "
	    "WHERE id = $1::uuid", id);
	cr_assert_str_eq(v, "kept v1 120");
	free(v);
}

#define STEP	"{\"name\":\"v\",\"bars\":1,\"iconSequence\":[{\"bar\":0," \
		"\"row\":0,\"soundId\":\"k\",\"pitch\":60,\"velocity\":%s}]}"

Test(numbers, a_velocity_is_compared_exactly_and_keeps_at_most_32_decimals)
{
	struct itl_user	 u;
	struct it_resp	 r;
	char		 body[512];

	itl_user(&u);
	/* Read through a double these were 1 and 0: exactly, neither. */
	snprintf(body, sizeof(body), STEP, "1.0000000000000000001");
	send("POST", "/api/loops", &u, 0, body, &r);
	assert_names(&r, "iconSequence[0].velocity", body);
	it_resp_free(&r);
	snprintf(body, sizeof(body), STEP, "-1e-400");
	send("POST", "/api/loops", &u, 0, body, &r);
	assert_names(&r, "iconSequence[0].velocity", body);
	it_resp_free(&r);
	snprintf(body, sizeof(body), STEP, "1e-33");
	send("POST", "/api/loops", &u, 0, body, &r);
	assert_names(&r, "iconSequence[0].velocity", body);
	it_resp_free(&r);
	cr_assert_eq(loops_of(&u), 0);
	cr_assert_eq(budget_used(&u), 0);
	/* At the limits: stored, and served as PostgreSQL prints them. */
	snprintf(body, sizeof(body), STEP, "1e-32");
	send("POST", "/api/loops", &u, 0, body, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(json_object_to_json_string_ext(it_get(r.json,
	    "loop.iconSequence.0.velocity"), JSON_C_TO_STRING_PLAIN),
	    "0.00000000000000000000000000000001");
	it_resp_free(&r);
	snprintf(body, sizeof(body), STEP, "1.000");
	send("POST", "/api/loops", &u, 0, body, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	it_resp_free(&r);
	snprintf(body, sizeof(body), STEP, "-0");
	send("POST", "/api/loops", &u, 0, body, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	it_resp_free(&r);
	cr_assert_eq(loops_of(&u), 3);
}

Test(numbers, integers_are_read_exactly_from_their_text)
{
	struct itl_user	 u;
	struct it_resp	 r;

	itl_user(&u);
	/* Through a double these were 120 and 0. */
	send("POST", "/api/loops", &u, 0, "{\"name\":\"i\",\"bars\":1,"
	    "\"bpm\":120.0000000000000001}", &r);
	assert_names(&r, "bpm", "bpm");
	it_resp_free(&r);
	send("POST", "/api/loops", &u, 0, "{\"name\":\"i\",\"bars\":1,"
	    "\"chordProgression\":[{\"bar\":1e-300,\"chord\":\"C\"}]}", &r);
	assert_names(&r, "chordProgression[0].bar", "bar");
	it_resp_free(&r);
	cr_assert_eq(loops_of(&u), 0);
	send("POST", "/api/loops", &u, 0, "{\"name\":\"i\",\"bars\":4e0,"
	    "\"bpm\":12000e-2,\"schemaVersion\":0.2e1}", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_eq(it_int(r.json, "loop.bpm"), 120);
	cr_assert_eq(it_int(r.json, "loop.bars"), 4);
	cr_assert_eq(it_int(r.json, "loop.schemaVersion"), 2);
	it_resp_free(&r);
}

/*
 * The C judgement of numeric limits agrees with the running
 * PostgreSQL, on the boundaries of each limit.
 */
static char *
repeat(const char *head, char c, size_t n, const char *tail)
{
	struct buf	 b = BUF_INIT;
	size_t		 i;

	buf_puts(&b, head);
	for (i = 0; i < n; i++)
		buf_putc(&b, c);
	buf_puts(&b, tail);
	return buf_detach(&b);
}

Test(numbers, the_c_judgement_of_numeric_limits_matches_postgresql)
{
	const char	*fixed[] = { "0e1073741822", "0e1073741823",
	    "0e-1073741822", "5e-1073741823", "0e99999999999", "1e-20000",
	    "1e-16383", "0e-16383", "0e-16384", "1.5e-16382", "1.55e-16382",
	    "0.0001e-16379", "0.0001e-16380", "1e131071", "9.9e131071",
	    "1e131072", "10e131071", "0e1000000", "-0", "1E+5",
	    "1e0000000000000000000000005", "-12.75e+003", "0.5" };
	char		*texts[sizeof(fixed) / sizeof(fixed[0]) + 6];
	struct jv_decimal d;
	const char	*p[1];
	char		*pg;
	size_t		 i, n = 0;

	cr_assert_eq(it_db_exec("CREATE OR REPLACE FUNCTION "
	    "pg_temp.jsonb_takes(t text) RETURNS boolean LANGUAGE plpgsql AS "
	    "$$ BEGIN PERFORM t::jsonb; RETURN true; EXCEPTION WHEN OTHERS "
	    "THEN RETURN false; END $$"), 0);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		texts[n++] = xstrdup(fixed[i]);
	texts[n++] = repeat("0.", '0', 16383, "");
	texts[n++] = repeat("0.", '0', 16384, "");
	texts[n++] = repeat("0.", '0', 20000, "1e20000");
	texts[n++] = repeat("1", '0', 131071, "");
	texts[n++] = repeat("1", '0', 131072, "");
	texts[n++] = repeat("-1", '0', 131071, ".5");
	for (i = 0; i < n; i++) {
		cr_assert_eq(jv_decimal_read(texts[i], &d), 0);
		p[0] = texts[i];
		pg = it_db_text("SELECT pg_temp.jsonb_takes($1)", 1, p);
		cr_assert_not_null(pg);
		cr_assert_eq(jv_decimal_fits_numeric(&d), strcmp(pg, "t") == 0,
		    "%.40s (%zu chars): C says %d, PostgreSQL %s", texts[i],
		    strlen(texts[i]), jv_decimal_fits_numeric(&d), pg);
		free(pg);
		free(texts[i]);
	}
}
