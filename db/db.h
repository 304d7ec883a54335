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

/*
 * How a database call ended: a kind of error, never an HTTP status
 * (handlers/common.c, reply_db_error(), maps kinds to statuses).
 */
enum db_status {
	DB_OK = 0,
	DB_NOT_FOUND,		/* no such row (resource functions) */
	DB_UNIQUE,		/* 23505 unique_violation */
	DB_INVALID,		/* 23514, 23502, 22xxx: data the schema refuses */
	DB_FOREIGN_KEY,		/* 23503 */
	DB_RETRY,		/* 40001, 40P01: retry the transaction */
	DB_UNAVAILABLE,		/* connection lost, server shutting down,
				   statement timeout: answer 503 */
	DB_REFUSED,		/* the write's gate refused it (budget spent,
				   stale token): see db_gate_take */
	DB_ERROR		/* anything else: a bug, answer 500 */
};

/*
 * What sits between the program and PostgreSQL (MP_DB_POOLER): found
 * out at each connect (auto), or said.  See db/conn.c, configure().
 */
enum db_pooler {
	DB_POOLER_AUTO = 0,
	DB_POOLER_NONE,			/* PostgreSQL itself */
	DB_POOLER_TRANSACTION		/* PgBouncer pool_mode=transaction */
};

struct db_config {
	const char	*conninfo;		/* DATABASE_URL */
	int		 connect_timeout_s;
	int		 statement_timeout_ms;
	enum db_pooler	 pooler;
	int		 session;		/* needs a session of its own
						   (LISTEN, session locks): a
						   pooled connection is refused */
};

struct db	*db_new(const struct db_config *cfg);
void		 db_free(struct db *db);
int		 db_connected(struct db *db);
void		 db_end_request(struct db *db);
void		 db_rollback(struct db *db);
int		 db_in_transaction(struct db *db);
const char	*db_status_name(enum db_status s);
const char	*db_last_constraint(struct db *db);
const char	*db_last_sqlstate(struct db *db);
int		 db_pooled(struct db *db);

/*
 * A read replica (db/conn.c): a second handle, attached to the
 * primary's, connected on first use and reconnected like it (after a
 * failed connect not again for a second).  db_reader picks the handle
 * a read runs on: the replica when it is up, its replay lag is within
 * max_lag_ms and, when the request carries a commit position (has_lsn),
 * it has replayed that one (polled for up to wait_ms); the primary
 * otherwise, the reason counted.  Without a replica attached, always
 * the primary.  The handle returned is borrowed from db.
 */
struct db_read_ask {
	int		 anonymous;	/* no Authorization: no token check
					   needs a fresh copy */
	int		 has_lsn;
	uint64_t	 lsn;		/* X-Read-After */
	int		 wait_ms;
	int		 max_lag_ms;
};

void		 db_replica_attach(struct db *db, const struct db_config *cfg);
int		 db_has_replica(struct db *db);
struct db	*db_reader(struct db *db, const struct db_read_ask *ask);
/*
 * A read db_reader sent to the replica r failed there (its connection
 * broke, or replay cancelled it): counted as a fallback (down) instead
 * of a replica read, and a replica whose connection is gone is kept out
 * for a second.  The caller runs the read again on the primary.
 */
void		 db_reader_failed(struct db *r);
/*
 * The primary's WAL insert position now (after a commit): 0 or -1.
 * The keyed write's commit reports its own (commit_lsn) in the same
 * round trip; this is for the writes that have no such pipeline.
 */
int		 db_commit_lsn(struct db *db, uint64_t *lsn);
/*
 * The replica counters (where reads went, /metrics) are counted by each
 * process and added to a table in PostgreSQL (replica_read_counts), so
 * any worker's /metrics reports the sum with no memory shared between
 * workers.  db_counters_flush adds this process's pending counts: at
 * most once a second unless force is set, nothing when none are
 * pending; a failure keeps them pending.  To be called between
 * requests (after the answer went out): it runs a statement on db.
 */
void		 db_counters_flush(struct db *db, int force);

/* Migrations (db/migrate.c). */
struct db_migration_state {
	int		 current;	/* highest version recorded, 0 if none */
	int		 latest;	/* the highest this build knows */
	size_t		 n;		/* migrations compiled in */
	struct {
		int		 version;
		const char	*name;		/* static */
		int		 applied;
		char		 applied_at[32]; /* RFC 3339 UTC, "" */
	}		*items;		/* n of them, in order */
	int		 pending;	/* compiled in, not applied */
	int		 unknown;	/* applied, not known to this build */
};
int		 db_migrate(struct db *db, int *applied);
int		 db_latest_migration(void);
int		 db_migration_state(struct db *db,
		    struct db_migration_state *st);
void		 db_migration_state_release(struct db_migration_state *st);

/* Operations (db/ops.c). */
enum db_status	 db_ready(struct db *db, int *schema_version);
enum db_status	 db_metrics(struct db *db, char **text);

/*
 * Loops and songs: what the two kinds of item share (db/items.c), then
 * what only loops have (db/loops.c).  Every item call takes the caller
 * (user id and token version from the token, or a NULL id when
 * anonymous) and checks in its own statement that the account still
 * accepts that token: ITEM_BAD_TOKEN means answer 401.  One call is
 * one round trip.
 */
enum item_kind {
	ITEM_LOOP,
	ITEM_SONG,
	ITEM__MAX
};

struct item_caller {
	const char	*id;		/* user id, or NULL when anonymous */
	long long	 ver;		/* token version */
};

enum item_outcome {
	ITEM_OK,		/* done (read, changed or deleted) */
	ITEM_CREATED,		/* created */
	ITEM_BAD_TOKEN,		/* account gone or token revoked: 401 */
	ITEM_MISSING,		/* no such item, or invisible to the caller */
	ITEM_FORBIDDEN,		/* visible but not the caller's */
	ITEM_PRECONDITION,	/* If-Match / If-None-Match failed */
	ITEM_CONFLICT,		/* the body's version is not the current one */
	ITEM_INVALID		/* refused by the database's own checks */
};

/*
 * What an item call answers.  json is the item as the API shows it
 * (for ITEM_OK/ITEM_CREATED, and the current item for
 * ITEM_PRECONDITION/ITEM_CONFLICT when the caller may see it), owned
 * by the struct: release with item_result_release().
 */
struct item_result {
	enum item_outcome outcome;
	long long	 version;	/* version of json's item */
	char		 id[37];	/* id of a created item */
	char		 owner[37];	/* userId of json's item */
	char		*json;
	long long	 count;		/* likes or plays after the change */
	int		 flag;		/* likedByMe after a like */
};

/*
 * Conditions of a write, checked in the write's own statement.  match
 * set: the item's version must be one of versions (nversions of them,
 * borrowed for the call; none: no version can hold, as for
 * If-None-Match: * on an item that exists).  match 0: no condition (no
 * If-Match, or "*").  body_version: the document's "version", or -1.
 */
struct item_cond {
	int		 match;
	const long long	*versions;
	size_t		 nversions;
	long long	 body_version;
};

enum item_sort {
	ITEM_SORT_NEW,		/* created_at */
	ITEM_SORT_TOP,		/* likes_count */
	ITEM_SORT_POPULAR,	/* plays_count */
	ITEM_SORT_UPDATED,	/* updated_at */
	ITEM_SORT__MAX
};

enum item_scope {
	ITEM_SCOPE_PUBLIC,	/* public items */
	ITEM_SCOPE_OWN,		/* the caller's, public or not */
	ITEM_SCOPE_VISIBLE	/* public ones and the caller's */
};

/*
 * One page of a list.  Strings are borrowed for the call.  Filters
 * left NULL (or -1) do not apply; the loop-only ones are refused for
 * songs.  limit is the number of rows to fetch (page size + 1).
 */
struct item_list_spec {
	enum item_kind	 kind;
	struct item_caller who;
	enum item_scope	 scope;
	enum item_sort	 sort;
	int		 limit;
	long long	 offset;	/* -1: none */
	int		 has_cursor;
	long long	 cursor_key;	/* sort key of the last row seen */
	const char	*cursor_id;	/* id of the last row seen */
	const char	*user;		/* username */
	/* loops only */
	const char	*chord;		/* a chord cell has exactly this chord */
	const char	*sound;		/* a step has exactly this soundId */
	int		 bars;
	int		 bpm_min;
	int		 bpm_max;
	const char	*parent;	/* uuid */
	const char	*name_contains;	/* the name contains this, in any
					   letter case */
};

struct item_row {
	long long	 key;		/* the row's sort key, for a cursor */
	char		 id[37];
	char		*json;
};

struct item_page {
	int		 bad_token;	/* answer 401 */
	size_t		 n;
	struct item_row	*rows;
};

void		 item_result_release(struct item_result *r);
void		 item_page_release(struct item_page *page);
enum db_status	 db_item_get(struct db *db, enum item_kind kind,
		    const struct item_caller *who, const char *id,
		    struct item_result *r);
enum db_status	 db_item_delete(struct db *db, enum item_kind kind,
		    const struct item_caller *who, const char *id,
		    const struct item_cond *cond, struct item_result *r);
enum db_status	 db_item_like(struct db *db, enum item_kind kind,
		    const struct item_caller *who, const char *id, int on,
		    struct item_result *r);
enum db_status	 db_item_play(struct db *db, enum item_kind kind,
		    const struct item_caller *who, const char *listener,
		    const char *id, struct item_result *r);
enum db_status	 db_item_list(struct db *db, const struct item_list_spec *spec,
		    struct item_page *page);
enum db_status	 db_item_liked(struct db *db, enum item_kind kind,
		    const struct item_caller *who, int limit, int has_cursor,
		    long long key, const char *id, struct item_page *page);

/* Loops (db/loops.c).  doc is the validated document as JSON text. */
enum db_status	 db_loop_create(struct db *db, const struct item_caller *who,
		    const char *id, const char *doc, struct item_result *r);
enum db_status	 db_loop_replace(struct db *db, const struct item_caller *who,
		    const char *id, const char *doc,
		    const struct item_cond *cond, struct item_result *r);
enum db_status	 db_loop_remix(struct db *db, const struct item_caller *who,
		    const char *id, const char *name, int is_public,
		    struct item_result *r);

/*
 * Songs (db/songs.c): the writes and the read that are the songs' own.
 * Reading one, deleting, likes, plays and lists are the db_item_*
 * calls above with ITEM_SONG.  doc is the validated document as JSON
 * text.
 */
enum db_status	 db_song_create(struct db *db, const struct item_caller *who,
		    const char *id, const char *doc, struct item_result *r);
enum db_status	 db_song_replace(struct db *db, const struct item_caller *who,
		    const char *id, const char *doc,
		    const struct item_cond *cond, struct item_result *r);
/*
 * ?expand=loops lists loops while their JSON totals at most this many
 * bytes; the ids of the rest are listed in "omittedLoops".
 */
#define DB_SONG_EXPAND_MAX	4194304		/* 4 MiB */
#define DB_XSTR(x)		DB_STR(x)
#define DB_STR(x)		#x

enum db_status	 db_song_get_expanded(struct db *db,
		    const struct item_caller *who, const char *id,
		    struct item_result *r);

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

/*
 * How many failed password checks are allowed.  Login: each_max per
 * identifier and client address before a delay of 1, 2, 4, ... s (at
 * most each_window_s) follows each failure, forgotten each_window_s
 * after the last; total_max per identifier from every address in a
 * fixed window of total_window_s.  Password change: each_max per token
 * in a fixed window of each_window_s; total_max per client address
 * over every token in total_window_s.
 */
struct db_throttle_limits {
	int		 each_max;
	int		 each_window_s;
	int		 total_max;
	int		 total_window_s;
};

/* The write budget as GET /api/auth/me reports it. */
struct db_budget {
	long long	 used;			/* in the current window */
	long long	 reset_s;		/* seconds until it ends */
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

void		 db_account_release(struct db_account *acct);
const char	*db_user_conflict_field(struct db *db);
enum db_status	 db_user_create(struct db *db, const char *email,
		    const char *username, const char *hash,
		    struct db_account *acct);
enum db_status	 db_login_begin(struct db *db, const char *identifier,
		    const char *source, const struct db_throttle_limits *limits,
		    struct db_throttle *throttle, struct db_account *acct,
		    int *found);
enum db_status	 db_login_finish(struct db *db, const char *identifier,
		    const char *source, const char *old_hash,
		    const char *new_hash, struct db_account *acct);
enum db_status	 db_user_me(struct db *db, const char *id, long long ver,
		    char **json);
enum db_status	 db_user_me_budget(struct db *db, const char *id,
		    long long ver, int window_s, char **json,
		    struct db_budget *budget);
enum db_status	 db_user_update(struct db *db, const char *id, long long ver,
		    const struct db_profile *profile, char **json);
enum db_status	 db_user_delete(struct db *db, const char *id, long long ver);
enum db_status	 db_user_public(struct db *db, const char *username,
		    const char *caller_id, long long caller_ver,
		    int *caller_ok, char **json);
enum db_status	 db_password_begin(struct db *db, const char *id, long long ver,
		    const char *tid, const char *source,
		    const struct db_throttle_limits *limits,
		    struct db_throttle *throttle, char **hash);
enum db_status	 db_password_set(struct db *db, const char *id, long long ver,
		    const char *source, const char *hash,
		    struct db_account *acct);
enum db_status	 db_token_revoke(struct db *db, const char *id, long long ver,
		    const char *tid, long long exp);
enum db_status	 db_tokens_revoke_all(struct db *db, const char *id,
		    long long ver);
enum db_status	 db_user_import(struct db *db, const struct db_user_import *in,
		    enum db_import_result *result);

/*
 * Safe retries and limits (db/writes.c).  A write is a value in and a
 * value out: the dispatcher describes it (struct db_write_spec) and is
 * told what happened (struct db_write_outcome).  Two forms:
 *  - gated, with no Idempotency-Key: db_write_gated runs the handler
 *    as its body, the token check and the write budget riding on the
 *    body's first statement (one round trip for a one-statement
 *    handler);
 *  - keyed: db_write_begin opens the transaction (the key's lock and
 *    lookup, the budget), the handler runs inside it, db_write_commit
 *    stores the answer under the key and commits (db_write_abort rolls
 *    back); db_write_claim first, for a handler that hashes a password.
 * Also `mpapi purge`.
 */
#define DB_FINGERPRINT_LEN	32

enum db_write_verdict {
	DB_WRITE_GO,			/* run the handler: the transaction is open */
	DB_WRITE_UNAUTHORIZED,		/* the token's user or version is gone */
	DB_WRITE_BUSY,			/* another request holds the key */
	DB_WRITE_MISMATCH,		/* the key was used for another request */
	DB_WRITE_REPLAY,		/* the key's stored answer is in replay_* */
	DB_WRITE_OVER_BUDGET		/* the write budget is spent */
};

/*
 * A write as the dispatcher hands it to db/: who writes, what is
 * checked and counted, and the Idempotency-Key it is kept under.  The
 * inputs of every db_write_ call, never changed by them.
 */
struct db_write_spec {
	const char		*user_id;	/* the caller, NULL if anonymous */
	long long		 token_ver;
	const char		*token_id;	/* the token's jti (deny list) */
	int			 budget;	/* count against the user's budget */
	int			 limit;		/* budget per window */
	int			 window_s;
	const char		*key;		/* Idempotency-Key or NULL */
	const unsigned char	*fingerprint;	/* DB_FINGERPRINT_LEN bytes */
	int			 ttl_s;		/* key retention */
	int			 want_lsn;	/* a replica reads: tell where
						   the commit is (commit_lsn) */
};

/* What a db_write_ call found: its results, owned by the caller. */
struct db_write_outcome {
	enum db_write_verdict	 verdict;
	long long		 used;		/* budget used, this write included
						   (limit + 1: refused) */
	long long		 reset_s;	/* seconds until the window ends */
	long long		 window_us;	/* its start (gate), for a refund */
	int			 replay_status;
	char			*replay_headers; /* JSON object text (owned) */
	char			*replay_body;	/* stored body text (owned) */
	uint64_t		 commit_lsn;	/* want_lsn: the WAL position
						   after the commit, 0 if
						   unknown */
};

enum db_purge_what {
	DB_PURGE_KEYS,			/* age: seconds (MP_IDEMPOTENCY_TTL) */
	DB_PURGE_TOMBSTONES,		/* age: days (MP_TOMBSTONE_DAYS) */
	DB_PURGE_PLAY_MARKS,		/* age unused (ten minutes) */
	DB_PURGE_BUDGETS,		/* age: seconds (MP_WRITE_WINDOW) */
	DB_PURGE_LOGIN_FAILURES,	/* age unused (rows know their end) */
	DB_PURGE_REVOKED_TOKENS,	/* age unused (expired tokens) */
	DB_PURGE_LIVE_OUTBOX		/* age: seconds (MP_LIVE_OUTBOX_TTL) */
};

void		 db_write_outcome_init(struct db_write_outcome *out);
void		 db_write_outcome_release(struct db_write_outcome *out);
void		 db_write_gated(struct db *db, const struct db_write_spec *w,
		    void (*body)(void *arg), void *arg,
		    struct db_write_outcome *out);
enum db_status	 db_write_refund(struct db *db, const struct db_write_spec *w,
		    struct db_write_outcome *out);
enum db_status	 db_write_claim(struct db *db, const struct db_write_spec *w,
		    struct db_write_outcome *out);
enum db_status	 db_write_begin(struct db *db, const struct db_write_spec *w,
		    struct db_write_outcome *out);
enum db_status	 db_write_commit(struct db *db, const struct db_write_spec *w,
		    int store, int status, const char *headers,
		    const char *body, struct db_write_outcome *out);
void		 db_write_abort(struct db *db);
int		 db_retry_seen(struct db *db);
void		 db_retry_reset(struct db *db);
enum db_status	 db_purge_lock(struct db *db, int take, int *got);
enum db_status	 db_purge(struct db *db, enum db_purge_what what, int age,
		    int batch, long long *deleted);

/* The sync feed (db/sync.c). */
struct db_sync_page {
	int		 known;		/* the token's user and version hold */
	int		 expired;	/* mark below the sync floor: 410 */
	int		 has_more;
	long long	 change_seq;	/* the owner's, in this snapshot */
	long long	 floor;		/* users.sync_floor */
	long long	 mark;		/* the tombstone mark used */
	long long	 last_seq;	/* of the last change on the page */
	char		*loops;		/* JSON arrays (owned) */
	char		*songs;
	char		*deleted;
	char		*likes;
	char		*unavailable;
	char		*available;
};

enum db_status	 db_sync_page(struct db *db, const char *user_id,
		    long long token_ver, long long pos, long long mark,
		    int limit, struct db_sync_page *page);
void		 db_sync_page_release(struct db_sync_page *page);

/*
 * Live updates (db/live.c): the outbox that write transactions fill
 * (migration 0020), as `mpapi relay` takes it, and what the workers
 * need of it (the subscription check, /metrics, the purge).
 */
#define DB_LIVE_BUCKETS		12	/* lag histogram: 11 bounds, +Inf */

extern const double	 db_live_bounds[DB_LIVE_BUCKETS - 1];

/* One queued message; strings owned (db_live_batch_release). */
struct db_live_row {
	long long	 id;
	char		*channel;	/* "loop:<id>", "song:<id>", "user:<id>" */
	char		*event;		/* "counters", "changed", ... */
	char		*item;		/* what it coalesces on, with the above */
	char		*data;		/* JSON object text */
	char		 at[32];	/* when it was queued, RFC 3339 */
	double		 age_s;		/* how long it had waited when taken */
};

struct db_live_batch {
	size_t			 n;
	struct db_live_row	*rows;	/* in id (queue) order */
};

/* What the relay adds to its counters in live_relay. */
struct db_live_delta {
	long long	 published;
	long long	 coalesced;
	long long	 failed;
	long long	 db_reconnects;
	long long	 nginx_reconnects;
	long long	 starts;
	long long	 lag_count;
	double		 lag_sum_s;
	long long	 lag_buckets[DB_LIVE_BUCKETS];
};

/* nchan's status as the relay read it; known 0: leave as recorded. */
struct db_live_status {
	int		 known;
	long long	 subscribers;
	long long	 channels;
	long long	 stored_messages;
};

/* How db_live_wait ended. */
enum db_live_event {
	DB_LIVE_TIMEOUT,
	DB_LIVE_NOTIFIED,	/* a NOTIFY came: rows are waiting */
	DB_LIVE_WOKEN,		/* wake_fd became readable */
	DB_LIVE_LOST		/* the connection is gone */
};

struct db_live;
struct buf;

struct db_live	*db_live_new(const struct db_config *cfg);
void		 db_live_free(struct db_live *live);
enum db_status	 db_live_attach(struct db_live *live, int *leader,
		    int *reattached);
int		 db_live_attached(struct db_live *live);
void		 db_live_detach(struct db_live *live);
enum db_live_event db_live_wait(struct db_live *live, int timeout_ms,
		    int wake_fd);
enum db_status	 db_live_arm(struct db_live *live, int armed);
enum db_status	 db_live_take(struct db_live *live, int limit,
		    struct db_live_batch *batch);
enum db_status	 db_live_done(struct db_live *live,
		    const struct db_live_delta *delta,
		    const struct db_live_status *status);
void		 db_live_undo(struct db_live *live);
void		 db_live_batch_release(struct db_live_batch *batch);
enum db_status	 db_live_subscriber(struct db *db, const char *user_id,
		    long long token_ver, int *ok);
enum db_status	 db_live_metrics(struct db *db, int schema_version,
		    struct buf *out);
enum db_status	 db_live_purge(struct db *db, int age_s, int batch,
		    long long *deleted);

#endif
