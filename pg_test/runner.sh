#!/usr/bin/env bash
# Runs pg_rbac scenario cases (SQL files) against a database where the extension is installed.
#
#   bash pg_test/runner.sh [-k] [FILE_OR_DIR...]
#
#   -k        keep going: a failed expectation is reported and the case goes on, so every failure is listed
#             (sets cases.keep_going=on for pg_test/helpers.sql); CASES_KEEP_GOING=1 does the same
#   FILE      a case file; DIR: every [0-9a-z]*.sql in it; no argument: pg_test/cases
#
# Connection: the usual PG* environment variables (PGHOST, PGPORT, PGUSER, PGDATABASE, ...), as for psql.
# Every case runs in one transaction that is rolled back, after pg_test/helpers.sql and
# pg_test/fixtures/jwt_fixtures.sql were loaded into it (a COMMIT inside a case fails, so nothing is left
# behind). A case passes when psql succeeds, no expectation failed and the case kept the runner's transaction
# open to its end. The output is one "PASS name" or "FAIL name" line per case
# (followed, for a failure, by its first messages) and a closing "cases: N passed, M failed"; the exit status is
# 0 only if every case passed.
#
# Other settings: CASES_SHOW=N messages shown per failed case (default 3); CASES_LOG_DIR=dir keeps each case's
# whole psql output in dir/NAME.log; PSQL=path of psql (default: psql from PATH, else PostgreSQL 15's).
set -u
set -o pipefail

usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[0]}"; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P) || exit 2
helpers=$here/helpers.sql
fixtures=$here/fixtures/jwt_fixtures.sql

keep_going=0
case "${CASES_KEEP_GOING:-0}" in 1|on|true|yes) keep_going=1 ;; esac
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -k) keep_going=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; args+=("$@"); break ;;
    -*) echo "runner.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) args+=("$1") ;;
  esac
  shift
done
[ ${#args[@]} -gt 0 ] || args=("$here/cases")

if [ $keep_going -eq 1 ]; then
  export PGOPTIONS="${PGOPTIONS:+$PGOPTIONS }-c cases.keep_going=on"
fi

if [ -n "${PSQL:-}" ]; then psql_bin=$PSQL
elif command -v psql >/dev/null 2>&1; then psql_bin=psql
else psql_bin=${PG_RBAC_PG_BIN:-/usr/lib/postgresql/15/bin}/psql
fi
show=${CASES_SHOW:-3}
case "$show" in ''|*[!0-9]*) show=3 ;; esac
log_dir=${CASES_LOG_DIR:-}
if [ -n "$log_dir" ]; then mkdir -p "$log_dir" || exit 2; fi

for f in "$helpers" "$fixtures"; do
  [ -r "$f" ] || { echo "runner.sh: missing $f" >&2; exit 2; }
done

# The case files, in the order given; a directory contributes its [0-9a-z]*.sql files in name order.
files=()
for a in "${args[@]}"; do
  if [ -d "$a" ]; then
    found=0
    for f in "$a"/[0-9a-z]*.sql; do [ -e "$f" ] && { files+=("$f"); found=1; }; done
    [ $found -eq 1 ] || echo "runner.sh: no case files in $a" >&2
  else
    files+=("$a")
  fi
done
if [ ${#files[@]} -eq 0 ]; then
  echo "runner.sh: no case files" >&2
  echo "cases: 0 passed, 0 failed"
  exit 2
fi

# A path as a single-quoted psql meta-command argument (backslashes and quotes doubled).
psql_quote() {
  local s=${1//\\/\\\\}
  s=${s//\'/\'\'}
  printf "'%s'" "$s"
}

abs_path() {
  local d
  d=$(cd "$(dirname "$1")" && pwd -P) || return 1
  printf '%s/%s' "$d" "$(basename "$1")"
}

# The psql script of one case.
# - A deferred constraint trigger on a temporary table makes a COMMIT (or END) inside the case fail, so that a
#   faulty case cannot leave data behind for the cases after it. (SET CONSTRAINTS ALL IMMEDIATE would fire it
#   too; cases must name their constraints instead.)
# - The marker line printed at the end tells the runner how the case went, even when the case raised
#   client_min_messages above WARNING (failures are also counted in cases.failures) or rolled the transaction
#   back and went on outside it (txid changes).
case_script() {
  cat <<EOF
\\set ON_ERROR_STOP 1
\\set QUIET 1
BEGIN;
SELECT pg_catalog.txid_current()::text AS runner_xact \\gset
CREATE TEMP TABLE pg_rbac_runner_guard (armed boolean);
CREATE FUNCTION pg_temp.pg_rbac_runner_guard() RETURNS trigger LANGUAGE plpgsql AS \$guard\$
BEGIN
  IF pg_catalog.current_query() ~* '^\\s*set\\s+constraints' THEN
    RAISE EXCEPTION 'FAIL [runner] SET CONSTRAINTS ALL IMMEDIATE in a case fires the runner''s commit guard; name the constraints';
  END IF;
  RAISE EXCEPTION 'FAIL [runner] the case tried to end the transaction with COMMIT; its changes were rolled back';
END
\$guard\$;
CREATE CONSTRAINT TRIGGER pg_rbac_runner_guard AFTER INSERT ON pg_temp.pg_rbac_runner_guard
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.pg_rbac_runner_guard();
INSERT INTO pg_temp.pg_rbac_runner_guard VALUES (true);
\\i $(psql_quote "$helpers")
\\i $(psql_quote "$fixtures")
\\i $(psql_quote "$1")
SELECT pg_catalog.txid_current()::text IS DISTINCT FROM :'runner_xact' AS runner_lost,
       COALESCE(NULLIF(pg_catalog.current_setting('cases.failures', true), ''), '0') AS runner_failures \\gset
\\echo '@@runner lost=':runner_lost' failures=':runner_failures
ROLLBACK;
EOF
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pg_rbac-runner.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# One connection check first, so that an unreachable server gives one clear message rather than N failures.
if ! "$psql_bin" -X -q -v ON_ERROR_STOP=1 -At -c 'SELECT 1' >"$tmp/connect" 2>&1; then
  echo "runner.sh: cannot connect with psql (PGHOST=${PGHOST:-} PGPORT=${PGPORT:-} PGDATABASE=${PGDATABASE:-}):" >&2
  sed 's/^/    /' "$tmp/connect" >&2
  echo "cases: 0 passed, ${#files[@]} failed"
  exit 1
fi

passed=0; failed=0
for f in "${files[@]}"; do
  name=$(basename "$f")
  out=$tmp/out
  why=()
  if [ ! -f "$f" ] || [ ! -r "$f" ]; then
    : >"$out"
    why+=("not a readable file: $f")
  else
    file=$(abs_path "$f")
    case_script "$file" | "$psql_bin" -X -q -v ON_ERROR_STOP=1 -f - >"$out" 2>&1
    rc=$?
    [ $rc -eq 0 ] || why+=("psql exited with status $rc")
    # (also catches errors of a case that turned ON_ERROR_STOP off)
    if [ $rc -eq 0 ] && grep -qE '^psql:.*: (ERROR|FATAL|PANIC):  ' "$out"; then why+=("SQL errors"); fi
    marker=$(grep '^@@runner ' "$out" | tail -n 1)
    if [ $rc -eq 0 ] && [ -z "$marker" ]; then why+=("the case did not run to its end"); fi
    case "$marker" in *"lost=t "*) why+=("the case ended the runner's transaction (ROLLBACK in the case): what it ran afterwards was committed") ;; esac
    n=$(printf '%s\n' "$marker" | sed -n 's/.*failures=\([0-9]*\).*/\1/p')
    warned=$(grep -c 'WARNING:  FAIL' "$out")
    [ "${n:-0}" -gt "$warned" ] 2>/dev/null && warned=$n
    [ "$warned" -eq 0 ] || why+=("$warned failed expectation(s)")
  fi
  if [ -n "$log_dir" ]; then cp "$out" "$log_dir/${name%.sql}.log"; fi
  if [ ${#why[@]} -eq 0 ]; then
    passed=$((passed + 1))
    echo "PASS $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    grep -E 'FAIL|ERROR' "$out" | head -n "$show" | sed 's/^/    /'
    printf '    (%s)\n' "${why[@]}"
  fi
done

echo "cases: $passed passed, $failed failed"
[ $failed -eq 0 ]
