/*
 * Helpers of the loop integration tests: users made straight in the
 * database with a token signed by the stack's own secret (so these
 * tests need nothing of the accounts routes), loops made through the
 * API, and short request wrappers.
 */
#ifndef MP_IT_LOOPS_UTIL_H
#define MP_IT_LOOPS_UTIL_H

#include "t/itlib.h"

struct itl_user {
	char	 id[40];
	char	 name[40];
	char	 token[1024];
	char	 auth[1100];		/* "Authorization: Bearer ..." */
};

/* A fresh user; aborts the test when it cannot be made. */
void		 itl_user(struct itl_user *);

/*
 * One request as user u (NULL: anonymous) with optional extra header
 * lines (NULL-terminated list, or NULL).  Aborts the test when no
 * response comes.
 */
void		 itl_req(const char *method, const char *path,
		    const struct itl_user *u, const char *const *extra,
		    const char *body, struct it_resp *);

/* Create a loop from body as u (expects 201); its id into id. */
void		 itl_loop(const struct itl_user *u, const char *body,
		    char *id, size_t idsz);

/* A valid loop body named name, public or not. */
const char	*itl_body(const char *name, int is_public);

/* Database checks with one text parameter. */
long long	 itl_count1(const char *sql, const char *p1);
char		*itl_text1(const char *sql, const char *p1);

/* 1 if the problem body's errors[] names field. */
int		 itl_names_field(const struct it_resp *, const char *field);

#endif
