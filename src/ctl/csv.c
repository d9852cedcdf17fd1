/* SPDX-License-Identifier: ISC */
/*
 * RFC 4180 records from a buffer in memory: the parser of import-csv.
 * Pure (no I/O, no globals), so t/unit/test-csv.c and t/fuzz/fuzz-csv.c
 * drive it directly.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ctl.h"

static const char *const csv_errors[] = {
	[CSV_OK] = "no error",
	[CSV_END] = "end of file",
	[CSV_ERR_QUOTE_INSIDE] = "a quote inside an unquoted field (quote the "
	    "whole field and double the quotes within it)",
	[CSV_ERR_QUOTE_AFTER] = "text after the closing quote of a field",
	[CSV_ERR_UNTERMINATED] = "a quoted field is never closed",
	[CSV_ERR_FIELD_LONG] = "a field is longer than "
	    HS_STR(HS_CSV_MAX_FIELD_BYTES) " bytes",
	[CSV_ERR_RECORD_LONG] = "the row is longer than "
	    HS_STR(HS_CSV_MAX_RECORD_BYTES) " bytes",
	[CSV_ERR_COLUMNS] = "the row has more than "
	    HS_STR(HS_CSV_MAX_COLUMNS) " fields",
	[CSV_ERR_UTF8] = "the row is not valid UTF-8 (save the file as "
	    "\"CSV UTF-8\")",
	[CSV_ERR_NUL] = "the row contains a NUL byte (is the file UTF-16? save "
	    "it as \"CSV UTF-8\")",
	[CSV_ERR_NOMEM] = "out of memory",
};

const char *
csv_strerror(enum csv_err e)
{
	return (size_t)e < sizeof(csv_errors) / sizeof(csv_errors[0]) &&
	    csv_errors[e] != NULL ? csv_errors[e] : "unknown error";
}

void
csv_init(struct csv *c, const char *data, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->p = data;
	c->end = data + len;
	/* Excel's "CSV UTF-8" starts with a byte order mark. */
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		c->p += 3;
	c->lineno = 1;
	c->max_field = HS_CSV_MAX_FIELD_BYTES;
	c->max_record = HS_CSV_MAX_RECORD_BYTES;
	c->max_columns = HS_CSV_MAX_COLUMNS;
}

void
csv_free(struct csv *c)
{
	free(c->buf);
	free(c->field);
	c->buf = NULL;
	c->field = NULL;
	c->nfield = 0;
}

static int
is_blank(int ch)
{
	return ch == ' ' || ch == '\t';
}

static int
is_break(int ch)
{
	return ch == '\n' || ch == '\r';
}

/* Consumes one line break: CRLF, LF or a lone CR (old Mac exports). */
static void
eat_break(struct csv *c)
{
	if (*c->p == '\r') {
		c->p++;
		if (c->p < c->end && *c->p == '\n')
			c->p++;
	} else
		c->p++;
	c->lineno++;
}

/* Appends one byte of the current field. */
static enum csv_err
put(struct csv *c, size_t fstart, int ch)
{
	if (ch == '\0')
		return CSV_ERR_NUL;
	if (c->len - fstart >= c->max_field)
		return CSV_ERR_FIELD_LONG;
	/* One byte stays free for the field's NUL. */
	if (c->len + 1 >= c->max_record)
		return CSV_ERR_RECORD_LONG;
	c->buf[c->len++] = (char)ch;
	return CSV_OK;
}

static enum csv_err
quoted(struct csv *c, size_t fstart)
{
	enum csv_err	 e;
	int		 ch;

	c->p++;
	for (;;) {
		if (c->p == c->end)
			return CSV_ERR_UNTERMINATED;
		ch = (unsigned char)*c->p;
		if (ch == '"') {
			if (c->p + 1 < c->end && c->p[1] == '"')
				c->p++;
			else {
				c->p++;
				break;
			}
		} else if (ch == '\n' ||
		    (ch == '\r' && (c->p + 1 == c->end || c->p[1] != '\n')))
			c->lineno++;
		if ((e = put(c, fstart, ch)) != CSV_OK)
			return e;
		c->p++;
	}
	while (c->p < c->end && is_blank((unsigned char)*c->p))
		c->p++;
	if (c->p < c->end && *c->p != ',' && !is_break((unsigned char)*c->p))
		return CSV_ERR_QUOTE_AFTER;
	return CSV_OK;
}

static enum csv_err
unquoted(struct csv *c, size_t fstart)
{
	enum csv_err	 e;

	while (c->p < c->end && *c->p != ',' &&
	    !is_break((unsigned char)*c->p)) {
		if (*c->p == '"')
			return CSV_ERR_QUOTE_INSIDE;
		if ((e = put(c, fstart, (unsigned char)*c->p)) != CSV_OK)
			return e;
		c->p++;
	}
	return CSV_OK;
}

/*
 * The next record into c->field[0 .. c->nfield), each NUL-terminated,
 * blanks around a quoted field dropped, everything else as in the file.
 * Empty lines are skipped but counted in c->row, the number a spreadsheet
 * shows for the record; c->line is the line the record starts on.  After
 * an error, c->row and c->line name the record and the parser must not be
 * called again.
 */
enum csv_err
csv_next(struct csv *c)
{
	const char	*q;
	size_t		 fstart;
	enum csv_err	 e;

	if (c->buf == NULL) {
		if (c->max_record < 1 || c->max_columns < 1 ||
		    (c->buf = malloc(c->max_record)) == NULL ||
		    (c->field = calloc(c->max_columns,
		    sizeof(*c->field))) == NULL)
			return CSV_ERR_NOMEM;
	}
	c->nfield = 0;
	c->len = 0;
	while (c->p < c->end && is_break((unsigned char)*c->p)) {
		c->row++;
		eat_break(c);
	}
	if (c->p == c->end)
		return CSV_END;
	c->row++;
	c->line = c->lineno;
	for (;;) {
		if (c->nfield == c->max_columns)
			return CSV_ERR_COLUMNS;
		fstart = c->len;
		for (q = c->p; q < c->end && is_blank((unsigned char)*q); q++)
			;
		if (q < c->end && *q == '"') {
			c->p = q;
			e = quoted(c, fstart);
		} else
			e = unquoted(c, fstart);
		if (e != CSV_OK)
			return e;
		/* Controls are the validation table's business, not the file's. */
		if (!hs_utf8_valid(c->buf + fstart, c->len - fstart))
			return CSV_ERR_UTF8;
		if (c->len >= c->max_record)
			return CSV_ERR_RECORD_LONG;
		c->buf[c->len++] = '\0';
		c->field[c->nfield++] = c->buf + fstart;
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end)
			eat_break(c);
		return CSV_OK;
	}
}
