/* The song validator (POST/PUT/PATCH /api/songs): see fuzz_validate.h. */
#include "fuzz_validate.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)fuzz_config();
	validate_one(song_validate, data, size);
	return 0;
}
