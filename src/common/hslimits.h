/* SPDX-License-Identifier: ISC */
/*
 * Every limit hostscan enforces, defaulted in one place.  The ones marked
 * "config" can be overridden in hostscan.conf (see hostscan.conf(5) and
 * the README); their rows in src/common/config.c tie each key to its
 * default and bounds here.  The others are hard bounds of the wire format
 * or of what a program holds.
 */
#ifndef HS_LIMITS_H
#define HS_LIMITS_H

/* config: max_body_bytes -- request body cap, enforced by the app too. */
#define HS_DEFAULT_MAX_BODY_BYTES	(8L * 1024 * 1024)
#define HS_MAX_MAX_BODY_BYTES		(256L * 1024 * 1024)
#define HS_MIN_MAX_BODY_BYTES		1024L
/* config: max_hosts_per_request */
#define HS_DEFAULT_MAX_HOSTS		10000L
#define HS_MAX_MAX_HOSTS		1000000L
/* config: workers (responder processes; why 8: hostscan.conf(5)) */
#define HS_DEFAULT_WORKERS		8L
#define HS_MAX_WORKERS			256L
/* config: listen_mode -- of the responder's UNIX socket */
#define HS_DEFAULT_LISTEN_MODE		0660L
#define HS_MAX_LISTEN_MODE		0777L
/* config: page_default_limit, page_max_limit (GET /HostScanJob) */
#define HS_DEFAULT_PAGE_LIMIT		100L
#define HS_DEFAULT_PAGE_MAX		1000L
#define HS_MAX_PAGE_LIMIT		100000L
/* config: token_leeway_seconds; the API contract caps it at 60 */
#define HS_DEFAULT_TOKEN_LEEWAY		60L
#define HS_MAX_TOKEN_LEEWAY		60L
/* config: token_default_ttl, token_max_ttl (hostscanctl token issue) */
#define HS_DEFAULT_TOKEN_TTL		3600L
#define HS_DEFAULT_TOKEN_MAX_TTL	(366L * 86400)
#define HS_MAX_TOKEN_TTL		(10L * 366 * 86400)
/* config: db_connect_timeout (seconds), retry_after_seconds (503) */
#define HS_DEFAULT_DB_CONNECT_TIMEOUT	2L
#define HS_MAX_DB_CONNECT_TIMEOUT	60L
#define HS_DEFAULT_RETRY_AFTER		5L
#define HS_MAX_RETRY_AFTER		3600L
/*
 * config: shutdown_grace_seconds -- how long SIGTERM waits for the
 * responder's workers and hostscand's scans (hostscand --grace)
 */
#define HS_DEFAULT_SHUTDOWN_GRACE	10L
#define HS_MAX_SHUTDOWN_GRACE		3600L
/* config: signin_pre_mfa_ttl, signin_session_ttl (src/api/signin.c) */
#define HS_DEFAULT_PRE_MFA_TTL		300L
#define HS_MAX_PRE_MFA_TTL		3600L
#define HS_DEFAULT_SESSION_TTL		3600L
#define HS_MIN_SESSION_TTL		60L
#define HS_MAX_SESSION_TTL		(366L * 86400)
/* config: signin_session_max -- no renewal outlives the sign-in by more */
#define HS_DEFAULT_SESSION_MAX		43200L
#define HS_MAX_SESSION_MAX		(366L * 86400)
/* config: signin_max_failures, signin_lockout_seconds (the product's 5 x 5 min) */
#define HS_DEFAULT_SIGNIN_MAX_FAILURES	5L
#define HS_MAX_SIGNIN_MAX_FAILURES	1000L
#define HS_DEFAULT_SIGNIN_LOCKOUT	300L
#define HS_MAX_SIGNIN_LOCKOUT		86400L
/* An unlocked name's failures are forgotten this long after the last one. */
#define HS_SIGNIN_FORGET_SECONDS	86400L

/*
 * config: hostscand's sched_workers (threads, each with its own SSH
 * session), lease_seconds (renewed every third of it), host_timeout (one
 * host, all steps), step_timeout (one step), max_attempts (claims before
 * ActionTimeout), sched_db_connections (the pool the workers share),
 * retry_backoff_seconds (before a re-queued host, doubled per attempt).
 * Its command-line options (--workers, --lease, ...) set them too.
 */
#define HS_DEFAULT_SCHED_WORKERS	64L
#define HS_MAX_SCHED_WORKERS		1024L
#define HS_DEFAULT_LEASE		30L
#define HS_MIN_LEASE			3L
#define HS_MAX_LEASE			3600L
#define HS_DEFAULT_HOST_TIMEOUT		60L
#define HS_MAX_HOST_TIMEOUT		3600L
#define HS_DEFAULT_STEP_TIMEOUT		10L
#define HS_MAX_STEP_TIMEOUT		600L
#define HS_DEFAULT_MAX_ATTEMPTS		3L
#define HS_MAX_MAX_ATTEMPTS		100L
#define HS_DEFAULT_SCHED_DB_CONNS	8L
#define HS_MAX_SCHED_DB_CONNS		64L
#define HS_DEFAULT_RETRY_BACKOFF	2L
#define HS_MAX_RETRY_BACKOFF		300L
/*
 * config: zones -- the zones a hostscand serves (credential.zone names);
 * sched_reserve_workers -- workers only a job with none of this
 * scheduler's workers may take (at most an eighth of sched_workers), so a
 * new job starts at once even while a large one holds every other worker.
 */
#define HS_DEFAULT_ZONES		"default"
#define HS_ZONE_NAME_MAX		63
#define HS_MAX_ZONES			32
#define HS_DEFAULT_SCHED_RESERVE	8L
#define HS_SCHED_RESERVE_SHARE		8
/*
 * config: scan_max_bytes -- memory one host's scan may hold in hostscand:
 * the target's output while it is read, the parsed inventory and its JSON
 * text.  Past it the host fails and the scheduler goes on.
 */
#define HS_DEFAULT_SCAN_MAX_BYTES	(64L * 1024 * 1024)
#define HS_MIN_SCAN_MAX_BYTES		(1L * 1024 * 1024)
#define HS_MAX_SCAN_MAX_BYTES		(4096L * 1024 * 1024)
/*
 * What one scanned host may return (hostscand's inventory, not
 * configurable).  Past any of them the host fails with a description that
 * names the bound.  Names are keys of database indexes, which take at most
 * about 2700 bytes; real names are far shorter.
 */
#define HS_INV_MAX_OUTPUT		(16L * 1024 * 1024)	/* stdout bytes */
#define HS_INV_MAX_STDERR		(64L * 1024)		/* stderr bytes */
/*
 * Rows: accounts from LDAP can be many; a package database holds a few
 * thousand and a host a few hundred units.  Storing a row costs the
 * database far more than parsing it: these keep one host's store to
 * seconds.
 */
#define HS_INV_MAX_ACCOUNTS		200000L	/* users, groups, memberships */
#define HS_INV_MAX_UNITS		20000L	/* systemd units, scheduled tasks */
#define HS_INV_MAX_PACKAGES		50000L
#define HS_INV_MAX_NAME			256	/* user, group, unit, package names */
#define HS_INV_MAX_FIELD		8192	/* any other text field */

/* Wire-format bounds (not configurable). */
#define HS_MAX_DNS_NAME_LEN		253
#define HS_MAX_DNS_LABEL_LEN		63
#define HS_MAX_SOURCE_LEN		256
#define HS_MAX_FIELD_LEN		1024	/* os, credentialName, platformName, thumbprint */
#define HS_MAX_TOKEN_LEN		8192
#define HS_MAX_HEADER_LEN		8192
#define HS_MAX_KEYRING_KEYS		64
/* Credentials and platforms a responder worker remembers (hostreq.c). */
#define HS_REFS_CACHE_MAX		4096
#define HS_MAX_CONFIG_LINE		4096
#define HS_MAX_SECRET_BYTES		65536
#define HS_MAX_ROLES			32
#define HS_MAX_CLAIM_LEN		1024	/* sub, name, jti, each role */
#define HS_MAX_QUERY_LEN		2048
#define HS_MAX_USER_NAME_CHARS		64	/* sign-in users (sql/006) */
#define HS_MAX_LOGIN_BYTES		256	/* signinBody Login: 64 UTF-8 chars */
#define HS_MAX_PASSWORD_BYTES		1024	/* signinBody Password */
#define HS_MAX_IDEM_KEY_LEN		255	/* Idempotency-Key header */
/* How long an Idempotency-Key is remembered (a plain number: SQL uses it). */
#define HS_IDEM_KEY_HOURS		24
/* Lines of a scan's log one results request returns (a plain number). */
#define HS_SCAN_LOG_MAX_LINES		10000
/* Connections the kernel queues for the responder's listening socket. */
#define HS_LISTEN_BACKLOG		1024
/* ... and for a metrics endpoint (one scraper or a few). */
#define HS_METRICS_BACKLOG		16
/* A scheduler seen (its row in the scheduler table) this recently runs. */
#define HS_SCHED_LIVE_S			10
/* A credential's scope (sql/008): its text and its entries. */
#define HS_MAX_SCOPE_BYTES		4096
#define HS_MAX_SCOPE_ENTRIES		256
/* hostscanctl audit: entries shown by default (--limit), and at most. */
#define HS_AUDIT_DEFAULT_LIMIT		1000
#define HS_AUDIT_MAX_LIMIT		1000000
/* Verified tokens each responder worker remembers (src/api/auth.c). */
#define HS_AUTH_CACHE_SLOTS		64
#define HS_MAX_PATH_LEN			1024
/* config: url_prefix, the path the API is served under (/hostscan). */
#define HS_MAX_URL_PREFIX_LEN		256
/*
 * X-Forwarded-For and Forwarded behind trusted_proxies: the bytes of one
 * header, its lines joined (a longer one names no one but the peer), and
 * the hops walked from the right (the walk stops at the last).
 */
#define HS_MAX_FORWARDED_LEN		4096
#define HS_MAX_FORWARDED_HOPS		16
/*
 * A CGI process reads and discards the rest of a request body it refused
 * before exiting (io.c, io_cgi_drain), up to its CONTENT_LENGTH, at most
 * this many bytes and for at most this long.  Not max_body_bytes: the
 * responder's own 413 is for a body larger than that, and mod_cgid drops
 * the answer of a program that did not read the whole body.  The web
 * server bounds bodies too (LimitRequestBody; 1 GiB by default since
 * Apache 2.4.54) and the time a client may take (Timeout); these only
 * keep a server without such limits from holding the process longer.
 */
#define HS_CGI_DRAIN_MAX_BYTES		(1024LL * 1024 * 1024)
#define HS_CGI_DRAIN_SECONDS		10L
/*
 * hostscanctl import-csv.  A field holds HS_MAX_FIELD_LEN characters of up
 * to 4 bytes; a row five such fields plus ignored columns.  The file itself
 * is bounded by max_body_bytes (its JSON, always larger, is one request)
 * and by max_hosts_per_request rows.
 */
#define HS_CSV_MAX_FIELD_BYTES		4096
#define HS_CSV_MAX_RECORD_BYTES		65536
#define HS_CSV_MAX_COLUMNS		256
/* config: api_url -- where hostscanctl import-csv reaches the API. */
#define HS_DEFAULT_API_URL		"http://127.0.0.1:8080"
/* Lifetime of the Admin token import-csv mints without HOSTSCAN_TOKEN. */
#define HS_CSV_TOKEN_TTL		300

/*
 * Prometheus metrics (src/common/metrics.c): config metrics_listen and
 * sched_metrics_listen turn them on (default off).  A scrape request is
 * read up to HS_METRICS_MAX_REQUEST bytes within HS_METRICS_READ_MS, its
 * answer written within HS_METRICS_WRITE_MS; one connection at a time;
 * an answer is at most HS_METRICS_MAX_BYTES.  The servers look at their
 * stop flag every HS_METRICS_POLL_MS.  hostscand's queue depth is one
 * statement under HS_METRICS_DB_TIMEOUT_MS.
 */
#define HS_METRICS_MAX_REQUEST		8192
#define HS_METRICS_READ_MS		2000
#define HS_METRICS_WRITE_MS		2000
#define HS_METRICS_POLL_MS		250
#define HS_METRICS_DB_TIMEOUT_MS	1000
#define HS_METRICS_MAX_BYTES		(1L * 1024 * 1024)

#endif
