/* SPDX-License-Identifier: ISC */
/*
 * The RFC 4180 parser of hostscanctl import-csv (src/ctl/csv.c): quoting,
 * line ends, the numbers it gives rows, and every error with its row.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ctl.h"
#include "tap.h"

/* All records of s joined as "a|b|c/row:line;..." or the error "E<n>@row:line". */
static char *
parse(const char *s, size_t len, size_t max_field, size_t max_record,
    size_t max_columns)
{
	static char	 out[4096];
	struct csv	 c;
	enum csv_err	 e;
	size_t		 i, o = 0;

	csv_init(&c, s, len);
	if (max_field)
		c.max_field = max_field;
	if (max_record)
		c.max_record = max_record;
	if (max_columns)
		c.max_columns = max_columns;
	out[0] = '\0';
	while ((e = csv_next(&c)) == CSV_OK) {
		for (i = 0; i < c.nfield; i++)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
			    i ? "|" : "", c.field[i]);
		o += (size_t)snprintf(out + o, sizeof(out) - o, "/%zu:%zu;",
		    c.row, c.line);
	}
	if (e != CSV_END)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "E%d@%zu:%zu",
		    (int)e, c.row, c.line);
	csv_free(&c);
	return out;
}

#define P(s)		parse((s), sizeof(s) - 1, 0, 0, 0)
/* The header record "h" (row 1), then the error. */
#define E(e, r, l)	"h/1:1;E" #e "@" #r ":" #l

static void
test_err(const char *input, enum csv_err want, size_t row, const char *name)
{
	char	 buf[64];
	char	*got = parse(input, strlen(input), 0, 0, 0);

	snprintf(buf, sizeof(buf), "E%d@%zu:", (int)want, row);
	ok(strstr(got, buf) != NULL, "%s: error %d on row %zu (got %s)", name,
	    (int)want, row, got);
}

int
main(void)
{
	char	 big[8192];

	/* Records, fields, line ends. */
	is_str(P(""), "", "empty input: no record");
	is_str(P("a,b,c\n1,2,3\n"), "a|b|c/1:1;1|2|3/2:2;", "LF");
	is_str(P("a,b,c\r\n1,2,3\r\n"), "a|b|c/1:1;1|2|3/2:2;", "CRLF");
	is_str(P("a,b\r1,2\r"), "a|b/1:1;1|2/2:2;", "lone CR (old Mac)");
	is_str(P("a,b\n1,2"), "a|b/1:1;1|2/2:2;", "no line end at the end");
	is_str(P("\xef\xbb\xbf" "a,b\r\n1,2\r\n"), "a|b/1:1;1|2/2:2;",
	    "UTF-8 byte order mark dropped");
	is_str(P("a\xef\xbb\xbf,b\n"), "a\xef\xbb\xbf|b/1:1;",
	    "a BOM elsewhere is data");
	is_str(P("a,,c,\n"), "a||c|/1:1;", "empty fields, trailing comma");
	is_str(P(",\n"), "|/1:1;", "two empty fields");
	is_str(P(" a , b \n"), " a | b /1:1;", "unquoted blanks kept");

	/* Blank lines are skipped but keep their row number. */
	is_str(P("h\n\n\nx\n"), "h/1:1;x/4:4;", "blank lines counted as rows");
	is_str(P("\r\n\r\nh\r\n"), "h/3:3;", "leading blank lines");
	is_str(P("h\n\n"), "h/1:1;", "trailing blank line: no record");

	/* Quoting. */
	is_str(P("\"a,b\",c\n"), "a,b|c/1:1;", "comma inside quotes");
	is_str(P("\"say \"\"hi\"\"\",x\n"), "say \"hi\"|x/1:1;",
	    "doubled quotes");
	is_str(P("\"\"\"\"\n"), "\"/1:1;", "a field that is one quote");
	is_str(P("\"\",x\n"), "|x/1:1;", "quoted empty field");
	is_str(P("\"line1\nline2\",x\ny,z\n"), "line1\nline2|x/1:1;y|z/2:3;",
	    "newline inside quotes: one row, two lines");
	is_str(P("\"a\r\nb\"\r\nc\r\n"), "a\r\nb/1:1;c/2:3;",
	    "CRLF inside quotes kept as is");
	is_str(P("  \"a,b\"  ,c\n"), "a,b|c/1:1;",
	    "blanks around a quoted field dropped");
	is_str(P("x\n\"a\n\nb\"\n\ny\n"), "x/1:1;a\n\nb/2:2;y/4:6;",
	    "blank line inside quotes is data; after it rows count on");

	/* Errors name their row (and the line the record starts on). */
	test_err("h\n\"abc\n", CSV_ERR_UNTERMINATED, 2, "unterminated quote");
	is_str(P("h\n\nx,\"abc\ndef\n"), E(4, 3, 3),
	    "unterminated quote: row and line of the record it opens in");
	test_err("h\nab\"c\n", CSV_ERR_QUOTE_INSIDE, 2, "quote inside an "
	    "unquoted field");
	test_err("h\n\"ab\"c,d\n", CSV_ERR_QUOTE_AFTER, 2, "text after the "
	    "closing quote");
	test_err("h\n\"ab\"  x\n", CSV_ERR_QUOTE_AFTER, 2, "text after blanks "
	    "after the closing quote");

	/* Strict UTF-8. */
	is_str(P("caf\xc3\xa9,\xe2\x82\xac,\xf0\x9f\x98\x80\n"),
	    "caf\xc3\xa9|\xe2\x82\xac|\xf0\x9f\x98\x80/1:1;",
	    "2-, 3- and 4-byte UTF-8");
	test_err("h\nok\nbad\xff\n", CSV_ERR_UTF8, 3, "0xff byte");
	test_err("h\ncaf\xe9\n", CSV_ERR_UTF8, 2, "Latin-1 byte");
	test_err("h\n\xc0\xaf\n", CSV_ERR_UTF8, 2, "overlong form");
	test_err("h\n\xed\xa0\x80\n", CSV_ERR_UTF8, 2, "UTF-16 surrogate");
	test_err("h\n\xf4\x90\x80\x80\n", CSV_ERR_UTF8, 2, "above U+10FFFF");
	test_err("h\nab\xe2\x82\n", CSV_ERR_UTF8, 2, "truncated sequence");
	test_err("h\n\"\xe2\x82\",x\n", CSV_ERR_UTF8, 2,
	    "truncated sequence inside quotes");
	is_str(parse("h\na\0b\n", 6, 0, 0, 0), E(9, 2, 2), "NUL byte");

	/* Bounds. */
	is_str(parse("abcd,e\n", 7, 4, 0, 0), "abcd|e/1:1;",
	    "a field of exactly max_field bytes");
	is_str(parse("h\nabcde\n", 8, 4, 0, 0), E(5, 2, 2),
	    "a field of max_field + 1 bytes");
	is_str(parse("h\n\"ab\"\"cd\"\n", 11, 4, 0, 0), E(5, 2, 2),
	    "max_field counts unquoted bytes");
	is_str(parse("ab,cd\n", 6, 0, 6, 0), "ab|cd/1:1;",
	    "a record of exactly max_record bytes (fields + NULs)");
	is_str(parse("h\nab,cde\n", 9, 0, 6, 0), E(6, 2, 2),
	    "a record over max_record");
	is_str(parse("h\nab,cd,\n", 9, 0, 6, 0), E(6, 2, 2),
	    "an empty last field over max_record");
	is_str(parse("a,b,c\n", 6, 0, 0, 3), "a|b|c/1:1;",
	    "exactly max_columns fields");
	is_str(parse("h\na,b,c,d\n", 10, 0, 0, 3), E(7, 2, 2),
	    "more than max_columns fields");
	memset(big, 'x', sizeof(big));
	big[0] = 'h';
	big[1] = '\n';
	is_str(parse(big, sizeof(big), 0, 0, 0), E(5, 2, 2),
	    "default field bound (%d bytes)", HS_CSV_MAX_FIELD_BYTES);

	/* Messages. */
	ok(strstr(csv_strerror(CSV_ERR_UNTERMINATED), "never closed") != NULL,
	    "unterminated: says so");
	ok(strstr(csv_strerror(CSV_ERR_UTF8), "UTF-8") != NULL,
	    "UTF-8: says so");
	is_str(csv_strerror((enum csv_err)99), "unknown error",
	    "out-of-range error code");
	return done_testing();
}
