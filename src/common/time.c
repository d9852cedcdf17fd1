/* SPDX-License-Identifier: ISC */
/* RFC 3339 date-times to and from Unix seconds, without time zone files. */
#include <stdint.h>

#include "common.h"

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range of RFC 3339. */
#define HS_TIME_MIN	(-62167219200LL)
#define HS_TIME_MAX	(253402300799LL)

static int
is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int
month_days(int64_t y, int m)
{
	static const int days[12] =
	    { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date.  The year is
 * counted from March so that the leap day falls at its end; eras of 400
 * years (146097 days) keep every division on non-negative numbers.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *yp, int *mp, int *dp)
{
	int64_t	 era, doe, yoe, doy, mp0, y;
	int	 m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp0 = (5 * doy + 2) / 153;
	*dp = (int)(doy - (153 * mp0 + 2) / 5 + 1);
	m = (int)(mp0 < 10 ? mp0 + 3 : mp0 - 9);
	*mp = m;
	*yp = m <= 2 ? y + 1 : y;
}

/* Exactly n ASCII digits at s; no sign, no spaces (unlike strtol). */
static int
digits(const char *s, int n, int *out)
{
	int	 i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
hs_time_parse(const char *s, int64_t *out)
{
	int	 y, mo, d, h, mi, sec, oh, om, nfrac;
	int64_t	 t, off = 0;

	if (s == NULL)
		return -1;
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d))
		return -1;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return -1;
	if (digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	/* Unix time has no leap seconds; :60 is the last second of :59. */
	if (sec == 60)
		sec = 59;
	s += 19;
	if (*s == '.') {
		s++;
		for (nfrac = 0; *s >= '0' && *s <= '9'; s++)
			if (++nfrac > 18)
				return -1;
		if (nfrac == 0)
			return -1;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		if (digits(s + 1, 2, &oh) || s[3] != ':' ||
		    digits(s + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = (int64_t)oh * 3600 + om * 60;
		if (*s == '-')
			off = -off;
		s += 6;
	} else
		return -1;
	if (*s != '\0')
		return -1;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	*out = t - off;
	return 0;
}

static void
put_digits(char *p, int64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
hs_time_format(int64_t t, char out[21])
{
	int64_t	 days, secs, y;
	int	 m, d;

	/* Only four-digit years have an RFC 3339 form. */
	if (t < HS_TIME_MIN)
		t = HS_TIME_MIN;
	if (t > HS_TIME_MAX)
		t = HS_TIME_MAX;
	days = t / 86400;
	secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	put_digits(out, y, 4);
	out[4] = '-';
	put_digits(out + 5, m, 2);
	out[7] = '-';
	put_digits(out + 8, d, 2);
	out[10] = 'T';
	put_digits(out + 11, secs / 3600, 2);
	out[13] = ':';
	put_digits(out + 14, secs / 60 % 60, 2);
	out[16] = ':';
	put_digits(out + 17, secs % 60, 2);
	out[19] = 'Z';
	out[20] = '\0';
}
