#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"

/* The only roles the product allows on HostScanJob. */
static const char *const allowed_roles[] = { "Admin", "App" };

static int
revoked(struct req *r, const char *jti, enum db_err *err)
{
	PGresult	*res;
	int		 found;

	if ((res = db_exec(r->w, ST_REVOKED, 1, &jti, err)) == NULL)
		return -1;
	found = PQntuples(res) > 0;
	PQclear(res);
	return found;
}

/*
 * Loads the keyring when none is loaded yet (a file that was missing at
 * start is picked up once it appears), else re-reads it when it changed
 * (one stat) or when forced (SIGHUP).  A bad file keeps the old keys.
 */
void
keyring_update(struct worker *w, int force)
{
	char	 err[256];
	int	 rc;

	if (w->cfg->keyring == NULL)
		return;
	if (!w->keyring_ok) {
		hs_keyring_free(&w->keyring);
		rc = hs_keyring_load(&w->keyring, w->cfg->keyring, err,
		    sizeof(err));
	} else
		rc = hs_keyring_refresh(&w->keyring, force, err, sizeof(err));
	if (rc < 0) {
		if (force || w->keyring_ok)
			hs_log(HS_LOG_ERROR, "keyring_load_failed", "path=%s "
			    "error=\"%s\"", w->cfg->keyring, err);
		return;
	}
	if (!w->keyring_ok || rc == 1)
		hs_log(HS_LOG_INFO, "keyring_loaded", "keys=%zu", w->keyring.n);
	w->keyring_ok = 1;
}

/*
 * Bearer token -> claims.  The client learns only "invalid token"; the
 * reason goes to the request's log line.  The keyring is re-read when its
 * file changed, so a rotation needs no restart.
 */
enum api_err
auth_request(struct req *r)
{
	const struct hs_config	*cfg = r->w->cfg;
	struct hs_token_policy	 pol;
	const char		*h = req_header(r, "HTTP_AUTHORIZATION");
	enum hs_token_err	 te;
	enum db_err		 dberr;
	size_t			 i;
	int			 rv;

	if (h == NULL) {
		r->auth_fail = "no_authorization";
		return API_UNAUTHORIZED;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		r->auth_fail = "not_bearer";
		return API_UNAUTHORIZED;
	}
	h += 7;
	while (*h == ' ')
		h++;
	keyring_update(r->w, 0);
	if (!r->w->keyring_ok) {
		r->auth_fail = "no_keyring";
		return API_UNAUTHORIZED;
	}
	pol.issuer = cfg->token_issuer;
	pol.audience = cfg->token_audience;
	pol.now = (int64_t)time(NULL);
	pol.leeway = cfg->token_leeway;
	te = hs_token_verify(&r->w->keyring, h, &pol, &r->claims);
	if (te != HS_TOKEN_OK) {
		r->auth_fail = hs_token_strerror(te);
		return API_UNAUTHORIZED;
	}
	r->authed = 1;
	if ((rv = revoked(r, r->claims.jti, &dberr)) != 0) {
		if (rv < 0)
			return dberr == DB_UNAVAILABLE ? API_UNAVAILABLE :
			    API_INTERNAL;
		r->auth_fail = hs_token_strerror(HS_TOKEN_REVOKED);
		return API_UNAUTHORIZED;
	}
	for (i = 0; i < sizeof(allowed_roles) / sizeof(allowed_roles[0]); i++)
		if (hs_claims_has_role(&r->claims, allowed_roles[i]))
			return API_OK;
	r->auth_fail = "role_not_allowed";
	return API_FORBIDDEN;
}
