-- SPDX-License-Identifier: ISC
-- A POST no longer wakes the schedulers with a NOTIFY.  The statement
-- trigger of sql/002 made every committing POST take PostgreSQL's
-- database-wide notify lock and hold it through its WAL flush, so all
-- POST commits ran one after another.  The schedulers poll the queue
-- instead (HSD_POLL_MS): on an empty queue a claim is one probe of the
-- partial index of queued hosts (host_scan_host_fair, sql/011).  Rows put back into the queue
-- (reaper, release) still notify: those are rare.
DROP TRIGGER host_scan_host_notify_insert ON host_scan_host;
