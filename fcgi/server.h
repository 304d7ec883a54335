/*
 * The process models: an accept loop per FastCGI worker, an optional
 * supervisor that forks N workers on one listening socket and
 * replaces any that dies (the php-fpm model), and plain CGI (one
 * request from the environment and stdin, then exit).
 */
#ifndef MP_SERVER_H
#define MP_SERVER_H

#include "base/settings.h"

/*
 * The exit status of a worker (and then of its supervisor) that can
 * never accept on its socket, and of the program when its
 * configuration is unusable: EX_CONFIG of sysexits(3).  systemd units
 * list it in RestartPreventExitStatus=, so neither loops.
 */
#define SERVER_EXIT_UNUSABLE	78

int	server_listen(const char *spec, int mode);
int	server_listening(int fd);
int	server_is_cgi(void);
int	server_cgi(const struct config *);
int	server_cgi_misconfigured(void);
int	server_worker(int listen_fd, const struct config *);
int	server_supervise(int listen_fd, const struct config *, int workers);

/* A supervised child's main: its exit status. */
typedef int	(*server_child_fn)(int listen_fd, const struct config *);
int	server_supervise_children(int listen_fd, const struct config *,
	    int children, server_child_fn, const char *what);

#endif
