/* SPDX-License-Identifier: ISC */
/* The output of every list command: a table for people, or JSON with --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "common.h"
#include "ctl.h"

/* Row i of the n shown, in the order they are printed. */
static int
row_at(const struct ctl_list *l, int n, int i)
{
	return l->oldest_first ? n - 1 - i : i;
}

/* The text of a table cell (before cleaning). */
static const char *
cell_text(const struct ctl_col *c, const PGresult *res, int row)
{
	const char	*v;

	if (PQgetisnull(res, row, c->field))
		return c->null != NULL ? c->null : "-";
	v = PQgetvalue(res, row, c->field);
	if (c->type == CTL_COL_BOOL)
		return v[0] == 't' ? "yes" : "no";
	return *v != '\0' ? v : "-";
}

static json_t *
json_value(const struct ctl_col *c, const PGresult *res, int row)
{
	const char	*v;

	if (PQgetisnull(res, row, c->field))
		return json_null();
	v = PQgetvalue(res, row, c->field);
	switch (c->type) {
	case CTL_COL_INT:
		return json_integer((json_int_t)strtoll(v, NULL, 10));
	case CTL_COL_BOOL:
		return json_boolean(v[0] == 't');
	case CTL_COL_TEXT:
		break;
	}
	return json_string(v);
}

static int
print_json(const struct ctl_list *l, const PGresult *res, int n)
{
	json_t	*arr = NULL, *o, *v;
	char	*text = NULL;
	size_t	 c;
	int	 i, rc = -1;

	if ((arr = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((o = json_object()) == NULL ||
		    json_array_append_new(arr, o) == -1)
			goto out;
		for (c = 0; c < l->ncols; c++) {
			if (l->cols[c].key == NULL)
				continue;
			v = json_value(&l->cols[c], res, row_at(l, n, i));
			if (v == NULL ||
			    json_object_set_new(o, l->cols[c].key, v) == -1)
				goto out;
		}
	}
	if ((text = json_dumps(arr, JSON_INDENT(2))) == NULL)
		goto out;
	printf("%s\n", text);
	rc = 0;
out:
	free(text);
	json_decref(arr);
	return rc;
}

/*
 * Cells are padded by characters (names may be non-ASCII) and cleaned:
 * what the database holds may have come from a scanned host or a caller,
 * and none of it may reach the terminal as a control sequence.  Row 0 is
 * the header.
 */
static void
print_table(const struct ctl_list *l, const PGresult *res, int n)
{
	struct tcell {
		char	*text;		/* NULL: not a table column */
		size_t	 chars;
	}		*t, *x;
	const char	*v;
	size_t		*width, nc = l->ncols, rows = (size_t)n + 1, last = 0;
	size_t		 r, c, len, w;

	t = hs_xmalloc(rows * nc * sizeof(*t));
	width = hs_xmalloc(nc * sizeof(*width));
	for (c = 0; c < nc; c++) {
		width[c] = 0;
		if (l->cols[c].head != NULL)
			last = c;
	}
	for (r = 0; r < rows; r++)
		for (c = 0; c < nc; c++) {
			x = &t[r * nc + c];
			x->text = NULL;
			if (l->cols[c].head == NULL)
				continue;
			v = r == 0 ? l->cols[c].head : cell_text(&l->cols[c],
			    res, row_at(l, n, (int)r - 1));
			len = strlen(v) + 1;
			x->text = hs_xmalloc(len);
			if ((x->chars = hs_utf8_clean(x->text, len, v)) >
			    width[c])
				width[c] = x->chars;
		}
	for (r = 0; r < rows; r++)
		for (c = 0; c < nc; c++) {
			x = &t[r * nc + c];
			if (x->text == NULL)
				continue;
			fputs(x->text, stdout);
			free(x->text);
			if (c == last)
				putchar('\n');
			else
				for (w = x->chars; w < width[c] + 2; w++)
					putchar(' ');
		}
	free(width);
	free(t);
}

int
ctl_list_query(const struct ctl *ctl, const struct ctl_list *l,
    const char *sql, int n, const char *const *values, int json)
{
	PGresult	*res;
	int		 rc;

	if ((res = ctl_db_query(ctl, l->cmd, sql, n, values, NULL)) == NULL)
		return CTL_ERR;
	rc = ctl_list_print(l, res, PQntuples(res), json);
	PQclear(res);
	return rc;
}

int
ctl_list_print(const struct ctl_list *l, const PGresult *res, int n,
    int json)
{
	if (!json) {
		print_table(l, res, n);
		return CTL_OK;
	}
	if (print_json(l, res, n) == -1)
		return ctl_err("%s: cannot build the JSON output", l->cmd);
	return CTL_OK;
}
