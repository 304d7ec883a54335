/*
 * Accounts, the /api/users routes: the caller's profile (change,
 * delete) and public profiles by username.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "handlers/handlers.h"
#include "handlers/model.h"

#define DISPLAY_NAME_MAX	50
#define AVATAR_URL_MAX		2048

/*
 * 1 if s is a display name: no control characters (C0, DEL, C1).
 * The length is checked by the caller, in characters.
 */
int
auth_display_name_is_valid(const char *s)
{
	const unsigned char	*p;

	if (s == NULL)
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		/* U+0080-U+009F are C2 80 - C2 9F in UTF-8. */
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return 0;
	}
	return 1;
}

/*
 * 1 if s is an avatar URL: "http://" or "https://", then a host (not
 * starting with '/', '?' or '#') and the rest, all printable ASCII
 * without spaces; at most 2048 characters.
 */
int
auth_avatar_url_is_valid(const char *s)
{
	const char	*p;
	size_t		 len;

	if (s == NULL || (len = strlen(s)) > AVATAR_URL_MAX)
		return 0;
	if (strncmp(s, "https://", 8) == 0)
		p = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		p = s + 7;
	else
		return 0;
	if (*p == '\0' || *p == '/' || *p == '?' || *p == '#')
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			return 0;
	return 1;
}

/*
 * Read an optional, nullable string member: 0 when absent (*set 0),
 * 0 with *set 1 and *out NULL for null, 0 with *out for a valid
 * string, -1 once an error is recorded.
 */
static int
nullable_string(json_object *body, const char *key, size_t maxc,
    int (*valid)(const char *), const char *msg, struct field_errors *fe,
    int *set, const char **out)
{
	json_object	*v;

	*set = 0;
	*out = NULL;
	if (!json_object_object_get_ex(body, key, &v))
		return 0;
	*set = 1;
	if (v == NULL)
		return 0;
	if (auth_string_is_bad_utf8(body, key, fe) ||
	    jv_string(body, key, key, 1, maxc, fe, out) != JV_OK)
		return -1;
	if (!valid(*out)) {
		field_errors_add(fe, key, msg);
		return -1;
	}
	return 0;
}

/*
 * Validate a PATCH /api/users/me body (NULL: none) into pr, whose
 * strings are borrowed from body: 0, or -1 with every error recorded
 * in fe.  Pure: the fuzz target fuzz_profile calls it.
 */
int
users_profile_check(json_object *body, struct field_errors *fe,
    struct db_profile *pr)
{
	size_t	 n = fe->count;

	memset(pr, 0, sizeof(*pr));
	(void)nullable_string(body, "displayName", DISPLAY_NAME_MAX,
	    auth_display_name_is_valid, "must not contain control characters",
	    fe, &pr->set_display_name, &pr->display_name);
	(void)nullable_string(body, "avatarUrl", AVATAR_URL_MAX,
	    auth_avatar_url_is_valid, "must be an http:// or https:// URL "
	    "of printable ASCII without spaces", fe, &pr->set_avatar_url,
	    &pr->avatar_url);
	return fe->count > n ? -1 : 0;
}

/*
 * PATCH /api/users/me {displayName?, avatarUrl?} -> 200 {user}.  null
 * clears a field (displayName then reads as the username); absent
 * members stay; other members (email, username, ...) are ignored.
 */
void
users_update_me(struct ctx *c)
{
	struct field_errors	 fe;
	struct db_profile	 pr;
	char			*json = NULL;
	enum db_status		 s;

	field_errors_init(&fe);
	if (users_profile_check(c->body, &fe, &pr) != 0) {
		field_errors_problem(&fe, c->resp, "Validation failed");
		goto out;
	}
	s = db_user_update(c->db, c->user.id, c->user.ver, &pr, &json);
	if (s == DB_NOT_FOUND)
		reply_unauthorized(c, 1);
	else if (s != DB_OK)
		reply_db_error(c, s);
	else
		reply_json_wrapped(c, 200, "user", json);
out:
	free(json);
	field_errors_release(&fe);
}

/*
 * DELETE /api/users/me -> 204: the account and everything it owns
 * (loops, songs, likes, keys); counters its likes raised elsewhere go
 * down.  The token, like every other of the account, is refused after.
 */
void
users_delete_me(struct ctx *c)
{
	enum db_status	 s;

	s = db_user_delete(c->db, c->user.id, c->user.ver);
	reply_no_content(c, s);
}

/*
 * GET /api/users/:username -> 200 {user}: the public profile (no
 * email), counts of public loops and songs only.  The username is
 * matched case-insensitively; one that cannot exist is 404 at once.
 */
void
users_get(struct ctx *c)
{
	const char	*name;
	char		*json = NULL;
	enum db_status	 s;
	int		 caller_ok;

	name = c->req->nparams > 0 ? c->req->params[0] : NULL;
	if (!auth_username_is_valid(name)) {
		reply_problem(c, 404, "not-found", "User not found",
		    "No user has this username.");
		return;
	}
	s = db_user_public(c->db, name, c->user.valid ? c->user.id : NULL,
	    c->user.ver, &caller_ok, &json);
	if (s == DB_OK && !caller_ok)
		reply_unauthorized(c, 1);
	else if (s == DB_NOT_FOUND)
		reply_problem(c, 404, "not-found", "User not found",
		    "No user has this username.");
	else if (s != DB_OK)
		reply_db_error(c, s);
	else
		reply_json_wrapped(c, 200, "user", json);
	free(json);
}
