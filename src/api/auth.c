/* SPDX-License-Identifier: ISC */
/*
 * Who is calling: Bearer tokens verified against the keyring, refused
 * when revoked (or their sign-in session is), a per-worker cache of the
 * tokens already verified, and the roles HostScanJob allows.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "api.h"

/* The only roles the product allows on HostScanJob. */
static const char *const allowed_roles[] = { "Admin", "App" };

/*
 * 1 when the token is refused by revocation: its jti is revoked, or it
 * belongs to a session (sid) that is revoked or gone; *why says which.
 * 0 when it is not, -1 with *err set when the database did not answer.
 */
static int
auth_revoked(struct req *r, const struct hs_claims *c, const char **why,
    enum db_err *err)
{
	PGresult	*res;
	const char	*p[2] = { c->jti, c->sid };
	int		 found;

	if ((res = db_exec(r->w, ST_REVOKED, 2, p, err)) == NULL)
		return -1;
	found = PQntuples(res) > 0;
	if (found)
		*why = strcmp(PQgetvalue(res, 0, 0), "session revoked") == 0 ?
		    "session revoked" : hs_token_strerror(HS_TOKEN_REVOKED);
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
	/* A CGI process tries once, on first use: its failure is logged too. */
	static int	 failure_logged;
	char		 err[256];
	int		 rc;

	if (w->cfg->keyring == NULL)
		return;
	if (!w->keyring_ok) {
		hs_keyring_free(&w->keyring);
		rc = hs_keyring_load(&w->keyring, w->cfg->keyring, err,
		    sizeof(err));
	} else
		rc = hs_keyring_refresh(&w->keyring, force, err, sizeof(err));
	if (rc < 0) {
		if (force || w->keyring_ok || !failure_logged)
			hs_log(HS_LOG_ERROR, "keyring_load_failed", "path=%s "
			    "error=\"%s\"", w->cfg->keyring, err);
		failure_logged = 1;
		return;
	}
	if (!w->keyring_ok || rc == 1) {
		hs_log(HS_LOG_INFO, "keyring_loaded", "keys=%zu", w->keyring.n);
		w->keyring_gen++;
	}
	w->keyring_ok = 1;
}

/*
 * Tokens this worker verified and found not revoked, by a hash of the
 * token, so that a client's repeated requests skip the Ed25519 check and
 * the revocation query.  The cache is emptied whenever what it vouches for
 * may have changed: the keyring was reloaded, the database connection is
 * new (notifications may have been missed), or a NOTIFY hostscan_revoke
 * arrived (sql/004 sends one for every revoked token, sql/009 for every
 * revoked session).  Time claims are checked again on every hit.
 */
static struct auth_entry {
	int			 used;
	unsigned char		 hash[16];
	struct hs_claims	 claims;
} auth_cache[HS_AUTH_CACHE_SLOTS];
static unsigned long	 cache_keyring_gen, cache_db_epoch, cache_revokes;

static void
cache_clear(void)
{
	size_t	 i;

	for (i = 0; i < HS_AUTH_CACHE_SLOTS; i++)
		if (auth_cache[i].used) {
			hs_claims_free(&auth_cache[i].claims);
			auth_cache[i].used = 0;
		}
}

static void
claims_copy(struct hs_claims *dst, const struct hs_claims *src)
{
	size_t	 i;

	*dst = *src;
	dst->sub = hs_strdup(src->sub);
	dst->name = src->name ? hs_strdup(src->name) : NULL;
	dst->jti = hs_strdup(src->jti);
	dst->sid = src->sid ? hs_strdup(src->sid) : NULL;
	for (i = 0; i < src->nroles; i++)
		dst->roles[i] = hs_strdup(src->roles[i]);
}

static struct auth_entry *
cache_slot(struct worker *w, const char *token, unsigned char hash[16])
{
	if (w->keyring_gen != cache_keyring_gen || w->db_epoch != cache_db_epoch ||
	    w->revoke_events != cache_revokes) {
		cache_clear();
		cache_keyring_gen = w->keyring_gen;
		cache_db_epoch = w->db_epoch;
		cache_revokes = w->revoke_events;
	}
	crypto_generichash(hash, 16, (const unsigned char *)token,
	    strlen(token), NULL, 0);
	return &auth_cache[hash[0] % HS_AUTH_CACHE_SLOTS];
}

/* A cached token still within its time window. */
static int
cache_hit(struct auth_entry *e, const unsigned char hash[16],
    const struct hs_token_policy *pol)
{
	if (!e->used || sodium_memcmp(e->hash, hash, 16) != 0)
		return 0;
	if (pol->now > e->claims.exp + pol->leeway ||
	    (e->claims.has_nbf && pol->now + pol->leeway < e->claims.nbf)) {
		hs_claims_free(&e->claims);
		e->used = 0;
		return 0;
	}
	return 1;
}

/*
 * The token of "Authorization: Bearer ...", or NULL with the reason for
 * the log in r->auth_fail.  The keyring is re-read when its file changed,
 * so a rotation needs no restart.
 */
static const char *
bearer(struct req *r)
{
	const char	*h = req_header(r, "HTTP_AUTHORIZATION");

	if (h == NULL) {
		r->auth_fail = "no_authorization";
		return NULL;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		r->auth_fail = "not_bearer";
		return NULL;
	}
	for (h += 7; *h == ' '; h++)
		continue;
	keyring_update(r->w, 0);
	if (!r->w->keyring_ok) {
		r->auth_fail = "no_keyring";
		return NULL;
	}
	return h;
}

static void
token_policy(struct req *r, const char *audience, struct hs_token_policy *pol)
{
	pol->issuer = r->w->cfg->token_issuer;
	pol->audience = audience;
	pol->now = (int64_t)time(NULL);
	pol->leeway = r->w->cfg->token_leeway;
}

/*
 * Bearer token -> claims.  The client learns only "invalid token"; the
 * reason goes to the request's log line.  A pre-MFA token of /signinBody
 * is refused here (by its role, since its audience is checked only when
 * token_audience is set): it opens /signin2fa alone (auth_pre_mfa).
 */
enum api_err
auth_token(struct req *r)
{
	struct hs_token_policy	 pol;
	const char		*h;
	enum hs_token_err	 te;
	enum db_err		 dberr;
	struct auth_entry	*e;
	unsigned char		 hash[16];
	int			 rv, hit;

	if ((h = bearer(r)) == NULL)
		return API_UNAUTHORIZED;
	token_policy(r, r->w->cfg->token_audience, &pol);
	/* Takes pending revocation notices in before the cache is trusted. */
	(void)db_ensure(r->w);
	e = cache_slot(r->w, h, hash);
	hit = cache_hit(e, hash, &pol);
	apim_token_cache(hit);
	if (hit) {
		claims_copy(&r->claims, &e->claims);
		r->authed = 1;
		r->auth_cached = 1;
		goto pre_mfa;
	}
	te = hs_token_verify(&r->w->keyring, h, &pol, &r->claims);
	if (te != HS_TOKEN_OK) {
		r->auth_fail = hs_token_strerror(te);
		return API_UNAUTHORIZED;
	}
	r->authed = 1;
	if ((rv = auth_revoked(r, &r->claims, &r->auth_fail, &dberr)) != 0) {
		if (rv < 0)
			return dberr == DB_UNAVAILABLE ? API_UNAVAILABLE :
			    API_INTERNAL;
		return API_UNAUTHORIZED;
	}
	/* The revocation query may have reconnected: only then is it fresh. */
	if (r->w->db_epoch == cache_db_epoch &&
	    r->w->revoke_events == cache_revokes) {
		if (e->used)
			hs_claims_free(&e->claims);
		memcpy(e->hash, hash, 16);
		claims_copy(&e->claims, &r->claims);
		e->used = 1;
	}
pre_mfa:
	if (hs_claims_has_role(&r->claims, SIGNIN_PRE_MFA_ROLE)) {
		r->auth_fail = "pre_mfa_token";
		return API_UNAUTHORIZED;
	}
	return API_OK;
}

/* auth_token, then the roles HostScanJob allows. */
enum api_err
auth_request(struct req *r)
{
	enum api_err	 e;
	size_t		 i;

	if ((e = auth_token(r)) != API_OK)
		return e;
	for (i = 0; i < sizeof(allowed_roles) / sizeof(allowed_roles[0]); i++)
		if (hs_claims_has_role(&r->claims, allowed_roles[i]))
			return API_OK;
	r->auth_fail = "role_not_allowed";
	return API_FORBIDDEN;
}

/*
 * The Bearer token of /signin2fa must be a pre-MFA token: its audience and
 * nothing but the pre-MFA role, and not revoked.  A session token is
 * refused here, as a pre-MFA token is everywhere else.  Never cached: it
 * is used once.
 */
enum api_err
auth_pre_mfa(struct req *r)
{
	struct hs_token_policy	 pol;
	const char		*h;
	enum hs_token_err	 te;
	enum db_err		 dberr;
	int			 rv;

	if ((h = bearer(r)) == NULL)
		return API_UNAUTHORIZED;
	token_policy(r, SIGNIN_PRE_MFA_AUD, &pol);
	if ((te = hs_token_verify(&r->w->keyring, h, &pol, &r->claims)) !=
	    HS_TOKEN_OK) {
		r->auth_fail = hs_token_strerror(te);
		return API_UNAUTHORIZED;
	}
	r->authed = 1;
	if (r->claims.nroles != 1 ||
	    strcmp(r->claims.roles[0], SIGNIN_PRE_MFA_ROLE) != 0) {
		r->auth_fail = "not_a_pre_mfa_token";
		return API_UNAUTHORIZED;
	}
	if ((rv = auth_revoked(r, &r->claims, &r->auth_fail, &dberr)) < 0)
		return dberr == DB_UNAVAILABLE ? API_UNAVAILABLE : API_INTERNAL;
	return rv > 0 ? API_UNAUTHORIZED : API_OK;
}
