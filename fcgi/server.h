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

#endif
