#!/usr/bin/env bash
# Throwaway local stack: PostgreSQL 15 + Tansu (Kafka-compatible broker), both on
# free loopback ports, all state under .local/.
#
#   scripts/stack.sh start     start both (keeps an already running stack), write .local/stack.env
#   scripts/stack.sh stop      stop both, delete the PostgreSQL data and .local/stack.env
#   scripts/stack.sh status    show what runs (exit 0 when both are up, 3 otherwise)
#   scripts/stack.sh env       print .local/stack.env (source it: `source .local/stack.env`)
#   scripts/stack.sh pg-stop   stop only PostgreSQL, keep its data and port
#   scripts/stack.sh pg-start  start PostgreSQL again after pg-stop (same data and port)
#   scripts/stack.sh psql [ARGS...]  psql as user city on database city
#
# Environment: STACK_PG_FSYNC=off to run PostgreSQL without fsync (faster, unsafe);
#              STACK_START_TIMEOUT (seconds, default 30).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_DIR="$STATE_DIR/pg"
PG_DATA="$PG_DIR/data"
PG_LOG="$STATE_DIR/pg.log"
PG_PIDFILE="$STATE_DIR/pg.pid"
PG_PORTFILE="$STATE_DIR/pg.port"
PG_SOCKFILE="$STATE_DIR/pg.sockdir"   # where the unix socket lives (normally .local/pg)
TANSU_LOG="$STATE_DIR/tansu.log"
TANSU_PIDFILE="$STATE_DIR/tansu.pid"
TANSU_PORTFILE="$STATE_DIR/tansu.port"
STACK_ENV="$STATE_DIR/stack.env"

DB_USER=city
DB_PASSWORD=city
DB_NAME=city
START_TIMEOUT="${STACK_START_TIMEOUT:-30}"

PG_BIN="$(pg_bin_dir)" || die "PostgreSQL server binaries not found under /usr/lib/postgresql (run scripts/setup.sh)"

# PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user.
if [[ "$(id -u)" -eq 0 ]]; then
    PG_OWNER=postgres
    id "$PG_OWNER" >/dev/null 2>&1 || die "system user '$PG_OWNER' missing (is the postgresql package installed?)"
else
    PG_OWNER="$(id -un)"
fi

as_pg() {
    # cd / so the tools never trip over a working directory the owner cannot enter.
    if [[ "$(id -u)" -eq 0 ]]; then
        (cd / && runuser -u "$PG_OWNER" -- "$@")
    else
        (cd / && "$@")
    fi
}

read_file() { [[ -f "$1" ]] && head -n1 "$1" || true; }

pg_sock_dir() {
    local d
    d="$(read_file "$PG_SOCKFILE")"
    printf '%s\n' "${d:-$PG_DIR}"
}

# ------------------------------------------------------------ liveness -------
pg_running() {
    [[ -f "$PG_DATA/postmaster.pid" ]] || return 1
    as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

pg_accepting() {
    local port
    port="$(read_file "$PG_PORTFILE")"
    [[ -n "$port" ]] || return 1
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2 >/dev/null 2>&1
}

tansu_running() { pid_alive "$TANSU_PIDFILE" tansu; }

# Ask Tansu for metadata, retrying until DEADLINE (epoch seconds). Exit 0 when it answers.
kafka_wait_metadata() {
    local bootstrap="$1" deadline="$2"
    LD_LIBRARY_PATH="$(ld_library_path_with_ours)" "$VENV/bin/python" - "$bootstrap" "$deadline" <<'PY'
import sys, time
from confluent_kafka.admin import AdminClient
bootstrap, deadline = sys.argv[1], float(sys.argv[2])
last = None
while True:
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
        md = admin.list_topics(timeout=min(2.0, max(0.5, deadline - time.time())))
        if md.brokers:
            sys.exit(0)
        last = "metadata without brokers"
    except Exception as e:  # KafkaException on timeout
        last = e
    if time.time() >= deadline:
        print(f"no Kafka metadata from {bootstrap}: {last}", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.2)
PY
}

# --------------------------------------------------------- PostgreSQL --------
# The postgres user must be able to reach the data directory.
ensure_traversable() {
    [[ "$(id -u)" -eq 0 ]] || return 0
    local d="$1"
    while [[ -n "$d" && "$d" != "/" ]]; do
        if ! runuser -u "$PG_OWNER" -- test -x "$d" 2>/dev/null; then
            log_warn "making $d traversable (o+x) so '$PG_OWNER' can reach the data directory"
            chmod o+x "$d"
        fi
        d="$(dirname "$d")"
    done
}

pg_init() {
    local port="$1" sockdir="$PG_DIR" fsync="${STACK_PG_FSYNC:-on}"

    rm -rf "$PG_DIR"
    mkdir -p "$PG_DIR"
    # Unix socket paths are limited to ~107 bytes; fall back to a short temp dir.
    if (( ${#sockdir} + 20 > 100 )); then
        sockdir="$(mktemp -d "${TMPDIR:-/tmp}/city-pg.XXXXXX")"
        log_info "checkout path is long; PostgreSQL socket goes to $sockdir"
        chown "$PG_OWNER" "$sockdir"
    fi
    printf '%s\n' "$sockdir" >"$PG_SOCKFILE"
    chown "$PG_OWNER" "$PG_DIR"
    ensure_traversable "$PG_DIR"
    : >"$PG_LOG"
    chown "$PG_OWNER" "$PG_LOG"

    # Local (socket) connections: trust, for the cluster owner's own admin work.
    # TCP: password (scram-sha-256) for everyone.
    if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions \
        >>"$PG_LOG" 2>&1; then
        log_error "initdb failed"
        log_tail "$PG_LOG"
        return 1
    fi
    cat >>"$PG_DATA/postgresql.conf" <<EOF

# ---- local stack (scripts/stack.sh) ----
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
max_connections = 200
fsync = $fsync
# The services write in bursts (a district import, group commits): room for the WAL between
# checkpoints, so that a checkpoint's final flush comes every 15 minutes, not every few seconds
# of an import, and commits do not wait behind it.
shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 15min
EOF
}

# Start an initialised cluster and wait (pg_ctl -w) until it accepts connections.
pg_launch() {
    local timeout="$1"
    (( timeout >= 5 )) || timeout=5
    if ! as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t "$timeout" >/dev/null 2>&1; then
        log_error "PostgreSQL did not start within ${timeout}s"
        log_tail "$PG_LOG"
        return 1
    fi
    head -n1 "$PG_DATA/postmaster.pid" >"$PG_PIDFILE"
}

pg_wait_ready() {
    local port="$1" deadline="$2"
    until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 >/dev/null 2>&1; do
        if (( $(date +%s) >= deadline )); then
            log_error "PostgreSQL on 127.0.0.1:$port does not accept connections"
            log_tail "$PG_LOG"
            return 1
        fi
        sleep 0.2
    done
}

pg_create_app_role() {
    local port="$1"
    if ! as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_sock_dir)" -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE $DB_USER LOGIN SUPERUSER PASSWORD '$DB_PASSWORD'" \
        -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >/dev/null; then
        log_error "could not create role/database '$DB_USER'"
        log_tail "$PG_LOG"
        return 1
    fi
    # Check what the services will do: password login over TCP.
    if ! PGPASSWORD="$DB_PASSWORD" "$PG_BIN/psql" -X -qAt -h 127.0.0.1 -p "$port" -U "$DB_USER" -d "$DB_NAME" \
        -c 'SELECT 1' >/dev/null; then
        log_error "password login as '$DB_USER' over TCP failed"
        log_tail "$PG_LOG"
        return 1
    fi
}

pg_halt() {
    # Stop PostgreSQL (fast mode), keep the data. Quiet when it is not running.
    if pg_running; then
        if ! as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 30 >/dev/null 2>&1; then
            log_warn "pg_ctl stop failed; killing the postmaster"
            local pid
            pid="$(read_file "$PG_DATA/postmaster.pid")"
            [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
        fi
    fi
    rm -f "$PG_PIDFILE"
}

# -------------------------------------------------------------- Tansu --------
tansu_launch() {
    local port="$1" tansu
    tansu="$(tansu_bin)" || die "tansu binary not found in .venv (run scripts/setup.sh)"
    : >"$TANSU_LOG"
    # Explicit flags win over any CLUSTER_ID / LISTENER_URL / STORAGE_ENGINE in the environment.
    local cmd=("$tansu" broker
        --storage-engine memory://tansu/
        --listener-url "tcp://127.0.0.1:$port"
        --advertised-listener-url "tcp://127.0.0.1:$port")
    printf '%q ' "${cmd[@]}" | sed "s#$ROOT/##g" >>"$TANSU_LOG"
    printf '\n' >>"$TANSU_LOG"
    # setsid + nohup: the broker outlives this script and the terminal.
    setsid nohup "${cmd[@]}" </dev/null >>"$TANSU_LOG" 2>&1 &
    echo $! >"$TANSU_PIDFILE"
}

tansu_halt() {
    if tansu_running; then
        local pid i
        pid="$(read_file "$TANSU_PIDFILE")"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log_warn "tansu (pid $pid) ignored SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$TANSU_PIDFILE"
}

# ------------------------------------------------------------ env file -------
write_env() {
    local pg_port="$1" kafka_port="$2" tmp="$STACK_ENV.tmp"
    {
        echo "# Written by scripts/stack.sh start; removed by scripts/stack.sh stop."
        echo "export POSTGRES_HOST=127.0.0.1"
        echo "export POSTGRES_PORT=$pg_port"
        echo "export POSTGRES_USER=$DB_USER"
        echo "export POSTGRES_PASSWORD=$DB_PASSWORD"
        echo "export POSTGRES_DB=$DB_NAME"
        echo "export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$kafka_port"
        # shellcheck disable=SC2016  # ${LD_LIBRARY_PATH} is expanded when the file is sourced
        printf 'export LD_LIBRARY_PATH=%q"${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"\n' "$RDKAFKA_LIB_DIR"
        printf 'export STACK_PG_BIN=%q\n' "$PG_BIN"
        printf 'export STACK_PG_DATA=%q\n' "$PG_DATA"
        printf 'export STACK_PG_PID_OWNER=%q\n' "$PG_OWNER"
    } >"$tmp"
    mv -f "$tmp" "$STACK_ENV"
}

# ------------------------------------------------------------ commands -------
cmd_status() {
    local pg_port kafka_port rc=0
    pg_port="$(read_file "$PG_PORTFILE")"
    kafka_port="$(read_file "$TANSU_PORTFILE")"
    if pg_running; then
        if pg_accepting; then
            echo "postgres: up    127.0.0.1:$pg_port (pid $(read_file "$PG_DATA/postmaster.pid"), data ${PG_DATA#"$ROOT"/}, user $DB_USER/$DB_PASSWORD, db $DB_NAME)"
        else
            echo "postgres: running but not accepting connections on 127.0.0.1:$pg_port"
            rc=3
        fi
    elif [[ -d "$PG_DATA" ]]; then
        echo "postgres: stopped (data kept in ${PG_DATA#"$ROOT"/}, port ${pg_port:-?}; 'stack.sh pg-start' restarts it)"
        rc=3
    else
        echo "postgres: down"
        rc=3
    fi
    if tansu_running; then
        echo "tansu:    up    127.0.0.1:$kafka_port (pid $(read_file "$TANSU_PIDFILE"))"
    else
        echo "tansu:    down"
        rc=3
    fi
    if [[ -f "$STACK_ENV" ]]; then
        echo "env:      ${STACK_ENV#"$ROOT"/}"
    elif ((rc == 0)); then
        echo "env:      missing (${STACK_ENV#"$ROOT"/}); 'stack.sh start' restarts the stack"
        rc=3
    fi
    return "$rc"
}

_start_failed() {
    local rc=$?
    trap - EXIT
    log_error "stack start failed; cleaning up (logs: ${PG_LOG#"$ROOT"/}, ${TANSU_LOG#"$ROOT"/})"
    cmd_stop >/dev/null 2>&1 || true
    exit $(( rc == 0 ? 1 : rc ))
}

cmd_start() {
    local started deadline
    started="$(now_s)"
    deadline=$(( $(date +%s) + START_TIMEOUT ))

    case "${STACK_PG_FSYNC:-on}" in
        on|off) ;;
        *) die "STACK_PG_FSYNC must be 'on' or 'off' (got '$STACK_PG_FSYNC')" ;;
    esac
    [[ -n "$(tansu_bin)" && -e "$RDKAFKA_LIB_DIR/librdkafka.so.1" ]] ||
        die "tansu or .local/lib/librdkafka.so.1 missing: run scripts/setup.sh first"

    local pg_up=0 tansu_up=0
    pg_running && pg_up=1
    tansu_running && tansu_up=1
    if ((pg_up && tansu_up)) && pg_accepting && [[ -f "$STACK_ENV" ]]; then
        log_info "stack already running; keeping it"
        cmd_status >&2 || true
        return 0
    fi
    if ((pg_up || tansu_up)); then
        log_warn "stack partially running (postgres=$pg_up tansu=$tansu_up); restarting it from scratch"
        cmd_stop
    fi

    mkdir -p "$STATE_DIR"
    rm -f "$STACK_ENV"
    local pg_port kafka_port
    pg_port="$(free_port)"
    kafka_port="$(free_port)"
    while [[ "$kafka_port" == "$pg_port" ]]; do kafka_port="$(free_port)"; done
    echo "$pg_port" >"$PG_PORTFILE"
    echo "$kafka_port" >"$TANSU_PORTFILE"

    # From here on, any failure tears down whatever was started (set -e + EXIT trap).
    trap '_start_failed' EXIT

    log_step "starting Tansu on 127.0.0.1:$kafka_port"
    tansu_launch "$kafka_port"

    log_step "initialising PostgreSQL in ${PG_DATA#"$ROOT"/} (port $pg_port, fsync=${STACK_PG_FSYNC:-on})"
    pg_init "$pg_port"
    pg_launch "$(( deadline - $(date +%s) ))"
    pg_wait_ready "$pg_port" "$deadline"
    pg_create_app_role "$pg_port"
    log_ok "PostgreSQL ready on 127.0.0.1:$pg_port (role $DB_USER, database $DB_NAME)"

    if ! tansu_running; then
        log_error "Tansu exited right after start"
        log_tail "$TANSU_LOG"
        return 1
    fi
    if ! kafka_wait_metadata "127.0.0.1:$kafka_port" "$deadline"; then
        log_error "Tansu does not answer a Kafka metadata request on 127.0.0.1:$kafka_port"
        log_tail "$TANSU_LOG"
        return 1
    fi
    log_ok "Tansu ready on 127.0.0.1:$kafka_port"

    write_env "$pg_port" "$kafka_port"
    trap - EXIT
    log_ok "stack up in $(elapsed_since "$started"); environment in ${STACK_ENV#"$ROOT"/} (source it)"
}

cmd_stop() {
    local did=0
    if tansu_running; then
        tansu_halt
        log_ok "Tansu stopped"
        did=1
    fi
    rm -f "$TANSU_PIDFILE" "$TANSU_PORTFILE"
    if pg_running; then
        pg_halt
        log_ok "PostgreSQL stopped"
        did=1
    fi
    local sockdir
    sockdir="$(read_file "$PG_SOCKFILE")"
    if [[ -n "$sockdir" && "$(basename "$sockdir")" == city-pg.* ]]; then
        rm -rf "$sockdir"
    fi
    if [[ -d "$PG_DIR" ]]; then
        rm -rf "$PG_DIR"
        did=1
    fi
    rm -f "$PG_PIDFILE" "$PG_PORTFILE" "$PG_SOCKFILE" "$STACK_ENV" "$STACK_ENV.tmp"
    if ((did)); then
        log_ok "stack stopped; PostgreSQL data and stack.env removed"
    else
        log_info "nothing running"
    fi
}

cmd_env() {
    [[ -f "$STACK_ENV" ]] || die "no ${STACK_ENV#"$ROOT"/}: the stack is not running (scripts/stack.sh start)"
    cat "$STACK_ENV"
}

cmd_pg_stop_only() {
    [[ -d "$PG_DATA" ]] || die "no PostgreSQL data directory: the stack is not running"
    if pg_running; then
        pg_halt
        log_ok "PostgreSQL stopped (data and port kept; 'stack.sh pg-start' restarts it)"
    else
        log_info "PostgreSQL already stopped"
    fi
}

cmd_pg_start_only() {
    [[ -d "$PG_DATA" ]] || die "no PostgreSQL data directory: use 'stack.sh start'"
    local port deadline
    port="$(read_file "$PG_PORTFILE")"
    deadline=$(( $(date +%s) + START_TIMEOUT ))
    if pg_running; then
        log_info "PostgreSQL already running on 127.0.0.1:$port"
    else
        pg_launch "$START_TIMEOUT" || die "PostgreSQL failed to start"
    fi
    pg_wait_ready "$port" "$deadline" || die "PostgreSQL does not accept connections"
    log_ok "PostgreSQL up on 127.0.0.1:$port"
}

cmd_psql() {
    local port
    port="$(read_file "$PG_PORTFILE")"
    if [[ -z "$port" ]] || ! pg_running; then
        die "PostgreSQL is not running (scripts/stack.sh start)"
    fi
    PGPASSWORD="$DB_PASSWORD" exec "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U "$DB_USER" -d "$DB_NAME" "$@"
}

usage() {
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
}

case "${1:-}" in
    start)            shift; cmd_start ;;
    stop)             shift; cmd_stop ;;
    status)           shift; cmd_status ;;
    env)              shift; cmd_env ;;
    pg-stop)          shift; cmd_pg_stop_only ;;
    pg-start)         shift; cmd_pg_start_only ;;
    psql)             shift; cmd_psql "$@" ;;
    -h|--help|help)   usage ;;
    *)                usage >&2; exit 2 ;;
esac
