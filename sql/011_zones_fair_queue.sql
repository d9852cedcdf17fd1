-- SPDX-License-Identifier: ISC
-- Scheduler zones, the fair queue, and vacuuming the queue tables
-- (issue 12).

-- The network segment a credential's hosts sit in: only a scheduler that
-- serves the zone claims them (src/sched/store.c, the claim).
ALTER TABLE credential
	ADD COLUMN zone text NOT NULL DEFAULT 'default'
		CHECK (zone ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$');

-- The running schedulers: each one writes its row every two seconds
-- (last_seen) and deletes it when it stops.  A scheduler seen within the
-- last ten seconds is running; the zones no running scheduler serves are
-- what a queued host's status description names.  Rows of schedulers that
-- died are pruned after a day.
CREATE TABLE scheduler (
	instance	text PRIMARY KEY CHECK (length(instance) BETWEEN 1 AND 127),
	zones		text[] NOT NULL,
	workers		integer NOT NULL,
	started_at	timestamptz NOT NULL DEFAULT now(),
	last_seen	timestamptz NOT NULL DEFAULT now()
);

-- The fair queue: a host's ord is how many hosts of its job come before
-- it, so taking the lowest ord first serves every job with queued hosts
-- in turn (round-robin across jobs), whatever their size and age.
CREATE INDEX host_scan_host_fair ON host_scan_host (ord, time_created)
	WHERE state = 0;
DROP INDEX host_scan_host_queued;

-- The queue tables churn: every host is inserted, claimed and finished
-- (three row versions), and scan_log gets a few rows per attempt.  Vacuum
-- them after a fixed number of dead rows, not a share of a table that may
-- hold millions of finished ones, and without throttling.
ALTER TABLE host_scan_host SET (autovacuum_vacuum_scale_factor = 0,
	autovacuum_vacuum_threshold = 5000,
	autovacuum_vacuum_insert_scale_factor = 0,
	autovacuum_vacuum_insert_threshold = 20000,
	autovacuum_analyze_scale_factor = 0.02,
	autovacuum_vacuum_cost_delay = 0);
ALTER TABLE scan_log SET (autovacuum_vacuum_scale_factor = 0,
	autovacuum_vacuum_threshold = 5000,
	autovacuum_vacuum_insert_scale_factor = 0,
	autovacuum_vacuum_insert_threshold = 50000,
	autovacuum_vacuum_cost_delay = 0);
ALTER TABLE scheduler SET (autovacuum_vacuum_scale_factor = 0,
	autovacuum_vacuum_threshold = 100);

-- Rights.  The scheduler keeps its own row and reads the others' (the
-- zones served); the responder needs neither.
GRANT SELECT, INSERT, UPDATE, DELETE ON scheduler TO hostscan_sched;
