/* SPDX-License-Identifier: ISC */
/*
 * The token layer: base64url, the official PASETO v4 and PASERK k4
 * vectors, then hostscan's claim rules with an injected clock and the
 * keyring's reload.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "common.h"
#include "tap.h"

/* 2026-11-30T21:09:06Z */
#define NOW	1796072946LL

static const char *vecdir;
static char	 tmpdir[] = "/tmp/hs-test-token.XXXXXX";

struct kp {
	unsigned char	pk[32];
	unsigned char	sk[64];
	char		pid[HS_PASERK_PID_LEN + 1];
	char		pub[HS_PASERK_PUBLIC_LEN + 1];
};

static struct kp keya, keyb, keyc;
static struct hs_keyring ring;

static void
kp_from_seed(struct kp *k, unsigned char fill)
{
	unsigned char	 seed[32];

	memset(seed, fill, sizeof(seed));
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	hs_paserk_pid(k->pk, k->pid);
	hs_paserk_public_encode(k->pk, k->pub);
}

static size_t
hex(const char *s, unsigned char *out, size_t cap)
{
	size_t	 n = 0;

	if (s == NULL || sodium_hex2bin(out, cap, s, strlen(s), NULL, &n,
	    NULL) != 0)
		return (size_t)-1;
	return n;
}

static json_t *
load_vectors(const char *name)
{
	char		 path[1024];
	json_error_t	 jerr;
	json_t		*j;

	snprintf(path, sizeof(path), "%s/%s", vecdir, name);
	if ((j = json_load_file(path, 0, &jerr)) == NULL ||
	    !json_is_array(json_object_get(j, "tests"))) {
		printf("# cannot load %s: %s\n", path, jerr.text);
		ok(0, "load %s", name);
		exit(done_testing());
	}
	return j;
}

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static size_t
jstrlen(const json_t *o, const char *k)
{
	return json_string_length(json_object_get(o, k));
}

static void
test_b64(void)
{
	unsigned char	 in[64], out[64];
	char		 enc[128];
	size_t		 n, outlen;
	int		 fails = 0;

	for (n = 0; n <= sizeof(in); n++) {
		randombytes_buf(in, n);
		hs_b64url_encode(in, n, enc);
		if (strlen(enc) != hs_b64url_len(n) ||
		    strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(enc) ||
		    hs_b64url_decode(enc, strlen(enc), out, sizeof(out),
		    &outlen) != 0 || outlen != n || memcmp(in, out, n) != 0)
			fails++;
	}
	is_int(fails, 0, "b64url round trips for 0..64 bytes");

	hs_b64url_encode((const unsigned char *)"\xfb\xff\xbf", 3, enc);
	is_str(enc, "-_-_", "b64url uses - and _");
	ok(hs_b64url_decode("-_-_", 4, out, sizeof(out), &outlen) == 0 &&
	    outlen == 3 && memcmp(out, "\xfb\xff\xbf", 3) == 0,
	    "b64url decodes - and _");
	ok(hs_b64url_decode("", 0, out, sizeof(out), &outlen) == 0 &&
	    outlen == 0, "b64url decodes the empty string");
	ok(hs_b64url_decode("AA==", 4, out, sizeof(out), &outlen) == -1,
	    "b64url rejects = padding");
	ok(hs_b64url_decode("AAA=", 4, out, sizeof(out), &outlen) == -1,
	    "b64url rejects one = of padding");
	ok(hs_b64url_decode("+/+/", 4, out, sizeof(out), &outlen) == -1,
	    "b64url rejects + and /");
	ok(hs_b64url_decode("AB+A", 4, out, sizeof(out), &outlen) == -1,
	    "b64url rejects + inside");
	ok(hs_b64url_decode("AB", 2, out, sizeof(out), &outlen) == -1,
	    "b64url rejects non-zero trailing bits (2 chars)");
	ok(hs_b64url_decode("AAB", 3, out, sizeof(out), &outlen) == -1,
	    "b64url rejects non-zero trailing bits (3 chars)");
	ok(hs_b64url_decode("AA", 2, out, sizeof(out), &outlen) == 0 &&
	    outlen == 1, "b64url accepts canonical trailing bits");
	ok(hs_b64url_decode("AAAAA", 5, out, sizeof(out), &outlen) == -1,
	    "b64url rejects a length of 4n+1");
	ok(hs_b64url_decode("AA AA", 5, out, sizeof(out), &outlen) == -1,
	    "b64url rejects spaces");
	ok(hs_b64url_decode("AAAA\n", 5, out, sizeof(out), &outlen) == -1,
	    "b64url rejects a newline");
	ok(hs_b64url_decode("AAAA", 4, out, 2, &outlen) == -1,
	    "b64url rejects output that does not fit");
	ok(hs_b64url_decode("AAAAAAAA", 4, out, sizeof(out), &outlen) == 0 &&
	    outlen == 3, "b64url reads only inlen bytes");
}

static void
test_paseto_vectors(void)
{
	json_t		*j, *t;
	size_t		 i, plen, flen;
	unsigned char	 spk[32], sk[64], pk[32], dpk[32], dsk[64];
	char		*payload, *footer, *tok;
	const char	*name, *token, *imp;
	enum hs_token_err e;
	int		 have_spk = 0, ns = 0, nf = 0, ne = 0;

	j = load_vectors("paseto-v4.json");
	json_array_foreach(json_object_get(j, "tests"), i, t) {
		name = jstr(t, "name");
		if (name != NULL && strncmp(name, "4-S-", 4) == 0 &&
		    hex(jstr(t, "public-key"), spk, 32) == 32) {
			have_spk = 1;
			break;
		}
	}
	ok(have_spk, "vectors hold a 4-S public key");

	json_array_foreach(json_object_get(j, "tests"), i, t) {
		name = jstr(t, "name");
		token = jstr(t, "token");
		imp = jstr(t, "implicit-assertion");
		if (name == NULL || token == NULL || imp == NULL) {
			ok(0, "vector %zu has name, token, implicit-assertion", i);
			continue;
		}
		if (strncmp(name, "4-S-", 4) == 0) {
			ns++;
			ok(json_is_false(json_object_get(t, "expect-fail")),
			    "%s is expected to pass", name);
			ok(hex(jstr(t, "secret-key"), sk, 64) == 64,
			    "%s: 64-byte secret key", name);
			ok(hex(jstr(t, "public-key"), pk, 32) == 32,
			    "%s: 32-byte public key", name);
			crypto_sign_seed_keypair(dpk, dsk, sk);
			ok(memcmp(dpk, pk, 32) == 0 && memcmp(dsk, sk, 64) == 0,
			    "%s: public key derives from the secret key", name);

			e = hs_paseto_verify(token, strlen(token), pk, imp,
			    strlen(imp), &payload, &plen, &footer, &flen);
			is_int(e, HS_TOKEN_OK, "%s verifies", name);
			is_str(payload, jstr(t, "payload"), "%s payload", name);
			is_int(plen, jstrlen(t, "payload"), "%s payload length",
			    name);
			is_str(footer, jstr(t, "footer"), "%s footer", name);
			is_int(flen, jstrlen(t, "footer"), "%s footer length",
			    name);
			free(payload);
			free(footer);

			e = hs_paseto_sign(sk, jstr(t, "payload"),
			    jstrlen(t, "payload"), jstr(t, "footer"),
			    jstrlen(t, "footer"), imp, strlen(imp), &tok);
			is_int(e, HS_TOKEN_OK, "%s signs", name);
			is_str(tok, token, "%s: signing gives the vector's token "
			    "byte for byte", name);
			free(tok);

			e = hs_paseto_footer(token, strlen(token), &footer,
			    &flen);
			ok(e == HS_TOKEN_OK && footer != NULL &&
			    strcmp(footer, jstr(t, "footer")) == 0,
			    "%s: footer readable before verification", name);
			free(footer);

			e = hs_paseto_verify(token, strlen(token), pk, "x", 1,
			    &payload, &plen, &footer, &flen);
			ok(e == HS_TOKEN_BAD_SIGNATURE && payload == NULL &&
			    footer == NULL, "%s: another implicit assertion "
			    "fails", name);
		} else if (strncmp(name, "4-F-", 4) == 0) {
			nf++;
			ok(json_is_true(json_object_get(t, "expect-fail")),
			    "%s is expected to fail", name);
			/* The v4.local keys of some F cases are no Ed25519 key. */
			if (hex(jstr(t, "public-key"), pk, 32) != 32)
				memcpy(pk, spk, 32);
			e = hs_paseto_verify(token, strlen(token), pk, imp,
			    strlen(imp), &payload, &plen, &footer, &flen);
			ok(e != HS_TOKEN_OK && payload == NULL &&
			    footer == NULL, "%s fails (%s)", name,
			    hs_token_strerror(e));
			free(payload);
			free(footer);
		} else if (strncmp(name, "4-E-", 4) == 0) {
			ne++;
			e = hs_paseto_verify(token, strlen(token), spk, imp,
			    strlen(imp), &payload, &plen, &footer, &flen);
			is_int(e, HS_TOKEN_WRONG_HEADER,
			    "%s (v4.local) is refused by its header", name);
			free(payload);
			free(footer);
		} else
			ok(0, "unknown vector %s", name);
	}
	is_int(ns, 3, "three 4-S vectors");
	ok(nf >= 5, "at least five 4-F vectors");
	ok(ne >= 9, "at least nine 4-E vectors");
	json_decref(j);
}

/* "PREFIX" + b64url(bytes), for key lengths the API cannot take. */
static void
paserk_of(const char *prefix, const unsigned char *b, size_t n, char *out,
    size_t size)
{
	char	 enc[256];

	hs_b64url_encode(b, n, enc);
	snprintf(out, size, "%s%s", prefix, enc);
}

static void
test_paserk_vectors(void)
{
	json_t		*j, *t;
	size_t		 i, n;
	unsigned char	 key[128], pk[32], sk[64];
	char		 s[512];
	char		 pub[HS_PASERK_PUBLIC_LEN + 1];
	char		 sec[HS_PASERK_SECRET_LEN + 1];
	char		 pid[HS_PASERK_PID_LEN + 1];
	const char	*name, *want;
	int		 fail;

	j = load_vectors("paserk-k4.public.json");
	json_array_foreach(json_object_get(j, "tests"), i, t) {
		name = jstr(t, "name");
		fail = json_is_true(json_object_get(t, "expect-fail"));
		n = hex(jstr(t, "key"), key, sizeof(key));
		want = jstr(t, "paserk");
		if (!fail) {
			ok(n == 32 && want != NULL, "%s: 32-byte key", name);
			hs_paserk_public_encode(key, pub);
			is_str(pub, want, "%s encodes", name);
			ok(hs_paserk_public_decode(want, pk) == 0 &&
			    memcmp(pk, key, 32) == 0, "%s decodes", name);
		} else {
			ok(n != 32, "%s: key of the wrong size", name);
			paserk_of("k4.public.", key, n, s, sizeof(s));
			ok(hs_paserk_public_decode(s, pk) == -1,
			    "%s: its encoding is refused", name);
		}
	}
	json_decref(j);
	memset(key, 0x42, 32);
	paserk_of("k3.public.", key, 32, s, sizeof(s));
	ok(hs_paserk_public_decode(s, pk) == -1, "k3.public refused");
	paserk_of("k4.secret.", key, 32, s, sizeof(s));
	ok(hs_paserk_public_decode(s, pk) == -1, "k4.secret as public refused");
	hs_paserk_public_encode(key, pub);
	snprintf(s, sizeof(s), "%s=", pub);
	ok(hs_paserk_public_decode(s, pk) == -1, "k4.public with = refused");
	snprintf(s, sizeof(s), "%s\n", pub);
	ok(hs_paserk_public_decode(s, pk) == -1,
	    "k4.public with a newline refused");

	j = load_vectors("paserk-k4.secret.json");
	json_array_foreach(json_object_get(j, "tests"), i, t) {
		name = jstr(t, "name");
		fail = json_is_true(json_object_get(t, "expect-fail"));
		n = hex(jstr(t, "key"), key, sizeof(key));
		want = jstr(t, "paserk");
		if (!fail) {
			ok(n == 64 && want != NULL, "%s: 64-byte key", name);
			hs_paserk_secret_encode(key, sec);
			is_str(sec, want, "%s encodes", name);
			ok(hs_paserk_secret_decode(want, sk) == 0 &&
			    memcmp(sk, key, 64) == 0, "%s decodes", name);
			ok(hex(jstr(t, "public-key"), pk, 32) == 32 &&
			    memcmp(pk, sk + 32, 32) == 0,
			    "%s: public half matches", name);
		} else {
			ok(n != 64, "%s: key of the wrong size", name);
			paserk_of("k4.secret.", key, n, s, sizeof(s));
			ok(hs_paserk_secret_decode(s, sk) == -1,
			    "%s: its encoding is refused", name);
		}
	}
	json_decref(j);
	/* A secret key whose stored public half is not its own. */
	crypto_sign_keypair(pk, sk);
	sk[63] ^= 1;
	hs_paserk_secret_encode(sk, sec);
	ok(hs_paserk_secret_decode(sec, sk) == -1,
	    "k4.secret with a foreign public half refused");
	ok(sodium_is_zero(sk, 64), "refused secret key is wiped");
	crypto_sign_keypair(pk, sk);
	paserk_of("k3.secret.", sk, 64, s, sizeof(s));
	ok(hs_paserk_secret_decode(s, sk) == -1, "k3.secret refused");

	j = load_vectors("paserk-k4.pid.json");
	json_array_foreach(json_object_get(j, "tests"), i, t) {
		name = jstr(t, "name");
		fail = json_is_true(json_object_get(t, "expect-fail"));
		n = hex(jstr(t, "key"), key, sizeof(key));
		want = jstr(t, "paserk");
		if (!fail) {
			ok(n == 32 && want != NULL, "%s: 32-byte key", name);
			is_int(hs_paserk_pid(key, pid), 0, "%s: pid", name);
			is_str(pid, want, "%s: pid matches", name);
			is_int(strlen(pid), HS_PASERK_PID_LEN, "%s: pid length",
			    name);
		} else {
			ok(n != 32, "%s: key of the wrong size", name);
			paserk_of("k4.public.", key, n, s, sizeof(s));
			ok(hs_paserk_public_decode(s, pk) == -1,
			    "%s: no public key to take an id of", name);
		}
	}
	json_decref(j);
}

static char	*xprintf(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

static char *
xprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	p = hs_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

static int
write_file(const char *path, const char *content)
{
	FILE	*f;
	char	 tmp[1100];

	/* Replace, as an operator's editor or hostscanctl would. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fputs(content, f);
	if (fclose(f) == EOF)
		return -1;
	return rename(tmp, path);
}

static int
append_file(const char *path, const char *content)
{
	FILE	*f;

	if ((f = fopen(path, "a")) == NULL)
		return -1;
	fputs(content, f);
	return fclose(f) == EOF ? -1 : 0;
}

static void
test_keyring(void)
{
	struct hs_keyring kr;
	char		 path[1024], body[8192], err[512];
	struct kp	 k;
	size_t		 i;
	int		 r;

	snprintf(path, sizeof(path), "%s/keyring", tmpdir);
	ok(hs_keyring_load(&kr, path, err, sizeof(err)) == -1 &&
	    kr.path == NULL, "missing keyring file fails to load");
	ok(strstr(err, path) != NULL, "error names the file: %s", err);

	snprintf(body, sizeof(body), "# hostscan keyring\n\n  %s  \n",
	    keya.pub);
	ok(write_file(path, body) == 0, "write keyring with key A");
	is_int(hs_keyring_load(&kr, path, err, sizeof(err)), 0,
	    "keyring loads");
	is_int(kr.n, 1, "one key");
	ok(hs_keyring_find(&kr, keya.pid) != NULL, "key A found");
	ok(hs_keyring_find(&kr, keyb.pid) == NULL, "key B not yet there");
	is_int(hs_keyring_refresh(&kr, 0, err, sizeof(err)), 0,
	    "refresh of an unchanged file does nothing");

	snprintf(body, sizeof(body), "%s\n# rotation\n%s # new\r\n",
	    keya.pub, keyb.pub);
	ok(write_file(path, body) == 0, "rewrite keyring with keys A and B");
	is_int(hs_keyring_refresh(&kr, 0, err, sizeof(err)), 1,
	    "refresh notices the new file");
	is_int(kr.n, 2, "two keys");
	ok(hs_keyring_find(&kr, keyb.pid) != NULL, "key B found after refresh");
	ok(memcmp(hs_keyring_find(&kr, keyb.pid)->pk, keyb.pk, 32) == 0,
	    "key B's public key is right");
	is_int(hs_keyring_refresh(&kr, 0, err, sizeof(err)), 0,
	    "second refresh does nothing");
	is_int(hs_keyring_refresh(&kr, 1, err, sizeof(err)), 1,
	    "forced refresh reloads");

	/* Same inode, different size. */
	snprintf(body, sizeof(body), "%s\n", keyc.pub);
	ok(append_file(path, body) == 0, "append key C in place");
	is_int(hs_keyring_refresh(&kr, 0, err, sizeof(err)), 1,
	    "refresh notices the appended line");
	is_int(kr.n, 3, "three keys");
	ok(hs_keyring_find(&kr, keyc.pid) != NULL, "key C found");

	snprintf(body, sizeof(body), "%s\n%s\n\nk4.public.nope\n",
	    keya.pub, keyb.pub);
	ok(write_file(path, body) == 0, "write a bad keyring");
	is_int(hs_keyring_refresh(&kr, 0, err, sizeof(err)), -1,
	    "refresh of a bad file fails");
	ok(strstr(err, ":4:") != NULL, "error names line 4: %s", err);
	is_int(kr.n, 3, "old keys kept");
	ok(hs_keyring_find(&kr, keyc.pid) != NULL, "key C still found");
	is_int(hs_keyring_refresh(&kr, 0, err, sizeof(err)), -1,
	    "the bad file keeps failing");

	snprintf(body, sizeof(body), "%s\n", keya.pub);
	body[20] = '+';
	ok(write_file(path, body) == 0, "write a keyring with a bad character");
	is_int(hs_keyring_refresh(&kr, 0, err, sizeof(err)), -1,
	    "bad base64 in a key fails");

	{
		char	 sec[HS_PASERK_SECRET_LEN + 1];

		hs_paserk_secret_encode(keya.sk, sec);
		snprintf(body, sizeof(body), "%s\n%s\n", keyb.pub, sec);
		ok(write_file(path, body) == 0, "write a k4.secret line");
		is_int(hs_keyring_refresh(&kr, 0, err, sizeof(err)), -1,
		    "a k4.secret line fails");
		ok(strstr(err, ":2:") != NULL &&
		    strstr(err, sec + 10) == NULL,
		    "error names line 2 and not the secret: %s", err);
		sodium_memzero(sec, sizeof(sec));
	}

	ok(write_file(path, "# nothing\n\n") == 0, "write an empty keyring");
	is_int(hs_keyring_refresh(&kr, 0, err, sizeof(err)), -1,
	    "a keyring without keys fails");

	snprintf(body, sizeof(body), "%s extra\n", keya.pub);
	ok(write_file(path, body) == 0, "write a line with junk");
	is_int(hs_keyring_refresh(&kr, 0, err, sizeof(err)), -1,
	    "junk after a key fails");

	body[0] = '\0';
	for (i = 0; i <= HS_MAX_KEYRING_KEYS; i++) {
		kp_from_seed(&k, (unsigned char)(0x80 + i));
		strcat(body, k.pub);
		strcat(body, "\n");
	}
	ok(write_file(path, body) == 0, "write %d keys",
	    HS_MAX_KEYRING_KEYS + 1);
	r = hs_keyring_refresh(&kr, 0, err, sizeof(err));
	is_int(r, -1, "more than %d keys fail", HS_MAX_KEYRING_KEYS);
	*strrchr(body, '\n') = '\0';
	*(strrchr(body, '\n') + 1) = '\0';
	ok(write_file(path, body) == 0, "write %d keys", HS_MAX_KEYRING_KEYS);
	is_int(hs_keyring_refresh(&kr, 0, err, sizeof(err)), 1,
	    "%d keys load", HS_MAX_KEYRING_KEYS);
	is_int(kr.n, HS_MAX_KEYRING_KEYS, "all of them");

	ok(unlink(path) == 0, "remove the keyring");
	is_int(hs_keyring_refresh(&kr, 0, err, sizeof(err)), -1,
	    "refresh of a removed file fails");
	is_int(kr.n, HS_MAX_KEYRING_KEYS, "old keys kept");
	hs_keyring_free(&kr);
	ok(kr.path == NULL && kr.n == 0, "keyring freed");
}

/* Signs payload with k and a footer naming k (or the footer given). */
static char *
sign(const struct kp *k, const char *payload, const char *footer)
{
	char	 f[128];
	char	*tok = NULL;

	if (footer == NULL) {
		snprintf(f, sizeof(f), "{\"kid\":\"%s\"}", k->pid);
		footer = f;
	}
	if (hs_paseto_sign(k->sk, payload, strlen(payload), footer,
	    strlen(footer), "", 0, &tok) != HS_TOKEN_OK)
		abort();
	return tok;
}

static enum hs_token_err
check(const char *tok, int64_t now, int64_t leeway, const char *iss,
    const char *aud)
{
	struct hs_token_policy pol;
	struct hs_claims c;
	enum hs_token_err e;

	memset(&pol, 0, sizeof(pol));
	pol.now = now;
	pol.leeway = leeway;
	pol.issuer = iss;
	pol.audience = aud;
	memset(&c, 0xa5, sizeof(c));
	e = hs_token_verify(&ring, tok, &pol, &c);
	if (e != HS_TOKEN_OK && (c.sub != NULL || c.jti != NULL ||
	    c.name != NULL || c.nroles != 0)) {
		printf("# claims not cleared after %s\n", hs_token_strerror(e));
		return HS_TOKEN_INTERNAL;
	}
	hs_claims_free(&c);
	return e;
}

/* A payload with every required claim; extra is spliced in verbatim. */
static char *
payload(const char *extra)
{
	static char	 buf[4096];

	snprintf(buf, sizeof(buf), "{\"sub\":\"alice\",\"roles\":[\"Admin\"],"
	    "\"exp\":\"2026-11-30T22:09:06Z\",\"jti\":\"j-1\"%s%s}",
	    extra[0] ? "," : "", extra);
	return buf;
}

#define CHECK_PAYLOAD(k, body, now, leeway, want, ...) do {		\
	char *t_ = sign((k), (body), NULL);				\
	is_int(check(t_, (now), (leeway), NULL, NULL), (want),		\
	    __VA_ARGS__);						\
	free(t_);							\
} while (0)

static void
test_claims(void)
{
	struct hs_token_policy pol;
	struct hs_claims c;
	const char	*roles[] = { "Admin", "User" };
	char		 jti[HS_UUID_LEN + 1], buf[HS_MAX_TOKEN_LEN + 64];
	char		 f[256], enc[512];
	char		*tok = NULL, *t2, *big;
	enum hs_token_err e;
	size_t		 n;

	memset(&pol, 0, sizeof(pol));
	pol.now = NOW;
	pol.leeway = 60;

	e = hs_token_issue(keya.sk, "alice", "Alice A.", roles, 2, NOW, 3600,
	    NULL, NULL, NULL, &tok, jti);
	is_int(e, HS_TOKEN_OK, "issue a token with key A");
	ok(hs_is_uuid(jti), "jti is a uuid: %s", jti);
	is_int(strncmp(tok, "v4.public.", 10), 0, "it is a v4.public token");
	e = hs_token_verify(&ring, tok, &pol, &c);
	is_int(e, HS_TOKEN_OK, "issued token verifies");
	is_str(c.sub, "alice", "sub");
	is_str(c.name, "Alice A.", "name");
	is_str(c.jti, jti, "jti");
	ok(c.sid == NULL, "no sid claim when none was given");
	is_int(c.nroles, 2, "two roles");
	ok(hs_claims_has_role(&c, "Admin") && hs_claims_has_role(&c, "User") &&
	    !hs_claims_has_role(&c, "App") && !hs_claims_has_role(&c, "admin"),
	    "roles");
	is_int(c.exp, NOW + 3600, "exp");
	ok(c.has_iat && c.iat == NOW && c.has_nbf && c.nbf == NOW,
	    "iat and nbf are the issue time");
	hs_claims_free(&c);
	ok(c.sub == NULL && c.nroles == 0, "claims freed");

	{
		char	*pl = NULL, *ft = NULL;
		size_t	 plen, flen;
		json_t	*jp;

		ok(hs_paseto_verify(tok, strlen(tok), keya.pk, "", 0, &pl,
		    &plen, &ft, &flen) == HS_TOKEN_OK, "raw verify of issued");
		snprintf(f, sizeof(f), "{\"kid\":\"%s\"}", keya.pid);
		is_str(ft, f, "footer is the kid of key A");
		jp = json_loads(pl, 0, NULL);
		is_str(json_string_value(json_object_get(jp, "exp")),
		    "2026-11-30T22:09:06Z", "exp is RFC 3339 UTC");
		is_str(json_string_value(json_object_get(jp, "iat")),
		    "2026-11-30T21:09:06Z", "iat is RFC 3339 UTC");
		ok(json_object_get(jp, "iss") == NULL &&
		    json_object_get(jp, "aud") == NULL, "no iss, no aud");
		json_decref(jp);
		free(pl);
		free(ft);
	}

	is_int(check(tok, NOW + 3600, 0, NULL, NULL), HS_TOKEN_OK,
	    "valid at exp itself");
	is_int(check(tok, NOW + 3601, 0, NULL, NULL), HS_TOKEN_EXPIRED,
	    "expired one second after exp");
	is_int(check(tok, NOW + 3660, 60, NULL, NULL), HS_TOKEN_OK,
	    "expired but within leeway");
	is_int(check(tok, NOW + 3661, 60, NULL, NULL), HS_TOKEN_EXPIRED,
	    "expired beyond leeway");
	is_int(check(tok, NOW + 3700, 100000, NULL, NULL), HS_TOKEN_EXPIRED,
	    "leeway is clamped to %ld s", HS_MAX_TOKEN_LEEWAY);
	is_int(check(tok, NOW - 60, 60, NULL, NULL), HS_TOKEN_OK,
	    "nbf within leeway");
	is_int(check(tok, NOW - 61, 60, NULL, NULL), HS_TOKEN_NOT_YET_VALID,
	    "nbf beyond leeway");
	is_int(check(tok, NOW - 1, -5, NULL, NULL), HS_TOKEN_NOT_YET_VALID,
	    "negative leeway counts as none");

	/* Tampering: one base64 character of the signed body. */
	t2 = hs_strdup(tok);
	n = 10 + 20;
	t2[n] = t2[n] == 'A' ? 'B' : 'A';
	is_int(check(t2, NOW, 60, NULL, NULL), HS_TOKEN_BAD_SIGNATURE,
	    "tampered payload byte");
	free(t2);
	t2 = hs_strdup(tok);
	n = strchr(t2 + 10, '.') - t2 - 5;
	t2[n] = t2[n] == 'A' ? 'B' : 'A';
	is_int(check(t2, NOW, 60, NULL, NULL), HS_TOKEN_BAD_SIGNATURE,
	    "tampered signature byte");
	free(t2);

	/* A footer that still names key A but is not the signed one. */
	snprintf(f, sizeof(f), "{\"kid\": \"%s\"}", keya.pid);
	hs_b64url_encode((const unsigned char *)f, strlen(f), enc);
	snprintf(buf, sizeof(buf), "%.*s.%s",
	    (int)(strchr(tok + 10, '.') - tok), tok, enc);
	is_int(check(buf, NOW, 60, NULL, NULL), HS_TOKEN_BAD_SIGNATURE,
	    "tampered footer");
	snprintf(f, sizeof(f), "{\"kid\":\"%s\"}", keyb.pid);
	hs_b64url_encode((const unsigned char *)f, strlen(f), enc);
	snprintf(buf, sizeof(buf), "%.*s.%s",
	    (int)(strchr(tok + 10, '.') - tok), tok, enc);
	is_int(check(buf, NOW, 60, NULL, NULL), HS_TOKEN_BAD_SIGNATURE,
	    "footer switched to another known key");

	snprintf(buf, sizeof(buf), "%.*s", (int)(strlen(tok) - 7), tok);
	ok(check(buf, NOW, 60, NULL, NULL) != HS_TOKEN_OK, "truncated footer");
	snprintf(buf, sizeof(buf), "%.*s", (int)(strchr(tok + 10, '.') - tok),
	    tok);
	is_int(check(buf, NOW, 60, NULL, NULL), HS_TOKEN_BAD_FOOTER,
	    "footer cut off");
	snprintf(buf, sizeof(buf), "%.*s", (int)(strchr(tok + 10, '.') - tok)
	    - 10, tok);
	is_int(check(buf, NOW, 60, NULL, NULL), HS_TOKEN_BAD_FOOTER,
	    "truncated token without footer");
	snprintf(buf, sizeof(buf), "%s.eyJ9", tok);
	is_int(check(buf, NOW, 60, NULL, NULL), HS_TOKEN_MALFORMED,
	    "extra dot segment");
	snprintf(buf, sizeof(buf), "%s.", tok);
	is_int(check(buf, NOW, 60, NULL, NULL), HS_TOKEN_MALFORMED,
	    "trailing dot");
	snprintf(buf, sizeof(buf), "v4.local.%s", tok + 10);
	is_int(check(buf, NOW, 60, NULL, NULL), HS_TOKEN_WRONG_HEADER,
	    "v4.local header");
	snprintf(buf, sizeof(buf), "v3.public.%s", tok + 10);
	is_int(check(buf, NOW, 60, NULL, NULL), HS_TOKEN_WRONG_HEADER,
	    "v3.public header");
	snprintf(buf, sizeof(buf), "V4.public.%s", tok + 10);
	is_int(check(buf, NOW, 60, NULL, NULL), HS_TOKEN_WRONG_HEADER,
	    "header is case-sensitive");
	is_int(check("", NOW, 60, NULL, NULL), HS_TOKEN_WRONG_HEADER,
	    "empty token");
	is_int(check("Bearer", NOW, 60, NULL, NULL), HS_TOKEN_WRONG_HEADER,
	    "junk token");
	memset(buf, 'A', HS_MAX_TOKEN_LEN + 1);
	memcpy(buf, "v4.public.", 10);
	buf[HS_MAX_TOKEN_LEN + 1] = '\0';
	is_int(check(buf, NOW, 60, NULL, NULL), HS_TOKEN_TOO_LONG,
	    "token longer than %d", HS_MAX_TOKEN_LEN);
	buf[HS_MAX_TOKEN_LEN] = '\0';
	ok(check(buf, NOW, 60, NULL, NULL) != HS_TOKEN_TOO_LONG,
	    "token of exactly %d is not too long", HS_MAX_TOKEN_LEN);
	{
		unsigned char	 raw[32] = { 0 };
		char		*pl, *ft;
		size_t		 pn, fn;

		hs_b64url_encode(raw, sizeof(raw), enc);
		snprintf(buf, sizeof(buf), "v4.public.%s", enc);
		is_int(hs_paseto_verify(buf, strlen(buf), keya.pk, "", 0,
		    &pl, &pn, &ft, &fn), HS_TOKEN_MALFORMED,
		    "payload shorter than a signature");
		snprintf(buf, sizeof(buf), "%.*s=",
		    (int)(strchr(tok + 10, '.') - tok), tok);
		is_int(hs_paseto_verify(buf, strlen(buf), keya.pk, "", 0,
		    &pl, &pn, &ft, &fn), HS_TOKEN_MALFORMED,
		    "padded base64 body");
		snprintf(buf, sizeof(buf), "%s", tok);
		buf[12] = '+';
		is_int(hs_paseto_verify(buf, strlen(buf), keya.pk, "", 0,
		    &pl, &pn, &ft, &fn), HS_TOKEN_MALFORMED,
		    "base64 (not base64url) body");
		snprintf(buf, sizeof(buf), "%.*s.",
		    (int)(strchr(tok + 10, '.') - tok), tok);
		is_int(hs_paseto_verify(buf, strlen(buf), keya.pk, "", 0,
		    &pl, &pn, &ft, &fn), HS_TOKEN_MALFORMED,
		    "trailing dot with an empty footer");
		is_int(hs_paseto_footer(buf, strlen(buf), &ft, &fn),
		    HS_TOKEN_MALFORMED, "footer of a trailing dot");
		is_int(hs_paseto_verify(tok, strlen(tok), keyb.pk, "", 0,
		    &pl, &pn, &ft, &fn), HS_TOKEN_BAD_SIGNATURE,
		    "verify with another key");
	}
	free(tok);
	tok = NULL;

	e = hs_token_issue(keyb.sk, "app1", NULL, roles, 1, NOW, 60,
	    "hostscan", "hostscan-api", NULL, &tok, jti);
	is_int(e, HS_TOKEN_OK, "issue with key B, iss and aud");
	e = hs_token_verify(&ring, tok, &pol, &c);
	is_int(e, HS_TOKEN_OK, "key B token verifies without iss/aud policy");
	ok(c.name == NULL, "no name claim");
	hs_claims_free(&c);
	is_int(check(tok, NOW, 0, "hostscan", "hostscan-api"), HS_TOKEN_OK,
	    "right issuer and audience");
	is_int(check(tok, NOW, 0, "other", NULL), HS_TOKEN_WRONG_ISSUER,
	    "wrong issuer");
	is_int(check(tok, NOW, 0, NULL, "other"), HS_TOKEN_WRONG_AUDIENCE,
	    "wrong audience");
	free(tok);
	tok = NULL;

	/* Key C is not in the ring. */
	e = hs_token_issue(keyc.sk, "eve", NULL, roles, 1, NOW, 60, NULL,
	    NULL, NULL, &tok, jti);
	is_int(check(tok, NOW, 0, NULL, NULL), HS_TOKEN_UNKNOWN_KEY,
	    "unknown kid");
	free(tok);
	tok = NULL;
	snprintf(f, sizeof(f), "{\"kid\":\"%s\"}", keya.pid);
	t2 = sign(&keyc, payload(""), f);
	is_int(check(t2, NOW, 0, NULL, NULL), HS_TOKEN_BAD_SIGNATURE,
	    "kid of key A, signed by key C");
	free(t2);

	ok(hs_token_issue(keya.sk, "x", NULL, roles, 0, NOW, 60, NULL, NULL,
	    NULL, &tok, jti) != HS_TOKEN_OK && tok == NULL,
	    "issue without roles fails");
	ok(hs_token_issue(keya.sk, "", NULL, roles, 1, NOW, 60, NULL, NULL,
	    NULL, &tok, jti) != HS_TOKEN_OK, "issue with an empty sub fails");
	ok(hs_token_issue(keya.sk, "x", NULL, roles, 1, NOW, 0, NULL, NULL,
	    NULL, &tok, jti) != HS_TOKEN_OK, "issue with ttl 0 fails");
	ok(hs_token_issue(keya.sk, "x", NULL, roles, 1, NOW, INT64_MAX, NULL,
	    NULL, NULL, &tok, jti) != HS_TOKEN_OK, "issue past year 9999 fails");
	ok(hs_token_issue(keya.sk, "x", NULL, roles, 1, NOW, 60, NULL, NULL,
	    "", &tok, jti) != HS_TOKEN_OK, "issue with an empty sid fails");

	/* A session id claim goes out and comes back. */
	e = hs_token_issue(keya.sk, "bob", "bob", roles, 1, NOW, 60, NULL,
	    NULL, "0d4f6f0e-3c2b-4f6e-9a51-7f0a1c2b3d4e", &tok, jti);
	is_int(e, HS_TOKEN_OK, "issue with a sid");
	is_int(hs_token_verify(&ring, tok, &pol, &c), HS_TOKEN_OK,
	    "a token with a sid verifies");
	is_str(c.sid, "0d4f6f0e-3c2b-4f6e-9a51-7f0a1c2b3d4e", "sid");
	hs_claims_free(&c);
	ok(c.sid == NULL, "sid freed");
	free(tok);
	tok = NULL;

	/* Hand-built payloads. */
	CHECK_PAYLOAD(&keya, payload(""), NOW, 0, HS_TOKEN_OK,
	    "minimal payload");
	CHECK_PAYLOAD(&keya, payload(""), NOW + 3601, 0, HS_TOKEN_EXPIRED,
	    "minimal payload expired");
	CHECK_PAYLOAD(&keya, payload("\"name\":\"\""), NOW, 0, HS_TOKEN_OK,
	    "empty name is allowed");
	CHECK_PAYLOAD(&keya, payload("\"nbf\":\"2026-11-30T21:11:06Z\""), NOW,
	    60, HS_TOKEN_NOT_YET_VALID, "nbf in the future");
	CHECK_PAYLOAD(&keya, payload("\"nbf\":\"2026-11-30T21:10:06Z\""), NOW,
	    60, HS_TOKEN_OK, "nbf in the future within leeway");
	CHECK_PAYLOAD(&keya, payload("\"nbf\":\"2026-11-30T23:10:06+02:00\""),
	    NOW, 60, HS_TOKEN_OK, "nbf with an offset");
	CHECK_PAYLOAD(&keya, payload("\"iat\":\"2026-11-30T21:11:06Z\""), NOW,
	    60, HS_TOKEN_NOT_YET_VALID, "iat in the future");
	CHECK_PAYLOAD(&keya, payload("\"iat\":\"2026-11-30T21:10:06Z\""), NOW,
	    60, HS_TOKEN_OK, "iat in the future within leeway");
	CHECK_PAYLOAD(&keya, payload("\"iat\":\"yesterday\""), NOW, 60,
	    HS_TOKEN_BAD_CLAIMS, "iat not RFC 3339");
	CHECK_PAYLOAD(&keya, payload("\"nbf\":1796072946"), NOW, 60,
	    HS_TOKEN_BAD_CLAIMS, "nbf a number");
	CHECK_PAYLOAD(&keya, payload("\"iss\":\"x\",\"aud\":[\"y\"]"), NOW, 0,
	    HS_TOKEN_OK, "iss/aud not checked without a policy");
	{
		char	*t3 = sign(&keya, payload("\"iss\":\"x\",\"aud\":[\"z\","
		    "\"y\"]"), NULL);

		is_int(check(t3, NOW, 0, "x", "y"), HS_TOKEN_OK,
		    "aud as an array holding ours");
		is_int(check(t3, NOW, 0, "x", "w"), HS_TOKEN_WRONG_AUDIENCE,
		    "aud as an array without ours");
		free(t3);
		t3 = sign(&keya, payload(""), NULL);
		is_int(check(t3, NOW, 0, "x", NULL), HS_TOKEN_WRONG_ISSUER,
		    "missing iss with an issuer policy");
		is_int(check(t3, NOW, 0, NULL, "y"), HS_TOKEN_WRONG_AUDIENCE,
		    "missing aud with an audience policy");
		free(t3);
	}

	CHECK_PAYLOAD(&keya, "{\"roles\":[\"Admin\"],\"exp\":"
	    "\"2026-11-30T22:09:06Z\",\"jti\":\"j\"}", NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "missing sub");
	CHECK_PAYLOAD(&keya, "{\"sub\":\"\",\"roles\":[\"Admin\"],\"exp\":"
	    "\"2026-11-30T22:09:06Z\",\"jti\":\"j\"}", NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "empty sub");
	CHECK_PAYLOAD(&keya, "{\"sub\":7,\"roles\":[\"Admin\"],\"exp\":"
	    "\"2026-11-30T22:09:06Z\",\"jti\":\"j\"}", NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "sub not a string");
	CHECK_PAYLOAD(&keya, "{\"sub\":\"a\",\"exp\":"
	    "\"2026-11-30T22:09:06Z\",\"jti\":\"j\"}", NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "missing roles");
	CHECK_PAYLOAD(&keya, "{\"sub\":\"a\",\"roles\":[],\"exp\":"
	    "\"2026-11-30T22:09:06Z\",\"jti\":\"j\"}", NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "empty roles");
	CHECK_PAYLOAD(&keya, "{\"sub\":\"a\",\"roles\":\"Admin\",\"exp\":"
	    "\"2026-11-30T22:09:06Z\",\"jti\":\"j\"}", NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "roles not an array");
	CHECK_PAYLOAD(&keya, "{\"sub\":\"a\",\"roles\":[\"Admin\",1],\"exp\":"
	    "\"2026-11-30T22:09:06Z\",\"jti\":\"j\"}", NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "a role not a string");
	CHECK_PAYLOAD(&keya, "{\"sub\":\"a\",\"roles\":[\"\"],\"exp\":"
	    "\"2026-11-30T22:09:06Z\",\"jti\":\"j\"}", NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "an empty role");
	CHECK_PAYLOAD(&keya, "{\"sub\":\"a\",\"roles\":[\"Admin\"],"
	    "\"jti\":\"j\"}", NOW, 0, HS_TOKEN_BAD_CLAIMS, "missing exp");
	CHECK_PAYLOAD(&keya, "{\"sub\":\"a\",\"roles\":[\"Admin\"],\"exp\":"
	    "1796076546,\"jti\":\"j\"}", NOW, 0, HS_TOKEN_BAD_CLAIMS,
	    "exp a number");
	CHECK_PAYLOAD(&keya, "{\"sub\":\"a\",\"roles\":[\"Admin\"],\"exp\":"
	    "\"2026-11-30T22:09:06\",\"jti\":\"j\"}", NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "exp without offset");
	CHECK_PAYLOAD(&keya, "{\"sub\":\"a\",\"roles\":[\"Admin\"],\"exp\":"
	    "\"2026-11-30T22:09:06Z\"}", NOW, 0, HS_TOKEN_BAD_CLAIMS,
	    "missing jti");
	CHECK_PAYLOAD(&keya, "{\"sub\":\"a\",\"roles\":[\"Admin\"],\"exp\":"
	    "\"2026-11-30T22:09:06Z\",\"jti\":\"\"}", NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "empty jti");
	CHECK_PAYLOAD(&keya, payload("\"name\":null"), NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "name not a string");
	CHECK_PAYLOAD(&keya, payload("\"sid\":\"\""), NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "empty sid");
	CHECK_PAYLOAD(&keya, payload("\"sid\":7"), NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "sid not a string");
	CHECK_PAYLOAD(&keya, payload("\"sid\":null"), NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "sid null");
	CHECK_PAYLOAD(&keya, payload("\"sub\":\"mallory\""), NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "duplicate key in payload");
	CHECK_PAYLOAD(&keya, payload("\"sub\":\"alice\""), NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "duplicate key with the same value");
	CHECK_PAYLOAD(&keya, "[\"sub\",\"alice\"]", NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "payload an array");
	CHECK_PAYLOAD(&keya, "\"alice\"", NOW, 0, HS_TOKEN_BAD_CLAIMS,
	    "payload a string");
	CHECK_PAYLOAD(&keya, "", NOW, 0, HS_TOKEN_BAD_CLAIMS,
	    "payload empty");
	CHECK_PAYLOAD(&keya, "{\"sub\":\"a\"", NOW, 0, HS_TOKEN_BAD_CLAIMS,
	    "payload not JSON");
	CHECK_PAYLOAD(&keya, payload("\"x\":\"a\\u0000b\""), NOW, 0,
	    HS_TOKEN_BAD_CLAIMS, "payload with \\u0000");
	{
		char	 roles33[1024] = "\"roles\":[";
		char	*pl;
		int	 i;

		for (i = 0; i < HS_MAX_ROLES + 1; i++)
			strcat(roles33, i ? ",\"r\"" : "\"r\"");
		strcat(roles33, "]");
		pl = xprintf("{\"sub\":\"a\",%s,\"exp\":"
		    "\"2026-11-30T22:09:06Z\",\"jti\":\"j\"}", roles33);
		CHECK_PAYLOAD(&keya, pl, NOW, 0, HS_TOKEN_BAD_CLAIMS,
		    "more than %d roles", HS_MAX_ROLES);
		free(pl);
		big = hs_xmalloc(HS_MAX_CLAIM_LEN + 2);
		memset(big, 'a', HS_MAX_CLAIM_LEN + 1);
		big[HS_MAX_CLAIM_LEN + 1] = '\0';
		pl = xprintf("{\"sub\":\"%s\",\"roles\":[\"Admin\"],"
		    "\"exp\":\"2026-11-30T22:09:06Z\",\"jti\":\"j\"}", big);
		CHECK_PAYLOAD(&keya, pl, NOW, 0, HS_TOKEN_BAD_CLAIMS,
		    "sub longer than %d", HS_MAX_CLAIM_LEN);
		free(pl);
		big[HS_MAX_CLAIM_LEN] = '\0';
		pl = xprintf("{\"sub\":\"%s\",\"roles\":[\"Admin\"],"
		    "\"exp\":\"2026-11-30T22:09:06Z\",\"jti\":\"j\"}", big);
		CHECK_PAYLOAD(&keya, pl, NOW, 0, HS_TOKEN_OK,
		    "sub of exactly %d", HS_MAX_CLAIM_LEN);
		free(pl);
		free(big);

		big = hs_xmalloc(HS_MAX_TOKEN_LEN + 1);
		memset(big, 'x', HS_MAX_TOKEN_LEN);
		big[HS_MAX_TOKEN_LEN] = '\0';
		pl = xprintf("{\"sub\":\"a\",\"pad\":\"%s\",\"roles\":"
		    "[\"Admin\"],\"exp\":\"2026-11-30T22:09:06Z\",\"jti\":"
		    "\"j\"}", big);
		CHECK_PAYLOAD(&keya, pl, NOW, 0, HS_TOKEN_TOO_LONG,
		    "validly signed token longer than %d", HS_MAX_TOKEN_LEN);
		free(pl);
		free(big);
	}

	/* Footers. */
	t2 = sign(&keya, payload(""), "");
	is_int(check(t2, NOW, 0, NULL, NULL), HS_TOKEN_BAD_FOOTER,
	    "no footer");
	free(t2);
	t2 = sign(&keya, payload(""), "arbitrary-string-that-isn't-json");
	is_int(check(t2, NOW, 0, NULL, NULL), HS_TOKEN_BAD_FOOTER,
	    "footer not JSON");
	free(t2);
	snprintf(f, sizeof(f), "[\"%s\"]", keya.pid);
	t2 = sign(&keya, payload(""), f);
	is_int(check(t2, NOW, 0, NULL, NULL), HS_TOKEN_BAD_FOOTER,
	    "footer not an object");
	free(t2);
	snprintf(f, sizeof(f), "{\"kid\":\"%s\"}", keya.pub);
	t2 = sign(&keya, payload(""), f);
	is_int(check(t2, NOW, 0, NULL, NULL), HS_TOKEN_BAD_FOOTER,
	    "kid a k4.public instead of a k4.pid");
	free(t2);
	t2 = sign(&keya, payload(""), "{\"kid\":42}");
	is_int(check(t2, NOW, 0, NULL, NULL), HS_TOKEN_BAD_FOOTER,
	    "kid not a string");
	free(t2);
	snprintf(f, sizeof(f), "{\"kid\":\"%s\",\"kid\":\"%s\"}", keya.pid,
	    keya.pid);
	t2 = sign(&keya, payload(""), f);
	is_int(check(t2, NOW, 0, NULL, NULL), HS_TOKEN_BAD_FOOTER,
	    "duplicate kid");
	free(t2);
	snprintf(f, sizeof(f), "{\"kid\":\"%s\",\"wpk\":\"k4.secret.AAAA\"}",
	    keya.pid);
	t2 = sign(&keya, payload(""), f);
	is_int(check(t2, NOW, 0, NULL, NULL), HS_TOKEN_BAD_FOOTER,
	    "footer mentioning a k4.secret");
	free(t2);
	snprintf(f, sizeof(f), "{\"kid\":\"%s\",\"x\":\"k4.local.AAAA\"}",
	    keya.pid);
	t2 = sign(&keya, payload(""), f);
	is_int(check(t2, NOW, 0, NULL, NULL), HS_TOKEN_BAD_FOOTER,
	    "footer mentioning a k4.local");
	free(t2);
	snprintf(f, sizeof(f), "{\"kid\":\"%sA\"}", keya.pid);
	t2 = sign(&keya, payload(""), f);
	is_int(check(t2, NOW, 0, NULL, NULL), HS_TOKEN_UNKNOWN_KEY,
	    "kid one character too long");
	free(t2);
	snprintf(f, sizeof(f), "{\"kid\":\"%s\",\"note\":\"x\"}", keya.pid);
	t2 = sign(&keya, payload(""), f);
	is_int(check(t2, NOW, 0, NULL, NULL), HS_TOKEN_OK,
	    "other footer members are ignored");
	free(t2);

	for (e = HS_TOKEN_OK; e <= HS_TOKEN_INTERNAL; e++)
		ok(hs_token_strerror(e) != NULL && *hs_token_strerror(e),
		    "strerror %d: %s", (int)e, hs_token_strerror(e));
}

int
main(void)
{
	char	 path[1024], body[512], err[256];

	if (sodium_init() == -1) {
		ok(0, "sodium_init");
		return done_testing();
	}
	if ((vecdir = getenv("HOSTSCAN_VECTORS")) == NULL || *vecdir == '\0')
		vecdir = "t/vectors";
	if (mkdtemp(tmpdir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return done_testing();
	}
	kp_from_seed(&keya, 0x11);
	kp_from_seed(&keyb, 0x22);
	kp_from_seed(&keyc, 0x33);

	test_b64();
	test_paseto_vectors();
	test_paserk_vectors();
	test_keyring();

	snprintf(path, sizeof(path), "%s/ring2", tmpdir);
	snprintf(body, sizeof(body), "%s\n%s\n", keya.pub, keyb.pub);
	ok(write_file(path, body) == 0 &&
	    hs_keyring_load(&ring, path, err, sizeof(err)) == 0 &&
	    ring.n == 2, "keyring of keys A and B");
	test_claims();
	hs_keyring_free(&ring);
	unlink(path);
	rmdir(tmpdir);
	return done_testing();
}
