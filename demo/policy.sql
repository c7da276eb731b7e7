-- pg_rbac demo policy: "Acme Corp" runs a LiteLLM proxy in front of OpenAI, Anthropic, Azure OpenAI and AWS Bedrock.
--
-- This file is the whole LiteLLM configuration expressed as rows in schema `rbac`. Read it top to bottom: it is
-- ordered parents before children, because pg_rbac validates every write the moment it happens:
--
--   models (catalogue)  ->  organizations  ->  teams  ->  users  ->  memberships  ->  keys  ->  end users
--
--   * a team's `models` must lie within its organization's `models`, and its budget / rpm / tpm may not exceed
--     the organization's;
--   * a key's `models` must lie within its team's (or, for a key with no team, its organization's);
--   * a team member's `allowed_models` must lie within the team's;
--   * budgets are finite USD amounts >= 0, durations look like 30s, 1h, 1d, 7d, 1mo.
-- A write that breaks one of these rules fails with SQLSTATE 23514 and changes nothing (see the last section of
-- the demo output). Every change lands in rbac.audit_log in the same transaction.
--
-- Model lists everywhere follow LiteLLM: an empty list means "everything the parent allows", `*` or
-- `all-proxy-models` mean all models, `openai/*` is a provider wildcard (a bare name such as `gpt-4o` matches it
-- through rbac.models.provider), and a name that is an access group (rbac.models.access_groups) stands for every
-- model in that group.
--
-- Keys are stored only as sha256 hashes: rbac.hash_key('sk-...'). The plaintexts below are deliberately readable
-- because this is a demo; a real deployment would get them from rbac.key_generate(), which returns the
-- plaintext exactly once.

\set ON_ERROR_STOP 1
BEGIN;

---------------------------------------------------------------------------------------------------------------
-- 1. Model catalogue (LiteLLM model_list / LiteLLM_ProxyModelTable)
--    provider  : used to match a bare name against a provider wildcard (`gpt-4o` is an `openai/*` model)
--    access_groups : LiteLLM model_info.access_groups; a team or key may list the group name instead of models
--    costs     : USD per token (list prices), for the proxy to price a request before it calls rbac.settle() with the spend
---------------------------------------------------------------------------------------------------------------
INSERT INTO rbac.models (model_name, provider, access_groups, input_cost_per_token, output_cost_per_token) VALUES
  -- OpenAI
  ('gpt-4o',                 'openai',    ARRAY['production-models'],                 0.0000025,  0.00001),
  ('gpt-4o-mini',            'openai',    ARRAY['production-models', 'cheap-models'], 0.00000015, 0.0000006),
  ('o3-mini',                'openai',    ARRAY['beta-models'],                       0.0000011,  0.0000044),
  ('text-embedding-3-small', 'openai',    ARRAY['cheap-models'],                      0.00000002, 0),
  -- Anthropic
  ('claude-3-5-sonnet',      'anthropic', ARRAY['production-models', 'beta-models'],  0.000003,   0.000015),
  ('claude-3-haiku',         'anthropic', ARRAY['cheap-models'],                      0.00000025, 0.00000125),
  -- Azure OpenAI deployment (Acme's EU data-residency tenant)
  ('azure/gpt-4o',           'azure',     ARRAY['production-models'],                 0.0000025,  0.00001),
  -- Wildcard deployment: any Bedrock model id is routed to AWS (`bedrock/anthropic.claude-3-sonnet-...`)
  ('bedrock/*',              'bedrock',   '{}',                                       NULL,       NULL),
  -- Configured on the proxy for an evaluation, but NOT approved for Acme (not in the organization's list)
  ('gemini-2.0-flash',       'gemini',    '{}',                                       0.0000001,  0.0000004);

---------------------------------------------------------------------------------------------------------------
-- 2. Organization (LiteLLM_OrganizationTable): the outer fence. Nothing below it may exceed it.
--    models: every OpenAI and Anthropic model, the Azure deployment and anything on Bedrock - but not Gemini.
--    $5,000 a month (resets on the 1st, UTC), 2,000 requests and 4M tokens per minute across the whole company.
---------------------------------------------------------------------------------------------------------------
INSERT INTO rbac.organizations (organization_id, organization_alias, models, max_budget, spend, budget_duration,
                                rpm_limit, tpm_limit, metadata) VALUES
  ('acme', 'Acme Corp', ARRAY['openai/*', 'anthropic/*', 'azure/gpt-4o', 'bedrock/*'],
   5000, 1234.56, '1mo', 2000, 4000000, '{"cost_center": "CC-1000", "billing_contact": "finance@acme.example"}');

---------------------------------------------------------------------------------------------------------------
-- 3. Teams (LiteLLM_TeamTable), all inside Acme. Three different ways to say which models a team may use:
---------------------------------------------------------------------------------------------------------------
INSERT INTO rbac.teams (team_id, team_alias, organization_id, models, max_budget, spend, budget_duration,
                        rpm_limit, tpm_limit, blocked, metadata) VALUES
  -- provider wildcard + one named model: all OpenAI models, plus Claude 3.5 Sonnet (not Haiku, not Bedrock)
  ('team-research', 'Research', 'acme', ARRAY['openai/*', 'claude-3-5-sonnet'],
   1500, 412.80, '1mo', 600, 1000000, false, '{"slack": "#research-llm"}'),
  -- an access group: exactly the models tagged `cheap-models` (gpt-4o-mini, claude-3-haiku, text-embedding-3-small)
  ('team-support', 'Customer Support', 'acme', ARRAY['cheap-models'],
   300, 88.10, '1mo', 300, 500000, false, '{"slack": "#support-bots"}'),
  -- empty list: inherits the organization's models (pg_rbac fix: never more than the organization allows)
  ('team-platform', 'Platform Engineering', 'acme', '{}',
   2000, 640.00, '1mo', 1000, 2000000, false, '{"slack": "#platform"}'),
  -- has spent its whole budget for the month: every LLM call is refused (429) until the 1st
  ('team-marketing', 'Marketing', 'acme', ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-3-haiku'],
   150, 150.00, '1mo', 100, 200000, false, '{}'),
  -- blocked by security after a leaked key; all its keys stop working at once (401)
  ('team-interns', 'Summer Interns', 'acme', ARRAY['cheap-models'],
   50, 3.20, '1mo', 60, 100000, true, '{"blocked_reason": "key posted in a public repo, 2024-07-02"}');

---------------------------------------------------------------------------------------------------------------
-- 4. Users (LiteLLM_UserTable). user_role is the proxy-wide role that decides which routes a user may call:
--      proxy_admin          everything (except LiteLLM's master-key-only routes, which no key may call)
--      proxy_admin_viewer   read-only administration: spend reports, lists, info
--      internal_user        LLM routes, own keys, own spend
--      internal_user_viewer LLM routes, read-only views of own spend
--    Organization admins are internal users with an org_admin membership (section 5).
--    users.models / max_budget apply to a user's *personal* keys (keys without a team).
---------------------------------------------------------------------------------------------------------------
INSERT INTO rbac.users (user_id, user_alias, user_email, user_role, models, max_budget, spend) VALUES
  ('u-ada',    'Ada (platform lead)',      'ada@acme.example',    'proxy_admin',          '{}', NULL, 0),
  ('u-victor', 'Victor (finance auditor)', 'victor@acme.example', 'proxy_admin_viewer',   '{}', NULL, 0),
  ('u-olivia', 'Olivia (head of AI ops)',  'olivia@acme.example', 'internal_user',        '{}', NULL, 0),
  ('u-alice',  'Alice (research lead)',    'alice@acme.example',  'internal_user',        '{}', NULL, 0),
  ('u-bob',    'Bob (research intern)',    'bob@acme.example',    'internal_user',        '{}', NULL, 0),
  ('u-carol',  'Carol (support engineer)', 'carol@acme.example',  'internal_user',        '{}', NULL, 0),
  ('u-dave',   'Dave (support analyst)',   'dave@acme.example',   'internal_user_viewer', '{}', NULL, 0),
  -- `no-default-models`: Erin's personal keys may call nothing; only keys of her teams work
  ('u-erin',   'Erin (SRE)',               'erin@acme.example',   'internal_user',        ARRAY['no-default-models'], NULL, 0),
  -- a personal budget of $20, already spent
  ('u-frank',  'Frank (sales engineer)',   'frank@acme.example',  'internal_user',        '{}', 20, 20.15),
  -- personal keys limited to the `beta-models` access group (o3-mini, claude-3-5-sonnet)
  ('u-gina',   'Gina (beta tester)',       'gina@acme.example',   'internal_user',        ARRAY['beta-models'], NULL, 0);

---------------------------------------------------------------------------------------------------------------
-- 5. Memberships.
--    organization_members.user_role: org_admin (manages teams and users of the org), internal_user,
--    internal_user_viewer.
--    team_members: team role (admin/user), an optional per-member budget and an optional per-member model scope
--    (`allowed_models`, must lie within the team's models).
---------------------------------------------------------------------------------------------------------------
INSERT INTO rbac.organization_members (organization_id, user_id, user_role) VALUES
  ('acme', 'u-olivia', 'org_admin'),
  ('acme', 'u-alice',  'internal_user'),
  ('acme', 'u-bob',    'internal_user'),
  ('acme', 'u-carol',  'internal_user'),
  ('acme', 'u-dave',   'internal_user_viewer'),
  ('acme', 'u-erin',   'internal_user');

INSERT INTO rbac.team_members (team_id, user_id, role, max_budget, spend, allowed_models) VALUES
  ('team-research', 'u-alice', 'admin', NULL, 97.40, '{}'),
  -- Bob may use only the two cheapest reasoning/chat models of Research, and $40 of its budget
  ('team-research', 'u-bob',   'user',  40,   12.50, ARRAY['gpt-4o-mini', 'o3-mini']),
  -- Carol has used her whole $25 share of the Support budget
  ('team-support',  'u-carol', 'user',  25,   25.00, '{}'),
  ('team-support',  'u-dave',  'user',  NULL, 0,     '{}'),
  ('team-platform', 'u-erin',  'admin', NULL, 31.75, '{}'),
  ('team-platform', 'u-ada',   'admin', NULL, 0,     '{}');

---------------------------------------------------------------------------------------------------------------
-- 6. Virtual keys (LiteLLM_VerificationToken). key_name is LiteLLM's display form `sk-...` + last 4 characters.
--    A key inherits the limits of everything above it: the request must pass the key, its team, the member's
--    scope, the organization and (for personal keys) the user.
---------------------------------------------------------------------------------------------------------------

-- Personal keys (no team): the owner's role decides the routes, the owner's models/budget apply.
INSERT INTO rbac.keys (key_hash, key_name, key_alias, user_id) VALUES
  (rbac.hash_key('sk-acme-ada-admin-0001'),     'sk-...0001', 'ada-admin',     'u-ada'),
  (rbac.hash_key('sk-acme-victor-viewer-0002'), 'sk-...0002', 'victor-viewer', 'u-victor'),
  (rbac.hash_key('sk-acme-dave-viewer-0003'),   'sk-...0003', 'dave-viewer',   'u-dave'),
  (rbac.hash_key('sk-acme-erin-personal-0004'), 'sk-...0004', 'erin-personal', 'u-erin'),
  (rbac.hash_key('sk-acme-frank-personal-0005'),'sk-...0005', 'frank-personal','u-frank'),
  (rbac.hash_key('sk-acme-gina-personal-0006'), 'sk-...0006', 'gina-personal', 'u-gina');

-- An organization-scoped key (no team): limited by the organization's model list.
INSERT INTO rbac.keys (key_hash, key_name, key_alias, user_id, organization_id) VALUES
  (rbac.hash_key('sk-acme-olivia-orgadmin-0007'), 'sk-...0007', 'olivia-orgadmin', 'u-olivia', 'acme');

-- Team keys of team members.
INSERT INTO rbac.keys (key_hash, key_name, key_alias, user_id, team_id) VALUES
  (rbac.hash_key('sk-acme-alice-research-0008'), 'sk-...0008', 'alice-research', 'u-alice', 'team-research'),
  (rbac.hash_key('sk-acme-bob-research-0009'),   'sk-...0009', 'bob-research',   'u-bob',   'team-research'),
  (rbac.hash_key('sk-acme-carol-support-0010'),  'sk-...0010', 'carol-support',  'u-carol', 'team-support'),
  (rbac.hash_key('sk-acme-erin-platform-0011'),  'sk-...0011', 'erin-platform',  'u-erin',  'team-platform');

-- Service keys (no owner user: only LLM and info routes are open to them).
-- research-ci: narrower than its team (two models instead of `openai/*` + Sonnet)
INSERT INTO rbac.keys (key_hash, key_name, key_alias, team_id, models, rpm_limit, metadata) VALUES
  (rbac.hash_key('sk-acme-research-ci-0012'), 'sk-...0012', 'research-ci', 'team-research',
   ARRAY['gpt-4o-mini', 'text-embedding-3-small'], 120, '{"owner": "github-actions"}');
-- support-bot: LiteLLM key_type "llm_api" (allowed_routes = the llm_api_routes group), $100 a month
INSERT INTO rbac.keys (key_hash, key_name, key_alias, team_id, allowed_routes, max_budget, spend, budget_duration) VALUES
  (rbac.hash_key('sk-acme-support-bot-0013'), 'sk-...0013', 'support-bot', 'team-support',
   ARRAY['llm_api_routes'], 100, 37.20, '1mo');
-- chat-widget: the website's chat widget may call exactly one route
INSERT INTO rbac.keys (key_hash, key_name, key_alias, team_id, allowed_routes) VALUES
  (rbac.hash_key('sk-acme-chat-widget-0014'), 'sk-...0014', 'chat-widget', 'team-platform', ARRAY['/chat/completions']);
-- hackathon: a one-off $25 budget (no duration), already spent
INSERT INTO rbac.keys (key_hash, key_name, key_alias, user_id, team_id, models, max_budget, spend) VALUES
  (rbac.hash_key('sk-acme-hackathon-0015'), 'sk-...0015', 'hackathon-2024', 'u-erin', 'team-platform',
   ARRAY['gpt-4o', 'claude-3-5-sonnet'], 25, 25.37);
-- nightly-batch: $10 a day. Yesterday's run overspent (10.42 >= 10) but the period ended at midnight UTC:
-- the first check after budget_reset_at zeroes the spend and moves budget_reset_at to the next midnight.
INSERT INTO rbac.keys (key_hash, key_name, key_alias, team_id, max_budget, spend, budget_duration, budget_reset_at) VALUES
  (rbac.hash_key('sk-acme-nightly-batch-0016'), 'sk-...0016', 'nightly-batch', 'team-platform',
   10, 10.42, '1d', date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC');
-- contractor: expired three days ago (401 token_expired)
INSERT INTO rbac.keys (key_hash, key_name, key_alias, team_id, expires) VALUES
  (rbac.hash_key('sk-acme-contractor-0017'), 'sk-...0017', 'contractor-q2', 'team-research', now() - interval '3 days');
-- leaked: blocked by security (401 key_blocked); the team itself is fine
INSERT INTO rbac.keys (key_hash, key_name, key_alias, team_id, blocked, metadata) VALUES
  (rbac.hash_key('sk-acme-leaked-0018'), 'sk-...0018', 'platform-old', 'team-platform', true,
   '{"blocked_reason": "found in a pastebin dump"}');
-- keys of the blocked team and of the team that is out of budget
INSERT INTO rbac.keys (key_hash, key_name, key_alias, team_id) VALUES
  (rbac.hash_key('sk-acme-interns-0019'),   'sk-...0019', 'interns-shared',   'team-interns'),
  (rbac.hash_key('sk-acme-marketing-0020'), 'sk-...0020', 'marketing-copy',   'team-marketing');

---------------------------------------------------------------------------------------------------------------
-- 7. End users / customers (LiteLLM_EndUserTable): the `user` field of an API request, i.e. Acme's own
--    customers talking to the support bot. Rows are optional; they exist to restrict, budget or block a customer.
---------------------------------------------------------------------------------------------------------------
INSERT INTO rbac.end_users (end_user_id, alias, models, max_budget, spend, blocked) VALUES
  ('cust-globex',  'Globex (free tier)',      ARRAY['gpt-4o-mini'], NULL, 1.10, false),
  ('cust-initech', 'Initech (prepaid $5)',    '{}',                 5,    5.02, false),
  ('cust-spammer', 'Abusive signup #4411',    '{}',                 NULL, 0,    true);

COMMIT;
