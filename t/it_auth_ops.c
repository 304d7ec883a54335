/*
 * Integration: accounts as the operator sees them.  Slow logins do
 * not starve other routes; no password, hash, token or secret reaches
 * a log; `mpapi users import` loads the old system's accounts.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <crypt.h>

#include "base/buf.h"
#include "t/itfixture.h"

TestSuite(load, .init = itfx_init, .timeout = 120);
TestSuite(logs, .init = itfx_init, .timeout = 120);
TestSuite(import, .init = itfx_init, .timeout = 120);

/*
 * Reads keep being served while logins hash.  Each login holds a
 * worker for its Argon2id; with MP_WORKERS workers, MP_WORKERS - 1
 * clients log in over and over while this process reads.  A login is
 * "in flight" from just before its request is sent to just after its
 * answer came.  A read that starts and ends while every login client
 * has the same login in flight was served entirely during those
 * logins: nothing waited for a hash to end.  Each of /health (no
 * database), /ready and a public profile (database reads) must be
 * served so at least once.  No clock is read.
 */
#define MAX_LOGINERS	3
#define LOGINS_EACH	18	/* under nginx's burst of 20 per address */

struct shared {
	volatile int	 inflight[MAX_LOGINERS];
	volatile long	 seq[MAX_LOGINERS];
	volatile int	 started[MAX_LOGINERS];
	volatile int	 stop;
};

static void
loginer(struct shared *sh, int i, const struct itfx_user *u)
{
	struct it_resp	 r;
	char		 ip[32];
	int		 n, bad = 0;

	snprintf(ip, sizeof(ip), "127.0.200.%d", 10 + i);
	it_source(ip);	/* nginx limits logins per address */
	for (n = 0; n < LOGINS_EACH && !__atomic_load_n(&sh->stop,
	    __ATOMIC_SEQ_CST); n++) {
		__atomic_add_fetch(&sh->seq[i], 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sh->inflight[i], 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sh->started[i], 1, __ATOMIC_SEQ_CST);
		itfx_login(u->email, u->password, &r);
		__atomic_store_n(&sh->inflight[i], 0, __ATOMIC_SEQ_CST);
		if (r.status != 200)
			bad++;
		it_resp_free(&r);
	}
	_exit(bad == 0 ? 0 : 1);
}

static int
all_in_flight(struct shared *sh, int n, long *seq)
{
	int	 i;

	for (i = 0; i < n; i++) {
		if (!__atomic_load_n(&sh->inflight[i], __ATOMIC_SEQ_CST))
			return 0;
		seq[i] = __atomic_load_n(&sh->seq[i], __ATOMIC_SEQ_CST);
	}
	return 1;
}

Test(load, reads_are_served_while_every_other_worker_is_hashing_a_login)
{
	struct shared	*sh;
	struct itfx_user	 u;
	struct it_resp	 r;
	const char	*w, *paths[3];
	char		 profile[96];
	long		 before[MAX_LOGINERS], after[MAX_LOGINERS];
	pid_t		 pids[MAX_LOGINERS];
	int		 n, i, j, k, reads = 0, during = 0, st, spins;
	int		 served[3] = { 0, 0, 0 };

	w = getenv("MP_WORKERS");
	n = (w != NULL ? atoi(w) : 4) - 1;
	if (n > MAX_LOGINERS)
		n = MAX_LOGINERS;
	cr_assert_geq(n, 1, "needs at least two workers");
	itfx_signup(&u);
	snprintf(profile, sizeof(profile), "/api/users/%s", u.username);
	paths[0] = "/health";
	paths[1] = "/ready";
	paths[2] = profile;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
	memset((void *)sh, 0, sizeof(*sh));
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		cr_assert_geq(pids[i], 0);
		if (pids[i] == 0)
			loginer(sh, i, &u);
	}
	for (spins = 0; spins < 30000; spins++) {	/* every client going */
		for (i = 0; i < n && sh->started[i]; i++)
			;
		if (i == n)
			break;
		usleep(1000);
	}
	cr_assert_eq(i, n, "the login clients did not start");

	for (k = 0; k < 400 && during < 3; k++) {
		if (!all_in_flight(sh, n, before)) {
			usleep(200);
			continue;
		}
		j = reads % 3;
		cr_assert_eq(it_request("GET", paths[j], NULL, NULL, &r), 0);
		cr_assert_eq(r.status, 200, "%s: %d %s", paths[j], r.status,
		    r.body);
		it_resp_free(&r);
		reads++;
		if (all_in_flight(sh, n, after) &&
		    memcmp(before, after, sizeof(long) * (size_t)n) == 0 &&
		    !served[j]) {
			served[j] = 1;
			during++;
		}
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < n; i++) {
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "a login client saw a login fail");
	}
	cr_assert(served[0] && served[1] && served[2], "not every read was "
	    "served while %d logins were in flight (health %d, ready %d, "
	    "profile %d; %d reads)", n, served[0], served[1], served[2], reads);
	munmap((void *)sh, sizeof(*sh));
}

/*
 * Exercise every accounts route with recognisable secrets, then look
 * for them in every log of the stack.
 */
struct needles {
	char	*s[64];
	int	 n;
};

static void
needle(struct needles *nd, const char *s)
{
	cr_assert_lt(nd->n, 64);
	cr_assert_geq(strlen(s), 8, "needle too short to mean anything");
	nd->s[nd->n++] = strdup(s);
}

/* The token, and its signature alone. */
static void
needle_token(struct needles *nd, const char *t)
{
	needle(nd, t);
	needle(nd, strrchr(t, '.') + 1);
}

/* A PHC hash, and its last (digest) part alone. */
static void
needle_hash(struct needles *nd, const char *id)
{
	const char	*p[1] = { id };
	char		*h;

	h = it_db_text("SELECT password_hash FROM users WHERE id = $1::uuid",
	    1, p);
	cr_assert_not_null(h);
	needle(nd, h);
	needle(nd, strrchr(h, '$') + 1);
	free(h);
}

static void
send_rid(const char *method, const char *path, const char *token,
    const char *rid, const char *body, struct it_resp *r)
{
	char	 h[128];

	snprintf(h, sizeof(h), "X-Request-Id: %s", rid);
	itfx_send_h(method, path, token, h, body, r);
}

Test(logs, no_password_hash_token_or_secret_reaches_any_log)
{
	struct needles	 nd;
	struct itfx_user	 u;
	struct it_resp	 r;
	struct buf	 b = BUF_INIT;
	const char	*dir, *logs[] = { "mpapi.log", "nginx-access.log",
	    "nginx-error.log", "postgresql.log" };
	char		 rid[40], path[1024], wrong[64], newpw[64], shortpw[16];
	char		 *secret, *text, *tok2 = NULL, *tok3 = NULL, *sec_b64;
	size_t		 slen, i;
	int		 j;

	memset(&nd, 0, sizeof(nd));
	dir = getenv("MP_TEST_LOG_DIR");
	cr_assert_not_null(dir);
	it_unique(rid, sizeof(rid), "authlog-");
	snprintf(wrong, sizeof(wrong), "Wrong-%s-pass", rid);
	snprintf(newpw, sizeof(newpw), "New-%s-pass", rid);
	snprintf(shortpw, sizeof(shortpw), "S%.5s!", rid + 8);

	/* signup */
	memset(&u, 0, sizeof(u));
	it_unique(u.username, sizeof(u.username), "lg");
	snprintf(u.email, sizeof(u.email), "%s@example.com", u.username);
	snprintf(u.password, sizeof(u.password), "Pw-%s-secret", rid);
	buf_printf(&b, "{\"email\":\"%s\",\"username\":\"%s\",\"password\":"
	    "\"%s\"}", u.email, u.username, u.password);
	send_rid("POST", "/api/auth/signup", NULL, rid, b.data, &r);
	cr_assert_eq(r.status, 201);
	snprintf(u.token, sizeof(u.token), "%s", it_str(r.json, "token"));
	snprintf(u.id, sizeof(u.id), "%s", it_str(r.json, "user.id"));
	it_resp_free(&r);
	needle(&nd, u.password);
	needle_token(&nd, u.token);
	needle_hash(&nd, u.id);
	/* a refused signup that carried a password */
	buf_reset(&b);
	buf_printf(&b, "{\"email\":\"x%s\",\"username\":\"%s\",\"password\":"
	    "\"%s\"}", u.email, u.username, shortpw);
	send_rid("POST", "/api/auth/signup", NULL, rid, b.data, &r);
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(r.body, shortpw) == NULL);
	it_resp_free(&r);
	/* login: wrong, then right */
	buf_reset(&b);
	buf_printf(&b, "{\"email\":\"%s\",\"password\":\"%s\"}", u.email, wrong);
	send_rid("POST", "/api/auth/login", NULL, rid, b.data, &r);
	cr_assert_eq(r.status, 401);
	cr_assert(strstr(r.body, wrong) == NULL);
	it_resp_free(&r);
	needle(&nd, wrong);
	buf_reset(&b);
	buf_printf(&b, "{\"email\":\"%s\",\"password\":\"%s\"}", u.username,
	    u.password);
	send_rid("POST", "/api/auth/login", NULL, rid, b.data, &r);
	cr_assert_eq(r.status, 200);
	tok2 = strdup(it_str(r.json, "token"));
	it_resp_free(&r);
	needle_token(&nd, tok2);
	/* me, profile, public profile, a bad token */
	send_rid("GET", "/api/auth/me", tok2, rid, NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	send_rid("GET", "/api/users/me", u.token, rid, NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	send_rid("PATCH", "/api/users/me", u.token, rid,
	    "{\"displayName\":\"Log Test\"}", &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/users/%s", u.username);
	send_rid("GET", path, u.token, rid, NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	{
		char	 cut[1024];

		snprintf(cut, sizeof(cut), "%.*s", (int)strlen(u.token) - 3,
		    u.token);
		send_rid("GET", "/api/auth/me", cut, rid, NULL, &r);
		cr_assert_eq(r.status, 401);
		it_resp_free(&r);
	}
	/* password change: wrong current, then right */
	buf_reset(&b);
	buf_printf(&b, "{\"currentPassword\":\"%s\",\"newPassword\":\"%s\"}",
	    wrong, newpw);
	send_rid("POST", "/api/auth/password", u.token, rid, b.data, &r);
	cr_assert_eq(r.status, 403);
	cr_assert(strstr(r.body, wrong) == NULL);
	cr_assert(strstr(r.body, newpw) == NULL);
	it_resp_free(&r);
	buf_reset(&b);
	buf_printf(&b, "{\"currentPassword\":\"%s\",\"newPassword\":\"%s\"}",
	    u.password, newpw);
	send_rid("POST", "/api/auth/password", u.token, rid, b.data, &r);
	cr_assert_eq(r.status, 200);
	needle_token(&nd, it_str(r.json, "token"));
	/* logout, with the fresh token the change answered */
	{
		struct it_resp	 out;

		send_rid("POST", "/api/auth/logout", it_str(r.json, "token"),
		    rid, NULL, &out);
		cr_assert_eq(out.status, 204);
		it_resp_free(&out);
	}
	it_resp_free(&r);
	needle(&nd, newpw);
	needle_hash(&nd, u.id);
	send_rid("GET", "/api/auth/me", u.token, rid, NULL, &r);
	cr_assert_eq(r.status, 401);	/* the revoked token, used */
	it_resp_free(&r);
	buf_reset(&b);
	buf_printf(&b, "{\"email\":\"%s\",\"password\":\"%s\"}", u.email, newpw);
	send_rid("POST", "/api/auth/login", NULL, rid, b.data, &r);
	cr_assert_eq(r.status, 200);
	tok3 = strdup(it_str(r.json, "token"));
	it_resp_free(&r);
	needle_token(&nd, tok3);
	/* delete */
	send_rid("DELETE", "/api/users/me", tok3, rid, NULL, &r);
	cr_assert_eq(r.status, 204);
	it_resp_free(&r);
	/* the secret, as the file holds it */
	secret = itfx_secret(&slen);
	needle(&nd, secret);
	sec_b64 = strndup(secret, 16);	/* a prefix of it too */
	needle(&nd, sec_b64);
	free(secret);
	free(sec_b64);
	/*
	 * A last request with an id of its own: once both logs hold it,
	 * everything before it is written too (the workers log as they
	 * answer; nginx flushes its buffered access log in order, within
	 * flush=1s of deploy/nginx/mpapi.conf, which a loaded machine may
	 * stretch).
	 */
	{
		char	 end[64];
		int	 k, both = 0;

		snprintf(end, sizeof(end), "%s-end", rid);
		send_rid("GET", "/api/auth/me", NULL, end, NULL, &r);
		cr_assert_eq(r.status, 401);
		it_resp_free(&r);
		for (k = 0; k < 150 && !both; k++) {
			usleep(100 * 1000);
			both = 1;
			for (i = 0; i < 2 && both; i++) {
				snprintf(path, sizeof(path), "%s/%s", dir,
				    logs[i]);
				text = it_slurp(path);
				both = text != NULL && strstr(text, end) != NULL;
				free(text);
			}
		}
		cr_assert(both, "the logs never showed the last request");
	}

	for (i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, logs[i]);
		text = it_slurp(path);
		cr_assert(text != NULL || i >= 2, "cannot read %s", path);
		if (text == NULL)
			continue;
		if (i < 2)
			cr_assert(strstr(text, rid) != NULL,
			    "%s does not log this run (%s)", logs[i], rid);
		for (j = 0; j < nd.n; j++)
			cr_assert(strstr(text, nd.s[j]) == NULL,
			    "%s holds needle %d", logs[i], j);
		cr_assert(strstr(text, shortpw) == NULL, "%s holds a "
		    "refused password", logs[i]);
		free(text);
	}
	for (j = 0; j < nd.n; j++)
		free(nd.s[j]);
	free(tok2);
	free(tok3);
	buf_release(&b);
}

/* users import */

static int
run_import(const char *file)
{
	struct buf	 cmd = BUF_INIT;
	const char	*db;
	int		 st;

	db = getenv("MP_TEST_DATABASE_URL");
	cr_assert_not_null(db);
	cr_assert_eq(access("./mpapi", X_OK), 0, "run from the build tree");
	buf_printf(&cmd, "env DATABASE_URL='%s' MP_ENV=development "
	    "JWT_SECRET= JWT_SECRET_FILE= ./mpapi users import '%s' "
	    ">>'%s/import.log' 2>&1", db, file, getenv("MP_TEST_LOG_DIR"));
	st = system(cmd.data);
	buf_release(&cmd);
	cr_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static char *
bcrypt_of(const char *pw)
{
	char			 setting[CRYPT_GENSALT_OUTPUT_SIZE], *out;
	struct crypt_data	*cd;

	cr_assert_not_null(crypt_gensalt_rn("$2b$", 10, NULL, 0, setting,
	    sizeof(setting)));
	cd = calloc(1, sizeof(*cd));
	cr_assert_not_null(crypt_rn(pw, setting, cd, sizeof(*cd)));
	out = strdup(cd->output);
	free(cd);
	return out;
}

Test(import, old_accounts_load_keep_their_bcrypt_password_and_a_rerun_is_a_no_op)
{
	struct it_resp	 r;
	char		 a[32], bb[32], bad[32], file[] = "/tmp/mpapi-import-XXXXXX";
	char		*ha, *hb, *h;
	const char	*p[1];
	FILE		*f;
	int		 fd;

	it_unique(a, sizeof(a), "ima");
	it_unique(bb, sizeof(bb), "imb");
	it_unique(bad, sizeof(bad), "imc");
	ha = bcrypt_of("old password A");
	hb = bcrypt_of("old password B");
	fd = mkstemp(file);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "id,email,username,password_hash,display_name,avatar_url,"
	    "created_at,updated_at\n");
	fprintf(f, ",%s@Example.com,%s,%s,\"Old, A\",,2025-10-20 12:34:56.789,"
	    "2025-10-21 00:00:00\n", a, a, ha);
	fprintf(f, ",%s@example.com,%s,%s,,/relative.png,,\n", bb, bb, hb);
	fprintf(f, ",%s@example.com,%s,$2b$10$dummyhash,,,,\n", bad, bad);
	fclose(f);
	chmod(file, 0644);

	cr_assert_eq(run_import(file), 1, "a refused row makes it exit 1");
	p[0] = a;
	cr_assert_eq(it_db_count("SELECT count(*) FROM users WHERE username = "
	    "$1 AND email = $1 || '@Example.com' AND display_name = 'Old, A' "
	    "AND created_at = '2025-10-20 12:34:56.789+00'", 1, p), 1);
	h = it_db_text("SELECT password_hash FROM users WHERE username = $1",
	    1, p);
	cr_assert_str_eq(h, ha, "the bcrypt hash is kept");
	free(h);
	p[0] = bb;
	cr_assert_eq(it_db_count("SELECT count(*) FROM users WHERE username = "
	    "$1 AND avatar_url IS NULL", 1, p), 1, "a bad avatar is dropped");
	cr_assert_eq(itfx_count_users(bad), 0, "the bad row is refused");

	/* The old password logs in and is re-hashed. */
	itfx_login(a, "old password A", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(it_str(r.json, "user.displayName"), "Old, A");
	it_resp_free(&r);
	p[0] = a;
	h = it_db_text("SELECT password_hash FROM users WHERE username = $1",
	    1, p);
	cr_assert(strncmp(h, "$argon2id$", 10) == 0, "%s", h);
	free(h);
	itfx_login(bb, "not B's password", &r);
	cr_assert_eq(r.status, 401);
	it_resp_free(&r);

	/* A second run adds nothing and, but for the bad row, is clean. */
	f = fopen(file, "w");
	fprintf(f, "email,username,password_hash\n%s@example.com,%s,%s\n",
	    bb, bb, hb);
	fclose(f);
	cr_assert_eq(run_import(file), 0);
	p[0] = bb;
	cr_assert_eq(it_db_count("SELECT count(*) FROM users WHERE "
	    "lower(username) = lower($1)", 1, p), 1);
	unlink(file);
	free(ha);
	free(hb);
}

Test(import, an_account_clashing_with_an_existing_one_is_refused)
{
	struct itfx_user	 u;
	char		 file[] = "/tmp/mpapi-import-XXXXXX", *hb, *h;
	const char	*p[1];
	FILE		*f;
	int		 fd;

	itfx_signup(&u);
	hb = bcrypt_of("whatever");
	fd = mkstemp(file);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	/* The same email in other case, another username. */
	fprintf(f, "{\"email\":\"%s\",\"username\":\"x%s\",\"password_hash\":"
	    "\"%s\"}\n", u.email, u.username, hb);
	fclose(f);
	chmod(file, 0644);
	cr_assert_eq(run_import(file), 1);
	p[0] = u.id;
	h = it_db_text("SELECT password_hash FROM users WHERE id = $1::uuid",
	    1, p);
	cr_assert(strncmp(h, "$argon2id$", 10) == 0, "untouched: %s", h);
	free(h);
	cr_assert_eq(itfx_count_users(u.email), 1);
	unlink(file);
	free(hb);
}

/* The program itself, outside development, will not serve unsigned. */
TestSuite(secret, .timeout = 60);

Test(secret, serve_refuses_to_start_in_production_without_a_32_byte_secret)
{
	struct buf	 cmd = BUF_INIT;
	char		 out[] = "/tmp/mpapi-nosecret-XXXXXX", *text;
	int		 fd, st;

	fd = mkstemp(out);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(access("./mpapi", X_OK), 0, "run from the build tree");
	buf_printf(&cmd, "env -u JWT_SECRET -u JWT_SECRET_FILE MP_ENV=production "
	    "timeout 20 ./mpapi serve --listen '%s.sock' --workers 1 "
	    ">'%s' 2>&1", out, out);
	st = system(cmd.data);
	cr_assert(WIFEXITED(st));
	/* 78 (EX_CONFIG): an unusable configuration, which the systemd
	 * unit does not restart on. */
	cr_assert_eq(WEXITSTATUS(st), 78, "exit %d (124: it started)",
	    WEXITSTATUS(st));
	text = it_slurp(out);
	cr_assert_not_null(text, "cannot read %s", out);
	cr_assert(strstr(text, "JWT_SECRET") != NULL, "%s", text);
	free(text);
	buf_reset(&cmd);
	buf_printf(&cmd, "env -u JWT_SECRET_FILE MP_ENV=production "
	    "JWT_SECRET=only-31-bytes-of-secret-0123456 timeout 20 ./mpapi "
	    "serve --listen '%s.sock' --workers 1 >'%s' 2>&1", out, out);
	st = system(cmd.data);
	cr_assert(WIFEXITED(st));
	cr_assert_eq(WEXITSTATUS(st), 78);
	unlink(out);
	buf_release(&cmd);
}
