/* SPDX-License-Identifier: ISC */
/* audit: reads the credential audit trail (sql/008), one line per use or refusal. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	A_OUTCOME_AT };

/*
 * The table's columns and the JSON's members; oldest first, as a log
 * reads.  A use whose outcome never came shows as "unknown".
 */
static const struct ctl_col cols[] = {
	{ "TIME", "at", A_AT, CTL_COL_TEXT, NULL },
	{ "EVENT", "event", A_EVENT, CTL_COL_TEXT, NULL },
	{ "CREDENTIAL", "credentialName", A_CRED, CTL_COL_TEXT, NULL },
	{ NULL, "credentialId", A_CRED_ID, CTL_COL_TEXT, NULL },
	{ NULL, "credentialKind", A_KIND, CTL_COL_TEXT, NULL },
	{ "ADDRESS", "address", A_ADDR, CTL_COL_TEXT, NULL },
	{ "HOST KEY", "hostKeyFingerprint", A_FP, CTL_COL_TEXT, NULL },
	{ NULL, "method", A_METHOD, CTL_COL_TEXT, NULL },
	{ "OUTCOME", "outcome", A_OUTCOME, CTL_COL_TEXT, "unknown" },
	{ NULL, "outcomeAt", A_OUTCOME_AT, CTL_COL_TEXT, NULL },
	{ NULL, "detail", A_DETAIL, CTL_COL_TEXT, NULL },
	{ "SUBMITTED BY", "submittedBy", A_BY, CTL_COL_TEXT, NULL },
	{ "JOB", "jobId", A_JOB, CTL_COL_TEXT, NULL },
	{ "HOST SCAN", "hostScanHostId", A_SCAN, CTL_COL_TEXT, NULL },
	{ NULL, "scanAttempt", A_ATTEMPT, CTL_COL_INT, NULL },
	{ NULL, "dnsHostName", A_DNS, CTL_COL_TEXT, NULL },
	{ NULL, "actor", A_ACTOR, CTL_COL_TEXT, NULL },
};
static const struct ctl_list list = { "audit", cols,
    sizeof(cols) / sizeof(cols[0]), 1 };

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
	PGresult	*res;
	const char	*cred = NULL, *params[3], *errstr;
	char		 since_s[32], limit_s[32];
	long long	 limit = HS_AUDIT_DEFAULT_LIMIT;
	int64_t		 since = 0;
	int		 ch, json = 0, have_since = 0, n, rc;

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
		default:
			return ctl_option_default("audit", ch, argc, argv);
		}
	if (optind != argc)
		return ctl_usage_err("audit: unexpected argument \"%s\"",
		    argv[optind]);
	if (cred != NULL && (*cred == '\0' || strlen(cred) > 4096))
		return ctl_usage_err("audit: --credential: a credential name "
		    "or id");
	snprintf(since_s, sizeof(since_s), "%lld", (long long)since);
	/* One row more than shown tells whether older ones were left out. */
	snprintf(limit_s, sizeof(limit_s), "%lld", limit + 1);
	params[0] = cred;
	params[1] = have_since ? since_s : NULL;
	params[2] = limit_s;
	if ((res = ctl_db_query(ctl, "audit", sql_audit, 3, params,
	    NULL)) == NULL)
		return CTL_ERR;
	n = PQntuples(res);
	if (n > limit) {
		n = (int)limit;
		ctl_warn("audit: showing the newest %lld entries; older ones "
		    "match too (narrow with --since or raise --limit)", limit);
	}
	rc = ctl_list_print(&list, res, n, json);
	PQclear(res);
	return rc;
}
