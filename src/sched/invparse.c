/* SPDX-License-Identifier: ISC */
/*
 * The inventory script's output to struct inventory, the plumbing: the
 * section frames, the memory account and string arena, keyed hash tables
 * and line splitting.  invtables.c parses each table with it.  No I/O and
 * no libssh: the fuzz driver and the unit test link this alone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "sched.h"

_Static_assert(sizeof(((struct inv_parse *)0)->key) ==
    crypto_shorthash_KEYBYTES, "SipHash key size");

/* Section names, in the order inventory.sh prints them. */
static const char *const sec_names[S__MAX] = {
	"id", "os", "uname", "hostname", "passwd", "group", "shadow",
	"units", "unitfiles", "timers", "cron", "packages", "done"
};

#define ARENA_BLOCK	(64 * 1024)
#define CHECK_EVERY	1024		/* lines between deadline checks */

struct inv_block {
	struct inv_block *next;
	size_t		 used, cap;
	char		 data[];
};

double
inv_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
inv_mem_take(struct inventory *inv, size_t n)
{
	if (n > inv->mem_max - inv->mem_used)
		return -1;
	inv->mem_used += n;
	return 0;
}

void
inv_mem_give(struct inventory *inv, size_t n)
{
	inv->mem_used -= n < inv->mem_used ? n : inv->mem_used;
}

int
inv_interrupted(const struct inv_limits *lim, struct inventory *inv,
    const char *during, int *rc)
{
	int	 stop;

	if (lim == NULL)
		return 0;
	stop = lim->stop != NULL ? atomic_load(lim->stop) : STOP_NONE;
	if (stop != STOP_NONE && stop != STOP_DEADLINE) {
		*rc = INV_STOPPED;
		snprintf(inv->why, sizeof(inv->why), "stopped while %s",
		    during);
		return 1;
	}
	/* The watchdog's mark and our own clock say the same thing. */
	if (stop == STOP_DEADLINE ||
	    (lim->deadline > 0 && inv_mono() >= lim->deadline)) {
		*rc = INV_TIMEOUT;
		snprintf(inv->why, sizeof(inv->why), "host_timeout (%d s) "
		    "reached while %s", lim->host_timeout, during);
		return 1;
	}
	return 0;
}

void
inventory_init(struct inventory *inv, size_t mem_max)
{
	memset(inv, 0, sizeof(*inv));
	inv->mem_max = mem_max;
}

/* The first failure wins: later ones are its consequences. */
void
ip_fail(struct inv_parse *p, int rc, const char *fmt, ...)
{
	va_list	 ap;

	if (p->rc != INV_OK)
		return;
	p->rc = rc;
	va_start(ap, fmt);
	vsnprintf(p->inv->why, sizeof(p->inv->why), fmt, ap);
	va_end(ap);
}

void
ip_note(struct inv_parse *p, const char *level, const char *fmt, ...)
{
	struct inv_note	*n;
	va_list		 ap;

	if (p->inv->nnotes == INV_MAX_NOTES)
		return;
	n = &p->inv->notes[p->inv->nnotes++];
	hs_strlcpy(n->level, level, sizeof(n->level));
	va_start(ap, fmt);
	vsnprintf(n->msg, sizeof(n->msg), fmt, ap);
	va_end(ap);
	hs_utf8_scrub(n->msg);
}

int
ip_take(struct inv_parse *p, size_t n)
{
	if (inv_mem_take(p->inv, n) == 0)
		return 0;
	ip_fail(p, INV_BOUND, "inventory over scan_max_bytes (%zu bytes) while "
	    "parsing %s", p->inv->mem_max, p->what);
	return -1;
}

void
ip_too_many(struct inv_parse *p, long bound, const char *what)
{
	ip_fail(p, INV_BOUND, "inventory over the bound of %ld %s", bound,
	    what);
}

/* Makes room for element n; on failure p->rc is set and arr unchanged. */
void *
ip_grow(struct inv_parse *p, void *arr, size_t n, size_t *cap, size_t size)
{
	size_t	 ncap;
	void	*q;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	if (ip_take(p, (ncap - *cap) * size) == -1)
		return arr;
	if ((q = reallocarray(arr, ncap, size)) == NULL)
		abort();
	*cap = ncap;
	return q;
}

/* n bytes of s and a NUL in the arena, or NULL past the memory bound. */
char *
ip_strn(struct inv_parse *p, const char *s, size_t n)
{
	struct inv_block	*b = p->inv->arena;
	char			*r;

	if (b == NULL || b->cap - b->used < n + 1) {
		size_t	 cap = n + 1 > ARENA_BLOCK ? n + 1 : ARENA_BLOCK;

		if (ip_take(p, sizeof(*b) + cap) == -1)
			return NULL;
		b = hs_xmalloc(sizeof(*b) + cap);
		b->cap = cap;
		b->used = 0;
		b->next = p->inv->arena;
		p->inv->arena = b;
	}
	r = b->data + b->used;
	memcpy(r, s, n);
	r[n] = '\0';
	b->used += n + 1;
	return r;
}

/* A field of the current line into the arena; NULL past a bound. */
static char *
field(struct inv_parse *p, const char *s, size_t max, const char *what)
{
	size_t	 n = strlen(s);

	if (n > max) {
		ip_fail(p, INV_BOUND, "inventory over the bound of %zu bytes "
		    "per %s: %s of %zu bytes", max,
		    max == HS_INV_MAX_NAME ? "name" : "field", what, n);
		return NULL;
	}
	return ip_strn(p, s, n);
}

char *
ip_name(struct inv_parse *p, const char *s, const char *what)
{
	return field(p, s, HS_INV_MAX_NAME, what);
}

char *
ip_text(struct inv_parse *p, const char *s, const char *what)
{
	return field(p, s, HS_INV_MAX_FIELD, what);
}

uint64_t
ip_hash(const struct inv_parse *p, const void *k, size_t n)
{
	unsigned char	 h[crypto_shorthash_BYTES];
	uint64_t	 v;

	crypto_shorthash(h, k, n, p->key);
	memcpy(&v, h, sizeof(v));
	return v;
}

long
itab_get(const struct itab *t, uint64_t h, itab_eq eq, const void *ctx,
    const void *key)
{
	uint32_t	 tag = (uint32_t)h;
	size_t		 i;

	if (t->cap == 0)
		return -1;
	for (i = tag & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		uint64_t	 e = t->e[i];

		if (e == 0)
			return -1;
		if ((uint32_t)(e >> 32) == tag &&
		    eq(ctx, (uint32_t)e - 1, key))
			return (long)((uint32_t)e - 1);
	}
}

static void
itab_insert(uint64_t *e, size_t cap, uint64_t entry)
{
	size_t	 i;

	for (i = (entry >> 32) & (cap - 1); e[i] != 0; i = (i + 1) & (cap - 1))
		;
	e[i] = entry;
}

/* Adds idx under h (the caller checked it is not there); -1 past memory. */
int
itab_put(struct inv_parse *p, struct itab *t, uint64_t h, size_t idx)
{
	uint64_t	*ne;
	size_t		 ncap, i;

	if ((t->n + 1) * 2 > t->cap) {
		ncap = t->cap ? t->cap * 2 : 64;
		if (ip_take(p, ncap * sizeof(*ne)) == -1)
			return -1;
		if ((ne = calloc(ncap, sizeof(*ne))) == NULL)
			abort();
		for (i = 0; i < t->cap; i++)
			if (t->e[i] != 0)
				itab_insert(ne, ncap, t->e[i]);
		free(t->e);
		inv_mem_give(p->inv, t->cap * sizeof(*ne));
		t->e = ne;
		t->cap = ncap;
	}
	itab_insert(t->e, t->cap, ((uint64_t)(uint32_t)h << 32) |
	    ((uint64_t)idx + 1));
	t->n++;
	return 0;
}

void
itab_free(struct inv_parse *p, struct itab *t)
{
	free(t->e);
	inv_mem_give(p->inv, t->cap * sizeof(*t->e));
	memset(t, 0, sizeof(*t));
}


static int
next_line(const char **cur, const char *end, const char **line, size_t *len)
{
	const char	*nl;

	if (*cur >= end)
		return 0;
	*line = *cur;
	nl = memchr(*cur, '\n', (size_t)(end - *cur));
	if (nl == NULL) {
		*len = (size_t)(end - *cur);
		*cur = end;
	} else {
		*len = (size_t)(nl - *cur);
		*cur = nl + 1;
	}
	return 1;
}

/*
 * The next line of a section into p->line, NUL-terminated and scrubbed;
 * 0 at its end, past a bound, a deadline or a stop.
 */
int
ip_next(struct inv_parse *p, const char **cur, const char *end)
{
	const char	*l;
	size_t		 len;

	if (p->rc != INV_OK || !next_line(cur, end, &l, &len))
		return 0;
	if ((++p->tick % CHECK_EVERY) == 0 &&
	    inv_interrupted(p->lim, p->inv, "parsing the inventory", &p->rc))
		return 0;
	if (len + 1 > p->linecap) {
		size_t	 ncap = p->linecap ? p->linecap : 256;

		while (ncap < len + 1)
			ncap *= 2;
		if (ip_take(p, ncap - p->linecap) == -1)
			return 0;
		free(p->line);
		p->line = hs_xmalloc(ncap);
		p->linecap = ncap;
	}
	memcpy(p->line, l, len);
	p->line[len] = '\0';
	hs_utf8_scrub(p->line);
	return 1;
}

/*
 * Splits s on sep into at most max fields, in place; the last keeps the
 * rest of the line, separators and all.
 */
size_t
ip_split(char *s, char sep, char **f, size_t max)
{
	size_t	 n = 0;

	while (n < max) {
		char	*q;

		f[n++] = s;
		if (n == max || (q = strchr(s, sep)) == NULL)
			break;
		*q = '\0';
		s = q + 1;
	}
	return n;
}

long long
ip_num(const char *s, long long dflt)
{
	long long	 v;
	const char	*errstr;

	if (hs_strtonum(s, -1, 4294967295LL, &v, &errstr) == -1)
		return dflt;
	return v;
}


/*
 * Locates the framed sections; a section without its end is incomplete.
 * Returns 1 when there was any frame.
 */
static int
find_sections(struct inv_parse *p, const char *out, size_t outlen,
    const char *marker, struct inv_section *sc)
{
	const char	*cur = out, *end = out + outlen, *l;
	size_t		 len, mlen = strlen(marker);
	int		 at = -1, any = 0, i;

	memset(sc, 0, sizeof(*sc) * S__MAX);
	while (next_line(&cur, end, &l, &len)) {
		char	 frame[64], name[32];
		int	 st;

		if ((++p->tick % CHECK_EVERY) == 0 && inv_interrupted(p->lim,
		    p->inv, "parsing the inventory", &p->rc))
			return any;
		/* Frames are short; a long line is data, whatever it starts with. */
		if (len <= mlen + 1 || len - mlen - 1 >= sizeof(frame) ||
		    memcmp(l, marker, mlen) != 0 || l[mlen] != ' ')
			continue;
		memcpy(frame, l + mlen + 1, len - mlen - 1);
		frame[len - mlen - 1] = '\0';
		if (sscanf(frame, "begin %31s", name) == 1) {
			at = -1;
			for (i = 0; i < S__MAX; i++)
				if (strcmp(name, sec_names[i]) == 0)
					at = i;
			if (at >= 0) {
				sc[at].seen = 1;
				sc[at].ended = 0;
				sc[at].p = cur;
				any = 1;
			}
		} else if (sscanf(frame, "end %31s %d", name, &st) == 2 &&
		    at >= 0 && strcmp(name, sec_names[at]) == 0) {
			/* Drop the newline the frame added. */
			sc[at].len = (size_t)(l - sc[at].p);
			if (sc[at].len > 0)
				sc[at].len--;
			sc[at].ended = 1;
			sc[at].status = st;
			at = -1;
		}
	}
	return any;
}

int
inventory_parse(const char *out, size_t len, const char *marker,
    const struct inv_limits *lim, struct inventory *inv)
{
	struct inv_parse	 p;
	struct inv_section	 sc[S__MAX];
	int			 i;

	memset(&p, 0, sizeof(p));
	p.inv = inv;
	p.lim = lim;
	p.what = "the output";
	randombytes_buf(p.key, sizeof(p.key));
	if (!find_sections(&p, out, len, marker, sc)) {
		if (p.rc == INV_OK)
			p.rc = INV_NO_SHELL;
		goto out;
	}
	if (p.rc != INV_OK)
		goto out;
	for (i = 0; i < S__MAX; i++)
		if (sc[i].seen && !sc[i].ended)
			ip_note(&p, "warning", "section %s cut short: not "
			    "collected", sec_names[i]);
	if (sc[S_ID].ended && memmem(sc[S_ID].p, sc[S_ID].len, "sudo=yes",
	    8) != NULL)
		ip_note(&p, "info", "sudo -n is allowed: used for files this "
		    "account cannot read");
	inv_parse_tables(&p, sc);
	if (p.rc == INV_OK)
		ip_note(&p, "info", "os=%.64s version=%.32s users=%zu groups=%zu "
		    "services=%zu tasks=%zu packages=%zu",
		    inv->os_name ? inv->os_name : "-",
		    inv->os_version ? inv->os_version : "-", inv->nusers,
		    inv->ngroups, inv->nservices, inv->ntasks,
		    inv->npackages);
out:
	free(p.line);
	inv_mem_give(inv, p.linecap);
	return p.rc;
}

void
inventory_free(struct inventory *inv)
{
	struct inv_block	*b, *nb;
	size_t			 i;

	free(inv->users);
	for (i = 0; i < inv->ngroups; i++) {
		free(inv->groups[i].members);
		free(inv->groups[i].member_user);
	}
	free(inv->groups);
	free(inv->services);
	free(inv->tasks);
	free(inv->packages);
	for (i = 0; i < IT__MAX; i++)
		free(inv->json[i]);
	for (b = inv->arena; b != NULL; b = nb) {
		nb = b->next;
		free(b);
	}
	inventory_init(inv, inv->mem_max);
}

