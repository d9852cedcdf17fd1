/* SPDX-License-Identifier: ISC */
/*
 * hostscand's inventory parser and encoder (src/sched/inv*.c) on
 * transcripts a hostile target could send: every bound fails the parse
 * with its name, deadlines and stops end it, the cross-product of users
 * and groups stays linear, and whatever the bytes, the JSON is valid.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "sched.h"
#include "tap.h"

#define M	"@@hs-0123456789abcdef01234567"

/* A growing transcript. */
struct out {
	char	*p;
	size_t	 len, cap;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		while (o->len + n + 1 > o->cap)
			o->cap = o->cap ? o->cap * 2 : 4096;
		if ((o->p = realloc(o->p, o->cap)) == NULL)
			abort();
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
putf(struct out *o, const char *fmt, ...)
{
	char	 buf[16384];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(o, buf, (size_t)n);
}

static void
begin(struct out *o, const char *sec)
{
	putf(o, "\n%s begin %s\n", M, sec);
}

static void
end(struct out *o, const char *sec, int status)
{
	putf(o, "\n%s end %s %d\n", M, sec, status);
}

static void
section(struct out *o, const char *sec, const char *body)
{
	begin(o, sec);
	put(o, body, strlen(body));
	end(o, sec, 0);
}

/* A small, plausible host: the base of most cases. */
static void
small_host(struct out *o)
{
	section(o, "id", "0\nsudo=");
	section(o, "os", "NAME=\"Test \\\"Linux\\\"\"\nVERSION_ID=42\n"
	    "PRETTY_NAME='Test Linux 42'");
	section(o, "uname", "Linux\n6.1.0-test\nx86_64");
	section(o, "hostname", "web1.example.test");
	section(o, "passwd", "root:x:0:0:root:/root:/bin/sh\n"
	    "alice:x:1000:1000:Alice \"A\" \\ Q,Room 1:/home/alice:/bin/sh\n"
	    "bob:x:1001:100:Bob\tTab:/home/bob:/bin/sh\n"
	    "root:x:99:99:duplicate:/:/bin/false\n"
	    "carol:x:1002:27:Carol:/home/carol:/bin/sh");
	section(o, "group", "root:x:0:\nusers:x:100:alice,bob,ghost\n"
	    "sudo:x:27:alice\nalice:x:1000:\nusers:x:555:dup");
	section(o, "shadow", "root:19000:99999::0\nalice:19500:30::0\n"
	    "bob:19500:99999::1\nnobody:1:1:1:0");
	section(o, "units", "ssh.service enabled\ncron.service masked");
	section(o, "unitfiles", "F\t/lib/systemd/system/ssh.service\n"
	    "K\tDescription\tOpenBSD Secure Shell server\n"
	    "K\tExecStart\t-/usr/sbin/sshd -D\n"
	    "F\t/lib/systemd/system/backup.timer\n"
	    "K\tOnCalendar\tdaily\nK\tUnit\tbackup.service\n"
	    "F\t/lib/systemd/system/backup.service\nK\tUser\tbackup");
	begin(o, "timers");
	end(o, "timers", 127);
	section(o, "cron", "F\tsystem\t/etc/crontab\n"
	    "L\tSHELL=/bin/sh\nL\t# comment\n"
	    "L\t17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
	    "P\tdaily\t/etc/cron.daily/logrotate");
	section(o, "packages", "ii \tbash\t5.2-1\tGNU Bourne Again SHell\n"
	    "rc \tgone\t1.0\tremoved\nii \tcoreutils\t9.1-1\tGNU core");
	section(o, "done", "");
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses and encodes like hostscand; returns the first non-OK rc. */
static int
run(const struct out *o, struct inventory *inv, size_t mem_max,
    const struct inv_limits *lim)
{
	int	 rc;

	inventory_init(inv, mem_max);
	rc = inventory_parse(o->p, o->len, M, lim, inv);
	if (rc == INV_OK)
		rc = inventory_encode(inv, lim);
	return rc;
}

static json_t *
table(const struct inventory *inv, enum inv_table t)
{
	json_error_t	 e;
	json_t		*j;

	if (inv->json[t] == NULL)
		return NULL;
	if ((j = json_loads(inv->json[t], 0, &e)) == NULL)
		printf("# invalid JSON (%s): %.200s\n", e.text, inv->json[t]);
	return j;
}

static const char *
member_str(json_t *row, const char *key)
{
	return json_string_value(json_object_get(row, key));
}

static void
test_small(void)
{
	struct out	 o = { 0 };
	struct inventory inv;
	json_t		*u, *m, *s, *t, *k;
	size_t		 i;
	int		 prim_carol = 0, listed_alice_sudo = 0, ghost = 0;

	small_host(&o);
	is_int(run(&o, &inv, HS_DEFAULT_SCAN_MAX_BYTES, NULL), INV_OK,
	    "a plausible host parses");
	is_str(inv.os_name, "Test \"Linux\"", "os-release NAME unquoted");
	is_str(inv.os_version, "42", "VERSION_ID");
	is_str(inv.kernel, "6.1.0-test", "kernel from uname -r");
	is_str(inv.hostname, "web1.example.test", "hostname");
	is_int(inv.nusers, 4, "duplicate user name: the first is kept");
	is_int(inv.users[0].uid, 0, "... and it is the first root");
	is_int(inv.ngroups, 4, "duplicate group name: the first is kept");
	ok(inv.users[0].superuser && inv.users[1].superuser &&
	    !inv.users[2].superuser && inv.users[3].superuser,
	    "SuperUser: uid 0, listed in sudo, primary gid of sudo");
	is_int(inv.users[1].pw_expires, (19500 + 30) * 86400LL,
	    "password expiry from shadow");
	ok(inv.users[2].disabled && inv.users[2].has_shadow,
	    "locked flag from shadow");
	is_int(inv.nservices, 3, "services: ssh, backup and the masked cron");
	is_int(inv.ntasks, 3, "timer, cron line and run-parts script");
	is_int(inv.npackages, 2, "removed package not listed");
	u = table(&inv, IT_USERS);
	ok(u != NULL && json_array_size(u) == 4, "users JSON: 4 rows");
	is_str(member_str(json_array_get(u, 1), "gecos"), "Alice \"A\" \\ Q",
	    "GECOS with quotes and a backslash survives the JSON");
	is_str(member_str(json_array_get(u, 2), "gecos"), "Bob\tTab",
	    "a tab survives the JSON");
	ok(json_is_null(json_object_get(json_array_get(u, 3), "disabled")),
	    "no shadow line: disabled is null");
	/* Groups root, users, sudo, alice; users root, alice, bob, carol. */
	m = table(&inv, IT_MEMBERS);
	for (i = 0; m != NULL && i < json_array_size(m); i++) {
		json_t		*r = json_array_get(m, i);
		const char	*g = member_str(r, "gid");
		const char	*uid = member_str(r, "uid");
		int		 prim = json_is_true(json_object_get(r, "prim"));

		if (strcmp(g, inv.groups[2].id) == 0 && uid != NULL &&
		    strcmp(uid, inv.users[3].id) == 0 && prim &&
		    strcmp(member_str(r, "usr"), "carol") == 0)
			prim_carol++;
		if (strcmp(g, inv.groups[2].id) == 0 && uid != NULL &&
		    strcmp(uid, inv.users[1].id) == 0 && !prim &&
		    strcmp(member_str(r, "usr"), "alice") == 0)
			listed_alice_sudo++;
		if (strcmp(g, inv.groups[1].id) == 0 && uid == NULL &&
		    strcmp(member_str(r, "usr"), "ghost") == 0)
			ghost++;
	}
	/* 4 listed; primary: root/root, alice/alice, bob/users, carol/sudo. */
	ok(m != NULL && json_array_size(m) == 8, "8 memberships: 4 listed, "
	    "4 primary");
	ok(prim_carol == 1 && listed_alice_sudo == 1, "primary and listed "
	    "memberships both recorded, by the ids of the group and user rows");
	ok(hs_is_uuid(inv.users[0].id) && hs_is_uuid(inv.groups[0].id) &&
	    strcmp(inv.users[0].id, inv.users[1].id) != 0,
	    "rows get distinct uuids");
	ok(ghost == 1, "a listed member who is no user: no user id");
	is_str(member_str(json_array_get(u, 1), "id"), inv.users[1].id,
	    "the users JSON carries the ids");
	s = table(&inv, IT_SERVICES);
	is_str(member_str(json_array_get(s, 0), "exec"), "/usr/sbin/sshd -D",
	    "ExecStart without its prefix");
	is_str(member_str(json_array_get(s, 0), "start_type"), "Automatic",
	    "enabled: Automatic");
	t = table(&inv, IT_TASKS);
	is_str(member_str(json_array_get(t, 0), "description"),
	    "OnCalendar=daily", "timer schedule");
	is_str(member_str(json_array_get(t, 0), "usr"), "backup",
	    "timer runs as its service's User=");
	k = table(&inv, IT_PACKAGES);
	is_str(member_str(json_array_get(k, 1), "name"), "coreutils",
	    "packages in order");
	json_decref(u);
	json_decref(m);
	json_decref(s);
	json_decref(t);
	json_decref(k);
	inventory_free(&inv);
	free(o.p);
}

/*
 * The target of issue 9: 20 000 users and 20 000 groups, all with gid 0.
 * Memberships were groups x users (4e8); now one primary per user.
 */
static void
test_cross_product(void)
{
	struct out	 o = { 0 };
	struct inventory inv;
	double		 t0, secs;
	size_t		 i, n = 20000;
	int		 rc;

	section(&o, "os", "NAME=x");
	begin(&o, "passwd");
	for (i = 0; i < n; i++)
		putf(&o, "u%zu:x:%zu:0:User %zu:/home/u%zu:/bin/sh\n", i,
		    1000 + i, i, i);
	end(&o, "passwd", 0);
	begin(&o, "group");
	for (i = 0; i < n; i++)
		putf(&o, "g%zu:x:0:\n", i);
	end(&o, "group", 0);
	t0 = now();
	rc = run(&o, &inv, HS_DEFAULT_SCAN_MAX_BYTES, NULL);
	secs = now() - t0;
	is_int(rc, INV_OK, "20 000 users x 20 000 groups of gid 0 parse");
	is_int(inv.json_rows[IT_MEMBERS], (long long)n,
	    "one membership per user, not per user and group");
	ok(inv.users[0].pgroup == 0 && inv.users[n - 1].pgroup == 0,
	    "the primary group is the first group with the gid");
	/* Before: 4e8 member objects, 11 GiB and over 80 s. */
	ok(secs < 10.0, "parsed and encoded in %.3f s (< 10 s)", secs);
	ok(inv.mem_used < 32 * 1024 * 1024, "holding %zu bytes (< 32 MiB)",
	    inv.mem_used);
	inventory_free(&inv);
	free(o.p);
}

static void
expect_bound(struct out *o, size_t mem_max, const char *want,
    const char *what)
{
	struct inventory inv;
	int		 rc = run(o, &inv, mem_max, NULL);

	is_int(rc, INV_BOUND, "%s: over a bound", what);
	if (!ok(strstr(inv.why, want) != NULL, "%s: the reason names it",
	    what))
		printf("#   why: %s\n#   want: %s\n", inv.why, want);
	inventory_free(&inv);
}

/* n lines "<pre><i><post>" framed as section sec. */
static void
rows(struct out *o, const char *sec, const char *pre, const char *post,
    size_t n)
{
	size_t	 i;

	begin(o, sec);
	for (i = 0; i < n; i++)
		putf(o, "%s%zu%s\n", pre, i, post);
	end(o, sec, 0);
}

static void
test_rows(void)
{
	struct out	 o = { 0 };
	struct inventory inv;
	size_t		 i;

	rows(&o, "packages", "ii \tp", "\t1\tFake package",
	    HS_INV_MAX_PACKAGES);
	is_int(run(&o, &inv, HS_DEFAULT_SCAN_MAX_BYTES, NULL), INV_OK,
	    "50 000 packages: at the bound, collected");
	is_int(inv.json_rows[IT_PACKAGES], HS_INV_MAX_PACKAGES,
	    "... all of them");
	inventory_free(&inv);
	free(o.p);
	memset(&o, 0, sizeof(o));
	rows(&o, "packages", "ii \tp", "\t1\t", HS_INV_MAX_PACKAGES + 1);
	expect_bound(&o, HS_DEFAULT_SCAN_MAX_BYTES, "inventory over the bound "
	    "of 50000 packages", "50 001 packages");
	expect_bound(&o, 2 * 1024 * 1024, "inventory over scan_max_bytes "
	    "(2097152 bytes) while parsing packages", "packages in 2 MiB");
	free(o.p);

	memset(&o, 0, sizeof(o));
	rows(&o, "passwd", "u", ":x:1:1::/:/bin/sh", HS_INV_MAX_ACCOUNTS + 1);
	expect_bound(&o, HS_DEFAULT_SCAN_MAX_BYTES, "inventory over the bound "
	    "of 200000 users", "200 001 users");
	free(o.p);

	memset(&o, 0, sizeof(o));
	section(&o, "passwd", "root:x:0:0:root:/root:/bin/sh");
	begin(&o, "group");
	put(&o, "big:x:5:", 8);
	for (i = 0; i <= HS_INV_MAX_ACCOUNTS; i++)
		put(&o, "root,", 5);
	end(&o, "group", 0);
	expect_bound(&o, HS_DEFAULT_SCAN_MAX_BYTES, "inventory over the bound "
	    "of 200000 group memberships", "200 001 listed memberships");
	free(o.p);

	memset(&o, 0, sizeof(o));
	rows(&o, "unitfiles", "F\t/lib/systemd/system/u", ".service",
	    HS_INV_MAX_UNITS + 1);
	expect_bound(&o, HS_DEFAULT_SCAN_MAX_BYTES, "inventory over the bound "
	    "of 20000 systemd units", "20 001 unit files");
	free(o.p);
}

static void
test_fields(void)
{
	struct out	 o = { 0 };
	struct inventory inv;
	char		 big[HS_INV_MAX_FIELD + 2];

	memset(big, 'a', sizeof(big));
	big[HS_INV_MAX_NAME] = '\0';
	begin(&o, "passwd");
	putf(&o, "%s:x:1:1::/:/bin/sh", big);
	end(&o, "passwd", 0);
	is_int(run(&o, &inv, HS_DEFAULT_SCAN_MAX_BYTES, NULL), INV_OK,
	    "a user name of 256 bytes is collected");
	inventory_free(&inv);
	free(o.p);
	memset(&o, 0, sizeof(o));
	big[HS_INV_MAX_NAME] = 'a';
	big[HS_INV_MAX_NAME + 1] = '\0';
	begin(&o, "passwd");
	putf(&o, "%s:x:1:1::/:/bin/sh", big);
	end(&o, "passwd", 0);
	expect_bound(&o, HS_DEFAULT_SCAN_MAX_BYTES, "over the bound of 256 "
	    "bytes per name: a user name of 257 bytes", "257-byte user name");
	free(o.p);
	memset(&o, 0, sizeof(o));
	big[HS_INV_MAX_NAME + 1] = 'a';
	big[HS_INV_MAX_FIELD + 1] = '\0';
	begin(&o, "packages");
	putf(&o, "ii \tp\t1\t%s", big);
	end(&o, "packages", 0);
	expect_bound(&o, HS_DEFAULT_SCAN_MAX_BYTES, "over the bound of 8192 "
	    "bytes per field: a package description of 8193 bytes",
	    "8193-byte description");
	free(o.p);
}

/* Parse fits, the JSON does not: the encoder names the bound too. */
static void
test_encode_bound(void)
{
	struct out	 o = { 0 };
	struct inventory inv;
	size_t		 i, parsed;

	begin(&o, "packages");
	for (i = 0; i < 30000; i++)
		putf(&o, "ii \t\"\"\"\"\"\"\"\"\"\"%zu\t1\t\n", i);
	end(&o, "packages", 0);
	inventory_init(&inv, HS_DEFAULT_SCAN_MAX_BYTES);
	is_int(inventory_parse(o.p, o.len, M, NULL, &inv), INV_OK,
	    "30 000 packages of quotes parse");
	parsed = inv.mem_used;
	inventory_free(&inv);
	expect_bound(&o, parsed + 64 * 1024, "over scan_max_bytes", "the JSON "
	    "of escaped names past scan_max_bytes");
	free(o.p);
}

static void
test_interrupts(void)
{
	struct out		 o = { 0 };
	struct inventory	 inv;
	struct inv_limits	 lim;
	atomic_int		 stop = STOP_NONE;
	size_t			 i;

	begin(&o, "packages");
	for (i = 0; i < 5000; i++)
		putf(&o, "ii \tp%zu\t1\t\n", i);
	end(&o, "packages", 0);
	memset(&lim, 0, sizeof(lim));
	lim.stop = &stop;
	atomic_store(&stop, STOP_CANCEL);
	is_int(run(&o, &inv, HS_DEFAULT_SCAN_MAX_BYTES, &lim), INV_STOPPED,
	    "a set stop flag ends the parse");
	inventory_free(&inv);
	atomic_store(&stop, STOP_NONE);
	lim.deadline = now() - 1;
	lim.host_timeout = 7;
	is_int(run(&o, &inv, HS_DEFAULT_SCAN_MAX_BYTES, &lim), INV_TIMEOUT,
	    "a passed deadline ends the parse");
	ok(strstr(inv.why, "host_timeout (7 s) reached while parsing") != NULL,
	    "... and says so: %s", inv.why);
	inventory_free(&inv);
	free(o.p);
}

/* Deterministic bytes, with newlines, NULs, separators and bad UTF-8. */
static void
garbage(struct out *o, size_t n, unsigned seed)
{
	static const char	 pick[] = "\n\n:::\t,=\0\xff\xc3\xe2\x80\x9d@ ";
	size_t			 i;

	for (i = 0; i < n; i++) {
		char	 c;

		seed = seed * 1103515245u + 12345u;
		c = (seed >> 16) % 3 == 0 ?
		    pick[(seed >> 8) % (sizeof(pick) - 1)] : (char)(seed >> 24);
		put(o, &c, 1);
	}
}

static void
test_garbage(void)
{
	static const char *const secs[] = {
		"id", "os", "uname", "hostname", "passwd", "group", "shadow",
		"units", "unitfiles", "timers", "cron", "packages"
	};
	/* Well-shaped lines with bad bytes in their fields. */
	static const char shaped[] =
	    "\nname\xff\x01:x:5:5:G\xc3\x28\x7f:/h:/bin/sh\n"
	    "ii \tpk\xe2\x82g\tv\x01\tD\xf0\x9f\x98\x80\n";
	struct out	 o = { 0 };
	struct inventory inv;
	size_t		 i, bad = 0, rows = 0;
	int		 rc;

	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		begin(&o, secs[i]);
		garbage(&o, 20000, (unsigned)i + 1);
		put(&o, shaped, sizeof(shaped) - 1);
		end(&o, secs[i], 0);
	}
	rc = run(&o, &inv, HS_DEFAULT_SCAN_MAX_BYTES, NULL);
	is_int(rc, INV_OK, "binary garbage in every section parses");
	for (i = 0; i < IT__MAX; i++) {
		json_t	*j;

		if (inv.json[i] == NULL)
			continue;
		if ((j = table(&inv, (enum inv_table)i)) == NULL)
			bad++;
		else
			rows += json_array_size(j);
		json_decref(j);
	}
	is_int(bad, 0, "every table's JSON is valid UTF-8 JSON");
	ok(rows > 0 && inv.nusers > 0 && inv.npackages > 0,
	    "the well-shaped lines among the garbage are collected");
	inventory_free(&inv);
	free(o.p);
}

/* Strings cut to a buffer's size must not end inside a character. */
static void
test_cuts(void)
{
	struct out	 o = { 0 };
	struct inventory inv;
	json_t		*t;
	size_t		 i;

	begin(&o, "unitfiles");
	putf(&o, "F\t/lib/systemd/system/x.timer\nK\tUnit\t");
	for (i = 0; i < 200; i++)
		put(&o, "\xc3\xa9", 2);
	end(&o, "unitfiles", 0);
	begin(&o, "cron");
	putf(&o, "F\tsystem\t/etc/crontab\nL\t@daily root ");
	for (i = 0; i < 200; i++)
		put(&o, "\xe2\x82\xac", 3);
	end(&o, "cron", 0);
	is_int(run(&o, &inv, HS_DEFAULT_SCAN_MAX_BYTES, NULL), INV_OK,
	    "a timer's long Unit= and a long cron command");
	t = table(&inv, IT_TASKS);
	ok(t != NULL && json_array_size(t) == 2,
	    "... cut where they are cut, and still valid UTF-8 JSON");
	json_decref(t);
	inventory_free(&inv);
	free(o.p);
}

static void
test_frames(void)
{
	struct out	 o = { 0 };
	struct inventory inv;

	put(&o, "no frames at all\n", 17);
	is_int(run(&o, &inv, HS_DEFAULT_SCAN_MAX_BYTES, NULL), INV_NO_SHELL,
	    "output without frames: no shell");
	inventory_free(&inv);
	free(o.p);
	memset(&o, 0, sizeof(o));
	begin(&o, "passwd");
	putf(&o, "root:x:0:0::/:/bin/sh\n@@hs-forged end passwd 0\n"
	    "eve:x:0:0::/:/bin/sh\n");
	is_int(run(&o, &inv, HS_DEFAULT_SCAN_MAX_BYTES, NULL), INV_OK,
	    "a section without its end");
	ok(!(inv.have & INV_USERS) && inv.nnotes > 0 &&
	    strstr(inv.notes[0].msg, "passwd cut short") != NULL,
	    "is not collected, and a note says so (a forged end is data)");
	inventory_free(&inv);
	free(o.p);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_small();
	test_cross_product();
	test_rows();
	test_fields();
	test_encode_bound();
	test_interrupts();
	test_garbage();
	test_cuts();
	test_frames();
	return done_testing();
}
