/* SPDX-License-Identifier: ISC */
/*
 * Every SQL statement of the responder, with the type of each parameter,
 * and the readers of their results: column values as JSON, rows as
 * objects, and the uuid[] literal several statements take.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/*
 * RFC 3339 UTC with microseconds, as every timestamp leaves the API: the
 * body of sql/001's hs_ts() written out.  A statement's cached plan keeps
 * this expression, where an inlined SQL function's body would be parsed
 * again whenever the statement is planned.
 */
#define TS(col) \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/*
 * The rows after a keyset cursor, every row when it is NULL, in a form a
 * generic plan serves from the index on col.  Ids are gen_random_uuid()
 * (version 4): none is the nil uuid.
 */
#define AFTER(col, p) \
	col " > COALESCE(" p "::uuid, '00000000-0000-0000-0000-000000000000')"

/* Columns of one HostScanHostStatus (HC_ in api.h). */
#define HOST_STATUS_COLS \
	"h.id, h.host_id, h.name, h.dns_host_name, h.os, h.ip_address, " \
	"h.version, h.state, h.status_description, h.failure_reason"

/*
 * The host rows of the jobs in the uuid[] parameter p, as h, each job's
 * hosts by its own scan of host_scan_host_job_id_ord_key (the ORDER BY
 * keeps the lateral subquery a per-job scan), j.n the job's place in p.
 */
#define JOBS_OF(p) \
	"unnest(" p "::uuid[]) WITH ORDINALITY AS j(id, n), LATERAL (" \
	"SELECT * FROM host_scan_host h WHERE h.job_id = j.id ORDER BY h.ord) h"

/* Columns of one scanned host record, in the order results.c reads them. */
#define RES_HOST_COLS \
	"s.id, COALESCE(s.name, h.name), s.dns_host_name, s.ip_address," \
	" COALESCE(s.os, h.os), COALESCE(s.version, h.version), s.host_id," \
	" s.credential_id, s.platform_id, " TS("h.last_scan_at") "," \
	" " TS("h.last_scan_start_at") ", h.host_connected," \
	" s.discovered_fingerprint, h.trusted_fingerprint, s.job_id," \
	" s.ssh_port, s.discovered_key_type, h.trusted_key_type "

/*
 * The SID Samba gives a Unix account (api.h): S-1-22-1-<uid> for a user,
 * S-1-22-2-<gid> for a group, for the 32-bit ids a uid_t holds.
 */
#define UNIX_SID(prefix, id) \
	"CASE WHEN " id " BETWEEN 0 AND 4294967295 THEN '" prefix "' || " \
	id " END"

/* Columns of one scanned user; never a password hash (none is stored). */
#define RES_USER_COLS \
	"u.id, u.name, u.display_name, u.unix_id, u.unix_group_id," \
	" u.home_directory, u.shell, u.privilege," \
	" " TS("u.password_changed_at") ", " TS("u.password_expires_at") "," \
	" u.is_disabled, u.host_scan_host_id, u.host_id, " \
	UNIX_SID("S-1-22-1-", "u.unix_id") " "

/*
 * Prepared once per connection (dbconn.c), which plans each once: the
 * connection runs with plan_cache_mode = force_generic_plan, so every
 * statement here must have a plan that is right for any parameter (no
 * "$1 IS NULL OR ..." a custom plan would fold away).  Host items travel
 * as one json array so that a job of 10 000 hosts is one INSERT, one
 * round trip and one transaction.
 */
const struct db_stmt db_stmts[ST__MAX] = {
	[ST_PING] = { "ping", "SELECT 1", "" },
	/*
	 * $1 jti, $2 sid (NULL for a token without one).  A row says why the
	 * token is refused: its jti is revoked, or its session is revoked or
	 * gone (sql/009).
	 */
	[ST_REVOKED] = { "revoked",
	    "SELECT 'token revoked' FROM revoked_token WHERE jti = $1 "
	    "UNION ALL SELECT 'session revoked' WHERE $2::text IS NOT NULL"
	    " AND NOT EXISTS (SELECT 1 FROM signin_session"
	    "  WHERE sid = $2 AND revoked_at IS NULL)", "tt" },
	/* $1 credential ids, $2 credential names, $3 platform names: jsonb arrays */
	/* Credentials come with their scope (never their secret). */
	[ST_REFS] = { "refs",
	    "SELECT 'c', id::text, name, scope FROM credential "
	    "WHERE id IN (SELECT x::uuid FROM jsonb_array_elements_text($1::jsonb) x) "
	    "OR name IN (SELECT jsonb_array_elements_text($2::jsonb)) "
	    "UNION ALL "
	    "SELECT 'p', id::text, name, NULL FROM platform "
	    "WHERE name IN (SELECT jsonb_array_elements_text($3::jsonb))", "jjj" },
	/*
	 * Hosts refused for their credential's scope, into the credential
	 * audit trail (sql/008), in request order: $1 the token's sub, $2
	 * what was refused (route and trace), $3 a jsonb array of objects
	 * named after the audit's columns (credential_id, dns_host_name,
	 * address, port).
	 */
	[ST_AUDIT_REFUSED] = { "audit_refused",
	    "INSERT INTO credential_audit (use_id, event, credential_id,"
	    "  credential_name, credential_kind, submitted_by, dns_host_name,"
	    "  address, port, actor, outcome, detail)"
	    " SELECT gen_random_uuid(), 'refused', c.id, c.name, c.kind, $1,"
	    "  e.v->>'dns_host_name', e.v->>'address', (e.v->>'port')::int,"
	    "  'hostscan.fcgi', 'out_of_scope', $2"
	    " FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(v, n)"
	    " JOIN credential c ON c.id = (e.v->>'credential_id')::uuid"
	    " ORDER BY e.n", "ttj" },
	/*
	 * $1 sub, $2 name, $3 address, $4 hosts (a json array of records
	 * whose keys are the host_scan_host columns they fill, with the ids
	 * the responder chose, so that the job's status is known without
	 * reading the rows back; json, not jsonb: each record is read once,
	 * and converting 10 000 of them to jsonb first cost about 100 ms of
	 * the statement's bind), $5 the request's Idempotency-Key (NULL when
	 * none), $6 what the items' validation relied on (hostreq.c; NULL:
	 * nothing): credentials (credential_id, scope, and the name when an
	 * item named it) and platforms (platform_id, platform_name).  When
	 * one has changed the statement inserts nothing and returns no row;
	 * else the job's id and how many hosts it has.  host_id is set by a
	 * re-scan so that the host's latest job is found before the
	 * scheduler has reached it.
	 */
	[ST_JOB_INSERT] = { "job_insert",
	    "WITH job AS ("
	    " INSERT INTO host_scan_job (created_by, created_by_user_name,"
	    "  created_from_address, idempotency_key)"
	    " SELECT $1, $2, $3, $5 WHERE NOT EXISTS ("
	    "  SELECT FROM jsonb_to_recordset($6::jsonb) AS g(credential_id uuid,"
	    "   name text, scope text, platform_id uuid, platform_name text)"
	    "  LEFT JOIN credential c ON c.id = g.credential_id"
	    "  LEFT JOIN platform p ON p.id = g.platform_id"
	    "  WHERE (g.credential_id IS NOT NULL"
	    "   AND (c.scope IS DISTINCT FROM g.scope OR (g.name IS NOT NULL"
	    "   AND c.name IS DISTINCT FROM g.name)))"
	    "  OR (g.platform_id IS NOT NULL"
	    "   AND p.name IS DISTINCT FROM g.platform_name))"
	    " RETURNING id),"
	    " ins AS ("
	    " INSERT INTO host_scan_host (id, action_queue_id, job_id, ord,"
	    "  dns_host_name, ip_address, os, credential_id, platform_id,"
	    "  accept_first, trust_action, certificate_type, trusted_thumbprint,"
	    "  ssh_port, source, host_id)"
	    " SELECT r.id, r.aq, job.id, r.ord, r.dns_host_name, r.ip_address,"
	    "  r.os, r.credential_id, r.platform_id, r.accept_first,"
	    "  r.trust_action, r.certificate_type, r.trusted_thumbprint,"
	    "  r.ssh_port, r.source, r.host_id"
	    " FROM job, json_to_recordset($4::json) AS r(id uuid, aq uuid,"
	    "  ord int, dns_host_name text, ip_address text, os text,"
	    "  credential_id uuid, platform_id uuid, accept_first boolean,"
	    "  trust_action smallint, certificate_type smallint,"
	    "  trusted_thumbprint text, ssh_port int, source text, host_id uuid)"
	    " RETURNING 1)"
	    " SELECT job.id, (SELECT count(*) FROM ins) FROM job",
	    "tttjtj" },
	/* Transactions only where a request makes several statements. */
	[ST_BEGIN] = { "begin", "BEGIN", "" },
	[ST_COMMIT] = { "commit", "COMMIT", "" },
	[ST_ROLLBACK] = { "rollback", "ROLLBACK", "" },
	/*
	 * $1 sub, $2 key, $3 fingerprint.  A row back: this request owns
	 * the key (new, or its old claim expired).  No row: a live claim
	 * exists; a concurrent claimer waits here until the owner ends.
	 * Each claim also deletes a few expired keys, so the table stays
	 * as small as the keys of the last HS_IDEM_KEY_HOURS hours.
	 */
	[ST_IDEM_CLAIM] = { "idem_claim",
	    "WITH gc AS (DELETE FROM idempotency_key WHERE ctid IN ("
	    "  SELECT ctid FROM idempotency_key"
	    "  WHERE created_at < now()"
	    "  - interval '" HS_STR(HS_IDEM_KEY_HOURS) " hours'"
	    "  AND (sub, key) <> ($1, $2)"
	    "  ORDER BY created_at LIMIT 16 FOR UPDATE SKIP LOCKED))"
	    " INSERT INTO idempotency_key AS k (sub, key, fingerprint)"
	    " VALUES ($1, $2, $3) ON CONFLICT (sub, key) DO UPDATE"
	    " SET fingerprint = EXCLUDED.fingerprint, job_ids = '{}',"
	    "  created_at = now()"
	    " WHERE k.created_at < now()"
	    " - interval '" HS_STR(HS_IDEM_KEY_HOURS) " hours' RETURNING 1", "ttt" },
	[ST_IDEM_GET] = { "idem_get",
	    "SELECT fingerprint, job_ids::text FROM idempotency_key "
	    "WHERE sub = $1 AND key = $2", "tt" },
	/* $3: the jobs the owner queued, as a uuid[] literal. */
	[ST_IDEM_DONE] = { "idem_done",
	    "UPDATE idempotency_key SET job_ids = $3::uuid[] "
	    "WHERE sub = $1 AND key = $2", "ttU" },
	/*
	 * The hosts of several jobs, the jobs in the order of $1: one index
	 * scan per job (JOBS_OF).  "h.job_id = ANY($1)" had a generic plan
	 * that guessed a large share of the table for any array: with a few
	 * big jobs queued it was a parallel scan of the whole table, 300 to
	 * 550 ms for a 1-host job (bench/queue).
	 */
	[ST_JOBS_HOSTS] = { "jobs_hosts",
	    "SELECT h.job_id, " HOST_STATUS_COLS " FROM " JOBS_OF("$1")
	    " ORDER BY j.n, h.ord", "U" },
	[ST_JOB_HOSTS] = { "job_hosts",
	    "SELECT h.job_id, " HOST_STATUS_COLS " FROM host_scan_host h "
	    "WHERE h.job_id = $1 ORDER BY h.ord", "u" },
	[ST_JOB_ROW] = { "job_row",
	    "SELECT id, created_by, created_by_user_name, created_from_address,"
	    " " TS("created_at") ", " TS("modified_at") " "
	    "FROM host_scan_job WHERE id = $1", "u" },
	/*
	 * GET /HostScanJob/{id} in one round trip: the job's columns on
	 * every host row (one row with NULL host columns for a job without
	 * hosts, none for an unknown id).
	 */
	[ST_JOB_ENTITY] = { "job_entity",
	    "SELECT j.id, j.created_by, j.created_by_user_name,"
	    " j.created_from_address, " TS("j.created_at") ","
	    " " TS("j.modified_at") ","
	    " h.id, h.action_queue_id, h.state, h.status_description,"
	    " h.failure_reason, " TS("h.time_created") ","
	    " " TS("h.time_started") ", " TS("h.time_finished") ","
	    " h.dns_host_name, h.ip_address, h.os,"
	    " h.credential_id, c.name, h.platform_id, p.name, h.accept_first,"
	    " h.trust_action, h.certificate_type, h.trusted_thumbprint,"
	    " h.ssh_port, h.source, h.host_id, h.name, h.version "
	    "FROM host_scan_job j LEFT JOIN host_scan_host h ON h.job_id = j.id "
	    "LEFT JOIN credential c ON c.id = h.credential_id "
	    "LEFT JOIN platform p ON p.id = h.platform_id "
	    "WHERE j.id = $1 ORDER BY h.ord", "u" },
	/*
	 * Keyset paging, newest first.  $1 is the last id of the previous
	 * page (NULL for the first); an unknown $1 yields no rows, so the
	 * caller looks it up first (ST_JOB_ROW) to tell it from an empty
	 * page.
	 */
	[ST_JOB_PAGE] = { "job_page",
	    "SELECT j.id FROM host_scan_job j "
	    "WHERE (j.created_at, j.id) < (SELECT a.created_at, a.id"
	    " FROM host_scan_job a WHERE a.id = $1"
	    " UNION ALL SELECT 'infinity', NULL WHERE $1::uuid IS NULL) "
	    "ORDER BY j.created_at DESC, j.id DESC LIMIT $2", "ui" },
	[ST_JOB_PAGE_HOSTS] = { "job_page_hosts",
	    "SELECT h.job_id, " HOST_STATUS_COLS " FROM " JOBS_OF("$1")
	    " ORDER BY h.job_id, h.ord", "U" },
	/*
	 * Cancel: queued hosts at once; running ones see cancel_requested at
	 * their next step.  Returns no row for an unknown job.
	 */
	[ST_JOB_CANCEL] = { "job_cancel",
	    "WITH job AS (UPDATE host_scan_job SET cancel_requested = true,"
	    "  modified_at = clock_timestamp() WHERE id = $1 RETURNING id),"
	    " c AS (UPDATE host_scan_host h SET state = 4,"
	    "  status_description = 'cancelled by ' || $2,"
	    "  time_finished = clock_timestamp()"
	    "  FROM job WHERE h.job_id = job.id AND h.state = 0 RETURNING h.id)"
	    " SELECT job.id, (SELECT count(*) FROM c) FROM job", "ut" },
	/*
	 * Scanned host records: the scans (host_scan_host rows) that reached
	 * a host record, with that record's trust and scan times.  Paged by
	 * id, which stays a valid cursor even when the row is gone.
	 */
	[ST_RES_HOST] = { "res_host",
	    "SELECT " RES_HOST_COLS "FROM host_scan_host s "
	    "JOIN host h ON h.id = s.host_id WHERE s.id = $1", "u" },
	[ST_RES_HOST_PAGE] = { "res_host_page",
	    "SELECT " RES_HOST_COLS "FROM host_scan_host s "
	    "JOIN host h ON h.id = s.host_id "
	    "WHERE " AFTER("s.id", "$1") " ORDER BY s.id LIMIT $2", "ui" },
	[ST_RES_SCAN_LOG] = { "res_scan_log",
	    "SELECT " TS("at") ", level, step, message FROM scan_log "
	    "WHERE host_scan_host_id = $1 ORDER BY id"
	    " LIMIT " HS_STR(HS_SCAN_LOG_MAX_LINES), "u" },
	/*
	 * Trust what one scan discovered.  No row: an unknown scan, one
	 * without a host record, or one that discovered no key; the caller
	 * tells them apart with ST_RES_HOST.
	 */
	[ST_RES_TRUST] = { "res_trust",
	    "UPDATE host h SET trusted_key_type = s.discovered_key_type,"
	    " trusted_key = s.discovered_key,"
	    " trusted_fingerprint = s.discovered_fingerprint "
	    "FROM host_scan_host s WHERE s.id = $1 AND h.id = s.host_id"
	    " AND s.discovered_fingerprint IS NOT NULL "
	    "RETURNING h.id", "u" },
	[ST_RES_USER] = { "res_user",
	    "SELECT " RES_USER_COLS "FROM host_user u WHERE u.id = $1", "u" },
	/* Scans replace users wholesale: an id cursor survives that. */
	[ST_RES_USER_PAGE] = { "res_user_page",
	    "SELECT " RES_USER_COLS "FROM host_user u "
	    "WHERE " AFTER("u.id", "$1") " ORDER BY u.id LIMIT $2", "ui" },
	/* $1 a uid: the users of every host with that uid, paged as above. */
	[ST_RES_USER_SID_PAGE] = { "res_user_sid_page",
	    "SELECT " RES_USER_COLS "FROM host_user u "
	    "WHERE u.unix_id = $1::bigint AND " AFTER("u.id", "$2") " "
	    "ORDER BY u.id LIMIT $3", "iui" },
	[ST_RES_GROUP] = { "res_group",
	    "SELECT g.id, g.name, g.unix_id, g.host_scan_host_id, g.host_id, "
	    UNIX_SID("S-1-22-2-", "g.unix_id") " "
	    "FROM host_group g WHERE g.id = $1", "u" },
	[ST_RES_GROUP_MEMBERS] = { "res_group_members",
	    "SELECT m.user_id, m.user_name, m.is_primary "
	    "FROM host_group_member m WHERE m.group_id = $1 "
	    "ORDER BY m.is_primary DESC, m.user_name", "u" },
	/*
	 * A host's services, scheduled tasks and software: $1 one scan of
	 * the host (its host record's rows, whichever scan wrote them), $2
	 * the last id of the previous page, $3 the LIMIT.
	 */
	[ST_RES_SERVICE_PAGE] = { "res_service_page",
	    "SELECT v.id, v.name, v.display_name, v.description, v.start_type,"
	    " v.user_name, v.binary_path_name, v.host_scan_host_id, v.host_id "
	    "FROM host_scan_host s JOIN host_service v ON v.host_id = s.host_id "
	    "WHERE s.id = $1 AND " AFTER("v.id", "$2") " "
	    "ORDER BY v.id LIMIT $3", "uui" },
	[ST_RES_TASK_PAGE] = { "res_task_page",
	    "SELECT v.id, v.name, v.task_path, v.user_name, v.description,"
	    " v.source, " TS("v.next_run_at") ", " TS("v.last_run_at") ","
	    " v.host_scan_host_id, v.host_id "
	    "FROM host_scan_host s"
	    " JOIN host_scheduled_task v ON v.host_id = s.host_id "
	    "WHERE s.id = $1 AND " AFTER("v.id", "$2") " "
	    "ORDER BY v.id LIMIT $3", "uui" },
	[ST_RES_SOFTWARE_PAGE] = { "res_software_page",
	    "SELECT v.id, v.name, v.version, v.description,"
	    " v.host_scan_host_id, v.host_id "
	    "FROM host_scan_host s JOIN host_software v ON v.host_id = s.host_id "
	    "WHERE s.id = $1 AND " AFTER("v.id", "$2") " "
	    "ORDER BY v.id LIMIT $3", "uui" },
	/* $1: a Postgres uuid[] literal of host record ids. */
	[ST_HOST_RECORDS] = { "host_records",
	    "SELECT h.id, h.dns_host_name, h.ip_address, h.os, h.credential_id,"
	    " h.platform_id, h.ssh_port, c.scope FROM host h"
	    " LEFT JOIN credential c ON c.id = h.credential_id"
	    " WHERE h.id = ANY($1::uuid[])", "U" },
	[ST_HOST_LATEST_JOB] = { "host_latest_job",
	    "SELECT s.job_id FROM host_scan_host s WHERE s.host_id = $1 "
	    "ORDER BY s.time_created DESC, s.id DESC LIMIT 1", "u" },
	/* Sign-in (signin.c, sql/006).  $1 is always the login name. */
	[ST_SIGNIN_USER] = { "signin_user",
	    "SELECT role, password_hash, enabled, totp_key_id,"
	    " encode(totp_secret, 'hex'), totp_last_counter "
	    "FROM app_user WHERE name = $1", "t" },
	/* Seconds left of a lock; no row when the name is not locked. */
	[ST_SIGNIN_LOCKED] = { "signin_locked",
	    "SELECT ceil(extract(epoch FROM locked_until - now()))::bigint "
	    "FROM signin_throttle WHERE login = $1 AND locked_until > now()",
	    "t" },
	/* $1 seconds after which an unlocked name's failures are forgotten. */
	[ST_SIGNIN_PRUNE] = { "signin_prune",
	    "DELETE FROM signin_throttle "
	    "WHERE last_failure_at < now() - make_interval(secs => $1::bigint)"
	    " AND (locked_until IS NULL OR locked_until <= now())", "i" },
	/*
	 * Reserves an attempt before anything is checked: counts it as a
	 * failure now, in one statement, unless the name is locked.  $2
	 * failures lock, each for $3 seconds more than the one before (failure
	 * max+k locks for (k+1) * $3 from now), so the attempt that reaches
	 * the limit locks out every later one while it is checked.  Returns
	 * the count and the seconds locked (NULL: not locked); no row: the
	 * name is locked and nothing was counted.
	 */
	[ST_SIGNIN_RESERVE] = { "signin_reserve",
	    "INSERT INTO signin_throttle AS t (login, failures, last_failure_at,"
	    " locked_until) VALUES ($1, 1, now(), CASE WHEN $2::bigint <= 1"
	    " THEN now() + make_interval(secs => $3::bigint) END) "
	    "ON CONFLICT (login) DO UPDATE SET failures = t.failures + 1,"
	    " last_failure_at = now(), locked_until = CASE"
	    " WHEN t.failures + 1 >= $2::bigint THEN now() + make_interval("
	    "  secs => (t.failures + 2 - $2::bigint) * $3::bigint)"
	    " ELSE t.locked_until END "
	    "WHERE t.locked_until IS NULL OR t.locked_until <= now() "
	    "RETURNING failures, CASE WHEN locked_until > now() THEN"
	    " ceil(extract(epoch FROM locked_until - now()))::bigint END", "tii" },
	/*
	 * A right password gives its reservation back: one failure less, and
	 * no lock (any lock now standing was set by a reservation, and the
	 * attempts it kept out were not counted).  The last reservation of a
	 * name without failures takes the row with it.
	 */
	[ST_SIGNIN_RELEASE] = { "signin_release",
	    "MERGE INTO signin_throttle t USING (SELECT $1::text AS login) a"
	    " ON t.login = a.login "
	    "WHEN MATCHED AND t.failures <= 1 THEN DELETE "
	    "WHEN MATCHED THEN UPDATE SET failures = t.failures - 1,"
	    " locked_until = NULL", "t" },
	/*
	 * A good code: takes TOTP step $2 unless it (or a later one) was
	 * used, which also settles two requests racing with one code, and
	 * clears the name's failures.  No row: replayed, or the user went.
	 */
	[ST_SIGNIN_OK] = { "signin_ok",
	    "WITH u AS (UPDATE app_user SET totp_last_counter = $2::bigint"
	    " WHERE name = $1 AND enabled AND totp_secret IS NOT NULL"
	    " AND (totp_last_counter IS NULL OR totp_last_counter < $2::bigint)"
	    " RETURNING name, role),"
	    " d AS (DELETE FROM signin_throttle t USING u WHERE t.login = u.name),"
	    " s AS (INSERT INTO signin_session (sid, login)"
	    "  SELECT $3, name FROM u RETURNING started_at)"
	    " SELECT u.role, floor(extract(epoch FROM s.started_at))::bigint"
	    " FROM u, s", "tiu" },
	/*
	 * Sessions (sql/009).  $1 sid, $2 login.  A session of a renewal of a
	 * token without a sid; its start as Unix seconds.
	 */
	[ST_SESSION_START] = { "session_start",
	    "INSERT INTO signin_session (sid, login) VALUES ($1, $2) "
	    "RETURNING floor(extract(epoch FROM started_at))::bigint", "ut" },
	/* The start of a session that is not revoked; no row otherwise. */
	[ST_SESSION_LIVE] = { "session_live",
	    "SELECT floor(extract(epoch FROM started_at))::bigint "
	    "FROM signin_session WHERE sid = $1 AND login = $2"
	    " AND revoked_at IS NULL", "tt" },
	/*
	 * $1 jti, $2 sid, $3 exp (Unix seconds): a token minted for the
	 * session, before it is handed out.  No row: the session was revoked
	 * meanwhile.
	 */
	[ST_SESSION_TOKEN] = { "session_token",
	    "INSERT INTO session_token (jti, sid, expires_at)"
	    " SELECT $1, sid, to_timestamp($3::bigint) FROM signin_session"
	    " WHERE sid = $2 AND revoked_at IS NULL RETURNING 1", "tti" },
	/*
	 * A few sessions that started more than $1 seconds ago, long past
	 * their end, with their tokens (all expired).
	 */
	[ST_SESSION_PRUNE] = { "session_prune",
	    "DELETE FROM signin_session WHERE sid IN ("
	    " SELECT sid FROM signin_session"
	    " WHERE started_at < now() - make_interval(secs => $1::bigint)"
	    " ORDER BY started_at LIMIT 16 FOR UPDATE SKIP LOCKED)", "i" },
};

json_t *
col_str(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? json_null() :
	    json_string(PQgetvalue(res, row, col));
}

const char *
col_text(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

json_t *
col_enum(const PGresult *res, int row, int col, const char *const *names,
    int n)
{
	int	 v;

	if (PQgetisnull(res, row, col))
		return json_null();
	v = atoi(PQgetvalue(res, row, col));
	return json_string(v >= 0 && v < n ? names[v] : "Unknown");
}

int
col_int(const PGresult *res, int row, int col)
{
	return atoi(PQgetvalue(res, row, col));
}

json_t *
col_bigint(const PGresult *res, int row, int col)
{
	long long	 v;
	const char	*errstr;

	if (PQgetisnull(res, row, col) || hs_strtonum(PQgetvalue(res, row,
	    col), LLONG_MIN, LLONG_MAX, &v, &errstr) != 0)
		return json_null();
	return json_integer((json_int_t)v);
}

json_t *
col_bool(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return json_null();
	return json_boolean(PQgetvalue(res, row, col)[0] == 't');
}

json_t *
db_row(const PGresult *res, int row, const struct db_field *f, size_t n)
{
	json_t	*o = json_object(), *v;
	size_t	 i;

	for (i = 0; i < n; i++) {
		switch (f[i].kind) {
		case DB_STR:
			v = col_str(res, row, f[i].col);
			break;
		case DB_INT:
			v = col_bigint(res, row, f[i].col);
			break;
		case DB_BOOL:
			v = col_bool(res, row, f[i].col);
			break;
		case DB_ENUM:
			v = col_enum(res, row, f[i].col, f[i].names, f[i].n);
			break;
		default:
			v = json_null();
			break;
		}
		json_object_set_new(o, f[i].name, v);
	}
	return o;
}

void
db_row_text(struct hs_jw *w, const PGresult *res, int row,
    const struct db_field *f, size_t n)
{
	const char	*v, *errstr;
	long long	 ll;
	size_t		 i;
	int		 e;

	for (i = 0; i < n; i++) {
		hs_jw_raw(w, i == 0 ? "{" : ",", 1);
		hs_jw_key(w, f[i].name);
		if (PQgetisnull(res, row, f[i].col)) {
			hs_jw_raw(w, "null", 4);
			continue;
		}
		v = PQgetvalue(res, row, f[i].col);
		switch (f[i].kind) {
		case DB_STR:
			hs_jw_str(w, v);
			break;
		case DB_INT:
			if (hs_strtonum(v, LLONG_MIN, LLONG_MAX, &ll,
			    &errstr) == 0)
				hs_jw_int(w, ll);
			else
				hs_jw_raw(w, "null", 4);
			break;
		case DB_BOOL:
			hs_jw_lit(w, v[0] == 't' ? "true" : "false");
			break;
		case DB_ENUM:
			e = atoi(v);
			hs_jw_str(w, e >= 0 && e < f[i].n ? f[i].names[e] :
			    "Unknown");
			break;
		default:
			hs_jw_raw(w, "null", 4);
			break;
		}
	}
	hs_jw_raw(w, n == 0 ? "{}" : "}", n == 0 ? 2 : 1);
}

char *
db_uuid_array(const char *const *ids, size_t n)
{
	char	*lit;
	size_t	 i, o = 0;

	lit = hs_xmalloc(n * (HS_UUID_LEN + 1) + 3);
	lit[o++] = '{';
	for (i = 0; i < n; i++) {
		if (ids[i] == NULL || !hs_is_uuid(ids[i])) {
			free(lit);
			return NULL;
		}
		if (i > 0)
			lit[o++] = ',';
		memcpy(lit + o, ids[i], HS_UUID_LEN);
		o += HS_UUID_LEN;
	}
	lit[o++] = '}';
	lit[o] = '\0';
	return lit;
}
