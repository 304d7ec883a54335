/*
 * Integration-test helpers: a small HTTP/1.1 client for the stack that
 * deploy/dev test starts (MP_TEST_URL), direct database access for
 * checking what was written (MP_TEST_DATABASE_URL), and control of the
 * stack (MP_TEST_CTL: stop/start PostgreSQL, list workers).
 */
#ifndef MP_ITLIB_H
#define MP_ITLIB_H

#include <stddef.h>

#include <json-c/json.h>

struct it_header {
	char	*name;		/* lower-cased */
	char	*value;
};

struct it_resp {
	int		 status;
	struct it_header headers[64];
	size_t		 nheaders;
	char		*body;		/* NUL-terminated */
	size_t		 body_len;
	json_object	*json;		/* parsed body, or NULL */
};

/*
 * Send one request.  headers is a NULL-terminated list of "Name: value"
 * lines (or NULL); body may be NULL.  A JSON Content-Type is added when
 * body is given and no Content-Type is.  Returns 0, or -1 when no
 * response came.
 */
int		 it_request(const char *method, const char *path,
		    const char *const *headers, const char *body,
		    struct it_resp *);
int		 it_request_raw(const char *raw, size_t len, struct it_resp *);
/* A socket connected to the stack (from it_source's address), or -1. */
int		 it_connect(void);
/* Milliseconds of CLOCK_MONOTONIC. */
long long	 it_mono_ms(void);
/*
 * The front end's mount point, from MP_TEST_URL's path ("" at the
 * root): it_request puts it before every path, and it_unmount takes it
 * off a path a response named.
 */
const char	*it_mount(void);
const char	*it_unmount(const char *path);
void		 it_source(const char *loopback_ip);
void		 it_record(const char *raw, size_t len, const struct it_resp *);
void		 it_resp_free(struct it_resp *);
const char	*it_header(const struct it_resp *, const char *name);
const char	*it_str(json_object *, const char *path);
long long	 it_int(json_object *, const char *path);
json_object	*it_get(json_object *, const char *path);

/* Database checks: the first column of the first row, as a number. */
long long	 it_db_count(const char *sql, int nparams, const char *const *params);
char		*it_db_text(const char *sql, int nparams, const char *const *params);
/* Run a statement on the test's own connection; 0 when it succeeded. */
int		 it_db_exec(const char *sql);

/* Stack control through deploy/dev (MP_TEST_CTL); returns exit status. */
int		 it_ctl(const char *verb);
char		*it_ctl_output(const char *verb);

/* Make a unique name with a prefix ("user_<pid>_<n>"). */
void		 it_unique(char *out, size_t sz, const char *prefix);

/* A whole file (caller frees): NULL, or "", when it cannot be read. */
char		*it_slurp(const char *path);
char		*it_slurp_or_empty(const char *path);

/* "{", n - 2 spaces and "}" (n >= 2; caller frees): a body of n bytes. */
char		*it_padded_object(size_t n);

/*
 * POST /api/auth/signup with these values; the token and id of the
 * account into token and id.  Returns the status, or -1 when no
 * answer came.  (t/itfixture.h's itfx_signup asserts on it.)
 */
int		 it_signup_as(const char *email, const char *username,
		    const char *password, char *token, size_t tsz, char *id,
		    size_t isz);
/*
 * A fresh user through signup; 0 and its token, id and name (id and
 * username may be NULL), or -1.  An old name kept only while a test
 * written against it in another branch lands (it_pgbouncer); new
 * tests use itfx_signup.
 */
int		 it_signup(char *token, size_t tsz, char *id, size_t isz,
		    char *username, size_t usz);

/* "Authorization: Bearer <token>" into out. */
void		 it_bearer(char *out, size_t sz, const char *token);

#endif
