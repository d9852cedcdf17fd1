/*
 * credential add | list | scope | rm: the service accounts scans log in
 * with, and where each may be used.  The secret comes from stdin only,
 * lives in sodium_malloc'd memory until it is sealed, and leaves this
 * process only as a secretbox.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "common.h"
#include "ctl.h"

/* SQL of credential.c */
static const char sql_cred_add[] =
    "INSERT INTO credential (name, username, kind, key_id, secret, scope,"
    " scope_set_at) VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING id";
static const char sql_cred_list[] =
    "SELECT id, name, username, kind, to_char(created_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), scope, scope_set_at IS NOT NULL "
    "FROM credential ORDER BY name, id";
static const char sql_cred_scope_id[] =
    "UPDATE credential SET scope = $2, scope_set_at = now() "
    "WHERE id = $1::uuid RETURNING id, name";
static const char sql_cred_scope_name[] =
    "UPDATE credential SET scope = $2, scope_set_at = now() "
    "WHERE name = $1 RETURNING id, name";
static const char sql_cred_rm_id[] =
    "DELETE FROM credential WHERE id = $1::uuid RETURNING id, name";
static const char sql_cred_rm_name[] =
    "DELETE FROM credential WHERE name = $1 RETURNING id, name";

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

static const char *
kind_cli(const char *db)
{
	size_t	 i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].db, db) == 0)
			return kinds[i].cli;
	return db;
}

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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct hs_master_keys	 mk = { NULL, 0 };
	const struct kind	*kind = NULL;
	PGconn			*conn = NULL;
	PGresult		*res = NULL;
	unsigned char		*secret = NULL, *box = NULL;
	const char		*name = NULL, *user = NULL, *values[6];
	const char		*scope_text = NULL;
	char			 key_id[HS_MASTER_ID_LEN + 1], err[1024];
	char			*scope = NULL;
	size_t			 len, boxlen = 0;
	long			 n;
	int			 ch, lengths[6], formats[6], rc = CTL_ERR;

	while ((ch = getopt_long(argc, argv, ":n:u:k:s:h", opts, NULL)) != -1)
		switch (ch) {
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
			if (strcmp(optarg, "password") == 0)
				kind = KIND_PASSWORD;
			else if (strcmp(optarg, "private-key") == 0 ||
			    strcmp(optarg, "private_key") == 0)
				kind = KIND_KEY;
			else
				return ctl_usage_err("--kind: password or "
				    "private-key");
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_OK;
		default:
			return ctl_bad_option("credential add", ch, argc, argv);
		}
	if (optind != argc)
		return ctl_usage_err("credential add: unexpected argument "
		    "(the secret is read from stdin, never from the command "
		    "line)");
	if (name == NULL || user == NULL || scope_text == NULL)
		return ctl_usage_err("credential add: --name, --username and "
		    "--scope are required (--scope any allows every host)");
	if ((n = ctl_text_len(name)) < 1 || n > CRED_NAME_MAX)
		return ctl_usage_err("--name: 1 to %d characters of UTF-8 "
		    "text without control characters", CRED_NAME_MAX);
	if ((n = ctl_text_len(user)) < 1 || n > CRED_USERNAME_MAX)
		return ctl_usage_err("--username: 1 to %d characters of UTF-8 "
		    "text without control characters", CRED_USERNAME_MAX);
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

	if ((conn = ctl_db_connect(ctl)) == NULL)
		goto out;
	values[0] = name;
	values[1] = user;
	values[2] = kind->db;
	values[3] = key_id;
	values[4] = (const char *)box;
	values[5] = scope;
	memset(lengths, 0, sizeof(lengths));
	memset(formats, 0, sizeof(formats));
	lengths[4] = (int)boxlen;
	formats[4] = 1;
	res = PQexecParams(conn, sql_cred_add, 6, NULL, values, lengths,
	    formats, 0);
	if (ctl_db_state(res, "23505")) {
		ctl_warn("a credential named %s already exists", name);
		goto out;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		ctl_warn("credential add: %s",
		    ctl_db_error(conn, res, err, sizeof(err)));
		goto out;
	}
	printf("%s\n", PQgetvalue(res, 0, 0));
	rc = CTL_OK;
out:
	PQclear(res);
	if (conn != NULL)
		PQfinish(conn);
	if (secret != NULL)
		sodium_free(secret);
	free(box);
	free(scope);
	hs_master_free(&mk);
	return rc;
}

/* Display width in characters; control bytes print as '?'. */
size_t
ctl_cell_width(const char *s)
{
	long	 n = ctl_text_len(s);
	size_t	 i, w = 0;

	if (n >= 0)
		return (size_t)n;
	for (i = 0; s[i] != '\0'; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

void
ctl_print_cell(const char *s, size_t width, int last)
{
	size_t		 w = ctl_cell_width(s);
	const char	*p;

	for (p = s; *p != '\0'; p++)
		putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
	if (last) {
		putchar('\n');
		return;
	}
	for (; w < width + 2; w++)
		putchar(' ');
}

/* The SCOPE cell: a migrated credential's "any" was nobody's choice. */
static const char *
scope_cell(const PGresult *res, int row)
{
	return PQgetvalue(res, row, 6)[0] == 't' ? PQgetvalue(res, row, 5) :
	    "any (not set)";
}

static int
cred_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	/* Table column -> result column; the last one is scope_cell(). */
	static const char *const head[6] = {
		"ID", "NAME", "USERNAME", "KIND", "CREATED", "SCOPE"
	};
	PGconn		*conn = NULL;
	PGresult	*res = NULL;
	json_t		*arr = NULL, *o;
	char		*text = NULL, err[1024];
	const char	*v;
	size_t		 width[6], w;
	int		 ch, json = 0, row, col, rc = CTL_ERR;

	while ((ch = getopt_long(argc, argv, ":jh", opts, NULL)) != -1)
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_OK;
		default:
			return ctl_bad_option("credential list", ch, argc,
			    argv);
		}
	if (optind != argc)
		return ctl_usage_err("credential list: unexpected argument "
		    "\"%s\"", argv[optind]);
	if ((conn = ctl_db_connect(ctl)) == NULL)
		goto out;
	res = PQexecParams(conn, sql_cred_list, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 7) {
		ctl_warn("credential list: %s",
		    ctl_db_error(conn, res, err, sizeof(err)));
		goto out;
	}
	/* On stderr, so that the table and the JSON stay parseable. */
	for (row = 0; row < PQntuples(res); row++)
		if (PQgetvalue(res, row, 6)[0] != 't')
			ctl_warn("warning: credential %s has no scope of its "
			    "own (it predates scopes and may be used on any "
			    "host): set one with hostscanctl credential scope "
			    "%s LIST", PQgetvalue(res, row, 1),
			    PQgetvalue(res, row, 0));
	if (json) {
		if ((arr = json_array()) == NULL)
			goto nomem;
		for (row = 0; row < PQntuples(res); row++) {
			o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
			    "id", PQgetvalue(res, row, 0),
			    "name", PQgetvalue(res, row, 1),
			    "username", PQgetvalue(res, row, 2),
			    "kind", kind_cli(PQgetvalue(res, row, 3)),
			    "createdAt", PQgetvalue(res, row, 4),
			    "scope", PQgetvalue(res, row, 5),
			    "scopeSet", PQgetvalue(res, row, 6)[0] == 't');
			if (o == NULL || json_array_append_new(arr, o) == -1)
				goto nomem;
		}
		if ((text = json_dumps(arr, JSON_INDENT(2))) == NULL)
			goto nomem;
		printf("%s\n", text);
		rc = CTL_OK;
		goto out;
	}
	for (col = 0; col < 6; col++)
		width[col] = strlen(head[col]);
	for (row = 0; row < PQntuples(res); row++)
		for (col = 0; col < 6; col++) {
			v = col == 5 ? scope_cell(res, row) :
			    PQgetvalue(res, row, col);
			w = ctl_cell_width(col == 3 ? kind_cli(v) : v);
			if (w > width[col])
				width[col] = w;
		}
	for (col = 0; col < 6; col++)
		ctl_print_cell(head[col], width[col], col == 5);
	for (row = 0; row < PQntuples(res); row++)
		for (col = 0; col < 6; col++) {
			v = col == 5 ? scope_cell(res, row) :
			    PQgetvalue(res, row, col);
			ctl_print_cell(col == 3 ? kind_cli(v) : v, width[col],
			    col == 5);
		}
	rc = CTL_OK;
	goto out;
nomem:
	ctl_warn("credential list: cannot build the JSON output");
out:
	free(text);
	json_decref(arr);
	PQclear(res);
	if (conn != NULL)
		PQfinish(conn);
	return rc;
}

/* credential scope NAME|ID LIST: where an existing credential may be used. */
static int
cred_scope(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	PGconn		*conn = NULL;
	PGresult	*res = NULL;
	const char	*arg, *params[2];
	char		 err[1024], *scope = NULL;
	int		 ch, byid, rc = CTL_ERR;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
		switch (ch) {
		case 'h':
			ctl_usage(stdout);
			return CTL_OK;
		default:
			return ctl_bad_option("credential scope", ch, argc,
			    argv);
		}
	if (argc - optind != 2)
		return ctl_usage_err("credential scope: give one NAME or ID "
		    "and one LIST");
	arg = argv[optind];
	if (*arg == '\0' || strlen(arg) > 4 * CRED_NAME_MAX)
		return ctl_usage_err("credential scope: give one NAME or ID");
	if ((scope = scope_arg("credential scope", argv[optind + 1])) == NULL)
		return CTL_USAGE;
	if ((conn = ctl_db_connect(ctl)) == NULL)
		goto out;
	params[0] = arg;
	params[1] = scope;
	/* A name may look like a uuid: the id wins, then the name. */
	for (byid = hs_is_uuid(arg); byid >= 0; byid--) {
		PQclear(res);
		res = PQexecParams(conn, byid ? sql_cred_scope_id :
		    sql_cred_scope_name, 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			ctl_warn("credential scope: %s",
			    ctl_db_error(conn, res, err, sizeof(err)));
			goto out;
		}
		if (PQntuples(res) > 0)
			break;
	}
	if (PQntuples(res) == 0) {
		ctl_warn("no such credential: %s", arg);
		goto out;
	}
	printf("credential %s (%s) may be used on: %s\n",
	    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0), scope);
	rc = CTL_OK;
out:
	free(scope);
	PQclear(res);
	if (conn != NULL)
		PQfinish(conn);
	return rc;
}

static int
cred_rm(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	PGconn		*conn = NULL;
	PGresult	*res = NULL;
	const char	*arg, *params[1];
	char		 err[1024];
	int		 ch, byid, rc = CTL_ERR;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
		switch (ch) {
		case 'h':
			ctl_usage(stdout);
			return CTL_OK;
		default:
			return ctl_bad_option("credential rm", ch, argc, argv);
		}
	if (argc - optind != 1)
		return ctl_usage_err("credential rm: give one NAME or ID");
	arg = argv[optind];
	if (*arg == '\0' || strlen(arg) > 4 * CRED_NAME_MAX)
		return ctl_usage_err("credential rm: give one NAME or ID");
	if ((conn = ctl_db_connect(ctl)) == NULL)
		goto out;
	params[0] = arg;
	/* A name may look like a uuid: the id wins, then the name. */
	for (byid = hs_is_uuid(arg); byid >= 0; byid--) {
		PQclear(res);
		res = PQexecParams(conn, byid ? sql_cred_rm_id :
		    sql_cred_rm_name, 1, NULL, params, NULL, NULL, 0);
		if (ctl_db_state(res, "23503")) {
			ctl_warn("credential %s is used by queued or past "
			    "scans", arg);
			goto out;
		}
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			ctl_warn("credential rm: %s",
			    ctl_db_error(conn, res, err, sizeof(err)));
			goto out;
		}
		if (PQntuples(res) > 0)
			break;
	}
	if (PQntuples(res) == 0) {
		ctl_warn("no such credential: %s", arg);
		goto out;
	}
	printf("removed credential %s (%s)\n", PQgetvalue(res, 0, 1),
	    PQgetvalue(res, 0, 0));
	rc = CTL_OK;
out:
	PQclear(res);
	if (conn != NULL)
		PQfinish(conn);
	return rc;
}

int
ctl_credential(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "add", cred_add }, { "list", cred_list },
		{ "scope", cred_scope }, { "rm", cred_rm },
	};

	return ctl_subcommand(ctl, "credential", subs,
	    sizeof(subs) / sizeof(subs[0]), argc, argv);
}
