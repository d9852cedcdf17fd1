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
			json_object_set_new(item, "credential_id",
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
			json_object_set(item, "platform_id", plat);
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
		    "dns_host_name", opt_str(h[i].dns_host_name),
		    "ip_address", opt_str(h[i].ip_address),
		    "os", opt_str(h[i].os),
		    "credential_id", "platform_id",
		    "accept_first", h[i].accept_first,
		    "trust_action", opt_int(h[i].trust_action),
		    "certificate_type", opt_int(h[i].certificate_type),
		    "trusted_thumbprint", opt_str(h[i].trusted_thumbprint),
		    "ssh_port", h[i].ssh_port,
		    "source", opt_str(h[i].source)));
	return rows;
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
