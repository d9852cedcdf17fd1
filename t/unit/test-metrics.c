/* SPDX-License-Identifier: ISC */
/* src/common/metrics.c: histogram buckets, the exposition text, /metrics over a real socket. */
#include <sys/socket.h>

#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "metrics.h"
#include "tap.h"

static void
render(struct hs_mbuf *m, void *arg)
{
	hs_mbuf_family(m, "t_total", "counter", "A test counter.");
	hs_mbuf_printf(m, "t_total %d\n", *(int *)arg);
}

static int
connect_to(int lfd)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	if (getsockname(lfd, (struct sockaddr *)&sin, &len) != 0 ||
	    (fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Sends req (kernel-buffered), lets the server answer one connection, and
 * returns what came back in out; the status the server reports.
 */
static int
exchange(int lfd, const char *req, size_t reqlen, char *out, size_t outsize)
{
	int	 fd = connect_to(lfd), status, v = 7;
	size_t	 got = 0;
	ssize_t	 n;

	out[0] = '\0';
	if (fd == -1)
		return -1;
	if (reqlen > 0 && write(fd, req, reqlen) != (ssize_t)reqlen) {
		close(fd);
		return -1;
	}
	if (reqlen == 0)
		shutdown(fd, SHUT_WR);
	status = hs_metrics_serve_one(lfd, 1000, render, &v);
	while (got + 1 < outsize &&
	    (n = read(fd, out + got, outsize - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fd);
	return status;
}

int
main(void)
{
	struct hs_hist	 h;
	struct hs_mbuf	 m;
	char		 err[256], out[4096], big[HS_METRICS_MAX_REQUEST + 100];
	int		 lfd;

	memset(&h, 0, sizeof(h));
	hs_hist_observe(&h, &hs_request_buckets, 0.001);
	hs_hist_observe(&h, &hs_request_buckets, 0.0011);
	hs_hist_observe(&h, &hs_request_buckets, 99);
	hs_hist_observe(&h, &hs_request_buckets, -1);
	is_int((long long)h.bucket[0], 2, "le is inclusive; a negative time counts as 0");
	is_int((long long)h.bucket[1], 1, "0.0011 falls in the next bucket");
	is_int((long long)h.bucket[hs_request_buckets.n], 1, "99 s in +Inf");
	is_int((long long)h.sum_us, 1000 + 1100 + 99000000, "sum in microseconds");

	memset(&m, 0, sizeof(m));
	hs_mbuf_hist(&m, "x_seconds", "a=\"b\"", &h, &hs_request_buckets);
	ok(strstr(m.w.p, "x_seconds_bucket{a=\"b\",le=\"0.001\"} 2\n") != NULL,
	    "first bucket line");
	ok(strstr(m.w.p, "x_seconds_bucket{a=\"b\",le=\"+Inf\"} 4\n") != NULL,
	    "+Inf is cumulative");
	ok(strstr(m.w.p, "x_seconds_count{a=\"b\"} 4\n") != NULL,
	    "_count equals +Inf");
	ok(strstr(m.w.p, "x_seconds_sum{a=\"b\"} 99.002100\n") != NULL,
	    "_sum in seconds");
	hs_mbuf_free(&m);
	hs_mbuf_hist(&m, "y", "", &h, &hs_request_buckets);
	ok(strstr(m.w.p, "y_bucket{le=\"0.001\"} 2\n") != NULL &&
	    strstr(m.w.p, "y_count 4\n") != NULL, "no labels: no stray comma or braces");
	hs_mbuf_free(&m);
	hs_mbuf_label(&m, "route", "a\"b\\c\nd");
	is_str(m.w.p, "route=\"a\\\"b\\\\c\\nd\"", "label values escaped");
	hs_mbuf_free(&m);

	ok(hs_metrics_listen("127.0.0.1", err, sizeof(err)) == -1,
	    "listen: no port refused (%s)", err);
	ok(hs_metrics_listen("localhost:1", err, sizeof(err)) == -1,
	    "listen: a name, not a number, refused (%s)", err);
	lfd = hs_metrics_listen("127.0.0.1:0", err, sizeof(err));
	if (!ok(lfd != -1, "listen on 127.0.0.1:0"))
		return done_testing();

	is_int(exchange(lfd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 35,
	    out, sizeof(out)), 200, "GET /metrics: 200");
	ok(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0 &&
	    strstr(out, "Content-Type: text/plain; version=0.0.4") != NULL &&
	    strstr(out, "\r\n\r\n# HELP t_total A test counter.\n# TYPE "
	    "t_total counter\nt_total 7\n") != NULL, "the exposition text");
	is_int(exchange(lfd, "HEAD /metrics HTTP/1.0\n\n", 24, out,
	    sizeof(out)), 200, "HEAD, bare newlines: 200");
	ok(strstr(out, "t_total") == NULL && strstr(out, "Content-Length: ")
	    != NULL, "HEAD: headers only");
	is_int(exchange(lfd, "GET /metrics?x=1 HTTP/1.1\r\n\r\n", 29, out,
	    sizeof(out)), 200, "a query string is ignored");
	is_int(exchange(lfd, "GET /metricsx HTTP/1.1\r\n\r\n", 26, out,
	    sizeof(out)), 404, "/metricsx: 404");
	is_int(exchange(lfd, "GET / HTTP/1.1\r\n\r\n", 18, out, sizeof(out)),
	    404, "/: 404");
	is_int(exchange(lfd, "POST /metrics HTTP/1.1\r\n\r\n", 26, out,
	    sizeof(out)), 405, "POST: 405");
	ok(strstr(out, "Allow: GET, HEAD\r\n") != NULL, "with Allow");
	is_int(exchange(lfd, "GET /metrics\r\n\r\n", 16, out, sizeof(out)),
	    400, "no version: 400");
	is_int(exchange(lfd, "GET /metrics HTTP/2.0\r\n\r\n", 25, out,
	    sizeof(out)), 400, "HTTP/2.0: 400");
	is_int(exchange(lfd, "\r\n\r\n", 4, out, sizeof(out)), 400,
	    "an empty request line: 400");
	memset(big, 'a', sizeof(big));
	is_int(exchange(lfd, big, sizeof(big), out, sizeof(out)), 431,
	    "a head past %d bytes: 431", HS_METRICS_MAX_REQUEST);
	is_int(exchange(lfd, "", 0, out, sizeof(out)), 0,
	    "a client that leaves at once gets nothing");
	is_int(exchange(lfd, "GET /metrics HTTP/1.1\r\n", 23, out,
	    sizeof(out)), 408, "an unfinished head: 408 after the deadline");
	is_int(hs_metrics_serve_one(lfd, 10, render, NULL), 0,
	    "no connection: nothing served");
	close(lfd);
	return done_testing();
}
