-- Scenario: rbac.explain and rbac.decision_log (docs/explain-and-decision-log.md).
-- * The explain-equals-check property: for every token (the seeded keys below, covering every rbac_check reason,
--   and every JWT fixture) and every route / model / customer combination, the last row of rbac.explain is
--   rbac_check's decision (reason, allowed, http_status, limit_scope, team).
-- * What-if: a policy change inside a savepoint changes the explanation; rolled back, it is gone.
-- * Who may explain: proxy_admin / proxy_admin_viewer principals (key allowing /key/info) and, without a principal,
--   rbac_admin; 42501 for everyone else. Run as rbac_api / rbac_admin, never as a superuser.
-- * The decision log: denials logged by default, admissions with 'all', nothing with 'off'; RLS as spend_log; a
--   non-superuser cannot change rbac.decision_log (42501); purge (rbac_admin only, 22023 for NULL/negative).

-- A policy covering every reason of rbac_check.
INSERT INTO rbac.models(model_name, access_groups) VALUES ('gpt-4o', '{grp-a}'), ('gpt-4o-mini', '{}'), ('claude-3', '{}');
INSERT INTO rbac.organizations(organization_id, models) VALUES ('x-org', '{gpt-4o,gpt-4o-mini}');
INSERT INTO rbac.organizations(organization_id, blocked) VALUES ('x-org-blocked', true);
INSERT INTO rbac.organizations(organization_id, max_budget, spend) VALUES ('x-org-broke', 5, 5);
INSERT INTO rbac.teams(team_id, organization_id, models) VALUES ('x-team', 'x-org', '{grp-a,gpt-4o-mini}');
INSERT INTO rbac.teams(team_id, organization_id, models) VALUES ('x-team-open', 'x-org', '{}');
INSERT INTO rbac.teams(team_id, blocked) VALUES ('x-team-blocked', true);
INSERT INTO rbac.teams(team_id, organization_id) VALUES ('x-team-in-blocked-org', 'x-org-blocked'),
  ('x-team-in-broke-org', 'x-org-broke');
INSERT INTO rbac.teams(team_id, max_budget, spend, budget_duration, budget_reset_at)
  VALUES ('x-team-lapsed', 1, 5, '1d', now() - interval '1 hour');
INSERT INTO rbac.users(user_id, user_role, models) VALUES ('x-admin', 'proxy_admin', '{}'), ('x-viewer', 'proxy_admin_viewer', '{}'),
  ('x-user', 'internal_user', '{}'), ('x-solo', 'internal_user', '{claude-3}'), ('x-nodefault', 'internal_user', '{no-default-models}');
INSERT INTO rbac.organization_members(organization_id, user_id, user_role) VALUES ('x-org', 'x-user', 'internal_user');
INSERT INTO rbac.team_members(team_id, user_id, role, allowed_models, max_budget, spend)
  VALUES ('x-team', 'x-user', 'user', '{gpt-4o}', 100, 0);
INSERT INTO rbac.end_users(end_user_id, models) VALUES ('x-cust', '{gpt-4o}');
INSERT INTO rbac.end_users(end_user_id, blocked) VALUES ('x-cust-blocked', true);
INSERT INTO rbac.end_users(end_user_id, max_budget, spend) VALUES ('x-cust-broke', 1, 1);
INSERT INTO rbac.keys(key_hash, user_id, team_id, models) VALUES
  (pg_temp.h('sk-x-admin-00001'), 'x-admin', NULL, '{}'),
  (pg_temp.h('sk-x-viewer-0001'), 'x-viewer', NULL, '{}'),
  (pg_temp.h('sk-x-member-0001'), 'x-user', 'x-team', '{all-team-models}'),
  (pg_temp.h('sk-x-keymodels01'), 'x-user', 'x-team', '{gpt-4o-mini}'),
  (pg_temp.h('sk-x-solo-000001'), 'x-solo', NULL, '{}'),
  (pg_temp.h('sk-x-nodefault01'), 'x-nodefault', NULL, '{}'),
  (pg_temp.h('sk-x-teamblock01'), NULL, 'x-team-blocked', '{}'),
  (pg_temp.h('sk-x-orgmodels01'), NULL, 'x-team-open', '{}'),
  (pg_temp.h('sk-x-orgblock001'), NULL, 'x-team-in-blocked-org', '{}'),
  (pg_temp.h('sk-x-orgbroke001'), NULL, 'x-team-in-broke-org', '{}'),
  (pg_temp.h('sk-x-lapsed-0001'), NULL, 'x-team-lapsed', '{}');
INSERT INTO rbac.keys(key_hash, blocked) VALUES (pg_temp.h('sk-x-blocked-001'), true);
INSERT INTO rbac.keys(key_hash, expires) VALUES (pg_temp.h('sk-x-expired-001'), now() - interval '1 day');
INSERT INTO rbac.keys(key_hash, max_budget, spend) VALUES (pg_temp.h('sk-x-broke-00001'), 1, 1);
INSERT INTO rbac.keys(key_hash, user_id, allowed_routes) VALUES (pg_temp.h('sk-x-routes-0001'), 'x-admin', '{/chat/completions}');
INSERT INTO pg_temp.tok(name, token) VALUES
  ('x_admin', 'sk-x-admin-00001'), ('x_viewer', 'sk-x-viewer-0001'), ('x_member', 'sk-x-member-0001'),
  ('x_keymodels', 'sk-x-keymodels01'), ('x_solo', 'sk-x-solo-000001'), ('x_nodefault', 'sk-x-nodefault01'),
  ('x_teamblock', 'sk-x-teamblock01'), ('x_orgmodels', 'sk-x-orgmodels01'), ('x_orgblock', 'sk-x-orgblock001'), ('x_orgbroke', 'sk-x-orgbroke001'),
  ('x_lapsed', 'sk-x-lapsed-0001'), ('x_blocked', 'sk-x-blocked-001'), ('x_expired', 'sk-x-expired-001'),
  ('x_broke', 'sk-x-broke-00001'), ('x_routes', 'sk-x-routes-0001'), ('x_unknown', 'sk-x-unknown-0001'),
  ('x_garbage', 'not-a-token'), ('x_empty', '');
-- the JWT fixtures' teams, so that their team selection has something to choose
INSERT INTO rbac.teams(team_id, models) VALUES ('team-alpha', '{gpt-4o-mini}'), ('team-beta', '{gpt-4o}');
GRANT SELECT ON pg_temp.tok TO rbac_admin;

-- The property, as rbac_admin (no principal): every token x route x model x customer.
SET LOCAL ROLE rbac_admin;
CREATE TEMP TABLE x_runs AS
WITH requests AS (
  SELECT t.name, t.token, r.route, m.model, e.end_user
  FROM pg_temp.tok t
  CROSS JOIN (VALUES ('/chat/completions'), ('/v1/models'), ('/key/generate'), ('/organization/new'), ('/key/info'),
                     ('/global/spend/logs')) r(route)
  CROSS JOIN (VALUES (NULL), ('gpt-4o'), ('gpt-4o-mini'), ('claude-3'), ('unknown-model')) m(model)
  CROSS JOIN (VALUES (NULL), ('x-cust'), ('x-cust-blocked'), ('x-cust-broke')) e(end_user)
)
SELECT q.name, q.route, q.model, q.end_user, c AS checked, l.gate, l.subject, l.passed, l.detail, l.steps
FROM requests q,
  LATERAL (SELECT x.gate, x.subject, x.passed, x.detail, count(*) OVER () AS steps
           FROM rbac.explain(q.token, q.route, q.model, q.end_user) x ORDER BY x.step DESC LIMIT 1) l,
  LATERAL rbac.rbac_check(q.token, q.route, q.model, q.end_user) c;
SELECT pg_temp.expect_eq('explain ran for every request', (SELECT count(*) FROM x_runs), (SELECT count(*) * 6 * 5 * 4 FROM pg_temp.tok));
SELECT pg_temp.expect_eq('the last explain row is the decision, for every request',
  (SELECT count(*) FROM x_runs
   WHERE gate IS DISTINCT FROM 'decision'
      OR subject IS DISTINCT FROM (checked).reason
      OR passed IS DISTINCT FROM (checked).allowed
      OR detail NOT LIKE format('http_status=%s limit_scope=%s user_id=%s team_id=%s %%', (checked).http_status,
           coalesce((checked).limit_scope, '(none)'), coalesce((checked).user_id, '(none)'), coalesce((checked).team_id, '(none)'))),
  0::bigint);
SELECT pg_temp.expect_eq('the steps before the decision all passed, except the one that refused',
  (SELECT count(*) FROM x_runs WHERE steps < 2), 0::bigint);
-- the seeded policy reaches every reason of rbac_check that a key or these JWTs can produce
SELECT pg_temp.expect_eq('reasons covered',
  (SELECT array_agg(r ORDER BY r COLLATE "C") FROM (SELECT DISTINCT (checked).reason AS r FROM x_runs) s
   WHERE r IN ('ok', 'missing_token', 'invalid_token', 'token_expired', 'key_blocked', 'team_blocked', 'organization_blocked',
               'end_user_blocked', 'route_not_allowed', 'key_model_access_denied', 'team_model_access_denied',
               'org_model_access_denied', 'user_model_access_denied', 'customer_model_access_denied', 'budget_exceeded')),
  ARRAY['budget_exceeded', 'customer_model_access_denied', 'end_user_blocked', 'invalid_token', 'key_blocked',
        'key_model_access_denied', 'missing_token', 'ok', 'org_model_access_denied', 'organization_blocked',
        'route_not_allowed', 'team_blocked', 'team_model_access_denied', 'token_expired', 'user_model_access_denied']);
SELECT pg_temp.expect_eq('budget scopes covered',
  (SELECT array_agg(DISTINCT (checked).limit_scope ORDER BY (checked).limit_scope) FROM x_runs WHERE (checked).limit_scope IS NOT NULL),
  ARRAY['end_user', 'key', 'organization']);

-- what the steps say
SELECT pg_temp.expect_eq('member: the team member list refuses, naming it',
  (SELECT detail FROM rbac.explain('sk-x-member-0001', '/chat/completions', 'gpt-4o-mini') WHERE gate = 'model' AND NOT passed),
  'no entry of [gpt-4o] allows gpt-4o-mini');
SELECT pg_temp.expect_eq('member: the team allows gpt-4o through its access group',
  (SELECT detail FROM rbac.explain('sk-x-member-0001', '/chat/completions', 'gpt-4o') WHERE gate = 'model' AND subject = 'team x-team'),
  'gpt-4o allowed by entry "grp-a" of [grp-a, gpt-4o-mini]');
SELECT pg_temp.expect_eq('budget: the exhausted level with its numbers',
  (SELECT detail FROM rbac.explain('sk-x-orgbroke001', '/chat/completions', 'gpt-4o') WHERE gate = 'budget' AND NOT passed),
  'spend >= max_budget: exhausted; spend 5, reserved 0, max_budget 5, budget_duration none, budget_reset_at none');
-- (the property's rbac_check calls reset the lapsed period: lapse it again)
UPDATE rbac.teams SET spend = 5, budget_reset_at = now() - interval '1 hour' WHERE team_id = 'x-team-lapsed';
SELECT pg_temp.expect_eq('a lapsed period counts as 0',
  (SELECT passed AND detail LIKE '%the period has lapsed: spend counts as 0; spend 5,%'
   FROM rbac.explain('sk-x-lapsed-0001', '/chat/completions', 'gpt-4o') WHERE gate = 'budget' AND subject = 'team x-team-lapsed'), true);
SELECT pg_temp.expect_eq('explain does not reset it', (SELECT spend FROM rbac.teams WHERE team_id = 'x-team-lapsed'), 5::numeric);
SELECT pg_temp.expect_eq('route: the rule that refused',
  (SELECT detail FROM rbac.explain('sk-x-routes-0001', '/key/generate', NULL) WHERE gate = 'route'),
  'role proxy_admin: the virtual key''s allowed_routes do not list it; key allowed_routes [/chat/completions]');
SELECT pg_temp.expect_eq('JWT: claims and role steps, never the token',
  (SELECT array_agg(gate ORDER BY step) FROM rbac.explain(pg_temp.tokn('kc_user_two_teams'), '/chat/completions', 'gpt-4o')),
  ARRAY['token', 'jwt', 'principal', 'role', 'team', 'blocked', 'route', 'model', 'budget', 'decision']);
SELECT pg_temp.expect_eq('JWT: the selected team',
  (SELECT subject FROM rbac.explain(pg_temp.tokn('kc_user_two_teams'), '/chat/completions', 'gpt-4o') WHERE gate = 'team'), 'team-beta');
SELECT pg_temp.expect_eq('no step shows a secret',
  (SELECT count(*) FROM pg_temp.tok t, LATERAL rbac.explain(t.token, '/chat/completions', 'gpt-4o') x
   WHERE length(t.token) > 10 AND (x.subject LIKE '%' || t.token || '%' OR x.detail LIKE '%' || t.token || '%'
      OR x.detail LIKE '%' || split_part(t.token, '.', 3) || '%' AND split_part(t.token, '.', 3) <> '')), 0::bigint);
SELECT pg_temp.expect_error('explain: empty route', $$SELECT * FROM rbac.explain('sk-x-admin-00001', '', NULL)$$, '22023');

-- What-if: change the policy in a savepoint, explain, roll back.
RESET ROLE;
SAVEPOINT what_if;
UPDATE rbac.team_members SET allowed_models = '{}' WHERE team_id = 'x-team' AND user_id = 'x-user';
SET LOCAL ROLE rbac_admin;
SELECT pg_temp.expect_eq('what-if: allowed once the member list is cleared',
  (SELECT passed FROM rbac.explain('sk-x-member-0001', '/chat/completions', 'gpt-4o-mini') WHERE gate = 'decision'), true);
RESET ROLE;
ROLLBACK TO SAVEPOINT what_if;
SET LOCAL ROLE rbac_admin;
SELECT pg_temp.expect_eq('what-if: the rollback restores the refusal',
  (SELECT subject FROM rbac.explain('sk-x-member-0001', '/chat/completions', 'gpt-4o-mini') WHERE gate = 'decision'),
  'team_model_access_denied');

-- Who may explain.
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_error('rbac_api without a principal', $$SELECT * FROM rbac.explain('sk-x-admin-00001', '/chat/completions', NULL)$$, '42501');
SELECT allowed FROM rbac.authenticate('sk-x-member-0001');
SELECT pg_temp.expect_error('an internal user, even for its own key', $$SELECT * FROM rbac.explain('sk-x-member-0001', '/chat/completions', NULL)$$, '42501');
SELECT allowed FROM rbac.authenticate('sk-x-routes-0001');
SELECT pg_temp.expect_error('a proxy admin whose key does not allow /key/info', $$SELECT * FROM rbac.explain('sk-x-member-0001', '/chat/completions', NULL)$$, '42501');
SELECT allowed FROM rbac.authenticate('sk-x-viewer-0001');
SELECT pg_temp.expect_eq('a proxy admin viewer may', (SELECT count(*) > 0 FROM rbac.explain('sk-x-member-0001', '/chat/completions', NULL)), true);
SELECT allowed FROM rbac.authenticate('sk-x-admin-00001');
SELECT pg_temp.expect_eq('a proxy admin may', (SELECT count(*) > 0 FROM rbac.explain('sk-x-member-0001', '/chat/completions', NULL)), true);
SELECT pg_temp.expect_error('the helper is closed', $$SELECT rbac._explain_steps('sk-x-member-0001', '/chat/completions', NULL)$$, '42501');
SELECT pg_temp.expect_error('the implementation is closed', $$SELECT * FROM rbac._explain('sk-x-member-0001', '/chat/completions', NULL)$$, '42501');

-- The decision log. The setting is superuser-only: neither the proxy nor rbac_admin can switch it off.
SELECT pg_temp.expect_eq('default is denied', current_setting('rbac.decision_log'), 'denied');
SELECT pg_temp.expect_error('rbac_api cannot switch logging off', $$SET rbac.decision_log = off$$, '42501');
SELECT pg_temp.expect_error('nor with set_config', $$SELECT set_config('rbac.decision_log', 'off', true)$$, '42501');
SET LOCAL ROLE rbac_admin;
SELECT pg_temp.expect_error('rbac_admin cannot either', $$SET LOCAL rbac.decision_log = off$$, '42501');
RESET ROLE;
DELETE FROM rbac.decision_log;
SET LOCAL ROLE rbac_api;
SELECT allowed FROM rbac.rbac_check('sk-x-member-0001', '/chat/completions', 'gpt-4o-mini', 'x-cust');
SELECT allowed FROM rbac.rbac_check('sk-x-member-0001', '/chat/completions', 'gpt-4o');
SELECT allowed FROM rbac.consume_quota('sk-x-broke-00001', '/chat/completions', 'gpt-4o');
SELECT allowed FROM rbac.consume_quota('sk-x-member-0001', '/chat/completions', 'gpt-4o');
SET LOCAL ROLE rbac_admin;
SELECT pg_temp.expect_eq('denied: the earlier refused explain calls (caught by the tests) are escalations',
  (SELECT count(*) FROM rbac.decision_log WHERE reason = 'management_refused' AND route = 'rbac.explain'), 3::bigint);
SELECT pg_temp.expect_eq('denied: the two denials, nothing else',
  (SELECT array_agg(format('%s %s %s %s %s %s %s %s', key_hash = pg_temp.h('sk-x-member-0001'), user_id, team_id, organization_id,
                           end_user_id, model, http_status, reason) ORDER BY reason) FROM rbac.decision_log
   WHERE reason <> 'management_refused'),
  ARRAY['f     gpt-4o 429 budget_exceeded',
        't x-user x-team x-org x-cust gpt-4o-mini 403 team_model_access_denied']);
RESET ROLE;
SET LOCAL rbac.decision_log = 'all';
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('all: consume_quota admits',
  (SELECT allowed FROM rbac.consume_quota('sk-x-member-0001', '/chat/completions', 'gpt-4o', 1, 10, 0.01) q), true);
SELECT allowed FROM rbac.rbac_check('sk-x-member-0001', '/chat/completions', 'gpt-4o');
SET LOCAL ROLE rbac_admin;
SELECT pg_temp.expect_eq('all: the admission with its reservation, the allowed check',
  (SELECT array_agg(format('%s %s %s %s', request_id IS NOT NULL, route, allowed, reason) ORDER BY request_id IS NULL)
   FROM rbac.decision_log WHERE allowed),
  ARRAY['t /chat/completions t ok', 'f /chat/completions t ok']);
SELECT pg_temp.expect_eq('the admission''s request_id is its reservation',
  (SELECT count(*) FROM rbac.decision_log d JOIN rbac.reservations r ON r.reservation_id::text = d.request_id), 1::bigint);
RESET ROLE;
SET LOCAL rbac.decision_log = off;
SET LOCAL ROLE rbac_api;
SELECT allowed FROM rbac.rbac_check('sk-x-blocked-001', '/chat/completions', 'gpt-4o');
RESET ROLE;
SELECT pg_temp.expect_eq('off: nothing logged', (SELECT count(*) FROM rbac.decision_log WHERE reason = 'key_blocked'), 0::bigint);
SET LOCAL rbac.decision_log = denied;
-- a read-only transaction is not written to (rbac_check still decides)
SAVEPOINT ro;
SET LOCAL transaction_read_only = on;
SELECT allowed FROM rbac.rbac_check('sk-x-blocked-001', '/chat/completions', 'gpt-4o');
ROLLBACK TO SAVEPOINT ro;

-- RLS as spend_log: the proxy admin principal (still authenticated above) reads every row, a user its own.
SET LOCAL ROLE rbac_api;
SELECT pg_temp.expect_eq('a proxy admin reads every row', (SELECT count(*) FROM rbac.decision_log),
  (SELECT count(*) FROM rbac.decision_log WHERE true));
SELECT pg_temp.expect_eq('... of several users', (SELECT count(DISTINCT coalesce(user_id, '-')) > 1 FROM rbac.decision_log), true);
SELECT allowed FROM rbac.authenticate('sk-x-member-0001');
SELECT pg_temp.expect_eq('a user reads its own decisions only',
  (SELECT bool_and(user_id = 'x-user') AND count(*) >= 1 FROM rbac.decision_log), true);
SELECT pg_temp.expect_error('the log is read-only to the proxy', $$DELETE FROM rbac.decision_log$$, '42501');
SELECT pg_temp.expect_error('rbac_api may not purge', $$SELECT rbac.purge_decision_log('1 day')$$, '42501');

-- Retention.
RESET ROLE;
INSERT INTO rbac.decision_log(logged_at, route, allowed, http_status, reason) VALUES (now() - interval '40 days', '/chat/completions', false, 403, 'key_blocked');
SET LOCAL ROLE rbac_admin;
SELECT pg_temp.expect_error('purge: NULL', $$SELECT rbac.purge_decision_log(NULL)$$, '22023');
SELECT pg_temp.expect_error('purge: negative', $$SELECT rbac.purge_decision_log('-1 day')$$, '22023');
SELECT pg_temp.expect_eq('purge: only the old row', rbac.purge_decision_log('30 days'), 1::bigint);
SELECT pg_temp.expect_eq('purge: the recent rows stay', (SELECT count(*) > 0 FROM rbac.decision_log), true);
RESET ROLE;

-- listing the models a token may call is no request for each of them: rbac.allowed_models logs nothing, even at 'all'
SET LOCAL rbac.decision_log = 'all';
SELECT set_config('cases.log_before', (SELECT count(*)::text FROM rbac.decision_log), true);
SELECT pg_temp.expect_eq('rbac_check at all: a row', (SELECT (rbac.rbac_check('sk-nobody-at-all-0001', '/chat/completions', 'gpt-4o')).reason), 'invalid_token');
SELECT pg_temp.expect_eq('... logged', (SELECT count(*) FROM rbac.decision_log) - current_setting('cases.log_before')::bigint, 1::bigint);
SELECT set_config('cases.log_before', (SELECT count(*)::text FROM rbac.decision_log), true);
SELECT pg_temp.expect_eq('the catalogue has models to list', (SELECT count(*) > 0 FROM rbac.models), true);
SELECT count(*) FROM rbac.allowed_models('sk-nobody-at-all-0001');
SELECT pg_temp.expect_eq('allowed_models wrote no decision row',
  (SELECT count(*) FROM rbac.decision_log) - current_setting('cases.log_before')::bigint, 0::bigint);
