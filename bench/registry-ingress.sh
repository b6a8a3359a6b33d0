#!/usr/bin/env bash
# The registry's district bulk import on the local stack, release build, next to PostgreSQL COPY of
# the same rows in the same run. Prints a markdown table and writes
# bench/results/<date>-registry-ingress.md and .json.
#   bench/registry-ingress.sh [--residents N] [--batch B] [--naive M] [--rounds R]
#                                                              (defaults 200000, 2000, 5000, 3)
# --naive M also runs the naive integration script (bench/baselines.py naive-ingress) on M residents
# in the same run; 0 skips it. The import and the naive script take turns R times; the figures
# reported are each one's median round (the machine's speed moves by a tenth or more from one
# minute to the next), and every round is listed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

residents=200000
batch=2000
naive=5000
rounds=3
while (($#)); do
    case "$1" in
        --residents) residents="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        --naive) naive="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        *) die "unknown option $1 (use --residents N, --batch B, --naive M, --rounds R)" ;;
    esac
done

bench_stack_up

log_step "swift build -c release (registry-ingress-bench)"
swift build -c release --product registry-ingress-bench

mkdir -p bench/results
out="bench/results/${BENCH_STAMP:-$(date -u +%Y-%m-%dT%H%M%SZ)}-registry-ingress"
for ((round = 1; round <= rounds; round++)); do
    log_step "round $round of $rounds: the import"
    .build/release/registry-ingress-bench --residents "$residents" --batch "$batch" --json "$out.round$round.json" >"$out.round$round.md"
    if ((naive > 0)); then
        log_step "round $round of $rounds: the naive script"
        "$VENV/bin/python" bench/baselines.py naive-ingress "$naive" >"$out.round$round.baselines.jsonl"
    fi
done
"$VENV/bin/python" bench/ingress_rounds.py "$out" "$rounds" | tee "$out.md"
log_ok "results in $out.md and $out.json"
