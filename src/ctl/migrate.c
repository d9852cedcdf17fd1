/* SPDX-License-Identifier: ISC */
/*
 * migrate: applies sql/NNN_*.sql in number order, each once, each in its
 * own transaction together with its row in schema_migration.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common.h"
#include "ctl.h"

/* SQL of migrate.c */
/* Any fixed number: every hostscanctl migrate on a database takes it. */
#define MIGRATE_LOCK_KEY	"4846547331640771170"
static const char sql_try_lock[] = "SELECT pg_try_advisory_lock($1::bigint)";
static const char sql_lock[] = "SELECT pg_advisory_lock($1::bigint)";
static const char sql_create[] =
    "CREATE TABLE IF NOT EXISTS schema_migration ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";
static const char sql_applied[] = "SELECT version, name FROM schema_migration";
static const char sql_record[] =
    "INSERT INTO schema_migration (version, name) VALUES ($1::integer, $2)";
static const char sql_begin[] = "BEGIN";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";

#define MIGRATE_MAX_FILES	1000
#define MIGRATE_MAX_BYTES	(16L * 1024 * 1024)
#define MIGRATE_MAX_VERSION	2147483647LL	/* integer column */

struct migration {
	long long	 version;
	char		*name;
	int		 applied;
};

static int
migration_cmp(const void *a, const void *b)
{
	const struct migration	*x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* "NNN_something.sql": returns the number, or -1 for any other name. */
static long long
migration_version(const char *name)
{
	char		 num[16];
	size_t		 digits = strspn(name, "0123456789"), len = strlen(name);
	long long	 v;
	const char	*errstr;

	if (digits == 0 || digits >= sizeof(num) || name[digits] != '_' ||
	    len < digits + 1 + 1 + 4 || strcmp(name + len - 4, ".sql") != 0)
		return -1;
	memcpy(num, name, digits);
	num[digits] = '\0';
	if (hs_strtonum(num, 0, MIGRATE_MAX_VERSION, &v, &errstr) == -1)
		return -1;
	return v;
}

static int
migrations_list(const char *dir, struct migration **out, size_t *nout)
{
	DIR			*d = NULL;
	struct dirent		*de;
	struct migration	*m = NULL;
	size_t			 n = 0, i;
	long long		 v;
	int			 rc = -1;

	*out = NULL;
	*nout = 0;
	if ((d = opendir(dir)) == NULL) {
		ctl_warn("migrate: %s: %s", dir, strerror(errno));
		goto out;
	}
	m = hs_xmalloc(MIGRATE_MAX_FILES * sizeof(*m));
	while ((errno = 0, de = readdir(d)) != NULL) {
		if ((v = migration_version(de->d_name)) < 0)
			continue;
		if (n == MIGRATE_MAX_FILES) {
			ctl_warn("migrate: %s: more than %d migrations", dir,
			    MIGRATE_MAX_FILES);
			goto out;
		}
		m[n].version = v;
		m[n].name = hs_strdup(de->d_name);
		m[n].applied = 0;
		n++;
	}
	if (errno != 0) {
		ctl_warn("migrate: %s: %s", dir, strerror(errno));
		goto out;
	}
	if (n == 0) {
		ctl_warn("migrate: no NNN_*.sql file in %s", dir);
		goto out;
	}
	qsort(m, n, sizeof(*m), migration_cmp);
	for (i = 1; i < n; i++)
		if (m[i].version == m[i - 1].version) {
			ctl_warn("migrate: %s and %s have the same number %lld",
			    m[i - 1].name, m[i].name, m[i].version);
			goto out;
		}
	*out = m;
	*nout = n;
	m = NULL;
	rc = 0;
out:
	if (m != NULL) {
		for (i = 0; i < n; i++)
			free(m[i].name);
		free(m);
	}
	if (d != NULL)
		closedir(d);
	return rc;
}

static int
exec_ok(PGconn *conn, const char *what, PGresult *res)
{
	char	 err[1024];
	int	 st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		return 0;
	}
	ctl_warn("migrate: %s: %s", what, ctl_db_error(conn, res, err,
	    sizeof(err)));
	PQclear(res);
	return -1;
}

/* Line of the 1-based character position PostgreSQL reported in text. */
static long
error_line(const char *text, const PGresult *res)
{
	const char	*pos = PQresultErrorField(res,
	    PG_DIAG_STATEMENT_POSITION);
	const unsigned char	*p = (const unsigned char *)text;
	const char		*errstr;
	long long		 want, chars = 0;
	long			 line = 1;
	uint32_t		 c;
	size_t			 k;

	if (pos == NULL || hs_strtonum(pos, 1, MIGRATE_MAX_BYTES, &want,
	    &errstr) == -1)
		return 0;
	/* PostgreSQL counts the position in characters. */
	for (; *p != '\0'; p += k) {
		if (++chars == want)
			return line;
		if (*p == '\n')
			line++;
		if ((k = hs_utf8_decode(p, SIZE_MAX, &c)) == 0)
			k = 1;
	}
	return 0;
}

/* The file's own error, with PostgreSQL's detail and hint when given. */
static void
report_failure(PGconn *conn, const char *name, const char *text,
    const PGresult *res)
{
	char		 msg[1024], where[32] = "";
	const char	*detail = NULL, *hint = NULL;
	long		 line;

	if (res != NULL) {
		detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		if ((line = error_line(text, res)) > 0)
			snprintf(where, sizeof(where), ":%ld", line);
	}
	ctl_warn("migrate: %s%s: %s%s%s%s%s (nothing of it applied)", name,
	    where, ctl_db_error(conn, res, msg, sizeof(msg)),
	    detail ? "; detail: " : "", detail ? detail : "",
	    hint ? "; hint: " : "", hint ? hint : "");
}

static int
apply_one(PGconn *conn, const char *dir, const struct migration *m)
{
	PGresult	*res = NULL;
	char		 path[HS_MAX_PATH_LEN + 1], version[24];
	char		*text = NULL;
	const char	*params[2];
	size_t		 len;
	int		 st, rc = -1, in_tx = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, m->name) >=
	    (int)sizeof(path)) {
		ctl_warn("migrate: %s/%s: path too long", dir, m->name);
		goto out;
	}
	if ((text = hs_read_file(path, MIGRATE_MAX_BYTES, &len)) == NULL) {
		ctl_warn("migrate: %s: %s", path, errno == EFBIG ?
		    "file too large" : strerror(errno));
		goto out;
	}
	if (strlen(text) != len) {
		ctl_warn("migrate: %s: contains a NUL byte", path);
		goto out;
	}
	if (exec_ok(conn, "BEGIN", PQexec(conn, sql_begin)) == -1)
		goto out;
	in_tx = 1;
	/* Shipped, trusted SQL of several statements: the one PQexec. */
	res = PQexec(conn, text);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
	    st != PGRES_EMPTY_QUERY) {
		report_failure(conn, m->name, text, res);
		goto out;
	}
	PQclear(res);
	res = NULL;
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		in_tx = 0;
		ctl_warn("migrate: %s ends the transaction itself (COMMIT or "
		    "ROLLBACK); it was not recorded and must be fixed", m->name);
		goto out;
	}
	snprintf(version, sizeof(version), "%lld", m->version);
	params[0] = version;
	params[1] = m->name;
	if (exec_ok(conn, m->name, PQexecParams(conn, sql_record, 2, NULL,
	    params, NULL, NULL, 0)) == -1)
		goto out;
	in_tx = 0;
	if (exec_ok(conn, "COMMIT", PQexec(conn, sql_commit)) == -1)
		goto out;
	printf("applied %s\n", m->name);
	fflush(stdout);
	rc = 0;
out:
	PQclear(res);
	if (in_tx)
		PQclear(PQexec(conn, sql_rollback));
	free(text);
	return rc;
}

int
ctl_migrate(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sql-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct migration	*m = NULL;
	PGconn			*conn = NULL;
	PGresult		*res = NULL;
	const char		*dir = ctl->cfg.sql_dir, *params[1];
	const char		*errstr, *name;
	size_t			 n = 0, i, pending = 0;
	long long		 v;
	int			 ch, row, st, rc = CTL_ERR;

	while ((ch = getopt_long(argc, argv, ":d:h", opts, NULL)) != -1)
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		default:
			return ctl_option_default("migrate", ch, argc, argv);
		}
	if (optind != argc)
		return ctl_usage_err("migrate: unexpected argument \"%s\"",
		    argv[optind]);
	if (dir == NULL || *dir == '\0')
		return ctl_err("migrate: sql_dir is not set");
	if (migrations_list(dir, &m, &n) == -1)
		goto out;
	if ((conn = ctl_db_connect(ctl)) == NULL)
		goto out;

	params[0] = MIGRATE_LOCK_KEY;
	res = PQexecParams(conn, sql_try_lock, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		ctl_warn("migrate: waiting for another migrate to finish");
		PQclear(res);
		res = PQexecParams(conn, sql_lock, 1, NULL, params, NULL,
		    NULL, 0);
	}
	st = exec_ok(conn, "advisory lock", res);
	res = NULL;
	if (st == -1 || exec_ok(conn, "schema_migration",
	    PQexecParams(conn, sql_create, 0, NULL, NULL, NULL, NULL, 0)) == -1)
		goto out;

	res = PQexecParams(conn, sql_applied, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		exec_ok(conn, "schema_migration", res);
		res = NULL;
		goto out;
	}
	for (row = 0; row < PQntuples(res); row++) {
		if (hs_strtonum(PQgetvalue(res, row, 0), 0,
		    MIGRATE_MAX_VERSION, &v, &errstr) == -1)
			continue;
		name = PQgetvalue(res, row, 1);
		for (i = 0; i < n; i++)
			if (m[i].version == v) {
				m[i].applied = 1;
				if (strcmp(m[i].name, name) != 0)
					ctl_warn("migrate: warning: number "
					    "%lld was applied as %s, the file "
					    "is now %s", v, name, m[i].name);
			}
	}
	PQclear(res);
	res = NULL;

	for (i = 0; i < n; i++) {
		if (m[i].applied)
			continue;
		pending++;
		if (apply_one(conn, dir, &m[i]) == -1)
			goto out;
	}
	if (pending == 0)
		printf("up to date\n");
	rc = CTL_OK;
out:
	PQclear(res);
	if (conn != NULL)
		PQfinish(conn);	/* also releases the advisory lock */
	for (i = 0; i < n; i++)
		free(m[i].name);
	free(m);
	return rc;
}
