# Helpers shared by pg_test/client/proxy_e2e.sh, scripts/demo.sh and bench/proxy/run.sh (source it).

# The Python venv with the official openai and anthropic clients (pg_test/proxy/requirements.txt), created once
# under a cache directory and reinstalled only when the requirements change. Prints the venv's python.
proxy_venv() {
  local root=$1
  local cache=${PG_RBAC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pg_rbac}
  local venv=$cache/proxy-venv req=$root/pg_test/proxy/requirements.txt stamp
  stamp=$(sha256sum "$req" | cut -c1-16)
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ] \
     || ! "$venv/bin/python" -c 'import openai, anthropic, httpx' >/dev/null 2>&1; then
    mkdir -p "$cache"
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      apt-get install -y -q python3-venv >/dev/null 2>&1 || true
      python3 -m venv "$venv" >&2 || return 1
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2 || return 1
    echo "$stamp" > "$venv/.stamp"
  fi
  echo "$venv/bin/python"
}

# A free loopback TCP port (nothing listens on it when this returns).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits until URL answers 200 (up to $2 seconds, default 30).
wait_http() {
  local url=$1 secs=${2:-30} i
  for ((i = 0; i < secs * 10; i++)); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Starts the mock upstream on a free loopback port; sets MOCK_PID and MOCK_PORT.
start_mock() {
  local root=$1 dir=$2
  rm -f "$dir/mock.port"
  python3 "$root/pg_test/proxy/mock_upstream.py" --port 0 --port-file "$dir/mock.port" >"$dir/mock.log" 2>&1 &
  MOCK_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do [ -s "$dir/mock.port" ] && break; sleep 0.1; done
  MOCK_PORT=$(cat "$dir/mock.port" 2>/dev/null) || return 1
  [ -n "$MOCK_PORT" ]
}

# Builds the proxy (release); prints the binary's path.
build_proxy() {
  local root=$1 log=$2
  if ! cargo build --release --manifest-path "$root/proxy/Cargo.toml" >"$log" 2>&1; then
    tail -30 "$log" >&2
    return 1
  fi
  echo "$root/proxy/target/release/pg-rbac-proxy"
}

# The login role the proxy connects as: LOGIN, member of rbac_api only.
create_proxy_role() {
  local role=$1
  psql -X -q -v ON_ERROR_STOP=1 -c "DO \$\$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') THEN CREATE ROLE $role LOGIN; END IF; END\$\$;" \
       -c "GRANT rbac_api TO $role"
}
