#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "t/itsse.h"

static int
send_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read what comes within the deadline into b: 1 read, 0 EOF, -1 none. */
static int
read_some(int fd, struct buf *b, long long deadline)
{
	struct pollfd	 pfd;
	char		 chunk[16384];
	long long	 left;
	ssize_t		 n;

	for (;;) {
		left = deadline - it_mono_ms();
		if (left < 0)
			left = 0;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)left) <= 0)
			return -1;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n > 0) {
			buf_append(b, chunk, (size_t)n);
			return 1;
		}
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			return 0;
	}
}

/* Parse a response head ending at wire[head_len) into r (names lower). */
static void
head_parse(const char *wire, size_t head_len, struct it_resp *r)
{
	char	*h, *line, *next, *colon, *v;
	size_t	 i;

	h = xstrndup(wire, head_len);
	if (sscanf(h, "HTTP/1.%*d %d", &r->status) != 1)
		r->status = 0;
	for (line = strstr(h, "\r\n"); line != NULL && r->nheaders < 64;
	    line = next) {
		line += 2;
		if ((next = strstr(line, "\r\n")) != NULL)
			*next = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		for (i = 0; line[i] != '\0'; i++)
			line[i] = (char)tolower((unsigned char)line[i]);
		for (v = colon + 1; *v == ' '; v++)
			;
		r->headers[r->nheaders].name = xstrdup(line);
		r->headers[r->nheaders].value = xstrdup(v);
		r->nheaders++;
	}
	free(h);
}

/* The end of the head in b (just past the blank line), or 0. */
static size_t
head_end(const struct buf *b)
{
	const char	*e;

	if (b->data == NULL || (e = strstr(b->data, "\r\n\r\n")) == NULL)
		return 0;
	return (size_t)(e - b->data) + 4;
}

static void
queue_push(struct it_sse *s)
{
	struct it_sse_event	*e;

	if (s->qlen == s->qcap) {
		s->qcap = s->qcap ? 2 * s->qcap : 16;
		s->queue = xrealloc(s->queue, s->qcap * sizeof(*s->queue));
	}
	e = &s->queue[s->qlen++];
	memset(e, 0, sizeof(*e));
	snprintf(e->event, sizeof(e->event), "%s",
	    s->event[0] ? s->event : "message");
	snprintf(e->id, sizeof(e->id), "%s", s->last_id);
	/* The data buffer's last newline is dropped (the specification). */
	if (s->data.len > 0 && s->data.data[s->data.len - 1] == '\n')
		s->data.data[--s->data.len] = '\0';
	e->data = xstrdup(s->data.data ? s->data.data : "");
	e->json = json_tokener_parse(e->data);
}

/* One line of the stream (without its end). */
static void
sse_line(struct it_sse *s, const char *l, size_t n)
{
	const char	*colon, *v;
	size_t		 flen, vlen;

	if (n == 0) {
		if (s->data.len > 0)
			queue_push(s);
		buf_reset(&s->data);
		s->event[0] = '\0';
		return;
	}
	if (l[0] == ':') {
		s->comments++;		/* a comment (nchan's ": hi") */
		return;
	}
	colon = memchr(l, ':', n);
	flen = colon ? (size_t)(colon - l) : n;
	v = colon ? colon + 1 : l + n;
	if (colon && v < l + n && *v == ' ')
		v++;
	vlen = (size_t)(l + n - v);
	if (flen == 4 && strncmp(l, "data", 4) == 0) {
		buf_append(&s->data, v, vlen);
		buf_putc(&s->data, '\n');
	} else if (flen == 5 && strncmp(l, "event", 5) == 0)
		snprintf(s->event, sizeof(s->event), "%.*s", (int)vlen, v);
	else if (flen == 2 && strncmp(l, "id", 2) == 0)
		snprintf(s->last_id, sizeof(s->last_id), "%.*s", (int)vlen, v);
}

/* Body bytes of the stream (dechunked). */
static void
sse_bytes(struct it_sse *s, const char *p, size_t n)
{
	size_t	 i;

	buf_append(&s->raw, p, n);
	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			size_t	 len = s->line.len;

			if (len > 0 && s->line.data[len - 1] == '\r')
				len--;
			sse_line(s, s->line.data ? s->line.data : "", len);
			buf_reset(&s->line);
		} else
			buf_putc(&s->line, p[i]);
	}
}

/* Feed what is in s->wire, undoing chunked framing if need be. */
static void
feed(struct it_sse *s)
{
	char	*p = s->wire.data, *end = s->wire.data + s->wire.len, *eol;
	size_t	 take;

	if (!s->chunked) {
		sse_bytes(s, p, s->wire.len);
		buf_reset(&s->wire);
		return;
	}
	while (p < end) {
		if (s->chunk_left < 0) {
			if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
				break;
			s->chunk_left = strtoll(p, NULL, 16);
			p = eol + 1;
			if (s->chunk_left == 0)
				s->chunk_left = -2;	/* the last chunk */
			continue;
		}
		if (s->chunk_left == -2)
			break;
		take = (size_t)(end - p) < (size_t)s->chunk_left ?
		    (size_t)(end - p) : (size_t)s->chunk_left;
		sse_bytes(s, p, take);
		p += take;
		s->chunk_left -= (long long)take;
		if (s->chunk_left == 0) {
			if (end - p < 2)
				break;		/* the CRLF after it later */
			p += 2;
			s->chunk_left = -1;
		}
	}
	if (s->chunk_left == 0 && end - p >= 2) {
		p += 2;
		s->chunk_left = -1;
	}
	memmove(s->wire.data, p, (size_t)(end - p));
	s->wire.len = (size_t)(end - p);
	s->wire.data[s->wire.len] = '\0';
}

/*
 * GET target as an EventSource would (Accept: text/event-stream), with
 * more header lines if given.  Returns 0 once the response head came
 * (s->head.status; a refusal's whole body is read into s->head), -1
 * when none did.  Close with it_sse_close, which records the response
 * (its stream as far as it was read) for the contract check.
 */
int
it_sse_open(struct it_sse *s, const char *target, const char *const *headers)
{
	const char	*te, *cl;
	long long	 deadline = it_mono_ms() + 30000;
	size_t		 he, i;
	int		 r;

	memset(s, 0, sizeof(*s));
	s->chunk_left = -1;
	buf_printf(&s->req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Accept: text/event-stream\r\nCache-Control: no-cache\r\n", target);
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		buf_printf(&s->req, "%s\r\n", headers[i]);
	buf_puts(&s->req, "\r\n");
	if ((s->fd = it_connect()) < 0)
		return -1;
	if (send_all(s->fd, s->req.data, s->req.len) != 0)
		return -1;
	while ((he = head_end(&s->wire)) == 0)
		if (read_some(s->fd, &s->wire, deadline) != 1)
			return -1;
	head_parse(s->wire.data, he, &s->head);
	memmove(s->wire.data, s->wire.data + he, s->wire.len - he);
	s->wire.len -= he;
	s->wire.data[s->wire.len] = '\0';
	te = it_header(&s->head, "transfer-encoding");
	s->chunked = te != NULL && strcasecmp(te, "chunked") == 0;
	if (s->head.status == 200) {
		feed(s);
		return 0;
	}
	/* A refusal: read its body (Content-Length) and parse it. */
	cl = it_header(&s->head, "content-length");
	while (cl != NULL && s->wire.len < (size_t)atol(cl))
		if ((r = read_some(s->fd, &s->wire, deadline)) != 1)
			break;
	s->head.body = xstrndup(s->wire.data ? s->wire.data : "",
	    s->wire.len);
	s->head.body_len = s->wire.len;
	if (s->head.body_len > 0)
		s->head.json = json_tokener_parse(s->head.body);
	buf_reset(&s->wire);
	return 0;
}

/*
 * The next event, waiting at most timeout_ms: 1 with *e (release it),
 * 0 when none came in time, -1 when the stream ended.
 */
int
it_sse_next(struct it_sse *s, int timeout_ms, struct it_sse_event *e)
{
	long long	 deadline = it_mono_ms() + timeout_ms;
	int		 r;

	memset(e, 0, sizeof(*e));
	for (;;) {
		if (s->qhead < s->qlen) {
			*e = s->queue[s->qhead++];
			if (s->qhead == s->qlen)
				s->qhead = s->qlen = 0;
			return 1;
		}
		if (s->fd < 0 || s->head.status != 200)
			return -1;
		if ((r = read_some(s->fd, &s->wire, deadline)) == 0) {
			close(s->fd);
			s->fd = -1;
			return -1;
		}
		if (r < 0)
			return 0;
		feed(s);
	}
}

/*
 * Wait at most timeout_ms for the first comment line, which nchan
 * sends once the subscription is made (events that come meanwhile
 * stay queued).  1 when it came, 0 otherwise.
 */
int
it_sse_hello(struct it_sse *s, int timeout_ms)
{
	long long	 deadline = it_mono_ms() + timeout_ms;

	while (s->comments == 0) {
		if (s->fd < 0 || s->head.status != 200 ||
		    read_some(s->fd, &s->wire, deadline) != 1)
			return 0;
		feed(s);
	}
	return 1;
}

void
it_sse_event_release(struct it_sse_event *e)
{
	free(e->data);
	json_object_put(e->json);
	memset(e, 0, sizeof(*e));
}

void
it_sse_close(struct it_sse *s)
{
	size_t	 i;

	if (s->head.status == 200) {
		free(s->head.body);
		s->head.body = xstrndup(s->raw.data ? s->raw.data : "",
		    s->raw.len);
		s->head.body_len = s->raw.len;
	}
	if (s->head.status != 0)
		it_record(s->req.data, s->req.len, &s->head);
	if (s->fd >= 0)
		close(s->fd);
	for (i = s->qhead; i < s->qlen; i++)
		it_sse_event_release(&s->queue[i]);
	free(s->queue);
	it_resp_free(&s->head);
	buf_release(&s->req);
	buf_release(&s->raw);
	buf_release(&s->wire);
	buf_release(&s->line);
	buf_release(&s->data);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/*
 * A WebSocket subscription to target: 0 once the server answered the
 * handshake (ws->status: 101 when it was accepted), -1 otherwise.
 */
int
it_ws_open(struct it_ws *ws, const char *target)
{
	struct buf	 req = BUF_INIT;
	unsigned char	 key[16];
	char		 key64[32];
	long long	 deadline = it_mono_ms() + 30000;
	size_t		 he;
	struct it_resp	 h;

	memset(ws, 0, sizeof(*ws));
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(key64, sizeof(key64), key, sizeof(key),
	    sodium_base64_VARIANT_ORIGINAL);
	buf_printf(&req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
	    target, key64);
	if ((ws->fd = it_connect()) < 0 ||
	    send_all(ws->fd, req.data, req.len) != 0) {
		buf_release(&req);
		return -1;
	}
	buf_release(&req);
	while ((he = head_end(&ws->wire)) == 0)
		if (read_some(ws->fd, &ws->wire, deadline) != 1)
			return -1;
	memset(&h, 0, sizeof(h));
	head_parse(ws->wire.data, he, &h);
	ws->status = h.status;
	it_resp_free(&h);
	memmove(ws->wire.data, ws->wire.data + he, ws->wire.len - he);
	ws->wire.len -= he;
	return 0;
}

/*
 * The next text message, waiting at most timeout_ms: 1 with *text
 * (the caller frees), 0 when none came in time, -1 when it closed.
 * Control frames are skipped.
 */
int
it_ws_next(struct it_ws *ws, int timeout_ms, char **text)
{
	long long	 deadline = it_mono_ms() + timeout_ms;
	const unsigned char *p;
	unsigned long long len;
	size_t		 hl;
	int		 op, r;

	*text = NULL;
	for (;;) {
		p = (const unsigned char *)ws->wire.data;
		if (ws->wire.len >= 2) {
			op = p[0] & 0x0f;
			len = p[1] & 0x7f;
			hl = 2;
			if (len == 126 && ws->wire.len >= 4) {
				len = ((unsigned)p[2] << 8) | p[3];
				hl = 4;
			} else if (len == 127 && ws->wire.len >= 10) {
				len = 0;
				for (hl = 2; hl < 10; hl++)
					len = (len << 8) | p[hl];
			}
			if ((len < 126 || hl > 2) && ws->wire.len >= hl + len) {
				char	*t = xstrndup((const char *)p + hl,
				    (size_t)len);

				memmove(ws->wire.data, ws->wire.data + hl + len,
				    ws->wire.len - hl - (size_t)len);
				ws->wire.len -= hl + (size_t)len;
				if (op == 8) {
					free(t);
					return -1;
				}
				if (op == 1) {
					*text = t;
					return 1;
				}
				free(t);
				continue;
			}
		}
		if ((r = read_some(ws->fd, &ws->wire, deadline)) == 0)
			return -1;
		if (r < 0)
			return 0;
	}
}

void
it_ws_close(struct it_ws *ws)
{
	if (ws->fd >= 0)
		close(ws->fd);
	buf_release(&ws->wire);
	memset(ws, 0, sizeof(*ws));
	ws->fd = -1;
}
