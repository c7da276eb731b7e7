-- Contract scenario: audit trail and isolation of the proxy role.
-- Policy changes are written to rbac.audit_log in the same transaction, keys by hash and never by plaintext, and
-- the log is append-only (42501 on UPDATE and DELETE). The principal cannot be forged through settings
-- (rbac.principal, request.jwt.claims): only rbac.authenticate sets it. Under rbac_api, row-level security shows
-- nothing without a principal and only the principal's own keys after authenticating, and the principal cannot
-- block another user's key, raise its own budget by DML or create a team (42501).
-- See docs/concepts.md (The audit log), docs/secure-deployment.md (Roles, How the proxy authenticates a request,
-- What row-level security shows each principal, If the proxy is compromised).
INSERT INTO rbac.teams(team_id) VALUES ('t-audit');
SELECT pg_temp.expect_eq('team creation audited',
  (SELECT count(*) FROM rbac.audit_log WHERE table_name = 'teams' AND object_id = 't-audit' AND action = 'created'), 1::bigint);
INSERT INTO rbac.keys(key_hash, team_id) VALUES (pg_temp.h('sk-case-audit-plain'), 't-audit');
UPDATE rbac.keys SET blocked = true WHERE key_hash = pg_temp.h('sk-case-audit-plain');
SELECT pg_temp.expect_eq('key audit uses the hash',
  (SELECT count(*) FROM rbac.audit_log WHERE table_name = 'keys' AND object_id = pg_temp.h('sk-case-audit-plain')), 2::bigint);
SELECT pg_temp.expect_eq('plaintext never logged',
  (SELECT count(*) FROM rbac.audit_log WHERE (before::text || after::text || object_id) LIKE '%sk-case-audit-plain%'), 0::bigint);
SELECT pg_temp.expect_error('audit is append-only (update)', $$UPDATE rbac.audit_log SET actor = 'x'$$, '42501');
SELECT pg_temp.expect_error('audit is append-only (delete)', $$DELETE FROM rbac.audit_log$$, '42501');

-- the principal cannot be forged through settings
SELECT set_config('rbac.principal', '{"user_id":"u-evil","role":"proxy_admin"}', true);
SELECT set_config('request.jwt.claims', '{"sub":"u-evil","role":"proxy_admin"}', true);
SELECT pg_temp.expect_eq('no principal from settings', (SELECT role FROM rbac.current_principal()), NULL::text);

-- RLS: the proxy role sees only what its principal may see
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-a', 'internal_user'), ('u-b', 'internal_user');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-case-user-a-0001'), 'u-a'), (pg_temp.h('sk-case-user-b-0001'), 'u-b');
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('no principal, no rows', (SELECT count(*) FROM rbac.keys), 0::bigint);
SELECT pg_temp.expect_eq('authenticate', (SELECT allowed FROM rbac.authenticate('sk-case-user-a-0001')), true);
SELECT pg_temp.expect_eq('principal is u-a', (SELECT user_id FROM rbac.current_principal()), 'u-a');
SELECT pg_temp.expect_eq('own keys only', (SELECT array_agg(user_id) FROM rbac.keys), ARRAY['u-a']);
SELECT pg_temp.expect_error('cannot block another user''s key', $$SELECT rbac.key_block('sk-case-user-b-0001')$$, '42501');
SELECT pg_temp.expect_error('cannot raise own budget by DML', $$UPDATE rbac.keys SET max_budget = 1000000 WHERE user_id = 'u-a'$$, '42501');
SELECT pg_temp.expect_error('cannot create a team', $$SELECT rbac.team_new('t-by-u-a')$$, '42501');
RESET ROLE;
