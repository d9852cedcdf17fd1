/* SPDX-License-Identifier: ISC */
/*
 * import-csv: the product's CSV of hosts (README, "CSV import") checked
 * by POST /HostScanJob/ValidateImportedCSV and its valid rows queued by
 * one POST /HostScanJob, both through the API as any client would, so
 * the rules, the audit trail (createdBy) and the limits are the API's.
 * Two requests whatever the number of rows.
 */
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "common.h"
#include "ctl.h"

#define WATCH_INTERVAL	1	/* seconds between polls of --watch */
#define MSG_MAX		1024	/* bytes of one message shown */
#define IMPORT_POST_ATTEMPTS	3	/* tries of the one POST when no answer came */

/*
 * The columns (README, "CSV import"), their request fields and the verdict of
 * ValidateImportedCSV about each (NULL: it reports in "errors" only).
 */
static const struct column {
	const char	*name;
	const char	*field;
	const char	*verdict;
} columns[] = {
	{ "DNS Host Name", "dnsHostName", "dnsHostNameError" },
	{ "Operating System", "os", NULL },
	{ "IP Address", "ipAddress", "ipAddressError" },
	{ "Platform", "platformName", "platformNameError" },
	{ "Credential", "credentialName", "credentialNameError" },
};
#define NCOLUMNS	(sizeof(columns) / sizeof(columns[0]))
#define COL_CREDENTIAL	4

/* One data row of the file. */
struct row {
	size_t	 rowno;		/* as a spreadsheet numbers it, header = 1 */
	long	 item;		/* index in the validation request, -1 */
	char	*problem;	/* found here, not by the API; malloc'd */
	int	 valid;
};

struct import {
	const char	*file;
	const char	*source;	/* the file's base name */
	const char	*credential;	/* --credential */
	int		 map[NCOLUMNS];	/* column -> field of the record */
	size_t		 nheader;	/* fields of the header row */
	struct row	*rows;
	size_t		 nrows, caprows;
	json_t		*items;		/* the validation request */
	size_t		 ninvalid;
	int		 table_started;
	int		 roww;		/* width of the row column */
};

/* Server text goes to a terminal: no control character gets through. */
static void
put_clean(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		putc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void
table_line(struct import *im, size_t rowno, const char *column,
    const char *msg)
{
	if (!im->table_started) {
		printf("%-*s  %-16s  %s\n", im->roww, "row", "column",
		    "message");
		im->table_started = 1;
	}
	printf("%-*zu  %-16s  ", im->roww, rowno, column);
	put_clean(stdout, msg);
	putchar('\n');
}

static int
ascii_caseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if ((*a | (*a >= 'A' && *a <= 'Z' ? 0x20 : 0)) !=
		    (*b | (*b >= 'A' && *b <= 'Z' ? 0x20 : 0)))
			return 0;
	return *a == *b;
}

/* Cells are trimmed: blanks around a host name are a paste's, not data. */
static char *
trim(char *s)
{
	char	*e;

	while (*s != '\0' && strchr(" \t\r\n\v\f", *s) != NULL)
		s++;
	for (e = s + strlen(s); e > s && strchr(" \t\r\n\v\f", e[-1]) != NULL;
	    e--)
		e[-1] = '\0';
	return s;
}

static int
parse_error(const struct import *im, const struct csv *c, enum csv_err e)
{
	if (e == CSV_ERR_UNTERMINATED)
		return ctl_err("%s: row %zu (line %zu): %s", im->file, c->row,
		    c->line, csv_strerror(e));
	return ctl_err("%s: row %zu: %s", im->file, c->row, csv_strerror(e));
}

/* Maps the columns of the header row; says what is wrong with it. */
static int
header(struct import *im, struct csv *c)
{
	char		 missing[256] = "";
	size_t		 i, k;
	enum csv_err	 e;
	int		 found;

	for (k = 0; k < NCOLUMNS; k++)
		im->map[k] = -1;
	if ((e = csv_next(c)) == CSV_END)
		return ctl_err("%s: empty file; the first row must name the "
		    "columns: DNS Host Name, Operating System, IP Address, "
		    "Platform, Credential", im->file);
	if (e != CSV_OK)
		return parse_error(im, c, e);
	im->nheader = c->nfield;
	for (i = 0; i < c->nfield; i++) {
		char	*name = trim(c->field[i]);

		for (k = 0, found = 0; k < NCOLUMNS; k++) {
			if (!ascii_caseeq(name, columns[k].name))
				continue;
			if (im->map[k] != -1)
				return ctl_err("%s: row %zu: column \"%s\" "
				    "appears twice", im->file, c->row,
				    columns[k].name);
			im->map[k] = (int)i;
			found = 1;
		}
		if (found)
			continue;
		if (*name != '\0' && hs_utf8_text_len(name) > 0 &&
		    strlen(name) <= 64)
			ctl_warn("%s: column %zu \"%s\" is not one of "
			    "hostscan's; ignored", im->file, i + 1, name);
		else
			ctl_warn("%s: column %zu is not one of hostscan's; "
			    "ignored", im->file, i + 1);
	}
	for (k = 0; k < NCOLUMNS; k++)
		if (im->map[k] == -1)
			snprintf(missing + strlen(missing), sizeof(missing) -
			    strlen(missing), "%s\"%s\"", missing[0] ? ", " : "",
			    columns[k].name);
	if (missing[0] != '\0')
		return ctl_err("%s: row %zu: the header lacks the column%s %s "
		    "(expected, in any order: DNS Host Name, Operating System, "
		    "IP Address, Platform, Credential)", im->file, c->row,
		    strchr(missing, ',') ? "s" : "", missing);
	return CTL_OK;
}

static struct row *
row_add(struct import *im, size_t rowno)
{
	struct row	*r;

	if (im->nrows == im->caprows) {
		im->caprows = im->caprows ? im->caprows * 2 : 256;
		if ((r = reallocarray(im->rows, im->caprows,
		    sizeof(*r))) == NULL) {
			fputs("out of memory\n", stderr);
			abort();
		}
		im->rows = r;
	}
	r = &im->rows[im->nrows++];
	memset(r, 0, sizeof(*r));
	r->rowno = rowno;
	r->item = -1;
	return r;
}

/* One data row into a HostScanJobRequest; empty cells are null. */
static json_t *
row_item(const struct import *im, struct csv *c)
{
	json_t		*o = json_object();
	const char	*cell;
	size_t		 k;

	for (k = 0; k < NCOLUMNS; k++) {
		cell = (size_t)im->map[k] < c->nfield ? c->field[im->map[k]] :
		    "";
		if (*cell == '\0' && k == COL_CREDENTIAL &&
		    im->credential != NULL)
			cell = im->credential;
		json_object_set_new(o, columns[k].field, *cell != '\0' ?
		    json_string(cell) : json_null());
	}
	json_object_set_new(o, "source", json_string(im->source));
	return o;
}

static int
read_rows(struct import *im, struct csv *c, long max_hosts)
{
	struct row	*r;
	size_t		 i, last;
	enum csv_err	 e;
	int		 rc;

	if ((rc = header(im, c)) != CTL_OK)
		return rc;
	im->items = json_array();
	while ((e = csv_next(c)) == CSV_OK) {
		for (i = 0, last = 0; i < c->nfield; i++)
			if (*(c->field[i] = trim(c->field[i])) != '\0')
				last = i + 1;
		/* A spreadsheet writes its empty rows as ",,,,". */
		if (last == 0)
			continue;
		if (im->nrows == (size_t)max_hosts)
			return ctl_err("%s: row %zu: more than %ld hosts "
			    "(max_hosts_per_request); split the file",
			    im->file, c->row, max_hosts);
		r = row_add(im, c->row);
		if (last > im->nheader) {
			if (asprintf(&r->problem, "has %zu fields but the "
			    "header has %zu (quote a value that holds a "
			    "comma)", last, im->nheader) == -1)
				r->problem = NULL;
			continue;
		}
		r->item = (long)json_array_size(im->items);
		json_array_append_new(im->items, row_item(im, c));
	}
	if (e != CSV_END)
		return parse_error(im, c, e);
	if (im->nrows == 0)
		return ctl_err("%s: no host rows after the header", im->file);
	return CTL_OK;
}

/* HOSTSCAN_TOKEN, else a short-lived Admin token minted here. */
static int
get_token(const struct ctl *ctl, char **token)
{
	const char		*env = getenv("HOSTSCAN_TOKEN");
	const char		*roles[] = { "Admin" };
	const struct passwd	*pw;
	char			 sub[64], jti[HS_UUID_LEN + 1];
	long long		 ttl = HS_CSV_TOKEN_TTL;
	size_t			 i, len;

	*token = NULL;
	if (env != NULL && *env != '\0') {
		len = strlen(env);
		for (i = 0; i < len; i++)
			if (env[i] <= ' ' || env[i] >= 0x7f)
				break;
		if (i < len || len > HS_MAX_TOKEN_LEN)
			return ctl_err("HOSTSCAN_TOKEN does not hold a token");
		*token = hs_strdup(env);
		return CTL_OK;
	}
	/* createdBy of the job: who ran the command. */
	if ((pw = getpwuid(geteuid())) != NULL && pw->pw_name[0] != '\0' &&
	    hs_utf8_text_len(pw->pw_name) > 0 && strlen(pw->pw_name) < sizeof(sub))
		hs_strlcpy(sub, pw->pw_name, sizeof(sub));
	else
		snprintf(sub, sizeof(sub), "uid %lu", (unsigned long)geteuid());
	if (ttl > ctl->cfg.token_max_ttl)
		ttl = ctl->cfg.token_max_ttl;
	return ctl_token_mint(ctl, sub, "hostscanctl import-csv", roles, 1,
	    ttl, token, jti, NULL);
}

static void
say_messages(const char *key, const json_t *msgs)
{
	const json_t	*m;
	size_t		 j;

	json_array_foreach(msgs, j, m) {
		if (!json_is_string(m))
			continue;
		fputs("  ", stderr);
		put_clean(stderr, key);
		fputs(": ", stderr);
		put_clean(stderr, json_string_value(m));
		fputc('\n', stderr);
	}
}

/* An answer other than the one expected: status, title, detail, errors. */
static int
answer_error(const struct import *im, const char *what,
    const struct ctl_http *h)
{
	const json_t	*p = h->json, *errs;
	const char	*title = NULL, *detail = NULL, *k;
	char		 msg[MSG_MAX], retry[64] = "";
	json_t		*v;
	size_t		 i;

	if (json_is_object(p)) {
		title = json_string_value(json_object_get(p, "title"));
		detail = json_string_value(json_object_get(p, "detail"));
	}
	snprintf(msg, sizeof(msg), "%s%s%s", title ? title : "unexpected "
	    "answer", detail ? ": " : "", detail ? detail : "");
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	if (h->retry_after[0] != '\0' && strspn(h->retry_after,
	    "0123456789") == strlen(h->retry_after))
		snprintf(retry, sizeof(retry), "; retry in %s s",
		    h->retry_after);
	ctl_warn("%s: %s: the API answered %ld: %s%s%s", im->file, what,
	    h->status, msg,
	    h->status == 401 ? " (check HOSTSCAN_TOKEN, or that the API's "
	    "keyring holds this signing key)" : "", retry);
	if (json_is_object(p) &&
	    json_is_object(errs = json_object_get(p, "errors")))
		json_object_foreach((json_t *)errs, k, v)
			say_messages(k, v);
	return CTL_ERR;
}

static const char *
column_of(const char *field)
{
	size_t	 k;

	for (k = 0; k < NCOLUMNS; k++)
		if (strcmp(columns[k].field, field) == 0)
			return columns[k].name;
	if (strcmp(field, "source") == 0)
		return "(file name)";
	return field;
}

/* The verdicts of ValidateImportedCSV, row by row, into the table. */
static int
verdicts(struct import *im, const json_t *answer)
{
	const json_t	*it, *v, *errs, *m;
	const char	*k;
	json_t		*msgs;
	struct row	*r;
	size_t		 i, c, j;
	int		 bad;

	if (json_array_size(im->items) > 0 && (!json_is_array(answer) ||
	    json_array_size(answer) != json_array_size(im->items)))
		return ctl_err("%s: ValidateImportedCSV did not answer one item "
		    "per row", im->file);
	for (i = 0; i < im->nrows; i++) {
		r = &im->rows[i];
		if (r->item < 0) {
			table_line(im, r->rowno, "-", r->problem ?
			    r->problem : "cannot be read");
			im->ninvalid++;
			continue;
		}
		if (!json_is_object(it = json_array_get(answer,
		    (size_t)r->item)))
			return ctl_err("%s: ValidateImportedCSV answered a "
			    "non-object for row %zu", im->file, r->rowno);
		bad = 0;
		for (c = 0; c < NCOLUMNS; c++) {
			if (columns[c].verdict == NULL)
				continue;
			v = json_object_get(it, columns[c].verdict);
			if (v == NULL || json_is_null(v))
				continue;
			table_line(im, r->rowno, columns[c].name,
			    json_is_string(v) ? json_string_value(v) :
			    "is not valid");
			bad = 1;
		}
		errs = json_object_get(it, "errors");
		if (errs != NULL && !json_is_null(errs)) {
			bad = 1;
			if (!json_is_object(errs))
				table_line(im, r->rowno, "-", "is not valid");
			else
				json_object_foreach((json_t *)errs, k, msgs)
					json_array_foreach(msgs, j, m)
						if (json_is_string(m))
							table_line(im, r->rowno,
							    column_of(k),
							    json_string_value(m));
		}
		r->valid = !bad;
		im->ninvalid += bad;
	}
	return CTL_OK;
}

/*
 * POST refused rows ValidateImportedCSV passed (a credential deleted in
 * between): its "[k].field" paths count the rows sent, rowof[k] is the row.
 */
static void
refused_rows(struct import *im, const json_t *problem, const size_t *rowof,
    size_t nsent)
{
	const json_t	*errs = json_object_get(problem, "errors");
	const char	*path, *field;
	json_t		*msgs, *m;
	size_t		 j;
	long long	 k;
	char		*end;

	if (!json_is_object(errs))
		return;
	json_object_foreach((json_t *)errs, path, msgs) {
		if (path[0] != '[' || path[1] < '0' || path[1] > '9')
			continue;
		k = strtoll(path + 1, &end, 10);
		if (*end != ']' || k < 0 || (size_t)k >= nsent)
			continue;
		field = end[1] == '.' ? end + 2 : "-";
		json_array_foreach(msgs, j, m)
			if (json_is_string(m))
				table_line(im, rowof[k], column_of(field),
				    json_string_value(m));
	}
}

/* POST /HostScanJob with the valid rows; the new job's id into job. */
static int
submit(struct import *im, const struct ctl *ctl, const char *token,
    char job[HS_UUID_LEN + 1])
{
	struct ctl_http	 h = { 0 };
	json_t		*sub = json_array();
	const char	*id;
	char		*body = NULL;
	char		 key[sizeof("import-csv-") + 32];
	unsigned char	 rnd[16];
	size_t		*rowof = NULL, i, nsent = 0;
	int		 rc = CTL_ERR, attempt, got;

	rowof = hs_xmalloc(im->nrows * sizeof(*rowof));
	for (i = 0; i < im->nrows; i++)
		if (im->rows[i].valid) {
			json_array_append(sub, json_array_get(im->items,
			    (size_t)im->rows[i].item));
			rowof[nsent++] = im->rows[i].rowno;
		}
	if ((body = json_dumps(sub, JSON_COMPACT)) == NULL) {
		ctl_warn("out of memory");
		goto out;
	}
	/*
	 * One random Idempotency-Key for the import: when the answer is lost
	 * (no answer, or the proxy's 502/503/504), the POST is sent again
	 * and the API hands back the job the first attempt may have queued
	 * instead of queueing the hosts twice.
	 */
	randombytes_buf(rnd, sizeof(rnd));
	memcpy(key, "import-csv-", sizeof("import-csv-") - 1);
	sodium_bin2hex(key + sizeof("import-csv-") - 1,
	    sizeof(key) - (sizeof("import-csv-") - 1), rnd, sizeof(rnd));
	for (attempt = 1; ; attempt++) {
		ctl_http_free(&h);
		got = ctl_http_post(ctl, token, "/HostScanJob", key, body,
		    strlen(body), &h);
		if (attempt == IMPORT_POST_ATTEMPTS || (got == 0 &&
		    h.status != 502 && h.status != 503 && h.status != 504))
			break;
		ctl_warn("%s: POST /HostScanJob %s; retrying in %d s (the "
		    "same Idempotency-Key, so no second job)", im->file,
		    got == -1 ? "got no answer" : "answered 5xx",
		    attempt * 2);
		sleep((unsigned)attempt * 2);
	}
	if (got == -1)
		goto out;
	if (h.status != 200) {
		rc = answer_error(im, "POST /HostScanJob", &h);
		if (h.status == 400)
			refused_rows(im, h.json, rowof, nsent);
		goto out;
	}
	id = json_string_value(json_object_get(h.json, "id"));
	if (id == NULL || !hs_is_uuid(id)) {
		ctl_warn("%s: POST /HostScanJob answered without a job id",
		    im->file);
		goto out;
	}
	hs_strlcpy(job, id, HS_UUID_LEN + 1);
	rc = CTL_OK;
out:
	ctl_http_free(&h);
	free(rowof);
	free(body);
	json_decref(sub);
	return rc;
}

static const char *
base_name(const char *path)
{
	const char	*s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static void
import_free(struct import *im)
{
	size_t	 i;

	for (i = 0; i < im->nrows; i++)
		free(im->rows[i].problem);
	free(im->rows);
	json_decref(im->items);
}

int
ctl_import_csv(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "credential", required_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "watch", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct import	 im;
	struct csv	 c;
	struct ctl_http	 h = { 0 };
	char		*data = NULL, *token = NULL, *body = NULL;
	char		 job[HS_UUID_LEN + 1] = "";
	size_t		 len, valid, n;
	long		 srclen;
	int		 ch, dry = 0, watch = 0, sent, rc = CTL_ERR;

	memset(&im, 0, sizeof(im));
	csv_init(&c, "", 0);
	while ((ch = getopt_long(argc, argv, ":C:nwh", opts, NULL)) != -1)
		switch (ch) {
		case 'C':
			im.credential = optarg;
			break;
		case 'n':
			dry = 1;
			break;
		case 'w':
			watch = 1;
			break;
		default:
			return ctl_option_default("import-csv", ch, argc, argv);
		}
	if (optind + 1 != argc)
		return ctl_usage_err("import-csv: give one FILE");
	if (im.credential != NULL && (hs_utf8_text_len(im.credential) < 1 ||
	    hs_utf8_text_len(im.credential) > HS_MAX_FIELD_LEN))
		return ctl_usage_err("import-csv: --credential: 1 to %d "
		    "characters of text", HS_MAX_FIELD_LEN);
	if (dry && watch)
		return ctl_usage_err("import-csv: --dry-run submits no job to "
		    "--watch");
	im.file = argv[optind];
	im.source = base_name(im.file);
	if ((srclen = hs_utf8_text_len(im.source)) < 1 ||
	    srclen > HS_MAX_SOURCE_LEN)
		return ctl_err("%s: the file's name becomes each host's "
		    "source: it must be 1 to %d characters of text", im.file,
		    HS_MAX_SOURCE_LEN);

	/* Its JSON, always larger, has to fit in one request. */
	if ((data = hs_read_file(im.file, (size_t)ctl->cfg.max_body_bytes,
	    &len)) == NULL) {
		if (errno == EFBIG)
			ctl_warn("%s: larger than %ld bytes (max_body_bytes); "
			    "split the file", im.file,
			    ctl->cfg.max_body_bytes);
		else
			ctl_warn("%s: %s", im.file, strerror(errno));
		goto out;
	}
	if (len >= 2 && ((unsigned char)data[0] == 0xff ||
	    (unsigned char)data[0] == 0xfe) &&
	    ((unsigned char)data[1] == 0xff || (unsigned char)data[1] == 0xfe)) {
		ctl_warn("%s: UTF-16 text; save the file as \"CSV UTF-8\"",
		    im.file);
		goto out;
	}
	csv_init(&c, data, len);
	if ((rc = read_rows(&im, &c, ctl->cfg.max_hosts)) != CTL_OK)
		goto out;
	rc = CTL_ERR;
	for (im.roww = 1, n = im.rows[im.nrows - 1].rowno; n >= 10; n /= 10)
		im.roww++;
	if (im.roww < 3)
		im.roww = 3;

	if (get_token(ctl, &token) != CTL_OK)
		goto out;
	n = json_array_size(im.items);
	if (n > 0) {
		if ((body = json_dumps(im.items, JSON_COMPACT)) == NULL) {
			ctl_warn("out of memory");
			goto out;
		}
		if (ctl_http_post(ctl, token, "/HostScanJob/ValidateImportedCSV",
		    NULL,
		    body, strlen(body), &h) == -1)
			goto out;
		if (h.status != 200) {
			answer_error(&im, "ValidateImportedCSV", &h);
			goto out;
		}
	}
	if (verdicts(&im, h.json) != CTL_OK)
		goto out;
	valid = im.nrows - im.ninvalid;
	sent = !dry && valid > 0 && submit(&im, ctl, token, job) == CTL_OK;
	printf("%zu row%s: %zu valid, %zu invalid", im.nrows,
	    im.nrows == 1 ? "" : "s", valid, im.ninvalid);
	if (dry)
		printf("; nothing submitted (--dry-run)\n");
	else if (valid == 0)
		printf("; no valid row, nothing submitted\n");
	else if (!sent)
		printf("; nothing submitted (the job was refused)\n");
	else if (im.ninvalid > 0)
		printf("; the valid rows were submitted as one job, the invalid "
		    "ones were not\n");
	else
		printf("; submitted as one job\n");
	if (sent)
		printf("job %s\n", job);
	fflush(stdout);
	if (!dry && valid > 0 && !sent)
		goto out;
	rc = im.ninvalid > 0 ? CTL_ERR : CTL_OK;
	/* Watching needs no token: gone before. */
	sodium_memzero(token, strlen(token));
	if (sent && watch && ctl_watch(ctl, job, WATCH_INTERVAL) != CTL_OK)
		rc = CTL_ERR;
out:
	if (token != NULL) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
	ctl_http_free(&h);
	free(body);
	free(data);
	csv_free(&c);
	import_free(&im);
	return rc;
}
