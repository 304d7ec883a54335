/*
 * RFC 7396 JSON merge patch, as PATCH on an item applies it
 * (handlers/items.c, item_patch).  Pure: JSON in, JSON out.
 */
#include "config.h"

#include <json-c/json.h>

#include "handlers/items.h"

/* RFC 7396: apply patch to *target (which it may replace). */
void
json_merge_patch(json_object **target, json_object *patch)
{
	struct json_object_iterator it, end;
	json_object	*val, *cur, *t;
	const char	*key;

	if (!json_object_is_type(patch, json_type_object)) {
		json_object_put(*target);
		*target = json_object_get(patch);
		return;
	}
	if (*target == NULL || !json_object_is_type(*target, json_type_object)) {
		json_object_put(*target);
		*target = json_object_new_object();
	}
	it = json_object_iter_begin(patch);
	end = json_object_iter_end(patch);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		val = json_object_iter_peek_value(&it);
		if (val == NULL) {
			json_object_object_del(*target, key);
			continue;
		}
		if (json_object_is_type(val, json_type_object)) {
			t = NULL;
			if (json_object_object_get_ex(*target, key, &cur))
				t = json_object_get(cur);
			json_merge_patch(&t, val);
			json_object_object_add(*target, key, t);
		} else
			json_object_object_add(*target, key,
			    json_object_get(val));
	}
}
