/*
 * `mpapi relay`: publishes what the write transactions queued in the
 * outbox (migration 0020) to nginx's nchan module, after commit.
 *
 * One process, supervised like the workers (cli/main.c runs it under
 * server_supervise: killed, it is started again at once).  It
 * holds one database connection of its own, which LISTENs and holds
 * the relay's advisory lock, so a second relay stands by until the
 * first is gone.  It never exits on a database or nginx outage: it
 * reconnects by itself, and the rows wait in the outbox meanwhile.
 *
 * The loop has three states:
 *   idle    the outbox was empty; writers NOTIFY (live_wakeup.armed),
 *           and the relay sleeps until one does, looking anyway every
 *           RELAY_IDLE_POLL_MS;
 *   busy    rows came; writers stop notifying and the relay takes
 *           what has queued every MP_LIVE_INTERVAL_MS (200 ms);
 *   arming  a busy take found nothing: writers notify again (a NOTIFY
 *           is taken at once, as when idle), and one more take after an
 *           interval catches a write that read the flag just before it
 *           was set; then the relay is idle.
 * A busy relay takes at most once per interval, and it is busy again
 * after every take that found rows, so one item gets at most one
 * message per interval however its writes come.
 * Each take is coalesced: of the rows of one (channel, event, item)
 * only the newest is published, so a loop liked 1000 times a second
 * sends at most 1000 / interval counter messages a second, each with
 * the latest counts, and a burst costs one message per item.
 *
 * What it measures (published, coalesced, failed, reconnects, the lag
 * from a row's write to nchan's answer) is added to live_relay in the
 * transaction of each take, and with nchan's own status (its
 * nchan_stub_status location) every RELAY_BEAT_MS; the workers' GET
 * /metrics reads it from there (db/live.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/clock.h"
#include "base/log.h"
#include "fcgi/nchan.h"
#include "handlers/handlers.h"
#include "handlers/live.h"
#include "cli/relay.h"

#define RELAY_IDLE_POLL_MS	1000	/* idle: look even without NOTIFY */
#define RELAY_BEAT_MS		5000	/* record counters, nchan's status */
#define RELAY_STANDBY_MS	1000	/* another relay leads: ask again */
#define RELAY_BACKOFF_MS	100	/* after a failure; doubles */
#define RELAY_BACKOFF_MAX	5000
#define RELAY_PUBLISH_TIMEOUT_MS 2000
#define RELAY_STATUS_PATH	"/status"

/* A key that sorts rows of one (channel, event, item) together. */
struct ckey {
	const struct db_live_row *row;
	size_t			 idx;
};

static int
ckey_cmp(const void *a, const void *b)
{
	const struct ckey	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->row->channel, y->row->channel)) != 0 ||
	    (c = strcmp(x->row->event, y->row->event)) != 0 ||
	    (c = strcmp(x->row->item, y->row->item)) != 0)
		return c;
	return x->row->id < y->row->id ? -1 : x->row->id > y->row->id;
}

static int
idx_cmp(const void *a, const void *b)
{
	size_t	 x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Coalesce rows[0..n) (in id order): of each (channel, event, item)
 * keep only the row with the highest id.  keep (room for n) receives
 * the indexes kept, in id order; returns how many.
 */
size_t
relay_coalesce(const struct db_live_row *rows, size_t n, size_t *keep)
{
	struct ckey	*k;
	size_t		 i, m = 0;

	if (n == 0)
		return 0;
	k = xcalloc(n, sizeof(*k));
	for (i = 0; i < n; i++) {
		k[i].row = &rows[i];
		k[i].idx = i;
	}
	qsort(k, n, sizeof(*k), ckey_cmp);
	for (i = 0; i < n; i++)
		if (i + 1 == n || strcmp(k[i].row->channel,
		    k[i + 1].row->channel) != 0 ||
		    strcmp(k[i].row->event, k[i + 1].row->event) != 0 ||
		    strcmp(k[i].row->item, k[i + 1].row->item) != 0)
			keep[m++] = k[i].idx;
	free(k);
	qsort(keep, m, sizeof(*keep), idx_cmp);
	return m;
}

/*
 * The message of row as subscribers get it (doc/API.md, "Live
 * updates"): {"event", "channel", the row's data, "at", "seq"}; a
 * "sync" row's changeSeq becomes the cursor a pull to the end of the
 * feed hands out at that change.  Appends JSON text to out; 0, or -1
 * for a row that cannot be published (logged).
 */
int
relay_message(const struct config *cfg, const struct db_live_row *row,
    struct buf *out)
{
	json_object	*data, *msg, *v;
	char		*cursor = NULL;
	int		 rc = -1;

	data = json_tokener_parse(row->data);
	if (data == NULL || !json_object_is_type(data, json_type_object)) {
		log_msg("error", "relay: outbox row %lld has no JSON object",
		    row->id);
		json_object_put(data);
		return -1;
	}
	msg = json_object_new_object();
	json_object_object_add(msg, "event", json_object_new_string(row->event));
	json_object_object_add(msg, "channel",
	    json_object_new_string(row->channel));
	/* type and id first: jsonb has its own order of members. */
	if (json_object_object_get_ex(data, "type", &v))
		json_object_object_add(msg, "type", json_object_get(v));
	if (json_object_object_get_ex(data, "id", &v))
		json_object_object_add(msg, "id", json_object_get(v));
	json_object_object_foreach(data, key, val) {
		if (strcmp(key, "changeSeq") == 0 || strcmp(key, "type") == 0 ||
		    strcmp(key, "id") == 0)
			continue;
		json_object_object_add(msg, key, json_object_get(val));
	}
	if (strcmp(row->event, "sync") == 0) {
		if (strncmp(row->channel, "user:", 5) != 0 ||
		    !json_object_object_get_ex(data, "changeSeq", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    (cursor = sync_cursor_encode(cfg, row->channel + 5,
		    json_object_get_int64(v), json_object_get_int64(v))) ==
		    NULL) {
			log_msg("error", "relay: sync row %lld is malformed",
			    row->id);
			goto out;
		}
		json_object_object_add(msg, "cursor",
		    json_object_new_string(cursor));
	}
	json_object_object_add(msg, "at", json_object_new_string(row->at));
	json_object_object_add(msg, "seq", json_object_new_int64(row->id));
	buf_puts(out, json_object_to_json_string_ext(msg,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	rc = 0;
out:
	free(cursor);
	json_object_put(msg);
	json_object_put(data);
	return rc;
}

/* The histogram bucket of a lag (see db_live_bounds). */
int
relay_lag_bucket(double s)
{
	int	 i;

	for (i = 0; i < DB_LIVE_BUCKETS - 1; i++)
		if (s <= db_live_bounds[i])
			return i;
	return DB_LIVE_BUCKETS - 1;
}

/* The number after "name: " on a line of text, or -1. */
static long long
status_field(const char *text, const char *name)
{
	const char	*p = text;
	size_t		 n = strlen(name);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && p[n] == ':')
			return strtoll(p + n + 1, NULL, 10);
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

/*
 * Read nchan_stub_status's text into st.  Returns 0 (st->known 1), or
 * -1 when the text lacks the figures.
 */
int
relay_status_parse(const char *text, struct db_live_status *st)
{
	memset(st, 0, sizeof(*st));
	st->subscribers = status_field(text, "subscribers");
	st->channels = status_field(text, "channels");
	st->stored_messages = status_field(text, "stored messages");
	if (st->subscribers < 0 || st->channels < 0 || st->stored_messages < 0)
		return -1;
	st->known = 1;
	return 0;
}

/* The loop's state; see the top of this file. */
enum relay_state {
	RELAY_IDLE,
	RELAY_BUSY,
	RELAY_ARMING
};

struct relay {
	const struct config	*cfg;
	struct db_live		*dl;
	struct nchan_pub	 pub;
	struct db_live_delta	 delta;		/* not recorded yet */
	long long		 opens_seen;	/* pub.opens counted so far */
	enum relay_state	 state;
	long long		 next_ms;	/* busy, arming: the next take */
	long long		 poll_ms;	/* idle: the next look */
	long long		 beat_ms;	/* the next heartbeat */
	int			 db_fails;	/* in a row */
	int			 nginx_fails;
	int			 standby;	/* another relay leads */
};

static volatile sig_atomic_t	 relay_stop;
static int			 relay_pipe[2] = { -1, -1 };

static void
on_relay_signal(int sig)
{
	int	 saved = errno;
	ssize_t	 n;

	(void)sig;
	relay_stop = 1;
	n = write(relay_pipe[1], "", 1);
	(void)n;
	errno = saved;
}

static long long
backoff_ms(int fails)
{
	long long	 ms = RELAY_BACKOFF_MS;

	while (--fails > 0 && ms < RELAY_BACKOFF_MAX)
		ms *= 2;
	return ms < RELAY_BACKOFF_MAX ? ms : RELAY_BACKOFF_MAX;
}

/* Sleep ms, or until a signal asks the relay to stop. */
static void
pause_ms(long long ms)
{
	struct pollfd	 pfd;
	char		 b[16];

	if (relay_stop)
		return;
	pfd.fd = relay_pipe[0];
	pfd.events = POLLIN;
	pfd.revents = 0;
	(void)poll(&pfd, 1, (int)ms);
	while (read(relay_pipe[0], b, sizeof(b)) > 0)
		;
}

/* Publisher connections opened again count as nginx reconnects. */
static void
count_opens(struct relay *r)
{
	if (r->pub.opens > 1 && r->pub.opens - 1 > r->opens_seen) {
		r->delta.nginx_reconnects += r->pub.opens - 1 - r->opens_seen;
		r->opens_seen = r->pub.opens - 1;
	}
}

/*
 * Take, coalesce and publish until the outbox is empty.  Returns the
 * rows taken, -1 when the database failed (the batch is rolled back),
 * -2 when nginx could not be reached (rolled back too: the rows are
 * taken again after a pause).
 */
static long long
relay_drain(struct relay *r)
{
	struct db_live_batch	 b;
	struct db_live_delta	 saved;
	struct db_live_status	 none;
	struct buf		 msg = BUF_INIT;
	size_t			*keep, nkeep, i;
	long long		 total = 0;
	double			 t0, lag;
	int			 status, more = 1;
	enum db_status		 s;

	memset(&none, 0, sizeof(none));
	while (more && !relay_stop) {
		if ((s = db_live_take(r->dl, LIVE_BATCH, &b)) != DB_OK)
			return -1;
		if (b.n == 0)
			break;
		more = b.n == LIVE_BATCH;
		t0 = clock_mono_s();
		saved = r->delta;
		keep = xcalloc(b.n, sizeof(*keep));
		nkeep = relay_coalesce(b.rows, b.n, keep);
		r->delta.coalesced += (long long)(b.n - nkeep);
		for (i = 0; i < nkeep; i++) {
			const struct db_live_row *row = &b.rows[keep[i]];

			buf_reset(&msg);
			if (relay_message(r->cfg, row, &msg) != 0) {
				r->delta.failed++;
				continue;
			}
			if (nchan_publish(&r->pub, row->channel, row->event,
			    msg.data, msg.len, &status) != 0) {
				if (r->nginx_fails++ == 0)
					log_msg("warn", "relay: nginx does not "
					    "answer on %s; retrying",
					    r->cfg->nchan_socket);
				r->delta = saved;
				db_live_undo(r->dl);
				free(keep);
				db_live_batch_release(&b);
				buf_release(&msg);
				return -2;
			}
			if (status < 200 || status > 299) {
				log_msg("warn", "relay: nchan answered %d to a "
				    "message on %s; dropped", status,
				    row->channel);
				r->delta.failed++;
				continue;
			}
			lag = row->age_s + (clock_mono_s() - t0);
			r->delta.published++;
			r->delta.lag_count++;
			r->delta.lag_sum_s += lag;
			r->delta.lag_buckets[relay_lag_bucket(lag)]++;
		}
		if (r->nginx_fails > 0) {
			log_msg("info", "relay: nginx answers again");
			r->nginx_fails = 0;
		}
		count_opens(r);
		free(keep);
		total += (long long)b.n;
		db_live_batch_release(&b);
		if ((s = db_live_done(r->dl, &r->delta, &none)) != DB_OK) {
			/* Rolled back: the rows come again, counted then. */
			r->delta = saved;
			buf_release(&msg);
			return -1;
		}
		memset(&r->delta, 0, sizeof(r->delta));
	}
	buf_release(&msg);
	return total;
}

/* Record the counters and nchan's status (no batch open). */
static void
relay_beat(struct relay *r)
{
	struct db_live_status	 st;
	struct buf		 body = BUF_INIT;
	int			 status;

	memset(&st, 0, sizeof(st));
	if (nchan_request(&r->pub, "GET", RELAY_STATUS_PATH, NULL, NULL, 0,
	    &status, &body) == 0 && status == 200)
		(void)relay_status_parse(body.data ? body.data : "", &st);
	buf_release(&body);
	count_opens(r);
	if (db_live_done(r->dl, &r->delta, &st) == DB_OK)
		memset(&r->delta, 0, sizeof(r->delta));
}

/* Become the leader, or stand by; 0 when leading. */
static int
relay_attach(struct relay *r)
{
	enum db_status	 s;
	int		 leader, again;

	s = db_live_attach(r->dl, &leader, &again);
	if (s != DB_OK) {
		if (r->db_fails++ == 0)
			log_msg("warn", "relay: the database is unavailable; "
			    "retrying");
		pause_ms(backoff_ms(r->db_fails));
		return -1;
	}
	if (!leader) {
		if (!r->standby)
			log_msg("info", "relay %ld: another relay publishes; "
			    "standing by", (long)getpid());
		r->standby = 1;
		pause_ms(RELAY_STANDBY_MS);
		return -1;
	}
	if (again)
		r->delta.db_reconnects++;
	else
		r->delta.starts++;
	log_msg("info", "relay %ld publishes to %s%s", (long)getpid(),
	    r->cfg->nchan_socket, again ? " (database back)" : "");
	r->db_fails = 0;
	r->standby = 0;
	/* Rows queued while no relay ran: take them at once. */
	r->state = RELAY_BUSY;
	r->next_ms = clock_mono_ms();
	(void)db_live_arm(r->dl, 0);
	return 0;
}

/* One step after a take of n rows (see the states above). */
static void
relay_next(struct relay *r, long long n)
{
	long long	 now = clock_mono_ms();

	if (n == -2) {
		r->state = RELAY_BUSY;
		r->next_ms = now + backoff_ms(r->nginx_fails);
		return;
	}
	if (n == -1) {
		/* Lost: attach again.  Still connected: a failing statement,
		 * so wait before trying again, longer each time. */
		if (r->db_fails++ == 0)
			log_msg("warn", "relay: a take failed; retrying");
		r->state = RELAY_BUSY;
		r->next_ms = now + backoff_ms(r->db_fails);
		return;
	}
	r->db_fails = 0;
	if (n > 0) {
		if (r->state != RELAY_BUSY)
			(void)db_live_arm(r->dl, 0);
		r->state = RELAY_BUSY;
		r->next_ms = now + r->cfg->live_interval_ms;
		return;
	}
	if (r->state == RELAY_BUSY) {
		(void)db_live_arm(r->dl, 1);
		r->state = RELAY_ARMING;
		r->next_ms = now + r->cfg->live_interval_ms;
		return;
	}
	r->state = RELAY_IDLE;		/* from arming, or still idle */
	r->poll_ms = now + RELAY_IDLE_POLL_MS;
}

static int
pipe_open(void)
{
	int	 i, fl;

	if (pipe(relay_pipe) != 0)
		return -1;
	for (i = 0; i < 2; i++)
		if ((fl = fcntl(relay_pipe[i], F_GETFL)) < 0 ||
		    fcntl(relay_pipe[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
		    fcntl(relay_pipe[i], F_SETFD, FD_CLOEXEC) < 0)
			return -1;
	return 0;
}

/*
 * The relay process (a child of `mpapi relay`'s supervisor; listen_fd
 * is unused).  Runs until SIGTERM or SIGINT, finishing the batch in
 * hand; returns the exit status.
 */
int
relay_run(int listen_fd, const struct config *cfg)
{
	struct sigaction	 sa;
	struct db_config	 dc;
	struct relay		 r;
	enum db_live_event	 ev;
	long long		 now, due;
	char			 b[16];
	int			 timeout;

	(void)listen_fd;
	(void)prctl(PR_SET_NAME, "mpapi-relay", 0, 0, 0);
	if (pipe_open() != 0) {
		log_msg("error", "relay: pipe: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_relay_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	/* LISTEN and the relay's session lock need a session. */
	dc.conninfo = cfg->database_direct_url;
	dc.connect_timeout_s = cfg->connect_timeout_s;
	dc.statement_timeout_ms = cfg->statement_timeout_ms;
	dc.pooler = cfg->db_pooler;
	dc.session = 1;
	r.dl = db_live_new(&dc);
	nchan_pub_init(&r.pub, cfg->nchan_socket, RELAY_PUBLISH_TIMEOUT_MS);
	r.beat_ms = clock_mono_ms();
	while (!relay_stop) {
		if (!db_live_attached(r.dl) && relay_attach(&r) != 0)
			continue;
		now = clock_mono_ms();
		if (now >= r.beat_ms) {
			relay_beat(&r);
			r.beat_ms = now + RELAY_BEAT_MS;
		}
		due = r.state == RELAY_IDLE ? r.poll_ms : r.next_ms;
		if (due > r.beat_ms)
			due = r.beat_ms;
		timeout = due <= now ? 0 : (int)(due - now);
		ev = db_live_wait(r.dl, timeout, relay_pipe[0]);
		while (read(relay_pipe[0], b, sizeof(b)) > 0)
			;
		if (ev == DB_LIVE_LOST) {
			log_msg("warn", "relay: lost the database connection");
			continue;
		}
		if (relay_stop || ev == DB_LIVE_WOKEN)
			continue;
		/*
		 * A NOTIFY is taken at once unless busy (a new burst's first
		 * write: the last take found nothing); otherwise the take
		 * waits for its time (a heartbeat woke the loop, or a NOTIFY
		 * sent just before the writers were told to stop).
		 */
		now = clock_mono_ms();
		if (!(ev == DB_LIVE_NOTIFIED && r.state != RELAY_BUSY) &&
		    now < (r.state == RELAY_IDLE ? r.poll_ms : r.next_ms))
			continue;
		relay_next(&r, relay_drain(&r));
	}
	db_live_undo(r.dl);
	/* No relay listens now: writers need not notify. */
	if (db_live_attached(r.dl))
		(void)db_live_arm(r.dl, 0);
	nchan_pub_close(&r.pub);
	db_live_free(r.dl);
	close(relay_pipe[0]);
	close(relay_pipe[1]);
	relay_pipe[0] = relay_pipe[1] = -1;
	log_msg("info", "relay %ld stopped", (long)getpid());
	return EXIT_SUCCESS;
}
