/* SPDX-License-Identifier: ISC */
/*
 * The responder's Prometheus metrics: counters in memory the supervisor
 * maps before it forks, so every worker adds to the same ones, and the
 * process that serves them on metrics_listen.
 *
 * The supervisor maps the counters (MAP_SHARED | MAP_ANONYMOUS) and binds
 * metrics_listen before any fork; workers update them with atomics only,
 * never a lock, so a worker that dies mid-update leaves nothing held.  A
 * separate child of the supervisor (restarted like a worker) answers
 * GET /metrics one connection at a time, so a slow scraper never delays
 * the supervisor or a request.  Plain CGI has no metrics: each process
 * answers one request and its counters end with it.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "metrics.h"

/* Route entries (route_count()) plus one for "other"; checked at init. */
#define SERIES_MAX	64
#define CLASSES		5	/* 1xx .. 5xx */

struct shared {
	uint64_t	 requests[SERIES_MAX][CLASSES];
	struct hs_hist	 latency[SERIES_MAX];
	uint64_t	 db_connects;
	uint64_t	 db_reconnects;
	uint64_t	 unavailable;
	uint64_t	 cache_hits;
	uint64_t	 cache_misses;
	/* One per live worker: its pid (0: free) and whether it is serving. */
	struct {
		int		 pid;
		uint64_t	 busy;
	} workers[HS_MAX_WORKERS];
};

static struct shared	*sh;
static int		 lfd = -1;
static pid_t		 server_pid;
static time_t		 server_born;
static int		 my_slot = -1;
static pid_t		 my_pid;

int
apim_init(const struct hs_config *cfg)
{
	char	 err[512];
	void	*p;

	if (cfg->metrics_listen == NULL)
		return 0;
	if (route_count() + 1 > SERIES_MAX) {
		hs_log(HS_LOG_ERROR, "metrics_failed", "error=\"more routes "
		    "than SERIES_MAX\"");
		return -1;
	}
	if ((lfd = hs_metrics_listen(cfg->metrics_listen, err,
	    sizeof(err))) == -1) {
		hs_log(HS_LOG_ERROR, "listen_failed", "metrics_listen=%s "
		    "error=\"%s\"", cfg->metrics_listen, err);
		return -1;
	}
	p = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		hs_log(HS_LOG_ERROR, "metrics_failed", "errno=%d", errno);
		close(lfd);
		lfd = -1;
		return -1;
	}
	sh = p;
	return 0;
}

/* The worker's slot, claimed on its first request. */
static int
slot(void)
{
	pid_t	 pid = getpid();
	int	 i, zero;

	if (my_slot != -1 && my_pid == pid)
		return my_slot;
	my_slot = -1;
	my_pid = pid;
	for (i = 0; i < HS_MAX_WORKERS; i++) {
		zero = 0;
		if (__atomic_compare_exchange_n(&sh->workers[i].pid, &zero,
		    (int)pid, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return my_slot = i;
	}
	return -1;
}

void
apim_worker_start(void)
{
	if (sh != NULL)
		(void)slot();
}

void
apim_begin(void)
{
	int	 i;

	if (sh != NULL && (i = slot()) != -1)
		__atomic_store_n(&sh->workers[i].busy, 1, __ATOMIC_RELAXED);
}

void
apim_end(const struct req *r, double ms)
{
	long	 s;
	int	 c, i;

	if (sh == NULL)
		return;
	s = r->matched != NULL ? route_index(r->matched) : (long)route_count();
	c = r->status / 100 - 1;
	if (c < 0 || c >= CLASSES)
		c = CLASSES - 1;
	hs_m_add(&sh->requests[s][c], 1);
	hs_hist_observe(&sh->latency[s], &hs_request_buckets, ms / 1000);
	if (r->status == 503)
		hs_m_add(&sh->unavailable, 1);
	if ((i = slot()) != -1)
		__atomic_store_n(&sh->workers[i].busy, 0, __ATOMIC_RELAXED);
}

void
apim_db_connected(int reconnect)
{
	if (sh == NULL)
		return;
	hs_m_add(&sh->db_connects, 1);
	if (reconnect)
		hs_m_add(&sh->db_reconnects, 1);
}

void
apim_token_cache(int hit)
{
	if (sh != NULL)
		hs_m_add(hit ? &sh->cache_hits : &sh->cache_misses, 1);
}

static const char *
method_name(int m)
{
	return m == M_GET ? "GET" : m == M_POST ? "POST" : m == M_DELETE ?
	    "DELETE" : m == M_PUT ? "PUT" : "other";
}

/* route="/api/v1/HostScanJob/{id}",method="GET" of series s. */
static void
series_labels(struct hs_mbuf *m, size_t s)
{
	const struct route	*rt = route_nth(s);
	char			 tmpl[256];

	if (rt == NULL) {
		hs_mbuf_printf(m, "route=\"other\",method=\"other\"");
		return;
	}
	snprintf(tmpl, sizeof(tmpl), "%s%s", route_prefix(s), rt->pattern);
	hs_mbuf_label(m, "route", tmpl);
	hs_mbuf_printf(m, ",method=\"%s\"", method_name(rt->method));
}

static void
counter(struct hs_mbuf *m, const char *name, const char *help,
    const uint64_t *v)
{
	hs_mbuf_family(m, name, "counter", help);
	hs_mbuf_printf(m, "%s %llu\n", name,
	    (unsigned long long)hs_m_get(v));
}

/*
 * Only series that have seen a request are written: routes nobody calls
 * cost nothing, and the label set stays bounded by the route table.
 */
static void
render(struct hs_mbuf *m, void *arg)
{
	struct hs_mbuf	 lab;
	size_t		 s, n = route_count() + 1;
	uint64_t	 busy = 0, workers = 0, v;
	int		 c, i, any;

	(void)arg;
	memset(&lab, 0, sizeof(lab));
	hs_mbuf_family(m, "hostscan_api_requests_total", "counter",
	    "Requests answered, by route template, method and status class.");
	for (s = 0; s < n; s++)
		for (c = 0; c < CLASSES; c++) {
			if ((v = hs_m_get(&sh->requests[s][c])) == 0)
				continue;
			hs_mbuf_printf(m, "hostscan_api_requests_total{");
			series_labels(m, s);
			hs_mbuf_printf(m, ",code=\"%dxx\"} %llu\n", c + 1,
			    (unsigned long long)v);
		}
	hs_mbuf_family(m, "hostscan_api_request_duration_seconds",
	    "histogram", "Time from a request's start to its log line, by "
	    "route template and method.");
	for (s = 0; s < n; s++) {
		for (any = 0, c = 0; c < CLASSES; c++)
			any |= hs_m_get(&sh->requests[s][c]) != 0;
		if (!any)
			continue;
		lab.w.len = 0;
		series_labels(&lab, s);
		if (lab.w.failed)
			break;
		hs_mbuf_hist(m, "hostscan_api_request_duration_seconds", lab.w.p,
		    &sh->latency[s], &hs_request_buckets);
	}
	hs_mbuf_free(&lab);
	for (i = 0; i < HS_MAX_WORKERS; i++)
		if (__atomic_load_n(&sh->workers[i].pid, __ATOMIC_RELAXED) != 0) {
			workers++;
			busy += hs_m_get(&sh->workers[i].busy);
		}
	hs_mbuf_family(m, "hostscan_api_requests_in_flight", "gauge",
	    "Requests being served now.");
	hs_mbuf_printf(m, "hostscan_api_requests_in_flight %llu\n",
	    (unsigned long long)busy);
	hs_mbuf_family(m, "hostscan_api_workers", "gauge",
	    "Worker processes alive.");
	hs_mbuf_printf(m, "hostscan_api_workers %llu\n",
	    (unsigned long long)workers);
	counter(m, "hostscan_api_db_connects_total", "Database connections "
	    "the workers made.", &sh->db_connects);
	counter(m, "hostscan_api_db_reconnects_total", "Database connections "
	    "made again after a worker's earlier one was lost.",
	    &sh->db_reconnects);
	counter(m, "hostscan_api_unavailable_total", "Answers 503 Service "
	    "Unavailable (the database was unavailable).", &sh->unavailable);
	counter(m, "hostscan_api_token_cache_hits_total", "Bearer tokens "
	    "found in a worker's cache of verified tokens.", &sh->cache_hits);
	counter(m, "hostscan_api_token_cache_misses_total", "Bearer tokens "
	    "verified and checked for revocation (not in the cache).",
	    &sh->cache_misses);
}

/*
 * The metrics server child: serves until SIGTERM (its default action: it
 * holds nothing to clean up) or until the supervisor is gone.
 */
static void
server_main(int close_fd)
{
	struct sigaction	 sa;
	sigset_t		 none;
	pid_t			 parent = getppid();

	if (close_fd != -1)
		close(close_fd);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	while (getppid() == parent)
		(void)hs_metrics_serve_one(lfd, HS_METRICS_POLL_MS, render,
		    NULL);
	hs_child_exit(0);
}

void
apim_supervise(int close_fd)
{
	if (sh == NULL || server_pid > 0 || time(NULL) <= server_born)
		return;
	server_born = time(NULL);
	server_pid = fork();
	if (server_pid == 0)
		server_main(close_fd);
	if (server_pid == -1)
		hs_log(HS_LOG_ERROR, "fork_failed", "errno=%d", errno);
	else
		hs_log(HS_LOG_INFO, "metrics_started", "metrics_pid=%ld",
		    (long)server_pid);
}

void
apim_reaped(pid_t pid)
{
	int	 i, p = (int)pid;

	if (sh == NULL)
		return;
	if (pid == server_pid) {
		server_pid = 0;
		hs_log(HS_LOG_WARN, "metrics_died", "metrics_pid=%ld",
		    (long)pid);
		return;
	}
	for (i = 0; i < HS_MAX_WORKERS; i++)
		if (__atomic_load_n(&sh->workers[i].pid, __ATOMIC_RELAXED) == p) {
			__atomic_store_n(&sh->workers[i].busy, 0,
			    __ATOMIC_RELAXED);
			__atomic_store_n(&sh->workers[i].pid, 0,
			    __ATOMIC_RELAXED);
		}
}

void
apim_stop(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		while (waitpid(server_pid, NULL, 0) == -1 && errno == EINTR)
			;
		server_pid = 0;
	}
	if (lfd != -1)
		close(lfd);
	lfd = -1;
}
