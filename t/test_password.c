/*
 * Unit: password hashing and verification (handlers/password.c).
 * Argon2id runs at libsodium's smallest memory cost here to keep the
 * suite fast; the cost is a parameter, the code paths are the same.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <crypt.h>
#include <sodium.h>

#include "handlers/handlers.h"

#define PW	"correct horse battery staple"

static struct config cfg;

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.argon2_opslimit = 2;
	cfg.argon2_memlimit = 8 * 1024 * 1024;
}

TestSuite(password, .init = setup);

static enum password_result
check(const char *hash, const char *pw)
{
	return password_verify(&cfg, hash, pw, strlen(pw));
}

/* A bcrypt hash of pw made by libxcrypt with prefix ("$2b$" ...). */
static void
bcrypt(char *out, size_t sz, const char *prefix, const char *pw)
{
	char			 setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data	*cd;

	cr_assert_not_null(crypt_gensalt_rn(prefix, 4, NULL, 0, setting,
	    sizeof(setting)));
	cd = calloc(1, sizeof(*cd));
	cr_assert_not_null(crypt_rn(pw, setting, cd, sizeof(*cd)));
	cr_assert_lt(strlen(cd->output), sz);
	strcpy(out, cd->output);
	free(cd);
}

Test(password, a_hash_is_argon2id_at_the_configured_cost_and_verifies)
{
	char	 h[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash(&cfg, PW, strlen(PW), h), 0);
	cr_assert(strncmp(h, "$argon2id$v=19$m=8192,t=2,p=1$", 30) == 0,
	    "%s", h);
	cr_assert_eq(password_hash_kind(h), PASSWORD_KIND_ARGON2ID);
	cr_assert_eq(check(h, PW), PASSWORD_MATCH);
}

Test(password, a_wrong_password_does_not_verify)
{
	char	 h[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash(&cfg, PW, strlen(PW), h), 0);
	cr_assert_eq(check(h, "correct horse battery stapl"), PASSWORD_MISMATCH);
	cr_assert_eq(check(h, "Correct horse battery staple"),
	    PASSWORD_MISMATCH);
	cr_assert_eq(check(h, ""), PASSWORD_MISMATCH);
}

Test(password, two_hashes_of_one_password_differ_by_their_salt)
{
	char	 a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash(&cfg, PW, strlen(PW), a), 0);
	cr_assert_eq(password_hash(&cfg, PW, strlen(PW), b), 0);
	cr_assert_str_neq(a, b);
	cr_assert_eq(check(a, PW), PASSWORD_MATCH);
	cr_assert_eq(check(b, PW), PASSWORD_MATCH);
}

Test(password, a_password_with_a_nul_inside_never_matches)
{
	char	 h[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash(&cfg, "abcdefgh", 8, h), 0);
	cr_assert_eq(password_verify(&cfg, h, "abcdefgh\0xyz", 12),
	    PASSWORD_MISMATCH);
}

Test(password, a_long_multibyte_password_hashes_and_verifies_whole)
{
	char	 pw[4097], h[PASSWORD_HASH_MAX];
	size_t	 i;

	for (i = 0; i < 1024; i++)
		memcpy(pw + i * 4, "\xf0\x9f\x8e\xb5", 4);	/* U+1F3B5 */
	pw[4096] = '\0';
	cr_assert_eq(password_hash(&cfg, pw, 4096, h), 0);
	cr_assert_eq(password_verify(&cfg, h, pw, 4096), PASSWORD_MATCH);
	pw[4095] = 'x';
	cr_assert_eq(password_verify(&cfg, h, pw, 4096), PASSWORD_MISMATCH,
	    "no truncation: the last byte counts");
}

Test(password, an_argon2id_hash_of_another_cost_matches_and_asks_for_a_rehash)
{
	char	 h[PASSWORD_HASH_MAX];

	cr_assert_eq(crypto_pwhash_str(h, PW, strlen(PW), 1, 8192 * 1024), 0);
	cr_assert_eq(check(h, PW), PASSWORD_MATCH_REHASH);
	cr_assert_eq(check(h, "nope nope nope"), PASSWORD_MISMATCH);
	cfg.argon2_opslimit = 1;
	cr_assert_eq(check(h, PW), PASSWORD_MATCH);
}

Test(password, bcrypt_2b_2a_and_2y_hashes_verify_and_ask_for_a_rehash)
{
	const char	*prefixes[] = { "$2b$", "$2a$", "$2y$" };
	char		 h[128];
	size_t		 i;

	for (i = 0; i < 3; i++) {
		bcrypt(h, sizeof(h), prefixes[i], PW);
		cr_assert_eq(strncmp(h, prefixes[i], 4), 0, "%s", h);
		cr_assert_eq(password_hash_kind(h), PASSWORD_KIND_BCRYPT);
		cr_assert_eq(check(h, PW), PASSWORD_MATCH_REHASH, "%s", h);
		cr_assert_eq(check(h, "wrong password"), PASSWORD_MISMATCH);
	}
}

Test(password, known_bcrypt_vectors_verify)
{
	/* From the crypt_blowfish test suite (Openwall). */
	cr_assert_eq(check("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0Xou"
	    "QYb4YMJKvyOeW", "U*U"), PASSWORD_MATCH_REHASH);
	cr_assert_eq(check("$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY33"
	    "6zx7pLYAy0lwK", "U*U*"), PASSWORD_MATCH_REHASH);
	cr_assert_eq(check("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0Xou"
	    "QYb4YMJKvyOeW", "U*U*"), PASSWORD_MISMATCH);
}

Test(password, a_tampered_bcrypt_hash_does_not_verify)
{
	char	 h[128];

	bcrypt(h, sizeof(h), "$2b$", PW);
	h[strlen(h) - 2] = h[strlen(h) - 2] == 'a' ? 'b' : 'a';
	cr_assert_eq(check(h, PW), PASSWORD_MISMATCH);
}

Test(password, hashes_of_unknown_forms_are_unusable)
{
	const char	*bad[] = {
		"",
		"plaintext-password",
		"$1$saltsalt$abcdefghijklmnopqrstuv",
		"$5$rounds=5000$salt$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ",
		"$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"$2x$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"$2b$03$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"$2b$32$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
		"$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ0123!",
		"$2b$10$dummyhash",
	};
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(password_hash_kind(bad[i]), PASSWORD_KIND_UNKNOWN,
		    "%s", bad[i]);
		cr_assert_eq(check(bad[i], PW), PASSWORD_UNUSABLE, "%s", bad[i]);
	}
	cr_assert_eq(password_hash_kind(NULL), PASSWORD_KIND_UNKNOWN);
}

Test(password, a_malformed_argon2id_hash_never_matches)
{
	cr_assert_neq(check("$argon2id$v=19$m=8192,t=2,p=1$garbage", PW),
	    PASSWORD_MATCH);
	cr_assert_neq(check("$argon2id$v=19$m=8192,t=2,p=1$garbage", PW),
	    PASSWORD_MATCH_REHASH);
}

/* CPU time this thread has used, in microseconds (load does not count). */
static long long
cpu_us(void)
{
	struct timespec	 t;

	cr_assert_eq(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t), 0);
	return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/*
 * A login for an account that does not exist burns what a verify of
 * a real hash costs, so the answer's time does not tell which accounts
 * exist: every burn (the first makes its dummy hash, later ones reuse
 * it) takes at least half the CPU time of the cheapest of three real
 * verifies at the same cost.  A burn that does nothing takes ~0.
 */
Test(password, burning_the_time_of_an_unknown_account_costs_a_verify_every_time)
{
	char		 h[PASSWORD_HASH_MAX];
	long long	 t, verify = -1, burn;
	int		 i;

	cr_assert_eq(password_hash(&cfg, PW, strlen(PW), h), 0);
	for (i = 0; i < 3; i++) {
		t = cpu_us();
		cr_assert_eq(check(h, "not the password"), PASSWORD_MISMATCH);
		t = cpu_us() - t;
		if (verify < 0 || t < verify)
			verify = t;
	}
	cr_assert_gt(verify, 0);
	for (i = 0; i < 3; i++) {
		t = cpu_us();
		password_burn(&cfg, i == 1 ? "another one" : PW,
		    i == 1 ? 11 : strlen(PW));
		burn = cpu_us() - t;
		cr_assert_geq(burn * 2, verify, "burn %d took %lld us of CPU, "
		    "a verify %lld us", i, burn, verify);
	}
}
