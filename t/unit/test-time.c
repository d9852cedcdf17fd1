/* SPDX-License-Identifier: ISC */
/* RFC 3339 parsing and formatting without the TZ environment. */
#include <stdint.h>
#include <stdlib.h>

#include "common.h"
#include "tap.h"

/* Each time, its value, and how hs_time_format writes that value. */
static const struct {
	const char	*s;
	int64_t		 t;
	const char	*utc;
} good[] = {
	{ "1970-01-01T00:00:00Z", 0, "1970-01-01T00:00:00Z" },
	{ "1970-01-01t00:00:00z", 0, "1970-01-01T00:00:00Z" },
	{ "1970-01-01 00:00:00Z", 0, "1970-01-01T00:00:00Z" },
	{ "1970-01-01T00:00:00+00:00", 0, "1970-01-01T00:00:00Z" },
	{ "1970-01-01T00:00:00-00:00", 0, "1970-01-01T00:00:00Z" },
	{ "1969-12-31T23:59:59Z", -1, "1969-12-31T23:59:59Z" },
	{ "2000-01-01T00:00:00Z", 946684800, "2000-01-01T00:00:00Z" },
	{ "2022-01-01T00:00:00+00:00", 1640995200, "2022-01-01T00:00:00Z" },
	{ "2024-02-29T12:00:00Z", 1709208000, "2024-02-29T12:00:00Z" },
	{ "2024-03-01T00:00:00Z", 1709251200, "2024-03-01T00:00:00Z" },
	{ "2000-02-29T00:00:00Z", 951782400, "2000-02-29T00:00:00Z" },
	{ "2026-11-30T21:09:06Z", 1796072946, "2026-11-30T21:09:06Z" },
	{ "2026-11-30T23:09:06+02:00", 1796072946, "2026-11-30T21:09:06Z" },
	{ "2026-11-30T19:39:06-01:30", 1796072946, "2026-11-30T21:09:06Z" },
	{ "2026-12-01T00:09:06+03:00", 1796072946, "2026-11-30T21:09:06Z" },
	{ "2026-11-30T21:09:06.5Z", 1796072946, "2026-11-30T21:09:06Z" },
	{ "2026-11-30T21:09:06.999999999Z", 1796072946,
	    "2026-11-30T21:09:06Z" },
	{ "2026-11-30T21:09:06.123+02:00", 1796065746,
	    "2026-11-30T19:09:06Z" },
	{ "2016-12-31T23:59:60Z", 1483228799, "2016-12-31T23:59:59Z" },
	{ "2038-01-19T03:14:08Z", 2147483648LL, "2038-01-19T03:14:08Z" },
	{ "9999-12-31T23:59:59Z", 253402300799LL, "9999-12-31T23:59:59Z" },
	{ "0000-01-01T00:00:00Z", -62167219200LL, "0000-01-01T00:00:00Z" },
	{ "1900-03-01T00:00:00Z", -2203891200LL, "1900-03-01T00:00:00Z" },
};

static const char *const bad[] = {
	"",
	"2023-02-29T00:00:00Z",		/* not a leap year */
	"1900-02-29T00:00:00Z",		/* century, not a leap year */
	"2026-13-01T00:00:00Z",
	"2026-00-01T00:00:00Z",
	"2026-04-31T00:00:00Z",
	"2026-01-00T00:00:00Z",
	"2026-01-32T00:00:00Z",
	"2026-01-01T24:00:00Z",
	"2026-01-01T00:60:00Z",
	"2026-01-01T00:00:61Z",
	"2026-01-01T00:00:00",		/* no offset */
	"2026-01-01",
	"2026-01-01T00:00Z",
	"2026-01-01X00:00:00Z",
	"2026-1-01T00:00:00Z",
	"+2026-01-01T00:00:00Z",
	"-001-01-01T00:00:00Z",
	"2026-01-01T00:00:00.Z",
	"2026-01-01T00:00:00,5Z",
	"2026-01-01T00:00:00.1234567890123456789Z",
	"2026-01-01T00:00:00+0200",
	"2026-01-01T00:00:00+02",
	"2026-01-01T00:00:00+24:00",
	"2026-01-01T00:00:00+02:60",
	"2026-01-01T00:00:00Z ",
	" 2026-01-01T00:00:00Z",
	"2026-01-01T00:00:00ZZ",
	"2026-01-01T00:00:00UTC",
	"2026-01-01T 0:00:00Z",
	"2026-01-01T00:00:00+02:00x",
	"20260101T000000Z",
};

int
main(void)
{
	size_t	 i;
	int64_t	 t, step;
	char	 buf[21];

	/* The result must not depend on the local zone. */
	setenv("TZ", "America/St_Johns", 1);

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t = 12345;
		is_int(hs_time_parse(good[i].s, &t), 0, "parses %s", good[i].s);
		is_int(t, good[i].t, "%s is %lld", good[i].s,
		    (long long)good[i].t);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(hs_time_parse(bad[i], &t), -1, "rejects '%s'", bad[i]);
	is_int(hs_time_parse(NULL, &t), -1, "rejects NULL");

	hs_time_format(0, buf);
	is_str(buf, "1970-01-01T00:00:00Z", "formats the epoch");
	hs_time_format(1796072946, buf);
	is_str(buf, "2026-11-30T21:09:06Z", "formats a recent time");
	hs_time_format(1709208000, buf);
	is_str(buf, "2024-02-29T12:00:00Z", "formats a leap day");
	hs_time_format(-1, buf);
	is_str(buf, "1969-12-31T23:59:59Z", "formats before the epoch");
	hs_time_format(253402300799LL, buf);
	is_str(buf, "9999-12-31T23:59:59Z", "formats the last second");
	hs_time_format(INT64_MAX, buf);
	is_str(buf, "9999-12-31T23:59:59Z", "clamps beyond year 9999");
	hs_time_format(INT64_MIN, buf);
	is_str(buf, "0000-01-01T00:00:00Z", "clamps before year 0");

	/* Round trips across centuries, leap years and day boundaries. */
	{
		int	 bad_rt = 0;

		step = 86400 * 7 + 3607;
		for (t = -62167219200LL; t <= 253402300799LL; t += step) {
			int64_t	 back = 0;

			hs_time_format(t, buf);
			if (hs_time_parse(buf, &back) == -1 || back != t) {
				if (bad_rt++ == 0)
					printf("# round trip failed at %lld (%s)\n",
					    (long long)t, buf);
			}
		}
		is_int(bad_rt, 0, "format/parse round trips over 0000..9999");
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		hs_time_format(good[i].t, buf);
		is_str(buf, good[i].utc, "the value of %s formats in UTC",
		    good[i].s);
		t = 12345;
		ok(hs_time_parse(good[i].utc, &t) == 0 && t == good[i].t,
		    "%s parses back to %lld", good[i].utc,
		    (long long)good[i].t);
	}
	return done_testing();
}
