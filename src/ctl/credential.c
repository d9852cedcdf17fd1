/* SPDX-License-Identifier: ISC */
/*
 * credential add | list | scope | zone | rm: the service accounts scans
 * log in with, where each may be used and which schedulers use it.  The secret comes from stdin only,
 * lives in sodium_malloc'd memory until it is sealed, and leaves this
 * process only as a secretbox.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "common.h"
#include "ctl.h"

/* SQL of credential.c */
static const char sql_cred_add[] =
    "INSERT INTO credential (name, username, kind, key_id, secret, scope,"
    " scope_set_at, zone) VALUES ($1, $2, $3, $4, $5, $6, now(), $7)"
    " RETURNING id";
/*
 * The kind as --kind spells it; the scope as the table shows it: a
 * migrated credential's "any" was nobody's choice.
 */
static const char sql_cred_list[] =
    "SELECT id, name, username, replace(kind, '_', '-'),"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " scope, scope_set_at IS NOT NULL,"
    " CASE WHEN scope_set_at IS NULL THEN 'any (not set)' ELSE scope END,"
    " zone FROM credential ORDER BY name, id";
/* $1 an id or a name; a name may look like an id: the id wins. */
#define CRED_BY_ID_OR_NAME \
    "WHERE id = COALESCE((SELECT id FROM credential WHERE id::text = $1)," \
    " (SELECT id FROM credential WHERE name = $1)) "
static const char sql_cred_scope[] =
    "UPDATE credential SET scope = $2, scope_set_at = now() "
    CRED_BY_ID_OR_NAME "RETURNING id, name";
static const char sql_cred_zone[] =
    "UPDATE credential SET zone = $2 " CRED_BY_ID_OR_NAME
    "RETURNING id, name";
static const char sql_cred_rm[] =
    "DELETE FROM credential " CRED_BY_ID_OR_NAME "RETURNING id, name";

#define CRED_NAME_MAX		1024	/* characters, as the table checks */
#define CRED_USERNAME_MAX	256
#define PEM_BEGIN		"-----BEGIN "
#define PEM_END			"-----END "
#define PEM_PRIVATE		"PRIVATE KEY-----"

/* The --kind spelling and the credential.kind value. */
static const struct kind {
	const char	*cli;
	const char	*db;
} kinds[] = {
	{ "password", "password" },
	{ "private-key", "private_key" },
};
#define KIND_PASSWORD	(&kinds[0])
#define KIND_KEY	(&kinds[1])
#define NKINDS		(sizeof(kinds) / sizeof(kinds[0]))

/*
 * On a terminal, input ends with the first line, or for a pasted private
 * key with its "-----END " line; otherwise at end of file.
 */
static int
tty_input_done(const unsigned char *buf, size_t len)
{
	size_t	 i;

	if (len == 0 || buf[len - 1] != '\n')
		return 0;
	if (len < sizeof(PEM_BEGIN) - 1 ||
	    memcmp(buf, PEM_BEGIN, sizeof(PEM_BEGIN) - 1) != 0)
		return 1;
	for (i = len - 1; i > 0 && buf[i - 1] != '\n'; i--)
		continue;
	return len - i >= sizeof(PEM_END) - 1 &&
	    memcmp(buf + i, PEM_END, sizeof(PEM_END) - 1) == 0;
}

/*
 * A --scope or `credential scope` argument in the canonical form the
 * database stores (malloc'd); NULL after a usage error was printed.
 */
static char *
scope_arg(const char *cmd, const char *text)
{
	struct hs_scope	 sc;
	char		 err[256], *canon;

	if (hs_scope_parse(text, &sc, err, sizeof(err)) == -1) {
		ctl_usage_err("%s: scope: %s (a scope is comma-separated "
		    "CIDR blocks and DNS names such as 10.0.0.0/8, "
		    "2001:db8::/32, *.corp.example, db01.corp.example, or any)",
		    cmd, err);
		return NULL;
	}
	canon = hs_scope_format(&sc);
	hs_scope_free(&sc);
	return canon;
}

/* buf holds HS_MAX_SECRET_BYTES + 1, so that one byte more is seen. */
static int
read_secret(unsigned char *buf, size_t *lenp)
{
	long	 n;

	*lenp = 0;
	if ((n = ctl_read_secret("Secret: ", buf, HS_MAX_SECRET_BYTES + 1,
	    tty_input_done)) < 0)
		return -1;
	if (n > HS_MAX_SECRET_BYTES) {
		ctl_warn("credential add: secret too long (more than %d bytes)",
		    HS_MAX_SECRET_BYTES);
		return -1;
	}
	*lenp = (size_t)n;
	return 0;
}

static int
looks_like_key(const unsigned char *s, size_t len)
{
	return len >= sizeof(PEM_BEGIN) - 1 &&
	    memcmp(s, PEM_BEGIN, sizeof(PEM_BEGIN) - 1) == 0 &&
	    memmem(s, len, PEM_PRIVATE, sizeof(PEM_PRIVATE) - 1) != NULL;
}

static int
cred_add(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "username", required_argument, NULL, 'u' },
		{ "kind", required_argument, NULL, 'k' },
		{ "scope", required_argument, NULL, 's' },
		{ "zone", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct hs_master_keys	 mk = { NULL, 0 };
	const struct kind	*kind = NULL;
	PGresult		*res = NULL;
	unsigned char		*secret = NULL, *box = NULL;
	const char		*name = NULL, *user = NULL, *values[7];
	const char		*scope_text = NULL, *zone = HS_DEFAULT_ZONES;
	char			 key_id[HS_MASTER_ID_LEN + 1], err[1024];
	char			*scope = NULL, *boxhex = NULL;
	const char		*why;
	size_t			 len, boxlen = 0, i;
	long			 n;
	int			 ch, rc = CTL_ERR;

	while ((ch = getopt_long(argc, argv, ":n:u:k:s:z:h", opts, NULL)) != -1)
		switch (ch) {
		case 'z':
			zone = optarg;
			break;
		case 's':
			scope_text = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'k':
			for (kind = NULL, i = 0; i < NKINDS; i++)
				if (strcmp(optarg, kinds[i].cli) == 0 ||
				    strcmp(optarg, kinds[i].db) == 0)
					kind = &kinds[i];
			if (kind == NULL)
				return ctl_usage_err("--kind: password or "
				    "private-key");
			break;
		default:
			return ctl_option_default("credential add", ch, argc,
			    argv);
		}
	if (optind != argc)
		return ctl_usage_err("credential add: unexpected argument "
		    "(the secret is read from stdin, never from the command "
		    "line)");
	if (name == NULL || user == NULL || scope_text == NULL)
		return ctl_usage_err("credential add: --name, --username and "
		    "--scope are required (--scope any allows every host)");
	if ((n = hs_utf8_text_len(name)) < 1 || n > CRED_NAME_MAX)
		return ctl_usage_err("--name: 1 to %d characters of UTF-8 "
		    "text without control characters", CRED_NAME_MAX);
	if ((n = hs_utf8_text_len(user)) < 1 || n > CRED_USERNAME_MAX)
		return ctl_usage_err("--username: 1 to %d characters of UTF-8 "
		    "text without control characters", CRED_USERNAME_MAX);
	if ((why = hs_check_zone(zone)) != NULL)
		return ctl_usage_err("credential add: --zone: %s", why);
	if ((scope = scope_arg("credential add", scope_text)) == NULL)
		return CTL_USAGE;
	/* Before the prompt: no secret typed in for nothing. */
	if (hs_master_load(ctl->cfg.master_key, &mk, err, sizeof(err)) == -1) {
		free(scope);
		return ctl_err("credential add: %s", err);
	}

	if ((secret = sodium_malloc(HS_MAX_SECRET_BYTES + 1)) == NULL) {
		ctl_warn("out of memory");
		goto out;
	}
	if (read_secret(secret, &len) == -1)
		goto out;
	if (kind == NULL)
		kind = looks_like_key(secret, len) ? KIND_KEY : KIND_PASSWORD;
	else if (kind == KIND_KEY && !looks_like_key(secret, len)) {
		ctl_warn("credential add: --kind private-key, but stdin holds "
		    "no \"" PEM_BEGIN "... " PEM_PRIVATE "\" block");
		goto out;
	}
	/* A key's text is kept exactly; a password loses its line end. */
	if (kind == KIND_PASSWORD && len > 0 && secret[len - 1] == '\n') {
		len--;
		if (len > 0 && secret[len - 1] == '\r')
			len--;
	}
	if (len == 0) {
		ctl_warn("credential add: empty secret on stdin");
		goto out;
	}
	if (memchr(secret, '\0', len) != NULL) {
		ctl_warn("credential add: the secret contains a NUL byte");
		goto out;
	}
	if (hs_secret_seal(&mk, secret, len, key_id, &box, &boxlen) == -1) {
		ctl_warn("credential add: cannot seal the secret");
		goto out;
	}
	sodium_free(secret);
	secret = NULL;

	boxhex = ctl_bytea(box, boxlen);
	values[0] = name;
	values[1] = user;
	values[2] = kind->db;
	values[3] = key_id;
	values[4] = boxhex;
	values[5] = scope;
	values[6] = zone;
	if ((res = ctl_db_query(ctl, "credential add", sql_cred_add, 7, values,
	    "23505")) == NULL)
		goto out;
	if (ctl_db_state(res, "23505")) {
		ctl_warn("a credential named %s already exists", name);
		goto out;
	}
	printf("%s\n", PQgetvalue(res, 0, 0));
	rc = CTL_OK;
out:
	PQclear(res);
	if (secret != NULL)
		sodium_free(secret);
	free(box);
	free(boxhex);
	free(scope);
	hs_master_free(&mk);
	return rc;
}

static int
cred_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_col cols[] = {
		{ "ID", "id", 0, CTL_COL_TEXT, NULL },
		{ "NAME", "name", 1, CTL_COL_TEXT, NULL },
		{ "USERNAME", "username", 2, CTL_COL_TEXT, NULL },
		{ "KIND", "kind", 3, CTL_COL_TEXT, NULL },
		{ "CREATED", "createdAt", 4, CTL_COL_TEXT, NULL },
		{ "ZONE", "zone", 8, CTL_COL_TEXT, NULL },
		{ NULL, "scope", 5, CTL_COL_TEXT, NULL },
		{ "SCOPE", NULL, 7, CTL_COL_TEXT, NULL },
		{ NULL, "scopeSet", 6, CTL_COL_BOOL, NULL },
	};
	static const struct ctl_list list = { "credential list", cols,
	    sizeof(cols) / sizeof(cols[0]), 0 };
	PGresult	*res;
	int		 row, json = 0, rc;

	if (ctl_operands(list.cmd, argc, argv, 0, NULL, &json, &rc) == NULL)
		return rc;
	if ((res = ctl_db_query(ctl, list.cmd, sql_cred_list, 0, NULL,
	    NULL)) == NULL)
		return CTL_ERR;
	/* On stderr, so that the table and the JSON stay parseable. */
	for (row = 0; row < PQntuples(res); row++)
		if (PQgetvalue(res, row, 6)[0] != 't')
			ctl_warn("warning: credential %s has no scope of its "
			    "own (it predates scopes and may be used on any "
			    "host): set one with hostscanctl credential scope "
			    "%s LIST", PQgetvalue(res, row, 1),
			    PQgetvalue(res, row, 0));
	rc = ctl_list_print(&list, res, PQntuples(res), json);
	PQclear(res);
	return rc;
}

/* A NAME or ID operand; NULL after the usage error. */
static const char *
name_or_id(const char *cmd, const char *arg, int *rc)
{
	if (*arg == '\0' || strlen(arg) > 4 * CRED_NAME_MAX) {
		*rc = ctl_usage_err("%s: give one NAME or ID", cmd);
		return NULL;
	}
	return arg;
}

/* credential scope NAME|ID LIST: where an existing credential may be used. */
static int
cred_scope(struct ctl *ctl, int argc, char **argv)
{
	PGresult	*res;
	char		**arg, *scope;
	const char	*params[2];
	int		 rc = CTL_ERR;

	if ((arg = ctl_operands("credential scope", argc, argv, 2,
	    "one NAME or ID and one LIST", NULL, &rc)) == NULL ||
	    (params[0] = name_or_id("credential scope", arg[0], &rc)) == NULL)
		return rc;
	if ((scope = scope_arg("credential scope", arg[1])) == NULL)
		return CTL_USAGE;
	params[1] = scope;
	if ((res = ctl_db_query(ctl, "credential scope", sql_cred_scope, 2,
	    params, NULL)) == NULL)
		rc = CTL_ERR;
	else if (PQntuples(res) == 0)
		rc = ctl_err("no such credential: %s", arg[0]);
	else {
		printf("credential %s (%s) may be used on: %s\n",
		    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0), scope);
		rc = CTL_OK;
	}
	PQclear(res);
	free(scope);
	return rc;
}

/* credential zone NAME|ID ZONE: which schedulers scan with it from now on. */
static int
cred_zone(struct ctl *ctl, int argc, char **argv)
{
	PGresult	*res;
	char		**arg;
	const char	*params[2], *why;
	int		 rc = CTL_ERR;

	if ((arg = ctl_operands("credential zone", argc, argv, 2,
	    "one NAME or ID and one ZONE", NULL, &rc)) == NULL ||
	    (params[0] = name_or_id("credential zone", arg[0], &rc)) == NULL)
		return rc;
	if ((why = hs_check_zone(arg[1])) != NULL)
		return ctl_usage_err("credential zone: %s", why);
	params[1] = arg[1];
	if ((res = ctl_db_query(ctl, "credential zone", sql_cred_zone, 2,
	    params, NULL)) == NULL)
		rc = CTL_ERR;
	else if (PQntuples(res) == 0)
		rc = ctl_err("no such credential: %s", arg[0]);
	else {
		printf("credential %s (%s) is in zone %s\n",
		    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0), arg[1]);
		rc = CTL_OK;
	}
	PQclear(res);
	return rc;
}

static int
cred_rm(struct ctl *ctl, int argc, char **argv)
{
	PGresult	*res;
	char		**arg;
	const char	*params[1];
	int		 rc = CTL_ERR;

	if ((arg = ctl_operands("credential rm", argc, argv, 1,
	    "one NAME or ID", NULL, &rc)) == NULL ||
	    (params[0] = name_or_id("credential rm", arg[0], &rc)) == NULL)
		return rc;
	if ((res = ctl_db_query(ctl, "credential rm", sql_cred_rm, 1, params,
	    "23503")) == NULL)
		rc = CTL_ERR;
	else if (ctl_db_state(res, "23503"))
		rc = ctl_err("credential %s is used by queued or past scans",
		    arg[0]);
	else if (PQntuples(res) == 0)
		rc = ctl_err("no such credential: %s", arg[0]);
	else {
		printf("removed credential %s (%s)\n", PQgetvalue(res, 0, 1),
		    PQgetvalue(res, 0, 0));
		rc = CTL_OK;
	}
	PQclear(res);
	return rc;
}

int
ctl_credential(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "add", cred_add }, { "list", cred_list },
		{ "scope", cred_scope }, { "zone", cred_zone },
		{ "rm", cred_rm },
	};

	return ctl_subcommand(ctl, "credential", subs,
	    sizeof(subs) / sizeof(subs[0]), argc, argv);
}
