/* SPDX-License-Identifier: ISC */
/*
 * The HostScanJob routes: POST a job, POST .../OuMapping/{credentialId},
 * the job list, one job, its status and its cancel; and the
 * HostScanJobStatus every route that queues or reads jobs answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api.h"

/* One HostScanHostStatus from the HC_ columns. */
static const struct db_field host_status_fields[] = {
	{ "hostScanHostId", HC_ID, DB_STR, NULL, 0 },
	{ "hostId", HC_HOST_ID, DB_STR, NULL, 0 },
	{ "name", HC_NAME, DB_STR, NULL, 0 },
	{ "dnsHostName", HC_DNS, DB_STR, NULL, 0 },
	{ "os", HC_OS, DB_STR, NULL, 0 },
	{ "ipAddress", HC_IP, DB_STR, NULL, 0 },
	{ "version", HC_VERSION, DB_STR, NULL, 0 },
	{ "status", HC_STATE, DB_ENUM, hs_action_status_names,
	    HS_N_ACTION_STATUS },
	{ "statusDescription", HC_DESC, DB_STR, NULL, 0 },
	{ "failureReason", HC_REASON, DB_ENUM, hs_failure_reason_names,
	    HS_N_FAILURE_REASON },
};

/*
 * A job's status is derived from its hosts: all queued ->
 * Queued; any still to do -> Running; all done: all complete -> Complete,
 * all failed -> Failed, any cancelled -> Cancelled, else
 * CompletedWithErrors.
 */
void
job_status(struct hs_jw *w, const PGresult *res, int from, int to)
{
	long		 n[HS_N_ACTION_STATUS] = { 0 };
	long		 total = to - from, done;
	int		 i, st;
	char		 desc[256];
	size_t		 dl = 0;

	for (i = from; i < to; i++) {
		st = col_int(res, i, HC_STATE);
		if (st >= 0 && st < HS_N_ACTION_STATUS)
			n[st]++;
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
	(void)hs_jw_room(w, (size_t)(to - from) * HOST_STATUS_BYTES);
	hs_jw_lit(w, "{\"id\":");
	hs_jw_str(w, from < to ? PQgetvalue(res, from, HC_JOB) : "");
	hs_jw_lit(w, ",\"status\":");
	hs_jw_str(w, hs_action_status_names[st]);
	hs_jw_lit(w, ",\"statusDescription\":");
	hs_jw_str(w, desc);
	hs_jw_lit(w, ",\"hostScanHostStatus\":[");
	for (i = from; i < to; i++) {
		if (i > from)
			hs_jw_raw(w, ",", 1);
		db_row_text(w, res, i, host_status_fields,
		    NELEM(host_status_fields));
	}
	hs_jw_lit(w, "]}");
}

void
queued_init(struct queued *q, int many)
{
	memset(q, 0, sizeof(*q));
	q->ids = json_array();
	q->many = many;
	if (many)
		hs_jw_raw(&q->text, "[", 1);
}

void
queued_free(struct queued *q)
{
	hs_jw_free(&q->text);
	json_decref(q->ids);
	q->ids = NULL;
}

/* -1 (null in the API) is JSON null. */
static void
opt_int(struct hs_jw *w, int v)
{
	if (v < 0)
		hs_jw_raw(w, "null", 4);
	else
		hs_jw_int(w, v);
}

void
new_job_record(struct hs_jw *w, struct new_host *host, size_t i,
    const unsigned char rnd[32], const struct new_record *rec)
{
	char	 aq[HS_UUID_LEN + 1];

	hs_uuid_v4(rnd, host->id);
	hs_uuid_v4(rnd + 16, aq);
	host->host_id = rec->host_id;
	host->dns = rec->dns;
	host->ip = rec->ip;
	host->os = rec->os;
	hs_jw_lit(w, i == 0 ? "{\"id\":\"" : ",{\"id\":\"");
	hs_jw_raw(w, host->id, HS_UUID_LEN);
	hs_jw_lit(w, "\",\"aq\":\"");
	hs_jw_raw(w, aq, HS_UUID_LEN);
	hs_jw_lit(w, "\",\"ord\":");
	hs_jw_int(w, (long long)i);
	hs_jw_lit(w, ",\"dns_host_name\":");
	hs_jw_str(w, rec->dns);
	hs_jw_lit(w, ",\"ip_address\":");
	hs_jw_str(w, rec->ip);
	hs_jw_lit(w, ",\"os\":");
	hs_jw_str(w, rec->os);
	hs_jw_lit(w, ",\"credential_id\":");
	hs_jw_str(w, rec->cred);
	hs_jw_lit(w, ",\"platform_id\":");
	hs_jw_str(w, rec->plat);
	hs_jw_lit(w, rec->accept_first ? ",\"accept_first\":true" :
	    ",\"accept_first\":false");
	hs_jw_lit(w, ",\"trust_action\":");
	opt_int(w, rec->trust_action);
	hs_jw_lit(w, ",\"certificate_type\":");
	opt_int(w, rec->certificate_type);
	hs_jw_lit(w, ",\"trusted_thumbprint\":");
	hs_jw_str(w, rec->thumbprint);
	hs_jw_lit(w, ",\"ssh_port\":");
	hs_jw_int(w, rec->ssh_port);
	hs_jw_lit(w, ",\"source\":");
	hs_jw_str(w, rec->source);
	hs_jw_lit(w, ",\"host_id\":");
	hs_jw_str(w, rec->host_id);
	hs_jw_raw(w, "}", 1);
}

void
new_job_free(struct new_job *job)
{
	free(job->records);
	free(job->hosts);
	memset(job, 0, sizeof(*job));
}

unsigned char *
new_job_random(size_t n)
{
	unsigned char	 seed[randombytes_SEEDBYTES];
	unsigned char	*rnd = hs_xmalloc(32 * n + 1);

	randombytes_buf(seed, sizeof(seed));
	randombytes_buf_deterministic(rnd, 32 * n, seed);
	sodium_memzero(seed, sizeof(seed));
	return rnd;
}

/*
 * The HostScanJobStatus of a job just queued: every host Queued, as
 * job_status() would read it from the rows (t/10-routes.t compares the
 * two).
 */
static void
new_job_status(struct hs_jw *w, const char *job_id, const struct new_job *job)
{
	char	 desc[64];
	size_t	 i;

	snprintf(desc, sizeof(desc), "%zu host%s: %zu %s", job->n,
	    job->n == 1 ? "" : "s", job->n, hs_action_status_names[HS_QUEUED]);
	(void)hs_jw_room(w, job->n * HOST_STATUS_BYTES);
	hs_jw_lit(w, "{\"id\":");
	hs_jw_str(w, job_id);
	hs_jw_lit(w, ",\"status\":");
	hs_jw_str(w, hs_action_status_names[HS_QUEUED]);
	hs_jw_lit(w, ",\"statusDescription\":");
	hs_jw_str(w, desc);
	hs_jw_lit(w, ",\"hostScanHostStatus\":[");
	for (i = 0; i < job->n; i++) {
		hs_jw_lit(w, i == 0 ? "{\"hostScanHostId\":" :
		    ",{\"hostScanHostId\":");
		hs_jw_str(w, job->hosts[i].id);
		hs_jw_lit(w, ",\"hostId\":");
		hs_jw_str(w, job->hosts[i].host_id);
		hs_jw_lit(w, ",\"name\":null,\"dnsHostName\":");
		hs_jw_str(w, job->hosts[i].dns);
		hs_jw_lit(w, ",\"os\":");
		hs_jw_str(w, job->hosts[i].os);
		hs_jw_lit(w, ",\"ipAddress\":");
		hs_jw_str(w, job->hosts[i].ip);
		hs_jw_lit(w, ",\"version\":null,\"status\":");
		hs_jw_str(w, hs_action_status_names[HS_QUEUED]);
		hs_jw_lit(w, ",\"statusDescription\":null,\"failureReason\":");
		hs_jw_str(w, hs_failure_reason_names[0]);
		hs_jw_raw(w, "}", 1);
	}
	hs_jw_lit(w, "]}");
}

/*
 * Queues job in one INSERT statement and adds its HostScanJobStatus to
 * q.  -1 when it answered the error itself, or (nothing answered, *stale
 * set) when the credentials and platforms guard says the job relied on
 * have changed: the INSERT then inserted nothing.  rescan_of names the
 * host record a re-scan was made for (NULL for a POSTed job).
 */
int
job_create(struct req *r, const struct new_job *job, const char *guard,
    const char *rescan_of, int *stale, struct queued *q)
{
	PGresult	*res = NULL;
	const char	*params[6];
	enum db_err	 err;
	int		 rc = -1;

	if (stale != NULL)
		*stale = 0;
	params[0] = r->claims.sub;
	params[1] = r->claims.name;
	params[2] = r->addr[0] ? r->addr : NULL;
	params[3] = job->records;
	params[4] = r->idem_key;
	params[5] = guard;
	if ((res = db_exec(r->w, ST_JOB_INSERT, 6, params, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	/* No row is the guard's refusal. */
	if (PQntuples(res) == 0) {
		if (stale != NULL)
			*stale = 1;
		else
			reply_problem(r, API_INTERNAL, "the job was not queued",
			    NULL);
		goto out;
	}
	if (strtoul(PQgetvalue(res, 0, 1), NULL, 10) != job->n) {
		hs_log(HS_LOG_ERROR, "job_insert_short", "trace=%s job=%s "
		    "hosts=%zu inserted=%s", r->trace, PQgetvalue(res, 0, 0),
		    job->n, PQgetvalue(res, 0, 1));
		reply_problem(r, API_INTERNAL, "the job was not queued", NULL);
		goto out;
	}
	if (json_array_size(q->ids) > 0)
		hs_jw_raw(&q->text, ",", 1);
	new_job_status(&q->text, PQgetvalue(res, 0, 0), job);
	json_array_append_new(q->ids, json_string(PQgetvalue(res, 0, 0)));
	hs_log(HS_LOG_INFO, "job_created", "trace=%s job=%s hosts=%zu%s%s",
	    r->trace, PQgetvalue(res, 0, 0), job->n,
	    rescan_of ? " rescan_of=" : "", rescan_of ? rescan_of : "");
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/*
 * Validates items as POST /HostScanJob does and, when all are good,
 * queues them as one job, *status.  API_VALIDATION leaves the items'
 * problems in errors for the caller to answer (the hosts a credential's
 * scope refused are in the audit trail by then); any other error was
 * answered here.  When what the worker remembered of a credential or
 * platform turns out stale, the items are validated once more against
 * the database.
 */
static enum api_err
queue_items(struct req *r, const json_t *items, json_t *errors,
    struct queued *q)
{
	json_t			*refused = json_array();
	struct hs_host_req	*h = NULL;
	struct new_job		 job = { 0 };
	size_t			 n = 0;
	char			*guard = NULL;
	enum api_err		 e;
	enum db_err		 dberr = DB_OK;
	int			 stale = 0, tries = 2;

again:
	e = hosts_validate(r, items, &h, &n, &job, &guard, errors, refused,
	    &dberr);
	if (e == API_UNAVAILABLE || e == API_INTERNAL)
		reply_db_error(r, dberr);
	else if (e != API_OK || json_object_size(errors) > 0) {
		audit_refused(r, refused);
		e = API_VALIDATION;
	} else if (job_create(r, &job, guard, NULL, &stale, q) == -1) {
		e = API_INTERNAL;
		if (stale && --tries > 0) {
			refs_forget(r->w);
			new_job_free(&job);
			free(guard);
			guard = NULL;
			hs_host_reqs_free(h, n);
			h = NULL;
			n = 0;
			goto again;
		}
		if (stale)
			reply_problem(r, API_UNAVAILABLE, "a credential or "
			    "platform of the job changed meanwhile; retry",
			    NULL);
	}
	free(guard);
	new_job_free(&job);
	json_decref(refused);
	hs_host_reqs_free(h, n);
	return e;
}

/* What OuMapping says of a name its credential's scope does not admit. */
#define OU_SCOPE_MSG	"is not in the credential's scope"
#define OU_NAME_MSG	"must be a DNS host name (a non-empty string)"

/* hs_errors_add, unless path already has msg. */
static void
errors_add_once(json_t *errors, const char *path, const char *msg)
{
	json_t	*m;
	size_t	 i;

	json_array_foreach(json_object_get(errors, path), i, m)
		if (strcmp(json_string_value(m), msg) == 0)
			return;
	hs_errors_add(errors, path, msg);
}

/*
 * The verdicts on the items built from an OuMapping body, said of what
 * the client sent: "$" for the body, "[i]" for name i (its dnsHostName's
 * messages, and the scope refusing it), "credentialId" for the route's
 * credential (unknown, or a scope that cannot be read).
 */
static json_t *
ou_errors(const json_t *names, const json_t *errors)
{
	json_t		*out = json_object(), *msgs, *m, *name;
	const char	*path, *field, *msg, *key;
	char		 item[32];
	size_t		 i, j;

	json_object_foreach((json_t *)errors, path, msgs) {
		field = strchr(path, '.');
		key = path;
		if (path[0] == '[' && sscanf(path, "[%zu]", &i) == 1) {
			snprintf(item, sizeof(item), "[%zu]", i);
			key = item;
		}
		json_array_foreach(msgs, j, m) {
			msg = json_string_value(m);
			if (field != NULL && (strcmp(field, ".credentialId") == 0 ||
			    strcmp(field, ".credentialName") == 0)) {
				if (strcmp(msg, SCOPE_REFUSED_MSG) == 0)
					msg = OU_SCOPE_MSG;
				else
					key = "credentialId";
			} else if (key == item &&
			    ((name = json_array_get(names, i)) == NULL ||
			    !json_is_string(name) ||
			    json_string_length(name) == 0))
				msg = OU_NAME_MSG;
			errors_add_once(out, key, msg);
		}
	}
	return out;
}

/*
 * Queues items as one job and answers with its status, or with the 400 of
 * their problems (said of names, the body of OuMapping, when not NULL);
 * ends what idem_start began.
 */
static void
post_items(struct req *r, struct idem *ik, const json_t *items,
    const json_t *names)
{
	json_t		*errors = json_object(), *answer = NULL;
	struct queued	 q;
	enum api_err	 e;

	queued_init(&q, 0);
	if ((e = queue_items(r, items, errors, &q)) == API_VALIDATION) {
		answer = names != NULL ? ou_errors(names, errors) :
		    json_incref(errors);
		reply_problem(r, API_VALIDATION, NULL, answer);
	}
	idem_end(r, ik, e == API_OK ? &q : NULL);
	queued_free(&q);
	json_decref(answer);
	json_decref(errors);
}

void
h_job_post(struct req *r, const char *arg)
{
	json_t		*root;
	struct idem	 ik;

	if ((root = body_json(r, 0)) == NULL)
		return;
	if (idem_start(r, &ik, 0, 0))
		post_items(r, &ik, root, NULL);
	json_decref(root);
}

/*
 * POST /HostScanJob/OuMapping/{credentialId}: one job scanning the DNS
 * names of the body with that credential, as POST /HostScanJob would queue
 * items naming only dnsHostName and credentialId: the same validation and
 * scope check.  An OU mapping feeds the hosts hostscan scans over SSH, so
 * the items are Linux, port 22, no first-use trust (the pinned key or an
 * Admin's Trust decides), source "OuMapping".
 */
void
h_job_ou_mapping(struct req *r, const char *cred_id)
{
	json_t		*root = NULL, *items = NULL, *errors = NULL, *v;
	struct idem	 ik;
	char		 msg[96];
	size_t		 i;

	if ((root = body_json(r, BODY_ANY)) == NULL)
		goto out;
	if (!json_is_array(root) || json_array_size(root) == 0 ||
	    json_array_size(root) > (size_t)r->w->cfg->max_hosts) {
		errors = json_object();
		snprintf(msg, sizeof(msg), "must be an array of 1 to %ld DNS "
		    "host names", r->w->cfg->max_hosts);
		hs_errors_add(errors, "$", msg);
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto out;
	}
	if (!idem_start(r, &ik, 0, 0))
		goto out;
	items = json_array();
	json_array_foreach(root, i, v)
		json_array_append_new(items, json_pack("{s:O, s:s, s:s, s:b, "
		    "s:i, s:s}", "dnsHostName", v, "credentialId", cred_id,
		    "platformName", "Linux", "acceptThumbprintOnFirstDiscovery",
		    0, "sshPort", 22, "source", "OuMapping"));
	post_items(r, &ik, items, root);
out:
	json_decref(items);
	json_decref(root);
	json_decref(errors);
}

/*
 * The HostScanJobStatus of job id, after a read or a change (status);
 * 404 when it is no job (every job has at least one host).
 */
void
reply_job_status(struct req *r, const char *id, int status)
{
	PGresult	*res;
	enum db_err	 err;
	struct hs_jw	 w = { 0 };

	if ((res = db_exec(r->w, ST_JOB_HOSTS, 1, &id, &err)) == NULL) {
		reply_db_error(r, err);
		return;
	}
	if (PQntuples(res) == 0)
		reply_problem(r, API_NOT_FOUND, "no job has this id", NULL);
	else {
		job_status(&w, res, 0, PQntuples(res));
		reply_json_text(r, status, &w, NULL);
		hs_jw_free(&w);
	}
	PQclear(res);
}

void
h_job_status(struct req *r, const char *id)
{
	reply_job_status(r, id, 200);
}

/* Columns of ST_JOB_ENTITY: the job's, then its host's. */
enum { EJ_ID, EJ_BY, EJ_BY_NAME, EJ_FROM, EJ_CREATED, EJ_MODIFIED,
	EC_ID, EC_AQ, EC_STATE, EC_DESC, EC_REASON, EC_CREATED, EC_STARTED,
	EC_FINISHED, EC_DNS, EC_IP, EC_OS, EC_CRED, EC_CRED_NAME, EC_PLAT,
	EC_PLAT_NAME, EC_ACC, EC_TA, EC_CT, EC_TT, EC_PORT, EC_SRC, EC_HOST,
	EC_NAME, EC_VERSION };

static const struct db_field entity_job_fields[] = {
	{ "id", EJ_ID, DB_STR, NULL, 0 },
	{ "createdBy", EJ_BY, DB_STR, NULL, 0 },
	{ "createdByUserName", EJ_BY_NAME, DB_STR, NULL, 0 },
	{ "createdFromAddress", EJ_FROM, DB_STR, NULL, 0 },
	{ "createdDateTimeUtc", EJ_CREATED, DB_STR, NULL, 0 },
	{ "modifiedDateTimeUtc", EJ_MODIFIED, DB_STR, NULL, 0 },
};

static const struct db_field entity_host_fields[] = {
	{ "id", EC_ID, DB_STR, NULL, 0 },
	{ "dnsHostName", EC_DNS, DB_STR, NULL, 0 },
	{ "ipAddress", EC_IP, DB_STR, NULL, 0 },
	{ "os", EC_OS, DB_STR, NULL, 0 },
	{ "credentialId", EC_CRED, DB_STR, NULL, 0 },
	{ "credentialName", EC_CRED_NAME, DB_STR, NULL, 0 },
	{ "platformId", EC_PLAT, DB_STR, NULL, 0 },
	{ "platformName", EC_PLAT_NAME, DB_STR, NULL, 0 },
	{ "acceptThumbprintOnFirstDiscovery", EC_ACC, DB_BOOL, NULL, 0 },
	{ "sshTrustActionType", EC_TA, DB_ENUM, hs_trust_action_names,
	    HS_N_TRUST_ACTION },
	{ "certificateType", EC_CT, DB_ENUM, hs_certificate_type_names,
	    HS_N_CERTIFICATE_TYPE },
	{ "trustedThumbprint", EC_TT, DB_STR, NULL, 0 },
	{ "sshPort", EC_PORT, DB_INT, NULL, 0 },
	{ "source", EC_SRC, DB_STR, NULL, 0 },
	{ "hostId", EC_HOST, DB_STR, NULL, 0 },
	{ "name", EC_NAME, DB_STR, NULL, 0 },
	{ "version", EC_VERSION, DB_STR, NULL, 0 },
};

static const struct db_field entity_queue_fields[] = {
	{ "id", EC_AQ, DB_STR, NULL, 0 },
	{ "status", EC_STATE, DB_ENUM, hs_action_status_names,
	    HS_N_ACTION_STATUS },
	{ "statusDescription", EC_DESC, DB_STR, NULL, 0 },
	{ "failureReason", EC_REASON, DB_ENUM, hs_failure_reason_names,
	    HS_N_FAILURE_REASON },
	{ "timeCreated", EC_CREATED, DB_STR, NULL, 0 },
	{ "timeStarted", EC_STARTED, DB_STR, NULL, 0 },
	{ "timeFinished", EC_FINISHED, DB_STR, NULL, 0 },
};

static json_t *
entity_join(const char *job, const PGresult *res, int i)
{
	return json_pack("{s:s, s:s, s:o, s:s, s:o}",
	    "hostScanJobId", job,
	    "hostScanHostId", PQgetvalue(res, i, EC_ID),
	    "hostScanHost", db_row(res, i, entity_host_fields,
	    NELEM(entity_host_fields)),
	    "actionQueueId", PQgetvalue(res, i, EC_AQ),
	    "actionQueue", db_row(res, i, entity_queue_fields,
	    NELEM(entity_queue_fields)));
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
	o = db_row(res, 0, entity_job_fields, NELEM(entity_job_fields));
	json_object_set_new(o, "hostScanJobHostJoin", joins);
	reply_json(r, 200, o, NULL);
out:
	json_decref(o);
	PQclear(res);
}

void
h_job_cancel(struct req *r, const char *id)
{
	PGresult	*res;
	enum db_err	 err;
	const char	*params[2] = { id, r->claims.sub };

	if ((res = db_exec(r->w, ST_JOB_CANCEL, 2, params, &err)) == NULL) {
		reply_db_error(r, err);
		return;
	}
	if (PQntuples(res) == 0)
		reply_problem(r, API_NOT_FOUND, "no job has this id", NULL);
	else {
		hs_log(HS_LOG_INFO, "job_cancel", "trace=%s job=%s "
		    "cancelled_queued=%s", r->trace, id, PQgetvalue(res, 0, 1));
		reply_job_status(r, id, 202);
	}
	PQclear(res);
}

/*
 * GET /HostScanJob?limit=&after=: a page of job ids, newest first, then
 * the hosts of those jobs in one statement.  An after that names no job is
 * the client's error, not an empty page.
 */
void
h_job_list(struct req *r, const char *arg)
{
	PGresult	*page = NULL, *hosts = NULL;
	json_t		*errors = NULL;
	struct hs_jw	 w = { 0 };
	struct page	 pg;
	const char	**ids = NULL, *params[2];
	char		*lit = NULL;
	enum db_err	 err;
	int		 i, j, k, n;

	if (page_args(r, &pg, "must be the id of a job") != 0)
		goto out;
	if (pg.after[0] != '\0') {
		if ((page = db_exec(r->w, ST_JOB_ROW, 1,
		    (const char *const []){ pg.after }, &err)) == NULL) {
			reply_db_error(r, err);
			goto out;
		}
		n = PQntuples(page);
		PQclear(page);
		page = NULL;
		if (n == 0) {
			errors = json_object();
			hs_errors_add(errors, "after", "no job has this id");
			reply_problem(r, API_VALIDATION, NULL, errors);
			goto out;
		}
	}
	params[0] = pg.after[0] ? pg.after : NULL;
	params[1] = pg.fetch;
	if ((page = db_exec(r->w, ST_JOB_PAGE, 2, params, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	n = page_rows(&pg, "/HostScanJob", page);
	ids = hs_xmalloc(((size_t)n + 1) * sizeof(*ids));
	for (i = 0; i < n; i++)
		ids[i] = PQgetvalue(page, i, 0);
	lit = db_uuid_array(ids, (size_t)n);
	if ((hosts = db_exec(r->w, ST_JOB_PAGE_HOSTS, 1,
	    (const char *const []){ lit }, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	/* Hosts come grouped by job; emit the groups in page order. */
	hs_jw_raw(&w, "[", 1);
	for (i = 0; i < n; i++) {
		int	 lo = 0, hi = PQntuples(hosts), mid;

		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (strcmp(PQgetvalue(hosts, mid, HC_JOB), ids[i]) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (j = lo, k = lo; k < PQntuples(hosts) &&
		    strcmp(PQgetvalue(hosts, k, HC_JOB), ids[i]) == 0; k++)
			;
		if (k > j) {
			if (w.len > 1)
				hs_jw_raw(&w, ",", 1);
			job_status(&w, hosts, j, k);
		}
	}
	hs_jw_raw(&w, "]", 1);
	reply_json_text(r, 200, &w, pg.link[0] ? pg.link : NULL);
out:
	free(lit);
	free(ids);
	hs_jw_free(&w);
	json_decref(errors);
	PQclear(page);
	PQclear(hosts);
}
