/*
 * GET /api/sync?since=<cursor>&limit=<n>: the caller's loops and songs
 * changed since the cursor, the deletions among them, a new cursor and
 * hasMore.  See doc/API.md, "Sync feed", and db/sync.c for why no late
 * commit is ever skipped.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "handlers/handlers.h"

#define SYNC_LIMIT_DEFAULT	100
#define SYNC_LIMIT_MAX		100

/* Cursor wire form: version, position, mark, user id, then a MAC. */
#define CURSOR_VERSION	1
#define CURSOR_BODY	(1 + 8 + 8 + 16)
#define CURSOR_MAC	16
#define CURSOR_RAW	(CURSOR_BODY + CURSOR_MAC)

static void
put64(unsigned char *p, long long v)
{
	unsigned long long	 u = (unsigned long long)v;
	int			 i;

	for (i = 7; i >= 0; i--, u >>= 8)
		p[i] = (unsigned char)(u & 0xff);
}

static long long
get64(const unsigned char *p)
{
	unsigned long long	 u = 0;
	int			 i;

	for (i = 0; i < 8; i++)
		u = u << 8 | p[i];
	return (long long)u;
}

/* The 16 bytes of a canonical UUID; -1 when it is not one. */
static int
uuid_bytes(const char *id, unsigned char *out)
{
	char	 hex[33];
	size_t	 i, j;

	if (!uuid_is_valid(id))
		return -1;
	for (i = j = 0; id[i] != '\0'; i++)
		if (id[i] != '-')
			hex[j++] = id[i];
	hex[j] = '\0';
	return sodium_hex2bin(out, 16, hex, 32, NULL, NULL, NULL) == 0 ? 0 : -1;
}

static void
cursor_mac(const struct config *cfg, const unsigned char *body,
    unsigned char *mac)
{
	crypto_auth_hmacsha256_state	 st;
	crypto_generichash_state	 gs;
	unsigned char			 key[32], full[32];
	static const char		 purpose[] = "mpapi sync cursor v1";

	crypto_generichash_init(&gs, NULL, 0, sizeof(key));
	crypto_generichash_update(&gs, (const unsigned char *)purpose,
	    sizeof(purpose));
	crypto_generichash_update(&gs, cfg->jwt_secret, cfg->jwt_secret_len);
	crypto_generichash_final(&gs, key, sizeof(key));
	crypto_auth_hmacsha256_init(&st, key, sizeof(key));
	crypto_auth_hmacsha256_update(&st, body, CURSOR_BODY);
	crypto_auth_hmacsha256_final(&st, full);
	memcpy(mac, full, CURSOR_MAC);
	sodium_memzero(key, sizeof(key));
}

/*
 * The opaque cursor for user_id at position pos with tombstone mark
 * mark: URL-safe base64 of the values and an HMAC (key derived from
 * the token secret), so it cannot be forged, altered or used by
 * another user.  Returns a string the caller frees, or NULL for a
 * malformed user id.
 */
char *
sync_cursor_encode(const struct config *cfg, const char *user_id,
    long long pos, long long mark)
{
	unsigned char	 raw[CURSOR_RAW];
	size_t		 outsz;
	char		*out;

	raw[0] = CURSOR_VERSION;
	put64(raw + 1, pos);
	put64(raw + 9, mark);
	if (uuid_bytes(user_id, raw + 17) != 0)
		return NULL;
	cursor_mac(cfg, raw, raw + CURSOR_BODY);
	outsz = sodium_base64_ENCODED_LEN(CURSOR_RAW,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	out = xmalloc(outsz);
	sodium_bin2base64(out, outsz, raw, CURSOR_RAW,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/*
 * Decode text, a cursor that sync_cursor_encode made for user_id.
 * Returns 0 with *pos and *mark, or -1 for anything garbled, forged,
 * of another version or of another user.
 */
int
sync_cursor_decode(const struct config *cfg, const char *user_id,
    const char *text, long long *pos, long long *mark)
{
	unsigned char	 raw[CURSOR_RAW + 1], mac[CURSOR_MAC], uid[16];
	size_t		 len;

	if (text == NULL || strlen(text) > 2 * CURSOR_RAW ||
	    sodium_base642bin(raw, sizeof(raw), text, strlen(text), NULL,
	    &len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len != CURSOR_RAW || raw[0] != CURSOR_VERSION)
		return -1;
	cursor_mac(cfg, raw, mac);
	if (sodium_memcmp(mac, raw + CURSOR_BODY, CURSOR_MAC) != 0)
		return -1;
	if (uuid_bytes(user_id, uid) != 0 ||
	    sodium_memcmp(uid, raw + 17, 16) != 0)
		return -1;
	*pos = get64(raw + 1);
	*mark = get64(raw + 9);
	if (*pos < 0 || *mark < 0)
		return -1;
	return 0;
}

/* Parse limit: digits only, 1..SYNC_LIMIT_MAX.  -1 when invalid. */
static int
parse_limit(const char *s, int *out)
{
	int	 n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || n > SYNC_LIMIT_MAX)
			return -1;
		n = n * 10 + (*s - '0');
	}
	if (n < 1 || n > SYNC_LIMIT_MAX)
		return -1;
	*out = n;
	return 0;
}

static void
reply_sync(struct ctx *c, const struct db_sync_page *p, const char *cursor)
{
	struct buf	 b = BUF_INIT;

	buf_puts(&b, "{\"loops\":");
	buf_puts(&b, p->loops);
	buf_puts(&b, ",\"songs\":");
	buf_puts(&b, p->songs);
	buf_puts(&b, ",\"deleted\":");
	buf_puts(&b, p->deleted);
	buf_puts(&b, ",\"cursor\":");
	buf_json_str(&b, cursor, strlen(cursor));
	buf_printf(&b, ",\"hasMore\":%s}", p->has_more ? "true" : "false");
	http_response_json(c->resp, 200, b.data, b.len);
	buf_release(&b);
}

/* GET /api/sync */
void
sync_pull(struct ctx *c)
{
	struct field_errors	 fe;
	struct db_sync_page	 p;
	enum db_status		 s;
	char			*since = NULL, *lim = NULL, *cursor = NULL;
	long long		 pos = 0, mark = -1, npos, nmark;
	int			 limit = SYNC_LIMIT_DEFAULT, have;

	memset(&p, 0, sizeof(p));
	field_errors_init(&fe);
	have = http_query_get(c->req->query, "since", &since);
	if (have < 0 || (have > 0 && *since != '\0' &&
	    sync_cursor_decode(c->cfg, c->user.id, since, &pos, &mark) != 0))
		field_errors_add(&fe, "since", "is not a cursor this API "
		    "issued to you; omit it to start over");
	have = http_query_get(c->req->query, "limit", &lim);
	if (have < 0 || (have > 0 && parse_limit(lim, &limit) != 0))
		field_errors_add(&fe, "limit", "must be an integer 1-100");
	if (fe.count > 0) {
		field_errors_problem(&fe, c->resp, "Invalid query parameter");
		goto out;
	}
	s = db_sync_page(c->db, c->user.id, c->user.ver, pos, mark, limit, &p);
	if (s != DB_OK) {
		reply_db_error(c, s);
		goto out;
	}
	if (!p.known) {
		reply_unauthorized(c, 1);
		goto out;
	}
	if (p.expired) {
		reply_problem(c, 410, "sync-cursor-expired",
		    "Sync cursor expired", "Deletions older than this cursor "
		    "have been forgotten; pull again without since and "
		    "replace the local copy.");
		goto out;
	}
	/*
	 * Mid-feed the position is the last change handed out; at the end
	 * it is the owner's change number in this snapshot, below which
	 * everything has committed (see db/sync.c).
	 */
	npos = p.has_more ? p.last_seq : p.change_seq;
	if (npos < pos)
		npos = pos;
	nmark = p.mark > npos ? p.mark : npos;
	if ((cursor = sync_cursor_encode(c->cfg, c->user.id, npos,
	    nmark)) == NULL) {
		reply_problem(c, 500, NULL, "Internal server error",
		    "An unexpected error occurred.");
		goto out;
	}
	reply_sync(c, &p, cursor);
out:
	free(cursor);
	free(since);
	free(lim);
	db_sync_page_release(&p);
	field_errors_release(&fe);
}
