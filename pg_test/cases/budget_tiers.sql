-- Budget tiers (LiteLLM LiteLLM_BudgetTable, docs/quotas.md "Budget tiers"): a level's own value wins, the tier fills
-- what it leaves unset, tier edits reach the levels that follow them (and the cached policy), consume_quota and
-- rbac_check enforce the tier's values with the usual limit_scope; the default tier of first-seen customers;
-- management is proxy-admin only, validated and audited; RLS hides tiers from non-admins.
INSERT INTO rbac.models(model_name, provider) VALUES ('gpt-4o', 'openai');
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-bt-admin', 'proxy_admin'), ('u-bt-member', 'internal_user'),
  ('u-bt-teamadm', 'internal_user');
INSERT INTO rbac.organizations(organization_id) VALUES ('o-bt');
INSERT INTO rbac.teams(team_id, organization_id) VALUES ('t-bt', 'o-bt');
INSERT INTO rbac.team_members(team_id, user_id, role) VALUES ('t-bt', 'u-bt-member', 'user'), ('t-bt', 'u-bt-teamadm', 'admin');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-bt-admin-000001'), 'u-bt-admin');
INSERT INTO rbac.keys(key_hash, user_id, team_id) VALUES (pg_temp.h('sk-bt-teamadm-0001'), 'u-bt-teamadm', 't-bt');
INSERT INTO rbac.keys(key_hash, user_id, team_id, rpm_limit) VALUES (pg_temp.h('sk-bt-member-00001'), 'u-bt-member', 't-bt', NULL);
INSERT INTO rbac.keys(key_hash, rpm_limit) VALUES (pg_temp.h('sk-bt-own-rpm-0001'), 5);

SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-bt-admin-000001')), true);

-- tiers: create, validate, read
SELECT pg_temp.expect_eq('budget_new',
  (SELECT row(budget_id, max_budget, soft_budget, budget_duration, rpm_limit, tpm_limit, max_parallel_requests, created_by)::text
   FROM rbac.budget_new('basic', max_budget => 1, soft_budget => 0.5, budget_duration => '30d', rpm_limit => 2, tpm_limit => 1000,
                        max_parallel_requests => 1)),
  row('basic', 1::numeric, 0.5::numeric, '30d', 2::bigint, 1000::bigint, 1::bigint, 'u-bt-admin')::text);
SELECT pg_temp.expect_eq('budget id generated', (SELECT length(budget_id) FROM rbac.budget_new(rpm_limit => 1)), 36);
SELECT pg_temp.expect_error('duplicate tier', $$SELECT rbac.budget_new('basic')$$, '23505');
SELECT pg_temp.expect_error('negative tier budget', $$SELECT rbac.budget_new('bad', max_budget => -1)$$, '23514');
SELECT pg_temp.expect_error('NaN tier soft budget', $$SELECT rbac.budget_new('bad', soft_budget => 'NaN')$$, '23514');
SELECT pg_temp.expect_error('bad tier duration', $$SELECT rbac.budget_new('bad', budget_duration => 'monthly')$$, '23514');
SELECT pg_temp.expect_error('negative tier rpm', $$SELECT rbac.budget_new('bad', rpm_limit => -1)$$, '23514');
SELECT pg_temp.expect_eq('nothing partial', (SELECT count(*) FROM rbac.budget_info('bad')), 0::bigint);
SELECT pg_temp.expect_eq('budget_info', (SELECT rpm_limit FROM rbac.budget_info('basic')), 2::bigint);
SELECT pg_temp.expect_eq('tier creation audited',
  (SELECT actor FROM rbac.audit_log WHERE table_name = 'budgets' AND object_id = 'basic' AND action = 'created'), 'u-bt-admin');

-- assigning: the key takes every value it leaves unset; its own rpm stays its own
SELECT rbac.budget_assign('basic', 'key', pg_temp.h('sk-bt-member-00001'));
SELECT rbac.budget_assign('basic', 'key', 'sk-bt-own-rpm-0001');
SELECT pg_temp.expect_eq('tier values on the key',
  (SELECT row(max_budget, soft_budget, budget_duration, rpm_limit, tpm_limit, max_parallel_requests, budget_fields, budget_reset_at IS NOT NULL)::text
   FROM rbac.keys WHERE key_hash = pg_temp.h('sk-bt-member-00001')),
  row(1::numeric, 0.5::numeric, '30d', 2::bigint, 1000::bigint, 1::bigint,
      ARRAY['max_budget', 'soft_budget', 'budget_duration', 'rpm_limit', 'tpm_limit', 'max_parallel_requests'], true)::text);
SELECT pg_temp.expect_eq('own value wins over the tier',
  (SELECT row(rpm_limit, tpm_limit, 'rpm_limit' = ANY (budget_fields))::text FROM rbac.keys WHERE key_hash = pg_temp.h('sk-bt-own-rpm-0001')),
  row(5::bigint, 1000::bigint, false)::text);
SELECT pg_temp.expect_eq('assignment audited',
  (SELECT after ->> 'budget_id' FROM rbac.audit_log WHERE table_name = 'keys' AND object_id = pg_temp.h('sk-bt-member-00001')
   AND after ->> 'budget_id' IS NOT NULL ORDER BY audit_id DESC LIMIT 1), 'basic');
SELECT pg_temp.expect_eq('explain shows the tier and what it gives',
  (SELECT detail FROM rbac.explain('sk-bt-member-00001', '/chat/completions', 'gpt-4o') WHERE gate = 'budget' LIMIT 1)
  LIKE '%max_budget 1, budget_duration 30d, %, soft_budget 0.5, budget tier basic (gives max_budget, soft_budget, budget_duration, rpm_limit, tpm_limit, max_parallel_requests)', true);
SELECT pg_temp.expect_error('assign unknown tier', $$SELECT rbac.budget_assign('nope', 'key', 'sk-bt-own-rpm-0001')$$, '22023');
SELECT pg_temp.expect_error('assign to unknown organization', $$SELECT rbac.budget_assign('basic', 'organization', 'o-nope')$$, '22023');
SELECT pg_temp.expect_error('assign to a team (no tier level)', $$SELECT rbac.budget_assign('basic', 'team', 't-bt')$$, '22023');
SELECT pg_temp.expect_error('team_member needs user_id', $$SELECT rbac.budget_assign('basic', 'team_member', 't-bt')$$, '22023');

-- the tier's limits are enforced by consume_quota and rbac_check with the level's limit_scope
SELECT pg_temp.expect_quota('tier rpm 1/2', 'sk-bt-member-00001', 'gpt-4o', 1, 0, 0, true, 'ok');
SELECT pg_temp.expect_quota('tier parallel 2/1', 'sk-bt-member-00001', 'gpt-4o', 1, 0, 0, false, 'parallel_limit_exceeded', 'key');
RESET ROLE;
UPDATE rbac.reservations SET expires_at = now() WHERE key_hash = pg_temp.h('sk-bt-member-00001');
SELECT rbac.expire_reservations();
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('clear the tier''s parallel limit',
  (SELECT max_parallel_requests FROM rbac.budget_update('basic', clear => ARRAY['max_parallel_requests'])), NULL::bigint);
SELECT pg_temp.expect_eq('... cleared on its keys', (SELECT count(*) FROM rbac.keys WHERE max_parallel_requests IS NOT NULL), 0::bigint);
SELECT pg_temp.expect_quota('tier rpm 2/2', 'sk-bt-member-00001', 'gpt-4o', 1, 0, 0, true, 'ok');
SELECT pg_temp.expect_quota('tier rpm 3/2', 'sk-bt-member-00001', 'gpt-4o', 1, 0, 0, false, 'rate_limit_exceeded', 'key');
SELECT pg_temp.expect_quota('own rpm 5 still applies (1/5)', 'sk-bt-own-rpm-0001', 'gpt-4o', 1, 0, 0, true, 'ok');
SELECT pg_temp.expect_quota('tier tpm 1001/1000', 'sk-bt-own-rpm-0001', 'gpt-4o', 1, 1001, 0, false, 'rate_limit_exceeded', 'key');
SELECT pg_temp.expect_quota('tier budget 1.5 > 1', 'sk-bt-own-rpm-0001', 'gpt-4o', 1, 0, 1.5, false, 'budget_exceeded', 'key');

-- a tier edit reaches the levels that follow it (and the cached policy of this backend)
SELECT pg_temp.expect_eq('budget_update', (SELECT rpm_limit FROM rbac.budget_update('basic', rpm_limit => 100, max_budget => 10)), 100::bigint);
SELECT pg_temp.expect_eq('tier edit reached the key',
  (SELECT row(rpm_limit, max_budget)::text FROM rbac.keys WHERE key_hash = pg_temp.h('sk-bt-member-00001')), row(100::bigint, 10::numeric)::text);
SELECT pg_temp.expect_eq('own value untouched by the tier edit',
  (SELECT rpm_limit FROM rbac.keys WHERE key_hash = pg_temp.h('sk-bt-own-rpm-0001')), 5::bigint);
SELECT pg_temp.expect_quota('new tier rpm admits (3/100)', 'sk-bt-member-00001', 'gpt-4o', 1, 0, 0, true, 'ok');
SELECT pg_temp.expect_quota('new tier budget admits 1.5 <= 10', 'sk-bt-own-rpm-0001', 'gpt-4o', 1, 0, 1.5, true, 'ok');
SELECT pg_temp.expect_eq('tier edit audited on the key',
  (SELECT count(*) FROM rbac.audit_log WHERE table_name = 'keys' AND object_id = pg_temp.h('sk-bt-member-00001')
   AND (after ->> 'rpm_limit') = '100'), 1::bigint);
SELECT pg_temp.expect_eq('clear a tier field', (SELECT tpm_limit FROM rbac.budget_update('basic', clear => ARRAY['tpm_limit'])), NULL::bigint);
SELECT pg_temp.expect_eq('cleared tier field cleared on the key',
  (SELECT row(tpm_limit, 'tpm_limit' = ANY (budget_fields))::text FROM rbac.keys WHERE key_hash = pg_temp.h('sk-bt-own-rpm-0001')),
  row(NULL::bigint, false)::text);
SELECT pg_temp.expect_error('bad clear list', $$SELECT rbac.budget_update('basic', clear => ARRAY['spend'])$$, '22023');
SELECT pg_temp.expect_error('update unknown tier', $$SELECT rbac.budget_update('nope', rpm_limit => 1)$$, '22023');

-- an own value set later wins; clearing it falls back to the tier
SELECT pg_temp.expect_eq('own rpm set by key_update', (SELECT rpm_limit FROM rbac.key_update('sk-bt-member-00001', rpm_limit => 7)), 7::bigint);
SELECT rbac.budget_update('basic', rpm_limit => 50);
SELECT pg_temp.expect_eq('own value survives tier edits', (SELECT rpm_limit FROM rbac.keys WHERE key_hash = pg_temp.h('sk-bt-member-00001')), 7::bigint);
SELECT pg_temp.expect_eq('cleared own value falls back to the tier',
  (SELECT rpm_limit FROM rbac.key_update('sk-bt-member-00001', clear => ARRAY['rpm_limit'])), 50::bigint);

-- organizations, team memberships, customers; a tier edit that would put a level below its children is refused
SELECT rbac.team_update('t-bt', rpm_limit => 60);
SELECT rbac.budget_new('org-tier', max_budget => 100, rpm_limit => 100, tpm_limit => 100);
SELECT rbac.budget_assign('org-tier', 'organization', 'o-bt');
SELECT pg_temp.expect_eq('organization follows its tier', (SELECT row(max_budget, rpm_limit, tpm_limit)::text FROM rbac.organizations WHERE organization_id = 'o-bt'),
  row(100::numeric, 100::bigint, 100::bigint)::text);
SELECT pg_temp.expect_error('tier below the team''s rpm', $$SELECT rbac.budget_update('org-tier', rpm_limit => 10)$$, '23514');
SELECT pg_temp.expect_eq('refused tier edit changed nothing', (SELECT row(t.rpm_limit, o.rpm_limit)::text
  FROM rbac.budget_info('org-tier') t, rbac.organizations o WHERE o.organization_id = 'o-bt'), row(100::bigint, 100::bigint)::text);
SELECT rbac.budget_new('member-tier', max_budget => 0.25);
SELECT rbac.budget_assign('member-tier', 'team_member', 't-bt', 'u-bt-teamadm');
SELECT pg_temp.expect_quota('member tier budget 0.3 > 0.25', 'sk-bt-teamadm-0001', 'gpt-4o', 1, 0, 0.3, false, 'budget_exceeded', 'team_member');
SELECT pg_temp.expect_quota('organization tier tpm 101/100', 'sk-bt-teamadm-0001', 'gpt-4o', 1, 101, 0.1, false, 'rate_limit_exceeded', 'organization');
SELECT pg_temp.expect_quota('organization tier tpm 100/100', 'sk-bt-teamadm-0001', 'gpt-4o', 1, 100, 0.1, true, 'ok');
SELECT pg_temp.expect_eq('member follows its tier',
  (SELECT row(max_budget, budget_fields)::text FROM rbac.team_members WHERE team_id = 't-bt' AND user_id = 'u-bt-teamadm'),
  row(0.25::numeric, ARRAY['max_budget'])::text);
SELECT rbac.budget_assign(NULL, 'team_member', 't-bt', 'u-bt-teamadm');
SELECT pg_temp.expect_eq('leaving the tier drops its values',
  (SELECT row(max_budget, budget_fields)::text FROM rbac.team_members WHERE team_id = 't-bt' AND user_id = 'u-bt-teamadm'),
  row(NULL::numeric, '{}'::text[])::text);

-- default tier for customers seen for the first time (LiteLLM max_end_user_budget_id)
SELECT rbac.budget_new('customer-tier', max_budget => 0.5, rpm_limit => 1);
SELECT pg_temp.expect_eq('default customer tier set', (SELECT value FROM rbac.setting_update('max_end_user_budget_id', '"customer-tier"')),
  '"customer-tier"'::jsonb);
SELECT pg_temp.expect_eq('a new customer row takes the default tier',
  (SELECT row(budget_id, max_budget, rpm_limit)::text FROM rbac.end_user_new('cust-bt-1')), row('customer-tier', 0.5::numeric, 1::bigint)::text);
SELECT pg_temp.expect_eq('first request of an unknown customer',
  (SELECT reason FROM rbac.consume_quota('sk-bt-own-rpm-0001', '/chat/completions', 'gpt-4o', 1, 0, 0.1, 'cust-bt-new')), 'ok');
RESET ROLE;
SELECT pg_temp.expect_eq('settle creates the customer with the default tier',
  (SELECT rbac.settle(reservation_id, 1, 1, 0.4) FROM rbac.reservations WHERE end_user_id = 'cust-bt-new'), true);
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('customer row', (SELECT row(budget_id, spend, max_budget)::text FROM rbac.end_users WHERE end_user_id = 'cust-bt-new'),
  row('customer-tier', 0.4::numeric, 0.5::numeric)::text);
SELECT pg_temp.expect_eq('its tier applies from the next request on',
  (SELECT reason || '/' || limit_scope FROM rbac.consume_quota('sk-bt-own-rpm-0001', '/chat/completions', 'gpt-4o', 1, 0, 0.2, 'cust-bt-new')),
  'budget_exceeded/end_user');
SELECT pg_temp.expect_error('default tier must exist', $$SELECT rbac.setting_update('max_end_user_budget_id', '"nope"')$$, '23514');
SELECT pg_temp.expect_error('a tier in use cannot be deleted', $$SELECT rbac.budget_delete('customer-tier')$$, '23514');
SELECT pg_temp.expect_eq('an unused tier can', (SELECT budget_id FROM rbac.budget_delete('member-tier')), 'member-tier');
SELECT pg_temp.expect_error('delete unknown tier', $$SELECT rbac.budget_delete('member-tier')$$, '22023');

-- attacks, as non-superusers: a team admin can neither create, edit, assign nor read tiers; RLS hides them
SELECT pg_temp.expect_eq('team admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-bt-teamadm-0001')), true);
SELECT pg_temp.expect_error('team admin cannot create a tier', $$SELECT rbac.budget_new('mine', rpm_limit => 1000000)$$, '42501');
SELECT pg_temp.expect_error('team admin cannot edit a tier', $$SELECT rbac.budget_update('basic', rpm_limit => 1000000)$$, '42501');
SELECT pg_temp.expect_error('team admin cannot assign a tier', $$SELECT rbac.budget_assign(NULL, 'key', 'sk-bt-member-00001')$$, '42501');
SELECT pg_temp.expect_error('team admin cannot delete a tier', $$SELECT rbac.budget_delete('org-tier')$$, '42501');
SELECT pg_temp.expect_error('team admin cannot read tiers', $$SELECT rbac.budget_info()$$, '42501');
SELECT pg_temp.expect_eq('RLS hides tiers', (SELECT count(*) FROM rbac.budgets), 0::bigint);
SELECT pg_temp.expect_error('no direct writes to tiers', $$UPDATE rbac.budgets SET rpm_limit = NULL$$, '42501');
SELECT pg_temp.expect_error('no direct tier assignment', $$UPDATE rbac.keys SET budget_id = NULL$$, '42501');
RESET ROLE;
SELECT pg_temp.expect_eq('key tier unchanged after attacks', (SELECT budget_id FROM rbac.keys WHERE key_hash = pg_temp.h('sk-bt-member-00001')), 'basic');
SELECT pg_temp.expect_eq('tier unchanged after attacks', (SELECT rpm_limit FROM rbac.budgets WHERE budget_id = 'basic'), 50::bigint);
