/* SPDX-License-Identifier: ISC */
/*
 * scheduler list: the schedulers that have a row in the scheduler table
 * (sql/011), whether each is running (seen within HS_SCHED_LIVE_S), the
 * zones it serves and the hosts it holds now.  What an operator reads
 * when a host waits for a zone.
 */
#include <stdio.h>

#include <libpq-fe.h>

#include "common.h"
#include "ctl.h"

#define TS(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* Running ones first, then by name; the hosts each one is scanning. */
static const char sql_scheduler_list[] =
    "SELECT s.instance,"
    " s.last_seen > now() - make_interval(secs => "
    HS_STR(HS_SCHED_LIVE_S) ") AS running,"
    " array_to_string(s.zones, ','), s.workers,"
    " (SELECT count(*) FROM host_scan_host h"
    "  WHERE h.state = 1 AND h.locked_by = s.instance),"
    " " TS("s.started_at") ", " TS("s.last_seen") " "
    "FROM scheduler s ORDER BY 2 DESC, s.instance";
#undef TS

static int
scheduler_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_col cols[] = {
		{ "INSTANCE", "instance", 0, CTL_COL_TEXT, NULL },
		{ "RUNNING", "running", 1, CTL_COL_BOOL, NULL },
		{ "ZONES", "zones", 2, CTL_COL_TEXT, NULL },
		{ "WORKERS", "workers", 3, CTL_COL_INT, NULL },
		{ "SCANNING", "scanning", 4, CTL_COL_INT, NULL },
		{ "STARTED", "startedAt", 5, CTL_COL_TEXT, NULL },
		{ "LAST_SEEN", "lastSeenAt", 6, CTL_COL_TEXT, NULL },
	};
	static const struct ctl_list list = { "scheduler list", cols,
	    sizeof(cols) / sizeof(cols[0]), 0 };
	int	 json = 0, rc;

	if (ctl_operands(list.cmd, argc, argv, 0, NULL, &json, &rc) == NULL)
		return rc;
	return ctl_list_query(ctl, &list, sql_scheduler_list, 0, NULL, json);
}

int
ctl_scheduler(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "list", scheduler_list },
	};

	return ctl_subcommand(ctl, "scheduler", subs,
	    sizeof(subs) / sizeof(subs[0]), argc, argv);
}
