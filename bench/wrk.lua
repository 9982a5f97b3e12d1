-- Requests for bench/run.py: one method/path/body template per scenario, {n} a number unique
-- across the run's connections, {token}/{email} the n-th line of a file; counts and checks
-- the answers' status, and prints one BENCH line of JSON at the end.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  method, path, body = args[1], args[2], args[3]
  expected = tonumber(args[4])
  nthreads = tonumber(args[6])
  items = {}
  if args[5] ~= nil and args[5] ~= "" then
    for line in io.lines(args[5]) do table.insert(items, line) end
  end
  unexpected, wrapped, first = 0, 0, ""
  counter = id
end

local function fill(template, n, item)
  local out = template:gsub("{n}", tostring(n))
  out = out:gsub("{item}", function() return item end)
  return out
end

function request()
  local n = counter
  counter = counter + nthreads
  local item = ""
  if #items > 0 then
    if n >= #items then wrapped = wrapped + 1 end
    item = items[(n % #items) + 1]
  end
  local headers = {}
  if body ~= "" then headers["Content-Type"] = "application/json" end
  return wrk.format(method, fill(path, n, item), headers, fill(body, n, item))
end

function response(status, headers, answer)
  if status ~= expected then
    unexpected = unexpected + 1
    if first == "" then first = status .. " " .. string.sub(answer or "", 1, 160) end
  end
end

function done(summary, latency, requests)
  local bad, over, first_bad = 0, 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("unexpected")
    over = over + thread:get("wrapped")
    local f = thread:get("first")
    if first_bad == "" and f ~= nil then first_bad = f end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, '
    .. '"unexpected": %d, "socket_errors": %d, "wrapped": %d, "first_unexpected": "%s"}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, bad, e.connect + e.read + e.write + e.timeout, over,
    (first_bad:gsub('[%c"\\]', ' '))))
end
