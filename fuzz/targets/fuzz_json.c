/*
 * The JSON body parser every route with a body goes through
 * (json_parse_object: the strict RFC 8259 scanner json_check_text, then
 * json-c).  Properties: a text the scanner accepts is one json-c
 * accepts too (else a body would be refused for the wrong reason, or
 * json-c would read what the scanner did not check), an accepted object
 * serialises to a text both accept again, and every refusal says why.
 */
#include "fuzzlib.h"
#include "handlers/model.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object	*o = NULL, *again = NULL;
	size_t		 members;
	char		 err[160], *s, *text;
	int		 checked, parsed;

	if (size > 64 * 1024)
		return 0;
	s = fuzz_str(data, size);
	err[0] = '\0';
	checked = json_check_text(s, size, &members, err, sizeof(err));
	FUZZ_CHECK(checked == 0 || err[0] != '\0', "refused without a reason");
	err[0] = '\0';
	parsed = json_parse_object(s, size, &o, err, sizeof(err));
	FUZZ_CHECK(parsed == 0 || err[0] != '\0', "refused without a reason");
	FUZZ_CHECK(parsed != 0 || checked == 0, "json-c took what the "
	    "scanner refused");
	FUZZ_CHECK((parsed == 0) == (o != NULL), "result and object disagree");
	if (o != NULL) {
		text = jv_serialize(o);
		FUZZ_CHECK(json_parse_object(text, strlen(text), &again, err,
		    sizeof(err)) == 0, "its own output refused: %s: %s", err,
		    text);
		FUZZ_CHECK(json_object_equal(o, again), "round trip changed "
		    "it: %s", text);
		json_object_put(again);
		free(text);
		json_object_put(o);
	}
	free(s);
	return 0;
}
