/*
 * Integration: the errors nginx answers itself (deploy/nginx/mpapi.conf)
 * are problem+json with the members the application's problems have
 * (type, title, status, detail, error, instance), the request id, and
 * the CORS headers of allowed origins -- for every status nginx can
 * answer on its own.  Malformed HTTP is sent on raw sockets
 * (it_request_raw), as no well-behaved client could send it.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itlib.h"

TestSuite(nginx_errors, .timeout = 120);

#define ALLOWED_ORIGIN	"http://localhost:5173"	/* development default */
#define OTHER_ORIGIN	"https://elsewhere.example"

/*
 * r is nginx's problem for status: type ends in /problems/<slug> (or
 * is about:blank when slug is NULL), error as given, the request id in
 * the header and as instance, the house headers.
 */
static void
assert_nginx_problem(const struct it_resp *r, int status, const char *slug,
    const char *error)
{
	const char	*type, *id, *inst;
	char		 want[160];

	cr_assert_eq(r->status, status, "status %d, want %d: %s", r->status,
	    status, r->body);
	cr_assert_str_eq(it_header(r, "content-type"),
	    "application/problem+json");
	cr_assert_not_null(r->json, "not JSON: %s", r->body);
	cr_assert_eq(it_int(r->json, "status"), status);
	cr_assert_not_null(type = it_str(r->json, "type"));
	if (slug == NULL)
		cr_assert_str_eq(type, "about:blank");
	else {
		snprintf(want, sizeof(want),
		    "https://api.musicplayground.dev/problems/%s", slug);
		cr_assert_str_eq(type, want);
	}
	cr_assert_not_null(it_str(r->json, "title"));
	cr_assert_gt(strlen(it_str(r->json, "title")), 0);
	cr_assert_not_null(it_str(r->json, "detail"));
	cr_assert_str_eq(it_str(r->json, "error"), error);
	cr_assert_not_null(id = it_header(r, "x-request-id"));
	cr_assert_gt(strlen(id), 0);
	cr_assert_not_null(inst = it_str(r->json, "instance"));
	snprintf(want, sizeof(want), "urn:request:%s", id);
	cr_assert_str_eq(inst, want);
	cr_assert_str_eq(it_header(r, "x-content-type-options"), "nosniff");
	cr_assert_str_eq(it_header(r, "cache-control"), "no-store");
	cr_assert(strstr(r->body, "<html") == NULL);
}

static void
assert_cors(const struct it_resp *r, const char *origin)
{
	const char	*expose;

	cr_assert_str_eq(it_header(r, "access-control-allow-origin"), origin);
	cr_assert_str_eq(it_header(r, "access-control-allow-credentials"),
	    "true");
	cr_assert_not_null(expose = it_header(r,
	    "access-control-expose-headers"));
	cr_assert(strstr(expose, "X-Request-Id") != NULL);
	cr_assert(strstr(expose, "Retry-After") != NULL);
	cr_assert_str_eq(it_header(r, "vary"), "Origin");
}

static void
assert_no_cors(const struct it_resp *r)
{
	cr_assert_null(it_header(r, "access-control-allow-origin"));
	cr_assert_null(it_header(r, "access-control-allow-credentials"));
}

static void
raw(const char *req, struct it_resp *r)
{
	cr_assert_eq(it_request_raw(req, strlen(req), r), 0,
	    "no response to %.60s", req);
}

Test(nginx_errors, a_percent_00_in_a_path_is_400_problem_json)
{
	struct it_resp	 r;

	raw("GET /api/loops%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	    &r);
	assert_nginx_problem(&r, 400, "bad-request", "Malformed request");
	it_resp_free(&r);
	raw("GET /api/loops/%00/like HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n", &r);
	assert_nginx_problem(&r, 400, "bad-request", "Malformed request");
	it_resp_free(&r);
}

Test(nginx_errors, a_raw_space_in_the_uri_is_400_problem_json)
{
	struct it_resp	 r;

	raw("GET /api/loops?q=a b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "\r\n", &r);
	assert_nginx_problem(&r, 400, "bad-request", "Malformed request");
	it_resp_free(&r);
	/* HEAD gets the status and the headers, no body. */
	raw("HEAD /api/a b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	    &r);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(it_header(&r, "content-type"),
	    "application/problem+json");
	cr_assert_eq(r.body_len, 0);
	it_resp_free(&r);
}

Test(nginx_errors, a_duplicate_content_length_is_400_with_the_cors_headers_of_an_allowed_origin)
{
	struct it_resp	 r;
	long long	 before;

	before = it_db_count("SELECT count(*) FROM loops", 0, NULL);
	raw("POST /api/loops HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Origin: " ALLOWED_ORIGIN "\r\nX-Request-Id: dup-cl-1\r\n"
	    "Content-Type: application/json\r\nContent-Length: 2\r\n"
	    "Content-Length: 2\r\n\r\n{}", &r);
	assert_nginx_problem(&r, 400, "bad-request", "Malformed request");
	assert_cors(&r, ALLOWED_ORIGIN);
	cr_assert_str_eq(it_header(&r, "x-request-id"), "dup-cl-1");
	it_resp_free(&r);
	raw("POST /api/loops HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Origin: " OTHER_ORIGIN "\r\nContent-Type: application/json\r\n"
	    "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", &r);
	assert_nginx_problem(&r, 400, "bad-request", "Malformed request");
	assert_no_cors(&r);
	it_resp_free(&r);
	cr_assert_eq(it_db_count("SELECT count(*) FROM loops", 0, NULL), before);
}

Test(nginx_errors, transfer_encoding_gzip_chunked_is_a_400_not_a_501)
{
	struct it_resp	 r;

	raw("POST /api/loops HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Origin: " ALLOWED_ORIGIN "\r\nContent-Type: application/json\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", &r);
	assert_nginx_problem(&r, 400, "bad-request", "Malformed request");
	assert_cors(&r, ALLOWED_ORIGIN);
	it_resp_free(&r);
}

Test(nginx_errors, trace_and_connect_are_405_with_allow)
{
	static const char *const reqs[] = {
		"TRACE /api/loops HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		    "Origin: " ALLOWED_ORIGIN "\r\n\r\n",
		"CONNECT /api/loops HTTP/1.1\r\nHost: x\r\n"
		    "Connection: close\r\n\r\n",
		"CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n"
		    "Connection: close\r\n\r\n",
	};
	struct it_resp	 r;
	const char	*allow;
	size_t		 i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		raw(reqs[i], &r);
		assert_nginx_problem(&r, 405, "method-not-allowed",
		    "Method not allowed");
		cr_assert_not_null(allow = it_header(&r, "allow"), "%zu", i);
		cr_assert(strstr(allow, "GET") != NULL && strstr(allow,
		    "TRACE") == NULL && strstr(allow, "CONNECT") == NULL);
		if (i == 0)
			assert_cors(&r, ALLOWED_ORIGIN);
		it_resp_free(&r);
	}
}

Test(nginx_errors, a_uri_over_8_kb_is_414)
{
	struct buf	 b = BUF_INIT;
	struct it_resp	 r;
	size_t		 i;

	buf_puts(&b, "GET /api/loops?q=");
	for (i = 0; i < 9000; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	raw(b.data, &r);
	assert_nginx_problem(&r, 414, "uri-too-long", "URI too long");
	it_resp_free(&r);
	buf_release(&b);
}

Test(nginx_errors, header_fields_over_8_kb_are_431_with_cors)
{
	struct buf	 b = BUF_INIT;
	struct it_resp	 r;
	size_t		 i;

	buf_puts(&b, "GET /api/loops HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Origin: " ALLOWED_ORIGIN "\r\nCookie: ");
	for (i = 0; i < 9000; i++)
		buf_putc(&b, 'c');
	buf_puts(&b, "\r\n\r\n");
	raw(b.data, &r);
	assert_nginx_problem(&r, 431, "headers-too-large",
	    "Request header fields too large");
	assert_cors(&r, ALLOWED_ORIGIN);
	it_resp_free(&r);
	buf_release(&b);
}

Test(nginx_errors, a_body_over_the_limit_is_413_with_the_request_id_and_cors)
{
	const char	*h[] = { "Origin: " ALLOWED_ORIGIN,
	    "X-Request-Id: too-big-1", NULL };
	struct it_resp	 r;
	char		*body;
	size_t		 n = 2 * 1024 * 1024;

	body = malloc(n + 1);
	memset(body, ' ', n);
	body[0] = '{';
	body[n - 1] = '}';
	body[n] = '\0';
	cr_assert_eq(it_request("POST", "/api/loops", h, body, &r), 0);
	assert_nginx_problem(&r, 413, "too-large", "Request body too large");
	cr_assert_str_eq(it_header(&r, "x-request-id"), "too-big-1");
	assert_cors(&r, ALLOWED_ORIGIN);
	it_resp_free(&r);
	free(body);
}

Test(nginx_errors, an_exhausted_limit_req_zone_is_429_with_retry_after_and_cors)
{
	const char	*h[] = { "Origin: " ALLOWED_ORIGIN, NULL };
	struct it_resp	 r;
	const char	*probe;
	int		 i, got = 0;

	if ((probe = getenv("MP_TEST_LIMIT_PROBE")) == NULL)
		cr_skip_test("no limit probe (deploy/dev test sets "
		    "MP_TEST_LIMIT_PROBE)");
	it_source("127.0.0.93");	/* a zone of this address's own */
	for (i = 0; i < 6 && !got; i++) {
		cr_assert_eq(it_request("GET", probe, h, NULL, &r), 0);
		if (r.status == 429) {
			got = 1;
			assert_nginx_problem(&r, 429, "rate-limited",
			    "Too many requests");
			cr_assert_str_eq(it_header(&r, "retry-after"), "1");
			assert_cors(&r, ALLOWED_ORIGIN);
		}
		it_resp_free(&r);
	}
	it_source(NULL);
	cr_assert(got, "the probe zone never answered 429");
}

Test(nginx_errors, a_maintenance_503_is_problem_json_with_retry_after)
{
	const char	*h[] = { "Origin: " ALLOWED_ORIGIN, NULL };
	struct it_resp	 r;

	cr_assert_eq(it_request("GET", "/__probe/maintenance", h, NULL, &r), 0);
	assert_nginx_problem(&r, 503, "unavailable",
	    "Service temporarily unavailable");
	cr_assert_str_eq(it_header(&r, "retry-after"), "5");
	assert_cors(&r, ALLOWED_ORIGIN);
	it_resp_free(&r);
}

/* A FastCGI "worker" that takes connections and never answers. */
struct mute {
	int	 fd;
	int	 stop;
};

static void *
mute_main(void *arg)
{
	struct mute	*m = arg;
	int		 c;

	while (!__atomic_load_n(&m->stop, __ATOMIC_SEQ_CST)) {
		if ((c = accept(m->fd, NULL, NULL)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		sleep(3);	/* nginx gives up after 1 s */
		close(c);
	}
	return NULL;
}

Test(nginx_errors, workers_too_slow_to_answer_are_504_problem_json)
{
	const char	*h[] = { "Origin: " ALLOWED_ORIGIN, NULL };
	struct sockaddr_un sa;
	struct it_resp	 r;
	struct mute	 m;
	pthread_t	 t;
	const char	*path;

	if ((path = getenv("MP_TEST_PROBE_SLOW_SOCKET")) == NULL)
		cr_skip_test("no slow probe (deploy/dev test sets "
		    "MP_TEST_PROBE_SLOW_SOCKET)");
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	cr_assert_geq(m.fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	cr_assert_eq(bind(m.fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
	    "bind %s: %s", path, strerror(errno));
	chmod(path, 0777);	/* nginx's workers run as nobody */
	cr_assert_eq(listen(m.fd, 4), 0);
	m.stop = 0;
	cr_assert_eq(pthread_create(&t, NULL, mute_main, &m), 0);
	cr_assert_eq(it_request("GET", "/__probe/slow", h, NULL, &r), 0);
	assert_nginx_problem(&r, 504, "gateway-timeout",
	    "Service temporarily unavailable");
	cr_assert_not_null(it_header(&r, "retry-after"));
	assert_cors(&r, ALLOWED_ORIGIN);
	it_resp_free(&r);
	__atomic_store_n(&m.stop, 1, __ATOMIC_SEQ_CST);
	shutdown(m.fd, SHUT_RDWR);
	close(m.fd);
	pthread_join(t, NULL);
	unlink(path);
}

Test(nginx_errors, workers_gone_are_502_problem_json_and_service_resumes_when_they_are_back)
{
	const char	*h[] = { "Origin: " ALLOWED_ORIGIN, NULL };
	struct it_resp	 r;
	int		 i, ok = 0;

	cr_assert_eq(it_ctl("app-stop"), 0, "deploy/dev app-stop failed");
	cr_assert_eq(it_request("GET", "/api/loops", h, NULL, &r), 0);
	assert_nginx_problem(&r, 502, "bad-gateway",
	    "Service temporarily unavailable");
	cr_assert_str_eq(it_header(&r, "retry-after"), "1");
	assert_cors(&r, ALLOWED_ORIGIN);
	it_resp_free(&r);
	cr_assert_eq(it_request("POST", "/api/loops", NULL, "{}", &r), 0);
	assert_nginx_problem(&r, 502, "bad-gateway",
	    "Service temporarily unavailable");
	it_resp_free(&r);
	cr_assert_eq(it_ctl("app-start"), 0, "deploy/dev app-start failed");
	for (i = 0; i < 100 && !ok; i++) {
		if (it_request("GET", "/ready", NULL, NULL, &r) == 0) {
			ok = r.status == 200;
			it_resp_free(&r);
		}
		if (!ok)
			usleep(100 * 1000);
	}
	cr_assert(ok, "the workers did not come back");
}

Test(nginx_errors, the_applications_own_errors_pass_through_untouched)
{
	struct it_resp	 r;

	cr_assert_eq(it_request("GET", "/api/loops/not-a-uuid", NULL, NULL, &r),
	    0);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(it_str(r.json, "error"), "Loop not found");
	it_resp_free(&r);
	/* A direct request for nginx's error pages finds nothing. */
	cr_assert_eq(it_request("GET", "/.mpapi-error/502", NULL, NULL, &r), 0);
	assert_nginx_problem(&r, 404, "not-found", "Route not found");
	it_resp_free(&r);
}
