#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "fcgi/http.h"

static const char *const method_names[HTTP_METHOD__MAX] = {
	"GET",		/* HTTP_GET */
	"HEAD",		/* HTTP_HEAD */
	"POST",		/* HTTP_POST */
	"PUT",		/* HTTP_PUT */
	"PATCH",	/* HTTP_PATCH */
	"DELETE",	/* HTTP_DELETE */
	"OPTIONS",	/* HTTP_OPTIONS */
};

const char *
http_method_name(enum http_method m)
{
	return m < HTTP_METHOD__MAX ? method_names[m] : "?";
}

/* Returns 0 and sets *m for a known method, -1 otherwise. */
int
http_method_parse(const char *s, enum http_method *m)
{
	int	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < HTTP_METHOD__MAX; i++)
		if (strcmp(s, method_names[i]) == 0) {
			*m = (enum http_method)i;
			return 0;
		}
	return -1;
}

/* The value of CGI param name in envp (borrowed), or NULL. */
const char *
http_param(char *const *envp, const char *name)
{
	size_t	 n;

	if (envp == NULL)
		return NULL;
	n = strlen(name);
	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/*
 * The value of request header name ("If-Match"), looked up as the CGI
 * param HTTP_IF_MATCH; borrowed, or NULL when absent.
 */
const char *
http_header(const struct http_request *req, const char *name)
{
	char	 key[96];
	size_t	 i, n;

	n = strlen(name);
	if (n + 6 > sizeof(key))
		return NULL;
	memcpy(key, "HTTP_", 5);
	for (i = 0; i < n; i++)
		key[5 + i] = name[i] == '-' ? '_' :
		    (char)toupper((unsigned char)name[i]);
	key[5 + n] = '\0';
	return http_param(req->envp, key);
}

/* 1 if s is a request id we may echo: 1-64 of [A-Za-z0-9._-]. */
int
http_request_id_is_sane(const char *s)
{
	size_t	 i;

	if (s == NULL || *s == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= HTTP_REQUEST_ID_MAX)
			return 0;
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	}
	return 1;
}

/* A copy of the decoded path p with each '%' written as "%25". */
static char *
escape_percent(const char *p)
{
	struct buf	 b = BUF_INIT;

	for (; *p != '\0'; p++) {
		if (*p == '%')
			buf_puts(&b, "%25");
		else
			buf_putc(&b, *p);
	}
	if (b.data == NULL)
		buf_puts(&b, "");
	return buf_detach(&b);
}

/*
 * A copy of the first n bytes of s without trailing slashes: the mount
 * point put back on Location and Link.  One with a control byte (a CR
 * or LF would end the header line) is no mount point: "".
 */
static char *
mount_of(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return xstrdup("");
	while (n > 0 && s[n - 1] == '/')
		n--;
	return xstrndup(s, n);
}

/*
 * Where the route path comes from.  PATH_INFO, when the server
 * provides one (a prefix mount: CGI, mod_fcgid, an Alias), is the
 * route, and the mount point is MP_BASE_PATH or else SCRIPT_NAME.
 * Otherwise the route is the request URI's path with the base path
 * stripped when it starts with it.  PATH_INFO arrives decoded: its
 * '%' are escaped again, so the router decodes every path once.
 */
static void
request_route(struct http_request *req, char *const *envp, const char *uri,
    const char *qmark, const char *base)
{
	const char	*pi, *sn;
	size_t		 n, blen;

	pi = http_param(envp, "PATH_INFO");
	if (pi != NULL && *pi == '/') {
		req->path = escape_percent(pi);
		if (base != NULL && *base != '\0')
			req->mount = mount_of(base, strlen(base));
		else if ((sn = http_param(envp, "SCRIPT_NAME")) != NULL)
			req->mount = mount_of(sn, strlen(sn));
		else
			req->mount = xstrdup("");
		return;
	}
	n = qmark != NULL ? (size_t)(qmark - uri) : strlen(uri);
	blen = base != NULL ? strlen(base) : 0;
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (blen > 0 && n >= blen && strncmp(uri, base, blen) == 0 &&
	    (n == blen || uri[blen] == '/')) {
		req->mount = xstrndup(base, blen);
		req->path = n == blen ? xstrdup("/") :
		    xstrndup(uri + blen, n - blen);
		return;
	}
	req->mount = xstrdup("");
	req->path = xstrndup(uri, n);
}

/*
 * Fill req from the CGI params.  Never fails: an unknown method is
 * kept as HTTP_METHOD__MAX and answered 405 by the router's caller.
 * base is the configured mount point (MP_BASE_PATH, "" or NULL for
 * none); a MP_BASE_PATH param from the server (nginx fastcgi_param,
 * Apache SetEnv) wins over it.  req->mount is the prefix the client
 * used, for the Location and Link headers (see http_response_mount).
 */
void
http_request_init_at(struct http_request *req, char *const *envp,
    const char *base)
{
	const char	*uri, *q, *id, *pb;
	unsigned char	 rnd[16];
	size_t		 i;

	memset(req, 0, sizeof(*req));
	req->envp = envp;
	if (http_method_parse(http_param(envp, "REQUEST_METHOD"),
	    &req->method) != 0)
		req->method = HTTP_METHOD__MAX;
	if ((uri = http_param(envp, "REQUEST_URI")) == NULL &&
	    (uri = http_param(envp, "DOCUMENT_URI")) == NULL)
		uri = "/";
	if ((pb = http_param(envp, "MP_BASE_PATH")) != NULL)
		base = pb;
	q = strchr(uri, '?');
	request_route(req, envp, uri, q, base);
	if (q != NULL)
		req->query = xstrdup(q + 1);
	else if (http_param(envp, "REQUEST_URI") == NULL &&
	    (q = http_param(envp, "QUERY_STRING")) != NULL)
		req->query = xstrdup(q);
	else
		req->query = xstrdup("");
	req->remote_addr = http_param(envp, "REMOTE_ADDR");
	id = http_header(req, "X-Request-Id");
	if (http_request_id_is_sane(id))
		strcpy(req->request_id, id);
	else {
		randombytes_buf(rnd, sizeof(rnd));
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(req->request_id + 2 * i, 3, "%02x", rnd[i]);
	}
}

/* http_request_init_at with no configured mount point. */
void
http_request_init(struct http_request *req, char *const *envp)
{
	http_request_init_at(req, envp, NULL);
}

void
http_request_release(struct http_request *req)
{
	size_t	 i;

	free(req->path);
	free(req->mount);
	free(req->query);
	free(req->body);
	for (i = 0; i < req->nparams; i++)
		free(req->params[i]);
	memset(req, 0, sizeof(*req));
}

/*
 * 1 if the Content-Type names JSON: application/json, optionally with
 * parameters, or (for PATCH) application/merge-patch+json.
 */
int
http_content_type_is_json(const char *ct, int allow_merge_patch)
{
	size_t	 n;

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, " ;");
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return 1;
	if (allow_merge_patch && n == 28 &&
	    strncasecmp(ct, "application/merge-patch+json", 28) == 0)
		return 1;
	return 0;
}

/*
 * Read the body announced by CONTENT_LENGTH.  Returns 0 when it was
 * read (or there is none), or the HTTP status to answer: 400 for a
 * malformed or lying length, 413 for one over max, 415 for a body that
 * is not JSON.  Nothing is read past the announced length.
 */
int
http_request_read_body(struct http_request *req, http_reader rd, void *arg,
    size_t max)
{
	const char	*cl, *ct;
	size_t		 len, got;
	int		 n, chunk;

	cl = http_param(req->envp, "CONTENT_LENGTH");
	if (cl == NULL || *cl == '\0')
		return 0;
	len = 0;
	for (; *cl != '\0'; cl++) {
		if (*cl < '0' || *cl > '9')
			return 400;
		if (len > (max + 1) / 10 + 1)
			return 413;
		len = len * 10 + (size_t)(*cl - '0');
	}
	if (len > max)
		return 413;
	if (len == 0)
		return 0;
	ct = http_param(req->envp, "CONTENT_TYPE");
	if (!http_content_type_is_json(ct, req->method == HTTP_PATCH))
		return 415;
	req->body = xmalloc(len + 1);
	got = 0;
	while (got < len) {
		chunk = len - got > 65536 ? 65536 : (int)(len - got);
		n = rd(arg, req->body + got, chunk);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != len) {
		free(req->body);
		req->body = NULL;
		return 400;
	}
	req->body[len] = '\0';
	req->body_len = len;
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
decode(const char *s, size_t n, int plus_is_space, char **out)
{
	char	*p;
	size_t	 i, j;
	int	 hi, lo;

	p = xmalloc(n + 1);
	for (i = j = 0; i < n; i++) {
		if (s[i] == '+' && plus_is_space)
			p[j++] = ' ';
		else if (s[i] == '%') {
			if (i + 2 >= n)
				goto bad;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			p[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '\0')
			goto bad;
		else
			p[j++] = s[i];
	}
	p[j] = '\0';
	*out = p;
	return 0;
bad:
	free(p);
	*out = NULL;
	return -1;
}

/*
 * Percent-decode n bytes of s into a new string (*out, caller frees).
 * '+' stays '+'.  Returns -1 on a malformed escape or an encoded NUL.
 */
int
http_percent_decode(const char *s, size_t n, char **out)
{
	return decode(s, n, 0, out);
}

/*
 * Find name in an application/x-www-form-urlencoded query.  Returns 1
 * and a decoded copy in *out (caller frees) when present, 0 when
 * absent, -1 when present but malformed.  '+' decodes to a space.
 * The first occurrence wins.
 */
int
http_query_get(const char *query, const char *name, char **out)
{
	const char	*p, *amp, *eq;
	size_t		 nlen, klen, vlen;
	char		*v;

	*out = NULL;
	nlen = strlen(name);
	for (p = query; p != NULL && *p != '\0'; p = amp ? amp + 1 : NULL) {
		amp = strchr(p, '&');
		eq = memchr(p, '=', amp ? (size_t)(amp - p) : strlen(p));
		klen = eq ? (size_t)(eq - p) :
		    (amp ? (size_t)(amp - p) : strlen(p));
		if (klen != nlen || strncmp(p, name, nlen) != 0)
			continue;
		if (eq == NULL)
			vlen = 0;
		else
			vlen = amp ? (size_t)(amp - eq - 1) : strlen(eq + 1);
		if (decode(eq ? eq + 1 : "", vlen, 1, &v) != 0)
			return -1;
		*out = v;
		return 1;
	}
	return 0;
}
