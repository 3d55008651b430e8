#!/usr/bin/env bash
# Every benchmark in turn, for a quiet machine (nothing else running: two jobs on two cores
# make both numbers meaningless). Results go to benchmarks/results/*.json; logs to $LOGS.
# Run from the repository root: bash benchmarks/run_all.sh [name ...]
set -uo pipefail
cd "$(dirname "$0")/.."
LOGS=${LOGS:-/tmp/benchmark-logs}
mkdir -p "$LOGS"
run() {  # name, command...
  local name=$1; shift
  echo "== $name: $* ($(date +%T))"
  if timeout 1500 "$@" >"$LOGS/$name.log" 2>&1; then echo "   ok ($(date +%T))"
  else echo "   FAILED: see $LOGS/$name.log"; tail -5 "$LOGS/$name.log"; fi
}
want() { [ -z "$SELECTED" ] || [[ " $SELECTED " == *" $1 "* ]]; }
SELECTED="$*"
want classroom_browse && run classroom_browse python -m benchmarks.classroom_load \
  --students 30 --duration 60 --scenario browse --settle 130
want classroom_watch && run classroom_watch python -m benchmarks.classroom_load \
  --students 30 --duration 60 --scenario watch --pages /elbo_lab --start-lab-run --settle 5 \
  --output benchmarks/results/classroom_watch.json
want follow_latency && run follow_latency python -m benchmarks.follow_latency --followers 30
want step_click && run step_click python -m benchmarks.step_click
want browser_decode && run browser_decode python -m benchmarks.browser_decode
want ar_training && run ar_training python -m benchmarks.ar_training
want elbo_training && run elbo_training python -m benchmarks.elbo_training
want screenshots && run screenshots python -m tests.browser.refresh_docs
exit 0
