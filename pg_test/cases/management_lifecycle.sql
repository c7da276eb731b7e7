-- Lifecycle of teams, members, users and organizations (issue 13 part 1; docs/management-lifecycle.md): update,
-- block, delete through rbac_api with principals of each kind, and as non-superuser rbac_api / rbac_admin logins.
-- Below a proxy admin nobody gives more than it has nor changes its own role, budget or limits (42501 naming the
-- rule, also for objects the caller cannot see); bad input 22023; table rules 23514; deleting what still has keys
-- takes cascade => true (2BP01 otherwise); nothing changes on error; every change is audited with its actor.
INSERT INTO rbac.models(model_name) VALUES ('gpt-4o'), ('gpt-4o-mini'), ('claude-3');
INSERT INTO rbac.organizations(organization_id, models, max_budget, rpm_limit, tpm_limit)
VALUES ('o1', ARRAY['gpt-4o', 'gpt-4o-mini'], 100, 1000, 100000), ('o2', '{}', NULL, NULL, NULL);
INSERT INTO rbac.teams(team_id, organization_id, models, max_budget, rpm_limit, tpm_limit)
VALUES ('t1', 'o1', ARRAY['gpt-4o', 'gpt-4o-mini'], 50, 500, 50000), ('t2', 'o2', ARRAY['gpt-4o'], NULL, NULL, NULL),
       ('t0', NULL, '{}', NULL, NULL, NULL);
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-admin', 'proxy_admin'), ('u-viewer', 'proxy_admin_viewer'),
  ('u-oa', 'internal_user'), ('u-ta', 'internal_user'), ('u-a', 'internal_user'), ('u-b', 'internal_user'),
  ('u-c', 'internal_user'), ('u-x', 'internal_user'), ('u-oa2', 'org_admin');
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES ('o1', 'u-oa', 'org_admin'),
  ('o1', 'u-ta', 'internal_user'), ('o1', 'u-a', 'internal_user'), ('o1', 'u-c', 'internal_user'), ('o1', 'u-x', 'internal_user'),
  ('o2', 'u-x', 'internal_user'), ('o2', 'u-b', 'internal_user'), ('o1', 'u-oa2', 'org_admin');
INSERT INTO rbac.team_members(team_id, user_id, role, max_budget) VALUES ('t1', 'u-ta', 'admin', 5), ('t1', 'u-a', 'user', NULL),
  ('t2', 'u-b', 'admin', NULL);
INSERT INTO rbac.keys(key_hash, user_id, team_id) VALUES (pg_temp.h('sk-lc-admin-0000001'), 'u-admin', NULL),
  (pg_temp.h('sk-lc-viewer-000001'), 'u-viewer', NULL), (pg_temp.h('sk-lc-oa-0000000001'), 'u-oa', NULL),
  (pg_temp.h('sk-lc-ta-0000000001'), 'u-ta', NULL), (pg_temp.h('sk-lc-a-00000000001'), 'u-a', NULL),
  (pg_temp.h('sk-lc-a-team-000001'), 'u-a', 't1'), (pg_temp.h('sk-lc-b-00000000001'), 'u-b', 't2');
INSERT INTO rbac.keys(key_hash, user_id, allowed_routes) VALUES (pg_temp.h('sk-lc-admin-blk-001'), 'u-admin', ARRAY['/team/block']);

SET LOCAL ROLE rbac_api;
-- ===== org admin of o1 =====
SELECT pg_temp.expect_eq('org admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-lc-oa-0000000001')), true);
SELECT pg_temp.expect_eq('org admin updates a team of its organization',
  (SELECT row(team_alias, max_budget, rpm_limit, team_member_permissions)::text
   FROM rbac.team_update('t1', team_alias => 'Team One', max_budget => 40, rpm_limit => 400,
                         team_member_permissions => ARRAY['/key/generate'])),
  row('Team One', 40::numeric, 400::bigint, ARRAY['/key/generate'])::text);
SELECT pg_temp.expect_eq('NULL leaves every column as it is',
  (SELECT row(team_alias, max_budget, rpm_limit)::text FROM rbac.team_update('t1')), row('Team One', 40::numeric, 400::bigint)::text);
SELECT pg_temp.expect_error('org admin: team budget beyond the organization (table rule)',
  $$SELECT rbac.team_update('t1', max_budget => 200, team_alias => 'changed')$$, '23514');
SELECT pg_temp.expect_error('org admin: team models beyond the organization (table rule)',
  $$SELECT rbac.team_update('t1', models => ARRAY['claude-3'])$$, '23514');
SELECT pg_temp.expect_error('org admin: a team of another organization', $$SELECT rbac.team_update('t2', team_alias => 'x')$$, '42501');
SELECT pg_temp.expect_error('org admin: a team without organization', $$SELECT rbac.team_update('t0', team_alias => 'x')$$, '42501');
SELECT pg_temp.expect_error('org admin: an unknown team (no probing)', $$SELECT rbac.team_update('t-nope', team_alias => 'x')$$, '42501');
SELECT pg_temp.expect_error('unknown clear entry', $$SELECT rbac.team_update('t1', clear => ARRAY['spend'])$$, '22023');
SELECT pg_temp.expect_error('metadata not an object', $$SELECT rbac.team_update('t1', metadata => '[1]')$$, '22023');
SELECT pg_temp.expect_error('team_member_permissions not key routes', $$SELECT rbac.team_update('t1', team_member_permissions => ARRAY['/team/new'])$$, '22023');
SELECT pg_temp.expect_eq('nothing of the refused team updates stuck',
  (SELECT row(team_alias, max_budget, models)::text FROM rbac.teams WHERE team_id = 't1'),
  row('Team One', 40::numeric, ARRAY['gpt-4o', 'gpt-4o-mini'])::text);
-- members
SELECT pg_temp.expect_eq('org admin sets a member''s limits within the team',
  (SELECT row(max_budget, rpm_limit, allowed_models)::text FROM rbac.team_member_update('t1', 'u-a', max_budget => 10, rpm_limit => 100,
     allowed_models => ARRAY['gpt-4o-mini'])),
  row(10::numeric, 100::bigint, ARRAY['gpt-4o-mini'])::text);
SELECT pg_temp.expect_error('member rpm above the team''s', $$SELECT rbac.team_member_update('t1', 'u-a', rpm_limit => 600)$$, '42501');
SELECT pg_temp.expect_error('member limit cleared under a team limit', $$SELECT rbac.team_member_update('t1', 'u-a', clear => ARRAY['rpm_limit'])$$, '42501');
SELECT pg_temp.expect_error('member budget above the team''s', $$SELECT rbac.team_member_update('t1', 'u-a', max_budget => 45)$$, '42501');
SELECT pg_temp.expect_error('member models outside the team''s', $$SELECT rbac.team_member_update('t1', 'u-a', allowed_models => ARRAY['claude-3'])$$, '42501');
SELECT pg_temp.expect_error('not a member', $$SELECT rbac.team_member_update('t1', 'u-c', rpm_limit => 1)$$, '22023');
SELECT pg_temp.expect_error('bad team role', $$SELECT rbac.team_member_update('t1', 'u-a', role => 'owner')$$, '22023');
SELECT pg_temp.expect_error('member of another organization''s team', $$SELECT rbac.team_member_update('t2', 'u-b', rpm_limit => 1)$$, '42501');
SELECT pg_temp.expect_error('negative member limit (table rule)', $$SELECT rbac.team_member_update('t1', 'u-a', tpm_limit => -1)$$, '23514');
-- users
SELECT pg_temp.expect_eq('org admin sets a member''s user budget within the organization',
  (SELECT row(max_budget, user_role::text)::text FROM rbac.user_update('u-a', max_budget => 30, user_role => 'internal_user_viewer')),
  row(30::numeric, 'internal_user_viewer')::text);
SELECT rbac.user_update('u-a', user_role => 'internal_user');
SELECT pg_temp.expect_error('user budget above the organization', $$SELECT rbac.user_update('u-a', max_budget => 500)$$, '42501');
SELECT pg_temp.expect_error('user budget cleared under the organization''s', $$SELECT rbac.user_update('u-a', clear => ARRAY['max_budget'])$$, '42501');
SELECT pg_temp.expect_error('user models outside the organization', $$SELECT rbac.user_update('u-a', models => ARRAY['claude-3'])$$, '42501');
SELECT pg_temp.expect_error('org admin promotes to proxy_admin', $$SELECT rbac.user_update('u-a', user_role => 'proxy_admin')$$, '42501');
SELECT pg_temp.expect_error('org admin promotes to org_admin', $$SELECT rbac.user_update('u-a', user_role => 'org_admin')$$, '42501');
SELECT pg_temp.expect_error('a fellow org admin', $$SELECT rbac.user_update('u-oa2', max_budget => 1)$$, '42501');
SELECT pg_temp.expect_error('a user also in another organization', $$SELECT rbac.user_update('u-x', max_budget => 1)$$, '42501');
SELECT pg_temp.expect_error('a user of another organization', $$SELECT rbac.user_update('u-b', user_alias => 'x')$$, '42501');
SELECT pg_temp.expect_error('an unknown user (no probing)', $$SELECT rbac.user_update('u-nobody', user_alias => 'x')$$, '42501');
SELECT pg_temp.expect_error('a proxy admin user', $$SELECT rbac.user_update('u-admin', user_alias => 'x')$$, '42501');
SELECT pg_temp.expect_error('org admin raises its own budget', $$SELECT rbac.user_update('u-oa', max_budget => 1000)$$, '42501');
SELECT pg_temp.expect_eq('org admin renames itself', (SELECT user_alias FROM rbac.user_update('u-oa', user_alias => 'Olga')), 'Olga');
SELECT pg_temp.expect_error('unknown user_role', $$SELECT rbac.user_update('u-a', user_role => 'root')$$, '22023');
-- organizations: only the display name below a proxy admin
SELECT pg_temp.expect_eq('org admin renames its organization',
  (SELECT organization_alias FROM rbac.organization_update('o1', organization_alias => 'Org One')), 'Org One');
SELECT pg_temp.expect_error('org admin raises its organization''s budget', $$SELECT rbac.organization_update('o1', max_budget => 1000)$$, '42501');
SELECT pg_temp.expect_error('org admin clears its organization''s limit', $$SELECT rbac.organization_update('o1', clear => ARRAY['rpm_limit'])$$, '42501');
SELECT pg_temp.expect_error('org admin: another organization', $$SELECT rbac.organization_update('o2', organization_alias => 'x')$$, '42501');
SELECT pg_temp.expect_error('org admin deletes its organization', $$SELECT rbac.organization_delete('o1')$$, '42501');
-- block / unblock / delete
SELECT pg_temp.expect_eq('org admin blocks a team', (SELECT blocked FROM rbac.team_block('t1')), true);
SELECT pg_temp.expect_check('a blocked team''s keys are refused', 'sk-lc-a-team-000001', '/chat/completions', 'gpt-4o-mini', false, 'team_blocked');
SELECT pg_temp.expect_eq('org admin unblocks it', (SELECT blocked FROM rbac.team_unblock('t1')), false);
SELECT pg_temp.expect_eq('org admin deletes a plain member without keys', (SELECT rbac.user_delete('u-c')), 0);
SELECT pg_temp.expect_error('org admin: a user of two organizations', $$SELECT rbac.user_delete('u-x')$$, '42501');
SELECT pg_temp.expect_error('org admin deletes itself', $$SELECT rbac.user_delete('u-oa')$$, '42501');
SELECT pg_temp.expect_error('org admin: a user with keys, no cascade', $$SELECT rbac.user_delete('u-a')$$, '2BP01');

-- ===== team admin of t1 =====
SELECT pg_temp.expect_eq('team admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-lc-ta-0000000001')), true);
SELECT pg_temp.expect_error('team admin updates the team (LiteLLM: no team field)', $$SELECT rbac.team_update('t1', team_alias => 'x')$$, '42501');
SELECT pg_temp.expect_eq('team admin narrows a member', (SELECT rpm_limit FROM rbac.team_member_update('t1', 'u-a', rpm_limit => 50)), 50::bigint);
SELECT pg_temp.expect_eq('team admin promotes a member', (SELECT role FROM rbac.team_member_update('t1', 'u-a', role => 'admin')), 'admin');
SELECT rbac.team_member_update('t1', 'u-a', role => 'user');
SELECT pg_temp.expect_error('team admin raises its own member budget', $$SELECT rbac.team_member_update('t1', 'u-ta', max_budget => 6)$$, '42501');
SELECT pg_temp.expect_error('team admin clears its own member budget', $$SELECT rbac.team_member_update('t1', 'u-ta', clear => ARRAY['max_budget'])$$, '42501');
SELECT pg_temp.expect_error('team admin demotes itself', $$SELECT rbac.team_member_update('t1', 'u-ta', role => 'user')$$, '42501');
SELECT pg_temp.expect_eq('team admin blocks its team', (SELECT blocked FROM rbac.team_block('t1')), true);
SELECT pg_temp.expect_error('team admin cannot undo a block', $$SELECT rbac.team_unblock('t1')$$, '42501');
SELECT pg_temp.expect_error('team admin: delete a team with keys needs cascade', $$SELECT rbac.team_delete('t1')$$, '2BP01');
SELECT pg_temp.expect_error('team admin: another team', $$SELECT rbac.team_block('t2')$$, '42501');
SELECT pg_temp.expect_error('team admin deletes a user', $$SELECT rbac.user_delete('u-a', cascade => true)$$, '42501');

-- ===== internal user =====
SELECT pg_temp.expect_eq('member authenticates', (SELECT allowed FROM rbac.authenticate('sk-lc-a-00000000001')), true);
SELECT pg_temp.expect_eq('a user changes its own alias and e-mail',
  (SELECT row(user_alias, user_email)::text FROM rbac.user_update('u-a', user_alias => 'Ann', user_email => 'ann@example.test')),
  row('Ann', 'ann@example.test')::text);
SELECT pg_temp.expect_error('a user raises its own budget', $$SELECT rbac.user_update('u-a', max_budget => 99)$$, '42501');
SELECT pg_temp.expect_error('a user changes its own role', $$SELECT rbac.user_update('u-a', user_role => 'proxy_admin')$$, '42501');
SELECT pg_temp.expect_error('a user changes its own models', $$SELECT rbac.user_update('u-a', models => ARRAY['gpt-4o'])$$, '42501');
SELECT pg_temp.expect_error('a user changes another user', $$SELECT rbac.user_update('u-ta', user_alias => 'x')$$, '42501');
SELECT pg_temp.expect_error('a member changes its own member limits', $$SELECT rbac.team_member_update('t1', 'u-a', rpm_limit => 40)$$, '42501');
SELECT pg_temp.expect_error('a member blocks the team', $$SELECT rbac.team_block('t1')$$, '42501');
SELECT pg_temp.expect_error('a member deletes the team', $$SELECT rbac.team_delete('t1', cascade => true)$$, '42501');
SELECT pg_temp.expect_error('a member deletes itself', $$SELECT rbac.user_delete('u-a', cascade => true)$$, '42501');

-- ===== viewer: read-only =====
SELECT pg_temp.expect_eq('viewer authenticates', (SELECT allowed FROM rbac.authenticate('sk-lc-viewer-000001')), true);
SELECT pg_temp.expect_error('viewer blocks a team', $$SELECT rbac.team_block('t1')$$, '42501');
SELECT pg_temp.expect_error('viewer updates itself', $$SELECT rbac.user_update('u-viewer', user_alias => 'x')$$, '42501');
SELECT pg_temp.expect_error('viewer updates an organization', $$SELECT rbac.organization_update('o1', organization_alias => 'x')$$, '42501');

-- ===== a proxy admin's key limited to /team/block (routes derived from the function name) =====
SELECT pg_temp.expect_eq('route-limited admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-lc-admin-blk-001')), true);
SELECT pg_temp.expect_eq('its route: /team/block', (SELECT blocked FROM rbac.team_block('t2')), true);
SELECT pg_temp.expect_error('not its route: /team/unblock', $$SELECT rbac.team_unblock('t2')$$, '42501');
SELECT pg_temp.expect_error('not its route: /team/update', $$SELECT rbac.team_update('t2', team_alias => 'x')$$, '42501');

-- ===== proxy admin =====
SELECT pg_temp.expect_eq('admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-lc-admin-0000001')), true);
SELECT pg_temp.expect_eq('admin unblocks what the team admin blocked', (SELECT blocked FROM rbac.team_unblock('t1')), false);
SELECT pg_temp.expect_eq('admin clears a team budget', (SELECT max_budget FROM rbac.team_update('t1', clear => ARRAY['max_budget'])), NULL::numeric);
SELECT pg_temp.expect_error('admin: unknown team', $$SELECT rbac.team_update('t-nope', team_alias => 'x')$$, '22023');
SELECT pg_temp.expect_error('admin: unknown team to block', $$SELECT rbac.team_block('t-nope')$$, '22023');
SELECT pg_temp.expect_error('admin: unknown user', $$SELECT rbac.user_update('u-nobody', user_alias => 'x')$$, '22023');
SELECT pg_temp.expect_eq('admin changes a user''s role', (SELECT user_role::text FROM rbac.user_update('u-oa2', user_role => 'internal_user')), 'internal_user');
SELECT pg_temp.expect_error('admin: bad budget_duration (table rule)', $$SELECT rbac.user_update('u-a', budget_duration => '1 year')$$, '23514');
SELECT pg_temp.expect_error('admin narrows an organization below its team (table rule)',
  $$SELECT rbac.organization_update('o2', models => ARRAY['gpt-4o-mini'])$$, '23514');
SELECT pg_temp.expect_eq('admin raises an organization''s budget', (SELECT max_budget FROM rbac.organization_update('o1', max_budget => 1000)), 1000::numeric);
-- cascade decision
SELECT pg_temp.expect_error('team with keys, no cascade', $$SELECT rbac.team_delete('t1')$$, '2BP01');
SELECT pg_temp.expect_eq('nothing deleted by the refusal', (SELECT count(*) FROM rbac.keys WHERE team_id = 't1'), 1::bigint);
SELECT pg_temp.expect_eq('team_delete cascade deletes its keys', (SELECT rbac.team_delete('t1', cascade => true)), 1);
SELECT pg_temp.expect_eq('team, keys and memberships gone',
  (SELECT row((SELECT count(*) FROM rbac.teams WHERE team_id = 't1'), (SELECT count(*) FROM rbac.keys WHERE team_id = 't1'),
              (SELECT count(*) FROM rbac.team_members WHERE team_id = 't1'))::text), row(0, 0, 0)::text);
SELECT pg_temp.expect_eq('a team without keys needs no cascade', (SELECT rbac.team_delete('t0')), 0);
SELECT pg_temp.expect_error('user with keys, no cascade', $$SELECT rbac.user_delete('u-a')$$, '2BP01');
SELECT pg_temp.expect_eq('user_delete cascade', (SELECT rbac.user_delete('u-a', cascade => true)), 1);
SELECT pg_temp.expect_error('admin: unknown user to delete', $$SELECT rbac.user_delete('u-a')$$, '22023');
SELECT pg_temp.expect_error('organization with teams, no cascade', $$SELECT rbac.organization_delete('o2')$$, '2BP01');
SELECT pg_temp.expect_eq('organization_delete cascade deletes its teams'' keys', (SELECT rbac.organization_delete('o2', cascade => true)), 1);
SELECT pg_temp.expect_eq('its teams gone, its users stay',
  (SELECT row((SELECT count(*) FROM rbac.teams WHERE organization_id = 'o2'), (SELECT count(*) FROM rbac.users WHERE user_id = 'u-b'))::text),
  row(0, 1)::text);
SELECT pg_temp.expect_error('admin: unknown organization', $$SELECT rbac.organization_delete('o2')$$, '22023');
RESET ROLE;

-- ===== audit: every change with its actor =====
SELECT pg_temp.expect_eq('team updates audited with their actors',
  (SELECT array_agg(DISTINCT actor ORDER BY actor) FROM rbac.audit_log WHERE table_name = 'teams' AND object_id = 't1' AND action <> 'created'),
  ARRAY['u-admin', 'u-oa', 'u-ta']);
SELECT pg_temp.expect_eq('team block audited as blocked by the team admin',
  (SELECT count(*) FROM rbac.audit_log WHERE table_name = 'teams' AND object_id = 't1' AND action = 'blocked' AND actor = 'u-ta'), 1::bigint);
SELECT pg_temp.expect_eq('member updates audited',
  (SELECT array_agg(DISTINCT actor ORDER BY actor) FROM rbac.audit_log WHERE table_name = 'team_members' AND object_id = 't1:u-a' AND action = 'updated'),
  ARRAY['u-oa', 'u-ta']);
SELECT pg_temp.expect_eq('self update audited', (SELECT count(*) > 0 FROM rbac.audit_log WHERE table_name = 'users' AND object_id = 'u-a'
  AND action = 'updated' AND actor = 'u-a' AND after ->> 'user_alias' = 'Ann'), true);
SELECT pg_temp.expect_eq('cascaded key deletions audited', (SELECT count(*) FROM rbac.audit_log WHERE table_name = 'keys' AND action = 'deleted'
  AND actor = 'u-admin'), 3::bigint);

-- ===== database roles without a principal (non-superusers) =====
SELECT pg_temp.expect_eq('a failed authentication clears the principal', (SELECT allowed FROM rbac.authenticate('sk-lc-not-a-key-0001')), false);
CREATE ROLE lc_proxy LOGIN IN ROLE rbac_api;
CREATE ROLE lc_dba LOGIN IN ROLE rbac_admin;
SET LOCAL ROLE lc_proxy;
SELECT pg_temp.expect_error('rbac_api login without a principal', $$SELECT rbac.team_block('t2')$$, '42501');
SELECT pg_temp.expect_error('rbac_api login without a principal: user_update', $$SELECT rbac.user_update('u-b', user_alias => 'x')$$, '42501');
SET LOCAL ROLE lc_dba;
SELECT pg_temp.expect_eq('rbac_admin login acts as a proxy admin', (SELECT user_alias FROM rbac.user_update('u-b', user_alias => 'Bea')), 'Bea');
SELECT pg_temp.expect_eq('rbac_admin login deletes a user whose keys went with its team', (SELECT rbac.user_delete('u-b')), 0);
RESET ROLE;
SELECT pg_temp.expect_eq('rbac_admin change audited with db_user and no actor',
  (SELECT row(db_user, actor)::text FROM rbac.audit_log WHERE table_name = 'users' AND object_id = 'u-b' AND after ->> 'user_alias' = 'Bea'),
  row('lc_dba', NULL::text)::text);

-- review: an org admin never changes or deletes a fellow org admin (only a proxy admin does)
RESET ROLE;
INSERT INTO rbac.organizations(organization_id) VALUES ('o-peer');
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-peer-a', 'internal_user'), ('u-peer-b', 'internal_user'), ('u-peer-m', 'internal_user');
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES ('o-peer', 'u-peer-a', 'org_admin'),
  ('o-peer', 'u-peer-b', 'org_admin'), ('o-peer', 'u-peer-m', 'internal_user');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-lc-peer-a-00001'), 'u-peer-a');
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('peer org admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-lc-peer-a-00001')), true);
SELECT pg_temp.expect_error('demote a fellow org admin', $$SELECT rbac.user_update('u-peer-b', user_role => 'internal_user_viewer')$$, '42501');
SELECT pg_temp.expect_error('limit a fellow org admin', $$SELECT rbac.user_update('u-peer-b', max_budget => 0.01)$$, '42501');
SELECT pg_temp.expect_error('delete a fellow org admin', $$SELECT rbac.user_delete('u-peer-b', cascade => true)$$, '42501');
SELECT pg_temp.expect_eq('a plain member of the organization is still managed', (SELECT max_budget FROM rbac.user_update('u-peer-m', max_budget => 1)), 1::numeric);
RESET ROLE;
SELECT pg_temp.expect_eq('the fellow org admin is untouched', (SELECT row(user_role, max_budget)::text FROM rbac.users WHERE user_id = 'u-peer-b'),
  row('internal_user', NULL::numeric)::text);
