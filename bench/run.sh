#!/usr/bin/env bash
# Every benchmark, one after another, on the local stack (started if it does not run, stopped
# afterwards), release builds, loopback only; then the summary table with the baselines of the same
# run and the bars (bench/summary.py).
#
#   bench/run.sh            the full run (about 15 minutes on 2 cores)
#   bench/run.sh --quick    smaller sizes (about 8 minutes), for trying the harness
#
# Results: bench/results/<stamp>-*.md/.json, and <stamp>-summary.md/.json with the machine's core
# count and the date. BENCHMARKS.md explains each figure and what limits it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

quick=0
while (($#)); do
    case "$1" in
        --quick) quick=1; shift ;;
        *) die "unknown option $1 (use --quick)" ;;
    esac
done

if ((quick)); then
    events=20000 residents=40000 naive_residents=2000 cases=100000 overdue=2000 volunteers=200000 needs=2000 http_duration=10
else
    events=100000 residents=200000 naive_residents=5000 cases=1000000 overdue=10000 volunteers=1000000 needs=20000 http_duration=20
fi

# The figures need the machine to themselves, and the benchmarks' services use the real consumer
# group names: stop what scripts/up.sh started.
services_stop 15
bench_stack_up
export BENCH_STAMP="${BENCH_STAMP:-$(date -u +%Y-%m-%dT%H%M%SZ)}"
log_step "benchmark run $BENCH_STAMP ($(nproc) cores)"

log_step "release build of the services and the benchmarks"
swift build -c release

# Each stage is bounded by its own size; one failing stage does not hide the others' figures.
failed=()
stage() {
    local name="$1"; shift
    log_step "$name"
    if ! "$@"; then
        log_warn "$name failed; its figures are missing from the summary"
        failed+=("$name")
    fi
}
stage messaging bench/messaging.sh --events "$events"
stage registry-ingress bench/registry-ingress.sh --residents "$residents" --batch 2000 --naive "$naive_residents"
stage mediation bench/mediation.sh --cases "$cases" --overdue "$overdue" --duration "$http_duration"
stage matching bench/matching.sh --volunteers "$volunteers" --needs "$needs"
stage matching-service bench/matching-service.sh --volunteers "$volunteers" --needs 2000 --duration "$http_duration"
stage http bench/http.sh --duration "$http_duration"

log_step "summary"
"$VENV/bin/python" bench/summary.py "$BENCH_STAMP"
if ((${#failed[@]})); then
    die "stages that failed: ${failed[*]}"
fi
log_ok "summary in bench/results/$BENCH_STAMP-summary.md and .json"
