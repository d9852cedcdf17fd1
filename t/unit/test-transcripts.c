/* SPDX-License-Identifier: ISC */
/*
 * hostscand's inventory parser and encoder on what targets really print
 * (t/data/inventory-*.txt, t/data/README says where each comes from):
 * every value a table row gets, as the parser gives it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sched.h"
#include "tap.h"

#define MARKER	"@@hs-000000000000000000000000"
#define DAY	86400LL
#define NONE	(-1LL)
#define ALL	(INV_OS | INV_USERS | INV_GROUPS | INV_SHADOW | INV_SERVICES | \
		INV_TASKS | INV_PACKAGES)

/* A user row; pgroup names the primary group (NULL: none found). */
struct want_user {
	const char	*name;
	long long	 uid, gid;
	const char	*gecos, *home, *shell, *pgroup;
	int		 superuser, shadow, disabled;
	long long	 changed, expires;
};

/*
 * members: the listed names, comma-separated, "!" before a name that is
 * no user of the host.
 */
struct want_group {
	const char	*name;
	long long	 gid;
	const char	*members;
};

struct want_service {
	const char	*name, *description, *exec, *start_type, *user;
};

struct want_task {
	const char	*name, *path, *user, *description, *source;
	long long	 next_run, last_run;
};

struct want_package {
	const char	*name, *version, *description;
};

#define ROWS(a)		a, sizeof(a) / sizeof(a[0])

struct transcript {
	const char	*file, *what;
	unsigned	 have;
	const char	*os_name, *os_version, *os_pretty, *kernel, *hostname;
	size_t		 nusers, ngroups, nservices, ntasks, npackages;
	size_t		 nsuperusers;
	const char	*notes[4];		/* each must be among the notes */
	const struct want_user *users;
	size_t		 nwant_users;
	const struct want_group *groups;
	size_t		 nwant_groups;
	const struct want_service *services;
	size_t		 nwant_services;
	const struct want_task *tasks;
	size_t		 nwant_tasks;
	const struct want_package *packages;
	size_t		 nwant_packages;
};

/* ---- Debian 12, captured from an OpenSSH target (as root) ---- */

static const struct want_user debian_users[] = {
	{ "root", 0, 0, "root", "/root", "/bin/bash", "root", 1, 1, 0,
	    19500 * DAY, NONE },
	{ "daemon", 1, 1, "daemon", "/usr/sbin", "/usr/sbin/nologin",
	    "daemon", 0, 1, 1, 19500 * DAY, NONE },
	{ "sync", 4, 65534, "sync", "/bin", "/bin/sync", "nogroup", 0, 1, 0,
	    19500 * DAY, NONE },
	{ "_apt", 42, 65534, "", "/nonexistent", "/usr/sbin/nologin",
	    "nogroup", 0, 1, 1, 19500 * DAY, NONE },
	{ "cloudsdk", 1000, 1000, "", "/home/cloudsdk", "/bin/bash",
	    "cloudsdk", 0, 1, 0, 19500 * DAY, NONE },
	{ "postgres", 101, 104, "PostgreSQL administrator",
	    "/var/lib/postgresql", "/bin/bash", "postgres", 0, 1, 0,
	    19500 * DAY, NONE },
	{ "prometheus", 104, 106, "Prometheus daemon", "/var/lib/prometheus",
	    "/usr/sbin/nologin", "prometheus", 0, 1, 1, 19500 * DAY, NONE },
};
static const struct want_group debian_groups[] = {
	{ "root", 0, "" },
	{ "sudo", 27, "" },
	{ "ssl-cert", 103, "postgres" },
	{ "nogroup", 65534, "" },
};
static const struct want_service debian_services[] = {
	{ "ssh.service", "OpenBSD Secure Shell server",
	    "/usr/sbin/sshd -D $SSHD_OPTS", "Automatic", "root" },
	{ "sshd.service", "OpenBSD Secure Shell server",
	    "/usr/sbin/sshd -D $SSHD_OPTS", "Manual", "root" },
	{ "patroni.service",
	    "Runners to orchestrate a high-availability PostgreSQL",
	    "/usr/bin/patroni /etc/patroni/config.yml", "Automatic",
	    "postgres" },
	{ "systemd-timesyncd.service", "Network Time Synchronization",
	    "/lib/systemd/systemd-timesyncd", "Automatic", "systemd-timesync" },
	{ "systemd-exit.service", "Exit the Container", NULL, "Manual",
	    "root" },
	{ "x11-common.service", NULL, NULL, "Disabled", "root" },
};
static const struct want_task debian_tasks[] = {
	{ "man-db.timer", "/usr/lib/systemd/system/man-db.timer", "man",
	    "OnCalendar=daily", "systemd-timer", NONE, NONE },
	{ "systemd-tmpfiles-clean.timer",
	    "/usr/lib/systemd/system/systemd-tmpfiles-clean.timer", "root",
	    "OnBootSec=15min; OnUnitActiveSec=1d", "systemd-timer", NONE,
	    NONE },
	{ "test -e /run/systemd/system || SERVICE_MODE=1 /sbin/e2scrub_all "
	    "-A -r", "/etc/cron.d/e2scrub_all", "root", "10 3 * * *", "cron",
	    NONE, NONE },
	{ "man-db", "/etc/cron.weekly/man-db", "root",
	    "cron.weekly (run-parts)", "cron", NONE, NONE },
};
static const struct want_package debian_packages[] = {
	{ "adduser", "3.134", "add and remove users and groups" },
	{ "bash", "5.2.15-2+b8", "GNU Bourne Again SHell" },
	{ "openssh-server", "1:9.2p1-2+deb12u10", "secure shell (SSH) server, "
	    "for secure access from remote machines" },
	{ "zstd", "1.5.4+dfsg2-5", "fast lossless compression algorithm -- "
	    "CLI tool" },
};

/* ---- Rocky Linux 9.4, as a wheel member with sudo -n ---- */

static const struct want_user rocky_users[] = {
	{ "root", 0, 0, "root", "/root", "/bin/bash", "root", 1, 1, 1,
	    19850 * DAY, NONE },
	{ "games", 12, 100, "games", "/usr/games", "/sbin/nologin", "users",
	    0, 1, 0, 19469 * DAY, NONE },
	{ "nobody", 65534, 65534, "Kernel Overflow User", "/",
	    "/sbin/nologin", "nobody", 0, 1, 0, 19469 * DAY, NONE },
	{ "systemd-coredump", 999, 997, "systemd Core Dumper", "/",
	    "/sbin/nologin", "systemd-coredump", 0, 1, 1, 19850 * DAY, NONE },
	{ "rocky", 1000, 1000, "Cloud User", "/home/rocky", "/bin/bash",
	    "rocky", 1, 1, 1, 19850 * DAY, NONE },
	{ "scanner", 1001, 1001, "HostScan scanner", "/home/scanner",
	    "/bin/bash", "scanner", 1, 1, 0, 19900 * DAY, (19900 + 90) * DAY },
};
static const struct want_group rocky_groups[] = {
	{ "wheel", 10, "rocky,scanner" },
	{ "input", 999, "" },
	{ "systemd-coredump", 997, "" },
};
static const struct want_service rocky_services[] = {
	{ "sshd.service", "OpenSSH server daemon", "/usr/sbin/sshd -D $OPTIONS",
	    "Automatic", "root" },
	{ "dnf-makecache.service", "dnf makecache",
	    "/usr/bin/dnf makecache --timer", "Manual", "root" },
	{ "dbus-org.freedesktop.nm-dispatcher.service",
	    "Network Manager Script Dispatcher Service",
	    "/usr/libexec/nm-dispatcher", "Manual", "root" },
	{ "NetworkManager-wait-online.service", "Network Manager Wait Online",
	    "/usr/bin/nm-online -s -q", "Automatic", "root" },
	{ "sssd.service", "System Security Services Daemon",
	    "/usr/sbin/sssd -i ${DEBUG_LOGGER}", "Automatic", "root" },
};
/*
 * systemctl show prints NextElapseUSecRealtime and LastTriggerUSec in its
 * own style whatever --timestamp= says (it applies the style to *Timestamp
 * properties only), so the parser, which reads "@SECONDS", gets neither.
 */
static const struct want_task rocky_tasks[] = {
	{ "logrotate.timer", "/usr/lib/systemd/system/logrotate.timer", "root",
	    "OnCalendar=daily", "systemd-timer", NONE, NONE },
	{ "dnf-makecache.timer", "/usr/lib/systemd/system/dnf-makecache.timer",
	    "root", "OnBootSec=10min; OnUnitInactiveSec=1h", "systemd-timer",
	    NONE, NONE },
	{ "run-parts /etc/cron.hourly", "/etc/cron.d/0hourly", "root",
	    "01 * * * *", "cron", NONE, NONE },
	{ "/usr/local/sbin/backup.sh >/var/log/backup.log 2>&1",
	    "/var/spool/cron/root", "root", "15 2 * * *", "cron", NONE, NONE },
	{ "0anacron", "/etc/cron.hourly/0anacron", "root",
	    "cron.hourly (run-parts)", "cron", NONE, NONE },
};
static const struct want_package rocky_packages[] = {
	{ "openssh-server", "8.7p1-38.el9_4.1",
	    "An open source SSH server daemon" },
	{ "kernel", "5.14.0-427.16.1.el9_4", "The Linux kernel, based on "
	    "version 5.14.0, heavily modified with backports" },
	{ "gpg-pubkey", "350d275d-6279464b", "gpg(Rocky Enterprise Software "
	    "Foundation - Release key 2022 <releng@rockylinux.org>)" },
};

/* ---- Alpine Linux 3.16 (busybox, OpenRC, apk), a plain account ---- */

static const struct want_user alpine_users[] = {
	{ "root", 0, 0, "root", "/root", "/bin/ash", "root", 1, 0, 0, NONE,
	    NONE },
	{ "guest", 405, 100, "guest", "/dev/null", "/sbin/nologin", "users", 0,
	    0, 0, NONE, NONE },
	{ "scanner", 1000, 1000, "Linux User", "/home/scanner", "/bin/ash",
	    "scanner", 0, 0, 0, NONE, NONE },
};
static const struct want_group alpine_groups[] = {
	{ "wheel", 10, "root" },
	{ "adm", 4, "root,adm,daemon" },
	{ "users", 100, "games" },
	{ "nogroup", 65533, "" },
};

/* ---- odd names, old encodings, hand edits (root, hand-written) ---- */

static const struct want_user odd_users[] = {
	{ "root", 0, 0, "root", "/root", "/bin/bash", "root", 1, 1, 0,
	    19000 * DAY, NONE },
	{ "toor", 0, 0, "second root", "/root", "/bin/sh", "root", 1, 0, 0,
	    NONE, NONE },
	{ "j\xc3\xb6rg", 1000, 1000, "J\xc3\xb6rg M\xc3\xbcller",
	    "/home/j\xc3\xb6rg", "/bin/bash", "d\xc3\xa9v", 1, 1, 0,
	    19500 * DAY, (19500 + 30) * DAY },
	{ "latin", 1001, 100, "J?rg M?ller", "/home/latin", "/bin/sh",
	    "users", 1, 1, 1, 19500 * DAY, NONE },
	{ "build user", 1002, 100, "spaces in the name", "/home/build",
	    "/bin/sh", "users", 0, 1, 1, NONE, NONE },
	{ "?[31mred", 1003, 100, "ESC in the name", "/tmp", "/bin/sh",
	    "users", 0, 0, 0, NONE, NONE },
	{ "crlf", 1004, 100, "edited on Windows", "/home/crlf", "/bin/sh?",
	    "users", 0, 1, 0, NONE, NONE },
	{ "+", NONE, NONE, "", "", "", NULL, 0, 0, 0, NONE, NONE },
	{ "big", NONE, NONE, "uid out of range", "/", "/bin/sh", NULL, 0, 0, 0,
	    NONE, NONE },
};
static const struct want_group odd_groups[] = {
	{ "root", 0, "" },
	{ "sudo", 27, "j\xc3\xb6rg,latin,! spaced ,!ghost" },
	{ "users", 100, "" },
	{ "d\xc3\xa9v", 1000, "" },
	{ "gr?", 1001, "latin" },
	{ "alias", 100, "!crlf?" },
};
static const struct want_service odd_services[] = {
	{ "foo bar.service", "Spaced \xe2\x80\x9cname\xe2\x80\x9d",
	    "/usr/bin/foo --bar", "Automatic", "j\xc3\xb6rg" },
	{ "x?.service", "Latin-1 ? in a description", NULL, "Disabled",
	    "root" },
	{ "ssh.service", "OpenBSD Secure Shell server",
	    "/usr/sbin/sshd -D $SSHD_OPTS", "Automatic", "root" },
};
static const struct want_task odd_tasks[] = {
	{ "odd.timer", "/lib/systemd/system/odd.timer", "j\xc3\xb6rg",
	    "OnCalendar=*-*-* 03:00:00", "systemd-timer", NONE, NONE },
	{ "cd / && run-parts --report /etc/cron.hourly", "/etc/crontab",
	    "root", "17 * * * *", "cron", NONE, NONE },
	{ "/usr/local/bin/on-boot ??[0m", "/etc/crontab", "root", "@reboot",
	    "cron", NONE, NONE },
	{ "/bin/true?", "/etc/crontab", "root", "5 4 * * *", "cron", NONE,
	    NONE },
	{ "/home/j\xc3\xb6rg/bin/sync.sh",
	    "/var/spool/cron/crontabs/j\xc3\xb6rg", "j\xc3\xb6rg", "@daily",
	    "cron", NONE, NONE },
	{ "logr?tate", "/etc/cron.daily/logr?tate", "root",
	    "cron.daily (run-parts)", "cron", NONE, NONE },
};
static const struct want_package odd_packages[] = {
	{ "bash", "5.2.15-2+b2", "GNU Bourne Again SHell" },
	{ "held-pkg", "1.0-1", "Held at this version" },
	{ "latin-desc", "1.0", "Caf? ? la carte\ttab inside" },
	{ "no-desc", "0.1", NULL },
};

static const struct transcript transcripts[] = {
	{ "inventory-debian.txt", "Debian 12", ALL, "Debian GNU/Linux", "12",
	    "Debian GNU/Linux 12 (bookworm)", "6.18.44-fc-v1045", "vm",
	    28, 50, 104, 14, 1010, 1, { NULL },
	    ROWS(debian_users), ROWS(debian_groups), ROWS(debian_services),
	    ROWS(debian_tasks), ROWS(debian_packages) },
	{ "inventory-rocky9.txt", "Rocky 9", ALL, "Rocky Linux", "9.4",
	    "Rocky Linux 9.4 (Blue Onyx)", "5.14.0-427.16.1.el9_4.x86_64",
	    "rocky9.example.test", 22, 40, 16, 7, 37, 3,
	    { "sudo -n is allowed: used for files this account cannot read" },
	    ROWS(rocky_users), ROWS(rocky_groups), ROWS(rocky_services),
	    ROWS(rocky_tasks), ROWS(rocky_packages) },
	{ "inventory-alpine.txt", "Alpine 3.16",
	    INV_OS | INV_USERS | INV_GROUPS | INV_SERVICES | INV_TASKS,
	    "Alpine Linux", "3.16.9", "Alpine Linux v3.16", "5.15.167-0-virt",
	    "alpine316", 28, 49, 0, 0, 0, 1,
	    { "/etc/shadow not readable with this credential (no root, no "
	    "sudo -n): password dates and locked state not collected",
	    "no /etc/systemd/system: service start types not known",
	    "no dpkg or rpm database readable: software not collected" },
	    ROWS(alpine_users), ROWS(alpine_groups), NULL, 0, NULL, 0, NULL,
	    0 },
	{ "inventory-odd.txt", "odd names", ALL & ~INV_TASKS,
	    "Deb\xc3\xad" "an \"Odd\"",
	    "12\"b", "Odd ?dition?[2J", "6.1.0-odd?", "odd-host?", 9, 6, 3, 6,
	    4, 4, { "crontabs in /var/spool/cron not readable with this "
	    "credential: not collected" },
	    ROWS(odd_users), ROWS(odd_groups), ROWS(odd_services),
	    ROWS(odd_tasks), ROWS(odd_packages) },
};

static char *
slurp(const char *name, size_t *len)
{
	const char	*top = getenv("HOSTSCAN_SRCDIR");
	char		 path[4096], *buf = NULL;
	size_t		 cap = 0, n;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/t/data/%s", top ? top : TOP_SRCDIR,
	    name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	*len = 0;
	do {
		if (*len + 65536 > cap &&
		    (buf = realloc(buf, cap = cap * 2 + 65536)) == NULL)
			abort();
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	fclose(f);
	return buf;
}

/* The first of n rows of size bytes whose name (the first member) is name. */
static const void *
row_named(const void *rows, size_t n, size_t size, const char *name)
{
	const char	*p = rows;
	size_t		 i;

	for (i = 0; i < n; i++, p += size)
		if (strcmp(*(char *const *)(const void *)p, name) == 0)
			return p;
	return NULL;
}

#define ROW_NAMED(arr, n, name)	row_named(arr, n, sizeof(*(arr)), name)
_Static_assert(offsetof(struct inv_user, name) == 0 &&
    offsetof(struct inv_group, name) == 0 &&
    offsetof(struct inv_service, name) == 0 &&
    offsetof(struct inv_package, name) == 0, "rows start with their name");

static void
check_users(const struct transcript *t, const struct inventory *inv)
{
	size_t	 i, nsuper = 0;

	for (i = 0; i < inv->nusers; i++)
		nsuper += inv->users[i].superuser != 0;
	is_int(nsuper, t->nsuperusers, "%s: SuperUsers", t->what);
	for (i = 0; i < t->nwant_users; i++) {
		const struct want_user	*w = &t->users[i];
		const struct inv_user	*u = ROW_NAMED(inv->users,
		    inv->nusers, w->name);
		const char		*pg;

		if (!ok(u != NULL, "%s: user %s", t->what, w->name))
			continue;
		pg = u->pgroup >= 0 ? inv->groups[u->pgroup].name : NULL;
		is_int(u->uid, w->uid, "%s: %s uid", t->what, w->name);
		is_int(u->gid, w->gid, "%s: %s gid", t->what, w->name);
		is_str(u->gecos, w->gecos, "%s: %s GECOS", t->what, w->name);
		is_str(u->home, w->home, "%s: %s home", t->what, w->name);
		is_str(u->shell, w->shell, "%s: %s shell", t->what, w->name);
		is_str(pg, w->pgroup, "%s: %s primary group", t->what, w->name);
		is_int(u->superuser, w->superuser, "%s: %s SuperUser", t->what,
		    w->name);
		is_int(u->has_shadow, w->shadow, "%s: %s has a shadow line",
		    t->what, w->name);
		is_int(u->disabled, w->disabled, "%s: %s disabled", t->what,
		    w->name);
		is_int(u->pw_changed, w->changed, "%s: %s password changed",
		    t->what, w->name);
		is_int(u->pw_expires, w->expires, "%s: %s password expires",
		    t->what, w->name);
	}
}

static void
check_groups(const struct transcript *t, const struct inventory *inv)
{
	size_t	 i, j;

	for (i = 0; i < t->nwant_groups; i++) {
		const struct want_group	*w = &t->groups[i];
		const struct inv_group	*g = ROW_NAMED(inv->groups,
		    inv->ngroups, w->name);
		char			 got[1024] = "";

		if (!ok(g != NULL, "%s: group %s", t->what, w->name))
			continue;
		is_int(g->gid, w->gid, "%s: %s gid", t->what, w->name);
		for (j = 0; j < g->nmembers; j++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s%s%s", j ? "," : "",
			    g->member_user[j] < 0 ? "!" : "", g->members[j]);
		is_str(got, w->members, "%s: %s members", t->what, w->name);
	}
}

static void
check_services(const struct transcript *t, const struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < t->nwant_services; i++) {
		const struct want_service *w = &t->services[i];
		const struct inv_service *s = ROW_NAMED(inv->services,
		    inv->nservices, w->name);

		if (!ok(s != NULL, "%s: service %s", t->what, w->name))
			continue;
		is_str(s->description, w->description, "%s: %s description",
		    t->what, w->name);
		is_str(s->exec, w->exec, "%s: %s ExecStart", t->what, w->name);
		is_str(s->start_type, w->start_type, "%s: %s start type",
		    t->what, w->name);
		is_str(s->user, w->user, "%s: %s user", t->what, w->name);
	}
}

static void
check_tasks(const struct transcript *t, const struct inventory *inv)
{
	size_t	 i, j;

	for (i = 0; i < t->nwant_tasks; i++) {
		const struct want_task	*w = &t->tasks[i];
		const struct inv_task	*k = NULL;

		for (j = 0; j < inv->ntasks && k == NULL; j++)
			if (strcmp(inv->tasks[j].name, w->name) == 0 &&
			    strcmp(inv->tasks[j].path, w->path) == 0)
				k = &inv->tasks[j];
		if (!ok(k != NULL, "%s: task %s in %s", t->what, w->name,
		    w->path))
			continue;
		is_str(k->user, w->user, "%s: %s user", t->what, w->name);
		is_str(k->description, w->description, "%s: %s schedule",
		    t->what, w->name);
		is_str(k->source, w->source, "%s: %s source", t->what, w->name);
		is_int(k->next_run, w->next_run, "%s: %s next run", t->what,
		    w->name);
		is_int(k->last_run, w->last_run, "%s: %s last run", t->what,
		    w->name);
	}
}

static void
check_packages(const struct transcript *t, const struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < t->nwant_packages; i++) {
		const struct want_package *w = &t->packages[i];
		const struct inv_package *k = ROW_NAMED(inv->packages,
		    inv->npackages, w->name);

		if (!ok(k != NULL, "%s: package %s", t->what, w->name))
			continue;
		is_str(k->version, w->version, "%s: %s version", t->what,
		    w->name);
		is_str(k->description, w->description, "%s: %s description",
		    t->what, w->name);
	}
}

/* Each collected table is valid JSON with one element per row. */
static void
check_json(const struct transcript *t, const struct inventory *inv)
{
	static const char *const names[IT__MAX] = { "users", "groups",
	    "memberships", "services", "tasks", "packages" };
	size_t	 rows[IT__MAX], i;

	rows[IT_USERS] = inv->nusers;
	rows[IT_GROUPS] = inv->ngroups;
	rows[IT_SERVICES] = inv->nservices;
	rows[IT_TASKS] = inv->ntasks;
	rows[IT_PACKAGES] = inv->npackages;
	rows[IT_MEMBERS] = inv->json_rows[IT_MEMBERS];
	for (i = 0; i < IT__MAX; i++) {
		json_error_t	 e;
		json_t		*j;

		if (inv->json[i] == NULL)
			continue;
		j = json_loads(inv->json[i], 0, &e);
		ok(json_is_array(j) && json_array_size(j) == rows[i] &&
		    inv->json_rows[i] == rows[i], "%s: %s JSON, %zu rows",
		    t->what, names[i], rows[i]);
		json_decref(j);
	}
}

static int
has_note(const struct inventory *inv, const char *msg)
{
	size_t	 i;

	for (i = 0; i < inv->nnotes; i++)
		if (strcmp(inv->notes[i].msg, msg) == 0)
			return 1;
	return 0;
}

static void
run(const struct transcript *t)
{
	struct inventory inv;
	size_t		 len = 0, i;
	char		*out = slurp(t->file, &len);

	if (!ok(out != NULL, "%s: t/data/%s is readable", t->what, t->file))
		return;
	inventory_init(&inv, HS_DEFAULT_SCAN_MAX_BYTES);
	is_int(inventory_parse(out, len, MARKER, NULL, &inv), INV_OK,
	    "%s: parses", t->what);
	is_int(inv.have, t->have, "%s: the tables read whole", t->what);
	is_str(inv.os_name, t->os_name, "%s: os-release NAME", t->what);
	is_str(inv.os_version, t->os_version, "%s: VERSION_ID", t->what);
	is_str(inv.os_pretty, t->os_pretty, "%s: PRETTY_NAME", t->what);
	is_str(inv.kernel, t->kernel, "%s: kernel release", t->what);
	is_str(inv.hostname, t->hostname, "%s: host name", t->what);
	is_int(inv.nusers, t->nusers, "%s: users", t->what);
	is_int(inv.ngroups, t->ngroups, "%s: groups", t->what);
	is_int(inv.nservices, t->nservices, "%s: services", t->what);
	is_int(inv.ntasks, t->ntasks, "%s: scheduled tasks", t->what);
	is_int(inv.npackages, t->npackages, "%s: packages", t->what);
	for (i = 0; i < sizeof(t->notes) / sizeof(t->notes[0]) &&
	    t->notes[i] != NULL; i++)
		ok(has_note(&inv, t->notes[i]), "%s: note \"%s\"", t->what,
		    t->notes[i]);
	check_users(t, &inv);
	check_groups(t, &inv);
	check_services(t, &inv);
	check_tasks(t, &inv);
	check_packages(t, &inv);
	is_int(inventory_encode(&inv, NULL), INV_OK, "%s: encodes", t->what);
	check_json(t, &inv);
	inventory_free(&inv);
	free(out);
}

int
main(void)
{
	size_t	 i;

	if (sodium_init() < 0)
		return 1;
	for (i = 0; i < sizeof(transcripts) / sizeof(transcripts[0]); i++)
		run(&transcripts[i]);
	return done_testing();
}
