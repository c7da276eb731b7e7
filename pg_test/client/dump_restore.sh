#!/usr/bin/env bash
# pg_dump keeps policy, keys, spend and the audit trail (docs/semantics.md §13.3): dump a database with a policy and
# usage, restore it into a new database the documented way (docs/operations.md), and compare.
set -uo pipefail
fail=0
expect() { if [ "$2" = "$3" ]; then echo "ok   $1 ($2)"; else echo "FAIL $1: got '$2', expected '$3'"; fail=1; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"; dropdb --if-exists rbac_dump_src 2>/dev/null; dropdb --if-exists rbac_dump_dst 2>/dev/null' EXIT
dropdb --if-exists rbac_dump_src 2>/dev/null; dropdb --if-exists rbac_dump_dst 2>/dev/null
createdb rbac_dump_src && createdb rbac_dump_dst || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d rbac_dump_src -o /dev/null <<'SQL' || exit 1
CREATE EXTENSION pg_rbac;
INSERT INTO rbac.models(model_name, provider, access_groups) VALUES ('gpt-4o', 'openai', ARRAY['prod']), ('claude-3', 'anthropic', '{}');
INSERT INTO rbac.organizations(organization_id, models, max_budget) VALUES ('org-d', ARRAY['openai/*'], 100);
INSERT INTO rbac.teams(team_id, organization_id, models, max_budget) VALUES ('t-d', 'org-d', ARRAY['prod'], 50);
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-d', 'internal_user');
INSERT INTO rbac.team_members(team_id, user_id) VALUES ('t-d', 'u-d');
INSERT INTO rbac.keys(key_hash, user_id, team_id, max_budget) VALUES (rbac.hash_key('sk-dump-restore-0001'), 'u-d', 't-d', 10);
INSERT INTO rbac.route_groups(group_name, pattern) VALUES ('my_routes', '/custom/*');
INSERT INTO rbac.jwt_issuers(issuer, jwks, audiences) VALUES ('https://idp.dump.test', '{"keys": []}', ARRAY['aud']);
INSERT INTO rbac.budgets(budget_id, rpm_limit, soft_budget) VALUES ('tier-d', 7, 1);
UPDATE rbac.keys SET budget_id = 'tier-d';
INSERT INTO rbac.settings(name, value) VALUES ('upperbound_key_generate_params', '{"max_budget": 5}');
SELECT rbac.settle(q.reservation_id, 10, 5, 1.25) FROM rbac.consume_quota('sk-dump-restore-0001', '/chat/completions', 'gpt-4o', 1, 15, 2) q;
SQL
pg_dump -Fc -d rbac_dump_src -f "$tmp/dump" || exit 1
PGOPTIONS='-c session_replication_role=replica' pg_restore -d rbac_dump_dst "$tmp/dump" 2>"$tmp/restore.err"
expect "pg_restore exit status" "$?" 0
[ -s "$tmp/restore.err" ] && head -5 "$tmp/restore.err"
summary="SELECT (SELECT count(*) FROM rbac.keys) || '/' || (SELECT count(*) FROM rbac.teams) || '/' || (SELECT count(*) FROM rbac.models)
  || '/' || (SELECT count(*) FROM rbac.route_groups) || '/' || (SELECT count(*) FROM rbac.jwt_issuers)
  || '/' || (SELECT spend FROM rbac.keys) || '/' || (SELECT spend FROM rbac.teams) || '/' || (SELECT count(*) FROM rbac.spend_log)
  || '/' || (SELECT count(*) FROM rbac.audit_log) || '/' || (SELECT count(*) FROM rbac.reservations)"
src=$(psql -X -t -A -d rbac_dump_src -c "$summary")
dst=$(psql -X -t -A -d rbac_dump_dst -c "$summary")
expect "keys/teams/models/route groups/issuers/key spend/team spend/spend_log/audit rows/reservations survive" "$dst" "$src"
tiers="SELECT string_agg(b.budget_id || ' ' || k.rpm_limit || ' ' || k.max_budget || ' ' || array_to_string(k.budget_fields, ','), ';')
  || '/' || (SELECT count(*) FROM rbac.settings) || '/' || (SELECT string_agg(scope || ' ' || spend, ';') FROM rbac.budget_events)
  FROM rbac.budgets b JOIN rbac.keys k ON k.budget_id = b.budget_id"
expect "budget tiers, settings and budget events survive (a key above a later bound included)" \
  "$(psql -X -t -A -d rbac_dump_dst -c "$tiers")" "tier-d 7 10 soft_budget,rpm_limit/1/key 1.25"
expect "the restored key decides as before" \
  "$(psql -X -t -A -d rbac_dump_dst -c "SELECT reason || '/' || team_id FROM rbac.rbac_check('sk-dump-restore-0001', '/chat/completions', 'gpt-4o')")" "ok/t-d"
expect "the restored access group applies" \
  "$(psql -X -t -A -d rbac_dump_dst -c "SELECT reason FROM rbac.rbac_check('sk-dump-restore-0001', '/chat/completions', 'claude-3')")" "team_model_access_denied"
expect "new audit rows continue after the restored ones" \
  "$(psql -X -q -t -A -d rbac_dump_dst -c "INSERT INTO rbac.users(user_id) VALUES ('u-after-restore'); SELECT count(*) FROM rbac.audit_log WHERE object_id = 'u-after-restore'")" 1
[ $fail -eq 0 ] && echo "dump/restore: all expectations met"
exit $fail
