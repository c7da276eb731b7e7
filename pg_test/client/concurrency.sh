#!/usr/bin/env bash
# Multi-connection exactness tests for rbac.consume_quota (docs/semantics.md §10, issue: exact under concurrency).
# Real concurrent connections via pgbench against the cluster in PG* variables (with pg_rbac installed).
#   1. 16 clients make 3008 attempts (188 each) on one key with rpm_limit 500: exactly 500 are admitted.
#   2. 8 clients each reserve 0.15 USD against a 0.45 USD key budget: exactly 3 are admitted, reserved = 0.45.
#   3. Consumption inside a rolled-back transaction leaves every counter unchanged.
#   4. 16 clients make 640 consume + settle pairs of 0.01 USD on a 5 USD team budget: exactly 500 are admitted
#      and spend ends exactly at 5.00, with nothing left reserved.
set -uo pipefail
fail=0
psql_q() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }
expect() { # label actual expected
  if [ "$2" = "$3" ]; then echo "ok   $1 ($2)"; else echo "FAIL $1: got '$2', expected '$3'"; fail=1; fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

psql_q <<'SQL' || exit 1
DELETE FROM rbac.reservations; DELETE FROM rbac.rate_windows;
DELETE FROM rbac.keys WHERE key_hash IN (rbac.hash_key('sk-conc-rpm500-0001'), rbac.hash_key('sk-conc-budget045-01'), rbac.hash_key('sk-conc-team-spend-1'));
DELETE FROM rbac.teams WHERE team_id = 't-conc-spend'; DELETE FROM rbac.spend_log WHERE team_id = 't-conc-spend';
INSERT INTO rbac.keys(key_hash, rpm_limit) VALUES (rbac.hash_key('sk-conc-rpm500-0001'), 500);
INSERT INTO rbac.keys(key_hash, max_budget) VALUES (rbac.hash_key('sk-conc-budget045-01'), 0.45);
INSERT INTO rbac.teams(team_id, max_budget) VALUES ('t-conc-spend', 5);
INSERT INTO rbac.keys(key_hash, team_id) VALUES (rbac.hash_key('sk-conc-team-spend-1'), 't-conc-spend');
SQL

# 1. hot key, rpm 500: 16 clients x 188 attempts = 3008 >= 3000 attempts
cat > "$tmp/rpm.sql" <<'SQL'
SELECT allowed FROM rbac.consume_quota('sk-conc-rpm500-0001', '/chat/completions', 'gpt-4o');
SQL
pgbench -n -c 16 -j 4 -t 188 -f "$tmp/rpm.sql" >"$tmp/rpm.log" 2>&1 || { cat "$tmp/rpm.log"; fail=1; }
expect "rpm 500, 16 clients, 3008 attempts: admitted" \
  "$(psql_q -c "SELECT count(*) FROM rbac.reservations WHERE key_hash = rbac.hash_key('sk-conc-rpm500-0001')")" 500
expect "rpm window counter" \
  "$(psql_q -c "SELECT requests FROM rbac.rate_windows WHERE scope = 'key' AND subject = rbac.hash_key('sk-conc-rpm500-0001')")" 500

# 2. budget 0.45, 8 clients reserving 0.15 each
cat > "$tmp/budget.sql" <<'SQL'
SELECT allowed FROM rbac.consume_quota('sk-conc-budget045-01', '/chat/completions', 'gpt-4o', 1, 0, 0.15);
SQL
pgbench -n -c 8 -j 4 -t 1 -f "$tmp/budget.sql" >"$tmp/budget.log" 2>&1 || { cat "$tmp/budget.log"; fail=1; }
expect "budget 0.45, 8 x 0.15: admitted" \
  "$(psql_q -c "SELECT count(*) FROM rbac.reservations WHERE key_hash = rbac.hash_key('sk-conc-budget045-01')")" 3
expect "budget 0.45: reserved" \
  "$(psql_q -c "SELECT reserved FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-conc-budget045-01')")" 0.45

# 3. rolled-back consumption leaves counters unchanged
before=$(psql_q -c "SELECT (SELECT requests FROM rbac.rate_windows WHERE scope = 'key' AND subject = rbac.hash_key('sk-conc-rpm500-0001')) || '/' || (SELECT reserved FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-conc-budget045-01')) || '/' || (SELECT count(*) FROM rbac.reservations)")
inside=$(psql_q <<'SQL'
BEGIN;
UPDATE rbac.keys SET rpm_limit = 10000, max_budget = 100 WHERE key_hash IN (rbac.hash_key('sk-conc-rpm500-0001'), rbac.hash_key('sk-conc-budget045-01'));
SELECT allowed FROM rbac.consume_quota('sk-conc-rpm500-0001', '/chat/completions', 'gpt-4o');
SELECT allowed FROM rbac.consume_quota('sk-conc-budget045-01', '/chat/completions', 'gpt-4o', 1, 0, 5);
ROLLBACK;
SQL
)
expect "consumption inside the rolled-back transaction was admitted" "$(echo $inside | tr -d ' ')" "tt"
after=$(psql_q -c "SELECT (SELECT requests FROM rbac.rate_windows WHERE scope = 'key' AND subject = rbac.hash_key('sk-conc-rpm500-0001')) || '/' || (SELECT reserved FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-conc-budget045-01')) || '/' || (SELECT count(*) FROM rbac.reservations)")
expect "rollback leaves requests/reserved/reservations unchanged" "$after" "$before"

# 4. consume + settle pairs against a team budget of 5 USD: spend never passes it and lands exactly on it
cat > "$tmp/settle.sql" <<'SQL'
SELECT rbac.settle(q.reservation_id, 10, 5, 0.01) FROM rbac.consume_quota('sk-conc-team-spend-1', '/chat/completions', 'gpt-4o', 1, 15, 0.01) q WHERE q.allowed;
SQL
pgbench -n -c 16 -j 4 -t 40 -f "$tmp/settle.sql" >"$tmp/settle.log" 2>&1 || { cat "$tmp/settle.log"; fail=1; }
expect "team spend after 640 settled requests" "$(psql_q -c "SELECT spend || '/' || reserved FROM rbac.teams WHERE team_id = 't-conc-spend'")" "5.00/0.00"
expect "spend_log rows for the team" "$(psql_q -c "SELECT count(*) FROM rbac.spend_log WHERE team_id = 't-conc-spend'")" 500

# leave the database as we found it (other suites count rows)
psql_q >/dev/null <<'SQL'
DELETE FROM rbac.reservations WHERE key_hash IN (rbac.hash_key('sk-conc-rpm500-0001'), rbac.hash_key('sk-conc-budget045-01'), rbac.hash_key('sk-conc-team-spend-1'));
DELETE FROM rbac.rate_windows WHERE subject IN (rbac.hash_key('sk-conc-rpm500-0001'), rbac.hash_key('sk-conc-budget045-01'), rbac.hash_key('sk-conc-team-spend-1'), 't-conc-spend');
DELETE FROM rbac.keys WHERE key_hash IN (rbac.hash_key('sk-conc-rpm500-0001'), rbac.hash_key('sk-conc-budget045-01'), rbac.hash_key('sk-conc-team-spend-1'));
DELETE FROM rbac.teams WHERE team_id = 't-conc-spend';
DELETE FROM rbac.spend_log WHERE team_id = 't-conc-spend' OR key_hash IN (rbac.hash_key('sk-conc-rpm500-0001'), rbac.hash_key('sk-conc-budget045-01'), rbac.hash_key('sk-conc-team-spend-1'));
SQL
[ $fail -eq 0 ] && echo "concurrency: all expectations met"
exit $fail
