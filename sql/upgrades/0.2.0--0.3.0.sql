-- Changes of 0.3.0 to objects that 0.2.0 already has (new objects come from the files listed in
-- 0.2.0--0.3.0.files). scripts/assemble_upgrade.sh builds sql/pg_rbac--0.2.0--0.3.0.sql from both.

-- management functions name their LiteLLM route by rule (rbac._management_route), not by a list
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

CREATE OR REPLACE FUNCTION rbac._mgmt_is_admin(fn text) RETURNS boolean LANGUAGE plpgsql VOLATILE
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

-- rbac.explain's helper (src/explain.rs), a new Rust function: pgrx generates it only into the install script
CREATE FUNCTION rbac."_explain_steps"(
	"token" TEXT, /* Option < & str > */
	"route" TEXT, /* Option < & str > */
	"model" TEXT, /* Option < & str > */
	"end_user_id" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS jsonb /* JsonB */
VOLATILE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'explain_steps_wrapper';

-- rbac._model_is_callable (src/check.rs): rbac.allowed_models' decision per model, without a decision-log row
CREATE  FUNCTION rbac."_model_is_callable"(
	"token" TEXT, /* Option < & str > */
	"model" TEXT /* & str */
) RETURNS bool /* bool */
VOLATILE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'model_is_callable_wrapper';

-- key_update: a lower budget gives back to the key it came from only what is neither spent this period nor held for
-- requests in flight (review of 0.3.0)
CREATE OR REPLACE FUNCTION rbac._key_update(
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
