/*
 * Configuration, read once from the environment at start-up.  Every
 * variable, its default and its meaning is listed in README.md.
 */
#ifndef MP_SETTINGS_H
#define MP_SETTINGS_H

#include <stddef.h>

#define CONFIG_SECRET_MAX	512
#define CONFIG_PATH_MAX		256

struct config {
	const char	*database_url;		/* DATABASE_URL */
	const char	*database_direct_url;	/* DATABASE_DIRECT_URL, else
						   DATABASE_URL: the relay's */
	const char	*database_read_url;	/* DATABASE_READ_URL(_FILE), NULL:
						   no replica */
	int		 read_after_wait_ms;	/* MP_READ_AFTER_WAIT_MS */
	int		 read_max_lag_ms;	/* MP_READ_MAX_LAG_MS */
	int		 db_pooler;		/* MP_DB_POOLER: 0 auto, 1 none, 2 txn */
	unsigned char	 jwt_secret[CONFIG_SECRET_MAX];
	size_t		 jwt_secret_len;	/* JWT_SECRET / JWT_SECRET_FILE */
	/*
	 * The secret before the last rotation: tokens it signed are
	 * still accepted (until they expire), none is signed with it.
	 */
	unsigned char	 jwt_previous_secret[CONFIG_SECRET_MAX];
	size_t		 jwt_previous_secret_len; /* JWT_PREVIOUS_SECRET(_FILE); 0: none */
	const char	*jwt_issuer;		/* MP_JWT_ISSUER */
	const char	*jwt_audience;		/* MP_JWT_AUDIENCE */
	long		 token_ttl_s;		/* MP_TOKEN_TTL */
	int		 development;		/* MP_ENV=development */
	size_t		 body_limit;		/* MP_BODY_LIMIT */
	int		 workers;		/* MP_WORKERS */
	const char	*listen;		/* MP_LISTEN */
	int		 socket_mode;		/* MP_SOCKET_MODE (octal) */
	int		 connect_timeout_s;	/* MP_DB_CONNECT_TIMEOUT */
	int		 statement_timeout_ms;	/* MP_DB_STATEMENT_TIMEOUT_MS */
	unsigned long long argon2_opslimit;	/* MP_ARGON2_OPSLIMIT */
	size_t		 argon2_memlimit;	/* MP_ARGON2_MEMLIMIT */
	int		 login_max_failures;	/* MP_LOGIN_MAX_FAILURES */
	int		 login_window_s;	/* MP_LOGIN_WINDOW */
	int		 login_account_max;	/* MP_LOGIN_ACCOUNT_MAX */
	int		 login_account_window_s; /* MP_LOGIN_ACCOUNT_WINDOW */
	int		 write_limit;		/* MP_WRITE_LIMIT */
	int		 write_window_s;	/* MP_WRITE_WINDOW */
	int		 idempotency_ttl_s;	/* MP_IDEMPOTENCY_TTL */
	int		 tombstone_days;	/* MP_TOMBSTONE_DAYS */
	const char	*log_level;		/* MP_LOG_LEVEL */
	const char	*cors_origins;		/* MP_CORS_ORIGINS */
	const char	*log_file;		/* MP_LOG_FILE */
	char		 base_path[CONFIG_PATH_MAX]; /* MP_BASE_PATH, "" */
	/* Live updates (`mpapi relay`, cli/relay.c). */
	const char	*nchan_socket;		/* MP_NCHAN_SOCKET */
	int		 live_interval_ms;	/* MP_LIVE_INTERVAL_MS */
	int		 live_outbox_ttl_s;	/* MP_LIVE_OUTBOX_TTL */
};

int	config_load(struct config *cfg, const char **err);
int	config_load_db(struct config *cfg, const char **err);
int	config_read_env_file(const char *path, const char **err);

#endif
