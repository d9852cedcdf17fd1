/* SPDX-License-Identifier: ISC */
/*
 * job watch: follows the hosts of one job until every one of them has
 * ended.  On a terminal the table is redrawn in place under a progress
 * bar; into a pipe or file only the changes of state are written, so the
 * output stays a log a script can read.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "common.h"
#include "ctl.h"

#define WATCH_INTERVAL_MAX	3600
/* A job holds at most max_hosts_per_request hosts; this is a backstop. */
#define WATCH_HOSTS_MAX		1000000
#define WATCH_NAME_MAX		80	/* bytes of a host's label */
#define WATCH_DESC_MAX		400	/* bytes of a statusDescription */
#define WATCH_LINE_MAX		1024

static const char sql_job_exists[] =
    "SELECT 1 FROM host_scan_job WHERE id = $1::uuid";
static const char sql_job_hosts[] =
    "SELECT ord, coalesce(dns_host_name, ''), coalesce(ip_address, ''),"
    " ssh_port, state, failure_reason, coalesce(status_description, '')"
    " FROM host_scan_host WHERE job_id = $1::uuid ORDER BY ord LIMIT $2";

struct whost {
	char	 label[WATCH_NAME_MAX + 1];
	char	 desc[WATCH_DESC_MAX + 1];
	int	 state;
	int	 reason;
};

struct snapshot {
	struct whost	*h;
	size_t		 n;
};

static int
is_final(int state)
{
	return state == HS_COMPLETE || state == HS_FAILED ||
	    state == HS_CANCELLED || state == HS_COMPLETED_WITH_ERRORS ||
	    state == HS_COMPLETED_NOT_RUN;
}

static int
is_failure(int state)
{
	return state == HS_FAILED || state == HS_COMPLETED_WITH_ERRORS;
}

static const char *
state_name(int s)
{
	return s >= 0 && s < HS_N_ACTION_STATUS ?
	    hs_action_status_names[s] : "?";
}

static const char *
reason_name(int r)
{
	return r >= 0 && r < HS_N_FAILURE_REASON ?
	    hs_failure_reason_names[r] : "?";
}

/* Columns of s on the terminal: one per character, which is near enough. */
static size_t
text_cols(const char *s)
{
	return hs_utf8_chars(s, strlen(s));
}

static void
snapshot_free(struct snapshot *s)
{
	free(s->h);
	s->h = NULL;
	s->n = 0;
}

/* -1 on a database error (said), else 0 with the hosts in *s. */
static int
fetch(PGconn *conn, const char *job, struct snapshot *s)
{
	PGresult	*res = NULL;
	const char	*params[2], *errstr, *dns, *ip;
	char		 limit[32], err[512], label[WATCH_NAME_MAX * 2];
	long long	 v;
	size_t		 i, n;
	int		 rc = -1;

	snprintf(limit, sizeof(limit), "%d", WATCH_HOSTS_MAX);
	params[0] = job;
	params[1] = limit;
	res = PQexecParams(conn, sql_job_hosts, 2, NULL, params, NULL, NULL,
	    0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ctl_warn("cannot read the hosts of job %s: %s", job,
		    ctl_db_error(conn, res, err, sizeof(err)));
		goto out;
	}
	n = (size_t)PQntuples(res);
	snapshot_free(s);
	if (n > 0)
		s->h = hs_xmalloc(n * sizeof(*s->h));
	for (i = 0; i < n; i++) {
		dns = PQgetvalue(res, (int)i, 1);
		ip = PQgetvalue(res, (int)i, 2);
		if (*dns != '\0' && *ip != '\0')
			snprintf(label, sizeof(label), "%s (%s:%s)", dns, ip,
			    PQgetvalue(res, (int)i, 3));
		else
			snprintf(label, sizeof(label), "%s:%s",
			    *dns != '\0' ? dns : ip,
			    PQgetvalue(res, (int)i, 3));
		/*
		 * Descriptions quote what remote hosts said: no byte of
		 * them may reach the terminal as a control sequence.
		 */
		hs_utf8_clean(s->h[i].label, sizeof(s->h[i].label), label);
		hs_utf8_clean(s->h[i].desc, sizeof(s->h[i].desc),
		    PQgetvalue(res, (int)i, 6));
		s->h[i].state = hs_strtonum(PQgetvalue(res, (int)i, 4), 0,
		    HS_N_ACTION_STATUS - 1, &v, &errstr) == 0 ? (int)v : -1;
		s->h[i].reason = hs_strtonum(PQgetvalue(res, (int)i, 5), 0,
		    HS_N_FAILURE_REASON - 1, &v, &errstr) == 0 ? (int)v : -1;
	}
	s->n = n;
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/* 1 when the job exists, 0 when not, -1 on a database error (said). */
static int
job_exists(PGconn *conn, const char *job)
{
	PGresult	*res;
	const char	*params[1] = { job };
	char		 err[512];
	int		 rc;

	res = PQexecParams(conn, sql_job_exists, 1, NULL, params, NULL, NULL,
	    0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ctl_warn("cannot read job %s: %s", job,
		    ctl_db_error(conn, res, err, sizeof(err)));
		rc = -1;
	} else
		rc = PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

static int
label_width(const struct snapshot *s)
{
	size_t	 i, w = 4, c;

	for (i = 0; i < s->n; i++)
		if ((c = text_cols(s->h[i].label)) > w)
			w = c;
	return (int)(w > 50 ? 50 : w);
}

static void
host_line(char *buf, size_t size, const struct whost *h, int lw)
{
	int	 pad = lw - (int)text_cols(h->label);

	size_t	 len;

	snprintf(buf, size, "%s%*s  %-10s %-16s %s", h->label,
	    pad > 0 ? pad : 0, "", state_name(h->state),
	    reason_name(h->reason), h->desc);
	/* Padding before an empty description is not output. */
	for (len = strlen(buf); len > 0 && buf[len - 1] == ' '; len--)
		buf[len - 1] = '\0';
}

struct tally {
	size_t	 done, failed, complete, cancelled;
};

static void
count(const struct snapshot *s, struct tally *t)
{
	size_t	 i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < s->n; i++) {
		if (!is_final(s->h[i].state))
			continue;
		t->done++;
		if (is_failure(s->h[i].state))
			t->failed++;
		else if (s->h[i].state == HS_CANCELLED)
			t->cancelled++;
		else
			t->complete++;
	}
}

/*
 * Redraws the table from the line the previous draw began on.  Lines are
 * cut to the terminal width so that none wraps: the cursor-up count has
 * to equal the lines drawn.
 */
static size_t
draw_tty(const char *job, const struct snapshot *s, size_t prev_lines)
{
	struct winsize	 ws;
	struct tally	 t;
	char		 line[WATCH_LINE_MAX];
	size_t		 cols = 80, rows = 24, i, show, lines = 0, barw, fill;
	int		 lw = label_width(s);

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		cols = ws.ws_col;
		rows = ws.ws_row > 3 ? ws.ws_row : 3;
	}
	if (cols >= sizeof(line))
		cols = sizeof(line) - 1;
	if (prev_lines > 0)
		printf("\r\033[%zuA", prev_lines);
	count(s, &t);
	barw = cols > 60 ? 30 : cols > 30 ? cols - 30 : 1;
	fill = s->n > 0 ? t.done * barw / s->n : barw;
	snprintf(line, sizeof(line), "job %s [", job);
	for (i = 0; i < barw && strlen(line) + 2 < sizeof(line); i++)
		strcat(line, i < fill ? "#" : ".");
	snprintf(line + strlen(line), sizeof(line) - strlen(line),
	    "] %zu/%zu done, %zu failed", t.done, s->n, t.failed);
	hs_utf8_cut(line, cols - 1);
	printf("%s\033[K\n", line);
	lines++;
	/* A long job gets as many rows as the terminal has, then a count. */
	show = s->n;
	if (show > rows - 2)
		show = rows - 3;
	for (i = 0; i < show; i++) {
		host_line(line, sizeof(line), &s->h[i], lw);
		hs_utf8_cut(line, cols - 1);
		printf("%s\033[K\n", line);
		lines++;
	}
	if (show < s->n) {
		printf("... and %zu more hosts\033[K\n", s->n - show);
		lines++;
	}
	/* What an earlier, longer draw left below. */
	if (lines < prev_lines)
		printf("\033[J");
	fflush(stdout);
	return lines;
}

/* Lines for the hosts whose state differs from the previous poll's. */
static void
print_changes(const struct snapshot *prev, const struct snapshot *cur)
{
	char	 line[WATCH_LINE_MAX];
	size_t	 i;
	int	 lw = label_width(cur);

	for (i = 0; i < cur->n; i++) {
		if (i < prev->n && prev->h[i].state == cur->h[i].state)
			continue;
		host_line(line, sizeof(line), &cur->h[i], lw);
		puts(line);
	}
	fflush(stdout);
}

static void
sleep_seconds(long long secs)
{
	struct timespec	 ts = { .tv_sec = (time_t)secs, .tv_nsec = 0 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
job_watch(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*errstr;
	char		 job[HS_UUID_LEN + 1];
	long long	 interval = 1;
	size_t		 i;
	int		 ch;

	while ((ch = getopt_long(argc, argv, ":i:h", opts, NULL)) != -1)
		switch (ch) {
		case 'i':
			if (hs_strtonum(optarg, 1, WATCH_INTERVAL_MAX,
			    &interval, &errstr) == -1)
				return ctl_usage_err("job watch: --interval "
				    "is %s (1 to %d seconds)", errstr,
				    WATCH_INTERVAL_MAX);
			break;
		default:
			return ctl_option_default("job watch", ch, argc, argv);
		}
	if (optind + 1 != argc)
		return ctl_usage_err("job watch: give one job ID");
	if (strlen(argv[optind]) != HS_UUID_LEN)
		return ctl_usage_err("job watch: the job ID is a uuid");
	for (i = 0; i <= HS_UUID_LEN; i++)
		job[i] = (char)tolower((unsigned char)argv[optind][i]);
	if (!hs_is_uuid(job))
		return ctl_usage_err("job watch: the job ID is a uuid");
	return ctl_watch(ctl, job, interval);
}

/* Also what import-csv --watch runs on the job it submitted. */
int
ctl_watch(struct ctl *ctl, const char *job, long long interval)
{
	PGconn		*conn = NULL;
	struct snapshot	 prev = { NULL, 0 }, cur = { NULL, 0 }, tmp;
	struct tally	 t;
	size_t		 drawn = 0;
	int		 tty, rc = CTL_ERR, failures = 0;

	tty = isatty(STDOUT_FILENO);
	if ((conn = ctl_db_connect(ctl)) == NULL)
		goto out;
	switch (job_exists(conn, job)) {
	case 0:
		ctl_warn("job watch: no job %s", job);
		rc = CTL_NO_JOB;
		goto out;
	case 1:
		break;
	default:
		goto out;
	}
	for (;;) {
		if (fetch(conn, job, &cur) == -1) {
			/*
			 * A restarted database is worth one new connection;
			 * a second failure in a row ends the watch.
			 */
			if (failures++ > 0 || PQstatus(conn) == CONNECTION_OK)
				goto out;
			sleep_seconds(interval);
			PQreset(conn);
			continue;
		}
		failures = 0;
		if (tty)
			drawn = draw_tty(job, &cur, drawn);
		else
			print_changes(&prev, &cur);
		count(&cur, &t);
		if (t.done == cur.n)
			break;
		tmp = prev;
		prev = cur;
		cur = tmp;
		sleep_seconds(interval);
	}
	printf("job %s: %zu hosts, %zu complete, %zu failed, %zu cancelled\n",
	    job, cur.n, t.complete, t.failed, t.cancelled);
	rc = t.failed > 0 ? CTL_ERR : CTL_OK;
out:
	snapshot_free(&prev);
	snapshot_free(&cur);
	if (conn != NULL)
		PQfinish(conn);
	return rc;
}

int
ctl_job(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "watch", job_watch },
	};

	return ctl_subcommand(ctl, "job", subs,
	    sizeof(subs) / sizeof(subs[0]), argc, argv);
}
