-- Delegation and hand-over (adversarial review F2, F3, F6, F8): what a key hands out stays within what it has,
-- a regenerated key never hands over more than its regenerator administers, a leaked key in its grace period
-- cannot mint or rotate, and management calls reveal no other tenant's ids (docs/secure-deployment.md).
CREATE ROLE atk_proxy LOGIN IN ROLE rbac_api;
INSERT INTO rbac.models(model_name, provider) VALUES ('gpt-4o', 'openai'), ('gpt-4o-mini', 'openai'), ('claude-3', 'anthropic');
INSERT INTO rbac.organizations(organization_id) VALUES ('o1'), ('o2');
INSERT INTO rbac.teams(team_id, organization_id, models, team_member_permissions) VALUES
  ('t-mini', 'o1', ARRAY['gpt-4o-mini'], ARRAY['/key/generate']),
  ('t-wide', 'o1', ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-3'], ARRAY['/key/generate']),
  ('t-other', 'o2', '{}', '{}');
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-a', 'internal_user'), ('u-ta', 'internal_user'), ('u-m', 'internal_user'),
  ('u-orgadm', 'internal_user'), ('u-admin', 'proxy_admin');
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES ('o1', 'u-orgadm', 'org_admin');
INSERT INTO rbac.team_members(team_id, user_id, role) VALUES ('t-mini', 'u-a', 'user'), ('t-wide', 'u-a', 'user'),
  ('t-wide', 'u-ta', 'admin'), ('t-wide', 'u-m', 'user');
-- u-a's key: gpt-4o-mini only, 5 USD per 30 days
INSERT INTO rbac.keys(key_hash, user_id, models, max_budget, budget_duration)
VALUES (pg_temp.h('sk-dl-a-mini-00001'), 'u-a', ARRAY['gpt-4o-mini'], 5, '30d');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-dl-ta-0000001'), 'u-ta'), (pg_temp.h('sk-dl-orgadm-0001'), 'u-orgadm'),
  (pg_temp.h('sk-dl-admin-00001'), 'u-admin');
-- u-m's team key (allowed to manage its own keys: no allowed_routes)
INSERT INTO rbac.keys(key_hash, user_id, team_id) VALUES (pg_temp.h('sk-dl-m-team-00001'), 'u-m', 't-wide');

SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_eq('u-a authenticates', (SELECT allowed FROM rbac.authenticate('sk-dl-a-mini-00001')), true);

-- F2: all-team-models is the team's models, and needs a team
SELECT pg_temp.expect_error('all-team-models on a personal key', $$SELECT * FROM rbac.key_generate(models => ARRAY['all-team-models'])$$, '22023');
SELECT pg_temp.expect_error('all-team-models of a wider team escapes the ceiling',
  $$SELECT * FROM rbac.key_generate(team_id => 't-wide', models => ARRAY['all-team-models'], max_budget => 1)$$, '42501');
SELECT set_config('cases.k_team', (SELECT key FROM rbac.key_generate(team_id => 't-mini', models => ARRAY['all-team-models'], max_budget => 1)), true);
SELECT pg_temp.expect_check('all-team-models within the ceiling: the team''s model', current_setting('cases.k_team'), '/chat/completions', 'gpt-4o-mini', true, 'ok');
SELECT pg_temp.expect_check('all-team-models within the ceiling: nothing else', current_setting('cases.k_team'), '/chat/completions', 'gpt-4o', false, 'team_model_access_denied');

-- F3: no faster renewal, and a delegated budget is taken out of the caller's key (1 USD went to k_team above)
SELECT pg_temp.expect_eq('the caller''s key gave 1 USD to the team key',
  (SELECT max_budget FROM rbac.keys WHERE key_hash = pg_temp.h('sk-dl-a-mini-00001')), 4::numeric);
SELECT pg_temp.expect_error('a budget that renews every second', $$SELECT * FROM rbac.key_generate(max_budget => 1, budget_duration => '1s')$$, '42501');
SELECT pg_temp.expect_error('a budget that renews daily under a 30-day one', $$SELECT * FROM rbac.key_generate(max_budget => 1, budget_duration => '1d')$$, '42501');
SELECT pg_temp.expect_error('the whole budget again', $$SELECT * FROM rbac.key_generate(max_budget => 5)$$, '42501');
SELECT set_config('cases.k_rest', (SELECT key FROM rbac.key_generate(max_budget => 3)), true);
SELECT pg_temp.expect_eq('the new key inherits the 30-day period and records where its budget came from',
  (SELECT max_budget::text || ' ' || budget_duration || ' ' || (budget_from_key = pg_temp.h('sk-dl-a-mini-00001'))::text
   FROM rbac.keys WHERE key_hash = pg_temp.h(current_setting('cases.k_rest'))), '3 30d true');
SELECT pg_temp.expect_eq('the caller''s key keeps what it did not hand out',
  (SELECT max_budget FROM rbac.keys WHERE key_hash = pg_temp.h('sk-dl-a-mini-00001')), 1::numeric);
SELECT pg_temp.expect_error('no more than what is left', $$SELECT * FROM rbac.key_generate(max_budget => 1.01)$$, '42501');
-- the child spends; minting again cannot refill it (review B4a): the spend is the child's, the budget the parent's
RESET ROLE;
UPDATE rbac.keys SET spend = 3 WHERE key_hash = pg_temp.h(current_setting('cases.k_rest'));
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_eq('u-a authenticates again', (SELECT allowed FROM rbac.authenticate('sk-dl-a-mini-00001')), true);
SELECT pg_temp.expect_error('a spent child does not free the parent''s budget', $$SELECT * FROM rbac.key_generate(max_budget => 2)$$, '42501');
-- a child of the child, then the child is deleted (review B4b): the grandchild's budget stays carved
SELECT pg_temp.expect_eq('child authenticates', (SELECT allowed FROM rbac.authenticate(current_setting('cases.k_rest'))), true);
RESET ROLE;
UPDATE rbac.keys SET spend = 0 WHERE key_hash = pg_temp.h(current_setting('cases.k_rest'));
SET LOCAL ROLE atk_proxy;
SELECT set_config('cases.h_grand', (SELECT key_hash FROM rbac.key_generate(max_budget => 2)), true);
SELECT pg_temp.expect_eq('u-a authenticates once more', (SELECT allowed FROM rbac.authenticate('sk-dl-a-mini-00001')), true);
SELECT rbac.key_delete(current_setting('cases.k_rest'));
RESET ROLE;
SELECT pg_temp.expect_eq('deleting the child gave back only its own remaining budget',
  (SELECT max_budget FROM rbac.keys WHERE key_hash = pg_temp.h('sk-dl-a-mini-00001')), 2::numeric);
SELECT pg_temp.expect_eq('the grandchild now takes its budget from the parent',
  (SELECT budget_from_key FROM rbac.keys WHERE key_hash = current_setting('cases.h_grand')), pg_temp.h('sk-dl-a-mini-00001'));
SELECT pg_temp.expect_eq('everything together is still the original 5 USD',
  (SELECT sum(max_budget) FROM rbac.keys WHERE key_hash IN (pg_temp.h('sk-dl-a-mini-00001'), current_setting('cases.h_grand'),
   pg_temp.h(current_setting('cases.k_team')))), 5::numeric);
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_eq('u-a authenticates for the zero key', (SELECT allowed FROM rbac.authenticate('sk-dl-a-mini-00001')), true);
SELECT set_config('cases.h_zero', (SELECT key_hash FROM rbac.key_generate()), true);
SELECT pg_temp.expect_eq('an unset budget inherits (and takes) what is left',
  (SELECT k.max_budget FROM rbac.keys k WHERE k.key_hash = current_setting('cases.h_zero')), 2::numeric);
SELECT pg_temp.expect_eq('nothing is left to the caller''s key',
  (SELECT max_budget FROM rbac.keys WHERE key_hash = pg_temp.h('sk-dl-a-mini-00001')), 0::numeric);

-- B2/B3: an empty list or all-team-models on a team key is the team's models, never every model
RESET ROLE;
INSERT INTO rbac.keys(key_hash, user_id, team_id, models) VALUES (pg_temp.h('sk-dl-a-tmini-0001'), 'u-a', 't-mini', '{}'),
  (pg_temp.h('sk-dl-a-tatm-00001'), 'u-a', 't-mini', ARRAY['all-team-models']);
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_eq('team key with an empty list authenticates', (SELECT allowed FROM rbac.authenticate('sk-dl-a-tmini-0001')), true);
SELECT pg_temp.expect_error('personal key wider than the team', $$SELECT * FROM rbac.key_generate(models => ARRAY['claude-3'])$$, '42501');
SELECT set_config('cases.k_inh1', (SELECT key FROM rbac.key_generate()), true);
SELECT pg_temp.expect_check('inherited: the team''s model', current_setting('cases.k_inh1'), '/chat/completions', 'gpt-4o-mini', true, 'ok');
SELECT pg_temp.expect_check('inherited: nothing else', current_setting('cases.k_inh1'), '/chat/completions', 'claude-3', false, 'key_model_access_denied');
SELECT pg_temp.expect_eq('all-team-models team key authenticates', (SELECT allowed FROM rbac.authenticate('sk-dl-a-tatm-00001')), true);
SELECT set_config('cases.k_inh2', (SELECT key FROM rbac.key_generate()), true);
SELECT pg_temp.expect_eq('inherited list is the team''s, not all-team-models',
  (SELECT models FROM rbac.keys WHERE key_hash = pg_temp.h(current_setting('cases.k_inh2'))), ARRAY['gpt-4o-mini']);
SELECT pg_temp.expect_check('inherited from all-team-models: nothing else', current_setting('cases.k_inh2'), '/chat/completions', 'gpt-4o', false, 'key_model_access_denied');

-- F6a: a team admin regenerating a member's key receives a key for LLM routes only
SELECT pg_temp.expect_eq('team admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-dl-ta-0000001')), true);
SELECT set_config('cases.k_regen', (SELECT key FROM rbac.key_regenerate('sk-dl-m-team-00001')), true);
RESET ROLE;
SELECT pg_temp.expect_eq('regenerated member key: LLM routes only',
  (SELECT allowed_routes FROM rbac.keys WHERE key_hash = pg_temp.h(current_setting('cases.k_regen'))), ARRAY['llm_api_routes']);
SELECT pg_temp.expect_check('regenerated key still serves LLM calls', current_setting('cases.k_regen'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('regenerated key cannot mint', current_setting('cases.k_regen'), '/key/generate', NULL, false, 'route_not_allowed');
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_eq('regenerated key authenticates', (SELECT allowed FROM rbac.authenticate(current_setting('cases.k_regen'))), true);
SELECT pg_temp.expect_error('regenerated key cannot mint through management', $$SELECT * FROM rbac.key_generate()$$, '42501');
SELECT pg_temp.expect_eq('regenerated key reads nothing through RLS', (SELECT count(*) FROM rbac.keys), 0::bigint);

-- F6b: an old key inside its grace period keeps LLM routes only
SELECT pg_temp.expect_eq('owner authenticates', (SELECT allowed FROM rbac.authenticate('sk-dl-ta-0000001')), true);
SELECT set_config('cases.k_new', (SELECT key FROM rbac.key_regenerate('sk-dl-ta-0000001', interval '1 hour')), true);
SELECT pg_temp.expect_check('old key in grace: LLM route', 'sk-dl-ta-0000001', '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('old key in grace: no management route', 'sk-dl-ta-0000001', '/key/generate', NULL, false, 'route_not_allowed');
SELECT pg_temp.expect_check('new key: management routes as before', current_setting('cases.k_new'), '/key/generate', NULL, true, 'ok');
SELECT pg_temp.expect_eq('old key still authenticates', (SELECT allowed FROM rbac.authenticate('sk-dl-ta-0000001')), true);
SELECT pg_temp.expect_error('old key cannot mint', $$SELECT * FROM rbac.key_generate()$$, '42501');
SELECT pg_temp.expect_error('old key cannot rotate its owner out', $$SELECT * FROM rbac.key_regenerate('sk-dl-ta-0000001')$$, '42501');
SELECT pg_temp.expect_eq('old key reads nothing through RLS', (SELECT count(*) FROM rbac.keys), 0::bigint);

-- B5: no user-id oracle, and no capturing another organization's users
RESET ROLE;
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-victim', 'internal_user'), ('u-free', 'internal_user');
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES ('o2', 'u-victim', 'internal_user');
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_eq('team admin authenticates again', (SELECT allowed FROM rbac.authenticate(current_setting('cases.k_new'))), true);
SELECT pg_temp.expect_error('unknown user: the same refusal', $$SELECT rbac.team_member_add('t-wide', 'nobody-xyz')$$, '42501');
SELECT pg_temp.expect_error('another organization''s user', $$SELECT rbac.team_member_add('t-wide', 'u-victim')$$, '42501');
SELECT pg_temp.expect_eq('a user of no organization can join', (SELECT user_id FROM rbac.team_member_add('t-wide', 'u-free')), 'u-free');
SELECT pg_temp.expect_eq('org admin authenticates for members', (SELECT allowed FROM rbac.authenticate('sk-dl-orgadm-0001')), true);
SELECT pg_temp.expect_error('org admin: unknown user', $$SELECT rbac.organization_member_add('o1', 'nobody-xyz')$$, '42501');
SELECT pg_temp.expect_error('org admin: another organization''s user', $$SELECT rbac.organization_member_add('o1', 'u-victim')$$, '42501');

-- F8: a taken id is refused like anything else the caller may not touch
SELECT pg_temp.expect_eq('org admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-dl-orgadm-0001')), true);
SELECT pg_temp.expect_error('another organization''s team id', $$SELECT rbac.team_new('t-other', organization_id => 'o1')$$, '42501');
SELECT pg_temp.expect_error('an existing user id', $$SELECT rbac.user_new('u-admin', organization_id => 'o1')$$, '42501');
SELECT pg_temp.expect_eq('a free id works', (SELECT team_id FROM rbac.team_new('t-new', organization_id => 'o1')), 't-new');
SELECT pg_temp.expect_eq('proxy admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-dl-admin-00001')), true);
SELECT pg_temp.expect_error('proxy admin sees duplicates as such', $$SELECT rbac.team_new('t-other')$$, '23505');
RESET ROLE;
