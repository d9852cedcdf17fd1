/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer driver for what the responder does with a FastCGI request's
 * parameters and body: serve() (req_init, routing, authentication, the
 * body reader and every handler up to its first statement) through the
 * responder's own struct io, without a database.
 *
 * Input: one flag byte, then the params block in FastCGI name-value pair
 * encoding (1- or 4-byte lengths, FastCGI 1.0 section 3.4) ended by a
 * pair with an empty name and value (two zero bytes), then the body.  A
 * block without that end makes the whole input params and the body empty.
 * Params are looked up as libfcgi's FCGX_GetParam does ("NAME=VALUE" C
 * strings, first match wins; param_next sees each of a name, as nginx
 * before 1.23 passes a header per line).  REMOTE_ADDR is not the caller's
 * to choose (nginx sets it from the socket): flag 0x20 makes it a trusted
 * proxy, which lets X-Forwarded-For and Forwarded count, else it is a
 * plain client address.
 *
 * Params may name tokens the fuzzer cannot forge: "@A@", "@P@", "@U@" and
 * "@M@" in a value become an Admin, App, User-only and pre-MFA token
 * signed by a key of the worker's keyring.
 *
 * src/api/dbconn.c is replaced by the db_* functions below: the
 * revocation check finds no row (or, with flag 0x02, the token), every
 * other statement fails as the database being down (503; with flag 0x01
 * as a failed statement, 500).  They also check what each statement would
 * have been sent: as many parameters as db.c's table gives it types, each
 * valid UTF-8 text and of its type, so no caller input can make a
 * statement fail.
 *
 * Flags: 0x01 DB_ERROR, 0x02 token revoked, 0x04 serve the request twice
 * (the second finds the token in the worker's cache), 0x08 writes fail
 * (the client went away), 0x10 the body read fails, 0x20 REMOTE_ADDR is
 * a trusted proxy.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"

#define F_DB_ERROR	0x01
#define F_REVOKED	0x02
#define F_TWICE		0x04
#define F_WRITE_FAILS	0x08
#define F_READ_FAILS	0x10
#define F_PROXY		0x20

#define MAX_PARAMS	256
#define MAX_BODY	(256L * 1024)	/* max_body_bytes of the worker */
#define PROXY_ADDR	"127.0.0.1"
#define CLIENT_ADDR	"192.0.2.7"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct {
	const char	*mark;
	const char	*role;
	const char	*aud;
} token_kinds[] = {
	{ "@A@", "Admin", NULL },
	{ "@P@", "App", NULL },
	{ "@U@", "User", NULL },
	{ "@M@", SIGNIN_PRE_MFA_ROLE, SIGNIN_PRE_MFA_AUD },
};
#define N_TOKENS (sizeof(token_kinds) / sizeof(token_kinds[0]))

static struct {
	int			 ready;
	unsigned long		 inputs;
	struct hs_config	 cfg;
	struct hs_keyring	 kr;
	char			*tokens[N_TOKENS];
	char			 dir[256], sk_path[288], totp_path[288];
} fx;

/* One request: the decoded params, the body and what was answered. */
static struct {
	char		*env[MAX_PARAMS + 2];
	size_t		 nenv;
	const uint8_t	*body;
	size_t		 body_len, body_off;
	char		*out;
	size_t		 out_len, out_cap;
	int		 flags;
} rq;

static void
cleanup(void)
{
	unlink(fx.sk_path);
	unlink(fx.totp_path);
	rmdir(fx.dir);
}

/*
 * A worker as hostscan.fcgi sets one up: a keyring of keys A and B, the
 * signing key A and TOTP keys for sign-in (in a private directory), a
 * trusted proxy, and every log line formatted (libFuzzer's
 * -close_fd_mask=2 silences them).
 */
static void
setup(void)
{
	unsigned char	 seed[32], pk[32], sk[64], other[64];
	char		 paserk[HS_PASERK_SECRET_LEN + 2], err[256];
	const char	*tmp = getenv("TMPDIR");
	const char	*roles[1];
	FILE		*f;
	size_t		 i;

	if (sodium_init() < 0)
		abort();
	for (i = 0; i < 2; i++) {
		memset(seed, 'A' + (int)i, sizeof(seed));
		if (crypto_sign_seed_keypair(pk, i == 0 ? sk : other, seed) != 0)
			abort();
		memcpy(fx.kr.keys[i].pk, pk, 32);
		if (hs_paserk_pid(pk, fx.kr.keys[i].pid) != 0)
			abort();
	}
	fx.kr.n = 2;
	hs_config_defaults(&fx.cfg);
	fx.cfg.max_body_bytes = MAX_BODY;
	fx.cfg.trusted_proxies = hs_strdup(PROXY_ADDR ", ::1, 10.0.0.0/8");
	if (hs_config_check(&fx.cfg, err, sizeof(err)) != 0)
		abort();
	if (snprintf(fx.dir, sizeof(fx.dir), "%s/fuzz-fcgi.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp") >= (int)sizeof(fx.dir) ||
	    mkdtemp(fx.dir) == NULL)
		abort();
	snprintf(fx.sk_path, sizeof(fx.sk_path), "%s/signing.key", fx.dir);
	snprintf(fx.totp_path, sizeof(fx.totp_path), "%s/totp.key", fx.dir);
	atexit(cleanup);
	hs_paserk_secret_encode(sk, paserk);
	if ((f = fopen(fx.sk_path, "w")) == NULL ||
	    fprintf(f, "%s\n", paserk) < 0 || fclose(f) != 0)
		abort();
	if (hs_master_generate(fx.totp_path, err, sizeof(err)) != 0)
		abort();
	fx.cfg.signing_key = hs_strdup(fx.sk_path);
	fx.cfg.totp_key = hs_strdup(fx.totp_path);
	for (i = 0; i < N_TOKENS; i++) {
		roles[0] = token_kinds[i].role;
		if (hs_token_issue(sk, "fuzz", "Fuzz F.", roles, 1,
		    (int64_t)time(NULL), 10L * 366 * 86400, NULL,
		    token_kinds[i].aud, NULL, &fx.tokens[i], NULL) !=
		    HS_TOKEN_OK)
			abort();
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(other, sizeof(other));
	hs_log_init("fuzz-fcgi", HS_LOG_DEBUG);
	fx.ready = 1;
}

/*
 * The token kind of a mark at v (N_TOKENS when none).  Plain compares:
 * libFuzzer traces every memcmp, which made this the driver's hot spot.
 */
static size_t
mark_at(const char *v, size_t left)
{
	size_t	 k;

	if (left < 3 || v[0] != '@' || v[2] != '@')
		return N_TOKENS;
	for (k = 0; k < N_TOKENS; k++)
		if (v[1] == token_kinds[k].mark[1])
			break;
	return k;
}

/* value with every token mark replaced by its token; malloc'd. */
static char *
expand(const char *v, size_t len)
{
	char	*out, *o;
	size_t	 i, k, need = len + 1;

	for (i = 0; i < len; i++)
		if ((k = mark_at(v + i, len - i)) < N_TOKENS)
			need += strlen(fx.tokens[k]);
	o = out = hs_xmalloc(need);
	for (i = 0; i < len; ) {
		if ((k = mark_at(v + i, len - i)) < N_TOKENS) {
			o = stpcpy(o, fx.tokens[k]);
			i += 3;
		} else
			*o++ = v[i++];
	}
	*o = '\0';
	return out;
}

/* One FastCGI length: 1 byte below 128, else 4 bytes, top bit set. */
static int
nv_len(const uint8_t **p, const uint8_t *end, size_t *len)
{
	if (*p >= end)
		return -1;
	if (**p < 0x80) {
		*len = *(*p)++;
		return 0;
	}
	if (end - *p < 4)
		return -1;
	*len = ((size_t)((*p)[0] & 0x7f) << 24) | ((size_t)(*p)[1] << 16) |
	    ((size_t)(*p)[2] << 8) | (*p)[3];
	*p += 4;
	return 0;
}

static void
add_param(const char *name, size_t nlen, const char *value, size_t vlen)
{
	char	*val = expand(value, vlen), *e;
	size_t	 l = strlen(val);

	if (rq.nenv >= MAX_PARAMS) {
		free(val);
		return;
	}
	e = hs_xmalloc(nlen + l + 2);
	memcpy(e, name, nlen);
	e[nlen] = '=';
	memcpy(e + nlen + 1, val, l + 1);
	free(val);
	rq.env[rq.nenv++] = e;
}

static void
parse_input(const uint8_t *p, const uint8_t *end)
{
	const uint8_t	*name, *value;
	size_t		 nlen, vlen;

	rq.body = end;
	rq.body_len = 0;
	while (p < end) {
		if (nv_len(&p, end, &nlen) == -1 ||
		    nv_len(&p, end, &vlen) == -1 ||
		    nlen > (size_t)(end - p) || vlen > (size_t)(end - p) - nlen)
			return;
		name = p;
		value = p + nlen;
		p += nlen + vlen;
		if (nlen == 0 && vlen == 0) {
			rq.body = p;
			rq.body_len = (size_t)(end - p);
			return;
		}
		/* nginx, not the caller, says where the connection is from. */
		if (nlen == 11 && memcmp(name, "REMOTE_ADDR", 11) == 0)
			continue;
		add_param((const char *)name, nlen, (const char *)value, vlen);
	}
}

/* FCGX_GetParam: the first "NAME=" entry. */
static const char *
fz_param(struct io *io, const char *name)
{
	size_t	 len = strlen(name), i;

	for (i = 0; i < rq.nenv; i++)
		if (strncmp(name, rq.env[i], len) == 0 && rq.env[i][len] == '=')
			return rq.env[i] + len + 1;
	return NULL;
}

/* Each param of a name in turn, as io.c's fcgi_param_next walks envp. */
static const char *
fz_param_next(struct io *io, const char *name, size_t *pos)
{
	size_t	 len = strlen(name);

	while (*pos < rq.nenv) {
		const char	*e = rq.env[(*pos)++];

		if (strncmp(name, e, len) == 0 && e[len] == '=')
			return e + len + 1;
	}
	return NULL;
}

/* FCGX_GetStr: what is there, up to n; 0 at the end of the stream. */
static long
fz_read(struct io *io, char *buf, size_t n)
{
	size_t	 left = rq.body_len - rq.body_off;

	if (rq.flags & F_READ_FAILS)
		return -1;
	if (n > left)
		n = left;
	memcpy(buf, rq.body + rq.body_off, n);
	rq.body_off += n;
	return (long)n;
}

static int
fz_write(struct io *io, const char *buf, size_t n)
{
	if (rq.flags & F_WRITE_FAILS)
		return -1;
	if (rq.out_len + n + 1 > rq.out_cap) {
		rq.out_cap = (rq.out_len + n + 1) * 2;
		if ((rq.out = realloc(rq.out, rq.out_cap)) == NULL)
			abort();
	}
	memcpy(rq.out + rq.out_len, buf, n);
	rq.out_len += n;
	rq.out[rq.out_len] = '\0';
	return 0;
}

/* ---- src/api/dbconn.c for a worker without a database ---- */

/* What PostgreSQL's UTF8 text input accepts (no overlongs, no surrogates). */
static int
utf8_ok(const unsigned char *s)
{
	unsigned int	 c, min;
	int		 n, i;

	while (*s != '\0') {
		c = *s++;
		if (c < 0x80)
			continue;
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			min = 0x80;
			c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			min = 0x800;
			c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			min = 0x10000;
			c &= 0x07;
		} else
			return 0;
		for (i = 0; i < n; i++, s++) {
			if ((*s & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (*s & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
	}
	return 1;
}

static int
int_ok(const char *s)
{
	size_t	 n;

	s += *s == '-';
	n = strspn(s, "0123456789");
	return n > 0 && n <= 18 && s[n] == '\0';
}

/* "{}" or "{uuid,uuid,...}" as db_uuid_array writes them. */
static int
uuid_array_ok(const char *s)
{
	char	 one[HS_UUID_LEN + 1];

	if (*s++ != '{')
		return 0;
	if (strcmp(s, "}") == 0)
		return 1;
	for (;;) {
		if (strlen(s) < HS_UUID_LEN + 1)
			return 0;
		memcpy(one, s, HS_UUID_LEN);
		one[HS_UUID_LEN] = '\0';
		if (!hs_is_uuid(one))
			return 0;
		s += HS_UUID_LEN;
		if (strcmp(s, "}") == 0)
			return 1;
		if (*s++ != ',')
			return 0;
	}
}

static void
check_params(enum stmt st, int nparams, const char *const *params)
{
	const char	*types = db_stmts[st].types;
	json_t		*j;
	int		 i;

	if ((size_t)nparams != strlen(types))
		abort();
	for (i = 0; i < nparams; i++) {
		const char	*v = params[i];

		if (v == NULL)
			continue;
		if (!utf8_ok((const unsigned char *)v))
			abort();
		switch (types[i]) {
		case 'i':
			if (!int_ok(v))
				abort();
			break;
		case 'u':
			if (!hs_is_uuid(v))
				abort();
			break;
		case 'U':
			if (!uuid_array_ok(v))
				abort();
			break;
		case 'j':
			if ((j = json_loads(v, JSON_DECODE_ANY, NULL)) == NULL)
				abort();
			json_decref(j);
			break;
		}
	}
}

/* The revocation check's answer: no row, or the one row of a revoked jti. */
static PGresult *
revoked_result(int revoked)
{
	PGresAttDesc	 col = { (char *)"?column?", 0, 0, 0, 23, 4, -1 };
	PGresult	*res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);

	if (res == NULL)
		abort();
	if (revoked && (PQsetResultAttrs(res, 1, &col) == 0 ||
	    PQsetvalue(res, 0, 0, (char *)"1", 1) == 0))
		abort();
	return res;
}

PGresult *
db_exec(struct worker *w, enum stmt st, int nparams,
    const char *const *params, enum db_err *err)
{
	if ((int)st < 0 || st >= ST__MAX || nparams < 0)
		abort();
	check_params(st, nparams, params);
	if (st == ST_REVOKED) {
		*err = DB_OK;
		return revoked_result(rq.flags & F_REVOKED);
	}
	*err = rq.flags & F_DB_ERROR ? DB_ERROR : DB_UNAVAILABLE;
	return NULL;
}

int
db_ensure(struct worker *w)
{
	return -1;
}

int
db_begin(struct worker *w, enum db_err *err)
{
	*err = rq.flags & F_DB_ERROR ? DB_ERROR : DB_UNAVAILABLE;
	return -1;
}

int
db_commit(struct worker *w, enum db_err *err)
{
	w->in_tx = 0;
	*err = rq.flags & F_DB_ERROR ? DB_ERROR : DB_UNAVAILABLE;
	return -1;
}

void
db_rollback(struct worker *w)
{
	w->in_tx = 0;
}

void
db_close(struct worker *w)
{
	w->db = NULL;
}

/* ---- the answer ---- */

static int
status_expected(int status)
{
	static const int ok[] = { 200, 202, 400, 401, 403, 404, 405, 409,
	    411, 413, 415, 422, 429, 503 };
	size_t	 i;

	if (status == 500)
		return (rq.flags & F_DB_ERROR) != 0;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (ok[i] == status)
			return 1;
	return 0;
}

/*
 * Exactly one well-formed CGI response: a known status, header lines of
 * printable ASCII, a Content-Length that is the body's, JSON bodies that
 * parse, and a problem's errors lists that say something.
 */
static void
check_answer(void)
{
	const char	*p = rq.out, *eol, *end, *body;
	const char	*ctype = NULL;
	json_t		*j = NULL, *v, *l, *m;
	const char	*k;
	long		 clen = -1;
	size_t		 i, blen;
	int		 status;

	if (rq.flags & F_WRITE_FAILS)
		return;
	if (p == NULL || sscanf(p, "Status: %3d ", &status) != 1 ||
	    !status_expected(status))
		abort();
	if ((end = strstr(p, "\r\n\r\n")) == NULL)
		abort();
	body = end + 4;
	blen = rq.out_len - (size_t)(body - rq.out);
	for (; p < end + 2; p = eol + 2) {
		eol = strstr(p, "\r\n");
		for (k = p; k < eol; k++)
			if (*k < 0x20 || *k > 0x7e)
				abort();
		if (strncasecmp(p, "Content-Length: ", 16) == 0)
			clen = strtol(p + 16, NULL, 10);
		else if (strncasecmp(p, "Content-Type: ", 14) == 0)
			ctype = p + 14;
		else if (strncmp(p, "Status: ", 8) != 0 &&
		    (k = memchr(p, ':', (size_t)(eol - p))) == NULL)
			abort();
	}
	if (clen < 0 || (size_t)clen != blen || ctype == NULL)
		abort();
	if (strncmp(ctype, "application/json", 16) != 0 &&
	    strncmp(ctype, "application/problem+json", 24) != 0)
		return;
	if ((j = json_loadb(body, blen, JSON_DECODE_ANY, NULL)) == NULL)
		abort();
	if (strncmp(ctype, "application/problem+json", 24) == 0) {
		if (json_integer_value(json_object_get(j, "status")) != status)
			abort();
		if ((v = json_object_get(j, "errors")) != NULL) {
			if (!json_is_object(v) || json_object_size(v) == 0)
				abort();
			json_object_foreach(v, k, l) {
				if (!json_is_array(l) || json_array_size(l) == 0)
					abort();
				json_array_foreach(l, i, m)
					if (!json_is_string(m) ||
					    json_string_length(m) == 0)
						abort();
			}
		}
	}
	json_decref(j);
}

static void
serve_once(struct worker *w)
{
	struct io	 io;

	io.param = fz_param;
	io.param_next = fz_param_next;
	io.read = fz_read;
	io.write = fz_write;
	io.ctx = NULL;
	rq.body_off = 0;
	rq.out_len = 0;
	if (rq.out != NULL)
		rq.out[0] = '\0';
	serve(w, &io);
	if (w->in_tx)
		abort();
	check_answer();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct worker	 w;
	size_t		 i;

	if (!fx.ready)
		setup();
	if (size < 1)
		return 0;
	memset(&rq, 0, sizeof(rq));
	rq.flags = data[0];
	add_param("REMOTE_ADDR", 11, rq.flags & F_PROXY ? PROXY_ADDR :
	    CLIENT_ADDR, strlen(rq.flags & F_PROXY ? PROXY_ADDR : CLIENT_ADDR));
	parse_input(data + 1, data + size);

	memset(&w, 0, sizeof(w));
	w.cfg = &fx.cfg;
	w.keyring = fx.kr;
	w.keyring_ok = 1;
	w.keyring_gen = 1;
	/* A new notice count empties the token cache: each input stands alone. */
	w.revoke_events = ++fx.inputs;
	serve_once(&w);
	if (rq.flags & F_TWICE)
		serve_once(&w);

	for (i = 0; i < rq.nenv; i++)
		free(rq.env[i]);
	free(rq.out);
	return 0;
}
