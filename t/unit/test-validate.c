/*
 * The HostScanJobRequest validation table: every pure check, every field
 * rule with its exact error key and message, and the body as a whole.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "tap.h"

#define ZERO_UUID	"00000000-0000-0000-0000-000000000000"
#define MSG_DNS		"must be an RFC 1123 host name: dot-separated labels " \
			"of 1-63 letters, digits or '-', not starting or " \
			"ending with '-'"
#define MSG_IP		"must be an IPv4 or IPv6 address"
#define MSG_UUID	"must be a uuid"
#define MSG_THUMB	"must be SHA256:<base64>, MD5:xx:xx:..., or a " \
			"40-hex-digit thumbprint"
#define MSG_STRING	"must be a string or null"
#define MSG_BOOL	"must be true or false"
#define MSG_INT		"must be an integer"
#define MSG_PORT	"must be between 1 and 65535"
#define MSG_NUL		"must not contain NUL"
#define MSG_TRUST	"must be one of AlwaysTrustIgnoreThumbprint, " \
			"WarnOnThumbprintMismatch, ErrorOnThumbprintMismatch " \
			"or their position 0-2"
#define MSG_CERT	"must be one of WinRM, RDP, SSH or their position 0-2"
#define MSG_HOST_REQ	"dnsHostName or ipAddress is required"
#define MSG_CRED_REQ	"credentialId or credentialName is required"

#define SHA256_FP	"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
#define SHA1_HEX	"A909502DD82AE41433E6F83886B00D4277A32A7B"
#define LRM		"\xe2\x80\x8e"		/* U+200E */

#define DOC_EXAMPLE \
	"[{\"dnsHostName\":\"string\",\"ipAddress\":\"string\"," \
	"\"os\":\"string\"," \
	"\"credentialId\":\"f568fec0-10b6-4b94-9daf-e62c50c9bf3e\"," \
	"\"credentialName\":\"string\",\"platformName\":\"string\"," \
	"\"acceptThumbprintOnFirstDiscovery\":true," \
	"\"sshTrustActionType\":null,\"certificateType\":null," \
	"\"trustedThumbprint\":\"string\",\"sshPort\":0," \
	"\"source\":\"string\"}]"

struct sb {
	char	*p;
	size_t	 len, cap;
};

static void
sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* s repeated n times, as a JSON string literal when quote is set. */
static char *
rep(const char *s, size_t n, int quote)
{
	struct sb	 b = { NULL, 0, 0 };
	size_t		 i;

	sb_str(&b, quote ? "\"" : "");
	for (i = 0; i < n; i++)
		sb_str(&b, s);
	sb_str(&b, quote ? "\"" : "");
	return b.p;
}

static const char *const base[][2] = {
	{ "dnsHostName", "\"host.example.test\"" },
	{ "ipAddress", "\"192.0.2.10\"" },
	{ "credentialId", "\"" ZERO_UUID "\"" },
	{ "credentialName", "\"cred\"" },
	{ "platformName", "\"Linux\"" },
	{ "sshPort", "22" },
};

static const char DROP[] = "(drop)";

/*
 * One item: the valid base item with each (field, raw JSON) pair of the
 * NULL-terminated list replacing or adding that field; DROP removes it.
 */
static void
item_v(struct sb *b, va_list ap)
{
	const char	*f[8], *raw[8];
	size_t		 nf = 0, i, j;
	int		 first = 1, used;

	while (nf < 8 && (f[nf] = va_arg(ap, const char *)) != NULL) {
		raw[nf] = va_arg(ap, const char *);
		nf++;
	}
	sb_str(b, "{");
	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		for (used = 0, j = 0; j < nf; j++)
			if (strcmp(f[j], base[i][0]) == 0)
				used = 1;
		if (used)
			continue;
		sb_str(b, first ? "\"" : ",\"");
		sb_str(b, base[i][0]);
		sb_str(b, "\":");
		sb_str(b, base[i][1]);
		first = 0;
	}
	for (j = 0; j < nf; j++) {
		if (raw[j] == DROP)
			continue;
		sb_str(b, first ? "\"" : ",\"");
		sb_str(b, f[j]);
		sb_str(b, "\":");
		sb_str(b, raw[j]);
		first = 0;
	}
	sb_str(b, "}");
}

/* One-item body: "[" item "]". */
static char *
one(const char *dummy, ...)
{
	struct sb	 b = { NULL, 0, 0 };
	va_list		 ap;

	sb_str(&b, "[");
	va_start(ap, dummy);
	item_v(&b, ap);
	va_end(ap);
	sb_str(&b, "]");
	return b.p;
}

#define ONE(...)	one("", __VA_ARGS__, (const char *)NULL)

struct run {
	json_t			*errors;
	struct hs_host_req	*h;
	size_t			 n;
	int			 rc;
	int			 parsed;
};

static void
run(struct run *r, const char *text, long max)
{
	json_t		*root;
	json_error_t	 err;

	memset(r, 0, sizeof(*r));
	r->errors = json_object();
	root = json_loadb(text, strlen(text),
	    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (root == NULL) {
		printf("# fixture does not parse: %s: %s\n", err.text, text);
		r->rc = -99;
		return;
	}
	r->parsed = 1;
	r->rc = hs_validate_hosts(root, max, &r->h, &r->n, r->errors);
	json_decref(root);
}

static void
run_free(struct run *r)
{
	hs_host_reqs_free(r->h, r->n);
	json_decref(r->errors);
	memset(r, 0, sizeof(*r));
}

static void
dump_errors(const json_t *errors)
{
	char	*s = json_dumps(errors, JSON_COMPACT | JSON_SORT_KEYS);

	printf("#   errors: %s\n", s ? s : "(null)");
	free(s);
}

/* errors is exactly { key: [msg] } and hs_validate_hosts said so. */
static void
only_error(const struct run *r, const char *key, const char *msg,
    const char *name)
{
	const json_t	*l = json_object_get(r->errors, key);
	int		 good;

	good = r->parsed && r->rc != 0 && json_object_size(r->errors) == 1 &&
	    json_is_array(l) && json_array_size(l) == 1 &&
	    json_is_string(json_array_get(l, 0)) &&
	    strcmp(json_string_value(json_array_get(l, 0)), msg) == 0;
	if (!ok(good, "%s: errors[\"%s\"] = [\"%.60s\"] only", name, key,
	    msg)) {
		printf("#   rc %d\n", r->rc);
		dump_errors(r->errors);
	}
}

static void
no_errors(const struct run *r, size_t n, const char *name)
{
	int	 good;

	good = r->parsed && r->rc == 0 && json_object_size(r->errors) == 0 &&
	    r->h != NULL && r->n == n;
	if (!ok(good, "%s: no errors, %zu item(s)", name, n)) {
		printf("#   rc %d n %zu\n", r->rc, r->n);
		dump_errors(r->errors);
	}
}

/* One field of the base item set to raw: exactly key -> [msg]. */
static void
rejects(const char *field, const char *raw, const char *key,
    const char *msg, const char *name)
{
	struct run	 r;
	char		*body = ONE(field, raw);

	run(&r, body, HS_DEFAULT_MAX_HOSTS);
	only_error(&r, key, msg, name);
	run_free(&r);
	free(body);
}

/* One field of the base item set to raw: accepted; returns the run. */
static void
accepts(struct run *r, const char *field, const char *raw, const char *name)
{
	char	*body = ONE(field, raw);

	run(r, body, HS_DEFAULT_MAX_HOSTS);
	no_errors(r, 1, name);
	free(body);
}

static void
test_names(void)
{
	is_str(hs_action_status_names[HS_QUEUED], "Queued", "ActionStatus 0");
	is_str(hs_action_status_names[HS_COMPLETED_WITH_ERRORS],
	    "CompletedWithErrors", "ActionStatus CompletedWithErrors");
	is_str(hs_action_status_names[HS_PENDING], "Pending",
	    "ActionStatus 10 is Pending");
	is_str(hs_failure_reason_names[0], "NoError", "FailureReason 0");
	is_str(hs_failure_reason_names[HS_N_FAILURE_REASON - 1],
	    "FailedToConnect", "FailureReason 11 is FailedToConnect");
	is_str(hs_failure_reason_names[6], "UserAlreadyMemberofGroup",
	    "FailureReason 6 spelled as the product does");
	is_str(hs_trust_action_names[2], "ErrorOnThumbprintMismatch",
	    "SshTrustActionType 2");
	is_str(hs_certificate_type_names[0], "WinRM", "CertificateType 0");
	is_str(hs_certificate_type_names[2], "SSH", "CertificateType 2");
}

static void
test_check_dns(void)
{
	char		*l63 = rep("a", 63, 0), *l64 = rep("a", 64, 0);
	char		 n253[300], n254[300], buf[400];
	const char	*good[] = { "a", "string", "host.example.test",
	    "host.example.test.", "1host-2.example-test.org", "123",
	    "192.0.2.1", "Host.EXAMPLE.test", "a-b.c--d.e", "xn--bcher-kva.de" };
	const char	*bad[] = { "", ".", "..", "-bad", "bad-", "a..b",
	    "a.-b.c", "a.b-.c", "under_score.example.test",
	    "sp ace.example.test", "host.example.test..", ".host",
	    "h\xc3\xa9llo.example", "a\tb", "host/example" };
	size_t		 i;

	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
	snprintf(n253, sizeof(n253), "%s.%s.%s.%.61s", l63, l63, l63, l63);
	snprintf(n254, sizeof(n254), "%s.%s.%s.%.62s", l63, l63, l63, l63);
	is_int(strlen(n253), 253, "fixture: 253-char name");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_str(hs_check_dns_name(good[i]), NULL, "dns ok: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_str(hs_check_dns_name(bad[i]), MSG_DNS, "dns bad: '%s'",
		    bad[i]);
	snprintf(buf, sizeof(buf), "%s.example", l63);
	is_str(hs_check_dns_name(buf), NULL, "dns ok: 63-char label");
	snprintf(buf, sizeof(buf), "%s.example", l64);
	is_str(hs_check_dns_name(buf), MSG_DNS, "dns bad: 64-char label");
	is_str(hs_check_dns_name(n253), NULL, "dns ok: 253 chars");
	snprintf(buf, sizeof(buf), "%s.", n253);
	is_str(hs_check_dns_name(buf), NULL,
	    "dns ok: 253 chars and a trailing dot");
	is_str(hs_check_dns_name(n254), "must be at most 253 characters",
	    "dns bad: 254 chars");
	is_str(hs_check_dns_name(NULL), MSG_DNS, "dns bad: NULL");
	free(l63);
	free(l64);
}

static void
test_check_ip(void)
{
	const char	*good[] = { "127.0.0.1", "0.0.0.0", "255.255.255.255",
	    "::1", "::", "2001:db8::1", "FE80::1", "::ffff:192.0.2.1",
	    "2001:0db8:0000:0000:0000:0000:0000:0001" };
	const char	*bad[] = { "", "string", "999.1.1.1", "1.2.3",
	    "1.2.3.4.5", "fe80::1%eth0", "fe80::1%1", "1.2.3.4/24",
	    "host.example", "::g", " 1.2.3.4", "1.2.3.4 ", "[::1]",
	    "1:2:3:4:5:6:7:8:9", "0x7f.0.0.1", "256.0.0.1", "127.1",
	    "010.0.0.1", "1.2.3.04" };
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_str(hs_check_ip(good[i]), NULL, "ip ok: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_str(hs_check_ip(bad[i]), MSG_IP, "ip bad: '%s'", bad[i]);
	is_str(hs_check_ip(NULL), MSG_IP, "ip bad: NULL");
}

static void
test_check_uuid(void)
{
	const char	*good[] = { "f568fec0-10b6-4b94-9daf-e62c50c9bf3e",
	    "F568FEC0-10B6-4B94-9DAF-E62C50C9BF3E",
	    "F568fec0-10b6-4B94-9daf-e62c50c9bF3e", ZERO_UUID };
	const char	*bad[] = { "", "nope", "string",
	    "f568fec0-10b6-4b94-9daf-e62c50c9bf3",
	    "f568fec0-10b6-4b94-9daf-e62c50c9bf3ee",
	    "f568fec010b64b949dafe62c50c9bf3e",
	    "{f568fec0-10b6-4b94-9daf-e62c50c9bf3e}",
	    "f568fec0-10b6-4b94-9daf-e62c50c9bf3g",
	    "f568fec0_10b6-4b94-9daf-e62c50c9bf3e",
	    "f568fec01-0b6-4b94-9daf-e62c50c9bf3e",
	    " f568fec0-10b6-4b94-9daf-e62c50c9bf3e" };
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_str(hs_check_uuid(good[i]), NULL, "uuid ok: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_str(hs_check_uuid(bad[i]), MSG_UUID, "uuid bad: '%s'",
		    bad[i]);
	is_str(hs_check_uuid(NULL), MSG_UUID, "uuid bad: NULL");
}

static void
test_check_thumbprint(void)
{
	static const struct {
		const char	*in, *out, *name;
	} good[] = {
		{ SHA256_FP, SHA256_FP, "SHA256 as ssh-keygen prints it" },
		{ SHA256_FP "=", SHA256_FP, "SHA256 with '=' padding" },
		{ "sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
		    SHA256_FP, "SHA256 prefix in lower case" },
		{ "MD5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e",
		    "MD5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e",
		    "MD5 lower case" },
		{ "MD5:D4:1D:8C:D9:8F:00:B2:04:E9:80:09:98:EC:F8:42:7E",
		    "MD5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e",
		    "MD5 upper case stored lower" },
		{ "md5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e",
		    "MD5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e",
		    "MD5 prefix in lower case" },
		{ SHA1_HEX, SHA1_HEX, "40 hex upper" },
		{ "a909502dd82ae41433e6f83886b00d4277a32a7b", SHA1_HEX,
		    "40 hex lower stored upper" },
		{ "a9 09 50 2d d8 2a e4 14 33 e6 f8 38 86 b0 0d 42 77 a3 2a 7b",
		    SHA1_HEX, "40 hex with spaces" },
		{ "A9:09:50:2D:D8:2A:E4:14:33:E6:F8:38:86:B0:0D:42:77:A3:2A:7B",
		    SHA1_HEX, "40 hex with colons" },
		{ LRM "a909502dd82ae41433e6f83886b00d4277a32a7b", SHA1_HEX,
		    "40 hex with a leading U+200E" },
		{ LRM "a9 09 50 2d d8 2a e4 14 33 e6 f8 38 86 b0 0d 42 77 a3 "
		    "2a 7b" LRM, SHA1_HEX, "U+200E at both ends and spaces" },
		{ "a909502dd8" LRM "2ae41433e6f838:86b00d4277a3 2a7b ",
		    SHA1_HEX, "U+200E, colon and spaces inside" },
	};
	static const char *const bad[] = {
		"", "string", "SHA1:abc", "SHA256:abc", "SHA256:",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFUU",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU==",
		"SHA256:47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
		"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV",
		"SHA256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
		" " SHA256_FP,
		"MD5:d4:1d",
		"MD5:d4-1d-8c-d9-8f-00-b2-04-e9-80-09-98-ec-f8-42-7e",
		"MD5:d41d8cd98f00b204e9800998ecf8427e",
		"MD5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7g",
		"MD5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e:",
		"909502DD82AE41433E6F83886B00D4277A32A7B",
		SHA1_HEX "00",
		SHA1_HEX "0",
		"GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG",
		"A909502DD82AE41433E6F83886B00D4277A32A7\t",
		"\xe2\x80\x8f" SHA1_HEX,		/* U+200F */
		"\xe2\x80" SHA1_HEX,			/* a broken U+200E */
		SHA1_HEX "\xe2\x80",
		"0x" SHA1_HEX,
		SHA1_HEX SHA1_HEX SHA1_HEX,		/* longer than norm */
	};
	char	 norm[64];
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(norm, 'x', sizeof(norm));
		is_str(hs_check_thumbprint(good[i].in, norm, sizeof(norm)),
		    NULL, "thumbprint ok: %s", good[i].name);
		is_str(norm, good[i].out, "thumbprint stored: %s",
		    good[i].name);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_str(hs_check_thumbprint(bad[i], norm, sizeof(norm)),
		    MSG_THUMB, "thumbprint bad: '%s'", bad[i]);
	is_str(hs_check_thumbprint(SHA1_HEX, NULL, 0), NULL,
	    "thumbprint check without a norm buffer");
	is_str(hs_check_thumbprint(SHA1_HEX, norm, 40), MSG_THUMB,
	    "thumbprint: a norm buffer too small is refused, not overrun");
	is_str(hs_check_thumbprint(NULL, norm, sizeof(norm)), MSG_THUMB,
	    "thumbprint bad: NULL");
}

static void
enum_case(const char *raw, int want, const char *name)
{
	json_error_t	 err;
	json_t		*v = json_loads(raw, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    &err);

	if (!ok(v != NULL, "enum fixture parses: %s", raw))
		return;
	is_int(hs_enum_parse(hs_trust_action_names, HS_N_TRUST_ACTION, v),
	    want, "enum %s: %s", name, raw);
	json_decref(v);
}

static void
test_enum_parse(void)
{
	json_t	*cert = json_string("ssh");

	enum_case("\"WarnOnThumbprintMismatch\"", 1, "exact name");
	enum_case("\"warnonthumbprintmismatch\"", 1, "name in lower case");
	enum_case("\"ERRORONTHUMBPRINTMISMATCH\"", 2, "name in upper case");
	enum_case("\"alwaysTrustIgnoreThumbprint\"", 0, "name in mixed case");
	enum_case("0", 0, "position 0");
	enum_case("2", 2, "position 2 (last)");
	enum_case("null", -1, "null");
	enum_case("3", -2, "position out of range");
	enum_case("-1", -2, "negative position");
	enum_case("9223372036854775807", -2, "huge position");
	enum_case("1.0", -2, "a real");
	enum_case("true", -2, "a bool");
	enum_case("\"\"", -2, "empty string");
	enum_case("\"Nope\"", -2, "unknown name");
	enum_case("\" WarnOnThumbprintMismatch\"", -2, "name with a space");
	enum_case("\"WarnOnThumbprintMismatc\"", -2, "a prefix of a name");
	enum_case("\"WarnOnThumbprintMismatch\\u0000x\"", -2,
	    "a name followed by NUL");
	enum_case("\"1\"", -2, "position as a string");
	enum_case("[1]", -2, "an array");
	is_int(hs_enum_parse(hs_trust_action_names, HS_N_TRUST_ACTION, NULL),
	    -1, "enum absent (NULL) is -1");
	is_int(hs_enum_parse(hs_certificate_type_names, HS_N_CERTIFICATE_TYPE,
	    cert), 2, "CertificateType \"ssh\" is 2");
	json_decref(cert);
}

static void
test_errors_add(void)
{
	json_t	*e = json_object(), *l;
	char	*s;

	hs_errors_add(e, "[0].os", "first");
	hs_errors_add(e, "[0].os", "second");
	hs_errors_add(e, "$", "third");
	l = json_object_get(e, "[0].os");
	ok(json_is_array(l) && json_array_size(l) == 2 &&
	    strcmp(json_string_value(json_array_get(l, 0)), "first") == 0 &&
	    strcmp(json_string_value(json_array_get(l, 1)), "second") == 0,
	    "errors_add: two messages on one path, in order");
	is_int(json_object_size(e), 2, "errors_add: one key per path");
	/* A NULL errors, path or message adds nothing anywhere. */
	hs_errors_add(NULL, "$", "x");
	hs_errors_add(e, NULL, "x");
	hs_errors_add(e, "[1].ipAddress", NULL);
	hs_errors_add(e, "$", NULL);
	s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
	is_str(s, "{\"$\":[\"third\"],\"[0].os\":[\"first\",\"second\"]}",
	    "errors_add: a NULL errors, path or message adds nothing");
	free(s);
	/* A path that holds something else than a list gets a list. */
	json_object_set_new(e, "[2].os", json_integer(1));
	hs_errors_add(e, "[2].os", "replaced");
	s = json_dumps(json_object_get(e, "[2].os"), JSON_COMPACT |
	    JSON_ENCODE_ANY);
	is_str(s, "[\"replaced\"]", "errors_add: a non-list value becomes a "
	    "list of the message");
	free(s);
	json_decref(e);
}

static void
test_top_level(void)
{
	static const char *const notarray[] = { "{}", "\"x\"", "1", "null",
	    "true", "{\"dnsHostName\":\"a\"}" };
	struct run	 r;
	char		*it = NULL;
	struct sb	 b = { NULL, 0, 0 };
	size_t		 i;
	json_t		*root;

	for (i = 0; i < sizeof(notarray) / sizeof(notarray[0]); i++) {
		struct hs_host_req	*h = (void *)1;
		size_t			 n = 9;
		json_t			*e = json_object();

		root = json_loads(notarray[i], JSON_DECODE_ANY, NULL);
		memset(&r, 0, sizeof(r));
		r.rc = hs_validate_hosts(root, 10, &h, &n, e);
		r.errors = e;
		r.parsed = root != NULL;
		only_error(&r, "$", "the body must be a JSON array of "
		    "HostScanJobRequest objects", notarray[i]);
		ok(h == NULL && n == 0, "%s: no items returned", notarray[i]);
		json_decref(root);
		json_decref(e);
	}

	run(&r, "[]", 10);
	only_error(&r, "$", "at least one host is required", "empty array");
	ok(r.h == NULL && r.n == 0, "empty array: no items returned");
	run_free(&r);

	it = ONE(NULL, NULL);
	it[strlen(it) - 1] = '\0';	/* "[{...}" */
	sb_str(&b, it);
	for (i = 1; i < 3; i++) {
		sb_str(&b, ",");
		sb_str(&b, it + 1);
	}
	sb_str(&b, "]");
	run(&r, b.p, 3);
	no_errors(&r, 3, "max_hosts 3 with 3 items");
	run_free(&r);
	run(&r, b.p, 2);
	only_error(&r, "$", "at most 2 hosts per request",
	    "max_hosts 2 with 3 items");
	ok(r.h == NULL && r.n == 0, "over max_hosts: no items returned");
	run_free(&r);
	free(b.p);
	b.p = NULL;
	b.len = b.cap = 0;

	/* Over the limit the items are not looked at. */
	run(&r, "[1,2,3]", 2);
	only_error(&r, "$", "at most 2 hosts per request",
	    "over max_hosts: items not validated");
	run_free(&r);

	sb_str(&b, it);
	sb_str(&b, ",1,");
	sb_str(&b, it + 1);
	sb_str(&b, ",[],null,\"x\"]");
	run(&r, b.p, 10);
	ok(r.rc != 0 && json_object_size(r.errors) == 4,
	    "non-object items: four errors");
	for (i = 1; i <= 5; i++) {
		char		 key[16];
		const json_t	*l;

		if (i == 2)
			continue;
		snprintf(key, sizeof(key), "[%zu]", i);
		l = json_object_get(r.errors, key);
		ok(json_array_size(l) == 1 && strcmp(json_string_value(
		    json_array_get(l, 0)), "must be an object") == 0,
		    "item %zu not an object: errors[\"%s\"] = "
		    "[\"must be an object\"]", i, key);
	}
	ok(r.h != NULL && r.n == 6, "items are returned even with errors");
	if (r.h != NULL && r.n == 6) {
		is_str(r.h[2].dns_host_name, "host.example.test",
		    "the good item after a bad one is filled in");
		is_int(r.h[1].ssh_port, 22, "a bad item keeps its defaults");
		is_int(r.h[1].trust_action, -1,
		    "a bad item keeps trust_action -1");
	}
	run_free(&r);
	free(b.p);
	free(it);
}

static void
test_dns_ip_fields(void)
{
	struct run	 r;

	rejects("dnsHostName", "\"-bad\"", "[0].dnsHostName", MSG_DNS,
	    "dnsHostName leading hyphen");
	rejects("dnsHostName", "\"under_score.example\"", "[0].dnsHostName",
	    MSG_DNS, "dnsHostName with an underscore");
	rejects("dnsHostName", "42", "[0].dnsHostName", MSG_STRING,
	    "dnsHostName a number");
	rejects("dnsHostName", "[\"a\"]", "[0].dnsHostName", MSG_STRING,
	    "dnsHostName an array");
	rejects("ipAddress", "\"string\"", "[0].ipAddress", MSG_IP,
	    "ipAddress not an address");
	rejects("ipAddress", "\"fe80::1%eth0\"", "[0].ipAddress", MSG_IP,
	    "ipAddress with a zone id");
	rejects("ipAddress", "\"300.0.0.1\"", "[0].ipAddress", MSG_IP,
	    "ipAddress octet over 255");
	rejects("ipAddress", "true", "[0].ipAddress", MSG_STRING,
	    "ipAddress a bool");

	accepts(&r, "dnsHostName", "\"Host.Example.TEST.\"",
	    "dnsHostName with a trailing dot");
	if (r.h)
		is_str(r.h[0].dns_host_name, "Host.Example.TEST",
		    "dnsHostName: trailing dot stripped, case kept");
	run_free(&r);
	accepts(&r, "dnsHostName", "\"\"", "dnsHostName empty with an ip");
	if (r.h)
		ok(r.h[0].dns_host_name == NULL,
		    "dnsHostName \"\" is stored as NULL");
	run_free(&r);
	accepts(&r, "ipAddress", "\"2001:DB8:0:0:0:0:0:1\"",
	    "ipAddress IPv6 long form");
	if (r.h)
		is_str(r.h[0].ip_address, "2001:db8::1",
		    "ipAddress stored in canonical form");
	run_free(&r);
	accepts(&r, "ipAddress", "null", "ipAddress null with a name");
	if (r.h)
		ok(r.h[0].ip_address == NULL, "ipAddress null stored as NULL");
	run_free(&r);

	{
		char	*body = ONE("dnsHostName", "null", "ipAddress", "null");

		run(&r, body, 10);
		only_error(&r, "[0].dnsHostName", MSG_HOST_REQ,
		    "neither dnsHostName nor ipAddress (null)");
		run_free(&r);
		free(body);
		body = ONE("dnsHostName", DROP, "ipAddress", DROP);
		run(&r, body, 10);
		only_error(&r, "[0].dnsHostName", MSG_HOST_REQ,
		    "neither dnsHostName nor ipAddress (absent)");
		run_free(&r);
		free(body);
		body = ONE("dnsHostName", "\"\"", "ipAddress", "\"\"");
		run(&r, body, 10);
		only_error(&r, "[0].dnsHostName", MSG_HOST_REQ,
		    "neither dnsHostName nor ipAddress (empty strings)");
		run_free(&r);
		free(body);
		body = ONE("dnsHostName", "null", "ipAddress", "\"string\"");
		run(&r, body, 10);
		only_error(&r, "[0].ipAddress", MSG_IP,
		    "a bad ipAddress alone: no 'required' error on top");
		run_free(&r);
		free(body);
		body = ONE("dnsHostName", "null", "ipAddress", "\"10.1.2.3\"");
		run(&r, body, 10);
		no_errors(&r, 1, "ipAddress only");
		if (r.h)
			ok(r.h[0].dns_host_name == NULL &&
			    strcmp(r.h[0].ip_address, "10.1.2.3") == 0,
			    "ipAddress only: stored, no name");
		run_free(&r);
		free(body);
		body = ONE("dnsHostName", "\"only.name\"", "ipAddress", DROP);
		run(&r, body, 10);
		no_errors(&r, 1, "dnsHostName only");
		run_free(&r);
		free(body);
	}
}

static void
test_string_fields(void)
{
	struct run	 r;
	char		*s;
	static const char *const plain[] = { "os", "credentialName",
	    "platformName" };
	size_t		 i;
	char		 key[64], name[96];

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		snprintf(key, sizeof(key), "[0].%s", plain[i]);
		s = rep("o", HS_MAX_FIELD_LEN, 1);
		snprintf(name, sizeof(name), "%s of 1024 chars", plain[i]);
		accepts(&r, plain[i], s, name);
		run_free(&r);
		free(s);
		s = rep("o", HS_MAX_FIELD_LEN + 1, 1);
		snprintf(name, sizeof(name), "%s of 1025 chars", plain[i]);
		rejects(plain[i], s, key, "must be at most 1024 characters",
		    name);
		free(s);
		snprintf(name, sizeof(name), "%s of the wrong type", plain[i]);
		rejects(plain[i], "[\"Linux\"]", key, MSG_STRING, name);
		snprintf(name, sizeof(name), "%s with NUL", plain[i]);
		rejects(plain[i], "\"ab\\u0000cd\"", key, MSG_NUL, name);
	}
	/* é is 2 bytes: the limit counts characters, not bytes. */
	s = rep("\xc3\xa9", HS_MAX_FIELD_LEN, 1);
	accepts(&r, "os", s, "os of 1024 two-byte characters");
	if (r.h)
		is_int(strlen(r.h[0].os), 2 * HS_MAX_FIELD_LEN,
		    "os of 1024 two-byte characters stored whole");
	run_free(&r);
	free(s);
	s = rep("\xc3\xa9", HS_MAX_FIELD_LEN + 1, 1);
	rejects("os", s, "[0].os", "must be at most 1024 characters",
	    "os of 1025 two-byte characters");
	free(s);
	accepts(&r, "os", "\"\"", "os empty");
	if (r.h)
		ok(r.h[0].os == NULL, "os \"\" stored as NULL");
	run_free(&r);
	accepts(&r, "os", "\"Ubuntu 24.04\"", "os given");
	if (r.h)
		is_str(r.h[0].os, "Ubuntu 24.04", "os stored as given");
	run_free(&r);
	accepts(&r, "platformName", "\"Palo Alto\"", "platformName given");
	if (r.h)
		is_str(r.h[0].platform_name, "Palo Alto",
		    "platformName stored as given");
	run_free(&r);
	accepts(&r, "platformName", "null", "platformName null");
	if (r.h)
		ok(r.h[0].platform_name == NULL, "platformName null is NULL");
	run_free(&r);

	s = rep("s", HS_MAX_SOURCE_LEN, 1);
	accepts(&r, "source", s, "source of 256 chars");
	if (r.h)
		is_int(strlen(r.h[0].source), 256, "source of 256 chars stored");
	run_free(&r);
	free(s);
	s = rep("s", HS_MAX_SOURCE_LEN + 1, 1);
	rejects("source", s, "[0].source", "must be at most 256 characters",
	    "source of 257 chars");
	free(s);
	s = rep("\xe2\x82\xac", HS_MAX_SOURCE_LEN, 1);	/* € is 3 bytes */
	accepts(&r, "source", s, "source of 256 three-byte characters");
	run_free(&r);
	free(s);
	s = rep("\xe2\x82\xac", HS_MAX_SOURCE_LEN + 1, 1);
	rejects("source", s, "[0].source", "must be at most 256 characters",
	    "source of 257 three-byte characters");
	free(s);
	s = rep("\xf0\x9f\x98\x80", HS_MAX_SOURCE_LEN, 1);	/* 4 bytes */
	accepts(&r, "source", s, "source of 256 four-byte characters");
	run_free(&r);
	free(s);
	rejects("source", "7", "[0].source", MSG_STRING, "source a number");
	rejects("source", "\"\\u0000\"", "[0].source", MSG_NUL,
	    "source of a single NUL");

	rejects("dnsHostName", "\"ab\\u0000cd\"", "[0].dnsHostName", MSG_NUL,
	    "dnsHostName with NUL");
	rejects("ipAddress", "\"127.0.0.1\\u0000x\"", "[0].ipAddress", MSG_NUL,
	    "ipAddress with NUL after a good address");
	rejects("trustedThumbprint", "\"" SHA1_HEX "\\u0000\"",
	    "[0].trustedThumbprint", MSG_NUL, "trustedThumbprint with NUL");
	rejects("credentialId", "\"" ZERO_UUID "\\u0000\"", "[0].credentialId",
	    MSG_NUL, "credentialId with NUL");

	/* Both problems of one value are reported, in a list. */
	s = rep("\\u0000", HS_MAX_SOURCE_LEN + 1, 1);
	{
		char		*body = ONE("source", s);
		const json_t	*l;

		run(&r, body, 10);
		l = json_object_get(r.errors, "[0].source");
		ok(r.rc != 0 && json_object_size(r.errors) == 1 &&
		    json_array_size(l) == 2 &&
		    strcmp(json_string_value(json_array_get(l, 0)),
		    MSG_NUL) == 0 &&
		    strcmp(json_string_value(json_array_get(l, 1)),
		    "must be at most 256 characters") == 0,
		    "source of 257 NULs: two messages on [0].source");
		run_free(&r);
		free(body);
	}
	free(s);
}

static void
test_credential_fields(void)
{
	struct run	 r;
	char		*body;

	rejects("credentialId", "\"nope\"", "[0].credentialId", MSG_UUID,
	    "credentialId not a uuid");
	rejects("credentialId", "5", "[0].credentialId", MSG_UUID,
	    "credentialId a number");
	rejects("credentialId", "\"f568fec0-10b6-4b94-9daf-e62c50c9bf3\"",
	    "[0].credentialId", MSG_UUID, "credentialId 35 chars");
	accepts(&r, "credentialId", "\"F568FEC0-10B6-4B94-9DAF-E62C50C9BF3E\"",
	    "credentialId upper case");
	if (r.h)
		is_str(r.h[0].credential_id,
		    "f568fec0-10b6-4b94-9daf-e62c50c9bf3e",
		    "credentialId stored in lower case");
	run_free(&r);
	accepts(&r, "credentialId", "\"" ZERO_UUID "\"", "credentialId zero");
	if (r.h)
		is_str(r.h[0].credential_id, "", "all-zero credentialId is \"\"");
	run_free(&r);

	body = ONE("credentialId", "null", "credentialName", "null");
	run(&r, body, 10);
	only_error(&r, "[0].credentialName", MSG_CRED_REQ,
	    "credentialId null and credentialName null");
	run_free(&r);
	free(body);
	body = ONE("credentialId", DROP, "credentialName", DROP);
	run(&r, body, 10);
	only_error(&r, "[0].credentialName", MSG_CRED_REQ,
	    "credentialId and credentialName absent");
	run_free(&r);
	free(body);
	body = ONE("credentialId", "\"" ZERO_UUID "\"", "credentialName",
	    "null");
	run(&r, body, 10);
	only_error(&r, "[0].credentialName", MSG_CRED_REQ,
	    "all-zero credentialId and no credentialName");
	run_free(&r);
	free(body);
	body = ONE("credentialId", "\"\"", "credentialName", "\"\"");
	run(&r, body, 10);
	only_error(&r, "[0].credentialName", MSG_CRED_REQ,
	    "credentialId \"\" and credentialName \"\"");
	run_free(&r);
	free(body);
	body = ONE("credentialId", "\"nope\"", "credentialName", "null");
	run(&r, body, 10);
	only_error(&r, "[0].credentialId", MSG_UUID,
	    "a bad credentialId alone: no 'required' error on top");
	run_free(&r);
	free(body);
	body = ONE("credentialId", "\"f568fec0-10b6-4b94-9daf-e62c50c9bf3e\"",
	    "credentialName", "null");
	run(&r, body, 10);
	no_errors(&r, 1, "credentialId without credentialName");
	if (r.h)
		ok(r.h[0].credential_name == NULL &&
		    strcmp(r.h[0].credential_id,
		    "f568fec0-10b6-4b94-9daf-e62c50c9bf3e") == 0,
		    "credentialId stored, credentialName NULL");
	run_free(&r);
	free(body);
	body = ONE("credentialId", DROP, "credentialName", "\"cred\"");
	run(&r, body, 10);
	no_errors(&r, 1, "credentialName without credentialId");
	if (r.h)
		ok(r.h[0].credential_id[0] == '\0' &&
		    strcmp(r.h[0].credential_name, "cred") == 0,
		    "credentialName stored, credential_id \"\"");
	run_free(&r);
	free(body);
}

static void
test_bool_enum_port(void)
{
	static const char *const trust_bad[] = { "3", "-1", "\"Nope\"", "true",
	    "1.5", "\"\"", "{}", "\"1\"" };
	static const char *const cert_bad[] = { "5", "3", "\"SSH2\"", "false",
	    "2.0" };
	static const char *const port_range[] = { "-1", "65536", "100000",
	    "-65535", "9223372036854775807" };
	static const char *const port_type[] = { "\"22\"", "22.5", "22.0",
	    "true", "{}", "[22]", "1e3" };
	struct run	 r;
	size_t		 i;
	char		 name[64];

	accepts(&r, "acceptThumbprintOnFirstDiscovery", "true", "accept true");
	if (r.h)
		is_int(r.h[0].accept_first, 1, "accept true stored as 1");
	run_free(&r);
	accepts(&r, "acceptThumbprintOnFirstDiscovery", "false",
	    "accept false");
	if (r.h)
		is_int(r.h[0].accept_first, 0, "accept false stored as 0");
	run_free(&r);
	accepts(&r, "acceptThumbprintOnFirstDiscovery", "null", "accept null");
	if (r.h)
		is_int(r.h[0].accept_first, 0, "accept null stored as 0");
	run_free(&r);
	rejects("acceptThumbprintOnFirstDiscovery", "\"yes\"",
	    "[0].acceptThumbprintOnFirstDiscovery", MSG_BOOL, "accept \"yes\"");
	rejects("acceptThumbprintOnFirstDiscovery", "1",
	    "[0].acceptThumbprintOnFirstDiscovery", MSG_BOOL, "accept 1");
	rejects("acceptThumbprintOnFirstDiscovery", "\"true\"",
	    "[0].acceptThumbprintOnFirstDiscovery", MSG_BOOL,
	    "accept \"true\"");

	accepts(&r, "sshTrustActionType", "\"warnonthumbprintmismatch\"",
	    "trust action by name in lower case");
	if (r.h)
		is_int(r.h[0].trust_action, 1, "trust action stored as 1");
	run_free(&r);
	accepts(&r, "sshTrustActionType", "0", "trust action by position 0");
	if (r.h)
		is_int(r.h[0].trust_action, 0, "trust action 0 stored as 0");
	run_free(&r);
	accepts(&r, "sshTrustActionType", "null", "trust action null");
	if (r.h)
		is_int(r.h[0].trust_action, -1, "trust action null is -1");
	run_free(&r);
	for (i = 0; i < sizeof(trust_bad) / sizeof(trust_bad[0]); i++) {
		snprintf(name, sizeof(name), "trust action %s", trust_bad[i]);
		rejects("sshTrustActionType", trust_bad[i],
		    "[0].sshTrustActionType", MSG_TRUST, name);
	}
	accepts(&r, "certificateType", "\"SSH\"", "certificate type SSH");
	if (r.h)
		is_int(r.h[0].certificate_type, 2, "SSH stored as 2");
	run_free(&r);
	accepts(&r, "certificateType", "\"winrm\"", "certificate type winrm");
	if (r.h)
		is_int(r.h[0].certificate_type, 0, "winrm stored as 0");
	run_free(&r);
	accepts(&r, "certificateType", "1", "certificate type 1");
	if (r.h)
		is_int(r.h[0].certificate_type, 1, "1 stored as 1 (RDP)");
	run_free(&r);
	for (i = 0; i < sizeof(cert_bad) / sizeof(cert_bad[0]); i++) {
		snprintf(name, sizeof(name), "certificate type %s",
		    cert_bad[i]);
		rejects("certificateType", cert_bad[i], "[0].certificateType",
		    MSG_CERT, name);
	}

	accepts(&r, "sshPort", "0", "sshPort 0");
	if (r.h)
		is_int(r.h[0].ssh_port, 22, "sshPort 0 stored as 22");
	run_free(&r);
	accepts(&r, "sshPort", "null", "sshPort null");
	if (r.h)
		is_int(r.h[0].ssh_port, 22, "sshPort null stored as 22");
	run_free(&r);
	accepts(&r, "sshPort", DROP, "sshPort absent");
	if (r.h)
		is_int(r.h[0].ssh_port, 22, "sshPort absent stored as 22");
	run_free(&r);
	accepts(&r, "sshPort", "1", "sshPort 1");
	if (r.h)
		is_int(r.h[0].ssh_port, 1, "sshPort 1 stored");
	run_free(&r);
	accepts(&r, "sshPort", "65535", "sshPort 65535");
	if (r.h)
		is_int(r.h[0].ssh_port, 65535, "sshPort 65535 stored");
	run_free(&r);
	for (i = 0; i < sizeof(port_range) / sizeof(port_range[0]); i++) {
		snprintf(name, sizeof(name), "sshPort %s", port_range[i]);
		rejects("sshPort", port_range[i], "[0].sshPort", MSG_PORT,
		    name);
	}
	for (i = 0; i < sizeof(port_type) / sizeof(port_type[0]); i++) {
		snprintf(name, sizeof(name), "sshPort %s", port_type[i]);
		rejects("sshPort", port_type[i], "[0].sshPort", MSG_INT, name);
	}
}

static void
test_thumbprint_field(void)
{
	static const struct {
		const char	*raw, *want, *name;
	} good[] = {
		{ "\"" SHA256_FP "\"", SHA256_FP, "SHA256" },
		{ "\"" SHA256_FP "=\"", SHA256_FP, "SHA256 padded" },
		{ "\"MD5:D4:1D:8C:D9:8F:00:B2:04:E9:80:09:98:EC:F8:42:7E\"",
		    "MD5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e",
		    "MD5 upper" },
		{ "\"a9 09 50 2d d8 2a e4 14 33 e6 f8 38 86 b0 0d 42 77 a3 "
		    "2a 7b\"", SHA1_HEX, "40 hex with spaces" },
		{ "\"" LRM "a909502dd82ae41433e6f83886b00d4277a32a7b\"",
		    SHA1_HEX, "40 hex with U+200E as raw UTF-8" },
		{ "\"\\u200ea909502dd82ae41433e6f83886b00d4277a32a7b\"",
		    SHA1_HEX, "40 hex with U+200E as a JSON escape" },
	};
	struct run	 r;
	size_t		 i;
	char		*s;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		accepts(&r, "trustedThumbprint", good[i].raw, good[i].name);
		if (r.h)
			is_str(r.h[0].trusted_thumbprint, good[i].want,
			    "trustedThumbprint stored: %s", good[i].name);
		run_free(&r);
	}
	accepts(&r, "trustedThumbprint", "null", "trustedThumbprint null");
	if (r.h)
		ok(r.h[0].trusted_thumbprint == NULL,
		    "trustedThumbprint null is NULL");
	run_free(&r);
	accepts(&r, "trustedThumbprint", "\"\"", "trustedThumbprint empty");
	if (r.h)
		ok(r.h[0].trusted_thumbprint == NULL,
		    "trustedThumbprint \"\" is NULL");
	run_free(&r);
	rejects("trustedThumbprint", "\"string\"", "[0].trustedThumbprint",
	    MSG_THUMB, "trustedThumbprint \"string\"");
	rejects("trustedThumbprint", "\"SHA256:abc\"", "[0].trustedThumbprint",
	    MSG_THUMB, "trustedThumbprint SHA256:abc");
	rejects("trustedThumbprint", "42", "[0].trustedThumbprint", MSG_STRING,
	    "trustedThumbprint a number");
	s = rep(" ", HS_MAX_FIELD_LEN + 1, 1);
	rejects("trustedThumbprint", s, "[0].trustedThumbprint",
	    "must be at most 1024 characters", "trustedThumbprint too long");
	free(s);
}

static void
test_items(void)
{
	struct run	 r;
	struct sb	 b = { NULL, 0, 0 };
	char		*i0 = ONE(NULL, NULL), *i2, *s;
	const json_t	*l;

	/* "[{...}]" -> "{...}" */
	i0[strlen(i0) - 1] = '\0';
	i2 = ONE("sshPort", "70000");
	i2[strlen(i2) - 1] = '\0';
	sb_str(&b, i0);
	sb_str(&b, ",");
	sb_str(&b, i0 + 1);
	sb_str(&b, ",");
	sb_str(&b, i2 + 1);
	sb_str(&b, "]");
	run(&r, b.p, 10);
	only_error(&r, "[2].sshPort", MSG_PORT, "third item bad: [2].sshPort");
	ok(r.n == 3 && r.h != NULL, "three items returned");
	run_free(&r);
	free(b.p);
	free(i2);

	s = rep("o", HS_MAX_FIELD_LEN + 1, 1);
	i2 = ONE("os", s, "ipAddress", "\"1.2.3\"", "sshPort", "\"22\"",
	    "fooBar", "{\"x\":[1,2,{\"y\":null}]}", "hostScanJobId", "\"x\"");
	run(&r, i2, 10);
	ok(r.rc != 0 && json_object_size(r.errors) == 3 &&
	    json_object_get(r.errors, "[0].os") != NULL &&
	    json_object_get(r.errors, "[0].ipAddress") != NULL &&
	    json_object_get(r.errors, "[0].sshPort") != NULL,
	    "three bad fields in one item: three keys, unknown fields "
	    "ignored");
	l = json_object_get(r.errors, "[0].ipAddress");
	ok(json_array_size(l) == 1 && strcmp(json_string_value(
	    json_array_get(l, 0)), MSG_IP) == 0, "ipAddress message");
	run_free(&r);
	free(i2);
	free(s);

	i2 = ONE("fooBar", "{\"x\":[1,2,{\"y\":null}]}", "zz", "1e3",
	    "DNSHOSTNAME", "42");
	run(&r, i2, 10);
	no_errors(&r, 1, "unknown fields (and other-case names) ignored");
	run_free(&r);
	free(i2);
	free(i0);
}

static void
test_doc_example(void)
{
	struct run	 r;
	const json_t	*l;

	run(&r, DOC_EXAMPLE, HS_DEFAULT_MAX_HOSTS);
	ok(r.parsed && r.rc != 0 && json_object_size(r.errors) == 2,
	    "documentation example: exactly two errors");
	l = json_object_get(r.errors, "[0].ipAddress");
	ok(json_array_size(l) == 1 && strcmp(json_string_value(
	    json_array_get(l, 0)), MSG_IP) == 0,
	    "documentation example: [0].ipAddress");
	l = json_object_get(r.errors, "[0].trustedThumbprint");
	ok(json_array_size(l) == 1 && strcmp(json_string_value(
	    json_array_get(l, 0)), MSG_THUMB) == 0,
	    "documentation example: [0].trustedThumbprint");
	if (!ok(r.h != NULL && r.n == 1, "documentation example: item kept")) {
		dump_errors(r.errors);
		run_free(&r);
		return;
	}
	is_str(r.h[0].dns_host_name, "string",
	    "documentation example: dnsHostName \"string\" is a host name");
	is_str(r.h[0].os, "string", "documentation example: os");
	is_str(r.h[0].credential_id, "f568fec0-10b6-4b94-9daf-e62c50c9bf3e",
	    "documentation example: credentialId");
	is_str(r.h[0].credential_name, "string",
	    "documentation example: credentialName");
	is_str(r.h[0].platform_name, "string",
	    "documentation example: platformName (checked by the caller)");
	is_int(r.h[0].accept_first, 1, "documentation example: accept");
	is_int(r.h[0].trust_action, -1, "documentation example: trust null");
	is_int(r.h[0].certificate_type, -1, "documentation example: cert null");
	is_int(r.h[0].ssh_port, 22, "documentation example: sshPort 0 -> 22");
	is_str(r.h[0].source, "string", "documentation example: source");
	run_free(&r);
}

static void
test_valid_body(void)
{
	struct run	 r;
	struct hs_host_req *h;

	run(&r, "[{\"dnsHostName\":\"web01.example.test.\","
	    "\"ipAddress\":\"::FFFF:192.0.2.7\",\"os\":\"Debian\","
	    "\"credentialId\":\"F568FEC0-10B6-4B94-9DAF-E62C50C9BF3E\","
	    "\"credentialName\":null,\"platformName\":\"Linux\","
	    "\"acceptThumbprintOnFirstDiscovery\":false,"
	    "\"sshTrustActionType\":\"warnOnThumbprintMismatch\","
	    "\"certificateType\":2,"
	    "\"trustedThumbprint\":\"" LRM "a9:09:50:2d:d8:2a:e4:14:33:e6:f8"
	    ":38:86:b0:0d:42:77:a3:2a:7b\",\"sshPort\":2222,"
	    "\"source\":\"User Input\"},"
	    "{\"ipAddress\":\"10.0.0.1\",\"credentialName\":\"svc\"}]", 10);
	no_errors(&r, 2, "valid two-item body");
	if (r.h == NULL || r.n != 2) {
		run_free(&r);
		return;
	}
	h = &r.h[0];
	is_str(h->dns_host_name, "web01.example.test", "valid: dnsHostName");
	is_str(h->ip_address, "::ffff:192.0.2.7", "valid: ipAddress canonical");
	is_str(h->os, "Debian", "valid: os");
	is_str(h->credential_id, "f568fec0-10b6-4b94-9daf-e62c50c9bf3e",
	    "valid: credentialId lower case");
	ok(h->credential_name == NULL, "valid: credentialName NULL");
	is_str(h->platform_name, "Linux", "valid: platformName");
	is_int(h->accept_first, 0, "valid: accept false");
	is_int(h->trust_action, 1, "valid: trust action 1");
	is_int(h->certificate_type, 2, "valid: certificate type 2");
	is_str(h->trusted_thumbprint, SHA1_HEX, "valid: thumbprint normalised");
	is_int(h->ssh_port, 2222, "valid: sshPort 2222");
	is_str(h->source, "User Input", "valid: source");
	h = &r.h[1];
	ok(h->dns_host_name == NULL && h->os == NULL &&
	    h->platform_name == NULL && h->trusted_thumbprint == NULL &&
	    h->source == NULL, "valid: absent strings are NULL");
	is_str(h->credential_id, "", "valid: absent credentialId is \"\"");
	is_str(h->credential_name, "svc", "valid: credentialName");
	ok(h->accept_first == 0 && h->trust_action == -1 &&
	    h->certificate_type == -1 && h->ssh_port == 22,
	    "valid: defaults 0, -1, -1, 22");
	run_free(&r);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 +
	    (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
test_big_body(void)
{
	struct sb	 b = { NULL, 0, 0 };
	char		*it;
	json_t		*root, *errors = json_object();
	struct hs_host_req *h = NULL;
	size_t		 i, n = 0;
	struct timespec	 t0;
	double		 ms = 1e9, t, budget = 50;
	const char	*p;
	int		 rc = -1, k;

#if defined(__SANITIZE_ADDRESS__)
	budget = 500;		/* ASan and UBSan slow everything ~5x */
#endif
	/* Valgrind is ~30x slower; HOSTSCAN_TEST_SLOW for other tools. */
	if (getenv("HOSTSCAN_TEST_SLOW") != NULL ||
	    ((p = getenv("LD_PRELOAD")) != NULL &&
	    strstr(p, "vgpreload") != NULL))
		budget = 5000;
	it = ONE("source", "\"bulk.csv\"", "os", "\"Linux\"",
	    "trustedThumbprint", "\"" SHA256_FP "\"", "sshTrustActionType",
	    "\"ErrorOnThumbprintMismatch\"", "certificateType", "\"SSH\"");
	it[strlen(it) - 1] = '\0';
	sb_str(&b, it);
	for (i = 1; i < HS_DEFAULT_MAX_HOSTS; i++) {
		sb_str(&b, ",");
		sb_str(&b, it + 1);
	}
	sb_str(&b, "]");
	root = json_loads(b.p, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	ok(json_array_size(root) == HS_DEFAULT_MAX_HOSTS,
	    "fixture: 10 000 items parse");
	/*
	 * The CPU time this process spent, best of three: other processes
	 * on a busy machine (a parallel make check, a fuzzer) stretch the
	 * wall clock many times over, but not this.
	 */
	for (k = 0; k < 3; k++) {
		if (k > 0) {
			hs_host_reqs_free(h, n);
			json_decref(errors);
			errors = json_object();
		}
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
		rc = hs_validate_hosts(root, HS_DEFAULT_MAX_HOSTS, &h, &n,
		    errors);
		if ((t = ms_since(&t0)) < ms)
			ms = t;
	}
	ok(rc == 0 && json_object_size(errors) == 0 &&
	    n == HS_DEFAULT_MAX_HOSTS, "10 000 items validate without error");
	ok(ms < budget, "10 000 items in %.1f ms of CPU (budget %.0f ms)", ms,
	    budget);
	if (h != NULL && n == HS_DEFAULT_MAX_HOSTS)
		is_str(h[9999].trusted_thumbprint, SHA256_FP,
		    "item 9999 normalised");
	hs_host_reqs_free(h, n);
	json_decref(errors);

	/* One more than the default limit. */
	json_array_append_new(root, json_array_get(root, 0) ?
	    json_deep_copy(json_array_get(root, 0)) : json_null());
	errors = json_object();
	rc = hs_validate_hosts(root, HS_DEFAULT_MAX_HOSTS, &h, &n, errors);
	ok(rc != 0 && h == NULL && n == 0 &&
	    json_array_size(json_object_get(errors, "$")) == 1 &&
	    strcmp(json_string_value(json_array_get(json_object_get(errors,
	    "$"), 0)), "at most 10000 hosts per request") == 0,
	    "10 001 items: \"at most 10000 hosts per request\"");
	json_decref(errors);
	json_decref(root);
	free(b.p);
	free(it);
}

int
main(void)
{
	test_names();
	test_check_dns();
	test_check_ip();
	test_check_uuid();
	test_check_thumbprint();
	test_enum_parse();
	test_errors_add();
	test_top_level();
	test_dns_ip_fields();
	test_string_fields();
	test_credential_fields();
	test_bool_enum_port();
	test_thumbprint_field();
	test_items();
	test_doc_example();
	test_valid_body();
	test_big_body();
	return done_testing();
}
