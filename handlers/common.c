#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "handlers/handlers.h"


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

/*
 * Parse an X-Read-After value, a PostgreSQL LSN as the service sends
 * it: 1-8 hex digits, "/", 1-8 hex digits, nothing else.  Returns 0
 * with *lsn set, or -1.
 */
int
read_after_parse(const char *s, uint64_t *lsn)
{
	uint64_t	 part[2] = { 0, 0 };
	int		 i, n;

	for (i = 0; i < 2; i++) {
		for (n = 0; n < 9; n++, s++) {
			int	 d;

			if (*s >= '0' && *s <= '9')
				d = *s - '0';
			else if (*s >= 'A' && *s <= 'F')
				d = *s - 'A' + 10;
			else if (*s >= 'a' && *s <= 'f')
				d = *s - 'a' + 10;
			else
				break;
			part[i] = part[i] << 4 | (uint64_t)d;
		}
		if (n == 0 || n > 8)
			return -1;
		if (i == 0 && *s++ != '/')
			return -1;
	}
	if (*s != '\0')
		return -1;
	*lsn = part[0] << 32 | part[1];
	return 0;
}
