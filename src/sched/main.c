/* SPDX-License-Identifier: ISC */
/* hostscand: its command line and configuration, then the queue to SIGTERM. */
#include <sys/resource.h>

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <sodium.h>

#include "sched.h"

/*
 * The options that stand for a key of hostscan.conf: the key's row checks
 * them, with its bounds and messages, and they win over the file.
 */
static const struct keyopt {
	const char	*opt;
	const char	*key;
} keyopts[] = {
	{ "workers", "sched_workers" },
	{ "lease", "lease_seconds" },
	{ "host-timeout", "host_timeout" },
	{ "step-timeout", "step_timeout" },
	{ "max-attempts", "max_attempts" },
	{ "db-connections", "sched_db_connections" },
	{ "grace", "shutdown_grace_seconds" },
	{ "backoff", "retry_backoff_seconds" },
	{ "scan-max-bytes", "scan_max_bytes" },
	{ "metrics-listen", "sched_metrics_listen" },
	{ "zones", "zones" },
	{ "reserve-workers", "sched_reserve_workers" },
};
#define NKEYOPTS	(sizeof(keyopts) / sizeof(keyopts[0]))
/* getopt_long's value for keyopts[i] is OPT_KEY + i. */
#define OPT_KEY		1000

static void
usage(void)
{
	fprintf(stderr, "usage: hostscand [--config FILE] [--workers N] "
	    "[--lease SECONDS]\n"
	    "                 [--host-timeout SECONDS] [--step-timeout SECONDS]\n"
	    "                 [--max-attempts N] [--db-connections N] "
	    "[--grace SECONDS]\n"
	    "                 [--backoff SECONDS] [--scan-max-bytes N] "
	    "[--instance NAME]\n"
	    "                 [--metrics-listen HOST:PORT] [--zones ZONE,...]\n"
	    "                 [--reserve-workers N]\n");
	exit(HSD_EXIT_USAGE);
}

static void
on_signal(int sig)
{
	int	 saved = errno;

	(void)sig;
	/* A second signal skips what is left of the grace period. */
	atomic_fetch_add(&hsd_terminate, 1);
	if (hsd_wake_fd != -1) {
		char	 c = 0;

		(void)write(hsd_wake_fd, &c, 1);
	}
	errno = saved;
}

/* The command line's keys over what the file set; exits on a bad one. */
static void
set_keyopts(struct hs_config *cfg, const char *const val[NKEYOPTS])
{
	char	 err[512];
	size_t	 i;

	for (i = 0; i < NKEYOPTS; i++)
		if (val[i] != NULL && hs_config_set(cfg, keyopts[i].key,
		    val[i], err, sizeof(err)) == -1) {
			fprintf(stderr, "hostscand: --%s: %s\n",
			    keyopts[i].opt, err);
			hs_config_free(cfg);
			exit(HSD_EXIT_USAGE);
		}
}

int
main(int argc, char *argv[])
{
	static const struct option fixed[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "instance", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option		 longopts[NKEYOPTS + 4];
	const char		*keyval[NKEYOPTS] = { NULL };
	struct hs_config	 cfg;
	struct hs_master_keys	 mk;
	struct hsd_opts		 o;
	struct hsd_ctx		 ctx;
	struct sigaction	 sa;
	struct rlimit		 rl;
	const char		*config = NULL, *instance = NULL;
	char			 err[512], host[64];
	size_t			 i;
	int			 ch, rc = HSD_EXIT_ERR;

	memset(&o, 0, sizeof(o));
	memset(&mk, 0, sizeof(mk));
	memset(longopts, 0, sizeof(longopts));
	memcpy(longopts, fixed, sizeof(fixed));
	for (i = 0; i < NKEYOPTS; i++)
		longopts[3 + i] = (struct option){ keyopts[i].opt,
		    required_argument, NULL, OPT_KEY + (int)i };
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (ch >= OPT_KEY && ch < OPT_KEY + (int)NKEYOPTS) {
			keyval[ch - OPT_KEY] = optarg;
			continue;
		}
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'i':
			instance = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	hs_config_defaults(&cfg);
	if (hs_config_load(&cfg, hs_config_path(config), config != NULL,
	    err, sizeof(err)) == -1) {
		fprintf(stderr, "hostscand: %s\n", err);
		hs_config_free(&cfg);
		return HSD_EXIT_ERR;
	}
	set_keyopts(&cfg, keyval);
	hs_log_init("hostscand", cfg.log_level);
	if (cfg.sched_database == NULL) {
		hs_log(HS_LOG_ERROR, "startup", "error=\"sched_database is "
		    "not set in %s\"", hs_config_path(config));
		goto out;
	}
	o.workers = (int)cfg.sched_workers;
	o.lease = (int)cfg.lease_seconds;
	o.host_timeout = (int)cfg.host_timeout;
	o.step_timeout = (int)cfg.step_timeout;
	o.max_attempts = (int)cfg.max_attempts;
	o.db_conns = (int)cfg.sched_db_connections;
	o.backoff = (int)cfg.retry_backoff_seconds;
	if (o.db_conns > o.workers)
		o.db_conns = o.workers;
	o.conninfo = cfg.sched_database;
	o.master_key = cfg.master_key;
	o.connect_timeout = (int)cfg.db_connect_timeout;
	o.grace = (int)cfg.shutdown_grace;
	o.scan_max_bytes = (size_t)cfg.scan_max_bytes;
	/* At most an eighth of the pool waits for newcomers. */
	o.reserve = (int)cfg.sched_reserve_workers;
	if (o.reserve > o.workers / HS_SCHED_RESERVE_SHARE)
		o.reserve = o.workers / HS_SCHED_RESERVE_SHARE;
	if (hs_zones_parse(cfg.zones, &o.zones, err, sizeof(err)) == -1 ||
	    hs_zones_array(&o.zones, o.zones_array,
	    sizeof(o.zones_array)) == -1) {
		fprintf(stderr, "hostscand: zones: %s\n", err);
		rc = HSD_EXIT_USAGE;
		goto out;
	}
	if (instance != NULL) {
		if (strlen(instance) == 0 || hs_strlcpy(o.instance, instance,
		    sizeof(o.instance)) == -1) {
			fprintf(stderr, "hostscand: --instance must be 1..%d "
			    "bytes\n", HSD_INSTANCE_MAX - 1);
			goto out;
		}
	} else {
		if (gethostname(host, sizeof(host)) == -1)
			hs_strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		snprintf(o.instance, sizeof(o.instance), "%s:%ld", host,
		    (long)getpid());
	}

	/*
	 * glibc gives busy threads arenas of their own (up to 8 per CPU)
	 * and keeps what they free; with hundreds of mostly waiting
	 * threads that is memory held for nothing.
	 */
	mallopt(M_ARENA_MAX, HSD_MALLOC_ARENAS);
	/* Secrets must not end up in a core file. */
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
	if (sodium_init() < 0) {
		hs_log(HS_LOG_ERROR, "startup", "error=sodium_init");
		goto out;
	}
	if (o.master_key == NULL) {
		hs_log(HS_LOG_WARN, "startup", "master_key=unset "
		    "msg=\"logins will fail: no key to open credentials\"");
	} else if (hs_master_load(o.master_key, &mk, err, sizeof(err)) != 0) {
		char	 q[1024];

		hs_log(HS_LOG_ERROR, "startup", "error=%s",
		    hs_logq(q, sizeof(q), err));
		goto out;
	}
	if (ssh_init() != SSH_OK) {
		hs_log(HS_LOG_ERROR, "startup", "error=ssh_init");
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	memset(&ctx, 0, sizeof(ctx));
	ctx.opts = &o;
	ctx.mk = mk.n > 0 ? &mk : NULL;
	if ((ctx.pool = db_pool_new(&o, o.db_conns)) == NULL ||
	    schedm_start(&ctx, cfg.sched_metrics_listen) != 0)
		goto out;
	rc = queue_run(&ctx);
	schedm_stop();
	if (rc == HSD_RUN_STUCK) {
		/*
		 * A worker is still inside a network call: leave without
		 * tearing down what it uses.  Its row was released already.
		 */
		_exit(HSD_EXIT_OK);
	}
	db_pool_free(ctx.pool);
	ssh_finalize();
out:
	if (mk.n > 0)
		hs_master_free(&mk);
	hs_config_free(&cfg);
	return rc;
}
