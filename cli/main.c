/*
 * mpapi: the Music Playground API, a FastCGI worker (or a plain CGI
 * program).  Every command, option and variable is in mpapi(8).
 *
 *   mpapi [serve]                  one worker on the socket on fd 0
 *                                  (spawn-fcgi, multiwatch, mod_fcgid)
 *   mpapi serve --workers N        supervise N workers on the socket on
 *                                  fd 0 (systemd socket activation;
 *                                  --supervise: MP_WORKERS of them)
 *   mpapi serve --listen SPEC [--workers N]
 *                                  bind SPEC (a unix socket path or
 *                                  HOST:PORT) and supervise N workers
 *   mpapi migrate [--status]       apply pending migrations, or list them
 *   mpapi users import FILE        load accounts exported by the old system
 *   mpapi purge                    delete what has expired
 *                                  (cli/commands.c, command_purge)
 *   mpapi relay                    publish the live updates the writes
 *                                  queued to nginx's nchan, supervised
 *                                  like the workers (cli/relay.c)
 *   mpapi --help | --version
 *
 * Started by a web server as a CGI program (GATEWAY_INTERFACE and
 * REQUEST_METHOD set, fd 0 not a listening socket), it serves that
 * one request and exits, whatever its arguments.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/settings.h"
#include "base/log.h"
#include "fcgi/server.h"
#include "db/db.h"
#include "handlers/handlers.h"
#include "cli/commands.h"
#include "handlers/live.h"
#include "cli/relay.h"

static const char usage_text[] =
    "usage: mpapi [serve] [--listen SPEC] [--workers N | --supervise]\n"
    "             [--log FILE]\n"
    "       mpapi migrate [--status]\n"
    "       mpapi users import FILE\n"
    "       mpapi purge\n"
    "       mpapi relay\n"
    "       mpapi --help | --version\n";

static const char help_text[] =
    "\n"
    "  serve              serve FastCGI on the listening socket on fd 0\n"
    "                     (spawn-fcgi, multiwatch, mod_fcgid, systemd)\n"
    "    --listen SPEC    bind SPEC (a unix socket path or HOST:PORT)\n"
    "    --workers N      supervise N workers\n"
    "    --supervise      supervise MP_WORKERS workers (default 4)\n"
    "    --log FILE       append the log to FILE instead of stderr\n"
    "  migrate            apply the pending migrations\n"
    "    --status         list applied and pending migrations; exit 0 when\n"
    "                     none is pending, 3 when some are, 1 on error\n"
    "  users import FILE  load accounts exported from the old system\n"
    "  purge              delete what has expired: idempotency keys, old\n"
    "                     tombstones and sync marks, play marks, write\n"
    "                     budgets, login failures, signed-out tokens and\n"
    "                     live updates no relay published; exit 1 when it\n"
    "                     could not run\n"
    "  relay              publish the live updates the writes queued to\n"
    "                     nginx's nchan (MP_NCHAN_SOCKET), supervised like\n"
    "                     the workers; needs the JWT secret too\n"
    "\n"
    "Started by a web server as a CGI program, mpapi serves the one\n"
    "request in its environment and exits.  Configuration comes from the\n"
    "environment (DATABASE_URL, JWT_SECRET_FILE, MP_*), optionally from\n"
    "the file MP_ENV_FILE names; migrate, purge and users import need\n"
    "only the database.  See mpapi(8).\n";

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(2);
}

static struct db *
open_db(const struct config *cfg)
{
	struct db_config	 dc;
	struct db		*db;

	dc.conninfo = cfg->database_url;
	dc.connect_timeout_s = cfg->connect_timeout_s;
	dc.statement_timeout_ms = cfg->statement_timeout_ms;
	dc.pooler = cfg->db_pooler;
	dc.session = 0;
	db = db_new(&dc);
	if (cfg->database_read_url != NULL) {
		dc.conninfo = cfg->database_read_url;
		dc.pooler = DB_POOLER_NONE;
		db_replica_attach(db, &dc);
	}
	return db;
}

/*
 * The environment file and the log file, before anything is logged.
 * Returns 0, or -1 when either cannot be used (already reported).
 */
static int
prepare(const char *log_file)
{
	const char	*path, *err;

	if ((path = getenv("MP_ENV_FILE")) != NULL && *path != '\0' &&
	    config_read_env_file(path, &err) != 0) {
		log_msg("error", "configuration: %s: %s", err, path);
		return -1;
	}
	if (log_file == NULL)
		log_file = getenv("MP_LOG_FILE");
	if (log_file != NULL && *log_file != '\0' &&
	    log_to_file(log_file) != 0) {
		log_msg("error", "configuration: cannot open the log file "
		    "%s: %s", log_file, strerror(errno));
		return -1;
	}
	return 0;
}

static int
load(struct config *cfg, int full)
{
	const char	*err;

	if ((full ? config_load(cfg, &err) : config_load_db(cfg, &err)) != 0) {
		log_msg("error", "configuration: %s", err);
		return -1;
	}
	log_set_level(cfg->log_level);
	return 0;
}

/*
 * One process that serves requests: the application (handlers/, with
 * its database handle, which connects on first use) handed to the
 * transport's accept loop.  A supervised worker's main.
 */
static int
serve_worker(int listen_fd, const struct config *cfg)
{
	struct app	 app;
	int		 rc;

	app.cfg = cfg;
	app.db = open_db(cfg);
	rc = server_worker(listen_fd, cfg, app_handle, app_idle, &app);
	db_free(app.db);
	return rc;
}

/*
 * One CGI request; a broken configuration still gets an answer.  The
 * database connection lives for this request only.
 */
static int
cmd_cgi(void)
{
	struct config	 cfg;
	struct app	 app;
	int		 rc;

	if (prepare(NULL) != 0 || load(&cfg, 1) != 0)
		return server_cgi_misconfigured();
	app.cfg = &cfg;
	app.db = open_db(&cfg);
	rc = server_cgi(&cfg, app_handle, &app);
	db_counters_flush(app.db, 1);	/* this process ends: its counts */
	db_free(app.db);
	return rc;
}

static int
cmd_serve(int argc, char **argv)
{
	struct config	 cfg;
	const char	*listen_spec = NULL, *log_file = NULL;
	long		 workers = 0;
	char		*end;
	int		 i, fd, supervise = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_spec = argv[++i];
		else if (strcmp(argv[i], "--supervise") == 0)
			supervise = 1;
		else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
			log_file = argv[++i];
		else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
			workers = strtol(argv[++i], &end, 10);
			if (*end != '\0' || workers < 1 || workers > 256)
				usage();
		} else
			usage();
	}
	if (prepare(log_file) != 0 || load(&cfg, 1) != 0)
		return SERVER_EXIT_UNUSABLE;
	if (listen_spec == NULL)
		listen_spec = cfg.listen;
	if (listen_spec == NULL) {		/* FCGI_LISTENSOCK_FILENO */
		if (!server_listening(0)) {
			log_msg("error", "fd 0 is not a listening socket: start "
			    "mpapi with serve --listen SPEC, under systemd "
			    "socket activation or spawn-fcgi, or from a web "
			    "server as a CGI program");
			return SERVER_EXIT_UNUSABLE;
		}
		if (workers == 0 && supervise)
			workers = cfg.workers;
		return workers > 0 ? server_supervise(0, &cfg, (int)workers,
		    serve_worker, "workers") : serve_worker(0, &cfg);
	}
	if ((fd = server_listen(listen_spec, cfg.socket_mode)) < 0) {
		log_msg("error", "cannot listen on %s", listen_spec);
		return EXIT_FAILURE;
	}
	return server_supervise(fd, &cfg,
	    workers > 0 ? (int)workers : cfg.workers, serve_worker, "workers");
}

static int
cmd_migrate(int status_only)
{
	struct config	 cfg;
	struct db	*db;
	int		 applied, rc;

	if (prepare(NULL) != 0 || load(&cfg, 0) != 0)
		return SERVER_EXIT_UNUSABLE;
	db = open_db(&cfg);
	if (status_only) {
		rc = command_migrate_status(db, stdout);
		db_free(db);
		return rc;
	}
	rc = db_migrate(db, &applied);
	db_free(db);
	if (rc != 0) {
		log_msg("error", "migration failed");
		return EXIT_FAILURE;
	}
	log_msg("info", "schema at version %d (%d applied now)",
	    db_latest_migration(), applied);
	return EXIT_SUCCESS;
}

static int
cmd_db(int purge, const char *file)
{
	struct config	 cfg;
	struct db	*db;
	int		 rc;

	if (prepare(NULL) != 0 || load(&cfg, 0) != 0)
		return SERVER_EXIT_UNUSABLE;
	db = open_db(&cfg);
	rc = purge ? command_purge(db, &cfg) :
	    command_users_import(db, &cfg, file);
	db_free(db);
	return rc;
}

/*
 * mpapi relay: one relay (cli/relay.c) under the workers'
 * supervisor, which starts it again when it dies.  It needs the whole
 * configuration: a sync message carries a cursor signed with the
 * secret the workers use.
 */
static int
cmd_relay(void)
{
	struct config	 cfg;

	if (prepare(NULL) != 0 || load(&cfg, 1) != 0)
		return SERVER_EXIT_UNUSABLE;
	return server_supervise(-1, &cfg, 1, relay_run, "relay");
}

int
main(int argc, char **argv)
{
	if (server_is_cgi())
		return cmd_cgi();
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)) {
		fputs(usage_text, stdout);
		fputs(help_text, stdout);
		return EXIT_SUCCESS;
	}
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "-V") == 0)) {
		printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return EXIT_SUCCESS;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "mpapi: libsodium cannot initialise\n");
		return EXIT_FAILURE;
	}
	if (argc < 2 || argv[1][0] == '-')
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	if (strcmp(argv[1], "migrate") == 0 && argc == 2)
		return cmd_migrate(0);
	if (strcmp(argv[1], "migrate") == 0 && argc == 3 &&
	    strcmp(argv[2], "--status") == 0)
		return cmd_migrate(1);
	if (strcmp(argv[1], "users") == 0 && argc == 4 &&
	    strcmp(argv[2], "import") == 0)
		return cmd_db(0, argv[3]);
	if (strcmp(argv[1], "purge") == 0 && argc == 2)
		return cmd_db(1, NULL);
	if (strcmp(argv[1], "relay") == 0 && argc == 2)
		return cmd_relay();
	usage();
	return EXIT_FAILURE;
}
