-- pg_rbac — exact quotas (docs/semantics.md §10): settle, release, expiry. (The admission itself is a sequence of
-- prepared statements in src/quota/admission.rs, with the same locking rules.)
--
-- Exactness: every counter is changed under its row lock with the limit re-checked on the newest row version,
-- so with rpm_limit N at most N requests are admitted per window whatever the concurrency, and reserved + spend
-- never exceeds max_budget. All-or-nothing: a refusal undoes what the admission had reserved before returning
-- (compensation under the same locks, so the values are exactly as before). Transactional: everything happens
-- in the caller's transaction, so a rollback takes the consumption with it.
-- Lock order, the same in every function, so concurrent callers cannot deadlock: reservation row → keys →
-- team_members → teams → organizations → users → end_users → rate_windows (sorted by scope, subject).

-- How long an unsettled reservation holds its budget and parallel slot: the superuser-only setting
-- rbac.reservation_ttl (seconds, at least 1, default 600; registered by the library), so no caller can shorten it
-- to defeat max_parallel_requests or budget reservations.
CREATE FUNCTION rbac._reservation_ttl() RETURNS interval LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('rbac.reservation_ttl', true)::interval, interval '10 minutes')
$$;

-- The budget levels (names, tables, key columns, lock order) are defined once, by the enum Scope in src/scope.rs,
-- from which the Rust admission derives its statements. The three functions below branch per level in static SQL
-- (no dynamic SQL on the settle path, and released install scripts are never edited); the unit test
-- scope::tests::quota_sql_matches_scope fails, printing the expected text, when they are out of step with Scope.

-- Entity levels of a reservation, in lock order, with their ids.
CREATE FUNCTION rbac._reservation_levels(r rbac.reservations)
RETURNS TABLE(scope text, id1 text, id2 text) LANGUAGE sql IMMUTABLE AS $$
  SELECT * FROM (VALUES ('key', r.key_hash, NULL::text), ('team_member', r.team_id, r.user_id), ('team', r.team_id, NULL),
                        ('organization', r.organization_id, NULL), ('user', r.user_id, NULL), ('end_user', r.end_user_id, NULL)) v
  WHERE v.column2 IS NOT NULL AND (v.column1 <> 'team_member' OR v.column3 IS NOT NULL)
$$;

-- Adds (or, negative, refunds) a reservation at one level; with p_check the addition only happens when it
-- keeps spend + reserved within max_budget (a lapsed period counts as spend 0). Returns whether a row changed.
CREATE FUNCTION rbac._reserve(p_scope text, p_id1 text, p_id2 text, p_amount numeric, p_check boolean)
RETURNS boolean LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE n int;
BEGIN
  CASE p_scope
  WHEN 'key' THEN
    UPDATE rbac.keys SET reserved = greatest(reserved + p_amount, 0) WHERE key_hash = p_id1
      AND (NOT p_check OR (CASE WHEN budget_reset_at <= now() THEN 0 ELSE spend END) + reserved + p_amount <= max_budget);
  WHEN 'team_member' THEN
    UPDATE rbac.team_members SET reserved = greatest(reserved + p_amount, 0) WHERE team_id = p_id1 AND user_id = p_id2
      AND (NOT p_check OR (CASE WHEN budget_reset_at <= now() THEN 0 ELSE spend END) + reserved + p_amount <= max_budget);
  WHEN 'team' THEN
    UPDATE rbac.teams SET reserved = greatest(reserved + p_amount, 0) WHERE team_id = p_id1
      AND (NOT p_check OR (CASE WHEN budget_reset_at <= now() THEN 0 ELSE spend END) + reserved + p_amount <= max_budget);
  WHEN 'organization' THEN
    UPDATE rbac.organizations SET reserved = greatest(reserved + p_amount, 0) WHERE organization_id = p_id1
      AND (NOT p_check OR (CASE WHEN budget_reset_at <= now() THEN 0 ELSE spend END) + reserved + p_amount <= max_budget);
  WHEN 'user' THEN
    UPDATE rbac.users SET reserved = greatest(reserved + p_amount, 0) WHERE user_id = p_id1
      AND (NOT p_check OR (CASE WHEN budget_reset_at <= now() THEN 0 ELSE spend END) + reserved + p_amount <= max_budget);
  WHEN 'end_user' THEN
    UPDATE rbac.end_users SET reserved = greatest(reserved + p_amount, 0) WHERE end_user_id = p_id1
      AND (NOT p_check OR (CASE WHEN budget_reset_at <= now() THEN 0 ELSE spend END) + reserved + p_amount <= max_budget);
  END CASE;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n > 0;
END $$;

-- Records actual spend at one level, in the current budget period (a lapsed period is reset first, exactly as
-- rbac_check would), and releases what the reservation held there. A level whose period spend reaches its
-- soft_budget gets its once-per-period budget event (rbac._soft_budget_crossed, sql/055_budgets.sql) while this
-- transaction holds the level's row lock, so concurrent settles cannot both see the crossing as new; a customer
-- without a row gets one when a default customer tier is set (rbac._first_end_user_spend).
CREATE FUNCTION rbac._record_spend(p_scope text, p_id1 text, p_id2 text, p_spend numeric, p_release numeric)
RETURNS void LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE v_soft numeric; v_spend numeric; v_max numeric; v_period_end timestamptz;
BEGIN
  CASE p_scope
  WHEN 'key' THEN
    UPDATE rbac.keys SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,
      budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,
      reserved = greatest(reserved - p_release, 0) WHERE key_hash = p_id1
      RETURNING soft_budget, spend, max_budget, budget_reset_at INTO v_soft, v_spend, v_max, v_period_end;
  WHEN 'team_member' THEN
    UPDATE rbac.team_members SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,
      budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,
      reserved = greatest(reserved - p_release, 0) WHERE team_id = p_id1 AND user_id = p_id2
      RETURNING soft_budget, spend, max_budget, budget_reset_at INTO v_soft, v_spend, v_max, v_period_end;
  WHEN 'team' THEN
    UPDATE rbac.teams SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,
      budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,
      reserved = greatest(reserved - p_release, 0) WHERE team_id = p_id1
      RETURNING soft_budget, spend, max_budget, budget_reset_at INTO v_soft, v_spend, v_max, v_period_end;
  WHEN 'organization' THEN
    UPDATE rbac.organizations SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,
      budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,
      reserved = greatest(reserved - p_release, 0) WHERE organization_id = p_id1
      RETURNING soft_budget, spend, max_budget, budget_reset_at INTO v_soft, v_spend, v_max, v_period_end;
  WHEN 'user' THEN
    UPDATE rbac.users SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,
      budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,
      reserved = greatest(reserved - p_release, 0) WHERE user_id = p_id1
      RETURNING soft_budget, spend, max_budget, budget_reset_at INTO v_soft, v_spend, v_max, v_period_end;
  WHEN 'end_user' THEN
    UPDATE rbac.end_users SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,
      budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,
      reserved = greatest(reserved - p_release, 0) WHERE end_user_id = p_id1
      RETURNING soft_budget, spend, max_budget, budget_reset_at INTO v_soft, v_spend, v_max, v_period_end;
  END CASE;
  IF NOT FOUND THEN
    IF p_scope = 'end_user' THEN
      PERFORM rbac._first_end_user_spend(p_id1, p_spend);
    END IF;
  ELSIF v_soft IS NOT NULL AND v_spend >= v_soft THEN
    PERFORM rbac._soft_budget_crossed(p_scope, p_id1, p_id2, v_soft, v_spend, v_max, v_period_end);
  END IF;
END $$;

-- Gives back what an open reservation holds (budget at each level, the parallel slot, its estimated tokens in
-- the tpm windows it was counted in, if those windows are still current) and marks it p_state.
CREATE FUNCTION rbac._release(r rbac.reservations, p_state text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE lvl record;
BEGIN
  FOR lvl IN SELECT * FROM rbac._reservation_levels(r) LOOP
    IF lvl.scope = ANY (r.budget_scopes) THEN
      PERFORM rbac._reserve(lvl.scope, lvl.id1, lvl.id2, -r.cost, false);
    END IF;
  END LOOP;
  IF r.parallel_slot THEN
    UPDATE rbac.keys SET in_flight = greatest(in_flight - 1, 0) WHERE key_hash = r.key_hash;
  END IF;
  PERFORM rbac._adjust_window_tokens(r, -r.tokens);
  UPDATE rbac.reservations SET state = p_state, settled_at = now() WHERE reservation_id = r.reservation_id;
END $$;

-- Corrects the tokens a reservation counted in its tpm windows (only windows that have not rolled over).
CREATE FUNCTION rbac._adjust_window_tokens(r rbac.reservations, p_delta bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_delta = 0 OR cardinality(r.rate_scopes) = 0 THEN RETURN; END IF;
  PERFORM 1 FROM rbac.rate_windows w
    JOIN unnest(r.rate_scopes, r.rate_subjects) v(s, j) ON w.scope = v.s AND w.subject = v.j
    ORDER BY w.scope, w.subject FOR UPDATE OF w;
  -- numeric sum, clamped to bigint: a correction never overflows a window another request shares
  UPDATE rbac.rate_windows w SET tokens = least(greatest(w.tokens::numeric + p_delta, 0), 9223372036854775807)::bigint
    FROM unnest(r.rate_scopes, r.rate_subjects, r.rate_window_starts) v(s, j, ws)
    WHERE w.scope = v.s AND w.subject = v.j AND w.window_start = v.ws;
END $$;

-- Expires this key's open reservations older than rbac.reservation_ttl (they hold the same levels the caller
-- is locking, so the lock order is kept). Returns how many were released.
CREATE FUNCTION rbac._expire_key_reservations(p_key_hash text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE r rbac.reservations; n integer := 0;
BEGIN
  FOR r IN SELECT * FROM rbac.reservations WHERE key_hash = p_key_hash AND state = 'open' AND expires_at <= now()
           ORDER BY reservation_id FOR UPDATE SKIP LOCKED LOOP
    PERFORM rbac._release(r, 'expired');
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;

CREATE FUNCTION rbac._check_usage_arguments(p_prompt_tokens bigint, p_completion_tokens bigint, p_spend numeric)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF p_prompt_tokens IS NULL OR p_completion_tokens IS NULL OR p_prompt_tokens < 0 OR p_completion_tokens < 0 THEN
    RAISE EXCEPTION 'prompt_tokens and completion_tokens must be non-NULL and >= 0' USING ERRCODE = '22023';
  END IF;
  -- the same bound as consume_quota's token estimate (10^12 per request)
  IF p_prompt_tokens > 1000000000000 OR p_completion_tokens > 1000000000000 THEN
    RAISE EXCEPTION 'prompt_tokens and completion_tokens must be at most 10^12 each (got %, %)', p_prompt_tokens,
      p_completion_tokens USING ERRCODE = '22023';
  END IF;
  IF p_spend IS NULL OR p_spend::text IN ('NaN', 'Infinity', '-Infinity') OR p_spend < 0 THEN
    RAISE EXCEPTION 'spend must be a finite amount in USD >= 0 (got %)', p_spend USING ERRCODE = '22023';
  END IF;
END $$;

CREATE FUNCTION rbac.settle(reservation_id uuid, prompt_tokens bigint, completion_tokens bigint, spend numeric)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, rbac, pg_temp AS $$
#variable_conflict use_variable
DECLARE r rbac.reservations; lvl record;
BEGIN
  PERFORM rbac._check_usage_arguments(prompt_tokens, completion_tokens, spend);
  SELECT * INTO r FROM rbac.reservations res WHERE res.reservation_id = reservation_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no reservation %', reservation_id USING ERRCODE = '22023';
  END IF;
  IF r.state IN ('settled', 'released') THEN
    RETURN false;                         -- idempotent: the first settle (or a release) closed it
  END IF;
  -- an expired reservation gave its holds back already; the request still happened, so its spend is recorded
  FOR lvl IN SELECT * FROM rbac._reservation_levels(r) LOOP
    PERFORM rbac._record_spend(lvl.scope, lvl.id1, lvl.id2, spend,
                               CASE WHEN r.state = 'open' AND lvl.scope = ANY (r.budget_scopes) THEN r.cost ELSE 0 END);
  END LOOP;
  IF r.state = 'open' THEN
    IF r.parallel_slot THEN
      UPDATE rbac.keys SET in_flight = greatest(in_flight - 1, 0) WHERE key_hash = r.key_hash;
    END IF;
    PERFORM rbac._adjust_window_tokens(r, prompt_tokens + completion_tokens - r.tokens);
  END IF;
  INSERT INTO rbac.spend_log(request_id, key_hash, user_id, team_id, organization_id, end_user_id, model,
                             prompt_tokens, completion_tokens, spend)
  VALUES (r.reservation_id::text, r.key_hash, r.user_id, r.team_id, r.organization_id, r.end_user_id, r.model,
          prompt_tokens, completion_tokens, spend)
  ON CONFLICT (request_id) DO NOTHING;
  UPDATE rbac.reservations res SET state = 'settled', settled_at = now() WHERE res.reservation_id = r.reservation_id;
  RETURN true;
END $$;
COMMENT ON FUNCTION rbac.settle(uuid, bigint, bigint, numeric) IS
  'Records the actual usage of a request admitted by rbac.consume_quota: spend (USD, finite, >= 0) is added to every level '
  '(key, team member, team, organization, user, end user) in its current budget period, one rbac.spend_log row is written, '
  'the tpm windows are corrected from the estimate to prompt_tokens + completion_tokens, and the reservation and parallel '
  'slot are released. Idempotent: returns true when it settled now, false when the reservation was already settled or '
  'released. A reservation that expired (rbac.reservation_ttl) still records its spend. Errors: 22023 for an unknown '
  'reservation or negative/non-finite values, or token counts above 10^12. LiteLLM: update_spend + the v3 limiter''s post-call token reconciliation.';

CREATE FUNCTION rbac.release(reservation_id uuid) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, rbac, pg_temp AS $$
#variable_conflict use_variable
DECLARE r rbac.reservations;
BEGIN
  SELECT * INTO r FROM rbac.reservations res WHERE res.reservation_id = reservation_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no reservation %', reservation_id USING ERRCODE = '22023';
  END IF;
  IF r.state <> 'open' THEN
    RETURN false;
  END IF;
  PERFORM rbac._release(r, 'released');
  RETURN true;
END $$;
COMMENT ON FUNCTION rbac.release(uuid) IS
  'Cancels a request admitted by rbac.consume_quota that will not be settled: refunds its budget reservation at every level, '
  'frees its parallel slot and removes its estimated tokens from the current tpm windows (the request still counts '
  'towards rpm). Returns false when the reservation was no longer open. Errors: 22023 for an unknown reservation.';

CREATE FUNCTION rbac.expire_reservations(max_rows integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE r rbac.reservations; n integer := 0;
BEGIN
  IF max_rows IS NULL OR max_rows < 0 THEN
    RAISE EXCEPTION 'max_rows must be a number of reservations >= 0 (got %)', coalesce(max_rows::text, 'NULL')
      USING ERRCODE = '22023';
  END IF;
  FOR r IN SELECT * FROM rbac.reservations WHERE state = 'open' AND expires_at <= now()
           ORDER BY expires_at LIMIT max_rows FOR UPDATE SKIP LOCKED LOOP
    PERFORM rbac._release(r, 'expired');
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
COMMENT ON FUNCTION rbac.expire_reservations(integer) IS
  'Releases up to max_rows open reservations older than rbac.reservation_ttl (default 10 minutes): their budget holds and '
  'parallel slots return. Run it periodically (e.g. every minute from pg_cron); consume_quota also expires a key''s own '
  'stale reservations before refusing it. Returns the number released. Errors: 22023 for a NULL or negative max_rows.';

CREATE FUNCTION rbac.purge_reservations(older_than interval DEFAULT interval '1 day') RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, rbac, pg_temp AS $$
DECLARE n bigint;
BEGIN
  -- a negative age would reach into the future and delete every closed reservation at once
  IF older_than IS NULL OR older_than < interval '0' THEN
    RAISE EXCEPTION 'older_than must be an age >= 0 (got %)', coalesce(older_than::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  DELETE FROM rbac.reservations WHERE state <> 'open' AND coalesce(settled_at, created_at) < now() - older_than;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION rbac.purge_reservations(interval) IS
  'Deletes closed (settled, released or expired) reservations older than older_than (default 1 day); their usage is in '
  'rbac.spend_log and the entity spend columns. Returns the number deleted. Schedule it with rbac.expire_reservations. '
  'Errors: 22023 for a NULL or negative older_than.';

-- Open reservations are state a restore must keep (their holds are in the `reserved`/`in_flight` columns).
SELECT pg_catalog.pg_extension_config_dump('rbac.reservations', '');
