#!/usr/bin/env bash
# The four services over HTTP, release build, each under a paced load of its own:
#   1. builds registry, mediation, volunteer-matching and bidding in release mode and starts each on
#      127.0.0.1 on a free port, on a fresh PostgreSQL schema of its own (bench_http_<service>_<random>)
#      and on a private Tansu broker started for the run, so neither the data nor the consumer groups of
#      a running dev stack (scripts/up.sh, ports 8081-8084) are touched;
#   2. gives them a small city through their own APIs (a city-admin token, HS256 with AUTH_JWT_SECRET):
#      the registry's places, households, residents, organisations and roles (mediators, volunteers,
#      experts), which reach the other three through registry.events; then mediation cases, volunteer
#      needs, bidding projects and published tenders;
#   3. for each service, one READ (GET of one record by id) and one WRITE (a POST that creates a record),
#      each with wrk for --duration seconds paced towards --rate requests/s (bench/wrk-paced.lua says
#      how, and why the achieved rate is reported next to the target);
#   4. samples the service's VmRSS every 0.5 s while it is under load and reads VmHWM after; each row
#      starts once the rows before it are relayed and consumed everywhere (see settle); PostgreSQL logs
#      statements over 40 ms for the run, and each row reports those that fell in it (a slow COMMIT is
#      the disk holding every write behind one WAL flush);
#   5. writes bench/results/<UTC time>-http.md and .json and prints the table.
# Exits non-zero only when something could not run, never for a missed target.
#   bench/http.sh [--duration S] [--rate R] [--connections C] [--only S1,S2] [--no-build]
#                                                                    (defaults 20, 1000, 50, all four)
# --only puts only the named services under load (all four still run: the others feed them data).
# --no-build runs the release binaries already in .build/release (when another build holds the folder).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

duration=20
rate=1000
connections=50
only=""
build=1
while (($#)); do
    case "$1" in
        --duration) duration="$2"; shift 2 ;;
        --rate) rate="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
        *) die "unknown option $1 (use --duration S, --rate R, --connections C, --only S1,S2, --no-build)" ;;
    esac
done
[[ "$duration" =~ ^[1-9][0-9]*$ && "$rate" =~ ^[1-9][0-9]*$ && "$connections" =~ ^[1-9][0-9]*$ ]] ||
    die "--duration, --rate and --connections take whole numbers above zero"

# The secrets scripts/up.sh gives the dev stack (drawn once into .local/secrets.env).
load_local_secrets
JWT_SECRET="$AUTH_JWT_SECRET"
DIGEST_KEY="$REGISTRY_ID_DIGEST_KEY"
SEALING_KEY="$BID_SEALING_KEY"
BENCH_SERVICES=(registry mediation volunteer-matching bidding)
LOADED=("${BENCH_SERVICES[@]}")
if [[ -n "$only" ]]; then
    IFS=, read -ra LOADED <<<"$only"
    for name in "${LOADED[@]}"; do
        [[ " ${BENCH_SERVICES[*]} " == *" $name "* ]] || die "--only: unknown service $name (one of ${BENCH_SERVICES[*]})"
    done
fi

t0="$(now_s)"
bench_stack_up
command -v wrk >/dev/null || die "wrk is missing (scripts/setup.sh installs it)"

suffix="$(python3 -c 'import secrets; print(secrets.token_hex(3))')"
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-http.XXXXXX")"
declare -A PORT=() PID=() SCHEMA=()
tansu_pid=""
status_ok=0
slow_logged=0

finish() {
    local rc=$? name pid
    trap - EXIT
    for name in "${!PID[@]}"; do kill -TERM "${PID[$name]}" 2>/dev/null || true; done
    for name in "${!PID[@]}"; do
        pid="${PID[$name]}"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            log_warn "$name (pid $pid) still running 10 s after SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n "$tansu_pid" ]]; then
        kill -TERM "$tansu_pid" 2>/dev/null || true
        wait "$tansu_pid" 2>/dev/null || true
    fi
    for name in "${!SCHEMA[@]}"; do
        bench_sql -c "DROP SCHEMA IF EXISTS ${SCHEMA[$name]} CASCADE" >/dev/null 2>&1 ||
            log_warn "could not drop schema ${SCHEMA[$name]}"
    done
    if ((slow_logged)); then
        bench_sql -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 ||
            log_warn "could not reset log_min_duration_statement"
    fi
    if ((status_ok)) && ((rc == 0)); then
        rm -rf "$work"
    else
        log_info "logs of this run kept in $work"
    fi
    if ((${BENCH_STARTED_STACK:-0})); then "$ROOT/scripts/stack.sh" stop >/dev/null || true; fi
    exit "$rc"
}
trap finish EXIT

# ------------------------------------------------------------------ build ---
# Another SwiftPM (the same .build folder) may hold the lock: wait and try again.
build_release() {
    local product="$1" log attempt
    log="$work/build-$product.log"
    for attempt in $(seq 1 40); do
        if swift build -c release --product "$product" >"$log" 2>&1; then
            log_info "$(tail -n1 "$log")"
            return 0
        fi
        if grep -qiE 'lock|another instance of swiftpm' "$log"; then
            log_info "the build folder is locked by another process; retrying in 15 s (attempt $attempt)"
            sleep 15
            continue
        fi
        log_tail "$log" 60
        die "swift build -c release --product $product failed"
    done
    die "the build folder stayed locked for 10 minutes"
}
if ((build)); then
    log_step "swift build -c release (${BENCH_SERVICES[*]})"
    t_build="$(now_s)"
    for name in "${BENCH_SERVICES[@]}"; do build_release "$name"; done
    log_info "builds done in $(elapsed_since "$t_build")"
else
    for name in "${BENCH_SERVICES[@]}"; do
        [[ -x "$ROOT/.build/release/$name" ]] || die ".build/release/$name is missing: run without --no-build"
    done
    log_info "--no-build: using the binaries in .build/release as they are"
fi

# ------------------------------------------------------ a private broker ---
# The services' consumer groups are fixed (<service>-registry-projection): on the stack's broker they
# would join the dev stack's groups and take its records. A broker of our own keeps the runs apart.
bench_private_broker "$work/tansu.log"
tansu_pid="$BENCH_KAFKA_PID"
kafka_port="${BENCH_KAFKA##*:}"

# --------------------------------------------------------------- services ---
log_step "starting the release services (schemas bench_http_*_$suffix)"
for name in "${BENCH_SERVICES[@]}"; do
    port="$(free_port)"
    while ((port >= 8081 && port <= 8084)); do port="$(free_port)"; done
    PORT[$name]="$port"
    SCHEMA[$name]="bench_http_${name//-/_}_$suffix"
    HTTP_HOST=127.0.0.1 HTTP_PORT="$port" POSTGRES_SCHEMA="${SCHEMA[$name]}" \
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$kafka_port" \
        AUTH_JWT_SECRET="$JWT_SECRET" REGISTRY_ID_DIGEST_KEY="$DIGEST_KEY" BID_SEALING_KEY="$SEALING_KEY" \
        LOG_LEVEL=warning KAFKA_CREATE_TOPICS_ON_START=true KAFKA_SESSION_TIMEOUT_MS=6000 KAFKA_HEARTBEAT_INTERVAL_MS=500 \
        "$ROOT/.build/release/$name" </dev/null >"$work/$name.log" 2>&1 &
    PID[$name]=$!
    log_info "$name: pid ${PID[$name]}, port $port, schema ${SCHEMA[$name]}"
done
for name in "${BENCH_SERVICES[@]}"; do
    for _ in $(seq 1 240); do
        curl -fsS -o /dev/null "http://127.0.0.1:${PORT[$name]}/health/ready" 2>/dev/null && break
        if ! kill -0 "${PID[$name]}" 2>/dev/null; then
            log_tail "$work/$name.log"
            die "$name exited before becoming ready"
        fi
        sleep 0.5
    done
    curl -fsS -o /dev/null "http://127.0.0.1:${PORT[$name]}/health/ready" 2>/dev/null ||
        { log_tail "$work/$name.log"; die "$name did not become ready in 2 minutes"; }
    log_ok "$name ready on :${PORT[$name]}"
done

token="$(python3 -c 'import sys; sys.path.insert(0, "scripts"); import load_seeds; print(load_seeds.mint_token(sys.argv[1], 7200))' "$JWT_SECRET")"

# ------------------------------------------------------------------- data ---
log_step "loading a small city through the APIs"
t_seed="$(now_s)"
BENCH_TOKEN="$token" BENCH_WORK="$work" \
    REGISTRY_URL="http://127.0.0.1:${PORT[registry]}" MEDIATION_URL="http://127.0.0.1:${PORT[mediation]}" \
    MATCHING_URL="http://127.0.0.1:${PORT[volunteer-matching]}" BIDDING_URL="http://127.0.0.1:${PORT[bidding]}" \
    MEDIATION_SCHEMA="${SCHEMA[mediation]}" MATCHING_SCHEMA="${SCHEMA[volunteer-matching]}" BIDDING_SCHEMA="${SCHEMA[bidding]}" \
    "$VENV/bin/python" - <<'PY'
"""Seeds the four services through their HTTP APIs and writes the wrk request files.

Every record gets its id from here, so the read files can name them. Requests run on 8 threads, each with
its own keep-alive connection per service.
"""
import datetime as dt
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg

TOKEN = os.environ["BENCH_TOKEN"]
WORK = os.environ["BENCH_WORK"]
URLS = {name: os.environ[var] for name, var in
        [("registry", "REGISTRY_URL"), ("mediation", "MEDIATION_URL"), ("volunteer-matching", "MATCHING_URL"), ("bidding", "BIDDING_URL")]}
rng = random.Random(20261123)
local = threading.local()
pool = ThreadPoolExecutor(8)


def say(text):
    print(f"[http] {text}", file=sys.stderr, flush=True)


def call(service, method, path, body=None):
    connections = getattr(local, "connections", None)
    if connections is None:
        connections = local.connections = {}
    for attempt in range(3):
        conn = connections.get(service)
        if conn is None:
            url = urllib.parse.urlsplit(URLS[service])
            conn = connections[service] = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
            conn.request(method, path, body=data, headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            conn.close()
            connections.pop(service, None)
            if attempt == 2:
                raise
            time.sleep(0.2)


def post_all(service, path, bodies, what):
    """POSTs every body (8 at a time) to `path`, or to the body's own "_path" (not sent); returns the bodies
    that were created. Fails the run when more than 2 % are refused."""
    started = time.perf_counter()

    def one(body):
        sent = {k: v for k, v in body.items() if not k.startswith("_")}
        status, text = call(service, "POST", body.get("_path", path), sent)
        return body, status, text

    created, failures = [], []
    for body, status, text in pool.map(one, bodies):
        (created if status in (200, 201) else failures).append((body, status, text))
    elapsed = time.perf_counter() - started
    say(f"{service}: {len(created)} {what} in {elapsed:.1f} s ({len(created) / max(elapsed, 1e-9):.0f}/s)"
        + (f", {len(failures)} refused" if failures else ""))
    for body, status, text in failures[:3]:
        say(f"  refused ({status}): {text[:400]}  body: {json.dumps(body, ensure_ascii=False)[:300]}")
    if len(failures) > 0.02 * max(1, len(bodies)):
        sys.exit(f"{service}: too many {what} refused ({len(failures)} of {len(bodies)})")
    return [body for body, _, _ in created]


def national_id(used):
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    while True:
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 65 * 365))
        first17 = f"440305{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
        value = first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]
        if value not in used:
            used.add(value)
            return value


def ids(n):
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]


# ---------------------------------------------------------------- registry ---
streets = [f"D01-S{s:02d}" for s in range(1, 3)]
communities = [f"{s}-C{c:02d}" for s in streets for c in range(1, 6)]
grids = [f"{c}-G{g:02d}" for c in communities for g in range(1, 5)]
buildings = [f"{g}-B{b:02d}" for g in grids for b in range(1, 6)]
types = ["old-city", "new-build", "resettlement", "work-unit"]
post_all("registry", "/api/v1/places", [{"code": "D01", "level": "district", "name": "青禾区"}], "districts")
post_all("registry", "/api/v1/places", [{"code": s, "level": "street", "name": f"街道{s[-2:]}", "parentCode": "D01"} for s in streets], "streets")
post_all("registry", "/api/v1/places", [{"code": c, "level": "community", "name": f"社区{c[-6:]}", "parentCode": c[:7],
                                         "communityType": types[i % 4]} for i, c in enumerate(communities)], "communities")
post_all("registry", "/api/v1/places", [{"code": g, "level": "grid", "name": f"网格{g[-10:]}", "parentCode": g[:11]} for g in grids], "grids")
post_all("registry", "/api/v1/places", [{"code": b, "level": "building", "name": f"{b}号楼", "parentCode": b[:15],
                                         "address": f"青禾区桂园路{i + 1}号"} for i, b in enumerate(buildings)], "buildings")
places = 1 + len(streets) + len(communities) + len(grids) + len(buildings)

households = post_all("registry", "/api/v1/households", [
    {"id": hid, "buildingCode": buildings[i % len(buildings)], "address": f"青禾区桂园路{i % len(buildings) + 1}号{100 + i // len(buildings)}室"}
    for i, hid in enumerate(ids(1000))], "households")
surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
groups = ["elderly", "disabled", "low-income", "unemployed", "migrant-worker", "single-parent-child"]
used = set()
residents = post_all("registry", "/api/v1/residents", [
    {"id": rid, "householdId": households[i % len(households)]["id"], "name": rng.choice(surnames) + rng.choice(given) + rng.choice(given),
     "nationalId": national_id(used), "residency": "registered", "groups": [groups[i % len(groups)]] if i % 3 == 0 else []}
    for i, rid in enumerate(ids(1500))], "residents")
organisations = post_all("registry", "/api/v1/organisations", [
    {"id": oid, "name": f"青禾社会工作服务中心{i + 1}", "kind": "private-non-enterprise", "legalPerson": True,
     "registrationAuthority": "民政局", "registrationNumber": f"52440305MJ{i:08d}", "servesPlace": "D01"}
    for i, oid in enumerate(ids(20))], "organisations")
grid_of = {h["id"]: h["buildingCode"].rsplit("-", 1)[0] for h in households}
mediators = [("community", c) for c in communities] + [("street", s) for s in streets] + [("district", "D01")]
roles = [{"residentId": residents[i]["id"], "role": "mediator", "placeCode": place, "startedOn": "2024-01-01",
          "details": {"mediatorLevel": level, "fullTime": False}} for i, (level, place) in enumerate(mediators)]
experts = [{"residentId": residents[len(roles) + i]["id"], "role": "expert", "placeCode": "D01", "startedOn": "2025-01-01",
            "details": {"fields": ["social-work", "elder-care"], "affiliations": []}} for i in range(9)]
skills = ["elder-care", "first-aid", "cooking", "driving", "tutoring", "nursing", "counselling", "meal-delivery"]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
volunteers = [{"residentId": r["id"], "role": "volunteer", "placeCode": grid_of[r["householdId"]], "startedOn": "2025-06-01",
               "details": {"skills": rng.sample(skills, 2), "availability": [f"{d} 08:00-20:00" for d in days if rng.random() < 0.8]}}
              for r in residents[len(roles) + len(experts):len(roles) + len(experts) + 300]]
role_bodies = [dict(body, id=rid) for body, rid in zip(roles + experts + volunteers, ids(len(roles) + len(experts) + len(volunteers)))]
post_all("registry", "/api/v1/roles", role_bodies, "roles (mediators, experts, volunteers)")

# ---------------------------------------- the projections of the other three ---
expected = {
    "MEDIATION_SCHEMA": {"known_place": places, "mediator": len(roles)},
    "MATCHING_SCHEMA": {"known_place": places, "known_household": len(households), "known_resident": len(residents), "volunteer": len(volunteers)},
    "BIDDING_SCHEMA": {"known_place": places, "organisation": len(organisations), "expert": len(experts)},
}
e = os.environ
dsn = f"host={e['POSTGRES_HOST']} port={e['POSTGRES_PORT']} user={e['POSTGRES_USER']} password={e['POSTGRES_PASSWORD']} dbname={e['POSTGRES_DB']}"
started = time.perf_counter()
with psycopg.connect(dsn, autocommit=True) as db:
    while True:
        missing = {}
        for var, tables in expected.items():
            for table, want in tables.items():
                have = db.execute(f"SELECT count(*) FROM {e[var]}.{table}").fetchone()[0]
                if have < want:
                    missing[f"{e[var]}.{table}"] = f"{have}/{want}"
        if not missing:
            break
        if time.perf_counter() - started > 120:
            sys.exit(f"the registry's events did not reach the other services in 2 minutes: {missing}")
        time.sleep(0.5)
say(f"registry.events applied by mediation, volunteer-matching and bidding {time.perf_counter() - started:.1f} s after the last write")

# ------------------------------------------------------ the other services ---
categories = ["neighbours", "family", "property-management", "labour", "environment", "public-order"]
channels = ["grid-worker", "resident", "hotline", "online"]


def case(grid):
    return {"grid": grid, "category": rng.choice(categories), "severity": "minor" if rng.random() < 0.8 else "major",
            "channel": rng.choice(channels), "description": "楼上噪音，晚上十点以后仍有装修声",
            "parties": [{"name": "王芳", "contact": "13800000000"}, {"name": "李磊"}]}


cases = post_all("mediation", "/api/v1/cases", [dict(case(rng.choice(grids)), id=cid) for cid in ids(1000)], "cases")

local_tz = dt.timezone(dt.timedelta(hours=8))
today = dt.datetime.now(local_tz).date()
kinds = ["elder-care", "meal-delivery", "tutoring", "nursing", "counselling", "day-care"]


def need():
    day = today + dt.timedelta(days=rng.randrange(2, 28))
    start = dt.datetime.combine(day, dt.time(rng.choice([9, 10, 14, 15])), local_tz)
    return {"householdId": rng.choice(households)["id"], "kind": rng.choice(kinds), "skills": [] if rng.random() < 0.6 else [rng.choice(skills)],
            "windows": [{"start": start.isoformat(), "end": (start + dt.timedelta(hours=2)).isoformat()}],
            "volunteers": 1, "urgency": "routine", "contact": {"name": "张桂英", "phone": "13900000000"}}


needs = post_all("volunteer-matching", "/api/v1/needs", [dict(need(), id=nid) for nid in ids(500)], "needs")

scopes = ["D01"] + streets + communities


def project(place):
    return {"title": "独居老人居家照护服务", "serviceKind": "care", "placeCode": place,
            "needsAssessment": {"served": ["elderly"], "people": rng.randrange(50, 300),
                                "reasons": {"urgent-need": "独居老人缺乏日常照护"}, "whyNow": "入冬前"},
            "standards": [{"name": "visits", "measure": "home visits per person per week", "target": "2"}],
            "costEstimate": [{"item": "care workers", "amountFen": 38000000}, {"item": "transport", "amountFen": 6000000}],
            "budgetCeilingFen": 50000000}


projects = post_all("bidding", "/api/v1/projects", [dict(project(rng.choice(scopes)), id=pid) for pid in ids(300)], "projects")
deadline = (dt.datetime.now(local_tz) + dt.timedelta(days=30)).replace(microsecond=0).isoformat()
tender_bodies = [{"id": tid, "_path": f"/api/v1/projects/{p['id']}/tenders", "title": f"招标 {i + 1}", "biddingDeadline": deadline,
                  "panel": {"fields": ["social-work"], "size": 3},
                  "weights": {"price": 30, "expert": 40, "purchaser": 10, "recipients": 10, "thirdParty": 10},
                  "purchaserOrganisationId": organisations[i % len(organisations)]["id"]}
                 for i, (p, tid) in enumerate(zip(projects[:100], ids(100)))]
tenders = post_all("bidding", None, tender_bodies, "tenders (drafts)")
published = post_all("bidding", None, [{"action": "publish", "_tender": t["id"], "_path": f"/api/v1/tenders/{t['id']}/transitions"}
                                       for t in tenders], "tenders published")

# --------------------------------------------------------- wrk request files ---
def write(name, lines):
    with open(os.path.join(WORK, name), "w") as f:
        for line in lines:
            f.write("\t".join(line) + "\n")


def dumps(body):
    return json.dumps(body, ensure_ascii=False)


write("registry-read.tsv", [("GET", f"/api/v1/residents/{r['id']}") for r in residents])
write("registry-write.tsv", [("POST", "/api/v1/households", dumps({"buildingCode": rng.choice(buildings), "address": f"青禾区桂园路{i}号{i % 30 + 1}01室"}))
                             for i in range(300)])
write("mediation-read.tsv", [("GET", f"/api/v1/cases/{c['id']}") for c in cases])
write("mediation-write.tsv", [("POST", "/api/v1/cases", dumps(case(rng.choice(grids)))) for _ in range(300)])
write("volunteer-matching-read.tsv", [("GET", f"/api/v1/needs/{n['id']}") for n in needs])
write("volunteer-matching-write.tsv", [("POST", "/api/v1/needs", dumps(need())) for _ in range(300)])
write("bidding-read.tsv", [("GET", f"/api/v1/tenders/{t['_tender']}") for t in published])
write("bidding-write.tsv", [("POST", "/api/v1/projects", dumps(project(rng.choice(scopes)))) for _ in range(300)])
with open(os.path.join(WORK, "seeded.json"), "w") as f:
    json.dump({"places": places, "households": len(households), "residents": len(residents), "organisations": len(organisations),
               "roles": len(role_bodies), "cases": len(cases), "needs": len(needs), "projects": len(projects),
               "tenders": len(published)}, f)
PY
log_info "data loaded in $(elapsed_since "$t_seed")"

# ---------------------------------------------------------------- the load ---
# The method and route shown for each run; its requests are in $work/<service>-<read|write>.tsv.
declare -A ENDPOINT=(
    [registry-read]="GET /api/v1/residents/{id}" [registry-write]="POST /api/v1/households"
    [mediation-read]="GET /api/v1/cases/{id}" [mediation-write]="POST /api/v1/cases"
    [volunteer-matching-read]="GET /api/v1/needs/{id}" [volunteer-matching-write]="POST /api/v1/needs"
    [bidding-read]="GET /api/v1/tenders/{id}" [bidding-write]="POST /api/v1/projects"
)
# Each row starts from a quiet suite: the events of the rows before it relayed and consumed by every
# service (outbox backlog and consumer lag 0 on two scrapes in a row, at most 60 s), and their pages
# written out by a CHECKPOINT, so a row does not measure the previous row's background work (a
# checkpoint's final flush holds every commit behind it).
settle() {
    relayed_and_consumed
    bench_sql -c "CHECKPOINT" || log_warn "CHECKPOINT refused (the role needs pg_checkpoint); the row may meet the previous one's checkpoint"
}

relayed_and_consumed() {
    local quiet=0 name total
    for _ in $(seq 1 60); do
        total=0
        for name in "${BENCH_SERVICES[@]}"; do
            total=$((total + $({ curl -fsS "http://127.0.0.1:${PORT[$name]}/metrics" 2>/dev/null || true; } |
                awk '/^(outbox_backlog_rows|consumer_lag_records)[{ ]/ { sum += $NF } END { printf "%d", sum }')))
        done
        if ((total == 0)); then
            quiet=$((quiet + 1))
            ((quiet >= 2)) && return 0
        else
            quiet=0
        fi
        sleep 1
    done
    log_warn "the suite still had $total events to relay or consume after 60 s; measuring anyway"
}

threads=2
((connections < threads)) && threads="$connections"
: >"$work/runs.jsonl"
: >"$work/slow.jsonl"
# Statements over 40 ms go to the stack's log while the rows run; each row counts its own.
pg_log="$STATE_DIR/pg.log"
if [[ -r "$pg_log" ]] && bench_sql -c "ALTER SYSTEM SET log_min_duration_statement = 40" -c "SELECT pg_reload_conf()" >/dev/null 2>&1; then
    slow_logged=1
else
    log_warn "slow statements are not counted (needs the local stack's log and a superuser role)"
fi
# Prints {"label":…,"slow_statements":n,"slow_commits":n,"longest_ms":x} for the log lines after byte $2.
slow_statements() {
    local label="$1" from="$2"
    tail -c "+$((from + 1))" "$pg_log" | awk -v label="$label" '
        /duration: [0-9.]+ ms/ {
            for (i = 1; i <= NF; i++) if ($i == "duration:") { ms = $(i + 1) + 0 }
            n++; if (ms > longest) longest = ms
            if ($0 ~ /COMMIT/) commits++
        }
        END { printf "{\"label\":\"%s\",\"slow_statements\":%d,\"slow_commits\":%d,\"longest_ms\":%.1f}\n", label, n, commits, longest }'
}
for name in "${LOADED[@]}"; do
    pid="${PID[$name]}"
    kill -0 "$pid" 2>/dev/null || { log_tail "$work/$name.log"; die "$name is no longer running"; }
    # VmRSS every 0.5 s while this service is under load (both runs).
    (
        while kill -0 "$pid" 2>/dev/null; do
            awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null || true
            sleep 0.5
        done
    ) >"$work/$name.rss" &
    sampler=$!
    for kind in read write; do
        label="$name-$kind"
        settle
        log_from="$( ((slow_logged)) && stat -c %s "$pg_log" || echo 0)"
        log_step "$label: ${ENDPOINT[$label]}, ${rate}/s target, $connections connections, ${duration} s"
        BENCH_TOKEN="$token" BENCH_REQUESTS="$work/$label.tsv" BENCH_RATE="$rate" BENCH_THREADS="$threads" BENCH_CONNECTIONS="$connections" \
            BENCH_LABEL="$label" wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout 5s -s bench/wrk-paced.lua \
            "http://127.0.0.1:${PORT[$name]}" >"$work/$label.wrk.txt" 2>&1 ||
            { cat "$work/$label.wrk.txt" >&2; die "wrk failed for $label"; }
        line="$(grep '^{' "$work/$label.wrk.txt" | tail -n1)"
        [[ -n "$line" ]] || { cat "$work/$label.wrk.txt" >&2; die "wrk printed no result for $label"; }
        log_info "$line"
        printf '%s\n' "$line" >>"$work/runs.jsonl"
        if ((slow_logged)); then slow_statements "$label" "$log_from" >>"$work/slow.jsonl"; fi
    done
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    peak="$(sort -n "$work/$name.rss" | tail -n1)"
    hwm="$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status")"
    printf '{"service":"%s","peak_rss_kb":%s,"vmhwm_kb":%s,"samples":%s}\n' "$name" "${peak:-0}" "${hwm:-0}" \
        "$(wc -l <"$work/$name.rss")" >>"$work/rss.jsonl"
done

# ----------------------------------------------------------------- report ---
mkdir -p bench/results
out="bench/results/${BENCH_STAMP:-$(date -u +%Y-%m-%dT%H%M%SZ)}-http"
endpoints_json="$(for k in "${!ENDPOINT[@]}"; do printf '%s\t%s\n' "$k" "${ENDPOINT[$k]}"; done)"
ENDPOINTS="$endpoints_json" DURATION="$duration" CONNECTIONS="$connections" CORES="$(nproc)" \
    python3 - "$work" "$out" <<'PY'
import datetime as dt
import json
import os
import sys

work, out = sys.argv[1], sys.argv[2]
endpoints = dict(line.split("\t", 1) for line in os.environ["ENDPOINTS"].splitlines() if line)
rss = {r["service"]: r for r in map(json.loads, open(os.path.join(work, "rss.jsonl")))}
slow = {r["label"]: r for r in map(json.loads, open(os.path.join(work, "slow.jsonl")))}
seeded = json.load(open(os.path.join(work, "seeded.json")))
rows = []
for run in map(json.loads, open(os.path.join(work, "runs.jsonl"))):
    service, kind = run["label"].rsplit("-", 1)
    sockets = run["socket_errors"]
    rows.append({
        "service": service, "kind": kind, "endpoint": endpoints[run["label"]], "target_rps": run["target_rps"],
        "achieved_rps": run["achieved_rps"], "requests": run["requests"], "duration_s": run["duration_s"],
        "connections": run["connections"], "p50_ms": run["p50_ms"], "p90_ms": run["p90_ms"], "p99_ms": run["p99_ms"],
        "max_ms": run["max_ms"], "mean_ms": run["mean_ms"], "non_2xx": run["non_2xx"], "socket_errors": sockets,
        "errors": run["non_2xx"] + sum(sockets.values()),
        "peak_rss_mb": round(rss[service]["peak_rss_kb"] / 1024, 1), "vmhwm_mb": round(rss[service]["vmhwm_kb"] / 1024, 1),
        "slow_statements": slow.get(run["label"], {}).get("slow_statements"), "slow_commits": slow.get(run["label"], {}).get("slow_commits"),
        "longest_statement_ms": slow.get(run["label"], {}).get("longest_ms"),
    })
with open(out + ".json", "w") as f:
    json.dump(rows, f, indent=2)
    f.write("\n")

cores, duration, connections = os.environ["CORES"], os.environ["DURATION"], os.environ["CONNECTIONS"]
lines = [
    f"# HTTP under a paced load, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {cores} cores",
    "",
    f"Release builds on 127.0.0.1, each service on its own schema, PostgreSQL 15 and a private Tansu broker on "
    f"the same machine as wrk ({connections} connections, 2 threads, {duration} s per row, paced by an open schedule of send slots: "
    f"see bench/wrk-paced.lua). Data loaded through the APIs first: {seeded['places']} places, "
    f"{seeded['households']} households, {seeded['residents']} residents, {seeded['roles']} roles, "
    f"{seeded['organisations']} organisations; {seeded['cases']} cases; {seeded['needs']} needs; "
    f"{seeded['projects']} projects, {seeded['tenders']} published tenders.",
    "",
    "| service | endpoint | target req/s | achieved req/s | p50 ms | p99 ms | max ms | errors | peak RSS MB | PostgreSQL over 40 ms: statements (COMMITs), longest |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
]
for r in rows:
    stalls = "not counted" if r["slow_statements"] is None else (
        "none" if r["slow_statements"] == 0 else f"{r['slow_statements']} ({r['slow_commits']}), {r['longest_statement_ms']:.0f} ms")
    lines.append(f"| {r['service']} | `{r['endpoint']}` | {r['target_rps']} | {r['achieved_rps']:.0f} | {float(r['p50_ms']):.2f} | "
                 f"{float(r['p99_ms']):.2f} | {float(r['max_ms']):.1f} | {r['errors']} | {r['peak_rss_mb']:.0f} | {stalls} |")
lines += ["", "Errors are non-2xx answers plus socket errors (connect, read, write, timeout over 5 s). Peak RSS is the "
          "highest VmRSS sampled every 0.5 s during the service's two rows; VmHWM (lifetime peak, data loading "
          "included) is in the .json with p90 and the mean. The last column counts the statements PostgreSQL logged at "
          "over 40 ms during the row (log_min_duration_statement, set for the run): a COMMIT there waited for the WAL "
          "flush, and every write committing at that moment waited with it."]
with open(out + ".md", "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
status_ok=1
log_ok "results in $out.md and $out.json (whole run $(elapsed_since "$t0"))"
