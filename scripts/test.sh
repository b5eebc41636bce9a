#!/usr/bin/env bash
# Runs the whole test suite. Installs what it needs on Debian as root (MariaDB server and
# client, slapd and ldap-utils; Node/npm for the mock OIDC provider must be there), or says
# exactly what is missing; starts private services on loopback and stops
# them afterwards. Extra arguments go to the test runner (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "missing cargo: install Rust (https://rustup.rs)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "missing python3: apt-get install python3" >&2; exit 1; }
export ISPYB_SCHEMA_DIR=${ISPYB_SCHEMA_DIR:-$(pwd)/../shared/ispyb-database}
export ISPYB_SPEC_DIR=${ISPYB_SPEC_DIR:-$(pwd)/../shared/spec}
[ -f "$ISPYB_SCHEMA_DIR/ispyb/1_tables.sql" ] || { echo "missing the ISPyB schemas: set ISPYB_SCHEMA_DIR to a copy of shared/ispyb-database" >&2; exit 1; }

# shellcheck source=scripts/test-services.sh
source scripts/test-services.sh
trap stop_test_services EXIT
start_mariadb
start_slapd
start_oidc

# The README's first command, end to end (demo, docs in Chromium, login); before the test
# runner so that the runner's summary is the last line.
scripts/check-demo.sh

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-targets --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
