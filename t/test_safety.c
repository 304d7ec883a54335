/* Unit tests: Idempotency-Key parsing, fingerprints, sealed answers,
 * replays, RateLimit fields and the sync cursor codec. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "handlers/handlers.h"
#include "handlers/model.h"

static struct config cfg;

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.jwt_secret, "0123456789abcdef0123456789abcdef-unit", 37);
	cfg.jwt_secret_len = 37;
	cfg.write_limit = 600;
	cfg.write_window_s = 3600;
}

static int
key_ok(const char *h, const char *want)
{
	char	 out[IDEM_KEY_MAX + 1];

	if (idem_key_parse(h, out, sizeof(out)) != 0)
		return 0;
	return strcmp(out, want) == 0;
}

static int
key_bad(const char *h)
{
	char	 out[IDEM_KEY_MAX + 1];

	return idem_key_parse(h, out, sizeof(out)) == -1;
}

Test(idempotency_key, any_printable_ascii_of_1_to_255_is_a_key)
{
	char	 max[256];

	cr_assert(key_ok("a", "a"));
	cr_assert(key_ok("8e03978e-40d5-43e8-bc93-6894a57f9324",
	    "8e03978e-40d5-43e8-bc93-6894a57f9324"));
	cr_assert(key_ok("with space and ~!@#$%^&*()", "with space and ~!@#$%^&*()"));
	memset(max, 'k', 255);
	max[255] = '\0';
	cr_assert(key_ok(max, max));
}

Test(idempotency_key, one_pair_of_surrounding_quotes_is_stripped)
{
	cr_assert(key_ok("\"abc\"", "abc"));
	cr_assert(key_ok("\"\"abc\"\"", "\"abc\""));
	cr_assert(key_ok("\"abc", "\"abc"));
	cr_assert(key_ok("a\"b", "a\"b"));
}

Test(idempotency_key, empty_too_long_or_non_printable_is_refused)
{
	char	 long_key[300];

	cr_assert(key_bad(""));
	cr_assert(key_bad("\"\""));
	cr_assert(key_bad(NULL));
	memset(long_key, 'k', 256);
	long_key[256] = '\0';
	cr_assert(key_bad(long_key));
	long_key[0] = long_key[255] = '"';	/* 254 inside the quotes */
	cr_assert(!key_bad(long_key));
	cr_assert(key_bad("tab\there"));
	cr_assert(key_bad("bell\a"));
	cr_assert(key_bad("del\x7f"));
	cr_assert(key_bad("caf\xc3\xa9"));
}

Test(idempotency_key, a_too_small_output_buffer_is_refused)
{
	char	 out[8];

	cr_assert_eq(idem_key_parse("abc", out, sizeof(out)), -1);
}

static void
fp(const char *m, const char *p, const char *q, const char *b,
    unsigned char *out)
{
	idem_fingerprint(&cfg, m, p, q, b, b ? strlen(b) : 0, out);
}

/* Two requests (method, path, query, body) and whether they are one. */
struct fp_row {
	const char	*what;
	const char	*a[4];
	const char	*b[4];
	int		 same;
};

static void
assert_fp_rows(const struct fp_row *rows, size_t n)
{
	unsigned char	 a[32], b[32];
	size_t		 i;

	for (i = 0; i < n; i++) {
		fp(rows[i].a[0], rows[i].a[1], rows[i].a[2], rows[i].a[3], a);
		fp(rows[i].b[0], rows[i].b[1], rows[i].b[2], rows[i].b[3], b);
		if (rows[i].same)
			cr_assert_eq(memcmp(a, b, 32), 0, "%s", rows[i].what);
		else
			cr_assert_neq(memcmp(a, b, 32), 0, "%s", rows[i].what);
	}
}

#define LOOP_A	{ "POST", "/api/loops", "", "{\"name\":\"a\"}" }

Test(fingerprint, depends_on_method_path_query_and_body, .init = setup)
{
	static const struct fp_row rows[] = {
		{ "one request twice", LOOP_A, LOOP_A, 1 },
		{ "another body", LOOP_A,
		    { "POST", "/api/loops", "", "{\"name\":\"b\"}" }, 0 },
		{ "another method", LOOP_A,
		    { "PUT", "/api/loops", "", "{\"name\":\"a\"}" }, 0 },
		{ "another path", LOOP_A,
		    { "POST", "/api/songs", "", "{\"name\":\"a\"}" }, 0 },
		{ "another query", LOOP_A,
		    { "POST", "/api/loops", "x=1", "{\"name\":\"a\"}" }, 0 },
	};

	assert_fp_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(fingerprint, field_boundaries_cannot_be_shifted, .init = setup)
{
	static const struct fp_row rows[] = {
		{ "the query's byte moved into the path",
		    { "POST", "/api/loops", "a", "b" },
		    { "POST", "/api/loopsa", "", "b" }, 0 },
		{ "the query's byte moved into the body",
		    { "POST", "/api/loops", "a", "b" },
		    { "POST", "/api/loops", "", "ab" }, 0 },
	};

	assert_fp_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(fingerprint, is_keyed_by_the_secret_not_a_bare_sha256, .init = setup)
{
	unsigned char	 a[32], b[32], bare[32];
	const char	 msg[] = "POST\0/api/auth/signup\0\0{}";

	fp("POST", "/api/auth/signup", "", "{}", a);
	crypto_hash_sha256(bare, (const unsigned char *)msg, sizeof(msg) - 1);
	cr_assert_neq(memcmp(a, bare, 32), 0);
	cfg.jwt_secret[0] ^= 1;
	fp("POST", "/api/auth/signup", "", "{}", b);
	cr_assert_neq(memcmp(a, b, 32), 0);
}

Test(fingerprint, no_body_and_an_empty_body_are_the_same_request,
    .init = setup)
{
	unsigned char	 a[32], b[32];

	fp("POST", "/api/loops/x/plays", "", NULL, a);
	fp("POST", "/api/loops/x/plays", "", "", b);
	cr_assert_eq(memcmp(a, b, 32), 0);
}

Test(sealed_answer, opens_to_what_was_sealed_and_hides_it, .init = setup)
{
	const char	*body = "{\"user\":{},\"token\":\"eyJ.secret.token\"}";
	char		*sealed, *opened;
	size_t		 len;

	sealed = idem_seal(&cfg, body, strlen(body));
	cr_assert_null(strstr(sealed, "token"));
	cr_assert_null(strstr(sealed, "eyJ"));
	opened = idem_open(&cfg, sealed, &len);
	cr_assert_not_null(opened);
	cr_assert_eq(len, strlen(body));
	cr_assert_str_eq(opened, body);
	free(opened);
	free(sealed);
}

Test(sealed_answer, an_empty_body_round_trips, .init = setup)
{
	char	*sealed, *opened;
	size_t	 len = 99;

	sealed = idem_seal(&cfg, NULL, 0);
	opened = idem_open(&cfg, sealed, &len);
	cr_assert_not_null(opened);
	cr_assert_eq(len, 0);
	cr_assert_str_eq(opened, "");
	free(opened);
	free(sealed);
}

Test(sealed_answer, tampered_garbled_or_foreign_does_not_open, .init = setup)
{
	char	*sealed, *opened;
	size_t	 len;

	sealed = idem_seal(&cfg, "{\"a\":1}", 7);
	sealed[strlen(sealed) / 2] ^= 1;
	cr_assert_null(idem_open(&cfg, sealed, &len));
	free(sealed);
	cr_assert_null(idem_open(&cfg, "", &len));
	cr_assert_null(idem_open(&cfg, "not*base64", &len));
	cr_assert_null(idem_open(&cfg, "AAAA", &len));
	sealed = idem_seal(&cfg, "{\"a\":1}", 7);
	cfg.jwt_secret[1] ^= 1;
	opened = idem_open(&cfg, sealed, &len);
	cr_assert_null(opened);
	free(sealed);
}

Test(replay, repeats_status_stored_headers_and_body_marked_replayed,
    .init = setup)
{
	struct http_response	 r, s;
	struct buf		 h = BUF_INIT;
	const char		*body = "{\"loop\":{\"id\":\"x\"}}";

	http_response_init(&r);
	http_set_header(&r, "Location", "/api/loops/x");
	http_set_header(&r, "ETag", "\"3\"");
	http_set_header(&r, "X-Request-Id", "first");
	http_set_header(&r, "RateLimit-Remaining", "7");
	http_response_json(&r, 201, body, strlen(body));
	idem_headers_json(&r, &h);
	cr_assert_null(strstr(h.data, "first"));
	cr_assert_null(strstr(h.data, "RateLimit"));

	http_response_init(&s);
	http_set_header(&s, "X-Request-Id", "second");
	cr_assert_eq(idem_replay(&s, 201, h.data, body, strlen(body)), 0);
	cr_assert_eq(s.status, 201);
	cr_assert_str_eq(s.content_type, "application/json");
	cr_assert_str_eq(http_get_header(&s, "Location"), "/api/loops/x");
	cr_assert_str_eq(http_get_header(&s, "ETag"), "\"3\"");
	cr_assert_str_eq(http_get_header(&s, "Idempotent-Replayed"), "true");
	cr_assert_str_eq(http_get_header(&s, "X-Request-Id"), "second");
	cr_assert_str_eq(s.body.data, body);
	cr_assert(s.written);
	buf_release(&h);
	http_response_release(&r);
	http_response_release(&s);
}

Test(replay, a_204_replays_without_a_body, .init = setup)
{
	struct http_response	 r, s;
	struct buf		 h = BUF_INIT;

	http_response_init(&r);
	http_response_empty(&r, 204);
	idem_headers_json(&r, &h);
	cr_assert_str_eq(h.data, "{}");
	http_response_init(&s);
	cr_assert_eq(idem_replay(&s, 204, h.data, "", 0), 0);
	cr_assert_eq(s.status, 204);
	cr_assert_null(s.content_type);
	cr_assert_eq(s.body.len, 0);
	buf_release(&h);
	http_response_release(&r);
	http_response_release(&s);
}

Test(replay, malformed_stored_headers_are_refused, .init = setup)
{
	struct http_response	 s;

	http_response_init(&s);
	cr_assert_eq(idem_replay(&s, 201, "nope", "{}", 2), -1);
	cr_assert_eq(idem_replay(&s, 201, "[1]", "{}", 2), -1);
	cr_assert_eq(idem_replay(&s, 42, "{}", "{}", 2), -1);
	cr_assert(!s.written);
	http_response_release(&s);
}

Test(ratelimit, fields_say_limit_remaining_and_seconds_to_reset)
{
	struct http_response	 r;

	http_response_init(&r);
	ratelimit_headers(&r, 600, 1, 3600);
	cr_assert_str_eq(http_get_header(&r, "RateLimit-Limit"), "600");
	cr_assert_str_eq(http_get_header(&r, "RateLimit-Remaining"), "599");
	cr_assert_str_eq(http_get_header(&r, "RateLimit-Reset"), "3600");
	ratelimit_headers(&r, 600, 601, 0);
	cr_assert_str_eq(http_get_header(&r, "RateLimit-Remaining"), "0");
	cr_assert_str_eq(http_get_header(&r, "RateLimit-Reset"), "1");
	http_response_release(&r);
}

Test(ratelimit, the_default_budget_is_600_writes_an_hour)
{
	struct config	 c;
	const char	*err;

	unsetenv("MP_WRITE_LIMIT");
	unsetenv("MP_WRITE_WINDOW");
	unsetenv("MP_IDEMPOTENCY_TTL");
	unsetenv("MP_TOMBSTONE_DAYS");
	setenv("MP_ENV", "development", 1);
	cr_assert_eq(config_load(&c, &err), 0);
	cr_assert_eq(c.write_limit, 600);
	cr_assert_eq(c.write_window_s, 3600);
	cr_assert_eq(c.idempotency_ttl_s, 86400);
	cr_assert_eq(c.tombstone_days, 30);
}

#define USER	"6f1c2d3e-4b5a-4978-8a1b-2c3d4e5f6071"
#define OTHER	"0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3"

Test(sync_cursor, round_trips_position_and_mark, .init = setup)
{
	long long	 pos, mark;
	char		*c;

	c = sync_cursor_encode(&cfg, USER, 42, 1000);
	cr_assert_not_null(c);
	cr_assert_eq(sync_cursor_decode(&cfg, USER, c, &pos, &mark), 0);
	cr_assert_eq(pos, 42);
	cr_assert_eq(mark, 1000);
	free(c);
	c = sync_cursor_encode(&cfg, USER, 0, 0);
	cr_assert_eq(sync_cursor_decode(&cfg, USER, c, &pos, &mark), 0);
	cr_assert_eq(pos, 0);
	free(c);
}

Test(sync_cursor, is_url_safe_and_opaque, .init = setup)
{
	char	*c;
	size_t	 i;

	c = sync_cursor_encode(&cfg, USER, 123456789, 123456789);
	for (i = 0; c[i] != '\0'; i++)
		cr_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
		    "tuvwxyz0123456789-_", c[i]) != NULL, "%s", c);
	cr_assert_null(strstr(c, "123456789"));
	free(c);
}

Test(sync_cursor, every_altered_character_is_refused, .init = setup)
{
	long long	 pos, mark;
	char		*c, saved;
	size_t		 i;

	c = sync_cursor_encode(&cfg, USER, 7, 9);
	for (i = 0; c[i] != '\0'; i++) {
		saved = c[i];
		c[i] = saved == 'A' ? 'B' : 'A';
		cr_assert_eq(sync_cursor_decode(&cfg, USER, c, &pos, &mark), -1,
		    "altered at %zu", i);
		c[i] = saved;
	}
	free(c);
}

Test(sync_cursor, garbled_truncated_or_another_users_is_refused,
    .init = setup)
{
	long long	 pos, mark;
	char		*c, *longer;

	c = sync_cursor_encode(&cfg, USER, 7, 9);
	cr_assert_eq(sync_cursor_decode(&cfg, OTHER, c, &pos, &mark), -1);
	cr_assert_eq(sync_cursor_decode(&cfg, USER, "", &pos, &mark), -1);
	cr_assert_eq(sync_cursor_decode(&cfg, USER, "7", &pos, &mark), -1);
	cr_assert_eq(sync_cursor_decode(&cfg, USER, "%%%%", &pos, &mark), -1);
	longer = malloc(strlen(c) + 3);
	strcpy(longer, c);
	strcat(longer, "AA");
	cr_assert_eq(sync_cursor_decode(&cfg, USER, longer, &pos, &mark), -1);
	c[strlen(c) - 2] = '\0';
	cr_assert_eq(sync_cursor_decode(&cfg, USER, c, &pos, &mark), -1);
	free(longer);
	free(c);
}

Test(sync_cursor, one_made_under_another_secret_is_refused, .init = setup)
{
	long long	 pos, mark;
	char		*c;

	c = sync_cursor_encode(&cfg, USER, 7, 9);
	cfg.jwt_secret[3] ^= 1;
	cr_assert_eq(sync_cursor_decode(&cfg, USER, c, &pos, &mark), -1);
	free(c);
}

Test(sync_cursor, a_malformed_user_id_makes_no_cursor, .init = setup)
{
	cr_assert_null(sync_cursor_encode(&cfg, "not-a-uuid", 1, 1));
}

Test(sync_cursor, a_cursor_of_another_list_is_refused, .init = setup)
{
	struct page_cursor	 pc;
	long long		 pos, mark;
	char			*c;

	memset(&pc, 0, sizeof(pc));
	pc.key = 7;
	snprintf(pc.id, sizeof(pc.id), "%s", USER);
	pc.filter = 9;
	c = cursor_encode(&cfg, "loops:new", &pc);
	cr_assert_not_null(c);
	cr_assert_eq(sync_cursor_decode(&cfg, USER, c, &pos, &mark), -1);
	free(c);
}

Test(read_after, an_lsn_of_two_hex_parts_is_read_in_either_case)
{
	uint64_t	 v;

	cr_assert_eq(read_after_parse("0/0", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(read_after_parse("16/B374D848", &v), 0);
	cr_assert_eq(v, (uint64_t)0x16 << 32 | 0xB374D848);
	cr_assert_eq(read_after_parse("ffffffff/ffffffff", &v), 0);
	cr_assert_eq(v, UINT64_MAX);
}

Test(read_after, anything_else_is_refused)
{
	static const char *const bad[] = { "", "0", "0/", "/0", "0/0/0",
	    "123456789/0", "0/123456789", " 0/0", "0/0 ", "g/0", "-1/0",
	    "0x1/0", "+1/0", NULL };
	uint64_t	 v = 7;
	size_t		 i;

	for (i = 0; bad[i] != NULL; i++) {
		cr_assert_eq(read_after_parse(bad[i], &v), -1, "%s", bad[i]);
		cr_assert_eq(v, 7, "%s", bad[i]);
	}
}
