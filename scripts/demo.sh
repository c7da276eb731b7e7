#!/usr/bin/env bash
# pg_rbac demo ("main job"): builds and installs the extension, starts a throwaway PostgreSQL 15 cluster on a
# private port, loads the Acme LiteLLM policy (demo/policy.sql), runs real-shaped proxy requests through
# rbac.rbac_check and prints the decisions (demo/requests.sql); then starts a mock model provider and pg-rbac-proxy
# (proxy/, docs/proxy.md) and sends real openai/anthropic client calls through it (demo/proxy_calls.py); stops
# everything it started.
#
#   bash scripts/demo.sh                    # full run: setup, release build + install, demo
#   DEMO_SKIP_BUILD=1 bash scripts/demo.sh  # use the pg_rbac already installed in PostgreSQL 15
#   DEMO_SKIP_PROXY=1 bash scripts/demo.sh  # only the SQL decisions, no proxy
#
# Environment: DEMO_DIR (default /tmp/pg_rbac-demo), DEMO_PORT (default 55434).
# Works as root (the cluster runs as the postgres user) or as a user with sudo.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
DEMO_DIR=${DEMO_DIR:-/tmp/pg_rbac-demo}
DEMO_PORT=${DEMO_PORT:-55434}

say() { printf '== %s\n' "$*"; }

say "setup (PostgreSQL 15, toolchain, cargo-pgrx)"
bash scripts/setup.sh

if [ "${DEMO_SKIP_BUILD:-0}" = 1 ]; then
  say "DEMO_SKIP_BUILD=1: using the installed pg_rbac ($("$PG_CONFIG" --pkglibdir)/pg_rbac.so)"
else
  say "building and installing pg_rbac (release; this takes a while on a fresh machine)"
  build_log=$(mktemp /tmp/pg_rbac-demo-build.XXXXXX.log)
  if ! cargo pgrx install --release --pg-config "$PG_CONFIG" >"$build_log" 2>&1; then
    echo "demo: cargo pgrx install failed; last lines of $build_log:" >&2
    tail -40 "$build_log" >&2
    exit 1
  fi
  say "installed (build log: $build_log)"
fi

# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh
# shellcheck source=pg_test/proxy/lib.sh
source pg_test/proxy/lib.sh
demo_pids=()
demo_cleanup() {
  local p
  for p in "${demo_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${demo_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  cluster_stop "$DEMO_DIR"
}
trap demo_cleanup EXIT
say "starting a throwaway PostgreSQL 15 cluster in $DEMO_DIR on port $DEMO_PORT"
cluster_start "$DEMO_DIR" "$DEMO_PORT"

# The demo files are read by psql as the invoking user, so their location does not matter.
psql_run() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

psql_run -c "CREATE EXTENSION pg_rbac"
say "pg_rbac $(psql -X -At -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_rbac'") created; loading demo/policy.sql"
psql_run -f demo/policy.sql
psql_run -At -F ' ' -c "SELECT 'policy: ' || (SELECT count(*) FROM rbac.models) || ' models, '
  || (SELECT count(*) FROM rbac.organizations) || ' organization, ' || (SELECT count(*) FROM rbac.teams) || ' teams, '
  || (SELECT count(*) FROM rbac.users) || ' users, ' || (SELECT count(*) FROM rbac.keys) || ' keys, '
  || (SELECT count(*) FROM rbac.end_users) || ' customers, ' || (SELECT count(*) FROM rbac.audit_log) || ' audit rows'"

psql_run -P pager=off -f demo/requests.sql

summary=$(psql_run -At -c "SELECT format('%s requests decided: %s allowed, %s denied (%s distinct denial reasons)',
    count(*), count(*) FILTER (WHERE allowed), count(*) FILTER (WHERE NOT allowed),
    count(DISTINCT reason) FILTER (WHERE NOT allowed)) FROM demo_decisions")

if [ "${DEMO_SKIP_PROXY:-0}" != 1 ]; then
  say "pg-rbac-proxy: building (cargo build --release --manifest-path proxy/Cargo.toml)"
  proxy_bin=$(build_proxy "$root" "$DEMO_DIR/proxy-build.log") || { echo "demo: proxy build failed" >&2; exit 1; }
  say "Python clients (openai, anthropic) in a cached venv"
  py=$(proxy_venv "$root") || { echo "demo: could not install the Python clients" >&2; exit 1; }
  start_mock "$root" "$DEMO_DIR" || { echo "demo: mock provider did not start" >&2; exit 1; }
  demo_pids+=("$MOCK_PID")
  # The demo's OpenAI and Anthropic models are served by the mock provider; its key comes from a variable with the
  # proxy's provider key prefix (docs/proxy.md).
  psql_run -c "UPDATE rbac.models SET api_base = 'http://127.0.0.1:$MOCK_PORT/v1', api_key_env = 'PG_RBAC_PROVIDER_KEY_DEMO'
               WHERE provider IN ('openai', 'anthropic')"
  create_proxy_role litellm_proxy >/dev/null 2>&1
  proxy_port=$(free_port)
  PG_RBAC_PROVIDER_KEY_DEMO=demo-provider-key RUST_LOG=warn "$proxy_bin" --listen "127.0.0.1:$proxy_port" \
    --database-url "host=$PGHOST port=$PGPORT user=litellm_proxy dbname=$PGDATABASE" >"$DEMO_DIR/proxy.log" 2>&1 &
  demo_pids+=("$!")
  wait_http "http://127.0.0.1:$proxy_port/health/readiness" 30 || { echo "demo: proxy not ready" >&2; tail "$DEMO_DIR/proxy.log" >&2; exit 1; }
  say "pg-rbac-proxy on 127.0.0.1:$proxy_port (role litellm_proxy IN ROLE rbac_api), mock provider on 127.0.0.1:$MOCK_PORT"
  "$py" demo/proxy_calls.py "http://127.0.0.1:$proxy_port" || exit 1
fi

demo_cleanup
trap - EXIT
echo
say "demo done: $summary; cluster stopped"
