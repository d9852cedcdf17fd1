/* SPDX-License-Identifier: ISC */
/*
 * The worker's PostgreSQL connection: connect and prepare db.c's
 * statements, run one, transactions, and noticing a connection lost while
 * idle (a server restart) before a request depends on it.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

void
db_close(struct worker *w)
{
	if (w->db != NULL)
		PQfinish(w->db);
	w->db = NULL;
	/* in_tx stays: the transaction's later statements must fail. */
}

static int
db_connect(struct worker *w)
{
	/*
	 * dbname last, expanded: what api_database sets (a connect_timeout,
	 * a list of hosts, target_session_attrs) wins over our defaults, as
	 * in hostscanctl and hostscand.
	 */
	const char	*keys[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char	*vals[4];
	char		 timeout[16], qerr[512];
	PGresult	*res;
	size_t		 i;

	snprintf(timeout, sizeof(timeout), "%ld", w->cfg->db_connect_timeout);
	vals[0] = timeout;
	vals[1] = "hostscan.fcgi";
	vals[2] = w->cfg->api_database ? w->cfg->api_database : "";
	vals[3] = NULL;
	w->db = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(w->db) != CONNECTION_OK) {
		hs_log(HS_LOG_WARN, "db_connect_failed", "error=%s",
		    hs_logq(qerr, sizeof(qerr), PQerrorMessage(w->db)));
		db_close(w);
		return -1;
	}
	for (i = 0; i < ST__MAX; i++) {
		res = PQprepare(w->db, db_stmts[i].name, db_stmts[i].sql,
		    (int)strlen(db_stmts[i].types), NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			hs_log(HS_LOG_ERROR, "db_prepare_failed", "stmt=%s "
			    "error=%s", db_stmts[i].name, hs_logq(qerr,
			    sizeof(qerr), PQerrorMessage(w->db)));
			PQclear(res);
			db_close(w);
			return -1;
		}
		PQclear(res);
	}
	/*
	 * Planned once, not at every execution: PostgreSQL's default tries
	 * custom plans and keeps them when a generic plan's estimate looks
	 * worse, which the jobs' skewed sizes make it (one 10 000-host job
	 * and the estimate for any job is thousands of rows).  Re-planning
	 * (parse of inlined bodies, join search) was most of PostgreSQL's
	 * time on GET /HostScanJob/{id}; db.c's statements are written for
	 * generic plans.
	 */
	res = PQexec(w->db, "SET plan_cache_mode = force_generic_plan; "
	    "LISTEN hostscan_revoke");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		hs_log(HS_LOG_ERROR, "db_session_failed", "error=%s",
		    hs_logq(qerr, sizeof(qerr), PQerrorMessage(w->db)));
		PQclear(res);
		db_close(w);
		return -1;
	}
	PQclear(res);
	apim_db_connected(w->db_epoch > 0);
	w->db_epoch++;
	hs_log(HS_LOG_INFO, "db_connected", "server_version=%d",
	    PQserverVersion(w->db));
	return 0;
}

static int
idle_readable(PGconn *db)
{
	struct pollfd	 p;

	p.fd = PQsocket(db);
	p.events = POLLIN;
	p.revents = 0;
	return p.fd < 0 || poll(&p, 1, 0) != 0;
}

/*
 * Counts the revocation notices libpq holds (some may have come in during
 * the last statement); reads the socket first when it is readable.
 * Returns -1 when what was waiting was not a notice: a FATAL or EOF.
 */
static int
take_notices(struct worker *w)
{
	PGnotify	*n;
	int		 count = 0, readable = idle_readable(w->db);

	if (readable && (PQconsumeInput(w->db) == 0 ||
	    PQstatus(w->db) != CONNECTION_OK))
		return -1;
	while ((n = PQnotifies(w->db)) != NULL) {
		count++;
		PQfreemem(n);
	}
	w->revoke_events += (unsigned long)count;
	if (readable && (count == 0 || idle_readable(w->db)))
		return -1;
	return count;
}

/*
 * A connection the server closed while we were idle (a restart) shows up
 * as readable EOF; noticing it before we send anything lets the first
 * request after a restart reconnect and succeed instead of failing.
 */
int
db_ensure(struct worker *w)
{
	/*
	 * An idle connection has nothing to read but revocation notices;
	 * anything else waiting is a FATAL or EOF.
	 */
	if (w->db != NULL && take_notices(w) < 0) {
		hs_log(HS_LOG_WARN, "db_connection_lost", "action=reconnect");
		db_close(w);
	}
	if (w->db != NULL && PQstatus(w->db) != CONNECTION_OK) {
		hs_log(HS_LOG_WARN, "db_connection_lost", "action=reconnect");
		db_close(w);
	}
	if (w->db == NULL && db_connect(w) != 0)
		return -1;
	return 0;
}

/*
 * Statements that must not run twice: the first may have committed before
 * the connection was lost (a second reservation would count one attempt
 * twice, a second release forget a failure).
 */
static int
once_only(enum stmt st)
{
	switch (st) {
	case ST_JOB_INSERT:
	case ST_SIGNIN_RESERVE:
	case ST_SIGNIN_RELEASE:
	case ST_SIGNIN_OK:
	case ST_SESSION_START:
	case ST_SESSION_TOKEN:
		return 1;
	default:
		return 0;
	}
}

PGresult *
db_exec(struct worker *w, enum stmt st, int nparams,
    const char *const *params, enum db_err *err)
{
	PGresult	*res = NULL;
	ExecStatusType	 rs;
	char		 qerr[512];
	const char	*state;

	int		 tries = once_only(st) || w->in_tx ? 1 : 2;

	*err = DB_OK;
again:
	/*
	 * Inside a transaction a lost connection is never replaced: the
	 * statements after it would commit one by one on the new one.
	 */
	if (w->in_tx) {
		if (w->db == NULL || PQstatus(w->db) != CONNECTION_OK) {
			*err = DB_UNAVAILABLE;
			return NULL;
		}
	} else if (db_ensure(w) != 0) {
		*err = DB_UNAVAILABLE;
		return NULL;
	}
	res = PQexecPrepared(w->db, db_stmts[st].name, nparams, params, NULL,
	    NULL, 0);
	rs = PQresultStatus(res);
	/*
	 * The connection died under a statement that is safe to repeat:
	 * reconnect and run it once more.  An INSERT is never repeated, as
	 * its commit may have happened before the connection was lost.
	 */
	if (PQstatus(w->db) != CONNECTION_OK && --tries > 0) {
		PQclear(res);
		db_close(w);
		goto again;
	}
	if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK)
		return res;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	/*
	 * A dead connection, or a server shutting down or starting up
	 * (class 57, 08), is "unavailable": the client may retry.  The
	 * statement either ran to its commit or not at all.
	 */
	if (PQstatus(w->db) != CONNECTION_OK || (state != NULL &&
	    (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	    strcmp(state, "53300") == 0))) {
		*err = DB_UNAVAILABLE;
		hs_log(HS_LOG_WARN, "db_unavailable", "stmt=%s sqlstate=%s "
		    "error=%s", db_stmts[st].name, state ? state : "-",
		    hs_logq(qerr, sizeof(qerr), PQerrorMessage(w->db)));
		if (PQstatus(w->db) != CONNECTION_OK)
			db_close(w);
	} else {
		*err = DB_ERROR;
		hs_log(HS_LOG_ERROR, "db_error", "stmt=%s sqlstate=%s error=%s",
		    db_stmts[st].name, state ? state : "-", hs_logq(qerr,
		    sizeof(qerr), PQresultErrorMessage(res)));
	}
	PQclear(res);
	return NULL;
}

/*
 * A transaction around the statements of one request.  Inside one a lost
 * connection is not retried (the transaction is gone with it) and the
 * caller answers 503; db_rollback is safe to call in any state.
 */
int
db_begin(struct worker *w, enum db_err *err)
{
	PGresult	*res;

	if ((res = db_exec(w, ST_BEGIN, 0, NULL, err)) == NULL)
		return -1;
	PQclear(res);
	w->in_tx = 1;
	return 0;
}

int
db_commit(struct worker *w, enum db_err *err)
{
	PGresult	*res;

	res = db_exec(w, ST_COMMIT, 0, NULL, err);
	w->in_tx = 0;
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

void
db_rollback(struct worker *w)
{
	PGresult	*res;
	enum db_err	 err;

	if (!w->in_tx)
		return;
	w->in_tx = 0;
	if (w->db == NULL || PQstatus(w->db) != CONNECTION_OK)
		return;
	if ((res = db_exec(w, ST_ROLLBACK, 0, NULL, &err)) != NULL)
		PQclear(res);
}
