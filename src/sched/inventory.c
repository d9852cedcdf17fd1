#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libssh/libssh.h>
#include <sodium.h>

#include "sched.h"

/*
 * The inventory runs as one POSIX sh script fed on stdin to "sh -s", so
 * the login shell never has to parse it and one channel does the whole
 * host.  Every section is framed by "MARKER begin NAME" / "MARKER end
 * NAME STATUS" lines; the marker carries a random nonce so no file on the
 * target can forge a frame.  Nothing here writes on the target, and the
 * shadow section prints dates and a locked flag, never the hash field.
 * Status 77 means "not readable with these rights".  sudo -n is tried
 * only by members of sudo, wheel or admin, so accounts without sudo
 * rights do not set off sudo's "not in sudoers" alerts on the target.
 * Services come from the unit files and the .wants/.requires links, not
 * from systemctl, which costs a third of a second of CPU per call.
 */
static const char script_body[] =
"exec 2>/dev/null\n"
"LC_ALL=C; export LC_ALL\n"
"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH\n"
"export PATH\n"
"T=; command -v timeout >/dev/null && T=\"timeout $TMO\"\n"
"b() { printf '\\n%s begin %s\\n' \"$M\" \"$1\"; }\n"
"e() { printf '\\n%s end %s %s\\n' \"$M\" \"$1\" \"$2\"; }\n"
"SUDO=\n"
"case \" $(id -Gn) \" in *' sudo '* | *' wheel '* | *' admin '*)\n"
"  [ \"$(id -u)\" != 0 ] && command -v sudo >/dev/null &&\n"
"    sudo -n true >/dev/null 2>&1 && SUDO='sudo -n' ;;\n"
"esac\n"
"b id; id -u; echo \"sudo=${SUDO:+yes}\"; e id $?\n"
"b os; cat /etc/os-release || cat /usr/lib/os-release; e os $?\n"
"b uname; uname -s; uname -r; uname -m; e uname $?\n"
"b hostname; $T hostname -f || hostname || cat /proc/sys/kernel/hostname\n"
"e hostname $?\n"
"b passwd; $T getent passwd || cat /etc/passwd; e passwd $?\n"
"b group; $T getent group || cat /etc/group; e group $?\n"
"SH='{ print $1 \":\" $3 \":\" $5 \":\" $8 \":\" (substr($2, 1, 1) == \"!\") }'\n"
"b shadow\n"
"if [ -r /etc/shadow ]; then awk -F: \"$SH\" /etc/shadow\n"
"elif [ -n \"$SUDO\" ]; then $SUDO awk -F: \"$SH\" /etc/shadow\n"
"else (exit 77); fi\n"
"e shadow $?\n"
"b units\n"
"if [ -d /etc/systemd/system ]; then\n"
"  find /etc/systemd/system /run/systemd/system /usr/lib/systemd/system \\\n"
"    /lib/systemd/system -maxdepth 1 -lname /dev/null |\n"
"    sed 's|.*/||; s|$| masked|'\n"
"  find /etc/systemd/system /run/systemd/system -mindepth 2 -maxdepth 2 \\\n"
"    \\( -path '*.wants/*' -o -path '*.requires/*' \\) |\n"
"    sed 's|.*/||; s|$| enabled|'\n"
"else (exit 127); fi\n"
"e units $?\n"
"UA='FNR == 1 { print \"F\\t\" FILENAME }\n"
"/^[ \\t]*(Description|ExecStart|User|OnCalendar|OnBootSec|OnStartupSec|"
"OnActiveSec|OnUnitActiveSec|OnUnitInactiveSec|Unit)[ \\t]*=/ {\n"
"  k = $0; sub(/[ \\t]*=.*/, \"\", k); sub(/^[ \\t]*/, \"\", k)\n"
"  v = $0; sub(/^[^=]*=[ \\t]*/, \"\", v); print \"K\\t\" k \"\\t\" v }'\n"
"b unitfiles\n"
"for d in /etc/systemd/system /run/systemd/system \\\n"
"    /usr/local/lib/systemd/system /usr/lib/systemd/system \\\n"
"    /lib/systemd/system; do\n"
"  [ -d \"$d\" ] || continue\n"
"  find \"$d\" -maxdepth 1 \\( -type f -o -type l \\) \\( -name '*.service' \\\n"
"    -o -name '*.timer' \\) -exec awk \"$UA\" {} +\n"
"done\n"
"e unitfiles 0\n"
"b timers\n"
"if [ -d /run/systemd/system ]; then\n"
"  $T systemctl show --timestamp=unix -p Id -p NextElapseUSecRealtime \\\n"
"    -p LastTriggerUSec '*.timer' --no-pager\n"
"else (exit 127); fi\n"
"e timers $?\n"
"CA='FNR == 1 { print \"F\\t\" K \"\\t\" FILENAME } { print \"L\\t\" $0 }'\n"
"b cron\n"
"for f in /etc/crontab /etc/cron.d/*; do\n"
"  [ -f \"$f\" ] &&\n"
"    { awk -v K=system \"$CA\" \"$f\" || echo \"E\tunreadable\t$f\"; }\n"
"done\n"
"for d in /var/spool/cron/crontabs /var/spool/cron; do\n"
"  [ -d \"$d\" ] || continue\n"
"  if [ -r \"$d\" ] && [ -x \"$d\" ]; then\n"
"    for f in \"$d\"/*; do\n"
"      [ -f \"$f\" ] && awk -v K=user \"$CA\" \"$f\"\n"
"    done\n"
"  elif [ -n \"$SUDO\" ]; then\n"
"    $SUDO find \"$d\" -maxdepth 1 -type f -exec awk -v K=user \"$CA\" {} +\n"
"  else echo \"E\tunreadable\t$d\"; fi\n"
"done\n"
"for p in hourly daily weekly monthly; do\n"
"  for f in /etc/cron.$p/*; do\n"
"    [ -f \"$f\" ] && [ -x \"$f\" ] && printf 'P\\t%s\\t%s\\n' \"$p\" \"$f\"\n"
"  done\n"
"done\n"
"e cron 0\n"
"b packages\n"
"if command -v dpkg-query >/dev/null; then\n"
"  $T dpkg-query -W -f='${db:Status-Abbrev}\\t${binary:Package}\\t${Version}"
"\\t${binary:Summary}\\n'\n"
"elif command -v rpm >/dev/null; then\n"
"  $T rpm -qa --qf 'ii \\t%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{SUMMARY}\\n'\n"
"else (exit 127); fi\n"
"e packages $?\n"
"b done; e done 0\n";

/* Section names, in script order. */
enum sec {
	S_ID, S_OS, S_UNAME, S_HOSTNAME, S_PASSWD, S_GROUP, S_SHADOW,
	S_UNITS, S_UNITFILES, S_TIMERS, S_CRON, S_PACKAGES, S_DONE, S__MAX
};
static const char *const sec_names[S__MAX] = {
	"id", "os", "uname", "hostname", "passwd", "group", "shadow",
	"units", "unitfiles", "timers", "cron", "packages", "done"
};

struct section {
	const char	*p;		/* into the output buffer */
	size_t		 len;
	int		 seen, ended, status;
};

/* Every string taken from the output passes here: valid UTF-8 after. */
static char *
dupn(const char *s, size_t n)
{
	char	*p = hs_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	utf8_scrub(p);
	return p;
}

/* Next line of [*p, end); NUL-free copies are made by the callers. */
static int
next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char	*nl;

	if (*p >= end)
		return 0;
	*line = *p;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL) {
		*len = (size_t)(end - *p);
		*p = end;
	} else {
		*len = (size_t)(nl - *p);
		*p = nl + 1;
	}
	return 1;
}

/* Splits a line copy on sep into at most max fields, in place. */
static size_t
split(char *s, char sep, char **f, size_t max)
{
	size_t	 n = 0;

	while (n < max) {
		char	*q = strchr(s, sep);

		f[n++] = s;
		if (q == NULL)
			break;
		*q = '\0';
		s = q + 1;
	}
	return n;
}

static long long
num(const char *s, long long dflt)
{
	long long	 v;
	const char	*errstr;

	if (hs_strtonum(s, -1, 4294967295LL, &v, &errstr) == -1)
		return dflt;
	return v;
}

static void *
grow(void *arr, size_t n, size_t *cap, size_t size)
{
	void	*p;

	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 16;
	if ((p = reallocarray(arr, *cap, size)) == NULL)
		abort();
	return p;
}

/* os-release values: optionally quoted, with backslash escapes. */
static char *
unquote(const char *v)
{
	size_t	 n = strlen(v), i, o = 0;
	char	*out = hs_xmalloc(n + 1);
	char	 q = 0;

	if (n > 0 && (v[0] == '"' || v[0] == '\'')) {
		q = v[0];
		v++;
		n--;
	}
	for (i = 0; i < n; i++) {
		if (q != 0 && v[i] == q)
			break;
		if (q == '"' && v[i] == '\\' && i + 1 < n)
			i++;
		out[o++] = v[i];
	}
	out[o] = '\0';
	return out;
}

static void
parse_os(const struct section *sc, struct inventory *inv)
{
	const char	*p = sc->p, *end = sc->p + sc->len, *l;
	size_t		 len;

	while (next_line(&p, end, &l, &len)) {
		char	*line = dupn(l, len), *eq = strchr(line, '=');
		char	**dst = NULL;

		if (eq != NULL) {
			*eq = '\0';
			if (strcmp(line, "NAME") == 0)
				dst = &inv->os_name;
			else if (strcmp(line, "VERSION_ID") == 0)
				dst = &inv->os_version;
			else if (strcmp(line, "PRETTY_NAME") == 0)
				dst = &inv->os_pretty;
			if (dst != NULL && *dst == NULL)
				*dst = unquote(eq + 1);
		}
		free(line);
	}
	if (inv->os_name != NULL)
		inv->have |= INV_OS;
}

static void
parse_uname(const struct section *sc, struct inventory *inv)
{
	const char	*p = sc->p, *end = sc->p + sc->len, *l;
	size_t		 len;
	int		 i = 0;

	while (next_line(&p, end, &l, &len)) {
		if (len == 0)
			continue;
		if (i++ == 1) {
			inv->kernel = dupn(l, len);
			break;
		}
	}
}

static void
parse_hostname(const struct section *sc, struct inventory *inv)
{
	const char	*p = sc->p, *end = sc->p + sc->len, *l;
	size_t		 len;

	while (next_line(&p, end, &l, &len))
		if (len > 0 && len <= HS_MAX_DNS_NAME_LEN) {
			inv->hostname = dupn(l, len);
			break;
		}
}

static struct inv_user *
find_user(struct inventory *inv, const char *name)
{
	size_t	 i;

	for (i = 0; i < inv->nusers; i++)
		if (strcmp(inv->users[i].name, name) == 0)
			return &inv->users[i];
	return NULL;
}

static void
parse_passwd(const struct section *sc, struct inventory *inv)
{
	const char	*p = sc->p, *end = sc->p + sc->len, *l;
	size_t		 len, cap = 0;

	while (next_line(&p, end, &l, &len)) {
		char		*line, *f[7], *c;
		struct inv_user	*u;

		if (len == 0 || inv->nusers == HSD_MAX_INV_ROWS)
			continue;
		line = dupn(l, len);
		/* getent lists the first of duplicate names, as NSS does. */
		if (split(line, ':', f, 7) != 7 || *f[0] == '\0' ||
		    find_user(inv, f[0]) != NULL) {
			free(line);
			continue;
		}
		inv->users = grow(inv->users, inv->nusers, &cap,
		    sizeof(*inv->users));
		u = &inv->users[inv->nusers++];
		memset(u, 0, sizeof(*u));
		u->name = hs_strdup(f[0]);
		u->uid = num(f[2], -1);
		u->gid = num(f[3], -1);
		if ((c = strchr(f[4], ',')) != NULL)
			*c = '\0';
		u->gecos = hs_strdup(f[4]);
		u->home = hs_strdup(f[5]);
		u->shell = hs_strdup(f[6]);
		u->pw_changed = u->pw_expires = -1;
		free(line);
	}
	inv->have |= INV_USERS;
}

static void
parse_group(const struct section *sc, struct inventory *inv)
{
	const char	*p = sc->p, *end = sc->p + sc->len, *l;
	size_t		 len, cap = 0, mcap, i;

	while (next_line(&p, end, &l, &len)) {
		char		*line, *f[4], *m;
		struct inv_group *g;
		int		 dup = 0;

		if (len == 0 || inv->ngroups == HSD_MAX_INV_ROWS)
			continue;
		line = dupn(l, len);
		if (split(line, ':', f, 4) != 4 || *f[0] == '\0') {
			free(line);
			continue;
		}
		for (i = 0; i < inv->ngroups && !dup; i++)
			dup = strcmp(inv->groups[i].name, f[0]) == 0;
		if (dup) {
			free(line);
			continue;
		}
		inv->groups = grow(inv->groups, inv->ngroups, &cap,
		    sizeof(*inv->groups));
		g = &inv->groups[inv->ngroups++];
		memset(g, 0, sizeof(*g));
		g->name = hs_strdup(f[0]);
		g->gid = num(f[2], -1);
		for (m = f[3], mcap = 0; *m != '\0' && g->nmembers < 65536;) {
			char	*c = strchr(m, ',');

			if (c != NULL)
				*c = '\0';
			if (*m != '\0') {
				g->members = grow(g->members, g->nmembers,
				    &mcap, sizeof(char *));
				g->members[g->nmembers++] = hs_strdup(m);
			}
			if (c == NULL)
				break;
			m = c + 1;
		}
		free(line);
	}
	inv->have |= INV_GROUPS;
}

static long long
days(const char *s)
{
	long long	 v = num(s, -1);

	return v > 2932000 ? -1 : v;
}

static void
parse_shadow(const struct section *sc, struct inventory *inv)
{
	const char	*p = sc->p, *end = sc->p + sc->len, *l;
	size_t		 len;
	long long	 today = (long long)time(NULL) / 86400;

	while (next_line(&p, end, &l, &len)) {
		char		*line, *f[5];
		struct inv_user	*u;
		long long	 chg, max, exp;

		if (len == 0)
			continue;
		line = dupn(l, len);
		if (split(line, ':', f, 5) != 5 ||
		    (u = find_user(inv, f[0])) == NULL) {
			free(line);
			continue;
		}
		/* Days since 1970; beyond year 9999 is no date. */
		chg = days(f[1]);
		max = days(f[2]);
		exp = days(f[3]);
		u->has_shadow = 1;
		u->disabled = strcmp(f[4], "1") == 0 ||
		    (exp >= 0 && exp <= today);
		if (chg > 0)
			u->pw_changed = chg * 86400;
		if (chg > 0 && max >= 0 && max < 99999)
			u->pw_expires = (chg + max) * 86400;
		free(line);
	}
	inv->have |= INV_SHADOW;
}

static int
is_admin_group(const char *name)
{
	return strcmp(name, "sudo") == 0 || strcmp(name, "wheel") == 0 ||
	    strcmp(name, "admin") == 0;
}

/* uid 0, or a member (listed or primary) of sudo, wheel or admin. */
static void
mark_superusers(struct inventory *inv)
{
	size_t	 i, j, k;

	for (i = 0; i < inv->nusers; i++)
		if (inv->users[i].uid == 0)
			inv->users[i].superuser = 1;
	for (j = 0; j < inv->ngroups; j++) {
		struct inv_group	*g = &inv->groups[j];
		struct inv_user		*u;

		if (!is_admin_group(g->name))
			continue;
		for (k = 0; k < g->nmembers; k++)
			if ((u = find_user(inv, g->members[k])) != NULL)
				u->superuser = 1;
		for (i = 0; i < inv->nusers; i++)
			if (inv->users[i].gid == g->gid && g->gid >= 0)
				inv->users[i].superuser = 1;
	}
}

struct unit {
	char	*name, *path, *state, *desc, *exec, *user, *timer_spec,
		*activates;
	long long next_run, last_run;
};

struct units {
	struct unit	*u;
	size_t		 n, cap;
};

static struct unit *
unit_get(struct units *us, const char *name, int create)
{
	size_t	 i;

	for (i = 0; i < us->n; i++)
		if (strcmp(us->u[i].name, name) == 0)
			return &us->u[i];
	if (!create || us->n == HSD_MAX_INV_ROWS)
		return NULL;
	us->u = grow(us->u, us->n, &us->cap, sizeof(*us->u));
	memset(&us->u[us->n], 0, sizeof(*us->u));
	us->u[us->n].name = hs_strdup(name);
	us->u[us->n].next_run = us->u[us->n].last_run = -1;
	return &us->u[us->n++];
}

static void
units_free(struct units *us)
{
	size_t	 i;

	for (i = 0; i < us->n; i++) {
		free(us->u[i].name);
		free(us->u[i].path);
		free(us->u[i].state);
		free(us->u[i].desc);
		free(us->u[i].exec);
		free(us->u[i].user);
		free(us->u[i].timer_spec);
		free(us->u[i].activates);
	}
	free(us->u);
}

static void
append(char **dst, const char *sep, const char *v)
{
	size_t	 a = *dst ? strlen(*dst) : 0, b = strlen(sep), c = strlen(v);
	char	*p;

	if (a + c > 4096)
		return;
	p = hs_xmalloc(a + b + c + 1);
	if (*dst != NULL) {
		memcpy(p, *dst, a);
		memcpy(p + a, sep, b);
		a += b;
	}
	memcpy(p + a, v, c + 1);
	free(*dst);
	*dst = p;
}

static void
parse_unitfiles(const struct section *sc, struct units *us)
{
	const char	*p = sc->p, *end = sc->p + sc->len, *l;
	size_t		 len;
	struct unit	*cur = NULL;

	while (next_line(&p, end, &l, &len)) {
		char	*line, *f[3];
		size_t	 n;

		if (len == 0)
			continue;
		line = dupn(l, len);
		n = split(line, '\t', f, 3);
		if (n == 2 && strcmp(f[0], "F") == 0) {
			const char	*base = strrchr(f[1], '/');

			base = base ? base + 1 : f[1];
			cur = unit_get(us, base, 1);
			/* The first directory in the search path wins. */
			if (cur != NULL && cur->path != NULL)
				cur = NULL;
			else if (cur != NULL)
				cur->path = hs_strdup(f[1]);
		} else if (n == 3 && strcmp(f[0], "K") == 0 && cur != NULL) {
			if (strcmp(f[1], "Description") == 0 && !cur->desc)
				cur->desc = hs_strdup(f[2]);
			else if (strcmp(f[1], "ExecStart") == 0 && !cur->exec &&
			    f[2][0] != '\0')
				cur->exec = hs_strdup(f[2] + strspn(f[2],
				    "-@:+!"));
			else if (strcmp(f[1], "User") == 0 && !cur->user)
				cur->user = hs_strdup(f[2]);
			else if (strcmp(f[1], "Unit") == 0 && !cur->activates)
				cur->activates = hs_strdup(f[2]);
			else if (strncmp(f[1], "On", 2) == 0 &&
			    f[2][0] != '\0') {
				char	 kv[1200];

				snprintf(kv, sizeof(kv), "%s=%s", f[1], f[2]);
				append(&cur->timer_spec, "; ", kv);
			}
		}
		free(line);
	}
}

static void
parse_units(const struct section *sc, struct units *us)
{
	const char	*p = sc->p, *end = sc->p + sc->len, *l;
	size_t		 len;

	while (next_line(&p, end, &l, &len)) {
		char		 name[256], state[64];
		struct unit	*u;
		char		*line;

		if (len == 0)
			continue;
		line = dupn(l, len);
		if (sscanf(line, "%255s %63s", name, state) == 2 &&
		    (u = unit_get(us, name, 1)) != NULL && u->state == NULL)
			u->state = hs_strdup(state);
		free(line);
	}
}

static long long
show_time(const char *v)
{
	/* --timestamp=unix prints "@1700000000"; empty when never. */
	if (v[0] != '@')
		return -1;
	return num(v + 1, -1);
}

static void
parse_timers(const struct section *sc, struct units *us)
{
	const char	*p = sc->p, *end = sc->p + sc->len, *l;
	size_t		 len;
	char		 id[256] = "";
	long long	 next = -1, last = -1;
	int		 more = 1;

	while (more) {
		char	*line = NULL, *eq;

		more = next_line(&p, end, &l, &len);
		if (more)
			line = dupn(l, len);
		if (!more || len == 0) {
			struct unit	*u;

			if (id[0] != '\0' && (u = unit_get(us, id, 0)) != NULL) {
				u->next_run = next;
				u->last_run = last;
			}
			id[0] = '\0';
			next = last = -1;
		} else if ((eq = strchr(line, '=')) != NULL) {
			*eq = '\0';
			if (strcmp(line, "Id") == 0)
				hs_strlcpy(id, eq + 1, sizeof(id));
			else if (strcmp(line, "NextElapseUSecRealtime") == 0)
				next = show_time(eq + 1);
			else if (strcmp(line, "LastTriggerUSec") == 0)
				last = show_time(eq + 1);
		}
		free(line);
	}
}

static const char *
start_type(const char *state)
{
	if (state == NULL)
		return "Manual";
	if (strncmp(state, "enabled", 7) == 0)
		return "Automatic";
	if (strncmp(state, "masked", 6) == 0 || strcmp(state, "bad") == 0)
		return "Disabled";
	return "Manual";
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t	 a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

static struct inv_task *
add_task(struct inventory *inv, size_t *cap)
{
	struct inv_task	*t;

	if (inv->ntasks == HSD_MAX_INV_ROWS)
		return NULL;
	inv->tasks = grow(inv->tasks, inv->ntasks, cap, sizeof(*inv->tasks));
	t = &inv->tasks[inv->ntasks++];
	memset(t, 0, sizeof(*t));
	t->next_run = t->last_run = -1;
	return t;
}

static void
units_to_inventory(struct units *us, struct inventory *inv, size_t *tcap)
{
	size_t	 i, scap = 0;

	for (i = 0; i < us->n; i++) {
		struct unit	*u = &us->u[i];

		/* Templates run only as instances. */
		if (strchr(u->name, '@') != NULL)
			continue;
		if (has_suffix(u->name, ".service")) {
			struct inv_service	*s;

			if (inv->nservices == HSD_MAX_INV_ROWS)
				continue;
			inv->services = grow(inv->services, inv->nservices,
			    &scap, sizeof(*inv->services));
			s = &inv->services[inv->nservices++];
			s->name = hs_strdup(u->name);
			s->description = u->desc ? hs_strdup(u->desc) : NULL;
			s->start_type = hs_strdup(start_type(u->state));
			/* A system unit without User= runs as root. */
			s->user = hs_strdup(u->user ? u->user : "root");
			s->exec = u->exec ? hs_strdup(u->exec) : NULL;
		} else if (has_suffix(u->name, ".timer")) {
			struct inv_task	*t;
			struct unit	*svc;
			char		 sname[300];

			if ((t = add_task(inv, tcap)) == NULL)
				continue;
			if (u->activates != NULL)
				hs_strlcpy(sname, u->activates, sizeof(sname));
			else
				snprintf(sname, sizeof(sname), "%.*s.service",
				    (int)(strlen(u->name) - 6), u->name);
			svc = unit_get(us, sname, 0);
			t->name = hs_strdup(u->name);
			t->path = u->path ? hs_strdup(u->path) : NULL;
			t->user = hs_strdup(svc && svc->user ? svc->user :
			    "root");
			t->description = hs_strdup(u->timer_spec ?
			    u->timer_spec : sname);
			t->source = hs_strdup("systemd-timer");
			t->next_run = u->next_run;
			t->last_run = u->last_run;
		}
	}
}

static int
cron_env_line(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	while (isalnum((unsigned char)*s) || *s == '_')
		s++;
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '=';
}

static void
parse_cron(const struct section *sc, struct inventory *inv, size_t *tcap,
    struct hsd_result *res)
{
	const char	*p = sc->p, *end = sc->p + sc->len, *l;
	size_t		 len;
	char		 kind[16] = "", file[1024] = "", user[256] = "";
	int		 complete = 1;

	while (next_line(&p, end, &l, &len)) {
		char		*line, *f[3], *s, *w[7];
		struct inv_task	*t;
		size_t		 n, nw, need, i;

		if (len == 0)
			continue;
		line = dupn(l, len);
		n = split(line, '\t', f, 3);
		if (n == 3 && strcmp(f[0], "F") == 0) {
			const char	*base = strrchr(f[2], '/');

			hs_strlcpy(kind, f[1], sizeof(kind));
			hs_strlcpy(file, f[2], sizeof(file));
			hs_strlcpy(user, base ? base + 1 : f[2], sizeof(user));
		} else if (n == 3 && strcmp(f[0], "E") == 0) {
			complete = 0;
			result_log(res, "warning", "inventory", "crontabs in "
			    "%s not readable with this credential: not "
			    "collected", f[2]);
		} else if (n == 3 && strcmp(f[0], "P") == 0) {
			const char	*base = strrchr(f[2], '/');

			if ((t = add_task(inv, tcap)) != NULL) {
				char	 d[64];

				snprintf(d, sizeof(d), "cron.%s (run-parts)",
				    f[1]);
				t->name = hs_strdup(base ? base + 1 : f[2]);
				t->path = hs_strdup(f[2]);
				t->user = hs_strdup("root");
				t->description = hs_strdup(d);
				t->source = hs_strdup("cron");
			}
		} else if (n >= 2 && strcmp(f[0], "L") == 0) {
			if (n == 3)
				f[2][-1] = '\t';
			s = f[1] + strspn(f[1], " \t");
			if (*s == '\0' || *s == '#' || cron_env_line(s)) {
				free(line);
				continue;
			}
			/* @reboot etc. take one field, else five; then a
			 * user in system crontabs; then the command. */
			need = (*s == '@' ? 1u : 5u) +
			    (strcmp(kind, "system") == 0 ? 1u : 0u);
			for (nw = 0; nw < need && *s != '\0'; nw++) {
				w[nw] = s;
				s += strcspn(s, " \t");
				if (*s != '\0')
					*s++ = '\0';
				s += strspn(s, " \t");
			}
			if (nw == need && *s != '\0' &&
			    (t = add_task(inv, tcap)) != NULL) {
				char	 sched[256] = "";

				for (i = 0; i < need -
				    (strcmp(kind, "system") == 0); i++) {
					if (i)
						strncat(sched, " ", sizeof(sched) -
						    strlen(sched) - 1);
					strncat(sched, w[i], sizeof(sched) -
					    strlen(sched) - 1);
				}
				t->name = dupn(s, strlen(s) > 256 ? 256 :
				    strlen(s));
				t->path = hs_strdup(file);
				t->user = hs_strdup(strcmp(kind, "system") == 0 ?
				    w[need - 1] : user);
				t->description = hs_strdup(sched);
				t->source = hs_strdup("cron");
			}
		}
		free(line);
	}
	if (complete)
		inv->have |= INV_TASKS;
}

static void
parse_packages(const struct section *sc, struct inventory *inv)
{
	const char	*p = sc->p, *end = sc->p + sc->len, *l;
	size_t		 len, cap = 0;

	while (next_line(&p, end, &l, &len)) {
		char			*line, *f[4];
		struct inv_package	*k;
		size_t			 n;

		if (len == 0 || inv->npackages == HSD_MAX_INV_ROWS)
			continue;
		line = dupn(l, len);
		/* Installed ("ii") or held ("hi"), nothing half-removed. */
		n = split(line, '\t', f, 4);
		if (n < 3 || strlen(f[0]) < 2 || f[0][1] != 'i' ||
		    *f[1] == '\0') {
			free(line);
			continue;
		}
		inv->packages = grow(inv->packages, inv->npackages, &cap,
		    sizeof(*inv->packages));
		k = &inv->packages[inv->npackages++];
		k->name = hs_strdup(f[1]);
		k->version = hs_strdup(f[2]);
		k->description = n == 4 ? hs_strdup(f[3]) : NULL;
		free(line);
	}
	inv->have |= INV_PACKAGES;
}

/* Locates the framed sections; a section without its end is incomplete. */
static int
find_sections(const char *out, size_t outlen, const char *marker,
    struct section *sc)
{
	const char	*p = out, *end = out + outlen, *l;
	size_t		 len, mlen = strlen(marker);
	int		 cur = -1, any = 0, i;

	memset(sc, 0, sizeof(*sc) * S__MAX);
	while (next_line(&p, end, &l, &len)) {
		char	 name[32];
		int	 st;

		if (len <= mlen + 1 || memcmp(l, marker, mlen) != 0 ||
		    l[mlen] != ' ') {
			continue;
		}
		{
			char	*line = dupn(l + mlen + 1, len - mlen - 1);

			if (sscanf(line, "begin %31s", name) == 1) {
				cur = -1;
				for (i = 0; i < S__MAX; i++)
					if (strcmp(name, sec_names[i]) == 0)
						cur = i;
				if (cur >= 0) {
					sc[cur].seen = 1;
					sc[cur].p = p;
					any = 1;
				}
			} else if (sscanf(line, "end %31s %d", name, &st) == 2 &&
			    cur >= 0 && strcmp(name, sec_names[cur]) == 0) {
				/* Drop the newline the frame added. */
				sc[cur].len = (size_t)(l - sc[cur].p);
				if (sc[cur].len > 0)
					sc[cur].len--;
				sc[cur].ended = 1;
				sc[cur].status = st;
				cur = -1;
			}
			free(line);
		}
	}
	return any;
}

int
inventory_parse(const char *out, size_t len, const char *marker,
    struct inventory *inv, struct hsd_result *res)
{
	struct section	 sc[S__MAX];
	struct units	 us;
	size_t		 tcap = 0;
	int		 i;

	memset(&us, 0, sizeof(us));
	if (!find_sections(out, len, marker, sc))
		return -2;
	for (i = 0; i < S__MAX; i++)
		if (sc[i].seen && !sc[i].ended)
			result_log(res, "warning", "inventory", "section %s "
			    "cut short: not collected", sec_names[i]);
	if (sc[S_ID].ended) {
		const char	*p = sc[S_ID].p;

		if (memmem(p, sc[S_ID].len, "sudo=yes", 8) != NULL)
			result_log(res, "info", "inventory", "sudo -n is "
			    "allowed: used for files this account cannot read");
	}
	if (sc[S_OS].ended && sc[S_OS].status == 0)
		parse_os(&sc[S_OS], inv);
	else
		result_log(res, "warning", "inventory",
		    "/etc/os-release not readable: OS not collected");
	if (sc[S_UNAME].ended)
		parse_uname(&sc[S_UNAME], inv);
	if (sc[S_HOSTNAME].ended)
		parse_hostname(&sc[S_HOSTNAME], inv);
	if (sc[S_PASSWD].ended && sc[S_PASSWD].status == 0)
		parse_passwd(&sc[S_PASSWD], inv);
	else
		result_log(res, "warning", "inventory",
		    "user list not readable: users not collected");
	if (sc[S_GROUP].ended && sc[S_GROUP].status == 0)
		parse_group(&sc[S_GROUP], inv);
	else
		result_log(res, "warning", "inventory",
		    "group list not readable: groups not collected");
	if (sc[S_SHADOW].ended && sc[S_SHADOW].status == 0)
		parse_shadow(&sc[S_SHADOW], inv);
	else
		result_log(res, "warning", "inventory", "/etc/shadow not "
		    "readable with this credential (no root, no sudo -n): "
		    "password dates and locked state not collected");
	mark_superusers(inv);
	if (sc[S_UNITFILES].ended)
		parse_unitfiles(&sc[S_UNITFILES], &us);
	if (sc[S_UNITS].ended && sc[S_UNITS].status == 0)
		parse_units(&sc[S_UNITS], &us);
	else if (sc[S_UNITS].ended)
		result_log(res, "info", "inventory", "no /etc/systemd/system: "
		    "service start types not known");
	if (sc[S_TIMERS].ended && sc[S_TIMERS].status == 0)
		parse_timers(&sc[S_TIMERS], &us);
	units_to_inventory(&us, inv, &tcap);
	if (sc[S_UNITFILES].ended)
		inv->have |= INV_SERVICES;
	if (sc[S_CRON].ended)
		parse_cron(&sc[S_CRON], inv, &tcap, res);
	if (sc[S_PACKAGES].ended && sc[S_PACKAGES].status == 0)
		parse_packages(&sc[S_PACKAGES], inv);
	else
		result_log(res, "warning", "inventory", "no dpkg or rpm "
		    "database readable: software not collected");
	units_free(&us);
	result_log(res, "info", "inventory", "os=%s version=%s users=%zu "
	    "groups=%zu services=%zu tasks=%zu packages=%zu",
	    inv->os_name ? inv->os_name : "-",
	    inv->os_version ? inv->os_version : "-", inv->nusers,
	    inv->ngroups, inv->nservices, inv->ntasks, inv->npackages);
	return 0;
}

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
inventory_collect(struct ssh_session_struct *ssh, struct hsd_slot *slot,
    double deadline, int step_timeout, struct inventory *inv,
    struct hsd_result *res)
{
	ssh_channel	 ch = NULL;
	char		*buf = NULL, *script = NULL, marker[48], junk[4096];
	unsigned char	 nonce[12];
	size_t		 len = 0, cap = 65536, slen;
	double		 idle_until;
	int		 rc = -2, n, status;

	randombytes_buf(nonce, sizeof(nonce));
	memcpy(marker, "@@hs-", 5);
	sodium_bin2hex(marker + 5, sizeof(marker) - 5, nonce, sizeof(nonce));
	slen = strlen(script_body) + 128;
	script = hs_xmalloc(slen);
	/*
	 * One compound command: the shell reads all of it before running
	 * any, so no command can eat the rest of the script from stdin
	 * (bash reads a piped script byte by byte).
	 */
	snprintf(script, slen, "M=%s\nTMO=%d\n{\n%s} </dev/null\n", marker,
	    step_timeout, script_body);
	slen = strlen(script);
	buf = hs_xmalloc(cap);

	if ((ch = ssh_channel_new(ssh)) == NULL ||
	    ssh_channel_open_session(ch) != SSH_OK ||
	    ssh_channel_request_exec(ch, "sh -s") != SSH_OK) {
		result_log(res, "error", "inventory", "cannot start a command: "
		    "%s", ssh_get_error(ssh));
		goto out;
	}
	if (ssh_channel_write(ch, script, (uint32_t)slen) != (int)slen ||
	    ssh_channel_send_eof(ch) != SSH_OK) {
		result_log(res, "error", "inventory", "cannot send the "
		    "inventory script: %s", ssh_get_error(ssh));
		goto out;
	}
	idle_until = mono() + step_timeout;
	for (;;) {
		double	 t = mono(), wait = idle_until < deadline ?
		    idle_until - t : deadline - t;
		int	 ms;

		if (atomic_load(&slot->stop) != STOP_NONE) {
			rc = -3;
			goto out;
		}
		if (wait <= 0) {
			rc = -1;
			goto out;
		}
		/* Wake every second to notice a cancel. */
		ms = wait > 1.0 ? 1000 : (int)(wait * 1000) + 1;
		if (len == cap) {
			if (cap >= HSD_MAX_OUTPUT) {
				result_log(res, "warning", "inventory",
				    "output over %d bytes: the rest is not "
				    "collected", HSD_MAX_OUTPUT);
				break;
			}
			cap *= 2;
			if ((buf = realloc(buf, cap)) == NULL)
				abort();
		}
		n = ssh_channel_read_timeout(ch, buf + len,
		    (uint32_t)(cap - len), 0, ms);
		while (ssh_channel_read_nonblocking(ch, junk, sizeof(junk),
		    1) > 0)
			;
		if (n == SSH_ERROR) {
			result_log(res, "error", "inventory", "channel error: "
			    "%s", ssh_get_error(ssh));
			break;
		}
		if (n > 0) {
			len += (size_t)n;
			idle_until = mono() + step_timeout;
			continue;
		}
		if (ssh_channel_is_eof(ch))
			break;
	}
	status = ssh_channel_get_exit_status(ch);
	if (status > 0)
		result_log(res, "info", "inventory", "inventory shell exited "
		    "with status %d", status);
	rc = inventory_parse(buf, len, marker, inv, res);
	if (rc == -2)
		result_log(res, "error", "inventory", "the account could not "
		    "run sh (no shell, forced command or restricted login)");
out:
	if (ch != NULL) {
		ssh_channel_close(ch);
		ssh_channel_free(ch);
	}
	free(script);
	free(buf);
	return rc;
}

void
inventory_free(struct inventory *inv)
{
	size_t	 i, j;

	free(inv->os_name);
	free(inv->os_version);
	free(inv->os_pretty);
	free(inv->kernel);
	free(inv->hostname);
	for (i = 0; i < inv->nusers; i++) {
		free(inv->users[i].name);
		free(inv->users[i].gecos);
		free(inv->users[i].home);
		free(inv->users[i].shell);
	}
	free(inv->users);
	for (i = 0; i < inv->ngroups; i++) {
		free(inv->groups[i].name);
		for (j = 0; j < inv->groups[i].nmembers; j++)
			free(inv->groups[i].members[j]);
		free(inv->groups[i].members);
	}
	free(inv->groups);
	for (i = 0; i < inv->nservices; i++) {
		free(inv->services[i].name);
		free(inv->services[i].description);
		free(inv->services[i].start_type);
		free(inv->services[i].user);
		free(inv->services[i].exec);
	}
	free(inv->services);
	for (i = 0; i < inv->ntasks; i++) {
		free(inv->tasks[i].name);
		free(inv->tasks[i].path);
		free(inv->tasks[i].user);
		free(inv->tasks[i].description);
		free(inv->tasks[i].source);
	}
	free(inv->tasks);
	for (i = 0; i < inv->npackages; i++) {
		free(inv->packages[i].name);
		free(inv->packages[i].version);
		free(inv->packages[i].description);
	}
	free(inv->packages);
	memset(inv, 0, sizeof(*inv));
}

static json_t *
jstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
jtime(long long t)
{
	return t >= 0 ? json_integer(t) : json_null();
}

json_t *
inventory_users_json(const struct inventory *inv)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < inv->nusers; i++) {
		const struct inv_user	*u = &inv->users[i];

		json_array_append_new(a, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,"
		    "s:o,s:s,s:o,s:o,s:o}", "ord", (json_int_t)i,
		    "name", jstr(u->name), "gecos", jstr(u->gecos),
		    "uid", u->uid >= 0 ? json_integer(u->uid) : json_null(),
		    "gid", u->gid >= 0 ? json_integer(u->gid) : json_null(),
		    "home", jstr(u->home), "shell", jstr(u->shell),
		    "privilege", u->superuser ? "SuperUser" : "LinuxUser",
		    "pw_changed", jtime(u->pw_changed),
		    "pw_expires", jtime(u->pw_expires),
		    "disabled", u->has_shadow ? json_boolean(u->disabled) :
		    json_null()));
	}
	return a;
}

json_t *
inventory_groups_json(const struct inventory *inv)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < inv->ngroups; i++)
		json_array_append_new(a, json_pack("{s:I,s:s,s:o}",
		    "ord", (json_int_t)i, "name", inv->groups[i].name, "gid",
		    inv->groups[i].gid >= 0 ? json_integer(inv->groups[i].gid) :
		    json_null()));
	return a;
}

/* Listed members, then users whose primary group it is. */
json_t *
inventory_members_json(const struct inventory *inv)
{
	json_t	*a = json_array();
	size_t	 i, j;

	for (i = 0; i < inv->ngroups; i++) {
		const struct inv_group	*g = &inv->groups[i];

		for (j = 0; j < g->nmembers; j++)
			json_array_append_new(a, json_pack("{s:s,s:s,s:b}",
			    "grp", g->name, "usr", g->members[j], "prim", 0));
		for (j = 0; j < inv->nusers; j++)
			if (g->gid >= 0 && inv->users[j].gid == g->gid)
				json_array_append_new(a, json_pack(
				    "{s:s,s:s,s:b}", "grp", g->name, "usr",
				    inv->users[j].name, "prim", 1));
	}
	return a;
}

json_t *
inventory_services_json(const struct inventory *inv)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < inv->nservices; i++) {
		const struct inv_service	*s = &inv->services[i];

		json_array_append_new(a, json_pack("{s:I,s:o,s:o,s:o,s:o,"
		    "s:o}", "ord", (json_int_t)i, "name", jstr(s->name),
		    "description", jstr(s->description),
		    "start_type", jstr(s->start_type), "usr", jstr(s->user),
		    "exec", jstr(s->exec)));
	}
	return a;
}

json_t *
inventory_tasks_json(const struct inventory *inv)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < inv->ntasks; i++) {
		const struct inv_task	*t = &inv->tasks[i];

		json_array_append_new(a, json_pack("{s:I,s:o,s:o,s:o,s:o,"
		    "s:o,s:o,s:o}", "ord", (json_int_t)i, "name", jstr(t->name),
		    "path", jstr(t->path),
		    "usr", jstr(t->user), "description", jstr(t->description),
		    "source", jstr(t->source), "next_run", jtime(t->next_run),
		    "last_run", jtime(t->last_run)));
	}
	return a;
}

json_t *
inventory_packages_json(const struct inventory *inv)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < inv->npackages; i++)
		json_array_append_new(a, json_pack("{s:I,s:o,s:o,s:o}",
		    "ord", (json_int_t)i, "name", jstr(inv->packages[i].name),
		    "version", jstr(inv->packages[i].version),
		    "description", jstr(inv->packages[i].description)));
	return a;
}
