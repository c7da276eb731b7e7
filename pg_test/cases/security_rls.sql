-- Row-level security under rbac_api (docs/semantics.md §12): what each principal sees, and which rows its plain DML reaches.
-- Runs as the non-superuser role rbac_api (superusers bypass RLS); the superuser only sets up data.
CREATE FUNCTION pg_temp.affected(stmt text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE stmt;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
-- the first column of a query, sorted and comma-joined ('' when no rows)
CREATE FUNCTION pg_temp.ids(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  EXECUTE format('SELECT string_agg(x::text, '','' ORDER BY x::text) FROM (%s) s(x)', q) INTO r;
  RETURN coalesce(r, '');
END $$;

INSERT INTO rbac.organizations(organization_id) VALUES ('o1'), ('o2');
INSERT INTO rbac.teams(team_id, organization_id) VALUES ('t1', 'o1'), ('t2', 'o2'), ('t3', NULL);
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-admin', 'proxy_admin'), ('u-viewer', 'proxy_admin_viewer'),
  ('u-orgadm', 'internal_user'), ('u-ta', 'internal_user'), ('u-a', 'internal_user'), ('u-b', 'internal_user'),
  ('u-iv', 'internal_user_viewer');
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES
  ('o1', 'u-orgadm', 'org_admin'), ('o1', 'u-a', 'internal_user'), ('o2', 'u-b', 'internal_user');
INSERT INTO rbac.team_members(team_id, user_id, role) VALUES
  ('t1', 'u-ta', 'admin'), ('t1', 'u-a', 'user'), ('t1', 'u-iv', 'user'), ('t2', 'u-b', 'admin');
INSERT INTO rbac.keys(key_hash, key_alias, user_id, team_id) VALUES
  (pg_temp.h('sk-rls-admin-000001'), 'k-admin', 'u-admin', NULL),
  (pg_temp.h('sk-rls-viewer-00001'), 'k-viewer', 'u-viewer', NULL),
  (pg_temp.h('sk-rls-orgadm-00001'), 'k-orgadm', 'u-orgadm', NULL),
  (pg_temp.h('sk-rls-ta-000000001'), 'k-ta', 'u-ta', 't1'),
  (pg_temp.h('sk-rls-a-personal01'), 'k-a', 'u-a', NULL),
  (pg_temp.h('sk-rls-a-team000001'), 'k-a-t1', 'u-a', 't1'),
  (pg_temp.h('sk-rls-b-team000001'), 'k-b-t2', 'u-b', 't2'),
  (pg_temp.h('sk-rls-iv-000000001'), 'k-iv', 'u-iv', NULL),
  (pg_temp.h('sk-rls-service-t3-01'), 'k-svc-t3', NULL, 't3');
INSERT INTO rbac.deprecated_keys(key_hash, active_key_hash, revoke_at) VALUES
  (pg_temp.h('sk-rls-a-old-000001'), pg_temp.h('sk-rls-a-personal01'), now() + interval '1 hour'),
  (pg_temp.h('sk-rls-ta-old-00001'), pg_temp.h('sk-rls-ta-000000001'), now() + interval '1 hour');
INSERT INTO rbac.end_users(end_user_id) VALUES ('cust-1');
INSERT INTO rbac.models(model_name, provider) VALUES ('gpt-4o', 'openai'), ('claude-3', 'anthropic');
INSERT INTO rbac.spend_log(request_id, user_id, team_id, organization_id, model, spend) VALUES
  ('r-a', 'u-a', 't1', 'o1', 'gpt-4o', 1), ('r-ta', 'u-ta', 't1', 'o1', 'gpt-4o', 1),
  ('r-b', 'u-b', 't2', 'o2', 'gpt-4o', 2), ('r-admin', 'u-admin', NULL, NULL, 'gpt-4o', 3);
-- totals as the superuser sees them, for the proxy admin / viewer comparisons
SELECT set_config('cases.n_keys', (SELECT count(*) FROM rbac.keys)::text, true),
       set_config('cases.n_users', (SELECT count(*) FROM rbac.users)::text, true),
       set_config('cases.n_audit', (SELECT count(*) FROM rbac.audit_log)::text, true),
       set_config('cases.n_routes', (SELECT count(*) FROM rbac.route_groups)::text, true),
       set_config('cases.n_issuers', (SELECT count(*) FROM rbac.jwt_issuers)::text, true);
SELECT pg_temp.expect_eq('fixture has issuers', current_setting('cases.n_issuers')::bigint > 0, true);

SET LOCAL ROLE rbac_api;
-- no principal: nothing at all (the epoch counter excepted)
SELECT pg_temp.expect_eq('no principal: organizations', (SELECT count(*) FROM rbac.organizations), 0::bigint);
SELECT pg_temp.expect_eq('no principal: teams', (SELECT count(*) FROM rbac.teams), 0::bigint);
SELECT pg_temp.expect_eq('no principal: users', (SELECT count(*) FROM rbac.users), 0::bigint);
SELECT pg_temp.expect_eq('no principal: team_members', (SELECT count(*) FROM rbac.team_members), 0::bigint);
SELECT pg_temp.expect_eq('no principal: organization_members', (SELECT count(*) FROM rbac.organization_members), 0::bigint);
SELECT pg_temp.expect_eq('no principal: keys', (SELECT count(*) FROM rbac.keys), 0::bigint);
SELECT pg_temp.expect_eq('no principal: deprecated_keys', (SELECT count(*) FROM rbac.deprecated_keys), 0::bigint);
SELECT pg_temp.expect_eq('no principal: end_users', (SELECT count(*) FROM rbac.end_users), 0::bigint);
SELECT pg_temp.expect_eq('no principal: models', (SELECT count(*) FROM rbac.models), 0::bigint);
SELECT pg_temp.expect_eq('no principal: role_permissions', (SELECT count(*) FROM rbac.role_permissions), 0::bigint);
SELECT pg_temp.expect_eq('no principal: route_groups', (SELECT count(*) FROM rbac.route_groups), 0::bigint);
SELECT pg_temp.expect_eq('no principal: jwt_issuers', (SELECT count(*) FROM rbac.jwt_issuers), 0::bigint);
SELECT pg_temp.expect_eq('no principal: audit_log', (SELECT count(*) FROM rbac.audit_log), 0::bigint);
SELECT pg_temp.expect_eq('no principal: spend_log', (SELECT count(*) FROM rbac.spend_log), 0::bigint);
SELECT pg_temp.expect_eq('no principal: cache_epoch readable', (SELECT count(*) FROM rbac.cache_epoch), 1::bigint);
SELECT pg_temp.expect_eq('no principal: updates reach nothing', pg_temp.affected($$UPDATE rbac.keys SET key_alias = 'x'$$), 0::bigint);
SELECT pg_temp.expect_error('quota state is closed', $$SELECT count(*) FROM rbac.reservations$$, '42501');
SELECT pg_temp.expect_error('rate windows are closed', $$SELECT count(*) FROM rbac.rate_windows$$, '42501');

-- proxy admin: every row
SELECT pg_temp.expect_eq('admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-rls-admin-000001')), true);
SELECT pg_temp.expect_eq('admin: all keys', (SELECT count(*) FROM rbac.keys), current_setting('cases.n_keys')::bigint);
SELECT pg_temp.expect_eq('admin: all users', (SELECT count(*) FROM rbac.users), current_setting('cases.n_users')::bigint);
SELECT pg_temp.expect_eq('admin: all organizations', pg_temp.ids('SELECT organization_id FROM rbac.organizations'), 'o1,o2');
SELECT pg_temp.expect_eq('admin: all teams', pg_temp.ids('SELECT team_id FROM rbac.teams'), 't1,t2,t3');
SELECT pg_temp.expect_eq('admin: all spend', pg_temp.ids('SELECT request_id FROM rbac.spend_log'), 'r-a,r-admin,r-b,r-ta');
SELECT pg_temp.expect_eq('admin: whole audit log', (SELECT count(*) FROM rbac.audit_log) >= current_setting('cases.n_audit')::bigint, true);
SELECT pg_temp.expect_eq('admin: route groups', (SELECT count(*) FROM rbac.route_groups), current_setting('cases.n_routes')::bigint);
SELECT pg_temp.expect_eq('admin: issuers', (SELECT count(issuer) FROM rbac.jwt_issuers), current_setting('cases.n_issuers')::bigint);
SELECT pg_temp.expect_error('admin: issuer key sets (HS secrets) are not readable', $$SELECT jwks FROM rbac.jwt_issuers$$, '42501');
SELECT pg_temp.expect_eq('admin: customers', (SELECT count(*) FROM rbac.end_users), 1::bigint);
SELECT pg_temp.expect_eq('admin: deprecated keys', (SELECT count(*) FROM rbac.deprecated_keys), 2::bigint);
SELECT pg_temp.expect_eq('admin: renames any key', pg_temp.affected($$UPDATE rbac.keys SET key_alias = key_alias WHERE user_id IN ('u-a', 'u-b')$$), 3::bigint);
SELECT pg_temp.expect_eq('admin: edits the model catalogue', pg_temp.affected($$INSERT INTO rbac.models(model_name, provider) VALUES ('mistral-large', 'mistral')$$), 1::bigint);
SELECT pg_temp.expect_eq('admin: adds a custom route group', pg_temp.affected($$INSERT INTO rbac.route_groups(group_name, pattern) VALUES ('custom_routes', '/custom/x')$$), 1::bigint);
SELECT pg_temp.expect_eq('admin: built-in route groups stay', pg_temp.affected($$DELETE FROM rbac.route_groups WHERE group_name = 'llm_api_routes'$$), 0::bigint);
SELECT pg_temp.expect_error('admin: no issuer writes through the API role', $$UPDATE rbac.jwt_issuers SET leeway_seconds = 1$$, '42501');

-- proxy admin viewer: every row, read-only
SELECT pg_temp.expect_eq('viewer authenticates', (SELECT allowed FROM rbac.authenticate('sk-rls-viewer-00001')), true);
SELECT pg_temp.expect_eq('viewer: all keys', (SELECT count(*) FROM rbac.keys), current_setting('cases.n_keys')::bigint);
SELECT pg_temp.expect_eq('viewer: all teams', pg_temp.ids('SELECT team_id FROM rbac.teams'), 't1,t2,t3');
SELECT pg_temp.expect_eq('viewer: all spend', pg_temp.ids('SELECT request_id FROM rbac.spend_log'), 'r-a,r-admin,r-b,r-ta');
SELECT pg_temp.expect_eq('viewer: issuers', (SELECT count(issuer) FROM rbac.jwt_issuers), current_setting('cases.n_issuers')::bigint);
SELECT pg_temp.expect_eq('viewer: cannot rename keys', pg_temp.affected($$UPDATE rbac.keys SET key_alias = 'viewer-was-here'$$), 0::bigint);
SELECT pg_temp.expect_eq('viewer: cannot rename teams', pg_temp.affected($$UPDATE rbac.teams SET team_alias = 'x'$$), 0::bigint);
SELECT pg_temp.expect_eq('viewer: cannot edit customers', pg_temp.affected($$UPDATE rbac.end_users SET alias = 'x'$$), 0::bigint);
SELECT pg_temp.expect_error('viewer: cannot add models', $$INSERT INTO rbac.models(model_name) VALUES ('evil-model')$$, '42501');
SELECT pg_temp.expect_eq('viewer: cannot delete models', pg_temp.affected($$DELETE FROM rbac.models$$), 0::bigint);

-- org admin of o1: the organization, its teams, their keys and members, its spend and audit rows
SELECT pg_temp.expect_eq('org admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-rls-orgadm-00001')), true);
SELECT pg_temp.expect_eq('org admin: organizations', pg_temp.ids('SELECT organization_id FROM rbac.organizations'), 'o1');
SELECT pg_temp.expect_eq('org admin: teams', pg_temp.ids('SELECT team_id FROM rbac.teams'), 't1');
SELECT pg_temp.expect_eq('org admin: keys', pg_temp.ids('SELECT key_alias FROM rbac.keys'), 'k-a-t1,k-orgadm,k-ta');
SELECT pg_temp.expect_eq('org admin: users', pg_temp.ids('SELECT user_id FROM rbac.users'), 'u-a,u-iv,u-orgadm,u-ta');
SELECT pg_temp.expect_eq('org admin: team rosters', (SELECT count(*) FROM rbac.team_members WHERE team_id = 't1'), 3::bigint);
SELECT pg_temp.expect_eq('org admin: no other team roster', (SELECT count(*) FROM rbac.team_members WHERE team_id <> 't1'), 0::bigint);
SELECT pg_temp.expect_eq('org admin: org roster', pg_temp.ids('SELECT user_id FROM rbac.organization_members'), 'u-a,u-orgadm');
SELECT pg_temp.expect_eq('org admin: spend', pg_temp.ids('SELECT request_id FROM rbac.spend_log'), 'r-a,r-ta');
SELECT pg_temp.expect_eq('org admin: deprecated keys', (SELECT count(*) FROM rbac.deprecated_keys), 1::bigint);
SELECT pg_temp.expect_eq('org admin: audit of own org', (SELECT count(*) FROM rbac.audit_log WHERE object_id IN ('o1', 't1')) >= 2, true);
SELECT pg_temp.expect_eq('org admin: no audit of other org', (SELECT count(*) FROM rbac.audit_log WHERE object_id IN ('o2', 't2', 't3') OR table_name = 'users'), 0::bigint);
SELECT pg_temp.expect_eq('org admin: no customers', (SELECT count(*) FROM rbac.end_users), 0::bigint);
SELECT pg_temp.expect_eq('org admin: no issuers', (SELECT count(*) FROM rbac.jwt_issuers), 0::bigint);
SELECT pg_temp.expect_eq('org admin: renames own org', pg_temp.affected($$UPDATE rbac.organizations SET organization_alias = 'Org One'$$), 1::bigint);
SELECT pg_temp.expect_eq('org admin: renames its teams only', pg_temp.affected($$UPDATE rbac.teams SET team_alias = 'renamed'$$), 1::bigint);
SELECT pg_temp.expect_eq('org admin: renames its keys only', pg_temp.affected($$UPDATE rbac.keys SET key_alias = key_alias$$), 3::bigint);
SELECT pg_temp.expect_eq('org admin: cannot rename users', pg_temp.affected($$UPDATE rbac.users SET user_alias = 'x' WHERE user_id = 'u-a'$$), 0::bigint);

-- team admin of t1: its team, roster, team keys and team spend
SELECT pg_temp.expect_eq('team admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-rls-ta-000000001')), true);
SELECT pg_temp.expect_eq('team admin: keys', pg_temp.ids('SELECT key_alias FROM rbac.keys'), 'k-a-t1,k-ta');
SELECT pg_temp.expect_eq('team admin: teams', pg_temp.ids('SELECT team_id FROM rbac.teams'), 't1');
SELECT pg_temp.expect_eq('team admin: roster', pg_temp.ids($$SELECT user_id FROM rbac.team_members$$), 'u-a,u-iv,u-ta');
SELECT pg_temp.expect_eq('team admin: users of the team', pg_temp.ids('SELECT user_id FROM rbac.users'), 'u-a,u-iv,u-ta');
SELECT pg_temp.expect_eq('team admin: team spend', pg_temp.ids('SELECT request_id FROM rbac.spend_log'), 'r-a,r-ta');
SELECT pg_temp.expect_eq('team admin: no audit', (SELECT count(*) FROM rbac.audit_log), 0::bigint);
SELECT pg_temp.expect_eq('team admin: renames team keys', pg_temp.affected($$UPDATE rbac.keys SET key_alias = key_alias$$), 2::bigint);
SELECT pg_temp.expect_eq('team admin: cannot rename the team', pg_temp.affected($$UPDATE rbac.teams SET team_alias = 'x'$$), 0::bigint);

-- internal user u-a: own user row, own keys, own memberships, own spend
SELECT pg_temp.expect_eq('user authenticates', (SELECT allowed FROM rbac.authenticate('sk-rls-a-personal01')), true);
SELECT pg_temp.expect_eq('user: own keys', pg_temp.ids('SELECT key_alias FROM rbac.keys'), 'k-a,k-a-t1');
SELECT pg_temp.expect_eq('user: own user row', pg_temp.ids('SELECT user_id FROM rbac.users'), 'u-a');
SELECT pg_temp.expect_eq('user: own memberships', pg_temp.ids($$SELECT team_id || ':' || user_id FROM rbac.team_members$$), 't1:u-a');
SELECT pg_temp.expect_eq('user: own teams', pg_temp.ids('SELECT team_id FROM rbac.teams'), 't1');
SELECT pg_temp.expect_eq('user: own organizations', pg_temp.ids('SELECT organization_id FROM rbac.organizations'), 'o1');
SELECT pg_temp.expect_eq('user: own org membership', pg_temp.ids($$SELECT organization_id || ':' || user_id FROM rbac.organization_members$$), 'o1:u-a');
SELECT pg_temp.expect_eq('user: own spend', pg_temp.ids('SELECT request_id FROM rbac.spend_log'), 'r-a');
SELECT pg_temp.expect_eq('user: own deprecated key', (SELECT count(*) FROM rbac.deprecated_keys), 1::bigint);
SELECT pg_temp.expect_eq('user: no audit', (SELECT count(*) FROM rbac.audit_log), 0::bigint);
SELECT pg_temp.expect_eq('user: no customers', (SELECT count(*) FROM rbac.end_users), 0::bigint);
SELECT pg_temp.expect_eq('user: no issuers', (SELECT count(*) FROM rbac.jwt_issuers), 0::bigint);
SELECT pg_temp.expect_eq('user: catalogue readable', pg_temp.ids('SELECT model_name FROM rbac.models'), 'claude-3,gpt-4o,mistral-large');
SELECT pg_temp.expect_eq('user: route groups readable', (SELECT count(*) FROM rbac.route_groups) > 0, true);
SELECT pg_temp.expect_eq('user: renames own keys', pg_temp.affected($$UPDATE rbac.keys SET key_alias = key_alias || '*'$$), 2::bigint);
SELECT pg_temp.expect_eq('user: updates own email', pg_temp.affected($$UPDATE rbac.users SET user_email = 'a@example.test'$$), 1::bigint);
SELECT pg_temp.expect_eq('user: cannot rename the team', pg_temp.affected($$UPDATE rbac.teams SET team_alias = 'mine'$$), 0::bigint);
SELECT pg_temp.expect_eq('user: cannot rename the org', pg_temp.affected($$UPDATE rbac.organizations SET organization_alias = 'mine'$$), 0::bigint);
SELECT pg_temp.expect_error('user: cannot add models', $$INSERT INTO rbac.models(model_name) VALUES ('evil-model')$$, '42501');

-- u-b (another tenant): none of u-a's rows, and updates aimed at them reach nothing
SELECT pg_temp.expect_eq('other user authenticates', (SELECT allowed FROM rbac.authenticate('sk-rls-b-team000001')), true);
SELECT pg_temp.expect_eq('other user: own keys only', pg_temp.ids('SELECT key_alias FROM rbac.keys'), 'k-b-t2');
SELECT pg_temp.expect_eq('other user: u-a invisible', (SELECT count(*) FROM rbac.users WHERE user_id = 'u-a'), 0::bigint);
SELECT pg_temp.expect_eq('other user: t1 invisible', (SELECT count(*) FROM rbac.teams WHERE team_id = 't1'), 0::bigint);
SELECT pg_temp.expect_eq('other user: t1 spend invisible', (SELECT count(*) FROM rbac.spend_log WHERE team_id = 't1'), 0::bigint);
SELECT pg_temp.expect_eq('other user: cannot rename u-a keys', pg_temp.affected($$UPDATE rbac.keys SET key_alias = 'pwned' WHERE user_id = 'u-a'$$), 0::bigint);
SELECT pg_temp.expect_eq('other user: cannot change u-a email', pg_temp.affected($$UPDATE rbac.users SET user_email = 'evil@x' WHERE user_id = 'u-a'$$), 0::bigint);
SELECT pg_temp.expect_eq('team admin of t2 is not org admin of o2', pg_temp.affected($$UPDATE rbac.organizations SET organization_alias = 'x'$$), 0::bigint);

-- internal_user_viewer: reads own rows, writes nothing
SELECT pg_temp.expect_eq('internal viewer authenticates', (SELECT allowed FROM rbac.authenticate('sk-rls-iv-000000001')), true);
SELECT pg_temp.expect_eq('internal viewer: own keys', pg_temp.ids('SELECT key_alias FROM rbac.keys'), 'k-iv');
SELECT pg_temp.expect_eq('internal viewer: cannot rename own key', pg_temp.affected($$UPDATE rbac.keys SET key_alias = 'x'$$), 0::bigint);
SELECT pg_temp.expect_eq('internal viewer: cannot change own email', pg_temp.affected($$UPDATE rbac.users SET user_email = 'x'$$), 0::bigint);

-- a team service key (no user): its own key and team, read-only
SELECT pg_temp.expect_eq('service key authenticates', (SELECT allowed FROM rbac.authenticate('sk-rls-service-t3-01')), true);
SELECT pg_temp.expect_eq('service key: own key', pg_temp.ids('SELECT key_alias FROM rbac.keys'), 'k-svc-t3');
SELECT pg_temp.expect_eq('service key: own team', pg_temp.ids('SELECT team_id FROM rbac.teams'), 't3');
SELECT pg_temp.expect_eq('service key: no users', (SELECT count(*) FROM rbac.users), 0::bigint);
SELECT pg_temp.expect_eq('service key: cannot rename itself', pg_temp.affected($$UPDATE rbac.keys SET key_alias = 'x'$$), 0::bigint);

-- a failed authentication drops the principal: back to nothing
SELECT pg_temp.expect_eq('garbage token refused', (SELECT allowed FROM rbac.authenticate('sk-no-such-key-000')), false);
SELECT pg_temp.expect_eq('after failure: no keys', (SELECT count(*) FROM rbac.keys), 0::bigint);
SELECT pg_temp.expect_eq('after failure: no models', (SELECT count(*) FROM rbac.models), 0::bigint);
RESET ROLE;

-- what the refused updates would have changed is unchanged, and the allowed ones are audited with the acting role
SELECT pg_temp.expect_eq('u-a keys not renamed by u-b', (SELECT count(*) FROM rbac.keys WHERE key_alias = 'pwned'), 0::bigint);
SELECT pg_temp.expect_eq('viewer rename had no effect', (SELECT count(*) FROM rbac.keys WHERE key_alias = 'viewer-was-here'), 0::bigint);
SELECT pg_temp.expect_eq('u-a email changed', (SELECT user_email FROM rbac.users WHERE user_id = 'u-a'), 'a@example.test');
SELECT pg_temp.expect_eq('audit names actor and database role',
  (SELECT actor || '/' || db_user FROM rbac.audit_log WHERE table_name = 'keys' AND object_id = pg_temp.h('sk-rls-a-personal01')
     AND action = 'updated' ORDER BY audit_id DESC LIMIT 1), 'u-a/rbac_api');
SELECT pg_temp.expect_eq('superuser DML audited as the session user',
  (SELECT db_user FROM rbac.audit_log WHERE table_name = 'teams' AND object_id = 't3' AND action = 'created'), current_user::text);
