/*
 * The write transaction around a handler, so that no handler has to
 * know about it: for a budgeted write of a signed-in caller
 * (ROUTE_WRITE) or a POST carrying an Idempotency-Key
 * (ROUTE_IDEMPOTENT), the dispatcher opens a transaction, the handler's
 * statements run inside it, and its answer is stored under the key in
 * the same transaction before the commit.  See doc/API.md, "Safe
 * retries, concurrent edits and sync" and "Limits".
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
replay(struct ctx *c, const struct db_write *w)
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
answer_verdict(struct ctx *c, const struct db_write *w)
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
 * Commit (storing the answer when it is to be kept) or roll back,
 * after the handler answered.  Returns DB_OK, or the status that
 * ended the transaction without a commit (the answer is then replaced
 * by the caller).
 */
static enum db_status
finish(struct ctx *c, struct db_write *w, int keyed)
{
	struct buf	 headers = BUF_INIT;
	char		*sealed = NULL;
	enum db_status	 s;
	int		 store;

	/* Only successes are stored: a refused request changed nothing. */
	store = keyed && c->resp->status < 400;
	if (store) {
		idem_headers_json(c->resp, &headers);
		sealed = idem_seal(c->cfg, c->resp->body.data,
		    c->resp->body.len);
	}
	s = db_write_commit(c->db, w, store, c->resp->status, headers.data,
	    sealed);
	buf_release(&headers);
	free(sealed);
	return s;
}

/*
 * A budgeted write without an Idempotency-Key: the budget rides as a
 * gate on the handler's first statement (see db_write_gate), so a
 * one-statement write costs one round trip, and a refused one runs
 * nothing.  A 400 of the handler spends nothing: refused before its
 * first statement it counted nothing, refused after (a PATCH whose
 * result is invalid, a song naming a loop it may not use) the count is
 * given back.  A serialization failure or deadlock reruns the handler
 * once.
 */
static void
gated_run(struct ctx *c)
{
	struct db_write	 w;
	int		 attempt;

	db_write_init(&w);
	w.user_id = c->user.id;
	w.token_ver = c->user.ver;
	w.budget = 1;
	w.limit = c->cfg->write_limit;
	w.window_s = c->cfg->write_window_s;
	for (attempt = 0; attempt < 2; attempt++) {
		db_write_gate(c->db, &w);
		c->route->handler(c);
		db_write_gate_result(c->db, &w);
		if (w.verdict != DB_WRITE_GO) {
			dispatch_restart(c);
			answer_verdict(c, &w);
			break;
		}
		if (attempt == 0 && c->resp->written &&
		    c->resp->status == 503 && db_retry_seen(c->db) &&
		    dispatch_restart(c) == 0)
			continue;
		break;
	}
	/* Refused by the handler after its first statement: give it back. */
	if (c->resp->written && c->resp->status == 400 && w.used > 0) {
		if (db_write_refund(c->db, &w) == DB_OK)
			return;
		log_msg("warn", "write budget refund failed; the refused "
		    "write stays counted");
	}
	if (w.used > 0)
		ratelimit_headers(c->resp, w.limit, w.used, w.reset_s);
}

/*
 * Run the route's handler; inside a write transaction when the route
 * needs one (see the top of this file).  Writes exactly one response
 * unless the handler wrote none (the dispatcher answers 500 then).
 * A serialization failure or deadlock reruns the handler once on a
 * fresh transaction before the 503 stands.
 */
void
write_run(struct ctx *c)
{
	struct db_write	 w;
	unsigned char	 fp[DB_FINGERPRINT_LEN];
	char		 key[IDEM_KEY_MAX + 1];
	const char	*h;
	enum db_status	 s;
	int		 budget, keyed, attempt, counted = 0;

	budget = (c->route->flags & ROUTE_WRITE) && c->user.valid;
	h = (c->route->flags & ROUTE_IDEMPOTENT) ?
	    http_header(c->req, "Idempotency-Key") : NULL;
	keyed = h != NULL;
	if (!budget && !keyed) {
		c->route->handler(c);
		return;
	}
	if (!keyed) {
		gated_run(c);
		return;
	}
	if (keyed && idem_key_parse(h, key, sizeof(key)) != 0) {
		reply_problem(c, 400, "invalid-idempotency-key",
		    "Invalid Idempotency-Key", "Idempotency-Key must be 1-255 "
		    "printable ASCII characters (optionally in double quotes).");
		return;
	}
	if (keyed)
		idem_fingerprint(c->cfg, http_method_name(c->req->method),
		    c->req->path, c->req->query, c->req->body,
		    c->req->body_len, fp);

	db_write_init(&w);
	for (attempt = 0; attempt < 2; attempt++) {
		db_write_release(&w);
		w.user_id = c->user.valid ? c->user.id : NULL;
		w.token_ver = c->user.ver;
		w.budget = budget;
		w.limit = c->cfg->write_limit;
		w.window_s = c->cfg->write_window_s;
		w.key = keyed ? key : NULL;
		w.fingerprint = fp;
		w.ttl_s = c->cfg->idempotency_ttl_s;
		if ((s = db_write_begin(c->db, &w)) != DB_OK) {
			reply_db_error(c, s);
			db_write_release(&w);
			return;
		}
		if (w.verdict != DB_WRITE_GO) {
			answer_verdict(c, &w);
			counted = w.verdict == DB_WRITE_OVER_BUDGET;
			break;
		}

		c->route->handler(c);
		if (c->resp->written && c->resp->status == 400) {
			/* Refused: nothing is kept, the budget included. */
			db_write_abort(c->db);
			db_write_release(&w);
			return;
		}
		if (!c->resp->written || c->resp->status >= 500) {
			/* Nothing is kept: a retry runs again. */
			db_write_abort(c->db);
			if (c->resp->written && db_retry_seen(c->db) &&
			    attempt == 0 && dispatch_restart(c) == 0)
				continue;
			break;
		}
		s = finish(c, &w, keyed);
		if (s == DB_OK) {
			counted = 1;
			break;
		}
		if (s == DB_RETRY && attempt == 0 && dispatch_restart(c) == 0)
			continue;
		dispatch_restart(c);
		if (s == DB_UNIQUE)
			reply_key_busy(c);
		else
			reply_db_error(c, s);
		break;
	}
	if (budget && w.used > 0)
		ratelimit_headers(c->resp, w.limit,
		    counted ? w.used : w.used - 1, w.reset_s);
	db_write_release(&w);
}
