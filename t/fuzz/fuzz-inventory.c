/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer driver for hostscand's inventory parser: the bytes are what a
 * target printed for the inventory script (framed with the marker below),
 * parsed and encoded exactly as a scan does, then held to the contract
 * the scheduler relies on.  Build instructions are in t/fuzz/README.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sched.h"

/* The seeds in t/fuzz/corpus-inventory were captured with this marker. */
#define MARKER		"@@hs-000000000000000000000000"
/* Smaller than the default, so the fuzzer reaches the memory bound. */
#define MEM_MAX		(8 * 1024 * 1024)

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t
rows_of(const struct inventory *inv, enum inv_table t)
{
	switch (t) {
	case IT_USERS:
		return inv->nusers;
	case IT_GROUPS:
		return inv->ngroups;
	case IT_SERVICES:
		return inv->nservices;
	case IT_TASKS:
		return inv->ntasks;
	case IT_PACKAGES:
		return inv->npackages;
	default:
		return inv->json_rows[t];
	}
}

static void
check_names(const struct inventory *inv)
{
	size_t	 i, j;

	for (i = 0; i < inv->nusers; i++)
		if (strlen(inv->users[i].name) > HS_INV_MAX_NAME)
			abort();
	for (i = 0; i < inv->ngroups; i++) {
		if (strlen(inv->groups[i].name) > HS_INV_MAX_NAME)
			abort();
		for (j = 0; j < inv->groups[i].nmembers; j++)
			if (strlen(inv->groups[i].members[j]) > HS_INV_MAX_NAME)
				abort();
	}
	for (i = 0; i < inv->npackages; i++)
		if (strlen(inv->packages[i].name) > HS_INV_MAX_NAME)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	struct inventory	 inv;
	size_t			 t, members;
	int			 rc;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	inventory_init(&inv, MEM_MAX);
	rc = inventory_parse((const char *)data, size, MARKER, NULL, &inv);
	if (rc == INV_OK)
		rc = inventory_encode(&inv, NULL);
	/* Without a deadline or a stop flag, only these can come back. */
	if (rc != INV_OK && rc != INV_NO_SHELL && rc != INV_BOUND)
		abort();
	if (rc == INV_BOUND && inv.why[0] == '\0')
		abort();
	if (inv.mem_used > inv.mem_max || inv.nnotes > INV_MAX_NOTES)
		abort();
	if (inv.nusers > HS_INV_MAX_ACCOUNTS ||
	    inv.ngroups > HS_INV_MAX_ACCOUNTS ||
	    inv.nmembers > HS_INV_MAX_ACCOUNTS ||
	    inv.nservices > HS_INV_MAX_UNITS ||
	    inv.ntasks > HS_INV_MAX_UNITS ||
	    inv.npackages > HS_INV_MAX_PACKAGES)
		abort();
	check_names(&inv);
	/* Every table encoded is a JSON array (so valid UTF-8) of its rows. */
	for (t = 0; rc == INV_OK && t < IT__MAX; t++) {
		json_t	*j;

		if (inv.json[t] == NULL)
			continue;
		if ((j = json_loads(inv.json[t], 0, NULL)) == NULL ||
		    !json_is_array(j) ||
		    json_array_size(j) != rows_of(&inv, (enum inv_table)t))
			abort();
		json_decref(j);
	}
	/* At most the listed memberships plus one primary per user. */
	members = inv.json[IT_MEMBERS] != NULL ? inv.json_rows[IT_MEMBERS] : 0;
	if (members > inv.nmembers + inv.nusers)
		abort();
	inventory_free(&inv);
	if (inv.mem_used != 0)
		abort();
	return 0;
}
