#!/usr/bin/env bash
# Ranking a need's candidates among a million volunteers, in memory (release build, no database or broker):
#   1. building the candidate index from generated profiles, and the memory it holds;
#   2. one need's ranking, timed for every need: p50/p99/max;
#   3. a batch in which each need books 1–3 of its candidates, so later needs cannot double-book them;
#   4. a spot check of 200 rankings against the reference engine (the run fails on any disagreement).
# Prints a markdown table and writes bench/results/<date>-matching.md.
#   bench/matching.sh [--volunteers N] [--needs M] [--grids G] [--seed S] [--limit L]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

volunteers=1000000
needs=20000
grids=20000
seed=42
limit=10
while (($#)); do
    case "$1" in
        --volunteers) volunteers="$2"; shift 2 ;;
        --needs) needs="$2"; shift 2 ;;
        --grids) grids="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --limit) limit="$2"; shift 2 ;;
        *) die "unknown option $1 (use --volunteers N, --needs M, --grids G, --seed S, --limit L)" ;;
    esac
done

log_step "swift build -c release (matching-bench)"
swift build -c release --product matching-bench

mkdir -p bench/results
out="bench/results/${BENCH_STAMP:-$(date -u +%Y-%m-%dT%H%M%SZ)}-matching"
if ! .build/release/matching-bench --volunteers "$volunteers" --needs "$needs" --grids "$grids" --seed "$seed" --limit "$limit" \
    | tee "$out.md"; then
    die "matching-bench failed: the index disagreed with the reference or booked someone twice (see $out.md)"
fi
log_ok "results in $out.md"
