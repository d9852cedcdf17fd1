-- SPDX-License-Identifier: ISC
-- Idempotency-Key (POST /HostScanJob, ByHostId, ByHostIdMultiple): the
-- first request with a key claims it here in the transaction that
-- queues its jobs, so a retry (even a concurrent one, which waits on the
-- claim) finds the jobs instead of making new ones.  Keys are scoped to the
-- token's subject and live 24 hours; the responder deletes a few expired
-- ones whenever it claims a key (src/api/idem.c).
CREATE TABLE idempotency_key (
	sub		text NOT NULL,
	key		text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
	-- BLAKE2b of method, route and body: a different request is a 422.
	fingerprint	text NOT NULL,
	job_ids		uuid[] NOT NULL DEFAULT '{}',
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (sub, key)
);
CREATE INDEX idempotency_key_created ON idempotency_key (created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_key TO hostscan_api;
