/*
 * Integration: the program as an operator runs it (issue #13).  The
 * binary under test is MP_TEST_MPAPI; the database is the test
 * stack's (MP_TEST_DATABASE_URL).  The commands that need no
 * configuration, the ones that need only the database, purge's exit
 * status, migrate --status and a newer schema, the supervisor that
 * must stop rather than respawn workers that cannot accept, spawn-fcgi
 * with --log, and a CGI run configured by MP_ENV_FILE.
 */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "base/buf.h"
#include "t/itlib.h"

struct run {
	int	 status;	/* exit status, or 128 + signal, -1: timeout */
	char	*out;		/* stdout, NUL-terminated */
	char	*err;		/* stderr */
};

static const char *
mpapi(void)
{
	const char	*p = getenv("MP_TEST_MPAPI");

	cr_assert_not_null(p, "MP_TEST_MPAPI is not set");
	return p;
}

static char *
slurp(const char *path)
{
	struct buf	 b = BUF_INIT;
	char		 chunk[4096];
	size_t		 n;
	FILE		*f;

	if ((f = fopen(path, "r")) != NULL) {
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_append(&b, chunk, n);
		fclose(f);
	}
	if (b.data == NULL)
		buf_puts(&b, "");
	return buf_detach(&b);
}

/*
 * Run argv with exactly the environment envp (NULL-terminated), stdin
 * from in_path (or /dev/null) and in_fd when >= 0, waiting at most
 * timeout_s seconds (then SIGKILL).
 */
/* execve with the const arrays the tests build. */
static void
exec_const(const char *const *argv, const char *const *envp)
{
	union { const char *const *c; char *const *m; } a, e;

	a.c = argv;
	e.c = envp;
	execve(argv[0], a.m, e.m);
	_exit(127);
}

static void
run_fd(const char *const *argv, const char *const *envp, const char *in_path,
    int in_fd, int timeout_s, struct run *r)
{
	char		 outp[] = "/tmp/mp-it-out-XXXXXX";
	char		 errp[] = "/tmp/mp-it-err-XXXXXX";
	int		 of, ef, st, i;
	pid_t		 pid;

	of = mkstemp(outp);
	ef = mkstemp(errp);
	cr_assert(of >= 0 && ef >= 0);
	if ((pid = fork()) == 0) {
		int	 in = in_fd >= 0 ? in_fd :
		    open(in_path != NULL ? in_path : "/dev/null", O_RDONLY);

		dup2(in, 0);
		dup2(of, 1);
		dup2(ef, 2);
		exec_const(argv, envp);
	}
	r->status = -1;
	for (i = 0; i < timeout_s * 20; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			r->status = WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
			break;
		}
		usleep(50 * 1000);
	}
	if (r->status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	close(of);
	close(ef);
	r->out = slurp(outp);
	r->err = slurp(errp);
	unlink(outp);
	unlink(errp);
}

static void
run(const char *const *argv, const char *const *envp, const char *in_path,
    int timeout_s, struct run *r)
{
	run_fd(argv, envp, in_path, -1, timeout_s, r);
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* "NAME=value" for the environment arrays below (static storage). */
static char *
kv(const char *name, const char *value)
{
	static char	 slots[16][1024];
	static int	 next;
	char		*s = slots[next++ % 16];

	snprintf(s, sizeof(slots[0]), "%s=%s", name, value);
	return s;
}

static char *
db_url(void)
{
	const char	*u = getenv("MP_TEST_DATABASE_URL");

	cr_assert_not_null(u, "MP_TEST_DATABASE_URL is not set");
	return kv("DATABASE_URL", u);
}

static char *
secret_file(void)
{
	const char	*s = getenv("MP_TEST_JWT_SECRET_FILE");

	cr_assert_not_null(s, "MP_TEST_JWT_SECRET_FILE is not set");
	return kv("JWT_SECRET_FILE", s);
}

Test(deploy, help_and_version_answer_with_no_configuration_at_all)
{
	const char *help[] = { mpapi(), "--help", NULL };
	const char *version[] = { mpapi(), "--version", NULL };
	const char *none[] = { NULL };
	char want[64];
	struct run r;

	run(help, none, NULL, 10, &r);
	cr_assert_eq(r.status, 0, "--help: %d %s", r.status, r.err);
	cr_assert_not_null(strstr(r.out, "usage: mpapi"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "migrate [--status]"));
	cr_assert_not_null(strstr(r.out, "mpapi(8)"));
	cr_assert_str_eq(r.err, "");
	run_free(&r);
	run(version, none, NULL, 10, &r);
	cr_assert_eq(r.status, 0, "--version: %d %s", r.status, r.err);
	snprintf(want, sizeof(want), "mpapi %s\n", PACKAGE_VERSION);
	cr_assert_str_eq(r.out, want);
	run_free(&r);
}

Test(deploy, migrate_purge_and_migrate_status_need_only_the_database)
{
	const char *migrate[] = { mpapi(), "migrate", NULL };
	const char *purge[] = { mpapi(), "purge", NULL };
	const char *status[] = { mpapi(), "migrate", "--status", NULL };
	const char *env[] = { db_url(), "MP_ENV=production", NULL };
	struct run r;

	run(migrate, env, NULL, 60, &r);
	cr_assert_eq(r.status, 0, "migrate without a secret: %d %s", r.status,
	    r.err);
	run_free(&r);
	run(purge, env, NULL, 60, &r);
	cr_assert_eq(r.status, 0, "purge without a secret: %d %s", r.status,
	    r.err);
	run_free(&r);
	run(status, env, NULL, 60, &r);
	cr_assert_eq(r.status, 0, "%d %s %s", r.status, r.out, r.err);
	cr_assert_not_null(strstr(r.out, "0001_schema"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "applied 20"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\n0 pending\n"), "%s", r.out);
	run_free(&r);
}

Test(deploy, serve_still_refuses_to_start_without_a_jwt_secret)
{
	const char *serve[] = { mpapi(), "serve", "--listen",
	    "/tmp/mp-it-nosecret.sock", NULL };
	const char *env[] = { db_url(), "MP_ENV=production", NULL };
	struct run r;

	run(serve, env, NULL, 10, &r);
	cr_assert_eq(r.status, 78, "%d %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, "JWT_SECRET"), "%s", r.err);
	run_free(&r);
}

Test(deploy, purge_exits_non_zero_when_the_database_cannot_be_reached)
{
	const char *purge[] = { mpapi(), "purge", NULL };
	const char *env[] = { "DATABASE_URL=host=/nonexistent dbname=mpapi "
	    "connect_timeout=2", NULL };
	struct run r;

	run(purge, env, NULL, 30, &r);
	cr_assert_eq(r.status, 1, "purge without a database: %d %s", r.status,
	    r.err);
	cr_assert_not_null(strstr(r.err, "purge"), "%s", r.err);
	run_free(&r);
}

/* MP_TEST_DATABASE_URL with dbname=postgres: a database with no schema. */
static void
empty_db_url(char *out, size_t sz)
{
	const char	*u = getenv("MP_TEST_DATABASE_URL"), *d;

	cr_assert_not_null(u);
	cr_assert_not_null(d = strstr(u, "dbname=mpapi"));
	snprintf(out, sz, "%.*sdbname=postgres%s", (int)(d - u), u, d + 12);
}

Test(deploy, migrate_status_exits_3_and_lists_what_is_pending_on_an_empty_database)
{
	const char *status[] = { mpapi(), "migrate", "--status", NULL };
	char url[1024], kvurl[1100];
	const char *env[] = { kvurl, NULL };
	struct run r;
	PGconn *c;
	PGresult *res;

	empty_db_url(url, sizeof(url));
	snprintf(kvurl, sizeof(kvurl), "DATABASE_URL=%s", url);
	run(status, env, NULL, 30, &r);
	cr_assert_eq(r.status, 3, "%d %s %s", r.status, r.out, r.err);
	cr_assert_not_null(strstr(r.out, "database schema version 0"), "%s",
	    r.out);
	cr_assert_not_null(strstr(r.out, "0001_schema"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "pending"), "%s", r.out);
	run_free(&r);
	c = PQconnectdb(url);
	res = PQexec(c, "SELECT to_regclass('public.schema_migrations') IS NULL");
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	cr_assert_str_eq(PQgetvalue(res, 0, 0), "t",
	    "--status created schema_migrations");
	PQclear(res);
	PQfinish(c);
}

Test(deploy, ready_and_migrate_status_accept_a_schema_newer_than_this_build)
{
	const char *status[] = { mpapi(), "migrate", "--status", NULL };
	const char *env[] = { db_url(), NULL };
	struct it_resp ready[8];
	struct run r;
	int i, ok = 1;

	cr_assert_eq(it_db_exec("INSERT INTO schema_migrations (version, name) "
	    "VALUES (999999, '999999_from_a_newer_release')"), 0);
	for (i = 0; i < 8; i++)	/* every worker */
		if (it_request("GET", "/ready", NULL, NULL, &ready[i]) != 0)
			ok = 0;
	run(status, env, NULL, 30, &r);
	cr_assert_eq(it_db_exec("DELETE FROM schema_migrations WHERE version "
	    "= 999999"), 0);
	cr_assert(ok, "no answer from /ready");
	for (i = 0; i < 8; i++) {
		cr_assert_eq(ready[i].status, 200, "a newer schema made /ready "
		    "%d: %s", ready[i].status, ready[i].body);
		cr_assert_eq(it_int(ready[i].json, "schemaVersion"), 999999);
		it_resp_free(&ready[i]);
	}
	cr_assert_eq(r.status, 0, "%d %s %s", r.status, r.out, r.err);
	cr_assert_not_null(strstr(r.out, "1 newer migration"), "%s", r.out);
	run_free(&r);
}

static int
count(const char *hay, const char *needle)
{
	int	 n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

Test(deploy, serve_with_workers_refuses_a_stdin_that_is_not_a_listening_socket)
{
	const char *serve[] = { mpapi(), "serve", "--workers", "2", NULL };
	const char *env[] = { db_url(), secret_file(), NULL };
	struct run r;

	run(serve, env, "/dev/null", 20, &r);
	cr_assert_eq(r.status, 78, "mpapi serve --workers 2 </dev/null: %d\n%s",
	    r.status, r.err);
	cr_assert_not_null(strstr(r.err, "not a listening socket"), "%s",
	    r.err);
	cr_assert_eq(count(r.err, "started"), 0, "workers were started:\n%s",
	    r.err);
	run_free(&r);
}

Test(deploy, a_supervisor_whose_workers_cannot_accept_stops_instead_of_respawning_them)
{
	const char *serve[] = { mpapi(), "serve", "--workers", "2", NULL };
	const char *env[] = { db_url(), secret_file(), NULL };
	struct sockaddr_in sa;
	char errp[] = "/tmp/mp-it-sup-XXXXXX", *log = NULL;
	int lfd, ef, st, i, status = -1;
	pid_t pid;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(lfd, 16), 0);
	ef = mkstemp(errp);
	cr_assert_geq(ef, 0);
	if ((pid = fork()) == 0) {
		dup2(lfd, 0);
		dup2(ef, 2);
		exec_const(serve, env);
	}
	for (i = 0; i < 200; i++) {	/* the workers are up */
		free(log);
		log = slurp(errp);
		if (strstr(log, "started 2 workers") != NULL)
			break;
		usleep(50 * 1000);
	}
	cr_assert_not_null(strstr(log, "started 2 workers"), "%s", log);
	usleep(300 * 1000);
	/* The socket stops listening under the workers' feet. */
	cr_assert_eq(shutdown(lfd, SHUT_RDWR), 0);
	for (i = 0; i < 200 && status < 0; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 +
			    WTERMSIG(st);
		else
			usleep(50 * 1000);
	}
	if (status < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	free(log);
	log = slurp(errp);
	close(ef);
	close(lfd);
	unlink(errp);
	cr_assert_eq(status, 78, "the supervisor did not stop (%d):\n%s",
	    status, log);
	cr_assert_not_null(strstr(log, "cannot accept"), "%s", log);
	cr_assert_not_null(strstr(log, "stopping instead of restarting"),
	    "%s", log);
	cr_assert_eq(count(log, "started 2 workers"), 1, "%s", log);
	cr_assert_leq(count(log, "exited with 78"), 2, "workers were "
	    "respawned:\n%s", log);
	free(log);
}

/* A FastCGI request with cgi-fcgi (libfcgi-bin) to the socket at path. */
static void
fcgi_get(const char *sock, const char *uri, const char *rid, struct run *r)
{
	const char *argv[] = { "/usr/bin/cgi-fcgi", "-bind", "-connect",
	    sock, NULL };
	const char *env[] = { "REQUEST_METHOD=GET", kv("REQUEST_URI", uri),
	    kv("HTTP_X_REQUEST_ID", rid), "GATEWAY_INTERFACE=CGI/1.1", NULL };

	run(argv, env, NULL, 20, r);
}

Test(deploy, the_readmes_spawn_fcgi_command_line_keeps_every_log_line_in_the_log_file)
{
	char dir[] = "/tmp/mp-it-spawn-XXXXXX", sock[128], logf[128];
	char rid[64], *log = NULL;
	struct run r;
	pid_t pid;
	int i, st;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/mpapi.sock", dir);
	snprintf(logf, sizeof(logf), "%s/mpapi.log", dir);
	if ((pid = fork()) == 0) {
		const char *argv[] = { "/usr/bin/spawn-fcgi", "-n", "-s", sock,
		    "-M", "0600", "--", "/usr/bin/multiwatch", "-f", "2", "--",
		    mpapi(), "serve", "--log", logf, NULL };
		const char *env[] = { db_url(), secret_file(), NULL };
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);	/* what spawn-fcgi does to stderr */
		exec_const(argv, env);
	}
	for (i = 0; i < 100 && access(sock, F_OK) != 0; i++)
		usleep(50 * 1000);
	it_unique(rid, sizeof(rid), "spawn-");
	fcgi_get(sock, "/health", rid, &r);
	cr_assert_not_null(strstr(r.out, "Status: 200"), "%s %s", r.out,
	    r.err);
	run_free(&r);
	for (i = 0; i < 50; i++) {
		free(log);
		log = slurp(logf);
		if (strstr(log, rid) != NULL)
			break;
		usleep(50 * 1000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	unlink(sock);
	unlink(logf);
	rmdir(dir);
	cr_assert_not_null(strstr(log, rid), "the request's log line is not "
	    "in the --log file:\n%s", log);
	cr_assert_not_null(strstr(log, "\"route\":\"/health\""), "%s", log);
	free(log);
}

/* The environment of a CGI request, after the extra NAME=value pairs. */
static void
cgi_env(const char **env, size_t n, const char *uri, const char *const *extra)
{
	size_t	 i = 0;

	while (extra != NULL && *extra != NULL && i < n - 6)
		env[i++] = *extra++;
	env[i++] = "GATEWAY_INTERFACE=CGI/1.1";
	env[i++] = "REQUEST_METHOD=GET";
	env[i++] = "SCRIPT_NAME=/site/mpapi.cgi";
	env[i++] = kv("PATH_INFO", uri);
	env[i++] = kv("REQUEST_URI", "/site/x");
	env[i] = NULL;
}

static char *
write_env_file(const char *text)
{
	static char	 path[64];
	int		 fd;

	snprintf(path, sizeof(path), "/tmp/mp-it-env-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

Test(deploy, a_cgi_run_reads_its_configuration_from_mp_env_file_and_logs_to_mp_log_file)
{
	const char *argv[] = { mpapi(), NULL };
	char text[2048], logf[] = "/tmp/mp-it-cgilog-XXXXXX", *log;
	const char *env[16];
	const char *extra[3];
	const char *file;
	struct run r;
	int fd;

	snprintf(text, sizeof(text), "# written by it_deploy\n%s\n%s\n"
	    "MP_LOG_LEVEL=info\n", db_url(), secret_file());
	file = write_env_file(text);
	fd = mkstemp(logf);
	close(fd);
	extra[0] = kv("MP_ENV_FILE", file);
	extra[1] = kv("MP_LOG_FILE", logf);
	extra[2] = NULL;
	cgi_env(env, 16, "/ready", extra);
	run(argv, env, NULL, 30, &r);
	unlink(file);
	log = slurp(logf);
	unlink(logf);
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	cr_assert(strncmp(r.out, "Status: 200 OK\r\n", 16) == 0, "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"status\":\"ready\""), "%s", r.out);
	cr_assert_str_eq(r.err, "", "the log went to stderr, not the file");
	cr_assert_not_null(strstr(log, "\"route\":\"/ready\""), "%s", log);
	run_free(&r);
	free(log);
}

Test(deploy, a_cgi_run_with_a_broken_env_file_answers_500_problem_json_and_logs_why)
{
	const char *argv[] = { mpapi(), NULL };
	const char *env[16], *extra[2];
	const char *file;
	struct run r;

	file = write_env_file("DATABASE_URL=dbname=mpapi\nthis is not a "
	    "setting\n");
	extra[0] = kv("MP_ENV_FILE", file);
	extra[1] = NULL;
	cgi_env(env, 16, "/health", extra);
	run(argv, env, NULL, 30, &r);
	unlink(file);
	cr_assert(strncmp(r.out, "Status: 500 ", 12) == 0, "%s", r.out);
	cr_assert_not_null(strstr(r.out,
	    "Content-Type: application/problem+json"), "%s", r.out);
	cr_assert_null(strstr(r.out, "MP_ENV_FILE"), "the reason reached the "
	    "client: %s", r.out);
	cr_assert_not_null(strstr(r.err, "MP_ENV_FILE"), "%s", r.err);
	run_free(&r);
}

Test(deploy, a_cgi_run_ignores_the_arguments_apache_makes_of_a_query_without_equals)
{
	const char *argv[] = { mpapi(), "purge", NULL };
	const char *env[16], *extra[3];
	struct run r;

	extra[0] = db_url();
	extra[1] = secret_file();
	extra[2] = NULL;
	cgi_env(env, 16, "/health", extra);
	run(argv, env, NULL, 30, &r);
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	cr_assert(strncmp(r.out, "Status: 200 OK\r\n", 16) == 0, "%s", r.out);
	cr_assert_null(strstr(r.err, "purge"), "%s", r.err);
	run_free(&r);
}

static char *
installed(const char *rel)
{
	static char	 path[1024];
	const char	*root = getenv("MP_TEST_INSTALL_ROOT");

	cr_assert_not_null(root, "MP_TEST_INSTALL_ROOT is not set");
	snprintf(path, sizeof(path), "%s/usr/local/%s", root, rel);
	return path;
}

Test(deploy, make_install_puts_the_program_man_page_configs_and_units_under_the_prefix)
{
	static const char *const files[] = {
		"sbin/mpapi", "share/man/man8/mpapi.8",
		"share/mpapi/nginx/mpapi.conf",
		"share/mpapi/apache/mpapi-proxy-fcgi.conf",
		"share/mpapi/apache/mpapi-fcgid.conf",
		"share/mpapi/apache/htaccess", "share/mpapi/mpapi.env.example",
		"lib/systemd/system/mpapi.service",
		"lib/systemd/system/mpapi.socket",
		"lib/systemd/system/mpapi-purge.service",
		"lib/systemd/system/mpapi-purge.timer",
		"lib/systemd/system/mpapi-relay.service",
		"lib/sysusers.d/mpapi.conf", "lib/tmpfiles.d/mpapi.conf", NULL };
	struct stat st;
	char *unit, *fcgid;
	size_t i;

	for (i = 0; files[i] != NULL; i++)
		cr_assert_eq(stat(installed(files[i]), &st), 0, "not installed: "
		    "%s", installed(files[i]));
	unit = slurp(installed("lib/systemd/system/mpapi.service"));
	cr_assert_not_null(strstr(unit, "ExecStart=/usr/local/sbin/mpapi serve "
	    "--supervise\n"), "%s", unit);
	cr_assert_not_null(strstr(unit,
	    "EnvironmentFile=-/usr/local/etc/mpapi/mpapi.env\n"), "%s", unit);
	cr_assert_null(strstr(unit, "${MP_WORKERS}"));
	free(unit);
	unit = slurp(installed("lib/systemd/system/mpapi-relay.service"));
	cr_assert_not_null(strstr(unit, "ExecStart=/usr/local/sbin/mpapi relay\n"),
	    "%s", unit);
	free(unit);
	unit = slurp(installed("lib/tmpfiles.d/mpapi.conf"));
	cr_assert_not_null(strstr(unit, "d /run/mpapi-nchan 0750 root mpapi -\n"),
	    "the folder of nchan's publisher socket: %s", unit);
	free(unit);
	fcgid = slurp(installed("share/mpapi/apache/mpapi-fcgid.conf"));
	cr_assert_not_null(strstr(fcgid, "\"/usr/local/sbin/mpapi\""), "the "
	    "installed Apache site does not name the installed program");
	cr_assert_not_null(strstr(fcgid, "/usr/local/etc/mpapi/mpapi.env"));
	free(fcgid);
}

/* Every quoted NAME the source file reads with env_str/NUM/getenv. */
static void
variables_of(const char *src, struct buf *names)
{
	char *text = slurp(src), *p, *q;
	static const char *const calls[] = { "env_str(\"", "NUM(\"",
	    "getenv(\"", "env_num(\"", NULL };
	size_t i;

	for (i = 0; calls[i] != NULL; i++)
		for (p = text; (p = strstr(p, calls[i])) != NULL; p = q) {
			p += strlen(calls[i]);
			q = strchr(p, '"');
			cr_assert_not_null(q);
			buf_append(names, p, (size_t)(q - p));
			buf_putc(names, '\n');
		}
	free(text);
}

Test(deploy, the_man_page_names_every_command_option_and_variable)
{
	static const char *const words[] = { "Cm serve", "Cm migrate",
	    "Fl -status", "Cm users import", "Cm purge", "Fl -help",
	    "Fl -version", "Fl -listen", "Fl -workers", "Fl -supervise",
	    "Fl -log", NULL };
	struct buf names = BUF_INIT;
	char src[1024], *man, *line, *save = NULL, want[128];
	size_t i;

	man = slurp(installed("share/man/man8/mpapi.8"));
	for (i = 0; words[i] != NULL; i++)
		cr_assert_not_null(strstr(man, words[i]), "mpapi(8) lacks %s",
		    words[i]);
	snprintf(src, sizeof(src), "%s/base/settings.c",
	    getenv("MP_TEST_SRCDIR"));
	variables_of(src, &names);
	snprintf(src, sizeof(src), "%s/cli/main.c", getenv("MP_TEST_SRCDIR"));
	variables_of(src, &names);
	cr_assert_gt(names.len, 200, "no variables found in the source");
	for (line = strtok_r(names.data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "MP_", 3) != 0 && strcmp(line, "DATABASE_URL") &&
		    strncmp(line, "JWT_", 4) != 0)
			continue;
		snprintf(want, sizeof(want), "Ev %s", line);
		cr_assert_not_null(strstr(man, want), "mpapi(8) does not "
		    "describe %s", line);
	}
	buf_release(&names);
	free(man);
}

Test(deploy, the_installed_systemd_units_verify_and_expose_at_most_2_5)
{
	char *out, *p;
	double score;

	out = it_ctl_output("systemd-check");
	cr_assert_not_null(out);
	cr_assert_not_null(strstr(out, "verify: ok\n"), "%s", out);
	cr_assert_not_null(p = strstr(out, "mpapi.service: "), "%s", out);
	score = atof(p + strlen("mpapi.service: "));
	cr_assert(score > 0 && score <= 2.5, "mpapi.service exposure %.1f:\n%s",
	    score, out);
	cr_assert_not_null(p = strstr(out, "mpapi-purge.service: "), "%s", out);
	score = atof(p + strlen("mpapi-purge.service: "));
	cr_assert(score > 0 && score <= 2.5, "purge exposure %.1f", score);
	cr_assert_not_null(p = strstr(out, "mpapi-relay.service: "), "%s", out);
	score = atof(p + strlen("mpapi-relay.service: "));
	cr_assert(score > 0 && score <= 2.5, "relay exposure %.1f", score);
	free(out);
}

/* GET path from the server at MP_TEST_URL with the given Host header. */
static void
get_host(const char *path, const char *host, struct it_resp *r)
{
	char	 raw[512];
	int	 n;

	n = snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "Connection: close\r\n\r\n", path, host);
	cr_assert_eq(it_request_raw(raw, (size_t)n, r), 0, "no answer for %s "
	    "(Host: %s)", path, host);
}

Test(deploy, the_shipped_nginx_site_dropped_into_a_stock_debian_nginx_serves_its_server_name)
{
	struct it_resp r;
	char *url, *nl;

	url = it_ctl_output("nginx-stock-up");
	cr_assert(url != NULL && strncmp(url, "http://", 7) == 0,
	    "the stock nginx did not start: %s", url ? url : "");
	if ((nl = strchr(url, '\n')) != NULL)
		*nl = '\0';
	setenv("MP_TEST_URL", url, 1);
	/* Debian's own site answers here too: not the API's contract. */
	unsetenv("MP_TEST_RECORD");
	get_host("/health", "localhost", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "status"), "ok");
	it_resp_free(&r);
	get_host("/api/loops?limit=1", "api.musicplayground.dev", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_not_null(it_get(r.json, "loops"));
	it_resp_free(&r);
	get_host("/health", "www.example.org", &r);
	cr_assert_eq(r.status, 404, "another name reached the API: %s", r.body);
	cr_assert_null(r.json, "Debian's default site answered JSON");
	it_resp_free(&r);
	get_host("/metrics", "localhost", &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	it_source("127.0.0.2");
	get_host("/metrics", "localhost", &r);
	it_source(NULL);
	cr_assert_eq(r.status, 403, "/metrics is public: %d", r.status);
	it_resp_free(&r);
	cr_assert_eq(it_ctl("nginx-stock-down"), 0);
	free(url);
}
