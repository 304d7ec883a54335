/*
 * The HTTP side of a worker: the request value, the response value,
 * the router, problem+json errors and the access log line.  Everything
 * here is pure (no FastCGI stream, no database): fcgi/server.c is the
 * only code that touches libfcgi and feeds these functions.
 */
#ifndef MP_HTTP_H
#define MP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/json.h"

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
	HTTP_OPTIONS,
	HTTP_METHOD__MAX
};

#define HTTP_MAX_PARAMS		4
#define HTTP_MAX_HEADERS	24
#define HTTP_REQUEST_ID_MAX	64

/*
 * One request.  Strings are owned by the request unless marked
 * borrowed; envp is borrowed from libfcgi (or a test) and dies with
 * the FastCGI request.
 */
struct http_request {
	enum http_method	 method;
	char		*const	*envp;		/* borrowed CGI params */
	char			*path;		/* raw route path, no query */
	char			*mount;		/* mount prefix, "" if none */
	char			*query;		/* raw query, "" if none */
	char			*body;		/* NUL-terminated, may be NULL */
	size_t			 body_len;
	char			*params[HTTP_MAX_PARAMS]; /* decoded :params */
	size_t			 nparams;
	char			 request_id[HTTP_REQUEST_ID_MAX + 1];
	const char		*remote_addr;	/* borrowed */
};

/* Reads up to n bytes into p; returns the count, 0 at EOF, -1 on error. */
typedef int	(*http_reader)(void *arg, char *p, int n);

/*
 * What the application tells the transport's access log about one
 * request: the route it took and who asked.
 */
#define HTTP_USER_ID_MAX	64

struct http_note {
	const char	*route;		/* a static pattern, or "-" */
	char		 user_id[HTTP_USER_ID_MAX + 1];	/* "" if anonymous */
};

void		 http_request_init(struct http_request *, char *const *envp);
void		 http_request_init_at(struct http_request *, char *const *envp,
		    const char *base_path);
void		 http_request_release(struct http_request *);
int		 http_request_read_body(struct http_request *, http_reader,
		    void *, size_t max);
const char	*http_param(char *const *envp, const char *name);
const char	*http_header(const struct http_request *, const char *name);
int		 http_content_type_is_json(const char *, int allow_merge_patch);
int		 http_request_id_is_sane(const char *);
const char	*http_method_name(enum http_method);
int		 http_method_parse(const char *, enum http_method *);
int		 http_query_get(const char *query, const char *name, char **out);
int		 http_percent_decode(const char *, size_t, char **out);

struct http_header {
	const char	*name;		/* static string */
	char		*value;		/* owned */
};

struct http_response {
	int			 status;
	const char		*content_type;	/* static string or NULL */
	struct http_header	 headers[HTTP_MAX_HEADERS];
	size_t			 nheaders;
	struct buf		 body;
	int			 head_only;	/* HEAD: headers only */
	int			 written;	/* a handler produced it */
};

void		 http_response_init(struct http_response *);
void		 http_response_release(struct http_response *);
void		 http_response_reset(struct http_response *);
void		 http_set_header(struct http_response *, const char *,
		    const char *, ...) __attribute__((format(printf, 3, 4)));
const char	*http_get_header(const struct http_response *, const char *);
void		 http_response_json(struct http_response *, int,
		    const char *, size_t);
void		 http_response_empty(struct http_response *, int);
void		 http_response_serialize(const struct http_response *,
		    struct buf *);
void		 http_response_mount(struct http_response *, const char *);
const char	*http_reason(int);

/*
 * Problem details (RFC 9457).  type is a slug documented in
 * doc/API.md ("validation", "not-found", ...) or NULL for about:blank;
 * error is the short human string the old client reads; extra, when
 * not NULL, is a JSON fragment of further members ("errors":[...]).
 */
void		 http_problem(struct http_response *, int status,
		    const char *type, const char *error, const char *detail,
		    const char *extra);
void		 http_problem_body(struct buf *, int status, const char *type,
		    const char *error, const char *detail, const char *extra,
		    const char *request_id);

/* Answer 400 listing the field errors (base/json.h). */
void		 field_errors_problem(struct field_errors *,
		    struct http_response *, const char *error);

/* Cross-origin resource sharing (fcgi/cors.c). */
int		 cors_origin_allowed(const char *allowed, const char *origin);
void		 cors_apply(struct http_response *, const char *allowed,
		    const char *origin, int preflight);

/*
 * Router.  The route table is the application's: of each route the
 * router knows only the method and the pattern ("/api/loops/:id"),
 * which pattern_of reads from route i of table; what a route runs is
 * the application's type (handlers/handlers.h).
 */
typedef const char *(*route_pattern_fn)(const void *table, size_t i,
		    enum http_method *method);

enum route_result {
	ROUTE_FOUND,
	ROUTE_NOT_FOUND,
	ROUTE_BAD_METHOD,
	ROUTE_BAD_PATH
};

enum route_result route_match(const void *table, size_t n,
		    route_pattern_fn pattern_of, enum http_method method,
		    const char *path, size_t *index, char **params,
		    size_t *nparams, struct buf *allow);

#endif
