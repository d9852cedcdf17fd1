/* SPDX-License-Identifier: ISC */
/*
 * The route table: which handler answers which method and path, and who
 * may call it; route() matches, authenticates and dispatches.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"

/*
 * Literal segments match case-insensitively, as ASP.NET routing does for
 * the product; "{id}" matches a uuid (any letter case, handed on in lower
 * case), "{sid}" any one segment.  A literal second segment is never a
 * uuid, so it cannot clash with "{id}".  A route that matches but not for
 * the method is a 405 with its Allow list.
 */
static const struct route routes[] = {
	{ "/Health", M_GET, AUTH_PUBLIC, h_health },
	{ "/Version", M_GET, AUTH_PUBLIC, h_version },
	{ "/HostScanJob", M_GET, AUTH_APP, h_job_list },
	{ "/HostScanJob", M_POST, AUTH_APP, h_job_post },
	{ "/HostScanJob/{id}", M_GET, AUTH_APP, h_job_get },
	{ "/HostScanJob/{id}", M_POST, AUTH_APP, h_rescan_now },
	{ "/HostScanJob/{id}", M_DELETE, AUTH_APP, h_job_cancel },
	{ "/HostScanJob/{id}/Status", M_GET, AUTH_APP, h_job_status },
	{ "/HostScanJob/Host", M_GET, AUTH_APP, h_result_host_list },
	{ "/HostScanJob/Host/{id}", M_GET, AUTH_APP, h_result_host_get },
	{ "/HostScanJob/Host/{id}/Trust", M_PUT, AUTH_ADMIN,
	    h_result_host_trust },
	{ "/HostScanJob/Host/{id}/Services", M_GET, AUTH_APP,
	    h_result_host_services },
	{ "/HostScanJob/Host/{id}/ScheduledTasks", M_GET, AUTH_APP,
	    h_result_host_tasks },
	{ "/HostScanJob/Host/{id}/Software", M_GET, AUTH_APP,
	    h_result_host_software },
	{ "/HostScanJob/User", M_GET, AUTH_APP, h_result_user_list },
	{ "/HostScanJob/User/{id}", M_GET, AUTH_APP, h_result_user_get },
	{ "/HostScanJob/User/SID/{sid}", M_GET, AUTH_APP, h_result_user_sid },
	{ "/HostScanJob/Group/{id}", M_GET, AUTH_APP, h_result_group_get },
	{ "/HostScanJob/ByHostId/{id}", M_GET, AUTH_APP, h_rescan_get },
	{ "/HostScanJob/ByHostId/{id}", M_POST, AUTH_APP, h_rescan_post },
	{ "/HostScanJob/ByHostIdMultiple", M_POST, AUTH_APP, h_rescan_multi },
	{ "/HostScanJob/OuMapping/{id}", M_POST, AUTH_APP, h_job_ou_mapping },
	{ "/HostScanJob/ValidateImportedCSV", M_POST, AUTH_APP,
	    h_csv_validate },
	{ "/UserToken", M_GET, AUTH_SESSION, h_user_token },
};

/* The product's sign-in routes sit at the root, not below /api/v1. */
static const struct route root_routes[] = {
	{ "/signinBody", M_POST, AUTH_PUBLIC, h_signin_body },
	{ "/signin2fa", M_POST, AUTH_PRE_MFA, h_signin_2fa },
};

#define API_PREFIX "/api/v1"

static int
method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
		return M_GET;
	if (strcmp(m, "POST") == 0)
		return M_POST;
	if (strcmp(m, "DELETE") == 0)
		return M_DELETE;
	if (strcmp(m, "PUT") == 0)
		return M_PUT;
	return 0;
}

/*
 * Matches path against pattern; copies the "{id}" or "{sid}" segment into
 * arg.  A "{sid}" segment too long for arg is handed on empty, for the
 * handler to refuse.
 */
static int
match(const char *pattern, const char *path, char arg[ROUTE_ARG_MAX])
{
	size_t	 n, i;

	arg[0] = '\0';
	while (*pattern != '\0') {
		if (strncmp(pattern, "{id}", 4) == 0) {
			if ((n = strcspn(path, "/")) != HS_UUID_LEN)
				return 0;
			for (i = 0; i < n; i++)
				arg[i] = (char)((path[i] >= 'A' && path[i] <= 'F') ?
				    path[i] + 32 : path[i]);
			arg[n] = '\0';
			if (!hs_is_uuid(arg))
				return 0;
			pattern += 4;
			path += n;
			continue;
		}
		if (strncmp(pattern, "{sid}", 5) == 0) {
			if ((n = strcspn(path, "/")) == 0)
				return 0;
			if (n >= ROUTE_ARG_MAX)
				arg[0] = '\0';
			else {
				memcpy(arg, path, n);
				arg[n] = '\0';
			}
			pattern += 5;
			path += n;
			continue;
		}
		if (*path == '\0' ||
		    (*pattern | 0x20) != (*path | 0x20) ||
		    ((*pattern == '/') != (*path == '/')))
			return 0;
		pattern++;
		path++;
	}
	/* One trailing slash is tolerated. */
	return *path == '\0' || (path[0] == '/' && path[1] == '\0');
}

const struct route *
route_find(const char *method, const char *path, char arg[ROUTE_ARG_MAX],
    int *allowed)
{
	const struct route	*table = routes, *found = NULL;
	char			 seg[ROUTE_ARG_MAX];
	size_t			 n = NELEM(routes), i;
	int			 m = method_bit(method);

	*allowed = 0;
	arg[0] = '\0';
	if (strncasecmp(path, API_PREFIX, sizeof(API_PREFIX) - 1) != 0 ||
	    (path[sizeof(API_PREFIX) - 1] != '/' &&
	    path[sizeof(API_PREFIX) - 1] != '\0')) {
		table = root_routes;
		n = NELEM(root_routes);
	} else
		path += sizeof(API_PREFIX) - 1;
	for (i = 0; i < n; i++) {
		if (!match(table[i].pattern, path, seg))
			continue;
		*allowed |= table[i].method;
		if (table[i].method & m) {
			found = &table[i];
			memcpy(arg, seg, ROUTE_ARG_MAX);
		}
	}
	return found;
}

/* The routes as metrics.c numbers them: the API's, then the root's. */
size_t
route_count(void)
{
	return NELEM(routes) + NELEM(root_routes);
}

const struct route *
route_nth(size_t i)
{
	if (i < NELEM(routes))
		return &routes[i];
	i -= NELEM(routes);
	return i < NELEM(root_routes) ? &root_routes[i] : NULL;
}

const char *
route_prefix(size_t i)
{
	return i < NELEM(routes) ? API_PREFIX : "";
}

long
route_index(const struct route *rt)
{
	if (rt >= routes && rt < routes + NELEM(routes))
		return rt - routes;
	return (long)NELEM(routes) + (rt - root_routes);
}

void
route_allow(int allowed, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s",
	    allowed & M_GET ? "GET, HEAD" : "",
	    allowed & M_POST ? (allowed & M_GET ? ", POST" : "POST") : "",
	    allowed & M_DELETE ? (allowed & (M_GET | M_POST) ?
	    ", DELETE" : "DELETE") : "",
	    allowed & M_PUT ? (allowed & (M_GET | M_POST | M_DELETE) ?
	    ", PUT" : "PUT") : "");
}

/* Who may call found, checked for r; 0 after answering a refusal. */
static int
authorised(struct req *r, const struct route *found)
{
	enum api_err	 e;

	switch (found->auth) {
	case AUTH_PUBLIC:
		return 1;
	case AUTH_PRE_MFA:
		e = auth_pre_mfa(r);
		break;
	case AUTH_SESSION:
		e = auth_token(r);
		break;
	default:
		e = auth_request(r);
		break;
	}
	if (e != API_OK) {
		reply_problem(r, e, e == API_UNAUTHORIZED ? "invalid token" :
		    e == API_FORBIDDEN ? "this token's roles may not use "
		    "HostScanJob (Admin or App required)" :
		    e == API_UNAVAILABLE ? "the database is unavailable" :
		    NULL, NULL);
		return 0;
	}
	if (found->auth == AUTH_ADMIN &&
	    !hs_claims_has_role(&r->claims, "Admin")) {
		r->auth_fail = "admin_required";
		reply_problem(r, API_FORBIDDEN, "only the Admin role may trust "
		    "a host key", NULL);
		return 0;
	}
	return 1;
}

void
route(struct req *r)
{
	const struct route	*found;
	char			 arg[ROUTE_ARG_MAX];
	int			 allowed;

	found = route_find(r->method, r->route, arg, &allowed);
	if (allowed == 0) {
		reply_problem(r, API_NOT_FOUND, "no such route", NULL);
		return;
	}
	if (found == NULL) {
		route_allow(allowed, r->allow, sizeof(r->allow));
		reply_problem(r, API_METHOD, "this route does not accept "
		    "that method", NULL);
		return;
	}
	r->matched = found;
	if (authorised(r, found))
		found->handler(r, arg);
}
