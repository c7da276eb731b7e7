-- Key management functions through rbac_api (docs/semantics.md §12, docs/semantics.md §12.4–§12.5): generate, regenerate
-- with grace, block/unblock, delete, for proxy admins, team admins, org admins and key owners.
CREATE FUNCTION pg_temp.s(name text) RETURNS text LANGUAGE sql AS $$ SELECT current_setting('cases.' || name) $$;

INSERT INTO rbac.models(model_name, provider) VALUES ('gpt-4o', 'openai'), ('gpt-4o-mini', 'openai'), ('claude-3', 'anthropic');
INSERT INTO rbac.organizations(organization_id) VALUES ('o1');
INSERT INTO rbac.teams(team_id, organization_id, models) VALUES ('t1', 'o1', ARRAY['gpt-4o', 'gpt-4o-mini']);
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-admin', 'proxy_admin'), ('u-ta', 'internal_user'),
  ('u-a', 'internal_user'), ('u-b', 'internal_user'), ('u-orgadm', 'internal_user');
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES ('o1', 'u-orgadm', 'org_admin');
INSERT INTO rbac.team_members(team_id, user_id, role) VALUES ('t1', 'u-ta', 'admin'), ('t1', 'u-a', 'user');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-mk-admin-0000001'), 'u-admin'), (pg_temp.h('sk-mk-ta-00000001'), 'u-ta'),
  (pg_temp.h('sk-mk-a-000000001'), 'u-a'), (pg_temp.h('sk-mk-orgadm-00001'), 'u-orgadm');

SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-mk-admin-0000001')), true);

-- generate: the plaintext is returned once, only its hash is stored
SELECT set_config('cases.p1', key, true), set_config('cases.h1', key_hash, true), set_config('cases.n1', key_name, true)
FROM rbac.key_generate(user_id => 'u-a', team_id => 't1', models => ARRAY['gpt-4o'], max_budget => 5, rpm_limit => 10,
                       tpm_limit => 1000, key_alias => 'a-key', metadata => '{"purpose": "test"}');
SELECT pg_temp.expect_eq('plaintext shape', pg_temp.s('p1') ~ '^sk-[A-Za-z0-9_-]{32}$', true);
SELECT pg_temp.expect_eq('hash of the plaintext', pg_temp.s('h1'), pg_temp.h(pg_temp.s('p1')));
SELECT pg_temp.expect_eq('display name', pg_temp.s('n1'), 'sk-...' || right(pg_temp.s('p1'), 4));
SELECT pg_temp.expect_eq('stored row',
  (SELECT row(user_id, team_id, models, max_budget, rpm_limit, tpm_limit, key_alias, key_name, created_by, metadata)::text
   FROM rbac.keys WHERE key_hash = pg_temp.s('h1')),
  row('u-a', 't1', ARRAY['gpt-4o'], 5::numeric, 10::bigint, 1000::bigint, 'a-key', pg_temp.s('n1'), 'u-admin', '{"purpose": "test"}'::jsonb)::text);
SELECT pg_temp.expect_eq('plaintext not stored in keys',
  (SELECT count(*) FROM rbac.keys k WHERE to_jsonb(k)::text LIKE '%' || pg_temp.s('p1') || '%'), 0::bigint);
SELECT pg_temp.expect_eq('plaintext not in the audit log',
  (SELECT count(*) FROM rbac.audit_log a WHERE to_jsonb(a)::text LIKE '%' || substr(pg_temp.s('p1'), 4) || '%'), 0::bigint);
SELECT pg_temp.expect_eq('creation audited with the actor',
  (SELECT actor FROM rbac.audit_log WHERE table_name = 'keys' AND object_id = pg_temp.s('h1') AND action = 'created'), 'u-admin');
SELECT pg_temp.expect_check('generated key works', pg_temp.s('p1'), '/chat/completions', 'gpt-4o', true, 'ok', 't1');
SELECT pg_temp.expect_check('generated key keeps its models', pg_temp.s('p1'), '/chat/completions', 'gpt-4o-mini', false, 'key_model_access_denied');

-- expiry, custom keys, admin-only fields
SELECT set_config('cases.e1', expires::text, true) FROM rbac.key_generate(user_id => 'u-b', duration => interval '1 hour');
SELECT pg_temp.expect_eq('duration sets expires', pg_temp.s('e1')::timestamptz BETWEEN now() + interval '59 minutes' AND now() + interval '61 minutes', true);
SELECT pg_temp.expect_error('expires in the past', $$SELECT * FROM rbac.key_generate(user_id => 'u-b', expires => now() - interval '1 second')$$, '22023');
SELECT pg_temp.expect_error('expires and duration', $$SELECT * FROM rbac.key_generate(user_id => 'u-b', expires => now() + interval '1 day', duration => interval '1 day')$$, '22023');
SELECT pg_temp.expect_error('negative duration', $$SELECT * FROM rbac.key_generate(user_id => 'u-b', duration => interval '-1 day')$$, '22023');
SELECT pg_temp.expect_eq('custom key returned as given',
  (SELECT key || ' ' || key_hash FROM rbac.key_generate(user_id => 'u-b', key => 'sk-mk-custom-000001')),
  'sk-mk-custom-000001 ' || pg_temp.h('sk-mk-custom-000001'));
SELECT pg_temp.expect_check('custom key works', 'sk-mk-custom-000001', '/chat/completions', 'claude-3', true, 'ok');
SELECT pg_temp.expect_error('custom key duplicate', $$SELECT * FROM rbac.key_generate(user_id => 'u-b', key => 'sk-mk-custom-000001')$$, '23505');
SELECT pg_temp.expect_error('custom key too short', $$SELECT * FROM rbac.key_generate(key => 'sk-short')$$, '22023');
SELECT pg_temp.expect_error('custom key without sk-', $$SELECT * FROM rbac.key_generate(key => 'mk-custom-key-00001')$$, '22023');
SELECT pg_temp.expect_error('unknown team', $$SELECT * FROM rbac.key_generate(team_id => 't-nope')$$, '22023');
SELECT pg_temp.expect_error('unknown user', $$SELECT * FROM rbac.key_generate(user_id => 'u-nope')$$, '22023');
SELECT pg_temp.expect_error('unknown organization', $$SELECT * FROM rbac.key_generate(organization_id => 'o-nope')$$, '22023');
SELECT pg_temp.expect_error('bad budget_duration', $$SELECT * FROM rbac.key_generate(budget_duration => 'forever')$$, '23514');
SELECT pg_temp.expect_error('negative budget', $$SELECT * FROM rbac.key_generate(max_budget => -1)$$, '23514');
SELECT pg_temp.expect_error('models outside the team', $$SELECT * FROM rbac.key_generate(team_id => 't1', models => ARRAY['claude-3'])$$, '23514');
SELECT pg_temp.expect_eq('admin key without owner', (SELECT count(*) FROM rbac.key_generate(budget_duration => '30d')), 1::bigint);
SELECT set_config('cases.h_routes', key_hash, true)
FROM rbac.key_generate(user_id => 'u-b', allowed_routes => ARRAY['info_routes'], permissions => '{"get_spend_routes": true}');
SELECT pg_temp.expect_eq('admin sets routes and permissions',
  (SELECT allowed_routes::text || permissions::text FROM rbac.keys WHERE key_hash = pg_temp.s('h_routes')), '{info_routes}{"get_spend_routes": true}');

-- a team admin creates team keys for itself and for members; a member needs the team's /key/generate permission
SELECT pg_temp.expect_eq('team admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-mk-ta-00000001')), true);
SELECT set_config('cases.h_ta', key_hash, true) FROM rbac.key_generate(team_id => 't1');
SELECT pg_temp.expect_eq('team admin: own team key',
  (SELECT user_id || '/' || team_id || '/' || created_by FROM rbac.keys WHERE key_hash = pg_temp.s('h_ta')), 'u-ta/t1/u-ta');
SELECT set_config('cases.p_member', key, true), set_config('cases.h_member', key_hash, true)
FROM rbac.key_generate(user_id => 'u-a', team_id => 't1', models => ARRAY['gpt-4o-mini']);
SELECT pg_temp.expect_eq('team admin: member key',
  (SELECT user_id || '/' || team_id || '/' || created_by FROM rbac.keys WHERE key_hash = pg_temp.s('h_member')), 'u-a/t1/u-ta');
SELECT pg_temp.expect_check('member key works', pg_temp.s('p_member'), '/chat/completions', 'gpt-4o-mini', true, 'ok', 't1');
SELECT pg_temp.expect_eq('member key is LLM-only (LiteLLM key_type llm_api)', (SELECT allowed_routes FROM rbac.keys WHERE key_hash = pg_temp.s('h_member')), ARRAY['llm_api_routes']);
SELECT pg_temp.expect_check('member key cannot manage keys', pg_temp.s('p_member'), '/key/generate', NULL, false, 'route_not_allowed');
SELECT pg_temp.expect_check('the member''s own key can', 'sk-mk-a-000000001', '/key/generate', NULL, true, 'ok');
-- ...and through SQL the LLM-only key manages and reads nothing either (it would otherwise act as u-a)
SELECT pg_temp.expect_eq('member key authenticates', (SELECT allowed FROM rbac.authenticate(pg_temp.s('p_member'))), true);
SELECT pg_temp.expect_error('LLM-only key: no key_generate', $$SELECT * FROM rbac.key_generate()$$, '42501');
SELECT pg_temp.expect_error('LLM-only key: no key_delete', $$SELECT rbac.key_delete('sk-mk-a-000000001')$$, '42501');
SELECT pg_temp.expect_eq('LLM-only key: reads no keys', (SELECT count(*) FROM rbac.keys), 0::bigint);
SELECT pg_temp.expect_eq('LLM-only key: reads no user', (SELECT count(*) FROM rbac.users), 0::bigint);
SELECT pg_temp.expect_eq('member authenticates', (SELECT allowed FROM rbac.authenticate('sk-mk-a-000000001')), true);
SELECT pg_temp.expect_error('member without permission', $$SELECT * FROM rbac.key_generate(team_id => 't1')$$, '42501');
RESET ROLE;
UPDATE rbac.teams SET team_member_permissions = ARRAY['/key/generate'] WHERE team_id = 't1';
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('member with /key/generate', (SELECT count(*) FROM rbac.key_generate(team_id => 't1')), 1::bigint);
SELECT set_config('cases.p_own', key, true), set_config('cases.h_own', key_hash, true) FROM rbac.key_generate(key_alias => 'mine');
SELECT pg_temp.expect_eq('member: personal key is own',
  (SELECT user_id || '/' || coalesce(team_id, '-') FROM rbac.keys WHERE key_hash = pg_temp.s('h_own')), 'u-a/-');

-- regenerate with a grace period: the old key keeps working as the new one until the grace ends
SELECT pg_temp.expect_eq('admin again', (SELECT allowed FROM rbac.authenticate('sk-mk-admin-0000001')), true);
SELECT set_config('cases.p2', key, true), set_config('cases.h2', key_hash, true), set_config('cases.n2', key_name, true)
FROM rbac.key_regenerate(pg_temp.s('p1'), interval '1 hour');
SELECT pg_temp.expect_eq('new plaintext', pg_temp.s('p2') <> pg_temp.s('p1') AND pg_temp.s('h2') = pg_temp.h(pg_temp.s('p2')), true);
SELECT pg_temp.expect_eq('row moved to the new hash',
  (SELECT key_name || ' ' || max_budget || ' ' || key_alias FROM rbac.keys WHERE key_hash = pg_temp.s('h2')), pg_temp.s('n2') || ' 5 a-key');
SELECT pg_temp.expect_eq('old hash gone from keys', (SELECT count(*) FROM rbac.keys WHERE key_hash = pg_temp.s('h1')), 0::bigint);
SELECT pg_temp.expect_eq('old hash deprecated until the grace ends',
  (SELECT active_key_hash = pg_temp.s('h2') AND revoke_at BETWEEN now() + interval '59 minutes' AND now() + interval '61 minutes'
   FROM rbac.deprecated_keys WHERE key_hash = pg_temp.s('h1')), true);
SELECT pg_temp.expect_check('new key works', pg_temp.s('p2'), '/chat/completions', 'gpt-4o', true, 'ok', 't1');
SELECT pg_temp.expect_check('old key works during grace', pg_temp.s('p1'), '/chat/completions', 'gpt-4o', true, 'ok', 't1');
SELECT pg_temp.expect_eq('old key maps to the new hash', (SELECT key_hash FROM rbac.rbac_check(pg_temp.s('p1'), '/chat/completions', 'gpt-4o')), pg_temp.s('h2'));
-- regenerate again without grace (by hash): the previous key stops at once, the first one follows the chain
SELECT set_config('cases.p3', key, true), set_config('cases.h3', key_hash, true) FROM rbac.key_regenerate(pg_temp.s('h2'));
SELECT pg_temp.expect_check('no grace: previous key refused', pg_temp.s('p2'), '/chat/completions', 'gpt-4o', false, 'invalid_token');
SELECT pg_temp.expect_check('newest key works', pg_temp.s('p3'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_eq('grace chain follows the key', (SELECT active_key_hash FROM rbac.deprecated_keys WHERE key_hash = pg_temp.s('h1')), pg_temp.s('h3'));
SELECT pg_temp.expect_eq('no deprecated entry for a zero grace', (SELECT count(*) FROM rbac.deprecated_keys WHERE key_hash = pg_temp.s('h2')), 0::bigint);
SELECT pg_temp.expect_error('negative grace', $$SELECT * FROM rbac.key_regenerate(pg_temp.s('p3'), interval '-1 minute')$$, '22023');
SELECT pg_temp.expect_error('regenerate unknown key', $$SELECT * FROM rbac.key_regenerate('sk-mk-unknown-00001')$$, '22023');
SELECT pg_temp.expect_error('regenerate malformed key', $$SELECT * FROM rbac.key_regenerate('not-a-key')$$, '22023');
-- the owner and the team admin may regenerate too
SELECT pg_temp.expect_eq('owner authenticates', (SELECT allowed FROM rbac.authenticate('sk-mk-a-000000001')), true);
SELECT set_config('cases.p_own2', key, true) FROM rbac.key_regenerate(pg_temp.s('p_own'));
SELECT pg_temp.expect_check('owner regenerated own key', pg_temp.s('p_own2'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_eq('team admin authenticates again', (SELECT allowed FROM rbac.authenticate('sk-mk-ta-00000001')), true);
SELECT set_config('cases.p4', key, true), set_config('cases.h4', key_hash, true) FROM rbac.key_regenerate(pg_temp.s('p3'));
SELECT pg_temp.expect_check('team admin regenerated a member''s team key', pg_temp.s('p4'), '/chat/completions', 'gpt-4o', true, 'ok', 't1');
SELECT pg_temp.expect_error('team admin: not a personal key of a member', $$SELECT * FROM rbac.key_regenerate(pg_temp.s('p_own2'))$$, '42501');

-- block / unblock: team admin and org admin of the team's org for team keys; proxy admin for personal keys
SELECT rbac.key_block(pg_temp.s('p4'));
SELECT pg_temp.expect_check('blocked by the team admin', pg_temp.s('p4'), '/chat/completions', 'gpt-4o', false, 'key_blocked');
SELECT pg_temp.expect_eq('org admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-mk-orgadm-00001')), true);
SELECT rbac.key_unblock(pg_temp.s('h4'));
SELECT pg_temp.expect_check('unblocked by the org admin', pg_temp.s('p4'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_error('org admin: personal key', $$SELECT rbac.key_block(pg_temp.s('p_own2'))$$, '42501');
SELECT pg_temp.expect_eq('admin authenticates again', (SELECT allowed FROM rbac.authenticate('sk-mk-admin-0000001')), true);
SELECT rbac.key_block(pg_temp.s('p_own2'));
SELECT pg_temp.expect_check('personal key blocked by the proxy admin', pg_temp.s('p_own2'), '/chat/completions', 'gpt-4o', false, 'key_blocked');
SELECT rbac.key_unblock(pg_temp.s('p_own2'));
SELECT pg_temp.expect_check('and unblocked', pg_temp.s('p_own2'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_eq('block history audited',
  (SELECT string_agg(action || ':' || actor, ',' ORDER BY audit_id) FROM rbac.audit_log
   WHERE table_name = 'keys' AND object_id = pg_temp.s('h4') AND action IN ('blocked', 'unblocked')), 'blocked:u-ta,unblocked:u-orgadm');
SELECT pg_temp.expect_error('block unknown key', $$SELECT rbac.key_block('sk-mk-unknown-00001')$$, '22023');
SELECT pg_temp.expect_error('block malformed key', $$SELECT rbac.key_block('abc')$$, '22023');

-- delete: owner, team admin (team keys), proxy admin
SELECT pg_temp.expect_eq('owner authenticates again', (SELECT allowed FROM rbac.authenticate('sk-mk-a-000000001')), true);
SELECT rbac.key_delete(pg_temp.s('p_own2'));
SELECT pg_temp.expect_check('deleted by the owner', pg_temp.s('p_own2'), '/chat/completions', 'gpt-4o', false, 'invalid_token');
SELECT pg_temp.expect_eq('team admin authenticates once more', (SELECT allowed FROM rbac.authenticate('sk-mk-ta-00000001')), true);
SELECT rbac.key_delete(pg_temp.s('h_member'));
SELECT pg_temp.expect_check('member key deleted by the team admin', pg_temp.s('p_member'), '/chat/completions', 'gpt-4o-mini', false, 'invalid_token');
SELECT pg_temp.expect_eq('admin for the last delete', (SELECT allowed FROM rbac.authenticate('sk-mk-admin-0000001')), true);
SELECT rbac.key_delete(pg_temp.s('p4'));
SELECT pg_temp.expect_check('deleted by the admin', pg_temp.s('p4'), '/chat/completions', 'gpt-4o', false, 'invalid_token');
SELECT pg_temp.expect_check('its deprecated predecessor is gone too', pg_temp.s('p1'), '/chat/completions', 'gpt-4o', false, 'invalid_token');
SELECT pg_temp.expect_eq('deletion audited', (SELECT actor FROM rbac.audit_log WHERE table_name = 'keys' AND object_id = pg_temp.s('h4') AND action = 'deleted'), 'u-admin');
SELECT pg_temp.expect_error('delete unknown key as admin', $$SELECT rbac.key_delete(pg_temp.s('h4'))$$, '22023');
RESET ROLE;

-- rbac_admin without a principal manages like a proxy admin (the DBA path); created_by stays NULL
SET LOCAL ROLE rbac_admin;
SELECT pg_temp.expect_eq('a failed authentication clears the principal', (SELECT allowed FROM rbac.authenticate(NULL)), false);
SELECT pg_temp.expect_eq('rbac_admin: no principal', (SELECT user_id FROM rbac.current_principal()), NULL::text);
SELECT set_config('cases.p_dba', key, true), set_config('cases.h_dba', key_hash, true) FROM rbac.key_generate(user_id => 'u-b', max_budget => 1);
SELECT pg_temp.expect_eq('rbac_admin: key created', (SELECT user_id || '/' || coalesce(created_by, 'NULL') FROM rbac.keys WHERE key_hash = pg_temp.s('h_dba')), 'u-b/NULL');
SELECT pg_temp.expect_eq('rbac_admin: sees every key with plain SQL', (SELECT count(*) FROM rbac.keys) >= 10, true);
UPDATE rbac.keys SET max_budget = 2 WHERE key_hash = pg_temp.s('h_dba');
SELECT pg_temp.expect_eq('rbac_admin: budget changed', (SELECT max_budget FROM rbac.keys WHERE key_hash = pg_temp.s('h_dba')), 2::numeric);
SELECT pg_temp.expect_eq('rbac_admin: audited with its role', (SELECT db_user FROM rbac.audit_log WHERE object_id = pg_temp.s('h_dba') AND action = 'updated'), 'rbac_admin');
SELECT pg_temp.expect_error('rbac_admin: audit stays append-only', $$DELETE FROM rbac.audit_log$$, '42501');
SELECT pg_temp.expect_error('rbac_admin: audit rows cannot be forged', $$INSERT INTO rbac.audit_log(action, table_name) VALUES ('x', 'keys')$$, '42501');
RESET ROLE;

-- delegation ceilings beyond LiteLLM's: limits, expiry, renewal and the budget actually left (adversarial review)
RESET ROLE;
INSERT INTO rbac.users(user_id, user_role, max_budget) VALUES ('u-ceil', 'internal_user', NULL);
INSERT INTO rbac.keys(key_hash, user_id, max_budget, spend, rpm_limit, tpm_limit, max_parallel_requests, expires)
  VALUES (pg_temp.h('sk-case-ceiling-0001'), 'u-ceil', 10, 9, 10, 1000, 2, now() + interval '1 day');
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('ceiling principal', (SELECT allowed FROM rbac.authenticate('sk-case-ceiling-0001')), true);
SELECT pg_temp.expect_error('more budget than is left', $$SELECT * FROM rbac.key_generate(max_budget => 5)$$, '42501');
SELECT pg_temp.expect_error('higher rpm', $$SELECT * FROM rbac.key_generate(rpm_limit => 11)$$, '42501');
SELECT pg_temp.expect_error('higher tpm', $$SELECT * FROM rbac.key_generate(tpm_limit => 1001)$$, '42501');
SELECT pg_temp.expect_error('more parallel', $$SELECT * FROM rbac.key_generate(max_parallel_requests => 3)$$, '42501');
SELECT pg_temp.expect_error('later expiry', $$SELECT * FROM rbac.key_generate(expires => now() + interval '2 days')$$, '42501');
SELECT pg_temp.expect_error('renewing budget from a one-time one', $$SELECT * FROM rbac.key_generate(budget_duration => '1d')$$, '42501');
CREATE TEMP TABLE ceil_key AS SELECT * FROM rbac.key_generate(key_alias => 'inherits');
RESET ROLE;
SELECT pg_temp.expect_eq('unset values inherit the ceilings',
  (SELECT (max_budget, rpm_limit, tpm_limit, max_parallel_requests, expires = (SELECT expires FROM rbac.keys WHERE key_hash = pg_temp.h('sk-case-ceiling-0001')))::text
     FROM rbac.keys WHERE key_hash = (SELECT key_hash FROM pg_temp.ceil_key)), '(1,10,1000,2,t)');
