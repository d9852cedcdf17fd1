/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of src/api/routes.c: which handler every method and path
 * reaches, who may call it, the 405's Allow list; and the {sid} segment
 * of GET /HostScanJob/User/SID/{sid} (sid_unix_user, results.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "tap.h"

#define ID	"0f0e0d0c-0b0a-4908-8706-050403020100"
#define ID_UC	"0F0E0D0C-0B0A-4908-8706-050403020100"
#define V1	"/api/v1"

typedef void (*handler_fn)(struct req *, const char *);

/*
 * method + path -> handler, its auth, its arg, and the Allow list of the
 * path (NULL: no such route, a 404; a handler of NULL with an Allow list
 * is a 405).
 */
static const struct {
	const char	*method, *path;
	handler_fn	 handler;
	enum route_auth	 auth;
	const char	*arg;
	const char	*allow;
} cases[] = {
	/* every route */
	{ "GET", V1 "/Health", h_health, AUTH_PUBLIC, "", "GET, HEAD" },
	{ "GET", V1 "/Version", h_version, AUTH_PUBLIC, "", "GET, HEAD" },
	{ "GET", V1 "/HostScanJob", h_job_list, AUTH_APP, "",
	    "GET, HEAD, POST" },
	{ "POST", V1 "/HostScanJob", h_job_post, AUTH_APP, "",
	    "GET, HEAD, POST" },
	{ "GET", V1 "/HostScanJob/" ID, h_job_get, AUTH_APP, ID,
	    "GET, HEAD, POST, DELETE" },
	{ "POST", V1 "/HostScanJob/" ID, h_rescan_now, AUTH_APP, ID,
	    "GET, HEAD, POST, DELETE" },
	{ "DELETE", V1 "/HostScanJob/" ID, h_job_cancel, AUTH_APP, ID,
	    "GET, HEAD, POST, DELETE" },
	{ "GET", V1 "/HostScanJob/" ID "/Status", h_job_status, AUTH_APP, ID,
	    "GET, HEAD" },
	{ "GET", V1 "/HostScanJob/Host", h_result_host_list, AUTH_APP, "",
	    "GET, HEAD" },
	{ "GET", V1 "/HostScanJob/Host/" ID, h_result_host_get, AUTH_APP, ID,
	    "GET, HEAD" },
	{ "PUT", V1 "/HostScanJob/Host/" ID "/Trust", h_result_host_trust,
	    AUTH_ADMIN, ID, "PUT" },
	{ "GET", V1 "/HostScanJob/Host/" ID "/Services",
	    h_result_host_services, AUTH_APP, ID, "GET, HEAD" },
	{ "GET", V1 "/HostScanJob/Host/" ID "/ScheduledTasks",
	    h_result_host_tasks, AUTH_APP, ID, "GET, HEAD" },
	{ "GET", V1 "/HostScanJob/Host/" ID "/Software",
	    h_result_host_software, AUTH_APP, ID, "GET, HEAD" },
	{ "GET", V1 "/HostScanJob/User", h_result_user_list, AUTH_APP, "",
	    "GET, HEAD" },
	{ "GET", V1 "/HostScanJob/User/" ID, h_result_user_get, AUTH_APP, ID,
	    "GET, HEAD" },
	{ "GET", V1 "/HostScanJob/User/SID/S-1-22-1-1000", h_result_user_sid,
	    AUTH_APP, "S-1-22-1-1000", "GET, HEAD" },
	{ "GET", V1 "/HostScanJob/Group/" ID, h_result_group_get, AUTH_APP, ID,
	    "GET, HEAD" },
	{ "GET", V1 "/HostScanJob/ByHostId/" ID, h_rescan_get, AUTH_APP, ID,
	    "GET, HEAD, POST" },
	{ "POST", V1 "/HostScanJob/ByHostId/" ID, h_rescan_post, AUTH_APP, ID,
	    "GET, HEAD, POST" },
	{ "POST", V1 "/HostScanJob/ByHostIdMultiple", h_rescan_multi,
	    AUTH_APP, "", "POST" },
	{ "POST", V1 "/HostScanJob/OuMapping/" ID, h_job_ou_mapping, AUTH_APP,
	    ID, "POST" },
	{ "POST", V1 "/HostScanJob/ValidateImportedCSV", h_csv_validate,
	    AUTH_APP, "", "POST" },
	{ "GET", V1 "/UserToken", h_user_token, AUTH_SESSION, "",
	    "GET, HEAD" },
	{ "POST", "/signinBody", h_signin_body, AUTH_PUBLIC, "", "POST" },
	{ "POST", "/signin2fa", h_signin_2fa, AUTH_PRE_MFA, "", "POST" },
	/* HEAD is GET without the body */
	{ "HEAD", V1 "/HostScanJob/" ID, h_job_get, AUTH_APP, ID,
	    "GET, HEAD, POST, DELETE" },
	{ "HEAD", V1 "/Health", h_health, AUTH_PUBLIC, "", "GET, HEAD" },
	/* letter case: literals and uuids alike; the id comes in lower case */
	{ "GET", "/API/V1/HOSTSCANJOB", h_job_list, AUTH_APP, "",
	    "GET, HEAD, POST" },
	{ "GET", V1 "/hostscanjob/" ID_UC "/status", h_job_status, AUTH_APP,
	    ID, "GET, HEAD" },
	{ "POST", V1 "/HOSTSCANJOB/byhostidmultiple", h_rescan_multi,
	    AUTH_APP, "", "POST" },
	{ "POST", "/SIGNINBODY", h_signin_body, AUTH_PUBLIC, "", "POST" },
	{ "GET", V1 "/HostScanJob/user/sid/s-1-22-1-0", h_result_user_sid,
	    AUTH_APP, "s-1-22-1-0", "GET, HEAD" },
	/* one trailing slash, not two */
	{ "GET", V1 "/HostScanJob/", h_job_list, AUTH_APP, "",
	    "GET, HEAD, POST" },
	{ "GET", V1 "/HostScanJob/" ID "/", h_job_get, AUTH_APP, ID,
	    "GET, HEAD, POST, DELETE" },
	{ "GET", V1 "/HostScanJob//", NULL, AUTH_PUBLIC, "", NULL },
	{ "GET", V1 "/HostScanJob/Host//", NULL, AUTH_PUBLIC, "", NULL },
	{ "GET", V1 "//HostScanJob", NULL, AUTH_PUBLIC, "", NULL },
	/* an {id} that is not a uuid is no route */
	{ "GET", V1 "/HostScanJob/not-a-uuid", NULL, AUTH_PUBLIC, "", NULL },
	{ "GET", V1 "/HostScanJob/" ID "0", NULL, AUTH_PUBLIC, "", NULL },
	{ "GET", V1 "/HostScanJob/0f0e0d0c-0b0a-4908-8706-05040302010",
	    NULL, AUTH_PUBLIC, "", NULL },
	{ "GET", V1 "/HostScanJob/0f0e0d0c0b0a-4908-8706-0504030201000",
	    NULL, AUTH_PUBLIC, "", NULL },
	{ "GET", V1 "/HostScanJob/0g0e0d0c-0b0a-4908-8706-050403020100",
	    NULL, AUTH_PUBLIC, "", NULL },
	{ "DELETE", V1 "/HostScanJob/Host", NULL, AUTH_PUBLIC, "",
	    "GET, HEAD" },
	{ "GET", V1 "/HostScanJob/Host/" ID "/Nope", NULL, AUTH_PUBLIC, "",
	    NULL },
	{ "GET", V1 "/HostScanJob/User/SID", NULL, AUTH_PUBLIC, "", NULL },
	{ "GET", V1 "/HostScanJob/User/SID/", NULL, AUTH_PUBLIC, "", NULL },
	{ "GET", V1 "/HostScanJob/User/SID/a/b", NULL, AUTH_PUBLIC, "", NULL },
	/* literal segments are never ids */
	{ "POST", V1 "/HostScanJob/Host", NULL, AUTH_PUBLIC, "", "GET, HEAD" },
	{ "GET", V1 "/HostScanJob/ByHostIdMultiple", NULL, AUTH_PUBLIC, "",
	    "POST" },
	{ "GET", V1 "/HostScanJob/OuMapping/" ID, NULL, AUTH_PUBLIC, "",
	    "POST" },
	/* 405 with the Allow list of the path */
	{ "PUT", V1 "/HostScanJob", NULL, AUTH_PUBLIC, "", "GET, HEAD, POST" },
	{ "PATCH", V1 "/HostScanJob/" ID, NULL, AUTH_PUBLIC, "",
	    "GET, HEAD, POST, DELETE" },
	{ "GET", V1 "/HostScanJob/Host/" ID "/Trust", NULL, AUTH_PUBLIC, "",
	    "PUT" },
	{ "POST", V1 "/Health", NULL, AUTH_PUBLIC, "", "GET, HEAD" },
	{ "get", V1 "/Health", NULL, AUTH_PUBLIC, "", "GET, HEAD" },
	{ "", V1 "/Health", NULL, AUTH_PUBLIC, "", "GET, HEAD" },
	{ "GET", "/signinBody", NULL, AUTH_PUBLIC, "", "POST" },
	/* the prefix is /api/v1 exactly; the sign-in routes are at the root */
	{ "GET", V1, NULL, AUTH_PUBLIC, "", NULL },
	{ "GET", "/api/v1x/Health", NULL, AUTH_PUBLIC, "", NULL },
	{ "GET", "/api/v2/Health", NULL, AUTH_PUBLIC, "", NULL },
	{ "GET", "/Health", NULL, AUTH_PUBLIC, "", NULL },
	{ "POST", V1 "/signinBody", NULL, AUTH_PUBLIC, "", NULL },
	{ "GET", "", NULL, AUTH_PUBLIC, "", NULL },
};

/*
 * sid_unix_user: 1 and the uid for Samba's SID of a Unix user, 0 for any
 * other SID, -1 for text that is no SID.
 */
static const struct {
	const char	*sid;
	int		 rc;
	long long	 uid;
} sids[] = {
	{ "S-1-22-1-0", 1, 0 },
	{ "S-1-22-1-1000", 1, 1000 },
	{ "s-1-22-1-1000", 1, 1000 },
	{ "S-1-22-1-4294967295", 1, 4294967295LL },
	{ "S-1-22-1-0001000", 1, 1000 },
	{ "S-1-22-2-27", 0, -1 },		/* a Unix group */
	{ "S-1-5-21-3623811015-3361044348-30300820-1013", 0, -1 },
	{ "S-1-5-18", 0, -1 },
	{ "S-1-22-1", 0, -1 },
	{ "S-1-22-1-1000-1", 0, -1 },
	{ "S-1-1-0", 0, -1 },
	{ "S-1-281474976710655-1", 0, -1 },
	{ "S-1-0", 0, -1 },
	{ "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15", 0, -1 },
	{ "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", -1, -1 },
	{ "S-1-22-1-4294967296", -1, -1 },
	{ "S-1-281474976710656-1", -1, -1 },
	{ "S-1-22-1-0000000000000001000", -1, -1 },
	{ "S-2-22-1-1000", -1, -1 },
	{ "S-1-22-1--1000", -1, -1 },
	{ "S-1-22-1-+1000", -1, -1 },
	{ "S-1-22-1-1000-", -1, -1 },
	{ "S-1-22-1- 1000", -1, -1 },
	{ "S-1-22-1-1000 ", -1, -1 },
	{ "S-1-22-1-0x3e8", -1, -1 },
	{ "S-1-0x16-1-1000", -1, -1 },
	{ "S-1-", -1, -1 },
	{ "S-1", -1, -1 },
	{ "S1-22-1-1000", -1, -1 },
	{ "X-1-22-1-1000", -1, -1 },
	{ "", -1, -1 },
	{ "1000", -1, -1 },
	{ "root", -1, -1 },
};

int
main(void)
{
	const struct route	*rt;
	char			 arg[ROUTE_ARG_MAX], allow[64], *longp;
	long long		 uid;
	size_t			 i;
	int			 allowed, rc;

	for (i = 0; i < NELEM(cases); i++) {
		rt = route_find(cases[i].method, cases[i].path, arg, &allowed);
		ok((rt ? rt->handler : NULL) == cases[i].handler, "%s %s: %s",
		    cases[i].method, cases[i].path, cases[i].handler ?
		    "its handler" : cases[i].allow ? "405" : "404");
		if (cases[i].handler != NULL && rt != NULL) {
			is_int(rt->auth, cases[i].auth, "%s %s: who may call",
			    cases[i].method, cases[i].path);
			is_str(arg, cases[i].arg, "%s %s: the segment handed on",
			    cases[i].method, cases[i].path);
		}
		if (cases[i].allow == NULL)
			is_int(allowed, 0, "%s %s: no such route",
			    cases[i].method, cases[i].path);
		else {
			route_allow(allowed, allow, sizeof(allow));
			is_str(allow, cases[i].allow, "%s %s: Allow",
			    cases[i].method, cases[i].path);
		}
	}

	/* A {sid} segment too long for any SID is handed on empty. */
	longp = hs_xmalloc(sizeof(V1 "/HostScanJob/User/SID/") + ROUTE_ARG_MAX);
	snprintf(longp, sizeof(V1 "/HostScanJob/User/SID/"), "%s",
	    V1 "/HostScanJob/User/SID/");
	memset(longp + strlen(longp), '1', ROUTE_ARG_MAX);
	longp[sizeof(V1 "/HostScanJob/User/SID/") - 1 + ROUTE_ARG_MAX] = '\0';
	rt = route_find("GET", longp, arg, &allowed);
	ok(rt != NULL && rt->handler == h_result_user_sid,
	    "a {sid} of ROUTE_ARG_MAX bytes reaches its handler");
	is_str(arg, "", "... as \"\", which is no SID");
	longp[strlen(longp) - 1] = '\0';
	rt = route_find("GET", longp, arg, &allowed);
	is_int((long long)strlen(arg), ROUTE_ARG_MAX - 1,
	    "a {sid} of ROUTE_ARG_MAX - 1 bytes is handed on whole");
	free(longp);

	for (i = 0; i < NELEM(sids); i++) {
		uid = -1;
		rc = sid_unix_user(sids[i].sid, &uid);
		is_int(rc, sids[i].rc, "SID \"%s\": %s", sids[i].sid,
		    sids[i].rc > 0 ? "a Unix user" : sids[i].rc == 0 ?
		    "a SID of no scanned user" : "not a SID");
		if (sids[i].rc > 0)
			is_int(uid, sids[i].uid, "SID \"%s\": uid %lld",
			    sids[i].sid, sids[i].uid);
	}
	return done_testing();
}
