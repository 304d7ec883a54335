#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"

static int	 debug_enabled;
static char	 log_path[4096];
static long	 log_pid_cached;

static void
log_pid_forget(void)
{
	log_pid_cached = 0;
}

/*
 * The process id for the log lines: one getpid(2) per process, not one
 * per line (a worker logs every request).  A forked child forgets the
 * parent's (pthread_atfork, registered with the first call).
 */
static long
log_pid(void)
{
	static int	 registered;

	if (!registered) {
		registered = 1;
		(void)pthread_atfork(NULL, NULL, log_pid_forget);
	}
	if (log_pid_cached == 0)
		log_pid_cached = (long)getpid();
	return log_pid_cached;
}

/* "debug" turns on debug lines; anything else leaves info and above. */
void
log_set_level(const char *level)
{
	debug_enabled = level != NULL && strcmp(level, "debug") == 0;
}

/* RFC 3339 UTC with milliseconds: 2026-11-25T19:06:27.123Z. */
void
http_format_time(char *out, size_t sz, int64_t ms)
{
	struct tm	 tm;
	time_t		 t;

	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	snprintf(out, sz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static void
now_str(char *out, size_t sz)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	http_format_time(out, sz,
	    (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
emit(struct buf *b)
{
	buf_putc(b, '\n');
	fwrite(b->data, 1, b->len, stderr);
	fflush(stderr);
}

/*
 * One JSON line per request on stderr.  Only the fields below are
 * logged: never a header, a query string or a body, so no token or
 * password can reach the log.
 */
void
log_request(const struct log_entry *e)
{
	struct buf	 b = BUF_INIT;
	char		 ts[40];

	now_str(ts, sizeof(ts));
	buf_printf(&b, "{\"time\":\"%s\",\"level\":\"info\",\"requestId\":",
	    ts);
	buf_json_str(&b, e->request_id, strlen(e->request_id));
	buf_puts(&b, ",\"method\":");
	buf_json_str(&b, e->method, strlen(e->method));
	buf_puts(&b, ",\"route\":");
	buf_json_str(&b, e->route, strlen(e->route));
	buf_printf(&b, ",\"status\":%d,\"durationMs\":%.3f,\"userId\":",
	    e->status, e->duration_ms);
	if (e->user_id != NULL)
		buf_json_str(&b, e->user_id, strlen(e->user_id));
	else
		buf_puts(&b, "null");
	buf_printf(&b, ",\"pid\":%ld}", log_pid());
	emit(&b);
	buf_release(&b);
}

/* A free-form log line at level ("debug", "info", "warn", "error"). */
void
log_msg(const char *level, const char *fmt, ...)
{
	struct buf	 b = BUF_INIT, m = BUF_INIT;
	va_list		 ap;
	char		 ts[40];

	if (strcmp(level, "debug") == 0 && !debug_enabled)
		return;
	va_start(ap, fmt);
	buf_vprintf(&m, fmt, ap);
	va_end(ap);
	now_str(ts, sizeof(ts));
	buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level);
	if (m.data != NULL)
		buf_json_str(&b, m.data, m.len);
	else
		buf_puts(&b, "\"\"");
	buf_printf(&b, ",\"pid\":%ld}", log_pid());
	emit(&b);
	buf_release(&b);
	buf_release(&m);
}

/*
 * Send everything written to stderr from now on (the log lines, and
 * whatever a library or a sanitizer prints) to the file at path,
 * opened for appending (created 0640), so runs whose stderr is not
 * kept (spawn-fcgi, some CGI hosts) keep their log.  The path is
 * remembered for log_reopen.  Returns 0, or -1 with errno set (stderr
 * is then left as it was).
 */
int
log_to_file(const char *path)
{
	int	 fd, saved;

	if (strlen(path) >= sizeof(log_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) < 0)
		return -1;
	fflush(stderr);
	if (fd != STDERR_FILENO && dup2(fd, STDERR_FILENO) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (fd != STDERR_FILENO)
		close(fd);
	if (log_path != path)
		strcpy(log_path, path);
	return 0;
}

/*
 * Open the log file given to log_to_file again (after logrotate moved
 * it).  Returns 0, also when there is no log file, or -1.
 */
int
log_reopen(void)
{
	if (log_path[0] == '\0')
		return 0;
	return log_to_file(log_path);
}
