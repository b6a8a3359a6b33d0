-- wrk script: each request reports a dispute in one of the bench's 1,000 grids.
-- The token comes from the environment (BENCH_TOKEN), minted by bench/mediation.sh.
local token = os.getenv("BENCH_TOKEN")
math.randomseed(os.time())

request = function()
  local grid = "G" .. math.random(0, 999)
  local body = '{"grid":"' .. grid .. '","category":"neighbours","severity":"minor","channel":"hotline",'
    .. '"description":"noise after 22:00","parties":[{"name":"Wang Fang"},{"name":"Li Lei"}]}'
  return wrk.format("POST", "/api/v1/cases", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
