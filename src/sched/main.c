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

static void
usage(void)
{
	fprintf(stderr, "usage: hostscand [--config FILE] [--workers N] "
	    "[--lease SECONDS]\n"
	    "                 [--host-timeout SECONDS] [--step-timeout SECONDS]\n"
	    "                 [--max-attempts N] [--db-connections N] "
	    "[--grace SECONDS]\n"
	    "                 [--backoff SECONDS] [--scan-max-bytes N] "
	    "[--instance NAME]\n");
	exit(2);
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

static long long
number(const char *opt, const char *s, long long min, long long max)
{
	long long	 v;
	const char	*errstr;

	if (hs_strtonum(s, min, max, &v, &errstr) == -1) {
		fprintf(stderr, "hostscand: --%s %s is %s (allowed "
		    "%lld..%lld)\n", opt, s, errstr, min, max);
		exit(2);
	}
	return v;
}

/* Command line, else config file, else built-in default. */
static void
pick(int *v, long from_config, int def)
{
	if (*v < 0)
		*v = from_config > 0 ? (int)from_config : def;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' },
		{ "lease", required_argument, NULL, 'l' },
		{ "host-timeout", required_argument, NULL, 'H' },
		{ "step-timeout", required_argument, NULL, 'S' },
		{ "max-attempts", required_argument, NULL, 'm' },
		{ "db-connections", required_argument, NULL, 'd' },
		{ "grace", required_argument, NULL, 'g' },
		{ "backoff", required_argument, NULL, 'b' },
		{ "scan-max-bytes", required_argument, NULL, 'M' },
		{ "instance", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct hs_config	 cfg;
	struct hs_master_keys	 mk;
	struct hsd_opts		 o;
	struct hsd_ctx		 ctx;
	struct sigaction	 sa;
	struct rlimit		 rl;
	const char		*config = NULL, *instance = NULL;
	char			 err[512], host[64];
	long long		 scan_max = -1;
	int			 ch, rc = 1, grace = -1;

	memset(&o, 0, sizeof(o));
	memset(&mk, 0, sizeof(mk));
	/* -1: not on the command line; the config file or the default decides. */
	o.workers = o.lease = o.host_timeout = o.step_timeout = -1;
	o.max_attempts = o.db_conns = o.backoff = -1;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'w':
			o.workers = number("workers", optarg, 1,
			    HSD_MAX_WORKERS);
			break;
		case 'l':
			o.lease = number("lease", optarg, HSD_MIN_LEASE,
			    HSD_MAX_LEASE);
			break;
		case 'H':
			o.host_timeout = number("host-timeout", optarg, 1,
			    HSD_MAX_HOST_TIMEOUT);
			break;
		case 'S':
			o.step_timeout = number("step-timeout", optarg, 1,
			    HSD_MAX_STEP_TIMEOUT);
			break;
		case 'm':
			o.max_attempts = number("max-attempts", optarg, 1,
			    HSD_MAX_MAX_ATTEMPTS);
			break;
		case 'd':
			o.db_conns = number("db-connections", optarg, 1,
			    HSD_MAX_DB_CONNS);
			break;
		case 'g':
			grace = number("grace", optarg, 0, 3600);
			break;
		case 'b':
			o.backoff = number("backoff", optarg, 0,
			    HSD_MAX_BACKOFF);
			break;
		case 'M':
			scan_max = number("scan-max-bytes", optarg,
			    HS_MIN_SCAN_MAX_BYTES, HS_MAX_SCAN_MAX_BYTES);
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
		return 1;
	}
	hs_log_init("hostscand", cfg.log_level);
	if (cfg.sched_database == NULL) {
		hs_log(HS_LOG_ERROR, "startup", "error=\"sched_database is "
		    "not set in %s\"", hs_config_path(config));
		goto out;
	}
	pick(&o.workers, cfg.sched_workers, HSD_DEFAULT_WORKERS);
	pick(&o.lease, cfg.lease_seconds, HSD_DEFAULT_LEASE);
	pick(&o.host_timeout, cfg.host_timeout, HSD_DEFAULT_HOST_TIMEOUT);
	pick(&o.step_timeout, cfg.step_timeout, HSD_DEFAULT_STEP_TIMEOUT);
	pick(&o.max_attempts, cfg.max_attempts, HSD_DEFAULT_MAX_ATTEMPTS);
	pick(&o.db_conns, cfg.sched_db_connections, HSD_DEFAULT_DB_CONNS);
	if (o.backoff < 0)
		o.backoff = cfg.retry_backoff_seconds >= 0 ?
		    (int)cfg.retry_backoff_seconds : HSD_DEFAULT_BACKOFF;
	if (o.db_conns > o.workers)
		o.db_conns = o.workers;
	o.conninfo = cfg.sched_database;
	o.master_key = cfg.master_key;
	o.connect_timeout = (int)cfg.db_connect_timeout;
	o.grace = grace >= 0 ? grace : (int)cfg.shutdown_grace;
	o.scan_max_bytes = (size_t)(scan_max >= 0 ? scan_max :
	    cfg.scan_max_bytes);
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
	if ((ctx.pool = db_pool_new(&o, o.db_conns)) == NULL)
		goto out;
	rc = queue_run(&ctx);
	if (rc == 3) {
		/*
		 * A worker is still inside a network call: leave without
		 * tearing down what it uses.  Its row was released already.
		 */
		_exit(0);
	}
	db_pool_free(ctx.pool);
	ssh_finalize();
out:
	if (mk.n > 0)
		hs_master_free(&mk);
	hs_config_free(&cfg);
	return rc;
}
