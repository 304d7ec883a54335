#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "fcgi/nchan.h"

/* The publisher location of deploy/nginx/mpapi.conf: /pub/<channel>. */
#define NCHAN_PUB_PREFIX	"/pub/"
#define NCHAN_HEAD_MAX		16384

void
nchan_pub_init(struct nchan_pub *p, const char *path, int timeout_ms)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->path, sizeof(p->path), "%s", path);
	p->fd = -1;
	p->timeout_ms = timeout_ms;
}

void
nchan_pub_close(struct nchan_pub *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	buf_release(&p->in);
}

static int
pub_connect(struct nchan_pub *p)
{
	struct sockaddr_un	 sa;
	int			 fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(p->path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, p->path, strlen(p->path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0)
		return -1;
	/* A unix socket connects at once, or not (EAGAIN: backlog full). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	p->fd = fd;
	p->opens++;
	buf_reset(&p->in);
	return 0;
}

/* Wait until fd is ready for events or the deadline passes. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd	 pfd;
	long long	 left;
	int		 r;

	for (;;) {
		if ((left = deadline - clock_mono_ms()) <= 0)
			return -1;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int
send_all(int fd, const char *d, size_t n, long long deadline)
{
	ssize_t	 w;

	while (n > 0) {
		w = send(fd, d, n, MSG_NOSIGNAL);
		if (w > 0) {
			d += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EINTR) &&
		    wait_fd(fd, POLLOUT, deadline) == 0)
			continue;
		return -1;
	}
	return 0;
}

/* Read more into p->in; 1 read, 0 at EOF, -1 on error or timeout. */
static int
read_more(struct nchan_pub *p, long long deadline)
{
	char	 chunk[4096];
	ssize_t	 n;

	for (;;) {
		n = recv(p->fd, chunk, sizeof(chunk), 0);
		if (n > 0) {
			buf_append(&p->in, chunk, (size_t)n);
			return 1;
		}
		if (n == 0)
			return 0;
		if ((errno == EAGAIN || errno == EINTR) &&
		    wait_fd(p->fd, POLLIN, deadline) == 0)
			continue;
		return -1;
	}
}

/*
 * Parse the head of an HTTP/1.x response in p[0..len).  Returns 1 with
 * *h filled once the blank line has arrived, 0 when more is needed, -1
 * for a malformed or oversized head.
 */
int
nchan_response_head(const char *p, size_t len, struct nchan_head *h)
{
	const char	*end = NULL, *line, *next, *colon, *v;
	size_t		 i;
	int		 status;

	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	for (i = 0; i + 3 < len; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0) {
			end = p + i;
			break;
		}
	if (end == NULL)
		return len > NCHAN_HEAD_MAX ? -1 : 0;
	if (len < 12 || strncmp(p, "HTTP/1.", 7) != 0 ||
	    !isdigit((unsigned char)p[7]) || p[8] != ' ')
		return -1;
	for (status = 0, i = 9; i < 12; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		status = status * 10 + (p[i] - '0');
	}
	if (status < 100)
		return -1;
	h->status = status;
	h->head_len = (size_t)(end - p) + 4;
	h->close = p[7] == '0';		/* HTTP/1.0 closes by default */
	for (line = memchr(p, '\n', (size_t)(end - p)); line != NULL &&
	    line < end; line = next) {
		line++;
		next = memchr(line, '\n', (size_t)(end + 2 - line));
		if ((colon = memchr(line, ':', (size_t)(
		    (next ? next : end) - line))) == NULL)
			continue;
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if ((size_t)(colon - line) == 14 &&
		    strncasecmp(line, "Content-Length", 14) == 0) {
			char	*e;

			h->content_length = strtoll(v, &e, 10);
			if (e == v || h->content_length < 0)
				return -1;
		} else if ((size_t)(colon - line) == 10 &&
		    strncasecmp(line, "Connection", 10) == 0) {
			if (strncasecmp(v, "close", 5) == 0)
				h->close = 1;
			else if (strncasecmp(v, "keep-alive", 10) == 0)
				h->close = 0;
		} else if ((size_t)(colon - line) == 17 &&
		    strncasecmp(line, "Transfer-Encoding", 17) == 0)
			return -1;	/* nchan never chunks these answers */
	}
	return 1;
}

/* One exchange on the open connection: 0 with *status, -1 if it broke. */
static int
exchange(struct nchan_pub *p, const struct buf *req, int *status,
    struct buf *body)
{
	struct nchan_head	 h;
	long long		 deadline = clock_mono_ms() + p->timeout_ms;
	int			 r;

	if (send_all(p->fd, req->data, req->len, deadline) != 0)
		return -1;
	buf_reset(&p->in);
	while ((r = nchan_response_head(p->in.data ? p->in.data : "",
	    p->in.len, &h)) == 0)
		if (read_more(p, deadline) != 1)
			return -1;
	if (r < 0)
		return -1;
	while (h.content_length >= 0 &&
	    p->in.len < h.head_len + (size_t)h.content_length)
		if (read_more(p, deadline) != 1)
			return -1;
	if (h.content_length < 0) {
		while ((r = read_more(p, deadline)) == 1)
			;
		if (r < 0)
			return -1;
		h.close = 1;
	}
	if (body != NULL) {
		buf_reset(body);
		buf_append(body, p->in.data + h.head_len, h.content_length >= 0 ?
		    (size_t)h.content_length : p->in.len - h.head_len);
	}
	*status = h.status;
	if (h.close) {
		close(p->fd);
		p->fd = -1;
	}
	return 0;
}

/*
 * Send one request (headers: NULL-terminated "Name: value" lines, or
 * NULL) and read its answer: 0 with *status (and the body into
 * response_body when not NULL), -1 when nginx could not be reached or
 * did not answer within the timeout.  A kept-alive connection that
 * turns out closed (nginx restarted, or closed it idle) is replaced
 * once and the request sent again.
 */
int
nchan_request(struct nchan_pub *p, const char *method, const char *target,
    const char *const *headers, const char *body, size_t len, int *status,
    struct buf *response_body)
{
	struct buf	 req = BUF_INIT;
	size_t		 i;
	int		 tries, reused, rc = -1;

	buf_printf(&req, "%s %s HTTP/1.1\r\nHost: nchan\r\n", method, target);
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		buf_printf(&req, "%s\r\n", headers[i]);
	if (body != NULL)
		buf_printf(&req, "Content-Length: %zu\r\n", len);
	buf_puts(&req, "\r\n");
	if (body != NULL)
		buf_append(&req, body, len);
	for (tries = 0; tries < 2 && rc != 0; tries++) {
		reused = p->fd >= 0;
		if (!reused && pub_connect(p) != 0)
			break;
		if ((rc = exchange(p, &req, status, response_body)) != 0) {
			close(p->fd);
			p->fd = -1;
			if (!reused)
				break;
		}
	}
	buf_release(&req);
	return rc;
}

/*
 * Publish json to channel with SSE event name event.  0 with nchan's
 * *status (201: delivered to subscribers, 202: queued, none listening),
 * -1 when nginx could not be reached.
 */
int
nchan_publish(struct nchan_pub *p, const char *channel, const char *event,
    const char *json, size_t len, int *status)
{
	struct buf	 target = BUF_INIT, ev = BUF_INIT;
	const char	*headers[4];
	int		 rc;

	buf_printf(&target, NCHAN_PUB_PREFIX "%s", channel);
	buf_printf(&ev, "X-EventSource-Event: %s", event);
	headers[0] = "Content-Type: application/json";
	headers[1] = "Accept: text/json";
	headers[2] = ev.data;
	headers[3] = NULL;
	rc = nchan_request(p, "POST", target.data, headers, json, len, status,
	    NULL);
	buf_release(&target);
	buf_release(&ev);
	return rc;
}
