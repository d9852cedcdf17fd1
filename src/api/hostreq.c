/* SPDX-License-Identifier: ISC */
/*
 * The HostScanJobRequest items of POST /HostScanJob, ValidateImportedCSV
 * and OuMapping: the validation table's verdicts, then the credentials and
 * platforms they name and each credential's scope, and the records
 * ST_JOB_INSERT reads.  Hosts a credential's scope refused (here or in a
 * re-scan) go to the credential audit trail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* The credential and platform ids an item resolved to ("" when none). */
struct item_ids {
	char	 cred[HS_UUID_LEN + 1];
	char	 plat[HS_UUID_LEN + 1];
};

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

	if (json_object_size(errors) == 0)
		return 0;
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
		    "credential_id", cred_id,
		    "dns_host_name", dns ? json_string(dns) : json_null(),
		    "address", ip ? json_string(ip) : json_null(),
		    "port", port));
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
 * The worker's memory of credentials and platforms (w->refs, an object of
 * three): "id" and "name" map a credential's id and name to its
 * [id, name, scope], "plat" a platform's name to its id.  It saves a POST
 * its lookup query, and is never trusted alone: the INSERT finds what
 * it said unchanged or inserts nothing (ST_JOB_INSERT's $6), and an item
 * it would refuse is looked up again.
 */
static json_t *
refs_new(void)
{
	return json_pack("{s:{}, s:{}, s:{}}", "id", "name", "plat");
}

static size_t
refs_size(const json_t *refs)
{
	return json_object_size(json_object_get(refs, "id")) +
	    json_object_size(json_object_get(refs, "name")) +
	    json_object_size(json_object_get(refs, "plat"));
}

/* The rows of ST_REFS into refs. */
static void
refs_add(json_t *refs, const PGresult *res)
{
	json_t		*by_id = json_object_get(refs, "id");
	json_t		*by_name = json_object_get(refs, "name");
	json_t		*plat = json_object_get(refs, "plat"), *c;
	const char	*id, *name;
	int		 row;

	for (row = 0; row < PQntuples(res); row++) {
		id = PQgetvalue(res, row, 1);
		name = PQgetvalue(res, row, 2);
		if (PQgetvalue(res, row, 0)[0] == 'p') {
			json_object_set_new(plat, name, json_string(id));
			continue;
		}
		c = json_pack("[s, s, s]", id, name, PQgetvalue(res, row, 3));
		json_object_set(by_id, id, c);
		json_object_set_new(by_name, name, c);
	}
}

void
refs_forget(struct worker *w)
{
	json_decref(w->refs);
	w->refs = NULL;
}

/* What the INSERT must find unchanged: guard's "c" by id, "p" by name. */
static void
guard_credential(json_t *guard, const json_t *c, int by_name)
{
	json_t		*g = json_object_get(guard, "c");
	const char	*id = json_string_value(json_array_get(c, 0));
	json_t		*e = json_object_get(g, id);

	if (e == NULL) {
		e = json_pack("{s:O, s:O}", "credential_id",
		    json_array_get(c, 0), "scope", json_array_get(c, 2));
		json_object_set_new(g, id, e);
	}
	if (by_name)
		json_object_set(e, "name", json_array_get(c, 1));
}

/*
 * One pass over the items with the credentials and platforms of refs:
 * each credential must exist and its scope admit the item's host (each
 * scope parsed once), each platform exist.  The ids go into ids, what
 * was relied on into guard.  Returns how many items it refused; their
 * problems go into errors and refused (when not NULL) only when report
 * is set.
 */
static size_t
refs_apply(const json_t *refs, const struct hs_host_req *h, size_t n,
    struct item_ids *ids, json_t *guard, int report, json_t *errors,
    json_t *refused)
{
	json_t		*by_id = json_object_get(refs, "id");
	json_t		*by_name = json_object_get(refs, "name");
	json_t		*plat_by_name = json_object_get(refs, "plat");
	json_t		*seen = json_object(), *c, *plat, *v;
	json_t		*last_c = NULL, *guard_p = json_object_get(guard, "p");
	struct hs_scope	*scopes;
	signed char	*parsed;		/* 0 not yet, 1 ok, -1 bad */
	const char	*key, *msg;
	char		 path[64];
	size_t		 i, k = 0, nscopes = 0, refused_n = 0;

	scopes = hs_xmalloc((n + 1) * sizeof(*scopes));
	parsed = hs_xmalloc(n + 1);
	memset(parsed, 0, n + 1);
	for (i = 0; i < n; i++) {
		ids[i].cred[0] = ids[i].plat[0] = '\0';
		key = h[i].credential_id[0] ? "credentialId" : "credentialName";
		snprintf(path, sizeof(path), "[%zu].%s", i, key);
		if (has_error(errors, i, "credentialId") ||
		    has_error(errors, i, "credentialName"))
			goto platform;
		c = NULL;
		if (h[i].credential_id[0] != '\0')
			c = json_object_get(by_id, h[i].credential_id);
		/*
		 * The database answers an id before a name; the worker's
		 * memory may not know an id the database has, so an id it
		 * does not know is a miss, never a reason to go by the name
		 * (credential_id is "" for a null or all-zero id).
		 */
		if (c == NULL && !report && h[i].credential_id[0] != '\0') {
			refused_n++;
			goto platform;
		}
		if (c == NULL && h[i].credential_name != NULL)
			c = json_object_get(by_name, h[i].credential_name);
		if (c == NULL) {
			refused_n++;
			if (report)
				hs_errors_add(errors, path,
				    h[i].credential_id[0] ?
				    "no credential has this id" :
				    "no credential has this name");
			goto platform;
		}
		/* Items mostly come in runs of one credential. */
		if (c == last_c)
			;
		else if ((v = json_object_get(seen, json_string_value(
		    json_array_get(c, 0)))) == NULL) {
			k = nscopes++;
			json_object_set_new(seen, json_string_value(
			    json_array_get(c, 0)), json_integer((json_int_t)k));
		} else
			k = (size_t)json_integer_value(v);
		if (parsed[k] == 0)
			parsed[k] = hs_scope_parse(json_string_value(
			    json_array_get(c, 2)), &scopes[k], NULL, 0) == 0 ?
			    1 : -1;
		msg = NULL;
		if (parsed[k] < 0)
			msg = SCOPE_UNREADABLE_MSG;
		else if (!hs_scope_allows_request(&scopes[k],
		    h[i].dns_host_name, h[i].ip_address)) {
			msg = SCOPE_REFUSED_MSG;
			if (report)
				refused_add(refused, json_string_value(
				    json_array_get(c, 0)), h[i].dns_host_name,
				    h[i].ip_address, h[i].ssh_port);
		}
		if (msg != NULL) {
			refused_n++;
			if (report)
				hs_errors_add(errors, path, msg);
		} else {
			hs_strlcpy(ids[i].cred, json_string_value(
			    json_array_get(c, 0)), sizeof(ids[i].cred));
			guard_credential(guard, c, h[i].credential_id[0] ==
			    '\0');
		}
		last_c = c;
platform:
		if (has_error(errors, i, "platformName") ||
		    h[i].platform_name == NULL)
			continue;
		if ((plat = json_object_get(plat_by_name,
		    h[i].platform_name)) == NULL) {
			refused_n++;
			snprintf(path, sizeof(path), "[%zu].platformName", i);
			if (report)
				hs_errors_add(errors, path, "is not a known "
				    "platform (names are matched exactly, "
				    "e.g. Linux, Windows)");
			continue;
		}
		hs_strlcpy(ids[i].plat, json_string_value(plat),
		    sizeof(ids[i].plat));
		if (json_object_get(guard_p, h[i].platform_name) == NULL)
			json_object_set_new(guard_p, h[i].platform_name,
			    json_pack("{s:O, s:s}", "platform_id", plat,
			    "platform_name", h[i].platform_name));
	}
	for (k = 0; k < nscopes; k++)
		if (parsed[k] > 0)
			hs_scope_free(&scopes[k]);
	free(scopes);
	free(parsed);
	json_decref(seen);
	return refused_n;
}

/*
 * Credentials and platforms named by the items must exist, and each
 * credential's scope must admit its item's host.  From the worker's
 * memory when it knows every one and refuses none (guard says what the
 * INSERT must find unchanged); else one query for all distinct names and
 * ids, which the worker then remembers.  Without guard (a validation
 * that inserts nothing) always the query.  The resolved ids go into ids,
 * for the INSERT's records; items refused for scope also go into refused
 * (when not NULL).
 */
static enum api_err
resolve_refs(struct req *r, const struct hs_host_req *h, size_t n,
    struct item_ids *ids, json_t *guard, json_t *errors, json_t *refused,
    enum db_err *dberr)
{
	json_t		*cids = json_object(), *names = json_object();
	json_t		*plats = json_object(), *fresh = NULL;
	json_t		*g = guard ? guard : json_pack("{s:{}, s:{}}", "c", "p");
	char		*p[3] = { NULL, NULL, NULL };
	PGresult	*res = NULL;
	enum api_err	 rc = API_INTERNAL;
	size_t		 i;

	if (guard != NULL && r->w->refs != NULL &&
	    refs_apply(r->w->refs, h, n, ids, g, 0, errors, refused) == 0) {
		rc = API_OK;
		goto out;
	}
	json_object_clear(json_object_get(g, "c"));
	json_object_clear(json_object_get(g, "p"));
	for (i = 0; i < n; i++) {
		set_add(cids, h[i].credential_id);
		set_add(names, h[i].credential_name);
		set_add(plats, h[i].platform_name);
	}
	if ((p[0] = set_keys_json(cids)) == NULL ||
	    (p[1] = set_keys_json(names)) == NULL ||
	    (p[2] = set_keys_json(plats)) == NULL)
		goto out;
	if ((res = db_exec(r->w, ST_REFS, 3, (const char *const *)p,
	    dberr)) == NULL)
		goto out;
	fresh = refs_new();
	refs_add(fresh, res);
	(void)refs_apply(fresh, h, n, ids, g, 1, errors, refused);
	if (r->w->refs == NULL || refs_size(r->w->refs) + 2 *
	    (size_t)PQntuples(res) > HS_REFS_CACHE_MAX) {
		json_decref(r->w->refs);
		r->w->refs = refs_new();
	}
	refs_add(r->w->refs, res);
	rc = API_OK;
out:
	PQclear(res);
	free(p[0]);
	free(p[1]);
	free(p[2]);
	json_decref(cids);
	json_decref(names);
	json_decref(plats);
	json_decref(fresh);
	if (g != guard)
		json_decref(g);
	return rc;
}

/*
 * The job of the items: the records ST_JOB_INSERT reads, one per item, in
 * order, as a JSON array written without a tree (10 000 of them are
 * 150 000 values), and what its status says of each.
 */
static void
insert_rows(const struct hs_host_req *h, const struct item_ids *ids,
    size_t n, struct new_job *job)
{
	struct hs_jw		 w = { 0 };
	struct new_record	 rec;
	unsigned char		*rnd = new_job_random(n);
	size_t			 i;

	job->hosts = hs_xmalloc((n + 1) * sizeof(*job->hosts));
	job->n = n;
	(void)hs_jw_room(&w, n * HOST_RECORD_BYTES);
	hs_jw_raw(&w, "[", 1);
	for (i = 0; i < n; i++) {
		rec.dns = h[i].dns_host_name;
		rec.ip = h[i].ip_address;
		rec.os = h[i].os;
		rec.cred = ids[i].cred[0] ? ids[i].cred : NULL;
		rec.plat = ids[i].plat[0] ? ids[i].plat : NULL;
		rec.thumbprint = h[i].trusted_thumbprint;
		rec.source = h[i].source;
		rec.host_id = NULL;
		rec.accept_first = h[i].accept_first;
		rec.trust_action = h[i].trust_action;
		rec.certificate_type = h[i].certificate_type;
		rec.ssh_port = h[i].ssh_port;
		new_job_record(&w, &job->hosts[i], i, rnd + 32 * i, &rec);
	}
	hs_jw_raw(&w, "]", 1);
	job->records = w.p;
	free(rnd);
}

/*
 * The validation of POST /HostScanJob, shared with ValidateImportedCSV so
 * that the two can never disagree: the table of pure checks, then the
 * credential and platform lookups with the credentials' scopes.  Every
 * problem goes into errors; *job (when job is not NULL) gets the job of
 * the items when none has a problem and *guard (when guard is not NULL:
 * the worker's memory of credentials may serve) its $6; refused (may be
 * NULL) the hosts a credential's scope refused, for audit_refused().
 * Returns API_VALIDATION when the body as a whole is unusable (not an
 * array, empty, too long), API_UNAVAILABLE or API_INTERNAL with *dberr
 * when the lookups failed, else API_OK (items may still have errors).
 */
enum api_err
hosts_validate(struct req *r, const json_t *root, struct hs_host_req **h,
    size_t *n, struct new_job *job, char **guard, json_t *errors,
    json_t *refused, enum db_err *dberr)
{
	json_t		*g = NULL, *a = NULL, *v;
	struct item_ids	*ids = NULL;
	const char	*k;
	enum api_err	 rc = API_OK;

	if (job != NULL)
		memset(job, 0, sizeof(*job));
	if (guard != NULL)
		*guard = NULL;
	if (hs_validate_hosts(root, r->w->cfg->max_hosts, h, n,
	    errors) != 0 && (*h == NULL || *n == 0))
		return API_VALIDATION;
	ids = hs_xmalloc((*n + 1) * sizeof(*ids));
	if (guard != NULL)
		g = json_pack("{s:{}, s:{}}", "c", "p");
	if (resolve_refs(r, *h, *n, ids, g, errors, refused,
	    dberr) != API_OK) {
		rc = *dberr == DB_UNAVAILABLE ? API_UNAVAILABLE : API_INTERNAL;
		goto out;
	}
	if (job != NULL && json_object_size(errors) == 0)
		insert_rows(*h, ids, *n, job);
	if (guard != NULL) {
		a = json_array();
		json_object_foreach(json_object_get(g, "c"), k, v)
			json_array_append(a, v);
		json_object_foreach(json_object_get(g, "p"), k, v)
			json_array_append(a, v);
		if ((*guard = json_dumps(a, JSON_COMPACT)) == NULL)
			rc = API_INTERNAL;
	}
out:
	free(ids);
	json_decref(a);
	json_decref(g);
	return rc;
}
