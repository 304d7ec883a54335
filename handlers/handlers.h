/*
 * Handlers: one file per resource.  A handler validates its input,
 * calls db/ and shapes the JSON answer; it writes exactly one response
 * through the helpers below and never sees a FastCGI stream or a
 * libpq result.
 */
#ifndef MP_HANDLERS_H
#define MP_HANDLERS_H

#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "base/settings.h"
#include "fcgi/http.h"
#include "db/db.h"

#define UUID_LEN	36

/* The caller, as the bearer token says (checked against db/ later). */
struct auth_user {
	int		 present;		/* an Authorization header came */
	int		 valid;			/* the token verified */
	char		 id[UUID_LEN + 1];
	char		 username[64];
	long long	 iat;
	long long	 exp;
	long long	 ver;			/* users.token_version */
	char		 tid[72];		/* the token's identity: its jti,
						   or "s." and its signature */
};

struct write_txn;

struct ctx {
	struct http_request	*req;
	struct http_response	*resp;
	struct db		*db;
	const struct config	*cfg;
	const struct route	*route;
	struct auth_user	 user;
	json_object		*body;		/* parsed object, ROUTE_BODY */
	time_t			 now;
	struct write_txn	*txn;		/* a keyed write's transaction,
						   while its handler runs */
	uint64_t		 commit_lsn;	/* where its commit ended, when
						   the write path read it */
};

/*
 * The route table (handlers/routes.c): method, pattern, handler, flags,
 * the handler's arg.
 * The router (fcgi/router.c) reads each route's method and pattern
 * through app_route_pattern; the rest is ours.
 */
typedef void	(*route_handler)(struct ctx *c);

enum route_flags {
	ROUTE_AUTH		= 1 << 0,	/* a valid token is required */
	ROUTE_AUTH_OPTIONAL	= 1 << 1,	/* a token is read if present */
	ROUTE_WRITE		= 1 << 2,	/* budgeted write */
	ROUTE_IDEMPOTENT	= 1 << 3,	/* honours Idempotency-Key */
	ROUTE_BODY		= 1 << 4,	/* takes a JSON body */
	ROUTE_HASHES		= 1 << 5,	/* hashes a password: with an
						   Idempotency-Key, the handler
						   opens the transaction itself
						   once hashing is done */
	ROUTE_READ_REPLICA	= 1 << 6	/* a read the replica may serve
						   (anonymous, or one that
						   carries X-Read-After) */
};

struct route {
	enum http_method	 method;
	const char		*pattern;	/* "/api/loops/:id" */
	route_handler		 handler;
	unsigned		 flags;
	const void		*arg;		/* the handler's own (the item
						   routes: their kind, see
						   handlers/items.h); NULL */
};

extern const struct route	app_routes[];
extern const size_t		app_routes_count;

const char	*app_route_pattern(const void *table, size_t i,
		    enum http_method *method);

/*
 * The application as the transport sees it: app_handle is the one
 * function fcgi/server.c is handed for requests (a server_app_fn), and
 * app_idle its housekeeping between them (a server_idle_fn), with a
 * struct app as their state.  The program (cli/main.c) makes one per process: the
 * database handle connects on first use and is the caller's to free.
 */
struct app {
	struct db		*db;
	const struct config	*cfg;
};

void	app_handle(void *app, struct http_request *req, http_reader rd,
	    void *rdarg, struct http_response *resp, struct http_note *out);
void	app_idle(void *app);

/* Shared helpers (handlers/common.c). */
int	uuid_is_valid(const char *s);
void	reply_json_wrapped(struct ctx *c, int status, const char *key,
	    const char *json);
void	reply_problem(struct ctx *c, int status, const char *type,
	    const char *error, const char *detail);
int	http_status_of_db(enum db_status s);
void	reply_db_error(struct ctx *c, enum db_status s);
void	reply_unauthorized(struct ctx *c, int token_was_sent);
void	reply_no_content(struct ctx *c, enum db_status s);
void	reply_base_headers(struct ctx *c);
int	ctx_restart(struct ctx *c);
int	read_after_parse(const char *s, uint64_t *lsn);

/* Tokens (handlers/token.c). */
#define TOKEN_EXPIRES_LEN	24	/* "2026-11-25T19:06:27.000Z" */

char	*token_issue(const struct config *cfg, const char *user_id,
	    const char *username, const char *email, long long ver, time_t now);
void	 token_expires_at(const struct config *cfg, time_t now,
	    char out[TOKEN_EXPIRES_LEN + 1]);
int	 token_verify(const struct config *cfg, const char *token, time_t now,
	    struct auth_user *user);
int	 token_from_header(const char *authorization, const char **token);
/*
 * The key id of a secret, as tokens signed with it carry it in their
 * header's "kid": the first 9 bytes of its SHA-256, base64url (12
 * characters).  It names the key without telling anything of it.
 */
#define TOKEN_KID_LEN	12
void	 token_key_id(const unsigned char *key, size_t len,
	    char out[TOKEN_KID_LEN + 1]);

/*
 * Safe retries and limits.  handlers/writes.c wraps write handlers in
 * a transaction (write_run, called by the dispatcher); the pure parts
 * are in handlers/safety.c; GET /api/sync is handlers/sync.c.
 */
#define IDEM_KEY_MAX	255

void	 write_run(struct ctx *c);
int	 write_enter(struct ctx *c);
int	 idem_key_parse(const char *header, char *out, size_t outsz);
void	 idem_fingerprint(const struct config *cfg, const char *method,
	    const char *path, const char *query, const char *body, size_t len,
	    unsigned char out[DB_FINGERPRINT_LEN]);
char	*idem_seal(const struct config *cfg, const char *body, size_t len);
char	*idem_open(const struct config *cfg, const char *sealed, size_t *len);
void	 idem_headers_json(const struct http_response *resp, struct buf *out);
int	 idem_replay(struct http_response *resp, int status,
	    const char *headers_json, const char *body, size_t len);
void	 ratelimit_headers(struct http_response *resp, long long limit,
	    long long used, long long reset_s);
char	*sync_cursor_encode(const struct config *cfg, const char *user_id,
	    long long pos, long long mark);
int	 sync_cursor_decode(const struct config *cfg, const char *user_id,
	    const char *text, long long *pos, long long *mark);
void	 sync_pull(struct ctx *c);

/* Routes, one group per resource file. */
void	ops_health(struct ctx *c);
void	ops_ready(struct ctx *c);
void	ops_metrics(struct ctx *c);

/* Documents of this build (handlers/apidoc.c). */
void	apidoc_openapi_get(struct ctx *c);
void	apidoc_problems_list(struct ctx *c);
void	apidoc_problem_get(struct ctx *c);

/*
 * Loops and songs: the route table calls the shared item handlers of
 * handlers/items.h with the kind as the route's arg; what only one
 * kind has is here.  Song validation: song_validate(), handlers/items.h.
 */
void	loops_remix(struct ctx *c);		/* handlers/loops.c */
void	songs_get(struct ctx *c);		/* handlers/songs.c */

#define SONG_MAX_BLOCKS	512		/* timeline blocks per song */
#define SONG_MAX_BARS	4096		/* a block ends by this bar */

/* GET /api/users/me/likes (handlers/likes.c). */
void	users_likes(struct ctx *c);

/* Passwords (handlers/password.c). */
#define PASSWORD_HASH_MAX	128	/* crypto_pwhash_STRBYTES */
#define PASSWORD_MIN_CHARS	8
#define PASSWORD_MAX_CHARS	1024

enum password_kind {
	PASSWORD_KIND_UNKNOWN,
	PASSWORD_KIND_ARGON2ID,
	PASSWORD_KIND_BCRYPT
};

enum password_result {
	PASSWORD_MATCH,
	PASSWORD_MATCH_REHASH,		/* matched; store a fresh hash */
	PASSWORD_MISMATCH,
	PASSWORD_UNUSABLE		/* the stored hash has no known form */
};

enum password_kind	 password_hash_kind(const char *hash);
int			 password_hash(const struct config *cfg, const char *pw,
			    size_t len, char out[PASSWORD_HASH_MAX]);
enum password_result	 password_verify(const struct config *cfg,
			    const char *hash, const char *pw, size_t len);
void			 password_burn(const struct config *cfg, const char *pw,
			    size_t len);

/* Accounts (handlers/auth.c, handlers/users.c). */
int	auth_string_is_bad_utf8(json_object *obj, const char *key,
	    struct field_errors *fe);
int	auth_email_is_valid(const char *s);
int	auth_username_is_valid(const char *s);
int	auth_display_name_is_valid(const char *s);
int	auth_avatar_url_is_valid(const char *s);
int	auth_signup_check(json_object *body, struct field_errors *fe,
	    const char **email, const char **username, const char **pw,
	    size_t *pwlen);
int	users_profile_check(json_object *body, struct field_errors *fe,
	    struct db_profile *profile);
void	auth_signup(struct ctx *c);
void	auth_login(struct ctx *c);
void	auth_me(struct ctx *c);
void	auth_password(struct ctx *c);
void	auth_logout(struct ctx *c);
void	auth_logout_all(struct ctx *c);
void	users_update_me(struct ctx *c);
void	users_delete_me(struct ctx *c);
void	users_get(struct ctx *c);

#endif
