-- SPDX-License-Identifier: ISC
-- hostscan schema, phase 1.  Applied by `hostscanctl migrate` in one
-- transaction; the migration table itself is created by hostscanctl.

-- Roles: the responder may insert jobs and read; the scheduler updates scan
-- state and writes results.  Both log in; how they authenticate (peer,
-- password, certificate) is the operator's pg_hba.conf business.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hostscan_api') THEN
		CREATE ROLE hostscan_api LOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hostscan_sched') THEN
		CREATE ROLE hostscan_sched LOGIN;
	END IF;
END
$$;

ALTER ROLE hostscan_api SET statement_timeout = '10s';
ALTER ROLE hostscan_api SET idle_in_transaction_session_timeout = '30s';
ALTER ROLE hostscan_sched SET statement_timeout = '30s';
ALTER ROLE hostscan_sched SET idle_in_transaction_session_timeout = '60s';

-- RFC 3339 UTC with microseconds, as every timestamp leaves the API.
CREATE FUNCTION hs_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

CREATE TABLE platform (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name		text NOT NULL UNIQUE,
	is_windows	boolean NOT NULL DEFAULT false
);

-- The product's default platforms.
INSERT INTO platform (name, is_windows) VALUES
	('Linux', false), ('Windows', true), ('Cisco', false),
	('Juniper', false), ('macOS', false), ('AIX', false),
	('Solaris', false), ('HP-UX', false), ('FreeBSD', false),
	('Palo Alto', false), ('F5', false), ('VMware ESXi', false);

CREATE TABLE credential (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name		text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 1024),
	username	text NOT NULL CHECK (length(username) BETWEEN 1 AND 256),
	kind		text NOT NULL CHECK (kind IN ('password', 'private_key')),
	key_id		text NOT NULL,		-- master key that sealed it
	secret		bytea NOT NULL,		-- nonce || secretbox
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- The durable host record a scan creates or updates (phase 2 fills it).
CREATE TABLE host (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name			text,
	dns_host_name		text,
	ip_address		text,
	os			text,
	version			text,
	ssh_port		integer NOT NULL DEFAULT 22,
	platform_id		uuid REFERENCES platform(id),
	credential_id		uuid REFERENCES credential(id) ON DELETE SET NULL,
	trusted_key_type	text,
	trusted_key		text,
	trusted_fingerprint	text,
	last_scan_start_at	timestamptz,
	last_scan_at		timestamptz,
	host_connected		boolean NOT NULL DEFAULT false,
	created_at		timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX host_dns_key ON host (lower(dns_host_name)) WHERE dns_host_name IS NOT NULL;
CREATE INDEX host_ip_key ON host (ip_address) WHERE dns_host_name IS NULL;

CREATE TABLE host_scan_job (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	created_by		text NOT NULL,
	created_by_user_name	text,
	created_from_address	text,
	idempotency_key		text,
	cancel_requested	boolean NOT NULL DEFAULT false,
	created_at		timestamptz NOT NULL DEFAULT clock_timestamp(),
	modified_at		timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Keyset paging, newest first.
CREATE INDEX host_scan_job_page ON host_scan_job (created_at DESC, id DESC);

-- One row per requested host: the request, and the queue row of its scan.
-- state and failure_reason are positions in the ActionStatus and
-- ActionFailureReason enums of the API contract.
CREATE TABLE host_scan_host (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	job_id			uuid NOT NULL REFERENCES host_scan_job(id) ON DELETE CASCADE,
	ord			integer NOT NULL,
	dns_host_name		text,
	ip_address		text,
	os			text,
	credential_id		uuid NOT NULL REFERENCES credential(id),
	platform_id		uuid REFERENCES platform(id),
	accept_first		boolean NOT NULL DEFAULT false,
	trust_action		smallint CHECK (trust_action BETWEEN 0 AND 2),
	certificate_type	smallint CHECK (certificate_type BETWEEN 0 AND 2),
	trusted_thumbprint	text,
	ssh_port		integer NOT NULL CHECK (ssh_port BETWEEN 1 AND 65535),
	source			text,
	-- queue
	action_queue_id		uuid NOT NULL DEFAULT gen_random_uuid(),
	state			smallint NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 10),
	attempt			integer NOT NULL DEFAULT 0,
	locked_by		text,
	lease_until		timestamptz,
	not_before		timestamptz,
	time_created		timestamptz NOT NULL DEFAULT clock_timestamp(),
	time_started		timestamptz,
	time_finished		timestamptz,
	-- result
	host_id			uuid REFERENCES host(id) ON DELETE SET NULL,
	name			text,
	version			text,
	status_description	text,
	failure_reason		smallint NOT NULL DEFAULT 0 CHECK (failure_reason BETWEEN 0 AND 11),
	discovered_key_type	text,
	discovered_key		text,
	discovered_fingerprint	text,
	CHECK (dns_host_name IS NOT NULL OR ip_address IS NOT NULL),
	UNIQUE (job_id, ord)
);
-- The queue: only queued rows, oldest first.
CREATE INDEX host_scan_host_queued ON host_scan_host (time_created) WHERE state = 0;
CREATE INDEX host_scan_host_running ON host_scan_host (lease_until) WHERE state = 1;
-- Keep the hot table small and vacuumed.
ALTER TABLE host_scan_host SET (autovacuum_vacuum_scale_factor = 0.02,
	autovacuum_analyze_scale_factor = 0.02, fillfactor = 80);

CREATE TABLE scan_log (
	id			bigserial PRIMARY KEY,
	host_scan_host_id	uuid NOT NULL REFERENCES host_scan_host(id) ON DELETE CASCADE,
	attempt			integer NOT NULL,
	at			timestamptz NOT NULL DEFAULT clock_timestamp(),
	level			text NOT NULL CHECK (level IN ('info', 'warning', 'error')),
	step			text NOT NULL,
	message			text NOT NULL
);
CREATE INDEX scan_log_host ON scan_log (host_scan_host_id, id);

-- Revoked tokens by jti; expires_at (when known) lets old rows be pruned.
CREATE TABLE revoked_token (
	jti		text PRIMARY KEY CHECK (length(jti) BETWEEN 1 AND 1024),
	revoked_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz
);

-- Rights.  The API never sees a credential's secret: column grants only.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO hostscan_api, hostscan_sched;
GRANT SELECT ON platform, host, host_scan_job, host_scan_host, scan_log,
	revoked_token TO hostscan_api;
GRANT SELECT (id, name, username, kind, created_at) ON credential TO hostscan_api;
GRANT INSERT ON host_scan_job, host_scan_host TO hostscan_api;
-- Cancellation (phase 2) and trust (phase 2) update a few columns.
GRANT UPDATE (cancel_requested, modified_at) ON host_scan_job TO hostscan_api;
GRANT UPDATE (state, status_description, failure_reason, time_finished)
	ON host_scan_host TO hostscan_api;

GRANT SELECT ON platform, credential, host_scan_job, revoked_token TO hostscan_sched;
GRANT SELECT, UPDATE ON host_scan_host TO hostscan_sched;
GRANT UPDATE (modified_at) ON host_scan_job TO hostscan_sched;
GRANT SELECT, INSERT, UPDATE ON host TO hostscan_sched;
GRANT SELECT, INSERT ON scan_log TO hostscan_sched;
GRANT USAGE ON SEQUENCE scan_log_id_seq TO hostscan_sched;
