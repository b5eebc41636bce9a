#!/usr/bin/env bash
# The benchmark, in one command: builds the server and the load driver in release mode, starts
# a private MariaDB on loopback (tmpfs when there is room), creates and seeds two databases on
# the real `ispyb` schema (a small facility and one with 1,000,000 data collections; both kept
# between runs, keyed by scale and seed), then runs bench/driver, which starts the server
# pinned to one core, drives the request mix as three identities at 1, 16 and 64 clients,
# replays the same SQL directly against MariaDB, and prints one table and the three ratios.
#
#   bench/run.sh [--quick] [--small N] [--large N] [--seed N] [--duration SECS] [--prepare]
#
#   --quick      shorter runs (about 1 s per measurement instead of 4); under 5 minutes once the
#                databases exist
#   --small/--large  scales of the two databases (default 10 and 1000: 10,000 and 1,000,000
#                data collections)
#   --prepare    build and seed only
#
# Outputs go to bench/out/ (the table as text and JSON, the driver's log, the MariaDB log).
# ISPYB_BENCH_DIR chooses where the MariaDB datadir lives (default /dev/shm/ispyb-bench when
# /dev/shm has room, else bench/out/mariadb). Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0 PREPARE=0 SMALL=10 LARGE=1000 SEED=42 DURATION=""
# Part of the databases' names: raised when `ispyb db seed` writes different data, so that a
# run never measures a database seeded by an older seeder.
SEED_VERSION=_v2
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --prepare) PREPARE=1 ;;
    --small) SMALL=$2; shift ;;
    --large) LARGE=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

OUT="$ROOT/bench/out"
mkdir -p "$OUT"
SCHEMA_DIR=${ISPYB_SCHEMA_DIR:-$ROOT/../shared/ispyb-database}
[ -f "$SCHEMA_DIR/ispyb/1_tables.sql" ] || { echo "missing the ISPyB schemas in $SCHEMA_DIR: set ISPYB_SCHEMA_DIR to a copy of shared/ispyb-database" >&2; exit 1; }
command -v cargo >/dev/null || { echo "missing cargo: install Rust (https://rustup.rs)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "missing taskset: apt-get install util-linux" >&2; exit 1; }

# need/free_port (and the MariaDB packages) as the test suite has them.
# shellcheck source=scripts/test-services.sh
source "$ROOT/scripts/test-services.sh"
need mariadbd mariadb-server
need mariadb mariadb-client

echo "== building (release): ispyb and bench/driver" >&2
started=$(date +%s)
cargo build --release --quiet -p ispyb -p ispyb-bench
echo "   built in $(( $(date +%s) - started )) s" >&2
ISPYB="$ROOT/target/release/ispyb"
DRIVER="$ROOT/target/release/ispyb-bench"

# --- a private MariaDB whose datadir survives between runs --------------------------------
free_kb() { df -Pk "$1" 2>/dev/null | awk 'NR==2 {print $4}'; }
avail_kb() { awk '/MemAvailable/ {print $2}' /proc/meminfo; }
# A datadir from an earlier run is reused (its seeded databases with it); a new one goes to
# tmpfs when there is room for the million-collection database (about 2.5 GB) and some margin.
if [ -n "${ISPYB_BENCH_DIR:-}" ]; then
  BENCH_DIR=$ISPYB_BENCH_DIR
elif [ -d /dev/shm/ispyb-bench/data/mysql ]; then
  BENCH_DIR=/dev/shm/ispyb-bench
elif [ -d "$OUT/mariadb/data/mysql" ]; then
  BENCH_DIR=$OUT/mariadb
elif [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(free_kb /dev/shm)" -gt $((6 * 1024 * 1024)) ] && [ "$(avail_kb)" -gt $((6 * 1024 * 1024)) ]; then
  BENCH_DIR=/dev/shm/ispyb-bench
else
  BENCH_DIR=$OUT/mariadb
fi
mkdir -p "$BENCH_DIR"
MYSQLD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
user_opt=(); [ "$(id -u)" = 0 ] && user_opt=(--user=root)
if [ ! -d "$BENCH_DIR/data/mysql" ]; then
  echo "== initialising a MariaDB datadir in $BENCH_DIR" >&2
  mariadb-install-db --no-defaults --datadir="$BENCH_DIR/data" "${user_opt[@]}" --auth-root-authentication-method=normal --skip-test-db >"$BENCH_DIR/install.log" 2>&1 \
    || { cat "$BENCH_DIR/install.log" >&2; exit 1; }
fi
SOCK="$BENCH_DIR/mariadb.sock"
# A server left running by an interrupted run is stopped first (its pid file is ours).
if [ -f "$BENCH_DIR/mariadb.pid" ] && kill -0 "$(cat "$BENCH_DIR/mariadb.pid")" 2>/dev/null; then
  mariadb --no-defaults -S "$SOCK" -uroot -e 'SHUTDOWN' >/dev/null 2>&1 || kill "$(cat "$BENCH_DIR/mariadb.pid")"
  for _ in $(seq 120); do [ -f "$BENCH_DIR/mariadb.pid" ] || break; sleep 0.25; done
fi
DB_PORT=$(free_port)
"$MYSQLD" --no-defaults --datadir="$BENCH_DIR/data" "${user_opt[@]}" --port="$DB_PORT" --bind-address=127.0.0.1 \
  --socket="$SOCK" --pid-file="$BENCH_DIR/mariadb.pid" --log-error="$OUT/mariadb.err" --skip-log-bin \
  --innodb-buffer-pool-size=1G --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
  --innodb-flush-method=nosync --innodb-log-file-size=512M --max-connections=400 --log-output=TABLE &
DB_PID=$!
stop_bench_db() {
  mariadb --no-defaults -S "$SOCK" -uroot -e 'SHUTDOWN' >/dev/null 2>&1 || kill "$DB_PID" 2>/dev/null || true
  wait "$DB_PID" 2>/dev/null || true
}
trap stop_bench_db EXIT
for _ in $(seq 240); do
  mariadb --no-defaults -S "$SOCK" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
  kill -0 "$DB_PID" 2>/dev/null || { tail -20 "$OUT/mariadb.err" >&2; exit 1; }
  sleep 0.25
done
sql() { mariadb --no-defaults -S "$SOCK" -uroot -N -B -e "$1"; }
sql "CREATE USER IF NOT EXISTS 'ispyb_bench'@'127.0.0.1' IDENTIFIED BY 'ispyb_bench';
     GRANT ALL ON *.* TO 'ispyb_bench'@'127.0.0.1';
     CREATE DATABASE IF NOT EXISTS bench_meta;
     CREATE TABLE IF NOT EXISTS bench_meta.seeded (name VARCHAR(64) PRIMARY KEY, scale INT, seed BIGINT, seconds DOUBLE, at DATETIME)"
echo "== MariaDB $(sql 'SELECT VERSION()') on 127.0.0.1:$DB_PORT, datadir $BENCH_DIR/data (pid $DB_PID)" >&2
BASE_URL="mysql://ispyb_bench:ispyb_bench@127.0.0.1:$DB_PORT"

# --- the two databases: reused when a previous run finished seeding them ------------------
prepare_db() { # prepare_db <scale>
  local scale=$1 name="bench_s${1}_r${SEED}${SEED_VERSION}"
  if [ "$(sql "SELECT COUNT(*) FROM bench_meta.seeded WHERE name = '$name'")" = 1 ]; then
    echo "== reusing database $name (scale $scale, seed $SEED)" >&2
  else
    echo "== creating database $name: real ispyb schema + ispyb db seed --scale $scale --seed $SEED" >&2
    sql "DROP DATABASE IF EXISTS $name; CREATE DATABASE $name CHARACTER SET utf8mb4"
    local t0; t0=$(date +%s)
    DATABASE_URL="$BASE_URL/$name" RUST_LOG=error "$ISPYB" db init --from-dump "$SCHEMA_DIR" >/dev/null
    DATABASE_URL="$BASE_URL/$name" RUST_LOG=error "$ISPYB" db seed --scale "$scale" --seed "$SEED" >"$OUT/seed_$name.json" 2>"$OUT/seed_$name.log"
    local tables; tables=$(sql "SELECT GROUP_CONCAT(CONCAT('\`', TABLE_NAME, '\`')) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$name' AND TABLE_TYPE = 'BASE TABLE'")
    sql "USE $name; ANALYZE TABLE $tables" >/dev/null
    local secs=$(( $(date +%s) - t0 ))
    sql "REPLACE INTO bench_meta.seeded VALUES ('$name', $scale, $SEED, $secs, NOW())"
    echo "   seeded in $secs s" >&2
  fi
}
prepare_db "$SMALL"
prepare_db "$LARGE"
[ "$PREPARE" = 1 ] && { echo "databases ready" >&2; exit 0; }

# --- the load ------------------------------------------------------------------------------
args=(--server "$ISPYB" --db-url "$BASE_URL" --small "bench_s${SMALL}_r${SEED}${SEED_VERSION}" --large "bench_s${LARGE}_r${SEED}${SEED_VERSION}"
      --small-scale "$SMALL" --large-scale "$LARGE" --mariadb-pid "$DB_PID" --out "$OUT")
[ "$QUICK" = 1 ] && args+=(--quick)
[ -n "$DURATION" ] && args+=(--duration "$DURATION")
# The driver on core 0, the server on core 1 (the driver pins it), MariaDB wherever it runs.
taskset -c 0 "$DRIVER" "${args[@]}"
