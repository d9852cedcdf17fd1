/* SPDX-License-Identifier: ISC */
/*
 * TOTP through liboath: the RFC 6238 appendix B vectors (SHA-1; six digits
 * are the last six of the eight printed there), the one step of skew on
 * either side and no more, the step reported for replay checks, codes
 * that are not six ASCII digits, and the base32 form of a secret.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tap.h"

static const unsigned char rfc_key[] = "12345678901234567890";
#define RFC_KEYLEN	20

static const struct {
	int64_t		 t;
	const char	*code;
} vectors[] = {
	{ 59, "287082" },
	{ 1111111109, "081804" },
	{ 1111111111, "050471" },
	{ 1234567890, "005924" },
	{ 2000000000, "279037" },
	{ 20000000000LL, "353130" },
};

static void
test_vectors(void)
{
	uint64_t	 c;
	size_t		 i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		ok(hs_totp_check(rfc_key, RFC_KEYLEN, vectors[i].code,
		    vectors[i].t, &c) == 0, "RFC 6238 vector T=%lld %s",
		    (long long)vectors[i].t, vectors[i].code);
		is_int((long long)c, (long long)(vectors[i].t / HS_TOTP_STEP),
		    "its step is T/30 = %lld",
		    (long long)(vectors[i].t / HS_TOTP_STEP));
	}
}

static void
test_skew(void)
{
	const int64_t	 t = 1234567890;	/* code 005924, step 41152263 */
	uint64_t	 c;

	ok(hs_totp_check(rfc_key, RFC_KEYLEN, "005924", t + 30, &c) == 0 &&
	    c == 41152263, "the previous step's code is accepted, step kept");
	ok(hs_totp_check(rfc_key, RFC_KEYLEN, "005924", t - 30, &c) == 0 &&
	    c == 41152263, "the next step's code is accepted, step kept");
	ok(hs_totp_check(rfc_key, RFC_KEYLEN, "005924", t + 60, &c) == -1,
	    "two steps late is refused");
	ok(hs_totp_check(rfc_key, RFC_KEYLEN, "005924", t - 60, &c) == -1,
	    "two steps early is refused");
}

static void
test_bad_codes(void)
{
	static const char *const bad[] = {
		"", "05924", "0005924", "00592a", " 05924", "005924 ",
		"+05924", "-05924", "００５９２４",
	};
	uint64_t	 c;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(hs_totp_check(rfc_key, RFC_KEYLEN, bad[i], 1234567890,
		    &c) == -1, "code \"%s\" is refused", bad[i]);
	ok(hs_totp_check(rfc_key, RFC_KEYLEN, "00592\n", 1234567890,
	    &c) == -1, "five digits and a newline are refused");
	ok(hs_totp_check(rfc_key, RFC_KEYLEN, NULL, 1234567890, &c) == -1,
	    "no code is refused");
	ok(hs_totp_check(rfc_key, 0, "005924", 1234567890, &c) == -1,
	    "an empty key is refused");
	ok(hs_totp_check(rfc_key, RFC_KEYLEN, "005924", -1, &c) == -1,
	    "a time before the epoch is refused");
	ok(hs_totp_check((const unsigned char *)"12345678901234567891",
	    RFC_KEYLEN, "005924", 1234567890, &c) == -1,
	    "another key's code is refused");
}

static void
test_base32(void)
{
	char	*s;

	s = hs_totp_base32(rfc_key, RFC_KEYLEN);
	is_str(s, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
	    "20 bytes: 32 base32 characters, no padding");
	free(s);
	s = hs_totp_base32((const unsigned char *)"f", 1);
	is_str(s, "MY", "padding is stripped (RFC 4648 \"f\")");
	free(s);
}

int
main(void)
{
	test_vectors();
	test_skew();
	test_bad_codes();
	test_base32();
	return done_testing();
}
