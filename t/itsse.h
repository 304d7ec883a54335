/*
 * Integration-test clients of GET /api/live through nginx: a
 * Server-Sent Events client (the stream parsed as the EventSource
 * specification says: event, data and id fields, comments skipped, an
 * event dispatched at its blank line, events without data dropped) and
 * a minimal WebSocket client (RFC 6455 handshake, unmasked text frames
 * from the server).  Each event waits with a timeout, so a test can
 * wait long for what must come and a short while for what must not.
 */
#ifndef MP_ITSSE_H
#define MP_ITSSE_H

#include <stddef.h>

#include <json-c/json.h>

#include "base/buf.h"
#include "t/itlib.h"

struct it_sse_event;

struct it_sse {
	int		 fd;
	struct it_sse_event *queue;	/* parsed, not handed out yet */
	size_t		 qhead, qlen, qcap;
	int		 chunked;	/* Transfer-Encoding: chunked */
	long long	 chunk_left;	/* of the current chunk; -1: a size next */
	struct it_resp	 head;		/* status, headers; the body when refused */
	struct buf	 req;		/* the request, for the record */
	struct buf	 raw;		/* the stream as received (dechunked) */
	struct buf	 wire;		/* bytes not parsed yet */
	struct buf	 line;		/* the line being read */
	struct buf	 data;		/* the event being built */
	char		 event[64];
	char		 id[256];
	char		 last_id[256];	/* the last event id seen */
	int		 comments;	/* comment lines seen (nchan's ": hi") */
};

struct it_sse_event {
	char		 event[64];	/* "message" when none was given */
	char		 id[256];
	char		*data;
	json_object	*json;		/* data parsed, or NULL */
};

int	it_sse_open(struct it_sse *, const char *target,
	    const char *const *headers);
int	it_sse_next(struct it_sse *, int timeout_ms, struct it_sse_event *);
int	it_sse_hello(struct it_sse *, int timeout_ms);
void	it_sse_event_release(struct it_sse_event *);
void	it_sse_close(struct it_sse *);

struct it_ws {
	int		 fd;
	int		 status;
	struct buf	 wire;
};

int	it_ws_open(struct it_ws *, const char *target);
int	it_ws_next(struct it_ws *, int timeout_ms, char **text);
void	it_ws_close(struct it_ws *);

#endif
