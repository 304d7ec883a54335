#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "base/settings.h"
#include "handlers/handlers.h"
#include "t/it_loops_util.h"

void
itl_user(struct itl_user *u)
{
	static struct config cfg;
	static int	 loaded;
	const char	*err, *p[2];
	char		 email[80], *id, *tok;

	if (!loaded) {
		/* The environment deploy/dev test exported for the stack. */
		cr_assert_eq(config_load(&cfg, &err), 0, "config: %s", err);
		loaded = 1;
	}
	memset(u, 0, sizeof(*u));
	it_unique(u->name, sizeof(u->name), "lp");
	snprintf(email, sizeof(email), "%s@example.com", u->name);
	p[0] = email;
	p[1] = u->name;
	id = it_db_text("INSERT INTO users (email, username, password_hash) "
	    "VALUES ($1, $2, '$argon2id$v=19$m=65536,t=2,p=1$test') "
	    "RETURNING id", 2, p);
	cr_assert_not_null(id, "cannot insert user %s", u->name);
	snprintf(u->id, sizeof(u->id), "%s", id);
	free(id);
	tok = token_issue(&cfg, u->id, u->name, email, 1, time(NULL));
	cr_assert_not_null(tok);
	snprintf(u->token, sizeof(u->token), "%s", tok);
	free(tok);
	it_bearer(u->auth, sizeof(u->auth), u->token);
}

void
itl_req(const char *method, const char *path, const struct itl_user *u,
    const char *const *extra, const char *body, struct it_resp *r)
{
	const char	*h[12];
	size_t		 n = 0;

	if (u != NULL)
		h[n++] = u->auth;
	while (extra != NULL && *extra != NULL && n < 11)
		h[n++] = *extra++;
	h[n] = NULL;
	cr_assert_eq(it_request(method, path, h, body, r), 0,
	    "no response for %s %s", method, path);
}

void
itl_loop(const struct itl_user *u, const char *body, char *id, size_t idsz)
{
	struct it_resp	 r;

	itl_req("POST", "/api/loops", u, NULL, body, &r);
	cr_assert_eq(r.status, 201, "create: %d %s", r.status, r.body);
	cr_assert_not_null(it_str(r.json, "loop.id"));
	snprintf(id, idsz, "%s", it_str(r.json, "loop.id"));
	it_resp_free(&r);
}

const char *
itl_body(const char *name, int is_public)
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

long long
itl_count1(const char *sql, const char *p1)
{
	const char	*p[1] = { p1 };

	return it_db_count(sql, p1 != NULL ? 1 : 0, p);
}

char *
itl_text1(const char *sql, const char *p1)
{
	const char	*p[1] = { p1 };

	return it_db_text(sql, p1 != NULL ? 1 : 0, p);
}

int
itl_names_field(const struct it_resp *r, const char *field)
{
	json_object	*errs, *e, *f;
	size_t		 i;

	if ((errs = it_get(r->json, "errors")) == NULL ||
	    !json_object_is_type(errs, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(errs); i++) {
		e = json_object_array_get_idx(errs, i);
		if (json_object_object_get_ex(e, "field", &f) &&
		    strcmp(json_object_get_string(f), field) == 0)
			return 1;
	}
	return 0;
}
