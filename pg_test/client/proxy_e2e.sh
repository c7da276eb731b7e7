#!/usr/bin/env bash
# End-to-end test of pg-rbac-proxy (proxy/, docs/proxy.md) against the cluster in the PG* variables (superuser,
# pg_rbac created): builds the proxy, creates its login role (rbac_api), loads pg_test/proxy/policy.sql, starts
# the mock upstream (pg_test/proxy/mock_upstream.py), the proxy, and a second proxy whose database is a closed
# port, then runs pg_test/proxy/test_proxy.py — the official openai and anthropic Python clients as callers
# (installed into a venv under ~/.cache/pg_rbac once). Loopback only. Every process it starts is stopped on exit.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=pg_test/proxy/lib.sh
source "$root/pg_test/proxy/lib.sh"

passed=0; failed=0
step() { if [ "$1" -eq 0 ]; then passed=$((passed+1)); echo "ok   $2"; else failed=$((failed+1)); echo "FAIL $2"; fi; }
finish() {
  echo "proxy e2e: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

tmp=$(mktemp -d /tmp/pg_rbac-proxy-e2e.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building pg-rbac-proxy (cargo build --release --manifest-path proxy/Cargo.toml)"
bin=$(build_proxy "$root" "$tmp/build.log"); step $? "proxy builds"
[ -n "$bin" ] && [ -x "$bin" ] || finish
cargo test --release --manifest-path "$root/proxy/Cargo.toml" >"$tmp/unit.log" 2>&1; rc=$?
grep '^test result' "$tmp/unit.log"; [ $rc -eq 0 ] || tail -30 "$tmp/unit.log"
step $rc "proxy unit tests (cargo test --release --manifest-path proxy/Cargo.toml)"

echo "== Python clients (openai, anthropic) in a cached venv"
py=$(proxy_venv "$root"); step $? "venv with the openai and anthropic clients"
[ -n "$py" ] || finish

echo "== policy, mock upstream, proxies"
create_proxy_role px_proxy >/dev/null 2>&1; step $? "login role px_proxy IN ROLE rbac_api"
start_mock "$root" "$tmp"; rc=$?; pids+=("$MOCK_PID"); step $rc "mock upstream on 127.0.0.1:${MOCK_PORT:-?}"
psql -X -q -v ON_ERROR_STOP=1 -v mock_base="http://127.0.0.1:$MOCK_PORT/v1" -f "$root/pg_test/proxy/policy.sql" >/dev/null
step $? "policy loaded (pg_test/proxy/policy.sql)"

port=$(free_port)
PG_RBAC_PROVIDER_KEY_MOCK=mock-provider-secret PX_SECRET_NOT_A_PROVIDER_KEY=must-never-leave-the-host RUST_LOG=${RUST_LOG:-info} \
  "$bin" --database-url "host=$PGHOST port=$PGPORT user=px_proxy dbname=$PGDATABASE" --listen "127.0.0.1:$port" \
  --max-body-bytes 65536 --pool-size 8 >"$tmp/proxy.log" 2>&1 &
pids+=("$!")
wait_http "http://127.0.0.1:$port/health/readiness" 30; step $? "proxy ready on 127.0.0.1:$port"

closed=$(free_port); bad_port=$(free_port)
"$bin" --database-url "host=127.0.0.1 port=$closed user=px_proxy dbname=$PGDATABASE" --listen "127.0.0.1:$bad_port" \
  --db-timeout-ms 2000 >"$tmp/bad-proxy.log" 2>&1 &
pids+=("$!")
wait_http "http://127.0.0.1:$bad_port/health/liveliness" 30; step $? "second proxy (database on a closed port) is up"

echo "== client tests (pg_test/proxy/test_proxy.py)"
"$py" "$root/pg_test/proxy/test_proxy.py" "http://127.0.0.1:$port" "http://127.0.0.1:$bad_port" "http://127.0.0.1:$MOCK_PORT" \
  >"$tmp/test.log" 2>&1
cat "$tmp/test.log"
res=$(grep '^RESULT ' "$tmp/test.log" | tail -1)
if [ -n "$res" ]; then
  set -- $res
  passed=$((passed + $2)); failed=$((failed + $3))
else
  step 1 "test_proxy.py ran to its end"
fi
if [ "$failed" -ne 0 ]; then
  echo "-- last lines of the proxy log"; tail -25 "$tmp/proxy.log"
fi
finish
