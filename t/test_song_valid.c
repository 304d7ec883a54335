/* Unit tests of the song validator (handlers/song_valid.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "fcgi/buf.h"
#include "handlers/handlers.h"
#include "handlers/model.h"

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
check(const char *text, enum song_mode mode)
{
	json_object	*in;

	in = json_tokener_parse(text);
	cr_assert_not_null(in, "bad test JSON: %s", text);
	out = song_validate(in, mode, &fe);
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
	    SONG_FULL));
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
	    "\"missing\":true}]}", SONG_FULL));
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
	    "\"startBar\":2,\"bars\":3}]}", SONG_FULL));
	cr_assert_str_eq(member_text("totalBars"), "5");
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":120,"
	    "\"totalBars\":\"lots\"}", SONG_FULL));
	cr_assert_str_eq(member_text("totalBars"), "0");
}

Test(song_valid, unknown_members_and_the_old_clients_id_and_updatedat_are_ignored)
{
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":120,\"id\":\"x\","
	    "\"updatedAt\":\"2026-01-01T00:00:00Z\",\"whatever\":[1,2]}",
	    SONG_FULL));
	cr_assert_not(json_object_object_get_ex(out, "id", NULL));
	cr_assert_not(json_object_object_get_ex(out, "whatever", NULL));
}

Test(song_valid, an_unknown_time_signature_is_refused)
{
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":120,"
	    "\"timeSignature\":\"6/8\"}", SONG_FULL));
	cr_assert_eq(fe.count, 1);
	cr_assert(has_error("timeSignature"));
}

Test(song_valid, bpm_is_required_and_must_be_an_integer_40_to_300)
{
	cr_assert_null(check("{\"name\":\"S\"}", SONG_FULL));
	cr_assert(has_error("bpm"));
	cr_assert(strstr(fe.json.data, "is required") != NULL);
	teardown();
	setup();
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":39}", SONG_FULL));
	cr_assert(has_error("bpm"));
	teardown();
	setup();
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":301}", SONG_FULL));
	cr_assert(has_error("bpm"));
	teardown();
	setup();
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":120.5}", SONG_FULL));
	cr_assert(has_error("bpm"));
	teardown();
	setup();
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":\"120\"}", SONG_FULL));
	cr_assert(has_error("bpm"));
}

Test(song_valid, name_is_required_and_1_to_100_characters)
{
	char	 body[512];

	cr_assert_null(check("{\"bpm\":120}", SONG_FULL));
	cr_assert(has_error("name"));
	teardown();
	setup();
	cr_assert_null(check("{\"name\":\"\",\"bpm\":120}", SONG_FULL));
	cr_assert(has_error("name"));
	teardown();
	setup();
	snprintf(body, sizeof(body), "{\"name\":\"%0101d\",\"bpm\":120}", 0);
	cr_assert_null(check(body, SONG_FULL));
	cr_assert(has_error("name"));
}

Test(song_valid, wrong_types_and_nulls_are_each_named)
{
	cr_assert_null(check("{\"name\":5,\"bpm\":null,\"timeSignature\":4,"
	    "\"timeline\":{},\"schemaVersion\":\"1\",\"isPublic\":\"yes\"}",
	    SONG_FULL));
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
	    "]}", SONG_FULL));
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
	    "\"bars\":4}]}", SONG_FULL));
	cr_assert_eq(fe.count, 1);
	cr_assert(has_error("timeline[0].startBar"));
}

Test(song_valid, a_block_must_end_by_bar_4096)
{
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":120,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"" LOOP_A "\",\"startBar\":4092,"
	    "\"bars\":4}]}", SONG_FULL));
	cr_assert_str_eq(member_text("totalBars"), "4096");
	json_object_put(out);
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":120,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"" LOOP_A "\",\"startBar\":4093,"
	    "\"bars\":4}]}", SONG_FULL));
	cr_assert(has_error("timeline[0].bars"));
}

Test(song_valid, duplicate_block_ids_are_refused_naming_the_later_block)
{
	cr_assert_null(check("{\"name\":\"S\",\"bpm\":120,\"timeline\":["
	    "{\"id\":\"x\",\"loopId\":\"" LOOP_A "\",\"startBar\":0,\"bars\":4},"
	    "{\"id\":\"y\",\"loopId\":\"" LOOP_A "\",\"startBar\":4,\"bars\":4},"
	    "{\"id\":\"x\",\"loopId\":\"" LOOP_B "\",\"startBar\":8,\"bars\":4}"
	    "]}", SONG_FULL));
	cr_assert_eq(fe.count, 1, "%s", fe.json.data);
	cr_assert(has_error("timeline[2].id"));
	cr_assert(strstr(fe.json.data, "timeline[0].id") != NULL);
}

Test(song_valid, block_ids_are_compared_exactly)
{
	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":120,\"timeline\":["
	    "{\"id\":\"x\",\"loopId\":\"" LOOP_A "\",\"startBar\":0,\"bars\":4},"
	    "{\"id\":\"X\",\"loopId\":\"" LOOP_A "\",\"startBar\":0,\"bars\":4}"
	    "]}", SONG_FULL));
}

Test(song_valid, a_timeline_of_512_blocks_is_accepted_and_513_is_refused)
{
	char	*body;

	body = timeline_of(512);
	cr_assert_not_null(check(body, SONG_FULL), "%s", fe.json.data);
	free(body);
	json_object_put(out);
	body = timeline_of(513);
	cr_assert_null(check(body, SONG_FULL));
	free(body);
	cr_assert_eq(fe.count, 1);
	cr_assert(has_error("timeline"));
}

Test(song_valid, a_patch_reads_only_the_members_present)
{
	cr_assert_not_null(check("{\"bpm\":100}", SONG_PATCH));
	cr_assert_eq(json_object_object_length(out), 1);
	cr_assert_str_eq(member_text("bpm"), "100");
}

Test(song_valid, a_patch_with_a_timeline_recomputes_totalbars)
{
	cr_assert_not_null(check("{\"totalBars\":1,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"" LOOP_A "\",\"startBar\":6,"
	    "\"bars\":2}]}", SONG_PATCH));
	cr_assert_str_eq(member_text("totalBars"), "8");
	cr_assert_not(json_object_object_get_ex(out, "name", NULL));
}

Test(song_valid, a_patch_null_restores_a_default_and_is_refused_for_name_and_bpm)
{
	cr_assert_not_null(check("{\"timeSignature\":null,\"timeline\":null,"
	    "\"isPublic\":null,\"schemaVersion\":null}", SONG_PATCH));
	cr_assert_str_eq(member_text("timeSignature"), "\"4\\/4\"");
	cr_assert_str_eq(member_text("timeline"), "[]");
	cr_assert_str_eq(member_text("totalBars"), "0");
	cr_assert_str_eq(member_text("isPublic"), "false");
	cr_assert_str_eq(member_text("schemaVersion"), "1");
	json_object_put(out);
	cr_assert_null(check("{\"name\":null,\"bpm\":null}", SONG_PATCH));
	cr_assert(has_error("name"));
	cr_assert(has_error("bpm"));
}

Test(song_valid, a_patch_validates_what_it_carries)
{
	cr_assert_null(check("{\"timeSignature\":\"6/8\",\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"x\",\"startBar\":0,\"bars\":1}]}",
	    SONG_PATCH));
	cr_assert(has_error("timeSignature"));
	cr_assert(has_error("timeline[0].loopId"));
}

Test(song_valid, strings_with_nul_are_refused)
{
	cr_assert_null(check("{\"name\":\"a\\u0000b\",\"bpm\":120,"
	    "\"timeline\":[{\"id\":\"x\\u0000\",\"loopId\":\"" LOOP_A "\","
	    "\"startBar\":0,\"bars\":1}]}", SONG_FULL));
	cr_assert(has_error("name"));
	cr_assert(has_error("timeline[0].id"));
}

Test(song_valid, refused_loop_ids_are_mapped_back_to_every_block_naming_them)
{
	const char *bad[] = { LOOP_B };

	cr_assert_not_null(check("{\"name\":\"S\",\"bpm\":120,\"timeline\":["
	    "{\"id\":\"a\",\"loopId\":\"" LOOP_B "\",\"startBar\":0,\"bars\":1},"
	    "{\"id\":\"b\",\"loopId\":\"" LOOP_A "\",\"startBar\":0,\"bars\":1},"
	    "{\"id\":\"c\",\"loopId\":\"0D5E8B7C-1A2B-4C3D-8E9F-A0B1C2D3E4F5\","
	    "\"startBar\":0,\"bars\":1}]}", SONG_FULL));
	song_bad_loop_errors(out, bad, 1, &fe);
	cr_assert_eq(fe.count, 2, "%s", fe.json.data);
	cr_assert(has_error("timeline[0].loopId"));
	cr_assert(has_error("timeline[2].loopId"));
}
