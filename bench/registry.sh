#!/usr/bin/env bash
# The registry issue's measurement: a district's bulk import through `district.inbound`, end to end
# (consumed, validated, written, registry event published by the relay), next to a plain PostgreSQL
# COPY of the same rows into the same table in the same run. Release build, local stack. Prints a
# markdown table and writes bench/results/<date>-registry.md and .json.
#   bench/registry.sh [--residents N] [--households H] [--batch B] [--relay-batch R]
#       defaults: 200000, N/2, 2000 (consumer batch), 2000 (relay batch)
# Loopback only; bounded by the record count.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

args=()
while (($#)); do
    case "$1" in
        --residents | --households | --batch | --relay-batch)
            (($# >= 2)) || die "$1 needs a value"
            [[ "$2" =~ ^[0-9]+$ ]] || die "$1 takes a number, got '$2'"
            args+=("$1" "$2"); shift 2 ;;
        *) die "unknown option $1 (use --residents N, --households H, --batch B, --relay-batch R)" ;;
    esac
done

bench_stack_up

log_step "swift build -c release (registry-bench)"
swift build -c release --product registry-bench

# Whose CPU time the benchmark reports beside its own: the stack's postmaster and broker.
BENCH_PG_PID="$(head -n 1 "$STACK_PG_DATA/postmaster.pid" 2>/dev/null || true)"
BENCH_BROKER_PID="$(cat "$STATE_DIR/tansu.pid" 2>/dev/null || true)"
export BENCH_PG_PID BENCH_BROKER_PID

mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%dT%H%M%SZ)-registry"
{
    echo "# Registry district bulk import, $(date -u +%Y-%m-%d), $(nproc) cores"
    echo
    .build/release/registry-bench "${args[@]}" --json "$out.json"
} | tee "$out.md"
log_ok "results in $out.md and $out.json"
