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
 * Answer a failed database call.  The body never carries SQL or the
 * server's message; 503s carry Retry-After.
 */
void
reply_db_error(struct ctx *c, enum db_status s)
{
	int	 status;

	status = db_status_http(s);
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
