/* SPDX-License-Identifier: ISC */
/*
 * The tables of the inventory from their sections: os-release, uname,
 * hostname, users, groups and memberships, shadow dates, systemd units
 * and timers, crontabs, packages.  Every lookup goes through a keyed hash
 * table, every row and field through the bounds of invparse.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched.h"

struct unit {
	char	*name, *path, *state, *desc, *exec, *user, *activates;
	char	*spec;			/* OnCalendar= etc.; malloc'd */
	size_t	 speclen, speccap;
	long long next_run, last_run;
};

struct units {
	struct unit	*u;
	size_t		 n, cap;
	struct itab	 byname;
};

static int
user_eq(const void *ctx, size_t idx, const void *key)
{
	const struct inventory	*inv = ctx;

	return strcmp(inv->users[idx].name, key) == 0;
}

static int
group_eq(const void *ctx, size_t idx, const void *key)
{
	const struct inventory	*inv = ctx;

	return strcmp(inv->groups[idx].name, key) == 0;
}

static int
gid_eq(const void *ctx, size_t idx, const void *key)
{
	const struct inventory	*inv = ctx;

	return inv->groups[idx].gid == *(const long long *)key;
}

static int
unit_eq(const void *ctx, size_t idx, const void *key)
{
	const struct units	*us = ctx;

	return strcmp(us->u[idx].name, key) == 0;
}

static struct inv_user *
find_user(struct inv_parse *p, const char *name)
{
	long	 i = itab_get(&p->users, ip_hash(p, name, strlen(name)), user_eq,
	    p->inv, name);

	return i < 0 ? NULL : &p->inv->users[i];
}

/* os-release values: optionally quoted, with backslash escapes; in place. */
static char *
unquote(char *v)
{
	size_t	 n = strlen(v), i, o = 0;
	char	*src = v, q = 0;

	if (n > 0 && (v[0] == '"' || v[0] == '\'')) {
		q = v[0];
		src++;
		n--;
	}
	for (i = 0; i < n; i++) {
		if (q != 0 && src[i] == q)
			break;
		if (q == '"' && src[i] == '\\' && i + 1 < n)
			i++;
		v[o++] = src[i];
	}
	v[o] = '\0';
	return v;
}

static void
parse_os(struct inv_parse *p, const struct inv_section *sc)
{
	struct inventory	*inv = p->inv;
	const char		*cur = sc->p, *end = sc->p + sc->len;

	p->what = "os-release";
	while (ip_next(p, &cur, end)) {
		char	*eq = strchr(p->line, '='), **dst = NULL;

		if (eq == NULL)
			continue;
		*eq = '\0';
		if (strcmp(p->line, "NAME") == 0)
			dst = &inv->os_name;
		else if (strcmp(p->line, "VERSION_ID") == 0)
			dst = &inv->os_version;
		else if (strcmp(p->line, "PRETTY_NAME") == 0)
			dst = &inv->os_pretty;
		if (dst != NULL && *dst == NULL && (*dst = ip_text(p,
		    unquote(eq + 1), "an os-release value")) == NULL)
			return;
	}
	if (inv->os_name != NULL)
		inv->have |= INV_OS;
}

static void
parse_uname(struct inv_parse *p, const struct inv_section *sc)
{
	const char	*cur = sc->p, *end = sc->p + sc->len;
	int		 i = 0;

	p->what = "uname";
	while (ip_next(p, &cur, end)) {
		if (p->line[0] == '\0')
			continue;
		if (i++ == 1) {
			p->inv->kernel = ip_text(p, p->line, "the kernel release");
			return;
		}
	}
}

static void
parse_hostname(struct inv_parse *p, const struct inv_section *sc)
{
	const char	*cur = sc->p, *end = sc->p + sc->len;
	size_t		 len;

	p->what = "hostname";
	while (ip_next(p, &cur, end))
		if ((len = strlen(p->line)) > 0 &&
		    len <= HS_MAX_DNS_NAME_LEN) {
			p->inv->hostname = ip_strn(p, p->line, len);
			return;
		}
}

static void
parse_passwd(struct inv_parse *p, const struct inv_section *sc)
{
	struct inventory	*inv = p->inv;
	const char		*cur = sc->p, *end = sc->p + sc->len;

	p->what = "users";
	while (ip_next(p, &cur, end)) {
		char		*f[7], *c;
		struct inv_user	*u;
		uint64_t	 h;

		if (ip_split(p->line, ':', f, 7) != 7 || *f[0] == '\0')
			continue;
		/* getent lists the first of duplicate names, as NSS does. */
		h = ip_hash(p, f[0], strlen(f[0]));
		if (itab_get(&p->users, h, user_eq, inv, f[0]) >= 0)
			continue;
		if (inv->nusers == HS_INV_MAX_ACCOUNTS) {
			ip_too_many(p, HS_INV_MAX_ACCOUNTS, "users");
			return;
		}
		inv->users = ip_grow(p, inv->users, inv->nusers, &p->ucap,
		    sizeof(*inv->users));
		if (p->rc != INV_OK)
			return;
		u = &inv->users[inv->nusers];
		memset(u, 0, sizeof(*u));
		if ((c = strchr(f[4], ',')) != NULL)
			*c = '\0';
		if ((u->name = ip_name(p, f[0], "a user name")) == NULL ||
		    (u->gecos = ip_text(p, f[4], "a GECOS field")) == NULL ||
		    (u->home = ip_text(p, f[5], "a home directory")) == NULL ||
		    (u->shell = ip_text(p, f[6], "a login shell")) == NULL ||
		    itab_put(p, &p->users, h, inv->nusers) == -1)
			return;
		u->uid = ip_num(f[2], -1);
		u->gid = ip_num(f[3], -1);
		u->pgroup = -1;
		u->pw_changed = u->pw_expires = -1;
		inv->nusers++;
	}
	if (p->rc == INV_OK)
		inv->have |= INV_USERS;
}

/* A group's listed members; the memberships of all groups are bounded. */
static void
parse_members(struct inv_parse *p, struct inv_group *g, char *m)
{
	struct inventory	*inv = p->inv;
	size_t			 cap = 0;

	while (*m != '\0') {
		char	*c = strchr(m, ',');

		if (c != NULL)
			*c = '\0';
		if (*m != '\0') {
			if (inv->nmembers == HS_INV_MAX_ACCOUNTS) {
				ip_too_many(p, HS_INV_MAX_ACCOUNTS,
				    "group memberships");
				return;
			}
			g->members = ip_grow(p, g->members, g->nmembers, &cap,
			    sizeof(*g->members));
			if (p->rc != INV_OK ||
			    (g->members[g->nmembers] = ip_name(p, m,
			    "a group member name")) == NULL)
				return;
			g->nmembers++;
			inv->nmembers++;
		}
		if (c == NULL)
			break;
		m = c + 1;
	}
}

static void
parse_group(struct inv_parse *p, const struct inv_section *sc)
{
	struct inventory	*inv = p->inv;
	const char		*cur = sc->p, *end = sc->p + sc->len;

	p->what = "groups";
	while (ip_next(p, &cur, end)) {
		char			*f[4];
		struct inv_group	*g;
		uint64_t		 h;

		if (ip_split(p->line, ':', f, 4) != 4 || *f[0] == '\0')
			continue;
		h = ip_hash(p, f[0], strlen(f[0]));
		if (itab_get(&p->groups, h, group_eq, inv, f[0]) >= 0)
			continue;
		if (inv->ngroups == HS_INV_MAX_ACCOUNTS) {
			ip_too_many(p, HS_INV_MAX_ACCOUNTS, "groups");
			return;
		}
		inv->groups = ip_grow(p, inv->groups, inv->ngroups, &p->gcap,
		    sizeof(*inv->groups));
		if (p->rc != INV_OK)
			return;
		g = &inv->groups[inv->ngroups];
		memset(g, 0, sizeof(*g));
		if ((g->name = ip_name(p, f[0], "a group name")) == NULL ||
		    itab_put(p, &p->groups, h, inv->ngroups) == -1)
			return;
		g->gid = ip_num(f[2], -1);
		/* Counted now: its member array is freed with it. */
		inv->ngroups++;
		/* A gid names the first group that has it, as getgrgid(3). */
		if (g->gid >= 0) {
			h = ip_hash(p, &g->gid, sizeof(g->gid));
			if (itab_get(&p->gids, h, gid_eq, inv, &g->gid) < 0 &&
			    itab_put(p, &p->gids, h, inv->ngroups - 1) == -1)
				return;
		}
		parse_members(p, g, f[3]);
	}
	if (p->rc == INV_OK)
		inv->have |= INV_GROUPS;
}

static long long
days(const char *s)
{
	long long	 v = ip_num(s, -1);

	return v > 2932000 ? -1 : v;
}

static void
parse_shadow(struct inv_parse *p, const struct inv_section *sc)
{
	const char	*cur = sc->p, *end = sc->p + sc->len;
	long long	 today = (long long)time(NULL) / 86400;

	p->what = "shadow";
	while (ip_next(p, &cur, end)) {
		char		*f[5];
		struct inv_user	*u;
		long long	 chg, max, exp;

		if (ip_split(p->line, ':', f, 5) != 5 ||
		    (u = find_user(p, f[0])) == NULL)
			continue;
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
	}
	if (p->rc == INV_OK)
		p->inv->have |= INV_SHADOW;
}

static int
is_admin_group(const char *name)
{
	return strcmp(name, "sudo") == 0 || strcmp(name, "wheel") == 0 ||
	    strcmp(name, "admin") == 0;
}

/*
 * Which user each listed member is (the database links them by row), each
 * user's primary group (the first group with its gid), and SuperUser:
 * uid 0, or a member, listed or by gid, of sudo, wheel or admin (group
 * names are unique here, so there are at most three).
 */
static void
link_users(struct inv_parse *p)
{
	struct inventory	*inv = p->inv;
	long long		 admin_gid[3];
	size_t			 nadmin = 0, i, j;
	struct inv_user		*u;

	for (i = 0; i < inv->ngroups; i++) {
		struct inv_group	*g = &inv->groups[i];
		int			 admin = is_admin_group(g->name);

		if (g->nmembers == 0)
			continue;
		if (ip_take(p, g->nmembers * sizeof(*g->member_user)) == -1)
			return;
		g->member_user = reallocarray(NULL, g->nmembers,
		    sizeof(*g->member_user));
		if (g->member_user == NULL)
			abort();
		for (j = 0; j < g->nmembers; j++) {
			u = find_user(p, g->members[j]);
			g->member_user[j] = u != NULL ? u - inv->users : -1;
			if (admin && u != NULL)
				u->superuser = 1;
		}
	}
	for (i = 0; i < inv->ngroups; i++)
		if (is_admin_group(inv->groups[i].name) &&
		    inv->groups[i].gid >= 0 && nadmin < 3)
			admin_gid[nadmin++] = inv->groups[i].gid;
	for (i = 0; i < inv->nusers; i++) {
		u = &inv->users[i];
		if (u->uid == 0)
			u->superuser = 1;
		if (u->gid < 0)
			continue;
		u->pgroup = itab_get(&p->gids, ip_hash(p, &u->gid,
		    sizeof(u->gid)), gid_eq, inv, &u->gid);
		for (j = 0; j < nadmin; j++)
			if (u->gid == admin_gid[j])
				u->superuser = 1;
	}
}

static struct unit *
unit_get(struct inv_parse *p, struct units *us, const char *name, int create)
{
	struct unit	*u;
	uint64_t	 h = ip_hash(p, name, strlen(name));
	long		 i = itab_get(&us->byname, h, unit_eq, us, name);

	if (i >= 0)
		return &us->u[i];
	if (!create)
		return NULL;
	if (us->n == HS_INV_MAX_UNITS) {
		ip_too_many(p, HS_INV_MAX_UNITS, "systemd units");
		return NULL;
	}
	us->u = ip_grow(p, us->u, us->n, &us->cap, sizeof(*us->u));
	if (p->rc != INV_OK)
		return NULL;
	u = &us->u[us->n];
	memset(u, 0, sizeof(*u));
	u->next_run = u->last_run = -1;
	if ((u->name = ip_name(p, name, "a unit name")) == NULL ||
	    itab_put(p, &us->byname, h, us->n) == -1)
		return NULL;
	us->n++;
	return u;
}

static void
units_free(struct inv_parse *p, struct units *us)
{
	size_t	 i;

	for (i = 0; i < us->n; i++) {
		free(us->u[i].spec);
		inv_mem_give(p->inv, us->u[i].speccap);
	}
	free(us->u);
	inv_mem_give(p->inv, us->cap * sizeof(*us->u));
	itab_free(p, &us->byname);
	memset(us, 0, sizeof(*us));
}

/* Adds "key=value" to a timer's schedule; a summary, capped, not failed. */
static void
spec_add(struct inv_parse *p, struct unit *u, const char *k, const char *v)
{
	size_t	 a = strlen(k), b = strlen(v), need;

	need = u->speclen + (u->speclen ? 2 : 0) + a + 1 + b + 1;
	if (need > HS_INV_MAX_FIELD)
		return;
	if (need > u->speccap) {
		size_t	 ncap = u->speccap ? u->speccap : 64;

		while (ncap < need)
			ncap *= 2;
		if (ip_take(p, ncap - u->speccap) == -1)
			return;
		if ((u->spec = realloc(u->spec, ncap)) == NULL)
			abort();
		u->speccap = ncap;
	}
	u->speclen += (size_t)snprintf(u->spec + u->speclen,
	    u->speccap - u->speclen, "%s%s=%s", u->speclen ? "; " : "", k, v);
}

static void
parse_unitfiles(struct inv_parse *p, const struct inv_section *sc,
    struct units *us)
{
	const char	*cur = sc->p, *end = sc->p + sc->len;
	struct unit	*u = NULL;

	p->what = "systemd unit files";
	while (ip_next(p, &cur, end)) {
		char	*f[3], **dst = NULL, *v;
		size_t	 n = ip_split(p->line, '\t', f, 3);

		if (n == 2 && strcmp(f[0], "F") == 0) {
			const char	*base = strrchr(f[1], '/');

			base = base ? base + 1 : f[1];
			u = unit_get(p, us, base, 1);
			/* The first directory in the search path wins. */
			if (u != NULL && u->path != NULL)
				u = NULL;
			else if (u != NULL &&
			    (u->path = ip_text(p, f[1], "a unit file path")) ==
			    NULL)
				return;
			continue;
		}
		if (n != 3 || strcmp(f[0], "K") != 0 || u == NULL)
			continue;
		v = f[2];
		if (strcmp(f[1], "Description") == 0)
			dst = &u->desc;
		else if (strcmp(f[1], "ExecStart") == 0 && *v != '\0') {
			dst = &u->exec;
			v += strspn(v, "-@:+!");
		} else if (strcmp(f[1], "User") == 0)
			dst = &u->user;
		else if (strcmp(f[1], "Unit") == 0)
			dst = &u->activates;
		else if (strncmp(f[1], "On", 2) == 0 && *v != '\0')
			spec_add(p, u, f[1], v);
		if (dst != NULL && *dst == NULL &&
		    (*dst = ip_text(p, v, "a unit file setting")) == NULL)
			return;
	}
}

static void
parse_units(struct inv_parse *p, const struct inv_section *sc,
    struct units *us)
{
	const char	*cur = sc->p, *end = sc->p + sc->len;

	p->what = "systemd units";
	while (ip_next(p, &cur, end)) {
		/* "NAME STATE"; a file name may hold blanks, a state not. */
		char		*sp = strrchr(p->line, ' ');
		struct unit	*u;

		if (sp == NULL || sp == p->line || sp[1] == '\0')
			continue;
		*sp = '\0';
		if ((u = unit_get(p, us, p->line, 1)) == NULL)
			return;
		if (u->state == NULL &&
		    (u->state = ip_text(p, sp + 1, "a unit state")) == NULL)
			return;
	}
}

static long long
show_time(const char *v)
{
	/* --timestamp=unix prints "@1700000000"; empty when never. */
	if (v[0] != '@')
		return -1;
	return ip_num(v + 1, -1);
}

static void
parse_timers(struct inv_parse *p, const struct inv_section *sc,
    struct units *us)
{
	const char	*cur = sc->p, *end = sc->p + sc->len;
	char		 id[HS_INV_MAX_NAME] = "";
	long long	 next_run = -1, last_run = -1;
	int		 more = 1;

	p->what = "systemd timers";
	while (more) {
		char	*eq;

		more = ip_next(p, &cur, end);
		if (p->rc != INV_OK)
			return;
		if (!more || p->line[0] == '\0') {
			struct unit	*u;

			if (id[0] != '\0' &&
			    (u = unit_get(p, us, id, 0)) != NULL) {
				u->next_run = next_run;
				u->last_run = last_run;
			}
			id[0] = '\0';
			next_run = last_run = -1;
		} else if ((eq = strchr(p->line, '=')) != NULL) {
			*eq = '\0';
			if (strcmp(p->line, "Id") == 0)
				hs_strlcpy(id, eq + 1, sizeof(id));
			else if (strcmp(p->line, "NextElapseUSecRealtime") == 0)
				next_run = show_time(eq + 1);
			else if (strcmp(p->line, "LastTriggerUSec") == 0)
				last_run = show_time(eq + 1);
		}
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

static char *
lit(struct inv_parse *p, const char *s)
{
	return ip_strn(p, s, strlen(s));
}

static struct inv_task *
add_task(struct inv_parse *p)
{
	struct inventory	*inv = p->inv;
	struct inv_task		*t;

	if (inv->ntasks == HS_INV_MAX_UNITS) {
		ip_too_many(p, HS_INV_MAX_UNITS, "scheduled tasks");
		return NULL;
	}
	inv->tasks = ip_grow(p, inv->tasks, inv->ntasks, &p->tcap,
	    sizeof(*inv->tasks));
	if (p->rc != INV_OK)
		return NULL;
	t = &inv->tasks[inv->ntasks++];
	memset(t, 0, sizeof(*t));
	t->next_run = t->last_run = -1;
	return t;
}

static void
add_service(struct inv_parse *p, const struct unit *u)
{
	struct inventory	*inv = p->inv;
	struct inv_service	*s;

	if (inv->nservices == HS_INV_MAX_UNITS) {
		ip_too_many(p, HS_INV_MAX_UNITS, "services");
		return;
	}
	inv->services = ip_grow(p, inv->services, inv->nservices, &p->scap,
	    sizeof(*inv->services));
	if (p->rc != INV_OK)
		return;
	s = &inv->services[inv->nservices++];
	memset(s, 0, sizeof(*s));
	/* The arena outlives the units: their strings are shared. */
	s->name = u->name;
	s->description = u->desc;
	s->exec = u->exec;
	s->start_type = lit(p, start_type(u->state));
	/* A system unit without User= runs as root. */
	s->user = u->user != NULL ? u->user : lit(p, "root");
}

static void
add_timer(struct inv_parse *p, struct units *us, const struct unit *u)
{
	struct inv_task	*t;
	struct unit	*svc;
	char		 sname[HS_INV_MAX_NAME + 16];

	if (u->activates != NULL)
		hs_strlcpy(sname, u->activates, sizeof(sname));
	else
		snprintf(sname, sizeof(sname), "%.*s.service",
		    (int)(strlen(u->name) - 6), u->name);
	/* A cut may have split a character. */
	hs_utf8_scrub(sname);
	svc = unit_get(p, us, sname, 0);
	if ((t = add_task(p)) == NULL)
		return;
	t->name = u->name;
	t->path = u->path;
	t->user = svc != NULL && svc->user != NULL ? svc->user : lit(p, "root");
	t->description = u->spec != NULL ? lit(p, u->spec) :
	    ip_text(p, sname, "a timer's unit");
	t->source = lit(p, "systemd-timer");
	t->next_run = u->next_run;
	t->last_run = u->last_run;
}

static void
units_to_inventory(struct inv_parse *p, struct units *us)
{
	size_t	 i;

	p->what = "services";
	for (i = 0; i < us->n && p->rc == INV_OK; i++) {
		const struct unit	*u = &us->u[i];

		/* Templates run only as instances. */
		if (strchr(u->name, '@') != NULL)
			continue;
		if (has_suffix(u->name, ".service"))
			add_service(p, u);
		else if (has_suffix(u->name, ".timer"))
			add_timer(p, us, u);
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

/* A crontab line: @reboot etc. take one field, else five; then a user in
 * system crontabs; then the command. */
static void
cron_line(struct inv_parse *p, char *s, const char *kind, const char *file,
    const char *user)
{
	struct inv_task	*t;
	char		*w[7], sched[256] = "", *cmd;
	size_t		 need, nw, i, n;
	int		 system = strcmp(kind, "system") == 0;

	need = (*s == '@' ? 1u : 5u) + (system ? 1u : 0u);
	for (nw = 0; nw < need && *s != '\0'; nw++) {
		w[nw] = s;
		s += strcspn(s, " \t");
		if (*s != '\0')
			*s++ = '\0';
		s += strspn(s, " \t");
	}
	if (nw != need || *s == '\0' || (t = add_task(p)) == NULL)
		return;
	for (i = 0; i < need - (system ? 1u : 0u); i++) {
		if (i)
			strncat(sched, " ", sizeof(sched) - strlen(sched) - 1);
		strncat(sched, w[i], sizeof(sched) - strlen(sched) - 1);
	}
	/* The command names the task; cut to a name's length. */
	n = strlen(s);
	if ((cmd = ip_strn(p, s, n > HS_INV_MAX_NAME ? HS_INV_MAX_NAME :
	    n)) == NULL)
		return;
	hs_utf8_scrub(cmd);
	hs_utf8_scrub(sched);
	t->name = cmd;
	t->path = lit(p, file);
	t->user = system ? ip_name(p, w[need - 1], "a crontab user") :
	    lit(p, user);
	t->description = lit(p, sched);
	t->source = lit(p, "cron");
}

static void
parse_cron(struct inv_parse *p, const struct inv_section *sc)
{
	const char	*cur = sc->p, *end = sc->p + sc->len;
	char		 kind[16] = "", file[1024] = "", user[256] = "";
	int		 complete = 1;

	p->what = "crontabs";
	while (ip_next(p, &cur, end)) {
		char		*f[3], *s;
		struct inv_task	*t;
		size_t		 n = ip_split(p->line, '\t', f, 3);

		if (n == 3 && strcmp(f[0], "F") == 0) {
			const char	*base = strrchr(f[2], '/');

			hs_strlcpy(kind, f[1], sizeof(kind));
			hs_strlcpy(file, f[2], sizeof(file));
			hs_strlcpy(user, base ? base + 1 : f[2], sizeof(user));
			/* hs_strlcpy may have cut a character in two. */
			hs_utf8_scrub(file);
			hs_utf8_scrub(user);
		} else if (n == 3 && strcmp(f[0], "E") == 0) {
			complete = 0;
			ip_note(p, "warning", "crontabs in %.200s not readable "
			    "with this credential: not collected", f[2]);
		} else if (n == 3 && strcmp(f[0], "P") == 0) {
			const char	*base = strrchr(f[2], '/');
			char		 d[64];

			if ((t = add_task(p)) == NULL)
				return;
			snprintf(d, sizeof(d), "cron.%.16s (run-parts)", f[1]);
			hs_utf8_scrub(d);
			t->name = ip_name(p, base ? base + 1 : f[2],
			    "a cron script name");
			t->path = ip_text(p, f[2], "a cron script path");
			t->user = lit(p, "root");
			t->description = lit(p, d);
			t->source = lit(p, "cron");
		} else if (n >= 2 && strcmp(f[0], "L") == 0) {
			if (n == 3)
				f[2][-1] = '\t';
			s = f[1] + strspn(f[1], " \t");
			if (*s != '\0' && *s != '#' && !cron_env_line(s))
				cron_line(p, s, kind, file, user);
		}
	}
	if (complete && p->rc == INV_OK)
		p->inv->have |= INV_TASKS;
}

static void
parse_packages(struct inv_parse *p, const struct inv_section *sc)
{
	struct inventory	*inv = p->inv;
	const char		*cur = sc->p, *end = sc->p + sc->len;

	p->what = "packages";
	while (ip_next(p, &cur, end)) {
		char			*f[4];
		struct inv_package	*k;
		size_t			 n = ip_split(p->line, '\t', f, 4);

		/* Installed ("ii") or held ("hi"), nothing half-removed. */
		if (n < 3 || strlen(f[0]) < 2 || f[0][1] != 'i' ||
		    *f[1] == '\0')
			continue;
		if (inv->npackages == HS_INV_MAX_PACKAGES) {
			ip_too_many(p, HS_INV_MAX_PACKAGES, "packages");
			return;
		}
		inv->packages = ip_grow(p, inv->packages, inv->npackages,
		    &p->pcap, sizeof(*inv->packages));
		if (p->rc != INV_OK)
			return;
		k = &inv->packages[inv->npackages];
		memset(k, 0, sizeof(*k));
		if ((k->name = ip_name(p, f[1], "a package name")) == NULL ||
		    (k->version = ip_text(p, f[2], "a package version")) ==
		    NULL ||
		    (n == 4 && (k->description = ip_text(p, f[3],
		    "a package description")) == NULL))
			return;
		inv->npackages++;
	}
	if (p->rc == INV_OK)
		inv->have |= INV_PACKAGES;
}


static void
parse_accounts(struct inv_parse *p, const struct inv_section *sc)
{
	if (sc[S_OS].ended && sc[S_OS].status == 0)
		parse_os(p, &sc[S_OS]);
	else
		ip_note(p, "warning", "/etc/os-release not readable: OS not "
		    "collected");
	if (sc[S_UNAME].ended)
		parse_uname(p, &sc[S_UNAME]);
	if (sc[S_HOSTNAME].ended)
		parse_hostname(p, &sc[S_HOSTNAME]);
	if (sc[S_PASSWD].ended && sc[S_PASSWD].status == 0)
		parse_passwd(p, &sc[S_PASSWD]);
	else
		ip_note(p, "warning", "user list not readable: users not "
		    "collected");
	if (sc[S_GROUP].ended && sc[S_GROUP].status == 0)
		parse_group(p, &sc[S_GROUP]);
	else
		ip_note(p, "warning", "group list not readable: groups not "
		    "collected");
	if (sc[S_SHADOW].ended && sc[S_SHADOW].status == 0)
		parse_shadow(p, &sc[S_SHADOW]);
	else
		ip_note(p, "warning", "/etc/shadow not readable with this "
		    "credential (no root, no sudo -n): password dates and "
		    "locked state not collected");
	if (p->rc == INV_OK)
		link_users(p);
}

static void
parse_system(struct inv_parse *p, const struct inv_section *sc,
    struct units *us)
{
	if (sc[S_UNITFILES].ended)
		parse_unitfiles(p, &sc[S_UNITFILES], us);
	if (sc[S_UNITS].ended && sc[S_UNITS].status == 0)
		parse_units(p, &sc[S_UNITS], us);
	else if (sc[S_UNITS].ended)
		ip_note(p, "info", "no /etc/systemd/system: service start types "
		    "not known");
	if (sc[S_TIMERS].ended && sc[S_TIMERS].status == 0)
		parse_timers(p, &sc[S_TIMERS], us);
	if (p->rc != INV_OK)
		return;
	units_to_inventory(p, us);
	if (sc[S_UNITFILES].ended && p->rc == INV_OK)
		p->inv->have |= INV_SERVICES;
	if (sc[S_CRON].ended)
		parse_cron(p, &sc[S_CRON]);
	if (sc[S_PACKAGES].ended && sc[S_PACKAGES].status == 0)
		parse_packages(p, &sc[S_PACKAGES]);
	else
		ip_note(p, "warning", "no dpkg or rpm database readable: "
		    "software not collected");
}

void
inv_parse_tables(struct inv_parse *p, const struct inv_section *sc)
{
	struct units	 us;

	memset(&us, 0, sizeof(us));
	parse_accounts(p, sc);
	if (p->rc == INV_OK)
		parse_system(p, sc, &us);
	units_free(p, &us);
	itab_free(p, &p->users);
	itab_free(p, &p->groups);
	itab_free(p, &p->gids);
}
