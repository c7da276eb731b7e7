#!/usr/bin/env bash
# Docs that run (issue 15): every ```sql and ```bash example in README.md and docs/*.md is executed, in document
# order, each file in a fresh scratch database with pg_rbac, as the role the text says it runs as; results the
# text shows are compared, expected errors checked by SQLSTATE. Markers and rules: pg_test/docs/run_docs.pl.
# Connection from the PG* variables (a superuser, as the other client tests). Databases and roles the examples
# create are dropped afterwards, also when an example fails.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
before_roles=$(psql -X -At -d postgres -c "SELECT rolname FROM pg_roles ORDER BY 1") || exit 1
before_dbs=$(psql -X -At -d postgres -c "SELECT datname FROM pg_database ORDER BY 1") || exit 1
cleanup() {   # a safety net: run_docs.pl already drops what each file created
  local r d
  for d in $(comm -13 <(echo "$before_dbs") <(psql -X -At -d postgres -c "SELECT datname FROM pg_database ORDER BY 1")); do
    psql -X -q -d postgres -c "DROP DATABASE \"$d\" WITH (FORCE)" >/dev/null 2>&1
  done
  for r in $(comm -13 <(echo "$before_roles") <(psql -X -At -d postgres -c "SELECT rolname FROM pg_roles ORDER BY 1")); do
    psql -X -q -d postgres -c "DROP ROLE \"$r\"" >/dev/null 2>&1
  done
}
trap cleanup EXIT
# The checker must be able to fail: its self-test document has known passes, failures and a skip.
selftest=$(perl pg_test/docs/run_docs.pl pg_test/docs/selftest.md 2>&1 | tail -1)
if [ "$selftest" != "docs: 4 passed, 7 failed, 1 skipped" ]; then
  echo "FAIL docs: the runner's self-test (pg_test/docs/selftest.md) gave '$selftest'"
  perl pg_test/docs/run_docs.pl pg_test/docs/selftest.md
  exit 1
fi
perl pg_test/docs/run_docs.pl README.md docs/*.md
