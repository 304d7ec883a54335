/*
 * Integration: the /api/auth routes through nginx against PostgreSQL:
 * signup, login (throttling, bcrypt accounts, re-hashing), me, bearer
 * tokens of every bad kind, password change.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <crypt.h>
#include <sodium.h>

#include "base/buf.h"
#include "t/itauth.h"

#define CURRENT_ARGON2	"$argon2id$v=19$m=19456,t=2,p=1$"

static void
signup_body(char *out, size_t sz, const char *email, const char *username,
    const char *password)
{
	snprintf(out, sz, "{\"email\":\"%s\",\"username\":\"%s\","
	    "\"password\":\"%s\"}", email, username, password);
}

static char *
hash_of(const char *id)
{
	const char	*p[1] = { id };

	return it_db_text("SELECT password_hash FROM users WHERE id = $1::uuid",
	    1, p);
}

/*
 * Each test process sends from a loopback address of its own, so
 * nginx's per-address limit on /api/auth/login (a separate feature)
 * never meets the application's per-account throttling tested here.
 */
TestSuite(signup, .init = ia_init);
TestSuite(login, .init = ia_init);
TestSuite(tokens, .init = ia_init);
TestSuite(password, .init = ia_init);

/* Signup: the good path. */

Test(signup, creates_the_account_and_answers_201_with_user_and_token)
{
	struct it_resp	 r, me;
	char		 name[32], email[64], body[256], loc[64], *h;
	const char	*p[1];

	it_unique(name, sizeof(name), "su");
	snprintf(email, sizeof(email), "%s@Example.com", name);
	signup_body(body, sizeof(body), email, name, "correct horse battery");
	ia_send("POST", "/api/auth/signup", NULL, body, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(it_header(&r, "content-type"), "application/json");
	snprintf(loc, sizeof(loc), "%s/api/users/%s", it_mount(), name);
	cr_assert_str_eq(it_header(&r, "location"), loc);
	cr_assert_eq(strlen(it_str(r.json, "user.id")), 36);
	cr_assert_str_eq(it_str(r.json, "user.email"), email);
	cr_assert_str_eq(it_str(r.json, "user.username"), name);
	cr_assert_str_eq(it_str(r.json, "user.displayName"), name);
	cr_assert(ia_is_null(r.json, "user", "avatarUrl"), "%s", r.body);
	cr_assert_eq(strlen(it_str(r.json, "user.createdAt")), 24);
	cr_assert(strstr(r.body, "correct horse") == NULL);
	cr_assert(strstr(r.body, "argon2") == NULL);
	cr_assert_not_null(it_str(r.json, "token"));

	ia_send("GET", "/api/auth/me", it_str(r.json, "token"), NULL, &me);
	cr_assert_eq(me.status, 200, "%s", me.body);
	cr_assert_str_eq(it_str(me.json, "user.id"), it_str(r.json, "user.id"));
	cr_assert_str_eq(it_str(me.json, "user.email"), email);

	h = hash_of(it_str(r.json, "user.id"));
	cr_assert(strncmp(h, CURRENT_ARGON2, strlen(CURRENT_ARGON2)) == 0,
	    "%s", h);
	free(h);
	p[0] = name;
	cr_assert_eq(it_db_count("SELECT token_version FROM users "
	    "WHERE username = $1", 1, p), 1);
	it_resp_free(&me);
	it_resp_free(&r);
}

Test(signup, boundary_lengths_are_accepted)
{
	struct it_resp	 r;
	struct buf	 b = BUF_INIT;
	char		 name[32], email[300], pw[1025];
	size_t		 i;

	/* A 255-character email, a 30-character username, 8 characters. */
	it_unique(name, sizeof(name), "bl");
	memset(email, 'e', sizeof(email));
	snprintf(email + 255 - strlen(name) - 12, 64, "%s@example.com", name);
	cr_assert_eq(strlen(email), 255);
	snprintf(name + strlen(name), sizeof(name) - strlen(name), "%s",
	    "_____________________________");
	name[30] = '\0';
	signup_body(pw, sizeof(pw), email, name, "8chars!!");
	ia_send("POST", "/api/auth/signup", NULL, pw, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	it_resp_free(&r);

	/* 1024 characters of a two-byte letter. */
	it_unique(name, sizeof(name), "bm");
	buf_printf(&b, "{\"email\":\"%s@example.com\",\"username\":\"%s\","
	    "\"password\":\"", name, name);
	for (i = 0; i < 1024; i++)
		buf_puts(&b, "\xc3\xa9");
	buf_puts(&b, "\"}");
	ia_send("POST", "/api/auth/signup", NULL, b.data, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	it_resp_free(&r);
	buf_release(&b);
}

/* Signup: bad input.  Every case: the status, the field, no row. */

static void
assert_signup_refused(const char *body, const char *name, int status,
    const char *type, const char *field)
{
	struct it_resp	 r;

	ia_send("POST", "/api/auth/signup", NULL, body, &r);
	ia_assert_problem(&r, status, type, field);
	cr_assert(strstr(r.body, "Secret") == NULL, "password echoed");
	it_resp_free(&r);
	cr_assert_eq(ia_count_users(name), 0, "a row was written: %s", body);
}

Test(signup, malformed_json_is_400_and_writes_nothing)
{
	char	 name[32], body[256];

	it_unique(name, sizeof(name), "mj");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":\"Secret123\"", name, name);
	assert_signup_refused(body, name, 400, "malformed-json", NULL);
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":\"Secret123\",}", name, name);
	assert_signup_refused(body, name, 400, "malformed-json", NULL);
	snprintf(body, sizeof(body), "{'email':'%s@example.com',"
	    "'username':'%s','password':'Secret123'}", name, name);
	assert_signup_refused(body, name, 400, "malformed-json", NULL);
	snprintf(body, sizeof(body), "[\"%s\"]", name);
	assert_signup_refused(body, name, 400, "malformed-json", NULL);
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":\"Secret123\"} {}", name, name);
	assert_signup_refused(body, name, 400, "malformed-json", NULL);
}

Test(signup, wrong_types_are_400_naming_the_field)
{
	char	 name[32], body[256];

	it_unique(name, sizeof(name), "wt");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":123}", name, name);
	assert_signup_refused(body, name, 400, "validation", "password");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":12345678}", name, name);
	assert_signup_refused(body, name, 400, "validation", "password");
	snprintf(body, sizeof(body), "{\"email\":true,"
	    "\"username\":\"%s\",\"password\":\"Secret123\"}", name);
	assert_signup_refused(body, name, 400, "validation", "email");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":null,\"password\":\"Secret123\"}", name);
	assert_signup_refused(body, name, 400, "validation", "username");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":[\"%s\"],\"password\":\"Secret123\"}", name, name);
	assert_signup_refused(body, name, 400, "validation", "username");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":{\"v\":\"Secret123\"}}", name,
	    name);
	assert_signup_refused(body, name, 400, "validation", "password");
}

Test(signup, missing_fields_are_400_naming_each_of_them)
{
	struct it_resp	 r;
	char		 name[32], body[256];

	ia_send("POST", "/api/auth/signup", NULL, "{}", &r);
	ia_assert_problem(&r, 400, "validation", "email");
	ia_assert_problem(&r, 400, "validation", "username");
	ia_assert_problem(&r, 400, "validation", "password");
	cr_assert_str_eq(it_str(r.json, "error"), "Validation failed");
	it_resp_free(&r);

	/* No body at all is the same as an empty object. */
	ia_send("POST", "/api/auth/signup", NULL, NULL, &r);
	ia_assert_problem(&r, 400, "validation", "password");
	it_resp_free(&r);

	it_unique(name, sizeof(name), "mf");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\"}", name, name);
	assert_signup_refused(body, name, 400, "validation", "password");
	snprintf(body, sizeof(body), "{\"username\":\"%s\","
	    "\"password\":\"Secret123\"}", name);
	assert_signup_refused(body, name, 400, "validation", "email");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"password\":\"Secret123\"}", name);
	assert_signup_refused(body, name, 400, "validation", "username");
}

Test(signup, bad_usernames_are_400_naming_username)
{
	char		 name[32], body[256];
	const char	*bad[] = { "ab", "abcdefghijklmnopqrstuvwxyz01234",
	    "has space", "j\xc3\xbcrgen", "\\u00fcber_name", "semi;colon" };
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		it_unique(name, sizeof(name), "bu");
		snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
		    "\"username\":\"%s\",\"password\":\"Secret123\"}", name,
		    bad[i]);
		assert_signup_refused(body, name, 400, "validation", "username");
	}
	/* A lone surrogate escape is not JSON at all (issue 9, item 4). */
	it_unique(name, sizeof(name), "bu");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"\\ud800abc\",\"password\":\"Secret123\"}", name);
	assert_signup_refused(body, name, 400, "malformed-json", NULL);
}

Test(signup, bad_emails_are_400_naming_email)
{
	char	 name[32], body[600], longmail[300];

	it_unique(name, sizeof(name), "be");
	snprintf(body, sizeof(body), "{\"email\":\"%s.example.com\","
	    "\"username\":\"%s\",\"password\":\"Secret123\"}", name, name);
	assert_signup_refused(body, name, 400, "validation", "email");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example\","
	    "\"username\":\"%s\",\"password\":\"Secret123\"}", name, name);
	assert_signup_refused(body, name, 400, "validation", "email");
	snprintf(body, sizeof(body), "{\"email\":\"%s @example.com\","
	    "\"username\":\"%s\",\"password\":\"Secret123\"}", name, name);
	assert_signup_refused(body, name, 400, "validation", "email");
	/* 256 characters. */
	memset(longmail, 'e', sizeof(longmail));
	snprintf(longmail + 256 - 12, 16, "@example.com");
	cr_assert_eq(strlen(longmail), 256);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"username\":\"%s\","
	    "\"password\":\"Secret123\"}", longmail, name);
	assert_signup_refused(body, name, 400, "validation", "email");
	cr_assert_eq(ia_count_users(longmail), 0);
}

Test(signup, passwords_of_7_and_1025_characters_are_400)
{
	struct buf	 b = BUF_INIT;
	char		 name[32], body[256];
	size_t		 i;

	it_unique(name, sizeof(name), "pl");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":\"Secret7\"}", name, name);
	assert_signup_refused(body, name, 400, "validation", "password");
	buf_printf(&b, "{\"email\":\"%s@example.com\",\"username\":\"%s\","
	    "\"password\":\"", name, name);
	for (i = 0; i < 1025; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "\"}");
	assert_signup_refused(b.data, name, 400, "validation", "password");
	buf_reset(&b);
	buf_printf(&b, "{\"email\":\"%s@example.com\",\"username\":\"%s\","
	    "\"password\":\"", name, name);
	for (i = 0; i < 1025; i++)
		buf_puts(&b, "\xc3\xa9");
	buf_puts(&b, "\"}");
	assert_signup_refused(b.data, name, 400, "validation", "password");
	buf_release(&b);
}

Test(signup, a_taken_email_or_username_differing_only_in_case_is_409)
{
	struct ia_user	 u;
	struct it_resp	 r;
	char		 body[256], upper[64], other[32];
	size_t		 i;

	ia_new_user(&u);
	for (i = 0; u.email[i] != '\0'; i++)
		upper[i] = (char)(u.email[i] >= 'a' && u.email[i] <= 'z' ?
		    u.email[i] - 32 : u.email[i]);
	upper[i] = '\0';
	it_unique(other, sizeof(other), "ot");
	signup_body(body, sizeof(body), upper, other, "Secret1234");
	ia_send("POST", "/api/auth/signup", NULL, body, &r);
	ia_assert_problem(&r, 409, "already-exists", "email");
	cr_assert_str_eq(it_str(r.json, "error"), "Email already registered");
	it_resp_free(&r);
	cr_assert_eq(ia_count_users(other), 0);
	cr_assert_eq(ia_count_users(u.email), 1);

	for (i = 0; u.username[i] != '\0'; i++)
		upper[i] = (char)(u.username[i] >= 'a' && u.username[i] <= 'z' ?
		    u.username[i] - 32 : u.username[i]);
	upper[i] = '\0';
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":\"Secret1234\"}", other, upper);
	ia_send("POST", "/api/auth/signup", NULL, body, &r);
	ia_assert_problem(&r, 409, "already-exists", "username");
	cr_assert_str_eq(it_str(r.json, "error"), "Username already taken");
	it_resp_free(&r);
	cr_assert_eq(ia_count_users(other), 0);
	cr_assert_eq(ia_count_users(u.username), 1);
}

Test(signup, nul_characters_in_any_string_are_400_naming_the_field)
{
	char	 name[32], body[256];

	it_unique(name, sizeof(name), "nu");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\\u0000x\","
	    "\"username\":\"%s\",\"password\":\"Secret123\"}", name, name);
	assert_signup_refused(body, name, 400, "validation", "email");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\\u0000\",\"password\":\"Secret123\"}", name,
	    name);
	assert_signup_refused(body, name, 400, "validation", "username");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":\"Secret\\u0000123\"}", name,
	    name);
	assert_signup_refused(body, name, 400, "validation", "password");
}

Test(signup, invalid_utf8_in_any_string_is_400)
{
	char		 name[32], body[256];
	struct it_resp	 r;
	const char	*forms[] = { "\xed\xa0\x80", "\xc0\x80",
	    "\xe0\x80\x80", "\xf4\x90\x80\x80" };
	size_t		 i;

	/* Bytes the JSON parser refuses: the body is malformed. */
	it_unique(name, sizeof(name), "iu");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":\"Secret\xff\xfe" "123\"}",
	    name, name);
	ia_send("POST", "/api/auth/signup", NULL, body, &r);
	ia_assert_problem(&r, 400, "malformed-json", NULL);
	cr_assert(strstr(it_str(r.json, "detail"), "utf-8") != NULL ||
	    strstr(it_str(r.json, "detail"), "UTF-8") != NULL, "%s", r.body);
	it_resp_free(&r);
	cr_assert_eq(ia_count_users(name), 0);
	snprintf(body, sizeof(body), "{\"email\":\"%s@exa\xc3mple.com\","
	    "\"username\":\"%s\",\"password\":\"Secret123\"}", name, name);
	assert_signup_refused(body, name, 400, "malformed-json", NULL);
	/*
	 * Ill-formed sequences the parser lets through (an encoded
	 * surrogate, overlong forms -- C0 80 is a disguised NUL --, a
	 * code point above U+10FFFF): refused naming the field.
	 */
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
		    "\"username\":\"%s\",\"password\":\"Secret%s123\"}",
		    name, name, forms[i]);
		assert_signup_refused(body, name, 400, "validation",
		    "password");
		snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
		    "\"username\":\"%s%s\",\"password\":\"Secret123\"}",
		    name, name, forms[i]);
		assert_signup_refused(body, name, 400, "validation",
		    "username");
		snprintf(body, sizeof(body), "{\"email\":\"%s%s@example.com\","
		    "\"username\":\"%s\",\"password\":\"Secret123\"}",
		    name, forms[i], name);
		assert_signup_refused(body, name, 400, "validation", "email");
	}
}

Test(signup, a_10_mb_body_is_413_and_writes_nothing)
{
	struct it_resp	 r;
	char		 name[32], *body;
	size_t		 n = 10 * 1024 * 1024, k;

	it_unique(name, sizeof(name), "tb");
	body = malloc(n + 1);
	k = (size_t)sprintf(body, "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":\"", name, name);
	memset(body + k, 'p', n - k - 2);
	memcpy(body + n - 2, "\"}", 3);
	ia_send("POST", "/api/auth/signup", NULL, body, &r);
	cr_assert_eq(r.status, 413, "%d", r.status);
	cr_assert_str_eq(it_header(&r, "content-type"),
	    "application/problem+json");
	cr_assert_eq(it_int(r.json, "status"), 413);
	it_resp_free(&r);
	free(body);
	cr_assert_eq(ia_count_users(name), 0);
}

Test(signup, a_body_that_is_not_json_is_415)
{
	struct it_resp	 r;
	const char	*h[] = { "Content-Type: text/plain", NULL };
	char		 name[32], body[256];

	it_unique(name, sizeof(name), "ct");
	signup_body(body, sizeof(body), "x@example.com", name, "Secret123");
	cr_assert_eq(it_request("POST", "/api/auth/signup", h, body, &r), 0);
	ia_assert_problem(&r, 415, "unsupported-media-type", NULL);
	it_resp_free(&r);
	cr_assert_eq(ia_count_users(name), 0);
}

/* Login. */

Test(login, by_email_or_username_in_any_case_answers_200_with_user_and_token)
{
	struct ia_user	 u;
	struct it_resp	 r, me;
	char		 upper[64];
	const char	*idents[3];
	size_t		 i;

	ia_new_user(&u);
	for (i = 0; u.email[i] != '\0'; i++)
		upper[i] = (char)(u.email[i] >= 'a' && u.email[i] <= 'z' ?
		    u.email[i] - 32 : u.email[i]);
	upper[i] = '\0';
	idents[0] = u.email;
	idents[1] = u.username;
	idents[2] = upper;
	for (i = 0; i < 3; i++) {
		ia_login(idents[i], u.password, &r);
		cr_assert_eq(r.status, 200, "%s: %s", idents[i], r.body);
		cr_assert_str_eq(it_str(r.json, "user.id"), u.id);
		cr_assert_str_eq(it_str(r.json, "user.email"), u.email);
		cr_assert_str_eq(it_str(r.json, "user.username"), u.username);
		cr_assert_not_null(it_str(r.json, "user.createdAt"));
		cr_assert_not_null(it_str(r.json, "token"));
		cr_assert(strstr(r.body, u.password) == NULL);
		ia_send("GET", "/api/auth/me", it_str(r.json, "token"), NULL,
		    &me);
		cr_assert_eq(me.status, 200);
		cr_assert(json_object_equal(it_get(r.json, "user"),
		    it_get(me.json, "user")),
		    "login's user is me's user: %s vs %s", r.body, me.body);
		it_resp_free(&me);
		it_resp_free(&r);
	}
}

Test(login, a_wrong_password_and_an_unknown_account_get_the_same_401)
{
	struct ia_user	 u;
	struct it_resp	 a, b;
	char		 ghost[64];

	ia_new_user(&u);
	ia_login(u.email, "wrong password!", &a);
	it_unique(ghost, sizeof(ghost), "gh");
	strcat(ghost, "@example.com");
	ia_login(ghost, "wrong password!", &b);
	ia_assert_problem(&a, 401, "invalid-credentials", NULL);
	ia_assert_problem(&b, 401, "invalid-credentials", NULL);
	cr_assert_str_eq(it_str(a.json, "error"), "Invalid email or password");
	cr_assert_str_eq(it_str(a.json, "error"), it_str(b.json, "error"));
	cr_assert_str_eq(it_str(a.json, "detail"), it_str(b.json, "detail"));
	cr_assert_str_eq(it_header(&a, "www-authenticate"),
	    it_header(&b, "www-authenticate"));
	cr_assert_null(it_get(a.json, "token"));
	it_resp_free(&a);
	it_resp_free(&b);
}

Test(login, bad_input_is_400_naming_the_field_and_counts_no_attempt)
{
	struct ia_user	 u;
	struct it_resp	 r;
	struct buf	 b = BUF_INIT;
	const char	*p[1];
	char		 body[256];
	size_t		 i;

	ia_new_user(&u);
	p[0] = u.email;
	snprintf(body, sizeof(body), "{\"email\":\"%s\"}", u.email);
	ia_send("POST", "/api/auth/login", NULL, body, &r);
	ia_assert_problem(&r, 400, "validation", "password");
	it_resp_free(&r);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":123}",
	    u.email);
	ia_send("POST", "/api/auth/login", NULL, body, &r);
	ia_assert_problem(&r, 400, "validation", "password");
	it_resp_free(&r);
	ia_send("POST", "/api/auth/login", NULL, "{\"password\":\"x\"}", &r);
	ia_assert_problem(&r, 400, "validation", "email");
	it_resp_free(&r);
	ia_send("POST", "/api/auth/login", NULL,
	    "{\"email\":\"has space\",\"password\":\"x\"}", &r);
	ia_assert_problem(&r, 400, "validation", "email");
	it_resp_free(&r);
	snprintf(body, sizeof(body), "{\"email\":\"%s\\u0000\","
	    "\"password\":\"x\"}", u.email);
	ia_send("POST", "/api/auth/login", NULL, body, &r);
	ia_assert_problem(&r, 400, "validation", "email");
	it_resp_free(&r);
	ia_send("POST", "/api/auth/login", NULL, "{\"email\":", &r);
	ia_assert_problem(&r, 400, "malformed-json", NULL);
	it_resp_free(&r);
	buf_printf(&b, "{\"email\":\"%s\",\"password\":\"", u.email);
	for (i = 0; i < 1025; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "\"}");
	ia_send("POST", "/api/auth/login", NULL, b.data, &r);
	ia_assert_problem(&r, 400, "validation", "password");
	it_resp_free(&r);
	buf_release(&b);
	cr_assert_eq(it_db_count("SELECT count(*) FROM auth_failures "
	    "WHERE scope = 'login ' || lower($1)", 1, p), 0);
}

/* Send from the loopback address number i; returns it (static). */
static const char *
from(int i)
{
	static char	 ip[32];

	snprintf(ip, sizeof(ip), "127.0.%d.%d", 10 + i / 200, 10 + i % 200);
	it_source(ip);
	return ip;
}

/* Failures counted for identifier from source ("*": every address). */
static long long
failures(const char *ident, const char *source)
{
	const char	*p[2] = { ident, source };

	return it_db_count("SELECT coalesce((SELECT failures FROM "
	    "auth_failures WHERE scope = 'login ' || lower($1) AND source = $2 "
	    "AND expires_at > now()), 0)", 2, p);
}

static int
retry_after(const struct it_resp *r)
{
	cr_assert_not_null(it_header(r, "retry-after"), "%s", r->body);
	return atoi(it_header(r, "retry-after"));
}

/*
 * The attack of issue 9: ten wrong passwords from one address.  That
 * address waits; the owner, from another address, signs in at once.
 */
Test(login, ten_failures_from_one_address_never_lock_out_the_owner_from_another)
{
	struct ia_user	 u;
	struct it_resp	 r;
	char		 thief[32], owner[32];
	int		 i, ra;

	ia_new_user(&u);
	snprintf(owner, sizeof(owner), "%s", from(2));
	snprintf(thief, sizeof(thief), "%s", from(1));
	for (i = 0; i < 10; i++) {
		ia_login(u.email, "wrong password!", &r);
		ia_assert_problem(&r, 401, "invalid-credentials", NULL);
		it_resp_free(&r);
	}
	ia_login(u.email, u.password, &r);	/* right, and still refused */
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	ra = retry_after(&r);
	cr_assert(ra >= 1 && ra <= 2, "the first delay is 1 s: %d", ra);
	cr_assert_null(it_get(r.json, "token"));
	it_resp_free(&r);
	cr_assert_eq(failures(u.email, thief), 10);

	from(2);			/* the owner, elsewhere */
	ia_login(u.email, u.password, &r);
	cr_assert_eq(r.status, 200, "the owner is not locked out: %s", r.body);
	it_resp_free(&r);
	ia_login(u.username, "wrong password!", &r);
	ia_assert_problem(&r, 401, "invalid-credentials", NULL);
	it_resp_free(&r);
	cr_assert_eq(failures(u.email, thief), 10,
	    "the attacker's address still waits");
	cr_assert_eq(failures(u.email, owner), 0,
	    "the owner's success cleared the owner's address");
	cr_assert_eq(failures(u.email, "*"), 10,
	    "the ceiling counts the failures only");
}

/*
 * From one address, failures past the tenth each want a wait twice the
 * one before (1, 2, 4 s ...); an attempt inside the wait is refused
 * without being counted; once it has passed, one more guess is let
 * through.  The waits end at MP_LOGIN_WINDOW.
 */
Test(login, each_failure_past_the_tenth_doubles_the_delay_of_that_address,
    .timeout = 60)
{
	struct ia_user	 u;
	struct it_resp	 r;
	char		 here[32];
	int		 i, ra, prev = 0;

	ia_new_user(&u);
	snprintf(here, sizeof(here), "%s", from(3));
	for (i = 0; i < 10; i++) {
		ia_login(u.username, "wrong password!", &r);
		cr_assert_eq(r.status, 401);
		it_resp_free(&r);
	}
	for (i = 0; i < 3; i++) {
		ia_login(u.username, "wrong password!", &r);
		ia_assert_problem(&r, 429, "too-many-attempts", NULL);
		ra = retry_after(&r);
		it_resp_free(&r);
		cr_assert(ra > prev, "the delay grows: %d after %d", ra, prev);
		cr_assert(ra <= (1 << i) + 1, "delay %d after failure %d", ra,
		    10 + i);
		cr_assert_eq(failures(u.username, here), 10 + i,
		    "a refused attempt is not counted");
		prev = ra;
		sleep((unsigned)ra);
		ia_login(u.username, "wrong password!", &r);
		cr_assert_eq(r.status, 401, "after the wait: %s", r.body);
		it_resp_free(&r);
	}
	/* The longest wait is MP_LOGIN_WINDOW; then all is forgotten. */
	{
		const char *p[1] = { u.username };

		it_db_count("UPDATE auth_failures SET failures = 40 WHERE "
		    "scope = 'login ' || lower($1) AND source <> '*' "
		    "RETURNING 1", 1, p);
	}
	ia_login(u.username, u.password, &r);
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	ra = retry_after(&r);
	cr_assert(ra > 800 && ra <= 900, "capped at the window: %d", ra);
	it_resp_free(&r);
	{
		const char *p[1] = { u.username };

		it_db_count("UPDATE auth_failures SET expires_at = now(), "
		    "last_failure = now() - interval '900 seconds' WHERE "
		    "scope = 'login ' || lower($1) AND source <> '*' "
		    "RETURNING 1", 1, p);
	}
	ia_login(u.username, u.password, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
}

/*
 * OWASP's per-account limit, looser: 100 failures within the hour from
 * any number of addresses stop every login of the identifier, right
 * password or not, known account or not, until the hour ends.
 */
Test(login, a_hundred_failures_from_many_addresses_reach_the_ceiling_of_the_identifier,
    .timeout = 120)
{
	struct ia_user	 u;
	struct it_resp	 r, known;
	char		 ghost[64];
	int		 i, ra;

	ia_new_user(&u);
	it_unique(ghost, sizeof(ghost), "gh");
	strcat(ghost, "@example.com");
	for (i = 0; i < 100; i++) {
		from(100 + i % 20);	/* 5 failures from each of 20 */
		ia_login(u.email, "wrong password!", &known);
		cr_assert_eq(known.status, 401, "%d: %s", i, known.body);
		it_resp_free(&known);
		ia_login(ghost, "wrong password!", &r);
		cr_assert_eq(r.status, 401, "%d: %s", i, r.body);
		it_resp_free(&r);
	}
	cr_assert_eq(failures(u.email, "*"), 100);
	from(199);			/* a fresh address */
	ia_login(u.email, u.password, &known);
	ia_assert_problem(&known, 429, "too-many-attempts", NULL);
	ra = retry_after(&known);
	cr_assert(ra > 3000 && ra <= 3600, "until the hour ends: %d", ra);
	ia_login(ghost, "wrong password!", &r);
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	cr_assert_str_eq(it_str(known.json, "error"), it_str(r.json, "error"),
	    "an unknown account gets the same answer");
	cr_assert_str_eq(it_str(known.json, "detail"), it_str(r.json, "detail"));
	it_resp_free(&known);
	it_resp_free(&r);

	/* The username is another identifier (see doc/API.md). */
	ia_login(u.username, u.password, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
}

Test(login, an_unknown_account_is_delayed_the_same_way)
{
	struct it_resp	 r, known;
	struct ia_user	 u;
	char		 ghost[64];
	int		 i;

	it_unique(ghost, sizeof(ghost), "gh");
	strcat(ghost, "@example.com");
	from(40);
	for (i = 0; i < 10; i++) {
		ia_login(ghost, "wrong password!", &r);
		ia_assert_problem(&r, 401, "invalid-credentials", NULL);
		it_resp_free(&r);
	}
	ia_login(ghost, "wrong password!", &r);
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	cr_assert_not_null(it_header(&r, "retry-after"));

	/* The same answer a known, delayed account gets. */
	ia_new_user(&u);
	for (i = 0; i < 10; i++) {
		ia_login(u.username, "wrong password!", &known);
		it_resp_free(&known);
	}
	ia_login(u.username, "wrong password!", &known);
	cr_assert_eq(known.status, 429);
	cr_assert_str_eq(it_str(known.json, "error"), it_str(r.json, "error"));
	cr_assert_str_eq(it_str(known.json, "detail"), it_str(r.json, "detail"));
	it_resp_free(&known);
	it_resp_free(&r);
}

Test(login, a_success_clears_the_failures_of_its_address_and_is_not_counted)
{
	struct ia_user	 u;
	struct it_resp	 r;
	char		 here[32];
	int		 i;

	ia_new_user(&u);
	snprintf(here, sizeof(here), "%s", from(50));
	for (i = 0; i < 3; i++) {
		ia_login(u.username, "wrong password!", &r);
		it_resp_free(&r);
	}
	cr_assert_eq(failures(u.username, here), 3);
	cr_assert_eq(failures(u.username, "*"), 3);
	ia_login(u.username, u.password, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	cr_assert_eq(failures(u.username, here), 0);
	cr_assert_eq(failures(u.username, "*"), 3,
	    "the ceiling keeps the failures, not the success");
}

/* An account as the old system left it: a bcrypt hash. */
static void
old_account(struct ia_user *u, const char *prefix, unsigned long cost)
{
	char			 setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data	*cd;
	const char		*p[4];
	char			*id;

	memset(u, 0, sizeof(*u));
	it_unique(u->username, sizeof(u->username), "old");
	snprintf(u->email, sizeof(u->email), "%s@example.com", u->username);
	snprintf(u->password, sizeof(u->password), "old-%s", u->username);
	cr_assert_not_null(crypt_gensalt_rn(prefix, cost, NULL, 0, setting,
	    sizeof(setting)));
	cd = calloc(1, sizeof(*cd));
	cr_assert_not_null(crypt_rn(u->password, setting, cd, sizeof(*cd)));
	p[0] = u->email;
	p[1] = u->username;
	p[2] = cd->output;
	id = it_db_text("INSERT INTO users (email, username, password_hash) "
	    "VALUES ($1, $2, $3) RETURNING id", 3, p);
	cr_assert_not_null(id);
	snprintf(u->id, sizeof(u->id), "%s", id);
	free(id);
	free(cd);
}

Test(login, a_bcrypt_account_logs_in_and_is_rehashed_to_argon2id)
{
	struct ia_user	 u;
	struct it_resp	 r;
	const char	*prefixes[] = { "$2b$", "$2a$", "$2y$" };
	char		*h;
	size_t		 i;

	for (i = 0; i < 3; i++) {
		old_account(&u, prefixes[i], i == 0 ? 10 : 4);
		ia_login(u.email, "not the password", &r);
		ia_assert_problem(&r, 401, "invalid-credentials", NULL);
		it_resp_free(&r);
		h = hash_of(u.id);
		cr_assert(strncmp(h, prefixes[i], 4) == 0, "unchanged: %s", h);
		free(h);

		ia_login(u.email, u.password, &r);
		cr_assert_eq(r.status, 200, "%s %s", prefixes[i], r.body);
		it_resp_free(&r);
		h = hash_of(u.id);
		cr_assert(strncmp(h, CURRENT_ARGON2, strlen(CURRENT_ARGON2)) == 0,
		    "rehashed: %s", h);
		free(h);
		ia_login(u.username, u.password, &r);
		cr_assert_eq(r.status, 200, "after rehash: %s", r.body);
		it_resp_free(&r);
	}
}

Test(login, an_argon2id_hash_of_another_cost_is_upgraded_on_login)
{
	struct ia_user	 u;
	struct it_resp	 r;
	const char	*p[2];
	char		 weak[crypto_pwhash_STRBYTES], *h;

	ia_new_user(&u);
	cr_assert(sodium_init() >= 0);
	cr_assert_eq(crypto_pwhash_str(weak, u.password, strlen(u.password),
	    1, 8192 * 1024), 0);
	p[0] = u.id;
	p[1] = weak;
	cr_assert_eq(it_db_count("UPDATE users SET password_hash = $2 "
	    "WHERE id = $1::uuid RETURNING 1", 2, p), 1);
	ia_login(u.email, u.password, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
	h = hash_of(u.id);
	cr_assert(strncmp(h, CURRENT_ARGON2, strlen(CURRENT_ARGON2)) == 0,
	    "%s", h);
	free(h);
}

/* Tokens, through GET /api/auth/me. */

Test(tokens, no_token_is_401_no_token_provided_with_the_realm)
{
	struct it_resp	 r;

	ia_send("GET", "/api/auth/me", NULL, NULL, &r);
	ia_assert_problem(&r, 401, "unauthorized", NULL);
	cr_assert_str_eq(it_str(r.json, "error"), "No token provided");
	cr_assert_str_eq(it_header(&r, "www-authenticate"), "Bearer realm=\"api\"");
	it_resp_free(&r);
}

Test(tokens, a_crafted_token_with_the_right_key_and_claims_is_accepted)
{
	struct ia_user	 u;
	struct it_resp	 r;
	char		*t;

	ia_new_user(&u);
	t = ia_craft("HS256", NULL, &u, 1, -10, 3600, NULL, NULL);
	ia_send("GET", "/api/auth/me", t, NULL, &r);
	cr_assert_eq(r.status, 200, "the crafting works: %s", r.body);
	it_resp_free(&r);
	free(t);
}

static void
assert_refused_token(const char *token)
{
	struct it_resp	 r;

	ia_send("GET", "/api/auth/me", token, NULL, &r);
	ia_assert_invalid_token(&r);
	it_resp_free(&r);
}

Test(tokens, other_authorization_schemes_are_401)
{
	struct ia_user	 u;
	struct it_resp	 r;
	char		 h[1200];
	const char	*schemes[] = { "Basic", "Token", "JWT", "Digest" };
	size_t		 i;

	ia_new_user(&u);
	for (i = 0; i < 4; i++) {
		snprintf(h, sizeof(h), "Authorization: %s %s", schemes[i],
		    u.token);
		ia_send_h("GET", "/api/auth/me", NULL, h, NULL, &r);
		ia_assert_invalid_token(&r);
		it_resp_free(&r);
	}
	ia_send_h("GET", "/api/auth/me", NULL,
	    "Authorization: Basic YWxpY2U6c2VjcmV0", NULL, &r);
	ia_assert_invalid_token(&r);
	it_resp_free(&r);
	ia_send_h("GET", "/api/auth/me", NULL, "Authorization: Bearer", NULL,
	    &r);
	ia_assert_invalid_token(&r);
	it_resp_free(&r);
}

Test(tokens, cut_and_padded_tokens_are_401)
{
	struct ia_user	 u;
	char		 t[1200];
	size_t		 n;

	ia_new_user(&u);
	n = strlen(u.token);
	snprintf(t, sizeof(t), "%.*s", (int)(n - 1), u.token);
	assert_refused_token(t);
	snprintf(t, sizeof(t), "%.*s", (int)(n / 2), u.token);
	assert_refused_token(t);
	snprintf(t, sizeof(t), "%.*s", (int)(strrchr(u.token, '.') - u.token),
	    u.token);
	assert_refused_token(t);
	snprintf(t, sizeof(t), "%s=", u.token);
	assert_refused_token(t);
	snprintf(t, sizeof(t), "%s==", u.token);
	assert_refused_token(t);
	snprintf(t, sizeof(t), "%sAAAA", u.token);
	assert_refused_token(t);
	snprintf(t, sizeof(t), "%s.e30", u.token);
	assert_refused_token(t);
}

Test(tokens, resigned_none_hs512_and_expired_tokens_are_401)
{
	struct ia_user	 u;
	char		*t;

	ia_new_user(&u);
	t = ia_craft("HS256", "another-secret-of-at-least-32-bytes!!", &u, 1,
	    -10, 3600, NULL, NULL);
	assert_refused_token(t);
	free(t);
	t = ia_craft("none", NULL, &u, 1, -10, 3600, NULL, NULL);
	assert_refused_token(t);
	free(t);
	t = ia_craft("HS512", NULL, &u, 1, -10, 3600, NULL, NULL);
	assert_refused_token(t);
	free(t);
	t = ia_craft("HS256", NULL, &u, 1, -100, -1, NULL, NULL);
	assert_refused_token(t);	/* expired by one second */
	free(t);
}

Test(tokens, a_future_iat_a_wrong_issuer_or_audience_or_version_is_401)
{
	struct ia_user	 u;
	char		*t;

	ia_new_user(&u);
	t = ia_craft("HS256", NULL, &u, 1, 3600, 7200, NULL, NULL);
	assert_refused_token(t);
	free(t);
	t = ia_craft("HS256", NULL, &u, 1, -10, 3600, "someone-else", NULL);
	assert_refused_token(t);
	free(t);
	t = ia_craft("HS256", NULL, &u, 1, -10, 3600, NULL, "another-app");
	assert_refused_token(t);
	free(t);
	t = ia_craft("HS256", NULL, &u, 2, -10, 3600, NULL, NULL);
	assert_refused_token(t);	/* a version the account never had */
	free(t);
}

/*
 * Tokens signed with the right key but malformed in ways libjwt lets
 * through: each is the plain 401 of a bad token, on a read and on a
 * write, never a 400 from the database.
 */
Test(tokens, edge_case_tokens_signed_with_the_right_key_are_401)
{
	struct ia_user	 u;
	struct it_resp	 r;
	char		*c, *t;
	const char	*p[1];
	struct {
		const char	*header;
		long long	 ver;
		const char	*extra;
		const char	*why;
	} bad[] = {
		{ "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 2147483648LL, NULL,
		  "ver 2^31" },
		{ "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 4294967297LL, NULL,
		  "ver 2^32 + 1" },
		{ "{\"alg\":\"hs256\",\"typ\":\"JWT\"}", 1, NULL,
		  "alg in lower case" },
		{ "{\"alg\":\"HS256\",\"crit\":[\"x-acme\"],\"x-acme\":1}",
		  1, NULL, "an unknown crit extension" },
		{ "{\"alg\":\"HS256\"}", 1, "\"nbf\":NBF30", "nbf 30 s ahead" },
	};
	char		 extra[64];
	size_t		 i;

	ia_new_user(&u);
	p[0] = u.id;
	t = ia_craft_raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
	    c = ia_claims(&u, 1, NULL));
	ia_send("GET", "/api/auth/me", t, NULL, &r);
	cr_assert_eq(r.status, 200, "the crafting works: %s", r.body);
	it_resp_free(&r);
	free(c);
	free(t);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i].extra != NULL)
			snprintf(extra, sizeof(extra), "\"nbf\":%lld",
			    (long long)time(NULL) + 30);
		c = ia_claims(&u, bad[i].ver, bad[i].extra ? extra : NULL);
		t = ia_craft_raw(bad[i].header, c);
		ia_send("GET", "/api/auth/me", t, NULL, &r);
		cr_assert_eq(r.status, 401, "%s: %d %s", bad[i].why, r.status,
		    r.body);
		ia_assert_invalid_token(&r);
		it_resp_free(&r);
		ia_send("POST", "/api/loops", t, "{\"name\":\"x\",\"bars\":1}",
		    &r);
		cr_assert_eq(r.status, 401, "%s: %d %s", bad[i].why, r.status,
		    r.body);
		ia_assert_invalid_token(&r);
		it_resp_free(&r);
		free(c);
		free(t);
	}
	cr_assert_eq(it_db_count("SELECT count(*) FROM loops "
	    "WHERE user_id = $1::uuid", 1, p), 0);
}

/*
 * The token is checked before the body is read: no token, or a made-up
 * one, gets its 401 however broken, big or mistyped the body is, so a
 * garbage Authorization header never buys a parse of a large body.
 */
Test(tokens, a_body_is_not_read_before_the_token_is_checked)
{
	struct ia_user	 u;
	struct it_resp	 r;
	struct buf	 big = BUF_INIT;
	const char	*garbage = "not.a.token";
	const char	*xml[2] = { "Content-Type: application/xml", NULL };
	const char	*p[1];
	size_t		 i;

	ia_new_user(&u);
	p[0] = u.id;
	ia_send("POST", "/api/loops", NULL, "{", &r);
	ia_assert_problem(&r, 401, "unauthorized", NULL);
	it_resp_free(&r);
	ia_send("POST", "/api/loops", garbage, "{", &r);
	ia_assert_invalid_token(&r);
	it_resp_free(&r);

	/* Nearly 1 MiB of malformed JSON behind a made-up token. */
	buf_putc(&big, '[');
	for (i = 0; i < 1000000 / 2; i++)
		buf_puts(&big, "1,");
	ia_send("POST", "/api/loops", garbage, big.data, &r);
	ia_assert_invalid_token(&r);
	it_resp_free(&r);
	ia_send("PUT", "/api/loops/6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
	    garbage, big.data, &r);
	ia_assert_invalid_token(&r);
	it_resp_free(&r);
	buf_release(&big);

	/* A body of another type: 401 before 415. */
	cr_assert_eq(it_request("POST", "/api/loops", xml, "<loop/>", &r), 0);
	ia_assert_problem(&r, 401, "unauthorized", NULL);
	it_resp_free(&r);

	/* With a good token the same body is read and refused. */
	ia_send("POST", "/api/loops", u.token, "{", &r);
	ia_assert_problem(&r, 400, "malformed-json", NULL);
	it_resp_free(&r);
	cr_assert_eq(it_db_count("SELECT count(*) FROM loops "
	    "WHERE user_id = $1::uuid", 1, p), 0);
}

/* Password change. */

static void
change_password(const char *token, const char *cur, const char *next,
    struct it_resp *r)
{
	struct buf	 b = BUF_INIT;

	buf_puts(&b, "{\"currentPassword\":");
	buf_json_str(&b, cur, strlen(cur));
	buf_puts(&b, ",\"newPassword\":");
	buf_json_str(&b, next, strlen(next));
	buf_putc(&b, '}');
	ia_send("POST", "/api/auth/password", token, b.data, r);
	buf_release(&b);
}

/* An RFC 3339 UTC timestamp with milliseconds, as time_t. */
static time_t
rfc3339_ms(const char *s)
{
	struct tm	 tm;
	const char	*end;

	cr_assert_not_null(s);
	cr_assert_eq(strlen(s), 24, "%s", s);
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	cr_assert(end != NULL && end[0] == '.' && end[4] == 'Z', "%s", s);
	return timegm(&tm);
}

/* The exp claim of a token (its payload, decoded). */
static long long
exp_of(const char *token)
{
	const char	*p = strchr(token, '.') + 1;
	char		 json[2048];
	size_t		 n;
	json_object	*o;
	long long	 exp;

	cr_assert_eq(sodium_base642bin((unsigned char *)json, sizeof(json) - 1,
	    p, strcspn(p, "."), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	json[n] = '\0';
	o = json_tokener_parse(json);
	exp = it_int(o, "exp");
	json_object_put(o);
	return exp;
}

Test(password, a_change_is_200_with_a_fresh_token_and_refuses_every_older_token)
{
	struct ia_user	 u;
	struct it_resp	 r, r2;
	char		*older, *fresh, *h1, *h2;
	time_t		 expires;

	ia_new_user(&u);
	ia_login(u.email, u.password, &r2);	/* a second session */
	cr_assert_eq(r2.status, 200);
	older = strdup(it_str(r2.json, "token"));
	it_resp_free(&r2);
	h1 = hash_of(u.id);

	change_password(u.token, u.password, "a brand new passphrase", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_header(&r, "content-type"), "application/json");
	cr_assert_not_null(it_str(r.json, "token"), "%s", r.body);
	cr_assert_null(it_get(r.json, "user"), "only the token: %s", r.body);
	fresh = strdup(it_str(r.json, "token"));
	expires = rfc3339_ms(it_str(r.json, "expiresAt"));
	cr_assert_eq((long long)expires, exp_of(fresh));
	cr_assert(expires > time(NULL) + 604800 - 60 &&
	    expires <= time(NULL) + 604800 + 1, "7 days");
	it_resp_free(&r);
	h2 = hash_of(u.id);
	cr_assert_str_neq(h1, h2);
	cr_assert(strncmp(h2, CURRENT_ARGON2, strlen(CURRENT_ARGON2)) == 0);

	assert_refused_token(u.token);
	assert_refused_token(older);
	ia_send("GET", "/api/auth/me", fresh, NULL, &r);
	cr_assert_eq(r.status, 200, "the device that changed it stays signed "
	    "in: %s", r.body);
	it_resp_free(&r);
	ia_login(u.email, u.password, &r);
	ia_assert_problem(&r, 401, "invalid-credentials", NULL);
	it_resp_free(&r);
	ia_login(u.email, "a brand new passphrase", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	ia_send("GET", "/api/auth/me", it_str(r.json, "token"), NULL, &r2);
	cr_assert_eq(r2.status, 200, "a new token works: %s", r2.body);
	it_resp_free(&r2);
	it_resp_free(&r);
	free(older);
	free(fresh);
	free(h1);
	free(h2);
}

Test(password, a_wrong_current_password_is_403_and_changes_nothing)
{
	struct ia_user	 u;
	struct it_resp	 r;
	char		*h1, *h2;

	ia_new_user(&u);
	h1 = hash_of(u.id);
	change_password(u.token, "not my password", "a brand new passphrase",
	    &r);
	ia_assert_problem(&r, 403, "wrong-password", "currentPassword");
	it_resp_free(&r);
	h2 = hash_of(u.id);
	cr_assert_str_eq(h1, h2);
	ia_send("GET", "/api/auth/me", u.token, NULL, &r);
	cr_assert_eq(r.status, 200, "the token still works");
	it_resp_free(&r);
	free(h1);
	free(h2);
}

Test(password, bad_input_is_400_naming_the_field_and_changes_nothing)
{
	struct ia_user	 u;
	struct it_resp	 r;
	struct buf	 b = BUF_INIT;
	char		*h1, *h2, body[256];
	size_t		 i;

	ia_new_user(&u);
	h1 = hash_of(u.id);
	change_password(u.token, u.password, "Short7!", &r);
	ia_assert_problem(&r, 400, "validation", "newPassword");
	it_resp_free(&r);
	buf_puts(&b, "x");
	for (i = 0; i < 1024; i++)
		buf_putc(&b, 'y');
	change_password(u.token, u.password, b.data, &r);
	ia_assert_problem(&r, 400, "validation", "newPassword");
	it_resp_free(&r);
	buf_release(&b);
	snprintf(body, sizeof(body), "{\"newPassword\":\"a brand new one\"}");
	ia_send("POST", "/api/auth/password", u.token, body, &r);
	ia_assert_problem(&r, 400, "validation", "currentPassword");
	it_resp_free(&r);
	snprintf(body, sizeof(body), "{\"currentPassword\":\"%s\","
	    "\"newPassword\":12345678}", u.password);
	ia_send("POST", "/api/auth/password", u.token, body, &r);
	ia_assert_problem(&r, 400, "validation", "newPassword");
	it_resp_free(&r);
	snprintf(body, sizeof(body), "{\"currentPassword\":\"%s\","
	    "\"newPassword\":\"nul\\u0000inside\"}", u.password);
	ia_send("POST", "/api/auth/password", u.token, body, &r);
	ia_assert_problem(&r, 400, "validation", "newPassword");
	it_resp_free(&r);
	ia_send("POST", "/api/auth/password", u.token, "{\"currentPassword\"",
	    &r);
	ia_assert_problem(&r, 400, "malformed-json", NULL);
	it_resp_free(&r);
	ia_send("POST", "/api/auth/password", NULL,
	    "{\"currentPassword\":\"x\",\"newPassword\":\"yyyyyyyy\"}", &r);
	ia_assert_problem(&r, 401, "unauthorized", NULL);
	it_resp_free(&r);
	h2 = hash_of(u.id);
	cr_assert_str_eq(h1, h2);
	free(h1);
	free(h2);
}

/*
 * The attack of issue 9: with a stolen token, ten wrong current
 * passwords.  That token is stopped; the owner, with another token
 * from another address, changes the password at once, which signs the
 * thief out.
 */
Test(password, ten_wrong_attempts_with_a_stolen_token_never_block_the_owners_change)
{
	struct ia_user	 u;
	struct it_resp	 r;
	char		*stolen, *owners;
	int		 i;

	ia_new_user(&u);
	stolen = strdup(u.token);
	from(300);
	ia_login(u.email, u.password, &r);	/* the owner's other device */
	cr_assert_eq(r.status, 200);
	owners = strdup(it_str(r.json, "token"));
	it_resp_free(&r);

	/* The thief, at an address of this run's own: failures count per
	 * address for an hour, and deploy/dev test runs this file through
	 * four front ends (a fixed address reached its ceiling). */
	from(1000 + (int)(getpid() % 40000));
	for (i = 0; i < 10; i++) {
		change_password(stolen, "not my password", "whatever new one",
		    &r);
		ia_assert_problem(&r, 403, "wrong-password", NULL);
		it_resp_free(&r);
	}
	change_password(stolen, "not my password", "whatever new one", &r);
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	cr_assert_not_null(it_header(&r, "retry-after"));
	it_resp_free(&r);
	change_password(stolen, u.password, "whatever new one", &r);
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	it_resp_free(&r);

	from(300);				/* the owner */
	change_password(owners, u.password, "the owner's new one", &r);
	cr_assert_eq(r.status, 200, "the owner is never blocked: %s", r.body);
	it_resp_free(&r);
	assert_refused_token(stolen);
	ia_login(u.email, "the owner's new one", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
	free(stolen);
	free(owners);
}

/* Even from the thief's own address, a token of the owner's still works. */
Test(password, a_spent_token_does_not_stop_another_token_from_the_same_address)
{
	struct ia_user	 u;
	struct it_resp	 r;
	char		*other;
	int		 i;

	ia_new_user(&u);
	ia_login(u.email, u.password, &r);
	cr_assert_eq(r.status, 200);
	other = strdup(it_str(r.json, "token"));
	it_resp_free(&r);
	for (i = 0; i < 10; i++) {
		change_password(u.token, "not my password", "whatever new one",
		    &r);
		it_resp_free(&r);
	}
	change_password(u.token, u.password, "whatever new one", &r);
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	it_resp_free(&r);
	ia_send("GET", "/api/auth/me", u.token, NULL, &r);
	cr_assert_eq(r.status, 200, "nothing changed");
	it_resp_free(&r);
	change_password(other, u.password, "whatever new one", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
	ia_login(u.email, "whatever new one", &r);
	cr_assert_eq(r.status, 200, "logins are counted apart");
	it_resp_free(&r);
	free(other);
}

/*
 * One address guessing with many tokens (of accounts it signed into)
 * meets the per-address ceiling (MP_LOGIN_ACCOUNT_MAX failures per
 * MP_LOGIN_ACCOUNT_WINDOW); other addresses do not.  This test sends
 * from its own address (ia_init), so no other test shares the count.
 */
Test(password, a_hundred_wrong_attempts_from_one_address_reach_its_ceiling,
    .timeout = 120)
{
	struct ia_user	 u, v;
	struct it_resp	 r;
	char		 tokens[11][1024];
	int		 i, j, ra;

	ia_new_user(&u);
	for (i = 0; i < 11; i++) {
		ia_login(u.email, u.password, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		snprintf(tokens[i], sizeof(tokens[i]), "%s",
		    it_str(r.json, "token"));
		it_resp_free(&r);
	}
	for (i = 0; i < 10; i++)
		for (j = 0; j < 10; j++) {
			change_password(tokens[i], "not my password",
			    "whatever new one", &r);
			ia_assert_problem(&r, 403, "wrong-password", NULL);
			it_resp_free(&r);
		}
	change_password(tokens[10], u.password, "whatever new one", &r);
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	ra = retry_after(&r);
	cr_assert(ra > 3000 && ra <= 3600, "%d", ra);
	it_resp_free(&r);
	ia_new_user(&v);
	change_password(v.token, v.password, "whatever new one", &r);
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	it_resp_free(&r);

	from(302);
	change_password(tokens[10], u.password, "whatever new one", &r);
	cr_assert_eq(r.status, 200, "another address: %s", r.body);
	it_resp_free(&r);
}
