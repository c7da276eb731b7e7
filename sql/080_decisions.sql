-- pg_rbac 0.3.0 — explain and the decision log (docs/explain-and-decision-log.md). New objects only: this file is
-- both part of the install script and, as it is, of the upgrade from 0.2.0 (scripts/assemble_upgrade.sh).

---------------------------------------------------------------------------------------------------------------
-- rbac.explain
---------------------------------------------------------------------------------------------------------------
-- The steps come from rbac._explain_steps (src/explain.rs), which runs the decision of rbac_check with a trace:
-- the same code path, so the last row always equals rbac_check's decision. It shows policy (lists, budgets) of
-- every level a request touches, so it is for the roles that can already read all of it: a proxy_admin or
-- proxy_admin_viewer principal whose key (if any) allows /key/info, or, without a principal, a caller whose
-- effective role is a superuser or a member of rbac_admin (as rbac.jwt_inspect). A token's holder cannot explain
-- its own token: the steps would show its team's and organization's lists and budgets, which RLS hides from it.
REVOKE ALL ON FUNCTION rbac._explain_steps(text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION rbac._explain_steps(text, text, text, text) IS
  'Internal (closed): the steps of rbac_check(token, route, model, end_user_id) as a jsonb array of {step, gate, subject, '
  'passed, detail}, the last one the decision. Called by rbac.explain after its caller check.';

CREATE FUNCTION rbac._explain(token text, route text, model text, end_user_id text DEFAULT NULL)
RETURNS TABLE(step int, gate text, subject text, passed boolean, detail text)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NOT rbac._has_principal() THEN
    IF NOT rbac._management_caller_administers('rbac.explain') THEN
      RAISE EXCEPTION 'rbac.explain: no principal: call rbac.authenticate(token) as a proxy admin or viewer first (without a principal only superusers and members of rbac_admin may explain decisions)'
        USING ERRCODE = '42501';
    END IF;
  ELSIF NOT rbac._key_allows('/key/info') THEN
    RAISE EXCEPTION 'rbac.explain: the principal''s virtual key may not call /key/info (its allowed_routes), which explaining requires'
      USING ERRCODE = '42501';
  ELSIF NOT rbac._principal_is('proxy_admin', 'proxy_admin_viewer') THEN
    RAISE EXCEPTION 'rbac.explain: role % may not explain decisions: it shows every level''s policy (proxy_admin and proxy_admin_viewer only)',
      coalesce(rbac.current_principal_role(), '(none)') USING ERRCODE = '42501';
  END IF;
  RETURN QUERY
    SELECT (s ->> 'step')::int, s ->> 'gate', s ->> 'subject', (s ->> 'passed')::boolean, s ->> 'detail'
    FROM jsonb_array_elements(rbac._explain_steps(token, route, model, end_user_id)) AS s;
END $$;
SELECT rbac._expose_management_function('explain');
COMMENT ON FUNCTION rbac.explain(text, text, text, text) IS
  'Every gate rbac_check evaluates for (token, route, model, end_user_id), in order: token (key found / JWT verified), '
  'principal and role (JWT claims), expiry, blocked (key, team, organization, customer), route (the rule that allowed or '
  'refused), model (each level''s list and the entry that allowed the model, or none), budget (each level, its spend, '
  'reserved, max_budget and period), then one row gate = decision: subject the reason, passed = allowed, detail '
  '"http_status=N limit_scope=S ...: message" — always rbac_check''s decision (the same code path). No budget reset is '
  'performed; usable inside BEGIN; <policy change>; ... ROLLBACK; for what-if. Never shows a key or a JWT signature. '
  'Who: a proxy_admin or proxy_admin_viewer principal (key allowing /key/info); without a principal a superuser or '
  'rbac_admin member. Errors: 42501 otherwise; 22023 for a NULL/empty route or an end_user_id above 1024 characters.';

---------------------------------------------------------------------------------------------------------------
-- rbac.decision_log
---------------------------------------------------------------------------------------------------------------
-- One row per decision of rbac_check (in a writable transaction) and consume_quota, as rbac.decision_log
-- (off | denied | all, default denied; superuser-only) asks, written in the request's transaction; and one row
-- per refused management call (reason management_refused, route the function, message the rule, db_user the
-- calling role), written by the session's next decision that writes (src/decision_log.rs). No foreign keys: the
-- log outlives deleted keys. message and db_user are additions to LiteLLM's fields.
CREATE TABLE rbac.decision_log (
  logged_at             timestamptz NOT NULL DEFAULT now(),
  request_id            text,
  key_hash              text,
  user_id               text,
  team_id               text,
  organization_id       text,
  end_user_id           text,
  route                 text NOT NULL,
  model                 text,
  allowed               boolean NOT NULL,
  http_status           integer NOT NULL,
  reason                text NOT NULL,
  limit_scope           text,
  message               text,
  db_user               text
);
CREATE INDEX decision_log_logged_at_idx ON rbac.decision_log (logged_at);
CREATE INDEX decision_log_key_idx ON rbac.decision_log (key_hash, logged_at);
COMMENT ON TABLE rbac.decision_log IS
  'Authorization decisions of rbac_check / consume_quota (setting rbac.decision_log: off, denied (default), all) and '
  'refused management calls (reason management_refused). Read per RLS as rbac.spend_log; purge with '
  'rbac.purge_decision_log. docs/explain-and-decision-log.md.';

GRANT SELECT ON rbac.decision_log TO rbac_api;
-- as spend_log: admin/viewer all; own decisions; team admins their teams'; org admins their organizations' (and teams')
CREATE POLICY api_select ON rbac.decision_log FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))
  OR user_id = (SELECT rbac.current_principal_user_id())
  OR team_id = ANY ((SELECT rbac._principal_admin_teams())::text[])
  OR team_id = ANY ((SELECT rbac._principal_org_teams())::text[])
  OR organization_id = ANY ((SELECT rbac._principal_admin_orgs())::text[])));
-- A dump keeps the log (pg_dump skips extension tables' rows otherwise).
SELECT pg_catalog.pg_extension_config_dump('rbac.decision_log', '');

CREATE FUNCTION rbac.purge_decision_log(older_than interval) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE n bigint;
BEGIN
  -- a negative age would reach into the future and delete the whole log at once
  IF older_than IS NULL OR older_than < interval '0' THEN
    RAISE EXCEPTION 'older_than must be an age >= 0 (got %)', coalesce(older_than::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  DELETE FROM rbac.decision_log WHERE logged_at < now() - older_than;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
REVOKE EXECUTE ON FUNCTION rbac.purge_decision_log(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rbac.purge_decision_log(interval) TO rbac_admin;
COMMENT ON FUNCTION rbac.purge_decision_log(interval) IS
  'Deletes rbac.decision_log rows logged more than older_than ago; returns the number deleted. rbac_admin only. '
  'Errors: 22023 for a NULL or negative older_than. For large installs partition the log by logged_at instead '
  '(docs/explain-and-decision-log.md).';
