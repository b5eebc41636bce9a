#!/usr/bin/env bash
# End-to-end check of the first README command, as a new user would try it: `ispyb demo` comes
# up on a private MariaDB, the documentation pages render in headless Chromium (Swagger UI
# lists the operations, Redoc shows the API), and a dummy login works against the demo data.
# Installs Debian's chromium when run as root. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/test-services.sh   # for `need` and `free_port`
need chromium chromium
need mariadbd mariadb-server

work=$(mktemp -d "${TMPDIR:-/tmp}/ispyb-demo-check.XXXXXX")
port=$(free_port)
base="http://127.0.0.1:$port"
cargo build -q -p ispyb
target/debug/ispyb demo --dir "$work/db" --bind "127.0.0.1:$port" >"$work/demo.log" 2>&1 &
demo=$!
cleanup() { kill "$demo" 2>/dev/null; wait "$demo" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 240); do
  curl -sf "$base/ready" >/dev/null 2>&1 && break
  kill -0 "$demo" 2>/dev/null || { cat "$work/demo.log" >&2; echo "demo exited" >&2; exit 1; }
  sleep 0.5
done
curl -sf "$base/ready" >/dev/null || { cat "$work/demo.log" >&2; echo "demo did not become ready" >&2; exit 1; }

fail() { echo "check-demo: $*" >&2; exit 1; }
chrome() {
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/chrome" --virtual-time-budget=15000 "$@" 2>/dev/null
}
# Swagger UI builds its operation list in the browser; the DOM after scripts ran must show it.
chrome --dump-dom "$base/docs/" >"$work/docs.html"
grep -q 'opblock-summary-path' "$work/docs.html" || fail "Swagger UI did not render the operations"
grep -q '/ispyb/api/v1/proposals' "$work/docs.html" || fail "Swagger UI does not list /proposals"
chrome --dump-dom "$base/redoc" >"$work/redoc.html"
grep -q 'ISPyB API' "$work/redoc.html" || fail "Redoc did not render the document"
grep -q 'get_proposals\|List.*proposals\|/proposals' "$work/redoc.html" || fail "Redoc does not show the proposals operation"
if [ -n "${ISPYB_SCREENSHOT_DIR:-}" ]; then
  mkdir -p "$ISPYB_SCREENSHOT_DIR"
  chrome --window-size=1280,1600 --screenshot="$ISPYB_SCREENSHOT_DIR/docs.png" "$base/docs/" >/dev/null
fi

token=$(curl -sf -X POST "$base/ispyb/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"plugin":"dummy","login":"user1","password":"x"}' | python3 -c 'import sys, json; print(json.load(sys.stdin)["token"])') \
  || fail "dummy login failed"
total=$(curl -sf "$base/ispyb/api/v1/proposals" -H "Authorization: Bearer $token" | python3 -c 'import sys, json; print(json.load(sys.stdin)["total"])')
[ "$total" -ge 2 ] || fail "user1 sees $total proposals in the demo data, expected at least 2"
# The EM pages have pictures: a movie's thumbnail is a PNG served from the demo's files.
admin=$(curl -sf -X POST "$base/ispyb/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"plugin":"dummy","login":"admin","password":"x"}' | python3 -c 'import sys, json; print(json.load(sys.stdin)["token"])')
movie=$(curl -sf "$base/ispyb/api/v1/em/movies?limit=1" -H "Authorization: Bearer $admin" \
  | python3 -c 'import sys, json; print(json.load(sys.stdin)["results"][0]["Movie"]["movieId"])') || fail "no EM movie in the demo data"
type=$(curl -sf -o "$work/thumb.png" -w '%{content_type}' "$base/ispyb/api/v1/em/movies/$movie/thumbnail" -H "Authorization: Bearer $admin") \
  || fail "the thumbnail of EM movie $movie is not served"
[ "$type" = image/png ] && head -c 8 "$work/thumb.png" | grep -q PNG || fail "the thumbnail of EM movie $movie is not a PNG ($type)"

echo "check-demo: ok (demo up, /docs and /redoc render in Chromium, login works; user1 sees $total proposals; EM thumbnails served)"
