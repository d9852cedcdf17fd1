/* SPDX-License-Identifier: ISC */
/*
 * Idempotency-Key on the routes that queue jobs.  A client that retries a
 * POST after a lost answer sends the same key again and gets the job(s)
 * the first attempt queued instead of new ones.
 *
 * The key is claimed (sql/005) in the transaction that queues the jobs,
 * so the claim and the jobs commit together or not at all; a concurrent
 * request with the same key waits on the uncommitted claim and then finds
 * the finished one.  Only a request that queued its jobs keeps its key: a
 * 4xx or 5xx rolls the claim back, so the client may fix and retry.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api.h"

#define IDEM_HEADER	"HTTP_IDEMPOTENCY_KEY"

/* 1 when s is an acceptable key: 1 to 255 printable ASCII characters. */
static int
key_ok(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > HS_MAX_IDEM_KEY_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * What makes two requests "the same": method, route (lower-cased, as
 * routing ignores case) and the body byte for byte.
 */
static void
fingerprint(const struct req *r, char out[2 * crypto_generichash_BYTES + 1])
{
	crypto_generichash_state	 st;
	unsigned char			 h[crypto_generichash_BYTES];
	char				 path[HS_MAX_PATH_LEN];
	size_t				 i;

	for (i = 0; r->path[i] != '\0' && i + 1 < sizeof(path); i++)
		path[i] = (char)((r->path[i] >= 'A' && r->path[i] <= 'Z') ?
		    r->path[i] + 32 : r->path[i]);
	path[i] = '\0';
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)r->method,
	    strlen(r->method) + 1);
	crypto_generichash_update(&st, (const unsigned char *)path,
	    strlen(path) + 1);
	if (r->body_len > 0)
		crypto_generichash_update(&st, (const unsigned char *)r->body,
		    r->body_len);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, 2 * crypto_generichash_BYTES + 1, h, sizeof(h));
}

/* The current status of the jobs a key queued, in their order. */
static void
replay(struct req *r, const char *job_ids, int many)
{
	PGresult	*res = NULL;
	struct hs_jw	 w = { 0 };
	enum db_err	 err;
	int		 n, from, to, jobs = 0;

	if ((res = db_exec(r->w, ST_JOBS_HOSTS, 1, &job_ids, &err)) == NULL) {
		reply_db_error(r, err);
		goto done;
	}
	n = PQntuples(res);
	if (many)
		hs_jw_raw(&w, "[", 1);
	for (from = 0; from < n; from = to) {
		for (to = from + 1; to < n && strcmp(PQgetvalue(res, to,
		    HC_JOB), PQgetvalue(res, from, HC_JOB)) == 0; to++)
			continue;
		if (jobs++ > 0)
			hs_jw_raw(&w, ",", 1);
		job_status(&w, res, from, to);
	}
	if (many)
		hs_jw_raw(&w, "]", 1);
	if (!many && jobs != 1) {
		hs_log(HS_LOG_ERROR, "idempotency_replay_bad", "trace=%s "
		    "jobs=%d", r->trace, jobs);
		reply_problem(r, API_INTERNAL, "the jobs of this "
		    "Idempotency-Key cannot be read", NULL);
		goto done;
	}
	hs_log(HS_LOG_INFO, "idempotency_replay", "trace=%s jobs=%d",
	    r->trace, jobs);
	reply_json_text(r, 200, &w, "Idempotent-Replayed: true\r\n");
done:
	hs_jw_free(&w);
	PQclear(res);
}

int
idem_start(struct req *r, struct idem *ik, int many, int want_tx)
{
	const char	*key = req_header(r, IDEM_HEADER);
	const char	*p[3];
	PGresult	*res = NULL;
	json_t		*errors = NULL;
	enum db_err	 err;
	int		 go_on = 0;

	memset(ik, 0, sizeof(*ik));
	if (key != NULL && !key_ok(key)) {
		errors = json_object();
		hs_errors_add(errors, "Idempotency-Key", "must be 1 to 255 "
		    "printable ASCII characters");
		reply_problem(r, API_VALIDATION, NULL, errors);
		goto out;
	}
	if (key == NULL && !want_tx)
		return 1;
	if (db_begin(r->w, &err) != 0) {
		reply_db_error(r, err);
		goto out;
	}
	if (key == NULL)
		return 1;
	hs_strlcpy(ik->key, key, sizeof(ik->key));
	fingerprint(r, ik->fp);
	p[0] = r->claims.sub;
	p[1] = ik->key;
	p[2] = ik->fp;
	if ((res = db_exec(r->w, ST_IDEM_CLAIM, 3, p, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	if (PQntuples(res) == 1) {
		r->idem_key = ik->key;
		go_on = 1;
		goto out;
	}
	PQclear(res);
	/* A live claim, committed by now: end ours and read it. */
	db_rollback(r->w);
	if ((res = db_exec(r->w, ST_IDEM_GET, 2, p, &err)) == NULL) {
		reply_db_error(r, err);
		goto out;
	}
	if (PQntuples(res) != 1) {
		/* Expired and collected between the two statements. */
		reply_problem(r, API_CONFLICT, "this Idempotency-Key changed "
		    "while the request ran; retry", NULL);
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), ik->fp) != 0) {
		reply_problem(r, API_UNPROCESSABLE, "this Idempotency-Key was "
		    "used for a different request (method, route or body) in "
		    "the last " HS_STR(HS_IDEM_KEY_HOURS) " hours", NULL);
		goto out;
	}
	replay(r, PQgetvalue(res, 0, 1), many);
out:
	if (!go_on)
		db_rollback(r->w);
	PQclear(res);
	json_decref(errors);
	return go_on;
}

/*
 * Records the jobs of q under the key and commits; 0 after answering an
 * error and rolling back.
 */
static int
idem_commit(struct req *r, struct idem *ik, const struct queued *q)
{
	const char	*p[3], **ids = NULL;
	PGresult	*res = NULL;
	char		*lit = NULL;
	size_t		 i, n;
	enum db_err	 err;
	int		 rc = 0;

	if (!r->w->in_tx)
		return 1;
	if (ik->key[0] != '\0') {
		n = json_array_size(q->ids);
		ids = hs_xmalloc((n + 1) * sizeof(*ids));
		for (i = 0; i < n; i++)
			ids[i] = json_string_value(json_array_get(q->ids, i));
		if ((lit = db_uuid_array(ids, n)) == NULL) {
			reply_problem(r, API_INTERNAL, "a queued job has no id",
			    NULL);
			goto out;
		}
		p[0] = r->claims.sub;
		p[1] = ik->key;
		p[2] = lit;
		if ((res = db_exec(r->w, ST_IDEM_DONE, 3, p, &err)) == NULL) {
			reply_db_error(r, err);
			goto out;
		}
	}
	if (db_commit(r->w, &err) != 0) {
		reply_db_error(r, err);
		goto out;
	}
	rc = 1;
out:
	if (!rc)
		db_rollback(r->w);
	PQclear(res);
	free(lit);
	free(ids);
	return rc;
}

void
idem_end(struct req *r, struct idem *ik, struct queued *q)
{
	if (q == NULL || !idem_commit(r, ik, q)) {
		db_rollback(r->w);
		return;
	}
	if (q->many)
		hs_jw_raw(&q->text, "]", 1);
	reply_json_text(r, 200, &q->text, NULL);
}
