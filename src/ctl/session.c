/* SPDX-License-Identifier: ISC */
/*
 * session list | revoke: the sign-in sessions of /signin2fa (sql/009).
 * Revoking a session ends every token minted for it, renewals included:
 * the responders refuse them at once (NOTIFY hostscan_revoke empties
 * their token caches).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common.h"
#include "ctl.h"

/* SQL of session.c */
#define TS(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* $1 login or NULL, $2 signin_session_max in seconds. */
static const char sql_session_list[] =
    "SELECT s.sid, s.login,"
    " CASE WHEN s.revoked_at IS NOT NULL THEN 'revoked'"
    "  WHEN s.started_at + make_interval(secs => $2::bigint) <= now()"
    "  THEN 'ended' ELSE 'active' END,"
    " " TS("s.started_at") ","
    " " TS("s.started_at + make_interval(secs => $2::bigint)") ","
    " count(t.jti), " TS("max(t.issued_at)") ","
    " " TS("s.revoked_at") " "
    "FROM signin_session s LEFT JOIN session_token t ON t.sid = s.sid "
    "WHERE $1::text IS NULL OR s.login = $1 "
    "GROUP BY s.sid ORDER BY s.started_at DESC, s.sid";
/* Revoked now; whether the session exists; its tokens. */
static const char sql_session_revoke[] =
    "WITH u AS (UPDATE signin_session SET revoked_at = now()"
    " WHERE sid = $1 AND revoked_at IS NULL RETURNING sid) "
    "SELECT (SELECT count(*) FROM u),"
    " (SELECT count(*) FROM signin_session WHERE sid = $1),"
    " (SELECT count(*) FROM session_token WHERE sid = $1)";
/* $1 login, $2 signin_session_max: the sessions of a user not yet over. */
static const char sql_session_revoke_user[] =
    "UPDATE signin_session SET revoked_at = now() "
    "WHERE login = $1 AND revoked_at IS NULL"
    " AND started_at + make_interval(secs => $2::bigint) > now() "
    "RETURNING sid";
#undef TS

static int
check_text(const char *cmd, const char *what, const char *s, size_t max)
{
	if (hs_utf8_text_len(s) < 1 || strlen(s) > max)
		return ctl_usage_err("%s: %s is 1 to %zu bytes of text", cmd,
		    what, max);
	return CTL_OK;
}

static int
session_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct ctl_col cols[] = {
		{ "SID", "sid", 0, CTL_COL_TEXT, NULL },
		{ "USER", "user", 1, CTL_COL_TEXT, NULL },
		{ "STATE", "state", 2, CTL_COL_TEXT, NULL },
		{ "STARTED", "startedAt", 3, CTL_COL_TEXT, NULL },
		{ "ENDS", "endsAt", 4, CTL_COL_TEXT, NULL },
		{ "TOKENS", "tokens", 5, CTL_COL_INT, NULL },
		{ "LAST_TOKEN", "lastTokenAt", 6, CTL_COL_TEXT, NULL },
		{ "REVOKED", "revokedAt", 7, CTL_COL_TEXT, NULL },
	};
	static const struct ctl_list list = { "session list", cols,
	    sizeof(cols) / sizeof(cols[0]), 0 };
	const char	*user = NULL, *p[2];
	char		 max[24];
	int		 ch, json = 0;

	while ((ch = getopt_long(argc, argv, ":u:jh", opts, NULL)) != -1)
		switch (ch) {
		case 'u':
			user = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return ctl_option_default(list.cmd, ch, argc, argv);
		}
	if (optind != argc)
		return ctl_usage_err("session list: unexpected argument "
		    "\"%s\"", argv[optind]);
	if (user != NULL && check_text("session list", "--user", user,
	    HS_MAX_LOGIN_BYTES) != CTL_OK)
		return CTL_USAGE;
	snprintf(max, sizeof(max), "%ld", ctl->cfg.signin_session_max);
	p[0] = user;
	p[1] = max;
	return ctl_list_query(ctl, &list, sql_session_list, 2, p, json);
}

static int
session_revoke(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	PGresult	*res = NULL;
	const char	*user = NULL, *sid = NULL, *p[2];
	char		 max[24];
	int		 ch, row, rc = CTL_ERR;

	while ((ch = getopt_long(argc, argv, ":u:h", opts, NULL)) != -1)
		switch (ch) {
		case 'u':
			user = optarg;
			break;
		default:
			return ctl_option_default("session revoke", ch, argc,
			    argv);
		}
	if (user == NULL && argc - optind == 1)
		sid = argv[optind];
	else if (user == NULL || argc != optind)
		return ctl_usage_err("session revoke: give one SID, or "
		    "--user NAME");
	if (sid != NULL && !hs_is_uuid(sid))
		return ctl_usage_err("session revoke: \"%s\" is not a SID (a "
		    "uuid)", sid);
	if (user != NULL && check_text("session revoke", "--user", user,
	    HS_MAX_LOGIN_BYTES) != CTL_OK)
		return CTL_USAGE;
	if (sid != NULL) {
		p[0] = sid;
		if ((res = ctl_db_query(ctl, "session revoke",
		    sql_session_revoke, 1, p, NULL)) == NULL)
			goto out;
		if (strcmp(PQgetvalue(res, 0, 1), "0") == 0) {
			ctl_warn("session revoke: no session %s", sid);
			goto out;
		}
		if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
			printf("session %s was already revoked\n", sid);
		else
			printf("revoked session %s (%s tokens)\n", sid,
			    PQgetvalue(res, 0, 2));
		rc = CTL_OK;
		goto out;
	}
	snprintf(max, sizeof(max), "%ld", ctl->cfg.signin_session_max);
	p[0] = user;
	p[1] = max;
	if ((res = ctl_db_query(ctl, "session revoke", sql_session_revoke_user,
	    2, p, NULL)) == NULL)
		goto out;
	for (row = 0; row < PQntuples(res); row++)
		printf("revoked session %s\n", PQgetvalue(res, row, 0));
	printf("revoked %d session%s of %s\n", PQntuples(res),
	    PQntuples(res) == 1 ? "" : "s", user);
	rc = CTL_OK;
out:
	PQclear(res);
	return rc;
}

int
ctl_session(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "list", session_list }, { "revoke", session_revoke },
	};

	return ctl_subcommand(ctl, "session", subs,
	    sizeof(subs) / sizeof(subs[0]), argc, argv);
}
