/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer driver for the HostScanJobRequest table: the bytes are a
 * request body, parsed exactly as POST /HostScanJob parses it.  Build
 * instructions are in t/fuzz/README.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t			*root = NULL, *errors = NULL;
	struct hs_host_req	*h = NULL;
	size_t			 n = 0, i;
	int			 rc;

	root = json_loadb((const char *)data, size,
	    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (root == NULL)
		goto out;
	if ((errors = json_object()) == NULL)
		goto out;
	rc = hs_validate_hosts(root, HS_DEFAULT_MAX_HOSTS, &h, &n, errors);
	/* The contract the callers rely on, checked on every input. */
	if ((rc == 0) != (json_object_size(errors) == 0))
		abort();
	if ((h == NULL) != (n == 0))
		abort();
	for (i = 0; i < n; i++) {
		if (h[i].ssh_port < 1 || h[i].ssh_port > 65535 ||
		    h[i].trust_action < -1 ||
		    h[i].trust_action >= HS_N_TRUST_ACTION ||
		    h[i].certificate_type < -1 ||
		    h[i].certificate_type >= HS_N_CERTIFICATE_TYPE)
			abort();
		if (h[i].credential_id[0] != '\0' &&
		    !hs_is_uuid(h[i].credential_id))
			abort();
		if (h[i].dns_host_name != NULL &&
		    hs_check_dns_name(h[i].dns_host_name) != NULL)
			abort();
		if (h[i].ip_address != NULL &&
		    hs_check_ip(h[i].ip_address) != NULL)
			abort();
		if (h[i].trusted_thumbprint != NULL &&
		    hs_check_thumbprint(h[i].trusted_thumbprint, NULL, 0) != NULL)
			abort();
	}
out:
	hs_host_reqs_free(h, n);
	json_decref(errors);
	json_decref(root);
	return 0;
}
