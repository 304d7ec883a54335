/*
 * RFC 7396 merge patch (PATCH /api/loops/:id, /api/songs/:id): a
 * stored document and the client's patch, separated by the first
 * newline, each parsed as a body is.  Properties (RFC 7396, section 3):
 * applying the same patch twice gives what applying it once gave; no
 * null member is left in a patched object.  Then the patched document goes through
 * both validators in PATCH mode, as item_patch does.
 */
#include "fuzzlib.h"
#include "handlers/items.h"

/* 1 if some object member of o (at any depth) is null. */
static int
has_null_member(json_object *o)
{
	struct json_object_iterator it, end;

	/* Arrays are values replaced whole: their nulls stay. */
	if (!json_object_is_type(o, json_type_object))
		return 0;
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		if (json_object_iter_peek_value(&it) == NULL ||
		    has_null_member(json_object_iter_peek_value(&it)))
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct field_errors	 fe;
	json_object		*target = NULL, *patch = NULL, *once, *twice;
	json_object		*out;
	const uint8_t		*nl;
	char			 err[160], *a, *b;
	size_t			 alen;

	if (size > 128 * 1024)
		return 0;
	(void)fuzz_config();
	if ((nl = memchr(data, '\n', size)) == NULL)
		return 0;
	alen = (size_t)(nl - data);
	a = fuzz_str(data, alen);
	b = fuzz_str(nl + 1, size - alen - 1);
	if (json_parse_object(a, alen, &target, err, sizeof(err)) != 0 ||
	    json_parse_object(b, size - alen - 1, &patch, err,
	    sizeof(err)) != 0)
		goto out;
	/* The stored document has no null members (validated output). */
	if (has_null_member(target))
		goto out;
	once = NULL;
	json_object_deep_copy(target, &once, NULL);
	json_merge_patch(&once, patch);
	FUZZ_CHECK(!has_null_member(once), "a null member survived the "
	    "patch: %s", json_object_to_json_string(once));
	twice = NULL;
	json_object_deep_copy(once, &twice, NULL);
	json_merge_patch(&twice, patch);
	FUZZ_CHECK(json_object_equal(once, twice), "not idempotent:\n %s\n %s",
	    json_object_to_json_string(once),
	    json_object_to_json_string(twice));
	json_object_put(twice);
	if (json_object_is_type(once, json_type_object)) {
		field_errors_init(&fe);
		out = NULL;
		if (loop_validate(once, ITEM_DOC_PATCH, &out, &fe) != 0)
			FUZZ_CHECK(fe.count > 0, "loop: no error recorded");
		json_object_put(out);
		field_errors_release(&fe);
		field_errors_init(&fe);
		out = NULL;
		if (song_validate(once, ITEM_DOC_PATCH, &out, &fe) != 0)
			FUZZ_CHECK(fe.count > 0, "song: no error recorded");
		json_object_put(out);
		field_errors_release(&fe);
	}
	json_object_put(once);
out:
	json_object_put(target);
	json_object_put(patch);
	free(a);
	free(b);
	return 0;
}
