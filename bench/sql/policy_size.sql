-- Grows the policy-size fixture to :keys keys, :teams teams (one user and membership per team) and :orgs
-- organizations (100 teams each), from :prev_keys / :prev_teams / :prev_orgs. Key n belongs to team
-- ((n-1) % teams) + 1 and that team's user; team t belongs to organization ((t-1) / 100) + 1.
-- Bulk load: session_replication_role = replica skips the per-row validation and audit triggers (and FK checks;
-- the rows are consistent by construction), then VACUUM ANALYZE.
\set ON_ERROR_STOP 1
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO rbac.organizations (organization_id, models, max_budget)
  SELECT 'pol-org-' || g, '{}', 1000000000 FROM generate_series(:prev_orgs + 1, :orgs) g;
INSERT INTO rbac.teams (team_id, organization_id, models, max_budget)
  SELECT 'pol-team-' || g, 'pol-org-' || ((g - 1) / 100 + 1), ARRAY['gpt-4o', 'gpt-4o-mini'], 100000
  FROM generate_series(:prev_teams + 1, :teams) g;
INSERT INTO rbac.users (user_id, user_role, max_budget)
  SELECT 'pol-user-' || g, 'internal_user', 10000 FROM generate_series(:prev_teams + 1, :teams) g;
INSERT INTO rbac.team_members (team_id, user_id, role)
  SELECT 'pol-team-' || g, 'pol-user-' || g, 'user' FROM generate_series(:prev_teams + 1, :teams) g;
INSERT INTO rbac.keys (key_hash, key_alias, user_id, team_id, organization_id, max_budget)
  SELECT encode(sha256(convert_to('sk-bench-pol-' || n, 'UTF8')), 'hex'), 'pol-key-' || n,
         'pol-user-' || t, 'pol-team-' || t, 'pol-org-' || ((t - 1) / 100 + 1), 1000
  FROM (SELECT n, (n - 1) % :teams + 1 AS t FROM generate_series(:prev_keys + 1, :keys) n) s;
COMMIT;
VACUUM ANALYZE rbac.organizations;
VACUUM ANALYZE rbac.teams;
VACUUM ANALYZE rbac.users;
VACUUM ANALYZE rbac.team_members;
VACUUM ANALYZE rbac.keys;
