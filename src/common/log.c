/* SPDX-License-Identifier: ISC */
/* Logging: one key=value line per event on stderr, outside values quoted. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char	*log_prog = "hostscan";
static enum hs_log_level log_min = HS_LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
hs_log_init(const char *prog, enum hs_log_level min)
{
	log_prog = prog;
	log_min = min;
}

int
hs_log_level_parse(const char *s, enum hs_log_level *out)
{
	size_t	 i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum hs_log_level)i;
			return 0;
		}
	return -1;
}

/*
 * One write(2) per line so that lines of concurrent workers sharing
 * stderr never interleave.
 */
void
hs_log(enum hs_log_level lvl, const char *event, const char *fmt, ...)
{
	char		 line[4096];
	struct timeval	 tv;
	struct tm	 tm;
	va_list		 ap;
	int		 n, m;

	if (lvl < log_min)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s prog=%s pid=%ld "
	    "event=%s ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000),
	    level_names[lvl], log_prog, (long)getpid(), event);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	while (n > 0 && line[n - 1] == ' ')
		n--;
	line[n++] = '\n';
	(void)write(STDERR_FILENO, line, (size_t)n);
}

const char *
hs_logq(char *buf, size_t size, const char *s)
{
	size_t	 o = 0;

	if (size < 3) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	if (s == NULL) {
		hs_strlcpy(buf, "-", size);
		return buf;
	}
	buf[o++] = '"';
	for (; *s != '\0' && o + 5 < size; s++) {
		unsigned char	 c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		} else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
