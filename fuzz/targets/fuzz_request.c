/*
 * The request as the worker receives it from the web server: CGI
 * params (REQUEST_METHOD, REQUEST_URI, PATH_INFO, SCRIPT_NAME,
 * QUERY_STRING, CONTENT_LENGTH, CONTENT_TYPE, HTTP_* headers) and a
 * body, through what the dispatcher does with them before a handler:
 * http_request_init_at (method, route path, mount, query, request id),
 * route_match, the Authorization header (token_from_header,
 * token_verify), http_request_read_body and the JSON body parser, the
 * precondition, Idempotency-Key and Origin headers, the query
 * parameters every list reads (percent-decoding, limit, unknown names,
 * the live channels), and a problem answer's serialisation.
 *
 * Input: NAME=VALUE lines (LF), an empty line, then the body.
 */
#include "fuzzlib.h"
#include "handlers/live.h"
#include "handlers/model.h"

#define MAX_ENV	64

struct reader {
	const uint8_t	*p;
	size_t		 left;
	size_t		 step;
};

/* Short reads of 1..16 bytes, as a FastCGI stream may give them. */
static int
read_some(void *arg, char *buf, int n)
{
	struct reader	*r = arg;
	size_t		 k = r->left < (size_t)n ? r->left : (size_t)n;

	if (k > r->step)
		k = r->step;
	memcpy(buf, r->p, k);
	r->p += k;
	r->left -= k;
	return (int)k;
}

static const char *const list_names[] = {
	"limit", "sort", "public", "user", "offset", "cursor", "bars", "q",
	NULL
};

static void
check_response(struct http_response *resp)
{
	struct buf	 out = BUF_INIT;
	size_t		 i, members;
	char		 err[160];

	FUZZ_CHECK(json_check_text(resp->body.data, resp->body.len, &members,
	    err, sizeof(err)) == 0, "problem body: %s", err);
	for (i = 0; i < resp->nheaders; i++)
		FUZZ_CHECK(strpbrk(resp->headers[i].value, "\r\n") == NULL,
		    "header %s breaks the line", resp->headers[i].name);
	http_response_serialize(resp, &out);
	buf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct config	*cfg = fuzz_config();
	struct http_request	 req;
	struct http_response	 resp;
	struct buf		 allow = BUF_INIT;
	struct field_errors	 fe;
	struct live_request	*lr;
	struct auth_user	 u;
	struct reader		 rd;
	json_object		*body = NULL;
	char			*envp[MAX_ENV + 1], *text, *line, *end, *v;
	char			 err[160], key[IDEM_KEY_MAX + 1];
	const char		*h, *tok;
	long long		*vs;
	size_t			 nenv = 0, idx, nv, hlen;
	int			 any, status, limit;

	if (size > 64 * 1024)
		return 0;
	text = fuzz_str(data, size);
	/* The params: lines up to the first empty one. */
	for (line = text; nenv < MAX_ENV && line < text + size; line = end + 1) {
		if ((end = memchr(line, '\n', (size_t)(text + size - line)))
		    == NULL)
			end = text + size;
		if (end == line) {
			line = end + 1;
			break;
		}
		*end = '\0';
		if (strchr(line, '=') != NULL)
			envp[nenv++] = line;
	}
	envp[nenv] = NULL;
	if (line > text + size)
		line = text + size;
	rd.p = (const uint8_t *)line;
	rd.left = (size_t)(text + size - line);
	rd.step = 1 + (size % 16);

	http_request_init_at(&req, envp, size % 2 ? "/app" : NULL);
	FUZZ_CHECK(req.path != NULL && req.mount != NULL && req.query != NULL,
	    "a part left NULL");
	FUZZ_CHECK(http_request_id_is_sane(req.request_id), "request id %s",
	    req.request_id);
	http_response_init(&resp);

	/* The route, as app_handle finds it. */
	if (FUZZ_ROUTE_MATCH(req.method, req.path, &idx, req.params,
	    &req.nparams, &allow) == ROUTE_FOUND)
		FUZZ_CHECK(req.nparams <= HTTP_MAX_PARAMS, "params");
	buf_release(&allow);

	/* The token. */
	h = http_header(&req, "Authorization");
	if (h != NULL && token_from_header(h, &tok) == 0) {
		memset(&u, 0, sizeof(u));
		FUZZ_CHECK(token_verify(cfg, tok, 1780000000, &u) != 0,
		    "an unsigned token verified");
	}

	/* The body, then the JSON parser. */
	status = http_request_read_body(&req, read_some, &rd, 4096);
	FUZZ_CHECK(status == 0 || status == 400 || status == 413 ||
	    status == 415, "read_body %d", status);
	if (status != 0)
		FUZZ_CHECK(req.body == NULL, "a body kept after %d", status);
	if (req.body != NULL) {
		FUZZ_CHECK(req.body_len <= 4096 && req.body[req.body_len] ==
		    '\0', "body of %zu", req.body_len);
		if (json_parse_object(req.body, req.body_len, &body, err,
		    sizeof(err)) == 0)
			json_object_put(body);
	}

	/* Preconditions and retries. */
	if ((h = http_header(&req, "If-Match")) != NULL &&
	    fuzz_etag_list(h, &vs, &nv, &any) == 0)
		free(vs);
	(void)etag_none_match(http_header(&req, "If-None-Match"), 3);
	if ((h = http_header(&req, "Idempotency-Key")) != NULL &&
	    idem_key_parse(h, key, sizeof(key)) == 0) {
		hlen = strlen(key);
		FUZZ_CHECK(hlen >= 1 && hlen <= IDEM_KEY_MAX, "key of %zu",
		    hlen);
	}
	(void)http_content_type_is_json(http_param(envp, "CONTENT_TYPE"), 1);

	/* CORS: an allowed origin is one of the configured ones (scheme
	 * and host compared ignoring case, RFC 6454). */
	h = http_header(&req, "Origin");
	if (cors_origin_allowed(cfg->cors_origins, h))
		FUZZ_CHECK(strcasestr(cfg->cors_origins, h) != NULL,
		    "origin %s allowed", h);
	cors_apply(&resp, cfg->cors_origins, h, req.method == HTTP_OPTIONS);

	/* The query, as the lists and the live check read it. */
	if (http_query_get(req.query, "cursor", &v) == 1) {
		struct page_cursor pc;

		FUZZ_CHECK(strlen(v) <= strlen(req.query), "decoded longer");
		FUZZ_CHECK(cursor_decode(cfg, "loops:new", v, &pc) != 0,
		    "forged cursor");
		free(v);
	}
	if (http_query_get(req.query, "user", &v) == 1)
		free(v);
	if (page_limit(req.query, 20, 100, &limit) == 0)
		FUZZ_CHECK(limit >= 1 && limit <= 100, "limit %d", limit);
	field_errors_init(&fe);
	(void)query_check_names(req.query, list_names, NULL, &fe);
	lr = malloc(sizeof(*lr));
	(void)live_request_parse(req.query, lr, &fe);
	free(lr);
	if (fe.count > 0) {
		field_errors_problem(&fe, &resp, "Invalid query");
		check_response(&resp);
	}
	field_errors_release(&fe);
	if (http_percent_decode(req.path, strlen(req.path), &v) == 0) {
		FUZZ_CHECK(strlen(v) <= strlen(req.path), "decoded longer");
		free(v);
	}

	/* An answer naming the mount and the path's Location. */
	http_response_reset(&resp);
	http_set_header(&resp, "Location", "%s", req.path);
	http_response_mount(&resp, req.mount);
	http_problem(&resp, 404, "not-found", "Route not found", req.path,
	    NULL);
	check_response(&resp);

	http_response_release(&resp);
	http_request_release(&req);
	free(text);
	return 0;
}
