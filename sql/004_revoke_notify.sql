-- SPDX-License-Identifier: ISC
-- Every revocation wakes the responders' token caches (src/api/auth.c):
-- a NOTIFY is delivered at commit, to every worker LISTENing.
CREATE FUNCTION hs_revoke_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('hostscan_revoke', NEW.jti);
	RETURN NEW;
END
$$;

CREATE TRIGGER revoked_token_notify AFTER INSERT ON revoked_token
	FOR EACH ROW EXECUTE FUNCTION hs_revoke_notify();
