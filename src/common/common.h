/* SPDX-License-Identifier: ISC */
/*
 * What the responder, the scheduler and the CLI share: configuration,
 * logging, numbers, UTF-8 and time, base64url, PASETO/PASERK tokens,
 * credential secrets and scopes, and the request validation table.
 */
#ifndef HS_COMMON_H
#define HS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "hslimits.h"

#define HS_UUID_LEN 36

/* ---- util.c: numbers and strings ---- */

/*
 * strtonum(3)-style: parse a decimal integer in [min, max].  Returns 0 and
 * sets *out, or -1 and sets *errstr to "invalid", "too small" or "too large".
 */
int	 hs_strtonum(const char *s, long long min, long long max,
	    long long *out, const char **errstr);
/* write(2) until all of buf is out (EINTR retried); -1 with errno. */
int	 hs_write_all(int fd, const void *buf, size_t n);
/* hs_tcp_listen() flags: host must be a literal address; non-blocking socket. */
#define HS_LISTEN_NUMERIC	0x1
#define HS_LISTEN_NONBLOCK	0x2
int	 hs_tcp_listen(const char *spec, unsigned flags, int backlog, char *err,
	    size_t errsize);
/* _exit(2) for a forked child, after LeakSanitizer's check in its builds. */
void	 hs_child_exit(int rc) __attribute__((noreturn));
/* strlcpy semantics; returns -1 when the source did not fit. */
int	 hs_strlcpy(char *dst, const char *src, size_t size);
char	*hs_strdup(const char *s);	/* aborts on allocation failure */
void	*hs_xmalloc(size_t n);		/* aborts on allocation failure */
/* Reads a whole file up to max bytes; NUL-terminates. NULL + errno on error. */
char	*hs_read_file(const char *path, size_t max, size_t *len);
/* The value of a hexadecimal digit, either case; -1 for any other byte. */
int	 hs_hexval(int c);
/* A limit's decimal literal as a string, for SQL and messages. */
#define HS_STR_(x)	#x
#define HS_STR(x)	HS_STR_(x)
/* Lower-case canonical uuid check: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
int	 hs_is_uuid(const char *s);
/* Writes 36 chars + NUL of a random version-4 uuid. */
void	 hs_uuid_random(char out[HS_UUID_LEN + 1]);
/* A version 4 uuid from 16 random bytes (many from one randombytes call). */
void	 hs_uuid_v4(const unsigned char rnd[16], char out[HS_UUID_LEN + 1]);

/* ---- jsonw.c: JSON text written as it is built, without a tree ---- */

struct hs_jw {
	char	*p;		/* NUL-terminated once anything was written */
	size_t	 len, cap;
	int	 failed;	/* grow refused: nothing more is written */
	/* When set, asked before the buffer grows by more bytes; -1 refuses. */
	int	(*grow)(void *arg, size_t more);
	void	*arg;
};
/* Room for n more bytes and a NUL; -1 once grow has refused. */
int	 hs_jw_room(struct hs_jw *, size_t n);
void	 hs_jw_raw(struct hs_jw *, const char *s, size_t n);
void	 hs_jw_lit(struct hs_jw *, const char *s);
/* A JSON string (s valid UTF-8), or null for NULL. */
void	 hs_jw_str(struct hs_jw *, const char *s);
void	 hs_jw_int(struct hs_jw *, long long v);
/* "key": */
void	 hs_jw_key(struct hs_jw *, const char *key);
void	 hs_jw_free(struct hs_jw *);

/* ---- utf8.c: one decoder; a policy for each kind of caller ---- */

/*
 * The character at s, of which n bytes may be read (SIZE_MAX for a C
 * string: a NUL ends any sequence): its length, 1 to 4, with the code
 * point in *cp; 0 when s does not start with a well-formed character
 * (overlong forms, surrogates, code points above U+10FFFF, stray or
 * missing continuation bytes).
 */
size_t	 hs_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* 1 when s[0..n) is well-formed UTF-8 (NUL and controls allowed). */
int	 hs_utf8_valid(const char *s, size_t n);
/* Characters in s[0..n), each byte of a malformed sequence one. */
size_t	 hs_utf8_chars(const char *s, size_t n);
/*
 * The characters of s when it is well-formed UTF-8 free of C0 and C1
 * controls and DEL, else -1: names and subjects that end up in tables,
 * JSON and log lines.
 */
long	 hs_utf8_text_len(const char *s);
/*
 * For a terminal: s into dst (size bytes, always NUL-terminated), every
 * control and every byte of a malformed sequence as '?', cut at a
 * character boundary when dst is full.  Returns the characters written:
 * the columns, near enough.
 */
size_t	 hs_utf8_clean(char *dst, size_t size, const char *s);
/* Ends s after at most chars characters (malformed bytes count one). */
void	 hs_utf8_cut(char *s, size_t chars);
/*
 * For storage, in place: every byte of a malformed sequence and every C0
 * control but tab, and DEL, become '?', so PostgreSQL and JSON take it.
 */
void	 hs_utf8_scrub(char *s);

/* ---- time.c ---- */

/*
 * RFC 3339 date-time ("2026-11-30T21:09:06Z", "...+02:00", fractions
 * allowed and truncated) to Unix seconds.  Returns 0, or -1 when s is not
 * a valid RFC 3339 date-time.
 */
int	 hs_time_parse(const char *s, int64_t *out);
/* Unix seconds to "YYYY-MM-DDTHH:MM:SSZ" (out needs 21 bytes). */
void	 hs_time_format(int64_t t, char out[21]);

/* ---- log.c: one key=value line per event on stderr ---- */

enum hs_log_level { HS_LOG_DEBUG, HS_LOG_INFO, HS_LOG_WARN, HS_LOG_ERROR };

void	 hs_log_init(const char *prog, enum hs_log_level min);
int	 hs_log_level_parse(const char *s, enum hs_log_level *out);
/*
 * Writes "ts=... level=... prog=... pid=... event=EVENT " followed by the
 * formatted rest, which must itself be key=value pairs.  Values that come
 * from outside go through hs_logq() first.
 */
void	 hs_log(enum hs_log_level lvl, const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Quotes and escapes s for a log value into buf (always NUL-terminated). */
const char *hs_logq(char *buf, size_t size, const char *s);

/* ---- config.c ---- */

struct hs_config {
	char	*path;			/* file it came from, or NULL */
	char	*api_database;		/* libpq conninfo of the responder */
	char	*sched_database;	/* libpq conninfo of hostscand */
	char	*admin_database;	/* libpq conninfo of hostscanctl */
	char	*keyring;		/* k4.public lines; env HOSTSCAN_KEYRING */
	char	*signing_key;		/* k4.secret; env HOSTSCAN_SIGNING_KEY */
	char	*master_key;		/* credential keys; env HOSTSCAN_MASTER_KEY */
	char	*sql_dir;		/* migrations; env HOSTSCAN_SQL_DIR */
	char	*api_url;		/* import-csv; env HOSTSCAN_URL */
	char	*token_issuer;		/* NULL: not set, not checked */
	char	*token_audience;	/* NULL: not set, not checked */
	char	*listen;		/* "unix:/path" or "host:port" */
	char	*listen_group;		/* group of the UNIX socket, or NULL */
	char	*trusted_proxies;	/* addresses and CIDR blocks, or NULL */
	char	*url_prefix;		/* the API's path prefix; "" the root,
					   NULL: the web server's SCRIPT_NAME */
	char	*metrics_listen;	/* responder's /metrics "host:port" */
	long	 listen_mode;		/* UNIX socket mode, default 0660 */
	long	 workers;
	long	 max_body_bytes;
	long	 max_hosts;
	long	 page_default;
	long	 page_max;
	long	 token_leeway;
	long	 token_default_ttl;
	long	 token_max_ttl;
	long	 db_connect_timeout;
	long	 retry_after;
	long	 shutdown_grace;
	int	 log_requests;
	enum hs_log_level log_level;
	/* hostscand; its command-line options set them too */
	long	 sched_workers;
	long	 lease_seconds;
	long	 host_timeout;
	long	 step_timeout;
	long	 max_attempts;
	long	 sched_db_connections;
	long	 retry_backoff_seconds;
	long	 scan_max_bytes;	/* memory one scan may hold */
	char	*sched_metrics_listen;	/* hostscand's /metrics "host:port" */
	char	*zones;			/* the zones it serves, "a,b" */
	long	 sched_reserve_workers;	/* kept for jobs without a worker */
	/* sign-in (src/api/signin.c, hostscanctl user) */
	char	*totp_key;		/* keys of the TOTP secrets */
	long	 signin_pre_mfa_ttl;
	long	 signin_session_ttl;
	long	 signin_session_max;	/* seconds from the sign-in */
	long	 signin_max_failures;
	long	 signin_lockout;
	/* what hs_config_check derives from the rows above */
	struct hs_scope *proxies;	/* trusted_proxies parsed, or NULL */
};

/*
 * One row per key of hostscan.conf: its type, field, default and bounds,
 * the one place they are written (config.c; the numbers are named in
 * hslimits.h).  The parser, the defaults, the bounds checks and their
 * messages, and hostscand's command line all read the rows.
 */
enum hs_config_kind {
	HS_CONF_STR,		/* char *; "" means not set */
	HS_CONF_LONG,		/* long, decimal, in [min, max] */
	HS_CONF_OCTAL,		/* long, octal (a file mode), in [min, max] */
	HS_CONF_BOOL,		/* int: yes/no, true/false, on/off, 1/0 */
	HS_CONF_LEVEL		/* enum hs_log_level by name */
};
struct hs_config_key {
	const char		*name;
	enum hs_config_kind	 kind;
	size_t			 off;		/* of the field in hs_config */
	long long		 def, min, max;	/* all but strings */
	const char		*defstr;	/* a string's default, or NULL */
};
extern const struct hs_config_key hs_config_keys[];
extern const size_t hs_config_nkeys;

/* The config path: arg, else $HOSTSCAN_CONFIG, else SYSCONFDIR/hostscan/hostscan.conf. */
const char *hs_config_path(const char *arg);
/* Every number, flag and level at its row's default; strings NULL. */
void	 hs_config_defaults(struct hs_config *c);
/* The row of a key, or NULL. */
const struct hs_config_key *hs_config_key(const char *name);
/*
 * Sets one key from its text as a line of the file does, checked by its
 * row.  Returns 0, or -1 with "KEY: why" (or "unknown key") in err.
 */
int	 hs_config_set(struct hs_config *c, const char *key, const char *val,
	    char *err, size_t errlen);
/*
 * Loads "key = value" lines (# comments) over the defaults, applies the
 * environment overrides named above, then the string defaults to keys
 * left unset.  A missing file is an error only when required is set.
 * Returns 0, or -1 with a message in err.
 */
int	 hs_config_load(struct hs_config *c, const char *path, int required,
	    char *err, size_t errlen);
void	 hs_config_free(struct hs_config *c);
/*
 * What a row cannot check alone (hs_config_load calls it; whoever sets
 * fields by hand calls it after): url_prefix is a path prefix, written
 * without its trailing slashes ("/" becomes "", the root); trusted_proxies
 * parses as addresses and CIDR blocks into proxies.  0, or -1 with err.
 */
int	 hs_config_check(struct hs_config *c, char *err, size_t errlen);
/*
 * The len bytes at s form a path prefix hostscan can route below and
 * write into a Link header: "", or segments of letters, digits and
 * -._~!$&()*+,;= each after a '/', none empty, "." or "..".
 */
int	 hs_path_prefix_ok(const char *s, size_t len);

/* ---- b64.c: base64url without padding (RFC 4648 section 5) ---- */

size_t	 hs_b64url_len(size_t binlen);		/* encoded length, without NUL */
/* Encodes; out must hold hs_b64url_len(n) + 1 bytes. */
void	 hs_b64url_encode(const unsigned char *in, size_t n, char *out);
/*
 * Strict decode: rejects padding, characters outside the alphabet and
 * non-zero trailing bits.  Returns 0 and sets *outlen, or -1.
 */
int	 hs_b64url_decode(const char *in, size_t inlen, unsigned char *out,
	    size_t outcap, size_t *outlen);

/* ---- token.c: PASETO v4.public, PASERK k4.* ---- */

enum hs_token_err {
	HS_TOKEN_OK = 0,
	HS_TOKEN_TOO_LONG,
	HS_TOKEN_MALFORMED,		/* not header.payload[.footer], bad base64 */
	HS_TOKEN_WRONG_HEADER,		/* not "v4.public." */
	HS_TOKEN_BAD_FOOTER,		/* footer not {"kid":"k4.pid..."} */
	HS_TOKEN_UNKNOWN_KEY,
	HS_TOKEN_BAD_SIGNATURE,
	HS_TOKEN_BAD_CLAIMS,		/* payload not JSON, missing/wrong claims */
	HS_TOKEN_EXPIRED,
	HS_TOKEN_NOT_YET_VALID,
	HS_TOKEN_WRONG_ISSUER,
	HS_TOKEN_WRONG_AUDIENCE,
	HS_TOKEN_REVOKED,		/* set by callers that check revocation */
	HS_TOKEN_INTERNAL
};
const char *hs_token_strerror(enum hs_token_err);

#define HS_PASERK_PUBLIC_LEN	(10 + 43)	/* "k4.public." + 32 bytes */
#define HS_PASERK_SECRET_LEN	(10 + 86)	/* "k4.secret." + 64 bytes */
#define HS_PASERK_PID_LEN	(7 + 44)	/* "k4.pid." + 33 bytes */

int	 hs_paserk_public_encode(const unsigned char pk[32],
	    char out[HS_PASERK_PUBLIC_LEN + 1]);
int	 hs_paserk_public_decode(const char *s, unsigned char pk[32]);
int	 hs_paserk_secret_encode(const unsigned char sk[64],
	    char out[HS_PASERK_SECRET_LEN + 1]);
/* Also checks that the second half of sk is the public key of its seed. */
int	 hs_paserk_secret_decode(const char *s, unsigned char sk[64]);
int	 hs_paserk_pid(const unsigned char pk[32], char out[HS_PASERK_PID_LEN + 1]);

/*
 * The signature layer.  Sign returns a malloc'd token.  Verify checks the
 * header and the Ed25519 signature over PAE(h, m, f, i) and returns the
 * malloc'd payload and footer (NUL-terminated; footer "" when absent).
 */
enum hs_token_err hs_paseto_sign(const unsigned char sk[64],
	    const char *payload, size_t plen, const char *footer, size_t flen,
	    const char *implicit, size_t ilen, char **token);
enum hs_token_err hs_paseto_verify(const char *token, size_t tlen,
	    const unsigned char pk[32], const char *implicit, size_t ilen,
	    char **payload, size_t *plen, char **footer, size_t *flen);
/* Decodes the (unverified) footer of a v4.public token; malloc'd. */
enum hs_token_err hs_paseto_footer(const char *token, size_t tlen,
	    char **footer, size_t *flen);

struct hs_pubkey {
	unsigned char	pk[32];
	char		pid[HS_PASERK_PID_LEN + 1];
};

struct hs_keyring {
	char		*path;
	struct hs_pubkey keys[HS_MAX_KEYRING_KEYS];
	size_t		 n;
	struct timespec	 mtime;		/* what the loaded file looked like */
	ino_t		 ino;
	off_t		 size;
};

/* Loads one k4.public per line (blank lines and # comments allowed). */
int	 hs_keyring_load(struct hs_keyring *kr, const char *path,
	    char *err, size_t errlen);
/*
 * Re-reads the file when its inode, size or mtime changed (or force).
 * Returns 1 when reloaded, 0 when unchanged, -1 on error (old keys kept).
 */
int	 hs_keyring_refresh(struct hs_keyring *kr, int force,
	    char *err, size_t errlen);
const struct hs_pubkey *hs_keyring_find(const struct hs_keyring *kr,
	    const char *pid);
void	 hs_keyring_free(struct hs_keyring *kr);

struct hs_claims {
	char	*sub;
	char	*name;			/* NULL when absent */
	char	*jti;
	char	*sid;			/* sign-in session; NULL when absent */
	char	*roles[HS_MAX_ROLES];
	size_t	 nroles;
	int64_t	 exp;
	int64_t	 iat, nbf;
	int	 has_iat, has_nbf;
};

struct hs_token_policy {
	const char	*issuer;	/* NULL: iss not checked */
	const char	*audience;	/* NULL: aud not checked */
	int64_t		 now;		/* Unix seconds; injected for tests */
	int64_t		 leeway;	/* seconds, <= HS_MAX_TOKEN_LEEWAY */
};

/* Full check: footer kid in keyring, signature, claims. */
enum hs_token_err hs_token_verify(const struct hs_keyring *kr,
	    const char *token, const struct hs_token_policy *pol,
	    struct hs_claims *out);
void	 hs_claims_free(struct hs_claims *c);
int	 hs_claims_has_role(const struct hs_claims *c, const char *role);
/*
 * Mints a token with a random jti (jti_out needs HS_UUID_LEN + 1); sid,
 * when not NULL, is the sign-in session's id claim.
 */
enum hs_token_err hs_token_issue(const unsigned char sk[64], const char *sub,
	    const char *name, const char *const *roles, size_t nroles,
	    int64_t now, int64_t ttl, const char *issuer, const char *audience,
	    const char *sid, char **token, char *jti_out);

/* ---- secret.c: credential secrets under the master key file ---- */

#define HS_MASTER_ID_LEN 16

struct hs_master_key {
	char		id[HS_MASTER_ID_LEN + 1];
	unsigned char	key[32];
};

struct hs_master_keys {
	struct hs_master_key *k;	/* sodium_malloc'd; k[0] is current */
	size_t		 n;
};

/*
 * The master key file holds lines "ID BASE64URL-KEY"; the first line is
 * the key new secrets are sealed with, the others still open old ones.
 */
int	 hs_master_load(const char *path, struct hs_master_keys *mk,
	    char *err, size_t errlen);
/* Creates the file (0600) or puts a new key first.  */
int	 hs_master_generate(const char *path, char *err, size_t errlen);
void	 hs_master_free(struct hs_master_keys *mk);
/* box = nonce || crypto_secretbox_easy(msg); malloc'd. */
int	 hs_secret_seal(const struct hs_master_keys *mk, const unsigned char *msg,
	    size_t len, char key_id[HS_MASTER_ID_LEN + 1], unsigned char **box,
	    size_t *boxlen);
/* msg is sodium_malloc'd (free with sodium_free), NUL-terminated. */
int	 hs_secret_open(const struct hs_master_keys *mk, const char *key_id,
	    const unsigned char *box, size_t boxlen, unsigned char **msg,
	    size_t *len);

/* ---- totp.c: RFC 6238 codes through liboath ---- */

#define HS_TOTP_STEP		30	/* seconds per code */
#define HS_TOTP_DIGITS		6
#define HS_TOTP_WINDOW		1	/* steps of clock skew either side */
#define HS_TOTP_SECRET_BYTES	20	/* RFC 4226: 160 bits, as for SHA-1 */

/*
 * 0 when code is HS_TOTP_DIGITS ASCII digits that key yields for a step
 * within HS_TOTP_WINDOW of now; *counter gets that step (now / 30), so a
 * caller can refuse a code whose step was already used.  -1 otherwise.
 */
int	 hs_totp_check(const unsigned char *key, size_t keylen,
	    const char *code, int64_t now, uint64_t *counter);
/* RFC 4648 base32 without padding, as otpauth:// URIs carry it; malloc'd. */
char	*hs_totp_base32(const unsigned char *key, size_t keylen);

/* ---- scope.c: where a credential may be used ---- */

/*
 * A credential's scope (credential.scope): comma-separated entries, each
 * an IPv4 or IPv6 address or CIDR block, a DNS name, or "*.SUFFIX" for
 * any name under SUFFIX (not SUFFIX itself); or "any" alone.  Names match
 * case-insensitively, without a trailing dot; an IPv4-mapped IPv6 address
 * counts as its IPv4 address.
 */
enum hs_scope_kind {
	HS_SCOPE_NET4, HS_SCOPE_NET6, HS_SCOPE_NAME, HS_SCOPE_SUFFIX
};
struct hs_scope_entry {
	int		 kind;		/* enum hs_scope_kind */
	unsigned char	 addr[16];	/* networks: the first 4 for IPv4 */
	int		 prefix;
	char		*name;		/* lower case; a suffix with its dot */
	size_t		 namelen;
};
struct hs_scope {
	int			 any;
	struct hs_scope_entry	*e;
	size_t			 n;
};

/* 0, or -1 with the first bad entry named in err (linear in the text). */
int	 hs_scope_parse(const char *text, struct hs_scope *out, char *err,
	    size_t errlen);
void	 hs_scope_free(struct hs_scope *);
/* The canonical text (what the database stores); malloc'd. */
char	*hs_scope_format(const struct hs_scope *);
/* A name entry matches dns / a network holds the address. */
int	 hs_scope_has_name(const struct hs_scope *, const char *dns);
int	 hs_scope_has_ip(const struct hs_scope *, const char *ip);
struct sockaddr;
int	 hs_scope_has_sockaddr(const struct hs_scope *, const struct sockaddr *);
/*
 * A request item is in scope when its dnsHostName matches a name entry or
 * its ipAddress is in a network: the API's check.  The scheduler's check
 * at connect time, on the address it connects to, is the one that guards
 * the secret.
 */
int	 hs_scope_allows_request(const struct hs_scope *, const char *dns,
	    const char *ip);

/* ---- validate.c: HostScanJobRequest, one table of pure checks ---- */

extern const char *const hs_action_status_names[];	/* 11 */
extern const char *const hs_failure_reason_names[];	/* 12 */
extern const char *const hs_trust_action_names[];	/* 3 */
extern const char *const hs_certificate_type_names[];	/* 3 */
#define HS_N_ACTION_STATUS	11
#define HS_N_FAILURE_REASON	12
#define HS_N_TRUST_ACTION	3
#define HS_N_CERTIFICATE_TYPE	3

enum hs_action_status {
	HS_QUEUED, HS_RUNNING, HS_COMPLETE, HS_FAILED, HS_CANCELLED,
	HS_COMPLETED_WITH_ERRORS, HS_COMPLETED_NOT_RUN, HS_PAUSED,
	HS_SCHEDULED, HS_UNKNOWN, HS_PENDING
};

/* One validated, normalised request item. */
struct hs_host_req {
	char	*dns_host_name;		/* NULL when absent */
	char	*ip_address;		/* NULL when absent */
	char	*os;
	char	 credential_id[HS_UUID_LEN + 1];  /* "" when null or all-zero */
	char	*credential_name;
	char	*platform_name;
	int	 accept_first;		/* acceptThumbprintOnFirstDiscovery */
	int	 trust_action;		/* -1 when null */
	int	 certificate_type;	/* -1 when null */
	char	*trusted_thumbprint;	/* normalised, NULL when absent */
	int	 ssh_port;		/* 22 when null or 0 */
	char	*source;
};

/*
 * Pure field checks: NULL when s is acceptable, else the message that goes
 * into the problem body's errors list.  Thumbprint writes its normalised
 * form ("SHA256:...", "MD5:xx:...", or 40 upper-case hex) into norm.
 */
const char *hs_check_dns_name(const char *s);
const char *hs_check_ip(const char *s);
const char *hs_check_uuid(const char *s);
const char *hs_check_thumbprint(const char *s, char *norm, size_t normsize);
/*
 * Enum from JSON: a case-insensitive name or a 0-based integer position.
 * Returns the index, -1 for JSON null, or -2 when v is not acceptable.
 */
int	 hs_enum_parse(const char *const *names, size_t n, const json_t *v);

/* errors is a JSON object: path -> [messages]; adds one message. */
void	 hs_errors_add(json_t *errors, const char *path, const char *msg);

/*
 * Validates a parsed request body (must be a non-empty array of at most
 * max_hosts objects) into *out (calloc'd array of *n items).  Every problem
 * goes into errors under its "[i].field" path ("$" for the body itself).
 * Returns 0 when errors stayed empty.  Credential and platform existence are
 * not checked here (they need the database); see the callers.
 */
int	 hs_validate_hosts(const json_t *root, long max_hosts,
	    struct hs_host_req **out, size_t *n, json_t *errors);
void	 hs_host_reqs_free(struct hs_host_req *r, size_t n);

/* ---- zone.c: scheduler zones (sql/011) ---- */

struct hs_zones {
	size_t	 n;
	char	 name[HS_MAX_ZONES][HS_ZONE_NAME_MAX + 1];
};

/* NULL when s is a valid zone name, else why not. */
const char *hs_check_zone(const char *s);
/* "dmz, lab": comma-separated names, duplicates folded; -1 with err. */
int	 hs_zones_parse(const char *text, struct hs_zones *, char *err,
	    size_t errlen);
/* The PostgreSQL text[] literal of the zones; -1 when out is too small. */
int	 hs_zones_array(const struct hs_zones *, char *out, size_t outlen);

#endif
