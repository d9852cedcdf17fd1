/* SPDX-License-Identifier: ISC */
/* Unit tests of src/common/utf8.c (and hs_hexval): one line per case. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tap.h"

#define BAD	(-1)

/*
 * Input; whether it is well-formed; its characters (malformed bytes one
 * each); hs_utf8_text_len; what a terminal is shown; what is stored.
 */
static const struct {
	const char	*in;
	int		 valid;
	size_t		 chars;
	long		 text_len;
	const char	*clean;
	const char	*scrub;
} cases[] = {
	{ "", 1, 0, 0, "", "" },
	{ "plain ascii", 1, 11, 11, "plain ascii", "plain ascii" },
	{ "caf\xc3\xa9", 1, 4, 4, "caf\xc3\xa9", "caf\xc3\xa9" },
	{ "\xe6\x97\xa5\xe6\x9c\xac", 1, 2, 2, "\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac" },
	{ "\xf0\x9f\x98\x80", 1, 1, 1, "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
	/* the last of each length, and the first */
	{ "\x7f", 1, 1, BAD, "?", "?" },
	{ "\xc2\x80", 1, 1, BAD, "?", "\xc2\x80" },
	{ "\xdf\xbf", 1, 1, 1, "\xdf\xbf", "\xdf\xbf" },
	{ "\xe0\xa0\x80", 1, 1, 1, "\xe0\xa0\x80", "\xe0\xa0\x80" },
	{ "\xef\xbf\xbf", 1, 1, 1, "\xef\xbf\xbf", "\xef\xbf\xbf" },
	{ "\xf0\x90\x80\x80", 1, 1, 1, "\xf0\x90\x80\x80", "\xf0\x90\x80\x80" },
	{ "\xf4\x8f\xbf\xbf", 1, 1, 1, "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },
	/* controls: tab stays in storage only, C1 is text to PostgreSQL */
	{ "a\tb", 1, 3, BAD, "a?b", "a\tb" },
	{ "a\nb\rc", 1, 5, BAD, "a?b?c", "a?b?c" },
	{ "\x1b[31mred\x1b[0m", 1, 12, BAD, "?[31mred?[0m", "?[31mred?[0m" },
	{ "\x01\x1f", 1, 2, BAD, "??", "??" },
	{ "\xc2\x9b" "31m", 1, 4, BAD, "?31m", "\xc2\x9b" "31m" },
	{ "\xc2\x9f", 1, 1, BAD, "?", "\xc2\x9f" },
	{ "\xc2\xa0", 1, 1, 1, "\xc2\xa0", "\xc2\xa0" },
	/* overlong forms */
	{ "\xc0\xaf", 0, 2, BAD, "??", "??" },
	{ "\xc1\xbf", 0, 2, BAD, "??", "??" },
	{ "\xe0\x80\xaf", 0, 3, BAD, "???", "???" },
	{ "\xe0\x9f\xbf", 0, 3, BAD, "???", "???" },
	{ "\xf0\x80\x80\xaf", 0, 4, BAD, "????", "????" },
	{ "\xf0\x8f\xbf\xbf", 0, 4, BAD, "????", "????" },
	/* surrogates, and past U+10FFFF */
	{ "\xed\xa0\x80", 0, 3, BAD, "???", "???" },
	{ "\xed\xbf\xbf", 0, 3, BAD, "???", "???" },
	{ "\xed\x9f\xbf", 1, 1, 1, "\xed\x9f\xbf", "\xed\x9f\xbf" },
	{ "\xf4\x90\x80\x80", 0, 4, BAD, "????", "????" },
	{ "\xf5\x80\x80\x80", 0, 4, BAD, "????", "????" },
	{ "\xf8\x88\x80\x80\x80", 0, 5, BAD, "?????", "?????" },
	/* stray and missing continuation bytes, invalid lead bytes */
	{ "\x80", 0, 1, BAD, "?", "?" },
	{ "a\xbf" "b", 0, 3, BAD, "a?b", "a?b" },
	{ "\xc3", 0, 1, BAD, "?", "?" },
	{ "\xc3" "a", 0, 2, BAD, "?a", "?a" },
	{ "\xe2\x82", 0, 2, BAD, "??", "??" },
	{ "\xe2\x82" "a", 0, 3, BAD, "??a", "??a" },
	{ "\xf0\x9f\x98", 0, 3, BAD, "???", "???" },
	{ "\xe2\x82\xac\xe2", 0, 2, BAD, "\xe2\x82\xac?", "\xe2\x82\xac?" },
	{ "\xfe\xff", 0, 2, BAD, "??", "??" },
	{ "\xc3\xc3\xa9", 0, 2, BAD, "?\xc3\xa9", "?\xc3\xa9" },
};

/* dst size -> what hs_utf8_clean() keeps: whole characters only. */
static const struct {
	const char	*in;
	size_t		 size;
	const char	*out;
	size_t		 chars;
} cuts[] = {
	{ "abc", 1, "", 0 },
	{ "abc", 3, "ab", 2 },
	{ "abc", 4, "abc", 3 },
	{ "a\xc3\xa9", 3, "a", 1 },
	{ "a\xc3\xa9", 4, "a\xc3\xa9", 2 },
	{ "\xf0\x9f\x98\x80", 4, "", 0 },
	{ "\x1b\xff", 2, "?", 1 },
};

/* hs_utf8_cut(in, n) */
static const struct {
	const char	*in;
	size_t		 n;
	const char	*out;
} keeps[] = {
	{ "abc", 0, "" },
	{ "abc", 2, "ab" },
	{ "abc", 9, "abc" },
	{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 2, "\xe6\x97\xa5\xe6\x9c\xac" },
	{ "\xff" "ab", 1, "\xff" },
	{ "\xe2\x82" "ab", 2, "\xe2\x82" },
};

static const struct {
	int	 c;
	int	 val;
} hexes[] = {
	{ '0', 0 }, { '9', 9 }, { 'a', 10 }, { 'f', 15 }, { 'A', 10 },
	{ 'F', 15 }, { 'g', -1 }, { 'G', -1 }, { '/', -1 }, { ':', -1 },
	{ '@', -1 }, { '`', -1 }, { ' ', -1 }, { 0, -1 }, { 0xff, -1 },
};

/* The shortest encoding of cp in len bytes (len may be too long: overlong). */
static size_t
encode(uint32_t cp, size_t len, unsigned char *out)
{
	static const unsigned char	 lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	size_t				 i;

	if (len == 1) {
		out[0] = (unsigned char)cp;
		return cp < 0x80;
	}
	for (i = len - 1; i > 0; i--, cp >>= 6)
		out[i] = 0x80 | (cp & 0x3f);
	out[0] = (unsigned char)(lead[len] | cp);
	return cp < (0x80u >> len);	/* the rest fits the lead byte */
}

/*
 * Every code point in every length it fits: the decoder takes exactly the
 * shortest form of each scalar value and refuses the rest.
 */
static void
exhaustive(void)
{
	unsigned char	 b[4];
	uint32_t	 cp, got;
	size_t		 len, minlen, k;
	unsigned long	 wrong = 0, accepted = 0;

	for (cp = 0; cp <= 0x10ffff; cp++) {
		minlen = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		for (len = 1; len <= 4; len++) {
			if (!encode(cp, len, b))
				continue;
			k = hs_utf8_decode(b, len, &got);
			if (len == minlen && !(cp >= 0xd800 && cp <= 0xdfff)) {
				accepted++;
				wrong += k != len || got != cp;
				/* one byte fewer is a truncated sequence */
				wrong += len > 1 &&
				    hs_utf8_decode(b, len - 1, &got) != 0;
			} else
				wrong += k != 0;
		}
	}
	is_int(accepted, 0x110000 - 0x800,
	    "every scalar value decodes from its shortest form");
	is_int(wrong, 0, "no overlong form, surrogate or short read decodes");
}

int
main(void)
{
	char		 buf[64];
	uint32_t	 cp;
	size_t		 i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = strlen(cases[i].in);
		is_int(hs_utf8_valid(cases[i].in, len), cases[i].valid,
		    "case %zu: valid", i);
		is_int(hs_utf8_chars(cases[i].in, len), cases[i].chars,
		    "case %zu: characters", i);
		is_int(hs_utf8_text_len(cases[i].in), cases[i].text_len,
		    "case %zu: text length", i);
		is_int(hs_utf8_clean(buf, sizeof(buf), cases[i].in),
		    cases[i].chars, "case %zu: cleaned characters", i);
		is_str(buf, cases[i].clean, "case %zu: cleaned", i);
		hs_strlcpy(buf, cases[i].in, sizeof(buf));
		hs_utf8_scrub(buf);
		is_str(buf, cases[i].scrub, "case %zu: scrubbed", i);
		ok(hs_utf8_valid(buf, strlen(buf)),
		    "case %zu: what is stored is valid", i);
	}
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		is_int(hs_utf8_clean(buf, cuts[i].size, cuts[i].in),
		    cuts[i].chars, "clean %zu into %zu bytes: characters", i,
		    cuts[i].size);
		is_str(buf, cuts[i].out, "clean %zu into %zu bytes", i,
		    cuts[i].size);
	}
	for (i = 0; i < sizeof(keeps) / sizeof(keeps[0]); i++) {
		hs_strlcpy(buf, keeps[i].in, sizeof(buf));
		hs_utf8_cut(buf, keeps[i].n);
		is_str(buf, keeps[i].out, "cut %zu after %zu", i, keeps[i].n);
	}
	for (i = 0; i < sizeof(hexes) / sizeof(hexes[0]); i++)
		is_int(hs_hexval(hexes[i].c), hexes[i].val, "hexval 0x%02x",
		    hexes[i].c);

	/* NUL is a character to a length-bounded check, and ends no less. */
	ok(hs_utf8_valid("a\0b", 3), "a NUL inside a counted buffer is valid");
	is_int(hs_utf8_chars("a\0\xc3\xa9", 4), 3, "... and one character");
	ok(!hs_utf8_valid("\xc3\xa9", 1), "a count that cuts a character");
	is_int(hs_utf8_decode((const unsigned char *)"", 0, &cp), 0,
	    "nothing to read decodes nothing");
	is_int(hs_utf8_decode((const unsigned char *)"\xe2\x82\xac", SIZE_MAX,
	    &cp), 3, "a C string: three bytes");
	is_int(cp, 0x20ac, "... U+20AC");
	exhaustive();
	return done_testing();
}
