-- Policy for the pg-rbac-proxy end-to-end test (pg_test/client/proxy_e2e.sh). Everything is named px-* and is
-- removed and recreated on each run, so the test can run again on the same cluster.
-- psql variables: mock_base = the mock upstream's base URL (http://127.0.0.1:PORT/v1).
\set ON_ERROR_STOP 1
BEGIN;
DELETE FROM rbac.reservations WHERE team_id = 'px-team' OR user_id LIKE 'px-%'
  OR key_hash IN (SELECT key_hash FROM rbac.keys WHERE team_id = 'px-team' OR user_id LIKE 'px-%' OR key_alias LIKE 'px-%');
DELETE FROM rbac.spend_log WHERE team_id = 'px-team' OR user_id LIKE 'px-%' OR model LIKE 'px-%';
DELETE FROM rbac.keys WHERE team_id LIKE 'px-%' OR user_id LIKE 'px-%' OR key_alias LIKE 'px-%' OR created_by LIKE 'px-%';
DELETE FROM rbac.team_members WHERE team_id LIKE 'px-%';
DELETE FROM rbac.teams WHERE team_id LIKE 'px-%';
DELETE FROM rbac.users WHERE user_id LIKE 'px-%';
DELETE FROM rbac.end_users WHERE end_user_id LIKE 'px-%';
DELETE FROM rbac.models WHERE model_name LIKE 'px-%';
DELETE FROM rbac.rate_windows WHERE subject LIKE '%px-%'
  OR subject IN (SELECT rbac.hash_key(k) FROM unnest(ARRAY['sk-px-main-00000000001', 'sk-px-rpm-000000000001',
     'sk-px-budget-000000001', 'sk-px-spent-0000000001', 'sk-px-stream-000000001', 'sk-px-admin-000000001']) k);

INSERT INTO rbac.models (model_name, provider, api_base, upstream_model, api_key_env, input_cost_per_token, output_cost_per_token) VALUES
  ('px-gpt',      'openai',    :'mock_base', 'mock-gpt-1',    'PG_RBAC_PROVIDER_KEY_MOCK',    0.000001,  0.000002),
  ('px-claude',   'anthropic', :'mock_base', 'mock-claude-1', 'PG_RBAC_PROVIDER_KEY_MOCK',    0.000003,  0.000015),
  ('px-embed',    'openai',    :'mock_base', 'mock-embed-1',  'PG_RBAC_PROVIDER_KEY_MOCK',    0.0000001, 0),
  ('px-broken',   'openai',    :'mock_base', 'mock-broken',   'PG_RBAC_PROVIDER_KEY_MOCK',    0.000001,  0.000002),
  -- a proxy admin pointing a model at a variable outside the provider key prefix: never sent anywhere
  ('px-evil',     'openai',    :'mock_base', NULL,            'PX_SECRET_NOT_A_PROVIDER_KEY', 0.000001,  0.000002),
  -- no api_base: not routable by this proxy
  ('px-unrouted', 'openai',    NULL,         NULL,            NULL,                           0.000001,  0.000002),
  -- in the catalogue, but not in the test keys' model lists
  ('px-other',    'openai',    :'mock_base', NULL,            'PG_RBAC_PROVIDER_KEY_MOCK',    0.000001,  0.000002);

INSERT INTO rbac.users (user_id, user_role) VALUES ('px-admin', 'proxy_admin');
INSERT INTO rbac.teams (team_id, team_alias, models, max_budget) VALUES
  ('px-team', 'proxy e2e', ARRAY['px-gpt', 'px-claude', 'px-embed', 'px-broken', 'px-evil', 'px-unrouted', 'px-other'], 100);
INSERT INTO rbac.end_users (end_user_id, blocked) VALUES ('px-blocked-customer', true);

INSERT INTO rbac.keys (key_hash, key_alias, team_id, models, rpm_limit, max_budget, spend, max_parallel_requests) VALUES
  (rbac.hash_key('sk-px-main-00000000001'),  'px-main',   'px-team', ARRAY['px-gpt', 'px-claude', 'px-embed', 'px-broken', 'px-evil', 'px-unrouted'], NULL, NULL, 0, NULL),
  (rbac.hash_key('sk-px-rpm-000000000001'),  'px-rpm',    'px-team', ARRAY['px-gpt'], 2, NULL, 0, NULL),
  (rbac.hash_key('sk-px-budget-000000001'),  'px-budget', 'px-team', ARRAY['px-gpt'], NULL, 0.0002, 0, NULL),
  (rbac.hash_key('sk-px-spent-0000000001'),  'px-spent',  'px-team', ARRAY['px-gpt'], NULL, 0.01, 0.01, NULL),
  (rbac.hash_key('sk-px-stream-000000001'),  'px-stream', 'px-team', ARRAY['px-gpt', 'px-claude'], NULL, NULL, 0, 1);
INSERT INTO rbac.keys (key_hash, key_alias, user_id) VALUES (rbac.hash_key('sk-px-admin-000000001'), 'px-admin-key', 'px-admin');
COMMIT;
