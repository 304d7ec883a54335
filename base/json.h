/*
 * JSON helpers every floor may use (base/json.c): the strict RFC 8259
 * parse of a request body, typed reads of object members with range
 * checks that record field errors, and the list of those errors.  They
 * depend on json-c and base/buf.h only; the HTTP answer that lists the
 * errors is the transport's (field_errors_problem, fcgi/http.h).
 */
#ifndef MP_JSON_H
#define MP_JSON_H

#include <stddef.h>

#include <json-c/json.h>

#include "base/buf.h"

/*
 * A list of field errors, rendered as the members of a JSON array
 * [{"field":...,"message":...},...].
 */
struct field_errors {
	struct buf	 json;		/* the array members so far */
	struct buf	 first;		/* "field: message" of the first */
	size_t		 count;
};

void	field_errors_init(struct field_errors *fe);
void	field_errors_release(struct field_errors *fe);
void	field_errors_add(struct field_errors *fe, const char *field,
	    const char *message);
void	field_errors_addf(struct field_errors *fe, const char *message,
	    const char *fieldfmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The body parse: json_check_text is the RFC 8259 pass over the bytes
 * (it counts the object members in *members), json_parse_object runs it
 * and then json-c, and wants an object (s[len] must be a readable NUL:
 * json-c is handed it to end a number at the very end).  Both return
 * 0, or -1 with the reason in err (errsz bytes).
 */
int	json_check_text(const char *s, size_t len, size_t *members, char *err,
	    size_t errsz);
int	json_parse_object(const char *s, size_t len, json_object **out,
	    char *err, size_t errsz);

/*
 * The text of a JSON number read as an exact decimal: the value is 0
 * when nsig is 0, else (-1)^neg x 0.d1d2...dn x 10^(lead + 1), where
 * d1...dn are its significant digits (no leading or trailing zeros;
 * head holds the first JV_DECIMAL_HEAD of them).  scale is the number
 * of digits after the point once the exponent is applied, as
 * PostgreSQL's numeric counts them (trailing zeros included), and exp
 * the exponent as written (saturated far beyond any limit).
 */
#define JV_DECIMAL_HEAD		20
#define JV_EXP_SATURATED	1000000000000000LL
#define JV_NUMERIC_EXP_LIMIT	1073741823LL	/* INT_MAX / 2 */
#define JV_NUMERIC_SCALE_MAX	16383		/* NUMERIC_DSCALE_MAX */

struct jv_decimal {
	int		 neg;
	size_t		 nsig;
	char		 head[JV_DECIMAL_HEAD + 1];
	long long	 lead;
	long long	 scale;
	long long	 exp;
};

int		 jv_decimal_read(const char *text, struct jv_decimal *d);
int		 jv_decimal_fits_numeric(const struct jv_decimal *d);
int		 jv_decimal_is_integer(const struct jv_decimal *d);
int		 jv_decimal_cmp(const struct jv_decimal *d, long long b);

/* What a typed member read found. */
enum jv_result {
	JV_ABSENT,		/* member missing (or null when nullable) */
	JV_OK,			/* present and valid: *out set */
	JV_BAD			/* present and invalid: an error was recorded */
};

/*
 * Typed reads of member key of object o; path names it in an error.
 * jv_integer_literal takes only an integer spelled as one (4, not 4.0
 * or 4e0); jv_integer_value takes any number whose value is an integer
 * (4, 4.0 and 0.4e1 all read 4).
 */
size_t		 jv_utf8_length(const char *s, size_t n);
int		 jv_utf8_is_valid(const char *str, size_t len);
enum jv_result	 jv_string(json_object *o, const char *key, const char *path,
		    size_t minchars, size_t maxchars, struct field_errors *fe,
		    const char **out);
enum jv_result	 jv_integer_literal(json_object *o, const char *key,
		    const char *path, long long min, long long max,
		    struct field_errors *fe, long long *out);
enum jv_result	 jv_integer_value(json_object *o, const char *key,
		    const char *path, long long min, long long max,
		    struct field_errors *fe, long long *out);
enum jv_result	 jv_number(json_object *o, const char *key, const char *path,
		    long long min, long long max, int maxscale,
		    struct field_errors *fe, json_object **out);
enum jv_result	 jv_bool(json_object *o, const char *key, const char *path,
		    struct field_errors *fe, int *out);
enum jv_result	 jv_array(json_object *o, const char *key, const char *path,
		    size_t maxlen, struct field_errors *fe, json_object **out);
int		 jv_is_hex_color(const char *s);
char		*jv_serialize(json_object *o);

#endif
