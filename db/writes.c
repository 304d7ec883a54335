/*
 * What the dispatcher wraps around a handler, in db/ terms: a write
 * described by a struct db_write_spec, its result in a struct
 * db_write_outcome (see db/db.h).  A keyed write is a transaction:
 * one round trip opens it (BEGIN, the Idempotency-Key lock and lookup,
 * the write budget, a savepoint before the handler), one more stores
 * the idempotent response and commits.  Any other request of a
 * signed-in caller runs its handler behind a gate (db_write_gated).
 * Also the clean-up statements of `mpapi purge`.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "db/db_int.h"

#define NIL_UUID	"'00000000-0000-0000-0000-000000000000'::uuid"

/*
 * Never wait for another request holding the same key: a retry of a
 * request still running is answered 409 at once.  The lock dies with
 * the transaction, so a killed worker cannot leave it behind.
 */
static struct db_stmt st_key_lock = DB_STMT("write_key_lock",
    "SELECT pg_try_advisory_xact_lock(hashtextextended($1::text, 0))", 1);

/*
 * Runs after the lock statement, so its snapshot sees whatever the
 * previous holder committed.  Expired rows are ignored (and replaced
 * when the key is stored again).  A token whose version is no longer
 * current finds nothing: a revoked token never reads a stored answer.
 */
static struct db_stmt st_key_lookup = DB_STMT("write_key_lookup",
    "SELECT k.request_hash = $3::bytea, k.response_status, "
    "k.response_headers::text, k.response_body "
    "FROM idempotency_keys k "
    "WHERE coalesce(k.user_id, " NIL_UUID ") = "
    "coalesce($1::uuid, " NIL_UUID ") AND k.idem_key = $2::text "
    "AND k.created_at > now() - make_interval(secs => $4::int) "
    "AND ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM users u "
    "WHERE u.id = $1::uuid AND u.token_version = $5::int))", 5);

/*
 * Count this write in the caller's fixed window: a new window starts
 * when the old one has ended; past the limit the counter stops at
 * limit + 1, which means "refused".  No row comes back when the token
 * is stale (user gone, or token version bumped) or when another
 * request holds the Idempotency-Key (then nothing waits for the
 * budget row either).  The row lock is held to commit, so one user's
 * writes run one at a time.
 */
static struct db_stmt st_budget = DB_STMT("write_budget",
    "INSERT INTO write_budgets AS b (user_id, window_start, used) "
    "SELECT u.id, now(), 1 FROM users u "
    "WHERE u.id = $1::uuid AND u.token_version = $2::int "
    "AND ($5::text IS NULL OR "
    "pg_try_advisory_xact_lock(hashtextextended($5::text, 0))) "
    "ON CONFLICT (user_id) DO UPDATE SET "
    "window_start = CASE WHEN b.window_start > "
    "now() - make_interval(secs => $4::int) "
    "THEN b.window_start ELSE now() END, "
    "used = CASE WHEN b.window_start > "
    "now() - make_interval(secs => $4::int) "
    "THEN least(b.used + 1, $3::int + 1) ELSE 1 END "
    "RETURNING used, greatest(1, ceil(extract(epoch FROM "
    "window_start + make_interval(secs => $4::int) - now())))::bigint",
    5);

/*
 * The budget as a gate (migrations 0005, 0006, 0012): sent in one
 * pipeline with the handler's first statement, in the same implicit
 * transaction, for a write that carries no Idempotency-Key.  It RAISEs
 * when refused: a signed-out token (P0401, checked first), a stale one
 * (P0401) or a spent budget (P0429); and names the window it counted
 * in, for a refund.
 */
static struct db_stmt st_budget_gate = DB_STMT("write_budget_gate",
    "SELECT used, reset_s, window_us FROM write_gate_at($1::uuid, "
    "$2::int, $3::int, $4::int, $5::text)", 5);

/* Give back the count of a gated write refused by its handler. */
static struct db_stmt st_budget_refund = DB_STMT("write_budget_refund",
    "SELECT write_budget_refund($1::uuid, $2::bigint)", 2);

/*
 * The gate of every other request of a signed-in caller without an
 * Idempotency-Key (reads included): RAISEs P0401 for a token signed
 * out by POST /api/auth/logout.
 */
static struct db_stmt st_token_gate = DB_STMT_RO("write_token_gate",
    "SELECT token_gate($1::uuid, $2::text)", 2);

/* The same check as one step of a pipeline: false when signed out. */
static struct db_stmt st_token_live = DB_STMT_RO("write_token_live",
    "SELECT NOT EXISTS (SELECT 1 FROM revoked_tokens r "
    "WHERE r.user_id = $1::uuid AND r.token_id = $2::text)", 2);

/*
 * The Idempotency-Key's lock for a whole request, held by the session
 * with no transaction open (db_write_claim): released by
 * db_end_request.  The transaction-level lock db_write_begin takes on
 * the same key later is granted at once to the session that holds it.
 */
static struct db_stmt st_key_claim = DB_STMT("write_key_claim",
    "SELECT pg_try_advisory_lock(hashtextextended($1::text, 0))", 1);

/* Its stand-in through a pooler (see db_write_claim): no lock. */
static struct db_stmt st_key_noclaim = DB_STMT_RO("write_key_noclaim",
    "SELECT $1::text IS NOT NULL", 1);

/*
 * Store the answer in the transaction of the write itself.  An expired
 * row of the same key is replaced; a live one (only possible if the
 * lock was bypassed) makes the statement return nothing.
 */
static struct db_stmt st_key_store = DB_STMT("write_key_store",
    "INSERT INTO idempotency_keys AS k (user_id, idem_key, request_hash, "
    "response_status, response_headers, response_body) "
    "VALUES ($1::uuid, $2::text, $3::bytea, $4::smallint, $5::jsonb, "
    "$6::text) "
    "ON CONFLICT ((coalesce(user_id, " NIL_UUID ")), idem_key) "
    "DO UPDATE SET request_hash = EXCLUDED.request_hash, "
    "response_status = EXCLUDED.response_status, "
    "response_headers = EXCLUDED.response_headers, "
    "response_body = EXCLUDED.response_body, created_at = now() "
    "WHERE k.created_at <= now() - make_interval(secs => $7::int) "
    "RETURNING 1", 7);

static void
hex_bytea(char *out, const unsigned char *p, size_t n)
{
	static const char	 hx[] = "0123456789abcdef";
	size_t			 i;

	out[0] = '\\';
	out[1] = 'x';
	for (i = 0; i < n; i++) {
		out[2 + 2 * i] = hx[p[i] >> 4];
		out[3 + 2 * i] = hx[p[i] & 15];
	}
	out[2 + 2 * n] = '\0';
}

void
db_write_outcome_init(struct db_write_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->verdict = DB_WRITE_GO;
}

void
db_write_outcome_release(struct db_write_outcome *out)
{
	free(out->replay_headers);
	free(out->replay_body);
	out->replay_headers = NULL;
	out->replay_body = NULL;
}

/* Start out afresh: verdict GO, nothing used, no replay. */
static void
outcome_reset(struct db_write_outcome *out)
{
	db_write_outcome_release(out);
	db_write_outcome_init(out);
}

/* The stored answer of row 0 of a key lookup: a replay or a mismatch. */
static void
outcome_of_lookup(struct db_write_outcome *out, PGresult *r)
{
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		out->verdict = DB_WRITE_MISMATCH;
		return;
	}
	out->verdict = DB_WRITE_REPLAY;
	out->replay_status = atoi(PQgetvalue(r, 0, 1));
	out->replay_headers = xstrdup(PQgetvalue(r, 0, 2));
	out->replay_body = xstrdup(PQgetvalue(r, 0, 3));
}

static void
write_rollback(struct db *db)
{
	db_outer_set(db, 0);
	if (db_in_transaction(db))
		(void)db_exec_simple(db, "ROLLBACK");
}

/*
 * Open the write transaction described by w (one round trip) and say
 * what to do in out->verdict.  On DB_OK with DB_WRITE_GO the
 * transaction is open and the handler's statements run inside it; with
 * any other verdict it has been rolled back.  Replay strings are owned
 * by out (db_write_outcome_release).  Any other status: nothing is
 * open.
 */
enum db_status
db_write_begin(struct db *db, const struct db_write_spec *w,
    struct db_write_outcome *out)
{
	struct db_step	 steps[DB_PIPELINE_MAX];
	char		 hash[2 + 2 * DB_FINGERPRINT_LEN + 1];
	char		 ver[24], ttl[16], limit[16], window[16];
	char		*lock = NULL;
	const char	*plock[1], *plook[5], *pbud[5], *plive[2];
	size_t		 n = 0, ilock = 0, ilook = 0, ibud = 0, ilive = 0;
	enum db_status	 s;
	PGresult	*r;

	outcome_reset(out);
	snprintf(ver, sizeof(ver), "%lld", w->token_ver);
	snprintf(ttl, sizeof(ttl), "%d", w->ttl_s);
	snprintf(limit, sizeof(limit), "%d", w->limit);
	snprintf(window, sizeof(window), "%d", w->window_s);
	memset(steps, 0, sizeof(steps));
	steps[n++].sql = "BEGIN";
	if (w->key != NULL) {
		struct buf	 b = BUF_INIT;

		buf_printf(&b, "%s:%s", w->user_id ? w->user_id : "-", w->key);
		lock = buf_detach(&b);
		hex_bytea(hash, w->fingerprint, DB_FINGERPRINT_LEN);
		plock[0] = lock;
		ilock = n;
		steps[n].stmt = &st_key_lock;
		steps[n++].params = plock;
		plook[0] = w->user_id;
		plook[1] = w->key;
		plook[2] = hash;
		plook[3] = ttl;
		plook[4] = ver;
		ilook = n;
		steps[n].stmt = &st_key_lookup;
		steps[n++].params = plook;
	}
	if (w->user_id != NULL && w->token_id != NULL) {
		plive[0] = w->user_id;
		plive[1] = w->token_id;
		ilive = n;
		steps[n].stmt = &st_token_live;
		steps[n++].params = plive;
	}
	if (w->budget && w->user_id != NULL) {
		pbud[0] = w->user_id;
		pbud[1] = ver;
		pbud[2] = limit;
		pbud[3] = window;
		pbud[4] = lock;
		ibud = n;
		steps[n].stmt = &st_budget;
		steps[n++].params = pbud;
	}
	steps[n++].sql = "SAVEPOINT " DB_HANDLER_SAVEPOINT;
	s = db_pipeline(db, steps, n, 1);
	free(lock);
	if (s != DB_OK) {
		db_steps_clear(steps, n);
		write_rollback(db);
		return s;
	}
	if (ibud > 0) {
		r = steps[ibud].res;
		if (PQntuples(r) == 1) {
			out->used = atoll(PQgetvalue(r, 0, 0));
			out->reset_s = atoll(PQgetvalue(r, 0, 1));
		}
	}
	if (ilock > 0 && strcmp(PQgetvalue(steps[ilock].res, 0, 0), "t") != 0)
		out->verdict = DB_WRITE_BUSY;
	else if (ilive > 0 &&
	    strcmp(PQgetvalue(steps[ilive].res, 0, 0), "t") != 0)
		out->verdict = DB_WRITE_UNAUTHORIZED;
	else if (ibud > 0 && PQntuples(steps[ibud].res) == 0)
		out->verdict = DB_WRITE_UNAUTHORIZED;
	else if (ilook > 0 && PQntuples(steps[ilook].res) == 1)
		outcome_of_lookup(out, steps[ilook].res);
	else if (ibud > 0 && out->used > w->limit)
		out->verdict = DB_WRITE_OVER_BUDGET;
	db_steps_clear(steps, n);
	if (out->verdict == DB_WRITE_GO)
		db_outer_set(db, 1);
	else
		write_rollback(db);
	return DB_OK;
}

/*
 * Finish a DB_WRITE_GO transaction: store the answer under the key
 * (when store is set and w has a key) and commit, in one round trip,
 * which with w->want_lsn also reads the WAL position after the commit
 * into out->commit_lsn.  headers is a JSON object text, body the stored
 * body text.  Returns DB_OK once committed; otherwise everything is
 * rolled back (DB_UNIQUE means a live row of the key appeared: answer
 * 409).
 */
enum db_status
db_write_commit(struct db *db, const struct db_write_spec *w, int store,
    int status, const char *headers, const char *body,
    struct db_write_outcome *out)
{
	struct db_step	 steps[3];
	unsigned	 hi, lo;
	char		 hash[2 + 2 * DB_FINGERPRINT_LEN + 1];
	char		 st[16], ttl[16];
	const char	*p[7];
	size_t		 n = 0;
	enum db_status	 s;

	db_outer_set(db, 0);
	memset(steps, 0, sizeof(steps));
	if (store && w->key != NULL) {
		hex_bytea(hash, w->fingerprint, DB_FINGERPRINT_LEN);
		snprintf(st, sizeof(st), "%d", status);
		snprintf(ttl, sizeof(ttl), "%d", w->ttl_s);
		p[0] = w->user_id;
		p[1] = w->key;
		p[2] = hash;
		p[3] = st;
		p[4] = headers;
		p[5] = body;
		p[6] = ttl;
		steps[n].stmt = &st_key_store;
		steps[n++].params = p;
	}
	steps[n++].sql = "COMMIT";
	if (w->want_lsn)		/* after the commit: past its record */
		steps[n++].sql = "SELECT pg_current_wal_insert_lsn()";
	out->commit_lsn = 0;
	s = db_pipeline(db, steps, n, 0);
	if (s == DB_OK && store && w->key != NULL &&
	    PQntuples(steps[0].res) != 1)
		s = DB_UNIQUE;
	if (s == DB_OK && w->want_lsn && PQntuples(steps[n - 1].res) == 1 &&
	    sscanf(PQgetvalue(steps[n - 1].res, 0, 0), "%X/%X", &hi, &lo) == 2)
		out->commit_lsn = (uint64_t)hi << 32 | lo;
	db_steps_clear(steps, n);
	if (s != DB_OK)
		write_rollback(db);
	return s;
}

/*
 * For a keyed request whose handler hashes a password: take the key's
 * lock for the whole request at session level and look the key up, in
 * one round trip with no transaction left open, so the hashing that
 * follows holds no transaction, snapshot or row lock while a retry
 * still meets the key in use (409).  out->verdict as db_write_begin
 * says it (GO: run the handler, which opens the transaction with
 * db_write_begin once its hashing is done).  The lock, once taken, is
 * held until db_end_request.  Replay strings are owned by out.
 *
 * Through a pooler in transaction mode a session lock would stay on
 * whichever server connection took it (the unlock may go to another),
 * so there the claim only looks the key up: a retry that comes while
 * the first is still hashing hashes too, then meets the key's
 * transaction lock in db_write_begin (409) or the stored answer
 * (replayed) there.  The answer is the same, only a hash is spent.
 */
enum db_status
db_write_claim(struct db *db, const struct db_write_spec *w,
    struct db_write_outcome *out)
{
	struct db_step	 steps[3];
	char		 hash[2 + 2 * DB_FINGERPRINT_LEN + 1];
	char		 ver[24], ttl[16];
	char		*lock;
	const char	*plock[1], *plook[5], *plive[2];
	struct buf	 b = BUF_INIT;
	size_t		 n = 0, ilive = 0;
	enum db_status	 s;
	int		 locked, pooled;

	outcome_reset(out);
	snprintf(ver, sizeof(ver), "%lld", w->token_ver);
	snprintf(ttl, sizeof(ttl), "%d", w->ttl_s);
	buf_printf(&b, "%s:%s", w->user_id ? w->user_id : "-", w->key);
	lock = buf_detach(&b);
	hex_bytea(hash, w->fingerprint, DB_FINGERPRINT_LEN);
	memset(steps, 0, sizeof(steps));
	plock[0] = lock;
	if (!db_connected(db)) {
		free(lock);
		return DB_UNAVAILABLE;
	}
	pooled = db_pooled(db);
	steps[n].stmt = pooled ? &st_key_noclaim : &st_key_claim;
	steps[n++].params = plock;
	plook[0] = w->user_id;
	plook[1] = w->key;
	plook[2] = hash;
	plook[3] = ttl;
	plook[4] = ver;
	steps[n].stmt = &st_key_lookup;
	steps[n++].params = plook;
	if (w->user_id != NULL && w->token_id != NULL) {
		plive[0] = w->user_id;
		plive[1] = w->token_id;
		ilive = n;
		steps[n].stmt = &st_token_live;
		steps[n++].params = plive;
	}
	s = db_pipeline(db, steps, n, 1);
	free(lock);
	if (s != DB_OK) {
		db_steps_clear(steps, n);
		return s;
	}
	locked = strcmp(PQgetvalue(steps[0].res, 0, 0), "t") == 0;
	if (locked && !pooled)
		db_session_lock_set(db);
	if (!locked)
		out->verdict = DB_WRITE_BUSY;
	else if (ilive > 0 &&
	    strcmp(PQgetvalue(steps[ilive].res, 0, 0), "t") != 0)
		out->verdict = DB_WRITE_UNAUTHORIZED;
	else if (PQntuples(steps[1].res) == 1)
		outcome_of_lookup(out, steps[1].res);
	db_steps_clear(steps, n);
	return DB_OK;
}

/*
 * Run body(arg), the handler of a request of a signed-in caller that
 * carries no Idempotency-Key, behind a gate on its first statement: a
 * request then costs no round trip of its own (one in all for a
 * one-statement handler), and a refused one runs nothing.  The gate is
 * the write budget when w->budget is set (it counts the write inside
 * the write's own implicit transaction), else only the check that the
 * token was not signed out.  The gate is made here, installed on db
 * for the body alone, and read back here: out says what it did.
 *
 * out->verdict: GO (with used 0 when the body touched no database:
 * nothing was counted), UNAUTHORIZED (signed out, or a stale token),
 * OVER_BUDGET (used = limit + 1, reset_s the window's rest).  On a
 * refusal the body's first statement did not run and returned the
 * gate's status: its answer is to be replaced by the verdict's.
 */
void
db_write_gated(struct db *db, const struct db_write_spec *w,
    void (*body)(void *arg), void *arg, struct db_write_outcome *out)
{
	struct db_gate	 gate;
	char		 ver[24], limit[16], window[16];
	const char	*p[5];

	outcome_reset(out);
	memset(&gate, 0, sizeof(gate));
	p[0] = w->user_id;
	if (w->budget) {
		snprintf(ver, sizeof(ver), "%lld", w->token_ver);
		snprintf(limit, sizeof(limit), "%d", w->limit);
		snprintf(window, sizeof(window), "%d", w->window_s);
		p[1] = ver;
		p[2] = limit;
		p[3] = window;
		p[4] = w->token_id != NULL ? w->token_id : "";
		gate.stmt = &st_budget_gate;
	} else {
		p[1] = w->token_id != NULL ? w->token_id : "";
		gate.stmt = &st_token_gate;
	}
	gate.params = p;
	db_retry_reset(db);
	db_gate_install(db, &gate);
	body(arg);
	db_gate_install(db, NULL);
	switch (gate.outcome) {
	case DB_GATE_PASSED:
		/* The budget's gate says how much is used; the token's not. */
		if (PQntuples(gate.res) == 1 && PQnfields(gate.res) == 3) {
			out->used = atoll(PQgetvalue(gate.res, 0, 0));
			out->reset_s = atoll(PQgetvalue(gate.res, 0, 1));
			out->window_us = atoll(PQgetvalue(gate.res, 0, 2));
		}
		break;
	case DB_GATE_REFUSED:
		if (strcmp(gate.sqlstate, "P0429") == 0) {
			out->verdict = DB_WRITE_OVER_BUDGET;
			out->used = w->limit + 1;
			out->reset_s = atoll(gate.detail);
		} else
			out->verdict = DB_WRITE_UNAUTHORIZED;
		break;
	case DB_GATE_UNUSED:
		break;
	}
	PQclear(gate.res);
}

/*
 * Give back the write a passed gate counted (out->used > 0), when the
 * handler refused the request after its first statement had run: one
 * statement, on the window the gate counted in (out->window_us) only.
 * out->used drops by one on success.
 */
enum db_status
db_write_refund(struct db *db, const struct db_write_spec *w,
    struct db_write_outcome *out)
{
	char		 us[24];
	const char	*p[2];
	PGresult	*res;
	enum db_status	 s;

	if (out->used <= 0)
		return DB_OK;
	snprintf(us, sizeof(us), "%lld", out->window_us);
	p[0] = w->user_id;
	p[1] = us;
	if ((s = db_exec(db, &st_budget_refund, p, &res)) != DB_OK)
		return s;
	PQclear(res);
	out->used--;
	return DB_OK;
}

/* Roll back a DB_WRITE_GO transaction: nothing of it is kept. */
void
db_write_abort(struct db *db)
{
	write_rollback(db);
}

/*
 * `mpapi purge`.  Each call deletes one batch of at most `batch` rows
 * in index order (no table scan) in its own transaction and reports
 * how many went; the caller loops until a batch comes back short.
 */
/*
 * The purge lock is transaction-scoped, so that it works through a
 * pooler in transaction mode and can never outlive its holder (a
 * session lock stays on whichever pooled server connection took it,
 * and every later purge would find "another purge is running"): each
 * batch holds it for its own transaction, and a purge that finds
 * another's batch holding it at its start stops there.  Two purges
 * started at the same moment see their batches run one at a time.
 */
static struct db_stmt st_purge_lock = DB_STMT("purge_lock",
    "SELECT pg_try_advisory_xact_lock(hashtextextended('mpapi purge', 0))",
    0);

static struct db_stmt st_purge_batch_lock = DB_STMT("purge_batch_lock",
    "SELECT pg_advisory_xact_lock(hashtextextended('mpapi purge', 0))", 0);

static struct db_stmt st_purge_keys = DB_STMT("purge_keys",
    "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY("
    "SELECT ctid FROM idempotency_keys "
    "WHERE created_at <= now() - make_interval(secs => $1::int) "
    "ORDER BY created_at LIMIT $2::int))", 2);

/*
 * Tombstones and sync marks (unlikes, access changes: migration 0011)
 * older than the retention go, a batch of each, and each owner's
 * sync_floor rises to the newest change number purged: a cursor from
 * before it could miss a deletion, so it is answered 410.  The count
 * is that of the larger batch, so the caller goes on while either
 * table has more.
 */
static struct db_stmt st_purge_tombstones = DB_STMT("purge_tombstones",
    "WITH gone_t AS (DELETE FROM tombstones WHERE ctid = ANY (ARRAY("
    "SELECT ctid FROM tombstones "
    "WHERE deleted_at <= now() - make_interval(days => $1::int) "
    "ORDER BY deleted_at LIMIT $2::int)) "
    "RETURNING user_id, change_seq), "
    "gone_m AS (DELETE FROM sync_marks WHERE ctid = ANY (ARRAY("
    "SELECT ctid FROM sync_marks "
    "WHERE at <= now() - make_interval(days => $1::int) "
    "ORDER BY at LIMIT $2::int)) "
    "RETURNING user_id, change_seq), "
    "gone AS (SELECT * FROM gone_t UNION ALL SELECT * FROM gone_m), "
    "floors AS (SELECT user_id, max(change_seq) AS seq FROM gone "
    "GROUP BY user_id), "
    "raised AS (UPDATE users u SET sync_floor = floors.seq FROM floors "
    "WHERE u.id = floors.user_id AND u.sync_floor < floors.seq "
    "RETURNING 1) "
    "SELECT greatest((SELECT count(*) FROM gone_t), "
    "(SELECT count(*) FROM gone_m)), (SELECT count(*) FROM raised)",
    2);

static struct db_stmt st_purge_marks = DB_STMT("purge_marks",
    "DELETE FROM play_marks WHERE ctid = ANY (ARRAY("
    "SELECT ctid FROM play_marks "
    "WHERE minute < now() - interval '10 minutes' "
    "ORDER BY minute LIMIT $1::int))", 1);

static struct db_stmt st_purge_budgets = DB_STMT("purge_budgets",
    "DELETE FROM write_budgets WHERE user_id IN ("
    "SELECT user_id FROM write_budgets "
    "WHERE window_start <= now() - make_interval(secs => $1::int) "
    "LIMIT $2::int FOR UPDATE SKIP LOCKED)", 2);

/*
 * Throttle rows that count nothing any more, and signed-out tokens
 * that have expired anyway.  No index on expires_at: this runs from
 * `mpapi purge`, never on a request, and the LIMIT stops the scan at
 * a batch.  ($1, the age, is unused: every row knows when it expires.)
 */
static struct db_stmt st_purge_logins = DB_STMT("purge_logins",
    "DELETE FROM auth_failures WHERE ctid = ANY (ARRAY("
    "SELECT ctid FROM auth_failures "
    "WHERE expires_at <= now() AND $1::int IS NOT NULL "
    "LIMIT $2::int))", 2);

static struct db_stmt st_purge_revoked = DB_STMT("purge_revoked",
    "DELETE FROM revoked_tokens WHERE ctid = ANY (ARRAY("
    "SELECT ctid FROM revoked_tokens "
    "WHERE expires_at <= now() AND $1::int IS NOT NULL "
    "LIMIT $2::int))", 2);

/*
 * Whether another purge is running a batch (take 1: *got 0 then), in a
 * statement's own transaction: nothing is held afterwards.  Release
 * (take 0) has nothing left to do.
 */
enum db_status
db_purge_lock(struct db *db, int take, int *got)
{
	PGresult	*res;
	enum db_status	 s;

	*got = 1;
	if (!take)
		return DB_OK;
	*got = 0;
	if ((s = db_exec(db, &st_purge_lock, NULL, &res)) != DB_OK)
		return s;
	*got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return DB_OK;
}

static enum db_status
purge_batch(struct db *db, struct db_stmt *st, const char *const *p,
    long long *deleted)
{
	PGresult	*res;
	enum db_status	 s;

	*deleted = 0;
	if ((s = db_exec(db, st, p, &res)) != DB_OK)
		return s;
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		*deleted = atoll(PQgetvalue(res, 0, 0));
	else
		*deleted = atoll(PQcmdTuples(res));
	PQclear(res);
	return DB_OK;
}

/*
 * One batch of each kind; which names the table.  *deleted is the
 * number of rows removed by this batch.
 */
static enum db_status
purge_one(struct db *db, enum db_purge_what which, int age, int batch,
    long long *deleted);

/* One batch in its own transaction, under the purge lock. */
enum db_status
db_purge(struct db *db, enum db_purge_what which, int age, int batch,
    long long *deleted)
{
	PGresult	*res;
	enum db_status	 s;

	*deleted = 0;
	if (db_exec_simple(db, "BEGIN") != DB_OK)
		return DB_UNAVAILABLE;
	if ((s = db_exec(db, &st_purge_batch_lock, NULL, &res)) != DB_OK) {
		db_rollback(db);
		return s;
	}
	PQclear(res);
	if ((s = purge_one(db, which, age, batch, deleted)) != DB_OK) {
		db_rollback(db);
		*deleted = 0;
		return s;
	}
	if (db_exec_simple(db, "COMMIT") != DB_OK) {
		*deleted = 0;
		return DB_UNAVAILABLE;
	}
	return DB_OK;
}

static enum db_status
purge_one(struct db *db, enum db_purge_what which, int age, int batch,
    long long *deleted)
{
	char		 a[16], b[16];
	const char	*p[2];

	snprintf(a, sizeof(a), "%d", age);
	snprintf(b, sizeof(b), "%d", batch);
	p[0] = a;
	p[1] = b;
	switch (which) {
	case DB_PURGE_KEYS:
		return purge_batch(db, &st_purge_keys, p, deleted);
	case DB_PURGE_TOMBSTONES:
		return purge_batch(db, &st_purge_tombstones, p, deleted);
	case DB_PURGE_PLAY_MARKS:
		p[0] = b;
		return purge_batch(db, &st_purge_marks, p, deleted);
	case DB_PURGE_BUDGETS:
		return purge_batch(db, &st_purge_budgets, p, deleted);
	case DB_PURGE_LOGIN_FAILURES:
		return purge_batch(db, &st_purge_logins, p, deleted);
	case DB_PURGE_REVOKED_TOKENS:
		return purge_batch(db, &st_purge_revoked, p, deleted);
	case DB_PURGE_LIVE_OUTBOX:
		return db_live_purge(db, age, batch, deleted);
	}
	*deleted = 0;
	return DB_ERROR;
}
