-- pg_rbac — budget tiers, soft-budget events, management defaults and upper bounds (docs/quotas.md "Budget tiers",
-- "Soft budgets and alerts", "Defaults and upper bounds"; docs/sql-reference.md "Budget tiers and settings").
-- New in 0.4.0; tables in 004_budget_schema.sql. Every value these features decide is written into the level's own
-- columns (max_budget, rpm_limit, ...), so rbac_check, consume_quota, settle and explain enforce and show it with no
-- code of their own, and a change reaches the per-backend policy caches through the existing policy_changed triggers.

---------------------------------------------------------------------------------------------------------------
-- Validation
---------------------------------------------------------------------------------------------------------------
-- Seconds in a budget_duration or key duration ('30d' -> 2592000; 1mo counts as 30 days, as LiteLLM's
-- duration_in_seconds does for comparisons). 23514 naming field for a malformed one.
CREATE FUNCTION rbac._duration_seconds(field text, v text) RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM rbac._check_duration(field, v);
  RETURN substring(v FROM '^[0-9]+')::numeric * CASE substring(v FROM '[a-z]+$')
    WHEN 's' THEN 1 WHEN 'm' THEN 60 WHEN 'h' THEN 3600 WHEN 'd' THEN 86400 WHEN 'w' THEN 604800 ELSE 2592000 END;
END $$;
COMMENT ON FUNCTION rbac._duration_seconds(text, text) IS
  'Seconds in a duration such as 30s, 2h, 7d, 1w, 1mo (a month counts 30 days, LiteLLM duration_in_seconds); NULL for NULL. '
  'Errors: 23514 naming field for a malformed duration.';

CREATE FUNCTION rbac._validate_budget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.budget_id IS NULL OR NEW.budget_id = '' OR length(NEW.budget_id) > 1024 THEN
    RAISE EXCEPTION 'budgets.budget_id must be a non-empty text of at most 1024 characters' USING ERRCODE = '23514';
  END IF;
  PERFORM rbac._check_budget('budgets.max_budget', NEW.max_budget);
  PERFORM rbac._check_budget('budgets.soft_budget', NEW.soft_budget);
  PERFORM rbac._check_duration('budgets.budget_duration', NEW.budget_duration);
  PERFORM rbac._check_limit('budgets.rpm_limit', NEW.rpm_limit);
  PERFORM rbac._check_limit('budgets.tpm_limit', NEW.tpm_limit);
  PERFORM rbac._check_limit('budgets.max_parallel_requests', NEW.max_parallel_requests);
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER validate BEFORE INSERT OR UPDATE ON rbac.budgets FOR EACH ROW EXECUTE FUNCTION rbac._validate_budget();

-- The settings there are, with the fields each may hold and their JSON types (LiteLLM's shapes; unknown names and
-- fields are refused so that a typo never silently sets nothing). max_end_user_budget_id holds a tier's id.
CREATE FUNCTION rbac._setting_fields(name text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE name
    WHEN 'max_end_user_budget_id' THEN '"budget_id"'
    WHEN 'default_key_generate_params' THEN '{"max_budget": "number", "soft_budget": "number", "budget_duration": "duration",
        "rpm_limit": "integer", "tpm_limit": "integer", "max_parallel_requests": "integer", "models": "array"}'
    WHEN 'upperbound_key_generate_params' THEN '{"max_budget": "number", "budget_duration": "duration", "duration": "duration",
        "rpm_limit": "integer", "tpm_limit": "integer", "max_parallel_requests": "integer"}'
    WHEN 'default_internal_user_params' THEN '{"max_budget": "number", "soft_budget": "number", "budget_duration": "duration",
        "rpm_limit": "integer", "tpm_limit": "integer", "models": "array"}'
    WHEN 'upperbound_internal_user_params' THEN '{"max_budget": "number", "budget_duration": "duration",
        "rpm_limit": "integer", "tpm_limit": "integer"}'
    WHEN 'default_team_params' THEN '{"max_budget": "number", "soft_budget": "number", "budget_duration": "duration",
        "rpm_limit": "integer", "tpm_limit": "integer", "models": "array"}'
  END::jsonb
$$;

CREATE FUNCTION rbac._validate_setting() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE f record; want text; field text;
BEGIN
  IF rbac._setting_fields(NEW.name) IS NULL THEN
    RAISE EXCEPTION 'settings.name: unknown setting % (known: default_key_generate_params, upperbound_key_generate_params, default_internal_user_params, upperbound_internal_user_params, default_team_params, max_end_user_budget_id)',
      NEW.name USING ERRCODE = '23514';
  ELSIF NEW.name = 'max_end_user_budget_id' THEN
    IF jsonb_typeof(NEW.value) <> 'string' OR NOT EXISTS (SELECT 1 FROM rbac.budgets b WHERE b.budget_id = NEW.value #>> '{}') THEN
      RAISE EXCEPTION 'settings.max_end_user_budget_id must be the budget_id of an existing budget tier (a JSON string), got %',
        NEW.value USING ERRCODE = '23514';
    END IF;
  ELSE
    IF jsonb_typeof(NEW.value) <> 'object' THEN
      RAISE EXCEPTION 'settings.%: the value must be a JSON object (LiteLLM''s shape), got %', NEW.name, NEW.value
        USING ERRCODE = '23514';
    END IF;
    FOR f IN SELECT * FROM jsonb_each(NEW.value) LOOP
      want := rbac._setting_fields(NEW.name) ->> f.key;
      field := format('settings.%s.%s', NEW.name, f.key);
      IF want IS NULL THEN
        RAISE EXCEPTION '%: unknown field (allowed: %)', field,
          (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(rbac._setting_fields(NEW.name)) k) USING ERRCODE = '23514';
      ELSIF want = 'number' AND (jsonb_typeof(f.value) <> 'number' OR (f.value #>> '{}')::numeric < 0) THEN
        RAISE EXCEPTION '% must be a number >= 0 (USD), got %', field, f.value USING ERRCODE = '23514';
      ELSIF want = 'integer' AND (jsonb_typeof(f.value) <> 'number' OR (f.value #>> '{}')::numeric < 0
                                  OR (f.value #>> '{}')::numeric <> trunc((f.value #>> '{}')::numeric)
                                  OR (f.value #>> '{}')::numeric > 9223372036854775807) THEN
        RAISE EXCEPTION '% must be a whole number >= 0, got %', field, f.value USING ERRCODE = '23514';
      ELSIF want = 'duration' THEN
        IF jsonb_typeof(f.value) <> 'string' THEN
          RAISE EXCEPTION '% must be a duration string such as "30d", got %', field, f.value USING ERRCODE = '23514';
        END IF;
        PERFORM rbac._check_duration(field, f.value #>> '{}');
      ELSIF want = 'array' AND (jsonb_typeof(f.value) <> 'array'
                                OR EXISTS (SELECT 1 FROM jsonb_array_elements(f.value) e WHERE jsonb_typeof(e) <> 'string')) THEN
        RAISE EXCEPTION '% must be an array of model names, got %', field, f.value USING ERRCODE = '23514';
      END IF;
    END LOOP;
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER validate BEFORE INSERT OR UPDATE ON rbac.settings FOR EACH ROW EXECUTE FUNCTION rbac._validate_setting();

---------------------------------------------------------------------------------------------------------------
-- Budget tiers: a level's effective limits (docs/quotas.md "Budget tiers")
---------------------------------------------------------------------------------------------------------------
-- Precedence, as LiteLLM: the level's own value, else its tier's (key budget_id / end-user budget_id /
-- organization budget_id / team-membership budget_id), else none. The tier's value is written into the level's
-- column and the column named in budget_fields, so that a tier edit reaches exactly the columns that follow it,
-- clearing an own value (NULL) falls back to the tier, and a level leaving its tier drops what it had from it.
-- Runs first among the BEFORE triggers (name order), so validation, period bookkeeping and defaults see the result.
CREATE FUNCTION rbac._apply_budget_tier() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_j     jsonb := to_jsonb(NEW);
  old_j     jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END;
  inherited text[] := CASE WHEN TG_OP = 'UPDATE' THEN OLD.budget_fields ELSE '{}' END;
  tier      jsonb;
  f         text;
  tier_v    jsonb;
BEGIN
  PERFORM rbac._check_budget(TG_TABLE_NAME || '.soft_budget', NEW.soft_budget);
  -- a customer seen for the first time gets the default tier (LiteLLM max_end_user_budget_id)
  IF TG_TABLE_NAME = 'end_users' AND TG_OP = 'INSERT' AND NEW.budget_id IS NULL THEN
    NEW.budget_id := (SELECT s.value #>> '{}' FROM rbac.settings s WHERE s.name = 'max_end_user_budget_id');
  END IF;
  IF NEW.budget_id IS NULL AND cardinality(inherited) = 0 THEN
    NEW.budget_fields := '{}';
    RETURN NEW;
  END IF;
  SELECT to_jsonb(b) INTO tier FROM rbac.budgets b WHERE b.budget_id = NEW.budget_id;
  new_j := to_jsonb(NEW);
  FOREACH f IN ARRAY ARRAY['max_budget', 'soft_budget', 'budget_duration', 'rpm_limit', 'tpm_limit', 'max_parallel_requests'] LOOP
    CONTINUE WHEN NOT new_j ? f;   -- team_members and end_users have no max_parallel_requests
    IF new_j -> f <> 'null' AND (TG_OP = 'INSERT' OR (new_j -> f) IS DISTINCT FROM (old_j -> f)) THEN
      inherited := array_remove(inherited, f);        -- set by the caller: the level's own value
    ELSIF new_j -> f = 'null' OR f = ANY (inherited) THEN
      tier_v := coalesce(tier -> f, 'null');
      new_j := jsonb_set(new_j, ARRAY[f], tier_v);
      inherited := array_remove(inherited, f) || CASE WHEN tier_v <> 'null' THEN ARRAY[f] ELSE '{}'::text[] END;
    END IF;
  END LOOP;
  NEW := jsonb_populate_record(NEW, new_j);
  NEW.budget_fields := inherited;
  -- a duration taken from the tier starts its period here (the validate trigger runs only for statements that name
  -- budget_duration)
  NEW.budget_reset_at := rbac._budget_period(TG_TABLE_NAME, NEW.budget_duration,
      CASE WHEN TG_OP = 'UPDATE' THEN OLD.budget_duration END, NEW.budget_reset_at, TG_OP = 'INSERT');
  RETURN NEW;
END $$;
CREATE TRIGGER apply_budget_tier BEFORE INSERT OR UPDATE OF budget_id, max_budget, soft_budget, budget_duration, rpm_limit,
  tpm_limit, max_parallel_requests ON rbac.keys FOR EACH ROW EXECUTE FUNCTION rbac._apply_budget_tier();
CREATE TRIGGER apply_budget_tier BEFORE INSERT OR UPDATE OF budget_id, max_budget, soft_budget, budget_duration, rpm_limit,
  tpm_limit ON rbac.team_members FOR EACH ROW EXECUTE FUNCTION rbac._apply_budget_tier();
CREATE TRIGGER apply_budget_tier BEFORE INSERT OR UPDATE OF budget_id, max_budget, soft_budget, budget_duration, rpm_limit,
  tpm_limit, max_parallel_requests ON rbac.organizations FOR EACH ROW EXECUTE FUNCTION rbac._apply_budget_tier();
CREATE TRIGGER apply_budget_tier BEFORE INSERT OR UPDATE OF budget_id, max_budget, soft_budget, budget_duration, rpm_limit,
  tpm_limit ON rbac.end_users FOR EACH ROW EXECUTE FUNCTION rbac._apply_budget_tier();

-- soft_budget on the levels without tiers
CREATE FUNCTION rbac._validate_soft_budget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM rbac._check_budget(TG_TABLE_NAME || '.soft_budget', NEW.soft_budget);
  RETURN NEW;
END $$;
CREATE TRIGGER validate_soft_budget BEFORE INSERT OR UPDATE OF soft_budget ON rbac.teams
  FOR EACH ROW EXECUTE FUNCTION rbac._validate_soft_budget();
CREATE TRIGGER validate_soft_budget BEFORE INSERT OR UPDATE OF soft_budget ON rbac.users
  FOR EACH ROW EXECUTE FUNCTION rbac._validate_soft_budget();

-- A tier edit reaches every level that follows it. The statement names the limit columns so that the levels'
-- own validation (limits within the parent's), audit and policy_changed triggers run as for a direct edit.
CREATE FUNCTION rbac._propagate_budget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- lock order of the quota path: keys -> team_members -> organizations -> end_users
  UPDATE rbac.keys SET budget_id = budget_id, max_budget = max_budget, soft_budget = soft_budget,
    budget_duration = budget_duration, rpm_limit = rpm_limit, tpm_limit = tpm_limit, max_parallel_requests = max_parallel_requests
  WHERE budget_id = NEW.budget_id;
  UPDATE rbac.team_members SET budget_id = budget_id, max_budget = max_budget, soft_budget = soft_budget,
    budget_duration = budget_duration, rpm_limit = rpm_limit, tpm_limit = tpm_limit
  WHERE budget_id = NEW.budget_id;
  UPDATE rbac.organizations SET budget_id = budget_id, max_budget = max_budget, soft_budget = soft_budget,
    budget_duration = budget_duration, rpm_limit = rpm_limit, tpm_limit = tpm_limit, max_parallel_requests = max_parallel_requests
  WHERE budget_id = NEW.budget_id;
  UPDATE rbac.end_users SET budget_id = budget_id, max_budget = max_budget, soft_budget = soft_budget,
    budget_duration = budget_duration, rpm_limit = rpm_limit, tpm_limit = tpm_limit
  WHERE budget_id = NEW.budget_id;
  RETURN NULL;
END $$;
CREATE TRIGGER propagate AFTER UPDATE ON rbac.budgets FOR EACH ROW EXECUTE FUNCTION rbac._propagate_budget();

-- Changing only a level's tier (or soft budget) is a policy change too: audited, and it drops cached policy.
CREATE TRIGGER audit_budget AFTER UPDATE OF budget_id, soft_budget ON rbac.keys FOR EACH ROW
  WHEN (OLD.budget_id IS DISTINCT FROM NEW.budget_id OR OLD.soft_budget IS DISTINCT FROM NEW.soft_budget)
  EXECUTE FUNCTION rbac._audit('key_hash');
CREATE TRIGGER audit_budget AFTER UPDATE OF budget_id, soft_budget ON rbac.team_members FOR EACH ROW
  WHEN (OLD.budget_id IS DISTINCT FROM NEW.budget_id OR OLD.soft_budget IS DISTINCT FROM NEW.soft_budget)
  EXECUTE FUNCTION rbac._audit('team_id', 'user_id');
CREATE TRIGGER audit_budget AFTER UPDATE OF budget_id, soft_budget ON rbac.organizations FOR EACH ROW
  WHEN (OLD.budget_id IS DISTINCT FROM NEW.budget_id OR OLD.soft_budget IS DISTINCT FROM NEW.soft_budget)
  EXECUTE FUNCTION rbac._audit('organization_id');
CREATE TRIGGER audit_budget AFTER UPDATE OF budget_id, soft_budget ON rbac.end_users FOR EACH ROW
  WHEN (OLD.budget_id IS DISTINCT FROM NEW.budget_id OR OLD.soft_budget IS DISTINCT FROM NEW.soft_budget)
  EXECUTE FUNCTION rbac._audit('end_user_id');
CREATE TRIGGER audit_budget AFTER UPDATE OF soft_budget ON rbac.teams FOR EACH ROW
  WHEN (OLD.soft_budget IS DISTINCT FROM NEW.soft_budget) EXECUTE FUNCTION rbac._audit('team_id');
CREATE TRIGGER audit_budget AFTER UPDATE OF soft_budget ON rbac.users FOR EACH ROW
  WHEN (OLD.soft_budget IS DISTINCT FROM NEW.soft_budget) EXECUTE FUNCTION rbac._audit('user_id');
CREATE TRIGGER policy_changed_budget AFTER UPDATE OF budget_id ON rbac.keys
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed_budget AFTER UPDATE OF budget_id ON rbac.team_members
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed_budget AFTER UPDATE OF budget_id ON rbac.organizations
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();
CREATE TRIGGER policy_changed_budget AFTER UPDATE OF budget_id ON rbac.end_users
  FOR EACH STATEMENT EXECUTE FUNCTION rbac._policy_changed();

CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON rbac.budgets FOR EACH ROW EXECUTE FUNCTION rbac._audit('budget_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON rbac.settings FOR EACH ROW EXECUTE FUNCTION rbac._audit('name');
CREATE TRIGGER note_dml_role BEFORE INSERT OR UPDATE OR DELETE ON rbac.budgets FOR EACH STATEMENT
  EXECUTE FUNCTION rbac._note_dml_role();
CREATE TRIGGER note_dml_role BEFORE INSERT OR UPDATE OR DELETE ON rbac.settings FOR EACH STATEMENT
  EXECUTE FUNCTION rbac._note_dml_role();

---------------------------------------------------------------------------------------------------------------
-- Defaults and upper bounds (docs/quotas.md "Defaults and upper bounds")
---------------------------------------------------------------------------------------------------------------
-- Keys, users and teams: an unset value takes the default of rbac.settings (on creation; LiteLLM
-- default_key_generate_params, default_internal_user_params, default_team_params), and a value above the upper
-- bound is refused with 23514 naming the bound (LiteLLM upperbound_key_generate_params; users:
-- upperbound_internal_user_params) — for every caller, proxy admins included, as in LiteLLM. A key or user created
-- without a bounded value gets the bound (unset would mean "unlimited"); an update may not clear it.
CREATE FUNCTION rbac._defaults_and_bounds() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  kind     text := CASE TG_TABLE_NAME WHEN 'keys' THEN 'key_generate' WHEN 'users' THEN 'internal_user' ELSE 'team' END;
  defaults jsonb := (SELECT s.value FROM rbac.settings s WHERE s.name = CASE kind WHEN 'key_generate' THEN 'default_key_generate_params'
                       WHEN 'internal_user' THEN 'default_internal_user_params' ELSE 'default_team_params' END);
  bound_name text := CASE kind WHEN 'key_generate' THEN 'upperbound_key_generate_params'
                       WHEN 'internal_user' THEN 'upperbound_internal_user_params' END;
  bounds   jsonb := (SELECT s.value FROM rbac.settings s WHERE s.name = bound_name);
  new_j    jsonb := to_jsonb(NEW);
  old_j    jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END;
  f        record;
  v        jsonb;
BEGIN
  -- user settings are for internal users (LiteLLM default_internal_user_params), not for admins
  IF (defaults IS NULL AND bounds IS NULL)
     OR (kind = 'internal_user' AND new_j ->> 'user_role' NOT IN ('internal_user', 'internal_user_viewer')) THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'INSERT' AND defaults IS NOT NULL THEN
    FOR f IN SELECT * FROM jsonb_each(defaults) LOOP
      IF coalesce(new_j -> f.key, 'null') = 'null' OR (f.key = 'models' AND new_j -> f.key = '[]') THEN
        new_j := jsonb_set(new_j, ARRAY[f.key], f.value);
      END IF;
    END LOOP;
  END IF;
  FOR f IN SELECT * FROM jsonb_each(coalesce(bounds, '{}')) LOOP
    IF f.key = 'duration' THEN
      -- the key's lifetime: expires at most that far from now
      v := new_j -> 'expires';
      CONTINUE WHEN TG_OP = 'UPDATE' AND v IS NOT DISTINCT FROM old_j -> 'expires';
      IF v = 'null' AND TG_OP = 'INSERT' THEN
        new_j := jsonb_set(new_j, '{expires}', to_jsonb(now() + make_interval(secs => rbac._duration_seconds(bound_name, f.value #>> '{}')::double precision)));
      ELSIF v = 'null' OR (v #>> '{}')::timestamptz > now() + make_interval(secs => rbac._duration_seconds(bound_name, f.value #>> '{}')::double precision) THEN
        RAISE EXCEPTION '%: duration (expires %) is over the upper bound %.duration = % (LiteLLM upperbound_key_generate_params)',
          TG_TABLE_NAME, coalesce(v #>> '{}', 'never'), bound_name, f.value #>> '{}' USING ERRCODE = '23514';
      END IF;
      CONTINUE;
    END IF;
    v := new_j -> f.key;
    CONTINUE WHEN TG_OP = 'UPDATE' AND v IS NOT DISTINCT FROM old_j -> f.key;
    IF v = 'null' AND TG_OP = 'INSERT' THEN
      new_j := jsonb_set(new_j, ARRAY[f.key], f.value);
    ELSIF v = 'null'
       OR (f.key = 'budget_duration' AND rbac._duration_seconds(TG_TABLE_NAME || '.budget_duration', v #>> '{}')
                                          > rbac._duration_seconds(bound_name, f.value #>> '{}'))
       OR (f.key <> 'budget_duration' AND (v #>> '{}')::numeric > (f.value #>> '{}')::numeric) THEN
      RAISE EXCEPTION '%: % % is over the upper bound %.% = % (LiteLLM %)', TG_TABLE_NAME, f.key,
        coalesce(v #>> '{}', 'unset (no limit)'), bound_name, f.key, f.value #>> '{}', bound_name USING ERRCODE = '23514';
    END IF;
  END LOOP;
  NEW := jsonb_populate_record(NEW, new_j);
  RETURN NEW;
END $$;
CREATE TRIGGER defaults_and_bounds BEFORE INSERT OR UPDATE OF max_budget, soft_budget, budget_duration, rpm_limit, tpm_limit,
  max_parallel_requests, expires ON rbac.keys FOR EACH ROW EXECUTE FUNCTION rbac._defaults_and_bounds();
CREATE TRIGGER defaults_and_bounds BEFORE INSERT OR UPDATE OF max_budget, soft_budget, budget_duration, rpm_limit,
  tpm_limit ON rbac.users FOR EACH ROW EXECUTE FUNCTION rbac._defaults_and_bounds();
CREATE TRIGGER defaults_and_bounds BEFORE INSERT ON rbac.teams FOR EACH ROW EXECUTE FUNCTION rbac._defaults_and_bounds();

---------------------------------------------------------------------------------------------------------------
-- Soft budgets (docs/quotas.md "Soft budgets and alerts"), called by rbac._record_spend (sql/020_quota.sql)
---------------------------------------------------------------------------------------------------------------
-- Records that a level's period spend reached its soft_budget: one rbac.budget_events row per level, period and
-- soft budget (the unique index makes concurrent settles that cross together insert once: the second waits for the
-- first's commit and then does nothing), and a pg_notify('rbac_budget', json) delivered when the settle commits.
CREATE FUNCTION rbac._soft_budget_crossed(p_scope text, p_id1 text, p_id2 text, p_soft numeric, p_spend numeric,
                                          p_max numeric, p_period_end timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE ev rbac.budget_events;
BEGIN
  INSERT INTO rbac.budget_events (scope, subject, user_id, soft_budget, spend, max_budget, period_end)
  VALUES (p_scope, p_id1, p_id2, p_soft, p_spend, p_max, coalesce(p_period_end, 'infinity'))
  ON CONFLICT DO NOTHING
  RETURNING * INTO ev;
  IF ev.event_id IS NOT NULL THEN
    PERFORM pg_notify('rbac_budget', json_build_object('event_id', ev.event_id, 'event_type', ev.event_type,
      'scope', ev.scope, 'subject', ev.subject, 'user_id', ev.user_id, 'soft_budget', ev.soft_budget, 'spend', ev.spend,
      'max_budget', ev.max_budget, 'period_end', ev.period_end)::text);
  END IF;
END $$;
COMMENT ON FUNCTION rbac._soft_budget_crossed(text, text, text, numeric, numeric, numeric, timestamptz) IS
  'Settle-path helper: writes the rbac.budget_events row of a level whose period spend (USD) reached its soft_budget, '
  'once per (scope, subject, user_id, period_end, soft_budget), and notifies channel rbac_budget with the row as JSON.';

-- The spend of a customer without an rbac.end_users row, when a default tier is set (LiteLLM creates the customer
-- row on its first spend and applies max_end_user_budget_id to it): the row is created with that tier and the
-- spend, so the customer's budget and limits apply from its next request on. Without a default tier nothing happens
-- (spend_log still records the request).
CREATE FUNCTION rbac._first_end_user_spend(p_end_user_id text, p_spend numeric) RETURNS void LANGUAGE plpgsql AS $$
DECLARE e rbac.end_users;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM rbac.settings s WHERE s.name = 'max_end_user_budget_id') THEN RETURN; END IF;
  INSERT INTO rbac.end_users AS x (end_user_id, spend) VALUES (p_end_user_id, p_spend)
  ON CONFLICT (end_user_id) DO UPDATE SET spend = x.spend + excluded.spend
  RETURNING * INTO e;
  IF e.soft_budget IS NOT NULL AND e.spend >= e.soft_budget THEN
    PERFORM rbac._soft_budget_crossed('end_user', e.end_user_id, NULL, e.soft_budget, e.spend, e.max_budget, e.budget_reset_at);
  END IF;
END $$;

---------------------------------------------------------------------------------------------------------------
-- Management functions (proxy_admin only; LiteLLM /budget/* and the proxy's litellm_settings)
---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION rbac._budget_admin(fn text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT rbac._mgmt_is_admin(fn) THEN
    RAISE EXCEPTION '%: only a proxy admin may manage budget tiers and settings (LiteLLM /budget/*, litellm_settings)', fn
      USING ERRCODE = '42501';
  END IF;
END $$;

CREATE FUNCTION rbac._budget_new(
  budget_id             text DEFAULT NULL,
  max_budget            numeric DEFAULT NULL,
  soft_budget           numeric DEFAULT NULL,
  budget_duration       text DEFAULT NULL,
  rpm_limit             bigint DEFAULT NULL,
  tpm_limit             bigint DEFAULT NULL,
  max_parallel_requests bigint DEFAULT NULL)
RETURNS rbac.budgets LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE fn constant text := 'rbac.budget_new'; b rbac.budgets;
BEGIN
  PERFORM rbac._budget_admin(fn);
  IF EXISTS (SELECT 1 FROM rbac.budgets x WHERE x.budget_id = _budget_new.budget_id) THEN
    RAISE EXCEPTION '%: budget tier "%" already exists', fn, _budget_new.budget_id USING ERRCODE = '23505';
  END IF;
  INSERT INTO rbac.budgets (budget_id, max_budget, soft_budget, budget_duration, rpm_limit, tpm_limit, max_parallel_requests,
                            created_by, updated_by)
  VALUES (coalesce(_budget_new.budget_id, gen_random_uuid()::text), _budget_new.max_budget, _budget_new.soft_budget,
          _budget_new.budget_duration, _budget_new.rpm_limit, _budget_new.tpm_limit, _budget_new.max_parallel_requests,
          rbac.current_principal_user_id(), rbac.current_principal_user_id())
  RETURNING * INTO b;
  RETURN b;
END $$;
SELECT rbac._expose_management_function('budget_new');
COMMENT ON FUNCTION rbac.budget_new(text, numeric, numeric, text, bigint, bigint, bigint) IS
$c$Creates a budget tier (LiteLLM /budget/new, LiteLLM_BudgetTable) and returns its rbac.budgets row. budget_id (default: a new uuid), max_budget USD per period, soft_budget USD per period (alert threshold, rbac.budget_events), budget_duration ('30d', '1mo', ...), rpm_limit requests and tpm_limit tokens per 60-second window, max_parallel_requests (keys only). Levels name it in budget_id (rbac.budget_assign) and take every value they do not set themselves.
Who: proxy admin only (or rbac_admin members without a principal).
Errors: 42501 refused; 23505 budget_id exists; 23514 negative or non-finite amounts, negative limits, bad budget_duration, empty budget_id.$c$;

CREATE FUNCTION rbac._budget_update(
  budget_id             text,
  max_budget            numeric DEFAULT NULL,
  soft_budget           numeric DEFAULT NULL,
  budget_duration       text DEFAULT NULL,
  rpm_limit             bigint DEFAULT NULL,
  tpm_limit             bigint DEFAULT NULL,
  max_parallel_requests bigint DEFAULT NULL,
  clear                 text[] DEFAULT '{}')
RETURNS rbac.budgets LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE fn constant text := 'rbac.budget_update'; b rbac.budgets; v_clear text[] := coalesce(_budget_update.clear, '{}'); v_bad text;
BEGIN
  PERFORM rbac._budget_admin(fn);
  SELECT c INTO v_bad FROM unnest(v_clear) c
  WHERE c IS NULL OR c NOT IN ('max_budget', 'soft_budget', 'budget_duration', 'rpm_limit', 'tpm_limit', 'max_parallel_requests') LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '%: clear names fields to reset to "no limit" (max_budget, soft_budget, budget_duration, rpm_limit, tpm_limit, max_parallel_requests), not %',
      fn, coalesce(v_bad, 'NULL') USING ERRCODE = '22023';
  END IF;
  SELECT * INTO b FROM rbac.budgets x WHERE x.budget_id = _budget_update.budget_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION '%: no budget tier "%"', fn, _budget_update.budget_id USING ERRCODE = '22023';
  END IF;
  UPDATE rbac.budgets x SET
    max_budget = CASE WHEN 'max_budget' = ANY (v_clear) THEN NULL ELSE coalesce(_budget_update.max_budget, b.max_budget) END,
    soft_budget = CASE WHEN 'soft_budget' = ANY (v_clear) THEN NULL ELSE coalesce(_budget_update.soft_budget, b.soft_budget) END,
    budget_duration = CASE WHEN 'budget_duration' = ANY (v_clear) THEN NULL ELSE coalesce(_budget_update.budget_duration, b.budget_duration) END,
    rpm_limit = CASE WHEN 'rpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_budget_update.rpm_limit, b.rpm_limit) END,
    tpm_limit = CASE WHEN 'tpm_limit' = ANY (v_clear) THEN NULL ELSE coalesce(_budget_update.tpm_limit, b.tpm_limit) END,
    max_parallel_requests = CASE WHEN 'max_parallel_requests' = ANY (v_clear) THEN NULL
                                 ELSE coalesce(_budget_update.max_parallel_requests, b.max_parallel_requests) END,
    updated_by = rbac.current_principal_user_id()
  WHERE x.budget_id = b.budget_id
  RETURNING * INTO b;
  RETURN b;
END $$;
SELECT rbac._expose_management_function('budget_update');
COMMENT ON FUNCTION rbac.budget_update(text, numeric, numeric, text, bigint, bigint, bigint, text[]) IS
$c$Changes a budget tier (LiteLLM /budget/update) and returns its new row; every key, team membership, organization and customer that follows the tier takes the new values in the same transaction (where it has no value of its own), with their own validation (within the team's / organization's limits, upper bounds). Arguments as rbac.budget_new; NULL leaves a field unchanged; clear text[] names fields to reset to "no limit".
Who: proxy admin only.
Errors: 42501 refused; 22023 unknown budget_id or bad clear list; 23514 invalid values, or a level that would exceed its parent's limit or an upper bound with the new values.$c$;

CREATE FUNCTION rbac._budget_delete(budget_id text)
RETURNS rbac.budgets LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE fn constant text := 'rbac.budget_delete'; b rbac.budgets; n bigint;
BEGIN
  PERFORM rbac._budget_admin(fn);
  SELECT * INTO b FROM rbac.budgets x WHERE x.budget_id = _budget_delete.budget_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION '%: no budget tier "%"', fn, _budget_delete.budget_id USING ERRCODE = '22023';
  END IF;
  -- deleting a tier in use would silently lift the limits of everything that follows it
  n := (SELECT count(*) FROM rbac.keys k WHERE k.budget_id = b.budget_id)
     + (SELECT count(*) FROM rbac.team_members m WHERE m.budget_id = b.budget_id)
     + (SELECT count(*) FROM rbac.organizations o WHERE o.budget_id = b.budget_id)
     + (SELECT count(*) FROM rbac.end_users e WHERE e.budget_id = b.budget_id);
  IF n > 0 OR EXISTS (SELECT 1 FROM rbac.settings s WHERE s.name = 'max_end_user_budget_id' AND s.value #>> '{}' = b.budget_id) THEN
    RAISE EXCEPTION '%: budget tier "%" is in use (% keys, team memberships, organizations or customers, or the default customer tier); assign them another tier first',
      fn, b.budget_id, n USING ERRCODE = '23514';
  END IF;
  DELETE FROM rbac.budgets x WHERE x.budget_id = b.budget_id;
  RETURN b;
END $$;
SELECT rbac._expose_management_function('budget_delete');
COMMENT ON FUNCTION rbac.budget_delete(text) IS
$c$Deletes an unused budget tier (LiteLLM /budget/delete) and returns the deleted row.
Who: proxy admin only.
Errors: 42501 refused; 22023 unknown budget_id; 23514 the tier is still named by a key, team membership, organization or customer, or is the default customer tier (max_end_user_budget_id).$c$;

CREATE FUNCTION rbac._budget_info(budget_id text DEFAULT NULL)
RETURNS SETOF rbac.budgets LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE fn constant text := 'rbac.budget_info';
BEGIN
  IF NOT rbac._mgmt_is_admin(fn) AND NOT rbac._principal_is('proxy_admin_viewer') THEN
    RAISE EXCEPTION '%: only a proxy admin or proxy admin viewer may read budget tiers (LiteLLM /budget/info)', fn USING ERRCODE = '42501';
  END IF;
  RETURN QUERY SELECT * FROM rbac.budgets b WHERE _budget_info.budget_id IS NULL OR b.budget_id = _budget_info.budget_id
    ORDER BY b.budget_id;
END $$;
SELECT rbac._expose_management_function('budget_info');
COMMENT ON FUNCTION rbac.budget_info(text) IS
$c$Returns the budget tier budget_id, or every tier when it is NULL (LiteLLM /budget/info, /budget/list).
Who: proxy admin or proxy_admin_viewer.
Errors: 42501 refused.$c$;

-- Which level a tier is assigned to: scope is a limit_scope name of a level with budget_id.
CREATE FUNCTION rbac._budget_assign(budget_id text, scope text, id text, user_id text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE fn constant text := 'rbac.budget_assign'; v_key text; n int;
BEGIN
  PERFORM rbac._budget_admin(fn);
  IF _budget_assign.budget_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rbac.budgets b WHERE b.budget_id = _budget_assign.budget_id) THEN
    RAISE EXCEPTION '%: no budget tier "%"', fn, _budget_assign.budget_id USING ERRCODE = '22023';
  END IF;
  IF (_budget_assign.scope = 'team_member') <> (_budget_assign.user_id IS NOT NULL) THEN
    RAISE EXCEPTION '%: user_id names the member for scope team_member (id is then the team_id), and only then', fn USING ERRCODE = '22023';
  END IF;
  -- the statements name the limit columns so that the level's validation, audit and cache invalidation run
  CASE _budget_assign.scope
  WHEN 'key' THEN
    v_key := rbac._resolve_key(_budget_assign.id);
    UPDATE rbac.keys k SET budget_id = _budget_assign.budget_id, max_budget = k.max_budget, soft_budget = k.soft_budget,
      budget_duration = k.budget_duration, rpm_limit = k.rpm_limit, tpm_limit = k.tpm_limit, max_parallel_requests = k.max_parallel_requests
    WHERE k.key_hash = v_key;
  WHEN 'team_member' THEN
    UPDATE rbac.team_members m SET budget_id = _budget_assign.budget_id, max_budget = m.max_budget, soft_budget = m.soft_budget,
      budget_duration = m.budget_duration, rpm_limit = m.rpm_limit, tpm_limit = m.tpm_limit
    WHERE m.team_id = _budget_assign.id AND m.user_id = _budget_assign.user_id;
  WHEN 'organization' THEN
    UPDATE rbac.organizations o SET budget_id = _budget_assign.budget_id, max_budget = o.max_budget, soft_budget = o.soft_budget,
      budget_duration = o.budget_duration, rpm_limit = o.rpm_limit, tpm_limit = o.tpm_limit, max_parallel_requests = o.max_parallel_requests
    WHERE o.organization_id = _budget_assign.id;
  WHEN 'end_user' THEN
    UPDATE rbac.end_users e SET budget_id = _budget_assign.budget_id, max_budget = e.max_budget, soft_budget = e.soft_budget,
      budget_duration = e.budget_duration, rpm_limit = e.rpm_limit, tpm_limit = e.tpm_limit
    WHERE e.end_user_id = _budget_assign.id;
  ELSE
    RAISE EXCEPTION '%: scope must be key, team_member, organization or end_user (the levels with a budget_id), not %', fn,
      coalesce(_budget_assign.scope, 'NULL') USING ERRCODE = '22023';
  END CASE;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n = 0 THEN
    RAISE EXCEPTION '%: no % "%"%', fn, _budget_assign.scope, _budget_assign.id,
      coalesce(' / member "' || _budget_assign.user_id || '"', '') USING ERRCODE = '22023';
  END IF;
END $$;
SELECT rbac._expose_management_function('budget_assign');
COMMENT ON FUNCTION rbac.budget_assign(text, text, text, text) IS
$c$Makes a level follow budget tier budget_id (NULL: leave its tier): scope 'key' (id = plaintext key or key hash), 'team_member' (id = team_id, user_id = the member), 'organization' or 'end_user' (id = its id). LiteLLM sets the same budget_id through /key/generate|update, /team/member_add, /organization/new and /customer/new. The level keeps its own values and takes the tier's for the fields it leaves unset (budget_fields lists them); leaving a tier drops those.
Who: proxy admin only.
Errors: 42501 refused; 22023 unknown tier or level, bad scope, user_id given for a scope other than team_member (or missing for it); 23514 when the tier's values would exceed the level's parent's limits or an upper bound.$c$;

CREATE FUNCTION rbac._setting_update(name text, value jsonb)
RETURNS rbac.settings LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE fn constant text := 'rbac.setting_update'; s rbac.settings;
BEGIN
  PERFORM rbac._budget_admin(fn);
  IF rbac._setting_fields(_setting_update.name) IS NULL THEN
    RAISE EXCEPTION '%: unknown setting % (default_key_generate_params, upperbound_key_generate_params, default_internal_user_params, upperbound_internal_user_params, default_team_params, max_end_user_budget_id)',
      fn, coalesce(_setting_update.name, 'NULL') USING ERRCODE = '22023';
  END IF;
  IF _setting_update.value IS NULL OR _setting_update.value = 'null' THEN
    DELETE FROM rbac.settings x WHERE x.name = _setting_update.name RETURNING * INTO s;
    RETURN s;
  END IF;
  INSERT INTO rbac.settings AS x (name, value, updated_by) VALUES (_setting_update.name, _setting_update.value, rbac.current_principal_user_id())
  ON CONFLICT ON CONSTRAINT settings_pkey DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by
  RETURNING * INTO s;
  RETURN s;
END $$;
SELECT rbac._expose_management_function('setting_update');
COMMENT ON FUNCTION rbac.setting_update(text, jsonb) IS
$c$Sets (value NULL: removes) one management setting and returns its row. name and value, in LiteLLM's litellm_settings shapes: default_key_generate_params / default_internal_user_params / default_team_params {"max_budget": USD, "soft_budget": USD, "budget_duration": "30d", "rpm_limit": n, "tpm_limit": n, "max_parallel_requests": n (keys), "models": [...]} fill what a new key / internal user / team leaves unset; upperbound_key_generate_params {"max_budget", "budget_duration", "duration" (key lifetime), "rpm_limit", "tpm_limit", "max_parallel_requests"} and upperbound_internal_user_params (pg_rbac's own: "max_budget", "budget_duration", "rpm_limit", "tpm_limit") refuse larger values for every caller and fill unset ones; max_end_user_budget_id "tier" is the tier of customers seen for the first time.
Who: proxy admin only.
Errors: 42501 refused; 22023 unknown setting name; 23514 a value of the wrong shape (unknown field, negative or non-numeric amount, bad duration, unknown tier).$c$;

CREATE FUNCTION rbac._setting_info(name text DEFAULT NULL)
RETURNS SETOF rbac.settings LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE fn constant text := 'rbac.setting_info';
BEGIN
  IF NOT rbac._mgmt_is_admin(fn) AND NOT rbac._principal_is('proxy_admin_viewer') THEN
    RAISE EXCEPTION '%: only a proxy admin or proxy admin viewer may read the management settings', fn USING ERRCODE = '42501';
  END IF;
  RETURN QUERY SELECT * FROM rbac.settings s WHERE _setting_info.name IS NULL OR s.name = _setting_info.name ORDER BY s.name;
END $$;
SELECT rbac._expose_management_function('setting_info');
COMMENT ON FUNCTION rbac.setting_info(text) IS
$c$Returns the management setting name, or all of them when it is NULL (see rbac.setting_update for the names and shapes).
Who: proxy admin or proxy_admin_viewer.
Errors: 42501 refused.$c$;

---------------------------------------------------------------------------------------------------------------
-- Security: the trigger functions run as the owner (they read tiers and settings the writer's RLS may hide, and
-- write budget_events); the API reads as other policy tables do; pg_dump keeps the data.
---------------------------------------------------------------------------------------------------------------
ALTER FUNCTION rbac._apply_budget_tier() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._propagate_budget() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._defaults_and_bounds() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._validate_budget() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._validate_setting() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION rbac._validate_soft_budget() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION rbac._soft_budget_crossed(text, text, text, numeric, numeric, numeric, timestamptz),
  rbac._first_end_user_spend(text, numeric), rbac._budget_admin(text), rbac._duration_seconds(text, text),
  rbac._setting_fields(text) FROM PUBLIC;

SELECT rbac._secure_tables();
REVOKE ALL ON SEQUENCE rbac.budget_events_event_id_seq FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON rbac.budgets, rbac.settings TO rbac_admin;
GRANT SELECT ON rbac.budgets, rbac.settings, rbac.budget_events TO rbac_api;
-- tiers and settings: proxy admins and viewers (LiteLLM /budget/info is admin-only); written only through the
-- management functions. Budget events: admins and viewers, and the principal's own user and keys.
CREATE POLICY api_select ON rbac.budgets FOR SELECT TO rbac_api
  USING ((SELECT rbac._key_allows('/key/info')) AND (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer')));
CREATE POLICY api_select ON rbac.settings FOR SELECT TO rbac_api
  USING ((SELECT rbac._key_allows('/key/info')) AND (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer')));
CREATE POLICY api_select ON rbac.budget_events FOR SELECT TO rbac_api USING ((SELECT rbac._key_allows('/key/info')) AND (
  (SELECT rbac._principal_is('proxy_admin', 'proxy_admin_viewer'))
  OR (scope = 'user' AND subject = (SELECT rbac.current_principal_user_id()))
  OR (scope = 'key' AND subject = (SELECT (rbac.current_principal()).key_hash))
  OR (scope IN ('team', 'team_member') AND subject = ANY ((SELECT rbac._principal_admin_teams())::text[]))
  OR (scope = 'organization' AND subject = ANY ((SELECT rbac._principal_admin_orgs())::text[]))));

SELECT pg_catalog.pg_extension_config_dump('rbac.budgets', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.settings', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.budget_events', '');
SELECT pg_catalog.pg_extension_config_dump('rbac.budget_events_event_id_seq', '');

COMMENT ON TABLE rbac.budgets IS
  'Budget tiers (LiteLLM LiteLLM_BudgetTable): max_budget and soft_budget in USD per budget_duration, rpm_limit/tpm_limit per '
  '60-second window, max_parallel_requests (keys). Keys, team memberships, organizations and customers name one in budget_id '
  'and take each value they leave unset (docs/quotas.md "Budget tiers"). Managed with rbac.budget_new/update/delete/info/assign.';
COMMENT ON TABLE rbac.budget_events IS
  'One row each time a level''s period spend reached its soft_budget (USD), at most once per level, budget period '
  '(period_end, infinity without budget_duration) and soft budget; written by rbac.settle, announced with '
  'pg_notify(''rbac_budget'', row as JSON). LiteLLM soft-budget alerts.';
COMMENT ON TABLE rbac.settings IS
  'Management defaults and upper bounds in LiteLLM''s litellm_settings shapes (default_key_generate_params, '
  'upperbound_key_generate_params, default_internal_user_params, upperbound_internal_user_params, default_team_params, '
  'max_end_user_budget_id), read by the key/user/team/customer triggers. Set with rbac.setting_update.';
