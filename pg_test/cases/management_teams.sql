-- Organization, user, team, member and access-group management through rbac_api (docs/semantics.md §12,
-- docs/semantics.md §12.6–§12.9): proxy admin, org admin and team admin paths, validation errors, effects on rbac_check.
CREATE FUNCTION pg_temp.s(name text) RETURNS text LANGUAGE sql AS $$ SELECT current_setting('cases.' || name) $$;

INSERT INTO rbac.models(model_name, provider) VALUES ('gpt-4o', 'openai'), ('gpt-4o-mini', 'openai'),
  ('claude-3', 'anthropic'), ('mistral-large', 'mistral');
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-admin', 'proxy_admin'), ('u-b', 'internal_user');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-mt-admin-0000001'), 'u-admin');

SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-mt-admin-0000001')), true);

-- organizations (proxy admin only)
SELECT pg_temp.expect_eq('organization_new',
  (SELECT row(organization_id, organization_alias, models, max_budget, rpm_limit, tpm_limit)::text
   FROM rbac.organization_new('o1', 'Org One', ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-3'], max_budget => 100,
                              rpm_limit => 1000, tpm_limit => 100000)),
  row('o1', 'Org One', ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-3'], 100::numeric, 1000::bigint, 100000::bigint)::text);
SELECT pg_temp.expect_eq('organization creation audited', (SELECT actor FROM rbac.audit_log WHERE table_name = 'organizations' AND object_id = 'o1'), 'u-admin');
SELECT pg_temp.expect_eq('organization id generated', (SELECT length(organization_id) FROM rbac.organization_new()), 36);
SELECT pg_temp.expect_error('duplicate organization', $$SELECT rbac.organization_new('o1')$$, '23505');
SELECT pg_temp.expect_error('organization bad budget_duration', $$SELECT rbac.organization_new('o-bad', budget_duration => '1 year')$$, '23514');
SELECT pg_temp.expect_error('organization negative budget', $$SELECT rbac.organization_new('o-bad', max_budget => -5)$$, '23514');
SELECT pg_temp.expect_eq('organization budget period starts', (SELECT budget_reset_at IS NOT NULL FROM rbac.organization_new('o-monthly', budget_duration => '1mo')), true);

-- users (proxy admin: any role, optional organization)
SELECT pg_temp.expect_eq('user_new',
  (SELECT row(user_id, user_email, user_role::text, max_budget)::text FROM rbac.user_new('u-orgadm', 'orgadm@example.test', max_budget => 20)),
  row('u-orgadm', 'orgadm@example.test', 'internal_user', 20::numeric)::text);
SELECT pg_temp.expect_eq('user_new proxy_admin_viewer in an org', (SELECT user_role::text FROM rbac.user_new('u-viewer2', user_role => 'proxy_admin_viewer', organization_id => 'o1')), 'proxy_admin_viewer');
SELECT pg_temp.expect_eq('viewer joins the org as internal_user', (SELECT user_role FROM rbac.organization_members WHERE organization_id = 'o1' AND user_id = 'u-viewer2'), 'internal_user');
SELECT pg_temp.expect_eq('user without org', (SELECT user_id FROM rbac.user_new('u-free')), 'u-free');
SELECT pg_temp.expect_eq('user id generated', (SELECT length(user_id) FROM rbac.user_new(user_email => 'anon@example.test')), 36);
SELECT pg_temp.expect_error('unknown user role', $$SELECT rbac.user_new('u-x', user_role => 'superuser')$$, '22023');
SELECT pg_temp.expect_error('duplicate user', $$SELECT rbac.user_new('u-free')$$, '23505');
SELECT pg_temp.expect_error('user in unknown org', $$SELECT rbac.user_new('u-x', organization_id => 'o-nope')$$, '22023');
SELECT pg_temp.expect_error('user bad budget_duration', $$SELECT rbac.user_new('u-x', budget_duration => 'weekly')$$, '23514');

-- organization members
SELECT pg_temp.expect_eq('organization_member_add org_admin',
  (SELECT user_role FROM rbac.organization_member_add('o1', 'u-orgadm', 'org_admin')), 'org_admin');
SELECT pg_temp.expect_error('duplicate org member', $$SELECT rbac.organization_member_add('o1', 'u-orgadm')$$, '23505');
SELECT pg_temp.expect_error('org member bad role', $$SELECT rbac.organization_member_add('o1', 'u-free', 'owner')$$, '22023');
SELECT pg_temp.expect_error('org member unknown user', $$SELECT rbac.organization_member_add('o1', 'u-nope')$$, '22023');
SELECT pg_temp.expect_error('org member unknown org', $$SELECT rbac.organization_member_add('o-nope', 'u-free')$$, '22023');

-- teams (proxy admin): creator becomes team admin; the organization bounds models, budget and limits
SELECT pg_temp.expect_eq('team_new',
  (SELECT row(team_id, team_alias, organization_id, models, max_budget)::text
   FROM rbac.team_new('t1', 'Team One', 'o1', ARRAY['gpt-4o', 'gpt-4o-mini'], max_budget => 50)),
  row('t1', 'Team One', 'o1', ARRAY['gpt-4o', 'gpt-4o-mini'], 50::numeric)::text);
SELECT pg_temp.expect_eq('creator is team admin', (SELECT role FROM rbac.team_members WHERE team_id = 't1' AND user_id = 'u-admin'), 'admin');
SELECT pg_temp.expect_error('team models outside the org', $$SELECT rbac.team_new('t-bad', organization_id => 'o1', models => ARRAY['mistral-large'])$$, '23514');
SELECT pg_temp.expect_error('team budget above the org', $$SELECT rbac.team_new('t-bad', organization_id => 'o1', max_budget => 500)$$, '23514');
SELECT pg_temp.expect_error('team rpm above the org', $$SELECT rbac.team_new('t-bad', organization_id => 'o1', rpm_limit => 5000)$$, '23514');
SELECT pg_temp.expect_error('team in unknown org', $$SELECT rbac.team_new('t-bad', organization_id => 'o-nope')$$, '22023');
SELECT pg_temp.expect_error('duplicate team', $$SELECT rbac.team_new('t1')$$, '23505');
SELECT pg_temp.expect_error('reserved team id', $$SELECT rbac.team_new('litellm-dashboard')$$, '22023');
SELECT pg_temp.expect_error('bad member permission', $$SELECT rbac.team_new('t-bad', team_member_permissions => ARRAY['/team/delete'])$$, '22023');
SELECT pg_temp.expect_eq('nothing partial after refusals', (SELECT count(*) FROM rbac.teams WHERE team_id = 't-bad'), 0::bigint);
SELECT pg_temp.expect_eq('standalone team with member permissions',
  (SELECT team_member_permissions FROM rbac.team_new('t-solo', team_member_permissions => ARRAY['/key/generate'])), ARRAY['/key/generate']);

-- team members
SELECT pg_temp.expect_eq('user u-a', (SELECT user_id FROM rbac.user_new('u-a', organization_id => 'o1')), 'u-a');
SELECT pg_temp.expect_eq('team_member_add',
  (SELECT row(team_id, user_id, role, max_budget, allowed_models)::text FROM rbac.team_member_add('t1', 'u-a', max_budget => 5, allowed_models => ARRAY['gpt-4o'])),
  row('t1', 'u-a', 'user', 5::numeric, ARRAY['gpt-4o'])::text);
SELECT pg_temp.expect_error('duplicate member', $$SELECT rbac.team_member_add('t1', 'u-a')$$, '23505');
SELECT pg_temp.expect_error('member: unknown user', $$SELECT rbac.team_member_add('t1', 'u-nope')$$, '22023');
SELECT pg_temp.expect_error('member: unknown team', $$SELECT rbac.team_member_add('t-nope', 'u-b')$$, '22023');
SELECT pg_temp.expect_error('member: bad role', $$SELECT rbac.team_member_add('t1', 'u-b', 'owner')$$, '22023');
SELECT pg_temp.expect_error('member: allowed_models outside the team', $$SELECT rbac.team_member_add('t1', 'u-b', allowed_models => ARRAY['claude-3'])$$, '23514');
SELECT set_config('cases.p_a', key, true) FROM rbac.key_generate(user_id => 'u-a', team_id => 't1');
SELECT pg_temp.expect_check('member key works', pg_temp.s('p_a'), '/chat/completions', 'gpt-4o', true, 'ok', 't1');
SELECT pg_temp.expect_check('member allowed_models apply', pg_temp.s('p_a'), '/chat/completions', 'gpt-4o-mini', false, 'team_model_access_denied');
SELECT rbac.team_member_delete('t1', 'u-a');
SELECT pg_temp.expect_eq('member removed', (SELECT count(*) FROM rbac.team_members WHERE team_id = 't1' AND user_id = 'u-a'), 0::bigint);
SELECT pg_temp.expect_check('removed member''s team keys are deleted', pg_temp.s('p_a'), '/chat/completions', 'gpt-4o', false, 'invalid_token');
SELECT pg_temp.expect_error('delete a non-member', $$SELECT rbac.team_member_delete('t1', 'u-a')$$, '22023');

-- the org admin of o1
RESET ROLE;
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-mt-orgadm-00001'), 'u-orgadm');
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('org admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-mt-orgadm-00001')), true);
SELECT pg_temp.expect_eq('org admin: team in own org', (SELECT organization_id FROM rbac.team_new('t2', organization_id => 'o1', models => ARRAY['claude-3'])), 'o1');
SELECT pg_temp.expect_eq('org admin: becomes its team admin', (SELECT role FROM rbac.team_members WHERE team_id = 't2' AND user_id = 'u-orgadm'), 'admin');
SELECT pg_temp.expect_eq('org admin: user inherits the organization''s bounds',
  (SELECT row(models, max_budget, rpm_limit, tpm_limit, user_role::text)::text FROM rbac.user_new('u-c', organization_id => 'o1')),
  row(ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-3'], 100::numeric, 1000::bigint, 100000::bigint, 'internal_user')::text);
SELECT pg_temp.expect_eq('org admin: new user joins the org', (SELECT user_role FROM rbac.organization_members WHERE organization_id = 'o1' AND user_id = 'u-c'), 'internal_user');
SELECT pg_temp.expect_eq('org admin: viewer user within bounds',
  (SELECT row(models, max_budget, user_role::text)::text FROM rbac.user_new('u-d', user_role => 'internal_user_viewer', organization_id => 'o1', models => ARRAY['gpt-4o'], max_budget => 10)),
  row(ARRAY['gpt-4o'], 10::numeric, 'internal_user_viewer')::text);
SELECT pg_temp.expect_eq('org admin: viewer joins as viewer', (SELECT user_role FROM rbac.organization_members WHERE organization_id = 'o1' AND user_id = 'u-d'), 'internal_user_viewer');
SELECT pg_temp.expect_error('org admin: user models outside the org', $$SELECT rbac.user_new('u-x', organization_id => 'o1', models => ARRAY['mistral-large'])$$, '42501');
SELECT pg_temp.expect_error('org admin: user rpm above the org', $$SELECT rbac.user_new('u-x', organization_id => 'o1', rpm_limit => 5000)$$, '42501');
SELECT pg_temp.expect_eq('org admin: member of its own team', (SELECT role FROM rbac.team_member_add('t2', 'u-c')), 'user');
SELECT pg_temp.expect_eq('org admin: admin of another team of the org', (SELECT role FROM rbac.team_member_add('t1', 'u-c', 'admin')), 'admin');
SELECT pg_temp.expect_eq('org admin: appoints another org admin', (SELECT user_role FROM rbac.organization_member_add('o1', 'u-free', 'org_admin')), 'org_admin');
SELECT rbac.organization_member_delete('o1', 'u-free');
SELECT pg_temp.expect_eq('org admin: removes a member', (SELECT count(*) FROM rbac.organization_members WHERE organization_id = 'o1' AND user_id = 'u-free'), 0::bigint);
SELECT pg_temp.expect_error('org admin: remove a non-member', $$SELECT rbac.organization_member_delete('o1', 'u-free')$$, '22023');
SELECT pg_temp.expect_error('org admin: team outside the org', $$SELECT rbac.team_member_add('t-solo', 'u-c')$$, '42501');

-- a team admin (u-c of t1) manages t1's roster only (members of t1's organization o1)
RESET ROLE;
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES ('o1', 'u-b', 'internal_user');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-mt-c-0000000001'), 'u-c');
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('team admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-mt-c-0000000001')), true);
SELECT pg_temp.expect_eq('team admin: adds a member', (SELECT user_id FROM rbac.team_member_add('t1', 'u-d')), 'u-d');
SELECT pg_temp.expect_eq('team admin: adds another admin', (SELECT role FROM rbac.team_member_add('t1', 'u-b', 'admin')), 'admin');
SELECT rbac.team_member_delete('t1', 'u-d');
SELECT pg_temp.expect_eq('team admin: removed the member', (SELECT count(*) FROM rbac.team_members WHERE team_id = 't1' AND user_id = 'u-d'), 0::bigint);
SELECT pg_temp.expect_error('team admin: not of t2 (plain member there)', $$SELECT rbac.team_member_add('t2', 'u-d')$$, '42501');
SELECT pg_temp.expect_error('team admin: no users', $$SELECT rbac.user_new('u-y', organization_id => 'o1')$$, '42501');
SELECT pg_temp.expect_error('team admin: no teams', $$SELECT rbac.team_new('t-y', organization_id => 'o1')$$, '42501');

-- access groups (proxy admin only): they change what rbac_check allows at once
SELECT pg_temp.expect_eq('admin again', (SELECT allowed FROM rbac.authenticate('sk-mt-admin-0000001')), true);
SELECT set_config('cases.p_g', key, true) FROM rbac.key_generate(user_id => 'u-b', models => ARRAY['grp-a']);
SELECT pg_temp.expect_check('group unknown yet', pg_temp.s('p_g'), '/chat/completions', 'gpt-4o', false, 'key_model_access_denied');
SELECT pg_temp.expect_eq('access_group_new', rbac.access_group_new('grp-a', ARRAY['gpt-4o', 'claude-3', 'gpt-4o']), ARRAY['claude-3', 'gpt-4o']);
SELECT pg_temp.expect_check('group grants its models', pg_temp.s('p_g'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('group grants claude-3', pg_temp.s('p_g'), '/chat/completions', 'claude-3', true, 'ok');
SELECT pg_temp.expect_check('group denies others', pg_temp.s('p_g'), '/chat/completions', 'mistral-large', false, 'key_model_access_denied');
SELECT pg_temp.expect_error('duplicate group', $$SELECT rbac.access_group_new('grp-a', ARRAY['mistral-large'])$$, '23505');
SELECT pg_temp.expect_error('group with unknown model', $$SELECT rbac.access_group_new('grp-b', ARRAY['gpt-4o', 'gpt-9'])$$, '22023');
SELECT pg_temp.expect_error('group without models', $$SELECT rbac.access_group_new('grp-b', '{}')$$, '22023');
SELECT pg_temp.expect_error('group without name', $$SELECT rbac.access_group_new(' ', ARRAY['gpt-4o'])$$, '22023');
SELECT pg_temp.expect_eq('access_group_update', rbac.access_group_update('grp-a', ARRAY['mistral-large']), ARRAY['mistral-large']);
SELECT pg_temp.expect_eq('update replaced membership',
  (SELECT array_agg(model_name ORDER BY model_name) FROM rbac.models WHERE 'grp-a' = ANY (access_groups)), ARRAY['mistral-large']);
SELECT pg_temp.expect_check('updated group: old model denied', pg_temp.s('p_g'), '/chat/completions', 'gpt-4o', false, 'key_model_access_denied');
SELECT pg_temp.expect_check('updated group: new model allowed', pg_temp.s('p_g'), '/chat/completions', 'mistral-large', true, 'ok');
SELECT pg_temp.expect_error('update unknown group', $$SELECT rbac.access_group_update('grp-nope', ARRAY['gpt-4o'])$$, '22023');
SELECT pg_temp.expect_eq('group changes audited', (SELECT count(*) FROM rbac.audit_log WHERE table_name = 'models' AND actor = 'u-admin') >= 4, true);
SELECT pg_temp.expect_eq('access_group_delete', rbac.access_group_delete('grp-a'), 1);
SELECT pg_temp.expect_check('deleted group grants nothing', pg_temp.s('p_g'), '/chat/completions', 'mistral-large', false, 'key_model_access_denied');
SELECT pg_temp.expect_error('delete unknown group', $$SELECT rbac.access_group_delete('grp-a')$$, '22023');
-- a team limited to a group
SELECT pg_temp.expect_eq('group for a team', rbac.access_group_new('grp-team', ARRAY['gpt-4o-mini']), ARRAY['gpt-4o-mini']);
SELECT pg_temp.expect_eq('team on the group', (SELECT team_id FROM rbac.team_new('t-grp', models => ARRAY['grp-team'])), 't-grp');
SELECT set_config('cases.p_t', key, true) FROM rbac.key_generate(team_id => 't-grp');
SELECT pg_temp.expect_check('team group grants', pg_temp.s('p_t'), '/chat/completions', 'gpt-4o-mini', true, 'ok', 't-grp');
SELECT pg_temp.expect_check('team group denies', pg_temp.s('p_t'), '/chat/completions', 'gpt-4o', false, 'team_model_access_denied');
RESET ROLE;

-- rbac_admin without a principal creates organizations; rbac_api without one cannot
SET LOCAL ROLE rbac_admin;
SELECT pg_temp.expect_eq('clear principal', (SELECT allowed FROM rbac.authenticate(NULL)), false);
SELECT pg_temp.expect_eq('rbac_admin: organization_new', (SELECT organization_id FROM rbac.organization_new('o-dba')), 'o-dba');
SELECT pg_temp.expect_eq('rbac_admin: audited without actor', (SELECT coalesce(actor, 'NULL') || '/' || db_user FROM rbac.audit_log WHERE table_name = 'organizations' AND object_id = 'o-dba'), 'NULL/rbac_admin');
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_error('rbac_api: organization_new without principal', $$SELECT rbac.organization_new('o-api')$$, '42501');
RESET ROLE;
