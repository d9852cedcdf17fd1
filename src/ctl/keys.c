/* SPDX-License-Identifier: ISC */
/*
 * keygen, token issue, token revoke, masterkey new: the keys of the
 * service and the tokens they sign.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "common.h"
#include "ctl.h"

/* SQL of keys.c */
/*
 * Whether the jti is newly revoked, and its sign-in session, which the
 * revocation ends with all its tokens (a trigger of sql/009).
 */
static const char sql_token_revoke[] =
    "WITH r AS (INSERT INTO revoked_token (jti) VALUES ($1)"
    " ON CONFLICT DO NOTHING RETURNING jti) "
    "SELECT (SELECT count(*) FROM r),"
    " (SELECT sid FROM session_token WHERE jti = $1)";

#define ROLE_MAX_LEN	64
#define KEYFILE_MAX	1024	/* a k4.secret line with generous slack */

struct signing_key {
	unsigned char	sk[crypto_sign_SECRETKEYBYTES];
	char		paserk[HS_PASERK_SECRET_LEN + 2];	/* + "\n" */
	char		file[KEYFILE_MAX + 1];
};

/* A 0600 temporary file beside path holding data; its name in tmp. */
static int
write_private_tmp(const char *path, const char *data, size_t len, char *tmp,
    size_t tmpsize)
{
	int	 fd = -1;

	if (snprintf(tmp, tmpsize, "%s.XXXXXX", path) >= (int)tmpsize) {
		ctl_warn("%s: path too long", path);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		ctl_warn("%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) == -1 || hs_write_all(fd, data, len) == -1 ||
	    fsync(fd) == -1) {
		ctl_warn("%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) == -1) {
		ctl_warn("%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * One line appended with O_APPEND, after a newline when the file does not
 * end with one.  A new keyring is 0644 whatever the umask: the responder
 * runs as another user and must read it.
 */
static int
keyring_append(const char *path, const char *pub)
{
	struct stat	 st;
	char		 line[HS_PASERK_PUBLIC_LEN + 3], last;
	int		 fd = -1, created = 1, len, rc = -1;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOCTTY, 0644);
	if (fd == -1 && errno == EEXIST) {
		created = 0;
		fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOCTTY);
	}
	if (fd == -1 || fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		ctl_warn("%s: not a regular file", path);
		goto out;
	}
	if (created && fchmod(fd, 0644) == -1)
		goto fail;
	last = '\n';
	if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
		goto fail;
	len = snprintf(line, sizeof(line), "%s%s\n", last != '\n' ? "\n" : "",
	    pub);
	if (len < 0 || (size_t)len >= sizeof(line)) {
		ctl_warn("%s: public key too long", path);
		goto out;
	}
	if (hs_write_all(fd, line, (size_t)len) == -1 || fsync(fd) == -1)
		goto fail;
	rc = 0;
	goto out;
fail:
	ctl_warn("%s: %s", path, strerror(errno));
out:
	if (fd != -1 && close(fd) == -1 && rc == 0) {
		ctl_warn("%s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

/*
 * The secret reaches its final name only after its public key is in the
 * keyring, so no token signed with it is ever refused for an unknown kid.
 * If the last step fails, the keyring holds one unused public key, which
 * is harmless.  Without --force, link(2) refuses an existing file
 * atomically (O_EXCL for a name that is already written).
 */
int
ctl_keygen(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct signing_key	*k = NULL;
	unsigned char		 pk[crypto_sign_PUBLICKEYBYTES];
	char			 pub[HS_PASERK_PUBLIC_LEN + 1];
	char			 pid[HS_PASERK_PID_LEN + 1];
	char			 tmp[HS_MAX_PATH_LEN + 16];
	const char		*path = ctl->cfg.signing_key;
	struct stat		 st;
	int			 ch, force = 0, made = 0, old = 0, rc = CTL_ERR;

	while ((ch = getopt_long(argc, argv, ":fh", opts, NULL)) != -1)
		switch (ch) {
		case 'f':
			force = 1;
			break;
		default:
			return ctl_option_default("keygen", ch, argc, argv);
		}
	if (optind != argc)
		return ctl_usage_err("keygen: unexpected argument \"%s\"",
		    argv[optind]);
	if (path == NULL)
		return ctl_err("keygen: signing_key is not set in %s",
		    ctl_cfg_name(ctl));
	if (ctl->cfg.keyring == NULL)
		return ctl_err("keygen: keyring is not set in %s",
		    ctl_cfg_name(ctl));
	if (strlen(path) > HS_MAX_PATH_LEN)
		return ctl_err("keygen: signing_key: path too long");
	if (lstat(path, &st) == 0) {
		if (!force)
			return ctl_err("%s exists; keygen --force replaces it",
			    path);
		old = S_ISREG(st.st_mode);
	}

	if ((k = sodium_malloc(sizeof(*k))) == NULL) {
		ctl_warn("out of memory");
		goto out;
	}
	if (crypto_sign_keypair(pk, k->sk) != 0 ||
	    hs_paserk_secret_encode(k->sk, k->paserk) == -1 ||
	    hs_paserk_public_encode(pk, pub) == -1 ||
	    hs_paserk_pid(pk, pid) == -1) {
		ctl_warn("keygen: cannot encode the new key");
		goto out;
	}
	strcat(k->paserk, "\n");
	if (write_private_tmp(path, k->paserk, strlen(k->paserk), tmp,
	    sizeof(tmp)) == -1)
		goto out;
	made = 1;
	/* Whoever read the old key (the responder's user) reads the new. */
	if (old && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    chown(tmp, st.st_uid, st.st_gid) == -1 && errno != EPERM) {
		ctl_warn("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (keyring_append(ctl->cfg.keyring, pub) == -1)
		goto out;
	if (force) {
		if (rename(tmp, path) == -1) {
			ctl_warn("%s: %s", path, strerror(errno));
			goto out;
		}
		made = 0;
	} else if (link(tmp, path) == -1) {
		ctl_warn("%s: %s", path, errno == EEXIST ? "appeared while "
		    "keygen ran; not replaced" : strerror(errno));
		goto out;
	}
	printf("%s\n", pid);
	rc = CTL_OK;
out:
	if (made)
		unlink(tmp);
	if (k != NULL)
		sodium_free(k);
	return rc;
}

/* Reads the k4.secret of signing_key into k->sk; the caller frees k. */
static int
signing_key_load(const char *path, struct signing_key *k)
{
	struct stat	 st;
	size_t		 len = 0;
	ssize_t		 r;
	char		*s, *e;
	int		 fd = -1, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    fstat(fd, &st) == -1) {
		ctl_warn("%s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_mode & 077)
		ctl_warn("warning: %s is accessible to group or others "
		    "(chmod 600 %s)", path, path);
	for (;;) {
		r = read(fd, k->file + len, KEYFILE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			ctl_warn("%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if ((len += (size_t)r) > KEYFILE_MAX)
			break;
	}
	if (len > KEYFILE_MAX) {
		ctl_warn("%s: not a k4.secret key file (too long)", path);
		goto out;
	}
	k->file[len] = '\0';
	s = k->file + strspn(k->file, " \t\r\n");
	for (e = s + strlen(s); e > s && strchr(" \t\r\n", e[-1]); e--)
		e[-1] = '\0';
	if (hs_paserk_secret_decode(s, k->sk) == -1) {
		ctl_warn("%s: not a k4.secret key", path);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

/* Splits a comma list in place; each name [A-Za-z0-9_-]{1,64}, no repeats. */
static int
parse_roles(char *list, const char *roles[HS_MAX_ROLES], size_t *nroles)
{
	static const char	 ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_-";
	char			*r;
	size_t			 n = 0, i, len;

	while ((r = strsep(&list, ",")) != NULL) {
		len = strlen(r);
		if (len == 0)
			return ctl_usage_err("--role: empty role name");
		if (len > ROLE_MAX_LEN || strspn(r, ok) != len)
			return ctl_usage_err("--role: \"%s\" is not a role "
			    "name (1 to %d of A-Z a-z 0-9 _ -)", r,
			    ROLE_MAX_LEN);
		for (i = 0; i < n; i++)
			if (strcmp(roles[i], r) == 0)
				return ctl_usage_err("--role: %s given twice",
				    r);
		if (n == HS_MAX_ROLES)
			return ctl_usage_err("--role: more than %d roles",
			    HS_MAX_ROLES);
		roles[n++] = r;
	}
	*nroles = n;
	return CTL_OK;
}

static int
token_issue(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "sub", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "ttl", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct hs_config	*c = &ctl->cfg;
	const char		*roles[HS_MAX_ROLES];
	const char		*sub = NULL, *name = NULL, *ttlarg = NULL;
	const char		*errstr;
	char			*rolelist = NULL, *token = NULL;
	char			 jti[HS_UUID_LEN + 1], exp[21];
	size_t			 nroles = 0;
	long long		 ttl;
	int64_t			 expt;
	int			 ch, rc = CTL_ERR;

	while ((ch = getopt_long(argc, argv, ":r:s:n:t:h", opts, NULL)) != -1)
		switch (ch) {
		case 'r':
			free(rolelist);
			rolelist = hs_strdup(optarg);
			break;
		case 's':
			sub = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 't':
			ttlarg = optarg;
			break;
		default:
			rc = ctl_option_default("token issue", ch, argc, argv);
			goto out;
		}
	if (optind != argc) {
		rc = ctl_usage_err("token issue: unexpected argument \"%s\"",
		    argv[optind]);
		goto out;
	}
	if (rolelist == NULL || sub == NULL) {
		rc = ctl_usage_err("token issue: --role and --sub are "
		    "required");
		goto out;
	}
	if ((rc = parse_roles(rolelist, roles, &nroles)) != CTL_OK)
		goto out;
	if (hs_utf8_text_len(sub) < 1 || strlen(sub) > HS_MAX_CLAIM_LEN) {
		rc = ctl_usage_err("--sub: 1 to %d bytes of UTF-8 text without "
		    "control characters", HS_MAX_CLAIM_LEN);
		goto out;
	}
	if (name != NULL && (hs_utf8_text_len(name) < 0 ||
	    strlen(name) > HS_MAX_CLAIM_LEN)) {
		rc = ctl_usage_err("--name: at most %d bytes of UTF-8 text "
		    "without control characters", HS_MAX_CLAIM_LEN);
		goto out;
	}
	if (ttlarg != NULL) {
		if (hs_strtonum(ttlarg, 1, c->token_max_ttl, &ttl,
		    &errstr) == -1) {
			rc = ctl_usage_err("--ttl: \"%s\" is %s (1 to %ld "
			    "seconds, token_max_ttl)", ttlarg, errstr,
			    c->token_max_ttl);
			goto out;
		}
	} else if ((ttl = c->token_default_ttl) > c->token_max_ttl) {
		rc = ctl_err("token_default_ttl %ld exceeds token_max_ttl %ld "
		    "in %s", c->token_default_ttl, c->token_max_ttl,
		    ctl_cfg_name(ctl));
		goto out;
	}
	if ((rc = ctl_token_mint(ctl, sub, name, roles, nroles, ttl, &token,
	    jti, &expt)) != CTL_OK)
		goto out;
	hs_time_format(expt, exp);
	printf("%s\n", token);
	fprintf(stderr, "jti=%s exp=%s\n", jti, exp);
out:
	free(rolelist);
	if (token != NULL)
		sodium_memzero(token, strlen(token));
	free(token);
	return rc;
}

/* token issue, and import-csv's own short-lived token. */
int
ctl_token_mint(const struct ctl *ctl, const char *sub, const char *name,
    const char *const *roles, size_t nroles, long long ttl, char **token,
    char jti[HS_UUID_LEN + 1], int64_t *exp)
{
	const struct hs_config	*c = &ctl->cfg;
	struct signing_key	*k = NULL;
	enum hs_token_err	 terr;
	time_t			 now;
	int			 rc = CTL_ERR;

	*token = NULL;
	if (c->signing_key == NULL) {
		ctl_warn("token issue: signing_key is not set in %s",
		    ctl_cfg_name(ctl));
		goto out;
	}
	if ((k = sodium_malloc(sizeof(*k))) == NULL) {
		ctl_warn("out of memory");
		goto out;
	}
	if (signing_key_load(c->signing_key, k) == -1)
		goto out;
	now = time(NULL);
	terr = hs_token_issue(k->sk, sub, name, roles, nroles,
	    (int64_t)now, (int64_t)ttl, c->token_issuer, c->token_audience,
	    NULL, token, jti);
	if (terr != HS_TOKEN_OK) {
		ctl_warn("token issue: %s", hs_token_strerror(terr));
		goto out;
	}
	if (exp != NULL)
		*exp = (int64_t)now + ttl;
	rc = CTL_OK;
out:
	if (k != NULL)
		sodium_free(k);		/* zeroes the secret key */
	return rc;
}

static int
token_revoke(struct ctl *ctl, int argc, char **argv)
{
	PGresult	*res;
	char		**jti;
	int		 rc;

	if ((jti = ctl_operands("token revoke", argc, argv, 1,
	    "exactly one JTI", NULL, &rc)) == NULL)
		return rc;
	if (hs_utf8_text_len(*jti) < 1 || strlen(*jti) > HS_MAX_CLAIM_LEN)
		return ctl_usage_err("token revoke: a jti is 1 to %d bytes of "
		    "text", HS_MAX_CLAIM_LEN);
	if ((res = ctl_db_query(ctl, "token revoke", sql_token_revoke, 1,
	    (const char *const *)jti, NULL)) == NULL)
		return CTL_ERR;
	if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
		printf("revoked %s (it already was)\n", *jti);
	else if (!PQgetisnull(res, 0, 1))
		printf("revoked %s and its session %s\n", *jti,
		    PQgetvalue(res, 0, 1));
	else
		printf("revoked %s\n", *jti);
	PQclear(res);
	return CTL_OK;
}

int
ctl_token(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "issue", token_issue }, { "revoke", token_revoke },
	};

	return ctl_subcommand(ctl, "token", subs,
	    sizeof(subs) / sizeof(subs[0]), argc, argv);
}

int
ctl_keyfile_new(const struct ctl *ctl, const char *cmd, const char *key,
    const char *path)
{
	struct hs_master_keys	 mk = { NULL, 0 };
	char			 err[1024];

	if (path == NULL)
		return ctl_err("%s: %s is not set in %s", cmd, key,
		    ctl_cfg_name(ctl));
	if (hs_master_generate(path, err, sizeof(err)) == -1)
		return ctl_err("%s: %s", cmd, err);
	if (hs_master_load(path, &mk, err, sizeof(err)) == -1)
		return ctl_err("%s: written, but: %s", cmd, err);
	printf("%s\n", mk.k[0].id);
	hs_master_free(&mk);
	return CTL_OK;
}

int
ctl_masterkey(struct ctl *ctl, int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		ctl_usage(stdout);
		return CTL_OK;
	}
	if (argc != 2 || strcmp(argv[1], "new") != 0)
		return ctl_usage_err("masterkey: the only subcommand is "
		    "\"new\"");
	return ctl_keyfile_new(ctl, "masterkey new", "master_key",
	    ctl->cfg.master_key);
}
