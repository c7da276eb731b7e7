-- Soft budgets (docs/quotas.md "Soft budgets and alerts"): reaching a level's soft_budget writes one
-- rbac.budget_events row per budget period (and soft budget) at settle, never refuses anything; the next period
-- alerts again; the tier's soft budget counts; validation; events are visible per RLS. (Once-per-period under
-- concurrent settles: pg_test/client/soft_budget_events.sh.)
INSERT INTO rbac.models(model_name, provider) VALUES ('gpt-4o', 'openai');
INSERT INTO rbac.users(user_id, user_role, soft_budget) VALUES ('u-sb-admin', 'proxy_admin', NULL), ('u-sb-owner', 'internal_user', 2),
  ('u-sb-other', 'internal_user', NULL);
INSERT INTO rbac.organizations(organization_id, soft_budget) VALUES ('o-sb', 3);
INSERT INTO rbac.teams(team_id, organization_id, soft_budget) VALUES ('t-sb', 'o-sb', 1.5);
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-sb-admin-000001'), 'u-sb-admin');
-- (a period end that the 30d alignment cannot produce, so that the next period, which starts within this transaction's
-- now(), is told apart)
INSERT INTO rbac.keys(key_hash, user_id, team_id, max_budget, soft_budget, budget_duration, budget_reset_at)
  VALUES (pg_temp.h('sk-sb-team-key-001'), 'u-sb-owner', 't-sb', 10, 1, '30d', now() + interval '10 days 1 second');
INSERT INTO rbac.keys(key_hash, user_id, soft_budget) VALUES (pg_temp.h('sk-sb-own-key-0001'), 'u-sb-owner', 0.5);
INSERT INTO rbac.keys(key_hash, user_id) VALUES (pg_temp.h('sk-sb-other-key-01'), 'u-sb-other');

CREATE FUNCTION pg_temp.spend(p_key text, p_cost numeric) RETURNS text LANGUAGE plpgsql AS $$
DECLARE q rbac.quota;
BEGIN
  SELECT * INTO q FROM rbac.consume_quota(p_key, '/chat/completions', 'gpt-4o', 1, 0, p_cost);
  IF NOT q.allowed THEN RETURN q.reason || '/' || q.limit_scope; END IF;
  PERFORM rbac.settle(q.reservation_id, 1, 1, p_cost);
  RETURN 'ok';
END $$;
CREATE FUNCTION pg_temp.events(p_scope text) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(format('%s %s/%s', scope, spend, soft_budget), '; ' ORDER BY event_id), '')
  FROM rbac.budget_events WHERE scope = p_scope
$$;

-- below every soft budget: nothing
SELECT pg_temp.expect_eq('0.6 spent', pg_temp.spend('sk-sb-team-key-001', 0.6), 'ok');
SELECT pg_temp.expect_eq('no event below the soft budgets', (SELECT count(*) FROM rbac.budget_events), 0::bigint);
-- 1.2: the key's soft budget (1) is crossed, not the team's (1.5)
SELECT pg_temp.expect_eq('1.2 spent', pg_temp.spend('sk-sb-team-key-001', 0.6), 'ok');
SELECT pg_temp.expect_eq('key event', pg_temp.events('key'), 'key 1.2/1');
SELECT pg_temp.expect_eq('key event row',
  (SELECT row(subject, e.max_budget, period_end = k.budget_reset_at, event_type)::text FROM rbac.budget_events e, rbac.keys k
   WHERE e.scope = 'key' AND k.key_hash = e.subject), row(pg_temp.h('sk-sb-team-key-001'), 10::numeric, true, 'soft_budget_crossed')::text);
SELECT pg_temp.expect_eq('no team event yet', pg_temp.events('team'), '');
-- 1.8: the team's (1.5) is crossed; the key's fired already this period
SELECT pg_temp.expect_eq('1.8 spent', pg_temp.spend('sk-sb-team-key-001', 0.6), 'ok');
SELECT pg_temp.expect_eq('still one key event', pg_temp.events('key'), 'key 1.2/1');
SELECT pg_temp.expect_eq('team event', pg_temp.events('team'), 'team 1.8/1.5');
-- a soft budget never refuses: the hard budget (10) still admits
SELECT pg_temp.expect_eq('over the soft budget, within the hard one', pg_temp.spend('sk-sb-team-key-001', 1.0), 'ok');
SELECT pg_temp.expect_eq('organization event at 2.8? no: 3 not reached', pg_temp.events('organization'), '');
SELECT pg_temp.expect_eq('3.1 spent', pg_temp.spend('sk-sb-team-key-001', 0.3), 'ok');
SELECT pg_temp.expect_eq('organization event', pg_temp.events('organization'), 'organization 3.1/3');
-- the user's budget gates only keys without a team (docs/semantics.md §9.1), but its spend is recorded
-- everywhere, and so is its soft budget: crossed at 2.8 >= 2
SELECT pg_temp.expect_eq('user event', pg_temp.events('user'), 'user 2.8/2');

-- a new budget period alerts again; raising the soft budget alerts at the new threshold
UPDATE rbac.keys SET budget_reset_at = now() - interval '1 second' WHERE key_hash = pg_temp.h('sk-sb-team-key-001');
SELECT pg_temp.expect_eq('new period: 0.5 spent', pg_temp.spend('sk-sb-team-key-001', 0.5), 'ok');
SELECT pg_temp.expect_eq('no event at 0.5 of the new period', pg_temp.events('key'), 'key 1.2/1');
SELECT pg_temp.expect_eq('new period: 1.0 spent', pg_temp.spend('sk-sb-team-key-001', 0.5), 'ok');
SELECT pg_temp.expect_eq('second key event, new period', pg_temp.events('key'), 'key 1.2/1; key 1.0/1');
SELECT pg_temp.expect_eq('two periods', (SELECT count(DISTINCT period_end) FROM rbac.budget_events WHERE scope = 'key'), 2::bigint);
UPDATE rbac.keys SET soft_budget = 1.4 WHERE key_hash = pg_temp.h('sk-sb-team-key-001');
SELECT pg_temp.expect_eq('1.5 spent', pg_temp.spend('sk-sb-team-key-001', 0.5), 'ok');
SELECT pg_temp.expect_eq('raised soft budget alerts again', pg_temp.events('key'), 'key 1.2/1; key 1.0/1; key 1.5/1.4');

-- a key without a period (no budget_duration): once, ever
SELECT pg_temp.expect_eq('own key 0.5', pg_temp.spend('sk-sb-own-key-0001', 0.5), 'ok');
SELECT pg_temp.expect_eq('own key 0.6', pg_temp.spend('sk-sb-own-key-0001', 0.1), 'ok');
SELECT pg_temp.expect_eq('one event without a period',
  (SELECT string_agg(spend || ' ' || period_end, ',') FROM rbac.budget_events WHERE subject = pg_temp.h('sk-sb-own-key-0001')), '0.5 infinity');

-- the tier's soft budget counts for the levels that follow it
INSERT INTO rbac.budgets(budget_id, soft_budget) VALUES ('sb-tier', 0.2);
INSERT INTO rbac.end_users(end_user_id, budget_id) VALUES ('cust-sb', 'sb-tier');
SELECT pg_temp.expect_eq('customer spends 0.25',
  (SELECT rbac.settle(reservation_id, 1, 1, 0.25) FROM rbac.consume_quota('sk-sb-other-key-01', '/chat/completions', 'gpt-4o', 1, 0, 0.25, 'cust-sb')),
  true);
SELECT pg_temp.expect_eq('customer event from the tier''s soft budget', pg_temp.events('end_user'), 'end_user 0.25/0.2');

-- validation
SELECT pg_temp.expect_error('negative soft budget on a team', $$UPDATE rbac.teams SET soft_budget = -1 WHERE team_id = 't-sb'$$, '23514');
SELECT pg_temp.expect_error('NaN soft budget on a key', $$UPDATE rbac.keys SET soft_budget = 'NaN' WHERE key_hash = pg_temp.h('sk-sb-own-key-0001')$$, '23514');
SELECT pg_temp.expect_error('negative soft budget on a user', $$INSERT INTO rbac.users(user_id, soft_budget) VALUES ('u-sb-bad', -0.01)$$, '23514');
SELECT pg_temp.expect_eq('soft budget change audited',
  (SELECT after ->> 'soft_budget' FROM rbac.audit_log WHERE table_name = 'keys' AND object_id = pg_temp.h('sk-sb-team-key-001')
   ORDER BY audit_id DESC LIMIT 1), '1.4');

-- RLS, as non-superusers: the owner sees the events of its own user and key, another user none, an admin all
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('owner authenticates', (SELECT allowed FROM rbac.authenticate('sk-sb-own-key-0001')), true);
SELECT pg_temp.expect_eq('owner sees its user''s and this key''s events',
  (SELECT string_agg(scope, ',' ORDER BY scope) FROM rbac.budget_events), 'key,user');
SELECT pg_temp.expect_error('events are append-only for the API', $$DELETE FROM rbac.budget_events$$, '42501');
SELECT pg_temp.expect_eq('other user authenticates', (SELECT allowed FROM rbac.authenticate('sk-sb-other-key-01')), true);
SELECT pg_temp.expect_eq('another user sees none', (SELECT count(*) FROM rbac.budget_events), 0::bigint);
SELECT pg_temp.expect_eq('admin authenticates', (SELECT allowed FROM rbac.authenticate('sk-sb-admin-000001')), true);
SELECT pg_temp.expect_eq('admin sees all 8 events', (SELECT count(*) FROM rbac.budget_events), 8::bigint);
RESET ROLE;
