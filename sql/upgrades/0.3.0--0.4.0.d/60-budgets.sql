-- 0.4.0 budget tiers, soft budgets, defaults and upper bounds (new objects: 004_budget_schema.sql, 055_budgets.sql).
-- rbac._record_spend (sql/020_quota.sql) now notes soft-budget crossings and first-seen customers' spend.
-- Records actual spend at one level, in the current budget period (a lapsed period is reset first, exactly as
-- rbac_check would), and releases what the reservation held there. A level whose period spend reaches its
-- soft_budget gets its once-per-period budget event (rbac._soft_budget_crossed, sql/055_budgets.sql) while this
-- transaction holds the level's row lock, so concurrent settles cannot both see the crossing as new; a customer
-- without a row gets one when a default customer tier is set (rbac._first_end_user_spend).
CREATE OR REPLACE FUNCTION rbac._record_spend(p_scope text, p_id1 text, p_id2 text, p_spend numeric, p_release numeric)
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
