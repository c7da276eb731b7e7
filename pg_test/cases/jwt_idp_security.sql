-- Identity-provider security (docs/jwt.md): an unverified e-mail never names a user, ID tokens are not access
-- tokens, and per-issuer admission rules (required claims, allowed roles, allowed e-mail domains) decide who of an
-- IdP's users gets in, with claims_not_allowed (403). Tokens are signed here with HS256 through pgcrypto.
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE FUNCTION pg_temp.b64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT translate(encode(b, 'base64'), E'+/=\n', '-_') $$;
CREATE FUNCTION pg_temp.sign(header jsonb, payload jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT s || '.' || pg_temp.b64url(hmac(convert_to(s, 'UTF8'), convert_to('idp-secret-0123456789-abcdefghijklmn', 'UTF8'), 'sha256'))
  FROM (SELECT pg_temp.b64url(convert_to(header::text, 'UTF8')) || '.' || pg_temp.b64url(convert_to(payload::text, 'UTF8')) AS s) x
$$;
CREATE FUNCTION pg_temp.tok(iss text, extra jsonb, typ text DEFAULT 'JWT') RETURNS text LANGUAGE sql AS $$
  SELECT pg_temp.sign(jsonb_build_object('alg', 'HS256', 'typ', typ, 'kid', 'hs-idp'),
                      jsonb_build_object('iss', iss, 'aud', 'gateway', 'exp', 4102444800) || extra)
$$;
CREATE FUNCTION pg_temp.check(token text, route text DEFAULT '/chat/completions') RETURNS text LANGUAGE sql AS $$
  SELECT format('%s %s user=%s role=%s', CASE WHEN d.allowed THEN 'true' ELSE 'false' END, d.reason, coalesce(d.user_id, '-'), coalesce(d.role, '-'))
  FROM rbac.rbac_check(token, route, CASE WHEN route = '/chat/completions' THEN 'gpt-4o' END) d
$$;
INSERT INTO rbac.jwt_issuers(issuer, jwks, audiences, user_id_claim, roles_claim, role_mappings, team_ids_claim,
                             accepted_token_types, require_scope, required_claims, allowed_roles, allowed_email_domains)
SELECT 'https://' || name || '.idp.test', jsonb_build_object('keys', jsonb_build_array(jsonb_build_object('kty', 'oct',
         'kid', 'hs-idp', 'alg', 'HS256', 'k', pg_temp.b64url(convert_to('idp-secret-0123456789-abcdefghijklmn', 'UTF8'))))),
       ARRAY['gateway'], uid, 'roles', '[{"role": "gw-admin", "internal_role": "proxy_admin"}, {"role": "gw-user", "internal_role": "internal_user"}]',
       'groups', types, scope, claims::jsonb, roles, domains
FROM (VALUES
  ('mail',   'email', 'access', false, '{}', NULL::text[], NULL::text[]),
  ('nouid',  NULL,    'access', false, '{}', NULL, NULL),
  ('any',    'sub',   'any',    false, '{}', NULL, NULL),
  ('rfc',    'sub',   'at+jwt', false, '{}', NULL, NULL),
  ('entra',  'oid',   'access', true,  '{}', NULL, NULL),
  ('google', 'sub',   'access', false, '{"hd": ["acme.test"], "email_verified": [true]}', NULL, ARRAY['acme.test']),
  ('roles',  'sub',   'access', false, '{}', ARRAY['internal_user', 'internal_user_viewer'], NULL)
) v(name, uid, types, scope, claims, roles, domains);
UPDATE rbac.jwt_issuers SET scope_claim = 'scp' WHERE issuer = 'https://entra.idp.test';
INSERT INTO rbac.users(user_id, user_role) VALUES ('boss@acme.test', 'proxy_admin');
INSERT INTO rbac.teams(team_id) VALUES ('t-a');

SET LOCAL ROLE rbac_api;
-- 1. an unverified e-mail never names a user, as the user id claim or as the fallback
SELECT pg_temp.expect_eq('verified e-mail: that user',
  pg_temp.check(pg_temp.tok('https://mail.idp.test', '{"email": "boss@acme.test", "email_verified": true}'), '/key/generate'),
  'true ok user=boss@acme.test role=proxy_admin');
SELECT pg_temp.expect_eq('unverified e-mail equal to an admin''s user id: not that admin',
  pg_temp.check(pg_temp.tok('https://mail.idp.test', '{"email": "boss@acme.test", "email_verified": false}'), '/key/generate'),
  'false route_not_allowed user=- role=-');
SELECT pg_temp.expect_eq('"false" as a string counts too',
  pg_temp.check(pg_temp.tok('https://mail.idp.test', '{"email": "boss@acme.test", "email_verified": "false"}'), '/key/generate'),
  'false route_not_allowed user=- role=-');
SELECT pg_temp.expect_eq('the e-mail fallback (no user id claim) ignores an unverified e-mail',
  pg_temp.check(pg_temp.tok('https://nouid.idp.test', '{"email": "boss@acme.test", "email_verified": false}'), '/key/generate'),
  'false route_not_allowed user=- role=-');
SELECT pg_temp.expect_eq('no email_verified claim: the e-mail is taken as given',
  pg_temp.check(pg_temp.tok('https://nouid.idp.test', '{"email": "boss@acme.test"}'), '/key/generate'),
  'true ok user=boss@acme.test role=proxy_admin');

-- 2. ID tokens are not access tokens
SELECT pg_temp.expect_eq('an ID token (nonce) is refused',
  pg_temp.check(pg_temp.tok('https://mail.idp.test', '{"email": "u@acme.test", "email_verified": true, "nonce": "n-1"}')),
  'false invalid_token user=- role=-');
SELECT pg_temp.expect_eq('... unless the issuer accepts any token',
  pg_temp.check(pg_temp.tok('https://any.idp.test', '{"sub": "u-1", "nonce": "n-1"}')), 'true ok user=u-1 role=internal_user');
SELECT pg_temp.expect_eq('RFC 9068 issuer: typ JWT refused',
  pg_temp.check(pg_temp.tok('https://rfc.idp.test', '{"sub": "u-1"}')), 'false invalid_token user=- role=-');
SELECT pg_temp.expect_eq('RFC 9068 issuer: typ at+jwt accepted',
  pg_temp.check(pg_temp.tok('https://rfc.idp.test', '{"sub": "u-1"}', 'at+jwt')), 'true ok user=u-1 role=internal_user');
SELECT pg_temp.expect_eq('RFC 9068 issuer: typ application/at+jwt accepted',
  pg_temp.check(pg_temp.tok('https://rfc.idp.test', '{"sub": "u-1"}', 'application/at+jwt')), 'true ok user=u-1 role=internal_user');
SELECT pg_temp.expect_eq('Entra-shaped ID token (no scp, app roles) refused where a scope is required',
  pg_temp.check(pg_temp.tok('https://entra.idp.test', '{"oid": "o-1", "roles": ["gw-admin"]}'), '/key/generate'),
  'false invalid_token user=- role=-');
SELECT pg_temp.expect_eq('Entra-shaped access token (scp) accepted',
  pg_temp.check(pg_temp.tok('https://entra.idp.test', '{"oid": "o-1", "scp": "access_as_user", "roles": ["gw-admin"]}'), '/key/generate'),
  'true ok user=o-1 role=proxy_admin');
SELECT pg_temp.expect_eq('the refusal says why',
  (SELECT message FROM rbac.rbac_check(pg_temp.tok('https://mail.idp.test', '{"email": "u@acme.test", "nonce": "n"}'), '/chat/completions', 'gpt-4o')),
  'not an access token: an OpenID Connect ID token (it carries a nonce) is not an access token');

-- 3. admission rules, per issuer: claims_not_allowed (403)
SELECT pg_temp.expect_eq('Google: the organization''s domain, verified',
  pg_temp.check(pg_temp.tok('https://google.idp.test', '{"sub": "g-1", "hd": "acme.test", "email": "a@acme.test", "email_verified": true}')),
  'true ok user=g-1 role=internal_user');
SELECT pg_temp.expect_eq('Google: any other account is refused',
  pg_temp.check(pg_temp.tok('https://google.idp.test', '{"sub": "g-2", "email": "x@gmail.test", "email_verified": true}')),
  'false claims_not_allowed user=g-2 role=internal_user');
SELECT pg_temp.expect_eq('Google: a foreign hd is refused',
  pg_temp.check(pg_temp.tok('https://google.idp.test', '{"sub": "g-3", "hd": "evil.test", "email": "a@evil.test", "email_verified": true}')),
  'false claims_not_allowed user=g-3 role=internal_user');
SELECT pg_temp.expect_eq('Google: the right domain but unverified is refused',
  pg_temp.check(pg_temp.tok('https://google.idp.test', '{"sub": "g-4", "hd": "acme.test", "email": "a@acme.test", "email_verified": false}')),
  'false claims_not_allowed user=g-4 role=internal_user');
SELECT pg_temp.expect_eq('claims_not_allowed is 403',
  (SELECT http_status FROM rbac.rbac_check(pg_temp.tok('https://google.idp.test', '{"sub": "g-2"}'), '/chat/completions', 'gpt-4o')), 403);
SELECT pg_temp.expect_eq('allowed_roles: an internal user',
  pg_temp.check(pg_temp.tok('https://roles.idp.test', '{"sub": "r-1", "roles": ["gw-user"]}')), 'true ok user=r-1 role=internal_user');
SELECT pg_temp.expect_eq('allowed_roles: a mapped admin is not admitted',
  pg_temp.check(pg_temp.tok('https://roles.idp.test', '{"sub": "r-2", "roles": ["gw-admin"]}')), 'false claims_not_allowed user=r-2 role=proxy_admin');
SELECT pg_temp.expect_eq('admission is per issuer: the same admin token shape elsewhere',
  pg_temp.check(pg_temp.tok('https://any.idp.test', '{"sub": "r-2", "roles": ["gw-admin"]}'), '/key/generate'), 'true ok user=r-2 role=proxy_admin');

-- 4. refusal messages name at most three of a token's groups
SELECT pg_temp.expect_eq('two hundred groups: counted, not listed',
  (SELECT message FROM rbac.rbac_check(pg_temp.tok('https://any.idp.test',
     jsonb_build_object('sub', 'u-9', 'groups', (SELECT jsonb_agg('g-' || i) FROM generate_series(1, 200) i))), '/chat/completions', 'gpt-4o')),
  'none of the token''s teams (200 teams: g-1, g-10, g-100, …) may call gpt-4o');
RESET ROLE;

-- 5. issuer rows are validated when written
SELECT pg_temp.expect_error('unknown token type', $$UPDATE rbac.jwt_issuers SET accepted_token_types = 'id' WHERE issuer = 'https://any.idp.test'$$, '23514');
SELECT pg_temp.expect_error('required_claims not an object', $$UPDATE rbac.jwt_issuers SET required_claims = '["hd"]' WHERE issuer = 'https://any.idp.test'$$, '23514');
SELECT pg_temp.expect_error('required_claims with an empty list', $$UPDATE rbac.jwt_issuers SET required_claims = '{"hd": []}' WHERE issuer = 'https://any.idp.test'$$, '23514');
SELECT pg_temp.expect_error('a role mapping to no role', $$UPDATE rbac.jwt_issuers SET role_mappings = '[{"role": "x", "internal_role": "superadmin"}]' WHERE issuer = 'https://any.idp.test'$$, '23514');
SELECT pg_temp.expect_error('allowed_roles with no role', $$UPDATE rbac.jwt_issuers SET allowed_roles = ARRAY['root'] WHERE issuer = 'https://any.idp.test'$$, '23514');
SELECT pg_temp.expect_error('an e-mail domain with an @', $$UPDATE rbac.jwt_issuers SET allowed_email_domains = ARRAY['@acme.test'] WHERE issuer = 'https://any.idp.test'$$, '23514');

-- 6. a multi-tenant template: only the home tenant's tokens may carry administrative roles (review: a customer
--    tenant's own administrators assign its app roles and set its users' e-mails)
INSERT INTO rbac.jwt_issuers(issuer, jwks, audiences, user_id_claim, user_email_claim, roles_claim, role_mappings,
                             allowed_tenants, admin_tenants, allowed_email_domains)
SELECT 'https://login.idp.test/{tenantid}/v2.0', jwks, ARRAY['gateway'], 'oid', 'email', 'roles',
       '[{"role": "LiteLLM.Admin", "internal_role": "proxy_admin"}]', ARRAY['home-tenant', 'customer-b'], ARRAY['home-tenant'], NULL
FROM rbac.jwt_issuers WHERE issuer = 'https://mail.idp.test';
INSERT INTO rbac.users(user_id, user_role) VALUES ('oid-admin', 'proxy_admin');
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('home tenant: the admin mapping applies',
  pg_temp.check(pg_temp.tok('https://login.idp.test/home-tenant/v2.0', '{"tid": "home-tenant", "oid": "o-h", "roles": ["LiteLLM.Admin"]}'), '/team/new'),
  'true ok user=o-h role=proxy_admin');
SELECT pg_temp.expect_eq('customer tenant: the same mapping gives no admin',
  pg_temp.check(pg_temp.tok('https://login.idp.test/customer-b/v2.0', '{"tid": "customer-b", "oid": "o-c", "roles": ["LiteLLM.Admin"]}'), '/team/new'),
  'false route_not_allowed user=o-c role=internal_user');
SELECT pg_temp.expect_eq('customer tenant: an admin user row is not inherited either',
  pg_temp.check(pg_temp.tok('https://login.idp.test/customer-b/v2.0', '{"tid": "customer-b", "oid": "oid-admin"}'), '/team/new'),
  'false route_not_allowed user=oid-admin role=internal_user');
SELECT pg_temp.expect_eq('home tenant: the admin user row applies',
  pg_temp.check(pg_temp.tok('https://login.idp.test/home-tenant/v2.0', '{"tid": "home-tenant", "oid": "oid-admin"}'), '/team/new'),
  'true ok user=oid-admin role=proxy_admin');
RESET ROLE;
SELECT pg_temp.expect_error('admin_tenants only on a template', $$UPDATE rbac.jwt_issuers SET admin_tenants = ARRAY['t'] WHERE issuer = 'https://any.idp.test'$$, '23514');
SELECT pg_temp.expect_error('admin_tenants never *', $$UPDATE rbac.jwt_issuers SET admin_tenants = ARRAY['*'] WHERE issuer = 'https://login.idp.test/{tenantid}/v2.0'$$, '23514');
-- through a template, an e-mail counts only when the token says it is verified (Entra sends no email_verified)
UPDATE rbac.jwt_issuers SET allowed_email_domains = ARRAY['home.test'] WHERE issuer = 'https://login.idp.test/{tenantid}/v2.0';
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('template: an e-mail without email_verified does not pass the domain rule',
  pg_temp.check(pg_temp.tok('https://login.idp.test/customer-b/v2.0', '{"tid": "customer-b", "oid": "o-c", "email": "boss@home.test"}')),
  'false claims_not_allowed user=o-c role=internal_user');
SELECT pg_temp.expect_eq('template: a verified e-mail of the domain passes',
  pg_temp.check(pg_temp.tok('https://login.idp.test/home-tenant/v2.0', '{"tid": "home-tenant", "oid": "o-h", "email": "a@home.test", "email_verified": true}')),
  'true ok user=o-h role=internal_user');
RESET ROLE;
SELECT pg_temp.expect_error('admin_tenants outside allowed_tenants', $$UPDATE rbac.jwt_issuers SET admin_tenants = ARRAY['other-tenant'] WHERE issuer = 'https://login.idp.test/{tenantid}/v2.0'$$, '23514');
