/* SPDX-License-Identifier: ISC */
/* Scheduler zones: a zone's name, and a scheduler's list of zones. */
#include <stdio.h>
#include <string.h>

#include "common.h"

/*
 * The rule of credential.zone's CHECK (sql/011): 1..63 of [A-Za-z0-9._-],
 * starting with a letter or digit.
 */
const char *
hs_check_zone(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0)
		return "a zone name is empty";
	if (n > HS_ZONE_NAME_MAX)
		return "a zone name is longer than 63 characters";
	for (i = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)s[i];
		int		 alnum = (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return "a zone name is letters, digits, '.', '_' and "
			    "'-', starting with a letter or digit";
	}
	return NULL;
}

int
hs_zones_parse(const char *text, struct hs_zones *z, char *err, size_t errlen)
{
	const char	*p = text, *end, *why;
	char		 name[HS_ZONE_NAME_MAX + 2];
	size_t		 len, i;

	memset(z, 0, sizeof(*z));
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ",");
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len > HS_ZONE_NAME_MAX)
			len = HS_ZONE_NAME_MAX + 1;	/* reported below */
		memcpy(name, p, len);
		name[len] = '\0';
		if ((why = hs_check_zone(name)) != NULL) {
			snprintf(err, errlen, "%s", why);
			return -1;
		}
		for (i = 0; i < z->n && strcmp(z->name[i], name) != 0; i++)
			continue;
		if (i == z->n) {
			if (z->n == HS_MAX_ZONES) {
				snprintf(err, errlen, "more than %d zones",
				    HS_MAX_ZONES);
				return -1;
			}
			memcpy(z->name[z->n++], name, len + 1);
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return 0;
}

/* "{a,b}": a zone name needs no quoting in an array literal. */
int
hs_zones_array(const struct hs_zones *z, char *out, size_t outlen)
{
	size_t	 i, off = 0;
	int	 n;

	if ((n = snprintf(out, outlen, "{")) < 0 || (size_t)n >= outlen)
		return -1;
	off = (size_t)n;
	for (i = 0; i < z->n; i++) {
		n = snprintf(out + off, outlen - off, "%s%s", i ? "," : "",
		    z->name[i]);
		if (n < 0 || (size_t)n >= outlen - off)
			return -1;
		off += (size_t)n;
	}
	n = snprintf(out + off, outlen - off, "}");
	return n < 0 || (size_t)n >= outlen - off ? -1 : 0;
}
