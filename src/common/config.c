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

enum ckind { C_STR, C_LONG, C_BOOL, C_LEVEL };

/* Every key of hostscan.conf, its type and its bounds. */
static const struct ckey {
	const char	*name;
	enum ckind	 kind;
	size_t		 off;
	long long	 min, max;
	int		 base;		/* 8 for modes */
} ckeys[] = {
	{ "api_database", C_STR, offsetof(struct hs_config, api_database), 0, 0, 0 },
	{ "sched_database", C_STR, offsetof(struct hs_config, sched_database), 0, 0, 0 },
	{ "admin_database", C_STR, offsetof(struct hs_config, admin_database), 0, 0, 0 },
	{ "keyring", C_STR, offsetof(struct hs_config, keyring), 0, 0, 0 },
	{ "signing_key", C_STR, offsetof(struct hs_config, signing_key), 0, 0, 0 },
	{ "master_key", C_STR, offsetof(struct hs_config, master_key), 0, 0, 0 },
	{ "sql_dir", C_STR, offsetof(struct hs_config, sql_dir), 0, 0, 0 },
	{ "api_url", C_STR, offsetof(struct hs_config, api_url), 0, 0, 0 },
	{ "token_issuer", C_STR, offsetof(struct hs_config, token_issuer), 0, 0, 0 },
	{ "token_audience", C_STR, offsetof(struct hs_config, token_audience), 0, 0, 0 },
	{ "listen", C_STR, offsetof(struct hs_config, listen), 0, 0, 0 },
	{ "listen_group", C_STR, offsetof(struct hs_config, listen_group), 0, 0, 0 },
	{ "trusted_proxies", C_STR, offsetof(struct hs_config, trusted_proxies), 0, 0, 0 },
	{ "listen_mode", C_LONG, offsetof(struct hs_config, listen_mode), 0, 0777, 8 },
	{ "workers", C_LONG, offsetof(struct hs_config, workers), 1, HS_MAX_WORKERS, 10 },
	{ "max_body_bytes", C_LONG, offsetof(struct hs_config, max_body_bytes), 1024, HS_MAX_MAX_BODY_BYTES, 10 },
	{ "max_hosts_per_request", C_LONG, offsetof(struct hs_config, max_hosts), 1, HS_MAX_MAX_HOSTS, 10 },
	{ "page_default_limit", C_LONG, offsetof(struct hs_config, page_default), 1, 100000, 10 },
	{ "page_max_limit", C_LONG, offsetof(struct hs_config, page_max), 1, 100000, 10 },
	{ "token_leeway_seconds", C_LONG, offsetof(struct hs_config, token_leeway), 0, HS_MAX_TOKEN_LEEWAY, 10 },
	{ "token_default_ttl", C_LONG, offsetof(struct hs_config, token_default_ttl), 1, 10L * 366 * 86400, 10 },
	{ "token_max_ttl", C_LONG, offsetof(struct hs_config, token_max_ttl), 1, 10L * 366 * 86400, 10 },
	{ "db_connect_timeout", C_LONG, offsetof(struct hs_config, db_connect_timeout), 1, 60, 10 },
	{ "retry_after_seconds", C_LONG, offsetof(struct hs_config, retry_after), 1, 3600, 10 },
	{ "shutdown_grace_seconds", C_LONG, offsetof(struct hs_config, shutdown_grace), 1, 3600, 10 },
	{ "sched_workers", C_LONG, offsetof(struct hs_config, sched_workers), 1, 1024, 10 },
	{ "lease_seconds", C_LONG, offsetof(struct hs_config, lease_seconds), 3, 3600, 10 },
	{ "host_timeout", C_LONG, offsetof(struct hs_config, host_timeout), 1, 3600, 10 },
	{ "step_timeout", C_LONG, offsetof(struct hs_config, step_timeout), 1, 600, 10 },
	{ "max_attempts", C_LONG, offsetof(struct hs_config, max_attempts), 1, 100, 10 },
	{ "sched_db_connections", C_LONG, offsetof(struct hs_config, sched_db_connections), 1, 64, 10 },
	{ "retry_backoff_seconds", C_LONG, offsetof(struct hs_config, retry_backoff_seconds), 0, 300, 10 },
	{ "scan_max_bytes", C_LONG, offsetof(struct hs_config, scan_max_bytes), HS_MIN_SCAN_MAX_BYTES, HS_MAX_SCAN_MAX_BYTES, 10 },
	{ "totp_key", C_STR, offsetof(struct hs_config, totp_key), 0, 0, 0 },
	{ "signin_pre_mfa_ttl", C_LONG, offsetof(struct hs_config, signin_pre_mfa_ttl), 1, HS_MAX_PRE_MFA_TTL, 10 },
	{ "signin_session_ttl", C_LONG, offsetof(struct hs_config, signin_session_ttl), 60, 366L * 86400, 10 },
	{ "signin_session_max", C_LONG, offsetof(struct hs_config, signin_session_max), 1, HS_MAX_SESSION_MAX, 10 },
	{ "signin_max_failures", C_LONG, offsetof(struct hs_config, signin_max_failures), 1, HS_MAX_SIGNIN_MAX_FAILURES, 10 },
	{ "signin_lockout_seconds", C_LONG, offsetof(struct hs_config, signin_lockout), 1, HS_MAX_SIGNIN_LOCKOUT, 10 },
	{ "log_requests", C_BOOL, offsetof(struct hs_config, log_requests), 0, 0, 0 },
	{ "log_level", C_LEVEL, offsetof(struct hs_config, log_level), 0, 0, 0 },
};

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
	memset(c, 0, sizeof(*c));
	c->listen_mode = 0660;
	c->workers = HS_DEFAULT_WORKERS;
	c->max_body_bytes = HS_DEFAULT_MAX_BODY_BYTES;
	c->max_hosts = HS_DEFAULT_MAX_HOSTS;
	c->page_default = HS_DEFAULT_PAGE_LIMIT;
	c->page_max = HS_DEFAULT_PAGE_MAX;
	c->token_leeway = HS_DEFAULT_TOKEN_LEEWAY;
	c->token_default_ttl = HS_DEFAULT_TOKEN_TTL;
	c->token_max_ttl = HS_DEFAULT_TOKEN_MAX_TTL;
	c->db_connect_timeout = HS_DEFAULT_DB_CONNECT_TIMEOUT;
	c->retry_after = HS_DEFAULT_RETRY_AFTER;
	c->shutdown_grace = HS_DEFAULT_SHUTDOWN_GRACE;
	c->log_requests = 1;
	c->log_level = HS_LOG_INFO;
	c->retry_backoff_seconds = -1;
	c->scan_max_bytes = HS_DEFAULT_SCAN_MAX_BYTES;
	c->signin_pre_mfa_ttl = HS_DEFAULT_PRE_MFA_TTL;
	c->signin_session_ttl = HS_DEFAULT_SESSION_TTL;
	c->signin_session_max = HS_DEFAULT_SESSION_MAX;
	c->signin_max_failures = HS_DEFAULT_SIGNIN_MAX_FAILURES;
	c->signin_lockout = HS_DEFAULT_SIGNIN_LOCKOUT;
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

static int
set_key(struct hs_config *c, const char *key, const char *val, char *err,
    size_t errlen)
{
	const struct ckey	*k = NULL;
	char			*p;
	size_t			 i;

	for (i = 0; i < sizeof(ckeys) / sizeof(ckeys[0]); i++)
		if (strcmp(ckeys[i].name, key) == 0) {
			k = &ckeys[i];
			break;
		}
	if (k == NULL) {
		snprintf(err, errlen, "unknown key \"%s\"", key);
		return -1;
	}
	p = (char *)c + k->off;
	switch (k->kind) {
	case C_STR: {
		char	**sp = (char **)(void *)p;

		free(*sp);
		/* An empty value means "not set". */
		*sp = *val != '\0' ? hs_strdup(val) : NULL;
		return 0;
	}
	case C_LONG: {
		long long	 v;
		const char	*errstr = NULL;
		char		*end = NULL;

		if (k->base == 8) {
			errno = 0;
			v = strtoll(val, &end, 8);
			if (*val == '\0' || *end != '\0' || errno != 0 ||
			    v < k->min || v > k->max)
				errstr = "invalid";
		} else
			hs_strtonum(val, k->min, k->max, &v, &errstr);
		if (errstr != NULL) {
			snprintf(err, errlen, "%s: value \"%s\" is %s "
			    "(allowed %lld..%lld)", key, val, errstr, k->min,
			    k->max);
			return -1;
		}
		*(long *)(void *)p = (long)v;
		return 0;
	}
	case C_BOOL:
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
	case C_LEVEL:
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
	FILE	*f = NULL;
	char	 line[HS_MAX_CONFIG_LINE + 2];
	char	 msg[512];
	int	 lineno = 0, rc = -1;

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
		if (set_key(c, trim(s), trim(eq + 1), msg, sizeof(msg))) {
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
	if (c->sql_dir == NULL)
		c->sql_dir = hs_strdup(PKGDATADIR "/sql");
	if (c->page_default > c->page_max) {
		snprintf(err, errlen, "%s: page_default_limit %ld exceeds "
		    "page_max_limit %ld", path ? path : "config",
		    c->page_default, c->page_max);
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
	size_t	 i;

	for (i = 0; i < sizeof(ckeys) / sizeof(ckeys[0]); i++)
		if (ckeys[i].kind == C_STR) {
			char	**sp = (char **)(void *)((char *)c +
			    ckeys[i].off);

			free(*sp);
			*sp = NULL;
		}
	free(c->path);
	c->path = NULL;
}
