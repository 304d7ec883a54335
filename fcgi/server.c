#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <fcgiapp.h>
#include <sodium.h>

#include "fcgi/http.h"
#include "base/log.h"
#include "fcgi/server.h"

static volatile sig_atomic_t	 worker_stop;

#define WORKER_ACCEPT_S	1	/* see server_worker */

/*
 * A worker gives back what it took before it takes the next request:
 * freed memory stays in the allocator (glibc keeps its heap, and raises
 * its mmap threshold after a large free), so one 16 MB answer used to
 * leave a worker at tens of megabytes for good.  Once the worker has
 * touched more than GIVE_BACK_BYTES of fresh pages (minor faults)
 * since it last gave memory back -- in one large request or over many
 * -- it calls malloc_trim after the request.  A sanitizer build does
 * the same to ASan's allocator, whose quarantine would otherwise keep
 * every freed byte (up to 256 MB): its purge empties the quarantine and
 * returns free pages to the system, so the memory a test reads is what
 * the program holds, not what ASan delays.  There the threshold is
 * larger, so that the quarantine still spans several requests and
 * catches a use after free across them.  (The database connection's
 * buffers are the application's, given back as each request ends.)
 */
#if defined(__SANITIZE_ADDRESS__)
#define MP_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MP_ASAN	1
#endif
#endif

#ifdef MP_ASAN
#define GIVE_BACK_BYTES		(8 * 1024 * 1024)
void	__sanitizer_purge_allocator(void);	/* sanitizer/allocator_interface.h */
#else
#define GIVE_BACK_BYTES		(1024 * 1024)
#endif

static long
minor_faults(void)
{
	struct rusage	 ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ru.ru_minflt;
}

/* Give memory back if enough was touched since *mark; move *mark. */
static void
give_back(long *mark)
{
	long	 page = sysconf(_SC_PAGESIZE);

	if (page <= 0 || minor_faults() - *mark < GIVE_BACK_BYTES / page)
		return;
#ifdef MP_ASAN
	__sanitizer_purge_allocator();
#endif
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	*mark = minor_faults();
}

static void
on_worker_term(int sig)
{
	(void)sig;
	worker_stop = 1;
	FCGX_ShutdownPending();		/* makes FCGX_Accept_r return */
}

static int
fcgx_reader(void *arg, char *p, int n)
{
	return FCGX_GetStr(p, n, ((FCGX_Request *)arg)->in);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Open the listening socket: a unix socket path (an existing socket
 * file is replaced, so guard against two supervisors with a pidfile),
 * or HOST:PORT.  Returns the fd or -1.
 */
int
server_listen(const char *spec, int mode)
{
	char	 addr[256];
	int	 fd;

	if (FCGX_Init() != 0)
		return -1;
	if (strchr(spec, '/') == NULL && strchr(spec, ':') != NULL) {
		/* libfcgi takes ":port" or "host:port" as TCP. */
		snprintf(addr, sizeof(addr), "%s", spec);
		return FCGX_OpenSocket(addr, 1024);
	}
	if ((fd = FCGX_OpenSocket(spec, 1024)) < 0)
		return -1;
	if (chmod(spec, (mode_t)mode) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes n bytes of p; returns 0, or -1 when the client went away. */
typedef int	(*server_writer)(void *arg, const char *p, size_t n);

static int
fcgx_writer(void *arg, const char *p, size_t n)
{
	return FCGX_PutStr(p, (int)n, ((FCGX_Request *)arg)->out) < 0 ? -1 : 0;
}

/* Serve one request end to end, whatever carried it (FastCGI or CGI). */
static void
serve_one(char *const *envp, http_reader rd, void *rdarg, server_writer wr,
    void *wrarg, const struct config *cfg, server_app_fn app_fn, void *app)
{
	struct http_request	 req;
	struct http_response	 resp;
	struct http_note	 out;
	struct log_entry	 le;
	struct buf		 wire = BUF_INIT;
	struct timespec		 t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	http_request_init_at(&req, envp, cfg->base_path);
	http_response_init(&resp);
	out.route = "-";
	out.user_id[0] = '\0';
	app_fn(app, &req, rd, rdarg, &resp, &out);
	cors_apply(&resp, cfg->cors_origins, http_header(&req, "Origin"),
	    req.method == HTTP_OPTIONS &&
	    http_header(&req, "Access-Control-Request-Method") != NULL);
	http_response_mount(&resp, req.mount);
	http_response_serialize(&resp, &wire);
	if (wr(wrarg, wire.data, wire.len) != 0)
		log_msg("warn", "client went away before the response");
	le.request_id = req.request_id;
	le.method = http_param(envp, "REQUEST_METHOD");
	if (le.method == NULL)
		le.method = "?";
	le.route = out.route;
	le.status = resp.status;
	le.duration_ms = ms_since(&t0);
	le.user_id = out.user_id[0] != '\0' ? out.user_id : NULL;
	log_request(&le);
	buf_release(&wire);
	http_response_release(&resp);
	http_request_release(&req);
}

/*
 * 1 if fd is a listening socket (what FastCGI puts on fd 0: spawn-fcgi,
 * systemd socket activation, mod_fcgid), 0 otherwise.
 */
int
server_listening(int fd)
{
	socklen_t	 len;
	int		 on = 0;

	len = sizeof(on);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0)
		return 0;
	return on != 0;
}

/*
 * 1 when this process was started as a plain CGI program: fd 0 is not
 * a FastCGI listening socket (FCGX_IsCGI) and the web server has put a
 * CGI request in the environment.
 */
int
server_is_cgi(void)
{
	const char	*gi;

	if (!FCGX_IsCGI())
		return 0;
	gi = getenv("GATEWAY_INTERFACE");
	return gi != NULL && strncmp(gi, "CGI/", 4) == 0 &&
	    getenv("REQUEST_METHOD") != NULL;
}

static int
fd_reader(void *arg, char *p, int n)
{
	ssize_t	 r;

	do
		r = read(*(int *)arg, p, (size_t)n);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : (int)r;
}

static int
fd_writer(void *arg, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(*(int *)arg, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Read what is left of a CGI request body and throw it away (at most
 * 64 MiB): a program that exits with the body unread makes Apache fail
 * writing it and drop the response already written (a 413, say).
 */
static void
drain(int fd)
{
	char	 b[65536];
	size_t	 total = 0;
	ssize_t	 n;

	while (total < 64 * 1024 * 1024) {
		if ((n = read(fd, b, sizeof(b))) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

/*
 * Serve the one request of a CGI invocation: the params are the
 * environment, the body is on stdin, the response goes to stdout and
 * the log line to stderr (which the web server keeps).  Returns the
 * exit status.
 */
int
server_cgi(const struct config *cfg, server_app_fn app_fn, void *app)
{
	extern char		**environ;
	int			 in = STDIN_FILENO, out = STDOUT_FILENO;

	signal(SIGPIPE, SIG_IGN);
	unsetenv("HTTP_PROXY");		/* httpoxy: never a proxy setting */
	serve_one(environ, fd_reader, &in, fd_writer, &out, cfg, app_fn, app);
	drain(in);
	return EXIT_SUCCESS;
}

/*
 * Answer a CGI request that cannot be served because the program's
 * configuration is broken: 500 problem+json (the reason itself goes
 * to the log, never to the client).  Returns the exit status.
 */
int
server_cgi_misconfigured(void)
{
	extern char		**environ;
	struct http_request	 req;
	struct http_response	 resp;
	struct buf		 wire = BUF_INIT;
	int			 out = STDOUT_FILENO;

	http_request_init(&req, environ);
	http_response_init(&resp);
	http_set_header(&resp, "X-Request-Id", "%s", req.request_id);
	http_set_header(&resp, "X-Content-Type-Options", "nosniff");
	http_set_header(&resp, "Cache-Control", "no-store");
	http_problem(&resp, 500, NULL, "Internal server error",
	    "The service is misconfigured; see its log.", NULL);
	http_response_serialize(&resp, &wire);
	(void)fd_writer(&out, wire.data, wire.len);
	buf_release(&wire);
	http_response_release(&resp);
	http_request_release(&req);
	return EXIT_FAILURE;
}

/*
 * Why FCGX_Accept_r failed (rc is -errno), and the exit status that
 * says so: SERVER_EXIT_UNUSABLE when the socket can never be accepted
 * on (not a socket, not listening, closed), so that a supervisor stops
 * instead of starting worker after worker; EXIT_FAILURE otherwise
 * (out of descriptors or memory: a new worker may do better).
 */
static int
accept_failed(int fd, int rc)
{
	int	 e = -rc;

	if (e == ENOTSOCK || e == EBADF || e == EINVAL || e == ENOTCONN ||
	    e == EOPNOTSUPP || e == ENOTTY || !server_listening(fd)) {
		log_msg("error", "worker: cannot accept FastCGI connections "
		    "on fd %d (%s): it is not a listening socket; start mpapi "
		    "with serve --listen, under systemd socket activation or "
		    "spawn-fcgi, or from a web server as a CGI program", fd,
		    e > 0 && e < 4096 ? strerror(e) : "unknown error");
		return SERVER_EXIT_UNUSABLE;
	}
	log_msg("error", "worker: accept failed: %s",
	    e > 0 && e < 4096 ? strerror(e) : "unknown error");
	return EXIT_FAILURE;
}

/*
 * The accept loop of one worker.  SIGTERM and SIGUSR1 (multiwatch's
 * graceful signal) let the request in hand finish, then the worker
 * exits; they are blocked while a request runs, so a signal never
 * interrupts reading a body.  A signal that lands between the loop's
 * test of the flag and the accept() inside libfcgi would not interrupt
 * that accept, so accept() gives up after WORKER_ACCEPT_S seconds
 * (SO_RCVTIMEO on the listening socket) and the flag is looked at
 * again: such a signal is seen within that time, never lost.  idle_fn
 * runs after each answer is out and at each such timeout.  Returns
 * the process exit status (SERVER_EXIT_UNUSABLE when the socket cannot
 * be accepted on).
 */
int
server_worker(int listen_fd, const struct config *cfg, server_app_fn app_fn,
    server_idle_fn idle_fn, void *app)
{
	FCGX_Request		 fr;
	struct sigaction	 sa;
	struct timeval		 tv = { WORKER_ACCEPT_S, 0 };
	sigset_t		 term, old;
	long			 faults;
	int			 rc, status = EXIT_SUCCESS;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_worker_term;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;		/* no SA_RESTART: accept() sees EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGUSR1);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_UNBLOCK, &term, NULL);

	if (sodium_init() < 0 || FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fr, listen_fd, 0) != 0)
		return EXIT_FAILURE;
	/* Not a socket (a CGI run): nothing waits in accept() then. */
	(void)setsockopt(listen_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	faults = minor_faults();
	while (!worker_stop) {
		if ((rc = FCGX_Accept_r(&fr)) < 0) {
			if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR) {
				/* The timeout, or a signal. */
				if (idle_fn != NULL && !worker_stop)
					idle_fn(app);
				continue;
			}
			if (!worker_stop)
				status = accept_failed(listen_fd, rc);
			break;
		}
		sigprocmask(SIG_BLOCK, &term, &old);
		serve_one(fr.envp, fcgx_reader, &fr, fcgx_writer, &fr, cfg,
		    app_fn, app);
		FCGX_Finish_r(&fr);
		if (idle_fn != NULL)
			idle_fn(app);	/* the answer is out */
		give_back(&faults);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	FCGX_Free(&fr, 0);
	return status;
}

/*
 * The supervisor.  Its signal handlers only set a flag and write a byte
 * to a pipe (the self-pipe); the loop sleeps in poll() on that pipe and
 * does everything else itself: reap children (waitpid with WNOHANG, as
 * many as there are), act on the flags, fill empty slots.  The pipe is
 * drained before the flags are read and the children reaped, so a
 * signal that arrives at any later point leaves a byte behind and the
 * next poll() returns at once: none can be lost between a check and the
 * sleep, which a bare waitpid() (or pause()) after a flag test allows.
 */
static volatile sig_atomic_t	 sup_stop, sup_reload;
static int			 sup_pipe[2] = { -1, -1 };

static void
on_sup_signal(int sig)
{
	int	 saved = errno;
	ssize_t	 n;

	if (sig == SIGHUP)
		sup_reload = 1;
	else if (sig != SIGCHLD)
		sup_stop = 1;
	n = write(sup_pipe[1], "", 1);	/* non-blocking: full is awake too */
	(void)n;
	errno = saved;
}

/* One worker slot: a live worker, or empty until retry_at. */
struct slot {
	pid_t		 pid;		/* 0: empty */
	int		 fails;		/* failed or short-lived spawns in a row */
	struct timespec	 started;
	struct timespec	 retry_at;
};

#define SUP_YOUNG_MS	1000		/* a worker that dies younger failed */
#define SUP_BACKOFF_MS	250		/* the first pause; doubles */
#define SUP_BACKOFF_MAX	8000

static long long
now_ms(void)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static long long
ts_ms(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

static void
ms_ts(long long ms, struct timespec *t)
{
	t->tv_sec = (time_t)(ms / 1000);
	t->tv_nsec = (long)(ms % 1000) * 1000000;
}

/* The pause before the next try after fails failures in a row. */
static long long
backoff_ms(int fails)
{
	long long	 ms = SUP_BACKOFF_MS;

	if (fails <= 0)
		return 0;
	while (--fails > 0 && ms < SUP_BACKOFF_MAX)
		ms *= 2;
	return ms < SUP_BACKOFF_MAX ? ms : SUP_BACKOFF_MAX;
}

/* What each child of this supervisor runs (server_supervise). */
static server_child_fn	 sup_child;

static pid_t
spawn(int listen_fd, const struct config *cfg)
{
	pid_t	 pid;

	if ((pid = fork()) < 0) {
		log_msg("error", "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* exit(), not _exit(): a sanitizer build checks for leaks
		 * at exit, and a worker owns nothing the parent flushes. */
		close(sup_pipe[0]);
		close(sup_pipe[1]);
		sup_pipe[0] = sup_pipe[1] = -1;
		signal(SIGCHLD, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		exit(sup_child(listen_fd, cfg));
	}
	return pid;
}

/* Start a worker in slot sl; on failure leave it empty until its backoff. */
static void
slot_fill(struct slot *sl, int listen_fd, const struct config *cfg)
{
	long long	 now = now_ms();

	if ((sl->pid = spawn(listen_fd, cfg)) > 0) {
		ms_ts(now, &sl->started);
		return;
	}
	sl->pid = 0;
	sl->fails++;
	ms_ts(now + backoff_ms(sl->fails), &sl->retry_at);
	log_msg("warn", "no worker started; next try in %lld ms",
	    backoff_ms(sl->fails));
}

static int
slot_of(const struct slot *slots, int n, pid_t pid)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (slots[i].pid == pid)
			return i;
	return -1;
}

static int
sup_pipe_open(void)
{
	int	 i, fl;

	if (pipe(sup_pipe) != 0)
		return -1;
	for (i = 0; i < 2; i++) {
		if ((fl = fcntl(sup_pipe[i], F_GETFL)) < 0 ||
		    fcntl(sup_pipe[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
		    fcntl(sup_pipe[i], F_SETFD, FD_CLOEXEC) < 0)
			return -1;
	}
	return 0;
}

static void
sup_pipe_drain(void)
{
	char	 b[64];

	while (read(sup_pipe[0], b, sizeof(b)) > 0)
		;
}

/*
 * Fork `workers` children on listen_fd and keep that many alive, each
 * running child(listen_fd, cfg) and exiting with what it returns (the
 * FastCGI workers: a child that calls server_worker; `mpapi relay`:
 * its one relay).  what names them in the log.  A slot whose child
 * dies is filled again at once, or after a pause that doubles (0.25 s
 * up to 8 s) while its children keep dying within a second or fork
 * keeps failing; a slot is never given up.  SIGTERM or SIGINT:
 * children get SIGTERM, finish their request and exit, then so does
 * the supervisor.  SIGHUP: children are replaced one by one, each new
 * one started before the old one is told to stop, the next only once
 * the old one has exited.  Returns the exit status.
 */
int
server_supervise(int listen_fd, const struct config *cfg, int workers,
    server_child_fn child, const char *what)
{
	struct sigaction	 sa;
	struct slot		*slots;
	struct pollfd		 pfd;
	long long		 now, wake;
	pid_t			 pid, retiring = 0;
	int			 i, status, sl, stopping = 0, reload_next = -1;
	int			 timeout, alive, rc = EXIT_SUCCESS;

	if (sup_pipe_open() != 0) {
		log_msg("error", "supervisor pipe: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	slots = xcalloc((size_t)workers, sizeof(*slots));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sup_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);

	sup_child = child;
	for (i = 0; i < workers; i++)
		slot_fill(&slots[i], listen_fd, cfg);
	log_msg("info", "supervisor %ld started %d %s", (long)getpid(),
	    workers, what);
	for (;;) {
		sup_pipe_drain();
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == retiring) {
				retiring = 0;
				continue;
			}
			if ((sl = slot_of(slots, workers, pid)) < 0)
				continue;
			if (WIFSIGNALED(status))
				log_msg("warn", "worker %ld killed by signal %d",
				    (long)pid, WTERMSIG(status));
			else
				log_msg(stopping ? "info" : "warn",
				    "worker %ld exited with %d", (long)pid,
				    WEXITSTATUS(status));
			if (WIFEXITED(status) && !stopping &&
			    WEXITSTATUS(status) == SERVER_EXIT_UNUSABLE) {
				log_msg("error", "supervisor: the workers cannot "
				    "accept on the listening socket; stopping "
				    "instead of restarting them");
				sup_stop = 1;
				rc = SERVER_EXIT_UNUSABLE;
			}
			now = now_ms();
			slots[sl].pid = 0;
			if (now - ts_ms(&slots[sl].started) < SUP_YOUNG_MS)
				slots[sl].fails++;
			else
				slots[sl].fails = 0;
			ms_ts(now + backoff_ms(slots[sl].fails),
			    &slots[sl].retry_at);
		}
		if (sup_stop && !stopping) {
			stopping = 1;
			log_msg("info", "supervisor stopping");
			for (i = 0; i < workers; i++)
				if (slots[i].pid > 0)
					kill(slots[i].pid, SIGTERM);
			if (retiring > 0)
				kill(retiring, SIGTERM);
		}
		if (stopping) {
			for (alive = retiring > 0, i = 0; i < workers; i++)
				alive += slots[i].pid > 0;
			if (alive == 0)
				break;
			pfd.fd = sup_pipe[0];
			pfd.events = POLLIN;
			(void)poll(&pfd, 1, -1);
			continue;
		}
		if (sup_reload) {
			sup_reload = 0;
			if (log_reopen() != 0)
				log_msg("error", "cannot reopen the log file: %s",
				    strerror(errno));
			log_msg("info", "replacing workers one by one");
			reload_next = 0;
		}
		now = now_ms();
		/* One step of a reload: the old worker has exited. */
		while (reload_next >= 0 && retiring == 0) {
			if (reload_next >= workers) {
				reload_next = -1;
				break;
			}
			if (slots[reload_next].pid <= 0) {
				reload_next++;	/* refilled below anyway */
				continue;
			}
			if ((pid = spawn(listen_fd, cfg)) < 0)
				break;		/* the old one stays; next tick */
			retiring = slots[reload_next].pid;
			slots[reload_next].pid = pid;
			slots[reload_next].fails = 0;
			ms_ts(now, &slots[reload_next].started);
			kill(retiring, SIGTERM);
			reload_next++;
		}
		wake = -1;
		for (i = 0; i < workers; i++) {
			if (slots[i].pid > 0)
				continue;
			if (ts_ms(&slots[i].retry_at) <= now)
				slot_fill(&slots[i], listen_fd, cfg);
			if (slots[i].pid <= 0 &&
			    (wake < 0 || ts_ms(&slots[i].retry_at) < wake))
				wake = ts_ms(&slots[i].retry_at);
		}
		if (reload_next >= 0 && retiring == 0 &&
		    (wake < 0 || now + SUP_BACKOFF_MS < wake))
			wake = now + SUP_BACKOFF_MS;	/* a spawn failed */
		timeout = wake < 0 ? -1 : wake <= now ? 0 :
		    (int)(wake - now < 60000 ? wake - now : 60000);
		pfd.fd = sup_pipe[0];
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, timeout);
	}
	free(slots);
	close(sup_pipe[0]);
	close(sup_pipe[1]);
	sup_pipe[0] = sup_pipe[1] = -1;
	return rc;
}
