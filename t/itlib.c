#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "t/itlib.h"

static char	source_addr[INET_ADDRSTRLEN];

/*
 * Send the next requests from another loopback address (127.0.0.0/8
 * all reaches the stack), or from the default one with NULL.  nginx
 * limits requests per address; tests that must not meet those limits,
 * or that show a limit is per account and not per address, use this.
 */
void
it_source(const char *ip)
{
	snprintf(source_addr, sizeof(source_addr), "%s", ip ? ip : "");
}

/*
 * The path of MP_TEST_URL after host and port ("/app" of
 * http://127.0.0.1:18181/app): the mount point of the front end under
 * test, "" when the API is at the root.
 */
const char *
it_mount(void)
{
	static char	 mount[256];
	const char	*url, *p;
	size_t		 n;

	url = getenv("MP_TEST_URL");
	if (url == NULL || strncmp(url, "http://", 7) != 0 ||
	    (p = strchr(url + 7, '/')) == NULL)
		return "";
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n >= sizeof(mount))
		n = sizeof(mount) - 1;
	memcpy(mount, p, n);
	mount[n] = '\0';
	return mount;
}

/*
 * The API path of a path a response named (a Location, a Link
 * target): without the mount point, ready for it_request.
 */
const char *
it_unmount(const char *path)
{
	const char	*m = it_mount();
	size_t		 n = strlen(m);

	if (n > 0 && strncmp(path, m, n) == 0 && path[n] == '/')
		return path + n;
	return path;
}

static int
connect_stack(void)
{
	struct sockaddr_in	 sa;
	struct timeval		 tv = { 60, 0 };
	const char		*url, *p;
	int			 fd, port;

	url = getenv("MP_TEST_URL");
	if (url == NULL || strncmp(url, "http://", 7) != 0)
		return -1;
	p = strrchr(url + 7, ':');
	port = p ? atoi(p + 1) : 80;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (source_addr[0] != '\0') {
		struct sockaddr_in	 src;

		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		if (inet_pton(AF_INET, source_addr, &src.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
dechunk(struct it_resp *r)
{
	struct buf	 out = BUF_INIT;
	char		*p, *end;
	unsigned long	 n;

	p = r->body;
	end = r->body + r->body_len;
	while (p < end) {
		n = strtoul(p, &p, 16);
		if ((p = strstr(p, "\r\n")) == NULL)
			break;
		p += 2;
		if (n == 0 || p + n > end)
			break;
		buf_append(&out, p, n);
		p += n + 2;
	}
	free(r->body);
	r->body_len = out.len;
	r->body = buf_detach(&out);
}

/* Parse a whole HTTP response held in raw. */
static int
parse(char *raw, size_t len, struct it_resp *r)
{
	char	*hend, *line, *next, *colon;
	size_t	 i;

	if ((hend = strstr(raw, "\r\n\r\n")) == NULL)
		return -1;
	*hend = '\0';
	if (sscanf(raw, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	line = strstr(raw, "\r\n");
	while (line != NULL && r->nheaders < 64) {
		line += 2;
		next = strstr(line, "\r\n");
		if (next != NULL)
			*next = '\0';
		if ((colon = strchr(line, ':')) != NULL) {
			*colon = '\0';
			for (i = 0; line[i] != '\0'; i++)
				line[i] = (char)tolower((unsigned char)line[i]);
			colon++;
			while (*colon == ' ')
				colon++;
			r->headers[r->nheaders].name = xstrdup(line);
			r->headers[r->nheaders].value = xstrdup(colon);
			r->nheaders++;
		}
		line = next;
	}
	r->body_len = len - (size_t)(hend + 4 - raw);
	r->body = xstrndup(hend + 4, r->body_len);
	if (it_header(r, "transfer-encoding") != NULL &&
	    strcasecmp(it_header(r, "transfer-encoding"), "chunked") == 0)
		dechunk(r);
	if (r->body_len > 0)
		r->json = json_tokener_parse(r->body);
	return 0;
}

/*
 * A Location or Link value as the API wrote it, without the mount
 * point the front end put in front (the contract describes the API's
 * own paths); other headers as they are.  May use tmp.
 */
static const char *
unmount_header(const char *name, const char *value, struct buf *tmp)
{
	const char	*m = it_mount();
	size_t		 n = strlen(m);

	if (n == 0)
		return value;
	if (strcmp(name, "location") == 0)
		return it_unmount(value);
	if (strcmp(name, "link") == 0 && value[0] == '<' &&
	    strncmp(value + 1, m, n) == 0 && value[1 + n] == '/') {
		buf_reset(tmp);
		buf_putc(tmp, '<');
		buf_puts(tmp, value + 1 + n);
		return tmp->data;
	}
	return value;
}

/*
 * When MP_TEST_RECORD names a file, append the response r to raw's
 * request as one JSON line: {method, target, status, headers, body}
 * (headers lower-cased, repeats joined with ", "; the target without
 * the front end's mount point).  deploy/dev test
 * validates them all against doc/openapi.json after the suite
 * (t/contract/validate.mjs).  One write(2) per line on an O_APPEND
 * descriptor, so concurrent tests and threads never interleave lines.
 */
static void
record(const char *raw, size_t len, const struct it_resp *r)
{
	json_object	*o, *h, *prev;
	struct buf	 line = BUF_INIT, joined = BUF_INIT;
	const char	*file, *eol, *sp, *last, *s;
	size_t		 n, i;
	int		 fd;

	if ((file = getenv("MP_TEST_RECORD")) == NULL || *file == '\0')
		return;
	eol = memchr(raw, '\r', len);
	n = eol != NULL ? (size_t)(eol - raw) : len;
	sp = memchr(raw, ' ', n);
	last = sp;
	for (s = sp; s != NULL && s < raw + n; s++)
		if (*s == ' ')
			last = s;
	o = json_object_new_object();
	json_object_object_add(o, "method", json_object_new_string_len(raw,
	    sp != NULL ? (int)(sp - raw) : (int)n));
	if (sp != NULL && last > sp) {	/* the API's path: no mount point */
		buf_reset(&joined);
		buf_append(&joined, sp + 1, (size_t)(last - sp - 1));
		json_object_object_add(o, "target",
		    json_object_new_string(it_unmount(joined.data)));
	} else
		json_object_object_add(o, "target", json_object_new_string(""));
	json_object_object_add(o, "status", json_object_new_int(r->status));
	h = json_object_new_object();
	for (i = 0; i < r->nheaders; i++) {
		if (json_object_object_get_ex(h, r->headers[i].name, &prev)) {
			buf_reset(&joined);
			buf_printf(&joined, "%s, %s", json_object_get_string(prev),
			    r->headers[i].value);
			json_object_object_add(h, r->headers[i].name,
			    json_object_new_string(joined.data));
		} else
			json_object_object_add(h, r->headers[i].name,
			    json_object_new_string(unmount_header(
			    r->headers[i].name, r->headers[i].value, &joined)));
	}
	json_object_object_add(o, "headers", h);
	json_object_object_add(o, "body", json_object_new_string_len(
	    r->body != NULL ? r->body : "", (int)r->body_len));
	buf_puts(&line, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	buf_putc(&line, '\n');
	if ((fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0666)) >= 0) {
		if (write(fd, line.data, line.len) != (ssize_t)line.len)
			fprintf(stderr, "itlib: could not record to %s\n", file);
		close(fd);
	}
	json_object_put(o);
	buf_release(&joined);
	buf_release(&line);
}

/*
 * Record r as the answer to raw's request for the contract check (see
 * record above), for a client of its own (t/itsse.c).
 */
void
it_record(const char *raw, size_t len, const struct it_resp *r)
{
	record(raw, len, r);
}

/* Send raw bytes as the request and read the whole response. */
int
it_request_raw(const char *raw, size_t len, struct it_resp *r)
{
	struct buf	 in = BUF_INIT;
	char		 chunk[65536];
	ssize_t		 n;
	int		 fd, rc;

	memset(r, 0, sizeof(*r));
	if ((fd = connect_stack()) < 0)
		return -1;
	if (write_all(fd, raw, len) != 0) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&in, chunk, (size_t)n);
	close(fd);
	if (in.len == 0) {
		buf_release(&in);
		return -1;
	}
	rc = parse(in.data, in.len, r);
	buf_release(&in);
	if (rc == 0)
		record(raw, len, r);
	return rc;
}

int
it_request(const char *method, const char *path, const char *const *headers,
    const char *body, struct it_resp *r)
{
	struct buf	 req = BUF_INIT;
	int		 has_ct = 0, rc;
	size_t		 i;

	buf_printf(&req, "%s %s%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n", method, path[0] == '/' ? it_mount() : "",
	    path);
	for (i = 0; headers != NULL && headers[i] != NULL; i++) {
		if (strncasecmp(headers[i], "Content-Type:", 13) == 0)
			has_ct = 1;
		buf_printf(&req, "%s\r\n", headers[i]);
	}
	if (body != NULL) {
		if (!has_ct)
			buf_puts(&req, "Content-Type: application/json\r\n");
		buf_printf(&req, "Content-Length: %zu\r\n", strlen(body));
	}
	buf_puts(&req, "\r\n");
	if (body != NULL)
		buf_puts(&req, body);
	rc = it_request_raw(req.data, req.len, r);
	buf_release(&req);
	return rc;
}

void
it_resp_free(struct it_resp *r)
{
	size_t	 i;

	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->body);
	json_object_put(r->json);
	memset(r, 0, sizeof(*r));
}

const char *
it_header(const struct it_resp *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* Follow a dotted path ("loop.name", "loops.0.id") into o. */
json_object *
it_get(json_object *o, const char *path)
{
	char	 part[128];
	const char *p = path, *dot;
	size_t	 n;

	while (o != NULL && *p != '\0') {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		if (json_object_is_type(o, json_type_array)) {
			if (!isdigit((unsigned char)part[0]))
				return NULL;
			o = json_object_array_get_idx(o, (size_t)atoi(part));
		} else if (!json_object_object_get_ex(o, part, &o))
			return NULL;
		p += n;
		if (*p == '.')
			p++;
	}
	return o;
}

const char *
it_str(json_object *o, const char *path)
{
	json_object	*v = it_get(o, path);

	return v != NULL && json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

long long
it_int(json_object *o, const char *path)
{
	json_object	*v = it_get(o, path);

	return v != NULL ? json_object_get_int64(v) : -999999;
}

static PGconn *
db(void)
{
	static PGconn	*c;
	const char	*url;

	if (c != NULL && PQstatus(c) == CONNECTION_OK)
		return c;
	if (c != NULL)
		PQfinish(c);
	url = getenv("MP_TEST_DATABASE_URL");
	c = PQconnectdb(url != NULL ? url : "");
	return c;
}

char *
it_db_text(const char *sql, int n, const char *const *params)
{
	PGresult	*res;
	char		*out = NULL;

	res = PQexecParams(db(), sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
	    !PQgetisnull(res, 0, 0))
		out = xstrdup(PQgetvalue(res, 0, 0));
	else if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "it_db: %s", PQresultErrorMessage(res));
	PQclear(res);
	return out;
}

int
it_db_exec(const char *sql)
{
	PGresult	*res;
	int		 ok;

	res = PQexec(db(), sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "it_db_exec: %s", PQresultErrorMessage(res));
	PQclear(res);
	return ok ? 0 : -1;
}

long long
it_db_count(const char *sql, int n, const char *const *params)
{
	char		*t;
	long long	 v;

	if ((t = it_db_text(sql, n, params)) == NULL)
		return -1;
	v = atoll(t);
	free(t);
	return v;
}

char *
it_ctl_output(const char *verb)
{
	struct buf	 cmd = BUF_INIT, out = BUF_INIT;
	const char	*ctl;
	char		 chunk[4096];
	FILE		*f;
	size_t		 n;

	if ((ctl = getenv("MP_TEST_CTL")) == NULL)
		return NULL;
	buf_printf(&cmd, "%s %s", ctl, verb);
	if ((f = popen(cmd.data, "r")) == NULL) {
		buf_release(&cmd);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&out, chunk, n);
	pclose(f);
	buf_release(&cmd);
	return buf_detach(&out);
}

int
it_ctl(const char *verb)
{
	struct buf	 cmd = BUF_INIT;
	const char	*ctl;
	int		 st;

	if ((ctl = getenv("MP_TEST_CTL")) == NULL)
		return -1;
	buf_printf(&cmd, "%s %s >/dev/null 2>&1", ctl, verb);
	st = system(cmd.data);
	buf_release(&cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void
it_unique(char *out, size_t sz, const char *prefix)
{
	static unsigned	 n;
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	snprintf(out, sz, "%s%lx%x%u", prefix, (unsigned long)tv.tv_usec,
	    (unsigned)getpid() & 0xffff, n++);
}

void
it_bearer(char *out, size_t sz, const char *token)
{
	snprintf(out, sz, "Authorization: Bearer %s", token);
}

int
it_signup(char *token, size_t tsz, char *id, size_t isz, char *username,
    size_t usz)
{
	struct it_resp	 r;
	char		 name[32], body[256];
	int		 rc = -1;

	it_unique(name, sizeof(name), "u");
	snprintf(body, sizeof(body), "{\"email\":\"%s@example.com\","
	    "\"username\":\"%s\",\"password\":\"correct horse battery\"}",
	    name, name);
	if (it_request("POST", "/api/auth/signup", NULL, body, &r) != 0)
		return -1;
	if (r.status == 201 && it_str(r.json, "token") != NULL) {
		snprintf(token, tsz, "%s", it_str(r.json, "token"));
		if (id != NULL)
			snprintf(id, isz, "%s", it_str(r.json, "user.id"));
		if (username != NULL)
			snprintf(username, usz, "%s", name);
		rc = 0;
	}
	it_resp_free(&r);
	return rc;
}
