#!/usr/bin/env bash
# pg_rbac benchmark suite: builds and installs the extension (release), starts a private PostgreSQL 15 cluster,
# loads a benchmark policy, runs every pgbench workload and writes bench/results/<YYYY-MM-DD>.md.
#
#   bash bench/run.sh                                  full run (about 10 minutes on 2 cores, plus the build)
#   BENCH_SKIP_BUILD=1 BENCH_QUICK=1 bash bench/run.sh smoke test against the installed build (about 2.5 minutes)
#
# Environment:
#   BENCH_SECONDS         seconds per pgbench run (default 10; 2 with BENCH_QUICK=1)
#   BENCH_CLIENTS         client counts of the main section (default "1 8 16")
#   BENCH_QUICK=1         2-second runs, largest policy 100k keys instead of 1M
#   BENCH_SKIP_BUILD=1    benchmark the installed pg_rbac instead of `cargo pgrx install --release`
#   BENCH_JWT_ALGS        algorithms of the JWT section (default "RS256 PS256 ES256 ES384 EdDSA HS256";
#                         any of RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA HS256 HS384 HS512)
#   BENCH_JWT_CLIENTS     client count of the JWT section (default 8)
#   BENCH_POLICY_SIZES    key counts of the policy-size section (default "10 10000 1000000"; teams = keys/10)
#   BENCH_POLICY_CLIENTS  client count of the policy-size section (default 8)
#   BENCH_OUT             report path (default bench/results/$(date +%F).md)
#   BENCH_KEEP_TMP=1      keep the temporary directory (pgbench output, generated scripts)
# See bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
cd "$ROOT"
T0=$(date +%s)
CMD=""
for v in BENCH_SKIP_BUILD BENCH_QUICK BENCH_SECONDS BENCH_CLIENTS BENCH_JWT_ALGS BENCH_JWT_CLIENTS BENCH_POLICY_SIZES \
         BENCH_POLICY_CLIENTS; do
  if [ -n "${!v:-}" ]; then
    case "${!v}" in *" "*) CMD="$CMD$v=\"${!v}\" " ;; *) CMD="$CMD$v=${!v} " ;; esac
  fi
done
CMD="${CMD}bash bench/run.sh"

BENCH_QUICK=${BENCH_QUICK:-0}
if [ "$BENCH_QUICK" = 1 ]; then
  BENCH_SECONDS=${BENCH_SECONDS:-2}
  BENCH_POLICY_SIZES=${BENCH_POLICY_SIZES:-"10 10000 100000"}
else
  BENCH_SECONDS=${BENCH_SECONDS:-10}
  BENCH_POLICY_SIZES=${BENCH_POLICY_SIZES:-"10 10000 1000000"}
fi
BENCH_CLIENTS=${BENCH_CLIENTS:-"1 8 16"}
BENCH_JWT_ALGS=${BENCH_JWT_ALGS:-"RS256 PS256 ES256 ES384 EdDSA HS256"}
BENCH_JWT_CLIENTS=${BENCH_JWT_CLIENTS:-8}
BENCH_POLICY_CLIENTS=${BENCH_POLICY_CLIENTS:-8}
BENCH_SKIP_BUILD=${BENCH_SKIP_BUILD:-0}
OUT=${BENCH_OUT:-$BENCH_DIR/results/$(date +%F).md}
CLUSTER_DIR=/tmp/pg_rbac-bench
PORT=55435
PG_BIN=/usr/lib/postgresql/15/bin
PG_CONFIG=$PG_BIN/pg_config
VECTORS=$ROOT/src/auth/jwt_test_vectors.json
WL=$BENCH_DIR/workloads
SERVER_SETTINGS="shared_buffers=512MB max_connections=100 synchronous_commit=off fsync=on max_wal_size=4GB checkpoint_timeout=30min"

TMP=$(mktemp -d /tmp/pg_rbac-bench-run.XXXXXX)
RESULTS=$TMP/results.jsonl
mkdir -p "$TMP/out" "$TMP/log" "$TMP/scripts"

# shellcheck source=../scripts/cluster.sh
source "$ROOT/scripts/cluster.sh"
cleanup() {
  local rc=$?
  cluster_stop "$CLUSTER_DIR"
  if [ "${BENCH_KEEP_TMP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    echo "bench: temporary files kept in $TMP"
  else
    rm -rf "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT

log() { echo "bench: $*"; }
BG_CPU=""
bg_cpu() { # label: share of CPU time used by other processes during 1 s while the benchmark is idle
  local u1 n1 s1 i1 w1 q1 sq1 st1 u2 n2 s2 i2 w2 q2 sq2 st2 busy idle
  read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ </proc/stat
  sleep 1
  read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ </proc/stat
  busy=$(( (u2 + n2 + s2 + q2 + sq2 + st2) - (u1 + n1 + s1 + q1 + sq1 + st1) ))
  idle=$(( (i2 + w2) - (i1 + w1) ))
  local pct=$(( 100 * busy / (busy + idle > 0 ? busy + idle : 1) ))
  BG_CPU="${BG_CPU:+$BG_CPU, }$1 $pct%"
  [ "$pct" -lt 15 ] || log "warning: other processes use $pct% of the CPUs ($1): figures will be distorted"
}
psql_q() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }
meta() { python3 "$BENCH_DIR/report.py" meta --results "$RESULTS" "$1" "$2"; }
check() { # workload name expected actual
  python3 "$BENCH_DIR/report.py" check --results "$RESULTS" --section "$1" --name "$2" --expected "$3" --actual "$4"
}

# ---------------------------------------------------------------------------------------------------------------
# 1. Toolchain, build, cluster
# ---------------------------------------------------------------------------------------------------------------
bash scripts/setup.sh

if [ "$BENCH_SKIP_BUILD" = 1 ]; then
  log "BENCH_SKIP_BUILD=1: using the installed pg_rbac"
  BUILD_DESC="installed build, not rebuilt by this run"
else
  log "cargo pgrx install --release (log: $TMP/build.log)"
  if ! cargo pgrx install --release --pg-config "$PG_CONFIG" >"$TMP/build.log" 2>&1; then
    echo "bench: build failed; last lines of $TMP/build.log:" >&2
    tail -n 40 "$TMP/build.log" >&2
    exit 1
  fi
  BUILD_DESC="release, built by this run (cargo pgrx install --release)"
fi
SO=$("$PG_CONFIG" --pkglibdir)/pg_rbac.so
[ -f "$SO" ] || { echo "bench: $SO not found: pg_rbac is not installed" >&2; exit 1; }
if [ "$BENCH_SKIP_BUILD" = 1 ]; then
  if [ -f target/release/libpg_rbac.so ] && cmp -s "$SO" target/release/libpg_rbac.so; then
    BUILD_DESC="$BUILD_DESC; identical to target/release/libpg_rbac.so (release build)"
  elif [ -f target/debug/libpg_rbac.so ] && cmp -s "$SO" target/debug/libpg_rbac.so; then
    BUILD_DESC="$BUILD_DESC; identical to target/debug/libpg_rbac.so (debug build)"
  else
    BUILD_DESC="$BUILD_DESC; profile unknown"
  fi
  BUILD_DESC="$BUILD_DESC; pg_rbac.so $(stat -c '%s bytes, modified %y' "$SO" | cut -d. -f1)"
fi

bg_cpu start
log "starting the cluster in $CLUSTER_DIR on port $PORT"
cluster_start "$CLUSTER_DIR" "$PORT"
# cluster.sh starts with fsync=off; restart with the benchmark's settings (fsync on, synchronous_commit off).
cluster_stop "$CLUSTER_DIR"
pg_opts="-p $PORT -k $CLUSTER_DIR -c listen_addresses=''"
for s in $SERVER_SETTINGS; do pg_opts="$pg_opts -c $s"; done
as_postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w -o "$pg_opts" start >/dev/null
for s in $SERVER_SETTINGS; do
  name=${s%%=*}; want=${s#*=}
  got=$(psql_q -c "SHOW $name")
  [ "$got" = "$want" ] || { echo "bench: server setting $name is '$got', expected '$want'" >&2; exit 1; }
done

# ---------------------------------------------------------------------------------------------------------------
# 2. Extension, policy, scripts, preflight
# ---------------------------------------------------------------------------------------------------------------
psql_q -c "CREATE EXTENSION pg_rbac"
log "loading the benchmark policy (bench/sql/policy.sql: bench_pk 1M rows, keys, 10k spread keys)"
psql_q -f "$BENCH_DIR/sql/policy.sql"

gen_algs="RS256 HS256"
for a in $BENCH_JWT_ALGS; do case " $gen_algs " in *" $a "*) ;; *) gen_algs="$gen_algs $a" ;; esac; done
# shellcheck disable=SC2086
python3 "$BENCH_DIR/gen_scripts.py" "$VECTORS" "$TMP/scripts" $gen_algs
psql_q -f "$TMP/scripts/jwt_issuer.sql"

preflight() { # label sql: every row's first column must be t
  local out
  out=$(psql_q -F ' | ' -c "$2") || { echo "bench: preflight $1 failed" >&2; exit 1; }
  if echo "$out" | grep -qv '^t'; then
    echo "bench: preflight $1: not allowed:" >&2; echo "$out" >&2; exit 1
  fi
}
log "preflight: every workload's statement is allowed"
preflight "virtual key" "SELECT allowed, reason FROM rbac.rbac_check('sk-bench-vk-0001', '/chat/completions', 'gpt-4o')"
jwt_out=$(psql_q -F ' | ' -f "$TMP/scripts/jwt_preflight.sql")
if echo "$jwt_out" | cut -d'|' -f2 | grep -qv 't'; then
  echo "bench: preflight JWT: not allowed:" >&2; echo "$jwt_out" >&2; exit 1
fi
jwt_out=$(PGOPTIONS='-c rbac.jwt_cache_size=0' psql_q -F ' | ' -f "$TMP/scripts/jwt_preflight.sql")
if echo "$jwt_out" | cut -d'|' -f2 | grep -qv 't'; then
  echo "bench: preflight JWT (cache off): not allowed:" >&2; echo "$jwt_out" >&2; exit 1
fi
preflight "hot key" "SELECT allowed, reason FROM rbac.consume_quota('sk-bench-hot-0001', '/chat/completions', 'gpt-4o', 1, 15, 0.0001)"
preflight "spread key" "SELECT allowed, reason FROM rbac.consume_quota('sk-bench-spread-10000', '/chat/completions', 'gpt-4o', 1, 15, 0.0001)"
preflight "settle" "SELECT rbac.settle(q.reservation_id, 10, 5, 0.0001) FROM rbac.consume_quota('sk-bench-settle-0001', '/chat/completions', 'gpt-4o', 1, 15, 0.0001) q"

# ---------------------------------------------------------------------------------------------------------------
# 3. Facts for the report
# ---------------------------------------------------------------------------------------------------------------
meta date "$(date +%F)"
meta command "$CMD"
meta quick "$BENCH_QUICK"
meta seconds "$BENCH_SECONDS"
meta clients "$BENCH_CLIENTS"
meta policy_sizes "$BENCH_POLICY_SIZES (teams = keys / 10, organizations = teams / 100)"
meta nproc "$(nproc)"
meta cpu "$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
meta mem "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
meta kernel "$(uname -sr)"
meta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
meta pg_version "$(psql_q -c 'SELECT version()')"
meta pgbench_version "$(pgbench --version)"
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit (working tree has uncommitted changes)"; fi
meta commit "$commit"
meta extversion "$(psql_q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_rbac'")"
meta build "$BUILD_DESC"
meta server_settings "$(echo "$SERVER_SETTINGS" | sed 's/ /, /g')"
meta pgbench_args "pgbench -n -M prepared -T $BENCH_SECONDS -c N -j min(N,4) -l (p99 from the per-transaction log)"

# ---------------------------------------------------------------------------------------------------------------
# 4. Runs
# ---------------------------------------------------------------------------------------------------------------
RUN_NO=0
FAILED_RUNS=0
LAST_TXNS=0
# bench SECTION KEY LABEL CLIENTS SCRIPT [pgbench args...]; RUN_PGOPTIONS is passed as PGOPTIONS
bench() {
  local section=$1 key=$2 label=$3 c=$4 script=$5; shift 5
  local j=$(( c < 4 ? c : 4 ))
  RUN_NO=$((RUN_NO + 1))
  local id; id=$(printf '%03d-%s-%s-c%d' "$RUN_NO" "$section" "$key" "$c")
  mkdir -p "$TMP/log/$id"
  local rc=0
  PGOPTIONS="${RUN_PGOPTIONS:-}" pgbench -n -M prepared -T "$BENCH_SECONDS" -c "$c" -j "$j" \
    -l --log-prefix="$TMP/log/$id/tx" -f "$script" "$@" >"$TMP/out/$id.txt" 2>&1 || rc=$?
  python3 "$BENCH_DIR/report.py" record --results "$RESULTS" --section "$section" --key "$key" --label "$label" \
    --clients "$c" --stdout "$TMP/out/$id.txt" --logs "$TMP/log/$id" --rc "$rc"
  rm -rf "$TMP/log/$id"
  [ $rc -eq 0 ] || FAILED_RUNS=$((FAILED_RUNS + 1))
  LAST_TXNS=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$TMP/out/$id.txt")
  LAST_TXNS=${LAST_TXNS:-0}
  return 0
}

quota_reset() { # a clean quota state before each quota run: no reservations, windows, spend log or reserved money
  psql_q <<'SQL'
TRUNCATE rbac.reservations, rbac.rate_windows, rbac.spend_log;
SET session_replication_role = replica;
UPDATE rbac.keys SET reserved = 0, in_flight = 0 WHERE reserved <> 0 OR in_flight <> 0;
UPDATE rbac.teams SET reserved = 0 WHERE reserved <> 0;
UPDATE rbac.users SET reserved = 0 WHERE reserved <> 0;
UPDATE rbac.organizations SET reserved = 0 WHERE reserved <> 0;
UPDATE rbac.team_members SET reserved = 0 WHERE reserved <> 0;
CHECKPOINT;
SQL
}

HOT_HASH=$(psql_q -c "SELECT rbac.hash_key('sk-bench-hot-0001')")
SETTLE_HASH=$(psql_q -c "SELECT rbac.hash_key('sk-bench-settle-0001')")

log "main section: $BENCH_SECONDS s per run, clients: $BENCH_CLIENTS"
psql_q -c "CHECKPOINT"
for c in $BENCH_CLIENTS; do
  bg_cpu "main c=$c"
  bench main select1 "SELECT 1 (baseline)" "$c" "$WL/select1.sql"
  bench main pk "primary-key lookup, 1M rows (baseline)" "$c" "$WL/pk_lookup.sql"
  bench main vk "rbac_check, virtual key" "$c" "$WL/check_vk.sql"
  bench main jwt_rs256_cached "rbac_check, RS256 JWT, cached" "$c" "$TMP/scripts/jwt_RS256.sql"
  RUN_PGOPTIONS='-c rbac.jwt_cache_size=0' \
    bench main jwt_rs256_fresh "rbac_check, RS256 JWT, fresh (cache off)" "$c" "$TMP/scripts/jwt_RS256.sql"
  bench main jwt_hs256_cached "rbac_check, HS256 JWT, cached" "$c" "$TMP/scripts/jwt_HS256.sql"
  RUN_PGOPTIONS='-c rbac.jwt_cache_size=0' \
    bench main jwt_hs256_uncached "rbac_check, HS256 JWT, uncached (cache off)" "$c" "$TMP/scripts/jwt_HS256.sql"

  quota_reset
  bench main cq_hot "consume_quota, one hot key" "$c" "$WL/quota_hot.sql"
  n=$LAST_TXNS
  check cq_hot "$c clients: reservations of the hot key = pgbench transactions" "$n" \
    "$(psql_q -c "SELECT count(*) FROM rbac.reservations WHERE key_hash = '$HOT_HASH'")"
  if [ "$BENCH_SECONDS" -lt 55 ]; then
    check cq_hot "$c clients: rate_windows.requests of the hot key = pgbench transactions" "$n" \
      "$(psql_q -c "SELECT coalesce(sum(requests), 0) FROM rbac.rate_windows WHERE scope = 'key' AND subject = '$HOT_HASH'")"
  else # the 60 s window may have rolled over during the run: compare with the reservations of the current window
    check cq_hot "$c clients: rate_windows.requests of the hot key = reservations in its window" \
      "$(psql_q -c "SELECT count(*) FROM rbac.reservations r, rbac.rate_windows w WHERE w.scope = 'key' AND w.subject = '$HOT_HASH' AND r.key_hash = w.subject AND r.created_at >= w.window_start")" \
      "$(psql_q -c "SELECT requests FROM rbac.rate_windows WHERE scope = 'key' AND subject = '$HOT_HASH'")"
  fi

  quota_reset
  bench main cq_spread "consume_quota, 10k keys (random key)" "$c" "$WL/quota_spread.sql"
  n=$LAST_TXNS
  check cq_spread "$c clients: reservations = pgbench transactions" "$n" \
    "$(psql_q -c "SELECT count(*) FROM rbac.reservations")"
  if [ "$BENCH_SECONDS" -lt 55 ]; then
    check cq_spread "$c clients: sum of key rate_windows.requests = pgbench transactions" "$n" \
      "$(psql_q -c "SELECT coalesce(sum(requests), 0) FROM rbac.rate_windows WHERE scope = 'key'")"
  fi

  quota_reset
  before=$(psql_q -c "SELECT spend FROM rbac.keys WHERE key_hash = '$SETTLE_HASH'")
  bench main cq_settle "consume_quota + settle" "$c" "$WL/quota_settle.sql"
  n=$LAST_TXNS
  check cq_settle "$c clients: settled reservations = pgbench transactions" "$n" \
    "$(psql_q -c "SELECT count(*) FROM rbac.reservations WHERE state = 'settled'")"
  check cq_settle "$c clients: spend_log rows = pgbench transactions" "$n" \
    "$(psql_q -c "SELECT count(*) FROM rbac.spend_log")"
  check cq_settle "$c clients: key spend increase = transactions x 0.0001, reserved back to 0" \
    "$(psql_q -c "SELECT ($n * 0.0001)::numeric(20,4) || ' / 0'")" \
    "$(psql_q -c "SELECT (spend - $before)::numeric(20,4) || ' / ' || reserved::numeric(20,0) FROM rbac.keys WHERE key_hash = '$SETTLE_HASH'")"
done
quota_reset

log "JWT section: $BENCH_JWT_CLIENTS clients, algorithms: $BENCH_JWT_ALGS"
bg_cpu jwt
bench jwt select1 "SELECT 1 (baseline)" "$BENCH_JWT_CLIENTS" "$WL/select1.sql"
for a in $BENCH_JWT_ALGS; do
  bench jwt "jwt_${a}_cached" "$a cached" "$BENCH_JWT_CLIENTS" "$TMP/scripts/jwt_$a.sql"
  RUN_PGOPTIONS='-c rbac.jwt_cache_size=0' \
    bench jwt "jwt_${a}_uncached" "$a uncached" "$BENCH_JWT_CLIENTS" "$TMP/scripts/jwt_$a.sql"
done

log "policy-size section: $BENCH_POLICY_CLIENTS clients, sizes: $BENCH_POLICY_SIZES keys"
bg_cpu policy
bench policy select1 "SELECT 1 (baseline)" "$BENCH_POLICY_CLIENTS" "$WL/select1.sql"
prev_keys=0; prev_teams=0; prev_orgs=0
for keys in $BENCH_POLICY_SIZES; do
  teams=$(( keys / 10 > 0 ? keys / 10 : 1 ))
  orgs=$(( (teams + 99) / 100 ))
  if [ "$keys" -lt "$prev_keys" ] || [ "$teams" -lt "$prev_teams" ]; then
    echo "bench: BENCH_POLICY_SIZES must be increasing" >&2; exit 1
  fi
  t=$(date +%s)
  psql_q -v prev_keys=$prev_keys -v keys="$keys" -v prev_teams=$prev_teams -v teams=$teams \
    -v prev_orgs=$prev_orgs -v orgs=$orgs -f "$BENCH_DIR/sql/policy_size.sql"
  psql_q -c "CHECKPOINT"
  log "policy: $keys keys, $teams teams, $orgs organizations loaded in $(( $(date +%s) - t )) s"
  preflight "policy $keys" "SELECT allowed, reason FROM rbac.rbac_check('sk-bench-pol-1', '/chat/completions', 'gpt-4o') UNION ALL SELECT allowed, reason FROM rbac.rbac_check('sk-bench-pol-$keys', '/chat/completions', 'gpt-4o')"
  label=$(python3 -c "import sys; n=int(sys.argv[1]); t=int(sys.argv[2]);
h=lambda n: ('%gM' % (n/1e6)) if n >= 1e6 else ('%gk' % (n/1e3)) if n >= 1e3 else str(n)
print('%s keys / %s teams' % (h(n), h(t)))" "$keys" "$teams")
  bench policy "pol_$keys" "$label" "$BENCH_POLICY_CLIENTS" "$WL/check_policy.sql" -D nkeys="$keys"
  prev_keys=$keys; prev_teams=$teams; prev_orgs=$orgs
done

# ---------------------------------------------------------------------------------------------------------------
# 5. Report
# ---------------------------------------------------------------------------------------------------------------
meta loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
bg_cpu end
meta bg_cpu "$BG_CPU"
meta duration "$(( $(date +%s) - T0 )) s"
mkdir -p "$(dirname "$OUT")"
rc=0
python3 "$BENCH_DIR/report.py" render --results "$RESULTS" --out "$OUT" || rc=$?
if [ "${BENCH_KEEP_TMP:-0}" = 1 ]; then cp "$RESULTS" "${OUT%.md}.jsonl"; fi
if grep -q 'server process .* was terminated\|PANIC' "$CLUSTER_DIR/server.log"; then
  echo "bench: the server log reports a crash:" >&2
  grep -B2 -A5 'was terminated\|PANIC' "$CLUSTER_DIR/server.log" | head -40 >&2
  rc=1
fi
[ $rc -eq 0 ] || echo "bench: some runs or checks failed; see the Summary in $OUT" >&2
exit $rc
