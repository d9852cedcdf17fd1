-- SPDX-License-Identifier: ISC
-- Credential scope, endpoint pins and the credential audit trail (issue 9).

-- Where a credential may be used: comma-separated CIDR blocks and DNS-name
-- patterns, or 'any' (src/common/scope.c parses it; hostscanctl writes it
-- in canonical form).  Credentials made before this migration get 'any'
-- with scope_set_at NULL, and `credential list` warns about them until
-- `credential scope` sets one.
ALTER TABLE credential
	ADD COLUMN scope text NOT NULL DEFAULT 'any'
		CHECK (octet_length(scope) BETWEEN 1 AND 4096),
	ADD COLUMN scope_set_at timestamptz;

-- The endpoint ("192.0.2.1:22", "[2001:db8::1]:22") where a scan last saw
-- this host's trusted key (pinned then, or matching the pin).  A key
-- pinned on one host record so also binds any other name or address a
-- caller may use for the same endpoint (src/sched/scan.c).
ALTER TABLE host ADD COLUMN trusted_address text;
CREATE INDEX host_trusted_address ON host (trusted_address)
	WHERE trusted_fingerprint IS NOT NULL;

-- Every use of a credential, and every refusal to use one.  Append-only:
-- a use is one row written and committed before the secret is sent
-- (event 'use', outcome NULL); what came of it is a second row (event
-- 'outcome') with the same use_id; a refusal is one row (event 'refused')
-- and nothing was sent.  Credentials are copied by id and name, not
-- referenced, so the trail outlives `credential rm`.
CREATE TABLE credential_audit (
	id			bigserial PRIMARY KEY,
	at			timestamptz NOT NULL DEFAULT clock_timestamp(),
	use_id			uuid NOT NULL,
	event			text NOT NULL
				CHECK (event IN ('use', 'outcome', 'refused')),
	credential_id		uuid NOT NULL,
	credential_name		text NOT NULL,
	credential_kind		text NOT NULL,
	host_scan_host_id	uuid,		-- NULL: refused by the API
	job_id			uuid,
	scan_attempt		integer,
	submitted_by		text,		-- the job's token subject
	dns_host_name		text,
	address			text,		-- connected to (or refused)
	port			integer,
	host_key_fingerprint	text,
	method			text,		-- password, keyboard-interactive, publickey
	actor			text NOT NULL,	-- hostscand/INSTANCE or hostscan.fcgi
	outcome			text,
	detail			text,
	CHECK ((event = 'use') = (outcome IS NULL))
);
CREATE INDEX credential_audit_at ON credential_audit (at);
CREATE INDEX credential_audit_credential ON credential_audit (credential_name, at);
CREATE INDEX credential_audit_use ON credential_audit (use_id);

-- Not even the owner changes a row by accident.  Pruning old rows is a
-- deliberate act: ALTER TABLE credential_audit DISABLE TRIGGER
-- credential_audit_append_only, as the owner, and enable it again.
CREATE FUNCTION hs_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'credential_audit is append-only'
		USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER credential_audit_append_only
	BEFORE UPDATE OR DELETE OR TRUNCATE ON credential_audit
	FOR EACH STATEMENT EXECUTE FUNCTION hs_audit_append_only();

-- Rights.  The responder reads the scope (never the secret) to refuse a
-- host outside it, and records that refusal; the scheduler records uses,
-- outcomes and refusals.  Neither may change or delete a row.
GRANT SELECT (scope) ON credential TO hostscan_api;
GRANT INSERT ON credential_audit TO hostscan_api, hostscan_sched;
GRANT USAGE ON SEQUENCE credential_audit_id_seq TO hostscan_api, hostscan_sched;
