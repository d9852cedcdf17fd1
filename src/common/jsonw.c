/* SPDX-License-Identifier: ISC */
/*
 * JSON text written straight into one growing buffer, for output too large
 * for a Jansson tree to be cheap: the scheduler's inventory tables, and
 * the responder's job statuses and insert records (a 10 000-host job's
 * status is 110 000 values; building and then dumping it as a tree took
 * about a third of the responder's time for such a POST).  The writer does
 * not check the shape of what it is told to write: its callers write fixed
 * shapes.  Strings must be valid UTF-8 (from Jansson's parser, from the
 * UTF-8 database, or scrubbed), so only quotes, backslashes and control
 * characters are escaped, as json_dumps() escapes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int
hs_jw_room(struct hs_jw *w, size_t n)
{
	size_t	 cap;
	char	*p;

	if (w->failed)
		return -1;
	if (w->len + n + 1 <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n + 1)
		cap *= 2;
	if (w->grow != NULL && w->grow(w->arg, cap - w->cap) == -1) {
		w->failed = 1;
		return -1;
	}
	if ((p = realloc(w->p, cap)) == NULL)
		abort();
	w->p = p;
	w->cap = cap;
	return 0;
}

void
hs_jw_raw(struct hs_jw *w, const char *s, size_t n)
{
	if (hs_jw_room(w, n) == -1)
		return;
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

void
hs_jw_lit(struct hs_jw *w, const char *s)
{
	hs_jw_raw(w, s, strlen(s));
}

/* The escape of byte c, or NULL when c stands for itself. */
static const char *
escape_of(unsigned char c, char u[7])
{
	static const char	 hex[] = "0123456789abcdef";

	switch (c) {
	case '"':	return "\\\"";
	case '\\':	return "\\\\";
	case '\b':	return "\\b";
	case '\f':	return "\\f";
	case '\n':	return "\\n";
	case '\r':	return "\\r";
	case '\t':	return "\\t";
	}
	if (c >= 0x20)
		return NULL;
	memcpy(u, "\\u00", 4);
	u[4] = hex[c >> 4];
	u[5] = hex[c & 15];
	u[6] = '\0';
	return u;
}

static int
plain(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\';
}

/*
 * A string without escapes (the common case) is copied whole; otherwise
 * its length is counted first, so the buffer grows once per string.
 */
void
hs_jw_str(struct hs_jw *w, const char *s)
{
	const unsigned char	*u;
	const char		*e;
	char			 esc[7], *o;
	size_t			 n, k;

	if (s == NULL) {
		hs_jw_raw(w, "null", 4);
		return;
	}
	for (u = (const unsigned char *)s; plain(*u); u++)
		continue;
	if (*u == '\0') {
		n = (size_t)(u - (const unsigned char *)s);
		if (hs_jw_room(w, n + 2) == -1)
			return;
		o = w->p + w->len;
		*o++ = '"';
		memcpy(o, s, n);
		o[n] = '"';
		w->len += n + 2;
		w->p[w->len] = '\0';
		return;
	}
	n = 2 + (size_t)(u - (const unsigned char *)s);
	for (; *u != '\0'; u++)
		n += (e = escape_of(*u, esc)) != NULL ? strlen(e) : 1;
	if (hs_jw_room(w, n) == -1)
		return;
	o = w->p + w->len;
	*o++ = '"';
	for (u = (const unsigned char *)s; *u != '\0'; u++) {
		if ((e = escape_of(*u, esc)) == NULL) {
			*o++ = (char)*u;
			continue;
		}
		k = strlen(e);
		memcpy(o, e, k);
		o += k;
	}
	*o++ = '"';
	w->len = (size_t)(o - w->p);
	w->p[w->len] = '\0';
}

void
hs_jw_int(struct hs_jw *w, long long v)
{
	char	 num[24];

	hs_jw_raw(w, num, (size_t)snprintf(num, sizeof(num), "%lld", v));
}

void
hs_jw_key(struct hs_jw *w, const char *key)
{
	hs_jw_str(w, key);
	hs_jw_raw(w, ":", 1);
}

void
hs_jw_free(struct hs_jw *w)
{
	free(w->p);
	w->p = NULL;
	w->len = w->cap = 0;
	w->failed = 0;
}
