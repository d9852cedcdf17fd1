#include <string.h>
#include <strings.h>

#include "api.h"

#define M_GET	0x01
#define M_POST	0x02
#define M_DELETE 0x04
#define M_PUT	0x08

/*
 * The routes.  Literal segments match case-insensitively, as ASP.NET
 * routing does for the product; "{id}" matches a uuid.  A route that
 * matches but not for the method is a 405 with its Allow list.
 */
static const struct route {
	const char	*pattern;	/* below /api/v1 */
	int		 method;
	int		 auth;
	void		(*handler)(struct req *, const char *);
} routes[] = {
	{ "/Health", M_GET, 0, h_health },
	{ "/Version", M_GET, 0, h_version },
	{ "/HostScanJob", M_GET, 1, h_job_list },
	{ "/HostScanJob", M_POST, 1, h_job_post },
	{ "/HostScanJob/{id}", M_GET, 1, h_job_get },
	{ "/HostScanJob/{id}", M_DELETE, 1, h_job_cancel },
	{ "/HostScanJob/{id}/Status", M_GET, 1, h_job_status },
	/* Literal second segments are never uuids: no clash with {id}. */
	{ "/HostScanJob/Host", M_GET, 1, h_result_host_list },
	{ "/HostScanJob/Host/{id}", M_GET, 1, h_result_host_get },
	/* auth 3: Admin only -- trusting a key is never an App's call. */
	{ "/HostScanJob/Host/{id}/Trust", M_PUT, 3, h_result_host_trust },
	{ "/HostScanJob/User", M_GET, 1, h_result_user_list },
	{ "/HostScanJob/User/{id}", M_GET, 1, h_result_user_get },
	{ "/HostScanJob/Group/{id}", M_GET, 1, h_result_group_get },
	{ "/HostScanJob/ByHostId/{id}", M_GET, 1, h_rescan_get },
	{ "/HostScanJob/ByHostId/{id}", M_POST, 1, h_rescan_post },
	{ "/HostScanJob/ByHostIdMultiple", M_POST, 1, h_rescan_multi },
	{ "/HostScanJob/ValidateImportedCSV", M_POST, 1, h_csv_validate },
	/* auth 2: any valid session token, whatever its roles. */
	{ "/UserToken", M_GET, 2, h_user_token },
};

/* The product's sign-in routes sit at the root, not below /api/v1. */
static const struct route root_routes[] = {
	{ "/signinBody", M_POST, 0, h_signin_body },
	{ "/signin2fa", M_POST, 0, h_signin_2fa },
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

/* Matches path against pattern; copies a {id} segment into id. */
static int
match(const char *pattern, const char *path, char id[HS_UUID_LEN + 1])
{
	while (*pattern != '\0') {
		if (strncmp(pattern, "{id}", 4) == 0) {
			size_t	 n = strcspn(path, "/"), i;

			if (n != HS_UUID_LEN)
				return 0;
			for (i = 0; i < n; i++)
				id[i] = (char)((path[i] >= 'A' && path[i] <= 'F') ?
				    path[i] + 32 : path[i]);
			id[n] = '\0';
			if (!hs_is_uuid(id))
				return 0;
			pattern += 4;
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

void
route(struct req *r)
{
	const struct route	*found = NULL;
	const char		*path = r->path;
	char			 id[HS_UUID_LEN + 1] = "";
	int			 m = method_bit(r->method), allowed = 0;
	size_t			 i;
	enum api_err		 e;
	const struct route	*table = routes;
	size_t			 n = sizeof(routes) / sizeof(routes[0]);

	if (strncasecmp(path, API_PREFIX, sizeof(API_PREFIX) - 1) != 0 ||
	    (path[sizeof(API_PREFIX) - 1] != '/' &&
	    path[sizeof(API_PREFIX) - 1] != '\0')) {
		table = root_routes;
		n = sizeof(root_routes) / sizeof(root_routes[0]);
	} else
		path += sizeof(API_PREFIX) - 1;
	for (i = 0; i < n; i++) {
		if (!match(table[i].pattern, path, id))
			continue;
		allowed |= table[i].method;
		if (table[i].method & m)
			found = &table[i];
	}
	if (allowed == 0) {
		reply_problem(r, API_NOT_FOUND, "no such route", NULL);
		return;
	}
	if (found == NULL) {
		snprintf(r->allow, sizeof(r->allow), "%s%s%s%s",
		    allowed & M_GET ? "GET, HEAD" : "",
		    allowed & M_POST ? (allowed & M_GET ? ", POST" : "POST") : "",
		    allowed & M_DELETE ? (allowed & (M_GET | M_POST) ?
		    ", DELETE" : "DELETE") : "",
		    allowed & M_PUT ? (allowed & (M_GET | M_POST | M_DELETE) ?
		    ", PUT" : "PUT") : "");
		reply_problem(r, API_METHOD, "this route does not accept "
		    "that method", NULL);
		return;
	}
	if (found->auth && (e = found->auth == 2 ? auth_token(r) :
	    auth_request(r)) != API_OK) {
		reply_problem(r, e, e == API_UNAUTHORIZED ? "invalid token" :
		    e == API_FORBIDDEN ? "this token's roles may not use "
		    "HostScanJob (Admin or App required)" :
		    e == API_UNAVAILABLE ? "the database is unavailable" :
		    NULL, NULL);
		return;
	}
	if (found->auth == 3 && !hs_claims_has_role(&r->claims, "Admin")) {
		r->auth_fail = "admin_required";
		reply_problem(r, API_FORBIDDEN, "only the Admin role may trust "
		    "a host key", NULL);
		return;
	}
	found->handler(r, id);
}
