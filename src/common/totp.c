/* SPDX-License-Identifier: ISC */
/*
 * TOTP (RFC 6238) for sign-in: a thin layer over liboath, so that the
 * HMAC and truncation are a packaged library's and hostscan only fixes
 * the parameters (SHA-1, 30 s, 6 digits, one step of skew) in one place.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liboath/oath.h>

#include "common.h"

static int
oath_ready(void)
{
	static int	 done;

	if (!done && oath_init() == OATH_OK)
		done = 1;
	return done;
}

int
hs_totp_check(const unsigned char *key, size_t keylen, const char *code,
    int64_t now, uint64_t *counter)
{
	uint64_t	 step;
	int		 pos;

	*counter = 0;
	/* liboath takes the digit count from strlen(code): fix it here. */
	if (code == NULL || strlen(code) != HS_TOTP_DIGITS ||
	    strspn(code, "0123456789") != HS_TOTP_DIGITS)
		return -1;
	if (key == NULL || keylen == 0 || now < 0 || !oath_ready())
		return -1;
	if (oath_totp_validate3((const char *)key, keylen, (time_t)now,
	    HS_TOTP_STEP, OATH_TOTP_DEFAULT_START_TIME, HS_TOTP_WINDOW, &pos,
	    &step, code) < 0)
		return -1;
	*counter = step;
	return 0;
}

char *
hs_totp_base32(const unsigned char *key, size_t keylen)
{
	char	*out = NULL, *eq;
	size_t	 outlen = 0;

	if (!oath_ready() ||
	    oath_base32_encode((const char *)key, keylen, &out, &outlen) !=
	    OATH_OK)
		return NULL;
	/* Authenticator apps want the secret without '=' padding. */
	if ((eq = strchr(out, '=')) != NULL)
		*eq = '\0';
	return out;
}
