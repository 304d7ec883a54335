/*
 * What the dispatcher wraps around a handler, so that no handler has
 * to know about it.  A POST carrying an Idempotency-Key
 * (ROUTE_IDEMPOTENT) runs in a transaction: the handler's statements
 * run inside it and its answer is stored under the key before the
 * commit; a handler that hashes a password (ROUTE_HASHES) opens that
 * transaction itself, after hashing (write_enter).  Any other request
 * of a signed-in caller sends a gate with the handler's first
 * statement: the check that the token was not signed out, and for a
 * budgeted write (ROUTE_WRITE) the write budget.  See doc/API.md,
 * "Auth and users", "Safe retries, concurrent edits and sync" and
 * "Limits".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/handlers.h"

static void
reply_key_busy(struct ctx *c)
{
	http_set_header(c->resp, "Retry-After", "1");
	reply_problem(c, 409, "idempotency-key-in-use", "Request in progress",
	    "A request with this Idempotency-Key is still being processed; "
	    "retry shortly.");
}

static void
reply_key_mismatch(struct ctx *c)
{
	reply_problem(c, 422, "idempotency-key-reuse",
	    "Idempotency-Key reused", "This Idempotency-Key was already used "
	    "with a different request (method, path or body); use a new key.");
}

static void
reply_over_budget(struct ctx *c, long long reset_s)
{
	http_set_header(c->resp, "Retry-After", "%lld",
	    reset_s < 1 ? 1 : reset_s);
	reply_problem(c, 429, "rate-limited", "Too many requests",
	    "The write budget of this account is spent; retry after the "
	    "number of seconds in Retry-After.");
}

/* Replay a stored answer; 0 when done. */
static int
replay(struct ctx *c, const struct db_write_outcome *w)
{
	char	*body;
	size_t	 len;

	if ((body = idem_open(c->cfg, w->replay_body, &len)) == NULL) {
		log_msg("error", "stored answer of an Idempotency-Key does "
		    "not open");
		return -1;
	}
	if (idem_replay(c->resp, w->replay_status, w->replay_headers, body,
	    len) != 0) {
		free(body);
		log_msg("error", "stored headers of an Idempotency-Key are "
		    "malformed");
		return -1;
	}
	free(body);
	return 0;
}

/* Answer a verdict that stops the request before its handler. */
static void
answer_verdict(struct ctx *c, const struct db_write_outcome *w)
{
	switch (w->verdict) {
	case DB_WRITE_UNAUTHORIZED:
		reply_unauthorized(c, 1);
		break;
	case DB_WRITE_BUSY:
		reply_key_busy(c);
		break;
	case DB_WRITE_MISMATCH:
		reply_key_mismatch(c);
		break;
	case DB_WRITE_REPLAY:
		if (replay(c, w) != 0)
			reply_problem(c, 500, NULL, "Internal server error",
			    "An unexpected error occurred.");
		break;
	case DB_WRITE_OVER_BUDGET:
		reply_over_budget(c, w->reset_s);
		break;
	case DB_WRITE_GO:
		break;
	}
}

/*
 * Commit (storing the answer under the key when it is to be kept) or
 * roll back, after the handler answered.  Returns DB_OK, or the status
 * that ended the transaction without a commit (the answer is then
 * replaced by the caller).
 */
static enum db_status
finish(struct ctx *c, const struct db_write_spec *w,
    struct db_write_outcome *out)
{
	struct buf	 headers = BUF_INIT;
	char		*sealed = NULL;
	enum db_status	 s;
	int		 store;

	/* Only successes are stored: a refused request changed nothing. */
	store = c->resp->status < 400;
	if (store) {
		idem_headers_json(c->resp, &headers);
		sealed = idem_seal(c->cfg, c->resp->body.data,
		    c->resp->body.len);
	}
	s = db_write_commit(c->db, w, store, c->resp->status, headers.data,
	    sealed, out);
	if (s == DB_OK)
		c->commit_lsn = out->commit_lsn;
	buf_release(&headers);
	free(sealed);
	return s;
}

/*
 * The write of this request as db/ is to see it: the caller, the
 * budget (limit and window from the configuration) and, for a keyed
 * request, the key, the request's fingerprint and the key's retention.
 */
static struct db_write_spec
spec_of(const struct ctx *c, int budget, const char *key,
    const unsigned char *fingerprint)
{
	struct db_write_spec	 w;

	memset(&w, 0, sizeof(w));
	w.user_id = c->user.valid ? c->user.id : NULL;
	w.token_ver = c->user.ver;
	w.token_id = c->user.valid ? c->user.tid : NULL;
	w.budget = budget;
	w.limit = c->cfg->write_limit;
	w.window_s = c->cfg->write_window_s;
	w.key = key;
	w.fingerprint = fingerprint;
	w.ttl_s = c->cfg->idempotency_ttl_s;
	/* A write read back from a replica needs its commit's position. */
	w.want_lsn = db_has_replica(c->db) && c->req->method != HTTP_GET &&
	    c->req->method != HTTP_HEAD;
	return w;
}

/* The route's handler, as the body db_write_gated runs. */
static void
handler_body(void *arg)
{
	struct ctx	*c = arg;

	c->route->handler(c);
}

/*
 * A request of a signed-in caller without an Idempotency-Key: the
 * handler runs behind a gate on its first statement (db_write_gated),
 * so a one-statement request costs one round trip and a refused one
 * runs nothing.  The gate refuses a token signed out by POST
 * /api/auth/logout, and for a budgeted write (budget set) counts the
 * write against the caller's budget.  A 400 of the handler spends
 * nothing: refused before its first statement it counted nothing,
 * refused after (a PATCH whose result is invalid, a song naming a loop
 * it may not use) the count is given back.  A serialization failure or
 * deadlock reruns the handler once.
 */
static void
gated_run(struct ctx *c, int budget)
{
	struct db_write_spec	 w = spec_of(c, budget, NULL, NULL);
	struct db_write_outcome	 out;
	int			 attempt;

	db_write_outcome_init(&out);
	for (attempt = 0; attempt < 2; attempt++) {
		db_write_gated(c->db, &w, handler_body, c, &out);
		if (out.verdict != DB_WRITE_GO) {
			ctx_restart(c);
			answer_verdict(c, &out);
			break;
		}
		if (attempt == 0 && c->resp->written &&
		    c->resp->status == 503 && db_retry_seen(c->db) &&
		    ctx_restart(c) == 0)
			continue;
		break;
	}
	/*
	 * Refused by the handler (400) after its first statement passed
	 * the gate: the write is given back, so a refused write spends
	 * nothing (refused before, nothing was counted).
	 */
	if (budget && c->resp->written && c->resp->status == 400 &&
	    out.used > 0) {
		if (db_write_refund(c->db, &w, &out) == DB_OK)
			goto done;
		log_msg("warn", "write budget refund failed; the refused "
		    "write stays counted");
	}
	if (budget && out.used > 0)
		ratelimit_headers(c->resp, w.limit, out.used, out.reset_s);
done:
	db_write_outcome_release(&out);
}

/*
 * The keyed write of one request: its db_write, and whether its
 * transaction is open.  A handler of a ROUTE_HASHES route opens it
 * itself, after hashing (write_enter); every other keyed handler runs
 * inside it from the start.
 */
struct write_txn {
	struct db_write_spec	 w;
	struct db_write_outcome	 out;
	int			 late;		/* opened by the handler */
	int			 opened;	/* db_write_begin said go */
	int			 counted;	/* the budget was spent */
};

/* Open t's transaction; -1 once the answer (a verdict) is written. */
static int
txn_open(struct ctx *c, struct write_txn *t)
{
	enum db_status	 s;

	if ((s = db_write_begin(c->db, &t->w, &t->out)) != DB_OK) {
		reply_db_error(c, s);
		return -1;
	}
	if (t->out.verdict != DB_WRITE_GO) {
		answer_verdict(c, &t->out);
		t->counted = t->out.verdict == DB_WRITE_OVER_BUDGET;
		return -1;
	}
	t->opened = 1;
	return 0;
}

/*
 * Called by a handler that hashes a password (ROUTE_HASHES), once the
 * hashing is done and before its first statement that must be kept
 * with the Idempotency-Key's answer: opens the request's write
 * transaction when it has one (a key came), so that no transaction is
 * ever open while a password is hashed.  Returns 0 to go on (in the
 * transaction, or without one when there is no key), -1 when the
 * answer has been written (the key is in use or was used for another
 * request, the token was revoked meanwhile, the database failed): the
 * handler then writes nothing more.
 */
int
write_enter(struct ctx *c)
{
	struct write_txn	*t = c->txn;

	if (t == NULL || !t->late || t->opened)
		return 0;
	return txn_open(c, t);
}

/*
 * A POST with an Idempotency-Key: the answer is stored under the key
 * in the transaction of the write itself.  For a route whose handler
 * hashes a password the key is claimed first for the whole request
 * with no transaction open (db_write_claim), and the handler opens the
 * transaction after its hashing (write_enter).
 */
static void
keyed_run(struct ctx *c, const char *key, int budget)
{
	struct write_txn	 t;
	unsigned char		 fp[DB_FINGERPRINT_LEN];
	enum db_status		 s;
	int			 attempt;

	memset(&t, 0, sizeof(t));
	idem_fingerprint(c->cfg, http_method_name(c->req->method),
	    c->req->path, c->req->query, c->req->body, c->req->body_len, fp);
	t.w = spec_of(c, budget, key, fp);
	db_write_outcome_init(&t.out);
	t.late = (c->route->flags & ROUTE_HASHES) != 0;
	for (attempt = 0; attempt < 2; attempt++) {
		t.opened = 0;
		if (t.late && attempt == 0) {
			if ((s = db_write_claim(c->db, &t.w, &t.out)) !=
			    DB_OK) {
				reply_db_error(c, s);
				break;
			}
			if (t.out.verdict != DB_WRITE_GO) {
				answer_verdict(c, &t.out);
				break;
			}
		}
		if (!t.late && txn_open(c, &t) != 0)
			break;

		c->txn = &t;
		c->route->handler(c);
		c->txn = NULL;
		if (!t.opened)
			break;	/* answered before anything was to be kept */
		if (c->resp->written && c->resp->status == 400) {
			/* Refused: nothing is kept, the budget included. */
			db_write_abort(c->db);
			t.out.used = 0;
			break;
		}
		if (!c->resp->written || c->resp->status >= 500) {
			/* Nothing is kept: a retry runs again. */
			db_write_abort(c->db);
			if (c->resp->written && db_retry_seen(c->db) &&
			    attempt == 0 && ctx_restart(c) == 0)
				continue;
			break;
		}
		s = finish(c, &t.w, &t.out);
		if (s == DB_OK) {
			t.counted = 1;
			break;
		}
		if (s == DB_RETRY && attempt == 0 && ctx_restart(c) == 0)
			continue;
		ctx_restart(c);
		if (s == DB_UNIQUE)
			reply_key_busy(c);
		else
			reply_db_error(c, s);
		break;
	}
	if (budget && t.out.used > 0)
		ratelimit_headers(c->resp, t.w.limit,
		    t.counted ? t.out.used : t.out.used - 1, t.out.reset_s);
	db_write_outcome_release(&t.out);
}

/*
 * Run the route's handler: inside a write transaction when the route
 * needs one (see the top of this file), behind a gate on its first
 * statement for any other request of a signed-in caller.  Writes
 * exactly one response unless the handler wrote none (the dispatcher
 * answers 500 then).  A serialization failure or deadlock reruns the
 * handler once on a fresh transaction before the 503 stands.
 */
void
write_run(struct ctx *c)
{
	char		 key[IDEM_KEY_MAX + 1];
	const char	*h;
	int		 budget;

	budget = (c->route->flags & ROUTE_WRITE) && c->user.valid;
	h = (c->route->flags & ROUTE_IDEMPOTENT) ?
	    http_header(c->req, "Idempotency-Key") : NULL;
	if (h == NULL) {
		if (c->user.valid)
			gated_run(c, budget);
		else
			c->route->handler(c);
		return;
	}
	if (idem_key_parse(h, key, sizeof(key)) != 0) {
		reply_problem(c, 400, "invalid-idempotency-key",
		    "Invalid Idempotency-Key", "Idempotency-Key must be 1-255 "
		    "printable ASCII characters (optionally in double quotes).");
		return;
	}
	keyed_run(c, key, budget);
}
