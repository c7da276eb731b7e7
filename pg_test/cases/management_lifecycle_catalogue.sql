-- Customers (rbac.end_user_*, LiteLLM /customer/*) and the model catalogue (rbac.model_*, LiteLLM /model/*):
-- proxy admins only (issue 13 part 1; docs/management-lifecycle.md). Bad input 22023, table rules 23514, nothing
-- changed on error, every change audited with its actor.
INSERT INTO rbac.models(model_name) VALUES ('gpt-4o');
INSERT INTO rbac.organizations(organization_id) VALUES ('o1');
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-admin', 'proxy_admin'), ('u-oa', 'internal_user'), ('u-a', 'internal_user');
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES ('o1', 'u-oa', 'org_admin');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-lcc-admin-000001'), 'u-admin'),
  (pg_temp.h('sk-lcc-oa-00000001'), 'u-oa'), (pg_temp.h('sk-lcc-a-000000001'), 'u-a');

SET LOCAL ROLE rbac_api;
-- ===== below a proxy admin: refused =====
SELECT pg_temp.expect_eq('org admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-lcc-oa-00000001')), true);
SELECT pg_temp.expect_error('org admin creates a customer', $$SELECT rbac.end_user_new('c1')$$, '42501');
SELECT pg_temp.expect_error('org admin adds a model', $$SELECT rbac.model_new('m1')$$, '42501');
SELECT pg_temp.expect_eq('member authenticates', (SELECT allowed FROM rbac.authenticate('sk-lcc-a-000000001')), true);
SELECT pg_temp.expect_error('member blocks a customer', $$SELECT rbac.end_user_block('c1')$$, '42501');
SELECT pg_temp.expect_error('member deletes a model', $$SELECT rbac.model_delete('gpt-4o')$$, '42501');
SELECT pg_temp.expect_error('member changes a model', $$SELECT rbac.model_update('gpt-4o', input_cost_per_token => 0)$$, '42501');

-- ===== proxy admin: customers =====
SELECT pg_temp.expect_eq('admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-lcc-admin-000001')), true);
SELECT pg_temp.expect_eq('end_user_new',
  (SELECT row(end_user_id, alias, models, max_budget, rpm_limit, budget_reset_at IS NOT NULL)::text
   FROM rbac.end_user_new('c1', alias => 'Customer One', models => ARRAY['gpt-4o'], max_budget => 5, budget_duration => '30d', rpm_limit => 10)),
  row('c1', 'Customer One', ARRAY['gpt-4o'], 5::numeric, 10::bigint, true)::text);
SELECT pg_temp.expect_error('customer exists', $$SELECT rbac.end_user_new('c1')$$, '23505');
SELECT pg_temp.expect_error('empty customer id', $$SELECT rbac.end_user_new('  ')$$, '22023');
SELECT pg_temp.expect_error('customer id too long', $$SELECT rbac.end_user_new(repeat('x', 1025))$$, '22023');
SELECT pg_temp.expect_error('negative customer budget (table rule)', $$SELECT rbac.end_user_new('c2', max_budget => -1)$$, '23514');
SELECT pg_temp.expect_eq('nothing created by the refusal', (SELECT count(*) FROM rbac.end_users WHERE end_user_id = 'c2'), 0::bigint);
SELECT pg_temp.expect_eq('end_user_update: NULL keeps, clear resets',
  (SELECT row(alias, max_budget, rpm_limit, tpm_limit)::text FROM rbac.end_user_update('c1', tpm_limit => 1000, clear => ARRAY['rpm_limit'])),
  row('Customer One', 5::numeric, NULL::bigint, 1000::bigint)::text);
SELECT pg_temp.expect_error('end_user_update: unknown clear entry', $$SELECT rbac.end_user_update('c1', clear => ARRAY['spend'])$$, '22023');
SELECT pg_temp.expect_error('end_user_update: bad budget_duration', $$SELECT rbac.end_user_update('c1', budget_duration => 'monthly')$$, '23514');
SELECT pg_temp.expect_error('end_user_update: unknown customer', $$SELECT rbac.end_user_update('c-nope', alias => 'x')$$, '22023');
SELECT pg_temp.expect_eq('customer blocked', (SELECT blocked FROM rbac.end_user_block('c1')), true);
SELECT pg_temp.expect_check('a blocked customer is refused', 'sk-lcc-a-000000001', '/chat/completions', 'gpt-4o', false, 'end_user_blocked',
  NULL, NULL, 'c1');
SELECT pg_temp.expect_eq('customer unblocked', (SELECT blocked FROM rbac.end_user_unblock('c1')), false);
SELECT pg_temp.expect_check('an unblocked customer passes', 'sk-lcc-a-000000001', '/chat/completions', 'gpt-4o', true, 'ok', NULL, NULL, 'c1');
SELECT rbac.end_user_delete('c1');
SELECT pg_temp.expect_eq('customer deleted', (SELECT count(*) FROM rbac.end_users WHERE end_user_id = 'c1'), 0::bigint);
SELECT pg_temp.expect_error('delete an unknown customer', $$SELECT rbac.end_user_delete('c1')$$, '22023');

-- ===== proxy admin: models =====
SELECT pg_temp.expect_eq('model_new',
  (SELECT row(model_name, provider, access_groups, input_cost_per_token, api_base, upstream_model, api_key_env)::text
   FROM rbac.model_new('m-fast', 'openai', ARRAY['fast'], input_cost_per_token => 0.000001, api_base => 'https://api.openai.com/v1',
                       upstream_model => 'gpt-4o-mini', api_key_env => 'OPENAI_API_KEY')),
  row('m-fast', 'openai', ARRAY['fast'], 0.000001::numeric, 'https://api.openai.com/v1', 'gpt-4o-mini', 'OPENAI_API_KEY')::text);
SELECT pg_temp.expect_error('model exists', $$SELECT rbac.model_new('m-fast')$$, '23505');
SELECT pg_temp.expect_error('empty model name', $$SELECT rbac.model_new('')$$, '22023');
SELECT pg_temp.expect_error('blank access group', $$SELECT rbac.model_new('m2', access_groups => ARRAY[''])$$, '22023');
SELECT pg_temp.expect_error('a provider key instead of a variable name (table rule)', $$SELECT rbac.model_new('m2', api_key_env => 'sk-live-123456')$$, '23514');
SELECT pg_temp.expect_error('api_base with credentials (table rule)', $$SELECT rbac.model_update('m-fast', api_base => 'https://u:p@h.example/v1')$$, '23514');
SELECT pg_temp.expect_error('negative cost (table rule)', $$SELECT rbac.model_update('m-fast', output_cost_per_token => -1)$$, '23514');
SELECT pg_temp.expect_eq('nothing changed by the refusals',
  (SELECT row(api_base, output_cost_per_token)::text FROM rbac.models WHERE model_name = 'm-fast'),
  row('https://api.openai.com/v1', NULL::numeric)::text);
SELECT pg_temp.expect_eq('model_update: NULL keeps, clear resets',
  (SELECT row(provider, access_groups, upstream_model, output_cost_per_token)::text
   FROM rbac.model_update('m-fast', output_cost_per_token => 0.000004, clear => ARRAY['upstream_model', 'access_groups'])),
  row('openai', '{}'::text[], NULL::text, 0.000004::numeric)::text);
SELECT pg_temp.expect_error('model_update: unknown clear entry', $$SELECT rbac.model_update('m-fast', clear => ARRAY['model_name'])$$, '22023');
SELECT pg_temp.expect_error('model_update: unknown model', $$SELECT rbac.model_update('m-nope', provider => 'x')$$, '22023');
SELECT rbac.model_delete('m-fast');
SELECT pg_temp.expect_eq('model deleted', (SELECT count(*) FROM rbac.models WHERE model_name = 'm-fast'), 0::bigint);
SELECT pg_temp.expect_error('delete an unknown model', $$SELECT rbac.model_delete('m-fast')$$, '22023');
RESET ROLE;

SELECT pg_temp.expect_eq('customer changes audited with their actor',
  (SELECT array_agg(action ORDER BY audit_id) FROM rbac.audit_log WHERE table_name = 'end_users' AND object_id = 'c1' AND actor = 'u-admin'),
  ARRAY['created', 'updated', 'blocked', 'unblocked', 'deleted']);
SELECT pg_temp.expect_eq('model changes audited with their actor',
  (SELECT array_agg(action ORDER BY audit_id) FROM rbac.audit_log WHERE table_name = 'models' AND object_id = 'm-fast' AND actor = 'u-admin'),
  ARRAY['created', 'updated', 'deleted']);

-- a database role without a principal: rbac_admin acts as a proxy admin, rbac_api is refused
SELECT pg_temp.expect_eq('a failed authentication clears the principal', (SELECT allowed FROM rbac.authenticate('sk-lcc-not-a-key-01')), false);
CREATE ROLE lcc_proxy LOGIN IN ROLE rbac_api;
CREATE ROLE lcc_dba LOGIN IN ROLE rbac_admin;
SET LOCAL ROLE lcc_proxy;
SELECT pg_temp.expect_error('rbac_api login without a principal', $$SELECT rbac.end_user_new('c3')$$, '42501');
SET LOCAL ROLE lcc_dba;
SELECT pg_temp.expect_eq('rbac_admin login creates a customer', (SELECT end_user_id FROM rbac.end_user_new('c3')), 'c3');
SELECT pg_temp.expect_eq('rbac_admin login adds a model', (SELECT model_name FROM rbac.model_new('m3')), 'm3');
RESET ROLE;
