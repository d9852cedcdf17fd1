/* SPDX-License-Identifier: ISC */
/*
 * Interactive sign-in, as the product does it: POST /signinBody checks a
 * login and password and answers a short-lived pre-MFA token; POST
 * /signin2fa takes that token and a TOTP code and answers the session
 * token; GET /api/v1/UserToken renews a session token.  The responder
 * signs these itself, so it holds the signing key (signing_key) and the
 * keys of the TOTP secrets (totp_key), never the credential master key.
 *
 * Failures are counted per login name in signin_throttle whether or not
 * a user has that name, a password is always verified (against a dummy
 * hash for unknown names), and every refusal of the password step is
 * the same 401: nothing tells a caller which names exist.
 *
 * A sign-in starts a session (signin_session, sql/009): the session token
 * and every renewal of it carry its id (claim sid), so that revoking the
 * session, or any one of its tokens, ends them all, and no renewal
 * outlives the sign-in by more than signin_session_max.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"

#define SK_FILE_MAX	1024	/* a k4.secret line with generous slack */
#define SIGNIN_FAILED	"sign-in failed"

/* What a worker loads on first use and keeps until the files change. */
static struct {
	unsigned char		*sk;		/* sodium_malloc'd */
	char			 pid[HS_PASERK_PID_LEN + 1];
	struct stat		 sk_seen;
	struct hs_master_keys	 totp;
	struct stat		 totp_seen;
	char			 dummy[crypto_pwhash_STRBYTES];
} keys;

void
signin_free(void)
{
	if (keys.sk != NULL)
		sodium_free(keys.sk);	/* zeroes it */
	keys.sk = NULL;
	hs_master_free(&keys.totp);
	sodium_memzero(&keys, sizeof(keys));
}

/*
 * Whether path needs (re)loading: never loaded, or its inode, size or
 * mtime moved since *seen.  A file that vanished keeps what was loaded.
 */
static int
file_changed(const char *path, int loaded, struct stat *seen)
{
	struct stat	 st;

	if (stat(path, &st) == -1)
		return !loaded;
	if (loaded && st.st_dev == seen->st_dev && st.st_ino == seen->st_ino &&
	    st.st_size == seen->st_size &&
	    st.st_mtim.tv_sec == seen->st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == seen->st_mtim.tv_nsec)
		return 0;
	*seen = st;
	return 1;
}

static int
signing_key_load(const char *path, char *err, size_t errlen)
{
	unsigned char	*sk = NULL;
	char		*buf = NULL, *s, *e;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd = -1, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((buf = sodium_malloc(SK_FILE_MAX + 1)) == NULL ||
	    (sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		n = read(fd, buf + len, SK_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0 || (len += (size_t)n) > SK_FILE_MAX)
			break;
	}
	if (len > SK_FILE_MAX) {
		snprintf(err, errlen, "%s: not a k4.secret key file", path);
		goto out;
	}
	buf[len] = '\0';
	s = buf + strspn(buf, " \t\r\n");
	for (e = s + strlen(s); e > s && strchr(" \t\r\n", e[-1]); e--)
		e[-1] = '\0';
	if (hs_paserk_secret_decode(s, sk) == -1) {
		snprintf(err, errlen, "%s: not a k4.secret key", path);
		goto out;
	}
	if (keys.sk != NULL)
		sodium_free(keys.sk);
	keys.sk = sk;
	sk = NULL;
	hs_paserk_pid(keys.sk + crypto_sign_SEEDBYTES, keys.pid);
	rc = 0;
out:
	if (sk != NULL)
		sodium_free(sk);
	if (buf != NULL)
		sodium_free(buf);
	if (fd != -1)
		close(fd);
	return rc;
}

static void
unavailable(struct req *r, const char *detail, const char *err)
{
	char	 q[600];

	hs_log(HS_LOG_ERROR, "signin_unavailable", "trace=%s detail=%s",
	    r->trace, hs_logq(q, sizeof(q), err ? err : detail));
	reply_problem(r, API_UNAVAILABLE, detail, NULL);
}

/*
 * The signing key (its public key in the keyring) and, when totp is set,
 * the TOTP keys; else 503, so the rest of the API works without them.
 * A file that changed is re-read; a bad new file keeps the loaded keys.
 */
static int
keys_ready(struct req *r, int totp)
{
	const struct hs_config	*cfg = r->w->cfg;
	struct hs_master_keys	 mk;
	unsigned char		 pw[32];
	char			 err[512];

	if (cfg->signing_key == NULL) {
		unavailable(r, "sign-in is not configured on this server "
		    "(signing_key is not set)", NULL);
		return 0;
	}
	if (file_changed(cfg->signing_key, keys.sk != NULL, &keys.sk_seen) &&
	    signing_key_load(cfg->signing_key, err, sizeof(err)) == -1) {
		if (keys.sk == NULL) {
			unavailable(r, "sign-in is not available: the signing "
			    "key cannot be read", err);
			return 0;
		}
		hs_log(HS_LOG_ERROR, "signing_key_reload_failed", "error=\"%s\" "
		    "action=keep_loaded_key", err);
	}
	keyring_update(r->w, 0);
	if (!r->w->keyring_ok ||
	    hs_keyring_find(&r->w->keyring, keys.pid) == NULL) {
		unavailable(r, "sign-in is not available: the signing key's "
		    "public key is not in the keyring", NULL);
		return 0;
	}
	if (totp && cfg->totp_key == NULL) {
		unavailable(r, "sign-in is not configured on this server "
		    "(totp_key is not set)", NULL);
		return 0;
	}
	if (totp && file_changed(cfg->totp_key, keys.totp.n > 0,
	    &keys.totp_seen)) {
		if (hs_master_load(cfg->totp_key, &mk, err, sizeof(err)) == 0) {
			hs_master_free(&keys.totp);
			keys.totp = mk;
		} else if (keys.totp.n == 0) {
			unavailable(r, "sign-in is not available: the TOTP keys "
			    "(totp_key) cannot be read", err);
			return 0;
		} else
			hs_log(HS_LOG_ERROR, "totp_key_reload_failed",
			    "error=\"%s\" action=keep_loaded_keys", err);
	}
	/* Unknown names are checked against this, for alike timing. */
	if (keys.dummy[0] == '\0') {
		randombytes_buf(pw, sizeof(pw));
		if (crypto_pwhash_str_alg(keys.dummy, (const char *)pw,
		    sizeof(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
		    crypto_pwhash_MEMLIMIT_INTERACTIVE,
		    crypto_pwhash_ALG_ARGON2ID13) != 0) {
			keys.dummy[0] = '\0';
			reply_problem(r, API_INTERNAL, "out of memory", NULL);
			return 0;
		}
		sodium_memzero(pw, sizeof(pw));
	}
	return 1;
}

/*
 * One line per sign-in outcome; the login is the caller's text (quoted),
 * never a password, code or token.
 */
static void
log_outcome(struct req *r, const char *step, const char *login,
    const char *outcome, const char *reason, long long failures,
    long long locked, const char *jti, const char *sid)
{
	char	 q[HS_MAX_LOGIN_BYTES * 4 + 8], qs[HS_MAX_CLAIM_LEN * 4 + 8];

	hs_log(strcmp(outcome, "ok") == 0 ? HS_LOG_INFO : HS_LOG_WARN,
	    "signin", "trace=%s step=%s user=%s outcome=%s reason=%s "
	    "failures=%lld locked_seconds=%lld addr=%s jti=%s sid=%s", r->trace,
	    step, hs_logq(q, sizeof(q), login), outcome, reason, failures,
	    locked, r->addr[0] ? r->addr : "-", jti ? jti : "-",
	    sid ? hs_logq(qs, sizeof(qs), sid) : "-");
}

/* Seconds the name stays locked, 0 when it is not, -1 after answering. */
static long long
locked_for(struct req *r, const char *login)
{
	PGresult	*res;
	enum db_err	 err;
	long long	 left = 0;

	if ((res = db_exec(r->w, ST_SIGNIN_LOCKED, 1, &login, &err)) == NULL) {
		reply_db_error(r, err);
		return -1;
	}
	if (PQntuples(res) > 0)
		left = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return left > 0 ? left : 0;
}

/*
 * A locked name: 429 with the time left.  The attempt checked nothing, so
 * it is not a failure and does not lengthen the lock; otherwise anyone
 * could keep any account locked for a year with a burst of cheap requests.
 */
static void
refuse_locked(struct req *r, const char *step, const char *login,
    long long left)
{
	log_outcome(r, step, login, "locked", "locked", -1, left, NULL, NULL);
	r->retry_after = (long)left;
	reply_problem(r, API_TOO_MANY, "too many failed sign-ins; try again "
	    "later", NULL);
}

/* An attempt as its reservation counted it (ST_SIGNIN_RESERVE). */
struct attempt {
	long long	 failures;	/* this attempt included */
	long long	 locked;	/* seconds the name is locked, 0: not */
};

/*
 * Counts the attempt as a failure before anything is checked, in one
 * statement that also says whether the name is locked; a right password
 * or code gives it back (release(), ST_SIGNIN_OK).  So N concurrent wrong
 * guesses against a limit of max get at most max answers that checked
 * something: the attempt that reaches the limit locks the name for all
 * the others.  An attempt that dies half-way stays a failure.  1 to go
 * on, 0 after answering (429 while locked).
 */
static int
reserve(struct req *r, const char *step, const char *login,
    struct attempt *a)
{
	const struct hs_config	*cfg = r->w->cfg;
	PGresult		*res;
	const char		*p[3];
	char			 maxs[24], lock[24];
	long long		 left;
	enum db_err		 err;

	snprintf(maxs, sizeof(maxs), "%ld", cfg->signin_max_failures);
	snprintf(lock, sizeof(lock), "%ld", cfg->signin_lockout);
	p[0] = login;
	p[1] = maxs;
	p[2] = lock;
	if ((res = db_exec(r->w, ST_SIGNIN_RESERVE, 3, p, &err)) == NULL) {
		reply_db_error(r, err);
		return 0;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		if ((left = locked_for(r, login)) < 0)
			return 0;
		/* 0: the lock ended between the two statements. */
		refuse_locked(r, step, login, left > 0 ? left : 1);
		return 0;
	}
	a->failures = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	a->locked = PQgetisnull(res, 0, 1) ? 0 :
	    strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return 1;
}

/*
 * The attempt stays counted as its reservation counted it; the one 401
 * (the attempt that reached the limit too).
 */
static void
fail(struct req *r, const char *step, const char *login, const char *reason,
    const struct attempt *a)
{
	PGresult	*res;
	const char	*p[1];
	char		 forget[24];
	enum db_err	 err;

	snprintf(forget, sizeof(forget), "%ld", HS_SIGNIN_FORGET_SECONDS);
	p[0] = forget;
	if ((res = db_exec(r->w, ST_SIGNIN_PRUNE, 1, p, &err)) != NULL)
		PQclear(res);
	log_outcome(r, step, login, "fail", reason, a->failures, a->locked,
	    NULL, NULL);
	reply_problem(r, API_UNAUTHORIZED, SIGNIN_FAILED, NULL);
}

/* A right password gives its reservation back; 0 after answering. */
static int
release(struct req *r, const char *login)
{
	PGresult	*res;
	enum db_err	 err;

	if ((res = db_exec(r->w, ST_SIGNIN_RELEASE, 1, &login, &err)) ==
	    NULL) {
		reply_db_error(r, err);
		return 0;
	}
	PQclear(res);
	return 1;
}

/* Best effort: Jansson's copy of a secret string, overwritten in place. */
static void
wipe_string(json_t *v)
{
	if (json_is_string(v))
		sodium_memzero((char *)(uintptr_t)json_string_value(v),
		    json_string_length(v));
}

/*
 * A string member of the signinBody object; names match case-insensitively,
 * as ASP.NET model binding does.  NULL after adding the error.
 */
static json_t *
member(const json_t *o, const char *name, size_t max, json_t *errors)
{
	const char	*k;
	json_t		*v, *found = NULL;
	char		 msg[96];

	json_object_foreach((json_t *)o, k, v) {
		if (strcasecmp(k, name) != 0)
			continue;
		if (found != NULL) {
			hs_errors_add(errors, name, "is given twice");
			return NULL;
		}
		found = v;
	}
	if (found == NULL || json_is_null(found)) {
		hs_errors_add(errors, name, "is required");
		return NULL;
	}
	if (!json_is_string(found)) {
		hs_errors_add(errors, name, "must be a string");
		return NULL;
	}
	if (json_string_length(found) == 0) {
		hs_errors_add(errors, name, "must not be empty");
		return NULL;
	}
	if (json_string_length(found) > max) {
		snprintf(msg, sizeof(msg), "must be at most %zu bytes", max);
		hs_errors_add(errors, name, msg);
		return NULL;
	}
	if (strlen(json_string_value(found)) != json_string_length(found)) {
		hs_errors_add(errors, name, "must not contain NUL");
		return NULL;
	}
	return found;
}

/* Mints a token of sub with one role; NULL after answering. */
static char *
mint(struct req *r, const char *sub, const char *name, const char *role,
    int64_t now, long ttl, const char *audience, const char *sid,
    char jti[HS_UUID_LEN + 1])
{
	const char		*roles[1] = { role };
	char			*tok = NULL;
	enum hs_token_err	 te;

	te = hs_token_issue(keys.sk, sub, name, roles, 1, now, ttl,
	    r->w->cfg->token_issuer, audience, sid, &tok, jti);
	if (te != HS_TOKEN_OK) {
		hs_log(HS_LOG_ERROR, "token_issue_failed", "trace=%s error=\"%s\"",
		    r->trace, hs_token_strerror(te));
		reply_problem(r, API_INTERNAL, "could not issue a token", NULL);
		return NULL;
	}
	return tok;
}

static void
reply_token(struct req *r, const char *tok)
{
	json_t	*v = json_string(tok);

	reply_json(r, 200, v, NULL);
	json_decref(v);
}

/* Deletes a few sessions long over, as new ones start. */
static void
session_prune(struct req *r)
{
	PGresult	*res;
	const char	*p[1];
	char		 age[24];
	enum db_err	 err;

	snprintf(age, sizeof(age), "%ld", r->w->cfg->signin_session_max +
	    HS_SIGNIN_FORGET_SECONDS);
	p[0] = age;
	if ((res = db_exec(r->w, ST_SESSION_PRUNE, 1, p, &err)) != NULL)
		PQclear(res);
}

/*
 * Answers a session token of session sid, which started at Unix time
 * started: exp is now + signin_session_ttl, but never past started +
 * signin_session_max.  A session at its end, or revoked since it was
 * looked up, gets the generic 401: the client signs in again.  The jti is
 * recorded with the session before the token leaves, so that `token
 * revoke` of any token finds its session.
 */
static void
session_reply(struct req *r, const char *step, const char *sub,
    const char *role, const char *sid, long long started, const char *why)
{
	const struct hs_config	*cfg = r->w->cfg;
	PGresult		*res = NULL;
	const char		*p[3];
	char			*tok = NULL, jti[HS_UUID_LEN + 1], exps[24];
	int64_t			 now = (int64_t)time(NULL), end, ttl;
	enum db_err		 err;

	end = (int64_t)started + cfg->signin_session_max;
	if (now >= end) {
		log_outcome(r, step, sub, "fail", "session_ended", 0, 0, NULL,
		    sid);
		r->auth_fail = "session_ended";
		reply_problem(r, API_UNAUTHORIZED, "invalid token", NULL);
		goto out;
	}
	ttl = end - now < cfg->signin_session_ttl ? end - now :
	    cfg->signin_session_ttl;
	if ((tok = mint(r, sub, sub, role, now, (long)ttl,
	    cfg->token_audience, sid, jti)) == NULL)
		goto out;
	snprintf(exps, sizeof(exps), "%lld", (long long)(now + ttl));
	p[0] = jti;
	p[1] = sid;
	p[2] = exps;
	if ((res = db_exec(r->w, ST_SESSION_TOKEN, 3, p, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		log_outcome(r, step, sub, "fail", "session_revoked", 0, 0,
		    NULL, sid);
		r->auth_fail = "session revoked";
		reply_problem(r, API_UNAUTHORIZED, "invalid token", NULL);
		goto out;
	}
	log_outcome(r, step, sub, "ok", why, 0, 0, jti, sid);
	reply_token(r, tok);
out:
	if (tok != NULL)
		sodium_memzero(tok, strlen(tok));
	free(tok);
	PQclear(res);
}

void
h_signin_body(struct req *r, const char *id)
{
	json_t		*root = NULL, *errors = NULL, *lv, *pv = NULL;
	PGresult	*res = NULL;
	const char	*login, *hash, *reason = NULL;
	char		*tok = NULL, jti[HS_UUID_LEN + 1];
	struct attempt	 a;
	enum db_err	 err;
	int		 good;

	if (!keys_ready(r, 1) ||
	    (root = body_json(r, BODY_ANY | BODY_SECRET)) == NULL)
		goto out;
	errors = json_object();
	if (!json_is_object(root)) {
		hs_errors_add(errors, "$", "must be an object with Login and "
		    "Password");
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto out;
	}
	lv = member(root, "Login", HS_MAX_LOGIN_BYTES, errors);
	pv = member(root, "Password", HS_MAX_PASSWORD_BYTES, errors);
	if (lv == NULL || pv == NULL) {
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto out;
	}
	login = json_string_value(lv);
	if (!reserve(r, "password", login, &a))
		goto out;
	if ((res = db_exec(r->w, ST_SIGNIN_USER, 1, &login, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	hash = PQntuples(res) > 0 ? PQgetvalue(res, 0, 1) : keys.dummy;
	good = crypto_pwhash_str_verify(hash, json_string_value(pv),
	    json_string_length(pv)) == 0;
	wipe_string(pv);
	if (PQntuples(res) == 0)
		reason = "unknown_user";
	else if (!good)
		reason = "wrong_password";
	else if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
		reason = "disabled";
	else if (PQgetisnull(res, 0, 4))
		reason = "no_totp";
	if (reason != NULL) {
		fail(r, "password", login, reason, &a);
		goto out;
	}
	if (!release(r, login) || (tok = mint(r, login, NULL,
	    SIGNIN_PRE_MFA_ROLE, (int64_t)time(NULL),
	    r->w->cfg->signin_pre_mfa_ttl, SIGNIN_PRE_MFA_AUD, NULL,
	    jti)) == NULL)
		goto out;
	log_outcome(r, "password", login, "ok", "password_ok", 0, 0, jti,
	    NULL);
	reply_token(r, tok);
out:
	wipe_string(pv);
	free(tok);
	PQclear(res);
	json_decref(errors);
	json_decref(root);
}

/* A 6-digit code held in a JSON string; NULL after answering 400. */
static const char *
code_of(struct req *r, const json_t *root)
{
	json_t		*errors;
	const char	*s = json_string_value(root);

	if (s != NULL && strlen(s) == HS_TOTP_DIGITS &&
	    json_string_length(root) == HS_TOTP_DIGITS &&
	    strspn(s, "0123456789") == HS_TOTP_DIGITS)
		return s;
	errors = json_object();
	hs_errors_add(errors, "$", "must be a JSON string holding the "
	    "6-digit code");
	reply_problem(r, API_VALIDATION, NULL, errors);
	json_decref(errors);
	return NULL;
}

void
h_signin_2fa(struct req *r, const char *id)
{
	json_t		*root = NULL;
	PGresult	*res = NULL, *ok = NULL;
	unsigned char	*box = NULL, *secret = NULL;
	const char	*login, *code, *hex, *p[3];
	char		 step[24], sid[HS_UUID_LEN + 1];
	size_t		 boxlen, len;
	uint64_t	 counter;
	struct attempt	 a;
	enum db_err	 err;

	/* The pre-MFA token was checked by the route (auth_pre_mfa). */
	if (!keys_ready(r, 1) ||
	    (root = body_json(r, BODY_ANY | BODY_SECRET)) == NULL ||
	    (code = code_of(r, root)) == NULL)
		goto out;
	login = r->claims.sub;
	if (!reserve(r, "code", login, &a))
		goto out;
	if ((res = db_exec(r->w, ST_SIGNIN_USER, 1, &login, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 2), "t") != 0 ||
	    PQgetisnull(res, 0, 4)) {
		fail(r, "code", login, PQntuples(res) == 0 ? "unknown_user" :
		    PQgetisnull(res, 0, 4) ? "no_totp" : "disabled", &a);
		goto out;
	}
	hex = PQgetvalue(res, 0, 4);
	boxlen = strlen(hex) / 2;
	box = hs_xmalloc(boxlen + 1);
	if (sodium_hex2bin(box, boxlen, hex, strlen(hex), NULL, &len,
	    NULL) != 0 || len != boxlen ||
	    hs_secret_open(&keys.totp, PQgetvalue(res, 0, 3), box, boxlen,
	    &secret, &len) != 0) {
		hs_log(HS_LOG_ERROR, "totp_secret_unreadable", "trace=%s "
		    "key_id=%s", r->trace, PQgetvalue(res, 0, 3));
		reply_problem(r, API_INTERNAL, "this user's TOTP secret cannot "
		    "be opened with the keys of totp_key", NULL);
		goto out;
	}
	if (hs_totp_check(secret, len, code, (int64_t)time(NULL),
	    &counter) != 0) {
		fail(r, "code", login, "wrong_code", &a);
		goto out;
	}
	/* The step, the cleared failures and the new session, at once. */
	snprintf(step, sizeof(step), "%llu", (unsigned long long)counter);
	hs_uuid_random(sid);
	p[0] = login;
	p[1] = step;
	p[2] = sid;
	if ((ok = db_exec(r->w, ST_SIGNIN_OK, 3, p, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	if (PQntuples(ok) == 0) {
		fail(r, "code", login, "replayed_code", &a);
		goto out;
	}
	session_prune(r);
	session_reply(r, "code", login, PQgetvalue(ok, 0, 0), sid,
	    strtoll(PQgetvalue(ok, 0, 1), NULL, 10), "signed_in");
out:
	if (secret != NULL)
		sodium_free(secret);
	free(box);
	PQclear(ok);
	PQclear(res);
	json_decref(root);
}

/*
 * A fresh session token for the subject of a valid one, with the role the
 * user has now, in the token's session: its sid, and no later than the
 * session's end.  Only names of enabled users renew.  A token without a
 * sid (hostscanctl token issue) stands for a sign-in the operator made:
 * its renewal starts a session.  A token minted for any other subject is
 * renewed by issuing another.
 */
void
h_user_token(struct req *r, const char *id)
{
	PGresult	*res = NULL, *ses = NULL;
	const char	*sub = r->claims.sub, *p[2];
	enum db_err	 err;

	if (!keys_ready(r, 0))
		goto out;
	/*
	 * Only a sign-in's token is renewed.  A token from hostscanctl token
	 * issue carries the roles its issuer chose; renewing it as the user
	 * its sub names would turn a leaked App token into that user's Admin.
	 */
	if (r->claims.sid == NULL) {
		log_outcome(r, "refresh", sub, "fail", "not_a_session", 0, 0,
		    NULL, NULL);
		reply_problem(r, API_FORBIDDEN, "this token cannot be renewed: "
		    "it is not a sign-in session token", NULL);
		goto out;
	}
	if ((res = db_exec(r->w, ST_SIGNIN_USER, 1, &sub, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
		log_outcome(r, "refresh", sub, "fail", PQntuples(res) == 0 ?
		    "not_a_user" : "disabled", 0, 0, NULL, r->claims.sid);
		reply_problem(r, API_FORBIDDEN, "this token cannot be renewed: "
		    "its subject is not an enabled user", NULL);
		goto out;
	}
	p[0] = r->claims.sid;
	p[1] = sub;
	if ((ses = db_exec(r->w, ST_SESSION_LIVE, 2, p, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	/* Revoked since auth_token looked (or a session of another name). */
	if (PQntuples(ses) == 0) {
		log_outcome(r, "refresh", sub, "fail", "session_revoked", 0, 0,
		    NULL, r->claims.sid);
		r->auth_fail = "session revoked";
		reply_problem(r, API_UNAUTHORIZED, "invalid token", NULL);
		goto out;
	}
	session_reply(r, "refresh", sub, PQgetvalue(res, 0, 0), r->claims.sid,
	    strtoll(PQgetvalue(ses, 0, 0), NULL, 10), "renewed");
out:
	PQclear(ses);
	PQclear(res);
}
