#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on a private port and socket directory, run as the `postgres` user.
# Source it, then: cluster_start DIR PORT; ... ; cluster_stop DIR
# Exports PGHOST/PGPORT/PGUSER/PGDATABASE for psql and pg_test/runner.sh.
# PG_RBAC_PG_BIN: another PostgreSQL 15 installation (a developer running several checkouts side by side)
PG_BIN=${PG_RBAC_PG_BIN:-/usr/lib/postgresql/15/bin}

as_postgres() {
  # from / : the postgres user may not be able to enter the caller's directory (a private clone under /tmp)
  if [ "$(id -un)" = postgres ]; then "$@"; elif [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else (cd / && sudo -u postgres "$@"); fi
}

cluster_start() {
  local dir=$1 port=$2
  cluster_stop "$dir" 2>/dev/null || true
  rm -rf "$dir"; mkdir -p "$dir"; chown postgres:postgres "$dir" 2>/dev/null || true; chmod 700 "$dir"
  as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1
  # RUST_BACKTRACE=1, as a careless service file might set it: the tests check that no backtrace reaches a client
  as_postgres env RUST_BACKTRACE=1 "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-p $port -k $dir -c listen_addresses='' -c fsync=off -c max_connections=100" start >/dev/null
  export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
}

cluster_stop() {
  local dir=$1
  [ -d "$dir/data" ] && as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
