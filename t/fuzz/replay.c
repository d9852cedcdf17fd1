/* SPDX-License-Identifier: ISC */
/*
 * The main() of a fuzz driver built without libFuzzer: runs the driver's
 * LLVMFuzzerTestOneInput once on every file of its seed corpus (or on the
 * files and directories named on the command line) and prints TAP, so
 * that make check replays every corpus, under the sanitizers in the
 * sanitizer build.  A crash or sanitizer report ends the process, which
 * fails the test; the line before it names the file.
 *
 * The corpus of t/fuzz/fuzz-NAME is $HOSTSCAN_SRCDIR/t/fuzz/corpus-NAME
 * (make check sets HOSTSCAN_SRCDIR; else $srcdir, else ".").
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Each file is read whole; a seed larger than this is a mistake. */
#define REPLAY_MAX_FILE	(16L * 1024 * 1024)

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 ntests, nfailed;

/*
 * The bytes go to the driver in an allocation of exactly their size, as
 * libFuzzer hands them, so that a read past the end is an ASan report.
 */
static void
run_file(const char *path)
{
	const char	*label = path, *p;
	char	*buf = NULL;
	uint8_t	*exact = NULL;
	size_t	 len = 0;

	ntests++;
	/* "corpus-NAME/FILE" reads better than the whole path. */
	for (p = path; (p = strchr(p, '/')) != NULL; p++)
		if (strchr(p + 1, '/') != NULL)
			label = p + 1;
	if ((buf = hs_read_file(path, REPLAY_MAX_FILE, &len)) == NULL) {
		printf("not ok %d - %s: %s\n", ntests, label, strerror(errno));
		nfailed++;
		goto out;
	}
	exact = hs_xmalloc(len > 0 ? len : 1);
	memcpy(exact, buf, len);
	printf("# %s (%zu bytes)\n", path, len);
	fflush(stdout);
	(void)LLVMFuzzerTestOneInput(exact, len);
	printf("ok %d - %s\n", ntests, label);
	fflush(stdout);
out:
	free(exact);
	free(buf);
}

static int
is_seed(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* A directory's files in name order, so every run replays the same way. */
static int
run_path(const char *path)
{
	struct dirent	**ents = NULL;
	struct stat	  st;
	char		  file[4096];
	int		  n, i, rc = 0;

	if (stat(path, &st) == -1) {
		printf("not ok %d - %s: %s\n", ++ntests, path, strerror(errno));
		nfailed++;
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return 0;
	}
	if ((n = scandir(path, &ents, is_seed, alphasort)) == -1) {
		printf("not ok %d - %s: %s\n", ++ntests, path, strerror(errno));
		nfailed++;
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (snprintf(file, sizeof(file), "%s/%s", path,
		    ents[i]->d_name) >= (int)sizeof(file)) {
			printf("not ok %d - %s/%s: path too long\n", ++ntests,
			    path, ents[i]->d_name);
			nfailed++;
			rc = -1;
		} else
			run_file(file);
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int
main(int argc, char *argv[])
{
	const char	*base, *name, *src;
	char		 corpus[4096];
	int		 i, before;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			(void)run_path(argv[i]);
	} else {
		base = strrchr(argv[0], '/');
		base = base ? base + 1 : argv[0];
		if (strncmp(base, "fuzz-", 5) != 0) {
			fprintf(stderr, "%s: named fuzz-NAME, or give corpus "
			    "files or directories\n", argv[0]);
			return 2;
		}
		name = base + 5;
		if ((src = getenv("HOSTSCAN_SRCDIR")) == NULL &&
		    (src = getenv("srcdir")) == NULL)
			src = ".";
		snprintf(corpus, sizeof(corpus), "%s/t/fuzz/corpus-%s", src,
		    name);
		before = ntests;
		if (run_path(corpus) == 0 && ntests == before) {
			/* A driver without seeds proves nothing. */
			printf("not ok %d - %s holds no seed\n", ++ntests,
			    corpus);
			nfailed++;
		}
	}
	printf("1..%d\n", ntests);
	return nfailed > 0;
}
