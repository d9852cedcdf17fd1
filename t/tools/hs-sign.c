/* SPDX-License-Identifier: ISC */
/*
 * Test tool, not installed: signs a payload exactly as given so that the
 * integration tests can craft expired, not-yet-valid, wrong-kid and
 * tampered tokens that hostscanctl would never mint.
 *
 *	hs-sign SECRET_KEY_FILE PAYLOAD_JSON [FOOTER]
 *	hs-sign --pid SECRET_KEY_FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common.h"

static void
usage(void)
{
	fputs("usage: hs-sign SECRET_KEY_FILE PAYLOAD_JSON [FOOTER]\n"
	    "       hs-sign --pid SECRET_KEY_FILE\n", stderr);
	exit(2);
}

/* The file holds one k4.secret line; only the path goes into messages. */
static int
load_secret(const char *path, unsigned char sk[64])
{
	char	*buf = NULL;
	size_t	 len = 0;
	int	 rc = -1;

	if ((buf = hs_read_file(path, 4096, &len)) == NULL) {
		fprintf(stderr, "hs-sign: %s: cannot read\n", path);
		goto out;
	}
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		buf[--len] = '\0';
	if (hs_paserk_secret_decode(buf, sk) == -1) {
		fprintf(stderr, "hs-sign: %s: not a k4.secret key\n", path);
		goto out;
	}
	rc = 0;
out:
	if (buf != NULL) {
		sodium_memzero(buf, len);
		free(buf);
	}
	return rc;
}

int
main(int argc, char *argv[])
{
	unsigned char	 sk[64];
	char		 pid[HS_PASERK_PID_LEN + 1];
	char		 deffooter[HS_PASERK_PID_LEN + 16];
	const char	*footer;
	char		*tok = NULL;
	enum hs_token_err e;
	int		 rc = 1;

	if (sodium_init() == -1) {
		fputs("hs-sign: sodium_init failed\n", stderr);
		return 1;
	}
	if (argc == 3 && strcmp(argv[1], "--pid") == 0) {
		if (load_secret(argv[2], sk) == -1)
			goto out;
		if (hs_paserk_pid(sk + 32, pid) == -1)
			goto out;
		puts(pid);
		rc = 0;
		goto out;
	}
	if (argc != 3 && argc != 4)
		usage();
	if (load_secret(argv[1], sk) == -1)
		goto out;
	if (argc == 4)
		footer = argv[3];
	else {
		if (hs_paserk_pid(sk + 32, pid) == -1)
			goto out;
		snprintf(deffooter, sizeof(deffooter), "{\"kid\":\"%s\"}", pid);
		footer = deffooter;
	}
	e = hs_paseto_sign(sk, argv[2], strlen(argv[2]), footer,
	    strlen(footer), "", 0, &tok);
	if (e != HS_TOKEN_OK) {
		fprintf(stderr, "hs-sign: %s\n", hs_token_strerror(e));
		goto out;
	}
	puts(tok);
	rc = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	free(tok);
	return rc;
}
