-- SPDX-License-Identifier: ISC
-- A queued host's references to its job, credential and platform, checked
-- once per statement instead of once per row.  As foreign keys the three
-- looked up one row each per inserted host: 30 000 lookups for a
-- 10 000-host POST, about a quarter of its INSERT.  The triggers below keep
-- what the keys guaranteed:
--  * an INSERT's new rows name jobs, credentials and platforms that exist:
--    each distinct one is looked up once and locked FOR KEY SHARE, as a
--    foreign key's check locks it, so that a concurrent DELETE of it waits
--    for the inserting transaction and then sees its rows, or the INSERT
--    waits for the DELETE and then fails (SQLSTATE 23503 either way);
--  * a host row's job, credential and platform never change (hostscan
--    never changes them; the scheduler's updates do not name them, so the
--    trigger costs them nothing);
--  * a credential or platform still named by a host row is not deleted
--    (23503, as before: `hostscanctl credential rm` says it is in use);
--  * deleting a job deletes its host rows (was ON DELETE CASCADE).
-- The delete checks read the rows other transactions have committed, as
-- every statement does under READ COMMITTED, which all of hostscan's
-- connections use.  The functions run as their owner: a foreign key's
-- check needs no privilege of the inserting role either, and the
-- responder may read only some of credential's columns.

ALTER TABLE host_scan_host
	DROP CONSTRAINT host_scan_host_job_id_fkey,
	DROP CONSTRAINT host_scan_host_credential_id_fkey,
	DROP CONSTRAINT host_scan_host_platform_id_fkey;

CREATE FUNCTION hs_host_refs_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
	jobs	uuid[];
	creds	uuid[];
	plats	uuid[];
	n	bigint;
BEGIN
	SELECT array_agg(DISTINCT job_id), array_agg(DISTINCT credential_id),
	    array_agg(DISTINCT platform_id) FILTER (WHERE platform_id IS NOT NULL)
	    INTO jobs, creds, plats FROM hs_new_hosts;
	PERFORM FROM host_scan_job WHERE id = ANY (jobs) FOR KEY SHARE;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n <> coalesce(cardinality(jobs), 0) THEN
		RAISE EXCEPTION 'a host row names a job that does not exist'
		    USING ERRCODE = 'foreign_key_violation';
	END IF;
	PERFORM FROM credential WHERE id = ANY (creds) FOR KEY SHARE;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n <> coalesce(cardinality(creds), 0) THEN
		RAISE EXCEPTION 'a host row names a credential that does not exist'
		    USING ERRCODE = 'foreign_key_violation';
	END IF;
	PERFORM FROM platform WHERE id = ANY (plats) FOR KEY SHARE;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n <> coalesce(cardinality(plats), 0) THEN
		RAISE EXCEPTION 'a host row names a platform that does not exist'
		    USING ERRCODE = 'foreign_key_violation';
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER host_scan_host_refs_insert AFTER INSERT ON host_scan_host
	REFERENCING NEW TABLE AS hs_new_hosts
	FOR EACH STATEMENT EXECUTE FUNCTION hs_host_refs_insert();

CREATE FUNCTION hs_host_refs_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'a host row''s job, credential and platform do not change'
	    USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER host_scan_host_refs_fixed
	BEFORE UPDATE OF job_id, credential_id, platform_id ON host_scan_host
	FOR EACH ROW WHEN (OLD.job_id IS DISTINCT FROM NEW.job_id
	    OR OLD.credential_id IS DISTINCT FROM NEW.credential_id
	    OR OLD.platform_id IS DISTINCT FROM NEW.platform_id)
	EXECUTE FUNCTION hs_host_refs_fixed();

-- TG_ARGV[0]: the host_scan_host column that names the deleted row.
CREATE FUNCTION hs_host_ref_in_use() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
	used	boolean;
BEGIN
	EXECUTE format('SELECT EXISTS (SELECT FROM host_scan_host WHERE %I = $1)',
	    TG_ARGV[0]) INTO used USING OLD.id;
	IF used THEN
		RAISE EXCEPTION '% % is used by queued or past scans',
		    TG_TABLE_NAME, OLD.id USING ERRCODE = 'foreign_key_violation';
	END IF;
	IF TG_OP = 'DELETE' THEN
		RETURN OLD;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER credential_in_use BEFORE DELETE ON credential
	FOR EACH ROW EXECUTE FUNCTION hs_host_ref_in_use('credential_id');
CREATE TRIGGER credential_id_in_use BEFORE UPDATE OF id ON credential
	FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
	EXECUTE FUNCTION hs_host_ref_in_use('credential_id');
CREATE TRIGGER platform_in_use BEFORE DELETE ON platform
	FOR EACH ROW EXECUTE FUNCTION hs_host_ref_in_use('platform_id');
CREATE TRIGGER platform_id_in_use BEFORE UPDATE OF id ON platform
	FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
	EXECUTE FUNCTION hs_host_ref_in_use('platform_id');

CREATE FUNCTION hs_job_delete_hosts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
	DELETE FROM host_scan_host WHERE job_id IN (SELECT id FROM hs_old_jobs);
	RETURN NULL;
END $$;
CREATE TRIGGER host_scan_job_delete_hosts AFTER DELETE ON host_scan_job
	REFERENCING OLD TABLE AS hs_old_jobs
	FOR EACH STATEMENT EXECUTE FUNCTION hs_job_delete_hosts();
CREATE TRIGGER host_scan_job_id_fixed BEFORE UPDATE OF id ON host_scan_job
	FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
	EXECUTE FUNCTION hs_host_ref_in_use('job_id');
