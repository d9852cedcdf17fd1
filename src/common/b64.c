/* SPDX-License-Identifier: ISC */
/* base64url without padding (RFC 4648 section 5), strict on decode. */
#include <stddef.h>

#include <sodium.h>

#include "common.h"

size_t
hs_b64url_len(size_t binlen)
{
	size_t	 rem = binlen % 3;

	return binlen / 3 * 4 + (rem ? rem + 1 : 0);
}

void
hs_b64url_encode(const unsigned char *in, size_t n, char *out)
{
	sodium_bin2base64(out, hs_b64url_len(n) + 1, in, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/*
 * libsodium already refuses what we need refused when ignore and b64_end
 * are NULL: characters outside the URL-safe alphabet (so '=', '+', '/'),
 * a final group of one character, non-zero trailing bits, and input it
 * could not consume entirely.  The length check only makes the failure
 * for a short buffer explicit.
 */
int
hs_b64url_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outcap, size_t *outlen)
{
	size_t	 need, got = 0;

	*outlen = 0;
	if (inlen % 4 == 1)
		return -1;
	need = inlen / 4 * 3 + (inlen % 4 ? inlen % 4 - 1 : 0);
	if (need > outcap)
		return -1;
	if (inlen == 0)
		return 0;
	if (sodium_base642bin(out, outcap, in, inlen, NULL, &got, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || got != need)
		return -1;
	*outlen = got;
	return 0;
}
