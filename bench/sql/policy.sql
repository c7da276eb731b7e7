-- pg_rbac benchmark policy (bench/run.sh loads it once, after CREATE EXTENSION pg_rbac).
-- Normal DML: the validation and audit triggers run, as for any DBA write. Only the 10k spread keys are
-- bulk-loaded with session_replication_role = replica (no per-row triggers), like the policy-size keys.
\set ON_ERROR_STOP 1
BEGIN;

-- Baseline table for the primary-key lookup workload: 1M rows.
CREATE TABLE bench_pk (id int PRIMARY KEY, v text);
INSERT INTO bench_pk SELECT g, md5(g::text) FROM generate_series(1, 1000000) g;

INSERT INTO rbac.models (model_name, provider) VALUES
  ('gpt-4o', 'openai'), ('gpt-4o-mini', 'openai'), ('claude-3-5-sonnet', 'anthropic');

-- The virtual key of the rbac_check workload sits in a realistic hierarchy: organization (provider wildcards),
-- team (explicit model list, budget), user (team member), key (inherits the team's models).
INSERT INTO rbac.organizations (organization_id, organization_alias, models, max_budget)
  VALUES ('bench-org', 'Benchmark Org', ARRAY['openai/*', 'anthropic/*'], 1000000000);
INSERT INTO rbac.teams (team_id, team_alias, organization_id, models, max_budget)
  VALUES ('bench-team', 'Benchmark Team', 'bench-org', ARRAY['gpt-4o', 'gpt-4o-mini'], 100000000);
INSERT INTO rbac.users (user_id, user_email, user_role, max_budget)
  VALUES ('bench-user', 'bench@example.test', 'internal_user', 100000000);
INSERT INTO rbac.team_members (team_id, user_id, role) VALUES ('bench-team', 'bench-user', 'user');
INSERT INTO rbac.keys (key_hash, key_alias, key_name, user_id, team_id, organization_id, max_budget)
  VALUES (rbac.hash_key('sk-bench-vk-0001'), 'bench-vk', 'sk-...0001', 'bench-user', 'bench-team', 'bench-org',
          1000000);

-- consume_quota on one hot key: every call is admitted (rpm limit far above what a run can reach) and
-- increments the same counter row.
INSERT INTO rbac.keys (key_hash, key_alias, rpm_limit)
  VALUES (rbac.hash_key('sk-bench-hot-0001'), 'bench-hot', 1000000000);

-- consume_quota + settle pairs: a key with a large budget (reserve, then record spend and a spend_log row).
INSERT INTO rbac.keys (key_hash, key_alias, max_budget)
  VALUES (rbac.hash_key('sk-bench-settle-0001'), 'bench-settle', 1000000000);

COMMIT;

-- consume_quota on 10k keys, one picked at random per transaction.
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO rbac.keys (key_hash, key_alias, rpm_limit)
  SELECT encode(sha256(convert_to('sk-bench-spread-' || g, 'UTF8')), 'hex'), 'bench-spread-' || g, 1000000000
  FROM generate_series(1, 10000) g;
COMMIT;

VACUUM ANALYZE bench_pk;
VACUUM ANALYZE rbac.keys;
