#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "handlers/handlers.h"

static char last_err[160];

static int
parse(const char *s, size_t len)
{
	json_object *o;
	int r;

	last_err[0] = '\0';
	r = json_parse_object(s, len, &o, last_err, sizeof(last_err));
	json_object_put(o);
	return r;
}

#define P(s) parse((s), strlen(s))

/* "{\"a\":" depth-1 arrays "}": depth containers in all. */
static char *
nested(int depth)
{
	char	*s = malloc(2 * (size_t)depth + 16);
	size_t	 n = 0;
	int	 i;

	n += (size_t)sprintf(s, "{\"a\":");
	for (i = 1; i < depth; i++)
		s[n++] = '[';
	for (i = 1; i < depth; i++)
		s[n++] = ']';
	s[n++] = '}';
	s[n] = '\0';
	return s;
}

Test(json, an_object_parses)
{
	cr_assert_eq(P("{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null}}"), 0);
	cr_assert_eq(P(" {\"a\":1} \n"), 0);
}

Test(json, trailing_garbage_and_second_values_are_refused)
{
	cr_assert_eq(P("{\"a\":1} x"), -1);
	cr_assert_eq(P("{\"a\":1}{\"b\":2}"), -1);
}

Test(json, lax_syntax_is_refused)
{
	cr_assert_eq(P("{\"a\":1,}"), -1);
	cr_assert_eq(P("{\"a\":[01]}"), -1);
	cr_assert_eq(P("/*c*/{\"a\":1}"), -1);
	cr_assert_eq(P("{\"a\":TRUE}"), -1);
	cr_assert_eq(P(""), -1);
	cr_assert_eq(P("{\"a\":"), -1);
}

Test(json, only_an_object_is_a_body)
{
	cr_assert_eq(P("[1,2]"), -1);
	cr_assert_eq(P("42"), -1);
	cr_assert_eq(P("\"s\""), -1);
	cr_assert_eq(P("null"), -1);
}

Test(json, invalid_utf8_and_raw_nul_are_refused)
{
	cr_assert_eq(P("{\"a\":\"\xff\xfe\"}"), -1);
	cr_assert_eq(parse("{\"a\":\"x\0y\"}", 11), -1);
}

Test(json, nesting_deeper_than_the_cap_is_refused)
{
	size_t n = 10000, i;
	char *s = malloc(2 * n + 16);

	strcpy(s, "{\"a\":");
	for (i = 0; i < n; i++)
		strcat(s + 5 + i, "[");
	for (i = 0; i < n; i++)
		s[5 + n + i] = ']';
	strcpy(s + 5 + 2 * n, "}");
	cr_assert_eq(P(s), -1);
	free(s);
}

Test(json, single_quoted_strings_are_refused)
{
	cr_assert_eq(P("{'displayName':\"x\"}"), -1);
	cr_assert(strstr(last_err, "double quotes") != NULL, "%s", last_err);
	cr_assert_eq(P("{\"displayName\":'x'}"), -1);
	cr_assert_eq(P("{\"a\":['x']}"), -1);
}

Test(json, nan_and_infinity_are_refused)
{
	cr_assert_eq(P("{\"bpm\":NaN}"), -1);
	cr_assert(strstr(last_err, "NaN") != NULL, "%s", last_err);
	cr_assert_eq(P("{\"bpm\":Infinity}"), -1);
	cr_assert_eq(P("{\"bpm\":-Infinity}"), -1);
	cr_assert_eq(P("{\"bpm\":-NaN}"), -1);
	cr_assert_eq(P("{\"bpm\":nan}"), -1);
	cr_assert_eq(P("{\"bpm\":inf}"), -1);
	cr_assert_eq(P("{\"a\":[1,Infinity]}"), -1);
}

Test(json, raw_control_characters_in_strings_are_refused)
{
	cr_assert_eq(P("{\"name\":\"a\tb\"}"), -1);
	cr_assert(strstr(last_err, "control character") != NULL, "%s",
	    last_err);
	cr_assert_eq(P("{\"name\":\"a\001b\"}"), -1);
	cr_assert_eq(P("{\"name\":\"a\nb\"}"), -1);
	cr_assert_eq(P("{\"name\":\"a\rb\"}"), -1);
	cr_assert_eq(P("{\"name\":\"\037\"}"), -1);
	cr_assert_eq(P("{\"na\tme\":\"x\"}"), -1);
	/* Escaped, they are fine; DEL is not a control character here. */
	cr_assert_eq(P("{\"name\":\"a\\tb\\u0001\\n\x7f\"}"), 0);
}

Test(json, lone_surrogate_escapes_are_refused)
{
	cr_assert_eq(P("{\"a\":\"\\ud800\"}"), -1);
	cr_assert(strstr(last_err, "surrogate") != NULL, "%s", last_err);
	cr_assert_eq(P("{\"a\":\"\\udc00\"}"), -1);
	cr_assert_eq(P("{\"a\":\"\\uDBFFx\"}"), -1);
	cr_assert_eq(P("{\"a\":\"\\ud800\\u0041\"}"), -1);
	cr_assert_eq(P("{\"a\":\"\\ud800\\ud800\"}"), -1);
	cr_assert_eq(P("{\"a\":\"\\udc00\\ud800\"}"), -1);
	cr_assert_eq(P("{\"\\ud800\":1}"), -1);
	cr_assert_eq(P("{\"a\":\"\\ud83d\\ude00\\uD83D\\uDE00\"}"), 0);
}

Test(json, a_byte_order_mark_is_refused)
{
	cr_assert_eq(P("\xef\xbb\xbf{\"a\":1}"), -1);
	cr_assert(strstr(last_err, "byte order mark") != NULL, "%s",
	    last_err);
	cr_assert_eq(P(" \xef\xbb\xbf{\"a\":1}"), -1);
	cr_assert_eq(P("{\"a\":\"\xef\xbb\xbf\"}"), 0);
}

Test(json, a_member_name_twice_in_one_object_is_refused)
{
	cr_assert_eq(P("{\"a\":1,\"a\":2}"), -1);
	cr_assert(strstr(last_err, "twice") != NULL, "%s", last_err);
	cr_assert_eq(P("{\"a\":1,\"\\u0061\":1}"), -1);
	cr_assert_eq(P("{\"x\":[{\"b\":1,\"c\":2,\"b\":3}]}"), -1);
	/* The same name in different objects is no duplicate. */
	cr_assert_eq(P("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":1}]}"),
	    0);
}

Test(json, a_member_name_with_u0000_is_refused)
{
	/* json-c would cut the name at the NUL: "name\u0000x" as "name". */
	cr_assert_eq(P("{\"name\\u0000x\":\"y\"}"), -1);
	/* In a value the NUL is kept, and the validators refuse it. */
	cr_assert_eq(P("{\"name\":\"a\\u0000b\"}"), 0);
}

Test(json, nesting_of_16_parses_and_17_is_refused)
{
	char	*s;

	s = nested(16);
	cr_assert_eq(P(s), 0, "%s", last_err);
	free(s);
	s = nested(17);
	cr_assert_eq(P(s), -1);
	cr_assert(strstr(last_err, "nesting") != NULL, "%s", last_err);
	free(s);
}

Test(json, valid_edge_cases_still_parse)
{
	cr_assert_eq(P("{}"), 0);
	cr_assert_eq(P(" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ ] , \"b\":{ } }"
	    " \n"), 0);
	cr_assert_eq(P("{\"e\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\"}"),
	    0);
	cr_assert_eq(P("{\"n\":[0,-0,0.0,-0.0e-0,1E+5,1e5,1.5E-7,-12.75e+003,"
	    "123456789012345678901234567890,1e99999999999,1e-99999999999]}"),
	    0, "%s", last_err);
	cr_assert_eq(P("{\"t\":[true,false,null]}"), 0);
	cr_assert_eq(P("{\"u\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"), 0);
	cr_assert_eq(P("{\"\":\"empty name\"}"), 0);
}

Test(json, malformed_numbers_are_refused)
{
	cr_assert_eq(P("{\"a\":+1}"), -1);
	cr_assert_eq(P("{\"a\":.5}"), -1);
	cr_assert_eq(P("{\"a\":5.}"), -1);
	cr_assert_eq(P("{\"a\":1e}"), -1);
	cr_assert_eq(P("{\"a\":1e+}"), -1);
	cr_assert_eq(P("{\"a\":-}"), -1);
	cr_assert_eq(P("{\"a\":0x10}"), -1);
	cr_assert_eq(P("{\"a\":-01}"), -1);
	cr_assert_eq(P("{\"a\":1_000}"), -1);
}

Test(json, other_lax_forms_are_refused)
{
	cr_assert_eq(P("{a:1}"), -1);
	cr_assert_eq(P("{\"a\":1,,\"b\":2}"), -1);
	cr_assert_eq(P("{\"a\":[1,]}"), -1);
	cr_assert_eq(P("{\"a\" 1}"), -1);
	cr_assert_eq(P("{\"a\":\"\\x41\"}"), -1);
	cr_assert_eq(P("{\"a\":\"\\u12\"}"), -1);
	cr_assert_eq(P("{\"a\":tru}"), -1);
	cr_assert_eq(P("{\"a\":nulls}"), -1);
	cr_assert_eq(P("{\"a\":1}\x0c"), -1);
	cr_assert_eq(P("{\"a\":\"x"), -1);
	cr_assert_eq(P("{\"a\":1}//"), -1);
}
