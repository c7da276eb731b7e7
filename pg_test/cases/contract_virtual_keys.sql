-- Contract scenario: virtual keys.
-- A key is looked up by the lower-hex SHA-256 of its plaintext, the same hash LiteLLM stores, so an existing
-- LiteLLM key (sk-1234) authenticates unchanged and the decision carries that hash. Missing, empty, unknown and
-- non-key tokens are refused (missing_token / invalid_token), a blocked key gives key_blocked, a key past its
-- `expires` gives token_expired, a future expiry is fine, and the key's own model list is enforced
-- (key_model_access_denied). A NULL route is a usage error (22023).
-- See docs/concepts.md (Virtual keys), docs/litellm-migration.md (What maps to what) and docs/sql-reference.md
-- (rbac.rbac_check, Reason codes and order of checks).
INSERT INTO rbac.keys(key_hash) VALUES ('88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b');  -- LiteLLM's hash of sk-1234
INSERT INTO rbac.keys(key_hash, blocked) VALUES (pg_temp.h('sk-case-blocked-0001'), true);
INSERT INTO rbac.keys(key_hash, expires) VALUES (pg_temp.h('sk-case-expired-0001'), now() - interval '1 second');
INSERT INTO rbac.keys(key_hash, expires) VALUES (pg_temp.h('sk-case-future-00001'), now() + interval '1 day');
INSERT INTO rbac.keys(key_hash, models) VALUES (pg_temp.h('sk-case-models-00001'), ARRAY['gpt-4o']);

SELECT pg_temp.expect_check('litellm hash is compatible', 'sk-1234', '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('unknown key', 'sk-nope-nope-nope-nope', '/chat/completions', 'gpt-4o', false, 'invalid_token');
SELECT pg_temp.expect_check('empty token', '', '/chat/completions', 'gpt-4o', false, 'missing_token');
SELECT pg_temp.expect_check('null token', NULL, '/chat/completions', 'gpt-4o', false, 'missing_token');
SELECT pg_temp.expect_check('garbage token', 'not-a-key-and-not-a-jwt', '/chat/completions', 'gpt-4o', false, 'invalid_token');
SELECT pg_temp.expect_check('blocked key', 'sk-case-blocked-0001', '/chat/completions', 'gpt-4o', false, 'key_blocked');
SELECT pg_temp.expect_check('expired key', 'sk-case-expired-0001', '/chat/completions', 'gpt-4o', false, 'token_expired');
SELECT pg_temp.expect_check('future expiry', 'sk-case-future-00001', '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('key model allowed', 'sk-case-models-00001', '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('key model denied', 'sk-case-models-00001', '/chat/completions', 'gpt-4o-mini', false, 'key_model_access_denied');
SELECT pg_temp.expect_eq('decision carries the key hash',
  (SELECT key_hash FROM rbac.rbac_check('sk-1234', '/chat/completions', 'gpt-4o')),
  '88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b');
SELECT pg_temp.expect_error('null route is an error', $$SELECT * FROM rbac.rbac_check('sk-1234', NULL, 'gpt-4o')$$, '22023');
