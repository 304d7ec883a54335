/*
 * Integration: live updates through nginx.  Subscribers are real
 * Server-Sent Events (and one WebSocket) clients of GET /api/live
 * (t/itsse.c); writes go through the API; `mpapi relay` publishes to
 * nchan.  Nothing here is timed: a message that must come is waited
 * for up to a generous bound and checked for its content; a message
 * that must not come is shown absent by a later message that must
 * come (the relay publishes in queue order), and by a quiet while.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itlib.h"
#include "t/itfixture.h"
#include "t/itsse.h"

#define WAIT_MS		15000	/* what must come, comes within this */
#define QUIET_MS	1500	/* what must not come: looked for this long */

/*
 * A request as w (NULL: anonymous), sent again while it gets no answer
 * or a 5xx (the stack is being restarted), for at most a minute; POSTs
 * carry one Idempotency-Key for all tries.  Returns the last status.
 */
static int
call(const struct itfx_user *w, const char *method, const char *path,
    const char *body, struct it_resp *out)
{
	struct it_resp	 r;
	char		 key[80];
	const char	*h[3] = { NULL, NULL, NULL };
	int		 n = 0, i, status;

	if (w != NULL)
		h[n++] = w->auth;
	if (strcmp(method, "POST") == 0) {
		it_unique(key, sizeof(key), "Idempotency-Key: live-");
		h[n++] = key;
	}
	for (i = 0; i < 600; i++) {
		if (it_request(method, path, h, body, &r) == 0 &&
		    r.status < 500)
			break;
		if (r.status != 0)
			it_resp_free(&r);
		memset(&r, 0, sizeof(r));
		usleep(100 * 1000);
	}
	status = r.status;
	if (out != NULL)
		*out = r;
	else
		it_resp_free(&r);
	return status;
}

/* A loop of w; its id into id. */
static void
new_loop(const struct itfx_user *w, int public, char *id, size_t sz)
{
	struct it_resp	 r;
	char		 body[160];

	snprintf(body, sizeof(body), "{\"name\":\"live\",\"bars\":1,"
	    "\"isPublic\":%s}", public ? "true" : "false");
	cr_assert_eq(call(w, "POST", "/api/loops", body, &r), 201, "%s",
	    r.body);
	snprintf(id, sz, "%s", it_str(r.json, "loop.id"));
	it_resp_free(&r);
}

static void
new_song(const struct itfx_user *w, int public, const char *loop, char *id,
    size_t sz)
{
	struct it_resp	 r;
	char		 body[320];

	snprintf(body, sizeof(body), "{\"name\":\"live song\",\"bpm\":100,"
	    "\"isPublic\":%s,\"timeline\":[{\"id\":\"b1\",\"loopId\":\"%s\","
	    "\"startBar\":0,\"bars\":1}]}", public ? "true" : "false", loop);
	cr_assert_eq(call(w, "POST", "/api/songs", body, &r), 201, "%s",
	    r.body);
	snprintf(id, sz, "%s", it_str(r.json, "song.id"));
	it_resp_free(&r);
}

/* kind "loops" or "songs"; verb "PUT" (like) or "DELETE" (unlike). */
static void
like(const struct itfx_user *w, const char *kind, const char *id, const char *verb)
{
	struct it_resp	 r;
	char		 path[160];

	snprintf(path, sizeof(path), "/api/%s/%s/like", kind, id);
	cr_assert_eq(call(w, verb, path, NULL, &r), 200, "%s %s: %d %s", verb,
	    path, r.status, r.body);
	it_resp_free(&r);
}

static void
patch(const struct itfx_user *w, const char *kind, const char *id,
    const char *body, int want)
{
	struct it_resp	 r;
	char		 path[160];

	snprintf(path, sizeof(path), "/api/%s/%s", kind, id);
	cr_assert_eq(call(w, "PATCH", path, body, &r), want, "%s", r.body);
	it_resp_free(&r);
}

/*
 * Subscribe to channels (comma-separated) as w (NULL: anonymous,
 * token: the Authorization header), resuming after last_id if given;
 * asserts 200 and waits until nchan says it subscribed (its ": hi").
 */
static void
subscribe(struct it_sse *s, const char *channels, const struct itfx_user *w,
    const char *last_id)
{
	struct buf	 target = BUF_INIT, resume = BUF_INIT;
	const char	*h[3] = { NULL, NULL, NULL };
	int		 n = 0;

	buf_printf(&target, "/api/live?channels=%s", channels);
	if (w != NULL)
		h[n++] = w->auth;
	if (last_id != NULL) {
		buf_printf(&resume, "Last-Event-ID: %s", last_id);
		h[n++] = resume.data;
	}
	cr_assert_eq(it_sse_open(s, target.data, h), 0, "no answer");
	cr_assert_eq(s->head.status, 200, "%s: %d %s", target.data,
	    s->head.status, s->head.body);
	cr_assert(strncmp(it_header(&s->head, "content-type"),
	    "text/event-stream", 17) == 0);
	cr_assert(it_sse_hello(s, WAIT_MS), "nchan never said it subscribed");
	buf_release(&target);
	buf_release(&resume);
}

/* The integer member k of o, or -1. */
static long long
num(json_object *o, const char *k)
{
	json_object	*v;

	return json_object_object_get_ex(o, k, &v) ?
	    json_object_get_int64(v) : -1;
}

static const char *
str(json_object *o, const char *k)
{
	json_object	*v;

	return json_object_object_get_ex(o, k, &v) ?
	    json_object_get_string(v) : "";
}

/*
 * Wait up to timeout_ms for an event named ev about item (NULL: any)
 * whose member key is want (key NULL: any).  Returns its data (the
 * caller puts it) or NULL; every other event seen on the way is
 * counted in *others (if not NULL) and described in why.
 */
static json_object *
wait_for(struct it_sse *s, const char *ev, const char *item, const char *key,
    long long want, int timeout_ms, int *others, char *why, size_t whysz)
{
	struct it_sse_event	 e;
	json_object		*o;
	long long		 deadline = it_mono_ms() + timeout_ms, left;

	while ((left = deadline - it_mono_ms()) > 0) {
		if (it_sse_next(s, (int)left, &e) != 1)
			return NULL;
		if (strcmp(e.event, "ping") == 0 && strcmp(ev, "ping") != 0) {
			it_sse_event_release(&e);	/* nchan's, every 30 s */
			continue;
		}
		if (e.json != NULL && strcmp(e.event, ev) == 0 &&
		    strcmp(str(e.json, "event"), ev) == 0 &&
		    (item == NULL || strcmp(str(e.json, "id"), item) == 0) &&
		    (key == NULL || num(e.json, key) == want)) {
			o = json_object_get(e.json);
			it_sse_event_release(&e);
			return o;
		}
		if (others != NULL)
			(*others)++;
		if (why != NULL && whysz > 0 && why[0] == '\0')
			snprintf(why, whysz, "%s %s", e.event, e.data);
		it_sse_event_release(&e);
	}
	return NULL;
}

/* How many events arrive within ms; the first described in why. */
static int
events_within(struct it_sse *s, int ms, char *why, size_t whysz)
{
	int	 n = 0;

	(void)wait_for(s, "-", NULL, NULL, 0, ms, &n, why, whysz);
	return n;
}

/*
 * A relay this test stopped (SIGSTOP) is let go again even when an
 * assertion ends the test first (the fini below), so the tests after
 * it find a relay that publishes.
 */
static pid_t	 held_relay;

static void
hold(pid_t relay)
{
	held_relay = relay;
	cr_assert_eq(kill(relay, SIGSTOP), 0);
}

static void
release(void)
{
	if (held_relay > 0)
		(void)kill(held_relay, SIGCONT);
	held_relay = 0;
}

/* The working relay's pid (the child of its supervisor). */
static pid_t
relay_pid(void)
{
	char	*out;
	pid_t	 pid;

	out = it_ctl_output("relay-pid");
	pid = out != NULL ? (pid_t)atol(out) : 0;
	free(out);
	return pid;
}

/* A metric's value from /metrics (first line that starts with name). */
static double
metric(const char *name)
{
	struct it_resp	 r;
	const char	*p;
	double		 v = -1;

	cr_assert_eq(call(NULL, "GET", "/metrics", NULL, &r), 200);
	for (p = r.body; p != NULL && *p != '\0'; p = strchr(p, '\n') ?
	    strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, strlen(name)) == 0 &&
		    p[strlen(name)] == ' ') {
			v = atof(p + strlen(name) + 1);
			break;
		}
	it_resp_free(&r);
	return v;
}

/*
 * Wait (at most 30 s) until metric name is at least want: the relay
 * records its counters when it commits a batch, just after publishing
 * it.  Returns the last value read.
 */
static double
metric_at_least(const char *name, double want)
{
	double	 v;
	int	 i;

	for (i = 0; i < 300; i++) {
		if ((v = metric(name)) >= want)
			return v;
		usleep(100 * 1000);
	}
	return v;
}

Test(live, a_subscriber_hears_another_users_like_with_the_new_count,
    .timeout = 120)
{
	struct itfx_user	 owner, fan, fan2;
	struct it_sse	 anon, mine;
	json_object	*o;
	char		 loop[64], pubchan[128], chan[128], why[512] = "";
	long long	 t0;

	itfx_db_user(&owner);
	itfx_db_user(&fan);
	itfx_db_user(&fan2);
	new_loop(&owner, 1, loop, sizeof(loop));
	snprintf(pubchan, sizeof(pubchan), "loop:%s", loop);
	subscribe(&anon, pubchan, NULL, NULL);
	snprintf(chan, sizeof(chan), "user:%s", owner.id);
	subscribe(&mine, chan, &owner, NULL);

	t0 = it_mono_ms();
	like(&fan, "loops", loop, "PUT");
	o = wait_for(&anon, "counters", loop, "likesCount", 1, WAIT_MS, NULL,
	    why, sizeof(why));
	cr_assert_not_null(o, "no counters with likesCount 1 (saw: %s)", why);
	cr_log_info("the like reached the subscriber %lld ms after it was "
	    "sent", it_mono_ms() - t0);
	cr_assert_str_eq(str(o, "channel"), pubchan);
	cr_assert_str_eq(str(o, "type"), "loop");
	cr_assert_eq(num(o, "version"), 1);
	cr_assert_eq(num(o, "playsCount"), 0);
	cr_assert_eq(num(o, "remixesCount"), 0);
	cr_assert_gt(num(o, "seq"), 0);
	cr_assert_eq(strlen(str(o, "at")), 24);
	json_object_put(o);

	/* The owner hears of it on their own channel. */
	why[0] = '\0';
	o = wait_for(&mine, "like", loop, "likesCount", 1, WAIT_MS, NULL, why,
	    sizeof(why));
	cr_assert_not_null(o, "no like on the owner's channel (saw: %s)", why);
	cr_assert_str_eq(str(o, "channel"), chan);
	json_object_put(o);

	/* A second fan, then an unlike: each count as it is. */
	like(&fan2, "loops", loop, "PUT");
	o = wait_for(&anon, "counters", loop, "likesCount", 2, WAIT_MS, NULL,
	    NULL, 0);
	cr_assert_not_null(o, "no counters with likesCount 2");
	json_object_put(o);
	like(&fan, "loops", loop, "DELETE");
	o = wait_for(&anon, "counters", loop, "likesCount", 1, WAIT_MS, NULL,
	    NULL, 0);
	cr_assert_not_null(o, "no counters with likesCount 1 after the unlike");
	json_object_put(o);
	it_sse_close(&anon);
	it_sse_close(&mine);
}

/*
 * Wait up to timeout_ms for a counters frame whose likesCount is want;
 * returns it (the caller puts it) or NULL.
 */
static json_object *
ws_counters(struct it_ws *ws, long long want, int timeout_ms)
{
	json_object	*o = NULL;
	char		*text;
	long long	 deadline = it_mono_ms() + timeout_ms, left;

	while (o == NULL && (left = deadline - it_mono_ms()) > 0 &&
	    it_ws_next(ws, (int)left, &text) == 1) {
		o = json_tokener_parse(text);
		if (o != NULL && (strcmp(str(o, "event"), "counters") != 0 ||
		    num(o, "likesCount") != want)) {
			json_object_put(o);
			o = NULL;
		}
		free(text);
	}
	return o;
}

Test(live, a_websocket_subscriber_gets_the_same_messages, .timeout = 120)
{
	struct itfx_user	 owner, fans[5];
	struct it_ws	 ws;
	json_object	*o = NULL;
	char		 loop[64], target[160];
	int		 k;

	itfx_db_user(&owner);
	for (k = 0; k < 5; k++)
		itfx_db_user(&fans[k]);
	new_loop(&owner, 1, loop, sizeof(loop));
	snprintf(target, sizeof(target), "/api/live?channels=loop:%s", loop);
	cr_assert_eq(it_ws_open(&ws, target), 0);
	cr_assert_eq(ws.status, 101);
	/*
	 * nchan sends a WebSocket subscriber no hello frame, so the upgrade
	 * may answer before the subscription exists: the k-th like's frame
	 * (likesCount k) is waited for, and a like published too early for
	 * it is followed by the next fan's.
	 */
	for (k = 1; o == NULL && k <= 5; k++) {
		like(&fans[k - 1], "loops", loop, "PUT");
		o = ws_counters(&ws, k, k < 5 ? 3000 : WAIT_MS);
	}
	cr_assert_not_null(o, "no counters frame");
	cr_assert_str_eq(str(o, "id"), loop);
	json_object_put(o);
	it_ws_close(&ws);
}

/* Open a subscription that must be refused; its status, problem type. */
static int
refused(const char *target, const char *h1, char *type, size_t tsz)
{
	struct it_sse	 s;
	const char	*h[2] = { h1, NULL };
	int		 status;

	cr_assert_eq(it_sse_open(&s, target, h), 0, "no answer to %s", target);
	status = s.head.status;
	snprintf(type, tsz, "%s", it_str(s.head.json, "type") ?
	    it_str(s.head.json, "type") : "");
	if (status != 200)
		cr_assert(strncmp(it_header(&s.head, "content-type"),
		    "application/problem+json", 24) == 0);
	it_sse_close(&s);
	return status;
}

#define PROBLEM(slug)	"https://api.musicplayground.dev/problems/" slug

Test(live, a_subscription_to_another_users_channel_is_refused, .timeout = 60)
{
	struct itfx_user	 a, b, gone;
	struct it_resp	 r;
	char		 t[1600], type[160], bad[1200];

	itfx_db_user(&a);
	itfx_db_user(&b);
	snprintf(t, sizeof(t), "/api/live?channels=user:%s", b.id);
	cr_assert_eq(refused(t, a.auth, type, sizeof(type)), 403);
	cr_assert_str_eq(type, PROBLEM("forbidden"));
	cr_assert_eq(refused(t, NULL, type, sizeof(type)), 401);
	cr_assert_str_eq(type, PROBLEM("unauthorized"));
	snprintf(t, sizeof(t), "/api/live?channels=user:%s&access_token=%s",
	    b.id, a.token);
	cr_assert_eq(refused(t, NULL, type, sizeof(type)), 403,
	    "a token in the query is checked as the header is");
	/* Mixed in with public channels, the same. */
	snprintf(t, sizeof(t), "/api/live?channels=loop:%s,user:%s", a.id,
	    b.id);
	cr_assert_eq(refused(t, a.auth, type, sizeof(type)), 403);
	/* A forged or signed-out token is no token of b's either. */
	snprintf(bad, sizeof(bad), "%sx", b.auth);
	snprintf(t, sizeof(t), "/api/live?channels=user:%s", b.id);
	cr_assert_eq(refused(t, bad, type, sizeof(type)), 401);
	cr_assert_str_eq(type, PROBLEM("invalid-token"));
	itfx_db_user(&gone);
	cr_assert_eq(call(&gone, "POST", "/api/auth/logout", NULL, &r), 204);
	it_resp_free(&r);
	snprintf(t, sizeof(t), "/api/live?channels=user:%s", gone.id);
	cr_assert_eq(refused(t, gone.auth, type, sizeof(type)), 401,
	    "a signed-out token opens no channel");
	cr_assert_str_eq(type, PROBLEM("invalid-token"));
	/* Their own channel, by header or in the query, is theirs. */
	snprintf(t, sizeof(t), "/api/live?channels=user:%s", b.id);
	cr_assert_eq(refused(t, b.auth, type, sizeof(type)), 200);
	snprintf(t, sizeof(t), "/api/live?channels=user:%s&access_token=%s",
	    b.id, b.token);
	cr_assert_eq(refused(t, NULL, type, sizeof(type)), 200);
}

Test(live, a_malformed_channel_list_is_refused_with_400, .timeout = 60)
{
	struct itfx_user	 a;
	struct buf	 many = BUF_INIT;
	char		 t[512], type[160];
	int		 i;
	static const char *const bad[] = {
		"/api/live",
		"/api/live?channels=",
		"/api/live?channels=bogus",
		"/api/live?channels=loop%3A3db7bfa1-1291-4da6-8969-c89b668446f9",
		"/api/live?channels=loop:3DB7BFA1-1291-4DA6-8969-C89B668446F9",
		"/api/live?channels=loop:3db7bfa1-1291-4da6-8969-c89b668446f9,"
		    "loop:3db7bfa1-1291-4da6-8969-c89b668446f9",
		"/api/live?channels=loop:3db7bfa1-1291-4da6-8969-c89b668446f9"
		    "&since=1",
		NULL
	};

	itfx_db_user(&a);
	for (i = 0; bad[i] != NULL; i++) {
		cr_assert_eq(refused(bad[i], NULL, type, sizeof(type)), 400,
		    "%s", bad[i]);
		cr_assert_str_eq(type, PROBLEM("validation"), "%s", bad[i]);
	}
	buf_puts(&many, "/api/live?channels=");
	for (i = 0; i < 101; i++)
		buf_printf(&many, "%sloop:%08x-0000-4000-8000-000000000000",
		    i ? "," : "", i);
	cr_assert_eq(refused(many.data, NULL, type, sizeof(type)), 400);
	buf_release(&many);
	/* The check of the list comes before the token's. */
	snprintf(t, sizeof(t), "/api/live?channels=user:%s,bogus", a.id);
	cr_assert_eq(refused(t, a.auth, type, sizeof(type)), 400);
	/* Asked directly, the check is not a route. */
	cr_assert_eq(call(NULL, "GET", "/api/live/auth?channels=user:x",
	    NULL, NULL), 404);
}

/*
 * A write that the database refuses at COMMIT (a deferred constraint
 * trigger this test installs fails it as a serialization failure: the
 * transaction ran the live triggers, then rolled back, twice, since
 * the dispatcher tries such a write again once) publishes nothing: its subscribers hear the next
 * committed write and nothing before it.
 */
Test(live, a_rolled_back_write_publishes_nothing, .timeout = 120)
{
	struct itfx_user	 owner, fan;
	struct it_sse	 pub, mine;
	struct it_resp	 r;
	json_object	*o;
	char		 loop[64], chan[128], path[160], why[512] = "", *name;
	const char	*p[1], *h[2];
	int		 others = 0;

	cr_assert_eq(it_db_exec("CREATE OR REPLACE FUNCTION it_live_refuse() "
	    "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
	    "IF NEW.name LIKE 'it-live-rollback%' THEN "
	    "RAISE EXCEPTION 'refused at commit' USING ERRCODE = '40001'; "
	    "END IF; RETURN NULL; END $$"), 0);
	(void)it_db_exec("DROP TRIGGER IF EXISTS it_live_refuse ON loops");
	cr_assert_eq(it_db_exec("CREATE CONSTRAINT TRIGGER it_live_refuse "
	    "AFTER UPDATE ON loops DEFERRABLE INITIALLY DEFERRED "
	    "FOR EACH ROW EXECUTE FUNCTION it_live_refuse()"), 0);
	itfx_db_user(&owner);
	itfx_db_user(&fan);
	new_loop(&owner, 1, loop, sizeof(loop));
	snprintf(chan, sizeof(chan), "loop:%s", loop);
	subscribe(&pub, chan, NULL, NULL);
	snprintf(chan, sizeof(chan), "user:%s", owner.id);
	subscribe(&mine, chan, &owner, NULL);
	h[0] = owner.auth;
	h[1] = NULL;

	/* A serialization failure at commit: tried twice, 503 both times. */
	snprintf(path, sizeof(path), "/api/loops/%s", loop);
	cr_assert_eq(it_request("PATCH", path, h, "{\"name\":"
	    "\"it-live-rollback\",\"isPublic\":false}", &r), 0);
	cr_assert_eq(r.status, 503, "%s", r.body);
	it_resp_free(&r);
	(void)it_db_exec("DROP TRIGGER it_live_refuse ON loops");
	p[0] = loop;
	name = it_db_text("SELECT name || ' ' || version || ' ' || is_public "
	    "FROM loops WHERE id = $1::uuid", 1, p);
	cr_assert_str_eq(name, "live 1 true", "the write was rolled back");
	free(name);

	/* The next committed write is heard, and nothing came before it. */
	like(&fan, "loops", loop, "PUT");
	o = wait_for(&pub, "counters", loop, "likesCount", 1, WAIT_MS, &others,
	    why, sizeof(why));
	cr_assert_not_null(o, "the committed like was not heard");
	json_object_put(o);
	cr_assert_eq(others, 0, "the rolled-back write published: %s", why);
	o = wait_for(&mine, "like", loop, "likesCount", 1, WAIT_MS, &others,
	    why, sizeof(why));
	cr_assert_not_null(o, "the owner did not hear the like");
	json_object_put(o);
	cr_assert_eq(others, 0, "the rolled-back write published: %s", why);
	cr_assert_eq(events_within(&pub, QUIET_MS, why, sizeof(why)), 0,
	    "%s", why);
	cr_assert_eq(events_within(&mine, QUIET_MS, why, sizeof(why)), 0,
	    "%s", why);
	it_sse_close(&pub);
	it_sse_close(&mine);
}

Test(live, a_private_loops_changes_never_reach_a_public_channel,
    .timeout = 120)
{
	struct itfx_user	 owner;
	struct it_sse	 pub, mine;
	struct it_resp	 r;
	json_object	*o;
	char		 loop[64], chan[128], path[160], why[512] = "";
	int		 others = 0;

	itfx_db_user(&owner);
	new_loop(&owner, 0, loop, sizeof(loop));
	snprintf(chan, sizeof(chan), "loop:%s", loop);
	subscribe(&pub, chan, NULL, NULL);	/* anyone may listen there */
	snprintf(chan, sizeof(chan), "user:%s", owner.id);
	subscribe(&mine, chan, &owner, NULL);

	/* Edits, a like and a play of the private loop. */
	patch(&owner, "loops", loop, "{\"name\":\"still private\"}", 200);
	like(&owner, "loops", loop, "PUT");
	snprintf(path, sizeof(path), "/api/loops/%s/plays", loop);
	cr_assert_eq(call(&owner, "POST", path, NULL, &r), 202);
	it_resp_free(&r);
	/* Its owner hears all of it on their own channel. */
	o = wait_for(&mine, "counters", loop, "playsCount", 1, WAIT_MS, NULL,
	    why, sizeof(why));
	cr_assert_not_null(o, "no counters on the owner's channel (saw %s)",
	    why);
	cr_assert_eq(num(o, "likesCount"), 1);
	cr_assert_str_eq(str(o, "channel"), chan);
	json_object_put(o);

	/* Made public: the first thing its channel ever hears. */
	patch(&owner, "loops", loop, "{\"isPublic\":true}", 200);
	why[0] = '\0';
	o = wait_for(&pub, "changed", loop, "version", 3, WAIT_MS, &others,
	    why, sizeof(why));
	cr_assert_not_null(o, "no changed when it was made public (saw %s)",
	    why);
	json_object_put(o);
	cr_assert_eq(others, 0, "the private loop leaked: %s", why);

	/* Private again: removed, then silence whatever it goes through. */
	patch(&owner, "loops", loop, "{\"isPublic\":false}", 200);
	o = wait_for(&pub, "removed", loop, NULL, 0, WAIT_MS, &others, why,
	    sizeof(why));
	cr_assert_not_null(o, "no removed when it went private");
	json_object_put(o);
	like(&owner, "loops", loop, "DELETE");
	patch(&owner, "loops", loop, "{\"name\":\"private again\"}", 200);
	o = wait_for(&mine, "counters", loop, "likesCount", 0, WAIT_MS, NULL,
	    NULL, 0);
	cr_assert_not_null(o, "the owner did not hear the unlike");
	json_object_put(o);
	why[0] = '\0';
	cr_assert_eq(events_within(&pub, QUIET_MS, why, sizeof(why)), 0,
	    "the private loop leaked: %s", why);
	it_sse_close(&pub);
	it_sse_close(&mine);
}

Test(live, songs_publish_like_loops_and_a_deleted_one_is_removed,
    .timeout = 120)
{
	struct itfx_user	 owner, fan;
	struct it_sse	 pub;
	struct it_resp	 r;
	json_object	*o;
	char		 loop[64], song[64], chan[128], path[160];

	itfx_db_user(&owner);
	itfx_db_user(&fan);
	new_loop(&owner, 1, loop, sizeof(loop));
	new_song(&owner, 1, loop, song, sizeof(song));
	snprintf(chan, sizeof(chan), "song:%s", song);
	subscribe(&pub, chan, NULL, NULL);
	like(&fan, "songs", song, "PUT");
	o = wait_for(&pub, "counters", song, "likesCount", 1, WAIT_MS, NULL,
	    NULL, 0);
	cr_assert_not_null(o, "no counters of the song");
	cr_assert_str_eq(str(o, "type"), "song");
	cr_assert_eq(num(o, "remixesCount"), -1, "songs have no remixes");
	json_object_put(o);
	patch(&owner, "songs", song, "{\"bpm\":120}", 200);
	o = wait_for(&pub, "changed", song, "version", 2, WAIT_MS, NULL, NULL,
	    0);
	cr_assert_not_null(o, "no changed of the song");
	json_object_put(o);
	snprintf(path, sizeof(path), "/api/songs/%s", song);
	cr_assert_eq(call(&owner, "DELETE", path, NULL, &r), 204);
	it_resp_free(&r);
	o = wait_for(&pub, "removed", song, NULL, 0, WAIT_MS, NULL, NULL, 0);
	cr_assert_not_null(o, "no removed of the song");
	json_object_put(o);
	it_sse_close(&pub);
}

/*
 * With the relay held (SIGSTOP), 30 likes queue; released, it takes
 * them in one batch and publishes one counters message with the last
 * count (and one like message to the owner), not 30.
 */
Test(live, a_burst_of_likes_is_coalesced_into_one_message_with_the_last_count,
    .timeout = 180, .fini = release)
{
	struct itfx_user	 owner, fans[30];
	struct it_sse	 pub, mine;
	json_object	*o;
	char		 loop[64], chan[128], why[512] = "";
	double		 coalesced;
	pid_t		 relay;
	int		 i, others = 0;

	itfx_db_user(&owner);
	for (i = 0; i < 30; i++)
		itfx_db_user(&fans[i]);
	new_loop(&owner, 1, loop, sizeof(loop));
	snprintf(chan, sizeof(chan), "loop:%s", loop);
	subscribe(&pub, chan, NULL, NULL);
	snprintf(chan, sizeof(chan), "user:%s", owner.id);
	subscribe(&mine, chan, &owner, NULL);
	coalesced = metric("mpapi_live_coalesced_total");
	cr_assert_gt(relay = relay_pid(), 1, "no relay running");
	hold(relay);
	for (i = 0; i < 30; i++)
		like(&fans[i], "loops", loop, "PUT");
	release();
	o = wait_for(&pub, "counters", loop, NULL, 0, WAIT_MS, &others, why,
	    sizeof(why));
	cr_assert_not_null(o, "no counters after the burst");
	cr_assert_eq(num(o, "likesCount"), 30, "one message, the last count");
	json_object_put(o);
	cr_assert_eq(events_within(&pub, QUIET_MS, why, sizeof(why)), 0,
	    "more than one message for the burst: %s", why);
	o = wait_for(&mine, "like", loop, NULL, 0, WAIT_MS, NULL, NULL, 0);
	cr_assert_not_null(o, "no like to the owner");
	cr_assert_eq(num(o, "likesCount"), 30);
	json_object_put(o);
	cr_assert_eq(events_within(&mine, QUIET_MS, why, sizeof(why)), 0,
	    "%s", why);
	/* Wait for the relay's counters to be recorded (at its commit). */
	cr_assert_geq(metric_at_least("mpapi_live_coalesced_total",
	    coalesced + 58), coalesced + 58);
	it_sse_close(&pub);
	it_sse_close(&mine);
}

Test(live, a_subscriber_that_reconnects_with_last_event_id_gets_what_it_missed,
    .timeout = 120)
{
	struct itfx_user	 owner, fans[3];
	struct it_sse	 s, watch;
	struct it_sse_event e;
	json_object	*o;
	char		 a[64], b[64], chans[160], last[256];
	long long	 deadline, left;
	int		 i, got_a = 0, got_b = 0;

	itfx_db_user(&owner);
	for (i = 0; i < 3; i++)
		itfx_db_user(&fans[i]);
	new_loop(&owner, 1, a, sizeof(a));
	new_loop(&owner, 1, b, sizeof(b));
	snprintf(chans, sizeof(chans), "loop:%s,loop:%s", a, b);
	subscribe(&s, chans, NULL, NULL);
	subscribe(&watch, chans, NULL, NULL);
	like(&fans[0], "loops", a, "PUT");
	o = wait_for(&s, "counters", a, "likesCount", 1, WAIT_MS, NULL, NULL, 0);
	cr_assert_not_null(o);
	json_object_put(o);
	snprintf(last, sizeof(last), "%s", s.last_id);
	cr_assert(last[0] != '\0', "the message had no id");
	it_sse_close(&s);

	/* Missed while away, heard by the one that stayed. */
	like(&fans[1], "loops", b, "PUT");
	like(&fans[2], "loops", a, "PUT");
	o = wait_for(&watch, "counters", a, "likesCount", 2, WAIT_MS, NULL,
	    NULL, 0);
	cr_assert_not_null(o);
	json_object_put(o);

	/* Both come back, in whichever order nchan's two channels give. */
	subscribe(&s, chans, NULL, last);
	deadline = it_mono_ms() + WAIT_MS;
	while (!(got_a && got_b) && (left = deadline - it_mono_ms()) > 0 &&
	    it_sse_next(&s, (int)left, &e) == 1) {
		if (e.json != NULL && strcmp(e.event, "counters") == 0) {
			if (strcmp(str(e.json, "id"), a) == 0)
				got_a |= num(e.json, "likesCount") == 2;
			if (strcmp(str(e.json, "id"), b) == 0)
				got_b |= num(e.json, "likesCount") == 1;
		}
		it_sse_event_release(&e);
	}
	cr_assert(got_b, "the missed message on b did not come");
	cr_assert(got_a, "the missed message on a did not come");
	it_sse_close(&s);
	it_sse_close(&watch);
}

/* A client's copy of its own loops: id and version. */
struct copy {
	char		 id[64][37];
	long long	 version[64];
	int		 n;
	char		 cursor[256];
};

static void
copy_put(struct copy *c, const char *id, long long version)
{
	int	 i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->id[i], id) == 0)
			break;
	if (i == c->n) {
		cr_assert_lt(c->n, 64);
		snprintf(c->id[c->n++], sizeof(c->id[0]), "%s", id);
	}
	c->version[i] = version;
}

static void
copy_drop(struct copy *c, const char *id)
{
	int	 i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->id[i], id) == 0) {
			c->n--;
			memmove(c->id[i], c->id[i + 1],
			    sizeof(c->id[0]) * (size_t)(c->n - i));
			memmove(&c->version[i], &c->version[i + 1],
			    sizeof(c->version[0]) * (size_t)(c->n - i));
			return;
		}
}

/* Pull w's feed from c's cursor to its end and apply it to c. */
static void
pull(const struct itfx_user *w, struct copy *c)
{
	struct it_resp	 r;
	json_object	*a, *x;
	char		 path[400];
	size_t		 i;
	int		 more = 1;

	while (more) {
		snprintf(path, sizeof(path), "/api/sync%s%s",
		    c->cursor[0] ? "?since=" : "", c->cursor);
		cr_assert_eq(call(w, "GET", path, NULL, &r), 200, "%s", r.body);
		a = it_get(r.json, "loops");
		for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
			x = json_object_array_get_idx(a, i);
			copy_put(c, str(x, "id"), num(x, "version"));
		}
		a = it_get(r.json, "deleted");
		for (i = 0; a != NULL && i < json_object_array_length(a); i++)
			copy_drop(c, str(json_object_array_get_idx(a, i), "id"));
		snprintf(c->cursor, sizeof(c->cursor), "%s",
		    it_str(r.json, "cursor"));
		more = it_get(r.json, "hasMore") != NULL &&
		    json_object_get_boolean(it_get(r.json, "hasMore"));
		it_resp_free(&r);
	}
}

/* c equals what the database holds of w's loops. */
static void
assert_equal_to_server(const struct itfx_user *w, const struct copy *c)
{
	const char	*p[1] = { w->id };
	char		*server;
	struct buf	 mine = BUF_INIT;
	char		 order[64][64];
	int		 i, j;

	server = it_db_text("SELECT coalesce(string_agg(id || ':' || version, "
	    "',' ORDER BY id), '') FROM loops WHERE user_id = $1::uuid", 1, p);
	cr_assert_not_null(server);
	for (i = 0; i < c->n; i++)
		snprintf(order[i], sizeof(order[i]), "%s:%lld", c->id[i],
		    c->version[i]);
	for (i = 1; i < c->n; i++)
		for (j = i; j > 0 && strcmp(order[j - 1], order[j]) > 0; j--) {
			char	 t[64];

			memcpy(t, order[j], sizeof(t));
			memcpy(order[j], order[j - 1], sizeof(t));
			memcpy(order[j - 1], t, sizeof(t));
		}
	for (i = 0; i < c->n; i++)
		buf_printf(&mine, "%s%s", i ? "," : "", order[i]);
	cr_assert_str_eq(mine.data ? mine.data : "", server,
	    "the client's copy differs from the server's");
	buf_release(&mine);
	free(server);
}

/*
 * Wait for a sync message whose cursor is the one a pull to the end of
 * w's feed gives now; returns 1 when it came.
 */
static int
heard_up_to_date(struct it_sse *s, const struct itfx_user *w, char *why,
    size_t whysz)
{
	struct copy	*probe;
	json_object	*o;
	long long	 deadline = it_mono_ms() + 30000;
	int		 ok = 0;

	probe = calloc(1, sizeof(*probe));
	pull(w, probe);
	while (!ok && it_mono_ms() < deadline) {
		o = wait_for(s, "sync", NULL, NULL, 0,
		    (int)(deadline - it_mono_ms()), NULL, why, whysz);
		if (o == NULL)
			break;
		ok = strcmp(str(o, "cursor"), probe->cursor) == 0;
		json_object_put(o);
	}
	free(probe);
	return ok;
}

/*
 * The relay SIGKILLed and PostgreSQL restarted while the owner keeps
 * writing: the subscriber's stream stays open and hears, after each,
 * a sync message carrying the cursor a pull to the end gives; the
 * device that reconnects and pulls by its own cursor is then equal to
 * the server.
 */
Test(live, subscribers_resume_after_the_relay_is_killed_and_the_database_restarts,
    .timeout = 300)
{
	struct itfx_user	 owner;
	struct it_sse	 s;
	struct copy	*device;
	char		 chan[128], loop[64], first[64], path[160], why[512];
	char		 last[256];
	double		 starts, db_reconnects;
	pid_t		 killed, now;
	int		 i;

	itfx_db_user(&owner);
	device = calloc(1, sizeof(*device));
	new_loop(&owner, 0, first, sizeof(first));
	pull(&owner, device);
	snprintf(chan, sizeof(chan), "user:%s", owner.id);
	subscribe(&s, chan, &owner, NULL);
	starts = metric("mpapi_live_relay_starts_total");

	for (i = 0; i < 3; i++)
		new_loop(&owner, i % 2, loop, sizeof(loop));
	why[0] = '\0';
	cr_assert(heard_up_to_date(&s, &owner, why, sizeof(why)),
	    "before: no sync with the current cursor (saw %s)", why);

	/* The relay killed mid-stream: the writes queue meanwhile. */
	cr_assert_gt(killed = relay_pid(), 1);
	cr_assert_eq(kill(killed, SIGKILL), 0);
	for (i = 0; i < 3; i++)
		new_loop(&owner, 0, loop, sizeof(loop));
	patch(&owner, "loops", first, "{\"name\":\"renamed\"}", 200);
	for (i = 0; i < 100 && ((now = relay_pid()) <= 1 || now == killed);
	    i++)
		usleep(100 * 1000);
	cr_assert(now > 1 && now != killed, "the relay was not restarted");
	why[0] = '\0';
	cr_assert(heard_up_to_date(&s, &owner, why, sizeof(why)),
	    "after the relay's restart: no sync with the current cursor "
	    "(saw %s)", why);
	cr_assert_geq(metric_at_least("mpapi_live_relay_starts_total",
	    starts + 1), starts + 1);

	/* PostgreSQL restarted: the relay reconnects by itself. */
	db_reconnects = metric("mpapi_live_reconnects_total{peer=\"database\"}");
	cr_assert_eq(it_ctl("pg-stop"), 0);
	usleep(500 * 1000);
	cr_assert_eq(it_ctl("pg-start"), 0);
	/* This test's own connection died with the server: one failed
	 * statement lets itlib open a new one. */
	(void)it_db_exec("SELECT 1");
	for (i = 0; i < 3; i++)
		new_loop(&owner, 1, loop, sizeof(loop));
	snprintf(path, sizeof(path), "/api/loops/%s", loop);
	cr_assert_eq(call(&owner, "DELETE", path, NULL, NULL), 204);
	why[0] = '\0';
	cr_assert(heard_up_to_date(&s, &owner, why, sizeof(why)),
	    "after the database's restart: no sync with the current cursor "
	    "(saw %s)", why);
	cr_assert_geq(metric_at_least(
	    "mpapi_live_reconnects_total{peer=\"database\"}",
	    db_reconnects + 1), db_reconnects + 1);

	/* The device reconnects (resuming) and pulls by its own cursor. */
	snprintf(last, sizeof(last), "%s", s.last_id);
	it_sse_close(&s);
	subscribe(&s, chan, &owner, last);
	pull(&owner, device);
	assert_equal_to_server(&owner, device);
	it_sse_close(&s);
	free(device);
}

/*
 * PostgreSQL killed while the relay's take waits inside its
 * transaction (the test holds the row lock the take needs): once the server
 * is back the relay reconnects by itself and the subscriber hears the
 * next write.  (A connection lost inside a transaction stays shut until
 * its request ends; the relay has to end it.)
 */
Test(live, the_relay_reconnects_after_postgresql_dies_in_the_middle_of_a_take,
    .timeout = 300)
{
	struct itfx_user	 owner;
	struct it_sse	 s;
	char		 chan[128], loop[64], why[512];
	long long	 waiting = 0;
	int		 i;

	itfx_db_user(&owner);
	snprintf(chan, sizeof(chan), "user:%s", owner.id);
	/*
	 * Subscribed before the write: a new subscriber gets only what is
	 * published after it (nchan_subscriber_first_message newest), so a
	 * write made first may be published before the subscription exists.
	 */
	subscribe(&s, chan, &owner, NULL);
	new_loop(&owner, 0, loop, sizeof(loop));
	why[0] = '\0';
	cr_assert(heard_up_to_date(&s, &owner, why, sizeof(why)),
	    "before: no sync with the current cursor (saw %s)", why);

	/*
	 * The relay held while a write queues its message; the test locks
	 * that row, then lets the relay go: its take (a DELETE of the rows)
	 * waits on the row lock, inside its transaction.
	 */
	hold(relay_pid());
	new_loop(&owner, 1, loop, sizeof(loop));
	cr_assert_eq(it_db_exec("BEGIN"), 0);
	cr_assert_gt(it_db_count("SELECT count(*) FROM (SELECT id FROM "
	    "live_outbox FOR UPDATE) l", 0, NULL), 0);
	release();
	for (i = 0; i < 100 && waiting == 0; i++) {
		usleep(100 * 1000);
		/* Inside a transaction pg_stat_activity is a snapshot. */
		(void)it_db_exec("SELECT pg_stat_clear_snapshot()");
		waiting = it_db_count("SELECT count(*) FROM pg_stat_activity "
		    "WHERE wait_event_type = 'Lock' AND state = 'active' AND "
		    "query LIKE 'DELETE FROM live_outbox%'", 0, NULL);
	}
	cr_assert_eq(waiting, 1, "the relay's take never waited on the lock");
	cr_assert_eq(it_ctl("pg-crash"), 0);
	cr_assert_eq(it_ctl("pg-start"), 0);
	(void)it_db_exec("SELECT 1");	/* this test's connection died too */
	/* Fresh workers: the next test must not meet a dead connection. */
	cr_assert_eq(it_ctl("restart-workers"), 0);

	new_loop(&owner, 1, loop, sizeof(loop));
	why[0] = '\0';
	cr_assert(heard_up_to_date(&s, &owner, why, sizeof(why)),
	    "after PostgreSQL died mid-take: no sync with the current cursor "
	    "(saw %s)", why);
	it_sse_close(&s);
}

/*
 * nginx restarted: subscribers are cut off, reconnect, and hear the
 * next writes; the relay found its connection to nchan gone and made a
 * new one by itself.
 */
Test(live, after_nginx_restarts_subscribers_reconnect_and_the_relay_publishes_again,
    .timeout = 300)
{
	struct itfx_user	 owner;
	struct it_sse	 s;
	struct it_sse_event e;
	struct copy	*device;
	char		 chan[128], loop[64], why[512] = "";
	double		 reconnects;
	int		 i, r;

	itfx_db_user(&owner);
	device = calloc(1, sizeof(*device));
	pull(&owner, device);
	snprintf(chan, sizeof(chan), "user:%s", owner.id);
	subscribe(&s, chan, &owner, NULL);
	new_loop(&owner, 0, loop, sizeof(loop));
	cr_assert(heard_up_to_date(&s, &owner, why, sizeof(why)), "%s", why);
	reconnects = metric("mpapi_live_reconnects_total{peer=\"nginx\"}");

	cr_assert_eq(it_ctl("nginx-restart"), 0);
	while ((r = it_sse_next(&s, WAIT_MS, &e)) == 1)
		it_sse_event_release(&e);
	cr_assert_eq(r, -1, "the stream outlived nginx");
	it_sse_close(&s);
	cr_assert_eq(call(NULL, "GET", "/health", NULL, NULL), 200);
	subscribe(&s, chan, &owner, NULL);
	for (i = 0; i < 2; i++)
		new_loop(&owner, 1, loop, sizeof(loop));
	cr_assert(heard_up_to_date(&s, &owner, why, sizeof(why)),
	    "after nginx's restart: no sync with the current cursor (saw %s)",
	    why);
	cr_assert_geq(metric_at_least(
	    "mpapi_live_reconnects_total{peer=\"nginx\"}", reconnects + 1),
	    reconnects + 1);
	pull(&owner, device);
	assert_equal_to_server(&owner, device);
	it_sse_close(&s);
	free(device);
}

Test(live, metrics_show_the_relays_counters_and_lag, .timeout = 60)
{
	struct it_resp	 r;

	cr_assert_eq(call(NULL, "GET", "/metrics", NULL, &r), 200);
	cr_assert(strstr(r.body, "\nmpapi_live_published_total ") != NULL);
	cr_assert(strstr(r.body, "\nmpapi_live_coalesced_total ") != NULL);
	cr_assert(strstr(r.body, "mpapi_live_reconnects_total{peer=\"database\"} ")
	    != NULL);
	cr_assert(strstr(r.body, "mpapi_live_reconnects_total{peer=\"nginx\"} ")
	    != NULL);
	cr_assert(strstr(r.body, "mpapi_live_lag_seconds_bucket{le=\"0.1\"} ")
	    != NULL);
	cr_assert(strstr(r.body, "mpapi_live_lag_seconds_bucket{le=\"+Inf\"} ")
	    != NULL);
	cr_assert(strstr(r.body, "\nmpapi_live_lag_seconds_count ") != NULL);
	cr_assert(strstr(r.body, "\nmpapi_live_outbox_rows ") != NULL);
	cr_assert(strstr(r.body, "\nmpapi_live_relay_seen_seconds ") != NULL);
	cr_assert(strstr(r.body, "\nmpapi_live_subscribers ") != NULL);
	it_resp_free(&r);
	cr_assert_gt(metric("mpapi_live_published_total"), 0);
}

/*
 * Messages no relay published (none ran) are dropped by `mpapi purge`
 * once older than MP_LIVE_OUTBOX_TTL, so the outbox cannot grow for
 * ever; younger ones stay.
 */
Test(live, purge_drops_messages_no_relay_published_for_a_day, .timeout = 60,
    .fini = release)
{
	struct itfx_user	 owner;
	const char	*p[1];
	char		 old[24], young[24];
	pid_t		 relay;

	itfx_db_user(&owner);
	p[0] = owner.id;
	cr_assert_gt(relay = relay_pid(), 1);
	hold(relay);
	snprintf(old, sizeof(old), "%lld", it_db_count("INSERT INTO live_outbox "
	    "(channel, event, data, created_at) VALUES ('user:' || $1, "
	    "'sync', '{\"changeSeq\": 0}', now() - interval '2 days') "
	    "RETURNING id", 1, p));
	snprintf(young, sizeof(young), "%lld", it_db_count("INSERT INTO "
	    "live_outbox (channel, event, data) VALUES ('user:' || $1, "
	    "'sync', '{\"changeSeq\": 0}') RETURNING id", 1, p));
	cr_assert_eq(it_ctl("purge"), 0);
	p[0] = old;
	cr_assert_eq(it_db_count("SELECT count(*) FROM live_outbox "
	    "WHERE id = $1::bigint", 1, p), 0, "the old one stayed");
	p[0] = young;
	cr_assert_eq(it_db_count("SELECT count(*) FROM live_outbox "
	    "WHERE id = $1::bigint", 1, p), 1, "the young one went");
	release();
}
