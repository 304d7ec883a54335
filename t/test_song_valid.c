/* Unit tests of the song validator (handlers/song_valid.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "base/buf.h"
#include "handlers/items.h"

#define LOOP_A	"6f1c2a44-0b55-4c8e-9a55-2f1e3d4c5b6a"
#define LOOP_B	"0d5e8b7c-1a2b-4c3d-8e9f-a0b1c2d3e4f5"

static json_object	*out;
static struct field_errors fe;

static void
setup(void)
{
	out = NULL;
	field_errors_init(&fe);
}

static void
teardown(void)
{
	json_object_put(out);
	field_errors_release(&fe);
}

TestSuite(song_valid, .init = setup, .fini = teardown);

/* Validate text (a JSON object) for mode into out and fe. */
static json_object *
check(const char *text, enum item_doc_mode mode)
{
	json_object	*in;
	int		 rc;

	in = json_tokener_parse(text);
	cr_assert_not_null(in, "bad test JSON: %s", text);
	rc = song_validate(in, mode, &out, &fe);
	cr_assert_eq(rc == 0, out != NULL);
	cr_assert_eq(rc == 0, fe.count == 0);
	json_object_put(in);
	return out;
}

/* 1 when fe has an error for exactly this field. */
static int
has_error(const char *field)
{
	char	 want[160];

	snprintf(want, sizeof(want), "{\"field\":\"%s\",", field);
	return fe.json.data != NULL && strstr(fe.json.data, want) != NULL;
}

static const char *
member_text(const char *key)
{
	json_object	*v;

	cr_assert(json_object_object_get_ex(out, key, &v), "no %s", key);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* A timeline of n well-formed, back-to-back blocks of 4 bars. */
static char *
timeline_of(size_t n)
{
	struct buf	 b = BUF_INIT;
	size_t		 i;

	buf_puts(&b, "{\"name\":\"n\",\"bpm\":120,\"timeline\":[");
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s{\"id\":\"b%zu\",\"loopId\":\"" LOOP_A
		    "\",\"startBar\":%zu,\"bars\":4}", i ? "," : "", i,
		    (i * 4) % 4000);
	buf_puts(&b, "]}");
	return buf_detach(&b);
}

Test(song_valid, a_minimal_song_gets_every_default)
{
	cr_assert_not_null(check("{\"name\":\"Intro\",\"bpm\":96}",
	    ITEM_DOC_CREATE));
	cr_assert_eq(fe.count, 0);
	cr_assert_str_eq(member_text("name"), "\"Intro\"");
	cr_assert_str_eq(member_text("bpm"), "96");
	cr_assert_str_eq(member_text("timeSignature"), "\"4\\/4\"");
	cr_assert_str_eq(member_text("timeline"), "[]");
	cr_assert_str_eq(member_text("totalBars"), "0");
	cr_assert_str_eq(member_text("schemaVersion"), "1");
	cr_assert_str_eq(member_text("isPublic"), "false");
}

Test(song_valid, a_full_song_is_normalised_and_totalbars_is_the_end_of_the_last_block)
{
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":120,"
	    "\"timeSignature\":\"3/4\",\"isPublic\":true,\"schemaVersion\":3,"
	    "\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"6F1C2A44-0B55-4C8E-9A55-2F1E3D4C5B6A\","
	    "\"startBar\":8,\"bars\":4,\"color\":\"#ff00AA\",\"junk\":1},"
	    "{\"id\":\"b\",\"loopId\":\"" LOOP_B "\",\"startBar\":0,\"bars\":2,"
	    "\"missing\":true}]}", ITEM_DOC_CREATE));
	cr_assert_str_eq(member_text("timeline"),
	    "[{\"id\":\"a\",\"loopId\":\"" LOOP_A "\",\"startBar\":8,"
	    "\"bars\":4,\"color\":\"#ff00AA\"},"
	    "{\"id\":\"b\",\"loopId\":\"" LOOP_B "\",\"startBar\":0,"
	    "\"bars\":2}]");
	cr_assert_str_eq(member_text("totalBars"), "12");
	cr_assert_str_eq(member_text("timeSignature"), "\"3\\/4\"");
	cr_assert_str_eq(member_text("isPublic"), "true");
	cr_assert_str_eq(member_text("schemaVersion"), "3");
}

Test(song_valid, totalbars_sent_by_the_client_is_ignored_and_recomputed)
{
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":120,\"totalBars\":999,"
	    "\"timeline\":[{\"id\":\"a\",\"loopId\":\"" LOOP_A "\","
	    "\"startBar\":2,\"bars\":3}]}", ITEM_DOC_CREATE));
	cr_assert_str_eq(member_text("totalBars"), "5");
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":120,"
	    "\"totalBars\":\"lots\"}", ITEM_DOC_CREATE));
	cr_assert_str_eq(member_text("totalBars"), "0");
}

Test(song_valid, unknown_members_and_the_old_clients_id_and_updatedat_are_ignored)
{
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":120,\"id\":\"x\","
	    "\"updatedAt\":\"2026-01-01T00:00:00Z\",\"whatever\":[1,2]}",
	    ITEM_DOC_CREATE));
	cr_assert_not(json_object_object_get_ex(out, "id", NULL));
	cr_assert_not(json_object_object_get_ex(out, "whatever", NULL));
}

Test(song_valid, an_unknown_time_signature_is_refused)
{
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":120,"
	    "\"timeSignature\":\"6/8\"}", ITEM_DOC_CREATE));
	cr_assert_eq(fe.count, 1);
	cr_assert(has_error("timeSignature"));
}

Test(song_valid, bpm_is_required_and_must_be_an_integer_40_to_300)
{
	cr_assert_null(check("{\"name\":\"S\"}", ITEM_DOC_CREATE));
	cr_assert(has_error("bpm"));
	cr_assert(strstr(fe.json.data, "is required") != NULL);
	teardown();
	setup();
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":39}", ITEM_DOC_CREATE));
	cr_assert(has_error("bpm"));
	teardown();
	setup();
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":301}", ITEM_DOC_CREATE));
	cr_assert(has_error("bpm"));
	teardown();
	setup();
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":120.5}", ITEM_DOC_CREATE));
	cr_assert(has_error("bpm"));
	teardown();
	setup();
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":\"120\"}", ITEM_DOC_CREATE));
	cr_assert(has_error("bpm"));
}

Test(song_valid, name_is_required_and_1_to_100_characters)
{
	char	 body[512];

	cr_assert_null(check("{\"bpm\":120}", ITEM_DOC_CREATE));
	cr_assert(has_error("name"));
	teardown();
	setup();
	cr_assert_null(check("{\"name\":\"\",\"bpm\":120}", ITEM_DOC_CREATE));
	cr_assert(has_error("name"));
	teardown();
	setup();
	snprintf(body, sizeof(body), "{\"name\":\"%0101d\",\"bpm\":120}", 0);
	cr_assert_null(check(body, ITEM_DOC_CREATE));
	cr_assert(has_error("name"));
}

Test(song_valid, wrong_types_and_nulls_are_each_named)
{
	cr_assert_null(check("{\"name\":5,\"bpm\":null,\"timeSignature\":4,"
	    "\"timeline\":{},\"schemaVersion\":\"1\",\"isPublic\":\"yes\"}",
	    ITEM_DOC_CREATE));
	cr_assert_eq(fe.count, 6, "%s", fe.json.data);
	cr_assert(has_error("name"));
	cr_assert(has_error("bpm"));
	cr_assert(has_error("timeSignature"));
	cr_assert(has_error("timeline"));
	cr_assert(has_error("schemaVersion"));
	cr_assert(has_error("isPublic"));
}

Test(song_valid, every_bad_block_member_is_listed_with_its_path)
{
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":120,\"timeline\":["
	    "{\"id\":\"ok\",\"loopId\":\"" LOOP_A "\",\"startBar\":0,\"bars\":1},"
	    "{\"id\":\"\",\"loopId\":\"nope\",\"startBar\":-1,\"bars\":0,"
	    "\"color\":\"red\"},"
	    "7,"
	    "{\"loopId\":5,\"startBar\":1.5,\"bars\":\"2\",\"color\":\"#GGGGGG\"}"
	    "]}", ITEM_DOC_CREATE));
	cr_assert(has_error("timeline[1].id"));
	cr_assert(has_error("timeline[1].loopId"));
	cr_assert(has_error("timeline[1].startBar"));
	cr_assert(has_error("timeline[1].bars"));
	cr_assert(has_error("timeline[1].color"));
	cr_assert(has_error("timeline[2]"));
	cr_assert(has_error("timeline[3].id"));
	cr_assert(has_error("timeline[3].loopId"));
	cr_assert(has_error("timeline[3].startBar"));
	cr_assert(has_error("timeline[3].bars"));
	cr_assert(has_error("timeline[3].color"));
	cr_assert_not(has_error("timeline[0].id"));
	cr_assert_eq(fe.count, 11, "%s", fe.json.data);
}

Test(song_valid, a_negative_startbar_is_refused)
{
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":120,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"" LOOP_A "\",\"startBar\":-4,"
	    "\"bars\":4}]}", ITEM_DOC_CREATE));
	cr_assert_eq(fe.count, 1);
	cr_assert(has_error("timeline[0].startBar"));
}

Test(song_valid, a_block_must_end_by_bar_4096)
{
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":120,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"" LOOP_A "\",\"startBar\":4092,"
	    "\"bars\":4}]}", ITEM_DOC_CREATE));
	cr_assert_str_eq(member_text("totalBars"), "4096");
	json_object_put(out);
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":120,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"" LOOP_A "\",\"startBar\":4093,"
	    "\"bars\":4}]}", ITEM_DOC_CREATE));
	cr_assert(has_error("timeline[0].bars"));
}

Test(song_valid, duplicate_block_ids_are_refused_naming_the_later_block)
{
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":120,\"timeline\":["
	    "{\"id\":\"x\",\"loopId\":\"" LOOP_A "\",\"startBar\":0,\"bars\":4},"
	    "{\"id\":\"y\",\"loopId\":\"" LOOP_A "\",\"startBar\":4,\"bars\":4},"
	    "{\"id\":\"x\",\"loopId\":\"" LOOP_B "\",\"startBar\":8,\"bars\":4}"
	    "]}", ITEM_DOC_CREATE));
	cr_assert_eq(fe.count, 1, "%s", fe.json.data);
	cr_assert(has_error("timeline[2].id"));
	cr_assert(strstr(fe.json.data, "timeline[0].id") != NULL);
}

Test(song_valid, block_ids_are_compared_exactly)
{
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":120,\"timeline\":["
	    "{\"id\":\"x\",\"loopId\":\"" LOOP_A "\",\"startBar\":0,\"bars\":4},"
	    "{\"id\":\"X\",\"loopId\":\"" LOOP_A "\",\"startBar\":0,\"bars\":4}"
	    "]}", ITEM_DOC_CREATE));
}

Test(song_valid, a_timeline_of_512_blocks_is_accepted_and_513_is_refused)
{
	char	*body;

	body = timeline_of(512);
	cr_assert_not_null(check(body, ITEM_DOC_CREATE), "%s", fe.json.data);
	free(body);
	json_object_put(out);
	body = timeline_of(513);
	cr_assert_null(check(body, ITEM_DOC_CREATE));
	free(body);
	cr_assert_eq(fe.count, 1);
	cr_assert(has_error("timeline"));
}

Test(song_valid, a_replace_without_ispublic_leaves_it_out_to_keep_the_stored_one)
{
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":100}",
	    ITEM_DOC_REPLACE));
	cr_assert_not(json_object_object_get_ex(out, "isPublic", NULL));
	cr_assert_str_eq(member_text("timeSignature"), "\"4\\/4\"");
	cr_assert_str_eq(member_text("timeline"), "[]");
	json_object_put(out);
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":100,"
	    "\"isPublic\":true}", ITEM_DOC_REPLACE));
	cr_assert_str_eq(member_text("isPublic"), "true");
}

Test(song_valid, a_merge_patched_song_is_validated_whole_and_its_marks_dropped)
{
	/* What PATCH validates: the stored song as the API shows it,
	 * with the patch applied. */
	cr_assert_not_null(check("{\"id\":\"" LOOP_B "\",\"userId\":\"x\","
	    "\"name\":\"S\",\"bpm\":90,\"timeSignature\":\"3/4\","
	    "\"totalBars\":4,\"version\":3,\"likesCount\":2,"
	    "\"timeline\":[{\"id\":\"a\",\"bars\":4,\"loopId\":\"" LOOP_A
	    "\",\"missing\":true,\"startBar\":6}]}", ITEM_DOC_PATCH));
	cr_assert_str_eq(member_text("timeline"),
	    "[{\"id\":\"a\",\"loopId\":\"" LOOP_A "\",\"startBar\":6,"
	    "\"bars\":4}]");
	cr_assert_str_eq(member_text("totalBars"), "10");
	cr_assert_str_eq(member_text("isPublic"), "false");
	cr_assert_not(json_object_object_get_ex(out, "likesCount", NULL));
	cr_assert_not(json_object_object_get_ex(out, "version", NULL));
}

Test(song_valid, a_merge_patch_that_removed_name_or_bpm_is_refused)
{
	cr_assert_null(check("{\"timeSignature\":\"4/4\"}", ITEM_DOC_PATCH));
	cr_assert(has_error("name"));
	cr_assert(has_error("bpm"));
}

Test(song_valid, integers_are_read_by_value_as_for_loops)
{
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":1.2e2,"
	    "\"timeline\":[{\"id\":\"a\",\"loopId\":\"" LOOP_A "\","
	    "\"startBar\":4.0,\"bars\":2}]}", ITEM_DOC_CREATE));
	cr_assert_str_eq(member_text("bpm"), "120");
	cr_assert_str_eq(member_text("totalBars"), "6");
}

Test(song_valid, strings_with_nul_are_refused)
{
	cr_assert_null(check("{\"name\":\"a\\u0000b\",\"bpm\":120,"
	    "\"timeline\":[{\"id\":\"x\\u0000\",\"loopId\":\"" LOOP_A "\","
	    "\"startBar\":0,\"bars\":1}]}", ITEM_DOC_CREATE));
	cr_assert(has_error("name"));
	cr_assert(has_error("timeline[0].id"));
}
