/*
 * What every fuzz target shares: a configuration with a fixed secret
 * (the cursor and token codecs sign with it), libsodium started once,
 * the input as a NUL-terminated string, and checks that abort (so
 * libFuzzer records the input) when a property the code promises does
 * not hold.  Header-only: each target is one translation unit.
 */
#ifndef MP_FUZZLIB_H
#define MP_FUZZLIB_H

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "handlers/handlers.h"
#include "handlers/model.h"

#define FUZZ_SECRET	"fuzz-secret-0123456789abcdef0123456789abcdef"

/*
 * route_match over the application's table.  Since the floors' split
 * (issue 10: base/ beside fcgi/) the router takes the table opaque and
 * the application's reader of its patterns; before, the table itself.
 */
#if __has_include("base/buf.h")
#define FUZZ_ROUTE_MATCH(m, path, idx, params, np, allow)		\
	route_match(app_routes, app_routes_count, app_route_pattern,	\
	    (m), (path), (idx), (params), (np), (allow))
#else
#define FUZZ_ROUTE_MATCH(m, path, idx, params, np, allow)		\
	route_match(app_routes, app_routes_count, (m), (path), (idx),	\
	    (params), (np), (allow))
#endif

/* Abort with a message when cond does not hold: a finding. */
#define FUZZ_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz: %s:%d: %s: ", __FILE__,		\
		    __LINE__, #cond);					\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

static struct config	fuzz_cfg;

static __attribute__((unused)) const struct config *
fuzz_config(void)
{
	static int	 done;

	if (!done) {
		if (sodium_init() < 0)
			abort();
		memset(&fuzz_cfg, 0, sizeof(fuzz_cfg));
		memcpy(fuzz_cfg.jwt_secret, FUZZ_SECRET, strlen(FUZZ_SECRET));
		fuzz_cfg.jwt_secret_len = strlen(FUZZ_SECRET);
		fuzz_cfg.jwt_issuer = "mpapi";
		fuzz_cfg.jwt_audience = "mpapi";
		fuzz_cfg.token_ttl_s = 3600;
		fuzz_cfg.body_limit = 1024 * 1024;
		fuzz_cfg.cors_origins = "https://app.example, http://localhost:5173";
		done = 1;
	}
	return &fuzz_cfg;
}

/* A NUL-terminated copy of the input (caller frees). */
static __attribute__((unused)) char *
fuzz_str(const uint8_t *data, size_t size)
{
	char	*s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * A body target's input as a JSON object, parsed as the dispatcher
 * parses bodies (at most 64 KiB): the object, with *s its NUL-ended
 * copy for the caller to free, or NULL (and *s NULL) when refused.
 */
static __attribute__((unused)) json_object *
fuzz_object(const uint8_t *data, size_t size, char **s)
{
	json_object	*o = NULL;
	char		 err[160];

	*s = NULL;
	if (size > 64 * 1024)
		return NULL;
	*s = fuzz_str(data, size);
	if (json_parse_object(*s, size, &o, err, sizeof(err)) != 0) {
		free(*s);
		*s = NULL;
		return NULL;
	}
	return o;
}

/*
 * The problem body field errors make must be one JSON text whatever
 * the field names and messages hold (they may echo client bytes).
 */
static __attribute__((unused)) void
fuzz_check_problem(struct field_errors *fe)
{
	struct http_response	 r;
	size_t			 members;
	char			 err[160];

	http_response_init(&r);
	field_errors_problem(fe, &r, "Validation failed");
	FUZZ_CHECK(r.status == 400 || r.status == 422, "status %d", r.status);
	FUZZ_CHECK(json_check_text(r.body.data, r.body.len, &members, err,
	    sizeof(err)) == 0, "problem body is not JSON (%s): %.*s", err,
	    (int)r.body.len, r.body.data);
	http_response_release(&r);
}

/*
 * etag_parse_list with the versions in a new array (caller frees).  The
 * list had a fixed room of ETAG_LIST_MAX versions before (tags past it
 * were dropped without a word: fuzz/README.md, "Findings"); it grows
 * with the list since.
 */
static __attribute__((unused)) int
fuzz_etag_list(const char *h, long long **vs, size_t *n, int *any)
{
#ifdef ETAG_LIST_MAX
	int	 r;

	*vs = malloc(ETAG_LIST_MAX * sizeof(**vs));
	if ((r = etag_parse_list(h, *vs, ETAG_LIST_MAX, n, any)) != 0) {
		free(*vs);
		*vs = NULL;
	}
	return r;
#else
	return etag_parse_list(h, vs, n, any);
#endif
}

#endif
