-- pg_rbac — final hardening of the install script: fixed search_path on every function, row-level security on
-- every table, grants of the public entry points. Loaded last (lib.rs: finalize), after every other file.

---------------------------------------------------------------------------------------------------------------
-- Final hardening, run last so it covers objects of every file (the extension's `finalize` step).
---------------------------------------------------------------------------------------------------------------
-- Access predicates read the model catalogue and route groups through a per-backend cache. Run by rbac_api
-- under RLS they would load (and cache for the epoch) a partial catalogue that rbac_check would then reuse, so
-- they run as the owner; the catalogue is not secret (JWT issuers are loaded but never returned).
ALTER FUNCTION rbac.model_allowed(text, text[]) SECURITY DEFINER SET search_path = pg_catalog, rbac, pg_temp;
ALTER FUNCTION rbac.models_within(text[], text[]) SECURITY DEFINER SET search_path = pg_catalog, rbac, pg_temp;
ALTER FUNCTION rbac.route_allowed_by(text, text[]) SECURITY DEFINER SET search_path = pg_catalog, rbac, pg_temp;

-- Every function of the schema gets a fixed search_path if it has none, definer or not: an unpinned function
-- resolves its operators and functions through the caller's search_path (inlined SQL functions inside the
-- caller's query, PL/pgSQL when it plans), where a planted `=` or `now()` would decide for us. New tables get RLS.
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
           WHERE p.pronamespace = 'rbac'::regnamespace AND p.prokind IN ('f', 'p')
             AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search_path=%') LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, rbac, pg_temp', f);
  END LOOP;
END $$;
SELECT rbac._secure_tables();

GRANT EXECUTE ON FUNCTION rbac.model_allowed(text, text[]), rbac.models_within(text[], text[]),
  rbac.route_allowed_by(text, text[]), rbac.next_budget_reset(text, timestamptz), rbac.generate_key_plaintext(),
  rbac.hash_key(text), rbac.current_principal_role() TO rbac_api, rbac_admin;

-- Housekeeping that deletes history is for administrators only (expiry is harmless and stays open to the proxy).
REVOKE EXECUTE ON FUNCTION rbac.purge_reservations(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rbac.purge_reservations(interval) TO rbac_admin;

-- The public entry points of every file (rbac_check, authenticate, consume_quota, settle, release, ...): granted
-- explicitly to both roles, so they keep working if PUBLIC's default EXECUTE is ever revoked. Functions whose
-- name starts with '_' are internal, and functions already closed to PUBLIC keep their own grants.
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
           WHERE p.pronamespace = 'rbac'::regnamespace AND p.proname NOT LIKE '\_%' AND p.prokind = 'f'
             AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a
                                             WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')) LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO rbac_api, rbac_admin', f);
  END LOOP;
END $$;
