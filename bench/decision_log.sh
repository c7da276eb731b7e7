#!/usr/bin/env bash
# The cost of rbac.decision_log on consume_quota (docs/explain-and-decision-log.md): pgbench, one client, each of
# SELECT 1, an admitted consume_quota (bench/workloads/quota_hot.sql) and a refused one (quota_denied.sql: the
# team may not call the model) under rbac.decision_log = off, denied and all. Runs against the cluster of the PG*
# variables (a superuser) in a scratch database `bench_dl` with bench/sql/policy.sql; writes a Markdown table of
# TPS ratios (to SELECT 1, and to `off`) to $BENCH_OUT (default bench/results/<date>-decision-log.md).
#   PGHOST=... PGPORT=... PGUSER=postgres bash bench/decision_log.sh      (BENCH_SECONDS, default 10)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${BENCH_SECONDS:-10}
out=${BENCH_OUT:-$root/bench/results/$(date +%F)-decision-log.md}
export PGDATABASE=bench_dl
psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS bench_dl' -c 'CREATE DATABASE bench_dl'
psql -X -q -c 'CREATE EXTENSION pg_rbac' -f "$root/bench/sql/policy.sql" >/dev/null
tps() { # mode workload
  PGOPTIONS="-c rbac.decision_log=$1" pgbench -n -M prepared -T "$secs" -c 1 -f "$root/bench/workloads/$2.sql" 2>/dev/null |
    awk '/^tps/ {print $3}'
}
declare -A r
for mode in off denied all; do
  for w in select1 quota_hot quota_denied; do
    psql -X -q -c 'CHECKPOINT' -c 'TRUNCATE rbac.decision_log' -c 'UPDATE rbac.keys SET reserved = 0, in_flight = 0'
    r[$mode,$w]=$(tps "$mode" "$w")
  done
  r[$mode,rows]=$(psql -X -At -c 'SELECT count(*) FROM rbac.decision_log')
done
build=$(grep -q 'debug' <(file "$(pg_config --pkglibdir)/pg_rbac.so" 2>/dev/null) && echo debug || echo "see note")
{
  echo "# rbac.decision_log: cost on consume_quota ($(date +%F))"
  echo
  echo "bash bench/decision_log.sh; pgbench -M prepared, 1 client, ${secs} s per run, on $(nproc) cores shared with other"
  echo "builds; installed pg_rbac build: ${build}. Ratios: TPS / SELECT 1 TPS of the same mode, and TPS / the same workload"
  echo "with rbac.decision_log = off. Absolute TPS in parentheses."
  echo
  echo "| workload | off | denied | all |"
  echo "|---|---|---|---|"
  for w in quota_hot quota_denied; do
    line="| $w |"
    for mode in off denied all; do
      line+=$(awk -v t="${r[$mode,$w]}" -v s="${r[$mode,select1]}" -v o="${r[off,$w]}" \
        'BEGIN { printf " %.2f of SELECT 1, %.2f of off (%.0f tps) |", t / s, t / o, t }')
    done
    echo "$line"
  done
  echo "| rows logged in the last run | ${r[off,rows]} | ${r[denied,rows]} | ${r[all,rows]} |"
} > "$out"
cat "$out"
psql -X -q -d postgres -c 'DROP DATABASE bench_dl'
