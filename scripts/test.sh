#!/usr/bin/env bash
# The whole test suite, on SQLite and PostgreSQL, as CI runs it (.ci/run calls this).
#
#   ./scripts/test.sh
#
# Installs what the tests need when it can (Debian packages as root), checks formatting
# and lints, then runs every crate's tests against both databases. PostgreSQL is reached
# at BANGUI_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres); every test
# creates its own database there and drops it. Set BANGUI_TEST_BACKENDS=sqlite to skip
# PostgreSQL on a machine that has none.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

need_pkgs=()
command -v fail2ban-server >/dev/null 2>&1 || need_pkgs+=(fail2ban)
command -v sqlite3 >/dev/null 2>&1 || need_pkgs+=(sqlite3)
command -v psql >/dev/null 2>&1 || need_pkgs+=(postgresql-client)
command -v npm >/dev/null 2>&1 || need_pkgs+=(nodejs npm)
# The browser tests drive Debian's chromium (never a downloaded browser).
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
# fail2ban logging to the journal, and journal files written for the log tests.
/usr/bin/python3 -c 'import systemd.journal' 2>/dev/null || need_pkgs+=(python3-systemd)
[ -x /lib/systemd/systemd-journal-remote ] || need_pkgs+=(systemd-journal-remote)
# promtool checks and unit-tests the shipped alert rules (k8s/monitoring/).
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
if ((${#need_pkgs[@]})); then
  if [ "$(id -u)" = 0 ]; then
    log "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "missing: ${need_pkgs[*]} (run as root, or: sudo apt-get install ${need_pkgs[*]})" >&2
    exit 1
  fi
fi

# The offline geo data (npm registry; exact versions from scheduler/geo/package-lock.json).
log "geo data (npm ci scheduler/geo)"
npm ci --prefix scheduler/geo --no-audit --no-fund --silent

# The web UI: its client must match the committed OpenAPI document (the Rust tests check
# that document against the server), then types, lint, unit tests, and the build that
# bangui-api embeds (its tests serve it).
log "frontend: npm ci, client drift, tsc --noEmit, eslint, vitest, vite build"
(
  cd frontend
  npm ci --no-audit --no-fund --silent
  npm run -s check:api
  npm run -s typecheck
  npm run -s lint
  npm test --silent
  npm run -s build >/dev/null
)

command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install Rust >= 1.95 (rustup)" >&2; exit 1; }

# The Kubernetes manifest checks: kubectl (for kustomize) and kubernetes-validate (PyPI,
# carries the schemas, works offline).
if ! command -v kubectl >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null 2>&1 || true
fi
command -v kubectl >/dev/null 2>&1 || { echo "kubectl not found (needed for kubectl kustomize)" >&2; exit 1; }
if ! command -v kubernetes-validate >/dev/null 2>&1; then
  python3 -m pip install -q --disable-pip-version-check kubernetes-validate 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages kubernetes-validate
fi

export BANGUI_TEST_BACKENDS=${BANGUI_TEST_BACKENDS:-sqlite,postgres}
export BANGUI_TEST_PG_URL=${BANGUI_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export BANGUI_TEST_RUN_ID=${BANGUI_TEST_RUN_ID:-r$$}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

if [[ $BANGUI_TEST_BACKENDS == *postgres* ]]; then
  if ! psql "$BANGUI_TEST_PG_URL" -qtAc 'select 1' >/dev/null 2>&1; then
    echo "PostgreSQL is not reachable at $BANGUI_TEST_PG_URL (or set BANGUI_TEST_BACKENDS=sqlite)" >&2
    exit 1
  fi
  sweep() {
    psql "$BANGUI_TEST_PG_URL" -qtAc \
      "select datname from pg_database where datname like 'bangui_test_${BANGUI_TEST_RUN_ID}_%'" 2>/dev/null |
      while read -r db; do
        [ -n "$db" ] && psql "$BANGUI_TEST_PG_URL" -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
      done
  }
  trap sweep EXIT
fi

log "kubernetes manifests"
python3 k8s/check.py

log "monitoring: alert rules (promtool check and test) and the Grafana dashboard's shape"
python3 scripts/check-monitoring.py

log "format"
cargo fmt --all -- --check

log "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "tests on: $BANGUI_TEST_BACKENDS"
cargo test --workspace --locked

# The fail2ban version matrix (Docs/fail2ban.md, Versions): the fail2ban end-to-end tests
# again against 0.11.2 (Debian 11, Ubuntu 22.04) and 1.1.0 (Debian 13), each on its own
# stock tree, on SQLite (the rest above ran against Debian 12's 1.0.2). The other versions
# run through fail2ban-at (FAIL2BAN_AT; beside the project on the team's machines).
if [ -z "${FAIL2BAN_AT:-}" ]; then
  for at in "$PWD/../shared/fail2ban/versions/fail2ban-at" /work/shared/fail2ban/versions/fail2ban-at; do
    [ -x "$at" ] && { FAIL2BAN_AT=$at; break; }
  done
fi
export FAIL2BAN_AT=${FAIL2BAN_AT:-$PWD/../shared/fail2ban/versions/fail2ban-at}
if [ -x "$FAIL2BAN_AT" ]; then
  for version in ${BANGUI_TEST_F2B_VERSIONS-0.11.2 1.1.0}; do
    log "fail2ban $version: end-to-end tests on sqlite"
    BANGUI_TEST_BACKENDS=sqlite BANGUI_TEST_F2B_VERSION=$version \
      cargo test --locked -p e2e --test it -- fail2ban_e2e:: versions:: config_tree:: \
        config_write:: config_defs:: config_def_writes:: server_config:: fail2ban_log:: \
        allowlist:: blocklists:: regex_test:: observability::
  done
else
  log "fail2ban-at not found (FAIL2BAN_AT): SKIPPING the 0.11.2 and 1.1.0 runs"
fi

# The browser end-to-end tests: Debian's chromium against the api, the scheduler (the
# binaries cargo test just built) and a private fail2ban, once per database.
export BANGUI_BIN_DIR=${CARGO_TARGET_DIR:-$PWD/target}/debug
for backend in ${BANGUI_TEST_BACKENDS//,/ }; do
  log "browser end-to-end tests on $backend (screenshots: target/e2e-screenshots/$backend)"
  if [ "$backend" = postgres ]; then
    e2e_db="bangui_test_${BANGUI_TEST_RUN_ID}_e2e"
    psql "$BANGUI_TEST_PG_URL" -qc "create database \"$e2e_db\"" >/dev/null
    E2E_DATABASE_URL="${BANGUI_TEST_PG_URL%/*}/$e2e_db" npm --prefix frontend run -s e2e
  else
    # The every-viewport layout sweep runs on this one database (the rest on both).
    E2E_SWEEP=1 E2E_DATABASE_URL= npm --prefix frontend run -s e2e
  fi
done

# The contract gate: Schemathesis (pinned, from PyPI, in a venv under target/) against the
# running stack on each database, as an admin and anonymously, every operation and every
# check, for a bounded time (frontend/e2e/fuzz.mjs; reports in target/fuzz).
ST_VENV=${CARGO_TARGET_DIR:-$PWD/target}/schemathesis-venv
if [ ! -x "$ST_VENV/bin/schemathesis" ]; then
  log "installing schemathesis into $ST_VENV"
  python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/pip" install -q --disable-pip-version-check schemathesis==4.32.5
fi
for backend in ${BANGUI_TEST_BACKENDS//,/ }; do
  log "schemathesis contract gate on $backend"
  if [ "$backend" = postgres ]; then
    fuzz_db="bangui_test_${BANGUI_TEST_RUN_ID}_fuzz"
    psql "$BANGUI_TEST_PG_URL" -qc "create database \"$fuzz_db\"" >/dev/null
    E2E_DATABASE_URL="${BANGUI_TEST_PG_URL%/*}/$fuzz_db" node frontend/e2e/fuzz.mjs "$ST_VENV/bin/schemathesis" "${BANGUI_FUZZ_SECONDS:-90}"
  else
    E2E_DATABASE_URL= node frontend/e2e/fuzz.mjs "$ST_VENV/bin/schemathesis" "${BANGUI_FUZZ_SECONDS:-90}"
  fi
done

log "all tests passed"
