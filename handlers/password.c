/*
 * Password hashing: Argon2id through libsodium for every new hash, and
 * verification of the two forms stored hashes take: Argon2id
 * ("$argon2id$...") and bcrypt ("$2a$", "$2b$", "$2y$"), the form
 * accounts imported from the old system carry, checked through
 * libxcrypt and re-hashed on the next successful login.
 *
 * Every function here is slow on purpose and touches no database: the
 * handlers call them with no transaction open.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <crypt.h>
#include <sodium.h>

#include "handlers/handlers.h"

#define BCRYPT_LEN	60	/* "$2b$10$" + 22 salt + 31 hash characters */

static int
is_bcrypt_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '/';
}

/*
 * The kind of a stored hash, judged by its shape alone: Argon2id in
 * libsodium's PHC string form, bcrypt in its modular crypt form
 * ($2a$/$2b$/$2y$, two-digit cost 04-31, 53 characters of salt and
 * hash), or PASSWORD_KIND_UNKNOWN for anything else.
 */
enum password_kind
password_hash_kind(const char *hash)
{
	size_t	 i, len;

	if (hash == NULL)
		return PASSWORD_KIND_UNKNOWN;
	len = strlen(hash);
	if (len < PASSWORD_HASH_MAX && strncmp(hash, "$argon2id$v=19$", 15) == 0) {
		for (i = 0; i < len; i++)
			if (hash[i] <= ' ' || hash[i] > '~')
				return PASSWORD_KIND_UNKNOWN;
		return PASSWORD_KIND_ARGON2ID;
	}
	if (len != BCRYPT_LEN || hash[0] != '$' || hash[1] != '2' ||
	    (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') ||
	    hash[3] != '$' || hash[4] < '0' || hash[4] > '3' ||
	    hash[5] < '0' || hash[5] > '9' || hash[6] != '$')
		return PASSWORD_KIND_UNKNOWN;
	i = (size_t)(hash[4] - '0') * 10 + (size_t)(hash[5] - '0');
	if (i < 4 || i > 31)
		return PASSWORD_KIND_UNKNOWN;
	for (i = 7; i < len; i++)
		if (!is_bcrypt_char((unsigned char)hash[i]))
			return PASSWORD_KIND_UNKNOWN;
	return PASSWORD_KIND_BCRYPT;
}

/*
 * Hash pw (len bytes) with Argon2id at the configured cost into out
 * (PASSWORD_HASH_MAX bytes, NUL-terminated).  Returns 0, or -1 when
 * libsodium cannot (out of memory).
 */
int
password_hash(const struct config *cfg, const char *pw, size_t len,
    char out[PASSWORD_HASH_MAX])
{
	if (sodium_init() < 0)
		return -1;
	if (crypto_pwhash_str(out, pw, (unsigned long long)len,
	    cfg->argon2_opslimit, cfg->argon2_memlimit) != 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* bcrypt through libxcrypt; the comparison runs in constant time. */
static int
bcrypt_matches(const char *hash, const char *pw)
{
	struct crypt_data	*cd;
	const char		*got;
	int			 ok = 0;

	cd = xcalloc(1, sizeof(*cd));
	got = crypt_rn(pw, hash, cd, (int)sizeof(*cd));
	if (got != NULL && strlen(got) == BCRYPT_LEN &&
	    sodium_memcmp(got, hash, BCRYPT_LEN) == 0)
		ok = 1;
	sodium_memzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/*
 * Check pw (len bytes, no NUL inside) against a stored hash.
 * PASSWORD_MATCH_REHASH means it matched but the hash should be
 * replaced by a fresh password_hash(): bcrypt always, Argon2id when
 * its cost differs from the configured one.  PASSWORD_UNUSABLE means
 * the stored hash has no form known here (never a match).
 */
enum password_result
password_verify(const struct config *cfg, const char *hash, const char *pw,
    size_t len)
{
	if (sodium_init() < 0)
		return PASSWORD_UNUSABLE;
	if (memchr(pw, '\0', len) != NULL)
		return PASSWORD_MISMATCH;
	switch (password_hash_kind(hash)) {
	case PASSWORD_KIND_ARGON2ID:
		if (crypto_pwhash_str_verify(hash, pw,
		    (unsigned long long)len) != 0)
			return PASSWORD_MISMATCH;
		if (crypto_pwhash_str_needs_rehash(hash, cfg->argon2_opslimit,
		    cfg->argon2_memlimit) != 0)
			return PASSWORD_MATCH_REHASH;
		return PASSWORD_MATCH;
	case PASSWORD_KIND_BCRYPT:
		return bcrypt_matches(hash, pw) ? PASSWORD_MATCH_REHASH :
		    PASSWORD_MISMATCH;
	default:
		return PASSWORD_UNUSABLE;
	}
}

/*
 * Spend the time a real verification would, for a login naming no
 * account: an Argon2id verification against a hash of a random
 * password made once per process at the configured cost.  Always a
 * mismatch; the answer then looks like a wrong password's.
 */
void
password_burn(const struct config *cfg, const char *pw, size_t len)
{
	static char	 dummy[PASSWORD_HASH_MAX];
	unsigned char	 rnd[32];

	if (sodium_init() < 0)
		return;
	if (dummy[0] == '\0') {
		randombytes_buf(rnd, sizeof(rnd));
		if (crypto_pwhash_str(dummy, (const char *)rnd, sizeof(rnd),
		    cfg->argon2_opslimit, cfg->argon2_memlimit) != 0)
			dummy[0] = '\0';
		sodium_memzero(rnd, sizeof(rnd));
		if (dummy[0] == '\0')
			return;
	}
	if (crypto_pwhash_str_verify(dummy, pw, (unsigned long long)len) == 0)
		log_msg("error", "password_burn: a random hash matched");
}
