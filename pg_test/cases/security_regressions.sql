-- Regressions found by adversarial review: a team key cannot move to another organization, a JWT organization
-- claim cannot move a team out of its organization, and ROLLBACK TO SAVEPOINT undoes an authentication.
INSERT INTO rbac.organizations(organization_id, models, max_budget) VALUES ('org-a', ARRAY['gpt-4o-mini'], 10), ('org-b', '{}', NULL);
INSERT INTO rbac.teams(team_id, organization_id) VALUES ('t-in-a', 'org-a');
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-escape', 'internal_user');
INSERT INTO rbac.keys(key_hash, user_id, team_id) VALUES (pg_temp.h('sk-case-escape-home'), 'u-escape', 't-in-a');

-- 1. a team key's organization is its team's
SELECT pg_temp.expect_error('team key in another organization', $$INSERT INTO rbac.keys(key_hash, team_id, organization_id)
  VALUES (pg_temp.h('sk-case-escape-0001'), 't-in-a', 'org-b')$$, '23514');
SELECT pg_temp.expect_error('moving a team key to another organization', $$UPDATE rbac.keys SET organization_id = 'org-b'
  WHERE key_hash = pg_temp.h('sk-case-escape-home')$$, '23514');
INSERT INTO rbac.keys(key_hash, team_id, organization_id) VALUES (pg_temp.h('sk-case-escape-same'), 't-in-a', 'org-a');
SELECT pg_temp.expect_check('the team''s organization applies', 'sk-case-escape-same', '/chat/completions', 'gpt-4o', false, 'org_model_access_denied');
-- even a row written before this rule (triggers bypassed) is judged by its team's organization
SET LOCAL session_replication_role = replica;
INSERT INTO rbac.keys(key_hash, team_id, organization_id) VALUES (pg_temp.h('sk-case-escape-raw1'), 't-in-a', 'org-b');
SET LOCAL session_replication_role = DEFAULT;
SELECT pg_temp.expect_check('inconsistent row: team organization wins', 'sk-case-escape-raw1', '/chat/completions', 'gpt-4o', false, 'org_model_access_denied');
SELECT pg_temp.expect_eq('decision names the team organization',
  (SELECT organization_id FROM rbac.rbac_check('sk-case-escape-raw1', '/chat/completions', 'gpt-4o-mini')), 'org-a');
UPDATE rbac.organizations SET blocked = true WHERE organization_id = 'org-a';
SELECT pg_temp.expect_check('blocked team organization applies', 'sk-case-escape-raw1', '/chat/completions', 'gpt-4o-mini', false, 'organization_blocked');
UPDATE rbac.organizations SET blocked = false WHERE organization_id = 'org-a';

-- 2. ROLLBACK TO SAVEPOINT undoes an authentication made inside the savepoint
SELECT pg_temp.expect_eq('authenticate outside', (SELECT allowed FROM rbac.authenticate('sk-case-escape-home')), true);
SAVEPOINT s1;
SELECT pg_temp.expect_eq('clear inside the savepoint', (SELECT allowed FROM rbac.authenticate('garbage')), false);
SELECT pg_temp.expect_eq('no principal inside', (SELECT user_id FROM rbac.current_principal()), NULL::text);
ROLLBACK TO SAVEPOINT s1;
SELECT pg_temp.expect_eq('principal back after rollback to savepoint', (SELECT user_id FROM rbac.current_principal()), 'u-escape');
SELECT pg_temp.expect_eq('clear', (SELECT allowed FROM rbac.authenticate('')), false);
SAVEPOINT s2;
SELECT pg_temp.expect_eq('authenticate inside the savepoint', (SELECT allowed FROM rbac.authenticate('sk-case-escape-home')), true);
ROLLBACK TO SAVEPOINT s2;
SELECT pg_temp.expect_eq('no principal after rolling it back', (SELECT user_id FROM rbac.current_principal()), NULL::text);
SAVEPOINT s3;
SELECT pg_temp.expect_eq('authenticate in a released savepoint', (SELECT allowed FROM rbac.authenticate('sk-case-escape-home')), true);
RELEASE SAVEPOINT s3;
SELECT pg_temp.expect_eq('kept after release', (SELECT user_id FROM rbac.current_principal()), 'u-escape');
