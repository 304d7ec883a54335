/*
 * Signed paging cursors (?cursor= of every list, the sync feed's
 * cursor): cursor_decode, sync_cursor_decode on whatever a client
 * sends, and the codec's promises on cursors we made: one decodes to
 * exactly what was encoded, only for its own list; a cursor with one
 * character changed, cut short or lengthened is refused.
 *
 * Input: the text to decode as is; its first 32 bytes also give the
 * values of a cursor to encode and where and how to tamper with it.
 */
#include "fuzzlib.h"
#include "handlers/model.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct config	*cfg = fuzz_config();
	struct page_cursor	 c, d;
	uint8_t			 raw[32];
	char			*text, *enc, *bad;
	long long		 pos, mark;
	size_t			 len, at;
	static const char	 user[] = "6f1c2a44-0b55-4c8e-9a55-2f1e3d4c5b6a";

	if (size > 4096)
		return 0;
	text = fuzz_str(data, size);
	/* A forged cursor never decodes (its MAC is 128 bits). */
	FUZZ_CHECK(cursor_decode(cfg, "loops:new", text, &d) != 0,
	    "forged cursor accepted: %s", text);
	FUZZ_CHECK(sync_cursor_decode(cfg, user, text, &pos, &mark) != 0,
	    "forged sync cursor accepted: %s", text);
	free(text);

	memset(raw, 0, sizeof(raw));
	memcpy(raw, data, size < sizeof(raw) ? size : sizeof(raw));
	memset(&c, 0, sizeof(c));
	memcpy(&c.key, raw, 8);
	memcpy(&c.filter, raw + 8, 8);
	snprintf(c.id, sizeof(c.id), "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", raw[16], raw[17], raw[18],
	    raw[19], raw[20], raw[21], raw[22], raw[23], raw[24], raw[25],
	    raw[26], raw[27], raw[28], raw[29], raw[30], raw[31]);
	enc = cursor_encode(cfg, "loops:new", &c);
	FUZZ_CHECK(enc != NULL, "a well-formed id refused");
	FUZZ_CHECK(cursor_decode(cfg, "loops:new", enc, &d) == 0 &&
	    d.key == c.key && d.filter == c.filter && strcmp(d.id, c.id) == 0,
	    "round trip of %s", enc);
	FUZZ_CHECK(cursor_decode(cfg, "songs:new", enc, &d) != 0,
	    "a cursor for another list accepted");
	len = strlen(enc);
	/* One character changed. */
	bad = strdup(enc);
	at = raw[0] % len;
	bad[at] = b64[(strchr(b64, bad[at]) - b64 + 1 + raw[1] % 63) % 64];
	FUZZ_CHECK(cursor_decode(cfg, "loops:new", bad, &d) != 0,
	    "tampered cursor accepted: %s (from %s)", bad, enc);
	/* Cut short. */
	bad[0] = '\0';
	memcpy(bad, enc, raw[2] % len);
	bad[raw[2] % len] = '\0';
	FUZZ_CHECK(cursor_decode(cfg, "loops:new", bad, &d) != 0,
	    "truncated cursor accepted: %s", bad);
	free(bad);
	/* Lengthened. */
	bad = malloc(len + 2);
	memcpy(bad, enc, len);
	bad[len] = b64[raw[3] % 64];
	bad[len + 1] = '\0';
	FUZZ_CHECK(cursor_decode(cfg, "loops:new", bad, &d) != 0,
	    "lengthened cursor accepted: %s", bad);
	free(bad);
	free(enc);
	/* The sync feed's: only for its own user, never a negative pos. */
	pos = c.key < 0 ? -(c.key + 1) : c.key;
	mark = (long long)(c.filter >> 1);
	enc = sync_cursor_encode(cfg, user, pos, mark);
	FUZZ_CHECK(enc != NULL, "sync cursor");
	FUZZ_CHECK(sync_cursor_decode(cfg, user, enc, &pos, &mark) == 0,
	    "sync round trip");
	FUZZ_CHECK(sync_cursor_decode(cfg,
	    "00000000-0000-4000-8000-000000000000", enc, &pos, &mark) != 0,
	    "another user's sync cursor accepted");
	free(enc);
	return 0;
}
