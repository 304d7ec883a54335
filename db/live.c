/*
 * Live updates: the outbox of migration 0020 as `mpapi relay` takes it,
 * on a connection of its own that LISTENs and holds the relay's
 * advisory lock (one relay publishes at a time; a second one waits as
 * a standby), and what the workers need of it: the check of a user
 * channel's subscriber, the relay's counters for /metrics, the purge.
 *
 * The relay's transaction: db_live_take deletes a batch of rows in
 * queue order and leaves the transaction open while the relay
 * publishes them; db_live_done adds to the counters and commits,
 * db_live_undo rolls back (nginx could not be reached: the rows are
 * taken again later).  A relay killed in between publishes those rows
 * once more after its restart: at least once, never lost.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "base/log.h"
#include "db/db_int.h"

/* The migration that made the tables below. */
#define LIVE_MIGRATION	20

/* Upper bounds of the lag histogram's buckets, seconds. */
const double	 db_live_bounds[DB_LIVE_BUCKETS - 1] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

struct db_live {
	struct db	*db;
	unsigned	 gen;		/* connection LISTEN was sent on */
	int		 attached;	/* LISTENing and holding the lock */
	int		 ever;		/* was attached before */
};

static struct db_stmt st_lock = DB_STMT("live_lock",
    "SELECT pg_try_advisory_lock(hashtextextended('mpapi relay', 0))", 0);

static struct db_stmt st_arm = DB_STMT("live_arm",
    "UPDATE live_wakeup SET armed = $1::boolean "
    "WHERE armed IS DISTINCT FROM $1::boolean", 1);

/*
 * One batch in queue order.  Rows committed late with a lower id are
 * not skipped: nothing here remembers a position, each take deletes
 * what it saw and the next sees the rest.
 */
static struct db_stmt st_take = DB_STMT("live_take",
    "DELETE FROM live_outbox WHERE id = ANY (ARRAY("
    "SELECT id FROM live_outbox ORDER BY id LIMIT $1::int)) "
    "RETURNING id, channel, event, item, data::text, api_ts(created_at), "
    "extract(epoch FROM clock_timestamp() - created_at)::float8", 1);

static struct db_stmt st_note = DB_STMT("live_note",
    "UPDATE live_relay SET published = published + $1::bigint, "
    "coalesced = coalesced + $2::bigint, failed = failed + $3::bigint, "
    "db_reconnects = db_reconnects + $4::bigint, "
    "nginx_reconnects = nginx_reconnects + $5::bigint, "
    "starts = starts + $6::bigint, lag_count = lag_count + $7::bigint, "
    "lag_sum_s = lag_sum_s + $8::float8, "
    "lag_buckets = ARRAY(SELECT t.a + t.b FROM unnest(lag_buckets, "
    "$9::bigint[]) WITH ORDINALITY AS t(a, b, i) ORDER BY t.i), "
    "pid = $10::int, seen_at = now(), "
    "subscribers = coalesce($11::bigint, subscribers), "
    "channels = coalesce($12::bigint, channels), "
    "stored_messages = coalesce($13::bigint, stored_messages)", 13);

static struct db_stmt st_subscriber = DB_STMT_RO("live_subscriber",
    "SELECT count(*) FROM users WHERE id = $1::uuid "
    "AND token_version = $2::int", 2);

static struct db_stmt st_metrics = DB_STMT_RO("live_metrics",
    "SELECT r.published, r.coalesced, r.failed, r.db_reconnects, "
    "r.nginx_reconnects, r.starts, r.lag_count, r.lag_sum_s, "
    "array_to_string(r.lag_buckets, ','), "
    "extract(epoch FROM now() - r.seen_at)::float8, r.subscribers, "
    "r.channels, r.stored_messages, "
    "(SELECT count(*) FROM (SELECT 1 FROM live_outbox LIMIT 100000) o), "
    "coalesce(extract(epoch FROM now() - (SELECT o.created_at "
    "FROM live_outbox o ORDER BY o.id LIMIT 1))::float8, 0) "
    "FROM live_relay r", 0);

static struct db_stmt st_purge = DB_STMT("live_purge",
    "DELETE FROM live_outbox WHERE id = ANY (ARRAY("
    "SELECT id FROM live_outbox "
    "WHERE created_at <= now() - make_interval(secs => $1::int) "
    "ORDER BY id LIMIT $2::int))", 2);

/* A handle for the relay; connects on first use. */
struct db_live *
db_live_new(const struct db_config *cfg)
{
	struct db_live	*l;

	l = xcalloc(1, sizeof(*l));
	l->db = db_new(cfg);
	return l;
}

void
db_live_free(struct db_live *l)
{
	if (l == NULL)
		return;
	db_free(l->db);
	free(l);
}

/*
 * 1 while the connection that LISTENs and holds the lock is still the
 * one open.  Every relay statement checks it first, so a statement
 * never runs on a fresh connection that has neither (db_exec would
 * open one by itself).
 */
int
db_live_attached(struct db_live *l)
{
	PGconn	*c = db_conn(l->db);

	if (!l->attached || c == NULL || PQstatus(c) != CONNECTION_OK ||
	    db_generation(l->db) != l->gen)
		l->attached = 0;
	return l->attached;
}

/* Forget the session (the caller saw it fail). */
void
db_live_detach(struct db_live *l)
{
	l->attached = 0;
}

/*
 * Connect if need be, take the relay's lock and LISTEN.  On DB_OK
 * *leader is 1 when this relay holds the lock (0: another one does;
 * try again later), and *reattached 1 when it had been attached before
 * (a reconnect).
 */
enum db_status
db_live_attach(struct db_live *l, int *leader, int *reattached)
{
	PGresult	*res;
	enum db_status	 s;
	int		 got;

	*leader = *reattached = 0;
	if (db_live_attached(l)) {
		*leader = 1;
		return DB_OK;
	}
	/*
	 * A connection that died inside a take's transaction is not
	 * reopened until its request ends (db_connected); for the relay
	 * that take is over once it attaches again, so end it here, or the
	 * relay would never reconnect after PostgreSQL died mid-take.
	 */
	if (!db_connected(l->db)) {
		db_end_request(l->db);
		if (!db_connected(l->db))
			return DB_UNAVAILABLE;
	}
	if ((s = db_exec(l->db, &st_lock, NULL, &res)) != DB_OK)
		return s;
	got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!got)
		return DB_OK;
	if ((s = db_exec_simple(l->db, "LISTEN mpapi_live")) != DB_OK)
		return s;
	l->gen = db_generation(l->db);
	l->attached = 1;
	*reattached = l->ever;
	l->ever = 1;
	*leader = 1;
	return DB_OK;
}

/* Drop the notifications libpq has read; 1 if there were any. */
static int
notifies_drain(PGconn *c)
{
	PGnotify	*n;
	int		 got = 0;

	while ((n = PQnotifies(c)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}

/*
 * Sleep until a NOTIFY arrives, wake_fd (if >= 0) becomes readable, a
 * signal interrupts (DB_LIVE_WOKEN) or timeout_ms pass.  DB_LIVE_LOST
 * when the connection is gone (the caller attaches again).
 */
enum db_live_event
db_live_wait(struct db_live *l, int timeout_ms, int wake_fd)
{
	struct pollfd	 pfd[2];
	PGconn		*c;
	nfds_t		 n = 1;
	int		 r;

	if (!db_live_attached(l))
		return DB_LIVE_LOST;
	c = db_conn(l->db);
	if (!PQconsumeInput(c))
		goto lost;
	if (notifies_drain(c))
		return DB_LIVE_NOTIFIED;
	pfd[0].fd = PQsocket(c);
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	if (wake_fd >= 0) {
		pfd[1].fd = wake_fd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		n = 2;
	}
	r = poll(pfd, n, timeout_ms);
	if (r < 0)
		return errno == EINTR ? DB_LIVE_WOKEN : DB_LIVE_TIMEOUT;
	if (r == 0)
		return DB_LIVE_TIMEOUT;
	if (pfd[0].revents != 0) {
		if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)
			goto lost;
		if (notifies_drain(c))
			return DB_LIVE_NOTIFIED;
	}
	return n == 2 && pfd[1].revents != 0 ? DB_LIVE_WOKEN :
	    DB_LIVE_TIMEOUT;
lost:
	l->attached = 0;
	return DB_LIVE_LOST;
}

/*
 * Tell writers whether to NOTIFY (armed: the relay sleeps until one
 * comes) or not (the relay is polling anyway).  See 0020.
 */
enum db_status
db_live_arm(struct db_live *l, int armed)
{
	const char	*p[1];
	PGresult	*res;
	enum db_status	 s;

	if (!db_live_attached(l))
		return DB_UNAVAILABLE;
	p[0] = armed ? "true" : "false";
	if ((s = db_exec(l->db, &st_arm, p, &res)) == DB_OK)
		PQclear(res);
	return s;
}

static int
row_cmp(const void *a, const void *b)
{
	const struct db_live_row *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

void
db_live_batch_release(struct db_live_batch *b)
{
	size_t	 i;

	for (i = 0; i < b->n; i++) {
		free(b->rows[i].channel);
		free(b->rows[i].event);
		free(b->rows[i].item);
		free(b->rows[i].data);
	}
	free(b->rows);
	memset(b, 0, sizeof(*b));
}

/*
 * Take up to limit rows, oldest first, into *b (owned by b).  With
 * rows, the transaction that deleted them stays open: the caller ends
 * it with db_live_done (published) or db_live_undo (not).  With none,
 * nothing stays open.
 */
enum db_status
db_live_take(struct db_live *l, int limit, struct db_live_batch *b)
{
	struct db_live_row	*r;
	char			 lim[16];
	const char		*p[1];
	PGresult		*res;
	enum db_status		 s;
	int			 i, n;

	memset(b, 0, sizeof(*b));
	if (!db_live_attached(l))
		return DB_UNAVAILABLE;
	if ((s = db_exec_simple(l->db, "BEGIN")) != DB_OK)
		return s;
	snprintf(lim, sizeof(lim), "%d", limit);
	p[0] = lim;
	if ((s = db_exec(l->db, &st_take, p, &res)) != DB_OK) {
		db_live_undo(l);
		return s;
	}
	if ((n = PQntuples(res)) == 0) {
		PQclear(res);
		db_live_undo(l);
		return DB_OK;
	}
	b->rows = xcalloc((size_t)n, sizeof(*b->rows));
	for (i = 0; i < n; i++) {
		r = &b->rows[i];
		r->id = atoll(PQgetvalue(res, i, 0));
		r->channel = xstrdup(PQgetvalue(res, i, 1));
		r->event = xstrdup(PQgetvalue(res, i, 2));
		r->item = xstrdup(PQgetvalue(res, i, 3));
		r->data = xstrdup(PQgetvalue(res, i, 4));
		snprintf(r->at, sizeof(r->at), "%s", PQgetvalue(res, i, 5));
		r->age_s = atof(PQgetvalue(res, i, 6));
	}
	b->n = (size_t)n;
	PQclear(res);
	qsort(b->rows, b->n, sizeof(*b->rows), row_cmp);
	return DB_OK;
}

/*
 * Add d to the relay's counters, record st (when known) and the time
 * it was last seen, and commit the batch taken before, if one is open.
 * Without one it is a statement of its own (the heartbeat).
 */
enum db_status
db_live_done(struct db_live *l, const struct db_live_delta *d,
    const struct db_live_status *st)
{
	char		 v[13][32];
	const char	*p[13];
	struct buf	 buckets = BUF_INIT;
	PGresult	*res;
	enum db_status	 s;
	int		 i, open;

	if (!db_live_attached(l))
		return DB_UNAVAILABLE;
	open = db_in_transaction(l->db);
	snprintf(v[0], sizeof(v[0]), "%lld", d->published);
	snprintf(v[1], sizeof(v[1]), "%lld", d->coalesced);
	snprintf(v[2], sizeof(v[2]), "%lld", d->failed);
	snprintf(v[3], sizeof(v[3]), "%lld", d->db_reconnects);
	snprintf(v[4], sizeof(v[4]), "%lld", d->nginx_reconnects);
	snprintf(v[5], sizeof(v[5]), "%lld", d->starts);
	snprintf(v[6], sizeof(v[6]), "%lld", d->lag_count);
	snprintf(v[7], sizeof(v[7]), "%.6f", d->lag_sum_s);
	buf_putc(&buckets, '{');
	for (i = 0; i < DB_LIVE_BUCKETS; i++)
		buf_printf(&buckets, "%s%lld", i ? "," : "", d->lag_buckets[i]);
	buf_putc(&buckets, '}');
	snprintf(v[9], sizeof(v[9]), "%ld", (long)getpid());
	snprintf(v[10], sizeof(v[10]), "%lld", st->subscribers);
	snprintf(v[11], sizeof(v[11]), "%lld", st->channels);
	snprintf(v[12], sizeof(v[12]), "%lld", st->stored_messages);
	for (i = 0; i < 13; i++)
		p[i] = v[i];
	p[8] = buckets.data;
	if (!st->known)
		p[10] = p[11] = p[12] = NULL;
	s = db_exec(l->db, &st_note, p, &res);
	buf_release(&buckets);
	if (s != DB_OK) {
		db_live_undo(l);
		return s;
	}
	PQclear(res);
	if (open && (s = db_exec_simple(l->db, "COMMIT")) != DB_OK)
		return s;
	return DB_OK;
}

/* Roll back the batch taken, if a transaction is open. */
void
db_live_undo(struct db_live *l)
{
	if (db_in_transaction(l->db))
		(void)db_exec_simple(l->db, "ROLLBACK");
}

/*
 * Whether the account of a token (user id, token version) still
 * accepts it, for a subscription to its user channel: *ok 1 or 0.
 * (A signed-out token is refused by the gate the dispatcher arms on
 * this statement.)
 */
enum db_status
db_live_subscriber(struct db *db, const char *user_id, long long token_ver,
    int *ok)
{
	char		 ver[24];
	const char	*p[2];
	PGresult	*res;
	enum db_status	 s;

	*ok = 0;
	snprintf(ver, sizeof(ver), "%lld", token_ver);
	p[0] = user_id;
	p[1] = ver;
	if ((s = db_exec(db, &st_subscriber, p, &res)) != DB_OK)
		return s;
	*ok = atoll(PQgetvalue(res, 0, 0)) == 1;
	PQclear(res);
	return DB_OK;
}

static void
metric(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * The relay's counters (as it last recorded them in live_relay), its
 * lag histogram, nchan's own figures and what waits in the outbox, as
 * Prometheus text appended to b.  Nothing for a schema older than
 * this code's migration.
 */
enum db_status
db_live_metrics(struct db *db, int schema_version, struct buf *b)
{
	PGresult	*res;
	enum db_status	 s;
	const char	*v;
	char		*list, *tok, *save = NULL;
	long long	 cum = 0;
	int		 i;

	if (schema_version < LIVE_MIGRATION)
		return DB_OK;
	if ((s = db_exec(db, &st_metrics, NULL, &res)) != DB_OK)
		return s;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_OK;
	}
	metric(b, "mpapi_live_published_total", "counter",
	    "Messages the relay published to nchan.");
	buf_printf(b, "mpapi_live_published_total %s\n", PQgetvalue(res, 0, 0));
	metric(b, "mpapi_live_coalesced_total", "counter",
	    "Queued messages not published because a newer one of the same "
	    "channel, event and item was published instead.");
	buf_printf(b, "mpapi_live_coalesced_total %s\n", PQgetvalue(res, 0, 1));
	metric(b, "mpapi_live_failed_total", "counter",
	    "Messages nchan refused (dropped after logging).");
	buf_printf(b, "mpapi_live_failed_total %s\n", PQgetvalue(res, 0, 2));
	metric(b, "mpapi_live_reconnects_total", "counter",
	    "Connections the relay opened again after losing them.");
	buf_printf(b, "mpapi_live_reconnects_total{peer=\"database\"} %s\n"
	    "mpapi_live_reconnects_total{peer=\"nginx\"} %s\n",
	    PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4));
	metric(b, "mpapi_live_relay_starts_total", "counter",
	    "Times a relay took the lead (started, or took over).");
	buf_printf(b, "mpapi_live_relay_starts_total %s\n",
	    PQgetvalue(res, 0, 5));
	metric(b, "mpapi_live_lag_seconds", "histogram",
	    "From a message's write (inside its transaction) to nchan's "
	    "answer to its publication.");
	list = xstrdup(PQgetvalue(res, 0, 8));
	for (i = 0, tok = strtok_r(list, ",", &save);
	    tok != NULL && i < DB_LIVE_BUCKETS;
	    i++, tok = strtok_r(NULL, ",", &save)) {
		cum += atoll(tok);
		if (i < DB_LIVE_BUCKETS - 1)
			buf_printf(b, "mpapi_live_lag_seconds_bucket{le=\"%g\"} "
			    "%lld\n", db_live_bounds[i], cum);
		else
			buf_printf(b, "mpapi_live_lag_seconds_bucket"
			    "{le=\"+Inf\"} %lld\n", cum);
	}
	free(list);
	buf_printf(b, "mpapi_live_lag_seconds_sum %s\n"
	    "mpapi_live_lag_seconds_count %s\n", PQgetvalue(res, 0, 7),
	    PQgetvalue(res, 0, 6));
	metric(b, "mpapi_live_outbox_rows", "gauge",
	    "Messages waiting for the relay (counted up to 100000).");
	buf_printf(b, "mpapi_live_outbox_rows %s\n", PQgetvalue(res, 0, 13));
	metric(b, "mpapi_live_outbox_oldest_seconds", "gauge",
	    "Age of the oldest message waiting for the relay (0: none).");
	buf_printf(b, "mpapi_live_outbox_oldest_seconds %s\n",
	    PQgetvalue(res, 0, 14));
	if ((v = db_value(res, 0, 9)) != NULL) {
		metric(b, "mpapi_live_relay_seen_seconds", "gauge",
		    "Seconds since the relay last recorded its counters "
		    "(it does at least every 5 s while it leads).");
		buf_printf(b, "mpapi_live_relay_seen_seconds %s\n", v);
	}
	if ((v = db_value(res, 0, 10)) != NULL) {
		metric(b, "mpapi_live_subscribers", "gauge",
		    "Subscribers nchan held when the relay last asked.");
		buf_printf(b, "mpapi_live_subscribers %s\n", v);
		metric(b, "mpapi_live_channels", "gauge",
		    "Channels nchan held when the relay last asked.");
		buf_printf(b, "mpapi_live_channels %s\n",
		    PQgetvalue(res, 0, 11));
		metric(b, "mpapi_live_stored_messages", "gauge",
		    "Messages nchan kept for resuming subscribers when the "
		    "relay last asked.");
		buf_printf(b, "mpapi_live_stored_messages %s\n",
		    PQgetvalue(res, 0, 12));
	}
	PQclear(res);
	return DB_OK;
}

/*
 * `mpapi purge`: one batch of at most `batch` queued messages older
 * than age_s, which no relay published (none ran).  *deleted is how
 * many went.
 */
enum db_status
db_live_purge(struct db *db, int age_s, int batch, long long *deleted)
{
	char		 a[16], n[16];
	const char	*p[2];
	PGresult	*res;
	enum db_status	 s;

	*deleted = 0;
	snprintf(a, sizeof(a), "%d", age_s);
	snprintf(n, sizeof(n), "%d", batch);
	p[0] = a;
	p[1] = n;
	if ((s = db_exec(db, &st_purge, p, &res)) != DB_OK)
		return s;
	*deleted = atoll(PQcmdTuples(res));
	PQclear(res);
	return DB_OK;
}
