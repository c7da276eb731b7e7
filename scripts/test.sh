#!/usr/bin/env bash
# Runs every pg_rbac test: Rust unit tests and #[pg_test]s (cargo pgrx test), then the SQL scenario suites
# (the shared contract cases listed in pg_test/shared_cases.txt and our own pg_test/cases/*.sql) and the
# multi-connection client tests against a throwaway PostgreSQL 15 cluster. Installs what is missing first.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
shared=${PG_RBAC_SHARED:-$root/../shared}

bash scripts/setup.sh || exit 1
# One run at a time on a machine: the run installs into the system PostgreSQL and uses fixed ports and paths.
exec 9>/tmp/pg_rbac-test.lock
flock 9
failed=0; passed=0
record() { if [ "$1" -eq 0 ]; then passed=$((passed+1)); echo "== $2: PASS"; else failed=$((failed+1)); echo "== $2: FAIL"; fi; }

echo "== cargo pgrx test (unit tests and #[pg_test]s)"
cargo pgrx test pg15 --runas postgres --pgdata /tmp/pg_rbac-pgrx-test-data
record $? "cargo pgrx test"

echo "== installing the extension into PostgreSQL 15"
cargo pgrx install --pg-config "$PG_CONFIG" >/tmp/pg_rbac-install.log 2>&1 || { tail -30 /tmp/pg_rbac-install.log; exit 1; }

source scripts/cluster.sh
cluster_dir=/tmp/pg_rbac-test-cluster
cluster_start "$cluster_dir" 55433
trap 'cluster_stop "$cluster_dir"' EXIT
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_rbac" || exit 1

mapfile -t shared_cases < <(grep -v '^\s*#' pg_test/shared_cases.txt | sed '/^\s*$/d' | sed "s#^#$shared/cases/#")
echo "== shared contract cases: ${#shared_cases[@]} files"
bash "$shared/cases/run.sh" -k "${shared_cases[@]}"
record $? "shared contract cases"

echo "== pg_rbac scenario cases (pg_test/cases)"
bash "$shared/cases/run.sh" -k pg_test/cases/[0-9a-z]*.sql
record $? "pg_rbac scenario cases"

for t in pg_test/client/*.sh; do
  [ -e "$t" ] || continue
  echo "== client test $(basename "$t")"
  bash "$t"
  record $? "client test $(basename "$t")"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
