/* SPDX-License-Identifier: ISC */
/*
 * hostscand's Prometheus metrics: counters the worker and housekeeper
 * threads bump with atomics (no lock a scan could wait on), and one
 * thread that answers GET /metrics on sched_metrics_listen, one
 * connection at a time, reading the queue's depth from the database at
 * each scrape on a connection of its own under a statement timeout.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sched.h"
#include "metrics.h"

static struct {
	uint64_t	 scans[HS_N_ACTION_STATUS][HS_N_FAILURE_REASON];
	uint64_t	 released;
	struct hs_hist	 duration;
	uint64_t	 busy;
	uint64_t	 renewed;
	uint64_t	 lost;
	uint64_t	 reaped_requeued;
	uint64_t	 reaped_failed;
} m;

static const struct hsd_ctx	*mctx;
static PGconn			*mdb;		/* the metrics thread's own */
static pthread_t		 thread;
static int			 lfd = -1, running;
static atomic_int		 quit;

void
schedm_scan(int state, int reason, double seconds)
{
	if (state < 0 || state >= HS_N_ACTION_STATUS)
		state = HS_UNKNOWN;
	if (reason < 0 || reason >= HS_N_FAILURE_REASON)
		reason = 0;
	if (state == HS_QUEUED) {
		hs_m_add(&m.released, 1);
		return;
	}
	hs_m_add(&m.scans[state][reason], 1);
	hs_hist_observe(&m.duration, &hs_scan_buckets, seconds);
}

void
schedm_busy(int delta)
{
	if (delta > 0)
		hs_m_add(&m.busy, (uint64_t)delta);
	else
		hs_m_sub(&m.busy, (uint64_t)-delta);
}

void
schedm_leases(const int *in_time, const int *lost, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (lost[i])
			hs_m_add(&m.lost, 1);
		else if (in_time[i])
			hs_m_add(&m.renewed, 1);
}

void
schedm_reaped(int requeued, int failed)
{
	hs_m_add(&m.reaped_requeued, (uint64_t)requeued);
	hs_m_add(&m.reaped_failed, (uint64_t)failed);
}

/* The queue's depth now; -1 when the database did not answer in time. */
static int
queue_depth(long long depth[2])
{
	if (mdb != NULL && PQstatus(mdb) != CONNECTION_OK) {
		PQfinish(mdb);
		mdb = NULL;
	}
	if (mdb == NULL) {
		if ((mdb = db_connect(mctx->opts, "metrics")) == NULL)
			return -1;
		if (db_set_timeout(mdb, HS_METRICS_DB_TIMEOUT_MS) != 0) {
			PQfinish(mdb);
			mdb = NULL;
			return -1;
		}
	}
	return db_queue_depth(mdb, depth);
}

static void
counter(struct hs_mbuf *b, const char *name, const char *help,
    const uint64_t *v)
{
	hs_mbuf_family(b, name, "counter", help);
	hs_mbuf_printf(b, "%s %llu\n", name, (unsigned long long)hs_m_get(v));
}

static void
render(struct hs_mbuf *b, void *arg)
{
	long long	 depth[2];
	uint64_t	 v;
	int		 ok, s, r;

	(void)arg;
	ok = queue_depth(depth) == 0;
	hs_mbuf_family(b, "hostscand_queue_hosts", "gauge", "Hosts in the "
	    "queue by state, read from the database at this scrape (absent "
	    "when it did not answer).");
	if (ok)
		hs_mbuf_printf(b, "hostscand_queue_hosts{state=\"Queued\"} %lld\n"
		    "hostscand_queue_hosts{state=\"Running\"} %lld\n",
		    depth[0], depth[1]);
	hs_mbuf_family(b, "hostscand_queue_query_ok", "gauge", "1 when this "
	    "scrape's queue query answered within its timeout, else 0.");
	hs_mbuf_printf(b, "hostscand_queue_query_ok %d\n", ok);
	hs_mbuf_family(b, "hostscand_scans_total", "counter", "Scans this "
	    "instance ended, by outcome (HostScanJob status) and "
	    "failureReason.");
	for (s = 0; s < HS_N_ACTION_STATUS; s++)
		for (r = 0; r < HS_N_FAILURE_REASON; r++) {
			if ((v = hs_m_get(&m.scans[s][r])) == 0)
				continue;
			hs_mbuf_printf(b, "hostscand_scans_total{");
			hs_mbuf_label(b, "outcome", hs_action_status_names[s]);
			hs_mbuf_printf(b, ",");
			hs_mbuf_label(b, "reason", hs_failure_reason_names[r]);
			hs_mbuf_printf(b, "} %llu\n", (unsigned long long)v);
		}
	counter(b, "hostscand_scans_released_total", "Scans given back to "
	    "the queue unfinished (shutdown, lost lease).", &m.released);
	hs_mbuf_family(b, "hostscand_scan_duration_seconds", "histogram",
	    "Time from a scan's start to its result, of the scans ended.");
	hs_mbuf_hist(b, "hostscand_scan_duration_seconds", "", &m.duration,
	    &hs_scan_buckets);
	hs_mbuf_family(b, "hostscand_workers_busy", "gauge", "Worker threads "
	    "scanning or storing a host now.");
	hs_mbuf_printf(b, "hostscand_workers_busy %llu\n",
	    (unsigned long long)hs_m_get(&m.busy));
	hs_mbuf_family(b, "hostscand_workers", "gauge", "Worker threads "
	    "(sched_workers).");
	hs_mbuf_printf(b, "hostscand_workers %d\n", mctx->opts->workers);
	counter(b, "hostscand_lease_renewals_total", "Leases the heartbeat "
	    "extended.", &m.renewed);
	counter(b, "hostscand_leases_lost_total", "Leases the heartbeat "
	    "found taken (the scan is stopped).", &m.lost);
	hs_mbuf_family(b, "hostscand_leases_reaped_total", "counter",
	    "Expired leases of any instance this one's reaper took back, by "
	    "what became of the host.");
	hs_mbuf_printf(b, "hostscand_leases_reaped_total{action=\"requeued\"} "
	    "%llu\nhostscand_leases_reaped_total{action=\"failed\"} %llu\n",
	    (unsigned long long)hs_m_get(&m.reaped_requeued),
	    (unsigned long long)hs_m_get(&m.reaped_failed));
}

static void *
serve_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&quit))
		(void)hs_metrics_serve_one(lfd, HS_METRICS_POLL_MS, render,
		    NULL);
	PQfinish(mdb);
	mdb = NULL;
	return NULL;
}

int
schedm_start(const struct hsd_ctx *ctx, const char *spec)
{
	sigset_t	 block, old;
	char		 err[512];
	int		 rc;

	if (spec == NULL)
		return 0;
	mctx = ctx;
	if ((lfd = hs_metrics_listen(spec, err, sizeof(err))) == -1) {
		hs_log(HS_LOG_ERROR, "startup", "metrics_listen=%s error=\"%s\"",
		    spec, err);
		return -1;
	}
	/* SIGTERM is the claimer's to take. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&thread, NULL, serve_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		hs_log(HS_LOG_ERROR, "startup", "error=pthread_create "
		    "thread=metrics");
		close(lfd);
		lfd = -1;
		return -1;
	}
	running = 1;
	hs_log(HS_LOG_INFO, "metrics_started", "metrics_listen=%s", spec);
	return 0;
}

void
schedm_stop(void)
{
	if (!running)
		return;
	atomic_store(&quit, 1);
	pthread_join(thread, NULL);
	running = 0;
	close(lfd);
	lfd = -1;
}
