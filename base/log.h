/*
 * Logging: one JSON object per line on stderr.  Usable from every
 * layer (it knows nothing of FastCGI or the database).
 */
#ifndef MP_LOG_H
#define MP_LOG_H

#include <stddef.h>
#include <stdint.h>

/* Access log. */
struct log_entry {
	const char	*request_id;
	const char	*method;
	const char	*route;
	int		 status;
	double		 duration_ms;
	const char	*user_id;
};
void		 log_request(const struct log_entry *);
void		 log_msg(const char *level, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 log_set_level(const char *);
int		 log_to_file(const char *path);
int		 log_reopen(void);
void		 http_format_time(char *, size_t, int64_t ms);

#endif
