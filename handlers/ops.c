#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers/handlers.h"

/* GET /health: liveness, never touches the database. */
void
ops_health(struct ctx *c)
{
	struct timespec	 ts;
	char		 body[96], when[40];
	int		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	http_format_time(when, sizeof(when),
	    (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	n = snprintf(body, sizeof(body),
	    "{\"status\":\"ok\",\"timestamp\":\"%s\"}", when);
	http_response_json(c->resp, 200, body, (size_t)n);
}

/*
 * GET /ready: 200 when the database answers and the schema is at the
 * migration this build expects or past it (a newer binary migrated
 * first: migrations are written so the previous release still runs on
 * them, and a rolling upgrade keeps the old hosts serving); 503 with
 * Retry-After while the database is down or behind this build.
 */
void
ops_ready(struct ctx *c)
{
	enum db_status	 s;
	char		 body[160];
	int		 version, n;

	s = db_ready(c->db, &version);
	if (s != DB_OK) {
		http_set_header(c->resp, "Retry-After", "5");
		reply_problem(c, 503, "not-ready", "Not ready",
		    s == DB_UNAVAILABLE ? "The database does not answer." :
		    "The database answered with an error.");
		return;
	}
	if (version < db_latest_migration()) {
		http_set_header(c->resp, "Retry-After", "5");
		n = snprintf(body, sizeof(body), "\"schemaVersion\":%d,"
		    "\"expectedSchemaVersion\":%d", version,
		    db_latest_migration());
		http_problem(c->resp, 503, "not-ready", "Not ready",
		    "The schema is not at the expected migration.", body);
		(void)n;
		return;
	}
	n = snprintf(body, sizeof(body),
	    "{\"status\":\"ready\",\"schemaVersion\":%d,"
	    "\"expectedSchemaVersion\":%d}", version, db_latest_migration());
	http_response_json(c->resp, 200, body, (size_t)n);
}

/* GET /metrics: Prometheus text, no per-user data. */
void
ops_metrics(struct ctx *c)
{
	enum db_status	 s;
	char		*text;

	if ((s = db_metrics(c->db, &text)) != DB_OK) {
		reply_db_error(c, s);
		return;
	}
	c->resp->status = 200;
	c->resp->content_type = "text/plain; version=0.0.4";
	buf_reset(&c->resp->body);
	buf_puts(&c->resp->body, text);
	c->resp->written = 1;
	free(text);
}
