/* hostscanctl: the operator CLI.  One file per group of commands. */
#ifndef HS_CTL_H
#define HS_CTL_H

#include <stdio.h>

#include <libpq-fe.h>

/* Exit statuses: a runtime failure is 1, a wrong command line 2. */
enum { CTL_OK = 0, CTL_ERR = 1, CTL_USAGE = 2 };

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

/* main.c */
void	 ctl_usage(FILE *);
/* "hostscanctl: MESSAGE" on stderr. */
void	 ctl_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
/* ctl_warn, then CTL_ERR. */
int	 ctl_err(const char *, ...) __attribute__((format(printf, 1, 2)));
/* The message and the usage on stderr, then CTL_USAGE. */
int	 ctl_usage_err(const char *, ...) __attribute__((format(printf, 1, 2)));
/* After getopt_long returned ch ('?' or ':'). */
int	 ctl_bad_option(const char *cmd, int ch, int argc, char **argv);

/*
 * The number of characters of s when it is valid UTF-8 free of control
 * characters, else -1.
 */
long	 ctl_text_len(const char *s);

/*
 * Connects with admin_database (empty: libpq defaults and the PG*
 * environment).  NULL after saying why.
 */
PGconn	*ctl_db_connect(const struct ctl *);
/* PostgreSQL's primary message (or the connection's), one line. */
const char *ctl_db_error(PGconn *, const PGresult *, char *, size_t);
/* 1 when res failed with this SQLSTATE. */
int	 ctl_db_state(const PGresult *, const char *sqlstate);

#endif
