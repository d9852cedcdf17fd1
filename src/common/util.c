/* SPDX-License-Identifier: ISC */
/* Numbers and strings: range-checked parsing, bounded copies, files, uuids,
 * and the TCP listener every program's host:port setting opens. */
#include <sys/socket.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common.h"

#if defined(__SANITIZE_ADDRESS__)
#define HS_HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HS_HAVE_LSAN 1
#endif
#endif
#ifdef HS_HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

int
hs_strtonum(const char *s, long long min, long long max, long long *out,
    const char **errstr)
{
	char		*end = NULL;
	long long	 v;

	*errstr = NULL;
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) {
		*errstr = "invalid";
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		*errstr = "invalid";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*errstr = "too small";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*errstr = "too large";
		return -1;
	}
	*out = v;
	return 0;
}

int
hs_strlcpy(char *dst, const char *src, size_t size)
{
	size_t	 len = strlen(src);

	if (size == 0)
		return -1;
	if (len >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, len + 1);
	return 0;
}

void *
hs_xmalloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL) {
		fputs("out of memory\n", stderr);
		abort();
	}
	return p;
}

char *
hs_strdup(const char *s)
{
	size_t	 len = strlen(s);
	char	*p = hs_xmalloc(len + 1);

	memcpy(p, s, len + 1);
	return p;
}

char *
hs_read_file(const char *path, size_t max, size_t *lenp)
{
	int		 fd = -1;
	char		*buf = NULL;
	size_t		 len = 0, cap = 0;
	ssize_t		 r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		goto fail;
	for (;;) {
		if (len == cap) {
			char	*nb;

			if (cap > max) {
				errno = EFBIG;
				goto fail;
			}
			cap = cap ? cap * 2 : 4096;
			if ((nb = realloc(buf, cap + 1)) == NULL)
				goto fail;
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	if (buf == NULL)
		buf = hs_xmalloc(1);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
fail:
	{
		int	 saved = errno;

		if (fd != -1)
			close(fd);
		free(buf);
		errno = saved;
	}
	return NULL;
}

int
hs_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hs_is_uuid(const char *s)
{
	size_t	 i;

	for (i = 0; i < HS_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return 0;
	}
	return s[HS_UUID_LEN] == '\0';
}

void
hs_uuid_random(char out[HS_UUID_LEN + 1])
{
	unsigned char	 b[16];

	randombytes_buf(b, sizeof(b));
	hs_uuid_v4(b, out);
}

void
hs_uuid_v4(const unsigned char rnd[16], char out[HS_UUID_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 b;
	size_t			 i, o = 0;

	for (i = 0; i < 16; i++) {
		b = rnd[i];
		if (i == 6)
			b = (b & 0x0f) | 0x40;
		else if (i == 8)
			b = (b & 0x3f) | 0x80;
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b >> 4];
		out[o++] = hex[b & 15];
	}
	out[o] = '\0';
}

int
hs_write_all(int fd, const void *buf, size_t n)
{
	const char	*p = buf;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * A forked child ends with _exit(2), which skips atexit handlers: stdio
 * buffers and state shared with the parent must not be flushed or torn
 * down twice.  It also skips LeakSanitizer's check at exit, so a leak in a
 * responder worker would never be reported: run that check here first.
 */
void
hs_child_exit(int rc)
{
#ifdef HS_HAVE_LSAN
	__lsan_do_leak_check();
#endif
	_exit(rc);
}

/*
 * Opens a listening TCP socket on "host:port" ("[v6]:port" too).  With
 * HS_LISTEN_NUMERIC the host must be a literal address; without it a name
 * is resolved and an empty host means every address.  -1 with err set.
 */
int
hs_tcp_listen(const char *spec, unsigned flags, int backlog, char *err,
    size_t errsize)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 host[256];
	const char	*colon = strrchr(spec, ':');
	size_t		 hlen;
	int		 fd = -1, one = 1, rc, saved = 0;

	if (colon == NULL || (hlen = (size_t)(colon - spec)) >= sizeof(host) ||
	    (hlen == 0 && (flags & HS_LISTEN_NUMERIC))) {
		snprintf(err, errsize, "%s: expected host:port", spec);
		return -1;
	}
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (flags & HS_LISTEN_NUMERIC)
		hints.ai_flags |= AI_NUMERICHOST;
	if ((rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints,
	    &res)) != 0) {
		snprintf(err, errsize, "%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    ((flags & HS_LISTEN_NONBLOCK) ? SOCK_NONBLOCK : 0),
		    ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, backlog) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, errsize, "%s: %s", spec, strerror(saved));
	return fd;
}
