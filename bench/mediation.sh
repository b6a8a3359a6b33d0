#!/usr/bin/env bash
# The mediation service on a large case table, release build:
#   1. the deadline watcher finding and escalating the overdue cases among a million open ones;
#   2. case creation through the API under load: wrk against the service on 127.0.0.1, p50/p99.
# Prints a markdown table and writes bench/results/<date>-mediation.md.
#   bench/mediation.sh [--cases N] [--overdue M] [--duration S] [--connections C]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

cases=1000000
overdue=10000
duration=20
connections=16
while (($#)); do
    case "$1" in
        --cases) cases="$2"; shift 2 ;;
        --overdue) overdue="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        *) die "unknown option $1 (use --cases N, --overdue M, --duration S, --connections C)" ;;
    esac
done

bench_stack_up
command -v wrk >/dev/null || die "wrk is missing (scripts/setup.sh installs it)"

log_step "swift build -c release (mediation-bench, mediation)"
swift build -c release --product mediation-bench
swift build -c release --product mediation

schema="bench_mediation_$(date -u +%H%M%S)"
secret="bench-secret-0123456789abcdef0123456789"
port="$(free_port)"
# The service starts inside the `{ …; } | tee` block, a subshell: its pid goes through a file so that
# this trap can stop it too (a service left running would compete with the stages after this one).
pid_file="$(mktemp)"
finish() {
    local pid
    pid="$(cat "$pid_file" 2>/dev/null || true)"
    if [[ -n "$pid" ]]; then
        kill "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    fi
    rm -f "$pid_file"
    bench_sql -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
    if ((${BENCH_STARTED_STACK:-0})); then "$ROOT/scripts/stack.sh" stop >/dev/null || true; fi
}
trap finish EXIT

mkdir -p bench/results
out="bench/results/${BENCH_STAMP:-$(date -u +%Y-%m-%dT%H%M%SZ)}-mediation"
{
    echo "# Mediation, $(date -u +%Y-%m-%d), $(nproc) cores"
    echo
    .build/release/mediation-bench --cases "$cases" --overdue "$overdue" --schema "$schema" --keep

    # The service on the same million cases; the watcher is slowed down so it does not compete.
    HTTP_HOST=127.0.0.1 HTTP_PORT="$port" POSTGRES_SCHEMA="$schema" AUTH_JWT_SECRET="$secret" LOG_LEVEL=error \
        KAFKA_CREATE_TOPICS_ON_START=true KAFKA_SESSION_TIMEOUT_MS=6000 KAFKA_HEARTBEAT_INTERVAL_MS=500 \
        DEADLINE_WATCH_INTERVAL_SECONDS=3600 .build/release/mediation >"$out.service.log" 2>&1 &
    service_pid=$!
    echo "$service_pid" >"$pid_file"
    bench_wait_ready "$port" mediation "$out.service.log"
    token="$(python3 -c 'import sys; sys.path.insert(0, "scripts"); import load_seeds; print(load_seeds.mint_token(sys.argv[1]))' "$secret")"
    before="$(bench_sql -c "SELECT count(*) FROM $schema.dispute_case")"
    BENCH_TOKEN="$token" wrk -t2 -c"$connections" -d"${duration}s" --latency -s bench/wrk-report-case.lua "http://127.0.0.1:$port" >"$out.wrk.txt"
    after="$(bench_sql -c "SELECT count(*) FROM $schema.dispute_case")"
    p50="$(awk '$1 == "50%" { print $2 }' "$out.wrk.txt")"
    p99="$(awk '$1 == "99%" { print $2 }' "$out.wrk.txt")"
    rps="$(awk '/^Requests\/sec/ { print $2 }' "$out.wrk.txt")"
    errors="$(grep -E 'Non-2xx|Socket errors' "$out.wrk.txt" || echo none)"
    echo "| **case creation through the API** (wrk, $connections connections, ${duration} s, each case accepted and routed) | **p50 $p50, p99 $p99**, $rps requests/s |"
    echo "| cases created during the load | $((after - before)) (errors: $errors) |"
} | tee "$out.md"
log_ok "results in $out.md"
