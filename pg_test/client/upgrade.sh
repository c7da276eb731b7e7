#!/usr/bin/env bash
# Upgrades equal fresh installs (docs/operations.md, "Upgrading"; CONTRIBUTING.md). For every released version X
# whose install script is kept in sql/released/pg_rbac--X.sql (released scripts are never edited):
#   * X is the version being built: the released script must still install exactly the schema this build
#     installs (so a schema change without a new version and upgrade script fails here);
#   * X is older: CREATE EXTENSION pg_rbac VERSION 'X' from the released script, then ALTER EXTENSION pg_rbac
#     UPDATE through sql/pg_rbac--X--*.sql, must give the same catalog as CREATE EXTENSION of the new version.
# "The same catalog" is pg_test/upgrade/catalog_snapshot.sql: functions, tables, columns, constraints, indexes,
# policies, triggers, types, privileges, comments, extension members and dump configuration. A self-check first
# proves the comparison sees a one-word difference. Needs write access to PostgreSQL's extension directory (root in
# CI) and a superuser connection (PG* variables, as the other client tests).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
snapshot_sql=$root/pg_test/upgrade/catalog_snapshot.sql
extdir=$("${PG_RBAC_PG_BIN:-/usr/lib/postgresql/15/bin}/pg_config" --sharedir)/extension
current=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
work=$(mktemp -d)
copied=()
cleanup() {
  for f in "${copied[@]}"; do rm -f "$f"; done
  for db in rbac_upgrade_old rbac_upgrade_new; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; done
  rm -rf "$work"
}
trap cleanup EXIT
failed=0

fresh_db() { # name, [version]: a new database with the extension at that version (default: the built one)
  psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null || return 1
  if [ -n "${2:-}" ]; then
    psql -X -q -d "$1" -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_rbac VERSION '$2'" || return 1
  else
    psql -X -q -d "$1" -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_rbac" || return 1
  fi
}
snapshot() { psql -X -q -d "$1" -v ON_ERROR_STOP=1 -f "$snapshot_sql" >"$2" 2>&1; }

# The upgrade script of the version being built is generated (scripts/assemble_upgrade.sh): it must be current.
for src in "$root"/sql/upgrades/*--"$current".sql; do
  [ -e "$src" ] || continue
  pair=$(basename "$src" .sql); from=${pair%--*}
  if ! cmp -s <(bash "$root/scripts/assemble_upgrade.sh" "$from" "$current" -) "$root/sql/pg_rbac--$pair.sql"; then
    echo "FAIL upgrade: sql/pg_rbac--$pair.sql is not what scripts/assemble_upgrade.sh $from $current builds (run it)"
    failed=1
  fi
done

# 0. the comparison can fail: a fresh install against itself with one comment changed
fresh_db rbac_upgrade_new || exit 1
snapshot rbac_upgrade_new "$work/fresh.txt" || { cat "$work/fresh.txt"; exit 1; }
psql -X -q -d rbac_upgrade_new -c "COMMENT ON FUNCTION rbac.hash_key(text) IS 'changed'" >/dev/null
snapshot rbac_upgrade_new "$work/changed.txt"
if cmp -s "$work/fresh.txt" "$work/changed.txt" || [ "$(grep -c '^function ' "$work/fresh.txt")" -lt 50 ]; then
  echo "FAIL upgrade: the catalog snapshot does not see a changed comment (or lists too few functions)"; exit 1
fi
fresh_db rbac_upgrade_new && snapshot rbac_upgrade_new "$work/fresh.txt"

released=("$root"/sql/released/pg_rbac--*.sql)
if [ ! -e "${released[0]}" ]; then
  echo "FAIL upgrade: no released install script in sql/released/ (the released version $current must be kept there)"; exit 1
fi
checked=0
for script in "${released[@]}"; do
  version=$(basename "$script" .sql); version=${version#pg_rbac--}
  if [ "$version" = "$current" ]; then
    # installed under another name, so it does not replace the script the build generated
    as="$version-released"; target="$extdir/pg_rbac--$as.sql"
    cp "$script" "$target"; copied+=("$target")
    fresh_db rbac_upgrade_old "$as" || { echo "FAIL upgrade: released $version does not install"; failed=1; continue; }
    what="the released $version script"
  else
    target="$extdir/pg_rbac--$version.sql"
    cp "$script" "$target"; copied+=("$target")
    fresh_db rbac_upgrade_old "$version" || { echo "FAIL upgrade: released $version does not install"; failed=1; continue; }
    psql -X -q -d rbac_upgrade_old -v ON_ERROR_STOP=1 -c "ALTER EXTENSION pg_rbac UPDATE" \
      || { echo "FAIL upgrade: ALTER EXTENSION pg_rbac UPDATE from $version"; failed=1; continue; }
    what="$version upgraded to $current"
  fi
  snapshot rbac_upgrade_old "$work/old.txt"
  if diff -u "$work/fresh.txt" "$work/old.txt" >"$work/diff.txt"; then
    echo "ok: $what installs the same catalog as a fresh $current ($(grep -c '^function ' "$work/fresh.txt") functions)"
  else
    echo "FAIL upgrade: $what differs from a fresh $current install (released scripts are never edited: a schema"
    echo "     change needs a new version in Cargo.toml and sql/pg_rbac--$version--<new>.sql):"
    head -40 "$work/diff.txt" | sed 's/^/     /'
    failed=1
  fi
  checked=$((checked + 1))
done
echo "upgrade: $checked released version(s) checked, $([ $failed -eq 0 ] && echo 0 || echo 1) failed"
exit $failed
