-- pg_rbac — inspection and policy lint (issue 13, parts 2 and 5; docs/inspection.md).
--
-- Only new objects: this file is appended as it is to the upgrade script (sql/upgrades/0.2.0--0.3.0.files).
--
-- Visibility of the *_info functions: they are SECURITY INVOKER and read the policy tables through the caller's
-- row-level security, so a principal sees in them exactly the rows (keys, members, teams) that it could read with
-- plain SELECT (docs/semantics.md §12): proxy admins and viewers, members of rbac_admin and superusers see
-- everything; other principals their own objects and those they administer; rbac_api without a principal nothing.
-- Invoker code runs as the effective caller (current_user of the calling code), never as the login or the owner,
-- so there is no confused deputy to guard against. An object the caller cannot see and an object that does not
-- exist give the same 42501, so the functions are no existence oracle. The policy lint reads what RLS hides
-- (every tenant, JWKS), so it is a management function: owner rights behind the caller-aware C entry point.

---------------------------------------------------------------------------------------------------------------
-- Internal helpers (pure, invoker; callable by both API roles because invoker code of theirs calls them)
---------------------------------------------------------------------------------------------------------------
-- The budget fields of one level as the next check sees them (docs/semantics.md §9): a period whose
-- budget_reset_at has passed counts as spend 0 and restarts at the next boundary from now.
CREATE FUNCTION rbac._budget_json(max_budget numeric, spend numeric, budget_duration text, budget_reset_at timestamptz)
RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, rbac, pg_temp AS $$
  SELECT jsonb_build_object(
    'spend', s.live,
    'max_budget', max_budget,
    'remaining_budget', max_budget - s.live,
    'budget_duration', budget_duration,
    'budget_reset_at', CASE WHEN s.lapsed THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END)
  FROM (SELECT coalesce(budget_reset_at <= now(), false) AS lapsed) l,
       LATERAL (SELECT CASE WHEN l.lapsed THEN 0::numeric ELSE coalesce(spend, 0) END AS live, l.lapsed) s
$$;
COMMENT ON FUNCTION rbac._budget_json(numeric, numeric, text, timestamptz) IS
  'Internal (rbac.*_info): {spend, max_budget, remaining_budget, budget_duration, budget_reset_at} of one level as the '
  'next check counts it: a lapsed period (budget_reset_at <= now()) has spend 0 and resets at the next boundary; '
  'remaining_budget = max_budget - spend (NULL without a budget; negative when settled spend overshot).';

-- One key as rbac.key_info / team_info / user_info show it (LiteLLM /key/info "info"): the hash, never a plaintext.
CREATE FUNCTION rbac._key_json(k rbac.keys) RETURNS jsonb LANGUAGE sql STABLE
SET search_path = pg_catalog, rbac, pg_temp AS $$
  SELECT jsonb_build_object(
    'token', k.key_hash, 'key_name', k.key_name, 'key_alias', k.key_alias, 'user_id', k.user_id,
    'team_id', k.team_id, 'organization_id', k.organization_id, 'models', coalesce(k.models, '{}'),
    'rpm_limit', k.rpm_limit, 'tpm_limit', k.tpm_limit, 'max_parallel_requests', k.max_parallel_requests,
    'expires', k.expires, 'expired', coalesce(k.expires <= now(), false), 'blocked', coalesce(k.blocked, false),
    'allowed_routes', coalesce(k.allowed_routes, '{}'), 'permissions', coalesce(k.permissions, '{}'),
    'metadata', coalesce(k.metadata, '{}'), 'budget_from_key', k.budget_from_key, 'created_at', k.created_at,
    'created_by', k.created_by, 'updated_at', k.updated_at)
    || rbac._budget_json(k.max_budget, k.spend, k.budget_duration, k.budget_reset_at)
$$;
COMMENT ON FUNCTION rbac._key_json(rbac.keys) IS
  'Internal (rbac.*_info): one virtual key as jsonb (LiteLLM /key/info "info" shape): token (the sha256 hash), names, '
  'owner, models, limits, expiry, blocked, routes, permissions, metadata and the live budget fields.';

-- 42501 for an object the caller cannot read, whether it exists or not.
CREATE FUNCTION rbac._info_refuse(fn text, what text, id text) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, rbac, pg_temp AS $$
BEGIN
  RAISE EXCEPTION '%: % % does not exist or is not visible to the caller (row-level security of the principal; without a principal only rbac_admin sees rows)',
    fn, what, coalesce(quote_literal(id), 'NULL') USING ERRCODE = '42501';
END $$;
COMMENT ON FUNCTION rbac._info_refuse(text, text, text) IS
  'Internal (rbac.*_info): raises the one 42501 used both for unknown ids and for rows the caller may not read.';

REVOKE ALL ON FUNCTION rbac._budget_json(numeric, numeric, text, timestamptz), rbac._key_json(rbac.keys),
  rbac._info_refuse(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rbac._budget_json(numeric, numeric, text, timestamptz), rbac._key_json(rbac.keys),
  rbac._info_refuse(text, text, text) TO rbac_api, rbac_admin;

---------------------------------------------------------------------------------------------------------------
-- rbac.key_info (LiteLLM /key/info)
---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION rbac.key_info(key text) RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn constant text := 'rbac.key_info';
  h  text;
  k  rbac.keys;
BEGIN
  IF key IS NULL OR btrim(key) = '' THEN
    RAISE EXCEPTION '%: key must be a virtual key (sk-...) or its 64-character hex sha256 hash', fn USING ERRCODE = '22023';
  ELSIF key LIKE 'sk-%' THEN
    h := rbac.hash_key(key);
  ELSIF lower(key) ~ '^[0-9a-f]{64}$' THEN
    h := lower(key);
  ELSE
    RAISE EXCEPTION '%: key must be a virtual key (sk-...) or its 64-character hex sha256 hash', fn USING ERRCODE = '22023';
  END IF;
  SELECT * INTO k FROM rbac.keys WHERE key_hash = h;
  IF NOT FOUND THEN
    -- a regenerated key inside its grace period names its successor (LiteLLM DeprecatedVerificationToken)
    SELECT kk.* INTO k FROM rbac.deprecated_keys d JOIN rbac.keys kk ON kk.key_hash = d.active_key_hash
    WHERE d.key_hash = h AND d.revoke_at > now();
    IF NOT FOUND THEN
      PERFORM rbac._info_refuse(fn, 'key', h);
    END IF;
  END IF;
  RETURN jsonb_build_object('key', k.key_hash, 'info', rbac._key_json(k));
END $$;
COMMENT ON FUNCTION rbac.key_info(text) IS
$c$Shows one virtual key, shaped like LiteLLM /key/info: {"key": <sha256 hash>, "info": {token (the hash), key_name, key_alias, user_id, team_id, organization_id, models, rpm_limit, tpm_limit, max_parallel_requests, expires, expired, blocked, allowed_routes, permissions, metadata, budget_from_key, created_at, created_by, updated_at, spend, max_budget, remaining_budget, budget_duration, budget_reset_at}}. key: the plaintext sk-... or its 64-hex hash; a regenerated key inside its grace period shows its successor. Budget fields are live: a lapsed period counts spend 0 and shows its next reset; remaining_budget = max_budget - spend (NULL without a budget). Never a plaintext key.
Who: SECURITY INVOKER, read through row-level security: exactly the keys the caller may SELECT from rbac.keys (proxy admins/viewers, rbac_admin: all; others their own keys, the principal's key, keys of teams/organizations they administer; a key whose allowed_routes exclude /key/info: none).
Errors: 22023 NULL/empty or malformed key; 42501 the key does not exist or is not visible (the same error for both).$c$;

---------------------------------------------------------------------------------------------------------------
-- rbac.team_info (LiteLLM /team/info)
---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION rbac.team_info(team_id text) RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn constant text := 'rbac.team_info';
  t  rbac.teams;
BEGIN
  SELECT * INTO t FROM rbac.teams tt WHERE tt.team_id = team_info.team_id;
  IF NOT FOUND THEN
    PERFORM rbac._info_refuse(fn, 'team', team_info.team_id);
  END IF;
  RETURN jsonb_build_object(
    'team_id', t.team_id,
    'team_info', jsonb_build_object(
        'team_id', t.team_id, 'team_alias', t.team_alias, 'organization_id', t.organization_id,
        'models', coalesce(t.models, '{}'), 'rpm_limit', t.rpm_limit, 'tpm_limit', t.tpm_limit,
        'max_parallel_requests', t.max_parallel_requests, 'blocked', coalesce(t.blocked, false),
        'team_member_permissions', coalesce(t.team_member_permissions, '{}'), 'metadata', coalesce(t.metadata, '{}'),
        'created_at', t.created_at, 'updated_at', t.updated_at,
        'members_with_roles', coalesce((SELECT jsonb_agg(jsonb_build_object('user_id', m.user_id, 'role', m.role)
                                                         ORDER BY m.user_id)
                                        FROM rbac.team_members m WHERE m.team_id = t.team_id), '[]'))
      || rbac._budget_json(t.max_budget, t.spend, t.budget_duration, t.budget_reset_at),
    'keys', coalesce((SELECT jsonb_agg(rbac._key_json(k) ORDER BY k.key_hash) FROM rbac.keys k
                      WHERE k.team_id = t.team_id), '[]'),
    'team_memberships', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                           'team_id', m.team_id, 'user_id', m.user_id, 'role', m.role,
                                           'allowed_models', coalesce(m.allowed_models, '{}'),
                                           'rpm_limit', m.rpm_limit, 'tpm_limit', m.tpm_limit)
                                         || rbac._budget_json(m.max_budget, m.spend, m.budget_duration, m.budget_reset_at)
                                         ORDER BY m.user_id)
                                  FROM rbac.team_members m WHERE m.team_id = t.team_id), '[]'));
END $$;
COMMENT ON FUNCTION rbac.team_info(text) IS
$c$Shows one team, shaped like LiteLLM /team/info: {"team_id", "team_info": {team_id, team_alias, organization_id, models, rpm_limit, tpm_limit, max_parallel_requests, blocked, team_member_permissions, metadata, created_at, updated_at, members_with_roles: [{user_id, role}], spend, max_budget, remaining_budget, budget_duration, budget_reset_at}, "keys": [key objects as in rbac.key_info's "info", by hash], "team_memberships": [{team_id, user_id, role, allowed_models, rpm_limit, tpm_limit, spend, max_budget, remaining_budget, budget_duration, budget_reset_at}]}. Lists are sorted by id; budget fields are live (a lapsed period counts 0).
Who: SECURITY INVOKER, read through row-level security: the team if the caller may SELECT it (proxy admins/viewers, rbac_admin; members; admins of its organization; the principal's team), and of its members and keys exactly the rows the caller may SELECT (a plain member sees itself and its own keys; a team or org admin the roster and every key).
Errors: 42501 the team does not exist or is not visible (the same error for both).$c$;

---------------------------------------------------------------------------------------------------------------
-- rbac.user_info (LiteLLM /user/info)
---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION rbac.user_info(user_id text) RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn constant text := 'rbac.user_info';
  u  rbac.users;
BEGIN
  SELECT * INTO u FROM rbac.users uu WHERE uu.user_id = user_info.user_id;
  IF NOT FOUND THEN
    PERFORM rbac._info_refuse(fn, 'user', user_info.user_id);
  END IF;
  RETURN jsonb_build_object(
    'user_id', u.user_id,
    'user_info', jsonb_build_object(
        'user_id', u.user_id, 'user_alias', u.user_alias, 'user_email', u.user_email, 'user_role', u.user_role::text,
        'models', coalesce(u.models, '{}'), 'rpm_limit', u.rpm_limit, 'tpm_limit', u.tpm_limit,
        'max_parallel_requests', u.max_parallel_requests, 'metadata', coalesce(u.metadata, '{}'),
        'created_at', u.created_at, 'updated_at', u.updated_at,
        'teams', coalesce((SELECT jsonb_agg(m.team_id ORDER BY m.team_id) FROM rbac.team_members m
                           WHERE m.user_id = u.user_id), '[]'))
      || rbac._budget_json(u.max_budget, u.spend, u.budget_duration, u.budget_reset_at),
    'keys', coalesce((SELECT jsonb_agg(rbac._key_json(k) ORDER BY k.key_hash) FROM rbac.keys k
                      WHERE k.user_id = u.user_id), '[]'),
    'teams', coalesce((SELECT jsonb_agg(jsonb_build_object('team_id', m.team_id, 'team_alias', t.team_alias,
                                                           'role', m.role) ORDER BY m.team_id)
                       FROM rbac.team_members m LEFT JOIN rbac.teams t ON t.team_id = m.team_id
                       WHERE m.user_id = u.user_id), '[]'),
    'organizations', coalesce((SELECT jsonb_agg(jsonb_build_object('organization_id', om.organization_id,
                                                                   'user_role', om.user_role) ORDER BY om.organization_id)
                               FROM rbac.organization_members om WHERE om.user_id = u.user_id), '[]'));
END $$;
COMMENT ON FUNCTION rbac.user_info(text) IS
$c$Shows one user, shaped like LiteLLM /user/info: {"user_id", "user_info": {user_id, user_alias, user_email, user_role, models, rpm_limit, tpm_limit, max_parallel_requests, metadata, created_at, updated_at, teams: [team ids], spend, max_budget, remaining_budget, budget_duration, budget_reset_at}, "keys": [key objects as in rbac.key_info's "info", by hash], "teams": [{team_id, team_alias, role}], "organizations": [{organization_id, user_role}]}. Lists are sorted by id; budget fields are live (a lapsed period counts 0); a team alias is NULL when the caller may not read that team.
Who: SECURITY INVOKER, read through row-level security: the user if the caller may SELECT it (proxy admins/viewers, rbac_admin; the user itself; org/team admins the users they manage), and of its keys and memberships exactly the rows the caller may SELECT.
Errors: 42501 the user does not exist or is not visible (the same error for both).$c$;

---------------------------------------------------------------------------------------------------------------
-- rbac.organization_info (LiteLLM /organization/info)
---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION rbac.organization_info(organization_id text) RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE
  fn constant text := 'rbac.organization_info';
  o  rbac.organizations;
BEGIN
  SELECT * INTO o FROM rbac.organizations oo WHERE oo.organization_id = organization_info.organization_id;
  IF NOT FOUND THEN
    PERFORM rbac._info_refuse(fn, 'organization', organization_info.organization_id);
  END IF;
  RETURN jsonb_build_object(
      'organization_id', o.organization_id, 'organization_alias', o.organization_alias,
      'models', coalesce(o.models, '{}'), 'rpm_limit', o.rpm_limit, 'tpm_limit', o.tpm_limit,
      'max_parallel_requests', o.max_parallel_requests, 'blocked', coalesce(o.blocked, false),
      'metadata', coalesce(o.metadata, '{}'), 'created_at', o.created_at, 'updated_at', o.updated_at,
      'members', coalesce((SELECT jsonb_agg(jsonb_build_object('user_id', om.user_id, 'user_role', om.user_role)
                                            ORDER BY om.user_id)
                           FROM rbac.organization_members om WHERE om.organization_id = o.organization_id), '[]'),
      'teams', coalesce((SELECT jsonb_agg(jsonb_build_object('team_id', t.team_id, 'team_alias', t.team_alias)
                                          ORDER BY t.team_id)
                         FROM rbac.teams t WHERE t.organization_id = o.organization_id), '[]'))
    || rbac._budget_json(o.max_budget, o.spend, o.budget_duration, o.budget_reset_at);
END $$;
COMMENT ON FUNCTION rbac.organization_info(text) IS
$c$Shows one organization, shaped like LiteLLM /organization/info: {organization_id, organization_alias, models, rpm_limit, tpm_limit, max_parallel_requests, blocked, metadata, created_at, updated_at, members: [{user_id, user_role}], teams: [{team_id, team_alias}], spend, max_budget, remaining_budget, budget_duration, budget_reset_at}. Lists are sorted by id; budget fields are live (a lapsed period counts 0).
Who: SECURITY INVOKER, read through row-level security: the organization if the caller may SELECT it (proxy admins/viewers, rbac_admin; its members; the principal's organization), and of its members and teams exactly the rows the caller may SELECT (an org admin: all; a plain member: itself and its teams).
Errors: 42501 the organization does not exist or is not visible (the same error for both).$c$;

---------------------------------------------------------------------------------------------------------------
-- Model access groups: rbac.access_groups (view) and rbac.access_group_info
---------------------------------------------------------------------------------------------------------------
-- security_invoker: the caller's row-level security on rbac.models applies (any principal reads the catalogue;
-- rbac_admin all; rbac_api without a principal nothing), as for rbac.models itself.
CREATE VIEW rbac.access_groups WITH (security_invoker = true) AS
  SELECT g.access_group, array_agg(m.model_name ORDER BY m.model_name) AS models
  FROM rbac.models m CROSS JOIN LATERAL unnest(m.access_groups) AS g(access_group)
  WHERE g.access_group IS NOT NULL
  GROUP BY g.access_group;
REVOKE ALL ON rbac.access_groups FROM PUBLIC;
GRANT SELECT ON rbac.access_groups TO rbac_api, rbac_admin;
COMMENT ON VIEW rbac.access_groups IS
  'Model access groups (docs/semantics.md §8.3): one row per group named in rbac.models.access_groups, with the sorted '
  'model names (exact and wildcard deployments) that carry it. Read with the caller''s row-level security on rbac.models '
  '(security_invoker): any principal of rbac_api, and rbac_admin, read every group; rbac_api without a principal none. '
  'Change groups with rbac.access_group_new / _update / _delete.';

CREATE FUNCTION rbac.access_group_info(name text) RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE r jsonb;
BEGIN
  SELECT jsonb_build_object('access_group', g.access_group, 'models', to_jsonb(g.models),
           'deployments', (SELECT jsonb_agg(jsonb_build_object('model_name', m.model_name, 'provider', m.provider)
                                            ORDER BY m.model_name)
                           FROM rbac.models m WHERE g.access_group = ANY (m.access_groups)))
    INTO r FROM rbac.access_groups g WHERE g.access_group = access_group_info.name;
  IF r IS NULL THEN
    RAISE EXCEPTION 'rbac.access_group_info: access group % does not exist (no model of rbac.models carries it, or the caller has no principal)',
      coalesce(quote_literal(name), 'NULL') USING ERRCODE = '22023';
  END IF;
  RETURN r;
END $$;
COMMENT ON FUNCTION rbac.access_group_info(text) IS
$c$Shows one model access group: {"access_group", "models": [sorted model names], "deployments": [{model_name, provider}]} (LiteLLM /access_group/{name}/info).
Who: as rbac.access_groups (SECURITY INVOKER over the model catalogue): any principal, rbac_admin; rbac_api without a principal sees no group.
Errors: 22023 unknown group (the catalogue is not tenant data, so unknown is said plainly).$c$;

---------------------------------------------------------------------------------------------------------------
-- rbac.allowed_models (LiteLLM /v1/models)
---------------------------------------------------------------------------------------------------------------
-- Defined by rbac_check's own decision, model by model (rbac._model_is_callable: the same decision, not written
-- to the decision log — a listing is no request), so that it can never disagree with the decisions it stands for
-- (every level: key, team, member, organization, user, JWT role and team selection, blocked, expiry, budgets).
-- Owner rights: the catalogue is read whole (rbac_api's RLS would hide it before rbac.authenticate), and the token
-- is the credential, as for rbac_check.
REVOKE ALL ON FUNCTION rbac._model_is_callable(text, text) FROM PUBLIC;
COMMENT ON FUNCTION rbac._model_is_callable(text, text) IS
  'Internal (rbac.allowed_models): rbac_check(token, ''/chat/completions'', model).allowed, the same decision, without '
  'a rbac.decision_log row. Closed to everyone but the owner.';
CREATE FUNCTION rbac.allowed_models(token text) RETURNS SETOF text LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, rbac, pg_temp AS $$
  SELECT m.model_name FROM rbac.models m
  WHERE rbac._model_is_callable(token, m.model_name)
  ORDER BY m.model_name
$$;
COMMENT ON FUNCTION rbac.allowed_models(text) IS
$c$The model names of rbac.models (sorted) that the token may call now: exactly those m for which rbac.rbac_check(token, '/chat/completions', m) is allowed — every model level (key, team, team member, organization, user, JWT role_permissions and team selection) and every other gate (blocked, expiry, route, budgets) applied. For the proxy's /v1/models. An invalid, expired or blocked token, or one over budget, gets no rows (a decision, not an error); call rbac.authenticate first to tell those apart. Wildcard deployments (openai/*) are listed by their pattern when the token may call that name. Side effects are those of rbac_check (due budget resets), except that nothing is written to rbac.decision_log.
Who: rbac_api, rbac_admin (the token is the credential).
Errors: none of its own (22023 never: the route is fixed).$c$;

---------------------------------------------------------------------------------------------------------------
-- rbac.policy_lint: configuration errors that the write-time triggers did not (or could not) stop
---------------------------------------------------------------------------------------------------------------
-- True when a model-list entry names something of the catalogue: a special value, a model, an access group, a
-- glob matching a model, or a name a wildcard deployment serves.
CREATE FUNCTION rbac._lint_entry_known(entry text) RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, rbac, pg_temp AS $$
  SELECT entry IN ('*', 'all-proxy-models', 'all-team-models', 'no-default-models')
    OR EXISTS (SELECT 1 FROM rbac.models m WHERE m.model_name = entry OR entry = ANY (m.access_groups))
    OR EXISTS (SELECT 1 FROM rbac.models m WHERE rbac.model_allowed(m.model_name, ARRAY[entry]))
    OR EXISTS (SELECT 1 FROM rbac.models m WHERE strpos(m.model_name, '*') > 0
               AND entry LIKE replace(replace(replace(replace(m.model_name, '\', '\\'), '%', '\%'), '_', '\_'), '*', '%'))
$$;
REVOKE ALL ON FUNCTION rbac._lint_entry_known(text) FROM PUBLIC;
COMMENT ON FUNCTION rbac._lint_entry_known(text) IS
  'Internal (rbac.policy_lint): true when a model-list entry is a special value (*, all-proxy-models, all-team-models, '
  'no-default-models), a model or access group of rbac.models, a glob matching one of its models, or a name one of its '
  'wildcard deployments serves.';

CREATE FUNCTION rbac._policy_lint() RETURNS TABLE(severity text, object text, problem text, hint text)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE fn constant text := 'rbac.policy_lint';
BEGIN
  IF NOT rbac._mgmt_is_admin(fn) THEN
    RAISE EXCEPTION '%: only a proxy admin (or rbac_admin without a principal) may lint the whole policy', fn
      USING ERRCODE = '42501';
  END IF;
  RETURN QUERY
  WITH findings(severity, object, problem, hint) AS (
    -- keys whose models left their team's (or, team-less, their organization's): the trigger checks only at write
    SELECT 'error', 'key ' || k.key_hash,
           format('models entry "%s" is not within team %s''s models %s',
                  rbac.models_within(k.models, rbac._team_effective_models(t)), t.team_id,
                  coalesce(rbac._team_effective_models(t), '{}')::text),
           format('narrow the key: rbac.key_update(%L, models => ...), or widen team %s (rbac.team_update)', k.key_hash, t.team_id)
    FROM rbac.keys k JOIN rbac.teams t ON t.team_id = k.team_id
    WHERE rbac.models_within(k.models, rbac._team_effective_models(t)) IS NOT NULL
    UNION ALL
    SELECT 'error', 'key ' || k.key_hash,
           format('models entry "%s" is not within organization %s''s models %s',
                  rbac.models_within(k.models, o.models), o.organization_id, coalesce(o.models, '{}')::text),
           format('narrow the key: rbac.key_update(%L, models => ...), or widen organization %s', k.key_hash, o.organization_id)
    FROM rbac.keys k JOIN rbac.organizations o ON o.organization_id = k.organization_id
    WHERE k.team_id IS NULL AND rbac.models_within(k.models, o.models) IS NOT NULL
    UNION ALL
    -- teams above their organization
    SELECT 'error', 'team ' || t.team_id,
           format('models entry "%s" is not within organization %s''s models %s',
                  rbac.models_within(t.models, o.models), o.organization_id, coalesce(o.models, '{}')::text),
           format('narrow team %s''s models or widen organization %s''s', t.team_id, o.organization_id)
    FROM rbac.teams t JOIN rbac.organizations o ON o.organization_id = t.organization_id
    WHERE rbac.models_within(t.models, o.models) IS NOT NULL
    UNION ALL
    SELECT 'error', 'team ' || t.team_id,
           format('%s %s is above organization %s''s %s', v.field, v.child, o.organization_id, v.parent),
           format('lower team %s''s %s to at most %s, or raise organization %s''s (the organization''s limit applies anyway)',
                  t.team_id, v.field, v.parent, o.organization_id)
    FROM rbac.teams t JOIN rbac.organizations o ON o.organization_id = t.organization_id
    CROSS JOIN LATERAL (VALUES ('max_budget', t.max_budget, o.max_budget),
                               ('rpm_limit', t.rpm_limit::numeric, o.rpm_limit::numeric),
                               ('tpm_limit', t.tpm_limit::numeric, o.tpm_limit::numeric),
                               ('max_parallel_requests', t.max_parallel_requests::numeric, o.max_parallel_requests::numeric))
      AS v(field, child, parent)
    WHERE v.child > v.parent
    UNION ALL
    -- team members outside their team
    SELECT 'error', format('team member %s/%s', m.team_id, m.user_id),
           format('allowed_models entry "%s" is not within team %s''s models',
                  rbac.models_within(m.allowed_models, rbac._team_effective_models(t)), t.team_id),
           'narrow the member''s allowed_models (UPDATE rbac.team_members) or widen the team''s models'
    FROM rbac.team_members m JOIN rbac.teams t ON t.team_id = m.team_id
    WHERE rbac.models_within(m.allowed_models, rbac._team_effective_models(t)) IS NOT NULL
    UNION ALL
    SELECT 'error', format('team member %s/%s', m.team_id, m.user_id),
           format('max_budget %s is above team %s''s max_budget %s', m.max_budget, t.team_id, t.max_budget),
           'lower the member''s max_budget or raise the team''s'
    FROM rbac.team_members m JOIN rbac.teams t ON t.team_id = m.team_id
    WHERE m.max_budget > t.max_budget
    UNION ALL
    -- list entries that name nothing of the catalogue (a deleted model or access group, a typo)
    SELECT 'warning', l.what || ' ' || l.id,
           format('%s entry "%s" names no model, access group or wildcard deployment of rbac.models', l.col, e.entry),
           format('remove "%s" from %s, or add the model / access group to rbac.models (rbac.access_group_new)', e.entry, l.col)
    FROM (SELECT 'organization', organization_id, 'models', models FROM rbac.organizations
          UNION ALL SELECT 'team', team_id, 'models', models FROM rbac.teams
          UNION ALL SELECT 'user', user_id, 'models', models FROM rbac.users
          UNION ALL SELECT 'key', key_hash, 'models', models FROM rbac.keys
          UNION ALL SELECT 'team member', team_id || '/' || user_id, 'allowed_models', allowed_models FROM rbac.team_members
          UNION ALL SELECT 'customer', end_user_id, 'models', models FROM rbac.end_users
          UNION ALL SELECT 'role', role::text, 'role_permissions.models', models FROM rbac.role_permissions
         ) AS l(what, id, col, list)
    CROSS JOIN LATERAL unnest(l.list) AS e(entry)
    WHERE e.entry IS NOT NULL AND NOT rbac._lint_entry_known(e.entry)
    UNION ALL
    -- access groups tagged with an empty name
    SELECT 'warning', 'model ' || m.model_name, 'access_groups holds an empty group name',
           format('UPDATE rbac.models SET access_groups = array_remove(access_groups, '''') WHERE model_name = %L', m.model_name)
    FROM rbac.models m WHERE '' = ANY (m.access_groups)
    UNION ALL
    -- budget periods that never restart
    SELECT 'error', b.what || ' ' || b.id,
           format('budget_duration %s but no budget_reset_at: the period never resets', b.dur),
           format('set budget_reset_at = rbac.next_budget_reset(%L, now()) on it', b.dur)
    FROM (SELECT 'organization', organization_id, budget_duration, budget_reset_at FROM rbac.organizations
          UNION ALL SELECT 'team', team_id, budget_duration, budget_reset_at FROM rbac.teams
          UNION ALL SELECT 'user', user_id, budget_duration, budget_reset_at FROM rbac.users
          UNION ALL SELECT 'team member', team_id || '/' || user_id, budget_duration, budget_reset_at FROM rbac.team_members
          UNION ALL SELECT 'key', key_hash, budget_duration, budget_reset_at FROM rbac.keys
          UNION ALL SELECT 'customer', end_user_id, budget_duration, budget_reset_at FROM rbac.end_users
         ) AS b(what, id, dur, reset_at)
    WHERE b.dur IS NOT NULL AND b.reset_at IS NULL
    UNION ALL
    -- keys expired long ago but left unblocked
    SELECT 'warning', 'key ' || k.key_hash,
           format('expired %s (over 30 days ago) and not blocked', k.expires),
           format('delete it (rbac.key_delete(%L)) or block it (rbac.key_block)', k.key_hash)
    FROM rbac.keys k WHERE k.expires < now() - interval '30 days' AND NOT coalesce(k.blocked, false)
    UNION ALL
    -- delegated budgets taken out of a key that has no budget to give back to
    SELECT 'warning', 'key ' || k.key_hash,
           format('budget_from_key %s has no max_budget: unspent budget returned on deletion goes nowhere', k.budget_from_key),
           format('clear it (UPDATE rbac.keys SET budget_from_key = NULL WHERE key_hash = %L) or give key %s a max_budget',
                  k.key_hash, k.budget_from_key)
    FROM rbac.keys k JOIN rbac.keys p ON p.key_hash = k.budget_from_key WHERE p.max_budget IS NULL
    UNION ALL
    -- JWT issuers none of whose tokens can verify
    SELECT 'error', 'jwt issuer ' || j.issuer, 'the JWKS holds no key: no token of this issuer verifies',
           'load the issuer''s JWKS: UPDATE rbac.jwt_issuers SET jwks = ''{"keys": [...]}'' (docs/jwt.md), or delete the issuer'
    FROM rbac.jwt_issuers j
    WHERE jsonb_typeof(j.jwks -> 'keys') IS DISTINCT FROM 'array' OR jsonb_array_length(j.jwks -> 'keys') = 0
    UNION ALL
    -- user rows that nothing uses: no key, no membership, no spend (typically a typo or a left-over)
    SELECT 'info', 'user ' || u.user_id,
           format('role %s but no key, no team, no organization and no spend: never used', u.user_role),
           format('delete it (DELETE FROM rbac.users WHERE user_id = %L) or give it a key or membership; JWT users are created on demand', u.user_id)
    FROM rbac.users u
    WHERE u.spend = 0
      AND NOT EXISTS (SELECT 1 FROM rbac.keys k WHERE k.user_id = u.user_id)
      AND NOT EXISTS (SELECT 1 FROM rbac.team_members m WHERE m.user_id = u.user_id)
      AND NOT EXISTS (SELECT 1 FROM rbac.organization_members om WHERE om.user_id = u.user_id)
      AND NOT EXISTS (SELECT 1 FROM rbac.spend_log s WHERE s.user_id = u.user_id)
    UNION ALL
    -- regenerated keys whose grace period ended
    SELECT 'info', 'deprecated key ' || d.key_hash,
           format('grace period ended %s; the row no longer authenticates', d.revoke_at),
           'DELETE FROM rbac.deprecated_keys WHERE revoke_at < now()'
    FROM rbac.deprecated_keys d WHERE d.revoke_at < now()
  )
  SELECT f.severity, f.object, f.problem, f.hint FROM findings f
  ORDER BY array_position(ARRAY['error', 'warning', 'info'], f.severity), f.object, f.problem;
END $$;
SELECT rbac._expose_management_function('policy_lint');
COMMENT ON FUNCTION rbac._policy_lint() IS
  'Implementation of rbac.policy_lint, run with the owner''s rights by its C entry point (src/caller.rs); closed to everyone.';
COMMENT ON FUNCTION rbac.policy_lint() IS
$c$Lists configuration problems of the whole policy, one row each: (severity, object, problem, hint), sorted by severity (error, warning, info), object, problem. severity error: the policy does not mean what it says; warning: probably a mistake; info: housekeeping. object names the row ('key <hash>', 'team <id>', 'team member <team>/<user>', 'organization <id>', 'user <id>', 'customer <id>', 'role <role>', 'model <name>', 'jwt issuer <iss>', 'deprecated key <hash>'); hint says how to fix it. Checks: keys whose models left their team's (or, team-less, their organization's); teams whose models, max_budget, rpm_limit, tpm_limit or max_parallel_requests exceed their organization's; team members whose allowed_models or max_budget exceed their team's (rows written with triggers bypassed, or changed in another order); model-list entries (organizations, teams, users, keys, members, customers, role_permissions) naming no model, access group or wildcard deployment; empty access-group names; budget_duration without budget_reset_at; keys expired more than 30 days ago and not blocked; budget_from_key naming a key without max_budget; JWT issuers with an empty JWKS; user rows never used (no key, membership or spend); deprecated keys past their grace period. Reads every row (JWKS included), changes nothing.
Who: a proxy_admin principal (whose virtual key, if it has allowed_routes, allows /policy/lint); without a principal, a caller whose effective role is a superuser or a member of rbac_admin.
Errors: 42501 anyone else.$c$;
