/* SPDX-License-Identifier: ISC */
/* The client behind trusted proxies: X-Forwarded-For and RFC 7239 Forwarded. */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "api.h"

/* The longest node a hop may spell: "[" IPv6 "]:" port. */
#define NODE_MAX	(INET6_ADDRSTRLEN + 16)

/*
 * The last HS_MAX_FORWARDED_HOPS hops of a header, as written (a node);
 * "" for one that cannot name an address (too long, no single for=).
 * Only the hops walked are made addresses.
 */
struct hops {
	char	 node[HS_MAX_FORWARDED_HOPS][NODE_MAX + 1];
	size_t	 n;		/* hops seen */
	int	 bare6;		/* X-Forwarded-For: IPv6 without brackets */
	int	 bad;		/* the header as a whole cannot be read */
};

static void
hop_add(struct hops *h, const char *node, size_t len)
{
	char	*slot = h->node[h->n++ % HS_MAX_FORWARDED_HOPS];

	if (len > NODE_MAX)
		len = 0;
	memcpy(slot, node, len);
	slot[len] = '\0';
}

/* A port after a node: digits, or an obfuscated "_" identifier. */
static int
port_ok(const char *p, size_t len)
{
	size_t	 i;

	long	 v = 0;

	if (len == 0 || len > 16)
		return 0;
	for (i = 0; i < len; i++) {
		if (p[0] == '_' ? !(isalnum((unsigned char)p[i]) ||
		    strchr("._-", p[i]) != NULL) : !isdigit((unsigned char)p[i]))
			return 0;
		if (p[0] != '_' && (v = v * 10 + (p[i] - '0')) > 65535)
			return 0;
	}
	return 1;
}

/*
 * A node (RFC 7239 section 6) into canonical address text in out, or ""
 * when it names no address: "unknown" and "_obfuscated" identifiers, and
 * anything malformed.  IPv4 or "[IPv6]", either with a port; bare6 admits
 * an IPv6 address without brackets, as X-Forwarded-For writes it.
 */
static void
node_addr(const char *s, size_t len, int bare6, char out[INET6_ADDRSTRLEN])
{
	char		 ip[NODE_MAX + 1];
	unsigned char	 bin[16];
	const char	*end, *colon;
	int		 af = AF_INET;

	out[0] = '\0';
	if (len == 0 || len > NODE_MAX)
		return;
	if (s[0] == '[') {
		if ((end = memchr(s, ']', len)) == NULL)
			return;
		if ((size_t)(end + 1 - s) != len && (end[1] != ':' ||
		    !port_ok(end + 2, len - (size_t)(end + 2 - s))))
			return;
		s++;
		len = (size_t)(end - s);
		af = AF_INET6;
	} else if ((colon = memchr(s, ':', len)) != NULL) {
		if (bare6 && memchr(colon + 1, ':', len - (size_t)(colon + 1 -
		    s)) != NULL)
			af = AF_INET6;
		else if (port_ok(colon + 1, len - (size_t)(colon + 1 - s)))
			len = (size_t)(colon - s);
		else
			return;
	}
	memcpy(ip, s, len);
	ip[len] = '\0';
	if (inet_pton(af, ip, bin) != 1 ||
	    inet_ntop(af, bin, out, INET6_ADDRSTRLEN) == NULL)
		out[0] = '\0';
}

static int
ows(int c)
{
	return c == ' ' || c == '\t';
}

/* X-Forwarded-For: addresses separated by commas, the nearest last. */
static void
parse_xff(const char *s, struct hops *h)
{
	const char	*e;
	size_t		 len;

	h->bare6 = 1;
	while (*s != '\0') {
		e = s + strcspn(s, ",");
		len = (size_t)(e - s);
		while (len > 0 && ows((unsigned char)*s)) {
			s++;
			len--;
		}
		while (len > 0 && ows((unsigned char)s[len - 1]))
			len--;
		/* Empty list elements are allowed and name no hop. */
		if (len > 0)
			hop_add(h, s, len);
		s = *e == ',' ? e + 1 : e;
	}
}

static int
tchar(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * Forwarded (RFC 7239): elements separated by commas, each pairs
 * "name=value" separated by semicolons, a value a token or a quoted
 * string.  One left-to-right pass; a syntax error anywhere makes the
 * header unreadable, since a quote left open by the client could
 * otherwise hide or forge the elements the proxies added after it.  An
 * element without exactly one for= names no address.
 */
static void
parse_forwarded(const char *s, struct hops *h)
{
	char		 val[NODE_MAX + 2], node[NODE_MAX + 2];
	const char	*name;
	size_t		 nlen, vlen, forlen = 0;
	int		 nfor = 0, pairs = 0;

	for (;;) {
		while (ows((unsigned char)*s))
			s++;
		if (*s == ',' || *s == '\0') {
			if (pairs > 0)
				hop_add(h, node, nfor == 1 ? forlen : 0);
			if (*s == '\0')
				return;
			s++;
			nfor = pairs = 0;
			continue;
		}
		if (*s == ';') {
			s++;
			continue;
		}
		name = s;
		while (tchar((unsigned char)*s))
			s++;
		if ((nlen = (size_t)(s - name)) == 0 || *s++ != '=')
			goto bad;
		/* A value one byte longer than any node is kept as too long. */
		vlen = 0;
		if (*s == '"') {
			for (s++; *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				else if (*s == '\0' || *s == 0x7f ||
				    ((unsigned char)*s < 0x20 && *s != '\t'))
					goto bad;
				if (vlen < sizeof(val))
					val[vlen++] = *s;
			}
			s++;
		} else {
			for (; tchar((unsigned char)*s); s++)
				if (vlen < sizeof(val))
					val[vlen++] = *s;
			if (vlen == 0)
				goto bad;
		}
		while (ows((unsigned char)*s))
			s++;
		if (*s != ',' && *s != ';' && *s != '\0')
			goto bad;
		pairs++;
		if (nlen == 3 && strncasecmp(name, "for", 3) == 0 &&
		    nfor++ == 0) {
			memcpy(node, val, vlen);
			forlen = vlen;
		}
	}
bad:
	h->bad = 1;
}

/*
 * The client a header names: walking its hops from the right, starting
 * at the peer, each trusted address passes on to the hop before it; the
 * answer is the last address reached, which is the first untrusted one,
 * or a trusted one where the walk had to stop (a hop naming no address,
 * the left end, HS_MAX_FORWARDED_HOPS hops).
 */
static void
walk(const struct hs_scope *trusted, const struct hops *h, const char *peer,
    char out[INET6_ADDRSTRLEN])
{
	char	 addr[INET6_ADDRSTRLEN];
	size_t	 i, k;

	hs_strlcpy(out, peer, INET6_ADDRSTRLEN);
	for (i = 0; !h->bad && i < h->n && i < HS_MAX_FORWARDED_HOPS; i++) {
		if (!hs_scope_has_ip(trusted, out))
			break;
		k = (h->n - 1 - i) % HS_MAX_FORWARDED_HOPS;
		node_addr(h->node[k], strlen(h->node[k]), h->bare6, addr);
		if (addr[0] == '\0')
			break;
		memcpy(out, addr, sizeof(addr));
	}
}

/*
 * A peer outside trusted_proxies is the client, whatever it sent.  From a
 * trusted peer, each header present is walked.  Proxies write one of the
 * two, and pass the other on as the client sent it: so when both are
 * present they must name the same client, and when they do not, neither
 * is believed and the peer is the answer (a client can hide behind its
 * proxy that way, but never name another address).
 */
void
proxy_client(const struct hs_scope *trusted, const char *peer,
    const char *xff, const char *forwarded, char *out, size_t outsize,
    int *conflict)
{
	struct hops	 h;
	char		 a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	*conflict = 0;
	hs_strlcpy(out, peer != NULL ? peer : "", outsize);
	if (peer == NULL || trusted == NULL || !hs_scope_has_ip(trusted, peer))
		return;
	if (xff != NULL) {
		memset(&h, 0, sizeof(h));
		h.bad = strlen(xff) > HS_MAX_FORWARDED_LEN;
		if (!h.bad)
			parse_xff(xff, &h);
		walk(trusted, &h, peer, a);
	}
	if (forwarded != NULL) {
		memset(&h, 0, sizeof(h));
		h.bad = strlen(forwarded) > HS_MAX_FORWARDED_LEN;
		if (!h.bad)
			parse_forwarded(forwarded, &h);
		walk(trusted, &h, peer, b);
	}
	if (xff != NULL && forwarded != NULL && strcmp(a, b) != 0)
		*conflict = 1;
	else if (xff != NULL)
		hs_strlcpy(out, a, outsize);
	else if (forwarded != NULL)
		hs_strlcpy(out, b, outsize);
}
