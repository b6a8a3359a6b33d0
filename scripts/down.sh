#!/usr/bin/env bash
# Stop what scripts/up.sh started: the four services (SIGTERM, up to 15 s, then
# SIGKILL), then the local stack (PostgreSQL data is discarded).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if compgen -G "$PIDS_DIR/*.pid" >/dev/null; then
    log_step "stopping services"
    services_stop 15
else
    log_info "no services running"
fi
log_step "stopping the stack"
"$ROOT/scripts/stack.sh" stop
