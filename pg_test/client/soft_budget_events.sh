#!/usr/bin/env bash
# Soft-budget events are written exactly once per budget period under concurrent settles (docs/quotas.md "Soft
# budgets and alerts"). Real concurrent connections via pgbench against the cluster in PG* variables (pg_rbac
# installed): 16 clients make 320 consume + settle pairs of 0.01 USD on one team key (key soft_budget 1, team
# soft_budget 2, no hard budget). Exactly one key event (at spend 1.00) and one team event (at 2.00) must be written,
# and a session listening on channel rbac_budget must receive exactly those two notifications.
set -uo pipefail
fail=0
psql_q() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }
expect() { # label actual expected
  if [ "$2" = "$3" ]; then echo "ok   $1 ($2)"; else echo "FAIL $1: got '$2', expected '$3'"; fail=1; fi
}
tmp=$(mktemp -d)
listener=
cleanup() { [ -n "$listener" ] && kill "$listener" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

psql_q <<'SQL' || exit 1
DELETE FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-sbe-team-key-001');
DELETE FROM rbac.teams WHERE team_id = 't-sbe';
DELETE FROM rbac.budget_events WHERE subject IN ('t-sbe', rbac.hash_key('sk-sbe-team-key-001'));
INSERT INTO rbac.teams(team_id, soft_budget) VALUES ('t-sbe', 2);
INSERT INTO rbac.keys(key_hash, team_id, soft_budget) VALUES (rbac.hash_key('sk-sbe-team-key-001'), 't-sbe', 1);
SQL

# a listener: LISTEN now; its next command (after the load) prints what it received meanwhile
mkfifo "$tmp/listen.in"
psql -X -q -t -A <"$tmp/listen.in" >"$tmp/listen.out" 2>&1 &
listener=$!
exec 3>"$tmp/listen.in"
echo "LISTEN rbac_budget; SELECT 'listening';" >&3
for _ in $(seq 50); do grep -q listening "$tmp/listen.out" && break; sleep 0.1; done

cat > "$tmp/spend.sql" <<'SQL'
SELECT rbac.settle(reservation_id, 1, 1, 0.01)
FROM rbac.consume_quota('sk-sbe-team-key-001', '/chat/completions', 'gpt-4o', 1, 0, 0.01) WHERE allowed;
SQL
pgbench -n -c 16 -j 4 -t 20 -f "$tmp/spend.sql" >"$tmp/spend.log" 2>&1 || { cat "$tmp/spend.log"; fail=1; }

echo "SELECT 'done';" >&3
exec 3>&-
wait "$listener"; listener=

expect "key spend after 320 x 0.01" \
  "$(psql_q -c "SELECT spend FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-sbe-team-key-001')")" 3.20
expect "one key event, at the crossing (spend 1.00)" \
  "$(psql_q -c "SELECT string_agg(spend::text, ',') FROM rbac.budget_events WHERE scope = 'key' AND subject = rbac.hash_key('sk-sbe-team-key-001')")" 1.00
expect "one team event, at the crossing (spend 2.00)" \
  "$(psql_q -c "SELECT string_agg(spend::text, ',') FROM rbac.budget_events WHERE scope = 'team' AND subject = 't-sbe'")" 2.00
expect "notifications received on rbac_budget" "$(grep -c 'notification "rbac_budget"' "$tmp/listen.out")" 2
expect "the key's notification carries the event" \
  "$(grep -c "\"scope\" : \"key\", \"subject\" : \"$(psql_q -c "SELECT rbac.hash_key('sk-sbe-team-key-001')")\"" "$tmp/listen.out")" 1

psql_q <<'SQL' >/dev/null
DELETE FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-sbe-team-key-001');
DELETE FROM rbac.teams WHERE team_id = 't-sbe';
SQL
exit $fail
