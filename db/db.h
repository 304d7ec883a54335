/*
 * The database layer: the only code that includes libpq-fe.h.  One
 * connection per worker process, opened lazily and reopened by itself
 * after PostgreSQL comes back.  Handlers call the resource functions
 * declared here and get plain values back, never a PGresult.
 */
#ifndef MP_DB_H
#define MP_DB_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* How a database call ended; db_status_http() maps it to a status. */
enum db_status {
	DB_OK = 0,
	DB_NOT_FOUND,		/* no such row (resource functions) */
	DB_UNIQUE,		/* 23505 unique_violation */
	DB_INVALID,		/* 23514, 23502, 22xxx: data the schema refuses */
	DB_FOREIGN_KEY,		/* 23503 */
	DB_RETRY,		/* 40001, 40P01: retry the transaction */
	DB_UNAVAILABLE,		/* connection lost, server shutting down,
				   statement timeout: answer 503 */
	DB_ERROR		/* anything else: a bug, answer 500 */
};

struct db_config {
	const char	*conninfo;		/* DATABASE_URL */
	int		 connect_timeout_s;
	int		 statement_timeout_ms;
};

struct db	*db_new(const struct db_config *);
void		 db_free(struct db *);
int		 db_connected(struct db *);
void		 db_end_request(struct db *);
int		 db_begin(struct db *);
int		 db_commit(struct db *);
void		 db_rollback(struct db *);
int		 db_in_transaction(struct db *);
const char	*db_status_name(enum db_status);
int		 db_status_http(enum db_status);
const char	*db_last_constraint(struct db *);

/* Migrations (db/migrate.c). */
int		 db_migrate(struct db *, int *applied);
int		 db_latest_migration(void);

/* Operations (db/ops.c). */
enum db_status	 db_ready(struct db *, int *schema_version);
enum db_status	 db_metrics(struct db *, char **text);

/*
 * Songs (db/songs.c).  uid/ver are the caller's id and token version
 * (uid NULL: anonymous, on routes where that is allowed); each call
 * folds the check that the token is still honoured into its statement
 * and reports it in auth_ok.
 */
struct song_row {
	int		 auth_ok;	/* no token, or one still honoured */
	int		 found;		/* exists and the caller may see it */
	int		 owner;		/* the caller owns it */
	int		 precondition;	/* If-Match did not match: unchanged */
	int		 conflict;	/* the body's version is stale */
	int		 done;		/* the write happened */
	int		 liked;
	long long	 version;	/* of the song in json */
	long long	 count;		/* likes or plays after the call */
	char		 id[37];
	char		*json;		/* the song as the caller sees it */
	char		*loops;		/* expand=loops: array of loops */
	char		*bad_loops;	/* refused loop ids, comma-separated */
};

enum song_sort {
	SONG_SORT_NEW,			/* created_at, newest first */
	SONG_SORT_TOP,			/* likes */
	SONG_SORT_POPULAR,		/* plays */
	SONG_SORT_UPDATED,		/* updated_at, latest first */
	SONG_SORT__MAX
};

struct song_list_query {
	const char	*viewer;	/* NULL: anonymous */
	long long	 ver;
	enum song_sort	 sort;
	int		 public_feed;	/* every public song ... */
	const char	*user_id;	/* ... or one user's, by id */
	const char	*username;	/* ... or by name */
	int		 limit;
	long long	 offset;
	const char	*cursor_id;	/* NULL: first page */
	long long	 cursor_key;
};

struct song_page {
	int		 auth_ok;
	char		*json;		/* array of songs; caller frees */
	size_t		 count;
	int		 more;		/* another page follows ... */
	long long	 last_key;	/* ... after this sort key */
	char		 last_id[37];	/* ... and id */
};

void		 song_row_release(struct song_row *);
enum db_status	 db_song_get(struct db *, const char *uid, long long ver,
		    const char *id, int expand, struct song_row *);
enum db_status	 db_song_create(struct db *, const char *uid, long long ver,
		    const char *id, const char *doc, struct song_row *);
enum db_status	 db_song_update(struct db *, const char *uid, long long ver,
		    const char *id, const char *doc, const char *if_match,
		    long long body_version, struct song_row *);
enum db_status	 db_song_delete(struct db *, const char *uid, long long ver,
		    const char *id, const char *if_match, struct song_row *);
enum db_status	 db_song_like(struct db *, const char *uid, long long ver,
		    const char *id, int on, struct song_row *);
enum db_status	 db_song_play(struct db *, const char *uid, long long ver,
		    const char *id, const char *listener, struct song_row *);
enum db_status	 db_song_list(struct db *, const struct song_list_query *,
		    struct song_page *);

/* Accounts (db/users.c). */
struct db_account {
	char		*id;			/* all owned; NULL if unknown */
	char		*username;
	char		*email;
	char		*password_hash;
	char		*json;			/* user_json() text */
	long long	 token_version;
};

struct db_throttle {
	int		 allowed;		/* 0: attempts used up */
	int		 retry_after;		/* seconds, when not allowed */
};

struct db_profile {
	int		 set_display_name;	/* 0: leave as is */
	const char	*display_name;		/* NULL: clear */
	int		 set_avatar_url;
	const char	*avatar_url;
};

struct db_user_import {
	const char	*id;			/* NULL: a new one */
	const char	*email;
	const char	*username;
	const char	*password_hash;
	const char	*display_name;		/* NULL when absent */
	const char	*avatar_url;
	const char	*created_at;
};

enum db_import_result {
	DB_IMPORT_ADDED,
	DB_IMPORT_PRESENT,			/* imported before */
	DB_IMPORT_CONFLICT			/* id, email or username taken */
};

void		 db_account_release(struct db_account *);
const char	*db_user_conflict_field(struct db *);
enum db_status	 db_user_create(struct db *, const char *email,
		    const char *username, const char *hash,
		    struct db_account *);
enum db_status	 db_login_begin(struct db *, const char *identifier,
		    int max_failures, int window_s, struct db_throttle *,
		    struct db_account *, int *found);
enum db_status	 db_login_finish(struct db *, const char *identifier,
		    const char *old_hash, const char *new_hash,
		    struct db_account *);
enum db_status	 db_user_me(struct db *, const char *id, long long ver,
		    char **json);
enum db_status	 db_user_update(struct db *, const char *id, long long ver,
		    const struct db_profile *, char **json);
enum db_status	 db_user_delete(struct db *, const char *id, long long ver);
enum db_status	 db_user_public(struct db *, const char *username,
		    const char *caller_id, long long caller_ver,
		    int *caller_ok, char **json);
enum db_status	 db_password_begin(struct db *, const char *id,
		    long long ver, int max_failures, int window_s,
		    struct db_throttle *, char **hash);
enum db_status	 db_password_set(struct db *, const char *id, long long ver,
		    const char *hash);
enum db_status	 db_user_import(struct db *, const struct db_user_import *,
		    enum db_import_result *);

#endif
