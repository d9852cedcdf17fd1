/* SPDX-License-Identifier: ISC */
/* The keyring: the public keys tokens may be signed with, reread on change. */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common.h"

#define K4_PUBLIC	"k4.public."
#define K4_SECRET	"k4.secret."

/* A keyring file: HS_MAX_KEYRING_KEYS keys plus generous comments. */
#define HS_MAX_KEYRING_FILE	(HS_MAX_KEYRING_KEYS * (HS_MAX_CONFIG_LINE + 1))

static int
keyring_parse(const char *path, char *buf, struct hs_pubkey *keys,
    size_t *nkeys, char *err, size_t errlen)
{
	char		*line, *next, *end, *key;
	size_t		 n = 0, lineno = 0, i;
	struct hs_pubkey k;

	for (line = buf; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strlen(line) > HS_MAX_CONFIG_LINE) {
			snprintf(err, errlen, "%s:%zu: line too long",
			    path, lineno);
			return -1;
		}
		key = line + strspn(line, " \t\r");
		if (*key == '\0' || *key == '#')
			continue;
		end = key + strcspn(key, " \t\r");
		if (*end != '\0') {
			*end++ = '\0';
			end += strspn(end, " \t\r");
			if (*end != '\0' && *end != '#') {
				snprintf(err, errlen, "%s:%zu: junk after "
				    "the key", path, lineno);
				return -1;
			}
		}
		/* Never echo the line: it may be a secret pasted by mistake. */
		if (strncmp(key, K4_SECRET, sizeof(K4_SECRET) - 1) == 0) {
			snprintf(err, errlen, "%s:%zu: a k4.secret key does "
			    "not belong in the keyring", path, lineno);
			return -1;
		}
		if (hs_paserk_public_decode(key, k.pk) == -1) {
			snprintf(err, errlen, "%s:%zu: not a k4.public key",
			    path, lineno);
			return -1;
		}
		if (hs_paserk_pid(k.pk, k.pid) == -1) {
			snprintf(err, errlen, "%s:%zu: cannot derive the "
			    "key id", path, lineno);
			return -1;
		}
		for (i = 0; i < n; i++)
			if (strcmp(keys[i].pid, k.pid) == 0)
				break;
		if (i < n)
			continue;
		if (n == HS_MAX_KEYRING_KEYS) {
			snprintf(err, errlen, "%s:%zu: more than %d keys",
			    path, lineno, HS_MAX_KEYRING_KEYS);
			return -1;
		}
		keys[n++] = k;
	}
	if (n == 0) {
		snprintf(err, errlen, "%s: no k4.public key", path);
		return -1;
	}
	*nkeys = n;
	return 0;
}

/*
 * Reads the file into a scratch ring and only then replaces what kr
 * holds, so a bad file leaves the previous keys in place.  The stat comes
 * before the read: a change racing with it costs one more reload later,
 * never a missed one.
 */
static int
keyring_read(struct hs_keyring *kr, const char *path, const struct stat *st,
    char *err, size_t errlen)
{
	struct hs_pubkey *keys = NULL;
	char		*buf = NULL;
	size_t		 len, n = 0;
	int		 rc = -1;

	if ((buf = hs_read_file(path, HS_MAX_KEYRING_FILE, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: not a text file", path);
		goto out;
	}
	keys = hs_xmalloc(sizeof(*keys) * HS_MAX_KEYRING_KEYS);
	if (keyring_parse(path, buf, keys, &n, err, errlen) == -1)
		goto out;
	memcpy(kr->keys, keys, sizeof(*keys) * n);
	kr->n = n;
	kr->ino = st->st_ino;
	kr->size = st->st_size;
	kr->mtime = st->st_mtim;
	rc = 0;
out:
	free(keys);
	free(buf);
	return rc;
}

int
hs_keyring_load(struct hs_keyring *kr, const char *path, char *err,
    size_t errlen)
{
	struct stat	 st;

	memset(kr, 0, sizeof(*kr));
	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (keyring_read(kr, path, &st, err, errlen) == -1) {
		memset(kr, 0, sizeof(*kr));
		return -1;
	}
	kr->path = hs_strdup(path);
	return 0;
}

int
hs_keyring_refresh(struct hs_keyring *kr, int force, char *err,
    size_t errlen)
{
	struct stat	 st;

	if (kr->path == NULL) {
		snprintf(err, errlen, "keyring not loaded");
		return -1;
	}
	if (stat(kr->path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", kr->path, strerror(errno));
		return -1;
	}
	if (!force && st.st_ino == kr->ino && st.st_size == kr->size &&
	    st.st_mtim.tv_sec == kr->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == kr->mtime.tv_nsec)
		return 0;
	if (keyring_read(kr, kr->path, &st, err, errlen) == -1)
		return -1;
	return 1;
}

const struct hs_pubkey *
hs_keyring_find(const struct hs_keyring *kr, const char *pid)
{
	size_t	 i;

	for (i = 0; i < kr->n; i++)
		if (strcmp(kr->keys[i].pid, pid) == 0)
			return &kr->keys[i];
	return NULL;
}

void
hs_keyring_free(struct hs_keyring *kr)
{
	free(kr->path);
	memset(kr, 0, sizeof(*kr));
}
