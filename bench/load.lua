-- load.lua - wrk script for bench/load and bench/overload: POSTs one image file as a raw body
-- and counts the answers by status, and the 503s without a Retry-After header. With
-- XAID_DELAY_MS each connection pauses about that long (+-50 %, so that the connections do not
-- march in step) between requests, so that the offered rate is set rather than the closed-loop
-- rate. Environment: XAID_BODY (the file), XAID_CTYPE (image/png or image/jpeg), XAID_DELAY_MS.
-- done() prints one JSON line that the bench scripts read.
local path = os.getenv("XAID_BODY")
local f = assert(io.open(path, "rb"), "cannot open XAID_BODY")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("XAID_CTYPE") or "image/png"
local pause = tonumber(os.getenv("XAID_DELAY_MS") or "0")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  no_retry_after = 0
end

if pause > 0 then
  function delay()
    return math.floor(pause * (0.5 + math.random()))
  end
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 503 and not (headers["Retry-After"] or headers["retry-after"]) then
    no_retry_after = no_retry_after + 1
  end
end

function done(summary, latency, requests)
  local total, missing = {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
    missing = missing + t:get("no_retry_after")
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, string.format('"%d": %d', k, v)) end
  io.write(string.format(
    'LOAD {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, ' ..
    '"max_ms": %.3f, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"no_retry_after": %d, "status": {%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    missing, table.concat(parts, ", ")))
end
