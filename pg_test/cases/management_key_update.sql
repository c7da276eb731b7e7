-- rbac.key_update (LiteLLM /key/update; docs/semantics.md §12.5): a proxy admin changes anything; below that the
-- key's owner, its team's admins and the org admins of its team's organization may only narrow a key — nobody
-- gives a key, their own included, more than it has. NULL leaves a column, clear resets one to "no limit".
INSERT INTO rbac.models(model_name) VALUES ('gpt-4o'), ('gpt-4o-mini'), ('claude-3');
INSERT INTO rbac.organizations(organization_id) VALUES ('o1');
INSERT INTO rbac.teams(team_id, organization_id, models) VALUES ('t1', 'o1', ARRAY['gpt-4o', 'gpt-4o-mini']);
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-admin', 'proxy_admin'), ('u-a', 'internal_user'), ('u-b', 'internal_user'),
  ('u-ta', 'internal_user');
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES ('o1', 'u-a', 'internal_user'), ('o1', 'u-ta', 'internal_user');
INSERT INTO rbac.team_members(team_id, user_id, role) VALUES ('t1', 'u-a', 'user'), ('t1', 'u-ta', 'admin');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-ku-admin-000001'), 'u-admin'), (pg_temp.h('sk-ku-b-00000001'), 'u-b'),
  (pg_temp.h('sk-ku-ta-0000001'), 'u-ta');
INSERT INTO rbac.keys(key_hash, user_id, team_id, models, max_budget, budget_duration, rpm_limit, tpm_limit, expires, metadata)
VALUES (pg_temp.h('sk-ku-a-team-0001'), 'u-a', 't1', ARRAY['gpt-4o', 'gpt-4o-mini'], 10, '30d', 100, 10000,
        now() + interval '30 days', '{"model_rpm_limit": {"gpt-4o": 5}}');
INSERT INTO rbac.keys(key_hash, user_id, max_budget) VALUES (pg_temp.h('sk-ku-a-pers-0001'), 'u-a', 20);

SET LOCAL ROLE rbac_api;
-- the owner narrows
SELECT pg_temp.expect_eq('owner authenticates', (SELECT allowed FROM rbac.authenticate('sk-ku-a-team-0001')), true);
SELECT pg_temp.expect_eq('owner lowers budget and limits, renames',
  (SELECT row(max_budget, rpm_limit, tpm_limit, key_alias)::text FROM rbac.key_update('sk-ku-a-team-0001', max_budget => 6,
     rpm_limit => 50, tpm_limit => 5000, key_alias => 'narrowed')),
  row(6::numeric, 50::bigint, 5000::bigint, 'narrowed')::text);
SELECT pg_temp.expect_eq('owner narrows models', (SELECT models FROM rbac.key_update('sk-ku-a-team-0001', models => ARRAY['gpt-4o-mini'])),
  ARRAY['gpt-4o-mini']);
SELECT pg_temp.expect_check('narrowed models apply at once', 'sk-ku-a-team-0001', '/chat/completions', 'gpt-4o', false, 'key_model_access_denied');
SELECT pg_temp.expect_eq('owner brings expiry closer',
  (SELECT expires < now() + interval '2 days' FROM rbac.key_update('sk-ku-a-team-0001', expires => now() + interval '1 day')), true);
SELECT pg_temp.expect_eq('an unset argument leaves the column (NULL is "as is")',
  (SELECT row(max_budget, budget_duration)::text FROM rbac.key_update('sk-ku-a-team-0001')), row(6::numeric, '30d')::text);
-- ... and cannot widen
SELECT pg_temp.expect_error('owner raises its budget', $$SELECT rbac.key_update('sk-ku-a-team-0001', max_budget => 11)$$, '42501');
SELECT pg_temp.expect_error('owner clears its budget', $$SELECT rbac.key_update('sk-ku-a-team-0001', clear => ARRAY['max_budget'])$$, '42501');
SELECT pg_temp.expect_error('owner raises rpm', $$SELECT rbac.key_update('sk-ku-a-team-0001', rpm_limit => 500)$$, '42501');
SELECT pg_temp.expect_error('owner widens models', $$SELECT rbac.key_update('sk-ku-a-team-0001', models => ARRAY['gpt-4o', 'gpt-4o-mini'])$$, '42501');
SELECT pg_temp.expect_error('owner clears models', $$SELECT rbac.key_update('sk-ku-a-team-0001', clear => ARRAY['models'])$$, '42501');
SELECT pg_temp.expect_error('owner pushes expiry out', $$SELECT rbac.key_update('sk-ku-a-team-0001', expires => now() + interval '90 days')$$, '42501');
SELECT pg_temp.expect_error('owner renews sooner', $$SELECT rbac.key_update('sk-ku-a-team-0001', budget_duration => '1d')$$, '42501');
SELECT pg_temp.expect_error('owner raises a per-model limit', $$SELECT rbac.key_update('sk-ku-a-team-0001', metadata => '{"model_rpm_limit": {"gpt-4o": 50}}')$$, '42501');
SELECT pg_temp.expect_eq('metadata without the limit keeps it',
  (SELECT metadata -> 'model_rpm_limit' ->> 'gpt-4o' FROM rbac.key_update('sk-ku-a-team-0001', metadata => '{"purpose": "x"}')), '5');
SELECT pg_temp.expect_error('owner sets routes', $$SELECT rbac.key_update('sk-ku-a-team-0001', allowed_routes => ARRAY['llm_api_routes'])$$, '42501');
SELECT pg_temp.expect_error('a bad clear entry', $$SELECT rbac.key_update('sk-ku-a-team-0001', clear => ARRAY['spend'])$$, '22023');
SELECT pg_temp.expect_error('an expiry in the past', $$SELECT rbac.key_update('sk-ku-a-team-0001', expires => now() - interval '1 hour')$$, '22023');
SELECT pg_temp.expect_eq('nothing of the refused updates stuck',
  (SELECT row(max_budget, rpm_limit, models)::text FROM rbac.keys WHERE key_hash = pg_temp.h('sk-ku-a-team-0001')),
  row(6::numeric, 50::bigint, ARRAY['gpt-4o-mini'])::text);
-- others
SELECT pg_temp.expect_eq('another user authenticates', (SELECT allowed FROM rbac.authenticate('sk-ku-b-00000001')), true);
SELECT pg_temp.expect_error('another user''s key', $$SELECT rbac.key_update('sk-ku-a-team-0001', max_budget => 1)$$, '42501');
SELECT pg_temp.expect_error('an unknown key (no probing)', $$SELECT rbac.key_update('sk-ku-nobody-00001', max_budget => 1)$$, '42501');
SELECT pg_temp.expect_eq('team admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-ku-ta-0000001')), true);
SELECT pg_temp.expect_eq('team admin lowers a member''s team key',
  (SELECT max_budget FROM rbac.key_update('sk-ku-a-team-0001', max_budget => 4)), 4::numeric);
SELECT pg_temp.expect_error('team admin: not a personal key of the member', $$SELECT rbac.key_update('sk-ku-a-pers-0001', max_budget => 1)$$, '42501');
SELECT pg_temp.expect_error('team admin raises a member''s team key', $$SELECT rbac.key_update('sk-ku-a-team-0001', max_budget => 9)$$, '42501');
-- a proxy admin changes anything
SELECT pg_temp.expect_eq('admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-ku-admin-000001')), true);
SELECT pg_temp.expect_eq('admin raises, clears and sets routes',
  (SELECT row(max_budget, rpm_limit, allowed_routes)::text FROM rbac.key_update('sk-ku-a-team-0001', max_budget => 100,
     allowed_routes => ARRAY['llm_api_routes'], clear => ARRAY['rpm_limit'])),
  row(100::numeric, NULL::bigint, ARRAY['llm_api_routes'])::text);
SELECT pg_temp.expect_error('admin: an unknown key', $$SELECT rbac.key_update('sk-ku-nobody-00001', max_budget => 1)$$, '22023');
RESET ROLE;
SELECT pg_temp.expect_eq('every update audited with its actor',
  (SELECT array_agg(DISTINCT actor ORDER BY actor) FROM rbac.audit_log WHERE table_name = 'keys' AND action = 'updated'
     AND object_id = pg_temp.h('sk-ku-a-team-0001')), ARRAY['u-a', 'u-admin', 'u-ta']);

-- a lower budget on a key whose budget came from another key gives the difference back
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('personal key authenticates', (SELECT allowed FROM rbac.authenticate('sk-ku-a-pers-0001')), true);
SELECT set_config('cases.child', (SELECT key FROM rbac.key_generate(max_budget => 8)), true);
SELECT rbac.key_update(current_setting('cases.child'), max_budget => 3);
RESET ROLE;
SELECT pg_temp.expect_eq('parent: 20 - 8 + 5 back',
  (SELECT max_budget FROM rbac.keys WHERE key_hash = pg_temp.h('sk-ku-a-pers-0001')), 17::numeric);

-- ... but never what the key has spent or holds for requests in flight (review: budget laundering)
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('personal key authenticates again', (SELECT allowed FROM rbac.authenticate('sk-ku-a-pers-0001')), true);
SELECT set_config('cases.child2', (SELECT key FROM rbac.key_generate(max_budget => 4)), true);
SELECT pg_temp.expect_quota('the child holds 3.9 for a request in flight', current_setting('cases.child2'), 'gpt-4o', 1, 10, 3.9, true, 'ok');
SELECT rbac.key_update(current_setting('cases.child2'), max_budget => 0);
RESET ROLE;
SELECT pg_temp.expect_eq('parent: 17 - 4 + only the 0.1 neither spent nor held',
  (SELECT max_budget FROM rbac.keys WHERE key_hash = pg_temp.h('sk-ku-a-pers-0001')), 13.1::numeric);
