/* SPDX-License-Identifier: ISC */
/*
 * The claimer, the worker threads, the housekeeper (heartbeat, reaper,
 * cancellations) and the watchdog (deadlines, stops) of hostscand.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched.h"

atomic_int	 hsd_terminate;
int		 hsd_wake_fd = -1;

/*
 * The claimer (main thread) hands claimed rows to the workers through a
 * ring no larger than the pool, so nothing is ever claimed that a worker
 * could not start at once.  Workers poke the self-pipe when they finish,
 * which is what lets the claimer take more.
 */
static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct hsd_job	**ring;
	size_t		 head, count, cap;
	int		 running;	/* workers with a job */
	int		 quit;
	struct hsd_slot	*slots;
	int		 nslots;
	int		 wake_rd;
	const struct hsd_ctx *ctx;
} q = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static atomic_long	 n_claimed, n_done, n_released, n_lost;

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
wake(void)
{
	char	 c = 1;

	(void)write(hsd_wake_fd, &c, 1);
}

static void
drain(int fd)
{
	char	 buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void
finish_job(const struct hsd_ctx *ctx, struct hsd_job *job,
    struct hsd_result *res, double t0)
{
	char	 q1[HSD_MAX_DESC * 2];
	PGconn	*c;
	int	 rc;

	schedm_scan(res->state, res->reason, mono() - t0);
	if (res->state == HS_QUEUED) {
		rc = -1;
		if ((c = db_acquire(ctx->pool)) != NULL) {
			rc = db_release_one(c, ctx->opts, job,
			    res->log.n ? res->log.e[res->log.n - 1].msg :
			    "released at shutdown");
			db_release(ctx->pool, c);
		}
		atomic_fetch_add(&n_released, 1);
		hs_log(HS_LOG_INFO, "scan_released", "host_scan_id=%s "
		    "attempt=%d stored=%s", job->id, job->attempt,
		    rc == 0 ? "yes" : "no");
		return;
	}
	/*
	 * Failed by the database, not by the host: the row stays Running
	 * until its lease expires and the reaper queues it again (counting
	 * the attempt, so a database that keeps failing ends the host).
	 */
	if (res->db_lost) {
		atomic_fetch_add(&n_lost, 1);
		hs_log(HS_LOG_WARN, "scan_abandoned", "host_scan_id=%s "
		    "attempt=%d desc=%s", job->id, job->attempt,
		    hs_logq(q1, sizeof(q1), res->desc));
		return;
	}
	rc = db_finish(ctx->pool, ctx->opts, job, res);
	if (rc == 1)
		atomic_fetch_add(&n_done, 1);
	else
		atomic_fetch_add(&n_lost, 1);
	hs_log(rc == 1 ? HS_LOG_INFO : HS_LOG_WARN, "scan_done",
	    "host_scan_id=%s attempt=%d status=%s reason=%s ms=%ld "
	    "stored=%s desc=%s", job->id, job->attempt,
	    hs_action_status_names[res->state],
	    hs_failure_reason_names[res->reason],
	    (long)((mono() - t0) * 1000),
	    rc == 1 ? "yes" : rc == 0 ? "fenced" : "db-error",
	    hs_logq(q1, sizeof(q1), res->desc));
}

static void *
worker_main(void *arg)
{
	struct hsd_slot		*slot = arg;
	const struct hsd_ctx	*ctx = NULL;
	struct hsd_job		*job;
	struct hsd_result	 res;
	double			 t0;

	for (;;) {
		pthread_mutex_lock(&q.mu);
		while (q.count == 0 && !q.quit)
			pthread_cond_wait(&q.cv, &q.mu);
		if (q.count == 0) {
			pthread_mutex_unlock(&q.mu);
			break;
		}
		job = q.ring[q.head];
		q.head = (q.head + 1) % q.cap;
		q.count--;
		slot->job = job;
		slot->deadline = mono() + q.ctx->opts->host_timeout;
		atomic_store(&slot->stop, STOP_NONE);
		q.running++;
		ctx = q.ctx;
		pthread_mutex_unlock(&q.mu);
		schedm_busy(1);

		t0 = mono();
		result_init(&res);
		scan_host(ctx, slot, job, &res);
		/*
		 * The store holds the row locked: a heartbeat would wait for
		 * it, and nothing is left to stop.
		 */
		pthread_mutex_lock(&q.mu);
		slot->storing = 1;
		pthread_mutex_unlock(&q.mu);
		finish_job(ctx, job, &res, t0);
		result_free(&res);

		pthread_mutex_lock(&q.mu);
		slot->job = NULL;
		slot->storing = 0;
		q.running--;
		pthread_mutex_unlock(&q.mu);
		schedm_busy(-1);
		hsd_job_free(job);
		free(job);
		wake();
	}
	return NULL;
}

/*
 * Copies (id, attempt) of the jobs being scanned (not those being
 * stored) so the lock is not held, and whether each is still within its
 * deadline.
 */
static size_t
snapshot(struct hsd_job **out, int **slot_of, int **in_time)
{
	size_t	 n = 0;
	double	 t = mono();
	int	 i;

	pthread_mutex_lock(&q.mu);
	*out = calloc((size_t)q.nslots, sizeof(**out));
	*slot_of = calloc((size_t)q.nslots, sizeof(**slot_of));
	*in_time = calloc((size_t)q.nslots, sizeof(**in_time));
	if (*out != NULL && *slot_of != NULL && *in_time != NULL)
		for (i = 0; i < q.nslots; i++)
			if (q.slots[i].job != NULL && !q.slots[i].storing) {
				hs_strlcpy((*out)[n].id, q.slots[i].job->id,
				    sizeof((*out)[n].id));
				(*out)[n].attempt = q.slots[i].job->attempt;
				(*in_time)[n] = t < q.slots[i].deadline;
				(*slot_of)[n++] = i;
			}
	pthread_mutex_unlock(&q.mu);
	return n;
}

/* Tells a slot to stop, unless it moved on to another job meanwhile. */
static void
signal_slot(int i, const struct hsd_job *j, int why)
{
	pthread_mutex_lock(&q.mu);
	if (q.slots[i].job != NULL && q.slots[i].job->attempt == j->attempt &&
	    strcmp(q.slots[i].job->id, j->id) == 0)
		atomic_store(&q.slots[i].stop, why);
	pthread_mutex_unlock(&q.mu);
}

static atomic_int hk_quit, wd_quit;

void
slot_attach_fd(struct hsd_slot *slot, int fd)
{
	pthread_mutex_lock(&q.mu);
	slot->fd = fd;
	slot->fd_shut = 0;
	pthread_mutex_unlock(&q.mu);
}

void
slot_close_fd(struct hsd_slot *slot)
{
	pthread_mutex_lock(&q.mu);
	if (slot->fd != -1)
		close(slot->fd);
	slot->fd = -1;
	slot->fd_shut = 0;
	pthread_mutex_unlock(&q.mu);
}

static const char *const stop_names[] = {
	"none", "cancelled", "lease_lost", "shutdown", "host_timeout"
};

/*
 * A worker blocked in a read or write cannot look at the clock or its
 * stop flag, and libssh restarts its timeout on every packet.  The
 * watchdog marks scans past their deadline and shuts down the socket of
 * every stopped scan, so the blocked call returns at once.  It touches no
 * database, so a slow one cannot delay it.  The descriptor is shut down,
 * never closed: only its worker closes it (slot_close_fd), under q.mu.
 */
static void *
watchdog_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&wd_quit)) {
		double	 t = mono();
		int	 i;

		pthread_mutex_lock(&q.mu);
		for (i = 0; i < q.nslots; i++) {
			struct hsd_slot	*sl = &q.slots[i];
			int		 none = STOP_NONE, why;

			if (sl->job == NULL || sl->storing)
				continue;
			if (t >= sl->deadline)
				atomic_compare_exchange_strong(&sl->stop, &none,
				    STOP_DEADLINE);
			why = atomic_load(&sl->stop);
			if (why == STOP_NONE || sl->fd == -1 || sl->fd_shut)
				continue;
			shutdown(sl->fd, SHUT_RDWR);
			sl->fd_shut = 1;
			hs_log(HS_LOG_INFO, "scan_interrupted", "host_scan_id=%s "
			    "attempt=%d why=%s", sl->job->id, sl->job->attempt,
			    stop_names[why]);
		}
		pthread_mutex_unlock(&q.mu);
		usleep(HSD_WATCH_MS * 1000);
	}
	return NULL;
}

static void
tell_slots(const struct hsd_job *snap, const int *slot_of, const int *flags,
    size_t n, int why)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (!flags[i])
			continue;
		if (why == STOP_LOST)
			hs_log(HS_LOG_WARN, "lease_lost", "host_scan_id=%s "
			    "attempt=%d", snap[i].id, snap[i].attempt);
		signal_slot(slot_of[i], &snap[i], why);
	}
}

/*
 * Heartbeat (every lease/3), cancellation poll and reaper (every
 * second), on a connection of its own so a slow claim never delays a
 * lease extension.
 */
static void *
housekeeper_main(void *arg)
{
	const struct hsd_ctx	*ctx = arg;
	const struct hsd_opts	*o = ctx->opts;
	PGconn			*c = NULL;
	double			 next_hb = 0, next_cancel = 0;
	double			 next_reap = 0, next_stats, last_stats;
	double			 next_beat = 0, next_zones = 0;
	long			 last_done = 0;

	next_stats = last_stats = mono();
	while (!atomic_load(&hk_quit)) {
		struct hsd_job	*snap = NULL, **ptrs = NULL, **live = NULL;
		int		*slot_of = NULL, *flags = NULL, *in_time = NULL;
		int		*lost = NULL;
		size_t		 n, i, nlive;
		double		 t = mono();

		if (c == NULL || PQstatus(c) != CONNECTION_OK) {
			PQfinish(c);
			if ((c = db_connect(o, "housekeeper")) == NULL) {
				sleep(1);
				continue;
			}
		}
		n = snapshot(&snap, &slot_of, &in_time);
		ptrs = calloc(n + 1, sizeof(*ptrs));
		live = calloc(n + 1, sizeof(*live));
		flags = calloc(n + 1, sizeof(*flags));
		lost = calloc(n + 1, sizeof(*lost));
		if (snap == NULL || slot_of == NULL || in_time == NULL ||
		    ptrs == NULL || live == NULL || flags == NULL ||
		    lost == NULL)
			goto next;
		for (i = 0; i < n; i++)
			ptrs[i] = &snap[i];
		/*
		 * A lease is renewed only while its host is within
		 * host_timeout: a scan past it is being stopped, and if its
		 * worker is stuck the reaper takes the host back.
		 */
		if (t >= next_hb) {
			next_hb = t + (double)o->lease / 3;
			for (i = 0, nlive = 0; i < n; i++)
				if (in_time[i])
					live[nlive++] = &snap[i];
			if (db_heartbeat(c, o, live, nlive, lost) == 0) {
				for (i = 0, nlive = 0; i < n; i++)
					flags[i] = in_time[i] ? lost[nlive++] : 0;
				schedm_leases(in_time, flags, n);
				tell_slots(snap, slot_of, flags, n, STOP_LOST);
			}
		}
		if (t >= next_cancel) {
			next_cancel = t + HSD_CANCEL_POLL_MS / 1000.0;
			if (db_cancelled(c, o, ptrs, n, flags) == 0)
				tell_slots(snap, slot_of, flags, n, STOP_CANCEL);
		}
		if (t >= next_reap) {
			int	 rq = 0, fl = 0;

			next_reap = t + HSD_REAP_MS / 1000.0;
			if (db_reap(c, o, &rq, &fl) == 0 && (rq || fl)) {
				hs_log(HS_LOG_WARN, "reaped", "requeued=%d "
				    "failed=%d", rq, fl);
				schedm_reaped(rq, fl);
				wake();
			}
		}
		if (t >= next_beat && db_beat(c, o) == 0)
			next_beat = t + HSD_BEAT_MS / 1000.0;
		if (t >= next_zones) {
			int	 mk = 0, cl = 0;

			next_zones = t + HSD_ZONE_CHECK_MS / 1000.0;
			if (db_zone_wait(c, &mk, &cl) == 0 && (mk || cl))
				hs_log(HS_LOG_INFO, "zone_wait", "waiting=%d "
				    "served_again=%d", mk, cl);
		}
		if (t >= next_stats) {
			long	 done = atomic_load(&n_done);

			if (done != last_done)
				hs_log(HS_LOG_INFO, "stats", "claimed=%ld "
				    "done=%ld released=%ld fenced=%ld "
				    "rate=%.1f", atomic_load(&n_claimed), done,
				    atomic_load(&n_released),
				    atomic_load(&n_lost),
				    (double)(done - last_done) /
				    (t - last_stats));
			last_done = done;
			last_stats = t;
			next_stats = t + 10;
		}
next:
		free(snap);
		free(slot_of);
		free(in_time);
		free(ptrs);
		free(live);
		free(flags);
		free(lost);
		usleep(100 * 1000);
	}
	if (c != NULL && PQstatus(c) == CONNECTION_OK)
		db_unregister(c, o);
	PQfinish(c);
	return NULL;
}

static int
inflight(void)
{
	int	 n;

	pthread_mutex_lock(&q.mu);
	n = q.running + (int)q.count;
	pthread_mutex_unlock(&q.mu);
	return n;
}

#define EV_WORKER	1
#define EV_NOTIFY	2

/* Waits for the self-pipe or the claimer's socket, up to ms. */
static int
wait_events(PGconn *c, int ms)
{
	struct pollfd	 pfd[2];
	int		 n = 1, ev = 0;

	pfd[0].fd = q.wake_rd;
	pfd[0].events = POLLIN;
	if (c != NULL && PQstatus(c) == CONNECTION_OK) {
		pfd[1].fd = PQsocket(c);
		pfd[1].events = POLLIN;
		n = 2;
	}
	if (ms < 0)
		ms = 0;
	if (poll(pfd, (nfds_t)n, ms) > 0) {
		if (pfd[0].revents & POLLIN) {
			drain(q.wake_rd);
			ev |= EV_WORKER;
		}
		if (n == 2 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    db_notified(c) != 0)
			ev |= EV_NOTIFY;
	}
	return ev;
}

/*
 * The jobs with a host claimed or running here, as a uuid[] literal for
 * the claim of a reserved worker (malloc'd).
 */
static char *
busy_jobs(void)
{
	size_t	 cap = (size_t)q.nslots * 2 * (HS_UUID_LEN + 1) + 3, o = 0, i;
	char	*s = hs_xmalloc(cap);
	int	 k;

	s[o++] = '{';
	pthread_mutex_lock(&q.mu);
	for (k = 0; k < q.nslots; k++)
		if (q.slots[k].job != NULL)
			o += (size_t)snprintf(s + o, cap - o, "%s%s",
			    o > 1 ? "," : "", q.slots[k].job->job_id);
	for (i = 0; i < q.count; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s%s", o > 1 ? "," : "",
		    q.ring[(q.head + i) % q.cap]->job_id);
	pthread_mutex_unlock(&q.mu);
	s[o++] = '}';
	s[o] = '\0';
	return s;
}

static void
push(struct hsd_job *jobs, int n)
{
	int	 i;

	pthread_mutex_lock(&q.mu);
	for (i = 0; i < n; i++) {
		struct hsd_job	*j = hs_xmalloc(sizeof(*j));

		*j = jobs[i];
		q.ring[(q.head + q.count) % q.cap] = j;
		q.count++;
	}
	if (n == 1)
		pthread_cond_signal(&q.cv);
	else
		pthread_cond_broadcast(&q.cv);
	pthread_mutex_unlock(&q.mu);
}

/* Rows claimed but not started yet go straight back at shutdown. */
static void
release_unstarted(PGconn *c, const struct hsd_opts *o)
{
	struct hsd_job	*j;

	for (;;) {
		pthread_mutex_lock(&q.mu);
		if (q.count == 0) {
			pthread_mutex_unlock(&q.mu);
			return;
		}
		j = q.ring[q.head];
		q.head = (q.head + 1) % q.cap;
		q.count--;
		pthread_mutex_unlock(&q.mu);
		if (c != NULL)
			db_release_one(c, o, j, "released at shutdown before "
			    "the scan started");
		hsd_job_free(j);
		free(j);
	}
}

/* Returns how many worker threads could not be joined. */
static int
shutdown_workers(PGconn *c, const struct hsd_ctx *ctx)
{
	const struct hsd_opts	*o = ctx->opts;
	double			 end = mono() + o->grace;
	struct timespec		 ts;
	int			 i, left, stuck = 0;

	release_unstarted(c, o);
	hs_log(HS_LOG_INFO, "shutdown", "running=%d grace_s=%d", inflight(),
	    o->grace);
	while ((left = inflight()) > 0 && mono() < end &&
	    atomic_load(&hsd_terminate) < 2)
		wait_events(NULL, 200);
	if (left > 0) {
		/* Past the grace: running scans release at their next step. */
		pthread_mutex_lock(&q.mu);
		for (i = 0; i < q.nslots; i++)
			if (q.slots[i].job != NULL)
				atomic_store(&q.slots[i].stop, STOP_RELEASE);
		pthread_mutex_unlock(&q.mu);
		end = mono() + 2;
		while (inflight() > 0 && mono() < end)
			wait_events(NULL, 100);
		/* Whatever is still stuck in a network call goes back too. */
		if ((left = inflight()) > 0 && c != NULL) {
			int	 n = db_release_all(c, o);

			hs_log(HS_LOG_INFO, "shutdown_release", "stuck=%d "
			    "released=%d", left, n);
		}
	}
	pthread_mutex_lock(&q.mu);
	q.quit = 1;
	pthread_cond_broadcast(&q.cv);
	pthread_mutex_unlock(&q.mu);
	/* One deadline for all: stuck threads must not add up. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	for (i = 0; i < q.nslots; i++)
		if (pthread_timedjoin_np(q.slots[i].thread, NULL, &ts) != 0)
			stuck++;
	return stuck;
}

int
queue_run(const struct hsd_ctx *ctx)
{
	const struct hsd_opts	*o = ctx->opts;
	PGconn			*c = NULL;
	pthread_attr_t		 attr;
	pthread_t		 hk, wd;
	sigset_t		 block, old;
	int			 pfd[2], i, drained = 0, spare_drained = 0,
				 notified = 0, rc = 1, stuck;
	double			 retry_at = 0, last_claim = 0;

	if (pipe2(pfd, O_NONBLOCK | O_CLOEXEC) == -1) {
		hs_log(HS_LOG_ERROR, "startup", "error=pipe");
		return HSD_EXIT_ERR;
	}
	q.wake_rd = pfd[0];
	hsd_wake_fd = pfd[1];
	q.cap = (size_t)o->workers;
	q.ring = calloc(q.cap, sizeof(*q.ring));
	q.slots = calloc((size_t)o->workers, sizeof(*q.slots));
	if (q.ring == NULL || q.slots == NULL)
		return HSD_EXIT_ERR;
	q.nslots = o->workers;
	q.ctx = ctx;

	/* Signals go to the claimer only; workers never see EINTR. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, HSD_THREAD_STACK);
	for (i = 0; i < o->workers; i++) {
		q.slots[i].index = i;
		q.slots[i].fd = -1;
		if (pthread_create(&q.slots[i].thread, &attr, worker_main,
		    &q.slots[i]) != 0) {
			hs_log(HS_LOG_ERROR, "startup", "error=pthread_create "
			    "workers=%d", i);
			return HSD_EXIT_ERR;
		}
	}
	if (pthread_create(&hk, &attr, housekeeper_main, (void *)ctx) != 0 ||
	    pthread_create(&wd, &attr, watchdog_main, NULL) != 0)
		return HSD_EXIT_ERR;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	hs_log(HS_LOG_INFO, "started", "instance=%s workers=%d lease_s=%d "
	    "host_timeout_s=%d step_timeout_s=%d max_attempts=%d db_conns=%d "
	    "zones=%s reserve=%d",
	    o->instance, o->workers, o->lease, o->host_timeout,
	    o->step_timeout, o->max_attempts, o->db_conns, o->zones_array,
	    o->reserve);

	/*
	 * Claim when there is room and either the last claim filled all
	 * the room (more may wait), a NOTIFY came, or the poll is due.  A
	 * drained queue is not re-read each time a worker finishes.  The
	 * last o->reserve free workers go only to jobs with no host here,
	 * one host per claim, so a job queued behind a large one starts at
	 * once even when the large one's hosts never answer.
	 */
	while (!atomic_load(&hsd_terminate)) {
		struct hsd_job	*jobs = NULL;
		char		*busy = NULL;
		int		 free_slots = o->workers - inflight(), n, ev;
		int		 open = free_slots - o->reserve;
		int		 spare = free_slots < o->reserve ? free_slots :
				    o->reserve;
		int		 use_open;
		double		 t = mono(), due;

		if (c == NULL || PQstatus(c) != CONNECTION_OK) {
			if (t < retry_at) {
				wait_events(NULL,
				    (int)((retry_at - t) * 1000) + 1);
				continue;
			}
			PQfinish(c);
			if ((c = db_connect(o, "claimer")) == NULL ||
			    db_listen(c) == -1) {
				PQfinish(c);
				c = NULL;
				retry_at = t + 1;
				continue;
			}
			drained = spare_drained = 0;
		}
		due = last_claim + HSD_POLL_MS / 1000.0 - t;
		if (notified || due <= 0) {
			drained = spare_drained = notified = 0;
			last_claim = t;
		}
		use_open = open > 0 && !drained;
		if (use_open || (spare > 0 && !spare_drained)) {
			int	 want = use_open ? open : 1;

			if (!use_open)
				busy = busy_jobs();
			n = db_claim(c, o, want, busy, &jobs);
			free(busy);
			if (n < 0) {
				retry_at = t + 1;
				wait_events(NULL, 1000);
				continue;
			}
			if (n > 0) {
				atomic_fetch_add(&n_claimed, n);
				push(jobs, n);
			}
			free(jobs);
			if (use_open)
				drained = n < want;
			else
				spare_drained = n < want;
			continue;
		}
		ev = wait_events(c, free_slots == 0 || due > 1 ? HSD_POLL_MS :
		    (int)(due * 1000) + 1);
		if (ev & EV_NOTIFY)
			notified = 1;
	}
	stuck = shutdown_workers(c, ctx);
	atomic_store(&hk_quit, 1);
	atomic_store(&wd_quit, 1);
	pthread_join(hk, NULL);
	pthread_join(wd, NULL);
	hs_log(HS_LOG_INFO, "stopped", "instance=%s claimed=%ld done=%ld "
	    "released=%ld stuck_threads=%d", o->instance,
	    atomic_load(&n_claimed), atomic_load(&n_done),
	    atomic_load(&n_released), stuck);
	PQfinish(c);
	if (stuck == 0) {
		free(q.ring);
		free(q.slots);
		close(q.wake_rd);
		close(hsd_wake_fd);
		hsd_wake_fd = -1;
	}
	/* The database is clean either way; stuck threads still use the rest. */
	rc = stuck ? HSD_RUN_STUCK : HSD_EXIT_OK;
	return rc;
}
