/*
 * The accounts importer (`mpapi users import FILE`: CSV with a header
 * line, or JSON Lines): import_open, import_next, import_check on a
 * file's bytes.  Properties: reading ends (every call consumes input
 * or reports the end); a record's line numbers only grow; a record
 * import_check accepts has the three required values, each one the
 * signup checks accept, and borrows them from the record.
 */
#if __has_include("cli/commands.h")
#include "cli/commands.h"
#else
#include "handlers/commands.h"
#endif
#include "fuzzlib.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_reader	 ir;
	struct import_record	 r;
	struct db_user_import	 u;
	const char		*err, *note, *why;
	size_t			 last = 0, n;
	FILE			*f;
	int			 rc;

	if (size == 0 || size > 256 * 1024)
		return 0;
	if ((f = fmemopen((void *)data, size, "r")) == NULL)
		abort();
	if (import_open(&ir, f, &err) != 0) {
		FUZZ_CHECK(err != NULL && *err != '\0', "refused silently");
		fclose(f);
		return 0;
	}
	for (n = 0; ; n++) {
		FUZZ_CHECK(n <= size + 1, "reading does not end");
		err = NULL;
		rc = import_next(&ir, &r, &err);
		if (rc == 0) {
			import_record_release(&r);
			break;
		}
		FUZZ_CHECK(r.line >= last, "line %zu after %zu", r.line, last);
		last = r.line;
		if (rc < 0) {
			FUZZ_CHECK(err != NULL, "a bad record without a reason");
			import_record_release(&r);
			continue;
		}
		if ((why = import_check(&r, &u, &note)) == NULL) {
			FUZZ_CHECK(u.email == r.v[IMPORT_EMAIL] &&
			    auth_email_is_valid(u.email), "email");
			FUZZ_CHECK(u.username == r.v[IMPORT_USERNAME] &&
			    auth_username_is_valid(u.username), "username");
			FUZZ_CHECK(u.password_hash != NULL &&
			    password_hash_kind(u.password_hash) !=
			    PASSWORD_KIND_UNKNOWN, "hash");
			FUZZ_CHECK(u.id == NULL || uuid_is_valid(u.id), "id");
			FUZZ_CHECK(u.display_name == NULL ||
			    auth_display_name_is_valid(u.display_name), "name");
			FUZZ_CHECK(u.avatar_url == NULL ||
			    auth_avatar_url_is_valid(u.avatar_url), "url");
		}
		import_record_release(&r);
	}
	fclose(f);
	return 0;
}
