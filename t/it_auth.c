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

#include <criterion/criterion.h>
#include <crypt.h>
#include <sodium.h>

#include "fcgi/buf.h"
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
	    "has space", "j\xc3\xbcrgen", "\\u00fcber_name", "semi;colon",
	    "\\ud800abc" };
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		it_unique(name, sizeof(name), "bu");
		snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
		    "\"username\":\"%s\",\"password\":\"Secret123\"}", name,
		    bad[i]);
		assert_signup_refused(body, name, 400, "validation", "username");
	}
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
	cr_assert_eq(it_db_count("SELECT count(*) FROM login_failures "
	    "WHERE account = lower($1)", 1, p), 0);
}

static void
from(int i)
{
	char	 ip[32];

	snprintf(ip, sizeof(ip), "127.0.%d.%d", 10 + i / 200, 10 + i % 200);
	it_source(ip);
}

Test(login, ten_failures_throttle_the_account_from_any_address_whatever_the_password)
{
	struct ia_user	 u, v;
	struct it_resp	 r;
	const char	*p[1];
	int		 i, ra;

	ia_new_user(&u);
	ia_new_user(&v);
	for (i = 0; i < 10; i++) {
		from(i);	/* per account, not per address */
		ia_login(u.email, "wrong password!", &r);
		ia_assert_problem(&r, 401, "invalid-credentials", NULL);
		it_resp_free(&r);
	}
	from(20);
	ia_login(u.email, u.password, &r);	/* right, and still refused */
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	cr_assert_not_null(it_header(&r, "retry-after"));
	ra = atoi(it_header(&r, "retry-after"));
	cr_assert(ra >= 1 && ra <= 900, "Retry-After %d", ra);
	cr_assert_null(it_get(r.json, "token"));
	it_resp_free(&r);
	from(21);
	ia_login(u.email, "wrong password!", &r);
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	it_resp_free(&r);
	p[0] = u.email;
	cr_assert_eq(it_db_count("SELECT failures FROM login_failures "
	    "WHERE account = lower($1)", 1, p), 10);

	/* Another account is not affected. */
	ia_login(v.email, v.password, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);

	/* Once the window has passed, the right password works again. */
	it_db_count("UPDATE login_failures SET window_start = now() - "
	    "interval '901 seconds' WHERE account = lower($1) RETURNING 1",
	    1, p);
	ia_login(u.email, u.password, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	it_resp_free(&r);
	cr_assert_eq(it_db_count("SELECT count(*) FROM login_failures "
	    "WHERE account = lower($1)", 1, p), 0);
}

Test(login, an_unknown_account_is_throttled_the_same_way)
{
	struct it_resp	 r, known;
	struct ia_user	 u;
	char		 ghost[64];
	int		 i;

	it_unique(ghost, sizeof(ghost), "gh");
	strcat(ghost, "@example.com");
	for (i = 0; i < 10; i++) {
		from(40 + i);
		ia_login(ghost, "wrong password!", &r);
		ia_assert_problem(&r, 401, "invalid-credentials", NULL);
		it_resp_free(&r);
	}
	ia_login(ghost, "wrong password!", &r);
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	cr_assert_not_null(it_header(&r, "retry-after"));

	/* The same answer a known, throttled account gets. */
	ia_new_user(&u);
	for (i = 0; i < 10; i++) {
		from(60 + i);
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

Test(login, a_success_clears_earlier_failures)
{
	struct ia_user	 u;
	struct it_resp	 r;
	const char	*p[1];
	int		 i;

	ia_new_user(&u);
	p[0] = u.username;
	for (i = 0; i < 3; i++) {
		ia_login(u.username, "wrong password!", &r);
		it_resp_free(&r);
	}
	cr_assert_eq(it_db_count("SELECT failures FROM login_failures "
	    "WHERE account = lower($1)", 1, p), 3);
	ia_login(u.username, u.password, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	cr_assert_eq(it_db_count("SELECT count(*) FROM login_failures "
	    "WHERE account = lower($1)", 1, p), 0);
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

Test(password, a_change_is_204_and_refuses_every_older_token)
{
	struct ia_user	 u;
	struct it_resp	 r, r2;
	char		*older, *h1, *h2;

	ia_new_user(&u);
	ia_login(u.email, u.password, &r2);	/* a second session */
	cr_assert_eq(r2.status, 200);
	older = strdup(it_str(r2.json, "token"));
	it_resp_free(&r2);
	h1 = hash_of(u.id);

	change_password(u.token, u.password, "a brand new passphrase", &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	cr_assert_eq(r.body_len, 0);
	it_resp_free(&r);
	h2 = hash_of(u.id);
	cr_assert_str_neq(h1, h2);
	cr_assert(strncmp(h2, CURRENT_ARGON2, strlen(CURRENT_ARGON2)) == 0);

	assert_refused_token(u.token);
	assert_refused_token(older);
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

Test(password, repeated_wrong_current_passwords_are_throttled)
{
	struct ia_user	 u;
	struct it_resp	 r;
	int		 i;

	ia_new_user(&u);
	for (i = 0; i < 10; i++) {
		change_password(u.token, "not my password", "whatever new one",
		    &r);
		ia_assert_problem(&r, 403, "wrong-password", NULL);
		it_resp_free(&r);
	}
	change_password(u.token, u.password, "whatever new one", &r);
	ia_assert_problem(&r, 429, "too-many-attempts", NULL);
	cr_assert_not_null(it_header(&r, "retry-after"));
	it_resp_free(&r);
	ia_send("GET", "/api/auth/me", u.token, NULL, &r);
	cr_assert_eq(r.status, 200, "nothing changed");
	it_resp_free(&r);
	ia_login(u.email, u.password, &r);
	cr_assert_eq(r.status, 200, "logins are counted apart");
	it_resp_free(&r);
}
