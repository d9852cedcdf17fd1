/* SPDX-License-Identifier: ISC */
/*
 * POST /HostScanJob/ValidateImportedCSV: the items of a HostScanJobRequest
 * array back, each with the problems POST /HostScanJob would find in it.
 * The validation is hosts_validate(), POST's own, so the two cannot
 * disagree; this file only decides where each reported path goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* The HostScanJobRequest fields echoed back; others are dropped. */
static const char *const echoed[] = {
	"dnsHostName", "ipAddress", "os", "credentialId", "credentialName",
	"platformName", "acceptThumbprintOnFirstDiscovery",
	"sshTrustActionType", "certificateType", "trustedThumbprint",
	"sshPort", "source",
};

/* The product's four error fields and the request fields they answer for. */
static const struct {
	const char	*field;
	const char	*out;
} named[] = {
	{ "dnsHostName", "dnsHostNameError" },
	{ "ipAddress", "ipAddressError" },
	{ "credentialName", "credentialNameError" },
	{ "credentialId", "credentialNameError" },
	{ "platformName", "platformNameError" },
};

/* What each item gets besides its fields: null when fine. */
static const char *const verdicts[] = {
	"dnsHostNameError", "ipAddressError", "credentialNameError",
	"platformNameError", "errors",
};


/* Absent, null and "" are all "not given", as the validation table says. */
static int
unset(const json_t *v)
{
	return v == NULL || json_is_null(v) ||
	    (json_is_string(v) && json_string_length(v) == 0);
}

/*
 * "[12].sshPort" -> 12 and "sshPort"; "[12]" -> 12 and "".  -1 for any
 * other path or an index outside the body.
 */
static int
path_item(const char *path, size_t n, size_t *i, const char **field)
{
	char		 num[24];
	const char	*errstr, *e;
	long long	 v;
	size_t		 len;

	if (path[0] != '[' || (e = strchr(path, ']')) == NULL)
		return -1;
	len = (size_t)(e - path - 1);
	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, path + 1, len);
	num[len] = '\0';
	if (hs_strtonum(num, 0, (long long)n - 1, &v, &errstr) == -1)
		return -1;
	if (e[1] == '.' && e[2] != '\0')
		*field = e + 2;
	else if (e[1] == '\0')
		*field = "";
	else
		return -1;
	*i = (size_t)v;
	return 0;
}

/*
 * A message of the table ("must be ...", "is not a known platform") as a
 * sentence about the field that was sent, which for credentialNameError
 * may be credentialId.
 */
static void
sentence_add(json_t *item, const char *out, const char *field,
    const char *msg)
{
	const json_t	*old = json_object_get(item, out);
	const char	*prev = json_is_string(old) ? json_string_value(old) :
	    NULL;
	int		 subject = strncmp(msg, "must ", 5) == 0 ||
	    strncmp(msg, "is ", 3) == 0;
	size_t		 mlen = strlen(msg);
	char		*s;

	if (asprintf(&s, "%s%s%s%s%s%s", prev ? prev : "", prev ? " " : "",
	    subject ? field : "", subject ? " " : "", msg,
	    mlen > 0 && msg[mlen - 1] == '.' ? "" : ".") == -1) {
		fputs("out of memory\n", stderr);
		abort();
	}
	json_object_set_new(item, out, json_string(s));
	free(s);
}

static json_t *
item_new(const json_t *in)
{
	json_t	*o = json_object();
	json_t	*v;
	size_t	 k;

	for (k = 0; json_is_object(in) && k < NELEM(echoed); k++)
		if ((v = json_object_get(in, echoed[k])) != NULL)
			json_object_set(o, echoed[k], v);
	for (k = 0; k < NELEM(verdicts); k++)
		json_object_set_new(o, verdicts[k], json_null());
	return o;
}

/*
 * Routes every "[i].field" of errors to item i: the four named fields to
 * their *Error sentence, any other field (and "[i]" itself, as "$") to the
 * item's "errors" object with the table's messages.  Returns -1 when a
 * path belongs to no item; the caller then answers as POST does.
 */
static int
route_errors(json_t *items, const json_t *root, json_t *errors)
{
	const char	*path, *field;
	json_t		*msgs, *m, *item, *other;
	size_t		 n = json_array_size(items), i, k, j;
	const char	*out;

	json_object_foreach(errors, path, msgs) {
		if (path_item(path, n, &i, &field) == -1)
			return -1;
		item = json_array_get(items, i);
		for (k = 0, out = NULL; k < NELEM(named); k++)
			if (strcmp(field, named[k].field) == 0)
				out = named[k].out;
		json_array_foreach(msgs, j, m) {
			if (!json_is_string(m))
				continue;
			if (out != NULL) {
				sentence_add(item, out, field,
				    json_string_value(m));
				continue;
			}
			if (!json_is_object(other = json_object_get(item,
			    "errors"))) {
				other = json_object();
				json_object_set_new(item, "errors", other);
			}
			hs_errors_add(other, *field ? field : "$",
			    json_string_value(m));
		}
	}
	/*
	 * The table reports "neither a name nor an address" on dnsHostName
	 * only; either column fixes it, so both carry it.
	 */
	json_array_foreach(items, i, item) {
		const json_t	*in = json_array_get(root, i);

		if (json_is_object(in) &&
		    unset(json_object_get(in, "dnsHostName")) &&
		    unset(json_object_get(in, "ipAddress")) &&
		    json_is_string(json_object_get(item, "dnsHostNameError")) &&
		    json_is_null(json_object_get(item, "ipAddressError")))
			json_object_set(item, "ipAddressError",
			    json_object_get(item, "dnsHostNameError"));
	}
	return 0;
}

static int
item_bad(const json_t *item)
{
	size_t	 k;

	for (k = 0; k < NELEM(verdicts); k++)
		if (!json_is_null(json_object_get(item, verdicts[k])))
			return 1;
	return 0;
}

void
h_csv_validate(struct req *r, const char *id)
{
	json_t			*root = NULL, *errors = NULL;
	json_t			*items = NULL;
	struct hs_host_req	*h = NULL;
	size_t			 n = 0, i, bad = 0;
	enum api_err		 e;
	enum db_err		 dberr = DB_OK;

	if ((root = body_json(r, 0)) == NULL)
		goto out;
	errors = json_object();
	/* A dry run: nothing would be sent, so nothing goes to the audit. */
	e = hosts_validate(r, root, &h, &n, NULL, NULL, errors, NULL,
	    &dberr);
	if (e == API_UNAVAILABLE || e == API_INTERNAL) {
		reply_db_error(r, dberr);
		goto out;
	}
	/* The body as a whole: the same 400 as POST. */
	if (e != API_OK) {
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto out;
	}
	items = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(items, item_new(json_array_get(root, i)));
	if (route_errors(items, root, errors) == -1) {
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto out;
	}
	for (i = 0; i < n; i++)
		bad += item_bad(json_array_get(items, i));
	hs_log(HS_LOG_INFO, "csv_validated", "trace=%s items=%zu invalid=%zu",
	    r->trace, n, bad);
	reply_json(r, 200, items, NULL);
out:
	json_decref(items);
	json_decref(root);
	json_decref(errors);
	hs_host_reqs_free(h, n);
}
