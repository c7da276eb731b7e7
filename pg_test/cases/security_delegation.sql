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
SELECT pg_temp.expect_error('a user of no organization cannot join a team of an organization', $$SELECT rbac.team_member_add('t-wide', 'u-free')$$, '42501');
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

-- Second review (N1-N5): routes, per-model limits, in-flight requests and member additions
RESET ROLE;
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-r', 'internal_user');
INSERT INTO rbac.keys(key_hash, user_id, allowed_routes, metadata, max_budget) VALUES
  (pg_temp.h('sk-dl-r-routes-0001'), 'u-r', ARRAY['/key/generate', '/chat/completions', '/key/delete'],
   '{"model_rpm_limit": {"gpt-4o-mini": 2}}', 10);
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_eq('route-limited key authenticates', (SELECT allowed FROM rbac.authenticate('sk-dl-r-routes-0001')), true);
-- N1: the new key gets the caller's allowed_routes
SELECT set_config('cases.k_r', (SELECT key FROM rbac.key_generate(max_budget => 4)), true);
SELECT pg_temp.expect_check('child: a route the parent has', current_setting('cases.k_r'), '/chat/completions', 'gpt-4o-mini', true, 'ok');
SELECT pg_temp.expect_check('child: a route the parent lacks', current_setting('cases.k_r'), '/embeddings', 'gpt-4o-mini', false, 'route_not_allowed');
SELECT pg_temp.expect_check('child: no /key/info either', current_setting('cases.k_r'), '/key/info', NULL, false, 'route_not_allowed');
-- N2: per-model limits are inherited and may not be raised
RESET ROLE;   -- (the route-limited principal reads nothing through RLS; the principal stays across SET ROLE)
SELECT pg_temp.expect_eq('child inherits the per-model limit',
  (SELECT metadata -> 'model_rpm_limit' ->> 'gpt-4o-mini' FROM rbac.keys WHERE key_hash = pg_temp.h(current_setting('cases.k_r'))), '2');
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_error('a higher per-model limit', $$SELECT * FROM rbac.key_generate(max_budget => 1, metadata => '{"model_rpm_limit": {"gpt-4o-mini": 50}}')$$, '42501');
SELECT pg_temp.expect_error('metadata that is not an object', $$SELECT * FROM rbac.key_generate(max_budget => 1, metadata => '[1]')$$, '22023');
SELECT set_config('cases.k_r2', (SELECT key FROM rbac.key_generate(max_budget => 1, metadata => '{"model_rpm_limit": {"gpt-4o-mini": 1, "gpt-4o": 3}}')), true);
RESET ROLE;
SELECT pg_temp.expect_eq('a lower limit and limits on other models stay',
  (SELECT metadata -> 'model_rpm_limit' FROM rbac.keys WHERE key_hash = pg_temp.h(current_setting('cases.k_r2'))),
  '{"gpt-4o": 3, "gpt-4o-mini": 1}'::jsonb);
SET LOCAL ROLE atk_proxy;
-- N3: deleting a key with a request in flight: the request settles against the key its budget went back to
SELECT set_config('cases.rid', pg_temp.expect_quota('child request in flight', current_setting('cases.k_r'), 'gpt-4o-mini', 1, 10, 4, true, 'ok')::text, true);
SELECT rbac.key_delete(current_setting('cases.k_r'));
SELECT rbac.settle(current_setting('cases.rid')::uuid, 5, 5, 4);
RESET ROLE;
SELECT pg_temp.expect_eq('the parent regained the budget and carries the spend',
  (SELECT row(max_budget, spend, reserved)::text FROM rbac.keys WHERE key_hash = pg_temp.h('sk-dl-r-routes-0001')),
  row(9::numeric, 4::numeric, 0::numeric)::text);
-- N5: regenerating a key with a request in flight keeps its counters right
INSERT INTO rbac.keys(key_hash, user_id, max_budget, max_parallel_requests) VALUES (pg_temp.h('sk-dl-r-inflight-01'), 'u-r', 5, 1);
SET LOCAL ROLE atk_proxy;
SELECT set_config('cases.rid2', pg_temp.expect_quota('request in flight', 'sk-dl-r-inflight-01', 'gpt-4o-mini', 1, 10, 2, true, 'ok')::text, true);
SELECT pg_temp.expect_eq('owner authenticates', (SELECT allowed FROM rbac.authenticate('sk-dl-r-inflight-01')), true);
SELECT set_config('cases.k_rot', (SELECT key FROM rbac.key_regenerate('sk-dl-r-inflight-01')), true);
SELECT rbac.settle(current_setting('cases.rid2')::uuid, 1, 1, 2);
RESET ROLE;
SELECT pg_temp.expect_eq('the rotated key: slot freed, nothing reserved, spend recorded',
  (SELECT row(in_flight, reserved, spend)::text FROM rbac.keys WHERE key_hash = pg_temp.h(current_setting('cases.k_rot'))),
  row(0::bigint, 0::numeric, 2::numeric)::text);
-- N4: no proxy admins, no users outside the team's organization
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES ('o1', 'u-free', 'internal_user');
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_eq('org admin authenticates for N4', (SELECT allowed FROM rbac.authenticate('sk-dl-orgadm-0001')), true);
SELECT pg_temp.expect_eq('org admin: a team of its own', (SELECT team_id FROM rbac.team_new('t-trap', organization_id => 'o1')), 't-trap');
SELECT pg_temp.expect_error('org admin: a proxy admin into its team', $$SELECT rbac.team_member_add('t-trap', 'u-admin')$$, '42501');
SELECT pg_temp.expect_error('org admin: a user of no organization into its team', $$SELECT rbac.team_member_add('t-trap', 'u-r')$$, '42501');
SELECT pg_temp.expect_error('org admin: a proxy admin into its organization', $$SELECT rbac.organization_member_add('o1', 'u-admin')$$, '42501');
SELECT pg_temp.expect_eq('org admin: a member of its organization', (SELECT user_id FROM rbac.team_member_add('t-trap', 'u-free')), 'u-free');
RESET ROLE;
-- I4: where a budget came from is audited
SELECT pg_temp.expect_eq('re-parenting is audited',
  (SELECT count(*) > 0 FROM rbac.audit_log WHERE table_name = 'keys' AND action = 'updated'
     AND (before ->> 'budget_from_key') IS DISTINCT FROM (after ->> 'budget_from_key')), true);
-- I1: no Rust backtrace reaches a client (the test cluster runs with RUST_BACKTRACE=1)
CREATE FUNCTION pg_temp.error_detail(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
  EXECUTE stmt;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
  RETURN coalesce(d, '');
END $$;
SELECT pg_temp.expect_eq('management error: no backtrace in DETAIL',
  pg_temp.error_detail($$SELECT rbac.team_new('t-other')$$) ~ '(\.rs:|backtrace|rust_begin)', false);
SELECT pg_temp.expect_eq('rbac_check error: no backtrace in DETAIL',
  pg_temp.error_detail($$SELECT rbac.rbac_check('sk-x', '')$$) ~ '(\.rs:|backtrace|rust_begin)', false);
