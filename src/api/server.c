/* SPDX-License-Identifier: ISC */
/*
 * The responder as a process: the supervisor and its workers on one
 * listening socket, plain CGI, the listening sockets, and serve(), one
 * request from start to log line.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "config.h"
#include "api.h"

static volatile sig_atomic_t got_term, got_hup, got_chld;

static void
on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
}

/* Handlers without SA_RESTART, so that blocking waits return EINTR. */
static void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* One request from start to log line. */
void
serve(struct worker *w, struct io *io)
{
	struct req	 r;
	struct timespec	 end;
	char		 qpath[HS_MAX_PATH_LEN + 8], qsub[128], qfail[96];
	double		 ms;

	apim_begin();
	req_init(&r, io, w);
	route(&r);
	/* Every handler ends its transaction; this only catches a bug. */
	if (w->in_tx) {
		hs_log(HS_LOG_ERROR, "transaction_left_open", "trace=%s",
		    r.trace);
		db_rollback(w);
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	ms = (double)(end.tv_sec - r.start.tv_sec) * 1e3 +
	    (double)(end.tv_nsec - r.start.tv_nsec) / 1e6;
	if (w->cfg->log_requests || r.status >= 500)
		hs_log(r.status >= 500 ? HS_LOG_WARN : HS_LOG_INFO, "request",
		    "trace=%s method=%.16s path=%s status=%d ms=%.2f addr=%s "
		    "sub=%s%s%s%s", r.trace, r.method,
		    hs_logq(qpath, sizeof(qpath), r.path), r.status, ms,
		    r.addr[0] ? r.addr : "-",
		    hs_logq(qsub, sizeof(qsub), r.authed ? r.claims.sub : NULL),
		    !r.authed ? "" : r.auth_cached ? " token=cached" :
		    " token=verified",
		    r.auth_fail ? " auth_fail=" : "",
		    r.auth_fail ? hs_logq(qfail, sizeof(qfail), r.auth_fail) : "");
	apim_end(&r, ms);
	req_free(&r);
}

static void
worker_init(struct worker *w, const struct hs_config *cfg, int connect)
{

	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	apim_worker_start();
	if (cfg->keyring == NULL)
		hs_log(HS_LOG_ERROR, "keyring_missing", "detail=\"no keyring "
		    "configured: every token will be refused\"");
	/*
	 * A long-lived worker reads the keyring and connects early (a
	 * database that is down now is retried per request); a CGI process
	 * does either only if its route needs it (auth.c loads the keyring
	 * on first use).
	 */
	if (connect && cfg->keyring != NULL)
		keyring_update(w, 1);
	if (connect)
		(void)db_ensure(w);
}

static void
worker_free(struct worker *w)
{
	db_close(w);
	refs_forget(w);
	hs_keyring_free(&w->keyring);
	signin_free();
}

/*
 * ppoll() runs a pending handler only when it has to wait: under constant
 * load the socket is readable at every call, and a SIGTERM that came while
 * a request was served would stay pending until the grace period ran out
 * and the supervisor's SIGKILL cut the request then being served.
 */
static void
take_pending(const sigset_t *set)
{
	struct timespec	 now = { 0, 0 };
	int		 sig;

	while ((sig = sigtimedwait(set, NULL, &now)) > 0)
		on_signal(sig);
}

/*
 * One worker: wait for a connection with SIGTERM and SIGHUP unblocked,
 * serve it with them blocked, so a SIGTERM always lets the current
 * request finish.  The listening socket is non-blocking: of the workers
 * woken for one connection, the ones that lose the accept go back to
 * waiting.
 */
static int
worker_loop(const struct hs_config *cfg, int fd)
{
	struct worker	 w;
	FCGX_Request	 fr;
	struct io	 io;
	struct pollfd	 pfd;
	struct timespec	 tick = { 1, 0 };
	sigset_t	 block, orig;
	int		 rc;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	/* The supervisor forked us with these blocked too: wait with them open. */
	sigdelset(&orig, SIGTERM);
	sigdelset(&orig, SIGINT);
	sigdelset(&orig, SIGHUP);
	worker_init(&w, cfg, 1);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, fd, 0) != 0) {
		hs_log(HS_LOG_ERROR, "fcgi_init_failed", "fd=%d", fd);
		worker_free(&w);
		return 1;
	}
	io_fcgi_init(&io, &fr);
	while (!got_term) {
		if (got_hup) {
			got_hup = 0;
			keyring_update(&w, 1);
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = ppoll(&pfd, 1, &tick, &orig);
		take_pending(&block);
		if (rc <= 0 || got_term)
			continue;
		rc = FCGX_Accept_r(&fr);
		if (rc < 0) {
			if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR ||
			    rc == -ECONNABORTED)
				continue;
			hs_log(HS_LOG_ERROR, "accept_failed", "errno=%d", -rc);
			break;
		}
		serve(&w, &io);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	worker_free(&w);
	return 0;
}

static pid_t
spawn(const struct hs_config *cfg, int fd)
{
	pid_t	 pid = fork();

	if (pid == 0) {
		hs_child_exit(worker_loop(cfg, fd));
	}
	if (pid == -1)
		hs_log(HS_LOG_ERROR, "fork_failed", "errno=%d", errno);
	return pid;
}

/* Collects dead workers and frees their slots. */
static void
reap(pid_t *pids, long nworkers, int report)
{
	pid_t	 pid;
	int	 status;
	long	 i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		apim_reaped(pid);
		for (i = 0; i < nworkers; i++) {
			if (pids[i] != pid)
				continue;
			pids[i] = 0;
			if (report)
				hs_log(HS_LOG_WARN, "worker_died", "worker=%ld "
				    "worker_pid=%ld status=%d signal=%d", i,
				    (long)pid, WIFEXITED(status) ?
				    WEXITSTATUS(status) : -1,
				    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		}
	}
}

/*
 * The supervisor: keeps nworkers children serving fd, restarts any that
 * die (at most one restart per slot per second, so a worker that dies at
 * once does not spin), forwards SIGHUP, and on SIGTERM waits up to
 * shutdown_grace seconds for the workers' current requests.
 */
int
server_run(const struct hs_config *cfg, int fd, long nworkers)
{
	pid_t		*pids = NULL;
	time_t		*born = NULL;
	sigset_t	 block, orig;
	struct timespec	 tick = { 1, 0 };
	long		 i, alive;
	int		 flags;
	time_t		 deadline;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		hs_log(HS_LOG_ERROR, "listen_socket_bad", "errno=%d", errno);
		return 1;
	}
	if (apim_init(cfg) != 0)
		return 1;
	pids = calloc((size_t)nworkers, sizeof(*pids));
	born = calloc((size_t)nworkers, sizeof(*born));
	if (pids == NULL || born == NULL)
		abort();
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &orig);
	catch_signals();
	hs_log(HS_LOG_INFO, "start", "version=%s workers=%ld", PACKAGE_VERSION,
	    nworkers);
	while (!got_term) {
		for (i = 0; i < nworkers; i++)
			if (pids[i] <= 0 && time(NULL) > born[i]) {
				born[i] = time(NULL);
				if ((pids[i] = spawn(cfg, fd)) > 0)
					hs_log(HS_LOG_INFO, "worker_started",
					    "worker=%ld worker_pid=%ld", i,
					    (long)pids[i]);
			}
		apim_supervise(fd);
		/* Sleeps until a signal or the tick, with signals unblocked. */
		(void)ppoll(NULL, 0, &tick, &orig);
		got_chld = 0;
		reap(pids, nworkers, 1);
		if (got_hup) {
			got_hup = 0;
			for (i = 0; i < nworkers; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGHUP);
		}
	}
	hs_log(HS_LOG_INFO, "stopping", "grace_seconds=%ld",
	    cfg->shutdown_grace);
	apim_stop();
	for (i = 0; i < nworkers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	deadline = time(NULL) + cfg->shutdown_grace;
	for (;;) {
		reap(pids, nworkers, 0);
		for (alive = 0, i = 0; i < nworkers; i++)
			alive += pids[i] > 0;
		if (alive == 0)
			break;
		if (time(NULL) >= deadline) {
			for (i = 0; i < nworkers; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
		}
		(void)ppoll(NULL, 0, &(struct timespec){ 0, 100000000 }, &orig);
	}
	hs_log(HS_LOG_INFO, "stopped", "workers=0");
	free(pids);
	free(born);
	return 0;
}

/* Plain CGI: one request from the environment and stdin, then exit. */
int
server_cgi(const struct hs_config *cfg)
{
	struct worker	 w;
	struct io	 io;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	worker_init(&w, cfg, 0);
	io_cgi_init(&io);
	serve(&w, &io);
	io_cgi_drain();
	worker_free(&w);
	return 0;
}

static int
listen_unix(const struct hs_config *cfg, const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	struct group		*gr;
	int			 fd = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (hs_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) != 0) {
		hs_log(HS_LOG_ERROR, "listen_failed", "path=%s error=\"path too "
		    "long\"", path);
		return -1;
	}
	/* A stale socket of an earlier run is replaced; anything else is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			hs_log(HS_LOG_ERROR, "listen_failed", "path=%s "
			    "error=\"exists and is not a socket\"", path);
			return -1;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	if (cfg->listen_group != NULL) {
		if ((gr = getgrnam(cfg->listen_group)) == NULL) {
			hs_log(HS_LOG_ERROR, "listen_failed", "path=%s "
			    "error=\"no group %s\"", path, cfg->listen_group);
			close(fd);
			return -1;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) == -1)
			goto fail;
	}
	if (chmod(path, (mode_t)cfg->listen_mode) == -1 ||
	    listen(fd, HS_LISTEN_BACKLOG) == -1)
		goto fail;
	return fd;
fail:
	hs_log(HS_LOG_ERROR, "listen_failed", "path=%s errno=%d error=\"%s\"",
	    path, errno, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

static int
listen_tcp(const char *spec)
{
	char	 err[512];
	int	 fd;

	if ((fd = hs_tcp_listen(spec, 0, HS_LISTEN_BACKLOG, err,
	    sizeof(err))) == -1)
		hs_log(HS_LOG_ERROR, "listen_failed", "listen=%s error=\"%s "
		    "(listen is unix:/path or host:port)\"", spec, err);
	return fd;
}

int
server_listen(const struct hs_config *cfg, const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(cfg, spec + 5);
	return listen_tcp(spec);
}
