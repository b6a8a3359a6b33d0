#!/usr/bin/env bash
# The registry's district bulk import on the local stack, release build, next to PostgreSQL COPY of
# the same rows in the same run. Prints a markdown table and writes
# bench/results/<date>-registry-ingress.md and .json.
#   bench/registry-ingress.sh [--residents N] [--batch B] [--naive M]     (defaults 200000, 2000, 5000)
# --naive M also runs the naive integration script (bench/baselines.py naive-ingress) on M residents
# in the same run; 0 skips it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

residents=200000
batch=2000
naive=5000
while (($#)); do
    case "$1" in
        --residents) residents="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        --naive) naive="$2"; shift 2 ;;
        *) die "unknown option $1 (use --residents N, --batch B, --naive M)" ;;
    esac
done

bench_stack_up

log_step "swift build -c release (registry-ingress-bench)"
swift build -c release --product registry-ingress-bench

mkdir -p bench/results
out="bench/results/${BENCH_STAMP:-$(date -u +%Y-%m-%dT%H%M%SZ)}-registry-ingress"
{
    echo "# Registry district import, $(date -u +%Y-%m-%d), $(nproc) cores"
    echo
    .build/release/registry-ingress-bench --residents "$residents" --batch "$batch" --json "$out.json"
    if ((naive > 0)); then
        echo
        echo "## Baseline (same run): the naive integration script, one transaction per resident"
        echo
        echo "| measure | value | unit |"
        echo "| --- | ---: | --- |"
        "$VENV/bin/python" bench/baselines.py naive-ingress "$naive" | tee "$out.baselines.jsonl" |
            "$VENV/bin/python" -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    print("| %s | %.2f | %s |" % (m["measure"], m["value"], m["unit"]))'
    fi
} | tee "$out.md"
log_ok "results in $out.md and $out.json"
