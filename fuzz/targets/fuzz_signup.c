/*
 * The signup body (POST /api/auth/signup) up to the hash:
 * auth_signup_check.  Properties: a refusal records an error and its
 * problem body is JSON; what is accepted is what the schema's CHECKs
 * accept (an address, a username of 3-30 allowed characters, a
 * password of 8-1024 characters whose byte length is the member's).
 */
#include "fuzzlib.h"
#include "handlers/model.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct field_errors	 fe;
	json_object		*body = NULL, *v;
	const char		*email, *username, *pw;
	size_t			 pwlen, chars;
	char			*s;

	if ((body = fuzz_object(data, size, &s)) == NULL)
		return 0;
	field_errors_init(&fe);
	if (auth_signup_check(body, &fe, &email, &username, &pw, &pwlen) != 0) {
		FUZZ_CHECK(fe.count > 0, "refused with no error recorded");
		fuzz_check_problem(&fe);
	} else {
		FUZZ_CHECK(auth_email_is_valid(email), "email %s", email);
		FUZZ_CHECK(auth_username_is_valid(username), "username %s",
		    username);
		FUZZ_CHECK(json_object_object_get_ex(body, "password", &v) &&
		    (size_t)json_object_get_string_len(v) == pwlen,
		    "password length");
		FUZZ_CHECK(jv_utf8_is_valid(pw, pwlen), "password not UTF-8");
		chars = jv_utf8_length(pw, pwlen);
		FUZZ_CHECK(chars >= PASSWORD_MIN_CHARS &&
		    chars <= PASSWORD_MAX_CHARS, "password of %zu chars", chars);
	}
	field_errors_release(&fe);
	json_object_put(body);
	free(s);
	return 0;
}
