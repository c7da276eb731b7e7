#!/usr/bin/env bash
# Per-backend policy caches must never serve stale policy (docs/semantics.md §4, issue: "a removed key must stop
# verifying at once, in every backend"). One long-lived session caches a key's policy; other connections
# change it and commit; the long-lived session must see each change on its very next call. A change that
# rolls back must not survive in the cache of the session that made it.
set -uo pipefail
out=$(psql -X -q -t -A -v ON_ERROR_STOP=1 2>&1 <<'SQL'
DELETE FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-coherence-key-0001');
DELETE FROM rbac.teams WHERE team_id = 't-coherence';
INSERT INTO rbac.teams(team_id, models) VALUES ('t-coherence', ARRAY['gpt-4o']);
INSERT INTO rbac.keys(key_hash, team_id, rpm_limit) VALUES (rbac.hash_key('sk-coherence-key-0001'), 't-coherence', 100);
SELECT 'warm:' || reason FROM rbac.rbac_check('sk-coherence-key-0001', '/chat/completions', 'gpt-4o');
\! psql -X -q -c "UPDATE rbac.keys SET blocked = true WHERE key_hash = rbac.hash_key('sk-coherence-key-0001')"
SELECT 'blocked elsewhere:' || reason FROM rbac.rbac_check('sk-coherence-key-0001', '/chat/completions', 'gpt-4o');
\! psql -X -q -c "UPDATE rbac.keys SET blocked = false WHERE key_hash = rbac.hash_key('sk-coherence-key-0001')"
SELECT 'unblocked elsewhere:' || reason FROM rbac.rbac_check('sk-coherence-key-0001', '/chat/completions', 'gpt-4o');
\! psql -X -q -c "UPDATE rbac.teams SET models = ARRAY['claude-3'] WHERE team_id = 't-coherence'"
SELECT 'team narrowed elsewhere:' || reason FROM rbac.rbac_check('sk-coherence-key-0001', '/chat/completions', 'gpt-4o');
\! psql -X -q -c "UPDATE rbac.keys SET rpm_limit = 0 WHERE key_hash = rbac.hash_key('sk-coherence-key-0001')"
SELECT 'rpm 0 elsewhere:' || reason FROM rbac.consume_quota('sk-coherence-key-0001', '/chat/completions', 'claude-3');
\! psql -X -q -c "DELETE FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-coherence-key-0001')"
SELECT 'deleted elsewhere:' || reason FROM rbac.rbac_check('sk-coherence-key-0001', '/chat/completions', 'claude-3');
\! psql -X -q -c "INSERT INTO rbac.keys(key_hash, team_id) VALUES (rbac.hash_key('sk-coherence-key-0001'), 't-coherence')"
SELECT 'recreated elsewhere:' || reason FROM rbac.rbac_check('sk-coherence-key-0001', '/chat/completions', 'claude-3');
BEGIN;
UPDATE rbac.keys SET blocked = true WHERE key_hash = rbac.hash_key('sk-coherence-key-0001');
SELECT 'blocked in my transaction:' || reason FROM rbac.rbac_check('sk-coherence-key-0001', '/chat/completions', 'claude-3');
ROLLBACK;
SELECT 'after my rollback:' || reason FROM rbac.rbac_check('sk-coherence-key-0001', '/chat/completions', 'claude-3');
DELETE FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-coherence-key-0001');
DELETE FROM rbac.teams WHERE team_id = 't-coherence';
SQL
)
expected='warm:ok
blocked elsewhere:key_blocked
unblocked elsewhere:ok
team narrowed elsewhere:team_model_access_denied
rpm 0 elsewhere:rate_limit_exceeded
deleted elsewhere:invalid_token
recreated elsewhere:ok
blocked in my transaction:key_blocked
after my rollback:ok'
if [ "$out" = "$expected" ]; then
  echo "cache coherence: all expectations met"
else
  echo "FAIL cache coherence"; diff <(echo "$expected") <(echo "$out"); exit 1
fi
