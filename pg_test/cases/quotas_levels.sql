-- consume_quota at every level and boundary (docs/semantics.md §10, docs/semantics.md §10): user, team member, end user,
-- per-model limits on keys/teams/organizations, tpm correction on settle, release refunds, reservation expiry,
-- refusals that consume nothing, and JWT principals (no key limits, docs/semantics.md §10.2).
INSERT INTO rbac.organizations(organization_id, metadata) VALUES ('o-ql', '{"model_tpm_limit": {"claude-3": 50}}');
INSERT INTO rbac.teams(team_id, organization_id) VALUES ('t-ql', 'o-ql');
INSERT INTO rbac.users(user_id, rpm_limit) VALUES ('u-ql-rpm1', 1), ('u-ql-member', NULL);
INSERT INTO rbac.team_members(team_id, user_id, tpm_limit) VALUES ('t-ql', 'u-ql-member', 100);
INSERT INTO rbac.end_users(end_user_id, rpm_limit, max_budget) VALUES ('cust-ql', 1, 1);
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-case-ql-user-01'), 'u-ql-rpm1'), (pg_temp.h('sk-case-ql-user-02'), 'u-ql-rpm1');
INSERT INTO rbac.keys(key_hash, user_id, team_id) VALUES (pg_temp.h('sk-case-ql-member-1'), 'u-ql-member', 't-ql');
INSERT INTO rbac.keys(key_hash, metadata) VALUES (pg_temp.h('sk-case-ql-model-01'), '{"model_rpm_limit": {"gpt-4o": 1}}');
INSERT INTO rbac.keys(key_hash, max_parallel_requests, max_budget) VALUES (pg_temp.h('sk-case-ql-lease-01'), 1, 1);
INSERT INTO rbac.keys(key_hash) VALUES (pg_temp.h('sk-case-ql-free-001'));

-- user rpm is shared by all the user's keys
SELECT pg_temp.expect_quota('user 1/1', 'sk-case-ql-user-01', 'gpt-4o', 1, 0, 0, true, 'ok');
SELECT pg_temp.expect_quota('user 2/1 through another key', 'sk-case-ql-user-02', 'gpt-4o', 1, 0, 0, false, 'rate_limit_exceeded', 'user');

-- the organization's per-model tpm, then the team member's tpm
SELECT pg_temp.expect_quota('org claude-3 tpm 51/50', 'sk-case-ql-member-1', 'claude-3', 1, 51, 0, false, 'rate_limit_exceeded', 'model_per_organization');
SELECT pg_temp.expect_quota('org claude-3 tpm 40/50', 'sk-case-ql-member-1', 'claude-3', 1, 40, 0, true, 'ok');
SELECT pg_temp.expect_quota('member 100/100 across models', 'sk-case-ql-member-1', 'gpt-4o', 1, 60, 0, true, 'ok');
SELECT pg_temp.expect_quota('member 101/100', 'sk-case-ql-member-1', 'gpt-4o', 1, 1, 0, false, 'rate_limit_exceeded', 'team_member');

-- per-model rpm on the key counts only that model
SELECT pg_temp.expect_quota('key gpt-4o 1/1', 'sk-case-ql-model-01', 'gpt-4o', 1, 0, 0, true, 'ok');
SELECT pg_temp.expect_quota('key gpt-4o 2/1', 'sk-case-ql-model-01', 'gpt-4o', 1, 0, 0, false, 'rate_limit_exceeded', 'model_per_key');
SELECT pg_temp.expect_quota('other model unaffected', 'sk-case-ql-model-01', 'gpt-4o-mini', 1, 0, 0, true, 'ok');

-- end user (customer) rpm and budget
SELECT pg_temp.expect_eq('customer 1/1',
  (SELECT reason FROM rbac.consume_quota('sk-case-ql-free-001', '/chat/completions', 'gpt-4o', 1, 0, 0.5, 'cust-ql')), 'ok');
SELECT pg_temp.expect_eq('customer 2/1',
  (SELECT reason || '/' || limit_scope FROM rbac.consume_quota('sk-case-ql-free-001', '/chat/completions', 'gpt-4o', 1, 0, 0, 'cust-ql')),
  'rate_limit_exceeded/end_user');
UPDATE rbac.end_users SET rpm_limit = NULL WHERE end_user_id = 'cust-ql';
SELECT pg_temp.expect_eq('customer budget: 0.5 reserved + 0.6 > 1',
  (SELECT reason || '/' || limit_scope FROM rbac.consume_quota('sk-case-ql-free-001', '/chat/completions', 'gpt-4o', 1, 0, 0.6, 'cust-ql')),
  'budget_exceeded/end_user');
SELECT pg_temp.expect_eq('customer budget: exactly 1 is allowed',
  (SELECT reason FROM rbac.consume_quota('sk-case-ql-free-001', '/chat/completions', 'gpt-4o', 1, 0, 0.5, 'cust-ql')), 'ok');
SELECT pg_temp.expect_eq('customer reserved', (SELECT reserved FROM rbac.end_users WHERE end_user_id = 'cust-ql'), 1.0::numeric);

-- a refusal consumes nothing: lease refused, budget reserved at the key level undone
CREATE TEMP TABLE lease AS SELECT pg_temp.expect_quota('lease 1/1', 'sk-case-ql-lease-01', 'gpt-4o', 1, 0, 0.25, true, 'ok') AS id;
SELECT pg_temp.expect_quota('lease 2/1', 'sk-case-ql-lease-01', 'gpt-4o', 1, 0, 0.25, false, 'parallel_limit_exceeded', 'key');
SELECT pg_temp.expect_eq('refused lease left the budget reservation as it was',
  (SELECT reserved = 0.25 AND in_flight = 1 FROM rbac.keys WHERE key_hash = pg_temp.h('sk-case-ql-lease-01')), true);
-- release refunds budget and lease
SELECT pg_temp.expect_eq('release', (SELECT rbac.release(id) FROM pg_temp.lease), true);
SELECT pg_temp.expect_eq('release again is a no-op', (SELECT rbac.release(id) FROM pg_temp.lease), false);
SELECT pg_temp.expect_eq('released', (SELECT reserved = 0 AND in_flight = 0 FROM rbac.keys WHERE key_hash = pg_temp.h('sk-case-ql-lease-01')), true);
SELECT pg_temp.expect_eq('a released reservation cannot be settled', (SELECT rbac.settle(id, 1, 1, 0.1) FROM pg_temp.lease), false);

-- stale reservations expire after rbac.reservation_ttl; the key's own are expired before a refusal
CREATE TEMP TABLE stale AS SELECT pg_temp.expect_quota('stale lease', 'sk-case-ql-lease-01', 'gpt-4o', 1, 0, 0.5, true, 'ok') AS id;
UPDATE rbac.reservations SET expires_at = now() - interval '1 second' WHERE reservation_id = (SELECT id FROM pg_temp.stale);
SELECT pg_temp.expect_quota('expired lease is reclaimed', 'sk-case-ql-lease-01', 'gpt-4o', 1, 0, 0.5, true, 'ok');
SELECT pg_temp.expect_eq('stale reservation expired', (SELECT r.state FROM rbac.reservations r JOIN pg_temp.stale s ON s.id = r.reservation_id), 'expired');
UPDATE rbac.reservations SET expires_at = now() - interval '1 second' WHERE state = 'open' AND key_hash = pg_temp.h('sk-case-ql-lease-01');
SELECT pg_temp.expect_eq('expire_reservations sweeps the rest', (SELECT rbac.expire_reservations() >= 1), true);
SELECT pg_temp.expect_eq('after the sweep', (SELECT reserved = 0 AND in_flight = 0 FROM rbac.keys WHERE key_hash = pg_temp.h('sk-case-ql-lease-01')), true);
-- an expired reservation still records its spend when the request completes
SELECT pg_temp.expect_eq('settle after expiry', (SELECT rbac.settle(id, 5, 5, 0.2) FROM pg_temp.stale), true);
SELECT pg_temp.expect_eq('spend recorded, nothing left reserved',
  (SELECT spend = 0.2 AND reserved = 0 FROM rbac.keys WHERE key_hash = pg_temp.h('sk-case-ql-lease-01')), true);

-- settle corrects the tpm window from the estimate to the actual tokens
UPDATE rbac.keys SET tpm_limit = 1000 WHERE key_hash = pg_temp.h('sk-case-ql-free-001');
CREATE TEMP TABLE tpm AS SELECT pg_temp.expect_quota('estimate 900', 'sk-case-ql-free-001', 'gpt-4o', 1, 900, 0, true, 'ok') AS id;
SELECT pg_temp.expect_quota('no room for 200 more', 'sk-case-ql-free-001', 'gpt-4o', 1, 200, 0, false, 'rate_limit_exceeded', 'key');
SELECT rbac.settle(id, 100, 50, 0.01) FROM pg_temp.tpm;
SELECT pg_temp.expect_eq('window holds the actual 150 tokens',
  (SELECT tokens FROM rbac.rate_windows WHERE scope = 'key' AND subject = pg_temp.h('sk-case-ql-free-001')), 150::bigint);
SELECT pg_temp.expect_quota('room after settle', 'sk-case-ql-free-001', 'gpt-4o', 1, 800, 0, true, 'ok');

-- denials of rbac_check come back unchanged and consume nothing
SELECT pg_temp.expect_quota('unknown key', 'sk-case-ql-nope-0001', 'gpt-4o', 1, 0, 0, false, 'invalid_token');
SELECT pg_temp.expect_eq('401 from rbac_check', (SELECT http_status FROM rbac.consume_quota('', '/chat/completions', 'gpt-4o')), 401);
SELECT pg_temp.expect_error('null route', $$SELECT rbac.consume_quota('sk-case-ql-free-001', NULL, 'gpt-4o')$$, '22023');
SELECT pg_temp.expect_error('NaN cost', $$SELECT rbac.consume_quota('sk-case-ql-free-001', '/chat/completions', 'gpt-4o', 1, 0, 'NaN')$$, '22023');
SELECT pg_temp.expect_error('negative settle', $$SELECT rbac.settle(gen_random_uuid(), 1, 1, -1)$$, '22023');
SELECT pg_temp.expect_error('unknown reservation', $$SELECT rbac.settle(gen_random_uuid(), 1, 1, 1)$$, '22023');

-- the reservation TTL is a superuser-only setting: a caller cannot shorten it to defeat the limits
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_error('rbac.reservation_ttl is superuser-only', $$SET LOCAL rbac.reservation_ttl = '0'$$, '42501');
RESET ROLE;
SELECT pg_temp.expect_error('TTL has a floor of 1 second', $$SET LOCAL rbac.reservation_ttl = '0'$$, '22023');
-- accounting columns are never negative or non-finite, whoever writes them
SELECT pg_temp.expect_error('negative spend', $$UPDATE rbac.keys SET spend = -1 WHERE key_hash = pg_temp.h('sk-case-ql-free-001')$$, '23514');
SELECT pg_temp.expect_error('NaN reserved', $$UPDATE rbac.keys SET reserved = 'NaN' WHERE key_hash = pg_temp.h('sk-case-ql-free-001')$$, '23514');
SELECT pg_temp.expect_error('negative in_flight', $$UPDATE rbac.keys SET in_flight = -5 WHERE key_hash = pg_temp.h('sk-case-ql-free-001')$$, '23514');
SELECT pg_temp.expect_error('NULL tokens at settle', $$SELECT rbac.settle(gen_random_uuid(), NULL, NULL, 1)$$, '22023');

-- housekeeping arguments are checked (22023), nothing is deleted or released for a bad one
SELECT pg_temp.expect_error('expire_reservations: negative max_rows', $$SELECT rbac.expire_reservations(-1)$$, '22023');
SELECT pg_temp.expect_error('expire_reservations: NULL max_rows', $$SELECT rbac.expire_reservations(NULL)$$, '22023');
SELECT pg_temp.expect_error('purge_reservations: a negative age', $$SELECT rbac.purge_reservations(interval '-1 second')$$, '22023');
SELECT pg_temp.expect_error('purge_reservations: NULL', $$SELECT rbac.purge_reservations(NULL)$$, '22023');
SELECT pg_temp.expect_eq('purge_reservations: nothing closed is a day old here', rbac.purge_reservations(), 0::bigint);

-- the window each remaining_* is counted in is named by its limit (a proxy's x-ratelimit-limit-* headers)
INSERT INTO rbac.keys(key_hash, rpm_limit, tpm_limit) VALUES (pg_temp.h('sk-ql-headers-00001'), 7, 5000);
SELECT pg_temp.expect_eq('limits and remaining after one request',
  (SELECT row(remaining_requests, limit_requests, remaining_tokens, limit_tokens)::text
   FROM rbac.consume_quota('sk-ql-headers-00001', '/chat/completions', 'gpt-4o', 1, 1200, 0)),
  row(6::bigint, 7::bigint, 3800::bigint, 5000::bigint)::text);
