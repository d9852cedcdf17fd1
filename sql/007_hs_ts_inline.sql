-- SPDX-License-Identifier: ISC
-- hs_ts was declared IMMUTABLE, but to_char() and AT TIME ZONE are only
-- STABLE, so the planner could not inline it: every call went through the
-- SQL-function executor, which parsed and planned its body again in every
-- statement that used it (a third of PostgreSQL's time on GET
-- /HostScanJob/{id}).  STABLE is what it is; a STABLE SQL function whose
-- body is one STABLE expression is inlined into the caller's plan.  No
-- index uses it.
ALTER FUNCTION hs_ts(timestamptz) STABLE;
