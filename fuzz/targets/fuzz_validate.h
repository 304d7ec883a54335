/*
 * One item validator (loop or song), fuzzed in its three modes.  The
 * first input byte picks the mode; the rest is the body.  Properties:
 * a refusal records at least one error and its problem body is JSON;
 * an accepted document is normalised: validating its output again
 * in the same mode accepts it and
 * gives the same document back.
 */
#include "fuzzlib.h"
#include "handlers/items.h"

static void
validate_one(item_validator validate, const uint8_t *data, size_t size)
{
	struct field_errors	 fe, fe2;
	json_object		*in = NULL, *out = NULL, *in2 = NULL, *out2 = NULL;
	enum item_doc_mode	 mode;
	char			 err[160], *s, *t1, *t2;
	int			 r;

	if (size < 1 || size > 256 * 1024)
		return;
	mode = (enum item_doc_mode)(data[0] % 3);
	s = fuzz_str(data + 1, size - 1);
	if (json_parse_object(s, size - 1, &in, err, sizeof(err)) != 0) {
		free(s);
		return;
	}
	field_errors_init(&fe);
	r = validate(in, mode, &out, &fe);
	if (r != 0) {
		FUZZ_CHECK(fe.count > 0, "refused with no error recorded");
		FUZZ_CHECK(out == NULL, "refused but an output was set");
		fuzz_check_problem(&fe);
	} else {
		FUZZ_CHECK(fe.count == 0, "accepted with %zu errors", fe.count);
		FUZZ_CHECK(out != NULL, "accepted without an output");
		t1 = jv_serialize(out);
		FUZZ_CHECK(json_parse_object(t1, strlen(t1), &in2, err,
		    sizeof(err)) == 0, "output is not an object: %s", t1);
		field_errors_init(&fe2);
		FUZZ_CHECK(validate(in2, mode, &out2, &fe2) == 0,
		    "its own output refused: %s (%s)", t1,
		    fe2.first.data ? fe2.first.data : "");
		t2 = jv_serialize(out2);
		FUZZ_CHECK(strcmp(t1, t2) == 0, "not normalised:\n %s\n %s",
		    t1, t2);
		free(t2);
		free(t1);
		field_errors_release(&fe2);
		json_object_put(out2);
		json_object_put(in2);
		json_object_put(out);
	}
	field_errors_release(&fe);
	json_object_put(in);
	free(s);
}
