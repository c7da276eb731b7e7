-- pg_rbac — management functions (docs/semantics.md §12).
--
-- Each public function rbac.X is a C entry point (rbac_manage, src/caller.rs) that is deliberately NOT
-- SECURITY DEFINER: it sees its immediate caller's effective role (current_user), refuses inside
-- security-restricted operations, then runs the implementation rbac._X with the owner's rights (it writes rows
-- the caller's row-level security hides). The implementations are closed to everyone but the owner, and decide
-- who may do what from the principal of the transaction (rbac.authenticate):
--   * proxy_admin principal: everything (LiteLLM proxy admin);
--   * other principals: LiteLLM's rules for that action (team admin, org admin, key owner, ...); viewers
--     (proxy_admin_viewer, internal_user_viewer), JWT team/customer principals and keys without a user are
--     read-only;
--   * no principal: only a caller whose effective role is a superuser or a member of rbac_admin, which acts as a
--     proxy admin. The login or SET ROLE target does not count: another role's code running in an
--     administrator's session (a definer function, a view, an index expression) calls as that other role.
-- If a principal is set, its rules apply even to an rbac_admin session (authenticate as an admin to act as one).
-- A principal's virtual key with allowed_routes may only call the functions whose LiteLLM route they allow
-- (key_generate = /key/generate, team_new = /team/new, ...), proxy admins included.
-- Refusals raise 42501 (insufficient_privilege) naming the rule; bad arguments 22023 (invalid_parameter_value);
-- duplicates 23505 (unique_violation); limits outside a parent's (team within organization, key within team)
-- 23514 from the table triggers. A function is one statement: an error leaves nothing behind.
-- For non-admin callers a missing object is reported as a refusal (42501), not as "not found", so that
-- management calls cannot be used to probe for other tenants' objects.

-- Creates the public management function rbac.<name> for its implementation rbac._<name>: the same arguments
-- (with their defaults) and result, implemented by the C entry point rbac_manage (src/caller.rs), which is not
-- SECURITY DEFINER so that it sees its immediate caller. The implementation is closed to everyone (the entry point
-- runs it as the owner); the entry point is open to the API and admin roles only. One signature per function,
-- written once (on the implementation).
CREATE FUNCTION rbac._expose_management_function(name text) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE impl regprocedure; public_fn text;
BEGIN
  SELECT p.oid::regprocedure INTO STRICT impl FROM pg_proc p
  WHERE p.pronamespace = 'rbac'::regnamespace AND p.proname = '_' || name;
  EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', impl);
  EXECUTE format('CREATE FUNCTION rbac.%I(%s) RETURNS %s LANGUAGE c VOLATILE AS %L, %L',
                 name, pg_get_function_arguments(impl), pg_get_function_result(impl), 'MODULE_PATHNAME', 'rbac_manage');
  public_fn := format('rbac.%I(%s)', name, pg_get_function_identity_arguments(impl));
  EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', public_fn);
  EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO rbac_api, rbac_admin', public_fn);
END $$;
REVOKE ALL ON FUNCTION rbac._expose_management_function(text) FROM PUBLIC;
COMMENT ON FUNCTION rbac._expose_management_function(text) IS
  'Install-time helper: creates the public C entry point rbac.<name> (rbac_manage) with the arguments and result of the '
  'implementation rbac._<name>, closes the implementation to everyone and opens the entry point to rbac_api and '
  'rbac_admin.';

CREATE TYPE rbac.generated_key AS (key text, key_hash text, key_name text, expires timestamptz);
COMMENT ON TYPE rbac.generated_key IS
  'Result of rbac.key_generate: the plaintext key (returned this once, never stored), its sha256 hash (the keys row id), '
  'its display name sk-...abcd, and its expiry.';
CREATE TYPE rbac.regenerated_key AS (key text, key_hash text, key_name text);
COMMENT ON TYPE rbac.regenerated_key IS
  'Result of rbac.key_regenerate: the new plaintext key (returned this once), its hash and display name.';

---------------------------------------------------------------------------------------------------------------
-- Internal helpers (run as the owner inside the management functions; not callable by the API roles)
---------------------------------------------------------------------------------------------------------------

-- The LiteLLM route a management function stands for, derived from its name (rbac.key_generate →
-- /key/generate, rbac.team_member_add → /team/member_add), with LiteLLM's two exceptions: access groups
-- (/access_group/...) and customers (rbac.end_user_new → /customer/new). A principal key's allowed_routes are
-- checked against it, so a new management function needs no list to be kept in step.
CREATE FUNCTION rbac._management_route(fn text) RETURNS text LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE
    WHEN name LIKE 'access\_group\_%' THEN '/access_group/' || substr(name, length('access_group_') + 1)
    WHEN name LIKE 'end\_user\_%' THEN '/customer/' || substr(name, length('end_user_') + 1)
    WHEN position('_' IN name) > 0 THEN '/' || split_part(name, '_', 1) || '/' || substr(name, position('_' IN name) + 1)
  END
  FROM (SELECT CASE WHEN fn LIKE 'rbac.%' THEN substr(fn, 6) END AS name) n
$$;
REVOKE ALL ON FUNCTION rbac._management_route(text) FROM PUBLIC;
COMMENT ON FUNCTION rbac._management_route(text) IS
  'The LiteLLM route of management function fn (rbac.key_generate -> /key/generate; access groups /access_group/...; '
  'customers rbac.end_user_* -> /customer/...); NULL for a name that is not rbac.<area>_<action>.';

-- True when the caller acts as a proxy admin; false for any other principal; 42501 without a principal
-- unless the effective caller (the role whose code called the public function) is a superuser or a member of rbac_admin.
-- Also applies the principal key's allowed_routes to the LiteLLM route the function stands for.
CREATE FUNCTION rbac._mgmt_is_admin(fn text) RETURNS boolean LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  route text := rbac._management_route(fn);
  caller_administers boolean;
BEGIN
  -- the role that called the public function, as its C entry point saw it (src/caller.rs)
  caller_administers := rbac._management_caller_administers(fn);
  IF NOT rbac._has_principal() THEN
    IF caller_administers THEN
      RETURN true;
    END IF;
    RAISE EXCEPTION '%: no principal: call rbac.authenticate(token) in this transaction first (without a principal only superusers and members of rbac_admin may manage, as the role whose code calls the function)', fn
      USING ERRCODE = '42501';
  END IF;
  IF route IS NULL OR NOT rbac._key_allows(route) THEN
    RAISE EXCEPTION '%: the principal''s virtual key may not call % (its allowed_routes, LiteLLM virtual-key route check; a key in its regeneration grace period has LLM routes only)', fn,
      coalesce(route, fn) USING ERRCODE = '42501';
  END IF;
  RETURN rbac._principal_is('proxy_admin');
END $$;

-- 42501 unless the principal may write at all (viewers, team/customer JWTs and user-less keys are read-only).
CREATE FUNCTION rbac._mgmt_require_writer(fn text, action text) RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NOT rbac._principal_can_write() THEN
    RAISE EXCEPTION '%: role % may not %: viewers and principals without a user are read-only (LiteLLM route gate)',
      fn, coalesce(rbac.current_principal_role(), '(none)'), action USING ERRCODE = '42501';
  END IF;
  IF rbac.current_principal_user_id() IS NULL THEN
    RAISE EXCEPTION '%: a principal without a user id may not %', fn, action USING ERRCODE = '42501';
  END IF;
END $$;

-- The hash of the active key named by `key` (plaintext sk-... or 64-hex hash; a deprecated key inside its
-- grace period names its successor), or NULL when there is none. 22023 for a malformed argument.
CREATE FUNCTION rbac._resolve_key(key text) RETURNS text LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text; active text;
BEGIN
  IF key IS NULL OR btrim(key) = '' THEN
    RAISE EXCEPTION 'key must be a virtual key (sk-...) or its 64-character hex sha256 hash' USING ERRCODE = '22023';
  ELSIF key LIKE 'sk-%' THEN
    h := rbac.hash_key(key);
  ELSIF lower(key) ~ '^[0-9a-f]{64}$' THEN
    h := lower(key);
  ELSE
    RAISE EXCEPTION 'key must be a virtual key (sk-...) or its 64-character hex sha256 hash' USING ERRCODE = '22023';
  END IF;
  IF EXISTS (SELECT 1 FROM rbac.keys k WHERE k.key_hash = h) THEN
    RETURN h;
  END IF;
  SELECT d.active_key_hash INTO active FROM rbac.deprecated_keys d WHERE d.key_hash = h AND d.revoke_at > now();
  RETURN active;
END $$;

-- The key the principal authenticated with (following a regeneration inside its grace period); NULL for a
-- JWT principal; 42501 when the key has gone (a delegation ceiling must never silently disappear).
CREATE FUNCTION rbac._principal_key(fn text) RETURNS rbac.keys LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE h text := (rbac.current_principal()).key_hash; k rbac.keys;
BEGIN
  IF h IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT * INTO k FROM rbac.keys WHERE key_hash = h;
  IF NOT FOUND THEN
    SELECT kk.* INTO k FROM rbac.deprecated_keys d JOIN rbac.keys kk ON kk.key_hash = d.active_key_hash WHERE d.key_hash = h;
    IF NOT FOUND THEN
      RAISE EXCEPTION '%: the key this principal authenticated with no longer exists; authenticate again', fn
        USING ERRCODE = '42501';
    END IF;
  END IF;
  RETURN k;
END $$;

-- An id the caller asked for is taken. Proxy admins see every row, so they learn 23505; anyone else gets the
-- same 42501 as for any object they may not touch, so management calls cannot probe other tenants' ids.
CREATE FUNCTION rbac._refuse_existing(fn text, is_admin boolean, what text) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF is_admin THEN
    RAISE EXCEPTION '%: % already exists', fn, what USING ERRCODE = '23505';
  END IF;
  RAISE EXCEPTION '%: % cannot be created by this caller (the id is not available)', fn, what USING ERRCODE = '42501';
END $$;
REVOKE ALL ON FUNCTION rbac._refuse_existing(text, boolean, text) FROM PUBLIC;
COMMENT ON FUNCTION rbac._refuse_existing(text, boolean, text) IS
  'Raises for an id that is already taken: 23505 for a proxy admin, 42501 for anyone else (no existence oracle).';

-- What an admin below proxy admin may bring into a team or an organization: never a proxy admin or viewer, never a
-- member of another organization (another tenant's user: their budget, their e-mail); into a team of an
-- organization only that organization's members, into a team without one only users of no organization. An org
-- admin may bring users of no organization into its organization (as in LiteLLM). Refused with the same 42501 as
-- an unknown user.
CREATE FUNCTION rbac._refuse_foreign_user(fn text, target_user text, organization_id text, for_team boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF (SELECT u.user_role FROM rbac.users u WHERE u.user_id = target_user) IN ('proxy_admin', 'proxy_admin_viewer') THEN
    RAISE EXCEPTION '%: user "%" cannot be added by this caller (a proxy admin or viewer)', fn, target_user USING ERRCODE = '42501';
  END IF;
  IF EXISTS (SELECT 1 FROM rbac.organization_members om
             WHERE om.user_id = target_user AND om.organization_id IS DISTINCT FROM _refuse_foreign_user.organization_id) THEN
    RAISE EXCEPTION '%: user "%" cannot be added by this caller (a member of another organization)', fn, target_user
      USING ERRCODE = '42501';
  END IF;
  IF for_team AND _refuse_foreign_user.organization_id IS NOT NULL AND NOT EXISTS (
       SELECT 1 FROM rbac.organization_members om
       WHERE om.user_id = target_user AND om.organization_id = _refuse_foreign_user.organization_id) THEN
    RAISE EXCEPTION '%: user "%" cannot be added by this caller (not a member of the team''s organization "%")', fn,
      target_user, _refuse_foreign_user.organization_id USING ERRCODE = '42501';
  END IF;
END $$;
REVOKE ALL ON FUNCTION rbac._refuse_foreign_user(text, text, text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION rbac._refuse_foreign_user(text, text, text, boolean) IS
  '42501 when an admin below proxy admin may not bring target_user into organization_id (or a team of it, for_team): '
  'proxy admins and viewers, members of another organization, and for a team of an organization non-members of it.';

-- True when the principal's user is an admin of team_id, or a member and the team grants `permission`
-- (LiteLLM team_member_permissions, e.g. '/key/generate', '/key/delete', '/key/regenerate').
CREATE FUNCTION rbac._principal_team_may(team_id text, permission text) RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
  SELECT EXISTS (
    SELECT 1 FROM rbac.team_members tm JOIN rbac.teams t ON t.team_id = tm.team_id
    WHERE tm.team_id = _principal_team_may.team_id AND tm.user_id = rbac.current_principal_user_id()
      AND (tm.role = 'admin' OR _principal_team_may.permission = ANY (coalesce(t.team_member_permissions, '{}'))))
$$;

REVOKE ALL ON FUNCTION rbac._mgmt_is_admin(text), rbac._mgmt_require_writer(text, text), rbac._resolve_key(text),
  rbac._principal_key(text), rbac._principal_team_may(text, text) FROM PUBLIC;
COMMENT ON FUNCTION rbac._mgmt_is_admin(text) IS
  'Management-function prologue (implementations only): true when the caller acts as a proxy admin (principal role proxy_admin, or no principal '
  'and the effective calling role is a superuser or rbac_admin member), false for any other principal; 42501 without a '
  'principal otherwise. fn names the calling function in messages.';
COMMENT ON FUNCTION rbac._mgmt_require_writer(text, text) IS
  '42501 unless the principal may write (proxy_admin, org_admin, internal_user with a user id); action is used in the message.';
COMMENT ON FUNCTION rbac._resolve_key(text) IS
  'The active key hash named by a plaintext sk-... key or a 64-hex hash (an old key inside its grace period names its '
  'successor); NULL when none; 22023 for a malformed argument.';
COMMENT ON FUNCTION rbac._principal_key(text) IS
  'The rbac.keys row the principal authenticated with (following a regeneration); NULL for JWT principals; 42501 when it '
  'no longer exists, so a delegation ceiling cannot disappear.';
COMMENT ON FUNCTION rbac._principal_team_may(text, text) IS
  'True when the principal''s user is an admin of the team, or a member and the team''s team_member_permissions contain permission.';

---------------------------------------------------------------------------------------------------------------
-- Keys
---------------------------------------------------------------------------------------------------------------
-- A delegated value against its ceiling (the caller's own key, or the organization an org admin hands out
-- from): an unset value inherits the ceiling (unset would mean "unlimited"), a larger one is refused with 42501.
CREATE FUNCTION rbac._within_ceiling(fn text, field text, v numeric, ceiling numeric, whose text) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF ceiling IS NULL THEN RETURN v; END IF;
  IF v IS NULL THEN RETURN ceiling; END IF;
  IF v > ceiling THEN
    RAISE EXCEPTION '%: % % exceeds % % %', fn, field, v, whose, field, ceiling USING ERRCODE = '42501';
  END IF;
  RETURN v;
END $$;

REVOKE EXECUTE ON FUNCTION rbac._within_ceiling(text, text, numeric, numeric, text) FROM PUBLIC;

-- The model lists that bound what key k can call, each non-empty: its own (all-team-models standing for its
-- team's, so dropped here), its team's and the organization's that applies to it (a team key's is its team's).
CREATE FUNCTION rbac._key_model_bounds(k rbac.keys) RETURNS TABLE(bound text[]) LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
  SELECT b.bound FROM (
    SELECT 1 AS ord, array_remove(coalesce(k.models, '{}'), 'all-team-models') AS bound
    UNION ALL
    SELECT 2, t.models FROM rbac.teams t WHERE t.team_id = k.team_id
    UNION ALL
    SELECT 3, o.models FROM rbac.organizations o
    WHERE o.organization_id = CASE WHEN k.team_id IS NOT NULL THEN (SELECT t.organization_id FROM rbac.teams t WHERE t.team_id = k.team_id)
                                   ELSE k.organization_id END
  ) b WHERE k.key_hash IS NOT NULL AND cardinality(coalesce(b.bound, '{}')) > 0 ORDER BY b.ord
$$;
REVOKE EXECUTE ON FUNCTION rbac._key_model_bounds(rbac.keys) FROM PUBLIC;
COMMENT ON FUNCTION rbac._key_model_bounds(rbac.keys) IS
  'The non-empty model lists that bound what a key can call (its own without all-team-models, its team''s, its '
  'organization''s): delegation ceilings check a new key against each.';

-- A new key's metadata with its per-model rate limits (model_rpm_limit, model_tpm_limit) held to the creating
-- key's: a limit the parent has is inherited when unset and may not be raised; limits on other models stay.
CREATE FUNCTION rbac._within_model_limits(fn text, child jsonb, parent jsonb) RETURNS jsonb LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE field text; lim record; mine jsonb;
BEGIN
  IF jsonb_typeof(child) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION '%: metadata must be a JSON object', fn USING ERRCODE = '22023';
  END IF;
  FOREACH field IN ARRAY ARRAY['model_rpm_limit', 'model_tpm_limit'] LOOP
    IF jsonb_typeof(parent -> field) = 'object' THEN
      mine := CASE WHEN jsonb_typeof(child -> field) = 'object' THEN child -> field ELSE '{}' END;
      FOR lim IN SELECT * FROM jsonb_each(parent -> field) LOOP
        IF NOT mine ? lim.key THEN
          mine := mine || jsonb_build_object(lim.key, lim.value);
        ELSIF jsonb_typeof(mine -> lim.key) <> 'number' OR jsonb_typeof(lim.value) <> 'number'
              OR (mine ->> lim.key)::numeric > (lim.value #>> '{}')::numeric THEN
          RAISE EXCEPTION '%: metadata.%.% = % exceeds the caller''s own key (%)', fn, field, lim.key, mine -> lim.key, lim.value
            USING ERRCODE = '42501';
        END IF;
      END LOOP;
      child := jsonb_set(child, ARRAY[field], mine);
    END IF;
  END LOOP;
  RETURN child;
END $$;
REVOKE ALL ON FUNCTION rbac._within_model_limits(text, jsonb, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION rbac._within_model_limits(text, jsonb, jsonb) IS
  'A new key''s metadata with model_rpm_limit / model_tpm_limit held to the creating key''s (unset inherits, higher is '
  '42501); 22023 when metadata is not a JSON object.';

-- A key's model list with all-team-models replaced by what the team really allows (its models, else its
-- organization's), so a delegation ceiling compares real models; '*' when the team allows every model.
CREATE FUNCTION rbac._expand_team_models(models text[], team rbac.teams) RETURNS text[] LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE WHEN NOT 'all-team-models' = ANY (coalesce(models, '{}')) THEN models
    ELSE array_remove(models, 'all-team-models') || coalesce(nullif(coalesce(team.models, '{}'), '{}'),
      nullif((SELECT coalesce(o.models, '{}') FROM rbac.organizations o WHERE o.organization_id = team.organization_id), '{}'),
      ARRAY['*'])
  END
$$;
REVOKE EXECUTE ON FUNCTION rbac._expand_team_models(text[], rbac.teams) FROM PUBLIC;
COMMENT ON FUNCTION rbac._expand_team_models(text[], rbac.teams) IS
  'A model list with all-team-models replaced by the team''s models (else its organization''s, else *): what such a key '
  'can really call, for delegation ceilings.';

-- rbac.key_generate: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._key_generate(
  user_id               text DEFAULT NULL,
  team_id               text DEFAULT NULL,
  models                text[] DEFAULT '{}',
  max_budget            numeric DEFAULT NULL,
  budget_duration       text DEFAULT NULL,
  rpm_limit             bigint DEFAULT NULL,
  tpm_limit             bigint DEFAULT NULL,
  max_parallel_requests bigint DEFAULT NULL,
  expires               timestamptz DEFAULT NULL,
  key_alias             text DEFAULT NULL,
  allowed_routes        text[] DEFAULT '{}',
  metadata              jsonb DEFAULT '{}',
  organization_id       text DEFAULT NULL,
  key                   text DEFAULT NULL,
  duration              interval DEFAULT NULL,
  permissions           jsonb DEFAULT '{}')
RETURNS SETOF rbac.generated_key
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn          constant text := 'rbac.key_generate';
  is_admin    boolean := rbac._mgmt_is_admin(fn);
  me          rbac.principal := rbac.current_principal();
  v_user      text := _key_generate.user_id;
  v_models    text[] := coalesce(_key_generate.models, '{}');
  v_budget    numeric := _key_generate.max_budget;
  v_expires   timestamptz := _key_generate.expires;
  v_team      rbac.teams;
  v_team_role text;
  v_mine      rbac.keys;
  v_ceiling   numeric;
  v_rpm       bigint := _key_generate.rpm_limit;
  v_tpm       bigint := _key_generate.tpm_limit;
  v_parallel  bigint := _key_generate.max_parallel_requests;
  v_routes    text[] := coalesce(_key_generate.allowed_routes, '{}');
  v_bad       text;
  v_plain     text;
  v_hash      text;
  v_name      text;
  v_duration  text := _key_generate.budget_duration;
  v_bound     text[];
  v_carve     boolean;
  v_meta      jsonb := coalesce(_key_generate.metadata, '{}');
  v_bounds    integer := 0;
BEGIN
  IF NOT is_admin THEN
    PERFORM rbac._mgmt_require_writer(fn, 'generate keys');
  END IF;

  IF _key_generate.duration IS NOT NULL THEN
    IF v_expires IS NOT NULL THEN
      RAISE EXCEPTION '%: give expires or duration, not both', fn USING ERRCODE = '22023';
    END IF;
    IF _key_generate.duration <= interval '0' THEN
      RAISE EXCEPTION '%: duration must be positive (got %)', fn, _key_generate.duration USING ERRCODE = '22023';
    END IF;
    v_expires := now() + _key_generate.duration;
  END IF;
  IF v_expires IS NOT NULL AND v_expires <= now() THEN
    RAISE EXCEPTION '%: expires must be in the future (got %)', fn, v_expires USING ERRCODE = '22023';
  END IF;

  -- docs/semantics.md §12.4: route and permission grants are proxy-admin only.
  IF NOT is_admin AND cardinality(coalesce(_key_generate.allowed_routes, '{}')) > 0 THEN
    RAISE EXCEPTION '%: allowed_routes may only be set by a proxy admin (LiteLLM /key/generate)', fn USING ERRCODE = '42501';
  END IF;
  IF NOT is_admin AND coalesce(_key_generate.permissions, '{}') <> '{}' THEN
    RAISE EXCEPTION '%: permissions may only be set by a proxy admin (LiteLLM /key/generate)', fn USING ERRCODE = '42501';
  END IF;

  -- docs/semantics.md §12.4: team keys need team membership; members with role user need the /key/generate permission.
  IF _key_generate.team_id IS NOT NULL THEN
    SELECT * INTO v_team FROM rbac.teams t WHERE t.team_id = _key_generate.team_id;
    IF is_admin THEN
      IF NOT FOUND THEN
        RAISE EXCEPTION '%: team "%" does not exist', fn, _key_generate.team_id USING ERRCODE = '22023';
      END IF;
    ELSE
      SELECT tm.role INTO v_team_role FROM rbac.team_members tm
      WHERE tm.team_id = _key_generate.team_id AND tm.user_id = me.user_id;
      IF v_team_role IS NULL THEN
        RAISE EXCEPTION '%: the caller is not a member of team "%"; team keys are created by the team''s members (LiteLLM /key/generate)',
          fn, _key_generate.team_id USING ERRCODE = '42501';
      END IF;
      IF v_team_role <> 'admin' AND NOT ('/key/generate' = ANY (coalesce(v_team.team_member_permissions, '{}'))) THEN
        RAISE EXCEPTION '%: team "%" does not grant its members the /key/generate permission; ask a team admin (LiteLLM team_member_permissions)',
          fn, _key_generate.team_id USING ERRCODE = '42501';
      END IF;
    END IF;
  END IF;

  -- all-team-models names the models of the key's team (LiteLLM); on a key without a team it would name every
  -- model, so it is refused there for everyone.
  IF 'all-team-models' = ANY (v_models) AND _key_generate.team_id IS NULL THEN
    RAISE EXCEPTION '%: models all-team-models names the models of the key''s team; give team_id', fn USING ERRCODE = '22023';
  END IF;

  -- docs/semantics.md §12.4: a non-admin creates keys for themselves; a team admin may create team keys for members.
  IF NOT is_admin THEN
    IF v_user IS NULL THEN
      v_user := me.user_id;
    ELSIF v_user IS DISTINCT FROM me.user_id THEN
      IF v_team_role IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION '%: User can only create keys for themselves (LiteLLM /key/generate; a team admin may create team keys for team members)', fn
          USING ERRCODE = '42501';
      END IF;
      IF NOT EXISTS (SELECT 1 FROM rbac.team_members tm WHERE tm.team_id = _key_generate.team_id AND tm.user_id = v_user) THEN
        RAISE EXCEPTION '%: a team admin may create keys only for members of the team ("%" is not a member of "%")',
          fn, v_user, _key_generate.team_id USING ERRCODE = '42501';
      END IF;
      IF (SELECT u.user_role FROM rbac.users u WHERE u.user_id = v_user) NOT IN ('internal_user', 'internal_user_viewer') THEN
        RAISE EXCEPTION '%: a team admin may create member keys only for internal_user / internal_user_viewer members', fn
          USING ERRCODE = '42501';
      END IF;
      -- LiteLLM forces such keys to key_type llm_api: LLM routes only
      v_routes := ARRAY['llm_api_routes'];
    END IF;
  END IF;
  IF v_user IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rbac.users u WHERE u.user_id = v_user) THEN
    RAISE EXCEPTION '%: user "%" does not exist (create it with rbac.user_new)', fn, v_user USING ERRCODE = '22023';
  END IF;

  -- docs/semantics.md §12.4: an organization other than the team's requires membership in it.
  IF _key_generate.organization_id IS NOT NULL THEN
    IF NOT is_admin AND _key_generate.organization_id IS DISTINCT FROM v_team.organization_id
       AND NOT _key_generate.organization_id = ANY (rbac._principal_orgs()) THEN
      RAISE EXCEPTION '%: the caller is not a member of organization "%"', fn, _key_generate.organization_id USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM rbac.organizations o WHERE o.organization_id = _key_generate.organization_id) THEN
      RAISE EXCEPTION '%: organization "%" does not exist', fn, _key_generate.organization_id USING ERRCODE = '22023';
    END IF;
  END IF;

  -- docs/semantics.md §12.4 delegation ceiling: no key above the caller's own budget or beyond the caller's key models.
  -- An unset budget / empty model list would mean "unlimited", so it inherits the ceiling instead.
  IF NOT is_admin THEN
    v_mine := rbac._principal_key(fn);
    IF v_mine.key_hash IS NOT NULL THEN
      -- locked: the new key's budget is taken out of this row below, and two calls must not both take it
      SELECT * INTO v_mine FROM rbac.keys k WHERE k.key_hash = v_mine.key_hash FOR UPDATE;
    END IF;
    -- the ceiling is what the caller has left (this period's spend and open reservations taken off), not its nominal
    -- budget: a spent key cannot mint a fresh budget
    v_ceiling := least(v_mine.max_budget - CASE WHEN v_mine.budget_reset_at <= now() THEN 0 ELSE v_mine.spend END - v_mine.reserved,
                       (SELECT u.max_budget - u.spend FROM rbac.users u WHERE u.user_id = me.user_id));
    IF v_ceiling < 0 THEN v_ceiling := 0; END IF;
    v_budget := rbac._within_ceiling(fn, 'max_budget', v_budget, v_ceiling,
      'what the caller has left of its own (LiteLLM delegation ceiling)');
    -- a one-time budget cannot mint a budget that renews every period, nor one that renews faster than its own
    IF v_mine.max_budget IS NOT NULL AND v_mine.budget_duration IS NULL AND _key_generate.budget_duration IS NOT NULL THEN
      RAISE EXCEPTION '%: budget_duration is not allowed: the caller''s own budget does not renew', fn USING ERRCODE = '42501';
    END IF;
    IF v_mine.max_budget IS NOT NULL AND v_mine.budget_duration IS NOT NULL THEN
      IF _key_generate.budget_duration IS NULL AND v_budget IS NOT NULL THEN
        v_duration := v_mine.budget_duration;   -- unset inherits the caller's period (unset would never renew)
      ELSIF rbac.next_budget_reset(_key_generate.budget_duration, now()) < rbac.next_budget_reset(v_mine.budget_duration, now()) THEN
        RAISE EXCEPTION '%: budget_duration % renews sooner than the caller''s own budget (%); a delegated budget may not renew faster',
          fn, _key_generate.budget_duration, v_mine.budget_duration USING ERRCODE = '42501';
      END IF;
    END IF;
    -- limits and expiry are ceilings too
    v_rpm := rbac._within_ceiling(fn, 'rpm_limit', v_rpm, v_mine.rpm_limit, 'the caller''s own key');
    v_tpm := rbac._within_ceiling(fn, 'tpm_limit', v_tpm, v_mine.tpm_limit, 'the caller''s own key');
    v_parallel := rbac._within_ceiling(fn, 'max_parallel_requests', v_parallel, v_mine.max_parallel_requests, 'the caller''s own key');
    -- routes: a key whose allowed_routes are restricted hands out no more (the new key gets the same list)
    IF cardinality(coalesce(v_mine.allowed_routes, '{}')) > 0 THEN
      IF cardinality(v_routes) = 0 OR (v_routes = ARRAY['llm_api_routes'] AND rbac._routes_within_llm(v_mine.allowed_routes)) THEN
        v_routes := v_mine.allowed_routes;
      ELSIF NOT v_routes = v_mine.allowed_routes THEN
        RAISE EXCEPTION '%: the caller''s key is limited to routes %, and a member key needs LLM routes only; use a key without allowed_routes',
          fn, v_mine.allowed_routes USING ERRCODE = '42501';
      END IF;
    END IF;
    -- per-model rate limits in metadata are ceilings too: each at most the caller key's, unset inherits it
    v_meta := rbac._within_model_limits(fn, v_meta, v_mine.metadata);
    IF v_mine.expires IS NOT NULL THEN
      IF v_expires IS NULL THEN v_expires := v_mine.expires;
      ELSIF v_expires > v_mine.expires THEN
        RAISE EXCEPTION '%: expires % is after the caller''s own key expiry %', fn, v_expires, v_mine.expires USING ERRCODE = '42501';
      END IF;
    END IF;
    -- models: what the caller's key can really call bounds the new key. That is its own list (all-team-models
    -- standing for its team's), and for a team key also its team's and organization's lists: an empty list on
    -- a team key means "the team's models", never "every model".
    FOR v_bound IN SELECT b.bound FROM rbac._key_model_bounds(v_mine) b LOOP
      v_bounds := v_bounds + 1;
      IF cardinality(v_models) > 0 THEN
        v_bad := rbac.models_within(rbac._expand_team_models(v_models, v_team), v_bound);
        IF v_bad IS NOT NULL THEN
          RAISE EXCEPTION '%: model "%" is not within what the caller''s own key may call % (no key may be wider than the key that creates it)',
            fn, v_bad, v_bound USING ERRCODE = '42501';
        END IF;
      END IF;
    END LOOP;
    IF cardinality(v_models) = 0 AND v_bounds > 0 THEN
      -- an empty list inherits what the caller's key can call: its one bounding list, or the catalogue's models
      -- that every bounding list allows
      IF v_bounds = 1 THEN
        SELECT b.bound INTO v_models FROM rbac._key_model_bounds(v_mine) b;
      ELSE
        SELECT coalesce(array_agg(m.model_name ORDER BY m.model_name), '{}') INTO v_models FROM rbac.models m
        WHERE NOT EXISTS (SELECT 1 FROM rbac._key_model_bounds(v_mine) b
                          WHERE NOT coalesce(rbac.model_allowed(m.model_name, b.bound), false));
        IF cardinality(v_models) = 0 THEN
          RAISE EXCEPTION '%: the caller''s own key can call no model of rbac.models; give models explicitly', fn USING ERRCODE = '42501';
        END IF;
      END IF;
    END IF;
  END IF;

  IF _key_generate.key IS NOT NULL THEN
    IF _key_generate.key NOT LIKE 'sk-%' OR length(_key_generate.key) < 16 OR _key_generate.key ~ '\s' THEN
      RAISE EXCEPTION '%: a custom key must start with sk-, be at least 16 characters long and contain no whitespace', fn
        USING ERRCODE = '22023';
    END IF;
    v_plain := _key_generate.key;
  ELSE
    v_plain := rbac.generate_key_plaintext();
  END IF;
  v_hash := rbac.hash_key(v_plain);
  IF EXISTS (SELECT 1 FROM rbac.keys k WHERE k.key_hash = v_hash)
     OR EXISTS (SELECT 1 FROM rbac.deprecated_keys d WHERE d.key_hash = v_hash) THEN
    PERFORM rbac._refuse_existing(fn, is_admin, 'this key');
  END IF;
  v_name := 'sk-...' || right(v_plain, 4);
  v_carve := NOT is_admin AND v_mine.max_budget IS NOT NULL AND coalesce(v_budget, 0) > 0;

  INSERT INTO rbac.keys (key_hash, key_name, key_alias, user_id, team_id, organization_id, models, max_budget,
                         budget_duration, rpm_limit, tpm_limit, max_parallel_requests, expires, allowed_routes,
                         permissions, metadata, created_by, budget_from_key)
  VALUES (v_hash, v_name, _key_generate.key_alias, v_user, _key_generate.team_id, _key_generate.organization_id, v_models,
          v_budget, v_duration, v_rpm, v_tpm,
          v_parallel, v_expires, v_routes,
          coalesce(_key_generate.permissions, '{}'), v_meta, me.user_id,
          CASE WHEN v_carve THEN v_mine.key_hash END);
  -- the new key's budget is taken out of the creating key's, so that together they can never spend more than the
  -- creating key could alone; deleting the new key gives back what it has not spent (rbac._return_budget)
  IF v_carve THEN
    UPDATE rbac.keys k SET max_budget = k.max_budget - v_budget WHERE k.key_hash = v_mine.key_hash;
  END IF;

  RETURN QUERY SELECT v_plain, v_hash, v_name, v_expires;
END $$;
SELECT rbac._expose_management_function('key_generate');
COMMENT ON FUNCTION rbac.key_generate(text, text, text[], numeric, text, bigint, bigint, bigint, timestamptz, text, text[], jsonb, text, text, interval, jsonb) IS
$c$Creates a virtual key and returns (key, key_hash, key_name, expires) once: `key` is the plaintext (sk- + 32 url-safe characters, or the custom `key`), the only time it is visible; only key_hash = sha256 hex is stored; key_name is 'sk-...' plus its last 4 characters. Call it in FROM: SELECT * FROM rbac.key_generate(team_id => 't1', models => ARRAY['gpt-4o']).
Arguments (named after rbac.keys columns): user_id (owner; default: the principal's user), team_id, organization_id, models text[] (names, globs with *, access groups; empty = all), max_budget numeric USD, budget_duration ('30d', '1mo', ...), rpm_limit requests per minute, tpm_limit tokens per minute, max_parallel_requests, expires timestamptz or duration interval (not both), key_alias, allowed_routes text[] and permissions jsonb (proxy admin only), metadata jsonb (e.g. model_rpm_limit / model_tpm_limit), key (custom plaintext: sk-..., >= 16 characters).
Rules (LiteLLM /key/generate, docs/semantics.md §12.4): proxy admins (or rbac_admin members without a principal) may create any key. Otherwise: viewers cannot; the key belongs to the caller unless a team admin creates a team key for an internal_user member ("User can only create keys for themselves"; such member keys are limited to allowed_routes {llm_api_routes}, LiteLLM key_type llm_api); team keys require team membership, and members with role user need '/key/generate' in the team's team_member_permissions; allowed_routes/permissions are proxy-admin only; delegation ceiling: max_budget <= what the caller's own key (max_budget - spend - reserved) and user have left (unset = inherits it), and a budgeted caller key hands it out of its own budget (its max_budget drops by the new key's; budget_from_key records it; deleting the new key gives back what it did not spend), no budget_duration when the caller's budget does not renew and none that renews sooner than the caller's (unset = the caller's), all-team-models counts as the team's real models, models within every list that bounds the caller's key (its own, its team's, its organization's; empty inherits them), rpm_limit/tpm_limit/max_parallel_requests/expires no larger than the caller's key's (unset = inherits them), organization_id other than the team's requires membership. created_by = principal user. Team/organization model and limit containment is checked by the table triggers.
Errors: 42501 refusals (message names the rule; also a custom key that already exists, for callers other than proxy admins); 22023 unknown team/user/organization, bad expiry or custom key, all-team-models without team_id; 23505 key already exists (proxy admin); 23514 invalid values (negative budget, bad budget_duration, models outside the team's).$c$;

-- rbac.key_regenerate: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._key_regenerate(key text, grace_period interval DEFAULT interval '0')
RETURNS SETOF rbac.regenerated_key
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn       constant text := 'rbac.key_regenerate';
  is_admin boolean := rbac._mgmt_is_admin(fn);
  me       rbac.principal := rbac.current_principal();
  v_grace  interval := coalesce(_key_regenerate.grace_period, interval '0');
  v_old    text := rbac._resolve_key(_key_regenerate.key);
  k        rbac.keys;
  v_plain  text;
  v_hash   text;
  v_name   text;
  v_routes text[];
BEGIN
  IF v_grace < interval '0' THEN
    RAISE EXCEPTION '%: grace_period must not be negative (got %)', fn, v_grace USING ERRCODE = '22023';
  END IF;
  SELECT * INTO k FROM rbac.keys kk WHERE kk.key_hash = v_old FOR UPDATE;
  IF NOT FOUND THEN
    IF is_admin THEN
      RAISE EXCEPTION '%: key not found', fn USING ERRCODE = '22023';
    END IF;
    RAISE EXCEPTION '%: only the key''s owner, an admin of its team or a proxy admin may regenerate a key', fn USING ERRCODE = '42501';
  END IF;
  IF NOT is_admin THEN
    PERFORM rbac._mgmt_require_writer(fn, 'regenerate keys');
    IF NOT (k.user_id IS NOT DISTINCT FROM me.user_id
            OR (k.team_id IS NOT NULL AND rbac._principal_team_may(k.team_id, '/key/regenerate'))) THEN
      RAISE EXCEPTION '%: only the key''s owner, an admin of its team or a proxy admin may regenerate a key (LiteLLM /key/regenerate)', fn
        USING ERRCODE = '42501';
    END IF;
    -- the new plaintext is the owner's identity: never hand over a user who holds more than a plain member's power
    IF k.user_id IS DISTINCT FROM me.user_id AND k.user_id IS NOT NULL AND (
         (SELECT u.user_role FROM rbac.users u WHERE u.user_id = k.user_id) NOT IN ('internal_user', 'internal_user_viewer')
         OR EXISTS (SELECT 1 FROM rbac.organization_members om WHERE om.user_id = k.user_id AND om.user_role = 'org_admin')
         OR EXISTS (SELECT 1 FROM rbac.team_members tm WHERE tm.user_id = k.user_id AND tm.role = 'admin')) THEN
      RAISE EXCEPTION '%: the key belongs to "%", who is an admin (proxy, organization or team); only a proxy admin or the owner may regenerate it', fn, k.user_id
        USING ERRCODE = '42501';
    END IF;
  END IF;

  v_plain := rbac.generate_key_plaintext();
  v_hash := rbac.hash_key(v_plain);
  v_name := 'sk-...' || right(v_plain, 4);
  -- Someone other than the owner (a team admin, a member with /key/regenerate) receives a plaintext that
  -- authenticates as the owner: it must carry no more than the caller administers, so the key keeps LLM routes
  -- only (as key_generate's member keys, LiteLLM key_type llm_api).
  IF NOT is_admin AND k.user_id IS DISTINCT FROM me.user_id
     AND NOT rbac._routes_within_llm(k.allowed_routes) THEN
    v_routes := ARRAY['llm_api_routes'];
  ELSE
    v_routes := k.allowed_routes;
  END IF;
  -- the row moves to the new hash; deprecated keys that pointed at the old one follow (ON UPDATE CASCADE)
  UPDATE rbac.keys kk SET key_hash = v_hash, key_name = v_name, allowed_routes = v_routes WHERE kk.key_hash = v_old;
  -- requests in flight settle against the key under its new hash (their budget, slot and spend are the key's)
  UPDATE rbac.reservations r SET key_hash = v_hash WHERE r.key_hash = v_old AND r.state = 'open';
  IF v_grace > interval '0' THEN
    INSERT INTO rbac.deprecated_keys (key_hash, active_key_hash, revoke_at) VALUES (v_old, v_hash, now() + v_grace);
  END IF;
  RETURN QUERY SELECT v_plain, v_hash, v_name;
END $$;
SELECT rbac._expose_management_function('key_regenerate');
COMMENT ON FUNCTION rbac.key_regenerate(text, interval) IS
$c$Rotates a key: returns (key, key_hash, key_name) with a new plaintext (shown once); the keys row (budgets, spend, limits) moves to the new hash. With grace_period > 0 the old key keeps authenticating, as the new key, until now() + grace_period (rbac.deprecated_keys); with 0 (default) it stops at once.
`key` is the plaintext sk-... or its 64-hex hash (an old key inside its grace period names its successor).
Who (LiteLLM /key/regenerate, can_modify_verification_token, docs/semantics.md §12.5): proxy admin; the key's owner; for team keys a team admin, or a member when the team grants '/key/regenerate', except (deliberately stricter than LiteLLM) keys of another user who is a proxy admin/viewer, an org admin or a team admin anywhere: the new plaintext would hand over that user's identity. Viewers never.
Errors: 42501 refused (also for a key the caller cannot see); 22023 malformed key, negative grace_period, or (proxy admin) unknown key.$c$;

-- True when a key's allowed_routes reach LLM routes only (every entry is llm_api_routes or a path within it).
CREATE FUNCTION rbac._routes_within_llm(routes text[]) RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
  SELECT cardinality(coalesce(routes, '{}')) > 0 AND NOT EXISTS (
    SELECT 1 FROM unnest(routes) r
    WHERE r IS DISTINCT FROM 'llm_api_routes' AND NOT coalesce(rbac.route_allowed_by(r, ARRAY['llm_api_routes']), false))
$$;
REVOKE EXECUTE ON FUNCTION rbac._routes_within_llm(text[]) FROM PUBLIC;
COMMENT ON FUNCTION rbac._routes_within_llm(text[]) IS
  'True when an allowed_routes list is non-empty and reaches LLM routes only (llm_api_routes or paths within it).';

-- Shared body of key_block / key_unblock.
CREATE FUNCTION rbac._key_set_blocked(fn text, key text, v_blocked boolean) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  is_admin boolean := rbac._mgmt_is_admin(fn);
  h        text := rbac._resolve_key(key);
  k        rbac.keys;
BEGIN
  SELECT * INTO k FROM rbac.keys kk WHERE kk.key_hash = h FOR UPDATE;
  IF NOT FOUND AND is_admin THEN
    RAISE EXCEPTION '%: key not found', fn USING ERRCODE = '22023';
  END IF;
  IF NOT is_admin THEN
    PERFORM rbac._mgmt_require_writer(fn, 'block or unblock keys');
    IF k.key_hash IS NULL OR k.team_id IS NULL THEN
      RAISE EXCEPTION '%: personal keys can only be blocked or unblocked by a proxy admin (LiteLLM /key/block)', fn
        USING ERRCODE = '42501';
    END IF;
    IF NOT (rbac._principal_team_admin_of(k.team_id)
            OR rbac._principal_org_admin_of((SELECT t.organization_id FROM rbac.teams t WHERE t.team_id = k.team_id))) THEN
      RAISE EXCEPTION '%: only a proxy admin, an admin of the key''s team or an org admin of the team''s organization may block or unblock a team key (LiteLLM /key/block)', fn
        USING ERRCODE = '42501';
    END IF;
  END IF;
  UPDATE rbac.keys kk SET blocked = v_blocked WHERE kk.key_hash = h;
END $$;
REVOKE ALL ON FUNCTION rbac._key_set_blocked(text, text, boolean) FROM PUBLIC;

-- rbac.key_block: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._key_block(key text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
BEGIN
  PERFORM rbac._key_set_blocked('rbac.key_block', _key_block.key, true);
END $$;
SELECT rbac._expose_management_function('key_block');
COMMENT ON FUNCTION rbac.key_block(text) IS
$c$Blocks a key (keys.blocked = true): rbac_check then answers key_blocked (401). `key` is the plaintext sk-... or its 64-hex hash.
Who (LiteLLM /key/block, docs/semantics.md §12.5): proxy admin; for team keys an admin of the key's team or an org admin of the team's organization; personal keys (no team): proxy admin only. Viewers never.
Errors: 42501 refused (also for a key the caller cannot see); 22023 malformed key, or (proxy admin) unknown key. Audited as action 'blocked'.$c$;

-- rbac.key_unblock: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._key_unblock(key text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
BEGIN
  PERFORM rbac._key_set_blocked('rbac.key_unblock', _key_unblock.key, false);
END $$;
SELECT rbac._expose_management_function('key_unblock');
COMMENT ON FUNCTION rbac.key_unblock(text) IS
$c$Unblocks a key (keys.blocked = false). Same rules and errors as rbac.key_block (LiteLLM /key/unblock). Audited as action 'unblocked'.$c$;

-- rbac.key_delete: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._key_delete(key text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn       constant text := 'rbac.key_delete';
  is_admin boolean := rbac._mgmt_is_admin(fn);
  me       rbac.principal := rbac.current_principal();
  h        text := rbac._resolve_key(_key_delete.key);
  k        rbac.keys;
BEGIN
  SELECT * INTO k FROM rbac.keys kk WHERE kk.key_hash = h FOR UPDATE;
  IF NOT FOUND AND is_admin THEN
    RAISE EXCEPTION '%: key not found', fn USING ERRCODE = '22023';
  END IF;
  IF NOT is_admin THEN
    PERFORM rbac._mgmt_require_writer(fn, 'delete keys');
    IF k.key_hash IS NULL OR NOT (k.user_id IS NOT DISTINCT FROM me.user_id
                                  OR (k.team_id IS NOT NULL AND rbac._principal_team_may(k.team_id, '/key/delete'))) THEN
      RAISE EXCEPTION '%: only the key''s owner, an admin of its team or a proxy admin may delete a key (LiteLLM /key/delete)', fn
        USING ERRCODE = '42501';
    END IF;
  END IF;
  DELETE FROM rbac.keys kk WHERE kk.key_hash = h;
END $$;
SELECT rbac._expose_management_function('key_delete');
COMMENT ON FUNCTION rbac.key_delete(text) IS
$c$Deletes a key (and its deprecated predecessors). `key` is the plaintext sk-... or its 64-hex hash.
Who (LiteLLM /key/delete, can_modify_verification_token, docs/semantics.md §12.5): proxy admin; the key's owner; for team keys a team admin, or a member when the team grants '/key/delete'. Viewers never.
Errors: 42501 refused (also for a key the caller cannot see); 22023 malformed key, or (proxy admin) unknown key. Spend history stays in rbac.spend_log.$c$;

-- rbac.key_update: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
-- Below proxy admin an update only narrows a key (docs/semantics.md §12.5): nobody gives a key, their own
-- included, more than it has, so raising a budget, a limit or an expiry, widening models or clearing a limit
-- takes a proxy admin (or a new key from key_generate, under its delegation ceiling).
CREATE FUNCTION rbac._key_update(
  key                   text,
  key_alias             text DEFAULT NULL,
  models                text[] DEFAULT NULL,
  max_budget            numeric DEFAULT NULL,
  budget_duration       text DEFAULT NULL,
  rpm_limit             bigint DEFAULT NULL,
  tpm_limit             bigint DEFAULT NULL,
  max_parallel_requests bigint DEFAULT NULL,
  expires               timestamptz DEFAULT NULL,
  metadata              jsonb DEFAULT NULL,
  allowed_routes        text[] DEFAULT NULL,
  permissions           jsonb DEFAULT NULL,
  clear                 text[] DEFAULT '{}')
RETURNS rbac.keys
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn        constant text := 'rbac.key_update';
  is_admin  boolean := rbac._mgmt_is_admin(fn);
  me        rbac.principal := rbac.current_principal();
  h         text := rbac._resolve_key(_key_update.key);
  k         rbac.keys;
  n         rbac.keys;
  v_clear   text[] := coalesce(_key_update.clear, '{}');
  v_bad     text;
  v_team    rbac.teams;
BEGIN
  SELECT * INTO k FROM rbac.keys kk WHERE kk.key_hash = h FOR UPDATE;
  IF NOT FOUND THEN
    IF is_admin THEN
      RAISE EXCEPTION '%: key not found', fn USING ERRCODE = '22023';
    END IF;
    RAISE EXCEPTION '%: only the key''s owner, an admin of its team or a proxy admin may update a key (LiteLLM /key/update)', fn
      USING ERRCODE = '42501';
  END IF;
  SELECT c INTO v_bad FROM unnest(v_clear) c
  WHERE c IS NULL OR c NOT IN ('key_alias', 'models', 'max_budget', 'budget_duration', 'rpm_limit', 'tpm_limit',
                               'max_parallel_requests', 'expires', 'metadata', 'allowed_routes', 'permissions') LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '%: clear names columns to reset to "no limit" (key_alias, models, max_budget, budget_duration, rpm_limit, tpm_limit, max_parallel_requests, expires, metadata, allowed_routes, permissions), not %',
      fn, coalesce(v_bad, 'NULL') USING ERRCODE = '22023';
  END IF;
  IF _key_update.expires IS NOT NULL AND _key_update.expires <= now() THEN
    RAISE EXCEPTION '%: expires must be in the future (got %); block or delete a key to stop it', fn, _key_update.expires
      USING ERRCODE = '22023';
  END IF;
  IF _key_update.metadata IS NOT NULL AND jsonb_typeof(_key_update.metadata) <> 'object' THEN
    RAISE EXCEPTION '%: metadata must be a JSON object', fn USING ERRCODE = '22023';
  END IF;

  n := k;
  n.key_alias := CASE WHEN 'key_alias' = ANY (v_clear) THEN NULL ELSE coalesce(_key_update.key_alias, k.key_alias) END;
  n.models := CASE WHEN 'models' = ANY (v_clear) THEN '{}' ELSE coalesce(_key_update.models, k.models) END;
  n.max_budget := CASE WHEN 'max_budget' = ANY (v_clear) THEN NULL ELSE coalesce(_key_update.max_budget, k.max_budget) END;
  n.budget_duration := CASE WHEN 'budget_duration' = ANY (v_clear) THEN NULL ELSE coalesce(_key_update.budget_duration, k.budget_duration) END;
  n.rpm_limit := CASE WHEN 'rpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_key_update.rpm_limit, k.rpm_limit) END;
  n.tpm_limit := CASE WHEN 'tpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_key_update.tpm_limit, k.tpm_limit) END;
  n.max_parallel_requests := CASE WHEN 'max_parallel_requests' = ANY (v_clear) THEN NULL
                                  ELSE coalesce(_key_update.max_parallel_requests, k.max_parallel_requests) END;
  n.expires := CASE WHEN 'expires' = ANY (v_clear) THEN NULL ELSE coalesce(_key_update.expires, k.expires) END;
  n.metadata := CASE WHEN 'metadata' = ANY (v_clear) THEN '{}' ELSE coalesce(_key_update.metadata, k.metadata) END;
  n.allowed_routes := CASE WHEN 'allowed_routes' = ANY (v_clear) THEN '{}' ELSE coalesce(_key_update.allowed_routes, k.allowed_routes) END;
  n.permissions := CASE WHEN 'permissions' = ANY (v_clear) THEN '{}' ELSE coalesce(_key_update.permissions, k.permissions) END;

  IF NOT is_admin THEN
    PERFORM rbac._mgmt_require_writer(fn, 'update keys');
    IF NOT (k.user_id IS NOT DISTINCT FROM me.user_id
            OR (k.team_id IS NOT NULL AND rbac._principal_team_may(k.team_id, '/key/update'))
            OR (k.team_id IS NOT NULL AND rbac._principal_org_admin_of(
                  (SELECT t.organization_id FROM rbac.teams t WHERE t.team_id = k.team_id)))) THEN
      RAISE EXCEPTION '%: only the key''s owner, an admin of its team (or a member the team grants /key/update), an org admin of the team''s organization or a proxy admin may update a key (LiteLLM /key/update)', fn
        USING ERRCODE = '42501';
    END IF;
    IF n.allowed_routes IS DISTINCT FROM k.allowed_routes OR n.permissions IS DISTINCT FROM k.permissions THEN
      RAISE EXCEPTION '%: allowed_routes and permissions may only be changed by a proxy admin (LiteLLM /key/update)', fn
        USING ERRCODE = '42501';
    END IF;
    -- narrowing only: each new value within the current one (no value = no limit)
    PERFORM rbac._within_ceiling(fn, 'max_budget', n.max_budget, coalesce(k.max_budget, n.max_budget), 'the key''s current');
    PERFORM rbac._within_ceiling(fn, 'rpm_limit', n.rpm_limit, coalesce(k.rpm_limit, n.rpm_limit), 'the key''s current');
    PERFORM rbac._within_ceiling(fn, 'tpm_limit', n.tpm_limit, coalesce(k.tpm_limit, n.tpm_limit), 'the key''s current');
    PERFORM rbac._within_ceiling(fn, 'max_parallel_requests', n.max_parallel_requests,
                                 coalesce(k.max_parallel_requests, n.max_parallel_requests), 'the key''s current');
    IF (k.max_budget IS NOT NULL AND n.max_budget IS NULL) OR (k.rpm_limit IS NOT NULL AND n.rpm_limit IS NULL)
       OR (k.tpm_limit IS NOT NULL AND n.tpm_limit IS NULL)
       OR (k.max_parallel_requests IS NOT NULL AND n.max_parallel_requests IS NULL)
       OR (k.expires IS NOT NULL AND n.expires IS NULL) THEN
      RAISE EXCEPTION '%: clearing a limit would raise it to "no limit", which takes a proxy admin', fn USING ERRCODE = '42501';
    END IF;
    IF k.expires IS NOT NULL AND n.expires > k.expires THEN
      RAISE EXCEPTION '%: expires % is after the key''s current expiry %', fn, n.expires, k.expires USING ERRCODE = '42501';
    END IF;
    IF n.budget_duration IS DISTINCT FROM k.budget_duration AND k.max_budget IS NOT NULL
       AND (k.budget_duration IS NULL OR n.budget_duration IS NULL
            OR rbac.next_budget_reset(n.budget_duration, now()) < rbac.next_budget_reset(k.budget_duration, now())) THEN
      RAISE EXCEPTION '%: budget_duration may not renew the key''s budget sooner (or differently) below a proxy admin', fn
        USING ERRCODE = '42501';
    END IF;
    SELECT * INTO v_team FROM rbac.teams t WHERE t.team_id = k.team_id;
    IF cardinality(coalesce(k.models, '{}')) > 0 THEN
      IF cardinality(coalesce(n.models, '{}')) = 0 THEN
        RAISE EXCEPTION '%: an empty model list would widen the key to every model; give the models', fn USING ERRCODE = '42501';
      END IF;
      v_bad := rbac.models_within(rbac._expand_team_models(n.models, v_team), rbac._expand_team_models(k.models, v_team));
      IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION '%: model "%" is not within the key''s current models %', fn, v_bad, k.models USING ERRCODE = '42501';
      END IF;
    END IF;
    n.metadata := rbac._within_model_limits(fn, n.metadata, k.metadata);
  END IF;
  IF 'all-team-models' = ANY (coalesce(n.models, '{}')) AND k.team_id IS NULL THEN
    RAISE EXCEPTION '%: models all-team-models names the models of the key''s team, and this key has none', fn USING ERRCODE = '22023';
  END IF;

  UPDATE rbac.keys kk SET key_alias = n.key_alias, models = n.models, max_budget = n.max_budget,
         budget_duration = n.budget_duration, rpm_limit = n.rpm_limit, tpm_limit = n.tpm_limit,
         max_parallel_requests = n.max_parallel_requests, expires = n.expires, metadata = n.metadata,
         allowed_routes = n.allowed_routes, permissions = n.permissions
  WHERE kk.key_hash = h
  RETURNING * INTO n;
  -- a budget taken out of another key's: what a lower budget no longer needs goes back to that key — never what
  -- this key has already spent this period or holds for requests in flight (those are still its own)
  IF k.budget_from_key IS NOT NULL AND k.max_budget IS NOT NULL AND n.max_budget < k.max_budget THEN
    UPDATE rbac.keys p
    SET max_budget = p.max_budget + greatest(k.max_budget - greatest(n.max_budget,
                       CASE WHEN k.budget_reset_at <= now() THEN 0 ELSE k.spend END + k.reserved), 0)
    WHERE p.key_hash = k.budget_from_key AND p.max_budget IS NOT NULL;
  END IF;
  RETURN n;
END $$;
SELECT rbac._expose_management_function('key_update');
COMMENT ON FUNCTION rbac.key_update(text, text, text[], numeric, text, bigint, bigint, bigint, timestamptz, jsonb, text[], jsonb, text[]) IS
$c$Changes a key and returns its rbac.keys row. `key` is the plaintext sk-... or its 64-hex hash. Arguments are named after rbac.keys columns; NULL leaves a column as it is; clear text[] names columns to reset to "no limit" (NULL, or '{}' for models, metadata, allowed_routes, permissions): key_alias, models, max_budget, budget_duration, rpm_limit, tpm_limit, max_parallel_requests, expires, metadata, allowed_routes, permissions. Units: max_budget USD, rpm_limit requests per minute, tpm_limit tokens per minute.
Who (LiteLLM /key/update, docs/semantics.md §12.5): proxy admin: anything. Otherwise (writers only) the key's owner, an admin of its team or a member the team grants '/key/update', or an org admin of the team's organization, and the update may only narrow the key: max_budget, rpm_limit, tpm_limit, max_parallel_requests and expires no higher than now and never cleared, models within the current ones (all-team-models as the team's), budget_duration renewing no sooner, per-model limits in metadata not raised (metadata.model_rpm_limit / model_tpm_limit); allowed_routes and permissions are proxy-admin only. A lower budget on a key whose budget came from another key (budget_from_key) gives the difference back to that key.
Errors: 42501 refused (also for a key the caller cannot see); 22023 malformed key, unknown clear entry, expires not in the future, metadata not an object, all-team-models on a key without a team, or (proxy admin) unknown key; 23514 invalid values (negative budget, bad budget_duration, models outside the team's).$c$;

---------------------------------------------------------------------------------------------------------------
-- Teams
---------------------------------------------------------------------------------------------------------------
-- rbac.team_new: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._team_new(
  team_id               text DEFAULT NULL,
  team_alias            text DEFAULT NULL,
  organization_id       text DEFAULT NULL,
  models                text[] DEFAULT '{}',
  max_budget            numeric DEFAULT NULL,
  budget_duration       text DEFAULT NULL,
  rpm_limit             bigint DEFAULT NULL,
  tpm_limit             bigint DEFAULT NULL,
  max_parallel_requests bigint DEFAULT NULL,
  metadata              jsonb DEFAULT '{}',
  team_member_permissions text[] DEFAULT '{}')
RETURNS rbac.teams
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn       constant text := 'rbac.team_new';
  is_admin boolean := rbac._mgmt_is_admin(fn);
  me       rbac.principal := rbac.current_principal();
  v_id     text := coalesce(nullif(btrim(_team_new.team_id), ''), gen_random_uuid()::text);
  v_bad    text;
  t        rbac.teams;
BEGIN
  IF NOT is_admin THEN
    PERFORM rbac._mgmt_require_writer(fn, 'create teams');
    IF _team_new.organization_id IS NULL OR NOT rbac._principal_org_admin_of(_team_new.organization_id) THEN
      RAISE EXCEPTION '%: only a proxy admin, or an org admin creating the team in an organization they administer, may create teams (LiteLLM /team/new)', fn
        USING ERRCODE = '42501';
    END IF;
  ELSIF _team_new.organization_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM rbac.organizations o WHERE o.organization_id = _team_new.organization_id) THEN
    RAISE EXCEPTION '%: organization "%" does not exist', fn, _team_new.organization_id USING ERRCODE = '22023';
  END IF;
  IF v_id = 'litellm-dashboard' THEN
    RAISE EXCEPTION '%: team_id "litellm-dashboard" is reserved (LiteLLM)', fn USING ERRCODE = '22023';
  END IF;
  SELECT p.perm INTO v_bad FROM unnest(coalesce(_team_new.team_member_permissions, '{}')) p(perm)
  WHERE p.perm IS NULL OR p.perm NOT LIKE '/key/%' LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '%: team_member_permissions must be key management routes such as /key/generate (got %)', fn,
      coalesce(v_bad, 'NULL') USING ERRCODE = '22023';
  END IF;
  IF EXISTS (SELECT 1 FROM rbac.teams tt WHERE tt.team_id = v_id) THEN
    PERFORM rbac._refuse_existing(fn, is_admin, format('team "%s"', v_id));
  END IF;

  INSERT INTO rbac.teams (team_id, team_alias, organization_id, models, max_budget, budget_duration, rpm_limit, tpm_limit,
                          max_parallel_requests, metadata, team_member_permissions)
  VALUES (v_id, _team_new.team_alias, _team_new.organization_id, coalesce(_team_new.models, '{}'), _team_new.max_budget,
          _team_new.budget_duration, _team_new.rpm_limit, _team_new.tpm_limit, _team_new.max_parallel_requests,
          coalesce(_team_new.metadata, '{}'), coalesce(_team_new.team_member_permissions, '{}'))
  RETURNING * INTO t;
  -- the creator administers the new team (LiteLLM auto-adds the creator as team admin)
  IF me.user_id IS NOT NULL AND EXISTS (SELECT 1 FROM rbac.users u WHERE u.user_id = me.user_id) THEN
    INSERT INTO rbac.team_members (team_id, user_id, role) VALUES (v_id, me.user_id, 'admin');
  END IF;
  RETURN t;
END $$;
SELECT rbac._expose_management_function('team_new');
COMMENT ON FUNCTION rbac.team_new(text, text, text, text[], numeric, text, bigint, bigint, bigint, jsonb, text[]) IS
$c$Creates a team and returns its rbac.teams row. team_id NULL = a random uuid. models text[] (empty = all that the organization allows), max_budget numeric USD, budget_duration ('30d', '1mo', ...), rpm_limit requests per minute, tpm_limit tokens per minute, max_parallel_requests, metadata jsonb, team_member_permissions text[] (key routes members with role user may call, e.g. '/key/generate').
Who (LiteLLM /team/new, docs/semantics.md §12.6): proxy admin; an org admin with an organization_id they administer; internal users and viewers cannot. The creator (when the principal has a rbac.users row) becomes team admin.
Errors: 42501 refused (also a team_id that is taken, for callers other than proxy admins: no existence oracle); 22023 unknown organization (proxy admin), reserved team_id, bad team_member_permissions; 23505 team exists (proxy admin); 23514 models/max_budget/limits beyond the organization's, negative budget, bad budget_duration.$c$;

-- Shared authorization of member add / delete: proxy admin, team admin, org admin of the team's organization.
CREATE FUNCTION rbac._team_member_manager(fn text, team_id text) RETURNS boolean LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  is_admin boolean := rbac._mgmt_is_admin(fn);
  t        rbac.teams;
BEGIN
  SELECT * INTO t FROM rbac.teams tt WHERE tt.team_id = _team_member_manager.team_id;
  IF is_admin THEN
    IF NOT FOUND THEN
      RAISE EXCEPTION '%: team "%" does not exist', fn, _team_member_manager.team_id USING ERRCODE = '22023';
    END IF;
    RETURN true;
  END IF;
  PERFORM rbac._mgmt_require_writer(fn, 'manage team members');
  IF t.team_id IS NULL OR NOT (rbac._principal_team_admin_of(t.team_id) OR rbac._principal_org_admin_of(t.organization_id)) THEN
    RAISE EXCEPTION '%: only a proxy admin, an admin of the team or an org admin of its organization may manage its members; self-join is not supported (LiteLLM /team/member_add)', fn
      USING ERRCODE = '42501';
  END IF;
  RETURN false;
END $$;
REVOKE ALL ON FUNCTION rbac._team_member_manager(text, text) FROM PUBLIC;

-- rbac.team_member_add: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._team_member_add(
  team_id         text,
  user_id         text,
  role            text DEFAULT 'user',
  max_budget      numeric DEFAULT NULL,
  rpm_limit       bigint DEFAULT NULL,
  tpm_limit       bigint DEFAULT NULL,
  allowed_models  text[] DEFAULT '{}',
  budget_duration text DEFAULT NULL)
RETURNS rbac.team_members
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn      constant text := 'rbac.team_member_add';
  v_admin boolean := rbac._team_member_manager(fn, _team_member_add.team_id);
  m       rbac.team_members;
BEGIN
  IF _team_member_add.role IS NULL OR _team_member_add.role NOT IN ('admin', 'user') THEN
    RAISE EXCEPTION '%: role must be admin or user (got %)', fn, coalesce(_team_member_add.role, 'NULL') USING ERRCODE = '22023';
  END IF;
  IF _team_member_add.user_id IS NULL OR NOT EXISTS (SELECT 1 FROM rbac.users u WHERE u.user_id = _team_member_add.user_id) THEN
    IF NOT v_admin THEN
      RAISE EXCEPTION '%: user "%" cannot be added by this caller', fn, coalesce(_team_member_add.user_id, 'NULL') USING ERRCODE = '42501';
    END IF;
    RAISE EXCEPTION '%: user "%" does not exist; members must be existing users (rbac.user_new)', fn,
      coalesce(_team_member_add.user_id, 'NULL') USING ERRCODE = '22023';
  END IF;
  IF NOT v_admin THEN
    PERFORM rbac._refuse_foreign_user(fn, _team_member_add.user_id,
                                      (SELECT t.organization_id FROM rbac.teams t WHERE t.team_id = _team_member_add.team_id), true);
  END IF;
  IF EXISTS (SELECT 1 FROM rbac.team_members tm WHERE tm.team_id = _team_member_add.team_id AND tm.user_id = _team_member_add.user_id) THEN
    RAISE EXCEPTION '%: user "%" is already a member of team "%" (LiteLLM team_member_already_in_team)', fn,
      _team_member_add.user_id, _team_member_add.team_id USING ERRCODE = '23505';
  END IF;
  INSERT INTO rbac.team_members (team_id, user_id, role, max_budget, rpm_limit, tpm_limit, allowed_models, budget_duration)
  VALUES (_team_member_add.team_id, _team_member_add.user_id, _team_member_add.role, _team_member_add.max_budget,
          _team_member_add.rpm_limit, _team_member_add.tpm_limit, coalesce(_team_member_add.allowed_models, '{}'),
          _team_member_add.budget_duration)
  RETURNING * INTO m;
  RETURN m;
END $$;
SELECT rbac._expose_management_function('team_member_add');
COMMENT ON FUNCTION rbac.team_member_add(text, text, text, numeric, bigint, bigint, text[], text) IS
$c$Adds an existing user to a team and returns the rbac.team_members row. role 'admin' or 'user'; optional per-member max_budget numeric USD (within the team), budget_duration, rpm_limit requests per minute, tpm_limit tokens per minute, allowed_models text[] (must lie within the team's models).
Who (LiteLLM /team/member_add, docs/semantics.md §12.6): proxy admin; an admin of the team; an org admin of the team's organization. Below proxy admin, only members of the team's organization can be added (for a team without one, users of no organization), never proxy admins or viewers (an unknown or foreign user is 42501). Self-join ("available teams") is not supported; users are never created implicitly.
Errors: 42501 refused (also for a team the caller cannot see, and for an unknown or foreign user below proxy admin); 22023 unknown team or user (proxy admin), bad role; 23505 already a member; 23514 invalid budget/limits or allowed_models outside the team's models.$c$;

-- rbac.team_member_delete: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._team_member_delete(team_id text, user_id text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE fn constant text := 'rbac.team_member_delete';
BEGIN
  PERFORM rbac._team_member_manager(fn, _team_member_delete.team_id);
  IF NOT EXISTS (SELECT 1 FROM rbac.team_members tm
                 WHERE tm.team_id = _team_member_delete.team_id AND tm.user_id = _team_member_delete.user_id) THEN
    RAISE EXCEPTION '%: user "%" is not a member of team "%"', fn, _team_member_delete.user_id, _team_member_delete.team_id
      USING ERRCODE = '22023';
  END IF;
  -- LiteLLM deletes the removed member's keys of that team
  DELETE FROM rbac.keys k WHERE k.team_id = _team_member_delete.team_id AND k.user_id = _team_member_delete.user_id;
  DELETE FROM rbac.team_members tm WHERE tm.team_id = _team_member_delete.team_id AND tm.user_id = _team_member_delete.user_id;
END $$;
SELECT rbac._expose_management_function('team_member_delete');
COMMENT ON FUNCTION rbac.team_member_delete(text, text) IS
$c$Removes a user from a team, together with that user's keys of the team (LiteLLM /team/member_delete).
Who: proxy admin; an admin of the team; an org admin of the team's organization.
Errors: 42501 refused; 22023 unknown team (proxy admin) or not a member.$c$;

---------------------------------------------------------------------------------------------------------------
-- Organizations
---------------------------------------------------------------------------------------------------------------
-- rbac.organization_new: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._organization_new(
  organization_id       text DEFAULT NULL,
  organization_alias    text DEFAULT NULL,
  models                text[] DEFAULT '{}',
  max_budget            numeric DEFAULT NULL,
  budget_duration       text DEFAULT NULL,
  rpm_limit             bigint DEFAULT NULL,
  tpm_limit             bigint DEFAULT NULL,
  max_parallel_requests bigint DEFAULT NULL,
  metadata              jsonb DEFAULT '{}')
RETURNS rbac.organizations
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn       constant text := 'rbac.organization_new';
  is_admin boolean := rbac._mgmt_is_admin(fn);
  v_id     text := coalesce(nullif(btrim(_organization_new.organization_id), ''), gen_random_uuid()::text);
  v_models text[] := coalesce(_organization_new.models, '{}');
  v_mine   rbac.keys;
  v_bad    text;
  o        rbac.organizations;
BEGIN
  IF NOT is_admin THEN
    RAISE EXCEPTION '%: only a proxy admin may create organizations (LiteLLM /organization/new)', fn USING ERRCODE = '42501';
  END IF;
  -- docs/semantics.md §12.7: a proxy admin whose own key is limited to some models creates organizations within them.
  v_mine := rbac._principal_key(fn);
  IF cardinality(coalesce(v_mine.models, '{}')) > 0 THEN
    IF cardinality(v_models) = 0 THEN
      RAISE EXCEPTION '%: the caller''s key is limited to models %, so the organization must list its models', fn, v_mine.models
        USING ERRCODE = '42501';
    END IF;
    v_bad := rbac.models_within(v_models, v_mine.models);
    IF v_bad IS NOT NULL THEN
      RAISE EXCEPTION '%: model "%" is not within the caller''s key models %', fn, v_bad, v_mine.models USING ERRCODE = '42501';
    END IF;
  END IF;
  IF EXISTS (SELECT 1 FROM rbac.organizations oo WHERE oo.organization_id = v_id) THEN
    RAISE EXCEPTION '%: organization "%" already exists', fn, v_id USING ERRCODE = '23505';
  END IF;
  INSERT INTO rbac.organizations (organization_id, organization_alias, models, max_budget, budget_duration, rpm_limit,
                                  tpm_limit, max_parallel_requests, metadata)
  VALUES (v_id, _organization_new.organization_alias, v_models, _organization_new.max_budget, _organization_new.budget_duration,
          _organization_new.rpm_limit, _organization_new.tpm_limit, _organization_new.max_parallel_requests,
          coalesce(_organization_new.metadata, '{}'))
  RETURNING * INTO o;
  RETURN o;
END $$;
SELECT rbac._expose_management_function('organization_new');
COMMENT ON FUNCTION rbac.organization_new(text, text, text[], numeric, text, bigint, bigint, bigint, jsonb) IS
$c$Creates an organization and returns its rbac.organizations row. organization_id NULL = a random uuid; models text[] (empty = all), max_budget numeric USD, budget_duration ('30d', '1mo', ...), rpm_limit requests per minute, tpm_limit tokens per minute, max_parallel_requests, metadata jsonb.
Who (LiteLLM /organization/new, docs/semantics.md §12.7): proxy admin only (or rbac_admin members without a principal). A proxy admin whose key is limited to some models must list models within them.
Errors: 42501 refused; 23505 organization exists; 23514 negative budget/limits, bad budget_duration.$c$;

-- Shared authorization of organization member changes: proxy admin or org admin of that organization.
CREATE FUNCTION rbac._org_member_manager(fn text, organization_id text, target_user text) RETURNS boolean LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE is_admin boolean := rbac._mgmt_is_admin(fn);
BEGIN
  IF is_admin THEN
    IF NOT EXISTS (SELECT 1 FROM rbac.organizations o WHERE o.organization_id = _org_member_manager.organization_id) THEN
      RAISE EXCEPTION '%: organization "%" does not exist', fn, _org_member_manager.organization_id USING ERRCODE = '22023';
    END IF;
    RETURN true;
  END IF;
  PERFORM rbac._mgmt_require_writer(fn, 'manage organization members');
  IF NOT rbac._principal_org_admin_of(_org_member_manager.organization_id) THEN
    RAISE EXCEPTION '%: only a proxy admin or an org admin of organization "%" may manage its members (LiteLLM /organization/member_*)', fn,
      _org_member_manager.organization_id USING ERRCODE = '42501';
  END IF;
  IF (SELECT u.user_role FROM rbac.users u WHERE u.user_id = target_user) IN ('proxy_admin', 'proxy_admin_viewer') THEN
    RAISE EXCEPTION '%: changing the organization role of a proxy admin or proxy admin viewer requires a proxy admin (LiteLLM)', fn
      USING ERRCODE = '42501';
  END IF;
  RETURN false;
END $$;
REVOKE ALL ON FUNCTION rbac._org_member_manager(text, text, text) FROM PUBLIC;

-- rbac.organization_member_add: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._organization_member_add(organization_id text, user_id text, user_role text DEFAULT 'internal_user')
RETURNS rbac.organization_members
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn constant text := 'rbac.organization_member_add';
  m  rbac.organization_members;
  v_admin boolean;
BEGIN
  v_admin := rbac._org_member_manager(fn, _organization_member_add.organization_id, _organization_member_add.user_id);
  IF _organization_member_add.user_role IS NULL
     OR _organization_member_add.user_role NOT IN ('org_admin', 'internal_user', 'internal_user_viewer') THEN
    RAISE EXCEPTION '%: user_role must be org_admin, internal_user or internal_user_viewer (got %)', fn,
      coalesce(_organization_member_add.user_role, 'NULL') USING ERRCODE = '22023';
  END IF;
  IF _organization_member_add.user_id IS NULL
     OR NOT EXISTS (SELECT 1 FROM rbac.users u WHERE u.user_id = _organization_member_add.user_id) THEN
    IF NOT v_admin THEN
      RAISE EXCEPTION '%: user "%" cannot be added by this caller', fn, coalesce(_organization_member_add.user_id, 'NULL')
        USING ERRCODE = '42501';
    END IF;
    RAISE EXCEPTION '%: user "%" does not exist (rbac.user_new)', fn, coalesce(_organization_member_add.user_id, 'NULL')
      USING ERRCODE = '22023';
  END IF;
  IF NOT v_admin THEN
    PERFORM rbac._refuse_foreign_user(fn, _organization_member_add.user_id, _organization_member_add.organization_id, false);
  END IF;
  IF EXISTS (SELECT 1 FROM rbac.organization_members om WHERE om.organization_id = _organization_member_add.organization_id
             AND om.user_id = _organization_member_add.user_id) THEN
    RAISE EXCEPTION '%: user "%" is already a member of organization "%"', fn, _organization_member_add.user_id,
      _organization_member_add.organization_id USING ERRCODE = '23505';
  END IF;
  INSERT INTO rbac.organization_members (organization_id, user_id, user_role)
  VALUES (_organization_member_add.organization_id, _organization_member_add.user_id, _organization_member_add.user_role)
  RETURNING * INTO m;
  RETURN m;
END $$;
SELECT rbac._expose_management_function('organization_member_add');
COMMENT ON FUNCTION rbac.organization_member_add(text, text, text) IS
$c$Adds an existing user to an organization with user_role org_admin, internal_user (default) or internal_user_viewer; returns the rbac.organization_members row.
Who (LiteLLM /organization/member_add, verify_org_access, docs/semantics.md §12.7): proxy admin; an org admin of that organization, who may also appoint other org admins of it (as in LiteLLM), but may not change the organization role of a proxy_admin / proxy_admin_viewer user.
Errors: 42501 refused (also an unknown user, or a member of another organization, below proxy admin); 22023 unknown organization or user (proxy admin), bad user_role; 23505 already a member.$c$;

-- rbac.organization_member_delete: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._organization_member_delete(organization_id text, user_id text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE fn constant text := 'rbac.organization_member_delete';
BEGIN
  PERFORM rbac._org_member_manager(fn, _organization_member_delete.organization_id, _organization_member_delete.user_id);
  DELETE FROM rbac.organization_members om
  WHERE om.organization_id = _organization_member_delete.organization_id AND om.user_id = _organization_member_delete.user_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION '%: user "%" is not a member of organization "%"', fn, _organization_member_delete.user_id,
      _organization_member_delete.organization_id USING ERRCODE = '22023';
  END IF;
END $$;
SELECT rbac._expose_management_function('organization_member_delete');
COMMENT ON FUNCTION rbac.organization_member_delete(text, text) IS
$c$Removes a user from an organization (LiteLLM /organization/member_delete). Same rules as rbac.organization_member_add.
Errors: 42501 refused; 22023 unknown organization (proxy admin) or not a member.$c$;

---------------------------------------------------------------------------------------------------------------
-- Users
---------------------------------------------------------------------------------------------------------------
-- rbac.user_new: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._user_new(
  user_id         text DEFAULT NULL,
  user_email      text DEFAULT NULL,
  user_role       text DEFAULT 'internal_user',
  models          text[] DEFAULT '{}',
  max_budget      numeric DEFAULT NULL,
  budget_duration text DEFAULT NULL,
  rpm_limit       bigint DEFAULT NULL,
  tpm_limit       bigint DEFAULT NULL,
  organization_id text DEFAULT NULL,
  user_alias      text DEFAULT NULL,
  metadata        jsonb DEFAULT '{}')
RETURNS rbac.users
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn       constant text := 'rbac.user_new';
  is_admin boolean := rbac._mgmt_is_admin(fn);
  v_id     text := coalesce(nullif(btrim(_user_new.user_id), ''), gen_random_uuid()::text);
  v_role   text := coalesce(_user_new.user_role, 'internal_user');
  v_models text[] := coalesce(_user_new.models, '{}');
  v_budget numeric := _user_new.max_budget;
  v_rpm    bigint := _user_new.rpm_limit;
  v_tpm    bigint := _user_new.tpm_limit;
  v_bad    text;
  o        rbac.organizations;
  u        rbac.users;
BEGIN
  IF v_role NOT IN ('proxy_admin', 'proxy_admin_viewer', 'org_admin', 'internal_user', 'internal_user_viewer', 'team', 'customer') THEN
    RAISE EXCEPTION '%: unknown user_role "%"', fn, v_role USING ERRCODE = '22023';
  END IF;
  IF _user_new.organization_id IS NOT NULL THEN
    SELECT * INTO o FROM rbac.organizations oo WHERE oo.organization_id = _user_new.organization_id;
  END IF;
  IF NOT is_admin THEN
    PERFORM rbac._mgmt_require_writer(fn, 'create users');
    IF _user_new.organization_id IS NULL OR NOT rbac._principal_org_admin_of(_user_new.organization_id) THEN
      RAISE EXCEPTION '%: only a proxy admin, or an org admin creating the user in an organization they administer, may create users (LiteLLM /user/new)', fn
        USING ERRCODE = '42501';
    END IF;
    IF v_role NOT IN ('internal_user', 'internal_user_viewer') THEN
      RAISE EXCEPTION '%: an org admin may only create internal_user or internal_user_viewer users, not % (no privilege escalation)', fn, v_role
        USING ERRCODE = '42501';
    END IF;
    -- what an org admin hands out stays within the organization
    IF cardinality(coalesce(o.models, '{}')) > 0 THEN
      IF cardinality(v_models) = 0 THEN
        v_models := o.models;
      ELSE
        v_bad := rbac.models_within(v_models, o.models);
        IF v_bad IS NOT NULL THEN
          RAISE EXCEPTION '%: model "%" is not within organization "%" models %', fn, v_bad, o.organization_id, o.models
            USING ERRCODE = '42501';
        END IF;
      END IF;
    END IF;
    v_budget := rbac._within_ceiling(fn, 'max_budget', v_budget, o.max_budget, format('organization "%s"', o.organization_id));
    v_rpm := rbac._within_ceiling(fn, 'rpm_limit', v_rpm, o.rpm_limit, format('organization "%s"', o.organization_id));
    v_tpm := rbac._within_ceiling(fn, 'tpm_limit', v_tpm, o.tpm_limit, format('organization "%s"', o.organization_id));
  ELSIF _user_new.organization_id IS NOT NULL AND o.organization_id IS NULL THEN
    RAISE EXCEPTION '%: organization "%" does not exist', fn, _user_new.organization_id USING ERRCODE = '22023';
  END IF;
  IF EXISTS (SELECT 1 FROM rbac.users uu WHERE uu.user_id = v_id) THEN
    PERFORM rbac._refuse_existing(fn, is_admin, format('user "%s"', v_id));
  END IF;

  INSERT INTO rbac.users (user_id, user_alias, user_email, user_role, models, max_budget, budget_duration, rpm_limit,
                          tpm_limit, metadata)
  VALUES (v_id, _user_new.user_alias, _user_new.user_email, v_role, v_models, v_budget, _user_new.budget_duration, v_rpm, v_tpm,
          coalesce(_user_new.metadata, '{}'))
  RETURNING * INTO u;
  IF _user_new.organization_id IS NOT NULL THEN
    INSERT INTO rbac.organization_members (organization_id, user_id, user_role)
    VALUES (_user_new.organization_id, v_id,
            CASE WHEN v_role IN ('internal_user', 'internal_user_viewer') THEN v_role ELSE 'internal_user' END);
  END IF;
  RETURN u;
END $$;
SELECT rbac._expose_management_function('user_new');
COMMENT ON FUNCTION rbac.user_new(text, text, text, text[], numeric, text, bigint, bigint, text, text, jsonb) IS
$c$Creates a user and returns its rbac.users row. user_id NULL = a random uuid; user_role one of proxy_admin, proxy_admin_viewer, org_admin, internal_user (default), internal_user_viewer, team, customer; models text[] (empty = all), max_budget numeric USD, budget_duration ('30d', '1mo', ...), rpm_limit requests per minute, tpm_limit tokens per minute; organization_id: the user also joins that organization (org role internal_user, or internal_user_viewer for such users).
Who (LiteLLM /user/new, docs/semantics.md §12.9): proxy admin; an org admin only with an organization_id they administer, only for roles internal_user / internal_user_viewer (never proxy_admin, proxy_admin_viewer, org_admin), and within the organization: models within its models (empty = its models), max_budget / rpm_limit / tpm_limit not above its own (unset = its own).
Errors: 42501 refused (also a user_id that is taken, for callers other than proxy admins); 22023 unknown user_role or (proxy admin) unknown organization; 23505 user exists (proxy admin); 23514 negative budget/limits, bad budget_duration.$c$;

---------------------------------------------------------------------------------------------------------------
-- Model access groups (docs/semantics.md §8.3, §12.8): tags in rbac.models.access_groups
---------------------------------------------------------------------------------------------------------------
-- Validates the arguments shared by access_group_new / _update and returns the de-duplicated model names.
CREATE FUNCTION rbac._access_group_models(fn text, access_group text, model_names text[]) RETURNS text[] LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_names text[]; v_missing text;
BEGIN
  IF NOT rbac._mgmt_is_admin(fn) THEN
    RAISE EXCEPTION '%: only a proxy admin may manage model access groups (LiteLLM /access_group/*)', fn USING ERRCODE = '42501';
  END IF;
  IF access_group IS NULL OR btrim(access_group) = '' THEN
    RAISE EXCEPTION '%: access_group must be a non-empty name', fn USING ERRCODE = '22023';
  END IF;
  SELECT array_agg(DISTINCT n ORDER BY n) INTO v_names FROM unnest(coalesce(model_names, '{}')) n WHERE n IS NOT NULL;
  IF v_names IS NULL THEN
    RAISE EXCEPTION '%: model_names must name at least one model of rbac.models', fn USING ERRCODE = '22023';
  END IF;
  SELECT string_agg(n, ', ') INTO v_missing FROM unnest(v_names) n
  WHERE NOT EXISTS (SELECT 1 FROM rbac.models m WHERE m.model_name = n);
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION '%: unknown model(s) %: access groups can only tag models of rbac.models', fn, v_missing USING ERRCODE = '22023';
  END IF;
  RETURN v_names;
END $$;
REVOKE ALL ON FUNCTION rbac._access_group_models(text, text, text[]) FROM PUBLIC;

-- rbac.access_group_new: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._access_group_new(access_group text, model_names text[])
RETURNS text[]
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn      constant text := 'rbac.access_group_new';
  v_names text[] := rbac._access_group_models(fn, _access_group_new.access_group, _access_group_new.model_names);
BEGIN
  IF EXISTS (SELECT 1 FROM rbac.models m WHERE _access_group_new.access_group = ANY (m.access_groups)) THEN
    RAISE EXCEPTION '%: access group "%" already exists (LiteLLM 409)', fn, _access_group_new.access_group USING ERRCODE = '23505';
  END IF;
  UPDATE rbac.models m SET access_groups = coalesce(m.access_groups, '{}') || _access_group_new.access_group
  WHERE m.model_name = ANY (v_names);
  RETURN v_names;
END $$;
SELECT rbac._expose_management_function('access_group_new');
COMMENT ON FUNCTION rbac.access_group_new(text, text[]) IS
$c$Creates model access group `access_group` by tagging the named models (rbac.models.model_name) with it; returns the sorted model names in the group. Key/team/user model lists may then name the group (docs/semantics.md §8.3); rbac_check sees the change at once (cache epoch).
Who (LiteLLM /access_group/new, docs/semantics.md §12.8): proxy admin only.
Errors: 42501 refused; 22023 empty name, no models, unknown model names; 23505 the group already exists (LiteLLM 409).$c$;

-- rbac.access_group_update: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._access_group_update(access_group text, model_names text[])
RETURNS text[]
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn      constant text := 'rbac.access_group_update';
  v_names text[] := rbac._access_group_models(fn, _access_group_update.access_group, _access_group_update.model_names);
  g       text := _access_group_update.access_group;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM rbac.models m WHERE g = ANY (m.access_groups)) THEN
    RAISE EXCEPTION '%: access group "%" does not exist', fn, g USING ERRCODE = '22023';
  END IF;
  UPDATE rbac.models m SET access_groups = array_remove(m.access_groups, g)
  WHERE g = ANY (m.access_groups) AND NOT m.model_name = ANY (v_names);
  UPDATE rbac.models m SET access_groups = coalesce(m.access_groups, '{}') || g
  WHERE m.model_name = ANY (v_names) AND NOT g = ANY (coalesce(m.access_groups, '{}'));
  RETURN v_names;
END $$;
SELECT rbac._expose_management_function('access_group_update');
COMMENT ON FUNCTION rbac.access_group_update(text, text[]) IS
$c$Replaces the membership of model access group `access_group`: exactly the named models carry it afterwards; returns them sorted.
Who (LiteLLM /access_group/{name}/update, docs/semantics.md §12.8): proxy admin only.
Errors: 42501 refused; 22023 unknown group, empty name, no models, unknown model names.$c$;

-- rbac.access_group_delete: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._access_group_delete(access_group text)
RETURNS integer
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn constant text := 'rbac.access_group_delete';
  g  text := _access_group_delete.access_group;
  n  integer;
BEGIN
  IF NOT rbac._mgmt_is_admin(fn) THEN
    RAISE EXCEPTION '%: only a proxy admin may manage model access groups (LiteLLM /access_group/*)', fn USING ERRCODE = '42501';
  END IF;
  UPDATE rbac.models m SET access_groups = array_remove(m.access_groups, g) WHERE g = ANY (m.access_groups);
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n = 0 THEN
    RAISE EXCEPTION '%: access group "%" does not exist', fn, coalesce(g, 'NULL') USING ERRCODE = '22023';
  END IF;
  RETURN n;
END $$;
SELECT rbac._expose_management_function('access_group_delete');
COMMENT ON FUNCTION rbac.access_group_delete(text) IS
$c$Deletes model access group `access_group` (removes the tag from every model); returns the number of models untagged. Lists that still name the group then match nothing through it.
Who (LiteLLM /access_group/{name}/delete, docs/semantics.md §12.8): proxy admin only.
Errors: 42501 refused; 22023 unknown group.$c$;

---------------------------------------------------------------------------------------------------------------
-- rbac.jwt_inspect: say why a JWT gets its decision (implementation in Rust, src/auth/jwt_sql.rs). Exposed like a
-- management function so that its C entry point sees the effective caller.
---------------------------------------------------------------------------------------------------------------
SELECT rbac._expose_management_function('jwt_inspect');
COMMENT ON FUNCTION rbac._jwt_inspect(text, text, text) IS
  'Implementation of rbac.jwt_inspect, run with the owner''s rights by its C entry point (src/caller.rs); closed to everyone.';
COMMENT ON FUNCTION rbac.jwt_inspect(text, text, text) IS
$c$Explains what pg_rbac does with a JWT, as jsonb: header (alg, kid, typ), issuer (the rbac.jwt_issuers row chosen: exact or tenant template, the tenant, usable key count), key (kid, type and algorithms of the key that verified), steps (structure, issuer, signature, tenant, audience, time, token type: ok, or the reason and message of the first that failed), verified, refusal; once the signature verified also claims (each configured claim path, the value found and how), resolved (user id, e-mail, scopes, roles, mapped role, groups and the team each names, team candidates, organization, customer, tenant, overage), admission (the issuer's rules and the refusal), times, audience, warnings (paths that match nothing, unverified e-mails, groups that are not teams); and decision: what rbac.rbac_check(token, route, model) decides (route NULL: what rbac.authenticate(token) decides), without budget resets. Never key material or the signature.
Who: a principal (rbac.authenticate) that is proxy_admin or proxy_admin_viewer, whose virtual key (if any) allows /key/info; without a principal, a caller whose effective role is a superuser or a member of rbac_admin.
Errors: 42501 anyone else; 22023 an empty route.$c$;
COMMENT ON FUNCTION rbac._jwt_issuer_problem(jsonb) IS
  'Write-time check of a rbac.jwt_issuers row (to_jsonb(NEW)): why it cannot work as written (a JWKS without a usable '
  'verification key or with private-key members, a claim path with an empty segment, an issuer template without '
  'allowed_tenants, malformed group_mappings), or NULL. Used by the validation trigger (23514). Never raises.';
REVOKE ALL ON FUNCTION rbac._jwt_issuer_problem(jsonb) FROM PUBLIC;
