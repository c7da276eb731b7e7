-- Fixture for documentation examples (`fixture=litellm_tables`): a small LiteLLM proxy database for the
-- migration sketch of docs/litellm-migration.md. The tables keep LiteLLM's names and the columns the sketch reads,
-- with LiteLLM's types (Prisma: Float = double precision, DateTime = timestamp(3) without time zone, Json = jsonb)
-- and defaults; the rows include what real LiteLLM databases contain and a naive migration trips over:
--   * a team whose members_with_roles is LiteLLM's default '{}' (an object, not an array);
--   * a roster entry for a user that no longer exists, users with a NULL or unknown user_role;
--   * a key of the UI's pseudo-team `litellm-dashboard` (LiteLLM has no team row for it);
--   * keys whose LiteLLM key_type was expanded into allowed_routes (LiteLLM stores no key_type column);
--   * a deprecated key in its grace period, a customer with a budget row, a duplicated model deployment.
-- Keys are stored as LiteLLM stores them: the sha256 hex of the plaintext.
CREATE TABLE "LiteLLM_BudgetTable" (
  budget_id text PRIMARY KEY, max_budget double precision, soft_budget double precision, max_parallel_requests integer,
  tpm_limit bigint, rpm_limit bigint, model_max_budget jsonb, budget_duration text, budget_reset_at timestamp(3),
  allowed_models text[] DEFAULT '{}', created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  created_by text NOT NULL, updated_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_by text NOT NULL);
CREATE TABLE "LiteLLM_ProxyModelTable" (
  model_id text PRIMARY KEY, model_name text NOT NULL, litellm_params jsonb NOT NULL, model_info jsonb,
  created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, created_by text NOT NULL,
  updated_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_by text NOT NULL);
CREATE TABLE "LiteLLM_OrganizationTable" (
  organization_id text PRIMARY KEY, organization_alias text NOT NULL, budget_id text NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}', models text[], spend double precision NOT NULL DEFAULT 0,
  model_spend jsonb NOT NULL DEFAULT '{}', created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  created_by text NOT NULL, updated_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_by text NOT NULL);
CREATE TABLE "LiteLLM_TeamTable" (
  team_id text PRIMARY KEY, team_alias text, organization_id text, admins text[], members text[],
  members_with_roles jsonb NOT NULL DEFAULT '{}', metadata jsonb NOT NULL DEFAULT '{}', max_budget double precision,
  soft_budget double precision, spend double precision NOT NULL DEFAULT 0, models text[], max_parallel_requests integer,
  tpm_limit bigint, rpm_limit bigint, budget_duration text, budget_reset_at timestamp(3),
  blocked boolean NOT NULL DEFAULT false, team_member_permissions text[] DEFAULT '{}',
  created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE "LiteLLM_UserTable" (
  user_id text PRIMARY KEY, user_alias text, team_id text, organization_id text, teams text[] DEFAULT '{}',
  user_role text, max_budget double precision, spend double precision NOT NULL DEFAULT 0, user_email text, models text[],
  metadata jsonb NOT NULL DEFAULT '{}', max_parallel_requests integer, tpm_limit bigint, rpm_limit bigint,
  budget_duration text, budget_reset_at timestamp(3));
CREATE TABLE "LiteLLM_TeamMembership" (
  user_id text, team_id text, spend double precision NOT NULL DEFAULT 0, total_spend double precision NOT NULL DEFAULT 0,
  budget_id text, PRIMARY KEY (user_id, team_id));
CREATE TABLE "LiteLLM_OrganizationMembership" (
  user_id text, organization_id text, user_role text, spend double precision DEFAULT 0, budget_id text,
  PRIMARY KEY (user_id, organization_id));
CREATE TABLE "LiteLLM_VerificationToken" (
  token text PRIMARY KEY, key_name text, key_alias text, spend double precision NOT NULL DEFAULT 0, expires timestamp(3),
  models text[], aliases jsonb NOT NULL DEFAULT '{}', config jsonb NOT NULL DEFAULT '{}', user_id text, team_id text,
  permissions jsonb NOT NULL DEFAULT '{}', max_parallel_requests integer, metadata jsonb NOT NULL DEFAULT '{}',
  blocked boolean, tpm_limit bigint, rpm_limit bigint, max_budget double precision, budget_duration text,
  budget_reset_at timestamp(3), allowed_routes text[] DEFAULT '{}', budget_id text, organization_id text,
  created_at timestamp(3) DEFAULT CURRENT_TIMESTAMP, created_by text);
CREATE TABLE "LiteLLM_DeprecatedVerificationToken" (
  id text PRIMARY KEY, token text NOT NULL UNIQUE, active_token_id text NOT NULL, revoke_at timestamp(3) NOT NULL,
  created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE "LiteLLM_EndUserTable" (
  user_id text PRIMARY KEY, alias text, spend double precision NOT NULL DEFAULT 0, allowed_model_region text,
  default_model text, budget_id text, blocked boolean NOT NULL DEFAULT false);

INSERT INTO "LiteLLM_BudgetTable" (budget_id, max_budget, rpm_limit, tpm_limit, budget_duration, budget_reset_at, allowed_models, created_by, updated_by) VALUES
  ('b-org',  1000, 500, 1000000, '30d', '2030-01-01 00:00:00', '{}', 'admin', 'admin'),
  ('b-mem',  50,   NULL, NULL,   NULL,  NULL,                  '{gpt-4o}', 'admin', 'admin'),
  ('b-key',  NULL, 10,   NULL,   NULL,  NULL,                  '{}', 'admin', 'admin'),
  ('b-cust', 5,    NULL, NULL,   NULL,  NULL,                  '{}', 'admin', 'admin');
INSERT INTO "LiteLLM_ProxyModelTable" (model_id, model_name, litellm_params, model_info, created_at, created_by, updated_by) VALUES
  ('m-1', 'gpt-4o', '{"model": "openai/gpt-4o"}', '{"access_groups": ["prod"]}', '2025-01-01', 'admin', 'admin'),
  ('m-2', 'gpt-4o', '{"model": "azure/gpt-4o-eu"}', '{"access_groups": ["prod"]}', '2025-02-01', 'admin', 'admin'),
  ('m-3', 'claude-3-5-sonnet', '{"model": "anthropic/claude-3-5-sonnet-20240620"}', NULL, '2025-01-01', 'admin', 'admin');
INSERT INTO "LiteLLM_OrganizationTable" (organization_id, organization_alias, budget_id, models, spend, created_by, updated_by) VALUES
  ('org-1', 'Acme', 'b-org', '{gpt-4o,claude-3-5-sonnet}', 12.5, 'admin', 'admin');
INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, organization_id, members_with_roles, models, spend, team_member_permissions) VALUES
  ('team-a', 'Team A', 'org-1', '[{"role": "admin", "user_id": "u-1"}, {"role": "user", "user_id": "u-2"}, {"role": "user", "user_id": "u-gone"}]', '{gpt-4o}', 3.5, '{/key/generate}'),
  ('team-b', 'Team B', NULL, DEFAULT, '{}', 0, NULL);
INSERT INTO "LiteLLM_UserTable" (user_id, user_role, user_email, models, max_budget, spend) VALUES
  ('default_user_id', 'proxy_admin', NULL, '{}', NULL, 0),
  ('u-1', 'internal_user', 'one@acme.example', '{}', NULL, 1.25),
  ('u-2', NULL, 'two@acme.example', '{}', 20, 3.2),
  ('u-3', 'app_owner', NULL, '{}', NULL, 0);
INSERT INTO "LiteLLM_TeamMembership" (user_id, team_id, spend, budget_id) VALUES ('u-2', 'team-a', 3.2, 'b-mem');
INSERT INTO "LiteLLM_OrganizationMembership" (user_id, organization_id, user_role) VALUES ('u-1', 'org-1', 'org_admin'), ('u-2', 'org-1', NULL);
INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, user_id, team_id, models, spend, allowed_routes, budget_id, blocked, expires) VALUES
  (encode(sha256('sk-litellm-team-key-0001'::bytea), 'hex'), 'sk-...0001', 'u2-team-a', 'u-2', 'team-a', '{gpt-4o}', 0.4, '{}', NULL, NULL, NULL),
  (encode(sha256('sk-litellm-llm-api-0002'::bytea), 'hex'), 'sk-...0002', 'bot', NULL, 'team-a', '{}', 0, '{llm_api_routes}', 'b-key', false, NULL),
  (encode(sha256('sk-litellm-personal-0003'::bytea), 'hex'), 'sk-...0003', 'u3-personal', 'u-3', NULL, '{}', 0, '{}', NULL, NULL, '2020-01-01'),
  (encode(sha256('sk-litellm-ui-session-0004'::bytea), 'hex'), 'sk-...0004', NULL, 'default_user_id', 'litellm-dashboard', '{}', 0, '{}', NULL, NULL, NULL),
  (encode(sha256('sk-litellm-team-b-0005'::bytea), 'hex'), 'sk-...0005', 'team-b-key', NULL, 'team-b', '{}', 0, NULL, NULL, NULL, NULL);
INSERT INTO "LiteLLM_DeprecatedVerificationToken" (id, token, active_token_id, revoke_at) VALUES
  ('d-1', encode(sha256('sk-litellm-old-team-key-0000'::bytea), 'hex'), encode(sha256('sk-litellm-team-key-0001'::bytea), 'hex'),
   (now() AT TIME ZONE 'UTC') + interval '1 day');
INSERT INTO "LiteLLM_EndUserTable" (user_id, alias, spend, budget_id) VALUES ('cust-1', 'Customer One', 1.5, 'b-cust');
