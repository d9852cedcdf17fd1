/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of src/api/request.c and proxy.c: the path a request routes
 * on below its prefix, the client address behind trusted proxies
 * (X-Forwarded-For and Forwarded), query parameters and paging arguments,
 * through req_init() and a struct io of canned parameters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api.h"
#include "tap.h"

#define UUID_LC	"0f0e0d0c-0b0a-4908-8706-050403020100"
#define UUID_UC	"0F0E0D0C-0B0A-4908-8706-050403020100"

/* The parameters of one request, as nginx or a CGI server passes them. */
struct params {
	const char	*names[16];
	const char	*values[16];
	char		 answer[4096];	/* what was written */
	size_t		 answer_len;
};

static const char *
fake_param(struct io *io, const char *name)
{
	struct params	*p = io->ctx;
	size_t		 i;

	for (i = 0; i < NELEM(p->names) && p->names[i] != NULL; i++)
		if (strcmp(p->names[i], name) == 0)
			return p->values[i];
	return NULL;
}

/* A name may repeat, as nginx before 1.23 passes a header per line. */
static const char *
fake_param_next(struct io *io, const char *name, size_t *pos)
{
	struct params	*p = io->ctx;

	while (*pos < NELEM(p->names) && p->names[*pos] != NULL)
		if (strcmp(p->names[(*pos)++], name) == 0)
			return p->values[*pos - 1];
	return NULL;
}

static long
fake_read(struct io *io, char *buf, size_t n)
{
	return 0;
}

static int
fake_write(struct io *io, const char *buf, size_t n)
{
	struct params	*p = io->ctx;

	if (p->answer_len + n >= sizeof(p->answer))
		return -1;
	memcpy(p->answer + p->answer_len, buf, n);
	p->answer_len += n;
	p->answer[p->answer_len] = '\0';
	return 0;
}

static struct hs_config	 cfg;
static struct worker	 w;

/* req_init() on these parameters (NULL-ended name, value pairs). */
static void
request(struct req *r, struct io *io, struct params *p, ...)
{
	va_list		 ap;
	const char	*name;
	size_t		 i = 0;

	memset(p, 0, sizeof(*p));
	va_start(ap, p);
	while ((name = va_arg(ap, const char *)) != NULL &&
	    i < NELEM(p->names)) {
		p->names[i] = name;
		p->values[i++] = va_arg(ap, const char *);
	}
	va_end(ap);
	io->param = fake_param;
	io->param_next = fake_param_next;
	io->read = fake_read;
	io->write = fake_write;
	io->ctx = p;
	w.cfg = &cfg;
	req_init(r, io, &w);
}

/*
 * The path to route on.  A split path (PATH_INFO below SCRIPT_NAME) first;
 * else DOCUMENT_URI (nginx's decoded $uri), else REQUEST_URI decoded up to
 * its query, which must start with url_prefix.  Anything that decodes to a
 * NUL, does not fit or lies outside the prefix routes on "" (a 404).
 * Links carry url_prefix when set, else the SCRIPT_NAME of a split path.
 */
static const struct {
	const char	*url_prefix, *script_name, *path_info;
	const char	*document_uri, *request_uri;
	const char	*path, *route, *prefix;
} paths[] = {
	/* no prefix: as before */
	{ NULL, NULL, NULL, "/api/v1/HostScanJob", "/y",
	    "/api/v1/HostScanJob", "/api/v1/HostScanJob", "" },
	{ NULL, NULL, NULL, "/api/v1/a%20b", NULL,
	    "/api/v1/a%20b", "/api/v1/a%20b", "" },		/* as given */
	{ NULL, NULL, "/from/path/info", "api/v1/HostScanJob", NULL,
	    "/from/path/info", "/from/path/info", "" },
	{ NULL, NULL, NULL, "", "/from/request/uri",
	    "/from/request/uri", "/from/request/uri", "" },
	{ NULL, NULL, "/from/path/info", NULL, "/y",
	    "/from/path/info", "/from/path/info", "" },
	{ NULL, NULL, "relative", NULL, "/from/request/uri",
	    "/from/request/uri", "/from/request/uri", "" },
	{ NULL, NULL, NULL, NULL, "/api/v1/HostScanJob?limit=5",
	    "/api/v1/HostScanJob", "/api/v1/HostScanJob", "" },
	{ NULL, NULL, NULL, NULL, "/api/v1/Host%53canJob",
	    "/api/v1/HostScanJob", "/api/v1/HostScanJob", "" },
	{ NULL, NULL, NULL, NULL, "/api/v1/host%2fscan",
	    "/api/v1/host/scan", "/api/v1/host/scan", "" },
	{ NULL, NULL, NULL, NULL, "/a%3Fb?c%3Fd", "/a?b", "/a?b", "" },
	{ NULL, NULL, NULL, NULL, "/a%00b", "", "", "" },
	{ NULL, NULL, NULL, NULL, "/a%zzb", "", "", "" },
	{ NULL, NULL, NULL, NULL, "/a%4", "", "", "" },
	{ NULL, NULL, NULL, NULL, "/a%", "", "", "" },
	{ NULL, NULL, NULL, NULL, NULL, "", "", "" },
	/* nginx's shipped params: SCRIPT_NAME is $uri, PATH_INFO "" */
	{ NULL, "/api/v1/Health", "", "/api/v1/Health", "/api/v1/Health",
	    "/api/v1/Health", "/api/v1/Health", "" },
	/* url_prefix: the whole path must start with it */
	{ "/hostscan", "/hostscan/api/v1/Health", "",
	    "/hostscan/api/v1/Health", NULL,
	    "/hostscan/api/v1/Health", "/api/v1/Health", "/hostscan" },
	{ "/hostscan", NULL, NULL, NULL, "/hostscan/signinBody?x",
	    "/hostscan/signinBody", "/signinBody", "/hostscan" },
	{ "/a/b", NULL, NULL, "/a/b/api/v1/Version", NULL,
	    "/a/b/api/v1/Version", "/api/v1/Version", "/a/b" },
	{ "/hostscan", NULL, NULL, "/hostscan", NULL,
	    "/hostscan", "", "/hostscan" },
	{ "/hostscan", NULL, NULL, "/api/v1/Health", NULL,
	    "/api/v1/Health", "", "/hostscan" },		/* outside: 404 */
	{ "/hostscan", NULL, NULL, "/hostscanner/api/v1/Health", NULL,
	    "/hostscanner/api/v1/Health", "", "/hostscan" },
	{ "/hostscan", NULL, NULL, "/HOSTSCAN/api/v1/Health", NULL,
	    "/HOSTSCAN/api/v1/Health", "", "/hostscan" },	/* exact */
	{ "/hostscan", NULL, NULL, NULL, "/host%73can/api/v1/Health",
	    "/hostscan/api/v1/Health", "/api/v1/Health", "/hostscan" },
	{ "/hostscan", NULL, NULL, NULL, "/x/hostscan/api/v1/Health",
	    "/x/hostscan/api/v1/Health", "", "/hostscan" },
	/* "/" in the file: the root, whatever SCRIPT_NAME says */
	{ "", "/cgi-bin/hostscan.cgi", "/api/v1/Health", NULL, NULL,
	    "/cgi-bin/hostscan.cgi/api/v1/Health", "/api/v1/Health", "" },
	/* a split path: SCRIPT_NAME is the prefix of links */
	{ NULL, "/hostscan", "/api/v1/Health", "/hostscan/api/v1/Health",
	    NULL, "/hostscan/api/v1/Health", "/api/v1/Health", "/hostscan" },
	{ NULL, "", "/api/v1/Health", NULL, "/api/v1/Health",
	    "/api/v1/Health", "/api/v1/Health", "" },
	{ NULL, "/cgi-bin/hostscan.cgi", "/signin2fa", NULL, NULL,
	    "/cgi-bin/hostscan.cgi/signin2fa", "/signin2fa",
	    "/cgi-bin/hostscan.cgi" },
	{ "/pub", "/hostscan", "/api/v1/Health", "/hostscan/api/v1/Health",
	    NULL, "/hostscan/api/v1/Health", "/api/v1/Health", "/pub" },
	/* a SCRIPT_NAME that is no prefix for a link is a 404 */
	{ NULL, "/host scan", "/api/v1/Health", NULL, NULL, "", "", "" },
	{ NULL, "/a>b", "/api/v1/Health", NULL, NULL, "", "", "" },
	{ NULL, "/a/../b", "/api/v1/Health", NULL, NULL, "", "", "" },
	{ NULL, "/a//b", "/api/v1/Health", NULL, NULL, "", "", "" },
	{ NULL, "/a\r\nX: y", "/api/v1/Health", NULL, NULL, "", "", "" },
	{ NULL, "hostscan", "/api/v1/Health", NULL, NULL, "", "", "" },
};

/*
 * The client address.  An untrusted peer (REMOTE_ADDR) is the client,
 * whatever it sends.  From a trusted one, each header is walked from the
 * right past trusted hops to the first untrusted one; a hop naming no
 * address (unknown, obfuscated, malformed) stops the walk at the hop
 * before it; a malformed Forwarded or a header over HS_MAX_FORWARDED_LEN
 * names only the peer; both headers present must agree, or the peer is
 * the client.
 */
#define TP	"127.0.0.1, 10.0.0.0/8, 2001:db8:1::/48"
static const struct {
	const char	*trusted, *remote, *xff, *fwd, *xff2, *fwd2;
	const char	*want;
	int		 conflict;
} addrs[] = {
	/* spoofed: an untrusted peer's headers are ignored */
	{ NULL, "192.0.2.7", "198.51.100.1", "for=198.51.100.2", NULL, NULL,
	    "192.0.2.7", 0 },
	{ TP, "192.0.2.7", "198.51.100.1", NULL, NULL, NULL, "192.0.2.7", 0 },
	{ TP, "192.0.2.7", NULL, "for=198.51.100.1", NULL, NULL,
	    "192.0.2.7", 0 },
	{ TP, "11.0.0.1", "198.51.100.1", NULL, NULL, NULL, "11.0.0.1", 0 },
	{ TP, "127.0.0.10", "198.51.100.1", NULL, NULL, NULL,
	    "127.0.0.10", 0 },
	{ "", "127.0.0.1", "198.51.100.1", NULL, NULL, NULL, "127.0.0.1", 0 },
	{ TP, NULL, "198.51.100.1", NULL, NULL, NULL, "", 0 },
	{ TP, "not-an-address", "198.51.100.1", NULL, NULL, NULL,
	    "not-an-address", 0 },
	/* X-Forwarded-For from a trusted peer */
	{ TP, "127.0.0.1", "198.51.100.1", NULL, NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", "203.0.113.9, 198.51.100.1", NULL, NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", "203.0.113.9,198.51.100.1  ", NULL, NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", "203.0.113.9, 2001:DB8::1", NULL, NULL, NULL,
	    "2001:db8::1", 0 },
	/* chained: trusted hops are walked past */
	{ TP, "127.0.0.1", "203.0.113.9, 198.51.100.1, 10.1.2.3", NULL, NULL,
	    NULL, "198.51.100.1", 0 },
	{ TP, "10.9.9.9", "203.0.113.9, 198.51.100.1, 10.1.2.3, 10.0.0.1",
	    NULL, NULL, NULL, "198.51.100.1", 0 },
	{ TP, "127.0.0.1", "10.0.0.2, 10.0.0.1", NULL, NULL, NULL,
	    "10.0.0.2", 0 },					/* all trusted */
	{ TP, "127.0.0.1", "198.51.100.1, 2001:db8:1::5", NULL, NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "::ffff:127.0.0.1", "198.51.100.1", NULL, NULL, NULL,
	    "198.51.100.1", 0 },
	/* a hop naming no address stops the walk before it */
	{ TP, "127.0.0.1", "198.51.100.1, evil", NULL, NULL, NULL,
	    "127.0.0.1", 0 },
	{ TP, "127.0.0.1", "198.51.100.1, unknown, 10.0.0.1", NULL, NULL, NULL,
	    "10.0.0.1", 0 },
	{ TP, "127.0.0.1", "198.51.100.1:8080", NULL, NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", "[2001:db8::7]:443", NULL, NULL, NULL,
	    "2001:db8::7", 0 },
	{ TP, "127.0.0.1", "198.51.100.1:99999", NULL, NULL, NULL,
	    "127.0.0.1", 0 },
	{ TP, "127.0.0.1", "198.51.100.256", NULL, NULL, NULL, "127.0.0.1", 0 },
	{ TP, "127.0.0.1", "fe80::1%eth0", NULL, NULL, NULL, "127.0.0.1", 0 },
	{ TP, "127.0.0.1", "198.51.100.1,", NULL, NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", ", ,198.51.100.1", NULL, NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", "", NULL, NULL, NULL, "127.0.0.1", 0 },
	{ TP, "127.0.0.1", " ", NULL, NULL, NULL, "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, NULL, NULL, NULL, "127.0.0.1", 0 },
	/* several header lines are one list, in order */
	{ TP, "127.0.0.1", "198.51.100.1", NULL, "10.0.0.3", NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", "10.0.0.3", NULL, "198.51.100.1", NULL,
	    "198.51.100.1", 0 },
	/* Forwarded (RFC 7239) */
	{ TP, "127.0.0.1", NULL, "for=198.51.100.1", NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", NULL, "For=198.51.100.1;proto=https;by=10.0.0.1",
	    NULL, NULL, "198.51.100.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=\"[2001:db8::1]:4711\"", NULL, NULL,
	    "2001:db8::1", 0 },
	{ TP, "127.0.0.1", NULL, "for=\"[2001:db8::1]\"", NULL, NULL,
	    "2001:db8::1", 0 },
	{ TP, "127.0.0.1", NULL, "for=\"198.51.100.1:4711\"", NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=\"198.51.100.1:_p\"", NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=203.0.113.9, for=198.51.100.1;proto=http",
	    NULL, NULL, "198.51.100.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=198.51.100.1, for=\"[2001:db8:1::9]\", "
	    "for=10.0.0.1", NULL, NULL, "198.51.100.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=203.0.113.9", NULL, "for=198.51.100.1",
	    "198.51.100.1", 0 },
	/* obfuscated and unknown identifiers name no address */
	{ TP, "127.0.0.1", NULL, "for=198.51.100.1, for=unknown", NULL, NULL,
	    "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=198.51.100.1, for=_hidden, for=10.0.0.4",
	    NULL, NULL, "10.0.0.4", 0 },
	{ TP, "127.0.0.1", NULL, "for=\"_gazonk\"", NULL, NULL,
	    "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, "proto=https", NULL, NULL, "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=198.51.100.1;for=203.0.113.9", NULL, NULL,
	    "127.0.0.1", 0 },
	/* malformed Forwarded: the peer */
	{ TP, "127.0.0.1", NULL, "for=[2001:db8::1]", NULL, NULL,
	    "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=2001:db8::1", NULL, NULL,
	    "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=\"198.51.100.9, for=198.51.100.1", NULL,
	    NULL, "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=\"x\", for=198.51.100.1", NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", NULL, "for", NULL, NULL, "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=", NULL, NULL, "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, "=198.51.100.1", NULL, NULL, "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=198.51.100.1 x", NULL, NULL,
	    "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=\"198.51.100.1\\", NULL, NULL,
	    "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=\"a\tb\", for=198.51.100.1", NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", NULL, "for=\"a\x01b\", for=198.51.100.1", NULL,
	    NULL, "127.0.0.1", 0 },
	{ TP, "127.0.0.1", NULL, ",;, for=198.51.100.1 ;", NULL, NULL,
	    "198.51.100.1", 0 },
	/* both headers: they must agree */
	{ TP, "127.0.0.1", "198.51.100.1", "for=198.51.100.1", NULL, NULL,
	    "198.51.100.1", 0 },
	{ TP, "127.0.0.1", "203.0.113.66, 198.51.100.1",
	    "for=198.51.100.1;proto=https", NULL, NULL, "198.51.100.1", 0 },
	{ TP, "127.0.0.1", "198.51.100.1", "for=203.0.113.66", NULL, NULL,
	    "127.0.0.1", 1 },
	{ TP, "127.0.0.1", "198.51.100.1", "for=203.0.113.66, for=198.51.100.1",
	    NULL, NULL, "198.51.100.1", 0 },
	{ TP, "127.0.0.1", "198.51.100.1", "for=\"", NULL, NULL,
	    "127.0.0.1", 1 },
	{ TP, "127.0.0.1", "2001:db8::1", "for=\"[2001:DB8:0::1]:80\"", NULL,
	    NULL, "2001:db8::1", 0 },
};

/* query_get: rc 1 found (value), 0 absent, -1 too long or a NUL. */
static const struct {
	const char	*query, *key;
	size_t		 outsize;
	int		 rc;
	const char	*want;
} queries[] = {
	{ "limit=5", "limit", 32, 1, "5" },
	{ "after=x&limit=5", "limit", 32, 1, "5" },
	{ "&&limit=5&", "limit", 32, 1, "5" },
	{ "limit=1&limit=2", "limit", 32, 1, "1" },
	{ "limit=", "limit", 32, 1, "" },
	{ "limit", "limit", 32, 0, "" },
	{ "limitx=5", "limit", 32, 0, "" },
	{ "xlimit=5", "limit", 32, 0, "" },
	{ "LIMIT=5", "limit", 32, 0, "" },
	{ "", "limit", 32, 0, "" },
	{ "a=%41%62", "a", 32, 1, "Ab" },
	{ "a=%2f%2F", "a", 32, 1, "//" },
	{ "a=b+c", "a", 32, 1, "b c" },
	{ "a=%2B", "a", 32, 1, "+" },
	{ "a=%zz", "a", 32, 1, "%zz" },
	{ "a=%4", "a", 32, 1, "%4" },
	{ "a=%4&b=1", "a", 32, 1, "%4" },
	{ "a=%", "a", 32, 1, "%" },
	{ "a=x%00y", "a", 32, -1, "" },
	{ "a=abc", "a", 4, 1, "abc" },
	{ "a=abcd", "a", 4, -1, "" },
	{ "a=%41%41%41%41", "a", 4, -1, "" },
	{ "a=%41%41%41", "a", 4, 1, "AAA" },
};

/* page_args: -1 is a 400 on the named key. */
static const struct {
	const char	*query;
	int		 rc;
	long long	 limit;
	const char	*after, *fetch, *error_key;
} pages[] = {
	{ "", 0, 100, "", "101", NULL },
	{ "limit=1", 0, 1, "", "2", NULL },
	{ "limit=1000", 0, 1000, "", "1001", NULL },
	{ "after=" UUID_LC, 0, 100, UUID_LC, "101", NULL },
	{ "after=" UUID_UC "&limit=7", 0, 7, UUID_LC, "8", NULL },
	{ "limit=0", -1, 0, "", "", "\"limit\"" },
	{ "limit=1001", -1, 0, "", "", "\"limit\"" },
	{ "limit=-1", -1, 0, "", "", "\"limit\"" },
	{ "limit=5x", -1, 0, "", "", "\"limit\"" },
	{ "limit=99999999999999999999999", -1, 0, "", "", "\"limit\"" },
	{ "after=zzz", -1, 0, "", "", "\"after\"" },
	{ "after=" UUID_LC "0", -1, 0, "", "", "\"after\"" },
	{ "after=%00", -1, 0, "", "", "\"after\"" },
};

/* s for a test's name: "-" for NULL, control characters as '?'. */
static const char *
vis(const char *s)
{
	static char	 buf[128];
	size_t		 i;

	if (s == NULL)
		return "-";
	for (i = 0; s[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* The client of one X-Forwarded-For and one Forwarded line from 127.0.0.1. */
static void
client_of(const char *xff, const char *fwd, char *out, size_t size)
{
	struct req	 r;
	struct io	 io;
	struct params	 p;

	request(&r, &io, &p, "REMOTE_ADDR", "127.0.0.1",
	    "HTTP_X_FORWARDED_FOR", xff, "HTTP_FORWARDED", fwd,
	    (const char *)NULL);
	hs_strlcpy(out, r.addr, size);
	req_free(&r);
}

/*
 * HS_MAX_FORWARDED_LEN and HS_MAX_FORWARDED_HOPS, at and over the limit;
 * a header of many elements is read in one pass.
 */
static void
addr_limits(void)
{
	char	*h = hs_xmalloc(HS_MAX_FORWARDED_LEN * 64), got[64];
	size_t	 o, i;
	const char *tail = ", 198.51.100.1";

	free(cfg.trusted_proxies);
	cfg.trusted_proxies = hs_strdup("127.0.0.1, 10.0.0.0/8");
	if (hs_config_check(&cfg, got, sizeof(got)) != 0)
		abort();

	/* HS_MAX_FORWARDED_LEN bytes whose last hop is the client */
	o = HS_MAX_FORWARDED_LEN - strlen(tail);
	memset(h, ' ', o);
	memcpy(h + o, tail, strlen(tail) + 1);
	client_of(h, NULL, got, sizeof(got));
	is_str(got, "198.51.100.1", "X-Forwarded-For of HS_MAX_FORWARDED_LEN "
	    "bytes: walked");
	h[0] = ',';
	memmove(h + 1, h, strlen(h) + 1);
	client_of(h, NULL, got, sizeof(got));
	is_str(got, "127.0.0.1", "X-Forwarded-For of HS_MAX_FORWARDED_LEN + 1 "
	    "bytes: only the peer");
	memmove(h, "for", 3);
	h[3] = '=';
	memcpy(h + 4, "192.0.2.1", 9);
	client_of(NULL, "for=\"[2001:db8::1]:1\"", got, sizeof(got));
	is_str(got, "2001:db8::1", "Forwarded: a short one is walked");
	/* The client pads its header so that the proxy's hop is cut off. */
	memset(h, ' ', HS_MAX_FORWARDED_LEN * 2);
	memcpy(h + HS_MAX_FORWARDED_LEN * 2, "for=198.51.100.1",
	    sizeof("for=198.51.100.1"));
	client_of(NULL, h, got, sizeof(got));
	is_str(got, "127.0.0.1", "Forwarded of 2 * HS_MAX_FORWARDED_LEN "
	    "bytes: only the peer");
	/* Two lines that fit apart but not joined. */
	{
		struct req	 r;
		struct io	 io;
		struct params	 p;
		char		*a = hs_xmalloc(HS_MAX_FORWARDED_LEN);

		memset(a, ',', HS_MAX_FORWARDED_LEN - 1);
		a[HS_MAX_FORWARDED_LEN - 1] = '\0';
		request(&r, &io, &p, "REMOTE_ADDR", "127.0.0.1",
		    "HTTP_X_FORWARDED_FOR", "198.51.100.9, 192.0.2.77",
		    "HTTP_X_FORWARDED_FOR", a, "HTTP_X_FORWARDED_FOR",
		    "192.0.2.1", (const char *)NULL);
		is_str(r.addr, "127.0.0.1", "X-Forwarded-For lines over "
		    "HS_MAX_FORWARDED_LEN joined: only the peer");
		req_free(&r);
		free(a);
	}

	/* HS_MAX_FORWARDED_HOPS: the client just within, then beyond. */
	for (i = HS_MAX_FORWARDED_HOPS - 1; i <= HS_MAX_FORWARDED_HOPS; i++) {
		size_t	 k;

		o = (size_t)snprintf(h, 64, "198.51.100.1");
		for (k = i; k >= 1; k--)
			o += (size_t)snprintf(h + o, 64, ", 10.0.0.%zu", k);
		client_of(h, NULL, got, sizeof(got));
		if (i < HS_MAX_FORWARDED_HOPS)
			is_str(got, "198.51.100.1", "%zu trusted hops then the "
			    "client: the client", i);
		else {
			char	 want[32];

			snprintf(want, sizeof(want), "10.0.0.%d",
			    HS_MAX_FORWARDED_HOPS);
			is_str(got, want, "%zu trusted hops: the walk stops at "
			    "hop %d", i, HS_MAX_FORWARDED_HOPS);
		}
	}
	/* Many elements: one pass, the last ones walked. */
	for (o = 0, i = 0; i < 140; i++)
		o += (size_t)snprintf(h + o, 32, "%sfor=192.0.2.%zu;proto=http",
		    i ? "," : "", i % 250);
	client_of(NULL, h, got, sizeof(got));
	is_str(got, "192.0.2.139", "Forwarded of 140 elements: the last");
	/* A hop longer than any address names none. */
	snprintf(h, HS_MAX_FORWARDED_LEN, "for=\"[2001:db8::1]:%0200d\"", 1);
	client_of(NULL, h, got, sizeof(got));
	is_str(got, "127.0.0.1", "Forwarded: an over-long node names no one");
	free(h);
}

int
main(void)
{
	struct req	 r;
	struct io	 io;
	struct params	 p;
	struct page	 pg;
	char		 out[64], *longq, *longp;
	size_t		 i;
	int		 rc;

	if (sodium_init() < 0)
		return 1;
	hs_log_init("test-api-request", HS_LOG_ERROR);
	hs_config_defaults(&cfg);

	for (i = 0; i < NELEM(paths); i++) {
		free(cfg.url_prefix);
		cfg.url_prefix = paths[i].url_prefix ?
		    hs_strdup(paths[i].url_prefix) : NULL;
		request(&r, &io, &p, "SCRIPT_NAME", paths[i].script_name,
		    "PATH_INFO", paths[i].path_info,
		    "DOCUMENT_URI", paths[i].document_uri, "REQUEST_URI",
		    paths[i].request_uri, (const char *)NULL);
		is_str(r.path, paths[i].path, "path %zu: url_prefix %s, "
		    "SCRIPT_NAME %s, PATH_INFO %s, DOCUMENT_URI %s, "
		    "REQUEST_URI %s", i,
		    paths[i].url_prefix ? paths[i].url_prefix : "-",
		    vis(paths[i].script_name),
		    paths[i].path_info ? paths[i].path_info : "-",
		    paths[i].document_uri ? paths[i].document_uri : "-",
		    paths[i].request_uri ? paths[i].request_uri : "-");
		is_str(r.route, paths[i].route, "path %zu: routes on %s", i,
		    paths[i].route);
		is_str(r.prefix, paths[i].prefix, "path %zu: links under the "
		    "prefix \"%s\"", i, r.prefix);
		req_free(&r);
	}
	free(cfg.url_prefix);
	cfg.url_prefix = NULL;
	/* A path that fills the buffer does not fit: "". */
	longp = hs_xmalloc(HS_MAX_PATH_LEN + 2);
	memset(longp, 'a', HS_MAX_PATH_LEN + 1);
	longp[0] = '/';
	longp[HS_MAX_PATH_LEN] = '\0';
	request(&r, &io, &p, "DOCUMENT_URI", longp, (const char *)NULL);
	is_str(r.path, "", "a DOCUMENT_URI of HS_MAX_PATH_LEN bytes is \"\"");
	req_free(&r);
	request(&r, &io, &p, "REQUEST_URI", longp, (const char *)NULL);
	is_str(r.path, "", "a REQUEST_URI of HS_MAX_PATH_LEN bytes is \"\"");
	req_free(&r);
	longp[HS_MAX_PATH_LEN - 1] = '\0';
	request(&r, &io, &p, "REQUEST_URI", longp, (const char *)NULL);
	is_int((long long)strlen(r.path), HS_MAX_PATH_LEN - 1,
	    "a REQUEST_URI of HS_MAX_PATH_LEN - 1 bytes fits");
	req_free(&r);
	free(longp);

	for (i = 0; i < NELEM(addrs); i++) {
		char	 err[256];

		free(cfg.trusted_proxies);
		cfg.trusted_proxies = addrs[i].trusted ?
		    hs_strdup(addrs[i].trusted) : NULL;
		if (hs_config_check(&cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "trusted_proxies: %s\n", err);
			abort();
		}
		request(&r, &io, &p, "REMOTE_ADDR", addrs[i].remote,
		    "HTTP_X_FORWARDED_FOR", addrs[i].xff,
		    "HTTP_FORWARDED", addrs[i].fwd,
		    "HTTP_X_FORWARDED_FOR", addrs[i].xff2,
		    "HTTP_FORWARDED", addrs[i].fwd2, (const char *)NULL);
		is_str(r.addr, addrs[i].want, "address %zu: trusted \"%s\", "
		    "REMOTE_ADDR %s, X-Forwarded-For \"%s\"%s%s, "
		    "Forwarded \"%s\"%s%s", i,
		    addrs[i].trusted ? addrs[i].trusted : "(none)",
		    addrs[i].remote ? addrs[i].remote : "-",
		    addrs[i].xff ? addrs[i].xff : "(none)",
		    addrs[i].xff2 ? " + " : "", addrs[i].xff2 ? addrs[i].xff2 : "",
		    addrs[i].fwd ? addrs[i].fwd : "(none)",
		    addrs[i].fwd2 ? " + " : "", addrs[i].fwd2 ? addrs[i].fwd2 : "");
		req_free(&r);
		if (addrs[i].remote == NULL || addrs[i].xff2 || addrs[i].fwd2)
			continue;
		proxy_client(cfg.proxies, addrs[i].remote, addrs[i].xff,
		    addrs[i].fwd, out, sizeof(out), &rc);
		is_int(rc, addrs[i].conflict, "address %zu: %s", i,
		    addrs[i].conflict ? "the headers conflict" :
		    "no conflict");
	}
	addr_limits();
	free(cfg.trusted_proxies);
	cfg.trusted_proxies = NULL;
	if (hs_config_check(&cfg, out, sizeof(out)) != 0)
		abort();

	for (i = 0; i < NELEM(queries); i++) {
		rc = query_get(queries[i].query, queries[i].key, out,
		    queries[i].outsize);
		is_int(rc, queries[i].rc, "query \"%s\", key %s, %zu bytes: "
		    "returns %d", queries[i].query, queries[i].key,
		    queries[i].outsize, queries[i].rc);
		is_str(out, queries[i].want, "query \"%s\", key %s: its value",
		    queries[i].query, queries[i].key);
	}

	for (i = 0; i < NELEM(pages); i++) {
		request(&r, &io, &p, "QUERY_STRING", pages[i].query,
		    (const char *)NULL);
		rc = page_args(&r, &pg, "must be an id");
		is_int(rc, pages[i].rc, "page \"%s\": %s", pages[i].query,
		    pages[i].rc == 0 ? "accepted" : "refused");
		if (pages[i].rc == 0) {
			is_int(pg.limit, pages[i].limit, "page \"%s\": limit",
			    pages[i].query);
			is_str(pg.after, pages[i].after, "page \"%s\": after",
			    pages[i].query);
			is_str(pg.fetch, pages[i].fetch, "page \"%s\": fetch",
			    pages[i].query);
			is_int((long long)p.answer_len, 0, "page \"%s\": "
			    "nothing answered", pages[i].query);
		} else {
			ok(strncmp(p.answer, "Status: 400 ", 12) == 0,
			    "page \"%s\": a 400", pages[i].query);
			ok(strstr(p.answer, pages[i].error_key) != NULL,
			    "page \"%s\": on %s", pages[i].query,
			    pages[i].error_key);
		}
		req_free(&r);
	}
	/* A query string longer than HS_MAX_QUERY_LEN is refused whole. */
	longq = hs_xmalloc(HS_MAX_QUERY_LEN + 16);
	snprintf(longq, HS_MAX_QUERY_LEN + 16, "limit=5&x=");
	memset(longq + 10, 'x', HS_MAX_QUERY_LEN);
	longq[HS_MAX_QUERY_LEN + 1] = '\0';
	request(&r, &io, &p, "QUERY_STRING", longq, (const char *)NULL);
	is_int(page_args(&r, &pg, "must be an id"), -1,
	    "a query string of HS_MAX_QUERY_LEN + 1 bytes: refused");
	ok(strstr(p.answer, "\"$\"") != NULL, "... on \"$\"");
	req_free(&r);
	longq[HS_MAX_QUERY_LEN] = '\0';
	request(&r, &io, &p, "QUERY_STRING", longq, (const char *)NULL);
	is_int(page_args(&r, &pg, "must be an id"), 0,
	    "a query string of HS_MAX_QUERY_LEN bytes: accepted");
	is_int(pg.limit, 5, "... with its limit");
	req_free(&r);
	free(longq);

	hs_config_free(&cfg);
	return done_testing();
}
