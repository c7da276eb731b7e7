-- pg_rbac — write-time policy rules (docs/semantics.md §2): validation, budget periods, audit, cache epoch.
-- Runs after the Rust functions exist (rbac.models_within, rbac.current_principal_user_id).

UPDATE rbac.route_groups SET builtin = true;

---------------------------------------------------------------------------------------------------------------
-- Budget periods (docs/semantics.md §9.4): LiteLLM's calendar alignment in UTC, reset at 00:00.
---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION rbac.next_budget_reset(duration text, from_ts timestamptz DEFAULT now())
RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
  n        bigint;
  unit     text;
  t        timestamp := from_ts AT TIME ZONE 'UTC';
  midnight timestamp := date_trunc('day', from_ts AT TIME ZONE 'UTC');
  r        timestamp;
BEGIN
  IF duration !~ '^[1-9][0-9]*(s|m|h|d|w|mo)$' THEN
    RAISE EXCEPTION 'invalid budget_duration "%": expected a positive whole number and one unit of s, m, h, d, w, mo (e.g. 30d, 1mo)', duration
      USING ERRCODE = '22023';
  END IF;
  n := substring(duration FROM '^[0-9]+')::bigint;
  unit := substring(duration FROM '[a-z]+$');
  r := CASE unit
    -- next multiple of N seconds/minutes within the minute/hour, rolling over (LiteLLM `Ns`, `Nm`)
    WHEN 's' THEN date_trunc('minute', t) + ((floor(extract(second FROM t))::bigint / n) + 1) * n * interval '1 second'
    WHEN 'm' THEN date_trunc('hour', t) + ((extract(minute FROM t)::bigint / n) + 1) * n * interval '1 minute'
    -- next hour that is a multiple of N since midnight, wrapping past 24 h (LiteLLM `Nh`)
    WHEN 'h' THEN midnight + ((extract(hour FROM t)::bigint / n) + 1) * n * interval '1 hour'
    WHEN 'd' THEN CASE
        WHEN n = 1 THEN midnight + interval '1 day'
        WHEN n = 7 THEN midnight + (8 - extract(isodow FROM t)::int) * interval '1 day'   -- next Monday
        WHEN n = 30 THEN date_trunc('month', t) + interval '1 month'                         -- 1st of next month
        ELSE midnight + n * interval '1 day' END
    WHEN 'w' THEN CASE
        WHEN n = 1 THEN midnight + (8 - extract(isodow FROM t)::int) * interval '1 day'
        ELSE midnight + 7 * n * interval '1 day' END
    -- 1st of the month N months ahead (LiteLLM only accepts 1mo; Nmo is a pg_rbac extension)
    WHEN 'mo' THEN date_trunc('month', t) + n * interval '1 month'
  END;
  RETURN r AT TIME ZONE 'UTC';
END $$;
COMMENT ON FUNCTION rbac.next_budget_reset(text, timestamptz) IS
  'Next budget reset instant (timestamptz, UTC-aligned) after from_ts for a budget_duration such as 30s, 2h, 1d, 7d, 1w, 30d, 1mo. '
  'LiteLLM get_next_standardized_reset_time (docs/semantics.md §9.4): 1d = next midnight, 7d/1w = next Monday, 30d/1mo = 1st of next month, '
  'other Nd = today''s midnight + N days, Nh/Nm/Ns = next multiple within the day/hour/minute. Nmo (N > 1) = 1st of the month N months ahead. '
  'Raises 22023 for a malformed duration.';

---------------------------------------------------------------------------------------------------------------
-- Field validators: raise 23514 (check_violation) with a message naming table.field.
---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION rbac._check_budget(field text, v numeric) RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF v IS NOT NULL AND (v::text IN ('NaN', 'Infinity', '-Infinity') OR v < 0) THEN
    RAISE EXCEPTION '% must be a finite amount in USD >= 0 (got %)', field, v USING ERRCODE = '23514';
  END IF;
END $$;

CREATE FUNCTION rbac._check_limit(field text, v bigint) RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF v IS NOT NULL AND v < 0 THEN
    RAISE EXCEPTION '% must be >= 0 (got %)', field, v USING ERRCODE = '23514';
  END IF;
END $$;

CREATE FUNCTION rbac._check_duration(field text, v text) RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF v IS NOT NULL AND (v !~ '^[1-9][0-9]*(s|m|h|d|w|mo)$' OR length(substring(v FROM '^[0-9]+')) > 6) THEN
    RAISE EXCEPTION '% must be a positive whole number and one unit of s, m, h, d, w, mo such as 30d or 1mo (got "%")', field, v
      USING ERRCODE = '23514';
  END IF;
END $$;

CREATE FUNCTION rbac._check_not_above(field text, v numeric, parent_field text, parent numeric) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF v IS NOT NULL AND parent IS NOT NULL AND v > parent THEN
    RAISE EXCEPTION '% (%) exceeds % (%)', field, v, parent_field, parent USING ERRCODE = '23514';
  END IF;
END $$;

CREATE FUNCTION rbac._check_models_within(field text, child text[], parent_field text, parent text[]) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE bad text := rbac.models_within(child, parent);
BEGIN
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION '%: model "%" is not within % %', field, bad, parent_field, coalesce(parent, '{}')
      USING ERRCODE = '23514';
  END IF;
END $$;

-- Budget period bookkeeping shared by every budget-holding table: a new or changed duration starts a new
-- aligned period (so a duration never sits with a NULL reset time, docs/semantics.md §2.5).
CREATE FUNCTION rbac._budget_period(tbl text, duration text, old_duration text, reset_at timestamptz, is_insert boolean)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
BEGIN
  PERFORM rbac._check_duration(tbl || '.budget_duration', duration);
  IF duration IS NULL THEN RETURN reset_at; END IF;
  IF reset_at IS NULL OR (NOT is_insert AND duration IS DISTINCT FROM old_duration) THEN
    RETURN rbac.next_budget_reset(duration, now());
  END IF;
  RETURN reset_at;
END $$;

---------------------------------------------------------------------------------------------------------------
-- Per-table validation triggers (BEFORE INSERT / UPDATE OF policy columns, so spend updates skip them).
---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION rbac._validate_organization() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE child record;
BEGIN
  PERFORM rbac._check_budget('organizations.max_budget', NEW.max_budget);
  PERFORM rbac._check_limit('organizations.rpm_limit', NEW.rpm_limit);
  PERFORM rbac._check_limit('organizations.tpm_limit', NEW.tpm_limit);
  PERFORM rbac._check_limit('organizations.max_parallel_requests', NEW.max_parallel_requests);
  NEW.budget_reset_at := rbac._budget_period('organizations', NEW.budget_duration,
      CASE WHEN TG_OP = 'UPDATE' THEN OLD.budget_duration END, NEW.budget_reset_at, TG_OP = 'INSERT');
  IF TG_OP = 'UPDATE' THEN
    -- narrowing an organization must not leave its teams (or team-less keys) outside it
    FOR child IN SELECT * FROM rbac.teams WHERE organization_id = NEW.organization_id ORDER BY team_id LOOP
      PERFORM rbac._check_models_within('organizations.models (team ' || child.team_id || ')', child.models,
                                        'organizations.models', NEW.models);
      PERFORM rbac._check_not_above('team ' || child.team_id || ' max_budget', child.max_budget, 'organizations.max_budget', NEW.max_budget);
      PERFORM rbac._check_not_above('team ' || child.team_id || ' rpm_limit', child.rpm_limit, 'organizations.rpm_limit', NEW.rpm_limit);
      PERFORM rbac._check_not_above('team ' || child.team_id || ' tpm_limit', child.tpm_limit, 'organizations.tpm_limit', NEW.tpm_limit);
      PERFORM rbac._check_not_above('team ' || child.team_id || ' max_parallel_requests', child.max_parallel_requests,
                                    'organizations.max_parallel_requests', NEW.max_parallel_requests);
    END LOOP;
    -- keys directly under the organization, and keys of its teams that inherit its models (empty team list)
    FOR child IN SELECT k.* FROM rbac.keys k LEFT JOIN rbac.teams t ON t.team_id = k.team_id
                  WHERE (k.organization_id = NEW.organization_id AND k.team_id IS NULL)
                     OR (t.organization_id = NEW.organization_id AND coalesce(cardinality(array_remove(t.models, NULL)), 0) = 0) LOOP
      PERFORM rbac._check_models_within('organizations.models (key ' || coalesce(child.key_name, child.key_hash) || ')',
                                        child.models, 'organizations.models', NEW.models);
    END LOOP;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END $$;

CREATE FUNCTION rbac._validate_team() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE org rbac.organizations; k record;
BEGIN
  PERFORM rbac._check_budget('teams.max_budget', NEW.max_budget);
  PERFORM rbac._check_limit('teams.rpm_limit', NEW.rpm_limit);
  PERFORM rbac._check_limit('teams.tpm_limit', NEW.tpm_limit);
  PERFORM rbac._check_limit('teams.max_parallel_requests', NEW.max_parallel_requests);
  NEW.budget_reset_at := rbac._budget_period('teams', NEW.budget_duration,
      CASE WHEN TG_OP = 'UPDATE' THEN OLD.budget_duration END, NEW.budget_reset_at, TG_OP = 'INSERT');
  IF NEW.organization_id IS NOT NULL THEN
    SELECT * INTO org FROM rbac.organizations WHERE organization_id = NEW.organization_id;
    IF FOUND THEN
      PERFORM rbac._check_models_within('teams.models', NEW.models, 'organization ' || org.organization_id || ' models', org.models);
      PERFORM rbac._check_not_above('teams.max_budget', NEW.max_budget, 'organization ' || org.organization_id || ' max_budget', org.max_budget);
      PERFORM rbac._check_not_above('teams.rpm_limit', NEW.rpm_limit, 'organization ' || org.organization_id || ' rpm_limit', org.rpm_limit);
      PERFORM rbac._check_not_above('teams.tpm_limit', NEW.tpm_limit, 'organization ' || org.organization_id || ' tpm_limit', org.tpm_limit);
      PERFORM rbac._check_not_above('teams.max_parallel_requests', NEW.max_parallel_requests,
                                    'organization ' || org.organization_id || ' max_parallel_requests', org.max_parallel_requests);
    END IF;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    -- narrowing a team must not leave its keys or members' model scopes outside it (nor members' budgets above it)
    FOR k IN SELECT key_hash, key_name, models FROM rbac.keys WHERE team_id = NEW.team_id LOOP
      PERFORM rbac._check_models_within('teams.models (key ' || coalesce(k.key_name, k.key_hash) || ')', k.models,
                                        'teams.models', rbac._team_effective_models(NEW));
    END LOOP;
    FOR k IN SELECT user_id, allowed_models, max_budget FROM rbac.team_members WHERE team_id = NEW.team_id LOOP
      PERFORM rbac._check_models_within('teams.models (member ' || k.user_id || ')', k.allowed_models,
                                        'teams.models', rbac._team_effective_models(NEW));
      PERFORM rbac._check_not_above('team member ' || k.user_id || ' max_budget', k.max_budget, 'teams.max_budget', NEW.max_budget);
    END LOOP;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END $$;

CREATE FUNCTION rbac._validate_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM rbac._check_budget('users.max_budget', NEW.max_budget);
  PERFORM rbac._check_limit('users.rpm_limit', NEW.rpm_limit);
  PERFORM rbac._check_limit('users.tpm_limit', NEW.tpm_limit);
  PERFORM rbac._check_limit('users.max_parallel_requests', NEW.max_parallel_requests);
  NEW.budget_reset_at := rbac._budget_period('users', NEW.budget_duration,
      CASE WHEN TG_OP = 'UPDATE' THEN OLD.budget_duration END, NEW.budget_reset_at, TG_OP = 'INSERT');
  NEW.updated_at := now();
  RETURN NEW;
END $$;

-- A team's effective model list: its own, or its organization's when its own is empty (docs/semantics.md §8.6).
CREATE FUNCTION rbac._team_effective_models(t rbac.teams) RETURNS text[] LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN coalesce(cardinality(array_remove(t.models, NULL)), 0) = 0 AND t.organization_id IS NOT NULL
              THEN (SELECT o.models FROM rbac.organizations o WHERE o.organization_id = t.organization_id)
              ELSE t.models END
$$;

CREATE FUNCTION rbac._validate_team_member() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE t rbac.teams;
BEGIN
  PERFORM rbac._check_budget('team_members.max_budget', NEW.max_budget);
  PERFORM rbac._check_limit('team_members.rpm_limit', NEW.rpm_limit);
  PERFORM rbac._check_limit('team_members.tpm_limit', NEW.tpm_limit);
  NEW.budget_reset_at := rbac._budget_period('team_members', NEW.budget_duration,
      CASE WHEN TG_OP = 'UPDATE' THEN OLD.budget_duration END, NEW.budget_reset_at, TG_OP = 'INSERT');
  SELECT * INTO t FROM rbac.teams WHERE team_id = NEW.team_id;
  IF FOUND THEN
    PERFORM rbac._check_not_above('team_members.max_budget', NEW.max_budget, 'team ' || t.team_id || ' max_budget', t.max_budget);
    PERFORM rbac._check_models_within('team_members.allowed_models', NEW.allowed_models, 'team ' || t.team_id || ' models',
                                      rbac._team_effective_models(t));
  END IF;
  RETURN NEW;
END $$;

CREATE FUNCTION rbac._validate_key() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE t rbac.teams; o rbac.organizations;
BEGIN
  PERFORM rbac._check_budget('keys.max_budget', NEW.max_budget);
  PERFORM rbac._check_limit('keys.rpm_limit', NEW.rpm_limit);
  PERFORM rbac._check_limit('keys.tpm_limit', NEW.tpm_limit);
  PERFORM rbac._check_limit('keys.max_parallel_requests', NEW.max_parallel_requests);
  NEW.budget_reset_at := rbac._budget_period('keys', NEW.budget_duration,
      CASE WHEN TG_OP = 'UPDATE' THEN OLD.budget_duration END, NEW.budget_reset_at, TG_OP = 'INSERT');
  -- a plaintext key must never be stored: only its sha256 fits this shape
  IF NEW.key_hash !~ '^[0-9a-f]{64}$' THEN
    RAISE EXCEPTION 'keys.key_hash must be the lower-case hex sha256 of the key (64 characters), e.g. rbac.hash_key(''sk-...''); never store a plaintext key'
      USING ERRCODE = '23514';
  END IF;
  IF NEW.team_id IS NOT NULL THEN
    SELECT * INTO t FROM rbac.teams WHERE team_id = NEW.team_id;
    IF FOUND THEN
      -- a team key belongs to its team's organization (docs/semantics.md §2.6: never another one)
      IF NEW.organization_id IS NOT NULL AND NEW.organization_id IS DISTINCT FROM t.organization_id THEN
        RAISE EXCEPTION 'keys.organization_id (%) must be the organization of team % (%)', NEW.organization_id, t.team_id,
          coalesce(t.organization_id, 'none') USING ERRCODE = '23514';
      END IF;
      PERFORM rbac._check_models_within('keys.models', NEW.models, 'team ' || t.team_id || ' models', rbac._team_effective_models(t));
    END IF;
  ELSIF NEW.organization_id IS NOT NULL THEN
    SELECT * INTO o FROM rbac.organizations WHERE organization_id = NEW.organization_id;
    IF FOUND THEN
      PERFORM rbac._check_models_within('keys.models', NEW.models, 'organization ' || o.organization_id || ' models', o.models);
    END IF;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END $$;

CREATE FUNCTION rbac._validate_end_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM rbac._check_budget('end_users.max_budget', NEW.max_budget);
  PERFORM rbac._check_limit('end_users.rpm_limit', NEW.rpm_limit);
  PERFORM rbac._check_limit('end_users.tpm_limit', NEW.tpm_limit);
  NEW.budget_reset_at := rbac._budget_period('end_users', NEW.budget_duration,
      CASE WHEN TG_OP = 'UPDATE' THEN OLD.budget_duration END, NEW.budget_reset_at, TG_OP = 'INSERT');
  RETURN NEW;
END $$;

CREATE FUNCTION rbac._validate_model() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM rbac._check_budget('models.input_cost_per_token', NEW.input_cost_per_token);
  PERFORM rbac._check_budget('models.output_cost_per_token', NEW.output_cost_per_token);
  IF NEW.api_base IS NOT NULL AND NEW.api_base !~ '^https?://[^/?#@\s]+(/[^?#\s]*)?$' THEN
    RAISE EXCEPTION 'models.api_base must be an http(s) base URL without credentials, query or fragment (got %)', NEW.api_base
      USING ERRCODE = '23514';
  END IF;
  IF NEW.upstream_model IS NOT NULL AND btrim(NEW.upstream_model) = '' THEN
    RAISE EXCEPTION 'models.upstream_model must be NULL (= model_name) or a non-empty name' USING ERRCODE = '23514';
  END IF;
  IF NEW.api_key_env IS NOT NULL AND NEW.api_key_env !~ '^[A-Z_][A-Z0-9_]{0,127}$' THEN
    RAISE EXCEPTION 'models.api_key_env must be the name of an environment variable ([A-Z_][A-Z0-9_]*), never a key (got %)',
      left(NEW.api_key_env, 8) || '...' USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END $$;

-- True when name is a role of rbac.user_role (the domain is the one list of roles), for role names stored in
-- other columns (jwt_issuers.role_mappings, allowed_roles).
CREATE FUNCTION rbac._is_role(name text) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
  PERFORM name::rbac.user_role;
  RETURN name IS NOT NULL;
EXCEPTION WHEN check_violation THEN
  RETURN false;
END $$;

CREATE FUNCTION rbac._validate_jwt_issuer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE problem text;
BEGIN
  IF NEW.audiences IS NULL OR cardinality(NEW.audiences) = 0 OR '' = ANY (NEW.audiences) OR NULL = ANY (NEW.audiences) THEN
    RAISE EXCEPTION 'jwt_issuers.audiences must name at least one audience (aud is always verified)' USING ERRCODE = '23514';
  END IF;
  IF jsonb_typeof(NEW.jwks) IS DISTINCT FROM 'object' OR jsonb_typeof(NEW.jwks -> 'keys') IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'jwt_issuers.jwks must be an RFC 7517 JWK set: {"keys": [...]}' USING ERRCODE = '23514';
  END IF;
  IF NEW.leeway_seconds < 0 THEN
    RAISE EXCEPTION 'jwt_issuers.leeway_seconds must be >= 0 (got %)', NEW.leeway_seconds USING ERRCODE = '23514';
  END IF;
  IF jsonb_typeof(coalesce(NEW.role_mappings, '[]')) <> 'array' THEN
    RAISE EXCEPTION 'jwt_issuers.role_mappings must be a JSON array of {"role": ..., "internal_role": ...}' USING ERRCODE = '23514';
  END IF;
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(NEW.role_mappings, '[]')) m
             WHERE jsonb_typeof(m) <> 'object' OR NOT rbac._is_role(m ->> 'internal_role')) THEN
    RAISE EXCEPTION 'jwt_issuers.role_mappings: every entry needs an internal_role of rbac.user_role (proxy_admin, internal_user, ...)'
      USING ERRCODE = '23514';
  END IF;
  IF NEW.accepted_token_types NOT IN ('access', 'at+jwt', 'any') THEN
    RAISE EXCEPTION 'jwt_issuers.accepted_token_types must be access, at+jwt or any (got %)', NEW.accepted_token_types
      USING ERRCODE = '23514';
  END IF;
  IF jsonb_typeof(NEW.required_claims) <> 'object' OR EXISTS (
       SELECT 1 FROM jsonb_each(NEW.required_claims) r
       WHERE r.key = '' OR jsonb_typeof(r.value) <> 'array' OR jsonb_array_length(r.value) = 0
          OR EXISTS (SELECT 1 FROM jsonb_array_elements(r.value) v WHERE jsonb_typeof(v) NOT IN ('string', 'number', 'boolean'))) THEN
    RAISE EXCEPTION 'jwt_issuers.required_claims must map claim paths to non-empty arrays of allowed values: {"hd": ["acme.test"]}'
      USING ERRCODE = '23514';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(coalesce(NEW.allowed_roles, '{}')) r WHERE NOT rbac._is_role(r)) THEN
    RAISE EXCEPTION 'jwt_issuers.allowed_roles must name roles of rbac.user_role (proxy_admin, internal_user, ...)' USING ERRCODE = '23514';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(coalesce(NEW.allowed_email_domains, '{}')) d
             WHERE d IS NULL OR d !~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$') THEN
    RAISE EXCEPTION 'jwt_issuers.allowed_email_domains must be lower-case domain names such as acme.test' USING ERRCODE = '23514';
  END IF;
  IF jsonb_typeof(NEW.group_mappings) <> 'object' THEN
    RAISE EXCEPTION 'jwt_issuers.group_mappings must map groups to team ids: {"/acme/finance": "finance"}' USING ERRCODE = '23514';
  END IF;
  IF NEW.team_prefix = '' THEN
    RAISE EXCEPTION 'jwt_issuers.team_prefix must be NULL or non-empty' USING ERRCODE = '23514';
  END IF;
  -- key usability, claim paths and issuer templates are judged by the code that reads them (src/auth/jwt.rs)
  problem := rbac._jwt_issuer_problem(to_jsonb(NEW));
  IF problem IS NOT NULL THEN
    RAISE EXCEPTION '%', problem USING ERRCODE = '23514';
  END IF;
  IF jsonb_array_length(NEW.jwks -> 'keys') = 0 THEN
    -- a legitimate state between registering an issuer and loading its key set, not a usable one
    RAISE WARNING 'jwt_issuers: issuer % has no keys yet: no token of it verifies until its JWKS is loaded', NEW.issuer;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER validate BEFORE INSERT OR UPDATE OF organization_id, models, max_budget, budget_duration,
  rpm_limit, tpm_limit, max_parallel_requests ON rbac.organizations FOR EACH ROW EXECUTE FUNCTION rbac._validate_organization();
CREATE TRIGGER validate BEFORE INSERT OR UPDATE OF team_id, organization_id, models, max_budget, budget_duration,
  rpm_limit, tpm_limit, max_parallel_requests ON rbac.teams FOR EACH ROW EXECUTE FUNCTION rbac._validate_team();
CREATE TRIGGER validate BEFORE INSERT OR UPDATE OF user_id, models, max_budget, budget_duration,
  rpm_limit, tpm_limit, max_parallel_requests ON rbac.users FOR EACH ROW EXECUTE FUNCTION rbac._validate_user();
CREATE TRIGGER validate BEFORE INSERT OR UPDATE OF team_id, user_id, max_budget, budget_duration,
  rpm_limit, tpm_limit, allowed_models ON rbac.team_members FOR EACH ROW EXECUTE FUNCTION rbac._validate_team_member();
CREATE TRIGGER validate BEFORE INSERT OR UPDATE OF key_hash, team_id, organization_id, models, max_budget, budget_duration,
  rpm_limit, tpm_limit, max_parallel_requests ON rbac.keys FOR EACH ROW EXECUTE FUNCTION rbac._validate_key();
CREATE TRIGGER validate BEFORE INSERT OR UPDATE OF end_user_id, max_budget, budget_duration, rpm_limit, tpm_limit
  ON rbac.end_users FOR EACH ROW EXECUTE FUNCTION rbac._validate_end_user();
CREATE TRIGGER validate BEFORE INSERT OR UPDATE ON rbac.models FOR EACH ROW EXECUTE FUNCTION rbac._validate_model();
CREATE TRIGGER validate BEFORE INSERT OR UPDATE ON rbac.jwt_issuers FOR EACH ROW EXECUTE FUNCTION rbac._validate_jwt_issuer();

-- Clearing budget_reset_at while a budget_duration is set starts a new aligned period instead of never resetting.
-- (budget_reset_at is not in the validation triggers' column lists, so the hot path's resets skip them.)
CREATE FUNCTION rbac._restart_budget_period() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.budget_reset_at := rbac.next_budget_reset(NEW.budget_duration, now());
  RETURN NEW;
END $$;
CREATE TRIGGER restart_budget_period BEFORE UPDATE OF budget_reset_at ON rbac.organizations FOR EACH ROW
  WHEN (NEW.budget_reset_at IS NULL AND NEW.budget_duration IS NOT NULL) EXECUTE FUNCTION rbac._restart_budget_period();
CREATE TRIGGER restart_budget_period BEFORE UPDATE OF budget_reset_at ON rbac.teams FOR EACH ROW
  WHEN (NEW.budget_reset_at IS NULL AND NEW.budget_duration IS NOT NULL) EXECUTE FUNCTION rbac._restart_budget_period();
CREATE TRIGGER restart_budget_period BEFORE UPDATE OF budget_reset_at ON rbac.users FOR EACH ROW
  WHEN (NEW.budget_reset_at IS NULL AND NEW.budget_duration IS NOT NULL) EXECUTE FUNCTION rbac._restart_budget_period();
CREATE TRIGGER restart_budget_period BEFORE UPDATE OF budget_reset_at ON rbac.team_members FOR EACH ROW
  WHEN (NEW.budget_reset_at IS NULL AND NEW.budget_duration IS NOT NULL) EXECUTE FUNCTION rbac._restart_budget_period();
CREATE TRIGGER restart_budget_period BEFORE UPDATE OF budget_reset_at ON rbac.keys FOR EACH ROW
  WHEN (NEW.budget_reset_at IS NULL AND NEW.budget_duration IS NOT NULL) EXECUTE FUNCTION rbac._restart_budget_period();
CREATE TRIGGER restart_budget_period BEFORE UPDATE OF budget_reset_at ON rbac.end_users FOR EACH ROW
  WHEN (NEW.budget_reset_at IS NULL AND NEW.budget_duration IS NOT NULL) EXECUTE FUNCTION rbac._restart_budget_period();

---------------------------------------------------------------------------------------------------------------
-- Audit: one row per inserted/updated/deleted policy row, in the same transaction. Updates that touch only
-- accounting columns (spend, budget_reset_at) are not policy changes and are recorded in spend_log instead;
-- the UPDATE OF column lists below leave those columns out so the hot path pays nothing.
---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION rbac._redact_jwks(issuer_row jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN jsonb_typeof(issuer_row -> 'jwks' -> 'keys') = 'array' THEN
    jsonb_set(issuer_row, '{jwks,keys}', coalesce((
      SELECT jsonb_agg(CASE WHEN jsonb_typeof(k) = 'object' THEN k - ARRAY['k', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'oth'] ELSE k END)
      FROM jsonb_array_elements(issuer_row -> 'jwks' -> 'keys') k), '[]'::jsonb))
  ELSE issuer_row END
$$;

CREATE FUNCTION rbac._audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  before_row jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END;
  after_row  jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END;
  row_data   jsonb := coalesce(after_row, before_row);
  object_id  text;
  act        text;
  i          int;
BEGIN
  -- TG_ARGV lists the primary-key columns; composite keys are joined with ':'
  -- shared secrets (HS* `k`) and any private key members of a JWKS never reach the audit trail
  IF TG_TABLE_NAME = 'jwt_issuers' THEN
    before_row := rbac._redact_jwks(before_row);
    after_row := rbac._redact_jwks(after_row);
  END IF;
  object_id := row_data ->> TG_ARGV[0];
  FOR i IN 1 .. TG_NARGS - 1 LOOP
    object_id := object_id || ':' || (row_data ->> TG_ARGV[i]);
  END LOOP;
  act := CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'DELETE' THEN 'deleted' ELSE 'updated' END;
  IF TG_OP = 'UPDATE' THEN
    IF (before_row - 'updated_at') = (after_row - 'updated_at') THEN RETURN NULL; END IF;
    IF (before_row ->> 'blocked') IS DISTINCT FROM (after_row ->> 'blocked') THEN
      act := CASE WHEN (after_row ->> 'blocked')::boolean THEN 'blocked' ELSE 'unblocked' END;
    END IF;
  END IF;
  -- db_user: the effective role behind the change (src/caller.rs), not this trigger's owner rights
  INSERT INTO rbac.audit_log(db_user, actor, action, table_name, object_id, before, after)
  VALUES (coalesce(rbac._acting_db_user(), session_user), rbac.current_principal_user_id(), act, TG_TABLE_NAME, object_id,
          before_row, after_row);
  RETURN NULL;
END $$;

CREATE TRIGGER audit AFTER INSERT OR DELETE ON rbac.organizations FOR EACH ROW EXECUTE FUNCTION rbac._audit('organization_id');
CREATE TRIGGER audit_update AFTER UPDATE OF organization_id, organization_alias, models, max_budget, budget_duration, rpm_limit,
  tpm_limit, max_parallel_requests, blocked, metadata ON rbac.organizations FOR EACH ROW EXECUTE FUNCTION rbac._audit('organization_id');
CREATE TRIGGER audit AFTER INSERT OR DELETE ON rbac.teams FOR EACH ROW EXECUTE FUNCTION rbac._audit('team_id');
CREATE TRIGGER audit_update AFTER UPDATE OF team_id, team_alias, organization_id, models, max_budget, budget_duration, rpm_limit,
  tpm_limit, max_parallel_requests, blocked, team_member_permissions, metadata ON rbac.teams FOR EACH ROW EXECUTE FUNCTION rbac._audit('team_id');
CREATE TRIGGER audit AFTER INSERT OR DELETE ON rbac.users FOR EACH ROW EXECUTE FUNCTION rbac._audit('user_id');
CREATE TRIGGER audit_update AFTER UPDATE OF user_id, user_alias, user_email, user_role, models, max_budget, budget_duration,
  rpm_limit, tpm_limit, max_parallel_requests, metadata ON rbac.users FOR EACH ROW EXECUTE FUNCTION rbac._audit('user_id');
CREATE TRIGGER audit AFTER INSERT OR DELETE ON rbac.team_members FOR EACH ROW EXECUTE FUNCTION rbac._audit('team_id', 'user_id');
CREATE TRIGGER audit_update AFTER UPDATE OF team_id, user_id, role, max_budget, budget_duration, rpm_limit, tpm_limit, allowed_models
  ON rbac.team_members FOR EACH ROW EXECUTE FUNCTION rbac._audit('team_id', 'user_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON rbac.organization_members FOR EACH ROW
  EXECUTE FUNCTION rbac._audit('organization_id', 'user_id');
CREATE TRIGGER audit AFTER INSERT OR DELETE ON rbac.keys FOR EACH ROW EXECUTE FUNCTION rbac._audit('key_hash');
CREATE TRIGGER audit_update AFTER UPDATE OF key_hash, key_alias, key_name, user_id, team_id, organization_id, models, max_budget,
  budget_duration, rpm_limit, tpm_limit, max_parallel_requests, expires, blocked, allowed_routes, permissions, metadata,
  budget_from_key
  ON rbac.keys FOR EACH ROW EXECUTE FUNCTION rbac._audit('key_hash');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON rbac.deprecated_keys FOR EACH ROW EXECUTE FUNCTION rbac._audit('key_hash');
CREATE TRIGGER audit AFTER INSERT OR DELETE ON rbac.end_users FOR EACH ROW EXECUTE FUNCTION rbac._audit('end_user_id');
CREATE TRIGGER audit_update AFTER UPDATE OF end_user_id, alias, models, max_budget, budget_duration, rpm_limit, tpm_limit, blocked, metadata
  ON rbac.end_users FOR EACH ROW EXECUTE FUNCTION rbac._audit('end_user_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON rbac.models FOR EACH ROW EXECUTE FUNCTION rbac._audit('model_name');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON rbac.role_permissions FOR EACH ROW EXECUTE FUNCTION rbac._audit('role');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON rbac.jwt_issuers FOR EACH ROW EXECUTE FUNCTION rbac._audit('issuer');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON rbac.route_groups FOR EACH ROW EXECUTE FUNCTION rbac._audit('group_name', 'pattern');

-- A key whose budget was taken out of another key's (rbac.key_generate) gives back, when deleted, the part it has
-- not spent: the creating key's max_budget regains the whole delegated budget and its spend and reserved take on
-- what the deleted key spent this period and still holds, so together they never spend more than the creating key
-- could alone.
-- Keys that took their budget from the deleted one now take it from its creator (their budgets stay carved).
CREATE FUNCTION rbac._return_budget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.budget_from_key IS NOT NULL AND EXISTS (SELECT 1 FROM rbac.keys p WHERE p.key_hash = OLD.budget_from_key
                                                  AND p.max_budget IS NOT NULL) THEN
    -- requests still in flight settle against the creating key: their reservations move there (without the
    -- parallel slot, which was the deleted key's), so what they spend is charged where the budget went back
    UPDATE rbac.keys p
    SET max_budget = p.max_budget + coalesce(OLD.max_budget, 0),
        spend = p.spend + CASE WHEN OLD.budget_reset_at <= now() THEN 0 ELSE OLD.spend END,
        reserved = p.reserved + OLD.reserved
    WHERE p.key_hash = OLD.budget_from_key;
    UPDATE rbac.reservations r SET key_hash = OLD.budget_from_key, parallel_slot = false
    WHERE r.key_hash = OLD.key_hash AND r.state = 'open';
  END IF;
  UPDATE rbac.keys c SET budget_from_key = OLD.budget_from_key WHERE c.budget_from_key = OLD.key_hash;
  RETURN OLD;
END $$;
CREATE TRIGGER return_budget BEFORE DELETE ON rbac.keys FOR EACH ROW EXECUTE FUNCTION rbac._return_budget();

-- Every audited table notes the effective role of each statement before its rows change, for audit_log.db_user.
DO $$
DECLARE t regclass;
BEGIN
  FOR t IN SELECT DISTINCT tg.tgrelid::regclass FROM pg_catalog.pg_trigger tg
           WHERE tg.tgfoid = 'rbac._audit()'::regprocedure ORDER BY 1 LOOP
    EXECUTE format('CREATE TRIGGER note_dml_role BEFORE INSERT OR UPDATE OR DELETE ON %s FOR EACH STATEMENT '
                   'EXECUTE FUNCTION rbac._note_dml_role()', t);
  END LOOP;
END $$;

-- Custom route groups (rows a proxy admin or DBA adds) never extend a built-in group: a row ('llm_api_routes',
-- '/key/generate') would hand every LLM-only key a management route. Built-in rows come only from the
-- extension's own seed (003_route_groups.sql), loaded before this trigger exists.
CREATE FUNCTION rbac._validate_route_group() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NEW.builtin AND (TG_OP = 'INSERT' OR NOT OLD.builtin OR NEW.group_name IS DISTINCT FROM OLD.group_name
                      OR NEW.pattern IS DISTINCT FROM OLD.pattern) THEN
    RAISE EXCEPTION 'route_groups.builtin: built-in route groups come from the extension and cannot be added or changed'
      USING ERRCODE = '23514';
  END IF;
  IF NOT NEW.builtin AND EXISTS (SELECT 1 FROM rbac.route_groups g WHERE g.group_name = NEW.group_name AND g.builtin) THEN
    RAISE EXCEPTION 'route_groups.group_name: "%" is a built-in route group; custom rows must use a group name of their own',
      NEW.group_name USING ERRCODE = '23514';
  END IF;
  RETURN NULL;
END $$;
-- AFTER, so that a caller whose row-level security already refuses the row hears 42501 first.
CREATE TRIGGER validate AFTER INSERT OR UPDATE ON rbac.route_groups FOR EACH ROW EXECUTE FUNCTION rbac._validate_route_group();

-- The audit log is append-only, for everyone including its owner (TRUNCATE too).
CREATE FUNCTION rbac._audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'rbac.audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = '42501';
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON rbac.audit_log FOR EACH ROW EXECUTE FUNCTION rbac._audit_log_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON rbac.audit_log FOR EACH STATEMENT EXECUTE FUNCTION rbac._audit_log_append_only();

---------------------------------------------------------------------------------------------------------------
-- Cache coherence: a policy change signals every backend to drop its cached policy (see src/invalidation.rs).
-- Every column the decision or the admission reads as policy is listed; accounting-only updates (spend,
-- reserved, in_flight, budget_reset_at) and cosmetic ones (aliases, emails) are not and signal nothing.
---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION rbac._policy_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM rbac._signal_policy_change('rbac.cache_epoch'::regclass);
  RETURN NULL;
END $$;
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rbac.route_groups
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rbac.models
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rbac.jwt_issuers
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rbac.role_permissions
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rbac.organization_members
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rbac.deprecated_keys
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed AFTER INSERT OR DELETE OR TRUNCATE ON rbac.organizations
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed_update AFTER UPDATE OF organization_id, models, max_budget, budget_duration, rpm_limit, tpm_limit,
  max_parallel_requests, blocked, metadata ON rbac.organizations FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed AFTER INSERT OR DELETE OR TRUNCATE ON rbac.teams
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed_update AFTER UPDATE OF team_id, organization_id, models, max_budget, budget_duration, rpm_limit,
  tpm_limit, max_parallel_requests, blocked, metadata ON rbac.teams FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed AFTER INSERT OR DELETE OR TRUNCATE ON rbac.users
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed_update AFTER UPDATE OF user_id, user_role, models, max_budget, budget_duration, rpm_limit, tpm_limit,
  max_parallel_requests, metadata ON rbac.users FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed AFTER INSERT OR DELETE OR TRUNCATE ON rbac.team_members
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed_update AFTER UPDATE OF team_id, user_id, role, allowed_models, max_budget, budget_duration, rpm_limit,
  tpm_limit ON rbac.team_members FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed AFTER INSERT OR DELETE OR TRUNCATE ON rbac.keys
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed_update AFTER UPDATE OF key_hash, user_id, team_id, organization_id, models, max_budget,
  budget_duration, rpm_limit, tpm_limit, max_parallel_requests, expires, blocked, allowed_routes, permissions, metadata ON rbac.keys FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed AFTER INSERT OR DELETE OR TRUNCATE ON rbac.end_users
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed_update AFTER UPDATE OF end_user_id, models, max_budget, budget_duration, rpm_limit, tpm_limit,
  blocked, metadata ON rbac.end_users FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();

---------------------------------------------------------------------------------------------------------------
-- pg_dump keeps policy, keys, spend and the audit trail (docs/semantics.md §13.3). Built-in route groups are re-seeded by
-- CREATE EXTENSION, so only rows a DBA added are dumped.
---------------------------------------------------------------------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump('rbac.organizations', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.teams', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.users', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.team_members', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.organization_members', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.keys', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.deprecated_keys', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.end_users', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.models', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.role_permissions', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.jwt_issuers', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.route_groups', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('rbac.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.audit_log_audit_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.spend_log', '');
