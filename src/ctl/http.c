/* SPDX-License-Identifier: ISC */
/*
 * The one HTTP call hostscanctl makes: a JSON POST to the API through
 * libcurl, for import-csv.  The token travels only in the Authorization
 * header libcurl builds (CURLAUTH_BEARER); it is never printed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common.h"
#include "ctl.h"

#define HTTP_CONNECT_TIMEOUT	10	/* seconds */
#define HTTP_TIMEOUT		300	/* seconds, the whole request */
/* An answer echoes a request of at most max_body_bytes plus messages. */
#define HTTP_MAX_REPLY		(HS_MAX_MAX_BODY_BYTES)
#define HTTP_MAX_URL		2048

struct sink {
	char	*buf;
	size_t	 len, cap;
	int	 too_big;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink	*s = arg;
	size_t		 add = size * n, cap;
	char		*nb;

	if (add > HTTP_MAX_REPLY - s->len) {
		s->too_big = 1;
		return 0;
	}
	if (s->len + add + 1 > s->cap) {
		cap = s->cap ? s->cap : 65536;
		while (cap < s->len + add + 1)
			cap *= 2;
		if ((nb = realloc(s->buf, cap)) == NULL)
			return 0;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, add);
	s->len += add;
	s->buf[s->len] = '\0';
	return add;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct ctl_http	*out = arg;
	size_t		 len = size * n, k = sizeof("Retry-After:") - 1, v, vl;

	if (len > k && strncasecmp(p, "Retry-After:", k) == 0) {
		for (v = k; v < len && (p[v] == ' ' || p[v] == '\t'); v++)
			;
		for (vl = len - v; vl > 0 && (p[v + vl - 1] == '\r' ||
		    p[v + vl - 1] == '\n'); vl--)
			;
		if (vl >= sizeof(out->retry_after))
			vl = sizeof(out->retry_after) - 1;
		memcpy(out->retry_after, p + v, vl);
		out->retry_after[vl] = '\0';
	}
	return len;
}

static int
base_url(const struct ctl *ctl, const char *path, char *url, size_t size)
{
	const char	*base = ctl->cfg.api_url;	/* its row's default */
	size_t		 len = strlen(base);

	if (strncmp(base, "http://", 7) != 0 &&
	    strncmp(base, "https://", 8) != 0) {
		ctl_warn("api_url (or HOSTSCAN_URL) must start with http:// or "
		    "https://");
		return -1;
	}
	while (len > 0 && base[len - 1] == '/')
		len--;
	if (snprintf(url, size, "%.*s/api/v1%s", (int)len, base, path) >=
	    (int)size) {
		ctl_warn("api_url is too long");
		return -1;
	}
	return 0;
}

int
ctl_http_post(const struct ctl *ctl, const char *token, const char *path,
    const char *idem_key, const char *body, size_t len, struct ctl_http *out)
{
	CURL			*h = NULL;
	struct curl_slist	*hdr = NULL;
	struct sink		 s = { NULL, 0, 0, 0 };
	char			 url[HTTP_MAX_URL], err[CURL_ERROR_SIZE] = "";
	char			 idem[HS_MAX_IDEM_KEY_LEN + 20];
	CURLcode		 cc;
	json_error_t		 jerr;
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	if (base_url(ctl, path, url, sizeof(url)) == -1)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		ctl_warn("cannot initialise libcurl");
		return -1;
	}
	if ((h = curl_easy_init()) == NULL ||
	    (hdr = curl_slist_append(hdr, "Content-Type: application/json; "
	    "charset=utf-8")) == NULL ||
	    (hdr = curl_slist_append(hdr, "Accept: application/json")) ==
	    NULL ||
	    /* No 100-continue round trip before a large body. */
	    (hdr = curl_slist_append(hdr, "Expect:")) == NULL) {
		ctl_warn("cannot set up libcurl");
		goto out;
	}
	if (idem_key != NULL && (snprintf(idem, sizeof(idem),
	    "Idempotency-Key: %s", idem_key) >= (int)sizeof(idem) ||
	    (hdr = curl_slist_append(hdr, idem)) == NULL)) {
		ctl_warn("cannot set up libcurl");
		goto out;
	}
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, token) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "hostscanctl/"
	    PACKAGE_VERSION) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
	    (long)HTTP_CONNECT_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)HTTP_TIMEOUT) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, out) != CURLE_OK) {
		ctl_warn("cannot set up libcurl");
		goto out;
	}
	if ((cc = curl_easy_perform(h)) != CURLE_OK) {
		if (s.too_big)
			ctl_warn("%s: the answer is larger than %ld bytes", url,
			    (long)HTTP_MAX_REPLY);
		else
			ctl_warn("%s: %s", url, err[0] ? err :
			    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	out->body = s.buf != NULL ? s.buf : hs_strdup("");
	out->len = s.len;
	s.buf = NULL;
	out->json = json_loadb(out->body, out->len, 0, &jerr);
	rc = 0;
out:
	free(s.buf);
	curl_slist_free_all(hdr);
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_global_cleanup();
	return rc;
}

void
ctl_http_free(struct ctl_http *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}
