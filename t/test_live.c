/* Unit tests of the live updates' pure parts: the subscription's query
 * check, the relay's coalescing, its messages, its lag buckets, nchan's
 * status text and the head of nchan's answers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <sodium.h>

#include "fcgi/nchan.h"
#include "handlers/handlers.h"
#include "handlers/live.h"
#include "cli/relay.h"

#define A	"3db7bfa1-1291-4da6-8969-c89b668446f9"
#define B	"87e9047a-861f-4fd7-a72e-946361e608fc"

static struct config cfg;

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.jwt_secret, "0123456789abcdef0123456789abcdef-unit", 37);
	cfg.jwt_secret_len = 37;
}

/* Parse query; the number of field errors (0: accepted). */
static size_t
parse(const char *query, struct live_request *lr, char *first, size_t fsz)
{
	struct field_errors	 fe;
	size_t			 n;
	int			 rc;

	field_errors_init(&fe);
	rc = live_request_parse(query, lr, &fe);
	n = fe.count;
	cr_assert_eq(rc, n > 0 ? -1 : 0);
	if (first != NULL)
		snprintf(first, fsz, "%s", fe.first.data ? fe.first.data : "");
	field_errors_release(&fe);
	return n;
}

Test(live_request, a_list_of_loop_song_and_user_channels_is_taken_in_order)
{
	struct live_request	 lr;

	cr_assert_eq(parse("channels=loop:" A ",song:" B ",user:" A, &lr,
	    NULL, 0), 0);
	cr_assert_eq(lr.n, 3);
	cr_assert_eq(lr.channels[0].kind, LIVE_LOOP);
	cr_assert_str_eq(lr.channels[0].id, A);
	cr_assert_eq(lr.channels[1].kind, LIVE_SONG);
	cr_assert_str_eq(lr.channels[1].id, B);
	cr_assert_eq(lr.channels[2].kind, LIVE_USER);
}

Test(live_request, the_token_and_nchans_resume_parameter_may_come_too)
{
	struct live_request	 lr;

	cr_assert_eq(parse("access_token=abc&channels=loop:" A
	    "&last_event_id=1:0", &lr, NULL, 0), 0);
	cr_assert_eq(lr.n, 1);
	cr_assert_eq(parse("channels=loop:" A "&&", &lr, NULL, 0), 0);
}

Test(live_request, a_missing_or_empty_list_is_refused)
{
	struct live_request	 lr;
	char			 first[256];

	cr_assert_eq(parse("", &lr, first, sizeof(first)), 1);
	cr_assert(strstr(first, "channels: is required") != NULL, "%s", first);
	cr_assert_eq(parse("channels=", &lr, NULL, 0), 1);
	cr_assert_eq(parse("channels", &lr, NULL, 0), 1);
}

Test(live_request, a_percent_encoded_list_is_refused_not_decoded)
{
	struct live_request	 lr;
	char			 first[256];

	cr_assert_eq(parse("channels=loop%3A" A, &lr, first, sizeof(first)),
	    1);
	cr_assert(strstr(first, "percent-encoded") != NULL, "%s", first);
	cr_assert_eq(parse("channels=loop:" A "%2Cuser:" A, &lr, NULL, 0), 1);
}

Test(live_request, each_bad_entry_is_named_by_its_position)
{
	struct live_request	 lr;
	struct field_errors	 fe;

	field_errors_init(&fe);
	cr_assert_eq(live_request_parse("channels=loop:" A ",bogus,song:x,"
	    "user:3DB7BFA1-1291-4DA6-8969-C89B668446F9,,feed:" A, &lr, &fe),
	    -1);
	cr_assert_eq(fe.count, 5);
	cr_assert(strstr(fe.json.data, "\"channels[1]\"") != NULL);
	cr_assert(strstr(fe.json.data, "\"channels[2]\"") != NULL);
	cr_assert(strstr(fe.json.data, "\"channels[3]\"") != NULL,
	    "an upper-case id is refused: nchan's ids are case-sensitive");
	cr_assert(strstr(fe.json.data, "\"channels[4]\"") != NULL);
	cr_assert(strstr(fe.json.data, "\"channels[5]\"") != NULL);
	cr_assert(strstr(fe.json.data, "\"channels[0]\"") == NULL);
	field_errors_release(&fe);
}

Test(live_request, a_channel_named_twice_is_refused)
{
	struct live_request	 lr;
	char			 first[256];

	cr_assert_eq(parse("channels=loop:" A ",loop:" A, &lr, first,
	    sizeof(first)), 1);
	cr_assert(strstr(first, "channels[1]") != NULL, "%s", first);
	/* The same id in two kinds is two channels. */
	cr_assert_eq(parse("channels=loop:" A ",song:" A, &lr, NULL, 0), 0);
}

Test(live_request, at_most_100_channels)
{
	struct live_request	 lr;
	struct buf		 q = BUF_INIT;
	char			 first[256];
	int			 i;

	buf_puts(&q, "channels=");
	for (i = 0; i < LIVE_MAX_CHANNELS; i++)
		buf_printf(&q, "%sloop:%08x-0000-4000-8000-000000000000",
		    i ? "," : "", i);
	cr_assert_eq(parse(q.data, &lr, NULL, 0), 0);
	cr_assert_eq(lr.n, LIVE_MAX_CHANNELS);
	buf_puts(&q, ",loop:ffffffff-0000-4000-8000-000000000000");
	cr_assert_eq(parse(q.data, &lr, first, sizeof(first)), 1);
	cr_assert(strstr(first, "more than 100") != NULL, "%s", first);
	buf_release(&q);
}

Test(live_request, the_list_given_twice_in_any_case_is_refused)
{
	struct live_request	 lr;
	char			 first[256];

	/* nginx's $arg_channels takes the first, ignoring case. */
	cr_assert_eq(parse("channels=loop:" A "&Channels=user:" B, &lr,
	    first, sizeof(first)), 1);
	cr_assert(strstr(first, "given once") != NULL, "%s", first);
}

Test(live_request, an_unknown_parameter_is_named)
{
	struct live_request	 lr;
	char			 first[256];

	cr_assert_eq(parse("channels=loop:" A "&since=1", &lr, first,
	    sizeof(first)), 1);
	cr_assert_str_eq(first, "since: is not a parameter of this route");
	cr_assert_eq(parse("channels=loop:" A "&%00%ff=1", &lr, first,
	    sizeof(first)), 1);
	cr_assert_str_eq(first, "query: is not a parameter of this route");
}

static struct db_live_row
row(long long id, const char *channel, const char *event, const char *item,
    const char *data)
{
	struct db_live_row	 r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.channel = xstrdup(channel);
	r.event = xstrdup(event);
	r.item = xstrdup(item);
	r.data = xstrdup(data);
	snprintf(r.at, sizeof(r.at), "2026-12-01T10:00:00.000Z");
	return r;
}

static void
rows_free(struct db_live_row *r, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(r[i].channel);
		free(r[i].event);
		free(r[i].item);
		free(r[i].data);
	}
}

Test(relay_coalesce, only_the_newest_row_of_a_channel_event_and_item_is_kept)
{
	struct db_live_row	 rows[7];
	size_t			 keep[7], n;

	rows[0] = row(10, "loop:" A, "counters", A, "{\"likesCount\":1}");
	rows[1] = row(11, "user:" B, "like", "loop:" A, "{}");
	rows[2] = row(12, "loop:" A, "counters", A, "{\"likesCount\":2}");
	rows[3] = row(13, "loop:" A, "changed", A, "{}");
	rows[4] = row(14, "user:" B, "like", "loop:" A, "{}");
	rows[5] = row(15, "loop:" A, "counters", A, "{\"likesCount\":3}");
	rows[6] = row(16, "user:" B, "sync", "", "{}");
	n = relay_coalesce(rows, 7, keep);
	cr_assert_eq(n, 4);
	/* In queue order: the last state of each comes last of all. */
	cr_assert_eq(keep[0], 3);
	cr_assert_eq(keep[1], 4);
	cr_assert_eq(keep[2], 5);
	cr_assert_eq(keep[3], 6);
	rows_free(rows, 7);
}

Test(relay_coalesce, a_thousand_likes_of_one_loop_make_one_message)
{
	struct db_live_row	 rows[1000];
	size_t			 keep[1000];
	char			 data[1000][32];
	int			 i;

	for (i = 0; i < 1000; i++) {
		snprintf(data[i], sizeof(data[i]), "{\"likesCount\":%d}", i + 1);
		rows[i] = row(i + 1, "loop:" A, "counters", A, data[i]);
	}
	cr_assert_eq(relay_coalesce(rows, 1000, keep), 1);
	cr_assert_eq(keep[0], 999);
	cr_assert_eq(relay_coalesce(rows, 0, keep), 0);
	rows_free(rows, 1000);
}

Test(relay_coalesce, removed_then_public_again_ends_with_changed)
{
	struct db_live_row	 rows[3];
	size_t			 keep[3];

	rows[0] = row(1, "loop:" A, "changed", A, "{}");
	rows[1] = row(2, "loop:" A, "removed", A, "{}");
	rows[2] = row(3, "loop:" A, "changed", A, "{}");
	cr_assert_eq(relay_coalesce(rows, 3, keep), 2);
	cr_assert_eq(keep[0], 1);
	cr_assert_eq(keep[1], 2);
	rows_free(rows, 3);
}

static json_object *
message(const struct db_live_row *r)
{
	struct buf	 b = BUF_INIT;
	json_object	*o;

	cr_assert_eq(relay_message(&cfg, r, &b), 0);
	o = json_tokener_parse(b.data);
	cr_assert_not_null(o, "%s", b.data);
	buf_release(&b);
	return o;
}

static const char *
str(json_object *o, const char *k)
{
	json_object	*v;

	return json_object_object_get_ex(o, k, &v) ?
	    json_object_get_string(v) : NULL;
}

Test(relay_message, a_message_carries_event_channel_data_time_and_sequence,
    .init = setup)
{
	struct db_live_row	 r;
	json_object		*o, *v;

	r = row(42, "loop:" A, "counters", A, "{\"id\": \"" A "\", "
	    "\"type\": \"loop\", \"version\": 3, \"likesCount\": 7, "
	    "\"playsCount\": 9, \"remixesCount\": 0}");
	o = message(&r);
	cr_assert_str_eq(str(o, "event"), "counters");
	cr_assert_str_eq(str(o, "channel"), "loop:" A);
	cr_assert_str_eq(str(o, "type"), "loop");
	cr_assert_str_eq(str(o, "id"), A);
	cr_assert(json_object_object_get_ex(o, "version", &v));
	cr_assert_eq(json_object_get_int(v), 3);
	cr_assert(json_object_object_get_ex(o, "likesCount", &v));
	cr_assert_eq(json_object_get_int(v), 7);
	cr_assert_str_eq(str(o, "at"), "2026-12-01T10:00:00.000Z");
	cr_assert(json_object_object_get_ex(o, "seq", &v));
	cr_assert_eq(json_object_get_int64(v), 42);
	json_object_put(o);
	rows_free(&r, 1);
}

Test(relay_message, a_sync_message_carries_the_cursor_of_a_pull_to_that_change,
    .init = setup)
{
	struct db_live_row	 r;
	json_object		*o;
	char			*want;
	long long		 pos, mark;

	r = row(7, "user:" A, "sync", "", "{\"changeSeq\": 12}");
	o = message(&r);
	want = sync_cursor_encode(&cfg, A, 12, 12);
	cr_assert_str_eq(str(o, "cursor"), want);
	cr_assert_null(str(o, "changeSeq"));
	cr_assert_eq(sync_cursor_decode(&cfg, A, str(o, "cursor"), &pos,
	    &mark), 0);
	cr_assert_eq(pos, 12);
	cr_assert_eq(sync_cursor_decode(&cfg, B, str(o, "cursor"), &pos,
	    &mark), -1, "another user cannot use it");
	free(want);
	json_object_put(o);
	rows_free(&r, 1);
}

Test(relay_message, a_row_that_is_no_json_object_is_not_published,
    .init = setup)
{
	struct db_live_row	 r;
	struct buf		 b = BUF_INIT;

	r = row(1, "loop:" A, "changed", A, "[1]");
	cr_assert_eq(relay_message(&cfg, &r, &b), -1);
	rows_free(&r, 1);
	r = row(2, "user:" A, "sync", "", "{\"changeSeq\": \"x\"}");
	cr_assert_eq(relay_message(&cfg, &r, &b), -1);
	rows_free(&r, 1);
	r = row(3, "loop:" A, "sync", "", "{\"changeSeq\": 1}");
	cr_assert_eq(relay_message(&cfg, &r, &b), -1);
	rows_free(&r, 1);
	buf_release(&b);
}

Test(relay_lag, a_lag_falls_in_the_first_bucket_that_holds_it)
{
	cr_assert_eq(relay_lag_bucket(0), 0);
	cr_assert_eq(relay_lag_bucket(0.005), 0);
	cr_assert_eq(relay_lag_bucket(0.0051), 1);
	cr_assert_eq(relay_lag_bucket(0.3), 6);
	cr_assert_eq(relay_lag_bucket(10), DB_LIVE_BUCKETS - 2);
	cr_assert_eq(relay_lag_bucket(3600), DB_LIVE_BUCKETS - 1);
}

Test(relay_status, nchans_stub_status_gives_subscribers_channels_and_messages)
{
	struct db_live_status	 st;

	cr_assert_eq(relay_status_parse("total published messages: 3\n"
	    "stored messages: 5\nshared memory used: 28K\n"
	    "channels: 2\nsubscribers: 2000\nnchan version: 1.3.6\n", &st), 0);
	cr_assert(st.known);
	cr_assert_eq(st.subscribers, 2000);
	cr_assert_eq(st.channels, 2);
	cr_assert_eq(st.stored_messages, 5);
	cr_assert_eq(relay_status_parse("<html>404</html>", &st), -1);
	cr_assert(!st.known);
}

static int
head(const char *s, struct nchan_head *h)
{
	return nchan_response_head(s, strlen(s), h);
}

Test(nchan_head, a_complete_head_gives_status_length_and_connection)
{
	struct nchan_head	 h;
	const char		*r = "HTTP/1.1 201 Created\r\nServer: nginx\r\n"
	    "Content-Type: text/json\r\nContent-Length: 86\r\n"
	    "Connection: keep-alive\r\n\r\n{\"messages\"";

	cr_assert_eq(nchan_response_head(r, strlen(r), &h), 1);
	cr_assert_eq(h.status, 201);
	cr_assert_eq(h.content_length, 86);
	cr_assert_eq(h.close, 0);
	cr_assert_eq(h.head_len, (size_t)(strstr(r, "{") - r));
}

Test(nchan_head, a_partial_head_needs_more_and_garbage_is_refused)
{
	struct nchan_head	 h;
	const char		*part = "HTTP/1.1 202 Accepted\r\nContent-Le";
	const char		*close = "HTTP/1.0 200 OK\r\n\r\n";
	const char		*keep = "HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\n"
	    "content-length: 0\r\n\r\n";

	cr_assert_eq(nchan_response_head(part, strlen(part), &h), 0);
	cr_assert_eq(head("SSH-2.0\r\n\r\n", &h), -1);
	cr_assert_eq(head("HTTP/1.1 2x0 OK\r\n\r\n", &h), -1);
	cr_assert_eq(head("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    &h), -1);
	cr_assert_eq(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n", &h), -1);
	cr_assert_eq(nchan_response_head(close, strlen(close), &h), 1);
	cr_assert_eq(h.close, 1);
	cr_assert_eq(h.content_length, -1);
	cr_assert_eq(nchan_response_head(keep, strlen(keep), &h), 1);
	cr_assert_eq(h.close, 0);
	cr_assert_eq(h.content_length, 0);
}

Test(nchan_head, a_head_that_never_ends_is_refused_past_16_KiB)
{
	struct nchan_head	 h;
	char			*big;

	big = malloc(20000);
	memset(big, 'a', 20000);
	memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
	cr_assert_eq(nchan_response_head(big, 20000, &h), -1);
	cr_assert_eq(nchan_response_head(big, 1000, &h), 0);
	free(big);
}
