#!/usr/bin/env bash
# A refused management call (42501) fails its statement and rolls back its transaction, yet the decision log keeps a
# management_refused row (docs/explain-and-decision-log.md): the session's next decision that writes inserts it. One
# real session as a non-superuser login (member of rbac_api), with an uncaught error between two transactions.
set -uo pipefail
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
DROP ROLE IF EXISTS esc_proxy;
CREATE ROLE esc_proxy LOGIN IN ROLE rbac_api;
DELETE FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-esc-plain-user-0001');
DELETE FROM rbac.users WHERE user_id = 'u-esc';
INSERT INTO rbac.users(user_id, user_role) VALUES ('u-esc', 'internal_user');
INSERT INTO rbac.keys(key_hash, user_id) VALUES (rbac.hash_key('sk-esc-plain-user-0001'), 'u-esc');
SQL
before=$(psql -X -q -t -A -c "SELECT count(*) FROM rbac.decision_log WHERE reason = 'management_refused' AND user_id = 'u-esc'")
# the refused call (uncaught, as a proxy would see it), then an ordinary decision in the next transaction
out=$(psql -X -q -t -A -U esc_proxy -v ON_ERROR_STOP=0 2>&1 <<'SQL'
BEGIN;
SELECT allowed FROM rbac.authenticate('sk-esc-plain-user-0001');
SELECT rbac.team_new('t-esc-attempt');
COMMIT;
SELECT reason FROM rbac.rbac_check('sk-esc-plain-user-0001', '/chat/completions', 'gpt-4o');
BEGIN;
SELECT allowed FROM rbac.authenticate('sk-esc-plain-user-0001');
DO $$BEGIN RAISE EXCEPTION 'rbac.organization_delete: forged refusal' USING ERRCODE = '42501'; END$$;
COMMIT;
SELECT reason FROM rbac.rbac_check('sk-esc-plain-user-0001', '/chat/completions', 'gpt-4o');
SQL
)
after=$(psql -X -q -t -A -c "SELECT count(*) FROM rbac.decision_log WHERE reason = 'management_refused' AND user_id = 'u-esc'")
row=$(psql -X -q -t -A -c "SELECT route || '|' || db_user || '|' || (message LIKE '%only a proxy admin%')::text FROM rbac.decision_log
                           WHERE reason = 'management_refused' AND user_id = 'u-esc' ORDER BY logged_at DESC LIMIT 1")
team=$(psql -X -q -t -A -c "SELECT count(*) FROM rbac.teams WHERE team_id = 't-esc-attempt'")
forged=$(psql -X -q -t -A -c "SELECT count(*) FROM rbac.decision_log WHERE reason = 'management_refused' AND route = 'rbac.organization_delete' AND user_id = 'u-esc'")
psql -X -q -c "DELETE FROM rbac.keys WHERE key_hash = rbac.hash_key('sk-esc-plain-user-0001'); DELETE FROM rbac.users WHERE user_id = 'u-esc'; DROP ROLE esc_proxy" >/dev/null
fail=0
check() { if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got '$2', want '$3'"; fail=1; fi; }
check "the refusal reached the client" "$(echo "$out" | grep -c 'ERROR:  rbac.team_new')" "1"
check "no team was created" "$team" "0"
check "one management_refused row after the next decision" "$((after - before))" "1"
check "the row names the function, the login and the rule" "$row" "rbac.team_new|esc_proxy|true"
check "an error the caller raised itself, shaped like a refusal, adds no row" "$forged" "0"
if [ $fail -eq 0 ]; then echo "decision log escalation: all expectations met"; else exit 1; fi
