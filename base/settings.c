#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "base/settings.h"

static const char *
env_str(const char *name, const char *def)
{
	const char	*v;

	v = getenv(name);
	return v != NULL && *v != '\0' ? v : def;
}

/* A whole number in [min, max] from the environment; -1 if malformed. */
static int
env_num(const char *name, long long def, long long min, long long max,
    long long *out)
{
	const char	*v;
	char		*end;
	long long	 n;

	v = getenv(name);
	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/*
 * The file's bytes without their final newlines into out (room for
 * CONFIG_SECRET_MAX).  Returns 0, -1 when it cannot be read, -2 when
 * it holds more than CONFIG_SECRET_MAX bytes.
 */
static int
read_secret_file(const char *path, unsigned char *out, size_t *len)
{
	unsigned char	 buf[CONFIG_SECRET_MAX + 3];
	ssize_t		 n = 0, got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (got < (ssize_t)sizeof(buf) &&
	    (n = read(fd, buf + got, sizeof(buf) - (size_t)got)) > 0)
		got += n;
	close(fd);
	if (n < 0)
		return -1;
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
		got--;
	if (got > CONFIG_SECRET_MAX) {
		sodium_memzero(buf, sizeof(buf));
		return -2;
	}
	memcpy(out, buf, (size_t)got);
	sodium_memzero(buf, sizeof(buf));
	*len = (size_t)got;
	return 0;
}

/*
 * A secret from the file variable file_var, else from the variable
 * var, into out (*len 0 when neither is set).  Returns 0, -1 when the
 * file cannot be read, -2 when the secret is longer than
 * CONFIG_SECRET_MAX bytes (never cut: a cut secret would sign with
 * another key than the operator gave).
 */
static int
read_secret(const char *file_var, const char *var, unsigned char *out,
    size_t *len)
{
	const char	*v;

	*len = 0;
	if ((v = env_str(file_var, NULL)) != NULL)
		return read_secret_file(v, out, len);
	if ((v = env_str(var, NULL)) != NULL) {
		if (strlen(v) > CONFIG_SECRET_MAX)
			return -2;
		*len = strlen(v);
		memcpy(out, v, *len);
	}
	return 0;
}

/*
 * MP_BASE_PATH: "" (no mount point) or "/a/b" without a trailing
 * slash.  Returns 0 with the normalised value in out, or -1.
 */
static int
base_path(const char *v, char *out, size_t sz)
{
	size_t	 n;

	if (v == NULL || *v == '\0') {
		out[0] = '\0';
		return 0;
	}
	if (v[0] != '/' || strchr(v, '?') != NULL || strchr(v, '%') != NULL)
		return -1;
	n = strlen(v);
	while (n > 0 && v[n - 1] == '/')
		n--;
	if (n >= sz)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

/*
 * Everything but the JWT secret.  Returns 0, or -1 with *err set.
 */
static int
load_common(struct config *cfg, const char **err)
{
	const char	*v;
	long long	 n;

	memset(cfg, 0, sizeof(*cfg));
	*err = NULL;
	cfg->database_url = env_str("DATABASE_URL", "dbname=mpapi");
	cfg->database_direct_url = env_str("DATABASE_DIRECT_URL",
	    cfg->database_url);
	cfg->database_read_url = env_str("DATABASE_READ_URL", NULL);
	if (cfg->database_read_url != NULL && *cfg->database_read_url == '\0')
		cfg->database_read_url = NULL;
	/* Values of enum db_pooler (db/db.h): 0 auto, 1 none, 2 transaction. */
	v = env_str("MP_DB_POOLER", "auto");
	if (strcmp(v, "auto") == 0)
		cfg->db_pooler = 0;
	else if (strcmp(v, "none") == 0)
		cfg->db_pooler = 1;
	else if (strcmp(v, "transaction") == 0)
		cfg->db_pooler = 2;
	else {
		*err = "MP_DB_POOLER must be auto, none or transaction";
		return -1;
	}
	cfg->development = strcmp(env_str("MP_ENV", "production"),
	    "development") == 0;
	cfg->jwt_issuer = env_str("MP_JWT_ISSUER", "music-playground-api");
	cfg->jwt_audience = env_str("MP_JWT_AUDIENCE", "music-playground");
	cfg->listen = env_str("MP_LISTEN", NULL);
	cfg->log_level = env_str("MP_LOG_LEVEL", "info");
	cfg->log_file = env_str("MP_LOG_FILE", NULL);
	cfg->cors_origins = env_str("MP_CORS_ORIGINS", cfg->development ?
	    "http://localhost:*, http://127.0.0.1:*" : "");
	cfg->nchan_socket = env_str("MP_NCHAN_SOCKET",
	    "/run/mpapi-nchan/nchan.sock");
	if (base_path(env_str("MP_BASE_PATH", NULL), cfg->base_path,
	    sizeof(cfg->base_path)) != 0) {
		*err = "MP_BASE_PATH must be empty or a path starting with /";
		return -1;
	}

#define NUM(var, def, lo, hi, field) do {				\
	if (env_num(var, def, lo, hi, &n) != 0) {			\
		*err = var " is not a whole number in range";		\
		return -1;						\
	}								\
	field = n;							\
} while (0)
	NUM("MP_TOKEN_TTL", 604800, 60, 31536000, cfg->token_ttl_s);
	NUM("MP_BODY_LIMIT", 1048576, 1024, 67108864, cfg->body_limit);
	NUM("MP_WORKERS", 4, 1, 256, cfg->workers);
	NUM("MP_DB_CONNECT_TIMEOUT", 5, 2, 60, cfg->connect_timeout_s);
	NUM("MP_DB_STATEMENT_TIMEOUT_MS", 5000, 100, 600000,
	    cfg->statement_timeout_ms);
	NUM("MP_READ_AFTER_WAIT_MS", 200, 0, 5000, cfg->read_after_wait_ms);
	NUM("MP_READ_MAX_LAG_MS", 5000, 0, 3600000, cfg->read_max_lag_ms);
	NUM("MP_ARGON2_OPSLIMIT", 2, 1, 100, cfg->argon2_opslimit);
	NUM("MP_ARGON2_MEMLIMIT", 19922944, 8192 * 1024, 1LL << 32,
	    cfg->argon2_memlimit);
	NUM("MP_LOGIN_MAX_FAILURES", 10, 1, 1000000, cfg->login_max_failures);
	NUM("MP_LOGIN_WINDOW", 900, 1, 86400 * 7, cfg->login_window_s);
	NUM("MP_LOGIN_ACCOUNT_MAX", 100, 1, 1000000, cfg->login_account_max);
	NUM("MP_LOGIN_ACCOUNT_WINDOW", 3600, 1, 86400 * 7,
	    cfg->login_account_window_s);
	NUM("MP_WRITE_LIMIT", 600, 1, 100000000, cfg->write_limit);
	NUM("MP_WRITE_WINDOW", 3600, 1, 86400 * 7, cfg->write_window_s);
	NUM("MP_IDEMPOTENCY_TTL", 86400, 60, 86400 * 30,
	    cfg->idempotency_ttl_s);
	NUM("MP_TOMBSTONE_DAYS", 30, 1, 3650, cfg->tombstone_days);
	NUM("MP_LIVE_INTERVAL_MS", 200, 10, 10000, cfg->live_interval_ms);
	NUM("MP_LIVE_OUTBOX_TTL", 86400, 60, 86400 * 30,
	    cfg->live_outbox_ttl_s);
#undef NUM
	v = env_str("MP_SOCKET_MODE", "0660");
	cfg->socket_mode = (int)strtol(v, NULL, 8);
	return 0;
}

/*
 * Fill cfg from the environment, for the commands that need only the
 * database (migrate, purge, users import): no JWT secret is read or
 * required.  Returns 0, or -1 with a static message in *err.
 */
int
config_load_db(struct config *cfg, const char **err)
{
	return load_common(cfg, err);
}

/*
 * Fill cfg from the environment.  Returns 0, or -1 with a static
 * message in *err naming the variable at fault.  Outside development
 * a JWT secret of at least 32 bytes is required; in development a
 * missing one is replaced by a random secret for this process tree
 * (read before the workers fork, so they share it).
 */
int
config_load(struct config *cfg, const char **err)
{
	if (load_common(cfg, err) != 0)
		return -1;
	switch (read_secret("JWT_SECRET_FILE", "JWT_SECRET", cfg->jwt_secret,
	    &cfg->jwt_secret_len)) {
	case 0:
		break;
	case -2:
		*err = "JWT_SECRET (or JWT_SECRET_FILE) holds more than 512 "
		    "bytes";
		return -1;
	default:
		*err = "JWT_SECRET_FILE cannot be read";
		return -1;
	}
	/* Key rotation: the secret before, accepted but never signing. */
	switch (read_secret("JWT_PREVIOUS_SECRET_FILE", "JWT_PREVIOUS_SECRET",
	    cfg->jwt_previous_secret, &cfg->jwt_previous_secret_len)) {
	case 0:
		break;
	case -2:
		*err = "JWT_PREVIOUS_SECRET (or JWT_PREVIOUS_SECRET_FILE) holds "
		    "more than 512 bytes";
		return -1;
	default:
		*err = "JWT_PREVIOUS_SECRET_FILE cannot be read";
		return -1;
	}
	if (cfg->jwt_previous_secret_len > 0 &&
	    cfg->jwt_previous_secret_len < 32) {
		*err = "JWT_PREVIOUS_SECRET (or JWT_PREVIOUS_SECRET_FILE) must "
		    "hold at least 32 bytes";
		return -1;
	}
	if (cfg->jwt_secret_len >= 32)
		return 0;
	if (!cfg->development || cfg->jwt_secret_len > 0) {
		*err = "JWT_SECRET (or JWT_SECRET_FILE) must hold at least "
		    "32 bytes";
		return -1;
	}
	if (sodium_init() < 0) {
		*err = "libsodium cannot initialise";
		return -1;
	}
	randombytes_buf(cfg->jwt_secret, 48);
	cfg->jwt_secret_len = 48;
	return 0;
}

/* Strip one pair of matching quotes around v (in place). */
static char *
unquote(char *v)
{
	size_t	 n;

	n = strlen(v);
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

/*
 * Read an environment file (the format of systemd's EnvironmentFile=
 * and of deploy/mpapi.env.example): NAME=VALUE lines, blank lines and
 * # comments, an optional "export " and one pair of quotes around a
 * value.  A variable already in the environment wins over the file,
 * so SetEnv or the command line can override one setting.  Returns 0,
 * or -1 with a static message in *err (the file cannot be read, or a
 * line is neither blank, a comment nor NAME=VALUE).
 */
int
config_read_env_file(const char *path, const char **err)
{
	FILE	*f;
	char	*line = NULL, *p, *eq, *name, *val;
	size_t	 cap = 0, n, i;
	ssize_t	 len;
	int	 rc = -1;

	*err = NULL;
	if ((f = fopen(path, "re")) == NULL) {
		*err = "MP_ENV_FILE cannot be read";
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r' || line[len - 1] == ' ' ||
		    line[len - 1] == '\t'))
			line[--len] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		if (strncmp(p, "export ", 7) == 0)
			p += 7;
		if ((eq = strchr(p, '=')) == NULL || eq == p)
			goto bad;
		*eq = '\0';
		name = p;
		n = strlen(name);
		for (i = 0; i < n; i++)
			if (!(name[i] == '_' || (name[i] >= 'A' &&
			    name[i] <= 'Z') || (name[i] >= 'a' &&
			    name[i] <= 'z') || (i > 0 && name[i] >= '0' &&
			    name[i] <= '9')))
				goto bad;
		val = unquote(eq + 1);
		if (setenv(name, val, 0) != 0)
			goto bad;
	}
	if (ferror(f)) {
		*err = "MP_ENV_FILE cannot be read";
		goto out;
	}
	rc = 0;
	goto out;
bad:
	*err = "MP_ENV_FILE has a line that is not NAME=VALUE";
out:
	if (line != NULL) {
		memset(line, 0, cap);
		free(line);
	}
	fclose(f);
	return rc;
}
