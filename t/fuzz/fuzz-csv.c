/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer driver for the CSV parser of hostscanctl import-csv: the bytes
 * are a file, read record by record as import-csv reads it.  Build
 * instructions are in t/fuzz/README.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ctl.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv	 c;
	enum csv_err	 e;
	size_t		 i, rows = 0, prev = 0;

	csv_init(&c, (const char *)data, size);
	while ((e = csv_next(&c)) == CSV_OK) {
		/* The contract import-csv relies on, checked on every record. */
		if (c.nfield < 1 || c.nfield > c.max_columns || c.row <= prev ||
		    c.line < c.row || ++rows > size + 1)
			abort();
		prev = c.row;
		for (i = 0; i < c.nfield; i++)
			if (strlen(c.field[i]) > c.max_field ||
			    c.field[i] < c.buf ||
			    c.field[i] >= c.buf + c.max_record)
				abort();
	}
	if (e == CSV_OK || e == CSV_ERR_NOMEM || strlen(csv_strerror(e)) == 0)
		abort();
	csv_free(&c);
	return 0;
}
