#!/usr/bin/env bash
# UI benchmark: how soon the dashboard paints data with N events in the archive (default
# 1 million), in Debian's chromium over loopback, cold (empty cache) and warm, plus the
# size of the JavaScript the first page load needs (gzip).
#
#   ./scripts/bench-ui.sh [N]
#
# Uses (and, when missing, fills through `cargo bench -p e2e --bench history`) the
# SQLite benchmark database target/bench-history/history-N.db, then serves it with a
# release bangui-api (no scheduler: nothing changes during the measurement).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
target=${CARGO_TARGET_DIR:-$PWD/target}
db=$target/bench-history/history-$n.db
[ -x /usr/bin/chromium ] || { echo "needs Debian's chromium (apt-get install chromium)" >&2; exit 1; }
(cd frontend && npm ci --no-audit --no-fund --silent && npm run -s build >/dev/null)
if [ ! -f "$db" ]; then
  echo "== filling $db (history benchmark)"
  cargo bench -q -p e2e --bench history -- --events "$n" --requests 1 >/dev/null
fi
cargo build -q --release --locked -p api

echo "== initial JavaScript (what index.html loads before any page chunk), brotli as served"
total=0
for f in $(grep -oE '/assets/[^"]+\.js' frontend/dist/index.html | sort -u); do
  size=$(wc -c < "frontend/dist$f.br")
  total=$((total + size))
  awk -v f="$f" -v s="$size" 'BEGIN { printf "  %-40s %7.1f kB\n", f, s / 1000 }'
done
awk -v s="$total" 'BEGIN { printf "  %-40s %7.1f kB\n", "total", s / 1000 }'

export BANGUI_DATABASE_URL="sqlite://$db?mode=rwc" BANGUI_API_ADDR=127.0.0.1:18282 BANGUI_COOKIE_SECURE=false BANGUI_LOG=warn
"$target/release/bangui-api" 2>/dev/null & api=$!
trap 'kill $api 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 1 100); do curl -fs "http://$BANGUI_API_ADDR/readyz" >/dev/null && break; sleep 0.1; done
echo "== first data painted on the dashboard ($n events)"
node frontend/e2e/first-paint.mjs "http://$BANGUI_API_ADDR" admin 'correct horse battery staple' "${RUNS:-10}"
