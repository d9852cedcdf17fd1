/* SPDX-License-Identifier: ISC */
/*
 * The inventory as the JSON arrays store.c hands to jsonb_to_recordset,
 * written straight into one buffer per table: no object tree, linear in
 * the rows, and charged to the inventory's memory bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

#define CHECK_EVERY	1024		/* rows between deadline checks */

struct jb {
	struct inventory	*inv;
	const struct inv_limits	*lim;
	const char		*table;
	char			*p;
	size_t			 len, cap;
	int			 rc;
};

/* Room for n more bytes and a NUL; sets rc past the memory bound. */
static int
jb_room(struct jb *b, size_t n)
{
	size_t	 ncap;
	char	*q;

	if (b->rc != INV_OK)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 4096;
	while (ncap < b->len + n + 1)
		ncap *= 2;
	if (inv_mem_take(b->inv, ncap - b->cap) == -1) {
		b->rc = INV_BOUND;
		snprintf(b->inv->why, sizeof(b->inv->why), "inventory over "
		    "scan_max_bytes (%zu bytes) while encoding %s",
		    b->inv->mem_max, b->table);
		return -1;
	}
	if ((q = realloc(b->p, ncap)) == NULL)
		abort();
	b->p = q;
	b->cap = ncap;
	return 0;
}

static void
jb_raw(struct jb *b, const char *s, size_t n)
{
	if (jb_room(b, n) == -1)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
jb_lit(struct jb *b, const char *s)
{
	jb_raw(b, s, strlen(s));
}

/*
 * A JSON string, or null.  The parser scrubbed every string to valid
 * UTF-8, so only quotes, backslashes and control characters need escapes;
 * the length is counted first so the buffer grows once.
 */
static void
jb_str(struct jb *b, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*u;
	size_t			 n = 2;
	char			*o;

	if (s == NULL) {
		jb_lit(b, "null");
		return;
	}
	for (u = (const unsigned char *)s; *u != '\0'; u++)
		n += *u == '"' || *u == '\\' ? 2 : *u < 0x20 ? 6 : 1;
	if (jb_room(b, n) == -1)
		return;
	o = b->p + b->len;
	*o++ = '"';
	for (u = (const unsigned char *)s; *u != '\0'; u++) {
		if (*u == '"' || *u == '\\') {
			*o++ = '\\';
			*o++ = (char)*u;
		} else if (*u < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[*u >> 4];
			o[5] = hex[*u & 15];
			o += 6;
		} else
			*o++ = (char)*u;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
	b->p[b->len] = '\0';
}

static void
jb_int(struct jb *b, long long v)
{
	char	 num[24];

	jb_raw(b, num, (size_t)snprintf(num, sizeof(num), "%lld", v));
}

/* Negative numbers mean "unknown" in the inventory. */
static void
jb_opt(struct jb *b, long long v)
{
	if (v < 0)
		jb_lit(b, "null");
	else
		jb_int(b, v);
}

/* Opens row i: "[" or ",", and checks the clock every so many rows. */
static int
jb_row(struct jb *b, size_t i, const char *first_key)
{
	if (b->rc != INV_OK)
		return -1;
	if (i > 0 && i % CHECK_EVERY == 0 && inv_interrupted(b->lim, b->inv,
	    "encoding the inventory", &b->rc))
		return -1;
	jb_lit(b, i == 0 ? "[{\"" : ",{\"");
	jb_lit(b, first_key);
	jb_lit(b, "\":");
	return b->rc == INV_OK ? 0 : -1;
}

static void
users(struct jb *b, const struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < inv->nusers && jb_row(b, i, "id") == 0; i++) {
		const struct inv_user	*u = &inv->users[i];

		jb_str(b, u->id);
		jb_lit(b, ",\"ord\":");
		jb_int(b, (long long)i);
		jb_lit(b, ",\"name\":");
		jb_str(b, u->name);
		jb_lit(b, ",\"gecos\":");
		jb_str(b, u->gecos);
		jb_lit(b, ",\"uid\":");
		jb_opt(b, u->uid);
		jb_lit(b, ",\"gid\":");
		jb_opt(b, u->gid);
		jb_lit(b, ",\"home\":");
		jb_str(b, u->home);
		jb_lit(b, ",\"shell\":");
		jb_str(b, u->shell);
		jb_lit(b, u->superuser ? ",\"privilege\":\"SuperUser\"" :
		    ",\"privilege\":\"LinuxUser\"");
		jb_lit(b, ",\"pw_changed\":");
		jb_opt(b, u->pw_changed);
		jb_lit(b, ",\"pw_expires\":");
		jb_opt(b, u->pw_expires);
		jb_lit(b, !u->has_shadow ? ",\"disabled\":null}" :
		    u->disabled ? ",\"disabled\":true}" : ",\"disabled\":false}");
	}
}

static void
groups(struct jb *b, const struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < inv->ngroups && jb_row(b, i, "id") == 0; i++) {
		jb_str(b, inv->groups[i].id);
		jb_lit(b, ",\"ord\":");
		jb_int(b, (long long)i);
		jb_lit(b, ",\"name\":");
		jb_str(b, inv->groups[i].name);
		jb_lit(b, ",\"gid\":");
		jb_opt(b, inv->groups[i].gid);
		jb_lit(b, "}");
	}
}

/* Groups and users by the ids of their rows. */
static void
member(struct jb *b, size_t row, const struct inv_group *g,
    const struct inv_user *u, const char *usr, int prim)
{
	if (jb_row(b, row, "gid") == -1)
		return;
	jb_str(b, g->id);
	jb_lit(b, ",\"uid\":");
	jb_str(b, u != NULL ? u->id : NULL);
	jb_lit(b, ",\"usr\":");
	jb_str(b, usr);
	jb_lit(b, prim ? ",\"prim\":true}" : ",\"prim\":false}");
}

/*
 * The listed members, then one primary membership per user (the first
 * group with the user's gid): never more rows than the target listed
 * plus one per user, however many groups share a gid.
 */
static size_t
members(struct jb *b, const struct inventory *inv)
{
	size_t	 i, j, row = 0;

	for (i = 0; i < inv->ngroups && b->rc == INV_OK; i++) {
		const struct inv_group	*g = &inv->groups[i];

		for (j = 0; j < g->nmembers; j++)
			member(b, row++, g, g->member_user != NULL &&
			    g->member_user[j] >= 0 ?
			    &inv->users[g->member_user[j]] : NULL,
			    g->members[j], 0);
	}
	for (i = 0; i < inv->nusers && b->rc == INV_OK; i++)
		if (inv->users[i].pgroup >= 0)
			member(b, row++, &inv->groups[inv->users[i].pgroup],
			    &inv->users[i], inv->users[i].name, 1);
	return row;
}

static void
services(struct jb *b, const struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < inv->nservices && jb_row(b, i, "ord") == 0; i++) {
		const struct inv_service	*s = &inv->services[i];

		jb_int(b, (long long)i);
		jb_lit(b, ",\"name\":");
		jb_str(b, s->name);
		jb_lit(b, ",\"description\":");
		jb_str(b, s->description);
		jb_lit(b, ",\"start_type\":");
		jb_str(b, s->start_type);
		jb_lit(b, ",\"usr\":");
		jb_str(b, s->user);
		jb_lit(b, ",\"exec\":");
		jb_str(b, s->exec);
		jb_lit(b, "}");
	}
}

static void
tasks(struct jb *b, const struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < inv->ntasks && jb_row(b, i, "ord") == 0; i++) {
		const struct inv_task	*t = &inv->tasks[i];

		jb_int(b, (long long)i);
		jb_lit(b, ",\"name\":");
		jb_str(b, t->name);
		jb_lit(b, ",\"path\":");
		jb_str(b, t->path);
		jb_lit(b, ",\"usr\":");
		jb_str(b, t->user);
		jb_lit(b, ",\"description\":");
		jb_str(b, t->description);
		jb_lit(b, ",\"source\":");
		jb_str(b, t->source);
		jb_lit(b, ",\"next_run\":");
		jb_opt(b, t->next_run);
		jb_lit(b, ",\"last_run\":");
		jb_opt(b, t->last_run);
		jb_lit(b, "}");
	}
}

static void
packages(struct jb *b, const struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < inv->npackages && jb_row(b, i, "ord") == 0; i++) {
		const struct inv_package	*k = &inv->packages[i];

		jb_int(b, (long long)i);
		jb_lit(b, ",\"name\":");
		jb_str(b, k->name);
		jb_lit(b, ",\"version\":");
		jb_str(b, k->version);
		jb_lit(b, ",\"description\":");
		jb_str(b, k->description);
		jb_lit(b, "}");
	}
}

/* One table: its rows, then "]" (or "[]" when it has none). */
static int
encode(struct inventory *inv, const struct inv_limits *lim, enum inv_table t,
    const char *name)
{
	struct jb	 b;
	size_t		 rows = 0;

	memset(&b, 0, sizeof(b));
	b.inv = inv;
	b.lim = lim;
	b.table = name;
	switch (t) {
	case IT_USERS:
		users(&b, inv);
		rows = inv->nusers;
		break;
	case IT_GROUPS:
		groups(&b, inv);
		rows = inv->ngroups;
		break;
	case IT_MEMBERS:
		rows = members(&b, inv);
		break;
	case IT_SERVICES:
		services(&b, inv);
		rows = inv->nservices;
		break;
	case IT_TASKS:
		tasks(&b, inv);
		rows = inv->ntasks;
		break;
	case IT_PACKAGES:
		packages(&b, inv);
		rows = inv->npackages;
		break;
	default:
		break;
	}
	jb_lit(&b, rows == 0 ? "[]" : "]");
	if (b.rc != INV_OK) {
		free(b.p);
		inv_mem_give(inv, b.cap);
		return b.rc;
	}
	/* Held until the store: give back what doubling left over. */
	if ((inv->json[t] = realloc(b.p, b.len + 1)) == NULL)
		abort();
	inv_mem_give(inv, b.cap - (b.len + 1));
	inv->json_rows[t] = rows;
	return INV_OK;
}

int
inventory_encode(struct inventory *inv, const struct inv_limits *lim)
{
	size_t	 i;
	int	 rc = INV_OK;

	/*
	 * The rows' ids are chosen here, so memberships can name their user
	 * and group rows directly (store.c).
	 */
	for (i = 0; i < inv->nusers; i++)
		hs_uuid_random(inv->users[i].id);
	for (i = 0; i < inv->ngroups; i++)
		hs_uuid_random(inv->groups[i].id);

	/* Users and groups only together: memberships link the two. */
	if ((inv->have & INV_USERS) && (inv->have & INV_GROUPS) &&
	    ((rc = encode(inv, lim, IT_USERS, "users")) != INV_OK ||
	    (rc = encode(inv, lim, IT_GROUPS, "groups")) != INV_OK ||
	    (rc = encode(inv, lim, IT_MEMBERS, "group memberships")) !=
	    INV_OK))
		return rc;
	if ((inv->have & INV_SERVICES) &&
	    (rc = encode(inv, lim, IT_SERVICES, "services")) != INV_OK)
		return rc;
	if ((inv->have & INV_TASKS) &&
	    (rc = encode(inv, lim, IT_TASKS, "scheduled tasks")) != INV_OK)
		return rc;
	if ((inv->have & INV_PACKAGES) &&
	    (rc = encode(inv, lim, IT_PACKAGES, "packages")) != INV_OK)
		return rc;
	return INV_OK;
}
