-- Contract scenario: the route gate.
-- What a key may call depends on its owner's role (proxy_admin, proxy_admin_viewer, internal_user,
-- internal_user_viewer): internal users call LLM and info routes but cannot manage teams or create
-- organizations, viewers read spend but write nothing, and master-key-only routes are refused to everyone (there
-- is no master key). A key's allowed_routes restrict it whatever the role; an entry may name a route group, and
-- an exact path also allows its sub-paths but is not a string prefix (/custom allows /custom/v1/run, not
-- /customx).
-- See docs/concepts.md (Users and roles, Route groups: the route gate) and docs/litellm-migration.md
-- (Deliberate differences: no master key).
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-admin', 'proxy_admin'), ('u-viewer', 'proxy_admin_viewer'),
  ('u-int', 'internal_user'), ('u-intv', 'internal_user_viewer');
INSERT INTO rbac.keys(key_hash, user_id) SELECT pg_temp.h('sk-case-' || user_id), user_id FROM rbac.users;
INSERT INTO rbac.keys(key_hash, user_id, allowed_routes) VALUES (pg_temp.h('sk-case-only-chat'), 'u-int', ARRAY['/chat/completions']),
  (pg_temp.h('sk-case-llm-group'), 'u-admin', ARRAY['llm_api_routes']), (pg_temp.h('sk-case-prefix-01'), 'u-int', ARRAY['/custom']);

SELECT pg_temp.expect_check('admin manages teams', 'sk-case-u-admin', '/team/new', NULL, true, 'ok');
SELECT pg_temp.expect_check('internal user chats', 'sk-case-u-int', '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('internal user azure path', 'sk-case-u-int', '/openai/deployments/gpt-4o/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('internal user info', 'sk-case-u-int', '/key/info', NULL, true, 'ok');
SELECT pg_temp.expect_check('internal user no team/new', 'sk-case-u-int', '/team/new', NULL, false, 'route_not_allowed');
SELECT pg_temp.expect_check('internal user no org/new', 'sk-case-u-int', '/organization/new', NULL, false, 'route_not_allowed');
SELECT pg_temp.expect_check('viewer cannot write', 'sk-case-u-viewer', '/team/new', NULL, false, 'route_not_allowed');
SELECT pg_temp.expect_check('viewer reads spend', 'sk-case-u-viewer', '/global/spend/keys', NULL, true, 'ok');
SELECT pg_temp.expect_check('internal viewer no key writes', 'sk-case-u-intv', '/key/generate', NULL, false, 'route_not_allowed');
SELECT pg_temp.expect_check('master-key-only route', 'sk-case-u-admin', '/global/spend/reset', NULL, false, 'route_not_allowed');
SELECT pg_temp.expect_check('allowed_routes exact', 'sk-case-only-chat', '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('allowed_routes blocks others', 'sk-case-only-chat', '/embeddings', 'gpt-4o', false, 'route_not_allowed');
SELECT pg_temp.expect_check('allowed_routes group', 'sk-case-llm-group', '/embeddings', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('group excludes management', 'sk-case-llm-group', '/key/generate', NULL, false, 'route_not_allowed');
SELECT pg_temp.expect_check('prefix is a path prefix', 'sk-case-prefix-01', '/custom/v1/run', NULL, true, 'ok');
SELECT pg_temp.expect_check('prefix is not a string prefix', 'sk-case-prefix-01', '/customx', NULL, false, 'route_not_allowed');
