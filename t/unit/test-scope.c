/* SPDX-License-Identifier: ISC */
/* Unit tests of src/common/scope.c: parsing, canonical form and matching. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tap.h"

/* Scope text -> canonical text, or NULL when it must be refused. */
static const struct {
	const char	*in;
	const char	*canon;
} parses[] = {
	{ "any", "any" },
	{ "ANY", "any" },
	{ " any ", "any" },
	{ "10.0.0.0/8", "10.0.0.0/8" },
	{ "10.0.0.5", "10.0.0.5" },
	{ "10.0.0.5/32", "10.0.0.5" },
	{ "0.0.0.0/0", "0.0.0.0/0" },
	{ "2001:db8::/32", "2001:db8::/32" },
	{ "2001:DB8:0:0::1", "2001:db8::1" },
	{ "::/0", "::/0" },
	{ "::ffff:10.0.0.0/104", "10.0.0.0/8" },
	{ "::ffff:10.0.0.5", "10.0.0.5" },
	{ "*.Corp.Example", "*.corp.example" },
	{ "db01.corp.example.", "db01.corp.example" },
	{ "10.0.0.0/8, *.corp.example ,db01.corp.example",
	    "10.0.0.0/8,*.corp.example,db01.corp.example" },
	{ "10.0.0.0/8,10.0.0.0/8,A.example", "10.0.0.0/8,10.0.0.0/8,a.example" },
	{ "1host.example", "1host.example" },
	{ "localhost", "localhost" },
	/* refused */
	{ "", NULL },
	{ " ", NULL },
	{ "any,10.0.0.0/8", NULL },
	{ "10.0.0.0/8,any", NULL },
	{ "any,any", NULL },
	{ "10.0.0.0/8,", NULL },
	{ ",10.0.0.0/8", NULL },
	{ "10.0.0.0/8,,a.example", NULL },
	{ "*", NULL },
	{ "*.", NULL },
	{ "*.*.example", NULL },
	{ "db*.example", NULL },
	{ "a.*.example", NULL },
	{ "10.1.2.3/8", NULL },
	{ "10.0.0.0/33", NULL },
	{ "10.0.0.0/-1", NULL },
	{ "10.0.0.0/+8", NULL },
	{ "10.0.0.0/", NULL },
	{ "10.0.0.0/8/8", NULL },
	{ "/8", NULL },
	{ "10.0.0", NULL },
	{ "10.0.0.256", NULL },
	{ "host.123", NULL },
	{ "2001:db8::1/129", NULL },
	{ "2001:db8::1/64", NULL },
	{ "::ffff:10.0.0.0/95", NULL },
	{ "-bad.example", NULL },
	{ "bad-.example", NULL },
	{ "a..example", NULL },
	{ "under_score.example", NULL },
	{ "host name.example", NULL },
	{ "h\xc3\xa9.example", NULL },
};

/* Which scope lets which request fields through (the API's rule). */
static const struct {
	const char	*scope;
	const char	*dns, *ip;
	int		 want;
} requests[] = {
	{ "any", "anything.example", NULL, 1 },
	{ "any", NULL, "192.0.2.1", 1 },
	{ "10.0.0.0/8", NULL, "10.255.0.1", 1 },
	{ "10.0.0.0/8", NULL, "11.0.0.1", 0 },
	{ "10.0.0.0/8", NULL, "::ffff:10.0.0.1", 1 },
	{ "10.0.0.0/8", NULL, "::ffff:11.0.0.1", 0 },
	{ "10.0.0.0/8", NULL, "::a00:1", 0 },
	{ "10.0.0.0/8", "db.corp.example", "192.0.2.1", 0 },
	{ "10.0.0.0/8", "db.corp.example", "10.0.0.1", 1 },
	{ "10.1.0.0/17", NULL, "10.1.127.255", 1 },
	{ "10.1.0.0/17", NULL, "10.1.128.0", 0 },
	{ "192.0.2.7", NULL, "192.0.2.7", 1 },
	{ "192.0.2.7", NULL, "192.0.2.8", 0 },
	{ "0.0.0.0/0", NULL, "203.0.113.9", 1 },
	{ "0.0.0.0/0", NULL, "2001:db8::1", 0 },
	{ "2001:db8::/32", NULL, "2001:db8:ffff::1", 1 },
	{ "2001:db8::/32", NULL, "2001:db9::1", 0 },
	{ "2001:db8::/32", NULL, "10.0.0.1", 0 },
	{ "*.corp.example", "db01.corp.example", NULL, 1 },
	{ "*.corp.example", "a.b.corp.example", NULL, 1 },
	{ "*.corp.example", "DB01.CORP.EXAMPLE.", NULL, 1 },
	{ "*.corp.example", "corp.example", NULL, 0 },
	{ "*.corp.example", "evilcorp.example", NULL, 0 },
	{ "*.corp.example", "db01.corp.example.evil.test", NULL, 0 },
	{ "*.corp.example", NULL, "10.0.0.1", 0 },
	{ "*.corp.example", "x.invalid", "10.0.0.1", 0 },
	{ "db01.corp.example", "db01.corp.example", NULL, 1 },
	{ "db01.corp.example", "db02.corp.example", NULL, 0 },
	{ "db01.corp.example", "x.db01.corp.example", NULL, 0 },
	{ "db01.corp.example,10.0.0.0/8", "other.example", "10.9.9.9", 1 },
	{ "db01.corp.example,10.0.0.0/8", "db01.corp.example", "192.0.2.1", 1 },
	{ "db01.corp.example,10.0.0.0/8", NULL, NULL, 0 },
};

static void
test_parse(void)
{
	struct hs_scope	 s;
	char		 err[256], *canon;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(parses) / sizeof(parses[0]); i++) {
		err[0] = '\0';
		rc = hs_scope_parse(parses[i].in, &s, err, sizeof(err));
		if (parses[i].canon == NULL) {
			ok(rc == -1 && err[0] != '\0', "refused \"%s\" (%s)",
			    parses[i].in, err);
			ok(s.n == 0 && s.e == NULL && !s.any,
			    "... and nothing is left allocated");
			continue;
		}
		if (!ok(rc == 0, "parses \"%s\"", parses[i].in)) {
			printf("#   error: %s\n", err);
			continue;
		}
		canon = hs_scope_format(&s);
		is_str(canon, parses[i].canon, "... canonical form");
		free(canon);
		hs_scope_free(&s);
	}
}

static void
test_limits(void)
{
	struct hs_scope	 s;
	char		 err[256], *text, *canon;
	size_t		 o = 0, i;

	/* HS_MAX_SCOPE_ENTRIES distinct entries fit; one more does not. */
	text = malloc(HS_MAX_SCOPE_ENTRIES * 20 + 64);
	for (i = 0; i < HS_MAX_SCOPE_ENTRIES; i++)
		o += (size_t)sprintf(text + o, "%s10.%zu.%zu.0/24", i ? "," : "",
		    i / 256, i % 256);
	ok(hs_scope_parse(text, &s, err, sizeof(err)) == 0,
	    "%d entries are fine", HS_MAX_SCOPE_ENTRIES);
	ok(s.n == HS_MAX_SCOPE_ENTRIES, "... all kept");
	canon = hs_scope_format(&s);
	is_str(canon, text, "... canonical form is the input");
	free(canon);
	hs_scope_free(&s);
	sprintf(text + o, ",192.0.2.0/24");
	ok(hs_scope_parse(text, &s, err, sizeof(err)) == -1,
	    "one more entry is refused");
	ok(strstr(err, "more than") != NULL, "... saying so (%s)", err);
	free(text);

	text = malloc(HS_MAX_SCOPE_BYTES + 2);
	memset(text, 'a', HS_MAX_SCOPE_BYTES + 1);
	text[HS_MAX_SCOPE_BYTES + 1] = '\0';
	ok(hs_scope_parse(text, &s, err, sizeof(err)) == -1,
	    "a scope over HS_MAX_SCOPE_BYTES is refused");
	memset(text, 'a', 64);
	text[64] = '\0';
	ok(hs_scope_parse(text, &s, err, sizeof(err)) == -1,
	    "a 64-character label is refused");
	text[63] = '\0';
	ok(hs_scope_parse(text, &s, err, sizeof(err)) == 0,
	    "a 63-character label is fine");
	hs_scope_free(&s);
	free(text);
	ok(hs_scope_parse(NULL, &s, err, sizeof(err)) == -1, "NULL is refused");
}

static void
test_requests(void)
{
	struct hs_scope	 s;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		if (!ok(hs_scope_parse(requests[i].scope, &s, err,
		    sizeof(err)) == 0, "scope \"%s\"", requests[i].scope))
			continue;
		is_int(hs_scope_allows_request(&s, requests[i].dns,
		    requests[i].ip), requests[i].want, "... %s dns=%s ip=%s",
		    requests[i].want ? "allows" : "refuses",
		    requests[i].dns ? requests[i].dns : "-",
		    requests[i].ip ? requests[i].ip : "-");
		hs_scope_free(&s);
	}
}

/* The scheduler's check, on the socket address it connects to. */
static void
test_sockaddr(void)
{
	struct hs_scope		 s;
	struct sockaddr_in	 in;
	struct sockaddr_in6	 in6;
	struct sockaddr		 other;
	char			 err[256];

	memset(&in, 0, sizeof(in));
	memset(&in6, 0, sizeof(in6));
	memset(&other, 0, sizeof(other));
	in.sin_family = AF_INET;
	in6.sin6_family = AF_INET6;
	other.sa_family = AF_UNIX;
	hs_scope_parse("127.0.0.0/30,2001:db8::/126,*.example", &s, err,
	    sizeof(err));
	inet_pton(AF_INET, "127.0.0.3", &in.sin_addr);
	ok(hs_scope_has_sockaddr(&s, (struct sockaddr *)&in),
	    "IPv4 socket address in a block");
	inet_pton(AF_INET, "127.0.0.4", &in.sin_addr);
	ok(!hs_scope_has_sockaddr(&s, (struct sockaddr *)&in),
	    "IPv4 socket address outside");
	inet_pton(AF_INET6, "::ffff:127.0.0.2", &in6.sin6_addr);
	ok(hs_scope_has_sockaddr(&s, (struct sockaddr *)&in6),
	    "IPv4-mapped IPv6 socket address counts as IPv4");
	inet_pton(AF_INET6, "2001:db8::3", &in6.sin6_addr);
	ok(hs_scope_has_sockaddr(&s, (struct sockaddr *)&in6),
	    "IPv6 socket address in a block");
	inet_pton(AF_INET6, "2001:db8::4", &in6.sin6_addr);
	ok(!hs_scope_has_sockaddr(&s, (struct sockaddr *)&in6),
	    "IPv6 socket address outside");
	ok(!hs_scope_has_sockaddr(&s, &other), "another family never matches");
	ok(!hs_scope_has_ip(&s, "not-an-ip"), "not an address: no match");
	ok(!hs_scope_has_name(&s, NULL), "no name: no match");
	ok(!hs_scope_has_name(&s, "example"), "the suffix itself: no match");
	hs_scope_free(&s);
	hs_scope_parse("any", &s, err, sizeof(err));
	ok(hs_scope_has_sockaddr(&s, &other), "any allows every address");
	hs_scope_free(&s);
}

int
main(void)
{
	test_parse();
	test_limits();
	test_requests();
	test_sockaddr();
	return done_testing();
}
