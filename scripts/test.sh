#!/usr/bin/env bash
# Runs every pg_rbac test: Rust unit tests and #[pg_test]s (cargo pgrx test), then the SQL scenario cases
# (pg_test/cases/*.sql, contract_* included, run by pg_test/runner.sh) and the multi-connection client tests
# against a throwaway PostgreSQL 15 cluster. Installs what is missing first. Everything needed is in the repository;
# if an external copy of the shared conformance cases is present (PG_RBAC_SHARED, by default a directory
# `shared` next to the repository), they are run as well, as an extra cross-check.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PG_CONFIG=${PG_RBAC_PG_BIN:-/usr/lib/postgresql/15/bin}/pg_config
shared=${PG_RBAC_SHARED:-"$(dirname "$root")/shared"}

bash scripts/setup.sh || exit 1
# One run at a time on a machine: the run installs into the system PostgreSQL and uses fixed ports and paths.
exec 9>"${PG_RBAC_TEST_LOCK:-/tmp/pg_rbac-test.lock}"
flock 9
failed=0; passed=0
record() { if [ "$1" -eq 0 ]; then passed=$((passed+1)); echo "== $2: PASS"; else failed=$((failed+1)); echo "== $2: FAIL"; fi; }

echo "== cargo fmt --check"
cargo fmt --check
record $? "cargo fmt --check"

echo "== cargo clippy -D warnings"
cargo clippy --all-targets -- -D warnings
record $? "cargo clippy"

echo "== cargo pgrx test (unit tests and #[pg_test]s)"
cargo pgrx test pg15 --runas postgres --pgdata "${PG_RBAC_TMP:-/tmp}/pg_rbac-pgrx-test-data"
record $? "cargo pgrx test"

echo "== installing the extension into PostgreSQL 15"
cargo pgrx install --pg-config "$PG_CONFIG" >"${PG_RBAC_TMP:-/tmp}/pg_rbac-install.log" 2>&1 || { tail -30 "${PG_RBAC_TMP:-/tmp}/pg_rbac-install.log"; exit 1; }

source scripts/cluster.sh
cluster_dir=${PG_RBAC_TMP:-/tmp}/pg_rbac-test-cluster
cluster_start "$cluster_dir" "${PG_RBAC_TEST_PORT:-55433}"
trap 'cluster_stop "$cluster_dir"' EXIT
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_rbac" || exit 1

echo "== pg_rbac scenario cases (pg_test/cases, contract_* included)"
bash pg_test/runner.sh -k pg_test/cases/[0-9a-z]*.sql
record $? "pg_rbac scenario cases"

# Optional cross-check: the external shared conformance cases, run by their own runner, when a copy exists.
if [ -f "$shared/cases/run.sh" ]; then
  echo "== cross-check: external shared conformance cases ($shared/cases)"
  bash "$shared/cases/run.sh" -k "$shared"/cases/[0-9]*.sql
  record $? "cross-check: external shared conformance cases"
else
  echo "== cross-check: external shared conformance cases: skipped (no $shared/cases/run.sh; not needed)"
fi

for t in pg_test/client/*.sh; do
  [ -e "$t" ] || continue
  echo "== client test $(basename "$t")"
  bash "$t"
  record $? "client test $(basename "$t")"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
