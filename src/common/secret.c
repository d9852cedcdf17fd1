/* SPDX-License-Identifier: ISC */
/*
 * Credential secrets are sealed with crypto_secretbox under a master key
 * that lives in a file, never in the database: a dump or a replica of the
 * database alone opens nothing.  Each box records the id of its key so
 * that the key can rotate while old boxes stay readable.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common.h"

/* Rotation history kept in one file; bounds what a load reads and locks. */
#define MASTER_MAX_KEYS		256
#define MASTER_FILE_MAX		65536
#define MASTER_KEY_B64_LEN	43	/* 32 bytes, base64url, no padding */
#define MASTER_LINE_LEN		(HS_MASTER_ID_LEN + 1 + MASTER_KEY_B64_LEN + 1)
#define MASTER_HEADER \
	"# hostscan master keys: the first line seals new secrets, the\n" \
	"# others only open old ones.  Mode 0600; keep a backup.\n"

static const char *
next_line(char **p)
{
	char	*line = *p, *nl;

	if (line == NULL || *line == '\0')
		return NULL;
	if ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		*p = nl + 1;
	} else
		*p = NULL;
	return line;
}

/*
 * Reads the file into sodium_malloc'd memory (guarded and, where the
 * RLIMIT_MEMLOCK allows, mlock'd by sodium_malloc itself) after checking
 * that nobody but its owner may read it.  Returns 1 when the file does not
 * exist and missing_ok is set, 0 when read, -1 on error.
 */
static int
master_read(const char *path, int missing_ok, char **bufp, struct stat *st,
    char *err, size_t errlen)
{
	char	*buf = NULL;
	size_t	 len = 0;
	ssize_t	 r;
	int	 fd = -1, rc = -1;

	*bufp = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT && missing_ok)
			rc = 1;
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (st->st_mode & 077) {
		snprintf(err, errlen, "%s: mode %04o lets group or others "
		    "access the master key; refusing it (chmod 600 %s)",
		    path, (unsigned)(st->st_mode & 07777), path);
		goto out;
	}
	if (st->st_size > MASTER_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    MASTER_FILE_MAX);
		goto out;
	}
	if ((buf = sodium_malloc(MASTER_FILE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		r = read(fd, buf + len, MASTER_FILE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > MASTER_FILE_MAX) {
			snprintf(err, errlen, "%s: larger than %d bytes",
			    path, MASTER_FILE_MAX);
			goto out;
		}
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		goto out;
	}
	*bufp = buf;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL)
		sodium_free(buf);
	if (fd != -1)
		close(fd);
	return rc;
}

/* Error messages name the line, never its content: it holds key bytes. */
static int
master_parse(const char *path, char *buf, struct hs_master_keys *mk,
    char *err, size_t errlen)
{
	struct hs_master_key	*k;
	const char		*line;
	char			*p, *next, *id, *key, *junk;
	size_t			 n = 0, lineno = 0, i, got;

	for (p = buf; (line = next_line(&p)) != NULL; ) {
		line += strspn(line, " \t\r");
		if (*line != '\0' && *line != '#')
			n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "%s: no master key in the file", path);
		return -1;
	}
	if (n > MASTER_MAX_KEYS) {
		snprintf(err, errlen, "%s: more than %d keys", path,
		    MASTER_MAX_KEYS);
		return -1;
	}
	if ((mk->k = sodium_allocarray(n, sizeof(*mk->k))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	mk->n = 0;
	/* next_line() cut the buffer into NUL-terminated lines. */
	for (p = buf; mk->n < n; p = next) {
		lineno++;
		next = p + strlen(p) + 1;
		id = p + strspn(p, " \t\r");
		if (*id == '\0' || *id == '#')
			continue;
		key = id + strcspn(id, " \t\r");
		if (*key != '\0')
			*key++ = '\0';
		key += strspn(key, " \t\r");
		junk = key + strcspn(key, " \t\r");
		if (*junk != '\0')
			*junk++ = '\0';
		junk += strspn(junk, " \t\r");
		if (*junk != '\0' && *junk != '#') {
			snprintf(err, errlen, "%s:%zu: expected \"ID KEY\"",
			    path, lineno);
			return -1;
		}
		if (strlen(id) != HS_MASTER_ID_LEN ||
		    strspn(id, "0123456789abcdef") != HS_MASTER_ID_LEN) {
			snprintf(err, errlen, "%s:%zu: the key id is not %d "
			    "lower-case hex digits", path, lineno,
			    HS_MASTER_ID_LEN);
			return -1;
		}
		k = &mk->k[mk->n];
		if (strlen(key) != MASTER_KEY_B64_LEN ||
		    hs_b64url_decode(key, MASTER_KEY_B64_LEN, k->key,
		    sizeof(k->key), &got) == -1 || got != sizeof(k->key)) {
			sodium_memzero(k->key, sizeof(k->key));
			snprintf(err, errlen, "%s:%zu: the key is not 32 bytes "
			    "of base64url", path, lineno);
			return -1;
		}
		for (i = 0; i < mk->n; i++)
			if (strcmp(mk->k[i].id, id) == 0) {
				snprintf(err, errlen, "%s:%zu: key id %s "
				    "appears twice", path, lineno, id);
				return -1;
			}
		memcpy(k->id, id, HS_MASTER_ID_LEN + 1);
		mk->n++;
	}
	return 0;
}

int
hs_master_load(const char *path, struct hs_master_keys *mk, char *err,
    size_t errlen)
{
	char		*buf = NULL;
	struct stat	 st;
	int		 rc = -1;

	mk->k = NULL;
	mk->n = 0;
	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "master_key is not set");
		return -1;
	}
	if (master_read(path, 0, &buf, &st, err, errlen) != 0)
		goto out;
	if (master_parse(path, buf, mk, err, errlen) == -1)
		goto out;
	/* Nothing writes the keys after this; a stray write now faults. */
	sodium_mprotect_readonly(mk->k);
	rc = 0;
out:
	if (buf != NULL)
		sodium_free(buf);
	if (rc == -1)
		hs_master_free(mk);
	return rc;
}

void
hs_master_free(struct hs_master_keys *mk)
{
	if (mk->k != NULL)
		sodium_free(mk->k);	/* zeroes it, read-only or not */
	mk->k = NULL;
	mk->n = 0;
}

/* Best effort: makes the rename itself durable. */
static void
sync_parent(const char *path)
{
	char		 dir[HS_MAX_PATH_LEN + 1];
	const char	*slash = strrchr(path, '/');
	int		 fd;

	if (slash == NULL)
		hs_strlcpy(dir, ".", sizeof(dir));
	else if (slash == path)
		hs_strlcpy(dir, "/", sizeof(dir));
	else if ((size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	} else
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	(void)fsync(fd);
	close(fd);
}

/*
 * The file is rewritten as a whole, new key first, into a 0600 temporary
 * file beside it that is renamed over the old one: a crash leaves either
 * the old or the new file, never a truncated key list.  Comments of the
 * old file are not kept.
 */
int
hs_master_generate(const char *path, char *err, size_t errlen)
{
	struct hs_master_keys	 old = { NULL, 0 };
	struct hs_master_key	*nk = NULL;
	struct stat		 st;
	unsigned char		 idb[HS_MASTER_ID_LEN / 2];
	char			*buf = NULL, *out = NULL;
	char			 tmp[HS_MAX_PATH_LEN + 16];
	size_t			 cap, len, i;
	int			 fd = -1, r, rc = -1, made = 0, clash;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "master_key is not set");
		return -1;
	}
	if (strlen(path) > HS_MAX_PATH_LEN) {
		snprintf(err, errlen, "master_key: path too long");
		return -1;
	}
	if ((r = master_read(path, 1, &buf, &st, err, errlen)) == -1)
		goto out;
	if (r == 0 && master_parse(path, buf, &old, err, errlen) == -1)
		goto out;
	if (old.n >= MASTER_MAX_KEYS) {
		snprintf(err, errlen, "%s: already %d keys; remove retired "
		    "ones first", path, MASTER_MAX_KEYS);
		goto out;
	}
	if ((nk = sodium_malloc(sizeof(*nk))) == NULL ||
	    (out = sodium_malloc(cap = sizeof(MASTER_HEADER) +
	    (old.n + 1) * MASTER_LINE_LEN + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	do {
		randombytes_buf(idb, sizeof(idb));
		sodium_bin2hex(nk->id, sizeof(nk->id), idb, sizeof(idb));
		for (clash = 0, i = 0; i < old.n; i++)
			clash |= strcmp(old.k[i].id, nk->id) == 0;
	} while (clash);
	crypto_secretbox_keygen(nk->key);

	len = strlen(MASTER_HEADER);
	memcpy(out, MASTER_HEADER, len);
	for (i = 0; i <= old.n; i++) {
		const struct hs_master_key *k = i == 0 ? nk : &old.k[i - 1];

		memcpy(out + len, k->id, HS_MASTER_ID_LEN);
		out[len + HS_MASTER_ID_LEN] = ' ';
		len += HS_MASTER_ID_LEN + 1;
		hs_b64url_encode(k->key, sizeof(k->key), out + len);
		len += MASTER_KEY_B64_LEN;
		out[len++] = '\n';
	}

	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	made = 1;
	/* Whoever read the old file (the scheduler's user) reads the new. */
	if (r == 0 && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) == -1 && errno != EPERM) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) == -1 || hs_write_all(fd, out, len) == -1 ||
	    fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	made = 0;
	sync_parent(path);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (made)
		unlink(tmp);
	if (out != NULL)
		sodium_free(out);
	if (nk != NULL)
		sodium_free(nk);
	if (buf != NULL)
		sodium_free(buf);
	hs_master_free(&old);
	return rc;
}

int
hs_secret_seal(const struct hs_master_keys *mk, const unsigned char *msg,
    size_t len, char key_id[HS_MASTER_ID_LEN + 1], unsigned char **box,
    size_t *boxlen)
{
	unsigned char	*b;
	size_t		 n;

	*box = NULL;
	*boxlen = 0;
	if (mk == NULL || mk->n == 0 || len > HS_MAX_SECRET_BYTES)
		return -1;
	n = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	if ((b = malloc(n)) == NULL)
		return -1;
	randombytes_buf(b, crypto_secretbox_NONCEBYTES);
	if (crypto_secretbox_easy(b + crypto_secretbox_NONCEBYTES, msg, len,
	    b, mk->k[0].key) != 0) {
		free(b);
		return -1;
	}
	memcpy(key_id, mk->k[0].id, HS_MASTER_ID_LEN + 1);
	*box = b;
	*boxlen = n;
	return 0;
}

/*
 * Returns -1 for an unknown key id, a box of impossible length or one that
 * does not authenticate; callers cannot tell which, and need not.
 */
int
hs_secret_open(const struct hs_master_keys *mk, const char *key_id,
    const unsigned char *box, size_t boxlen, unsigned char **msg,
    size_t *len)
{
	const struct hs_master_key	*k = NULL;
	unsigned char			*m;
	size_t				 i, n;

	*msg = NULL;
	*len = 0;
	if (mk == NULL || key_id == NULL)
		return -1;
	for (i = 0; i < mk->n; i++)
		if (strcmp(mk->k[i].id, key_id) == 0) {
			k = &mk->k[i];
			break;
		}
	if (k == NULL ||
	    boxlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return -1;
	n = boxlen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if (n > HS_MAX_SECRET_BYTES)
		return -1;
	if ((m = sodium_malloc(n + 1)) == NULL)
		return -1;
	if (crypto_secretbox_open_easy(m, box + crypto_secretbox_NONCEBYTES,
	    boxlen - crypto_secretbox_NONCEBYTES, box, k->key) != 0) {
		sodium_free(m);
		return -1;
	}
	m[n] = '\0';
	*msg = m;
	*len = n;
	return 0;
}
