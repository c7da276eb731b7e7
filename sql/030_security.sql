-- pg_rbac — database roles, grants and row-level security (docs/semantics.md §12).
--
-- Two database roles, created when missing and never dropped by the extension (roles are cluster-wide):
--   rbac_admin  manages everything with plain SQL: every row of every policy table (RLS lets it through), and the
--               management functions without a principal.
--   rbac_api    what a proxy connects as: it calls rbac.authenticate / rbac_check / consume_quota / settle and the
--               management functions, and reads policy rows through row-level security, filtered by the principal
--               of the transaction (rbac.current_principal(), which SQL cannot forge). With plain DML it may only
--               change display columns (aliases, e-mail); budgets, spend, limits, roles, models, routes, blocked,
--               permissions and metadata (which carries per-model rate limits) are written through the management
--               functions, which enforce LiteLLM's rules, or by rbac_admin.
--
-- The tables are owned by the superuser that ran CREATE EXTENSION, which bypasses RLS; RLS is deliberately not
-- FORCEd, because the SECURITY DEFINER entry points (rbac_check, authenticate, consume_quota, the management
-- functions, the validation and audit triggers) must see every row whatever the caller's principal.

---------------------------------------------------------------------------------------------------------------
-- Roles
---------------------------------------------------------------------------------------------------------------
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'rbac_admin') THEN
    CREATE ROLE rbac_admin NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'rbac_api') THEN
    CREATE ROLE rbac_api NOLOGIN;
  END IF;
END $$;

---------------------------------------------------------------------------------------------------------------
-- Who is calling (src/caller.rs). The management entry points are C functions without definer rights, so they
-- see their immediate caller's effective role (current_user) and hand it to the implementation they run as the
-- owner; the login and SET ROLE target never count (they stay unchanged while another role's definer function,
-- view or index expression runs). The audit trail records the same effective role (rbac._acting_db_user()).
---------------------------------------------------------------------------------------------------------------
COMMENT ON FUNCTION rbac._management_caller_administers(text) IS
  'Internal (management implementations only): true when the effective role that called the public management function '
  'now running is a superuser or a member of rbac_admin; 42501 when no management call is running (the implementation '
  'was called some other way). See docs/secure-deployment.md, "Who is calling".';
COMMENT ON FUNCTION rbac._acting_db_user() IS
  'Internal: the effective database role behind the changes being made (the caller of the management function, or the '
  'role that ran the plain DML), recorded as rbac.audit_log.db_user; NULL when none was noted in this transaction.';
COMMENT ON FUNCTION rbac._note_dml_role() IS
  'Internal statement trigger on every audited table: notes the effective role of plain DML for rbac.audit_log.db_user '
  '(statements of pg_rbac''s own owner-rights code keep the role of the call that caused them).';

---------------------------------------------------------------------------------------------------------------
-- Principal helpers for the policies. All fail closed: without a principal they return false / empty arrays.
-- Every one pins its search_path: an unpinned SQL function is inlined into the caller's query and its
-- operators (`=`, `= ANY`) are then resolved through the caller's search_path, where a planted operator could
-- answer "proxy admin" for anyone. Pinning stops inlining; the policies wrap each call in a sub-select, so it
-- still runs once per statement.
-- The membership helpers are SECURITY DEFINER so that a policy on a membership table can consult membership
-- without recursing into its own policy, and STABLE so a policy evaluates them once per statement when wrapped in
-- a scalar sub-select.
---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION rbac._has_principal() RETURNS boolean LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
  SELECT p.user_id IS NOT NULL OR p.role IS NOT NULL OR p.key_hash IS NOT NULL OR p.team_id IS NOT NULL
  FROM rbac.current_principal() p
$$;
COMMENT ON FUNCTION rbac._has_principal() IS
  'True when rbac.authenticate set a principal for this transaction.';

CREATE FUNCTION rbac._principal_is(VARIADIC roles text[]) RETURNS boolean LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce((rbac.current_principal()).role = ANY (roles), false)
$$;
COMMENT ON FUNCTION rbac._principal_is(text[]) IS
  'True when the principal''s role is one of the given roles (proxy_admin, proxy_admin_viewer, org_admin, internal_user, '
  'internal_user_viewer, team, customer); false without a principal.';

CREATE FUNCTION rbac._principal_can_write() RETURNS boolean LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
  SELECT rbac._principal_is('proxy_admin', 'org_admin', 'internal_user')
$$;
COMMENT ON FUNCTION rbac._principal_can_write() IS
  'True for principals that may change anything at all (proxy_admin, org_admin, internal_user). Viewers '
  '(proxy_admin_viewer, internal_user_viewer), JWT team/customer principals and keys without a user are read-only.';

CREATE FUNCTION rbac._principal_orgs() RETURNS text[] LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(array_agg(om.organization_id), '{}') FROM rbac.organization_members om
  WHERE om.user_id = rbac.current_principal_user_id()
$$;
COMMENT ON FUNCTION rbac._principal_orgs() IS 'Organizations the principal''s user is a member of (any org role).';

CREATE FUNCTION rbac._principal_admin_orgs() RETURNS text[] LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(array_agg(om.organization_id), '{}') FROM rbac.organization_members om
  WHERE om.user_id = rbac.current_principal_user_id() AND om.user_role = 'org_admin'
$$;
COMMENT ON FUNCTION rbac._principal_admin_orgs() IS
  'Organizations the principal''s user administers (organization_members.user_role = org_admin; docs/semantics.md §3.2).';

CREATE FUNCTION rbac._principal_org_admin_of(org_id text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp AS $$
  SELECT _principal_org_admin_of.org_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM rbac.organization_members om
    WHERE om.organization_id = _principal_org_admin_of.org_id AND om.user_id = rbac.current_principal_user_id() AND om.user_role = 'org_admin')
$$;
COMMENT ON FUNCTION rbac._principal_org_admin_of(text) IS 'True when the principal''s user is org_admin of org_id.';

CREATE FUNCTION rbac._principal_teams() RETURNS text[] LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(array_agg(tm.team_id), '{}') FROM rbac.team_members tm WHERE tm.user_id = rbac.current_principal_user_id()
$$;
COMMENT ON FUNCTION rbac._principal_teams() IS 'Teams the principal''s user belongs to (rbac.team_members).';

CREATE FUNCTION rbac._principal_admin_teams() RETURNS text[] LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(array_agg(tm.team_id), '{}') FROM rbac.team_members tm
  WHERE tm.user_id = rbac.current_principal_user_id() AND tm.role = 'admin'
$$;
COMMENT ON FUNCTION rbac._principal_admin_teams() IS 'Teams the principal''s user administers (team_members.role = admin).';

CREATE FUNCTION rbac._principal_team_admin_of(team_id text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp AS $$
  SELECT _principal_team_admin_of.team_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM rbac.team_members tm
    WHERE tm.team_id = _principal_team_admin_of.team_id AND tm.user_id = rbac.current_principal_user_id() AND tm.role = 'admin')
$$;
COMMENT ON FUNCTION rbac._principal_team_admin_of(text) IS 'True when the principal''s user is an admin of team_id.';

CREATE FUNCTION rbac._principal_org_teams() RETURNS text[] LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(array_agg(t.team_id), '{}') FROM rbac.teams t
  WHERE t.organization_id = ANY (rbac._principal_admin_orgs())
$$;
COMMENT ON FUNCTION rbac._principal_org_teams() IS 'Teams of the organizations the principal''s user administers.';

CREATE FUNCTION rbac._principal_managed_users() RETURNS text[] LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(array_agg(DISTINCT u), '{}') FROM (
    SELECT om.user_id FROM rbac.organization_members om WHERE om.organization_id = ANY (rbac._principal_admin_orgs())
    UNION ALL
    SELECT tm.user_id FROM rbac.team_members tm
    WHERE tm.team_id = ANY (rbac._principal_org_teams()) OR tm.team_id = ANY (rbac._principal_admin_teams())
  ) s(u)
$$;
COMMENT ON FUNCTION rbac._principal_managed_users() IS
  'Users an org admin or team admin may see: members of the organizations they administer, of those organizations'' '
  'teams, and of the teams they administer.';

-- A virtual key limited by allowed_routes (docs/semantics.md §7.3) reaches through SQL only what its routes allow: unless
-- they allow /key/info it reads nothing under RLS, unless they allow /key/update it changes nothing (e.g. an
-- llm_api key, or a member key a team admin created). Fails closed when the principal's key has gone.
CREATE FUNCTION rbac._key_allows(route text) RETURNS boolean LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := (rbac.current_principal()).key_hash; routes text[];
BEGIN
  IF h IS NULL THEN
    RETURN true;   -- no principal (policies then match nothing) or a JWT principal: no key-level route list
  END IF;
  SELECT k.allowed_routes INTO routes FROM rbac.keys k WHERE k.key_hash = h;
  IF NOT FOUND THEN
    -- an old key inside its regeneration grace period only keeps serving traffic: it may have leaked (that is
    -- why it was rotated), so it must not mint keys or rotate its owner out (LLM routes only)
    SELECT k.allowed_routes INTO routes FROM rbac.deprecated_keys d JOIN rbac.keys k ON k.key_hash = d.active_key_hash
    WHERE d.key_hash = h;
    IF NOT FOUND OR NOT coalesce(rbac.route_allowed_by(route, ARRAY['llm_api_routes']), false) THEN
      RETURN false;
    END IF;
  END IF;
  RETURN cardinality(coalesce(routes, '{}')) = 0 OR coalesce(rbac.route_allowed_by(route, routes), false);
END $$;
COMMENT ON FUNCTION rbac._key_allows(text) IS
  'True unless the principal authenticated with a virtual key whose allowed_routes (non-empty) do not allow route '
  '(LiteLLM is_virtual_key_allowed_to_call_route); false when that key no longer exists, and for a key inside its '
  'regeneration grace period unless route is an LLM route (llm_api_routes). Used by the policies '
  '(/key/info for reads, /key/update for writes) and by the management functions (their own route).';

---------------------------------------------------------------------------------------------------------------
-- Trigger functions run as the table owner, with a fixed search_path: validation must read parent rows the
-- caller's policy may hide (it is never weakened by RLS), the audit trail is written without giving anyone
-- INSERT on audit_log, and every backend is told to drop its policy caches whoever changed a policy table.
---------------------------------------------------------------------------------------------------------------
ALTER FUNCTION rbac._validate_organization() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._validate_team() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._validate_user() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._validate_team_member() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._validate_key() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._validate_end_user() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._validate_model() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._validate_jwt_issuer() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._validate_route_group() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._return_budget() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._audit() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._policy_changed() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

---------------------------------------------------------------------------------------------------------------
-- Row-level security on every table of the schema, with a catch-all policy for rbac_admin. Also run again at
-- the end of the install script (050_management.sql) for tables added by later files.
---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION rbac._secure_tables() RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE t regclass; n integer := 0;
BEGIN
  FOR t IN SELECT c.oid::regclass FROM pg_class c
           WHERE c.relnamespace = 'rbac'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname LOOP
    IF NOT (SELECT relrowsecurity FROM pg_class WHERE oid = t) THEN
      EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
      n := n + 1;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t AND polname = 'rbac_admin_all') THEN
      EXECUTE format('CREATE POLICY rbac_admin_all ON %s TO rbac_admin USING (true) WITH CHECK (true)', t);
    END IF;
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', t);
    EXECUTE format('GRANT SELECT ON %s TO rbac_admin', t);
  END LOOP;
  RETURN n;
END $$;
REVOKE ALL ON FUNCTION rbac._secure_tables() FROM PUBLIC;
COMMENT ON FUNCTION rbac._secure_tables() IS
  'Install-time helper: enables row-level security on every table in schema rbac, adds the rbac_admin catch-all policy, '
  'revokes PUBLIC privileges and lets rbac_admin read. Returns the number of tables it newly secured.';
SELECT rbac._secure_tables();

---------------------------------------------------------------------------------------------------------------
-- Privileges
---------------------------------------------------------------------------------------------------------------
GRANT USAGE ON SCHEMA rbac TO rbac_admin, rbac_api;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA rbac FROM PUBLIC;

-- rbac_admin: full DML on the policy data (no TRUNCATE: it would bypass the row audit). The audit log stays
-- append-only and is written only by the audit trigger; quota state (rate_windows, reservations) is read-only.
GRANT SELECT, INSERT, UPDATE, DELETE ON rbac.organizations, rbac.teams, rbac.users, rbac.team_members,
  rbac.organization_members, rbac.keys, rbac.deprecated_keys, rbac.end_users, rbac.models, rbac.role_permissions,
  rbac.jwt_issuers, rbac.route_groups, rbac.spend_log TO rbac_admin;
-- (cache_epoch is a sentinel for cache invalidation; nobody needs to write it)

-- rbac_api: reads per RLS; jwt_issuers without the key set (it may hold HS* shared secrets).
GRANT SELECT ON rbac.organizations, rbac.teams, rbac.users, rbac.team_members, rbac.organization_members, rbac.keys,
  rbac.deprecated_keys, rbac.end_users, rbac.models, rbac.role_permissions, rbac.route_groups, rbac.audit_log,
  rbac.spend_log, rbac.cache_epoch TO rbac_api;
DO $$
DECLARE cols text;
BEGIN
  SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols FROM pg_catalog.pg_attribute
  WHERE attrelid = 'rbac.jwt_issuers'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'jwks';
  EXECUTE format('GRANT SELECT (%s) ON rbac.jwt_issuers TO rbac_api', cols);
END $$;
-- rbac_api writes with plain DML: display columns only (RLS decides which rows). Everything else raises 42501.
GRANT UPDATE (organization_alias) ON rbac.organizations TO rbac_api;
GRANT UPDATE (team_alias) ON rbac.teams TO rbac_api;
GRANT UPDATE (user_alias, user_email) ON rbac.users TO rbac_api;
GRANT UPDATE (key_alias) ON rbac.keys TO rbac_api;
GRANT UPDATE (alias) ON rbac.end_users TO rbac_api;
-- The model catalogue, role permissions and custom route groups are configuration a proxy admin may edit
-- (LiteLLM /model/new|update|delete, config); RLS limits these writes to proxy_admin principals.
GRANT INSERT, UPDATE, DELETE ON rbac.models, rbac.role_permissions TO rbac_api;
GRANT INSERT (group_name, pattern), UPDATE (group_name, pattern), DELETE ON rbac.route_groups TO rbac_api;

-- Functions: the schema is not usable by PUBLIC, so only rbac_api / rbac_admin (and superusers) reach any of them.
-- Internal SECURITY DEFINER helpers are closed to PUBLIC; the policies' helpers must be callable by both roles.
REVOKE ALL ON FUNCTION rbac._key_allows(text), rbac._has_principal(),
  rbac._principal_is(text[]), rbac._principal_can_write(), rbac._principal_orgs(), rbac._principal_admin_orgs(),
  rbac._principal_org_admin_of(text), rbac._principal_teams(), rbac._principal_admin_teams(),
  rbac._principal_team_admin_of(text), rbac._principal_org_teams(), rbac._principal_managed_users() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rbac._key_allows(text), rbac._has_principal(),
  rbac._principal_is(text[]), rbac._principal_can_write(), rbac._principal_orgs(), rbac._principal_admin_orgs(),
  rbac._principal_org_admin_of(text), rbac._principal_teams(), rbac._principal_admin_teams(),
  rbac._principal_team_admin_of(text), rbac._principal_org_teams(), rbac._principal_managed_users()
  TO rbac_admin, rbac_api;
-- Caller bookkeeping is for pg_rbac's own owner-rights code.
REVOKE ALL ON FUNCTION rbac._management_caller_administers(text), rbac._acting_db_user(), rbac._note_dml_role() FROM PUBLIC;
-- (the other public functions are granted at the end of 050_management.sql, when every file's functions exist)
GRANT EXECUTE ON FUNCTION rbac.authenticate(text), rbac.rbac_check(text, text, text, text), rbac.current_principal(),
  rbac.current_principal_user_id() TO rbac_admin, rbac_api;

-- (The SECURITY DEFINER Rust entry points get their fixed search_path in 040_functions.sql.)

---------------------------------------------------------------------------------------------------------------
-- Policies for rbac_api (docs/semantics.md §12). Role shorthands below:
--   admin   = principal role proxy_admin            viewer = proxy_admin_viewer (all rows, read-only)
--   org admin of X = organization_members(X, principal user, 'org_admin')
--   team admin of T = team_members(T, principal user, 'admin')
--   writer  = principal role proxy_admin, org_admin or internal_user (viewers, team/customer JWTs and keys
--             without a user never write)
-- Every policy on tenant data is also gated by rbac._key_allows (reads: /key/info, writes: /key/update), so a key
-- whose allowed_routes exclude those (an llm_api key) reaches nothing through SQL either.
-- Sub-selects around the helpers make them one-time InitPlans instead of per-row calls.
---------------------------------------------------------------------------------------------------------------

-- organizations: admin/viewer all; members see their organizations (and the principal's own organization);
-- org admins may rename theirs.
CREATE POLICY api_select ON rbac.organizations FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))
  OR organization_id = ANY ((SELECT rbac._principal_orgs())::text[])
  OR organization_id = (SELECT (rbac.current_principal()).organization_id)));
CREATE POLICY api_update ON rbac.organizations FOR UPDATE TO rbac_api
  USING ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))
         OR ((SELECT rbac._principal_can_write()) AND organization_id = ANY ((SELECT rbac._principal_admin_orgs())::text[]))))
  WITH CHECK ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))
         OR ((SELECT rbac._principal_can_write()) AND organization_id = ANY ((SELECT rbac._principal_admin_orgs())::text[]))));

-- teams: admin/viewer all; org admins their organizations' teams; members their teams; the principal's team.
CREATE POLICY api_select ON rbac.teams FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))
  OR team_id = ANY ((SELECT rbac._principal_teams())::text[])
  OR organization_id = ANY ((SELECT rbac._principal_admin_orgs())::text[])
  OR team_id = (SELECT (rbac.current_principal()).team_id)));
CREATE POLICY api_update ON rbac.teams FOR UPDATE TO rbac_api
  USING ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))
         OR ((SELECT rbac._principal_can_write()) AND organization_id = ANY ((SELECT rbac._principal_admin_orgs())::text[]))))
  WITH CHECK ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))
         OR ((SELECT rbac._principal_can_write()) AND organization_id = ANY ((SELECT rbac._principal_admin_orgs())::text[]))));

-- users: admin/viewer all; everyone their own row; org/team admins the users they manage (read-only).
CREATE POLICY api_select ON rbac.users FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))
  OR user_id = (SELECT rbac.current_principal_user_id())
  OR user_id = ANY ((SELECT rbac._principal_managed_users())::text[])));
CREATE POLICY api_update ON rbac.users FOR UPDATE TO rbac_api
  USING ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))
         OR ((SELECT rbac._principal_can_write()) AND user_id = (SELECT rbac.current_principal_user_id()))))
  WITH CHECK ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))
         OR ((SELECT rbac._principal_can_write()) AND user_id = (SELECT rbac.current_principal_user_id()))));

-- team_members: admin/viewer all; own memberships; rosters of teams one administers or whose org one administers.
CREATE POLICY api_select ON rbac.team_members FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))
  OR user_id = (SELECT rbac.current_principal_user_id())
  OR team_id = ANY ((SELECT rbac._principal_admin_teams())::text[])
  OR team_id = ANY ((SELECT rbac._principal_org_teams())::text[])));

-- organization_members: admin/viewer all; own memberships; org admins their organizations' rosters.
CREATE POLICY api_select ON rbac.organization_members FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))
  OR user_id = (SELECT rbac.current_principal_user_id())
  OR organization_id = ANY ((SELECT rbac._principal_admin_orgs())::text[])));

-- keys: admin/viewer all; own keys (and the principal's key itself); team admins their teams' keys; org admins
-- keys of their organizations and of their organizations' teams. Writers may rename the keys they see,
-- except that viewers see but never write.
CREATE POLICY api_select ON rbac.keys FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))
  OR user_id = (SELECT rbac.current_principal_user_id())
  OR key_hash = (SELECT (rbac.current_principal()).key_hash)
  OR team_id = ANY ((SELECT rbac._principal_admin_teams())::text[])
  OR team_id = ANY ((SELECT rbac._principal_org_teams())::text[])
  OR organization_id = ANY ((SELECT rbac._principal_admin_orgs())::text[])));
CREATE POLICY api_update ON rbac.keys FOR UPDATE TO rbac_api
  USING ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))
    OR ((SELECT rbac._principal_can_write()) AND (
         user_id = (SELECT rbac.current_principal_user_id())
         OR team_id = ANY ((SELECT rbac._principal_admin_teams())::text[])
         OR team_id = ANY ((SELECT rbac._principal_org_teams())::text[])
         OR organization_id = ANY ((SELECT rbac._principal_admin_orgs())::text[])))))
  WITH CHECK ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))
    OR ((SELECT rbac._principal_can_write()) AND (
         user_id = (SELECT rbac.current_principal_user_id())
         OR team_id = ANY ((SELECT rbac._principal_admin_teams())::text[])
         OR team_id = ANY ((SELECT rbac._principal_org_teams())::text[])
         OR organization_id = ANY ((SELECT rbac._principal_admin_orgs())::text[])))));

-- deprecated_keys: visible exactly when the active key is (the keys policy applies inside the sub-query).
CREATE POLICY api_select ON rbac.deprecated_keys FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))
  OR EXISTS (SELECT 1 FROM rbac.keys k WHERE k.key_hash = deprecated_keys.active_key_hash)));

-- end_users (customers): proxy admin and viewer only (LiteLLM /customer/* is admin-only).
CREATE POLICY api_select ON rbac.end_users FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))));
CREATE POLICY api_update ON rbac.end_users FOR UPDATE TO rbac_api
  USING ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin')))) WITH CHECK ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))));

-- Catalogue data (models, role_permissions, route_groups): any principal reads; only proxy admins write, and
-- built-in route groups are never changed through the API role.
CREATE POLICY api_select ON rbac.models FOR SELECT TO rbac_api USING ((SELECT rbac._has_principal()));
CREATE POLICY api_insert ON rbac.models FOR INSERT TO rbac_api WITH CHECK ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))));
CREATE POLICY api_update ON rbac.models FOR UPDATE TO rbac_api
  USING ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin')))) WITH CHECK ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))));
CREATE POLICY api_delete ON rbac.models FOR DELETE TO rbac_api USING ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))));

CREATE POLICY api_select ON rbac.role_permissions FOR SELECT TO rbac_api USING ((SELECT rbac._has_principal()));
CREATE POLICY api_insert ON rbac.role_permissions FOR INSERT TO rbac_api WITH CHECK ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))));
CREATE POLICY api_update ON rbac.role_permissions FOR UPDATE TO rbac_api
  USING ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin')))) WITH CHECK ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))));
CREATE POLICY api_delete ON rbac.role_permissions FOR DELETE TO rbac_api USING ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin'))));

CREATE POLICY api_select ON rbac.route_groups FOR SELECT TO rbac_api USING ((SELECT rbac._has_principal()));
CREATE POLICY api_insert ON rbac.route_groups FOR INSERT TO rbac_api
  WITH CHECK ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin')) AND NOT builtin));
CREATE POLICY api_update ON rbac.route_groups FOR UPDATE TO rbac_api
  USING ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin')) AND NOT builtin))
  WITH CHECK ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin')) AND NOT builtin));
CREATE POLICY api_delete ON rbac.route_groups FOR DELETE TO rbac_api
  USING ((SELECT rbac._key_allows('/key/update')) AND ((SELECT rbac._principal_is('proxy_admin')) AND NOT builtin));

-- jwt_issuers: trust anchors; proxy admin and viewer read them (without jwks, see the grants), nobody writes
-- through the API role.
CREATE POLICY api_select ON rbac.jwt_issuers FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))));

-- audit_log: admin/viewer all; org admins the rows about their organizations, their teams, and keys/members
-- of those (found through the organization_id / team_id of the audited row); other principals none.
CREATE POLICY api_select ON rbac.audit_log FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))
  OR (coalesce(after, before) ->> 'organization_id') = ANY ((SELECT rbac._principal_admin_orgs())::text[])
  OR (coalesce(after, before) ->> 'team_id') = ANY ((SELECT rbac._principal_org_teams())::text[])));

-- spend_log: admin/viewer all; own spend; team admins their teams'; org admins their organizations' (and teams').
CREATE POLICY api_select ON rbac.spend_log FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))
  OR user_id = (SELECT rbac.current_principal_user_id())
  OR team_id = ANY ((SELECT rbac._principal_admin_teams())::text[])
  OR team_id = ANY ((SELECT rbac._principal_org_teams())::text[])
  OR organization_id = ANY ((SELECT rbac._principal_admin_orgs())::text[])));

-- cache_epoch: the cache-invalidation sentinel (one constant row), readable by the proxy.
CREATE POLICY api_select ON rbac.cache_epoch FOR SELECT TO rbac_api USING (true);
