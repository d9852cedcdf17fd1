/* SPDX-License-Identifier: ISC */
/*
 * user add | passwd | totp | enable | disable | unlock | list, and user
 * totpkey new: the people who sign in through /signinBody and /signin2fa.
 * A password comes from stdin (on a terminal typed twice, without echo)
 * and leaves this process only as an argon2id hash; a TOTP secret only
 * sealed under totp_key, and once, to the operator, as its otpauth:// URI.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <qrencode.h>
#include <sodium.h>

#include "common.h"
#include "ctl.h"

/* SQL of user.c */
static const char sql_user_add[] =
    "INSERT INTO app_user (name, role, password_hash) VALUES ($1, $2, $3) "
    "RETURNING id";
static const char sql_user_passwd[] =
    "UPDATE app_user SET password_hash = $2, modified_at = now() "
    "WHERE name = $1 RETURNING id";
/* The replay counter stays: TOTP steps only move forward. */
static const char sql_user_totp[] =
    "UPDATE app_user SET totp_key_id = $2, totp_secret = $3, "
    "modified_at = now() WHERE name = $1 RETURNING id";
static const char sql_user_enable[] =
    "UPDATE app_user SET enabled = $2::boolean, modified_at = now() "
    "WHERE name = $1 RETURNING id";
static const char sql_user_unlock[] =
    "DELETE FROM signin_throttle WHERE login = $1 RETURNING failures";
static const char sql_user_list[] =
    "SELECT u.name, u.role, u.enabled, u.totp_secret IS NOT NULL,"
    " COALESCE(t.failures, 0),"
    " CASE WHEN t.locked_until > now() THEN to_char(t.locked_until"
    "  AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END,"
    " to_char(u.created_at AT TIME ZONE 'UTC',"
    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
    "FROM app_user u LEFT JOIN signin_throttle t ON t.login = u.name "
    "ORDER BY u.name";

#define TOTP_ISSUER	"hostscan"
#define QR_MARGIN	2	/* modules of quiet zone around the code */
#define PW_BUF		(HS_MAX_PASSWORD_BYTES + 3)	/* + CR LF and one more */

static const char *const roles[] = { "Admin", "User" };

static int
check_name(const char *cmd, const char *name)
{
	long	 n = hs_utf8_text_len(name);

	if (n < 1 || n > HS_MAX_USER_NAME_CHARS)
		return ctl_usage_err("%s: a user name is 1 to %d characters of "
		    "UTF-8 text without control characters", cmd,
		    HS_MAX_USER_NAME_CHARS);
	return CTL_OK;
}

/* "user CMD NAME" with no options: NAME, or NULL after the usage error. */
static const char *
one_name(const char *cmd, int argc, char **argv, int *rc)
{
	char	**arg;

	if ((arg = ctl_operands(cmd, argc, argv, 1, "one user NAME", NULL,
	    rc)) == NULL || (*rc = check_name(cmd, arg[0])) != CTL_OK)
		return NULL;
	return arg[0];
}

/*
 * One line into buf (PW_BUF bytes): on a terminal after the prompt and
 * without echo, up to the first newline; else all of stdin.  The line end
 * goes; the length is returned, or -1 after saying why.
 */
static long
read_password(const char *prompt, char *buf)
{
	long	 n;
	size_t	 len;
	int	 tty = isatty(STDIN_FILENO);

	if ((n = ctl_read_secret(prompt, (unsigned char *)buf, PW_BUF,
	    ctl_line_done)) < 0)
		return -1;
	len = (size_t)n;
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	if (len > HS_MAX_PASSWORD_BYTES)
		ctl_warn("the password is longer than %d bytes",
		    HS_MAX_PASSWORD_BYTES);
	else if (len == 0)
		ctl_warn("empty password%s", tty ? "" : " on stdin");
	else if (memchr(buf, '\n', len) != NULL)
		ctl_warn("stdin holds more than one line; the password is one "
		    "line");
	else if (memchr(buf, '\0', len) != NULL)
		ctl_warn("the password contains a NUL byte");
	else
		return (long)len;
	return -1;
}

/* The password from stdin, as its argon2id hash; -1 after saying why. */
static int
password_hash(char hash[crypto_pwhash_STRBYTES])
{
	char	*pw = NULL, *again = NULL;
	long	 len, len2;
	int	 rc = -1;

	if ((pw = sodium_malloc(PW_BUF)) == NULL ||
	    (again = sodium_malloc(PW_BUF)) == NULL) {
		ctl_warn("out of memory");
		goto out;
	}
	if ((len = read_password("Password: ", pw)) < 0)
		goto out;
	if (isatty(STDIN_FILENO)) {
		if ((len2 = read_password("Password again: ", again)) < 0)
			goto out;
		if (len2 != len || sodium_memcmp(pw, again, (size_t)len)) {
			ctl_warn("the passwords differ");
			goto out;
		}
	}
	/* libsodium's interactive limits: about 64 MiB and 0.1 s per try. */
	if (crypto_pwhash_str_alg(hash, pw, (unsigned long long)len,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE,
	    crypto_pwhash_ALG_ARGON2ID13) != 0) {
		ctl_warn("cannot hash the password (out of memory)");
		goto out;
	}
	rc = 0;
out:
	if (pw != NULL)
		sodium_free(pw);
	if (again != NULL)
		sodium_free(again);
	return rc;
}

/*
 * One statement of a user command: the number of rows it returned, or -1
 * after saying why; *resp holds the result until the caller clears it.
 */
static int
user_query(const struct ctl *ctl, const char *cmd, const char *sql, int n,
    const char *const *values, PGresult **resp)
{
	if ((*resp = ctl_db_query(ctl, cmd, sql, n, values, "23505")) == NULL)
		return -1;
	if (ctl_db_state(*resp, "23505")) {
		ctl_warn("%s: a user named %s already exists", cmd, values[0]);
		return -1;
	}
	return PQntuples(*resp);
}

static int
user_add(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	PGresult	*res = NULL;
	const char	*role = NULL, *values[3];
	char		 hash[crypto_pwhash_STRBYTES];
	size_t		 i;
	int		 ch, rc;

	while ((ch = getopt_long(argc, argv, ":r:h", opts, NULL)) != -1)
		switch (ch) {
		case 'r':
			for (role = NULL, i = 0; i < 2; i++)
				if (strcasecmp(optarg, roles[i]) == 0)
					role = roles[i];
			if (role == NULL)
				return ctl_usage_err("--role: Admin or User");
			break;
		default:
			return ctl_option_default("user add", ch, argc, argv);
		}
	if (argc - optind != 1)
		return ctl_usage_err("user add: give one user NAME (the "
		    "password is read from stdin, never from the command "
		    "line)");
	if (role == NULL)
		return ctl_usage_err("user add: --role Admin|User is required");
	if ((rc = check_name("user add", argv[optind])) != CTL_OK)
		return rc;
	rc = CTL_ERR;
	if (password_hash(hash) == -1)
		goto out;
	values[0] = argv[optind];
	values[1] = role;
	values[2] = hash;
	if (user_query(ctl, "user add", sql_user_add, 3, values, &res) != 1)
		goto out;
	printf("%s\n", PQgetvalue(res, 0, 0));
	fprintf(stderr, "user %s added (%s); next: hostscanctl user totp %s\n",
	    argv[optind], role, argv[optind]);
	rc = CTL_OK;
out:
	sodium_memzero(hash, sizeof(hash));
	PQclear(res);
	return rc;
}

static int
user_passwd(struct ctl *ctl, int argc, char **argv)
{
	PGresult	*res = NULL;
	const char	*name, *values[2];
	char		 hash[crypto_pwhash_STRBYTES];
	int		 rc;

	if ((name = one_name("user passwd", argc, argv, &rc)) == NULL)
		return rc;
	rc = CTL_ERR;
	if (password_hash(hash) == -1)
		goto out;
	values[0] = name;
	values[1] = hash;
	switch (user_query(ctl, "user passwd", sql_user_passwd, 2, values,
	    &res)) {
	case 0:
		ctl_warn("no such user: %s", name);
		break;
	case 1:
		printf("password of %s changed\n", name);
		rc = CTL_OK;
		break;
	}
out:
	sodium_memzero(hash, sizeof(hash));
	PQclear(res);
	return rc;
}

/* RFC 3986 percent-encoding of all but the unreserved characters. */
static void
pct_encode(const char *s, char *out)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;

	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)
			*out++ = (char)c;
		else {
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	*out = '\0';
}

/*
 * The QR code in UTF-8 half blocks, two modules per character cell, in
 * explicit colours (white on black) so that it scans on light and dark
 * terminals alike.
 */
static int
print_qr(FILE *f, const char *text)
{
	QRcode	*qr;
	int	 w, x, y, top, bottom;

	if ((qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8,
	    1)) == NULL)
		return -1;
	w = qr->width;
#define LIGHT(x, y) ((x) < 0 || (y) < 0 || (x) >= w || (y) >= w || \
	!(qr->data[(y) * w + (x)] & 1))
	for (y = -QR_MARGIN; y < w + QR_MARGIN; y += 2) {
		fputs("\033[40;97m", f);
		for (x = -QR_MARGIN; x < w + QR_MARGIN; x++) {
			top = LIGHT(x, y);
			bottom = LIGHT(x, y + 1);
			fputs(top && bottom ? "\xe2\x96\x88" : top ?
			    "\xe2\x96\x80" : bottom ? "\xe2\x96\x84" : " ", f);
		}
		fputs("\033[0m\n", f);
	}
#undef LIGHT
	QRcode_free(qr);
	return 0;
}

static int
user_totp(struct ctl *ctl, int argc, char **argv)
{
	struct hs_master_keys	 mk = { NULL, 0 };
	PGresult		*res = NULL;
	unsigned char		*secret = NULL, *box = NULL;
	const char		*name, *values[3];
	char			*b32 = NULL, *uri = NULL, *boxhex = NULL;
	char			 key_id[HS_MASTER_ID_LEN + 1], err[1024];
	size_t			 boxlen = 0, urilen = 0;
	int			 rc;

	if ((name = one_name("user totp", argc, argv, &rc)) == NULL)
		return rc;
	rc = CTL_ERR;
	if (ctl->cfg.totp_key == NULL)
		return ctl_err("user totp: totp_key is not set in %s",
		    ctl_cfg_name(ctl));
	if (hs_master_load(ctl->cfg.totp_key, &mk, err, sizeof(err)) == -1)
		return ctl_err("user totp: %s (a new file: hostscanctl user "
		    "totpkey new)", err);
	if ((secret = sodium_malloc(HS_TOTP_SECRET_BYTES)) == NULL) {
		ctl_warn("out of memory");
		goto out;
	}
	randombytes_buf(secret, HS_TOTP_SECRET_BYTES);
	if (hs_secret_seal(&mk, secret, HS_TOTP_SECRET_BYTES, key_id, &box,
	    &boxlen) == -1 ||
	    (b32 = hs_totp_base32(secret, HS_TOTP_SECRET_BYTES)) == NULL) {
		ctl_warn("user totp: cannot seal or encode the secret");
		goto out;
	}
	urilen = strlen(name) * 3 + strlen(b32) + 128;
	if ((uri = sodium_malloc(urilen)) == NULL) {
		ctl_warn("out of memory");
		goto out;
	}
	memcpy(uri, "otpauth://totp/" TOTP_ISSUER ":", 24);
	pct_encode(name, uri + 24);
	snprintf(uri + strlen(uri), urilen - strlen(uri), "?secret=%s&issuer="
	    TOTP_ISSUER "&algorithm=SHA1&digits=%d&period=%d", b32,
	    HS_TOTP_DIGITS, HS_TOTP_STEP);

	boxhex = ctl_bytea(box, boxlen);
	values[0] = name;
	values[1] = key_id;
	values[2] = boxhex;
	switch (user_query(ctl, "user totp", sql_user_totp, 3, values, &res)) {
	case 0:
		ctl_warn("no such user: %s", name);
		goto out;
	case -1:
		goto out;
	}
	if (isatty(STDOUT_FILENO) && print_qr(stdout, uri) == -1)
		ctl_warn("user totp: cannot draw the QR code; the URI follows");
	printf("%s\n", uri);
	rc = CTL_OK;
out:
	if (uri != NULL)
		sodium_free(uri);
	if (b32 != NULL) {
		sodium_memzero(b32, strlen(b32));
		free(b32);
	}
	if (secret != NULL)
		sodium_free(secret);
	free(box);
	free(boxhex);
	hs_master_free(&mk);
	PQclear(res);
	return rc;
}

static int
user_enable(struct ctl *ctl, int argc, char **argv, int enable)
{
	PGresult	*res = NULL;
	const char	*cmd = enable ? "user enable" : "user disable";
	const char	*name, *values[2];
	int		 rc;

	if ((name = one_name(cmd, argc, argv, &rc)) == NULL)
		return rc;
	rc = CTL_ERR;
	values[0] = name;
	values[1] = enable ? "true" : "false";
	switch (user_query(ctl, cmd, sql_user_enable, 2, values, &res)) {
	case 0:
		ctl_warn("no such user: %s", name);
		break;
	case 1:
		printf("user %s %s\n", name, enable ? "enabled" : "disabled");
		rc = CTL_OK;
		break;
	}
	PQclear(res);
	return rc;
}

/* Any login name, user or not: the throttle does not know the difference. */
static int
user_unlock(struct ctl *ctl, int argc, char **argv)
{
	PGresult	*res = NULL;
	const char	*name;
	int		 rc;

	if ((name = one_name("user unlock", argc, argv, &rc)) == NULL)
		return rc;
	rc = CTL_ERR;
	switch (user_query(ctl, "user unlock", sql_user_unlock, 1, &name,
	    &res)) {
	case 0:
		printf("%s had no failed sign-ins\n", name);
		rc = CTL_OK;
		break;
	case 1:
		printf("%s unlocked (%s failed sign-ins forgotten)\n", name,
		    PQgetvalue(res, 0, 0));
		rc = CTL_OK;
		break;
	}
	PQclear(res);
	return rc;
}

static int
user_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_col cols[] = {
		{ "NAME", "name", 0, CTL_COL_TEXT, NULL },
		{ "ROLE", "role", 1, CTL_COL_TEXT, NULL },
		{ "ENABLED", "enabled", 2, CTL_COL_BOOL, NULL },
		{ "TOTP", "totp", 3, CTL_COL_BOOL, NULL },
		{ "FAILURES", "failures", 4, CTL_COL_INT, NULL },
		{ "LOCKED_UNTIL", "lockedUntil", 5, CTL_COL_TEXT, NULL },
		{ "CREATED", "createdAt", 6, CTL_COL_TEXT, NULL },
	};
	static const struct ctl_list list = { "user list", cols,
	    sizeof(cols) / sizeof(cols[0]), 0 };
	int		 json = 0, rc;

	if (ctl_operands(list.cmd, argc, argv, 0, NULL, &json, &rc) == NULL)
		return rc;
	return ctl_list_query(ctl, &list, sql_user_list, 0, NULL, json);
}

/* A new key for TOTP secrets, first in the file (hs_master_generate). */
static int
user_totpkey(struct ctl *ctl, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "new") != 0)
		return ctl_usage_err("user totpkey: the only subcommand is "
		    "\"new\"");
	return ctl_keyfile_new(ctl, "user totpkey new", "totp_key",
	    ctl->cfg.totp_key);
}

static int
user_enable_cmd(struct ctl *ctl, int argc, char **argv)
{
	return user_enable(ctl, argc, argv, 1);
}

static int
user_disable_cmd(struct ctl *ctl, int argc, char **argv)
{
	return user_enable(ctl, argc, argv, 0);
}

int
ctl_user(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "add", user_add }, { "passwd", user_passwd },
		{ "totp", user_totp }, { "enable", user_enable_cmd },
		{ "disable", user_disable_cmd }, { "unlock", user_unlock },
		{ "list", user_list }, { "totpkey", user_totpkey },
	};

	return ctl_subcommand(ctl, "user", subs,
	    sizeof(subs) / sizeof(subs[0]), argc, argv);
}
