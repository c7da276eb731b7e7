-- Fixture for documentation examples (`fixture=jwt_issuers`): issuers that examples update before the text
-- registers them (docs/jwt.md shows the UPDATEs before "Configuring common IdPs"; docs/operations.md refreshes a
-- JWKS). Same rows as the Keycloak and Okta examples of docs/jwt.md, with an empty key set.
INSERT INTO rbac.jwt_issuers (issuer, audiences, user_id_claim, team_ids_claim, roles_claim)
VALUES ('https://sso.acme.example/realms/acme', ARRAY['litellm-proxy'], 'preferred_username', 'groups',
        'resource_access.litellm-proxy.roles'),
       ('https://acme.okta.com/oauth2/default', ARRAY['api://litellm'], 'uid', NULL, 'groups');
