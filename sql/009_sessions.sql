-- SPDX-License-Identifier: ISC
-- Sign-in sessions (src/api/signin.c, hostscanctl session).  /signin2fa
-- starts a session; every token minted for it, renewals through GET
-- /api/v1/UserToken included, carries its id in the claim `sid` and is
-- recorded here by jti.  A token with a sid is good only while its session
-- row exists and is not revoked, so ending the session ends all of them,
-- and revoking any one of them (revoked_token) ends the session.  The
-- absolute lifetime counts from started_at (signin_session_max).

CREATE TABLE signin_session (
	sid		text PRIMARY KEY CHECK (char_length(sid) BETWEEN 1 AND 64),
	login		text NOT NULL CHECK (octet_length(login) BETWEEN 1 AND 256),
	started_at	timestamptz NOT NULL DEFAULT now(),
	revoked_at	timestamptz
);
CREATE INDEX signin_session_login ON signin_session (login, started_at);
CREATE INDEX signin_session_started ON signin_session (started_at);

-- Every token minted for a session, so that `token revoke JTI` finds it.
CREATE TABLE session_token (
	jti		text PRIMARY KEY CHECK (char_length(jti) BETWEEN 1 AND 1024),
	sid		text NOT NULL REFERENCES signin_session (sid) ON DELETE CASCADE,
	issued_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL
);
CREATE INDEX session_token_sid ON session_token (sid);

-- Revoking one token of a session ends the session: the rule holds however
-- the jti reaches revoked_token.
CREATE FUNCTION hs_revoke_token_session() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE signin_session s SET revoked_at = now()
	FROM session_token t
	WHERE t.jti = NEW.jti AND s.sid = t.sid AND s.revoked_at IS NULL;
	RETURN NEW;
END
$$;

CREATE TRIGGER revoked_token_session AFTER INSERT ON revoked_token
	FOR EACH ROW EXECUTE FUNCTION hs_revoke_token_session();

-- An ended session wakes the responders' token caches as a revoked token
-- does (sql/004): same channel, the sid as payload.
CREATE FUNCTION hs_session_revoke_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('hostscan_revoke', NEW.sid);
	RETURN NEW;
END
$$;

CREATE TRIGGER signin_session_notify AFTER UPDATE OF revoked_at
	ON signin_session FOR EACH ROW
	WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
	EXECUTE FUNCTION hs_session_revoke_notify();

-- The responder starts sessions, records their tokens and deletes sessions
-- long over; only hostscanctl (the owner) revokes.
GRANT SELECT, INSERT, DELETE ON signin_session TO hostscan_api;
GRANT SELECT, INSERT ON session_token TO hostscan_api;
