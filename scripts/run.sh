#!/usr/bin/env bash
# Build, migrate and run BanGUI locally on SQLite: the scheduler and the API as two
# processes sharing ./var/bangui.db. Ctrl-C stops everything cleanly.
#
#   ./scripts/run.sh
#
# With a fail2ban on this host (its socket at BANGUI_FAIL2BAN_SOCKET, default
# /var/run/fail2ban/fail2ban.sock, reachable by this user) BanGUI manages that one.
# Without one, it starts a private demo fail2ban in ./var/demo-fail2ban (Debian's
# package, no firewall changes) and a generator of failed logins (documentation
# networks and random public addresses), so bans arrive within seconds. BANGUI_DEMO=1 forces the demo.
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
# Served over plain http on this machine: a Secure cookie would never come back.
export BANGUI_COOKIE_SECURE=${BANGUI_COOKIE_SECURE:-false}

host_socket=${BANGUI_FAIL2BAN_SOCKET:-/var/run/fail2ban/fail2ban.sock}
demo=${BANGUI_DEMO:-}
if [ -z "$demo" ]; then
  if command -v fail2ban-client >/dev/null 2>&1 && fail2ban-client -s "$host_socket" ping >/dev/null 2>&1; then
    demo=0
  else
    demo=1
  fi
fi
if [ "$demo" = 1 ] && ! command -v fail2ban-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing Debian's fail2ban for the demo"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fail2ban >/dev/null
  else
    echo "no fail2ban here: install it (sudo apt-get install fail2ban) for the demo" >&2
    exit 1
  fi
fi

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing Debian's nodejs and npm (for the offline geo data)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  else
    echo "npm not found: sudo apt-get install nodejs npm" >&2
    exit 1
  fi
fi
echo "== offline geo data from the npm registry (@ip-location-db: country CC0, ASN CC-BY-4.0)"
npm ci --prefix scheduler/geo --no-audit --no-fund --silent
geo=$PWD/scheduler/geo/node_modules/@ip-location-db
export BANGUI_GEOIP_COUNTRY_DB=${BANGUI_GEOIP_COUNTRY_DB:-$geo/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb}
export BANGUI_GEOIP_ASN_DB=${BANGUI_GEOIP_ASN_DB:-$geo/asn/asn-ipv4.csv,$geo/asn/asn-ipv6.csv}

echo "== building the web UI (frontend/, npm registry packages only)"
(cd frontend && npm ci --no-audit --no-fund --silent && npm run -s build >/dev/null)

echo "== building (release)"
cargo build --release --locked -p api -p scheduler -p migrations

bin=${CARGO_TARGET_DIR:-target}/release
echo "== migrating $BANGUI_DATABASE_URL"
"$bin/bangui-migrate" up

pids=()
demo_dir=$PWD/var/demo-fail2ban
stop() {
  trap - INT TERM EXIT
  echo
  echo "== stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$demo" = 1 ]; then scripts/fail2ban-private.sh stop "$demo_dir"; fi
  echo "== stopped"
}
trap stop INT TERM EXIT

if [ "$demo" = 1 ]; then
  echo "== no fail2ban on this host: starting a private demo fail2ban in $demo_dir"
  scripts/fail2ban-private.sh start "$demo_dir" >/dev/null
  export BANGUI_FAIL2BAN_SOCKET=$demo_dir/f2b.sock
  export BANGUI_FAIL2BAN_CONFIG_DIR=$demo_dir/conf
  F2B_DEMO_QUIET=1 scripts/fail2ban-private.sh attack "$demo_dir" &
  pids+=($!)
else
  export BANGUI_FAIL2BAN_SOCKET=$host_socket
  echo "== using the host's fail2ban at $host_socket"
fi

"$bin/bangui-scheduler" 2> >(sed -u 's/^/[scheduler] /' >&2) &
pids+=($!)
"$bin/bangui-api" 2> >(sed -u 's/^/[api] /' >&2) &
pids+=($!)

for _ in $(seq 1 100); do
  curl -fsS "http://$BANGUI_API_ADDR/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

cat <<MSG

  BanGUI is running$([ "$demo" = 1 ] && echo " (demo fail2ban: $demo_dir, attack traffic from 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)").
    Web UI         http://$BANGUI_API_ADDR/
    API            http://$BANGUI_API_ADDR/api/v1/
    API explorer   http://$BANGUI_API_ADDR/api/docs/
    OpenAPI        http://$BANGUI_API_ADDR/api/v1/openapi.json
    fail2ban       http://$BANGUI_API_ADDR/api/v1/status   .../api/v1/jails   .../api/v1/bans
    Scheduler      http://$BANGUI_API_ADDR/api/v1/scheduler
    Health         http://$BANGUI_API_ADDR/healthz  http://$BANGUI_API_ADDR/readyz
    Metrics        http://$BANGUI_API_ADDR/metrics  http://$BANGUI_SCHEDULER_ADDR/metrics
  First run: create the admin with POST /api/v1/setup (see the README), or
    curl -s -X POST http://$BANGUI_API_ADDR/api/v1/setup -H 'content-type: application/json' \\
      -d '{"username":"admin","password":"<a long passphrase>"}'
  Press Ctrl-C to stop.

MSG
# Return when either process ends (or on Ctrl-C); the trap stops the other.
wait -n "${pids[@]}" || true
