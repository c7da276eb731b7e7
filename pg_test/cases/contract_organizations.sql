-- Contract scenario: organizations above teams.
-- A team inside an organization may not name models, a budget or an rpm limit beyond the organization's; the
-- rule is checked on every write (23514), including moving a team's models and narrowing the organization below
-- its teams. At request time the decision names the team's organization, and blocking the organization refuses
-- its teams' keys (organization_blocked).
-- See docs/concepts.md (Organizations, Write-time validation) and docs/litellm-migration.md (Deliberate
-- differences: organization, team and key models are enforced at request time and validated at write time).
INSERT INTO rbac.organizations(organization_id, models, max_budget, rpm_limit) VALUES ('org-1', ARRAY['gpt-4', 'gpt-3.5-turbo'], 100, 60);
SELECT pg_temp.expect_error('team model outside org', $$INSERT INTO rbac.teams(team_id, organization_id, models) VALUES ('t-x', 'org-1', ARRAY['gpt-4', 'claude-3-opus'])$$, '23514');
SELECT pg_temp.expect_error('team budget above org', $$INSERT INTO rbac.teams(team_id, organization_id, models, max_budget) VALUES ('t-y', 'org-1', ARRAY['gpt-4'], 101)$$, '23514');
SELECT pg_temp.expect_error('team rpm above org', $$INSERT INTO rbac.teams(team_id, organization_id, models, rpm_limit) VALUES ('t-z', 'org-1', ARRAY['gpt-4'], 61)$$, '23514');
INSERT INTO rbac.teams(team_id, organization_id, models, max_budget) VALUES ('t-ok', 'org-1', ARRAY['gpt-4'], 50);
SELECT pg_temp.expect_error('moving a team into a narrower org', $$UPDATE rbac.teams SET models = ARRAY['gpt-4', 'o1'] WHERE team_id = 't-ok'$$, '23514');
SELECT pg_temp.expect_error('narrowing an org below its teams', $$UPDATE rbac.organizations SET models = ARRAY['gpt-3.5-turbo'] WHERE organization_id = 'org-1'$$, '23514');
INSERT INTO rbac.keys(key_hash, team_id) VALUES (pg_temp.h('sk-case-org-team-01'), 't-ok');
SELECT pg_temp.expect_check('org team ok', 'sk-case-org-team-01', '/chat/completions', 'gpt-4', true, 'ok', 't-ok');
SELECT pg_temp.expect_eq('decision names the org', (SELECT organization_id FROM rbac.rbac_check('sk-case-org-team-01', '/chat/completions', 'gpt-4')), 'org-1');
UPDATE rbac.organizations SET blocked = true WHERE organization_id = 'org-1';
SELECT pg_temp.expect_check('org blocked', 'sk-case-org-team-01', '/chat/completions', 'gpt-4', false, 'organization_blocked');
