-- JWT claims → principal (docs/semantics.md §4, §11.2, §11.5, §11.6; docs/semantics.md §11.4–§11.6): dot paths, team/org/customer
-- claims, role derivation, enforce_rbac with role_permissions, admin routes, issuer changes seen at once.
-- Tokens are signed here with HS256 through pgcrypto's hmac() (an independent signer), so every claim shape can
-- be tested without a fixture file. The transaction is rolled back, pgcrypto included.
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE FUNCTION pg_temp.b64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT translate(encode(b, 'base64'), E'+/=\n', '-_') $$;
CREATE FUNCTION pg_temp.jwt(payload jsonb, secret text DEFAULT 'claims-secret-0123456789-abcdefghijklmnop')
RETURNS text LANGUAGE sql AS $$
  SELECT s || '.' || pg_temp.b64url(hmac(convert_to(s, 'UTF8'), convert_to(secret, 'UTF8'), 'sha256'))
  FROM (SELECT pg_temp.b64url(convert_to('{"alg":"HS256","typ":"JWT","kid":"hs-claims"}', 'UTF8')) || '.' ||
               pg_temp.b64url(convert_to(payload::text, 'UTF8')) AS s) x
$$;
-- standard claims for the two issuers below; each token adds its own
CREATE FUNCTION pg_temp.claims(iss text, extra jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('iss', iss, 'aud', 'pg-rbac-claims', 'iat', 1764000000, 'exp', 4102444800) || extra
$$;

INSERT INTO rbac.jwt_issuers(issuer, jwks, audiences, user_id_claim, team_id_claim, team_ids_claim, org_id_claim,
                             end_user_id_claim, roles_claim, role_mappings, admin_scope, enforce_rbac, leeway_seconds)
SELECT iss, jsonb_build_object('keys', jsonb_build_array(jsonb_build_object('kty', 'oct', 'kid', 'hs-claims', 'alg', 'HS256',
         'k', pg_temp.b64url(convert_to('claims-secret-0123456789-abcdefghijklmnop', 'UTF8'))))),
       ARRAY['pg-rbac-claims'], 'sub', 'team', 'groups', 'org', 'customer', 'resource_access.litellm\.proxy.roles',
       '[{"role": "dev", "internal_role": "internal_user"}, {"role": "ops", "internal_role": "proxy_admin_viewer"},
         {"role": "boss", "internal_role": "proxy_admin"}]'::jsonb, 'litellm_proxy_admin', rbac, 30
FROM (VALUES ('https://claims.example.test', false), ('https://rbac.example.test', true)) v(iss, rbac);

INSERT INTO rbac.models(model_name, provider) VALUES ('gpt-4o', 'openai'), ('claude-3', 'anthropic');
INSERT INTO rbac.organizations(organization_id, models) VALUES ('org-j', ARRAY['gpt-4o', 'claude-3']);
INSERT INTO rbac.teams(team_id, organization_id, models) VALUES ('tj-a', 'org-j', ARRAY['gpt-4o']), ('tj-b', 'org-j', ARRAY['claude-3']);
INSERT INTO rbac.teams(team_id, blocked) VALUES ('tj-blocked', true);
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-viewer-row', 'internal_user_viewer');
INSERT INTO rbac.end_users(end_user_id, models) VALUES ('cust-j', ARRAY['claude-3']);
INSERT INTO rbac.role_permissions(role, models, routes) VALUES ('internal_user', ARRAY['gpt-4o'], ARRAY['openai_routes', '/key/info']);

CREATE TEMP TABLE jt AS SELECT * FROM (VALUES
  ('plain',        pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"sub": "u-1"}'))),
  ('single_team',  pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"sub": "u-1", "team": "tj-b"}'))),
  ('team_list',    pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"sub": "u-1", "groups": ["tj-b", "tj-a", "tj-missing"]}'))),
  ('blocked_team', pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"sub": "u-1", "team": "tj-blocked"}'))),
  ('ghost_team',   pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"sub": "u-1", "team": "tj-nowhere"}'))),
  ('team_only',    pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"team": "tj-a"}'))),
  ('org_claim',    pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"sub": "u-1", "org": "org-j"}'))),
  ('customer',     pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"sub": "u-1", "customer": "cust-j"}'))),
  ('dotted_roles', pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"sub": "u-2", "resource_access": {"litellm.proxy": {"roles": ["dev", "ops"]}}}'))),
  ('boss_role',    pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"sub": "u-2", "resource_access": {"litellm.proxy": {"roles": ["dev", "boss"]}}}'))),
  ('user_row',     pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"sub": "u-viewer-row"}'))),
  ('admin_scope',  pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"sub": "a-1", "scope": "openid litellm_proxy_admin"}'))),
  ('no_identity',  pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"email": "x@y.test"}'))),
  ('rbac_dev',     pg_temp.jwt(pg_temp.claims('https://rbac.example.test', '{"sub": "u-3", "resource_access": {"litellm.proxy": {"roles": ["dev"]}}}'))),
  ('rbac_nobody',  pg_temp.jwt(pg_temp.claims('https://rbac.example.test', '{"email": "x@y.test"}'))),
  ('in_leeway',    pg_temp.jwt(pg_temp.claims('https://claims.example.test', jsonb_build_object('sub', 'u-1', 'exp', extract(epoch FROM now())::bigint - 10)))),
  ('past_leeway',  pg_temp.jwt(pg_temp.claims('https://claims.example.test', jsonb_build_object('sub', 'u-1', 'exp', extract(epoch FROM now())::bigint - 31)))),
  ('wrong_secret', pg_temp.jwt(pg_temp.claims('https://claims.example.test', '{"sub": "u-1"}'), 'some-other-secret-0123456789-abcdefghijk'))
) v(name, token);
INSERT INTO pg_temp.tok SELECT * FROM jt;

SELECT pg_temp.expect_check('plain user', pg_temp.tokn('plain'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_eq('user id from sub and role internal_user',
  (SELECT user_id || '/' || role FROM rbac.rbac_check(pg_temp.tokn('plain'), '/chat/completions', 'gpt-4o')), 'u-1/internal_user');
SELECT pg_temp.expect_check('signed with another secret', pg_temp.tokn('wrong_secret'), '/chat/completions', 'gpt-4o', false, 'invalid_token');

-- teams: a single team claim is used as is; a list picks the first team (by id) that may call the model
SELECT pg_temp.expect_check('single team', pg_temp.tokn('single_team'), '/chat/completions', 'claude-3', true, 'ok', 'tj-b');
SELECT pg_temp.expect_check('single team model gate', pg_temp.tokn('single_team'), '/chat/completions', 'gpt-4o', false, 'team_model_access_denied');
SELECT pg_temp.expect_check('team list, by id', pg_temp.tokn('team_list'), '/chat/completions', 'gpt-4o', true, 'ok', 'tj-a');
SELECT pg_temp.expect_check('team list, by model', pg_temp.tokn('team_list'), '/chat/completions', 'claude-3', true, 'ok', 'tj-b');
SELECT pg_temp.expect_eq('team list brings the team''s organization',
  (SELECT organization_id FROM rbac.rbac_check(pg_temp.tokn('team_list'), '/chat/completions', 'gpt-4o')), 'org-j');
SELECT pg_temp.expect_check('blocked single team', pg_temp.tokn('blocked_team'), '/chat/completions', 'gpt-4o', false, 'team_blocked');
SELECT pg_temp.expect_check('tokens never create teams', pg_temp.tokn('ghost_team'), '/chat/completions', 'gpt-4o', false, 'no_team_for_model');
SELECT pg_temp.expect_eq('no team row was created', (SELECT count(*) FROM rbac.teams WHERE team_id = 'tj-nowhere'), 0::bigint);
SELECT pg_temp.expect_eq('no user row was created', (SELECT count(*) FROM rbac.users WHERE user_id = 'u-1'), 0::bigint);
SELECT pg_temp.expect_eq('team claim only gives role team',
  (SELECT role FROM rbac.rbac_check(pg_temp.tokn('team_only'), '/chat/completions', 'gpt-4o')), 'team');
SELECT pg_temp.expect_check('role team cannot manage', pg_temp.tokn('team_only'), '/key/generate', NULL, false, 'route_not_allowed');

-- organization and customer claims
SELECT pg_temp.expect_check('org claim applies the org model list', pg_temp.tokn('org_claim'), '/chat/completions', 'mistral', false, 'org_model_access_denied');
SELECT pg_temp.expect_check('customer claim wins over the argument', pg_temp.tokn('customer'), '/chat/completions', 'gpt-4o', false,
  'customer_model_access_denied', NULL, NULL, 'someone-else');

-- roles: most privileged mapping through a dotted claim path with an escaped dot, then the user row, then admin scope
SELECT pg_temp.expect_eq('dot path roles, most privileged mapping',
  (SELECT role FROM rbac.rbac_check(pg_temp.tokn('dotted_roles'), '/chat/completions', 'gpt-4o')), 'proxy_admin_viewer');
SELECT pg_temp.expect_check('mapped viewer reads global spend', pg_temp.tokn('dotted_roles'), '/global/spend/keys', NULL, true, 'ok');
SELECT pg_temp.expect_check('mapped viewer cannot write', pg_temp.tokn('dotted_roles'), '/team/new', NULL, false, 'route_not_allowed');
SELECT pg_temp.expect_check('mapped proxy admin (order independent)', pg_temp.tokn('boss_role'), '/team/new', NULL, true, 'ok');
SELECT pg_temp.expect_eq('role from the user row',
  (SELECT role FROM rbac.rbac_check(pg_temp.tokn('user_row'), '/chat/completions', 'gpt-4o')), 'internal_user_viewer');
SELECT pg_temp.expect_check('admin scope manages', pg_temp.tokn('admin_scope'), '/team/new', NULL, true, 'ok');
-- LiteLLM's default admin_allowed_routes holds no /organization/* route; an issuer can widen it
SELECT pg_temp.expect_check('default admin routes exclude /organization/new', pg_temp.tokn('admin_scope'), '/organization/new', NULL, false, 'route_not_allowed');
UPDATE rbac.jwt_issuers SET admin_allowed_routes = admin_allowed_routes || '/organization/new'::text WHERE issuer = 'https://claims.example.test';
SELECT pg_temp.expect_check('widened admin routes', pg_temp.tokn('admin_scope'), '/organization/new', NULL, true, 'ok');
SELECT pg_temp.expect_check('admin scope limited to admin_allowed_routes (LiteLLM)', pg_temp.tokn('admin_scope'), '/chat/completions', 'gpt-4o', false, 'route_not_allowed');
SELECT pg_temp.expect_eq('no identity claims: no role',
  (SELECT coalesce(role, 'none') || '/' || reason FROM rbac.rbac_check(pg_temp.tokn('no_identity'), '/chat/completions', 'gpt-4o')), 'none/ok');

-- enforce_rbac: a role is required, and role_permissions restrict models (exact) and routes
SELECT pg_temp.expect_check('enforce_rbac without a role', pg_temp.tokn('rbac_nobody'), '/chat/completions', 'gpt-4o', false, 'role_not_mapped');
SELECT pg_temp.expect_check('role_permissions model allowed', pg_temp.tokn('rbac_dev'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('role_permissions model denied', pg_temp.tokn('rbac_dev'), '/chat/completions', 'claude-3', false, 'user_model_access_denied');
SELECT pg_temp.expect_check('role_permissions route allowed', pg_temp.tokn('rbac_dev'), '/key/info', NULL, true, 'ok');
SELECT pg_temp.expect_check('role_permissions route denied', pg_temp.tokn('rbac_dev'), '/v1/messages', 'gpt-4o', false, 'route_not_allowed');
SELECT pg_temp.expect_check('same role without enforce_rbac', pg_temp.tokn('dotted_roles'), '/v1/messages', 'claude-3', true, 'ok');

-- leeway (30 s) and issuer changes seen at once
SELECT pg_temp.expect_check('expired 10 s ago, within leeway', pg_temp.tokn('in_leeway'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('expired 31 s ago, past leeway', pg_temp.tokn('past_leeway'), '/chat/completions', 'gpt-4o', false, 'token_expired');
UPDATE rbac.jwt_issuers SET audiences = ARRAY['another-audience'] WHERE issuer = 'https://claims.example.test';
SELECT pg_temp.expect_check('audience change applies to a cached token', pg_temp.tokn('plain'), '/chat/completions', 'gpt-4o', false, 'audience_mismatch');
DELETE FROM rbac.jwt_issuers WHERE issuer = 'https://claims.example.test';
SELECT pg_temp.expect_check('removed issuer is untrusted at once', pg_temp.tokn('plain'), '/chat/completions', 'gpt-4o', false, 'untrusted_issuer');
SELECT pg_temp.expect_eq('HS secrets are redacted in the audit log',
  (SELECT count(*) FROM rbac.audit_log WHERE table_name = 'jwt_issuers' AND (coalesce(before::text, '') || coalesce(after::text, '')) LIKE '%"k":%'), 0::bigint);

-- a NUL inside a claim can never be stored or compared faithfully as text: the token is refused (jsonb cannot
-- even hold one, so this payload is signed as text)
CREATE FUNCTION pg_temp.jwt_text(payload text, secret text DEFAULT 'claims-secret-0123456789-abcdefghijklmnop')
RETURNS text LANGUAGE sql AS $$
  SELECT s || '.' || pg_temp.b64url(hmac(convert_to(s, 'UTF8'), convert_to(secret, 'UTF8'), 'sha256'))
  FROM (SELECT pg_temp.b64url(convert_to('{"alg":"HS256","typ":"JWT","kid":"hs-claims"}', 'UTF8')) || '.' ||
               pg_temp.b64url(convert_to(payload, 'UTF8')) AS s) x
$$;
SELECT pg_temp.expect_check('NUL in sub is refused',
  pg_temp.jwt_text('{"iss": "https://rbac.example.test", "aud": "pg-rbac-claims", "exp": 4102444800, "sub": "u-3\u0000", "resource_access": {"litellm.proxy": {"roles": ["dev"]}}}'),
  '/chat/completions', 'gpt-4o', false, 'invalid_token');
SELECT pg_temp.expect_check('the same token without the NUL is fine',
  pg_temp.jwt_text('{"iss": "https://rbac.example.test", "aud": "pg-rbac-claims", "exp": 4102444800, "sub": "u-3", "resource_access": {"litellm.proxy": {"roles": ["dev"]}}}'),
  '/chat/completions', 'gpt-4o', true, 'ok');

-- the end-user claim wins in the spend record too, even for a customer without an end_users row
SELECT set_config('cases.rid_cust', (SELECT reservation_id::text FROM rbac.consume_quota(
  pg_temp.jwt(pg_temp.claims('https://rbac.example.test',
    '{"sub": "u-3", "customer": "claimed-customer", "resource_access": {"litellm.proxy": {"roles": ["dev"]}}}')),
  '/chat/completions', 'gpt-4o', 1, 10, 0.01, 'body-customer')), true);
SELECT rbac.settle(current_setting('cases.rid_cust')::uuid, 5, 5, 0.01);
SELECT pg_temp.expect_eq('spend_log names the claimed customer',
  (SELECT end_user_id FROM rbac.spend_log WHERE request_id = current_setting('cases.rid_cust')), 'claimed-customer');
