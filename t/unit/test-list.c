/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of src/ctl/list.c, the one printer of hostscanctl's list
 * commands, on results built in memory (libpq's PQsetvalue): widths in
 * characters, what empty and NULL cells show, cleaned controls, the JSON
 * types, and the order of the rows.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "common.h"
#include "ctl.h"
#include "tap.h"

/* list.c's two calls into main.c, which holds hostscanctl's main(). */
int
ctl_err(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	return CTL_ERR;
}

PGresult *
ctl_db_query(const struct ctl *ctl, const char *cmd, const char *sql, int n,
    const char *const *values, const char *quiet)
{
	return NULL;
}

#define NCOL	4
/* name, enabled, count, note; NULL is SQL NULL. */
static const char *const rows[][NCOL] = {
	{ "alice", "t", "3", "" },
	{ "b\xc3\xa9" "a", "f", "12", NULL },
	{ "\x1b[31mred", "t", "0", "tab\there\xc2\x9b" },
};
#define NROW	(sizeof(rows) / sizeof(rows[0]))

static PGresult *
result(void)
{
	PGresAttDesc	 att[NCOL];
	PGresult	*res;
	size_t		 r, c;

	memset(att, 0, sizeof(att));
	att[0].name = (char *)"name";
	att[1].name = (char *)"enabled";
	att[2].name = (char *)"count";
	att[3].name = (char *)"note";
	if ((res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK)) == NULL ||
	    !PQsetResultAttrs(res, NCOL, att))
		abort();
	for (r = 0; r < NROW; r++)
		for (c = 0; c < NCOL; c++)
			if (!PQsetvalue(res, (int)r, (int)c,
			    (char *)rows[r][c], rows[r][c] == NULL ? -1 :
			    (int)strlen(rows[r][c])))
				abort();
	return res;
}

/* What ctl_list_print() wrote to stdout, malloc'd; *rc its status. */
static char *
output(const struct ctl_list *l, const PGresult *res, int n, int json,
    int *rc)
{
	char	 path[] = "/tmp/test-list.XXXXXX";
	char	*text;
	size_t	 len;
	int	 fd, saved;

	fflush(stdout);
	if ((fd = mkstemp(path)) == -1 || (saved = dup(STDOUT_FILENO)) == -1 ||
	    dup2(fd, STDOUT_FILENO) == -1)
		abort();
	*rc = ctl_list_print(l, res, n, json);
	fflush(stdout);
	if (dup2(saved, STDOUT_FILENO) == -1)
		abort();
	close(saved);
	close(fd);
	text = hs_read_file(path, 1 << 20, &len);
	unlink(path);
	return text;
}

int
main(void)
{
	static const struct ctl_col cols[] = {
		{ "NAME", "name", 0, CTL_COL_TEXT, NULL },
		{ NULL, "enabled", 1, CTL_COL_BOOL, NULL },
		{ "ON", NULL, 1, CTL_COL_BOOL, NULL },
		{ "COUNT", "count", 2, CTL_COL_INT, NULL },
		{ "NOTE", "note", 3, CTL_COL_TEXT, "none" },
		{ NULL, "json_only", 0, CTL_COL_TEXT, NULL },
	};
	struct ctl_list	 l = { "test list", cols,
	    sizeof(cols) / sizeof(cols[0]), 0 };
	PGresult	*res = result();
	json_t		*j;
	char		*out;
	int		 rc;

	out = output(&l, res, NROW, 0, &rc);
	is_int(rc, CTL_OK, "table: CTL_OK");
	is_str(out,
	    "NAME      ON   COUNT  NOTE\n"
	    "alice     yes  3      -\n"
	    "b\xc3\xa9" "a       no   12     none\n"
	    "?[31mred  yes  0      tab?here?\n",
	    "table: padded by characters, two blanks apart, the last column "
	    "unpadded; - for empty, the column's text for NULL, yes/no, "
	    "controls as ?");
	free(out);

	l.oldest_first = 1;
	out = output(&l, res, 2, 0, &rc);
	is_str(out,
	    "NAME   ON   COUNT  NOTE\n"
	    "b\xc3\xa9" "a    no   12     none\n"
	    "alice  yes  3      -\n",
	    "table: the first n rows, last to first, widths from those alone");
	free(out);

	out = output(&l, res, 0, 0, &rc);
	is_str(out, "NAME  ON  COUNT  NOTE\n", "table: no rows, the header");
	free(out);

	l.oldest_first = 0;
	out = output(&l, res, NROW, 1, &rc);
	is_int(rc, CTL_OK, "JSON: CTL_OK");
	j = out != NULL ? json_loads(out, 0, NULL) : NULL;
	ok(json_is_array(j) && json_array_size(j) == NROW,
	    "JSON: an array of every row");
	is_str(json_string_value(json_object_get(json_array_get(j, 0),
	    "name")), "alice", "JSON: text");
	ok(json_is_true(json_object_get(json_array_get(j, 0), "enabled")) &&
	    json_is_false(json_object_get(json_array_get(j, 1), "enabled")),
	    "JSON: booleans");
	ok(json_is_integer(json_object_get(json_array_get(j, 1), "count")) &&
	    json_integer_value(json_object_get(json_array_get(j, 1),
	    "count")) == 12, "JSON: numbers");
	ok(json_is_null(json_object_get(json_array_get(j, 1), "note")),
	    "JSON: SQL NULL is null");
	is_str(json_string_value(json_object_get(json_array_get(j, 0),
	    "note")), "", "JSON: an empty string stays one");
	is_str(json_string_value(json_object_get(json_array_get(j, 2),
	    "note")), "tab\there\xc2\x9b", "JSON: text as stored (JSON "
	    "escapes controls)");
	ok(json_object_size(json_array_get(j, 0)) == 5 &&
	    json_object_get(json_array_get(j, 0), "ON") == NULL,
	    "JSON: the members named, table-only columns left out");
	ok(out != NULL && strstr(out, "\"name\": \"alice\",\n    "
	    "\"enabled\": true") != NULL, "JSON: members in column order");
	json_decref(j);
	free(out);
	PQclear(res);
	return done_testing();
}
