-- Contract scenario: which models a request may use.
-- Model lists are globs where only `*` is special (the dot of gpt-4.1* is literal), names are case-sensitive, a
-- bare model name matches `provider/*` only through rbac.models.provider, an empty list, `*` and
-- all-proxy-models allow everything, and an access-group name allows the models tagged with it. Every level
-- that applies must allow the model: key lists must lie within the team's (checked at write time, 23514, and at
-- request time), the user's list applies to personal keys only (no-default-models blocks them), a team member's
-- allowed_models narrow the team's, and a customer (end user) may be blocked or limited to some models; an
-- unknown customer is unrestricted.
-- See docs/concepts.md (Models and access groups, End users, Write-time validation) and
-- docs/litellm-migration.md (Deliberate differences: wildcards are globs).
INSERT INTO rbac.models(model_name, provider, access_groups) VALUES
  ('openai/gpt-4o', 'openai', '{}'), ('gpt-4o', 'openai', ARRAY['beta-models']), ('gpt-4o-mini', 'openai', '{}'),
  ('gpt-4.1-mini', 'openai', '{}'), ('gpt-4x1-mini', 'acme', '{}'), ('claude-3', 'anthropic', ARRAY['beta-models']),
  ('mistral-large', 'mistral', '{}');
INSERT INTO rbac.teams(team_id, models) VALUES
  ('t-openai', ARRAY['openai/*']), ('t-glob', ARRAY['gpt-4.1*']), ('t-all', '{}'), ('t-star', ARRAY['*']),
  ('t-proxy', ARRAY['all-proxy-models']), ('t-exact', ARRAY['gpt-4o']), ('t-group', ARRAY['beta-models']);
INSERT INTO rbac.keys(key_hash, team_id) SELECT pg_temp.h('sk-case-' || team_id), team_id FROM rbac.teams;

SELECT pg_temp.expect_check('provider wildcard', 'sk-case-t-openai', '/chat/completions', 'openai/gpt-4o', true, 'ok', 't-openai');
SELECT pg_temp.expect_check('bare name via provider', 'sk-case-t-openai', '/chat/completions', 'gpt-4o-mini', true, 'ok');
SELECT pg_temp.expect_check('other provider denied', 'sk-case-t-openai', '/chat/completions', 'claude-3', false, 'team_model_access_denied');
SELECT pg_temp.expect_check('glob matches', 'sk-case-t-glob', '/chat/completions', 'gpt-4.1-mini', true, 'ok');
SELECT pg_temp.expect_check('dot is literal in globs', 'sk-case-t-glob', '/chat/completions', 'gpt-4x1-mini', false, 'team_model_access_denied');
SELECT pg_temp.expect_check('empty list = all', 'sk-case-t-all', '/chat/completions', 'mistral-large', true, 'ok');
SELECT pg_temp.expect_check('star = all', 'sk-case-t-star', '/chat/completions', 'mistral-large', true, 'ok');
SELECT pg_temp.expect_check('all-proxy-models', 'sk-case-t-proxy', '/chat/completions', 'mistral-large', true, 'ok');
SELECT pg_temp.expect_check('case sensitive', 'sk-case-t-exact', '/chat/completions', 'GPT-4o', false, 'team_model_access_denied');
SELECT pg_temp.expect_check('access group member', 'sk-case-t-group', '/chat/completions', 'claude-3', true, 'ok');
SELECT pg_temp.expect_check('access group non-member', 'sk-case-t-group', '/chat/completions', 'mistral-large', false, 'team_model_access_denied');

-- key lists must lie within the team's; the key check and the team check both apply
SELECT pg_temp.expect_error('key models outside team models', $$INSERT INTO rbac.keys(key_hash, team_id, models) VALUES (pg_temp.h('sk-case-bad-key-001'), 't-exact', ARRAY['claude-3'])$$, '23514');
INSERT INTO rbac.keys(key_hash, team_id, models) VALUES (pg_temp.h('sk-case-narrow-0001'), 't-openai', ARRAY['openai/gpt-4o']);
SELECT pg_temp.expect_check('key narrower than team', 'sk-case-narrow-0001', '/chat/completions', 'gpt-4o-mini', false, 'key_model_access_denied');

-- personal keys: the user's list applies when there is no team; no-default-models blocks personal keys only
INSERT INTO rbac.users(user_id, user_role, models) VALUES ('u-limited', 'internal_user', ARRAY['gpt-4o']),
  ('u-nodefault', 'internal_user', ARRAY['no-default-models']);
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-case-u-limited'), 'u-limited'), (pg_temp.h('sk-case-u-nodefault'), 'u-nodefault');
INSERT INTO rbac.team_members(team_id, user_id, role) VALUES ('t-all', 'u-nodefault', 'user');
INSERT INTO rbac.keys(key_hash, user_id, team_id) VALUES (pg_temp.h('sk-case-u-nodefault-team'), 'u-nodefault', 't-all');
SELECT pg_temp.expect_check('user list', 'sk-case-u-limited', '/chat/completions', 'claude-3', false, 'user_model_access_denied');
SELECT pg_temp.expect_check('no-default-models personal key', 'sk-case-u-nodefault', '/chat/completions', 'gpt-4o', false, 'user_model_access_denied');
SELECT pg_temp.expect_check('no-default-models team key', 'sk-case-u-nodefault-team', '/chat/completions', 'gpt-4o', true, 'ok');

-- team member scope
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-member', 'internal_user');
INSERT INTO rbac.team_members(team_id, user_id, role, allowed_models) VALUES ('t-all', 'u-member', 'user', ARRAY['gpt-4o']);
INSERT INTO rbac.keys(key_hash, user_id, team_id) VALUES (pg_temp.h('sk-case-u-member'), 'u-member', 't-all');
SELECT pg_temp.expect_check('member scope allows', 'sk-case-u-member', '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('member scope denies', 'sk-case-u-member', '/chat/completions', 'claude-3', false, 'team_model_access_denied');

-- end users (customers)
INSERT INTO rbac.end_users(end_user_id, models) VALUES ('cust-1', ARRAY['gpt-4o']);
INSERT INTO rbac.end_users(end_user_id, blocked) VALUES ('cust-blocked', true);
SELECT pg_temp.expect_check('customer list', 'sk-case-t-all', '/chat/completions', 'claude-3', false, 'customer_model_access_denied', NULL, NULL, 'cust-1');
SELECT pg_temp.expect_check('customer allowed', 'sk-case-t-all', '/chat/completions', 'gpt-4o', true, 'ok', NULL, NULL, 'cust-1');
SELECT pg_temp.expect_check('customer blocked', 'sk-case-t-all', '/chat/completions', 'gpt-4o', false, 'end_user_blocked', NULL, NULL, 'cust-blocked');
SELECT pg_temp.expect_check('unknown customer is fine', 'sk-case-t-all', '/chat/completions', 'gpt-4o', true, 'ok', NULL, NULL, 'cust-unknown');
