#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jwt.h>
#include <sodium.h>

#include "base/buf.h"
#include "t/itauth.h"

void
ia_init(void)
{
	char		 ip[32];
	unsigned	 pid = (unsigned)getpid();

	snprintf(ip, sizeof(ip), "127.%u.%u.%u", 1 + (pid / 62500) % 250,
	    1 + (pid / 250) % 250, 1 + pid % 250);
	it_source(ip);
}

void
ia_send_h(const char *method, const char *path, const char *token,
    const char *header, const char *body, struct it_resp *r)
{
	const char	*h[3] = { NULL, NULL, NULL };
	char		*bearer = NULL;
	int		 n = 0;

	if (token != NULL) {
		bearer = malloc(strlen(token) + 32);
		sprintf(bearer, "Authorization: Bearer %s", token);
		h[n++] = bearer;
	}
	if (header != NULL)
		h[n++] = header;
	cr_assert_eq(it_request(method, path, h, body, r), 0,
	    "no response for %s %s", method, path);
	free(bearer);
}

void
ia_send(const char *method, const char *path, const char *token,
    const char *body, struct it_resp *r)
{
	ia_send_h(method, path, token, NULL, body, r);
}

void
ia_new_user(struct ia_user *u)
{
	struct it_resp	 r;
	char		 body[512];

	memset(u, 0, sizeof(*u));
	it_unique(u->username, sizeof(u->username), "ia");
	snprintf(u->email, sizeof(u->email), "%s@example.com", u->username);
	snprintf(u->password, sizeof(u->password), "pw-%s-Secret!",
	    u->username);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"username\":\"%s\","
	    "\"password\":\"%s\"}", u->email, u->username, u->password);
	ia_send("POST", "/api/auth/signup", NULL, body, &r);
	cr_assert_eq(r.status, 201, "signup: %d %s", r.status, r.body);
	snprintf(u->token, sizeof(u->token), "%s", it_str(r.json, "token"));
	snprintf(u->id, sizeof(u->id), "%s", it_str(r.json, "user.id"));
	it_resp_free(&r);
}

void
ia_login(const char *ident, const char *password, struct it_resp *r)
{
	struct buf	 b = BUF_INIT;

	buf_puts(&b, "{\"email\":");
	buf_json_str(&b, ident, strlen(ident));
	buf_puts(&b, ",\"password\":");
	buf_json_str(&b, password, strlen(password));
	buf_putc(&b, '}');
	ia_send("POST", "/api/auth/login", NULL, b.data, r);
	buf_release(&b);
}

void
ia_assert_problem(const struct it_resp *r, int status, const char *type,
    const char *field)
{
	json_object	*errs, *e;
	char		 want[160];
	size_t		 i, n;
	int		 found = 0;

	cr_assert_eq(r->status, status, "want %d, got %d: %s", status,
	    r->status, r->body);
	cr_assert_not_null(it_header(r, "content-type"));
	cr_assert_str_eq(it_header(r, "content-type"),
	    "application/problem+json", "%s", r->body);
	cr_assert_not_null(r->json, "body is not JSON: %s", r->body);
	cr_assert_eq(it_int(r->json, "status"), status);
	cr_assert_not_null(it_str(r->json, "error"), "%s", r->body);
	cr_assert_not_null(it_str(r->json, "title"), "%s", r->body);
	snprintf(want, sizeof(want),
	    "https://api.musicplayground.dev/problems/%s", type);
	cr_assert_str_eq(it_str(r->json, "type"), want, "%s", r->body);
	if (field == NULL)
		return;
	errs = it_get(r->json, "errors");
	cr_assert(errs != NULL && json_object_is_type(errs, json_type_array),
	    "no errors[]: %s", r->body);
	n = json_object_array_length(errs);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(errs, i);
		if (it_str(e, "field") != NULL &&
		    strcmp(it_str(e, "field"), field) == 0 &&
		    it_str(e, "message") != NULL)
			found = 1;
	}
	cr_assert(found, "errors[] does not name %s: %s", field, r->body);
}

void
ia_assert_invalid_token(const struct it_resp *r)
{
	ia_assert_problem(r, 401, "invalid-token", NULL);
	cr_assert_str_eq(it_str(r->json, "error"), "Invalid or expired token");
	cr_assert_not_null(it_header(r, "www-authenticate"));
	cr_assert(strstr(it_header(r, "www-authenticate"),
	    "error=\"invalid_token\"") != NULL);
	cr_assert(strncmp(it_header(r, "www-authenticate"), "Bearer ", 7) == 0);
}

int
ia_is_null(json_object *o, const char *path, const char *key)
{
	json_object	*obj, *v = NULL;

	obj = it_get(o, path);
	return obj != NULL && json_object_object_get_ex(obj, key, &v) &&
	    v == NULL;
}

long long
ia_count_users(const char *name)
{
	const char	*p[1] = { name };

	return it_db_count("SELECT count(*) FROM users WHERE "
	    "lower(email) = lower($1) OR lower(username) = lower($1)", 1, p);
}

char *
ia_secret(size_t *len)
{
	const char	*dir;
	char		 path[1024], *buf;
	FILE		*f;
	size_t		 n;

	dir = getenv("MP_TEST_LOG_DIR");
	cr_assert_not_null(dir, "MP_TEST_LOG_DIR is not set");
	snprintf(path, sizeof(path), "%s/../jwt_secret", dir);
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot read %s", path);
	buf = calloc(1, 1024);
	n = fread(buf, 1, 1023, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	cr_assert_geq(n, 32);
	*len = n;
	return buf;
}

char *
ia_craft(const char *alg, const char *key, const struct ia_user *u,
    long long ver, long long iat_delta, long long exp_delta, const char *iss,
    const char *aud)
{
	jwt_t		*j;
	char		*secret = NULL, *tok, *out;
	size_t		 klen;
	long		 now = (long)time(NULL);
	jwt_alg_t	 a;

	cr_assert_eq(jwt_new(&j), 0);
	cr_assert_eq(jwt_add_grant(j, "sub", u->id), 0);
	cr_assert_eq(jwt_add_grant(j, "id", u->id), 0);
	cr_assert_eq(jwt_add_grant(j, "username", u->username), 0);
	cr_assert_eq(jwt_add_grant(j, "email", u->email), 0);
	cr_assert_eq(jwt_add_grant(j, "iss",
	    iss ? iss : "music-playground-api"), 0);
	cr_assert_eq(jwt_add_grant(j, "aud", aud ? aud : "music-playground"), 0);
	cr_assert_eq(jwt_add_grant_int(j, "ver", (long)ver), 0);
	cr_assert_eq(jwt_add_grant_int(j, "iat", now + (long)iat_delta), 0);
	cr_assert_eq(jwt_add_grant_int(j, "exp", now + (long)exp_delta), 0);
	if (key == NULL) {
		secret = ia_secret(&klen);
		key = secret;
	} else
		klen = strlen(key);
	if (strcmp(alg, "none") == 0)
		cr_assert_eq(jwt_set_alg(j, JWT_ALG_NONE, NULL, 0), 0);
	else {
		a = strcmp(alg, "HS512") == 0 ? JWT_ALG_HS512 : JWT_ALG_HS256;
		cr_assert_eq(jwt_set_alg(j, a, (const unsigned char *)key,
		    (int)klen), 0);
	}
	tok = jwt_encode_str(j);
	cr_assert_not_null(tok);
	out = strdup(tok);
	free(tok);
	jwt_free(j);
	free(secret);
	return out;
}

static void
b64url(struct buf *b, const void *bin, size_t len)
{
	char	*t;
	size_t	 n;

	n = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	t = malloc(n);
	sodium_bin2base64(t, n, bin, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	buf_puts(b, t);
	free(t);
}

char *
ia_craft_raw(const char *header, const char *payload)
{
	struct buf	 b = BUF_INIT;
	unsigned char	 mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	char		*secret;
	size_t		 klen;

	cr_assert(sodium_init() >= 0);
	secret = ia_secret(&klen);
	b64url(&b, header, strlen(header));
	buf_putc(&b, '.');
	b64url(&b, payload, strlen(payload));
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, klen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)b.data,
	    b.len);
	crypto_auth_hmacsha256_final(&st, mac);
	buf_putc(&b, '.');
	b64url(&b, mac, sizeof(mac));
	free(secret);
	return buf_detach(&b);
}

char *
ia_claims(const struct ia_user *u, long long ver, const char *extra)
{
	struct buf	 b = BUF_INIT;
	long long	 now = (long long)time(NULL);

	buf_printf(&b, "{\"sub\":\"%s\",\"id\":\"%s\",\"username\":\"%s\","
	    "\"email\":\"%s\",\"iss\":\"music-playground-api\","
	    "\"aud\":\"music-playground\",\"ver\":%lld,\"iat\":%lld,"
	    "\"exp\":%lld%s%s}", u->id, u->id, u->username, u->email, ver,
	    now - 10, now + 3600, extra ? "," : "", extra ? extra : "");
	return buf_detach(&b);
}
