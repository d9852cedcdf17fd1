/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of src/common/config.c: every row's default, bounds and
 * messages, the file parser, and that hostscan.conf(5) and the example
 * file document every row once, with the row's default and bounds.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "tap.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

static long long
field(const struct hs_config *c, const struct hs_config_key *k)
{
	const char	*p = (const char *)c + k->off;

	switch (k->kind) {
	case HS_CONF_LONG:
	case HS_CONF_OCTAL:
		return *(const long *)(const void *)p;
	case HS_CONF_BOOL:
		return *(const int *)(const void *)p;
	case HS_CONF_LEVEL:
		return *(const enum hs_log_level *)(const void *)p;
	case HS_CONF_STR:
		break;
	}
	return *(char *const *)(const void *)p != NULL;
}

/* A number as the file spells it for this row. */
static void
spell(const struct hs_config_key *k, long long v, char *buf, size_t size)
{
	static const char *const levels[] = { "debug", "info", "warn",
	    "error" };

	if (k->kind == HS_CONF_OCTAL)
		snprintf(buf, size, "%#llo", (unsigned long long)v);
	else if (k->kind == HS_CONF_BOOL)
		snprintf(buf, size, "%s", v ? "yes" : "no");
	else if (k->kind == HS_CONF_LEVEL)
		snprintf(buf, size, "%s", levels[v]);
	else
		snprintf(buf, size, "%lld", v);
}

static void
rows(void)
{
	const struct hs_config_key	*k;
	struct hs_config		 c;
	char				 val[64], want[256], err[256];
	size_t				 i, j;

	hs_config_defaults(&c);
	for (i = 0; i < hs_config_nkeys; i++) {
		k = &hs_config_keys[i];
		ok(hs_config_key(k->name) == k, "%s: found by name", k->name);
		for (j = 0; j < i; j++)
			if (strcmp(hs_config_keys[j].name, k->name) == 0 ||
			    hs_config_keys[j].off == k->off)
				break;
		ok(j == i, "%s: one row, one field", k->name);
		if (k->kind == HS_CONF_STR) {
			is_int(field(&c, k), 0, "%s: not set by default",
			    k->name);
			continue;
		}
		is_int(field(&c, k), k->def, "%s: its default", k->name);
		ok(k->min <= k->def && k->def <= k->max,
		    "%s: the default is within its bounds", k->name);
		if (k->kind != HS_CONF_LONG && k->kind != HS_CONF_OCTAL)
			continue;
		spell(k, k->max, val, sizeof(val));
		ok(hs_config_set(&c, k->name, val, err, sizeof(err)) == 0 &&
		    field(&c, k) == k->max, "%s = %s (its maximum)", k->name,
		    val);
		spell(k, k->min, val, sizeof(val));
		ok(hs_config_set(&c, k->name, val, err, sizeof(err)) == 0 &&
		    field(&c, k) == k->min, "%s = %s (its minimum)", k->name,
		    val);
		if (k->kind == HS_CONF_OCTAL) {
			spell(k, k->max + 1, val, sizeof(val));
			snprintf(want, sizeof(want), "%s: value \"%s\" is "
			    "invalid (allowed %#llo..%#llo)", k->name, val,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max);
		} else {
			spell(k, k->max + 1, val, sizeof(val));
			snprintf(want, sizeof(want), "%s: value \"%s\" is too "
			    "large (allowed %lld..%lld)", k->name, val, k->min,
			    k->max);
		}
		ok(hs_config_set(&c, k->name, val, err, sizeof(err)) == -1,
		    "%s = %s refused", k->name, val);
		is_str(err, want, "%s: the message names key, value and bounds",
		    k->name);
		is_int(field(&c, k), k->min, "%s: a refused value changes "
		    "nothing", k->name);
		if (k->kind == HS_CONF_LONG) {
			spell(k, k->min - 1, val, sizeof(val));
			snprintf(want, sizeof(want), "%s: value \"%s\" is too "
			    "small (allowed %lld..%lld)", k->name, val, k->min,
			    k->max);
			ok(hs_config_set(&c, k->name, val, err,
			    sizeof(err)) == -1, "%s = %s refused", k->name,
			    val);
			is_str(err, want, "%s: too small", k->name);
		}
		ok(hs_config_set(&c, k->name, "12x", err, sizeof(err)) == -1,
		    "%s = 12x refused", k->name);
	}
	ok(hs_config_set(&c, "sched_worker", "1", err, sizeof(err)) == -1,
	    "an unknown key is refused");
	is_str(err, "unknown key \"sched_worker\"", "... and named");
	ok(hs_config_set(&c, "log_requests", "Off", err, sizeof(err)) == 0 &&
	    c.log_requests == 0, "log_requests = Off");
	ok(hs_config_set(&c, "log_requests", "maybe", err, sizeof(err)) == -1,
	    "log_requests = maybe refused");
	is_str(err, "log_requests: \"maybe\" is not yes or no", "... saying so");
	ok(hs_config_set(&c, "log_level", "WARN", err, sizeof(err)) == 0 &&
	    c.log_level == HS_LOG_WARN, "log_level = WARN");
	ok(hs_config_set(&c, "log_level", "loud", err, sizeof(err)) == -1,
	    "log_level = loud refused");
	ok(hs_config_set(&c, "listen", "unix:/x", err, sizeof(err)) == 0 &&
	    c.listen != NULL && strcmp(c.listen, "unix:/x") == 0,
	    "a string is copied");
	ok(hs_config_set(&c, "listen", "", err, sizeof(err)) == 0 &&
	    c.listen == NULL, "an empty string is not set");
	hs_config_free(&c);
}

/* Writes text to a temporary file; its name in path. */
static void
spew(char *path, size_t size, const char *text)
{
	const char	*tmp = getenv("TMPDIR");
	FILE		*f;
	int		 fd;

	snprintf(path, size, "%s/test-config.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL ||
	    fputs(text, f) == EOF || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* Loads text as a config file: 0 or -1 with the message in err. */
static int
load(struct hs_config *c, const char *text, char *err, size_t errlen)
{
	char	 path[256], msg[512];
	int	 rc;

	spew(path, sizeof(path), text);
	hs_config_defaults(c);
	rc = hs_config_load(c, path, 1, msg, sizeof(msg));
	unlink(path);
	/* Without the temporary name, so that messages compare. */
	if (rc == -1)
		snprintf(err, errlen, "%s", strncmp(msg, path,
		    strlen(path)) == 0 ? msg + strlen(path) : msg);
	return rc;
}

static void
files(void)
{
	struct hs_config	 c;
	char			 err[512], line[HS_MAX_CONFIG_LINE + 64];

	unsetenv("HOSTSCAN_SQL_DIR");
	unsetenv("HOSTSCAN_URL");
	setenv("HOSTSCAN_KEYRING", "/env/keyring", 1);
	ok(load(&c, "# comment\n\n  workers = 7  \nsched_workers=3\n"
	    "keyring = /file/keyring\napi_url =\n", err, sizeof(err)) == 0,
	    "a file loads");
	is_int(c.workers, 7, "blanks around key and value go");
	is_int(c.sched_workers, 3, "no blanks needed");
	is_int(c.lease_seconds, HS_DEFAULT_LEASE, "what it does not set stays");
	is_str(c.keyring, "/env/keyring", "the environment wins over the file");
	is_str(c.sql_dir, PKGDATADIR "/sql", "sql_dir: its row's default");
	is_str(c.api_url, HS_DEFAULT_API_URL,
	    "api_url: an empty value leaves its default");
	hs_config_free(&c);
	unsetenv("HOSTSCAN_KEYRING");

	ok(load(&c, "workers = 4\nlease_seconds = 2\n", err, sizeof(err)) ==
	    -1, "a value out of bounds fails the load");
	is_str(err, ":2: lease_seconds: value \"2\" is too small (allowed "
	    "3..3600)", "... naming the line, the key and the bounds");
	hs_config_free(&c);
	ok(load(&c, "no_such_key = 1\n", err, sizeof(err)) == -1,
	    "an unknown key fails the load");
	is_str(err, ":1: unknown key \"no_such_key\"", "... naming it");
	hs_config_free(&c);
	ok(load(&c, "workers\n", err, sizeof(err)) == -1, "a line without =");
	is_str(err, ":1: expected key = value", "... says what it expected");
	hs_config_free(&c);
	ok(load(&c, "page_default_limit = 500\npage_max_limit = 200\n", err,
	    sizeof(err)) == -1, "page_default_limit above page_max_limit");
	is_str(err, ": page_default_limit 500 exceeds page_max_limit 200",
	    "... is refused");
	hs_config_free(&c);
	memset(line, 'x', sizeof(line) - 2);
	memcpy(line, "# ", 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	ok(load(&c, line, err, sizeof(err)) == -1, "a line too long");
	is_str(err, ":1: line longer than " HS_STR(HS_MAX_CONFIG_LINE) " bytes",
	    "... is refused");
	hs_config_free(&c);
}

/* The file under the source tree, whole; NULL after a failed check. */
static char *
slurp(const char *rel)
{
	char	 path[1024];
	char	*text;
	size_t	 len;

	snprintf(path, sizeof(path), "%s/%s", TOP_SRCDIR, rel);
	text = hs_read_file(path, 1024 * 1024, &len);
	ok(text != NULL, "%s is readable", rel);
	return text;
}

/* The bounds "MIN..MAX" as the documents write them for k. */
static void
bounds(const struct hs_config_key *k, char *buf, size_t size)
{
	char	 lo[32], hi[32];

	spell(k, k->min, lo, sizeof(lo));
	spell(k, k->max, hi, sizeof(hi));
	snprintf(buf, size, "%s..%s", lo, hi);
}

/* text[0..len) holds word with no digit right before or after it. */
static int
has_word(const char *text, size_t len, const char *word)
{
	const char	*p = text, *end = text + len;
	size_t		 n = strlen(word);

	while ((p = memmem(p, (size_t)(end - p), word, n)) != NULL) {
		if ((p == text || !isdigit((unsigned char)p[-1])) &&
		    (p + n == end || !isdigit((unsigned char)p[n])))
			return 1;
		p++;
	}
	return 0;
}

/*
 * docs/hostscan.conf.example: each key on one line, "key = value" or
 * "#key = value", a number at its default, and the comment lines just
 * above it stating its bounds ("1..3600").
 */
static void
example(void)
{
	const struct hs_config_key	*k;
	char				*text, *p, *line, *eol, *above;
	char				 want[160], b[128];
	size_t				 i, n, klen;

	if ((text = slurp("docs/hostscan.conf.example")) == NULL)
		return;
	for (i = 0; i < hs_config_nkeys; i++) {
		k = &hs_config_keys[i];
		klen = strlen(k->name);
		n = 0;
		line = NULL;
		for (p = text; *p != '\0'; p = eol + (*eol != '\0')) {
			eol = p + strcspn(p, "\n");
			if (*p == '#')
				p++;
			if (strncmp(p, k->name, klen) == 0 &&
			    strncmp(p + klen, " =", 2) == 0) {
				n++;
				line = p;
			}
		}
		is_int(n, 1, "example: %s on one line", k->name);
		if (n != 1 || k->kind == HS_CONF_STR)
			continue;
		spell(k, k->def, b, sizeof(b));
		snprintf(want, sizeof(want), "%s = %s\n", k->name, b);
		ok(strncmp(line, want, strlen(want)) == 0,
		    "example: %s at its default %s", k->name, b);
		if (k->kind != HS_CONF_LONG && k->kind != HS_CONF_OCTAL)
			continue;
		/* The comment block right above the key's line. */
		if (line > text && line[-1] == '#')
			line--;
		for (above = line; above > text; above = p) {
			for (p = above - 1; p > text && p[-1] != '\n'; p--)
				;
			if (*p != '#' || p[1] != ' ')
				break;
		}
		bounds(k, b, sizeof(b));
		ok(has_word(above, (size_t)(line - above), b),
		    "example: the comment above %s says %s", k->name, b);
	}
	free(text);
}

/*
 * man/hostscan.conf.5: each key in one ".It Cm" line; the paragraph of
 * one key, where it states bounds or a default, states the row's.
 */
static void
manpage(void)
{
	const struct hs_config_key	*k;
	char				*text, *p, *eol, *it = NULL, *next;
	char				 b[128], d[64], want[128];
	size_t				 i, n, klen, len;

	if ((text = slurp("man/hostscan.conf.5")) == NULL)
		return;
	for (i = 0; i < hs_config_nkeys; i++) {
		k = &hs_config_keys[i];
		klen = strlen(k->name);
		n = 0;
		for (p = text; *p != '\0'; p = eol + (*eol != '\0')) {
			eol = p + strcspn(p, "\n");
			if (strncmp(p, ".It Cm ", 7) != 0)
				continue;
			/* "name , name" */
			for (p += 7; p < eol; p += len) {
				len = strcspn(p, " ,\n");
				if (len == klen && strncmp(p, k->name, klen) ==
				    0) {
					n++;
					it = p;
				}
				len += strspn(p + len, " ,");
			}
		}
		is_int(n, 1, "man page: %s under one .It Cm", k->name);
		if (n != 1 || k->kind == HS_CONF_STR || it[klen] != '\n')
			continue;
		/* Its paragraph: up to the next .It or .El. */
		if ((next = strstr(it, "\n.It ")) == NULL &&
		    (next = strstr(it, "\n.El")) == NULL)
			continue;
		*next = '\0';
		bounds(k, b, sizeof(b));
		spell(k, k->def, d, sizeof(d));
		snprintf(want, sizeof(want), "default %s", d);
		if (strstr(it, "..") != NULL)
			ok(has_word(it, strlen(it), b), "man page: %s says %s",
			    k->name, b);
		if (strstr(it, "default ") != NULL)
			ok(has_word(it, strlen(it), want),
			    "man page: %s says %s", k->name, want);
		*next = '\n';
	}
	free(text);
}

/*
 * What hs_config_check adds to the rows: url_prefix a path prefix (its
 * trailing slashes dropped), trusted_proxies addresses and CIDR blocks.
 */
static const struct {
	const char	*text;
	int		 rc;
	const char	*want;	/* url_prefix after loading, or the message */
} checks[] = {
	{ "url_prefix = /hostscan\n", 0, "/hostscan" },
	{ "url_prefix = /hostscan///\n", 0, "/hostscan" },
	{ "url_prefix = /a/b-c_d.e~f\n", 0, "/a/b-c_d.e~f" },
	{ "url_prefix = /\n", 0, "" },
	{ "url_prefix = hostscan\n", -1, ": url_prefix: \"hostscan\" is not" },
	{ "url_prefix = /a//b\n", -1, ": url_prefix: \"/a//b\" is not" },
	{ "url_prefix = /a/../b\n", -1, ": url_prefix: \"/a/../b\" is not" },
	{ "url_prefix = /a/./b\n", -1, ": url_prefix: \"/a/./b\" is not" },
	{ "url_prefix = /a b\n", -1, ": url_prefix: \"/a b\" is not" },
	{ "url_prefix = /a>b\n", -1, ": url_prefix: \"/a>b\" is not" },
	{ "url_prefix = /a%2fb\n", -1, ": url_prefix: \"/a%2fb\" is not" },
	{ "url_prefix = /a?b\n", -1, ": url_prefix: \"/a?b\" is not" },
	{ "trusted_proxies = 127.0.0.1, 10.0.0.0/8, 2001:db8::/32\n", 0, NULL },
	{ "trusted_proxies = proxy.example\n", -1,
	    ": trusted_proxies: \"proxy.example\" is not an address or a "
	    "CIDR block" },
	{ "trusted_proxies = any\n", -1,
	    ": trusted_proxies: \"any\" is not an address or a CIDR block" },
	{ "trusted_proxies = 10.0.0.1/8\n", -1,
	    ": trusted_proxies: entry 1 \"10.0.0.1/8\": has address bits set "
	    "beyond its prefix length" },
	{ "trusted_proxies = 127.0.0.1,,::1\n", -1,
	    ": trusted_proxies: entry 2 \"\": empty entry" },
};

static void
check(void)
{
	struct hs_config c;
	char		 err[512];
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		err[0] = '\0';
		rc = load(&c, checks[i].text, err, sizeof(err));
		is_int(rc, checks[i].rc, "check %zu: \"%.*s\" %s", i,
		    (int)strcspn(checks[i].text, "\n"), checks[i].text,
		    checks[i].rc == 0 ? "loads" : "is refused");
		if (rc == 0 && checks[i].want != NULL)
			is_str(c.url_prefix, checks[i].want, "... url_prefix");
		else if (rc == 0)
			ok(c.proxies != NULL && c.proxies->n == 3 &&
			    hs_scope_has_ip(c.proxies, "10.9.8.7") &&
			    hs_scope_has_ip(c.proxies, "2001:db8::5") &&
			    !hs_scope_has_ip(c.proxies, "127.0.0.2"),
			    "... three entries, CIDR blocks matching");
		else
			ok(strncmp(err, checks[i].want,
			    strlen(checks[i].want)) == 0,
			    "... \"%s\" (got \"%s\")", checks[i].want, err);
		hs_config_free(&c);
	}
}

int
main(void)
{
	rows();
	check();
	files();
	example();
	manpage();
	return done_testing();
}
