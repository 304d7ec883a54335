/*
 * A small HTTP/1.1 client for nginx's nchan publisher location, over a
 * unix socket: one kept-alive connection, one request at a time, each
 * bounded by a timeout.  The relay (cli/relay.c) publishes with
 * it.  nchan_response_head is the pure part (unit-tested).
 */
#ifndef MP_NCHAN_H
#define MP_NCHAN_H

#include <stddef.h>

#include "base/buf.h"

struct nchan_pub {
	char		 path[108];	/* sun_path */
	int		 fd;		/* -1: not connected */
	int		 timeout_ms;	/* per request */
	long long	 opens;		/* connections opened so far */
	struct buf	 in;
};

/* What the head of a response says. */
struct nchan_head {
	int		 status;
	size_t		 head_len;	/* bytes up to and with the blank line */
	long long	 content_length; /* -1: none given (read to EOF) */
	int		 close;		/* Connection: close */
};

void	nchan_pub_init(struct nchan_pub *, const char *socket_path,
	    int timeout_ms);
void	nchan_pub_close(struct nchan_pub *);
int	nchan_request(struct nchan_pub *, const char *method,
	    const char *target, const char *const *headers, const char *body,
	    size_t len, int *status, struct buf *response_body);
int	nchan_publish(struct nchan_pub *, const char *channel,
	    const char *event, const char *json, size_t len, int *status);
int	nchan_response_head(const char *p, size_t len, struct nchan_head *);

#endif
