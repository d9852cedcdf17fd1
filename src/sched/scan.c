/* SPDX-License-Identifier: ISC */
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

#include <ctype.h>
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
	int			 by_name;	/* ai came from resolving dns */
	const char		*cred_name;
	int			 cred_is_key;
	struct hs_scope		 scope;
	char			 use_id[HS_UUID_LEN + 1];	/* audit rows */
	char			 peer_ip[INET6_ADDRSTRLEN];
	int			 peer_port;
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
	hs_utf8_scrub(msg);
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
	hs_utf8_scrub(s->res->desc);
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
			s->by_name = 1;
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

static void
sockaddr_ip(const struct sockaddr *sa, char ip[INET6_ADDRSTRLEN], int *port)
{
	ip[0] = '\0';
	*port = 0;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, INET6_ADDRSTRLEN);
		*port = ntohs(in6->sin6_port);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, INET6_ADDRSTRLEN);
		*port = ntohs(in->sin_port);
	}
}

/*
 * One row of the credential audit trail for this scan (sql/008): the
 * address and port connected to (or refused), the host key seen so far,
 * the job and its submitter (store.c takes those from the row).
 */
static int
audit(struct scan *s, const char *event, const char *outcome,
    const char *method, const char *detail)
{
	struct hsd_audit	 a;
	char			 actor[HSD_INSTANCE_MAX + 16], q[256];
	int			 rc;

	snprintf(actor, sizeof(actor), "hostscand/%s",
	    s->ctx->opts->instance);
	memset(&a, 0, sizeof(a));
	a.use_id = s->use_id;
	a.event = event;
	a.host_scan_id = s->job->id;
	a.attempt = s->job->attempt;
	a.address = s->peer_ip[0] != '\0' ? s->peer_ip : NULL;
	a.port = s->peer_port;
	a.fingerprint = s->res->fingerprint;
	a.method = method;
	a.actor = actor;
	a.outcome = outcome;
	a.detail = detail;
	if ((rc = db_audit(s->ctx->pool, &a)) == 0)
		return 0;
	hs_log(HS_LOG_ERROR, "audit_failed", "host_scan_id=%s event=%s "
	    "outcome=%s detail=%s", s->res->id, event, outcome ? outcome : "-",
	    hs_logq(q, sizeof(q), detail ? detail : ""));
	return rc;
}

/* A refusal: the scan fails with its reason, and the trail says why. */
static void
refuse(struct scan *s, const char *outcome, const char *step,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
refuse(struct scan *s, const char *outcome, const char *step,
    const char *fmt, ...)
{
	char	 why[HSD_MAX_DESC];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fail(s, HS_FAILED, R_ACCESS_DENIED, step, "%s", why);
	audit(s, "refused", outcome, NULL, s->res->desc);
}

/*
 * The credential's name, kind and scope, which came with the claim; never
 * its secret, which is read only once the scope and the host key allow it
 * (login()).
 */
static int
cred_meta(struct scan *s)
{
	char	 err[256];

	if (s->job->cred_name == NULL || s->job->cred_scope == NULL) {
		fail(s, HS_FAILED, R_SYSTEM, "scope", "credential %s no longer "
		    "exists", s->job->credential_id);
		return -1;
	}
	s->cred_name = s->job->cred_name;
	s->cred_is_key = s->job->cred_is_key;
	if (hs_scope_parse(s->job->cred_scope, &s->scope, err,
	    sizeof(err)) == -1) {
		/* Fail closed: a scope nobody can read allows nothing. */
		refuse(s, "out_of_scope", "scope", "credential not allowed for "
		    "this address: the scope of credential %s cannot be read "
		    "(%s)", s->cred_name, err);
		return -1;
	}
	return 0;
}

/*
 * The credential's scope on the addresses the scan would connect to,
 * before any connection.  A name entry admits the addresses the name
 * resolved to; a network entry admits an address in it.  An ipAddress the
 * request gave (used when the name does not resolve) is admitted only by
 * a network: a caller cannot borrow a name's place in the scope for an
 * address of its own choosing.  Addresses outside are dropped; with none
 * left the scan is refused without a connection, and the secret is never
 * read.  POSIX lets freeaddrinfo() free any sublist.
 */
static int
scope_filter(struct scan *s)
{
	struct addrinfo	*keep = NULL, **kt = &keep, *drop = NULL;
	struct addrinfo	**dt = &drop, *a, *next;
	int		 by_name, dropped = 0;

	by_name = s->by_name && hs_scope_has_name(&s->scope, s->job->dns);
	for (a = s->ai; a != NULL; a = next) {
		next = a->ai_next;
		a->ai_next = NULL;
		if (by_name || hs_scope_has_sockaddr(&s->scope, a->ai_addr)) {
			*kt = a;
			kt = &a->ai_next;
		} else {
			*dt = a;
			dt = &a->ai_next;
			dropped++;
		}
	}
	s->ai = keep;
	if (drop != NULL)
		sockaddr_ip(drop->ai_addr, s->peer_ip, &s->peer_port);
	if (keep == NULL) {
		refuse(s, "out_of_scope", "scope", "credential not allowed "
		    "for this address: %s is outside the scope of credential "
		    "%s%s", s->peer_ip, s->cred_name, s->job->dns != NULL &&
		    !s->by_name ? " (ipAddress was used: the DNS name did not "
		    "resolve, and only network entries admit an address)" :
		    "");
		freeaddrinfo(drop);
		return -1;
	}
	if (drop != NULL)
		result_log(s->res, "info", "scope", "%d address%s outside the "
		    "scope of credential %s skipped (%s first)", dropped,
		    dropped == 1 ? "" : "es", s->cred_name, s->peer_ip);
	freeaddrinfo(drop);
	s->peer_ip[0] = '\0';
	s->peer_port = 0;
	return 0;
}

/* Again on the address actually connected to, as the kernel reports it. */
static int
peer_in_scope(struct scan *s, int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1) {
		fail(s, HS_FAILED, R_FAILED_TO_CONNECT, "scope", "cannot read "
		    "the connected address: %s", strerror(errno));
		return 0;
	}
	sockaddr_ip((struct sockaddr *)&ss, s->peer_ip, &s->peer_port);
	if ((s->by_name && hs_scope_has_name(&s->scope, s->job->dns)) ||
	    hs_scope_has_sockaddr(&s->scope, (struct sockaddr *)&ss))
		return 1;
	refuse(s, "out_of_scope", "scope", "credential not allowed for this "
	    "address: connected to %s, outside the scope of credential %s",
	    s->peer_ip, s->cred_name);
	return 0;
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

/*
 * libssh holds a duplicate of the slot's socket.  Since libssh 0.10
 * neither ssh_disconnect() nor ssh_free() closes a descriptor given with
 * SSH_OPTIONS_FD (ssh_disconnect() only forgets it); libssh closes it
 * itself only on some errors, and ssh_get_fd() then says so.  Whatever it
 * left open is ours to close; then the slot closes its own.
 */
static void
ssh_close(struct scan *s)
{
	socket_t	 fd;

	if (s->ssh != NULL) {
		fd = ssh_get_fd(s->ssh);
		ssh_disconnect(s->ssh);
		ssh_free(s->ssh);
#if LIBSSH_VERSION_INT >= SSH_VERSION_INT(0, 10, 0)
		if (fd != SSH_INVALID_SOCKET)
			close(fd);
#else
		(void)fd;
#endif
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
	/* From here on ssh_close() closes the duplicate. */
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

static const char *
action_name(int action)
{
	return action >= 0 && action < HS_N_TRUST_ACTION ?
	    hs_trust_action_names[action] : "ErrorOnThumbprintMismatch";
}

/*
 * Returns 1 to go on to the login, 0 to stop; decided before the secret
 * is read from the database (login()).  What a caller may send
 * never widens trust: a pinned key (this record's, or another record's
 * seen at this endpoint) is the only expected key, whatever the request's
 * trustedThumbprint says; only PUT .../Trust replaces it.  On a mismatch,
 * WarnOnThumbprintMismatch and AlwaysTrustIgnoreThumbprint go on only
 * with a private-key credential: a public-key signature gives a rogue
 * server nothing it can reuse, a password gives it the password.
 */
static int
trust(struct scan *s)
{
	const char	*trusted = NULL, *src = NULL;
	char		 from[96], list[256];
	int		 action = s->job->trust_action, own = 0;

	if (s->host.fingerprint != NULL) {
		trusted = s->host.fingerprint;
		own = s->host.pin_from[0] == '\0';
		if (own)
			src = "the host record";
		else {
			snprintf(from, sizeof(from), "host record %s, pinned "
			    "at this address", s->host.pin_from);
			src = from;
		}
		if (s->job->trusted_thumbprint != NULL)
			result_log(s->res, "info", "trust", "a key is pinned "
			    "for this host (%s): the request's "
			    "trustedThumbprint is not used; only PUT "
			    ".../Trust changes a pinned key", src);
	} else if (s->job->trusted_thumbprint != NULL) {
		trusted = s->job->trusted_thumbprint;
		src = "the request's trustedThumbprint";
	}
	if (trusted == NULL) {
		if (s->job->accept_first) {
			s->res->store_trust = 1;
			result_log(s->res, "info", "trust", "no trusted key "
			    "yet: trusting %s %s on first discovery",
			    s->res->key_type, s->fp_sha256);
			return 1;
		}
		refuse(s, "host_key_untrusted", "trust", "host key not "
		    "trusted: %s %s was discovered; trust it and scan again",
		    s->res->key_type, s->fp_sha256);
		return 0;
	}
	if (fp_matches(s, trusted)) {
		s->res->key_trusted = own;
		/* Another record's pin vouches for it: first use may keep it. */
		s->res->store_trust = !own && s->job->accept_first;
		result_log(s->res, "info", "trust", "host key matches %s",
		    src);
		return 1;
	}
	/* Only worth a second look when the key type is not pinned. */
	if (s->host.fingerprint == NULL || s->host.key_type == NULL) {
		if (try_other_families(s, trusted)) {
			s->res->key_trusted = own;
			s->res->store_trust = !own && s->job->accept_first;
			return 1;
		}
	}
	hs_log(HS_LOG_WARN, "hostkey_mismatch", "host_scan_id=%s address=%s "
	    "found=%s trusted=%s action=%s", s->res->id, s->addr,
	    s->fp_sha256, trusted, action == TRUST_ERROR ? "error" :
	    !s->cred_is_key ? "refused" : action == TRUST_WARN ? "warn" :
	    "always");
	if (action == TRUST_ERROR) {
		refuse(s, "host_key_mismatch", "trust", "host key %s does not "
		    "match trusted %s", s->fp_sha256, trusted);
		return 0;
	}
	if (!s->cred_is_key) {
		refuse(s, "password_needs_trusted_key", "trust", "host key %s "
		    "does not match trusted %s (from %s); %s goes on only with "
		    "a private-key credential: a password is never sent to a "
		    "host whose key is not trusted", s->fp_sha256, trusted, src,
		    action_name(action));
		return 0;
	}
	if (s->ssh == NULL) {
		/* Reconnect for the login with the first key again. */
		hostkey_list(family_of(s->res->key_type), -1, list,
		    sizeof(list));
		if (handshake(s, list, -1) == -1)
			return 0;
	}
	result_log(s->res, "warning", "trust", "host key %s does not match "
	    "trusted %s (from %s); going on with a private key: %s",
	    s->fp_sha256, trusted, src, action_name(action));
	return 1;
}

/* "user" or "user@host" (w is wl bytes, u lower case). */
static int
is_account(const char *w, size_t wl, const char *u)
{
	size_t	 ul = strlen(u);

	if (wl < ul || strncmp(w, u, ul) != 0)
		return 0;
	if (wl == ul)
		return 1;
	return w[ul] == '@' && wl > ul + 1 &&
	    memchr(w + ul + 1, ' ', wl - ul - 1) == NULL;
}

/*
 * Whether a keyboard-interactive prompt asks for this account's password.
 * Judged on its text, trimmed, with one trailing colon dropped, compared
 * without regard to case: "Password", "USER's password", "USER@HOST's
 * password", "Password for USER" or "Password for USER@HOST".  A one-time
 * code, a new or current password, a PIN or anything else is not.
 */
static int
password_prompt(const char *prompt, const char *user)
{
	char	 p[HSD_MAX_PROMPT + 1], u[HSD_MAX_PROMPT + 1];
	size_t	 len, i;

	if (prompt == NULL || (len = strlen(prompt)) > HSD_MAX_PROMPT ||
	    strlen(user) > HSD_MAX_PROMPT)
		return 0;
	while (len > 0 && isspace((unsigned char)*prompt)) {
		prompt++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)prompt[len - 1]))
		len--;
	if (len > 0 && prompt[len - 1] == ':')
		len--;
	while (len > 0 && isspace((unsigned char)prompt[len - 1]))
		len--;
	for (i = 0; i < len; i++)
		p[i] = (char)tolower((unsigned char)prompt[i]);
	p[len] = '\0';
	for (i = 0; user[i] != '\0'; i++)
		u[i] = (char)tolower((unsigned char)user[i]);
	u[i] = '\0';
	if (strcmp(p, "password") == 0)
		return 1;
	if (len > 11 && strcmp(p + len - 11, "'s password") == 0)
		return is_account(p, len - 11, u);
	if (len > 13 && strncmp(p, "password for ", 13) == 0)
		return is_account(p + 13, len - 13, u);
	return 0;
}

/*
 * Keyboard-interactive answers one thing only, once: a single echo-off
 * prompt that asks for the password (password_prompt()).  Several
 * prompts, an echoed prompt or any other question get no answer and the
 * login fails, so a server cannot collect the secret through a prompt of
 * its choosing.  Rounds without prompts (OpenSSH ends with one) are
 * answered empty.  *why says what was refused.
 */
static int
auth_kbdint(ssh_session ssh, const struct hsd_cred *c, char *why,
    size_t whylen)
{
	const char	*prompt;
	char		 echo, shown[72];
	int		 rc, n, rounds = 0, answered = 0;

	while ((rc = ssh_userauth_kbdint(ssh, NULL, NULL)) == SSH_AUTH_INFO) {
		if (++rounds > HSD_MAX_KBDINT_ROUNDS) {
			snprintf(why, whylen, "more than %d keyboard-"
			    "interactive rounds", HSD_MAX_KBDINT_ROUNDS);
			return SSH_AUTH_DENIED;
		}
		n = ssh_userauth_kbdint_getnprompts(ssh);
		if (n == 0)
			continue;
		echo = 1;
		prompt = ssh_userauth_kbdint_getprompt(ssh, 0, &echo);
		hs_strlcpy(shown, prompt != NULL ? prompt : "", sizeof(shown));
		hs_utf8_scrub(shown);
		if (answered || n != 1 || echo ||
		    !password_prompt(prompt, c->username)) {
			snprintf(why, whylen, "keyboard-interactive asked %s%d "
			    "prompt%s (the first \"%s\"%s): only a single "
			    "hidden password prompt is answered",
			    answered ? "again after the password: " : "", n,
			    n == 1 ? "" : "s", shown, echo ? ", echoed" : "");
			return SSH_AUTH_DENIED;
		}
		if (ssh_userauth_kbdint_setanswer(ssh, 0,
		    (const char *)c->secret) < 0)
			return SSH_AUTH_ERROR;
		answered = 1;
	}
	return rc;
}

/*
 * The credential's one use on this host: the audit row is committed
 * first, then the secret is read and sent, then the outcome is recorded.
 */
static int
login(struct scan *s)
{
	struct hsd_cred	 cred;
	ssh_key		 key = NULL;
	char		 err[256], why[512] = "";
	const char	*method = s->cred_is_key ? "publickey" : "password";
	const char	*outcome = "denied";
	double		 t0, budget;
	int		 rc, methods;

	memset(&cred, 0, sizeof(cred));
	if ((rc = audit(s, "use", NULL, method, NULL)) != 0) {
		fail(s, HS_FAILED, R_SYSTEM, "login", "the credential audit "
		    "trail cannot be written: no credential was sent");
		s->res->db_lost = rc == -2;
		return -1;
	}
	if ((rc = db_credential(s->ctx->pool, s->ctx->mk,
	    s->job->credential_id, &cred, err, sizeof(err))) != 0) {
		fail(s, HS_FAILED, R_SYSTEM, "login", "credential: %s", err);
		s->res->db_lost = rc == -2;
		audit(s, "outcome", "error", method, s->res->desc);
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
			audit(s, "outcome", "error", method, s->res->desc);
			return -1;
		}
		rc = ssh_userauth_publickey(s->ssh, NULL, key);
		ssh_key_free(key);
	} else if ((rc = ssh_userauth_none(s->ssh, NULL)) == SSH_AUTH_DENIED) {
		/* The password goes only by a method the server offers. */
		methods = ssh_userauth_list(s->ssh, NULL);
		if ((unsigned)methods & SSH_AUTH_METHOD_PASSWORD)
			rc = ssh_userauth_password(s->ssh, NULL,
			    (const char *)cred.secret);
		if (rc == SSH_AUTH_DENIED &&
		    ((unsigned)methods & SSH_AUTH_METHOD_INTERACTIVE)) {
			method = "keyboard-interactive";
			rc = auth_kbdint(s->ssh, &cred, why, sizeof(why));
			if (why[0] != '\0')
				outcome = "prompt_refused";
		} else if (rc == SSH_AUTH_DENIED &&
		    !((unsigned)methods & SSH_AUTH_METHOD_PASSWORD)) {
			outcome = "no_method";
			snprintf(why, sizeof(why), "the server offers neither "
			    "password nor keyboard-interactive authentication");
		}
	}
	if (rc == SSH_AUTH_SUCCESS) {
		result_log(s->res, "info", "login", "logged in as %s with %s",
		    cred.username, cred.is_key ? "a private key" :
		    "a password");
		audit(s, "outcome", "success", method, NULL);
		hsd_cred_clear(&cred);
		return 0;
	}
	if (why[0] != '\0') {
		fail(s, HS_FAILED, R_ACCESS_DENIED, "login", "login as %s on "
		    "%s refused: %s", cred.username, s->addr, why);
	} else if (rc == SSH_AUTH_ERROR && interrupted(s, "login")) {
		outcome = "interrupted";
	} else if (rc == SSH_AUTH_ERROR && mono() - t0 >= budget - 0.05) {
		outcome = "timeout";
		fail(s, HS_FAILED, R_TIMEOUT, "login", "login as %s on %s "
		    "did not finish within %.0f s", cred.username, s->addr,
		    budget);
	} else if (rc == SSH_AUTH_ERROR) {
		outcome = "error";
		fail(s, HS_FAILED, R_FAILED_TO_CONNECT, "login",
		    "login as %s on %s failed: %s", cred.username, s->addr,
		    ssh_get_error(s->ssh));
	} else
		fail(s, HS_FAILED, R_ACCESS_DENIED, "login", "%s %s as %s "
		    "was denied by %s", cred.is_key ? "private key" :
		    "password", "login", cred.username, s->addr);
	audit(s, "outcome", outcome, method, s->res->desc);
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
	hs_utf8_scrub(s->res->desc);
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

	hs_uuid_random(s.use_id);

	if (stopped(&s, "resolve") || resolve(&s) == -1)
		goto out;
	if (stopped(&s, "scope") || cred_meta(&s) == -1 ||
	    scope_filter(&s) == -1)
		goto out;
	if (stopped(&s, "connect") || (fd = tcp_connect(&s)) == -1)
		goto out;
	if (!peer_in_scope(&s, fd)) {
		slot_close_fd(slot);
		goto out;
	}
	/* The host record says which key type to ask for. */
	if ((rc = db_host_lookup(ctx->pool, job, res->address, &s.host)) != 0) {
		slot_close_fd(slot);
		fail(&s, HS_FAILED, R_SYSTEM, "connect",
		    "database unavailable while reading the host record");
		res->db_lost = rc == -2;
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
	hs_scope_free(&s.scope);
}
