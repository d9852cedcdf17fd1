/* SPDX-License-Identifier: ISC */
/* hostscan.conf: the table of its keys, and the parser that reads them. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/hostscan"
#endif

#define FIELD(f)	offsetof(struct hs_config, f)
#define STR(name, f, def)	{ name, HS_CONF_STR, FIELD(f), 0, 0, 0, def }
#define NUM(name, f, def, min, max) \
	{ name, HS_CONF_LONG, FIELD(f), def, min, max, NULL }
#define OCTAL(name, f, def, min, max) \
	{ name, HS_CONF_OCTAL, FIELD(f), def, min, max, NULL }
#define BOOL(name, f, def)	{ name, HS_CONF_BOOL, FIELD(f), def, 0, 1, NULL }
#define LEVEL(name, f, def) \
	{ name, HS_CONF_LEVEL, FIELD(f), def, HS_LOG_DEBUG, HS_LOG_ERROR, NULL }

/*
 * Every key of hostscan.conf, in the order of the example file.  Minimums
 * of 0 and 1 are written here ("none", "at least one"); every other
 * number is named in hslimits.h.
 */
const struct hs_config_key hs_config_keys[] = {
	STR("api_database", api_database, NULL),
	STR("sched_database", sched_database, NULL),
	STR("admin_database", admin_database, NULL),
	STR("keyring", keyring, NULL),
	STR("signing_key", signing_key, NULL),
	STR("master_key", master_key, NULL),
	STR("sql_dir", sql_dir, PKGDATADIR "/sql"),
	STR("api_url", api_url, HS_DEFAULT_API_URL),
	STR("listen", listen, NULL),
	STR("listen_group", listen_group, NULL),
	OCTAL("listen_mode", listen_mode, HS_DEFAULT_LISTEN_MODE, 0,
	    HS_MAX_LISTEN_MODE),
	NUM("workers", workers, HS_DEFAULT_WORKERS, 1, HS_MAX_WORKERS),
	NUM("max_body_bytes", max_body_bytes, HS_DEFAULT_MAX_BODY_BYTES,
	    HS_MIN_MAX_BODY_BYTES, HS_MAX_MAX_BODY_BYTES),
	NUM("max_hosts_per_request", max_hosts, HS_DEFAULT_MAX_HOSTS, 1,
	    HS_MAX_MAX_HOSTS),
	NUM("page_default_limit", page_default, HS_DEFAULT_PAGE_LIMIT, 1,
	    HS_MAX_PAGE_LIMIT),
	NUM("page_max_limit", page_max, HS_DEFAULT_PAGE_MAX, 1,
	    HS_MAX_PAGE_LIMIT),
	STR("token_issuer", token_issuer, NULL),
	STR("token_audience", token_audience, NULL),
	NUM("token_leeway_seconds", token_leeway, HS_DEFAULT_TOKEN_LEEWAY, 0,
	    HS_MAX_TOKEN_LEEWAY),
	NUM("token_default_ttl", token_default_ttl, HS_DEFAULT_TOKEN_TTL, 1,
	    HS_MAX_TOKEN_TTL),
	NUM("token_max_ttl", token_max_ttl, HS_DEFAULT_TOKEN_MAX_TTL, 1,
	    HS_MAX_TOKEN_TTL),
	NUM("db_connect_timeout", db_connect_timeout,
	    HS_DEFAULT_DB_CONNECT_TIMEOUT, 1, HS_MAX_DB_CONNECT_TIMEOUT),
	NUM("retry_after_seconds", retry_after, HS_DEFAULT_RETRY_AFTER, 1,
	    HS_MAX_RETRY_AFTER),
	NUM("shutdown_grace_seconds", shutdown_grace, HS_DEFAULT_SHUTDOWN_GRACE,
	    0, HS_MAX_SHUTDOWN_GRACE),
	STR("trusted_proxies", trusted_proxies, NULL),
	STR("url_prefix", url_prefix, NULL),
	STR("metrics_listen", metrics_listen, NULL),
	BOOL("log_requests", log_requests, 1),
	LEVEL("log_level", log_level, HS_LOG_INFO),
	NUM("sched_workers", sched_workers, HS_DEFAULT_SCHED_WORKERS, 1,
	    HS_MAX_SCHED_WORKERS),
	NUM("lease_seconds", lease_seconds, HS_DEFAULT_LEASE, HS_MIN_LEASE,
	    HS_MAX_LEASE),
	NUM("host_timeout", host_timeout, HS_DEFAULT_HOST_TIMEOUT, 1,
	    HS_MAX_HOST_TIMEOUT),
	NUM("step_timeout", step_timeout, HS_DEFAULT_STEP_TIMEOUT, 1,
	    HS_MAX_STEP_TIMEOUT),
	NUM("max_attempts", max_attempts, HS_DEFAULT_MAX_ATTEMPTS, 1,
	    HS_MAX_MAX_ATTEMPTS),
	NUM("sched_db_connections", sched_db_connections,
	    HS_DEFAULT_SCHED_DB_CONNS, 1, HS_MAX_SCHED_DB_CONNS),
	NUM("retry_backoff_seconds", retry_backoff_seconds,
	    HS_DEFAULT_RETRY_BACKOFF, 0, HS_MAX_RETRY_BACKOFF),
	NUM("scan_max_bytes", scan_max_bytes, HS_DEFAULT_SCAN_MAX_BYTES,
	    HS_MIN_SCAN_MAX_BYTES, HS_MAX_SCAN_MAX_BYTES),
	STR("sched_metrics_listen", sched_metrics_listen, NULL),
	STR("zones", zones, HS_DEFAULT_ZONES),
	NUM("sched_reserve_workers", sched_reserve_workers,
	    HS_DEFAULT_SCHED_RESERVE, 0, HS_MAX_SCHED_WORKERS),
	STR("totp_key", totp_key, NULL),
	NUM("signin_pre_mfa_ttl", signin_pre_mfa_ttl, HS_DEFAULT_PRE_MFA_TTL, 1,
	    HS_MAX_PRE_MFA_TTL),
	NUM("signin_session_ttl", signin_session_ttl, HS_DEFAULT_SESSION_TTL,
	    HS_MIN_SESSION_TTL, HS_MAX_SESSION_TTL),
	NUM("signin_session_max", signin_session_max, HS_DEFAULT_SESSION_MAX, 1,
	    HS_MAX_SESSION_MAX),
	NUM("signin_max_failures", signin_max_failures,
	    HS_DEFAULT_SIGNIN_MAX_FAILURES, 1, HS_MAX_SIGNIN_MAX_FAILURES),
	NUM("signin_lockout_seconds", signin_lockout, HS_DEFAULT_SIGNIN_LOCKOUT,
	    1, HS_MAX_SIGNIN_LOCKOUT),
};
const size_t hs_config_nkeys = sizeof(hs_config_keys) /
    sizeof(hs_config_keys[0]);

const char *
hs_config_path(const char *arg)
{
	const char	*env;

	if (arg != NULL)
		return arg;
	if ((env = getenv("HOSTSCAN_CONFIG")) != NULL && *env != '\0')
		return env;
	return SYSCONFDIR "/hostscan/hostscan.conf";
}

void
hs_config_defaults(struct hs_config *c)
{
	const struct hs_config_key	*k;
	char				*p;

	memset(c, 0, sizeof(*c));
	for (k = hs_config_keys; k < hs_config_keys + hs_config_nkeys; k++) {
		p = (char *)c + k->off;
		switch (k->kind) {
		case HS_CONF_STR:
			break;		/* NULL; defaults come after loading */
		case HS_CONF_LONG:
		case HS_CONF_OCTAL:
			*(long *)(void *)p = (long)k->def;
			break;
		case HS_CONF_BOOL:
			*(int *)(void *)p = (int)k->def;
			break;
		case HS_CONF_LEVEL:
			*(enum hs_log_level *)(void *)p =
			    (enum hs_log_level)k->def;
			break;
		}
	}
}

const struct hs_config_key *
hs_config_key(const char *name)
{
	size_t	 i;

	for (i = 0; i < hs_config_nkeys; i++)
		if (strcmp(hs_config_keys[i].name, name) == 0)
			return &hs_config_keys[i];
	return NULL;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* An octal mode ("0660") in [min, max]; "invalid" otherwise, as strtonum. */
static int
parse_octal(const char *val, long long min, long long max, long long *out,
    const char **errstr)
{
	char	*end = NULL;

	errno = 0;
	*out = strtoll(val, &end, 8);
	if (*val == '\0' || *end != '\0' || errno != 0 || *out < min ||
	    *out > max) {
		*errstr = "invalid";
		return -1;
	}
	return 0;
}

int
hs_config_set(struct hs_config *c, const char *key, const char *val,
    char *err, size_t errlen)
{
	const struct hs_config_key	*k;
	const char			*errstr = NULL;
	char				*p;
	long long			 v;

	if ((k = hs_config_key(key)) == NULL) {
		snprintf(err, errlen, "unknown key \"%s\"", key);
		return -1;
	}
	p = (char *)c + k->off;
	switch (k->kind) {
	case HS_CONF_STR: {
		char	**sp = (char **)(void *)p;

		free(*sp);
		/* An empty value means "not set". */
		*sp = *val != '\0' ? hs_strdup(val) : NULL;
		return 0;
	}
	case HS_CONF_LONG:
		if (hs_strtonum(val, k->min, k->max, &v, &errstr) == -1) {
			snprintf(err, errlen, "%s: value \"%s\" is %s "
			    "(allowed %lld..%lld)", key, val, errstr, k->min,
			    k->max);
			return -1;
		}
		*(long *)(void *)p = (long)v;
		return 0;
	case HS_CONF_OCTAL:
		if (parse_octal(val, k->min, k->max, &v, &errstr) == -1) {
			snprintf(err, errlen, "%s: value \"%s\" is %s "
			    "(allowed %#llo..%#llo)", key, val, errstr,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max);
			return -1;
		}
		*(long *)(void *)p = (long)v;
		return 0;
	case HS_CONF_BOOL:
		if (!strcasecmp(val, "yes") || !strcasecmp(val, "true") ||
		    !strcmp(val, "1") || !strcasecmp(val, "on"))
			*(int *)(void *)p = 1;
		else if (!strcasecmp(val, "no") || !strcasecmp(val, "false") ||
		    !strcmp(val, "0") || !strcasecmp(val, "off"))
			*(int *)(void *)p = 0;
		else {
			snprintf(err, errlen, "%s: \"%s\" is not yes or no",
			    key, val);
			return -1;
		}
		return 0;
	case HS_CONF_LEVEL:
		if (hs_log_level_parse(val, (enum hs_log_level *)(void *)p)) {
			snprintf(err, errlen, "%s: \"%s\" is not debug, info, "
			    "warn or error", key, val);
			return -1;
		}
		return 0;
	}
	return -1;
}

static void
env_override(char **field, const char *name)
{
	const char	*v = getenv(name);

	if (v != NULL && *v != '\0') {
		free(*field);
		*field = hs_strdup(v);
	}
}

int
hs_config_load(struct hs_config *c, const char *path, int required,
    char *err, size_t errlen)
{
	const struct hs_config_key	*k;
	FILE				*f = NULL;
	char				 line[HS_MAX_CONFIG_LINE + 2];
	char				 msg[512];
	int				 lineno = 0, rc = -1;

	if (path != NULL && (f = fopen(path, "re")) == NULL) {
		if (errno != ENOENT || required) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
	}
	if (f != NULL) {
		free(c->path);
		c->path = hs_strdup(path);
	}
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char	*s, *eq;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line longer than %d "
			    "bytes", path, lineno, HS_MAX_CONFIG_LINE);
			goto out;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected key = value",
			    path, lineno);
			goto out;
		}
		*eq = '\0';
		if (hs_config_set(c, trim(s), trim(eq + 1), msg, sizeof(msg))) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			goto out;
		}
	}
	if (f != NULL && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	env_override(&c->keyring, "HOSTSCAN_KEYRING");
	env_override(&c->signing_key, "HOSTSCAN_SIGNING_KEY");
	env_override(&c->master_key, "HOSTSCAN_MASTER_KEY");
	env_override(&c->sql_dir, "HOSTSCAN_SQL_DIR");
	env_override(&c->api_url, "HOSTSCAN_URL");
	for (k = hs_config_keys; k < hs_config_keys + hs_config_nkeys; k++) {
		char	**sp = (char **)(void *)((char *)c + k->off);

		if (k->kind == HS_CONF_STR && k->defstr != NULL && *sp == NULL)
			*sp = hs_strdup(k->defstr);
	}
	if (c->page_default > c->page_max) {
		snprintf(err, errlen, "%s: page_default_limit %ld exceeds "
		    "page_max_limit %ld", path ? path : "config",
		    c->page_default, c->page_max);
		goto out;
	}
	if (hs_config_check(c, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "%s: %s", path ? path : "config", msg);
		goto out;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	return rc;
}

void
hs_config_free(struct hs_config *c)
{
	const struct hs_config_key	*k;

	for (k = hs_config_keys; k < hs_config_keys + hs_config_nkeys; k++)
		if (k->kind == HS_CONF_STR) {
			char	**sp = (char **)(void *)((char *)c + k->off);

			free(*sp);
			*sp = NULL;
		}
	free(c->path);
	c->path = NULL;
	if (c->proxies != NULL)
		hs_scope_free(c->proxies);
	free(c->proxies);
	c->proxies = NULL;
}

int
hs_path_prefix_ok(const char *s, size_t len)
{
	size_t	 i, seg = 0;

	if (len == 0)
		return 1;
	if (s[0] != '/')
		return 0;
	for (i = 1; i <= len; i++) {
		if (i == len || s[i] == '/') {
			if (i - seg == 1 || (i - seg == 2 && s[seg + 1] == '.') ||
			    (i - seg == 3 && s[seg + 1] == '.' &&
			    s[seg + 2] == '.'))
				return 0;
			seg = i;
		} else if (!isalnum((unsigned char)s[i]) &&
		    strchr("-._~!$&()*+,;=", s[i]) == NULL)
			return 0;
	}
	return 1;
}

int
hs_config_check(struct hs_config *c, char *err, size_t errlen)
{
	struct hs_scope	*sc = NULL;
	char		 why[256];
	size_t		 len, i;

	if (c->url_prefix != NULL) {
		len = strlen(c->url_prefix);
		while (len > 0 && c->url_prefix[len - 1] == '/')
			len--;
		if (c->url_prefix[0] != '/' || len > HS_MAX_URL_PREFIX_LEN ||
		    !hs_path_prefix_ok(c->url_prefix, len)) {
			snprintf(err, errlen, "url_prefix: \"%.64s\" is not a "
			    "path prefix such as /hostscan (at most %d bytes of "
			    "letters, digits and -._~!$&()*+,;=, no empty, . or "
			    ".. segment)", c->url_prefix, HS_MAX_URL_PREFIX_LEN);
			return -1;
		}
		c->url_prefix[len] = '\0';
	}
	if (c->proxies != NULL)
		hs_scope_free(c->proxies);
	free(c->proxies);
	c->proxies = NULL;
	if (c->trusted_proxies == NULL || c->trusted_proxies[0] == '\0')
		return 0;
	sc = hs_xmalloc(sizeof(*sc));
	if (hs_scope_parse(c->trusted_proxies, sc, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "trusted_proxies: %s", why);
		free(sc);
		return -1;
	}
	/* Trusting a name would mean resolving it; trusting any, spoofing. */
	for (i = 0; i < sc->n; i++)
		if (sc->e[i].kind != HS_SCOPE_NET4 &&
		    sc->e[i].kind != HS_SCOPE_NET6)
			break;
	if (sc->any || i < sc->n) {
		snprintf(err, errlen, "trusted_proxies: \"%.64s\" is not an "
		    "address or a CIDR block", sc->any ? "any" : sc->e[i].name);
		hs_scope_free(sc);
		free(sc);
		return -1;
	}
	c->proxies = sc;
	return 0;
}
