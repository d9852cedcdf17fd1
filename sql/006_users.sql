-- SPDX-License-Identifier: ISC
-- Interactive sign-in (POST /signinBody, /signin2fa, GET /api/v1/UserToken).
-- hostscanctl writes users through the admin connection; the responder
-- reads them and may change only the replay counter and the throttle.

CREATE TABLE app_user (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name			text NOT NULL UNIQUE
				CHECK (char_length(name) BETWEEN 1 AND 64),
	role			text NOT NULL CHECK (role IN ('Admin', 'User')),
	-- crypto_pwhash_str (argon2id): "$argon2id$v=19$m=...,t=...,p=1$..."
	password_hash		text NOT NULL
				CHECK (password_hash LIKE '$argon2id$%'
				AND octet_length(password_hash) < 128),
	enabled			boolean NOT NULL DEFAULT true,
	-- The TOTP secret sealed under the totp_key file (nonce || secretbox);
	-- NULL until `hostscanctl user totp`.
	totp_key_id		text,
	totp_secret		bytea,
	-- The last TOTP step (Unix time / 30) a sign-in used: a code of that
	-- step or an earlier one is a replay.
	totp_last_counter	bigint,
	created_at		timestamptz NOT NULL DEFAULT now(),
	modified_at		timestamptz NOT NULL DEFAULT now(),
	CHECK ((totp_key_id IS NULL) = (totp_secret IS NULL))
);

-- Failed sign-ins per login name, whether or not a user has that name, so
-- that a lockout says nothing about who exists.  A row goes once its name
-- has been unlocked and without failures for a day (the responder prunes
-- on every failure); a success deletes it.
CREATE TABLE signin_throttle (
	login			text PRIMARY KEY CHECK (octet_length(login) BETWEEN 1 AND 256),
	failures		bigint NOT NULL CHECK (failures >= 0),
	last_failure_at		timestamptz NOT NULL,
	locked_until		timestamptz
);
CREATE INDEX signin_throttle_last_failure ON signin_throttle (last_failure_at);

GRANT SELECT (name, role, password_hash, enabled, totp_key_id, totp_secret,
	totp_last_counter) ON app_user TO hostscan_api;
GRANT UPDATE (totp_last_counter) ON app_user TO hostscan_api;
GRANT SELECT, INSERT, DELETE ON signin_throttle TO hostscan_api;
GRANT UPDATE (failures, last_failure_at, locked_until) ON signin_throttle
	TO hostscan_api;
