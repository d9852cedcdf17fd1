/* SPDX-License-Identifier: ISC */
/*
 * Where a request's parameters and body come from and its answer goes: a
 * FastCGI request of libfcgi, or a CGI server's environment, stdin and
 * stdout.  serve() sees only struct io.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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
