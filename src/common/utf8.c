/* SPDX-License-Identifier: ISC */
/* UTF-8: one decoder, and what each kind of caller makes of malformed text. */
#include <stdint.h>
#include <string.h>

#include "common.h"

/*
 * RFC 3629 as Unicode's table of well-formed byte sequences writes it: the
 * lead byte fixes the length and the range of the second byte, which is
 * where overlong forms (E0, F0), surrogates (ED) and code points above
 * U+10FFFF (F4) are refused; every later byte is 80..BF.  A NUL is never
 * a continuation byte, so a sequence cut short by the end of a C string
 * fails on the NUL and nothing past it is read.
 */
size_t
hs_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	uint32_t	 c;
	size_t		 k, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		k = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		k = 3;
		c = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		k = 4;
		c = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	for (i = 1; i < k; i++) {
		if (i >= n || s[i] < lo || s[i] > hi)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = c;
	return k;
}

/* C0 and C1 controls and DEL: what a terminal may act on. */
static int
is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c < 0xa0);
}

int
hs_utf8_valid(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 c;
	size_t			 i, k;

	for (i = 0; i < n; i += k)
		if ((k = hs_utf8_decode(p + i, n - i, &c)) == 0)
			return 0;
	return 1;
}

size_t
hs_utf8_chars(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 c;
	size_t			 i, k, chars = 0;

	for (i = 0; i < n; i += k, chars++)
		if ((k = hs_utf8_decode(p + i, n - i, &c)) == 0)
			k = 1;
	return chars;
}

long
hs_utf8_text_len(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 c;
	size_t			 k;
	long			 n = 0;

	for (; *p != '\0'; p += k, n++)
		if ((k = hs_utf8_decode(p, SIZE_MAX, &c)) == 0 ||
		    is_control(c))
			return -1;
	return n;
}

size_t
hs_utf8_clean(char *dst, size_t size, const char *src)
{
	const unsigned char	*p = (const unsigned char *)src;
	uint32_t		 c;
	size_t			 o = 0, k, chars = 0;

	if (size == 0)
		return 0;
	for (; *p != '\0'; chars++) {
		k = hs_utf8_decode(p, SIZE_MAX, &c);
		if (k == 0 || is_control(c)) {
			if (o + 1 >= size)
				break;
			dst[o++] = '?';
			p += k == 0 ? 1 : k;
			continue;
		}
		if (o + k >= size)
			break;
		memcpy(dst + o, p, k);
		o += k;
		p += k;
	}
	dst[o] = '\0';
	return chars;
}

void
hs_utf8_cut(char *s, size_t chars)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 c;
	size_t			 k;

	for (; *p != '\0' && chars > 0; p += k, chars--)
		if ((k = hs_utf8_decode(p, SIZE_MAX, &c)) == 0)
			k = 1;
	s[p - (const unsigned char *)s] = '\0';
}

/*
 * Tab stays (file contents hold it); C1 controls stay too: they are valid
 * text to PostgreSQL and JSON, and the programs that show text to a
 * terminal clean it with hs_utf8_clean().
 */
void
hs_utf8_scrub(char *s)
{
	unsigned char	*p = (unsigned char *)s;
	uint32_t	 c;
	size_t		 k;

	while (*p != '\0') {
		if ((k = hs_utf8_decode(p, SIZE_MAX, &c)) == 0) {
			*p++ = '?';
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			*p = '?';
		p += k;
	}
}
