/* SPDX-License-Identifier: ISC */
/*
 * The HostScanJobRequest validation: every pure check, every field rule
 * with its exact error key and message, and the body as a whole, each a
 * table of cases, one case a line.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tap.h"

#define ZERO_UUID	"00000000-0000-0000-0000-000000000000"
#define CRED_UUID	"f568fec0-10b6-4b94-9daf-e62c50c9bf3e"
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
#define MSG_1024	"must be at most 1024 characters"
#define MSG_256		"must be at most 256 characters"
#define MSG_ARRAY	"the body must be a JSON array of HostScanJobRequest " \
			"objects"

#define SHA256_FP	"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
#define MD5_FP		"MD5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e"
#define SHA1_HEX	"A909502DD82AE41433E6F83886B00D4277A32A7B"
#define LRM		"\xe2\x80\x8e"		/* U+200E */

/* s repeated 2^k times, at compile time; Q() makes a JSON string of it. */
#define R2(s)		s s
#define R4(s)		R2(R2(s))
#define R8(s)		R2(R4(s))
#define R16(s)		R2(R8(s))
#define R32(s)		R2(R16(s))
#define R64(s)		R2(R32(s))
#define R128(s)		R2(R64(s))
#define R256(s)		R2(R128(s))
#define R512(s)		R2(R256(s))
#define R1024(s)	R2(R512(s))
#define Q(s)		"\"" s "\""

/* Labels of 61 to 64 characters and names of 253 and 254. */
#define L61		R32("a") R16("a") R8("a") R4("a") "a"
#define L62		R32("a") R16("a") R8("a") R4("a") R2("a")
#define L63		L62 "a"
#define L64		R64("a")
#define N253		L63 "." L63 "." L63 "." L61
#define N254		L63 "." L63 "." L63 "." L62

/*
 * The valid item (one_item() builds it too, with fields changed); its
 * address and port given, any other fields after the port.
 */
#define ITEM_AT(ip, p)	"{\"dnsHostName\":\"host.example.test\"," \
			"\"ipAddress\":" ip "," \
			"\"credentialId\":\"" ZERO_UUID "\"," \
			"\"credentialName\":\"cred\",\"platformName\":\"Linux\"," \
			"\"sshPort\":" p "}"
#define ITEM_PORT(p)	ITEM_AT(Q("192.0.2.10"), p)
#define ITEM		ITEM_PORT("22")

#define DOC_EXAMPLE \
	"[{\"dnsHostName\":\"string\",\"ipAddress\":\"string\"," \
	"\"os\":\"string\",\"credentialId\":\"" CRED_UUID "\"," \
	"\"credentialName\":\"string\",\"platformName\":\"string\"," \
	"\"acceptThumbprintOnFirstDiscovery\":true," \
	"\"sshTrustActionType\":null,\"certificateType\":null," \
	"\"trustedThumbprint\":\"string\",\"sshPort\":0," \
	"\"source\":\"string\"}]"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- the name tables ---- */

static const struct {
	const char *const *names;
	int		 at;
	const char	*want, *name;
} names[] = {
	{ hs_action_status_names, HS_QUEUED, "Queued", "ActionStatus 0" },
	{ hs_action_status_names, HS_COMPLETED_WITH_ERRORS,
	    "CompletedWithErrors", "ActionStatus CompletedWithErrors" },
	{ hs_action_status_names, HS_PENDING, "Pending", "ActionStatus 10 is Pending" },
	{ hs_failure_reason_names, 0, "NoError", "FailureReason 0" },
	{ hs_failure_reason_names, HS_N_FAILURE_REASON - 1, "FailedToConnect",
	    "FailureReason 11 is FailedToConnect" },
	{ hs_failure_reason_names, 6, "UserAlreadyMemberofGroup",
	    "FailureReason 6 spelled as the product does" },
	{ hs_trust_action_names, 2, "ErrorOnThumbprintMismatch", "SshTrustActionType 2" },
	{ hs_certificate_type_names, 0, "WinRM", "CertificateType 0" },
	{ hs_certificate_type_names, 2, "SSH", "CertificateType 2" },
};

/* ---- the pure checks: NULL accepts, else the message ---- */

enum check { DNS, IP, UUID };
static const char *const check_names[] = { "dns", "ip", "uuid" };

static const struct {
	enum check	 fn;
	const char	*in, *want;
} checks[] = {
	{ DNS, "a", NULL },
	{ DNS, "string", NULL },
	{ DNS, "host.example.test", NULL },
	{ DNS, "host.example.test.", NULL },
	{ DNS, "1host-2.example-test.org", NULL },
	{ DNS, "123", NULL },
	{ DNS, "192.0.2.1", NULL },
	{ DNS, "Host.EXAMPLE.test", NULL },
	{ DNS, "a-b.c--d.e", NULL },
	{ DNS, "xn--bcher-kva.de", NULL },
	{ DNS, L63 ".example", NULL },
	{ DNS, N253, NULL },
	{ DNS, N253 ".", NULL },
	{ DNS, "", MSG_DNS },
	{ DNS, ".", MSG_DNS },
	{ DNS, "..", MSG_DNS },
	{ DNS, "-bad", MSG_DNS },
	{ DNS, "bad-", MSG_DNS },
	{ DNS, "a..b", MSG_DNS },
	{ DNS, "a.-b.c", MSG_DNS },
	{ DNS, "a.b-.c", MSG_DNS },
	{ DNS, "under_score.example.test", MSG_DNS },
	{ DNS, "sp ace.example.test", MSG_DNS },
	{ DNS, "host.example.test..", MSG_DNS },
	{ DNS, ".host", MSG_DNS },
	{ DNS, "h\xc3\xa9llo.example", MSG_DNS },
	{ DNS, "a\tb", MSG_DNS },
	{ DNS, "host/example", MSG_DNS },
	{ DNS, L64 ".example", MSG_DNS },
	{ DNS, N254, "must be at most 253 characters" },
	{ DNS, NULL, MSG_DNS },
	{ IP, "127.0.0.1", NULL },
	{ IP, "0.0.0.0", NULL },
	{ IP, "255.255.255.255", NULL },
	{ IP, "::1", NULL },
	{ IP, "::", NULL },
	{ IP, "2001:db8::1", NULL },
	{ IP, "FE80::1", NULL },
	{ IP, "::ffff:192.0.2.1", NULL },
	{ IP, "2001:0db8:0000:0000:0000:0000:0000:0001", NULL },
	{ IP, "", MSG_IP },
	{ IP, "string", MSG_IP },
	{ IP, "999.1.1.1", MSG_IP },
	{ IP, "1.2.3", MSG_IP },
	{ IP, "1.2.3.4.5", MSG_IP },
	{ IP, "fe80::1%eth0", MSG_IP },
	{ IP, "fe80::1%1", MSG_IP },
	{ IP, "1.2.3.4/24", MSG_IP },
	{ IP, "host.example", MSG_IP },
	{ IP, "::g", MSG_IP },
	{ IP, " 1.2.3.4", MSG_IP },
	{ IP, "1.2.3.4 ", MSG_IP },
	{ IP, "[::1]", MSG_IP },
	{ IP, "1:2:3:4:5:6:7:8:9", MSG_IP },
	{ IP, "0x7f.0.0.1", MSG_IP },
	{ IP, "256.0.0.1", MSG_IP },
	{ IP, "127.1", MSG_IP },
	{ IP, "010.0.0.1", MSG_IP },
	{ IP, "1.2.3.04", MSG_IP },
	{ IP, NULL, MSG_IP },
	{ UUID, CRED_UUID, NULL },
	{ UUID, "F568FEC0-10B6-4B94-9DAF-E62C50C9BF3E", NULL },
	{ UUID, "F568fec0-10b6-4B94-9daf-e62c50c9bF3e", NULL },
	{ UUID, ZERO_UUID, NULL },
	{ UUID, "", MSG_UUID },
	{ UUID, "nope", MSG_UUID },
	{ UUID, "string", MSG_UUID },
	{ UUID, "f568fec0-10b6-4b94-9daf-e62c50c9bf3", MSG_UUID },
	{ UUID, "f568fec0-10b6-4b94-9daf-e62c50c9bf3ee", MSG_UUID },
	{ UUID, "f568fec010b64b949dafe62c50c9bf3e", MSG_UUID },
	{ UUID, "{f568fec0-10b6-4b94-9daf-e62c50c9bf3e}", MSG_UUID },
	{ UUID, "f568fec0-10b6-4b94-9daf-e62c50c9bf3g", MSG_UUID },
	{ UUID, "f568fec0_10b6-4b94-9daf-e62c50c9bf3e", MSG_UUID },
	{ UUID, "f568fec01-0b6-4b94-9daf-e62c50c9bf3e", MSG_UUID },
	{ UUID, " f568fec0-10b6-4b94-9daf-e62c50c9bf3e", MSG_UUID },
	{ UUID, NULL, MSG_UUID },
};

/*
 * hs_check_thumbprint(in, norm, size): size NOBUF passes no buffer.  An
 * accepted value is stored as norm says.
 */
#define NOBUF		((size_t)-1)
static const struct {
	const char	*in;
	size_t		 size;
	const char	*want, *norm, *name;
} thumbprints[] = {
	{ SHA256_FP, 64, NULL, SHA256_FP, "SHA256 as ssh-keygen prints it" },
	{ SHA256_FP "=", 64, NULL, SHA256_FP, "SHA256 with '=' padding" },
	{ "sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", 64, NULL, SHA256_FP, "SHA256 prefix in lower case" },
	{ MD5_FP, 64, NULL, MD5_FP, "MD5 lower case" },
	{ "MD5:D4:1D:8C:D9:8F:00:B2:04:E9:80:09:98:EC:F8:42:7E", 64, NULL, MD5_FP, "MD5 upper case stored lower" },
	{ "md5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e", 64, NULL, MD5_FP, "MD5 prefix in lower case" },
	{ SHA1_HEX, 64, NULL, SHA1_HEX, "40 hex upper" },
	{ "a909502dd82ae41433e6f83886b00d4277a32a7b", 64, NULL, SHA1_HEX, "40 hex lower stored upper" },
	{ "a9 09 50 2d d8 2a e4 14 33 e6 f8 38 86 b0 0d 42 77 a3 2a 7b", 64, NULL, SHA1_HEX, "40 hex with spaces" },
	{ "A9:09:50:2D:D8:2A:E4:14:33:E6:F8:38:86:B0:0D:42:77:A3:2A:7B", 64, NULL, SHA1_HEX, "40 hex with colons" },
	{ LRM "a909502dd82ae41433e6f83886b00d4277a32a7b", 64, NULL, SHA1_HEX, "40 hex with a leading U+200E" },
	{ LRM "a9 09 50 2d d8 2a e4 14 33 e6 f8 38 86 b0 0d 42 77 a3 2a 7b" LRM, 64, NULL, SHA1_HEX, "U+200E at both ends and spaces" },
	{ "a909502dd8" LRM "2ae41433e6f838:86b00d4277a3 2a7b ", 64, NULL, SHA1_HEX, "U+200E, colon and spaces inside" },
	{ SHA1_HEX, NOBUF, NULL, NULL, "a check without a norm buffer" },
	{ SHA1_HEX, 40, MSG_THUMB, NULL, "a norm buffer too small is refused, not overrun" },
	{ NULL, 64, MSG_THUMB, NULL, "NULL" },
	{ "", 64, MSG_THUMB, NULL, "''" },
	{ "string", 64, MSG_THUMB, NULL, "'string'" },
	{ "SHA1:abc", 64, MSG_THUMB, NULL, "SHA1:" },
	{ "SHA256:abc", 64, MSG_THUMB, NULL, "SHA256 of 3 characters" },
	{ "SHA256:", 64, MSG_THUMB, NULL, "SHA256 of nothing" },
	{ "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF", 64, MSG_THUMB, NULL, "SHA256 one short" },
	{ "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFUU", 64, MSG_THUMB, NULL, "SHA256 one long" },
	{ "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU==", 64, MSG_THUMB, NULL, "SHA256 with '=='" },
	{ "SHA256:47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU", 64, MSG_THUMB, NULL, "SHA256 in base64url" },
	{ "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV", 64, MSG_THUMB, NULL, "SHA256 with bits past the hash" },
	{ "SHA256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", 64, MSG_THUMB, NULL, "SHA256 without the colon" },
	{ " " SHA256_FP, 64, MSG_THUMB, NULL, "SHA256 after a blank" },
	{ "MD5:d4:1d", 64, MSG_THUMB, NULL, "MD5 of 2 bytes" },
	{ "MD5:d4-1d-8c-d9-8f-00-b2-04-e9-80-09-98-ec-f8-42-7e", 64, MSG_THUMB, NULL, "MD5 with '-'" },
	{ "MD5:d41d8cd98f00b204e9800998ecf8427e", 64, MSG_THUMB, NULL, "MD5 without colons" },
	{ "MD5:d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7g", 64, MSG_THUMB, NULL, "MD5 with a 'g'" },
	{ MD5_FP ":", 64, MSG_THUMB, NULL, "MD5 with a colon after" },
	{ "909502DD82AE41433E6F83886B00D4277A32A7B", 64, MSG_THUMB, NULL, "39 hex" },
	{ SHA1_HEX "00", 64, MSG_THUMB, NULL, "42 hex" },
	{ SHA1_HEX "0", 64, MSG_THUMB, NULL, "41 hex" },
	{ "GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG", 64, MSG_THUMB, NULL, "40 non-hex" },
	{ "A909502DD82AE41433E6F83886B00D4277A32A7\t", 64, MSG_THUMB, NULL, "39 hex and a tab" },
	{ "\xe2\x80\x8f" SHA1_HEX, 64, MSG_THUMB, NULL, "40 hex after U+200F" },
	{ "\xe2\x80" SHA1_HEX, 64, MSG_THUMB, NULL, "40 hex after a broken U+200E" },
	{ SHA1_HEX "\xe2\x80", 64, MSG_THUMB, NULL, "40 hex before a broken U+200E" },
	{ "0x" SHA1_HEX, 64, MSG_THUMB, NULL, "40 hex after 0x" },
	{ SHA1_HEX SHA1_HEX SHA1_HEX, 64, MSG_THUMB, NULL, "longer than the norm buffer" },
};

/* hs_enum_parse: the position, -1 for null or absent (raw NULL), -2 bad. */
static const struct {
	const char *const *names;
	int		 n;
	const char	*raw;
	int		 want;
	const char	*name;
} enums[] = {
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "\"WarnOnThumbprintMismatch\"", 1, "exact name" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "\"warnonthumbprintmismatch\"", 1, "name in lower case" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "\"ERRORONTHUMBPRINTMISMATCH\"", 2, "name in upper case" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "\"alwaysTrustIgnoreThumbprint\"", 0, "name in mixed case" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "0", 0, "position 0" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "2", 2, "position 2 (last)" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "null", -1, "null" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, NULL, -1, "absent" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "3", -2, "position out of range" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "-1", -2, "negative position" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "9223372036854775807", -2, "huge position" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "1.0", -2, "a real" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "true", -2, "a bool" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "\"\"", -2, "empty string" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "\"Nope\"", -2, "unknown name" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "\" WarnOnThumbprintMismatch\"", -2, "name with a space" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "\"WarnOnThumbprintMismatc\"", -2, "a prefix of a name" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "\"WarnOnThumbprintMismatch\\u0000x\"", -2, "a name followed by NUL" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "\"1\"", -2, "position as a string" },
	{ hs_trust_action_names, HS_N_TRUST_ACTION, "[1]", -2, "an array" },
	{ hs_certificate_type_names, HS_N_CERTIFICATE_TYPE, "\"ssh\"", 2, "CertificateType \"ssh\"" },
};

/* ---- bodies: the errors they get, or how many items pass ---- */

static const struct {
	const char	*body;
	long		 max;
	const char	*key, *msg;	/* key NULL: no error, n items */
	size_t		 n;
	const char	*name;
} bodies[] = {
	{ "{}", 10, "$", MSG_ARRAY, 0, "an object" },
	{ "\"x\"", 10, "$", MSG_ARRAY, 0, "a string" },
	{ "1", 10, "$", MSG_ARRAY, 0, "a number" },
	{ "null", 10, "$", MSG_ARRAY, 0, "null" },
	{ "true", 10, "$", MSG_ARRAY, 0, "true" },
	{ "{\"dnsHostName\":\"a\"}", 10, "$", MSG_ARRAY, 0, "one item, not in an array" },
	{ "[]", 10, "$", "at least one host is required", 0, "an empty array" },
	{ "[" ITEM "," ITEM "," ITEM "]", 3, NULL, NULL, 3, "max_hosts 3 with 3 items" },
	{ "[" ITEM "," ITEM "," ITEM "]", 2, "$", "at most 2 hosts per request", 0, "max_hosts 2 with 3 items" },
	{ "[1,2,3]", 2, "$", "at most 2 hosts per request", 0, "over max_hosts: the items are not looked at" },
	{ "[" ITEM "," ITEM "," ITEM_PORT("70000") "]", 10, "[2].sshPort", MSG_PORT, 3, "the third item bad: [2].sshPort, three items returned" },
	{ "[" ITEM_PORT("22,\"fooBar\":{\"x\":[1,2,{\"y\":null}]},\"zz\":1e3,\"DNSHOSTNAME\":42") "]", 10, NULL, NULL, 1, "unknown fields (and other-case names) ignored" },
};

/*
 * ---- fields: one or two fields of ITEM set to raw JSON (DROP removes
 * one), then exactly errors[key] = [msg], or no error and the member
 * stored as shown (NULL: a NULL string) ----
 */

static const char DROP[] = "(drop)";

enum member {
	M_NONE, M_DNS, M_IP, M_HOST, M_OS, M_OS_LEN, M_CRED_ID, M_CREDS,
	M_PLATFORM, M_ACCEPT, M_TRUST, M_CERT, M_THUMB, M_PORT, M_SOURCE_LEN
};

static const struct {
	const char	*f1, *v1, *f2, *v2;
	const char	*key, *msg;
	enum member	 m;
	const char	*stored, *name;
} fields[] = {
	{ "dnsHostName", Q("-bad"), NULL, NULL, "[0].dnsHostName", MSG_DNS, M_NONE, NULL, "dnsHostName leading hyphen" },
	{ "dnsHostName", Q("under_score.example"), NULL, NULL, "[0].dnsHostName", MSG_DNS, M_NONE, NULL, "dnsHostName with an underscore" },
	{ "dnsHostName", "42", NULL, NULL, "[0].dnsHostName", MSG_STRING, M_NONE, NULL, "dnsHostName a number" },
	{ "dnsHostName", "[\"a\"]", NULL, NULL, "[0].dnsHostName", MSG_STRING, M_NONE, NULL, "dnsHostName an array" },
	{ "dnsHostName", Q("ab\\u0000cd"), NULL, NULL, "[0].dnsHostName", MSG_NUL, M_NONE, NULL, "dnsHostName with NUL" },
	{ "dnsHostName", Q("Host.Example.TEST."), NULL, NULL, NULL, NULL, M_DNS, "Host.Example.TEST", "dnsHostName: trailing dot stripped, case kept" },
	{ "dnsHostName", Q(""), NULL, NULL, NULL, NULL, M_DNS, NULL, "dnsHostName \"\" with an ip is stored as NULL" },
	{ "ipAddress", Q("string"), NULL, NULL, "[0].ipAddress", MSG_IP, M_NONE, NULL, "ipAddress not an address" },
	{ "ipAddress", Q("fe80::1%eth0"), NULL, NULL, "[0].ipAddress", MSG_IP, M_NONE, NULL, "ipAddress with a zone id" },
	{ "ipAddress", Q("300.0.0.1"), NULL, NULL, "[0].ipAddress", MSG_IP, M_NONE, NULL, "ipAddress octet over 255" },
	{ "ipAddress", "true", NULL, NULL, "[0].ipAddress", MSG_STRING, M_NONE, NULL, "ipAddress a bool" },
	{ "ipAddress", Q("127.0.0.1\\u0000x"), NULL, NULL, "[0].ipAddress", MSG_NUL, M_NONE, NULL, "ipAddress with NUL after a good address" },
	{ "ipAddress", Q("2001:DB8:0:0:0:0:0:1"), NULL, NULL, NULL, NULL, M_IP, "2001:db8::1", "ipAddress stored in canonical form" },
	{ "ipAddress", "null", NULL, NULL, NULL, NULL, M_IP, NULL, "ipAddress null with a name is stored as NULL" },
	{ "dnsHostName", "null", "ipAddress", "null", "[0].dnsHostName", MSG_HOST_REQ, M_NONE, NULL, "neither dnsHostName nor ipAddress (null)" },
	{ "dnsHostName", DROP, "ipAddress", DROP, "[0].dnsHostName", MSG_HOST_REQ, M_NONE, NULL, "neither dnsHostName nor ipAddress (absent)" },
	{ "dnsHostName", Q(""), "ipAddress", Q(""), "[0].dnsHostName", MSG_HOST_REQ, M_NONE, NULL, "neither dnsHostName nor ipAddress (empty strings)" },
	{ "dnsHostName", "null", "ipAddress", Q("string"), "[0].ipAddress", MSG_IP, M_NONE, NULL, "a bad ipAddress alone: no 'required' error on top" },
	{ "dnsHostName", "null", "ipAddress", Q("10.1.2.3"), NULL, NULL, M_HOST, "(null) 10.1.2.3", "ipAddress only: stored, no name" },
	{ "dnsHostName", Q("only.name"), "ipAddress", DROP, NULL, NULL, M_HOST, "only.name (null)", "dnsHostName only" },
	{ "os", Q(R1024("o")), NULL, NULL, NULL, NULL, M_NONE, NULL, "os of 1024 chars" },
	{ "os", Q(R1024("o") "o"), NULL, NULL, "[0].os", MSG_1024, M_NONE, NULL, "os of 1025 chars" },
	{ "os", "[\"Linux\"]", NULL, NULL, "[0].os", MSG_STRING, M_NONE, NULL, "os of the wrong type" },
	{ "os", Q("ab\\u0000cd"), NULL, NULL, "[0].os", MSG_NUL, M_NONE, NULL, "os with NUL" },
	{ "os", Q(R1024("\xc3\xa9")), NULL, NULL, NULL, NULL, M_OS_LEN, "2048", "os of 1024 two-byte characters stored whole (the limit counts characters)" },
	{ "os", Q(R1024("\xc3\xa9") "\xc3\xa9"), NULL, NULL, "[0].os", MSG_1024, M_NONE, NULL, "os of 1025 two-byte characters" },
	{ "os", Q(""), NULL, NULL, NULL, NULL, M_OS, NULL, "os \"\" stored as NULL" },
	{ "os", Q("Ubuntu 24.04"), NULL, NULL, NULL, NULL, M_OS, "Ubuntu 24.04", "os stored as given" },
	{ "credentialName", Q(R1024("o")), NULL, NULL, NULL, NULL, M_NONE, NULL, "credentialName of 1024 chars" },
	{ "credentialName", Q(R1024("o") "o"), NULL, NULL, "[0].credentialName", MSG_1024, M_NONE, NULL, "credentialName of 1025 chars" },
	{ "credentialName", "[\"Linux\"]", NULL, NULL, "[0].credentialName", MSG_STRING, M_NONE, NULL, "credentialName of the wrong type" },
	{ "credentialName", Q("ab\\u0000cd"), NULL, NULL, "[0].credentialName", MSG_NUL, M_NONE, NULL, "credentialName with NUL" },
	{ "platformName", Q(R1024("o")), NULL, NULL, NULL, NULL, M_NONE, NULL, "platformName of 1024 chars" },
	{ "platformName", Q(R1024("o") "o"), NULL, NULL, "[0].platformName", MSG_1024, M_NONE, NULL, "platformName of 1025 chars" },
	{ "platformName", "[\"Linux\"]", NULL, NULL, "[0].platformName", MSG_STRING, M_NONE, NULL, "platformName of the wrong type" },
	{ "platformName", Q("ab\\u0000cd"), NULL, NULL, "[0].platformName", MSG_NUL, M_NONE, NULL, "platformName with NUL" },
	{ "platformName", Q("Palo Alto"), NULL, NULL, NULL, NULL, M_PLATFORM, "Palo Alto", "platformName stored as given" },
	{ "platformName", "null", NULL, NULL, NULL, NULL, M_PLATFORM, NULL, "platformName null is NULL" },
	{ "source", Q(R256("s")), NULL, NULL, NULL, NULL, M_SOURCE_LEN, "256", "source of 256 chars stored" },
	{ "source", Q(R256("s") "s"), NULL, NULL, "[0].source", MSG_256, M_NONE, NULL, "source of 257 chars" },
	{ "source", Q(R256("\xe2\x82\xac")), NULL, NULL, NULL, NULL, M_NONE, NULL, "source of 256 three-byte characters" },
	{ "source", Q(R256("\xe2\x82\xac") "\xe2\x82\xac"), NULL, NULL, "[0].source", MSG_256, M_NONE, NULL, "source of 257 three-byte characters" },
	{ "source", Q(R256("\xf0\x9f\x98\x80")), NULL, NULL, NULL, NULL, M_NONE, NULL, "source of 256 four-byte characters" },
	{ "source", "7", NULL, NULL, "[0].source", MSG_STRING, M_NONE, NULL, "source a number" },
	{ "source", Q("\\u0000"), NULL, NULL, "[0].source", MSG_NUL, M_NONE, NULL, "source of a single NUL" },
	{ "credentialId", Q("nope"), NULL, NULL, "[0].credentialId", MSG_UUID, M_NONE, NULL, "credentialId not a uuid" },
	{ "credentialId", "5", NULL, NULL, "[0].credentialId", MSG_UUID, M_NONE, NULL, "credentialId a number" },
	{ "credentialId", Q("f568fec0-10b6-4b94-9daf-e62c50c9bf3"), NULL, NULL, "[0].credentialId", MSG_UUID, M_NONE, NULL, "credentialId 35 chars" },
	{ "credentialId", Q(ZERO_UUID "\\u0000"), NULL, NULL, "[0].credentialId", MSG_NUL, M_NONE, NULL, "credentialId with NUL" },
	{ "credentialId", Q("F568FEC0-10B6-4B94-9DAF-E62C50C9BF3E"), NULL, NULL, NULL, NULL, M_CRED_ID, CRED_UUID, "credentialId stored in lower case" },
	{ "credentialId", Q(ZERO_UUID), NULL, NULL, NULL, NULL, M_CRED_ID, "", "all-zero credentialId is \"\"" },
	{ "credentialId", "null", "credentialName", "null", "[0].credentialName", MSG_CRED_REQ, M_NONE, NULL, "credentialId null and credentialName null" },
	{ "credentialId", DROP, "credentialName", DROP, "[0].credentialName", MSG_CRED_REQ, M_NONE, NULL, "credentialId and credentialName absent" },
	{ "credentialId", Q(ZERO_UUID), "credentialName", "null", "[0].credentialName", MSG_CRED_REQ, M_NONE, NULL, "all-zero credentialId and no credentialName" },
	{ "credentialId", Q(""), "credentialName", Q(""), "[0].credentialName", MSG_CRED_REQ, M_NONE, NULL, "credentialId \"\" and credentialName \"\"" },
	{ "credentialId", Q("nope"), "credentialName", "null", "[0].credentialId", MSG_UUID, M_NONE, NULL, "a bad credentialId alone: no 'required' error on top" },
	{ "credentialId", Q(CRED_UUID), "credentialName", "null", NULL, NULL, M_CREDS, CRED_UUID " (null)", "credentialId without credentialName: stored, name NULL" },
	{ "credentialId", DROP, "credentialName", Q("cred"), NULL, NULL, M_CREDS, " cred", "credentialName without credentialId: stored, id \"\"" },
	{ "acceptThumbprintOnFirstDiscovery", "true", NULL, NULL, NULL, NULL, M_ACCEPT, "1", "accept true stored as 1" },
	{ "acceptThumbprintOnFirstDiscovery", "false", NULL, NULL, NULL, NULL, M_ACCEPT, "0", "accept false stored as 0" },
	{ "acceptThumbprintOnFirstDiscovery", "null", NULL, NULL, NULL, NULL, M_ACCEPT, "0", "accept null stored as 0" },
	{ "acceptThumbprintOnFirstDiscovery", Q("yes"), NULL, NULL, "[0].acceptThumbprintOnFirstDiscovery", MSG_BOOL, M_NONE, NULL, "accept \"yes\"" },
	{ "acceptThumbprintOnFirstDiscovery", "1", NULL, NULL, "[0].acceptThumbprintOnFirstDiscovery", MSG_BOOL, M_NONE, NULL, "accept 1" },
	{ "acceptThumbprintOnFirstDiscovery", Q("true"), NULL, NULL, "[0].acceptThumbprintOnFirstDiscovery", MSG_BOOL, M_NONE, NULL, "accept \"true\"" },
	{ "sshTrustActionType", Q("warnonthumbprintmismatch"), NULL, NULL, NULL, NULL, M_TRUST, "1", "trust action by name in lower case stored as 1" },
	{ "sshTrustActionType", "0", NULL, NULL, NULL, NULL, M_TRUST, "0", "trust action by position 0 stored as 0" },
	{ "sshTrustActionType", "null", NULL, NULL, NULL, NULL, M_TRUST, "-1", "trust action null is -1" },
	{ "sshTrustActionType", "3", NULL, NULL, "[0].sshTrustActionType", MSG_TRUST, M_NONE, NULL, "trust action 3" },
	{ "sshTrustActionType", "-1", NULL, NULL, "[0].sshTrustActionType", MSG_TRUST, M_NONE, NULL, "trust action -1" },
	{ "sshTrustActionType", Q("Nope"), NULL, NULL, "[0].sshTrustActionType", MSG_TRUST, M_NONE, NULL, "trust action \"Nope\"" },
	{ "sshTrustActionType", "true", NULL, NULL, "[0].sshTrustActionType", MSG_TRUST, M_NONE, NULL, "trust action true" },
	{ "sshTrustActionType", "1.5", NULL, NULL, "[0].sshTrustActionType", MSG_TRUST, M_NONE, NULL, "trust action 1.5" },
	{ "sshTrustActionType", Q(""), NULL, NULL, "[0].sshTrustActionType", MSG_TRUST, M_NONE, NULL, "trust action \"\"" },
	{ "sshTrustActionType", "{}", NULL, NULL, "[0].sshTrustActionType", MSG_TRUST, M_NONE, NULL, "trust action {}" },
	{ "sshTrustActionType", Q("1"), NULL, NULL, "[0].sshTrustActionType", MSG_TRUST, M_NONE, NULL, "trust action \"1\"" },
	{ "certificateType", Q("SSH"), NULL, NULL, NULL, NULL, M_CERT, "2", "certificate type SSH stored as 2" },
	{ "certificateType", Q("winrm"), NULL, NULL, NULL, NULL, M_CERT, "0", "certificate type winrm stored as 0" },
	{ "certificateType", "1", NULL, NULL, NULL, NULL, M_CERT, "1", "certificate type 1 stored as 1 (RDP)" },
	{ "certificateType", "5", NULL, NULL, "[0].certificateType", MSG_CERT, M_NONE, NULL, "certificate type 5" },
	{ "certificateType", "3", NULL, NULL, "[0].certificateType", MSG_CERT, M_NONE, NULL, "certificate type 3" },
	{ "certificateType", Q("SSH2"), NULL, NULL, "[0].certificateType", MSG_CERT, M_NONE, NULL, "certificate type \"SSH2\"" },
	{ "certificateType", "false", NULL, NULL, "[0].certificateType", MSG_CERT, M_NONE, NULL, "certificate type false" },
	{ "certificateType", "2.0", NULL, NULL, "[0].certificateType", MSG_CERT, M_NONE, NULL, "certificate type 2.0" },
	{ "sshPort", "0", NULL, NULL, NULL, NULL, M_PORT, "22", "sshPort 0 stored as 22" },
	{ "sshPort", "null", NULL, NULL, NULL, NULL, M_PORT, "22", "sshPort null stored as 22" },
	{ "sshPort", DROP, NULL, NULL, NULL, NULL, M_PORT, "22", "sshPort absent stored as 22" },
	{ "sshPort", "1", NULL, NULL, NULL, NULL, M_PORT, "1", "sshPort 1 stored" },
	{ "sshPort", "65535", NULL, NULL, NULL, NULL, M_PORT, "65535", "sshPort 65535 stored" },
	{ "sshPort", "-1", NULL, NULL, "[0].sshPort", MSG_PORT, M_NONE, NULL, "sshPort -1" },
	{ "sshPort", "65536", NULL, NULL, "[0].sshPort", MSG_PORT, M_NONE, NULL, "sshPort 65536" },
	{ "sshPort", "100000", NULL, NULL, "[0].sshPort", MSG_PORT, M_NONE, NULL, "sshPort 100000" },
	{ "sshPort", "-65535", NULL, NULL, "[0].sshPort", MSG_PORT, M_NONE, NULL, "sshPort -65535" },
	{ "sshPort", "9223372036854775807", NULL, NULL, "[0].sshPort", MSG_PORT, M_NONE, NULL, "sshPort 2^63-1" },
	{ "sshPort", Q("22"), NULL, NULL, "[0].sshPort", MSG_INT, M_NONE, NULL, "sshPort \"22\"" },
	{ "sshPort", "22.5", NULL, NULL, "[0].sshPort", MSG_INT, M_NONE, NULL, "sshPort 22.5" },
	{ "sshPort", "22.0", NULL, NULL, "[0].sshPort", MSG_INT, M_NONE, NULL, "sshPort 22.0" },
	{ "sshPort", "true", NULL, NULL, "[0].sshPort", MSG_INT, M_NONE, NULL, "sshPort true" },
	{ "sshPort", "{}", NULL, NULL, "[0].sshPort", MSG_INT, M_NONE, NULL, "sshPort {}" },
	{ "sshPort", "[22]", NULL, NULL, "[0].sshPort", MSG_INT, M_NONE, NULL, "sshPort [22]" },
	{ "sshPort", "1e3", NULL, NULL, "[0].sshPort", MSG_INT, M_NONE, NULL, "sshPort 1e3" },
	{ "trustedThumbprint", Q(SHA256_FP), NULL, NULL, NULL, NULL, M_THUMB, SHA256_FP, "trustedThumbprint SHA256" },
	{ "trustedThumbprint", Q(SHA256_FP "="), NULL, NULL, NULL, NULL, M_THUMB, SHA256_FP, "trustedThumbprint SHA256 padded" },
	{ "trustedThumbprint", Q("MD5:D4:1D:8C:D9:8F:00:B2:04:E9:80:09:98:EC:F8:42:7E"), NULL, NULL, NULL, NULL, M_THUMB, MD5_FP, "trustedThumbprint MD5 upper" },
	{ "trustedThumbprint", Q("a9 09 50 2d d8 2a e4 14 33 e6 f8 38 86 b0 0d 42 77 a3 2a 7b"), NULL, NULL, NULL, NULL, M_THUMB, SHA1_HEX, "trustedThumbprint 40 hex with spaces" },
	{ "trustedThumbprint", Q(LRM "a909502dd82ae41433e6f83886b00d4277a32a7b"), NULL, NULL, NULL, NULL, M_THUMB, SHA1_HEX, "trustedThumbprint 40 hex with U+200E as raw UTF-8" },
	{ "trustedThumbprint", Q("\\u200ea909502dd82ae41433e6f83886b00d4277a32a7b"), NULL, NULL, NULL, NULL, M_THUMB, SHA1_HEX, "trustedThumbprint 40 hex with U+200E as a JSON escape" },
	{ "trustedThumbprint", "null", NULL, NULL, NULL, NULL, M_THUMB, NULL, "trustedThumbprint null is NULL" },
	{ "trustedThumbprint", Q(""), NULL, NULL, NULL, NULL, M_THUMB, NULL, "trustedThumbprint \"\" is NULL" },
	{ "trustedThumbprint", Q("string"), NULL, NULL, "[0].trustedThumbprint", MSG_THUMB, M_NONE, NULL, "trustedThumbprint \"string\"" },
	{ "trustedThumbprint", Q("SHA256:abc"), NULL, NULL, "[0].trustedThumbprint", MSG_THUMB, M_NONE, NULL, "trustedThumbprint SHA256:abc" },
	{ "trustedThumbprint", "42", NULL, NULL, "[0].trustedThumbprint", MSG_STRING, M_NONE, NULL, "trustedThumbprint a number" },
	{ "trustedThumbprint", Q(R1024(" ") " "), NULL, NULL, "[0].trustedThumbprint", MSG_1024, M_NONE, NULL, "trustedThumbprint too long" },
	{ "trustedThumbprint", Q(SHA1_HEX "\\u0000"), NULL, NULL, "[0].trustedThumbprint", MSG_NUL, M_NONE, NULL, "trustedThumbprint with NUL" },
};

/* ---- running a body ---- */

struct sb {
	char	*p;
	size_t	 len, cap;
};

static void
sb_add(struct sb *b, const char *s)
{
	size_t	 n = strlen(s);

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

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
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (root == NULL) {
		printf("# fixture does not parse: %s: %.200s\n", err.text, text);
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

	printf("#   errors: %.400s\n", s ? s : "(null)");
	free(s);
}

static const char *
first_msg(const json_t *errors, const char *key)
{
	return json_string_value(json_array_get(json_object_get(errors, key),
	    0));
}

/* errors is exactly { key: [msg] }, no item is returned, or as wanted. */
static void
only_error(const struct run *r, const char *key, const char *msg,
    const char *name)
{
	const json_t	*l = json_object_get(r->errors, key);
	const char	*got = first_msg(r->errors, key);

	if (!ok(r->parsed && r->rc != 0 && json_object_size(r->errors) == 1 &&
	    json_array_size(l) == 1 && got != NULL && strcmp(got, msg) == 0,
	    "%s: errors[\"%s\"] = [\"%.60s\"] only", name, key, msg)) {
		printf("#   rc %d\n", r->rc);
		dump_errors(r->errors);
	}
}

static void
no_errors(const struct run *r, size_t n, const char *name)
{
	if (!ok(r->parsed && r->rc == 0 && json_object_size(r->errors) == 0 &&
	    r->h != NULL && r->n == n, "%s: no errors, %zu item(s)", name, n)) {
		printf("#   rc %d n %zu\n", r->rc, r->n);
		dump_errors(r->errors);
	}
}

/* "[" ITEM with f1 and f2 set to v1 and v2 (DROP: removed) "]" */
static char *
one_item(const char *f1, const char *v1, const char *f2, const char *v2)
{
	static const char *const base[][2] = {
		{ "dnsHostName", Q("host.example.test") },
		{ "ipAddress", Q("192.0.2.10") },
		{ "credentialId", Q(ZERO_UUID) },
		{ "credentialName", Q("cred") },
		{ "platformName", Q("Linux") },
		{ "sshPort", "22" },
	};
	const char	*f[2] = { f1, f2 }, *v[2] = { v1, v2 };
	struct sb	 b = { NULL, 0, 0 };
	size_t		 i, j;
	int		 first = 1;

	sb_add(&b, "[{");
	for (i = 0; i < NELEM(base); i++) {
		for (j = 0; j < 2; j++)
			if (f[j] != NULL && strcmp(f[j], base[i][0]) == 0)
				break;
		if (j < 2)
			continue;
		sb_add(&b, first ? "\"" : ",\"");
		sb_add(&b, base[i][0]);
		sb_add(&b, "\":");
		sb_add(&b, base[i][1]);
		first = 0;
	}
	for (j = 0; j < 2; j++) {
		if (f[j] == NULL || v[j] == DROP)
			continue;
		sb_add(&b, first ? "\"" : ",\"");
		sb_add(&b, f[j]);
		sb_add(&b, "\":");
		sb_add(&b, v[j]);
		first = 0;
	}
	sb_add(&b, "}]");
	return b.p;
}

static const char *
str_or_null(const char *s)
{
	return s != NULL ? s : "(null)";
}

/* What an item holds in member m, as text (NULL for a NULL string). */
static const char *
stored(const struct hs_host_req *h, enum member m, char *buf, size_t size)
{
	switch (m) {
	case M_DNS:
		return h->dns_host_name;
	case M_IP:
		return h->ip_address;
	case M_HOST:
		snprintf(buf, size, "%s %s", str_or_null(h->dns_host_name),
		    str_or_null(h->ip_address));
		return buf;
	case M_OS:
		return h->os;
	case M_OS_LEN:
		snprintf(buf, size, "%zu", h->os ? strlen(h->os) : 0);
		return buf;
	case M_CRED_ID:
		return h->credential_id;
	case M_CREDS:
		snprintf(buf, size, "%s %s", h->credential_id,
		    str_or_null(h->credential_name));
		return buf;
	case M_PLATFORM:
		return h->platform_name;
	case M_ACCEPT:
		snprintf(buf, size, "%d", h->accept_first);
		return buf;
	case M_TRUST:
		snprintf(buf, size, "%d", h->trust_action);
		return buf;
	case M_CERT:
		snprintf(buf, size, "%d", h->certificate_type);
		return buf;
	case M_THUMB:
		return h->trusted_thumbprint;
	case M_PORT:
		snprintf(buf, size, "%d", h->ssh_port);
		return buf;
	case M_SOURCE_LEN:
		snprintf(buf, size, "%zu", h->source ? strlen(h->source) : 0);
		return buf;
	case M_NONE:
		break;
	}
	return NULL;
}

/* ---- the tables, run ---- */

static void
test_names(void)
{
	size_t	 i;

	for (i = 0; i < NELEM(names); i++)
		is_str(names[i].names[names[i].at], names[i].want, "%s",
		    names[i].name);
}

static void
test_checks(void)
{
	size_t	 i;

	is_int(strlen(N253), 253, "fixture: 253-char name");
	for (i = 0; i < NELEM(checks); i++) {
		const char	*in = checks[i].in, *got;

		got = checks[i].fn == DNS ? hs_check_dns_name(in) :
		    checks[i].fn == IP ? hs_check_ip(in) : hs_check_uuid(in);
		is_str(got, checks[i].want, "%s %s: '%.40s'%s",
		    check_names[checks[i].fn], checks[i].want ? "bad" : "ok",
		    in ? in : "(NULL)", in && strlen(in) > 40 ? "... (long)" :
		    "");
	}
}

static void
test_thumbprints(void)
{
	size_t	 i;

	for (i = 0; i < NELEM(thumbprints); i++) {
		char	 norm[64];
		size_t	 size = thumbprints[i].size;

		memset(norm, 'x', sizeof(norm));
		is_str(hs_check_thumbprint(thumbprints[i].in,
		    size == NOBUF ? NULL : norm, size == NOBUF ? 0 : size),
		    thumbprints[i].want, "thumbprint %s: %s",
		    thumbprints[i].want ? "bad" : "ok", thumbprints[i].name);
		if (thumbprints[i].norm != NULL)
			is_str(norm, thumbprints[i].norm, "thumbprint stored: "
			    "%s", thumbprints[i].name);
	}
}

static void
test_enums(void)
{
	size_t	 i;

	for (i = 0; i < NELEM(enums); i++) {
		json_error_t	 err;
		json_t		*v = NULL;

		if (enums[i].raw != NULL && !ok((v = json_loads(enums[i].raw,
		    JSON_DECODE_ANY | JSON_ALLOW_NUL, &err)) != NULL,
		    "enum fixture parses: %s", enums[i].raw))
			continue;
		is_int(hs_enum_parse(enums[i].names, enums[i].n, v),
		    enums[i].want, "enum %s: %s", enums[i].name,
		    enums[i].raw ? enums[i].raw : "(NULL)");
		json_decref(v);
	}
}

static void
test_bodies(void)
{
	size_t	 i;

	for (i = 0; i < NELEM(bodies); i++) {
		struct run	 r;

		run(&r, bodies[i].body, bodies[i].max);
		if (bodies[i].key == NULL)
			no_errors(&r, bodies[i].n, bodies[i].name);
		else {
			only_error(&r, bodies[i].key, bodies[i].msg,
			    bodies[i].name);
			ok(r.n == bodies[i].n && (r.n == 0) == (r.h == NULL),
			    "%s: %zu item(s) returned", bodies[i].name,
			    bodies[i].n);
		}
		run_free(&r);
	}
}

static void
test_fields(void)
{
	size_t	 i;

	for (i = 0; i < NELEM(fields); i++) {
		struct run	 r;
		char		*body = one_item(fields[i].f1, fields[i].v1,
		    fields[i].f2, fields[i].v2), buf[96];

		run(&r, body, HS_DEFAULT_MAX_HOSTS);
		if (fields[i].key != NULL)
			only_error(&r, fields[i].key, fields[i].msg,
			    fields[i].name);
		else {
			no_errors(&r, 1, fields[i].name);
			if (fields[i].m != M_NONE && r.h != NULL)
				is_str(stored(&r.h[0], fields[i].m, buf,
				    sizeof(buf)), fields[i].stored, "%s: stored",
				    fields[i].name);
		}
		run_free(&r);
		free(body);
	}
}

/* ---- the cases that are more than one error or one value ---- */

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
	hs_errors_add(NULL, "$", "x");
	hs_errors_add(e, NULL, "x");
	hs_errors_add(e, "[1].ipAddress", NULL);
	hs_errors_add(e, "$", NULL);
	s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
	is_str(s, "{\"$\":[\"third\"],\"[0].os\":[\"first\",\"second\"]}",
	    "errors_add: a NULL errors, path or message adds nothing");
	free(s);
	json_object_set_new(e, "[2].os", json_integer(1));
	hs_errors_add(e, "[2].os", "replaced");
	s = json_dumps(json_object_get(e, "[2].os"), JSON_COMPACT |
	    JSON_ENCODE_ANY);
	is_str(s, "[\"replaced\"]", "errors_add: a non-list value becomes a "
	    "list of the message");
	free(s);
	json_decref(e);
}

/* Items that are no objects: one error each, every item returned. */
static void
test_not_objects(void)
{
	static const char *const keys[] = { "[1]", "[3]", "[4]", "[5]" };
	struct run	 r;
	size_t		 i;

	run(&r, "[" ITEM ",1," ITEM ",[],null,\"x\"]", 10);
	is_int(json_object_size(r.errors), 4, "non-object items: four errors");
	for (i = 0; i < NELEM(keys); i++)
		is_str(first_msg(r.errors, keys[i]), "must be an object",
		    "non-object item: errors[\"%s\"] = [\"must be an object\"]",
		    keys[i]);
	if (!ok(r.rc != 0 && r.h != NULL && r.n == 6,
	    "items are returned even with errors")) {
		run_free(&r);
		return;
	}
	is_str(r.h[2].dns_host_name, "host.example.test",
	    "the good item after a bad one is filled in");
	is_int(r.h[1].ssh_port, 22, "a bad item keeps its defaults");
	is_int(r.h[1].trust_action, -1, "a bad item keeps trust_action -1");
	run_free(&r);
}

/* Three bad fields of one item: three keys; and two faults of one value. */
static void
test_several_errors(void)
{
	struct run	 r;
	const json_t	*l;

	run(&r, "[" ITEM_AT(Q("1.2.3"), Q("22") ",\"os\":" Q(R1024("o") "o")
	    ",\"fooBar\":{\"x\":[1,2,{\"y\":null}]},\"hostScanJobId\":\"x\"")
	    "]", 10);
	ok(r.rc != 0 && json_object_size(r.errors) == 3 &&
	    json_object_get(r.errors, "[0].os") != NULL &&
	    json_object_get(r.errors, "[0].sshPort") != NULL,
	    "three bad fields in one item: three keys, unknown fields ignored");
	is_str(first_msg(r.errors, "[0].ipAddress"), MSG_IP,
	    "ipAddress message");
	run_free(&r);

	run(&r, "[" ITEM_PORT("22,\"source\":" Q(R256("\\u0000") "\\u0000"))
	    "]", 10);
	l = json_object_get(r.errors, "[0].source");
	ok(r.rc != 0 && json_object_size(r.errors) == 1 &&
	    json_array_size(l) == 2 && strcmp(json_string_value(
	    json_array_get(l, 0)), MSG_NUL) == 0 && strcmp(json_string_value(
	    json_array_get(l, 1)), MSG_256) == 0,
	    "source of 257 NULs: two messages on [0].source");
	run_free(&r);
}

/* The API documentation's example body, and a valid two-item body. */
static void
test_examples(void)
{
	static const struct {
		const char	*body;
		size_t		 item;
		enum member	 m;
		const char	*want, *name;
	} rows[] = {
		{ DOC_EXAMPLE, 0, M_DNS, "string", "documentation example: dnsHostName \"string\" is a host name" },
		{ DOC_EXAMPLE, 0, M_OS, "string", "documentation example: os" },
		{ DOC_EXAMPLE, 0, M_CRED_ID, CRED_UUID, "documentation example: credentialId" },
		{ DOC_EXAMPLE, 0, M_CREDS, CRED_UUID " string", "documentation example: credentialName" },
		{ DOC_EXAMPLE, 0, M_PLATFORM, "string", "documentation example: platformName (checked by the caller)" },
		{ DOC_EXAMPLE, 0, M_ACCEPT, "1", "documentation example: accept" },
		{ DOC_EXAMPLE, 0, M_TRUST, "-1", "documentation example: trust null" },
		{ DOC_EXAMPLE, 0, M_CERT, "-1", "documentation example: cert null" },
		{ DOC_EXAMPLE, 0, M_PORT, "22", "documentation example: sshPort 0 -> 22" },
	};
	static const char valid[] = "[{\"dnsHostName\":\"web01.example.test.\","
	    "\"ipAddress\":\"::FFFF:192.0.2.7\",\"os\":\"Debian\","
	    "\"credentialId\":\"F568FEC0-10B6-4B94-9DAF-E62C50C9BF3E\","
	    "\"credentialName\":null,\"platformName\":\"Linux\","
	    "\"acceptThumbprintOnFirstDiscovery\":false,"
	    "\"sshTrustActionType\":\"warnOnThumbprintMismatch\","
	    "\"certificateType\":2,\"trustedThumbprint\":\"" LRM "a9:09:50:2d:"
	    "d8:2a:e4:14:33:e6:f8:38:86:b0:0d:42:77:a3:2a:7b\",\"sshPort\":2222,"
	    "\"source\":\"User Input\"},"
	    "{\"ipAddress\":\"10.0.0.1\",\"credentialName\":\"svc\"}]";
	static const struct {
		size_t		 item;
		enum member	 m;
		const char	*want, *name;
	} valid_rows[] = {
		{ 0, M_HOST, "web01.example.test ::ffff:192.0.2.7", "valid: dnsHostName, ipAddress canonical" },
		{ 0, M_OS, "Debian", "valid: os" },
		{ 0, M_CREDS, CRED_UUID " (null)", "valid: credentialId lower case, credentialName NULL" },
		{ 0, M_PLATFORM, "Linux", "valid: platformName" },
		{ 0, M_ACCEPT, "0", "valid: accept false" },
		{ 0, M_TRUST, "1", "valid: trust action 1" },
		{ 0, M_CERT, "2", "valid: certificate type 2" },
		{ 0, M_THUMB, SHA1_HEX, "valid: thumbprint normalised" },
		{ 0, M_PORT, "2222", "valid: sshPort 2222" },
		{ 1, M_HOST, "(null) 10.0.0.1", "valid: absent dnsHostName is NULL" },
		{ 1, M_OS, NULL, "valid: absent os is NULL" },
		{ 1, M_PLATFORM, NULL, "valid: absent platformName is NULL" },
		{ 1, M_THUMB, NULL, "valid: absent trustedThumbprint is NULL" },
		{ 1, M_CREDS, " svc", "valid: absent credentialId is \"\", credentialName" },
		{ 1, M_ACCEPT, "0", "valid: default accept 0" },
		{ 1, M_TRUST, "-1", "valid: default trust action -1" },
		{ 1, M_CERT, "-1", "valid: default certificate type -1" },
		{ 1, M_PORT, "22", "valid: default sshPort 22" },
	};
	struct run	 r;
	size_t		 i;
	char		 buf[96];

	run(&r, DOC_EXAMPLE, HS_DEFAULT_MAX_HOSTS);
	is_int(json_object_size(r.errors), 2,
	    "documentation example: exactly two errors");
	is_str(first_msg(r.errors, "[0].ipAddress"), MSG_IP,
	    "documentation example: [0].ipAddress");
	is_str(first_msg(r.errors, "[0].trustedThumbprint"), MSG_THUMB,
	    "documentation example: [0].trustedThumbprint");
	if (ok(r.rc != 0 && r.h != NULL && r.n == 1,
	    "documentation example: item kept")) {
		for (i = 0; i < NELEM(rows); i++)
			is_str(stored(&r.h[rows[i].item], rows[i].m, buf,
			    sizeof(buf)), rows[i].want, "%s", rows[i].name);
		is_str(r.h[0].source, "string",
		    "documentation example: source");
	}
	run_free(&r);

	run(&r, valid, 10);
	no_errors(&r, 2, "valid two-item body");
	if (r.h != NULL && r.n == 2) {
		for (i = 0; i < NELEM(valid_rows); i++)
			is_str(stored(&r.h[valid_rows[i].item], valid_rows[i].m,
			    buf, sizeof(buf)), valid_rows[i].want, "%s",
			    valid_rows[i].name);
		is_str(r.h[0].source, "User Input", "valid: source");
		ok(r.h[1].source == NULL, "valid: absent source is NULL");
	}
	run_free(&r);
}

/*
 * The largest body the default allows validates whole; one item more is
 * refused before any is looked at.  How fast is bench/csv's to measure.
 */
static void
test_big_body(void)
{
	struct sb	 b = { NULL, 0, 0 };
	json_t		*root, *errors = json_object();
	struct hs_host_req *h = NULL;
	size_t		 i, n = 0;
	int		 rc;

	sb_add(&b, "[");
	for (i = 0; i < HS_DEFAULT_MAX_HOSTS; i++) {
		sb_add(&b, i ? "," : "");
		sb_add(&b, ITEM_PORT("22,\"source\":\"bulk.csv\",\"os\":\"Linux\","
		    "\"trustedThumbprint\":\"" SHA256_FP "\","
		    "\"sshTrustActionType\":\"ErrorOnThumbprintMismatch\","
		    "\"certificateType\":\"SSH\""));
	}
	sb_add(&b, "]");
	root = json_loads(b.p, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	ok(json_array_size(root) == HS_DEFAULT_MAX_HOSTS,
	    "fixture: 10 000 items parse");
	rc = hs_validate_hosts(root, HS_DEFAULT_MAX_HOSTS, &h, &n, errors);
	ok(rc == 0 && json_object_size(errors) == 0 &&
	    n == HS_DEFAULT_MAX_HOSTS, "10 000 items validate without error");
	if (h != NULL && n == HS_DEFAULT_MAX_HOSTS)
		is_str(h[9999].trusted_thumbprint, SHA256_FP,
		    "item 9999 normalised");
	hs_host_reqs_free(h, n);
	json_decref(errors);

	json_array_append_new(root, json_deep_copy(json_array_get(root, 0)));
	errors = json_object();
	rc = hs_validate_hosts(root, HS_DEFAULT_MAX_HOSTS, &h, &n, errors);
	ok(rc != 0 && h == NULL && n == 0 && json_object_size(errors) == 1 &&
	    json_array_size(json_object_get(errors, "$")) == 1,
	    "10 001 items: refused with one error");
	is_str(first_msg(errors, "$"), "at most 10000 hosts per request",
	    "10 001 items: \"at most 10000 hosts per request\"");
	json_decref(errors);
	json_decref(root);
	free(b.p);
}

int
main(void)
{
	test_names();
	test_checks();
	test_thumbprints();
	test_enums();
	test_errors_add();
	test_bodies();
	test_not_objects();
	test_fields();
	test_several_errors();
	test_examples();
	test_big_body();
	return done_testing();
}
