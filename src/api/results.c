/* SPDX-License-Identifier: ISC */
/*
 * What the scans found: scanned host records with their scan log, the
 * Trust of a discovered key, users (by id, all, or by SID), groups, and
 * each host's services, scheduled tasks and installed software.  Lists
 * are keyset-paged by id, a cursor that survives a later scan replacing
 * the rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define NO_HOST_RECORD	"no scanned host record has this hostScanHostId"
#define AFTER_MSG	"must be an id from the previous page"

/* Columns of RES_HOST_COLS (db.c). */
enum { RH_ID, RH_NAME, RH_DNS, RH_IP, RH_OS, RH_VERSION, RH_HOST, RH_CRED,
	RH_PLAT, RH_LAST, RH_LAST_START, RH_CONNECTED, RH_DISC_FP, RH_TRUST_FP,
	RH_JOB, RH_PORT, RH_DISC_KT, RH_TRUST_KT };

/* The product's HostScanHost has id: the same value as hostScanHostId. */
static const struct db_field host_fields[] = {
	{ "id", RH_ID, DB_STR, NULL, 0 },
	{ "hostScanHostId", RH_ID, DB_STR, NULL, 0 },
	{ "hostScanJobId", RH_JOB, DB_STR, NULL, 0 },
	{ "name", RH_NAME, DB_STR, NULL, 0 },
	{ "dnsHostName", RH_DNS, DB_STR, NULL, 0 },
	{ "ipAddress", RH_IP, DB_STR, NULL, 0 },
	{ "os", RH_OS, DB_STR, NULL, 0 },
	{ "version", RH_VERSION, DB_STR, NULL, 0 },
	{ "hostId", RH_HOST, DB_STR, NULL, 0 },
	{ "credentialId", RH_CRED, DB_STR, NULL, 0 },
	{ "platformId", RH_PLAT, DB_STR, NULL, 0 },
	{ "sshPort", RH_PORT, DB_INT, NULL, 0 },
	{ "lastScanTimeUtc", RH_LAST, DB_STR, NULL, 0 },
	{ "lastScanStartTimeUtc", RH_LAST_START, DB_STR, NULL, 0 },
	{ "hostConnected", RH_CONNECTED, DB_BOOL, NULL, 0 },
	{ "discoveredKeyType", RH_DISC_KT, DB_STR, NULL, 0 },
	{ "discoveredThumbprint", RH_DISC_FP, DB_STR, NULL, 0 },
	{ "trustedKeyType", RH_TRUST_KT, DB_STR, NULL, 0 },
	{ "trustedThumbprint", RH_TRUST_FP, DB_STR, NULL, 0 },
};

/* Columns of RES_USER_COLS (db.c). */
enum { RU_ID, RU_NAME, RU_DISPLAY, RU_UID, RU_GID, RU_HOME, RU_SHELL,
	RU_PRIV, RU_PW_CHANGED, RU_PW_EXPIRES, RU_DISABLED, RU_SCAN, RU_HOST,
	RU_SID };

/* A Unix host has no SAM account name: null, as the product has it. */
static const struct db_field user_fields[] = {
	{ "id", RU_ID, DB_STR, NULL, 0 },
	{ "name", RU_NAME, DB_STR, NULL, 0 },
	{ "displayName", RU_DISPLAY, DB_STR, NULL, 0 },
	{ "samaccountname", 0, DB_NULL, NULL, 0 },
	{ "sid", RU_SID, DB_STR, NULL, 0 },
	{ "unixId", RU_UID, DB_INT, NULL, 0 },
	{ "unixGroupId", RU_GID, DB_INT, NULL, 0 },
	{ "homeDirectory", RU_HOME, DB_STR, NULL, 0 },
	{ "shell", RU_SHELL, DB_STR, NULL, 0 },
	{ "privilege", RU_PRIV, DB_STR, NULL, 0 },
	{ "passwordChangedDateTimeUtc", RU_PW_CHANGED, DB_STR, NULL, 0 },
	{ "passwordExpirationDateTimeUtc", RU_PW_EXPIRES, DB_STR, NULL, 0 },
	{ "isDisabled", RU_DISABLED, DB_BOOL, NULL, 0 },
	{ "hostScanHostId", RU_SCAN, DB_STR, NULL, 0 },
	{ "hostId", RU_HOST, DB_STR, NULL, 0 },
};

/* Columns of ST_RES_GROUP. */
enum { RG_ID, RG_NAME, RG_UID, RG_SCAN, RG_HOST, RG_SID };

static const struct db_field group_fields[] = {
	{ "id", RG_ID, DB_STR, NULL, 0 },
	{ "name", RG_NAME, DB_STR, NULL, 0 },
	{ "sid", RG_SID, DB_STR, NULL, 0 },
	{ "unixId", RG_UID, DB_INT, NULL, 0 },
	{ "hostScanHostId", RG_SCAN, DB_STR, NULL, 0 },
	{ "hostId", RG_HOST, DB_STR, NULL, 0 },
};

/*
 * userId is null for a listed name that is no user of the host;
 * isPrimary marks users whose primary group this is.
 */
static const struct db_field member_fields[] = {
	{ "userId", 0, DB_STR, NULL, 0 },
	{ "name", 1, DB_STR, NULL, 0 },
	{ "isPrimary", 2, DB_BOOL, NULL, 0 },
};

static const struct db_field scan_log_fields[] = {
	{ "at", 0, DB_STR, NULL, 0 },
	{ "level", 1, DB_STR, NULL, 0 },
	{ "step", 2, DB_STR, NULL, 0 },
	{ "message", 3, DB_STR, NULL, 0 },
};

/* HostScanService: the columns of ST_RES_SERVICE_PAGE, in order. */
static const struct db_field service_fields[] = {
	{ "id", 0, DB_STR, NULL, 0 },
	{ "name", 1, DB_STR, NULL, 0 },
	{ "displayName", 2, DB_STR, NULL, 0 },
	{ "description", 3, DB_STR, NULL, 0 },
	{ "startType", 4, DB_STR, NULL, 0 },
	{ "userName", 5, DB_STR, NULL, 0 },
	{ "binaryPathName", 6, DB_STR, NULL, 0 },
	{ "hostScanHostId", 7, DB_STR, NULL, 0 },
	{ "hostId", 8, DB_STR, NULL, 0 },
};

/* HostScanScheduledTask: the columns of ST_RES_TASK_PAGE, in order. */
static const struct db_field task_fields[] = {
	{ "id", 0, DB_STR, NULL, 0 },
	{ "name", 1, DB_STR, NULL, 0 },
	{ "taskPath", 2, DB_STR, NULL, 0 },
	{ "userName", 3, DB_STR, NULL, 0 },
	{ "description", 4, DB_STR, NULL, 0 },
	{ "source", 5, DB_STR, NULL, 0 },
	{ "nextRunTimeUtc", 6, DB_STR, NULL, 0 },
	{ "lastRunTimeUtc", 7, DB_STR, NULL, 0 },
	{ "hostScanHostId", 8, DB_STR, NULL, 0 },
	{ "hostId", 9, DB_STR, NULL, 0 },
};

/* Installed software: the columns of ST_RES_SOFTWARE_PAGE, in order. */
static const struct db_field software_fields[] = {
	{ "id", 0, DB_STR, NULL, 0 },
	{ "name", 1, DB_STR, NULL, 0 },
	{ "version", 2, DB_STR, NULL, 0 },
	{ "description", 3, DB_STR, NULL, 0 },
	{ "hostScanHostId", 4, DB_STR, NULL, 0 },
	{ "hostId", 5, DB_STR, NULL, 0 },
};

/* A keyset-paged list of rows whose column 0 is their id. */
struct list {
	enum stmt		 page;	/* (parent,) after, limit */
	const struct db_field	*fields;
	size_t			 nfields;
	enum stmt		 parent;	/* its rows: the parent exists */
	const char		*no_parent;	/* the 404's detail */
};

static const struct list host_list = {
	ST_RES_HOST_PAGE, host_fields, NELEM(host_fields), ST__MAX, NULL };
static const struct list user_list = {
	ST_RES_USER_PAGE, user_fields, NELEM(user_fields), ST__MAX, NULL };
static const struct list user_sid_list = {
	ST_RES_USER_SID_PAGE, user_fields, NELEM(user_fields), ST__MAX, NULL };
static const struct list service_list = {
	ST_RES_SERVICE_PAGE, service_fields, NELEM(service_fields),
	ST_RES_HOST, NO_HOST_RECORD };
static const struct list task_list = {
	ST_RES_TASK_PAGE, task_fields, NELEM(task_fields),
	ST_RES_HOST, NO_HOST_RECORD };
static const struct list software_list = {
	ST_RES_SOFTWARE_PAGE, software_fields, NELEM(software_fields),
	ST_RES_HOST, NO_HOST_RECORD };

/*
 * One page of list l below parent (NULL for a list of everything), whose
 * next page is at route.  An empty page below a parent that does not
 * exist is a 404.
 */
static void
list_reply(struct req *r, const struct list *l, const char *parent,
    const char *route)
{
	PGresult	*res = NULL, *p = NULL;
	json_t		*out = NULL;
	struct page	 pg;
	const char	*params[3];
	enum db_err	 err;
	int		 i, n, np = 0;

	if (page_args(r, &pg, AFTER_MSG) != 0)
		return;
	if (parent != NULL)
		params[np++] = parent;
	params[np++] = pg.after[0] ? pg.after : NULL;
	params[np++] = pg.fetch;
	if ((res = db_exec(r->w, l->page, np, params, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	n = page_rows(&pg, route, res);
	if (n == 0 && parent != NULL && l->parent != ST__MAX) {
		if ((p = db_exec(r->w, l->parent, 1, &parent, &err)) == NULL) {
			reply_db_error(r, err);
			goto out;
		}
		if (PQntuples(p) == 0) {
			reply_problem(r, API_NOT_FOUND, l->no_parent, NULL);
			goto out;
		}
	}
	out = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(out, db_row(res, i, l->fields,
		    l->nfields));
	reply_json(r, 200, out, pg.link[0] ? pg.link : NULL);
out:
	json_decref(out);
	PQclear(res);
	PQclear(p);
}

void
h_result_host_list(struct req *r, const char *arg)
{
	list_reply(r, &host_list, NULL, "/HostScanJob/Host");
}

/* The host record of one scan with its scan log; 404 answered here. */
static void
reply_host(struct req *r, const char *id)
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
		reply_problem(r, API_NOT_FOUND, NO_HOST_RECORD, NULL);
		goto out;
	}
	o = db_row(res, 0, host_fields, NELEM(host_fields));
	lines = json_array();
	for (i = 0; i < PQntuples(log); i++)
		json_array_append_new(lines, db_row(log, i, scan_log_fields,
		    NELEM(scan_log_fields)));
	json_object_set_new(o, "scanLog", lines);
	reply_json(r, 200, o, NULL);
out:
	json_decref(o);
	PQclear(res);
	PQclear(log);
}

void
h_result_host_get(struct req *r, const char *id)
{
	reply_host(r, id);
}

/*
 * The services, scheduled tasks or software of the host record that scan
 * id reached, as its latest scan of each section left them (a later scan
 * replaces the rows; each row's hostScanHostId names the scan that found
 * it).
 */
static void
host_section(struct req *r, const char *id, const struct list *l,
    const char *section)
{
	char	 route[96];

	snprintf(route, sizeof(route), "/HostScanJob/Host/%s/%s", id, section);
	list_reply(r, l, id, route);
}

void
h_result_host_services(struct req *r, const char *id)
{
	host_section(r, id, &service_list, "Services");
}

void
h_result_host_tasks(struct req *r, const char *id)
{
	host_section(r, id, &task_list, "ScheduledTasks");
}

void
h_result_host_software(struct req *r, const char *id)
{
	host_section(r, id, &software_list, "Software");
}

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
			reply_problem(r, API_NOT_FOUND, NO_HOST_RECORD, NULL);
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
	reply_host(r, id);
out:
	PQclear(res);
	PQclear(host);
}

void
h_result_user_list(struct req *r, const char *arg)
{
	list_reply(r, &user_list, NULL, "/HostScanJob/User");
}

/*
 * A SID in its string form: S-1-, a decimal identifier authority below
 * 2^48, then up to 15 decimal sub-authorities below 2^32.  Returns -1
 * when sid is not one; 1 with *uid when it is the SID Samba gives Unix
 * user uid (S-1-22-1-uid); 0 for any other SID (a Windows account, a Unix
 * group), which no scanned user has.
 */
int
sid_unix_user(const char *sid, long long *uid)
{
	unsigned long long	 v[1 + SID_MAX_SUBAUTH];
	const char		*p = sid;
	size_t			 n = 0, digits;

	if ((p[0] != 'S' && p[0] != 's') || strncmp(p + 1, "-1-", 3) != 0)
		return -1;
	for (p += 4;; p++) {
		if (n == 1 + SID_MAX_SUBAUTH)
			return -1;
		v[n] = 0;
		for (digits = 0; p[digits] >= '0' && p[digits] <= '9';
		    digits++) {
			if (digits == 15)
				return -1;
			v[n] = v[n] * 10 + (unsigned long long)(p[digits] - '0');
		}
		if (digits == 0 || v[n] > (n == 0 ? 0xffffffffffffULL :
		    0xffffffffULL))
			return -1;
		n++;
		p += digits;
		if (*p == '\0')
			break;
		if (*p != '-')
			return -1;
	}
	if (n != 3 || v[0] != SID_UNIX_AUTHORITY || v[1] != SID_UNIX_USERS)
		return 0;
	*uid = (long long)v[2];
	return 1;
}

/*
 * GET /HostScanJob/User/SID/{sid}: the scanned users that have this SID,
 * on every host (uid 0 is on all of them), paged as the user list.  A SID
 * of another kind has no scanned user: an empty list.  Text that is no
 * SID is a 400.
 */
void
h_result_user_sid(struct req *r, const char *sid)
{
	json_t		*errors, *empty;
	long long	 uid = -1;
	char		 uid_s[24], route[64];
	int		 kind;

	if ((kind = sid_unix_user(sid, &uid)) < 0) {
		errors = json_object();
		hs_errors_add(errors, "sid", "must be a security identifier "
		    "such as S-1-22-1-1000 (the SID of Unix user 1000)");
		reply_problem(r, API_VALIDATION, NULL, errors);
		json_decref(errors);
		return;
	}
	if (kind == 0) {
		struct page	 pg;

		/* The paging arguments are checked all the same. */
		if (page_args(r, &pg, AFTER_MSG) != 0)
			return;
		empty = json_array();
		reply_json(r, 200, empty, NULL);
		json_decref(empty);
		return;
	}
	snprintf(uid_s, sizeof(uid_s), "%lld", uid);
	snprintf(route, sizeof(route), "/HostScanJob/User/SID/S-1-22-1-%lld",
	    uid);
	list_reply(r, &user_sid_list, uid_s, route);
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
		o = db_row(res, 0, user_fields, NELEM(user_fields));
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
	members = json_array();
	for (i = 0; i < PQntuples(m); i++)
		json_array_append_new(members, db_row(m, i, member_fields,
		    NELEM(member_fields)));
	o = db_row(g, 0, group_fields, NELEM(group_fields));
	json_object_set_new(o, "members", members);
	reply_json(r, 200, o, NULL);
out:
	json_decref(o);
	PQclear(g);
	PQclear(m);
}
