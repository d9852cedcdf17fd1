/* SPDX-License-Identifier: ISC */
/*
 * Master key file and credential sealing: round trip, tampering, key
 * rotation keeping old boxes readable, and the files a load must refuse.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common.h"
#include "tap.h"

static char	 dir[] = "/tmp/hs-test-secret.XXXXXX";
static char	 path[256];

static void
write_file(const char *p, const char *text, mode_t mode)
{
	FILE	*f = fopen(p, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) == EOF) {
		perror(p);
		exit(2);
	}
	chmod(p, mode);
}

static int
load_text(const char *text, mode_t mode, char *err, size_t errlen)
{
	struct hs_master_keys	 mk;
	char			 p[300];
	int			 rc;

	snprintf(p, sizeof(p), "%s/fixture", dir);
	write_file(p, text, mode);
	rc = hs_master_load(p, &mk, err, errlen);
	hs_master_free(&mk);
	unlink(p);
	return rc;
}

static int
count_lines(const char *p)
{
	FILE	*f = fopen(p, "r");
	char	 line[512];
	int	 n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (line[0] != '#')
			n++;
	fclose(f);
	return n;
}

static void
test_generate_and_seal(void)
{
	struct hs_master_keys	 mk, mk2;
	struct stat		 st;
	char			 err[512], id1[HS_MASTER_ID_LEN + 1];
	char			 id2[HS_MASTER_ID_LEN + 1];
	const char		*pw = "correct horse battery staple";
	unsigned char		*box = NULL, *box2 = NULL, *msg = NULL;
	size_t			 boxlen, box2len, len;

	ok(hs_master_generate(path, err, sizeof(err)) == 0,
	    "generate creates the master key file");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "the new file has mode 0600");
	is_int(count_lines(path), 1, "one key line");
	ok(hs_master_load(path, &mk, err, sizeof(err)) == 0, "load it");
	is_int(mk.n, 1, "one key loaded");
	ok(strlen(mk.k[0].id) == HS_MASTER_ID_LEN &&
	    strspn(mk.k[0].id, "0123456789abcdef") == HS_MASTER_ID_LEN,
	    "key id is 16 lower-case hex digits");

	ok(hs_secret_seal(&mk, (const unsigned char *)pw, strlen(pw), id1,
	    &box, &boxlen) == 0, "seal");
	is_str(id1, mk.k[0].id, "sealed under the current key");
	is_int(boxlen, crypto_secretbox_NONCEBYTES +
	    crypto_secretbox_MACBYTES + strlen(pw), "box = nonce || mac || text");
	ok(memmem(box, boxlen, pw, strlen(pw)) == NULL,
	    "the box does not contain the plaintext");
	ok(hs_secret_open(&mk, id1, box, boxlen, &msg, &len) == 0 &&
	    len == strlen(pw) && memcmp(msg, pw, len) == 0 && msg[len] == '\0',
	    "open gives back the text, NUL-terminated");
	if (msg != NULL)
		sodium_free(msg);
	msg = NULL;

	ok(hs_secret_seal(&mk, (const unsigned char *)pw, strlen(pw), id2,
	    &box2, &box2len) == 0 && memcmp(box, box2,
	    crypto_secretbox_NONCEBYTES) != 0,
	    "a second seal uses a fresh nonce");
	free(box2);
	box2 = NULL;

	box[boxlen - 1] ^= 1;
	ok(hs_secret_open(&mk, id1, box, boxlen, &msg, &len) == -1 &&
	    msg == NULL, "a flipped ciphertext bit is refused");
	box[boxlen - 1] ^= 1;
	box[0] ^= 1;
	ok(hs_secret_open(&mk, id1, box, boxlen, &msg, &len) == -1,
	    "a flipped nonce bit is refused");
	box[0] ^= 1;
	ok(hs_secret_open(&mk, "0000000000000000", box, boxlen, &msg,
	    &len) == -1, "an unknown key id is refused");
	ok(hs_secret_open(&mk, id1, box, crypto_secretbox_NONCEBYTES +
	    crypto_secretbox_MACBYTES - 1, &msg, &len) == -1,
	    "a box shorter than nonce and mac is refused");

	ok(hs_secret_seal(&mk, (const unsigned char *)"", 0, id2, &box2,
	    &box2len) == 0 && hs_secret_open(&mk, id2, box2, box2len, &msg,
	    &len) == 0 && len == 0 && msg[0] == '\0',
	    "an empty text round-trips");
	if (msg != NULL)
		sodium_free(msg);
	msg = NULL;
	free(box2);
	box2 = NULL;
	ok(hs_secret_seal(&mk, (const unsigned char *)pw,
	    HS_MAX_SECRET_BYTES + 1, id2, &box2, &box2len) == -1,
	    "seal refuses more than HS_MAX_SECRET_BYTES");

	/* Rotation: a new current key, the old one still opens old boxes. */
	ok(hs_master_generate(path, err, sizeof(err)) == 0, "rotate");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "still mode 0600 after rotation");
	is_int(count_lines(path), 2, "two key lines");
	ok(hs_master_load(path, &mk2, err, sizeof(err)) == 0 && mk2.n == 2,
	    "both keys load");
	if (mk2.n != 2) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	ok(strcmp(mk2.k[0].id, id1) != 0 && strcmp(mk2.k[1].id, id1) == 0,
	    "the new key is first, the old one second");
	ok(hs_secret_open(&mk2, id1, box, boxlen, &msg, &len) == 0 &&
	    len == strlen(pw) && memcmp(msg, pw, len) == 0,
	    "a box sealed before the rotation still opens");
	if (msg != NULL)
		sodium_free(msg);
	msg = NULL;
	ok(hs_secret_seal(&mk2, (const unsigned char *)pw, strlen(pw), id2,
	    &box2, &box2len) == 0 && strcmp(id2, mk2.k[0].id) == 0,
	    "new boxes use the new key");
	ok(hs_secret_open(&mk, id2, box2, box2len, &msg, &len) == -1,
	    "the old key set cannot open a box of the new key");

	free(box);
	free(box2);
	hs_master_free(&mk);
	hs_master_free(&mk2);
	ok(mk.k == NULL && mk.n == 0, "free resets the key set");
}

static void
test_refused_files(void)
{
	char	 err[512];
	char	 good[128];
	unsigned char key[32];
	char	 b64[64];

	memset(key, 7, sizeof(key));
	hs_b64url_encode(key, sizeof(key), b64);
	snprintf(good, sizeof(good), "0123456789abcdef %s\n", b64);

	ok(load_text(good, 0600, err, sizeof(err)) == 0,
	    "a hand-written valid file loads");
	ok(load_text(good, 0400, err, sizeof(err)) == 0,
	    "mode 0400 is fine too");
	ok(load_text(good, 0640, err, sizeof(err)) == -1 &&
	    strstr(err, "mode 0640") != NULL, "group-readable is refused: %s",
	    err);
	ok(load_text(good, 0604, err, sizeof(err)) == -1,
	    "world-readable is refused");
	ok(load_text("# only a comment\n\n", 0600, err, sizeof(err)) == -1 &&
	    strstr(err, "no master key") != NULL, "no key is refused: %s", err);
	ok(load_text("0123456789ABCDEF AAAA\n", 0600, err, sizeof(err)) == -1,
	    "upper-case id is refused");
	ok(load_text("0123456789abcdef AAAA\n", 0600, err, sizeof(err)) == -1 &&
	    strstr(err, ":1:") != NULL && strstr(err, "AAAA") == NULL,
	    "a short key is refused, naming the line but not the key: %s", err);

	{
		char	 two[300], junk[200];

		snprintf(two, sizeof(two), "%s%s", good, good);
		ok(load_text(two, 0600, err, sizeof(err)) == -1 &&
		    strstr(err, "twice") != NULL, "a duplicate id is refused");
		snprintf(junk, sizeof(junk), "0123456789abcdef %s extra\n",
		    b64);
		ok(load_text(junk, 0600, err, sizeof(err)) == -1,
		    "junk after the key is refused");
		snprintf(two, sizeof(two), "# comment\r\n\n  %s", good);
		ok(load_text(two, 0600, err, sizeof(err)) == 0,
		    "comments, blank lines and CRs are fine");
	}
	{
		struct hs_master_keys	 mk;
		char			 p[300];

		snprintf(p, sizeof(p), "%s/absent", dir);
		ok(hs_master_load(p, &mk, err, sizeof(err)) == -1 &&
		    mk.k == NULL, "a missing file is an error for load");
	}
	{
		char	 p[300];

		snprintf(p, sizeof(p), "%s/world", dir);
		write_file(p, good, 0644);
		ok(hs_master_generate(p, err, sizeof(err)) == -1 &&
		    count_lines(p) == 1,
		    "generate refuses to extend a readable file");
		unlink(p);
	}
}

int
main(void)
{
	if (sodium_init() < 0 || mkdtemp(dir) == NULL) {
		printf("Bail out! cannot initialise\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/master.key", dir);
	test_generate_and_seal();
	test_refused_files();
	unlink(path);
	rmdir(dir);
	return done_testing();
}
