#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jwt.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "base/buf.h"
#include "handlers/handlers.h"
#include "t/itfixture.h"

/* ---- users and tokens ---------------------------------------------- */

/* The service's configuration, with the stack's secret file. */
static const struct config *
stack_config(void)
{
	static struct config cfg;
	static int	 loaded;
	const char	*path, *err = "";

	if (!loaded) {
		path = getenv("MP_TEST_JWT_SECRET_FILE");
		cr_assert_not_null(path, "MP_TEST_JWT_SECRET_FILE is not set");
		cr_assert(sodium_init() >= 0);
		setenv("JWT_SECRET_FILE", path, 1);
		cr_assert_eq(config_load(&cfg, &err), 0, "config: %s", err);
		loaded = 1;
	}
	return &cfg;
}

void
itfx_use_token(struct itfx_user *u, const char *token)
{
	snprintf(u->token, sizeof(u->token), "%s", token);
	it_bearer(u->auth, sizeof(u->auth), u->token);
}

void
itfx_db_user(struct itfx_user *u)
{
	const struct config *cfg = stack_config();
	const char	*p[2];
	char		*id, *tok;

	memset(u, 0, sizeof(*u));
	it_unique(u->username, sizeof(u->username), "fx");
	snprintf(u->email, sizeof(u->email), "%s@example.com", u->username);
	p[0] = u->email;
	p[1] = u->username;
	id = it_db_text("INSERT INTO users (email, username, password_hash) "
	    "VALUES ($1, $2, '$argon2id$v=19$m=65536,t=2,p=1$test') "
	    "RETURNING id", 2, p);
	cr_assert_not_null(id, "cannot insert user %s", u->username);
	snprintf(u->id, sizeof(u->id), "%s", id);
	free(id);
	tok = token_issue(cfg, u->id, u->username, u->email, 1, time(NULL));
	cr_assert_not_null(tok, "cannot sign a token for %s", u->username);
	itfx_use_token(u, tok);
	free(tok);
}

void
itfx_signup(struct itfx_user *u)
{
	char	 token[sizeof(u->token)];
	int	 status;

	memset(u, 0, sizeof(*u));
	it_unique(u->username, sizeof(u->username), "su");
	snprintf(u->email, sizeof(u->email), "%s@example.com", u->username);
	snprintf(u->password, sizeof(u->password), "pw-%s-Secret!",
	    u->username);
	status = it_signup_as(u->email, u->username, u->password, token,
	    sizeof(token), u->id, sizeof(u->id));
	cr_assert_eq(status, 201, "signup of %s: %d", u->username, status);
	itfx_use_token(u, token);
}

void
itfx_init(void)
{
	char		 ip[32];
	unsigned	 pid = (unsigned)getpid();

	snprintf(ip, sizeof(ip), "127.%u.%u.%u", 1 + (pid / 62500) % 250,
	    1 + (pid / 250) % 250, 1 + pid % 250);
	it_source(ip);
}

char *
itfx_secret(size_t *len)
{
	const char	*path;
	char		*buf;
	FILE		*f;
	size_t		 n;

	path = getenv("MP_TEST_JWT_SECRET_FILE");
	cr_assert_not_null(path, "MP_TEST_JWT_SECRET_FILE is not set");
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
itfx_craft(const char *alg, const char *key, const struct itfx_user *u,
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
		secret = itfx_secret(&klen);
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
itfx_craft_raw(const char *header, const char *payload)
{
	struct buf	 b = BUF_INIT;
	unsigned char	 mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	char		*secret;
	size_t		 klen;

	cr_assert(sodium_init() >= 0);
	secret = itfx_secret(&klen);
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
itfx_claims(const struct itfx_user *u, long long ver, const char *extra)
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

long long
itfx_token_exp(const char *token)
{
	const char	*p = strchr(token, '.');
	char		 json[2048];
	size_t		 n;
	json_object	*o;
	long long	 exp;

	cr_assert_not_null(p, "not a JWT: %s", token);
	p++;
	cr_assert_eq(sodium_base642bin((unsigned char *)json, sizeof(json) - 1,
	    p, strcspn(p, "."), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	json[n] = '\0';
	o = json_tokener_parse(json);
	exp = it_int(o, "exp");
	json_object_put(o);
	return exp;
}

/* ---- requests ------------------------------------------------------ */

/* Send with the header lines auth (or NULL) then extra (or NULL). */
static void
send_lines(const char *method, const char *path, const char *auth,
    const char *const *extra, const char *body, struct it_resp *r)
{
	const char	*h[16];
	size_t		 n = 0;

	if (auth != NULL)
		h[n++] = auth;
	while (extra != NULL && *extra != NULL) {
		cr_assert_lt(n, sizeof(h) / sizeof(h[0]) - 1,
		    "too many header lines");
		h[n++] = *extra++;
	}
	h[n] = NULL;
	cr_assert_eq(it_request(method, path, h, body, r), 0,
	    "no response for %s %s", method, path);
}

void
itfx_req(const char *method, const char *path, const struct itfx_user *u,
    const char *const *extra, const char *body, struct it_resp *r)
{
	send_lines(method, path, u != NULL ? u->auth : NULL, extra, body, r);
}

void
itfx_send_h(const char *method, const char *path, const char *token,
    const char *header, const char *body, struct it_resp *r)
{
	const char	*extra[2] = { header, NULL };
	char		*auth = NULL;

	if (token != NULL) {
		auth = malloc(strlen(token) + 32);
		sprintf(auth, "Authorization: Bearer %s", token);
	}
	send_lines(method, path, auth, extra, body, r);
	free(auth);
}

void
itfx_send(const char *method, const char *path, const char *token,
    const char *body, struct it_resp *r)
{
	itfx_send_h(method, path, token, NULL, body, r);
}

void
itfx_login(const char *ident, const char *password, struct it_resp *r)
{
	struct buf	 b = BUF_INIT;

	buf_puts(&b, "{\"email\":");
	buf_json_str(&b, ident, strlen(ident));
	buf_puts(&b, ",\"password\":");
	buf_json_str(&b, password, strlen(password));
	buf_putc(&b, '}');
	itfx_send("POST", "/api/auth/login", NULL, b.data, r);
	buf_release(&b);
}

/* ---- items --------------------------------------------------------- */

const char *
itfx_loop_body(const char *name, int is_public)
{
	static char	 b[1024];

	snprintf(b, sizeof(b), "{\"name\":\"%s\",\"bars\":4,\"bpm\":96,"
	    "\"isPublic\":%s,\"chordProgression\":[{\"bar\":0,\"chord\":\"Am7\"},"
	    "{\"bar\":1,\"chord\":\"D9\"}],\"iconSequence\":[{\"bar\":0,"
	    "\"row\":0,\"soundId\":\"kick\",\"pitch\":36,\"velocity\":0.9},"
	    "{\"bar\":4,\"row\":1,\"soundId\":\"snare\",\"pitch\":38}]}",
	    name, is_public ? "true" : "false");
	return b;
}

void
itfx_loop(const struct itfx_user *u, const char *body, char *id, size_t idsz)
{
	struct it_resp	 r;

	itfx_req("POST", "/api/loops", u, NULL, body, &r);
	cr_assert_eq(r.status, 201, "create: %d %s", r.status, r.body);
	cr_assert_not_null(it_str(r.json, "loop.id"));
	snprintf(id, idsz, "%s", it_str(r.json, "loop.id"));
	it_resp_free(&r);
}

/* INSERT one item of owner into table with its size column (bars, bpm). */
static char *
db_item(const char *table, const char *size_col, const char *owner,
    const char *name, int size, int is_public)
{
	char		 sql[256], n[16];
	const char	*p[4] = { owner, name, n, is_public ? "true" : "false" };
	char		*id;

	snprintf(n, sizeof(n), "%d", size);
	if (is_public < 0)
		snprintf(sql, sizeof(sql), "INSERT INTO %s (user_id, name, %s) "
		    "VALUES ($1::uuid, $2, $3::int) RETURNING id", table,
		    size_col);
	else
		snprintf(sql, sizeof(sql), "INSERT INTO %s (user_id, name, %s, "
		    "is_public) VALUES ($1::uuid, $2, $3::int, $4::boolean) "
		    "RETURNING id", table, size_col);
	id = it_db_text(sql, is_public < 0 ? 3 : 4, p);
	cr_assert_not_null(id, "cannot insert into %s for %s", table, owner);
	return id;
}

char *
itfx_db_loop(const char *owner, const char *name, int bars, int is_public)
{
	return db_item("loops", "bars", owner, name, bars, is_public);
}

char *
itfx_db_song(const char *owner, const char *name, int bpm, int is_public)
{
	return db_item("songs", "bpm", owner, name, bpm, is_public);
}

/* ---- checks -------------------------------------------------------- */

/* 1 if errors[] names field; with_message: and gives it a message. */
static int
names(const struct it_resp *r, const char *field, int with_message)
{
	json_object	*errs, *e;
	size_t		 i;

	if ((errs = it_get(r->json, "errors")) == NULL ||
	    !json_object_is_type(errs, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(errs); i++) {
		e = json_object_array_get_idx(errs, i);
		if (it_str(e, "field") != NULL &&
		    strcmp(it_str(e, "field"), field) == 0 &&
		    (!with_message || it_str(e, "message") != NULL))
			return 1;
	}
	return 0;
}

int
itfx_names_field(const struct it_resp *r, const char *field)
{
	return names(r, field, 0);
}

void
itfx_assert_problem(const struct it_resp *r, int status, const char *type,
    const char *field)
{
	char		 want[160];

	cr_assert_eq(r->status, status, "want %d, got %d: %s", status,
	    r->status, r->body);
	cr_assert_not_null(it_header(r, "content-type"));
	cr_assert_str_eq(it_header(r, "content-type"),
	    "application/problem+json", "%s", r->body);
	cr_assert_not_null(r->json, "body is not JSON: %s", r->body);
	cr_assert_eq(it_int(r->json, "status"), status);
	cr_assert_not_null(it_str(r->json, "error"), "%s", r->body);
	cr_assert_not_null(it_str(r->json, "title"), "%s", r->body);
	if (type != NULL) {
		snprintf(want, sizeof(want),
		    "https://api.musicplayground.dev/problems/%s", type);
		cr_assert_str_eq(it_str(r->json, "type"), want, "%s", r->body);
	}
	if (field != NULL) {
		cr_assert(json_object_is_type(it_get(r->json, "errors"),
		    json_type_array), "no errors[]: %s", r->body);
		cr_assert(names(r, field, 1), "errors[] does not name %s: %s",
		    field, r->body);
	}
}

void
itfx_assert_invalid_token(const struct it_resp *r)
{
	itfx_assert_problem(r, 401, "invalid-token", NULL);
	cr_assert_str_eq(it_str(r->json, "error"), "Invalid or expired token");
	cr_assert_not_null(it_header(r, "www-authenticate"));
	cr_assert(strstr(it_header(r, "www-authenticate"),
	    "error=\"invalid_token\"") != NULL);
	cr_assert(strncmp(it_header(r, "www-authenticate"), "Bearer ", 7) == 0);
}

int
itfx_is_null(json_object *o, const char *path, const char *key)
{
	json_object	*obj, *v = NULL;

	obj = it_get(o, path);
	return obj != NULL && json_object_object_get_ex(obj, key, &v) &&
	    v == NULL;
}

long long
itfx_count1(const char *sql, const char *p1)
{
	const char	*p[1] = { p1 };

	return it_db_count(sql, p1 != NULL ? 1 : 0, p);
}

char *
itfx_text1(const char *sql, const char *p1)
{
	const char	*p[1] = { p1 };

	return it_db_text(sql, p1 != NULL ? 1 : 0, p);
}

long long
itfx_loops_of(const struct itfx_user *u)
{
	return itfx_count1("SELECT count(*) FROM loops WHERE user_id = $1::uuid",
	    u->id);
}

long long
itfx_songs_of(const struct itfx_user *u)
{
	return itfx_count1("SELECT count(*) FROM songs WHERE user_id = $1::uuid",
	    u->id);
}

long long
itfx_count_users(const char *name)
{
	return itfx_count1("SELECT count(*) FROM users WHERE "
	    "lower(email) = lower($1) OR lower(username) = lower($1)", name);
}

PGconn *
itfx_conn(void)
{
	const char	*url;
	PGconn		*c;

	url = getenv("MP_TEST_DATABASE_URL");
	c = PQconnectdb(url != NULL ? url : "");
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

int
itfx_exec(PGconn *c, const char *sql, int n, const char *const *p)
{
	PGresult	*res;
	int		 ok;

	res = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "itfx_exec: %s", PQresultErrorMessage(res));
	PQclear(res);
	return ok ? 0 : -1;
}

int
itfx_user(char *token, size_t tsz, char *id, size_t isz)
{
	struct itfx_user u;

	itfx_db_user(&u);
	snprintf(token, tsz, "%s", u.token);
	snprintf(id, isz, "%s", u.id);
	return 0;
}
