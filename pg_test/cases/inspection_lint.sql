-- rbac.policy_lint (docs/inspection.md): a policy seeded with each problem (rows the triggers would refuse are
-- written with SET LOCAL session_replication_role = replica, as a DBA restoring or bulk-loading might), then
-- linted as rbac_admin and as a proxy-admin principal of rbac_api; refused to everyone else.
INSERT INTO rbac.models(model_name, provider, access_groups) VALUES
  ('gpt-4o', 'openai', ARRAY['prod']), ('gpt-4o-mini', 'openai', ARRAY['prod']), ('claude-3', 'anthropic', '{}'),
  ('bedrock/*', 'bedrock', '{}');
INSERT INTO rbac.users(user_id, user_role) VALUES ('lu-admin', 'proxy_admin'), ('lu-orgadm', 'internal_user');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-lint-admin-00001'), 'lu-admin');
-- a clean policy: organization, team, member, keys within each other; list entries that are all known
INSERT INTO rbac.organizations(organization_id, models, max_budget, rpm_limit) VALUES
  ('lo1', ARRAY['gpt-4o', 'gpt-4o-mini', 'bedrock/*'], 100, 1000);
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES ('lo1', 'lu-orgadm', 'org_admin');
INSERT INTO rbac.keys(key_hash, user_id, organization_id) VALUES (pg_temp.h('sk-lint-orgadm-0001'), 'lu-orgadm', 'lo1');
INSERT INTO rbac.teams(team_id, organization_id, models, max_budget, rpm_limit) VALUES
  ('lt1', 'lo1', ARRAY['gpt-4o', 'gpt-4o-mini'], 50, 100), ('lt2', 'lo1', ARRAY['prod', 'bedrock/claude-x'], 50, 100);
INSERT INTO rbac.users(user_id, user_role, models) VALUES ('lu1', 'internal_user', ARRAY['*', 'prod', 'openai/*', 'all-team-models']);
INSERT INTO rbac.team_members(team_id, user_id, max_budget, allowed_models) VALUES ('lt1', 'lu1', 10, ARRAY['gpt-4o-mini']);
INSERT INTO rbac.keys(key_hash, user_id, team_id, models, max_budget, budget_duration) VALUES
  (pg_temp.h('sk-lint-k1-0000001'), 'lu1', 'lt1', ARRAY['gpt-4o-mini'], 5, '30d'),
  (pg_temp.h('sk-lint-parent-001'), 'lu1', NULL, '{}', 20, NULL);
INSERT INTO rbac.keys(key_hash, user_id, expires, budget_from_key, max_budget) VALUES
  (pg_temp.h('sk-lint-child-0001'), 'lu1', now() - interval '1 day', pg_temp.h('sk-lint-parent-001'), 2);

SET LOCAL ROLE rbac_admin;
SELECT pg_temp.expect_eq('clean policy lints clean', (SELECT count(*) FROM rbac.policy_lint() WHERE object NOT LIKE 'jwt issuer %'), 0::bigint);
RESET ROLE;

-- Now one row per problem.
SET LOCAL session_replication_role = replica;
-- the team narrowed behind its key's and member's back (the trigger would refuse this UPDATE)
UPDATE rbac.teams SET models = ARRAY['gpt-4o'] WHERE team_id = 'lt1';
-- member budget above the team's
UPDATE rbac.team_members SET max_budget = 80 WHERE team_id = 'lt1' AND user_id = 'lu1';
-- a team-less organization key outside its organization
INSERT INTO rbac.keys(key_hash, user_id, organization_id, models) VALUES (pg_temp.h('sk-lint-k2-0000001'), 'lu-orgadm', 'lo1', ARRAY['claude-3']);
-- a team above its organization: models, budget, rpm, max_parallel_requests (org has none: not a finding)
INSERT INTO rbac.teams(team_id, organization_id, models, max_budget, rpm_limit, max_parallel_requests) VALUES
  ('lt3', 'lo1', ARRAY['claude-3'], 500, 5000, 7);
-- a budget period that never restarts
UPDATE rbac.keys SET budget_reset_at = NULL WHERE key_hash = pg_temp.h('sk-lint-k1-0000001');
INSERT INTO rbac.end_users(end_user_id, budget_duration, budget_reset_at) VALUES ('lc1', '1d', NULL);
-- an empty access-group name
UPDATE rbac.models SET access_groups = ARRAY['']  WHERE model_name = 'claude-3';
RESET session_replication_role;
-- list entries naming nothing (the triggers accept these: they check containment, not existence)
UPDATE rbac.users SET models = ARRAY['gpt-4o', 'gpt-5-turbo', 'deleted-group'] WHERE user_id = 'lu-orgadm';
INSERT INTO rbac.role_permissions(role, models) VALUES ('internal_user', ARRAY['ghost-model']);
-- a key expired long ago and not blocked (the one expired yesterday is not reported), a blocked one is fine
INSERT INTO rbac.keys(key_hash, user_id, expires, blocked) VALUES
  (pg_temp.h('sk-lint-old-000001'), 'lu1', now() - interval '40 days', false),
  (pg_temp.h('sk-lint-oldblk-001'), 'lu1', now() - interval '40 days', true);
-- a delegated budget taken from a key that has none
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-lint-nobudget-1'), 'lu1');
INSERT INTO rbac.keys(key_hash, user_id, budget_from_key) VALUES (pg_temp.h('sk-lint-child-0002'), 'lu1', pg_temp.h('sk-lint-nobudget-1'));
-- a JWT issuer without keys (the trigger only warns)
SET LOCAL client_min_messages = error;
INSERT INTO rbac.jwt_issuers(issuer, audiences) VALUES ('https://empty.example.test', ARRAY['litellm']);
RESET client_min_messages;
-- a user row nothing uses
INSERT INTO rbac.users(user_id, user_role) VALUES ('lu-ghost', 'internal_user_viewer');
-- a deprecated key past its grace period
INSERT INTO rbac.deprecated_keys(key_hash, active_key_hash, revoke_at) VALUES
  (pg_temp.h('sk-lint-gone-00001'), pg_temp.h('sk-lint-parent-001'), now() - interval '1 day');

CREATE TEMP TABLE want(severity text, object text, problem text);
INSERT INTO want VALUES
  ('error', 'key ' || pg_temp.h('sk-lint-k1-0000001'), 'models entry "gpt-4o-mini" is not within team lt1''s models {gpt-4o}'),
  ('error', 'key ' || pg_temp.h('sk-lint-k1-0000001'), 'budget_duration 30d but no budget_reset_at: the period never resets'),
  ('error', 'key ' || pg_temp.h('sk-lint-k2-0000001'), 'models entry "claude-3" is not within organization lo1''s models {gpt-4o,gpt-4o-mini,bedrock/*}'),
  ('error', 'team lt3', 'models entry "claude-3" is not within organization lo1''s models {gpt-4o,gpt-4o-mini,bedrock/*}'),
  ('error', 'team lt3', 'max_budget 500 is above organization lo1''s 100'),
  ('error', 'team lt3', 'rpm_limit 5000 is above organization lo1''s 1000'),
  ('error', 'team member lt1/lu1', 'allowed_models entry "gpt-4o-mini" is not within team lt1''s models'),
  ('error', 'team member lt1/lu1', 'max_budget 80 is above team lt1''s max_budget 50'),
  ('error', 'customer lc1', 'budget_duration 1d but no budget_reset_at: the period never resets'),
  ('error', 'jwt issuer https://empty.example.test', 'the JWKS holds no key: no token of this issuer verifies'),
  ('warning', 'user lu-orgadm', 'models entry "gpt-5-turbo" names no model, access group or wildcard deployment of rbac.models'),
  ('warning', 'user lu-orgadm', 'models entry "deleted-group" names no model, access group or wildcard deployment of rbac.models'),
  ('warning', 'role internal_user', 'role_permissions.models entry "ghost-model" names no model, access group or wildcard deployment of rbac.models'),
  ('warning', 'model claude-3', 'access_groups holds an empty group name'),
  ('warning', 'key ' || pg_temp.h('sk-lint-child-0002'), 'budget_from_key ' || pg_temp.h('sk-lint-nobudget-1') || ' has no max_budget: unspent budget returned on deletion goes nowhere'),
  ('info', 'user lu-ghost', 'role internal_user_viewer but no key, no team, no organization and no spend: never used'),
  ('info', 'deprecated key ' || pg_temp.h('sk-lint-gone-00001'), 'grace period ended ' || (SELECT revoke_at FROM rbac.deprecated_keys WHERE key_hash = pg_temp.h('sk-lint-gone-00001')) || '; the row no longer authenticates');
-- the expired-for-long key: its problem names its expiry time
INSERT INTO want SELECT 'warning', 'key ' || key_hash, format('expired %s (over 30 days ago) and not blocked', expires)
FROM rbac.keys WHERE key_hash = pg_temp.h('sk-lint-old-000001');
GRANT SELECT ON want TO PUBLIC;

CREATE FUNCTION pg_temp.lint_diff() RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(d, E'\n' ORDER BY d), '') FROM (
    (SELECT '+ ' || row(severity, object, problem)::text FROM rbac.policy_lint() WHERE object NOT LIKE 'jwt issuer https://%idp%'
       AND object NOT LIKE 'jwt issuer https://hs.%' AND object NOT LIKE 'jwt issuer https://login.%'
     EXCEPT SELECT '+ ' || row(severity, object, problem)::text FROM want)
    UNION ALL
    (SELECT '- ' || row(severity, object, problem)::text FROM want
     EXCEPT SELECT '- ' || row(severity, object, problem)::text FROM rbac.policy_lint())) s(d)
$$;

SET LOCAL ROLE rbac_admin;
SELECT pg_temp.expect_eq('rbac_admin: every seeded problem, nothing else', pg_temp.lint_diff(), '');
SELECT pg_temp.expect_eq('every finding has a hint', (SELECT count(*) FROM rbac.policy_lint() WHERE coalesce(hint, '') = ''), 0::bigint);
SELECT pg_temp.expect_eq('errors first, then warnings, info last',
  (SELECT array_agg(severity ORDER BY n) FROM (SELECT severity, min(n) n FROM (SELECT severity, row_number() OVER () n FROM rbac.policy_lint()) r GROUP BY severity) g),
  ARRAY['error', 'warning', 'info']);
SELECT pg_temp.expect_eq('hint for the never-resetting key', (SELECT hint FROM rbac.policy_lint() WHERE object = 'key ' || pg_temp.h('sk-lint-k1-0000001') AND problem LIKE 'budget_duration%'),
  'set budget_reset_at = rbac.next_budget_reset(''30d'', now()) on it');
RESET ROLE;

SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_error('rbac_api without a principal', $$SELECT * FROM rbac.policy_lint()$$, '42501');
SELECT pg_temp.expect_eq('org admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-lint-orgadm-0001')), true);
SELECT pg_temp.expect_error('org admin refused', $$SELECT * FROM rbac.policy_lint()$$, '42501');
SELECT pg_temp.expect_eq('proxy admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-lint-admin-00001')), true);
SELECT pg_temp.expect_eq('proxy admin principal: the same findings', pg_temp.lint_diff(), '');

-- following the hints clears the findings
RESET ROLE;
UPDATE rbac.keys SET budget_reset_at = rbac.next_budget_reset('30d', now()) WHERE key_hash = pg_temp.h('sk-lint-k1-0000001');
UPDATE rbac.keys SET blocked = true WHERE key_hash = pg_temp.h('sk-lint-old-000001');
DELETE FROM rbac.deprecated_keys WHERE revoke_at < now();
SET LOCAL ROLE rbac_admin;
SELECT pg_temp.expect_eq('fixed findings are gone',
  (SELECT count(*) FROM rbac.policy_lint() WHERE object IN ('key ' || pg_temp.h('sk-lint-old-000001'), 'deprecated key ' || pg_temp.h('sk-lint-gone-00001'))
     OR (object = 'key ' || pg_temp.h('sk-lint-k1-0000001') AND problem LIKE 'budget_duration%')), 0::bigint);
