-- SPDX-License-Identifier: ISC
-- The latest scan of a host record (GET /HostScanJob/ByHostId/{hostId}) and
-- the scans of one host, without a scan of the whole queue table.
CREATE INDEX host_scan_host_by_host ON host_scan_host (host_id, time_created DESC)
	WHERE host_id IS NOT NULL;
