#!/usr/bin/env bash
# THE test command (also what CI runs via .ci/run).
#   scripts/test.sh [swift test args...]     e.g. scripts/test.sh --filter IntegrationTests
# Installs what is missing, tests the Prometheus alert rules (promtool), starts the local
# stack unless one is already running (and stops it again at exit only if it started it),
# then builds and runs the tests with the stack's environment, and on a full run (no arguments)
# fuzzes every service's HTTP API (scripts/fuzz-http.sh). Exits non-zero when any step fails.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

STACK="$ROOT/scripts/stack.sh"
started_stack=0

# shellcheck disable=SC2329  # invoked by the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if ((started_stack)); then
        log_step "stopping the stack this run started"
        "$STACK" stop || log_warn "stack stop failed (try scripts/stack.sh stop)"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0="$(now_s)"
"$ROOT/scripts/setup.sh"

# The alert rules and their tests (deploy/prometheus): seconds, and no stack needed.
log_step "promtool test rules alerts.test.yml"
rc=0
(cd "$ROOT/deploy/prometheus" && promtool check rules alerts.yml && promtool test rules alerts.test.yml) || rc=$?
((rc == 0)) || die "the alert rules in deploy/prometheus fail their tests (exit $rc)"

if "$STACK" status >/dev/null 2>&1; then
    log_info "using the stack that is already running (it will be left running)"
else
    started_stack=1
    "$STACK" start
fi

# shellcheck source=/dev/null
source "$STATE_DIR/stack.env"
export CITY_TEST_STACK=1
export CITY_STACK_SCRIPT="$ROOT/scripts/stack.sh"
log_info "Kafka $KAFKA_BOOTSTRAP_SERVERS, PostgreSQL $POSTGRES_HOST:$POSTGRES_PORT (setup+stack: $(elapsed_since "$t0"))"

log_step "swift build --build-tests"
t_build="$(now_s)"
rc=0
swift build --build-tests || rc=$?
log_info "build finished in $(elapsed_since "$t_build") (exit $rc)"
((rc == 0)) || exit "$rc"

log_step "swift test $*"
t_test="$(now_s)"
rc=0
swift test "$@" || rc=$?
log_info "tests finished in $(elapsed_since "$t_test") (exit $rc); total $(elapsed_since "$t0")"
((rc == 0)) || exit "$rc"

# HTTP fuzzing (scripts/fuzz-http.sh): on a full run only, not when arguments select tests. A 5xx
# from any service fails the run.
if (($# == 0)); then
    log_step "scripts/fuzz-http.sh"
    t_fuzz="$(now_s)"
    "$ROOT/scripts/fuzz-http.sh" || rc=$?
    log_info "fuzzing finished in $(elapsed_since "$t_fuzz") (exit $rc); total $(elapsed_since "$t0")"
fi
exit "$rc"
