/* SPDX-License-Identifier: ISC */
/* PASETO v4.public tokens and PASERK k4 keys: sign, verify, check claims. */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common.h"

#define V4_PUBLIC	"v4.public."
#define V4_PUBLIC_LEN	(sizeof(V4_PUBLIC) - 1)
#define K4_PUBLIC	"k4.public."
#define K4_SECRET	"k4.secret."
#define K4_PID		"k4.pid."
#define K4_PID_LEN	(sizeof(K4_PID) - 1)
#define SIG_LEN		crypto_sign_BYTES

/*
 * What hs_paseto_sign accepts; far above HS_MAX_TOKEN_LEN so that test
 * tools can still mint oversized tokens, but small enough that no length
 * computation below can overflow.
 */
#define HS_MAX_SIGN_INPUT	(1024 * 1024)


static const char *const token_errs[] = {
	"ok",
	"token too long",
	"malformed token",
	"not a v4.public token",
	"footer is not {\"kid\":\"k4.pid...\"}",
	"unknown signing key",
	"bad signature",
	"bad claims",
	"token expired",
	"token not yet valid",
	"wrong issuer",
	"wrong audience",
	"token revoked",
	"internal error",
};

const char *
hs_token_strerror(enum hs_token_err e)
{
	if ((size_t)e >= sizeof(token_errs) / sizeof(token_errs[0]))
		return "unknown token error";
	return token_errs[e];
}

/* ---- PASERK ---- */

int
hs_paserk_public_encode(const unsigned char pk[32],
    char out[HS_PASERK_PUBLIC_LEN + 1])
{
	memcpy(out, K4_PUBLIC, sizeof(K4_PUBLIC) - 1);
	hs_b64url_encode(pk, 32, out + sizeof(K4_PUBLIC) - 1);
	return 0;
}

int
hs_paserk_public_decode(const char *s, unsigned char pk[32])
{
	size_t	 n;

	if (strncmp(s, K4_PUBLIC, sizeof(K4_PUBLIC) - 1) != 0)
		return -1;
	s += sizeof(K4_PUBLIC) - 1;
	if (strlen(s) != hs_b64url_len(32) ||
	    hs_b64url_decode(s, strlen(s), pk, 32, &n) == -1 || n != 32)
		return -1;
	return 0;
}

int
hs_paserk_secret_encode(const unsigned char sk[64],
    char out[HS_PASERK_SECRET_LEN + 1])
{
	memcpy(out, K4_SECRET, sizeof(K4_SECRET) - 1);
	hs_b64url_encode(sk, 64, out + sizeof(K4_SECRET) - 1);
	return 0;
}

/*
 * libsodium's crypto_sign_ed25519_sk_to_pk() only copies the stored
 * half, so the public key is derived from the seed again and compared.
 */
int
hs_paserk_secret_decode(const char *s, unsigned char sk[64])
{
	unsigned char	 seed[crypto_sign_SEEDBYTES];
	unsigned char	 pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char	 dsk[crypto_sign_SECRETKEYBYTES];
	size_t		 n = 0;
	int		 rc = -1;

	if (strncmp(s, K4_SECRET, sizeof(K4_SECRET) - 1) != 0)
		goto out;
	s += sizeof(K4_SECRET) - 1;
	if (strlen(s) != hs_b64url_len(64) ||
	    hs_b64url_decode(s, strlen(s), sk, 64, &n) == -1 || n != 64)
		goto out;
	memcpy(seed, sk, sizeof(seed));
	if (crypto_sign_seed_keypair(pk, dsk, seed) != 0)
		goto out;
	if (sodium_memcmp(pk, sk + crypto_sign_SEEDBYTES, sizeof(pk)) != 0)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		sodium_memzero(sk, 64);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(dsk, sizeof(dsk));
	return rc;
}

int
hs_paserk_pid(const unsigned char pk[32], char out[HS_PASERK_PID_LEN + 1])
{
	char		 in[K4_PID_LEN + HS_PASERK_PUBLIC_LEN + 1];
	unsigned char	 h[33];

	memcpy(in, K4_PID, K4_PID_LEN);
	hs_paserk_public_encode(pk, in + K4_PID_LEN);
	if (crypto_generichash(h, sizeof(h), (const unsigned char *)in,
	    K4_PID_LEN + HS_PASERK_PUBLIC_LEN, NULL, 0) != 0)
		return -1;
	memcpy(out, K4_PID, K4_PID_LEN);
	hs_b64url_encode(h, sizeof(h), out + K4_PID_LEN);
	return 0;
}

/* ---- PASETO v4.public ---- */

static void
le64(unsigned char *p, uint64_t v)
{
	int	 i;

	v &= UINT64_MAX >> 1;
	for (i = 0; i < 8; i++) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/*
 * Pre-authentication encoding of the v4.public header, message m, footer
 * f and implicit assertion a: LE64(4) || for each piece LE64(len) ||
 * piece.  Callers keep every length under HS_MAX_SIGN_INPUT, so the sum
 * cannot overflow.
 */
static unsigned char *
pae_v4(const void *m, size_t mlen, const void *f, size_t flen, const void *a,
    size_t alen, size_t *outlen)
{
	const void	*piece[4] = { V4_PUBLIC, m, f, a };
	const size_t	 len[4] = { V4_PUBLIC_LEN, mlen, flen, alen };
	unsigned char	*buf, *p;
	size_t		 i, total = 8;

	for (i = 0; i < 4; i++)
		total += 8 + len[i];
	p = buf = hs_xmalloc(total);
	le64(p, 4);
	p += 8;
	for (i = 0; i < 4; i++) {
		le64(p, len[i]);
		p += 8;
		if (len[i] > 0)
			memcpy(p, piece[i], len[i]);
		p += len[i];
	}
	*outlen = total;
	return buf;
}

enum hs_token_err
hs_paseto_sign(const unsigned char sk[64], const char *payload, size_t plen,
    const char *footer, size_t flen, const char *implicit, size_t ilen,
    char **token)
{
	unsigned char	*pae = NULL, *body = NULL;
	size_t		 paelen, toklen;
	char		*tok = NULL, *p;
	enum hs_token_err rc = HS_TOKEN_INTERNAL;

	*token = NULL;
	if (plen > HS_MAX_SIGN_INPUT || flen > HS_MAX_SIGN_INPUT ||
	    ilen > HS_MAX_SIGN_INPUT) {
		rc = HS_TOKEN_TOO_LONG;
		goto out;
	}
	pae = pae_v4(payload, plen, footer, flen, implicit, ilen, &paelen);

	body = hs_xmalloc(plen + SIG_LEN);
	if (plen > 0)
		memcpy(body, payload, plen);
	if (crypto_sign_detached(body + plen, NULL, pae, paelen, sk) != 0)
		goto out;

	toklen = V4_PUBLIC_LEN + hs_b64url_len(plen + SIG_LEN) +
	    (flen > 0 ? 1 + hs_b64url_len(flen) : 0);
	p = tok = hs_xmalloc(toklen + 1);
	memcpy(p, V4_PUBLIC, V4_PUBLIC_LEN);
	p += V4_PUBLIC_LEN;
	hs_b64url_encode(body, plen + SIG_LEN, p);
	p += hs_b64url_len(plen + SIG_LEN);
	if (flen > 0) {
		*p++ = '.';
		hs_b64url_encode((const unsigned char *)footer, flen, p);
	}
	tok[toklen] = '\0';
	*token = tok;
	tok = NULL;
	rc = HS_TOKEN_OK;
out:
	free(pae);
	free(body);
	free(tok);
	return rc;
}

/*
 * Splits "v4.public.BODY[.FOOTER]" into its base64url segments.  An empty
 * footer is encoded by leaving the dot out, so a trailing dot is refused.
 */
static enum hs_token_err
paseto_split(const char *token, size_t tlen, const char **body,
    size_t *blen, const char **foot, size_t *footlen)
{
	const char	*dot;
	size_t		 rest;

	if (tlen > HS_MAX_TOKEN_LEN)
		return HS_TOKEN_TOO_LONG;
	if (memchr(token, '\0', tlen) != NULL)
		return HS_TOKEN_MALFORMED;
	if (tlen < V4_PUBLIC_LEN ||
	    memcmp(token, V4_PUBLIC, V4_PUBLIC_LEN) != 0)
		return HS_TOKEN_WRONG_HEADER;
	*body = token + V4_PUBLIC_LEN;
	rest = tlen - V4_PUBLIC_LEN;
	if ((dot = memchr(*body, '.', rest)) == NULL) {
		*blen = rest;
		*foot = NULL;
		*footlen = 0;
		return HS_TOKEN_OK;
	}
	*blen = (size_t)(dot - *body);
	*foot = dot + 1;
	*footlen = rest - *blen - 1;
	if (*footlen == 0 || memchr(*foot, '.', *footlen) != NULL)
		return HS_TOKEN_MALFORMED;
	return HS_TOKEN_OK;
}

static enum hs_token_err
decode_segment(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char	*buf;
	size_t		 cap = n / 4 * 3 + 3;

	buf = hs_xmalloc(cap + 1);
	if (hs_b64url_decode(s, n, buf, cap, outlen) == -1) {
		free(buf);
		*out = NULL;
		*outlen = 0;
		return HS_TOKEN_MALFORMED;
	}
	buf[*outlen] = '\0';
	*out = buf;
	return HS_TOKEN_OK;
}

enum hs_token_err
hs_paseto_footer(const char *token, size_t tlen, char **footer, size_t *flen)
{
	const char	*body, *foot;
	size_t		 blen, footlen;
	unsigned char	*f = NULL;
	enum hs_token_err rc;

	*footer = NULL;
	*flen = 0;
	if ((rc = paseto_split(token, tlen, &body, &blen, &foot, &footlen)))
		return rc;
	if (foot == NULL) {
		*footer = hs_strdup("");
		return HS_TOKEN_OK;
	}
	if ((rc = decode_segment(foot, footlen, &f, flen)))
		return rc;
	*footer = (char *)f;
	return HS_TOKEN_OK;
}

enum hs_token_err
hs_paseto_verify(const char *token, size_t tlen, const unsigned char pk[32],
    const char *implicit, size_t ilen, char **payload, size_t *plen,
    char **footer, size_t *flen)
{
	const char	*body, *foot;
	size_t		 blen, footlen, mlen, flen0 = 0, paelen;
	unsigned char	*m = NULL, *f = NULL, *pae = NULL;
	enum hs_token_err rc;

	*payload = NULL;
	*plen = 0;
	if (footer != NULL)
		*footer = NULL;
	if (flen != NULL)
		*flen = 0;
	if ((rc = paseto_split(token, tlen, &body, &blen, &foot, &footlen)))
		goto out;
	if ((rc = decode_segment(body, blen, &m, &mlen)))
		goto out;
	if (mlen < SIG_LEN) {
		rc = HS_TOKEN_MALFORMED;
		goto out;
	}
	mlen -= SIG_LEN;
	if (foot != NULL) {
		if ((rc = decode_segment(foot, footlen, &f, &flen0)))
			goto out;
	} else {
		f = (unsigned char *)hs_strdup("");
	}
	if (ilen > HS_MAX_SIGN_INPUT) {
		rc = HS_TOKEN_TOO_LONG;
		goto out;
	}
	pae = pae_v4(m, mlen, f, flen0, implicit, ilen, &paelen);
	if (crypto_sign_verify_detached(m + mlen, pae, paelen, pk) != 0) {
		rc = HS_TOKEN_BAD_SIGNATURE;
		goto out;
	}

	m[mlen] = '\0';
	*payload = (char *)m;
	*plen = mlen;
	m = NULL;
	if (footer != NULL) {
		*footer = (char *)f;
		f = NULL;
	}
	if (flen != NULL)
		*flen = flen0;
	rc = HS_TOKEN_OK;
out:
	free(m);
	free(f);
	free(pae);
	return rc;
}

/* ---- claims ---- */

void
hs_claims_free(struct hs_claims *c)
{
	size_t	 i;

	free(c->sub);
	free(c->name);
	free(c->jti);
	free(c->sid);
	for (i = 0; i < c->nroles && i < HS_MAX_ROLES; i++)
		free(c->roles[i]);
	memset(c, 0, sizeof(*c));
}

int
hs_claims_has_role(const struct hs_claims *c, const char *role)
{
	size_t	 i;

	for (i = 0; i < c->nroles; i++)
		if (strcmp(c->roles[i], role) == 0)
			return 1;
	return 0;
}

/* A string of 1..HS_MAX_CLAIM_LEN bytes (jansson already refused \u0000). */
static const char *
claim_str(const json_t *o, const char *key, int allow_empty)
{
	const json_t	*v;
	size_t		 n;

	if ((v = json_object_get(o, key)) == NULL || !json_is_string(v))
		return NULL;
	n = json_string_length(v);
	if ((n == 0 && !allow_empty) || n > HS_MAX_CLAIM_LEN)
		return NULL;
	return json_string_value(v);
}

/* Absent: 0.  A valid RFC 3339 string: 1.  Anything else: -1. */
static int
claim_time(const json_t *o, const char *key, int64_t *t)
{
	const json_t	*v;

	if ((v = json_object_get(o, key)) == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > 64 ||
	    hs_time_parse(json_string_value(v), t) == -1)
		return -1;
	return 1;
}

static int
aud_matches(const json_t *aud, const char *want)
{
	const json_t	*v;
	size_t		 i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (!json_is_array(aud))
		return 0;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return 1;
	return 0;
}

static enum hs_token_err
claims_check(const char *payload, size_t plen,
    const struct hs_token_policy *pol, struct hs_claims *c)
{
	json_t		*root = NULL, *roles, *v;
	json_error_t	 jerr;
	const char	*s;
	int64_t		 leeway;
	size_t		 i;
	int		 r;
	enum hs_token_err rc = HS_TOKEN_BAD_CLAIMS;

	if ((root = json_loadb(payload, plen, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(root))
		goto out;

	if ((s = claim_str(root, "sub", 0)) == NULL)
		goto out;
	c->sub = hs_strdup(s);
	if ((v = json_object_get(root, "name")) != NULL) {
		if ((s = claim_str(root, "name", 1)) == NULL)
			goto out;
		c->name = hs_strdup(s);
	}
	if ((s = claim_str(root, "jti", 0)) == NULL)
		goto out;
	c->jti = hs_strdup(s);
	if (json_object_get(root, "sid") != NULL) {
		if ((s = claim_str(root, "sid", 0)) == NULL)
			goto out;
		c->sid = hs_strdup(s);
	}

	roles = json_object_get(root, "roles");
	if (!json_is_array(roles) || json_array_size(roles) == 0 ||
	    json_array_size(roles) > HS_MAX_ROLES)
		goto out;
	json_array_foreach(roles, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > HS_MAX_CLAIM_LEN)
			goto out;
		c->roles[c->nroles++] = hs_strdup(json_string_value(v));
	}

	if (claim_time(root, "exp", &c->exp) != 1)
		goto out;
	if ((r = claim_time(root, "iat", &c->iat)) == -1)
		goto out;
	c->has_iat = r;
	if ((r = claim_time(root, "nbf", &c->nbf)) == -1)
		goto out;
	c->has_nbf = r;

	if (pol->issuer != NULL) {
		v = json_object_get(root, "iss");
		if (!json_is_string(v) ||
		    strcmp(json_string_value(v), pol->issuer) != 0) {
			rc = HS_TOKEN_WRONG_ISSUER;
			goto out;
		}
	}
	if (pol->audience != NULL &&
	    !aud_matches(json_object_get(root, "aud"), pol->audience)) {
		rc = HS_TOKEN_WRONG_AUDIENCE;
		goto out;
	}

	leeway = pol->leeway;
	if (leeway < 0)
		leeway = 0;
	if (leeway > HS_MAX_TOKEN_LEEWAY)
		leeway = HS_MAX_TOKEN_LEEWAY;
	/* Parsed times are within years 0000..9999: no overflow here. */
	if (pol->now > c->exp + leeway) {
		rc = HS_TOKEN_EXPIRED;
		goto out;
	}
	if ((c->has_nbf && pol->now + leeway < c->nbf) ||
	    (c->has_iat && pol->now + leeway < c->iat)) {
		rc = HS_TOKEN_NOT_YET_VALID;
		goto out;
	}
	rc = HS_TOKEN_OK;
out:
	json_decref(root);
	return rc;
}

/*
 * The footer is read before the signature is checked (it names the key),
 * so it is treated as hostile: a PASERK of a secret or symmetric key in
 * it means someone leaked a key and the token is refused outright.
 */
static enum hs_token_err
footer_kid(const char *footer, size_t flen, char kid[HS_PASERK_PID_LEN + 1])
{
	static const char *const leaked[] = {
		"k4.secret", "k4.local", "k4.seal"
	};
	json_t		*root = NULL;
	const json_t	*v;
	json_error_t	 jerr;
	size_t		 i;
	enum hs_token_err rc = HS_TOKEN_BAD_FOOTER;

	if (flen == 0 || memchr(footer, '\0', flen) != NULL)
		goto out;
	for (i = 0; i < sizeof(leaked) / sizeof(leaked[0]); i++)
		if (strstr(footer, leaked[i]) != NULL)
			goto out;
	if ((root = json_loadb(footer, flen, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(root))
		goto out;
	v = json_object_get(root, "kid");
	if (!json_is_string(v) ||
	    strncmp(json_string_value(v), K4_PID, K4_PID_LEN) != 0)
		goto out;
	if (hs_strlcpy(kid, json_string_value(v), HS_PASERK_PID_LEN + 1) == -1 ||
	    strlen(kid) != HS_PASERK_PID_LEN) {
		rc = HS_TOKEN_UNKNOWN_KEY;
		goto out;
	}
	rc = HS_TOKEN_OK;
out:
	json_decref(root);
	return rc;
}

enum hs_token_err
hs_token_verify(const struct hs_keyring *kr, const char *token,
    const struct hs_token_policy *pol, struct hs_claims *out)
{
	char			*footer = NULL, *payload = NULL;
	char			 kid[HS_PASERK_PID_LEN + 1];
	const struct hs_pubkey	*key;
	size_t			 tlen, flen, plen;
	enum hs_token_err	 rc;

	memset(out, 0, sizeof(*out));
	if (token == NULL) {
		rc = HS_TOKEN_MALFORMED;
		goto out;
	}
	if ((tlen = strnlen(token, HS_MAX_TOKEN_LEN + 1)) > HS_MAX_TOKEN_LEN) {
		rc = HS_TOKEN_TOO_LONG;
		goto out;
	}
	if ((rc = hs_paseto_footer(token, tlen, &footer, &flen)))
		goto out;
	if ((rc = footer_kid(footer, flen, kid)))
		goto out;
	if ((key = hs_keyring_find(kr, kid)) == NULL) {
		rc = HS_TOKEN_UNKNOWN_KEY;
		goto out;
	}
	if ((rc = hs_paseto_verify(token, tlen, key->pk, "", 0, &payload,
	    &plen, NULL, NULL)))
		goto out;
	rc = claims_check(payload, plen, pol, out);
out:
	if (rc != HS_TOKEN_OK)
		hs_claims_free(out);
	free(footer);
	free(payload);
	return rc;
}

enum hs_token_err
hs_token_issue(const unsigned char sk[64], const char *sub, const char *name,
    const char *const *roles, size_t nroles, int64_t now, int64_t ttl,
    const char *issuer, const char *audience, const char *sid, char **token,
    char *jti_out)
{
	json_t		*p = NULL, *ra = NULL;
	char		*payload = NULL, *tok = NULL;
	char		 pid[HS_PASERK_PID_LEN + 1];
	char		 footer[sizeof("{\"kid\":\"\"}") + HS_PASERK_PID_LEN];
	char		 iat[21], exp[21], jti[HS_UUID_LEN + 1];
	size_t		 i;
	int64_t		 t;
	enum hs_token_err rc = HS_TOKEN_BAD_CLAIMS;

	*token = NULL;
	if (sub == NULL || *sub == '\0' || strlen(sub) > HS_MAX_CLAIM_LEN ||
	    (name != NULL && strlen(name) > HS_MAX_CLAIM_LEN) ||
	    (sid != NULL && (*sid == '\0' || strlen(sid) > HS_MAX_CLAIM_LEN)) ||
	    nroles == 0 || nroles > HS_MAX_ROLES || ttl <= 0)
		goto out;
	/* exp must still have a four-digit year. */
	if (hs_time_parse("9999-12-31T23:59:59Z", &t) == -1 || now < 0 ||
	    now > t || ttl > t - now)
		goto out;
	for (i = 0; i < nroles; i++)
		if (roles[i] == NULL || *roles[i] == '\0' ||
		    strlen(roles[i]) > HS_MAX_CLAIM_LEN)
			goto out;

	rc = HS_TOKEN_INTERNAL;
	hs_time_format(now, iat);
	hs_time_format(now + ttl, exp);
	hs_uuid_random(jti);
	if ((p = json_object()) == NULL || (ra = json_array()) == NULL)
		goto out;
	for (i = 0; i < nroles; i++)
		if (json_array_append_new(ra, json_string(roles[i])) == -1)
			goto out;
	if (json_object_set_new(p, "sub", json_string(sub)) == -1 ||
	    (name != NULL &&
	    json_object_set_new(p, "name", json_string(name)) == -1) ||
	    json_object_set(p, "roles", ra) == -1 ||
	    json_object_set_new(p, "iat", json_string(iat)) == -1 ||
	    json_object_set_new(p, "nbf", json_string(iat)) == -1 ||
	    json_object_set_new(p, "exp", json_string(exp)) == -1 ||
	    json_object_set_new(p, "jti", json_string(jti)) == -1 ||
	    (sid != NULL &&
	    json_object_set_new(p, "sid", json_string(sid)) == -1) ||
	    (issuer != NULL &&
	    json_object_set_new(p, "iss", json_string(issuer)) == -1) ||
	    (audience != NULL &&
	    json_object_set_new(p, "aud", json_string(audience)) == -1))
		goto out;
	if ((payload = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
	    NULL)
		goto out;

	if (hs_paserk_pid(sk + crypto_sign_SEEDBYTES, pid) == -1)
		goto out;
	snprintf(footer, sizeof(footer), "{\"kid\":\"%s\"}", pid);
	if ((rc = hs_paseto_sign(sk, payload, strlen(payload), footer,
	    strlen(footer), "", 0, &tok)))
		goto out;
	if (strlen(tok) > HS_MAX_TOKEN_LEN) {
		rc = HS_TOKEN_TOO_LONG;
		goto out;
	}
	*token = tok;
	tok = NULL;
	if (jti_out != NULL)
		memcpy(jti_out, jti, sizeof(jti));
	rc = HS_TOKEN_OK;
out:
	json_decref(p);
	json_decref(ra);
	free(payload);
	free(tok);
	return rc;
}
