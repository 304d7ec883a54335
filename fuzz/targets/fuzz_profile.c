/*
 * The profile patch (PATCH /api/users/me): users_profile_check.
 * Properties: a refusal records an error and its problem body is JSON;
 * an accepted value is one the checks accept, and a member set to null
 * clears (set, with no value).
 */
#include "fuzzlib.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct field_errors	 fe;
	struct db_profile	 pr;
	json_object		*body = NULL, *v;
	char			*s;

	if ((body = fuzz_object(data, size, &s)) == NULL)
		return 0;
	field_errors_init(&fe);
	if (users_profile_check(body, &fe, &pr) != 0) {
		FUZZ_CHECK(fe.count > 0, "refused with no error recorded");
		fuzz_check_problem(&fe);
	} else {
		FUZZ_CHECK(pr.display_name == NULL ||
		    auth_display_name_is_valid(pr.display_name), "name");
		FUZZ_CHECK(pr.avatar_url == NULL ||
		    auth_avatar_url_is_valid(pr.avatar_url), "url");
		FUZZ_CHECK(pr.set_display_name == json_object_object_get_ex(
		    body, "displayName", &v), "displayName set");
		FUZZ_CHECK(!pr.set_display_name || (v == NULL) ==
		    (pr.display_name == NULL), "displayName null");
		FUZZ_CHECK(pr.set_avatar_url == json_object_object_get_ex(
		    body, "avatarUrl", &v), "avatarUrl set");
		FUZZ_CHECK(!pr.set_avatar_url || (v == NULL) ==
		    (pr.avatar_url == NULL), "avatarUrl null");
	}
	field_errors_release(&fe);
	json_object_put(body);
	free(s);
	return 0;
}
