#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

#define JSON_MAX_DEPTH		16
#define JSON_MAX_DEPTH_TEXT	"16"

void
field_errors_init(struct field_errors *fe)
{
	buf_init(&fe->json);
	buf_init(&fe->first);
	fe->count = 0;
}

void
field_errors_release(struct field_errors *fe)
{
	buf_release(&fe->json);
	buf_release(&fe->first);
	fe->count = 0;
}

/* Record that field (a JSON path such as "iconSequence[3].pitch") is bad. */
void
field_errors_add(struct field_errors *fe, const char *field,
    const char *message)
{
	if (fe->count > 0)
		buf_putc(&fe->json, ',');
	else
		buf_printf(&fe->first, "%s: %s", field, message);
	buf_puts(&fe->json, "{\"field\":");
	buf_json_str(&fe->json, field, strlen(field));
	buf_puts(&fe->json, ",\"message\":");
	buf_json_str(&fe->json, message, strlen(message));
	buf_putc(&fe->json, '}');
	fe->count++;
}

void
field_errors_addf(struct field_errors *fe, const char *message,
    const char *fieldfmt, ...)
{
	struct buf	 f = BUF_INIT;
	va_list		 ap;

	va_start(ap, fieldfmt);
	buf_vprintf(&f, fieldfmt, ap);
	va_end(ap);
	field_errors_add(fe, f.data != NULL ? f.data : "", message);
	buf_release(&f);
}

/*
 * 1 if s[0..len) is well-formed UTF-8 (RFC 3629): no overlong forms
 * (so no C0 80 standing in for NUL), no surrogates, nothing above
 * U+10FFFF.  json-c's own check lets all three through.
 */
int
jv_utf8_is_valid(const char *str, size_t len)
{
	const unsigned char	*s = (const unsigned char *)str;
	unsigned		 cp, min;
	size_t			 i = 0, n, k;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Code points in s[0..n) (s is valid UTF-8: the parser checked it). */
size_t
jv_utf8_length(const char *s, size_t n)
{
	size_t	 i, k = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			k++;
	return k;
}

/*
 * Read string member key of o (path names it in errors): a string of
 * minchars..maxchars code points with no NUL.  null counts as absent
 * only for optional members; the caller decides what absent means.
 */
enum jv_result
jv_string(json_object *o, const char *key, const char *path, size_t minchars,
    size_t maxchars, struct field_errors *fe, const char **out)
{
	json_object	*v;
	const char	*s;
	size_t		 len, chars;
	char		 msg[96];

	if (!json_object_object_get_ex(o, key, &v))
		return JV_ABSENT;
	if (!json_object_is_type(v, json_type_string)) {
		field_errors_add(fe, path, "must be a string");
		return JV_BAD;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len) {
		field_errors_add(fe, path, "must not contain NUL characters");
		return JV_BAD;
	}
	if (!jv_utf8_is_valid(s, len)) {
		field_errors_add(fe, path, "must be valid UTF-8");
		return JV_BAD;
	}
	chars = jv_utf8_length(s, len);
	if (chars < minchars || chars > maxchars) {
		snprintf(msg, sizeof(msg), "must be %zu-%zu characters",
		    minchars, maxchars);
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	*out = s;
	return JV_OK;
}

/*
 * Read an integer member in [min, max].  Only JSON integers count
 * (4.0, "4" and 4.5 are refused): json-c would coerce them silently.
 */
enum jv_result
jv_integer_literal(json_object *o, const char *key, const char *path,
    long long min, long long max, struct field_errors *fe, long long *out)
{
	json_object	*v;
	long long	 n;
	char		 msg[96];

	if (!json_object_object_get_ex(o, key, &v))
		return JV_ABSENT;
	snprintf(msg, sizeof(msg), "must be an integer %lld-%lld", min, max);
	if (!json_object_is_type(v, json_type_int)) {
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	errno = 0;
	n = json_object_get_int64(v);
	if (errno != 0 || n < min || n > max || n == INT64_MAX ||
	    n == INT64_MIN) {
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	*out = n;
	return JV_OK;
}

/*
 * Read the text of a JSON number (the grammar of RFC 8259, which the
 * body parser has checked) as an exact decimal.  Returns 0, or -1 when
 * text is not such a number.  Never rounds: 1e-20000 is not 0, and
 * 120.0000000000000001 is not 120.
 */
int
jv_decimal_read(const char *text, struct jv_decimal *d)
{
	const char	*p = text, *first = NULL, *last = NULL;
	long long	 intdigits = 0, fracdigits = 0, pos = 0, exp = 0;
	long long	 fpos = 0, lpos = 0;
	int		 eneg = 0, frac = 0;

	memset(d, 0, sizeof(*d));
	if (*p == '-') {
		d->neg = 1;
		p++;
	}
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p) || (*p == '.' && !frac); p++) {
		if (*p == '.') {
			frac = 1;
			if (!isdigit((unsigned char)p[1]))
				return -1;
			continue;
		}
		if (*p != '0') {
			if (first == NULL) {
				first = p;
				fpos = pos;
			}
			last = p;
			lpos = pos;
		}
		if (frac)
			fracdigits++;
		else
			intdigits++;
		pos++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			eneg = *p++ == '-';
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++)
			if (exp < JV_EXP_SATURATED)
				exp = exp * 10 + (*p - '0');
		if (eneg)
			exp = -exp;
	}
	if (*p != '\0')
		return -1;
	d->exp = exp;
	d->scale = fracdigits - exp > 0 ? fracdigits - exp : 0;
	if (first == NULL)
		return 0;
	d->nsig = (size_t)(lpos - fpos + 1);
	d->lead = intdigits - 1 - fpos + exp;
	for (pos = 0; first <= last && pos < JV_DECIMAL_HEAD; first++)
		if (*first != '.')
			d->head[pos++] = *first;
	return 0;
}

/*
 * 1 when PostgreSQL 15's numeric input (what a jsonb cast uses) takes
 * the number d was read from: an exponent of magnitude below
 * INT_MAX / 2, a display scale (digits after the point, the exponent
 * applied) of at most 16383, and, unless the value is 0, a weight in
 * base 10000 that fits in int16 -- at most 131072 digits before the
 * point.  (numeric.c: set_var_from_str and make_result.)
 */
int
jv_decimal_fits_numeric(const struct jv_decimal *d)
{
	long long	 w;

	if (d->exp >= JV_NUMERIC_EXP_LIMIT || d->exp <= -JV_NUMERIC_EXP_LIMIT)
		return 0;
	if (d->scale > JV_NUMERIC_SCALE_MAX)
		return 0;
	if (d->nsig == 0)
		return 1;
	w = d->lead >= 0 ? d->lead / 4 : -((-d->lead + 3) / 4);
	return w >= -32768 && w <= 32767;
}

/* 1 when d is an integer (no significant digit after the point). */
int
jv_decimal_is_integer(const struct jv_decimal *d)
{
	return d->nsig == 0 || d->lead - (long long)d->nsig + 1 >= 0;
}

/* The sign of d compared with b: -1, 0 or 1. */
int
jv_decimal_cmp(const struct jv_decimal *d, long long b)
{
	unsigned long long mag;
	char		 bd[24];
	size_t		 n, i;
	int		 sd, sb, c = 0;

	sd = d->nsig == 0 ? 0 : d->neg ? -1 : 1;
	sb = b < 0 ? -1 : b > 0;
	if (sd != sb)
		return sd < sb ? -1 : 1;
	if (sd == 0)
		return 0;
	mag = b < 0 ? (unsigned long long)(-(b + 1)) + 1 :
	    (unsigned long long)b;
	n = (size_t)snprintf(bd, sizeof(bd), "%llu", mag);
	if (d->lead != (long long)n - 1)
		c = d->lead < (long long)n - 1 ? -1 : 1;
	for (i = 0; c == 0 && i < n; i++) {
		char	 dc = i < d->nsig ? d->head[i] : '0';

		if (dc != bd[i])
			c = dc < bd[i] ? -1 : 1;
	}
	if (c == 0 && d->nsig > n)
		c = 1;
	return sd > 0 ? c : -c;
}

/* The decimal that number member v holds; -1 when v is no number. */
static int
decimal_of(json_object *v, struct jv_decimal *d)
{
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return -1;
	/* A parsed double serialises as the text it came with. */
	return jv_decimal_read(json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN), d);
}

static void
out_of_numeric(struct field_errors *fe, const char *path)
{
	field_errors_add(fe, path, "must be a number PostgreSQL can store "
	    "(at most 131072 digits before the decimal point and 16383 "
	    "after it)");
}

/*
 * Like jv_integer_literal, but by the JSON value rather than its
 * spelling: a number with no fractional part counts as the integer it equals
 * (100, 1e2 and 100.0 all read 100; 60.5 and 100.0000000000000001 do
 * not), as JSON Schema's "integer" and JavaScript clients see it.
 * The value is read exactly from its text, never through a double,
 * and text PostgreSQL's numeric cannot read is refused as such
 * (jv_decimal_fits_numeric).  Strings never count.
 */
enum jv_result
jv_integer_value(json_object *o, const char *key, const char *path,
    long long min, long long max, struct field_errors *fe, long long *out)
{
	struct jv_decimal d;
	json_object	*v;
	unsigned long long n = 0;
	long long	 i;
	char		 msg[96];

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_double))
		return jv_integer_literal(o, key, path, min, max, fe, out);
	if (decimal_of(v, &d) != 0 || !jv_decimal_fits_numeric(&d)) {
		out_of_numeric(fe, path);
		return JV_BAD;
	}
	if (!jv_decimal_is_integer(&d) || jv_decimal_cmp(&d, min) < 0 ||
	    jv_decimal_cmp(&d, max) > 0) {
		snprintf(msg, sizeof(msg), "must be an integer %lld-%lld", min,
		    max);
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	/* In [min, max]: at most 19 digits, all of them in head. */
	for (i = 0; i < (long long)d.nsig; i++)
		n = n * 10 + (unsigned long long)(d.head[i] - '0');
	for (; i <= d.lead; i++)
		n *= 10;
	*out = d.neg && n > 0 ? -(long long)(n - 1) - 1 : (long long)n;
	return JV_OK;
}

/*
 * Read a number member (integer or decimal) in [min, max], judged
 * exactly on its text, with at most maxscale digits after the decimal
 * point as PostgreSQL stores it (0.5e-3 has 4).  *out borrows the
 * member itself, so its original text survives re-serialisation
 * (0.123 stays 0.123).
 */
enum jv_result
jv_number(json_object *o, const char *key, const char *path, long long min,
    long long max, int maxscale, struct field_errors *fe, json_object **out)
{
	struct jv_decimal d;
	json_object	*v;
	char		 msg[96];

	if (!json_object_object_get_ex(o, key, &v))
		return JV_ABSENT;
	snprintf(msg, sizeof(msg), "must be a number %lld-%lld", min, max);
	if (decimal_of(v, &d) != 0) {
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	if (!jv_decimal_fits_numeric(&d)) {
		out_of_numeric(fe, path);
		return JV_BAD;
	}
	if (jv_decimal_cmp(&d, min) < 0 || jv_decimal_cmp(&d, max) > 0) {
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	if (d.scale > maxscale) {
		snprintf(msg, sizeof(msg), "must have at most %d digits after "
		    "the decimal point", maxscale);
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	*out = v;
	return JV_OK;
}

enum jv_result
jv_bool(json_object *o, const char *key, const char *path,
    struct field_errors *fe, int *out)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, key, &v))
		return JV_ABSENT;
	if (!json_object_is_type(v, json_type_boolean)) {
		field_errors_add(fe, path, "must be true or false");
		return JV_BAD;
	}
	*out = json_object_get_boolean(v);
	return JV_OK;
}

/* Read an array member of at most maxlen elements (borrowed). */
enum jv_result
jv_array(json_object *o, const char *key, const char *path, size_t maxlen,
    struct field_errors *fe, json_object **out)
{
	json_object	*v;
	char		 msg[96];

	if (!json_object_object_get_ex(o, key, &v))
		return JV_ABSENT;
	if (!json_object_is_type(v, json_type_array)) {
		field_errors_add(fe, path, "must be an array");
		return JV_BAD;
	}
	if (json_object_array_length(v) > maxlen) {
		snprintf(msg, sizeof(msg), "must have at most %zu elements",
		    maxlen);
		field_errors_add(fe, path, msg);
		return JV_BAD;
	}
	*out = v;
	return JV_OK;
}

/* 1 for "#RRGGBB" (hex digits of either case). */
int
jv_is_hex_color(const char *s)
{
	int	 i;

	if (s == NULL || s[0] != '#')
		return 0;
	for (i = 1; i < 7; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[7] == '\0';
}

/* Compact JSON text of o; the caller frees it. */
char *
jv_serialize(json_object *o)
{
	return xstrdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/*
 * The RFC 8259 check that json_parse_object runs before json-c.  Even
 * in its strict mode json-c takes single-quoted strings, NaN and
 * Infinity, and raw control characters inside strings, and it turns a
 * lone surrogate escape into U+FFFD and cuts a member name at \u0000;
 * this one pass over the bytes refuses all of them, so json-c only
 * ever sees JSON.  The recursion is bounded by JSON_MAX_DEPTH.  Bytes
 * from 0x80 up inside strings are left to json-c's UTF-8 check and to
 * the field validators (jv_utf8_is_valid), as before.
 */
struct jscan {
	const unsigned char	*s;
	size_t			 len;
	size_t			 pos;
	size_t			 members;	/* object members seen */
	char			*err;
	size_t			 errsz;
};

static int
scan_fail(struct jscan *js, const char *what)
{
	snprintf(js->err, js->errsz, "%s (at byte %zu)", what, js->pos);
	return -1;
}

static int
scan_peek(const struct jscan *js)
{
	return js->pos < js->len ? js->s[js->pos] : -1;
}

static void
scan_ws(struct jscan *js)
{
	int	 c;

	while ((c = scan_peek(js)) == ' ' || c == '\t' || c == '\n' ||
	    c == '\r')
		js->pos++;
}

static int
scan_hex4(struct jscan *js, unsigned *out)
{
	unsigned	 v = 0;
	int		 i, c;

	for (i = 0; i < 4; i++) {
		c = scan_peek(js);
		if (c >= '0' && c <= '9')
			v = v * 16 + (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (unsigned)(c - 'A' + 10);
		else
			return scan_fail(js, "\\u needs four hex digits");
		js->pos++;
	}
	*out = v;
	return 0;
}

/* A string; js->pos is at its opening quote. */
static int
scan_string(struct jscan *js, int is_name)
{
	unsigned	 cp, lo;
	int		 c;

	js->pos++;
	for (;;) {
		if ((c = scan_peek(js)) < 0)
			return scan_fail(js, "a string is not closed");
		if (c == '"') {
			js->pos++;
			return 0;
		}
		if (c < 0x20)
			return scan_fail(js, "a control character inside a "
			    "string must be escaped");
		js->pos++;
		if (c != '\\')
			continue;
		switch (scan_peek(js)) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			js->pos++;
			continue;
		case 'u':
			js->pos++;
			break;
		default:
			return scan_fail(js, "invalid escape in a string");
		}
		if (scan_hex4(js, &cp) != 0)
			return -1;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return scan_fail(js, "a low surrogate escape without "
			    "a high one before it");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (js->len - js->pos < 2 || js->s[js->pos] != '\\' ||
			    js->s[js->pos + 1] != 'u')
				return scan_fail(js, "a high surrogate escape "
				    "without a low one after it");
			js->pos += 2;
			if (scan_hex4(js, &lo) != 0)
				return -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				return scan_fail(js, "a high surrogate escape "
				    "without a low one after it");
		} else if (cp == 0 && is_name)
			return scan_fail(js, "a member name must not contain "
			    "U+0000");
	}
}

static int
scan_digits(struct jscan *js)
{
	size_t	 start = js->pos;
	int	 c;

	while ((c = scan_peek(js)) >= '0' && c <= '9')
		js->pos++;
	return js->pos > start ? 0 : -1;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
scan_number(struct jscan *js)
{
	int	 c;

	if (scan_peek(js) == '-')
		js->pos++;
	c = scan_peek(js);
	if (c == '0') {
		js->pos++;
		if ((c = scan_peek(js)) >= '0' && c <= '9')
			return scan_fail(js, "a number must not have a "
			    "leading zero");
	} else if (scan_digits(js) != 0)
		return scan_fail(js, c == 'I' || c == 'N' ? "NaN and "
		    "Infinity are not JSON numbers" : "a number needs digits");
	if (scan_peek(js) == '.') {
		js->pos++;
		if (scan_digits(js) != 0)
			return scan_fail(js, "a number needs digits after its "
			    "decimal point");
	}
	if ((c = scan_peek(js)) == 'e' || c == 'E') {
		js->pos++;
		if ((c = scan_peek(js)) == '+' || c == '-')
			js->pos++;
		if (scan_digits(js) != 0)
			return scan_fail(js, "an exponent needs digits");
	}
	return 0;
}

static int
scan_word(struct jscan *js, const char *w)
{
	size_t	 n = strlen(w);

	if (js->len - js->pos < n || memcmp(js->s + js->pos, w, n) != 0)
		return scan_fail(js, "not a JSON value");
	js->pos += n;
	return 0;
}

static int	scan_value(struct jscan *, int);

/* An object or an array at nesting level depth (the body's is 1). */
static int
scan_container(struct jscan *js, int depth)
{
	int	 obj, close, c;

	obj = js->s[js->pos] == '{';
	close = obj ? '}' : ']';
	if (depth > JSON_MAX_DEPTH)
		return scan_fail(js, "nesting deeper than "
		    JSON_MAX_DEPTH_TEXT " levels");
	js->pos++;
	scan_ws(js);
	if (scan_peek(js) == close) {
		js->pos++;
		return 0;
	}
	for (;;) {
		if (obj) {
			if ((c = scan_peek(js)) != '"')
				return scan_fail(js, c == '\'' ? "member names "
				    "need double quotes" : "a member name (a "
				    "string) is expected");
			if (scan_string(js, 1) != 0)
				return -1;
			js->members++;
			scan_ws(js);
			if (scan_peek(js) != ':')
				return scan_fail(js, "':' is expected after a "
				    "member name");
			js->pos++;
			scan_ws(js);
		}
		if (scan_value(js, depth) != 0)
			return -1;
		scan_ws(js);
		if ((c = scan_peek(js)) == close) {
			js->pos++;
			return 0;
		}
		if (c != ',')
			return scan_fail(js, obj ? "',' or '}' is expected" :
			    "',' or ']' is expected");
		js->pos++;
		scan_ws(js);
		if (scan_peek(js) == close)
			return scan_fail(js, "a comma before a closing "
			    "bracket");
	}
}

static int
scan_value(struct jscan *js, int depth)
{
	int	 c = scan_peek(js);

	switch (c) {
	case '{':
	case '[':
		return scan_container(js, depth + 1);
	case '"':
		return scan_string(js, 0);
	case 't':
		return scan_word(js, "true");
	case 'f':
		return scan_word(js, "false");
	case 'n':
		return scan_word(js, "null");
	case '\'':
		return scan_fail(js, "strings need double quotes");
	case 'N':
	case 'I':
		return scan_fail(js, "NaN and Infinity are not JSON numbers");
	case -1:
		return scan_fail(js, "a value is missing");
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return scan_number(js);
		return scan_fail(js, "not a JSON value");
	}
}

/*
 * 0 when s[0..len) is one JSON text by RFC 8259 (with the limits of
 * doc/API.md: no byte order mark, nesting at most JSON_MAX_DEPTH, no
 * lone surrogate escapes, no U+0000 in member names), counting the
 * object members in *members; -1 with a message in err.
 */
int
json_check_text(const char *s, size_t len, size_t *members, char *err,
    size_t errsz)
{
	struct jscan	 js;

	memset(&js, 0, sizeof(js));
	js.s = (const unsigned char *)s;
	js.len = len;
	js.err = err;
	js.errsz = errsz;
	*members = 0;
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		return scan_fail(&js, "a byte order mark is not allowed");
	scan_ws(&js);
	if (scan_value(&js, 0) != 0)
		return -1;
	scan_ws(&js);
	if (js.pos != len)
		return scan_fail(&js, "the body is not one JSON value: more "
		    "follows it");
	*members = js.members;
	return 0;
}

/* Members of every object in o, at any depth (at most JSON_MAX_DEPTH). */
static size_t
count_members(json_object *o)
{
	struct json_object_iterator it, end;
	size_t		 n = 0, i, len;

	if (json_object_is_type(o, json_type_array)) {
		len = json_object_array_length(o);
		for (i = 0; i < len; i++)
			n += count_members(json_object_array_get_idx(o, i));
	} else if (json_object_is_type(o, json_type_object)) {
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		for (; !json_object_iter_equal(&it, &end);
		    json_object_iter_next(&it))
			n += 1 + count_members(
			    json_object_iter_peek_value(&it));
	}
	return n;
}

/*
 * Parse len bytes of s as one JSON object: strict RFC 8259 syntax
 * (json_check_text), no member name twice in one object, nesting at
 * most JSON_MAX_DEPTH, nothing after it; valid UTF-8 as far as json-c
 * checks it (the validators check strings fully).  s[len] must be
 * readable and NUL: the parse reads that terminator too (every body
 * buffer and string the callers pass ends in one).  Returns 0 with *out
 * (caller puts), or -1 with a message in err.
 */
int
json_parse_object(const char *s, size_t len, json_object **out, char *err,
    size_t errsz)
{
	struct json_tokener	*tok;
	json_object		*o;
	enum json_tokener_error	 e;
	size_t			 members;

	*out = NULL;
	if (json_check_text(s, len, &members, err, errsz) != 0)
		return -1;
	if ((tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	/* Pass the NUL too, so a number at the very end terminates;
	 * the parse must then end exactly at len. */
	o = json_tokener_parse_ex(tok, s, (int)len + 1);
	e = json_tokener_get_error(tok);
	if (o == NULL || e != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		if (e == json_tokener_success || e == json_tokener_continue)
			snprintf(err, errsz, "the body is not one JSON value");
		else
			snprintf(err, errsz, "%s", json_tokener_error_desc(e));
		json_object_put(o);
		json_tokener_free(tok);
		return -1;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errsz, "the body must be a JSON object");
		json_object_put(o);
		return -1;
	}
	/* json-c keeps the last of two equal names: fewer members. */
	if (count_members(o) != members) {
		snprintf(err, errsz, "an object has the same member name "
		    "twice");
		json_object_put(o);
		return -1;
	}
	*out = o;
	return 0;
}
