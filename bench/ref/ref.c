/* SPDX-License-Identifier: ISC */
/* bench/api's reference: the least a FastCGI responder of this API must do. */
/*
 * Not installed, not part of hostscan: bench/api builds it and runs it
 * next to hostscan.fcgi, behind the same nginx, on the same database and
 * with the same number of workers, so that the ratio of the two rates
 * says how much of the machine hostscan's request path spends on itself.
 * Per request it does what no implementation can skip:
 *   - verify the bearer token (PASETO v4.public, Ed25519 with libsodium)
 *     and its exp claim (Jansson);
 *   - POST /api/v1/HostScanJob: parse the body with Jansson and queue
 *     its first host with one prepared INSERT of the job and the host
 *     (credential and platform looked up by name inside it);
 *   - GET /api/v1/HostScanJob/{id}: one prepared SELECT of the job and
 *     its hosts.
 * No validation table, no scope check, no idempotency, no request log.
 *
 * usage: hostscan-ref SOCKET WORKERS KEYRING CONNINFO
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#define V4	"v4.public."
#define K4	"k4.public."
#define MAX_BODY	(1024 * 1024)
#define MAX_TOKEN	4096

static const char job_insert[] =
    "WITH job AS (INSERT INTO host_scan_job (created_by,"
    " created_from_address) VALUES ($1, $2) RETURNING id)"
    " INSERT INTO host_scan_host (job_id, ord, dns_host_name, ip_address,"
    "  credential_id, platform_id, ssh_port, source)"
    " SELECT job.id, 0, $3, $4,"
    "  (SELECT id FROM credential WHERE name = $5),"
    "  (SELECT id FROM platform WHERE name = $6), $7::int, $8 FROM job"
    " RETURNING job_id, id, state";

static const char job_select[] =
    "SELECT j.id, j.created_by, j.created_from_address,"
    " to_char(j.created_at AT TIME ZONE 'UTC',"
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    " h.id, h.state, h.dns_host_name, h.ip_address, h.ssh_port, h.source,"
    " c.name, p.name "
    "FROM host_scan_job j JOIN host_scan_host h ON h.job_id = j.id"
    " LEFT JOIN credential c ON c.id = h.credential_id"
    " LEFT JOIN platform p ON p.id = h.platform_id "
    "WHERE j.id = $1 ORDER BY h.ord";

static unsigned char pk[crypto_sign_PUBLICKEYBYTES];

static void
le64(unsigned char *p, uint64_t v)
{
	int	 i;

	for (i = 0; i < 8; i++, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

/* 1 when the token's signature and exp hold, the subject in sub. */
static int
token_ok(const char *auth, char *sub, size_t sublen)
{
	unsigned char	 m[MAX_TOKEN], f[MAX_TOKEN], pae[3 * MAX_TOKEN];
	const char	*tok, *dot, *b64end, *s;
	size_t		 mlen, flen = 0, n = 0;
	json_t		*claims = NULL;
	struct tm	 tm;
	int		 ok = 0;

	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0)
		return 0;
	tok = auth + 7;
	if (strlen(tok) >= MAX_TOKEN || strncmp(tok, V4, strlen(V4)) != 0)
		return 0;
	tok += strlen(V4);
	dot = strchr(tok, '.');
	if (sodium_base642bin(m, sizeof(m), tok, dot ? (size_t)(dot - tok) :
	    strlen(tok), NULL, &mlen, &b64end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    mlen < crypto_sign_BYTES)
		return 0;
	if (dot != NULL && sodium_base642bin(f, sizeof(f), dot + 1,
	    strlen(dot + 1), NULL, &flen, &b64end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return 0;
	mlen -= crypto_sign_BYTES;
	le64(pae + n, 4), n += 8;
	le64(pae + n, strlen(V4)), n += 8;
	memcpy(pae + n, V4, strlen(V4)), n += strlen(V4);
	le64(pae + n, mlen), n += 8;
	memcpy(pae + n, m, mlen), n += mlen;
	le64(pae + n, flen), n += 8;
	memcpy(pae + n, f, flen), n += flen;
	le64(pae + n, 0), n += 8;
	if (crypto_sign_verify_detached(m + mlen, pae, n, pk) != 0)
		return 0;
	if ((claims = json_loadb((const char *)m, mlen, 0, NULL)) == NULL)
		goto out;
	s = json_string_value(json_object_get(claims, "exp"));
	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL ||
	    timegm(&tm) < time(NULL))
		goto out;
	s = json_string_value(json_object_get(claims, "sub"));
	if (s == NULL || strlen(s) >= sublen)
		goto out;
	strcpy(sub, s);
	ok = 1;
out:
	json_decref(claims);
	return ok;
}

static void
reply(FCGX_Request *rq, int status, json_t *body)
{
	char	*s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char	 head[128];
	int	 n;

	/* libfcgi's own printf knows no %zu. */
	n = snprintf(head, sizeof(head), "Status: %d\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\n\r\n", status,
	    s ? strlen(s) : 0);
	FCGX_PutStr(head, n, rq->out);
	if (s != NULL)
		FCGX_PutStr(s, (int)strlen(s), rq->out);
	free(s);
	json_decref(body);
}

static void
post(FCGX_Request *rq, PGconn *db, const char *sub)
{
	const char	*len = FCGX_GetParam("CONTENT_LENGTH", rq->envp);
	const char	*p[8];
	char		*body = NULL, port[16];
	json_t		*root = NULL, *h;
	PGresult	*res = NULL;
	long		 n = len ? strtol(len, NULL, 10) : 0;

	if (n <= 0 || n > MAX_BODY || (body = malloc((size_t)n)) == NULL ||
	    FCGX_GetStr(body, (int)n, rq->in) != n ||
	    (root = json_loadb(body, (size_t)n, 0, NULL)) == NULL ||
	    !json_is_object(h = json_array_get(root, 0))) {
		reply(rq, 400, NULL);
		goto out;
	}
	snprintf(port, sizeof(port), "%lld", (long long)json_integer_value(
	    json_object_get(h, "sshPort")));
	p[0] = sub;
	p[1] = FCGX_GetParam("REMOTE_ADDR", rq->envp);
	p[2] = json_string_value(json_object_get(h, "dnsHostName"));
	p[3] = json_string_value(json_object_get(h, "ipAddress"));
	p[4] = json_string_value(json_object_get(h, "credentialName"));
	p[5] = json_string_value(json_object_get(h, "platformName"));
	p[6] = port;
	p[7] = json_string_value(json_object_get(h, "source"));
	res = PQexecPrepared(db, "ins", 8, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		reply(rq, 503, NULL);
		goto out;
	}
	reply(rq, 200, json_pack("{s:s, s:s, s:[{s:s, s:i}]}",
	    "id", PQgetvalue(res, 0, 0), "status", "Queued",
	    "hostScanHostStatus", "hostScanHostId", PQgetvalue(res, 0, 1),
	    "status", atoi(PQgetvalue(res, 0, 2))));
out:
	PQclear(res);
	json_decref(root);
	free(body);
}

static void
get(FCGX_Request *rq, PGconn *db, const char *id)
{
	PGresult	*res;
	json_t		*hosts = json_array(), *job;
	int		 i;

	res = PQexecPrepared(db, "sel", 1, &id, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
		json_decref(hosts);
		reply(rq, PQresultStatus(res) == PGRES_TUPLES_OK ? 404 : 503,
		    NULL);
		PQclear(res);
		return;
	}
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(hosts, json_pack("{s:s, s:i, s:s?, s:s?,"
		    " s:i, s:s?, s:s?, s:s?}", "id", PQgetvalue(res, i, 4),
		    "state", atoi(PQgetvalue(res, i, 5)),
		    "dnsHostName", PQgetisnull(res, i, 6) ? NULL :
		    PQgetvalue(res, i, 6),
		    "ipAddress", PQgetisnull(res, i, 7) ? NULL :
		    PQgetvalue(res, i, 7),
		    "sshPort", atoi(PQgetvalue(res, i, 8)),
		    "source", PQgetisnull(res, i, 9) ? NULL :
		    PQgetvalue(res, i, 9),
		    "credentialName", PQgetisnull(res, i, 10) ? NULL :
		    PQgetvalue(res, i, 10),
		    "platformName", PQgetisnull(res, i, 11) ? NULL :
		    PQgetvalue(res, i, 11)));
	job = json_pack("{s:s, s:s, s:s?, s:s, s:o}", "id",
	    PQgetvalue(res, 0, 0), "createdBy", PQgetvalue(res, 0, 1),
	    "createdFromAddress", PQgetisnull(res, 0, 2) ? NULL :
	    PQgetvalue(res, 0, 2), "createdAt", PQgetvalue(res, 0, 3),
	    "hosts", hosts);
	PQclear(res);
	reply(rq, 200, job);
}

static int
worker(int sock, const char *conninfo)
{
	FCGX_Request	 rq;
	PGconn		*db;
	PGresult	*r1, *r2;
	const char	*prefix = "/api/v1/HostScanJob";
	const char	*uri, *method;
	char		 sub[256];

	db = PQconnectdb(conninfo);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "hostscan-ref: %s", PQerrorMessage(db));
		return 1;
	}
	r1 = PQprepare(db, "ins", job_insert, 0, NULL);
	r2 = PQprepare(db, "sel", job_select, 1, (const Oid[]){ 2950 });
	if (PQresultStatus(r1) != PGRES_COMMAND_OK ||
	    PQresultStatus(r2) != PGRES_COMMAND_OK) {
		fprintf(stderr, "hostscan-ref: prepare: %s",
		    PQerrorMessage(db));
		return 1;
	}
	PQclear(r1);
	PQclear(r2);
	FCGX_InitRequest(&rq, sock, 0);
	while (FCGX_Accept_r(&rq) == 0) {
		uri = FCGX_GetParam("DOCUMENT_URI", rq.envp);
		method = FCGX_GetParam("REQUEST_METHOD", rq.envp);
		if (uri == NULL || method == NULL ||
		    strncmp(uri, prefix, strlen(prefix)) != 0)
			reply(&rq, 404, NULL);
		else if (!token_ok(FCGX_GetParam("HTTP_AUTHORIZATION",
		    rq.envp), sub, sizeof(sub)))
			reply(&rq, 401, NULL);
		else if (strcmp(method, "POST") == 0 &&
		    uri[strlen(prefix)] == '\0')
			post(&rq, db, sub);
		else if (strcmp(method, "GET") == 0 &&
		    uri[strlen(prefix)] == '/')
			get(&rq, db, uri + strlen(prefix) + 1);
		else
			reply(&rq, 405, NULL);
		FCGX_Finish_r(&rq);
	}
	PQfinish(db);
	return 0;
}

static int
read_key(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	 line[512], *k;
	size_t	 n;
	int	 rc = -1;

	if (f == NULL)
		return -1;
	while (rc != 0 && fgets(line, sizeof(line), f) != NULL) {
		k = line + strspn(line, " \t");
		if (strncmp(k, K4, strlen(K4)) != 0)
			continue;
		k += strlen(K4);
		k[strcspn(k, " \t\r\n#")] = '\0';
		if (sodium_base642bin(pk, sizeof(pk), k, strlen(k), NULL, &n,
		    NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
		    n == sizeof(pk))
			rc = 0;
	}
	fclose(f);
	return rc;
}

int
main(int argc, char **argv)
{
	int	 sock, workers, i;

	if (argc != 5 || (workers = atoi(argv[2])) < 1 || workers > 64) {
		fprintf(stderr, "usage: hostscan-ref SOCKET WORKERS KEYRING "
		    "CONNINFO\n");
		return 2;
	}
	if (sodium_init() < 0 || FCGX_Init() != 0 || read_key(argv[3]) != 0) {
		fprintf(stderr, "hostscan-ref: no k4.public key in %s\n",
		    argv[3]);
		return 1;
	}
	unlink(argv[1]);
	if ((sock = FCGX_OpenSocket(argv[1], 1024)) < 0) {
		fprintf(stderr, "hostscan-ref: cannot listen on %s\n", argv[1]);
		return 1;
	}
	chmod(argv[1], 0666);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < workers; i++)
		if (fork() == 0) {
			/* bench/api stops the parent; the workers go with it. */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			return worker(sock, argv[4]);
		}
	while (wait(NULL) > 0)
		;
	return 0;
}
