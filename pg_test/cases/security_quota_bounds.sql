-- Hostile numbers and ids (adversarial review F4, F5 and the low findings): compound rate-window subjects are
-- unambiguous, token counts are bounded and window arithmetic saturates, customer ids are bounded, and numeric
-- JWT subjects keep every digit (docs/quotas.md, docs/secure-deployment.md).
CREATE ROLE atk_proxy LOGIN IN ROLE rbac_api;
INSERT INTO rbac.models(model_name, provider) VALUES ('llama3:8b', 'ollama'), ('8b', 'other'), ('gpt-4o', 'openai');
INSERT INTO rbac.organizations(organization_id) VALUES ('oa'), ('ob');
-- F4: team "t2" limits model "llama3:8b"; team "t2:llama3" in another organization limits model "8b".
-- Joined with ':' both were the window "t2:llama3:8b".
INSERT INTO rbac.teams(team_id, organization_id, metadata) VALUES
  ('t2', 'oa', '{"model_rpm_limit": {"llama3:8b": 1}}'), ('t2:llama3', 'ob', '{"model_rpm_limit": {"8b": 1}}');
INSERT INTO rbac.keys(key_hash, team_id) VALUES (pg_temp.h('sk-qb-t2-00000001'), 't2'), (pg_temp.h('sk-qb-t2l-0000001'), 't2:llama3');
INSERT INTO rbac.keys(key_hash, tpm_limit) VALUES (pg_temp.h('sk-qb-plain-00001'), NULL);

SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_quota('team t2:llama3, model 8b', 'sk-qb-t2l-0000001', '8b', 1, 0, 0, true, 'ok');
SELECT pg_temp.expect_quota('team t2, model llama3:8b: its own window', 'sk-qb-t2-00000001', 'llama3:8b', 1, 0, 0, true, 'ok');
SELECT pg_temp.expect_quota('team t2 again: its own limit applies', 'sk-qb-t2-00000001', 'llama3:8b', 1, 0, 0, false, 'rate_limit_exceeded', 'model_per_team');
RESET ROLE;
SELECT pg_temp.expect_eq('two windows, one per (team, model) pair',
  (SELECT array_agg(subject ORDER BY subject) FROM rbac.rate_windows WHERE scope = 'model_per_team'),
  ARRAY['2:t2:llama3:8b', '9:t2:llama3:8b']);

-- F5: token estimates are bounded (22023, nothing counted) and window sums saturate instead of overflowing
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_error('a poisoned estimate', $$SELECT * FROM rbac.consume_quota('sk-qb-plain-00001', '/chat/completions', 'gpt-4o', 1, 9223372036854775000, 0)$$, '22023');
SELECT pg_temp.expect_error('one over the bound', $$SELECT * FROM rbac.consume_quota('sk-qb-plain-00001', '/chat/completions', 'gpt-4o', 1, 1000000000001, 0)$$, '22023');
SELECT pg_temp.expect_quota('at the bound', 'sk-qb-plain-00001', 'gpt-4o', 1, 1000000000000, 0, true, 'ok');
SELECT set_config('cases.rid', pg_temp.expect_quota('another request', 'sk-qb-plain-00001', 'gpt-4o', 1, 10, 0, true, 'ok')::text, true);
SELECT pg_temp.expect_error('settle above the bound', $$SELECT rbac.settle(current_setting('cases.rid')::uuid, 1000000000001, 0, 0)$$, '22023');
SELECT pg_temp.expect_eq('settle at the bound', rbac.settle(current_setting('cases.rid')::uuid, 1000000000000, 1000000000000, 0), true);
RESET ROLE;
-- a team whose window is already near bigint's maximum (a tpm limit is set, so the sum is checked too)
INSERT INTO rbac.keys(key_hash, tpm_limit, rpm_limit) VALUES (pg_temp.h('sk-qb-full-000001'), 9223372036854775807, 9223372036854775807);
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_quota('first request opens the window', 'sk-qb-full-000001', 'gpt-4o', 1, 1, 0, true, 'ok');
RESET ROLE;
UPDATE rbac.rate_windows SET tokens = 9223372036854775000, requests = 9223372036854775000 WHERE scope = 'key' AND subject = pg_temp.h('sk-qb-full-000001');
SET LOCAL ROLE atk_proxy;
SELECT pg_temp.expect_quota('a sum past bigint is refused, not an error', 'sk-qb-full-000001', 'gpt-4o', 1, 1000000000000, 0, false, 'rate_limit_exceeded', 'key');
SELECT pg_temp.expect_quota('a sum that fits is admitted', 'sk-qb-full-000001', 'gpt-4o', 1, 100, 0, true, 'ok');
SELECT pg_temp.expect_quota('other keys are unaffected', 'sk-qb-plain-00001', 'gpt-4o', 1, 5, 0, true, 'ok');

-- customer ids are bounded (22023), in both entry points
SELECT pg_temp.expect_error('end_user_id of 1025 characters: check', $$SELECT * FROM rbac.rbac_check('sk-qb-plain-00001', '/chat/completions', 'gpt-4o', repeat('c', 1025))$$, '22023');
SELECT pg_temp.expect_error('end_user_id of 1025 characters: quota', $$SELECT * FROM rbac.consume_quota('sk-qb-plain-00001', '/chat/completions', 'gpt-4o', 1, 0, 0, repeat('c', 1025))$$, '22023');
SELECT pg_temp.expect_check('end_user_id of 1024 characters', 'sk-qb-plain-00001', '/chat/completions', 'gpt-4o', true, 'ok', NULL, NULL, repeat('c', 1024));
RESET ROLE;

-- numeric JWT subjects above 2^53 keep every digit, so two users never share an id
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE FUNCTION pg_temp.b64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT translate(encode(b, 'base64'), E'+/=\n', '-_') $$;
CREATE FUNCTION pg_temp.jwt(payload text) RETURNS text LANGUAGE sql AS $$
  SELECT s || '.' || pg_temp.b64url(hmac(convert_to(s, 'UTF8'), convert_to('bounds-secret-0123456789-abcdefghijkl', 'UTF8'), 'sha256'))
  FROM (SELECT pg_temp.b64url(convert_to('{"alg":"HS256","typ":"JWT","kid":"hs-bounds"}', 'UTF8')) || '.' ||
               pg_temp.b64url(convert_to(payload, 'UTF8')) AS s) x
$$;
INSERT INTO rbac.jwt_issuers(issuer, jwks, audiences, user_id_claim)
SELECT 'https://bounds.example.test', jsonb_build_object('keys', jsonb_build_array(jsonb_build_object('kty', 'oct', 'kid', 'hs-bounds',
  'alg', 'HS256', 'k', pg_temp.b64url(convert_to('bounds-secret-0123456789-abcdefghijkl', 'UTF8'))))), ARRAY['pg-rbac-bounds'], 'sub';
SELECT pg_temp.expect_eq('numeric sub beyond 64 bits, exact',
  (SELECT user_id FROM rbac.rbac_check(pg_temp.jwt('{"iss": "https://bounds.example.test", "aud": "pg-rbac-bounds", "exp": 4102444800, "sub": 123456789012345678901234567891}'), '/chat/completions', 'gpt-4o')),
  '123456789012345678901234567891');
SELECT pg_temp.expect_eq('its neighbour is another user',
  (SELECT user_id FROM rbac.rbac_check(pg_temp.jwt('{"iss": "https://bounds.example.test", "aud": "pg-rbac-bounds", "exp": 4102444800, "sub": 123456789012345678901234567892}'), '/chat/completions', 'gpt-4o')),
  '123456789012345678901234567892');
SELECT pg_temp.expect_eq('numeric sub above 2^53, exact',
  (SELECT user_id FROM rbac.rbac_check(pg_temp.jwt('{"iss": "https://bounds.example.test", "aud": "pg-rbac-bounds", "exp": 4102444800, "sub": 9007199254740993}'), '/chat/completions', 'gpt-4o')),
  '9007199254740993');
