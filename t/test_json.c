#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "handlers/handlers.h"

static int
parse(const char *s, size_t len)
{
	json_object *o;
	char err[160];
	int r;

	r = json_parse_object(s, len, &o, err, sizeof(err));
	json_object_put(o);
	return r;
}

#define P(s) parse((s), strlen(s))

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
