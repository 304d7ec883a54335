/*
 * Loops: the routes of doc/API.md, "Loops".  Almost everything is the
 * shared item behaviour of handlers/items.c, which the route table
 * (handlers/routes.c) calls with loop_items as the route's arg; what
 * is the loops' own is the validator (loop_valid.c), the list filters
 * below and remixing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "handlers/items.h"

static void	loop_list_filters(struct ctx *c, struct item_list_req *lr,
		    struct field_errors *fe);

static const char *const loop_list_params[] = {
	"chord", "sound", "bars", "bpmMin", "bpmMax", "parent", "q", NULL
};

/* The loops as items: see handlers/items.h.  The route table's arg. */
const struct item_ops loop_items = {
	ITEM_LOOP, "loop", "loops", "/api/loops", "Loop not found",
	loop_validate, db_loop_create, db_loop_replace, loop_list_filters,
	loop_list_params
};

/* chord, sound, bars, bpmMin, bpmMax, parent, q (loop_list_params). */
static void
loop_list_filters(struct ctx *c, struct item_list_req *lr,
    struct field_errors *fe)
{
	struct item_list_spec *sp = &lr->spec;
	const char	*s;
	long long	 n;

	if (item_query_string(c, lr, "chord", 1, 20, fe, &s) == 1)
		sp->chord = s;
	if (item_query_string(c, lr, "sound", 1, 64, fe, &s) == 1)
		sp->sound = s;
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
		sp->name_contains = s;
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

	if (item_path_id(c, &loop_items, &id) != 0)
		return;
	field_errors_init(&fe);
	if (c->body != NULL) {
		jv_string(c->body, "name", "name", 1, 100, &fe, &name);
		if (jv_bool(c->body, "isPublic", "isPublic", &fe, &v) == JV_OK)
			pub = v;
	}
	if (fe.count > 0) {
		item_reply_invalid_body(c, &fe);
		return;
	}
	field_errors_release(&fe);
	item_caller_of(c, &who);
	if ((s = db_loop_remix(c->db, &who, id, name, pub, &r)) != DB_OK) {
		reply_db_error(c, s);
		return;
	}
	item_reply_result(c, &loop_items, &r, 201);
	item_result_release(&r);
}
