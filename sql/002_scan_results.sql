-- SPDX-License-Identifier: ISC
-- hostscan schema, phase 2: what hostscand collects about a host, and the
-- queue's wake-up.  Applied by `hostscanctl migrate` in one transaction.

-- A host known only by its address is one record too: two scans of it at
-- once must meet in ON CONFLICT, not create two hosts.
CREATE UNIQUE INDEX host_ip_unique ON host (ip_address)
	WHERE dns_host_name IS NULL;

-- Scanned data.  Each table is tied to the durable host record and to the
-- scan that produced its rows; a successful scan replaces the host's rows
-- of every section it collected, in the transaction that records the
-- result.  ord keeps the order the target listed them in.
CREATE TABLE host_user (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	host_id			uuid NOT NULL REFERENCES host(id) ON DELETE CASCADE,
	host_scan_host_id	uuid REFERENCES host_scan_host(id) ON DELETE SET NULL,
	ord			integer NOT NULL,
	name			text NOT NULL,
	display_name		text,		-- first GECOS field
	unix_id			bigint,
	unix_group_id		bigint,
	home_directory		text,
	shell			text,
	-- the API's privilege names: SuperUser (uid 0 or member of sudo,
	-- wheel or admin), LinuxUser
	privilege		text NOT NULL DEFAULT 'NotSet',
	-- from the shadow dates when readable; never the hash
	password_changed_at	timestamptz,
	password_expires_at	timestamptz,
	is_disabled		boolean,	-- NULL: shadow not readable
	scanned_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX host_user_host ON host_user (host_id, ord);
CREATE INDEX host_user_scan ON host_user (host_scan_host_id);

CREATE TABLE host_group (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	host_id			uuid NOT NULL REFERENCES host(id) ON DELETE CASCADE,
	host_scan_host_id	uuid REFERENCES host_scan_host(id) ON DELETE SET NULL,
	ord			integer NOT NULL,
	name			text NOT NULL,
	unix_id			bigint,
	scanned_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX host_group_host ON host_group (host_id, ord);
CREATE INDEX host_group_scan ON host_group (host_scan_host_id);

-- Members as the group file lists them (is_primary false) and users whose
-- primary group it is (is_primary true).  user_id is NULL for a listed
-- name that is not a user of the host.
CREATE TABLE host_group_member (
	group_id		uuid NOT NULL REFERENCES host_group(id) ON DELETE CASCADE,
	user_id			uuid REFERENCES host_user(id) ON DELETE CASCADE,
	user_name		text NOT NULL,
	is_primary		boolean NOT NULL DEFAULT false,
	PRIMARY KEY (group_id, user_name, is_primary)
);
CREATE INDEX host_group_member_user ON host_group_member (user_id);

CREATE TABLE host_service (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	host_id			uuid NOT NULL REFERENCES host(id) ON DELETE CASCADE,
	host_scan_host_id	uuid REFERENCES host_scan_host(id) ON DELETE SET NULL,
	ord			integer NOT NULL,
	name			text NOT NULL,		-- unit name
	display_name		text,
	description		text,
	start_type		text,	-- Boot, System, Automatic, Manual, Disabled
	user_name		text,
	binary_path_name	text,	-- ExecStart
	scanned_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX host_service_host ON host_service (host_id, ord);

CREATE TABLE host_scheduled_task (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	host_id			uuid NOT NULL REFERENCES host(id) ON DELETE CASCADE,
	host_scan_host_id	uuid REFERENCES host_scan_host(id) ON DELETE SET NULL,
	ord			integer NOT NULL,
	name			text NOT NULL,	-- timer unit, or the cron command
	task_path		text,		-- unit file or crontab
	user_name		text,
	description		text,		-- the schedule
	source			text,		-- cron, systemd-timer
	next_run_at		timestamptz,
	last_run_at		timestamptz,
	scanned_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX host_scheduled_task_host ON host_scheduled_task (host_id, ord);

CREATE TABLE host_software (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	host_id			uuid NOT NULL REFERENCES host(id) ON DELETE CASCADE,
	host_scan_host_id	uuid REFERENCES host_scan_host(id) ON DELETE SET NULL,
	ord			integer NOT NULL,
	name			text NOT NULL,
	version			text,
	description		text,
	scanned_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX host_software_host ON host_software (host_id, ord);

-- Replaced wholesale on every scan: vacuum them early.
ALTER TABLE host_user SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE host_group SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE host_group_member SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE host_service SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE host_scheduled_task SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE host_software SET (autovacuum_vacuum_scale_factor = 0.05);

-- Wake-up for the schedulers (LISTEN hostscan_queue).  Only a hint: they
-- also poll.  One notification per inserting statement, one per row put
-- back into the queue (reaper, release); duplicates within a transaction
-- are folded by PostgreSQL.
CREATE FUNCTION hs_queue_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('hostscan_queue', '');
	RETURN NULL;
END
$$;

CREATE TRIGGER host_scan_host_notify_insert
	AFTER INSERT ON host_scan_host
	FOR EACH STATEMENT EXECUTE FUNCTION hs_queue_notify();
CREATE TRIGGER host_scan_host_notify_requeue
	AFTER UPDATE OF state ON host_scan_host
	FOR EACH ROW WHEN (NEW.state = 0 AND OLD.state <> 0)
	EXECUTE FUNCTION hs_queue_notify();

-- Rights.  The scheduler replaces scanned rows; the API reads them, and
-- trusts a discovered key on an admin's word (PUT .../Trust).
GRANT SELECT, INSERT, UPDATE, DELETE ON host_user, host_group,
	host_group_member, host_service, host_scheduled_task, host_software
	TO hostscan_sched;
GRANT SELECT ON host_user, host_group, host_group_member, host_service,
	host_scheduled_task, host_software TO hostscan_api;
GRANT UPDATE (trusted_key_type, trusted_key, trusted_fingerprint)
	ON host TO hostscan_api;
