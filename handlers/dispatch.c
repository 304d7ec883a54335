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

/* The headers every response carries. */
static void
base_headers(struct ctx *c)
{
	http_set_header(c->resp, "X-Request-Id", "%s", c->req->request_id);
	http_set_header(c->resp, "X-Content-Type-Options", "nosniff");
	http_set_header(c->resp, "Cache-Control", "no-store");
}

/*
 * Forget the handler's answer and give it back its parsed body as it
 * came (the handler may have changed it), so that it can run again
 * (handlers/writes.c reruns a handler after a serialization failure).
 * Returns 0, or -1 when the body cannot be parsed again.
 */
int
dispatch_restart(struct ctx *c)
{
	char	 err[160];

	http_response_reset(c->resp);
	base_headers(c);
	if (c->body == NULL)
		return 0;
	json_object_put(c->body);
	c->body = NULL;
	return json_parse_object(c->req->body, c->req->body_len, &c->body,
	    err, sizeof(err));
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
	base_headers(&c);
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
	write_run(&c);
	if (!resp->written) {
		log_msg("error", "handler for %s wrote no response",
		    c.route->pattern);
		http_response_reset(resp);
		base_headers(&c);
		reply_problem(&c, 500, NULL, "Internal server error",
		    "An unexpected error occurred.");
	}
done:
	db_end_request(a->db);
	json_object_put(c.body);
	buf_release(&allow);
}
