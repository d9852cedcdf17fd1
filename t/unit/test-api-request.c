/*
 * Unit tests of src/api/request.c: the path a request routes on, the
 * client address behind trusted proxies, query parameters and paging
 * arguments, through req_init() and a struct io of canned parameters.
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
	const char	*names[8];
	const char	*values[8];
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
	io->read = fake_read;
	io->write = fake_write;
	io->ctx = p;
	w.cfg = &cfg;
	req_init(r, io, &w);
}

/*
 * The path to route on: DOCUMENT_URI (nginx's decoded $uri) first, then
 * PATH_INFO, then REQUEST_URI decoded up to its query; anything that
 * decodes to a NUL or does not fit is "" (a 404).
 */
static const struct {
	const char	*document_uri, *path_info, *request_uri;
	const char	*want;
} paths[] = {
	{ "/api/v1/HostScanJob", "/x", "/y", "/api/v1/HostScanJob" },
	{ "/api/v1/a%20b", NULL, NULL, "/api/v1/a%20b" },	/* as given */
	{ "api/v1/HostScanJob", "/from/path/info", NULL, "/from/path/info" },
	{ "", NULL, "/from/request/uri", "/from/request/uri" },
	{ NULL, "/from/path/info", "/y", "/from/path/info" },
	{ NULL, "relative", "/from/request/uri", "/from/request/uri" },
	{ NULL, NULL, "/api/v1/HostScanJob?limit=5", "/api/v1/HostScanJob" },
	{ NULL, NULL, "/api/v1/Host%53canJob", "/api/v1/HostScanJob" },
	{ NULL, NULL, "/api/v1/host%2fscan", "/api/v1/host/scan" },
	{ NULL, NULL, "/a%3Fb?c%3Fd", "/a?b" },
	{ NULL, NULL, "/a%00b", "" },
	{ NULL, NULL, "/a%zzb", "" },
	{ NULL, NULL, "/a%4", "" },
	{ NULL, NULL, "/a%", "" },
	{ NULL, NULL, NULL, "" },
};

/*
 * The client address: REMOTE_ADDR, or the last X-Forwarded-For hop when
 * REMOTE_ADDR is one of trusted_proxies and that hop is an address.
 */
static const struct {
	const char	*trusted, *remote, *xff;
	const char	*want;
} addrs[] = {
	{ NULL, "192.0.2.7", "198.51.100.1", "192.0.2.7" },
	{ "127.0.0.1", "192.0.2.7", "198.51.100.1", "192.0.2.7" },
	{ "127.0.0.1", "127.0.0.1", "198.51.100.1", "198.51.100.1" },
	{ "127.0.0.1", "127.0.0.1", "203.0.113.9, 198.51.100.1",
	    "198.51.100.1" },
	{ "127.0.0.1", "127.0.0.1", "203.0.113.9,198.51.100.1  ",
	    "198.51.100.1" },
	{ "127.0.0.1", "127.0.0.1", "203.0.113.9, 2001:db8::1", "2001:db8::1" },
	{ "127.0.0.1", "127.0.0.1", "198.51.100.1, evil", "127.0.0.1" },
	{ "127.0.0.1", "127.0.0.1", "198.51.100.1:8080", "127.0.0.1" },
	{ "127.0.0.1", "127.0.0.1", "198.51.100.1,", "127.0.0.1" },
	{ "127.0.0.1", "127.0.0.1", "", "127.0.0.1" },
	{ "127.0.0.1", "127.0.0.1", NULL, "127.0.0.1" },
	{ " 10.0.0.1 , ::1 ", "::1", "198.51.100.1", "198.51.100.1" },
	{ "10.0.0.1,::1", "10.0.0.1", "198.51.100.1", "198.51.100.1" },
	{ "127.0.0.1", "127.0.0.10", "198.51.100.1", "127.0.0.10" },
	{ "127.0.0.10", "127.0.0.1", "198.51.100.1", "127.0.0.1" },
	{ "", "127.0.0.1", "198.51.100.1", "127.0.0.1" },
	{ "127.0.0.1", NULL, "198.51.100.1", "" },
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
		request(&r, &io, &p, "DOCUMENT_URI", paths[i].document_uri,
		    "PATH_INFO", paths[i].path_info, "REQUEST_URI",
		    paths[i].request_uri, (const char *)NULL);
		is_str(r.path, paths[i].want, "path %zu: DOCUMENT_URI %s, "
		    "PATH_INFO %s, REQUEST_URI %s", i,
		    paths[i].document_uri ? paths[i].document_uri : "-",
		    paths[i].path_info ? paths[i].path_info : "-",
		    paths[i].request_uri ? paths[i].request_uri : "-");
		req_free(&r);
	}
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
		free(cfg.trusted_proxies);
		cfg.trusted_proxies = addrs[i].trusted ?
		    hs_strdup(addrs[i].trusted) : NULL;
		request(&r, &io, &p, "REMOTE_ADDR", addrs[i].remote,
		    "HTTP_X_FORWARDED_FOR", addrs[i].xff, (const char *)NULL);
		is_str(r.addr, addrs[i].want, "address %zu: trusted \"%s\", "
		    "REMOTE_ADDR %s, X-Forwarded-For \"%s\"", i,
		    addrs[i].trusted ? addrs[i].trusted : "(none)",
		    addrs[i].remote ? addrs[i].remote : "-",
		    addrs[i].xff ? addrs[i].xff : "(none)");
		req_free(&r);
	}
	free(cfg.trusted_proxies);
	cfg.trusted_proxies = NULL;

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
