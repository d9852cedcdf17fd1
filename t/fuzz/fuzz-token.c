/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer driver for the token verifier (src/common/token.c) against a
 * fixed keyring.  Random bytes never carry a valid Ed25519 signature, so
 * the first byte picks how the rest becomes a token, letting the fuzzer
 * reach the footer and the claims behind the signature:
 *   low two bits 0: the rest is the token, verified as a caller sends it;
 *               1: the rest is the claims payload, signed by key A with
 *                  A's kid in the footer;
 *               2: the rest is FOOTER NUL PAYLOAD, signed by key A;
 *               3: as 1, but signed by key C (not in the keyring) under
 *                  A's kid: never valid.
 *   bit 2: the policy also requires issuer FUZZ_ISS and audience FUZZ_AUD.
 *   bit 3: in modes 1 and 2, also check the signature layer alone: it
 *          gives back the payload byte for byte, and refuses the token
 *          under another implicit assertion.  (Two more Ed25519
 *          verifications, which bound this driver's speed: only on
 *          request.)
 * ASCII '0'..'7' are these modes, '8' and '9' modes 0 and 1 with bit 3,
 * so seeds stay readable.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common.h"

#define FUZZ_ISS	"hostscan-fuzz"
#define FUZZ_AUD	"hostscan-api"
#define FUZZ_NOW	1767225600	/* 2026-01-01T00:00:00Z */
#define FUZZ_LEEWAY	60

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Keys A and B are in the keyring, C is not; fixed seeds, so seeds replay. */
static struct {
	int			 ready;
	unsigned char		 sk_a[64], sk_c[64];
	struct hs_keyring	 kr;
	char			 footer_a[sizeof("{\"kid\":\"\"}") +
				    HS_PASERK_PID_LEN];
} fx;

static void
setup(void)
{
	unsigned char	 seed[32], pk[32], sk[64];
	int		 i;

	if (sodium_init() < 0)
		abort();
	for (i = 0; i < 3; i++) {
		memset(seed, 'A' + i, sizeof(seed));
		if (crypto_sign_seed_keypair(pk, sk, seed) != 0)
			abort();
		if (i == 0)
			memcpy(fx.sk_a, sk, 64);
		if (i == 2) {
			memcpy(fx.sk_c, sk, 64);
			continue;
		}
		memcpy(fx.kr.keys[fx.kr.n].pk, pk, 32);
		if (hs_paserk_pid(pk, fx.kr.keys[fx.kr.n].pid) != 0)
			abort();
		fx.kr.n++;
	}
	snprintf(fx.footer_a, sizeof(fx.footer_a), "{\"kid\":\"%s\"}",
	    fx.kr.keys[0].pid);
	fx.ready = 1;
}

/* What every accepted token's claims must satisfy. */
static void
check_claims(const struct hs_claims *c, const struct hs_token_policy *pol)
{
	size_t	 i;

	if (c->sub == NULL || c->sub[0] == '\0' ||
	    strlen(c->sub) > HS_MAX_CLAIM_LEN ||
	    c->jti == NULL || c->jti[0] == '\0' ||
	    strlen(c->jti) > HS_MAX_CLAIM_LEN ||
	    (c->name != NULL && strlen(c->name) > HS_MAX_CLAIM_LEN) ||
	    c->nroles < 1 || c->nroles > HS_MAX_ROLES)
		abort();
	for (i = 0; i < c->nroles; i++)
		if (c->roles[i] == NULL || c->roles[i][0] == '\0' ||
		    strlen(c->roles[i]) > HS_MAX_CLAIM_LEN ||
		    !hs_claims_has_role(c, c->roles[i]))
			abort();
	if (pol->now > c->exp + pol->leeway ||
	    (c->has_nbf && pol->now + pol->leeway < c->nbf) ||
	    (c->has_iat && pol->now + pol->leeway < c->iat))
		abort();
}

/* An accepted payload we signed says what the claims say. */
static void
check_payload(const char *payload, size_t plen, const struct hs_claims *c)
{
	json_t	*root;
	json_t	*roles;

	root = json_loadb(payload, plen, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL)
		abort();
	roles = json_object_get(root, "roles");
	if (strcmp(json_string_value(json_object_get(root, "sub")), c->sub) ||
	    strcmp(json_string_value(json_object_get(root, "jti")), c->jti) ||
	    json_array_size(roles) != c->nroles ||
	    strcmp(json_string_value(json_array_get(roles, 0)), c->roles[0]))
		abort();
	json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hs_token_policy	 pol;
	struct hs_claims	 c;
	enum hs_token_err	 rc;
	const char		*rest, *payload, *footer, *nul;
	char			*tok = NULL, *text = NULL, *back = NULL;
	size_t			 rlen, plen, flen, blen;
	int			 mode;

	if (!fx.ready)
		setup();
	if (size < 1)
		return 0;
	mode = data[0] & 3;
	pol.issuer = data[0] & 4 ? FUZZ_ISS : NULL;
	pol.audience = data[0] & 4 ? FUZZ_AUD : NULL;
	pol.now = FUZZ_NOW;
	pol.leeway = FUZZ_LEEWAY;
	rest = (const char *)data + 1;
	rlen = size - 1;
	payload = rest;
	plen = rlen;
	footer = fx.footer_a;
	flen = strlen(fx.footer_a);

	switch (mode) {
	case 0:
		/* A header value is a C string: it ends at the first NUL. */
		text = hs_xmalloc(rlen + 1);
		memcpy(text, rest, rlen);
		text[rlen] = '\0';
		break;
	case 2:
		if ((nul = memchr(rest, '\0', rlen)) == NULL)
			goto out;
		footer = rest;
		flen = (size_t)(nul - rest);
		payload = nul + 1;
		plen = rlen - flen - 1;
		/* FALLTHROUGH */
	case 1:
	case 3:
		rc = hs_paseto_sign(mode == 3 ? fx.sk_c : fx.sk_a, payload,
		    plen, footer, flen, "", 0, &tok);
		if (rc != HS_TOKEN_OK)
			abort();
		text = tok;
		tok = NULL;
		/* The signature layer alone gives back exactly what it signed. */
		if ((data[0] & 8) && mode != 3 &&
		    strlen(text) <= HS_MAX_TOKEN_LEN) {
			if (hs_paseto_verify(text, strlen(text),
			    fx.kr.keys[0].pk, "", 0, &back, &blen, NULL,
			    NULL) != HS_TOKEN_OK || blen != plen ||
			    memcmp(back, payload, plen) != 0)
				abort();
			free(back);
			back = NULL;
			/* Another implicit assertion is another signature. */
			if (hs_paseto_verify(text, strlen(text),
			    fx.kr.keys[0].pk, "x", 1, &back, &blen, NULL,
			    NULL) != HS_TOKEN_BAD_SIGNATURE)
				abort();
		}
		break;
	}

	rc = hs_token_verify(&fx.kr, text, &pol, &c);
	if (hs_token_strerror(rc)[0] == '\0')
		abort();
	if (rc == HS_TOKEN_OK) {
		if (mode == 3)
			abort();
		check_claims(&c, &pol);
		if (mode != 0)
			check_payload(payload, plen, &c);
	} else if (c.sub != NULL || c.jti != NULL || c.nroles != 0)
		abort();	/* a refusal leaves nothing to free or trust */
	if (mode == 3 && rc != HS_TOKEN_BAD_SIGNATURE &&
	    rc != HS_TOKEN_TOO_LONG)
		abort();
	hs_claims_free(&c);
out:
	free(back);
	free(tok);
	free(text);
	return 0;
}
