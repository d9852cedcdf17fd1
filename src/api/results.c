#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* Columns of RES_HOST_COLS (db.c). */
enum { RH_ID, RH_NAME, RH_DNS, RH_IP, RH_OS, RH_VERSION, RH_HOST, RH_CRED,
	RH_PLAT, RH_LAST, RH_LAST_START, RH_CONNECTED, RH_DISC_FP, RH_TRUST_FP,
	RH_JOB, RH_PORT, RH_DISC_KT, RH_TRUST_KT };

/* Columns of RES_USER_COLS (db.c). */
enum { RU_ID, RU_NAME, RU_DISPLAY, RU_UID, RU_GID, RU_HOME, RU_SHELL,
	RU_PRIV, RU_PW_CHANGED, RU_PW_EXPIRES, RU_DISABLED, RU_SCAN, RU_HOST };

/* Columns of ST_HOST_RECORDS. */
enum { HR_ID, HR_DNS, HR_IP, HR_OS, HR_CRED, HR_PLAT, HR_PORT, HR_SCOPE };

static json_t *
col_bigint(const PGresult *res, int row, int col)
{
	long long	 v;
	const char	*errstr;

	if (PQgetisnull(res, row, col) || hs_strtonum(PQgetvalue(res, row,
	    col), LLONG_MIN, LLONG_MAX, &v, &errstr) != 0)
		return json_null();
	return json_integer((json_int_t)v);
}

static json_t *
col_bool(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return json_null();
	return json_boolean(PQgetvalue(res, row, col)[0] == 't');
}

static json_t *
host_record(const PGresult *res, int i)
{
	json_t	*o = json_object();

	/* id as the product's HostScanHost has it; the same value. */
	json_object_set_new(o, "id", col_str(res, i, RH_ID));
	json_object_set_new(o, "hostScanHostId", col_str(res, i, RH_ID));
	json_object_set_new(o, "hostScanJobId", col_str(res, i, RH_JOB));
	json_object_set_new(o, "name", col_str(res, i, RH_NAME));
	json_object_set_new(o, "dnsHostName", col_str(res, i, RH_DNS));
	json_object_set_new(o, "ipAddress", col_str(res, i, RH_IP));
	json_object_set_new(o, "os", col_str(res, i, RH_OS));
	json_object_set_new(o, "version", col_str(res, i, RH_VERSION));
	json_object_set_new(o, "hostId", col_str(res, i, RH_HOST));
	json_object_set_new(o, "credentialId", col_str(res, i, RH_CRED));
	json_object_set_new(o, "platformId", col_str(res, i, RH_PLAT));
	json_object_set_new(o, "sshPort", col_bigint(res, i, RH_PORT));
	json_object_set_new(o, "lastScanTimeUtc", col_str(res, i, RH_LAST));
	json_object_set_new(o, "lastScanStartTimeUtc",
	    col_str(res, i, RH_LAST_START));
	json_object_set_new(o, "hostConnected", col_bool(res, i, RH_CONNECTED));
	json_object_set_new(o, "discoveredKeyType",
	    col_str(res, i, RH_DISC_KT));
	json_object_set_new(o, "discoveredThumbprint",
	    col_str(res, i, RH_DISC_FP));
	json_object_set_new(o, "trustedKeyType", col_str(res, i, RH_TRUST_KT));
	json_object_set_new(o, "trustedThumbprint",
	    col_str(res, i, RH_TRUST_FP));
	return o;
}

static json_t *
user_record(const PGresult *res, int i)
{
	json_t	*o = json_object();

	/* A Unix host has no SAM account name or SID: null, as the product. */
	json_object_set_new(o, "id", col_str(res, i, RU_ID));
	json_object_set_new(o, "name", col_str(res, i, RU_NAME));
	json_object_set_new(o, "displayName", col_str(res, i, RU_DISPLAY));
	json_object_set_new(o, "samaccountname", json_null());
	json_object_set_new(o, "sid", json_null());
	json_object_set_new(o, "unixId", col_bigint(res, i, RU_UID));
	json_object_set_new(o, "unixGroupId", col_bigint(res, i, RU_GID));
	json_object_set_new(o, "homeDirectory", col_str(res, i, RU_HOME));
	json_object_set_new(o, "shell", col_str(res, i, RU_SHELL));
	json_object_set_new(o, "privilege", col_str(res, i, RU_PRIV));
	json_object_set_new(o, "passwordChangedDateTimeUtc",
	    col_str(res, i, RU_PW_CHANGED));
	json_object_set_new(o, "passwordExpirationDateTimeUtc",
	    col_str(res, i, RU_PW_EXPIRES));
	json_object_set_new(o, "isDisabled", col_bool(res, i, RU_DISABLED));
	json_object_set_new(o, "hostScanHostId", col_str(res, i, RU_SCAN));
	json_object_set_new(o, "hostId", col_str(res, i, RU_HOST));
	return o;
}

/*
 * ?limit=&after= of an id-ordered list.  Returns 0 with *limit and after
 * ("" for the first page) set, or -1 having answered the 400.
 */
static int
page_args(struct req *r, long long *limit, char after[HS_UUID_LEN + 8])
{
	const struct hs_config	*cfg = r->w->cfg;
	json_t		*errors = json_object();
	char		 lim[32], m[96];
	const char	*errstr;
	size_t		 o;
	int		 got, rc = -1;

	*limit = cfg->page_default;
	after[0] = '\0';
	if (strlen(r->query) > HS_MAX_QUERY_LEN)
		hs_errors_add(errors, "$", "the query string is too long");
	if ((got = query_get(r->query, "limit", lim, sizeof(lim))) != 0 &&
	    (got < 0 || hs_strtonum(lim, 1, cfg->page_max, limit,
	    &errstr) != 0)) {
		snprintf(m, sizeof(m), "must be an integer between 1 and %ld",
		    cfg->page_max);
		hs_errors_add(errors, "limit", m);
	}
	if ((got = query_get(r->query, "after", after, HS_UUID_LEN + 8)) !=
	    0) {
		for (o = 0; got > 0 && after[o] != '\0'; o++)
			after[o] = (char)tolower((unsigned char)after[o]);
		if (got < 0 || !hs_is_uuid(after))
			hs_errors_add(errors, "after", "must be an id from the "
			    "previous page");
	}
	if (json_object_size(errors) > 0)
		reply_problem(r, API_VALIDATION, NULL, errors);
	else
		rc = 0;
	json_decref(errors);
	return rc;
}

/*
 * One page of an id-ordered list: st takes (after, limit) and returns
 * rows whose column 0 is the id; build makes one element.
 */
static void
page_reply(struct req *r, enum stmt st, const char *route_path,
    json_t *(*build)(const PGresult *, int))
{
	PGresult	*res = NULL;
	json_t		*out = NULL;
	char		 after[HS_UUID_LEN + 8], limit_s[24], link[256] = "";
	const char	*params[2];
	long long	 limit;
	enum db_err	 err;
	int		 i, n;

	if (page_args(r, &limit, after) != 0)
		return;
	/* One row more than asked tells whether a next page exists. */
	snprintf(limit_s, sizeof(limit_s), "%lld", limit + 1);
	params[0] = after[0] ? after : NULL;
	params[1] = limit_s;
	if ((res = db_exec(r->w, st, 2, params, &err)) == NULL) {
		reply_db_error(r, err);
		return;
	}
	n = PQntuples(res);
	if (n > limit) {
		n = (int)limit;
		snprintf(link, sizeof(link), "Link: </api/v1%s?limit=%lld&"
		    "after=%s>; rel=\"next\"\r\n", route_path, limit,
		    PQgetvalue(res, n - 1, 0));
	}
	out = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(out, build(res, i));
	reply_json(r, 200, out, link[0] ? link : NULL);
	json_decref(out);
	PQclear(res);
}

/* ---- GET /HostScanJob/Host, GET /HostScanJob/Host/{id} ---- */

void
h_result_host_list(struct req *r, const char *unused)
{
	page_reply(r, ST_RES_HOST_PAGE, "/HostScanJob/Host", host_record);
}

/* The host record of one scan with its scan log; 404 answered here. */
static void
reply_host(struct req *r, const char *id, int status)
{
	PGresult	*res = NULL, *log = NULL;
	json_t		*o = NULL, *lines;
	enum db_err	 err;
	int		 i;

	if ((res = db_exec(r->w, ST_RES_HOST, 1, &id, &err)) == NULL ||
	    (log = db_exec(r->w, ST_RES_SCAN_LOG, 1, &id, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		reply_problem(r, API_NOT_FOUND, "no scanned host record has "
		    "this hostScanHostId", NULL);
		goto out;
	}
	o = host_record(res, 0);
	lines = json_array();
	for (i = 0; i < PQntuples(log); i++)
		json_array_append_new(lines, json_pack("{s:o, s:o, s:o, s:o}",
		    "at", col_str(log, i, 0), "level", col_str(log, i, 1),
		    "step", col_str(log, i, 2), "message", col_str(log, i, 3)));
	json_object_set_new(o, "scanLog", lines);
	reply_json(r, status, o, NULL);
out:
	json_decref(o);
	PQclear(res);
	PQclear(log);
}

void
h_result_host_get(struct req *r, const char *id)
{
	reply_host(r, id, 200);
}

/* ---- PUT /HostScanJob/Host/{id}/Trust ---- */

void
h_result_host_trust(struct req *r, const char *id)
{
	PGresult	*res = NULL, *host = NULL;
	enum db_err	 err;
	char		 qfp[160];

	if ((res = db_exec(r->w, ST_RES_TRUST, 1, &id, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		/* Unknown scan (404) or a scan that found no key (409)? */
		if ((host = db_exec(r->w, ST_RES_HOST, 1, &id, &err)) == NULL)
			reply_db_error(r, err);
		else if (PQntuples(host) == 0)
			reply_problem(r, API_NOT_FOUND, "no scanned host "
			    "record has this hostScanHostId", NULL);
		else
			reply_problem(r, API_CONFLICT, "this scan discovered "
			    "no host key to trust", NULL);
		goto out;
	}
	PQclear(res);
	res = NULL;
	if ((host = db_exec(r->w, ST_RES_HOST, 1, &id, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	hs_log(HS_LOG_INFO, "host_trusted", "trace=%s scan=%s host=%s "
	    "fingerprint=%s", r->trace, id, PQntuples(host) > 0 ?
	    PQgetvalue(host, 0, RH_HOST) : "-", PQntuples(host) > 0 ?
	    hs_logq(qfp, sizeof(qfp), PQgetvalue(host, 0, RH_TRUST_FP)) : "-");
	reply_host(r, id, 200);
out:
	PQclear(res);
	PQclear(host);
}

/* ---- GET /HostScanJob/User, /User/{id}, /Group/{id} ---- */

void
h_result_user_list(struct req *r, const char *unused)
{
	page_reply(r, ST_RES_USER_PAGE, "/HostScanJob/User", user_record);
}

void
h_result_user_get(struct req *r, const char *id)
{
	PGresult	*res;
	enum db_err	 err;
	json_t		*o;

	if ((res = db_exec(r->w, ST_RES_USER, 1, &id, &err)) == NULL) {
		reply_db_error(r, err);
		return;
	}
	if (PQntuples(res) == 0)
		reply_problem(r, API_NOT_FOUND, "no scanned user has this id",
		    NULL);
	else {
		o = user_record(res, 0);
		reply_json(r, 200, o, NULL);
		json_decref(o);
	}
	PQclear(res);
}

void
h_result_group_get(struct req *r, const char *id)
{
	PGresult	*g = NULL, *m = NULL;
	enum db_err	 err;
	json_t		*o = NULL, *members;
	int		 i;

	if ((g = db_exec(r->w, ST_RES_GROUP, 1, &id, &err)) == NULL ||
	    (m = db_exec(r->w, ST_RES_GROUP_MEMBERS, 1, &id, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	if (PQntuples(g) == 0) {
		reply_problem(r, API_NOT_FOUND, "no scanned group has this id",
		    NULL);
		goto out;
	}
	/*
	 * userId is null for a listed name that is no user of the host;
	 * isPrimary marks users whose primary group this is.
	 */
	members = json_array();
	for (i = 0; i < PQntuples(m); i++)
		json_array_append_new(members, json_pack("{s:o, s:o, s:o}",
		    "userId", col_str(m, i, 0), "name", col_str(m, i, 1),
		    "isPrimary", col_bool(m, i, 2)));
	o = json_pack("{s:o, s:o, s:n, s:o, s:o, s:o, s:o}",
	    "id", col_str(g, 0, 0), "name", col_str(g, 0, 1), "sid",
	    "unixId", col_bigint(g, 0, 2),
	    "hostScanHostId", col_str(g, 0, 3),
	    "hostId", col_str(g, 0, 4),
	    "members", members);
	reply_json(r, 200, o, NULL);
out:
	json_decref(o);
	PQclear(g);
	PQclear(m);
}

/* ---- re-scans: POST/GET /HostScanJob/ByHostId/{id}, ByHostIdMultiple ---- */

/*
 * The host records of ids (lower-case uuids), as a uuid[] literal query.
 * Returns NULL having answered the error.
 */
static PGresult *
host_records(struct req *r, json_t *ids)
{
	PGresult	*res;
	enum db_err	 err;
	char		*lit;
	size_t		 i, o = 0, n = json_array_size(ids);

	lit = hs_xmalloc(n * (HS_UUID_LEN + 1) + 3);
	lit[o++] = '{';
	for (i = 0; i < n; i++) {
		if (i > 0)
			lit[o++] = ',';
		memcpy(lit + o, json_string_value(json_array_get(ids, i)),
		    HS_UUID_LEN);
		o += HS_UUID_LEN;
	}
	lit[o++] = '}';
	lit[o] = '\0';
	if ((res = db_exec(r->w, ST_HOST_RECORDS, 1,
	    (const char *const []){ lit }, &err)) == NULL)
		reply_db_error(r, err);
	free(lit);
	return res;
}

/* Row of each host record by id, so that 10 000 ids are not a scan each. */
static json_t *
record_index(const PGresult *res)
{
	json_t	*ix = json_object();
	int	 i;

	for (i = 0; i < PQntuples(res); i++)
		json_object_set_new(ix, PQgetvalue(res, i, HR_ID),
		    json_integer(i));
	return ix;
}

static int
find_record(json_t *ix, const char *id)
{
	json_t	*v = json_object_get(ix, id);

	return v != NULL ? (int)json_integer_value(v) : -1;
}

/* Why a host record cannot be re-scanned, or NULL. */
static const char *
unscannable(const PGresult *res, int i)
{
	if (PQgetisnull(res, i, HR_CRED))
		return "this host has no stored credential (it was removed); "
		    "scan it with POST /HostScanJob";
	if (PQgetisnull(res, i, HR_DNS) && PQgetisnull(res, i, HR_IP))
		return "this host has neither a DNS name nor an address";
	return NULL;
}

/*
 * Whether the stored credential's scope still admits record row i; when
 * not, the message goes into errors under path and the host into the
 * refusals for the audit trail.
 */
static int
rescan_in_scope(const PGresult *rec, int i, json_t *errors,
    const char *path, json_t *refused)
{
	const char	*dns = PQgetisnull(rec, i, HR_DNS) ? NULL :
	    PQgetvalue(rec, i, HR_DNS);
	const char	*ip = PQgetisnull(rec, i, HR_IP) ? NULL :
	    PQgetvalue(rec, i, HR_IP);
	const char	*msg;

	if (scope_allows(PQgetisnull(rec, i, HR_SCOPE) ? NULL :
	    PQgetvalue(rec, i, HR_SCOPE), dns, ip, &msg))
		return 1;
	hs_errors_add(errors, path, msg);
	if (strcmp(msg, SCOPE_REFUSED_MSG) == 0)
		refused_add(refused, PQgetvalue(rec, i, HR_CRED), dns, ip,
		    col_int(rec, i, HR_PORT));
	return 0;
}

/*
 * Queues a one-host job re-scanning record row i with its stored
 * credential, platform and port; the host record's trusted key decides.
 * Returns the job's HostScanJobStatus or NULL having answered the error.
 */
static json_t *
rescan_one(struct req *r, const PGresult *rec, int i)
{
	json_t		*rows = NULL, *status = NULL;

	rows = json_pack("[{s:i, s:o, s:o, s:o, s:o, s:o, s:b, s:n, s:n, s:n,"
	    " s:o, s:s, s:o}]",
	    "ord", 0,
	    "dns", col_str(rec, i, HR_DNS),
	    "ip", col_str(rec, i, HR_IP),
	    "os", col_str(rec, i, HR_OS),
	    "cred", col_str(rec, i, HR_CRED),
	    "plat", col_str(rec, i, HR_PLAT),
	    "acc", 0, "ta", "ct", "tt",
	    "port", col_bigint(rec, i, HR_PORT),
	    "src", "ByHostId",
	    "hid", col_str(rec, i, HR_ID));
	if (rows == NULL) {
		reply_problem(r, API_INTERNAL, "could not encode the job",
		    NULL);
		goto out;
	}
	status = job_create(r, rows, PQgetvalue(rec, i, HR_ID));
out:
	json_decref(rows);
	return status;
}

void
h_rescan_post(struct req *r, const char *id)
{
	PGresult	*rec = NULL;
	json_t		*ids = NULL, *status = NULL, *ix = NULL;
	json_t		*errors = json_object(), *refused = json_array();
	struct idem	 ik;
	const char	*why;
	int		 i;

	if (!idem_start(r, &ik, 0, 0))
		goto out;
	ids = json_pack("[s]", id);
	if ((rec = host_records(r, ids)) == NULL)
		goto out;
	ix = record_index(rec);
	if ((i = find_record(ix, id)) < 0) {
		reply_problem(r, API_NOT_FOUND, "no host has this id", NULL);
		goto out;
	}
	if ((why = unscannable(rec, i)) != NULL) {
		reply_problem(r, API_CONFLICT, why, NULL);
		goto out;
	}
	if (!rescan_in_scope(rec, i, errors, "credentialId", refused)) {
		audit_refused(r, refused);
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto out;
	}
	if ((status = rescan_one(r, rec, i)) != NULL &&
	    idem_commit(r, &ik, status))
		reply_json(r, 200, status, NULL);
out:
	db_rollback(r->w);
	json_decref(status);
	json_decref(ids);
	json_decref(ix);
	json_decref(errors);
	json_decref(refused);
	PQclear(rec);
}

void
h_rescan_get(struct req *r, const char *id)
{
	PGresult	*job = NULL, *hosts = NULL;
	enum db_err	 err;
	json_t		*status = NULL;
	const char	*jid;

	if ((job = db_exec(r->w, ST_HOST_LATEST_JOB, 1, &id, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	if (PQntuples(job) == 0) {
		reply_problem(r, API_NOT_FOUND, "no job has scanned a host "
		    "with this id", NULL);
		goto out;
	}
	jid = PQgetvalue(job, 0, 0);
	if ((hosts = db_exec(r->w, ST_JOB_HOSTS, 1, &jid, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	status = job_status(hosts, 0, PQntuples(hosts));
	reply_json(r, 200, status, NULL);
out:
	json_decref(status);
	PQclear(job);
	PQclear(hosts);
}

/*
 * One job per host, as POST .../ByHostId/{id} would make; every id is
 * checked before the first job is queued.
 */
void
h_rescan_multi(struct req *r, const char *unused)
{
	json_t		*root = NULL, *errors = NULL, *ids = NULL;
	json_t		*out = NULL, *ix = NULL, *st, *v, *refused = NULL;
	PGresult	*rec = NULL;
	struct idem	 ik;
	const char	*s, *why;
	char		 path[48], uid[HS_UUID_LEN + 1], msg[256];
	size_t		 i, j, n;
	int		 row;

	/* One transaction: every job is queued, or none. */
	if ((root = body_json(r, 0)) == NULL || !idem_start(r, &ik, 1, 1))
		goto done;
	errors = json_object();
	if (!json_is_array(root) || (n = json_array_size(root)) == 0 ||
	    n > (size_t)r->w->cfg->max_hosts) {
		snprintf(msg, sizeof(msg), "must be an array of 1 to %ld host "
		    "ids", r->w->cfg->max_hosts);
		hs_errors_add(errors, "$", msg);
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto done;
	}
	ids = json_array();
	json_array_foreach(root, i, v) {
		snprintf(path, sizeof(path), "[%zu]", i);
		s = json_string_value(v);
		if (s == NULL || strlen(s) != HS_UUID_LEN) {
			hs_errors_add(errors, path, "must be a host id");
			continue;
		}
		for (j = 0; j <= HS_UUID_LEN; j++)
			uid[j] = (char)tolower((unsigned char)s[j]);
		if (!hs_is_uuid(uid))
			hs_errors_add(errors, path, "must be a host id");
		else
			json_array_append_new(ids, json_string(uid));
	}
	if (json_object_size(errors) > 0) {
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto done;
	}
	if ((rec = host_records(r, ids)) == NULL)
		goto done;
	ix = record_index(rec);
	refused = json_array();
	json_array_foreach(ids, i, v) {
		snprintf(path, sizeof(path), "[%zu]", i);
		if ((row = find_record(ix, json_string_value(v))) < 0)
			hs_errors_add(errors, path, "no host has this id");
		else if ((why = unscannable(rec, row)) != NULL)
			hs_errors_add(errors, path, why);
		else {
			snprintf(path, sizeof(path), "[%zu].credentialId", i);
			rescan_in_scope(rec, row, errors, path, refused);
		}
	}
	if (json_object_size(errors) > 0) {
		audit_refused(r, refused);
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto done;
	}
	out = json_array();
	json_array_foreach(ids, i, v) {
		row = find_record(ix, json_string_value(v));
		if ((st = rescan_one(r, rec, row)) == NULL)
			goto done;
		json_array_append_new(out, st);
	}
	if (idem_commit(r, &ik, out))
		reply_json(r, 200, out, NULL);
done:
	db_rollback(r->w);
	json_decref(out);
	json_decref(ix);
	json_decref(ids);
	json_decref(root);
	json_decref(errors);
	json_decref(refused);
	PQclear(rec);
}
