-- Contract scenario: JWT / OIDC tokens.
-- Issuers and tokens come from pg_test/fixtures/jwt_fixtures.sql (loaded by pg_test/runner.sh before the case).
-- Verified tokens: RS256 with either of two published keys (rotation), ES256, EdDSA, HS256 shared secrets, a
-- token without kid, an audience list. Refused: expired, not yet valid, wrong audience, untrusted issuer, unknown
-- kid, foreign signer, tampered payload, alg none, RS256/HS256 algorithm confusion and a truncated token. Claims
-- become the principal: user id from sub, the issuer's admin scope gives proxy_admin, role mappings (Keycloak
-- realm roles, Entra app roles) give internal_user or proxy_admin; with several team claims the first team (by
-- id) that may call the model and is not blocked is chosen, else no_team_for_model. An issuer must name its
-- audiences (23514), and a key removed from the stored JWKS stops verifying at once.
-- See docs/jwt.md (rbac.jwt_issuers, Verification, Claims -> principal, Configuring common IdPs) and
-- docs/litellm-migration.md (Deliberate differences: the audience is always verified, JWT role derivation).
INSERT INTO rbac.models(model_name, provider) VALUES ('gpt-4o', 'openai'), ('claude-3', 'anthropic'), ('mistral-large', 'mistral');
INSERT INTO rbac.teams(team_id, models) VALUES ('team-alpha', ARRAY['gpt-4o']), ('team-beta', ARRAY['claude-3']);

SELECT pg_temp.expect_check('RS256 user', pg_temp.tokn('kc_user_no_team'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_eq('user id from sub', (SELECT user_id FROM rbac.rbac_check(pg_temp.tokn('kc_user_no_team'), '/chat/completions', 'gpt-4o')), 'user-2');
SELECT pg_temp.expect_check('rotated second key', pg_temp.tokn('kc_rotated_key'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('ES256', pg_temp.tokn('kc_es256'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('EdDSA', pg_temp.tokn('kc_eddsa'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('HS256 shared secret', pg_temp.tokn('hs_user'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('no kid, matching alg', pg_temp.tokn('kc_no_kid'), '/chat/completions', 'gpt-4o', true, 'ok');
SELECT pg_temp.expect_check('audience list', pg_temp.tokn('kc_audience_list'), '/chat/completions', 'gpt-4o', true, 'ok');

SELECT pg_temp.expect_check('expired', pg_temp.tokn('kc_expired'), '/chat/completions', 'gpt-4o', false, 'token_expired');
SELECT pg_temp.expect_check('not yet valid', pg_temp.tokn('kc_not_yet_valid'), '/chat/completions', 'gpt-4o', false, 'token_not_yet_valid');
SELECT pg_temp.expect_check('wrong audience', pg_temp.tokn('kc_wrong_audience'), '/chat/completions', 'gpt-4o', false, 'audience_mismatch');
SELECT pg_temp.expect_check('untrusted issuer', pg_temp.tokn('untrusted_issuer_admin'), '/team/new', NULL, false, 'untrusted_issuer');
SELECT pg_temp.expect_check('unknown kid', pg_temp.tokn('kc_unknown_kid'), '/chat/completions', 'gpt-4o', false, 'invalid_token');
SELECT pg_temp.expect_check('signed by a stranger', pg_temp.tokn('kc_signed_by_stranger'), '/team/new', NULL, false, 'invalid_token');
SELECT pg_temp.expect_check('tampered payload', pg_temp.tokn('kc_tampered'), '/team/new', NULL, false, 'invalid_token');
SELECT pg_temp.expect_check('alg none', pg_temp.tokn('kc_alg_none'), '/team/new', NULL, false, 'invalid_token');
SELECT pg_temp.expect_check('RS/HS algorithm confusion', pg_temp.tokn('kc_alg_confusion'), '/team/new', NULL, false, 'invalid_token');
SELECT pg_temp.expect_check('truncated token', left(pg_temp.tokn('kc_user_no_team'), 60), '/chat/completions', 'gpt-4o', false, 'invalid_token');

-- roles: admin scope, role mappings
SELECT pg_temp.expect_check('admin scope manages', pg_temp.tokn('kc_admin'), '/team/new', NULL, true, 'ok');
SELECT pg_temp.expect_eq('admin role', (SELECT role FROM rbac.rbac_check(pg_temp.tokn('kc_admin'), '/team/new', NULL)), 'proxy_admin');
SELECT pg_temp.expect_eq('viewer maps to internal_user', (SELECT role FROM rbac.rbac_check(pg_temp.tokn('kc_roles_viewer'), '/chat/completions', 'gpt-4o')), 'internal_user');
SELECT pg_temp.expect_check('mapped internal user cannot manage', pg_temp.tokn('kc_roles_viewer'), '/team/new', NULL, false, 'route_not_allowed');
SELECT pg_temp.expect_check('entra app role admin', pg_temp.tokn('entra_admin_role'), '/team/new', NULL, true, 'ok');
SELECT pg_temp.expect_check('entra app role user', pg_temp.tokn('entra_user_role'), '/team/new', NULL, false, 'route_not_allowed');

-- several teams in the token: the first team (by id) that may call the model wins
SELECT pg_temp.expect_check('team chosen by model', pg_temp.tokn('kc_user_two_teams'), '/chat/completions', 'claude-3', true, 'ok', 'team-beta');
SELECT pg_temp.expect_check('other team chosen', pg_temp.tokn('kc_user_two_teams'), '/chat/completions', 'gpt-4o', true, 'ok', 'team-alpha');
SELECT pg_temp.expect_check('no team has the model', pg_temp.tokn('kc_user_two_teams'), '/chat/completions', 'mistral-large', false, 'no_team_for_model');
UPDATE rbac.teams SET blocked = true WHERE team_id = 'team-beta';
SELECT pg_temp.expect_check('blocked team is skipped', pg_temp.tokn('kc_user_two_teams'), '/chat/completions', 'claude-3', false, 'no_team_for_model');

-- an issuer must name its audiences
SELECT pg_temp.expect_error('issuer without audiences', $$INSERT INTO rbac.jwt_issuers(issuer, jwks, audiences) VALUES ('https://x.example.test', '{"keys":[]}', '{}')$$, '23514');
-- a key removed from the JWKS stops verifying at once
UPDATE rbac.jwt_issuers SET jwks = jsonb_build_object('keys', (SELECT jsonb_agg(k) FROM jsonb_array_elements(jwks->'keys') k WHERE k->>'kid' <> 'rsa-2'))
  WHERE issuer = 'https://idp.example.test/realms/acme';
SELECT pg_temp.expect_check('revoked signing key', pg_temp.tokn('kc_rotated_key'), '/chat/completions', 'gpt-4o', false, 'invalid_token');
