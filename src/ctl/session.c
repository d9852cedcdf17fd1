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

#include <jansson.h>
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
    " count(t.jti)::text, COALESCE(" TS("max(t.issued_at)") ", ''),"
    " COALESCE(" TS("s.revoked_at") ", '') "
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
	static const char *const head[] = {
		"SID", "USER", "STATE", "STARTED", "ENDS", "TOKENS",
		"LAST_TOKEN", "REVOKED"
	};
	enum { NCOL = sizeof(head) / sizeof(head[0]) };
	PGconn		*conn = NULL;
	PGresult	*res = NULL;
	json_t		*arr = NULL, *o;
	const char	*user = NULL, *p[2], *last, *rev;
	char		*text = NULL, err[1024], max[24];
	int		 ch, json = 0, row, rc = CTL_ERR;

	while ((ch = getopt_long(argc, argv, ":u:jh", opts, NULL)) != -1)
		switch (ch) {
		case 'u':
			user = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_OK;
		default:
			return ctl_bad_option("session list", ch, argc, argv);
		}
	if (optind != argc)
		return ctl_usage_err("session list: unexpected argument "
		    "\"%s\"", argv[optind]);
	if (user != NULL && check_text("session list", "--user", user,
	    HS_MAX_LOGIN_BYTES) != CTL_OK)
		return CTL_USAGE;
	if ((conn = ctl_db_connect(ctl)) == NULL)
		goto out;
	snprintf(max, sizeof(max), "%ld", ctl->cfg.signin_session_max);
	p[0] = user;
	p[1] = max;
	res = PQexecParams(conn, sql_session_list, 2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != NCOL) {
		ctl_warn("session list: %s", ctl_db_error(conn, res, err,
		    sizeof(err)));
		goto out;
	}
	if (!json) {
		ctl_table(head, NCOL, res);
		rc = CTL_OK;
		goto out;
	}
	if ((arr = json_array()) == NULL)
		goto nomem;
	for (row = 0; row < PQntuples(res); row++) {
		last = PQgetvalue(res, row, 6);
		rev = PQgetvalue(res, row, 7);
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o}",
		    "sid", PQgetvalue(res, row, 0),
		    "user", PQgetvalue(res, row, 1),
		    "state", PQgetvalue(res, row, 2),
		    "startedAt", PQgetvalue(res, row, 3),
		    "endsAt", PQgetvalue(res, row, 4),
		    "tokens", (json_int_t)strtoll(PQgetvalue(res, row, 5),
		    NULL, 10),
		    "lastTokenAt", *last ? json_string(last) : json_null(),
		    "revokedAt", *rev ? json_string(rev) : json_null());
		if (o == NULL || json_array_append_new(arr, o) == -1)
			goto nomem;
	}
	if ((text = json_dumps(arr, JSON_INDENT(2))) == NULL)
		goto nomem;
	printf("%s\n", text);
	rc = CTL_OK;
	goto out;
nomem:
	ctl_warn("session list: cannot build the JSON output");
out:
	free(text);
	json_decref(arr);
	PQclear(res);
	if (conn != NULL)
		PQfinish(conn);
	return rc;
}

static int
session_revoke(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	PGconn		*conn = NULL;
	PGresult	*res = NULL;
	const char	*user = NULL, *sid = NULL, *p[2];
	char		 err[1024], max[24];
	int		 ch, row, rc = CTL_ERR;

	while ((ch = getopt_long(argc, argv, ":u:h", opts, NULL)) != -1)
		switch (ch) {
		case 'u':
			user = optarg;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_OK;
		default:
			return ctl_bad_option("session revoke", ch, argc,
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
	if ((conn = ctl_db_connect(ctl)) == NULL)
		goto out;
	if (sid != NULL) {
		p[0] = sid;
		res = PQexecParams(conn, sql_session_revoke, 1, NULL, p, NULL,
		    NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK ||
		    PQntuples(res) != 1) {
			ctl_warn("session revoke: %s", ctl_db_error(conn, res,
			    err, sizeof(err)));
			goto out;
		}
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
	res = PQexecParams(conn, sql_session_revoke_user, 2, NULL, p, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ctl_warn("session revoke: %s", ctl_db_error(conn, res, err,
		    sizeof(err)));
		goto out;
	}
	for (row = 0; row < PQntuples(res); row++)
		printf("revoked session %s\n", PQgetvalue(res, row, 0));
	printf("revoked %d session%s of %s\n", PQntuples(res),
	    PQntuples(res) == 1 ? "" : "s", user);
	rc = CTL_OK;
out:
	PQclear(res);
	if (conn != NULL)
		PQfinish(conn);
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
