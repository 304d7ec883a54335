/*
 * Integration: the supervisor keeps its pool full.
 *
 * Through nginx: every worker of the test stack killed at once, again
 * and again; the pool is full each time and /ready answers.
 *
 * A supervisor of the test's own (the stack's copy of mpapi, on a
 * socket in a folder of its own), run as a uid no process uses, with
 * RLIMIT_NPROC at 5 while 2 idle "blocker" processes of that uid run:
 * the supervisor forks 2 workers and fork fails for the other 2 slots.
 * Once the blockers are gone the empty slots must be filled (the
 * supervisor keeps trying, with a pause that grows).  Another one's
 * workers are killed again and again, young, and the pool still comes
 * back.  SIGTERM ends each with status 0 and no worker left.  Needs
 * root (to change uid); skipped otherwise.  (Raising the limit of the
 * running supervisor instead would need CAP_SYS_RESOURCE, which this
 * workplace's root lacks.)
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/buf.h"
#include "t/itlib.h"

#define WORKERS		4
#define BLOCKERS	2
#define NPROC		5	/* the blockers, the supervisor, 2 workers */

/* The pids whose parent is ppid, into out (at most max); their count. */
static int
children_of(pid_t ppid, pid_t *out, int max)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[300], buf[512], *p;
	FILE		*f;
	long		 parent;
	char		 state;
	int		 n = 0;

	cr_assert_not_null(d = opendir("/proc"));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		/* A zombie is a worker gone, not yet reaped. */
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 1, " %c %ld", &state, &parent) == 2 &&
		    parent == ppid && state != 'Z' && state != 'X') {
			if (n < max)
				out[n] = (pid_t)atol(e->d_name);
			n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Wait (at most timeout_s) until ppid has n children; their count. */
static int
wait_children(pid_t ppid, int n, int timeout_s)
{
	pid_t	 pids[64];
	int	 i, got = 0;

	for (i = 0; i < timeout_s * 10; i++) {
		if ((got = children_of(ppid, pids, 64)) == n)
			return got;
		usleep(100 * 1000);
	}
	return got;
}

/* 1 while pid runs (not gone, not a zombie). */
static int
running_pid(pid_t pid)
{
	char	 path[64], buf[512], *p;
	FILE	*f;
	int	 up = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		up = p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return up;
}

/*
 * Kill every child of ppid with SIGKILL and wait until they are dead
 * (a worker still dying could yet accept a connection); how many.
 */
static int
kill_children(pid_t ppid)
{
	pid_t	 pids[64];
	int	 i, j, n;

	n = children_of(ppid, pids, 64);
	for (i = 0; i < n && i < 64; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < n && i < 64; i++)
		for (j = 0; j < 100 && running_pid(pids[i]); j++)
			usleep(10 * 1000);
	return n;
}

/* A uid no process runs as. */
static uid_t
unused_uid(void)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 st;
	char		 path[300];
	uid_t		 uid;
	int		 busy, k;

	for (k = 0; k < 100; k++) {
		uid = (uid_t)(2100000000u + ((unsigned)getpid() * 7u + k) %
		    1000000u);
		busy = 0;
		cr_assert_not_null(d = opendir("/proc"));
		while (!busy && (e = readdir(d)) != NULL) {
			snprintf(path, sizeof(path), "/proc/%s", e->d_name);
			if (e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
			    stat(path, &st) == 0 && st.st_uid == uid)
				busy = 1;
		}
		closedir(d);
		if (!busy)
			return uid;
	}
	cr_assert_fail("no free uid");
	return 0;
}

struct own {
	pid_t	 pid;		/* the supervisor */
	pid_t	 blockers[BLOCKERS];
	uid_t	 uid;
	char	 dir[512];
	char	 log[600];
};

/* The supervisor of the test in hand: static, for own_cleanup. */
static struct own	 own;
static struct own	*running;

static void
become(uid_t uid)
{
	if (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0)
		_exit(120);
}

/*
 * Start our own supervisor (see the top of the file); with limited,
 * under RLIMIT_NPROC with the blockers running.
 */
static void
own_start(struct own *o, int limited)
{
	const char	*rt;
	char		 bin[512], sock[600];
	struct rlimit	 rl = { NPROC, NPROC };
	int		 fd, i;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	rt = getenv("MP_TEST_RUNTIME_DIR");
	cr_assert_not_null(rt, "MP_TEST_RUNTIME_DIR is not set");
	snprintf(bin, sizeof(bin), "%s/bin/mpapi", rt);
	cr_assert_eq(access(bin, X_OK), 0, "%s", bin);
	o->uid = unused_uid();
	snprintf(o->dir, sizeof(o->dir), "%s/run/sup-XXXXXX", rt);
	cr_assert_not_null(mkdtemp(o->dir));
	cr_assert_eq(chown(o->dir, o->uid, o->uid), 0);
	snprintf(sock, sizeof(sock), "%s/s.sock", o->dir);
	snprintf(o->log, sizeof(o->log), "%s/supervisor.log", o->dir);
	fd = open(o->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	for (i = 0; i < BLOCKERS; i++) {
		o->blockers[i] = 0;
		if (!limited)
			continue;
		if ((o->blockers[i] = fork()) == 0) {
			become(o->uid);
			for (;;)
				pause();
		}
		cr_assert_gt(o->blockers[i], 0);
	}
	if ((o->pid = fork()) == 0) {
		char	 a1[] = "serve", a2[] = "--listen", a4[] = "--workers",
			 a5[] = "4";
		char	*argv[] = { bin, a1, a2, sock, a4, a5, NULL };

		dup2(fd, 1);
		dup2(fd, 2);
		/* Nothing of the test's environment (LSAN_OPTIONS names a
		 * file this uid cannot read), and no leak check at exit:
		 * LeakSanitizer's tracer would be one process too many
		 * under the limit.  The stack's workers are checked. */
		clearenv();
		setenv("MP_ENV", "development", 1);
		setenv("DATABASE_URL", "host=/nonexistent dbname=none", 1);
		setenv("MP_LOG_LEVEL", "info", 1);
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		if (limited && setrlimit(RLIMIT_NPROC, &rl) != 0)
			_exit(119);
		become(o->uid);
		execv(bin, argv);
		_exit(121);
	}
	close(fd);
	cr_assert_gt(o->pid, 0);
	running = o;
}

static char *
slurp(const char *path)
{
	struct buf	 b = BUF_INIT;
	char		 chunk[4096];
	size_t		 n;
	FILE		*f;

	if ((f = fopen(path, "r")) == NULL)
		return xstrdup("");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	buf_putc(&b, '\0');
	return buf_detach(&b);
}

/* Whatever happened, nothing of ours is left running. */
static void
own_cleanup(void)
{
	char	 sockpath[700];
	int	 i;

	if (running == NULL)
		return;
	for (i = 0; i < BLOCKERS; i++)
		if (running->blockers[i] > 0)
			kill(running->blockers[i], SIGKILL);
	if (running->pid > 0) {
		kill_children(running->pid);
		kill(running->pid, SIGKILL);
		kill_children(running->pid);
		waitpid(running->pid, NULL, 0);
	}
	snprintf(sockpath, sizeof(sockpath), "%s/s.sock", running->dir);
	unlink(sockpath);
	unlink(running->log);
	rmdir(running->dir);
	running = NULL;
}

/* The blockers go: the uid may have more processes now. */
static void
blockers_stop(struct own *o)
{
	int	 i;

	for (i = 0; i < BLOCKERS; i++) {
		if (o->blockers[i] <= 0)
			continue;
		kill(o->blockers[i], SIGKILL);
		waitpid(o->blockers[i], NULL, 0);
		o->blockers[i] = 0;
	}
}

/* SIGTERM: exit status 0, no worker left, no sanitizer report. */
static void
own_stop(struct own *o)
{
	pid_t	 pids[64];
	char	*text, sockpath[700];
	int	 st, i;

	blockers_stop(o);
	cr_assert_eq(kill(o->pid, SIGTERM), 0);
	for (i = 0; i < 200 && waitpid(o->pid, &st, WNOHANG) == 0; i++)
		usleep(50 * 1000);
	cr_assert_lt(i, 200, "the supervisor did not stop");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	usleep(200 * 1000);	/* its workers are reaped by init now */
	cr_assert_eq(children_of(o->pid, pids, 64), 0);
	text = slurp(o->log);
	cr_assert_null(strstr(text, "Sanitizer"), "%s", text);
	cr_assert_null(strstr(text, "runtime error"), "%s", text);
	free(text);
	running = NULL;
	snprintf(sockpath, sizeof(sockpath), "%s/s.sock", o->dir);
	unlink(sockpath);
	unlink(o->log);
	rmdir(o->dir);
}

Test(supervisor, slots_whose_fork_failed_are_filled_once_fork_works_again,
    .fini = own_cleanup, .timeout = 120)
{
	struct own	*o = &own;
	pid_t		 pids[64];
	char		*text;
	int		 i;

	own_start(o, 1);
	cr_assert_eq(wait_children(o->pid, NPROC - BLOCKERS - 1, 20),
	    NPROC - BLOCKERS - 1);
	text = NULL;
	for (i = 0; i < 100; i++) {	/* the other slots were tried */
		free(text);
		text = slurp(o->log);
		if (strstr(text, "fork: ") && strstr(text, "started 4 workers"))
			break;
		usleep(100 * 1000);
	}
	cr_assert_not_null(strstr(text, "fork: "), "%s", text);
	free(text);
	sleep(2);		/* it keeps trying, and failing */
	cr_assert_eq(children_of(o->pid, pids, 64), NPROC - BLOCKERS - 1);
	blockers_stop(o);
	cr_assert_eq(wait_children(o->pid, WORKERS, 30), WORKERS,
	    "the empty slots were never filled");
	own_stop(o);
}

Test(supervisor, workers_killed_again_and_again_are_replaced_until_the_pool_is_full,
    .fini = own_cleanup, .timeout = 120)
{
	struct own	*o = &own;
	int		 round;

	own_start(o, 0);
	cr_assert_eq(wait_children(o->pid, WORKERS, 30), WORKERS);
	for (round = 0; round < 5; round++) {
		cr_assert_eq(kill_children(o->pid), WORKERS);
		cr_assert_eq(wait_children(o->pid, WORKERS, 30), WORKERS,
		    "round %d: the pool did not come back", round + 1);
	}
	own_stop(o);
}

/* The test stack's supervisor, from its pid file. */
static pid_t
stack_supervisor(void)
{
	const char	*rt;
	char		 path[600], *text;
	pid_t		 pid;

	rt = getenv("MP_TEST_RUNTIME_DIR");
	cr_assert_not_null(rt, "MP_TEST_RUNTIME_DIR is not set");
	snprintf(path, sizeof(path), "%s/run/mpapi.pid", rt);
	text = slurp(path);
	pid = (pid_t)atol(text);
	free(text);
	cr_assert_gt(pid, 1, "no supervisor pid in %s", path);
	return pid;
}

Test(supervisor, the_stacks_workers_all_killed_at_once_come_back_and_answer,
    .timeout = 120)
{
	struct it_resp	 r;
	const char	*w;
	pid_t		 sup;
	int		 round, i, n, workers;

	w = getenv("MP_WORKERS");
	workers = w != NULL ? atoi(w) : 4;
	sup = stack_supervisor();
	cr_assert_eq(wait_children(sup, workers, 30), workers);
	for (round = 0; round < 3; round++) {
		/* Older than a second: replaced at once, no pause. */
		usleep(1100 * 1000);
		cr_assert_eq(n = kill_children(sup), workers,
		    "round %d: %d workers killed", round + 1, n);
		cr_assert_eq(wait_children(sup, workers, 30), workers,
		    "round %d: the pool did not come back", round + 1);
		for (i = 0; i < 2 * workers; i++) {
			cr_assert_eq(it_request("GET", "/ready", NULL, NULL,
			    &r), 0, "round %d: no answer", round + 1);
			cr_assert_eq(r.status, 200, "round %d: %d %s",
			    round + 1, r.status, r.body);
			it_resp_free(&r);
		}
	}
}
