/* SPDX-License-Identifier: ISC */
/* hostscand's SQL: every statement, the connection pool, claims, results. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "sched.h"

/*
 * Every SQL statement hostscand runs, prepared once per connection.  The
 * queue statements (docs/architecture.md, section 3): one-statement claim
 * with SKIP LOCKED, leases and completion fenced on (id, attempt,
 * locked_by).
 */
enum st {
	ST_CLAIM, ST_CLAIM_SPARE, ST_HEARTBEAT, ST_REAP, ST_CANCELLED,
	ST_RELEASE_ONE, ST_RELEASE_ALL, ST_HOST_BY_DNS, ST_HOST_BY_IP,
	ST_HOST_BY_ENDPOINT, ST_CREDENTIAL, ST_AUDIT, ST_LOCK,
	ST_HOST_UPDATE, ST_HOST_INSERT_DNS, ST_HOST_INSERT_IP, ST_INV_USERS,
	ST_INV_GROUPS, ST_INV_MEMBERS, ST_INV_SERVICES, ST_INV_TASKS,
	ST_INV_SOFTWARE, ST_FINISH, ST_FINISH_MANY, ST_TIMEOUT, ST_QUEUE_DEPTH,
	ST_BEAT, ST_UNREGISTER, ST_ZONE_WAIT, ST__MAX
};

#define HOST_SET \
	"name = COALESCE($4, host.name)," \
	" dns_host_name = COALESCE($2, host.dns_host_name)," \
	" ip_address = COALESCE($3, host.ip_address)," \
	" os = COALESCE($5, host.os), version = COALESCE($6, host.version)," \
	" ssh_port = $7, platform_id = COALESCE($8::uuid, host.platform_id)," \
	" credential_id = $9::uuid," \
	" trusted_key_type = CASE WHEN $10 THEN $11 ELSE host.trusted_key_type END," \
	" trusted_key = CASE WHEN $10 THEN $12 ELSE host.trusted_key END," \
	" trusted_fingerprint = CASE WHEN $10 THEN $13" \
	"  ELSE host.trusted_fingerprint END," \
	" last_scan_start_at = to_timestamp($14), last_scan_at = clock_timestamp()," \
	" host_connected = $15," \
	" trusted_address = COALESCE($16, host.trusted_address)"

#define HOST_INSERT \
	"INSERT INTO host (name, dns_host_name, ip_address, os, version," \
	" ssh_port, platform_id, credential_id, trusted_key_type, trusted_key," \
	" trusted_fingerprint, last_scan_start_at, last_scan_at, host_connected," \
	" trusted_address)" \
	" SELECT $4, $2, $3, $5, $6, $7, $8::uuid, $9::uuid," \
	"  CASE WHEN $10 THEN $11 END, CASE WHEN $10 THEN $12 END," \
	"  CASE WHEN $10 THEN $13 END, to_timestamp($14), clock_timestamp(), $15," \
	"  $16" \
	" WHERE $1::uuid IS NULL "

/* The claims' queued hosts of the zones served ($4). */
#define CLAIM_WHERE \
	"h.state = 0 AND (h.not_before IS NULL OR h.not_before <= now())" \
	" AND h.credential_id IN (SELECT k.id FROM credential k" \
	"  WHERE k.zone = ANY($4::text[]))"

/* The claims' update of the rows chosen (c), their log and result. */
#define CLAIM_TAIL \
	" u AS (UPDATE host_scan_host h SET state = 1," \
	"  attempt = h.attempt + 1, locked_by = $1," \
	"  lease_until = now() + make_interval(secs => $3)," \
	"  time_started = clock_timestamp(), not_before = NULL," \
	"  status_description = NULL" \
	"  FROM c WHERE h.id = c.id" \
	"  RETURNING h.id, h.job_id, h.attempt, h.dns_host_name," \
	"  h.ip_address, h.os, h.credential_id, h.platform_id," \
	"  h.accept_first, h.trust_action, h.trusted_thumbprint," \
	"  h.ssh_port, h.ord, h.time_created)," \
	" l AS (INSERT INTO scan_log (host_scan_host_id, attempt, level," \
	"  step, message) SELECT id, attempt, 'info', 'claim'," \
	"  'claimed by ' || $1 || ' (attempt ' || attempt || ')' FROM u)" \
	" SELECT u.id, u.job_id, u.attempt, u.dns_host_name, u.ip_address," \
	"  u.os, u.credential_id, u.platform_id, u.accept_first," \
	"  u.trust_action, u.trusted_thumbprint, u.ssh_port, k.name, k.kind," \
	"  k.scope FROM u LEFT JOIN credential k ON k.id = u.credential_id" \
	"  ORDER BY u.ord, u.time_created"

static const struct {
	const char	*name;
	const char	*sql;
	int		 nparams;
} stmts[ST__MAX] = {
	/*
	 * $1 instance, $2 how many, $3 lease seconds, $4 the zones served.
	 * Lowest ord first is round-robin across jobs (sql/011):
	 * host_scan_host_fair serves the order and the limit, and the zone
	 * is one cached lookup of the credential per credential.  Each row comes with its
	 * credential's name, kind and scope (never the secret): what the
	 * scope and trust checks need before anything is sent.
	 */
	[ST_CLAIM] = { "claim",
	    "WITH c AS MATERIALIZED ("
	    " SELECT h.id FROM host_scan_host h WHERE " CLAIM_WHERE
	    " ORDER BY h.ord, h.time_created LIMIT $2 FOR UPDATE OF h SKIP LOCKED),"
	    CLAIM_TAIL, 4 },
	/*
	 * A reserved worker's claim: as above, passing over the jobs of $5
	 * (those with a host here), among the first $6 queued hosts in turn
	 * only: a job that has none running anywhere has its first hosts
	 * there, and the window keeps the claim short however many hosts
	 * the passed-over jobs have queued.
	 */
	[ST_CLAIM_SPARE] = { "claim_spare",
	    "WITH w AS MATERIALIZED ("
	    " SELECT h.id, h.job_id FROM host_scan_host h WHERE " CLAIM_WHERE
	    " ORDER BY h.ord, h.time_created LIMIT $6),"
	    " c AS MATERIALIZED (SELECT h.id FROM host_scan_host h, w"
	    " WHERE h.id = w.id AND w.job_id <> ALL($5::uuid[]) AND h.state = 0"
	    " ORDER BY h.ord, h.time_created LIMIT $2 FOR UPDATE OF h SKIP LOCKED),"
	    CLAIM_TAIL, 6 },
	/*
	 * This scheduler is running: $1 instance, $2 zones, $3 workers.
	 * Rows of schedulers gone for a day are dropped on the way.
	 */
	[ST_BEAT] = { "beat",
	    "WITH d AS (DELETE FROM scheduler WHERE last_seen < now() -"
	    "  make_interval(secs => " HS_STR(HSD_SCHED_FORGET_S) "))"
	    " INSERT INTO scheduler (instance, zones, workers)"
	    " VALUES ($1, $2::text[], $3::integer)"
	    " ON CONFLICT (instance) DO UPDATE SET zones = EXCLUDED.zones,"
	    "  workers = EXCLUDED.workers, last_seen = now()", 3 },
	[ST_UNREGISTER] = { "unregister",
	    "DELETE FROM scheduler WHERE instance = $1", 1 },
	/*
	 * Why a host waits: the queued hosts whose credential's zone no
	 * running scheduler serves say so in their status description
	 * (the job's status and `job watch` show it); the others lose that
	 * description once one does.  Only rows whose text changes are
	 * written.
	 */
	[ST_ZONE_WAIT] = { "zone_wait",
	    "WITH live AS (SELECT DISTINCT unnest(zones) AS zone FROM scheduler"
	    "  WHERE last_seen > now() - make_interval(secs => "
	    HS_STR(HSD_SCHED_LIVE_S) ")),"
	    " w AS (SELECT k.id, '" HSD_ZONE_WAIT "\"' || k.zone || '\"'"
	    "  AS why FROM credential k"
	    "  WHERE k.zone NOT IN (SELECT zone FROM live)),"
	    " m AS (UPDATE host_scan_host h SET status_description = w.why"
	    "  FROM w WHERE h.state = 0 AND h.credential_id = w.id"
	    "  AND h.status_description IS DISTINCT FROM w.why RETURNING 1),"
	    " c AS (UPDATE host_scan_host h SET status_description = NULL"
	    "  WHERE h.state = 0 AND h.status_description LIKE '"
	    HSD_ZONE_WAIT "%'"
	    "  AND h.credential_id NOT IN (SELECT id FROM w) RETURNING 1)"
	    " SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM c)", 0 },
	/* $1 instance, $2 lease seconds, $3 ids, $4 attempts */
	[ST_HEARTBEAT] = { "heartbeat",
	    "UPDATE host_scan_host h"
	    " SET lease_until = now() + make_interval(secs => $2)"
	    " FROM unnest($3::uuid[], $4::int[]) AS r(id, attempt)"
	    " WHERE h.id = r.id AND h.attempt = r.attempt AND h.locked_by = $1"
	    " AND h.state = 1 RETURNING h.id", 4 },
	/*
	 * Expired leases: back to the queue after a backoff ($2 seconds,
	 * doubled per attempt), or failed after $1 attempts.
	 */
	[ST_REAP] = { "reap",
	    "WITH x AS MATERIALIZED (SELECT id, attempt, locked_by"
	    "  FROM host_scan_host WHERE state = 1 AND lease_until < now()"
	    "  ORDER BY lease_until LIMIT 1000 FOR UPDATE SKIP LOCKED),"
	    " r AS (UPDATE host_scan_host h SET"
	    "  state = CASE WHEN x.attempt >= $1 THEN 3 ELSE 0 END,"
	    "  failure_reason = CASE WHEN x.attempt >= $1 THEN 4"
	    "   ELSE h.failure_reason END,"
	    "  status_description = CASE WHEN x.attempt >= $1 THEN"
	    "   'no result after ' || x.attempt || ' attempts: the scanner'"
	    "   || '''s lease expired each time' ELSE h.status_description END,"
	    "  time_finished = CASE WHEN x.attempt >= $1 THEN clock_timestamp()"
	    "   END,"
	    "  not_before = CASE WHEN x.attempt >= $1 THEN NULL ELSE now() +"
	    "   make_interval(secs => least($2 * power(2, x.attempt - 1),"
	    "   300)) END,"
	    "  lease_until = NULL"
	    "  FROM x WHERE h.id = x.id"
	    "  RETURNING h.id, h.attempt, h.state, x.locked_by),"
	    " l AS (INSERT INTO scan_log (host_scan_host_id, attempt, level,"
	    "  step, message) SELECT id, attempt, 'warning', 'reaper',"
	    "  'lease of ' || coalesce(locked_by, '?') || ' expired: ' ||"
	    "  CASE WHEN state = 3 THEN 'failed after ' || attempt ||"
	    "  ' attempts' ELSE 're-queued' END FROM r)"
	    " SELECT count(*) FILTER (WHERE state = 0),"
	    "  count(*) FILTER (WHERE state = 3) FROM r", 2 },
	/* $1 instance, $2 ids: which running rows belong to cancelled jobs */
	[ST_CANCELLED] = { "cancelled",
	    "SELECT h.id FROM host_scan_host h"
	    " JOIN host_scan_job j ON j.id = h.job_id"
	    " WHERE h.id = ANY($2::uuid[]) AND h.state = 1"
	    " AND h.locked_by = $1 AND j.cancel_requested", 2 },
	/* Back to the queue as if never claimed: attempt is not used up. */
	[ST_RELEASE_ONE] = { "release_one",
	    "WITH u AS (UPDATE host_scan_host SET state = 0,"
	    "  attempt = attempt - 1, locked_by = NULL, lease_until = NULL,"
	    "  not_before = NULL, time_started = NULL"
	    "  WHERE id = $1 AND attempt = $2 AND locked_by = $3 AND state = 1"
	    "  RETURNING id, attempt)"
	    " INSERT INTO scan_log (host_scan_host_id, attempt, level, step,"
	    "  message) SELECT id, attempt + 1, 'info', 'release', $4 FROM u", 4 },
	[ST_RELEASE_ALL] = { "release_all",
	    "WITH u AS (UPDATE host_scan_host SET state = 0,"
	    "  attempt = attempt - 1, locked_by = NULL, lease_until = NULL,"
	    "  not_before = NULL, time_started = NULL"
	    "  WHERE locked_by = $1 AND state = 1 RETURNING id, attempt),"
	    " l AS (INSERT INTO scan_log (host_scan_host_id, attempt, level,"
	    "  step, message) SELECT id, attempt + 1, 'info', 'release',"
	    "  'released by ' || $1 || ' at shutdown' FROM u)"
	    " SELECT count(*) FROM u", 1 },
	[ST_HOST_BY_DNS] = { "host_by_dns",
	    "SELECT id, trusted_key_type, trusted_key, trusted_fingerprint"
	    " FROM host WHERE lower(dns_host_name) = lower($1)"
	    " AND dns_host_name IS NOT NULL", 1 },
	[ST_HOST_BY_IP] = { "host_by_ip",
	    "SELECT id, trusted_key_type, trusted_key, trusted_fingerprint"
	    " FROM host WHERE ip_address = $1 AND dns_host_name IS NULL", 1 },
	/*
	 * A key pinned on another record, seen at this endpoint ($1, as
	 * "ip:port"); $2 the record found by name, if any.
	 */
	[ST_HOST_BY_ENDPOINT] = { "host_by_endpoint",
	    "SELECT id, trusted_key_type, trusted_key, trusted_fingerprint"
	    " FROM host WHERE trusted_address = $1"
	    " AND trusted_fingerprint IS NOT NULL AND id IS DISTINCT FROM $2::uuid"
	    " ORDER BY last_scan_at DESC NULLS LAST, id LIMIT 1", 2 },
	[ST_CREDENTIAL] = { "credential",
	    "SELECT username, kind, key_id, secret FROM credential"
	    " WHERE id = $1", 1 },
	/*
	 * One row of the credential audit trail (sql/008), committed on its
	 * own before a secret is sent.  $1 use id, $2 event, $3 host scan,
	 * $4 attempt, $5 address, $6 port, $7 host key fingerprint,
	 * $8 method, $9 actor, $10 outcome, $11 detail; the job, its
	 * submitter and the credential come from the host scan's row.
	 */
	[ST_AUDIT] = { "audit",
	    "INSERT INTO credential_audit (use_id, event, credential_id,"
	    "  credential_name, credential_kind, host_scan_host_id, job_id,"
	    "  scan_attempt, submitted_by, dns_host_name, address, port,"
	    "  host_key_fingerprint, method, actor, outcome, detail)"
	    " SELECT $1::uuid, $2, c.id, c.name, c.kind, h.id, h.job_id,"
	    "  $4::integer, j.created_by, h.dns_host_name, $5, $6::integer, $7,"
	    "  $8, $9, $10, $11"
	    " FROM host_scan_host h JOIN host_scan_job j ON j.id = h.job_id"
	    " JOIN credential c ON c.id = h.credential_id WHERE h.id = $3", 11 },
	[ST_LOCK] = { "lock",
	    "SELECT 1 FROM host_scan_host WHERE id = $1 AND attempt = $2"
	    " AND locked_by = $3 AND state = 1 FOR UPDATE", 3 },
	/*
	 * The host record: $1 known id, $2 dns, $3 ip, $4 name, $5 os,
	 * $6 version, $7 port, $8 platform, $9 credential, $10 store the
	 * key as trusted, $11-$13 key type, key, fingerprint, $14 scan
	 * start (epoch), $15 connected, $16 the endpoint where the trusted
	 * key was seen (NULL: keep the old one).
	 */
	[ST_HOST_UPDATE] = { "host_update",
	    "UPDATE host SET " HOST_SET " WHERE id = $1::uuid RETURNING id",
	    16 },
	[ST_HOST_INSERT_DNS] = { "host_insert_dns",
	    HOST_INSERT "ON CONFLICT ((lower(dns_host_name)))"
	    " WHERE dns_host_name IS NOT NULL DO UPDATE SET " HOST_SET
	    " RETURNING id", 16 },
	[ST_HOST_INSERT_IP] = { "host_insert_ip",
	    HOST_INSERT "ON CONFLICT (ip_address) WHERE dns_host_name IS NULL"
	    " DO UPDATE SET " HOST_SET " RETURNING id", 16 },
	/* Inventory: $1 host, $2 host scan, $3 rows (jsonb). */
	[ST_INV_USERS] = { "inv_users",
	    "WITH d AS (DELETE FROM host_user WHERE host_id = $1)"
	    " INSERT INTO host_user (id, host_id, host_scan_host_id, ord, name,"
	    "  display_name, unix_id, unix_group_id, home_directory, shell,"
	    "  privilege, password_changed_at, password_expires_at, is_disabled)"
	    " SELECT r.id, $1, $2, r.ord, r.name, NULLIF(r.gecos, ''), r.uid,"
	    "  r.gid, r.home, r.shell, r.privilege, to_timestamp(r.pw_changed),"
	    "  to_timestamp(r.pw_expires), r.disabled"
	    " FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, ord int,"
	    "  name text, gecos text, uid bigint, gid bigint, home text,"
	    "  shell text, privilege text, pw_changed float8, pw_expires float8,"
	    "  disabled boolean)", 3 },
	[ST_INV_GROUPS] = { "inv_groups",
	    "WITH d AS (DELETE FROM host_group WHERE host_id = $1)"
	    " INSERT INTO host_group (id, host_id, host_scan_host_id, ord, name,"
	    "  unix_id)"
	    " SELECT r.id, $1, $2, r.ord, r.name, r.gid"
	    " FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, ord int,"
	    "  name text, gid bigint)", 3 },
	/*
	 * $1 (group id, user id or null, user name, primary) rows, after
	 * users and groups.  The ids are the ones the scheduler gave their
	 * rows: no join, so no plan can make it groups x members (joined by
	 * name, unindexed, with stale statistics it was).
	 */
	[ST_INV_MEMBERS] = { "inv_members",
	    "INSERT INTO host_group_member (group_id, user_id, user_name,"
	    "  is_primary)"
	    " SELECT m.gid, m.uid, m.usr, m.prim"
	    " FROM jsonb_to_recordset($1::jsonb) AS m(gid uuid, uid uuid,"
	    "  usr text, prim boolean)"
	    " ON CONFLICT DO NOTHING", 1 },
	[ST_INV_SERVICES] = { "inv_services",
	    "WITH d AS (DELETE FROM host_service WHERE host_id = $1)"
	    " INSERT INTO host_service (host_id, host_scan_host_id, ord, name,"
	    "  display_name, description, start_type, user_name,"
	    "  binary_path_name)"
	    " SELECT $1, $2, r.ord, r.name, r.description, r.description,"
	    "  r.start_type, r.usr, r.exec"
	    " FROM jsonb_to_recordset($3::jsonb) AS r(ord int, name text,"
	    "  description text, start_type text, usr text, exec text)", 3 },
	[ST_INV_TASKS] = { "inv_tasks",
	    "WITH d AS (DELETE FROM host_scheduled_task WHERE host_id = $1)"
	    " INSERT INTO host_scheduled_task (host_id, host_scan_host_id, ord,"
	    "  name, task_path, user_name, description, source, next_run_at,"
	    "  last_run_at)"
	    " SELECT $1, $2, r.ord, r.name, r.path, r.usr, r.description,"
	    "  r.source, to_timestamp(r.next_run), to_timestamp(r.last_run)"
	    " FROM jsonb_to_recordset($3::jsonb) AS r(ord int, name text,"
	    "  path text, usr text, description text, source text,"
	    "  next_run float8, last_run float8)", 3 },
	[ST_INV_SOFTWARE] = { "inv_software",
	    "WITH d AS (DELETE FROM host_software WHERE host_id = $1)"
	    " INSERT INTO host_software (host_id, host_scan_host_id, ord, name,"
	    "  version, description)"
	    " SELECT $1, $2, r.ord, r.name, r.version, r.description"
	    " FROM jsonb_to_recordset($3::jsonb) AS r(ord int, name text,"
	    "  version text, description text)", 3 },
	/*
	 * The fenced completion and the attempt's scan log: $1 id,
	 * $2 attempt, $3 instance, $4 state, $5 reason, $6 description,
	 * $7 host, $8 name, $9 os, $10 version, $11-$13 discovered key,
	 * $14-$17 log levels, steps, messages, times.
	 */
	[ST_FINISH] = { "finish",
	    "WITH u AS (UPDATE host_scan_host SET state = $4,"
	    "  failure_reason = $5, status_description = $6,"
	    "  time_finished = clock_timestamp(), lease_until = NULL,"
	    "  host_id = COALESCE($7::uuid, host_id), name = COALESCE($8, name),"
	    "  os = COALESCE($9, os), version = COALESCE($10, version),"
	    "  discovered_key_type = COALESCE($11, discovered_key_type),"
	    "  discovered_key = COALESCE($12, discovered_key),"
	    "  discovered_fingerprint = COALESCE($13, discovered_fingerprint)"
	    "  WHERE id = $1 AND attempt = $2 AND locked_by = $3 AND state = 1"
	    "  RETURNING id, attempt),"
	    " l AS (INSERT INTO scan_log (host_scan_host_id, attempt, at, level,"
	    "  step, message) SELECT u.id, u.attempt, to_timestamp(x.at), x.lv,"
	    "  x.st, x.msg FROM u, unnest($14::text[], $15::text[],"
	    "  $16::text[], $17::float8[]) AS x(lv, st, msg, at))"
	    " SELECT count(*) FROM u", 17 },
	/*
	 * ST_FINISH of several scans that stored nothing else, in one
	 * statement: $1 instance; $2-$10 one element per scan: id, attempt,
	 * state, failure reason, description, host record, discovered key
	 * type, key and fingerprint; $11-$15 one element per log line: the
	 * scan's id, level, step, message, time.  Fenced per scan as
	 * ST_FINISH is; returns the ids it finished.
	 */
	[ST_FINISH_MANY] = { "finish_many",
	    "WITH x AS (SELECT * FROM unnest($2::uuid[], $3::int[], $4::int[],"
	    "  $5::int[], $6::text[], $7::uuid[], $8::text[], $9::text[],"
	    "  $10::text[]) AS x(id, attempt, state, reason, descr, host_id,"
	    "  key_type, key, fp)),"
	    " u AS (UPDATE host_scan_host h SET state = x.state,"
	    "  failure_reason = x.reason, status_description = x.descr,"
	    "  time_finished = clock_timestamp(), lease_until = NULL,"
	    "  host_id = COALESCE(x.host_id, h.host_id),"
	    "  discovered_key_type = COALESCE(x.key_type, h.discovered_key_type),"
	    "  discovered_key = COALESCE(x.key, h.discovered_key),"
	    "  discovered_fingerprint = COALESCE(x.fp, h.discovered_fingerprint)"
	    "  FROM x WHERE h.id = x.id AND h.attempt = x.attempt"
	    "  AND h.locked_by = $1 AND h.state = 1"
	    "  RETURNING h.id, h.attempt),"
	    " l AS (INSERT INTO scan_log (host_scan_host_id, attempt, at, level,"
	    "  step, message) SELECT u.id, u.attempt, to_timestamp(e.at), e.lv,"
	    "  e.st, e.msg FROM unnest($11::uuid[], $12::text[], $13::text[],"
	    "  $14::text[], $15::float8[]) WITH ORDINALITY AS e(id, lv, st, msg,"
	    "  at, n) JOIN u ON u.id = e.id ORDER BY e.n)"
	    " SELECT id FROM u", 15 },
	/* The metrics connection's statement_timeout, $1 milliseconds. */
	[ST_TIMEOUT] = { "timeout",
	    "SELECT set_config('statement_timeout', $1, false)", 1 },
	/*
	 * The queue at a scrape: queued and running hosts.  Each count is
	 * an index-only scan of one partial index of sql/001, however many
	 * finished hosts the table holds; no other column is read, as that
	 * would visit a heap page per host.
	 */
	[ST_QUEUE_DEPTH] = { "queue_depth",
	    "SELECT (SELECT count(*) FROM host_scan_host WHERE state = 0),"
	    " (SELECT count(*) FROM host_scan_host WHERE state = 1)", 0 },
};

struct db_pool {
	const struct hsd_opts	*opts;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	PGconn			**conns;	/* NULL: not connected yet */
	int			*busy;
	int			 n;
};

/* libpq's notice output would go to stderr unstructured. */
static void
notice_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

PGconn *
db_connect(const struct hsd_opts *o, const char *purpose)
{
	/*
	 * dbname last, expanded: what sched_database sets (a connect_timeout,
	 * a list of hosts, target_session_attrs) wins over our defaults.
	 */
	const char	*keys[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char	*vals[4];
	char		 timeout[16], app[64], q[512];
	PGconn		*c;
	PGresult	*res;
	int		 i;

	snprintf(timeout, sizeof(timeout), "%d", o->connect_timeout);
	snprintf(app, sizeof(app), "hostscand/%s", purpose);
	vals[0] = timeout;
	vals[1] = app;
	vals[2] = o->conninfo;
	vals[3] = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		hs_log(HS_LOG_ERROR, "db_connect", "purpose=%s error=%s",
		    purpose, hs_logq(q, sizeof(q), c ? PQerrorMessage(c) :
		    "out of memory"));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, notice_quiet, NULL);
	for (i = 0; i < ST__MAX; i++) {
		res = PQprepare(c, stmts[i].name, stmts[i].sql,
		    stmts[i].nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			hs_log(HS_LOG_ERROR, "db_prepare", "statement=%s "
			    "error=%s", stmts[i].name, hs_logq(q, sizeof(q),
			    PQresultErrorMessage(res)));
			PQclear(res);
			PQfinish(c);
			return NULL;
		}
		PQclear(res);
	}
	return c;
}

struct db_pool *
db_pool_new(const struct hsd_opts *o, int n)
{
	struct db_pool	*p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->opts = o;
	p->n = n;
	p->conns = calloc((size_t)n, sizeof(*p->conns));
	p->busy = calloc((size_t)n, sizeof(*p->busy));
	if (p->conns == NULL || p->busy == NULL) {
		free(p->conns);
		free(p->busy);
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	return p;
}

void
db_pool_free(struct db_pool *p)
{
	int	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		PQfinish(p->conns[i]);
	free(p->conns);
	free(p->busy);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

/* A connection for one unit of work; connects (and prepares) on demand. */
PGconn *
db_acquire(struct db_pool *p)
{
	int	 i, slot = -1;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		for (i = 0; i < p->n && slot == -1; i++)
			if (!p->busy[i])
				slot = i;
		if (slot != -1)
			break;
		pthread_cond_wait(&p->cv, &p->mu);
	}
	p->busy[slot] = 1;
	pthread_mutex_unlock(&p->mu);
	if (p->conns[slot] != NULL &&
	    PQstatus(p->conns[slot]) != CONNECTION_OK) {
		PQfinish(p->conns[slot]);
		p->conns[slot] = NULL;
	}
	if (p->conns[slot] == NULL)
		p->conns[slot] = db_connect(p->opts, "worker");
	if (p->conns[slot] == NULL) {
		pthread_mutex_lock(&p->mu);
		p->busy[slot] = 0;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		return NULL;
	}
	return p->conns[slot];
}

void
db_release(struct db_pool *p, PGconn *c)
{
	int	 i, lost = 0;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->n; i++)
		if (p->conns[i] == c && p->busy[i]) {
			lost = PQstatus(c) != CONNECTION_OK;
			/* A connection left inside a transaction is useless. */
			if (PQtransactionStatus(c) != PQTRANS_IDLE) {
				PQfinish(c);
				p->conns[i] = NULL;
			}
			p->busy[i] = 0;
			break;
		}
	/*
	 * The idle ones reached the same server: after a failover they still
	 * look connected, and the next statement on each would fail.  Closed,
	 * they reconnect on demand to the node that now accepts writes.
	 */
	for (i = 0; lost && i < p->n; i++)
		if (!p->busy[i] && p->conns[i] != NULL) {
			PQfinish(p->conns[i]);
			p->conns[i] = NULL;
		}
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static PGresult *
run(PGconn *c, enum st st, const char *const *params, int want_binary)
{
	PGresult	*res;
	ExecStatusType	 s;
	char		 q[512];

	res = PQexecPrepared(c, stmts[st].name, stmts[st].nparams, params,
	    NULL, NULL, want_binary);
	s = PQresultStatus(res);
	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)
		return res;
	hs_log(HS_LOG_ERROR, "db_error", "statement=%s error=%s",
	    stmts[st].name, hs_logq(q, sizeof(q), PQresultErrorMessage(res)));
	PQclear(res);
	return NULL;
}

static int
simple(PGconn *c, const char *sql)
{
	PGresult	*res = PQexec(c, sql);
	int		 ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	char		 q[512];

	if (!ok)
		hs_log(HS_LOG_ERROR, "db_error", "sql=%s error=%s", sql,
		    hs_logq(q, sizeof(q), PQresultErrorMessage(res)));
	PQclear(res);
	return ok ? 0 : -1;
}

int
db_listen(PGconn *c)
{
	return simple(c, "LISTEN hostscan_queue");
}

int
db_notified(PGconn *c)
{
	PGnotify	*n;
	int		 count = 0;

	if (PQconsumeInput(c) == 0)
		return -1;
	while ((n = PQnotifies(c)) != NULL) {
		count++;
		PQfreemem(n);
	}
	return count;
}

static char *
dup_or_null(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL :
	    hs_strdup(PQgetvalue(res, row, col));
}

void
hsd_job_free(struct hsd_job *j)
{
	if (j == NULL)
		return;
	free(j->dns);
	free(j->ip);
	free(j->os);
	free(j->trusted_thumbprint);
	free(j->cred_name);
	free(j->cred_scope);
	memset(j, 0, sizeof(*j));
}

int
db_claim(PGconn *c, const struct hsd_opts *o, int limit,
    const char *pass_over, struct hsd_job **out)
{
	PGresult	*res;
	const char	*params[6];
	char		 lim[16], lease[16], window[16];
	struct hsd_job	*jobs;
	int		 n, i;
	double		 now = now_epoch();

	*out = NULL;
	snprintf(lim, sizeof(lim), "%d", limit);
	snprintf(lease, sizeof(lease), "%d", o->lease);
	params[0] = o->instance;
	params[1] = lim;
	params[2] = lease;
	params[3] = o->zones_array;
	params[4] = pass_over;
	snprintf(window, sizeof(window), "%d", HSD_SPARE_WINDOW);
	params[5] = window;
	if ((res = run(c, pass_over != NULL ? ST_CLAIM_SPARE : ST_CLAIM,
	    params, 0)) == NULL)
		return -1;
	n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return 0;
	}
	if ((jobs = calloc((size_t)n, sizeof(*jobs))) == NULL) {
		PQclear(res);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct hsd_job	*j = &jobs[i];
		long long	 v;
		const char	*errstr;

		hs_strlcpy(j->id, PQgetvalue(res, i, 0), sizeof(j->id));
		hs_strlcpy(j->job_id, PQgetvalue(res, i, 1), sizeof(j->job_id));
		hs_strtonum(PQgetvalue(res, i, 2), 0, INT32_MAX, &v, &errstr);
		j->attempt = (int)v;
		j->dns = dup_or_null(res, i, 3);
		j->ip = dup_or_null(res, i, 4);
		j->os = dup_or_null(res, i, 5);
		hs_strlcpy(j->credential_id, PQgetvalue(res, i, 6),
		    sizeof(j->credential_id));
		hs_strlcpy(j->platform_id, PQgetvalue(res, i, 7),
		    sizeof(j->platform_id));
		j->accept_first = strcmp(PQgetvalue(res, i, 8), "t") == 0;
		j->trust_action = TRUST_ERROR;
		if (!PQgetisnull(res, i, 9) && hs_strtonum(PQgetvalue(res, i,
		    9), 0, 2, &v, &errstr) == 0)
			j->trust_action = (int)v;
		j->trusted_thumbprint = dup_or_null(res, i, 10);
		j->port = 22;
		if (hs_strtonum(PQgetvalue(res, i, 11), 1, 65535, &v,
		    &errstr) == 0)
			j->port = (int)v;
		j->cred_name = dup_or_null(res, i, 12);
		j->cred_is_key = strcmp(PQgetvalue(res, i, 13),
		    "private_key") == 0;
		j->cred_scope = dup_or_null(res, i, 14);
		j->claimed_at = now;
	}
	PQclear(res);
	*out = jobs;
	return n;
}

int
db_beat(PGconn *c, const struct hsd_opts *o)
{
	PGresult	*res;
	const char	*params[3];
	char		 workers[16];

	snprintf(workers, sizeof(workers), "%d", o->workers);
	params[0] = o->instance;
	params[1] = o->zones_array;
	params[2] = workers;
	if ((res = run(c, ST_BEAT, params, 0)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
db_unregister(PGconn *c, const struct hsd_opts *o)
{
	PGresult	*res;
	const char	*params[1];

	params[0] = o->instance;
	if ((res = run(c, ST_UNREGISTER, params, 0)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
db_zone_wait(PGconn *c, int *marked, int *cleared)
{
	PGresult	*res;
	long long	 v;
	const char	*errstr;

	*marked = *cleared = 0;
	if ((res = run(c, ST_ZONE_WAIT, NULL, 0)) == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		if (hs_strtonum(PQgetvalue(res, 0, 0), 0, INT32_MAX, &v,
		    &errstr) == 0)
			*marked = (int)v;
		if (hs_strtonum(PQgetvalue(res, 0, 1), 0, INT32_MAX, &v,
		    &errstr) == 0)
			*cleared = (int)v;
	}
	PQclear(res);
	return 0;
}

/* "{a,b,c}" of uuids or integers (no quoting needed for either). */
static char *
id_array(struct hsd_job *const *jobs, size_t n, int attempts)
{
	size_t	 cap = n * (HS_UUID_LEN + 2) + 3, o = 0, i;
	char	*s = hs_xmalloc(cap);

	s[o++] = '{';
	for (i = 0; i < n; i++) {
		if (i)
			s[o++] = ',';
		if (attempts)
			o += (size_t)snprintf(s + o, cap - o, "%d",
			    jobs[i]->attempt);
		else
			o += (size_t)snprintf(s + o, cap - o, "%s",
			    jobs[i]->id);
	}
	s[o++] = '}';
	s[o] = '\0';
	return s;
}

static void
mark_ids(PGresult *res, struct hsd_job *const *jobs, size_t n, int *flags,
    int value)
{
	int	 r, rows = PQntuples(res);
	size_t	 i;

	for (r = 0; r < rows; r++)
		for (i = 0; i < n; i++)
			if (strcmp(PQgetvalue(res, r, 0), jobs[i]->id) == 0)
				flags[i] = value;
}

int
db_heartbeat(PGconn *c, const struct hsd_opts *o, struct hsd_job *const *jobs,
    size_t n, int *lost)
{
	PGresult	*res;
	const char	*params[4];
	char		 lease[16], *ids, *atts;
	size_t		 i;

	if (n == 0)
		return 0;
	snprintf(lease, sizeof(lease), "%d", o->lease);
	ids = id_array(jobs, n, 0);
	atts = id_array(jobs, n, 1);
	params[0] = o->instance;
	params[1] = lease;
	params[2] = ids;
	params[3] = atts;
	res = run(c, ST_HEARTBEAT, params, 0);
	free(ids);
	free(atts);
	if (res == NULL)
		return -1;
	for (i = 0; i < n; i++)
		lost[i] = 1;
	mark_ids(res, jobs, n, lost, 0);
	PQclear(res);
	return 0;
}

int
db_cancelled(PGconn *c, const struct hsd_opts *o, struct hsd_job *const *jobs,
    size_t n, int *cancelled)
{
	PGresult	*res;
	const char	*params[2];
	char		*ids;
	size_t		 i;

	for (i = 0; i < n; i++)
		cancelled[i] = 0;
	if (n == 0)
		return 0;
	ids = id_array(jobs, n, 0);
	params[0] = o->instance;
	params[1] = ids;
	res = run(c, ST_CANCELLED, params, 0);
	free(ids);
	if (res == NULL)
		return -1;
	mark_ids(res, jobs, n, cancelled, 1);
	PQclear(res);
	return 0;
}

int
db_reap(PGconn *c, const struct hsd_opts *o, int *requeued, int *failed)
{
	PGresult	*res;
	const char	*params[2];
	char		 max[16], backoff[16];
	long long	 v;
	const char	*errstr;

	snprintf(max, sizeof(max), "%d", o->max_attempts);
	snprintf(backoff, sizeof(backoff), "%d", o->backoff);
	params[0] = max;
	params[1] = backoff;
	if ((res = run(c, ST_REAP, params, 0)) == NULL)
		return -1;
	*requeued = *failed = 0;
	if (hs_strtonum(PQgetvalue(res, 0, 0), 0, INT32_MAX, &v, &errstr) == 0)
		*requeued = (int)v;
	if (hs_strtonum(PQgetvalue(res, 0, 1), 0, INT32_MAX, &v, &errstr) == 0)
		*failed = (int)v;
	PQclear(res);
	return 0;
}

int
db_set_timeout(PGconn *c, int ms)
{
	PGresult	*res;
	const char	*params[1];
	char		 v[16];

	snprintf(v, sizeof(v), "%d", ms);
	params[0] = v;
	if ((res = run(c, ST_TIMEOUT, params, 0)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
db_queue_depth(PGconn *c, long long depth[2])
{
	PGresult	*res;
	const char	*errstr;
	int		 i;

	if ((res = run(c, ST_QUEUE_DEPTH, NULL, 0)) == NULL)
		return -1;
	for (i = 0; i < 2; i++)
		if (PQntuples(res) != 1 || hs_strtonum(PQgetvalue(res, 0, i), 0,
		    INT64_MAX, &depth[i], &errstr) != 0) {
			PQclear(res);
			return -1;
		}
	PQclear(res);
	return 0;
}

int
db_release_one(PGconn *c, const struct hsd_opts *o, const struct hsd_job *j,
    const char *why)
{
	PGresult	*res;
	const char	*params[4];
	char		 att[16];

	snprintf(att, sizeof(att), "%d", j->attempt);
	params[0] = j->id;
	params[1] = att;
	params[2] = o->instance;
	params[3] = why;
	if ((res = run(c, ST_RELEASE_ONE, params, 0)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
db_release_all(PGconn *c, const struct hsd_opts *o)
{
	PGresult	*res;
	const char	*params[1];
	long long	 v = 0;
	const char	*errstr;

	params[0] = o->instance;
	if ((res = run(c, ST_RELEASE_ALL, params, 0)) == NULL)
		return -1;
	hs_strtonum(PQgetvalue(res, 0, 0), 0, INT32_MAX, &v, &errstr);
	PQclear(res);
	return (int)v;
}

void
hsd_host_clear(struct hsd_host *h)
{
	free(h->key_type);
	free(h->key_b64);
	free(h->fingerprint);
	memset(h, 0, sizeof(*h));
}

static int
host_row(PGresult *res, struct hsd_host *h)
{
	if (PQntuples(res) == 0)
		return 0;
	hs_strlcpy(h->id, PQgetvalue(res, 0, 0), sizeof(h->id));
	h->key_type = dup_or_null(res, 0, 1);
	h->key_b64 = dup_or_null(res, 0, 2);
	h->fingerprint = dup_or_null(res, 0, 3);
	return 1;
}

/*
 * By DNS name, else by address among the records without a name.  When
 * that record has no pinned key, a key pinned on another record and seen
 * at this endpoint is the pin (pin_from names that record): a caller
 * cannot escape a pin by calling the host by a new name.
 */
int
db_host_lookup(struct db_pool *p, const struct hsd_job *j,
    const char *endpoint, struct hsd_host *h)
{
	PGconn		*c;
	PGresult	*res;
	const char	*params[2];
	struct hsd_host	 other;
	int		 found = 0, rc = -1;

	memset(h, 0, sizeof(*h));
	memset(&other, 0, sizeof(other));
	if ((c = db_acquire(p)) == NULL)
		return -2;
	if (j->dns != NULL) {
		params[0] = j->dns;
		if ((res = run(c, ST_HOST_BY_DNS, params, 0)) == NULL)
			goto out;
		found = host_row(res, h);
		PQclear(res);
	}
	if (!found && j->ip != NULL) {
		params[0] = j->ip;
		if ((res = run(c, ST_HOST_BY_IP, params, 0)) == NULL)
			goto out;
		host_row(res, h);
		PQclear(res);
	}
	if (h->fingerprint == NULL && endpoint != NULL) {
		params[0] = endpoint;
		params[1] = h->id[0] != '\0' ? h->id : NULL;
		if ((res = run(c, ST_HOST_BY_ENDPOINT, params, 0)) == NULL)
			goto out;
		if (host_row(res, &other)) {
			free(h->key_type);
			free(h->key_b64);
			h->key_type = other.key_type;
			h->key_b64 = other.key_b64;
			h->fingerprint = other.fingerprint;
			hs_strlcpy(h->pin_from, other.id, sizeof(h->pin_from));
		}
		PQclear(res);
	}
	rc = 0;
out:
	if (rc == -1 && PQstatus(c) != CONNECTION_OK)
		rc = -2;
	db_release(p, c);
	return rc;
}

int
db_audit(struct db_pool *p, const struct hsd_audit *a)
{
	PGconn		*c;
	PGresult	*res;
	const char	*params[11];
	char		 att[16], port[8];
	int		 rc = -1;

	snprintf(att, sizeof(att), "%d", a->attempt);
	snprintf(port, sizeof(port), "%d", a->port);
	params[0] = a->use_id;
	params[1] = a->event;
	params[2] = a->host_scan_id;
	params[3] = att;
	params[4] = a->address;
	params[5] = a->port > 0 ? port : NULL;
	params[6] = a->fingerprint;
	params[7] = a->method;
	params[8] = a->actor;
	params[9] = a->outcome;
	params[10] = a->detail;
	if ((c = db_acquire(p)) == NULL)
		return -2;
	/* The pool's connections autocommit: the row is durable on return. */
	if ((res = run(c, ST_AUDIT, params, 0)) != NULL) {
		if (strcmp(PQcmdTuples(res), "1") == 0)
			rc = 0;
		PQclear(res);
	} else if (PQstatus(c) != CONNECTION_OK) {
		rc = -2;
	}
	db_release(p, c);
	return rc;
}

void
hsd_cred_clear(struct hsd_cred *c)
{
	free(c->username);
	if (c->secret != NULL) {
		sodium_memzero(c->secret, c->secretlen);
		sodium_free(c->secret);
	}
	memset(c, 0, sizeof(*c));
}

/*
 * Reads and opens a credential.  The plaintext lives only in the
 * sodium_malloc'd (guarded, mlock'd) buffer hs_secret_open returns; the
 * ciphertext is fetched in binary so no hex copy of it is made either.
 */
int
db_credential(struct db_pool *p, const struct hs_master_keys *mk,
    const char *id, struct hsd_cred *out, char *err, size_t errlen)
{
	PGconn		*c;
	PGresult	*res = NULL;
	const char	*params[1];
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	if ((c = db_acquire(p)) == NULL) {
		snprintf(err, errlen, "database unavailable");
		return -2;
	}
	params[0] = id;
	if ((res = run(c, ST_CREDENTIAL, params, 1)) == NULL) {
		snprintf(err, errlen, "database error");
		if (PQstatus(c) != CONNECTION_OK)
			rc = -2;
		goto out;
	}
	if (PQntuples(res) != 1) {
		snprintf(err, errlen, "credential %s no longer exists", id);
		goto out;
	}
	out->username = hs_strdup(PQgetvalue(res, 0, 0));
	out->is_key = strcmp(PQgetvalue(res, 0, 1), "private_key") == 0;
	if (mk == NULL || hs_secret_open(mk, PQgetvalue(res, 0, 2),
	    (const unsigned char *)PQgetvalue(res, 0, 3),
	    (size_t)PQgetlength(res, 0, 3), &out->secret,
	    &out->secretlen) != 0) {
		snprintf(err, errlen, "the secret of credential %s cannot be "
		    "opened with the master key file", id);
		hsd_cred_clear(out);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	db_release(p, c);
	return rc;
}

/* A PostgreSQL array literal: every element quoted, NULL as NULL. */
static void
arr_add(char **buf, size_t *len, size_t *cap, const char *s, int first)
{
	size_t	 need = (s != NULL ? strlen(s) * 2 : 4) + 4;

	if (*len + need + 2 > *cap) {
		*cap = (*len + need + 2) * 2;
		if ((*buf = realloc(*buf, *cap)) == NULL)
			abort();
	}
	if (first)
		(*buf)[(*len)++] = '{';
	else
		(*buf)[(*len)++] = ',';
	if (s == NULL) {
		memcpy(*buf + *len, "NULL", 4);
		*len += 4;
		(*buf)[*len] = '\0';
		return;
	}
	(*buf)[(*len)++] = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			(*buf)[(*len)++] = '\\';
		(*buf)[(*len)++] = *s;
	}
	(*buf)[(*len)++] = '"';
	(*buf)[*len] = '\0';
}

static char *
log_array(const struct hsd_log *l, int field)
{
	char	*buf = NULL, tmp[32];
	size_t	 len = 0, cap = 0, i;

	for (i = 0; i < l->n; i++) {
		const char	*v;

		switch (field) {
		case 0:
			v = l->e[i].level;
			break;
		case 1:
			v = l->e[i].step;
			break;
		case 2:
			v = l->e[i].msg;
			break;
		default:
			snprintf(tmp, sizeof(tmp), "%.6f", l->e[i].at);
			v = tmp;
			break;
		}
		arr_add(&buf, &len, &cap, v, i == 0);
	}
	if (buf == NULL)
		return hs_strdup("{}");
	buf[len++] = '}';
	buf[len] = '\0';
	return buf;
}

/*
 * The ends of scans that store only their outcome, gathered by a leader:
 * the first worker to arrive waits up to HSD_FINISH_GATHER_MS (or until
 * HSD_FINISH_BATCH have come), writes all that came with ST_FINISH_MANY
 * and wakes each with its own outcome; those that come meanwhile wait for
 * the next leader, one of themselves.  A batch is never more than the
 * scheduler's workers, each waiting on its own request.  At bench/queue's rate, one statement
 * per scan spent about a fifth of PostgreSQL's CPU on a statement's fixed
 * costs (plan, executor start, commit) and one commit per host.
 */
struct fin_req {
	const struct hsd_job	*j;
	const struct hsd_result	*r;
	int			 rc;	/* 1 stored, 0 fenced, -1 not written */
	int			 done;
	struct fin_req		*next;
};

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct fin_req	*head;
	size_t		 n;
	int		 leading;
} fin = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0 };

/*
 * The array literals of one batch, in ST_FINISH_MANY's parameter order
 * ($2 is FA_ID): nine with an element per scan, five with one per log
 * line.
 */
enum { FA_ID, FA_ATTEMPT, FA_STATE, FA_REASON, FA_DESC, FA_HOST, FA_KEY_TYPE,
	FA_KEY, FA_FP, FA_LOG_ID, FA_LOG_LEVEL, FA_LOG_STEP, FA_LOG_MSG,
	FA_LOG_AT, FA__MAX };
struct fin_arrays {
	char	*a[FA__MAX];
	size_t	 len[FA__MAX], cap[FA__MAX];
};

/*
 * Each literal starts at FIN_ARRAY_BYTES, past the sizes glibc keeps in
 * per-thread caches: grown from a few bytes, the literals left freed
 * chunks of many sizes in the cache of every worker that led a batch
 * (about 6 MB held in bench/queue, counted in RSS).
 */
#define FIN_ARRAY_BYTES		8192

static void
fin_put(struct fin_arrays *f, int k, const char *v, int first)
{
	if (f->a[k] == NULL) {
		f->a[k] = hs_xmalloc(FIN_ARRAY_BYTES);
		f->cap[k] = FIN_ARRAY_BYTES;
	}
	arr_add(&f->a[k], &f->len[k], &f->cap[k], v, first);
}

/* Sets each request's rc when the statement ran; leaves -1 when not. */
static void
finish_many(PGconn *c, const struct hsd_opts *o, struct fin_req *batch)
{
	struct fin_arrays	 f;
	struct fin_req		*q;
	const char		*params[1 + FA__MAX];
	PGresult		*res;
	char			 num[3][16], at[32];
	int			 k, row, first_scan = 1, first_line = 1;
	size_t			 i;

	memset(&f, 0, sizeof(f));
	for (q = batch; q != NULL; q = q->next, first_scan = 0) {
		const struct hsd_result	*r = q->r;

		snprintf(num[0], sizeof(num[0]), "%d", q->j->attempt);
		snprintf(num[1], sizeof(num[1]), "%d", r->state);
		snprintf(num[2], sizeof(num[2]), "%d", r->reason);
		fin_put(&f, FA_ID, q->j->id, first_scan);
		fin_put(&f, FA_ATTEMPT, num[0], first_scan);
		fin_put(&f, FA_STATE, num[1], first_scan);
		fin_put(&f, FA_REASON, num[2], first_scan);
		fin_put(&f, FA_DESC, r->desc, first_scan);
		fin_put(&f, FA_HOST, r->host_id[0] != '\0' ? r->host_id :
		    NULL, first_scan);
		fin_put(&f, FA_KEY_TYPE, r->key_type, first_scan);
		fin_put(&f, FA_KEY, r->key_b64, first_scan);
		fin_put(&f, FA_FP, r->fingerprint, first_scan);
		for (i = 0; i < r->log.n; i++, first_line = 0) {
			snprintf(at, sizeof(at), "%.6f", r->log.e[i].at);
			fin_put(&f, FA_LOG_ID, q->j->id, first_line);
			fin_put(&f, FA_LOG_LEVEL, r->log.e[i].level, first_line);
			fin_put(&f, FA_LOG_STEP, r->log.e[i].step, first_line);
			fin_put(&f, FA_LOG_MSG, r->log.e[i].msg, first_line);
			fin_put(&f, FA_LOG_AT, at, first_line);
		}
	}
	params[0] = o->instance;
	for (k = 0; k < FA__MAX; k++) {
		if (f.a[k] == NULL)
			f.a[k] = hs_strdup("{}");
		else {
			f.a[k][f.len[k]++] = '}';
			f.a[k][f.len[k]] = '\0';
		}
		params[1 + k] = f.a[k];
	}
	if ((res = run(c, ST_FINISH_MANY, params, 0)) != NULL) {
		for (q = batch; q != NULL; q = q->next) {
			q->rc = 0;
			for (row = 0; row < PQntuples(res); row++)
				if (strcmp(PQgetvalue(res, row, 0),
				    q->j->id) == 0)
					q->rc = 1;
		}
		PQclear(res);
	}
	for (k = 0; k < FA__MAX; k++)
		free(f.a[k]);
}

/* 1 stored, 0 fenced, -1 not written (the caller writes it alone). */
static int
finish_batched(struct db_pool *p, const struct hsd_opts *o,
    const struct hsd_job *j, const struct hsd_result *r)
{
	struct fin_req	 me = { j, r, -1, 0, NULL }, *batch, *q;
	struct timespec	 until;
	PGconn		*c;

	pthread_mutex_lock(&fin.mu);
	me.next = fin.head;
	fin.head = &me;
	fin.n++;
	pthread_cond_broadcast(&fin.cv);
	while (!me.done && fin.leading)
		pthread_cond_wait(&fin.cv, &fin.mu);
	if (me.done) {
		pthread_mutex_unlock(&fin.mu);
		return me.rc;
	}
	fin.leading = 1;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += HSD_FINISH_GATHER_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (fin.n < HSD_FINISH_BATCH && pthread_cond_timedwait(&fin.cv,
	    &fin.mu, &until) == 0)
		continue;
	batch = fin.head;
	fin.head = NULL;
	fin.n = 0;
	pthread_mutex_unlock(&fin.mu);

	if ((c = db_acquire(p)) != NULL) {
		finish_many(c, o, batch);
		db_release(p, c);
	}

	pthread_mutex_lock(&fin.mu);
	for (q = batch; q != NULL; q = q->next)
		q->done = 1;
	fin.leading = 0;
	pthread_cond_broadcast(&fin.cv);
	pthread_mutex_unlock(&fin.mu);
	return me.rc;
}

static int
finish_stmt(PGconn *c, const struct hsd_opts *o, const struct hsd_job *j,
    struct hsd_result *r, const char *host_id)
{
	PGresult	*res;
	const char	*params[17];
	char		 att[16], st[8], reason[8], *arr[4];
	const struct inventory *inv = r->inv;
	int		 i, n = -1;

	snprintf(att, sizeof(att), "%d", j->attempt);
	snprintf(st, sizeof(st), "%d", r->state);
	snprintf(reason, sizeof(reason), "%d", r->reason);
	for (i = 0; i < 4; i++)
		arr[i] = log_array(&r->log, i);
	params[0] = j->id;
	params[1] = att;
	params[2] = o->instance;
	params[3] = st;
	params[4] = reason;
	params[5] = r->desc;
	params[6] = host_id != NULL && host_id[0] != '\0' ? host_id : NULL;
	params[7] = inv != NULL ? inv->hostname : NULL;
	params[8] = inv != NULL ? inv->os_name : NULL;
	params[9] = inv != NULL ? inv->os_version : NULL;
	params[10] = r->key_type;
	params[11] = r->key_b64;
	params[12] = r->fingerprint;
	for (i = 0; i < 4; i++)
		params[13 + i] = arr[i];
	if ((res = run(c, ST_FINISH, params, 0)) != NULL) {
		n = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
		PQclear(res);
	}
	for (i = 0; i < 4; i++)
		free(arr[i]);
	return n;
}

/* One table of the inventory, as invjson.c encoded it. */
static int
inv_stmt(PGconn *c, enum st st, const char *host_id, const char *hsh_id,
    const char *js)
{
	PGresult	*res;
	const char	*params[3];
	int		 rc = -1;

	if (st == ST_INV_MEMBERS) {
		params[0] = js;
	} else {
		params[0] = host_id;
		params[1] = hsh_id;
		params[2] = js;
	}
	if ((res = run(c, st, params, 0)) != NULL) {
		rc = 0;
		PQclear(res);
	}
	return rc;
}

static int
store_host(PGconn *c, const struct hsd_job *j, struct hsd_result *r,
    char host_id[HS_UUID_LEN + 1])
{
	PGresult	*res = NULL;
	const struct inventory *inv = r->inv;
	const char	*params[16];
	char		 port[8], start[32];
	enum st		 st;

	snprintf(port, sizeof(port), "%d", j->port);
	snprintf(start, sizeof(start), "%.6f", j->claimed_at);
	params[0] = r->host_id[0] != '\0' ? r->host_id : NULL;
	params[1] = j->dns;
	params[2] = j->ip;
	params[3] = inv != NULL ? inv->hostname : NULL;
	params[4] = inv != NULL ? inv->os_name : NULL;
	params[5] = inv != NULL ? inv->os_version : NULL;
	params[6] = port;
	params[7] = j->platform_id[0] != '\0' ? j->platform_id : NULL;
	params[8] = j->credential_id;
	params[9] = r->store_trust ? "t" : "f";
	params[10] = r->key_type;
	params[11] = r->key_b64;
	params[12] = r->fingerprint;
	params[13] = start;
	params[14] = r->connected ? "t" : "f";
	params[15] = r->store_trust || r->key_trusted ? r->address : NULL;
	if (params[0] != NULL) {
		if ((res = run(c, ST_HOST_UPDATE, params, 0)) == NULL)
			return -1;
		if (PQntuples(res) == 1)
			goto got;
		PQclear(res);
		params[0] = NULL;	/* deleted meanwhile: create it again */
	}
	st = j->dns != NULL ? ST_HOST_INSERT_DNS : ST_HOST_INSERT_IP;
	if ((res = run(c, st, params, 0)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
got:
	hs_strlcpy(host_id, PQgetvalue(res, 0, 0), HS_UUID_LEN + 1);
	PQclear(res);
	return 0;
}

static int
store_inventory(PGconn *c, const char *host_id, const struct hsd_job *j,
    struct hsd_result *r)
{
	static const struct {
		enum inv_table	 t;
		enum st		 st;
	} tables[] = {
		/* Members after users and groups: they link the two. */
		{ IT_USERS, ST_INV_USERS }, { IT_GROUPS, ST_INV_GROUPS },
		{ IT_MEMBERS, ST_INV_MEMBERS }, { IT_SERVICES, ST_INV_SERVICES },
		{ IT_TASKS, ST_INV_TASKS }, { IT_PACKAGES, ST_INV_SOFTWARE },
	};
	const struct inventory	*inv = r->inv;
	size_t			 i;

	/* A table is replaced only when it was collected (and encoded). */
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (inv->json[tables[i].t] == NULL)
			continue;
		/*
		 * The foreign-key checks of the memberships are plans each
		 * connection caches; one made while host_user and host_group
		 * were small scans them, and this transaction has just filled
		 * them: 20 000 memberships took 64 s (measured).  Dropped
		 * here, they are planned again against the tables as they are.
		 */
		if (tables[i].t == IT_MEMBERS && simple(c, "DISCARD PLANS") == -1)
			return -1;
		if (inv_stmt(c, tables[i].st, host_id, j->id,
		    inv->json[tables[i].t]) == -1)
			return -1;
	}
	return 0;
}

/* The full path: host record, inventory and completion in one transaction. */
static int
finish_full(PGconn *c, const struct hsd_opts *o, const struct hsd_job *j,
    struct hsd_result *r)
{
	PGresult	*res;
	const char	*params[3];
	char		 att[16], host_id[HS_UUID_LEN + 1];
	int		 n;

	if (simple(c, "BEGIN") == -1)
		return -1;
	snprintf(att, sizeof(att), "%d", j->attempt);
	params[0] = j->id;
	params[1] = att;
	params[2] = o->instance;
	if ((res = run(c, ST_LOCK, params, 0)) == NULL)
		goto fail;
	n = PQntuples(res);
	PQclear(res);
	if (n == 0) {
		simple(c, "ROLLBACK");
		return 0;
	}
	if (store_host(c, j, r, host_id) == -1)
		goto fail;
	if (r->inv != NULL && r->state == HS_COMPLETE &&
	    store_inventory(c, host_id, j, r) == -1)
		goto fail;
	if ((n = finish_stmt(c, o, j, r, host_id)) == -1)
		goto fail;
	if (simple(c, "COMMIT") == -1)
		return -1;
	hs_strlcpy(r->host_id, host_id, sizeof(r->host_id));
	return n;
fail:
	simple(c, "ROLLBACK");
	return -1;
}

int
db_finish(struct db_pool *p, const struct hsd_opts *o, const struct hsd_job *j,
    struct hsd_result *r)
{
	PGconn	*c;
	int	 rc = -1, tries, lost = 0;
	double	 give_up = inv_mono() + o->lease / 3.0;

	/*
	 * With the connection lost and no node accepting writes yet (a
	 * failover), the store is tried again each second for a third of
	 * the lease rather than left to the reaper and a second scan; it is
	 * fenced on (id, attempt), so a late one never overwrites a re-claim.
	 */
	if (!r->connected && r->inv == NULL &&
	    (rc = finish_batched(p, o, j, r)) != -1)
		return rc;
	for (tries = 0; rc == -1; tries++) {
		if (tries >= 2) {
			if (!lost || inv_mono() >= give_up ||
			    atomic_load(&hsd_terminate))
				break;
			sleep(1);
		}
		lost = 1;
		if ((c = db_acquire(p)) == NULL)
			continue;
		if (r->connected)
			rc = finish_full(c, o, j, r);
		else
			rc = finish_stmt(c, o, j, r, r->host_id);
		lost = PQstatus(c) != CONNECTION_OK;
		/* A statement error with a live connection will not heal. */
		if (rc == -1 && !lost && r->connected) {
			r->connected = 0;
			r->state = HS_FAILED;
			r->reason = R_SYSTEM;
			snprintf(r->desc, sizeof(r->desc), "the scan's results "
			    "could not be stored (see the scheduler's log)");
			result_log(r, "error", "store", "%s", r->desc);
			rc = finish_stmt(c, o, j, r, r->host_id);
		}
		db_release(p, c);
	}
	return rc;
}
