#!/usr/bin/env bash
# Starts the server on a demo database: a private MariaDB under var/demo (its own datadir and
# socket, no TCP port, never the system server), the schema created from the models, synthetic
# data, and the API on http://127.0.0.1:8000 with the dummy login. Ctrl-C stops both.
# Installs mariadb-server when run as root on Debian, or says what is missing.
# Extra arguments go to `ispyb demo` (see `--help`: --bind, --scale, --fresh, --dir).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "missing cargo: install Rust (https://rustup.rs)" >&2; exit 1; }
if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing mariadb-server…" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
  else
    echo "missing mariadbd: install the Debian package mariadb-server (apt-get install mariadb-server)" >&2
    exit 1
  fi
fi
cargo build -p ispyb
exec target/debug/ispyb demo "$@"
