#!/usr/bin/env bash
# Loads the two real ISPyB schemas from ../shared/ispyb-database into the reference databases
# `ispyb_ref` and `ispyb_dlsref` that `cargo xtask gen-models` reads. Developer tool only.
# Usage: scripts/reference-db.sh [mariadb client options, default: -h127.0.0.1 -uroot]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
schemas=${ISPYB_SCHEMA_DIR:-$here/../shared/ispyb-database}
opts=("$@"); [ ${#opts[@]} -eq 0 ] && opts=(-h127.0.0.1 -uroot)
[ -d "$schemas/ispyb" ] || { echo "no ISPyB schemas at $schemas (set ISPYB_SCHEMA_DIR)" >&2; exit 1; }
mariadb "${opts[@]}" -e 'DROP DATABASE IF EXISTS ispyb_ref; CREATE DATABASE ispyb_ref; DROP DATABASE IF EXISTS ispyb_dlsref; CREATE DATABASE ispyb_dlsref;'
cat "$schemas"/ispyb/{1_tables,2_lookups,3_data,4_data_user_portal,5_routines}.sql | mariadb "${opts[@]}" ispyb_ref
cat "$schemas"/dls/{tables,lookups,data,routines}.sql | mariadb "${opts[@]}" ispyb_dlsref
echo "loaded ispyb_ref and ispyb_dlsref"
