/*
 * hostscand: claims queued hosts from PostgreSQL, scans them over SSH
 * with a pool of threads (one libssh session per thread, never shared)
 * and writes the results.  main.c starts it, queue.c runs the claimer,
 * the housekeeper (heartbeat, reaper, cancellations) and the workers,
 * scan.c does one host, inventory.c reads what a logged-in host has,
 * store.c holds every SQL statement and the connection pool.
 */
#ifndef HS_SCHED_H
#define HS_SCHED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "common.h"

/* Command-line options (config keys once config.c knows them). */
#define HSD_DEFAULT_WORKERS		64
#define HSD_MAX_WORKERS			1024
#define HSD_DEFAULT_LEASE		30	/* seconds */
#define HSD_MIN_LEASE			3
#define HSD_MAX_LEASE			3600
#define HSD_DEFAULT_HOST_TIMEOUT	60	/* seconds for one host, all steps */
#define HSD_MAX_HOST_TIMEOUT		3600
#define HSD_DEFAULT_STEP_TIMEOUT	10	/* seconds for one step */
#define HSD_MAX_STEP_TIMEOUT		600
#define HSD_DEFAULT_MAX_ATTEMPTS	3
#define HSD_MAX_MAX_ATTEMPTS		100
#define HSD_DEFAULT_DB_CONNS		8	/* pool the workers share */
#define HSD_MAX_DB_CONNS		64
#define HSD_DEFAULT_BACKOFF		2	/* seconds, doubled per attempt */
#define HSD_MAX_BACKOFF			300

/* Fixed bounds. */
#define HSD_POLL_MS			1000	/* queue poll besides NOTIFY */
#define HSD_CANCEL_POLL_MS		1000	/* cancel_requested of running rows */
#define HSD_REAP_MS			1000
#define HSD_INSTANCE_MAX		128
#define HSD_MAX_OUTPUT			(16 * 1024 * 1024)	/* inventory bytes */
#define HSD_MAX_LOG_ENTRIES		128	/* scan_log lines per attempt */
#define HSD_MAX_LOG_MSG			1024
#define HSD_MAX_DESC			1024
#define HSD_THREAD_STACK		(512 * 1024)
#define HSD_MALLOC_ARENAS		2
#define HSD_MAX_INV_ROWS		200000	/* per inventory table */
#define HSD_MAX_PROMPT			256	/* keyboard-interactive prompt bytes */
#define HSD_MAX_KBDINT_ROUNDS		4

/* Positions in the API's ActionFailureReason list. */
enum hsd_reason {
	R_NO_ERROR = 0, R_UNKNOWN = 1, R_SYSTEM = 2, R_UNAVAILABLE = 3,
	R_TIMEOUT = 4, R_ACCESS_DENIED = 5, R_INVALID_HOST_NAME = 10,
	R_FAILED_TO_CONNECT = 11
};

/* Positions in SshTrustActionType; NULL in the row means the default. */
enum hsd_trust_action {
	TRUST_ALWAYS = 0, TRUST_WARN = 1, TRUST_ERROR = 2
};

struct hsd_opts {
	const char	*conninfo;
	const char	*master_key;
	char		 instance[HSD_INSTANCE_MAX];
	int		 workers;
	int		 lease;
	int		 host_timeout;
	int		 step_timeout;
	int		 max_attempts;
	int		 db_conns;
	int		 grace;
	int		 backoff;
	int		 connect_timeout;	/* database, seconds */
};

/* One claimed host_scan_host row: the request and its attempt. */
struct hsd_job {
	char	 id[HS_UUID_LEN + 1];
	char	 job_id[HS_UUID_LEN + 1];
	char	 credential_id[HS_UUID_LEN + 1];
	char	 platform_id[HS_UUID_LEN + 1];	/* "" when null */
	int	 attempt;
	char	*dns;				/* NULL when absent */
	char	*ip;
	char	*os;
	char	*trusted_thumbprint;
	int	 port;
	int	 accept_first;
	int	 trust_action;			/* enum hsd_trust_action */
	double	 claimed_at;			/* epoch seconds */
	char	*cred_name;			/* the credential, never its */
	int	 cred_is_key;			/* secret; NULL when gone */
	char	*cred_scope;
};

/* What the housekeeper and the shutdown path tell a running scan. */
enum hsd_stop {
	STOP_NONE = 0, STOP_CANCEL, STOP_LOST, STOP_RELEASE
};

struct hsd_slot {
	pthread_t	 thread;
	struct hsd_job	*job;		/* NULL when idle; guarded by q.mu */
	atomic_int	 stop;		/* enum hsd_stop */
	int		 index;
};

struct hsd_log_entry {
	double	 at;
	char	 level[8];		/* info, warning, error */
	char	 step[24];
	char	*msg;
};

struct hsd_log {
	struct hsd_log_entry	 e[HSD_MAX_LOG_ENTRIES];
	size_t			 n;
	size_t			 dropped;
};

/* Scanned data; every string malloc'd. */
struct inv_user {
	char	*name, *gecos, *home, *shell;
	long long uid, gid;
	int	 superuser;
	int	 has_shadow, disabled;
	long long pw_changed, pw_expires;	/* epoch seconds, -1 unknown */
};
struct inv_group {
	char	*name;
	long long gid;
	char	**members;
	size_t	 nmembers;
};
struct inv_service {
	char	*name, *description, *start_type, *user, *exec;
};
struct inv_task {
	char	*name, *path, *user, *description, *source;
	long long next_run, last_run;		/* epoch seconds, -1 unknown */
};
struct inv_package {
	char	*name, *version, *description;
};

/* Bits of struct inventory.have: sections that were read completely. */
#define INV_OS		0x01
#define INV_USERS	0x02
#define INV_GROUPS	0x04
#define INV_SHADOW	0x08
#define INV_SERVICES	0x10
#define INV_TASKS	0x20
#define INV_PACKAGES	0x40

struct inventory {
	unsigned	 have;
	char		*os_name, *os_version, *os_pretty, *kernel, *hostname;
	struct inv_user	*users;
	size_t		 nusers;
	struct inv_group *groups;
	size_t		 ngroups;
	struct inv_service *services;
	size_t		 nservices;
	struct inv_task	*tasks;
	size_t		 ntasks;
	struct inv_package *packages;
	size_t		 npackages;
};

/* The outcome of one scan, as store.c writes it. */
struct hsd_result {
	char		 id[HS_UUID_LEN + 1];	/* host scan id, for hs_log */
	int		 attempt;
	int		 state;		/* enum hs_action_status */
	int		 reason;	/* enum hsd_reason */
	char		 desc[HSD_MAX_DESC];
	int		 connected;	/* handshake done: write the host record */
	int		 store_trust;	/* first discovery accepted */
	int		 key_trusted;	/* the key matched the host's own pin */
	char		*key_type, *key_b64, *fingerprint;
	char		 host_id[HS_UUID_LEN + 1];	/* known host record */
	char		*address;	/* the address we connected to */
	struct inventory *inv;		/* NULL unless logged in */
	struct hsd_log	 log;
};

/* Credential as the scan uses it; secret is sodium_malloc'd. */
struct hsd_cred {
	char		*username;
	int		 is_key;
	unsigned char	*secret;
	size_t		 secretlen;
};

/* Known host record: the trust a previous scan or an admin stored. */
struct hsd_host {
	char	 id[HS_UUID_LEN + 1];	/* "" when there is none */
	char	*key_type, *key_b64, *fingerprint;
	char	 pin_from[HS_UUID_LEN + 1];	/* the key is another record's,
						   pinned at this endpoint */
};

/* One row of the credential audit trail (sql/008); NULL: not known. */
struct hsd_audit {
	const char	*use_id;
	const char	*event;		/* use, outcome, refused */
	const char	*host_scan_id;
	int		 attempt;
	const char	*address;	/* connected to, or refused */
	int		 port;		/* 0: not known */
	const char	*fingerprint;
	const char	*method;
	const char	*actor;
	const char	*outcome;
	const char	*detail;
};

/* ---- store.c ---- */

struct db_pool;

struct db_pool	*db_pool_new(const struct hsd_opts *, int n);
void		 db_pool_free(struct db_pool *);
PGconn		*db_acquire(struct db_pool *);	/* connected, or NULL */
void		 db_release(struct db_pool *, PGconn *);
PGconn		*db_connect(const struct hsd_opts *, const char *purpose);

/* Claims up to limit rows; *out calloc'd.  Returns count, or -1. */
int	 db_claim(PGconn *, const struct hsd_opts *, int limit,
	    struct hsd_job **out);
/* Extends the leases of (ids, attempts); fills lost[] with 1 for rows gone. */
int	 db_heartbeat(PGconn *, const struct hsd_opts *,
	    struct hsd_job *const *jobs, size_t n, int *lost);
int	 db_reap(PGconn *, const struct hsd_opts *, int *requeued,
	    int *failed);
/* Which of the jobs (by id+attempt) belong to a cancelled job. */
int	 db_cancelled(PGconn *, const struct hsd_opts *,
	    struct hsd_job *const *jobs, size_t n, int *cancelled);
int	 db_release_one(PGconn *, const struct hsd_opts *,
	    const struct hsd_job *, const char *why);
int	 db_release_all(PGconn *, const struct hsd_opts *);
/* endpoint: "ip:port" connected to, for a key pinned on another record. */
int	 db_host_lookup(struct db_pool *, const struct hsd_job *,
	    const char *endpoint, struct hsd_host *);
int	 db_credential(struct db_pool *, const struct hs_master_keys *,
	    const char *id, struct hsd_cred *, char *err, size_t errlen);
/* Writes and commits one audit row; 0 when it is stored, else -1. */
int	 db_audit(struct db_pool *, const struct hsd_audit *);
/*
 * Writes the outcome in one transaction; returns 1 when written, 0 when
 * the row is no longer ours (fence), -1 on a database error.
 */
int	 db_finish(struct db_pool *, const struct hsd_opts *,
	    const struct hsd_job *, struct hsd_result *);
int	 db_listen(PGconn *);
/* Drains notifications; returns how many arrived. */
int	 db_notified(PGconn *);

void	 hsd_job_free(struct hsd_job *);
void	 hsd_host_clear(struct hsd_host *);
void	 hsd_cred_clear(struct hsd_cred *);

/* ---- scan.c ---- */

struct hsd_ctx {
	const struct hsd_opts		*opts;
	const struct hs_master_keys	*mk;
	struct db_pool			*pool;
};

void	 scan_host(const struct hsd_ctx *, struct hsd_slot *,
	    const struct hsd_job *, struct hsd_result *);
void	 result_init(struct hsd_result *);
void	 result_free(struct hsd_result *);
void	 result_log(struct hsd_result *, const char *level, const char *step,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* SHA256:base64-without-padding of a key blob, as ssh-keygen -l prints. */
void	 fingerprint_sha256(const unsigned char *hash, size_t len,
	    char *out, size_t outsize);
double	 now_epoch(void);
void	 utf8_scrub(char *);

/* ---- inventory.c ---- */

/*
 * Runs the read-only inventory script over an authenticated session.
 * Returns 0 (inv filled, maybe partially; gaps logged), -1 on a timeout,
 * -2 when no command could run, -3 when stopped.
 */
struct ssh_session_struct;
int	 inventory_collect(struct ssh_session_struct *, struct hsd_slot *,
	    double deadline, int step_timeout, struct inventory *,
	    struct hsd_result *);
/* Parses the script's output (exposed for tests and the benchmark). */
int	 inventory_parse(const char *out, size_t len, const char *marker,
	    struct inventory *, struct hsd_result *);
void	 inventory_free(struct inventory *);
json_t	*inventory_users_json(const struct inventory *);
json_t	*inventory_groups_json(const struct inventory *);
json_t	*inventory_members_json(const struct inventory *);
json_t	*inventory_services_json(const struct inventory *);
json_t	*inventory_tasks_json(const struct inventory *);
json_t	*inventory_packages_json(const struct inventory *);

/* ---- queue.c ---- */

extern atomic_int hsd_terminate;	/* set by SIGTERM/SIGINT */
extern int hsd_wake_fd;			/* write end of the self-pipe */

int	 queue_run(const struct hsd_ctx *);

#endif
