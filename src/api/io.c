/* SPDX-License-Identifier: ISC */
/*
 * Where a request's parameters and body come from and its answer goes: a
 * FastCGI request of libfcgi, or a CGI server's environment, stdin and
 * stdout.  serve() sees only struct io.
 */
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "api.h"

/* FastCGI: the params and streams of an FCGX_Request. */
static const char *
fcgi_param(struct io *io, const char *name)
{
	FCGX_Request	*fr = io->ctx;

	return FCGX_GetParam(name, fr->envp);
}

static const char *
fcgi_param_next(struct io *io, const char *name, size_t *pos)
{
	FCGX_Request	*fr = io->ctx;
	size_t		 len = strlen(name);
	char		*e;

	if (fr->envp == NULL)
		return NULL;
	while ((e = fr->envp[*pos]) != NULL) {
		(*pos)++;
		if (strncmp(e, name, len) == 0 && e[len] == '=')
			return e + len + 1;
	}
	return NULL;
}

static long
fcgi_read(struct io *io, char *buf, size_t n)
{
	FCGX_Request	*fr = io->ctx;
	int		 r;

	if (n > 1 << 30)
		n = 1 << 30;
	r = FCGX_GetStr(buf, (int)n, fr->in);
	return r < 0 ? -1 : r;
}

static int
fcgi_write(struct io *io, const char *buf, size_t n)
{
	FCGX_Request	*fr = io->ctx;

	return FCGX_PutStr(buf, (int)n, fr->out) == (int)n ? 0 : -1;
}

void
io_fcgi_init(struct io *io, void *fcgx_request)
{
	io->param = fcgi_param;
	io->param_next = fcgi_param_next;
	io->read = fcgi_read;
	io->write = fcgi_write;
	io->ctx = fcgx_request;
}

/* CGI: the environment, stdin and stdout. */

/* Body bytes the request read from stdin (one request per process). */
static long long cgi_consumed;

static const char *
cgi_param(struct io *io, const char *name)
{
	return getenv(name);
}

static long
cgi_read(struct io *io, char *buf, size_t n)
{
	size_t	 got = 0;
	ssize_t	 r;

	while (got < n) {
		r = read(STDIN_FILENO, buf + got, n - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	cgi_consumed += (long long)got;
	return (long)got;
}

static int
cgi_write(struct io *io, const char *buf, size_t n)
{
	ssize_t	 r;

	while (n > 0) {
		r = write(STDOUT_FILENO, buf, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

void
io_cgi_init(struct io *io)
{
	io->param = cgi_param;
	io->param_next = NULL;
	io->read = cgi_read;
	io->write = cgi_write;
	io->ctx = NULL;
}

/*
 * Reads and discards what is left of the request body before a CGI
 * process exits.  A request answered before its body was read (401, 411,
 * 413, 415, ...) would otherwise leave it unread, and under mod_cgid stdin
 * is a socket: Apache's write of the body fails when the program exits
 * without reading it, and it drops the program's answer (the client gets
 * a reset or a truncated response; AH00574 apr_bucket_read() failed).
 * Reads up to the declared CONTENT_LENGTH, else to end of file (a chunked
 * body has no CONTENT_LENGTH), bounded by HS_CGI_DRAIN_MAX_BYTES and
 * HS_CGI_DRAIN_SECONDS.  The answer is ended first (end of file on stdout:
 * a shutdown where stdout is the socket stdin is, else a close), so a
 * server that waits for it need not wait for the drain.
 */
void
io_cgi_drain(void)
{
	const char	*cl = getenv("CONTENT_LENGTH");
	const char	*errstr = NULL;
	char		 buf[65536];
	struct pollfd	 pfd;
	struct timespec	 now, end;
	long long	 left = HS_CGI_DRAIN_MAX_BYTES - cgi_consumed, len;
	ssize_t		 r;
	long		 ms;

	if (shutdown(STDOUT_FILENO, SHUT_WR) == -1)
		(void)close(STDOUT_FILENO);
	if (cl != NULL && *cl != '\0' &&
	    hs_strtonum(cl, 0, LLONG_MAX, &len, &errstr) == 0 &&
	    len - cgi_consumed < left)
		left = len - cgi_consumed;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += HS_CGI_DRAIN_SECONDS;
	while (left > 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (long)(end.tv_sec - now.tv_sec) * 1000 +
		    (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0)
			break;
		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, (int)ms)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		r = read(STDIN_FILENO, buf, left < (long long)sizeof(buf) ?
		    (size_t)left : sizeof(buf));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		left -= r;
	}
}
