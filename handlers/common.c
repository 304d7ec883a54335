#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "handlers/handlers.h"

#define JSON_MAX_DEPTH		16
#define JSON_MAX_DEPTH_TEXT	"16"

/* 1 if s is a UUID in canonical 8-4-4-4-12 hex form (either case). */
int
uuid_is_valid(const char *s)
{
	int	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return s[UUID_LEN] == '\0';
}

/* Answer status with {"<key>":<json>} (json is trusted JSON text). */
void
reply_json_wrapped(struct ctx *c, int status, const char *key,
    const char *json)
{
	struct buf	 b = BUF_INIT;

	buf_putc(&b, '{');
	buf_json_str(&b, key, strlen(key));
	buf_putc(&b, ':');
	buf_puts(&b, json);
	buf_putc(&b, '}');
	http_response_json(c->resp, status, b.data, b.len);
	buf_release(&b);
}

void
reply_problem(struct ctx *c, int status, const char *type, const char *error,
    const char *detail)
{
	http_problem(c->resp, status, type, error, detail, NULL);
}

/*
 * The HTTP status of a kind of database failure: the one place where
 * db/'s kinds become statuses.
 */
int
http_status_of_db(enum db_status s)
{
	switch (s) {
	case DB_OK:
		return 200;
	case DB_NOT_FOUND:
		return 404;
	case DB_UNIQUE:
	case DB_FOREIGN_KEY:
		return 409;
	case DB_INVALID:
		return 400;
	case DB_RETRY:
	case DB_UNAVAILABLE:
		return 503;
	case DB_REFUSED:
		return 429;
	case DB_ERROR:
		break;
	}
	return 500;
}

/*
 * Answer a failed database call.  The body never carries SQL or the
 * server's message; 503s carry Retry-After.
 */
void
reply_db_error(struct ctx *c, enum db_status s)
{
	int	 status;

	status = http_status_of_db(s);
	if (status == 503) {
		http_set_header(c->resp, "Retry-After", "%d", s == DB_RETRY ? 1 : 5);
		reply_problem(c, 503, "unavailable", "Service temporarily "
		    "unavailable", "The database is unavailable; retry later.");
	} else if (status == 500)
		reply_problem(c, 500, NULL, "Internal server error",
		    "An unexpected error occurred.");
	else
		reply_problem(c, status, NULL, http_reason(status),
		    db_status_name(s));
}

/*
 * 401 in the two forms the contract fixes: no token at all, or a token
 * that is bad, expired or of an account that no longer accepts it.
 */
void
reply_unauthorized(struct ctx *c, int token_was_sent)
{
	if (!token_was_sent) {
		http_set_header(c->resp, "WWW-Authenticate", "Bearer realm=\"api\"");
		reply_problem(c, 401, "unauthorized", "No token provided",
		    "This route needs Authorization: Bearer <token>.");
	} else {
		http_set_header(c->resp, "WWW-Authenticate",
		    "Bearer realm=\"api\", error=\"invalid_token\"");
		reply_problem(c, 401, "invalid-token", "Invalid or expired token",
		    "The bearer token is malformed, expired or revoked.");
	}
}

/*
 * The RFC 8259 check that json_parse_object runs before json-c.  Even
 * in its strict mode json-c takes single-quoted strings, NaN and
 * Infinity, and raw control characters inside strings, and it turns a
 * lone surrogate escape into U+FFFD and cuts a member name at \u0000;
 * this one pass over the bytes refuses all of them, so json-c only
 * ever sees JSON.  The recursion is bounded by JSON_MAX_DEPTH.  Bytes
 * from 0x80 up inside strings are left to json-c's UTF-8 check and to
 * the field validators (jv_utf8_is_valid), as before.
 */
struct jscan {
	const unsigned char	*s;
	size_t			 len;
	size_t			 pos;
	size_t			 members;	/* object members seen */
	char			*err;
	size_t			 errsz;
};

static int
scan_fail(struct jscan *js, const char *what)
{
	snprintf(js->err, js->errsz, "%s (at byte %zu)", what, js->pos);
	return -1;
}

static int
scan_peek(const struct jscan *js)
{
	return js->pos < js->len ? js->s[js->pos] : -1;
}

static void
scan_ws(struct jscan *js)
{
	int	 c;

	while ((c = scan_peek(js)) == ' ' || c == '\t' || c == '\n' ||
	    c == '\r')
		js->pos++;
}

static int
scan_hex4(struct jscan *js, unsigned *out)
{
	unsigned	 v = 0;
	int		 i, c;

	for (i = 0; i < 4; i++) {
		c = scan_peek(js);
		if (c >= '0' && c <= '9')
			v = v * 16 + (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (unsigned)(c - 'A' + 10);
		else
			return scan_fail(js, "\\u needs four hex digits");
		js->pos++;
	}
	*out = v;
	return 0;
}

/* A string; js->pos is at its opening quote. */
static int
scan_string(struct jscan *js, int is_name)
{
	unsigned	 cp, lo;
	int		 c;

	js->pos++;
	for (;;) {
		if ((c = scan_peek(js)) < 0)
			return scan_fail(js, "a string is not closed");
		if (c == '"') {
			js->pos++;
			return 0;
		}
		if (c < 0x20)
			return scan_fail(js, "a control character inside a "
			    "string must be escaped");
		js->pos++;
		if (c != '\\')
			continue;
		switch (scan_peek(js)) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			js->pos++;
			continue;
		case 'u':
			js->pos++;
			break;
		default:
			return scan_fail(js, "invalid escape in a string");
		}
		if (scan_hex4(js, &cp) != 0)
			return -1;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return scan_fail(js, "a low surrogate escape without "
			    "a high one before it");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (js->len - js->pos < 2 || js->s[js->pos] != '\\' ||
			    js->s[js->pos + 1] != 'u')
				return scan_fail(js, "a high surrogate escape "
				    "without a low one after it");
			js->pos += 2;
			if (scan_hex4(js, &lo) != 0)
				return -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				return scan_fail(js, "a high surrogate escape "
				    "without a low one after it");
		} else if (cp == 0 && is_name)
			return scan_fail(js, "a member name must not contain "
			    "U+0000");
	}
}

static int
scan_digits(struct jscan *js)
{
	size_t	 start = js->pos;
	int	 c;

	while ((c = scan_peek(js)) >= '0' && c <= '9')
		js->pos++;
	return js->pos > start ? 0 : -1;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
scan_number(struct jscan *js)
{
	int	 c;

	if (scan_peek(js) == '-')
		js->pos++;
	c = scan_peek(js);
	if (c == '0') {
		js->pos++;
		if ((c = scan_peek(js)) >= '0' && c <= '9')
			return scan_fail(js, "a number must not have a "
			    "leading zero");
	} else if (scan_digits(js) != 0)
		return scan_fail(js, c == 'I' || c == 'N' ? "NaN and "
		    "Infinity are not JSON numbers" : "a number needs digits");
	if (scan_peek(js) == '.') {
		js->pos++;
		if (scan_digits(js) != 0)
			return scan_fail(js, "a number needs digits after its "
			    "decimal point");
	}
	if ((c = scan_peek(js)) == 'e' || c == 'E') {
		js->pos++;
		if ((c = scan_peek(js)) == '+' || c == '-')
			js->pos++;
		if (scan_digits(js) != 0)
			return scan_fail(js, "an exponent needs digits");
	}
	return 0;
}

static int
scan_word(struct jscan *js, const char *w)
{
	size_t	 n = strlen(w);

	if (js->len - js->pos < n || memcmp(js->s + js->pos, w, n) != 0)
		return scan_fail(js, "not a JSON value");
	js->pos += n;
	return 0;
}

static int	scan_value(struct jscan *, int);

/* An object or an array at nesting level depth (the body's is 1). */
static int
scan_container(struct jscan *js, int depth)
{
	int	 obj, close, c;

	obj = js->s[js->pos] == '{';
	close = obj ? '}' : ']';
	if (depth > JSON_MAX_DEPTH)
		return scan_fail(js, "nesting deeper than "
		    JSON_MAX_DEPTH_TEXT " levels");
	js->pos++;
	scan_ws(js);
	if (scan_peek(js) == close) {
		js->pos++;
		return 0;
	}
	for (;;) {
		if (obj) {
			if ((c = scan_peek(js)) != '"')
				return scan_fail(js, c == '\'' ? "member names "
				    "need double quotes" : "a member name (a "
				    "string) is expected");
			if (scan_string(js, 1) != 0)
				return -1;
			js->members++;
			scan_ws(js);
			if (scan_peek(js) != ':')
				return scan_fail(js, "':' is expected after a "
				    "member name");
			js->pos++;
			scan_ws(js);
		}
		if (scan_value(js, depth) != 0)
			return -1;
		scan_ws(js);
		if ((c = scan_peek(js)) == close) {
			js->pos++;
			return 0;
		}
		if (c != ',')
			return scan_fail(js, obj ? "',' or '}' is expected" :
			    "',' or ']' is expected");
		js->pos++;
		scan_ws(js);
		if (scan_peek(js) == close)
			return scan_fail(js, "a comma before a closing "
			    "bracket");
	}
}

static int
scan_value(struct jscan *js, int depth)
{
	int	 c = scan_peek(js);

	switch (c) {
	case '{':
	case '[':
		return scan_container(js, depth + 1);
	case '"':
		return scan_string(js, 0);
	case 't':
		return scan_word(js, "true");
	case 'f':
		return scan_word(js, "false");
	case 'n':
		return scan_word(js, "null");
	case '\'':
		return scan_fail(js, "strings need double quotes");
	case 'N':
	case 'I':
		return scan_fail(js, "NaN and Infinity are not JSON numbers");
	case -1:
		return scan_fail(js, "a value is missing");
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return scan_number(js);
		return scan_fail(js, "not a JSON value");
	}
}

/*
 * 0 when s[0..len) is one JSON text by RFC 8259 (with the limits of
 * doc/API.md: no byte order mark, nesting at most JSON_MAX_DEPTH, no
 * lone surrogate escapes, no U+0000 in member names), counting the
 * object members in *members; -1 with a message in err.
 */
int
json_check_text(const char *s, size_t len, size_t *members, char *err,
    size_t errsz)
{
	struct jscan	 js;

	memset(&js, 0, sizeof(js));
	js.s = (const unsigned char *)s;
	js.len = len;
	js.err = err;
	js.errsz = errsz;
	*members = 0;
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		return scan_fail(&js, "a byte order mark is not allowed");
	scan_ws(&js);
	if (scan_value(&js, 0) != 0)
		return -1;
	scan_ws(&js);
	if (js.pos != len)
		return scan_fail(&js, "the body is not one JSON value: more "
		    "follows it");
	*members = js.members;
	return 0;
}

/* Members of every object in o, at any depth (at most JSON_MAX_DEPTH). */
static size_t
count_members(json_object *o)
{
	struct json_object_iterator it, end;
	size_t		 n = 0, i, len;

	if (json_object_is_type(o, json_type_array)) {
		len = json_object_array_length(o);
		for (i = 0; i < len; i++)
			n += count_members(json_object_array_get_idx(o, i));
	} else if (json_object_is_type(o, json_type_object)) {
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		for (; !json_object_iter_equal(&it, &end);
		    json_object_iter_next(&it))
			n += 1 + count_members(
			    json_object_iter_peek_value(&it));
	}
	return n;
}

/*
 * Parse len bytes of s as one JSON object: strict RFC 8259 syntax
 * (json_check_text), no member name twice in one object, nesting at
 * most JSON_MAX_DEPTH, nothing after it; valid UTF-8 as far as json-c
 * checks it (the validators check strings fully).  Returns 0 with *out
 * (caller puts), or -1 with a message in err.
 */
int
json_parse_object(const char *s, size_t len, json_object **out, char *err,
    size_t errsz)
{
	struct json_tokener	*tok;
	json_object		*o;
	enum json_tokener_error	 e;
	size_t			 members;

	*out = NULL;
	if (json_check_text(s, len, &members, err, errsz) != 0)
		return -1;
	if ((tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	/* Pass the NUL too, so a number at the very end terminates;
	 * the parse must then end exactly at len. */
	o = json_tokener_parse_ex(tok, s, (int)len + 1);
	e = json_tokener_get_error(tok);
	if (o == NULL || e != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		if (e == json_tokener_success || e == json_tokener_continue)
			snprintf(err, errsz, "the body is not one JSON value");
		else
			snprintf(err, errsz, "%s", json_tokener_error_desc(e));
		json_object_put(o);
		json_tokener_free(tok);
		return -1;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errsz, "the body must be a JSON object");
		json_object_put(o);
		return -1;
	}
	/* json-c keeps the last of two equal names: fewer members. */
	if (count_members(o) != members) {
		snprintf(err, errsz, "an object has the same member name "
		    "twice");
		json_object_put(o);
		return -1;
	}
	*out = o;
	return 0;
}

/* The headers every response carries. */
void
reply_base_headers(struct ctx *c)
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
ctx_restart(struct ctx *c)
{
	char	 err[160];

	http_response_reset(c->resp);
	reply_base_headers(c);
	if (c->body == NULL)
		return 0;
	json_object_put(c->body);
	c->body = NULL;
	return json_parse_object(c->req->body, c->req->body_len, &c->body,
	    err, sizeof(err));
}

/*
 * Answer a call on the caller's own account that has no body to give:
 * 204 on DB_OK, 401 on DB_NOT_FOUND (the token's account or version is
 * gone), the database failure's answer otherwise.
 */
void
reply_no_content(struct ctx *c, enum db_status s)
{
	if (s == DB_NOT_FOUND)
		reply_unauthorized(c, 1);
	else if (s != DB_OK)
		reply_db_error(c, s);
	else
		http_response_empty(c->resp, 204);
}
