/* SPDX-License-Identifier: ISC */
/* hostscanctl: the command table, usage, errors and the database helpers. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "common.h"
#include "ctl.h"

static const struct cmd {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
} cmds[] = {
	{ "keygen", ctl_keygen },
	{ "token", ctl_token },
	{ "migrate", ctl_migrate },
	{ "masterkey", ctl_masterkey },
	{ "credential", ctl_credential },
	{ "job", ctl_job },
	{ "import-csv", ctl_import_csv },
	{ "user", ctl_user },
	{ "session", ctl_session },
	{ "audit", ctl_audit },
	{ "scheduler", ctl_scheduler },
};

static const char *const usage_lines[] = {
	"keygen [--force]",
	"token issue --role ROLE[,ROLE...] --sub NAME [--name DISPLAY] "
	    "[--ttl SECONDS]",
	"token revoke JTI",
	"session list [--user NAME] [--json]",
	"session revoke SID | session revoke --user NAME",
	"migrate [--sql-dir DIR]",
	"masterkey new",
	"credential add --name NAME --username USER --scope LIST "
	    "[--kind password|private-key] [--zone ZONE] < SECRET",
	"credential list [--json]",
	"credential scope NAME|ID LIST",
	"credential zone NAME|ID ZONE",
	"credential rm NAME|ID",
	"audit [--credential NAME] [--since TIME] [--limit N] [--json]",
	"job watch ID [--interval SECONDS]",
	"scheduler list [--json]",
	"import-csv FILE [--credential NAME] [--dry-run] [--watch]",
	"user add NAME --role Admin|User < PASSWORD",
	"user passwd NAME < PASSWORD",
	"user totp NAME",
	"user enable NAME | user disable NAME | user unlock NAME",
	"user list [--json]",
	"user totpkey new",
};

/* The command being run: its usage lines are the ones worth showing. */
static const char	*cur_cmd;

void
ctl_usage(FILE *f)
{
	size_t	 i, len;
	int	 first = 1;

	if (cur_cmd != NULL) {
		len = strlen(cur_cmd);
		for (i = 0; i < sizeof(usage_lines) / sizeof(usage_lines[0]);
		    i++) {
			if (strncmp(usage_lines[i], cur_cmd, len) != 0 ||
			    usage_lines[i][len] != ' ')
				continue;
			fprintf(f, "%s hostscanctl [--config FILE] %s\n",
			    first ? "usage:" : "      ", usage_lines[i]);
			first = 0;
		}
		if (!first)
			return;
	}
	fputs("usage: hostscanctl [--config FILE] COMMAND [ARGS]\n"
	    "       hostscanctl --help | --version\n"
	    "commands:\n", f);
	for (i = 0; i < sizeof(usage_lines) / sizeof(usage_lines[0]); i++)
		fprintf(f, "  %s\n", usage_lines[i]);
	fputs("Secrets are read from stdin, never from the command line.\n",
	    f);
}

static void
vwarn(const char *fmt, va_list ap)
{
	fputs("hostscanctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
ctl_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

int
ctl_err(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	return CTL_ERR;
}

int
ctl_usage_err(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	ctl_usage(stderr);
	return CTL_USAGE;
}

int
ctl_subcommand(struct ctl *ctl, const char *group, const struct ctl_sub *subs,
    size_t n, int argc, char **argv)
{
	char	 names[256] = "";
	size_t	 i, len = 0;

	if (argc >= 2) {
		for (i = 0; i < n; i++)
			if (strcmp(argv[1], subs[i].name) == 0)
				return subs[i].run(ctl, argc - 1, argv + 1);
		if (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0) {
			ctl_usage(stdout);
			return CTL_OK;
		}
		return ctl_usage_err("%s: unknown subcommand \"%s\"", group,
		    argv[1]);
	}
	/* "add, list or rm?" */
	for (i = 0; i < n && len < sizeof(names); i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len,
		    "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
		    subs[i].name);
	return ctl_usage_err("%s: %s?", group, names);
}

int
ctl_option_default(const char *cmd, int ch, int argc, char **argv)
{
	const char	*arg = optind > 0 && optind <= argc ?
	    argv[optind - 1] : NULL;
	const char	*sep = cmd != NULL ? ": " : "";

	if (ch == 'h') {
		ctl_usage(stdout);
		return CTL_OK;
	}
	if (arg == NULL || arg[0] != '-' || (arg[1] != '-' && optopt != 0 &&
	    strchr(arg, optopt) == NULL))
		arg = "";
	if (cmd == NULL)
		cmd = "";
	if (ch == ':')
		return ctl_usage_err("%s%soption %s needs a value", cmd, sep,
		    arg);
	if (arg[0] == '-' && arg[1] != '-')
		return ctl_usage_err("%s%sunknown option -%c", cmd, sep,
		    optopt);
	return ctl_usage_err("%s%sunknown option %s", cmd, sep, arg);
}

char **
ctl_operands(const char *cmd, int argc, char **argv, int n, const char *what,
    int *json, int *rc)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	while ((ch = getopt_long(argc, argv, json != NULL ? ":jh" : ":h",
	    json != NULL ? opts : opts + 1, NULL)) != -1) {
		if (ch == 'j') {
			*json = 1;
			continue;
		}
		*rc = ctl_option_default(cmd, ch, argc, argv);
		return NULL;
	}
	if (argc - optind == n)
		return argv + optind;
	if (n == 0)
		*rc = ctl_usage_err("%s: unexpected argument \"%s\"", cmd,
		    argv[optind]);
	else
		*rc = ctl_usage_err("%s: give %s", cmd, what);
	return NULL;
}

const char *
ctl_cfg_name(const struct ctl *ctl)
{
	return ctl->cfg.path != NULL ? ctl->cfg.path : "the configuration";
}

/*
 * Notices of an idempotent migration ("already exists, skipping") are
 * noise; warnings are not.
 */
static void
notice_receiver(void *arg, const PGresult *res)
{
	const char	*sev = PQresultErrorField(res,
	    PG_DIAG_SEVERITY_NONLOCALIZED);
	const char	*msg = PQresultErrorField(res,
	    PG_DIAG_MESSAGE_PRIMARY);

	if (sev == NULL || msg == NULL)
		return;
	if (strcmp(sev, "WARNING") == 0 || strcmp(sev, "INFO") == 0)
		ctl_warn("database %s: %s", strcmp(sev, "INFO") ? "warning" :
		    "info", msg);
}

PGconn *
ctl_db_connect(const struct ctl *ctl)
{
	/* dbname last: what the conninfo string sets wins over our defaults. */
	const char	*keys[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char	*vals[4];
	char		 timeout[32], err[512];
	PGconn		*conn;

	snprintf(timeout, sizeof(timeout), "%ld", ctl->cfg.db_connect_timeout);
	vals[0] = timeout;
	vals[1] = "hostscanctl";
	vals[2] = ctl->cfg.admin_database != NULL ?
	    ctl->cfg.admin_database : "";
	vals[3] = NULL;
	if ((conn = PQconnectdbParams(keys, vals, 1)) == NULL) {
		ctl_warn("cannot connect to the database: out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		ctl_warn("cannot connect to the database (admin_database): %s",
		    ctl_db_error(conn, NULL, err, sizeof(err)));
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeReceiver(conn, notice_receiver, NULL);
	return conn;
}

const char *
ctl_db_error(PGconn *conn, const PGresult *res, char *buf, size_t size)
{
	const char	*msg = NULL;
	size_t		 i;

	if (res != NULL)
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL && res != NULL && *PQresultErrorMessage(res) != '\0')
		msg = PQresultErrorMessage(res);
	if (msg == NULL && conn != NULL)
		msg = PQerrorMessage(conn);
	if (msg == NULL || *msg == '\0')
		msg = "unknown error";
	hs_strlcpy(buf, msg, size);
	/* libpq ends its messages with newlines and may hold several lines. */
	for (i = strlen(buf); i > 0 && (buf[i - 1] == '\n' ||
	    buf[i - 1] == ' '); i--)
		buf[i - 1] = '\0';
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] == '\n' || buf[i] == '\t')
			buf[i] = ' ';
	return buf;
}

PGresult *
ctl_db_query(const struct ctl *ctl, const char *cmd, const char *sql, int n,
    const char *const *values, const char *quiet)
{
	PGconn		*conn;
	PGresult	*res;
	char		 err[1024];

	if ((conn = ctl_db_connect(ctl)) == NULL)
		return NULL;
	res = PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    (quiet == NULL || !ctl_db_state(res, quiet))) {
		ctl_warn("%s: %s", cmd, ctl_db_error(conn, res, err,
		    sizeof(err)));
		PQclear(res);
		res = NULL;
	}
	PQfinish(conn);
	return res;
}

char *
ctl_bytea(const unsigned char *bin, size_t len)
{
	char	*hex = hs_xmalloc(2 + 2 * len + 1);

	memcpy(hex, "\\x", 2);
	sodium_bin2hex(hex + 2, 2 * len + 1, bin, len);
	return hex;
}

int
ctl_db_state(const PGresult *res, const char *sqlstate)
{
	const char	*s;

	if (res == NULL ||
	    (s = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL)
		return 0;
	return strcmp(s, sqlstate) == 0;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl		 ctl;
	const struct cmd	*cmd = NULL;
	const char		*cfgarg = NULL, *env;
	char			 err[1024];
	size_t			 i;
	int			 ch, rc, required;

	hs_config_defaults(&ctl.cfg);
	opterr = 0;
	/* '+': options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+:c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgarg = optarg;
			break;
		case 'V':
			puts("hostscanctl " PACKAGE_VERSION);
			return CTL_OK;
		default:
			return ctl_option_default(NULL, ch, argc, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return ctl_usage_err("no command given");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			cmd = &cmds[i];
	if (cmd == NULL)
		return ctl_usage_err("unknown command \"%s\"", argv[0]);

	if (sodium_init() < 0)
		return ctl_err("cannot initialise libsodium");
	hs_log_init("hostscanctl", HS_LOG_WARN);
	/* The built-in default path may be absent; a named file may not. */
	required = cfgarg != NULL ||
	    ((env = getenv("HOSTSCAN_CONFIG")) != NULL && *env != '\0');
	if (hs_config_load(&ctl.cfg, hs_config_path(cfgarg), required, err,
	    sizeof(err)) == -1) {
		hs_config_free(&ctl.cfg);
		return ctl_err("%s", err);
	}
	/* Each command parses its own options from a fresh getopt state. */
	cur_cmd = cmd->name;
	optind = 0;
	rc = cmd->fn(&ctl, argc, argv);
	hs_config_free(&ctl.cfg);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		ctl_warn("cannot write to standard output");
		rc = CTL_ERR;
	}
	return rc;
}
