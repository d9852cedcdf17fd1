/* SPDX-License-Identifier: ISC */
/*
 * hostscand: claims queued hosts from PostgreSQL, scans them over SSH
 * with a pool of threads (one libssh session per thread, never shared)
 * and writes the results.  main.c starts it, queue.c runs the claimer,
 * the housekeeper (heartbeat, reaper, cancellations), the watchdog
 * (deadlines) and the workers, scan.c does one host, invcollect.c runs
 * the inventory script (inventory.sh, built into invscript.c) on a
 * logged-in host, invparse.c frames and reads its output, invtables.c
 * parses each table and invjson.c encodes them for the database, store.c
 * holds every SQL statement and the connection pool.
 */
#ifndef HS_SCHED_H
#define HS_SCHED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "common.h"

struct ssh_session_struct;		/* libssh's ssh_session */

/*
 * Exit statuses of hostscand.  queue_run() returns HSD_EXIT_OK, HSD_EXIT_ERR
 * or HSD_RUN_STUCK: a worker is still inside a network call, so main()
 * leaves at once (status 0) without tearing down what it uses.
 */
enum { HSD_EXIT_OK = 0, HSD_EXIT_ERR = 1, HSD_EXIT_USAGE = 2,
	HSD_RUN_STUCK = 3 };

/*
 * Fixed bounds.  The settings (workers, lease, timeouts...) are keys of
 * hostscan.conf: their defaults and bounds are in src/common/hslimits.h.
 */
/*
 * The queue poll: a new job sends no NOTIFY (sql/013), so this bounds its
 * start latency; on an empty queue a claim is one index probe.
 */
#define HSD_POLL_MS			250
#define HSD_CANCEL_POLL_MS		1000	/* cancel_requested of running rows */
#define HSD_REAP_MS			1000
#define HSD_INSTANCE_MAX		128
#define HSD_MAX_LOG_ENTRIES		128	/* scan_log lines per attempt */
#define HSD_MAX_LOG_MSG			1024
#define HSD_MAX_DESC			1024
#define HSD_THREAD_STACK		(512 * 1024)
#define HSD_MALLOC_ARENAS		2
#define HSD_MAX_PROMPT			256	/* keyboard-interactive prompt bytes */
#define HSD_MAX_KBDINT_ROUNDS		4
#define HSD_WATCH_MS			100	/* watchdog: deadlines, stops */
/*
 * The ends of scans that stored nothing but their outcome (no host record,
 * no inventory) are written up to HSD_FINISH_BATCH at a time: the first
 * worker to arrive waits up to HSD_FINISH_GATHER_MS for others (store.c).
 */
#define HSD_FINISH_BATCH		32
#define HSD_FINISH_GATHER_MS		2
/*
 * Zones: each scheduler writes its row of the scheduler table every
 * HSD_BEAT_MS; one seen within HSD_SCHED_LIVE_S is running, one gone for
 * HSD_SCHED_FORGET_S is deleted.  Every HSD_ZONE_CHECK_MS the queued hosts
 * of zones nobody serves are told so (HSD_ZONE_WAIT "zone").
 */
#define HSD_BEAT_MS			2000
#define HSD_SCHED_LIVE_S		HS_SCHED_LIVE_S
#define HSD_SCHED_FORGET_S		86400
#define HSD_ZONE_CHECK_MS		5000
/* Queued hosts, in turn, a reserved worker's claim looks at. */
#define HSD_SPARE_WINDOW		1000
#define HSD_ZONE_WAIT	"waiting: no running scheduler serves zone "

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
	size_t		 scan_max_bytes;
	int		 reserve;	/* workers kept for jobs not running here */
	struct hs_zones	 zones;
	char		 zones_array[HS_MAX_ZONES * (HS_ZONE_NAME_MAX + 1) + 3];
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

/*
 * What the housekeeper, the watchdog and the shutdown path tell a running
 * scan.  The watchdog also shuts the scan's connection down for any of
 * them, so a blocked read or write returns at once.
 */
enum hsd_stop {
	STOP_NONE = 0, STOP_CANCEL, STOP_LOST, STOP_RELEASE, STOP_DEADLINE
};

struct hsd_slot {
	pthread_t	 thread;
	struct hsd_job	*job;		/* NULL when idle; guarded by q.mu */
	double		 deadline;	/* CLOCK_MONOTONIC; guarded by q.mu */
	int		 fd;		/* the scan's TCP socket or -1; q.mu */
	int		 fd_shut;	/* the watchdog shut it down; q.mu */
	int		 storing;	/* scan over, result being written; q.mu */
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
	long	 pgroup;		/* index of the primary group, or -1 */
	int	 superuser;
	int	 has_shadow, disabled;
	long long pw_changed, pw_expires;	/* epoch seconds, -1 unknown */
	char	 id[HS_UUID_LEN + 1];	/* its row's id (invjson.c) */
};
struct inv_group {
	char	*name;
	long long gid;
	char	**members;
	long	*member_user;		/* index in users, or -1 */
	size_t	 nmembers;
	char	 id[HS_UUID_LEN + 1];	/* its row's id (invjson.c) */
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

/* The tables the database gets, as JSON arrays (invjson.c). */
enum inv_table {
	IT_USERS, IT_GROUPS, IT_MEMBERS, IT_SERVICES, IT_TASKS, IT_PACKAGES,
	IT__MAX
};

/* What the parser has to say besides the data; the scan log gets it. */
#define INV_MAX_NOTES	16
struct inv_note {
	char	 level[8];
	char	 msg[256];
};

struct inv_block;			/* the string arena (invparse.c) */

/*
 * Every string lives in the arena; the arrays, the arena, the read buffer
 * and the JSON text are charged to mem_used, which may not pass mem_max
 * (scan_max_bytes).
 */
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
	size_t		 nmembers;		/* listed memberships */
	char		*json[IT__MAX];		/* NULL: table not collected */
	size_t		 json_rows[IT__MAX];
	struct inv_block *arena;
	size_t		 mem_used, mem_max;
	struct inv_note	 notes[INV_MAX_NOTES];
	size_t		 nnotes;
	char		 why[256];		/* what ended it early */
};

/* How far parsing and encoding may go besides mem_max. */
struct inv_limits {
	double		 deadline;	/* CLOCK_MONOTONIC seconds; 0: none */
	int		 host_timeout;	/* seconds, for the messages */
	int		 step_timeout;	/* seconds without progress; 0: none */
	atomic_int	*stop;		/* the slot's stop flag, or NULL */
};

/* Results of inventory_collect, inventory_parse and inventory_encode. */
enum inv_rc {
	INV_OK = 0,
	INV_TIMEOUT = -1,	/* host_timeout or step_timeout: why says */
	INV_NO_SHELL = -2,	/* no framed output: no command could run */
	INV_STOPPED = -3,	/* the slot's stop flag is set */
	INV_BOUND = -4		/* over a bound: why names it */
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
	int		 db_lost;	/* the database went away mid-scan:
					   store nothing, the lease decides */
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

/*
 * Claims up to limit rows of the zones served; with pass_over (a uuid[]
 * literal), a reserved worker's claim that passes over those jobs.  *out
 * calloc'd.  Returns count, or -1.
 */
int	 db_claim(PGconn *, const struct hsd_opts *, int limit,
	    const char *pass_over, struct hsd_job **out);
/* The scheduler table: this instance runs (beat) or stopped. */
int	 db_beat(PGconn *, const struct hsd_opts *);
int	 db_unregister(PGconn *, const struct hsd_opts *);
/* Marks the queued hosts of unserved zones, clears the others. */
int	 db_zone_wait(PGconn *, int *marked, int *cleared);
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
/*
 * The scan's own reads and writes: 0, -1 on failure, -2 when no connection
 * to a writable node was had or it was lost (a failover: the host's fault
 * it is not).
 * endpoint: "ip:port" connected to, for a key pinned on another record.
 */
int	 db_host_lookup(struct db_pool *, const struct hsd_job *,
	    const char *endpoint, struct hsd_host *);
int	 db_credential(struct db_pool *, const struct hs_master_keys *,
	    const char *id, struct hsd_cred *, char *err, size_t errlen);
/* Writes and commits one audit row; 0 when it is stored. */
int	 db_audit(struct db_pool *, const struct hsd_audit *);
/*
 * Writes the outcome in one transaction; returns 1 when written, 0 when
 * the row is no longer ours (fence), -1 on a database error.
 */
int	 db_finish(struct db_pool *, const struct hsd_opts *,
	    const struct hsd_job *, struct hsd_result *);
int	 db_listen(PGconn *);
/* The connection's statement_timeout (metrics.c's own connection). */
int	 db_set_timeout(PGconn *, int ms);
/* Hosts queued and running.  0 or -1. */
int	 db_queue_depth(PGconn *, long long depth[2]);
/* Drains notifications; returns how many arrived. */
int	 db_notified(PGconn *);

void	 hsd_job_free(struct hsd_job *);
void	 hsd_host_clear(struct hsd_host *);
void	 hsd_cred_clear(struct hsd_cred *);

/* ---- queue.c: the connection a scan may be interrupted through ---- */

/* Records fd as the slot's connection (the watchdog may shut it down). */
void	 slot_attach_fd(struct hsd_slot *, int fd);
/* Forgets and closes the slot's connection, if any. */
void	 slot_close_fd(struct hsd_slot *);

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
/* The libssh timeout of every blocking call from now on (>= 1 ms). */
void	 scan_set_timeout(struct ssh_session_struct *, double secs);

/* ---- invscript.c: generated by make from inventory.sh ---- */

/* The inventory script, without its comment lines. */
extern const char inv_script[];

/* ---- invcollect.c ---- */

/*
 * Runs the read-only inventory script over an authenticated session and
 * parses its output into inv (initialised by inventory_init).  Returns
 * INV_OK (inv filled, maybe partially; gaps logged) or another enum
 * inv_rc with inv->why saying what ended it.
 */
int	 inventory_collect(struct ssh_session_struct *,
	    const struct inv_limits *, struct inventory *, struct hsd_result *);

/* ---- invparse.c: no I/O, no libssh (the fuzz driver links it alone) ---- */

void	 inventory_init(struct inventory *, size_t mem_max);
/*
 * Parses the script's output; linear in its length whatever it holds.
 * Returns an enum inv_rc.
 */
int	 inventory_parse(const char *out, size_t len, const char *marker,
	    const struct inv_limits *, struct inventory *);
void	 inventory_free(struct inventory *);
/* Charges n bytes to the inventory's memory; -1 (nothing charged) past it. */
int	 inv_mem_take(struct inventory *, size_t n);
void	 inv_mem_give(struct inventory *, size_t n);
/* 1 when the deadline passed or the stop flag is set (why is written). */
int	 inv_interrupted(const struct inv_limits *, struct inventory *,
	    const char *during, int *rc);
double	 inv_mono(void);

/*
 * ---- invparse.c for invtables.c: the parser's plumbing ----
 * A parse fails at the first bound, deadline or stop (rc and inv->why);
 * every helper then does nothing, so callers check p->rc once per row.
 */
enum inv_sec {
	S_ID, S_OS, S_UNAME, S_HOSTNAME, S_PASSWD, S_GROUP, S_SHADOW,
	S_UNITS, S_UNITFILES, S_TIMERS, S_CRON, S_PACKAGES, S_DONE, S__MAX
};

struct inv_section {
	const char	*p;		/* into the output buffer */
	size_t		 len;
	int		 seen, ended, status;
};

/*
 * Open addressing with linear probing.  An entry holds the low 32 bits of
 * the key's hash (its position and a cheap first compare) and index + 1;
 * 0 is empty.  The hash is SipHash under a key drawn for each parse, so no
 * target can choose names that collide and make the lookups quadratic.
 */
struct itab {
	uint64_t	*e;
	size_t		 cap, n;
};
typedef int (*itab_eq)(const void *ctx, size_t idx, const void *key);

struct inv_parse {
	struct inventory	*inv;
	const struct inv_limits	*lim;
	unsigned char		 key[16];	/* crypto_shorthash */
	char			*line;		/* the current line, scrubbed */
	size_t			 linecap;
	unsigned		 tick;
	int			 rc;		/* enum inv_rc; INV_OK goes on */
	const char		*what;		/* the table being read */
	struct itab		 users, groups, gids;
	size_t			 ucap, gcap, scap, tcap, pcap;
};

void	 ip_fail(struct inv_parse *, int rc, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 ip_note(struct inv_parse *, const char *level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 ip_too_many(struct inv_parse *, long bound, const char *what);
/* Charges n bytes; -1 (and rc set) past scan_max_bytes. */
int	 ip_take(struct inv_parse *, size_t n);
/* Room for element n of arr; on failure rc is set and arr returned. */
void	*ip_grow(struct inv_parse *, void *arr, size_t n, size_t *cap,
	    size_t size);
/* Copies into the arena; NULL past a bound (rc set). */
char	*ip_strn(struct inv_parse *, const char *s, size_t n);
char	*ip_name(struct inv_parse *, const char *s, const char *what);
char	*ip_text(struct inv_parse *, const char *s, const char *what);
/* The next line of [*cur, end) into p->line; 0 at the end or failure. */
int	 ip_next(struct inv_parse *, const char **cur, const char *end);
size_t	 ip_split(char *s, char sep, char **f, size_t max);
long long ip_num(const char *s, long long dflt);
uint64_t ip_hash(const struct inv_parse *, const void *k, size_t n);
long	 itab_get(const struct itab *, uint64_t h, itab_eq, const void *ctx,
	    const void *key);
int	 itab_put(struct inv_parse *, struct itab *, uint64_t h, size_t idx);
void	 itab_free(struct inv_parse *, struct itab *);
/* invtables.c: every table from its section. */
void	 inv_parse_tables(struct inv_parse *, const struct inv_section *);

/* ---- invjson.c ---- */

/*
 * Encodes the collected tables as the JSON arrays store.c sends
 * (inv->json[], charged to the memory bound).  Returns an enum inv_rc.
 */
int	 inventory_encode(struct inventory *, const struct inv_limits *);

/* ---- queue.c ---- */

extern atomic_int hsd_terminate;	/* set by SIGTERM/SIGINT */
extern int hsd_wake_fd;			/* write end of the self-pipe */

int	 queue_run(const struct hsd_ctx *);

/*
 * ---- metrics.c: counters the threads update with atomics, served on
 * sched_metrics_listen by a thread of its own ----
 */
int	 schedm_start(const struct hsd_ctx *, const char *listen_spec);
void	 schedm_stop(void);
/* A scan ended: its state and reason (HS_QUEUED: released), its time. */
void	 schedm_scan(int state, int reason, double seconds);
void	 schedm_busy(int delta);
/* After a heartbeat: rows whose lease was renewed (in_time, not lost). */
void	 schedm_leases(const int *in_time, const int *lost, size_t n);
void	 schedm_reaped(int requeued, int failed);

#endif
