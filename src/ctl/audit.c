/* audit: reads the credential audit trail (sql/008), one line per use or refusal. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "common.h"
#include "ctl.h"

/*
 * SQL of audit.c.  A use row joined with its outcome row (none when the
 * scheduler died in between: "unknown"); a refusal stands alone.  The
 * newest $3 rows, $1 a credential name or id, $2 epoch seconds.
 */
static const char sql_audit[] =
    "SELECT to_char(u.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " u.event, u.credential_name, u.credential_id, u.credential_kind,"
    " CASE WHEN u.address IS NULL THEN NULL"
    "  WHEN u.port IS NULL THEN u.address"
    "  WHEN position(':' IN u.address) > 0"
    "  THEN '[' || u.address || ']:' || u.port"
    "  ELSE u.address || ':' || u.port END,"
    " u.host_key_fingerprint, COALESCE(o.outcome, u.outcome),"
    " u.submitted_by, u.job_id, u.host_scan_host_id, u.scan_attempt,"
    " u.dns_host_name, COALESCE(o.method, u.method), u.actor,"
    " COALESCE(o.detail, u.detail),"
    " to_char(o.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
    "FROM credential_audit u LEFT JOIN credential_audit o"
    " ON o.use_id = u.use_id AND o.event = 'outcome' "
    "WHERE u.event IN ('use', 'refused')"
    " AND ($1::text IS NULL OR u.credential_name = $1"
    "  OR u.credential_id::text = lower($1))"
    " AND ($2::float8 IS NULL OR u.at >= to_timestamp($2::float8)) "
    "ORDER BY u.at DESC, u.id DESC LIMIT $3";

enum { A_AT, A_EVENT, A_CRED, A_CRED_ID, A_KIND, A_ADDR, A_FP, A_OUTCOME,
	A_BY, A_JOB, A_SCAN, A_ATTEMPT, A_DNS, A_METHOD, A_ACTOR, A_DETAIL,
	A_OUTCOME_AT, A__N };

/* Table column -> result column. */
static const struct {
	const char	*head;
	int		 col;
} table[] = {
	{ "TIME", A_AT }, { "EVENT", A_EVENT }, { "CREDENTIAL", A_CRED },
	{ "ADDRESS", A_ADDR }, { "HOST KEY", A_FP }, { "OUTCOME", A_OUTCOME },
	{ "SUBMITTED BY", A_BY }, { "JOB", A_JOB }, { "HOST SCAN", A_SCAN },
};
#define NCOLS	(sizeof(table) / sizeof(table[0]))

/*
 * --since: an RFC 3339 date-time, a date (midnight UTC), or a duration
 * back from now ("90m", "24h", "7d").
 */
static int
since_parse(const char *s, int64_t *out)
{
	char		 buf[40], unit;
	const char	*errstr;
	long long	 n;
	size_t		 len = strlen(s);

	if (hs_time_parse(s, out) == 0)
		return 0;
	if (len == 10 && snprintf(buf, sizeof(buf), "%sT00:00:00Z", s) > 0 &&
	    hs_time_parse(buf, out) == 0)
		return 0;
	if (len < 2 || len >= sizeof(buf))
		return -1;
	unit = s[len - 1];
	memcpy(buf, s, len - 1);
	buf[len - 1] = '\0';
	if (hs_strtonum(buf, 1, 100L * 366 * 86400, &n, &errstr) != 0)
		return -1;
	switch (unit) {
	case 's':
		break;
	case 'm':
		n *= 60;
		break;
	case 'h':
		n *= 3600;
		break;
	case 'd':
		n *= 86400;
		break;
	default:
		return -1;
	}
	*out = (int64_t)time(NULL) - n;
	return 0;
}

static const char *
cell(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return col == A_OUTCOME ? "unknown" : "-";
	return PQgetvalue(res, row, col);
}

static json_t *
opt(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? json_null() :
	    json_string(PQgetvalue(res, row, col));
}

static int
print_json(const PGresult *res, int n)
{
	json_t	*arr = json_array(), *o;
	char	*text = NULL;
	int	 row, rc = -1;

	if (arr == NULL)
		goto out;
	/* Oldest first, as a log reads. */
	for (row = n - 1; row >= 0; row--) {
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o,"
		    " s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		    "at", PQgetvalue(res, row, A_AT),
		    "event", PQgetvalue(res, row, A_EVENT),
		    "credentialName", PQgetvalue(res, row, A_CRED),
		    "credentialId", PQgetvalue(res, row, A_CRED_ID),
		    "credentialKind", PQgetvalue(res, row, A_KIND),
		    "address", opt(res, row, A_ADDR),
		    "hostKeyFingerprint", opt(res, row, A_FP),
		    "method", opt(res, row, A_METHOD),
		    "outcome", opt(res, row, A_OUTCOME),
		    "outcomeAt", opt(res, row, A_OUTCOME_AT),
		    "detail", opt(res, row, A_DETAIL),
		    "submittedBy", opt(res, row, A_BY),
		    "jobId", opt(res, row, A_JOB),
		    "hostScanHostId", opt(res, row, A_SCAN),
		    "scanAttempt", PQgetisnull(res, row, A_ATTEMPT) ?
		    json_null() : json_integer(atoi(PQgetvalue(res, row,
		    A_ATTEMPT))),
		    "dnsHostName", opt(res, row, A_DNS),
		    "actor", opt(res, row, A_ACTOR));
		if (o == NULL || json_array_append_new(arr, o) == -1)
			goto out;
	}
	if ((text = json_dumps(arr, JSON_INDENT(2))) == NULL)
		goto out;
	printf("%s\n", text);
	rc = 0;
out:
	free(text);
	json_decref(arr);
	return rc;
}

static void
print_table(const PGresult *res, int n)
{
	size_t	 width[NCOLS], w, c;
	int	 row;

	for (c = 0; c < NCOLS; c++)
		width[c] = strlen(table[c].head);
	for (row = 0; row < n; row++)
		for (c = 0; c < NCOLS; c++)
			if ((w = ctl_cell_width(cell(res, row,
			    table[c].col))) > width[c])
				width[c] = w;
	for (c = 0; c < NCOLS; c++)
		ctl_print_cell(table[c].head, width[c], c == NCOLS - 1);
	for (row = n - 1; row >= 0; row--)
		for (c = 0; c < NCOLS; c++)
			ctl_print_cell(cell(res, row, table[c].col), width[c],
			    c == NCOLS - 1);
}

int
ctl_audit(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "credential", required_argument, NULL, 'c' },
		{ "since", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	PGconn		*conn = NULL;
	PGresult	*res = NULL;
	const char	*cred = NULL, *params[3], *errstr;
	char		 since_s[32], limit_s[32], err[1024];
	long long	 limit = HS_AUDIT_DEFAULT_LIMIT;
	int64_t		 since = 0;
	int		 ch, json = 0, have_since = 0, n, rc = CTL_ERR;

	while ((ch = getopt_long(argc, argv, ":c:s:l:jh", opts, NULL)) != -1)
		switch (ch) {
		case 'c':
			cred = optarg;
			break;
		case 's':
			if (since_parse(optarg, &since) == -1)
				return ctl_usage_err("audit: --since: an RFC "
				    "3339 time (2026-05-01T12:00:00Z), a date "
				    "(2026-05-01) or a duration back from now "
				    "(90m, 24h, 7d)");
			have_since = 1;
			break;
		case 'l':
			if (hs_strtonum(optarg, 1, HS_AUDIT_MAX_LIMIT, &limit,
			    &errstr) != 0)
				return ctl_usage_err("audit: --limit: 1 to %d",
				    HS_AUDIT_MAX_LIMIT);
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_OK;
		default:
			return ctl_bad_option("audit", ch, argc, argv);
		}
	if (optind != argc)
		return ctl_usage_err("audit: unexpected argument \"%s\"",
		    argv[optind]);
	if (cred != NULL && (*cred == '\0' || strlen(cred) > 4096))
		return ctl_usage_err("audit: --credential: a credential name "
		    "or id");
	if ((conn = ctl_db_connect(ctl)) == NULL)
		goto out;
	snprintf(since_s, sizeof(since_s), "%lld", (long long)since);
	/* One row more than shown tells whether older ones were left out. */
	snprintf(limit_s, sizeof(limit_s), "%lld", limit + 1);
	params[0] = cred;
	params[1] = have_since ? since_s : NULL;
	params[2] = limit_s;
	res = PQexecParams(conn, sql_audit, 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQnfields(res) != A__N) {
		ctl_warn("audit: %s", ctl_db_error(conn, res, err,
		    sizeof(err)));
		goto out;
	}
	n = PQntuples(res);
	if (n > limit) {
		n = (int)limit;
		ctl_warn("audit: showing the newest %lld entries; older ones "
		    "match too (narrow with --since or raise --limit)", limit);
	}
	if (json) {
		if (print_json(res, n) == -1) {
			ctl_warn("audit: cannot build the JSON output");
			goto out;
		}
	} else
		print_table(res, n);
	rc = CTL_OK;
out:
	PQclear(res);
	if (conn != NULL)
		PQfinish(conn);
	return rc;
}
