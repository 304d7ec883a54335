/*
 * The FastCGI process model: an accept loop per worker, and an
 * optional supervisor that forks N workers on one listening socket and
 * replaces any that dies (the php-fpm model).
 */
#ifndef MP_SERVER_H
#define MP_SERVER_H

#include "fcgi/settings.h"

int	server_listen(const char *spec, int mode);
int	server_worker(int listen_fd, const struct config *);
int	server_supervise(int listen_fd, const struct config *, int workers);

/* A supervised child's main: its exit status. */
typedef int	(*server_child_fn)(int listen_fd, const struct config *);
int	server_supervise_children(int listen_fd, const struct config *,
	    int children, server_child_fn, const char *what);

#endif
