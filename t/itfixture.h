/*
 * Fixtures for the integration tests of safe retries, limits and sync:
 * users made straight in the database with a token signed the way the
 * service signs them (no password hashing, no dependence on the
 * signup route), and database connections of their own for tests that
 * write from several threads.
 */
#ifndef MP_ITFIXTURE_H
#define MP_ITFIXTURE_H

#include <stddef.h>

#include <libpq-fe.h>

/*
 * Make a user; copies its bearer token and id.  Needs
 * MP_TEST_JWT_SECRET_FILE (deploy/dev test sets it).  Returns 0 or -1.
 */
int	 itfx_user(char *token, size_t tsz, char *id, size_t isz);

/* A new connection to the test database (caller PQfinishes), or NULL. */
PGconn	*itfx_conn(void);

/* Run sql with params on c; 0 when it succeeded. */
int	 itfx_exec(PGconn *c, const char *sql, int n, const char *const *p);

#endif
