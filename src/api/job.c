#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "api.h"

json_t *
col_str(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? json_null() :
	    json_string(PQgetvalue(res, row, col));
}

json_t *
col_enum(const PGresult *res, int row, int col, const char *const *names,
    int n)
{
	int	 v;

	if (PQgetisnull(res, row, col))
		return json_null();
	v = atoi(PQgetvalue(res, row, col));
	return json_string(v >= 0 && v < n ? names[v] : "Unknown");
}

int
col_int(const PGresult *res, int row, int col)
{
	return atoi(PQgetvalue(res, row, col));
}

/*
 * A job's status is derived from its hosts (design.md): all queued ->
 * Queued; any still to do -> Running; all done: all complete -> Complete,
 * all failed -> Failed, any cancelled -> Cancelled, else
 * CompletedWithErrors.
 */
json_t *
job_status(const PGresult *res, int from, int to)
{
	json_t		*hosts = json_array(), *o;
	long		 n[HS_N_ACTION_STATUS] = { 0 };
	long		 total = to - from, done;
	int		 i, st;
	char		 desc[256];
	size_t		 dl = 0;

	for (i = from; i < to; i++) {
		st = col_int(res, i, HC_STATE);
		if (st >= 0 && st < HS_N_ACTION_STATUS)
			n[st]++;
		json_array_append_new(hosts, json_pack(
		    "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		    "hostScanHostId", PQgetvalue(res, i, HC_ID),
		    "hostId", col_str(res, i, HC_HOST_ID),
		    "name", col_str(res, i, HC_NAME),
		    "dnsHostName", col_str(res, i, HC_DNS),
		    "os", col_str(res, i, HC_OS),
		    "ipAddress", col_str(res, i, HC_IP),
		    "version", col_str(res, i, HC_VERSION),
		    "status", col_enum(res, i, HC_STATE, hs_action_status_names,
		    HS_N_ACTION_STATUS),
		    "statusDescription", col_str(res, i, HC_DESC),
		    "failureReason", col_enum(res, i, HC_REASON,
		    hs_failure_reason_names, HS_N_FAILURE_REASON)));
	}
	done = n[HS_COMPLETE] + n[HS_FAILED] + n[HS_CANCELLED];
	if (n[HS_QUEUED] == total)
		st = HS_QUEUED;
	else if (done < total)
		st = HS_RUNNING;
	else if (n[HS_CANCELLED] > 0)
		st = HS_CANCELLED;
	else if (n[HS_COMPLETE] == total)
		st = HS_COMPLETE;
	else if (n[HS_FAILED] == total)
		st = HS_FAILED;
	else
		st = HS_COMPLETED_WITH_ERRORS;
	dl = (size_t)snprintf(desc, sizeof(desc), "%ld host%s:", total,
	    total == 1 ? "" : "s");
	for (i = 0; i < HS_N_ACTION_STATUS && dl < sizeof(desc); i++)
		if (n[i] > 0)
			dl += (size_t)snprintf(desc + dl, sizeof(desc) - dl,
			    "%s %ld %s", dl > 0 && desc[dl - 1] != ':' ? "," : "",
			    n[i], hs_action_status_names[i]);
	o = json_pack("{s:s, s:s, s:s, s:o}", "id",
	    from < to ? PQgetvalue(res, from, HC_JOB) : "",
	    "status", hs_action_status_names[st], "statusDescription", desc,
	    "hostScanHostStatus", hosts);
	return o;
}

void
reply_db_error(struct req *r, enum db_err err)
{
	if (err == DB_UNAVAILABLE)
		reply_problem(r, API_UNAVAILABLE, "the database is unavailable; "
		    "retry later", NULL);
	else
		reply_problem(r, API_INTERNAL, "a database statement failed",
		    NULL);
}

void
h_health(struct req *r, const char *id)
{
	PGresult	*res;
	enum db_err	 err;
	json_t		*v;

	if ((res = db_exec(r->w, ST_PING, 0, NULL, &err)) == NULL) {
		reply_problem(r, API_UNAVAILABLE, "Unhealthy: the database does "
		    "not answer", NULL);
		return;
	}
	PQclear(res);
	v = json_string("Healthy");
	reply_json(r, 200, v, NULL);
	json_decref(v);
}

void
h_version(struct req *r, const char *id)
{
	json_t	*v = json_string(PACKAGE_VERSION);

	reply_json(r, 200, v, NULL);
	json_decref(v);
}

/* ---- POST /HostScanJob ---- */

static void
set_add(json_t *set, const char *key)
{
	if (key != NULL && *key != '\0')
		json_object_set_new(set, key, json_true());
}

static char *
set_keys_json(json_t *set)
{
	json_t		*a = json_array();
	const char	*k;
	json_t		*v;
	char		*s;

	json_object_foreach(set, k, v)
		json_array_append_new(a, json_string(k));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* Whether the validation table already reported item i's field. */
static int
has_error(json_t *errors, size_t i, const char *field)
{
	char	 path[64];

	snprintf(path, sizeof(path), "[%zu].%s", i, field);
	return json_object_get(errors, path) != NULL;
}

/*
 * Whether a credential's scope (its text from the database) admits a
 * request's host: its dnsHostName matches a name entry or its ipAddress
 * is in a network (hs_scope_allows_request).  0 with *msg when not; a
 * scope that does not parse admits nothing.
 */
int
scope_allows(const char *scope, const char *dns, const char *ip,
    const char **msg)
{
	struct hs_scope	 sc;
	int		 ok;

	if (scope == NULL || hs_scope_parse(scope, &sc, NULL, 0) == -1) {
		*msg = SCOPE_UNREADABLE_MSG;
		return 0;
	}
	ok = hs_scope_allows_request(&sc, dns, ip);
	hs_scope_free(&sc);
	if (!ok)
		*msg = SCOPE_REFUSED_MSG;
	return ok;
}

void
refused_add(json_t *refused, const char *cred_id, const char *dns,
    const char *ip, int port)
{
	if (refused != NULL)
		json_array_append_new(refused, json_pack("{s:s, s:o, s:o, s:i}",
		    "cid", cred_id, "dns", dns ? json_string(dns) : json_null(),
		    "ip", ip ? json_string(ip) : json_null(), "port", port));
}

/*
 * Hosts refused for their credential's scope go into the credential
 * audit trail, outside any transaction of the request (a 400 rolls that
 * back).  Best effort: the request is refused either way.
 */
void
audit_refused(struct req *r, const json_t *refused)
{
	PGresult	*res;
	enum db_err	 err;
	const char	*params[3];
	char		 what[320], *js;

	if (refused == NULL || json_array_size(refused) == 0)
		return;
	db_rollback(r->w);
	if ((js = json_dumps(refused, JSON_COMPACT)) == NULL)
		return;
	snprintf(what, sizeof(what), "%s %.200s refused: outside the "
	    "credential's scope (trace %s)", r->method, r->path, r->trace);
	params[0] = r->claims.sub;
	params[1] = what;
	params[2] = js;
	if ((res = db_exec(r->w, ST_AUDIT_REFUSED, 3, params, &err)) != NULL)
		PQclear(res);
	else
		hs_log(HS_LOG_ERROR, "audit_failed", "trace=%s hosts=%zu",
		    r->trace, json_array_size(refused));
	free(js);
}

/*
 * Credentials and platforms named by the items must exist, and each
 * credential's scope must admit its item's host: one query for all
 * distinct names and ids (each scope parsed once), then a lookup per
 * item.  The resolved ids go into the rows built for the INSERT; items
 * refused for scope also go into refused (when not NULL).
 */
static enum api_err
resolve_refs(struct req *r, const struct hs_host_req *h, size_t n,
    json_t *rows, json_t *errors, json_t *refused, enum db_err *dberr)
{
	json_t		*ids = json_object(), *names = json_object();
	json_t		*plats = json_object();
	json_t		*by_id = json_object(), *by_name = json_object();
	json_t		*plat_by_name = json_object(), *v;
	char		*p[3] = { NULL, NULL, NULL };
	char		 path[64];
	PGresult	*res = NULL;
	struct hs_scope	*scopes = NULL;
	signed char	*parsed = NULL;		/* 0 not yet, 1 ok, -1 bad */
	enum api_err	 rc = API_INTERNAL;
	size_t		 i;
	int		 row;

	for (i = 0; i < n; i++) {
		set_add(ids, h[i].credential_id);
		set_add(names, h[i].credential_name);
		set_add(plats, h[i].platform_name);
	}
	if ((p[0] = set_keys_json(ids)) == NULL ||
	    (p[1] = set_keys_json(names)) == NULL ||
	    (p[2] = set_keys_json(plats)) == NULL)
		goto out;
	if ((res = db_exec(r->w, ST_REFS, 3, (const char *const *)p,
	    dberr)) == NULL)
		goto out;
	scopes = calloc((size_t)PQntuples(res) + 1, sizeof(*scopes));
	parsed = calloc((size_t)PQntuples(res) + 1, sizeof(*parsed));
	if (scopes == NULL || parsed == NULL)
		goto out;
	for (row = 0; row < PQntuples(res); row++) {
		const char	*kind = PQgetvalue(res, row, 0);
		const char	*rid = PQgetvalue(res, row, 1);
		const char	*rname = PQgetvalue(res, row, 2);

		if (kind[0] == 'c') {
			json_object_set_new(by_id, rid, json_integer(row));
			json_object_set_new(by_name, rname, json_integer(row));
		} else
			json_object_set_new(plat_by_name, rname,
			    json_string(rid));
	}
	for (i = 0; i < n; i++) {
		json_t		*plat = json_null();
		json_t		*item = json_array_get(rows, i);
		const char	*key = h[i].credential_id[0] ? "credentialId" :
		    "credentialName";

		if (has_error(errors, i, "credentialId") ||
		    has_error(errors, i, "credentialName"))
			goto platform;
		v = NULL;
		if (h[i].credential_id[0] != '\0')
			v = json_object_get(by_id, h[i].credential_id);
		if (v == NULL && h[i].credential_name != NULL)
			v = json_object_get(by_name, h[i].credential_name);
		snprintf(path, sizeof(path), "[%zu].%s", i, key);
		if (v == NULL) {
			hs_errors_add(errors, path, h[i].credential_id[0] ?
			    "no credential has this id" :
			    "no credential has this name");
			goto platform;
		}
		row = (int)json_integer_value(v);
		if (parsed[row] == 0)
			parsed[row] = hs_scope_parse(PQgetvalue(res, row, 3),
			    &scopes[row], NULL, 0) == 0 ? 1 : -1;
		if (parsed[row] < 0)
			hs_errors_add(errors, path, SCOPE_UNREADABLE_MSG);
		else if (!hs_scope_allows_request(&scopes[row],
		    h[i].dns_host_name, h[i].ip_address)) {
			hs_errors_add(errors, path, SCOPE_REFUSED_MSG);
			refused_add(refused, PQgetvalue(res, row, 1),
			    h[i].dns_host_name, h[i].ip_address,
			    h[i].ssh_port);
		} else
			json_object_set_new(item, "cred",
			    json_string(PQgetvalue(res, row, 1)));
platform:
		if (has_error(errors, i, "platformName"))
			continue;
		if (h[i].platform_name != NULL &&
		    (plat = json_object_get(plat_by_name,
		    h[i].platform_name)) == NULL) {
			snprintf(path, sizeof(path), "[%zu].platformName", i);
			hs_errors_add(errors, path, "is not a known platform "
			    "(names are matched exactly, e.g. Linux, Windows)");
		} else if (plat != NULL)
			json_object_set(item, "plat", plat);
	}
	rc = API_OK;
out:
	for (row = 0; parsed != NULL && row < PQntuples(res); row++)
		if (parsed[row] > 0)
			hs_scope_free(&scopes[row]);
	free(scopes);
	free(parsed);
	PQclear(res);
	free(p[0]);
	free(p[1]);
	free(p[2]);
	json_decref(ids);
	json_decref(names);
	json_decref(plats);
	json_decref(by_id);
	json_decref(by_name);
	json_decref(plat_by_name);
	return rc;
}

static json_t *
opt_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
opt_int(int v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

/* The jsonb records ST_JOB_INSERT reads, one per item, in order. */
static json_t *
insert_rows(const struct hs_host_req *h, size_t n)
{
	json_t	*rows = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(rows, json_pack(
		    "{s:I, s:o, s:o, s:o, s:n, s:n, s:b, s:o, s:o, s:o, s:i, s:o}",
		    "ord", (json_int_t)i,
		    "dns", opt_str(h[i].dns_host_name),
		    "ip", opt_str(h[i].ip_address),
		    "os", opt_str(h[i].os),
		    "cred", "plat",
		    "acc", h[i].accept_first,
		    "ta", opt_int(h[i].trust_action),
		    "ct", opt_int(h[i].certificate_type),
		    "tt", opt_str(h[i].trusted_thumbprint),
		    "port", h[i].ssh_port,
		    "src", opt_str(h[i].source)));
	return rows;
}

/*
 * Queues one job from the jsonb records insert_rows() describes, in one
 * INSERT statement, and returns its HostScanJobStatus built from the rows
 * committed; NULL when it answered the error itself.  rescan_of names the
 * host record a re-scan was made for (NULL for a POSTed job).
 */
json_t *
job_create(struct req *r, const json_t *rows, const char *rescan_of)
{
	PGresult	*res = NULL;
	json_t		*status = NULL;
	const char	*params[5];
	char		*rows_s = NULL;
	enum db_err	 err;

	if ((rows_s = json_dumps(rows, JSON_COMPACT)) == NULL) {
		reply_problem(r, API_INTERNAL, "could not encode the job", NULL);
		goto out;
	}
	params[0] = r->claims.sub;
	params[1] = r->claims.name;
	params[2] = r->addr[0] ? r->addr : NULL;
	params[3] = rows_s;
	params[4] = r->idem_key;
	if ((res = db_exec(r->w, ST_JOB_INSERT, 5, params, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	status = job_status(res, 0, PQntuples(res));
	hs_log(HS_LOG_INFO, "job_created", "trace=%s job=%s hosts=%d%s%s",
	    r->trace, PQntuples(res) > 0 ? PQgetvalue(res, 0, HC_JOB) : "-",
	    PQntuples(res), rescan_of ? " rescan_of=" : "",
	    rescan_of ? rescan_of : "");
out:
	PQclear(res);
	free(rows_s);
	return status;
}

/*
 * The validation of POST /HostScanJob, shared with ValidateImportedCSV so
 * that the two can never disagree: the table of pure checks, then the
 * credential and platform lookups with the credentials' scopes.  Every
 * problem goes into errors; *rows gets the records for ST_JOB_INSERT of the
 * items that parsed; refused (may be NULL) the hosts a credential's scope
 * refused, for audit_refused().  Returns
 * API_VALIDATION when the body as a whole is unusable (not an array, empty,
 * too long), API_UNAVAILABLE or API_INTERNAL with *dberr when the lookups
 * failed, else API_OK (items may still have errors).
 */
enum api_err
hosts_validate(struct req *r, const json_t *root, struct hs_host_req **h,
    size_t *n, json_t **rows, json_t *errors, json_t *refused,
    enum db_err *dberr)
{
	*rows = NULL;
	if (hs_validate_hosts(root, r->w->cfg->max_hosts, h, n,
	    errors) != 0 && (*h == NULL || *n == 0))
		return API_VALIDATION;
	*rows = insert_rows(*h, *n);
	if (resolve_refs(r, *h, *n, *rows, errors, refused, dberr) != API_OK)
		return *dberr == DB_UNAVAILABLE ? API_UNAVAILABLE : API_INTERNAL;
	return API_OK;
}

/*
 * The body as JSON (an array or object; any value with BODY_ANY), or NULL
 * after answering 400 with the parser's words.  BODY_SECRET wipes the raw
 * body once parsed (it holds a password or a code).
 */
json_t *
body_json(struct req *r, int flags)
{
	json_t		*root, *errors;
	json_error_t	 jerr;
	const char	*detail = NULL;
	char		 msg[256];
	enum api_err	 e;

	if ((e = req_read_body(r, &detail)) != API_OK) {
		reply_problem(r, e, detail, NULL);
		return NULL;
	}
	root = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL | (flags & BODY_ANY ? JSON_DECODE_ANY : 0), &jerr);
	if (flags & BODY_SECRET)
		sodium_memzero(r->body, r->body_len);
	if (root == NULL) {
		errors = json_object();
		/* The parser's words may quote the secret: not for those. */
		if (flags & BODY_SECRET)
			snprintf(msg, sizeof(msg), "the body is not valid JSON "
			    "(line %d, column %d)", jerr.line, jerr.column);
		else
			snprintf(msg, sizeof(msg), "the body is not valid JSON: "
			    "%s (line %d, column %d)", jerr.text, jerr.line,
			    jerr.column);
		hs_errors_add(errors, "$", msg);
		reply_problem(r, API_VALIDATION, "the body is not valid JSON",
		    errors);
		json_decref(errors);
	}
	return root;
}

void
h_job_post(struct req *r, const char *id)
{
	json_t			*root = NULL, *errors = NULL, *rows = NULL;
	json_t			*status = NULL, *refused = NULL;
	struct hs_host_req	*h = NULL;
	struct idem		 ik;
	size_t			 n = 0;
	enum api_err		 e;
	enum db_err		 dberr = DB_OK;

	if ((root = body_json(r, 0)) == NULL || !idem_start(r, &ik, 0, 0))
		goto out;
	errors = json_object();
	refused = json_array();
	e = hosts_validate(r, root, &h, &n, &rows, errors, refused, &dberr);
	if (e == API_UNAVAILABLE || e == API_INTERNAL) {
		reply_db_error(r, dberr);
		goto out;
	}
	if (e != API_OK || json_object_size(errors) > 0) {
		audit_refused(r, refused);
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto out;
	}
	if ((status = job_create(r, rows, NULL)) == NULL ||
	    !idem_commit(r, &ik, status))
		goto out;
	reply_json(r, 200, status, NULL);
out:
	db_rollback(r->w);
	json_decref(status);
	json_decref(rows);
	json_decref(root);
	json_decref(errors);
	json_decref(refused);
	hs_host_reqs_free(h, n);
}

/* ---- GET /HostScanJob/{id}/Status, GET /HostScanJob/{id} ---- */

void
h_job_status(struct req *r, const char *id)
{
	PGresult	*res;
	enum db_err	 err;
	json_t		*status;

	if ((res = db_exec(r->w, ST_JOB_HOSTS, 1, &id, &err)) == NULL) {
		reply_db_error(r, err);
		return;
	}
	/* Every job has at least one host: no rows is no job. */
	if (PQntuples(res) == 0) {
		PQclear(res);
		reply_problem(r, API_NOT_FOUND, "no job has this id", NULL);
		return;
	}
	status = job_status(res, 0, PQntuples(res));
	reply_json(r, 200, status, NULL);
	json_decref(status);
	PQclear(res);
}

/* Columns of ST_JOB_ENTITY: the job's, then its host's. */
enum { EJ_ID, EJ_BY, EJ_BY_NAME, EJ_FROM, EJ_CREATED, EJ_MODIFIED,
	EC_ID, EC_AQ, EC_STATE, EC_DESC, EC_REASON, EC_CREATED, EC_STARTED,
	EC_FINISHED, EC_DNS, EC_IP, EC_OS, EC_CRED, EC_CRED_NAME, EC_PLAT,
	EC_PLAT_NAME, EC_ACC, EC_TA, EC_CT, EC_TT, EC_PORT, EC_SRC, EC_HOST,
	EC_NAME, EC_VERSION };

static json_t *
entity_join(const char *job, const PGresult *res, int i)
{
	json_t	*host, *aq;

	host = json_pack("{s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:b, s:o,"
	    " s:o, s:o, s:i, s:o, s:o, s:o, s:o}",
	    "id", PQgetvalue(res, i, EC_ID),
	    "dnsHostName", col_str(res, i, EC_DNS),
	    "ipAddress", col_str(res, i, EC_IP),
	    "os", col_str(res, i, EC_OS),
	    "credentialId", PQgetvalue(res, i, EC_CRED),
	    "credentialName", col_str(res, i, EC_CRED_NAME),
	    "platformId", col_str(res, i, EC_PLAT),
	    "platformName", col_str(res, i, EC_PLAT_NAME),
	    "acceptThumbprintOnFirstDiscovery",
	    PQgetvalue(res, i, EC_ACC)[0] == 't',
	    "sshTrustActionType", col_enum(res, i, EC_TA,
	    hs_trust_action_names, HS_N_TRUST_ACTION),
	    "certificateType", col_enum(res, i, EC_CT,
	    hs_certificate_type_names, HS_N_CERTIFICATE_TYPE),
	    "trustedThumbprint", col_str(res, i, EC_TT),
	    "sshPort", col_int(res, i, EC_PORT),
	    "source", col_str(res, i, EC_SRC),
	    "hostId", col_str(res, i, EC_HOST),
	    "name", col_str(res, i, EC_NAME),
	    "version", col_str(res, i, EC_VERSION));
	aq = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "id", PQgetvalue(res, i, EC_AQ),
	    "status", col_enum(res, i, EC_STATE, hs_action_status_names,
	    HS_N_ACTION_STATUS),
	    "statusDescription", col_str(res, i, EC_DESC),
	    "failureReason", col_enum(res, i, EC_REASON,
	    hs_failure_reason_names, HS_N_FAILURE_REASON),
	    "timeCreated", col_str(res, i, EC_CREATED),
	    "timeStarted", col_str(res, i, EC_STARTED),
	    "timeFinished", col_str(res, i, EC_FINISHED));
	return json_pack("{s:s, s:s, s:o, s:s, s:o}",
	    "hostScanJobId", job,
	    "hostScanHostId", PQgetvalue(res, i, EC_ID),
	    "hostScanHost", host,
	    "actionQueueId", PQgetvalue(res, i, EC_AQ),
	    "actionQueue", aq);
}

void
h_job_get(struct req *r, const char *id)
{
	PGresult	*res = NULL;
	enum db_err	 err;
	json_t		*o = NULL, *joins;
	int		 i;

	if ((res = db_exec(r->w, ST_JOB_ENTITY, 1, &id, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		reply_problem(r, API_NOT_FOUND, "no job has this id", NULL);
		goto out;
	}
	joins = json_array();
	for (i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, EC_ID))
			json_array_append_new(joins, entity_join(id, res, i));
	o = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:o}",
	    "id", PQgetvalue(res, 0, EJ_ID),
	    "createdBy", PQgetvalue(res, 0, EJ_BY),
	    "createdByUserName", col_str(res, 0, EJ_BY_NAME),
	    "createdFromAddress", col_str(res, 0, EJ_FROM),
	    "createdDateTimeUtc", PQgetvalue(res, 0, EJ_CREATED),
	    "modifiedDateTimeUtc", PQgetvalue(res, 0, EJ_MODIFIED),
	    "hostScanJobHostJoin", joins);
	reply_json(r, 200, o, NULL);
out:
	json_decref(o);
	PQclear(res);
}

/* ---- DELETE /HostScanJob/{id} ---- */

void
h_job_cancel(struct req *r, const char *id)
{
	PGresult	*res = NULL, *hosts = NULL;
	enum db_err	 err;
	const char	*params[2] = { id, r->claims.sub };
	json_t		*status = NULL;

	if ((res = db_exec(r->w, ST_JOB_CANCEL, 2, params, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		reply_problem(r, API_NOT_FOUND, "no job has this id", NULL);
		goto out;
	}
	hs_log(HS_LOG_INFO, "job_cancel", "trace=%s job=%s cancelled_queued=%s",
	    r->trace, id, PQgetvalue(res, 0, 1));
	if ((hosts = db_exec(r->w, ST_JOB_HOSTS, 1, &id, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	status = job_status(hosts, 0, PQntuples(hosts));
	reply_json(r, 202, status, NULL);
out:
	json_decref(status);
	PQclear(res);
	PQclear(hosts);
}

/* ---- GET /HostScanJob?limit=&after= ---- */

/*
 * Finds key in a query string; decodes its value into out.  Returns 1,
 * 0 when the key is absent, -1 when the value does not fit or decodes to
 * a NUL.  out is a string whatever the result.
 */
int
query_get(const char *q, const char *key, char *out, size_t outsize)
{
	size_t	 klen = strlen(key);

	out[0] = '\0';

	while (*q != '\0') {
		size_t	 len = strcspn(q, "&");

		if (len > klen && strncmp(q, key, klen) == 0 && q[klen] == '=') {
			size_t	 i, o = 0;

			for (i = klen + 1; i < len; i++) {
				int	 c = (unsigned char)q[i];

				if (c == '+')
					c = ' ';
				else if (c == '%' && i + 2 < len + 1 &&
				    isxdigit((unsigned char)q[i + 1]) &&
				    isxdigit((unsigned char)q[i + 2])) {
					char	 hx[3] = { q[i + 1], q[i + 2], 0 };

					c = (int)strtol(hx, NULL, 16);
					i += 2;
				}
				if (o + 1 >= outsize || c == 0) {
					out[0] = '\0';
					return -1;
				}
				out[o++] = (char)c;
			}
			out[o] = '\0';
			return 1;
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return 0;
}

void
h_job_list(struct req *r, const char *unused)
{
	const struct hs_config	*cfg = r->w->cfg;
	PGresult	*page = NULL, *hosts = NULL;
	json_t		*out = NULL, *errors = NULL;
	char		 lim[32], after[HS_UUID_LEN + 8], limit_s[24];
	char		*ids = NULL, link[256] = "";
	const char	*params[2], *errstr;
	long long	 limit = cfg->page_default;
	enum db_err	 err;
	int		 i, j, k, n, got;
	size_t		 o;

	errors = json_object();
	if (strlen(r->query) > HS_MAX_QUERY_LEN)
		hs_errors_add(errors, "$", "the query string is too long");
	if ((got = query_get(r->query, "limit", lim, sizeof(lim))) != 0 &&
	    (got < 0 || hs_strtonum(lim, 1, cfg->page_max, &limit,
	    &errstr) != 0)) {
		char	 m[96];

		snprintf(m, sizeof(m), "must be an integer between 1 and %ld",
		    cfg->page_max);
		hs_errors_add(errors, "limit", m);
	}
	after[0] = '\0';
	if ((got = query_get(r->query, "after", after, sizeof(after))) != 0) {
		for (o = 0; after[o] != '\0'; o++)
			after[o] = (char)tolower((unsigned char)after[o]);
		if (got < 0 || !hs_is_uuid(after))
			hs_errors_add(errors, "after", "must be the id of a job");
	}
	if (json_object_size(errors) > 0) {
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto out;
	}
	if (after[0] != '\0') {
		/* An unknown cursor is the client's error, not an empty page. */
		if ((page = db_exec(r->w, ST_JOB_ROW, 1,
		    (const char *const []){ after }, &err)) == NULL) {
			reply_db_error(r, err);
			goto out;
		}
		n = PQntuples(page);
		PQclear(page);
		page = NULL;
		if (n == 0) {
			hs_errors_add(errors, "after", "no job has this id");
			reply_problem(r, API_VALIDATION, NULL, errors);
			goto out;
		}
	}
	/* One row more than asked tells whether a next page exists. */
	snprintf(limit_s, sizeof(limit_s), "%lld", limit + 1);
	params[0] = after[0] ? after : NULL;
	params[1] = limit_s;
	if ((page = db_exec(r->w, ST_JOB_PAGE, 2, params, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	n = PQntuples(page);
	if (n > limit) {
		n = (int)limit;
		snprintf(link, sizeof(link), "Link: </api/v1/HostScanJob?"
		    "limit=%lld&after=%s>; rel=\"next\"\r\n", limit,
		    PQgetvalue(page, n - 1, 0));
	}
	ids = hs_xmalloc((size_t)n * (HS_UUID_LEN + 1) + 3);
	o = 0;
	ids[o++] = '{';
	for (i = 0; i < n; i++) {
		if (i > 0)
			ids[o++] = ',';
		memcpy(ids + o, PQgetvalue(page, i, 0), HS_UUID_LEN);
		o += HS_UUID_LEN;
	}
	ids[o++] = '}';
	ids[o] = '\0';
	if ((hosts = db_exec(r->w, ST_JOB_PAGE_HOSTS, 1,
	    (const char *const []){ ids }, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	/* Hosts come grouped by job; emit the groups in page order. */
	out = json_array();
	for (i = 0; i < n; i++) {
		const char	*jid = PQgetvalue(page, i, 0);
		int		 lo = 0, hi = PQntuples(hosts), mid;

		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (strcmp(PQgetvalue(hosts, mid, HC_JOB), jid) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (j = lo, k = lo; k < PQntuples(hosts) &&
		    strcmp(PQgetvalue(hosts, k, HC_JOB), jid) == 0; k++)
			;
		if (k > j)
			json_array_append_new(out, job_status(hosts, j, k));
	}
	reply_json(r, 200, out, link[0] ? link : NULL);
out:
	free(ids);
	json_decref(out);
	json_decref(errors);
	PQclear(page);
	PQclear(hosts);
}
