/* SPDX-License-Identifier: ISC */
/*
 * Re-scans of durable host records: POST and GET /HostScanJob/ByHostId/{id},
 * POST /HostScanJob/ByHostIdMultiple, and POST /HostScanJob/{id} ("scan a
 * host now", where the product's managed resource is a host record).
 * Each queues a one-host job with the record's stored credential,
 * platform and port; the key the record trusts decides.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* Columns of ST_HOST_RECORDS. */
enum { HR_ID, HR_DNS, HR_IP, HR_OS, HR_CRED, HR_PLAT, HR_PORT, HR_SCOPE };

/*
 * The host records of ids (a JSON array of lower-case uuids).  Returns
 * NULL having answered the error.
 */
static PGresult *
host_records(struct req *r, const json_t *ids)
{
	PGresult	*res = NULL;
	enum db_err	 err;
	const char	**v;
	char		*lit;
	size_t		 i, n = json_array_size(ids);

	v = hs_xmalloc((n + 1) * sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(ids, i));
	if ((lit = db_uuid_array(v, n)) == NULL)
		reply_problem(r, API_INTERNAL, "a host id is not a uuid", NULL);
	else if ((res = db_exec(r->w, ST_HOST_RECORDS, 1,
	    (const char *const []){ lit }, &err)) == NULL)
		reply_db_error(r, err);
	free(lit);
	free(v);
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
	const char	*dns = col_text(rec, i, HR_DNS);
	const char	*ip = col_text(rec, i, HR_IP);
	const char	*msg;

	if (scope_allows(col_text(rec, i, HR_SCOPE), dns, ip, &msg))
		return 1;
	hs_errors_add(errors, path, msg);
	if (strcmp(msg, SCOPE_REFUSED_MSG) == 0)
		refused_add(refused, PQgetvalue(rec, i, HR_CRED), dns, ip,
		    col_int(rec, i, HR_PORT));
	return 0;
}

/*
 * Queues a one-host job re-scanning record row i; source says which route
 * asked.  Adds the job's HostScanJobStatus to q; -1 having answered the
 * error.
 */
static int
rescan_one(struct req *r, const PGresult *rec, int i, const char *source,
    struct queued *q)
{
	struct hs_jw		 w = { 0 };
	struct new_host		 host;
	struct new_job		 job = { NULL, &host, 1 };
	struct new_record	 nr = {
		.dns = col_text(rec, i, HR_DNS),
		.ip = col_text(rec, i, HR_IP),
		.os = col_text(rec, i, HR_OS),
		.cred = col_text(rec, i, HR_CRED),
		.plat = col_text(rec, i, HR_PLAT),
		.source = source,
		.host_id = PQgetvalue(rec, i, HR_ID),
		.trust_action = -1,
		.certificate_type = -1,
		.ssh_port = col_int(rec, i, HR_PORT),
	};
	unsigned char		*rnd = new_job_random(1);
	int			 rc;

	hs_jw_raw(&w, "[", 1);
	new_job_record(&w, &host, 0, rnd, &nr);
	hs_jw_raw(&w, "]", 1);
	job.records = w.p;
	rc = job_create(r, &job, NULL, nr.host_id, NULL, q);
	hs_jw_free(&w);
	free(rnd);
	return rc;
}

/*
 * A re-scan of host record id.  An id that is no host record is
 * not_found's answer: 404 for ByHostId, where the id is the resource; a
 * 400 on managedResourceId for POST /HostScanJob/{id}, where it is an
 * argument.
 */
static void
rescan_post(struct req *r, const char *id, enum api_err not_found,
    const char *source)
{
	PGresult	*rec = NULL;
	json_t		*ids = NULL, *ix = NULL;
	struct queued	 q;
	json_t		*errors = json_object(), *refused = json_array();
	struct idem	 ik;
	const char	*why;
	int		 i;

	if (!idem_start(r, &ik, 0, 0))
		goto out;
	ids = json_pack("[s]", id);
	if ((rec = host_records(r, ids)) == NULL)
		goto fail;
	ix = record_index(rec);
	if ((i = find_record(ix, id)) < 0) {
		if (not_found == API_VALIDATION)
			hs_errors_add(errors, "managedResourceId", "no host has "
			    "this id");
		reply_problem(r, not_found, "no host has this id",
		    not_found == API_VALIDATION ? errors : NULL);
		goto fail;
	}
	if ((why = unscannable(rec, i)) != NULL) {
		reply_problem(r, API_CONFLICT, why, NULL);
		goto fail;
	}
	if (!rescan_in_scope(rec, i, errors, "credentialId", refused)) {
		audit_refused(r, refused);
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto fail;
	}
	queued_init(&q, 0);
	idem_end(r, &ik, rescan_one(r, rec, i, source, &q) == 0 ? &q : NULL);
	queued_free(&q);
	goto out;
fail:
	db_rollback(r->w);
out:
	json_decref(ids);
	json_decref(ix);
	json_decref(errors);
	json_decref(refused);
	PQclear(rec);
}

void
h_rescan_post(struct req *r, const char *id)
{
	rescan_post(r, id, API_NOT_FOUND, "ByHostId");
}

void
h_rescan_now(struct req *r, const char *id)
{
	rescan_post(r, id, API_VALIDATION, "ManagedResource");
}

void
h_rescan_get(struct req *r, const char *id)
{
	PGresult	*job;
	enum db_err	 err;

	if ((job = db_exec(r->w, ST_HOST_LATEST_JOB, 1, &id, &err)) == NULL) {
		reply_db_error(r, err);
		return;
	}
	if (PQntuples(job) == 0)
		reply_problem(r, API_NOT_FOUND, "no job has scanned a host "
		    "with this id", NULL);
	else
		reply_job_status(r, PQgetvalue(job, 0, 0), 200);
	PQclear(job);
}

/*
 * The ids of a ByHostIdMultiple body, lower-cased, or NULL with the
 * reasons in errors.
 */
static json_t *
body_ids(struct req *r, const json_t *root, json_t *errors)
{
	json_t		*ids, *v;
	const char	*s;
	char		 path[48], uid[HS_UUID_LEN + 1], msg[96];
	size_t		 i, j, n;

	if (!json_is_array(root) || (n = json_array_size(root)) == 0 ||
	    n > (size_t)r->w->cfg->max_hosts) {
		snprintf(msg, sizeof(msg), "must be an array of 1 to %ld host "
		    "ids", r->w->cfg->max_hosts);
		hs_errors_add(errors, "$", msg);
		return NULL;
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
		json_decref(ids);
		return NULL;
	}
	return ids;
}

/*
 * One job per host, as POST .../ByHostId/{id} would make, in one
 * transaction: every id is checked before the first job is queued, and
 * every job is queued or none.
 */
void
h_rescan_multi(struct req *r, const char *arg)
{
	json_t		*root = NULL, *errors = json_object(), *ids = NULL;
	json_t		*ix = NULL, *v, *refused = NULL;
	struct queued	 q;
	PGresult	*rec = NULL;
	struct idem	 ik;
	const char	*why;
	char		 path[48];
	size_t		 i;
	int		 row;

	if ((root = body_json(r, 0)) == NULL || !idem_start(r, &ik, 1, 1))
		goto out;
	if ((ids = body_ids(r, root, errors)) == NULL) {
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto fail;
	}
	if ((rec = host_records(r, ids)) == NULL)
		goto fail;
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
		goto fail;
	}
	queued_init(&q, 1);
	json_array_foreach(ids, i, v) {
		row = find_record(ix, json_string_value(v));
		if (rescan_one(r, rec, row, "ByHostId", &q) == -1)
			break;
	}
	idem_end(r, &ik, i == json_array_size(ids) ? &q : NULL);
	queued_free(&q);
	goto out;
fail:
	db_rollback(r->w);
out:
	json_decref(ix);
	json_decref(ids);
	json_decref(root);
	json_decref(errors);
	json_decref(refused);
	PQclear(rec);
}
