#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "handlers/handlers.h"
#include "t/itlib.h"
#include "t/itfixture.h"

static int
load_config(struct config *cfg)
{
	const char	*path, *err;

	if ((path = getenv("MP_TEST_JWT_SECRET_FILE")) == NULL ||
	    sodium_init() < 0)
		return -1;
	setenv("JWT_SECRET_FILE", path, 1);
	return config_load(cfg, &err);
}

int
itfx_user(char *token, size_t tsz, char *id, size_t isz)
{
	struct config	 cfg;
	char		 name[32], email[64], *uid, *tok;
	const char	*p[2];

	if (load_config(&cfg) != 0)
		return -1;
	it_unique(name, sizeof(name), "fx");
	snprintf(email, sizeof(email), "%s@example.com", name);
	p[0] = email;
	p[1] = name;
	uid = it_db_text("INSERT INTO users (email, username, password_hash) "
	    "VALUES ($1, $2, '$argon2id$fixture') RETURNING id", 2, p);
	if (uid == NULL)
		return -1;
	tok = token_issue(&cfg, uid, name, email, 1, time(NULL));
	if (tok == NULL) {
		free(uid);
		return -1;
	}
	snprintf(token, tsz, "%s", tok);
	snprintf(id, isz, "%s", uid);
	free(tok);
	free(uid);
	return 0;
}

PGconn *
itfx_conn(void)
{
	const char	*url;
	PGconn		*c;

	url = getenv("MP_TEST_DATABASE_URL");
	c = PQconnectdb(url != NULL ? url : "");
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

int
itfx_exec(PGconn *c, const char *sql, int n, const char *const *p)
{
	PGresult	*res;
	int		 ok;

	res = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "itfx_exec: %s", PQresultErrorMessage(res));
	PQclear(res);
	return ok ? 0 : -1;
}
