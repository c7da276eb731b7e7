-- Fixture for documentation examples (`fixture=logins`): the two logins the docs talk about, as
-- docs/secure-deployment.md creates them — litellm_proxy (the proxy, a member of rbac_api) and policy_admin (a
-- DBA, a member of rbac_admin). Roles are cluster-wide: run_docs.pl drops them when the document is done.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'litellm_proxy') THEN
    CREATE ROLE litellm_proxy LOGIN IN ROLE rbac_api;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'policy_admin') THEN
    CREATE ROLE policy_admin LOGIN IN ROLE rbac_admin;
  END IF;
END $$;
