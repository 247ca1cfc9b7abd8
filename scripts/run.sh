#!/usr/bin/env bash
# Build, migrate and run BanGUI locally on SQLite: the scheduler and the API as two
# processes sharing ./var/bangui.db. Ctrl-C stops both cleanly.
#
#   ./scripts/run.sh
#
# Every BANGUI_* variable (see Docs/configuration.md) is passed through, e.g.
#   BANGUI_API_ADDR=0.0.0.0:8080 ./scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install Rust >= 1.95 (rustup)" >&2; exit 1; }

mkdir -p var
export BANGUI_DATABASE_URL=${BANGUI_DATABASE_URL:-sqlite://./var/bangui.db?mode=rwc}
export BANGUI_API_ADDR=${BANGUI_API_ADDR:-127.0.0.1:8080}
export BANGUI_SCHEDULER_ADDR=${BANGUI_SCHEDULER_ADDR:-127.0.0.1:9090}
export BANGUI_LOG_FORMAT=${BANGUI_LOG_FORMAT:-pretty}

echo "== building (release)"
cargo build --release --locked -p api -p scheduler -p migrations

bin=target/release
echo "== migrating $BANGUI_DATABASE_URL"
"$bin/bangui-migrate" up

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "== stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "== stopped"
}
trap stop INT TERM EXIT

"$bin/bangui-scheduler" 2> >(sed -u 's/^/[scheduler] /' >&2) &
pids+=($!)
"$bin/bangui-api" 2> >(sed -u 's/^/[api] /' >&2) &
pids+=($!)

for _ in $(seq 1 100); do
  curl -fsS "http://$BANGUI_API_ADDR/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

cat <<MSG

  BanGUI is running.
    API            http://$BANGUI_API_ADDR/api/v1/
    API explorer   http://$BANGUI_API_ADDR/api/docs/
    OpenAPI        http://$BANGUI_API_ADDR/api/v1/openapi.json
    Scheduler      http://$BANGUI_API_ADDR/api/v1/scheduler
    Health         http://$BANGUI_API_ADDR/healthz  http://$BANGUI_API_ADDR/readyz
    Metrics        http://$BANGUI_API_ADDR/metrics  http://$BANGUI_SCHEDULER_ADDR/metrics
  Press Ctrl-C to stop.

MSG
# Return when either process ends (or on Ctrl-C); the trap stops the other.
wait -n "${pids[@]}" || true
