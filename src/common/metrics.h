/* SPDX-License-Identifier: ISC */
/*
 * Prometheus metrics shared by hostscan.fcgi and hostscand: counters and
 * histograms updated with atomics (they may live in memory shared by
 * forked workers), the text exposition format, and the small HTTP server
 * that answers GET /metrics.  Kept apart from common.h so that the two
 * daemons' metrics code touches no shared header but its own.
 */
#ifndef HS_METRICS_H
#define HS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/*
 * Relaxed atomics: each counter is exact on its own; a scrape may see one
 * request's counter before its histogram, which Prometheus tolerates.
 * They work across processes on MAP_SHARED memory (lock-free 64-bit).
 */
static inline void
hs_m_add(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static inline void
hs_m_sub(uint64_t *c, uint64_t v)
{
	__atomic_fetch_sub(c, v, __ATOMIC_RELAXED);
}

static inline uint64_t
hs_m_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/*
 * A histogram: one non-cumulative count per bucket (the last one is +Inf)
 * and the sum in microseconds.  Its _count is the buckets' sum when
 * written, so _count always equals the +Inf bucket.
 */
#define HS_HIST_MAX_BUCKETS	16
struct hs_hist {
	uint64_t	 bucket[HS_HIST_MAX_BUCKETS];
	uint64_t	 sum_us;
};

/* Upper bounds in seconds, ascending, without +Inf. */
struct hs_buckets {
	const double	*le;
	size_t		 n;		/* < HS_HIST_MAX_BUCKETS */
};
extern const struct hs_buckets hs_request_buckets;	/* 1 ms .. 10 s */
extern const struct hs_buckets hs_scan_buckets;		/* 0.1 s .. 1 h */

void	 hs_hist_observe(struct hs_hist *, const struct hs_buckets *,
	    double seconds);

/*
 * The exposition text as it is written (w.p, w.len); w.failed once it
 * would pass HS_METRICS_MAX_BYTES.
 */
struct hs_mbuf {
	struct hs_jw	 w;
};
void	 hs_mbuf_printf(struct hs_mbuf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A label value with \, " and newline escaped as the format requires. */
void	 hs_mbuf_label(struct hs_mbuf *, const char *name, const char *value);
/* # HELP and # TYPE of a family. */
void	 hs_mbuf_family(struct hs_mbuf *, const char *name, const char *type,
	    const char *help);
/*
 * One histogram's _bucket, _sum and _count lines; labels (may be "") is
 * written before le, e.g. route="/x",method="GET".
 */
void	 hs_mbuf_hist(struct hs_mbuf *, const char *name, const char *labels,
	    const struct hs_hist *, const struct hs_buckets *);
void	 hs_mbuf_free(struct hs_mbuf *);

/*
 * The /metrics listener: "host:port" (numeric, [v6]:port allowed), bound
 * non-blocking.  Returns the fd, or -1 with the reason in err.
 */
int	 hs_metrics_listen(const char *spec, char *err, size_t errsize);
typedef void (*hs_metrics_render)(struct hs_mbuf *, void *arg);
/*
 * Waits up to wait_ms for one connection on lfd and answers it: GET or
 * HEAD /metrics gets render's text, anything else a short error.  The
 * request is read up to HS_METRICS_MAX_REQUEST bytes within
 * HS_METRICS_READ_MS and the answer written within HS_METRICS_WRITE_MS,
 * so a slow or hostile client holds the server that long at most.
 * Returns the status answered, 0 when none came or the client left.
 */
int	 hs_metrics_serve_one(int lfd, int wait_ms, hs_metrics_render,
	    void *arg);

#endif
