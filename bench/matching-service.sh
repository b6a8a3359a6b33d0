#!/usr/bin/env bash
# The volunteer-matching service itself on a million volunteers (release build), on a broker of its own:
#   1. a million volunteers over 20,000 grids and 2,000 open needs written into its schema with SQL;
#   2. the service started: time until its candidate index is loaded, and its memory (RSS) then;
#   3. wrk asking for the ranked candidates of random needs over HTTP: p50/p99, requests/s, peak RSS.
# Prints a markdown table and writes bench/results/<date>-matching-service.md.
#   bench/matching-service.sh [--volunteers N] [--needs M] [--duration S] [--connections C]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

volunteers=1000000
needs=2000
duration=15
connections=8
while (($#)); do
    case "$1" in
        --volunteers) volunteers="$2"; shift 2 ;;
        --needs) needs="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        *) die "unknown option $1 (use --volunteers N, --needs M, --duration S, --connections C)" ;;
    esac
done

bench_stack_up
command -v wrk >/dev/null || die "wrk is missing (scripts/setup.sh installs it)"
log_step "swift build -c release (volunteer-matching)"
swift build -c release --product volunteer-matching

schema="bench_matching_$(date -u +%H%M%S)"
secret="bench-secret-0123456789abcdef0123456789"
port="$(free_port)"
service_pid=""
stop_service() {
    if [[ -n "$service_pid" ]]; then
        kill "$service_pid" 2>/dev/null || true
        wait "$service_pid" 2>/dev/null || true
        service_pid=""
    fi
}
finish() {
    stop_service
    if [[ -n "${BENCH_KAFKA_PID:-}" ]]; then
        kill -TERM "$BENCH_KAFKA_PID" 2>/dev/null || true
        wait "$BENCH_KAFKA_PID" 2>/dev/null || true
    fi
    bench_sql -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
    if ((${BENCH_STARTED_STACK:-0})); then "$ROOT/scripts/stack.sh" stop >/dev/null || true; fi
}
trap finish EXIT

mkdir -p bench/results
out="bench/results/${BENCH_STAMP:-$(date -u +%Y-%m-%dT%H%M%SZ)}-matching-service"
bench_private_broker "$out.tansu.log"
start_service() {
    HTTP_HOST=127.0.0.1 HTTP_PORT="$port" POSTGRES_SCHEMA="$schema" AUTH_JWT_SECRET="$secret" LOG_LEVEL=info \
        KAFKA_BOOTSTRAP_SERVERS="$BENCH_KAFKA" KAFKA_CREATE_TOPICS_ON_START=true KAFKA_SESSION_TIMEOUT_MS=6000 KAFKA_HEARTBEAT_INTERVAL_MS=500 \
        OFFER_DISPATCH_INTERVAL_SECONDS=3600 .build/release/volunteer-matching >>"$out.service.log" 2>&1 &
    service_pid=$!
    bench_wait_ready "$port" volunteer-matching "$out.service.log"
}
rss() { awk -v key="$2:" '$1 == key { printf "%.0f MB", $2 / 1024 }' "/proc/$1/status"; }

# The first start creates the schema; the data goes in with the service stopped, so the second start
# loads a million volunteers the way a restart in production does.
log_step "schema $schema: migrations"
start_service
stop_service
log_step "writing $volunteers volunteers and $needs open needs"
bench_sql <<SQL
SET search_path = $schema;
INSERT INTO known_place (code, level, name, district_code, street_code, community_code, grid_code)
SELECT 'G' || g, 'grid', 'Grid ' || g, 'D' || g / 1000, 'S' || g / 100, 'C' || g / 10, 'G' || g FROM generate_series(0, 19999) AS g;
INSERT INTO volunteer (role_id, resident_id, name, skills, availability, district_code, street_code, community_code, grid_code, active,
                       paused, month_key, hours_this_month, completed, no_shows, rating_sum, rating_count)
SELECT ('00000000-0000-0000-0001-' || lpad(to_hex(i), 12, '0'))::uuid, gen_random_uuid(), 'Volunteer ' || i,
       ARRAY[(ARRAY['elder-care','tutoring','first-aid','cooking','driving','nursing','counselling','meal-delivery'])[1 + i % 8],
             (ARRAY['first-aid','sign-language','mandarin','day-care','rehabilitation','after-school-care'])[1 + (i / 8) % 6]],
       ARRAY[(ARRAY['mon','tue','wed','thu','fri','sat','sun'])[1 + i % 7] || ' 08:00-12:00',
             (ARRAY['mon','tue','wed','thu','fri','sat','sun'])[1 + (i / 7) % 7] || ' 14:00-20:00'],
       'D' || (i * 7919 % 20000) / 1000, 'S' || (i * 7919 % 20000) / 100, 'C' || (i * 7919 % 20000) / 10, 'G' || i * 7919 % 20000, true,
       i % 33 = 0, to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), (i % 41)::float8, i % 50, i % 6, (i % 5 + 1) * (i % 3), i % 3
FROM generate_series(1::bigint, $volunteers) AS i;
INSERT INTO service_need (id, kind, skills, grid_code, community_code, street_code, district_code, windows, first_start, last_end, volunteers,
                          urgency, status, reported_by, opened_at)
SELECT ('00000000-0000-0000-0002-' || lpad(n::text, 12, '0'))::uuid, (ARRAY['elder-care','tutoring','nursing','meal-delivery'])[1 + n % 4],
       CASE WHEN n % 3 = 0 THEN '{first-aid}'::text[] ELSE '{}' END, 'G' || g, 'C' || g / 10, 'S' || g / 100, 'D' || g / 1000,
       jsonb_build_array(jsonb_build_object('start', to_char(s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                            'end', to_char((s + interval '2 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))),
       s, s + interval '2 hours', 1 + n % 3, 'routine', 'open', 'bench', now()
FROM generate_series(1, $needs) AS n,
     LATERAL (SELECT n * 7 % 20000 AS g,
                     ((date_trunc('week', now() AT TIME ZONE 'Asia/Shanghai') + interval '7 days' + (n % 7) * interval '1 day' + interval '9 hours')
                      AT TIME ZONE 'Asia/Shanghai') AS s) AS chosen;
ANALYZE volunteer;
SQL

log_step "starting volunteer-matching on $volunteers volunteers"
: >"$out.service.log"
started="$(date +%s.%N)"
start_service
for _ in $(seq 1 600); do
    grep -q "volunteer index loaded" "$out.service.log" && break
    sleep 0.2
done
grep -q "volunteer index loaded" "$out.service.log" || die "the index did not load (see $out.service.log)"
loaded="$(date +%s.%N)"
rss_loaded="$(rss "$service_pid" VmRSS)"

token="$(python3 -c 'import sys; sys.path.insert(0, "scripts"); import load_seeds; print(load_seeds.mint_token(sys.argv[1]))' "$secret")"
cat >"$out.lua" <<LUA
local token = os.getenv("BENCH_TOKEN")
math.randomseed(os.time())
request = function()
  local id = string.format("00000000-0000-0000-0002-%012d", math.random(1, $needs))
  return wrk.format("GET", "/api/v1/needs/" .. id .. "/candidates?limit=10", { ["Authorization"] = "Bearer " .. token })
end
LUA
# RSS sampled every half second while the load runs (the peak below also counts the start-up).
( while kill -0 "$service_pid" 2>/dev/null; do awk '$1 == "VmRSS:" { print $2 }' "/proc/$service_pid/status"; sleep 0.5; done ) >"$out.rss.txt" &
sampler=$!
BENCH_TOKEN="$token" wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$out.lua" "http://127.0.0.1:$port" >"$out.wrk.txt"
kill "$sampler" 2>/dev/null || true
rss_load="$(sort -n "$out.rss.txt" | tail -1 | awk '{ printf "%.0f MB", $1 / 1024 }')"
p50="$(awk '$1 == "50%" { print $2 }' "$out.wrk.txt")"
p99="$(awk '$1 == "99%" { print $2 }' "$out.wrk.txt")"
rps="$(awk '/^Requests\/sec/ { print $2 }' "$out.wrk.txt")"
errors="$(grep -E 'Non-2xx|Socket errors' "$out.wrk.txt" || echo none)"
sample="$(curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/needs/00000000-0000-0000-0002-000000000001/candidates?limit=3")"
{
    echo "# Volunteer matching service, $(date -u +%Y-%m-%d), $(nproc) cores"
    echo
    echo "| figure | value |"
    echo "| --- | --- |"
    echo "| volunteers in the table / open needs | $volunteers / $needs |"
    echo "| start until the candidate index is loaded | $(python3 -c "print(f'{$loaded - $started:.1f} s')") |"
    echo "| service RSS with the index loaded | $rss_loaded |"
    echo "| **ranked candidates over HTTP** (wrk, $connections connections, ${duration} s) | **p50 $p50, p99 $p99**, $rps requests/s (errors: $errors) |"
    echo "| service RSS under the load (highest sample) | $rss_load |"
    echo "| service peak RSS (VmHWM), start-up included | $(rss "$service_pid" VmHWM) |"
    echo
    echo "A sample answer (need 1, top 3): \`${sample:0:400}\`"
} | tee "$out.md"
log_ok "results in $out.md"
