#!/usr/bin/env bash
# Quick start: everything on this machine, no Docker.
#   scripts/up.sh      install what is missing, start PostgreSQL + Tansu, build, start
#                      the four services on 127.0.0.1:8081..8084, load seeds if
#                      scripts/load-seeds.sh exists, print the URLs
#   scripts/down.sh    stop it all
# Running up.sh again rebuilds and restarts the services (the stack is kept).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

READY_TIMEOUT="${UP_READY_TIMEOUT:-60}"
t0="$(now_s)"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/stack.sh" start
# shellcheck source=/dev/null
source "$STATE_DIR/stack.env"
load_local_secrets

log_step "swift build"
t_build="$(now_s)"
swift build
log_info "build finished in $(elapsed_since "$t_build")"

mkdir -p "$PIDS_DIR" "$LOGS_DIR"

# Services left over from an earlier up.sh: restart them on the fresh build.
services_stop 15

for entry in "${SERVICES[@]}"; do
    name="${entry%%:*}"
    port="${entry##*:}"
    [[ -x "$ROOT/.build/debug/$name" ]] || die "executable .build/debug/$name not found after the build"
    if port_in_use "$port"; then
        die "port $port (for $name) is already in use by another process; free it and retry"
    fi
done

log_step "starting services"
for entry in "${SERVICES[@]}"; do
    name="${entry%%:*}"
    port="${entry##*:}"
    log="$LOGS_DIR/$name.log"
    : >"$log"
    # setsid + nohup: the services outlive this script and the terminal.
    # The local broker joins consumer groups in seconds only with short session timeouts; topics are
    # created with the partitions the services expect.
    HTTP_HOST=127.0.0.1 HTTP_PORT="$port" \
        AUTH_JWT_SECRET="$AUTH_JWT_SECRET" LOG_LEVEL=info \
        REGISTRY_ID_DIGEST_KEY="$REGISTRY_ID_DIGEST_KEY" BID_SEALING_KEY="$BID_SEALING_KEY" \
        KAFKA_CREATE_TOPICS_ON_START=true KAFKA_SESSION_TIMEOUT_MS=6000 KAFKA_HEARTBEAT_INTERVAL_MS=500 \
        setsid nohup "$ROOT/.build/debug/$name" </dev/null >>"$log" 2>&1 &
    echo $! >"$PIDS_DIR/$name.pid"
    log_info "$name: pid $!, port $port, log ${log#"$ROOT"/}"
done

log_step "waiting for /health/ready (max ${READY_TIMEOUT}s)"
deadline=$(( $(date +%s) + READY_TIMEOUT ))
pending=("${SERVICES[@]}")
while ((${#pending[@]})); do
    still=()
    for entry in "${pending[@]}"; do
        name="${entry%%:*}"
        port="${entry##*:}"
        if curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null; then
            log_ok "$name ready on :$port"
        elif ! pid_alive "$PIDS_DIR/$name.pid" "$name"; then
            log_error "$name exited before becoming ready"
            log_tail "$LOGS_DIR/$name.log"
            log_info "the other services may still run: stop everything with scripts/down.sh"
            exit 1
        else
            still+=("$entry")
        fi
    done
    pending=("${still[@]+"${still[@]}"}")
    ((${#pending[@]})) || break
    if (( $(date +%s) >= deadline )); then
        for entry in "${pending[@]}"; do
            name="${entry%%:*}"
            log_error "$name did not answer http://127.0.0.1:${entry##*:}/health/ready within ${READY_TIMEOUT}s"
            log_tail "$LOGS_DIR/$name.log"
        done
        log_info "stop everything with scripts/down.sh"
        exit 1
    fi
    sleep 0.5
done

if [[ -x "$ROOT/scripts/load-seeds.sh" ]]; then
    log_step "loading seeds (scripts/load-seeds.sh)"
    export REGISTRY_URL=http://127.0.0.1:8081 MEDIATION_URL=http://127.0.0.1:8082 \
        VOLUNTEER_MATCHING_URL=http://127.0.0.1:8083 BIDDING_URL=http://127.0.0.1:8084 AUTH_JWT_SECRET
    "$ROOT/scripts/load-seeds.sh"
fi

echo
printf '%-20s %-8s %-28s %s\n' SERVICE PID URL LOG
for entry in "${SERVICES[@]}"; do
    name="${entry%%:*}"
    port="${entry##*:}"
    printf '%-20s %-8s %-28s %s\n' "$name" "$(head -n1 "$PIDS_DIR/$name.pid")" \
        "http://127.0.0.1:$port" ".local/logs/$name.log"
done
echo
echo "PostgreSQL  $POSTGRES_HOST:$POSTGRES_PORT  user/password $POSTGRES_USER/$POSTGRES_PASSWORD  db $POSTGRES_DB  (scripts/stack.sh psql)"
echo "Kafka       $KAFKA_BOOTSTRAP_SERVERS (Tansu)"
echo "Health      curl http://127.0.0.1:8081/health/ready"
echo "Stop        scripts/down.sh"
log_info "up in $(elapsed_since "$t0")"
