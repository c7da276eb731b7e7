-- Contract scenario: admission with rbac.consume_quota, rbac.settle and rbac.release.
-- rpm and tpm windows admit exactly their limit and answer 429 with a retry-after inside the window; a request
-- refused at one level (here the team's rpm) consumes nothing at the others (the key's rpm); a parallel slot is
-- held until released; a budget reservation admits only what fits (0.45 admits three requests of 0.15, not a
-- fourth). Settling for less frees the difference, spend and rbac.spend_log record the actual cost, and settle
-- is idempotent (no double spend).
-- See docs/quotas.md (The lifecycle in a proxy, Levels and windows, Exactness and how it is achieved) and
-- docs/sql-reference.md (rbac.consume_quota, rbac.settle, rbac.release).
INSERT INTO rbac.teams(team_id, rpm_limit) VALUES ('t-rpm1', 1);
INSERT INTO rbac.keys(key_hash, rpm_limit) VALUES (pg_temp.h('sk-case-rpm2-00001'), 2);
INSERT INTO rbac.keys(key_hash, tpm_limit) VALUES (pg_temp.h('sk-case-tpm1000-01'), 1000);
INSERT INTO rbac.keys(key_hash, max_parallel_requests) VALUES (pg_temp.h('sk-case-par1-00001'), 1);
INSERT INTO rbac.keys(key_hash, max_budget) VALUES (pg_temp.h('sk-case-budget045'), 0.45);
INSERT INTO rbac.keys(key_hash, team_id, rpm_limit) VALUES (pg_temp.h('sk-case-key2-team1'), 't-rpm1', 2);

SELECT pg_temp.expect_quota('rpm 1/2', 'sk-case-rpm2-00001', 'gpt-4o', 1, 0, 0, true, 'ok');
SELECT pg_temp.expect_eq('remaining after 1', (SELECT remaining_requests FROM rbac.consume_quota('sk-case-rpm2-00001', '/chat/completions', 'gpt-4o')), 0::bigint);
SELECT pg_temp.expect_quota('rpm 3/2', 'sk-case-rpm2-00001', 'gpt-4o', 1, 0, 0, false, 'rate_limit_exceeded', 'key');
SELECT pg_temp.expect_eq('429 with retry-after',
  (SELECT (http_status, retry_after_seconds BETWEEN 1 AND 60, reset_at > now()) FROM rbac.consume_quota('sk-case-rpm2-00001', '/chat/completions', 'gpt-4o'))::text,
  '(429,t,t)');

SELECT pg_temp.expect_quota('tpm 600', 'sk-case-tpm1000-01', 'gpt-4o', 1, 600, 0, true, 'ok');
SELECT pg_temp.expect_quota('tpm 600 more', 'sk-case-tpm1000-01', 'gpt-4o', 1, 600, 0, false, 'rate_limit_exceeded', 'key');
SELECT pg_temp.expect_quota('tpm 400 fits', 'sk-case-tpm1000-01', 'gpt-4o', 1, 400, 0, true, 'ok');

-- a request refused by the team limit does not use up the key's rpm
SELECT pg_temp.expect_quota('team 1/1', 'sk-case-key2-team1', 'gpt-4o', 1, 0, 0, true, 'ok');
SELECT pg_temp.expect_quota('team 2/1 refused', 'sk-case-key2-team1', 'gpt-4o', 1, 0, 0, false, 'rate_limit_exceeded', 'team');
UPDATE rbac.teams SET rpm_limit = 10 WHERE team_id = 't-rpm1';
SELECT pg_temp.expect_quota('key 2/2 still free', 'sk-case-key2-team1', 'gpt-4o', 1, 0, 0, true, 'ok');
SELECT pg_temp.expect_quota('key 3/2', 'sk-case-key2-team1', 'gpt-4o', 1, 0, 0, false, 'rate_limit_exceeded', 'key');

-- parallel slots are leased and released
CREATE TEMP TABLE r AS SELECT pg_temp.expect_quota('slot 1/1', 'sk-case-par1-00001', 'gpt-4o', 1, 0, 0, true, 'ok') AS id;
SELECT pg_temp.expect_quota('slot 2/1', 'sk-case-par1-00001', 'gpt-4o', 1, 0, 0, false, 'parallel_limit_exceeded', 'key');
SELECT rbac.release(id) FROM pg_temp.r;
SELECT pg_temp.expect_quota('slot freed', 'sk-case-par1-00001', 'gpt-4o', 1, 0, 0, true, 'ok');

-- budget reservation: 0.45 admits three 0.15 requests, not four
CREATE TEMP TABLE b AS
  SELECT pg_temp.expect_quota('budget 1', 'sk-case-budget045', 'gpt-4o', 1, 0, 0.15, true, 'ok') AS id
  UNION ALL SELECT pg_temp.expect_quota('budget 2', 'sk-case-budget045', 'gpt-4o', 1, 0, 0.15, true, 'ok')
  UNION ALL SELECT pg_temp.expect_quota('budget 3', 'sk-case-budget045', 'gpt-4o', 1, 0, 0.15, true, 'ok');
SELECT pg_temp.expect_quota('budget 4', 'sk-case-budget045', 'gpt-4o', 1, 0, 0.15, false, 'budget_exceeded', 'key');
-- settling for less frees the difference; spend and the spend log record actual cost
SELECT rbac.settle(id, 100, 20, 0.05) FROM pg_temp.b;
SELECT pg_temp.expect_eq('spend is actual', (SELECT spend FROM rbac.keys WHERE key_hash = pg_temp.h('sk-case-budget045')), 0.15::numeric);
SELECT pg_temp.expect_eq('spend log rows', (SELECT count(*) FROM rbac.spend_log WHERE key_hash = pg_temp.h('sk-case-budget045')), 3::bigint);
SELECT pg_temp.expect_quota('room again', 'sk-case-budget045', 'gpt-4o', 1, 0, 0.15, true, 'ok');
-- settle is idempotent
SELECT rbac.settle(id, 100, 20, 0.05) FROM pg_temp.b;
SELECT pg_temp.expect_eq('no double spend', (SELECT spend FROM rbac.keys WHERE key_hash = pg_temp.h('sk-case-budget045')), 0.15::numeric);
