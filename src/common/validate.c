/* SPDX-License-Identifier: ISC */
/* HostScanJobRequest validation: one table of fields and their pure checks. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

const char *const hs_action_status_names[] = {
	"Queued", "Running", "Complete", "Failed", "Cancelled",
	"CompletedWithErrors", "CompletedNotRun", "Paused", "Scheduled",
	"Unknown", "Pending"
};
const char *const hs_failure_reason_names[] = {
	"NoError", "UnknownError", "SystemError", "ActionServiceUnavailable",
	"ActionTimeout", "AccessDenied", "UserAlreadyMemberofGroup",
	"UserNotMemberofGroup", "InvalidGroupName", "InvalidUserName",
	"InvalidHostName", "FailedToConnect"
};
const char *const hs_trust_action_names[] = {
	"AlwaysTrustIgnoreThumbprint", "WarnOnThumbprintMismatch",
	"ErrorOnThumbprintMismatch"
};
const char *const hs_certificate_type_names[] = { "WinRM", "RDP", "SSH" };

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
_Static_assert(NELEM(hs_action_status_names) == HS_N_ACTION_STATUS,
    "ActionStatus names");
_Static_assert(NELEM(hs_failure_reason_names) == HS_N_FAILURE_REASON,
    "ActionFailureReason names");
_Static_assert(NELEM(hs_trust_action_names) == HS_N_TRUST_ACTION,
    "SshTrustActionType names");
_Static_assert(NELEM(hs_certificate_type_names) == HS_N_CERTIFICATE_TYPE,
    "CertificateType names");

#define MSG_DNS		"must be an RFC 1123 host name: dot-separated labels " \
			"of 1-63 letters, digits or '-', not starting or " \
			"ending with '-'"
#define MSG_DNS_LEN	"must be at most " HS_STR(HS_MAX_DNS_NAME_LEN) " characters"
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

#define SSH_PORT	22
#define SHA256_B64_LEN	43		/* 32 bytes, unpadded */
#define MD5_LEN		16
#define SHA1_HEX_LEN	40
/* Holds every normalised form: a host name is the longest. */
#define NORM_MAX	(HS_MAX_DNS_NAME_LEN + 1)

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Locale-independent, unlike strcasecmp(3) under a Turkish locale. */
static int
ascii_caseeq(const char *a, const char *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (ascii_lower((unsigned char)a[i]) !=
		    ascii_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

static int
is_ldh(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

static int
is_b64(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : 63;
}

/*
 * The normalising checks below are what the field table calls: NULL and
 * the stored form in norm (when norm is not NULL), or the error message.
 * Purely numeric labels pass, as RFC 1123 section 2.1 allows; the one
 * trailing dot of an absolute name is dropped so both spellings match.
 */
static const char *
norm_dns(const char *s, char *norm, size_t normsize)
{
	size_t	 len = strlen(s), i, label = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len > HS_MAX_DNS_NAME_LEN)
		return MSG_DNS_LEN;
	if (len == 0)
		return MSG_DNS;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return MSG_DNS;
			label = 0;
			continue;
		}
		if (!is_ldh((unsigned char)s[i]) ||
		    (label == 0 && s[i] == '-') ||
		    ++label > HS_MAX_DNS_LABEL_LEN)
			return MSG_DNS;
	}
	if (norm != NULL) {
		if (len >= normsize)
			return MSG_DNS_LEN;
		memcpy(norm, s, len);
		norm[len] = '\0';
	}
	return NULL;
}

/*
 * inet_pton(3), unlike getaddrinfo(3), refuses a zone id ("fe80::1%eth0"):
 * it names an interface of the client and means nothing to the scanner.
 * It also refuses the shorthand and octal forms inet_aton(3) takes.
 */
static const char *
norm_ip(const char *s, char *norm, size_t normsize)
{
	unsigned char	 addr[sizeof(struct in6_addr)];
	int		 af;

	if (inet_pton(AF_INET, s, addr) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, s, addr) == 1)
		af = AF_INET6;
	else
		return MSG_IP;
	if (norm != NULL && inet_ntop(af, addr, norm, (socklen_t)(normsize <
	    INET6_ADDRSTRLEN ? normsize : INET6_ADDRSTRLEN)) == NULL)
		return MSG_IP;
	return NULL;
}

static const char *
norm_uuid(const char *s, char *norm, size_t normsize)
{
	char	 buf[HS_UUID_LEN + 1];
	size_t	 i;

	for (i = 0; i < HS_UUID_LEN && s[i] != '\0'; i++)
		buf[i] = (char)ascii_lower((unsigned char)s[i]);
	if (i != HS_UUID_LEN || s[i] != '\0')
		return MSG_UUID;
	buf[i] = '\0';
	if (!hs_is_uuid(buf))
		return MSG_UUID;
	if (norm != NULL && hs_strlcpy(norm, buf, normsize) == -1)
		return MSG_UUID;
	return NULL;
}

/* The product's all-zero id means "look the credential up by name". */
static const char *
norm_credential_id(const char *s, char *norm, size_t normsize)
{
	static const char zero[] = "00000000-0000-0000-0000-000000000000";
	const char	*msg;

	if ((msg = norm_uuid(s, norm, normsize)) != NULL)
		return msg;
	if (norm != NULL && strcmp(norm, zero) == 0)
		norm[0] = '\0';
	return NULL;
}

/*
 * The forms people paste: ssh-keygen -l ("SHA256:" + unpadded base64;
 * some tools add the '=' pad), old OpenSSH "MD5:xx:..", and the Windows
 * certificate dialog's SHA-1, which copies with spaces and a leading
 * invisible U+200E LEFT-TO-RIGHT MARK.  Each is stored in the one
 * spelling the scanner compares against.  The unused low bits of the last
 * base64 character must be zero: any other spelling could never match.
 */
static const char *
norm_thumbprint(const char *s, char *norm, size_t normsize)
{
	char		 buf[64];
	const char	*p;
	size_t		 len, i, n;

	if (ascii_caseeq(s, "SHA256:", 7)) {
		p = s + 7;
		len = strlen(p);
		if (len == SHA256_B64_LEN + 1 && p[SHA256_B64_LEN] == '=')
			len--;
		if (len != SHA256_B64_LEN)
			return MSG_THUMB;
		for (i = 0; i < len; i++)
			if (!is_b64((unsigned char)p[i]))
				return MSG_THUMB;
		if ((b64val((unsigned char)p[len - 1]) & 3) != 0)
			return MSG_THUMB;
		memcpy(buf, "SHA256:", 7);
		memcpy(buf + 7, p, len);
		buf[7 + len] = '\0';
	} else if (ascii_caseeq(s, "MD5:", 4)) {
		p = s + 4;
		if (strlen(p) != MD5_LEN * 3 - 1)
			return MSG_THUMB;
		memcpy(buf, "MD5:", 4);
		for (i = 0; i < MD5_LEN * 3 - 1; i++) {
			if (i % 3 == 2) {
				if (p[i] != ':')
					return MSG_THUMB;
			} else if (hs_hexval((unsigned char)p[i]) == -1)
				return MSG_THUMB;
			buf[4 + i] = (char)ascii_lower((unsigned char)p[i]);
		}
		buf[4 + i] = '\0';
	} else {
		for (p = s, n = 0; *p != '\0'; p++) {
			if (*p == ' ' || *p == ':')
				continue;
			if (strncmp(p, "\xe2\x80\x8e", 3) == 0) {
				p += 2;
				continue;
			}
			if (hs_hexval((unsigned char)*p) == -1 ||
			    n == SHA1_HEX_LEN)
				return MSG_THUMB;
			buf[n++] = (char)(*p >= 'a' && *p <= 'f' ?
			    *p - 'a' + 'A' : *p);
		}
		if (n != SHA1_HEX_LEN)
			return MSG_THUMB;
		buf[n] = '\0';
	}
	if (norm != NULL && hs_strlcpy(norm, buf, normsize) == -1)
		return MSG_THUMB;
	return NULL;
}

const char *
hs_check_dns_name(const char *s)
{
	return s == NULL ? MSG_DNS : norm_dns(s, NULL, 0);
}

const char *
hs_check_ip(const char *s)
{
	return s == NULL ? MSG_IP : norm_ip(s, NULL, 0);
}

const char *
hs_check_uuid(const char *s)
{
	return s == NULL ? MSG_UUID : norm_uuid(s, NULL, 0);
}

const char *
hs_check_thumbprint(const char *s, char *norm, size_t normsize)
{
	return s == NULL ? MSG_THUMB : norm_thumbprint(s, norm, normsize);
}

int
hs_enum_parse(const char *const *names, size_t n, const json_t *v)
{
	const char	*s;
	size_t		 len, i;
	json_int_t	 x;

	if (v == NULL || json_is_null(v))
		return -1;
	if (json_is_integer(v)) {
		x = json_integer_value(v);
		return x >= 0 && (uint64_t)x < n ? (int)x : -2;
	}
	if (!json_is_string(v))
		return -2;
	s = json_string_value(v);
	len = json_string_length(v);
	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && ascii_caseeq(s, names[i], len))
			return (int)i;
	return -2;
}

void
hs_errors_add(json_t *errors, const char *path, const char *msg)
{
	json_t	*list;

	if (errors == NULL || path == NULL || msg == NULL)
		return;
	if ((list = json_object_get(errors, path)) == NULL ||
	    !json_is_array(list)) {
		if ((list = json_array()) == NULL ||
		    json_object_set_new(errors, path, list) == -1)
			return;
	}
	json_array_append_new(list, json_string(msg));
}

enum vkind {
	V_STR,		/* char * */
	V_BUF,		/* char[size] */
	V_BOOL,		/* int */
	V_ENUM,		/* int, -1 when null */
	V_PORT		/* int, 22 when null or 0 */
};

#define T_STR	0x1u
#define T_INT	0x2u
#define T_BOOL	0x4u

typedef const char *(*normfn)(const char *, char *, size_t);

struct field {
	const char	*name;		/* JSON name, also the error path */
	unsigned	 types;		/* JSON types accepted besides null */
	const char	*badtype;	/* message for any other type */
	size_t		 maxlen;	/* characters; 0: the check bounds it */
	normfn		 check;		/* NULL: any string passes as is */
	enum vkind	 kind;
	size_t		 off;		/* in struct hs_host_req */
	size_t		 size;		/* V_BUF */
	const char *const *names;	/* V_ENUM */
	size_t		 nnames;
};

enum {
	F_DNS, F_IP, F_OS, F_CRED_ID, F_CRED_NAME, F_PLATFORM, F_ACCEPT,
	F_TRUST, F_CERT, F_THUMB, F_PORT, F_SOURCE, F__N
};

#define AT(m)		offsetof(struct hs_host_req, m)
#define SIZE(m)		sizeof(((struct hs_host_req *)0)->m)

/*
 * HostScanJobRequest (docs/openapi.yaml).  POST and ValidateImportedCSV
 * both come through hs_validate_hosts, so a field rule lives here and
 * nowhere else.
 */
static const struct field fields[F__N] = {
	[F_DNS] = { "dnsHostName", T_STR, MSG_STRING, 0, norm_dns,
	    V_STR, AT(dns_host_name), 0, NULL, 0 },
	[F_IP] = { "ipAddress", T_STR, MSG_STRING, 0, norm_ip,
	    V_STR, AT(ip_address), 0, NULL, 0 },
	[F_OS] = { "os", T_STR, MSG_STRING, HS_MAX_FIELD_LEN, NULL,
	    V_STR, AT(os), 0, NULL, 0 },
	[F_CRED_ID] = { "credentialId", T_STR, MSG_UUID, 0,
	    norm_credential_id, V_BUF, AT(credential_id),
	    SIZE(credential_id), NULL, 0 },
	[F_CRED_NAME] = { "credentialName", T_STR, MSG_STRING,
	    HS_MAX_FIELD_LEN, NULL, V_STR, AT(credential_name), 0, NULL, 0 },
	[F_PLATFORM] = { "platformName", T_STR, MSG_STRING, HS_MAX_FIELD_LEN,
	    NULL, V_STR, AT(platform_name), 0, NULL, 0 },
	[F_ACCEPT] = { "acceptThumbprintOnFirstDiscovery", T_BOOL, MSG_BOOL,
	    0, NULL, V_BOOL, AT(accept_first), 0, NULL, 0 },
	[F_TRUST] = { "sshTrustActionType", T_STR | T_INT, MSG_TRUST, 0, NULL,
	    V_ENUM, AT(trust_action), 0, hs_trust_action_names,
	    HS_N_TRUST_ACTION },
	[F_CERT] = { "certificateType", T_STR | T_INT, MSG_CERT, 0, NULL,
	    V_ENUM, AT(certificate_type), 0, hs_certificate_type_names,
	    HS_N_CERTIFICATE_TYPE },
	[F_THUMB] = { "trustedThumbprint", T_STR, MSG_STRING, HS_MAX_FIELD_LEN,
	    norm_thumbprint, V_STR, AT(trusted_thumbprint), 0, NULL, 0 },
	[F_PORT] = { "sshPort", T_INT, MSG_INT, 0, NULL,
	    V_PORT, AT(ssh_port), 0, NULL, 0 },
	[F_SOURCE] = { "source", T_STR, MSG_STRING, HS_MAX_SOURCE_LEN, NULL,
	    V_STR, AT(source), 0, NULL, 0 },
};

/* Rules across fields: at least one of a and b, else an error on "on". */
static const struct {
	int		 a, b, on;
	const char	*msg;
} one_of[] = {
	{ F_DNS, F_IP, F_DNS, "dnsHostName or ipAddress is required" },
	{ F_CRED_ID, F_CRED_NAME, F_CRED_NAME,
	    "credentialId or credentialName is required" },
};

struct item {
	json_t		*errors;
	size_t		 i;
	unsigned	 bad;		/* bit per field with an error */
	size_t		 nerr;
};

static void
item_error(struct item *it, int f, const char *msg)
{
	char	 path[64];

	snprintf(path, sizeof(path), "[%zu].%s", it->i, fields[f].name);
	hs_errors_add(it->errors, path, msg);
	it->bad |= 1u << f;
	it->nerr++;
}

static unsigned
json_types(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return T_STR;
	case JSON_INTEGER:
		return T_INT;
	case JSON_TRUE:
	case JSON_FALSE:
		return T_BOOL;
	default:
		return 0;
	}
}

static void
set_string(struct item *it, int f, const json_t *v, struct hs_host_req *r)
{
	const struct field *fd = &fields[f];
	const char	*s = json_string_value(v), *msg;
	size_t		 len = json_string_length(v);
	char		 norm[NORM_MAX], buf[64];
	int		 bad = 0;

	if (memchr(s, '\0', len) != NULL) {
		item_error(it, f, MSG_NUL);
		bad = 1;
	}
	/* Lengths are in characters as the client counts them: code points. */
	if (fd->maxlen > 0 && len > fd->maxlen &&
	    hs_utf8_chars(s, len) > fd->maxlen) {
		snprintf(buf, sizeof(buf), "must be at most %zu characters",
		    fd->maxlen);
		item_error(it, f, buf);
		bad = 1;
	}
	if (bad || len == 0)
		return;
	if (fd->check != NULL) {
		if ((msg = fd->check(s, norm, sizeof(norm))) != NULL) {
			item_error(it, f, msg);
			return;
		}
		s = norm;
	}
	if (fd->kind == V_BUF)
		hs_strlcpy((char *)r + fd->off, s, fd->size);
	else
		*(char **)(void *)((char *)r + fd->off) = hs_strdup(s);
}

static void
set_field(struct item *it, int f, const json_t *v, struct hs_host_req *r)
{
	const struct field *fd = &fields[f];
	int		*ip = (int *)(void *)((char *)r + fd->off);
	json_int_t	 x;
	int		 e;

	if (v == NULL || json_is_null(v))
		return;
	if ((json_types(v) & fd->types) == 0) {
		item_error(it, f, fd->badtype);
		return;
	}
	switch (fd->kind) {
	case V_STR:
	case V_BUF:
		set_string(it, f, v, r);
		break;
	case V_BOOL:
		*ip = json_is_true(v);
		break;
	case V_ENUM:
		if ((e = hs_enum_parse(fd->names, fd->nnames, v)) == -2)
			item_error(it, f, fd->badtype);
		else
			*ip = e;
		break;
	case V_PORT:
		x = json_integer_value(v);
		if (x == 0)
			*ip = SSH_PORT;
		else if (x < 1 || x > 65535)
			item_error(it, f, MSG_PORT);
		else
			*ip = (int)x;
		break;
	}
}

static int
is_set(const struct hs_host_req *r, int f)
{
	const char	*p = (const char *)r + fields[f].off;

	if (fields[f].kind == V_BUF)
		return p[0] != '\0';
	return *(char *const *)(const void *)p != NULL;
}

static void
item_defaults(struct hs_host_req *r)
{
	r->trust_action = -1;
	r->certificate_type = -1;
	r->ssh_port = SSH_PORT;
}

static size_t
validate_item(const json_t *obj, size_t i, struct hs_host_req *r,
    json_t *errors)
{
	struct item	 it = { errors, i, 0, 0 };
	size_t		 k;
	int		 f;

	for (f = 0; f < F__N; f++)
		set_field(&it, f, json_object_get(obj, fields[f].name), r);
	for (k = 0; k < NELEM(one_of); k++) {
		if (it.bad & (1u << one_of[k].a | 1u << one_of[k].b))
			continue;
		if (!is_set(r, one_of[k].a) && !is_set(r, one_of[k].b))
			item_error(&it, one_of[k].on, one_of[k].msg);
	}
	return it.nerr;
}

int
hs_validate_hosts(const json_t *root, long max_hosts,
    struct hs_host_req **out, size_t *n, json_t *errors)
{
	struct hs_host_req *r = NULL;
	const json_t	*v;
	size_t		 cnt, i, nerr = 0;
	char		 buf[64];

	*out = NULL;
	*n = 0;
	if (!json_is_array(root)) {
		hs_errors_add(errors, "$", "the body must be a JSON array of "
		    "HostScanJobRequest objects");
		return -1;
	}
	if ((cnt = json_array_size(root)) == 0) {
		hs_errors_add(errors, "$", "at least one host is required");
		return -1;
	}
	if (max_hosts < 0 || cnt > (size_t)max_hosts) {
		snprintf(buf, sizeof(buf), "at most %ld hosts per request",
		    max_hosts);
		hs_errors_add(errors, "$", buf);
		return -1;
	}
	if ((r = calloc(cnt, sizeof(*r))) == NULL) {
		fputs("out of memory\n", stderr);
		abort();
	}
	for (i = 0; i < cnt; i++) {
		item_defaults(&r[i]);
		v = json_array_get(root, i);
		if (!json_is_object(v)) {
			snprintf(buf, sizeof(buf), "[%zu]", i);
			hs_errors_add(errors, buf, "must be an object");
			nerr++;
			continue;
		}
		nerr += validate_item(v, i, &r[i], errors);
	}
	*out = r;
	*n = cnt;
	return nerr == 0 && json_object_size(errors) == 0 ? 0 : -1;
}

void
hs_host_reqs_free(struct hs_host_req *r, size_t n)
{
	size_t	 i;
	int	 f;

	if (r == NULL)
		return;
	for (i = 0; i < n; i++)
		for (f = 0; f < F__N; f++)
			if (fields[f].kind == V_STR)
				free(*(char **)(void *)((char *)&r[i] +
				    fields[f].off));
	free(r);
}
