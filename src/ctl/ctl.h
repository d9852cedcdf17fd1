/* SPDX-License-Identifier: ISC */
/* hostscanctl: the operator CLI.  One file per group of commands. */
#ifndef HS_CTL_H
#define HS_CTL_H

#include <stdio.h>

#include <libpq-fe.h>

/*
 * Exit statuses: a runtime failure is 1, a wrong command line 2; job
 * watch of a job that does not exist is 3.
 */
enum { CTL_OK = 0, CTL_ERR = 1, CTL_USAGE = 2, CTL_NO_JOB = 3 };

struct ctl {
	struct hs_config	 cfg;
};

/* Each gets argv[0] = its own name, and returns an exit status. */
int	 ctl_keygen(struct ctl *, int, char **);		/* keys.c */
int	 ctl_token(struct ctl *, int, char **);			/* keys.c */
int	 ctl_masterkey(struct ctl *, int, char **);		/* keys.c */
int	 ctl_migrate(struct ctl *, int, char **);		/* migrate.c */
int	 ctl_credential(struct ctl *, int, char **);		/* credential.c */
int	 ctl_job(struct ctl *, int, char **);			/* watch.c */
int	 ctl_user(struct ctl *, int, char **);			/* user.c */
int	 ctl_session(struct ctl *, int, char **);		/* session.c */
int	 ctl_scheduler(struct ctl *, int, char **);	/* scheduler.c */
int	 ctl_audit(struct ctl *, int, char **);			/* audit.c */

/* main.c */
/* One subcommand of a command group ("credential add", "user list"...). */
struct ctl_sub {
	const char	*name;
	int		(*run)(struct ctl *, int, char **);
};
/*
 * Runs the subcommand argv[1] names, with argv shifted by one; a missing or
 * unknown one is a usage error that lists the table's names.
 */
int	 ctl_subcommand(struct ctl *, const char *group,
	    const struct ctl_sub *, size_t nsubs, int argc, char **argv);
void	 ctl_usage(FILE *);
/* "hostscanctl: MESSAGE" on stderr. */
void	 ctl_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
/* ctl_warn, then CTL_ERR. */
int	 ctl_err(const char *, ...) __attribute__((format(printf, 1, 2)));
/* The message and the usage on stderr, then CTL_USAGE. */
int	 ctl_usage_err(const char *, ...) __attribute__((format(printf, 1, 2)));
/*
 * The default: of every option switch, after getopt_long (opterr = 0, an
 * option string starting with ':') returned ch: 'h' shows the usage
 * (CTL_OK); '?' and ':' are usage errors.
 */
int	 ctl_option_default(const char *cmd, int ch, int argc, char **argv);
/*
 * The operands of a command whose only options are --help and, when json
 * is not NULL, --json (which sets *json): argv from the first operand, or
 * NULL with the exit status in *rc.  Exactly n operands, else a usage
 * error: "CMD: give WHAT", or for n == 0 the first unexpected one named.
 */
char	**ctl_operands(const char *cmd, int argc, char **argv, int n,
	    const char *what, int *json, int *rc);
/* The configuration file's name for messages. */
const char *ctl_cfg_name(const struct ctl *);

/*
 * Connects with admin_database (empty: libpq defaults and the PG*
 * environment).  NULL after saying why.
 */
PGconn	*ctl_db_connect(const struct ctl *);
/* PostgreSQL's primary message (or the connection's), one line. */
const char *ctl_db_error(PGconn *, const PGresult *, char *, size_t);
/* 1 when res failed with this SQLSTATE. */
int	 ctl_db_state(const PGresult *, const char *sqlstate);
/*
 * Runs sql with text parameters (NULL is SQL NULL) on a connection of its
 * own.  Returns the result of a statement that returned rows
 * (PGRES_TUPLES_OK, perhaps none), else NULL after "CMD: MESSAGE" -- but a
 * failure with SQLSTATE quiet (NULL: none) is returned as it is, for the
 * caller to say what it means.
 */
PGresult *ctl_db_query(const struct ctl *, const char *cmd, const char *sql,
	    int n, const char *const *values, const char *quiet);
/* A bytea parameter in PostgreSQL's hex text form ("\x0a1b..."); malloc'd. */
char	*ctl_bytea(const unsigned char *, size_t);

/* list.c: the output of the list commands, described by their columns. */
enum ctl_col_type {
	CTL_COL_TEXT,
	CTL_COL_INT,			/* a JSON number */
	CTL_COL_BOOL			/* t/f: yes/no in the table */
};
struct ctl_col {
	const char		*head;	/* table header; NULL: JSON only */
	const char		*key;	/* JSON member; NULL: table only */
	int			 field;	/* column of the result */
	enum ctl_col_type	 type;
	const char		*null;	/* the table's NULL; NULL: "-" */
};
struct ctl_list {
	const char		*cmd;	/* "user list": names its errors */
	const struct ctl_col	*cols;
	size_t			 ncols;
	int			 oldest_first;	/* rows last to first */
};
/*
 * The first n rows of res as a table (padded by characters, "-" for an
 * empty cell, controls and malformed UTF-8 as '?'), or with json as an
 * array of objects (null for SQL NULL).  CTL_OK, or CTL_ERR after saying
 * why.
 */
int	 ctl_list_print(const struct ctl_list *, const PGresult *res, int n,
	    int json);
/* Runs sql (ctl_db_query) and prints all its rows: an exit status. */
int	 ctl_list_query(const struct ctl *, const struct ctl_list *,
	    const char *sql, int n, const char *const *values, int json);

/* importcsv.c */
int	 ctl_import_csv(struct ctl *, int, char **);

/*
 * keys.c: signs a token with signing_key (said why when it cannot); *token
 * is malloc'd, the caller zeroes and frees it.  exp may be NULL.
 */
int	 ctl_token_mint(const struct ctl *, const char *sub, const char *name,
	    const char *const *roles, size_t nroles, long long ttl,
	    char **token, char jti[HS_UUID_LEN + 1], int64_t *exp);
/*
 * keys.c: a new key first in the key file the config key names
 * (master_key, totp_key), its id printed; an exit status.
 */
int	 ctl_keyfile_new(const struct ctl *, const char *cmd,
	    const char *key, const char *path);

/* watch.c: job watch for one job id (lower-case uuid); an exit status. */
int	 ctl_watch(struct ctl *, const char *job, long long interval);

/*
 * tty.c: a secret from stdin into buf (at most cap bytes).  On a terminal
 * after prompt, with echo off, until done(buf, len) says the input is
 * complete; from a pipe or file until end of file.  The length read, or
 * -1 after saying why.
 */
long	 ctl_read_secret(const char *prompt, unsigned char *buf, size_t cap,
	    int (*done)(const unsigned char *, size_t));
/* A done() for ctl_read_secret: one line. */
int	 ctl_line_done(const unsigned char *, size_t);

/* http.c: one JSON request to the API (libcurl). */
struct ctl_http {
	long	 status;		/* HTTP status, 0 when none came */
	char	*body;			/* malloc'd, NUL-terminated */
	size_t	 len;
	json_t	*json;			/* the body when it parsed as JSON */
	char	 retry_after[32];	/* of a 429/503, "" when none */
};
/*
 * POSTs body to api_url (env HOSTSCAN_URL) + path with the bearer token
 * and, when idem_key is not NULL, that Idempotency-Key.  0 when an answer
 * came (any status), -1 after saying why none did.
 */
int	 ctl_http_post(const struct ctl *, const char *token, const char *path,
	    const char *idem_key, const char *body, size_t len,
	    struct ctl_http *out);
void	 ctl_http_free(struct ctl_http *);

/* csv.c: RFC 4180 records from a buffer in memory (pure). */
enum csv_err {
	CSV_OK = 0,
	CSV_END,
	CSV_ERR_QUOTE_INSIDE,
	CSV_ERR_QUOTE_AFTER,
	CSV_ERR_UNTERMINATED,
	CSV_ERR_FIELD_LONG,
	CSV_ERR_RECORD_LONG,
	CSV_ERR_COLUMNS,
	CSV_ERR_UTF8,
	CSV_ERR_NUL,
	CSV_ERR_NOMEM
};
struct csv {
	const char	*p, *end;
	size_t		 lineno;	/* line of p */
	size_t		 row;		/* of the last record, blank lines count */
	size_t		 line;		/* where the last record starts */
	char		*buf;		/* the fields of the last record */
	size_t		 len;
	char		**field;
	size_t		 nfield;
	size_t		 max_field;	/* bytes; HS_CSV_* by default */
	size_t		 max_record;
	size_t		 max_columns;
};
/* Skips a UTF-8 byte order mark; data must outlive the parser. */
void	 csv_init(struct csv *, const char *data, size_t len);
enum csv_err csv_next(struct csv *);
void	 csv_free(struct csv *);
const char *csv_strerror(enum csv_err);

#endif
