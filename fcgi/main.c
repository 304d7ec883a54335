/*
 * mpapi: the Music Playground API, a FastCGI worker.
 *
 *   mpapi [serve]                  one worker on the socket on fd 0
 *                                  (spawn-fcgi, multiwatch)
 *   mpapi serve --workers N        supervise N workers on the socket on
 *                                  fd 0 (systemd socket activation)
 *   mpapi serve --listen SPEC [--workers N]
 *                                  bind SPEC (a unix socket path or
 *                                  HOST:PORT) and supervise N workers
 *   mpapi migrate                  apply pending migrations
 *   mpapi users import FILE        load accounts exported by the old system
 *   mpapi purge                    delete what has expired (see
 *                                  command_purge)
 *   mpapi relay                    publish the live updates the writes
 *                                  queued to nginx's nchan, supervised
 *                                  like the workers (handlers/relay.c)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fcgi/settings.h"
#include "fcgi/log.h"
#include "fcgi/server.h"
#include "db/db.h"
#include "handlers/handlers.h"
#include "handlers/commands.h"
#include "handlers/live.h"

static void
usage(void)
{
	fprintf(stderr, "usage: mpapi [serve [--listen SPEC] [--workers N]]\n"
	    "       mpapi migrate\n"
	    "       mpapi users import FILE\n"
	    "       mpapi purge\n"
	    "       mpapi relay\n");
	exit(2);
}

static struct db *
open_db(const struct config *cfg)
{
	struct db_config	 dc;

	dc.conninfo = cfg->database_url;
	dc.connect_timeout_s = cfg->connect_timeout_s;
	dc.statement_timeout_ms = cfg->statement_timeout_ms;
	return db_new(&dc);
}

static int
cmd_serve(const struct config *cfg, int argc, char **argv)
{
	const char	*listen_spec = cfg->listen;
	long		 workers = cfg->workers;
	char		*end;
	int		 i, fd, supervise = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_spec = argv[++i];
		else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
			workers = strtol(argv[++i], &end, 10);
			if (*end != '\0' || workers < 1 || workers > 256)
				usage();
			supervise = 1;
		} else
			usage();
	}
	if (listen_spec == NULL)		/* FCGI_LISTENSOCK_FILENO */
		return supervise ? server_supervise(0, cfg, (int)workers) :
		    server_worker(0, cfg);
	if ((fd = server_listen(listen_spec, cfg->socket_mode)) < 0) {
		log_msg("error", "cannot listen on %s", listen_spec);
		return EXIT_FAILURE;
	}
	return server_supervise(fd, cfg, (int)workers);
}

static int
cmd_migrate(const struct config *cfg)
{
	struct db	*db;
	int		 applied, rc;

	db = open_db(cfg);
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

int
main(int argc, char **argv)
{
	struct config	 cfg;
	const char	*err;
	struct db	*db;
	int		 rc;

	if (sodium_init() < 0) {
		fprintf(stderr, "mpapi: libsodium cannot initialise\n");
		return EXIT_FAILURE;
	}
	if (config_load(&cfg, &err) != 0) {
		log_msg("error", "configuration: %s", err);
		return EXIT_FAILURE;
	}
	log_set_level(cfg.log_level);
	if (argc < 2 || strcmp(argv[1], "serve") == 0)
		return cmd_serve(&cfg, argc < 2 ? 0 : argc - 2,
		    argc < 2 ? NULL : argv + 2);
	if (strcmp(argv[1], "migrate") == 0 && argc == 2)
		return cmd_migrate(&cfg);
	if (strcmp(argv[1], "users") == 0 && argc == 4 &&
	    strcmp(argv[2], "import") == 0) {
		db = open_db(&cfg);
		rc = command_users_import(db, &cfg, argv[3]);
		db_free(db);
		return rc;
	}
	if (strcmp(argv[1], "relay") == 0 && argc == 2)
		return server_supervise_children(-1, &cfg, 1, relay_run,
		    "relay");
	if (strcmp(argv[1], "purge") == 0 && argc == 2) {
		db = open_db(&cfg);
		rc = command_purge(db, &cfg);
		db_free(db);
		return rc;
	}
	usage();
	return EXIT_FAILURE;
}
