#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "handlers/model.h"

static struct config cfg;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.jwt_secret, "0123456789abcdef0123456789abcdef", 32);
	cfg.jwt_secret_len = 32;
}

TestSuite(model, .init = setup);

Test(model, strings_are_measured_in_characters_not_bytes)
{
	json_object *o = json_tokener_parse("{\"n\":\"\xc3\xa9t\xc3\xa9\"}");
	struct field_errors fe;
	const char *s;

	field_errors_init(&fe);
	cr_assert_eq(jv_string(o, "n", "n", 1, 3, &fe, &s), JV_OK);
	cr_assert_eq(jv_string(o, "n", "n", 4, 9, &fe, &s), JV_BAD);
	cr_assert_eq(jv_string(o, "x", "x", 1, 3, &fe, &s), JV_ABSENT);
	cr_assert_eq(fe.count, 1);
	field_errors_release(&fe);
	json_object_put(o);
}

Test(model, strings_with_nul_or_of_another_type_are_refused)
{
	json_object *o = json_tokener_parse("{\"a\":\"x\\u0000y\",\"b\":5}");
	struct field_errors fe;
	const char *s;

	field_errors_init(&fe);
	cr_assert_eq(jv_string(o, "a", "a", 0, 9, &fe, &s), JV_BAD);
	cr_assert_eq(jv_string(o, "b", "b", 0, 9, &fe, &s), JV_BAD);
	cr_assert_eq(fe.count, 2);
	field_errors_release(&fe);
	json_object_put(o);
}

Test(model, integers_must_be_json_integers_in_range)
{
	json_object *o = json_tokener_parse("{\"a\":4,\"b\":4.0,\"c\":\"4\","
	    "\"d\":128,\"e\":99999999999999999999}");
	struct field_errors fe;
	long long n;

	field_errors_init(&fe);
	cr_assert_eq(jv_integer_literal(o, "a", "a", 0, 127, &fe, &n), JV_OK);
	cr_assert_eq(n, 4);
	cr_assert_eq(jv_integer_literal(o, "b", "b", 0, 127, &fe, &n), JV_BAD);
	cr_assert_eq(jv_integer_literal(o, "c", "c", 0, 127, &fe, &n), JV_BAD);
	cr_assert_eq(jv_integer_literal(o, "d", "d", 0, 127, &fe, &n), JV_BAD);
	cr_assert_eq(jv_integer_literal(o, "e", "e", 0, INT64_MAX, &fe, &n),
	    JV_BAD);
	field_errors_release(&fe);
	json_object_put(o);
}

Test(model, numbers_keep_their_original_text)
{
	json_object *o = json_tokener_parse("{\"v\":0.123,\"w\":1e2,\"x\":1.1}");
	struct field_errors fe;
	json_object *v;

	field_errors_init(&fe);
	cr_assert_eq(jv_number(o, "v", "v", 0, 1, 32, &fe, &v), JV_OK);
	cr_assert_str_eq(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
	    "0.123");
	cr_assert_eq(jv_number(o, "w", "w", 0, 1000, 32, &fe, &v), JV_OK);
	cr_assert_eq(jv_number(o, "x", "x", 0, 1, 32, &fe, &v), JV_BAD);
	field_errors_release(&fe);
	json_object_put(o);
}

Test(model, hex_colours)
{
	cr_assert(jv_is_hex_color("#FFD11a"));
	cr_assert_not(jv_is_hex_color("#GGGGGG"));
	cr_assert_not(jv_is_hex_color("red"));
	cr_assert_not(jv_is_hex_color("#FFD11A0"));
}

Test(model, a_cursor_round_trips)
{
	struct page_cursor c = { -42, "0b7c2e1a-1d2f-4c3b-9a8e-7f6d5c4b3a21", 77 }, d;
	char *t;

	t = cursor_encode(&cfg, "loops:new", &c);
	cr_assert_not_null(t);
	cr_assert_eq(cursor_decode(&cfg, "loops:new", t, &d), 0);
	cr_assert_eq(d.key, -42);
	cr_assert_str_eq(d.id, c.id);
	cr_assert_eq(d.filter, 77);
	free(t);
}

Test(model, a_tampered_garbled_or_foreign_cursor_is_refused)
{
	struct page_cursor c = { 1000, "0b7c2e1a-1d2f-4c3b-9a8e-7f6d5c4b3a21", 1 }, d;
	char *t;

	t = cursor_encode(&cfg, "loops:new", &c);
	cr_assert_neq(cursor_decode(&cfg, "loops:top", t, &d), 0);
	t[5] = t[5] == 'A' ? 'B' : 'A';
	cr_assert_neq(cursor_decode(&cfg, "loops:new", t, &d), 0);
	cr_assert_neq(cursor_decode(&cfg, "loops:new", "garbage!", &d), 0);
	cr_assert_neq(cursor_decode(&cfg, "loops:new", "", &d), 0);
	free(t);
}

Test(model, limits_are_digits_within_range)
{
	int l;

	cr_assert_eq(page_limit("", 20, 100, &l), 0);
	cr_assert_eq(l, 20);
	cr_assert_eq(page_limit("limit=100", 20, 100, &l), 0);
	cr_assert_eq(l, 100);
	cr_assert_eq(page_limit("limit=0", 20, 100, &l), -1);
	cr_assert_eq(page_limit("limit=101", 20, 100, &l), -1);
	cr_assert_eq(page_limit("limit=-1", 20, 100, &l), -1);
	cr_assert_eq(page_limit("limit=5x", 20, 100, &l), -1);
	cr_assert_eq(page_limit("limit=", 20, 100, &l), -1);
}

Test(model, etag_lists_parse_strong_tags_and_star)
{
	long long v[4];
	size_t n;
	int any;

	cr_assert_eq(etag_parse_list("\"v3\", W/\"v4\", \"v5\"", v, 4, &n, &any), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(v[0], 3);
	cr_assert_eq(v[1], 5);
	cr_assert_eq(any, 0);
	cr_assert_eq(etag_parse_list("*", v, 4, &n, &any), 0);
	cr_assert_eq(any, 1);
	cr_assert_eq(etag_parse_list("v3", v, 4, &n, &any), -1);
}

Test(model, if_none_match_compares_weakly)
{
	char t[ETAG_MAX];

	etag_format(t, sizeof(t), 7);
	cr_assert_str_eq(t, "\"v7\"");
	cr_assert(etag_none_match("\"v7\"", 7));
	cr_assert(etag_none_match("W/\"v7\"", 7));
	cr_assert(etag_none_match("*", 7));
	cr_assert_not(etag_none_match("\"v6\"", 7));
	cr_assert_not(etag_none_match(NULL, 7));
}

Test(model, strings_must_be_well_formed_utf8)
{
	/* Overlong NUL, a surrogate, and a code point above U+10FFFF:
	 * json-c's own check lets all three through. */
	static const char *bad[] = { "{\"a\":\"x\xc0\x80y\"}",
	    "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}" };
	struct field_errors fe;
	json_object *o;
	const char *s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		field_errors_init(&fe);
		o = json_tokener_parse(bad[i]);
		if (o == NULL)
			continue;	/* refused earlier: fine too */
		cr_assert_eq(jv_string(o, "a", "a", 0, 9, &fe, &s), JV_BAD,
		    "case %zu", i);
		json_object_put(o);
		field_errors_release(&fe);
	}
	cr_assert(jv_utf8_is_valid("\xc3\xa9\xf0\x9f\x8e\xb5", 6));
}

Test(model, query_names_outside_the_known_lists_are_each_reported)
{
	static const char *const known[] = { "limit", "cursor", NULL };
	static const char *const more[] = { "q", NULL };
	struct field_errors fe;

	field_errors_init(&fe);
	cr_assert_eq(query_check_names("limit=5&cursor=&q", known, more, &fe),
	    0);
	cr_assert_eq(query_check_names("", known, more, &fe), 0);
	cr_assert_eq(query_check_names("limit=1&&q=2&", known, NULL, &fe), 1);
	cr_assert(strstr(fe.json.data, "\"field\":\"q\"") != NULL);
	cr_assert_eq(query_check_names("liked=true&limits=2&lim=3&%6Cimit=4",
	    known, more, &fe), 4);
	cr_assert(strstr(fe.json.data, "\"field\":\"liked\"") != NULL);
	cr_assert(strstr(fe.json.data, "\"field\":\"limits\"") != NULL);
	cr_assert(strstr(fe.json.data, "\"field\":\"lim\"") != NULL);
	cr_assert(strstr(fe.json.data, "\"field\":\"%6Cimit\"") != NULL);
	cr_assert_eq(fe.count, 5);
	field_errors_release(&fe);
}

Test(model, an_unknown_query_name_is_reported_in_printable_ascii_and_cut)
{
	static const char *const known[] = { "limit", NULL };
	struct field_errors fe;
	char		 q[200];

	field_errors_init(&fe);
	cr_assert_eq(query_check_names("\xc3\xa9t\x01=1", known, NULL, &fe), 1);
	cr_assert(strstr(fe.json.data, "\"field\":\"??t?\"") != NULL, "%s",
	    fe.json.data);
	memset(q, 'a', 150);
	q[150] = '\0';
	cr_assert_eq(query_check_names(q, known, NULL, &fe), 1);
	cr_assert_eq(strlen(strstr(fe.json.data, "aaaa")) - strlen("\",\""
	    "message\":\"is not a parameter of this list\"}"), 64);
	field_errors_release(&fe);
}

/* "<head><n zeros><tail>" in a string the caller frees. */
static char *
padded(const char *head, size_t n, const char *tail)
{
	size_t	 h = strlen(head), t = strlen(tail);
	char	*s = malloc(h + n + t + 1);

	memcpy(s, head, h);
	memset(s + h, '0', n);
	memcpy(s + h + n, tail, t + 1);
	return s;
}

static int
fits(const char *text)
{
	struct jv_decimal d;

	cr_assert_eq(jv_decimal_read(text, &d), 0, "%.40s", text);
	return jv_decimal_fits_numeric(&d);
}

Test(model, a_number_is_read_as_an_exact_decimal)
{
	struct jv_decimal d;

	cr_assert_eq(jv_decimal_read("0.123", &d), 0);
	cr_assert(d.nsig == 3 && d.lead == -1 && d.scale == 3 && !d.neg);
	cr_assert_str_eq(d.head, "123");
	cr_assert_eq(jv_decimal_read("-120.500e1", &d), 0);
	cr_assert(d.nsig == 4 && d.lead == 3 && d.scale == 2 && d.neg);
	cr_assert_str_eq(d.head, "1205");
	cr_assert_eq(jv_decimal_read("0.00e-3", &d), 0);
	cr_assert(d.nsig == 0 && d.scale == 5);
	cr_assert_eq(jv_decimal_read("1e0000000000000000000000005", &d), 0);
	cr_assert(d.exp == 5 && d.lead == 5);
	cr_assert_eq(jv_decimal_read("12a", &d), -1);
	cr_assert_eq(jv_decimal_read("1.", &d), -1);
	cr_assert_eq(jv_decimal_read("NaN", &d), -1);
}

Test(model, postgresql_numeric_limits_are_met_exactly)
{
	char	*s;

	/* The exponent: its magnitude must stay below INT_MAX / 2. */
	cr_assert(fits("0e1073741822"));
	cr_assert_not(fits("0e1073741823"));
	cr_assert_not(fits("0e99999999999"));
	cr_assert_not(fits("5e-1073741823"));
	cr_assert_not(fits("0e-1073741822"));	/* scale, then */
	/* After the point: 16383 digits, the exponent applied. */
	cr_assert(fits("1e-16383"));
	cr_assert(fits("0e-16383"));
	cr_assert(fits("1.5e-16382"));
	cr_assert(fits("0.0001e-16379"));
	cr_assert_not(fits("1.55e-16382"));
	cr_assert_not(fits("0e-16384"));
	cr_assert_not(fits("0.0001e-16380"));
	cr_assert_not(fits("1e-20000"));
	s = padded("0.", 16383, "");
	cr_assert(fits(s));
	free(s);
	s = padded("0.", 16384, "");
	cr_assert_not(fits(s));
	free(s);
	s = padded("0.", 20000, "");
	cr_assert_not(fits(s));
	free(s);
	s = padded("0.", 20000, "1e20000");
	cr_assert(fits(s));
	free(s);
	/* Before the point: 131072 digits (weight 32767 in base 10000). */
	cr_assert(fits("1e131071"));
	cr_assert(fits("9.9e131071"));
	cr_assert_not(fits("1e131072"));
	cr_assert_not(fits("10e131071"));
	s = padded("1", 131071, "");
	cr_assert(fits(s));
	free(s);
	s = padded("1", 131072, "");
	cr_assert_not(fits(s));
	free(s);
	/* Zero needs no weight, but its scale counts. */
	cr_assert(fits("0e1000000"));
	cr_assert(fits("-0"));
	cr_assert(fits("0.5"));
	cr_assert(fits("-12.75e+003"));
}

Test(model, integers_are_judged_on_their_text_not_a_double)
{
	json_object *o = json_tokener_parse("{\"a\":1e-20000,\"b\":"
	    "120.0000000000000001,\"c\":1.2e2,\"d\":12000e-2,\"e\":0e99999999999,"
	    "\"f\":-0.0,\"g\":1e-5,\"h\":120.000,\"i\":5e-1073741823,"
	    "\"j\":-3.0e0,\"k\":3000e-3}");
	struct field_errors fe;
	long long n;

	field_errors_init(&fe);
	cr_assert_eq(jv_integer_value(o, "a", "a", 0, 15, &fe, &n), JV_BAD);
	cr_assert(strstr(fe.first.data, "PostgreSQL") != NULL, "%s", fe.first.data);
	cr_assert_eq(jv_integer_value(o, "b", "b", 40, 300, &fe, &n), JV_BAD);
	cr_assert_eq(jv_integer_value(o, "c", "c", 40, 300, &fe, &n), JV_OK);
	cr_assert_eq(n, 120);
	cr_assert_eq(jv_integer_value(o, "d", "d", 40, 300, &fe, &n), JV_OK);
	cr_assert_eq(n, 120);
	cr_assert_eq(jv_integer_value(o, "e", "e", 0, 15, &fe, &n), JV_BAD);
	cr_assert_eq(jv_integer_value(o, "f", "f", 0, 15, &fe, &n), JV_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(jv_integer_value(o, "g", "g", 0, 15, &fe, &n), JV_BAD);
	cr_assert_eq(jv_integer_value(o, "h", "h", 40, 300, &fe, &n), JV_OK);
	cr_assert_eq(n, 120);
	cr_assert_eq(jv_integer_value(o, "i", "i", 0, 15, &fe, &n), JV_BAD);
	cr_assert_eq(jv_integer_value(o, "j", "j", -5, 5, &fe, &n), JV_OK);
	cr_assert_eq(n, -3);
	cr_assert_eq(jv_integer_value(o, "k", "k", 0, 2, &fe, &n), JV_BAD);
	cr_assert_eq(jv_integer_value(o, "k", "k", 3, 3, &fe, &n), JV_OK);
	cr_assert_eq(n, 3);
	cr_assert_eq(fe.count, 6);
	field_errors_release(&fe);
	json_object_put(o);
}

Test(model, a_number_in_range_is_judged_exactly_and_its_scale_is_capped)
{
	json_object *o = json_tokener_parse("{\"a\":1.0000000000000000001,"
	    "\"b\":1.000,\"c\":1e0,\"d\":0.5e-3,\"e\":-0,\"f\":-1e-5,"
	    "\"g\":1e-20000,\"h\":0,\"i\":1,\"j\":2,\"k\":"
	    "0.10000000000000000000000000000000,\"l\":"
	    "0.100000000000000000000000000000000,\"m\":1e-32,\"n\":1e-33,"
	    "\"o\":0e-16384}");
	struct field_errors fe;
	json_object *v;

	field_errors_init(&fe);
	cr_assert_eq(jv_number(o, "a", "a", 0, 1, 32, &fe, &v), JV_BAD);
	cr_assert_eq(jv_number(o, "b", "b", 0, 1, 32, &fe, &v), JV_OK);
	cr_assert_eq(jv_number(o, "c", "c", 0, 1, 32, &fe, &v), JV_OK);
	cr_assert_eq(jv_number(o, "d", "d", 0, 1, 32, &fe, &v), JV_OK);
	cr_assert_eq(jv_number(o, "e", "e", 0, 1, 32, &fe, &v), JV_OK);
	cr_assert_eq(jv_number(o, "f", "f", 0, 1, 32, &fe, &v), JV_BAD);
	cr_assert_eq(jv_number(o, "g", "g", 0, 1, 32, &fe, &v), JV_BAD);
	cr_assert_eq(jv_number(o, "h", "h", 0, 1, 32, &fe, &v), JV_OK);
	cr_assert_eq(jv_number(o, "i", "i", 0, 1, 32, &fe, &v), JV_OK);
	cr_assert_eq(jv_number(o, "j", "j", 0, 1, 32, &fe, &v), JV_BAD);
	cr_assert_eq(jv_number(o, "k", "k", 0, 1, 32, &fe, &v), JV_OK);
	cr_assert_eq(jv_number(o, "l", "l", 0, 1, 32, &fe, &v), JV_BAD);
	cr_assert_eq(jv_number(o, "m", "m", 0, 1, 32, &fe, &v), JV_OK);
	cr_assert_eq(jv_number(o, "n", "n", 0, 1, 32, &fe, &v), JV_BAD);
	cr_assert_eq(jv_number(o, "o", "o", 0, 1, 32, &fe, &v), JV_BAD);
	cr_assert_eq(fe.count, 7);
	field_errors_release(&fe);
	json_object_put(o);
}

Test(model, decimals_compare_exactly_with_integers)
{
	struct jv_decimal d;

	jv_decimal_read("300", &d);
	cr_assert_eq(jv_decimal_cmp(&d, 300), 0);
	cr_assert_eq(jv_decimal_cmp(&d, 299), 1);
	cr_assert_eq(jv_decimal_cmp(&d, 301), -1);
	cr_assert_eq(jv_decimal_cmp(&d, -300), 1);
	jv_decimal_read("300.00000000000000000000001", &d);
	cr_assert_eq(jv_decimal_cmp(&d, 300), 1);
	jv_decimal_read("-9223372036854775808", &d);
	cr_assert_eq(jv_decimal_cmp(&d, INT64_MIN), 0);
	jv_decimal_read("-9223372036854775809", &d);
	cr_assert_eq(jv_decimal_cmp(&d, INT64_MIN), -1);
	jv_decimal_read("-0.0", &d);
	cr_assert_eq(jv_decimal_cmp(&d, 0), 0);
	jv_decimal_read("1e-300", &d);
	cr_assert_eq(jv_decimal_cmp(&d, 0), 1);
	cr_assert_eq(jv_decimal_cmp(&d, 1), -1);
}
