#!/usr/bin/env bash
# The messaging path (outbox → relay → Kafka → inbox) on the local stack, release build, with the
# baselines (COPY, kcat, the naive consumer) measured in the same run. Prints a markdown table and
# writes bench/results/<stamp>-messaging.md, .json and .baselines.jsonl. bench/run.sh runs it.
#   bench/messaging.sh [--events N]     (default 100000)
# Loopback only; every run is bounded by its event count.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

events=100000
while (($#)); do
    case "$1" in
        --events) events="$2"; shift 2 ;;
        *) die "unknown option $1 (use --events N)" ;;
    esac
done

bench_stack_up

log_step "swift build -c release (messaging-bench)"
swift build -c release --product messaging-bench

mkdir -p bench/results
out="bench/results/${BENCH_STAMP:-$(date -u +%Y-%m-%dT%H%M%SZ)}-messaging"
naive_events=$(( events / 10 ))
{
    echo "# Messaging benchmark, $(date -u +%Y-%m-%d), $(nproc) cores"
    echo
    .build/release/messaging-bench --events "$events" --json "$out.json"
    echo
    echo "## Baselines (same run)"
    echo
    echo "| measure | value | unit |"
    echo "| --- | ---: | --- |"
    for baseline in "copy $events" "kcat $events" "naive $naive_events"; do
        # shellcheck disable=SC2086  # two words on purpose
        "$VENV/bin/python" bench/baselines.py $baseline | tee -a "$out.baselines.jsonl" |
            "$VENV/bin/python" -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    print("| %s | %.0f | %s |" % (m["measure"], m["value"], m["unit"]))'
    done
} | tee "$out.md"
log_ok "results in $out.md and $out.json"
