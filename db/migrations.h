/* The migrations compiled into the program (generated db/migrations.c). */
#ifndef MP_MIGRATIONS_H
#define MP_MIGRATIONS_H

#include <stddef.h>

struct migration {
	int		 version;	/* NNNN of NNNN_name.sql */
	const char	*name;
	const char	*sql;
};

extern const struct migration	migrations[];
extern const size_t		migrations_count;

#endif
