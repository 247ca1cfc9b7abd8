#!/usr/bin/env bash
# The multi-replica rehearsal of the Kubernetes shape on one machine: PostgreSQL, three
# bangui-api processes, two bangui-scheduler processes and a private fail2ban, with the
# leading scheduler and the API processes killed and restarted under load. Prints the
# summary table recorded in Docs/performance.md.
#
#   ./scripts/rehearsal.sh                 # 40 s
#   BANGUI_REHEARSAL_SECONDS=120 ./scripts/rehearsal.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export BANGUI_TEST_BACKENDS=postgres
export BANGUI_TEST_PG_URL=${BANGUI_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
cargo build -q --workspace --bins
cargo test -q -p e2e --test it rehearsal -- --nocapture 2>&1 | grep -E '^\|| rehearsal|test result'
