/* SPDX-License-Identifier: ISC */
/* Prometheus metrics: histogram buckets, the exposition text, /metrics over HTTP. */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "metrics.h"

static const double request_le[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10
};
static const double scan_le[] = {
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600
};
const struct hs_buckets hs_request_buckets = {
	request_le, sizeof(request_le) / sizeof(request_le[0])
};
const struct hs_buckets hs_scan_buckets = {
	scan_le, sizeof(scan_le) / sizeof(scan_le[0])
};

void
hs_hist_observe(struct hs_hist *h, const struct hs_buckets *b, double seconds)
{
	size_t	 i;

	if (!(seconds >= 0))
		seconds = 0;
	for (i = 0; i < b->n && seconds > b->le[i]; i++)
		;
	hs_m_add(&h->bucket[i], 1);
	hs_m_add(&h->sum_us, (uint64_t)(seconds * 1e6 + 0.5));
}

/* The writer's growth stops at HS_METRICS_MAX_BYTES. */
static int
mbuf_limit(void *arg, size_t more)
{
	const struct hs_jw	*w = arg;

	return w->cap + more > (size_t)HS_METRICS_MAX_BYTES ? -1 : 0;
}

void
hs_mbuf_printf(struct hs_mbuf *m, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (m->w.grow == NULL) {
		m->w.grow = mbuf_limit;
		m->w.arg = &m->w;
	}
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || hs_jw_room(&m->w, (size_t)n) != 0) {
		m->w.failed = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(m->w.p + m->w.len, m->w.cap - m->w.len, fmt, ap);
	va_end(ap);
	m->w.len += (size_t)n;
}

void
hs_mbuf_label(struct hs_mbuf *m, const char *name, const char *value)
{
	const char	*v;

	hs_mbuf_printf(m, "%s=\"", name);
	for (v = value; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			hs_mbuf_printf(m, "\\%c", *v);
		else if (*v == '\n')
			hs_mbuf_printf(m, "\\n");
		else
			hs_mbuf_printf(m, "%c", *v);
	}
	hs_mbuf_printf(m, "\"");
}

void
hs_mbuf_family(struct hs_mbuf *m, const char *name, const char *type,
    const char *help)
{
	hs_mbuf_printf(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

void
hs_mbuf_hist(struct hs_mbuf *m, const char *name, const char *labels,
    const struct hs_hist *h, const struct hs_buckets *b)
{
	const char	*sep = labels[0] != '\0' ? "," : "";
	uint64_t	 cum = 0;
	size_t		 i;

	for (i = 0; i <= b->n; i++) {
		cum += hs_m_get(&h->bucket[i]);
		if (i < b->n)
			hs_mbuf_printf(m, "%s_bucket{%s%sle=\"%g\"} %llu\n", name,
			    labels, sep, b->le[i], (unsigned long long)cum);
		else
			hs_mbuf_printf(m, "%s_bucket{%s%sle=\"+Inf\"} %llu\n",
			    name, labels, sep, (unsigned long long)cum);
	}
	hs_mbuf_printf(m, "%s_sum%s%s%s %.6f\n", name, labels[0] ? "{" : "",
	    labels, labels[0] ? "}" : "", (double)hs_m_get(&h->sum_us) / 1e6);
	hs_mbuf_printf(m, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "",
	    labels, labels[0] ? "}" : "", (unsigned long long)cum);
}

void
hs_mbuf_free(struct hs_mbuf *m)
{
	hs_jw_free(&m->w);
	memset(m, 0, sizeof(*m));
}

int
hs_metrics_listen(const char *spec, char *err, size_t errsize)
{
	return hs_tcp_listen(spec, HS_LISTEN_NUMERIC | HS_LISTEN_NONBLOCK,
	    HS_METRICS_BACKLOG, err, errsize);
}

/* *dl = ms milliseconds from now, on the monotonic clock. */
static void
deadline_in(struct timespec *dl, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, dl);
	dl->tv_sec += ms / 1000;
	dl->tv_nsec += (ms % 1000) * 1000000L;
	if (dl->tv_nsec >= 1000000000L) {
		dl->tv_sec++;
		dl->tv_nsec -= 1000000000L;
	}
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec	 now;
	long		 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

/* Writes all of p before the deadline; -1 when the client is too slow or gone. */
static int
write_all(int fd, const char *p, size_t len, const struct timespec *dl)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (ms_left(dl) == 0 || poll(&pfd, 1, (int)ms_left(dl)) == 0)
			return -1;
	}
	return 0;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Internal Server Error";
	}
}

static void
answer(int fd, int status, int head, const struct hs_mbuf *body)
{
	struct timespec	 dl;
	char		 hdr[256];
	const char	*text = body ? body->w.p : reason(status);
	size_t		 len = body ? body->w.len : strlen(text);
	int		 n;

	deadline_in(&dl, HS_METRICS_WRITE_MS);
	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n", status, reason(status),
	    body ? "text/plain; version=0.0.4; charset=utf-8" :
	    "text/plain; charset=utf-8", body ? len : len + 1,
	    status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (write_all(fd, hdr, (size_t)n, &dl) != 0 || head)
		return;
	if (write_all(fd, text, len, &dl) == 0 && body == NULL)
		(void)write_all(fd, "\n", 1, &dl);
}

/*
 * Reads the request head ("...\r\n\r\n", bare "\n\n" too) into buf within
 * the read deadline: its length, 0 when the client left first, -408 past
 * the deadline, -431 when it does not fit.  Each byte is looked at once.
 */
static long
read_head(int fd, char *buf, size_t size)
{
	struct timespec	 dl;
	struct pollfd	 pfd;
	size_t		 len = 0, i;
	ssize_t		 n;
	int		 nl = 0;

	deadline_in(&dl, HS_METRICS_READ_MS);
	for (;;) {
		if (len == size)
			return -431;
		n = recv(fd, buf + len, size - len, 0);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				return 0;
			pfd.fd = fd;
			pfd.events = POLLIN;
			if (ms_left(&dl) == 0 ||
			    poll(&pfd, 1, (int)ms_left(&dl)) == 0)
				return -408;
			continue;
		}
		for (i = len, len += (size_t)n; i < len; i++) {
			if (buf[i] == '\n') {
				if (++nl == 2)
					return (long)i + 1;
			} else if (buf[i] != '\r')
				nl = 0;
		}
	}
}

/* "GET /metrics HTTP/1.1": the status to answer; *head for a HEAD. */
static int
parse_line(const char *buf, size_t len, int *head)
{
	const char	*sp1, *sp2, *eol = memchr(buf, '\n', len);
	size_t		 tlen;

	*head = 0;
	if (eol == NULL || (sp1 = memchr(buf, ' ', (size_t)(eol - buf))) ==
	    NULL || (sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) ==
	    NULL || (size_t)(eol - sp2) < 9 || strncmp(sp2 + 1, "HTTP/1.", 7)
	    != 0)
		return 400;
	tlen = (size_t)(sp2 - sp1 - 1);
	if ((size_t)(sp1 - buf) == 4 && strncmp(buf, "HEAD", 4) == 0)
		*head = 1;
	else if ((size_t)(sp1 - buf) != 3 || strncmp(buf, "GET", 3) != 0)
		return 405;
	if (tlen < 8 || strncmp(sp1 + 1, "/metrics", 8) != 0 ||
	    (tlen > 8 && sp1[9] != '?'))
		return 404;
	return 200;
}

static void
linger_drain(int fd)
{
	struct pollfd	 pfd;
	char		 junk[4096];
	size_t		 total = 0;
	ssize_t		 n;
	int		 polls = 0;

	while (total < 16 * sizeof(junk) && polls < 2) {
		n = recv(fd, junk, sizeof(junk), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			return;
		if (n > 0) {
			total += (size_t)n;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		polls++;
		if (poll(&pfd, 1, HS_METRICS_POLL_MS / 2) == 0)
			return;
	}
}

int
hs_metrics_serve_one(int lfd, int wait_ms, hs_metrics_render render,
    void *arg)
{
	struct pollfd	 pfd;
	struct hs_mbuf	 m;
	char		 buf[HS_METRICS_MAX_REQUEST];
	long		 len;
	int		 fd, status, head = 0;

	memset(&m, 0, sizeof(m));
	pfd.fd = lfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, wait_ms) <= 0)
		return 0;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		return 0;
	len = read_head(fd, buf, sizeof(buf));
	if (len == 0)
		status = 0;
	else if (len < 0)
		status = (int)-len;
	else
		status = parse_line(buf, (size_t)len, &head);
	if (status == 200) {
		render(&m, arg);
		if (m.w.failed || m.w.p == NULL)
			status = 500;
	}
	if (status != 0)
		answer(fd, status, head, status == 200 ? &m : NULL);
	/*
	 * Half-close, then discard what the client still sends for a
	 * moment: closing with unread bytes would reset the connection and
	 * could destroy the answer before the client read it.
	 */
	shutdown(fd, SHUT_WR);
	linger_drain(fd);
	close(fd);
	hs_mbuf_free(&m);
	if (status != 200 && status != 0)
		hs_log(HS_LOG_DEBUG, "metrics_refused", "status=%d", status);
	return status;
}
