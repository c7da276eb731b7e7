-- Management defaults and upper bounds (docs/quotas.md "Defaults and upper bounds"; LiteLLM
-- default_key_generate_params, upperbound_key_generate_params, default_internal_user_params, default_team_params):
-- defaults fill what a new key / internal user / team leaves unset; upper bounds refuse larger values with 23514
-- naming the bound, for proxy and team admins alike, and fill unset ones; the filled values are enforced by
-- consume_quota; settings are validated, proxy-admin only, audited and hidden by RLS.
INSERT INTO rbac.models(model_name, provider) VALUES ('gpt-4o', 'openai'), ('gpt-4o-mini', 'openai');
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-db-admin', 'proxy_admin'), ('u-db-teamadm', 'internal_user'),
  ('u-db-member', 'internal_user');
INSERT INTO rbac.teams(team_id) VALUES ('t-db');
INSERT INTO rbac.team_members(team_id, user_id, role) VALUES ('t-db', 'u-db-teamadm', 'admin'), ('t-db', 'u-db-member', 'user');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-db-admin-000001'), 'u-db-admin');
INSERT INTO rbac.keys(key_hash, user_id, team_id) VALUES (pg_temp.h('sk-db-teamadm-0001'), 'u-db-teamadm', 't-db');

SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-db-admin-000001')), true);

-- settings: shapes are validated
SELECT pg_temp.expect_eq('set key defaults',
  (SELECT value FROM rbac.setting_update('default_key_generate_params', '{"max_budget": 5, "rpm_limit": 10, "models": ["gpt-4o"]}')),
  '{"max_budget": 5, "rpm_limit": 10, "models": ["gpt-4o"]}'::jsonb);
SELECT pg_temp.expect_error('unknown setting', $$SELECT rbac.setting_update('general_settings', '{}')$$, '22023');
RESET ROLE;
SELECT pg_temp.expect_error('unknown setting, written directly', $$INSERT INTO rbac.settings(name, value) VALUES ('general_settings', '{}')$$, '23514');
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_error('unknown field', $$SELECT rbac.setting_update('default_key_generate_params', '{"max_budgt": 1}')$$, '23514');
SELECT pg_temp.expect_error('non-numeric budget', $$SELECT rbac.setting_update('upperbound_key_generate_params', '{"max_budget": "100"}')$$, '23514');
SELECT pg_temp.expect_error('fractional rpm', $$SELECT rbac.setting_update('upperbound_key_generate_params', '{"rpm_limit": 1.5}')$$, '23514');
SELECT pg_temp.expect_error('negative tpm', $$SELECT rbac.setting_update('upperbound_key_generate_params', '{"tpm_limit": -1}')$$, '23514');
SELECT pg_temp.expect_error('bad duration', $$SELECT rbac.setting_update('upperbound_key_generate_params', '{"duration": "monthly"}')$$, '23514');
SELECT pg_temp.expect_error('not an object', $$SELECT rbac.setting_update('default_team_params', '[1]')$$, '23514');
SELECT pg_temp.expect_eq('refused settings left nothing', (SELECT count(*) FROM rbac.setting_info()), 1::bigint);
SELECT pg_temp.expect_eq('setting change audited',
  (SELECT actor FROM rbac.audit_log WHERE table_name = 'settings' AND object_id = 'default_key_generate_params'), 'u-db-admin');

-- key defaults: unset values take them, explicit ones stay
-- (a key's row is read in the next statement: the statement that creates it does not see it)
SELECT key_name FROM rbac.key_generate(key => 'sk-db-defaults-0001');
SELECT key_name FROM rbac.key_generate(key => 'sk-db-explicit-0001', max_budget => 1, rpm_limit => 2, models => ARRAY['gpt-4o-mini']);
SELECT pg_temp.expect_eq('defaults fill an unset key',
  (SELECT row(max_budget, rpm_limit, models)::text FROM rbac.keys WHERE key_hash = pg_temp.h('sk-db-defaults-0001')),
  row(5::numeric, 10::bigint, ARRAY['gpt-4o'])::text);
SELECT pg_temp.expect_eq('explicit values stay',
  (SELECT row(max_budget, rpm_limit, models)::text FROM rbac.keys WHERE key_hash = pg_temp.h('sk-db-explicit-0001')),
  row(1::numeric, 2::bigint, ARRAY['gpt-4o-mini'])::text);
SELECT pg_temp.expect_quota('defaulted model list enforced', 'sk-db-defaults-0001', 'gpt-4o-mini', 1, 0, 0, false, 'key_model_access_denied');

-- upper bounds: refused above, for a proxy admin too; unset takes the bound
SELECT rbac.setting_update('upperbound_key_generate_params',
  '{"max_budget": 100, "rpm_limit": 1, "tpm_limit": 1000, "budget_duration": "30d", "duration": "90d", "max_parallel_requests": 4}');
SELECT rbac.setting_update('default_key_generate_params', NULL);
SELECT pg_temp.expect_eq('default removed', (SELECT count(*) FROM rbac.setting_info('default_key_generate_params')), 0::bigint);
SELECT pg_temp.expect_error('proxy admin: max_budget above the bound', $$SELECT * FROM rbac.key_generate(max_budget => 500)$$, '23514');
SELECT pg_temp.expect_error('proxy admin: rpm above the bound', $$SELECT * FROM rbac.key_generate(rpm_limit => 2)$$, '23514');
SELECT pg_temp.expect_error('budget_duration longer than the bound', $$SELECT * FROM rbac.key_generate(budget_duration => '5w')$$, '23514');
SELECT pg_temp.expect_error('key lifetime longer than the bound', $$SELECT * FROM rbac.key_generate(duration => interval '91 days')$$, '23514');
DO $$
BEGIN
  PERFORM rbac.key_generate(max_budget => 500);
EXCEPTION WHEN check_violation THEN
  IF SQLERRM NOT LIKE '%max_budget 500 is over the upper bound upperbound_key_generate_params.max_budget = 100%' THEN
    RAISE EXCEPTION 'FAIL [the message names the bound] got: %', SQLERRM;
  END IF;
END $$;
SELECT key_name FROM rbac.key_generate(key => 'sk-db-bounded-0001', budget_duration => '1d');
SELECT pg_temp.expect_eq('unset values take the bound',
  (SELECT row(max_budget, rpm_limit, tpm_limit, budget_duration, max_parallel_requests,
              expires BETWEEN now() + interval '89 days' AND now() + interval '91 days')::text
   FROM rbac.keys WHERE key_hash = pg_temp.h('sk-db-bounded-0001')),
  row(100::numeric, 1::bigint, 1000::bigint, '1d', 4::bigint, true)::text);
SELECT pg_temp.expect_quota('bound rpm enforced 1/1', 'sk-db-bounded-0001', 'gpt-4o', 1, 0, 0, true, 'ok');
SELECT pg_temp.expect_quota('bound rpm enforced 2/1', 'sk-db-bounded-0001', 'gpt-4o', 1, 0, 0, false, 'rate_limit_exceeded', 'key');
SELECT pg_temp.expect_error('key_update above the bound', $$SELECT rbac.key_update('sk-db-bounded-0001', max_budget => 101)$$, '23514');
SELECT pg_temp.expect_error('key_update clearing a bounded value', $$SELECT rbac.key_update('sk-db-bounded-0001', clear => ARRAY['max_budget'])$$, '23514');
SELECT pg_temp.expect_eq('key_update within the bound', (SELECT max_budget FROM rbac.key_update('sk-db-bounded-0001', max_budget => 50)), 50::numeric);

-- users and teams
SELECT rbac.setting_update('default_internal_user_params', '{"max_budget": 3, "budget_duration": "1mo", "models": ["gpt-4o"]}');
SELECT rbac.setting_update('upperbound_internal_user_params', '{"max_budget": 50}');
SELECT rbac.setting_update('default_team_params', '{"max_budget": 20, "rpm_limit": 100}');
SELECT pg_temp.expect_eq('internal user defaults',
  (SELECT row(max_budget, budget_duration, models, budget_reset_at IS NOT NULL)::text FROM rbac.user_new('u-db-new')),
  row(3::numeric, '1mo', ARRAY['gpt-4o'], true)::text);
SELECT pg_temp.expect_eq('a proxy admin user takes no internal-user defaults',
  (SELECT row(max_budget, models)::text FROM rbac.user_new('u-db-new-admin', user_role => 'proxy_admin')), row(NULL::numeric, '{}'::text[])::text);
SELECT pg_temp.expect_error('user above its bound', $$SELECT rbac.user_new('u-db-rich', max_budget => 60)$$, '23514');
SELECT pg_temp.expect_error('user_update above its bound', $$SELECT rbac.user_update('u-db-new', max_budget => 60)$$, '23514');
SELECT pg_temp.expect_eq('team defaults', (SELECT row(max_budget, rpm_limit)::text FROM rbac.team_new('t-db-new')), row(20::numeric, 100::bigint)::text);

-- attacks, as non-superusers: a team admin is bound too, and can neither change nor read the settings
SELECT pg_temp.expect_eq('team admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-db-teamadm-0001')), true);
SELECT pg_temp.expect_error('team admin: member key above the bound',
  $$SELECT * FROM rbac.key_generate(user_id => 'u-db-member', team_id => 't-db', max_budget => 1000)$$, '23514');
SELECT key_name FROM rbac.key_generate(key => 'sk-db-member-00001', user_id => 'u-db-member', team_id => 't-db', max_budget => 10);
SELECT pg_temp.expect_eq('team admin: member key within the bound gets the bound''s rpm',
  (SELECT row(rpm_limit, max_budget)::text FROM rbac.keys WHERE key_hash = pg_temp.h('sk-db-member-00001')), row(1::bigint, 10::numeric)::text);
SELECT pg_temp.expect_error('team admin cannot raise a bound',
  $$SELECT rbac.setting_update('upperbound_key_generate_params', '{"max_budget": 100000}')$$, '42501');
SELECT pg_temp.expect_error('team admin cannot drop a bound', $$SELECT rbac.setting_update('upperbound_key_generate_params', NULL)$$, '42501');
SELECT pg_temp.expect_error('team admin cannot read the settings', $$SELECT rbac.setting_info()$$, '42501');
SELECT pg_temp.expect_eq('RLS hides the settings', (SELECT count(*) FROM rbac.settings), 0::bigint);
SELECT pg_temp.expect_error('no direct writes', $$DELETE FROM rbac.settings$$, '42501');
RESET ROLE;
SELECT pg_temp.expect_eq('bound unchanged after attacks',
  (SELECT value ->> 'max_budget' FROM rbac.settings WHERE name = 'upperbound_key_generate_params'), '100');
