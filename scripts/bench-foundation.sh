#!/usr/bin/env bash
# Foundation benchmarks: idle RSS of bangui-api and bangui-scheduler, and GET /healthz
# requests per second over loopback (wrk, 2 threads, 32 connections, 10 s).
#
#   ./scripts/bench-foundation.sh            # SQLite in a temporary folder
#   BANGUI_DATABASE_URL=postgres://postgres@127.0.0.1/bangui_bench ./scripts/bench-foundation.sh
#
# The takeover benchmark is `cargo build --release -p scheduler && cargo bench -p e2e --bench takeover`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
cargo build -q --release --locked -p api -p scheduler -p migrations
tmp=$(mktemp -d)
export BANGUI_DATABASE_URL=${BANGUI_DATABASE_URL:-sqlite://$tmp/bench.db?mode=rwc}
export BANGUI_API_ADDR=127.0.0.1:18181 BANGUI_SCHEDULER_ADDR=127.0.0.1:19191 BANGUI_LOG=warn
./target/release/bangui-migrate up >/dev/null
./target/release/bangui-scheduler 2>"$tmp/scheduler.log" & sched=$!
./target/release/bangui-api 2>"$tmp/api.log" & api=$!
trap 'kill $sched $api 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do curl -fs "http://$BANGUI_API_ADDR/readyz" >/dev/null && break; sleep 0.1; done
sleep 5
rss() { awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$1/status"; }
echo "idle RSS after 5 s: bangui-api $(rss $api), bangui-scheduler (leading) $(rss $sched)"
wrk -t2 -c32 -d10s "http://$BANGUI_API_ADDR/healthz" | grep -E "Requests/sec|Latency"
echo "RSS after load: bangui-api $(rss $api)"
