#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handlers/handlers.h"

static void
reply_route_not_found(struct ctx *c)
{
	reply_problem(c, 404, "not-found", "Route not found",
	    "No route matches this path.");
}

/*
 * Read the bearer token if the route wants one.  Returns 0 to go on,
 * -1 when a 401 has been written.
 */
static int
authenticate(struct ctx *c)
{
	const char	*h, *tok;

	if ((c->route->flags & (ROUTE_AUTH | ROUTE_AUTH_OPTIONAL)) == 0)
		return 0;
	h = http_header(c->req, "Authorization");
	if (h == NULL || *h == '\0') {
		if (c->route->flags & ROUTE_AUTH) {
			reply_unauthorized(c, 0);
			return -1;
		}
		return 0;
	}
	c->user.present = 1;
	if (token_from_header(h, &tok) != 0 ||
	    token_verify(c->cfg, tok, c->now, &c->user) != 0) {
		reply_unauthorized(c, 1);
		return -1;
	}
	return 0;
}

/* Read and parse the body of a ROUTE_BODY route; -1 once answered. */
static int
read_body(struct ctx *c, http_reader rd, void *arg)
{
	char	 err[160];
	int	 status;

	status = http_request_read_body(c->req, rd, arg, c->cfg->body_limit);
	if (status == 413) {
		reply_problem(c, 413, "too-large", "Request body too large",
		    "The body exceeds the configured limit.");
		return -1;
	}
	if (status == 415) {
		reply_problem(c, 415, "unsupported-media-type",
		    "Unsupported Media Type", "Send Content-Type: "
		    "application/json.");
		return -1;
	}
	if (status != 0) {
		reply_problem(c, 400, "bad-request", "Malformed request",
		    "Content-Length does not match the body.");
		return -1;
	}
	if ((c->route->flags & ROUTE_BODY) == 0 || c->req->body == NULL)
		return 0;
	if (json_parse_object(c->req->body, c->req->body_len, &c->body, err,
	    sizeof(err)) != 0) {
		reply_problem(c, 400, "malformed-json", "Malformed JSON", err);
		return -1;
	}
	return 0;
}

/*
 * Choose the database handle of this request: a ROUTE_READ_REPLICA
 * route may be served by the replica (db_reader says), everything
 * else by the primary.  A malformed X-Read-After is a 400 on any
 * route, before anything is read or written.  Returns 0 to go on, -1
 * once answered.
 */
static int
pick_reader(struct ctx *c, struct db *primary)
{
	struct db_read_ask	 ask;
	const char		*h;

	memset(&ask, 0, sizeof(ask));
	if ((h = http_header(c->req, "X-Read-After")) != NULL) {
		if (read_after_parse(h, &ask.lsn) != 0) {
			reply_problem(c, 400, "bad-request",
			    "Malformed X-Read-After", "X-Read-After must be "
			    "a position as the service sent it (hex/hex).");
			return -1;
		}
		ask.has_lsn = 1;
	}
	if ((c->route->flags & ROUTE_READ_REPLICA) == 0)
		return 0;
	ask.anonymous = !c->user.present;
	ask.wait_ms = c->cfg->read_after_wait_ms;
	ask.max_lag_ms = c->cfg->read_max_lag_ms;
	c->db = db_reader(primary, &ask);
	return 0;
}

/*
 * After a write that succeeded, with a replica in use: the position a
 * read of it must wait for, in X-Read-After.  A keyed write's commit
 * read it in its own round trip (c->commit_lsn); any other write asks
 * the primary now, after its commit.
 */
static void
note_commit(struct ctx *c, struct db *primary)
{
	uint64_t	 lsn = c->commit_lsn;
	int		 st = c->resp->status;

	if (c->req->method == HTTP_GET || c->req->method == HTTP_HEAD ||
	    c->req->method == HTTP_OPTIONS || st < 200 || st > 299 ||
	    !db_has_replica(primary))
		return;
	if (lsn != 0 || db_commit_lsn(primary, &lsn) == 0)
		http_set_header(c->resp, "X-Read-After", "%X/%X",
		    (unsigned)(lsn >> 32), (unsigned)lsn);
}

/*
 * Serve one request: route, authenticate, then read the body, run the
 * handler (inside a write transaction when the route is a write; see
 * handlers/writes.c), and make sure exactly one response comes out.
 * Fills *out for the access log.
 */
void
app_handle(void *app, struct http_request *req, http_reader rd, void *rdarg,
    struct http_response *resp, struct http_note *out)
{
	const struct app *a = app;
	struct ctx	 c;
	struct buf	 allow = BUF_INIT;
	size_t		 idx;

	memset(&c, 0, sizeof(c));
	c.req = req;
	c.resp = resp;
	c.db = a->db;
	c.cfg = a->cfg;
	c.now = time(NULL);
	out->route = "-";
	out->user_id[0] = '\0';
	reply_base_headers(&c);
	resp->head_only = req->method == HTTP_HEAD;

	switch (route_match(app_routes, app_routes_count, app_route_pattern,
	    req->method, req->path, &idx, req->params, &req->nparams, &allow)) {
	case ROUTE_FOUND:
		break;
	case ROUTE_BAD_METHOD:
		http_set_header(resp, "Allow", "%s", allow.data);
		if (req->method == HTTP_OPTIONS)
			http_response_empty(resp, 204);
		else
			reply_problem(&c, 405, "method-not-allowed",
			    "Method not allowed", "See the Allow header.");
		goto done;
	default:
		reply_route_not_found(&c);
		goto done;
	}
	c.route = &app_routes[idx];
	out->route = c.route->pattern;
	/*
	 * The token first: a request that cannot name its caller gets its
	 * 401 before one byte of its body is read or parsed.
	 */
	if (authenticate(&c) != 0 || read_body(&c, rd, rdarg) != 0)
		goto done;
	if (c.user.valid)
		snprintf(out->user_id, sizeof(out->user_id), "%s", c.user.id);
	if (pick_reader(&c, a->db) != 0)
		goto done;
	write_run(&c);
	/*
	 * A read the replica failed (503: it went down under the read, or
	 * replay cancelled it) runs again on the primary, which is the
	 * answer's authority anyway.
	 */
	if (c.db != a->db && resp->written && resp->status == 503) {
		db_reader_failed(c.db);
		if (ctx_restart(&c) == 0) {
			c.db = a->db;
			write_run(&c);
		}
	}
	note_commit(&c, a->db);
	if (!resp->written) {
		log_msg("error", "handler for %s wrote no response",
		    c.route->pattern);
		http_response_reset(resp);
		reply_base_headers(&c);
		reply_problem(&c, 500, NULL, "Internal server error",
		    "An unexpected error occurred.");
	}
done:
	db_end_request(a->db);
	json_object_put(c.body);
	buf_release(&allow);
}

/*
 * Between requests: the replica counters this worker counted go to
 * PostgreSQL (at most once a second), where /metrics adds up every
 * worker's.
 */
void
app_idle(void *app)
{
	const struct app *a = app;

	db_counters_flush(a->db, 0);
}
