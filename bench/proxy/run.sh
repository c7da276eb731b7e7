#!/usr/bin/env bash
# pg-rbac-proxy benchmark: the latency the proxy adds over calling the provider directly (p50/p99) and its
# throughput at 1, 16 and 64 concurrent clients, side by side in one run with LiteLLM's own proxy (1.110.2,
# master key, no database) in front of the same upstream under the same load. Writes
# bench/proxy/results/<date>.md.
#
#   bash bench/proxy/run.sh                    # needs pg_rbac installed in PostgreSQL 15 (bash scripts/setup.sh;
#                                              # cargo pgrx install --release)
#   BENCH_SECONDS=20 bash bench/proxy/run.sh   # longer runs (default 8 s per point, after 2 s of warm-up)
#
# Upstream: a static Rust responder (proxy/examples/static_upstream.rs) — the Python mock of the tests would be the
# bottleneck. Load: `hey` (Debian package, installed if missing). Everything listens on loopback only; every process
# started here is stopped on exit.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh
# shellcheck source=pg_test/proxy/lib.sh
source pg_test/proxy/lib.sh
secs=${BENCH_SECONDS:-8}
conc=${BENCH_CONCURRENCY:-"1 16 64"}
dir=/tmp/pg_rbac-bench-proxy
port=${BENCH_PG_PORT:-55496}
cache=${PG_RBAC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pg_rbac}
out=bench/proxy/results/$(date -u +%Y-%m-%d).md
say() { printf '== %s\n' "$*"; }

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  cluster_stop "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v hey >/dev/null || { say "installing hey (Debian)"; apt-get install -y -q hey >/dev/null || exit 1; }

say "building pg-rbac-proxy and the static upstream (release)"
cargo build --release --manifest-path proxy/Cargo.toml --bin pg-rbac-proxy --example static_upstream >"$cache-bench-build.log" 2>&1 \
  || { tail -30 "$cache-bench-build.log"; exit 1; }
proxy_bin=proxy/target/release/pg-rbac-proxy
upstream_bin=proxy/target/release/examples/static_upstream

say "LiteLLM 1.110.2 in a cached venv ($cache/litellm-venv)"
req=bench/proxy/litellm-requirements.txt
venv=$cache/litellm-venv
stamp=$(sha256sum "$req" | cut -c1-16)
if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ] || ! "$venv/bin/python" -c 'import litellm.proxy.proxy_server' >/dev/null 2>&1; then
  mkdir -p "$cache"; rm -rf "$venv"
  python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" || exit 1
  echo "$stamp" >"$venv/.stamp"
fi
litellm_version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')

say "PostgreSQL 15 cluster in $dir on port $port"
cluster_start "$dir" "$port"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_rbac" || { echo "bench: install pg_rbac first (cargo pgrx install --release)"; exit 1; }

up_port=$(free_port)
"$upstream_bin" "127.0.0.1:$up_port" 2>"$dir/upstream.log" & pids+=("$!")
wait_http_post() { local i; for ((i = 0; i < 300; i++)); do curl -fs -o /dev/null -X POST -d '{}' "$1" && return 0; sleep 0.1; done; return 1; }
wait_http_post "http://127.0.0.1:$up_port/v1/chat/completions" || { echo "bench: upstream did not start"; exit 1; }

# A realistic key: team member of a team in an organization, with budgets and generous limits at every level, so
# every request does the whole admission (rate windows, parallel slot, budget reservations) and a settlement.
psql -X -q -v ON_ERROR_STOP=1 <<SQL || exit 1
INSERT INTO rbac.models (model_name, provider, api_base, upstream_model, api_key_env, input_cost_per_token, output_cost_per_token)
VALUES ('bench-gpt', 'openai', 'http://127.0.0.1:$up_port/v1', 'mock-gpt-1', 'PG_RBAC_PROVIDER_KEY_BENCH', 0.0000025, 0.00001);
INSERT INTO rbac.organizations (organization_id, models, max_budget, rpm_limit, tpm_limit) VALUES ('bench-org', '{}', 1000000, 100000000, 10000000000);
INSERT INTO rbac.teams (team_id, organization_id, max_budget, rpm_limit, tpm_limit) VALUES ('bench-team', 'bench-org', 1000000, 100000000, 10000000000);
INSERT INTO rbac.users (user_id) VALUES ('bench-user');
INSERT INTO rbac.team_members (team_id, user_id) VALUES ('bench-team', 'bench-user');
INSERT INTO rbac.keys (key_hash, user_id, team_id, models, max_budget, rpm_limit, tpm_limit, max_parallel_requests)
VALUES (rbac.hash_key('sk-bench-key-00000000001'), 'bench-user', 'bench-team', ARRAY['bench-gpt'], 1000000, 100000000, 10000000000, 1000);
SQL
create_proxy_role bench_proxy >/dev/null 2>&1

px_port=$(free_port)
PG_RBAC_PROVIDER_KEY_BENCH=bench-provider-key RUST_LOG=warn "$proxy_bin" --listen "127.0.0.1:$px_port" \
  --database-url "host=$PGHOST port=$PGPORT user=bench_proxy dbname=$PGDATABASE" --pool-size 16 >"$dir/proxy.log" 2>&1 &
pids+=("$!")
wait_http "http://127.0.0.1:$px_port/health/readiness" 30 || { echo "bench: proxy not ready"; exit 1; }

ll_port=$(free_port)
cat >"$dir/litellm.yaml" <<YAML
model_list:
  - model_name: bench-gpt
    litellm_params:
      model: openai/mock-gpt-1
      api_base: http://127.0.0.1:$up_port/v1
      api_key: bench-provider-key
general_settings:
  master_key: sk-bench-master-key
litellm_settings:
  telemetry: false
YAML
LITELLM_LOG=ERROR "$venv/bin/litellm" --config "$dir/litellm.yaml" --host 127.0.0.1 --port "$ll_port" >"$dir/litellm.log" 2>&1 &
pids+=("$!")
wait_http "http://127.0.0.1:$ll_port/health/liveliness" 120 || { echo "bench: LiteLLM did not start"; tail "$dir/litellm.log"; exit 1; }

body='{"model":"bench-gpt","messages":[{"role":"user","content":"hello"}],"max_tokens":16}'
# run NAME URL KEY CONCURRENCY -> "p50_ms p99_ms rps non200"
run() {
  local url=$2 key=$3 c=$4 f=$dir/hey-$1-$4.txt
  hey -z 2s -c "$c" -m POST -T application/json -H "Authorization: Bearer $key" -d "$body" "$url" >/dev/null 2>&1
  hey -z "${secs}s" -c "$c" -m POST -T application/json -H "Authorization: Bearer $key" -d "$body" "$url" >"$f" 2>&1
  awk '/Requests\/sec:/ {rps=$2} /50%% in|50% in/ {p50=$3*1000} /99% in/ {p99=$3*1000}
       /^\s*\[[0-9]+\]/ {gsub(/[\[\]]/, "", $1); if ($1 != 200) bad += $2}
       END {printf "%.2f %.2f %.0f %d\n", p50, p99, rps, bad+0}' "$f"
}

declare -A R
for c in $conc; do
  say "concurrency $c: direct, pg-rbac-proxy, LiteLLM (${secs}s each)"
  R[direct,$c]=$(run direct "http://127.0.0.1:$up_port/v1/chat/completions" none "$c")
  R[pgrbac,$c]=$(run pgrbac "http://127.0.0.1:$px_port/v1/chat/completions" sk-bench-key-00000000001 "$c")
  R[litellm,$c]=$(run litellm "http://127.0.0.1:$ll_port/v1/chat/completions" sk-bench-master-key "$c")
  echo "   direct ${R[direct,$c]} | pg-rbac-proxy ${R[pgrbac,$c]} | LiteLLM ${R[litellm,$c]}   (p50 ms, p99 ms, req/s, non-200)"
done

settled=$(psql -X -At -c "SELECT count(*) FROM rbac.spend_log WHERE key_hash = rbac.hash_key('sk-bench-key-00000000001')")
open=$(psql -X -At -c "SELECT count(*) FROM rbac.reservations WHERE state = 'open'")
exact=$(psql -X -At -c "SELECT bool_and(spend = prompt_tokens * 0.0000025 + completion_tokens * 0.00001) FROM rbac.spend_log")

{
  echo "# pg-rbac-proxy vs LiteLLM proxy — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "\`bash bench/proxy/run.sh\` (${secs} s per point after 2 s warm-up, \`hey\`, loopback). Machine: $(nproc) cores"
  echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/ {print $2}') GiB; the load generator, the"
  echo "upstream, the proxy under test and PostgreSQL share those cores."
  echo
  echo "* **upstream**: a static Rust responder (\`proxy/examples/static_upstream.rs\`), one fixed chat completion with"
  echo "  usage; \"direct\" is \`hey\` against it without a proxy."
  echo "* **pg-rbac-proxy** $(git -C "$root" rev-parse --short HEAD): key with user, team member, team and organization, budgets and"
  echo "  rpm/tpm/parallel limits at every level: per request \`BEGIN; rbac.authenticate; rbac.models; COMMIT\` (one round"
  echo "  trip), \`rbac.consume_quota\`, the upstream call, \`rbac.settle\`. Pool of 16 connections, unix socket."
  echo "* **LiteLLM** $litellm_version (\`litellm --config\`, one worker, master key, no database: no key lookup, no budgets, no"
  echo "  spend written)."
  echo
  echo "| clients | direct p50 / p99 ms | direct req/s | pg-rbac-proxy p50 / p99 ms | req/s | added p50 / p99 ms | LiteLLM p50 / p99 ms | req/s | LiteLLM ÷ pg-rbac-proxy p50 | pg-rbac-proxy ÷ LiteLLM req/s |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for c in $conc; do
    read -r d50 d99 drps dbad <<<"${R[direct,$c]}"
    read -r p50 p99 prps pbad <<<"${R[pgrbac,$c]}"
    read -r l50 l99 lrps lbad <<<"${R[litellm,$c]}"
    awk -v c="$c" -v d50="$d50" -v d99="$d99" -v drps="$drps" -v p50="$p50" -v p99="$p99" -v prps="$prps" \
        -v l50="$l50" -v l99="$l99" -v lrps="$lrps" 'BEGIN {
      printf "| %d | %.2f / %.2f | %d | %.2f / %.2f | %d | %.2f / %.2f | %.2f / %.2f | %d | %.1f× | %.1f× |\n",
        c, d50, d99, drps, p50, p99, prps, p50 - d50, p99 - d99, l50, l99, lrps,
        (p50 > 0 ? l50 / p50 : 0), (lrps > 0 ? prps / lrps : 0) }'
    [ "$pbad$lbad$dbad" = 000 ] || echo "|  | non-200 answers: direct $dbad, pg-rbac-proxy $pbad, LiteLLM $lbad |"
  done
  echo
  echo "Accounting after the run: $settled requests settled through pg-rbac-proxy (every one in \`rbac.spend_log\`), $open"
  echo "reservations left open, spend = usage × list price on every row: $exact."
} >"$out"
cat "$out"
say "report: $out"
