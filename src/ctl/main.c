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
	    "[--kind password|private-key] < SECRET",
	"credential list [--json]",
	"credential scope NAME|ID LIST",
	"credential rm NAME|ID",
	"audit [--credential NAME] [--since TIME] [--limit N] [--json]",
	"job watch ID [--interval SECONDS]",
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

/*
 * After getopt_long (opterr = 0, option string starting with ':') returned
 * ch, which is '?' or ':'.
 */
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
ctl_bad_option(const char *cmd, int ch, int argc, char **argv)
{
	const char	*arg = optind > 0 && optind <= argc ?
	    argv[optind - 1] : NULL;
	const char	*sep = cmd != NULL ? ": " : "";

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

/*
 * Names and subjects end up in tables, JSON and log lines: strict UTF-8
 * (no overlong forms, no surrogates) and no C0/C1 controls.
 */
long
ctl_text_len(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	unsigned long		 c;
	size_t			 k, i;
	long			 n = 0;

	while (*p != '\0') {
		if (*p < 0x80) {
			c = *p;
			k = 1;
		} else if ((*p & 0xe0) == 0xc0) {
			c = *p & 0x1f;
			k = 2;
		} else if ((*p & 0xf0) == 0xe0) {
			c = *p & 0x0f;
			k = 3;
		} else if ((*p & 0xf8) == 0xf0) {
			c = *p & 0x07;
			k = 4;
		} else
			return -1;
		for (i = 1; i < k; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -1;
			c = c << 6 | (p[i] & 0x3f);
		}
		if ((k == 2 && c < 0x80) || (k == 3 && c < 0x800) ||
		    (k == 4 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff))
			return -1;
		if (c < 0x20 || (c >= 0x7f && c < 0xa0))
			return -1;
		p += k;
		n++;
	}
	return n;
}

/* Characters of a table cell ("-" when empty). */
static size_t
cell_width(const char *s)
{
	long	 n = ctl_text_len(s);

	return *s == '\0' ? 1 : n >= 0 ? (size_t)n : strlen(s);
}

void
ctl_table(const char *const *head, int ncol, const PGresult *res)
{
	size_t		*width, w;
	const char	*v;
	int		 row, col;

	width = hs_xmalloc((size_t)ncol * sizeof(*width));
	for (col = 0; col < ncol; col++)
		width[col] = strlen(head[col]);
	for (row = 0; row < PQntuples(res); row++)
		for (col = 0; col < ncol; col++)
			if ((w = cell_width(PQgetvalue(res, row, col))) >
			    width[col])
				width[col] = w;
	for (col = 0; col < ncol; col++)
		printf("%-*s%s", col == ncol - 1 ? 0 : (int)width[col] + 2,
		    head[col], col == ncol - 1 ? "\n" : "");
	for (row = 0; row < PQntuples(res); row++)
		for (col = 0; col < ncol; col++) {
			v = PQgetvalue(res, row, col);
			/* Pads by characters: names may be non-ASCII. */
			printf("%s", *v ? v : "-");
			if (col == ncol - 1)
				putchar('\n');
			else
				for (w = cell_width(v); w < width[col] + 2;
				    w++)
					putchar(' ');
		}
	free(width);
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
		case 'h':
			ctl_usage(stdout);
			return CTL_OK;
		case 'V':
			puts("hostscanctl " PACKAGE_VERSION);
			return CTL_OK;
		default:
			return ctl_bad_option(NULL, ch, argc, argv);
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
