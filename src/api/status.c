/* SPDX-License-Identifier: ISC */
/* GET /Health and GET /Version: what load balancers probe, without a token. */
#include "config.h"
#include "api.h"

void
h_health(struct req *r, const char *arg)
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
h_version(struct req *r, const char *arg)
{
	json_t	*v = json_string(PACKAGE_VERSION);

	reply_json(r, 200, v, NULL);
	json_decref(v);
}
