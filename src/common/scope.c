/* SPDX-License-Identifier: ISC */
/* Credential scope: where a credential may be used (CIDR blocks, DNS-name patterns, or any). */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"

/* "::ffff:0:0/96": IPv4 addresses written as IPv6. */
static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static void
set_err(char *err, size_t errlen, size_t idx, const char *entry,
    const char *why)
{
	if (err == NULL || errlen == 0)
		return;
	if (entry == NULL)
		snprintf(err, errlen, "%s", why);
	else
		snprintf(err, errlen, "entry %zu \"%.64s%s\": %s", idx + 1,
		    entry, strlen(entry) > 64 ? "..." : "", why);
}

/*
 * An address literal into 16 bytes and its family; an IPv4-mapped IPv6
 * address counts as the IPv4 address it carries, so that "::ffff:10.0.0.5"
 * cannot slip past a 10.0.0.0/8 rule (or around one).
 */
static int
addr_parse(const char *s, unsigned char out[16], int *family)
{
	unsigned char	 a6[16];

	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a6) != 1)
		return -1;
	if (memcmp(a6, v4mapped, sizeof(v4mapped)) == 0) {
		memcpy(out, a6 + 12, 4);
		*family = AF_INET;
	} else {
		memcpy(out, a6, 16);
		*family = AF_INET6;
	}
	return 0;
}

static int
prefix_match(const unsigned char *net, const unsigned char *addr, int prefix)
{
	int	 full = prefix / 8, rest = prefix % 8;

	if (memcmp(net, addr, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((net[full] ^ addr[full]) & (0xff << (8 - rest))) == 0;
}

/* Host bits under the mask must be zero: "10.1.2.3/8" is most likely a typo. */
static int
host_bits_clear(const unsigned char *a, int prefix, int bytes)
{
	int	 i;

	for (i = prefix; i < bytes * 8; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

static const char *
parse_net(const char *s, struct hs_scope_entry *e)
{
	char		 ip[INET6_ADDRSTRLEN + 1];
	const char	*slash = strchr(s, '/'), *errstr;
	long long	 v;
	size_t		 len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	int		 family, bits, mapped;

	if (len == 0 || len >= sizeof(ip))
		return "not an address";
	memcpy(ip, s, len);
	ip[len] = '\0';
	mapped = strchr(ip, ':') != NULL;
	if (addr_parse(ip, e->addr, &family) == -1)
		return "not an address";
	bits = family == AF_INET ? 32 : 128;
	e->kind = family == AF_INET ? HS_SCOPE_NET4 : HS_SCOPE_NET6;
	e->prefix = bits;
	if (slash == NULL)
		return NULL;
	if (hs_strtonum(slash + 1, 0, mapped ? 128 : bits, &v, &errstr) != 0 ||
	    !isdigit((unsigned char)slash[1]))
		return family == AF_INET && !mapped ?
		    "prefix length must be 0 to 32" :
		    "prefix length must be 0 to 128";
	if (mapped && family == AF_INET) {
		/* ::ffff:a.b.c.d/N is a.b.c.d/(N-96). */
		if (v < 96)
			return "an IPv4-mapped block needs a prefix of 96 or more";
		v -= 96;
	}
	e->prefix = (int)v;
	if (!host_bits_clear(e->addr, e->prefix, bits / 8))
		return "has address bits set beyond its prefix length";
	return NULL;
}

static int
is_ldh(int c)
{
	return isalnum(c) || c == '-';
}

/*
 * An RFC 1123 name (or "*." and one); written lower-case without a
 * trailing dot into out.  A name whose last label is all digits would be a
 * mistyped address, so it is refused.
 */
static const char *
parse_name(const char *s, struct hs_scope_entry *e)
{
	size_t		 len = strlen(s), i, k, label = 0, start = 0;
	int		 wild = 0, digits = 1;
	const char	*name = s;

	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		wild = 1;
		name = s + 2;
		len -= 2;
	}
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > HS_MAX_DNS_NAME_LEN)
		return "not an address, a CIDR block or a DNS name";
	for (i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			if (label == 0 || name[i - 1] == '-')
				return "not an address, a CIDR block or a DNS name";
			label = 0;
			if (i < len)
				start = i + 1;
			continue;
		}
		if (!is_ldh((unsigned char)name[i]) ||
		    (label == 0 && name[i] == '-') ||
		    ++label > HS_MAX_DNS_LABEL_LEN)
			return "not an address, a CIDR block or a DNS name";
	}
	for (i = start; i < len; i++)
		if (!isdigit((unsigned char)name[i]))
			digits = 0;
	if (digits)
		return "not an address, a CIDR block or a DNS name";
	e->kind = wild ? HS_SCOPE_SUFFIX : HS_SCOPE_NAME;
	/* A suffix keeps its leading dot: "*.corp.example" -> ".corp.example". */
	e->name = hs_xmalloc(len + 2);
	i = 0;
	if (wild)
		e->name[i++] = '.';
	for (k = 0; k < len; k++)
		e->name[i++] = (char)tolower((unsigned char)name[k]);
	e->name[i] = '\0';
	e->namelen = i;
	return NULL;
}

static const char *
parse_entry(const char *s, struct hs_scope_entry *e)
{
	memset(e, 0, sizeof(*e));
	if (strchr(s, '/') != NULL || strchr(s, ':') != NULL ||
	    (isdigit((unsigned char)s[0]) && strspn(s, "0123456789.") ==
	    strlen(s)))
		return parse_net(s, e);
	return parse_name(s, e);
}

int
hs_scope_parse(const char *text, struct hs_scope *out, char *err,
    size_t errlen)
{
	char		 item[HS_MAX_DNS_NAME_LEN + 8], msg[64];
	const char	*p = text, *q, *why;
	size_t		 len, idx = 0;
	struct hs_scope_entry e;
	int		 any = 0;

	memset(out, 0, sizeof(*out));
	if (text == NULL || strlen(text) > HS_MAX_SCOPE_BYTES) {
		snprintf(msg, sizeof(msg), "a scope is 1 to %d bytes",
		    HS_MAX_SCOPE_BYTES);
		set_err(err, errlen, 0, NULL, msg);
		return -1;
	}
	for (;; idx++) {
		q = strchr(p, ',');
		len = q != NULL ? (size_t)(q - p) : strlen(p);
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			set_err(err, errlen, idx, "", "empty entry (a scope is "
			    "a comma-separated list, or any)");
			goto fail;
		}
		if (len >= sizeof(item)) {
			memcpy(item, p, sizeof(item) - 1);
			item[sizeof(item) - 1] = '\0';
			set_err(err, errlen, idx, item, "too long");
			goto fail;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (strcasecmp(item, "any") == 0)
			any = 1;
		else if (strcmp(item, "*") == 0) {
			set_err(err, errlen, idx, item, "every host is any");
			goto fail;
		}
		else if ((why = parse_entry(item, &e)) != NULL) {
			free(e.name);
			set_err(err, errlen, idx, item, why);
			goto fail;
		} else if (out->n == HS_MAX_SCOPE_ENTRIES) {
			free(e.name);
			snprintf(msg, sizeof(msg), "more than %d entries",
			    HS_MAX_SCOPE_ENTRIES);
			set_err(err, errlen, 0, NULL, msg);
			goto fail;
		} else {
			if (out->n % 8 == 0 && (out->e = realloc(out->e,
			    (out->n + 8) * sizeof(*out->e))) == NULL)
				abort();
			out->e[out->n++] = e;
		}
		if (q == NULL)
			break;
		p = q + 1;
	}
	if (any && (out->n > 0 || idx > 0)) {
		set_err(err, errlen, 0, NULL, "any stands alone: it cannot be "
		    "combined with other entries");
		goto fail;
	}
	out->any = any;
	return 0;
fail:
	hs_scope_free(out);
	return -1;
}

void
hs_scope_free(struct hs_scope *s)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		free(s->e[i].name);
	free(s->e);
	memset(s, 0, sizeof(*s));
}

char *
hs_scope_format(const struct hs_scope *s)
{
	char	*out, ip[INET6_ADDRSTRLEN];
	size_t	 cap = 4, o = 0, i;

	if (s->any)
		return hs_strdup("any");
	for (i = 0; i < s->n; i++)
		cap += (s->e[i].name != NULL ? strlen(s->e[i].name) + 1 :
		    INET6_ADDRSTRLEN + 4) + 1;
	out = hs_xmalloc(cap);
	out[0] = '\0';
	for (i = 0; i < s->n; i++) {
		const struct hs_scope_entry *e = &s->e[i];
		int	 full = e->kind == HS_SCOPE_NET4 ? 32 : 128;

		if (i > 0)
			out[o++] = ',';
		switch (e->kind) {
		case HS_SCOPE_NAME:
			o += (size_t)snprintf(out + o, cap - o, "%s", e->name);
			break;
		case HS_SCOPE_SUFFIX:
			o += (size_t)snprintf(out + o, cap - o, "*%s", e->name);
			break;
		default:
			inet_ntop(e->kind == HS_SCOPE_NET4 ? AF_INET : AF_INET6,
			    e->addr, ip, sizeof(ip));
			if (e->prefix == full)
				o += (size_t)snprintf(out + o, cap - o, "%s", ip);
			else
				o += (size_t)snprintf(out + o, cap - o, "%s/%d",
				    ip, e->prefix);
			break;
		}
	}
	return out;
}

int
hs_scope_has_name(const struct hs_scope *s, const char *dns)
{
	char	 name[HS_MAX_DNS_NAME_LEN + 2];
	size_t	 len, i;

	if (s->any)
		return 1;
	if (dns == NULL || (len = strlen(dns)) == 0 || len > sizeof(name) - 1)
		return 0;
	if (dns[len - 1] == '.')
		len--;
	for (i = 0; i < len; i++)
		name[i] = (char)tolower((unsigned char)dns[i]);
	name[len] = '\0';
	for (i = 0; i < s->n; i++) {
		const struct hs_scope_entry *e = &s->e[i];

		if (e->kind == HS_SCOPE_NAME && e->namelen == len &&
		    memcmp(e->name, name, len) == 0)
			return 1;
		if (e->kind == HS_SCOPE_SUFFIX && len > e->namelen &&
		    memcmp(name + len - e->namelen, e->name, e->namelen) == 0)
			return 1;
	}
	return 0;
}

static int
has_addr(const struct hs_scope *s, const unsigned char a[16], int family)
{
	size_t	 i;
	int	 kind = family == AF_INET ? HS_SCOPE_NET4 : HS_SCOPE_NET6;

	if (s->any)
		return 1;
	for (i = 0; i < s->n; i++)
		if (s->e[i].kind == kind &&
		    prefix_match(s->e[i].addr, a, s->e[i].prefix))
			return 1;
	return 0;
}

int
hs_scope_has_ip(const struct hs_scope *s, const char *ip)
{
	unsigned char	 a[16];
	int		 family;

	if (s->any)
		return 1;
	if (ip == NULL || addr_parse(ip, a, &family) == -1)
		return 0;
	return has_addr(s, a, family);
}

int
hs_scope_has_sockaddr(const struct hs_scope *s, const struct sockaddr *sa)
{
	unsigned char	 a[16];

	if (s->any)
		return 1;
	memset(a, 0, sizeof(a));
	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
		return has_addr(s, a, AF_INET);
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	memcpy(a, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
	    16);
	if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		return has_addr(s, a, AF_INET);
	}
	return has_addr(s, a, AF_INET6);
}

int
hs_scope_allows_request(const struct hs_scope *s, const char *dns,
    const char *ip)
{
	return hs_scope_has_name(s, dns) || hs_scope_has_ip(s, ip);
}
