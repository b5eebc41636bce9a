#!/usr/bin/env bash
# Starts the services the test suite talks to, each private to this run and on loopback only:
# a MariaDB on tmpfs (no fsync: a database per test costs well under a second), an OpenLDAP
# slapd with test users, and a mock OpenID Connect provider (Keycloak-shaped tokens, on Node).
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

# slapd with its own config and mdb database under $RUN_DIR. Entries (base dc=ispyb,dc=test):
#   uid=abcd,ou=People                  password abcd-secret (Test User, abcd@ispyb.test)
#   uid=efgh,ou=People                  password efgh-secret (Admin User, efgh@ispyb.test)
#   cn=Ada Lovelace,ou=Staff,ou=People  uid=ada, password ada-secret: not in the ISPyB test data,
#                                       and only found in search mode (its DN is not uid=…)
#   cn=ispyb-search,ou=Services         password search-secret (service account, search mode)
# Anonymous clients can only bind; bound ones can read entries. Exports ISPYB_TEST_LDAP_URI.
start_slapd() {
  need slapd slapd
  need ldapwhoami ldap-utils
  local slapd slapadd slappasswd
  slapd=$(command -v slapd || echo /usr/sbin/slapd)
  slapadd=$(command -v slapadd || echo /usr/sbin/slapadd)
  slappasswd=$(command -v slappasswd || echo /usr/sbin/slappasswd)
  local d="$RUN_DIR/slapd"
  rm -rf "$d"; mkdir -p "$d/db"
  cat >"$d/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $d/slapd.pid
database mdb
maxsize 104857600
suffix "dc=ispyb,dc=test"
rootdn "cn=admin,dc=ispyb,dc=test"
directory $d/db
access to attrs=userPassword by anonymous auth by self write by * none
access to * by users read by * none
EOF
  local hash_abcd hash_efgh hash_ada hash_search
  hash_abcd=$("$slappasswd" -s abcd-secret)
  hash_efgh=$("$slappasswd" -s efgh-secret)
  hash_ada=$("$slappasswd" -s ada-secret)
  hash_search=$("$slappasswd" -s search-secret)
  cat >"$d/data.ldif" <<EOF
dn: dc=ispyb,dc=test
objectClass: dcObject
objectClass: organization
o: ISPyB tests
dc: ispyb

dn: ou=People,dc=ispyb,dc=test
objectClass: organizationalUnit
ou: People

dn: ou=Staff,ou=People,dc=ispyb,dc=test
objectClass: organizationalUnit
ou: Staff

dn: ou=Groups,dc=ispyb,dc=test
objectClass: organizationalUnit
ou: Groups

dn: ou=Services,dc=ispyb,dc=test
objectClass: organizationalUnit
ou: Services

dn: uid=abcd,ou=People,dc=ispyb,dc=test
objectClass: inetOrgPerson
uid: abcd
cn: Test User
givenName: Test
sn: User
mail: abcd@ispyb.test
userPassword: $hash_abcd

dn: uid=efgh,ou=People,dc=ispyb,dc=test
objectClass: inetOrgPerson
uid: efgh
cn: Admin User
givenName: Admin
sn: User
mail: efgh@ispyb.test
userPassword: $hash_efgh

dn: cn=Ada Lovelace,ou=Staff,ou=People,dc=ispyb,dc=test
objectClass: inetOrgPerson
uid: ada
cn: Ada Lovelace
givenName: Ada
sn: Lovelace
mail: ada@ispyb.test
userPassword: $hash_ada

dn: cn=ispyb-search,ou=Services,dc=ispyb,dc=test
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: ispyb-search
userPassword: $hash_search
EOF
  "$slapadd" -q -f "$d/slapd.conf" -l "$d/data.ldif" >"$d/slapadd.log" 2>&1 || { cat "$d/slapadd.log" >&2; exit 1; }
  local port; port=$(free_port)
  local uri="ldap://127.0.0.1:$port"
  # -d keeps slapd in the foreground, so the pid is the server's own.
  "$slapd" -f "$d/slapd.conf" -h "$uri/" -d 0 >"$d/slapd.log" 2>&1 &
  SLAPD_PID=$!
  for _ in $(seq 80); do
    ldapwhoami -x -H "$uri" -D "cn=ispyb-search,ou=Services,dc=ispyb,dc=test" -w search-secret >/dev/null 2>&1 && break
    kill -0 "$SLAPD_PID" 2>/dev/null || { cat "$d/slapd.log" >&2; exit 1; }
    sleep 0.25
  done
  ldapwhoami -x -H "$uri" -D "uid=abcd,ou=People,dc=ispyb,dc=test" -w abcd-secret >/dev/null \
    || { echo "slapd on $uri does not accept the test users" >&2; cat "$d/slapd.log" >&2; exit 1; }
  export ISPYB_TEST_LDAP_URI="$uri"
  echo "test slapd on $uri (config $d/slapd.conf)" >&2
}

# The mock OpenID Connect provider of tests/oidc (oauth2-mock-server 8.2.3, pinned by its
# package-lock.json), with a control API to mint chosen tokens and rotate the signing key.
# Exports ISPYB_TEST_OIDC_ISSUER (…/realms/ispyb) and ISPYB_TEST_OIDC_CONTROL.
start_oidc() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "missing node/npm (for the mock OIDC provider): install the Debian packages nodejs and npm (apt-get install nodejs npm); Node >= 20.19 is needed" >&2
    exit 1
  fi
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
    || { echo "Node $(node --version) is too old for oauth2-mock-server 8.2.3: install Node >= 20.19" >&2; exit 1; }
  local src; src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/oidc" && pwd)"
  if [ ! -f "$src/node_modules/.package-lock.json" ] || [ "$src/package-lock.json" -nt "$src/node_modules/.package-lock.json" ]; then
    echo "installing the mock OIDC provider (npm ci in $src)…" >&2
    (cd "$src" && npm ci --no-audit --no-fund --loglevel=error >&2) \
      || { echo "npm ci failed in $src (it needs the npm registry once; node_modules is reused afterwards)" >&2; exit 1; }
  fi
  local d="$RUN_DIR/oidc"
  rm -rf "$d"; mkdir -p "$d"
  node "$src/mock-provider.mjs" --ready "$d/ready.json" >"$d/oidc.log" 2>&1 &
  OIDC_PID=$!
  for _ in $(seq 120); do
    [ -f "$d/ready.json" ] && break
    kill -0 "$OIDC_PID" 2>/dev/null || { cat "$d/oidc.log" >&2; exit 1; }
    sleep 0.25
  done
  [ -f "$d/ready.json" ] || { echo "the mock OIDC provider did not start" >&2; cat "$d/oidc.log" >&2; exit 1; }
  ISPYB_TEST_OIDC_ISSUER=$(node -p 'require(process.argv[1]).issuer' "$d/ready.json")
  ISPYB_TEST_OIDC_CONTROL=$(node -p 'require(process.argv[1]).control' "$d/ready.json")
  export ISPYB_TEST_OIDC_ISSUER ISPYB_TEST_OIDC_CONTROL
  echo "test OIDC provider: issuer $ISPYB_TEST_OIDC_ISSUER, control $ISPYB_TEST_OIDC_CONTROL" >&2
}

stop_test_services() {
  [ -n "${OIDC_PID:-}" ] && kill "$OIDC_PID" 2>/dev/null && wait "$OIDC_PID" 2>/dev/null || true
  [ -n "${SLAPD_PID:-}" ] && kill "$SLAPD_PID" 2>/dev/null && wait "$SLAPD_PID" 2>/dev/null || true
  [ -n "${MARIADB_PID:-}" ] && kill "$MARIADB_PID" 2>/dev/null && wait "$MARIADB_PID" 2>/dev/null || true
  rm -rf "$RUN_DIR"
}
