-- wrk script for bench/http.sh: requests from a file, paced towards a target rate, one JSON line at the end.
--
-- Environment (set by bench/http.sh):
--   BENCH_TOKEN        bearer token (HS256, city-admin)
--   BENCH_REQUESTS     file of requests, one a line: METHOD<TAB>PATH[<TAB>JSON BODY]; each request picks one at random
--   BENCH_RATE         target requests/s over all connections (default 1000)
--   BENCH_THREADS      the -t given to wrk (wrk does not tell the script)
--   BENCH_CONNECTIONS  the -c given to wrk, copied into the JSON line
--   BENCH_LABEL        copied into the JSON line
--
-- Pacing. wrk is closed-loop: a connection sends its next request when the previous answer is in, after
-- the wait that delay() returns. Each wrk thread keeps a schedule of send slots, one every
-- threads / rate seconds, so the threads together offer `rate` requests/s. delay() takes the next free
-- slot and returns how long until it (0 when it is already past), read from a monotonic clock through
-- LuaJIT's FFI. An answer's latency therefore no longer slows the offered rate as long as some
-- connection is free when a slot comes: with C connections that holds while latency < C / rate. When
-- the service cannot keep up, every connection is busy, slots pass unused (they are not made up in a
-- burst) and the achieved rate falls below the target: it is reported next to it. Latency is measured
-- by wrk from the moment a request is sent, so waits for a free connection are not in it (what wrk2
-- calls coordinated omission); a service that keeps up at the target has no such waits.
--
-- done() prints one line: {"label", "requests", "duration_s", "achieved_rps", "p50_ms", "p90_ms",
-- "p99_ms", "max_ms", "mean_ms", "non_2xx", "socket_errors": {connect, read, write, timeout}}.

local token = os.getenv("BENCH_TOKEN") or ""
local rate = tonumber(os.getenv("BENCH_RATE") or "1000")
local threads_n = tonumber(os.getenv("BENCH_THREADS") or "1")
local connections = tonumber(os.getenv("BENCH_CONNECTIONS") or "1")
local label = os.getenv("BENCH_LABEL") or ""
local slot_ms = threads_n / rate * 1000

local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end
local next_slot_ms = nil

local requests = {}
local threads = {}
non_2xx = 0  -- global: done() reads it from each thread with thread:get

local function split(line)
  local fields = {}
  local start = 1
  while true do
    local tab = string.find(line, "\t", start, true)
    if not tab then
      table.insert(fields, string.sub(line, start))
      return fields
    end
    table.insert(fields, string.sub(line, start, tab - 1))
    start = tab + 1
  end
end

setup = function(thread)
  table.insert(threads, thread)
end

init = function(args)
  local path = os.getenv("BENCH_REQUESTS")
  local file = assert(io.open(path, "r"), "cannot open BENCH_REQUESTS " .. tostring(path))
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  for line in file:lines() do
    if line ~= "" then
      local f = split(line)
      local body = f[3]
      if body == "" then body = nil end
      table.insert(requests, wrk.format(f[1], f[2], headers, body))
    end
  end
  file:close()
  assert(#requests > 0, "no requests in " .. path)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

request = function()
  return requests[math.random(1, #requests)]
end

delay = function()
  local now = now_ms()
  if next_slot_ms == nil or next_slot_ms < now then next_slot_ms = now end
  local wait = next_slot_ms - now
  next_slot_ms = next_slot_ms + slot_ms
  return wait
end

response = function(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

local function ms(us)
  return string.format("%.3f", us / 1000)
end

done = function(summary, latency, requests_done)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non_2xx") or 0)
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"label":"%s","target_rps":%s,"connections":%d,"requests":%d,"duration_s":%.2f,"achieved_rps":%.1f,'
      .. '"p50_ms":%s,"p90_ms":%s,"p99_ms":%s,"max_ms":%s,"mean_ms":%s,"non_2xx":%d,'
      .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
    label, tostring(rate), connections, summary.requests, seconds, summary.requests / seconds,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)), ms(latency.max),
    ms(latency.mean), bad, e.connect, e.read, e.write, e.timeout))
end
