#!/usr/bin/env bash
# pg_rbac demo ("main job"): builds and installs the extension, starts a throwaway PostgreSQL 15 cluster on a
# private port, loads the Acme LiteLLM policy (demo/policy.sql), runs real-shaped proxy requests through
# rbac.rbac_check and prints the decisions (demo/requests.sql), then stops the cluster.
#
#   bash scripts/demo.sh                    # full run: setup, release build + install, demo
#   DEMO_SKIP_BUILD=1 bash scripts/demo.sh  # use the pg_rbac already installed in PostgreSQL 15
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
trap 'cluster_stop "$DEMO_DIR"' EXIT
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
cluster_stop "$DEMO_DIR"
trap - EXIT
echo
say "demo done: $summary; cluster stopped"
