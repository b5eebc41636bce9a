#!/usr/bin/env bash
# Starts the services the test suite talks to, each private to this run and on loopback only:
# a MariaDB on tmpfs (no fsync: a database per test costs well under a second).
# Sourced by scripts/test.sh; `stop_test_services` stops them.
set -euo pipefail

RUN_DIR=${ISPYB_RUN_DIR:-/dev/shm/ispyb-test-$$}
[ -d /dev/shm ] && [ -w /dev/shm ] || RUN_DIR=${ISPYB_RUN_DIR:-${TMPDIR:-/tmp}/ispyb-test-$$}

need() { # need <command> <debian package>
  if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$1" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing $2 (for $1)…" >&2
      if [ ! -f /tmp/.ispyb-apt-updated ]; then apt-get update -qq >/dev/null && touch /tmp/.ispyb-apt-updated; fi
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    else
      echo "missing $1: install the Debian package $2 (apt-get install $2)" >&2
      exit 1
    fi
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_mariadb() {
  need mariadbd mariadb-server
  need mariadb mariadb-client
  local mariadbd; mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  local d="$RUN_DIR/mariadb"
  rm -rf "$d"; mkdir -p "$d"
  local user_opt=(); [ "$(id -u)" = 0 ] && user_opt=(--user=root)
  mariadb-install-db --no-defaults --datadir="$d/data" "${user_opt[@]}" --auth-root-authentication-method=normal --skip-test-db >"$d/install.log" 2>&1 \
    || { cat "$d/install.log" >&2; exit 1; }
  MARIADB_PORT=$(free_port)
  "$mariadbd" --no-defaults --datadir="$d/data" "${user_opt[@]}" --port="$MARIADB_PORT" --bind-address=127.0.0.1 \
    --socket="$d/mariadb.sock" --pid-file="$d/mariadb.pid" --log-error="$d/error.log" --skip-log-bin \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
    --innodb-flush-method=nosync --innodb-log-file-size=256M --max-connections=500 &
  MARIADB_PID=$!
  for _ in $(seq 120); do
    mariadb --no-defaults -S "$d/mariadb.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
    kill -0 "$MARIADB_PID" 2>/dev/null || { cat "$d/error.log" >&2; exit 1; }
    sleep 0.25
  done
  mariadb --no-defaults -S "$d/mariadb.sock" -uroot -e \
    "CREATE USER 'ispyb_test'@'127.0.0.1' IDENTIFIED BY 'ispyb_test'; GRANT ALL ON *.* TO 'ispyb_test'@'127.0.0.1' WITH GRANT OPTION;"
  export ISPYB_TEST_DATABASE_URL="mysql://ispyb_test:ispyb_test@127.0.0.1:$MARIADB_PORT"
  echo "test MariaDB on 127.0.0.1:$MARIADB_PORT (datadir $d/data)" >&2
}

stop_test_services() {
  [ -n "${MARIADB_PID:-}" ] && kill "$MARIADB_PID" 2>/dev/null && wait "$MARIADB_PID" 2>/dev/null || true
  rm -rf "$RUN_DIR"
}
