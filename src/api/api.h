/* SPDX-License-Identifier: ISC */
/*
 * hostscan.fcgi: the FastCGI (and CGI) responder of the HostScanJob API.
 * A request goes main.c -> server.c (the supervisor forks workers; each
 * accepts and calls serve()) -> request.c (path, client address, body)
 * -> routes.c (route table, auth.c's token and role checks) -> a handler,
 * which reads and writes through db.c's statements and answers with
 * request.c's reply_json()/reply_problem().
 *
 *   main.c     command line and config; which of the three ways to serve
 *   server.c   supervisor, workers, plain CGI, listening sockets, serve()
 *   io.c       struct io over libfcgi, and over CGI's environment and stdio
 *   request.c  the request and its answer; api_err -> HTTP in one table;
 *              the path below the prefix, body JSON, query parameters,
 *              paging arguments
 *   proxy.c    the client behind trusted proxies (X-Forwarded-For,
 *              Forwarded)
 *   routes.c   the route table: method, path, who may call, handler
 *   auth.c     Bearer tokens, revocation, the token cache, roles
 *   signin.c   POST /signinBody, POST /signin2fa, GET /UserToken
 *   status.c   GET /Health, GET /Version
 *   job.c      POST /HostScanJob, POST .../OuMapping/{credentialId}, the
 *              job list, one job, its status, its cancel
 *   hostreq.c  HostScanJobRequest items: validation, the credentials and
 *              platforms they name, credential scope, the refusals' audit
 *   csv.c      POST /HostScanJob/ValidateImportedCSV
 *   rescan.c   re-scans of host records: ByHostId, ByHostIdMultiple, and
 *              POST /HostScanJob/{managedResourceId}
 *   results.c  scanned data: hosts, Trust, users (and by SID), groups,
 *              services, scheduled tasks, software
 *   idem.c     Idempotency-Key on the routes that queue jobs
 *   db.c       every SQL statement, the readers of their results
 *   dbconn.c   the worker's connection: connect, prepare, run, transactions
 */
#ifndef HS_API_H
#define HS_API_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "common.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * The one error type of the responder; request.c maps each to its HTTP
 * status, title and problem type in one table.
 */
enum api_err {
	API_OK = 0,
	API_BAD_REQUEST,	/* 400, malformed JSON or query */
	API_VALIDATION,		/* 400 with an errors object */
	API_UNAUTHORIZED,	/* 401 */
	API_FORBIDDEN,		/* 403 */
	API_NOT_FOUND,		/* 404 */
	API_METHOD,		/* 405 */
	API_CONFLICT,		/* 409, the resource's state forbids it */
	API_LENGTH_REQUIRED,	/* 411 */
	API_TOO_LARGE,		/* 413 */
	API_UNSUPPORTED_TYPE,	/* 415 */
	API_UNPROCESSABLE,	/* 422, e.g. an Idempotency-Key reused */
	API_TOO_MANY,		/* 429, sign-in locked out (Retry-After) */
	API_INTERNAL,		/* 500 */
	API_UNAVAILABLE,	/* 503, database down */
	API__MAX
};

enum db_err { DB_OK = 0, DB_UNAVAILABLE, DB_ERROR };

/* Where a request comes from: a FastCGI connection or the CGI environment. */
struct io {
	const char	*(*param)(struct io *, const char *);
	/*
	 * Each of a parameter a server passes once per header line (nginx
	 * before 1.23 does): the next from *pos (0 at first), or NULL; NULL
	 * when param() is all there is.
	 */
	const char	*(*param_next)(struct io *, const char *, size_t *pos);
	long		 (*read)(struct io *, char *, size_t);
	int		 (*write)(struct io *, const char *, size_t);
	void		*ctx;
};

/* One worker's long-lived state. */
struct worker {
	const struct hs_config	*cfg;
	struct hs_keyring	 keyring;
	int			 keyring_ok;
	unsigned long		 keyring_gen;	/* bumped on every (re)load */
	PGconn			*db;
	unsigned long		 db_epoch;	/* bumped on every connect */
	unsigned long		 revoke_events;	/* NOTIFY hostscan_revoke seen */
	int			 in_tx;		/* between db_begin and its end */
	json_t			*refs;		/* credentials, platforms: hostreq.c */
};

/* One request; req_free() releases everything it owns. */
struct req {
	struct io	*io;
	struct worker	*w;
	char		 trace[33];
	const char	*method;	/* borrowed from io */
	char		 path[HS_MAX_PATH_LEN];	/* as the web server gave it */
	const char	*route;		/* in path, below the prefix; "" outside */
	char		 prefix[HS_MAX_URL_PREFIX_LEN + 1];	/* of links */
	const char	*query;		/* borrowed from io, never NULL */
	char		 addr[64];	/* client address (trusted proxies applied) */
	char		*body;		/* owned, NUL-terminated */
	size_t		 body_len;
	struct hs_claims claims;	/* owned once authenticated */
	int		 authed;
	int		 auth_cached;	/* the token came from the worker's cache */
	int		 status;	/* what was answered, for the log */
	const char	*auth_fail;	/* why a token was refused, for the log */
	char		 allow[64];	/* Allow header of a 405 */
	long		 retry_after;	/* seconds, for a 429 */
	const char	*idem_key;	/* the Idempotency-Key this request owns */
	struct timespec	 start;
	const struct route *matched;	/* what matched, for metrics.c */
};

/* ?limit=&after= of a keyset-paged list (page_args, page_rows). */
struct page {
	long long	 limit;
	char		 after[HS_UUID_LEN + 1];	/* "" on the first page */
	char		 fetch[24];	/* limit + 1, the statement's LIMIT */
	char		 link[512 + HS_MAX_URL_PREFIX_LEN];	/* the Link header
					   when a next page exists */
	const char	*prefix;	/* the request's, for link */
};

/* server.c */
int	 server_run(const struct hs_config *, int listen_fd, long workers);
int	 server_cgi(const struct hs_config *);
int	 server_listen(const struct hs_config *, const char *spec);
void	 serve(struct worker *, struct io *);

/* io.c */
void	 io_fcgi_init(struct io *, void *fcgx_request);
void	 io_cgi_init(struct io *);
/* Discards the unread rest of a CGI request body (bounded). */
void	 io_cgi_drain(void);

/* request.c */
void	 req_init(struct req *, struct io *, struct worker *);
void	 req_free(struct req *);
const char *req_header(struct req *, const char *cgi_name);
enum api_err req_read_body(struct req *, const char **detail);
#define BODY_ANY	0x01	/* body_json: any JSON value, not only [] or {} */
#define BODY_SECRET	0x02	/* body_json: wipe the raw body once parsed */
json_t	*body_json(struct req *, int flags);
int	 query_get(const char *query, const char *key, char *out,
	    size_t outsize);
int	 page_args(struct req *, struct page *, const char *after_msg);
int	 page_rows(struct page *, const char *route, const PGresult *);
/* Sends 200-class JSON; steals nothing (value stays the caller's). */
void	 reply_json(struct req *, int status, const json_t *value,
	    const char *extra_headers);
/* The same with JSON text already written (a 500 if the writer failed). */
void	 reply_json_text(struct req *, int status, const struct hs_jw *,
	    const char *extra_headers);
/* Sends a problem+json body; errors (may be NULL) is borrowed. */
void	 reply_problem(struct req *, enum api_err, const char *detail,
	    const json_t *errors);
/* 503 for DB_UNAVAILABLE, else 500. */
void	 reply_db_error(struct req *, enum db_err);

/*
 * proxy.c: the client of a request from peer (REMOTE_ADDR) behind the
 * trusted proxies, written to out; *conflict set when X-Forwarded-For and
 * Forwarded (either may be NULL) named different clients.
 */
void	 proxy_client(const struct hs_scope *trusted, const char *peer,
	    const char *xff, const char *forwarded, char *out, size_t outsize,
	    int *conflict);

/* routes.c */
enum route_method { M_GET = 0x01, M_POST = 0x02, M_DELETE = 0x04,
	M_PUT = 0x08 };		/* M_GET answers HEAD too */
/* Who may call a route. */
enum route_auth {
	AUTH_PUBLIC,	/* anyone: probes, and /signinBody */
	AUTH_APP,	/* a token with Admin or App, the HostScanJob roles */
	AUTH_ADMIN,	/* a token with Admin: trusting a key is never an App's */
	AUTH_SESSION,	/* any valid session token, whatever its roles */
	AUTH_PRE_MFA,	/* a pre-MFA token of /signinBody, and nothing else */
};
struct route {
	const char	*pattern;	/* below /api/v1, or at the root */
	int		 method;	/* enum route_method bits */
	enum route_auth	 auth;
	/* arg: the {id} (lower case) or {sid} segment, else "" */
	void		(*handler)(struct req *, const char *arg);
};
#define ROUTE_ARG_MAX	256	/* a longer {sid} segment is handed on as "" */
/*
 * The route answering method at path, its segment in arg; NULL when none,
 * with *allowed the methods the path has (0: no such route).
 */
const struct route *route_find(const char *method, const char *path,
	    char arg[ROUTE_ARG_MAX], int *allowed);
/* The Allow header's value for route_find's *allowed. */
void	 route_allow(int allowed, char *buf, size_t size);
void	 route(struct req *);
/* The route table numbered for metrics.c: entries 0 .. route_count() - 1. */
size_t	 route_count(void);
const struct route *route_nth(size_t);	/* NULL past the end */
const char *route_prefix(size_t);	/* "/api/v1" or "" */
long	 route_index(const struct route *);

/* auth.c */
enum api_err auth_request(struct req *);
/* auth_request without the role check: any valid session token. */
enum api_err auth_token(struct req *);
/* A pre-MFA token (signin.c), which auth_token refuses. */
enum api_err auth_pre_mfa(struct req *);
void	 keyring_update(struct worker *, int force);

/*
 * signin.c.  A pre-MFA token carries only this role and this audience, so
 * that it opens nothing but /signin2fa (auth_token refuses the role).
 */
#define SIGNIN_PRE_MFA_ROLE	"hostscan:pre-mfa"
#define SIGNIN_PRE_MFA_AUD	"hostscan:signin2fa"
void	 h_signin_body(struct req *, const char *arg);
void	 h_signin_2fa(struct req *, const char *arg);
void	 h_user_token(struct req *, const char *arg);
/* Zeroes and frees the worker's signing and TOTP keys. */
void	 signin_free(void);

/* status.c */
void	 h_health(struct req *, const char *arg);
void	 h_version(struct req *, const char *arg);

/* job.c */
void	 h_job_post(struct req *, const char *arg);
void	 h_job_ou_mapping(struct req *, const char *credential_id);
void	 h_job_list(struct req *, const char *arg);
void	 h_job_get(struct req *, const char *id);
void	 h_job_status(struct req *, const char *id);
void	 h_job_cancel(struct req *, const char *id);
/* Columns of ST_JOB_INSERT, ST_JOB_HOSTS and ST_JOB_PAGE_HOSTS. */
enum { HC_JOB, HC_ID, HC_HOST_ID, HC_NAME, HC_DNS, HC_OS, HC_IP, HC_VERSION,
	HC_STATE, HC_DESC, HC_REASON };
/* A HostScanJobStatus from rows [from, to) of an HC_ result, as text. */
void	 job_status(struct hs_jw *, const PGresult *, int from, int to);
/* Answers the HostScanJobStatus of job id with status (or its 404). */
void	 reply_job_status(struct req *, const char *id, int status);
/*
 * The jobs a request queued, as idem_end records and answers them: each
 * one's HostScanJobStatus as JSON text (comma-separated) and its id.
 */
struct queued {
	struct hs_jw	 text;
	json_t		*ids;		/* a JSON array of the jobs' ids */
	int		 many;		/* answered as an array, even of one */
};
/* An array's "[" is written at once when many, its "]" by idem_end. */
void	 queued_init(struct queued *, int many);
void	 queued_free(struct queued *);
/*
 * A job as job_create() queues it: the records ST_JOB_INSERT reads (a
 * JSON array, each with the row's id chosen here) and what its first
 * status says of each host, before any scan (pointers into what the
 * records were made of, which outlives the job).
 */
struct new_host {
	char		 id[HS_UUID_LEN + 1];	/* hostScanHostId */
	const char	*host_id, *dns, *ip, *os;
};
/*
 * About the bytes of one host's insert record and of its status: buffers
 * are sized once from them instead of doubling (a copy of all written so
 * far each time) while 10 000 hosts are written.
 */
#define HOST_RECORD_BYTES	400
#define HOST_STATUS_BYTES	300
struct new_job {
	char		*records;
	struct new_host	*hosts;
	size_t		 n;
};
/*
 * The random bytes of n records' two ids, from one system call: a
 * ChaCha20 stream from a random seed (libsodium), where one getrandom()
 * per id cost 20 000 system calls for 10 000 hosts.
 */
unsigned char *new_job_random(size_t n);
/*
 * What one host's record says, besides the ids chosen for it: the columns
 * of host_scan_host that ST_JOB_INSERT fills (NULL and -1 are null).
 */
struct new_record {
	const char	*dns, *ip, *os, *cred, *plat, *thumbprint, *source;
	const char	*host_id;	/* a re-scan's host record */
	int		 accept_first, trust_action, certificate_type, ssh_port;
};
/*
 * Writes record i of a job (hostreq.c, rescan.c): its row ids from rnd
 * (32 bytes of new_job_random's), then rec; and fills host for the job's
 * first status.
 */
void	 new_job_record(struct hs_jw *, struct new_host *host, size_t i,
	    const unsigned char rnd[32], const struct new_record *rec);
void	 new_job_free(struct new_job *);
/*
 * Queues job and adds its status to q; -1 after answering the error, or,
 * with *stale set and nothing answered, when guard (hosts_validate's) no
 * longer holds.
 */
int	 job_create(struct req *, const struct new_job *job, const char *guard,
	    const char *rescan_of, int *stale, struct queued *q);

/* hostreq.c */
/*
 * Validates a HostScanJobRequest array: *h and *n the items that parsed,
 * *job (unless NULL) the job to queue when no item has a problem, and
 * *guard (unless NULL) ST_JOB_INSERT's $6, errors every problem, refused
 * (may be NULL) the hosts a credential's scope refused.  API_VALIDATION
 * when the body as a whole is unusable, API_UNAVAILABLE or API_INTERNAL
 * with *dberr when the lookups failed, else API_OK (items may still have
 * errors).
 */
enum api_err hosts_validate(struct req *, const json_t *root,
	    struct hs_host_req **h, size_t *n, struct new_job *job,
	    char **guard, json_t *errors, json_t *refused, enum db_err *dberr);
/* Drops the worker's memory of credentials and platforms. */
void	 refs_forget(struct worker *);
/*
 * A credential's scope against a request's host (POST, ValidateImportedCSV
 * and re-scans): 1 when admitted, else 0 with the message for the
 * credential's error key.
 */
#define SCOPE_REFUSED_MSG	"is not allowed for this host: neither its " \
	"dnsHostName nor its ipAddress is in the credential's scope"
#define SCOPE_UNREADABLE_MSG	"has a scope that cannot be read, so it " \
	"allows no host (hostscanctl credential scope sets it)"
int	 scope_allows(const char *scope, const char *dns, const char *ip,
	    const char **msg);
/* refused: a JSON array for audit_refused(), NULL to record nothing. */
void	 refused_add(json_t *refused, const char *cred_id, const char *dns,
	    const char *ip, int port);
/* Writes the refusals to the credential audit trail (sql/008). */
void	 audit_refused(struct req *, const json_t *refused);

/* csv.c */
void	 h_csv_validate(struct req *, const char *arg);

/* rescan.c */
void	 h_rescan_post(struct req *, const char *id);
void	 h_rescan_now(struct req *, const char *id);
void	 h_rescan_get(struct req *, const char *id);
void	 h_rescan_multi(struct req *, const char *arg);

/* results.c */
void	 h_result_host_list(struct req *, const char *arg);
void	 h_result_host_get(struct req *, const char *id);
void	 h_result_host_trust(struct req *, const char *id);
void	 h_result_host_services(struct req *, const char *id);
void	 h_result_host_tasks(struct req *, const char *id);
void	 h_result_host_software(struct req *, const char *id);
void	 h_result_user_list(struct req *, const char *arg);
void	 h_result_user_get(struct req *, const char *id);
void	 h_result_user_sid(struct req *, const char *sid);
void	 h_result_group_get(struct req *, const char *id);
/*
 * The SIDs Samba gives Unix accounts: S-1-22-1-<uid> for users and
 * S-1-22-2-<gid> for groups (db.c computes them from unixId).
 */
#define SID_UNIX_AUTHORITY	22
#define SID_UNIX_USERS		1
#define SID_UNIX_GROUPS		2
#define SID_MAX_SUBAUTH		15
int	 sid_unix_user(const char *sid, long long *uid);

/*
 * idem.c: Idempotency-Key.  idem_start returns 1 when the handler should
 * queue its jobs (inside a transaction when the request has a key or
 * want_tx), 0 when it answered (a replay of the key's jobs, one object or
 * an array as many says, a 422, an error).  The handler then ends with
 * idem_end: the jobs it queued (one HostScanJobStatus, or an array when
 * q->many) are recorded under the key, committed and answered; NULL (the
 * handler answered an error) rolls back.
 */
struct idem {
	char	 key[HS_MAX_IDEM_KEY_LEN + 1];	/* "" when none was sent */
	char	 fp[65];			/* hex BLAKE2b-256 */
};
int	 idem_start(struct req *, struct idem *, int many, int want_tx);
void	 idem_end(struct req *, struct idem *, struct queued *q);

/* db.c: every SQL statement of the responder */
enum stmt {
	ST_PING,
	ST_REVOKED,
	ST_REFS,
	ST_AUDIT_REFUSED,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_IDEM_CLAIM,
	ST_IDEM_GET,
	ST_IDEM_DONE,
	ST_JOBS_HOSTS,
	ST_JOB_INSERT,
	ST_JOB_HOSTS,
	ST_JOB_ROW,
	ST_JOB_ENTITY,
	ST_JOB_PAGE,
	ST_JOB_PAGE_HOSTS,
	ST_JOB_CANCEL,
	ST_RES_HOST,
	ST_RES_HOST_PAGE,
	ST_RES_SCAN_LOG,
	ST_RES_TRUST,
	ST_RES_USER,
	ST_RES_USER_PAGE,
	ST_RES_USER_SID_PAGE,
	ST_RES_GROUP,
	ST_RES_GROUP_MEMBERS,
	ST_RES_SERVICE_PAGE,
	ST_RES_TASK_PAGE,
	ST_RES_SOFTWARE_PAGE,
	ST_HOST_RECORDS,
	ST_HOST_LATEST_JOB,
	ST_SIGNIN_USER,
	ST_SIGNIN_LOCKED,
	ST_SIGNIN_PRUNE,
	ST_SIGNIN_RESERVE,
	ST_SIGNIN_RELEASE,
	ST_SIGNIN_OK,
	ST_SESSION_START,
	ST_SESSION_LIVE,
	ST_SESSION_TOKEN,
	ST_SESSION_PRUNE,
	ST__MAX
};

/*
 * A statement: its prepared name, its SQL, and one letter per parameter
 * for what the caller must send: t text, i integer, u uuid, U a uuid[]
 * literal (db_uuid_array), j JSON.
 */
struct db_stmt {
	const char	*name;
	const char	*sql;
	const char	*types;
};
extern const struct db_stmt db_stmts[ST__MAX];

/* Column readers: NULL is JSON null. */
json_t	*col_str(const PGresult *, int row, int col);
json_t	*col_enum(const PGresult *, int row, int col,
	    const char *const *names, int n);
int	 col_int(const PGresult *, int row, int col);
json_t	*col_bigint(const PGresult *, int row, int col);
json_t	*col_bool(const PGresult *, int row, int col);
/* The value's text, NULL for NULL. */
const char *col_text(const PGresult *, int row, int col);

/* How a column becomes a JSON member (db_row). */
enum db_kind {
	DB_STR,
	DB_INT,		/* a bigint */
	DB_BOOL,
	DB_ENUM,	/* a position in names, sent as the name */
	DB_NULL,	/* a field of the product's model hostscan has no data for */
};
struct db_field {
	const char		*name;
	int			 col;
	enum db_kind		 kind;
	const char *const	*names;		/* DB_ENUM */
	int			 n;		/* DB_ENUM */
};
/* One row as an object, its members in the order of the fields. */
json_t	*db_row(const PGresult *, int row, const struct db_field *,
	    size_t nfields);
/* The same object as db_row, written as JSON text. */
void	 db_row_text(struct hs_jw *, const PGresult *, int row,
	    const struct db_field *, size_t nfields);
/* "{id,...}" for a U parameter; NULL when an id is not a uuid. */
char	*db_uuid_array(const char *const *ids, size_t n);

/*
 * dbconn.c.  db_exec runs a prepared statement (connecting and preparing
 * first when needed).  Returns the result (PGRES_TUPLES_OK or COMMAND_OK)
 * or NULL with *err set; text parameters, text results.
 */
PGresult *db_exec(struct worker *, enum stmt, int nparams,
	    const char *const *params, enum db_err *err);
int	 db_ensure(struct worker *);
int	 db_begin(struct worker *, enum db_err *);
int	 db_commit(struct worker *, enum db_err *);
void	 db_rollback(struct worker *);
void	 db_close(struct worker *);

/*
 * metrics.c: counters shared by the workers, served on metrics_listen by
 * a child of the supervisor.  Every call is a no-op when metrics are off
 * (and in plain CGI).
 */
int	 apim_init(const struct hs_config *);	/* before the first fork */
void	 apim_supervise(int close_fd);	/* starts or restarts the server */
void	 apim_reaped(pid_t);		/* a child of the supervisor died */
void	 apim_stop(void);
void	 apim_worker_start(void);	/* takes the worker's slot */
void	 apim_begin(void);
void	 apim_end(const struct req *, double ms);
void	 apim_db_connected(int reconnect);
void	 apim_token_cache(int hit);

#endif
