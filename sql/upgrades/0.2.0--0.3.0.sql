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
