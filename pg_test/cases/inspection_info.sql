-- Inspection (docs/inspection.md): rbac.key_info / team_info / user_info / organization_info, rbac.access_groups,
-- rbac.access_group_info and rbac.allowed_models, run as the non-superusers rbac_admin and rbac_api with each kind
-- of principal (proxy admin, viewer, org admin, team admin, member, route-limited key, JWT user, none). Values are
-- asserted exactly; foreign and unknown objects alike give 42501; allowed_models equals rbac_check per model.
CREATE FUNCTION pg_temp.j(v jsonb, VARIADIC path text[]) RETURNS text LANGUAGE sql AS $$ SELECT v #>> path $$;
-- the sorted list of a jsonb array's elements (or of one field of its objects), comma-joined
CREATE FUNCTION pg_temp.ls(v jsonb, field text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(x, ',' ORDER BY x), '')
  FROM jsonb_array_elements(v) e, LATERAL (SELECT CASE WHEN field IS NULL THEN e #>> '{}' ELSE e ->> field END) s(x)
$$;

INSERT INTO rbac.models(model_name, provider, access_groups) VALUES
  ('gpt-4o', 'openai', ARRAY['prod']), ('gpt-4o-mini', 'openai', ARRAY['prod', 'cheap']),
  ('claude-3', 'anthropic', ARRAY['cheap']), ('mistral-large', 'mistral', '{}'), ('bedrock/*', 'bedrock', '{}');
INSERT INTO rbac.organizations(organization_id, organization_alias, models, max_budget, spend, rpm_limit) VALUES
  ('o1', 'Org One', ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-3'], 100, 40, 1000), ('o2', NULL, '{}', NULL, 0, NULL);
INSERT INTO rbac.teams(team_id, team_alias, organization_id, models, max_budget, spend, budget_duration, budget_reset_at, rpm_limit) VALUES
  ('t1', 'Team One', 'o1', ARRAY['gpt-4o', 'gpt-4o-mini'], 50, 20, '30d', now() + interval '10 days', 100),
  ('t2', 'Lapsed', 'o1', '{}', 10, 9, '1d', now() - interval '1 hour', NULL),
  ('t3', NULL, 'o2', '{}', NULL, 0, NULL, NULL, NULL);
INSERT INTO rbac.users(user_id, user_email, user_role, max_budget, spend) VALUES
  ('u-admin', NULL, 'proxy_admin', NULL, 0), ('u-viewer', NULL, 'proxy_admin_viewer', NULL, 0),
  ('u-orgadm', NULL, 'internal_user', NULL, 0), ('u-ta', NULL, 'internal_user', NULL, 0),
  ('u-a', 'a@example.test', 'internal_user', 30, 7.5), ('u-b', NULL, 'internal_user', NULL, 0);
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES
  ('o1', 'u-orgadm', 'org_admin'), ('o1', 'u-a', 'internal_user'), ('o2', 'u-b', 'internal_user');
INSERT INTO rbac.team_members(team_id, user_id, role, max_budget, spend, allowed_models) VALUES
  ('t1', 'u-ta', 'admin', NULL, 0, '{}'), ('t1', 'u-a', 'user', 5, 2, ARRAY['gpt-4o-mini']),
  ('t3', 'u-b', 'admin', NULL, 0, '{}');
INSERT INTO rbac.keys(key_hash, key_name, user_id, team_id, organization_id, models, max_budget, spend, allowed_routes) VALUES
  (pg_temp.h('sk-ins-admin-0000001'), 'sk-...0001', 'u-admin', NULL, NULL, '{}', NULL, 0, '{}'),
  (pg_temp.h('sk-ins-viewer-000002'), 'sk-...0002', 'u-viewer', NULL, NULL, '{}', NULL, 0, '{}'),
  (pg_temp.h('sk-ins-orgadm-000003'), 'sk-...0003', 'u-orgadm', NULL, 'o1', '{}', NULL, 0, '{}'),
  (pg_temp.h('sk-ins-ta-0000000004'), 'sk-...0004', 'u-ta', 't1', NULL, '{}', NULL, 0, '{}'),
  (pg_temp.h('sk-ins-a-team-000005'), 'sk-...0005', 'u-a', 't1', NULL, '{}', 3, 1, '{}'),
  (pg_temp.h('sk-ins-a-own-0000006'), 'sk-...0006', 'u-a', NULL, NULL, ARRAY['claude-3', 'mistral-large'], NULL, 0, '{}'),
  (pg_temp.h('sk-ins-a-llm-0000007'), 'sk-...0007', 'u-a', 't1', NULL, '{}', NULL, 0, ARRAY['llm_api_routes']),
  (pg_temp.h('sk-ins-b-000000008'), 'sk-...0008', 'u-b', 't3', NULL, '{}', NULL, 0, '{}'),
  (pg_temp.h('sk-ins-t2-00000009'), 'sk-...0009', NULL, 't2', NULL, '{}', NULL, 0, '{}');
INSERT INTO rbac.keys(key_hash, key_name, user_id, blocked, expires) VALUES
  (pg_temp.h('sk-ins-blocked-00010'), 'sk-...0010', 'u-b', true, NULL),
  (pg_temp.h('sk-ins-expired-00011'), 'sk-...0011', 'u-b', false, now() - interval '1 day');
INSERT INTO rbac.deprecated_keys(key_hash, active_key_hash, revoke_at) VALUES
  (pg_temp.h('sk-ins-a-old-0000012'), pg_temp.h('sk-ins-a-team-000005'), now() + interval '1 hour');
SELECT set_config('cases.n_keys', (SELECT count(*) FROM rbac.keys)::text, true);

---------------------------------------------------------------------------------------------------------------
-- rbac_admin without a principal: everything, exact values
---------------------------------------------------------------------------------------------------------------
SET LOCAL ROLE rbac_admin;
SELECT set_config('cases.ka', (SELECT rbac.key_info('sk-ins-a-team-000005'))::text, true);
SELECT pg_temp.expect_eq('key_info key is the hash', pg_temp.j(current_setting('cases.ka')::jsonb, 'key'), pg_temp.h('sk-ins-a-team-000005'));
SELECT pg_temp.expect_eq('key_info token is the hash', pg_temp.j(current_setting('cases.ka')::jsonb, 'info', 'token'), pg_temp.h('sk-ins-a-team-000005'));
SELECT pg_temp.expect_eq('key_info spend/max/remaining',
  (SELECT row(i->'spend', i->'max_budget', i->'remaining_budget', i->>'team_id', i->>'user_id', i->>'key_name', i->'expired', i->'blocked')::text
   FROM (SELECT current_setting('cases.ka')::jsonb -> 'info' AS i) s),
  row('1'::jsonb, '3'::jsonb, '2'::jsonb, 't1', 'u-a', 'sk-...0005', 'false'::jsonb, 'false'::jsonb)::text);
SELECT pg_temp.expect_eq('key_info never shows a plaintext', strpos(current_setting('cases.ka'), 'sk-ins-'), 0);
SELECT pg_temp.expect_eq('key_info by hash = by plaintext', rbac.key_info(upper(pg_temp.h('sk-ins-a-team-000005'))), current_setting('cases.ka')::jsonb);
SELECT pg_temp.expect_eq('deprecated key in grace shows its successor', rbac.key_info('sk-ins-a-old-0000012'), current_setting('cases.ka')::jsonb);
SELECT pg_temp.expect_eq('expired key flagged', pg_temp.j(rbac.key_info('sk-ins-expired-00011'), 'info', 'expired'), 'true');
SELECT pg_temp.expect_eq('blocked key flagged', pg_temp.j(rbac.key_info('sk-ins-blocked-00010'), 'info', 'blocked'), 'true');
SELECT pg_temp.expect_error('key_info malformed key', $$SELECT rbac.key_info('not-a-key')$$, '22023');
SELECT pg_temp.expect_error('key_info NULL', $$SELECT rbac.key_info(NULL)$$, '22023');
SELECT pg_temp.expect_error('key_info unknown key (admin)', $$SELECT rbac.key_info('sk-ins-nope-0000000')$$, '42501');

SELECT set_config('cases.t1', (SELECT rbac.team_info('t1'))::text, true);
SELECT pg_temp.expect_eq('team_info budget fields',
  (SELECT row(i->'spend', i->'max_budget', i->'remaining_budget', i->>'budget_duration', i->'rpm_limit', i->>'organization_id', i->>'team_alias')::text
   FROM (SELECT current_setting('cases.t1')::jsonb -> 'team_info' AS i) s),
  row('20'::jsonb, '50'::jsonb, '30'::jsonb, '30d', '100'::jsonb, 'o1', 'Team One')::text);
SELECT pg_temp.expect_eq('team_info budget_reset_at', (pg_temp.j(current_setting('cases.t1')::jsonb, 'team_info', 'budget_reset_at'))::timestamptz,
  (SELECT budget_reset_at FROM rbac.teams WHERE team_id = 't1'));
SELECT pg_temp.expect_eq('team_info members_with_roles', current_setting('cases.t1')::jsonb #> '{team_info,members_with_roles}',
  '[{"role": "user", "user_id": "u-a"}, {"role": "admin", "user_id": "u-ta"}]'::jsonb);
SELECT pg_temp.expect_eq('team_info keys (hashes)', pg_temp.ls(current_setting('cases.t1')::jsonb -> 'keys', 'token'),
  (SELECT string_agg(x, ',' ORDER BY x) FROM unnest(ARRAY[pg_temp.h('sk-ins-ta-0000000004'), pg_temp.h('sk-ins-a-team-000005'), pg_temp.h('sk-ins-a-llm-0000007')]) x));
SELECT pg_temp.expect_eq('team_info membership of u-a',
  (SELECT m - 'budget_reset_at' FROM jsonb_array_elements(current_setting('cases.t1')::jsonb -> 'team_memberships') m WHERE m->>'user_id' = 'u-a'),
  '{"role": "user", "spend": 2, "team_id": "t1", "user_id": "u-a", "rpm_limit": null, "tpm_limit": null, "max_budget": 5,
    "allowed_models": ["gpt-4o-mini"], "budget_duration": null, "remaining_budget": 3}'::jsonb);
-- a lapsed period counts 0 and shows its next reset (the row itself is reset by the next check)
SELECT pg_temp.expect_eq('lapsed team: spend 0, remaining = max_budget',
  (SELECT row(i->'spend', i->'remaining_budget', (i->>'budget_reset_at')::timestamptz > now())::text FROM (SELECT rbac.team_info('t2') -> 'team_info' AS i) s),
  row('0'::jsonb, '10'::jsonb, true)::text);
SELECT pg_temp.expect_eq('lapsed team row untouched by team_info', (SELECT spend FROM rbac.teams WHERE team_id = 't2'), 9::numeric);
SELECT pg_temp.expect_eq('organization_info',
  (SELECT row(o->'spend', o->'max_budget', o->'remaining_budget', o->>'organization_alias', pg_temp.ls(o->'teams', 'team_id'), o->'members')::text
   FROM (SELECT rbac.organization_info('o1') AS o) s),
  row('40'::jsonb, '100'::jsonb, '60'::jsonb, 'Org One', 't1,t2',
      '[{"user_id": "u-a", "user_role": "internal_user"}, {"user_id": "u-orgadm", "user_role": "org_admin"}]'::jsonb)::text);
SELECT pg_temp.expect_eq('organization without budget: remaining NULL', pg_temp.j(rbac.organization_info('o2'), 'remaining_budget'), NULL::text);
SELECT pg_temp.expect_eq('user_info',
  (SELECT row(u #>> '{user_info,user_email}', u #> '{user_info,spend}', u #> '{user_info,remaining_budget}', u #> '{user_info,teams}',
              jsonb_array_length(u->'keys'), u->'teams', u->'organizations')::text FROM (SELECT rbac.user_info('u-a') AS u) s),
  row('a@example.test', '7.5'::jsonb, '22.5'::jsonb, '["t1"]'::jsonb, 3,
      '[{"role": "user", "team_id": "t1", "team_alias": "Team One"}]'::jsonb,
      '[{"user_role": "internal_user", "organization_id": "o1"}]'::jsonb)::text);
SELECT pg_temp.expect_error('team_info unknown (admin)', $$SELECT rbac.team_info('t-nope')$$, '42501');
SELECT pg_temp.expect_error('user_info unknown (admin)', $$SELECT rbac.user_info('u-nope')$$, '42501');
SELECT pg_temp.expect_error('organization_info unknown (admin)', $$SELECT rbac.organization_info(NULL)$$, '42501');
SELECT pg_temp.expect_eq('access_groups view',
  (SELECT string_agg(access_group || '=' || array_to_string(models, '+'), ' ' ORDER BY access_group) FROM rbac.access_groups),
  'cheap=claude-3+gpt-4o-mini prod=gpt-4o+gpt-4o-mini');
SELECT pg_temp.expect_eq('access_group_info', rbac.access_group_info('cheap'),
  '{"access_group": "cheap", "models": ["claude-3", "gpt-4o-mini"], "deployments": [{"model_name": "claude-3", "provider": "anthropic"}, {"model_name": "gpt-4o-mini", "provider": "openai"}]}'::jsonb);
SELECT pg_temp.expect_error('access_group_info unknown', $$SELECT rbac.access_group_info('nope')$$, '22023');

-- allowed_models = rbac_check, model by model, for every catalogue model and many kinds of token
CREATE TEMP TABLE am_tokens(name text, token text);
INSERT INTO am_tokens VALUES ('admin', 'sk-ins-admin-0000001'), ('orgadm', 'sk-ins-orgadm-000003'),
  ('ta', 'sk-ins-ta-0000000004'), ('a-team', 'sk-ins-a-team-000005'), ('a-own', 'sk-ins-a-own-0000006'),
  ('a-llm', 'sk-ins-a-llm-0000007'), ('b', 'sk-ins-b-000000008'), ('blocked', 'sk-ins-blocked-00010'),
  ('expired', 'sk-ins-expired-00011'), ('grace', 'sk-ins-a-old-0000012'), ('unknown', 'sk-ins-nope-0000000'),
  ('garbage', 'not a token'), ('null', NULL);
INSERT INTO am_tokens SELECT t.name, t.token FROM pg_temp.tok t;
GRANT SELECT ON am_tokens TO PUBLIC;
SELECT pg_temp.expect_eq('allowed_models = rbac_check for ' || t.name,
  array(SELECT rbac.allowed_models(t.token)),
  array(SELECT m.model_name FROM rbac.models m WHERE (rbac.rbac_check(t.token, '/chat/completions', m.model_name)).allowed ORDER BY 1))
FROM am_tokens t ORDER BY t.name;
SELECT pg_temp.expect_eq('some JWT token gets models', (SELECT bool_or(EXISTS (SELECT rbac.allowed_models(t.token))) FROM pg_temp.tok t), true);
SELECT pg_temp.expect_eq('allowed_models: member ∩ team', array(SELECT rbac.allowed_models('sk-ins-a-team-000005')), ARRAY['gpt-4o-mini']);
SELECT pg_temp.expect_eq('allowed_models: personal key list', array(SELECT rbac.allowed_models('sk-ins-a-own-0000006')), ARRAY['claude-3', 'mistral-large']);
SELECT pg_temp.expect_eq('allowed_models: team within org', array(SELECT rbac.allowed_models('sk-ins-ta-0000000004')), ARRAY['gpt-4o', 'gpt-4o-mini']);
SELECT pg_temp.expect_eq('allowed_models: admin all', array(SELECT rbac.allowed_models('sk-ins-admin-0000001')), ARRAY['bedrock/*', 'claude-3', 'gpt-4o', 'gpt-4o-mini', 'mistral-large']);
SELECT pg_temp.expect_eq('allowed_models: blocked none', array(SELECT rbac.allowed_models('sk-ins-blocked-00010')), '{}'::text[]);
SELECT pg_temp.expect_eq('allowed_models: unknown none', array(SELECT rbac.allowed_models('sk-ins-nope-0000000')), '{}'::text[]);
-- a key over budget may call nothing (the budget gate applies to /chat/completions)
UPDATE rbac.keys SET spend = 3 WHERE key_hash = pg_temp.h('sk-ins-a-team-000005');
SELECT pg_temp.expect_eq('allowed_models: exhausted key none', array(SELECT rbac.allowed_models('sk-ins-a-team-000005')), '{}'::text[]);
SELECT pg_temp.expect_eq('exhausted: key_info remaining 0', pg_temp.j(rbac.key_info('sk-ins-a-team-000005'), 'info', 'remaining_budget'), '0');
UPDATE rbac.keys SET spend = 1 WHERE key_hash = pg_temp.h('sk-ins-a-team-000005');

---------------------------------------------------------------------------------------------------------------
-- rbac_api without a principal: nothing
---------------------------------------------------------------------------------------------------------------
RESET ROLE;
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_error('no principal: key_info', $$SELECT rbac.key_info('sk-ins-a-team-000005')$$, '42501');
SELECT pg_temp.expect_error('no principal: team_info', $$SELECT rbac.team_info('t1')$$, '42501');
SELECT pg_temp.expect_error('no principal: user_info', $$SELECT rbac.user_info('u-a')$$, '42501');
SELECT pg_temp.expect_error('no principal: organization_info', $$SELECT rbac.organization_info('o1')$$, '42501');
SELECT pg_temp.expect_eq('no principal: access_groups empty', (SELECT count(*) FROM rbac.access_groups), 0::bigint);
SELECT pg_temp.expect_error('no principal: access_group_info', $$SELECT rbac.access_group_info('cheap')$$, '22023');
SELECT pg_temp.expect_eq('no principal: allowed_models still answers for the token', array(SELECT rbac.allowed_models('sk-ins-a-team-000005')), ARRAY['gpt-4o-mini']);

---------------------------------------------------------------------------------------------------------------
-- proxy admin and viewer principals: everything
---------------------------------------------------------------------------------------------------------------
SELECT pg_temp.expect_eq('admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-ins-admin-0000001')), true);
SELECT pg_temp.expect_eq('admin: team_info = rbac_admin''s', rbac.team_info('t1'), current_setting('cases.t1')::jsonb);
SELECT pg_temp.expect_eq('admin: key_info of anyone', pg_temp.j(rbac.key_info('sk-ins-b-000000008'), 'info', 'user_id'), 'u-b');
SELECT pg_temp.expect_error('admin: unknown team', $$SELECT rbac.team_info('t-nope')$$, '42501');
SELECT pg_temp.expect_eq('admin: access_groups', (SELECT count(*) FROM rbac.access_groups), 2::bigint);
SELECT pg_temp.expect_eq('viewer authenticates', (SELECT allowed FROM rbac.authenticate('sk-ins-viewer-000002')), true);
SELECT pg_temp.expect_eq('viewer: team_info of any team', pg_temp.j(rbac.team_info('t3'), 'team_id'), 't3');
SELECT pg_temp.expect_eq('viewer: user_info of anyone', jsonb_array_length(rbac.user_info('u-b') -> 'keys'), 3);
SELECT pg_temp.expect_eq('viewer: organization_info', pg_temp.ls(rbac.organization_info('o2') -> 'members', 'user_id'), 'u-b');

---------------------------------------------------------------------------------------------------------------
-- org admin of o1: o1, its teams, their members and keys; nothing of o2
---------------------------------------------------------------------------------------------------------------
SELECT pg_temp.expect_eq('org admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-ins-orgadm-000003')), true);
SELECT pg_temp.expect_eq('org admin: own org with all members', pg_temp.ls(rbac.organization_info('o1') -> 'members', 'user_id'), 'u-a,u-orgadm');
SELECT pg_temp.expect_eq('org admin: its team with every key', jsonb_array_length(rbac.team_info('t1') -> 'keys'), 3);
SELECT pg_temp.expect_eq('org admin: member of its org', pg_temp.j(rbac.user_info('u-a'), 'user_info', 'user_email'), 'a@example.test');
SELECT pg_temp.expect_eq('org admin: key of its team', pg_temp.j(rbac.key_info('sk-ins-ta-0000000004'), 'info', 'user_id'), 'u-ta');
SELECT pg_temp.expect_error('org admin: foreign org', $$SELECT rbac.organization_info('o2')$$, '42501');
SELECT pg_temp.expect_error('org admin: unknown org', $$SELECT rbac.organization_info('o-nope')$$, '42501');
SELECT pg_temp.expect_error('org admin: foreign team', $$SELECT rbac.team_info('t3')$$, '42501');
SELECT pg_temp.expect_error('org admin: unknown team', $$SELECT rbac.team_info('t-nope')$$, '42501');
SELECT pg_temp.expect_error('org admin: foreign user', $$SELECT rbac.user_info('u-b')$$, '42501');
SELECT pg_temp.expect_error('org admin: foreign key', $$SELECT rbac.key_info('sk-ins-b-000000008')$$, '42501');
SELECT pg_temp.expect_error('org admin: unknown key', $$SELECT rbac.key_info('sk-ins-nope-0000000')$$, '42501');

---------------------------------------------------------------------------------------------------------------
-- team admin of t1: the roster and every key of t1
---------------------------------------------------------------------------------------------------------------
SELECT pg_temp.expect_eq('team admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-ins-ta-0000000004')), true);
SELECT pg_temp.expect_eq('team admin: roster', pg_temp.ls(rbac.team_info('t1') #> '{team_info,members_with_roles}', 'user_id'), 'u-a,u-ta');
SELECT pg_temp.expect_eq('team admin: every key of the team', jsonb_array_length(rbac.team_info('t1') -> 'keys'), 3);
SELECT pg_temp.expect_eq('team admin: member''s team key', pg_temp.j(rbac.key_info('sk-ins-a-team-000005'), 'info', 'spend'), '1');
SELECT pg_temp.expect_eq('team admin: member''s user_info shows only what RLS shows (team key only)',
  pg_temp.ls(rbac.user_info('u-a') -> 'keys', 'key_name'), 'sk-...0005,sk-...0007');
SELECT pg_temp.expect_error('team admin: member''s personal key', $$SELECT rbac.key_info('sk-ins-a-own-0000006')$$, '42501');
SELECT pg_temp.expect_error('team admin: other team', $$SELECT rbac.team_info('t2')$$, '42501');
SELECT pg_temp.expect_error('team admin: foreign user', $$SELECT rbac.user_info('u-b')$$, '42501');

---------------------------------------------------------------------------------------------------------------
-- plain member u-a: itself, its own keys; the team without the roster
---------------------------------------------------------------------------------------------------------------
SELECT pg_temp.expect_eq('member authenticates', (SELECT allowed FROM rbac.authenticate('sk-ins-a-own-0000006')), true);
SELECT pg_temp.expect_eq('member: own user_info, all own keys', jsonb_array_length(rbac.user_info('u-a') -> 'keys'), 3);
SELECT pg_temp.expect_eq('member: team shows only itself', rbac.team_info('t1') #> '{team_info,members_with_roles}', '[{"role": "user", "user_id": "u-a"}]'::jsonb);
SELECT pg_temp.expect_eq('member: team keys are its own only', pg_temp.ls(rbac.team_info('t1') -> 'keys', 'key_name'), 'sk-...0005,sk-...0007');
SELECT pg_temp.expect_eq('member: team budget visible', pg_temp.j(rbac.team_info('t1'), 'team_info', 'remaining_budget'), '30');
SELECT pg_temp.expect_eq('member: org shows only itself', pg_temp.ls(rbac.organization_info('o1') -> 'members', 'user_id'), 'u-a');
SELECT pg_temp.expect_error('member: team admin''s key', $$SELECT rbac.key_info('sk-ins-ta-0000000004')$$, '42501');
SELECT pg_temp.expect_error('member: team admin''s user row', $$SELECT rbac.user_info('u-ta')$$, '42501');
SELECT pg_temp.expect_error('member: foreign team', $$SELECT rbac.team_info('t3')$$, '42501');
SELECT pg_temp.expect_error('member: unknown team', $$SELECT rbac.team_info('t-nope')$$, '42501');
SELECT pg_temp.expect_error('member: foreign org', $$SELECT rbac.organization_info('o2')$$, '42501');
SELECT pg_temp.expect_eq('member: access groups readable', (SELECT count(*) FROM rbac.access_groups), 2::bigint);
SELECT pg_temp.expect_eq('member: access_group_info', rbac.access_group_info('prod') -> 'models', '["gpt-4o", "gpt-4o-mini"]'::jsonb);

-- a key whose allowed_routes exclude /key/info reads nothing, not even itself
SELECT pg_temp.expect_eq('llm-only key authenticates', (SELECT allowed FROM rbac.authenticate('sk-ins-a-llm-0000007')), true);
SELECT pg_temp.expect_error('llm-only key: own key_info', $$SELECT rbac.key_info('sk-ins-a-llm-0000007')$$, '42501');
SELECT pg_temp.expect_error('llm-only key: own user_info', $$SELECT rbac.user_info('u-a')$$, '42501');

-- a JWT principal (internal_user without a user row of this case): no tenant object
SELECT pg_temp.expect_eq('JWT user authenticates', (SELECT allowed FROM rbac.authenticate(pg_temp.tokn('kc_user_no_team'))), true);
SELECT pg_temp.expect_error('JWT user: foreign key', $$SELECT rbac.key_info('sk-ins-a-team-000005')$$, '42501');
SELECT pg_temp.expect_error('JWT user: foreign team', $$SELECT rbac.team_info('t1')$$, '42501');
SELECT pg_temp.expect_eq('JWT user: access groups readable', (SELECT count(*) FROM rbac.access_groups), 2::bigint);

-- management-style lint is refused to every non-admin principal
SELECT pg_temp.expect_error('JWT user: policy_lint refused', $$SELECT * FROM rbac.policy_lint()$$, '42501');

-- nothing was changed by inspection
RESET ROLE;
SELECT pg_temp.expect_eq('keys unchanged', (SELECT count(*) FROM rbac.keys)::text, current_setting('cases.n_keys'));
