-- Contract scenario: budgets.
-- One rule at every level: spend >= max_budget refuses with budget_exceeded, and limit_scope names the level
-- (key, team, organization, team_member, end_user); a zero budget allows nothing, and info routes are not
-- budget-checked. A lapsed budget period is reset on the next check, exactly once (spend back to 0, the next reset
-- in the future). Budget durations must be one positive number and one unit (no compound, zero or word
-- durations), and budgets must be finite amounts >= 0 (23514).
-- See docs/quotas.md (Levels and windows, Budget periods and lazy resets), docs/concepts.md (Write-time
-- validation) and docs/litellm-migration.md (Deliberate differences: one budget rule everywhere).
INSERT INTO rbac.organizations(organization_id, max_budget, spend) VALUES ('org-b', 20, 20);
INSERT INTO rbac.teams(team_id, max_budget, spend) VALUES ('t-full', 10, 10), ('t-room', 10, 9.99);
INSERT INTO rbac.teams(team_id, organization_id) VALUES ('t-in-full-org', 'org-b');
INSERT INTO rbac.keys(key_hash, max_budget, spend) VALUES (pg_temp.h('sk-case-key-full-01'), 10, 10), (pg_temp.h('sk-case-key-room-01'), 10, 9.99),
  (pg_temp.h('sk-case-key-zero-01'), 0, 0);
INSERT INTO rbac.keys(key_hash, team_id) VALUES (pg_temp.h('sk-case-team-full-1'), 't-full'), (pg_temp.h('sk-case-team-room-1'), 't-room'),
  (pg_temp.h('sk-case-org-full-01'), 't-in-full-org');

SELECT pg_temp.expect_check('key at budget', 'sk-case-key-full-01', '/chat/completions', 'gpt-4o', false, 'budget_exceeded', NULL, 'key');
SELECT pg_temp.expect_check('key below budget', 'sk-case-key-room-01', '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('zero budget allows nothing', 'sk-case-key-zero-01', '/chat/completions', 'gpt-4o', false, 'budget_exceeded', NULL, 'key');
SELECT pg_temp.expect_check('team at budget', 'sk-case-team-full-1', '/chat/completions', 'gpt-4o', false, 'budget_exceeded', NULL, 'team');
SELECT pg_temp.expect_check('team below budget', 'sk-case-team-room-1', '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('org at budget', 'sk-case-org-full-01', '/chat/completions', 'gpt-4o', false, 'budget_exceeded', NULL, 'organization');
SELECT pg_temp.expect_check('budgets do not gate info routes', 'sk-case-key-full-01', '/key/info', NULL, true, 'ok');

-- team member budget
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-m', 'internal_user');
INSERT INTO rbac.team_members(team_id, user_id, role, max_budget, spend) VALUES ('t-room', 'u-m', 'user', 1, 1);
INSERT INTO rbac.keys(key_hash, user_id, team_id) VALUES (pg_temp.h('sk-case-member-full'), 'u-m', 't-room');
SELECT pg_temp.expect_check('member at budget', 'sk-case-member-full', '/chat/completions', 'gpt-4o', false, 'budget_exceeded', NULL, 'team_member');

-- customer budget
INSERT INTO rbac.end_users(end_user_id, max_budget, spend) VALUES ('cust-full', 5, 5);
SELECT pg_temp.expect_check('customer at budget', 'sk-case-key-room-01', '/chat/completions', 'gpt-4o', false, 'budget_exceeded', NULL, 'end_user', 'cust-full');

-- a lapsed budget period resets on the next check, exactly once
INSERT INTO rbac.keys(key_hash, max_budget, spend, budget_duration, budget_reset_at)
  VALUES (pg_temp.h('sk-case-reset-0001'), 10, 50, '1d', now() - interval '1 minute');
SELECT pg_temp.expect_check('lapsed period resets', 'sk-case-reset-0001', '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_eq('spend zeroed', (SELECT spend FROM rbac.keys WHERE key_hash = pg_temp.h('sk-case-reset-0001')), 0::numeric);
SELECT pg_temp.expect_eq('next reset in the future', (SELECT budget_reset_at > now() FROM rbac.keys WHERE key_hash = pg_temp.h('sk-case-reset-0001')), true);

-- durations and amounts are validated
SELECT pg_temp.expect_error('compound duration', $$INSERT INTO rbac.keys(key_hash, budget_duration) VALUES ('h1', '1h30m')$$, '23514');
SELECT pg_temp.expect_error('zero duration', $$INSERT INTO rbac.keys(key_hash, budget_duration) VALUES ('h2', '0d')$$, '23514');
SELECT pg_temp.expect_error('word duration', $$INSERT INTO rbac.keys(key_hash, budget_duration) VALUES ('h3', 'abc')$$, '23514');
SELECT pg_temp.expect_error('negative budget', $$INSERT INTO rbac.keys(key_hash, max_budget) VALUES ('h4', -1)$$, '23514');
SELECT pg_temp.expect_error('NaN budget', $$INSERT INTO rbac.keys(key_hash, max_budget) VALUES ('h5', 'NaN')$$, '23514');
