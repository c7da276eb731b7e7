-- pg_rbac 0.1.0 — exact quotas (CONTRACT §4): admission, settle, release, expiry.
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
-- rbac_check would), and releases what the reservation held there.
CREATE FUNCTION rbac._record_spend(p_scope text, p_id1 text, p_id2 text, p_spend numeric, p_release numeric)
RETURNS void LANGUAGE plpgsql AS $$
#variable_conflict use_variable
BEGIN
  CASE p_scope
  WHEN 'key' THEN
    UPDATE rbac.keys SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,
      budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,
      reserved = greatest(reserved - p_release, 0) WHERE key_hash = p_id1;
  WHEN 'team_member' THEN
    UPDATE rbac.team_members SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,
      budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,
      reserved = greatest(reserved - p_release, 0) WHERE team_id = p_id1 AND user_id = p_id2;
  WHEN 'team' THEN
    UPDATE rbac.teams SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,
      budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,
      reserved = greatest(reserved - p_release, 0) WHERE team_id = p_id1;
  WHEN 'organization' THEN
    UPDATE rbac.organizations SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,
      budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,
      reserved = greatest(reserved - p_release, 0) WHERE organization_id = p_id1;
  WHEN 'user' THEN
    UPDATE rbac.users SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,
      budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,
      reserved = greatest(reserved - p_release, 0) WHERE user_id = p_id1;
  WHEN 'end_user' THEN
    UPDATE rbac.end_users SET spend = CASE WHEN budget_reset_at <= now() THEN p_spend ELSE spend + p_spend END,
      budget_reset_at = CASE WHEN budget_reset_at <= now() THEN rbac.next_budget_reset(budget_duration, now()) ELSE budget_reset_at END,
      reserved = greatest(reserved - p_release, 0) WHERE end_user_id = p_id1;
  END CASE;
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
  UPDATE rbac.rate_windows w SET tokens = greatest(w.tokens + p_delta, 0)
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

-- A 429: retry_after_seconds is the time to the end of the refusing window; a parallel slot may free at any
-- moment (1 s); a budget frees only when spend is settled lower or the period ends (NULL: no useful hint).
CREATE FUNCTION rbac._quota_refusal(p_reason text, p_scope text, p_reset_at timestamptz, p_message text) RETURNS rbac.quota
LANGUAGE sql STABLE AS $$
  SELECT ROW(false, 429, p_reason, p_scope, NULL::uuid, 0::bigint, NULL::bigint, p_reset_at,
             CASE WHEN p_reset_at IS NOT NULL THEN greatest(1, ceil(extract(epoch FROM p_reset_at - now())))::int
                  WHEN p_reason = 'parallel_limit_exceeded' THEN 1 END,
             p_message)::rbac.quota
$$;

-- Admission of one request whose principal rbac_check already allowed (called by rbac.consume_quota, which
-- knows the principal's limits from its policy cache and passes only what applies):
--   p_budget_levels: levels with a max_budget, in lock order (key, team_member, team, organization, user, end_user);
--   p_parallel: the key has max_parallel_requests;
--   p_scopes/p_subjects/p_rpms/p_tpms/p_ords: the rate windows with a limit, sorted by (scope, subject) — the lock
--   order — with p_ords giving the order in which refusals are reported (key, user, team, team_member, ...).
CREATE FUNCTION rbac._admit(p_key_hash text, p_user_id text, p_team_id text, p_org_id text, p_end_user_id text,
                            p_model text, p_requests bigint, p_tokens bigint, p_cost numeric,
                            p_budget_levels text[], p_parallel boolean,
                            p_scopes text[], p_subjects text[], p_rpms bigint[], p_tpms bigint[], p_ords int[],
                            p_retried boolean DEFAULT false)
RETURNS rbac.quota LANGUAGE plpgsql AS $$
DECLARE
  lvl record;
  reserved_at text[] := '{}';
  got_slot boolean := false;
  fail_ord int; fail_scope text; fail_reset timestamptz;
  rem_requests bigint; rem_tokens bigint; first_reset timestamptz;
  used_r bigint; used_t bigint; window_end timestamptz; last_start timestamptz; expired boolean;
  n int;
  win rbac.rate_windows;
  tpm_scopes text[] := '{}'; tpm_subjects text[] := '{}'; tpm_starts timestamptz[] := '{}';
  res_id uuid;
BEGIN
  -- 1. budget reservations, level by level in lock order; a refusal undoes the earlier levels
  IF p_cost > 0 AND cardinality(p_budget_levels) > 0 THEN
    FOR lvl IN SELECT * FROM rbac._reservation_levels(ROW(NULL, 'open', now(), now(), p_key_hash, p_user_id, p_team_id, p_org_id,
                 p_end_user_id, NULL, 0, 0, 0, '{}', false, '{}', '{}', '{}', NULL)::rbac.reservations) LOOP
      CONTINUE WHEN NOT lvl.scope = ANY (p_budget_levels);
      IF NOT rbac._reserve(lvl.scope, lvl.id1, lvl.id2, p_cost, true) THEN
        PERFORM rbac._undo_admission(p_key_hash, p_user_id, p_team_id, p_org_id, p_end_user_id, reserved_at, p_cost, false);
        IF NOT p_retried AND p_key_hash IS NOT NULL AND rbac._expire_key_reservations(p_key_hash) > 0 THEN
          RETURN rbac._admit(p_key_hash, p_user_id, p_team_id, p_org_id, p_end_user_id, p_model, p_requests, p_tokens, p_cost,
                             p_budget_levels, p_parallel, p_scopes, p_subjects, p_rpms, p_tpms, p_ords, true);
        END IF;
        RETURN rbac._quota_refusal('budget_exceeded', lvl.scope, NULL,
          format('reserving %s USD would take the %s budget past max_budget', p_cost, lvl.scope));
      END IF;
      reserved_at := reserved_at || lvl.scope;
    END LOOP;
  END IF;

  -- 2. a parallel-request lease on the key (LiteLLM enforces max_parallel_requests for keys only, §12.15)
  IF p_parallel THEN
    UPDATE rbac.keys SET in_flight = in_flight + 1 WHERE key_hash = p_key_hash AND in_flight < max_parallel_requests;
    got_slot := FOUND;
    IF NOT got_slot THEN
      PERFORM rbac._undo_admission(p_key_hash, p_user_id, p_team_id, p_org_id, p_end_user_id, reserved_at, p_cost, false);
      IF NOT p_retried AND rbac._expire_key_reservations(p_key_hash) > 0 THEN
        RETURN rbac._admit(p_key_hash, p_user_id, p_team_id, p_org_id, p_end_user_id, p_model, p_requests, p_tokens, p_cost,
                           p_budget_levels, p_parallel, p_scopes, p_subjects, p_rpms, p_tpms, p_ords, true);
      END IF;
      RETURN rbac._quota_refusal('parallel_limit_exceeded', 'key', NULL,
        'max_parallel_requests requests are already in flight for this key');
    END IF;
  END IF;

  -- 3. rpm/tpm windows (p_scopes arrive sorted by scope, subject: the lock order). Every window but the last is
  --    locked and checked; the last is counted by one conditional upsert that locks, checks and counts at once;
  --    only then are the others counted. A refusal has changed no window.
  n := coalesce(cardinality(p_scopes), 0);
  FOR i IN 1 .. n LOOP
    IF (p_rpms[i] IS NOT NULL AND p_requests > p_rpms[i]) OR (p_tpms[i] IS NOT NULL AND p_tokens > p_tpms[i]) THEN
      fail_ord := least(fail_ord, p_ords[i]);   -- can never fit, even in a fresh window
    END IF;
  END LOOP;
  IF fail_ord IS NULL AND n > 1 THEN
    FOR i IN 1 .. n - 1 LOOP
      SELECT w.* INTO win FROM rbac.rate_windows w WHERE w.scope = p_scopes[i] AND w.subject = p_subjects[i] FOR UPDATE;
      IF NOT FOUND THEN
        INSERT INTO rbac.rate_windows(scope, subject, window_start) VALUES (p_scopes[i], p_subjects[i], now()) ON CONFLICT DO NOTHING;
        SELECT w.* INTO win FROM rbac.rate_windows w WHERE w.scope = p_scopes[i] AND w.subject = p_subjects[i] FOR UPDATE;
      END IF;
      expired := win.window_start <= now() - interval '60 seconds';
      used_r := CASE WHEN expired THEN 0 ELSE win.requests END + p_requests;
      used_t := CASE WHEN expired THEN 0 ELSE win.tokens END + p_tokens;
      window_end := CASE WHEN expired THEN now() ELSE win.window_start END + interval '60 seconds';
      IF (p_rpms[i] IS NOT NULL AND used_r > p_rpms[i]) OR (p_tpms[i] IS NOT NULL AND used_t > p_tpms[i]) THEN
        IF fail_ord IS NULL OR p_ords[i] < fail_ord THEN
          fail_ord := p_ords[i]; fail_scope := p_scopes[i]; fail_reset := window_end;
        END IF;
      END IF;
      rem_requests := least(rem_requests, p_rpms[i] - used_r);
      rem_tokens := least(rem_tokens, p_tpms[i] - used_t);
      first_reset := least(first_reset, window_end);
    END LOOP;
  END IF;
  IF fail_ord IS NULL AND n > 0 THEN
    INSERT INTO rbac.rate_windows AS w (scope, subject, window_start, requests, tokens)
    VALUES (p_scopes[n], p_subjects[n], now(), p_requests, p_tokens)
    ON CONFLICT (scope, subject) DO UPDATE SET
      window_start = CASE WHEN w.window_start <= now() - interval '60 seconds' THEN now() ELSE w.window_start END,
      requests = CASE WHEN w.window_start <= now() - interval '60 seconds' THEN 0 ELSE w.requests END + excluded.requests,
      tokens = CASE WHEN w.window_start <= now() - interval '60 seconds' THEN 0 ELSE w.tokens END + excluded.tokens
    WHERE (p_rpms[n] IS NULL OR CASE WHEN w.window_start <= now() - interval '60 seconds' THEN 0 ELSE w.requests END + excluded.requests <= p_rpms[n])
      AND (p_tpms[n] IS NULL OR CASE WHEN w.window_start <= now() - interval '60 seconds' THEN 0 ELSE w.tokens END + excluded.tokens <= p_tpms[n])
    RETURNING w.requests, w.tokens, w.window_start INTO used_r, used_t, last_start;
    IF FOUND THEN
      rem_requests := least(rem_requests, p_rpms[n] - used_r);
      rem_tokens := least(rem_tokens, p_tpms[n] - used_t);
      first_reset := least(first_reset, last_start + interval '60 seconds');
    ELSE
      fail_ord := p_ords[n]; fail_scope := p_scopes[n];
      SELECT w.window_start + interval '60 seconds' INTO fail_reset FROM rbac.rate_windows w
       WHERE w.scope = p_scopes[n] AND w.subject = p_subjects[n];
    END IF;
  END IF;
  IF fail_ord IS NOT NULL THEN
    IF fail_scope IS NULL THEN   -- a request larger than a whole window's limit
      SELECT p_scopes[i] INTO fail_scope FROM generate_subscripts(p_ords, 1) i WHERE p_ords[i] = fail_ord;
    END IF;
    PERFORM rbac._undo_admission(p_key_hash, p_user_id, p_team_id, p_org_id, p_end_user_id, reserved_at, p_cost, got_slot);
    RETURN rbac._quota_refusal('rate_limit_exceeded', fail_scope, coalesce(fail_reset, now() + interval '60 seconds'),
      format('rate limit exceeded for %s (limits per 60-second window)', fail_scope));
  END IF;
  IF n > 1 THEN
    UPDATE rbac.rate_windows w
       SET window_start = CASE WHEN w.window_start <= now() - interval '60 seconds' THEN now() ELSE w.window_start END,
           requests = CASE WHEN w.window_start <= now() - interval '60 seconds' THEN 0 ELSE w.requests END + p_requests,
           tokens = CASE WHEN w.window_start <= now() - interval '60 seconds' THEN 0 ELSE w.tokens END + p_tokens
      FROM unnest(p_scopes[1:n - 1], p_subjects[1:n - 1]) v(s, j)
     WHERE w.scope = v.s AND w.subject = v.j;
  END IF;
  -- tpm windows charged, for the correction at settle (their start after this admission)
  IF cardinality(array_remove(p_tpms, NULL)) > 0 THEN
    SELECT coalesce(array_agg(w.scope), '{}'), coalesce(array_agg(w.subject), '{}'), coalesce(array_agg(w.window_start), '{}')
      INTO tpm_scopes, tpm_subjects, tpm_starts
      FROM unnest(p_scopes, p_subjects, p_tpms) v(s, j, tpm)
      JOIN rbac.rate_windows w ON w.scope = v.s AND w.subject = v.j
     WHERE v.tpm IS NOT NULL;
  END IF;

  -- 4. the reservation that settle/release will close (tpm windows recorded for token correction)
  INSERT INTO rbac.reservations(expires_at, key_hash, user_id, team_id, organization_id, end_user_id, model, requests, tokens,
                                cost, budget_scopes, parallel_slot, rate_scopes, rate_subjects, rate_window_starts)
  VALUES (now() + rbac._reservation_ttl(),
          p_key_hash, p_user_id, p_team_id, p_org_id, p_end_user_id, p_model, p_requests, p_tokens,
          CASE WHEN cardinality(reserved_at) > 0 THEN p_cost ELSE 0 END, reserved_at, got_slot,
          tpm_scopes, tpm_subjects, tpm_starts)
  RETURNING reservation_id INTO res_id;

  RETURN ROW(true, 200, 'ok', NULL, res_id, rem_requests, rem_tokens, first_reset, NULL, NULL)::rbac.quota;
END $$;

-- Undoes a partial admission (budget levels reserved so far and the parallel slot), under the locks it holds.
CREATE FUNCTION rbac._undo_admission(p_key_hash text, p_user_id text, p_team_id text, p_org_id text, p_end_user_id text,
                                     p_reserved_at text[], p_cost numeric, p_slot boolean) RETURNS void LANGUAGE plpgsql AS $$
DECLARE lvl record;
BEGIN
  FOR lvl IN SELECT * FROM rbac._reservation_levels(ROW(NULL, 'open', now(), now(), p_key_hash, p_user_id, p_team_id, p_org_id,
               p_end_user_id, NULL, 0, 0, 0, '{}', false, '{}', '{}', '{}', NULL)::rbac.reservations) LOOP
    IF lvl.scope = ANY (p_reserved_at) THEN
      PERFORM rbac._reserve(lvl.scope, lvl.id1, lvl.id2, -p_cost, false);
    END IF;
  END LOOP;
  IF p_slot THEN
    UPDATE rbac.keys SET in_flight = greatest(in_flight - 1, 0) WHERE key_hash = p_key_hash;
  END IF;
END $$;

CREATE FUNCTION rbac._check_usage_arguments(p_prompt_tokens bigint, p_completion_tokens bigint, p_spend numeric)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF p_prompt_tokens IS NULL OR p_completion_tokens IS NULL OR p_prompt_tokens < 0 OR p_completion_tokens < 0 THEN
    RAISE EXCEPTION 'prompt_tokens and completion_tokens must be non-NULL and >= 0' USING ERRCODE = '22023';
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
  'reservation or negative/non-finite values. LiteLLM: update_spend + the v3 limiter''s post-call token reconciliation.';

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
  'stale reservations before refusing it. Returns the number released.';

CREATE FUNCTION rbac.purge_reservations(older_than interval DEFAULT interval '1 day') RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, rbac, pg_temp AS $$
  WITH gone AS (DELETE FROM rbac.reservations WHERE state <> 'open' AND coalesce(settled_at, created_at) < now() - older_than
                RETURNING 1)
  SELECT count(*) FROM gone
$$;
COMMENT ON FUNCTION rbac.purge_reservations(interval) IS
  'Deletes closed (settled, released or expired) reservations older than older_than (default 1 day); their usage is in '
  'rbac.spend_log and the entity spend columns. Returns the number deleted. Schedule it with rbac.expire_reservations.';

-- Open reservations are state a restore must keep (their holds are in the `reserved`/`in_flight` columns).
SELECT pg_catalog.pg_extension_config_dump('rbac.reservations', '');
