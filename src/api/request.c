/* SPDX-License-Identifier: ISC */
/*
 * One request: where it is from (path, client address), what it carries
 * (body, JSON, query parameters, paging arguments), and its answer (JSON,
 * or a problem, with the one table from api_err to HTTP status).
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "api.h"

/* The one place an api_err becomes an HTTP status. */
static const struct {
	int		 status;
	const char	*reason;
	const char	*title;
} errmap[API__MAX] = {
	[API_OK] = { 200, "OK", "OK" },
	[API_BAD_REQUEST] = { 400, "Bad Request", "Bad request." },
	[API_VALIDATION] = { 400, "Bad Request",
	    "One or more validation errors occurred." },
	[API_UNAUTHORIZED] = { 401, "Unauthorized", "Unauthorized" },
	[API_FORBIDDEN] = { 403, "Forbidden", "Forbidden" },
	[API_NOT_FOUND] = { 404, "Not Found", "Not Found" },
	[API_METHOD] = { 405, "Method Not Allowed", "Method Not Allowed" },
	[API_CONFLICT] = { 409, "Conflict", "Conflict" },
	[API_LENGTH_REQUIRED] = { 411, "Length Required", "Length Required" },
	[API_TOO_LARGE] = { 413, "Content Too Large", "Content Too Large" },
	[API_UNSUPPORTED_TYPE] = { 415, "Unsupported Media Type",
	    "Unsupported Media Type" },
	[API_UNPROCESSABLE] = { 422, "Unprocessable Content",
	    "Unprocessable Content" },
	[API_TOO_MANY] = { 429, "Too Many Requests", "Too Many Requests" },
	[API_INTERNAL] = { 500, "Internal Server Error",
	    "An error occurred while processing your request." },
	[API_UNAVAILABLE] = { 503, "Service Unavailable",
	    "Service Unavailable" },
};

static const char *
reason_of(int status)
{
	size_t	 i;

	for (i = 0; i < API__MAX; i++)
		if (errmap[i].status == status)
			return errmap[i].reason;
	return status == 202 ? "Accepted" : "OK";
}

/* REQUEST_URI decoded up to its query into out; "" when it cannot be. */
static void
decode_uri(const char *s, char *out, size_t size)
{
	size_t	 o = 0, i;

	for (i = 0; s[i] != '\0' && s[i] != '?'; i++) {
		int	 c = (unsigned char)s[i];

		if (o + 1 >= size) {
			out[0] = '\0';
			return;
		}
		if (c == '%') {
			int	 h = hs_hexval((unsigned char)s[i + 1]), l;

			if (h < 0 || (l = hs_hexval((unsigned char)s[i + 2])) < 0 ||
			    (c = h * 16 + l) == 0) {
				out[0] = '\0';
				return;
			}
			i += 2;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
}

/*
 * The path, and the part of it to route on.  The web server says where
 * the API is mounted in one of two ways.  It splits the path itself:
 * SCRIPT_NAME the mount, PATH_INFO below it (CGI, nginx's
 * fastcgi_split_path_info); or it hands the whole path (nginx's decoded,
 * normalised $uri as DOCUMENT_URI, else REQUEST_URI decoded up to its
 * query) and url_prefix names the mount, which the path must start with.
 * Links carry url_prefix when it is set, since only the operator knows the
 * public URL a rewrite or a proxy in front may hide from the web server;
 * else the SCRIPT_NAME of a split path.  A path outside the prefix, one
 * that decodes to a NUL or does not fit, and a SCRIPT_NAME that is no
 * path prefix route on "", a 404.
 */
static void
set_path(struct req *r)
{
	const char	*cfg_prefix = r->w->cfg->url_prefix;
	const char	*s, *sn = r->io->param(r->io, "SCRIPT_NAME");
	size_t		 n;

	r->path[0] = '\0';
	r->route = "";
	r->prefix[0] = '\0';
	if (cfg_prefix != NULL)
		hs_strlcpy(r->prefix, cfg_prefix, sizeof(r->prefix));
	if ((s = r->io->param(r->io, "PATH_INFO")) != NULL && *s == '/') {
		if (sn == NULL)
			sn = "";
		if ((n = strlen(sn)) > HS_MAX_URL_PREFIX_LEN ||
		    !hs_path_prefix_ok(sn, n) || n + strlen(s) >=
		    sizeof(r->path))
			return;
		if (cfg_prefix == NULL)
			memcpy(r->prefix, sn, n + 1);
		memcpy(r->path, sn, n);
		memcpy(r->path + n, s, strlen(s) + 1);
		r->route = r->path + n;
		return;
	}
	if ((s = r->io->param(r->io, "DOCUMENT_URI")) != NULL && *s == '/') {
		if (hs_strlcpy(r->path, s, sizeof(r->path)) != 0)
			r->path[0] = '\0';
	} else if ((s = r->io->param(r->io, "REQUEST_URI")) != NULL)
		decode_uri(s, r->path, sizeof(r->path));
	n = cfg_prefix != NULL ? strlen(cfg_prefix) : 0;
	if (r->path[0] == '/' && strncmp(r->path, r->prefix, n) == 0 &&
	    (r->path[n] == '/' || r->path[n] == '\0'))
		r->route = r->path + n;
}

/* Appends t to the string of o bytes in buf, as much as fits. */
static size_t
append(char *buf, size_t o, size_t size, const char *t)
{
	while (*t != '\0' && o + 1 < size)
		buf[o++] = *t++;
	buf[o] = '\0';
	return o;
}

/*
 * Every value of a header the web server may pass once per line, joined
 * as one list (RFC 9110 section 5.3) into buf of HS_MAX_FORWARDED_LEN + 2
 * bytes; NULL when it is absent or blank, so that it says nothing.  A
 * longer list is cut one byte over the limit, and proxy_client() reads
 * none of it.
 */
static const char *
header_list(struct req *r, const char *name, char *buf, size_t size)
{
	const char	*v;
	size_t		 pos = 0, o = 0;
	int		 first = 1;

	buf[0] = '\0';
	while (o + 1 < size && (v = r->io->param_next != NULL ?
	    r->io->param_next(r->io, name, &pos) : first ?
	    r->io->param(r->io, name) : NULL) != NULL) {
		first = 0;
		if (v[strspn(v, " \t")] == '\0')
			continue;
		if (o > 0)
			o = append(buf, o, size, ", ");
		o = append(buf, o, size, v);
	}
	return o > 0 ? buf : NULL;
}

/*
 * REMOTE_ADDR, or from a trusted proxy the client its X-Forwarded-For
 * and Forwarded headers name (proxy.c).
 */
static void
set_addr(struct req *r)
{
	const char	*ra = r->io->param(r->io, "REMOTE_ADDR");
	const char	*xff, *fwd;
	char		 xbuf[HS_MAX_FORWARDED_LEN + 2];
	char		 fbuf[HS_MAX_FORWARDED_LEN + 2];
	int		 conflict;

	if (ra == NULL || r->w->cfg->proxies == NULL ||
	    !hs_scope_has_ip(r->w->cfg->proxies, ra)) {
		hs_strlcpy(r->addr, ra ? ra : "", sizeof(r->addr));
		return;
	}
	xff = header_list(r, "HTTP_X_FORWARDED_FOR", xbuf, sizeof(xbuf));
	fwd = header_list(r, "HTTP_FORWARDED", fbuf, sizeof(fbuf));
	proxy_client(r->w->cfg->proxies, ra, xff, fwd, r->addr,
	    sizeof(r->addr), &conflict);
	if (conflict)
		hs_log(HS_LOG_INFO, "forwarded_conflict", "trace=%s peer=%s "
		    "detail=\"X-Forwarded-For and Forwarded name different "
		    "clients; the peer is the client\"", r->trace, r->addr);
}

void
req_init(struct req *r, struct io *io, struct worker *w)
{
	unsigned char	 t[16];
	const char	*q;

	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->io = io;
	r->w = w;
	randombytes_buf(t, sizeof(t));
	sodium_bin2hex(r->trace, sizeof(r->trace), t, sizeof(t));
	r->method = io->param(io, "REQUEST_METHOD");
	if (r->method == NULL)
		r->method = "";
	q = io->param(io, "QUERY_STRING");
	r->query = q ? q : "";
	set_path(r);
	set_addr(r);
}

void
req_free(struct req *r)
{
	free(r->body);
	r->body = NULL;
	if (r->authed)
		hs_claims_free(&r->claims);
	r->authed = 0;
}

const char *
req_header(struct req *r, const char *cgi_name)
{
	return r->io->param(r->io, cgi_name);
}

/*
 * Reads the body the app accepts: a JSON media type, a declared length
 * within max_body_bytes, all of it present.
 */
enum api_err
req_read_body(struct req *r, const char **detail)
{
	const char	*cl = req_header(r, "CONTENT_LENGTH");
	const char	*ct = req_header(r, "CONTENT_TYPE");
	const char	*errstr = NULL;
	long long	 len;
	long		 got;
	size_t		 tlen;

	if (cl == NULL || *cl == '\0') {
		*detail = "a Content-Length is required";
		return API_LENGTH_REQUIRED;
	}
	if (hs_strtonum(cl, 0, LLONG_MAX, &len, &errstr) != 0) {
		*detail = "Content-Length is not a number";
		return API_BAD_REQUEST;
	}
	if (len > r->w->cfg->max_body_bytes) {
		*detail = "the body is larger than this server accepts";
		return API_TOO_LARGE;
	}
	tlen = ct ? strcspn(ct, "; \t") : 0;
	if (ct == NULL || !((tlen == 16 && strncasecmp(ct, "application/json",
	    16) == 0) || (tlen > 5 && strncasecmp(ct + tlen - 5, "+json",
	    5) == 0))) {
		*detail = "the body must be application/json";
		return API_UNSUPPORTED_TYPE;
	}
	r->body = hs_xmalloc((size_t)len + 1);
	got = len > 0 ? r->io->read(r->io, r->body, (size_t)len) : 0;
	if (got != len) {
		*detail = "the body ended before its Content-Length";
		return API_BAD_REQUEST;
	}
	r->body[len] = '\0';
	r->body_len = (size_t)len;
	return API_OK;
}

/*
 * The body as JSON (an array or object; any value with BODY_ANY), or NULL
 * after answering 400 with the parser's words.  BODY_SECRET wipes the raw
 * body once parsed (it holds a password or a code).
 */
json_t *
body_json(struct req *r, int flags)
{
	json_t		*root, *errors;
	json_error_t	 jerr;
	const char	*detail = NULL;
	char		 msg[256];
	enum api_err	 e;

	if ((e = req_read_body(r, &detail)) != API_OK) {
		reply_problem(r, e, detail, NULL);
		return NULL;
	}
	root = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL | (flags & BODY_ANY ? JSON_DECODE_ANY : 0), &jerr);
	if (flags & BODY_SECRET)
		sodium_memzero(r->body, r->body_len);
	if (root == NULL) {
		errors = json_object();
		/* The parser's words may quote the secret: not for those. */
		if (flags & BODY_SECRET)
			snprintf(msg, sizeof(msg), "the body is not valid JSON "
			    "(line %d, column %d)", jerr.line, jerr.column);
		else
			snprintf(msg, sizeof(msg), "the body is not valid JSON: "
			    "%s (line %d, column %d)", jerr.text, jerr.line,
			    jerr.column);
		hs_errors_add(errors, "$", msg);
		reply_problem(r, API_VALIDATION, "the body is not valid JSON",
		    errors);
		json_decref(errors);
	}
	return root;
}

static void
send_response(struct req *r, int status, const char *ctype,
    const char *extra, const char *body, size_t len)
{
	char	 head[1024];
	int	 n;

	r->status = status;
	n = snprintf(head, sizeof(head),
	    "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Trace-Id: %s\r\n"
	    "%s\r\n",
	    status, reason_of(status), ctype, len, r->trace,
	    extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	if (r->io->write(r->io, head, (size_t)n) == 0 && len > 0)
		(void)r->io->write(r->io, body, len);
}

void
reply_json(struct req *r, int status, const json_t *value,
    const char *extra_headers)
{
	char	*s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s == NULL) {
		reply_problem(r, API_INTERNAL, "could not encode the response",
		    NULL);
		return;
	}
	send_response(r, status, "application/json; charset=utf-8",
	    extra_headers, s, strlen(s));
	free(s);
}

void
reply_json_text(struct req *r, int status, const struct hs_jw *w,
    const char *extra_headers)
{
	if (w->failed || w->p == NULL) {
		reply_problem(r, API_INTERNAL, "could not encode the response",
		    NULL);
		return;
	}
	send_response(r, status, "application/json; charset=utf-8",
	    extra_headers, w->p, w->len);
}

void
reply_problem(struct req *r, enum api_err e, const char *detail,
    const json_t *errors)
{
	json_t	*p = NULL;
	char	*s = NULL;
	char	 extra[256] = "";
	int	 status = errmap[e].status;

	p = json_pack("{s:s, s:s, s:i, s:s, s:s}",
	    "type", status == 400 ?
	    "https://tools.ietf.org/html/rfc9110#section-15.5.1" :
	    "about:blank",
	    "title", errmap[e].title, "status", status,
	    "detail", detail ? detail : errmap[e].title,
	    "traceId", r->trace);
	if (p != NULL && errors != NULL)
		json_object_set(p, "errors", (json_t *)errors);
	if (p != NULL)
		s = json_dumps(p, JSON_COMPACT);
	if (e == API_UNAUTHORIZED)
		snprintf(extra, sizeof(extra), "WWW-Authenticate: Bearer%s\r\n",
		    req_header(r, "HTTP_AUTHORIZATION") ?
		    " error=\"invalid_token\"" : "");
	else if (e == API_UNAVAILABLE)
		snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n",
		    r->w->cfg->retry_after);
	else if (e == API_TOO_MANY)
		snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n",
		    r->retry_after > 0 ? r->retry_after : 1);
	else if (e == API_FORBIDDEN)
		snprintf(extra, sizeof(extra), "WWW-Authenticate: Bearer "
		    "error=\"insufficient_scope\"\r\n");
	else if (e == API_METHOD)
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", r->allow);
	if (s == NULL)
		send_response(r, 500, "application/problem+json", NULL,
		    "{}", 2);
	else
		send_response(r, status, "application/problem+json", extra,
		    s, strlen(s));
	free(s);
	json_decref(p);
}

void
reply_db_error(struct req *r, enum db_err err)
{
	if (err == DB_UNAVAILABLE)
		reply_problem(r, API_UNAVAILABLE, "the database is unavailable; "
		    "retry later", NULL);
	else
		reply_problem(r, API_INTERNAL, "a database statement failed",
		    NULL);
}

/*
 * Finds key in a query string; decodes its value into out.  Returns 1,
 * 0 when the key is absent, -1 when the value does not fit or decodes to
 * a NUL.  out is a string whatever the result.
 */
int
query_get(const char *q, const char *key, char *out, size_t outsize)
{
	size_t	 klen = strlen(key);

	out[0] = '\0';

	while (*q != '\0') {
		size_t	 len = strcspn(q, "&");

		if (len > klen && strncmp(q, key, klen) == 0 && q[klen] == '=') {
			size_t	 i, o = 0;

			for (i = klen + 1; i < len; i++) {
				int	 c = (unsigned char)q[i];

				if (c == '+')
					c = ' ';
				else if (c == '%' && i + 2 < len + 1 &&
				    isxdigit((unsigned char)q[i + 1]) &&
				    isxdigit((unsigned char)q[i + 2])) {
					char	 hx[3] = { q[i + 1], q[i + 2], 0 };

					c = (int)strtol(hx, NULL, 16);
					i += 2;
				}
				if (o + 1 >= outsize || c == 0) {
					out[0] = '\0';
					return -1;
				}
				out[o++] = (char)c;
			}
			out[o] = '\0';
			return 1;
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return 0;
}

/*
 * ?limit=&after= of a keyset-paged list.  after_msg is what a cursor that
 * is not a uuid is told.  Returns 0 with the page set up, or -1 having
 * answered the 400.
 */
int
page_args(struct req *r, struct page *pg, const char *after_msg)
{
	const struct hs_config	*cfg = r->w->cfg;
	json_t		*errors = json_object();
	char		 lim[32], after[HS_UUID_LEN + 8], m[96];
	const char	*errstr;
	size_t		 o;
	int		 got, rc = -1;

	memset(pg, 0, sizeof(*pg));
	pg->limit = cfg->page_default;
	pg->prefix = r->prefix;
	if (strlen(r->query) > HS_MAX_QUERY_LEN)
		hs_errors_add(errors, "$", "the query string is too long");
	if ((got = query_get(r->query, "limit", lim, sizeof(lim))) != 0 &&
	    (got < 0 || hs_strtonum(lim, 1, cfg->page_max, &pg->limit,
	    &errstr) != 0)) {
		snprintf(m, sizeof(m), "must be an integer between 1 and %ld",
		    cfg->page_max);
		hs_errors_add(errors, "limit", m);
	}
	if ((got = query_get(r->query, "after", after, sizeof(after))) != 0) {
		for (o = 0; after[o] != '\0'; o++)
			after[o] = (char)tolower((unsigned char)after[o]);
		if (got < 0 || !hs_is_uuid(after))
			hs_errors_add(errors, "after", after_msg);
		else
			memcpy(pg->after, after, sizeof(pg->after));
	}
	/* One row more than asked tells whether a next page exists. */
	snprintf(pg->fetch, sizeof(pg->fetch), "%lld", pg->limit + 1);
	if (json_object_size(errors) > 0)
		reply_problem(r, API_VALIDATION, NULL, errors);
	else
		rc = 0;
	json_decref(errors);
	return rc;
}

/*
 * How many of the rows fetched for pg belong to the page (column 0 holds
 * their ids); when there are more, pg->link gets the Link header of the
 * next page of route (below /api/v1, under the request's prefix).
 */
int
page_rows(struct page *pg, const char *route, const PGresult *res)
{
	int	 n = PQntuples(res);

	if (n <= pg->limit)
		return n;
	n = (int)pg->limit;
	snprintf(pg->link, sizeof(pg->link), "Link: <%s/api/v1%s?limit=%lld&"
	    "after=%s>; rel=\"next\"\r\n", pg->prefix ? pg->prefix : "",
	    route, pg->limit,
	    PQgetvalue(res, n - 1, 0));
	return n;
}
