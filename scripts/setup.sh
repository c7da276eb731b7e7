#!/usr/bin/env bash
# Installs what building and testing pg_rbac needs, idempotently (Debian bookworm, run as root or with sudo):
# PostgreSQL 15 server + headers, clang, pkg-config, OpenSSL headers, sudo; cargo-pgrx 0.18.1; `cargo pgrx init`.
set -euo pipefail
PGRX_VERSION=0.18.1
PG_CONFIG=${PG_RBAC_PG_BIN:-/usr/lib/postgresql/15/bin}/pg_config
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo

need_apt=()
for pkg in postgresql-15 postgresql-server-dev-15 postgresql-contrib libclang-dev clang pkg-config libssl-dev sudo; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
  echo "setup: installing cargo-pgrx $PGRX_VERSION (about 7-11 minutes on 2 cores)"
  cargo install --locked cargo-pgrx --version "$PGRX_VERSION"
fi

# `cargo pgrx init` records the system PostgreSQL 15 in ~/.pgrx/config.toml
if ! grep -qs "pg15 = \"$PG_CONFIG\"" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
  cargo pgrx init --pg15 "$PG_CONFIG"
fi
echo "setup: ok"
