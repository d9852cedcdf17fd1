/*
 * One host's scan: resolve, connect, handshake, trust, login, inventory,
 * each step bounded by the host's deadline and the slot's stop flag.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <sodium.h>

#include "sched.h"

/* Host key algorithms by family, most preferred first. */
static const char *const hostkey_families[] = {
	"ssh-ed25519",
	"ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521",
	"rsa-sha2-512,rsa-sha2-256",
};
#define N_FAMILIES (sizeof(hostkey_families) / sizeof(hostkey_families[0]))

struct scan {
	const struct hsd_ctx	*ctx;
	struct hsd_slot		*slot;
	const struct hsd_job	*job;
	struct hsd_result	*res;
	double			 start, deadline;
	struct addrinfo		*ai;		/* resolved addresses */
	char			 addr[INET6_ADDRSTRLEN + 8];
	ssh_session		 ssh;
	struct hsd_host		 host;
	char			 fp_sha256[64];
	char			 fp_md5[64];
	char			 fp_sha1[48];
	int			 probing;	/* other key families: quiet */
};

double
now_epoch(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
result_init(struct hsd_result *r)
{
	memset(r, 0, sizeof(*r));
	r->state = HS_FAILED;
	r->reason = R_UNKNOWN;
}

void
result_free(struct hsd_result *r)
{
	size_t	 i;

	for (i = 0; i < r->log.n; i++)
		free(r->log.e[i].msg);
	r->log.n = 0;
	free(r->key_type);
	free(r->key_b64);
	free(r->fingerprint);
	free(r->address);
	if (r->inv != NULL) {
		inventory_free(r->inv);
		free(r->inv);
	}
	r->key_type = r->key_b64 = r->fingerprint = r->address = NULL;
	r->inv = NULL;
}

/*
 * Appends to the host's scan log (written with the result, so one host
 * costs one round trip when it fails early) and mirrors the line to the
 * daemon's own log.  Messages never contain secrets: callers pass only
 * names, addresses, fingerprints and library error strings.
 */
void
result_log(struct hsd_result *r, const char *level, const char *step,
    const char *fmt, ...)
{
	struct hsd_log_entry	*e;
	char			 msg[HSD_MAX_LOG_MSG], q[HSD_MAX_LOG_MSG * 2];
	va_list			 ap;
	enum hs_log_level	 lvl = HS_LOG_DEBUG;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_scrub(msg);
	if (strcmp(level, "warning") == 0)
		lvl = HS_LOG_WARN;
	else if (strcmp(level, "error") == 0)
		lvl = HS_LOG_INFO;
	hs_log(lvl, "scan_step", "host_scan_id=%s attempt=%d step=%s msg=%s",
	    r->id, r->attempt, step, hs_logq(q, sizeof(q), msg));
	if (r->log.n == HSD_MAX_LOG_ENTRIES) {
		r->log.dropped++;
		return;
	}
	/* Keep the last slot for the result line. */
	if (r->log.n == HSD_MAX_LOG_ENTRIES - 1 && strcmp(step, "result")) {
		r->log.dropped++;
		return;
	}
	e = &r->log.e[r->log.n++];
	e->at = now_epoch();
	hs_strlcpy(e->level, level, sizeof(e->level));
	hs_strlcpy(e->step, step, sizeof(e->step));
	e->msg = hs_strdup(msg);
}

static void
fail(struct scan *s, int state, int reason, const char *step,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
fail(struct scan *s, int state, int reason, const char *step,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(s->res->desc, sizeof(s->res->desc), fmt, ap);
	va_end(ap);
	utf8_scrub(s->res->desc);
	s->res->state = state;
	s->res->reason = reason;
	result_log(s->res, state == HS_CANCELLED || s->probing ? "info" :
	    "error", step, "%s%s", s->probing ? "probing other host keys: " :
	    "", s->res->desc);
}

/*
 * A scan stops when its job was cancelled, when its lease was lost, when
 * it passed host_timeout, or when the daemon is shutting down past its
 * grace: at the next step ("before"), or at once ("during") when the
 * watchdog shut its connection down.  A release leaves the result state
 * Queued: the worker re-queues the row.
 */
static int
stop_now(struct scan *s, const char *step, const char *when)
{
	switch (atomic_load(&s->slot->stop)) {
	case STOP_NONE:
		return 0;
	case STOP_CANCEL:
		fail(s, HS_CANCELLED, R_NO_ERROR, step,
		    "cancelled while running (%s %s)", when, step);
		return 1;
	case STOP_LOST:
		fail(s, HS_FAILED, R_TIMEOUT, step,
		    "lease lost %s %s; another attempt owns the host", when,
		    step);
		return 1;
	case STOP_DEADLINE:
		fail(s, HS_FAILED, R_TIMEOUT, step, "host_timeout (%d s) "
		    "reached %s %s", s->ctx->opts->host_timeout, when, step);
		return 1;
	default:
		s->res->state = HS_QUEUED;
		result_log(s->res, "info", step,
		    "scheduler shutting down: released %s %s", when, step);
		return 1;
	}
}

static int
stopped(struct scan *s, const char *before)
{
	return stop_now(s, before, "before");
}

/* After a failed network call: was it the watchdog? */
static int
interrupted(struct scan *s, const char *step)
{
	return stop_now(s, step, "during");
}

/* Seconds left for one step: the step timeout within the host deadline. */
static double
step_budget(const struct scan *s)
{
	double	 left = s->deadline - mono();
	double	 step = (double)s->ctx->opts->step_timeout;

	return left < step ? left : step;
}

static void
fmt_addr(const struct sockaddr *sa, char *out, size_t size)
{
	char	 ip[INET6_ADDRSTRLEN];
	int	 port;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
		snprintf(out, size, "[%s]:%d", ip, port);
	} else {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
		snprintf(out, size, "%s:%d", ip, port);
	}
}

static int
resolve(struct scan *s)
{
	struct addrinfo	 hints;
	char		 port[8];
	int		 rc;
	const char	*dns = s->job->dns, *ip = s->job->ip;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%d", s->job->port);
	if (dns != NULL) {
		rc = getaddrinfo(dns, port, &hints, &s->ai);
		if (rc == 0) {
			result_log(s->res, "info", "resolve", "%s resolved",
			    dns);
			return 0;
		}
		s->ai = NULL;
		if (ip == NULL) {
			fail(s, HS_FAILED, R_INVALID_HOST_NAME, "resolve",
			    "host name %s does not resolve: %s", dns,
			    gai_strerror(rc));
			return -1;
		}
		result_log(s->res, "warning", "resolve",
		    "host name %s does not resolve (%s); using ipAddress %s",
		    dns, gai_strerror(rc), ip);
	}
	hints.ai_flags = AI_NUMERICHOST;
	if ((rc = getaddrinfo(ip, port, &hints, &s->ai)) != 0) {
		s->ai = NULL;
		fail(s, HS_FAILED, R_INVALID_HOST_NAME, "resolve",
		    "ipAddress %s is not usable: %s", ip, gai_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * Non-blocking connect so that a silent network costs the step budget,
 * not the kernel's SYN retry schedule.  Every address is tried in turn.
 */
static int
tcp_connect(struct scan *s)
{
	struct addrinfo	*a;
	char		 why[256] = "no address";
	int		 fd = -1, err, reason = R_FAILED_TO_CONNECT;

	for (a = s->ai; a != NULL; a = a->ai_next) {
		struct pollfd	 pfd;
		socklen_t	 len = sizeof(err);
		double		 budget;
		int		 one = 1, rc;

		fmt_addr(a->ai_addr, s->addr, sizeof(s->addr));
		if ((budget = step_budget(s)) <= 0) {
			snprintf(why, sizeof(why), "no time left to connect "
			    "to %s within the host deadline of %d s", s->addr,
			    s->ctx->opts->host_timeout);
			reason = R_TIMEOUT;
			break;
		}
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, a->ai_protocol);
		if (fd == -1) {
			snprintf(why, sizeof(why), "socket: %s",
			    strerror(errno));
			continue;
		}
		slot_attach_fd(s->slot, fd);
		rc = connect(fd, a->ai_addr, a->ai_addrlen);
		if (rc == -1 && errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			do
				rc = poll(&pfd, 1, (int)(budget * 1000) + 1);
			while (rc == -1 && errno == EINTR);
			if (rc == 0) {
				snprintf(why, sizeof(why), "connection to %s "
				    "timed out after %.0f s", s->addr, budget);
				slot_close_fd(s->slot);
				fd = -1;
				continue;
			}
			err = 0;
			if (rc == -1)
				err = errno;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
			    &len) == -1)
				err = errno;
			rc = err ? -1 : 0;
			errno = err;
		}
		if (rc == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
			result_log(s->res, "info", "connect", "connected to %s",
			    s->addr);
			free(s->res->address);
			s->res->address = hs_strdup(s->addr);
			return fd;
		}
		if (errno == ECONNREFUSED)
			snprintf(why, sizeof(why), "connection refused by %s",
			    s->addr);
		else
			snprintf(why, sizeof(why), "cannot connect to %s: %s",
			    s->addr, strerror(errno));
		slot_close_fd(s->slot);
		fd = -1;
		if (interrupted(s, "connect"))
			return -1;
	}
	fail(s, HS_FAILED, reason, "connect", "%s", why);
	return -1;
}

static int
family_of(const char *key_type)
{
	if (key_type == NULL)
		return -1;
	if (strcmp(key_type, "ssh-ed25519") == 0)
		return 0;
	if (strncmp(key_type, "ecdsa-sha2-", 11) == 0)
		return 1;
	if (strcmp(key_type, "ssh-rsa") == 0 ||
	    strncmp(key_type, "rsa-sha2-", 9) == 0)
		return 2;
	return -1;
}

/* The host key algorithm list: one family only, or all with pref first. */
static void
hostkey_list(int only, int pref, char *out, size_t size)
{
	size_t	 i;

	out[0] = '\0';
	if (only >= 0) {
		hs_strlcpy(out, hostkey_families[only], size);
		return;
	}
	if (pref >= 0)
		hs_strlcpy(out, hostkey_families[pref], size);
	for (i = 0; i < N_FAMILIES; i++) {
		if ((int)i == pref)
			continue;
		if (out[0] != '\0')
			strncat(out, ",", size - strlen(out) - 1);
		strncat(out, hostkey_families[i], size - strlen(out) - 1);
	}
}

void
scan_set_timeout(ssh_session ssh, double secs)
{
	long	 sec, usec;

	if (secs < 0.001)
		secs = 0.001;
	sec = (long)secs;
	usec = (long)((secs - (double)sec) * 1e6);
	/* libssh treats 0 as "no timeout": never hand it a zero. */
	if (sec == 0 && usec == 0)
		usec = 1000;
	ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT, &sec);
	ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT_USEC, &usec);
}

/* libssh closes its duplicate of the socket, then the slot its own. */
static void
ssh_close(struct scan *s)
{
	if (s->ssh != NULL) {
		ssh_disconnect(s->ssh);
		ssh_free(s->ssh);
	}
	s->ssh = NULL;
	slot_close_fd(s->slot);
}

void
fingerprint_sha256(const unsigned char *hash, size_t len, char *out,
    size_t outsize)
{
	char	 b64[48];

	sodium_bin2base64(b64, sizeof(b64), hash, len,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	snprintf(out, outsize, "SHA256:%s", b64);
}

static int
key_facts(struct scan *s)
{
	ssh_key		 key = NULL;
	unsigned char	*h = NULL;
	char		*b64 = NULL;
	const char	*type;
	size_t		 hlen, i, o;
	int		 rc = -1;

	if (ssh_get_server_publickey(s->ssh, &key) != SSH_OK)
		goto out;
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &h,
	    &hlen) != 0)
		goto out;
	fingerprint_sha256(h, hlen, s->fp_sha256, sizeof(s->fp_sha256));
	ssh_clean_pubkey_hash(&h);
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_MD5, &h,
	    &hlen) != 0)
		goto out;
	memcpy(s->fp_md5, "MD5:", 5);
	o = 4;
	for (i = 0; i < hlen && o + 4 < sizeof(s->fp_md5); i++)
		o += (size_t)snprintf(s->fp_md5 + o, sizeof(s->fp_md5) - o,
		    i ? ":%02x" : "%02x", h[i]);
	ssh_clean_pubkey_hash(&h);
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA1, &h,
	    &hlen) != 0)
		goto out;
	for (i = 0, o = 0; i < hlen && o + 3 < sizeof(s->fp_sha1); i++)
		o += (size_t)snprintf(s->fp_sha1 + o, sizeof(s->fp_sha1) - o,
		    "%02X", h[i]);
	ssh_clean_pubkey_hash(&h);
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		goto out;
	type = ssh_key_type_to_char(ssh_key_type(key));
	free(s->res->key_type);
	free(s->res->key_b64);
	free(s->res->fingerprint);
	s->res->key_type = hs_strdup(type != NULL ? type : "unknown");
	s->res->key_b64 = hs_strdup(b64);
	s->res->fingerprint = hs_strdup(s->fp_sha256);
	rc = 0;
out:
	if (h != NULL)
		ssh_clean_pubkey_hash(&h);
	ssh_string_free_char(b64);
	ssh_key_free(key);
	return rc;
}

/*
 * The SSH handshake over fd (a new TCP connection when -1), offering the
 * given host key algorithms.  Ends with the server's key facts read.
 */
static int
handshake(struct scan *s, const char *hostkeys, int fd)
{
	const char	*banner;
	double		 t0, budget;
	int		 no = 0, yes = 1, rc, dup;

	if (fd == -1 && (fd = tcp_connect(s)) == -1)
		return -1;
	/*
	 * libssh gets a duplicate and closes it when it likes; the slot
	 * keeps the original open until ssh_close, so the watchdog's
	 * shutdown(2) can never reach a descriptor reused meanwhile.
	 */
	if ((dup = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1 ||
	    (s->ssh = ssh_new()) == NULL) {
		if (dup != -1)
			close(dup);
		slot_close_fd(s->slot);
		fail(s, HS_FAILED, R_SYSTEM, "handshake", "out of memory or "
		    "descriptors");
		return -1;
	}
	/*
	 * No ssh_config, no known_hosts, no agent: the trust decision is
	 * ours and is made against the database, not the daemon's $HOME.
	 */
	ssh_options_set(s->ssh, SSH_OPTIONS_PROCESS_CONFIG, &no);
	ssh_options_set(s->ssh, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
	ssh_options_set(s->ssh, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
	ssh_options_set(s->ssh, SSH_OPTIONS_IDENTITY_AGENT, "/dev/null");
	ssh_options_set(s->ssh, SSH_OPTIONS_STRICTHOSTKEYCHECK, &no);
	ssh_options_set(s->ssh, SSH_OPTIONS_GSSAPI_AUTH, &no);
	ssh_options_set(s->ssh, SSH_OPTIONS_NODELAY, &yes);
	ssh_options_set(s->ssh, SSH_OPTIONS_HOST, s->job->dns != NULL ?
	    s->job->dns : s->job->ip);
	ssh_options_set(s->ssh, SSH_OPTIONS_PORT, &s->job->port);
	ssh_options_set(s->ssh, SSH_OPTIONS_HOSTKEYS, hostkeys);
	ssh_options_set(s->ssh, SSH_OPTIONS_FD, &dup);
	budget = step_budget(s);
	scan_set_timeout(s->ssh, budget);
	t0 = mono();
	rc = ssh_connect(s->ssh);
	if (rc != SSH_OK) {
		const char	*err = ssh_get_error(s->ssh);

		/* A stop from outside is the reason, not the error it caused. */
		if (!interrupted(s, "handshake")) {
			if (mono() - t0 >= budget - 0.05)
				fail(s, HS_FAILED, R_TIMEOUT, "handshake",
				    "no SSH handshake from %s within %.0f s",
				    s->addr, budget);
			else
				fail(s, HS_FAILED, R_FAILED_TO_CONNECT,
				    "handshake", "SSH handshake with %s "
				    "failed: %s", s->addr, err);
		}
		ssh_close(s);
		return -1;
	}
	banner = ssh_get_serverbanner(s->ssh);
	if (key_facts(s) == -1) {
		if (!interrupted(s, "hostkey"))
			fail(s, HS_FAILED, R_FAILED_TO_CONNECT, "hostkey",
			    "cannot read the host key of %s: %s", s->addr,
			    ssh_get_error(s->ssh));
		ssh_close(s);
		return -1;
	}
	s->res->connected = 1;
	result_log(s->res, "info", "hostkey", "%s offered %s %s (server %s)",
	    s->addr, s->res->key_type, s->fp_sha256,
	    banner != NULL ? banner : "?");
	return 0;
}

static int
fp_matches(const struct scan *s, const char *trusted)
{
	if (strncmp(trusted, "SHA256:", 7) == 0)
		return strcmp(trusted, s->fp_sha256) == 0;
	if (strncmp(trusted, "MD5:", 4) == 0)
		return strcasecmp(trusted, s->fp_md5) == 0;
	return strcasecmp(trusted, s->fp_sha1) == 0;
}

/*
 * A server may hold several host keys.  When only a fingerprint is
 * trusted (no key type), a mismatch may just be another key of the same
 * server: ask for each other key family before calling it a mismatch.
 */
static int
try_other_families(struct scan *s, const char *trusted)
{
	char	 list[256];
	int	 seen = family_of(s->res->key_type), found = 0;
	size_t	 i;

	for (i = 0; i < N_FAMILIES; i++) {
		struct hsd_result	*r = s->res;
		char			*kt = hs_strdup(r->key_type);
		char			*kb = hs_strdup(r->key_b64);
		char			*fp = hs_strdup(r->fingerprint);
		char			 f256[64], fmd5[64], fsha1[48];

		if ((int)i == seen)
			goto next;
		memcpy(f256, s->fp_sha256, sizeof(f256));
		memcpy(fmd5, s->fp_md5, sizeof(fmd5));
		memcpy(fsha1, s->fp_sha1, sizeof(fsha1));
		ssh_close(s);
		hostkey_list((int)i, -1, list, sizeof(list));
		s->probing = 1;
		found = handshake(s, list, -1) == 0 && fp_matches(s, trusted);
		s->probing = 0;
		if (found) {
			free(kt);
			free(kb);
			free(fp);
			r->state = HS_FAILED;
			r->desc[0] = '\0';
			result_log(s->res, "info", "trust", "the %s key of %s "
			    "matches the trusted fingerprint", s->res->key_type,
			    s->addr);
			return 1;
		}
		/* Put back the first key: that is the one we report. */
		ssh_close(s);
		free(r->key_type);
		free(r->key_b64);
		free(r->fingerprint);
		r->key_type = kt;
		r->key_b64 = kb;
		r->fingerprint = fp;
		kt = kb = fp = NULL;
		memcpy(s->fp_sha256, f256, sizeof(f256));
		memcpy(s->fp_md5, fmd5, sizeof(fmd5));
		memcpy(s->fp_sha1, fsha1, sizeof(fsha1));
		r->state = HS_FAILED;
		r->desc[0] = '\0';
		r->connected = 1;
next:
		free(kt);
		free(kb);
		free(fp);
	}
	return 0;
}

/*
 * Returns 1 to go on to the login, 0 to stop.  Decided before any
 * credential is read from the database.
 */
static int
trust(struct scan *s)
{
	const char	*trusted = NULL, *src = NULL;
	char		 list[256];
	int		 action = s->job->trust_action;

	if (s->job->trusted_thumbprint != NULL) {
		trusted = s->job->trusted_thumbprint;
		src = "the request's trustedThumbprint";
	} else if (s->host.fingerprint != NULL) {
		trusted = s->host.fingerprint;
		src = "the host record";
	}
	if (trusted == NULL) {
		if (s->job->accept_first) {
			s->res->store_trust = 1;
			result_log(s->res, "info", "trust", "no trusted key "
			    "yet: trusting %s %s on first discovery",
			    s->res->key_type, s->fp_sha256);
			return 1;
		}
		fail(s, HS_FAILED, R_ACCESS_DENIED, "trust",
		    "host key not trusted: %s %s was discovered; trust it "
		    "and scan again", s->res->key_type, s->fp_sha256);
		return 0;
	}
	if (fp_matches(s, trusted)) {
		result_log(s->res, "info", "trust", "host key matches %s",
		    src);
		return 1;
	}
	/* Only worth a second look when the key type is not pinned. */
	if (s->job->trusted_thumbprint != NULL || s->host.key_type == NULL) {
		if (try_other_families(s, trusted))
			return 1;
		if (s->ssh == NULL) {
			/* Reconnect for the login with the first key again. */
			hostkey_list(family_of(s->res->key_type), -1, list,
			    sizeof(list));
			if (action != TRUST_ERROR &&
			    handshake(s, list, -1) == -1)
				return 0;
		}
	}
	switch (action) {
	case TRUST_ALWAYS:
		result_log(s->res, "warning", "trust", "host key %s does not "
		    "match trusted %s (from %s); going on: "
		    "AlwaysTrustIgnoreThumbprint", s->fp_sha256, trusted, src);
		return 1;
	case TRUST_WARN:
		result_log(s->res, "warning", "trust", "host key %s does not "
		    "match trusted %s (from %s); going on: "
		    "WarnOnThumbprintMismatch", s->fp_sha256, trusted, src);
		hs_log(HS_LOG_WARN, "hostkey_mismatch", "host_scan_id=%s "
		    "address=%s found=%s trusted=%s action=warn", s->res->id,
		    s->addr, s->fp_sha256, trusted);
		return 1;
	default:
		hs_log(HS_LOG_WARN, "hostkey_mismatch", "host_scan_id=%s "
		    "address=%s found=%s trusted=%s action=error", s->res->id,
		    s->addr, s->fp_sha256, trusted);
		fail(s, HS_FAILED, R_ACCESS_DENIED, "trust",
		    "host key %s does not match trusted %s", s->fp_sha256,
		    trusted);
		return 0;
	}
}

static int
auth_kbdint(ssh_session ssh, const struct hsd_cred *c)
{
	int	 rc, n, i, rounds = 0;

	while ((rc = ssh_userauth_kbdint(ssh, NULL, NULL)) ==
	    SSH_AUTH_INFO && rounds++ < 4) {
		n = ssh_userauth_kbdint_getnprompts(ssh);
		for (i = 0; i < n; i++) {
			char	 echo = 0;

			ssh_userauth_kbdint_getprompt(ssh, (unsigned)i, &echo);
			/* Only a hidden prompt can be the password prompt. */
			if (ssh_userauth_kbdint_setanswer(ssh, (unsigned)i,
			    echo ? "" : (const char *)c->secret) < 0)
				return SSH_AUTH_ERROR;
		}
	}
	return rc;
}

static int
login(struct scan *s)
{
	struct hsd_cred	 cred;
	ssh_key		 key = NULL;
	char		 err[256];
	double		 t0, budget;
	int		 rc, methods;

	memset(&cred, 0, sizeof(cred));
	if (db_credential(s->ctx->pool, s->ctx->mk, s->job->credential_id,
	    &cred, err, sizeof(err)) == -1) {
		fail(s, HS_FAILED, R_SYSTEM, "login", "credential: %s", err);
		return -1;
	}
	ssh_options_set(s->ssh, SSH_OPTIONS_USER, cred.username);
	budget = step_budget(s);
	scan_set_timeout(s->ssh, budget);
	t0 = mono();
	if (cred.is_key) {
		rc = ssh_pki_import_privkey_base64((const char *)cred.secret,
		    NULL, NULL, NULL, &key);
		if (rc != SSH_OK) {
			hsd_cred_clear(&cred);
			fail(s, HS_FAILED, R_SYSTEM, "login", "the private key "
			    "of the credential cannot be read (passphrase "
			    "protected keys are not supported)");
			return -1;
		}
		rc = ssh_userauth_publickey(s->ssh, NULL, key);
		ssh_key_free(key);
	} else {
		rc = ssh_userauth_password(s->ssh, NULL,
		    (const char *)cred.secret);
		if (rc == SSH_AUTH_DENIED) {
			methods = ssh_userauth_list(s->ssh, NULL);
			if ((unsigned)methods & SSH_AUTH_METHOD_INTERACTIVE)
				rc = auth_kbdint(s->ssh, &cred);
		}
	}
	if (rc == SSH_AUTH_SUCCESS) {
		result_log(s->res, "info", "login", "logged in as %s with %s",
		    cred.username, cred.is_key ? "a private key" :
		    "a password");
		hsd_cred_clear(&cred);
		return 0;
	}
	if (rc == SSH_AUTH_ERROR && interrupted(s, "login")) {
		hsd_cred_clear(&cred);
		return -1;
	}
	if (rc == SSH_AUTH_ERROR && mono() - t0 >= budget - 0.05)
		fail(s, HS_FAILED, R_TIMEOUT, "login", "login as %s on %s "
		    "did not finish within %.0f s", cred.username, s->addr,
		    budget);
	else if (rc == SSH_AUTH_ERROR)
		fail(s, HS_FAILED, R_FAILED_TO_CONNECT, "login",
		    "login as %s on %s failed: %s", cred.username, s->addr,
		    ssh_get_error(s->ssh));
	else
		fail(s, HS_FAILED, R_ACCESS_DENIED, "login", "%s %s as %s "
		    "was denied by %s", cred.is_key ? "private key" :
		    "password", "login", cred.username, s->addr);
	hsd_cred_clear(&cred);
	return -1;
}

static void
describe_success(struct scan *s)
{
	const struct inventory	*inv = s->res->inv;
	char			 missing[128] = "";

	if (!(inv->have & INV_USERS))
		strcat(missing, " users");
	if (!(inv->have & INV_GROUPS))
		strcat(missing, " groups");
	if (!(inv->have & INV_SHADOW))
		strcat(missing, " password-dates");
	if (!(inv->have & INV_SERVICES))
		strcat(missing, " services");
	if (!(inv->have & INV_TASKS))
		strcat(missing, " scheduled-tasks");
	if (!(inv->have & INV_PACKAGES))
		strcat(missing, " software");
	snprintf(s->res->desc, sizeof(s->res->desc), "scanned %s%s%s: %zu "
	    "users, %zu groups, %zu services, %zu scheduled tasks, %zu "
	    "packages%s%s", inv->os_name != NULL ? inv->os_name : "host",
	    inv->os_version != NULL ? " " : "",
	    inv->os_version != NULL ? inv->os_version : "", inv->nusers,
	    inv->ngroups, inv->nservices, inv->ntasks, inv->npackages,
	    missing[0] ? "; not collected:" : "", missing);
	utf8_scrub(s->res->desc);
}

void
scan_host(const struct hsd_ctx *ctx, struct hsd_slot *slot,
    const struct hsd_job *job, struct hsd_result *res)
{
	struct scan		 s;
	struct inv_limits	 lim;
	char			 list[256];
	int			 rc, fd;

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	s.slot = slot;
	s.job = job;
	s.res = res;
	s.start = mono();
	/* The watchdog holds the scan to the same deadline. */
	s.deadline = slot->deadline;
	hs_strlcpy(res->id, job->id, sizeof(res->id));
	res->attempt = job->attempt;

	if (stopped(&s, "resolve") || resolve(&s) == -1)
		goto out;
	if (stopped(&s, "connect") || (fd = tcp_connect(&s)) == -1)
		goto out;
	/* The host record says which key type to ask for. */
	if (db_host_lookup(ctx->pool, job, &s.host) == -1) {
		slot_close_fd(slot);
		fail(&s, HS_FAILED, R_SYSTEM, "connect",
		    "database unavailable while reading the host record");
		goto out;
	}
	if (s.host.id[0] != '\0')
		hs_strlcpy(res->host_id, s.host.id, sizeof(res->host_id));
	hostkey_list(-1, family_of(s.host.key_type), list, sizeof(list));
	if (stopped(&s, "handshake")) {
		slot_close_fd(slot);
		goto out;
	}
	if (handshake(&s, list, fd) == -1)
		goto out;
	if (stopped(&s, "trust") || !trust(&s))
		goto out;
	if (stopped(&s, "login") || login(&s) == -1)
		goto out;
	if (stopped(&s, "inventory"))
		goto out;
	res->inv = hs_xmalloc(sizeof(*res->inv));
	inventory_init(res->inv, ctx->opts->scan_max_bytes);
	memset(&lim, 0, sizeof(lim));
	lim.deadline = s.deadline;
	lim.host_timeout = ctx->opts->host_timeout;
	lim.step_timeout = ctx->opts->step_timeout;
	lim.stop = &slot->stop;
	switch ((rc = inventory_collect(s.ssh, &lim, res->inv, res))) {
	case INV_OK:
		break;
	case INV_STOPPED:
		interrupted(&s, "inventory");
		goto out;
	case INV_TIMEOUT:
		fail(&s, HS_FAILED, R_TIMEOUT, "inventory", "inventory of %s: "
		    "%s", s.addr, res->inv->why);
		goto out;
	case INV_BOUND:
		fail(&s, HS_FAILED, R_UNKNOWN, "inventory", "%s sent an %s",
		    s.addr, res->inv->why);
		goto out;
	default:
		fail(&s, HS_FAILED, R_ACCESS_DENIED, "inventory", "logged in "
		    "to %s but could not run any command", s.addr);
		goto out;
	}
	if (stopped(&s, "store"))
		goto out;
	res->state = HS_COMPLETE;
	res->reason = R_NO_ERROR;
	describe_success(&s);
	result_log(res, "info", "result", "%s", res->desc);
out:
	if (res->state != HS_COMPLETE && res->state != HS_QUEUED &&
	    res->log.n > 0 && strcmp(res->log.e[res->log.n - 1].step,
	    "result") != 0)
		result_log(res, "info", "result", "%s: %s",
		    hs_action_status_names[res->state],
		    hs_failure_reason_names[res->reason]);
	ssh_close(&s);
	if (s.ai != NULL)
		freeaddrinfo(s.ai);
	hsd_host_clear(&s.host);
}
