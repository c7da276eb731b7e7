-- pg_rbac 0.3.0 — lifecycle management functions (issue 13 part 1; docs/management-lifecycle.md): change, block and
-- delete what the create functions of 050_management.sql made, for teams, team members, users, organizations,
-- customers (end users) and the model catalogue.
--
-- Written like 050_management.sql: an implementation rbac._<name> (PL/pgSQL, owner's rights, pinned search_path)
-- starting with rbac._mgmt_is_admin(fn), exposed by rbac._expose_management_function('<name>'), which creates the
-- public C entry point rbac.<name> that sees its real caller (docs/secure-deployment.md, "Who is calling").
-- This file only creates NEW objects: a fresh install and the 0.2.0 -> 0.3.0 upgrade load the same text.
--
-- Common rules (rbac.key_update is the model):
--   * arguments are named after the columns; NULL leaves a column as it is; `clear text[]` names the columns to
--     reset to "no limit" (NULL, or '{}' for lists and metadata); an unknown clear entry is 22023;
--   * nobody below a proxy admin gives more than it has, nor changes its own role, budget or limits (42501);
--   * a non-admin naming an object it cannot manage, or that does not exist, gets the same 42501 (no existence
--     oracle); a proxy admin naming an unknown object gets 22023;
--   * deleting a team, user or organization that still has keys (or, for an organization, teams) is refused with
--     2BP01 (dependent_objects_still_exist, as DROP without CASCADE) unless `cascade => true` is given: LiteLLM
--     1.110.2 deletes those keys silently; pg_rbac makes the caller say so;
--   * every row written is audited by the table triggers, with the principal as actor.

---------------------------------------------------------------------------------------------------------------
-- Shared helpers (owner only)
---------------------------------------------------------------------------------------------------------------
-- 22023 unless every entry of `clear` is one of `allowed`.
CREATE FUNCTION rbac._lifecycle_check_clear(fn text, clear text[], allowed text[]) RETURNS text[] LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_bad text;
BEGIN
  SELECT c INTO v_bad FROM unnest(coalesce(clear, '{}')) c WHERE c IS NULL OR NOT c = ANY (allowed) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '%: clear names columns to reset to "no limit" (%), not %', fn, array_to_string(allowed, ', '),
      coalesce(v_bad, 'NULL') USING ERRCODE = '22023';
  END IF;
  RETURN coalesce(clear, '{}');
END $$;
REVOKE ALL ON FUNCTION rbac._lifecycle_check_clear(text, text[], text[]) FROM PUBLIC;
COMMENT ON FUNCTION rbac._lifecycle_check_clear(text, text[], text[]) IS
  'Lifecycle helper: the clear list of an update function (NULL = none); 22023 for an entry that is not one of allowed.';

-- 22023 when metadata is given and is not a JSON object.
CREATE FUNCTION rbac._lifecycle_check_metadata(fn text, metadata jsonb) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF metadata IS NOT NULL AND jsonb_typeof(metadata) <> 'object' THEN
    RAISE EXCEPTION '%: metadata must be a JSON object', fn USING ERRCODE = '22023';
  END IF;
END $$;
REVOKE ALL ON FUNCTION rbac._lifecycle_check_metadata(text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION rbac._lifecycle_check_metadata(text, jsonb) IS
  'Lifecycle helper: 22023 when metadata is not NULL and not a JSON object.';

-- A delegated value against a ceiling for an update: unlike rbac._within_ceiling (create functions, where unset
-- inherits), an update that leaves the value unset ("no limit") under a ceiling is refused too.
CREATE FUNCTION rbac._lifecycle_within(fn text, field text, v numeric, ceiling numeric, whose text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF ceiling IS NOT NULL AND (v IS NULL OR v > ceiling) THEN
    RAISE EXCEPTION '%: % % exceeds % % % (a principal never gives more than it has)', fn, field,
      coalesce(v::text, '"no limit"'), whose, field, ceiling USING ERRCODE = '42501';
  END IF;
END $$;
REVOKE ALL ON FUNCTION rbac._lifecycle_within(text, text, numeric, numeric, text) FROM PUBLIC;
COMMENT ON FUNCTION rbac._lifecycle_within(text, text, numeric, numeric, text) IS
  'Lifecycle helper: 42501 when a ceiling is set and v is unset ("no limit") or above it.';

-- 22023 for bad team_member_permissions (the rule of rbac.team_new).
CREATE FUNCTION rbac._lifecycle_check_member_permissions(fn text, perms text[]) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_bad text;
BEGIN
  SELECT p INTO v_bad FROM unnest(coalesce(perms, '{}')) p WHERE p IS NULL OR p NOT LIKE '/key/%' LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '%: team_member_permissions must be key management routes such as /key/generate (got %)', fn,
      coalesce(v_bad, 'NULL') USING ERRCODE = '22023';
  END IF;
END $$;
REVOKE ALL ON FUNCTION rbac._lifecycle_check_member_permissions(text, text[]) FROM PUBLIC;
COMMENT ON FUNCTION rbac._lifecycle_check_member_permissions(text, text[]) IS
  'Lifecycle helper: 22023 unless every team_member_permissions entry is a /key/... route.';

-- The organizations a non-admin principal may manage user_id in: the user's organizations, when the principal
-- is org admin of every one of them (LiteLLM /user/delete: "the user's entire org membership within the caller's
-- admin scope"), the user has a plain member's role (internal_user, internal_user_viewer), is no org admin
-- anywhere, is not the caller, and belongs to no team outside those organizations. NULL otherwise (also for an
-- unknown user).
CREATE FUNCTION rbac._lifecycle_managed_user_orgs(user_id text) RETURNS text[] LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE WHEN u.user_id IS NOT NULL
                AND u.user_id IS DISTINCT FROM rbac.current_principal_user_id()
                AND u.user_role IN ('internal_user', 'internal_user_viewer')
                AND cardinality(o.orgs) > 0
                AND o.orgs <@ coalesce(rbac._principal_admin_orgs(), '{}')
                AND NOT EXISTS (SELECT 1 FROM rbac.team_members tm JOIN rbac.teams t ON t.team_id = tm.team_id
                                WHERE tm.user_id = u.user_id AND NOT coalesce(t.organization_id = ANY (o.orgs), false))
                -- a fellow administrator (org admin anywhere) is the proxy admin's to change, never a peer's
                AND NOT EXISTS (SELECT 1 FROM rbac.organization_members om
                                WHERE om.user_id = u.user_id AND om.user_role = 'org_admin')
              THEN o.orgs END
  FROM rbac.users u,
       LATERAL (SELECT coalesce(array_agg(om.organization_id ORDER BY om.organization_id), '{}') AS orgs
                FROM rbac.organization_members om WHERE om.user_id = u.user_id) o
  WHERE u.user_id = _lifecycle_managed_user_orgs.user_id
$$;
REVOKE ALL ON FUNCTION rbac._lifecycle_managed_user_orgs(text) FROM PUBLIC;
COMMENT ON FUNCTION rbac._lifecycle_managed_user_orgs(text) IS
  'Lifecycle helper: the organizations in which a non-admin principal manages user_id (it is org admin of all of the '
  'user''s organizations, the user is a plain internal_user / internal_user_viewer other than the caller, org admin '
  'nowhere, and in no team outside them); NULL when the principal does not manage the user.';

---------------------------------------------------------------------------------------------------------------
-- Teams
---------------------------------------------------------------------------------------------------------------
-- rbac.team_update: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
-- LiteLLM 1.110.2 lets team admins edit no team field unless team_admin_editable_team_fields says so; pg_rbac has
-- no such setting, so a team is changed by a proxy admin or an org admin of its organization, whose changes the
-- table triggers hold within the organization (docs/semantics.md §2.4 rule 4: 23514).
CREATE FUNCTION rbac._team_update(
  team_id                 text,
  team_alias              text DEFAULT NULL,
  models                  text[] DEFAULT NULL,
  max_budget              numeric DEFAULT NULL,
  budget_duration         text DEFAULT NULL,
  rpm_limit               bigint DEFAULT NULL,
  tpm_limit               bigint DEFAULT NULL,
  max_parallel_requests   bigint DEFAULT NULL,
  metadata                jsonb DEFAULT NULL,
  team_member_permissions text[] DEFAULT NULL,
  clear                   text[] DEFAULT '{}')
RETURNS rbac.teams
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn       constant text := 'rbac.team_update';
  is_admin boolean := rbac._mgmt_is_admin(fn);
  t        rbac.teams;
  n        rbac.teams;
  v_clear  text[];
BEGIN
  SELECT * INTO t FROM rbac.teams tt WHERE tt.team_id = _team_update.team_id FOR UPDATE;
  IF is_admin THEN
    IF t.team_id IS NULL THEN
      RAISE EXCEPTION '%: team "%" does not exist', fn, _team_update.team_id USING ERRCODE = '22023';
    END IF;
  ELSE
    PERFORM rbac._mgmt_require_writer(fn, 'update teams');
    IF t.team_id IS NULL OR NOT rbac._principal_org_admin_of(t.organization_id) THEN
      RAISE EXCEPTION '%: only a proxy admin or an org admin of the team''s organization may update a team (LiteLLM /team/update; team admins edit no team field)', fn
        USING ERRCODE = '42501';
    END IF;
  END IF;
  v_clear := rbac._lifecycle_check_clear(fn, _team_update.clear, ARRAY['team_alias', 'models', 'max_budget',
    'budget_duration', 'rpm_limit', 'tpm_limit', 'max_parallel_requests', 'metadata', 'team_member_permissions']);
  PERFORM rbac._lifecycle_check_metadata(fn, _team_update.metadata);
  PERFORM rbac._lifecycle_check_member_permissions(fn, _team_update.team_member_permissions);

  n := t;
  n.team_alias := CASE WHEN 'team_alias' = ANY (v_clear) THEN NULL ELSE coalesce(_team_update.team_alias, t.team_alias) END;
  n.models := CASE WHEN 'models' = ANY (v_clear) THEN '{}' ELSE coalesce(_team_update.models, t.models) END;
  n.max_budget := CASE WHEN 'max_budget' = ANY (v_clear) THEN NULL ELSE coalesce(_team_update.max_budget, t.max_budget) END;
  n.budget_duration := CASE WHEN 'budget_duration' = ANY (v_clear) THEN NULL ELSE coalesce(_team_update.budget_duration, t.budget_duration) END;
  n.rpm_limit := CASE WHEN 'rpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_team_update.rpm_limit, t.rpm_limit) END;
  n.tpm_limit := CASE WHEN 'tpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_team_update.tpm_limit, t.tpm_limit) END;
  n.max_parallel_requests := CASE WHEN 'max_parallel_requests' = ANY (v_clear) THEN NULL
                                  ELSE coalesce(_team_update.max_parallel_requests, t.max_parallel_requests) END;
  n.metadata := CASE WHEN 'metadata' = ANY (v_clear) THEN '{}' ELSE coalesce(_team_update.metadata, t.metadata) END;
  n.team_member_permissions := CASE WHEN 'team_member_permissions' = ANY (v_clear) THEN '{}'
                                    ELSE coalesce(_team_update.team_member_permissions, t.team_member_permissions) END;

  UPDATE rbac.teams tt SET team_alias = n.team_alias, models = n.models, max_budget = n.max_budget,
         budget_duration = n.budget_duration, rpm_limit = n.rpm_limit, tpm_limit = n.tpm_limit,
         max_parallel_requests = n.max_parallel_requests, metadata = n.metadata,
         team_member_permissions = n.team_member_permissions, updated_at = now()
  WHERE tt.team_id = t.team_id
  RETURNING * INTO n;
  RETURN n;
END $$;
SELECT rbac._expose_management_function('team_update');
COMMENT ON FUNCTION rbac.team_update(text, text, text[], numeric, text, bigint, bigint, bigint, jsonb, text[], text[]) IS
$c$Changes a team and returns its rbac.teams row (LiteLLM /team/update). Arguments are named after rbac.teams columns; NULL leaves a column as it is; clear text[] names columns to reset to "no limit" (NULL, or '{}' for models, metadata, team_member_permissions): team_alias, models, max_budget, budget_duration, rpm_limit, tpm_limit, max_parallel_requests, metadata, team_member_permissions. Units: max_budget USD, rpm_limit requests per minute, tpm_limit tokens per minute, max_parallel_requests concurrent requests; budget_duration '30d', '1mo', ...
Who (docs/management-lifecycle.md): proxy admin; an org admin of the team's organization, within the organization's models, budget and limits (table rule, 23514). Team admins edit no team field (LiteLLM default team_admin_editable_team_fields = []); viewers never. The organization of a team is not changed here.
Errors: 42501 refused (also for a team the caller cannot see); 22023 unknown team (proxy admin), unknown clear entry, metadata not a JSON object, team_member_permissions not /key/... routes; 23514 models/budget/limits beyond the organization's, keys or members no longer within the team, negative values, bad budget_duration.$c$;

-- Shared body of team_block / team_unblock. Blocking narrows, so the team's own admins may do it (LiteLLM
-- TEAM_OR_ORG_ADMIN); unblocking could undo an administrator's block, so it takes a proxy admin or an org admin
-- of the team's organization (stricter than LiteLLM).
CREATE FUNCTION rbac._team_set_blocked(fn text, team_id text, v_blocked boolean) RETURNS rbac.teams LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  is_admin boolean := rbac._mgmt_is_admin(fn);
  t        rbac.teams;
BEGIN
  SELECT * INTO t FROM rbac.teams tt WHERE tt.team_id = _team_set_blocked.team_id FOR UPDATE;
  IF is_admin THEN
    IF t.team_id IS NULL THEN
      RAISE EXCEPTION '%: team "%" does not exist', fn, _team_set_blocked.team_id USING ERRCODE = '22023';
    END IF;
  ELSE
    PERFORM rbac._mgmt_require_writer(fn, 'block or unblock teams');
    IF t.team_id IS NULL OR NOT (rbac._principal_org_admin_of(t.organization_id)
                                 OR (v_blocked AND rbac._principal_team_admin_of(t.team_id))) THEN
      RAISE EXCEPTION '%: only a proxy admin, an org admin of the team''s organization%may % a team (LiteLLM /team/block)', fn,
        CASE WHEN v_blocked THEN ' or an admin of the team ' ELSE ' (not its team admins, so a block cannot be undone from below) ' END,
        CASE WHEN v_blocked THEN 'block' ELSE 'unblock' END USING ERRCODE = '42501';
    END IF;
  END IF;
  UPDATE rbac.teams tt SET blocked = v_blocked, updated_at = now() WHERE tt.team_id = t.team_id RETURNING * INTO t;
  RETURN t;
END $$;
REVOKE ALL ON FUNCTION rbac._team_set_blocked(text, text, boolean) FROM PUBLIC;

-- rbac.team_block: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._team_block(team_id text)
RETURNS rbac.teams
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
BEGIN
  RETURN rbac._team_set_blocked('rbac.team_block', _team_block.team_id, true);
END $$;
SELECT rbac._expose_management_function('team_block');
COMMENT ON FUNCTION rbac.team_block(text) IS
$c$Blocks a team (teams.blocked = true) and returns its rbac.teams row: rbac_check then refuses every key of the team (team_blocked, 401). LiteLLM /team/block.
Who: proxy admin; an org admin of the team's organization; an admin of the team. Viewers never.
Errors: 42501 refused (also for a team the caller cannot see); 22023 unknown team (proxy admin). Audited as action 'blocked'.$c$;

-- rbac.team_unblock: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._team_unblock(team_id text)
RETURNS rbac.teams
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
BEGIN
  RETURN rbac._team_set_blocked('rbac.team_unblock', _team_unblock.team_id, false);
END $$;
SELECT rbac._expose_management_function('team_unblock');
COMMENT ON FUNCTION rbac.team_unblock(text) IS
$c$Unblocks a team (teams.blocked = false) and returns its rbac.teams row. LiteLLM /team/unblock.
Who: proxy admin; an org admin of the team's organization. Stricter than LiteLLM: the team's own admins may block it but not unblock it, so a block from above cannot be undone from below.
Errors: 42501 refused (also for a team the caller cannot see); 22023 unknown team (proxy admin). Audited as action 'unblocked'.$c$;

-- rbac.team_delete: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
-- LiteLLM 1.110.2 /team/delete deletes the team's keys with it, silently; here the caller must ask for that.
CREATE FUNCTION rbac._team_delete(team_id text, "cascade" boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn       constant text := 'rbac.team_delete';
  is_admin boolean := rbac._mgmt_is_admin(fn);
  t        rbac.teams;
  v_keys   integer;
BEGIN
  SELECT * INTO t FROM rbac.teams tt WHERE tt.team_id = _team_delete.team_id FOR UPDATE;
  IF is_admin THEN
    IF t.team_id IS NULL THEN
      RAISE EXCEPTION '%: team "%" does not exist', fn, _team_delete.team_id USING ERRCODE = '22023';
    END IF;
  ELSE
    PERFORM rbac._mgmt_require_writer(fn, 'delete teams');
    IF t.team_id IS NULL OR NOT (rbac._principal_org_admin_of(t.organization_id) OR rbac._principal_team_admin_of(t.team_id)) THEN
      RAISE EXCEPTION '%: only a proxy admin, an org admin of the team''s organization or an admin of the team may delete a team (LiteLLM /team/delete)', fn
        USING ERRCODE = '42501';
    END IF;
  END IF;
  SELECT count(*) INTO v_keys FROM rbac.keys k WHERE k.team_id = t.team_id;
  IF v_keys > 0 AND NOT coalesce(_team_delete."cascade", false) THEN
    RAISE EXCEPTION '%: team "%" still has % key(s); delete them first, or call rbac.team_delete(team_id, cascade => true) to delete them with the team', fn,
      t.team_id, v_keys USING ERRCODE = '2BP01';
  END IF;
  DELETE FROM rbac.keys k WHERE k.team_id = t.team_id;
  DELETE FROM rbac.teams tt WHERE tt.team_id = t.team_id;   -- memberships go with it (foreign keys)
  RETURN v_keys;
END $$;
SELECT rbac._expose_management_function('team_delete');
COMMENT ON FUNCTION rbac.team_delete(text, boolean) IS
$c$Deletes a team and its memberships; returns how many keys were deleted with it. A team that still has keys is refused (2BP01) unless cascade => true, which deletes them too (LiteLLM /team/delete always does; here the caller says so). Keys whose budget came from another key give back what they did not spend (docs/semantics.md §12.4 rule 8). Spend history stays in rbac.spend_log.
Who (LiteLLM /team/delete, TEAM_OR_ORG_ADMIN): proxy admin; an org admin of the team's organization; an admin of the team. Viewers never.
Errors: 42501 refused (also for a team the caller cannot see); 22023 unknown team (proxy admin); 2BP01 the team has keys and cascade is not true.$c$;

-- rbac.team_member_update: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._team_member_update(
  team_id         text,
  user_id         text,
  role            text DEFAULT NULL,
  max_budget      numeric DEFAULT NULL,
  rpm_limit       bigint DEFAULT NULL,
  tpm_limit       bigint DEFAULT NULL,
  allowed_models  text[] DEFAULT NULL,
  budget_duration text DEFAULT NULL,
  clear           text[] DEFAULT '{}')
RETURNS rbac.team_members
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn      constant text := 'rbac.team_member_update';
  v_admin boolean := rbac._team_member_manager(fn, _team_member_update.team_id);
  t       rbac.teams;
  m       rbac.team_members;
  n       rbac.team_members;
  v_clear text[];
  v_bad   text;
BEGIN
  v_clear := rbac._lifecycle_check_clear(fn, _team_member_update.clear,
    ARRAY['max_budget', 'rpm_limit', 'tpm_limit', 'allowed_models', 'budget_duration']);
  IF _team_member_update.role IS NOT NULL AND _team_member_update.role NOT IN ('admin', 'user') THEN
    RAISE EXCEPTION '%: role must be admin or user (got %)', fn, _team_member_update.role USING ERRCODE = '22023';
  END IF;
  SELECT * INTO t FROM rbac.teams tt WHERE tt.team_id = _team_member_update.team_id;
  SELECT * INTO m FROM rbac.team_members tm
  WHERE tm.team_id = _team_member_update.team_id AND tm.user_id = _team_member_update.user_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION '%: user "%" is not a member of team "%"', fn, coalesce(_team_member_update.user_id, 'NULL'),
      _team_member_update.team_id USING ERRCODE = '22023';
  END IF;

  n := m;
  n.role := coalesce(_team_member_update.role, m.role);
  n.max_budget := CASE WHEN 'max_budget' = ANY (v_clear) THEN NULL ELSE coalesce(_team_member_update.max_budget, m.max_budget) END;
  n.rpm_limit := CASE WHEN 'rpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_team_member_update.rpm_limit, m.rpm_limit) END;
  n.tpm_limit := CASE WHEN 'tpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_team_member_update.tpm_limit, m.tpm_limit) END;
  n.allowed_models := CASE WHEN 'allowed_models' = ANY (v_clear) THEN '{}' ELSE coalesce(_team_member_update.allowed_models, m.allowed_models) END;
  n.budget_duration := CASE WHEN 'budget_duration' = ANY (v_clear) THEN NULL
                            ELSE coalesce(_team_member_update.budget_duration, m.budget_duration) END;

  IF NOT v_admin THEN
    -- nobody changes their own role, budget or limits
    IF m.user_id = rbac.current_principal_user_id() AND row(n.role, n.max_budget, n.rpm_limit, n.tpm_limit, n.allowed_models, n.budget_duration)
         IS DISTINCT FROM row(m.role, m.max_budget, m.rpm_limit, m.tpm_limit, m.allowed_models, m.budget_duration) THEN
      RAISE EXCEPTION '%: a principal may not change its own team role, budget or limits', fn USING ERRCODE = '42501';
    END IF;
    -- a member's limits stay within the team's (what the manager hands out is the team's)
    IF n.max_budget IS DISTINCT FROM m.max_budget THEN
      PERFORM rbac._lifecycle_within(fn, 'max_budget', n.max_budget, t.max_budget, format('team "%s"', t.team_id));
    END IF;
    IF n.rpm_limit IS DISTINCT FROM m.rpm_limit THEN
      PERFORM rbac._lifecycle_within(fn, 'rpm_limit', n.rpm_limit, t.rpm_limit, format('team "%s"', t.team_id));
    END IF;
    IF n.tpm_limit IS DISTINCT FROM m.tpm_limit THEN
      PERFORM rbac._lifecycle_within(fn, 'tpm_limit', n.tpm_limit, t.tpm_limit, format('team "%s"', t.team_id));
    END IF;
    IF n.allowed_models IS DISTINCT FROM m.allowed_models AND cardinality(coalesce(n.allowed_models, '{}')) > 0 THEN
      v_bad := rbac.models_within(n.allowed_models, rbac._team_effective_models(t));
      IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION '%: model "%" is not within team "%" models', fn, v_bad, t.team_id USING ERRCODE = '42501';
      END IF;
    END IF;
  END IF;

  UPDATE rbac.team_members tm SET role = n.role, max_budget = n.max_budget, rpm_limit = n.rpm_limit, tpm_limit = n.tpm_limit,
         allowed_models = n.allowed_models, budget_duration = n.budget_duration
  WHERE tm.team_id = m.team_id AND tm.user_id = m.user_id
  RETURNING * INTO n;
  RETURN n;
END $$;
SELECT rbac._expose_management_function('team_member_update');
COMMENT ON FUNCTION rbac.team_member_update(text, text, text, numeric, bigint, bigint, text[], text, text[]) IS
$c$Changes a team member's role and per-member limits and returns the rbac.team_members row (LiteLLM /team/member_update). NULL leaves a column as it is; clear text[] resets max_budget, rpm_limit, tpm_limit, budget_duration (NULL) or allowed_models ('{}') to "no limit". Units: max_budget USD, rpm_limit requests per minute, tpm_limit tokens per minute; role 'admin' or 'user'.
Who: proxy admin; an admin of the team; an org admin of the team's organization. Below proxy admin nobody changes their own membership (role, budget, limits), and the member's max_budget, rpm_limit, tpm_limit and allowed_models stay within the team's (a limit the team has may not be cleared).
Errors: 42501 refused (also for a team the caller cannot see); 22023 unknown team (proxy admin), not a member, bad role, unknown clear entry; 23514 negative values, bad budget_duration, budget above the team's or allowed_models outside the team's (table rule).$c$;

---------------------------------------------------------------------------------------------------------------
-- Users
---------------------------------------------------------------------------------------------------------------
-- rbac.user_update: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._user_update(
  user_id               text,
  user_alias            text DEFAULT NULL,
  user_email            text DEFAULT NULL,
  user_role             text DEFAULT NULL,
  models                text[] DEFAULT NULL,
  max_budget            numeric DEFAULT NULL,
  budget_duration       text DEFAULT NULL,
  rpm_limit             bigint DEFAULT NULL,
  tpm_limit             bigint DEFAULT NULL,
  max_parallel_requests bigint DEFAULT NULL,
  metadata              jsonb DEFAULT NULL,
  clear                 text[] DEFAULT '{}')
RETURNS rbac.users
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn       constant text := 'rbac.user_update';
  is_admin boolean := rbac._mgmt_is_admin(fn);
  u        rbac.users;
  n        rbac.users;
  v_clear  text[];
  v_orgs   text[];
  v_bad    text;
  o        rbac.organizations;
BEGIN
  SELECT * INTO u FROM rbac.users uu WHERE uu.user_id = _user_update.user_id FOR UPDATE;
  IF is_admin AND u.user_id IS NULL THEN
    RAISE EXCEPTION '%: user "%" does not exist', fn, coalesce(_user_update.user_id, 'NULL') USING ERRCODE = '22023';
  END IF;
  IF NOT is_admin THEN
    PERFORM rbac._mgmt_require_writer(fn, 'update users');
    v_orgs := rbac._lifecycle_managed_user_orgs(_user_update.user_id);
    IF u.user_id IS NULL OR (u.user_id IS DISTINCT FROM rbac.current_principal_user_id() AND v_orgs IS NULL) THEN
      RAISE EXCEPTION '%: only a proxy admin, the user itself, or an org admin of every organization of a plain member may update a user (LiteLLM /user/update)', fn
        USING ERRCODE = '42501';
    END IF;
  END IF;
  v_clear := rbac._lifecycle_check_clear(fn, _user_update.clear, ARRAY['user_alias', 'user_email', 'models', 'max_budget',
    'budget_duration', 'rpm_limit', 'tpm_limit', 'max_parallel_requests', 'metadata']);
  IF _user_update.user_role IS NOT NULL AND _user_update.user_role NOT IN
     ('proxy_admin', 'proxy_admin_viewer', 'org_admin', 'internal_user', 'internal_user_viewer', 'team', 'customer') THEN
    RAISE EXCEPTION '%: unknown user_role "%"', fn, _user_update.user_role USING ERRCODE = '22023';
  END IF;
  PERFORM rbac._lifecycle_check_metadata(fn, _user_update.metadata);

  n := u;
  n.user_alias := CASE WHEN 'user_alias' = ANY (v_clear) THEN NULL ELSE coalesce(_user_update.user_alias, u.user_alias) END;
  n.user_email := CASE WHEN 'user_email' = ANY (v_clear) THEN NULL ELSE coalesce(_user_update.user_email, u.user_email) END;
  n.user_role := coalesce(_user_update.user_role, u.user_role);
  n.models := CASE WHEN 'models' = ANY (v_clear) THEN '{}' ELSE coalesce(_user_update.models, u.models) END;
  n.max_budget := CASE WHEN 'max_budget' = ANY (v_clear) THEN NULL ELSE coalesce(_user_update.max_budget, u.max_budget) END;
  n.budget_duration := CASE WHEN 'budget_duration' = ANY (v_clear) THEN NULL ELSE coalesce(_user_update.budget_duration, u.budget_duration) END;
  n.rpm_limit := CASE WHEN 'rpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_user_update.rpm_limit, u.rpm_limit) END;
  n.tpm_limit := CASE WHEN 'tpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_user_update.tpm_limit, u.tpm_limit) END;
  n.max_parallel_requests := CASE WHEN 'max_parallel_requests' = ANY (v_clear) THEN NULL
                                  ELSE coalesce(_user_update.max_parallel_requests, u.max_parallel_requests) END;
  n.metadata := CASE WHEN 'metadata' = ANY (v_clear) THEN '{}' ELSE coalesce(_user_update.metadata, u.metadata) END;

  IF NOT is_admin THEN
    IF u.user_id = rbac.current_principal_user_id() THEN
      -- the user itself: display fields only (LiteLLM lets a user edit its own profile, never its role or budget)
      IF row(n.user_role, n.models, n.max_budget, n.budget_duration, n.rpm_limit, n.tpm_limit, n.max_parallel_requests, n.metadata)
         IS DISTINCT FROM row(u.user_role, u.models, u.max_budget, u.budget_duration, u.rpm_limit, u.tpm_limit, u.max_parallel_requests, u.metadata) THEN
        RAISE EXCEPTION '%: a user may change only its own user_alias and user_email, never its role, budget, limits, models or metadata', fn
          USING ERRCODE = '42501';
      END IF;
    ELSE
      -- an org admin: roles stay plain member roles, values stay within each of the user's organizations
      IF n.user_role NOT IN ('internal_user', 'internal_user_viewer') THEN
        RAISE EXCEPTION '%: only a proxy admin may give user_role % (no privilege escalation)', fn, n.user_role USING ERRCODE = '42501';
      END IF;
      FOR o IN SELECT * FROM rbac.organizations oo WHERE oo.organization_id = ANY (v_orgs) LOOP
        IF n.max_budget IS DISTINCT FROM u.max_budget THEN
          PERFORM rbac._lifecycle_within(fn, 'max_budget', n.max_budget, o.max_budget, format('organization "%s"', o.organization_id));
        END IF;
        IF n.rpm_limit IS DISTINCT FROM u.rpm_limit THEN
          PERFORM rbac._lifecycle_within(fn, 'rpm_limit', n.rpm_limit, o.rpm_limit, format('organization "%s"', o.organization_id));
        END IF;
        IF n.tpm_limit IS DISTINCT FROM u.tpm_limit THEN
          PERFORM rbac._lifecycle_within(fn, 'tpm_limit', n.tpm_limit, o.tpm_limit, format('organization "%s"', o.organization_id));
        END IF;
        IF n.max_parallel_requests IS DISTINCT FROM u.max_parallel_requests THEN
          PERFORM rbac._lifecycle_within(fn, 'max_parallel_requests', n.max_parallel_requests, o.max_parallel_requests,
                                         format('organization "%s"', o.organization_id));
        END IF;
        IF n.models IS DISTINCT FROM u.models AND cardinality(coalesce(o.models, '{}')) > 0 THEN
          IF cardinality(coalesce(n.models, '{}')) = 0 THEN
            RAISE EXCEPTION '%: an empty model list would give every model; organization "%" allows %', fn, o.organization_id, o.models
              USING ERRCODE = '42501';
          END IF;
          v_bad := rbac.models_within(n.models, o.models);
          IF v_bad IS NOT NULL THEN
            RAISE EXCEPTION '%: model "%" is not within organization "%" models %', fn, v_bad, o.organization_id, o.models
              USING ERRCODE = '42501';
          END IF;
        END IF;
      END LOOP;
    END IF;
  END IF;

  UPDATE rbac.users uu SET user_alias = n.user_alias, user_email = n.user_email, user_role = n.user_role, models = n.models,
         max_budget = n.max_budget, budget_duration = n.budget_duration, rpm_limit = n.rpm_limit, tpm_limit = n.tpm_limit,
         max_parallel_requests = n.max_parallel_requests, metadata = n.metadata, updated_at = now()
  WHERE uu.user_id = u.user_id
  RETURNING * INTO n;
  RETURN n;
END $$;
SELECT rbac._expose_management_function('user_update');
COMMENT ON FUNCTION rbac.user_update(text, text, text, text, text[], numeric, text, bigint, bigint, bigint, jsonb, text[]) IS
$c$Changes a user and returns its rbac.users row (LiteLLM /user/update). Arguments are named after rbac.users columns; NULL leaves a column as it is; clear text[] names columns to reset to "no limit" (NULL, or '{}' for models and metadata): user_alias, user_email, models, max_budget, budget_duration, rpm_limit, tpm_limit, max_parallel_requests, metadata. Units: max_budget USD, rpm_limit requests per minute, tpm_limit tokens per minute, max_parallel_requests concurrent requests.
Who: proxy admin: anything, user_role included. The user itself (writers only): user_alias and user_email only. An org admin of every organization the user belongs to (the user a plain internal_user / internal_user_viewer in no team outside them, not the caller): user_role only between internal_user and internal_user_viewer; models, max_budget, rpm_limit, tpm_limit, max_parallel_requests within each of those organizations (a limit an organization has may not be cleared).
Errors: 42501 refused (also for a user the caller cannot manage or that does not exist); 22023 unknown user (proxy admin), unknown user_role, unknown clear entry, metadata not a JSON object; 23514 negative values, bad budget_duration.$c$;

-- rbac.user_delete: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
-- LiteLLM 1.110.2 /user/delete deletes the user's keys with it, silently; here the caller must ask for that.
CREATE FUNCTION rbac._user_delete(user_id text, "cascade" boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn       constant text := 'rbac.user_delete';
  is_admin boolean := rbac._mgmt_is_admin(fn);
  u        rbac.users;
  v_keys   integer;
BEGIN
  SELECT * INTO u FROM rbac.users uu WHERE uu.user_id = _user_delete.user_id FOR UPDATE;
  IF is_admin THEN
    IF u.user_id IS NULL THEN
      RAISE EXCEPTION '%: user "%" does not exist', fn, coalesce(_user_delete.user_id, 'NULL') USING ERRCODE = '22023';
    END IF;
  ELSE
    PERFORM rbac._mgmt_require_writer(fn, 'delete users');
    IF u.user_id IS NULL OR rbac._lifecycle_managed_user_orgs(u.user_id) IS NULL THEN
      RAISE EXCEPTION '%: only a proxy admin, or an org admin of every organization of a plain member (internal_user / internal_user_viewer, not the caller, in no team outside them), may delete a user (LiteLLM /user/delete)', fn
        USING ERRCODE = '42501';
    END IF;
  END IF;
  SELECT count(*) INTO v_keys FROM rbac.keys k WHERE k.user_id = u.user_id;
  IF v_keys > 0 AND NOT coalesce(_user_delete."cascade", false) THEN
    RAISE EXCEPTION '%: user "%" still owns % key(s); delete them first, or call rbac.user_delete(user_id, cascade => true) to delete them with the user', fn,
      u.user_id, v_keys USING ERRCODE = '2BP01';
  END IF;
  DELETE FROM rbac.keys k WHERE k.user_id = u.user_id;
  DELETE FROM rbac.users uu WHERE uu.user_id = u.user_id;   -- team and organization memberships go with it
  RETURN v_keys;
END $$;
SELECT rbac._expose_management_function('user_delete');
COMMENT ON FUNCTION rbac.user_delete(text, boolean) IS
$c$Deletes a user with its team and organization memberships; returns how many keys were deleted with it. A user who still owns keys is refused (2BP01) unless cascade => true, which deletes them too (LiteLLM /user/delete always does; here the caller says so). Spend history stays in rbac.spend_log.
Who (LiteLLM /user/delete): proxy admin; an org admin of every organization the user belongs to (at least one), when the user is a plain internal_user / internal_user_viewer, not the caller, and in no team outside those organizations.
Errors: 42501 refused (also for a user the caller cannot manage or that does not exist); 22023 unknown user (proxy admin); 2BP01 the user owns keys and cascade is not true.$c$;

---------------------------------------------------------------------------------------------------------------
-- Organizations
---------------------------------------------------------------------------------------------------------------
-- rbac.organization_update: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
-- An org admin's organization holds the org admin's own budget and limits, so below a proxy admin only the
-- display name changes.
CREATE FUNCTION rbac._organization_update(
  organization_id       text,
  organization_alias    text DEFAULT NULL,
  models                text[] DEFAULT NULL,
  max_budget            numeric DEFAULT NULL,
  budget_duration       text DEFAULT NULL,
  rpm_limit             bigint DEFAULT NULL,
  tpm_limit             bigint DEFAULT NULL,
  max_parallel_requests bigint DEFAULT NULL,
  metadata              jsonb DEFAULT NULL,
  clear                 text[] DEFAULT '{}')
RETURNS rbac.organizations
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn       constant text := 'rbac.organization_update';
  is_admin boolean := rbac._mgmt_is_admin(fn);
  o        rbac.organizations;
  n        rbac.organizations;
  v_clear  text[];
  v_mine   rbac.keys;
  v_bad    text;
BEGIN
  SELECT * INTO o FROM rbac.organizations oo WHERE oo.organization_id = _organization_update.organization_id FOR UPDATE;
  IF is_admin THEN
    IF o.organization_id IS NULL THEN
      RAISE EXCEPTION '%: organization "%" does not exist', fn, _organization_update.organization_id USING ERRCODE = '22023';
    END IF;
  ELSE
    PERFORM rbac._mgmt_require_writer(fn, 'update organizations');
    IF o.organization_id IS NULL OR NOT rbac._principal_org_admin_of(o.organization_id) THEN
      RAISE EXCEPTION '%: only a proxy admin or an org admin of the organization may update it (LiteLLM /organization/update)', fn
        USING ERRCODE = '42501';
    END IF;
  END IF;
  v_clear := rbac._lifecycle_check_clear(fn, _organization_update.clear, ARRAY['organization_alias', 'models', 'max_budget',
    'budget_duration', 'rpm_limit', 'tpm_limit', 'max_parallel_requests', 'metadata']);
  PERFORM rbac._lifecycle_check_metadata(fn, _organization_update.metadata);

  n := o;
  n.organization_alias := CASE WHEN 'organization_alias' = ANY (v_clear) THEN NULL
                               ELSE coalesce(_organization_update.organization_alias, o.organization_alias) END;
  n.models := CASE WHEN 'models' = ANY (v_clear) THEN '{}' ELSE coalesce(_organization_update.models, o.models) END;
  n.max_budget := CASE WHEN 'max_budget' = ANY (v_clear) THEN NULL ELSE coalesce(_organization_update.max_budget, o.max_budget) END;
  n.budget_duration := CASE WHEN 'budget_duration' = ANY (v_clear) THEN NULL
                            ELSE coalesce(_organization_update.budget_duration, o.budget_duration) END;
  n.rpm_limit := CASE WHEN 'rpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_organization_update.rpm_limit, o.rpm_limit) END;
  n.tpm_limit := CASE WHEN 'tpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_organization_update.tpm_limit, o.tpm_limit) END;
  n.max_parallel_requests := CASE WHEN 'max_parallel_requests' = ANY (v_clear) THEN NULL
                                  ELSE coalesce(_organization_update.max_parallel_requests, o.max_parallel_requests) END;
  n.metadata := CASE WHEN 'metadata' = ANY (v_clear) THEN '{}' ELSE coalesce(_organization_update.metadata, o.metadata) END;

  IF NOT is_admin THEN
    IF row(n.models, n.max_budget, n.budget_duration, n.rpm_limit, n.tpm_limit, n.max_parallel_requests, n.metadata)
       IS DISTINCT FROM row(o.models, o.max_budget, o.budget_duration, o.rpm_limit, o.tpm_limit, o.max_parallel_requests, o.metadata) THEN
      RAISE EXCEPTION '%: an org admin may change only organization_alias: models, budget, limits and metadata of its own organization take a proxy admin', fn
        USING ERRCODE = '42501';
    END IF;
  ELSIF n.models IS DISTINCT FROM o.models THEN
    -- docs/semantics.md §12.7: a proxy admin whose own key is limited to some models keeps organizations within them
    v_mine := rbac._principal_key(fn);
    IF cardinality(coalesce(v_mine.models, '{}')) > 0 THEN
      IF cardinality(coalesce(n.models, '{}')) = 0 THEN
        RAISE EXCEPTION '%: the caller''s key is limited to models %, so the organization must list its models', fn, v_mine.models
          USING ERRCODE = '42501';
      END IF;
      v_bad := rbac.models_within(n.models, v_mine.models);
      IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION '%: model "%" is not within the caller''s key models %', fn, v_bad, v_mine.models USING ERRCODE = '42501';
      END IF;
    END IF;
  END IF;

  UPDATE rbac.organizations oo SET organization_alias = n.organization_alias, models = n.models, max_budget = n.max_budget,
         budget_duration = n.budget_duration, rpm_limit = n.rpm_limit, tpm_limit = n.tpm_limit,
         max_parallel_requests = n.max_parallel_requests, metadata = n.metadata, updated_at = now()
  WHERE oo.organization_id = o.organization_id
  RETURNING * INTO n;
  RETURN n;
END $$;
SELECT rbac._expose_management_function('organization_update');
COMMENT ON FUNCTION rbac.organization_update(text, text, text[], numeric, text, bigint, bigint, bigint, jsonb, text[]) IS
$c$Changes an organization and returns its rbac.organizations row (LiteLLM /organization/update). NULL leaves a column as it is; clear text[] names columns to reset to "no limit" (NULL, or '{}' for models and metadata): organization_alias, models, max_budget, budget_duration, rpm_limit, tpm_limit, max_parallel_requests, metadata. Units: max_budget USD, rpm_limit requests per minute, tpm_limit tokens per minute, max_parallel_requests concurrent requests.
Who: proxy admin: anything (a proxy admin whose key is limited to some models keeps the organization's models within them). An org admin of the organization: organization_alias only (its models, budget, limits and metadata are its own ceiling).
Errors: 42501 refused (also for an organization the caller cannot see); 22023 unknown organization (proxy admin), unknown clear entry, metadata not a JSON object; 23514 narrowing below one of its teams or keys (table rule), negative values, bad budget_duration.$c$;

-- rbac.organization_delete: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
-- LiteLLM 1.110.2 /organization/delete (proxy admins only) deletes the organization's teams, memberships and keys
-- with it; here the caller must ask for the teams and keys.
CREATE FUNCTION rbac._organization_delete(organization_id text, "cascade" boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn       constant text := 'rbac.organization_delete';
  is_admin boolean := rbac._mgmt_is_admin(fn);
  o        rbac.organizations;
  v_keys   integer;
  v_teams  integer;
BEGIN
  IF NOT is_admin THEN
    RAISE EXCEPTION '%: only a proxy admin may delete organizations (LiteLLM /organization/delete)', fn USING ERRCODE = '42501';
  END IF;
  SELECT * INTO o FROM rbac.organizations oo WHERE oo.organization_id = _organization_delete.organization_id FOR UPDATE;
  IF o.organization_id IS NULL THEN
    RAISE EXCEPTION '%: organization "%" does not exist', fn, _organization_delete.organization_id USING ERRCODE = '22023';
  END IF;
  SELECT count(*) INTO v_teams FROM rbac.teams t WHERE t.organization_id = o.organization_id;
  SELECT count(*) INTO v_keys FROM rbac.keys k
  WHERE k.organization_id = o.organization_id
     OR k.team_id IN (SELECT t.team_id FROM rbac.teams t WHERE t.organization_id = o.organization_id);
  IF (v_keys > 0 OR v_teams > 0) AND NOT coalesce(_organization_delete."cascade", false) THEN
    RAISE EXCEPTION '%: organization "%" still has % team(s) and % key(s); delete them first, or call rbac.organization_delete(organization_id, cascade => true) to delete them with it', fn,
      o.organization_id, v_teams, v_keys USING ERRCODE = '2BP01';
  END IF;
  DELETE FROM rbac.keys k
  WHERE k.organization_id = o.organization_id
     OR k.team_id IN (SELECT t.team_id FROM rbac.teams t WHERE t.organization_id = o.organization_id);
  DELETE FROM rbac.teams t WHERE t.organization_id = o.organization_id;
  DELETE FROM rbac.organizations oo WHERE oo.organization_id = o.organization_id;   -- memberships go with it
  RETURN v_keys;
END $$;
SELECT rbac._expose_management_function('organization_delete');
COMMENT ON FUNCTION rbac.organization_delete(text, boolean) IS
$c$Deletes an organization with its memberships; returns how many keys were deleted with it. An organization that still has teams or keys (its own or its teams') is refused (2BP01) unless cascade => true, which deletes those keys and teams too (LiteLLM /organization/delete always does). Users stay (they only lose the membership). Spend history stays in rbac.spend_log.
Who (LiteLLM /organization/delete): proxy admin only.
Errors: 42501 refused; 22023 unknown organization; 2BP01 teams or keys remain and cascade is not true.$c$;

---------------------------------------------------------------------------------------------------------------
-- Customers (LiteLLM end users, /customer/*): proxy admins only, as in LiteLLM
---------------------------------------------------------------------------------------------------------------
-- The customer an admin acts on; 42501 below proxy admin, 22023 for a malformed id or (when must_exist) a missing one.
CREATE FUNCTION rbac._end_user_target(fn text, end_user_id text, must_exist boolean) RETURNS rbac.end_users LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE e rbac.end_users;
BEGIN
  IF NOT rbac._mgmt_is_admin(fn) THEN
    RAISE EXCEPTION '%: only a proxy admin may manage customers (LiteLLM %)', fn, rbac._management_route(fn) USING ERRCODE = '42501';
  END IF;
  IF end_user_id IS NULL OR btrim(end_user_id) = '' OR length(end_user_id) > 1024 THEN
    RAISE EXCEPTION '%: end_user_id must be a non-empty id of at most 1024 characters', fn USING ERRCODE = '22023';
  END IF;
  SELECT * INTO e FROM rbac.end_users eu WHERE eu.end_user_id = _end_user_target.end_user_id FOR UPDATE;
  IF must_exist AND e.end_user_id IS NULL THEN
    RAISE EXCEPTION '%: customer "%" does not exist', fn, end_user_id USING ERRCODE = '22023';
  END IF;
  RETURN e;
END $$;
REVOKE ALL ON FUNCTION rbac._end_user_target(text, text, boolean) FROM PUBLIC;

-- rbac.end_user_new: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._end_user_new(
  end_user_id     text,
  alias           text DEFAULT NULL,
  models          text[] DEFAULT '{}',
  max_budget      numeric DEFAULT NULL,
  budget_duration text DEFAULT NULL,
  rpm_limit       bigint DEFAULT NULL,
  tpm_limit       bigint DEFAULT NULL,
  blocked         boolean DEFAULT false,
  metadata        jsonb DEFAULT '{}')
RETURNS rbac.end_users
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn constant text := 'rbac.end_user_new';
  e  rbac.end_users := rbac._end_user_target(fn, _end_user_new.end_user_id, false);
BEGIN
  PERFORM rbac._lifecycle_check_metadata(fn, _end_user_new.metadata);
  IF e.end_user_id IS NOT NULL THEN
    RAISE EXCEPTION '%: customer "%" already exists', fn, e.end_user_id USING ERRCODE = '23505';
  END IF;
  INSERT INTO rbac.end_users (end_user_id, alias, models, max_budget, budget_duration, rpm_limit, tpm_limit, blocked, metadata)
  VALUES (_end_user_new.end_user_id, _end_user_new.alias, coalesce(_end_user_new.models, '{}'), _end_user_new.max_budget,
          _end_user_new.budget_duration, _end_user_new.rpm_limit, _end_user_new.tpm_limit, coalesce(_end_user_new.blocked, false),
          coalesce(_end_user_new.metadata, '{}'))
  RETURNING * INTO e;
  RETURN e;
END $$;
SELECT rbac._expose_management_function('end_user_new');
COMMENT ON FUNCTION rbac.end_user_new(text, text, text[], numeric, text, bigint, bigint, boolean, jsonb) IS
$c$Creates a customer (LiteLLM end user: the `user` field of an API request) and returns its rbac.end_users row (LiteLLM /customer/new). end_user_id (required, at most 1024 characters), alias, models text[] (empty = all), max_budget numeric USD, budget_duration ('30d', '1mo', ...), rpm_limit requests per minute, tpm_limit tokens per minute, blocked, metadata jsonb.
Who: proxy admin only (or rbac_admin members without a principal).
Errors: 42501 refused; 22023 empty or too long end_user_id, metadata not a JSON object; 23505 customer exists; 23514 negative budget/limits, bad budget_duration.$c$;

-- rbac.end_user_update: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._end_user_update(
  end_user_id     text,
  alias           text DEFAULT NULL,
  models          text[] DEFAULT NULL,
  max_budget      numeric DEFAULT NULL,
  budget_duration text DEFAULT NULL,
  rpm_limit       bigint DEFAULT NULL,
  tpm_limit       bigint DEFAULT NULL,
  metadata        jsonb DEFAULT NULL,
  clear           text[] DEFAULT '{}')
RETURNS rbac.end_users
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn      constant text := 'rbac.end_user_update';
  e       rbac.end_users := rbac._end_user_target(fn, _end_user_update.end_user_id, true);
  v_clear text[] := rbac._lifecycle_check_clear(fn, _end_user_update.clear,
                      ARRAY['alias', 'models', 'max_budget', 'budget_duration', 'rpm_limit', 'tpm_limit', 'metadata']);
BEGIN
  PERFORM rbac._lifecycle_check_metadata(fn, _end_user_update.metadata);
  UPDATE rbac.end_users eu SET
    alias = CASE WHEN 'alias' = ANY (v_clear) THEN NULL ELSE coalesce(_end_user_update.alias, e.alias) END,
    models = CASE WHEN 'models' = ANY (v_clear) THEN '{}' ELSE coalesce(_end_user_update.models, e.models) END,
    max_budget = CASE WHEN 'max_budget' = ANY (v_clear) THEN NULL ELSE coalesce(_end_user_update.max_budget, e.max_budget) END,
    budget_duration = CASE WHEN 'budget_duration' = ANY (v_clear) THEN NULL ELSE coalesce(_end_user_update.budget_duration, e.budget_duration) END,
    rpm_limit = CASE WHEN 'rpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_end_user_update.rpm_limit, e.rpm_limit) END,
    tpm_limit = CASE WHEN 'tpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_end_user_update.tpm_limit, e.tpm_limit) END,
    metadata = CASE WHEN 'metadata' = ANY (v_clear) THEN '{}' ELSE coalesce(_end_user_update.metadata, e.metadata) END
  WHERE eu.end_user_id = e.end_user_id
  RETURNING * INTO e;
  RETURN e;
END $$;
SELECT rbac._expose_management_function('end_user_update');
COMMENT ON FUNCTION rbac.end_user_update(text, text, text[], numeric, text, bigint, bigint, jsonb, text[]) IS
$c$Changes a customer and returns its rbac.end_users row (LiteLLM /customer/update). NULL leaves a column as it is; clear text[] names columns to reset to "no limit" (NULL, or '{}' for models and metadata): alias, models, max_budget, budget_duration, rpm_limit, tpm_limit, metadata. Units: max_budget USD, rpm_limit requests per minute, tpm_limit tokens per minute.
Who: proxy admin only.
Errors: 42501 refused; 22023 unknown customer, unknown clear entry, metadata not a JSON object; 23514 negative budget/limits, bad budget_duration.$c$;

-- Shared body of end_user_block / end_user_unblock.
CREATE FUNCTION rbac._end_user_set_blocked(fn text, end_user_id text, v_blocked boolean) RETURNS rbac.end_users LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE e rbac.end_users := rbac._end_user_target(fn, end_user_id, true);
BEGIN
  UPDATE rbac.end_users eu SET blocked = v_blocked WHERE eu.end_user_id = e.end_user_id RETURNING * INTO e;
  RETURN e;
END $$;
REVOKE ALL ON FUNCTION rbac._end_user_set_blocked(text, text, boolean) FROM PUBLIC;

-- rbac.end_user_block: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._end_user_block(end_user_id text)
RETURNS rbac.end_users
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
BEGIN
  RETURN rbac._end_user_set_blocked('rbac.end_user_block', _end_user_block.end_user_id, true);
END $$;
SELECT rbac._expose_management_function('end_user_block');
COMMENT ON FUNCTION rbac.end_user_block(text) IS
$c$Blocks a customer (end_users.blocked = true) and returns its row: requests naming it as end user are then refused (end_user_blocked). LiteLLM /customer/block.
Who: proxy admin only.
Errors: 42501 refused; 22023 unknown customer. Audited as action 'blocked'.$c$;

-- rbac.end_user_unblock: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._end_user_unblock(end_user_id text)
RETURNS rbac.end_users
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
BEGIN
  RETURN rbac._end_user_set_blocked('rbac.end_user_unblock', _end_user_unblock.end_user_id, false);
END $$;
SELECT rbac._expose_management_function('end_user_unblock');
COMMENT ON FUNCTION rbac.end_user_unblock(text) IS
$c$Unblocks a customer (end_users.blocked = false) and returns its row. LiteLLM /customer/unblock.
Who: proxy admin only.
Errors: 42501 refused; 22023 unknown customer. Audited as action 'unblocked'.$c$;

-- rbac.end_user_delete: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._end_user_delete(end_user_id text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE e rbac.end_users := rbac._end_user_target('rbac.end_user_delete', _end_user_delete.end_user_id, true);
BEGIN
  DELETE FROM rbac.end_users eu WHERE eu.end_user_id = e.end_user_id;
END $$;
SELECT rbac._expose_management_function('end_user_delete');
COMMENT ON FUNCTION rbac.end_user_delete(text) IS
$c$Deletes a customer row (LiteLLM /customer/delete). Customer rows are optional: requests naming the id afterwards are checked without customer limits. Spend history stays in rbac.spend_log.
Who: proxy admin only.
Errors: 42501 refused; 22023 unknown customer.$c$;

---------------------------------------------------------------------------------------------------------------
-- Model catalogue (LiteLLM /model/*): proxy admins only
---------------------------------------------------------------------------------------------------------------
-- The model an admin acts on; 42501 below proxy admin, 22023 for an empty name or (when must_exist) a missing one.
CREATE FUNCTION rbac._model_target(fn text, model_name text, must_exist boolean) RETURNS rbac.models LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE m rbac.models;
BEGIN
  IF NOT rbac._mgmt_is_admin(fn) THEN
    RAISE EXCEPTION '%: only a proxy admin may manage the model catalogue (LiteLLM %)', fn, rbac._management_route(fn)
      USING ERRCODE = '42501';
  END IF;
  IF model_name IS NULL OR btrim(model_name) = '' THEN
    RAISE EXCEPTION '%: model_name must not be empty', fn USING ERRCODE = '22023';
  END IF;
  SELECT * INTO m FROM rbac.models mm WHERE mm.model_name = _model_target.model_name FOR UPDATE;
  IF must_exist AND m.model_name IS NULL THEN
    RAISE EXCEPTION '%: model "%" does not exist', fn, model_name USING ERRCODE = '22023';
  END IF;
  RETURN m;
END $$;
REVOKE ALL ON FUNCTION rbac._model_target(text, text, boolean) FROM PUBLIC;

-- 22023 for an access_groups list with an empty or NULL name.
CREATE FUNCTION rbac._lifecycle_check_access_groups(fn text, access_groups text[]) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM unnest(coalesce(access_groups, '{}')) g WHERE g IS NULL OR btrim(g) = '') THEN
    RAISE EXCEPTION '%: access_groups must be non-empty names', fn USING ERRCODE = '22023';
  END IF;
END $$;
REVOKE ALL ON FUNCTION rbac._lifecycle_check_access_groups(text, text[]) FROM PUBLIC;
COMMENT ON FUNCTION rbac._lifecycle_check_access_groups(text, text[]) IS
  'Lifecycle helper: 22023 when an access_groups list holds a NULL or blank name.';

-- rbac.model_new: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._model_new(
  model_name            text,
  provider              text DEFAULT NULL,
  access_groups         text[] DEFAULT '{}',
  input_cost_per_token  numeric DEFAULT NULL,
  output_cost_per_token numeric DEFAULT NULL,
  metadata              jsonb DEFAULT '{}',
  api_base              text DEFAULT NULL,
  upstream_model        text DEFAULT NULL,
  api_key_env           text DEFAULT NULL)
RETURNS rbac.models
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn constant text := 'rbac.model_new';
  m  rbac.models := rbac._model_target(fn, _model_new.model_name, false);
BEGIN
  PERFORM rbac._lifecycle_check_metadata(fn, _model_new.metadata);
  PERFORM rbac._lifecycle_check_access_groups(fn, _model_new.access_groups);
  IF m.model_name IS NOT NULL THEN
    RAISE EXCEPTION '%: model "%" already exists', fn, m.model_name USING ERRCODE = '23505';
  END IF;
  INSERT INTO rbac.models (model_name, provider, access_groups, input_cost_per_token, output_cost_per_token, metadata,
                           api_base, upstream_model, api_key_env)
  VALUES (_model_new.model_name, _model_new.provider, coalesce(_model_new.access_groups, '{}'), _model_new.input_cost_per_token,
          _model_new.output_cost_per_token, coalesce(_model_new.metadata, '{}'), _model_new.api_base, _model_new.upstream_model,
          _model_new.api_key_env)
  RETURNING * INTO m;
  RETURN m;
END $$;
SELECT rbac._expose_management_function('model_new');
COMMENT ON FUNCTION rbac.model_new(text, text, text[], numeric, numeric, jsonb, text, text, text) IS
$c$Adds a model to the catalogue and returns its rbac.models row (LiteLLM /model/new). model_name (a name containing * is a wildcard deployment), provider (e.g. openai), access_groups text[], input_cost_per_token and output_cost_per_token numeric USD per token, metadata jsonb, api_base (http(s) base URL of the provider), upstream_model (the provider's own name; NULL = model_name), api_key_env (NAME of the environment variable holding the provider key on the proxy host; never the key).
Who: proxy admin only (or rbac_admin members without a principal).
Errors: 42501 refused; 22023 empty model_name, blank access group, metadata not a JSON object; 23505 model exists; 23514 negative costs, bad api_base, blank upstream_model, api_key_env that is not a variable name.$c$;

-- rbac.model_update: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._model_update(
  model_name            text,
  provider              text DEFAULT NULL,
  access_groups         text[] DEFAULT NULL,
  input_cost_per_token  numeric DEFAULT NULL,
  output_cost_per_token numeric DEFAULT NULL,
  metadata              jsonb DEFAULT NULL,
  api_base              text DEFAULT NULL,
  upstream_model        text DEFAULT NULL,
  api_key_env           text DEFAULT NULL,
  clear                 text[] DEFAULT '{}')
RETURNS rbac.models
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn      constant text := 'rbac.model_update';
  m       rbac.models := rbac._model_target(fn, _model_update.model_name, true);
  v_clear text[] := rbac._lifecycle_check_clear(fn, _model_update.clear, ARRAY['provider', 'access_groups',
                      'input_cost_per_token', 'output_cost_per_token', 'metadata', 'api_base', 'upstream_model', 'api_key_env']);
BEGIN
  PERFORM rbac._lifecycle_check_metadata(fn, _model_update.metadata);
  PERFORM rbac._lifecycle_check_access_groups(fn, _model_update.access_groups);
  UPDATE rbac.models mm SET
    provider = CASE WHEN 'provider' = ANY (v_clear) THEN NULL ELSE coalesce(_model_update.provider, m.provider) END,
    access_groups = CASE WHEN 'access_groups' = ANY (v_clear) THEN '{}' ELSE coalesce(_model_update.access_groups, m.access_groups) END,
    input_cost_per_token = CASE WHEN 'input_cost_per_token' = ANY (v_clear) THEN NULL
                                ELSE coalesce(_model_update.input_cost_per_token, m.input_cost_per_token) END,
    output_cost_per_token = CASE WHEN 'output_cost_per_token' = ANY (v_clear) THEN NULL
                                 ELSE coalesce(_model_update.output_cost_per_token, m.output_cost_per_token) END,
    metadata = CASE WHEN 'metadata' = ANY (v_clear) THEN '{}' ELSE coalesce(_model_update.metadata, m.metadata) END,
    api_base = CASE WHEN 'api_base' = ANY (v_clear) THEN NULL ELSE coalesce(_model_update.api_base, m.api_base) END,
    upstream_model = CASE WHEN 'upstream_model' = ANY (v_clear) THEN NULL ELSE coalesce(_model_update.upstream_model, m.upstream_model) END,
    api_key_env = CASE WHEN 'api_key_env' = ANY (v_clear) THEN NULL ELSE coalesce(_model_update.api_key_env, m.api_key_env) END
  WHERE mm.model_name = m.model_name
  RETURNING * INTO m;
  RETURN m;
END $$;
SELECT rbac._expose_management_function('model_update');
COMMENT ON FUNCTION rbac.model_update(text, text, text[], numeric, numeric, jsonb, text, text, text, text[]) IS
$c$Changes a catalogue model and returns its rbac.models row (LiteLLM /model/update). NULL leaves a column as it is; clear text[] names columns to reset (NULL, or '{}' for access_groups and metadata): provider, access_groups, input_cost_per_token, output_cost_per_token, metadata, api_base, upstream_model, api_key_env. Units: costs in USD per token. access_groups replaces the model's whole list (rbac.access_group_update edits one group across models).
Who: proxy admin only.
Errors: 42501 refused; 22023 unknown model, empty model_name, blank access group, unknown clear entry, metadata not a JSON object; 23514 negative costs, bad api_base, blank upstream_model, api_key_env that is not a variable name.$c$;

-- rbac.model_delete: the implementation, run with the owner's rights by its C entry point (src/caller.rs).
CREATE FUNCTION rbac._model_delete(model_name text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE m rbac.models := rbac._model_target('rbac.model_delete', _model_delete.model_name, true);
BEGIN
  DELETE FROM rbac.models mm WHERE mm.model_name = m.model_name;
END $$;
SELECT rbac._expose_management_function('model_delete');
COMMENT ON FUNCTION rbac.model_delete(text) IS
$c$Removes a model from the catalogue (LiteLLM /model/delete). Model lists that name it keep the name (an exact name still matches it; its access groups and provider inference are gone); a proxy stops routing it (docs/proxy.md).
Who: proxy admin only.
Errors: 42501 refused; 22023 unknown model or empty model_name.$c$;
