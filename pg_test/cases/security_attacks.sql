-- Escalation attempts through rbac_api (docs/semantics.md §12): forged principals, plain DML on protected columns,
-- management calls without or beyond one's rights, and internals that must stay closed.
CREATE FUNCTION pg_temp.affected(stmt text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE stmt;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

INSERT INTO rbac.models(model_name, provider, access_groups) VALUES
  ('gpt-4o', 'openai', ARRAY['grp-x']), ('gpt-4o-mini', 'openai', '{}'), ('claude-3', 'anthropic', '{}');
INSERT INTO rbac.organizations(organization_id, models, max_budget) VALUES ('o1', '{}', 100), ('o2', '{}', NULL);
INSERT INTO rbac.teams(team_id, organization_id) VALUES ('t1', 'o1'), ('t2', 'o2');
INSERT INTO rbac.users(user_id, user_role, max_budget) VALUES
  ('u-admin', 'proxy_admin', NULL), ('u-viewer', 'proxy_admin_viewer', NULL), ('u-orgadm', 'internal_user', NULL),
  ('u-ta', 'internal_user', NULL), ('u-a', 'internal_user', 10), ('u-b', 'internal_user', NULL),
  ('u-iv', 'internal_user_viewer', NULL), ('u-padmin2', 'proxy_admin', NULL);
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES
  ('o1', 'u-orgadm', 'org_admin'), ('o1', 'u-a', 'internal_user'), ('o1', 'u-padmin2', 'internal_user'),
  ('o2', 'u-b', 'internal_user');
INSERT INTO rbac.team_members(team_id, user_id, role) VALUES ('t1', 'u-ta', 'admin'), ('t1', 'u-a', 'user'), ('t2', 'u-b', 'admin'),
  ('t1', 'u-orgadm', 'user');
INSERT INTO rbac.keys(key_hash, user_id, team_id, models, max_budget, expires, blocked) VALUES
  (pg_temp.h('sk-atk-admin-000001'), 'u-admin', NULL, '{}', NULL, NULL, false),
  (pg_temp.h('sk-atk-viewer-00001'), 'u-viewer', NULL, '{}', NULL, NULL, false),
  (pg_temp.h('sk-atk-orgadm-00001'), 'u-orgadm', NULL, '{}', NULL, NULL, false),
  (pg_temp.h('sk-atk-ta-000000001'), 'u-ta', 't1', '{}', NULL, NULL, false),
  (pg_temp.h('sk-atk-a-000000001'), 'u-a', NULL, ARRAY['gpt-4o'], 5, NULL, false),
  (pg_temp.h('sk-atk-a-team00001'), 'u-a', 't1', '{}', NULL, NULL, false),
  (pg_temp.h('sk-atk-b-000000001'), 'u-b', NULL, '{}', NULL, NULL, false),
  (pg_temp.h('sk-atk-b-team00001'), 'u-b', 't2', '{}', NULL, NULL, false),
  (pg_temp.h('sk-atk-iv-00000001'), 'u-iv', NULL, '{}', NULL, NULL, false),
  (pg_temp.h('sk-atk-blocked-0001'), 'u-a', NULL, '{}', NULL, NULL, true),
  (pg_temp.h('sk-atk-expired-0001'), 'u-a', NULL, '{}', NULL, now() - interval '1 minute', false),
  (pg_temp.h('sk-atk-group-00001'), 'u-b', NULL, ARRAY['grp-x'], NULL, NULL, false),
  (pg_temp.h('sk-atk-orgadm-t1-01'), 'u-orgadm', 't1', '{}', NULL, NULL, false);
-- a proxy admin key limited to info routes (LiteLLM key_type read_only)
INSERT INTO rbac.keys(key_hash, user_id, allowed_routes) VALUES (pg_temp.h('sk-atk-admin-ro-001'), 'u-admin', ARRAY['info_routes']);

SET LOCAL ROLE rbac_api;
-- 1. the principal cannot be forged: settings are not the principal, and failed authentications leave none
SELECT set_config('rbac.principal', '{"user_id":"u-admin","role":"proxy_admin"}', true);
SELECT set_config('rbac.user_id', 'u-admin', true);
SET LOCAL rbac.role = 'proxy_admin';
SELECT set_config('request.jwt.claims', '{"sub":"u-admin","role":"proxy_admin"}', true);
SELECT pg_temp.expect_eq('forged settings: no principal', (SELECT row(p.*)::text FROM rbac.current_principal() p), '(,,,,)');
SELECT pg_temp.expect_eq('forged settings: no rows', (SELECT count(*) FROM rbac.keys), 0::bigint);
SELECT pg_temp.expect_error('forged settings: no management', $$SELECT rbac.team_new('t-forged')$$, '42501');
SELECT pg_temp.expect_eq('garbage token', (SELECT reason FROM rbac.authenticate('not-a-token')), 'invalid_token');
SELECT pg_temp.expect_eq('garbage token: no principal', (SELECT user_id FROM rbac.current_principal()), NULL::text);
SELECT pg_temp.expect_eq('unknown key', (SELECT reason FROM rbac.authenticate('sk-atk-unknown-0001')), 'invalid_token');
SELECT pg_temp.expect_eq('a hash is not a credential', (SELECT allowed FROM rbac.authenticate(pg_temp.h('sk-atk-admin-000001'))), false);
SELECT pg_temp.expect_eq('a hash is not a credential: no principal', (SELECT role FROM rbac.current_principal()), NULL::text);
SELECT pg_temp.expect_eq('blocked key', (SELECT reason FROM rbac.authenticate('sk-atk-blocked-0001')), 'key_blocked');
SELECT pg_temp.expect_eq('blocked key: no principal', (SELECT user_id FROM rbac.current_principal()), NULL::text);
SELECT pg_temp.expect_eq('expired key', (SELECT reason FROM rbac.authenticate('sk-atk-expired-0001')), 'token_expired');
SELECT pg_temp.expect_eq('expired key: no principal', (SELECT user_id FROM rbac.current_principal()), NULL::text);
-- a valid principal is dropped by a later failed authentication
SELECT pg_temp.expect_eq('admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-atk-admin-000001')), true);
SELECT pg_temp.expect_eq('then garbage', (SELECT allowed FROM rbac.authenticate('sk-')), false);
SELECT pg_temp.expect_eq('admin principal gone', (SELECT role FROM rbac.current_principal()), NULL::text);
SELECT pg_temp.expect_eq('admin rows gone', (SELECT count(*) FROM rbac.keys), 0::bigint);

-- 2. management without a principal: refused for rbac_api (only rbac_admin members and superusers)
SELECT pg_temp.expect_error('no principal: key_generate', $$SELECT * FROM rbac.key_generate(user_id => 'u-a')$$, '42501');
SELECT pg_temp.expect_error('no principal: key_regenerate', $$SELECT * FROM rbac.key_regenerate('sk-atk-a-000000001')$$, '42501');
SELECT pg_temp.expect_error('no principal: key_block', $$SELECT rbac.key_block('sk-atk-a-000000001')$$, '42501');
SELECT pg_temp.expect_error('no principal: key_unblock', $$SELECT rbac.key_unblock('sk-atk-blocked-0001')$$, '42501');
SELECT pg_temp.expect_error('no principal: key_delete', $$SELECT rbac.key_delete('sk-atk-a-000000001')$$, '42501');
SELECT pg_temp.expect_error('no principal: team_new', $$SELECT rbac.team_new('t-x')$$, '42501');
SELECT pg_temp.expect_error('no principal: team_member_add', $$SELECT rbac.team_member_add('t1', 'u-b')$$, '42501');
SELECT pg_temp.expect_error('no principal: team_member_delete', $$SELECT rbac.team_member_delete('t1', 'u-a')$$, '42501');
SELECT pg_temp.expect_error('no principal: organization_new', $$SELECT rbac.organization_new('o-x')$$, '42501');
SELECT pg_temp.expect_error('no principal: organization_member_add', $$SELECT rbac.organization_member_add('o1', 'u-b')$$, '42501');
SELECT pg_temp.expect_error('no principal: user_new', $$SELECT rbac.user_new('u-x')$$, '42501');
SELECT pg_temp.expect_error('no principal: access_group_new', $$SELECT rbac.access_group_new('g', ARRAY['gpt-4o'])$$, '42501');
SELECT pg_temp.expect_error('no principal: access_group_update', $$SELECT rbac.access_group_update('grp-x', ARRAY['claude-3'])$$, '42501');
SELECT pg_temp.expect_error('no principal: access_group_delete', $$SELECT rbac.access_group_delete('grp-x')$$, '42501');

-- 3. internals stay closed to the API role
SELECT pg_temp.expect_error('internal: admin test', $$SELECT rbac._mgmt_is_admin('x')$$, '42501');
SELECT pg_temp.expect_error('internal: block helper', $$SELECT rbac._key_set_blocked('x', 'sk-atk-a-000000001', true)$$, '42501');
SELECT pg_temp.expect_error('internal: member helper', $$SELECT rbac._team_member_manager('x', 't1')$$, '42501');
SELECT pg_temp.expect_error('internal: table securing', $$SELECT rbac._secure_tables()$$, '42501');
SELECT pg_temp.expect_error('internal: key resolver', $$SELECT rbac._resolve_key('sk-atk-a-000000001')$$, '42501');
SELECT pg_temp.expect_error('internal: cache invalidation broadcast', $$SELECT rbac._signal_policy_change('rbac.cache_epoch'::regclass)$$, '42501');

-- 4. an internal user (u-a: user max_budget 10, personal key models [gpt-4o] and max_budget 5) trying to escalate
SELECT pg_temp.expect_eq('u-a authenticates', (SELECT allowed FROM rbac.authenticate('sk-atk-a-000000001')), true);
SELECT pg_temp.expect_error('DML: own key budget', $$UPDATE rbac.keys SET max_budget = 1000000 WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own key spend', $$UPDATE rbac.keys SET spend = 0 WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own key rpm', $$UPDATE rbac.keys SET rpm_limit = NULL WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own key tpm', $$UPDATE rbac.keys SET tpm_limit = NULL WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own key parallel', $$UPDATE rbac.keys SET max_parallel_requests = NULL WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own key models', $$UPDATE rbac.keys SET models = '{}' WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own key routes', $$UPDATE rbac.keys SET allowed_routes = ARRAY['management_routes'] WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: unblock own key', $$UPDATE rbac.keys SET blocked = false WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own key expiry', $$UPDATE rbac.keys SET expires = NULL WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own key permissions', $$UPDATE rbac.keys SET permissions = '{"get_spend_routes": true}' WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own key metadata (per-model limits)', $$UPDATE rbac.keys SET metadata = '{}' WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: move own key to another team', $$UPDATE rbac.keys SET team_id = 't2' WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own user role', $$UPDATE rbac.users SET user_role = 'proxy_admin' WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own user budget', $$UPDATE rbac.users SET max_budget = NULL WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own user models', $$UPDATE rbac.users SET models = '{}' WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own team role', $$UPDATE rbac.team_members SET role = 'admin' WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: own member budget', $$UPDATE rbac.team_members SET max_budget = NULL WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: org role', $$UPDATE rbac.organization_members SET user_role = 'org_admin' WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('DML: team budget', $$UPDATE rbac.teams SET max_budget = NULL$$, '42501');
SELECT pg_temp.expect_error('DML: team blocked', $$UPDATE rbac.teams SET blocked = false$$, '42501');
SELECT pg_temp.expect_error('DML: org limits', $$UPDATE rbac.organizations SET rpm_limit = NULL$$, '42501');
SELECT pg_temp.expect_error('DML: customer budget', $$UPDATE rbac.end_users SET max_budget = NULL$$, '42501');
SELECT pg_temp.expect_error('DML: insert a key', $$INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-atk-minted-0001'), 'u-a')$$, '42501');
SELECT pg_temp.expect_error('DML: delete keys', $$DELETE FROM rbac.keys$$, '42501');
SELECT pg_temp.expect_error('DML: join a team', $$INSERT INTO rbac.team_members(team_id, user_id, role) VALUES ('t2', 'u-a', 'admin')$$, '42501');
SELECT pg_temp.expect_error('DML: join an org', $$INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES ('o2', 'u-a', 'org_admin')$$, '42501');
SELECT pg_temp.expect_error('DML: create a user', $$INSERT INTO rbac.users(user_id, user_role) VALUES ('u-evil', 'proxy_admin')$$, '42501');
SELECT pg_temp.expect_error('DML: deprecate a key into mine', $$INSERT INTO rbac.deprecated_keys VALUES (pg_temp.h('sk-atk-x-00000001'), pg_temp.h('sk-atk-a-000000001'), now() + interval '1 day')$$, '42501');
SELECT pg_temp.expect_error('DML: forge spend', $$INSERT INTO rbac.spend_log(request_id, user_id, spend) VALUES ('r-x', 'u-b', 100)$$, '42501');
SELECT pg_temp.expect_error('DML: erase spend', $$DELETE FROM rbac.spend_log$$, '42501');
SELECT pg_temp.expect_error('DML: forge audit', $$INSERT INTO rbac.audit_log(action, table_name) VALUES ('created', 'keys')$$, '42501');
SELECT pg_temp.expect_error('DML: rewrite audit', $$UPDATE rbac.audit_log SET actor = 'x'$$, '42501');
SELECT pg_temp.expect_error('DML: truncate audit', $$TRUNCATE rbac.audit_log$$, '42501');
SELECT pg_temp.expect_error('DML: trust an issuer', $$INSERT INTO rbac.jwt_issuers(issuer, audiences) VALUES ('https://evil', ARRAY['x'])$$, '42501');
SELECT pg_temp.expect_error('DML: role permissions', $$INSERT INTO rbac.role_permissions(role, routes) VALUES ('internal_user', ARRAY['management_routes'])$$, '42501');
SELECT pg_temp.expect_error('DML: make a route an LLM route', $$INSERT INTO rbac.route_groups(group_name, pattern) VALUES ('llm_api_routes', '/key/generate')$$, '42501');
SELECT pg_temp.expect_eq('DML: tag a model into a group reaches nothing', pg_temp.affected($$UPDATE rbac.models SET access_groups = ARRAY['grp-x']$$), 0::bigint);
SELECT pg_temp.expect_eq('DML: delete a model reaches nothing', pg_temp.affected($$DELETE FROM rbac.models$$), 0::bigint);
SELECT pg_temp.expect_error('DML: cache epoch', $$UPDATE rbac.cache_epoch SET singleton = true$$, '42501');
SELECT pg_temp.expect_error('DML: quota windows', $$DELETE FROM rbac.rate_windows$$, '42501');
SELECT pg_temp.expect_error('DML: reservations', $$UPDATE rbac.reservations SET cost = 0$$, '42501');

-- minting keys beyond one's rights
SELECT pg_temp.expect_error('mint for another user', $$SELECT * FROM rbac.key_generate(user_id => 'u-b')$$, '42501');
SELECT pg_temp.expect_error('mint above own key budget', $$SELECT * FROM rbac.key_generate(max_budget => 6)$$, '42501');
SELECT pg_temp.expect_error('mint wider models', $$SELECT * FROM rbac.key_generate(models => ARRAY['gpt-4o', 'claude-3'])$$, '42501');
SELECT pg_temp.expect_error('mint all models by wildcard', $$SELECT * FROM rbac.key_generate(models => ARRAY['*'])$$, '42501');
SELECT pg_temp.expect_error('mint with routes', $$SELECT * FROM rbac.key_generate(allowed_routes => ARRAY['management_routes'])$$, '42501');
SELECT pg_temp.expect_error('mint with permissions', $$SELECT * FROM rbac.key_generate(permissions => '{"get_spend_routes": true}')$$, '42501');
SELECT pg_temp.expect_error('mint for a foreign team', $$SELECT * FROM rbac.key_generate(team_id => 't2')$$, '42501');
SELECT pg_temp.expect_error('mint for own team without /key/generate', $$SELECT * FROM rbac.key_generate(team_id => 't1')$$, '42501');
SELECT pg_temp.expect_error('mint for a foreign org', $$SELECT * FROM rbac.key_generate(organization_id => 'o2')$$, '42501');
SELECT pg_temp.expect_error('mint for a non-existent team (no probing)', $$SELECT * FROM rbac.key_generate(team_id => 't-nope')$$, '42501');
-- an unbounded request inherits the ceiling instead of escaping it
-- (what a key already delegated counts against what it has left: the narrower key first, then the default one
-- inherits the remaining 4 of the caller's 5)
SELECT set_config('cases.k2', (SELECT key_hash FROM rbac.key_generate(models => ARRAY['gpt-4o'], max_budget => 1)), true);
SELECT pg_temp.expect_eq('narrower key allowed',
  (SELECT k.max_budget::text || ' ' || k.models::text FROM rbac.keys k WHERE k.key_hash = current_setting('cases.k2')), '1 {gpt-4o}');
SELECT set_config('cases.k1', (SELECT key_hash FROM rbac.key_generate()), true);
SELECT pg_temp.expect_eq('default key inherits ceiling',
  (SELECT k.max_budget::text || ' ' || k.models::text FROM rbac.keys k WHERE k.key_hash = current_setting('cases.k1')), '4 {gpt-4o}');
-- other tenants' objects through management functions
SELECT pg_temp.expect_error('block another user''s key', $$SELECT rbac.key_block('sk-atk-b-000000001')$$, '42501');
SELECT pg_temp.expect_error('block a foreign team key', $$SELECT rbac.key_block('sk-atk-b-team00001')$$, '42501');
SELECT pg_temp.expect_error('block own personal key (proxy admin only)', $$SELECT rbac.key_block('sk-atk-a-000000001')$$, '42501');
SELECT pg_temp.expect_error('unblock own blocked key', $$SELECT rbac.key_unblock('sk-atk-blocked-0001')$$, '42501');
SELECT pg_temp.expect_error('regenerate another user''s key', $$SELECT * FROM rbac.key_regenerate('sk-atk-b-000000001')$$, '42501');
SELECT pg_temp.expect_error('delete another user''s key', $$SELECT rbac.key_delete('sk-atk-b-000000001')$$, '42501');
SELECT pg_temp.expect_error('delete unknown key (no probing)', $$SELECT rbac.key_delete('sk-atk-unknown-0001')$$, '42501');
SELECT pg_temp.expect_error('create a team', $$SELECT rbac.team_new('t-by-u-a')$$, '42501');
SELECT pg_temp.expect_error('create a team in own org (not org admin)', $$SELECT rbac.team_new('t-by-u-a', organization_id => 'o1')$$, '42501');
SELECT pg_temp.expect_error('create an org', $$SELECT rbac.organization_new('o-by-u-a')$$, '42501');
SELECT pg_temp.expect_error('create a user', $$SELECT rbac.user_new('u-by-u-a')$$, '42501');
SELECT pg_temp.expect_error('self-join a team', $$SELECT rbac.team_member_add('t2', 'u-a')$$, '42501');
SELECT pg_temp.expect_error('promote self in own team', $$SELECT rbac.team_member_add('t1', 'u-a', 'admin')$$, '42501');
SELECT pg_temp.expect_error('remove a teammate', $$SELECT rbac.team_member_delete('t1', 'u-ta')$$, '42501');
SELECT pg_temp.expect_error('join an org', $$SELECT rbac.organization_member_add('o2', 'u-a', 'org_admin')$$, '42501');
SELECT pg_temp.expect_error('create an access group', $$SELECT rbac.access_group_new('mine', ARRAY['claude-3'])$$, '42501');
SELECT pg_temp.expect_error('widen an access group', $$SELECT rbac.access_group_update('grp-x', ARRAY['gpt-4o', 'claude-3'])$$, '42501');
-- the own key is regenerated (owner may); a vanished key cannot shed its delegation ceiling
SELECT pg_temp.expect_eq('owner regenerates own key', (SELECT count(*) FROM rbac.key_regenerate('sk-atk-a-000000001')), 1::bigint);
SELECT pg_temp.expect_error('ceiling key gone: no minting', $$SELECT * FROM rbac.key_generate(max_budget => 9)$$, '42501');

-- 5. a team admin (u-ta of t1)
SELECT pg_temp.expect_eq('team admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-atk-ta-000000001')), true);
SELECT pg_temp.expect_error('team admin: key for a non-member', $$SELECT * FROM rbac.key_generate(user_id => 'u-b', team_id => 't1')$$, '42501');
SELECT pg_temp.expect_error('team admin: personal key for a member', $$SELECT * FROM rbac.key_generate(user_id => 'u-a')$$, '42501');
SELECT pg_temp.expect_error('team admin: member of another team', $$SELECT rbac.team_member_add('t2', 'u-ta')$$, '42501');
SELECT pg_temp.expect_error('team admin: block a personal key', $$SELECT rbac.key_block('sk-atk-b-000000001')$$, '42501');
SELECT pg_temp.expect_error('team admin: block another team''s key', $$SELECT rbac.key_block('sk-atk-b-team00001')$$, '42501');
SELECT pg_temp.expect_error('team admin: create a team', $$SELECT rbac.team_new('t-by-ta')$$, '42501');
SELECT pg_temp.expect_error('team admin: regenerate the team key of an org admin (identity handover)', $$SELECT * FROM rbac.key_regenerate('sk-atk-orgadm-t1-01')$$, '42501');
SELECT pg_temp.expect_eq('team admin: regenerate a plain member''s team key', (SELECT count(*) FROM rbac.key_regenerate('sk-atk-a-team00001')), 1::bigint);

-- 6. an org admin (u-orgadm of o1): no privilege escalation through users, members or other orgs
SELECT pg_temp.expect_eq('org admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-atk-orgadm-00001')), true);
SELECT pg_temp.expect_error('org admin: proxy_admin user', $$SELECT rbac.user_new('u-evil', user_role => 'proxy_admin', organization_id => 'o1')$$, '42501');
SELECT pg_temp.expect_error('org admin: proxy_admin_viewer user', $$SELECT rbac.user_new('u-evil', user_role => 'proxy_admin_viewer', organization_id => 'o1')$$, '42501');
SELECT pg_temp.expect_error('org admin: org_admin user', $$SELECT rbac.user_new('u-evil', user_role => 'org_admin', organization_id => 'o1')$$, '42501');
SELECT pg_temp.expect_error('org admin: user outside any org', $$SELECT rbac.user_new('u-evil')$$, '42501');
SELECT pg_temp.expect_error('org admin: user in another org', $$SELECT rbac.user_new('u-evil', organization_id => 'o2')$$, '42501');
SELECT pg_temp.expect_error('org admin: user budget above the org', $$SELECT rbac.user_new('u-rich', organization_id => 'o1', max_budget => 1000)$$, '42501');
SELECT pg_temp.expect_error('org admin: team in another org', $$SELECT rbac.team_new('t-x', organization_id => 'o2')$$, '42501');
SELECT pg_temp.expect_error('org admin: standalone team', $$SELECT rbac.team_new('t-x')$$, '42501');
SELECT pg_temp.expect_error('org admin: team budget above the org', $$SELECT rbac.team_new('t-x', organization_id => 'o1', max_budget => 1000)$$, '23514');
SELECT pg_temp.expect_error('org admin: organization', $$SELECT rbac.organization_new('o-x')$$, '42501');
SELECT pg_temp.expect_error('org admin: demote a proxy admin''s org role', $$SELECT rbac.organization_member_delete('o1', 'u-padmin2')$$, '42501');
SELECT pg_temp.expect_error('org admin: members of another org', $$SELECT rbac.organization_member_add('o2', 'u-orgadm', 'org_admin')$$, '42501');
SELECT pg_temp.expect_error('org admin: members of another org''s team', $$SELECT rbac.team_member_add('t2', 'u-orgadm', 'admin')$$, '42501');
SELECT pg_temp.expect_error('org admin: block a personal key', $$SELECT rbac.key_block('sk-atk-b-000000001')$$, '42501');
SELECT pg_temp.expect_error('org admin: block a key of another org''s team', $$SELECT rbac.key_block('sk-atk-b-team00001')$$, '42501');
SELECT pg_temp.expect_error('org admin: access groups', $$SELECT rbac.access_group_delete('grp-x')$$, '42501');
SELECT pg_temp.expect_eq('org admin: user inherits the org budget',
  (SELECT max_budget FROM rbac.user_new('u-new', organization_id => 'o1')), 100::numeric);

-- 7. viewers write nothing, through any path
SELECT pg_temp.expect_eq('viewer authenticates', (SELECT allowed FROM rbac.authenticate('sk-atk-viewer-00001')), true);
SELECT pg_temp.expect_error('viewer: generate', $$SELECT * FROM rbac.key_generate()$$, '42501');
SELECT pg_temp.expect_error('viewer: block', $$SELECT rbac.key_block('sk-atk-b-team00001')$$, '42501');
SELECT pg_temp.expect_error('viewer: regenerate own key', $$SELECT * FROM rbac.key_regenerate('sk-atk-viewer-00001')$$, '42501');
SELECT pg_temp.expect_error('viewer: team', $$SELECT rbac.team_new('t-v')$$, '42501');
SELECT pg_temp.expect_error('viewer: user', $$SELECT rbac.user_new('u-v')$$, '42501');
SELECT pg_temp.expect_error('viewer: org', $$SELECT rbac.organization_new('o-v')$$, '42501');
SELECT pg_temp.expect_error('viewer: access group', $$SELECT rbac.access_group_new('g-v', ARRAY['gpt-4o'])$$, '42501');
SELECT pg_temp.expect_error('viewer: DML budget', $$UPDATE rbac.keys SET max_budget = 1$$, '42501');
SELECT pg_temp.expect_eq('internal viewer authenticates', (SELECT allowed FROM rbac.authenticate('sk-atk-iv-00000001')), true);
SELECT pg_temp.expect_error('internal viewer: generate own key', $$SELECT * FROM rbac.key_generate()$$, '42501');
SELECT pg_temp.expect_error('internal viewer: delete own key', $$SELECT rbac.key_delete('sk-atk-iv-00000001')$$, '42501');

-- 8. even a proxy admin cannot bypass the management path for budgets with plain DML as rbac_api
SELECT pg_temp.expect_eq('admin authenticates again', (SELECT allowed FROM rbac.authenticate('sk-atk-admin-000001')), true);
SELECT pg_temp.expect_error('admin: DML budget still 42501', $$UPDATE rbac.keys SET max_budget = 1$$, '42501');
SELECT pg_temp.expect_error('admin: DML insert key still 42501', $$INSERT INTO rbac.keys(key_hash) VALUES (pg_temp.h('sk-atk-admin-dml-01'))$$, '42501');

SELECT pg_temp.expect_eq('read-only admin key authenticates', (SELECT allowed FROM rbac.authenticate('sk-atk-admin-ro-001')), true);
SELECT pg_temp.expect_eq('read-only admin key: reads everything', (SELECT count(*) FROM rbac.keys WHERE user_id = 'u-b'), 3::bigint);
SELECT pg_temp.expect_error('read-only admin key: no key_generate', $$SELECT * FROM rbac.key_generate(user_id => 'u-b')$$, '42501');
SELECT pg_temp.expect_error('read-only admin key: no key_block', $$SELECT rbac.key_block('sk-atk-b-000000001')$$, '42501');
SELECT pg_temp.expect_error('read-only admin key: no organization_new', $$SELECT rbac.organization_new('o-ro')$$, '42501');
SELECT pg_temp.expect_eq('read-only admin key: renames nothing', pg_temp.affected($$UPDATE rbac.keys SET key_alias = 'ro'$$), 0::bigint);

-- 9. the access predicates run with full catalogue visibility, so a caller under RLS cannot poison the
-- per-backend catalogue cache that rbac_check reuses (grp-x tags gpt-4o)
SELECT pg_temp.expect_eq('clear principal', (SELECT allowed FROM rbac.authenticate('')), false);
SELECT pg_temp.expect_eq('model_allowed sees groups without a principal', rbac.model_allowed('gpt-4o', ARRAY['grp-x']), true);
SELECT pg_temp.expect_eq('models_within sees groups', rbac.models_within(ARRAY['gpt-4o'], ARRAY['grp-x']), NULL::text);
SELECT pg_temp.expect_eq('route_allowed_by sees route groups', rbac.route_allowed_by('/chat/completions', ARRAY['llm_api_routes']), true);
SELECT pg_temp.expect_check('rbac_check after those calls', 'sk-atk-group-00001', '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('and still denies outside the group', 'sk-atk-group-00001', '/chat/completions', 'claude-3', false, 'key_model_access_denied');
RESET ROLE;

-- nothing the refused calls attempted happened
SELECT pg_temp.expect_eq('no team created', (SELECT count(*) FROM rbac.teams WHERE team_id LIKE 't-%'), 0::bigint);
SELECT pg_temp.expect_eq('no user escalated', (SELECT count(*) FROM rbac.users WHERE user_role IN ('proxy_admin', 'proxy_admin_viewer')), 3::bigint);
SELECT pg_temp.expect_eq('no u-evil', (SELECT count(*) FROM rbac.users WHERE user_id IN ('u-evil', 'u-rich', 'u-v', 'u-x')), 0::bigint);
SELECT pg_temp.expect_eq('u-b keys unblocked', (SELECT count(*) FROM rbac.keys WHERE user_id = 'u-b' AND blocked), 0::bigint);
SELECT pg_temp.expect_eq('u-b key untouched', (SELECT count(*) FROM rbac.keys WHERE key_hash = pg_temp.h('sk-atk-b-000000001')), 1::bigint);
SELECT pg_temp.expect_eq('grp-x unchanged', (SELECT array_agg(model_name ORDER BY model_name) FROM rbac.models WHERE 'grp-x' = ANY (access_groups)), ARRAY['gpt-4o']);
SELECT pg_temp.expect_eq('u-a still a plain member', (SELECT role FROM rbac.team_members WHERE team_id = 't1' AND user_id = 'u-a'), 'user');
SELECT pg_temp.expect_eq('u-a keys: 4 seeded + 2 minted', (SELECT count(*) FROM rbac.keys WHERE user_id = 'u-a'), 6::bigint);
SELECT pg_temp.expect_eq('minted keys created by u-a', (SELECT count(*) FROM rbac.keys WHERE created_by = 'u-a'), 2::bigint);
