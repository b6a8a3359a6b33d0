#!/usr/bin/env bash
# HTTP fuzzing: schemathesis against every service's /openapi.json with a valid token. Any 5xx
# answer (or a service that stops answering) fails the run.
#   scripts/fuzz-http.sh [service...]      default: registry mediation volunteer-matching bidding
#
# Needs the local stack running (scripts/stack.sh start) and a debug build (swift build).
# Starts the services from .build/debug on free loopback ports, each in a fresh schema of its
# own (fuzz_registry, fuzz_mediation, ...) and with a Tansu broker of their own, so fuzz data
# reaches neither other tests nor services started by up.sh. Mints a city-admin token with city
# scope, runs schemathesis per service, prints the counts, stops everything and drops the schemas
# on exit. The last line is `fuzz: N passed, M failed` (services).
#
# Environment:
#   FUZZ_MAX_EXAMPLES   test cases per operation and phase (default 20)
#   FUZZ_MAX_TIME       seconds per service (default 40)
#   FUZZ_SEED           schemathesis seed (default: a new one per run, printed; fixed under CI=true)
#   FUZZ_ALLOW_NUL      generate U+0000 in strings (default true)
#   FUZZ_KEEP_SCHEMAS=1 leave the fuzz_* schemas in the database for a look afterwards
# Reports and logs: .local/fuzz/<service>/ (schemathesis output, JSON report, service log).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# Pinned; works with the venv's Python (3.9 or newer).
FUZZ_PIP_PACKAGES=("schemathesis==4.32.5")
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-20}"
MAX_TIME="${FUZZ_MAX_TIME:-40}"
# CI replays one fixed seed, so that a landing does not depend on the draw; a developer's run draws
# a new one each time and prints it.
if [[ "${CI:-}" == "true" ]]; then
    SEED="${FUZZ_SEED:-20261204}"
else
    SEED="${FUZZ_SEED:-$(python3 -c 'import random; print(random.randrange(1, 2**31))')}"
fi
ALLOW_NUL="${FUZZ_ALLOW_NUL:-true}"
READY_TIMEOUT="${FUZZ_READY_TIMEOUT:-90}"
FUZZ_DIR="$STATE_DIR/fuzz"

t0="$(now_s)"

# --------------------------------------------------------------- what to fuzz ---
# name:schema of each service; the fuzz run's schema is fuzz_<schema>.
ALL=(registry:registry mediation:mediation volunteer-matching:volunteer_matching bidding:bidding)
targets=()
if (($#)); then
    for want in "$@"; do
        found=""
        for entry in "${ALL[@]}"; do
            [[ "${entry%%:*}" == "$want" ]] && found="$entry"
        done
        [[ -n "$found" ]] || die "unknown service '$want' (one of: registry mediation volunteer-matching bidding)"
        targets+=("$found")
    done
else
    targets=("${ALL[@]}")
fi

# ------------------------------------------------------------ preconditions ---
[[ -x "$VENV/bin/python" ]] || die "no .venv: run scripts/setup.sh first"
"$ROOT/scripts/stack.sh" status >/dev/null 2>&1 ||
    die "the local stack is not running: start it with scripts/stack.sh start (scripts/test.sh does)"
# shellcheck source=/dev/null
source "$STATE_DIR/stack.env"
for entry in "${targets[@]}"; do
    name="${entry%%:*}"
    [[ -x "$ROOT/.build/debug/$name" ]] || die ".build/debug/$name not found: build first (swift build)"
done

pinned_version="${FUZZ_PIP_PACKAGES[0]##*==}"
installed_version="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)"
if [[ "$installed_version" != "$pinned_version" ]]; then
    log_step "installing into .venv: ${FUZZ_PIP_PACKAGES[*]}"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${FUZZ_PIP_PACKAGES[@]}"
    "$VENV/bin/schemathesis" --version >/dev/null || die "pip finished but schemathesis does not run"
fi
log_info "schemathesis $pinned_version; $MAX_EXAMPLES examples per operation, ${MAX_TIME}s per service, seed $SEED"

fuzz_sql() {
    PGPASSWORD="$POSTGRES_PASSWORD" psql -v ON_ERROR_STOP=1 -tAq -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" \
        -U "$POSTGRES_USER" -d "$POSTGRES_DB" "$@"
}

drop_schemas() {
    local entry sql=""
    for entry in "${targets[@]}"; do
        sql+="DROP SCHEMA IF EXISTS fuzz_${entry##*:} CASCADE;"
    done
    fuzz_sql -c "SET client_min_messages = warning; $sql" >/dev/null
}

# ------------------------------------------------------------------ cleanup ---
service_pids=()
BENCH_KAFKA_PID=""
schemas_used=0

# shellcheck disable=SC2329  # invoked by the EXIT trap
cleanup() {
    local rc=$? pid deadline alive
    trap - EXIT INT TERM
    if ((${#service_pids[@]})); then
        for pid in "${service_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
        deadline=$(( $(date +%s) + 15 ))
        while :; do
            alive=0
            for pid in "${service_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
            if ((!alive)) || (( $(date +%s) >= deadline )); then break; fi
            sleep 0.2
        done
        for pid in "${service_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
        wait "${service_pids[@]}" 2>/dev/null || true
    fi
    if [[ -n "$BENCH_KAFKA_PID" ]]; then
        kill -TERM "$BENCH_KAFKA_PID" 2>/dev/null || true
        wait "$BENCH_KAFKA_PID" 2>/dev/null || true
    fi
    rm -rf "${FUZZ_DIR:?}/bin"
    if ((schemas_used)) && [[ "${FUZZ_KEEP_SCHEMAS:-0}" != 1 ]]; then
        drop_schemas 2>/dev/null || log_warn "could not drop the fuzz_* schemas"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------- start services ---
rm -rf "$FUZZ_DIR"
mkdir -p "$FUZZ_DIR/bin"
schemas_used=1
drop_schemas

# Run copies, so a `swift build` meanwhile neither fails on a busy executable nor swaps it mid-run.
for entry in "${targets[@]}"; do
    cp "$ROOT/.build/debug/${entry%%:*}" "$FUZZ_DIR/bin/"
done

bench_private_broker "$FUZZ_DIR/tansu.log"

# Secrets of this run only: nothing the repository publishes.
random_secret() { python3 -c 'import secrets; print(secrets.token_hex(32))'; }
AUTH_SECRET="$(random_secret)"
ID_DIGEST_KEY="$(random_secret)"
SEALING_KEY="$(random_secret)"
ports=()
log_step "starting ${#targets[@]} service(s) from .build/debug"
for entry in "${targets[@]}"; do
    name="${entry%%:*}"
    schema="fuzz_${entry##*:}"
    port="$(free_port)"
    ports+=("$port")
    mkdir -p "$FUZZ_DIR/$name"
    HTTP_HOST=127.0.0.1 HTTP_PORT="$port" POSTGRES_SCHEMA="$schema" KAFKA_BOOTSTRAP_SERVERS="$BENCH_KAFKA" \
        AUTH_JWT_SECRET="$AUTH_SECRET" LOG_LEVEL=info \
        REGISTRY_ID_DIGEST_KEY="$ID_DIGEST_KEY" BID_SEALING_KEY="$SEALING_KEY" \
        KAFKA_CREATE_TOPICS_ON_START=true KAFKA_SESSION_TIMEOUT_MS=6000 KAFKA_HEARTBEAT_INTERVAL_MS=500 \
        "$FUZZ_DIR/bin/$name" </dev/null >"$FUZZ_DIR/$name/service.log" 2>&1 &
    service_pids+=("$!")
    log_info "$name: pid $!, port $port, schema $schema"
done

log_step "waiting for /health/ready (max ${READY_TIMEOUT}s)"
deadline=$(( $(date +%s) + READY_TIMEOUT ))
for i in "${!targets[@]}"; do
    name="${targets[$i]%%:*}"
    until curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:${ports[$i]}/health/ready" 2>/dev/null; do
        if ! kill -0 "${service_pids[$i]}" 2>/dev/null; then
            log_tail "$FUZZ_DIR/$name/service.log"
            die "$name exited before becoming ready"
        fi
        if (( $(date +%s) >= deadline )); then
            log_tail "$FUZZ_DIR/$name/service.log"
            die "$name did not answer /health/ready within ${READY_TIMEOUT}s"
        fi
        sleep 0.5
    done
    log_ok "$name ready on :${ports[$i]}"
done

# A city-admin token with city scope for the secret the services were started with.
TOKEN="$(python3 - "$AUTH_SECRET" <<'PY'
import base64, hashlib, hmac, json, sys, time

def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

header = {"alg": "HS256", "typ": "JWT"}
claims = {"sub": "fuzz", "exp": int(time.time()) + 3600, "role": "city-admin", "scope": "city", "name": "HTTP fuzzing"}
signing_input = ".".join(b64url(json.dumps(p, separators=(",", ":")).encode()) for p in (header, claims))
signature = hmac.new(sys.argv[1].encode(), signing_input.encode(), hashlib.sha256).digest()
print(signing_input + "." + b64url(signature))
PY
)"

# ------------------------------------------------------------------- fuzz ---
passed=0
failed=0
summary=()
for i in "${!targets[@]}"; do
    name="${targets[$i]%%:*}"
    port="${ports[$i]}"
    dir="$FUZZ_DIR/$name"
    log_step "schemathesis against $name (http://127.0.0.1:$port/openapi.json)"
    t_service="$(now_s)"
    cmd=("$VENV/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json"
        --checks not_a_server_error
        --header "Authorization: Bearer $TOKEN"
        --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME" --seed "$SEED"
        --generation-allow-x00 "$ALLOW_NUL"
        --workers 1 --request-timeout 10 --no-color
        --suppress-health-check all --generation-database none
        --report json --report-json-path "$dir/report.json")
    rc=0
    # From the service's folder: schemathesis keeps its cache (.schemathesis/) in the working directory.
    (cd "$dir" && "${cmd[@]}") >"$dir/schemathesis.log" 2>&1 || rc=$?
    # The run's own account; the request and a curl line for every failure are in it.
    cat "$dir/schemathesis.log" >&2
    if ! kill -0 "${service_pids[$i]}" 2>/dev/null; then
        log_error "$name is no longer running"
        log_tail "$dir/service.log"
        rc=1
    fi
    line="$("$VENV/bin/python" - "$dir/report.json" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        r = json.load(f)
except (OSError, ValueError):
    print("no report")
    sys.exit(0)
ops = r.get("operations") or {}
cases = r.get("test_cases") or {}
errors = r.get("errors") or []
print(f"{ops.get('tested', 0)}/{ops.get('selected', 0)} operations, {cases.get('generated', 0)} test cases, "
      f"{cases.get('with_failures', 0)} with a 5xx ({cases.get('unique_failures', 0)} unique), "
      f"{sum(e['count'] for e in errors)} errors")
PY
)"
    if ((rc == 0)); then
        passed=$((passed + 1))
        summary+=("$(printf '%-20s passed  %s in %s' "$name" "$line" "$(elapsed_since "$t_service")")")
    else
        failed=$((failed + 1))
        summary+=("$(printf '%-20s FAILED  %s in %s (exit %s)' "$name" "$line" "$(elapsed_since "$t_service")" "$rc")")
    fi
done

log_step "summary (seed $SEED; reports under .local/fuzz/; total $(elapsed_since "$t0"))"
for s in "${summary[@]}"; do log_info "$s"; done
printf 'fuzz: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
