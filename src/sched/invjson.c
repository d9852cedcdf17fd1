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
	struct hs_jw		 w;
	struct inventory	*inv;
	const struct inv_limits	*lim;
	const char		*table;
	int			 rc;
};

/* The writer's growth, charged to the inventory's memory bound. */
static int
jb_grow(void *arg, size_t more)
{
	struct jb	*b = arg;

	if (inv_mem_take(b->inv, more) == 0)
		return 0;
	b->rc = INV_BOUND;
	snprintf(b->inv->why, sizeof(b->inv->why), "inventory over "
	    "scan_max_bytes (%zu bytes) while encoding %s",
	    b->inv->mem_max, b->table);
	return -1;
}

/* Negative numbers mean "unknown" in the inventory. */
static void
jb_opt(struct jb *b, long long v)
{
	if (v < 0)
		hs_jw_lit(&b->w, "null");
	else
		hs_jw_int(&b->w, v);
}

/* Opens row i: "[" or ",", and checks the clock every so many rows. */
static int
jb_row(struct jb *b, size_t i, const char *first_key)
{
	if (b->rc != INV_OK)
		return -1;
	if (i > 0 && i % CHECK_EVERY == 0 && inv_interrupted(b->lim, b->inv,
	    "encoding the inventory", &b->rc)) {
		b->w.failed = 1;
		return -1;
	}
	hs_jw_lit(&b->w, i == 0 ? "[{\"" : ",{\"");
	hs_jw_lit(&b->w, first_key);
	hs_jw_lit(&b->w, "\":");
	return b->rc == INV_OK ? 0 : -1;
}

static void
users(struct jb *b, const struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < inv->nusers && jb_row(b, i, "id") == 0; i++) {
		const struct inv_user	*u = &inv->users[i];

		hs_jw_str(&b->w, u->id);
		hs_jw_lit(&b->w, ",\"ord\":");
		hs_jw_int(&b->w, (long long)i);
		hs_jw_lit(&b->w, ",\"name\":");
		hs_jw_str(&b->w, u->name);
		hs_jw_lit(&b->w, ",\"gecos\":");
		hs_jw_str(&b->w, u->gecos);
		hs_jw_lit(&b->w, ",\"uid\":");
		jb_opt(b, u->uid);
		hs_jw_lit(&b->w, ",\"gid\":");
		jb_opt(b, u->gid);
		hs_jw_lit(&b->w, ",\"home\":");
		hs_jw_str(&b->w, u->home);
		hs_jw_lit(&b->w, ",\"shell\":");
		hs_jw_str(&b->w, u->shell);
		hs_jw_lit(&b->w, u->superuser ? ",\"privilege\":\"SuperUser\"" :
		    ",\"privilege\":\"LinuxUser\"");
		hs_jw_lit(&b->w, ",\"pw_changed\":");
		jb_opt(b, u->pw_changed);
		hs_jw_lit(&b->w, ",\"pw_expires\":");
		jb_opt(b, u->pw_expires);
		hs_jw_lit(&b->w, !u->has_shadow ? ",\"disabled\":null}" :
		    u->disabled ? ",\"disabled\":true}" : ",\"disabled\":false}");
	}
}

static void
groups(struct jb *b, const struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < inv->ngroups && jb_row(b, i, "id") == 0; i++) {
		hs_jw_str(&b->w, inv->groups[i].id);
		hs_jw_lit(&b->w, ",\"ord\":");
		hs_jw_int(&b->w, (long long)i);
		hs_jw_lit(&b->w, ",\"name\":");
		hs_jw_str(&b->w, inv->groups[i].name);
		hs_jw_lit(&b->w, ",\"gid\":");
		jb_opt(b, inv->groups[i].gid);
		hs_jw_lit(&b->w, "}");
	}
}

/* Groups and users by the ids of their rows. */
static void
member(struct jb *b, size_t row, const struct inv_group *g,
    const struct inv_user *u, const char *usr, int prim)
{
	if (jb_row(b, row, "gid") == -1)
		return;
	hs_jw_str(&b->w, g->id);
	hs_jw_lit(&b->w, ",\"uid\":");
	hs_jw_str(&b->w, u != NULL ? u->id : NULL);
	hs_jw_lit(&b->w, ",\"usr\":");
	hs_jw_str(&b->w, usr);
	hs_jw_lit(&b->w, prim ? ",\"prim\":true}" : ",\"prim\":false}");
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

		hs_jw_int(&b->w, (long long)i);
		hs_jw_lit(&b->w, ",\"name\":");
		hs_jw_str(&b->w, s->name);
		hs_jw_lit(&b->w, ",\"description\":");
		hs_jw_str(&b->w, s->description);
		hs_jw_lit(&b->w, ",\"start_type\":");
		hs_jw_str(&b->w, s->start_type);
		hs_jw_lit(&b->w, ",\"usr\":");
		hs_jw_str(&b->w, s->user);
		hs_jw_lit(&b->w, ",\"exec\":");
		hs_jw_str(&b->w, s->exec);
		hs_jw_lit(&b->w, "}");
	}
}

static void
tasks(struct jb *b, const struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < inv->ntasks && jb_row(b, i, "ord") == 0; i++) {
		const struct inv_task	*t = &inv->tasks[i];

		hs_jw_int(&b->w, (long long)i);
		hs_jw_lit(&b->w, ",\"name\":");
		hs_jw_str(&b->w, t->name);
		hs_jw_lit(&b->w, ",\"path\":");
		hs_jw_str(&b->w, t->path);
		hs_jw_lit(&b->w, ",\"usr\":");
		hs_jw_str(&b->w, t->user);
		hs_jw_lit(&b->w, ",\"description\":");
		hs_jw_str(&b->w, t->description);
		hs_jw_lit(&b->w, ",\"source\":");
		hs_jw_str(&b->w, t->source);
		hs_jw_lit(&b->w, ",\"next_run\":");
		jb_opt(b, t->next_run);
		hs_jw_lit(&b->w, ",\"last_run\":");
		jb_opt(b, t->last_run);
		hs_jw_lit(&b->w, "}");
	}
}

static void
packages(struct jb *b, const struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < inv->npackages && jb_row(b, i, "ord") == 0; i++) {
		const struct inv_package	*k = &inv->packages[i];

		hs_jw_int(&b->w, (long long)i);
		hs_jw_lit(&b->w, ",\"name\":");
		hs_jw_str(&b->w, k->name);
		hs_jw_lit(&b->w, ",\"version\":");
		hs_jw_str(&b->w, k->version);
		hs_jw_lit(&b->w, ",\"description\":");
		hs_jw_str(&b->w, k->description);
		hs_jw_lit(&b->w, "}");
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
	b.w.grow = jb_grow;
	b.w.arg = &b;
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
	hs_jw_lit(&b.w, rows == 0 ? "[]" : "]");
	if (b.rc != INV_OK) {
		inv_mem_give(inv, b.w.cap);
		hs_jw_free(&b.w);
		return b.rc;
	}
	/* Held until the store: give back what doubling left over. */
	if ((inv->json[t] = realloc(b.w.p, b.w.len + 1)) == NULL)
		abort();
	inv_mem_give(inv, b.w.cap - (b.w.len + 1));
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
