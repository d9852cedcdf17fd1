/* SPDX-License-Identifier: ISC */
/* hostscan.fcgi main(): options, config, then one of three ways to serve. */
#include <sys/socket.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "api.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: hostscan.fcgi [--config FILE] "
	    "[--listen unix:/path|host:port] [--workers N]\n"
	    "  With --listen (or \"listen\" in the config) it binds the socket "
	    "and runs N workers;\n"
	    "  with a listening socket on fd 0 (spawn-fcgi, systemd) it serves "
	    "that;\n"
	    "  under a CGI server (GATEWAY_INTERFACE set) it answers one "
	    "request.\n");
}

/* fd 0 is a listening socket when started by spawn-fcgi or systemd. */
static int
fd0_listening(void)
{
	int		 v = 0;
	socklen_t	 len = sizeof(v);

	return getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &v,
	    &len) == 0 && v;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct hs_config cfg;
	const char	*config = NULL, *listen_arg = NULL, *errstr = NULL;
	const char	*cgi;
	long long	 workers = -1;
	char		 err[512];
	int		 ch, fd, rc;

	while ((ch = getopt_long(argc, argv, "c:l:w:hV", longopts, NULL)) != -1)
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'l':
			listen_arg = optarg;
			break;
		case 'w':
			if (hs_strtonum(optarg, 1, HS_MAX_WORKERS, &workers,
			    &errstr) != 0) {
				fprintf(stderr, "hostscan.fcgi: --workers %s: "
				    "%s (1..%ld)\n", optarg, errstr,
				    HS_MAX_WORKERS);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hostscan.fcgi %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fputs("hostscan.fcgi: libsodium failed to initialise\n", stderr);
		return 1;
	}
	hs_config_defaults(&cfg);
	if (hs_config_load(&cfg, hs_config_path(config), config != NULL, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "hostscan.fcgi: %s\n", err);
		return 1;
	}
	hs_log_init("hostscan.fcgi", cfg.log_level);
	if (workers > 0)
		cfg.workers = (long)workers;
	cgi = getenv("GATEWAY_INTERFACE");
	if (listen_arg == NULL && fd0_listening()) {
		rc = server_run(&cfg, STDIN_FILENO, cfg.workers);
	} else if (listen_arg == NULL && ((cgi != NULL && *cgi != '\0') ||
	    getenv("REQUEST_METHOD") != NULL)) {
		rc = server_cgi(&cfg);
	} else if (listen_arg != NULL || cfg.listen != NULL) {
		if ((fd = server_listen(&cfg, listen_arg ? listen_arg :
		    cfg.listen)) == -1)
			rc = 1;
		else
			rc = server_run(&cfg, fd, cfg.workers);
	} else {
		fputs("hostscan.fcgi: nothing to serve: no --listen, no "
		    "\"listen\" in the config, no listening socket on fd 0 and "
		    "no CGI environment\n", stderr);
		rc = 2;
	}
	hs_config_free(&cfg);
	return rc;
}
