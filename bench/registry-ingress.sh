#!/usr/bin/env bash
# The registry's district bulk import on the local stack, release build, next to PostgreSQL COPY of
# the same rows in the same run. Prints a markdown table and writes
# bench/results/<date>-registry-ingress.md and .json.
#   bench/registry-ingress.sh [--residents N] [--batch B]     (defaults 200000, 2000)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

residents=200000
batch=2000
while (($#)); do
    case "$1" in
        --residents) residents="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        *) die "unknown option $1 (use --residents N, --batch B)" ;;
    esac
done

bench_stack_up

log_step "swift build -c release (registry-ingress-bench)"
swift build -c release --product registry-ingress-bench

mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%dT%H%M%SZ)-registry-ingress"
{
    echo "# Registry district import, $(date -u +%Y-%m-%d), $(nproc) cores"
    echo
    .build/release/registry-ingress-bench --residents "$residents" --batch "$batch" --json "$out.json"
} | tee "$out.md"
log_ok "results in $out.md and $out.json"
