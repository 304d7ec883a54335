/*
 * Unit: account input rules (handlers/auth.c, handlers/users.c) and
 * the reader behind `mpapi users import` (cli/commands.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "handlers/handlers.h"
#include "handlers/model.h"
#include "cli/commands.h"

Test(auth, emails_follow_the_schema_shape)
{
	const char	*good[] = { "a@b.co", "alice@example.com",
	    "A.B+tag@Sub.Example.ORG", "x_y-z@a-b.c.d", "o'hara@x.io" };
	const char	*bad[] = { "", "alice", "alice@", "@example.com",
	    "alice@example", "alice@.com", "alice@example.", "a@@b.co",
	    "a@b@c.co", "al ice@example.com", " alice@example.com",
	    "alice@example.com ", "al\tice@b.co", "ali\177ce@b.co",
	    "j\xc3\xbcrgen@example.com", "a@b.", "a@.b" };
	char		 longest[300];
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert(auth_email_is_valid(good[i]), "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!auth_email_is_valid(bad[i]), "%s", bad[i]);
	cr_assert(!auth_email_is_valid(NULL));
	memset(longest, 'a', sizeof(longest));
	memcpy(longest + 255 - 6, "@b.com", 7);	/* 255 characters */
	cr_assert(auth_email_is_valid(longest));
	memset(longest, 'a', sizeof(longest));
	memcpy(longest + 256 - 6, "@b.com", 7);	/* 256 */
	cr_assert(!auth_email_is_valid(longest));
}

Test(auth, usernames_are_3_to_30_of_a_small_ascii_set)
{
	const char	*good[] = { "abc", "Alice_01", "a.b-c", "___",
	    "abcdefghijklmnopqrstuvwxyz0123" };
	const char	*bad[] = { "", "ab", "abcdefghijklmnopqrstuvwxyz01234",
	    "al ice", "alice!", "al@ce", "j\xc3\xbcrgen", "tab\tbed",
	    "slash/es", "new\nline" };
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert(auth_username_is_valid(good[i]), "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!auth_username_is_valid(bad[i]), "%s", bad[i]);
	cr_assert(!auth_username_is_valid(NULL));
}

Test(auth, display_names_refuse_control_characters_only)
{
	cr_assert(auth_display_name_is_valid("Alice"));
	cr_assert(auth_display_name_is_valid("J\xc3\xbcrgen \xf0\x9f\x8e\xb5"));
	cr_assert(auth_display_name_is_valid("  spaced  "));
	cr_assert(!auth_display_name_is_valid("new\nline"));
	cr_assert(!auth_display_name_is_valid("tab\there"));
	cr_assert(!auth_display_name_is_valid("del\x7f"));
	cr_assert(!auth_display_name_is_valid("c1 \xc2\x85 next line"));
}

Test(auth, avatar_urls_are_http_or_https_printable_ascii)
{
	char	 big[2100];

	cr_assert(auth_avatar_url_is_valid("https://cdn.example.com/a.png"));
	cr_assert(auth_avatar_url_is_valid("http://x.io"));
	cr_assert(auth_avatar_url_is_valid("https://x.io/a%20b.png?s=64#f"));
	cr_assert(!auth_avatar_url_is_valid("javascript:alert(1)"));
	cr_assert(!auth_avatar_url_is_valid("data:image/png;base64,AAAA"));
	cr_assert(!auth_avatar_url_is_valid("ftp://x.io/a.png"));
	cr_assert(!auth_avatar_url_is_valid("HTTPS://x.io/a.png"));
	cr_assert(!auth_avatar_url_is_valid("https://"));
	cr_assert(!auth_avatar_url_is_valid("https:///path"));
	cr_assert(!auth_avatar_url_is_valid("https://x.io/a b.png"));
	cr_assert(!auth_avatar_url_is_valid("https://x.io/\xc3\xa9.png"));
	cr_assert(!auth_avatar_url_is_valid("//x.io/a.png"));
	strcpy(big, "https://x.io/");
	memset(big + 13, 'a', 2048 - 13);
	big[2048] = '\0';
	cr_assert(auth_avatar_url_is_valid(big));
	big[2048] = 'a';
	big[2049] = '\0';
	cr_assert(!auth_avatar_url_is_valid(big));
}

Test(auth, only_well_formed_utf8_is_valid)
{
	const char	*good[] = { "", "ascii", "caf\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x8e\xb5", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf",
	    "\xed\x9f\xbf" };
	const char	*bad[] = { "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80",
	    "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf", "\xed\xa0\x80",
	    "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
	    "\xff", "\x80", "\xc3", "\xe2\x82", "\xc3\x28", "a\xf0\x9f\x8e" };
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert(jv_utf8_is_valid(good[i], strlen(good[i])),
		    "good %zu", i);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!jv_utf8_is_valid(bad[i], strlen(bad[i])),
		    "bad %zu", i);
}

/* Import reader. */

#define HASH	"$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"

static FILE *
text(const char *s)
{
	FILE	*f;

	f = fmemopen((void *)(uintptr_t)s, strlen(s), "r");
	cr_assert_not_null(f);
	return f;
}

Test(import, csv_as_psql_writes_it_is_read_with_its_header)
{
	struct import_reader	 ir;
	struct import_record	 r;
	const char		*err = NULL;
	FILE			*f;

	f = text("id,email,username,password_hash,display_name,avatar_url,"
	    "created_at,updated_at\n"
	    "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b,a@b.co,alice," HASH ","
	    "\"Alice, \"\"the\"\" first\",,2025-10-20 12:34:56.789,x\r\n"
	    "\n"
	    ",bob@b.co,bob," HASH ",\"\",\"https://x.io/a.png\",,\n");
	cr_assert_eq(import_open(&ir, f, &err), 0, "%s", err);
	cr_assert(!ir.jsonl);
	cr_assert_eq(import_next(&ir, &r, &err), 1, "%s", err);
	cr_assert_eq(r.line, 2);
	cr_assert_str_eq(r.v[IMPORT_ID], "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b");
	cr_assert_str_eq(r.v[IMPORT_EMAIL], "a@b.co");
	cr_assert_str_eq(r.v[IMPORT_USERNAME], "alice");
	cr_assert_str_eq(r.v[IMPORT_PASSWORD_HASH], HASH);
	cr_assert_str_eq(r.v[IMPORT_DISPLAY_NAME], "Alice, \"the\" first");
	cr_assert_null(r.v[IMPORT_AVATAR_URL]);
	cr_assert_str_eq(r.v[IMPORT_CREATED_AT], "2025-10-20 12:34:56.789");
	import_record_release(&r);
	cr_assert_eq(import_next(&ir, &r, &err), 1, "%s", err);
	cr_assert_eq(r.line, 4, "the blank line is skipped");
	cr_assert_null(r.v[IMPORT_ID]);
	cr_assert_null(r.v[IMPORT_DISPLAY_NAME], "empty string reads as absent");
	cr_assert_str_eq(r.v[IMPORT_AVATAR_URL], "https://x.io/a.png");
	import_record_release(&r);
	cr_assert_eq(import_next(&ir, &r, &err), 0);
	fclose(f);
}

Test(import, a_quoted_field_may_span_lines_and_the_last_record_may_lack_a_newline)
{
	struct import_reader	 ir;
	struct import_record	 r;
	const char		*err = NULL;
	FILE			*f;

	f = text("email,username,password_hash,display_name\n"
	    "a@b.co,alice," HASH ",\"two\nlines\"\n"
	    "c@d.co,carol," HASH ",Carol");
	cr_assert_eq(import_open(&ir, f, &err), 0);
	cr_assert_eq(import_next(&ir, &r, &err), 1);
	cr_assert_str_eq(r.v[IMPORT_DISPLAY_NAME], "two\nlines");
	import_record_release(&r);
	cr_assert_eq(import_next(&ir, &r, &err), 1);
	cr_assert_eq(r.line, 4);
	cr_assert_str_eq(r.v[IMPORT_DISPLAY_NAME], "Carol");
	import_record_release(&r);
	cr_assert_eq(import_next(&ir, &r, &err), 0);
	fclose(f);
}

Test(import, a_malformed_record_is_refused_and_reading_goes_on)
{
	struct import_reader	 ir;
	struct import_record	 r;
	const char		*err = NULL;
	FILE			*f;

	f = text("email,username,password_hash\n"
	    "a@b.co,alice\n"
	    "a@b.co,al\"ice," HASH "\n"
	    "\"a@b.co\"x,alice," HASH "\n"
	    "c@d.co,carol," HASH "\n");
	cr_assert_eq(import_open(&ir, f, &err), 0);
	cr_assert_eq(import_next(&ir, &r, &err), -1, "too few fields");
	import_record_release(&r);
	cr_assert_eq(import_next(&ir, &r, &err), -1, "a quote inside");
	import_record_release(&r);
	cr_assert_eq(import_next(&ir, &r, &err), -1, "text after a quote");
	import_record_release(&r);
	cr_assert_eq(import_next(&ir, &r, &err), 1);
	cr_assert_eq(r.line, 5);
	cr_assert_str_eq(r.v[IMPORT_USERNAME], "carol");
	import_record_release(&r);
	cr_assert_eq(import_next(&ir, &r, &err), 0);
	fclose(f);
}

Test(import, a_header_without_the_required_columns_is_refused)
{
	struct import_reader	 ir;
	const char		*err = NULL;
	FILE			*f;

	f = text("email,username\na@b.co,alice\n");
	cr_assert_eq(import_open(&ir, f, &err), -1);
	cr_assert(strstr(err, "password_hash") != NULL, "%s", err);
	fclose(f);
	f = text("");
	cr_assert_eq(import_open(&ir, f, &err), -1);
	fclose(f);
	f = text("email,email,username,password_hash\n");
	cr_assert_eq(import_open(&ir, f, &err), -1);
	fclose(f);
}

Test(import, json_lines_are_read_with_snake_or_camel_case_members)
{
	struct import_reader	 ir;
	struct import_record	 r;
	const char		*err = NULL;
	FILE			*f;

	f = text("{\"id\":\"6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b\","
	    "\"email\":\"a@b.co\",\"username\":\"alice\",\"password_hash\":"
	    "\"" HASH "\",\"display_name\":null,\"created_at\":"
	    "\"2025-10-20T12:34:56.789\",\"extra\":1}\n"
	    "\n"
	    "{\"email\":\"b@b.co\",\"username\":\"bob\",\"passwordHash\":"
	    "\"" HASH "\",\"displayName\":\"Bob \\\"B\\\"\"}\n"
	    "{\"email\":1}\n"
	    "not json\n");
	cr_assert_eq(import_open(&ir, f, &err), 0);
	cr_assert(ir.jsonl);
	cr_assert_eq(import_next(&ir, &r, &err), 1, "%s", err);
	cr_assert_eq(r.line, 1);
	cr_assert_str_eq(r.v[IMPORT_USERNAME], "alice");
	cr_assert_null(r.v[IMPORT_DISPLAY_NAME]);
	cr_assert_str_eq(r.v[IMPORT_CREATED_AT], "2025-10-20T12:34:56.789");
	import_record_release(&r);
	cr_assert_eq(import_next(&ir, &r, &err), 1, "%s", err);
	cr_assert_eq(r.line, 3);
	cr_assert_str_eq(r.v[IMPORT_PASSWORD_HASH], HASH);
	cr_assert_str_eq(r.v[IMPORT_DISPLAY_NAME], "Bob \"B\"");
	import_record_release(&r);
	cr_assert_eq(import_next(&ir, &r, &err), -1, "a non-string member");
	import_record_release(&r);
	cr_assert_eq(import_next(&ir, &r, &err), -1, "not JSON");
	import_record_release(&r);
	cr_assert_eq(import_next(&ir, &r, &err), 0);
	fclose(f);
}

static struct import_record
record(const char *id, const char *email, const char *user, const char *hash,
    const char *dn, const char *av)
{
	struct import_record	 r;

	memset(&r, 0, sizeof(r));
	r.v[IMPORT_ID] = id ? strdup(id) : NULL;
	r.v[IMPORT_EMAIL] = email ? strdup(email) : NULL;
	r.v[IMPORT_USERNAME] = user ? strdup(user) : NULL;
	r.v[IMPORT_PASSWORD_HASH] = hash ? strdup(hash) : NULL;
	r.v[IMPORT_DISPLAY_NAME] = dn ? strdup(dn) : NULL;
	r.v[IMPORT_AVATAR_URL] = av ? strdup(av) : NULL;
	return r;
}

Test(import, records_are_checked_against_the_new_rules)
{
	struct import_record	 r;
	struct db_user_import	 u;
	const char		*note;

	r = record(NULL, "a@b.co", "alice", HASH, "Alice", NULL);
	cr_assert_null(import_check(&r, &u, &note));
	cr_assert_null(note);
	cr_assert_str_eq(u.password_hash, HASH);
	cr_assert_str_eq(u.display_name, "Alice");
	import_record_release(&r);

	r = record("42", "a@b.co", "alice", HASH, NULL, NULL);
	cr_assert_not_null(import_check(&r, &u, &note), "bad id");
	import_record_release(&r);
	r = record(NULL, "not-an-email", "alice", HASH, NULL, NULL);
	cr_assert_not_null(import_check(&r, &u, &note));
	import_record_release(&r);
	r = record(NULL, "a@b.co", "al ice", HASH, NULL, NULL);
	cr_assert_not_null(import_check(&r, &u, &note));
	import_record_release(&r);
	r = record(NULL, "a@b.co", "alice", "$2b$10$dummyhash", NULL, NULL);
	cr_assert_not_null(import_check(&r, &u, &note));
	import_record_release(&r);
	r = record(NULL, "a@b.co", "alice", NULL, NULL, NULL);
	cr_assert_not_null(import_check(&r, &u, &note));
	import_record_release(&r);

	r = record(NULL, "a@b.co", "alice", HASH, "Alice",
	    "/uploads/alice.png");
	cr_assert_null(import_check(&r, &u, &note));
	cr_assert_null(u.avatar_url, "an avatar the schema refuses is dropped");
	cr_assert_not_null(note);
	import_record_release(&r);
}
