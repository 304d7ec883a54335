#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fcgi/http.h"

void
http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body);
	r->status = 500;
}

void
http_response_release(struct http_response *r)
{
	size_t	 i;

	for (i = 0; i < r->nheaders; i++)
		free(r->headers[i].value);
	buf_release(&r->body);
	memset(r, 0, sizeof(*r));
}

/* Forget everything a handler wrote, keeping the allocation. */
void
http_response_reset(struct http_response *r)
{
	size_t	 i;

	for (i = 0; i < r->nheaders; i++)
		free(r->headers[i].value);
	r->nheaders = 0;
	buf_reset(&r->body);
	r->content_type = NULL;
	r->status = 500;
	r->written = 0;
}

/*
 * Set header name (a static string) to the formatted value, replacing
 * an earlier value.  Values with CR or LF are refused (dropped), so no
 * input can split the header block.
 */
void
http_set_header(struct http_response *r, const char *name, const char *fmt,
    ...)
{
	struct buf	 v = BUF_INIT;
	va_list		 ap;
	size_t		 i;

	va_start(ap, fmt);
	buf_vprintf(&v, fmt, ap);
	va_end(ap);
	if (v.data == NULL || strpbrk(v.data, "\r\n") != NULL) {
		buf_release(&v);
		return;
	}
	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0) {
			free(r->headers[i].value);
			r->headers[i].value = buf_detach(&v);
			return;
		}
	if (r->nheaders == HTTP_MAX_HEADERS) {
		buf_release(&v);
		return;
	}
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = buf_detach(&v);
	r->nheaders++;
}

/* The value of a header set on r, or NULL. */
const char *
http_get_header(const struct http_response *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* Answer status with the JSON text body (len bytes). */
void
http_response_json(struct http_response *r, int status, const char *body,
    size_t len)
{
	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	buf_append(&r->body, body, len);
	r->written = 1;
}

/* Answer status with no body (204, 304). */
void
http_response_empty(struct http_response *r, int status)
{
	r->status = status;
	r->content_type = NULL;
	buf_reset(&r->body);
	r->written = 1;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

/*
 * Write the CGI response (Status line, headers, blank line, body) into
 * out.  Content-Length is always sent; a HEAD response keeps the length
 * of the body it does not carry.
 */
void
http_response_serialize(const struct http_response *r, struct buf *out)
{
	size_t	 i;

	buf_printf(out, "Status: %d %s\r\n", r->status, http_reason(r->status));
	if (r->content_type != NULL)
		buf_printf(out, "Content-Type: %s\r\n", r->content_type);
	for (i = 0; i < r->nheaders; i++)
		buf_printf(out, "%s: %s\r\n", r->headers[i].name,
		    r->headers[i].value);
	if (r->status != 304 && r->status != 204)
		buf_printf(out, "Content-Length: %zu\r\n", r->body.len);
	buf_puts(out, "\r\n");
	if (!r->head_only && r->status != 304 && r->status != 204)
		buf_append(out, r->body.data, r->body.len);
}

/*
 * Put the mount prefix the client used ("/app", "" for none) in front
 * of the paths the application wrote into Location ("/api/loops/…")
 * and Link ("</api/loops?…>; rel=…") headers, so they point where the
 * client can follow them.  Absolute URLs are left alone.
 */
void
http_response_mount(struct http_response *r, const char *mount)
{
	size_t	 i;
	char	*v, *nv;
	int	 link;

	if (mount == NULL || *mount == '\0')
		return;
	for (i = 0; i < r->nheaders; i++) {
		link = strcasecmp(r->headers[i].name, "Link") == 0;
		if (!link && strcasecmp(r->headers[i].name, "Location") != 0)
			continue;
		v = r->headers[i].value;
		if (link && v[0] == '<' && v[1] == '/' && v[2] != '/') {
			nv = xmalloc(strlen(v) + strlen(mount) + 1);
			strcpy(nv, "<");
			strcat(nv, mount);
			strcat(nv, v + 1);
		} else if (!link && v[0] == '/' && v[1] != '/') {
			nv = xmalloc(strlen(v) + strlen(mount) + 1);
			strcpy(nv, mount);
			strcat(nv, v);
		} else
			continue;
		free(v);
		r->headers[i].value = nv;
	}
}

/*
 * Render a problem+json document into out.  Every string member is
 * escaped; extra is trusted JSON produced by this program.
 */
void
http_problem_body(struct buf *out, int status, const char *type,
    const char *error, const char *detail, const char *extra,
    const char *request_id)
{
	const char	*title;

	title = http_reason(status);
	buf_puts(out, "{\"type\":");
	if (type == NULL)
		buf_puts(out, "\"about:blank\"");
	else {
		buf_puts(out, "\"https://api.musicplayground.dev/problems/");
		buf_puts(out, type);
		buf_putc(out, '"');
	}
	buf_puts(out, ",\"title\":");
	buf_json_str(out, title, strlen(title));
	buf_printf(out, ",\"status\":%d", status);
	if (detail == NULL)
		detail = error;
	buf_puts(out, ",\"detail\":");
	buf_json_str(out, detail, strlen(detail));
	buf_puts(out, ",\"error\":");
	buf_json_str(out, error, strlen(error));
	if (request_id != NULL && *request_id != '\0') {
		buf_puts(out, ",\"instance\":\"urn:request:");
		buf_puts(out, request_id);	/* sane by construction */
		buf_putc(out, '"');
	}
	if (extra != NULL && *extra != '\0') {
		buf_putc(out, ',');
		buf_puts(out, extra);
	}
	buf_putc(out, '}');
}

/*
 * Answer status with a problem document.  The request id is filled in
 * by the server loop, which knows it; see server.c.
 */
void
http_problem(struct http_response *r, int status, const char *type,
    const char *error, const char *detail, const char *extra)
{
	r->status = status;
	r->content_type = "application/problem+json";
	buf_reset(&r->body);
	http_problem_body(&r->body, status, type, error, detail, extra,
	    http_get_header(r, "X-Request-Id"));
	r->written = 1;
}

/*
 * Answer 400 listing every recorded field error.  The detail names the
 * first field, so even a client that reads one string learns which.
 */
void
field_errors_problem(struct field_errors *fe, struct http_response *r,
    const char *error)
{
	struct buf	 extra = BUF_INIT;

	buf_puts(&extra, "\"errors\":[");
	if (fe->json.data != NULL)
		buf_append(&extra, fe->json.data, fe->json.len);
	buf_putc(&extra, ']');
	http_problem(r, 400, "validation", error, fe->first.data, extra.data);
	buf_release(&extra);
}
