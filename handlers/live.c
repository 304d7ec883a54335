/*
 * The subscription check of GET /api/live.  nginx's nchan module holds
 * the subscribers; before it subscribes one (once per EventSource or
 * WebSocket connection, never per message) it sends this route the
 * request's query and Authorization (nginx turns an access_token query
 * parameter into that header: EventSource cannot send headers) as a
 * subrequest to its internal location, marked with the FastCGI param
 * MP_LIVE_AUTHORIZE.  A 2xx lets the subscription go on; anything else
 * is forwarded to the subscriber as it is.
 *
 * The channel list is checked here exactly as nchan will use it: nchan
 * splits the raw $arg_channels on commas and does not percent-decode,
 * so an encoded list is refused rather than decoded (it would subscribe
 * to channels nobody publishes on).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "handlers/handlers.h"
#include "handlers/live.h"

static const char *const live_kind_prefix[LIVE__MAX] = {
	[LIVE_LOOP] = "loop:",
	[LIVE_SONG] = "song:",
	[LIVE_USER] = "user:",
};

/* The query parameters of GET /api/live (nchan reads last_event_id). */
static const char *const live_params[] = {
	"channels", "access_token", "last_event_id", NULL
};

/* 1 if s[0..n) is a UUID in lower case. */
static int
uuid_lower(const char *s, size_t n)
{
	char	 id[UUID_LEN + 1];
	size_t	 i;

	if (n != UUID_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (isupper((unsigned char)s[i]))
			return 0;
	memcpy(id, s, n);
	id[n] = '\0';
	return uuid_is_valid(id);
}

/* Parse one channel s[0..n) into ch; 0, or -1 when it is no channel. */
static int
channel_parse(const char *s, size_t n, struct live_channel *ch)
{
	size_t	 plen;
	int	 k;

	for (k = 0; k < LIVE__MAX; k++) {
		plen = strlen(live_kind_prefix[k]);
		if (n > plen && strncmp(s, live_kind_prefix[k], plen) == 0 &&
		    uuid_lower(s + plen, n - plen)) {
			ch->kind = (enum live_kind)k;
			memcpy(ch->id, s + plen, UUID_LEN);
			ch->id[UUID_LEN] = '\0';
			return 0;
		}
	}
	return -1;
}

/* A parameter name as an error may show it: printable and short. */
static void
name_shown(const char *p, size_t n, char *out, size_t outsz)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '_' &&
		    p[i] != '-' && p[i] != '.')
			break;
	if (i < n || n == 0 || n > 40)
		snprintf(out, outsz, "query");
	else
		snprintf(out, outsz, "%.*s", (int)n, p);
}

/* Check the channels value v[0..n) into lr, errors into fe. */
static void
channels_parse(const char *v, size_t n, struct live_request *lr,
    struct field_errors *fe)
{
	struct live_channel	 ch;
	const char		*p = v, *end = v + n, *comma;
	size_t			 len, i, idx = 0;

	if (n == 0) {
		field_errors_add(fe, "channels", "is required: a comma-separated "
		    "list of loop:<id>, song:<id> and user:<id>");
		return;
	}
	if (memchr(v, '%', n) != NULL) {
		field_errors_add(fe, "channels", "must not be percent-encoded: "
		    "write the colons and commas as they are");
		return;
	}
	for (; p <= end; p = comma + 1, idx++) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		len = (size_t)(comma - p);
		if (lr->n == LIVE_MAX_CHANNELS) {
			field_errors_add(fe, "channels", "names more than "
			    "100 channels");
			return;
		}
		if (channel_parse(p, len, &ch) != 0) {
			field_errors_addf(fe, "must be loop:<id>, song:<id> or "
			    "user:<id>, the id a UUID in lower case",
			    "channels[%zu]", idx);
			continue;
		}
		for (i = 0; i < lr->n; i++)
			if (lr->channels[i].kind == ch.kind &&
			    strcmp(lr->channels[i].id, ch.id) == 0)
				break;
		if (i < lr->n) {
			field_errors_addf(fe, "names a channel given before",
			    "channels[%zu]", idx);
			continue;
		}
		lr->channels[lr->n++] = ch;
	}
}

/*
 * Check the raw query of GET /api/live: exactly one channels parameter
 * naming 1 to LIVE_MAX_CHANNELS distinct channels, and no parameter
 * that is not the route's (names compared as nginx does, ignoring
 * case).  Fills lr; returns 0, or -1 with every fault added to fe.
 */
int
live_request_parse(const char *query, struct live_request *lr,
    struct field_errors *fe)
{
	const char	*p, *amp, *eq, *val = NULL;
	char		 shown[48];
	size_t		 klen, vlen = 0, i, n;
	int		 seen = 0;

	memset(lr, 0, sizeof(*lr));
	n = fe->count;
	for (p = query; p != NULL && *p != '\0'; p = amp ? amp + 1 : NULL) {
		amp = strchr(p, '&');
		klen = amp ? (size_t)(amp - p) : strlen(p);
		if (klen == 0)
			continue;
		eq = memchr(p, '=', klen);
		if (eq != NULL)
			klen = (size_t)(eq - p);
		for (i = 0; live_params[i] != NULL; i++)
			if (strlen(live_params[i]) == klen &&
			    strncasecmp(p, live_params[i], klen) == 0)
				break;
		if (live_params[i] == NULL) {
			name_shown(p, klen, shown, sizeof(shown));
			field_errors_add(fe, shown, "is not a parameter of "
			    "this route");
			continue;
		}
		if (i != 0)
			continue;
		if (seen++) {
			field_errors_add(fe, "channels", "must be given once");
			continue;
		}
		val = eq != NULL ? eq + 1 : "";
		vlen = eq == NULL ? 0 : amp ? (size_t)(amp - val) : strlen(val);
	}
	if (!seen)
		field_errors_add(fe, "channels", "is required: a comma-separated "
		    "list of loop:<id>, song:<id> and user:<id>");
	else if (seen == 1)
		channels_parse(val, vlen, lr, fe);
	return fe->count > n ? -1 : 0;
}

/*
 * GET /api/live/auth (nginx's subrequest, see the top of this file):
 * 204 when the subscription may go on; 400 for a channel list nchan
 * must not subscribe to; 401 when a user channel is asked for without
 * a token, or with one its account no longer accepts (the signed-out
 * ones too: the dispatcher's gate rides on the check); 403 for another
 * user's channel.  Public channels need no token; a token that comes
 * is checked all the same.  Asked for by anything but nginx's
 * subrequest it answers 404, like an unknown route.
 */
void
live_authorize(struct ctx *c)
{
	struct live_request	 lr;
	struct field_errors	 fe;
	const char		*mark;
	enum db_status		 s;
	size_t			 i;
	int			 ok;

	mark = http_param(c->req->envp, "MP_LIVE_AUTHORIZE");
	if (mark == NULL || strcmp(mark, "1") != 0) {
		reply_problem(c, 404, "not-found", "Route not found",
		    "No route matches this path.");
		return;
	}
	field_errors_init(&fe);
	if (live_request_parse(c->req->query, &lr, &fe) != 0) {
		field_errors_problem(&fe, c->resp, "Invalid query parameter");
		goto out;
	}
	/*
	 * The token first: a deleted account's or a revoked token is 401
	 * whatever channel it asks for (the contract), never a 403.
	 */
	if (c->user.valid) {
		s = db_live_subscriber(c->db, c->user.id, c->user.ver, &ok);
		if (s != DB_OK) {
			reply_db_error(c, s);
			goto out;
		}
		if (!ok) {
			reply_unauthorized(c, 1);
			goto out;
		}
	}
	for (i = 0; i < lr.n; i++) {
		if (lr.channels[i].kind != LIVE_USER)
			continue;
		if (!c->user.valid) {
			reply_unauthorized(c, c->user.present);
			goto out;
		}
		if (strcasecmp(lr.channels[i].id, c->user.id) != 0) {
			reply_problem(c, 403, "forbidden", "Forbidden",
			    "A user channel is open to its own user only.");
			goto out;
		}
	}
	http_response_empty(c->resp, 204);
out:
	field_errors_release(&fe);
}
