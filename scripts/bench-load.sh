#!/usr/bin/env bash
# The load benchmark (issue #23): REPLICAS bangui-api processes on one database, the
# scheduler running every job against a private fail2ban, an archive of EVENTS synthetic
# events, CLIENTS browser tabs (locust, scripts/bench-load/locustfile.py) using the UI
# while INGEST bans a second go into fail2ban's database and through the archive import.
# Prints per-endpoint p50/p95/p99, errors, throughput, ingest and rollup lag, each
# process's CPU and RSS, and the database's size per table and index.
#
#   BACKEND=sqlite ./scripts/bench-load.sh                  # 1 replica
#   BACKEND=postgres ./scripts/bench-load.sh                # 3 replicas
#   EVENTS=1000000 SECONDS=60 CLIENTS=64 INGEST=1000 BACKEND=postgres ./scripts/bench-load.sh
#   RETENTION_AT=30 ./scripts/bench-load.sh                 # drop the oldest month 30 s in
#
# The archive is filled once by the history benchmark (`cargo bench -p e2e --bench history
# -- --prepare-only`, kept in target/bench-history/ or PostgreSQL bangui_bench_<EVENTS>)
# and copied for each run, so every run starts from the same data. BANGUI_BIN=DIR runs
# other release binaries (another checkout's), e.g. the previous layout beside this one;
# the copy is migrated by that bangui-migrate first, and the migration is timed.
# Needs locust (installed into target/locust-venv from PyPI on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
backend=${BACKEND:-sqlite}
events=${EVENTS:-10000000}
if [ "$backend" = postgres ]; then replicas=${REPLICAS:-3}; else replicas=${REPLICAS:-1}; fi
clients=${CLIENTS:-64}
seconds=${SECONDS_RUN:-${SECONDS_LOAD:-120}}
ingest=${INGEST:-1000}
retention_at=${RETENTION_AT:-}
pg_admin=${BANGUI_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
pg_base=${pg_admin%/*}
target=${CARGO_TARGET_DIR:-$root/target}
bin=${BANGUI_BIN:-$target/release}
work=$target/bench-load/$backend-$events
password=bench-load-password-$$

venv=$target/locust-venv
if [ ! -x "$venv/bin/locust" ]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q 'locust==2.47.0'
fi
if [ -z "${BANGUI_BIN:-}" ]; then
  cargo build -q --release --locked -p api -p scheduler -p migrations
fi
echo "== the archive: $events events on $backend (filled once, then reused)"
cargo bench -q -p e2e --bench history -- --events "$events" --backend "$backend" --prepare-only \
  2>&1 | grep -vE '^\s*$' | tail -3

rm -rf "$work"; mkdir -p "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/fail2ban-private.sh stop "$work/f2b" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== copying it for this run"
if [ "$backend" = postgres ]; then
  db=bangui_load
  psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
    -c "CREATE DATABASE $db TEMPLATE bangui_bench_$events"
  export BANGUI_DATABASE_URL=$pg_base/$db
else
  src=$target/bench-history/history-$events.db
  sqlite3 "$src" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
  cp "$src" "$work/bangui.db"
  export BANGUI_DATABASE_URL="sqlite://$work/bangui.db?mode=rwc"
fi

sql() { # one value from the database under test
  if [ "$backend" = postgres ]; then psql -qtA "$BANGUI_DATABASE_URL" -c "$1"
  else sqlite3 "$work/bangui.db" "$1"; fi
}

echo "== migrating ($bin/bangui-migrate)"
t0=$(date +%s.%N)
BANGUI_LOG=info "$bin/bangui-migrate" up 2>&1 | tail -5
echo "migration took $(echo "$(date +%s.%N) - $t0" | bc) s"

scripts/fail2ban-private.sh start "$work/f2b" >/dev/null
geo=$root/scheduler/geo/node_modules/@ip-location-db
[ -d "$geo" ] || npm ci --prefix scheduler/geo --no-audit --no-fund --silent
export BANGUI_GEOIP_COUNTRY_DB=$geo/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb
export BANGUI_GEOIP_ASN_DB=$geo/asn/asn-ipv4.csv,$geo/asn/asn-ipv6.csv
export BANGUI_FAIL2BAN_SOCKET=$work/f2b/f2b.sock BANGUI_FAIL2BAN_CONFIG_DIR=$work/f2b/conf
export BANGUI_LOG=${BANGUI_LOG:-warn} BANGUI_COOKIE_SECURE=false
if [ -n "$retention_at" ]; then export BANGUI_RETENTION_INTERVAL=${BANGUI_RETENTION_INTERVAL:-5s}; fi

# The history benchmark's own lease (an hour long) would keep this scheduler waiting.
sql "DELETE FROM scheduler_lease" >/dev/null
BANGUI_SCHEDULER_ADDR=127.0.0.1:19290 "$bin/bangui-scheduler" 2>"$work/scheduler.log" &
sched=$!; pids+=("$sched")
urls=(); api_pids=()
for i in $(seq 1 "$replicas"); do
  BANGUI_API_ADDR=127.0.0.1:$((18280 + i)) "$bin/bangui-api" 2>"$work/api-$i.log" &
  api_pids+=($!); pids+=($!); urls+=("http://127.0.0.1:$((18280 + i))")
done
for u in "${urls[@]}"; do
  for _ in $(seq 1 300); do curl -fs "$u/readyz" >/dev/null && break; sleep 0.1; done
done
# The copied archive has no users: set one up.
curl -fsS -X POST "${urls[0]}/api/v1/setup" -H 'content-type: application/json' \
  -d "{\"username\":\"bench-admin\",\"password\":\"$password\"}" >/dev/null
for _ in $(seq 1 100); do
  [ "$(curl -s "${urls[0]}/readyz" -o /dev/null -w '%{http_code}')" = 200 ] && break; sleep 0.2
done

cookies=$work/admin.cookies
curl -fsS -c "$cookies" -X POST "${urls[0]}/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"bench-admin\",\"password\":\"$password\"}" >/dev/null
session=$(awk '$6 == "bangui_session" {print $7}' "$cookies")
# fail2ban's jails, known to BanGUI once the scheduler has synced them.
for _ in $(seq 1 100); do
  [ "$(sql "SELECT count(*) FROM f2b_jails")" -gt 0 ] && break; sleep 0.2
done

# Jails with history in the archive (the dashboard's filters) and fail2ban's own.
jails=$(sql "SELECT jail FROM ban_rollups WHERE dims = 'jail' GROUP BY jail ORDER BY sum(bans) DESC LIMIT 6" | paste -sd, || true)
[ -n "$jails" ] || jails=sshd

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pg_ticks() { # every PostgreSQL process (server and backends) of this machine
  local s=0
  for p in $(pgrep -x postgres || true); do s=$((s + $(cpu_ticks "$p" 2>/dev/null || echo 0))); done
  echo $s
}
max_id() { sql "SELECT COALESCE(max(id), 0) FROM ban_events"; }

echo "== load: $clients tabs on $replicas replica(s) for ${seconds} s, ingest $ingest bans/s"
declare -A t_start
for p in "$sched" "${api_pids[@]}"; do t_start[$p]=$(cpu_ticks "$p"); done
pg_start=$(pg_ticks)
id_start=$(max_id)
python3 scripts/bench-load/ingest.py "$work/f2b/f2b.sqlite3" "$ingest" sshd,web-auth,bulk >"$work/ingest.out" 2>&1 &
ingest_pid=$!; pids+=("$ingest_pid")
if [ -n "$retention_at" ]; then
  (
    sleep "$retention_at"
    # Keep a month less than the archive holds: the next retention run drops that month.
    oldest=$(sql "SELECT min(at_ms) FROM ban_events")
    now_ms=$(($(date +%s) * 1000))
    days=$(((now_ms - oldest) / 86400000 - 30))
    curl -fsS -b "$cookies" -X PUT "${urls[0]}/api/v1/settings" -H 'content-type: application/json' \
      -H 'x-requested-with: bangui' -d "{\"retention_days\":$days}" >/dev/null
    echo "retention set to $days days at $(date +%T) (a month of events to delete)"
  ) >"$work/retention.out" 2>&1 &
  pids+=($!)
fi
started=$(date +%s.%N)
BENCH_REPLICAS=$(IFS=,; echo "${urls[*]}") BENCH_SESSION=$session BENCH_JAILS=$jails \
  "$venv/bin/locust" -f scripts/bench-load/locustfile.py --headless --only-summary \
  -u "$clients" -r "$clients" -t "${seconds}s" --stop-timeout 5 \
  --csv "$work/locust" >"$work/locust.out" 2>&1 || true
elapsed=$(echo "$(date +%s.%N) - $started" | bc)
kill -TERM "$ingest_pid"; wait "$ingest_pid" 2>/dev/null || true
id_end=$(max_id)
hz=$(getconf CLK_TCK)
echo
echo "== results ($backend, $events events, $replicas replica(s), $clients tabs, ${seconds} s)"
python3 - "$work/locust_stats.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"{'endpoint':34} {'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
for r in rows:
    name = r["Name"] if r["Name"] != "Aggregated" else "ALL"
    print(f"{name:34} {r['Request Count']:>9} {r['Failure Count']:>7} {float(r['Requests/s']):7.1f} "
          f"{r['50%']:>7} {r['95%']:>7} {r['99%']:>7} {float(r['Max Response Time']):7.0f}")
PY
if [ -s "$work/locust_failures.csv" ] && [ "$(wc -l < "$work/locust_failures.csv")" -gt 1 ]; then
  echo "-- errors (first 10 kinds)"; head -11 "$work/locust_failures.csv"
fi
cat "$work/ingest.out"
imported=$((id_end - id_start))
echo "archive: $imported events imported in ${elapsed%.*} s ($(echo "$imported / $elapsed" | bc)/s)"
echo "rollups: $(sql "SELECT (SELECT COALESCE(max(id),0) FROM ban_events) - hwm_id FROM rollup_state WHERE name = 'ban_rollups'") events not folded yet at the end"
mark=$(sql "SELECT COALESCE(max(high_water_s), 0) FROM archive_state WHERE name = 'fail2ban_bans'")
if [ "$mark" -gt 0 ]; then echo "archive import: $(( $(date +%s) - mark )) s behind fail2ban's newest ban at the end"
else echo "archive import: nothing imported"; fi
if [ -n "$retention_at" ]; then cat "$work/retention.out"; grep -h "retention" "$work/scheduler.log" | tail -5 || true; fi
proc_line() { # name pid: CPU over the run; RSS now (of which private, the rest mapped
  # database pages the kernel shares and can drop) and its peak
  local used=$(( $(cpu_ticks "$2") - ${t_start[$2]} ))
  printf '%-18s CPU %5.1f %%  RSS %6.1f MiB (private %6.1f)  peak %6.1f MiB\n' "$1" \
    "$(echo "100 * $used / $hz / $elapsed" | bc -l)" \
    "$(awk '/VmRSS/ {print $2/1024}' "/proc/$2/status")" "$(awk '/RssAnon/ {print $2/1024}' "/proc/$2/status")" \
    "$(awk '/VmHWM/ {print $2/1024}' "/proc/$2/status")"
}
proc_line bangui-scheduler "$sched"
i=0; for p in "${api_pids[@]}"; do i=$((i + 1)); proc_line "bangui-api #$i" "$p"; done
if [ "$backend" = postgres ]; then
  printf '%-22s CPU %5.1f %%\n' postgres "$(echo "100 * ($(pg_ticks) - $pg_start) / $hz / $elapsed" | bc -l)"
fi
grep -E "^ERROR|panicked" "$work"/*.log | head -5 || true
echo
python3 scripts/bench-load/storage.py "$backend" "$BANGUI_DATABASE_URL" "$work/bangui.db"
