/* Unit tests: the loop validator and RFC 7396 merge patch. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "handlers/items.h"

static json_object *
parse(const char *s)
{
	json_object	*o;
	char		 err[160];

	cr_assert_eq(json_parse_object(s, strlen(s), &o, err, sizeof(err)), 0,
	    "%s: %s", s, err);
	return o;
}

/* Validate s; returns the normalised document text or NULL, fe filled. */
static char *
check(const char *s, enum item_doc_mode mode, struct field_errors *fe)
{
	json_object	*in, *out;
	char		*text = NULL;

	in = parse(s);
	field_errors_init(fe);
	if (loop_validate(in, mode, &out, fe) == 0) {
		text = jv_serialize(out);
		json_object_put(out);
		cr_assert_eq(fe->count, 0);
	} else {
		cr_assert_null(out);
		cr_assert_gt(fe->count, 0);
	}
	json_object_put(in);
	return text;
}

/* 1 if the errors name field (exactly, as a JSON string). */
static int
names(const struct field_errors *fe, const char *field)
{
	char	 want[160];

	snprintf(want, sizeof(want), "{\"field\":\"%s\",", field);
	return fe->json.data != NULL && strstr(fe->json.data, want) != NULL;
}

/* Expect exactly one error, naming field. */
static void
rejects(const char *body, const char *field)
{
	struct field_errors fe;
	char	*t;

	t = check(body, ITEM_DOC_CREATE, &fe);
	cr_assert_null(t, "%s was accepted: %s", body, t);
	cr_assert(names(&fe, field), "%s: errors %s do not name %s", body,
	    fe.json.data, field);
	cr_assert_eq(fe.count, 1, "%s: %s", body, fe.json.data);
	field_errors_release(&fe);
}

#define STEP(x)	"{\"name\":\"n\",\"bars\":4,\"iconSequence\":[" x "]}"

Test(loop_valid, a_minimal_loop_gets_every_default)
{
	struct field_errors fe;
	char	*t;

	t = check("{\"name\":\"Groove\",\"bars\":4}", ITEM_DOC_CREATE, &fe);
	cr_assert_str_eq(t, "{\"name\":\"Groove\",\"bars\":4,\"color\":\"#FFD11A\","
	    "\"bpm\":120,\"chordProgression\":[],\"iconSequence\":[],"
	    "\"schemaVersion\":1,\"isPublic\":false}");
	free(t);
	field_errors_release(&fe);
}

Test(loop_valid, step_defaults_are_filled_in_and_unknown_members_dropped)
{
	struct field_errors fe;
	char	*t;

	t = check("{\"name\":\"n\",\"bars\":\"2\",\"id\":\"x\",\"updatedAt\":\"y\","
	    "\"likesCount\":9,\"chordProgression\":[{\"bar\":1,\"chord\":\"Am7\","
	    "\"extra\":1}],\"iconSequence\":[{\"bar\":3,\"row\":1,"
	    "\"soundId\":\"kick\",\"pitch\":60,\"mood\":\"x\"}]}",
	    ITEM_DOC_CREATE, &fe);
	cr_assert_str_eq(t, "{\"name\":\"n\",\"bars\":2,\"color\":\"#FFD11A\","
	    "\"bpm\":120,\"chordProgression\":[{\"bar\":1,\"chord\":\"Am7\"}],"
	    "\"iconSequence\":[{\"bar\":3,\"row\":1,\"soundId\":\"kick\","
	    "\"velocity\":0.8,\"pitch\":60,\"duration16\":1}],"
	    "\"schemaVersion\":1,\"isPublic\":false}");
	free(t);
	field_errors_release(&fe);
}

Test(loop_valid, numbers_keep_the_text_they_came_with)
{
	struct field_errors fe;
	char	*t;

	t = check(STEP("{\"bar\":0,\"row\":0,\"soundId\":\"s\",\"pitch\":1,"
	    "\"velocity\":0.123},{\"bar\":1,\"row\":0,\"soundId\":\"s\","
	    "\"pitch\":1,\"velocity\":1e-1},{\"bar\":2,\"row\":0,"
	    "\"soundId\":\"s\",\"pitch\":1,\"velocity\":1}"),
	    ITEM_DOC_CREATE, &fe);
	cr_assert_not_null(t);
	cr_assert(strstr(t, "\"velocity\":0.123,") != NULL, "%s", t);
	cr_assert(strstr(t, "\"velocity\":1e-1,") != NULL, "%s", t);
	cr_assert(strstr(t, "\"velocity\":1,") != NULL, "%s", t);
	free(t);
	field_errors_release(&fe);
}

Test(loop_valid, integers_are_read_by_value_not_by_spelling)
{
	struct field_errors fe;
	char	*t;

	t = check("{\"name\":\"n\",\"bars\":4.0,\"bpm\":1e2,"
	    "\"iconSequence\":[{\"bar\":0,\"row\":0,\"soundId\":\"s\","
	    "\"pitch\":6E1,\"duration16\":2.0}]}", ITEM_DOC_CREATE, &fe);
	cr_assert_not_null(t, "%s", fe.json.data);
	cr_assert(strstr(t, "\"bars\":4,") != NULL, "%s", t);
	cr_assert(strstr(t, "\"bpm\":100,") != NULL, "%s", t);
	cr_assert(strstr(t, "\"pitch\":60,") != NULL, "%s", t);
	cr_assert(strstr(t, "\"duration16\":2}") != NULL, "%s", t);
	free(t);
	field_errors_release(&fe);
	rejects("{\"name\":\"n\",\"bars\":4,\"bpm\":1e400}", "bpm");
	rejects("{\"name\":\"n\",\"bars\":4,\"bpm\":99999999999999999999}",
	    "bpm");
	rejects("{\"name\":\"n\",\"bars\":4,\"bpm\":-1e2}", "bpm");
}

Test(loop_valid, replace_without_is_public_leaves_it_out_to_keep_it)
{
	struct field_errors fe;
	char	*t;

	t = check("{\"name\":\"n\",\"bars\":1}", ITEM_DOC_REPLACE, &fe);
	cr_assert(strstr(t, "isPublic") == NULL, "%s", t);
	free(t);
	t = check("{\"name\":\"n\",\"bars\":1,\"isPublic\":true}",
	    ITEM_DOC_REPLACE, &fe);
	cr_assert(strstr(t, "\"isPublic\":true") != NULL, "%s", t);
	free(t);
	t = check("{\"name\":\"n\",\"bars\":1}", ITEM_DOC_PATCH, &fe);
	cr_assert(strstr(t, "\"isPublic\":false") != NULL, "%s", t);
	free(t);
	field_errors_release(&fe);
}

Test(loop_valid, out_of_range_top_level_fields_are_each_named)
{
	rejects("{\"name\":\"n\",\"bars\":3}", "bars");
	rejects("{\"name\":\"n\",\"bars\":\"four\"}", "bars");
	rejects("{\"name\":\"n\",\"bars\":4.5}", "bars");
	rejects("{\"name\":\"n\",\"bars\":\"3\"}", "bars");
	rejects("{\"name\":\"n\",\"bars\":4,\"bpm\":39}", "bpm");
	rejects("{\"name\":\"n\",\"bars\":4,\"bpm\":301}", "bpm");
	rejects("{\"name\":\"n\",\"bars\":4,\"bpm\":120.5}", "bpm");
	rejects("{\"name\":\"n\",\"bars\":4,\"color\":\"#GGGGGG\"}", "color");
	rejects("{\"name\":\"n\",\"bars\":4,\"color\":\"red\"}", "color");
	rejects("{\"name\":\"n\",\"bars\":4,\"color\":\"#FFD11A0\"}", "color");
	rejects("{\"name\":\"\",\"bars\":4}", "name");
	rejects("{\"name\":\"n\\u0000x\",\"bars\":4}", "name");
	rejects("{\"bars\":4}", "name");
	rejects("{\"name\":\"n\"}", "bars");
	rejects("{\"name\":\"n\",\"bars\":4,\"schemaVersion\":0}",
	    "schemaVersion");
	rejects("{\"name\":\"n\",\"bars\":4,\"isPublic\":\"yes\"}", "isPublic");
}

Test(loop_valid, a_name_is_measured_in_characters)
{
	struct field_errors fe;
	char	 body[512], *t;
	int	 i, n;

	n = snprintf(body, sizeof(body), "{\"bars\":4,\"name\":\"");
	for (i = 0; i < 100; i++)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "\xc3\xa9");
	snprintf(body + n, sizeof(body) - (size_t)n, "\"}");
	t = check(body, ITEM_DOC_CREATE, &fe);
	cr_assert_not_null(t, "%s", fe.json.data);
	free(t);
	field_errors_release(&fe);
	n = snprintf(body, sizeof(body), "{\"bars\":4,\"name\":\"");
	for (i = 0; i < 101; i++)
		body[n++] = 'a';
	snprintf(body + n, sizeof(body) - (size_t)n, "\"}");
	rejects(body, "name");
}

Test(loop_valid, wrong_json_types_are_refused_null_included)
{
	rejects("{\"name\":null,\"bars\":4}", "name");
	rejects("{\"name\":5,\"bars\":4}", "name");
	rejects("{\"name\":\"n\",\"bars\":null}", "bars");
	rejects("{\"name\":\"n\",\"bars\":4,\"color\":null}", "color");
	rejects("{\"name\":\"n\",\"bars\":4,\"bpm\":\"120\"}", "bpm");
	rejects("{\"name\":\"n\",\"bars\":4,\"bpm\":null}", "bpm");
	rejects("{\"name\":\"n\",\"bars\":4,\"iconSequence\":{}}",
	    "iconSequence");
	rejects("{\"name\":\"n\",\"bars\":4,\"iconSequence\":null}",
	    "iconSequence");
	rejects("{\"name\":\"n\",\"bars\":4,\"chordProgression\":{\"bar\":1}}",
	    "chordProgression");
	rejects("{\"name\":\"n\",\"bars\":4,\"chordProgression\":[[1]]}",
	    "chordProgression[0]");
	rejects(STEP("null"), "iconSequence[0]");
	rejects(STEP("{\"bar\":\"1\",\"row\":0,\"soundId\":\"s\",\"pitch\":1}"),
	    "iconSequence[0].bar");
	rejects(STEP("{\"bar\":1,\"row\":0,\"soundId\":7,\"pitch\":1}"),
	    "iconSequence[0].soundId");
	rejects(STEP("{\"bar\":1,\"row\":0,\"soundId\":\"s\",\"pitch\":1,"
	    "\"velocity\":\"loud\"}"), "iconSequence[0].velocity");
	rejects(STEP("{\"bar\":1,\"row\":0,\"soundId\":\"s\",\"pitch\":null}"),
	    "iconSequence[0].pitch");
}

Test(loop_valid, every_step_field_is_range_checked)
{
	rejects(STEP("{\"bar\":0,\"row\":0,\"soundId\":\"s\",\"pitch\":128}"),
	    "iconSequence[0].pitch");
	rejects(STEP("{\"bar\":0,\"row\":0,\"soundId\":\"s\",\"pitch\":60.5}"),
	    "iconSequence[0].pitch");
	rejects(STEP("{\"bar\":0,\"row\":0,\"soundId\":\"s\",\"pitch\":1,"
	    "\"velocity\":-0.1}"), "iconSequence[0].velocity");
	rejects(STEP("{\"bar\":0,\"row\":0,\"soundId\":\"s\",\"pitch\":1,"
	    "\"velocity\":1.1}"), "iconSequence[0].velocity");
	rejects(STEP("{\"bar\":64,\"row\":0,\"soundId\":\"s\",\"pitch\":1}"),
	    "iconSequence[0].bar");
	rejects(STEP("{\"bar\":-1,\"row\":0,\"soundId\":\"s\",\"pitch\":1}"),
	    "iconSequence[0].bar");
	rejects(STEP("{\"bar\":0,\"row\":4,\"soundId\":\"s\",\"pitch\":1}"),
	    "iconSequence[0].row");
	rejects(STEP("{\"bar\":0,\"row\":0,\"soundId\":\"\",\"pitch\":1}"),
	    "iconSequence[0].soundId");
	rejects(STEP("{\"bar\":0,\"row\":0,\"soundId\":\"s\",\"pitch\":1,"
	    "\"duration16\":0}"), "iconSequence[0].duration16");
	rejects(STEP("{\"bar\":0,\"row\":0,\"soundId\":\"s\",\"pitch\":1,"
	    "\"duration16\":65}"), "iconSequence[0].duration16");
	rejects(STEP("{\"row\":0,\"soundId\":\"s\",\"pitch\":1}"),
	    "iconSequence[0].bar");
	rejects(STEP("{\"bar\":0,\"row\":0,\"soundId\":\"s\"}"),
	    "iconSequence[0].pitch");
	rejects("{\"name\":\"n\",\"bars\":4,\"chordProgression\":[{\"bar\":16,"
	    "\"chord\":\"I\"}]}", "chordProgression[0].bar");
	rejects("{\"name\":\"n\",\"bars\":4,\"chordProgression\":[{\"bar\":1,"
	    "\"chord\":\"123456789012345678901\"}]}",
	    "chordProgression[0].chord");
	rejects("{\"name\":\"n\",\"bars\":4,\"chordProgression\":[{\"bar\":1}]}",
	    "chordProgression[0].chord");
}

Test(loop_valid, eight_bar_loops_take_steps_up_to_bar_127)
{
	struct field_errors fe;
	char	*t;

	t = check("{\"name\":\"n\",\"bars\":8,\"iconSequence\":[{\"bar\":127,"
	    "\"row\":0,\"soundId\":\"s\",\"pitch\":1}]}", ITEM_DOC_CREATE, &fe);
	cr_assert_not_null(t, "%s", fe.json.data);
	free(t);
	field_errors_release(&fe);
	rejects("{\"name\":\"n\",\"bars\":8,\"iconSequence\":[{\"bar\":128,"
	    "\"row\":0,\"soundId\":\"s\",\"pitch\":1}]}", "iconSequence[0].bar");
	t = check("{\"name\":\"n\",\"bars\":1,\"iconSequence\":[{\"bar\":63,"
	    "\"row\":0,\"soundId\":\"s\",\"pitch\":1}]}", ITEM_DOC_CREATE, &fe);
	cr_assert_not_null(t, "%s", fe.json.data);
	free(t);
	field_errors_release(&fe);
}

Test(loop_valid, all_problems_are_listed_with_their_paths)
{
	struct field_errors fe;

	cr_assert_null(check("{\"name\":\"\",\"bars\":3,\"bpm\":39,"
	    "\"color\":\"red\",\"iconSequence\":[{\"bar\":0,\"row\":0,"
	    "\"soundId\":\"s\",\"pitch\":1},{\"bar\":200,\"row\":9,\"soundId\":\"s\","
	    "\"pitch\":128,\"velocity\":2,\"duration16\":0}]}",
	    ITEM_DOC_CREATE, &fe));
	cr_assert_eq(fe.count, 9, "%s", fe.json.data);
	cr_assert(names(&fe, "name"));
	cr_assert(names(&fe, "bars"));
	cr_assert(names(&fe, "bpm"));
	cr_assert(names(&fe, "color"));
	cr_assert(names(&fe, "iconSequence[1].bar"));
	cr_assert(names(&fe, "iconSequence[1].row"));
	cr_assert(names(&fe, "iconSequence[1].pitch"));
	cr_assert(names(&fe, "iconSequence[1].velocity"));
	cr_assert(names(&fe, "iconSequence[1].duration16"));
	field_errors_release(&fe);
}

Test(loop_valid, sequences_over_their_limit_are_one_error)
{
	struct buf	 b = BUF_INIT;
	struct field_errors fe;
	int		 i;

	buf_puts(&b, "{\"name\":\"n\",\"bars\":4,\"iconSequence\":[");
	for (i = 0; i < 2000; i++)
		buf_printf(&b, "%s{\"bar\":0,\"row\":0,\"soundId\":\"s\","
		    "\"pitch\":1}", i ? "," : "");
	buf_puts(&b, "],\"chordProgression\":[");
	for (i = 0; i < 65; i++)
		buf_printf(&b, "%s{\"bar\":0,\"chord\":\"I\"}", i ? "," : "");
	buf_puts(&b, "]}");
	cr_assert_null(check(b.data, ITEM_DOC_CREATE, &fe));
	cr_assert_eq(fe.count, 2, "%s", fe.json.data);
	cr_assert(names(&fe, "iconSequence"));
	cr_assert(names(&fe, "chordProgression"));
	field_errors_release(&fe);
	buf_release(&b);
}

Test(loop_valid, a_full_1024_step_sequence_is_accepted)
{
	struct buf	 b = BUF_INIT;
	struct field_errors fe;
	char		*t;
	int		 i;

	buf_puts(&b, "{\"name\":\"n\",\"bars\":4,\"iconSequence\":[");
	for (i = 0; i < 1024; i++)
		buf_printf(&b, "%s{\"bar\":%d,\"row\":%d,\"soundId\":\"s\","
		    "\"pitch\":%d}", i ? "," : "", i % 64, i % 4, i % 128);
	buf_puts(&b, "]}");
	t = check(b.data, ITEM_DOC_CREATE, &fe);
	cr_assert_not_null(t, "%s", fe.json.data);
	free(t);
	field_errors_release(&fe);
	buf_release(&b);
}

Test(loop_valid, sql_looking_strings_are_just_strings)
{
	struct field_errors fe;
	char	*t;

	t = check("{\"name\":\"'; DROP TABLE loops; --\",\"bars\":4}",
	    ITEM_DOC_CREATE, &fe);
	cr_assert(strstr(t, "\"name\":\"'; DROP TABLE loops; --\"") != NULL);
	free(t);
	field_errors_release(&fe);
}

static char *
merged(const char *target, const char *patch)
{
	json_object	*t, *p;
	char		*s;

	t = json_tokener_parse(target);
	p = json_tokener_parse(patch);
	json_merge_patch(&t, p);
	s = t != NULL ? jv_serialize(t) : strdup("null");
	json_object_put(t);
	json_object_put(p);
	return s;
}

/* The examples of RFC 7396, appendix A. */
Test(merge_patch, follows_the_rfc_7396_examples)
{
	static const char *const cases[][3] = {
		{ "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
		{ "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
		{ "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
		{ "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
		{ "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
		{ "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
		{ "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
		    "{\"a\":{\"b\":\"d\"}}" },
		{ "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
		{ "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
		{ "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
		{ "{\"a\":\"foo\"}", "null", "null" },
		{ "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"" },
		{ "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
		{ "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
		{ "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}",
		    "{\"a\":{\"bb\":{}}}" },
	};
	size_t	 i;
	char	*s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = merged(cases[i][0], cases[i][1]);
		cr_assert_str_eq(s, cases[i][2], "case %zu: %s + %s", i,
		    cases[i][0], cases[i][1]);
		free(s);
	}
}
