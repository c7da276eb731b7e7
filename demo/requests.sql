-- pg_rbac demo: real-shaped LiteLLM proxy requests against the Acme policy (demo/policy.sql), each decided by
--   rbac.rbac_check(token, route, model, end_user_id) -> rbac.decision
-- which is what a proxy (or a SQL client) calls before forwarding a request to the model provider.
\set ON_ERROR_STOP 1
\pset null ''
\pset footer off

\echo
\echo '=============================================================================================================='
\echo ' 1. Authorization decisions: SELECT ... FROM (VALUES ...) r CROSS JOIN LATERAL rbac.rbac_check(token, route, model, end_user)'
\echo '=============================================================================================================='

-- Results are kept in a table so demo.sh can count them afterwards (each check runs exactly once).
CREATE TABLE demo_decisions AS
SELECT r.n, r.label, r.route, r.model, r.end_user, d.*
FROM (VALUES
  -- n, label (who: what), token, route, model, end user (the request body's `user` field)
  -- ---- LLM calls that pass -------------------------------------------------------------------------------------
  ( 1, 'alice (Research): chat',                 'sk-acme-alice-research-0008', '/chat/completions',    'gpt-4o',            NULL),
  ( 2, 'alice (Research): Anthropic SDK',        'sk-acme-alice-research-0008', '/v1/messages',         'claude-3-5-sonnet', NULL),
  ( 3, 'alice (Research): reasoning model',      'sk-acme-alice-research-0008', '/v1/chat/completions', 'o3-mini',           NULL),
  ( 4, 'bob (Research): in his member scope',    'sk-acme-bob-research-0009',   '/chat/completions',    'o3-mini',           NULL),
  ( 5, 'research-ci: embeddings',                'sk-acme-research-ci-0012',    '/embeddings',          'text-embedding-3-small', NULL),
  ( 6, 'support-bot: answers customer Globex',   'sk-acme-support-bot-0013',    '/v1/chat/completions', 'gpt-4o-mini',       'cust-globex'),
  ( 7, 'erin (Platform): Azure OpenAI SDK',      'sk-acme-erin-platform-0011',  '/openai/deployments/azure/gpt-4o/chat/completions', 'azure/gpt-4o', NULL),
  ( 8, 'erin (Platform): Bedrock passthrough',   'sk-acme-erin-platform-0011',  '/bedrock/model/meta.llama3-70b-instruct-v1:0/converse', 'bedrock/meta.llama3-70b-instruct-v1:0', NULL),
  ( 9, 'chat-widget: its one allowed route',     'sk-acme-chat-widget-0014',    '/chat/completions',    'gpt-4o-mini',       NULL),
  (10, 'gina (personal): beta-models group',     'sk-acme-gina-personal-0006',  '/chat/completions',    'o3-mini',           NULL),
  (11, 'hackathon (no budget left): list models','sk-acme-hackathon-0015',      '/v1/models',           NULL,                NULL),
  -- ---- token problems (401) ------------------------------------------------------------------------------------
  (12, 'no Authorization header',                '',                            '/chat/completions',    'gpt-4o',            NULL),
  (13, 'mistyped key',                           'sk-acme-alice-research-0080', '/chat/completions',    'gpt-4o',            NULL),
  (14, 'an OpenAI key pasted by mistake',        'sk-proj-Zx81kQwErTy7uIoP0aSdF', '/chat/completions',  'gpt-4o',            NULL),
  (15, 'contractor key, expired 3 days ago',     'sk-acme-contractor-0017',     '/chat/completions',    'gpt-4o',            NULL),
  (16, 'leaked Platform key (blocked)',          'sk-acme-leaked-0018',         '/chat/completions',    'gpt-4o',            NULL),
  (17, 'key of the blocked Interns team',        'sk-acme-interns-0019',        '/chat/completions',    'gpt-4o-mini',       NULL),
  (18, 'support-bot: blocked customer',          'sk-acme-support-bot-0013',    '/chat/completions',    'gpt-4o-mini',       'cust-spammer'),
  -- ---- route gate (403) ----------------------------------------------------------------------------------------
  (19, 'chat-widget: /v1 path not in its list',  'sk-acme-chat-widget-0014',    '/v1/chat/completions', 'gpt-4o-mini',       NULL),
  (20, 'chat-widget: embeddings',                'sk-acme-chat-widget-0014',    '/embeddings',          'text-embedding-3-small', NULL),
  (21, 'support-bot (llm_api_routes): new key',  'sk-acme-support-bot-0013',    '/key/generate',        NULL,                NULL),
  -- ---- model gate (403): the first level that refuses names the reason -----------------------------------------
  (22, 'research-ci: model outside the key',     'sk-acme-research-ci-0012',    '/chat/completions',    'gpt-4o',            NULL),
  (23, 'alice (Research): Haiku not in team',    'sk-acme-alice-research-0008', '/v1/messages',         'claude-3-haiku',    NULL),
  (24, 'alice (Research): Bedrock not in team',  'sk-acme-alice-research-0008', '/bedrock/model/meta.llama3-70b-instruct-v1:0/converse', 'bedrock/meta.llama3-70b-instruct-v1:0', NULL),
  (25, 'support-bot: gpt-4o not cheap-models',   'sk-acme-support-bot-0013',    '/chat/completions',    'gpt-4o',            NULL),
  (26, 'bob (Research): outside member scope',   'sk-acme-bob-research-0009',   '/chat/completions',    'gpt-4o',            NULL),
  (27, 'erin (Platform): Gemini not in org',     'sk-acme-erin-platform-0011',  '/chat/completions',    'gemini-2.0-flash',  NULL),
  (28, 'olivia (org key): Gemini not in org',    'sk-acme-olivia-orgadmin-0007','/chat/completions',    'gemini-2.0-flash',  NULL),
  (29, 'erin (personal): no-default-models',     'sk-acme-erin-personal-0004',  '/chat/completions',    'gpt-4o-mini',       NULL),
  (30, 'gina (personal): outside beta-models',   'sk-acme-gina-personal-0006',  '/chat/completions',    'gpt-4o',            NULL),
  (31, 'support-bot: Globex is on mini only',    'sk-acme-support-bot-0013',    '/chat/completions',    'claude-3-haiku',    'cust-globex'),
  -- ---- budgets (429): spend >= max_budget at some level; scope names it ----------------------------------------
  (32, 'hackathon key: $25.37 of $25 spent',     'sk-acme-hackathon-0015',      '/chat/completions',    'gpt-4o',            NULL),
  (33, 'carol (Support): member budget used',    'sk-acme-carol-support-0010',  '/chat/completions',    'claude-3-haiku',    NULL),
  (34, 'Marketing: team budget used',            'sk-acme-marketing-0020',      '/chat/completions',    'gpt-4o-mini',       NULL),
  (35, 'frank (personal): user budget used',     'sk-acme-frank-personal-0005', '/chat/completions',    'gpt-4o-mini',       NULL),
  (36, 'support-bot: Initech prepaid $5 used',   'sk-acme-support-bot-0013',    '/chat/completions',    'gpt-4o-mini',       'cust-initech'),
  (37, 'hackathon: info routes ignore budgets',  'sk-acme-hackathon-0015',      '/key/info',            NULL,                NULL),
  -- ---- management API: who may administer what -----------------------------------------------------------------
  (38, 'ada (proxy_admin): create a key',        'sk-acme-ada-admin-0001',      '/key/generate',        NULL,                NULL),
  (39, 'ada (proxy_admin): create a team',       'sk-acme-ada-admin-0001',      '/team/new',            NULL,                NULL),
  (40, 'ada (proxy_admin): create an org',       'sk-acme-ada-admin-0001',      '/organization/new',    NULL,                NULL),
  (41, 'ada (proxy_admin): reset global spend',  'sk-acme-ada-admin-0001',      '/global/spend/reset',  NULL,                NULL),
  (42, 'olivia (org_admin): create a team',      'sk-acme-olivia-orgadmin-0007','/team/new',            NULL,                NULL),
  (43, 'olivia (org_admin): add a user',         'sk-acme-olivia-orgadmin-0007','/user/new',            NULL,                NULL),
  (44, 'olivia (org_admin): create an org',      'sk-acme-olivia-orgadmin-0007','/organization/new',    NULL,                NULL),
  (45, 'victor (admin viewer): spend by key',    'sk-acme-victor-viewer-0002',  '/global/spend/keys',   NULL,                NULL),
  (46, 'victor (admin viewer): create a key',    'sk-acme-victor-viewer-0002',  '/key/generate',        NULL,                NULL),
  (47, 'alice (internal_user): own new key',     'sk-acme-alice-research-0008', '/key/generate',        NULL,                NULL),
  (48, 'alice (internal_user): key info',        'sk-acme-alice-research-0008', '/key/info',            NULL,                NULL),
  (49, 'alice (internal_user): create a team',   'sk-acme-alice-research-0008', '/team/new',            NULL,                NULL),
  (50, 'alice (internal_user): global spend',    'sk-acme-alice-research-0008', '/global/spend/keys',   NULL,                NULL),
  (51, 'dave (internal viewer): create a key',   'sk-acme-dave-viewer-0003',    '/key/generate',        NULL,                NULL),
  (52, 'dave (internal viewer): own spend',      'sk-acme-dave-viewer-0003',    '/spend/keys',          NULL,                NULL)
) AS r(n, label, token, route, model, end_user)
CROSS JOIN LATERAL rbac.rbac_check(r.token, r.route, r.model, r.end_user) AS d;

SELECT n                                        AS "#",
       label                                    AS "request",
       CASE WHEN length(route) > 36 THEN left(route, 34) || '..' ELSE route END AS "route",
       CASE WHEN length(model) > 26 THEN left(model, 24) || '..' ELSE model END
         || CASE WHEN end_user IS NOT NULL THEN ' @' || end_user ELSE '' END AS "model @customer",
       CASE WHEN allowed THEN 'yes' ELSE 'NO' END AS "allowed",
       http_status                              AS "status",
       reason,
       team_id                                  AS "team",
       limit_scope                              AS "scope"
FROM demo_decisions
ORDER BY n;

\echo
\echo '--------------------------------------------------------------------------------------------------------------'
\echo ' Decisions by reason'
\echo '--------------------------------------------------------------------------------------------------------------'
SELECT reason, http_status AS status, count(*) AS requests, string_agg(n::text, ', ' ORDER BY n) AS "#"
FROM demo_decisions GROUP BY reason, http_status ORDER BY min(n);

\echo
\echo '=============================================================================================================='
\echo ' 2. Lazy budget reset: key "nightly-batch" ($10/day) overspent yesterday; its period ended at midnight UTC.'
\echo '    No cron job is needed: the first check after budget_reset_at zeroes spend and schedules the next reset.'
\echo '=============================================================================================================='
SELECT 'before' AS "when", spend, max_budget, budget_duration, budget_reset_at,
       CASE WHEN spend >= max_budget THEN 'yes' ELSE 'no' END AS "spend >= budget"
FROM rbac.keys WHERE key_alias = 'nightly-batch';

SELECT 'check' AS "step", CASE WHEN allowed THEN 'yes' ELSE 'NO' END AS allowed, http_status AS status, reason,
       limit_scope AS scope
FROM rbac.rbac_check('sk-acme-nightly-batch-0016', '/v1/chat/completions', 'gpt-4o-mini');

SELECT 'after' AS "when", spend, max_budget, budget_duration, budget_reset_at,
       CASE WHEN spend >= max_budget THEN 'yes' ELSE 'no' END AS "spend >= budget"
FROM rbac.keys WHERE key_alias = 'nightly-batch';

\echo
\echo '=============================================================================================================='
\echo ' 3. What if ... (inside a transaction that is rolled back)'
\echo '=============================================================================================================='
BEGIN;
CREATE TEMP TABLE what_if (step int, scenario text, allowed bool, status int, reason text, scope text) ON COMMIT DROP;
INSERT INTO what_if SELECT 1, 'today: alice (Research) chats with gpt-4o', allowed, http_status, reason, limit_scope
  FROM rbac.rbac_check('sk-acme-alice-research-0008', '/chat/completions', 'gpt-4o');
UPDATE rbac.organizations SET spend = max_budget WHERE organization_id = 'acme';
INSERT INTO what_if SELECT 2, 'Acme spends its whole $5,000 month', allowed, http_status, reason, limit_scope
  FROM rbac.rbac_check('sk-acme-alice-research-0008', '/chat/completions', 'gpt-4o');
UPDATE rbac.organizations SET blocked = true WHERE organization_id = 'acme';
INSERT INTO what_if SELECT 3, '... and finance suspends the organization', allowed, http_status, reason, limit_scope
  FROM rbac.rbac_check('sk-acme-alice-research-0008', '/chat/completions', 'gpt-4o');
SELECT step AS "#", scenario, CASE WHEN allowed THEN 'yes' ELSE 'NO' END AS allowed, status, reason, scope
FROM what_if ORDER BY step;
ROLLBACK;

\echo
\echo '=============================================================================================================='
\echo ' 4. Policy writes that break the model are refused, whoever makes them (plain DML by a DBA included)'
\echo '=============================================================================================================='
-- Runs one statement in a subtransaction and reports its SQLSTATE and message instead of failing.
CREATE FUNCTION pg_temp.attempt(stmt text, OUT code text, OUT msg text) LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  code := '00000';
  msg := 'accepted';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
END $$;

SELECT w.n AS "#", w.attempt, a.code AS sqlstate, a.msg AS message
FROM (VALUES
  (1, 'new team "Labs" using Gemini (not in the org)',
      $$INSERT INTO rbac.teams (team_id, organization_id, models) VALUES ('team-labs', 'acme', ARRAY['gemini-2.0-flash'])$$),
  (2, 'raise Research budget to $9,000 (org: $5,000)',
      $$UPDATE rbac.teams SET max_budget = 9000 WHERE team_id = 'team-research'$$),
  (3, 'let support-bot call gpt-4o (team: cheap-models)',
      $$UPDATE rbac.keys SET models = ARRAY['gpt-4o'] WHERE key_alias = 'support-bot'$$),
  (4, 'narrow Acme to OpenAI only (teams use Claude)',
      $$UPDATE rbac.organizations SET models = ARRAY['openai/*'] WHERE organization_id = 'acme'$$),
  (5, 'budget_duration "1h30m"',
      $$UPDATE rbac.keys SET budget_duration = '1h30m' WHERE key_alias = 'research-ci'$$),
  (6, 'store a plaintext key instead of its hash',
      $$INSERT INTO rbac.keys (key_hash, team_id) VALUES ('sk-acme-oops-plaintext-0099', 'team-platform')$$),
  (7, 'erase the audit trail',
      $$DELETE FROM rbac.audit_log$$),
  (8, 'a valid change: Research rpm 600 -> 800',
      $$UPDATE rbac.teams SET rpm_limit = 800 WHERE team_id = 'team-research'$$)
) AS w(n, attempt, stmt)
CROSS JOIN LATERAL pg_temp.attempt(w.stmt) AS a
ORDER BY w.n;

\echo
\echo ' Audit trail of the last change (rbac.audit_log, written in the same transaction):'
SELECT audit_id, db_user, action, table_name, object_id,
       before ->> 'rpm_limit' AS "rpm before", after ->> 'rpm_limit' AS "rpm after"
FROM rbac.audit_log ORDER BY audit_id DESC LIMIT 1;
