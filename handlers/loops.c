/*
 * Loops: the routes of doc/API.md, "Loops".  Almost everything is the
 * shared item behaviour of handlers/items.c; what is the loops' own is
 * the validator (loop_valid.c), the list filters below and remixing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "handlers/items.h"

static void	loop_list_filters(struct ctx *, struct item_list_req *,
		    struct field_errors *);

static const char *const loop_list_params[] = {
	"chord", "sound", "bars", "bpmMin", "bpmMax", "parent", "q", NULL
};

static const struct item_ops loop_ops = {
	ITEM_LOOP, "loop", "loops", "/api/loops", "Loop not found",
	loop_validate, db_loop_create, db_loop_replace, loop_list_filters,
	loop_list_params
};

/* [{"<key>":"<value>"}]: a containment pattern for a JSON array. */
static char *
containment(const char *key, const char *value)
{
	json_object	*a, *o;
	char		*s;

	o = json_object_new_object();
	json_object_object_add(o, key, json_object_new_string(value));
	a = json_object_new_array();
	json_object_array_add(a, o);
	s = jv_serialize(a);
	json_object_put(a);
	return s;
}

/* An ILIKE pattern matching names that contain s. */
static char *
contains_pattern(const char *s)
{
	struct buf	 b = BUF_INIT;

	buf_putc(&b, '%');
	for (; *s != '\0'; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			buf_putc(&b, '\\');
		buf_putc(&b, *s);
	}
	buf_putc(&b, '%');
	return buf_detach(&b);
}

/* chord, sound, bars, bpmMin, bpmMax, parent, q (loop_list_params). */
static void
loop_list_filters(struct ctx *c, struct item_list_req *lr,
    struct field_errors *fe)
{
	struct item_list_spec *sp = &lr->spec;
	const char	*s;
	long long	 n;

	if (item_query_string(c, lr, "chord", 1, 20, fe, &s) == 1)
		sp->chord = item_list_own(lr, containment("chord", s));
	if (item_query_string(c, lr, "sound", 1, 64, fe, &s) == 1)
		sp->sound = item_list_own(lr, containment("soundId", s));
	if (item_query_int(c, lr, "bars", 1, 8, fe, &n) == 1) {
		if (n != 1 && n != 2 && n != 4 && n != 8)
			field_errors_add(fe, "bars", "must be 1, 2, 4 or 8");
		sp->bars = (int)n;
	}
	if (item_query_int(c, lr, "bpmMin", 40, 300, fe, &n) == 1)
		sp->bpm_min = (int)n;
	if (item_query_int(c, lr, "bpmMax", 40, 300, fe, &n) == 1)
		sp->bpm_max = (int)n;
	if (sp->bpm_min >= 0 && sp->bpm_max >= 0 && sp->bpm_min > sp->bpm_max)
		field_errors_add(fe, "bpmMin", "must not exceed bpmMax");
	if (item_query_string(c, lr, "parent", 1, 36, fe, &s) == 1) {
		if (!uuid_is_valid(s))
			field_errors_add(fe, "parent", "must be a loop id");
		sp->parent = s;
	}
	if (item_query_string(c, lr, "q", 1, 100, fe, &s) == 1)
		sp->name_like = item_list_own(lr, contains_pattern(s));
}

void
loops_list(struct ctx *c)
{
	item_list(c, &loop_ops);
}

/* GET /api/users/me/likes?type=loop */
void
loops_liked(struct ctx *c)
{
	item_liked(c, &loop_ops);
}

void
loops_get(struct ctx *c)
{
	item_get(c, &loop_ops);
}

void
loops_create(struct ctx *c)
{
	item_create(c, &loop_ops);
}

void
loops_put(struct ctx *c)
{
	item_put(c, &loop_ops);
}

void
loops_patch(struct ctx *c)
{
	item_patch(c, &loop_ops);
}

void
loops_delete(struct ctx *c)
{
	item_delete(c, &loop_ops);
}

void
loops_like(struct ctx *c)
{
	item_like(c, &loop_ops, 1);
}

void
loops_unlike(struct ctx *c)
{
	item_like(c, &loop_ops, 0);
}

void
loops_play(struct ctx *c)
{
	item_play(c, &loop_ops);
}

/*
 * POST /api/loops/:id/remix (and the old /duplicate): 201 with a copy
 * of a loop the caller may see, owned by the caller.  Optional body:
 * name (1-100 characters; default "Remix of <name>"), isPublic
 * (default false).  Other members are ignored.
 */
void
loops_remix(struct ctx *c)
{
	struct item_caller who;
	struct item_result r;
	struct field_errors fe;
	const char	*id, *name = NULL;
	enum db_status	 s;
	int		 pub = -1, v;

	if (item_path_id(c, &loop_ops, &id) != 0)
		return;
	field_errors_init(&fe);
	if (c->body != NULL) {
		jv_string(c->body, "name", "name", 1, 100, &fe, &name);
		if (jv_bool(c->body, "isPublic", "isPublic", &fe, &v) == JV_OK)
			pub = v;
	}
	if (fe.count > 0) {
		item_reply_invalid_body(c, &loop_ops, &fe);
		return;
	}
	field_errors_release(&fe);
	item_caller_of(c, &who);
	if ((s = db_loop_remix(c->db, &who, id, name, pub, &r)) != DB_OK) {
		reply_db_error(c, s);
		return;
	}
	item_reply_result(c, &loop_ops, &r, 201);
	item_result_release(&r);
}
