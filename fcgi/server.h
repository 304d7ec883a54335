/*
 * The process models: an accept loop per FastCGI worker, an optional
 * supervisor that forks N workers on one listening socket and
 * replaces any that dies (the php-fpm model), and plain CGI (one
 * request from the environment and stdin, then exit).
 */
#ifndef MP_SERVER_H
#define MP_SERVER_H

#include "base/settings.h"
#include "fcgi/http.h"

/*
 * The exit status of a worker (and then of its supervisor) that can
 * never accept on its socket, and of the program when its
 * configuration is unusable: EX_CONFIG of sysexits(3).  systemd units
 * list it in RestartPreventExitStatus=, so neither loops.
 */
#define SERVER_EXIT_UNUSABLE	78

/*
 * The application: the one function the transport hands every request
 * to, with the state it was given (opaque here).  It reads the body
 * through rd(rdarg), fills resp, and names in *note the route and the
 * caller for the access log.
 */
typedef void	(*server_app_fn)(void *app, struct http_request *req,
		    http_reader rd, void *rdarg, struct http_response *resp,
		    struct http_note *note);

/*
 * The application's housekeeping between requests, never while one
 * waits for its answer: called by a worker after each request is
 * answered and when it has waited for one for a while (may be NULL).
 */
typedef void	(*server_idle_fn)(void *app);

int	server_listen(const char *spec, int mode);
int	server_listening(int fd);
int	server_is_cgi(void);
int	server_cgi(const struct config *cfg, server_app_fn app_fn, void *app);
int	server_cgi_misconfigured(void);
int	server_worker(int listen_fd, const struct config *cfg,
	    server_app_fn app_fn, server_idle_fn idle_fn, void *app);

/* A supervised child's main: its exit status. */
typedef int	(*server_child_fn)(int listen_fd, const struct config *cfg);
int	server_supervise(int listen_fd, const struct config *cfg, int workers,
	    server_child_fn child, const char *what);

#endif
